"""The schedules ported from ``torch.optim.lr_scheduler`` (adamopt._schedules_decay):
multi-step, exponential and polynomial decay and the one-cycle policy with its
momentum cycle, against PyTorch step by step, their value semantics and
their validation."""

import json
import pickle

import numpy as np
import pytest
from helpers import expect, name

import adamopt
from adamopt import (
    ExponentialDecay,
    MultiStepDecay,
    OneCycle,
    OneCycleMomentum,
    PolynomialDecay,
    Schedule,
)
from adamopt._schedules import storable


def torch_run(make, steps, optimizer="SGD", **options):
    """What PyTorch's scheduler sets at steps 1..steps: the lr, and the
    momentum (``betas[0]`` for the Adam family) when the optimizer has one."""
    torch = pytest.importorskip("torch")
    param = torch.zeros(1, requires_grad=True)
    opt = getattr(torch.optim, optimizer)([param], lr=1.0, **options)
    scheduler = make(torch.optim.lr_scheduler, opt)
    lrs, momenta = [], []
    for k in range(steps):
        if k:
            scheduler.step()
        group = opt.param_groups[0]
        lrs.append(group["lr"])
        momenta.append(group["betas"][0] if "betas" in group else group.get("momentum"))
        opt.step()
    return lrs, momenta


def values(schedule, steps):
    return [schedule(t) for t in range(1, steps + 1)]


CASES = [
    pytest.param(MultiStepDecay([30, 80, 81, 200], gamma=0.3),
                 lambda s, o: s.MultiStepLR(o, milestones=[30, 80, 81, 200], gamma=0.3),
                 id="multi-step"),
    pytest.param(ExponentialDecay(0.99),
                 lambda s, o: s.ExponentialLR(o, gamma=0.99), id="exponential"),
    pytest.param(PolynomialDecay(250, power=0.9),
                 lambda s, o: s.PolynomialLR(o, total_iters=250, power=0.9),
                 id="polynomial"),
    pytest.param(PolynomialDecay(),
                 lambda s, o: s.PolynomialLR(o), id="polynomial-defaults"),
    pytest.param(PolynomialDecay(100, power=2.0),
                 lambda s, o: s.PolynomialLR(o, total_iters=100, power=2.0),
                 id="polynomial-squared"),
]


@pytest.mark.parametrize(("ours", "make"), CASES)
def test_decay_matches_pytorch_step_by_step(ours, make):
    # PyTorch multiplies the previous rate each step, a closed form here: equal
    # to a few units in the last place over 300 steps.
    np.testing.assert_allclose(values(ours, 300), torch_run(make, 300)[0],
                               rtol=1e-12, atol=1e-300)


ONE_CYCLE = [
    dict(),
    dict(anneal_strategy="linear"),
    dict(three_phase=True),
    dict(three_phase=True, anneal_strategy="linear"),
    dict(pct_start=0.1, div_factor=10.0, final_div_factor=100.0),
    dict(pct_start=0.0),
    dict(pct_start=1.0),
    dict(pct_start=0.45, three_phase=True, base_momentum=0.5, max_momentum=0.99),
]


def _one_cycle_torch(total, options):
    torch_options = dict(options)
    return lambda s, o: s.OneCycleLR(o, max_lr=0.05, total_steps=total, **torch_options)


@pytest.mark.parametrize("options", ONE_CYCLE, ids=lambda o: ",".join(map(str, o.items())))
def test_one_cycle_lr_matches_pytorch_step_by_step(options):
    ours = OneCycle(300, max_lr=0.05, **options)
    lrs, _ = torch_run(_one_cycle_torch(300, options), 300, momentum=0.9)
    np.testing.assert_allclose(values(ours, 300), lrs, rtol=1e-14, atol=1e-300)


@pytest.mark.parametrize("options", ONE_CYCLE, ids=lambda o: ",".join(map(str, o.items())))
@pytest.mark.parametrize("optimizer", ["SGD", "Adam"])
def test_one_cycle_momentum_matches_pytorch_cycle_momentum(options, optimizer):
    extra = dict(momentum=0.9) if optimizer == "SGD" else {}
    _, momenta = torch_run(_one_cycle_torch(300, options), 300, optimizer, **extra)
    ours = OneCycle(300, max_lr=0.05, **options).momentum
    np.testing.assert_allclose(values(ours, 300), momenta, rtol=1e-14)


def test_one_cycle_keeps_its_last_value_after_total_steps():
    cycle = OneCycle(50, max_lr=2.0)
    assert cycle(51) == cycle(50) == cycle(10**9) == pytest.approx(2.0 / 25 / 1e4, rel=1e-12)


def test_one_cycle_momentum_property_carries_the_cycle():
    cycle = OneCycle(80, pct_start=0.2, anneal_strategy="linear", three_phase=True,
                     base_momentum=0.6, max_momentum=0.9)
    assert cycle.momentum == OneCycleMomentum(80, pct_start=0.2, anneal_strategy="linear",
                                              three_phase=True, base_momentum=0.6,
                                              max_momentum=0.9)


