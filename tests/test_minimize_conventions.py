"""The SciPy methods follow SciPy's conventions (counts, maxfev, disp warnings,
what a finite-difference run says) and never report a false success."""

import json

import numpy as np
import pytest
from scipy.optimize import OptimizeWarning, minimize

import adamopt
from adamopt import _checkpoint


def quadratic(x):
    c = np.arange(1.0, x.size + 1)
    return 0.5 * float(c @ (x * x)), c * x


def value_only(x):
    return quadratic(x)[0]


# -- maxfev --------------------------------------------------------------------------------


@pytest.mark.parametrize(("jac", "fun", "per_evaluation"), [
    pytest.param(True, quadratic, 1, id="jac-True"),
    pytest.param(None, value_only, 4, id="forward-differences"),
])
def test_maxfev_stops_the_run_with_scipys_message_and_is_never_exceeded(jac, fun,
                                                                        per_evaluation):
    res = minimize(fun, np.ones(3), jac=jac, method=adamopt.adam,
                   options={"maxfev": 10, "gtol": 0})
    assert res.status == 1
    assert res.message.startswith("Maximum number of function evaluations has been exceeded.")
    assert res.nfev <= 10 < res.nfev + per_evaluation
    assert not res.success


def test_maxfev_does_not_warn_as_an_unknown_option():
    # (filterwarnings = error: an OptimizeWarning would fail the test)
    minimize(quadratic, np.ones(3), jac=True, method=adamopt.adam,
             options={"maxfev": 1000, "maxiter": 3})


@pytest.mark.parametrize(("value", "exc"), [(0, ValueError), (1.5, TypeError),
                                            (True, TypeError)])
def test_bad_maxfev_is_refused_naming_it(value, exc):
    with pytest.raises(exc, match=r"The 'maxfev' parameter of adam must be an integer >= 1"):
        minimize(quadratic, np.ones(3), jac=True, method=adamopt.adam,
                 options={"maxfev": value})


# -- counts and messages with finite differences -------------------------------------------


def test_finite_differences_count_each_estimated_gradient_in_njev():
    res = minimize(value_only, np.ones(3), method=adamopt.adam,
                   options={"maxiter": 4, "gtol": 0})
    assert res.njev == res.nit + 1
    assert res.nfev == (res.nit + 1) * 4


@pytest.mark.parametrize("jac", [None, "2-point", "3-point", "cs"])
def test_the_message_says_the_gradient_was_estimated_by_forward_differences(jac):
    res = minimize(value_only, np.ones(3), jac=jac, method=adamopt.adam,
                   options={"maxiter": 2})
    assert "forward differences" in res.message


def test_the_message_of_a_run_with_a_gradient_says_nothing_of_differences():
    res = minimize(quadratic, np.ones(3), jac=True, method=adamopt.adam,
                   options={"maxiter": 2})
    assert "differences" not in res.message


# -- disp ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", [adamopt.adam, adamopt.sgd])
def test_disp_warns_with_the_message_when_maxiter_is_reached(method, capsys):
    with pytest.warns(OptimizeWarning, match="Maximum number of iterations has been exceeded"):
        minimize(quadratic, np.ones(3), jac=True, method=method,
                 options={"maxiter": 2, "disp": True})


# -- no false success ----------------------------------------------------------------------


def test_continuing_sgd_with_momentum_switched_on_does_not_stop_at_once():
    first = minimize(quadratic, np.full(3, 5.0), jac=True, method=adamopt.sgd,
                     options={"lr": 1e-3, "maxiter": 3})
    assert np.abs(first.jac).max() > 1.0          # far from the optimum
    second = minimize(quadratic, first.x, jac=True, method=adamopt.sgd,
                      options={"lr": 1e-3, "momentum": 0.9, "maxiter": 3,
                               "state": first.state})
    assert second.nit == 3
    assert not second.success


def test_continuing_with_the_same_settings_still_ends_at_once_after_convergence():
    first = minimize(quadratic, np.ones(3), jac=True, method=adamopt.sgd,
                     options={"lr": 0.1, "momentum": 0.5, "gtol": 1e-3, "maxiter": 10_000})
    assert first.status == 0
    second = minimize(quadratic, first.x, jac=True, method=adamopt.sgd,
                      options={"lr": 0.1, "momentum": 0.5, "gtol": 1e-3,
                               "state": first.state})
    assert (second.status, second.nit) == (0, 0)


def _plateau_state_that_fired(res, patience):
    average, count, best, _ = res.state["plateau"]
    return (average, count, best, patience)


def test_a_state_with_a_non_finite_fun_is_refused():
    res = minimize(quadratic, np.ones(3), jac=True, method=adamopt.adam,
                   options={"maxiter": 3, "patience": 2})
    crafted = {**res.state, "evaluation": (float("nan"), res.state["evaluation"][1]),
               "plateau": _plateau_state_that_fired(res, 2)}
    with pytest.raises(ValueError, match="non-finite 'fun'"):
        minimize(quadratic, res.x, jac=True, method=adamopt.adam,
                 options={"maxiter": 3, "patience": 2, "state": crafted})


def test_a_checkpoint_with_a_non_finite_fun_is_refused(tmp_path):
    path = str(tmp_path / "run.npz")
    options = {"maxiter": 3, "patience": 2, "checkpoint": path}
    res = minimize(quadratic, np.ones(3), jac=True, method=adamopt.adam, options=options)
    with np.load(path) as archive:
        arrays = {key: np.array(archive[key]) for key in archive.files}
    header = json.loads(arrays.pop("header").tobytes().decode("utf-8"))
    header["fun"] = float("nan")
    header["plateau"] = list(_plateau_state_that_fired(res, 2))
    _checkpoint.write(path, header, arrays)
    with pytest.raises(ValueError, match=r"non-finite 'fun'|bad evaluation"):
        minimize(quadratic, np.ones(3), jac=True, method=adamopt.adam,
                 options={**options, "resume": True})
