"""Learning-rate schedules and the normalized weight decay: closed forms (at the
restart boundaries especially), composition, value semantics, validation, and
their use as ``lr=``, ``schedule=`` and ``weight_decay=`` in the classes and the
SciPy methods."""

import copy
import json
import math
import pickle

import numpy as np
import pytest
from helpers import expect, name
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import minimize

import adamopt
from adamopt import (
    Constant,
    CosineAnnealing,
    CosineWarmRestarts,
    Join,
    LinearWarmup,
    NormalizedWeightDecay,
    StepDecay,
)
from adamopt._schedules import Product, storable


def cosine(eta_min, eta_max, t_cur, period):
    """SGDR, eq. 5 of Loshchilov & Hutter (2017)."""
    return eta_min + 0.5 * (eta_max - eta_min) * (1.0 + math.cos(math.pi * t_cur / period))


def restarts_reference(t, T_0, T_mult, eta_min=0.0, eta_max=1.0):
    """Walk the periods T_0, T_0 T_mult, ... until the one holding step t."""
    start, length = 0, T_0
    while start + length < t:          # steps start+1 .. start+length are in this period
        start, length = start + length, length * T_mult
    return cosine(eta_min, eta_max, t - 1 - start, length)


def restart_steps(T_0, T_mult, count):
    """The steps t = S_i + 1 at which the periods start."""
    steps, start, length = [], 0, T_0
    for _ in range(count):
        steps.append(start + 1)
        start, length = start + length, length * T_mult
    return steps


EXAMPLES = [
    Constant(0.5),
    CosineAnnealing(100, eta_min=0.01),
    CosineWarmRestarts(10, T_mult=2, eta_min=1e-4, eta_max=0.1),
    LinearWarmup(20, start=0.1),
    StepDecay(30, gamma=0.5),
    1e-3 * LinearWarmup(5) * CosineWarmRestarts(7, 3),
    Join([LinearWarmup(10), CosineAnnealing(90)], boundaries=[10]),
    NormalizedWeightDecay(0.05, batch_size=32, n_samples=1000, epochs=10),
    NormalizedWeightDecay(0.05, batch_size=32, n_samples=1000,
                          schedule=CosineWarmRestarts(64, 2)),
]


# -- closed forms ---------------------------------------------------------------------


class TestCosineAnnealing:
    def test_starts_at_eta_max(self):
        assert CosineAnnealing(50, eta_min=0.1, eta_max=2.0)(1) == 2.0

    def test_is_halfway_after_half_the_steps(self):
        assert CosineAnnealing(50, eta_min=0.1, eta_max=2.0)(26) == pytest.approx(1.05, 1e-15)

    @pytest.mark.parametrize("t", [51, 52, 10**6])
    def test_stays_at_eta_min_after_t_max_steps(self, t):
        assert CosineAnnealing(50, eta_min=0.1, eta_max=2.0)(t) == 0.1

    @pytest.mark.parametrize("t", range(1, 12))
    def test_matches_the_closed_form(self, t):
        assert CosineAnnealing(10, eta_min=0.2)(t) == pytest.approx(
            cosine(0.2, 1.0, min(t - 1, 10), 10), rel=1e-15)


