"""The SciPy methods (adamopt.adam, adamopt.adamw and the family: adamopt.sgd,
...): SciPy's contract, stopping rules, resumption, bounds and faults.

Tests that hold for every method run over `ALL_METHODS`, with options that
suit each (`SUITED`); the rest exercise Adam's options on `METHODS`."""

import inspect
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import Bounds, OptimizeResult, OptimizeWarning, minimize, rosen, rosen_der

import adamopt

METHODS = [adamopt.adam, adamopt.adamw]
#: Every SciPy method, and its optimizer class.
CLASS_OF = {adamopt.adam: adamopt.Adam, adamopt.adamw: adamopt.AdamW,
            adamopt.sgd: adamopt.SGD, adamopt.adagrad: adamopt.Adagrad,
            adamopt.rmsprop: adamopt.RMSprop, adamopt.adamax: adamopt.Adamax,
            adamopt.nadam: adamopt.NAdam}
ALL_METHODS = list(CLASS_OF)
#: Options of each method that make the runs below behave (learning rates
#: that converge on `quadratic` and Rosenbrock's function, a momentum).
SUITED = {adamopt.adam: {}, adamopt.adamw: {},
          adamopt.sgd: {"momentum": 0.9}, adamopt.adagrad: {},
          adamopt.rmsprop: {"centered": True}, adamopt.adamax: {},
          adamopt.nadam: {"decoupled_weight_decay": True}}


def method_id(method):
    return method.__name__


def supported(method, options):
    """``options`` without those ``method`` does not have (Adam's amsgrad for SGD)."""
    known = set(inspect.signature(CLASS_OF[method].__init__).parameters)
    return {k: v for k, v in options.items() if k in known}
STOP_MESSAGE = "`callback` raised `StopIteration`."


def quadratic(x, *args):
    """0.5 sum(c_i x_i^2) with c_i = 1..n, and its gradient."""
    c = np.arange(1, x.size + 1, dtype=x.dtype)
    return 0.5 * float(np.sum(c * x * x)), c * x


def quadratic_value(x):
    return quadratic(x)[0]


def quadratic_grad(x):
    return quadratic(x)[1]


class Counting:
    """Wrap a (value, grad) objective and count the calls it receives."""

    def __init__(self, fun):
        self.fun, self.calls, self.points = fun, 0, []

    def __call__(self, x, *args):
        self.calls += 1
        self.points.append(x.copy())
        return self.fun(x, *args)


def run(method=adamopt.adam, fun=quadratic, x0=None, **options):
    x0 = np.linspace(-1.0, 1.0, 5) if x0 is None else x0
    return minimize(fun, x0, jac=True, method=method, options=options)


def noisy_quadratic_batches(seed=0):
    """An endless stream of noise vectors: fun(x, noise) = quadratic + noise . x."""
    rng = np.random.default_rng(seed)
    while True:
        yield (rng.standard_normal(5) * 0.1,)


def noisy_quadratic(x, noise):
    f, g = quadratic(x)
    return f + float(noise @ x), g + noise


# -- SciPy's contract ------------------------------------------------------------------


@pytest.mark.parametrize("method", ALL_METHODS, ids=method_id)
def test_result_has_scipy_attributes(method):
    res = run(method, maxiter=5)
    assert isinstance(res, OptimizeResult)
    for name in ("x", "fun", "jac", "nit", "nfev", "njev", "status", "success", "message",
                 "state"):
        assert name in res
    assert isinstance(res.message, str)
    assert isinstance(res.success, bool)
    assert isinstance(res.fun, float)


def test_one_element_x0_keeps_shape():
    res = minimize(quadratic, 1.0, jac=True, method=adamopt.adam, options={"maxiter": 3})
    assert res.x.shape == (1,)
    assert res.jac.shape == (1,)


def test_float32_x0_stays_float32():
    seen = []

    def fun(x):
        seen.append(x.dtype)
        return quadratic(x)

    res = run(fun=fun, x0=np.ones(4, np.float32), maxiter=3)
    assert res.x.dtype == np.float32
    assert res.jac.dtype == np.float32
    assert set(seen) == {np.dtype(np.float32)}


def test_integer_x0_becomes_float64():
    res = run(x0=np.array([1, 2, 3]), maxiter=2)
    assert res.x.dtype == np.float64


@pytest.mark.parametrize("method", ALL_METHODS, ids=method_id)
@pytest.mark.parametrize("maxiter", [0, 1, 7])
def test_maxiter_and_exact_counts_with_jac_true(method, maxiter):
    fun = Counting(quadratic)
    res = run(method, fun=fun, maxiter=maxiter, gtol=0)
    assert res.nit == maxiter
    assert res.status == 1
    assert not res.success
    assert res.nfev == res.njev == fun.calls == maxiter + 1


