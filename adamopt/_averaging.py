r"""Iterate averaging: the options ``average``, ``average_decay`` and
``average_start`` of every class and SciPy method, written once.

An averaging optimizer keeps one extra array :math:`a`, shaped like the
parameters, and after step :math:`t` (which produced the iterate
:math:`x_t`) updates it as

.. math::

    a_t = a_{t-1} + c_t \, (x_t - a_{t-1}),

with the weight :math:`c_t` of the chosen average:

* ``"ema"``, the bias-corrected exponential moving average of Kingma & Ba
  (2015, section 7.2): :math:`\bar x_t = \beta \bar x_{t-1} + (1 - \beta)
  x_t`, :math:`\bar x_0 = 0`, returned as :math:`\bar x_t / (1 - \beta^t)`,
  which is the recursion above with :math:`c_t = (1 - \beta) / (1 - \beta^t)`
  (:math:`c_1 = 1`), :math:`\beta` = ``average_decay``;
* ``"polyak"``, the uniform (Polyak-Ruppert) average of the iterates
  :math:`x_s, \dots, x_t` from :math:`s` = ``average_start`` on (Polyak &
  Juditsky, 1992): :math:`c_t = 1 / (t - s + 1)` for :math:`t \ge s`, and
  :math:`c_t = 1` before (the average follows the iterate until it starts).
  With :math:`s = 0` the initial point :math:`x_0` is one of the averaged
  iterates (:math:`a_0 = x_0`).

For a one-array optimizer whose step runs the compiled post-pass stage
(``adamopt/_post.pxi``) the update is done inside the step's own pass over
memory, while the block is in cache (one more array read and written, no
other pass).  A structure of arrays (``adamopt/_segments.pxi``) and the
steps that are not their core's one-array pass (SWATS, the SciPy methods'
``groups``) update it in a separate NumPy pass after the step, with the same
arithmetic (``a += c * (x - a)`` in the parameters' dtype, bitwise the same).

References
----------
D. P. Kingma and J. Ba, "Adam: A Method for Stochastic Optimization", ICLR
2015, section 7.2 (temporal averaging).
B. T. Polyak and A. B. Juditsky, "Acceleration of stochastic approximation
by averaging", SIAM J. Control Optim. 30(4), 838-855, 1992.
"""

import math

import numpy as np

from . import _validation as check

#: The options and their defaults (the classes' keyword-only arguments and
#: the SciPy methods' options).
DEFAULTS = {"average": None, "average_decay": 0.999, "average_start": 0}

#: The kinds of average.
KINDS = ("ema", "polyak")

#: Their numpydoc entries (the classes' Parameters, the methods' Options).
DOCS = {
    "average": ("{None, 'ema', 'polyak'}", """Keep an average of the iterates, updated each step:
``"ema"`` the bias-corrected exponential moving average of Kingma & Ba
(section 7.2), ``"polyak"`` the uniform average from ``average_start`` on
(Polyak & Juditsky 1992); None: off.  The classes expose it as
``averaged``; the SciPy methods return it as ``res.x`` (the last iterate
as ``res.x_last``)."""),
    "average_decay": ("float", """The decay :math:`\\beta` of ``average="ema"``, in (0, 1): its
weight :math:`c_t = (1 - \\beta) / (1 - \\beta^t)`, a window of about
:math:`1 / (1 - \\beta)` steps."""),
    "average_start": ("int", """The first iterate :math:`x_s` of ``average="polyak"`` (a step
count >= 0; 0 includes the initial point): :math:`c_t = 1 / (t - s + 1)`."""),
}


def check_kind(value, name, owner):
    """``average``: None, "ema" or "polyak"."""
    if value is None:
        return None
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind == "U":
        value = str(value)     # as read back by numpy.load
    if not isinstance(value, str) or value not in KINDS:
        raise check._fail(ValueError if isinstance(value, str) else TypeError, name, owner,
                          'None, "ema" or "polyak"', value)
    return value


def check_decay(value, name, owner):
    """``average_decay``: a number in (0, 1)."""
    x = check.real(value, name, owner)
    if not (0.0 < x < 1.0):
        raise check._fail(ValueError, name, owner, "in (0, 1)", value)
    return x


def check_start(value, name, owner):
    """``average_start``: an integer >= 0."""
    return check.integer(check._unwrap(value), name, owner, 0)


#: The check of each option, by name.
CHECKS = {"average": check_kind, "average_decay": check_decay, "average_start": check_start}


def weight(kind, decay, start, t):
    """The weight :math:`c_t` of the update after step ``t`` (>= 1), a float."""
    if kind == "ema":
        # 1 - decay**t, without the cancellation of the powers near 1
        return (1.0 - decay) / -math.expm1(t * math.log(decay))
    return 1.0 if t <= start else 1.0 / (t - start + 1)


def update(a, x, c):
    """``a += c * (x - a)`` in NumPy, in the arrays' dtype (``c`` rounded to
    it once), ``a = x`` exactly when ``c == 1``: the post stage's arithmetic
    (the separate pass of the steps that do not run it)."""
    if c == 1.0:
        np.copyto(a, x)
        return
    d = np.subtract(x, a)
    np.multiply(d, a.dtype.type(c), out=d)
    np.add(a, d, out=a)


def readonly(a):
    """A read-only view of ``a``."""
    view = a.view()
    view.flags.writeable = False
    return view


def like(params, arrays):
    """``arrays`` (one per array of the structure ``params``, in its order) in
    the structure of ``params``: a dict by key, a list or tuple as such; a
    list of parameter groups gives the flat list of its arrays."""
    if isinstance(params, dict):
        return dict(zip(params, arrays, strict=True))
    if isinstance(params, tuple):
        return tuple(arrays)
    return list(arrays)
