"""Per-iteration cost of ``minimize(method=adamopt.adam)`` against the bare step loop.

Measured in one process, for n = 10, 1e4, 1e6 and 1e7 float64 parameters, on an
objective that returns a precomputed gradient (so that its own cost is almost
nothing, and is subtracted anyway):

* ``bare``: the loop a user writes by hand, ``f, g = fun(x); opt.step(g)``
  (``bare+clip`` adds ``np.clip(x, lb, ub, out=x)``, the reference of the
  bounded cases; ``bare+average`` steps an ``Adam(average="ema")``, the
  reference of ``average``);
* ``objective``: the objective alone, called as often;
* ``gtol=0``: ``minimize(fun, x0, jac=True, method=adamopt.adam)`` with no test;
* ``gtest``: the gradient test on (``gtol=1e-12``: it never fires here, and an
  element above it is found at once); ``gtest-full``: the 2-norm test with
  ``gtol`` just below the gradient's norm, so that every element is read (the
  worst case, a run close to converging);
* ``bounds``: a `scipy.optimize.Bounds` of arrays (inactive), ``gtol=0``;
* ``bounds+gtest``, ``bounds+gtest-full``: the bounds and the projected test;
* ``history``, ``progress`` (to a null stream), ``checkpoint`` (every 100
  iterations, to a temporary file), ``average`` (``"ema"``): each on its own,
  ``gtol=0``.

The estimator (a loaded machine is the rule, not the exception): the
objective records the time of each of its calls, so that an iteration's cost
is the interval between two calls, set-up and result never in it.  Each case
runs ``k`` iterations (at least 30; ``k`` chosen so that the bare loop's take
about ``--target`` seconds), its figure the median interval (the mean for
``checkpoint``, a cost that comes every 100 iterations), the first two left
out (the first step's page faults); the runs go round-robin, every case once
per repeat, so that a change of load touches all cases alike, and each case
keeps the median over the ``--repeats``.  Beside it the table gives the
spread of the per-repeat figures (their interquartile range over the
median): a large one says the figure is noise.  The steps run on
``--threads`` threads (default 1: on a shared machine a second thread's
availability changes from run to run).

The table gives each cost in microseconds and as a ratio to the bare loop
(``bare+clip``, ``bare+average`` for the bounded and averaged cases), the
objective's time subtracted from both.  The memory part (``--memory``) gives
the peak of one run at n = 1e6 beyond ``x0`` and what its result keeps, in
copies of ``x`` (tracemalloc sees NumPy's allocations).  ``--output FILE``
writes everything as JSON (the documentation's table is rendered from such a
file, ``docs/minimize_overhead.json``).

Run: ``python benchmarks/minimize_overhead.py [--sizes 10 1e4 1e6 1e7] [--memory]``.
"""

import argparse
import contextlib
import datetime
import io
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
import tracemalloc

import numpy as np
from scipy.optimize import Bounds, minimize

import adamopt

#: The minimize cases: name -> (options beyond maxiter, reference loop).  An
#: option given as a callable is computed from the problem's gradient.
CASES = {
    "gtol=0": ({"gtol": 0.0}, "bare"),
    "gtest": ({"gtol": 1e-12}, "bare"),
    "gtest-full": ({"gtol": lambda g: 0.999 * float(np.linalg.norm(g)), "norm": 2},
                   "bare"),
    "bounds": ({"gtol": 0.0}, "bare+clip"),
    "bounds+gtest": ({"gtol": 1e-12}, "bare+clip"),
    "bounds+gtest-full": ({"gtol": lambda g: 0.999 * float(np.linalg.norm(g)), "norm": 2},
                          "bare+clip"),
    "history": ({"gtol": 0.0, "history": True}, "bare"),
    "progress": ({"gtol": 0.0, "progress": True}, "bare"),
    "checkpoint": ({"gtol": 0.0, "checkpoint_every": 100}, "bare"),
    "average": ({"gtol": 0.0, "average": "ema"}, "bare+average"),
}

#: The reference loops, in the table's order.
REFERENCES = ["bare", "bare+clip", "bare+average"]

#: The bounded cases (the others run without ``bounds``).
BOUNDED = ("bounds", "bounds+gtest", "bounds+gtest-full")


