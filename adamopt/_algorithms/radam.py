r"""RAdam: Adam with the variance of its adaptive rate rectified (Liu et al. 2020)."""

from .._registry import Algorithm, StateArray, Torch, register
from . import _common as common

RADAM = register(Algorithm(
    name="radam", class_name="RAdam", kernel="radam",
    hyperparameters=(
        common.lr(1e-3), *common.betas(),
        common.eps(1e-8, r":math:`\sqrt{v_t}` in the rectified steps"),
        *common.decoupled_decay("RAdamW")),
    state=(StateArray("m", "finite"), StateArray("v", "nonnegative")), squares=True,
    summary="RAdam: Adam with a rectified adaptive learning rate (Liu et al. 2020), in place.",
    intro=common.torch_intro("RAdam"),
    equations=common.SIGN_AND_EITHER_DECAY + r"""
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
            v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        \rho_\infty &= \frac{2}{1 - \beta_2} - 1, \qquad
            \rho_t = \rho_\infty - \frac{2 t \beta_2^t}{1 - \beta_2^t} \\
        r_t &= \sqrt{\frac{(\rho_t - 4)(\rho_t - 2)\rho_\infty}
                          {(\rho_\infty - 4)(\rho_\infty - 2)\rho_t}} \\
        x_t &= x_{t-1} - \alpha_t r_t \frac{m_t}{1 - \beta_1^t}
            \frac{\sqrt{1 - \beta_2^t}}{\sqrt{v_t} + \epsilon} \quad (\rho_t > 5), \qquad
        x_t = x_{t-1} - \alpha_t \frac{m_t}{1 - \beta_1^t} \quad \text{(otherwise)}
""",
    notes=r"""
    While the approximated length :math:`\rho_t` of the simple moving average
    is at most 5 (the first steps; always when :math:`\beta_2 \le 2/3`) the
    variance of the adaptive rate is intractable and the step is SGD with
    momentum on the bias-corrected first moment; after it, the adaptive step
    is scaled by the rectification :math:`r_t`.

    **Differences from the paper.**  Liu et al. (2020, Algorithm 2) switch at
    :math:`\rho_t > 4` and add :math:`\epsilon` nowhere; here, as in PyTorch,
    the switch is at :math:`\rho_t > 5` and :math:`\epsilon` is added to
    :math:`\sqrt{v_t}` (the bias correction of :math:`v_t` multiplies the
    quotient).  The weight decay (coupled or decoupled) is PyTorch's.
""",
    references=r"""
    References
    ----------
    .. [1] L. Liu, H. Jiang, P. He, W. Chen, X. Liu, J. Gao and J. Han, "On the
       Variance of the Adaptive Learning Rate and Beyond", ICLR 2020,
       arXiv:1908.03265.
""",
    example=common.quadratic_example("RAdam", "lr=0.1", 300, "0.05"),
    method_example='"lr": 0.05',
    gtol_doc=common.GTOL_FIRST_MOMENT, smoothed=common.first_moment,
    oracle="radam", torch=Torch("RAdam"),
    table=("RAdam (Liu et al. 2020)", "`torch.optim.RAdam`",
           r"PyTorch's switch at `rho_t > 5` (the paper: 4) and eps added to `sqrt(v)` (the "
           "paper: none); `decoupled_weight_decay=True` is RAdamW", "bias-corrected `m`"),
    guard="moment", position=6.5,
    combinations=(dict(weight_decay=0.1), dict(weight_decay=0.1, decoupled_weight_decay=True),
                  dict(beta1=0.5, beta2=0.9, maximize=True), dict(beta2=0.6, eps=1e-4)),
    bad_options=(("beta1", 1.0, ValueError), ("beta2", -0.1, ValueError),
                 ("eps", 0.0, ValueError), ("decoupled_weight_decay", "no", TypeError)),
    repr_numbers=("beta1", "beta2", "eps", "weight_decay"),
))
