"""Schedulable ``beta1`` and ``momentum`` (PyTorch's one-cycle momentum cycling):
every algorithm that has the hyperparameter takes a callable ``t -> value``, checked
at every step, and a run with ``OneCycle`` and its momentum matches
``torch.optim.lr_scheduler.OneCycleLR`` (with ``cycle_momentum``) step by step."""

import numpy as np
import pytest
from helpers import expect, name
from scipy.optimize import minimize

import adamopt
from adamopt import OneCycle
from adamopt._registry import CALLABLE, algorithms


def _momentum_name(a):
    names = {h.name for h in a.hyperparameters}
    return "beta1" if "beta1" in names else "momentum" if "momentum" in names else None


#: The declared algorithms with a momentum to cycle, and a PyTorch counterpart.
CYCLED = [a for a in algorithms() if _momentum_name(a) and a.torch is not None]

#: Options PyTorch's counterparts need for a momentum to matter.
EXTRA = {"sgd": dict(momentum=0.9), "rmsprop": dict(momentum=0.9)}

STEPS = 300


def problem(n=20, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((n, n))
    return q @ q.T / n + np.eye(n), rng.standard_normal(n), rng.standard_normal(n)


def torch_trajectory(a, cycle_options, steps, **options):
    torch = pytest.importorskip("torch")
    A, b, x0 = problem()
    At, bt = torch.tensor(A), torch.tensor(b)
    param = torch.tensor(x0.copy(), requires_grad=True)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)   # (NAdam's mu_product, RAdam's step: float64)
    try:
        opt = getattr(torch.optim, a.torch.name)([param], **a.torch.kwargs(options))
        scheduler = torch.optim.lr_scheduler.OneCycleLR(opt, total_steps=steps,
                                                        **cycle_options)
        out = []
        for k in range(steps):
            if k:
                scheduler.step()
            param.grad = (At @ param - bt).detach()
            opt.step()
            out.append(param.detach().numpy().copy())
    finally:
        torch.set_default_dtype(previous)
    return np.array(out)


def our_trajectory(a, cycle_options, steps, **options):
    A, b, x0 = problem()
    x = x0.copy()
    cycle = OneCycle(steps, **cycle_options)
    cls = getattr(adamopt, a.class_name)
    opt = cls(x, lr=cycle, **{_momentum_name(a): cycle.momentum}, **options)
    out = []
    for _ in range(steps):
        opt.step(A @ x - b)
        out.append(x.copy())
    return np.array(out)


@pytest.mark.parametrize("cycle_options", [
    dict(max_lr=0.05), dict(max_lr=0.05, three_phase=True, anneal_strategy="linear")],
    ids=["cos", "three-phase-linear"])
@pytest.mark.parametrize("a", CYCLED, ids=lambda a: a.name)
def test_one_cycle_with_momentum_matches_pytorch_one_cycle_lr(a, cycle_options):
    extra = EXTRA.get(a.name, {})
    ours = our_trajectory(a, cycle_options, STEPS, **{k: v for k, v in extra.items()
                                                      if k != "momentum"})
    theirs = torch_trajectory(a, cycle_options, STEPS, **extra)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def test_sgd_nesterov_cycles_its_momentum_as_pytorch():
    a = adamopt._registry.get("sgd")
    ours = our_trajectory(a, dict(max_lr=0.05), STEPS, nesterov=True)
    theirs = torch_trajectory(a, dict(max_lr=0.05), STEPS, momentum=0.9, nesterov=True)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def test_bias_correction_uses_the_current_beta1():
    # Step t divides m_t by 1 - beta1_t**t, beta1_t the value of this step (PyTorch).
    x, g = np.array([1.0]), np.array([0.5])
    betas = {1: 0.5, 2: 0.8}
    opt = adamopt.Adam(x, lr=0.1, beta1=lambda t: betas[t], beta2=0.9, eps=1e-12)
    opt.step(g)
    opt.step(g)
    m = 0.8 * (0.5 * 0.5) + 0.2 * 0.5
    v = 0.9 * 0.1 * 0.25 + 0.1 * 0.25
    expected = 0.9 - 0.1 * (m / (1 - 0.8**2)) / np.sqrt(v / (1 - 0.9**2))
    np.testing.assert_allclose(x, [expected], rtol=1e-10)   # (eps: 2e-12 of the step)


def test_every_schedulable_hyperparameter_is_kept_by_the_runs():
    declared = {h.name for a in algorithms() for h in a.hyperparameters if h.schedulable}
    assert declared <= set(CALLABLE)


# -- the attribute ------------------------------------------------------------------------


def test_reading_gives_the_schedule():
    cycle = OneCycle(100)
    opt = adamopt.Adam(np.zeros(3), beta1=cycle.momentum)
    assert opt.beta1 == cycle.momentum


def test_setting_a_number_replaces_the_schedule():
    opt = adamopt.SGD(np.zeros(3), momentum=OneCycle(100).momentum)
    opt.momentum = 0.5
    assert opt.momentum == 0.5


