"""Prodigy and DAdaptAdam (adamopt._algorithms.dadapt) against their reference
packages, ``prodigyopt`` 1.1.2 and ``dadaptation`` 3.2 (skipped without them
or without PyTorch), and what the registry suite does not cover: the
deterministic sums, the skipped steps, the refusals.

The registry suite (tests/test_registry.py) tests both as every algorithm:
oracle, state_dict and pickle resume bitwise, checkpoints, schedules,
threads, bad options, the SciPy method.
"""

import numpy as np
import pytest
from helpers import expect, name
from hypothesis import given, settings
from hypothesis import strategies as st

import adamopt
from adamopt import _reference, _registry

#: The options tested against the reference packages (each a dict of
#: non-defaults; None: the defaults).
PRODIGY_OPTIONS = [
    {}, dict(use_bias_correction=True), dict(safeguard_warmup=True),
    dict(weight_decay=0.1), dict(weight_decay=0.1, decouple=False), dict(beta1=0.0),
    dict(beta3=0.5), dict(d_coef=0.5), dict(growth_rate=1.02), dict(d0=1e-3),
    dict(beta1=0.5, beta2=0.9, eps=1e-6), dict(lr=0.5), dict(maximize=True),
    dict(weight_decay=0.05, decouple=False, use_bias_correction=True, safeguard_warmup=True,
         growth_rate=1.05, beta3=0.9, d_coef=2.0),
]
DADAPT_OPTIONS = [
    {}, dict(use_bias_correction=True), dict(weight_decay=0.1),
    dict(weight_decay=0.1, decouple=True), dict(beta1=0.0), dict(growth_rate=1.02),
    dict(d0=1e-3), dict(beta1=0.5, beta2=0.9, eps=1e-6), dict(lr=0.5), dict(maximize=True),
    dict(weight_decay=0.05, decouple=True, use_bias_correction=True, growth_rate=1.05),
]

#: The objective: a noisy ill-conditioned quadratic 0.5 sum(c (x - 3)**2).
N = 50


def _gradient(x, t, dtype):
    rng = np.random.default_rng(t)
    c = np.linspace(0.1, 10.0, x.size)
    return (c * (x - 3.0) + 0.1 * rng.standard_normal(x.size)).astype(dtype)


def _reference_class(algorithm):
    pytest.importorskip("torch")
    if algorithm == "prodigy":
        return pytest.importorskip("prodigyopt").Prodigy
    return pytest.importorskip("dadaptation").DAdaptAdam


def _run_both(algorithm, options, dtype, steps):
    """Our class and the reference one from the same start with the same
    gradients (taken at our iterate); yields both iterates after each step."""
    import torch
    cls = adamopt.Prodigy if algorithm == "prodigy" else adamopt.DAdaptAdam
    reference = _reference_class(algorithm)
    options = dict(options)
    maximize = options.pop("maximize", False)
    kwargs = {k: v for k, v in options.items() if k not in ("beta1", "beta2")}
    kwargs["betas"] = (options.get("beta1", 0.9), options.get("beta2", 0.999))
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(N).astype(dtype)
    x = x0.copy()
    opt = cls(x, maximize=maximize, **options)
    p = torch.tensor(x0.copy())
    ref = reference([p], **kwargs)
    for t in range(1, steps + 1):
        g = _gradient(x, t, dtype)
        if maximize:
            g = -g
        opt.step(g)
        p.grad = torch.from_numpy(-g if maximize else g.copy())
        ref.step()
        yield t, x, p.detach().numpy()


@pytest.mark.parametrize("options", PRODIGY_OPTIONS, ids=repr)
def test_prodigy_matches_prodigyopt_float64(options, capsys):
    for t, ours, theirs in _run_both("prodigy", options, np.float64, 300):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12, err_msg=f"step {t}")


@pytest.mark.parametrize("options", DADAPT_OPTIONS, ids=repr)
def test_dadapt_adam_matches_dadaptation_float64(options, capsys):
    for t, ours, theirs in _run_both("dadapt_adam", options, np.float64, 300):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12, err_msg=f"step {t}")


