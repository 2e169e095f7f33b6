r"""Adamax: Adam with the infinity norm (Kingma & Ba 2014, section 7.1)."""

from .._registry import Algorithm, StateArray, Torch, register
from ._common import (
    GTOL_FIRST_MOMENT,
    SIGN_AND_L2,
    WEIGHT_DECAY,
    betas,
    eps,
    first_moment,
    lr,
    quadratic_example,
)

ADAMAX = register(Algorithm(
    name="adamax", class_name="Adamax", kernel="adamax",
    hyperparameters=(lr(2e-3), *betas("infinity norm"),
                     eps(1e-8, r":math:`|g_t|` inside the max"), WEIGHT_DECAY),
    state=(StateArray("m", "finite"), StateArray("u", "nonnegative")), squares=False,
    summary="Adamax: Adam with the infinity norm (Kingma & Ba 2014, section 7.1), in place.",
    intro=r"""Each call ``opt.step(grad)`` performs, with the gradient :math:`g_t` of the
    objective at :math:`x_{t-1}`, exactly the steps of ``torch.optim.Adamax``:""",
    equations=SIGN_AND_L2 + r"""
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
        u_t &= \max(\beta_2 u_{t-1}, |g_t| + \epsilon) \\
        x_t &= x_{t-1} - \frac{\alpha_t}{1 - \beta_1^t} \, m_t / u_t
""",
    notes=r"""
    The gradient is never squared, so the check only refuses NaN and
    infinities.

    **Differences from the paper.**  Kingma & Ba's Algorithm 2 takes
    :math:`u_t = \max(\beta_2 u_{t-1}, |g_t|)` with no :math:`\epsilon`, which
    divides 0 by 0 for a coordinate whose gradients have all been zero.
    PyTorch adds :math:`\epsilon` to :math:`|g_t|` inside the max (so
    :math:`u_t \ge \epsilon`), and so does this class; for gradients much larger
    than :math:`\epsilon` the two agree to within :math:`\epsilon / |g|`.
""",
    references=r"""
    References
    ----------
    .. [1] D. P. Kingma and J. Ba, "Adam: A Method for Stochastic Optimization",
       ICLR 2015, arXiv:1412.6980, section 7.1.
""",
    example=quadratic_example("Adamax", "lr=0.05", 500, "0.05"),
    method_example='"lr": 0.05',
    gtol_doc=GTOL_FIRST_MOMENT, smoothed=first_moment,
    oracle="adamax", torch=Torch("Adamax"),
    table=("Adamax (Kingma & Ba 2014, §7.1)", "`torch.optim.Adamax`",
           r"the paper has `u = max(beta2 u, \|g\|)` (0/0 for an all-zero coordinate); here "
           r"and in PyTorch `max(beta2 u, \|g\| + eps)`", "bias-corrected `m`"),
    guard="adamax", position=5,
    combinations=(dict(weight_decay=0.1), dict(beta1=0.3, beta2=0.5, maximize=True)),
    bad_options=(("beta1", 1.0, ValueError), ("beta2", -0.1, ValueError),
                 ("eps", 0.0, ValueError)),
    repr_numbers=("beta1", "beta2", "eps", "weight_decay"),
))
