r"""Adam (Kingma & Ba 2014) and AdamW (Loshchilov & Hutter 2019)."""

from .. import _validation as check
from .._registry import Algorithm, Hyperparameter, StateArray, Torch, register
from ._common import GTOL_FIRST_MOMENT, betas, eps, first_moment, lr, quadratic_example

_EPS = eps(1e-8, r":math:`\sqrt{\hat v_t}` (the paper's placement, not the \"epsilon hat\" of"
           "\nTensorFlow and Keras)", r" once scaled by :math:`\sqrt{1-\beta_2^t}` (about 1e-43 or"
           "\nmore for float32)")

_AMSGRAD = Hyperparameter("amsgrad", False,
    r"""Use AMSGrad (Reddi et al. 2018): divide by the running maximum of the second
moment.  As in PyTorch, the maximum is taken over the raw :math:`v_t` and then
bias-corrected with the current :math:`1-\beta_2^t` (optax instead takes it
over :math:`\hat v_t`).""", "bool", fixed=True)

_STATE = (StateArray("m", "finite", zero_at_start=True),
          StateArray("v", "nonnegative", zero_at_start=True),
          StateArray("vmax", "nonnegative", needs="amsgrad", zero_at_start=True))

_MOMENTS = r"""
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        \hat m_t &= m_t / (1 - \beta_1^t), \qquad
        \hat v_t = v_t / (1 - \beta_2^t)
            \quad (\hat v_t = \max_{s \le t} v_s / (1 - \beta_2^t) \text{ with amsgrad}) \\"""

_ADAM_REFERENCES = r"""
    References
    ----------
    .. [1] D. P. Kingma and J. Ba, "Adam: A Method for Stochastic Optimization",
       ICLR 2015, arXiv:1412.6980.
    .. [2] S. J. Reddi, S. Kale and S. Kumar, "On the Convergence of Adam and
       Beyond", ICLR 2018.
"""

ADAMW_REFERENCES = r"""
    References
    ----------
    .. [1] I. Loshchilov and F. Hutter, "Decoupled Weight Decay Regularization",
       ICLR 2019, arXiv:1711.05101.
    .. [2] D. P. Kingma and J. Ba, "Adam: A Method for Stochastic Optimization",
       ICLR 2015, arXiv:1412.6980.
"""

_ADAM_NOTES = r"""
    All state starts at zero; the first Adam step (without weight decay) is
    :math:`x_1 = x_0 - \alpha g / (|g| + \epsilon)` elementwise, evaluated in
    float64 and rounded once.  This is Algorithm 1 of Kingma & Ba, with the L2
    penalty added to the gradient (coupled weight decay) and AMSGrad exactly as
    ``torch.optim.Adam`` computes them, so that configurations port between the
    two unchanged.
"""

ADAM = register(Algorithm(
    name="adam", class_name="Adam", kernel="adam",
    hyperparameters=(
        lr(1e-3), *betas(), _EPS,
        Hyperparameter("weight_decay", 0.0,
            r"""L2 penalty :math:`\lambda \ge 0`, added to the gradient before the moments
(coupled), or a callable ``weight_decay(t)`` returning :math:`\lambda_t`.
For decoupled weight decay use `AdamW`.""", "float or callable", schedulable=True),
        _AMSGRAD),
    state=_STATE, squares=True,
    summary="Adam: adaptive moment estimation (Kingma & Ba 2014), in place on a NumPy array.",
    intro=r"""Each call ``opt.step(grad)`` performs, with the gradient :math:`g_t` of the
    objective at :math:`x_{t-1}`:""",
    equations=r"""
    .. math::

        g_t &\leftarrow -g_t \quad \text{(if maximize)} \\
        g_t &\leftarrow g_t + \lambda x_{t-1} \quad \text{(if weight\_decay } \lambda \ne 0) \\"""
    + _MOMENTS + r"""
        x_t &= x_{t-1} - \alpha_t \hat m_t / (\sqrt{\hat v_t} + \epsilon)
""",
    notes=_ADAM_NOTES, references=_ADAM_REFERENCES,
    example=quadratic_example("Adam", "lr=0.1", 200, "0.05"),
    method_example='"lr": 0.05',
    gtol_doc=GTOL_FIRST_MOMENT, smoothed=first_moment,
    oracle="adam", torch=Torch("Adam", implementations=("single", "foreach", "fused")),
    table=("Adam (Kingma & Ba 2014)", "`torch.optim.Adam`",
           "none (eps outside the root, as Algorithm 1)", "bias-corrected `m`"),
    guard="moment", position=0,
    combinations=(dict(amsgrad=True), dict(maximize=True), dict(weight_decay=0.1),
                  dict(beta1=0.3, beta2=0.4), dict(weight_decay=0.1, amsgrad=True, maximize=True)),
    bench_options={},
    bad_options=(("beta1", 1.0, ValueError), ("beta2", -0.1, ValueError),
                 ("eps", 0.0, ValueError), ("amsgrad", "yes", TypeError)),
    repr_numbers=("beta1", "beta2", "eps", "weight_decay"),
    eps_rule="stay positive when scaled by sqrt(1 - beta2**t) and rounded to",
))


