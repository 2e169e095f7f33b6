"""Non-finite values end to end: one test per row of the README's table
("Guarantees", non-finite values), for every entry point."""

import math

import numpy as np
import pytest
from helpers import expect, name

import adamopt
from adamopt._kernels import GRAD_LIMIT_FLOAT32, GRAD_LIMIT_FLOAT64
from adamopt._validation import GradientValueError

CLASSES = [adamopt.Adam, adamopt.AdamW]
METHODS = [adamopt.adam, adamopt.adamw]
DTYPES = [np.float32, np.float64]
NONFINITE = [math.nan, math.inf, -math.inf]


def _snapshot(opt):
    return opt.params.tobytes(), {k: (v.tobytes() if isinstance(v, np.ndarray) else v)
                                  for k, v in opt.state_dict().items()}


def _stepped(cls, dtype, **options):
    opt = cls(np.linspace(-1.0, 1.0, 5).astype(dtype), lr=0.1, **options)
    opt.step(np.ones(5, dtype))
    return opt


# -- the classes -----------------------------------------------------------------------


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_nonfinite_params_stay_in_their_elements(cls, dtype):
    x = np.array([1.0, math.nan, -2.0, math.inf], dtype)
    clean = np.array([1.0, 0.0, -2.0, 0.0], dtype)
    opt, twin = cls(x, lr=0.1), cls(clean, lr=0.1)
    g = np.array([0.5, 0.5, -1.0, 2.0], dtype)
    for _ in range(3):
        opt.step(g)
        twin.step(g)
    assert np.isnan(x[1])
    assert np.isinf(x[3])
    assert x[[0, 2]].tobytes() == clean[[0, 2]].tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
def test_nonfinite_params_with_coupled_decay_are_refused(dtype):
    opt = adamopt.Adam(np.array([1.0, math.inf], dtype), weight_decay=0.1)
    before = _snapshot(opt)
    with pytest.raises(ValueError, match=expect(name("grad"), "weight_decay")):
        opt.step(np.zeros(2, dtype))
    assert _snapshot(opt) == before


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("value", [*NONFINITE, "huge"])
def test_bad_gradient_is_refused_and_changes_nothing(cls, dtype, value):
    opt = _stepped(cls, dtype)
    limit = GRAD_LIMIT_FLOAT32 if dtype == np.float32 else GRAD_LIMIT_FLOAT64
    g = np.ones(5, dtype)
    g[3] = 2 * limit if value == "huge" else value
    before = _snapshot(opt)
    with pytest.raises(ValueError, match=expect(name("grad"), r"index \(3,\)")):
        opt.step(g)
    assert _snapshot(opt) == before


def test_float32_overflow_of_the_square_is_refused_at_1e20():
    """The pitfall of float32 state: a gradient of 1e20 squared is inf."""
    opt = _stepped(adamopt.Adam, np.float32)
    before = _snapshot(opt)
    with pytest.raises(ValueError, match=expect(name("grad"), "square", "float64")):
        opt.step(np.full(5, 1e20, np.float32))
    assert _snapshot(opt) == before
    adamopt.Adam(np.zeros(5)).step(np.full(5, 1e20))      # fine in float64


def test_float64_gradient_beyond_float32_range_is_refused():
    opt = _stepped(adamopt.Adam, np.float32)
    before = _snapshot(opt)
    with pytest.raises(ValueError, match=expect(name("grad"), "range", "float32")):
        opt.step(np.full(5, 1e39))
    assert _snapshot(opt) == before


@pytest.mark.parametrize("cls", CLASSES)
def test_check_finite_false_lets_nan_into_its_elements(cls):
    opt = _stepped(cls, np.float64, check_finite=False)
    g = np.ones(5)
    g[2] = math.nan
    opt.step(g)
    assert np.isnan(opt.params[2])
    assert np.isfinite(np.delete(opt.params, 2)).all()


