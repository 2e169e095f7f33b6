"""The SciPy methods' ``groups`` option (``adamopt._run_groups``): PyTorch's
parameter groups over parts of ``x``."""

import numpy as np
import pytest
from helpers import expect, name
from scipy.optimize import minimize

import adamopt
from adamopt import _catalog, _registry
from adamopt._run_groups import _runs

N = 8


def _quadratic(x):
    return float(x @ x), 2 * x


def _run(groups, method=adamopt.adam, x0=None, **options):
    x0 = np.linspace(-1.0, 1.0, N) if x0 is None else x0
    return minimize(_quadratic, x0, jac=True, method=method,
                    options={"lr": 0.05, "maxiter": 5, "gtol": 0.0, "groups": groups,
                             **options})


def _refused(groups, error, *pieces, method=adamopt.adam):
    with pytest.raises(error, match=expect(name("groups"), method.__name__, *pieces)):
        _run(groups, method)


# -- runs of consecutive elements -----------------------------------------------------------

def test_runs_of_consecutive_indices():
    assert _runs(np.array([0, 1, 2, 5, 7, 8])) == [(0, 3), (5, 6), (7, 9)]


def test_runs_of_one_index():
    assert _runs(np.array([4])) == [(4, 5)]


# -- bad input: one test each ---------------------------------------------------------------

def test_groups_that_is_a_dict_is_refused():
    _refused({"params": slice(0, 2)}, TypeError, "list of dicts")


def test_a_group_that_is_not_a_dict_is_refused():
    _refused([slice(0, 2)], TypeError, "entry 0")


def test_a_group_without_params_is_refused():
    _refused([{"lr": 0.1}], ValueError, "group 0", "without a 'params' key")


def test_an_empty_slice_is_refused():
    _refused([{"params": slice(3, 3)}], ValueError, "group 0", "empty")


def test_an_empty_mask_is_refused():
    _refused([{"params": np.zeros(N, bool)}], ValueError, "group 0", "empty")


def test_an_empty_index_array_is_refused():
    _refused([{"params": []}], ValueError, "group 0", "empty")


def test_a_slice_beyond_x_is_refused_as_empty():
    _refused([{"params": slice(N, N + 3)}], ValueError, "no element of x")


def test_a_slice_of_non_integers_is_refused():
    _refused([{"params": slice(0, "a")}], TypeError, "slice")


def test_a_mask_of_the_wrong_length_is_refused():
    _refused([{"params": np.ones(N - 1, bool)}], ValueError, "mask", rf"\({N},\)",
             rf"\({N - 1},\)")


def test_an_index_out_of_range_is_refused():
    _refused([{"params": [0, N]}], ValueError, f"index {N}", "out of range")


def test_a_negative_index_out_of_range_is_refused():
    _refused([{"params": [-N - 1]}], ValueError, f"index {-N - 1}", "out of range")


def test_a_2d_index_array_is_refused():
    _refused([{"params": np.zeros((2, 1), int)}], ValueError, "1-D")


def test_float_indices_are_refused():
    _refused([{"params": [0.5, 1.0]}], TypeError, "index array")


def test_an_index_twice_in_a_group_is_refused():
    _refused([{"params": [1, 2, 1]}], ValueError, "element 1", "twice")


def test_overlapping_slices_of_one_group_are_refused():
    _refused([{"params": [slice(0, 3), slice(2, 4)]}], ValueError, "element 2", "twice")


def test_overlapping_groups_are_refused():
    _refused([{"params": slice(0, 4)}, {"params": [3, 5]}], ValueError, "element 3",
             "groups 0 and 1")


def test_a_key_that_is_no_hyperparameter_is_refused():
    _refused([{"params": slice(0, 2), "momentum": 0.9}], ValueError, name("momentum"),
             "not a hyperparameter", "momentum=0.9")


def test_a_fixed_option_in_a_group_is_refused():
    _refused([{"params": slice(0, 2), "amsgrad": True}], ValueError, name("amsgrad"),
             "fixed")


def test_maximize_in_a_group_is_refused():
    _refused([{"params": slice(0, 2), "maximize": True}], ValueError, name("maximize"),
             "whole run")


def test_a_bad_hyperparameter_value_names_the_group():
    _refused([{"params": slice(0, 2)}, {"params": slice(2, 4), "lr": -1.0}], ValueError,
             name("lr"), "group 1")


