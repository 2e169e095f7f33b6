"""AMSGrad's reason to exist: Reddi, Kale & Kumar's (2018) one-dimensional online
problem, on which Adam provably converges to the worst point of the interval and
AMSGrad does not (run through ``minimize`` with ``bounds`` and ``batches``)."""

import itertools
import math

import numpy as np
import pytest
from scipy.optimize import minimize

import adamopt


def linear(x, c):
    """f_t(x) = c_t x, the loss revealed at step t."""
    return c * x[0], np.array([c])


def run_reddi_problem(C, amsgrad, steps=3000, alpha=0.5):
    r"""f_t(x) = C x when t mod 3 == 1, else -x, on [-1, 1] (Reddi et al. 2018,
    section 3): the average loss (C - 2) x / 3 is smallest at x = -1.
    beta1 = 0, beta2 = 1 / (1 + C^2) and alpha_t = alpha / sqrt(t), as in the paper."""
    return minimize(linear, np.zeros(1), jac=True, method=adamopt.adam, bounds=[(-1, 1)],
                    options={"lr": lambda t: alpha / math.sqrt(t), "beta1": 0.0,
                             "beta2": 1 / (1 + C**2), "amsgrad": amsgrad, "gtol": 0,
                             "maxiter": steps, "batches": itertools.cycle([C, -1.0, -1.0])})


@pytest.mark.parametrize("C", [2.5, 3.0, 5.0])
def test_adam_goes_to_the_wrong_end_of_the_interval(C):
    res = run_reddi_problem(C, amsgrad=False)
    assert res.x[0] > 0.99          # the average loss (C - 2) x / 3 is largest there


@pytest.mark.parametrize("C", [2.5, 3.0, 5.0])
def test_amsgrad_goes_to_the_optimum(C):
    res = run_reddi_problem(C, amsgrad=True)
    assert res.x[0] < -0.95


def test_the_first_loss_of_each_period_is_the_large_one():
    # The first evaluation (at x0) draws the first batch: f_1 = C x.
    res = run_reddi_problem(3.0, amsgrad=True, steps=0)
    assert res.jac[0] == 3.0
