"""The registry-driven suite: every declared algorithm (``adamopt._algorithms``)
against its NumPy oracle and ``torch.optim`` counterpart, its validation, its
checkpoints, schedules and threads, with no test written for any one of them.

A new declaration is tested here as it is added: the cases are its default
options and each of its declared ``combinations``, in float32 and float64.
"""

import pickle

import numpy as np
import pytest
from helpers import expect, name

import adamopt
from adamopt import _catalog, _reference, _registry

ALGORITHMS = _registry.algorithms()
DTYPES = [np.float32, np.float64]


def _params(a):
    return pytest.param(a, id=a.name)


def _cases():
    for a in ALGORITHMS:
        for i, combo in enumerate(({}, *a.combinations)):
            yield pytest.param(a, dict(combo), id=f"{a.name}-{i}")


CASES = list(_cases())
BY_ALGORITHM = [_params(a) for a in ALGORITHMS]


def _cls(a):
    return _catalog.CLASSES[a.name]


def _options(a, combo, lr=None):
    """Constructor options: a learning rate that moves x visibly, and ``combo``."""
    default = a.hyperparameter("lr").default
    return {"lr": lr if lr is not None else max(default, 1e-2), **combo}


def _gradients(rng, n, dtype, steps):
    return [(rng.standard_normal(n) * (1 + t % 7)).astype(dtype) for t in range(steps)]


# -- oracle ---------------------------------------------------------------------------------