def test_a_bad_betas_in_a_group_names_its_element():
    _refused([{"params": slice(0, 2), "betas": (0.9, 1.5)}], ValueError, name("betas[1]"),
             "group 0")


def test_betas_and_beta1_in_a_group_are_refused():
    _refused([{"params": slice(0, 2), "betas": (0.9, 0.99), "beta1": 0.5}], ValueError,
             "not both")


def test_groups_of_swats_are_refused():
    _refused([{"params": slice(0, 2)}], ValueError, "not supported", method=adamopt.swats)


@pytest.mark.parametrize("a", _registry.algorithms(), ids=lambda a: a.name)
def test_every_hyperparameter_but_the_fixed_ones_is_a_group_key(a):
    from adamopt._run_groups import group_keys
    keys = group_keys(_catalog.CLASSES[a.name])
    assert {h.name for h in a.hyperparameters if not h.fixed} <= set(keys)
    assert not set(a.fixed()) & set(keys)


# -- behaviour ----------------------------------------------------------------------------------

#: (Prodigy and D-Adapt step one array: groups are refused, tests/test_dadapt.py.)
ALGORITHMS = [pytest.param(a, id=a.name) for a in _registry.algorithms() if not a.one_array]
STEPS = 6


def _method(a):
    return _catalog.METHODS[a.name]


def _lr(a):
    return max(a.hyperparameter("lr").default, 1e-2)


def _by_parts(a, x0, parts, steps=STEPS, **options):
    """The reference: one single-array optimizer per part of x (a slice each,
    with its own options), stepped with the gradient of sum(x**2)."""
    x = x0.copy()
    opts = [_catalog.CLASSES[a.name](x[s], **{"lr": _lr(a), **options, **own})
            for s, own in parts]
    for _ in range(steps):
        g = 2 * x
        for (s, _), opt in zip(parts, opts, strict=True):
            opt.step(g[s])
    return x


def _grouped(a, groups, steps=STEPS, x0=None, **options):
    x0 = np.linspace(-1.0, 1.0, N) if x0 is None else x0
    return minimize(_quadratic, x0, jac=True, method=_method(a),
                    options={"lr": _lr(a), "maxiter": steps, "gtol": 0.0,
                             "groups": groups, **options})


@pytest.mark.parametrize("a", ALGORITHMS)
def test_one_group_like_the_run_steps_as_without_groups(a):
    plain = _grouped(a, None)
    grouped = _grouped(a, [{"params": slice(0, 3)}])
    np.testing.assert_array_equal(grouped.x, plain.x)


@pytest.mark.parametrize("a", ALGORITHMS)
def test_groups_step_as_separate_optimizers_on_their_parts(a):
    x0 = np.linspace(-1.0, 1.0, N)
    res = _grouped(a, [{"params": slice(0, 3), "lr": 0.003}], x0=x0)
    expected = _by_parts(a, x0, [(slice(0, 3), {"lr": 0.003}), (slice(3, N), {})])
    # (the parts' iterates: res.x_last where the algorithm averages its own, schedule-free)
    np.testing.assert_array_equal(res.x_last if a.averaged is not None else res.x, expected)


def test_a_mask_groups_its_runs_of_elements():
    a = _registry.get("adam")
    mask = np.array([1, 1, 0, 0, 1, 0, 1, 1], bool)
    res = _grouped(a, [{"params": mask, "lr": 0.003}])
    parts = [(slice(0, 2), {"lr": 0.003}), (slice(2, 4), {}), (slice(4, 5), {"lr": 0.003}),
             (slice(5, 6), {}), (slice(6, 8), {"lr": 0.003})]
    np.testing.assert_array_equal(res.x, _by_parts(a, np.linspace(-1.0, 1.0, N), parts))


def test_a_mask_and_its_index_array_are_the_same_group():
    a = _registry.get("adam")
    mask = np.array([1, 1, 0, 0, 1, 0, 1, 1], bool)
    by_mask = _grouped(a, [{"params": mask, "lr": 0.003}])
    by_index = _grouped(a, [{"params": np.flatnonzero(mask)[::-1], "lr": 0.003}])
    np.testing.assert_array_equal(by_mask.x, by_index.x)


def test_a_list_of_slices_is_one_group():
    a = _registry.get("adam")
    by_slices = _grouped(a, [{"params": [slice(0, 2), slice(6, 8)], "lr": 0.003}])
    by_index = _grouped(a, [{"params": [0, 1, 6, 7], "lr": 0.003}])
    np.testing.assert_array_equal(by_slices.x, by_index.x)


