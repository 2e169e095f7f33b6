"""Fuzzing the public API: every call either works (and its result is right) or
raises `ValueError`/`TypeError` naming the argument; it never crashes, hangs,
returns NaN parameters as a success, or writes outside its arrays.

Each case changes one argument of an otherwise valid call to an arbitrary
value (any Python or NumPy object; arrays of any dtype, shape and memory
layout: non-contiguous, Fortran, read-only, misaligned, byte-swapped; NaN,
infinities, huge and subnormal values), so that an error can be held to
naming that argument.  The number of cases per test follows the hypothesis
profile: a few dozen by default (a quick local run), 400 in CI
(``HYPOTHESIS_PROFILE=ci``: about 5,000 cases in all), 20,000 with
``HYPOTHESIS_PROFILE=thorough``.
"""

import faulthandler
import math
import os
import re
import warnings
import zipfile
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import adamopt
from adamopt import _checkpoint, _kernels

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "default")
EXAMPLES = int(os.environ.get("ADAMOPT_FUZZ_EXAMPLES", 0)) or {
    "ci": 400, "thorough": 20_000}.get(PROFILE, 40)
fuzz = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much,
                                       HealthCheck.function_scoped_fixture])

@pytest.fixture(autouse=True)
def watchdog():
    """A hang fails the run (with every thread's traceback) instead of stalling it."""
    faulthandler.dump_traceback_later(max(300, EXAMPLES // 4), exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


SPECIAL = [0.0, -0.0, 5e-324, 1e-310, 1.17e-38, 1.4e-45, 3.4e38, 3.5e38, 1.8e19, 1.9e19,
           1.3e154, 1.4e154, 1.7976931348623157e308, 1e20, -1e20, -1.0, 1.0, math.nan,
           math.inf, -math.inf]
FLOATS = st.one_of(st.sampled_from(SPECIAL), st.floats(allow_nan=True, allow_infinity=True))
SMALL_FLOATS = st.one_of(st.sampled_from([0.0, -1.0, 1.0, 0.5, 1e-3, 5e-324]),
                         st.floats(-10, 10))
DTYPES = [np.float64, np.float32, np.float16, np.longdouble, np.int64, np.int8, np.uint32,
          np.bool_, np.complex128, object, "U3"]
LAYOUTS = ["C", "F", "strided", "transposed", "readonly", "misaligned", "swapped"]


def _values(draw, dtype, size, elements):
    kind = np.dtype(dtype).kind
    if kind == "O":
        return np.array([*draw(st.lists(st.sampled_from([1.0, None, "a", 2]), min_size=size,
                                        max_size=size)), None], dtype=object)[:size]
    if kind == "U":
        return np.array(draw(st.lists(st.text(max_size=3), min_size=size, max_size=size)),
                        dtype=dtype)
    if kind == "b":
        return np.array(draw(st.lists(st.booleans(), min_size=size, max_size=size)), bool)
    values = np.array(draw(st.lists(elements, min_size=size, max_size=size)), np.float64)
    with np.errstate(all="ignore"):
        if kind in "iu":
            info = np.iinfo(dtype)
            values = np.nan_to_num(values, nan=0.0, posinf=info.max, neginf=info.min)
            values = np.clip(values, info.min, info.max)
        return values.astype(dtype)


def _layout(a, layout):
    """``a``'s values in the memory layout ``layout`` (a new array)."""
    if layout == "F":
        return np.asfortranarray(a)
    if layout == "strided" and a.ndim:
        big = np.repeat(a, 2, axis=0) if a.shape[0] else np.empty((0, *a.shape[1:]), a.dtype)
        return big[::2]
    if layout == "transposed" and a.ndim >= 2:
        return np.ascontiguousarray(a.T).T
    if layout == "readonly":
        out = a.copy()
        out.setflags(write=False)
        return out
    if layout == "misaligned" and a.dtype.kind != "O" and a.dtype.itemsize > 1:
        buf = np.zeros(a.nbytes + 1, np.uint8)
        out = buf[1:].view(a.dtype).reshape(a.shape)
        out[...] = a
        return out
    if layout == "swapped" and a.dtype.kind in "fiuc" and a.dtype.itemsize > 1:
        return a.astype(a.dtype.newbyteorder())
    return a.copy()


@st.composite
def arrays(draw, dtypes=DTYPES, shape=None, elements=FLOATS, layouts=LAYOUTS):
    """Arrays of any dtype, shape, memory layout and values."""
    dtype = draw(st.sampled_from(dtypes))
    if shape is None:
        shape = tuple(draw(st.lists(st.integers(0, 5), min_size=0, max_size=3)))
    size = math.prod(shape)
    a = _values(draw, dtype, size, elements).reshape(shape)
    return _layout(a, draw(st.sampled_from(layouts)))


OBJECTS = [np.float32(0.5), np.float64(np.nan), np.int64(3), np.bool_(True), np.array(0.5),
           np.array([0.1, 0.2]), np.array("x"), Fraction(1, 3), Decimal("0.1"),
           complex(1, 1), object(), type, print, len, lambda t: 0.01, lambda t: math.nan,
           lambda t: -1.0, lambda t: "a", lambda t: None, lambda t: np.array([1.0]),
           lambda t: 10.0 ** min(t, 400), lambda: 1.0, [], (), {}, set(), "", "lr", b"x",
           range(3), iter([]), Ellipsis, NotImplemented, 2**64, -(2**70), 10**400]

ANYTHING = st.one_of(
    st.none(), st.booleans(), st.integers(), FLOATS, st.complex_numbers(),
    st.text(max_size=4), st.binary(max_size=4), st.lists(FLOATS, max_size=3),
    st.tuples(FLOATS, FLOATS), st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.sampled_from(OBJECTS), arrays(),
)


def _named(exc, *names):
    """The error is a ValueError/TypeError whose message quotes one of ``names``."""
    assert isinstance(exc, (ValueError, TypeError)), repr(exc)
    message = str(exc) + "".join(getattr(exc, "__notes__", []))
    if isinstance(exc, TypeError) and re.search(
            r"takes \d+ positional arguments? but|missing \d+ required positional", message):
        return      # Python's own error for a callable given the wrong number of arguments
    assert any(f"'{n}'" in message or (n == "fun" and "objective fun" in message)
               for n in names), (names, message)


def _mentions(exc, pieces, types=(ValueError, TypeError)):
    """The error is one of ``types`` and its message holds one of ``pieces``."""
    assert isinstance(exc, types), repr(exc)
    assert any(piece in str(exc) for piece in pieces), (pieces, str(exc))


def _state(opt):
    return {k: (v.tobytes() if isinstance(v, np.ndarray) else v)
            for k, v in opt.state_dict().items()}


# -- the optimizer classes ---------------------------------------------------------------

CLASS_OPTIONS = {
    "lr": st.one_of(st.sampled_from([1e-3, 0.1, 0.0]), st.floats(0, 1)),
    "beta1": st.sampled_from([0.0, 0.5, 0.9, 0.99]),
    "beta2": st.sampled_from([0.0, 0.9, 0.999, 1 - 1e-7]),
    "eps": st.sampled_from([1e-8, 1e-3, 1.0]),
    "weight_decay": st.sampled_from([0.0, 1e-2, 1.0]),
    "amsgrad": st.booleans(),
    "maximize": st.booleans(),
    "check_finite": st.just(True),
}


@st.composite
def valid_class_options(draw, cls):
    options = {k: draw(s) for k, s in CLASS_OPTIONS.items() if draw(st.booleans())}
    if cls is adamopt.AdamW and draw(st.booleans()):
        options["decay_scaling"] = draw(st.sampled_from(["lr", "schedule"]))
    return options


def _guarded(values, layout):
    """``values`` in an array cut from a larger buffer of sentinels, and the buffer."""
    flat = values.ravel(order=layout)
    buf = np.full(flat.size + 16, 7.25, values.dtype)
    buf[8:-8] = flat
    inner = buf[8:-8].reshape(values.shape, order=layout)
    return inner, buf


@fuzz
@given(data=st.data(), cls=st.sampled_from([adamopt.Adam, adamopt.AdamW]),
       corrupt=st.sampled_from(["params", *CLASS_OPTIONS, "decay_scaling", "schedule"]))
def test_constructor_works_or_names_the_argument(data, cls, corrupt):
    options = data.draw(valid_class_options(cls))
    params = np.zeros(3)
    if corrupt == "params":
        params = data.draw(st.one_of(arrays(), ANYTHING))
    else:
        options[corrupt] = data.draw(ANYTHING)
    try:
        opt = cls(params, **options)
    except Exception as exc:
        _named(exc, corrupt)
        return
    # It works: one step with a zero gradient keeps finite parameters finite
    # (the classes do not check the parameters' values: the step is elementwise).
    assert opt.params is params
    finite = bool(np.isfinite(params).all())
    try:
        opt.step(np.zeros_like(params))
    except Exception as exc:      # a schedule, lr or eps may be refused when it is used
        _named(exc, corrupt, "lr", "eps", "grad")
        return
    assert np.isfinite(opt.params).all() or not finite
    assert opt.t == 1


@fuzz
@given(data=st.data(), cls=st.sampled_from([adamopt.Adam, adamopt.AdamW]),
       dtype=st.sampled_from([np.float32, np.float64]),
       shape=st.sampled_from([(0,), (1,), (5,), (3, 4), (2, 3, 2), (70,)]),
       layout=st.sampled_from(["C", "F"]))
def test_step_works_or_leaves_everything_unchanged(data, cls, dtype, shape, layout):
    options = data.draw(valid_class_options(cls))
    options["check_finite"] = True
    x0 = _values(data.draw, dtype, math.prod(shape), SMALL_FLOATS).reshape(shape)
    params, buf = _guarded(x0, layout)
    opt = cls(params, **options)
    twin = cls(x0.copy(order=layout), **options)
    for _ in range(data.draw(st.integers(0, 2))):     # some state to start from
        g = _values(data.draw, dtype, params.size, SMALL_FLOATS).reshape(shape)
        opt.step(g)
        twin.step(g)
    grad = data.draw(st.one_of(arrays(shape=shape), arrays(), ANYTHING), label="grad")
    grad_copy = grad.copy() if isinstance(grad, np.ndarray) else None
    before, state = buf.copy(), _state(opt)
    try:
        opt.step(grad)
    except Exception as exc:
        _named(exc, "grad")
        assert buf.tobytes() == before.tobytes()       # params untouched
        assert _state(opt) == state
    else:
        # The same step as with a clean contiguous copy of the gradient.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
            clean = np.array(grad, dtype=dtype, order=layout)
        twin.step(clean)
        assert params.tobytes(order="A") == twin.params.tobytes(order="A")
        assert np.isfinite(params).all()
        assert buf[:8].tobytes() == before[:8].tobytes()
        assert buf[-8:].tobytes() == before[-8:].tobytes()
    if grad_copy is not None:      # the gradient is only read
        assert grad.tobytes() == grad_copy.tobytes()


@fuzz
@given(data=st.data(), cls=st.sampled_from([adamopt.Adam, adamopt.AdamW]),
       amsgrad=st.booleans())
def test_load_state_dict_works_or_leaves_the_optimizer_unchanged(data, cls, amsgrad):
    opt = cls(np.zeros(4), amsgrad=amsgrad)
    opt.step(np.ones(4))
    state = opt.state_dict()
    key = data.draw(st.sampled_from([*sorted(state), "unknown", "missing"]))
    if key == "missing":
        del state[data.draw(st.sampled_from(sorted(state)))]
        names = ("keys", "amsgrad")
    else:
        state[key] = data.draw(st.one_of(ANYTHING, arrays(shape=(4,))))
        names = (key, "keys", "amsgrad", "state", "lr")
    target = cls(np.zeros(4), amsgrad=amsgrad)
    before = _state(target)
    try:
        target.load_state_dict(state)
    except Exception as exc:
        _mentions(exc, names)
        assert _state(target) == before
    else:
        try:
            target.step(np.ones(4))
        except ValueError as exc:       # a loaded eps or lr the step cannot use
            _named(exc, "eps", "lr")
        else:
            assert np.isfinite(target.params).all()


# -- the SciPy methods ----------------------------------------------------------------------

METHOD_OPTIONS = {
    "lr": st.sampled_from([1e-3, 0.1]),
    "beta1": st.sampled_from([0.0, 0.9]),
    "beta2": st.sampled_from([0.9, 0.999]),
    "eps": st.sampled_from([1e-8, 1e-3]),
    "weight_decay": st.sampled_from([0.0, 1e-2]),
    "amsgrad": st.booleans(),
    "maximize": st.just(False),
    "schedule": st.sampled_from([None, lambda t: 1.0 / t]),
    "maxiter": st.sampled_from([0, 1, 5]),
    "gtol": st.sampled_from([0.0, 1e-5, 1.0]),
    "norm": st.sampled_from([1.0, 2.0, math.inf]),
    "ftol": st.sampled_from([0.0, 1e-4]),
    "patience": st.sampled_from([None, 1, 3]),
    "smoothing": st.sampled_from([0.0, 0.9]),
    "tol": st.sampled_from([1e-5, 1e-3]),
    "disp": st.just(False),
    "state": st.none(),
    "checkpoint_every": st.sampled_from([1, 100]),
    "resume": st.just(False),
}


def square(x):
    with np.errstate(over="ignore"):
        return float(x @ x)


def quadratic(x, *ignored):
    with np.errstate(over="ignore"):
        return square(x), 2 * x


def _check_result(res, x0, lower=None, upper=None):
    assert res.x.shape == x0.shape
    # byte-swapped x0 gives a native-order result (see _minimize._initial_x)
    assert res.x.dtype == (x0.dtype.newbyteorder("=") if x0.dtype.kind == "f" else np.float64)
    assert np.isfinite(res.x).all()          # never NaN parameters, whatever the status
    assert res.status in (0, 1, 2, 3, 4, 5, 99)
    assert res.success == (res.status in (0, 2))
    if res.success:
        assert math.isfinite(res.fun)
    if lower is not None:
        assert (res.x >= lower).all()
        assert (res.x <= upper).all()


@fuzz
@given(data=st.data(), method=st.sampled_from([adamopt.adam, adamopt.adamw]),
       corrupt=st.sampled_from([*METHOD_OPTIONS, "batches", "checkpoint", "x0", "args",
                                "jac", "callback", "bounds"]))
def test_method_works_or_names_the_argument(tmp_path_factory, data, method, corrupt):
    options = {k: data.draw(s) for k, s in METHOD_OPTIONS.items() if draw_bool(data)}
    options.setdefault("maxiter", 5)
    x0 = np.array([0.5, -1.0, 2.0])
    call = {"args": (), "jac": True, "callback": None, "bounds": None}
    value = data.draw(st.one_of(ANYTHING, arrays()) if corrupt != "bounds" else
                      st.one_of(ANYTHING, st.lists(st.tuples(FLOATS, FLOATS), max_size=4),
                                st.lists(st.tuples(st.one_of(st.none(), FLOATS),
                                                   st.one_of(st.none(), FLOATS)),
                                         min_size=3, max_size=3)),
                      label=corrupt)
    if corrupt == "x0":
        x0 = value
    elif corrupt in call:
        call[corrupt] = value
    elif corrupt == "checkpoint":
        options["checkpoint"] = value
        if isinstance(value, str) and value and "\0" not in value:
            options["checkpoint"] = str(tmp_path_factory.mktemp("ck") / "c")
    else:
        options[corrupt] = value
    if corrupt == "maxiter" or "batches" in options:
        options.setdefault("batches", [(), ()] * 3)  # a finite run whatever maxiter is
    fun = quadratic if call["jac"] is True else (lambda x, *ignored: square(x))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # hess/constraints: not fuzzed
            res = method(fun, x0, **call, **options)
    except Exception as exc:
        if corrupt == "resume" and isinstance(exc, FileNotFoundError):
            _mentions(exc, ["'resume'"], FileNotFoundError)
        else:
            _named(exc, corrupt, "fun", *(("grad",) if corrupt == "jac" else ()))
        return
    _check_result(res, np.atleast_1d(np.asarray(x0)))


def draw_bool(data):
    return data.draw(st.booleans())


@fuzz
@given(data=st.data(), method=st.sampled_from([adamopt.adam, adamopt.adamw]),
       dtype=st.sampled_from([np.float32, np.float64]),
       when=st.integers(0, 4), what=st.sampled_from(["f", "g", "pair"]))
def test_bad_objective_values_stop_the_run_or_name_it(data, method, dtype, when, what):
    bad = data.draw(st.one_of(ANYTHING, arrays(), arrays(shape=(3,))), label="returned")
    calls = [0]

    def fun(x, *ignored):
        calls[0] += 1
        f, g = quadratic(x)
        if calls[0] > when:
            if what == "f":
                return bad, g
            if what == "g":
                return f, bad
            return bad
        return f, g

    x0 = np.array([0.5, -1.0, 2.0], dtype)
    try:
        res = method(fun, x0, jac=True, maxiter=6, lr=0.1)
    except Exception as exc:
        _named(exc, "grad", "fun", "jac")
        return
    _check_result(res, x0)
    if res.status in (4, 5):
        assert calls[0] > when


@fuzz
@given(data=st.data(), dtype=st.sampled_from([np.float32, np.float64]),
       lower=st.lists(st.one_of(st.none(), FLOATS), min_size=3, max_size=3),
       width=st.lists(st.one_of(st.none(), st.sampled_from([0.0, 1e-30, 1.0, math.inf])),
                      min_size=3, max_size=3))
def test_bounds_are_respected_or_refused(data, dtype, lower, width):
    pairs = [(lo, None if w is None or lo is None else lo + w)
             for lo, w in zip(lower, width, strict=True)]
    x0 = np.array([0.5, -1.0, 2.0], dtype)
    try:
        res = adamopt.adam(quadratic, x0, jac=True, bounds=pairs, maxiter=4, lr=0.5)
    except Exception as exc:
        _named(exc, "bounds")
        return
    lo = np.array([-np.inf if p[0] is None else p[0] for p in pairs])
    hi = np.array([np.inf if p[1] is None else p[1] for p in pairs])
    _check_result(res, x0, lo, hi)


# -- minibatches ------------------------------------------------------------------------


@fuzz
@given(data=st.data(), corrupt=st.sampled_from(["arrays", "batch_size", "shuffle", "seed",
                                                "drop_last"]))
def test_minibatches_work_or_name_the_argument(data, corrupt):
    n = data.draw(st.integers(1, 12))
    arrays_ = [np.arange(n), np.arange(2.0 * n).reshape(n, 2)]
    kwargs = {"batch_size": data.draw(st.integers(1, n)), "shuffle": data.draw(st.booleans()),
              "seed": data.draw(st.one_of(st.none(), st.integers(0, 2**64 - 1))),
              "drop_last": data.draw(st.booleans())}
    if corrupt == "arrays":
        arrays_.append(data.draw(st.one_of(ANYTHING, arrays())))
    else:
        kwargs[corrupt] = data.draw(ANYTHING)
    try:
        stream = adamopt.minibatches(*arrays_, **kwargs)
    except Exception as exc:
        _mentions(exc, [f"'{corrupt}'"] if corrupt != "arrays" else ["Array", "arrays"])
        return
    # It works: every epoch visits each row once, in batches of batch_size.
    size, n = stream.batch_size, stream.n_samples
    for _ in range(2):
        rows = []
        for _ in range(stream.batches_per_epoch):
            batch = next(stream)
            assert len(batch) == len(arrays_)
            assert all(len(b) == len(batch[0]) for b in batch)
            assert 1 <= len(batch[0]) <= size
            rows.extend(batch[0].tolist())
        expected = list(range(n)) if not stream.drop_last else None
        if expected is not None:
            assert sorted(rows) == expected
        else:
            assert len(set(rows)) == len(rows) == (n // size) * size


@fuzz
@given(data=st.data())
def test_stream_load_state_dict_works_or_leaves_the_stream(data):
    stream = adamopt.minibatches(np.arange(10), batch_size=3, seed=1)
    next(stream)
    state = stream.state_dict()
    key = data.draw(st.sampled_from(sorted(state)))
    state[key] = data.draw(st.one_of(ANYTHING, arrays()))
    target = adamopt.minibatches(np.arange(10), batch_size=3, seed=2)
    before = target.state_dict()
    try:
        target.load_state_dict(state)
    except Exception as exc:
        _mentions(exc, ["state"])
        after = target.state_dict()
        assert after["rng"] == before["rng"]
        assert (after["epoch"], after["next"]) == (before["epoch"], before["next"])
    else:
        for _ in range(5):
            assert len(next(target)[0]) in (1, 3)


# -- threads and checkpoints -------------------------------------------------------------


@fuzz
@given(value=ANYTHING)
def test_set_num_threads_works_or_names_the_argument(value):
    previous = _kernels._get_num_threads()
    try:
        adamopt.set_num_threads(value)
    except Exception as exc:
        _named(exc, "threads")
    finally:
        adamopt.set_num_threads(previous)


@pytest.fixture(scope="module")
def checkpoint_file(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("fuzz") / "run.ckpt")
    adamopt.adam(quadratic, np.ones(3), jac=True, maxiter=4, checkpoint=path,
                 batches=adamopt.minibatches(np.arange(6.0), batch_size=2, seed=0))
    return path


JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), FLOATS, st.text(max_size=4))
JSON = st.one_of(JSON_LEAF, st.lists(JSON_LEAF, max_size=3),
                 st.dictionaries(st.text(max_size=4), JSON_LEAF, max_size=3),
                 st.lists(st.lists(JSON_LEAF, max_size=2), max_size=2))


def _member_offsets(path):
    """Where each member's local header starts, and where the directory starts."""
    with zipfile.ZipFile(path) as archive:
        return [info.header_offset for info in archive.infolist()], archive.start_dir


@fuzz
@given(data=st.data())
def test_corrupted_checkpoint_is_refused(checkpoint_file, tmp_path_factory, data):
    header, arrays_ = _checkpoint.read(checkpoint_file, "test")
    where = data.draw(st.sampled_from(["header", "array", "bytes", "structure"]))
    path = str(tmp_path_factory.mktemp("bad") / "run.ckpt")
    if where == "header":
        part = data.draw(st.sampled_from(["", "optimizer", "stream", "stream.signature",
                                          "callables"]))
        node = header
        for step in filter(None, part.split(".")):
            node = node[step]
        key = data.draw(st.sampled_from(sorted(node) or ["lr", "schedule"]))
        node[key] = data.draw(st.one_of(JSON, st.fixed_dictionaries(
            {"type": st.sampled_from(["CosineAnnealing", "Join", "Product", "x"]),
             "config": JSON})))
        _checkpoint.write(path, header, arrays_)
    elif where == "array":
        arrays_[data.draw(st.sampled_from(sorted(arrays_)))] = data.draw(
            arrays(dtypes=[np.float64, np.float32, np.int64, np.bool_], layouts=["C"]))
        _checkpoint.write(path, header, arrays_)
    else:
        with open(checkpoint_file, "rb") as f:
            blob = bytearray(f.read())
        low, high = 0, len(blob)
        if where == "structure":    # a zip or .npy header: a local header or the directory
            starts, directory = _member_offsets(checkpoint_file)
            low = data.draw(st.sampled_from([*starts, directory]))
            high = min(len(blob), low + 140)
        for _ in range(data.draw(st.integers(1, 4))):
            blob[data.draw(st.integers(low, high - 1))] ^= 1 << data.draw(st.integers(0, 7))
        cut = data.draw(st.integers(0, len(blob))) if where == "bytes" else len(blob)
        with open(path, "wb") as f:
            f.write(bytes(blob[:cut]))
    stream = adamopt.minibatches(np.arange(6.0), batch_size=2, seed=0)
    try:
        res = adamopt.adam(quadratic, np.ones(3), jac=True, maxiter=6, resume=path,
                           batches=stream)
    except Exception as exc:
        # A damaged file is a ValueError; a well-formed file with a value of
        # the wrong type for the optimizer may also be its TypeError.
        _mentions(exc, ["'resume'", "'batches'", "state", "checkpoint", "The "],
                  types=(ValueError,) if where in ("bytes", "structure")
                  else (ValueError, TypeError))
    else:
        _check_result(res, np.ones(3))


@fuzz
@given(data=st.data(), method=st.sampled_from([adamopt.adam, adamopt.adamw]))
def test_corrupted_run_state_is_refused_or_works(data, method):
    first = method(quadratic, np.ones(3), jac=True, maxiter=3, lr=0.1)
    state = dict(first.state)
    key = data.draw(st.sampled_from(sorted(state)))
    if data.draw(st.booleans()) and isinstance(state[key], dict):
        inner = dict(state[key])
        inner[data.draw(st.sampled_from(sorted(inner)))] = data.draw(
            st.one_of(ANYTHING, arrays(shape=(3,))))
        state[key] = inner
    else:
        state[key] = data.draw(st.one_of(ANYTHING, arrays(shape=(3,)),
                                         st.tuples(FLOATS, arrays(shape=(3,))),
                                         st.tuples(FLOATS, st.integers(), FLOATS,
                                                   st.integers())))
    try:
        res = method(quadratic, first.x, jac=True, maxiter=3, lr=0.1, state=state)
    except Exception as exc:
        _mentions(exc, ["'state'", "state given", "'grad'", "'lr'", "'beta", "'eps'",
                        "'weight_decay'", "'amsgrad'", "'maximize'", "'decay_scaling'"])
    else:
        _check_result(res, first.x)
