"""Evaluate a SciPy-style objective (and its gradient) on one minibatch.

An evaluator is called as ``evaluate(x, batch, arg)`` and returns ``(f, g)``:
the objective value as a Python float and the gradient as whatever array-like
the user returned (the optimizer converts it if it must).  The objective
always receives a copy of ``x`` of its own, as SciPy's own methods pass, so an
objective that modifies its argument cannot disturb the run: ``arg``, a copy
the caller made (the run's step writes it in its own pass, see
``adamopt/_post.pxi``) and gives away, or None for a fresh ``x.copy()``.  ``calls`` counts the real
calls, ``[nfev, njev]``, incremented just before each call (with forward
differences every call of ``fun`` counts in ``nfev`` and each gradient
estimated in ``njev``, as SciPy counts them).
"""

import math

import numpy as np

from ._validation import show

try:    # SciPy wraps fun for jac=True; its cache is keyed on x alone
    from scipy.optimize._optimize import MemoizeJac as _MemoizeJac
except ImportError:  # pragma: no cover - a future SciPy may move it
    _MemoizeJac = None


def value(f, owner, what):
    """Return the objective value ``f`` as a Python float, or raise."""
    if isinstance(f, float):     # Python floats and numpy.float64
        return float(f)
    if isinstance(f, (np.floating, np.integer, int)) and not isinstance(f, (bool, np.bool_)):
        try:
            return float(f)
        except OverflowError:    # an integer beyond the float range: non-finite
            return math.inf if f > 0 else -math.inf
    try:
        arr = np.asarray(f)
    except Exception:
        arr = None
    if arr is not None and arr.size != 1 and arr.dtype.kind in "fiub":
        # SciPy's methods raise ValueError for an objective that is not scalar.
        raise ValueError(
            f"The objective {what} given to {owner} must return a scalar value"
            f"{' (and a gradient)' if what == 'fun (jac=True)' else ''}. "
            f"Got {show(f)} instead."
        )
    if arr is None or arr.size != 1 or arr.dtype.kind not in "fiu":
        raise TypeError(
            f"The objective {what} given to {owner} must return a real scalar"
            f"{' and a gradient' if what == 'fun (jac=True)' else ''}. "
            f"Got {show(f)} instead."
        )
    return float(arr.reshape(()))


def unwrap_memoized(fun, jac):
    """Return the user's ``(x, *args) -> (f, g)`` callable when ``fun`` and
    ``jac`` are SciPy's memoizing wrapper of it (``minimize(jac=True)``), else
    None.  The wrapper caches by ``x`` only, which would hand back a stale
    gradient when the minibatch changes but ``x`` does not."""
    if getattr(jac, "__self__", None) is not fun or not hasattr(fun, "fun"):
        return None
    if _MemoizeJac is not None and isinstance(fun, _MemoizeJac):
        return fun.fun
    if type(fun).__name__ == "MemoizeJac" and getattr(jac, "__name__", "") == "derivative":
        return fun.fun
    return None


def combined(fun, args, owner):
    """Evaluator for ``fun(x, *batch, *args) -> (f, g)`` (``jac=True``)."""
    calls = [0, 0]

    def evaluate(x, batch, arg=None):
        calls[0] += 1
        calls[1] += 1
        if args or batch:
            out = fun(x.copy() if arg is None else arg, *batch, *args)
        else:       # (the common call, without building an argument tuple)
            out = fun(x.copy() if arg is None else arg)
        try:
            f, g = out
        except (TypeError, ValueError):
            raise TypeError(
                f"With jac=True, the objective fun given to {owner} must return a pair "
                f"(value, gradient). Got {show(out)} instead."
            ) from None
        if type(f) is float:
            return f, g
        return value(f, owner, "fun (jac=True)"), g

    return evaluate, calls


def separate(fun, jac, args, owner):
    """Evaluator for ``fun(x, *batch, *args)`` and ``jac(x, *batch, *args)``."""
    calls = [0, 0]

    def evaluate(x, batch, arg=None):
        calls[0] += 1
        f = value(fun(x.copy() if arg is None else arg, *batch, *args), owner, "fun")
        calls[1] += 1
        return f, jac(x.copy(), *batch, *args)   # (fun may have kept or changed arg)

    return evaluate, calls


def forward_differences(fun, args, owner, lower, upper):
    """Evaluator that estimates the gradient by forward differences on the
    same minibatch: ``n + 1`` calls of ``fun`` per evaluation.

    The step for element ``i`` is ``sqrt(eps) * max(1, |x_i|)`` (``eps`` of
    the parameters' dtype), taken backwards where the forward point would
    leave the bounds; an element fixed by its bounds gets a zero derivative.
    """
    calls = [0, 0]

    def evaluate(x, batch, arg=None):
        calls[0] += 1
        calls[1] += 1      # one gradient estimated, as SciPy counts them
        f0 = value(fun(x.copy() if arg is None else arg, *batch, *args), owner, "fun")
        rel = math.sqrt(np.finfo(x.dtype).eps)
        h = rel * np.maximum(1.0, np.abs(x))
        g = np.empty_like(x)
        for i in range(x.size):
            point = x.copy()
            forward = point[i] + h[i]
            if upper is not None and forward > upper[i]:
                forward = point[i] - h[i]
                if lower is not None and forward < lower[i]:
                    forward = point[i]     # fixed by its bounds
            point[i] = forward
            step = float(point[i]) - float(x[i])     # the step actually represented
            if step == 0.0:
                g[i] = 0.0
                continue
            calls[0] += 1
            fi = value(fun(point, *batch, *args), owner, "fun")
            g[i] = (fi - f0) / step
        return f0, g

    return evaluate, calls