def test_groups_covering_x_leave_no_default_group():
    a = _registry.get("adam")
    res = _grouped(a, [{"params": slice(0, 4), "lr": 0.003}, {"params": slice(4, N)}])
    expected = _by_parts(a, np.linspace(-1.0, 1.0, N),
                         [(slice(0, 4), {"lr": 0.003}), (slice(4, N), {})])
    np.testing.assert_array_equal(res.x, expected)


def test_biases_without_decay_keep_their_value_under_adamw():
    x0 = np.ones(N)
    res = minimize(lambda x: (0.0, np.zeros_like(x)), x0, jac=True, method=adamopt.adamw,
                   options={"lr": 0.1, "weight_decay": 0.5, "maxiter": 5, "gtol": 0.0,
                            "groups": [{"params": slice(6, N), "weight_decay": 0.0}]})
    assert np.all(res.x[:6] < 1.0)
    np.testing.assert_array_equal(res.x[6:], 1.0)


def test_a_group_schedule_is_its_own():
    a = _registry.get("adam")
    lr = 0.02 * adamopt.CosineAnnealing(T_max=10)
    res = _grouped(a, [{"params": slice(0, 3), "lr": lr}])
    expected = _by_parts(a, np.linspace(-1.0, 1.0, N),
                         [(slice(0, 3), {"lr": lr}), (slice(3, N), {})])
    np.testing.assert_array_equal(res.x, expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_groups_keep_the_dtype_of_x(dtype):
    res = _grouped(_registry.get("adam"), [{"params": slice(0, 3), "lr": 0.003}],
                   x0=np.linspace(-1.0, 1.0, N).astype(dtype))
    assert res.x.dtype == dtype


def test_betas_in_a_group_set_its_decay_rates():
    a = _registry.get("adam")
    res = _grouped(a, [{"params": slice(0, 3), "betas": (0.5, 0.9)}])
    expected = _by_parts(a, np.linspace(-1.0, 1.0, N),
                         [(slice(0, 3), {"beta1": 0.5, "beta2": 0.9}), (slice(3, N), {})])
    np.testing.assert_array_equal(res.x, expected)


def test_groups_converge_by_the_gtol_test():
    res = minimize(_quadratic, np.linspace(-1.0, 1.0, N), jac=True, method=adamopt.adam,
                   options={"lr": 0.05, "maxiter": 5000, "gtol": 1e-4,
                            "groups": [{"params": slice(0, 3), "lr": 0.02}]})
    assert res.status == 0
    assert np.abs(res.x).max() < 1e-2


def test_the_gtol_test_gathers_each_groups_own_scale():
    # Groups with different beta1 scale their moments differently: the test
    # measures each bias-corrected moment, not a common scale of the raw ones.
    from adamopt._run_groups import Parts, parse
    x = np.linspace(-1.0, 1.0, N)
    parts = parse([{"params": slice(0, 3), "beta1": 0.5}], N, adamopt.Adam, "adam")
    opt = Parts(adamopt.Adam, x, {"lr": 0.01}, parts)
    for _ in range(3):
        opt.step(2 * x)
    vector, scale, owned = opt._run_smoothed_gradient(2 * x)
    m = opt.state_dict()["m"]
    expected = np.concatenate([m[:3] / (1 - 0.5**3), m[3:] / (1 - 0.9**3)])
    np.testing.assert_allclose(scale * vector, expected, rtol=1e-15)
    assert owned


# -- clipping as method options ---------------------------------------------------------------

def _clipped_by_class(steps=STEPS, **clip):
    x = np.linspace(-1.0, 1.0, N)
    opt = adamopt.Adam(x, lr=0.05, **clip)
    for _ in range(steps):
        opt.step(2 * x)
    return x


@pytest.mark.parametrize("clip", [{"max_grad_norm": 0.5}, {"max_grad_value": 0.3}],
                         ids=["norm", "value"])
def test_method_clips_as_the_class_does(clip):
    res = _grouped(_registry.get("adam"), None, lr=0.05, **clip)
    np.testing.assert_array_equal(res.x, _clipped_by_class(**clip))


def test_method_max_grad_norm_is_pytorchs_clip_grad_norm():
    x = np.linspace(-1.0, 1.0, N)
    opt = adamopt.Adam(x, lr=0.05)
    for _ in range(STEPS):
        g = 2 * x
        opt.step(g * min(1.0, 0.5 / (np.linalg.norm(g) + 1e-6)))
    res = _grouped(_registry.get("adam"), None, lr=0.05, max_grad_norm=0.5)
    np.testing.assert_allclose(res.x, x, rtol=1e-12)


def test_a_group_with_its_own_max_grad_norm_clips_within_itself():
    a = _registry.get("adam")
    x = np.linspace(-1.0, 1.0, N)
    head, tail = adamopt.Adam(x[:3], lr=0.05, max_grad_norm=0.1), adamopt.Adam(x[3:], lr=0.05)
    for _ in range(STEPS):
        g = 2 * x
        head.step(g[:3])
        tail.step(g[3:])
    res = _grouped(a, [{"params": slice(0, 3), "max_grad_norm": 0.1}], lr=0.05)
    np.testing.assert_array_equal(res.x, x)


def test_history_grad_norm_is_the_norm_before_clipping():
    res = _grouped(_registry.get("adam"), None, lr=0.05, max_grad_norm=1e-3, history=True)
    x = np.linspace(-1.0, 1.0, N)
    assert res.history.grad_norm[0] == pytest.approx(np.linalg.norm(2 * x), rel=1e-14)


def test_a_bad_max_grad_norm_option_is_refused():
    with pytest.raises(ValueError, match=expect(name("max_grad_norm"), "adam")):
        _grouped(_registry.get("adam"), None, max_grad_norm=-1.0)


# -- state and checkpoints ----------------------------------------------------------------------

GROUPS = [{"params": [0, 1, 5], "lr": 0.003, "max_grad_norm": 0.5}]


@pytest.mark.parametrize("a", ALGORITHMS)
def test_a_run_with_groups_resumes_from_its_state_bitwise(a):
    whole = _grouped(a, GROUPS, steps=12, max_grad_value=0.8)
    first = _grouped(a, GROUPS, steps=5, max_grad_value=0.8)
    last = first.get("x_last", first.x)   # (an algorithm that averages: its last iterate)
    rest = _grouped(a, GROUPS, steps=7, x0=last, state=first.state, max_grad_value=0.8)
    np.testing.assert_array_equal(rest.x, whole.x)


@pytest.mark.parametrize("a", ALGORITHMS)
def test_a_run_with_groups_resumes_from_its_checkpoint_bitwise(a, tmp_path):
    path = str(tmp_path / "run.npz")
    whole = _grouped(a, GROUPS, steps=12)
    _grouped(a, GROUPS, steps=5, checkpoint=path)
    rest = _grouped(a, GROUPS, steps=12, checkpoint=path, resume=True)
    np.testing.assert_array_equal(rest.x, whole.x)


def test_the_state_of_a_run_with_groups_has_the_one_array_layout():
    state = _grouped(_registry.get("adam"), GROUPS).state["optimizer"]
    assert state["m"].shape == (N,)
    assert state["t"] == STEPS


def test_a_state_resumed_with_other_groups_is_refused():
    a = _registry.get("adam")
    first = _grouped(a, GROUPS)
    with pytest.raises(ValueError, match=expect("other 'groups'", "same 'groups'")):
        _grouped(a, [{"params": [0, 1], "lr": 0.003}], x0=first.x, state=first.state)


def test_a_state_without_groups_resumed_with_groups_is_refused():
    a = _registry.get("adam")
    first = _grouped(a, None)
    with pytest.raises(ValueError, match=expect("without 'groups'", "same 'groups'")):
        _grouped(a, GROUPS, x0=first.x, state=first.state)


def test_a_state_with_groups_resumed_without_them_is_refused():
    a = _registry.get("adam")
    first = _grouped(a, GROUPS)
    with pytest.raises(ValueError, match="groups"):
        _grouped(a, None, x0=first.x, state=first.state)


def test_a_corrupted_state_array_names_its_index_in_x():
    from adamopt._run_groups import Parts, parse
    x = np.linspace(-1.0, 1.0, N)
    opt = Parts(adamopt.Adam, x, {"lr": 0.01}, parse(GROUPS, N, adamopt.Adam, "adam"))
    opt.step(2 * x)
    state = opt.state_dict()
    state["v"][4] = -1.0
    before = opt.state_dict()
    with pytest.raises(ValueError, match=expect(name("v"), r"\(4,\)")):
        opt.load_state_dict(state)
    np.testing.assert_array_equal(opt.state_dict()["v"], before["v"])
