"""adamopt against optax (`adamopt._optax.OPTAX`): the same trajectories where optax
computes the same algorithm, over steps on a fixed gradient sequence.

optax and JAX are optional: without them these tests skip.  The table itself
(names, options) is checked without them.
"""

import inspect

import numpy as np
import pytest

import adamopt
from adamopt import _optax, _registry

STEPS = 25

#: Option combinations compared, per algorithm optax computes exactly.
CASES = [
    ("adam", {}),
    ("adam", {"beta1": 0.5, "beta2": 0.99, "eps": 1e-6}),
    ("adamw", {}),
    ("adamw", {"weight_decay": 0.1}),
    ("sgd", {}),
    ("sgd", {"momentum": 0.9}),
    ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("rmsprop", {}),
    ("rmsprop", {"momentum": 0.5}),
    ("rmsprop", {"centered": True, "alpha": 0.9}),
]

#: Per-dtype tolerances (optax rounds in another order: AdamW's decay, the
#: bias corrections computed in the array's dtype for float32).
RTOL = {"float64": 1e-11, "float32": 2e-5}


def test_every_entry_is_a_registered_algorithm():
    names = {a.name for a in _registry.algorithms()}
    assert set(_optax.OPTAX) <= names


@pytest.mark.parametrize("name", sorted(_optax.OPTAX))
def test_every_renamed_option_is_one_of_the_algorithm(name):
    declared = {h.name for h in _registry.get(name).hyperparameters}
    assert set(_optax.OPTAX[name].rename) <= declared


@pytest.mark.parametrize("name", sorted(_optax.OPTAX))
def test_every_variant_says_how_it_differs(name):
    entry = _optax.OPTAX[name]
    assert entry.exact or entry.note


def test_an_option_optax_lacks_is_refused_naming_it():
    with pytest.raises(ValueError, match="'amsgrad' option of adam"):
        _optax.OPTAX["adam"].kwargs(_registry.get("adam"), {"amsgrad": True})


def test_momentum_zero_is_none_for_optax():
    kwargs = _optax.OPTAX["sgd"].kwargs(_registry.get("sgd"), {})
    assert kwargs["momentum"] is None


@pytest.fixture(scope="module")
def optax():
    pytest.importorskip("jax")
    pytest.importorskip("optax")
    _optax.jax_setup()
    import optax
    return optax


@pytest.mark.parametrize("name", sorted(_optax.OPTAX))
def test_the_arguments_are_the_optax_function_s(optax, name):
    entry = _optax.OPTAX[name]
    parameters = inspect.signature(getattr(optax, entry.name)).parameters
    assert set(entry.kwargs(_registry.get(name))) <= set(parameters)


def _trajectories(name, options, dtype, lr=0.05):
    import jax.numpy as jnp
    import optax

    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(40).astype(dtype)
    grads = [rng.standard_normal(40).astype(dtype) for _ in range(STEPS)]
    cls = getattr(adamopt, _registry.get(name).class_name)
    x = x0.copy()
    opt = cls(x, lr=lr, **options)
    tx = _optax.transformation(name, lr, options)
    params = jnp.asarray(x0)
    state = tx.init(params)
    ours, theirs = [], []
    for g in grads:
        opt.step(g)
        updates, state = tx.update(jnp.asarray(g), state, params)
        params = optax.apply_updates(params, updates)
        ours.append(x.copy())
        theirs.append(np.asarray(params))
    return np.array(ours), np.array(theirs)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(("name", "options"), CASES,
                         ids=[f"{n}-{'-'.join(map(str, o.items())) or 'defaults'}"
                              for n, o in CASES])
def test_trajectory_equals_optax(optax, name, options, dtype):
    assert _optax.OPTAX[name].exact
    ours, theirs = _trajectories(name, options, dtype)
    assert theirs.dtype == np.dtype(dtype)
    np.testing.assert_allclose(ours, theirs, rtol=RTOL[dtype], atol=RTOL[dtype])
