r"""SGD with momentum, dampening and Nesterov's form (PyTorch's)."""

from .._registry import Algorithm, Hyperparameter, StateArray, Torch, register
from ._common import (
    GTOL_GRADIENT,
    SCHEDULED_MOMENTUM,
    SIGN_AND_L2,
    WEIGHT_DECAY,
    lr,
    quadratic_example,
)


def _nesterov_rule(opt):
    # (a scheduled momentum is NaN until the first step sets it: checked then)
    if opt._nesterov and (opt._momentum == 0.0 or opt._dampening != 0.0):
        raise ValueError(
            f"The 'nesterov' parameter of {type(opt).__name__} needs momentum > 0 and "
            f"dampening == 0. Got nesterov=True with momentum={opt._momentum!r} and "
            f"dampening={opt._dampening!r} instead."
        )


def _buffer(opt):
    """With momentum, the buffer rescaled to an average of the gradients."""
    if opt._momentum == 0.0:
        return None
    return opt._momentum_buffer, (1.0 - opt._momentum) / (1.0 - opt._dampening)


SGD = register(Algorithm(
    name="sgd", class_name="SGD", kernel="sgd",
    hyperparameters=(
        lr(1e-3),
        Hyperparameter("momentum", 0.0, SCHEDULED_MOMENTUM.format(
                       r"Momentum factor :math:`\mu \in [0, 1)`; 0 is plain SGD", "momentum"),
                       "float or callable", schedulable=True),
        Hyperparameter("dampening", 0.0,
                       r"Dampening :math:`\tau \in [0, 1)` of the gradient in the momentum "
                       "buffer."),
        WEIGHT_DECAY,
        Hyperparameter("nesterov", False,
                       """Nesterov's form (needs ``momentum > 0`` and ``dampening == 0``, as in
PyTorch).""", "bool")),
    state=(StateArray("momentum_buffer", "finite"),), squares=False,
    summary="Stochastic gradient descent with momentum, dampening and Nesterov's form, "
            "in place.",
    intro=r"""Each call ``opt.step(grad)`` performs, with the gradient :math:`g_t` of the
    objective at :math:`x_{t-1}`, exactly the steps of ``torch.optim.SGD``:""",
    equations=SIGN_AND_L2 + r"""
        b_t &= g_t \ (t = 1), \qquad
        b_t = \mu b_{t-1} + (1 - \tau) g_t \ (t > 1)
            \quad \text{(if momentum } \mu \ne 0) \\
        u_t &= g_t + \mu b_t \ \text{(nesterov)}, \quad b_t \ \text{(momentum)}, \quad
            g_t \ \text{(neither)} \\
        x_t &= x_{t-1} - \alpha_t u_t
""",
    notes=r"""
    The momentum buffer is allocated even when ``momentum`` is 0 (it may be
    set later); with momentum its first value is the gradient itself
    (PyTorch's convention), not :math:`(1-\tau) g_1`.  One difference from
    PyTorch: when ``momentum`` is 0 at first and set later, the buffer
    continues from zero, :math:`b_t = (1-\tau) g_t` (PyTorch starts it at
    :math:`g_t`); the two agree without dampening.

    **Differences from the papers.**  Sutskever et al. (2013) write classical
    momentum as :math:`v_t = \mu v_{t-1} - \alpha g_t`, :math:`x_t = x_{t-1} + v_t`,
    and Nesterov's accelerated gradient with the gradient taken at the
    look-ahead point :math:`x_{t-1} + \mu v_{t-1}`.  With a constant learning
    rate, PyTorch's form above is the same algorithm (:math:`v_t = -\alpha b_t`;
    Nesterov's form rewritten in the look-ahead variable, as in Bengio et al.
    2013, so the gradient is taken at the current iterate).  When the
    learning rate changes, the two differ: here the new rate scales the
    whole buffer at once, in the paper only the new gradient.
""",
    references=r"""
    References
    ----------
    .. [1] I. Sutskever, J. Martens, G. Dahl and G. Hinton, "On the importance of
       initialization and momentum in deep learning", ICML 2013.
    .. [2] Y. Bengio, N. Boulanger-Lewandowski and R. Pascanu, "Advances in
       optimizing recurrent networks", ICASSP 2013, arXiv:1212.0901.
    .. [3] Y. Nesterov, "A method of solving a convex programming problem with
       convergence rate O(1/k^2)", Soviet Mathematics Doklady 27, 1983.
""",
    example=quadratic_example("SGD", "lr=0.1, momentum=0.9, nesterov=True", 100, "1e-3"),
    method_example='"lr": 0.05, "momentum": 0.9',
    gtol_doc=r"""with momentum, the momentum buffer rescaled to
        an average of the gradients, :math:`b_t (1 - \mu) / (1 - \tau)` (the
        gradient smoothed over ``~1/(1-momentum)`` steps; free: the optimizer
        keeps it); without momentum, """ + GTOL_GRADIENT, smoothed=_buffer,
    oracle="sgd", torch=Torch("SGD", implementations=("single", "foreach", "fused")),
    table=("SGD, momentum, Nesterov", "`torch.optim.SGD` (first buffer = g)",
           "Sutskever et al. 2013: `v = mu v - lr g`, Nesterov at the look-ahead point; "
           "equal for a constant `lr` (Bengio et al.'s rewriting), differ when `lr` changes",
           "momentum buffer times `(1-momentum)/(1-dampening)`; without momentum the "
           "gradient at x"),
    guard="sgd", position=2, arrays_per_element=5,
    combinations=(dict(momentum=0.9), dict(momentum=0.9, nesterov=True, weight_decay=0.1),
                  dict(momentum=0.5, dampening=0.3, maximize=True), dict(weight_decay=0.2)),
    bench_options=dict(momentum=0.9),
    bad_options=(("momentum", 1.0, ValueError), ("momentum", -0.1, ValueError),
                 ("dampening", 1.5, ValueError), ("nesterov", "yes", TypeError),
                 ("momentum", "0.9", TypeError)),
    repr_numbers=("momentum", "dampening", "weight_decay"),
    validate=_nesterov_rule,
))
