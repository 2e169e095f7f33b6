"""Stopping rules of the SciPy methods: the gtol test (with iterate averaging
too) and the plateau test."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.optimize import minimize

import adamopt
from adamopt import _registry
from adamopt._stopping import GradientTest, Plateau

finite = st.floats(-1e3, 1e3, allow_subnormal=False)


@given(m=arrays(np.float64, st.integers(1, 40), elements=finite),
       gtol=st.floats(1e-6, 1e3), t=st.integers(1, 50),
       order=st.sampled_from([1.0, 2.0, math.inf]))
def test_gradient_test_agrees_with_the_exact_norm(m, gtol, t, order):
    opt = adamopt.Adam(np.zeros_like(m))
    opt._m[...] = m            # test-only: set the first moment directly
    opt._t = t
    test = GradientTest(opt, gtol, order, None, None)
    exact = np.linalg.norm(m / (1 - 0.9**t), ord=order)
    if not math.isclose(exact, gtol, rel_tol=1e-12):
        assert test.test() == (exact <= gtol)
    assert test.norm() == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize("order", [2.0, math.inf])
@pytest.mark.parametrize(("gtol", "fires"), [(1e150, False), (1e160, True)])
def test_gradient_test_on_a_state_whose_squares_overflow(order, gtol, fires):
    # A finite first moment of 1.34e154 (found by fuzzing checkpoints): its
    # square overflows; the test still compares the true norm, without warning.
    opt = adamopt.Adam(np.zeros(3))
    opt._m[...] = [0.0, 0.0, 1.34e154]   # test-only: set the first moment directly
    opt._t = 10**6
    assert GradientTest(opt, gtol, order, None, None).test() is fires


def test_gradient_test_is_false_before_the_first_step():
    opt = adamopt.Adam(np.zeros(3))
    assert not GradientTest(opt, 1.0, math.inf, None, None).test()


def test_gradient_test_projects_onto_the_bounds():
    x = np.array([0.0, 0.5])
    opt = adamopt.Adam(x)
    opt._m[...] = [1.0, 1.0]    # pushes x down; the first element sits on its bound
    opt._t = 10**6
    lower, upper = np.array([0.0, 0.0]), np.array([1.0, 1.0])
    test = GradientTest(opt, 0.6, math.inf, lower, upper)
    assert test.norm() == pytest.approx(0.5)
    assert test.test()


def test_plateau_fires_after_patience_values_without_improvement():
    plateau = Plateau(ftol=0.0, patience=3, smoothing=0.0, sign=1.0)
    fired = [plateau.update(f) for f in [5.0, 4.0, 4.0, 4.0, 4.0]]
    assert fired == [False, False, False, False, True]


def test_plateau_asks_for_a_relative_improvement():
    plateau = Plateau(ftol=0.1, patience=1, smoothing=0.0, sign=1.0)
    assert not plateau.update(10.0)
    assert plateau.update(9.5)        # 5% better: not enough


def test_plateau_average_is_bias_corrected():
    plateau = Plateau(ftol=0.0, patience=10, smoothing=0.9, sign=1.0)
    plateau.update(2.0)
    assert plateau.average == pytest.approx(2.0)


def test_plateau_with_sign_minus_one_tracks_increases():
    plateau = Plateau(ftol=0.0, patience=1, smoothing=0.0, sign=-1.0)
    assert not plateau.update(1.0)
    assert not plateau.update(2.0)
    assert plateau.update(1.5)


@given(g=arrays(np.float64, st.integers(1, 40),
                elements=st.one_of(finite, st.sampled_from([1e200, -1e300, np.nan, np.inf]))),
       gtol=st.floats(1e-6, 1e3), order=st.sampled_from([1.0, 2.0, math.inf]))
def test_gradient_test_on_a_raw_gradient_agrees_with_the_exact_norm(g, gtol, order):
    # SGD without momentum tests the gradient itself, which may be huge or NaN
    # (the next step refuses it): no warning, and the exact answer.
    opt = adamopt.SGD(np.zeros_like(g))
    opt.step(np.zeros_like(g))
    test = GradientTest(opt, gtol, order, None, None)
    with np.errstate(over="ignore", invalid="ignore"):
        exact = np.linalg.norm(g, ord=order)
    if not math.isclose(exact, gtol, rel_tol=1e-12):
        assert test.test(g) == bool(exact <= gtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", [2.0, math.inf])
@pytest.mark.parametrize("where", [0, 1023, 1024, 4999])
@pytest.mark.parametrize("factor", [0.5, 0.999999, 1.0, 1.000001, 2.0])
def test_gradient_test_of_a_long_gradient_agrees_with_the_exact_norm(dtype, order, where,
                                                                     factor):
    # The compiled scan stops at the first block that settles the test: the
    # large element in the first, a middle or the last block, gtol around it.
    rng = np.random.default_rng(where)
    g = (rng.standard_normal(5000) * 1e-3).astype(dtype)
    g[where] = 3.0
    opt = adamopt.SGD(np.zeros_like(g))
    opt.step(np.zeros_like(g))
    exact = float(np.linalg.norm(g.astype(np.float64), ord=order))
    gtol = exact * factor
    test = GradientTest(opt, gtol, order, None, None)
    if not math.isclose(exact, gtol, rel_tol=1e-5) or order == math.inf:
        assert test.test(g) == (exact <= gtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("order", [2.0, math.inf])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_gradient_test_of_a_long_gradient_fails_on_a_non_finite_element(dtype, order, bad):
    g = np.zeros(5000, dtype)
    g[4321] = bad
    opt = adamopt.SGD(np.zeros_like(g))
    opt.step(np.zeros_like(g))
    assert not GradientTest(opt, 1e30, order, None, None).test(g)


@pytest.mark.parametrize("order", [2.0, math.inf])
@pytest.mark.parametrize("factor", [0.5, 1.0, 2.0])
def test_projected_gradient_test_of_a_long_gradient_agrees_with_the_exact_norm(order,
                                                                               factor):
    # With bounds the projected norm's scan stops once the norm exceeds gtol;
    # the decision is that of the full norm.
    rng = np.random.default_rng(1)
    n = 5000
    x = rng.uniform(0.0, 1.0, n)
    opt = adamopt.SGD(x)
    opt.step(np.zeros(n))
    g = rng.standard_normal(n) * 1e-3
    g[4000] = 0.4
    lower, upper = np.zeros(n), np.ones(n)
    exact = float(np.linalg.norm(x - np.clip(x - g, lower, upper), ord=order))
    test = GradientTest(opt, exact * factor, order, lower, upper)
    assert test.test(g) == (factor >= 1.0)
    assert test.norm(g) == pytest.approx(exact, rel=1e-12)
# -- the gtol test and iterate averaging --------------------------------------------------


def _ill_conditioned(x):
    c = np.logspace(0, 1, x.size)
    return 0.5 * float(c @ (x * x)), c * x


# (the schedule-free methods keep their own average and refuse the option:
# tests/test_stationarity.py tests their gtol at the averaged point)
@pytest.mark.parametrize("a", [a for a in _registry.algorithms() if a.averaged is None],
                         ids=lambda a: a.name)
@pytest.mark.parametrize("average", ["ema", "polyak"])
def test_deterministic_gtol_success_with_averaging_means_the_gradient_at_x_is_below_gtol(
        a, average):
    res = minimize(_ill_conditioned, np.linspace(-1.0, 1.0, 4), jac=True,
                   method=getattr(adamopt, a.name),
                   options={"lr": a.quadratic_lr, "gtol": 1e-4, "maxiter": 5000,
                            "average": average})
    if res.success and res.status == 0:
        assert np.max(np.abs(_ill_conditioned(res.x)[1])) <= 1e-4


def test_a_deterministic_average_that_fails_gtol_gives_back_the_certified_last_iterate():
    # (the average of a converging run lags behind it: measured 1e2 to 2e4 times gtol)
    res = minimize(_ill_conditioned, np.linspace(-1.0, 1.0, 4), jac=True,
                   method=adamopt.adam,
                   options={"lr": 0.01, "gtol": 1e-4, "maxiter": 5000, "average": "ema"})
    assert (res.status, res.success) == (0, True)
    np.testing.assert_array_equal(res.x, res.x_last)
    assert res.fun == res.fun_last
    assert "the average is not returned" in res.message


def test_a_deterministic_average_worse_than_the_plateau_gives_back_the_last_iterate():
    def shifted(x):      # a minimum of 1: the relative plateau test fires
        f, g = _ill_conditioned(x)
        return 1.0 + f, g

    res = minimize(shifted, np.linspace(-1.0, 1.0, 4), jac=True, method=adamopt.adam,
                   options={"lr": 0.01, "gtol": 0, "patience": 20, "maxiter": 5000,
                            "average": "polyak"})
    assert (res.status, res.success) == (2, True)
    np.testing.assert_array_equal(res.x, res.x_last)
    assert "the average is not returned" in res.message


def test_norm_at_measures_the_coupled_decay_at_the_point_and_restores_the_parameters():
    x = np.array([1.0, -2.0, 3.0])
    opt = adamopt.Adam(x, weight_decay=0.5)
    opt.step(np.ones(3))
    before = x.copy()
    point, grad = np.array([0.5, 0.5, -4.0]), np.array([0.1, -0.2, 0.3])
    norm = GradientTest(opt, 1e-5, math.inf, None, None, current=True).norm_at(point, grad)
    assert norm == np.max(np.abs(grad + 0.5 * point))
    np.testing.assert_array_equal(x, before)
