"""The compiled Adam/AdamW step against the NumPy reference (``adamopt._reference``).

Every test here runs once for each compiled variant of the loops that this
build has and this CPU runs (``baseline``, ``avx2``): see the ``kernel``
fixture.

Tolerances: one step is compared with the bound of `helpers.step_error_bounds`,
twice a first-order running error bound of the kernel (in the parameters'
dtype) plus that of the reference (in float64).  It comes to a few units in
the last place of max(|x|, |update|) of the dtype: float32 results are
compared at float32 precision, float64 results at float64 precision.
"""

import numpy as np
import pytest
from helpers import make_optimizer, random_state, reference_step, step_error_bounds
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import adamopt
from adamopt import _kernels
from adamopt._kernels import GRAD_LIMIT_FLOAT32, GRAD_LIMIT_FLOAT64

DTYPES = [np.float32, np.float64]


@pytest.fixture(autouse=True, scope="module", params=_kernels.available_kernels())
def kernel(request):
    """Run the module's tests with each available variant of the loops."""
    previous = _kernels._use_kernel(request.param)
    yield request.param
    _kernels._use_kernel(previous)
LIMIT = {np.float32: GRAD_LIMIT_FLOAT32, np.float64: GRAD_LIMIT_FLOAT64}

betas = st.one_of(
    st.sampled_from([0.0, 0.3, 0.5, 0.9, 0.99, 0.999, 1 - 1e-7, 1 - 1e-9]),
    st.floats(0.0, 1.0, exclude_max=True),
)
log_uniform = lambda lo, hi: st.floats(lo, hi).map(lambda e: 10.0**e)  # noqa: E731


@st.composite
def options(draw):
    algorithm = draw(st.sampled_from(["adam", "adamw"]))
    opts = dict(
        algorithm=algorithm,
        lr=draw(log_uniform(-6, 1)),
        beta1=draw(betas),
        beta2=draw(betas),
        eps=draw(log_uniform(-12, 0)),
        weight_decay=draw(st.one_of(st.just(0.0), log_uniform(-4, 1))),
        amsgrad=draw(st.booleans()),
        maximize=draw(st.booleans()),
    )
    if algorithm == "adamw":
        opts["decay_scaling"] = draw(st.sampled_from(["lr", "schedule"]))
        opts["eta"] = draw(st.sampled_from([1.0, 0.5, 1e-3]))
    return opts


@st.composite
def problems(draw, dtype, grad_exponents):
    """Parameters, gradient and a consistent state, for one step at time t."""
    shape = draw(st.one_of(
        hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5),
        st.integers(0, 70).map(lambda n: (n,)),        # crosses vector-loop tails
    ))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(grad_exponents)
    rng = np.random.default_rng(seed)
    g = (rng.standard_normal(shape) * 10.0 ** (scale + rng.uniform(-3, 3, shape)))
    x = rng.standard_normal(shape) * 10.0 ** rng.uniform(-5, 5, shape)
    t = draw(st.one_of(st.sampled_from([1, 2, 3, 10, 1000, 10**6]), st.integers(1, 10**6)))
    return np.asarray(x, dtype), np.asarray(g, dtype), t, rng, 10.0**scale


def _state(rng, shape, dtype, t, scale, amsgrad):
    if t == 1:
        zeros = np.zeros(shape, dtype)
        return zeros, zeros.copy(), zeros.copy() if amsgrad else None
    scale = min(scale, float(LIMIT[dtype]) / 100)   # a state the dtype can hold
    return random_state(rng, shape, dtype, scale=scale, amsgrad=amsgrad)


def _schedule_kwargs(opts):
    """Constructor keywords: the schedule multiplier eta becomes `schedule=`."""
    kwargs = {k: v for k, v in opts.items() if k != "eta"}
    if opts.get("eta", 1.0) != 1.0:
        eta = opts["eta"]
        kwargs["schedule"] = lambda t: eta
    return kwargs


def _within(actual, expected, bound):
    actual = np.asarray(actual, np.float64)
    expected = np.asarray(expected, np.float64)
    err = np.abs(actual - expected)
    bad = ~(err <= bound)
    assert not bad.any(), (
        f"{int(bad.sum())} elements off; worst error/bound "
        f"{np.max(np.where(bad, err / bound, 0)):.3g} at {np.argmax(np.where(bad, err, 0))}"
    )


