"""SWATS (Keskar & Socher 2017): the reference, the switch, each phase against
Adam and SGD, state round trips in both phases, and the SciPy method."""

import io
import math
import pickle

import numpy as np
import pytest
from helpers import expect, name
from scipy.optimize import minimize

import adamopt
from adamopt import _reference

RNG = np.random.default_rng(0)
X = RNG.standard_normal((200, 5))
Y = X @ np.arange(5.0) + 0.1 * RNG.standard_normal(200)
OPTIONS = {"lr": 0.05, "switch_tol": 1e-6}
SWITCH = 43     # where the reference switches on this problem with OPTIONS


def least_squares(w, Xb=X, yb=Y):
    r = Xb @ w - yb
    return float(r @ r) / (2 * len(yb)), Xb.T @ r / len(yb)


def gradient(w, k=None):
    return least_squares(w)[1]


def run(steps, x=None, **options):
    x = np.zeros(5) if x is None else x
    opt = adamopt.SWATS(x, **{**OPTIONS, **options})
    for _ in range(steps):
        opt.step(gradient(x))
    return opt


def test_reference_switches_where_these_tests_expect():
    _, switched_at, sgd_lr = _reference.swats_run(np.zeros(5), gradient, 100, **OPTIONS)
    assert switched_at == SWITCH
    assert sgd_lr > 0


@pytest.mark.parametrize("steps", [10, SWITCH, SWITCH + 1, 300])
def test_follows_the_reference(steps):
    opt = run(steps)
    x, switched_at, sgd_lr = _reference.swats_run(np.zeros(5), gradient, steps, **OPTIONS)
    np.testing.assert_allclose(opt.params, x, rtol=1e-12, atol=1e-13)
    assert (opt.switched_at or 0) == switched_at
    assert (opt.sgd_lr or 0.0) == pytest.approx(sgd_lr, rel=1e-10)


def test_with_weight_decay_follows_the_reference():
    opt = run(300, weight_decay=0.01, switch_tol=1e-5)
    x, switched_at, _ = _reference.swats_run(np.zeros(5), gradient, 300, weight_decay=0.01,
                                             **{**OPTIONS, "switch_tol": 1e-5})
    assert switched_at > 0
    assert opt.switched_at == switched_at
    np.testing.assert_allclose(opt.params, x, rtol=1e-12, atol=1e-13)


def test_switch_is_the_first_settled_step_after_the_first():
    # Recompute gamma_k from an Adam trajectory and find the first k > 1 whose
    # bias-corrected average is within switch_tol of it.
    x = np.zeros(5)
    adam = adamopt.Adam(x, lr=OPTIONS["lr"])
    average, first = 0.0, None
    for k in range(1, 100):
        g = gradient(x)
        before = x.copy()
        adam.step(g)
        p = x - before
        gamma = (p @ p) / -(p @ g)
        average = 0.999 * average + 0.001 * gamma
        if k > 1 and abs(average / (1 - 0.999**k) - gamma) < OPTIONS["switch_tol"]:
            first = k
            break
    assert run(100).switched_at == first == SWITCH


def test_adam_phase_is_adam_bitwise():
    a, b = np.zeros(5), np.zeros(5)
    swats = adamopt.SWATS(a, **OPTIONS)
    adam = adamopt.Adam(b, lr=OPTIONS["lr"])
    for _ in range(SWITCH):
        swats.step(gradient(a))
        adam.step(gradient(b))
        np.testing.assert_array_equal(a, b)
    assert swats.switched_at == SWITCH


def test_sgd_phase_is_sgd_with_momentum_beta1_and_rate_one_minus_beta1_lambda_bitwise():
    swats = run(SWITCH)
    a = swats.params
    b = a.copy()
    sgd = adamopt.SGD(b, lr=(1 - 0.9) * swats.sgd_lr, momentum=0.9)
    for _ in range(50):
        swats.step(gradient(a))
        sgd.step(gradient(b))
        np.testing.assert_array_equal(a, b)
    assert swats.t == SWITCH + 50


def test_no_switch_with_a_tiny_tolerance():
    opt = run(300, switch_tol=1e-15)
    assert opt.switched_at is None
    assert opt.sgd_lr is None


