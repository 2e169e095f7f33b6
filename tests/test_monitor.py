"""Watching a run: the ``disp`` table, the ``progress`` bar and the ``history``
option of the SciPy methods (`adamopt._monitor`)."""

import math
import pickle
import re
import warnings

import numpy as np
import pytest
from helpers import expect, name
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import OptimizeWarning, minimize

import adamopt
from adamopt import _monitor

METHODS = [adamopt.adam, adamopt.adamw]
COLUMNS = ("nit", "fun", "fun_smoothed", "grad_norm", "step_norm", "time", "stationarity")


def quadratic(x, noise=None):
    c = np.arange(1, x.size + 1, dtype=x.dtype)
    f, g = 0.5 * float(np.sum(c * x * x)), c * x
    if noise is not None:
        f, g = f + float(noise @ x), g + noise
    return f, g


def noise_stream(seed=0):
    rng = np.random.default_rng(seed)
    while True:
        yield (rng.standard_normal(5) * 0.1,)


class Recording:
    """The objective, recording every point and value it is called with."""

    def __init__(self):
        self.points, self.values, self.grads = [], [], []

    def __call__(self, x, *batch):
        f, g = quadratic(x, *batch)
        self.points.append(x.copy())
        self.values.append(f)
        self.grads.append(g)
        return f, g


def run(method=adamopt.adam, fun=quadratic, x0=None, callback=None, **options):
    """Minimize; with ``disp`` (or ``progress``, which may fall back to it) the
    run reaching maxiter also warns, as SciPy's methods do: that warning is
    expected here (tested on its own below)."""
    x0 = np.linspace(-1.0, 1.0, 5) if x0 is None else x0
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Maximum number of iterations", OptimizeWarning)
        return minimize(fun, x0, jac=True, method=method, callback=callback,
                        options={"lr": 0.05, "gtol": 0, **options})


# -- history --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_history_is_absent_unless_asked(method):
    assert "history" not in run(method, maxiter=5)


@pytest.mark.parametrize("method", METHODS)
def test_history_has_the_columns_of_equal_length(method):
    history = run(method, maxiter=7, history=True).history
    assert tuple(history) == COLUMNS
    assert {len(column) for column in history.values()} == {8}
    np.testing.assert_array_equal(history.nit, np.arange(8))


def test_history_records_every_kth_iteration_and_the_last():
    history = run(maxiter=23, history=5).history
    np.testing.assert_array_equal(history["nit"], [0, 5, 10, 15, 20, 23])


def test_history_rows_describe_the_iterates():
    fun = Recording()
    res = run(fun=fun, maxiter=12, history=True, batches=noise_stream())
    history = res.history
    points = np.array(fun.points)   # the call at iteration k is fun.points[k]
    np.testing.assert_array_equal(history.fun, fun.values)
    np.testing.assert_allclose(history.grad_norm, [np.linalg.norm(g) for g in fun.grads])
    np.testing.assert_allclose(history.step_norm[1:],
                               np.linalg.norm(np.diff(points, axis=0), axis=1))
    assert math.isnan(history.step_norm[0])
    assert np.all(np.diff(history.time) >= 0)


@pytest.mark.parametrize("smoothing", [0.0, 0.5, 0.9])
def test_history_smoothed_fun_is_the_bias_corrected_running_average(smoothing):
    history = run(maxiter=15, history=True, smoothing=smoothing,
                  batches=noise_stream()).history
    average, expected = 0.0, []
    for count, f in enumerate(history.fun, start=1):
        average = smoothing * average + (1 - smoothing) * f
        expected.append(average / (1 - smoothing**count))
    np.testing.assert_allclose(history.fun_smoothed, expected, rtol=1e-12)


def test_history_is_bounded_by_thinning(monkeypatch):
    monkeypatch.setattr(_monitor, "HISTORY_ROWS", 10)
    history = run(maxiter=100, history=True).history
    assert len(history.nit) <= 11            # the rows, and the last iteration
    assert history.every == 16
    assert history.nit[-1] == 100
    assert all(k % history.every == 0 for k in history.nit[:-1])


def test_thinned_history_keeps_the_values_of_its_iterations(monkeypatch):
    full = run(maxiter=60, history=True, batches=noise_stream()).history
    monkeypatch.setattr(_monitor, "HISTORY_ROWS", 8)
    thin = run(maxiter=60, history=True, batches=noise_stream()).history
    np.testing.assert_array_equal(thin.fun, full.fun[thin.nit])
    np.testing.assert_array_equal(thin.grad_norm, full.grad_norm[thin.nit])


