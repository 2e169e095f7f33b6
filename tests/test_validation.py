"""Every invalid input to the public API is refused with the documented error.

Wrong types raise `TypeError`, wrong values `ValueError`, with a message that
names the parameter, its owner (``Adam``, ``AdamW``, ``Adam.step``,
``Adam.load_state_dict``) and shows the value received, as in "The 'beta1'
parameter of Adam must be in [0, 1). Got 1.5 instead."  A refused call leaves
the optimizer exactly as it was (compared bitwise).

Messages are matched piece by piece, in any order (see `expect`), so that the
tests hold for any wording that keeps the name, the owner and the value.
"""

import contextlib
import math
import re
import sys
import warnings
from functools import partial

import numpy as np
import pytest
from helpers import expect, name

import adamopt

CLASSES = [pytest.param(cls, id=cls.__name__) for cls in (adamopt.Adam, adamopt.AdamW)]
DTYPES = [pytest.param(dtype, id=np.dtype(dtype).name) for dtype in (np.float32, np.float64)]
NAN, INF = math.nan, math.inf


# -- message patterns -------------------------------------------------------------------


def owner(text):
    """The owner exactly: ``Adam`` matches neither ``AdamW`` nor ``Adam.step``."""
    return rf"\b{re.escape(text)}(?!\w|\.\w)"


def shown(value):
    """How a message shows a bad scalar value: its repr, possibly abbreviated."""
    text = repr(value)
    if len(text) > 20:
        return rf"(?<![\w.]){re.escape(text[:20])}"
    return rf"(?<![\w.]){re.escape(text)}(?!\w|\.\d)"


def at_step(t):
    """The step number in a message: ``t=3`` or ``t = 3``."""
    return rf"\bt\s*=\s*{t}\b"


# -- optimizers and snapshots -------------------------------------------------------------


