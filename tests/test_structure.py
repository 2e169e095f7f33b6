"""Parameters as a structure (lists, dicts, PyTorch's parameter groups) and the
fused gradient clipping, for every algorithm of the registry: parity with
torch.optim (groups, clip_grad_norm_, clip_grad_value_, None gradients), the
one-array path, state and pickling, views, and one test per bad input."""

import pickle
import re

import numpy as np
import pytest
from helpers import expect, name
from hypothesis import given, settings
from hypothesis import strategies as st

from adamopt import _catalog, _kernels, _registry

#: (Prodigy and D-Adapt step one array: their estimate is not yet summed over a
#: structure; tests/test_dadapt.py tests the refusal.)
ALGORITHMS = [a for a in _registry.algorithms() if not a.one_array]
TORCH_ALGORITHMS = [pytest.param(a, id=a.name) for a in ALGORITHMS if a.torch is not None]
BY_ALGORITHM = [pytest.param(a, id=a.name) for a in ALGORITHMS]
DTYPES = [np.float32, np.float64]


def _cls(a):
    return _catalog.CLASSES[a.name]


def _lr(a):
    return max(a.hyperparameter("lr").default, 1e-2)


def _arrays(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return {"W1": rng.standard_normal((3, 4)).astype(dtype),
            "W2": rng.standard_normal((4, 2)).astype(dtype),
            "b1": rng.standard_normal(4).astype(dtype)}


def _grads(rng, arrays, t):
    """Gradients of step t; b1's is None every 7th step (skipped)."""
    out = {k: (rng.standard_normal(v.shape) * (1 + t % 5)).astype(v.dtype)
           for k, v in arrays.items()}
    if t % 7 == 3:
        out["b1"] = None
    return out


def _groups(a, arrays):
    return [{"params": [arrays["W1"], arrays["W2"]]},
            {"params": [arrays["b1"]], "lr": _lr(a) / 2, "weight_decay": 0.0}]


def _structured_grads(g):
    return [[g["W1"], g["W2"]], [g["b1"]]]


# -- PyTorch ---------------------------------------------------------------------------------

#: Per dtype, over 300 steps (float32: the roundings of 300 steps).
TORCH_TOL = {np.float32: dict(rtol=2e-4, atol=1e-5), np.float64: dict(rtol=1e-12, atol=1e-13)}


@pytest.mark.parametrize("clip", ["none", "norm", "value"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("a", TORCH_ALGORITHMS)
def test_groups_and_clipping_match_torch_optim(a, dtype, clip):
    torch = pytest.importorskip("torch")
    arrays = _arrays(dtype)
    start = {k: v.copy() for k, v in arrays.items()}
    options = {"lr": _lr(a), "weight_decay": 0.01}
    clipping = {"none": {}, "norm": {"max_grad_norm": 3.0}, "value": {"max_grad_value": 1.5}}
    opt = _cls(a)(_groups(a, arrays), **options, **clipping[clip])
    tdtype = torch.float64 if dtype is np.float64 else torch.float32
    previous = torch.get_default_dtype()
    torch.set_default_dtype(tdtype)   # (NAdam's mu_product, RAdam's step: of this dtype)
    try:
        _torch_run(torch, a, tdtype, opt, arrays, start, options, clip, dtype)
    finally:
        torch.set_default_dtype(previous)


def _torch_run(torch, a, tdtype, opt, arrays, start, options, clip, dtype):
    ps = {k: torch.tensor(v, dtype=tdtype, requires_grad=True) for k, v in start.items()}
    kwargs = a.torch.kwargs(options)
    kwargs.pop("lr")
    topt = getattr(torch.optim, a.torch.name)(
        [{"params": [ps["W1"], ps["W2"]]},
         {"params": [ps["b1"]], "lr": _lr(a) / 2, "weight_decay": 0.0}],
        lr=_lr(a), **kwargs, foreach=False)
    rng = np.random.default_rng(1)
    for t in range(1, 301):
        g = _grads(rng, arrays, t)
        opt.step(_structured_grads(g))
        for k, p in ps.items():
            p.grad = None if g[k] is None else torch.from_numpy(g[k].copy())
        with_grad = [p for p in ps.values() if p.grad is not None]
        if clip == "norm":
            norm = torch.nn.utils.clip_grad_norm_(with_grad, 3.0)
            np.testing.assert_allclose(opt.grad_norm, float(norm), rtol=1e-5 if dtype is
                                       np.float32 else 1e-13)
        elif clip == "value":
            torch.nn.utils.clip_grad_value_(with_grad, 1.5)
        topt.step()
        for k, p in ps.items():
            np.testing.assert_allclose(arrays[k], p.detach().numpy(), err_msg=f"{k} at {t}",
                                       **TORCH_TOL[dtype])


# -- the same arithmetic as one array -----------------------------------------------------------


def _combos():
    for a in ALGORITHMS:
        for i, combo in enumerate(({}, *a.combinations)):
            yield pytest.param(a, dict(combo), id=f"{a.name}-{i}")


@pytest.mark.parametrize(("a", "combo"), list(_combos()))
def test_each_array_steps_as_its_own_optimizer_bitwise(a, combo):
    """Two groups, mixed dtypes, None gradients: each array as a one-array
    optimizer with its group's options (which the oracle tests cover)."""
    cls = _cls(a)
    arrays = {"W1": _arrays(np.float64)["W1"], "W2": _arrays(np.float32)["W2"],
              "b1": _arrays(np.float64)["b1"]}
    singles = {k: cls(v.copy(), lr=_lr(a), **combo) for k, v in arrays.items()}
    singles["b1"].lr = _lr(a) / 3
    opt = cls([{"params": {"W1": arrays["W1"], "W2": arrays["W2"]}},
               {"params": arrays["b1"], "lr": _lr(a) / 3}], lr=_lr(a), **combo)
    rng = np.random.default_rng(2)
    for t in range(1, 40):
        g = _grads(rng, arrays, t)
        opt.step([{"W1": g["W1"], "W2": g["W2"]}, g["b1"]])
        for k, single in singles.items():
            if g[k] is not None:
                single.step(g[k])
            np.testing.assert_array_equal(arrays[k], single.params, err_msg=f"{k} at {t}")
    assert [m.t for m in opt._segments.members] == [s.t for s in singles.values()]
    assert opt.t == 39


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("a", BY_ALGORITHM)
def test_clipping_by_norm_is_the_step_with_the_scaled_gradient_bitwise(a, dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(5000).astype(dtype)
    plain = _cls(a)(x.copy(), lr=_lr(a))
    opt = _cls(a)(x, lr=_lr(a), max_grad_norm=10.0)
    for t in range(1, 20):
        g = (rng.standard_normal(x.size) * t).astype(dtype)
        opt.step(g)
        np.testing.assert_allclose(opt.grad_norm, np.linalg.norm(g.astype(np.float64)),
                                   rtol=1e-13)
        coef = 10.0 / (opt.grad_norm + 1e-6)
        plain.step(g * dtype(coef) if coef < 1 else g)
        np.testing.assert_array_equal(x, plain.params, err_msg=f"step {t}")


@pytest.mark.parametrize("a", BY_ALGORITHM)
def test_clipping_by_value_is_the_step_with_the_clamped_gradient_bitwise(a):
    rng = np.random.default_rng(4)
    x = rng.standard_normal(300)
    plain = _cls(a)(x.copy(), lr=_lr(a))
    opt = _cls(a)(x, lr=_lr(a), max_grad_value=0.5)
    for _ in range(20):
        g = rng.standard_normal(x.size)
        opt.step(g)
        plain.step(np.clip(g, -0.5, 0.5))
        np.testing.assert_array_equal(x, plain.params)


def test_one_array_without_clipping_takes_the_plain_step():
    opt = _cls(_registry.get("adam"))(np.zeros(3))
    assert opt._segments is None
    opt.max_grad_norm = 1.0
    assert opt._segments is not None
    opt.max_grad_norm = None
    assert opt._segments is None
    assert opt.grad_norm is None


def test_the_norm_is_the_same_on_any_number_of_threads():
    rng = np.random.default_rng(5)
    g = rng.standard_normal(300_001)
    results = []
    previous = _kernels._get_num_threads()
    try:
        for threads in (1, 2, 3):
            _kernels._set_num_threads(threads)
            x = np.ones_like(g)
            opt = _cls(_registry.get("adam"))([x[:100_000], x[100_000:]], max_grad_norm=1.0)
            opt.step([g[:100_000], g[100_000:]])
            results.append((opt.grad_norm, x.copy()))
    finally:
        _kernels._set_num_threads(previous)
    for norm, x in results[1:]:
        assert norm == results[0][0]
        np.testing.assert_array_equal(x, results[0][1])


def test_a_norm_whose_squares_overflow_is_scaled():
    opt = _cls(_registry.get("sgd"))(np.zeros(4), lr=1e-300, max_grad_norm=1.0)
    opt.step(np.full(4, 1e200))
    assert opt.grad_norm == pytest.approx(2e200, rel=1e-15)


def test_per_group_clipping_clips_within_the_group():
    Adam = _cls(_registry.get("adam"))
    a, b = np.zeros(4), np.zeros(4)
    opt = Adam([{"params": a}, {"params": b, "max_grad_norm": None}], max_grad_norm=1.0,
               lr=0.1)
    ref_a = Adam(np.zeros(4), lr=0.1)
    ref_b = Adam(np.zeros(4), lr=0.1)
    for t in range(1, 5):
        ga, gb = np.full(4, 3.0 * t), np.arange(4.0) * t
        opt.step([ga, gb])
        ref_a.step(ga * (1.0 / (np.linalg.norm(ga) + 1e-6)))
        ref_b.step(gb)
        np.testing.assert_allclose(a, ref_a.params, rtol=1e-15)
        np.testing.assert_array_equal(b, ref_b.params)


# -- structures, groups, None --------------------------------------------------------------------


def test_step_returns_the_structure_and_updates_in_place():
    Adam = _cls(_registry.get("adam"))
    arrays = _arrays(np.float64)
    opt = Adam(arrays, lr=0.1)
    before = {k: v.copy() for k, v in arrays.items()}
    out = opt.step({k: np.ones_like(v) for k, v in arrays.items()})
    assert out is arrays
    assert opt.params is arrays
    for k in arrays:
        assert not np.array_equal(arrays[k], before[k])


def test_none_skips_an_array_and_keeps_its_step_count():
    Adam = _cls(_registry.get("adam"))
    x, y = np.zeros(3), np.zeros(3)
    opt = Adam([x, y], lr=0.1)
    opt.step([np.ones(3), None])
    assert opt.t == 1
    assert np.all(y == 0)
    state = opt.state_dict()["state"]
    assert state[0]["t"] == 1
    assert state[1]["t"] == 0
    assert not state[1]["m"].any()


def test_a_whole_group_may_be_none():
    Adam = _cls(_registry.get("adam"))
    x, y = np.zeros(3), np.zeros(3)
    opt = Adam([{"params": [x]}, {"params": [y]}], lr=0.1)
    opt.step([None, [np.ones(3)]])
    assert np.all(x == 0)
    assert np.all(y != 0)


def test_param_groups_read_and_set_each_groups_hyperparameters():
    Adam = _cls(_registry.get("adam"))
    x, y = np.zeros(3), np.zeros(3)
    opt = Adam([{"params": x}, {"params": y, "lr": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["params"] is y
    opt.param_groups[0]["lr"] = 0.2
    opt.step([np.ones(3), np.ones(3)])   # Adam's first step moves by lr
    np.testing.assert_allclose(x, -0.2, rtol=1e-6)
    np.testing.assert_allclose(y, -0.5, rtol=1e-6)
    opt.lr = 0.3                         # the attribute sets every group
    assert [g["lr"] for g in opt.param_groups] == [0.3, 0.3]


def test_one_array_has_one_group_whose_keys_are_its_attributes():
    opt = _cls(_registry.get("adam"))(np.zeros(3), lr=0.1)
    (group,) = opt.param_groups
    group["lr"] = 0.25
    assert opt.lr == 0.25
    assert group["params"] is opt.params


def test_mixed_dtypes_keep_their_own():
    Adam = _cls(_registry.get("adam"))
    x32, x64 = np.zeros(3, np.float32), np.zeros(3)
    opt = Adam([x32, x64], lr=0.1)
    opt.step([np.ones(3, np.float32), np.ones(3)])
    assert opt.state_dict()["state"][0]["m"].dtype == np.float32


def test_a_non_contiguous_view_is_updated_in_place():
    Adam = _cls(_registry.get("adam"))
    big = np.zeros((6, 4))
    view = big[:, 1]
    ref = np.zeros(6)
    opt, single = Adam([view], lr=0.1), Adam(ref, lr=0.1)
    rng = np.random.default_rng(6)
    for _ in range(5):
        g = rng.standard_normal(6)
        opt.step([g])
        single.step(g)
    np.testing.assert_array_equal(view, ref)
    assert not big[:, 0].any()
    assert not big[:, 2:].any()


def test_contiguous_ranges_of_one_array_are_groups():
    Adam = _cls(_registry.get("adam"))
    x, ref = np.zeros(10), np.zeros(10)
    opt = Adam([{"params": x[:4]}, {"params": x[4:], "lr": 0.5}], lr=0.1)
    a, b = Adam(ref[:4], lr=0.1), Adam(ref[4:], lr=0.5)
    g = np.arange(10.0) - 4.5
    for _ in range(3):
        opt.step([g[:4], g[4:]])
        a.step(g[:4])
        b.step(g[4:])
    np.testing.assert_array_equal(x, ref)


# -- state ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("dtype", "clip"), [(np.float64, "max_grad_norm"),
                                           (np.float32, "max_grad_norm"),
                                           (np.float64, "max_grad_value")],
                         ids=["float64-norm", "float32-norm", "float64-value"])
@pytest.mark.parametrize("a", BY_ALGORITHM)
def test_a_state_saved_mid_run_continues_bitwise(a, dtype, clip):
    cls = _cls(a)

    def make(arrays):
        return cls(_groups(a, arrays), lr=_lr(a), **{clip: 3.0 if clip == "max_grad_norm"
                                                     else 1.5})

    arrays = _arrays(dtype)
    opt = make(arrays)
    rng = np.random.default_rng(7)
    grads = [_grads(rng, arrays, t) for t in range(1, 31)]
    for g in grads[:15]:
        opt.step(_structured_grads(g))
    saved = opt.state_dict()
    copy = {k: v.copy() for k, v in arrays.items()}
    resumed = make(copy)
    resumed.load_state_dict(saved)
    unpickled = pickle.loads(pickle.dumps(opt))
    for g in grads[15:]:
        opt.step(_structured_grads(g))
        resumed.step(_structured_grads(g))
        unpickled.step(_structured_grads(g))
    for k in arrays:
        np.testing.assert_array_equal(arrays[k], copy[k])
    for got, want in zip(pickle.loads(pickle.dumps(unpickled.params)), opt.params,
                         strict=True):
        for p, q in zip(got, want, strict=True):
            np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("a", BY_ALGORITHM)
def test_the_state_of_a_structure_is_one_aligned_buffer_per_dtype(a):
    arrays = {"W": np.ones((3, 5), order="F"), "b": np.ones(7), "c": np.ones(4, np.float32),
              "d": np.ones((2, 3))}
    opt = _cls(a)(arrays, lr=_lr(a))
    members = opt._segments.members
    for i, state in enumerate(members[0]._state):
        if state is None:
            assert all(m._state[i] is None for m in members)
            continue
        f64 = [m._state[i] for m in members if m.params.dtype == np.float64]
        assert all(s.base is f64[0].base for s in f64)
        for m in members:
            s = m._state[i]
            assert s.ctypes.data % 64 == 0
            assert s.shape == m.params.shape
            assert s.dtype == m.params.dtype
            assert s.flags.f_contiguous == m.params.flags.f_contiguous
            assert s.flags.c_contiguous == m.params.flags.c_contiguous


def test_the_shared_state_is_refused_if_it_does_not_replace_one_for_one():
    from adamopt import Adam
    opt = Adam(np.ones(3))
    before = [s.copy() if s is not None else None for s in opt._state]
    with pytest.raises(ValueError, match="one for one"):
        opt._share_state([np.zeros(3), None, None, None])
    with pytest.raises(ValueError, match="size, dtype and memory layout"):
        opt._share_state([np.zeros(4), np.zeros(4), None, None])
    for s, b in zip(opt._state, before, strict=True):
        assert (s is None) == (b is None)
        if s is not None:
            np.testing.assert_array_equal(s, b)


def test_the_state_dict_has_pytorchs_layout():
    Adam = _cls(_registry.get("adam"))
    opt = Adam([{"params": [np.zeros(2), np.zeros(3)]}, {"params": [np.zeros(1)], "lr": 0.5}])
    state = opt.state_dict()
    assert set(state["state"]) == {0, 1, 2}
    assert [g["params"] for g in state["param_groups"]] == [[0, 1], [2]]
    assert state["param_groups"][1]["lr"] == 0.5


def test_a_one_array_state_dict_keeps_its_format():
    Adam = _cls(_registry.get("adam"))
    opt = Adam(np.zeros(3), max_grad_norm=2.0)
    opt.step(np.ones(3))
    state = opt.state_dict()
    assert state["max_grad_norm"] == 2.0
    assert state["m"].shape == (3,)
    plain = Adam(np.zeros(3))
    plain.load_state_dict(state)
    assert plain.max_grad_norm == 2.0
    assert plain.t == 1


def test_a_bad_state_changes_nothing():
    Adam = _cls(_registry.get("adam"))
    opt = Adam([np.zeros(2), np.zeros(3)])
    opt.step([np.ones(2), np.ones(3)])
    state = opt.state_dict()
    state["state"][1]["m"] = np.full(3, np.nan)
    before = opt.state_dict()
    with pytest.raises(ValueError, match="finite"):
        opt.load_state_dict(state)
    after = opt.state_dict()
    np.testing.assert_array_equal(after["state"][0]["m"], before["state"][0]["m"])
    np.testing.assert_array_equal(after["state"][1]["m"], before["state"][1]["m"])


# -- bad input: a clear error, nothing changed ------------------------------------------------


def _two():
    Adam = _cls(_registry.get("adam"))
    x, y = np.zeros(3), np.zeros(2)
    return Adam({"x": x, "y": y}, lr=0.1), x, y


def _unchanged(opt, x, y):
    assert not x.any()
    assert not y.any()
    assert opt.t == 0


@pytest.mark.parametrize(("grads", "error", "piece"), [
    ([np.ones(3), np.ones(2)], TypeError, "dict"),
    ({"x": np.ones(3)}, ValueError, re.escape("missing keys ['y']")),
    ({"x": np.ones(3), "y": np.ones(2), "z": np.ones(1)}, ValueError,
     re.escape("unknown keys ['z']")),
    ({"x": np.ones(3), "y": np.ones(5)}, ValueError, "shape"),
    ({"x": np.ones(3), "y": "a"}, TypeError, "real numbers"),
], ids=["type", "missing", "unknown", "shape", "dtype"])
def test_gradients_not_matching_the_structure_are_refused(grads, error, piece):
    opt, x, y = _two()
    with pytest.raises(error, match=expect(name("grad"), piece)):
        opt.step(grads)
    _unchanged(opt, x, y)


def test_a_list_of_the_wrong_length_is_refused():
    Adam = _cls(_registry.get("adam"))
    x, y = np.zeros(3), np.zeros(2)
    opt = Adam([x, y])
    with pytest.raises(ValueError, match=expect(name("grad"), "2 arrays", "Got 1")):
        opt.step([np.ones(3)])
    _unchanged(opt, x, y)


def test_a_bad_gradient_in_the_last_array_leaves_the_first_untouched():
    opt, x, y = _two()
    with pytest.raises(ValueError, match=expect(name("grad"), "finite", "'y'")):
        opt.step({"x": np.ones(3), "y": np.array([1.0, np.nan])})
    _unchanged(opt, x, y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bad", ["over the limit", "nan", "inf"])
def test_clipping_by_norm_still_refuses_a_gradient_the_check_refuses(dtype, bad):
    # With max_grad_norm the check's scan is skipped on a block whose sum of
    # squares proves every element below the limit: a block with one element
    # just over it (or non-finite) must still be refused, and change nothing.
    limit = _kernels.GRAD_LIMIT_FLOAT64 if dtype == np.float64 else _kernels.GRAD_LIMIT_FLOAT32
    value = {"over the limit": np.nextafter(dtype(limit), dtype(np.inf)), "nan": np.nan,
             "inf": np.inf}[bad]
    x = np.ones(5000, dtype=dtype)
    opt = _cls(_registry.get("adam"))(x, lr=1e-3, max_grad_norm=1.0)
    g = np.full(5000, 1e-3, dtype=dtype)
    g[4321] = value
    before = pickle.dumps(opt.state_dict())
    with pytest.raises(ValueError, match=name("grad")):
        opt.step(g)
    np.testing.assert_array_equal(x, 1.0)
    assert pickle.dumps(opt.state_dict()) == before


def test_the_same_array_twice_is_refused():
    Adam = _cls(_registry.get("adam"))
    x = np.zeros(3)
    with pytest.raises(ValueError, match=expect(name("params"), "same array twice")):
        Adam([{"params": [x]}, {"params": [x], "lr": 0.1}])


def test_overlapping_arrays_are_refused():
    Adam = _cls(_registry.get("adam"))
    x = np.zeros(10)
    with pytest.raises(ValueError, match=expect(name("params"), "overlap")):
        Adam([x[:6], x[4:]])


def test_interleaved_views_do_not_overlap():
    Adam = _cls(_registry.get("adam"))
    x = np.zeros(10)
    Adam([x[::2], x[1::2]])


@pytest.mark.parametrize("params", [[], {}, [{"params": []}]], ids=["list", "dict", "group"])
def test_an_empty_structure_or_group_is_refused(params):
    Adam = _cls(_registry.get("adam"))
    with pytest.raises(ValueError, match=expect(name("params"), "at least one array")):
        Adam(params)


@pytest.mark.parametrize("a", BY_ALGORITHM)
def test_a_group_key_that_is_no_hyperparameter_is_refused(a):
    with pytest.raises(ValueError, match=expect("'betas2'", "not a hyperparameter",
                                                a.class_name)):
        _cls(a)([{"params": np.zeros(2), "betas2": 0.9}])


@pytest.mark.parametrize("key", ["amsgrad", "check_finite"])
def test_a_fixed_option_in_a_group_is_refused(key):
    Adam = _cls(_registry.get("adam"))
    with pytest.raises(ValueError, match=expect(f"'{key}'", "fixed for the whole optimizer")):
        Adam([{"params": np.zeros(2), key: True}])


@pytest.mark.parametrize("key", ["max_grad_norm", "max_grad_value"])
@pytest.mark.parametrize("value", [0.0, -1.0, float("nan")])
def test_a_bad_clipping_bound_is_refused(key, value):
    Adam = _cls(_registry.get("adam"))
    with pytest.raises(ValueError, match=expect(name(key), "Adam", "> 0")):
        Adam(np.zeros(2), **{key: value})


def test_a_bad_value_set_in_a_group_changes_nothing():
    Adam = _cls(_registry.get("adam"))
    opt = Adam([{"params": np.zeros(2)}, {"params": np.zeros(2)}], lr=0.1)
    with pytest.raises(ValueError, match=expect(name("beta1"), re.escape("[0, 1)"))):
        opt.param_groups[1]["beta1"] = 1.5
    assert opt.param_groups[1]["beta1"] == 0.9
    with pytest.raises(ValueError, match="fixed at construction"):
        opt.param_groups[0]["params"] = np.zeros(2)


# -- hypothesis: any structure is its arrays stepped one by one -----------------------------------


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(0, 70), min_size=1, max_size=6),
       dtypes=st.lists(st.sampled_from(DTYPES), min_size=6, max_size=6),
       skips=st.lists(st.booleans(), min_size=18, max_size=18),
       a=st.sampled_from(ALGORITHMS))
def test_any_structure_steps_each_array_as_one(sizes, dtypes, skips, a):
    rng = np.random.default_rng(len(sizes))
    arrays = [rng.standard_normal(n).astype(dtypes[i]) for i, n in enumerate(sizes)]
    singles = [_cls(a)(v.copy(), lr=_lr(a)) for v in arrays]
    opt = _cls(a)(arrays, lr=_lr(a))
    for t in range(3):
        grads = [None if skips[t * 6 + i] else rng.standard_normal(v.size).astype(v.dtype)
                 for i, v in enumerate(arrays)]
        opt.step(grads)
        for single, g in zip(singles, grads, strict=True):
            if g is not None:
                single.step(g)
    for v, single in zip(arrays, singles, strict=True):
        np.testing.assert_array_equal(v, single.params)


@pytest.mark.parametrize("params", [[np.zeros(3)], {"W": np.zeros(3)},
                                    [{"params": [np.zeros(3)]}]], ids=["list", "dict", "groups"])
def test_swats_takes_one_array_and_points_to_ravel(params):
    from adamopt import SWATS
    with pytest.raises(TypeError, match=expect(name("params"), "SWATS", "one", "ravel")):
        SWATS(params)


def test_swats_on_ravels_vector_is_swats_on_the_concatenated_arrays():
    from adamopt import SWATS, ravel
    arrays = _arrays(np.float64)
    x, unravel = ravel(arrays)
    flat = np.concatenate([v.ravel() for v in arrays.values()])
    opt, ref = SWATS(x, lr=1e-2, switch_tol=1e-3), SWATS(flat, lr=1e-2, switch_tol=1e-3)
    rng = np.random.default_rng(3)
    for _ in range(50):
        g = {k: rng.standard_normal(v.shape) for k, v in arrays.items()}
        opt.step(unravel.ravel(g))
        ref.step(np.concatenate([v.ravel() for v in g.values()]))
    np.testing.assert_array_equal(x, flat)
    assert opt.switched_at == ref.switched_at
    np.testing.assert_array_equal(unravel(x)["b1"], flat[-4:])


def test_a_scipy_method_clips_with_max_grad_norm():
    from scipy.optimize import minimize

    import adamopt
    res = minimize(lambda x: (float(x @ x), 2 * x), np.full(3, 5.0), jac=True,
                   method=adamopt.sgd, options={"lr": 0.1, "maxiter": 1, "max_grad_norm": 1.0})
    np.testing.assert_allclose(res.x, 5.0 - 0.1 / (1 + 1e-6 / np.sqrt(300)) / np.sqrt(3))


def test_the_post_pass_is_refused_on_a_structure():
    Adam = _cls(_registry.get("adam"))
    opt = Adam([np.zeros(3), np.zeros(2)])
    with pytest.raises(ValueError, match="one array without gradient clipping"):
        opt._post(lower=0.0)


def test_the_post_pass_refuses_a_step_once_clipping_is_set():
    Adam = _cls(_registry.get("adam"))
    x = np.zeros(3)
    opt = Adam(x)
    opt._post(lower=0.0)
    opt.max_grad_norm = 1.0
    with pytest.raises(ValueError, match="one array without gradient clipping"):
        opt.step(np.ones(3))
    assert opt.t == 0
