"""`adamopt.ravel`: a structure of arrays as one flat vector and back."""

import collections
import pickle

import numpy as np
import pytest
from helpers import expect, name
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.optimize import minimize

import adamopt

Pair = collections.namedtuple("Pair", "w b")

# -- strategies: nested dicts / lists / tuples of float32 and float64 arrays --------------------

_leaves = hnp.arrays(dtype=st.sampled_from([np.float32, np.float64]),
                     shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
                     elements=st.floats(-1e3, 1e3, width=32))
_keys = st.text("abcdefgh", min_size=1, max_size=3)
_structures = st.recursive(
    _leaves,
    lambda children: st.one_of(st.lists(children, min_size=1, max_size=4),
                               st.lists(children, min_size=1, max_size=4).map(tuple),
                               st.dictionaries(_keys, children, min_size=1, max_size=4)),
    max_leaves=8)
#: Structures are slow to draw: fewer examples than the suite's profile.
_FEWER = settings(max_examples=60)


def _leaves_of(tree):
    if isinstance(tree, dict):
        return [a for v in tree.values() for a in _leaves_of(v)]
    if isinstance(tree, (list, tuple)):
        return [a for v in tree for a in _leaves_of(v)]
    return [tree]


def _same(a, b):
    """Same containers, keys, shapes and values."""
    if isinstance(a, dict):
        return (type(b) is dict and list(a) == list(b)
                and all(_same(a[k], b[k]) for k in a))
    if isinstance(a, (list, tuple)):
        return (type(a) is type(b) and len(a) == len(b)
                and all(_same(x, y) for x, y in zip(a, b, strict=True)))
    return a.shape == b.shape and np.array_equal(a, b)


def _model():
    rng = np.random.default_rng(0)
    return {"W1": rng.standard_normal((4, 3)), "b1": np.zeros(3),
            "W2": rng.standard_normal((3, 2)), "b2": np.ones(2)}


# -- round trips ---------------------------------------------------------------------------------

@given(_structures)
@_FEWER
def test_unravel_gives_back_the_structure(params):
    x0, unravel = adamopt.ravel(params)
    assert _same(params, unravel(x0))


@given(_structures)
@_FEWER
def test_unravel_ravel_gives_back_the_vector(params):
    x0, unravel = adamopt.ravel(params)
    assert np.array_equal(unravel.ravel(params), x0)


@given(_structures)
@_FEWER
def test_the_vector_holds_every_element_in_order(params):
    x0, _ = adamopt.ravel(params)
    leaves = _leaves_of(params)
    assert np.array_equal(x0, np.concatenate([np.ravel(a) for a in leaves]).astype(x0.dtype))


@given(_structures)
@_FEWER
def test_unravel_returns_views_of_x(params):
    x0, unravel = adamopt.ravel(params)
    assert all(np.shares_memory(v, x0) for v in _leaves_of(unravel(x0)) if v.size)


@given(_structures)
@_FEWER
def test_flat_dtype_is_float32_only_when_every_array_is(params):
    x0, _ = adamopt.ravel(params)
    small = all(a.dtype == np.float32 for a in _leaves_of(params))
    assert x0.dtype == (np.float32 if small else np.float64)


@given(_structures)
@_FEWER
def test_slices_select_each_array(params):
    x0, unravel = adamopt.ravel(params)
    views = unravel(x0)
    for key, where in unravel.slices.items():
        path = key if isinstance(key, tuple) else (key,)
        node = views
        for k in path:
            node = node[k]
        assert np.array_equal(x0[where], np.concatenate(
            [np.ravel(a) for a in _leaves_of(node)] or [np.empty(0)]))


# -- behaviour ------------------------------------------------------------------------------------

def test_x0_is_a_copy():
    params = _model()
    x0, _ = adamopt.ravel(params)
    params["b2"][:] = 5.0
    assert not np.shares_memory(x0, params["b2"])
    assert x0[-1] == 1.0


