"""Argument checks shared by every public entry point, with one error format.

Every message reads ``The '<name>' parameter of <owner> must be <rule>. Got
<value> instead.``: it names the parameter, the object or function that
received it, what was expected and what arrived.  Wrong types raise
`TypeError`, wrong values `ValueError`.
"""

import math
import numbers

import numpy as np


class GradientValueError(ValueError):
    """A gradient an optimizer refuses to step with: a NaN or an infinity, or
    a value whose square would overflow the second moment, or (SGD, Adagrad)
    one with which the step could overflow the parameters or the state, or a
    step refused because they are already too large for another.  The
    parameters and the optimizer state are unchanged when it is raised."""


#: dtypes the compiled kernels support for parameters and optimizer state.
SUPPORTED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def show(value):
    """Short, unambiguous rendering of a bad value for an error message."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    if isinstance(value, (bool, int, float, np.generic)):
        return text
    return f"{text} ({type(value).__name__})"


def _fail(exc, name, owner, rule, value):
    return exc(f"The {name!r} parameter of {owner} must be {rule}. Got {show(value)} instead.")


def real(value, name, owner):
    """Return ``value`` as a Python float, or raise `TypeError`.

    Accepts Python and NumPy integers and floats and 0-d or one-element real
    arrays (as read back by `numpy.load`, or ``np.array([0.1])``); rejects
    booleans, strings, complex numbers and everything else.
    """
    value = _unwrap(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise _fail(TypeError, name, owner, "a real number", value)
    try:
        return float(value)
    except OverflowError:   # an integer beyond the float range
        return math.inf if value > 0 else -math.inf


def _unwrap(value):
    """The element of a 0-d or one-element array, else ``value`` itself."""
    if isinstance(value, np.ndarray) and value.size == 1:
        return value.reshape(())[()]
    return value


def integer(value, name, owner, low=1, high=None):
    """An integer in ``[low, high]`` (``high=None``: no upper limit), as a Python int.

    Python and NumPy integers are accepted; booleans, floats and everything
    else are a `TypeError`.
    """
    rule = f"an integer >= {low}" if high is None else f"an integer in [{low}, {high}]"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise _fail(TypeError, name, owner, rule, value)
    if value < low or (high is not None and value > high):
        raise _fail(ValueError, name, owner, rule, value)
    return int(value)


def finite_at_least(value, name, owner, low=0.0):
    """A finite real number ``>= low``."""
    x = real(value, name, owner)
    if not (math.isfinite(x) and x >= low):
        raise _fail(ValueError, name, owner, f"a finite number >= {low:g}", value)
    return x


def positive_finite(value, name, owner):
    """A finite real number ``> 0``."""
    x = real(value, name, owner)
    if not (math.isfinite(x) and x > 0.0):
        raise _fail(ValueError, name, owner, "a finite number > 0", value)
    return x


def unit_interval(value, name, owner):
    """A real number in ``[0, 1)`` (a decay rate such as ``beta1``)."""
    x = real(value, name, owner)
    if not (0.0 <= x < 1.0):
        raise _fail(ValueError, name, owner, "in [0, 1)", value)
    return x


def within_dtype(value, name, owner, dtype):
    """Refuse a finite hyperparameter that the step would round to an
    infinity in the parameters' ``dtype`` (an ``eps`` of 1e39 for float32
    parameters made Adam's steps do nothing); return ``value``."""
    if isinstance(value, float) and math.isfinite(value):
        top = float(np.finfo(dtype).max)
        if abs(value) > top:
            with np.errstate(over="ignore"):
                rounded = float(np.asarray(value, dtype=dtype))
            if math.isfinite(rounded):   # (rounds down to the largest number)
                return value
            raise ValueError(
                f"The {name!r} parameter of {owner} must be within the range of the "
                f"parameters' dtype {np.dtype(dtype)} (|{name}| <= {top:.8g}). "
                f"Got {show(value)} instead.")
    return value


def optional_positive(value, name, owner):
    """None, or a real number ``> 0`` (infinity included): a clipping bound."""
    if value is None:
        return None
    x = real(value, name, owner)
    if not x > 0.0:
        raise _fail(ValueError, name, owner, "None or a number > 0 (inf: no bound)", value)
    return x


def boolean(value, name, owner):
    """A Python or NumPy bool (or a 0-d or one-element boolean array)."""
    value = _unwrap(value)
    if not isinstance(value, (bool, np.bool_)):
        raise _fail(TypeError, name, owner, "True or False", value)
    return bool(value)


def choice(value, name, owner, options):
    """One of the strings in ``options``."""
    if not isinstance(value, str):
        raise _fail(TypeError, name, owner, f"one of {options}", value)
    if value not in options:
        raise _fail(ValueError, name, owner, f"one of {options}", value)
    return value


