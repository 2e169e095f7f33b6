"""Per-iteration cost of ``minimize(method=adamopt.adam)`` against the bare step loop.

Measured in one process, for n = 10, 1e4, 1e6 and 1e7 float64 parameters, on an
objective that returns a precomputed gradient (so that its own cost is almost
nothing, and is subtracted anyway):

* ``bare``: the loop a user writes by hand, ``f, g = fun(x); opt.step(g)``
  (``bare+clip`` adds ``np.clip(x, lb, ub, out=x)``, the reference of the
  bounded cases);
* ``objective``: the objective alone, called as often;
* ``gtol=0``: ``minimize(fun, x0, jac=True, method=adamopt.adam)`` with no test;
* ``gtest``: the gradient test on (``gtol=1e-12``: it never fires here);
* ``bounds``: a `scipy.optimize.Bounds` of arrays (inactive), ``gtol=0``;
* ``bounds+gtest``: both;
* ``history``, ``progress`` (to a null stream), ``checkpoint`` (every 100
  iterations, to a temporary file): each on its own, ``gtol=0``.

The cost of an iteration is the slope between runs of ``k`` and ``2 k``
iterations (set-up and result costs cancel), each the least of ``--repeats``
runs; the
table gives it in microseconds and as a ratio to the bare loop (``bare+clip``
for the bounded cases), the objective's time subtracted from both.  The memory
part (``--memory``) gives the peak of one run beyond ``x0`` and what its result
keeps, in copies of ``x`` (tracemalloc sees NumPy's allocations).

Run: ``python benchmarks/minimize_overhead.py [--sizes 10 1e4 1e6 1e7] [--memory]``.
"""

import argparse
import contextlib
import io
import math
import os
import sys
import tempfile
import time
import tracemalloc

import numpy as np
from scipy.optimize import Bounds, minimize

import adamopt

#: Iterations k of the shorter run at each size (the longer one runs 2 k).
ITERATIONS = {10: 4000, 10_000: 400, 1_000_000: 16, 10_000_000: 4}

#: The minimize cases: name -> (options beyond maxiter, whether bounded).
CASES = {
    "gtol=0": ({"gtol": 0.0}, False),
    "gtest": ({"gtol": 1e-12}, False),
    "bounds": ({"gtol": 0.0}, True),
    "bounds+gtest": ({"gtol": 1e-12}, True),
    "history": ({"gtol": 0.0, "history": True}, False),
    "progress": ({"gtol": 0.0, "progress": True}, False),
    "checkpoint": ({"gtol": 0.0, "checkpoint_every": 100}, False),
}


def problem(n, seed=0):
    """x0, the precomputed gradient, the objective and wide (inactive) bounds."""
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal(n)
    grad = rng.standard_normal(n)

    def objective(x):
        return 0.0, grad

    bounds = Bounds(np.full(n, -1e3), np.full(n, 1e3))
    return x0, grad, objective, bounds


def bare_loop(objective, x0, k, bounds=None):
    """The hand-written loop: evaluate, step (and clip)."""
    x = x0.copy()
    opt = adamopt.Adam(x, lr=1e-3)
    if bounds is None:
        for _ in range(k):
            _, g = objective(x)
            opt.step(g)
    else:
        lb, ub = bounds.lb, bounds.ub
        for _ in range(k):
            _, g = objective(x)
            opt.step(g)
            np.clip(x, lb, ub, out=x)
        objective(x)
    return x


def run_minimize(objective, x0, k, options, bounds, tmp):
    options = {"maxiter": k, "lr": 1e-3, **options}
    if "checkpoint_every" in options:
        options["checkpoint"] = os.path.join(tmp, "run.ckpt")
    sink = io.StringIO() if options.get("progress") else None
    with contextlib.redirect_stderr(sink) if sink else contextlib.nullcontext():
        res = minimize(objective, x0, jac=True, method=adamopt.adam, bounds=bounds,
                       options=options)
    assert res.nit == k, res.message
    return res


