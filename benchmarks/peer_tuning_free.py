"""Time one step of the tuning-free methods against the adamopt algorithm each
is built on (the same run) and against its reference PyTorch package, all on
one thread: schedule-free AdamW and SGD (``schedulefree``: ``AdamWScheduleFree``,
``SGDScheduleFree``, single-tensor, train mode) over Adam and SGD with
momentum; Prodigy (``prodigyopt``) and D-Adaptation Adam (``dadaptation``) over
Adam.

Usage::

    python benchmarks/peer_tuning_free.py [--sizes 10000 1000000 10000000]

Needs PyTorch and the reference packages (``pip install --no-deps schedulefree
prodigyopt dadaptation``); a method whose package is missing gets no reference
column.  Prints the median time per step of each and two ratios: ours over the
baseline algorithm, and the reference over ours.  Run it on a quiet machine.
"""

import argparse
import contextlib
import importlib
import io
import itertools
import statistics
import time

import numpy as np

import adamopt

#: (ours, its baseline with its options, reference module, reference class, its options)
METHODS = {
    "ScheduleFreeAdamW": (adamopt.ScheduleFreeAdamW, (adamopt.Adam, dict(lr=1e-3)),
                          "schedulefree", "AdamWScheduleFree", dict(lr=1e-3, foreach=False)),
    "ScheduleFreeSGD": (adamopt.ScheduleFreeSGD, (adamopt.SGD, dict(lr=1e-3, momentum=0.9)),
                        "schedulefree", "SGDScheduleFree", dict(lr=1e-3, foreach=False)),
    "Prodigy": (adamopt.Prodigy, (adamopt.Adam, dict(lr=1e-3)),
                "prodigyopt", "Prodigy", {}),
    "DAdaptAdam": (adamopt.DAdaptAdam, (adamopt.Adam, dict(lr=1e-3)),
                   "dadaptation", "DAdaptAdam", {}),
}


def _median_step(step, n, repeats=5):
    count = max(3, int(2e7 // n))
    step()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(count):
            step()
        samples.append((time.perf_counter() - t0) / count)
    return statistics.median(samples)


def _reference(module, name, options, x, g):
    """The reference optimizer's step on a copy of ``x`` with gradient ``g``,
    or None when its package is not installed."""
    try:
        cls = getattr(importlib.import_module(module), name)
    except ImportError:
        return None
    import torch
    p = torch.nn.Parameter(torch.from_numpy(x.copy()))
    grads = [torch.from_numpy(g.copy()), torch.from_numpy(-g)]
    opt = cls([p], **options)
    if hasattr(opt, "train"):
        with contextlib.redirect_stdout(io.StringIO()):   # (it prints the mode switch)
            opt.train()

    turns = itertools.cycle(grads)

    def step():
        p.grad = next(turns)
        opt.step()
    return step


def _row(method, n, dtype):
    ours, (base, base_options), module, name, options = METHODS[method]
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n).astype(dtype)
    g = (rng.standard_normal(n) * 1e-3).astype(dtype)
    times = {}
    # The gradient alternates in sign: a constant one makes the distance
    # estimates of Prodigy and D-Adaptation grow until a step would overflow.
    grads = (g, -g)
    for label, cls, kw in (("ours", ours, {}), ("base", base, base_options)):
        opt = cls(x.copy(), **kw)
        turns = itertools.cycle(grads)
        times[label] = _median_step(lambda opt=opt, turns=turns: opt.step(next(turns)), n)
    step = _reference(module, name, options, x, g)
    times["reference"] = None if step is None else _median_step(step, n)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000, 10_000_000])
    parser.add_argument("--dtypes", nargs="+", default=["float64", "float32"],
                        choices=["float64", "float32"])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    args = parser.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    adamopt.set_num_threads(1)
    print(f"{'method':18} {'dtype':8} {'n':>9} {'ours':>10} {'baseline':>10} {'ratio':>6} "
          f"{'reference':>10} {'ref/ours':>8}   (us per step)")
    for method in args.methods:
        base = METHODS[method][1][0].__name__
        for dtype in args.dtypes:
            for n in args.sizes:
                r = _row(method, n, np.dtype(dtype))
                ref = r["reference"]
                tail = ("  (not installed)" if ref is None
                        else f"{ref * 1e6:10.1f} {ref / r['ours']:8.1f}")
                print(f"{method:18} {dtype:8} {n:>9} {r['ours'] * 1e6:10.1f} "
                      f"{r['base'] * 1e6:10.1f} {r['ours'] / r['base']:6.2f} {tail}"
                      f"   (baseline {base})", flush=True)


if __name__ == "__main__":
    main()