@pytest.mark.parametrize(("maxiter", "nit"), [(5.0, 5), (1e1, 10), (7.9, 7)])
def test_maxiter_may_be_a_float_as_in_scipy(maxiter, nit):
    assert run(maxiter=maxiter, gtol=0).nit == nit


def test_maxiter_inf_leaves_the_run_to_the_other_rules():
    res = run(maxiter=np.inf, lr=0.05, gtol=1e-3)
    assert res.status == 0


def test_no_duplicate_evaluations():
    fun = Counting(quadratic)
    run(fun=fun, maxiter=50, lr=0.05)
    for a, b in zip(fun.points, fun.points[1:], strict=False):
        assert not np.array_equal(a, b)


@pytest.mark.parametrize("jac", [True, None])
@pytest.mark.parametrize("nan_after", [0, 2])
def test_nan_objective_is_not_a_success(jac, nan_after):
    # SciPy's test_nan_values, for these methods.
    rng = np.random.default_rng(123122)
    count = [0]

    def fun(x):
        count[0] += 1
        f = np.nan if count[0] > nan_after else rng.random()
        return (f, np.array([1.0])) if jac else f

    res = minimize(fun, np.array([1.0]), jac=jac, method=adamopt.adam,
                   options={"maxiter": 20})
    assert not res.success
    assert res.status == 4
    assert np.isfinite(res.x).all()


def test_exact_counts_with_separate_jac():
    fun, jac = Counting(quadratic_value), Counting(quadratic_grad)
    res = minimize(fun, np.ones(3), jac=jac, method=adamopt.adam,
                   options={"maxiter": 6, "gtol": 0})
    assert (res.nfev, res.njev) == (fun.calls, jac.calls) == (7, 7)


def test_exact_counts_with_finite_differences():
    fun = Counting(quadratic_value)
    res = minimize(fun, np.ones(3), method=adamopt.adam, options={"maxiter": 4, "gtol": 0})
    assert res.nfev == fun.calls == 5 * (3 + 1)
    assert res.njev == 5      # one gradient estimated per evaluation, as SciPy counts


def test_jac_true_gives_the_same_trajectory_as_separate_fun_and_jac():
    a = minimize(quadratic, np.linspace(-1, 1, 6), jac=True, method=adamopt.adam,
                 options={"maxiter": 50, "lr": 0.05})
    b = minimize(quadratic_value, np.linspace(-1, 1, 6), jac=quadratic_grad,
                 method=adamopt.adam, options={"maxiter": 50, "lr": 0.05})
    np.testing.assert_array_equal(a.x, b.x)
    assert a.fun == b.fun


def test_finite_differences_approximate_the_gradient():
    # (x0 has no zero: Adam divides by |g|, so it magnifies the O(h) error of a
    # derivative that is exactly zero.)
    x0 = np.linspace(-1.0, 1.0, 4) + 0.1
    exact = run(x0=x0, maxiter=30, lr=0.05)
    approx = minimize(quadratic_value, x0, method=adamopt.adam,
                      options={"maxiter": 30, "lr": 0.05})
    np.testing.assert_allclose(approx.x, exact.x, atol=1e-6)


def test_finite_differences_use_the_same_batch_for_every_call():
    seen = []

    def fun(x, b):
        seen.append(b)
        return float(x @ x) * b

    minimize(fun, np.ones(3), method=adamopt.adam,
             options={"maxiter": 2, "batches": iter([(1.0,), (2.0,), (3.0,)])})
    assert seen == [1.0] * 4 + [2.0] * 4 + [3.0] * 4


TRAJECTORY_OPTIONS = [(adamopt.adamw, dict(weight_decay=0.1, amsgrad=True)),
                      (adamopt.sgd, dict(momentum=0.9, nesterov=True, weight_decay=0.1)),
                      (adamopt.adagrad, dict(lr_decay=0.01, weight_decay=0.1)),
                      (adamopt.rmsprop, dict(centered=True, momentum=0.5)),
                      (adamopt.adamax, dict(weight_decay=0.1)),
                      (adamopt.nadam, dict(weight_decay=0.1, decoupled_weight_decay=True))]


@pytest.mark.parametrize(("method", "options"), TRAJECTORY_OPTIONS,
                         ids=[m.__name__ for m, _ in TRAJECTORY_OPTIONS])
