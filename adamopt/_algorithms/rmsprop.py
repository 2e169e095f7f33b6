r"""RMSprop (Tieleman & Hinton 2012), with Graves's centred form and momentum."""

from .._registry import Algorithm, Hyperparameter, StateArray, Torch, register
from ._common import (
    GTOL_GRADIENT,
    SCHEDULED_MOMENTUM,
    SIGN_AND_L2,
    WEIGHT_DECAY,
    eps,
    lr,
    quadratic_example,
)


def _gradient_average(opt):
    """Centred: the bias-corrected gradient average."""
    if not opt._centered:
        return None
    return opt._grad_avg, 1.0 / (1.0 - opt._alpha ** opt._t)


RMSPROP = register(Algorithm(
    name="rmsprop", class_name="RMSprop", kernel="rmsprop",
    hyperparameters=(
        lr(1e-2),
        Hyperparameter("alpha", 0.99,
            r"""Smoothing constant :math:`\rho \in [0, 1)` of the averages (PyTorch's
``alpha``; :math:`\alpha_t` here is the learning rate)."""),
        eps(1e-8, r":math:`\sqrt{w_t}`"), WEIGHT_DECAY,
        Hyperparameter("momentum", 0.0, SCHEDULED_MOMENTUM.format(
                       r"Momentum factor :math:`\mu \in [0, 1)` of the scaled steps",
                       "momentum"), "float or callable", schedulable=True),
        Hyperparameter("centered", False,
                       """Divide by the centred second moment (an estimate of the variance of
the gradient) instead of the uncentred one (fixed at construction).""", "bool",
                       fixed=True)),
    state=(StateArray("square_avg", "nonnegative"),
           StateArray("grad_avg", "finite", needs="centered"),
           StateArray("momentum_buffer", "finite")),
    squares=True,
    summary="RMSprop: steps scaled by a running root mean square of the gradients, in place.",
    intro=r"""Each call ``opt.step(grad)`` performs, with the gradient :math:`g_t` of the
    objective at :math:`x_{t-1}`, exactly the steps of ``torch.optim.RMSprop``:""",
    equations=SIGN_AND_L2 + r"""
        v_t &= \rho v_{t-1} + (1 - \rho) g_t^2 \\
        \bar g_t &= \rho \bar g_{t-1} + (1 - \rho) g_t, \quad
            w_t = \max(v_t - \bar g_t^2, 0) \quad \text{(centered; else } w_t = v_t) \\
        b_t &= \mu b_{t-1} + g_t / (\sqrt{w_t} + \epsilon), \quad
            x_t = x_{t-1} - \alpha_t b_t \quad \text{(if momentum } \mu > 0) \\
        x_t &= x_{t-1} - \alpha_t g_t / (\sqrt{w_t} + \epsilon) \quad \text{(otherwise)}
""",
    notes=r"""
    The averages start at zero and are not bias-corrected (as in PyTorch), so
    the first steps are larger than :math:`\alpha_t` (about
    :math:`\alpha_t / \sqrt{1 - \rho}` at ``t = 1``).  The momentum buffer
    is allocated even when ``momentum`` is 0 (it may be set later).  In
    exact arithmetic :math:`v_t \ge \bar g_t^2`; where rounding makes the
    difference negative, it is taken as 0 (PyTorch takes the square root of
    the negative number: NaN).

    **Differences from the papers.**  Hinton's lecture (Tieleman & Hinton 2012)
    divides by :math:`\sqrt{v_t}` with :math:`\rho = 0.9` and no
    :math:`\epsilon`; here :math:`\epsilon` is added outside the root
    (PyTorch), where TensorFlow 1 adds it inside, :math:`\sqrt{v_t + \epsilon}`.
    The centred form with momentum is Graves (2013, eqs. 38-41), who also
    puts :math:`\epsilon` inside the root.
""",
    references=r"""
    References
    ----------
    .. [1] T. Tieleman and G. Hinton, "Lecture 6.5 - RMSProp: Divide the gradient
       by a running average of its recent magnitude", COURSERA: Neural Networks
       for Machine Learning, 2012.
    .. [2] A. Graves, "Generating Sequences With Recurrent Neural Networks",
       arXiv:1308.0850, 2013.
""",
    example=quadratic_example("RMSprop", "lr=0.01", 500, "0.05"),
    method_example='"lr": 0.01',
    gtol_doc=r"""with ``centered``, the bias-corrected gradient
        average :math:`\bar g_t / (1 - \rho^t)` (free: the optimizer keeps it);
        otherwise, """ + GTOL_GRADIENT, smoothed=_gradient_average,
    oracle="rmsprop", torch=Torch("RMSprop"),
    table=("RMSprop (Tieleman & Hinton 2012)",
           "`torch.optim.RMSprop`; a centred variance rounded below 0 is taken as 0 "
           "(PyTorch: NaN)",
           "the lecture: `alpha=0.9`, no eps; TF 1 and Graves 2013 (centred) put eps inside "
           "the root", "centred: bias-corrected gradient average; else the gradient at x"),
    guard="rmsprop", position=4, quadratic_lr=0.01, arrays_per_element=5,
    combinations=(dict(centered=True), dict(momentum=0.9),
                  dict(alpha=0.9, centered=True, momentum=0.5, weight_decay=0.1),
                  dict(alpha=0.3, eps=1e-4, maximize=True)),
    bad_options=(("alpha", 1.0, ValueError), ("momentum", -0.5, ValueError),
                 ("centered", 1, TypeError), ("eps", -1e-8, ValueError)),
    repr_numbers=("alpha", "eps", "weight_decay", "momentum"),
))