def test_writing_a_view_writes_x():
    x0, unravel = adamopt.ravel(_model())
    unravel(x0)["b1"][1] = 7.0
    assert x0[unravel.slices["b1"]][1] == 7.0


def test_dict_order_is_insertion_order_not_sorted():
    _, unravel = adamopt.ravel({"z": np.ones(1), "a": np.ones(2)})
    assert list(unravel.slices) == ["z", "a"]
    assert unravel.slices["z"] == slice(0, 1)


def test_slices_of_a_dict_are_by_name():
    _, unravel = adamopt.ravel(_model())
    assert dict(unravel.slices) == {"W1": slice(0, 12), "b1": slice(12, 15),
                                    "W2": slice(15, 21), "b2": slice(21, 23)}


def test_slices_of_a_list_are_by_index():
    _, unravel = adamopt.ravel([np.ones(2), np.ones(3)])
    assert dict(unravel.slices) == {0: slice(0, 2), 1: slice(2, 5)}


def test_slices_of_a_nested_structure_are_by_path():
    _, unravel = adamopt.ravel({"layer": {"W": np.ones(4), "b": np.ones(2)}, "out": np.ones(1)})
    assert unravel.slices[("layer", "b")] == slice(4, 6)


def test_slices_of_a_sub_structure_cover_its_arrays():
    _, unravel = adamopt.ravel({"layer": {"W": np.ones(4), "b": np.ones(2)}, "out": np.ones(1)})
    assert unravel.slices["layer"] == slice(0, 6)


def test_shapes_and_dtypes_are_the_originals():
    _, unravel = adamopt.ravel({"W": np.ones((2, 3), np.float32), "b": np.ones(3)})
    assert dict(unravel.shapes) == {"W": (2, 3), "b": (3,)}
    assert dict(unravel.dtypes) == {"W": np.float32, "b": np.float64}


def test_mixed_float32_and_float64_are_promoted_to_float64():
    x0, unravel = adamopt.ravel({"W": np.ones(2, np.float32), "b": np.ones(3)})
    assert x0.dtype == np.float64
    assert unravel(x0)["W"].dtype == np.float64


def test_dtype_float32_is_taken_when_asked():
    x0, unravel = adamopt.ravel({"W": np.ones(2, np.float32), "b": np.ones(3)},
                                dtype=np.float32)
    assert x0.dtype == np.float32
    assert unravel.ravel({"W": np.ones(2), "b": np.ones(3)}).dtype == np.float32


def test_integer_arrays_become_float64():
    x0, _ = adamopt.ravel([np.arange(3)])
    assert x0.dtype == np.float64


def test_float16_arrays_become_float32():
    x0, _ = adamopt.ravel([np.ones(3, np.float16)])
    assert x0.dtype == np.float32


def test_fortran_ordered_arrays_come_back_equal():
    W = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    x0, unravel = adamopt.ravel({"W": W})
    assert np.array_equal(unravel(x0)["W"], W)


def test_tuples_and_named_tuples_keep_their_type():
    x0, unravel = adamopt.ravel((Pair(np.ones(2), np.zeros(1)), np.ones(1)))
    back = unravel(x0)
    assert type(back) is tuple
    assert type(back[0]) is Pair


def test_a_single_array_round_trips():
    W = np.arange(6.0).reshape(2, 3)
    x0, unravel = adamopt.ravel(W)
    assert np.array_equal(unravel(x0), W)
    assert dict(unravel.slices) == {}


def test_an_empty_array_takes_an_empty_slice():
    _, unravel = adamopt.ravel({"a": np.ones(2), "none": np.ones(0), "b": np.ones(1)})
    assert unravel.slices["none"] == slice(2, 2)


def test_unravel_of_another_dtype_gives_views_in_it():
    x0, unravel = adamopt.ravel(_model())
    assert unravel(x0.astype(np.float32))["W1"].dtype == np.float32