def test_trajectory_is_the_optimizer_class_step_by_step(method, options):
    x0 = np.linspace(-1.0, 1.0, 5)
    res = run(method=method, x0=x0, maxiter=40, lr=0.03, gtol=0, **options)
    x = x0.copy()
    opt = CLASS_OF[method](x, lr=0.03, **options)
    for _ in range(40):
        opt.step(quadratic(x)[1])
    np.testing.assert_array_equal(res.x, x)
    assert res.fun == quadratic(x)[0]


def test_legacy_callback_gets_a_copy_of_each_iterate():
    seen = []

    def callback(xk):
        seen.append(xk)
        xk[:] = 1e6          # must not disturb the run

    res = run(maxiter=5, lr=0.1)
    res_cb = minimize(quadratic, np.linspace(-1, 1, 5), jac=True, method=adamopt.adam,
                      callback=callback, options={"maxiter": 5, "lr": 0.1})
    np.testing.assert_array_equal(res.x, res_cb.x)
    assert len(seen) == 5
    assert len({id(a) for a in seen}) == 5


def test_intermediate_result_callback_gets_x_fun_jac_nit():
    seen = []

    def callback(intermediate_result):
        seen.append(intermediate_result)

    res = minimize(quadratic, np.ones(3), jac=True, method=adamopt.adam, callback=callback,
                   options={"maxiter": 4})
    assert [r.nit for r in seen] == [1, 2, 3, 4]
    last = seen[-1]
    np.testing.assert_array_equal(last.x, res.x)
    assert last.fun == res.fun == quadratic(last.x)[0]
    np.testing.assert_array_equal(last.jac, quadratic(last.x)[1])


@pytest.mark.parametrize("k", [1, 3])
@pytest.mark.parametrize("style", ["legacy", "new"])
def test_callback_stop_iteration_ends_the_run(k, style):
    count = [0]

    def stop():
        count[0] += 1
        if count[0] == k:
            raise StopIteration

    def legacy(xk):
        stop()

    def new(intermediate_result):
        stop()

    res = minimize(quadratic, np.ones(3), jac=True, method=adamopt.adam,
                   callback=legacy if style == "legacy" else new, options={"maxiter": 10})
    assert res.nit == k
    assert res.status == 99
    assert not res.success
    assert res.message == STOP_MESSAGE
    assert res.fun == quadratic(res.x)[0]


@pytest.mark.parametrize("k", [1, 4])
def test_callback_stop_iteration_equals_a_maxiter_run(k):
    count = [0]

    def callback(intermediate_result):
        count[0] += 1
        if count[0] == k:
            raise StopIteration

    stopped = minimize(quadratic, np.ones(3), jac=True, method=adamopt.adam,
                       callback=callback, options={"maxiter": 10, "lr": 0.1})
    limited = minimize(quadratic, np.ones(3), jac=True, method=adamopt.adam,
                       options={"maxiter": k, "lr": 0.1})
    np.testing.assert_array_equal(stopped.x, limited.x)
    assert (stopped.fun, stopped.nit, stopped.nfev) == (limited.fun, limited.nit,
                                                        limited.nfev)


def test_objective_that_samples_internally_needs_no_batches():
    rng = np.random.default_rng(1)

    def noisy(x):
        return noisy_quadratic(x, rng.standard_normal(x.size) * 0.1)

    res = run(fun=noisy, maxiter=3000, lr=lambda t: 0.05 / math.sqrt(t), gtol=0)
    np.testing.assert_allclose(res.x, 0.0, atol=0.1)


def test_objective_that_mutates_x_does_not_break_the_run():
    def mutating(x):
        out = quadratic(x)
        x[:] = np.nan
        return out

    a = run(fun=mutating, maxiter=20, lr=0.05)
    b = run(maxiter=20, lr=0.05)
    np.testing.assert_array_equal(a.x, b.x)


def test_args_are_passed_after_the_batch():
    seen = []

    def fun(x, b, scale, offset):
        seen.append((b, scale, offset))
        return quadratic(x)

    minimize(fun, np.ones(2), args=(2.0, 3.0), jac=True, method=adamopt.adam,
             options={"maxiter": 1, "batches": iter([(10,), (11,)])})
    assert seen == [(10, 2.0, 3.0), (11, 2.0, 3.0)]


def test_batch_items_that_are_not_tuples_are_one_argument():
    seen = []

    def fun(x, b):
        seen.append(b)
        return quadratic(x)

    run(fun=fun, maxiter=1, batches=[np.array([1.0, 2.0]), np.array([3.0, 4.0])])
    assert [b.tolist() for b in seen] == [[1.0, 2.0], [3.0, 4.0]]