class TestCosineWarmRestarts:
    @pytest.mark.parametrize(("T_0", "T_mult"), [(1, 1), (5, 1), (3, 2), (4, 3), (1, 2)])
    def test_every_period_starts_at_eta_max(self, T_0, T_mult):
        s = CosineWarmRestarts(T_0, T_mult, eta_min=0.01, eta_max=0.3)
        assert [s(t) for t in restart_steps(T_0, T_mult, 8)] == [0.3] * 8

    @pytest.mark.parametrize(("T_0", "T_mult"), [(5, 1), (3, 2), (4, 3)])
    def test_last_step_of_each_period_is_one_step_short_of_eta_min(self, T_0, T_mult):
        s = CosineWarmRestarts(T_0, T_mult, eta_min=0.01, eta_max=0.3)
        starts = [t - 1 for t in restart_steps(T_0, T_mult, 7)]
        for i in range(6):
            last, length = starts[i + 1], T_0 * T_mult**i     # t = T_0, T_0 + T_0 T_mult, ...
            assert s(last) == pytest.approx(cosine(0.01, 0.3, length - 1, length), rel=1e-15)

    def test_the_boundaries_of_t0_2_tmult_2(self):
        s = CosineWarmRestarts(T_0=2, T_mult=2)
        # periods: steps 1-2, 3-6, 7-14, 15-30
        assert [s(t) for t in (1, 3, 7, 15, 31)] == [1.0] * 5
        assert s(2) == pytest.approx(0.5, 1e-15)
        assert s(6) == pytest.approx(cosine(0, 1, 3, 4), 1e-15)
        assert s(14) == pytest.approx(cosine(0, 1, 7, 8), 1e-15)

    @pytest.mark.parametrize("T_mult", [2, 3])
    def test_finds_the_period_exactly_at_huge_step_numbers(self, T_mult):
        s = CosineWarmRestarts(7, T_mult)
        steps = restart_steps(7, T_mult, 40)          # up to 7 * 3**39, about 3e19
        for i in range(30, 39):
            assert s(steps[i]) == 1.0
            assert s(steps[i + 1] - 1) == cosine(0.0, 1.0, 7 * T_mult**i - 1, 7 * T_mult**i)

    def test_with_t_mult_1_finds_the_period_at_huge_step_numbers(self):
        s = CosineWarmRestarts(7)
        assert s(7 * 10**17 + 1) == 1.0
        assert s(7 * 10**17) == cosine(0.0, 1.0, 6, 7)

    @given(T_0=st.integers(1, 50), T_mult=st.integers(1, 4), t=st.integers(1, 10**5))
    def test_equals_the_period_walk(self, T_0, T_mult, t):
        s = CosineWarmRestarts(T_0, T_mult, eta_min=0.05, eta_max=0.5)
        assert s(t) == pytest.approx(restarts_reference(t, T_0, T_mult, 0.05, 0.5), rel=1e-14)

    @given(T_0=st.integers(1, 50), t=st.integers(1, 10**5))
    def test_with_t_mult_1_repeats_one_cosine_annealing(self, T_0, t):
        assert CosineWarmRestarts(T_0)(t) == CosineAnnealing(T_0)((t - 1) % T_0 + 1)

    @given(T_0=st.integers(1, 20), T_mult=st.integers(1, 3), t=st.integers(1, 10**4),
           eta_min=st.floats(0, 1), width=st.floats(0, 1))
    def test_stays_within_its_range(self, T_0, T_mult, t, eta_min, width):
        s = CosineWarmRestarts(T_0, T_mult, eta_min=eta_min, eta_max=eta_min + width)
        assert eta_min <= s(t) <= eta_min + width


class TestLinearWarmupAndStepDecay:
    @pytest.mark.parametrize("t", range(1, 8))
    def test_warmup_closed_form(self, t):
        assert LinearWarmup(5, start=0.2)(t) == pytest.approx(0.2 + 0.8 * min(t, 5) / 5, 1e-15)

    def test_warmup_reaches_exactly_one(self):
        assert [LinearWarmup(3, start=0.1)(t) for t in (3, 4, 1000)] == [1.0, 1.0, 1.0]

    @pytest.mark.parametrize("t", [1, 3, 4, 6, 7, 100])
    def test_step_decay_closed_form(self, t):
        assert StepDecay(3, gamma=0.5)(t) == 0.5 ** ((t - 1) // 3)


# -- against PyTorch's schedulers, stepped once per optimizer step --------------------


def torch_values(make, steps):
    """The learning rate PyTorch uses at steps 1..steps (its initial lr: 1)."""
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    scheduler = make(torch.optim.lr_scheduler, opt)
    values = []
    for _ in range(steps):
        values.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return values


@pytest.mark.parametrize(("ours", "make", "steps"), [
    pytest.param(CosineAnnealing(20, eta_min=0.05),
                 lambda s, o: s.CosineAnnealingLR(o, T_max=20, eta_min=0.05), 21, id="cosine"),
    pytest.param(CosineWarmRestarts(5, T_mult=2, eta_min=0.05),
                 lambda s, o: s.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=0.05),
                 80, id="warm-restarts"),
    pytest.param(StepDecay(4, gamma=0.3),
                 lambda s, o: s.StepLR(o, step_size=4, gamma=0.3), 20, id="step"),
])
def test_matches_pytorch_scheduler(ours, make, steps):
    np.testing.assert_allclose([ours(t) for t in range(1, steps + 1)],
                               torch_values(make, steps), rtol=1e-12, atol=1e-15)


