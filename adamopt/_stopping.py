"""Stopping rules for noisy objectives, and the status codes they set."""

import math

import numpy as np

from ._kernels import _gradient_above, _projected_norm

#: Status code -> message of every way a run of the SciPy methods can end.
STATUS_MESSAGES = {
    0: "Optimization terminated successfully: the norm of the gradient at x (with "
       "batches: of the smoothed gradient, see the method's gtol option) is at most gtol.",
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
    7: "Optimization terminated successfully: the stationarity test found that the "
       "iterates only fluctuate around a point, without drifting (the noise floor of "
       "the learning rate); res.stationarity is the statistic, below 2.",
    99: "`callback` raised `StopIteration`.",
}

#: The message of status 1 when ``maxfev`` (not ``maxiter``) ended the run, as SciPy's.
MAXFEV_MESSAGE = "Maximum number of function evaluations has been exceeded."

#: Added to the message of a run whose gradients were estimated by forward differences.
ESTIMATED_NOTE = (" (The gradients were estimated by forward differences: jac=None, which "
                  "is what minimize passes for '2-point', '3-point' and 'cs' alike.)")

#: Status codes of a converged run (``success=True``).
SUCCESS = frozenset({0, 2, 7})

#: Added to the message of status 0 or 2 of a deterministic run with averaging
#: whose averaged point fails the test that the last iterate passed.
AVERAGE_NOTE = (" (The averaged point fails that test, so x is the last iterate, which "
                "passed it, as x_last; the average is not returned.)")

#: Added to the message of status 1 when the learning rate follows a schedule.
BUDGET_NOTE = (" (The learning rate follows a schedule: a run to maxiter is a fixed-budget "
               "run, the normal way to end one; no convergence test fired, so success is "
               "False. Trust fun_smoothed, the running average of the objective, over "
               "fun, one minibatch's value.)")