def test_x0_is_not_modified():
    x0 = np.ones(4)
    run(x0=x0, maxiter=10, lr=0.1)
    np.testing.assert_array_equal(x0, np.ones(4))


def test_direct_call_matches_minimize():
    a = run(maxiter=10, lr=0.1)
    b = adamopt.adam(quadratic, np.linspace(-1.0, 1.0, 5), jac=True, maxiter=10, lr=0.1)
    np.testing.assert_array_equal(a.x, b.x)


def test_scipy_memoized_jac_is_bypassed_when_x_does_not_move():
    # Bounds pin x, so x never changes while the batch does: SciPy's wrapper,
    # which caches by x, would keep returning the first batch's values.
    def fun(x, b):
        return float(b), np.full_like(x, b)

    res = minimize(fun, np.zeros(2), jac=True, method=adamopt.adam,
                   bounds=[(0, 0), (0, 0)],
                   options={"maxiter": 3, "gtol": 0, "batches": iter([(1.0,), (2.0,),
                                                                       (3.0,), (4.0,)])})
    assert res.fun == 4.0
    np.testing.assert_array_equal(res.jac, [4.0, 4.0])


# -- stopping rules -------------------------------------------------------------------


def test_tol_sets_gtol():
    res = minimize(quadratic, np.ones(4), jac=True, method=adamopt.adam, tol=1e-3,
                   options={"lr": 0.05, "maxiter": 100000})
    assert res.status == 0
    assert res.success
    assert res.nit < 100000
    assert np.abs(quadratic(res.x)[1]).max() <= 1e-3    # the gradient at x (no batches)


def test_gtol_wins_over_tol():
    loose = minimize(quadratic, np.ones(4), jac=True, method=adamopt.adam, tol=1e-1,
                     options={"lr": 0.05, "maxiter": 100000, "gtol": 1e-4})
    tight = minimize(quadratic, np.ones(4), jac=True, method=adamopt.adam,
                     options={"lr": 0.05, "maxiter": 100000, "gtol": 1e-4})
    assert loose.nit == tight.nit


def test_gtol_zero_disables_the_test():
    res = run(maxiter=3000, lr=0.05, gtol=0)
    assert res.status == 1
    assert res.nit == 3000


def test_gtol_uses_the_projected_gradient_at_a_bound():
    # The minimum of the quadratic over x >= 0.5 is on the boundary, where
    # the gradient does not vanish but its projection does.
    res = minimize(quadratic, np.ones(3), jac=True, method=adamopt.adam,
                   bounds=[(0.5, None)] * 3,
                   options={"lr": 0.05, "maxiter": 20000, "gtol": 1e-6})
    assert res.status == 0
    np.testing.assert_array_equal(res.x, [0.5, 0.5, 0.5])


def test_plateau_test_stops_a_flat_noisy_objective():
    rng = np.random.default_rng(0)

    def flat(x):
        return 1.0 + 0.01 * rng.standard_normal(), np.zeros_like(x) + 1e-3

    res = run(fun=flat, maxiter=10000, patience=50, smoothing=0.9)
    assert res.status == 2
    assert res.success
    assert res.nit < 1000


def test_plateau_test_is_off_without_patience():
    res = run(fun=lambda x: (1.0, np.full_like(x, 1e-3)), maxiter=500)
    assert res.status == 1


def test_plateau_test_looks_for_increases_when_maximizing():
    def concave(x):
        f, g = quadratic(x)
        return -f, -g

    res = run(fun=concave, maximize=True, lr=0.05, maxiter=20000, patience=20, ftol=1e-3,
              gtol=0)
    assert res.status == 2
    assert res.fun > -1e-3


def test_finite_batches_end_the_run():
    res = run(maxiter=100, batches=[()] * 4)
    assert res.status == 3
    assert not res.success
    assert res.nit == 3


# -- convergence -------------------------------------------------------------------------


ROSENBROCK_LR = {adamopt.sgd: 1e-3, adamopt.adagrad: 0.5, adamopt.rmsprop: 1e-3}


@pytest.mark.parametrize("method", ALL_METHODS, ids=method_id)
def test_rosenbrock_converges(method):
    res = minimize(lambda x: (rosen(x), rosen_der(x)), np.array([-1.2, 1.0]), jac=True,
                   method=method, options={"lr": ROSENBROCK_LR.get(method, 1e-2),
                                           "maxiter": 20000, "weight_decay": 0.0,
                                           **SUITED[method]})
    np.testing.assert_allclose(res.x, [1.0, 1.0], atol=1e-2)


