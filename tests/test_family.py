"""Adam's family (SGD, Adagrad, RMSprop, Adamax, NAdam): the compiled step
against the NumPy reference, the gradient check, threads and variants, state
round trips, pickling and the behaviour of the classes.

Every test runs over the algorithms of `family_specs.SPECS`; the kernel tests
run once for each compiled variant of the loops (the ``kernel`` fixture).
Tolerances: `family_specs.step_bounds` (a few units in the last place of the
dtype, of the magnitudes involved).
"""

import copy
import io
import pickle
import re

import numpy as np
import pytest
from family_specs import SPECS, make, random_state, step_bounds
from helpers import expect, name
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import adamopt
from adamopt import _kernels

DTYPES = [np.float32, np.float64]
ALGORITHMS = [pytest.param(spec, id=spec.name) for spec in SPECS]
COMBINATIONS = [pytest.param(spec, {}, id=f"{spec.name}-defaults") for spec in SPECS] + [
    pytest.param(spec, combo, id=f"{spec.name}-" + "-".join(f"{k}={v}" for k, v in combo.items()))
    for spec in SPECS for combo in spec.combinations
]


@pytest.fixture(scope="module", params=_kernels.available_kernels())
def kernel(request):
    """Run a test with each available variant of the loops."""
    previous = _kernels._use_kernel(request.param)
    yield request.param
    _kernels._use_kernel(previous)


@st.composite
def problems(draw, dtype):
    """Parameters, gradient, step number and a seeded generator for one step."""
    shape = draw(st.one_of(
        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5),
        st.integers(0, 70).map(lambda n: (n,)),        # crosses vector-loop tails
    ))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    top = 15 if dtype is np.float32 else 30
    scale = draw(st.floats(-30, top))
    g = rng.standard_normal(shape) * 10.0 ** (scale + rng.uniform(-3, 3, shape))
    x = rng.standard_normal(shape) * 10.0 ** rng.uniform(-5, 5, shape)
    t = draw(st.one_of(st.sampled_from([1, 2, 3, 10, 1000]), st.integers(1, 10**6)))
    return np.asarray(x, dtype), np.asarray(g, dtype), t, rng, 10.0**scale


def _within(actual, expected, bound, what):
    err = np.abs(np.asarray(actual, np.float64) - np.asarray(expected, np.float64))
    bad = ~(err <= bound)
    assert not bad.any(), (f"{what}: {int(bad.sum())} elements off; worst error/bound "
                           f"{np.max(np.where(bad, err / bound, 0)):.3g}")


def _effective_magnitude(x, g, opts):
    return np.abs(g.astype(np.float64)) + opts.get("weight_decay", 0.0) * np.abs(
        x.astype(np.float64))


def _state_scale(spec, scale, dtype):
    # a state the dtype can hold, squared where the algorithm squares
    limit = float(np.finfo(dtype).max) ** (0.5 if spec.squares else 1.0) / 100
    return min(scale, limit)


