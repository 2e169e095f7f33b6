"""Iterate averaging (``average``, ``average_decay``, ``average_start``;
adamopt._averaging): every algorithm against the NumPy oracle
(`adamopt._reference.averaged`), the in-pass update bitwise against NumPy's
``a += c * (x - a)``, structures, clipping, SWATS and the SciPy methods'
groups (the separate pass), bad input, state dicts, pickling and resumed
SciPy runs bitwise."""

import pickle

import numpy as np
import pytest
from scipy.optimize import minimize

import adamopt
from adamopt import _averaging, _catalog, _reference, _registry

# (an algorithm that averages its own iterates, schedule-free, refuses ``average``:
# tests/test_schedulefree.py)
ALGORITHMS = [pytest.param(a, id=a.name) for a in _registry.algorithms() if a.averaged is None]
DTYPES = [np.float32, np.float64]
KINDS = [("ema", dict(average_decay=0.9)), ("polyak", dict(average_start=3))]
#: The oracle averages in float64 and rounds once; the pass rounds each update.
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


def _lr(a):
    return max(a.hyperparameter("lr").default, 1e-2)


def _grads(rng, n, dtype, steps):
    return [(rng.standard_normal(n) * (1 + t % 5)).astype(dtype) for t in range(steps)]


def _numpy_average(iterates, kind, options):
    """The recursion with `_averaging.weight` in NumPy (the pass's arithmetic)."""
    a = iterates[0].copy()
    decay = options.get("average_decay", 0.999)
    start = options.get("average_start", 0)
    for t, x in enumerate(iterates[1:], start=1):
        c = _averaging.weight(kind, decay, start, t)
        a = x.copy() if c == 1.0 else a + a.dtype.type(c) * (x - a)
    return a


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("kind", "options"), KINDS)
@pytest.mark.parametrize("a", ALGORITHMS)
def test_average_matches_the_oracle(a, kind, options, dtype):
    rng = np.random.default_rng(1)
    x = rng.standard_normal(4099).astype(dtype)     # more than one post-pass block
    opt = _catalog.CLASSES[a.name](x, lr=_lr(a), average=kind, **options)
    iterates = [x.copy()]
    for t, g in enumerate(_grads(rng, x.size, dtype, 12), start=1):
        opt.step(g)
        iterates.append(x.copy())
        want = _reference.averaged(iterates, kind, decay=options.get("average_decay", 0.999),
                                   start=options.get("average_start", 0))
        np.testing.assert_allclose(opt.averaged, want, err_msg=f"step {t}", **TOL[dtype])
    assert opt.averaged.dtype == dtype
    np.testing.assert_array_equal(opt.averaged, _numpy_average(iterates, kind, options))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("how", ["list", "dict", "clipped", "swats"])
def test_separate_pass_matches_the_oracle(how, dtype):
    """Structures, clipping (segmented steps) and SWATS average in a NumPy pass."""
    rng = np.random.default_rng(2)
    W, b = rng.standard_normal((5, 7)).astype(dtype), rng.standard_normal(7).astype(dtype)
    if how == "list":
        opt, arrays = adamopt.Adam([W, b], lr=0.05, average="ema"), [W, b]
    elif how == "dict":
        opt, arrays = adamopt.Adam({"W": W, "b": b}, lr=0.05, average="ema"), [W, b]
    elif how == "clipped":
        opt, arrays = adamopt.Adam(b, lr=0.05, average="ema", max_grad_norm=1.0), [b]
    else:
        opt, arrays = adamopt.SWATS(b, lr=0.05, average="ema"), [b]
    iterates = [[x.copy() for x in arrays]]
    for _ in range(10):
        grads = [rng.standard_normal(x.shape).astype(dtype) for x in arrays]
        opt.step(grads if how in ("list",) else dict(W=grads[0], b=grads[1])
                 if how == "dict" else grads[0])
        iterates.append([x.copy() for x in arrays])
    got = opt.averaged
    got = list(got.values()) if how == "dict" else got if how == "list" else [got]
    for i, g in enumerate(got):
        want = _reference.averaged([it[i] for it in iterates], "ema")
        np.testing.assert_allclose(g, want, **TOL[dtype])
        assert not g.flags.writeable


def test_off_by_default_and_read_only():
    x = np.zeros(10)
    opt = adamopt.Adam(x)
    assert opt.averaged is None
    assert opt.average is None
    assert "step" not in vars(opt)
    opt = adamopt.Adam(x, average="polyak")
    np.testing.assert_array_equal(opt.averaged, x)   # before any step: x0
    with pytest.raises(ValueError):
        opt.averaged[0] = 1.0
    opt.average = None
    assert opt.averaged is None
    assert "step" not in vars(opt)


@pytest.mark.parametrize(("name", "value", "exc"), [
    ("average", "mean", ValueError), ("average", 1, TypeError),
    ("average_decay", 1.0, ValueError), ("average_decay", 0.0, ValueError),
    ("average_decay", "0.9", TypeError), ("average_start", -1, ValueError),
    ("average_start", 1.5, TypeError)])
def test_bad_options_are_refused(name, value, exc):
    with pytest.raises(exc, match=name):
        adamopt.Adam(np.zeros(3), **{name: value})
    opt = adamopt.Adam(np.zeros(3), average="ema")
    before = (opt.average, opt.average_decay, opt.average_start)
    with pytest.raises(exc, match=name):
        setattr(opt, name, value)
    assert (opt.average, opt.average_decay, opt.average_start) == before
    calls = []
    with pytest.raises(exc, match=name):
        minimize(lambda x: calls.append(1) or (x @ x, 2 * x), np.ones(3), jac=True,
                 method=adamopt.adam, options={name: value})
    assert calls == []