def test_multi_step_decay_counts_the_steps_taken():
    assert values(MultiStepDecay([1, 3], gamma=0.5), 5) == [1.0, 0.5, 0.5, 0.25, 0.25]


def test_polynomial_decay_reaches_zero_after_total_iters():
    assert PolynomialDecay(10)(11) == 0.0 == PolynomialDecay(10)(10**6)


# -- value semantics ----------------------------------------------------------------------

EXAMPLES = [
    MultiStepDecay([10, 20], gamma=0.5),
    ExponentialDecay(0.97),
    PolynomialDecay(40, power=0.5),
    OneCycle(100, max_lr=0.1, three_phase=True, anneal_strategy="linear"),
    OneCycleMomentum(100, base_momentum=0.8),
    1e-3 * ExponentialDecay(0.9) * OneCycle(50),
    adamopt.Join([adamopt.LinearWarmup(5), MultiStepDecay([10])], boundaries=[5]),
]


@pytest.mark.parametrize("schedule", EXAMPLES, ids=repr)
def test_pickles_to_an_equal_schedule(schedule):
    again = pickle.loads(pickle.dumps(schedule))
    assert again == schedule
    assert hash(again) == hash(schedule)


@pytest.mark.parametrize("schedule", EXAMPLES, ids=repr)
def test_config_round_trips_through_json(schedule):
    config = json.loads(json.dumps(schedule.to_config()))
    assert type(schedule).from_config(config) == schedule


@pytest.mark.parametrize("schedule", EXAMPLES, ids=repr)
def test_repr_rebuilds_the_schedule(schedule):
    assert eval(repr(schedule), vars(adamopt)) == schedule


@pytest.mark.parametrize("schedule", EXAMPLES, ids=repr)
def test_is_storable(schedule):
    assert storable(schedule)


def test_is_immutable():
    with pytest.raises(AttributeError, match="immutable"):
        ExponentialDecay(0.9).gamma = 0.5


def test_different_parameters_compare_unequal():
    assert OneCycle(100) != OneCycle(100, three_phase=True)


def test_repr_shows_only_what_differs_from_the_defaults():
    assert repr(OneCycle(100, max_lr=0.5)) == "OneCycle(total_steps=100, max_lr=0.5)"


def test_is_a_schedule():
    assert all(isinstance(s, Schedule) for s in EXAMPLES)


# -- bad arguments ------------------------------------------------------------------------

BAD = [
    (lambda: MultiStepDecay(5), TypeError, "milestones"),
    (lambda: MultiStepDecay([]), ValueError, "milestones"),
    (lambda: MultiStepDecay([3, 3]), ValueError, "milestones"),
    (lambda: MultiStepDecay([0, 3]), ValueError, r"milestones\[0\]"),
    (lambda: MultiStepDecay([2.5]), TypeError, r"milestones\[0\]"),
    (lambda: MultiStepDecay([2], gamma=0.0), ValueError, "gamma"),
    (lambda: ExponentialDecay(1.5), ValueError, "gamma"),
    (lambda: ExponentialDecay("0.9"), TypeError, "gamma"),
    (lambda: PolynomialDecay(0), ValueError, "total_iters"),
    (lambda: PolynomialDecay(10, power=-1.0), ValueError, "power"),
    (lambda: PolynomialDecay(10, power=float("inf")), ValueError, "power"),
    (lambda: OneCycle(0), ValueError, "total_steps"),
    (lambda: OneCycle(10.0), TypeError, "total_steps"),
    (lambda: OneCycle(10, max_lr=-1.0), ValueError, "max_lr"),
    (lambda: OneCycle(10, pct_start=1.5), ValueError, "pct_start"),
    (lambda: OneCycle(10, pct_start=0.1), ValueError, "pct_start"),
    (lambda: OneCycle(10, anneal_strategy="exp"), ValueError, "anneal_strategy"),
    (lambda: OneCycle(10, div_factor=0.0), ValueError, "div_factor"),
    (lambda: OneCycle(10, final_div_factor=float("nan")), ValueError, "final_div_factor"),
    (lambda: OneCycle(10, three_phase="yes"), TypeError, "three_phase"),
    (lambda: OneCycle(10, base_momentum=1.0), ValueError, "base_momentum"),
    (lambda: OneCycleMomentum(10, max_momentum=-0.1), ValueError, "max_momentum"),
]


@pytest.mark.parametrize(("build", "error", "parameter"), BAD,
                         ids=[f"{p}-{i}" for i, (_, _, p) in enumerate(BAD)])
def test_bad_argument_is_refused_naming_it(build, error, parameter):
    with pytest.raises(error, match=expect(f"'{parameter}'")):
        build()


def test_bad_config_is_refused():
    with pytest.raises(ValueError, match=expect("OneCycle", name("total_steps"))):
        OneCycle.from_config({"max_lr": 1.0})