def trained(cls, *, dtype=np.float64, shape=(4,), steps=3, seed=0, **options):
    """An optimizer on seeded random parameters after ``steps`` seeded steps."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(dtype)
    opt = cls(x, **options)
    for _ in range(steps):
        opt.step(rng.standard_normal(shape).astype(dtype))
    return opt


def _frozen(value):
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, np.ascontiguousarray(value).tobytes())
    if isinstance(value, float):
        return ("float", value.hex())
    return value


def snapshot(opt):
    """Everything observable about ``opt``, compared bitwise by ``==``."""
    state = {key: _frozen(value) for key, value in opt.state_dict().items()}
    attributes = {key: _frozen(getattr(opt, key))
                  for key in ("lr", "schedule", "check_finite", "amsgrad", "t", "params")}
    if isinstance(opt, adamopt.AdamW):
        attributes["decay_scaling"] = opt.decay_scaling
    return state, attributes


def assert_bitwise_equal(a, b):
    assert a.dtype == b.dtype
    assert a.shape == b.shape
    assert np.ascontiguousarray(a).tobytes() == np.ascontiguousarray(b).tobytes()


# -- hyperparameters ----------------------------------------------------------------------

# (name, bad value, exception) for every hyperparameter that can be assigned.
BAD_HYPERPARAMETERS = [
    ("lr", -1.0, ValueError),
    ("lr", NAN, ValueError),
    ("lr", INF, ValueError),
    ("lr", np.float32(-1.0), ValueError),
    ("lr", "0.1", TypeError),
    ("lr", True, TypeError),
    ("lr", 1 + 2j, TypeError),
    ("lr", None, TypeError),
    *[(beta, value, ValueError) for beta in ("beta1", "beta2") for value in (-0.1, 1.0, 1.5, NAN)],
    ("beta1", "0.9", TypeError),
    ("beta2", "0.999", TypeError),
    ("eps", 0.0, ValueError),
    ("eps", 0, ValueError),
    ("eps", -1e-8, ValueError),
    ("eps", NAN, ValueError),
    ("eps", INF, ValueError),
    ("eps", "1e-8", TypeError),
    ("weight_decay", -0.01, ValueError),
    ("weight_decay", NAN, ValueError),
    ("weight_decay", INF, ValueError),
    ("weight_decay", "0.01", TypeError),
    *[(flag, value, TypeError) for flag in ("maximize", "check_finite")
      for value in (1, "yes", None)],
    ("schedule", 3, TypeError),
    ("schedule", "cosine", TypeError),
]
# amsgrad is fixed at construction.
BAD_AMSGRAD = [("amsgrad", value, TypeError) for value in (1, "yes", None)]
BAD_DECAY_SCALING = [
    pytest.param("linear", ValueError, id="linear"),
    pytest.param("LR", ValueError, id="LR"),
    pytest.param("", ValueError, id="empty"),
    pytest.param(1, TypeError, id="1"),
    pytest.param(None, TypeError, id="None"),
]
# Non-default values, so that a rejected assignment cannot restore a default by accident.
OPTIONS = dict(lr=0.02, beta1=0.8, beta2=0.95, eps=1e-6, weight_decay=0.05, maximize=True,
               check_finite=False, schedule=math.sqrt)


def _cases(cases):
    return [pytest.param(*case, id=f"{case[0]}={case[1]!r}") for case in cases]


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize(("parameter", "value", "exc"),
                         _cases(BAD_HYPERPARAMETERS + BAD_AMSGRAD))
def test_constructor_rejects_bad_hyperparameter(cls, parameter, value, exc):
    with pytest.raises(exc, match=expect(name(parameter), owner(cls.__name__), shown(value))):
        cls(np.zeros(3), **{parameter: value})


@pytest.mark.parametrize(("value", "exc"), BAD_DECAY_SCALING)
def test_adamw_constructor_rejects_bad_decay_scaling(value, exc):
    with pytest.raises(exc, match=expect(name("decay_scaling"), owner("AdamW"), shown(value))):
        adamopt.AdamW(np.zeros(3), decay_scaling=value)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize(("parameter", "value", "exc"), _cases(BAD_HYPERPARAMETERS))
def test_assignment_rejects_bad_hyperparameter(cls, parameter, value, exc):
    opt = cls(np.zeros(3))
    with pytest.raises(exc, match=expect(name(parameter), owner(cls.__name__), shown(value))):
        setattr(opt, parameter, value)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize(("parameter", "value", "exc"), _cases(BAD_HYPERPARAMETERS))
def test_rejected_assignment_keeps_the_old_value(cls, parameter, value, exc):
    opt = trained(cls, **OPTIONS)
    before = snapshot(opt)
    with pytest.raises(exc):
        setattr(opt, parameter, value)
    assert snapshot(opt) == before


@pytest.mark.parametrize(("value", "exc"), BAD_DECAY_SCALING)
def test_adamw_assignment_rejects_bad_decay_scaling(value, exc):
    opt = adamopt.AdamW(np.zeros(3))
    with pytest.raises(exc, match=expect(name("decay_scaling"), owner("AdamW"), shown(value))):
        opt.decay_scaling = value


@pytest.mark.parametrize(("value", "exc"), BAD_DECAY_SCALING)
def test_adamw_rejected_decay_scaling_assignment_keeps_the_old_value(value, exc):
    opt = trained(adamopt.AdamW, decay_scaling="schedule", **OPTIONS)
    before = snapshot(opt)
    with pytest.raises(exc):
        opt.decay_scaling = value
    assert snapshot(opt) == before


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize(("attribute", "value"),
                         [("amsgrad", True), ("t", 5), ("params", np.zeros(3))])
def test_fixed_attributes_cannot_be_assigned(cls, attribute, value):
    opt = cls(np.zeros(3))
    with pytest.raises(AttributeError, match=name(attribute)):
        setattr(opt, attribute, value)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("parameter", ["lr", "beta1", "beta2", "eps", "weight_decay"])
@pytest.mark.parametrize("route", ["constructor", "assignment", "load_state_dict"])
def test_integer_too_large_for_a_float_is_a_value_error(cls, parameter, route):
    # float(10**400) raises OverflowError: the check must turn it into its own error.
    value = 10**400
    opt = cls(np.zeros(3))
    calls = {
        "constructor": partial(cls, np.zeros(3), **{parameter: value}),
        "assignment": partial(setattr, opt, parameter, value),
        "load_state_dict": partial(opt.load_state_dict, {**opt.state_dict(), parameter: value}),
    }
    where = cls.__name__ + (".load_state_dict" if route == "load_state_dict" else "")
    with pytest.raises(ValueError, match=expect(name(parameter), owner(where), "1000000000")):
        calls[route]()


# -- params ---------------------------------------------------------------------------------


def _read_only(shape=(3,)):
    a = np.zeros(shape)
    a.flags.writeable = False
    return a


def _unaligned(n=3):
    a = np.frombuffer(bytearray(8 * n + 1), dtype=np.float64, offset=1, count=n)
    assert not a.flags.aligned
    return a


BAD_PARAMS_TYPE = [
    pytest.param(lambda: [1.0, 2.0, 3.0], [re.escape("[1.0, 2.0, 3.0]")], id="list"),
    pytest.param(lambda: 1.0, [shown(1.0)], id="python-float"),
    *[pytest.param(partial(np.zeros, 3, dtype), [re.escape("(3,)"), np.dtype(dtype).name],
                   id=np.dtype(dtype).name)
      for dtype in (np.int64, np.float16, np.complex128, np.bool_)],
]
BAD_PARAMS_VALUE = [
    pytest.param(_read_only, [re.escape("(3,)"), r"writ|read-only"], id="read-only"),
    pytest.param(lambda: np.zeros(6)[::2], [re.escape("(3,)"), "contiguous"], id="strided"),
    pytest.param(lambda: np.zeros((4, 4))[:, :2], [re.escape("(4, 2)"), "contiguous"],
                 id="column-slice"),
    pytest.param(lambda: np.zeros(3, np.dtype(">f8")), [re.escape("(3,)"), r">f8|big"],
                 id="big-endian"),
    pytest.param(_unaligned, [re.escape("(3,)"), "align"], id="unaligned"),
]


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize(("make", "pieces"), BAD_PARAMS_TYPE)
def test_params_of_wrong_type_is_a_type_error(cls, make, pieces):
    with pytest.raises(TypeError, match=expect(name("params"), owner(cls.__name__), *pieces)):
        cls(make())


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize(("make", "pieces"), BAD_PARAMS_VALUE)
def test_params_unfit_for_in_place_update_is_a_value_error(cls, make, pieces):
    with pytest.raises(ValueError, match=expect(name("params"), owner(cls.__name__), *pieces)):
        cls(make())


@pytest.mark.parametrize("cls", CLASSES)
def test_zero_dimensional_params_are_valid(cls):
    x = np.array(1.5)
    out = cls(x, lr=0.1, weight_decay=0.0).step(2.0)
    assert out is x
    assert x.shape == ()
    assert x == pytest.approx(1.5 - 0.1 * 2.0 / (2.0 + 1e-8), rel=1e-15)


@pytest.mark.parametrize("cls", CLASSES)
def test_fortran_ordered_params_are_valid(cls):
    rng = np.random.default_rng(10)
    x = np.asfortranarray(rng.standard_normal((3, 4)))
    c = np.ascontiguousarray(x)
    fortran, plain = cls(x, lr=0.05), cls(c, lr=0.05)
    for _ in range(3):
        g = rng.standard_normal((3, 4))
        fortran.step(np.asfortranarray(g))
        plain.step(g)
    assert x.flags.f_contiguous
    assert_bitwise_equal(x, c)


# -- grad: types, shapes and conversions ------------------------------------------------------

BAD_GRAD_TYPE = [
    pytest.param(np.ones(4, np.complex128), ["complex"], id="complex"),
    pytest.param(np.ones(4, np.bool_), ["bool"], id="bool"),
    pytest.param(np.array([1.0, None, 2.0, 3.0], dtype=object), ["object"], id="object"),
    pytest.param("abcd", [r"<U4|'abcd'"], id="string"),
    pytest.param(["a", "b", "c", "d"], [r"<U1|'a'"], id="list-of-strings"),
    pytest.param(None, ["None|object"], id="None"),
    pytest.param(np.zeros(4, "datetime64[s]"), ["datetime64"], id="datetime64"),
]


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize(("grad", "pieces"), BAD_GRAD_TYPE)
def test_grad_of_wrong_type_is_a_type_error(cls, grad, pieces):
    opt = cls(np.zeros(4))
    with pytest.raises(TypeError, match=expect(name("grad"), owner(f"{cls.__name__}.step"),
                                               *pieces)):
        opt.step(grad)


@pytest.mark.parametrize("cls", CLASSES)
def test_ragged_nested_list_grad_is_a_type_error(cls):
    opt = cls(np.zeros((2, 2)))
    ragged = [[1.0, 2.0], [3.0]]
    with pytest.raises(TypeError, match=expect(name("grad"), owner(f"{cls.__name__}.step"),
                                               re.escape(repr(ragged)))):
        opt.step(ragged)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("shape", [(5,), (4, 1), (2, 2), ()], ids=str)
def test_grad_of_wrong_shape_is_a_value_error(cls, shape):
    opt = cls(np.zeros(4))
    with pytest.raises(ValueError, match=expect(name("grad"), owner(f"{cls.__name__}.step"),
                                                re.escape("(4,)"), re.escape(str(shape)))):
        opt.step(np.ones(shape))


def _strided(g):
    return np.stack([g, -g], axis=-1)[..., 0]


def _reversed(g):
    return np.ascontiguousarray(g[::-1])[::-1]


def _read_only_copy(g):
    g = g.copy()
    g.flags.writeable = False
    return g


def _unaligned_copy(g):
    buffer = np.frombuffer(bytearray(g.nbytes + 1), dtype=g.dtype, offset=1, count=g.size)
    buffer[:] = g.ravel()
    return buffer.reshape(g.shape)


# (params dtype, params order, shape, gradient as given from (params, float64 gradient))
GRAD_CONVERSIONS = [
    pytest.param(np.float64, "C", (4,), lambda x, g: g.tolist(), id="list"),
    pytest.param(np.float64, "C", (2, 3), lambda x, g: g.tolist(), id="nested-list"),
    pytest.param(np.float64, "C", (4,), lambda x, g: np.rint(8 * g).astype(np.int64),
                 id="int64-array"),
    pytest.param(np.float32, "C", (4,), lambda x, g: np.rint(8 * np.abs(g)).astype(np.uint8),
                 id="uint8-array"),
    pytest.param(np.float64, "C", (4,), lambda x, g: g.astype(np.float32),
                 id="float32-grad-float64-params"),
    pytest.param(np.float32, "C", (4,), lambda x, g: g, id="float64-grad-float32-params"),
    pytest.param(np.float64, "C", (4,), lambda x, g: g.astype(np.float16), id="float16-grad"),
    pytest.param(np.float64, "C", (4,), lambda x, g: _strided(g), id="strided-view"),
    pytest.param(np.float64, "C", (2, 3), lambda x, g: _strided(g), id="strided-view-2d"),
    pytest.param(np.float64, "C", (4,), lambda x, g: _reversed(g), id="negative-strides"),
    pytest.param(np.float64, "F", (3, 4), lambda x, g: g, id="C-grad-Fortran-params"),
    pytest.param(np.float64, "C", (3, 4), lambda x, g: np.asfortranarray(g),
                 id="Fortran-grad-C-params"),
    pytest.param(np.float64, "C", (4,), lambda x, g: g.astype(">f8"), id="big-endian-grad"),
    pytest.param(np.float64, "C", (4,), lambda x, g: _read_only_copy(g), id="read-only-grad"),
    pytest.param(np.float64, "C", (4,), lambda x, g: _unaligned_copy(g), id="unaligned-grad"),
    pytest.param(np.float64, "C", (), lambda x, g: float(g), id="python-float-0d"),
    pytest.param(np.float64, "C", (4,), lambda x, g: x, id="params-as-own-grad"),
    pytest.param(np.float32, "C", (4,), lambda x, g: x, id="params-as-own-grad-float32"),
    pytest.param(np.float64, "F", (3, 4), lambda x, g: x, id="params-as-own-grad-Fortran"),
    pytest.param(np.float64, "C", (), lambda x, g: x, id="params-as-own-grad-0d"),
    pytest.param(np.float64, "C", (4,), lambda x, g: x[::-1], id="reversed-view-of-params"),
]


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize(("dtype", "order", "shape", "given"), GRAD_CONVERSIONS)
def test_grad_conversion_gives_the_same_step_as_a_float_array(cls, dtype, order, shape, given):
    rng = np.random.default_rng(20)
    x = np.array(rng.standard_normal(shape), dtype=dtype, order=order)
    y = x.copy(order="K")
    converted = cls(x, lr=0.05, weight_decay=0.1, amsgrad=True)
    explicit = cls(y, lr=0.05, weight_decay=0.1, amsgrad=True)
    for _ in range(3):
        g = rng.standard_normal(shape)
        converted.step(given(x, g))
        explicit.step(np.array(given(y, g), dtype=dtype, order=order, copy=True))
    assert_bitwise_equal(x, y)
    for key, value in explicit.state_dict().items():
        if isinstance(value, np.ndarray):
            assert_bitwise_equal(converted.state_dict()[key], value)
    assert converted.t == explicit.t == 3


# -- grad: non-finite and too large ------------------------------------------------------------

NON_FINITE = [
    pytest.param(NAN, r"\bnan\b", id="nan"),
    pytest.param(INF, r"(?<![\w-])inf\b", id="inf"),
    pytest.param(-INF, r"-inf\b", id="-inf"),
]
# A finite value whose square overflows the dtype, and how messages may show it.
TOO_LARGE = {
    np.float32: (1e20, r"1e\+20|1\.00000002\d*e\+20"),
    np.float64: (1e160, r"1e\+160|1\.0+\d*e\+160"),
}


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("bad", "value"), NON_FINITE)
def test_non_finite_grad_is_refused(cls, dtype, bad, value):
    opt = cls(np.zeros(5, dtype))
    g = np.ones(5, dtype)
    g[2] = bad
    with pytest.raises(ValueError, match=expect(name("grad"), owner(f"{cls.__name__}.step"),
                                                value, re.escape("(2,)"))):
        opt.step(g)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_grad_too_large_for_the_dtype_is_refused(cls, dtype):
    bad, value = TOO_LARGE[dtype]
    opt = cls(np.zeros(5, dtype))
    g = np.ones(5, dtype)
    g[1] = bad
    with pytest.raises(ValueError, match=expect(name("grad"), owner(f"{cls.__name__}.step"),
                                                value, re.escape("(1,)"))):
        opt.step(g)


@pytest.mark.parametrize("cls", CLASSES)
def test_float64_grad_beyond_float32_range_is_refused_without_a_warning(cls):
    # 1e300 does not fit in float32: the conversion must neither warn (warnings are
    # errors in this test suite) nor present the value as infinite.
    opt = cls(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match=expect(name("grad"), owner(f"{cls.__name__}.step"),
                                                r"1e\+300", re.escape("(1,)"))):
        opt.step(np.array([0.0, 1e300, 0.0]))


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("order", ["C", "F"])
def test_refused_grad_is_located_by_its_array_index(cls, order):
    opt = cls(np.zeros((3, 4), order=order))
    g = np.ones((3, 4), order=order)
    g[1, 2] = NAN
    with pytest.raises(ValueError, match=expect(name("grad"), re.escape("(1, 2)"))):
        opt.step(g)


@pytest.mark.parametrize("position", [0, 1250, 5003, 9999, 10006])
def test_non_finite_grad_is_found_anywhere_in_a_large_array(position):
    # Above the size where the step releases the GIL; the check scans in segments.
    opt = adamopt.Adam(np.zeros(10_007))
    g = np.ones(10_007)
    g[position] = INF
    with pytest.raises(ValueError, match=expect(name("grad"), re.escape(f"({position},)"))):
        opt.step(g)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "too-large"])
def test_refused_grad_leaves_params_and_state_unchanged(cls, dtype, bad):
    opt = trained(cls, dtype=dtype, shape=(6,), amsgrad=True, lr=0.1)
    before = snapshot(opt)
    g = np.ones(6, dtype)
    g[3] = TOO_LARGE[dtype][0] if bad == "too-large" else float(bad)
    with pytest.raises(ValueError):
        opt.step(g)
    assert snapshot(opt) == before
    assert opt.t == 3


@pytest.mark.parametrize("dtype", DTYPES)
def test_coupled_weight_decay_of_infinite_params_is_refused(dtype):
    x = np.array([1.0, INF, 2.0], dtype)
    opt = adamopt.Adam(x, weight_decay=0.1)
    with pytest.raises(ValueError, match=expect(name("grad"), owner("Adam.step"), "weight_decay",
                                                r"(?<![\w-])inf\b", re.escape("(1,)"))):
        opt.step(np.zeros(3, dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_refused_weight_decay_term_leaves_params_and_state_unchanged(dtype):
    opt = trained(adamopt.Adam, dtype=dtype, shape=(3,), weight_decay=0.1)
    opt.params[1] = INF
    before = snapshot(opt)
    with pytest.raises(ValueError):
        opt.step(np.zeros(3, dtype))
    assert snapshot(opt) == before


@pytest.mark.parametrize("cls", CLASSES)
def test_check_finite_false_lets_nan_through(cls):
    x = np.zeros(3)
    opt = cls(x, check_finite=False)
    opt.step(np.array([1.0, NAN, 1.0]))
    assert opt.t == 1
    assert np.isnan(x[1])
    assert np.isfinite(x[[0, 2]]).all()


# -- callables: lr(t) and schedule(t) -------------------------------------------------------

BAD_RETURNS = [
    pytest.param(-1.0, ValueError, id="negative"),
    pytest.param(NAN, ValueError, id="nan"),
    pytest.param(INF, ValueError, id="inf"),
    pytest.param("fast", TypeError, id="string"),
    pytest.param(None, TypeError, id="None"),
    pytest.param(True, TypeError, id="bool"),
]


def returning_from_step_3(value):
    """A callable that returns 0.5 at steps 1 and 2 and ``value`` from step 3 on."""
    def schedule(t):
        return 0.5 if t < 3 else value
    return schedule


def raising_from_step_3(t):
    if t >= 3:
        raise RuntimeError("boom")
    return 0.5


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("which", ["lr", "schedule"])
@pytest.mark.parametrize(("value", "exc"), BAD_RETURNS)
def test_callable_returning_a_bad_value_is_refused_naming_the_step(cls, which, value, exc):
    opt = trained(cls, steps=2, **{which: returning_from_step_3(value)})
    with pytest.raises(exc, match=expect(name(which), owner(cls.__name__), shown(value),
                                         at_step(3))):
        opt.step(np.ones(4))


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes need Python 3.11")
@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("which", ["lr", "schedule"])
def test_callable_that_raises_propagates_its_error_naming_the_step(cls, which):
    opt = trained(cls, steps=2, **{which: raising_from_step_3})
    with pytest.raises(RuntimeError, match=expect("boom", at_step(3))):
        opt.step(np.ones(4))


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("which", ["lr", "schedule"])
@pytest.mark.parametrize("callable_", [returning_from_step_3(-1.0), returning_from_step_3(NAN),
                                       returning_from_step_3("fast"), raising_from_step_3],
                         ids=["negative", "nan", "string", "raises"])
def test_failed_callable_leaves_params_and_state_unchanged(cls, which, callable_):
    opt = trained(cls, steps=2, amsgrad=True, **{which: callable_})
    before = snapshot(opt)
    with pytest.raises((ValueError, TypeError, RuntimeError)):
        opt.step(np.ones(4))
    assert snapshot(opt) == before
    assert opt.t == 2


@pytest.mark.parametrize("cls", CLASSES)
def test_overflowing_lr_times_schedule_is_refused(cls):
    # Both values are valid; their product, the learning rate used, is infinite.
    x = np.ones(3)
    opt = cls(x, lr=1e300, schedule=lambda t: 1e10)
    with pytest.raises(ValueError, match=expect(owner(cls.__name__), r"'lr'|'schedule'",
                                                at_step(1))):
        opt.step(np.ones(3))


# -- params changed after construction ----------------------------------------------------------


def _set_dtype(dtype):
    def change(x):
        with warnings.catch_warnings():   # deprecated in NumPy 2.5, still possible
            warnings.simplefilter("ignore", DeprecationWarning)
            x.dtype = dtype
    return change


def _make_read_only(x):
    x.flags.writeable = False


def _resize(x):
    x.resize(6, refcheck=False)


PARAMS_CHANGES = [
    # An integer dtype is a wrong type, as at construction; the rest wrong values.
    pytest.param(_set_dtype(np.int64), TypeError, ["int64"], id="dtype-int64"),
    pytest.param(_set_dtype(np.float32), ValueError, ["float32", re.escape("(8,)")],
                 id="dtype-float32"),
    pytest.param(_set_dtype(np.dtype(">f8")), ValueError, [r">f8|big"], id="dtype-big-endian"),
    pytest.param(_make_read_only, ValueError, [r"writ|read-only"], id="read-only"),
    pytest.param(_resize, ValueError, [re.escape("(6,)")], id="resized"),
]


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize(("change", "error", "pieces"), PARAMS_CHANGES)
def test_step_refuses_params_changed_after_construction(cls, change, error, pieces):
    x = np.zeros(4)
    opt = cls(x)
    change(x)
    with pytest.raises(error, match=expect(name("params"), owner(cls.__name__), *pieces)):
        opt.step(np.ones(4))


# -- load_state_dict ---------------------------------------------------------------------------


def _with(**changes):
    def mutate(state):
        return {**state, **changes}
    return mutate


def _without(*keys, **changes):
    def mutate(state):
        return {**{k: v for k, v in state.items() if k not in keys}, **changes}
    return mutate


def _poke(key, value, index=1):
    def mutate(state):
        a = state[key].copy()
        a[index] = value
        return {**state, key: a}
    return mutate


def _retyped(key, convert):
    def mutate(state):
        return {**state, key: convert(state[key])}
    return mutate


def _state_of(cls):
    def mutate(state):
        return trained(cls, seed=8).state_dict()
    return mutate


ADAM, ADAMW = adamopt.Adam, adamopt.AdamW
BOTH = (ADAM, ADAMW)

# (id, classes, amsgrad, mutate the valid state, exception, pieces besides the owner)
BAD_STATES = [
    ("list-of-items", BOTH, False, lambda s: list(s.items()), TypeError, [name("state"), "list"]),
    ("None", BOTH, False, lambda s: None, TypeError, [name("state"), "None"]),
    ("missing-v", BOTH, False, _without("v"), ValueError, [name("v"), "missing"]),
    ("missing-t", BOTH, False, _without("t"), ValueError, [name("t"), "missing"]),
    ("unknown-key", BOTH, False, _with(momentum=0.9), ValueError,
     [name("momentum"), "unknown"]),
    ("unknown-algorithm", BOTH, False, _with(algorithm="sgd"), ValueError, [name("sgd")]),
    ("adamw-state", (ADAM,), False, _state_of(ADAMW), ValueError,
     [r"'adamw'|'decay_scaling'"]),
    ("adam-state", (ADAMW,), False, _state_of(ADAM), ValueError, [r"'adam'"]),
    ("plain-state-amsgrad-optimizer", BOTH, True, _without("vmax", amsgrad=False), ValueError,
     [r"'vmax'|amsgrad"]),
    ("amsgrad-state-plain-optimizer", BOTH, False,
     lambda s: {**s, "vmax": s["v"].copy(), "amsgrad": True}, ValueError, ["amsgrad"]),
    ("m-shape", BOTH, False, _with(m=np.zeros(5)), ValueError, [name("m"), re.escape("(5,)")]),
    ("v-shape", BOTH, False, _retyped("v", lambda a: a.reshape(2, 2)), ValueError,
     [name("v"), re.escape("(2, 2)")]),
    ("m-dtype", BOTH, False, _retyped("m", lambda a: a.astype(np.float32)), ValueError,
     [name("m"), "float32"]),
    ("vmax-dtype", BOTH, True, _retyped("vmax", lambda a: a.astype(np.float32)), ValueError,
     [name("vmax"), "float32"]),
    ("m-list", BOTH, False, _retyped("m", lambda a: a.tolist()), TypeError,
     [name("m"), "list"]),
    ("m-nan", BOTH, False, _poke("m", NAN), ValueError, [name("m"), r"\bnan\b"]),
    ("m-inf", BOTH, False, _poke("m", INF), ValueError, [name("m"), r"\binf\b"]),
    ("v-nan", BOTH, False, _poke("v", NAN), ValueError, [name("v"), r"\bnan\b"]),
    ("v-negative", BOTH, False, _poke("v", -1.0), ValueError, [name("v"), r"-1\b"]),
    ("vmax-negative", BOTH, True, _poke("vmax", -1.0), ValueError, [name("vmax"), r"-1\b"]),
    ("t-negative", BOTH, False, _with(t=-1), ValueError, [name("t"), shown(-1)]),
    ("t-too-large", BOTH, False, _with(t=2**70), ValueError, [name("t"), "1180591620717"]),
    ("t-uint64-too-large", BOTH, False, _with(t=np.uint64(2**63)), ValueError,
     [name("t"), "9223372036854775808"]),
    ("t-float", BOTH, False, _with(t=1.5), ValueError, [name("t"), shown(1.5)]),
    ("t-string", BOTH, False, _with(t="3"), TypeError, [name("t"), shown("3")]),
    ("t-bool", BOTH, False, _with(t=True), TypeError, [name("t"), shown(True)]),
    ("t-zero-with-moments", BOTH, False, _with(t=0), ValueError, [r"\bt\b", r"\b0\b"]),
    ("beta1-1.5", BOTH, False, _with(beta1=1.5), ValueError, [name("beta1"), shown(1.5)]),
    ("beta2-negative", BOTH, False, _with(beta2=-0.1), ValueError,
     [name("beta2"), shown(-0.1)]),
    ("eps-zero", BOTH, False, _with(eps=0.0), ValueError, [name("eps"), shown(0.0)]),
    ("weight_decay-nan", BOTH, False, _with(weight_decay=NAN), ValueError,
     [name("weight_decay"), shown(NAN)]),
    ("lr-negative", BOTH, False, _with(lr=-1.0), ValueError, [name("lr"), shown(-1.0)]),
    ("lr-string", BOTH, False, _with(lr="fast"), TypeError, [name("lr"), shown("fast")]),
    ("maximize-int", BOTH, False, _with(maximize=1), TypeError, [name("maximize"), shown(1)]),
    ("amsgrad-string", BOTH, False, _with(amsgrad="yes"), TypeError,
     [name("amsgrad"), shown("yes")]),
    ("decay_scaling-linear", (ADAMW,), False, _with(decay_scaling="linear"), ValueError,
     [name("decay_scaling"), shown("linear")]),
    ("decay_scaling-int", (ADAMW,), False, _with(decay_scaling=1), TypeError,
     [name("decay_scaling"), shown(1)]),
]
STATE_CASES = [
    pytest.param(cls, amsgrad, mutate, exc, pieces, id=f"{cls.__name__}-{case_id}")
    for case_id, classes, amsgrad, mutate, exc, pieces in BAD_STATES
    for cls in classes
]


def other_state(cls, amsgrad):
    """A valid state that differs from the target's in every entry."""
    return trained(cls, seed=7, steps=5, amsgrad=amsgrad, lr=0.02, beta1=0.5, beta2=0.9,
                   eps=1e-6, weight_decay=0.2, maximize=True).state_dict()