class TestOneStep:
    @pytest.mark.parametrize("dtype", DTYPES)
    @pytest.mark.parametrize("spec", ALGORITHMS)
    @settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(data=st.data())
    def test_one_step_matches_reference(self, kernel, spec, dtype, data):
        opts = data.draw(spec.options())
        x, g, t, rng, scale = data.draw(problems(dtype))
        assume(not np.any(_effective_magnitude(x, g, opts) > spec.limit(dtype) / 2))
        state = random_state(spec, rng, x.shape, dtype, opts, _state_scale(spec, scale, dtype), t)
        params = x.copy()
        opt = make(spec, params, t - 1, state, **opts)
        assert opt.step(g) is params
        saved = opt.state_dict()
        x_ref, state_ref = spec.reference(x, g, state, t, **opts)
        bx, bs = step_bounds(spec, x, g, state, t, dtype, **opts)
        _within(params, x_ref, bx, "x")
        for key in state:
            _within(saved[key], state_ref[key], bs[key], key)
        assert saved["t"] == t

    @pytest.mark.parametrize("dtype", DTYPES)
    @pytest.mark.parametrize("spec", ALGORITHMS)
    @settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(data=st.data())
    def test_bad_gradient_is_refused_and_nothing_changes(self, kernel, spec, dtype, data):
        opts = data.draw(spec.options())
        x, g, t, rng, scale = data.draw(problems(dtype))
        assume(g.size > 0)
        bad = [np.inf, -np.inf, np.nan]
        if spec.squares:
            bad += [spec.limit(dtype) * 1.01, float(np.finfo(dtype).max)]
        g[np.unravel_index(data.draw(st.integers(0, g.size - 1)), g.shape)] = data.draw(
            st.sampled_from(bad))
        state = random_state(spec, rng, x.shape, dtype, opts, _state_scale(spec, scale, dtype), t)
        params = x.copy()
        opt = make(spec, params, t - 1, state, **opts)
        before = opt.state_dict()
        with pytest.raises(ValueError, match=rf"'grad' parameter of {spec.cls.__name__}\.step"):
            opt.step(g)
        after = opt.state_dict()
        assert params.tobytes() == x.tobytes()
        for key in state:
            assert after[key].tobytes() == before[key].tobytes()
        assert after["t"] == t - 1

    @pytest.mark.parametrize("dtype", DTYPES)
    @pytest.mark.parametrize("spec", ALGORITHMS)
    def test_largest_finite_gradient_is_accepted_when_not_squared(self, spec, dtype):
        if spec.squares:
            pytest.skip("the algorithm squares the gradient")
        x = np.zeros(3, dtype)
        # Adamax: up to a quarter of the maximum (its overflow guard keeps
        # g - m finite; issue 13, test_step_safety)
        top = np.finfo(dtype).max / (4.05 if spec.name == "adamax" else 1)
        g = np.array([top, -1.0, 0.5], dtype)
        spec.cls(x, lr=1e-30).step(g)
        assert np.all(np.isfinite(x))


class TestManySteps:
    @pytest.mark.parametrize(("spec", "combo"), COMBINATIONS)
    def test_300_steps_float64_equal_reference_at_every_step(self, spec, combo):
        n = 64
        x = 3.0 + np.linspace(0.0, 2.0, n)
        opts = dict(lr=1e-3, **combo)
        opt = spec.cls(x, **opts)
        xr = x.copy()
        state = {k: v for k, v in opt.state_dict().items() if k in spec.arrays(opts)}
        k = np.arange(1, n + 1)
        for t in range(1, 301):
            g = np.sin(0.37 * t * k) * (1.0 + 0.5 * np.cos(0.011 * t))
            opt.step(g)
            xr, state = spec.reference(xr, g, state, t, **opts)
            np.testing.assert_allclose(x, xr, rtol=1e-12, atol=0, err_msg=f"step {t}")

    @pytest.mark.parametrize(("spec", "combo"), COMBINATIONS)
    def test_300_steps_float32_stay_within_float32_rounding_of_reference(self, spec, combo):
        n = 64
        x = (3.0 + np.linspace(0.0, 2.0, n)).astype(np.float32)
        opts = dict(lr=1e-3, **combo)
        opt = spec.cls(x, **opts)
        xr = x.astype(np.float64)
        state = {k: v.astype(np.float64) for k, v in opt.state_dict().items()
                 if k in spec.arrays(opts)}
        k = np.arange(1, n + 1)
        for t in range(1, 301):
            g = (np.sin(0.37 * t * k) * (1.0 + 0.5 * np.cos(0.011 * t))).astype(np.float32)
            opt.step(g)
            xr, state = spec.reference(xr, g, state, t, **opts)
        np.testing.assert_allclose(x, xr, rtol=300 * np.finfo(np.float32).eps, atol=0)


def _trajectory(spec, dtype, n, opts, steps=6, seed=0, check_finite=True):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n).astype(dtype)
    opt = spec.cls(x, lr=0.01, check_finite=check_finite, **opts)
    for _ in range(steps):
        opt.step((rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3, n)).astype(dtype))
    state = opt.state_dict()
    return [x] + [state[k] for k in spec.arrays(opts)]