def logistic_problem(seed=0, n=2000, d=5):
    rng = np.random.default_rng(seed)
    X = np.hstack([rng.standard_normal((n, d)), np.ones((n, 1))])
    w_true = rng.standard_normal(d + 1)
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ w_true))).astype(float)
    return X, y


def logistic_loss(w, X, y, l2=1e-3):
    z = X @ w
    loss = np.mean(np.logaddexp(0, z) - y * z) + 0.5 * l2 * (w @ w)
    p = 0.5 * (1 + np.tanh(0.5 * z))
    return loss, X.T @ (p - y) / len(y) + l2 * w


def test_minibatch_logistic_regression_reaches_the_full_batch_optimum():
    X, y = logistic_problem()
    best = minimize(logistic_loss, np.zeros(X.shape[1]), args=(X, y), jac=True,
                    method="L-BFGS-B", options={"gtol": 1e-10})
    lr = lambda t: 0.05 / math.sqrt(1 + t / 200)    # noqa: E731 - a decaying schedule
    res = minimize(logistic_loss, np.zeros(X.shape[1]), jac=True, method=adamopt.adam,
                   options={"lr": lr, "maxiter": 6000, "gtol": 0,
                            "batches": adamopt.minibatches(X, y, batch_size=64, seed=0)})
    full = logistic_loss(res.x, X, y)[0]
    assert full <= best.fun * 1.01


# -- resuming ---------------------------------------------------------------------------


RESUME_OPTIONS = ([(m, {"amsgrad": a}) for m in METHODS for a in (False, True)]
                  + [(m, SUITED[m]) for m in ALL_METHODS if m not in METHODS])


@pytest.mark.parametrize(("method", "extra"), RESUME_OPTIONS,
                         ids=[f"{m.__name__}-{e}" for m, e in RESUME_OPTIONS])
def test_resume_from_state_is_bitwise_identical(method, extra):
    options = {"lr": 0.05, "patience": 1000, "gtol": 0, **extra}
    whole = run(method, fun=noisy_quadratic, maxiter=60,
                batches=noisy_quadratic_batches(), **options)
    stream = noisy_quadratic_batches()
    first = run(method, fun=noisy_quadratic, maxiter=25, batches=stream, **options)
    second = run(method, fun=noisy_quadratic, x0=first.x, maxiter=35, batches=stream,
                 state=first.state, **options)
    np.testing.assert_array_equal(second.x, whole.x)
    assert second.fun == whole.fun
    assert first.nfev + second.nfev == whole.nfev
    assert second.state["plateau"] == whole.state["plateau"]


def test_resume_takes_hyperparameters_from_the_state():
    whole = run(maxiter=20, lr=0.07, beta1=0.8, gtol=0)
    first = run(maxiter=8, lr=0.07, beta1=0.8, gtol=0)
    second = minimize(quadratic, first.x, jac=True, method=adamopt.adam,
                      options={"maxiter": 12, "state": first.state, "gtol": 0})
    np.testing.assert_array_equal(second.x, whole.x)


def test_resume_with_a_callable_lr_needs_it_again():
    lr = lambda t: 0.05                          # noqa: E731
    first = run(maxiter=3, lr=lr)
    with pytest.raises(ValueError, match="'lr' was a callable"):
        run(x0=first.x, maxiter=3, state=first.state)
    second = run(x0=first.x, maxiter=3, state=first.state, lr=lr)
    assert second.nit == 3


def test_resume_from_another_x0_keeps_the_moments_and_evaluates_afresh():
    first = run(maxiter=5, lr=0.05)
    fun = Counting(quadratic)
    second = run(fun=fun, x0=first.x + 0.5, maxiter=0, state=first.state)
    assert fun.calls == 1
    np.testing.assert_array_equal(fun.points[0], first.x + 0.5)
    assert second.state["optimizer"]["t"] == 5


def test_state_survives_pickle():
    import pickle

    first = run(maxiter=5, lr=0.05)
    state = pickle.loads(pickle.dumps(first.state))
    whole = run(maxiter=10, lr=0.05)
    second = run(x0=first.x, maxiter=5, lr=0.05, state=state)
    np.testing.assert_array_equal(second.x, whole.x)


