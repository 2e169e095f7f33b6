r"""Prodigy (Mishchenko & Defazio 2024) and D-Adaptation's Adam (Defazio &
Mishchenko 2023): Adam whose step size estimates itself.

Both keep ``d``, an estimate of the distance from the start to the solution,
updated each step from two sums over every element; the compiled step is
two passes (``_loops_dadapt.pxi``): the sums (with the gradient check), the
d update, then the update of the state and the parameters.
"""

import math

from .. import _validation as check
from .._registry import Algorithm, Hyperparameter, ScalarState, StateArray, register
from ._common import betas, lr, quadratic_example


def _growth(value, name, owner):
    """``growth_rate``: a real number >= 1, infinity allowed (no limit)."""
    x = check.real(value, name, owner)
    if not x >= 1.0:
        raise ValueError(f"The {name!r} parameter of {owner} must be >= 1 (inf: no limit). "
                         f"Got {check.show(value)} instead.")
    return x


def beta3_check(value, name, owner):
    """The check of ``beta3``: None, or a number in [0, 1) (a saved None is
    the string "None")."""
    if value is None or (isinstance(value, str) and value == "None"):
        return None
    return check.unit_interval(value, name, owner)


class _Beta3:
    """Prodigy's ``beta3``: None (``sqrt(beta2)``) or a number in [0, 1),
    kept in the core's ``_beta3`` (negative for None)."""

    __doc__ = "Decay of the numerator and of s: None (sqrt(beta2)) or a number in [0, 1)."

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        return None if obj._beta3 < 0 else obj._beta3

    def __set__(self, obj, value):
        value = beta3_check(value, "beta3", type(obj).__name__)
        obj._beta3 = -1.0 if value is None else value
        obj._propagate("beta3")

    @staticmethod
    def rule(value, name, owner):
        return beta3_check(value, name, owner)


def _positive_scalar(name):
    def rule(value, t, where):
        x = check.real(value, name, where)
        if not (math.isfinite(x) and x > 0):
            raise ValueError(f"{where} must be a positive finite number. Got "
                             f"{check.show(value)} at t={t} instead.")
        return x
    return rule


def _finite_scalar(value, t, where):
    x = check.real(value, "numerator", where)
    if not math.isfinite(x):
        raise ValueError(f"{where} must be a finite number. Got {check.show(value)} at t={t} "
                         f"instead.")
    return x


_LR = lr(1.0)
_EPS = Hyperparameter("eps", 1e-8,
    r""":math:`\epsilon > 0`, added to :math:`\sqrt{v_t}` (Prodigy: scaled by
:math:`d_{t+1}`, as the reference package does).""")
_WEIGHT_DECAY = Hyperparameter("weight_decay", 0.0,
    r"""Weight decay :math:`\lambda \ge 0`: decoupled (the parameters shrink by
:math:`\lambda\, d_t \alpha_t` each step) with ``decouple``, else an L2 penalty
added to the gradient.""")
_BIAS = Hyperparameter("use_bias_correction", False,
    r"""Multiply the step by Adam's bias correction
:math:`\sqrt{1 - \beta_2^t} / (1 - \beta_1^t)` (off by default, as in the
reference packages).""", "bool")
_D0 = Hyperparameter("d0", 1e-6,
    r"""Initial estimate :math:`d_0 > 0` of the distance to the solution (rarely
needs changing: it grows quickly when too small).""",
    check=check.positive_finite)
GROWTH = Hyperparameter("growth_rate", math.inf,
    r"""Largest factor :math:`\ge 1` by which d may grow per step (``inf``: no
limit; values such as 1.02 act as a warm-up).""", check=_growth)

_REFERENCES_PRODIGY = r"""
    References
    ----------
    .. [1] K. Mishchenko and A. Defazio, "Prodigy: An Expeditiously Adaptive
       Parameter-Free Learner", ICML 2024, arXiv:2306.06101.
    .. [2] A. Defazio and K. Mishchenko, "Learning-Rate-Free Learning by
       D-Adaptation", ICML 2023, arXiv:2301.07733.
"""

_REFERENCES_DADAPT = r"""
    References
    ----------
    .. [1] A. Defazio and K. Mishchenko, "Learning-Rate-Free Learning by
       D-Adaptation", ICML 2023, arXiv:2301.07733.
"""

_SHARED_NOTES = r"""
    The two sums are taken over every element in a first pass (with the
    gradient check; nothing is written), in fixed blocks of 2048 elements
    added in order in float64 (also for float32 parameters, where the
    reference packages sum in float32): the same bits with any number of
    threads.  The second pass updates the state and the parameters, each
    element in the parameters' dtype, in the reference packages' order of
    operations.  With a zero learning rate, or while every gradient so far
    has been zero (a zero denominator), the step changes nothing, as in the
    reference packages, except that ``t`` counts it (they do not count it in
    their bias correction).  The estimate is per optimizer over one array:
    structures of arrays, parameter groups and gradient clipping are refused
    (not yet summed over several arrays), as is PyTorch's per-group
    ``layer_scale`` of ``dadaptation``.  The overflow guard: the step
    is bounded before the first pass from bounds on x and the state (d
    never decreases), and a gradient that could carry a value past the
    dtype's maximum is refused with nothing changed, as for every algorithm.
"""


