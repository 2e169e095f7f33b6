r"""Hyperparameters and docstring pieces that several declarations share."""

from .._registry import Hyperparameter


def lr(default):
    return Hyperparameter("lr", default,
        r"""Learning rate :math:`\alpha \ge 0`, or a schedule: a callable ``lr(t)``
returning :math:`\alpha_t` for the step number ``t = 1, 2, ...`` (such as
``1e-3 * adamopt.CosineAnnealing(T_max=5000)``).""", "float or callable", schedulable=True)


def eps(default, where, scaled=""):
    return Hyperparameter("eps", default,
        rf""":math:`\epsilon > 0`, added to {where} (PyTorch's placement).  It
must stay positive in the parameters' dtype{scaled}, else `step` raises
`ValueError`.""")


#: The doc of a momentum that may be scheduled (beta1, momentum): its first
#: sentence (without the period) and its name.
SCHEDULED_MOMENTUM = r"""{0}, or a callable
``{1}(t)`` returning its value for step ``t``, each checked as the number is,
such as ``adamopt.OneCycle(...).momentum`` (PyTorch's ``OneCycleLR``
momentum cycling).  PyTorch's bias correction is kept: step ``t`` uses the
current value in both the update and the correction."""


def betas(second="second moment"):
    return (Hyperparameter("beta1", 0.9, SCHEDULED_MOMENTUM.format(
                "Decay rate :math:`\\beta_1 \\in [0, 1)` of the first moment", "beta1"),
                "float or callable", schedulable=True),
            Hyperparameter("beta2", 0.999,
                           f"Decay rate :math:`\\beta_2 \\in [0, 1)` of the {second}."))


#: Coupled L2 weight decay, as in PyTorch.
WEIGHT_DECAY = Hyperparameter("weight_decay", 0.0,
    r"""L2 penalty :math:`\lambda \ge 0`, added to the gradient (coupled), as in
PyTorch.""")

def decoupled_decay(variant):
    """``weight_decay`` and ``decoupled_weight_decay`` of an algorithm with
    both forms (PyTorch's NAdam and RAdam; ``variant`` names the decoupled one)."""
    return (Hyperparameter("weight_decay", 0.0, rf"""
Weight decay :math:`\lambda \ge 0`: an L2 penalty added to the gradient, or with
``decoupled_weight_decay`` applied to the parameters ({variant})."""),
            Hyperparameter("decoupled_weight_decay", False, r"""
Decay the parameters directly, :math:`x \leftarrow x (1 - \alpha_t \lambda)`, as
AdamW does, instead of adding :math:`\lambda x` to the gradient.""", "bool"))


#: The first lines of every family member's equations.
SIGN_AND_L2 = r"""
    .. math::

        g_t &\leftarrow -g_t \quad \text{(if maximize)} \\
        g_t &\leftarrow g_t + \lambda x_{t-1} \quad \text{(if weight\_decay } \lambda \ne 0) \\"""

#: The same with weight decay in either form (``decoupled_decay``).
SIGN_AND_EITHER_DECAY = r"""
    .. math::

        g_t &\leftarrow -g_t \quad \text{(if maximize)} \\
        g_t &\leftarrow g_t + \lambda x_{t-1} \ \text{(coupled)}, \quad
            x_{t-1} \leftarrow x_{t-1} (1 - \alpha_t \lambda) \ \text{(decoupled)} \\"""


def torch_intro(name):
    """The sentence before the equations of an algorithm that is PyTorch's."""
    return (r"Each call ``opt.step(grad)`` performs, with the gradient :math:`g_t` of the"
            "\n    objective at :math:`x_{t-1}`, exactly the steps of "
            f"``torch.optim.{name}``:")


#: The ``gtol`` description of the methods that test their bias-corrected first moment.
GTOL_FIRST_MOMENT = r"""the bias-corrected first moment
        :math:`\hat m_t = m_t / (1 - \beta_1^t)`, the minibatch gradient smoothed
        over the last ``~1/(1-beta1)`` steps, far less noisy than one minibatch
        gradient (free: the optimizer keeps it)."""

#: The ``gtol`` description of the methods that keep no average of the gradient.
GTOL_GRADIENT = r"""the gradient at the current iterate (plus
        ``weight_decay * x``), which this algorithm does not average: exact for
        a deterministic objective, but with minibatches one noisy sample, which
        rarely falls below ``gtol`` (use ``maxiter`` or the plateau test).
        Free: the gradient is already computed."""


def first_moment(opt):
    """The bias-corrected first moment ``m`` (the ``gtol`` hook)."""
    return opt._m, 1.0 / (1.0 - opt._beta1 ** opt._t)


def quadratic_example(cls, options, steps, tol):
    """A class's Examples section: minimizing sum(x**2) from (1, -2)."""
    return rf"""
    Examples
    --------
    >>> import numpy as np
    >>> import adamopt
    >>> x = np.array([1.0, -2.0])
    >>> opt = adamopt.{cls}(x, {options})
    >>> for _ in range({steps}):
    ...     _ = opt.step(2 * x)          # gradient of sum(x**2)
    >>> bool(np.all(np.abs(x) < {tol}))
    True
    """