def problem(n, seed=0):
    """x0, the precomputed gradient, the objective and wide (inactive) bounds."""
    rng = np.random.default_rng(seed)
    x0 = rng.standard_normal(n)
    grad = rng.standard_normal(n)

    def objective(x):
        return 0.0, grad

    bounds = Bounds(np.full(n, -1e3), np.full(n, 1e3))
    return x0, grad, objective, bounds


def bare_loop(objective, x0, k, kind="bare", bounds=None):
    """The hand-written loop: evaluate, step (and clip, or average)."""
    x = x0.copy()
    opt = adamopt.Adam(x, lr=1e-3, average="ema" if kind == "bare+average" else None)
    if kind == "bare+clip":
        lb, ub = bounds.lb, bounds.ub
        for _ in range(k):
            _, g = objective(x)
            opt.step(g)
            np.clip(x, lb, ub, out=x)
    else:
        for _ in range(k):
            _, g = objective(x)
            opt.step(g)
    objective(x)
    return x


def case_options(options, grad):
    """The options of a case for this problem (callables evaluated)."""
    return {k: (v(grad) if callable(v) else v) for k, v in options.items()}


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


def _elapsed(fn, k):
    start = time.perf_counter()
    fn(k)
    return time.perf_counter() - start


def iterations(n, objective, x0, target):
    """k: about ``target`` seconds of the bare loop at this size (at least 10)."""
    k = 2
    while True:
        seconds = min(_elapsed(lambda m: bare_loop(objective, x0, m), k) for _ in range(2))
        if seconds >= target / 4 or k >= 100_000:
            break
        k *= 4
    # (at least 10: at 1e7 a few iterations are within the noise of the set-up)
    k = max(10, int(k * target / max(seconds, 1e-9)))
    return k


#: Cases whose cost comes once every so many iterations: their per-iteration
#: figure is the mean over the run, not the median.
PERIODIC = ("checkpoint",)


def stamped(objective):
    """The objective recording the time of each call: (objective, stamps)."""
    stamps = []
    append, clock = stamps.append, time.perf_counter

    def fun(x):
        append(clock())
        return objective(x)

    return fun, stamps


def per_iteration(stamps, periodic=False):
    """us per iteration of one run from its objective's call times: the median
    of the intervals (the mean for a ``periodic`` cost), the first two (the
    first step's page faults) left out."""
    gaps = np.diff(np.asarray(stamps))[2:] * 1e6
    return float(np.mean(gaps) if periodic else np.median(gaps))


def measure(n, repeats, target=0.1, cases=CASES):
    """Per-iteration costs at size ``n``: ``{name: (us, spread)}`` for the
    reference loops, the objective and the cases, and the ``k`` used."""
    x0, grad, objective, bounds = problem(n)
    k = max(30, iterations(n, objective, x0, target))
    with tempfile.TemporaryDirectory() as tmp:
        def calls(fun, m):
            for _ in range(m):
                fun(x0)

        runs = {"objective": (calls, k)}
        for name in REFERENCES:
            runs[name] = (lambda fun, m, kind=name: bare_loop(fun, x0, m, kind, bounds), k)
        for name, (options, _) in cases.items():
            options = case_options(options, grad)
            # (checkpoints every 100 iterations: the runs must take some)
            kc = max(k, 200) if "checkpoint_every" in options else k
            runs[name] = (lambda fun, m, o=options, b=name in BOUNDED: run_minimize(
                fun, x0, m, o, bounds if b else None, tmp), kc)
        figures = {name: [] for name in runs}
        for _ in range(repeats):
            for name, (fn, kc) in runs.items():
                fun, stamps = stamped(objective)
                fn(fun, kc)
                figures[name].append(per_iteration(stamps, name in PERIODIC))
        out = {}
        for name, values in figures.items():
            middle = statistics.median(values)
            spread = math.nan
            if len(values) >= 4 and middle > 0:
                q = statistics.quantiles(values, n=4)
                spread = (q[2] - q[0]) / middle
            out[name] = (middle, spread)
        return out, k


