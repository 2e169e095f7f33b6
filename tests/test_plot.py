"""`adamopt.plot_history`: convergence curves on matplotlib axes."""

import sys

import numpy as np
import pytest
from helpers import expect, name
from scipy.optimize import minimize

import adamopt


def fit(method=adamopt.adam, maxiter=40, **options):
    return minimize(lambda x: (float(x @ x), 2 * x), np.ones(3), jac=True, method=method,
                    options={"lr": 0.05, "maxiter": maxiter, "history": True, **options})


@pytest.fixture
def plt():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


def test_draws_one_axes_per_key(plt):
    axes = adamopt.plot_history(fit(), keys=("fun", "grad_norm", "step_norm"))
    assert len(axes) == 3
    assert [axis.get_ylabel() for axis in axes] == [
        "objective", "gradient 2-norm", "step 2-norm"]


def test_fun_draws_the_values_and_their_running_average(plt):
    res = fit()
    (axis,) = adamopt.plot_history(res, "fun")
    raw, smooth = axis.get_lines()
    np.testing.assert_array_equal(raw.get_ydata(), res.history.fun)
    np.testing.assert_array_equal(smooth.get_ydata(), res.history.fun_smoothed)
    np.testing.assert_array_equal(raw.get_xdata(), res.history.nit)


def test_several_runs_are_labelled_by_method(plt):
    (axis,) = adamopt.plot_history([fit(adamopt.adam), fit(adamopt.adamw)], "grad_norm")
    assert [t.get_text() for t in axis.get_legend().get_texts()] == ["adam", "adamw"]


def test_a_dict_labels_the_runs(plt):
    (axis,) = adamopt.plot_history({"fast": fit(lr=0.1), "slow": fit(lr=0.01)},
                                   "grad_norm")
    assert [t.get_text() for t in axis.get_legend().get_texts()] == ["fast", "slow"]


def test_draws_on_given_axes_against_time(plt):
    _, axis = plt.subplots()
    res = fit()
    out = adamopt.plot_history(res, "grad_norm", x="time", ax=axis)
    assert out == [axis]
    np.testing.assert_array_equal(axis.get_lines()[0].get_xdata(), res.history.time)


def test_log_axis_only_for_positive_values(plt):
    history = {"nit": np.arange(3), "signed": np.array([1.0, -1.0, 0.5]),
               "positive": np.array([1.0, 0.1, 0.01])}
    signed, positive = adamopt.plot_history(history, ("signed", "positive"))
    assert signed.get_yscale() == "linear"
    assert positive.get_yscale() == "log"


def test_accepts_a_mapping_of_columns_from_another_method(plt):
    curve = {"nit": np.arange(4), "fun": np.array([4.0, 2.0, 1.0, 0.5])}
    (axis,) = adamopt.plot_history({"L-BFGS-B": curve, "adam": fit()}, "fun")
    assert len(axis.get_lines()) == 3     # the curve; adam's values and average


def test_result_without_history_is_refused(plt):
    res = minimize(lambda x: (float(x @ x), 2 * x), np.ones(2), jac=True,
                   method=adamopt.adam, options={"maxiter": 2})
    with pytest.raises(ValueError, match=expect(name("results"), "plot_history", "history")):
        adamopt.plot_history(res)


@pytest.mark.parametrize(("kwargs", "error", "parameter"), [
    ({"results": 3}, TypeError, "results"),
    ({"results": []}, ValueError, "results"),
    ({"keys": "nope"}, ValueError, "keys"),
    ({"keys": []}, TypeError, "keys"),
    ({"x": "epoch"}, ValueError, "x"),
    ({"x": 1}, TypeError, "x"),
    ({"labels": ["a", "b"]}, ValueError, "labels"),
    ({"logy": "yes"}, TypeError, "logy"),
])
def test_bad_arguments_are_refused(plt, kwargs, error, parameter):
    kwargs = {"results": fit(maxiter=3), **kwargs}
    with pytest.raises(error, match=expect(name(parameter), "plot_history")):
        adamopt.plot_history(**kwargs)


def test_wrong_number_of_axes_is_refused(plt):
    _, axis = plt.subplots()
    with pytest.raises(ValueError, match=expect(name("ax"), "2 axes")):
        adamopt.plot_history(fit(maxiter=3), ("fun", "grad_norm"), ax=axis)


def test_without_matplotlib_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        adamopt.plot_history(fit(maxiter=3))


def test_importing_adamopt_does_not_import_matplotlib_or_tqdm():
    import subprocess

    code = ("import sys, adamopt; "
            "print(sorted(m for m in ('matplotlib', 'tqdm') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    assert out.strip() == "[]"