def test_unravel_ravel_accepts_dict_keys_in_another_order():
    params = _model()
    x0, unravel = adamopt.ravel(params)
    assert np.array_equal(unravel.ravel(dict(reversed(list(params.items())))), x0)


def test_unravel_ravel_writes_into_out():
    params = _model()
    x0, unravel = adamopt.ravel(params)
    out = np.empty_like(x0)
    assert unravel.ravel(params, out=out) is out
    assert np.array_equal(out, x0)


def test_unravel_ravel_takes_array_likes():
    _, unravel = adamopt.ravel({"a": np.ones(2), "b": np.ones(())})
    assert np.array_equal(unravel.ravel({"a": [1, 2], "b": 3.0}), [1.0, 2.0, 3.0])


def test_unravel_survives_pickle():
    params = {"net": [Pair(np.ones(2), np.zeros(1))], "s": np.ones(())}
    x0, unravel = adamopt.ravel(params)
    again = pickle.loads(pickle.dumps(unravel))
    assert _same(unravel(x0), again(x0))
    assert dict(again.slices) == dict(unravel.slices)


def test_repr_names_the_size_and_arrays():
    _, unravel = adamopt.ravel(_model())
    assert repr(unravel) == ("<unravel: 23 float64 elements into 4 arrays: 'W1', 'b1', "
                             "'W2', 'b2'>")


def test_ravel_feeds_minimize():
    target = _model()
    params = {k: np.zeros_like(v) for k, v in target.items()}
    x0, unravel = adamopt.ravel(params)

    def loss(x):
        p = unravel(x)
        grads = {k: 2 * (p[k] - target[k]) for k in p}
        return sum(float(np.sum((p[k] - target[k]) ** 2)) for k in p), unravel.ravel(grads)

    res = minimize(loss, x0, jac=True, method=adamopt.adam,
                   options={"lr": 0.05, "maxiter": 2000, "gtol": 1e-8})
    np.testing.assert_allclose(unravel(res.x)["W2"], target["W2"], atol=1e-3)


# -- bad input: one test each ---------------------------------------------------------------------

def test_a_python_number_leaf_is_refused():
    with pytest.raises(TypeError, match=expect(name("params"), "NumPy array",
                                               re_escape("params['b']"))):
        adamopt.ravel({"W": np.ones(2), "b": 0.5})


def test_a_none_leaf_is_refused():
    with pytest.raises(TypeError, match=expect(name("params"), "None", re_escape("params[1]"))):
        adamopt.ravel([np.ones(2), None])


def test_a_complex_array_is_refused():
    with pytest.raises(TypeError, match=expect(name("params"), "real", "complex128")):
        adamopt.ravel({"z": np.ones(2, complex)})


def test_an_object_array_is_refused():
    with pytest.raises(TypeError, match=expect(name("params"), "dtype object")):
        adamopt.ravel({"o": np.array([1.0, "a"], dtype=object)})


def test_a_boolean_array_is_refused():
    with pytest.raises(TypeError, match=expect(name("params"), "dtype bool")):
        adamopt.ravel({"mask": np.ones(2, bool)})


def test_a_string_array_is_refused():
    with pytest.raises(TypeError, match=expect(name("params"), "<U")):
        adamopt.ravel([np.array(["a", "b"])])


def test_a_long_double_array_is_refused():
    with pytest.raises(TypeError, match=expect(name("params"), "float64")):
        adamopt.ravel([np.ones(2, np.longdouble)])


def test_an_empty_structure_is_refused():
    with pytest.raises(ValueError, match=expect(name("params"), "at least one array")):
        adamopt.ravel({"layer": []})


def test_an_unsupported_dtype_option_is_refused():
    with pytest.raises(TypeError, match=expect(name("dtype"), "float32")):
        adamopt.ravel([np.ones(2)], dtype=np.int32)