class _DecayScaling:
    """AdamW's ``decay_scaling``: ``"lr"`` (PyTorch, optax) or ``"schedule"``
    (Loshchilov & Hutter), kept in the core's ``_decay_by_schedule``."""

    __doc__ = '``"lr"`` (PyTorch, optax) or ``"schedule"`` (Loshchilov & Hutter).'

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        return "schedule" if obj._decay_by_schedule else "lr"

    def __set__(self, obj, value):
        value = check.choice(value, "decay_scaling", type(obj).__name__, ("lr", "schedule"))
        obj._decay_by_schedule = value == "schedule"
        obj._propagate("decay_scaling")


ADAMW = register(Algorithm(
    name="adamw", class_name="AdamW", kernel="adam",
    hyperparameters=(
        lr(1e-3), *betas(), _EPS,
        Hyperparameter("weight_decay", 1e-2,
            r"""Decoupled weight decay :math:`\lambda \ge 0`, or a callable
``weight_decay(t)`` returning :math:`\lambda_t` for step ``t``, such as
`adamopt.NormalizedWeightDecay` (the paper's normalized weight decay
:math:`\lambda_t = \lambda_{norm} \sqrt{b / (B T_i)}`, which changes at
each warm restart).""", "float or callable", schedulable=True),
        _AMSGRAD,
        Hyperparameter("decay_scaling", "lr",
            r"""What scales the decay each step: ``"lr"``, the learning rate used,
:math:`s_t = \alpha_t \eta_t`, as in ``torch.optim.AdamW`` and ``optax.adamw``
(their configurations port unchanged); ``"schedule"``, the schedule
multiplier alone, :math:`s_t = \eta_t`, as in Algorithm 2 of Loshchilov &
Hutter (give the multiplier as ``schedule=``; without one the decay is
:math:`\lambda` per step, so typical values of :math:`\lambda` are much
smaller than with ``"lr"``).""", '{"lr", "schedule"}', attribute=_DecayScaling())),
    state=_STATE, squares=True, decoupled=True,
    summary="AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019), in place.",
    intro=r"""Each call ``opt.step(grad)`` performs, with the gradient :math:`g_t` of the
    objective at :math:`x_{t-1}` (negated if maximize):""",
    equations=r"""
    .. math::
""" + _MOMENTS + r"""
        x_t &= x_{t-1} - \alpha_t \hat m_t / (\sqrt{\hat v_t} + \epsilon)
               - s_t \lambda x_{t-1}, \qquad
        s_t = \alpha_t \eta_t \ (\text{decay\_scaling="lr"})
            \text{ or } \eta_t \ (\text{"schedule"})
""",
    notes=r"""
    The decay acts on the parameters directly, not through the gradient and
    the moments.  With ``weight_decay > 0`` the objective's gradient does not
    vanish at the solution.
""", references=ADAMW_REFERENCES,
    example=r"""
    Examples
    --------
    >>> import numpy as np
    >>> import adamopt
    >>> x = np.array([1.0, -2.0])
    >>> opt = adamopt.AdamW(x, lr=0.1, weight_decay=0.1)
    >>> for _ in range(200):
    ...     _ = opt.step(2 * (x - 1.0))    # gradient of sum((x - 1)**2)
    >>> bool(np.all(np.abs(x - 1.0) < 0.1))   # the decay pulls x a little toward 0
    True
    """,
    method_example='"lr": 0.05, "weight_decay": 0.0',
    gtol_doc=GTOL_FIRST_MOMENT + r"""  (With ``weight_decay > 0`` the objective's
        gradient does not vanish at the solution, so rely on ``maxiter`` or the
        plateau test.)""", smoothed=first_moment,
    oracle="adamw",
    torch=Torch("AdamW", implementations=("single", "foreach", "fused"),
                missing=("decay_scaling",)),
    table=("AdamW (Loshchilov & Hutter 2019)", "`torch.optim.AdamW`",
           'decay scaled by `lr_t` by default; the paper\'s `eta_t`: '
           '`decay_scaling="schedule"`', "bias-corrected `m`"),
    guard="moment", position=1,
    combinations=(dict(amsgrad=True), dict(weight_decay=0.3, maximize=True),
                  dict(amsgrad=True, maximize=True),
                  dict(weight_decay=0.05, decay_scaling="schedule")),
    bad_options=(("decay_scaling", "eta", ValueError), ("weight_decay", -1.0, ValueError)),
    repr_numbers=("beta1", "beta2", "eps", "weight_decay"),
    eps_rule="stay positive when scaled by sqrt(1 - beta2**t) and rounded to",
))