class TestAdamStep:
    """One compiled step equals the reference for every option combination."""

    @pytest.mark.parametrize("dtype", DTYPES)
    @settings(suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def test_one_step_matches_reference(self, dtype, data):
        opts = data.draw(options())
        top = 15 if dtype is np.float32 else 30
        x, g, t, rng, scale = data.draw(problems(dtype, st.floats(-30, top)))
        effective = np.abs(g.astype(np.float64))
        if opts["algorithm"] == "adam":
            effective = effective + opts["weight_decay"] * np.abs(x.astype(np.float64))
        assume(not np.any(effective > LIMIT[dtype] / 2))
        m, v, vmax = _state(rng, x.shape, dtype, t, scale, opts["amsgrad"])
        params = x.copy()
        opt = make_optimizer(params, t=t - 1, m=m, v=v, vmax=vmax, **_schedule_kwargs(opts))
        assert opt.step(g) is params
        state = opt.state_dict()
        x_ref, m_ref, v_ref, vmax_ref = reference_step(x, g, m, v, vmax, t, **opts)
        bx, bm, bv = step_error_bounds(x, g, m, v, vmax, t, dtype, **opts)
        _within(params, x_ref, bx)
        _within(state["m"], m_ref, bm)
        _within(state["v"], v_ref, bv)
        if opts["amsgrad"]:
            _within(state["vmax"], vmax_ref, bv)
        assert state["t"] == t

    @pytest.mark.parametrize("dtype", DTYPES)
    @settings(suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def test_gradient_too_large_for_dtype_is_refused_and_nothing_changes(self, dtype, data):
        opts = data.draw(options())
        x, g, t, rng, scale = data.draw(problems(dtype, st.floats(-30, 30)))
        assume(g.size > 0)
        huge = data.draw(st.sampled_from([np.inf, -np.inf, np.nan, float(LIMIT[dtype]) * 1.01,
                                          float(np.finfo(dtype).max)]))
        g[np.unravel_index(data.draw(st.integers(0, g.size - 1)), g.shape)] = huge
        m, v, vmax = _state(rng, x.shape, dtype, t, scale, opts["amsgrad"])
        params = x.copy()
        opt = make_optimizer(params, t=t - 1, m=m, v=v, vmax=vmax, **_schedule_kwargs(opts))
        before = opt.state_dict()
        with pytest.raises(ValueError, match=r"'grad' parameter of Adam(W)?\.step"):
            opt.step(g)
        after = opt.state_dict()
        assert params.tobytes() == x.tobytes()
        for key in ("m", "v", "vmax"):
            if key in before:
                assert after[key].tobytes() == before[key].tobytes()
        assert after["t"] == t - 1

    @pytest.mark.parametrize("dtype", DTYPES)
    @pytest.mark.parametrize("n", [4095, 4096, 20011])
    def test_large_arrays_released_from_the_gil_match_reference(self, dtype, n):
        rng = np.random.default_rng(n)
        x = rng.standard_normal(n).astype(dtype)
        g = rng.standard_normal(n).astype(dtype)
        m, v, vmax = random_state(rng, n, dtype, amsgrad=True)
        opts = dict(algorithm="adamw", lr=0.01, amsgrad=True)
        params = x.copy()
        make_optimizer(params, t=4, m=m, v=v, vmax=vmax, **opts).step(g)
        x_ref = reference_step(x, g, m, v, vmax, 5, **opts)[0]
        _within(params, x_ref, step_error_bounds(x, g, m, v, vmax, 5, dtype, **opts)[0])


class TestAgainstReferenceOverManySteps:
    @pytest.mark.parametrize("algorithm", ["adam", "adamw"])
    @pytest.mark.parametrize("amsgrad", [False, True])
    def test_1000_steps_float64_equal_reference_at_every_step(self, algorithm, amsgrad):
        n = 64
        x = 3.0 + np.linspace(0.0, 2.0, n)       # away from 0: a relative test is fair
        opts = dict(lr=1e-3, weight_decay=0.05, amsgrad=amsgrad)
        opt = make_optimizer(x, algorithm=algorithm, **opts)
        xr, mr, vr = x.copy(), np.zeros(n), np.zeros(n)
        vmr = np.zeros(n) if amsgrad else None
        k = np.arange(1, n + 1)
        for t in range(1, 1001):
            g = np.sin(0.37 * t * k) * (1.0 + 0.5 * np.cos(0.011 * t))
            opt.step(g)
            xr, mr, vr, vmr = reference_step(xr, g, mr, vr, vmr, t, algorithm=algorithm, **opts)
            np.testing.assert_allclose(x, xr, rtol=1e-12, atol=0, err_msg=f"step {t}")

    @pytest.mark.parametrize("algorithm", ["adam", "adamw"])
    def test_1000_steps_float32_stay_within_float32_rounding_of_reference(self, algorithm):
        n = 64
        x = (3.0 + np.linspace(0.0, 2.0, n)).astype(np.float32)
        opts = dict(lr=1e-3, weight_decay=0.05)
        opt = make_optimizer(x, algorithm=algorithm, **opts)
        xr = x.astype(np.float64)
        mr, vr = np.zeros(n), np.zeros(n)
        k = np.arange(1, n + 1)
        for t in range(1, 1001):
            g = (np.sin(0.37 * t * k) * (1.0 + 0.5 * np.cos(0.011 * t))).astype(np.float32)
            opt.step(g)
            # The reference run in float64 throughout: the float32 run may drift
            # from it by its rounding, one float32 ulp of x per step at most.
            xr, mr, vr, _ = reference_step(xr, g, mr, vr, None, t, algorithm=algorithm, **opts)
        np.testing.assert_allclose(x, xr, rtol=1000 * np.finfo(np.float32).eps, atol=0)


class TestFirstStep:
    @pytest.mark.parametrize("dtype", DTYPES)
    @pytest.mark.parametrize("maximize", [False, True])
    def test_first_step_is_lr_g_over_abs_g_plus_eps(self, dtype, maximize):
        rng = np.random.default_rng(7)
        n = 10_000
        top = 18 if dtype is np.float32 else 30
        g = (rng.standard_normal(n) * 10.0 ** rng.uniform(-30, top, n)).astype(dtype)
        x0 = (rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3, n)).astype(dtype)
        lr, eps = 0.0123, 1e-8
        x = x0.copy()
        adamopt.Adam(x, lr=lr, eps=eps, maximize=maximize).step(g)
        g64 = g.astype(np.float64) * (-1.0 if maximize else 1.0)
        expected = (x0.astype(np.float64) - lr * g64 / (np.abs(g64) + eps)).astype(dtype)
        ulps = np.abs(x.astype(np.float64) - expected) / np.spacing(np.abs(expected))
        assert ulps.max() <= 2

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_first_step_moves_every_coordinate_by_about_lr(self, dtype):
        g = np.array([1e-6, -3.0, 250.0, -1e12], dtype=dtype)
        x = np.zeros(4, dtype)
        adamopt.Adam(x, lr=0.5).step(g)
        np.testing.assert_allclose(x, -0.5 * np.sign(g), rtol=1e-2)


class TestFloat32Precision:
    @pytest.mark.parametrize("beta2", [1 - 1e-6, 1 - 1e-7, 1 - 1e-8])
    def test_beta2_close_to_one_keeps_bias_corrected_second_moment_exact(self, beta2):
        # With a constant gradient, v_t = (1 - beta2**t) g^2 exactly, so the
        # bias-corrected vhat_t = g^2 and every step is lr g / (|g| + eps).
        g = np.array([0.5, -2.0, 3e-3], dtype=np.float32)
        x = np.zeros(3, np.float32)
        opt = adamopt.Adam(x, lr=1e-3, beta2=beta2)
        for t in range(1, 201):
            before = x.copy()
            opt.step(g)
            v_hat = opt.state_dict()["v"].astype(np.float64) / (1.0 - beta2**t)
            np.testing.assert_allclose(v_hat, g.astype(np.float64) ** 2, rtol=1e-5)
            assert np.all(np.isfinite(x))
            np.testing.assert_allclose(before - x, 1e-3 * np.sign(g), rtol=2e-3)

    def test_beta2_close_to_one_float32_matches_float64_run(self):
        rng = np.random.default_rng(3)
        x32 = rng.standard_normal(100).astype(np.float32)
        x64 = x32.astype(np.float64)
        o32 = adamopt.Adam(x32, lr=1e-3, beta2=1 - 1e-7)
        o64 = adamopt.Adam(x64, lr=1e-3, beta2=1 - 1e-7)
        for _ in range(100):
            g = rng.standard_normal(100)
            o32.step(g.astype(np.float32))
            o64.step(g)
        np.testing.assert_allclose(x32, x64, rtol=1e-5, atol=1e-5)


class TestVectorisation:
    @pytest.mark.parametrize("dtype", DTYPES)
    @pytest.mark.parametrize("algorithm", ["adam", "adamw"])
    @pytest.mark.parametrize("amsgrad", [False, True])
    def test_vector_loop_and_scalar_tail_give_identical_bits(self, dtype, algorithm, amsgrad):
        # 37 elements run through the vectorised body and the scalar tail; the
        # same values stepped one at a time run through the tail only.
        rng = np.random.default_rng(11)
        n = 37
        xs = rng.standard_normal(n).astype(dtype)
        whole = xs.copy()
        singles = [xs[i:i + 1].copy() for i in range(n)]
        opts = dict(algorithm=algorithm, amsgrad=amsgrad, lr=0.01, weight_decay=0.1)
        big = make_optimizer(whole, **opts)
        small = [make_optimizer(s, **opts) for s in singles]
        for _ in range(5):
            g = rng.standard_normal(n).astype(dtype)
            big.step(g)
            for i, o in enumerate(small):
                o.step(g[i:i + 1])
        assert whole.tobytes() == np.concatenate(singles).tobytes()


class TestNonFiniteWithoutCheck:
    @pytest.mark.parametrize("dtype", DTYPES)
    def test_nan_gradient_propagates_like_the_reference(self, dtype):
        x = np.array([1.0, 2.0, 3.0], dtype)
        g = np.array([0.5, np.nan, -0.5], dtype)
        opt = adamopt.Adam(x.copy(), check_finite=False, amsgrad=True)
        out = opt.step(g)
        ref = reference_step(x, g, np.zeros(3, dtype), np.zeros(3, dtype),
                             np.zeros(3, dtype), 1, amsgrad=True)
        np.testing.assert_array_equal(np.isnan(out), np.isnan(ref[0]))
        state = opt.state_dict()
        assert np.isnan(state["m"][1])
        assert np.isnan(state["v"][1])
        assert np.isnan(state["vmax"][1])
        assert np.all(np.isfinite(out[[0, 2]]))