def test_linear_warmup_is_pytorch_linear_lr_one_step_ahead():
    values = torch_values(lambda s, o: s.LinearLR(o, start_factor=0.25, total_iters=6), 10)
    np.testing.assert_allclose([LinearWarmup(6, start=0.25)(t) for t in range(1, 10)],
                               values[1:], rtol=1e-12)


# -- composition ----------------------------------------------------------------------


@given(t=st.integers(1, 10**4), scale=st.floats(0, 10))
def test_product_is_the_product_of_the_values(t, scale):
    a, b = LinearWarmup(100), CosineWarmRestarts(30, 2)
    assert (scale * a * b)(t) == scale * a(t) * b(t)


def test_products_flatten_and_wrap_numbers():
    a, b = LinearWarmup(10), CosineAnnealing(10)
    assert (2.0 * a * b).factors == (Constant(2.0), a, b)
    assert (a * (b * 3)) == Product(a, b, Constant(3))


@given(t=st.integers(1, 300))
def test_join_runs_each_schedule_from_its_own_step_one(t):
    warm, cos, const = LinearWarmup(10), CosineAnnealing(50), Constant(0.01)
    s = Join([warm, cos, const], boundaries=[10, 60])
    expected = warm(t) if t <= 10 else cos(t - 10) if t <= 60 else const(t - 60)
    assert s(t) == expected


# -- value semantics ------------------------------------------------------------------


@pytest.mark.parametrize("schedule", EXAMPLES, ids=repr)
def test_pickles_to_an_equal_schedule(schedule):
    copied = pickle.loads(pickle.dumps(schedule))
    assert copied == schedule
    assert hash(copied) == hash(schedule)
    assert [copied(t) for t in (1, 7, 200)] == [schedule(t) for t in (1, 7, 200)]


@pytest.mark.parametrize("schedule", EXAMPLES, ids=repr)
def test_repr_evaluates_to_an_equal_schedule(schedule):
    namespace = {k: getattr(adamopt, k) for k in adamopt.__all__}
    assert eval(repr(schedule), namespace) == schedule


@pytest.mark.parametrize("schedule", EXAMPLES, ids=repr)
def test_deepcopy_is_equal(schedule):
    assert copy.deepcopy(schedule) == schedule


@pytest.mark.parametrize("schedule", EXAMPLES, ids=repr)
def test_config_survives_json_and_rebuilds_an_equal_schedule(schedule):
    config = json.loads(json.dumps(schedule.to_config()))
    assert type(schedule).from_config(config) == schedule


def test_only_adamopt_schedules_have_a_config():
    class Mine(adamopt.Schedule):
        def _value(self, t):
            return 1.0

    with pytest.raises(TypeError, match="no stored form"):
        (Mine() * CosineAnnealing(5)).to_config()


@pytest.mark.parametrize("config", [
    {"T_max": 10}, {"T_max": 10, "eta_min": 0.0, "eta_max": 1.0, "extra": 1}, [10],
])
def test_a_bad_config_is_refused(config):
    with pytest.raises(ValueError, match="configuration"):
        CosineAnnealing.from_config(config)


def test_a_config_with_an_unknown_nested_type_is_refused():
    config = (2.0 * CosineAnnealing(5)).to_config()
    config["factors"][1]["type"] = "os.system"
    with pytest.raises(ValueError, match="stored form"):
        Product.from_config(config)


