"""Time one optimizer step of adamopt against its peers, side by side, in one process.

Used by ``python -m adamopt bench`` and ``benchmarks/peer_step.py``.  Peers:

* ``numpy``: a careful in-place NumPy Adam (preallocated buffers, ``out=``
  everywhere, bias corrections folded into scalars): what a user writes by hand;
* ``torch-fused``, ``torch-foreach``, ``torch-single``: ``torch.optim.Adam``
  with ``fused=True``, ``foreach=True`` and neither, on one thread (when
  PyTorch is installed; absent peers are reported, never fatal).

The implementations are timed round-robin (one repeat of each in turn) so that
a change of machine load hits them all alike; the figure is the median over
the repeats of the mean time per step within a repeat.
"""

import argparse
import math
import statistics
import time

import numpy as np

from ._optimizers import Adam

LR, BETA1, BETA2, EPS = 1e-3, 0.9, 0.999, 1e-8


def _problem(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n).astype(dtype)
    g = rng.standard_normal(n).astype(dtype)
    return x, g


def make_adamopt(n, dtype, check_finite=True):
    """adamopt.Adam on ``n`` parameters: (zero-argument step, parameter array)."""
    x, g = _problem(n, dtype)
    opt = Adam(x, lr=LR, beta1=BETA1, beta2=BETA2, eps=EPS, check_finite=check_finite)
    step = opt.step
    return (lambda: step(g)), x


def make_numpy(n, dtype):
    """A careful in-place NumPy Adam: (zero-argument step, parameter array)."""
    x, g = _problem(n, dtype)
    m, v, buf = np.zeros_like(x), np.zeros_like(x), np.empty_like(x)
    state = {"t": 0}
    mul, add, sqrt, div = np.multiply, np.add, np.sqrt, np.divide

    def step():
        state["t"] = t = state["t"] + 1
        bc1 = 1.0 - BETA1**t
        bc2_sqrt = math.sqrt(1.0 - BETA2**t)
        mul(m, BETA1, out=m)
        mul(g, 1.0 - BETA1, out=buf)
        add(m, buf, out=m)
        mul(v, BETA2, out=v)
        mul(g, g, out=buf)
        mul(buf, 1.0 - BETA2, out=buf)
        add(v, buf, out=v)
        sqrt(v, out=buf)
        add(buf, EPS * bc2_sqrt, out=buf)
        div(m, buf, out=buf)
        mul(buf, LR * bc2_sqrt / bc1, out=buf)
        np.subtract(x, buf, out=x)

    return step, x


def make_torch(n, dtype, variant):
    """torch.optim.Adam, ``variant`` in {"fused", "foreach", "single"}: (step, params)."""
    import torch

    torch.set_num_threads(1)
    x, g = _problem(n, dtype)
    p = torch.from_numpy(x).requires_grad_(True)
    p.grad = torch.from_numpy(g)
    kwargs = {"fused": {"fused": True}, "foreach": {"foreach": True},
              "single": {"foreach": False, "fused": False}}[variant]
    opt = torch.optim.Adam([p], lr=LR, betas=(BETA1, BETA2), eps=EPS, **kwargs)
    return opt.step, x      # p shares memory with x


def peers():
    """(name, factory) of every implementation, with None for absent ones."""
    out = [("adamopt", make_adamopt),
           ("adamopt-nocheck", lambda n, d: make_adamopt(n, d, check_finite=False)),
           ("numpy", make_numpy)]
    try:
        import torch  # noqa: F401
    except ImportError:
        out += [(f"torch-{v}", None) for v in ("fused", "foreach", "single")]
    else:
        out += [(f"torch-{v}", lambda n, d, v=v: make_torch(n, d, v))
                for v in ("fused", "foreach", "single")]
    return out


def _calibrate(step, target):
    """Number of steps that take about ``target`` seconds."""
    k = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(k):
            step()
        dt = time.perf_counter() - t0
        if dt >= target / 4 or k >= 1 << 20:
            return max(1, int(k * target / max(dt, 1e-9)))
        k *= 4


def time_round_robin(steps, repeats=7, target=0.02):
    """Median seconds per call of each zero-argument callable in ``steps``."""
    counts = {name: _calibrate(step, target) for name, step in steps.items()}
    samples = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            k = counts[name]
            t0 = time.perf_counter()
            for _ in range(k):
                step()
            samples[name].append((time.perf_counter() - t0) / k)
    return {name: statistics.median(s) for name, s in samples.items()}


def run(sizes=(10, 10_000, 1_000_000, 10_000_000), dtypes=("float64", "float32"),
        repeats=7, target=0.02, out=print):
    """Print one table per dtype: time per step and our speed-up over each peer."""
    available = peers()
    missing = [name for name, f in available if f is None]
    if missing:
        out(f"absent peers (not installed): {', '.join(missing)}")
    rows = []
    for dtype in dtypes:
        itemsize = np.dtype(dtype).itemsize
        names = [name for name, f in available if f is not None]
        out(f"\n{dtype}: median time per step (speed-up of adamopt = peer time / adamopt time)")
        out(f"{'n':>10} " + " ".join(f"{name:>16}" for name in names) + f" {'adamopt GB/s':>13}")
        for n in sizes:
            steps = {name: f(n, dtype)[0] for name, f in available if f is not None}
            times = time_round_robin(steps, repeats=repeats, target=target)
            ours = times["adamopt"]
            cells = []
            for name in names:
                cell = _fmt_time(times[name])
                if name != "adamopt":
                    cell += f" {times[name] / ours:5.1f}x"
                cells.append(f"{cell:>16}")
            gbs = 7 * itemsize * n / ours / 1e9   # read x, g, m, v; write x, m, v
            out(f"{n:>10} " + " ".join(cells) + f" {gbs:13.1f}")
            rows.append({"dtype": dtype, "n": n, **times})
    return rows


def _fmt_time(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f}us"
    return f"{seconds * 1e3:.2f}ms"


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m adamopt bench",
        description="Time one Adam step of adamopt against NumPy and PyTorch (one thread).")
    parser.add_argument("--sizes", type=int, nargs="+",
                        default=[10, 10_000, 1_000_000, 10_000_000])
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"],
                        choices=["float64", "float32"])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--target", type=float, default=0.02,
                        help="seconds per timed repeat (default 0.02)")
    args = parser.parse_args(argv)
    run(args.sizes, args.dtypes, args.repeats, args.target)