class GradientTest:
    """The ``gtol`` test of a run.

    ``test(grad)`` is True when the norm of the tested vector is at most
    ``gtol``; ``grad`` is the objective's gradient at the current iterate.
    With ``current`` (a deterministic run: no ``batches``) the vector is that
    gradient itself (its ``_run_gradient(grad)``, plus ``weight_decay * x``
    when the decay is coupled), as in SciPy's methods, so ``success`` is
    never reported while the gradient at ``x`` exceeds ``gtol``.  Otherwise
    (a stochastic run) it is the optimizer's smoothed gradient (its
    ``_run_smoothed_gradient(grad)``, see `adamopt._driven.Driven`: for Adam
    and AdamW the bias-corrected first moment :math:`\\hat m_t = m_t / (1 -
    \\beta_1^t)`, for the other algorithms what their SciPy method's
    ``gtol`` option says), far less noisy than one minibatch gradient.  With
    bounds it is the projected :math:`x - P(x - s)`, which vanishes at a
    minimum on the boundary.  False before the first step.

    It runs every iteration, so the common case is made cheap: a compiled
    scan (`adamopt._kernels._gradient_above`, and `_projected_norm` with
    bounds) stops at the first block of the vector that shows its norm above
    ``gtol``, so a run far from converging reads a few blocks per iteration,
    and one close to it one pass.  Otherwise (a vector that is not a
    contiguous float array, a 2-norm within rounding of ``gtol``) one dot
    product ``s . s`` settles the 2-norm, and for the infinity norm most
    iterations (``max|s|^2 <= s . s <= n max|s|^2``) before an exact maximum
    is needed.  A non-finite vector (a NaN or an infinite gradient) fails.
    """

    def __init__(self, opt, gtol, order, lower, upper, current=False):
        self.opt, self.gtol, self.order = opt, gtol, order
        self.lower, self.upper = lower, upper
        self.size = opt.params.size
        self.current = current
        self.vector = opt._run_gradient if current else opt._run_smoothed_gradient
        # The common case, tested first: a deterministic run's gradient as a
        # 1-d float array, no bounds, an optimizer whose tested vector is the
        # gradient itself unless its decay is coupled (checked per call).
        from ._optimizers import _Optimizer
        self.direct = (current and lower is None and order in (2.0, math.inf)
                       and getattr(type(opt), "_run_gradient", None)
                       is _Optimizer._run_gradient)
        self.inf_norm = order == math.inf

    def norm_at(self, point, grad):
        """The norm a deterministic run's test measures, at ``point`` (the
        averaged point of the result) where the objective's gradient is
        ``grad``: the optimizer's parameters hold ``point`` during the call
        (for the coupled decay and the projection), and are restored."""
        x = self.opt.params
        kept = x.copy()
        try:
            np.copyto(x, point)
            return self.norm(grad)
        finally:
            np.copyto(x, kept)

    def norm(self, grad=None, above=math.inf):
        """The norm being tested (``inf`` before the first step); with
        ``above``, a number above ``above`` as soon as the norm surely is."""
        if self.opt.t == 0:
            return math.inf
        vector, scale, _ = self.vector(grad)
        vector = np.asarray(vector)
        if vector.dtype.kind not in "fiub":
            return math.inf     # not a real gradient: the next step refuses it, naming it
        if self.lower is not None and self.order in (2.0, math.inf):
            fused = _fused_projected_norm(self.opt.params, vector, scale, self.lower,
                                          self.upper, self.order, above)
            if fused is not None:
                return fused
        with np.errstate(over="ignore", invalid="ignore"):   # a raw gradient may be huge
            tested = scale * vector
            if self.lower is not None:
                x = self.opt.params
                tested = x - np.clip(x - tested, self.lower, self.upper)
            return float(np.linalg.norm(tested, ord=self.order))

    def test(self, grad=None):
        """True when the test fires."""
        if self.opt.t == 0:
            return False
        if (self.direct and type(grad) is np.ndarray and grad.ndim == 1
                and not self.opt._coupled_decay()):
            above = _gradient_above(grad, self.gtol, self.inf_norm)
            if above is not None:
                return not above
        if self.lower is not None or self.order not in (2.0, math.inf):
            return self.norm(grad, self.gtol) <= self.gtol
        m, scale, _ = self.vector(grad)
        m = np.asarray(m)
        if m.dtype.kind != "f":
            if m.dtype.kind not in "iub":
                return False    # not a real gradient: the next step refuses it, naming it
            m = m.astype(np.float64)
        if m.ndim != 1:
            m = m.ravel()
        threshold = self.gtol / scale
        if type(m) is np.ndarray:
            above = _gradient_above(m, threshold, self.order == math.inf)
            if above is not None:
                return not above
        with np.errstate(over="ignore", invalid="ignore"):
            squares = float(m.dot(m))
        if not math.isfinite(squares):
            # NaN or infinity (fails), or elements beyond sqrt(max) (an extreme
            # but finite vector): compare the norm scaled by its largest element.
            return _scaled_norm(m, self.order) <= threshold
        with np.errstate(over="ignore"):
            bound = threshold * threshold     # inf for a huge gtol: then it fires
        if self.order == 2.0 or squares <= bound:
            return squares <= bound
        if squares > self.size * bound:
            return False
        return float(m.max()) <= threshold and -float(m.min()) <= threshold   # no |m| copy


def _fused_projected_norm(x, vector, scale, lower, upper, order, above=math.inf):
    """The projected norm in one compiled pass (`adamopt._kernels._projected_norm`),
    or None when ``vector`` is not an array it reads as is (then NumPy's)."""
    if not (type(vector) is np.ndarray and vector.dtype == x.dtype
            and vector.size == x.size and vector.flags.c_contiguous
            and x.flags.c_contiguous and lower.dtype == x.dtype):
        return None
    return _projected_norm(x, vector, scale, lower, upper, order == math.inf, above)


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

        Without ``patience`` the test is off; the average is kept (it is
        the result's ``fun_smoothed``).
        """
        average, count, best, since = self.state
        rho = self.smoothing
        average = rho * average + (1.0 - rho) * (self.sign * f)
        count += 1
        if self.patience is None:
            self.state = (average, count, best, since)
            return False
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
