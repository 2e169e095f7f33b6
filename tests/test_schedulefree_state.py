"""The scalar state of an algorithm (``ScalarState`` in ``adamopt._registry``):
NAdam's product of momentum coefficients, schedule-free's ``lr_max`` and
``weight_sum``.  Every declaration with scalars is tested here, with no test
written for any one of them: defaults, a refused step, state dicts,
structures, bad values."""

import dataclasses

import numpy as np
import pytest

import adamopt
from adamopt import _catalog, _registry

WITH_SCALARS = [pytest.param(a, id=a.name) for a in _registry.algorithms() if a.scalars]


def _cls(a):
    return _catalog.CLASSES[a.name]


def _lr(a):
    return max(a.hyperparameter("lr").default, 1e-2)


def _stepped(a, x, steps=3):
    opt = _cls(a)(x, lr=_lr(a))
    for t in range(steps):
        opt.step(np.linspace(-1.0, 1.0, x.size) * (t + 1))
    return opt


def _scalars(opt, a):
    state = opt.state_dict()
    return {s.name: state[s.name] for s in a.scalars}


def test_every_scalar_declaration_fits_the_core():
    assert all(len(a.scalars) <= _registry.MAX_SCALARS for a in _registry.algorithms())


def test_more_scalars_than_the_core_holds_are_refused():
    a = _registry.get("nadam")
    scalar = a.scalars[0]
    many = dataclasses.replace(a, name="too_many", scalars=(scalar,) * (_registry.MAX_SCALARS + 1))
    with pytest.raises(ValueError, match="more than 4 scalars"):
        _registry.register(many)
    assert "too_many" not in {b.name for b in _registry.algorithms()}


@pytest.mark.parametrize("a", WITH_SCALARS)
def test_a_new_optimizer_starts_at_the_defaults(a):
    opt = _cls(a)(np.zeros(3))
    assert _scalars(opt, a) == {s.name: getattr(opt, s.default) if isinstance(s.default, str)
                                else s.default for s in a.scalars}


@pytest.mark.parametrize("a", WITH_SCALARS)
def test_the_state_dict_saves_each_scalar_as_a_float(a):
    opt = _stepped(a, np.ones(5))
    assert all(type(value) is float for value in _scalars(opt, a).values())


@pytest.mark.parametrize("a", WITH_SCALARS)
def test_a_refused_step_leaves_the_scalars_unchanged(a):
    opt = _stepped(a, np.ones(5))
    before = _scalars(opt, a)
    with pytest.raises(ValueError, match="unchanged"):
        opt.step(np.array([1.0, np.nan, 1.0, 1.0, 1.0]))
    assert _scalars(opt, a) == before


@pytest.mark.parametrize("a", WITH_SCALARS)
def test_a_loaded_state_resumes_bitwise(a):
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(7) for _ in range(8)]
    x, y = np.ones(7), np.ones(7)
    first = _cls(a)(x, lr=_lr(a))
    for g in grads[:4]:
        first.step(g)
    second = _cls(a)(y, lr=_lr(a))
    y[...] = x
    second.load_state_dict(first.state_dict())
    assert _scalars(second, a) == _scalars(first, a)
    for g in grads[4:]:
        first.step(g)
        second.step(g)
    np.testing.assert_array_equal(x, y)
    assert _scalars(second, a) == _scalars(first, a)


@pytest.mark.parametrize("a", WITH_SCALARS)
def test_a_state_saved_through_numpy_savez_loads(a, tmp_path):
    opt = _stepped(a, np.ones(4))
    np.savez(tmp_path / "s.npz", **opt.state_dict())
    other = _cls(a)(np.ones(4), lr=_lr(a))
    with np.load(tmp_path / "s.npz") as data:
        other.load_state_dict(dict(data))
    assert _scalars(other, a) == _scalars(opt, a)


@pytest.mark.parametrize("a", WITH_SCALARS)
@pytest.mark.parametrize("value", [float("nan"), float("inf"), "1.0"])
def test_a_bad_scalar_is_refused_and_changes_nothing(a, value):
    opt = _stepped(a, np.ones(3))
    good = opt.state_dict()
    for s in a.scalars:
        state = dict(good, **{s.name: value})
        before = opt.state_dict()
        with pytest.raises((ValueError, TypeError), match=s.name):
            opt.load_state_dict(state)
        after = opt.state_dict()
        assert _scalars(opt, a) == _scalars_of(before, a)
        np.testing.assert_array_equal(opt.params, np.asarray(opt.params))
        assert after["t"] == before["t"]


def _scalars_of(state, a):
    return {s.name: state[s.name] for s in a.scalars}


@pytest.mark.parametrize("a", [p for p in WITH_SCALARS if not p.values[0].one_array])
def test_a_structure_keeps_the_scalars_of_each_array(a):
    W, b = np.ones((2, 3)), np.ones(4)
    opt = _cls(a)({"W": W, "b": b}, lr=_lr(a))
    opt.step({"W": np.ones((2, 3)), "b": np.ones(4)})
    opt.step({"W": np.ones((2, 3)), "b": None})     # b keeps its count and its scalars
    state = opt.state_dict()["state"]
    lone = _cls(a)(np.ones(4), lr=_lr(a))
    lone.step(np.ones(4))
    assert _scalars_of(state[1], a) == _scalars(lone, a)
    assert (state[0]["t"], state[1]["t"]) == (2, 1)


@pytest.mark.parametrize("a", [p for p in WITH_SCALARS if not p.values[0].one_array])
def test_a_structure_resumes_its_scalars(a):
    def build():
        return _cls(a)([np.ones(3), np.ones(2)], lr=_lr(a))
    first = build()
    first.step([np.ones(3), np.ones(2)])
    second = build()
    second.load_state_dict(first.state_dict())
    mine = second.state_dict()["state"]
    theirs = first.state_dict()["state"]
    for k in (0, 1):
        assert _scalars_of(mine[k], a) == _scalars_of(theirs[k], a)


def test_the_class_docs_list_the_scalars():
    for a in _registry.algorithms():
        for s in a.scalars:
            assert f"``{s.name}``" in _cls(a).__doc__


def test_scalar_state_is_per_optimizer_not_shared():
    one, two = adamopt.NAdam(np.zeros(2)), adamopt.NAdam(np.zeros(2))
    one.step(np.ones(2))
    assert two.state_dict()["mu_product"] == 1.0
    assert one.state_dict()["mu_product"] < 1.0