@pytest.mark.parametrize("which", ["lr", "schedule"])
@pytest.mark.parametrize("value", [*NONFINITE, -1.0])
def test_schedule_returning_a_bad_value_is_refused(which, value):
    opt = adamopt.Adam(np.zeros(3), **{which: lambda t: value})
    before = _snapshot(opt)
    with pytest.raises(ValueError, match=expect(name(which), "finite number >= 0", "t=1")):
        opt.step(np.ones(3))
    assert _snapshot(opt) == before


@pytest.mark.parametrize("dtype", DTYPES)
def test_lr_whose_step_overflows_is_refused(dtype):
    # step size lr * sqrt(1 - beta2) / (1 - beta1) = 10 lr at t = 1
    opt = adamopt.Adam(np.zeros(3, dtype), lr=float(np.finfo(dtype).max), beta2=0.0)
    before = _snapshot(opt)
    with pytest.raises(ValueError, match=expect(name("lr"), "finite in")):
        opt.step(np.ones(3, dtype))
    assert _snapshot(opt) == before


@pytest.mark.parametrize("dtype", DTYPES)
def test_update_that_could_overflow_the_params_is_refused_by_the_class(dtype):
    """Issue 13: a finite update that could carry a parameter past the
    dtype's maximum is refused before anything changes (the overflow guard),
    naming lr; in a SciPy run it is a fault (status 5, next tests)."""
    big = float(np.finfo(dtype).max)
    x = np.array([0.9 * big, 1.0], dtype)
    opt = adamopt.Adam(x, lr=0.5 * big)
    before = _snapshot(opt)
    with pytest.raises(GradientValueError, match=expect(name("lr"), "could carry")):
        opt.step(np.array([-1.0, 1.0], dtype))
    assert _snapshot(opt) == before


@pytest.mark.parametrize("dtype", DTYPES)
def test_update_with_a_step_size_that_could_overflow_is_refused_by_the_class(dtype):
    """x within range but a step size that could carry it past the maximum:
    refused, naming lr."""
    big = float(np.finfo(dtype).max)
    x = np.array([0.2 * big, 1.0], dtype)
    opt = adamopt.Adam(x, lr=0.9 * big)
    before = _snapshot(opt)
    with pytest.raises(ValueError, match=expect(name("lr"))):
        opt.step(np.array([-1.0, 1.0], dtype))
    assert _snapshot(opt) == before


# -- the SciPy methods ---------------------------------------------------------------------


def quadratic(x):
    return float(x @ x), 2 * x


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("value", NONFINITE)
def test_nonfinite_x0_is_refused(method, value):
    x0 = np.array([1.0, value, 2.0])
    with pytest.raises(ValueError, match=expect(name("x0"), "finite", "index 1")):
        method(quadratic, x0, jac=True)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("value", NONFINITE)
def test_nonfinite_objective_at_x0_stops_with_x0(method, dtype, value):
    x0 = np.array([1.0, 2.0], dtype)
    res = method(lambda x: (value, 2 * x), x0, jac=True)
    assert (res.status, res.success, res.nit) == (4, False, 0)
    assert "at x0" in res.message
    assert res.x.tobytes() == x0.tobytes()


def _faulty(after, bad_f=None, bad_g=None):
    """An objective that turns bad after ``after`` calls; records the iterates."""
    seen = []

    def fun(x):
        seen.append(x.copy())
        f, g = quadratic(x)
        if len(seen) > after:
            if bad_f is not None:
                f = bad_f
            if bad_g is not None:
                g = g.copy()
                g[0] = bad_g
        return f, g

    return fun, seen


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("value", NONFINITE)
def test_nonfinite_objective_stops_with_the_last_finite_iterate(method, dtype, value):
    fun, seen = _faulty(4, bad_f=value)
    res = method(fun, np.array([1.0, 2.0], dtype), jac=True, lr=0.1)
    assert (res.status, res.success) == (4, False)
    assert res.x.tobytes() == seen[3].tobytes()
    assert np.isfinite(res.x).all()
    assert math.isfinite(res.fun)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("value", [*NONFINITE, "huge"])