def test_a_schedule_keeps_its_shape_in_the_sgd_phase():
    sched = adamopt.StepDecay(SWITCH, gamma=0.5)     # halves at step SWITCH + 1
    opt = run(SWITCH, schedule=sched)
    assert opt.switched_at == SWITCH                 # the multiplier is 1 until then
    x = opt.params
    before, g = x.copy(), gradient(x)
    opt.step(g)                                      # the first SGD step: b = g
    rate = (1 - 0.9) * opt.sgd_lr * sched(SWITCH + 1) / sched(SWITCH)
    np.testing.assert_allclose(x, before - rate * g, rtol=1e-15, atol=1e-15)


@pytest.mark.parametrize("split", [10, SWITCH, SWITCH + 7])
def test_state_round_trip_continues_bitwise(split):
    whole = run(120)
    first = run(split)
    x = first.params.copy()
    resumed = adamopt.SWATS(x, **OPTIONS)
    resumed.load_state_dict(first.state_dict())
    for _ in range(120 - split):
        resumed.step(gradient(x))
    np.testing.assert_array_equal(x, whole.params)
    assert resumed.switched_at == whole.switched_at


def test_state_survives_numpy_savez():
    opt = run(SWITCH + 3)
    buffer = io.BytesIO()
    np.savez(buffer, **opt.state_dict())
    buffer.seek(0)
    loaded = dict(np.load(buffer))
    other = adamopt.SWATS(opt.params.copy(), **OPTIONS)
    other.load_state_dict(loaded)
    assert other.switched_at == SWITCH
    assert other.t == SWITCH + 3
    for key, value in opt.state_dict().items():
        np.testing.assert_array_equal(other.state_dict()[key], value)


def test_pickle_continues_bitwise_after_the_switch():
    opt = run(SWITCH + 5)
    copy = pickle.loads(pickle.dumps(opt))
    for _ in range(10):
        opt.step(gradient(opt.params))
        copy.step(gradient(copy.params))
    np.testing.assert_array_equal(copy.params, opt.params)


def test_state_dict_keys():
    assert set(run(3).state_dict()) == {
        "algorithm", "t", "m", "v", "momentum_buffer", "switched_at", "gamma_average",
        "sgd_lr", "lr", "beta1", "beta2", "eps", "weight_decay", "switch_tol", "maximize"}


@pytest.mark.parametrize(("value", "exc"), [(0.0, ValueError), (-1e-9, ValueError),
                                            (math.inf, ValueError), ("1e-9", TypeError)])
def test_bad_switch_tol_is_refused(value, exc):
    with pytest.raises(exc, match=expect(name("switch_tol"), "SWATS")):
        adamopt.SWATS(np.zeros(2), switch_tol=value)


def test_state_switched_after_its_own_step_count_is_refused():
    state = run(SWITCH + 2).state_dict()
    state["switched_at"] = SWITCH + 5
    with pytest.raises(ValueError, match="switched_at"):
        adamopt.SWATS(np.zeros(5)).load_state_dict(state)


def test_callable_weight_decay_is_refused():
    with pytest.raises(TypeError, match=expect(name("weight_decay"), "SWATS")):
        adamopt.SWATS(np.zeros(2), weight_decay=lambda t: 0.1)


def test_bad_gradient_after_the_switch_names_swats_and_changes_nothing():
    opt = run(SWITCH + 1)
    x = opt.params
    before, state = x.copy(), opt.state_dict()
    with pytest.raises(ValueError, match=expect(name("grad"), r"SWATS\.step")):
        opt.step(np.full(5, np.nan))
    np.testing.assert_array_equal(x, before)
    assert opt.t == state["t"]


# -- the SciPy method -----------------------------------------------------------------


def batches():
    return adamopt.minibatches(X, Y, batch_size=20, seed=1)


def test_method_reports_the_switch_and_matches_the_class_bitwise():
    res = minimize(least_squares, np.zeros(5), jac=True, method=adamopt.swats,
                   options={**OPTIONS, "switch_tol": 1e-4, "maxiter": 400, "gtol": 0,
                            "batches": batches()})
    x = np.zeros(5)
    opt = adamopt.SWATS(x, **{**OPTIONS, "switch_tol": 1e-4})
    stream = batches()
    for _ in range(400):
        opt.step(least_squares(x, *next(stream))[1])
    assert res.switched_at is not None
    assert res.switched_at == opt.switched_at
    np.testing.assert_array_equal(res.x, x)


