"""Per-iteration overhead of the Dask path against the in-memory path.

Starts a `distributed.LocalCluster` (``--workers`` processes, one thread
each), puts a least-squares problem of N rows x P columns on it (persisted,
``--chunks`` row chunks) and times, in one process, round-robin over sizes:

* minibatches: ``minimize(..., method=adamopt.adam)`` with
  ``batches=adamopt.minibatches(X, y, batch_size=B)`` on NumPy arrays and on
  the Dask arrays, optionally with ``--work`` ms of extra work per step (what
  a real objective costs), to show the background prefetch hiding the fetch;
* full batch: one call of ``loss_and_grad(w, X, y)`` on NumPy arrays against
  one call of ``adamopt.dask_objective(loss_and_grad, X, y)(w)``.

It prints milliseconds per iteration (median of ``--repeats``), the ratio
Dask / in-memory and the difference (the overhead).  The in-memory path runs
on one BLAS thread by default (``--blas-threads``), like each worker: on a
busy machine a multithreaded BLAS that spins for its threads was measured 5-20
times slower at 1e5 x 10, which would flatter the Dask path.  Run from a clone:
``PYTHONPATH=. python benchmarks/dask_overhead.py`` or with adamopt and
``adamopt[dask]`` installed.
"""

import argparse
import os
import statistics
import sys
import time

if __name__ == "__main__":   # before NumPy loads its BLAS: see --blas-threads
    _n = sys.argv[sys.argv.index("--blas-threads") + 1] if "--blas-threads" in sys.argv else "1"
    for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[_name] = _n

import numpy as np
from scipy.optimize import minimize

import adamopt


def loss_and_grad(w, X, y):
    r = X @ w - y
    return r @ r / len(y), 2.0 * X.T @ r / len(y)


def with_work(seconds):
    """The objective plus ``seconds`` of work per call that releases the GIL, as
    NumPy's large operations do (a sleep: it leaves the cores to the cluster).
    Work that holds the GIL (a pure-Python loop) starves the client's
    background threads, which then fetch only every ``sys.getswitchinterval()``
    (5 ms)."""
    def objective(w, X, y):
        time.sleep(seconds)
        return loss_and_grad(w, X, y)
    return objective


def per_iteration(run, iterations):
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) / iterations * 1e3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--features", type=int, default=10)
    parser.add_argument("--chunks", type=int, default=8, help="row chunks")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=100, help="minibatch iterations")
    parser.add_argument("--calls", type=int, default=10, help="full-batch calls per repeat")
    parser.add_argument("--work", type=float, nargs="+", default=[0.0, 5.0],
                        help="extra ms of work per minibatch step")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="BLAS threads of this (client) process; the workers always "
                             "run one each (dask.distributed's default)")
    args = parser.parse_args()

    import dask.array as da
    import distributed

    with distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                  processes=True, dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        problems = {}
        for n in args.sizes:      # made on the cluster, copied to the client
            rows = -(-n // args.chunks)
            rng = da.random.default_rng(n)
            Xd = rng.standard_normal((n, args.features), chunks=(rows, args.features))
            yd = Xd @ np.ones(args.features) + rng.standard_normal(n, chunks=rows)
            Xd, yd = Xd.persist(), yd.persist()
            distributed.wait([Xd, yd])
            problems[n] = (Xd.compute(), yd.compute(), Xd, yd)

        print(f"{args.workers} worker processes x 1 thread, {args.chunks} row chunks, "
              f"{args.features} features, float64; ms per iteration, median of "
              f"{args.repeats}")
        print(f"\nminibatches (batch_size={args.batch_size}), minimize with adamopt.adam:")
        print(f"{'rows':>10} {'work ms':>8} {'NumPy':>9} {'Dask':>9} {'ratio':>7} "
              f"{'overhead':>9}")
        for n, (X, y, Xd, yd) in problems.items():
            for work in args.work:
                fun = with_work(work / 1e3) if work else loss_and_grad
                times = {"numpy": [], "dask": []}
                for _ in range(args.repeats):
                    for label, arrays in (("numpy", (X, y)), ("dask", (Xd, yd))):
                        stream = adamopt.minibatches(*arrays, batch_size=args.batch_size,
                                                     seed=0)
                        options = {"lr": 1e-2, "maxiter": args.iterations,
                                   "batches": stream}
                        times[label].append(per_iteration(
                            lambda fun=fun, options=options: minimize(
                                fun, np.zeros(args.features), jac=True,
                                method=adamopt.adam, options=options),
                            args.iterations))
                        if hasattr(stream, "close"):
                            stream.close()
                a, b = (statistics.median(times[k]) for k in ("numpy", "dask"))
                print(f"{n:>10} {work:>8.1f} {a:>9.3f} {b:>9.3f} {b / a:>7.1f} {b - a:>9.3f}")

        print("\nfull batch, one evaluation of the loss and gradient:")
        print(f"{'rows':>10} {'NumPy':>9} {'Dask':>9} {'ratio':>7} {'overhead':>9}")
        w = np.full(args.features, 0.5)
        for n, (X, y, Xd, yd) in problems.items():
            objective = adamopt.dask_objective(loss_and_grad, Xd, yd)
            objective(w)
            times = {"numpy": [], "dask": []}
            for _ in range(args.repeats):
                times["numpy"].append(per_iteration(
                    lambda X=X, y=y: [loss_and_grad(w, X, y) for _ in range(args.calls)],
                    args.calls))
                times["dask"].append(per_iteration(
                    lambda objective=objective: [objective(w) for _ in range(args.calls)],
                    args.calls))
            a, b = (statistics.median(times[k]) for k in ("numpy", "dask"))
            print(f"{n:>10} {a:>9.3f} {b:>9.3f} {b / a:>7.2f} {b - a:>9.3f}")


if __name__ == "__main__":
    main()
