"""The tuning benchmark (``python -m adamopt bench --tuning``) in a quick
setting: one seed, 300 gradient evaluations per run.  Tracked per problem:
tuned Adam's full-batch excess loss (best of the five-point lr grid times
three schedules) and each tuning-free method's, at its defaults, as a ratio
to tuned Adam's, so that a change that makes a method converge worse shows
on the dashboard.  Computed once per benchmark run (``setup_cache``)."""

import importlib.util

from .common import SMOKE, sizes

#: The quick setting (the smoke run's: 50 evaluations, two problems).
BUDGET, SEEDS = (50 if SMOKE else 300), 1
PROBLEMS = sizes(["digits_logistic", "poisson_glm", "mlp", "variational", "least_squares",
                  "noisy_quadratic"], ["least_squares", "noisy_quadratic"])


def _module():
    """adamopt._bench_tuning, or NotImplementedError (asv then skips) without it."""
    try:
        from adamopt import _bench_tuning
    except ImportError:
        raise NotImplementedError("this adamopt has no tuning benchmark") from None
    return _bench_tuning


def _tuning_free():
    try:
        return [a.name for a in _module().tuning_free()]
    except NotImplementedError:
        return []


class TuningFree:
    """Excess loss at equal gradient evaluations, tuned Adam against the
    tuning-free methods (``--seeds 1 --budget 300``)."""

    params = (PROBLEMS, ["adam-tuned", *_tuning_free()])
    param_names = ["problem", "method"]
    timeout = 600

    def setup_cache(self):
        bt = _module()
        problems = [p for p in PROBLEMS if p in bt.PROBLEMS
                    and (p != "digits_logistic" or importlib.util.find_spec("sklearn"))]
        results = bt.run(tuple(problems), seeds=SEEDS, budget=BUDGET, baselines=False,
                         out=lambda line: None)
        return {p["name"]: {("adam-tuned" if r["method"] == "adam, tuned" else r["method"]): r
                            for r in p["rows"]} for p in results["problems"]}

    def _row(self, cache, problem, method):
        if problem not in cache or method not in cache[problem]:
            raise NotImplementedError(f"{problem} / {method} not run here")
        return cache[problem][method]

    def track_excess_loss(self, cache, problem, method):
        median = self._row(cache, problem, method)["median"]
        return float("inf") if median is None else median

    track_excess_loss.unit = "full-batch excess loss"

    def track_ratio_to_tuned_adam(self, cache, problem, method):
        ratio = self._row(cache, problem, method)["ratio"]
        return float("inf") if ratio is None else ratio

    track_ratio_to_tuned_adam.unit = "excess loss / tuned Adam's"