def test_method_reports_none_without_a_switch():
    res = minimize(least_squares, np.zeros(5), jac=True, method=adamopt.swats,
                   options={"switch_tol": 1e-15, "maxiter": 20})
    assert res.switched_at is None


def test_method_resumes_across_the_switch_bitwise():
    options = {**OPTIONS, "gtol": 0}
    whole = minimize(least_squares, np.zeros(5), jac=True, method=adamopt.swats,
                     options={**options, "maxiter": 100})
    first = minimize(least_squares, np.zeros(5), jac=True, method=adamopt.swats,
                     options={**options, "maxiter": 30})
    second = minimize(least_squares, first.x, jac=True, method=adamopt.swats,
                      options={**options, "maxiter": 70, "state": first.state})
    assert first.switched_at is None
    assert second.switched_at == whole.switched_at == SWITCH
    np.testing.assert_array_equal(second.x, whole.x)


def test_method_gtol_uses_the_sgd_phase_average_after_the_switch():
    res = minimize(least_squares, np.zeros(5), jac=True, method=adamopt.swats,
                   options={**OPTIONS, "maxiter": 5000, "gtol": 1e-8})
    assert res.status == 0
    assert res.switched_at == SWITCH
    np.testing.assert_allclose(res.x, np.linalg.lstsq(X, Y, rcond=None)[0], atol=1e-6)


# -- documentation --------------------------------------------------------------------


@pytest.mark.parametrize("doc", [adamopt.SWATS.__doc__, adamopt.swats.__doc__],
                         ids=["class", "method"])
@pytest.mark.parametrize("section", ["Parameters", "Notes", "References", ".. math::",
                                     "arXiv:1712.07628", "switch_tol", "switched_at"])
def test_docstring_has_section(doc, section):
    assert section in doc


def test_method_docstring_documents_every_option():
    from adamopt import _minimize
    options = [*_minimize._hyperparameter_defaults(adamopt.SWATS), *_minimize._RUN_DEFAULTS,
               "tol"]
    section = adamopt.swats.__doc__.split("Options\n")[1].split("Returns\n")[0]
    assert [o for o in options if f"    {o}" not in section and f", {o}" not in section] == []


def test_maximizing_the_negated_objective_is_the_same_run_bitwise():
    a, b = np.zeros(5), np.zeros(5)
    lo = adamopt.SWATS(a, **OPTIONS)
    hi = adamopt.SWATS(b, maximize=True, **OPTIONS)
    for _ in range(SWITCH + 20):
        lo.step(gradient(a))
        hi.step(-gradient(b))
    np.testing.assert_array_equal(a, b)
    assert hi.switched_at == lo.switched_at == SWITCH


def test_float32_parameters_follow_the_float64_run_closely():
    x = np.zeros(5, np.float32)
    opt = adamopt.SWATS(x, **{**OPTIONS, "switch_tol": 1e-4})
    for _ in range(200):
        opt.step(gradient(x.astype(np.float64)))
    reference, switched_at, _ = _reference.swats_run(np.zeros(5), gradient, 200,
                                                     **{**OPTIONS, "switch_tol": 1e-4})
    assert opt.switched_at == switched_at > 0
    np.testing.assert_allclose(x, reference, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("n", [1, 15, 16, 37, 20_000])
def test_the_switch_tests_dot_product_has_a_fixed_order(n):
    """SWATS's dot products (`_kernels._dot`) add in a fixed order, not
    BLAS's CPU-dependent one: equal, bit for bit, to the same order in NumPy."""
    from adamopt._kernels import _dot
    rng = np.random.default_rng(n)
    a, b = rng.standard_normal(n), rng.standard_normal(n)
    products = a * b
    whole = n // 16 * 16
    chains = np.zeros(16)
    for row in products[:whole].reshape(-1, 16):
        chains = chains + row
    for value in products[whole:]:
        chains[0] = chains[0] + value
    width = 8
    while width >= 1:
        chains[:width] = chains[:width] + chains[width:2 * width]
        width //= 2
    assert _dot(a, b) == chains[0]