def test_a_dtype_option_that_is_no_dtype_is_refused():
    with pytest.raises(TypeError, match=expect(name("dtype"), "float32")):
        adamopt.ravel([np.ones(2)], dtype="fast")


def test_a_colliding_path_is_refused():
    with pytest.raises(ValueError, match=expect(name("params"), "rename")):
        adamopt.ravel({("a", "b"): np.ones(1), "a": {"b": np.ones(1)}})


def test_unravel_of_the_wrong_length_is_refused():
    _, unravel = adamopt.ravel(_model())
    with pytest.raises(ValueError, match=expect(name("x"), "unravel", "23 elements",
                                                r"shape \(22,\)")):
        unravel(np.zeros(22))


def test_unravel_of_a_2d_array_is_refused():
    _, unravel = adamopt.ravel(_model())
    with pytest.raises(ValueError, match=expect(name("x"), "1-D", r"shape \(23, 1\)")):
        unravel(np.zeros((23, 1)))


def test_unravel_of_a_list_is_refused():
    _, unravel = adamopt.ravel([np.ones(2)])
    with pytest.raises(TypeError, match=expect(name("x"), "NumPy array", "list")):
        unravel([0.0, 1.0])


def test_unravel_ravel_with_a_missing_key_is_refused():
    _, unravel = adamopt.ravel(_model())
    grads = _model()
    del grads["b2"]
    with pytest.raises(ValueError, match=expect(name("tree"), "keys of params", "W1")):
        unravel.ravel(grads)


def test_unravel_ravel_with_an_extra_key_is_refused():
    _, unravel = adamopt.ravel(_model())
    with pytest.raises(ValueError, match=expect(name("tree"), "keys of params")):
        unravel.ravel({**_model(), "b3": np.ones(1)})


def test_unravel_ravel_with_a_wrong_shape_names_the_array():
    _, unravel = adamopt.ravel(_model())
    with pytest.raises(ValueError, match=expect(name("tree"), r"\(3, 2\)",
                                                re_escape("tree['W2']"), r"\(2, 3\)")):
        unravel.ravel({**_model(), "W2": np.ones((2, 3))})


def test_unravel_ravel_with_a_list_for_a_dict_is_refused():
    _, unravel = adamopt.ravel(_model())
    with pytest.raises(TypeError, match=expect(name("tree"), "dict")):
        unravel.ravel(list(_model().values()))


def test_unravel_ravel_with_a_list_of_the_wrong_length_is_refused():
    _, unravel = adamopt.ravel([np.ones(2), np.ones(1)])
    with pytest.raises(ValueError, match=expect(name("tree"), "2 entries")):
        unravel.ravel([np.ones(2)])


def test_unravel_ravel_with_a_complex_gradient_is_refused():
    _, unravel = adamopt.ravel({"a": np.ones(2)})
    with pytest.raises(TypeError, match=expect(name("tree"), "real", re_escape("tree['a']"))):
        unravel.ravel({"a": np.ones(2, complex)})


def test_unravel_ravel_into_a_short_out_is_refused():
    _, unravel = adamopt.ravel({"a": np.ones(2)})
    with pytest.raises(ValueError, match=expect(name("out"), "2 elements")):
        unravel.ravel({"a": np.ones(2)}, out=np.zeros(3))


def test_a_refused_unravel_ravel_leaves_out_unchanged():
    _, unravel = adamopt.ravel({"a": np.ones(2), "b": np.ones(2)})
    out = np.zeros(4)
    with pytest.raises(ValueError, match="shapes of params"):
        unravel.ravel({"a": np.ones(2), "b": np.ones(3)}, out=out)
    assert not out.any()


def re_escape(text):
    import re
    return re.escape(text)


def test_docstring_examples_run():
    import doctest

    from adamopt import _ravel
    failures, tried = doctest.testmod(_ravel, raise_on_error=False, report=True)
    assert tried > 0
    assert failures == 0
