"""The benchmark of parameter structures and clipping (``python -m adamopt
bench --structures``): Adam on many arrays against one array of the same
total size and against ``torch.optim.Adam`` (``fused=True`` and
``foreach=True``) on the same list of tensors, at each thread count of
``--threads`` (PyTorch given the same number of threads), and
``max_grad_norm`` against no clipping.  All timings of a table are taken
round-robin in one process (`adamopt._bench.time_round_robin`), so a loaded
machine slows every column alike.

Targets (issue 17): many arrays at most 1.25x one array; at least 5x faster
than torch fused for 1000 x 1000 and 2.5x for 100 x 10,000; clipping at
most 5 % over no clipping at 1e6 elements.
"""

import numpy as np

from . import _kernels
from ._bench import _fmt_time, time_round_robin

#: (number of arrays, elements per array) of the timed structures.
SHAPES = ((1000, 1000), (100, 10_000))
LR = 1e-3


def _arrays(count, n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    xs = [rng.standard_normal(n).astype(dtype) for _ in range(count)]
    gs = [rng.standard_normal(n).astype(dtype) for _ in range(count)]
    return xs, gs


def make_structure(count, n, dtype, **options):
    """Adam on ``count`` arrays of ``n`` elements (a list): a step."""
    from . import Adam

    xs, gs = _arrays(count, n, dtype)
    opt = Adam(xs, lr=LR, **options)
    return lambda: opt.step(gs)


def make_one(count, n, dtype, **options):
    """Adam on one array of ``count * n`` elements: a step."""
    from . import Adam

    (x,), (g,) = _arrays(1, count * n, dtype)
    opt = Adam(x, lr=LR, **options)
    return lambda: opt.step(g)


def make_torch(count, n, dtype, kind="fused", threads=1):
    """``torch.optim.Adam(fused=True)`` (``kind="fused"``) or
    ``Adam(foreach=True)`` (``"foreach"``) on the same list of tensors, on
    ``threads`` threads; None without PyTorch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    xs, gs = _arrays(count, n, dtype)
    ps = [torch.from_numpy(x).requires_grad_(True) for x in xs]
    for p, g in zip(ps, gs, strict=True):
        p.grad = torch.from_numpy(g)
    opt = torch.optim.Adam(ps, lr=LR, **{kind: True})
    return opt.step


def make_torch_fused(count, n, dtype):
    """``torch.optim.Adam(fused=True)`` on the same list of tensors (one
    thread), or None."""
    return make_torch(count, n, dtype, "fused", 1)


def _torch_threads(threads):
    """Set PyTorch's thread count if it is installed; return the previous one."""
    try:
        import torch
    except ImportError:
        return None
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    return previous


def _ratio_cell(times, peer):
    if peer not in times:
        return f"{'absent':>10} {'':>6}"
    return f"{_fmt_time(times[peer]):>10} {times[peer] / times['list']:5.1f}x"


def run(dtypes=("float64", "float32"), repeats=7, target=0.05, out=print, threads=(1,)):
    """Print one table per dtype and thread count; return its rows."""
    rows = []
    for nthreads in threads:
        previous = _kernels._set_num_threads(nthreads)
        torch_previous = _torch_threads(nthreads)
        try:
            for dtype in dtypes:
                rows += _table(dtype, nthreads, repeats, target, out)
        finally:
            _kernels._set_num_threads(previous)
            if torch_previous is not None:
                _torch_threads(torch_previous)
    return rows


def _table(dtype, nthreads, repeats, target, out):
    rows = []
    out(f"\n{dtype}, {nthreads} thread{'s' if nthreads > 1 else ''} (adamopt and torch): "
        f"median time per Adam step; torch time / list time")
    out(f"{'arrays':>16} {'list':>10} {'one array':>10} {'ratio':>6} "
        f"{'torch fused':>17} {'torch foreach':>17}")
    for count, n in SHAPES:
        steps = {"list": make_structure(count, n, dtype),
                 "one": make_one(count, n, dtype)}
        for kind in ("fused", "foreach"):
            step = make_torch(count, n, dtype, kind, nthreads)
            if step is not None:
                steps[kind] = step
        times = time_round_robin(steps, repeats=repeats, target=target)
        out(f"{f'{count} x {n}':>16} {_fmt_time(times['list']):>10} "
            f"{_fmt_time(times['one']):>10} {times['list'] / times['one']:6.2f} "
            f"{_ratio_cell(times, 'fused')} {_ratio_cell(times, 'foreach')}")
        rows.append({"dtype": dtype, "threads": nthreads, "count": count, "n": n, **times})
    steps = {"none": make_one(1, 10**6, dtype),
             "clip": make_one(1, 10**6, dtype, max_grad_norm=1e6)}
    times = time_round_robin(steps, repeats=repeats, target=target)
    out(f"{'max_grad_norm':>16} {_fmt_time(times['clip']):>10} "
        f"{_fmt_time(times['none']):>10} {times['clip'] / times['none']:6.2f}  "
        f"(1e6 elements: clipping / none)")
    rows.append({"dtype": dtype, "threads": nthreads, "count": 1, "n": 10**6,
                 "clip": times["clip"], "one": times["none"]})
    return rows