def test_history_repr_is_short():
    text = repr(run(maxiter=2000, history=True).history)
    assert len(text) < 200
    assert "2001 rows" in text


def test_history_is_a_mapping_of_arrays():
    history = run(maxiter=3, history=True).history
    assert all(isinstance(column, np.ndarray) for column in dict(history).values())


def test_printing_a_result_does_not_print_the_history():
    res = run(maxiter=3000, history=True)
    assert repr(res.history) in repr(res)
    assert len(repr(res)) < 1500


def test_history_pickles():
    history = run(maxiter=10, history=3).history
    again = pickle.loads(pickle.dumps(history))
    assert again.every == 3
    np.testing.assert_array_equal(again.fun, history.fun)


@pytest.mark.filterwarnings("ignore::adamopt.InterruptedWarning")
@given(cut=st.integers(1, 30), every=st.sampled_from([1, 3, True]),
       where=st.sampled_from(["fun", "callback"]))
def test_an_interrupt_leaves_rows_of_the_whole_run_up_to_nit(cut, every, where):
    whole = run(maxiter=30, history=True, batches=noise_stream()).history   # every row
    count = [0]

    def interrupting(x, noise):
        count[0] += 1
        if where == "fun" and count[0] == cut:
            raise KeyboardInterrupt
        return quadratic(x, noise)

    def callback(xk):
        if where == "callback" and count[0] == cut:
            raise KeyboardInterrupt

    res = run(fun=interrupting, callback=callback, maxiter=30, history=every,
              batches=noise_stream())
    history = res.history
    assert history.nit.size == 0 or history.nit[-1] <= res.nit
    rows = history.nit
    for column in ("fun", "fun_smoothed", "grad_norm", "step_norm"):
        np.testing.assert_array_equal(whole[column][rows], history[column])


def test_a_resumed_run_records_its_own_iterations():
    stream = noise_stream()
    first = run(maxiter=5, history=True, batches=stream)
    second = run(x0=first.x, maxiter=4, history=True, batches=stream, state=first.state)
    np.testing.assert_array_equal(second.history.nit, np.arange(5))
    assert second.history.fun[0] == first.fun


def test_history_after_a_fault_ends_at_the_last_finite_iterate():
    count = [0]

    def failing(x):
        count[0] += 1
        f, g = quadratic(x)
        return (math.nan if count[0] == 6 else f), g

    res = run(fun=failing, maxiter=10, history=True)
    assert res.status == 4
    assert res.history.nit[-1] == 4
    assert np.isfinite(res.history.fun).all()


def test_history_with_maxiter_zero_has_the_start():
    history = run(maxiter=0, history=True).history
    np.testing.assert_array_equal(history.nit, [0])


# -- disp ----------------------------------------------------------------------------------


def table_iterations(out):
    return [int(line.split()[0]) for line in out.splitlines()
            if re.match(r"\s+\d+\s", line)]


def test_disp_prints_a_header_and_the_last_row(capsys):
    run(maxiter=math.inf, disp=True, patience=1, ftol=1e9)   # the plateau ends it
    out = capsys.readouterr().out
    assert "nit" in out
    assert "smoothed" in out
    assert table_iterations(out) == [0, 1]


def test_disp_scale_without_maxiter(capsys):
    callback_stop = 60

    def callback(intermediate_result):
        if intermediate_result.nit == callback_stop:
            raise StopIteration

    with pytest.warns(OptimizeWarning, match="StopIteration"):   # not a success
        run(maxiter=math.inf, disp=True, callback=callback)
    assert table_iterations(capsys.readouterr().out) == [0, 1, 2, 5, 10, 20, 50, 60]


def test_disp_rows_every_tenth_of_a_small_maxiter(capsys):
    run(maxiter=25, disp=True)
    assert table_iterations(capsys.readouterr().out) == [0, 1, 2, *range(4, 25, 2), 25]


def test_disp_rows_every_tenth_of_maxiter_after_the_scale_reaches_it(capsys):
    run(maxiter=1000, disp=True)
    assert table_iterations(capsys.readouterr().out) == [
        0, 1, 2, 5, 10, 20, 50, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]


def test_disp_every_sets_the_interval(capsys):
    run(maxiter=10, disp=True, disp_every=4)
    assert table_iterations(capsys.readouterr().out) == [0, 4, 8, 10]