PRODIGY = register(Algorithm(
    name="prodigy", class_name="Prodigy", kernel="prodigy",
    hyperparameters=(
        _LR, *betas(),
        Hyperparameter("beta3", None,
            r"""Decay :math:`\beta_3 \in [0, 1)` of the numerator's sum and of
:math:`s`; None: :math:`\sqrt{\beta_2}`.""", "float, optional", attribute=_Beta3()),
        _EPS, _WEIGHT_DECAY,
        Hyperparameter("decouple", True,
            "Decoupled weight decay (AdamW's form, the default), else L2 added to the gradient.",
            "bool"),
        _BIAS,
        Hyperparameter("safeguard_warmup", False,
            r"""Leave the learning rate out of the increments of :math:`s` (the
paper's safeguard for warm-up schedules: :math:`s` grows by
:math:`(d_t / d_0) d_t g_t`).""", "bool"),
        _D0,
        Hyperparameter("d_coef", 1.0,
            r"""Factor :math:`c > 0` of the estimate :math:`\hat d` (below 1: more
cautious steps).""", check=check.positive_finite),
        GROWTH),
    state=(StateArray("m", "finite", zero_at_start=True),
           StateArray("v", "nonnegative", zero_at_start=True),
           StateArray("s", "finite", zero_at_start=True),
           StateArray("p0", "finite", fill="params")),
    squares=True,
    scalars=(ScalarState("d", "d0", _positive_scalar("d"),
                         "the distance estimate, a float64 number; starts at ``d0``"),
             ScalarState("d_max", "d0", _positive_scalar("d_max"),
                         "its running maximum of the estimates, a float64 number"),
             ScalarState("d_numerator", 0.0, _finite_scalar,
                         "the numerator's weighted sum, a float64 number")),
    summary="Prodigy: Adam with a self-estimated step size (Mishchenko & Defazio 2024), "
            "in place.",
    intro=r"""Each call ``opt.step(grad)`` performs, with the gradient :math:`g_t` of the
    objective at :math:`x_{t-1}` (negated if maximize; plus :math:`\lambda x_{t-1}`
    without ``decouple``), :math:`x_0` the initial parameters and
    :math:`\rho_t = \sqrt{1-\beta_2^t}/(1-\beta_1^t)` with
    ``use_bias_correction`` (else 1), exactly the steps of ``prodigyopt.Prodigy``:""",
    equations=r"""
    .. math::

        \eta_t &= d_t \alpha_t \rho_t, \qquad
        m_t = \beta_1 m_{t-1} + d_t (1 - \beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + d_t^2 (1 - \beta_2) g_t^2 \\
        s_t &= \beta_3 s_{t-1} + (d_t / d_0)\, \eta_t\, g_t
            \quad ((d_t / d_0)\, d_t\, g_t \text{ with safeguard\_warmup}) \\
        r_t &= \beta_3 r_{t-1} + (d_t / d_0)\, \eta_t \langle g_t, x_0 - x_{t-1} \rangle,
            \qquad \hat d_t = c\, r_t / \lVert s_t \rVert_1 \\
        D_t &= \max(D_{t-1}, \hat d_t), \qquad
        d_{t+1} = \min(D_t, \gamma\, d'_t), \quad
        d'_t = \max(d_t, \hat d_t) \text{ if } d_t = d_0 \text{, else } d_t \\
        x_t &= x_{t-1} (1 - \lambda \eta_t) - \eta_t\, m_t / (\sqrt{v_t} + d_{t+1} \epsilon)
            \quad (\beta_1 = 0: \eta_t d_{t+1} g_t \text{ for } m_t)
""",
    notes=r"""
    :math:`d_1 = D_0 = d_0`, :math:`r_0 = 0` (``d``, ``d_max``, ``d_numerator``
    in the state), :math:`\gamma` is ``growth_rate``, :math:`c` ``d_coef``;
    the decay term :math:`-\lambda \eta_t x_{t-1}` is there with ``decouple``
    only.  The learning rate multiplies the estimate (keep ``lr=1``; a
    schedule multiplies it too).  ``slice_p`` of ``prodigyopt`` (the sums
    over every ``slice_p``-th element, to save memory) is left out: the sums
    run over every element, and ``p0`` is a full copy of :math:`x_0` (where
    ``prodigyopt`` keeps a zero-size tensor for a parameter that starts at
    zero: the same numbers).
""" + _SHARED_NOTES,
    references=_REFERENCES_PRODIGY,
    example=quadratic_example("Prodigy", "", 300, "0.05"),
    method_example='"lr": 1.0',
    gtol_doc=r"""the gradient at the current iterate (plus
        ``weight_decay * x`` without ``decouple``), which this algorithm does
        not average: exact for a deterministic objective, but with minibatches
        one noisy sample (use ``maxiter`` or the plateau test).""",
    smoothed=None, oracle="prodigy", torch=None,
    table=("Prodigy (Mishchenko & Defazio 2024)", "`prodigyopt.Prodigy`",
           "`slice_p` left out; float64 sums", "the gradient at x"),
    guard="dadapt", position=9, quadratic_lr=1.0, arrays_per_element=13,
    combinations=(dict(use_bias_correction=True), dict(safeguard_warmup=True),
                  dict(weight_decay=0.1), dict(weight_decay=0.1, decouple=False),
                  dict(beta1=0.0), dict(beta3=0.5, d_coef=0.5, growth_rate=1.02),
                  dict(maximize=True, d0=1e-3)),
    bad_options=(("d0", 0.0, ValueError), ("d_coef", -1.0, ValueError),
                 ("growth_rate", 0.5, ValueError), ("beta3", 1.0, ValueError),
                 ("decouple", "yes", TypeError)),
    repr_numbers=("d0", "weight_decay"), tuning_free=True, one_array=True,
    eps_rule="stay positive when scaled by d and rounded to",
))


