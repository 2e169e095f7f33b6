"""The cost of the ``minimize`` loop against the bare step loop, per iteration.

The objective returns a precomputed gradient (its own cost is nothing), so
what the figures show is the loop: the step's pass with the copies and the
projection fused into it, the ``gtol`` test, the history, the average.  Each
figure is the slope between runs of ``k`` and ``3 k`` iterations, each the
least of three (set-up and result costs cancel), in microseconds, and its
ratio to the bare loop ``f, g = fun(x); opt.step(g)`` (``+ np.clip`` for the
bounded cases, ``Adam(average="ema")`` for ``average``) measured alike in the
same process.  ``benchmarks/minimize_overhead.py`` is the long form.
"""

import time

import numpy as np
from scipy.optimize import Bounds, minimize

import adamopt

from .common import sizes

#: Cases: name -> (options, bounded, the reference loop).
CASES = {
    "gtol=0": ({"gtol": 0.0}, False, "bare"),
    "gtest": ({"gtol": 1e-12}, False, "bare"),
    "bounds": ({"gtol": 0.0}, True, "bare+clip"),
    "bounds+gtest": ({"gtol": 1e-12}, True, "bare+clip"),
    "history": ({"gtol": 0.0, "history": True}, False, "bare"),
    "average": ({"gtol": 0.0, "average": "ema"}, False, "bare+average"),
}

#: Iterations k of the shorter run (the longer runs 3 k).
ITERATIONS = {10: 2000, 10_000: 200, 100_000: 20, 1_000_000: 8, 10_000_000: 3}


def _problem(n):
    rng = np.random.default_rng(0)
    x0, grad = rng.standard_normal(n), rng.standard_normal(n)
    return x0, grad, Bounds(np.full(n, -1e3), np.full(n, 1e3))


def _bare(x0, grad, bounds, kind, k):
    x = x0.copy()
    opt = adamopt.Adam(x, lr=1e-3, average="ema" if kind == "bare+average" else None)
    objective = _objective(grad)
    for _ in range(k):
        _, g = objective(x)
        opt.step(g)
        if kind == "bare+clip":
            np.clip(x, bounds.lb, bounds.ub, out=x)


def _objective(grad):
    def objective(x):
        return 0.0, grad
    return objective


def _minimize(x0, grad, bounds, case, k):
    options, bounded, _ = CASES[case]
    minimize(_objective(grad), x0, jac=True, method=adamopt.adam,
             bounds=bounds if bounded else None,
             options={"maxiter": k, "lr": 1e-3, **options})


def _slope(fn, k):
    """us per iteration: (least time of 3 k - least time of k) / (2 k)."""
    short = long = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        fn(k)
        short = min(short, time.perf_counter() - start)
        start = time.perf_counter()
        fn(3 * k)
        long = min(long, time.perf_counter() - start)
    return max(long - short, 0.0) / (2 * k) * 1e6


class MinimizeLoop:
    """The loop at n = 10, 1e4 and 1e6, one thread, every case."""

    params = (sizes([10, 10_000, 1_000_000], [10_000]), list(CASES))
    param_names = ["n", "case"]
    timeout = 300

    def setup(self, n, case):
        if not hasattr(adamopt, "adam"):
            raise NotImplementedError("this adamopt has no adamopt.adam")
        self.previous = adamopt.set_num_threads(1)
        self.x0, self.grad, self.bounds = _problem(n)
        self.k = ITERATIONS[n]

    def teardown(self, n, case):
        adamopt.set_num_threads(self.previous)

    def _figures(self, case):
        ours = _slope(lambda k: _minimize(self.x0, self.grad, self.bounds, case, k), self.k)
        reference = CASES[case][2]
        bare = _slope(lambda k: _bare(self.x0, self.grad, self.bounds, reference, k), self.k)
        return ours, bare

    def track_us_per_iteration(self, n, case):
        return self._figures(case)[0]

    track_us_per_iteration.unit = "us per iteration"

    def track_ratio_to_the_bare_loop(self, n, case):
        ours, bare = self._figures(case)
        return ours / bare if bare > 0 else float("nan")

    track_ratio_to_the_bare_loop.unit = "minimize / bare loop"


class MinimizeLoopLarge(MinimizeLoop):
    """The loop at n = 1e7 (few cases: each run takes seconds)."""

    params = (sizes([10_000_000], [100_000]), ["gtol=0", "bounds+gtest"])
