"""The cost of the stopping tests at 1e6 parameters, beside the step they
follow: the ``gtol`` test of a deterministic run (the gradient at ``x``) and
of a stochastic run (Adam's first moment), settled by one dot product or
needing the exact maximum, and one iteration of the stationarity test
(a gather of at most 1024 elements, whatever ``n``)."""

import numpy as np

import adamopt

from .common import vectors

N = 1_000_000


def _parts():
    """The run's test classes, or NotImplementedError (asv then skips) without them."""
    try:
        from adamopt._stationarity import Stationarity
        from adamopt._stopping import GradientTest
    except ImportError:
        raise NotImplementedError("this adamopt has no stationarity test") from None
    return GradientTest, Stationarity


class StoppingTests:
    """Time of one call of each test (and of one Adam step, the scale)."""

    params = (["step", "gtol-gradient", "gtol-gradient-max", "gtol-smoothed",
               "stationarity"],)
    param_names = ["test"]

    def setup(self, test):
        GradientTest, Stationarity = _parts()
        x, g = vectors(N, np.float64)
        self.x, self.g = x.copy(), g.copy()
        self.opt = adamopt.Adam(self.x)
        self.opt.step(self.g)
        # gtol: far below the norm (one dot settles it), or half the largest
        # element (the dot cannot: the exact maximum is computed too)
        gtol = float(np.abs(self.g).max()) / 2 if test.endswith("-max") else 1e-5
        self.gradient = GradientTest(self.opt, gtol, np.inf, None, None, current=True)
        self.smoothed = GradientTest(self.opt, 1e-5, np.inf, None, None, current=False)
        self.stationarity = Stationarity(self.x)
        for _ in range(10):
            self.stationarity.update(self.x)

    def time_test(self, test):
        if test == "step":
            self.opt.step(self.g)
        elif test.startswith("gtol-gradient"):
            self.gradient.test(self.g)
        elif test == "gtol-smoothed":
            self.smoothed.test(self.g)
        else:
            self.stationarity.update(self.x)