def test_state_dict_leaves_a_scheduled_beta1_out():
    opt = adamopt.Adam(np.zeros(3), beta1=OneCycle(100).momentum)
    opt.step(np.ones(3))
    assert "beta1" not in opt.state_dict()


def test_state_resumes_bitwise():
    A, b, x0 = problem()
    cycle = OneCycle(200, max_lr=0.05)
    x = x0.copy()
    opt = adamopt.NAdam(x, lr=cycle, beta1=cycle.momentum)
    for _ in range(200):
        opt.step(A @ x - b)
    y = x0.copy()
    first = adamopt.NAdam(y, lr=cycle, beta1=cycle.momentum)
    for _ in range(80):
        first.step(A @ y - b)
    state = first.state_dict()
    z = y.copy()
    second = adamopt.NAdam(z, lr=cycle, beta1=cycle.momentum)
    second.load_state_dict(state)
    for _ in range(120):
        second.step(A @ z - b)
    np.testing.assert_array_equal(z, x)


def test_a_group_cycles_its_own_momentum():
    A, b, x0 = problem()
    cycle = OneCycle(100, max_lr=0.05)
    x = x0.copy()
    alone = adamopt.Adam(x[:10], lr=0.01, beta1=cycle.momentum)
    y = x0.copy()
    grouped = adamopt.Adam([{"params": y[:10], "beta1": cycle.momentum},
                            {"params": y[10:]}], lr=0.01)
    for _ in range(100):
        g = A @ y - b
        gx = A @ np.concatenate([x[:10], y[10:]]) - b
        grouped.step([g[:10], g[10:]])
        alone.step(gx[:10])
    np.testing.assert_array_equal(y[:10], x[:10])


# -- every value is checked ---------------------------------------------------------------


@pytest.mark.parametrize("value", [1.0, -0.1, float("nan")])
def test_a_bad_scheduled_value_is_refused_naming_it(value):
    opt = adamopt.Adam(np.zeros(2), beta1=lambda t: value)
    with pytest.raises(ValueError, match=expect(name("beta1"), "t=1")):
        opt.step(np.ones(2))


def test_a_refused_scheduled_value_changes_nothing():
    x = np.zeros(2)
    opt = adamopt.RMSprop(x, momentum=lambda t: 0.5 if t < 3 else 2.0)
    opt.step(np.ones(2))
    opt.step(np.ones(2))
    before = opt.state_dict(), x.copy()
    with pytest.raises(ValueError, match=expect(name("momentum"), "t=3")):
        opt.step(np.ones(2))
    assert opt.t == 2
    np.testing.assert_array_equal(x, before[1])


def test_a_scheduled_value_of_the_wrong_type_is_refused():
    opt = adamopt.SGD(np.zeros(2), momentum=lambda t: "0.9")
    with pytest.raises(TypeError, match=expect(name("momentum"), "t=1")):
        opt.step(np.ones(2))


def test_nesterov_refuses_a_scheduled_momentum_of_zero():
    opt = adamopt.SGD(np.zeros(2), momentum=lambda t: 0.0, nesterov=True)
    with pytest.raises(ValueError, match=expect(name("nesterov"), "t=1")):
        opt.step(np.ones(2))


# -- the SciPy methods ---------------------------------------------------------------------


def quadratic(x):
    A, b, _ = problem()
    return 0.5 * x @ A @ x - b @ x, A @ x - b


def test_method_takes_a_scheduled_beta1():
    cycle = OneCycle(300, max_lr=0.05)
    res = minimize(quadratic, problem()[2], jac=True, method=adamopt.adam,
                   options={"lr": cycle, "beta1": cycle.momentum, "maxiter": 300, "gtol": 0})
    x = problem()[2].copy()
    opt = adamopt.Adam(x, lr=cycle, beta1=cycle.momentum)
    for _ in range(300):
        opt.step(quadratic(x)[1])
    np.testing.assert_array_equal(res.x, x)


def test_method_state_keeps_the_scheduled_momentum():
    cycle = OneCycle(200, max_lr=0.05)
    options = {"lr": cycle, "momentum": cycle.momentum, "gtol": 0}
    x0 = problem()[2]
    whole = minimize(quadratic, x0, jac=True, method=adamopt.sgd,
                     options={**options, "maxiter": 200})
    half = minimize(quadratic, x0, jac=True, method=adamopt.sgd,
                    options={**options, "maxiter": 90})
    rest = minimize(quadratic, half.x, jac=True, method=adamopt.sgd,
                    options={"lr": cycle, "gtol": 0, "maxiter": 110, "state": half.state})
    np.testing.assert_array_equal(rest.x, whole.x)


def test_method_refuses_a_bad_beta1_number():
    with pytest.raises(ValueError, match=expect(name("beta1"))):
        minimize(quadratic, problem()[2], jac=True, method=adamopt.adam,
                 options={"beta1": 1.5})


def test_swats_refuses_a_scheduled_beta1():
    # (its beta1 is also its SGD phase's momentum: a number only)
    with pytest.raises(TypeError, match=expect(name("beta1"), "SWATS")):
        adamopt.SWATS(np.zeros(2), beta1=OneCycle(10).momentum)