def test_a_config_with_bad_values_is_refused_by_the_constructor():
    with pytest.raises(ValueError, match=name("T_0")):
        CosineWarmRestarts.from_config({"T_0": 0, "T_mult": 1, "eta_min": 0.0,
                                        "eta_max": 1.0})


def test_equal_parameters_make_equal_schedules():
    assert CosineWarmRestarts(10, 2) == CosineWarmRestarts(T_0=10, T_mult=2, eta_min=0)
    assert Constant(1) == Constant(1.0)
    assert len({CosineAnnealing(5), CosineAnnealing(5), CosineAnnealing(6)}) == 2


def test_different_schedules_are_not_equal():
    assert CosineAnnealing(10) != CosineWarmRestarts(10)
    assert CosineAnnealing(10) != CosineAnnealing(10, eta_min=0.1)


def test_repr_is_the_expression_that_builds_it():
    s = 1e-3 * LinearWarmup(100) * CosineWarmRestarts(T_0=500, T_mult=2)
    assert repr(s) == ("0.001 * LinearWarmup(warmup_steps=100) * "
                       "CosineWarmRestarts(T_0=500, T_mult=2)")


@pytest.mark.parametrize("schedule", EXAMPLES, ids=repr)
def test_is_immutable(schedule):
    with pytest.raises(AttributeError, match="immutable"):
        schedule.eta_min = 0.5
    with pytest.raises(AttributeError):
        del schedule._fields


def test_only_adamopt_schedules_are_storable():
    class Mine(adamopt.Schedule):
        def _value(self, t):
            return 1.0

    assert all(storable(s) for s in EXAMPLES)
    assert not storable(lambda t: 1.0)
    assert not storable(Mine())
    assert not storable(Mine() * CosineAnnealing(5))
    assert not storable(Join([Mine(), Constant(1)], boundaries=[3]))


# -- validation -----------------------------------------------------------------------


@pytest.mark.parametrize(("make", "parameter", "exc"), [
    (lambda: CosineAnnealing(0), "T_max", ValueError),
    (lambda: CosineAnnealing(10.0), "T_max", TypeError),
    (lambda: CosineAnnealing(True), "T_max", TypeError),
    (lambda: CosineAnnealing(10, eta_min=2.0), "eta_min", ValueError),
    (lambda: CosineAnnealing(10, eta_max=math.inf), "eta_max", ValueError),
    (lambda: CosineAnnealing(10, eta_min=-0.1), "eta_min", ValueError),
    (lambda: CosineWarmRestarts(0), "T_0", ValueError),
    (lambda: CosineWarmRestarts(10, T_mult=0), "T_mult", ValueError),
    (lambda: CosineWarmRestarts(10, T_mult=1.5), "T_mult", TypeError),
    (lambda: CosineWarmRestarts(10, eta_min="0"), "eta_min", TypeError),
    (lambda: LinearWarmup(0), "warmup_steps", ValueError),
    (lambda: LinearWarmup(10, start=1.5), "start", ValueError),
    (lambda: LinearWarmup(10, start=math.nan), "start", ValueError),
    (lambda: StepDecay(0), "step_size", ValueError),
    (lambda: StepDecay(5, gamma=0.0), "gamma", ValueError),
    (lambda: StepDecay(5, gamma=1.5), "gamma", ValueError),
    (lambda: Constant(-1.0), "value", ValueError),
    (lambda: Constant(None), "value", TypeError),
    (lambda: Product(CosineAnnealing(5), lambda t: 1.0), "factors[1]", TypeError),
    (lambda: CosineAnnealing(5) * "x", None, TypeError),
    (lambda: Join([Constant(1), lambda t: 1.0], boundaries=[3]), "schedules[1]", TypeError),
    (lambda: Join([Constant(1)], boundaries=[]), "schedules", ValueError),
    (lambda: Join([Constant(1), Constant(2)], boundaries=[]), "boundaries", ValueError),
    (lambda: Join([Constant(1), Constant(2)], boundaries=[0]), "boundaries[0]", ValueError),
    (lambda: Join([Constant(1)] * 3, boundaries=[5, 5]), "boundaries", ValueError),
    (lambda: Join([Constant(1)] * 2, boundaries=[2.5]), "boundaries[0]", TypeError),
])
def test_bad_arguments_are_refused_naming_them(make, parameter, exc):
    with pytest.raises(exc, match=None if parameter is None else name(parameter)):
        make()