def target(cls, amsgrad):
    return trained(cls, seed=3, amsgrad=amsgrad, lr=0.01, beta1=0.8)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("amsgrad", [False, True])
def test_load_state_dict_accepts_the_unmodified_state(cls, amsgrad):
    # The control for the cases below: only their modification is refused.
    opt = target(cls, amsgrad)
    state = other_state(cls, amsgrad)
    opt.load_state_dict(state)
    assert snapshot(opt)[0] == {key: _frozen(value) for key, value in state.items()}


@pytest.mark.parametrize(("cls", "amsgrad", "mutate", "exc", "pieces"), STATE_CASES)
def test_load_state_dict_refuses_bad_state(cls, amsgrad, mutate, exc, pieces):
    opt = target(cls, amsgrad)
    bad = mutate(other_state(cls, amsgrad))
    with pytest.raises(exc, match=expect(owner(f"{cls.__name__}.load_state_dict"), *pieces)):
        opt.load_state_dict(bad)


@pytest.mark.parametrize(("cls", "amsgrad", "mutate", "exc", "pieces"), STATE_CASES)
def test_failed_load_state_dict_leaves_optimizer_unchanged(cls, amsgrad, mutate, exc, pieces):
    opt = target(cls, amsgrad)
    bad = mutate(other_state(cls, amsgrad))
    before = snapshot(opt)
    # The exception is checked above; here only what is left behind matters.
    with contextlib.suppress(Exception):
        opt.load_state_dict(bad)
    assert snapshot(opt) == before


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize(("value", "exc"), [(-1.0, ValueError), ("fast", TypeError)])
def test_load_state_dict_checks_lr_even_when_lr_is_a_callable(cls, value, exc):
    # A callable lr is kept, but a bad 'lr' entry is still an invalid input.
    opt = trained(cls, lr=returning_from_step_3(0.1))
    state = {**other_state(cls, False), "lr": value}
    with pytest.raises(exc, match=expect(name("lr"), owner(f"{cls.__name__}.load_state_dict"),
                                         shown(value))):
        opt.load_state_dict(state)


@pytest.mark.parametrize("cls", CLASSES)
def test_eps_that_vanishes_in_float32_is_refused_before_it_divides_by_zero(cls):
    # 1e-46 is a valid positive float64 but rounds to 0 in float32, where a
    # coordinate whose gradients were all zero would then compute 0 / 0.
    opt = cls(np.ones(3, np.float32), eps=1e-46)
    before = snapshot(opt)
    with pytest.raises(ValueError, match=expect(name("eps"), owner(cls.__name__), at_step(1))):
        opt.step(np.array([0.0, 1.0, -1.0], np.float32))
    assert snapshot(opt) == before


@pytest.mark.parametrize("cls", CLASSES)
def test_lr_beyond_float32_range_is_refused_for_float32_params(cls):
    # A number: at construction (issue 13); a schedule's value: at the step.
    with pytest.raises(ValueError, match=expect(name("lr"), owner(cls.__name__))):
        cls(np.ones(3, np.float32), lr=1e39)
    opt = cls(np.ones(3, np.float32), lr=lambda t: 1e39)
    with pytest.raises(ValueError, match=expect(name("lr"), owner(cls.__name__), at_step(1))):
        opt.step(np.ones(3, np.float32))