def ratios(result):
    """``{case: (us beyond the objective, ratio to its reference)}`` at one size."""
    objective = result["objective"][0]
    out = {}
    for name in [*REFERENCES, *CASES]:
        if name not in result:
            continue
        cost = result[name][0] - objective
        reference = name if name in REFERENCES else CASES[name][1]
        base = result[reference][0] - objective
        out[name] = (cost, cost / base if base > 0 else math.nan)
    return out


def table(results):
    """The table as text: us per iteration, the ratio to the reference loop
    and the spread of the per-repeat slopes."""
    sizes = list(results)
    lines = ["us per iteration (objective subtracted), ratio to the reference loop "
             "(bare; bare+clip for bounds; bare+average for average), [spread]",
             f"{'case':18s}" + "".join(f"{'n=' + format(n, '.0e'):>26s}" for n in sizes)]
    per_size = {n: ratios(results[n]["us"]) for n in sizes}
    for name in [*REFERENCES, *CASES]:
        cells = []
        for n in sizes:
            cost, ratio = per_size[n][name]
            spread = results[n]["us"][name][1]
            cells.append(f"{cost:10.2f} {ratio:6.2f}x [{spread:4.2f}] ")
        lines.append(f"{name:18s}" + "".join(cells))
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


def memory(n=1_000_000, k=20, cases=("gtol=0", "bounds+gtest", "history", "average")):
    """``{case: (peak of a run beyond x0, bytes its result keeps)}`` in copies of x.

    The optimizer's own arrays are x, m and v (3 copies; with ``average`` 4);
    the issue's bound is those plus two copies of x."""
    x0, grad, objective, bounds = problem(n)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in cases:
            options = case_options(CASES[name][0], grad)
            tracemalloc.start()
            res = run_minimize(objective, x0, k, options,
                               bounds if name in BOUNDED else None, tmp)
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            kept = _kept_bytes(dict(res), set())
            out[name] = (peak / x0.nbytes, kept / x0.nbytes)
            del res
    return out


def machine():
    """The machine and the software measured."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as info:
        cpu = next((line.split(":", 1)[1].strip() for line in info
                    if line.startswith("model name")), cpu)
    return {"cpu": cpu, "cores": os.cpu_count(), "system": platform.platform(),
            "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            "python": platform.python_version(), "numpy": np.__version__,
            "adamopt": adamopt.__version__}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[10, 1e4, 1e6, 1e7])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--target", type=float, default=0.1,
                        help="seconds of the bare loop's k iterations (default 0.1)")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads of the steps (default 1)")
    parser.add_argument("--memory", action="store_true",
                        help="also the peak memory of a run and what its result keeps")
    parser.add_argument("--output", help="write the results to this JSON file")
    args = parser.parse_args(argv)
    adamopt.set_num_threads(args.threads)
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    about = machine()
    results = {}
    for n in (int(s) for s in args.sizes):
        us, k = measure(n, args.repeats, args.target)
        results[n] = {"k": k, "us": us}
        print(f"n={n} (k={k}): " + ", ".join(f"{name}={v[0]:.2f}" for name, v in us.items()),
              file=sys.stderr, flush=True)
    print(table(results))
    mem = None
    if args.memory:
        mem = memory()
        print("memory at n=1e6 (copies of x): peak of a run beyond x0 (the optimizer's own "
              "arrays are x, m and v: 3; with average 4), what the result keeps")
        for name, (peak, kept) in mem.items():
            print(f"  {name:14s} peak {peak:5.2f}   result keeps {kept:5.2f}")
    if args.output:
        data = {"format": "adamopt-minimize-overhead/1", "date": started, "machine": about,
                "threads": args.threads, "repeats": args.repeats,
                "command": "python benchmarks/minimize_overhead.py "
                           + " ".join(argv if argv is not None else sys.argv[1:]),
                "sizes": {str(n): {"k": r["k"],
                                   "cases": {name: {"us": c, "ratio": q,
                                                    "spread": r["us"][name][1]}
                                             for name, (c, q) in ratios(r["us"]).items()}}
                          for n, r in results.items()},
                "memory": None if mem is None else {
                    name: {"peak": p, "kept": q} for name, (p, q) in mem.items()}}
        with open(args.output, "w") as out:
            json.dump(data, out, indent=1, allow_nan=True)
            out.write("\n")
    return results


if __name__ == "__main__":
    main()