@pytest.mark.parametrize(("t", "exc"), [(0, ValueError), (-3, ValueError), (1.0, TypeError),
                                        (True, TypeError), ("2", TypeError)])
@pytest.mark.parametrize("schedule", EXAMPLES, ids=repr)
def test_the_step_number_must_be_an_integer_from_one(schedule, t, exc):
    with pytest.raises(exc, match=expect(name("t"), "an integer >= 1")):
        schedule(t)


def test_numpy_integer_step_numbers_are_accepted():
    assert CosineAnnealing(4)(np.int64(3)) == CosineAnnealing(4)(3)


# -- normalized weight decay ----------------------------------------------------------


class TestNormalizedWeightDecay:
    def test_without_restarts_is_the_closed_form(self):
        wd = NormalizedWeightDecay(0.05, batch_size=64, n_samples=50_000, epochs=100)
        expected = 0.05 * math.sqrt(64 / (50_000 * 100))
        assert [wd(t) for t in (1, 500, 10**6)] == [pytest.approx(expected, 1e-15)] * 3

    @pytest.mark.parametrize(("T_0", "T_mult"), [(3, 1), (2, 2), (1, 3)])
    def test_with_warm_restarts_uses_the_current_period_in_epochs(self, T_0, T_mult):
        b, B = 50, 1000          # 20 batches per epoch
        restarts = CosineWarmRestarts(T_0 * 20, T_mult)
        wd = NormalizedWeightDecay(0.04, batch_size=b, n_samples=B, schedule=restarts)
        starts = restart_steps(T_0 * 20, T_mult, 5)
        for i, first in enumerate(starts[:-1]):
            T_i = T_0 * T_mult**i                              # epochs of period i
            expected = 0.04 * math.sqrt(b / (B * T_i))
            assert wd(first) == pytest.approx(expected, rel=1e-15)        # restart step
            assert wd(starts[i + 1] - 1) == pytest.approx(expected, rel=1e-15)   # last step

    @given(T_0=st.integers(1, 40), T_mult=st.integers(1, 3), t=st.integers(1, 10**4),
           b=st.integers(1, 64), extra=st.integers(0, 1000))
    def test_equals_the_closed_form_with_the_period_walk(self, T_0, T_mult, t, b, extra):
        B = b + extra
        wd = NormalizedWeightDecay(0.05, batch_size=b, n_samples=B,
                                   schedule=CosineWarmRestarts(T_0, T_mult))
        start, length = 0, T_0
        while start + length < t:
            start, length = start + length, length * T_mult
        T = length / math.ceil(B / b)                      # epochs of the current period
        assert wd(t) == pytest.approx(0.05 * math.sqrt(b / (B * T)), rel=1e-14)

    def test_changes_at_each_restart_with_t_mult_2(self):
        wd = NormalizedWeightDecay(1.0, batch_size=1, n_samples=1,
                                   schedule=CosineWarmRestarts(1, 2))
        # periods of 1, 2, 4, 8 steps, one step per epoch: lambda = 1/sqrt(T_i)
        assert [wd(t) for t in (1, 2, 3, 4, 7, 8, 15)] == pytest.approx(
            [1, 2**-0.5, 2**-0.5, 0.5, 0.5, 8**-0.5, 8**-0.5], rel=1e-15)

    def test_takes_b_and_big_b_and_the_epoch_from_a_stream(self):
        X = np.zeros((1000, 2))
        stream = adamopt.minibatches(X, batch_size=30, seed=0)      # 34 batches per epoch
        wd = NormalizedWeightDecay(0.05, batches=stream, schedule=CosineAnnealing(34 * 5))
        assert (wd.batch_size, wd.n_samples, wd.batches_per_epoch) == (30, 1000, 34)
        assert wd(1) == pytest.approx(0.05 * math.sqrt(30 / (1000 * 5)), rel=1e-15)

    def test_drop_last_streams_count_their_epochs_in_full_batches(self):
        stream = adamopt.minibatches(np.zeros(1000), batch_size=30, drop_last=True)
        assert NormalizedWeightDecay(0.05, batches=stream, epochs=1).batches_per_epoch == 33

    def test_period_of_a_warmed_up_product_is_its_restarts(self):
        restarts = CosineWarmRestarts(10, 2)
        a = NormalizedWeightDecay(0.05, batch_size=1, n_samples=10, schedule=restarts)
        b = NormalizedWeightDecay(0.05, batch_size=1, n_samples=10,
                                  schedule=LinearWarmup(5) * restarts)
        assert [a(t) for t in range(1, 80)] == [b(t) for t in range(1, 80)]

    @pytest.mark.parametrize(("kwargs", "parameter", "exc"), [
        ({"lambda_norm": -1.0, "epochs": 1}, "lambda_norm", ValueError),
        ({"epochs": 0}, "epochs", ValueError),
        ({"epochs": math.inf}, "epochs", ValueError),
        ({"batch_size": 0, "epochs": 1}, "batch_size", ValueError),
        ({"batch_size": 2000, "epochs": 1}, "batch_size", ValueError),
        ({"n_samples": 10.0, "epochs": 1}, "n_samples", TypeError),
        ({"batches_per_epoch": 0, "epochs": 1}, "batches_per_epoch", ValueError),
        ({"schedule": StepDecay(10)}, "schedule", TypeError),
        ({"schedule": lambda t: 1.0}, "schedule", TypeError),
        ({"schedule": Join([LinearWarmup(5), CosineAnnealing(5)], [5])}, "schedule",
         TypeError),
        ({}, "epochs", TypeError),
        ({"epochs": 1, "schedule": CosineAnnealing(5)}, "epochs", TypeError),
        ({"batches": [1, 2], "batch_size": None, "n_samples": None, "epochs": 1}, "batches",
         TypeError),
    ])
    def test_bad_arguments_are_refused_naming_them(self, kwargs, parameter, exc):
        kwargs = {"lambda_norm": 0.05, "batch_size": 10, "n_samples": 1000, **kwargs}
        with pytest.raises(exc, match=f"'?{parameter}'?"):
            NormalizedWeightDecay(**kwargs)

    def test_a_stream_and_explicit_sizes_are_not_both_accepted(self):
        stream = adamopt.minibatches(np.zeros(10), batch_size=2)
        with pytest.raises(TypeError, match="either 'batches' or"):
            NormalizedWeightDecay(0.05, batches=stream, batch_size=2, epochs=1)