# -- bounds ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ALL_METHODS, ids=method_id)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("as_object", [False, True])
def test_bounds_hold_at_every_iterate(method, dtype, as_object):
    low, high = np.array([0.3, -0.2, -np.inf]), np.array([np.inf, 0.1, 0.7])
    bounds = Bounds(low, high) if as_object else [(0.3, None), (-0.2, 0.1), (None, 0.7)]
    fun = Counting(lambda x: quadratic(x - 1.5))     # pulls every element to 1.5
    res = minimize(fun, np.array([-1.0, 1.0, 0.0], dtype), jac=True, method=method,
                   bounds=bounds, options={"lr": 0.1, "maxiter": 300})
    points = np.array(fun.points, dtype=np.float64)
    assert (points >= low).all()
    assert (points <= high).all()
    np.testing.assert_allclose(res.x, [1.5, 0.1, 0.7], atol=1e-2)


def test_x0_outside_the_bounds_is_clipped():
    fun = Counting(quadratic)
    minimize(fun, np.array([5.0, -5.0]), jac=True, method=adamopt.adam,
             bounds=[(-1, 1), (-1, 1)], options={"maxiter": 0})
    np.testing.assert_array_equal(fun.points[0], [1.0, -1.0])


def test_float32_bounds_are_rounded_inward():
    fun = Counting(lambda x: quadratic(x - 1.0))
    minimize(fun, np.zeros(1, np.float32), jac=True, method=adamopt.adam,
             bounds=[(None, 0.1)], options={"lr": 0.1, "maxiter": 50})
    assert max(float(p[0]) for p in fun.points) <= 0.1


# -- faults ----------------------------------------------------------------------------


def failing_at(k, value=np.nan, where="fun"):
    """quadratic, except that call number k returns ``value`` in fun or in grad."""
    count = [0]

    def fun(x):
        count[0] += 1
        f, g = quadratic(x)
        if count[0] == k:
            if where == "fun":
                f = value
            else:
                g = g.copy()
                g[1] = value
        return f, g

    return fun


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_objective_stops_with_the_last_finite_iterate(value):
    reference = run(maxiter=3, lr=0.1)
    res = run(fun=failing_at(5, value), maxiter=10, lr=0.1)
    assert res.status == 4
    assert not res.success
    assert res.nit == 4
    np.testing.assert_array_equal(res.x, reference.x)
    assert res.fun == reference.fun


BAD_GRADIENTS = ([(m, v) for m in ALL_METHODS for v in (np.nan, np.inf)]
                 + [(m, 1e200) for m in ALL_METHODS if CLASS_OF[m](np.zeros(1))._grad_limit()
                    < 1e200])     # the algorithms that square the gradient


@pytest.mark.parametrize(("method", "value"), BAD_GRADIENTS,
                         ids=[f"{m.__name__}-{v}" for m, v in BAD_GRADIENTS])
def test_bad_gradient_stops_with_the_last_finite_iterate(method, value):
    reference = run(method, maxiter=3, lr=0.1)
    res = run(method, fun=failing_at(5, value, "grad"), maxiter=10, lr=0.1)
    assert res.status == 5
    assert not res.success
    np.testing.assert_array_equal(res.x, reference.x)
    assert np.isfinite(res.x).all()


def test_float32_gradient_whose_square_overflows_stops_the_run():
    res = run(fun=failing_at(3, 1e20, "grad"), x0=np.ones(5, np.float32), maxiter=10)
    assert res.status == 5
    assert np.isfinite(res.x).all()


def test_bad_gradient_at_x0_returns_x0():
    res = run(fun=failing_at(1, np.nan, "grad"), maxiter=10)
    assert res.status == 5
    np.testing.assert_array_equal(res.x, np.linspace(-1.0, 1.0, 5))


def test_non_finite_objective_at_x0_is_reported():
    res = run(fun=failing_at(1, np.nan), maxiter=10)
    assert res.status == 4
    assert res.nit == 0
    assert math.isnan(res.fun)


def test_state_after_a_fault_restarts_from_the_last_finite_iterate():
    res = run(fun=failing_at(5), maxiter=10, lr=0.1)
    fun = Counting(quadratic)
    again = run(fun=fun, x0=res.x, maxiter=2, lr=0.1, state=res.state)
    np.testing.assert_array_equal(fun.points[0], res.x)
    assert again.status == 1


def interrupting_at(k):
    count = [0]

    def fun(x, noise):
        count[0] += 1
        if count[0] == k:
            raise KeyboardInterrupt
        return noisy_quadratic(x, noise)

    return fun


