"""Schedule-free AdamW and SGD: the three sequences (y in the parameters, x
recovered as ``opt.averaged``), the oracle under random states (hypothesis),
parity with the reference package ``schedulefree`` (skipped without it and
PyTorch), the SciPy method's result and what the class refuses.  What every
declared algorithm shares (oracle per combination, state dicts, pickles,
checkpoints, threads, schedules, bad options) is tested by
tests/test_registry.py; the scalar state by tests/test_schedulefree_state.py."""

import contextlib
import io

import numpy as np
import pytest
from helpers import expect, name
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import adamopt
from adamopt import _reference, _registry

DTYPES = [np.float32, np.float64]
CLASSES = {"schedulefree_adamw": adamopt.ScheduleFreeAdamW,
           "schedulefree_sgd": adamopt.ScheduleFreeSGD}
BETA = {"schedulefree_adamw": "beta1", "schedulefree_sgd": "momentum"}
NAMES = list(CLASSES)


def _grads(rng, n, dtype, steps):
    return [(rng.standard_normal(n) * (1 + t % 5)).astype(dtype) for t in range(steps)]


# -- the sequences ----------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", NAMES)
def test_the_declarations_are_tuning_free_and_average_themselves(algorithm):
    a = _registry.get(algorithm)
    assert a.tuning_free
    assert a.averaged is not None


@pytest.mark.parametrize("algorithm", NAMES)
def test_before_a_step_the_averaged_point_is_the_parameters(algorithm):
    y = np.array([1.0, -2.0, 3.0])
    opt = CLASSES[algorithm](y)
    np.testing.assert_array_equal(opt.averaged, y)