DADAPT_ADAM = register(Algorithm(
    name="dadapt_adam", class_name="DAdaptAdam", kernel="dadapt_adam",
    hyperparameters=(
        _LR, *betas(), _EPS, _WEIGHT_DECAY,
        Hyperparameter("decouple", False,
            "Decoupled weight decay (AdamW's form), else L2 added to the gradient (the default).",
            "bool"),
        _BIAS, _D0, GROWTH),
    state=(StateArray("m", "finite", zero_at_start=True),
           StateArray("v", "nonnegative", zero_at_start=True),
           StateArray("s", "finite", zero_at_start=True)),
    squares=True,
    scalars=(ScalarState("d", "d0", _positive_scalar("d"),
                         "the distance estimate, a float64 number; starts at ``d0``"),
             ScalarState("numerator_weighted", 0.0, _finite_scalar,
                         "the numerator's weighted sum, a float64 number")),
    summary="DAdaptAdam: Adam with D-Adaptation's step size (Defazio & Mishchenko 2023), "
            "in place.",
    intro=r"""Each call ``opt.step(grad)`` performs, with the gradient :math:`g_t` of the
    objective at :math:`x_{t-1}` (negated if maximize; plus :math:`\lambda x_{t-1}`
    without ``decouple``), :math:`\beta_3 = \sqrt{\beta_2}` and
    :math:`\rho_t = \sqrt{1-\beta_2^t}/(1-\beta_1^t)` with
    ``use_bias_correction`` (else 1), exactly the steps of
    ``dadaptation.DAdaptAdam``:""",
    equations=r"""
    .. math::

        \eta_t &= d_t \alpha_t \rho_t, \qquad
        r_t = \beta_3 r_{t-1} + (1 - \beta_3)\, \eta_t
            \langle g_t, s_{t-1} / (\sqrt{v_{t-1}} + \epsilon) \rangle \\
        m_t &= \beta_1 m_{t-1} + \eta_t (1 - \beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2, \qquad
        s_t = \beta_3 s_{t-1} + \eta_t (1 - \beta_3) g_t \\
        d_{t+1} &= \max(d_t, \min(\hat d_t, \gamma d_t)), \qquad
        \hat d_t = r_t / ((1 - \beta_3) \lVert s_t \rVert_1) \\
        x_t &= x_{t-1} (1 - \lambda \eta_t) - m_t / (\sqrt{v_t} + \epsilon)
""",
    notes=r"""
    :math:`d_1 = d_0`, :math:`r_0 = 0` (``d`` and ``numerator_weighted`` in the
    state), :math:`\gamma` is ``growth_rate``; the decay term
    :math:`-\lambda \eta_t x_{t-1}` is there with ``decouple`` only.  The
    first moment carries the step size (:math:`m_t` is in units of
    :math:`x`).  This is the Adam variant of the paper (its Appendix), with
    the reference package's options.  The learning rate multiplies the estimate (keep ``lr=1``).
""" + _SHARED_NOTES,
    references=_REFERENCES_DADAPT,
    example=quadratic_example("DAdaptAdam", "", 300, "0.05"),
    method_example='"lr": 1.0',
    gtol_doc=r"""the gradient at the current iterate (plus
        ``weight_decay * x`` without ``decouple``), which this algorithm does
        not average: exact for a deterministic objective, but with minibatches
        one noisy sample (use ``maxiter`` or the plateau test).""",
    smoothed=None, oracle="dadapt_adam", torch=None,
    table=("D-Adapt Adam (Defazio & Mishchenko 2023)",
           "`dadaptation.DAdaptAdam`",
           "`layer_scale` left out; float64 sums", "the gradient at x"),
    guard="dadapt", position=10, quadratic_lr=1.0, arrays_per_element=12,
    combinations=(dict(use_bias_correction=True), dict(weight_decay=0.1),
                  dict(weight_decay=0.1, decouple=True), dict(beta1=0.0),
                  dict(growth_rate=1.02, maximize=True, d0=1e-3)),
    bad_options=(("d0", -1.0, ValueError), ("growth_rate", 0.0, ValueError),
                 ("decouple", 1, TypeError), ("use_bias_correction", "no", TypeError)),
    repr_numbers=("d0", "weight_decay"), tuning_free=True, one_array=True,
))