@pytest.mark.parametrize("method", ALL_METHODS, ids=method_id)
@pytest.mark.parametrize("k", [1, 2, 7])
def test_keyboard_interrupt_returns_a_resumable_result(method, k):
    run_ = lambda **o: run(method, **SUITED[method], **o)   # noqa: E731
    whole = run_(fun=noisy_quadratic, maxiter=20, lr=0.05, batches=noisy_quadratic_batches())
    stream = noisy_quadratic_batches()
    with pytest.warns(adamopt.InterruptedWarning):
        cut = run_(fun=interrupting_at(k), maxiter=20, lr=0.05, batches=stream)
    assert cut.status == 6
    assert not cut.success
    assert cut.nit == k - 1
    assert np.isfinite(cut.x).all()
    rest = run_(fun=noisy_quadratic, x0=cut.x, maxiter=20 - cut.nit, lr=0.05, batches=stream,
                state=cut.state)
    np.testing.assert_array_equal(rest.x, whole.x)
    assert rest.fun == whole.fun


def test_keyboard_interrupt_in_the_callback_keeps_the_evaluation():
    def callback(xk):
        raise KeyboardInterrupt

    with pytest.warns(adamopt.InterruptedWarning):
        res = minimize(quadratic, np.ones(3), jac=True, method=adamopt.adam,
                       callback=callback, options={"maxiter": 10})
    assert res.status == 6
    assert res.nit == 1
    assert res.fun == quadratic(res.x)[0]


def test_disp_prints_a_summary(capsys):
    with pytest.warns(OptimizeWarning, match="Maximum number of iterations"):   # as SciPy
        run(maxiter=3, disp=True)
    out = capsys.readouterr().out
    assert "Iterations: 3" in out
    assert "Function evaluations: 4" in out


def test_finite_differences_stay_inside_the_bounds():
    fun = Counting(lambda x: quadratic(x - 2.0)[0])
    minimize(fun, np.array([0.5, 0.0]), method=adamopt.adam,
             bounds=[(0.0, 1.0), (-1.0, 1.0)], options={"lr": 0.2, "maxiter": 30})
    points = np.array(fun.points)
    assert (points >= [0.0, -1.0]).all()
    assert (points <= [1.0, 1.0]).all()


# -- properties: any split of a run, any interrupt, resumes to the same bits --------------

split_options = st.fixed_dictionaries({
    "method": st.sampled_from([m.__name__ for m in ALL_METHODS]),
    "dtype": st.sampled_from([np.float32, np.float64]),
    "amsgrad": st.booleans(),
    "maximize": st.booleans(),
    "weight_decay": st.sampled_from([0.0, 0.1]),
    "bounded": st.booleans(),
    "patience": st.sampled_from([None, 5]),
    "lr": st.sampled_from([0.01, 0.2]),
})


def _split_problem(o):
    method = getattr(adamopt, o["method"])
    sign = -1.0 if o["maximize"] else 1.0

    def fun(x, noise):
        f, g = noisy_quadratic(x.astype(np.float64), noise)
        return sign * f, (sign * g).astype(x.dtype)

    options = supported(method, {k: o[k] for k in ("amsgrad", "maximize", "weight_decay",
                                                   "lr")})
    options.update(SUITED[method], patience=o["patience"])
    bounds = [(-0.5, 0.4)] * 5 if o["bounded"] else None
    x0 = np.linspace(-1.0, 1.0, 5).astype(o["dtype"])
    return method, fun, options, bounds, x0


def _go(method, fun, x0, bounds, options, **more):
    return minimize(fun, x0, jac=True, method=method, bounds=bounds,
                    options={**options, "gtol": 0, **more})


@given(o=split_options, total=st.integers(0, 30), data=st.data())
def test_any_split_of_a_run_resumes_bitwise(o, total, data):
    method, fun, options, bounds, x0 = _split_problem(o)
    first_part = data.draw(st.integers(0, total))
    whole = _go(method, fun, x0, bounds, options, maxiter=total,
                batches=noisy_quadratic_batches())
    stream = noisy_quadratic_batches()
    first = _go(method, fun, x0, bounds, options, maxiter=first_part, batches=stream)
    if first.status != 1:           # the plateau test ended it: so must it end the whole run
        assert whole.nit == first.nit
        return
    second = _go(method, fun, first.x, bounds, options, maxiter=total - first_part,
                 batches=stream, state=first.state)
    np.testing.assert_array_equal(second.x, whole.x)
    assert (second.fun, second.status) == (whole.fun, whole.status)
    assert first.nfev + second.nfev == whole.nfev