@pytest.mark.parametrize("algorithm", NAMES)
def test_the_averaged_point_is_read_only(algorithm):
    opt = CLASSES[algorithm](np.ones(3), lr=0.1)
    opt.step(np.ones(3))
    with pytest.raises(ValueError, match="read-only"):
        opt.averaged[0] = 0.0


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("algorithm", NAMES)
def test_the_averaged_point_follows_the_average_of_z(algorithm, dtype):
    """x_t = (1 - c_t) x_{t-1} + c_t z_t, kept explicitly here, against the x
    recovered from y and z."""
    rng = np.random.default_rng(0)
    y = rng.standard_normal(50).astype(dtype)
    opt = CLASSES[algorithm](y, lr=0.05, warmup_steps=4, r=0.5)
    x = y.astype(np.float64)
    for g in _grads(rng, y.size, dtype, 30):
        weight_sum = opt.state_dict()["weight_sum"]
        opt.step(g)
        state = opt.state_dict()
        c = 1.0 - weight_sum / state["weight_sum"]
        x = (1.0 - c) * x + c * state["z"].astype(np.float64)
    tol = dict(rtol=2e-4, atol=2e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(opt.averaged, x, **tol)


@pytest.mark.parametrize("algorithm", NAMES)
def test_a_structure_averages_each_array(algorithm):
    W, b = np.ones((2, 3)), np.ones(4)
    opt = CLASSES[algorithm]({"W": W, "b": b}, lr=0.1)
    lone = CLASSES[algorithm](np.ones(4), lr=0.1)
    for _ in range(3):
        opt.step({"W": np.ones((2, 3)), "b": np.full(4, 2.0)})
        lone.step(np.full(4, 2.0))
    assert set(opt.averaged) == {"W", "b"}
    np.testing.assert_array_equal(opt.averaged["b"], lone.averaged)


@pytest.mark.parametrize("algorithm", NAMES)
def test_the_average_option_is_refused(algorithm):
    with pytest.raises(ValueError, match=expect(name("average"), "own averaged point")):
        CLASSES[algorithm](np.zeros(2), average="ema")


@pytest.mark.parametrize("algorithm", NAMES)
def test_the_average_option_set_later_changes_nothing(algorithm):
    opt = CLASSES[algorithm](np.zeros(2))
    with pytest.raises(ValueError, match=name("average")):
        opt.average = "polyak"
    assert opt.average is None


@pytest.mark.parametrize("algorithm", NAMES)
def test_a_beta_of_zero_is_refused_with_the_reason(algorithm):
    with pytest.raises(ValueError, match=expect(name(BETA[algorithm]), r"\(0, 1\)", "recovered")):
        CLASSES[algorithm](np.zeros(2), **{BETA[algorithm]: 0.0})


@pytest.mark.parametrize("algorithm", NAMES)
def test_a_step_too_large_for_the_dtype_is_refused_and_changes_nothing(algorithm):
    y = np.full(3, 3e38, np.float32)
    opt = CLASSES[algorithm](y, lr=3e38)
    before = opt.state_dict()
    with pytest.raises(ValueError, match="unchanged"):
        opt.step(np.ones(3, np.float32))
    assert np.all(y == np.float32(3e38))
    after = opt.state_dict()
    assert (after["t"], after["lr_max"], after["weight_sum"]) == (0, before["lr_max"], 0.0)


@pytest.mark.parametrize("algorithm", NAMES)
def test_weights_follow_the_warmup_and_the_polynomial(algorithm):
    opt = CLASSES[algorithm](np.zeros(2), lr=0.1, warmup_steps=4, r=1.0, weight_lr_power=2.0)
    total = 0.0
    for t in range(1, 7):
        opt.step(np.ones(2))
        lr_max = 0.1 * min(1.0, t / 4)
        total += t * lr_max**2
        state = opt.state_dict()
        assert state["lr_max"] == pytest.approx(lr_max, rel=1e-15)
        assert state["weight_sum"] == pytest.approx(total, rel=1e-14)


# -- the oracle under random states ---------------------------------------------------------


@st.composite
def _cases(draw, algorithm):
    dtype = draw(st.sampled_from(DTYPES))
    n = draw(st.integers(1, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    t = draw(st.integers(1, 60))
    options = dict(lr=draw(st.floats(1e-4, 1.0)), weight_decay=draw(st.sampled_from([0.0, 0.1])),
                   warmup_steps=draw(st.integers(0, 80)), r=draw(st.sampled_from([0.0, 0.5, 2.0])),
                   weight_lr_power=draw(st.sampled_from([0.0, 1.0, 2.0])),
                   maximize=draw(st.booleans()))
    options[BETA[algorithm]] = draw(st.sampled_from([0.05, 0.5, 0.9, 0.99]))
    if algorithm == "schedulefree_adamw":
        options.update(beta2=draw(st.sampled_from([0.0, 0.3, 0.9, 0.999])),
                       eps=draw(st.sampled_from([1e-8, 1e-3])))
    return dtype, n, seed, t, options


def _random_state(algorithm, rng, y, t, options):
    n, dtype = y.size, y.dtype
    # (before the first step z is y and v zero; the test draws y first)
    state = {"z": rng.standard_normal(n).astype(dtype) if t > 1 else y.copy()}
    if algorithm == "schedulefree_adamw":
        state["v"] = (rng.standard_normal(n) ** 2).astype(dtype) * (t > 1)
    lr_max = options["lr"] * rng.uniform(0.0, 1.0) if t > 1 else 0.0
    state["lr_max"] = lr_max
    state["weight_sum"] = float(rng.uniform(0.5, 2.0) * (t - 1)) if t > 1 else 0.0
    return state


@pytest.mark.parametrize("algorithm", NAMES)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_one_step_from_a_random_state_matches_the_oracle(algorithm, data):
    dtype, n, seed, t, options = data.draw(_cases(algorithm))
    rng = np.random.default_rng(seed)
    y = rng.standard_normal(n).astype(dtype)
    g = (rng.standard_normal(n) * 3).astype(dtype)
    state = _random_state(algorithm, rng, y, t, options)
    opt = CLASSES[algorithm](y.copy(), **options)
    opt.load_state_dict({**opt.state_dict(), **state, "t": t - 1})
    want_y, want = getattr(_reference, algorithm)(y.copy(), g, state, t, **options)
    opt.step(g)
    got = opt.state_dict()
    scale = max(1.0, float(np.abs(y).max()), float(np.abs(state["z"]).max()))
    step = 1.0 + options["lr"] * (1.0 / np.sqrt(1.0 - options.get("beta2", 0.0))
                                  + 3 * float(np.abs(g).max()))
    if dtype == np.float32:
        tol = dict(rtol=2e-5, atol=4e-6 * scale * step / options[BETA[algorithm]])
    else:
        tol = dict(rtol=1e-12, atol=1e-13 * scale * step / options[BETA[algorithm]])
    np.testing.assert_allclose(opt.params, want_y, **tol, err_msg="y")
    np.testing.assert_allclose(got["z"], want["z"], **tol, err_msg="z")
    if "v" in want:
        np.testing.assert_allclose(got["v"], want["v"], rtol=tol["rtol"], err_msg="v")
    assert got["lr_max"] == want["lr_max"]
    assert got["weight_sum"] == pytest.approx(want["weight_sum"], rel=1e-15, abs=0)


# -- the SciPy method ---------------------------------------------------------------------------


def _quadratic(x):
    return float((x - 1.0) @ (x - 1.0)), 2.0 * (x - 1.0)


@pytest.mark.parametrize("algorithm", NAMES)
def test_the_method_returns_x_and_keeps_y_as_the_last_iterate(algorithm):
    from scipy.optimize import minimize
    method = getattr(adamopt, algorithm)
    res = minimize(_quadratic, np.zeros(4), jac=True, method=method,
                   options={"lr": 0.05, "maxiter": 50, "gtol": 0.0})
    opt = CLASSES[algorithm](np.zeros(4), lr=0.05)
    for _ in range(50):
        opt.step(_quadratic(opt.params)[1])
    np.testing.assert_array_equal(res.x_last, opt.params)
    np.testing.assert_array_equal(res.x, opt.averaged)
    assert res.fun == _quadratic(res.x)[0]
    assert res.fun_last == _quadratic(res.x_last)[0]


@pytest.mark.parametrize("algorithm", NAMES)
def test_the_method_resumes_from_its_last_iterate_bitwise(algorithm):
    from scipy.optimize import minimize
    method = getattr(adamopt, algorithm)
    options = {"lr": 0.05, "gtol": 0.0}
    first = minimize(_quadratic, np.zeros(4), jac=True, method=method,
                     options=dict(options, maxiter=20))
    rest = minimize(_quadratic, first.x_last, jac=True, method=method,
                    options=dict(options, maxiter=20, state=first.state))
    whole = minimize(_quadratic, np.zeros(4), jac=True, method=method,
                     options=dict(options, maxiter=40))
    np.testing.assert_array_equal(rest.x, whole.x)


# -- parity with the reference package ---------------------------------------------------------

#: Each option away from its default, then all together.
PARITY = {
    "schedulefree_adamw": [dict(), dict(warmup_steps=25), dict(r=1.0), dict(weight_lr_power=0.5),
                           dict(weight_decay=0.1), dict(beta1=0.7, beta2=0.95), dict(eps=1e-4),
                           dict(warmup_steps=10, r=0.5, weight_lr_power=1.0, weight_decay=0.05,
                                beta1=0.8, beta2=0.99)],
    "schedulefree_sgd": [dict(), dict(warmup_steps=25), dict(r=1.0), dict(weight_lr_power=0.5),
                         dict(weight_decay=0.1), dict(momentum=0.6),
                         dict(warmup_steps=10, r=0.5, weight_lr_power=1.0, weight_decay=0.05,
                              momentum=0.8)],
}
PARITY_CASES = [pytest.param(a, o, id=f"{a}-{i}") for a in NAMES
                for i, o in enumerate(PARITY[a])]


def _reference_optimizer(algorithm, p, options):
    schedulefree = pytest.importorskip("schedulefree")
    options = dict(options)
    if algorithm == "schedulefree_adamw":
        options["betas"] = (options.pop("beta1", 0.9), options.pop("beta2", 0.999))
        opt = schedulefree.AdamWScheduleFreeReference([p], **options)
    else:
        opt = schedulefree.SGDScheduleFreeReference([p], **options)
    with contextlib.redirect_stdout(io.StringIO()):   # (it prints the mode switch)
        opt.train()
    return opt


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("algorithm", "options"), PARITY_CASES)
def test_300_steps_match_the_reference_package(algorithm, options, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    n = 60
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    b = rng.standard_normal(n)
    y = rng.standard_normal(n).astype(dtype)
    tdtype = torch.float64 if dtype == np.float64 else torch.float32
    p = torch.nn.Parameter(torch.tensor(y.copy(), dtype=tdtype))
    options = {"lr": 0.02, **options}
    reference = _reference_optimizer(algorithm, p, options)
    opt = CLASSES[algorithm](y, **options)
    for _ in range(300):    # a noisy least-squares gradient, at our y
        g = (A.T @ (A @ y.astype(np.float64) - b) + 0.1 * rng.standard_normal(n)).astype(dtype)
        p.grad = torch.tensor(g.copy(), dtype=tdtype)
        reference.step()
        opt.step(g)
    want_y = p.detach().numpy()
    want_x = reference.state[p]["x"].numpy()
    scale = float(np.abs(want_y).max())
    # float32: both round each operation in float32 (in other orders), 300 times
    tol = (dict(rtol=1e-10, atol=1e-12 * scale) if dtype == np.float64
           else dict(rtol=2e-4, atol=2e-5 * scale))
    np.testing.assert_allclose(y, want_y, **tol, err_msg="y")
    np.testing.assert_allclose(opt.averaged, want_x, **tol, err_msg="x")
    assert opt.state_dict()["weight_sum"] == pytest.approx(
        reference.param_groups[0]["weight_sum"], rel=1e-13)
