"""Adam on a structure of many arrays (one compiled job per step) against one
array of the same total size and ``torch.optim.Adam(fused=True)`` on the same
list of tensors (one thread), and ``max_grad_norm`` against no clipping
(issue 17's targets: see ``adamopt._bench_groups``)."""

try:
    from adamopt import _bench_groups, _kernels
except ImportError:   # pragma: no cover - asv on commits before structures
    _bench_groups = None

from .common import SMOKE, sizes

#: Elements of the clipping benchmark's array (the smoke run's: 1e4).
CLIPPED = 10_000 if SMOKE else 10**6


class Structures:
    """Time per step of Adam over ``count`` arrays of ``n`` elements."""

    params = (sizes([(1000, 1000), (100, 10_000)], [(10, 1000)]), ["float64", "float32"],
              ["list", "one array", "torch fused"])
    param_names = ["shape", "dtype", "implementation"]
    timeout = 300

    def setup(self, shape, dtype, implementation):
        if _bench_groups is None:
            raise NotImplementedError("this adamopt has no parameter structures")
        self.previous = _kernels._set_num_threads(1)
        count, n = shape
        make = {"list": _bench_groups.make_structure, "one array": _bench_groups.make_one,
                "torch fused": _bench_groups.make_torch_fused}[implementation]
        self.step = make(count, n, dtype)
        if self.step is None:
            raise NotImplementedError("PyTorch is not installed")
        self.step()

    def teardown(self, shape, dtype, implementation):
        _kernels._set_num_threads(self.previous)

    def time_step(self, shape, dtype, implementation):
        self.step()


class Clipping:
    """Time per step of Adam on 1e6 elements with ``max_grad_norm`` or none."""

    params = (["float64", "float32"], ["none", "max_grad_norm"])
    param_names = ["dtype", "clipping"]
    timeout = 300

    def setup(self, dtype, clipping):
        if _bench_groups is None:
            raise NotImplementedError("this adamopt has no gradient clipping")
        self.previous = _kernels._set_num_threads(1)
        options = {"max_grad_norm": 1e6} if clipping == "max_grad_norm" else {}
        self.step = _bench_groups.make_one(1, CLIPPED, dtype, **options)
        self.step()

    def teardown(self, dtype, clipping):
        _kernels._set_num_threads(self.previous)

    def time_step(self, dtype, clipping):
        self.step()