class TestThreadsAndVariants:
    @pytest.mark.parametrize("dtype", DTYPES)
    @pytest.mark.parametrize(("spec", "combo"), COMBINATIONS)
    @pytest.mark.parametrize("check_finite", [True, False])
    def test_threads_and_variants_give_the_same_bits(self, spec, combo, dtype, check_finite):
        n = 5003
        baseline = _kernels._use_kernel("baseline")
        try:
            expected = _trajectory(spec, dtype, n, combo, check_finite=check_finite)
            previous_threads = _kernels._set_num_threads(2)
            previous_sizes = _kernels._set_thread_min_size(1, 1, 64)
            try:
                for variant in _kernels.available_kernels():
                    _kernels._use_kernel(variant)
                    got = _trajectory(spec, dtype, n, combo, check_finite=check_finite)
                    for a, b in zip(got, expected, strict=True):
                        assert a.tobytes() == b.tobytes(), variant
            finally:
                _kernels._set_thread_min_size(*previous_sizes)
                _kernels._set_num_threads(previous_threads)
        finally:
            _kernels._use_kernel(baseline)

    @pytest.mark.parametrize("dtype", DTYPES)
    @pytest.mark.parametrize("spec", ALGORITHMS)
    def test_bad_gradient_on_threads_changes_nothing(self, spec, dtype):
        previous_threads = _kernels._set_num_threads(2)
        previous_sizes = _kernels._set_thread_min_size(1, 1, 64)
        try:
            x = np.linspace(-1, 1, 20011).astype(dtype)
            opt = spec.cls(x)
            opt.step(np.ones_like(x))
            before, x0 = opt.state_dict(), x.copy()
            g = np.ones_like(x)
            g[17] = np.nan
            with pytest.raises(ValueError, match="index \\(17,\\)"):
                opt.step(g)
            assert x.tobytes() == x0.tobytes()
            after = opt.state_dict()
            for key in spec.arrays({}):
                assert after[key].tobytes() == before[key].tobytes()
        finally:
            _kernels._set_thread_min_size(*previous_sizes)
            _kernels._set_num_threads(previous_threads)

    @pytest.mark.parametrize("dtype", DTYPES)
    @pytest.mark.parametrize(("spec", "combo"), COMBINATIONS)
    def test_vector_loop_and_scalar_tail_give_identical_bits(self, spec, combo, dtype):
        rng = np.random.default_rng(11)
        n = 37
        whole = rng.standard_normal(n).astype(dtype)
        singles = [whole[i:i + 1].copy() for i in range(n)]
        big = spec.cls(whole, lr=0.01, **combo)
        small = [spec.cls(s, lr=0.01, **combo) for s in singles]
        for _ in range(5):
            g = rng.standard_normal(n).astype(dtype)
            big.step(g)
            for i, o in enumerate(small):
                o.step(g[i:i + 1])
        assert whole.tobytes() == np.concatenate(singles).tobytes()