def test_disp_row_shows_the_iterate_values(capsys):
    fun = Recording()
    run(fun=fun, maxiter=1, disp=True)
    rows = [line.split() for line in capsys.readouterr().out.splitlines()
            if re.match(r"\s+1\s", line)]
    assert float(rows[0][1]) == pytest.approx(fun.values[1], rel=1e-5)


def test_disp_still_prints_the_summary(capsys):
    run(maxiter=3, disp=True)
    assert "Iterations: 3" in capsys.readouterr().out


def test_disp_warns_when_maxiter_is_reached_as_scipy_does():
    with pytest.warns(OptimizeWarning, match="Maximum number of iterations"):
        minimize(quadratic, np.ones(3), jac=True, method=adamopt.adam,
                 options={"gtol": 0, "maxiter": 3, "disp": True})


def test_disp_does_not_warn_on_success(capsys):
    res = minimize(quadratic, np.ones(3), jac=True, method=adamopt.adam,
                   options={"lr": 0.1, "gtol": 1e-3, "maxiter": 5000, "disp": True})
    assert res.success      # (filterwarnings = error: a warning would fail the test)


def test_no_output_without_disp(capsys):
    run(maxiter=30, history=True)
    assert capsys.readouterr() == ("", "")


# -- progress ------------------------------------------------------------------------------


def test_progress_draws_a_tqdm_bar(capsys):
    pytest.importorskip("tqdm")
    run(maxiter=50, progress=True)
    err = capsys.readouterr().err
    assert "adam" in err
    assert "50/50" in err
    assert "fun=" in err


def test_progress_without_tqdm_warns_and_prints_the_table(monkeypatch, capsys):
    monkeypatch.setattr(_monitor, "_tqdm", lambda: None)
    with pytest.warns(UserWarning, match="'progress' option needs tqdm"):
        run(maxiter=5, progress=True)
    assert table_iterations(capsys.readouterr().out) == [0, 1, 2, 5]


def test_progress_warning_points_at_the_callers_line(monkeypatch):
    monkeypatch.setattr(_monitor, "_tqdm", lambda: None)
    with pytest.warns(UserWarning, match="tqdm") as record:
        minimize(quadratic, np.ones(2), jac=True, method=adamopt.adam,
                 options={"maxiter": 1, "progress": True})
    assert record[0].filename == __file__


def test_progress_with_disp_writes_rows_through_the_bar(capsys):
    pytest.importorskip("tqdm")
    run(maxiter=5, progress=True, disp=True)
    out = capsys.readouterr().out
    assert "smoothed" in out
    assert table_iterations(out) == [0, 1, 2, 5]


def test_progress_bar_is_closed_when_the_objective_raises(monkeypatch):
    bars = []

    class Bar:      # records what the run does with its bar
        def __init__(self, *args, **kwargs):
            self.n, self.closed = 0, False
            bars.append(self)

        def update(self, k):
            self.n += k

        def set_postfix_str(self, *args, **kwargs):
            pass

        def write(self, *args, **kwargs):
            pass

        def close(self):
            self.closed = True

    monkeypatch.setattr(_monitor, "_tqdm", lambda: Bar)

    def failing(x):
        if failing.calls == 3:
            raise RuntimeError("the objective failed")
        failing.calls += 1
        return quadratic(x)

    failing.calls = 0
    with pytest.raises(RuntimeError, match="the objective failed"):
        minimize(failing, np.ones(2), jac=True, method=adamopt.adam,
                 options={"maxiter": 10, "progress": True})
    assert [bar.closed for bar in bars] == [True]


# -- options --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("option", "value", "error"), [
    ("history", 0, ValueError), ("history", -2, ValueError), ("history", 2.0, TypeError),
    ("history", "yes", TypeError), ("disp_every", 0, ValueError),
    ("disp_every", 1.5, TypeError), ("disp_every", True, TypeError),
    ("progress", 1, TypeError), ("progress", "yes", TypeError),
])
def test_bad_monitor_option_is_refused(method, option, value, error):
    with pytest.raises(error, match=expect(name(option), method.__name__,
                                           re.escape(repr(value)))):
        run(method, maxiter=1, **{option: value})


@pytest.mark.parametrize("value", [False, None, np.False_])
def test_history_off_values(value):
    assert "history" not in run(maxiter=2, history=value)