#: float32: the references sum in float32, we in float64 (the documented
#: deviation), so d differs by float32 roundings of the sums; the iterates
#: agree to a few float32 roundings over the first steps.
FLOAT32_TOL = dict(rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("options", PRODIGY_OPTIONS, ids=repr)
def test_prodigy_matches_prodigyopt_float32(options, capsys):
    for t, ours, theirs in _run_both("prodigy", options, np.float32, 30):
        np.testing.assert_allclose(ours, theirs, err_msg=f"step {t}", **FLOAT32_TOL)


@pytest.mark.parametrize("options", DADAPT_OPTIONS, ids=repr)
def test_dadapt_adam_matches_dadaptation_float32(options, capsys):
    for t, ours, theirs in _run_both("dadapt_adam", options, np.float32, 30):
        np.testing.assert_allclose(ours, theirs, err_msg=f"step {t}", **FLOAT32_TOL)


# -- what the registry suite does not cover ---------------------------------------------------

CLASSES = [adamopt.Prodigy, adamopt.DAdaptAdam]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sums_are_the_same_bits_with_one_and_two_threads(cls, dtype):
    n = 100_003   # many blocks, the last one partial
    results = []
    for threads in (1, 2):
        previous = adamopt.set_num_threads(threads)
        try:
            x = np.linspace(-1, 1, n).astype(dtype)
            opt = cls(x)
            for t in range(1, 6):
                opt.step(_gradient(x, t, dtype))
        finally:
            adamopt.set_num_threads(previous)
        results.append((x, opt.state_dict()))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    assert results[0][1]["d"] == results[1][1]["d"]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_d_grows_from_d0_on_a_quadratic(cls):
    x = np.full(10, 5.0)
    opt = cls(x)
    for _ in range(50):
        opt.step(2 * x)
    assert opt.state_dict()["d"] > 1e3 * opt.d0


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_a_zero_gradient_changes_nothing_but_t(cls):
    x = np.full(7, 2.0)
    opt = cls(x, weight_decay=0.1, decouple=True)
    before = opt.state_dict()
    opt.step(np.zeros(7))
    after = opt.state_dict()
    np.testing.assert_array_equal(x, 2.0)
    assert after["t"] == 1
    for key, value in before.items():
        if key != "t":
            np.testing.assert_array_equal(after[key], value)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_a_structure_is_refused_with_nothing_changed(cls):
    a, b = np.ones(3), np.ones(4)
    opt = cls([a, b])
    with pytest.raises(ValueError, match=expect(cls.__name__, "one array")):
        opt.step([np.ones(3), np.ones(4)])
    np.testing.assert_array_equal(a, 1.0)
    np.testing.assert_array_equal(b, 1.0)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_clipping_is_refused_with_nothing_changed(cls):
    x = np.ones(5)
    opt = cls(x, max_grad_norm=1.0)
    with pytest.raises(ValueError, match=expect(cls.__name__, "clipping")):
        opt.step(np.ones(5))
    np.testing.assert_array_equal(x, 1.0)


def test_p0_is_a_copy_of_the_initial_parameters():
    x = np.arange(4.0)
    opt = adamopt.Prodigy(x)
    opt.step(np.ones(4))
    np.testing.assert_array_equal(opt.state_dict()["p0"], np.arange(4.0))


def test_beta3_none_means_sqrt_beta2():
    x, y = np.ones(6), np.ones(6)
    a = adamopt.Prodigy(x)
    b = adamopt.Prodigy(y, beta3=float(np.sqrt(0.999)))
    assert a.beta3 is None
    for t in range(1, 20):
        a.step(_gradient(x, t, np.float64))
        b.step(_gradient(y, t, np.float64))
    np.testing.assert_array_equal(x, y)


def test_a_bad_d_in_a_state_is_refused():
    opt = adamopt.Prodigy(np.ones(3))
    state = opt.state_dict()
    state["d"] = -1.0
    with pytest.raises(ValueError, match=expect(name("d"), "positive")):
        opt.load_state_dict(state)
    assert opt.state_dict()["d"] == opt.d0


@pytest.mark.parametrize("algorithm", ["prodigy", "dadapt_adam"])
def test_the_oracle_skips_a_zero_learning_rate(algorithm):
    cls = adamopt.Prodigy if algorithm == "prodigy" else adamopt.DAdaptAdam
    x = np.ones(3)
    opt = cls(x, lr=0.0)
    state = opt.state_dict()
    options = {k: state[k] for k in state if k not in ("algorithm", "t", "beta3")}
    arrays = {k: v for k, v in state.items() if isinstance(v, np.ndarray)}
    scalars = {k: state[k] for k in cls._STATE_SCALARS}
    want, _ = getattr(_reference, algorithm)(x.copy(), np.ones(3), {**arrays, **scalars}, 1,
                                             **{k: v for k, v in options.items()
                                                if k not in arrays and k not in scalars})
    opt.step(np.ones(3))
    np.testing.assert_array_equal(x, want)


# -- the oracle, by hypothesis ------------------------------------------------------------------

#: One compiled step against the oracle's from the same state, per dtype (the
#: oracle computes in float64 and rounds once; the sums differ in their order).
ORACLE_TOL = {np.float32: dict(rtol=5e-5, atol=1e-6), np.float64: dict(rtol=1e-11, atol=1e-13)}
DECLARED = [_registry.get("prodigy"), _registry.get("dadapt_adam")]


@settings(max_examples=40, deadline=None)
@given(a=st.sampled_from(DECLARED), n=st.integers(1, 5000), seed=st.integers(0, 2**16),
       dtype=st.sampled_from([np.float32, np.float64]), which=st.integers(0, 7),
       scale=st.sampled_from([1e-3, 1.0, 1e3]))
def test_every_step_matches_the_oracle(a, n, seed, dtype, which, scale):
    combos = ({}, *a.combinations)
    combo = dict(combos[which % len(combos)])
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(n) * scale).astype(dtype)
    opt = getattr(adamopt, a.class_name)(x, **combo)
    full = {**{h.name: h.default for h in a.hyperparameters}, "maximize": False, **combo}
    oracle = getattr(_reference, a.oracle)
    for t in range(1, 6):
        g = (rng.standard_normal(n) * scale).astype(dtype)
        state = opt.state_dict()
        before = {k: v for k, v in state.items()
                  if k in a.state_names(combo) or k in a.state_scalars}
        want_x, want = oracle(x.copy(), g, before, t, **full)
        opt.step(g)
        tol = dict(ORACLE_TOL[dtype])
        tol["atol"] = tol["atol"] * max(1.0, float(np.abs(want_x).max()))
        np.testing.assert_allclose(x, want_x, err_msg=f"x at step {t}", **tol)
        after = opt.state_dict()
        for key in a.state_scalars:
            np.testing.assert_allclose(after[key], want[key], rtol=ORACLE_TOL[dtype]["rtol"] * 10,
                                       err_msg=f"{key} at step {t}")