def number_or_callable(value, name, owner, low=0.0):
    """A finite number ``>= low``, or a callable (checked when it is called)."""
    if callable(value) and not isinstance(value, (numbers.Number, np.ndarray)):
        return value
    if isinstance(value, (str, bytes)) or not isinstance(value, (numbers.Real, np.ndarray)):
        raise _fail(TypeError, name, owner, "a real number or a callable t -> value", value)
    return finite_at_least(value, name, owner, low)


def optional_callable(value, name, owner):
    """None or a callable (a schedule ``t -> value``)."""
    if value is not None and not callable(value):
        raise _fail(TypeError, name, owner, "a callable t -> value, or None", value)
    return value


def schedule_value(function, name, owner, t):
    """Call a schedule at step ``t`` and check what it returns; return a float.

    An exception raised by the schedule propagates with a note naming the
    step.
    """
    try:
        value = function(t)
    except Exception as exc:
        if hasattr(exc, "add_note"):   # Python >= 3.11
            exc.add_note(f"(raised by the {name!r} schedule of {owner} at t={t})")
        raise
    if type(value) is float and 0.0 <= value < math.inf:   # the common case, fast
        return value
    rule = f"The {name!r} schedule of {owner} must return a finite number >= 0 at every step"
    value = _unwrap(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{rule}. Got {show(value)} at t={t} instead.")
    try:
        x = float(value)
    except OverflowError:
        x = math.inf
    if not (math.isfinite(x) and x >= 0.0):
        raise ValueError(f"{rule}. Got {show(value)} at t={t} instead.")
    return x


def params_array(params, owner):
    """Check the array an optimizer will update in place, and return it.

    It must be a NumPy array (a subclass such as `numpy.memmap` is fine) of
    dtype float32 or float64 in native byte order, aligned, writeable and
    contiguous (C or Fortran order).
    """
    name = "params"
    if not isinstance(params, np.ndarray):
        raise _fail(
            TypeError, name, owner,
            "a NumPy array of float32 or float64 (it is updated in place)", params,
        )
    if params.dtype.newbyteorder("=") not in SUPPORTED_DTYPES:
        raise _fail(TypeError, name, owner, "an array of dtype float32 or float64", params)
    if not params.dtype.isnative:
        raise _fail(
            ValueError, name, owner,
            "in native byte order (use params.astype(params.dtype.newbyteorder('=')))",
            params,
        )
    if not params.flags.writeable:
        raise _fail(ValueError, name, owner, "writeable (it is updated in place)", params)
    if not (params.flags.c_contiguous or params.flags.f_contiguous):
        raise _fail(
            ValueError, name, owner,
            "contiguous in memory (C or Fortran order; use np.ascontiguousarray)", params,
        )
    if not params.flags.aligned:
        raise _fail(ValueError, name, owner, "aligned in memory (copy it first)", params)
    return params


def grad_array(grad, params, owner, check_range=True):
    """Return ``grad`` as an array laid out exactly like ``params``.

    Anything array-like of real numbers with the shape of ``params`` is
    accepted; it is converted (one copy) when its dtype, memory order,
    alignment or byte order differ from ``params``, or when it shares memory
    with ``params``.  Booleans, complex numbers and objects are refused, and
    with ``check_range`` so are finite values that the conversion to the
    parameters' dtype would turn into infinities.
    """
    name = "grad"
    try:
        arr = np.asarray(grad)
    except Exception as exc:  # e.g. ragged nested lists
        raise _fail(TypeError, name, owner, "an array of real numbers", grad) from exc
    if arr.dtype.kind not in "fiu":
        raise _fail(
            TypeError, name, owner,
            "an array of real numbers (float or integer dtype)", arr,
        )
    if arr.shape != params.shape:
        raise ValueError(
            f"The 'grad' parameter of {owner} must have the shape of the parameters, "
            f"{params.shape}. Got shape {arr.shape} instead."
        )
    order = memory_order(params)
    with np.errstate(over="ignore"):   # values beyond float32: reported below
        if np.may_share_memory(arr, params):
            out = np.array(arr, dtype=params.dtype, order=order, copy=True)
        else:
            out = np.require(arr, dtype=params.dtype, requirements=[order, "A", "E"])
    if (check_range and arr.dtype.kind == "f" and arr.dtype.itemsize > out.dtype.itemsize
            and out.size and not (np.isfinite(out.max()) and np.isfinite(out.min()))):
        # (two reductions without temporaries settle the common case: no value
        # is infinite or NaN after the conversion)
        lost = np.isinf(out) & np.isfinite(arr)
        if lost.any():
            index = tuple(int(i) for i in np.unravel_index(np.argmax(lost), arr.shape))
            raise GradientValueError(
                f"The 'grad' parameter of {owner} must be within the range of the "
                f"parameters' dtype {params.dtype} (|g| <= {np.finfo(params.dtype).max:.4g}). "
                f"Got {arr[index]!r} at index {index} instead; the parameters and the "
                f"optimizer state are unchanged."
            )
    return out


def memory_order(params):
    """``'F'`` for an array that is only Fortran-contiguous, else ``'C'``."""
    return "F" if (params.flags.f_contiguous and not params.flags.c_contiguous) else "C"