# -- in the optimizers and the SciPy methods ------------------------------------------


def quadratic(x, targets):
    r = x - np.reshape(targets, (-1, 3)).mean(axis=0)
    return float(r @ r), 2 * r


def quadratic_batches(n=400, seed=0):
    rng = np.random.default_rng(seed)
    return adamopt.minibatches(rng.standard_normal((n, 3)) + np.array([1.0, -2.0, 0.5]),
                               batch_size=1, seed=seed)


def class_trajectory(cls, steps, **options):
    x = np.zeros(3)
    opt = cls(x, **options)
    stream, path = quadratic_batches(), []
    for _ in range(steps):
        (targets,) = next(stream)
        opt.step(quadratic(x, targets)[1])
        path.append(x.copy())
    return np.array(path)


def method_trajectory(method, steps, **options):
    path = []
    minimize(quadratic, np.zeros(3), jac=True, method=method,
             callback=lambda xk: path.append(xk),
             options={"maxiter": steps, "gtol": 0, "batches": quadratic_batches(),
                      **options})
    return np.array(path)


SCHEDULED = [
    pytest.param({"lr": 0.1 * CosineWarmRestarts(7, 2)}, id="lr"),
    pytest.param({"lr": 0.1, "schedule": LinearWarmup(5) * CosineWarmRestarts(7, 2)},
                 id="schedule"),
    pytest.param({"lr": 0.1, "schedule": CosineWarmRestarts(7, 2), "decay_scaling": "schedule",
                  "weight_decay": NormalizedWeightDecay(0.5, batch_size=1, n_samples=7,
                                                        schedule=CosineWarmRestarts(7, 2))},
                 id="normalized-weight-decay"),
]


