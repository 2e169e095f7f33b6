"""Per-iteration cost of ``minimize(method=adamopt.adam)`` against a hand-written loop.

On a 10-parameter quadratic, for ``--iterations`` iterations, times side by side
in one process (round-robin, median of ``--repeats``):

* ``objective``: the objective alone, called as often as the runs call it;
* ``minimize``: ``scipy.optimize.minimize(fun, x0, jac=True, method=adamopt.adam)``
  with ``gtol=0`` (the test would end the run early; its cost is timed
  separately, on a problem it never ends);
* ``minimize+gtol``: the same with the default ``gtol`` test each iteration;
* ``numpy loop``: a careful hand-written NumPy Adam loop calling the same objective.

It prints the time per iteration of each, our overhead beyond the objective, and
the ratio of the NumPy loop to ours.  Run: ``python benchmarks/minimize_overhead.py``.
"""

import argparse
import math
import statistics
import time

import numpy as np
from scipy.optimize import minimize

import adamopt

N = 10
C = np.arange(1.0, N + 1)


def objective(x):
    """0.5 sum(c_i x_i^2) and its gradient: about 1 us, like a small model."""
    cx = C * x
    return 0.5 * float(x @ cx), cx


def numpy_adam(fun, x0, iterations, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """What a user writes by hand: in-place NumPy Adam, preallocated buffers."""
    x = x0.copy()
    m, v, buf = np.zeros_like(x), np.zeros_like(x), np.empty_like(x)
    for t in range(1, iterations + 1):
        _, g = fun(x)
        m *= beta1
        np.multiply(g, 1.0 - beta1, out=buf)
        m += buf
        v *= beta2
        np.multiply(g, g, out=buf)
        buf *= 1.0 - beta2
        v += buf
        bc2 = math.sqrt(1.0 - beta2**t)
        np.sqrt(v, out=buf)
        buf += eps * bc2
        np.divide(m, buf, out=buf)
        buf *= lr * bc2 / (1.0 - beta1**t)
        x -= buf
    return x


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    k = args.iterations
    x0 = np.linspace(-1.0, 1.0, N)
    far = np.full(N, 1e6)     # the gtol test never fires from here in k iterations

    def run_objective():
        for _ in range(k + 1):
            objective(x0)

    def run_minimize():
        res = minimize(objective, x0, jac=True, method=adamopt.adam,
                       options={"maxiter": k, "gtol": 0})
        assert res.nit == k

    def run_minimize_gtol():
        res = minimize(objective, far, jac=True, method=adamopt.adam,
                       options={"maxiter": k})
        assert res.nit == k

    def run_numpy():
        numpy_adam(objective, x0, k)

    cases = {"objective": run_objective, "minimize": run_minimize,
             "minimize+gtol": run_minimize_gtol, "numpy loop": run_numpy}
    times = {name: [] for name in cases}
    for _ in range(args.repeats):
        for name, case in cases.items():
            start = time.perf_counter()
            case()
            times[name].append((time.perf_counter() - start) / k * 1e6)
    med = {name: statistics.median(ts) for name, ts in times.items()}
    print(f"{N}-parameter quadratic, {k} iterations, median of {args.repeats} "
          f"(us per iteration)")
    for name, value in med.items():
        print(f"  {name:14s} {value:7.2f}")
    for name in ("minimize", "minimize+gtol"):
        print(f"  {name} overhead beyond the objective: "
              f"{med[name] - med['objective']:.2f} us; numpy loop / {name}: "
              f"{med['numpy loop'] / med[name]:.1f}x")
    return med


if __name__ == "__main__":
    main()