class TestClass:
    @pytest.mark.parametrize("spec", ALGORITHMS)
    def test_step_leaves_the_gradient_untouched(self, spec):
        g = np.array([1.0, -2.0, 3.0])
        before = g.copy()
        spec.cls(np.ones(3), maximize=True, weight_decay=0.5).step(g)
        assert g.tobytes() == before.tobytes()

    @pytest.mark.parametrize(("spec", "combo"), COMBINATIONS)
    def test_maximize_equals_minimizing_the_negated_objective(self, spec, combo):
        rng = np.random.default_rng(2)
        combo = {k: v for k, v in combo.items() if k != "maximize"}
        a, b = np.ones(6), np.ones(6)
        up = spec.cls(a, lr=0.05, maximize=True, **combo)
        down = spec.cls(b, lr=0.05, **combo)
        for _ in range(20):
            g = rng.standard_normal(6)
            up.step(g)
            down.step(-g)
        assert a.tobytes() == b.tobytes()

    @pytest.mark.parametrize("spec", ALGORITHMS)
    def test_schedule_multiplies_the_learning_rate(self, spec):
        rng = np.random.default_rng(5)
        a, b = np.ones(4), np.ones(4)
        fa = spec.cls(a, lr=0.2, schedule=lambda t: 0.5)
        fb = spec.cls(b, lr=0.1)
        for _ in range(5):
            g = rng.standard_normal(4)
            fa.step(g)
            fb.step(g)
        np.testing.assert_allclose(a, b, rtol=1e-15)

    @pytest.mark.parametrize("spec", ALGORITHMS)
    def test_lr_callable_receives_the_step_number_from_one(self, spec):
        seen = []
        opt = spec.cls(np.zeros(2), lr=lambda t: seen.append(t) or 1e-3)
        for _ in range(3):
            opt.step(np.ones(2))
        assert seen == [1, 2, 3]

    @pytest.mark.parametrize("spec", ALGORITHMS)
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_converges_on_a_quadratic(self, spec, dtype):
        x = np.array([3.0, -4.0, 0.5], dtype)
        opt = spec.cls(x, lr=spec.quadratic_lr)
        for _ in range(3000):
            opt.step(2 * x)
        np.testing.assert_allclose(x, 0, atol=0.05)

    @pytest.mark.parametrize("spec", ALGORITHMS)
    def test_repr_names_class_shape_dtype_and_t(self, spec):
        text = repr(spec.cls(np.zeros((2, 3), np.float32), maximize=True))
        assert text.startswith(f"{spec.cls.__name__}(params=<float32 array of shape (2, 3)>")
        assert "maximize=True" in text
        assert text.endswith("t=0)")

    @pytest.mark.parametrize("spec", ALGORITHMS)
    def test_params_that_change_dtype_are_refused(self, spec):
        x = np.zeros(4)
        opt = spec.cls(x)
        x.dtype = np.float32
        with pytest.raises(ValueError, match="'params' array"):
            opt.step(np.zeros(8, np.float32))