@pytest.mark.parametrize("options", SCHEDULED)
def test_class_and_scipy_method_follow_the_same_trajectory_bitwise(options):
    cls, method = ((adamopt.AdamW, adamopt.adamw) if "decay_scaling" in options
                   else (adamopt.Adam, adamopt.adam))
    np.testing.assert_array_equal(class_trajectory(cls, 60, **options),
                                  method_trajectory(method, 60, **options))


@pytest.mark.parametrize("options", [
    pytest.param({"lr": 0.05 * CosineWarmRestarts(7, 2), "momentum": 0.9}, id="lr"),
    pytest.param({"lr": 0.05, "momentum": 0.9, "nesterov": True,
                  "schedule": Join([LinearWarmup(5), StepDecay(10, 0.5)], [5])},
                 id="schedule"),
])
def test_sgd_class_and_method_follow_the_same_trajectory_bitwise(options):
    np.testing.assert_array_equal(class_trajectory(adamopt.SGD, 60, **options),
                                  method_trajectory(adamopt.sgd, 60, **options))


@pytest.mark.parametrize(("cls", "method"), [
    (adamopt.Adagrad, adamopt.adagrad), (adamopt.RMSprop, adamopt.rmsprop),
    (adamopt.Adamax, adamopt.adamax), (adamopt.NAdam, adamopt.nadam),
    (adamopt.SWATS, adamopt.swats)], ids=lambda c: getattr(c, "__name__", ""))
def test_every_class_and_its_method_follow_the_same_trajectory_bitwise(cls, method):
    options = {"lr": 0.05 * CosineWarmRestarts(7, 2), "schedule": LinearWarmup(5)}
    np.testing.assert_array_equal(class_trajectory(cls, 40, **options),
                                  method_trajectory(method, 40, **options))


def test_schedule_object_gives_the_same_steps_as_the_equivalent_function():
    sched = CosineWarmRestarts(7, 2)
    function = lambda t: restarts_reference(t, 7, 2)       # noqa: E731
    a = class_trajectory(adamopt.Adam, 40, lr=0.1, schedule=sched)
    b = class_trajectory(adamopt.Adam, 40, lr=0.1, schedule=function)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("options", SCHEDULED)
def test_run_state_keeps_adamopt_schedules_and_resumes_bitwise(options):
    method = adamopt.adamw if "decay_scaling" in options else adamopt.adam
    common = {"gtol": 0, **options}
    whole = minimize(quadratic, np.zeros(3), jac=True, method=method,
                     options={"maxiter": 50, "batches": quadratic_batches(), **common})
    stream = quadratic_batches()
    first = minimize(quadratic, np.zeros(3), jac=True, method=method,
                     options={"maxiter": 20, "batches": stream, **common})
    assert first.state["callables"] == ()
    state = pickle.loads(pickle.dumps(first.state))
    given_again = {k: v for k, v in common.items() if not callable(v)}
    second = minimize(quadratic, first.x, jac=True, method=method,
                      options={"maxiter": 30, "batches": stream, "state": state,
                               **given_again})
    np.testing.assert_array_equal(second.x, whole.x)


def test_a_plain_callable_weight_decay_must_be_given_again():
    first = minimize(quadratic, np.zeros(3), args=(np.ones(3),), jac=True,
                     method=adamopt.adamw, options={"maxiter": 3, "weight_decay": lambda t: 0.1})
    assert first.state["callables"] == ("weight_decay",)
    with pytest.raises(ValueError, match="'weight_decay' was a callable"):
        minimize(quadratic, first.x, args=(np.ones(3),), jac=True, method=adamopt.adamw,
                 options={"maxiter": 3, "state": first.state})


