"""``scipy.optimize.minimize(method=adamopt.adam)``: time per iteration, and
convergence figures tracked with units, so that a change that slows
convergence shows on the dashboard, not only one that slows the loop."""

import time

import numpy as np
from scipy.optimize import minimize

import adamopt

from .common import logistic_data, logistic_loss, sizes

#: Iterations timed per problem.
ITERATIONS = {"small": 200, "large": 20}

#: The SciPy methods benchmarked (each with its default hyperparameters
#: besides ``lr``; SGD without momentum).
METHODS = ["adam", "adamw", "sgd", "adagrad", "rmsprop", "adamax", "nadam"]


def _methods():
    """The SciPy methods, or NotImplementedError (asv then skips) without them."""
    if not hasattr(adamopt, "adam"):
        raise NotImplementedError("this adamopt has no adamopt.adam")
    return {name: getattr(adamopt, name) for name in METHODS if hasattr(adamopt, name)}


def _quadratic(x, c):
    """0.5 sum(c_i x_i^2): a large, separable problem whose cost is the step."""
    cx = c * x
    return 0.5 * float(x @ cx), cx


class MinimizeIterations:
    """Wall time of ``ITERATIONS[problem]`` iterations (200 small, 20 large).

    small: minibatch logistic regression, 20 features, batches of 64 rows of a
    2000-row data set; large: a separable quadratic in 1,000,000 float64
    parameters (full batch), where the optimizer's step dominates.
    """

    params = (sizes(["small", "large"], ["small"]), METHODS)
    param_names = ["problem", "method"]

    def setup(self, problem, method):
        if method not in _methods():
            raise NotImplementedError(f"this adamopt has no adamopt.{method}")
        self.method = _methods()[method]
        if problem == "small":
            X, y = logistic_data(2000, 20)
            self.fun, self.x0 = logistic_loss, np.zeros(20)
            self.options = lambda: {"lr": 1e-2, "gtol": 0.0, "maxiter": ITERATIONS[problem],
                                    "batches": adamopt.minibatches(X, y, batch_size=64,
                                                                   seed=0)}
        else:
            c = np.linspace(1.0, 10.0, 1_000_000)
            self.fun = lambda x: _quadratic(x, c)
            self.x0 = np.ones(1_000_000)
            self.options = lambda: {"lr": 1e-3, "gtol": 0.0, "maxiter": ITERATIONS[problem]}

    def time_minimize(self, problem, method):
        minimize(self.fun, self.x0, jac=True, method=self.method, options=self.options())

    def track_time_per_iteration(self, problem, method):
        """The best of three runs, divided by the iterations: what one
        iteration costs, comparable between the two problems."""
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            self.time_minimize(problem, method)
            best = min(best, time.perf_counter() - start)
        return best / ITERATIONS[problem] * 1e6

    track_time_per_iteration.unit = "us per iteration"


class Convergence:
    """Where a fixed budget gets: figures that change only if the algorithm,
    its defaults or the minibatch stream change (deterministic, seeded)."""

    params = (METHODS,)
    param_names = ["method"]

    def setup_cache(self):
        X, y = logistic_data(2000, 20)
        # the full-batch optimum, for the excess loss
        best = minimize(logistic_loss, np.zeros(20), args=(X, y), jac=True,
                        method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 0.0})
        return X, y, float(best.fun)

    def setup(self, data, method):
        if method not in _methods():
            raise NotImplementedError(f"this adamopt has no adamopt.{method}")
        self.method = _methods()[method]

    def track_excess_loss_after_500_minibatch_iterations(self, data, method):
        X, y, best = data
        res = minimize(logistic_loss, np.zeros(20), jac=True, method=self.method,
                       options={"lr": 1e-2, "maxiter": 500, "gtol": 0.0,
                                "batches": adamopt.minibatches(X, y, batch_size=64, seed=0)})
        return float(logistic_loss(res.x, X, y)[0]) - best

    track_excess_loss_after_500_minibatch_iterations.unit = "loss"

    def track_iterations_to_gtol_1e_4_full_batch(self, data, method):
        X, y, _ = data
        res = minimize(logistic_loss, np.zeros(20), args=(X, y), jac=True,
                       method=self.method,
                       options={"lr": 1e-2, "maxiter": 20_000, "gtol": 1e-4})
        return res.nit

    track_iterations_to_gtol_1e_4_full_batch.unit = "iterations"

    def track_final_gradient_norm_after_1000_iterations(self, data, method):
        X, y, _ = data
        res = minimize(logistic_loss, np.zeros(20), args=(X, y), jac=True,
                       method=self.method,
                       options={"lr": 1e-2, "maxiter": 1000, "gtol": 0.0})
        return float(np.max(np.abs(logistic_loss(res.x, X, y)[1])))

    track_final_gradient_norm_after_1000_iterations.unit = "gradient inf-norm"