class TestState:
    @pytest.mark.parametrize("dtype", DTYPES)
    @pytest.mark.parametrize(("spec", "combo"), COMBINATIONS)
    def test_resume_after_10_steps_is_bitwise_identical_to_20_steps(self, spec, combo, dtype):
        rng = np.random.default_rng(8)
        x0 = rng.standard_normal((3, 5)).astype(dtype)
        grads = [rng.standard_normal((3, 5)).astype(dtype) for _ in range(20)]
        straight = x0.copy()
        opt = spec.cls(straight, lr=0.01, **combo)
        for g in grads:
            opt.step(g)
        first = x0.copy()
        opt = spec.cls(first, lr=0.01, **combo)
        for g in grads[:10]:
            opt.step(g)
        buf = io.BytesIO()
        np.savez(buf, **opt.state_dict())
        buf.seek(0)
        resumed = first.copy()
        fixed = {k: v for k, v in combo.items() if k in spec.cls._FIXED}   # e.g. centered
        other = spec.cls(resumed, lr=0.5, **fixed)
        with np.load(buf) as stored:
            other.load_state_dict(stored)
        for g in grads[10:]:
            other.step(g)
        assert resumed.tobytes() == straight.tobytes()

    @pytest.mark.parametrize(("spec", "combo"), COMBINATIONS)
    def test_pickled_optimizer_continues_bitwise(self, spec, combo):
        rng = np.random.default_rng(10)
        x = rng.standard_normal(5)
        opt = spec.cls(x, lr=0.02, **combo)
        for _ in range(4):
            opt.step(rng.standard_normal(5))
        clone = pickle.loads(pickle.dumps(opt))
        assert clone.params is not x
        assert clone.t == opt.t
        assert repr(clone) == repr(opt)
        g = rng.standard_normal(5)
        assert opt.step(g).tobytes() == clone.step(g).tobytes()

    @pytest.mark.parametrize("spec", ALGORITHMS)
    def test_deepcopy_is_independent(self, spec):
        x = np.ones(3)
        opt = spec.cls(x)
        clone = copy.deepcopy(opt)
        clone.step(np.ones(3))
        assert np.all(x == 1.0)
        assert opt.t == 0
        assert clone.t == 1

    @pytest.mark.parametrize("spec", ALGORITHMS)
    def test_state_dict_holds_the_algorithm_t_arrays_and_hyperparameters(self, spec):
        opt = spec.cls(np.zeros(3))
        opt.step(np.ones(3))
        state = pickle.loads(pickle.dumps(opt.state_dict()))
        assert state["algorithm"] == spec.name
        assert state["t"] == 1
        for key in spec.arrays({}):
            assert isinstance(state[key], np.ndarray)
        assert set(opt._SAVED_HYPERPARAMETERS) <= set(state)

    @pytest.mark.parametrize("spec", ALGORITHMS)
    def test_state_dict_returns_copies(self, spec):
        opt = spec.cls(np.zeros(3))
        opt.step(np.ones(3))
        key = spec.arrays({})[0]
        opt.state_dict()[key][:] = 123.0
        assert not np.any(opt.state_dict()[key] == 123.0)

    @pytest.mark.parametrize("spec", ALGORITHMS)
    def test_state_of_another_algorithm_is_refused(self, spec):
        other = "adam" if spec.name != "adam" else "sgd"
        state = spec.cls(np.zeros(2)).state_dict()
        state["algorithm"] = other
        with pytest.raises(ValueError, match=f"from algorithm '{other}'"):
            spec.cls(np.zeros(2)).load_state_dict(state)

    @pytest.mark.parametrize("spec", ALGORITHMS)
    @pytest.mark.parametrize("value", [np.nan, np.inf])
    def test_state_with_a_non_finite_array_is_refused(self, spec, value):
        opt = spec.cls(np.zeros(3))
        opt.step(np.ones(3))
        state = opt.state_dict()
        key = spec.arrays({})[0]
        state[key][1] = value
        with pytest.raises(ValueError, match=f"'{key}' entry"):
            opt.load_state_dict(state)
        assert np.all(np.isfinite(opt.state_dict()[key]))

    @pytest.mark.parametrize("spec", ALGORITHMS)
    def test_state_with_a_negative_accumulator_is_refused(self, spec):
        if not spec.nonnegative:
            pytest.skip("no non-negative state")
        opt = spec.cls(np.zeros(3))
        state = opt.state_dict()
        key = spec.nonnegative[0]
        state[key][0] = -1.0
        with pytest.raises(ValueError, match=f"'{key}' entry.*>= 0"):
            opt.load_state_dict(state)


# -- validation ----------------------------------------------------------------------------


def shown(value):
    """How a message shows a bad scalar value (its repr)."""
    return re.escape(repr(value))


COMMON_BAD = [("lr", -1.0, ValueError), ("lr", "fast", TypeError),
              ("weight_decay", float("nan"), ValueError), ("maximize", 1, TypeError),
              ("check_finite", "yes", TypeError), ("schedule", 0.5, TypeError)]
BAD_OPTIONS = [pytest.param(spec, *case, id=f"{spec.name}-{case[0]}={case[1]!r}")
               for spec in SPECS for case in COMMON_BAD + spec.bad_options]