class TestCallableWeightDecay:
    def test_paper_adamwr_decay_closed_form_across_a_restart(self):
        # With a zero gradient the moments stay zero and each step only decays:
        # x_t = x_{t-1} (1 - eta_t lambda_t).
        sched = CosineWarmRestarts(4, 2)
        wd = NormalizedWeightDecay(0.3, batch_size=1, n_samples=2, schedule=sched)
        x = np.full(2, 3.0)
        opt = adamopt.AdamW(x, lr=0.01, schedule=sched, weight_decay=wd,
                            decay_scaling="schedule")
        expected = 3.0
        for t in range(1, 16):
            opt.step(np.zeros(2))
            expected *= 1.0 - sched(t) * 0.3 * math.sqrt(1 / (2 * sched._period(t)[1] / 2))
            assert x[0] == pytest.approx(expected, rel=1e-14)

    @pytest.mark.parametrize("cls", [adamopt.Adam, adamopt.AdamW])
    def test_each_step_uses_the_value_of_its_step_number(self, cls):
        values = {t: 0.01 * t for t in range(1, 6)}
        a, b = np.linspace(-1, 1, 4), np.linspace(-1, 1, 4)
        varying = cls(a, lr=0.1, weight_decay=values.__getitem__)
        for t in range(1, 6):
            fixed = cls(b, lr=0.1, weight_decay=values[t])
            fixed.load_state_dict({**varying.state_dict(), "weight_decay": values[t]})
            fixed.step(np.cos(b))
            varying.step(np.cos(a))
            np.testing.assert_array_equal(a, b)

    def test_state_dict_leaves_out_a_callable_weight_decay(self):
        wd = NormalizedWeightDecay(0.05, batch_size=1, n_samples=10, epochs=3)
        opt = adamopt.AdamW(np.zeros(2), weight_decay=wd)
        opt.step(np.ones(2))
        assert "weight_decay" not in opt.state_dict()
        assert opt.weight_decay is wd
        assert "weight_decay=NormalizedWeightDecay(" in repr(opt)

    def test_pickled_optimizer_keeps_it(self):
        wd = NormalizedWeightDecay(0.05, batch_size=1, n_samples=10, epochs=3)
        opt = adamopt.AdamW(np.zeros(2), weight_decay=wd)
        assert pickle.loads(pickle.dumps(opt)).weight_decay == wd

    def test_a_number_replaces_it(self):
        opt = adamopt.AdamW(np.zeros(2), weight_decay=lambda t: 0.5)
        opt.weight_decay = 0.25
        assert opt.weight_decay == 0.25
        assert opt.state_dict()["weight_decay"] == 0.25

    @pytest.mark.parametrize(("value", "exc"), [(-0.1, ValueError), (math.nan, ValueError),
                                                ("0.1", TypeError)])
    def test_a_bad_value_is_refused_before_the_step(self, value, exc):
        x = np.ones(2)
        opt = adamopt.AdamW(x, weight_decay=lambda t: value)
        with pytest.raises(exc, match=expect(name("weight_decay"), "t=1")):
            opt.step(np.ones(2))
        np.testing.assert_array_equal(x, np.ones(2))
        assert opt.t == 0

    def test_the_scipy_method_accepts_it(self):
        res = minimize(quadratic, np.zeros(3), args=(np.ones(3),), jac=True,
                       method=adamopt.adamw,
                       options={"lr": 0.1, "maxiter": 5, "weight_decay": lambda t: 0.0})
        plain = minimize(quadratic, np.zeros(3), args=(np.ones(3),), jac=True,
                         method=adamopt.adamw,
                         options={"lr": 0.1, "maxiter": 5, "weight_decay": 0.0})
        np.testing.assert_array_equal(res.x, plain.x)
