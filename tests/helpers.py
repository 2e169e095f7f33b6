"""Shared test helpers: build an optimizer in a given state, the error bound
that decides whether a compiled step agrees with the NumPy reference, and the
patterns the error-message tests match."""

import re

import numpy as np

import adamopt
from adamopt import _reference

#: Safety factor over the first-order running error bound below.
SAFETY = 2.0


def make_optimizer(x, *, algorithm="adam", t=0, m=None, v=None, vmax=None, **options):
    """An Adam/AdamW on ``x`` (updated in place) whose state is (t, m, v, vmax)."""
    cls = adamopt.AdamW if algorithm == "adamw" else adamopt.Adam
    opt = cls(x, **options)
    if t:
        state = opt.state_dict()
        state.update(t=t, m=m, v=v)
        if opt.amsgrad:
            state["vmax"] = vmax
        opt.load_state_dict(state)
    return opt


def reference_step(x, g, m, v, vmax, t, *, algorithm="adam", lr=1e-3, beta1=0.9,
                   beta2=0.999, eps=1e-8, weight_decay=None, amsgrad=False,
                   maximize=False, decay_scaling="lr", eta=1.0):
    """The reference step for the options of `make_optimizer` (lr: the float)."""
    decoupled = algorithm == "adamw"
    if weight_decay is None:
        weight_decay = 1e-2 if decoupled else 0.0
    return _reference.adam_step(
        x, g, m, v, vmax, t, lr=lr * eta, beta1=beta1, beta2=beta2, eps=eps,
        weight_decay=weight_decay, decoupled=decoupled,
        decay_scale=eta if decay_scaling == "schedule" else None,
        amsgrad=amsgrad, maximize=maximize)


def step_error_bounds(x, g, m, v, vmax, t, dtype, *, algorithm="adam", lr=1e-3, beta1=0.9,
                      beta2=0.999, eps=1e-8, weight_decay=None, amsgrad=False,
                      maximize=False, decay_scaling="lr", eta=1.0):
    """Bounds on |compiled - reference| for the new (x, m, v) of one step.

    A first-order running error analysis (Higham, *Accuracy and Stability of
    Numerical Algorithms*, section 3.3): every rounded operation of the step
    contributes at most u times the magnitude of its result, with u the unit
    roundoff; the magnitudes are bounded from the inputs.  Counting the rounded
    operations of the longest chain that feeds each result gives, with ``a`` the
    magnitude of the effective gradient and ``delta`` the update of x:

    * m: 6 u (|m| + (1 - beta1) a + |m_new|)
    * v: 8 u (v + (1 - beta2) a^2 + v_new)
    * x: 3 u |x| (1 + |1 - decay|) + 5 u |delta| + step E_m / den + |delta| E_r / den
      + u |x_new|, with den = sqrt(w) + eps_hat and E_r the error of sqrt(w)
      caused by that of w, at most min(E_v / (2 sqrt(w)), sqrt(E_v)).

    Each operation whose result underflows adds at most the smallest subnormal
    number instead, and that many are added.

    The kernel computes in ``dtype`` (u = eps/2 of the dtype), the reference in
    float64 and rounds once to ``dtype``; the bound is the sum of both,
    multiplied by `SAFETY`.  For float64 it comes to a few units in the last
    place of max(|x|, |delta|); for float32 likewise in float32 units.
    """
    f = np.float64
    x, g, m, v = (np.asarray(a, dtype=f) for a in (x, g, m, v))
    decoupled = algorithm == "adamw"
    if weight_decay is None:
        weight_decay = 1e-2 if decoupled else 0.0
    lr_t = lr * eta
    c1, c2 = 1.0 - beta1, 1.0 - beta2
    a = np.abs(g) + (0.0 if decoupled else weight_decay * np.abs(x))
    x_new, m_new, v_new, vmax_new = reference_step(
        x, g, m, v, None if vmax is None else np.asarray(vmax, f), t, algorithm=algorithm,
        lr=lr, beta1=beta1, beta2=beta2, eps=eps, weight_decay=weight_decay,
        amsgrad=amsgrad, maximize=maximize, decay_scaling=decay_scaling, eta=eta)
    w = vmax_new if amsgrad else v_new
    bc2_sqrt = np.sqrt(1.0 - beta2**t)
    step = lr_t * bc2_sqrt / (1.0 - beta1**t)
    den = np.sqrt(w) + eps * bc2_sqrt
    delta = step * np.abs(m_new) / den
    decay = 1.0
    if decoupled:
        decay = 1.0 - (eta if decay_scaling == "schedule" else lr_t) * weight_decay
    def bounds(u, tiny):
        # tiny: the absolute error of an operation whose result underflows
        # (the smallest subnormal), where relative error bounds do not hold.
        em = 6 * u * (np.abs(m) + c1 * a + np.abs(m_new)) + 6 * tiny
        ev = 8 * u * (v + c2 * a**2 + v_new) + 8 * tiny
        # |sqrt(w + e) - sqrt(w)| <= min(e / (2 sqrt(w)), sqrt(e))
        with np.errstate(divide="ignore", invalid="ignore"):
            droot = np.minimum(np.where(w > 0, ev / (2 * np.sqrt(w)), np.inf), np.sqrt(ev))
        ex = (3 * u * np.abs(x) * (1 + abs(1 - decay)) + 5 * u * delta + step * em / den
              + delta * droot / den + u * np.abs(x_new) + 4 * tiny)
        return ex, em, ev

    u_kernel = np.finfo(dtype).eps / 2
    u_ref = np.finfo(np.float64).eps / 2
    kx, km, kv = bounds(u_kernel, np.finfo(dtype).smallest_subnormal)
    rx, rm, rv = bounds(u_ref, np.finfo(np.float64).smallest_subnormal)
    return SAFETY * (kx + rx), SAFETY * (km + rm), SAFETY * (kv + rv)


def random_state(rng, shape, dtype, scale=1.0, amsgrad=False):
    """A consistent random optimizer state: m, v >= m*m-ish, vmax >= v."""
    m = np.asarray(rng.standard_normal(shape) * scale, dtype)
    v = np.asarray(np.asarray(m, np.float64) ** 2 * rng.uniform(0.5, 4.0, shape), dtype)
    vmax = None
    if amsgrad:
        vmax = np.asarray(np.asarray(v, np.float64) * rng.uniform(1.0, 3.0, shape), dtype)
    return m, v, vmax


# -- message patterns for the error-message tests -----------------------------------


def expect(*pieces):
    """A regex that finds every regex in ``pieces`` in the message, in any order."""
    return "(?s)" + "".join(f"(?=.*?(?:{piece}))" for piece in pieces)


def name(parameter):
    """The parameter's name as messages quote it: ``'beta1'``."""
    return re.escape(repr(parameter))


# The checkpoint tests' problem: least squares on 120 rows of 6 features (the
# data of tests/data/checkpoint_v1.npz, so it must not change).
CHECKPOINT_RNG = np.random.default_rng(7)
CHECKPOINT_X = CHECKPOINT_RNG.standard_normal((120, 6))
CHECKPOINT_Y = (CHECKPOINT_X @ np.linspace(-1.0, 1.0, 6)
                + 0.1 * CHECKPOINT_RNG.standard_normal(120))


def least_squares(w, Xb, yb):
    """Loss and gradient of the mean squared residual on one minibatch."""
    r = Xb @ w - yb
    return r @ r / len(yb), 2 * Xb.T @ r / len(yb)