class TestValidation:
    @pytest.mark.parametrize(("spec", "option", "value", "exc"), BAD_OPTIONS)
    def test_bad_option_is_refused_naming_it(self, spec, option, value, exc):
        with pytest.raises(exc, match=expect(name(option), spec.cls.__name__, shown(value))):
            spec.cls(np.zeros(3), **{option: value})

    @pytest.mark.parametrize(("spec", "option", "value", "exc"), BAD_OPTIONS)
    def test_bad_assignment_is_refused_and_keeps_the_value(self, spec, option, value, exc):
        if option in spec.cls._FIXED or option in ("schedule", "check_finite"):
            pytest.skip("fixed at construction or not a saved hyperparameter")
        opt = spec.cls(np.zeros(3))
        before = getattr(opt, option)
        with pytest.raises(exc, match=name(option)):
            setattr(opt, option, value)
        assert getattr(opt, option) == before

    @pytest.mark.parametrize(("spec", "option", "value", "exc"), BAD_OPTIONS)
    def test_bad_option_of_the_scipy_method_is_refused_before_any_call(self, spec, option,
                                                                         value, exc):
        if option == "check_finite":
            pytest.skip("not an option of the SciPy methods (they always check)")
        calls = []

        def fun(x):
            calls.append(x)
            return float(x @ x), 2 * x

        with pytest.raises(exc, match=expect(name(option), spec.name)):
            spec.method(fun, np.ones(2), jac=True, **{option: value})
        assert calls == []

    @pytest.mark.parametrize(("momentum", "dampening"), [(0.0, 0.0), (0.9, 0.1)])
    def test_nesterov_needs_momentum_and_no_dampening(self, momentum, dampening):
        with pytest.raises(ValueError, match=expect(name("nesterov"), "momentum > 0",
                                                    "dampening == 0")):
            adamopt.SGD(np.zeros(2), nesterov=True, momentum=momentum, dampening=dampening)

    @pytest.mark.parametrize("spec", [s for s in SPECS if s.name != "sgd"],
                             ids=lambda s: s.name)
    def test_eps_that_vanishes_in_float32_is_refused_at_the_step(self, spec):
        x = np.ones(3, np.float32)
        opt = spec.cls(x, eps=1e-50)
        with pytest.raises(ValueError, match=expect(name("eps"), "float32", "unchanged")):
            opt.step(np.ones(3, np.float32))
        assert opt.t == 0
        assert np.all(x == 1.0)

    @pytest.mark.parametrize("spec", ALGORITHMS)
    def test_lr_whose_step_overflows_float32_is_refused_at_the_step(self, spec):
        x = np.ones(3, np.float32)
        # (a number beyond float32 is refused at construction: test_step_safety)
        opt = spec.cls(x, lr=lambda t: 1e300)
        with pytest.raises(ValueError, match=expect(name("lr"), "float32", "unchanged")):
            opt.step(np.ones(3, np.float32))
        assert np.all(x == 1.0)

    @pytest.mark.parametrize("value", [1.5, -0.1, float("nan")])
    def test_nadam_state_with_a_bad_mu_product_is_refused(self, value):
        opt = adamopt.NAdam(np.zeros(2))
        opt.step(np.ones(2))
        state = opt.state_dict()
        state["mu_product"] = value
        with pytest.raises(ValueError, match=expect(name("mu_product"), shown(value))):
            opt.load_state_dict(state)

    def test_nadam_state_at_t0_must_have_mu_product_1(self):
        state = adamopt.NAdam(np.zeros(2)).state_dict()
        state["mu_product"] = 0.5
        with pytest.raises(ValueError, match=r"1 at t = 0"):
            adamopt.NAdam(np.zeros(2)).load_state_dict(state)

    def test_rmsprop_centered_state_does_not_fit_an_uncentered_optimizer(self):
        opt = adamopt.RMSprop(np.zeros(2), centered=True)
        opt.step(np.ones(2))
        with pytest.raises(ValueError, match="centered=True"):
            adamopt.RMSprop(np.zeros(2)).load_state_dict(opt.state_dict())

    def test_rmsprop_centered_variance_rounded_below_zero_gives_no_nan(self):
        # v == avg**2 exactly: v - avg**2 rounds to at most 0, PyTorch would take
        # the square root of a negative number where it rounds below.
        x = np.zeros(4, np.float32)
        opt = adamopt.RMSprop(x, centered=True, alpha=0.0)
        g = np.array([0.1, 3.3, 1e-3, 7.7], np.float32)
        opt.step(g)
        np.testing.assert_allclose(x, -0.01 * g / 1e-8, rtol=1e-6)


def test_adagrad_sum_starts_at_the_initial_accumulator_value():
    opt = adamopt.Adagrad(np.zeros(3, np.float32), initial_accumulator_value=0.5)
    state = opt.state_dict()
    assert state["sum"].dtype == np.float32
    np.testing.assert_array_equal(state["sum"], 0.5)
