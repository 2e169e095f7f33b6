"""One optimizer step: adamopt's compiled kernels against the NumPy reference.

The algorithms are the registry's declarations (``adamopt._registry``);
``implementation="reference"`` is the declaration's oracle in
``adamopt._reference``, the plain NumPy step of the tests (it allocates its
results), kept in the suite as the baseline the compiled step is measured
against.
"""

import numpy as np

import adamopt
from adamopt import _reference

from .common import sizes, vectors

SIZES = sizes([10, 1000, 100_000, 10_000_000], [1000])
DTYPES = sizes(["float32", "float64"], ["float32"])

try:   # the declared algorithms (an adamopt older than the registry: Adam's only)
    from adamopt import _registry
    ALGORITHMS = [a.name for a in _registry.algorithms()]
except ImportError:   # pragma: no cover - asv on old commits
    _registry = None
    ALGORITHMS = ["adam", "adamw"]


def _declared(algorithm):
    """(class, its benchmark options, its oracle) of a declared algorithm,
    resolved in setup (NotImplementedError where this adamopt lacks it)."""
    if _registry is None or algorithm not in ALGORITHMS:
        raise NotImplementedError(f"this adamopt does not declare {algorithm!r}")
    a = _registry.get(algorithm)
    cls = getattr(adamopt, a.class_name)
    options = {h.name: h.default for h in a.hyperparameters}
    options.update(a.bench_options, lr=1e-3)
    return cls, dict(a.bench_options), getattr(_reference, a.oracle), dict(options)


class Step:
    """Time per step, after 10 warm-up steps (the state is not zero), of every
    declared algorithm with its ``bench_options`` (PyTorch's defaults; SGD
    with momentum 0.9): adamopt's compiled step and its NumPy oracle."""

    params = (SIZES, DTYPES, ALGORITHMS, ["adamopt", "reference"])
    param_names = ["n", "dtype", "algorithm", "implementation"]
    timeout = 300

    def setup(self, n, dtype, algorithm, implementation):
        cls, options, oracle, full = _declared(algorithm)
        x0, self.g = vectors(n, dtype)
        self.x = x0.copy()
        self.opt = cls(self.x, lr=1e-3, **options)
        for _ in range(10):
            self.opt.step(self.g)
        if implementation == "adamopt":
            self.step = lambda: self.opt.step(self.g)
        else:
            # the state arrays and the declared scalars (NAdam's mu_product,
            # Prodigy's d, schedule-free's weight_sum, ...)
            scalars = {s.name for s in getattr(_registry.get(algorithm), "scalars", ())}
            state = {k: v for k, v in self.opt.state_dict().items()
                     if isinstance(v, np.ndarray) or k in scalars or k == "mu_product"}
            x, full["maximize"] = self.x.copy(), False
            self.step = lambda: oracle(x, self.g, state, 11, **full)

    def time_step(self, n, dtype, algorithm, implementation):
        self.step()


class StepMemory:
    """Peak memory of a process that takes one step (adamopt allocates nothing
    per step: the peak is the arrays themselves)."""

    params = (sizes([100_000, 10_000_000], [100_000]), DTYPES, ["adamopt", "reference"])
    param_names = ["n", "dtype", "implementation"]

    def setup(self, n, dtype, implementation):
        self.x0, self.g = vectors(n, dtype)

    def peakmem_step(self, n, dtype, implementation):
        x = self.x0.copy()
        if implementation == "adamopt":
            adamopt.Adam(x).step(self.g)
        else:
            z = np.zeros_like(x)
            _reference.adam_step(x, self.g, z, z, None, 1, lr=1e-3)