@pytest.mark.parametrize("structure", [False, True])
def test_state_dict_and_pickle_resume_bitwise(structure):
    rng = np.random.default_rng(3)
    grads = [rng.standard_normal(6) for _ in range(20)]

    def make():
        x = np.linspace(-1, 1, 6)
        return (adamopt.Adam([x[:2], x[2:]] if structure else x, lr=0.1, average="polyak",
                             average_start=4), x)

    def step(opt, g):
        opt.step([g[:2], g[2:]] if structure else g)

    straight, _ = make()
    for g in grads:
        step(straight, g)
    first, x_first = make()
    for g in grads[:10]:
        step(first, g)
    saved = first.state_dict()
    again, x_again = make()
    x_again[...] = x_first      # a state dict holds the state, not the parameters
    again.average = "ema"       # the state's settings replace these
    again.load_state_dict(saved)
    assert again.average == "polyak"
    assert again.average_start == 4
    restored = pickle.loads(pickle.dumps(first)) if not structure else None
    for g in grads[10:]:
        step(again, g)
        if restored is not None:
            step(restored, g)
    flat = (lambda p: np.concatenate(p)) if structure else (lambda p: p)
    np.testing.assert_array_equal(flat(again.averaged), flat(straight.averaged))
    if restored is not None:
        np.testing.assert_array_equal(restored.averaged, straight.averaged)


def test_bad_state_is_refused_and_changes_nothing():
    opt = adamopt.Adam(np.zeros(4), average="ema")
    opt.step(np.ones(4))
    state = opt.state_dict()
    before = opt.averaged.copy()
    for bad in (np.zeros(5), np.array([np.nan, 0, 0, 0]), np.zeros(4, np.float32)):
        with pytest.raises(ValueError, match="averaged"):
            opt.load_state_dict({**state, "averaged": bad, "t": 0})
        assert opt.t == 1
        np.testing.assert_array_equal(opt.averaged, before)
    with pytest.raises(ValueError, match="average"):
        opt.load_state_dict({**state, "average": None})


def _noisy_quadratic(seed):
    rng = np.random.default_rng(seed)

    def f(x):
        return float((x - 1) @ (x - 1)), 2 * (x - 1) + rng.standard_normal(x.size)
    return f


@pytest.mark.parametrize("method", [adamopt.adam, adamopt.swats])
def test_minimize_returns_the_average(method):
    res = minimize(_noisy_quadratic(0), np.zeros(20), jac=True, method=method,
                   options=dict(lr=0.05, maxiter=400, average="polyak", average_start=200,
                                gtol=0))
    assert res.x.shape == res.x_last.shape == (20,)
    assert res.fun == pytest.approx(float((res.x - 1) @ (res.x - 1)))
    assert res.fun_last == pytest.approx(float((res.x_last - 1) @ (res.x_last - 1)))
    assert res.fun < res.fun_last / 3
    assert res.nfev == 402          # the evaluation at the averaged point is counted


def test_minimize_groups_average():
    res = minimize(_noisy_quadratic(0), np.zeros(20), jac=True, method=adamopt.adam,
                   options=dict(lr=0.05, maxiter=400, average="ema", average_decay=0.99,
                                groups=[{"params": slice(0, 8), "lr": 0.02}], gtol=0))
    assert res.fun < res.fun_last / 3


def test_minimize_state_resume_bitwise():
    scale = np.linspace(0.5, 5.0, 8)

    def f(x):
        return float(scale @ (x - 1) ** 4), 4 * scale * (x - 1) ** 3

    options = dict(lr=0.05, average="ema", average_decay=0.95, gtol=0)
    straight = minimize(f, np.zeros(8), jac=True, method=adamopt.adam,
                        options=dict(options, maxiter=40))
    first = minimize(f, np.zeros(8), jac=True, method=adamopt.adam,
                     options=dict(options, maxiter=20))
    second = minimize(f, first.x_last, jac=True, method=adamopt.adam,
                      options=dict(options, maxiter=20, state=first.state))
    np.testing.assert_array_equal(second.x_last, straight.x_last)
    np.testing.assert_array_equal(second.x, straight.x)
    assert not np.array_equal(second.x, second.x_last)


def test_minimize_checkpoint_resume_bitwise(tmp_path):
    scale = np.linspace(0.5, 5.0, 8)

    def f(x):
        return float(scale @ (x - 1) ** 4), 4 * scale * (x - 1) ** 3

    path = str(tmp_path / "run.npz")
    options = dict(lr=0.05, average="polyak", average_start=5, gtol=0)
    straight = minimize(f, np.zeros(8), jac=True, method=adamopt.adam,
                        options=dict(options, maxiter=40))
    minimize(f, np.zeros(8), jac=True, method=adamopt.adam,
             options=dict(options, maxiter=20, checkpoint=path))
    second = minimize(f, np.zeros(8), jac=True, method=adamopt.adam,
                      options=dict(options, maxiter=40, checkpoint=path, resume=True))
    np.testing.assert_array_equal(second.x, straight.x)
    np.testing.assert_array_equal(second.x_last, straight.x_last)