@pytest.mark.filterwarnings("ignore::adamopt.InterruptedWarning")
@given(o=split_options, cut=st.integers(1, 25), where=st.sampled_from(["fun", "callback"]))
def test_an_interrupt_anywhere_resumes_bitwise(o, cut, where):
    method, fun, options, bounds, x0 = _split_problem(o)
    total = 25
    whole = _go(method, fun, x0, bounds, options, maxiter=total,
                batches=noisy_quadratic_batches())
    count = [0]

    def interrupting(x, noise):
        count[0] += 1
        if where == "fun" and count[0] == cut:
            raise KeyboardInterrupt
        return fun(x, noise)

    def callback(xk):
        if where == "callback" and count[0] == cut:
            raise KeyboardInterrupt

    stream = noisy_quadratic_batches()
    cut_res = minimize(interrupting, x0, jac=True, method=method, bounds=bounds,
                       callback=callback,
                       options={**options, "gtol": 0, "maxiter": total, "batches": stream})
    if cut_res.status != 6:          # ended (plateau, maxiter) before the interrupt
        assert cut_res.nit == whole.nit
        return
    assert np.isfinite(cut_res.x).all()
    rest = _go(method, fun, cut_res.x, bounds, options, maxiter=total - cut_res.nit,
               batches=stream, state=cut_res.state)
    np.testing.assert_array_equal(rest.x, whole.x)
    assert rest.fun == whole.fun


def test_fault_with_a_reused_gradient_array_reports_no_stale_jac():
    buffer = np.empty(3)
    count = [0]

    def reusing(x):
        count[0] += 1
        f, g = quadratic(x)
        buffer[...] = g
        if count[0] == 4:
            buffer[0] = np.nan
        return f, buffer

    res = run(fun=reusing, x0=np.ones(3), maxiter=10)
    assert res.status == 5
    assert res.jac is None
    assert np.isfinite(res.x).all()


def test_fault_at_x0_says_so():
    res = run(fun=failing_at(1, np.nan, "grad"), maxiter=10)
    assert res.message.endswith("(This happened at x0.)")


# -- the gtol test of the methods without Adam's first moment ---------------------------


def test_gtol_of_sgd_without_momentum_tests_the_gradient_at_x():
    res = run(adamopt.sgd, lr=0.1, gtol=1e-6, maxiter=10_000)
    assert res.status == 0
    assert np.max(np.abs(res.jac)) <= 1e-6
    before = run(adamopt.sgd, lr=0.1, gtol=0, maxiter=res.nit - 1)
    assert np.max(np.abs(before.jac)) > 1e-6      # it fired at the first iterate it could


#: A stochastic run without batches: gtol tests the smoothed gradient.
STOCHASTIC = {"stochastic": True, "stationarity": False}


def test_gtol_of_a_stochastic_sgd_with_momentum_tests_the_rescaled_buffer():
    res = minimize(quadratic, np.linspace(-1.0, 1.0, 5), jac=True, method=adamopt.sgd,
                   options={"lr": 0.05, "momentum": 0.8, "dampening": 0.5, "gtol": 1e-5,
                            "maxiter": 10_000, **STOCHASTIC})
    assert res.status == 0
    buf = res.state["optimizer"]["momentum_buffer"]
    assert np.max(np.abs(buf * (1 - 0.8) / (1 - 0.5))) <= 1e-5
    before = run(adamopt.sgd, lr=0.05, momentum=0.8, dampening=0.5, gtol=0,
                 maxiter=res.nit - 1, **STOCHASTIC)
    buf = before.state["optimizer"]["momentum_buffer"]
    assert np.max(np.abs(buf * (1 - 0.8) / (1 - 0.5))) > 1e-5


@pytest.mark.parametrize("method", ALL_METHODS, ids=method_id)
def test_gtol_of_a_stochastic_run_fires_at_the_first_small_smoothed_gradient(method):
    # RMSprop's steps do not shrink with the gradient: it needs a decaying rate.
    lr = (lambda t: 0.05 / t) if method is adamopt.rmsprop else 0.05
    options = {"lr": lr, "gtol": 1e-4, "maxiter": 20_000, **SUITED[method], **STOCHASTIC}
    res = run(method, **options)
    assert res.status == 0

    def smoothed(result):
        opt = CLASS_OF[method](result.x.copy(), lr=lr, **SUITED[method])
        opt.load_state_dict(result.state["optimizer"])
        vector, scale, _ = opt._smoothed_gradient(result.jac)
        return scale * np.max(np.abs(vector))

    assert smoothed(res) <= 1e-4
    before = run(method, **{**options, "gtol": 0, "maxiter": res.nit - 1})
    assert smoothed(before) > 1e-4