#: Per dtype: the tolerance of one compiled step against the oracle's, from the
#: same state (the oracle computes in float64 and rounds once; the kernels round
#: each operation in the parameters' dtype).
ORACLE_TOL = {np.float32: dict(rtol=2e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("a", "combo"), CASES)
def test_step_matches_the_oracle(a, combo, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(41).astype(dtype)
    options = _options(a, combo)
    opt = _cls(a)(x, **options)
    oracle = getattr(_reference, a.oracle)
    full = {**{h.name: h.default for h in a.hyperparameters}, "maximize": False, **options}
    for t, g in enumerate(_gradients(rng, x.size, dtype, 20), start=1):
        before = {k: v for k, v in opt.state_dict().items()
                  if k in a.state_names(combo) or k in a.state_scalars}
        want_x, want_state = oracle(x.copy(), g, before, t, **full)
        opt.step(g)
        scale = max(1.0, float(np.abs(x).max()))
        tol = dict(ORACLE_TOL[dtype], atol=ORACLE_TOL[dtype]["atol"] * scale)
        np.testing.assert_allclose(x, want_x, err_msg=f"x at step {t}", **tol)
        state = opt.state_dict()
        for key, want in want_state.items():
            np.testing.assert_allclose(state[key], want, err_msg=f"{key} at step {t}",
                                       **ORACLE_TOL[dtype])


# -- PyTorch ----------------------------------------------------------------------------------

#: Per dtype, over 30 steps from the same start with the same gradients.
TORCH_TOL = {np.float32: dict(rtol=2e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}


def _torch_cases():
    for a in ALGORITHMS:
        if a.torch is None:
            continue
        for i, combo in enumerate(({}, *a.combinations)):
            if any(key in a.torch.missing for key in combo):
                continue
            for impl in a.torch.implementations:
                yield pytest.param(a, dict(combo), impl, id=f"{a.name}-{i}-{impl}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("a", "combo", "impl"), list(_torch_cases()))
def test_steps_match_torch_optim(a, combo, impl, dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(33).astype(dtype)
    ours = x0.copy()
    options = _options(a, combo)
    opt = _cls(a)(ours, **options)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64 if dtype is np.float64 else torch.float32)
    try:
        p = torch.tensor(x0.copy(), requires_grad=True)
        flags = {"single": dict(foreach=False), "foreach": dict(foreach=True),
                 "fused": dict(fused=True)}[impl]
        topt = getattr(torch.optim, a.torch.name)([p], **a.torch.kwargs(options), **flags)
        for t, g in enumerate(_gradients(rng, x0.size, dtype, 30), start=1):
            opt.step(g)
            p.grad = torch.from_numpy(g.copy())
            topt.step()
            np.testing.assert_allclose(ours, p.detach().numpy(), err_msg=f"step {t}",
                                       **TORCH_TOL[dtype])
    finally:
        torch.set_default_dtype(previous)


# -- validation -------------------------------------------------------------------------------


def _bad_cases():
    for a in ALGORITHMS:
        for option, value, error in a.bad_options:
            yield pytest.param(a, option, value, error, id=f"{a.name}-{option}-{value!r}")


@pytest.mark.parametrize(("a", "option", "value", "error"), list(_bad_cases()))
def test_bad_option_is_refused_at_construction(a, option, value, error):
    with pytest.raises(error, match=expect(name(option), a.class_name, "Got")):
        _cls(a)(np.zeros(3), **{option: value})


@pytest.mark.parametrize(("a", "option", "value", "error"), list(_bad_cases()))
def test_bad_option_set_later_changes_nothing(a, option, value, error):
    if a.hyperparameter(option).fixed:
        pytest.skip("fixed at construction")
    opt = _cls(a)(np.zeros(3))
    before = getattr(opt, option)
    with pytest.raises(error, match=expect(name(option), a.class_name)):
        setattr(opt, option, value)
    assert getattr(opt, option) == before


@pytest.mark.parametrize("a", BY_ALGORITHM)
def test_a_bad_gradient_changes_nothing(a):
    x = np.ones(5)
    opt = _cls(a)(x)
    opt.step(np.full(5, 0.5))
    state, x_before = opt.state_dict(), x.copy()
    with pytest.raises(ValueError, match=expect(name("grad"), a.class_name)):
        opt.step(np.array([1.0, np.nan, 1.0, 1.0, 1.0]))
    after = opt.state_dict()
    np.testing.assert_array_equal(x, x_before)
    assert after.keys() == state.keys()
    for key, value in state.items():
        np.testing.assert_array_equal(after[key], value)


# -- checkpoints ------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("a", "combo"), CASES)
def test_state_dict_resumes_bitwise(a, combo, dtype):
    rng = np.random.default_rng(1)
    grads = _gradients(rng, 17, dtype, 10)
    x = rng.standard_normal(17).astype(dtype)
    opt = _cls(a)(x, **_options(a, combo))
    for g in grads[:5]:
        opt.step(g)
    saved, x_saved = opt.state_dict(), x.copy()
    for g in grads[5:]:
        opt.step(g)
    y = x_saved.copy()
    resumed = _cls(a)(y, **_options(a, combo))
    resumed.load_state_dict(saved)
    for g in grads[5:]:
        resumed.step(g)
    np.testing.assert_array_equal(y, x)


@pytest.mark.parametrize(("a", "combo"), CASES)
def test_state_dict_names_come_from_the_declaration(a, combo):
    state = _cls(a)(np.zeros(4), **combo).state_dict()
    hyper = {h.name for h in a.hyperparameters} | {"maximize"}
    assert set(state) == ({"algorithm", "t"} | set(a.state_names(combo))
                          | set(a.state_scalars) | hyper)
    assert state["algorithm"] == a.name


@pytest.mark.parametrize(("a", "combo"), CASES)
def test_pickle_continues_bitwise(a, combo):
    rng = np.random.default_rng(2)
    x = rng.standard_normal(9)
    opt = _cls(a)(x, **_options(a, combo))
    opt.step(rng.standard_normal(9))
    clone = pickle.loads(pickle.dumps(opt))
    g = rng.standard_normal(9)
    opt.step(g)
    clone.step(g)
    np.testing.assert_array_equal(clone.params, x)


@pytest.mark.parametrize("a", BY_ALGORITHM)
def test_method_resumes_from_a_checkpoint_file(a, tmp_path):
    from scipy.optimize import minimize

    def f(x):
        return float(x @ x), 2 * x

    path = tmp_path / "run.npz"
    options = {"lr": a.quadratic_lr, "gtol": 0.0}
    method = _catalog.METHODS[a.name]
    whole = minimize(f, np.full(3, 2.0), jac=True, method=method,
                     options=dict(options, maxiter=40))
    minimize(f, np.full(3, 2.0), jac=True, method=method,
             options=dict(options, maxiter=20, checkpoint=str(path)))
    rest = minimize(f, np.full(3, 2.0), jac=True, method=method,
                    options=dict(options, maxiter=40, checkpoint=str(path), resume=True))
    np.testing.assert_array_equal(rest.x, whole.x)


# -- schedules and threads --------------------------------------------------------------------


@pytest.mark.parametrize(("a", "combo"), CASES)
def test_schedule_is_the_learning_rate_set_each_step(a, combo):
    rng = np.random.default_rng(3)
    grads = _gradients(rng, 11, np.float64, 12)
    base = _options(a, combo)["lr"]
    schedule = adamopt.CosineWarmRestarts(T_0=4, T_mult=2)
    x, y = np.ones(11), np.ones(11)
    scheduled = _cls(a)(x, **_options(a, combo, lr=base * schedule))
    manual = _cls(a)(y, **_options(a, combo))
    for t, g in enumerate(grads, start=1):
        manual.lr = (base * schedule)(t)
        scheduled.step(g)
        manual.step(g)
    np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("a", "combo"), CASES)
def test_threads_give_the_same_bits(a, combo, dtype):
    rng = np.random.default_rng(4)
    n = 40_000
    grads = _gradients(rng, n, dtype, 3)
    x0 = rng.standard_normal(n).astype(dtype)
    results = []
    for threads in (1, 2):
        previous = adamopt.set_num_threads(threads)
        try:
            x = x0.copy()
            opt = _cls(a)(x, **_options(a, combo))
            for g in grads:
                opt.step(g)
        finally:
            adamopt.set_num_threads(previous)
        results.append(x)
    np.testing.assert_array_equal(results[0], results[1])


# -- the SciPy method and the docs ------------------------------------------------------------


@pytest.mark.parametrize("a", BY_ALGORITHM)
def test_method_converges_on_a_quadratic(a):
    from scipy.optimize import minimize
    res = minimize(lambda x: (float(x @ x), 2 * x), np.array([3.0, -2.0, 1.0]), jac=True,
                   method=_catalog.METHODS[a.name],
                   options={"lr": a.quadratic_lr, "maxiter": 3000, "gtol": 1e-6})
    assert np.abs(res.x).max() < 0.1


@pytest.mark.parametrize("a", BY_ALGORITHM)
def test_public_names_are_exported(a):
    assert getattr(adamopt, a.class_name) is _cls(a)
    assert getattr(adamopt, a.name) is _catalog.METHODS[a.name]
    assert {a.class_name, a.name} <= set(adamopt.__all__)


@pytest.mark.parametrize("a", BY_ALGORITHM)
def test_show_options_lists_every_hyperparameter(a):
    text = adamopt.show_options(a.name, disp=False)
    for h in a.hyperparameters:
        assert f"{h.name} : {h.type}" in text


@pytest.mark.parametrize("a", BY_ALGORITHM)
def test_signature_and_defaults_come_from_the_declaration(a):
    opt = _cls(a)(np.zeros(2))
    for h in a.hyperparameters:
        assert getattr(opt, h.name) == h.default


@pytest.mark.parametrize("a", BY_ALGORITHM)
def test_gtol_measures_a_finite_vector_of_the_parameters_size(a):
    opt = _cls(a)(np.ones(6))
    g = np.linspace(-1, 1, 6)
    opt.step(g)
    vector, scale, _ = opt._smoothed_gradient(g)
    assert np.isfinite(scale)
    assert np.asarray(vector).shape == (6,)


@pytest.mark.parametrize("a", BY_ALGORITHM)
def test_the_oracle_and_the_kernel_exist(a):
    from adamopt import _kernels
    assert callable(getattr(_reference, a.oracle))
    assert a.kernel in _kernels.KERNELS


def test_readme_algorithm_table_is_the_generated_one():
    from pathlib import Path

    from adamopt import _tables
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert _tables.readme_table(readme) == _tables.algorithm_table()
