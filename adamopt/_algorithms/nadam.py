r"""NAdam: Adam with Nesterov momentum (Dozat 2016), PyTorch's form."""

from .. import _validation as check
from .._registry import Algorithm, Hyperparameter, ScalarState, StateArray, Torch, register
from ._common import (
    GTOL_FIRST_MOMENT,
    SIGN_AND_EITHER_DECAY,
    betas,
    decoupled_decay,
    eps,
    first_moment,
    lr,
    quadratic_example,
    torch_intro,
)


def _mu_product(value, t, where):
    """The check of NAdam's saved product of momentum coefficients."""
    x = check.real(value, "mu_product", where)
    if not 0.0 <= x <= 1.0 or (t == 0 and x != 1.0):
        raise ValueError(f"{where} must be in [0, 1] (1 at t = 0). Got {check.show(value)} "
                         f"at t={t} instead.")
    return x


NADAM = register(Algorithm(
    name="nadam", class_name="NAdam", kernel="nadam",
    hyperparameters=(
        lr(2e-3), *betas(),
        eps(1e-8, r":math:`\sqrt{\hat v_t}`", r" once scaled by :math:`\sqrt{1-\beta_2^t}`"),
        *decoupled_decay("NAdamW")[:1],
        Hyperparameter("momentum_decay", 4e-3,
                       r":math:`\psi \ge 0` of the momentum schedule :math:`\mu_t`."),
        decoupled_decay("NAdamW")[1]),
    state=(StateArray("m", "finite"), StateArray("v", "nonnegative")), squares=True,
    scalars=(ScalarState("mu_product", 1.0, _mu_product,
                         "the product of momentum coefficients, a float64 number"),),
    summary="NAdam: Adam with Nesterov momentum (Dozat 2016), in place.",
    intro=torch_intro("NAdam"),
    equations=SIGN_AND_EITHER_DECAY + r"""
        \mu_t &= \beta_1 (1 - \tfrac12 \, 0.96^{t \psi}), \qquad
            P_t = \textstyle\prod_{s \le t} \mu_s \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
            v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        x_t &= x_{t-1} - \alpha_t \left( \frac{(1 - \mu_t) g_t}{1 - P_t}
            + \frac{\mu_{t+1} m_t}{1 - P_t \mu_{t+1}} \right)
            \Big/ \left( \sqrt{v_t / (1 - \beta_2^t)} + \epsilon \right)
""",
    notes=r"""
    :math:`P_t` is kept in float64 whatever the parameters' dtype (PyTorch keeps
    it in its default dtype, float32 unless changed: its float32 runs round the
    step's coefficients a little differently).

    **Differences from the paper.**  Dozat (2016) defines the momentum schedule
    :math:`\mu_t = \beta_1 (1 - \frac12 0.96^{t/250})`: ``momentum_decay`` is
    :math:`\psi = 1/250`, and the update is his Algorithm 2 with PyTorch's
    placement of :math:`\epsilon` (added to the bias-corrected root).  The paper
    has no weight decay: both forms here are PyTorch's.
""",
    references=r"""
    References
    ----------
    .. [1] T. Dozat, "Incorporating Nesterov Momentum into Adam", ICLR 2016
       workshop.
    .. [2] I. Loshchilov and F. Hutter, "Decoupled Weight Decay Regularization",
       ICLR 2019, arXiv:1711.05101.
""",
    example=quadratic_example("NAdam", "lr=0.05", 500, "0.05"),
    method_example='"lr": 0.05',
    gtol_doc=GTOL_FIRST_MOMENT, smoothed=first_moment,
    oracle="nadam", torch=Torch("NAdam"),
    table=("NAdam (Dozat 2016)",
           "`torch.optim.NAdam` (its `mu_product` is float32 by default; ours float64)",
           "the paper's schedule `mu_t = beta1 (1 - 0.96^(t/250)/2)` is "
           "`momentum_decay=1/250`; no weight decay in the paper "
           "(`decoupled_weight_decay=True` is NAdamW)", "bias-corrected `m`"),
    guard="moment", position=6,
    combinations=(dict(weight_decay=0.1), dict(weight_decay=0.1, decoupled_weight_decay=True),
                  dict(beta1=0.3, beta2=0.5, momentum_decay=0.0, maximize=True)),
    bad_options=(("momentum_decay", -1.0, ValueError), ("decoupled_weight_decay", "no", TypeError),
                 ("beta2", 1.0, ValueError), ("eps", float("inf"), ValueError)),
    repr_numbers=("beta1", "beta2", "eps", "weight_decay"),
    eps_rule="stay positive when scaled by sqrt(1 - beta2**t) and rounded to",
))