def test_bad_gradient_stops_with_the_last_finite_iterate(method, dtype, value):
    limit = GRAD_LIMIT_FLOAT32 if dtype == np.float32 else GRAD_LIMIT_FLOAT64
    fun, seen = _faulty(4, bad_g=2 * limit if value == "huge" else value)
    res = method(fun, np.array([1.0, 2.0], dtype), jac=True, lr=0.1)
    assert (res.status, res.success) == (5, False)
    assert res.x.tobytes() == seen[3].tobytes()
    assert np.isfinite(res.jac).all()


def test_float32_gradient_of_1e20_stops_the_run():
    res = adamopt.adam(lambda x: (float(x @ x), np.full_like(x, 1e20)),
                       np.ones(3, np.float32), jac=True)
    assert (res.status, res.success) == (5, False)
    assert "too large to square" in res.message


def test_nonfinite_finite_difference_stops_the_run():
    def fun(x):
        return math.nan if x[1] > 2.0 else float(x @ x)
    res = adamopt.adam(fun, np.array([1.0, 2.0]), jac=None)
    assert res.status == 5
    assert res.x.tobytes() == np.array([1.0, 2.0]).tobytes()


@pytest.mark.parametrize("method", METHODS)
def test_maximizing_into_infinity_stops_the_run(method):
    fun, seen = _faulty(3, bad_f=math.inf)
    res = method(fun, np.array([1.0, 2.0]), jac=True, maximize=True)
    assert res.status == 4
    assert res.x.tobytes() == seen[2].tobytes()


@pytest.mark.parametrize("dtype", DTYPES)
def test_step_overflowing_x_is_a_fault_not_a_success(dtype):
    """An objective that stays finite at infinity (bounded): the overflow is
    caught at the end of the run, and x is the last finite iterate."""
    big = float(np.finfo(dtype).max)
    seen = []

    def fun(x):
        seen.append(x.copy())
        return 0.0, np.array([-1.0, 0.0], dtype)    # flat, with a constant push

    res = adamopt.adam(fun, np.array([0.9 * big, 1.0], dtype), jac=True, lr=0.5 * big,
                       gtol=0, maxiter=4)
    # (issue 13: the overflow guard refuses the first step, a fault at x0)
    assert (res.status, res.success) == (5, False)
    assert np.isfinite(res.x).all()
    assert res.x.tobytes() == seen[0].tobytes()


@pytest.mark.parametrize("value", [math.nan, -math.nan])
def test_nan_bound_is_refused(value):
    with pytest.raises(ValueError, match=expect(name("bounds"), "NaN")):
        adamopt.adam(quadratic, np.zeros(2), jac=True, bounds=[(value, 1.0), (0.0, 1.0)])


def test_schedule_returning_nan_mid_run_raises_naming_it():
    with pytest.raises(ValueError, match=expect(name("lr"), "t=4")):
        adamopt.adam(quadratic, np.ones(2), jac=True, lr=lambda t: math.nan if t == 4 else 0.1)


def test_callback_only_sees_finite_iterates():
    fun, _ = _faulty(5, bad_g=math.nan)
    seen = []
    adamopt.adam(fun, np.ones(2), jac=True, callback=lambda xk: seen.append(xk))
    assert len(seen) == 5
    assert all(np.isfinite(xk).all() for xk in seen)


def test_checkpoint_with_nonfinite_x_is_refused(tmp_path):
    from adamopt import _checkpoint
    path = str(tmp_path / "run.ckpt")
    adamopt.adam(quadratic, np.ones(2), jac=True, maxiter=3, checkpoint=path)
    header, arrays = _checkpoint.read(path, "test")
    arrays["x"][0] = math.nan
    _checkpoint.write(path, header, arrays)
    with pytest.raises(ValueError, match=expect(name("resume"), "non-finite x")):
        adamopt.adam(quadratic, np.ones(2), jac=True, resume=path)


def test_minibatches_pass_nonfinite_data_through():
    X = np.array([[1.0], [math.nan], [math.inf]])
    rows = next(adamopt.minibatches(X, batch_size=3, shuffle=False))[0]
    assert rows.tobytes() == X.tobytes()
