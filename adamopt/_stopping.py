"""Stopping rules for noisy objectives, and the status codes they set."""

import math

import numpy as np

from ._kernels import _projected_norm

#: Status code -> message of every way a run of the SciPy methods can end.
STATUS_MESSAGES = {
    0: "Optimization terminated successfully: the norm of the smoothed gradient "
       "(for Adam, the bias-corrected first moment; see the method's gtol option) is at "
       "most gtol.",
    1: "Maximum number of iterations has been exceeded.",
    2: "Optimization terminated successfully: the running average of the objective "
       "improved by less than ftol (relative) for patience iterations.",
    3: "The batches iterable is exhausted.",
    4: "Stopped: the objective returned a non-finite value; x is the last iterate where "
       "the objective and the gradient were finite.",
    5: "Stopped: the gradient is not finite, or too large to square in the parameters' "
       "dtype; x is the last iterate where the objective and the gradient were finite.",
    6: "Interrupted by KeyboardInterrupt; x is the current iterate and the state "
       "continues the run.",
    99: "`callback` raised `StopIteration`.",
}

#: The message of status 1 when ``maxfev`` (not ``maxiter``) ended the run, as SciPy's.
MAXFEV_MESSAGE = "Maximum number of function evaluations has been exceeded."

#: Added to the message of a run whose gradients were estimated by forward differences.
ESTIMATED_NOTE = (" (The gradients were estimated by forward differences: jac=None, which "
                  "is what minimize passes for '2-point', '3-point' and 'cs' alike.)")

#: Status codes of a converged run (``success=True``).
SUCCESS = frozenset({0, 2})


class GradientTest:
    """The ``gtol`` test on the smoothed gradient of an optimizer.

    ``test(grad)`` is True when the norm of the optimizer's smoothed gradient
    (its ``_run_smoothed_gradient(grad)``, see `adamopt._driven.Driven`: for
    Adam and AdamW the bias-corrected
    first moment :math:`\\hat m_t = m_t / (1 - \\beta_1^t)`, for the other
    algorithms what their SciPy method's ``gtol`` option says) is at most
    ``gtol``; ``grad`` is the objective's gradient at the current iterate.
    With bounds it is the projected :math:`x - P(x - \\hat m_t)`, which
    vanishes at a minimum on the boundary.  False before the first step.

    It runs every iteration, so the common case is made cheap: for the
    infinity norm, one dot product ``m . m`` (``>= max|m|^2``, and ``<= n
    max|m|^2``) settles most iterations before an exact maximum is needed.
    """

    def __init__(self, opt, gtol, order, lower, upper):
        self.opt, self.gtol, self.order = opt, gtol, order
        self.lower, self.upper = lower, upper
        self.size = opt.params.size

    def norm(self, grad=None):
        """The norm being tested (``inf`` before the first step)."""
        if self.opt.t == 0:
            return math.inf
        vector, scale, _ = self.opt._run_smoothed_gradient(grad)
        if self.lower is not None and self.order in (2.0, math.inf):
            fused = _fused_projected_norm(self.opt.params, vector, scale, self.lower,
                                          self.upper, self.order)
            if fused is not None:
                return fused
        with np.errstate(over="ignore", invalid="ignore"):   # a raw gradient may be huge
            smoothed = scale * np.asarray(vector)
            if self.lower is not None:
                x = self.opt.params
                smoothed = x - np.clip(x - smoothed, self.lower, self.upper)
            return float(np.linalg.norm(smoothed, ord=self.order))

    def test(self, grad=None):
        """True when the test fires."""
        if self.opt.t == 0:
            return False
        if self.lower is not None or self.order not in (2.0, math.inf):
            return self.norm(grad) <= self.gtol
        m, scale, owned = self.opt._run_smoothed_gradient(grad)
        if not owned:
            m = np.asarray(m).ravel()
        elif m.ndim != 1:     # the optimizer's own array: skip the conversions
            m = m.ravel()
        threshold = self.gtol / scale
        if not owned:
            # The objective's gradient, not yet checked (it may be huge or NaN):
            # bound every element first, which cannot overflow (and NaN fails).
            if not (float(m.max()) <= threshold and -float(m.min()) <= threshold):
                return False
            if self.order == math.inf:
                return True
            if threshold > 1e150:    # the squares below could overflow
                return self.norm(grad) <= self.gtol
        with np.errstate(over="ignore"):
            squares = float(m.dot(m))
        if not math.isfinite(squares):
            # Elements beyond sqrt(max) (an extreme but finite state): the
            # squares overflow, so compare the norm scaled by its largest element.
            return _scaled_norm(m, self.order) <= threshold
        if self.order == 2.0:
            return squares <= threshold * threshold
        if squares > self.size * threshold * threshold:
            return False
        return float(np.abs(m).max()) <= threshold


def _fused_projected_norm(x, vector, scale, lower, upper, order):
    """The projected norm in one compiled pass (`adamopt._kernels._projected_norm`),
    or None when ``vector`` is not an array it reads as is (then NumPy's)."""
    if not (type(vector) is np.ndarray and vector.dtype == x.dtype
            and vector.size == x.size and vector.flags.c_contiguous
            and x.flags.c_contiguous and lower.dtype == x.dtype):
        return None
    return _projected_norm(x, vector, scale, lower, upper, order == math.inf)


def _scaled_norm(m, order):
    """The 2- or infinity norm of ``m`` without overflow in its squares."""
    largest = float(np.abs(m).max())
    if order == math.inf or not largest > 0.0 or not math.isfinite(largest):
        return largest
    scaled = m / largest
    return largest * math.sqrt(float(scaled.dot(scaled)))


class Plateau:
    """The plateau test: stop when the running average of the objective has
    not improved by more than ``ftol`` (relative) for ``patience`` iterations.

    The running average is an exponential moving average with factor
    ``smoothing``, bias-corrected like Adam's moments (so the first values are
    not pulled toward zero).  The state is one tuple, replaced whole at each
    update, so an interrupt never leaves it half-updated.
    """

    def __init__(self, ftol, patience, smoothing, sign, saved=None):
        self.ftol, self.patience, self.smoothing, self.sign = ftol, patience, smoothing, sign
        # (average, number of values averaged, best corrected average, iterations since)
        self.state = saved if saved is not None else (0.0, 0, math.inf, 0)

    def update(self, f):
        """Feed one objective value; return True when the plateau test fires.

        Without ``patience`` the test is off and nothing is computed.
        """
        if self.patience is None:
            return False
        average, count, best, since = self.state
        rho = self.smoothing
        average = rho * average + (1.0 - rho) * (self.sign * f)
        count += 1
        corrected = average / (1.0 - rho ** count) if rho else average
        if corrected < best - self.ftol * abs(best) or best == math.inf:
            best, since = corrected, 0
        else:
            since += 1
        self.state = (average, count, best, since)
        return since >= self.patience

    @property
    def fired(self):
        """Whether the test fired at the last value fed."""
        return self.patience is not None and self.state[3] >= self.patience

    @property
    def average(self):
        """The bias-corrected running average of the objective (nan before any value)."""
        average, count, _, _ = self.state
        if count == 0:
            return math.nan
        rho = self.smoothing
        return self.sign * (average / (1.0 - rho ** count) if rho else average)