def _elapsed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(n, repeats, cases=CASES):
    """Per-iteration costs (us) at size ``n``: the bare loops, the objective, the cases.

    Round-robin: each repeat times every case once (k, then 2 k iterations),
    so that a change of the machine's load touches all of them alike; each
    time is the least of ``repeats`` (the run the other processes of a loaded
    machine disturbed least), the cost the slope (time(2 k) - time(k)) / k.
    """
    k = ITERATIONS.get(n, max(4, int(4e7 // max(n, 1) // 1000)))
    x0, _, objective, bounds = problem(n)
    with tempfile.TemporaryDirectory() as tmp:
        def calls(m):
            for _ in range(m):
                objective(x0)

        runs = {"objective": (calls, k),
                "bare": (lambda m: bare_loop(objective, x0, m), k),
                "bare+clip": (lambda m: bare_loop(objective, x0, m, bounds), k)}
        for name, (options, bounded) in cases.items():
            # (checkpoints every 100 iterations: the runs must take some)
            kc = max(k, 100) if "checkpoint_every" in options else k
            runs[name] = (lambda m, o=options, b=bounded: run_minimize(
                objective, x0, m, o, bounds if b else None, tmp), kc)
        short = dict.fromkeys(runs, math.inf)
        long = dict(short)
        for _ in range(repeats):
            for name, (fn, kc) in runs.items():
                short[name] = min(short[name], _elapsed(lambda f=fn, k=kc: f(k)))
                long[name] = min(long[name], _elapsed(lambda f=fn, k=kc: f(2 * k)))
        return {name: (long[name] - short[name]) / runs[name][1] * 1e6 for name in runs}


def table(results):
    """The table as text: us per iteration and the ratio to the bare loop."""
    names = ["bare", "bare+clip", *CASES]
    lines = ["us per iteration (objective subtracted) and ratio to the bare loop "
             "(bare+clip for the bounded cases)",
             f"{'case':14s}" + "".join(f"{'n=' + format(n, '.0e'):>20s}" for n in results)]
    for name in names:
        cells = []
        for _n, r in results.items():
            cost = r[name] - r["objective"]
            base = r["bare+clip" if CASES.get(name, ({}, name == "bare+clip"))[1]
                     else "bare"] - r["objective"]
            cells.append(f"{cost:10.2f} {cost / base:6.2f}x  " if base > 0
                         else f"{cost:10.2f}    -    ")
        lines.append(f"{name:14s}" + "".join(cells))
    return "\n".join(lines)


def _kept_bytes(obj, seen):
    """Bytes of the distinct ndarray buffers reachable from a result."""
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        base = obj
        while isinstance(base.base, np.ndarray):
            base = base.base
        if id(base) in seen and base is not obj:
            return 0
        seen.add(id(base))
        return base.nbytes
    if isinstance(obj, dict) or hasattr(obj, "items"):
        return sum(_kept_bytes(v, seen) for _, v in obj.items())
    if isinstance(obj, (list, tuple)):
        return sum(_kept_bytes(v, seen) for v in obj)
    return 0


def memory(n=1_000_000, k=20):
    """(peak of a run beyond x0, bytes its result keeps) in copies of x, per case."""
    x0, _, objective, bounds = problem(n)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (options, bounded) in {"gtol=0": CASES["gtol=0"],
                                         "bounds+gtest": CASES["bounds+gtest"]}.items():
            tracemalloc.start()
            res = run_minimize(objective, x0, k, options, bounds if bounded else None, tmp)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            kept = _kept_bytes(dict(res), set())
            out[name] = (peak / x0.nbytes, kept / x0.nbytes)
            del res
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[10, 1e4, 1e6, 1e7])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--memory", action="store_true",
                        help="also the peak memory of a run and what its result keeps")
    args = parser.parse_args(argv)
    results = {}
    for n in (int(s) for s in args.sizes):
        results[n] = measure(n, args.repeats)
        print(f"n={n}: " + ", ".join(f"{k}={v:.2f}" for k, v in results[n].items()),
              file=sys.stderr, flush=True)
    print(table(results))
    if args.memory:
        print("memory at n=1e6 (copies of x): peak of a run beyond x0 (the optimizer's own "
              "arrays are x, m and v: 3), what the result keeps")
        for name, (peak, kept) in memory().items():
            print(f"  {name:14s} peak {peak:5.2f}   result keeps {kept:5.2f}")
    return results


if __name__ == "__main__":
    main()
