r"""SciPy methods of Adam's family: ``minimize(fun, x0, method=adamopt.sgd, ...)``.

Each is `adamopt._minimize._minimize` driving one class of
`adamopt._family`: the same contract, options, stopping rules, minibatches,
resumable state and faults as `adamopt.adam`; only the algorithm's own
options (its Options section) and what its ``gtol`` test measures differ.
"""

from collections.abc import Callable
from typing import Any

import numpy.typing as npt
from scipy.optimize import OptimizeResult

from ._family import SGD, Adagrad, Adamax, NAdam, RMSprop
from ._minimize import GTOL_FIRST_MOMENT, _least_squares_example, _method_doc, _minimize

Objective = Callable[..., Any]

_LR = r"""
    lr : float or callable, default: {default}
        Learning rate :math:`\alpha` (PyTorch's default), or a schedule
        ``lr(t) -> float`` of the step number ``t = 1, 2, ...``."""

_WEIGHT_DECAY = r"""
    weight_decay : float, default: 0.0
        Coupled L2 penalty :math:`\lambda`, added to the gradient."""

_EPS = r"""
    eps : float, default: {default}
        Added to {where} (PyTorch's placement)."""

_BETAS = r"""
    beta1, beta2 : float, default: 0.9, 0.999
        Decay rates of the first moment and of the {second}, in ``[0, 1)``."""

#: The ``gtol`` description of the methods that keep no average of the gradient.
GTOL_GRADIENT = (
    r"""the gradient at the current iterate (plus
        ``weight_decay * x``), which this algorithm does not average: exact for
        a deterministic objective, but with minibatches one noisy sample, which
        rarely falls below ``gtol`` (use ``maxiter`` or the plateau test).
        Free: the gradient is already computed.""")


def sgd(fun: Objective, x0: npt.ArrayLike, args: tuple = (), jac: Any = None,
        callback: Callable[..., Any] | None = None, *, hess: Any = None, hessp: Any = None,
        bounds: Any = None, constraints: Any = (), **options: Any) -> OptimizeResult:
    return _minimize(SGD, "sgd", fun, x0, args, jac, callback, hess, hessp, bounds,
                     constraints, options)


sgd.__doc__ = _method_doc(
    r"""Minimize a (stochastic) objective with SGD, as a `scipy.optimize.minimize` method.

    Use it as ``minimize(fun, x0, jac=True, method=adamopt.sgd, options={...})``.
    Each iteration takes one step of `adamopt.SGD` (``torch.optim.SGD``'s
    arithmetic) with the gradient :math:`g_t` of ``fun`` at the current iterate:
""",
    r"""
    .. math::

        b_t = \mu b_{t-1} + (1 - \tau) g_t \ (b_1 = g_1), \quad
        x_t = x_{t-1} - \alpha_t (g_t + \mu b_t) \ \text{(nesterov)}
        \text{ or } x_t = x_{t-1} - \alpha_t b_t

    (:math:`x_t = x_{t-1} - \alpha_t g_t` without momentum).
""",
    _LR.replace("{default}", "1e-3") + r"""
    momentum : float, default: 0.0
        Momentum factor :math:`\mu \in [0, 1)`.
    dampening : float, default: 0.0
        Dampening :math:`\tau \in [0, 1)`.""" + _WEIGHT_DECAY + r"""
    nesterov : bool, default: False
        Nesterov's form (needs ``momentum > 0`` and ``dampening == 0``).""",
    r"""with momentum, the momentum buffer rescaled to
        an average of the gradients, :math:`b_t (1 - \mu) / (1 - \tau)` (the
        gradient smoothed over ``~1/(1-momentum)`` steps; free: the optimizer
        keeps it); without momentum, """ + GTOL_GRADIENT,
    r"""
    References
    ----------
    .. [1] I. Sutskever, J. Martens, G. Dahl and G. Hinton, "On the importance of
       initialization and momentum in deep learning", ICML 2013.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.optimize import minimize, rosen, rosen_der
    >>> import adamopt
    >>> res = minimize(rosen, np.zeros(2), jac=rosen_der, method=adamopt.sgd,
    ...                options={"lr": 1e-3, "momentum": 0.9, "maxiter": 20000})
    >>> np.round(res.x, 2)
    array([1., 1.])
    """)


def adagrad(fun: Objective, x0: npt.ArrayLike, args: tuple = (), jac: Any = None,
            callback: Callable[..., Any] | None = None, *, hess: Any = None,
            hessp: Any = None, bounds: Any = None, constraints: Any = (),
            **options: Any) -> OptimizeResult:
    return _minimize(Adagrad, "adagrad", fun, x0, args, jac, callback, hess, hessp, bounds,
                     constraints, options)


adagrad.__doc__ = _method_doc(
    r"""Minimize a (stochastic) objective with Adagrad, as a `scipy.optimize.minimize` method.

    Use it as ``minimize(fun, x0, jac=True, method=adamopt.adagrad, options={...})``.
    Each iteration takes one step of `adamopt.Adagrad` (``torch.optim.Adagrad``'s
    arithmetic) with the gradient :math:`g_t` of ``fun`` at the current iterate:
""",
    r"""
    .. math::

        s_t = s_{t-1} + g_t^2, \quad
        x_t = x_{t-1} - \frac{\alpha_t}{1 + (t-1)\delta} \, \frac{g_t}{\sqrt{s_t} + \epsilon}
""",
    _LR.replace("{default}", "1e-2") + r"""
    lr_decay : float, default: 0.0
        :math:`\delta \ge 0`, the decay of the learning rate.""" + _WEIGHT_DECAY + r"""
    initial_accumulator_value : float, default: 0.0
        Starting value :math:`s_0 \ge 0` of the sum of squares.""" + _EPS.replace(
        "{default}", "1e-10").replace("{where}", r":math:`\sqrt{s_t}`"),
    GTOL_GRADIENT,
    r"""
    References
    ----------
    .. [1] J. Duchi, E. Hazan and Y. Singer, "Adaptive Subgradient Methods for
       Online Learning and Stochastic Optimization", JMLR 12, 2011.
    """)


def rmsprop(fun: Objective, x0: npt.ArrayLike, args: tuple = (), jac: Any = None,
            callback: Callable[..., Any] | None = None, *, hess: Any = None,
            hessp: Any = None, bounds: Any = None, constraints: Any = (),
            **options: Any) -> OptimizeResult:
    return _minimize(RMSprop, "rmsprop", fun, x0, args, jac, callback, hess, hessp, bounds,
                     constraints, options)


rmsprop.__doc__ = _method_doc(
    r"""Minimize a (stochastic) objective with RMSprop, as a `scipy.optimize.minimize` method.

    Use it as ``minimize(fun, x0, jac=True, method=adamopt.rmsprop, options={...})``.
    Each iteration takes one step of `adamopt.RMSprop` (``torch.optim.RMSprop``'s
    arithmetic) with the gradient :math:`g_t` of ``fun`` at the current iterate:
""",
    r"""
    .. math::

        v_t = \rho v_{t-1} + (1 - \rho) g_t^2, \quad
        x_t = x_{t-1} - \alpha_t \, g_t / (\sqrt{v_t} + \epsilon)

    (with ``centered``, :math:`v_t - \bar g_t^2` replaces :math:`v_t`; with
    ``momentum``, the scaled steps are accumulated in a buffer).
""",
    _LR.replace("{default}", "1e-2") + r"""
    alpha : float, default: 0.99
        Smoothing constant :math:`\rho` of the averages, in ``[0, 1)``.""" + _EPS.replace(
        "{default}", "1e-8").replace("{where}", r":math:`\sqrt{v_t}`") + _WEIGHT_DECAY + r"""
    momentum : float, default: 0.0
        Momentum factor :math:`\mu \in [0, 1)`.
    centered : bool, default: False
        Divide by the centred second moment.""",
    r"""with ``centered``, the bias-corrected gradient
        average :math:`\bar g_t / (1 - \rho^t)` (free: the optimizer keeps it);
        otherwise, """ + GTOL_GRADIENT,
    r"""
    References
    ----------
    .. [1] T. Tieleman and G. Hinton, "Lecture 6.5 - RMSProp", COURSERA: Neural
       Networks for Machine Learning, 2012.
    .. [2] A. Graves, "Generating Sequences With Recurrent Neural Networks",
       arXiv:1308.0850, 2013.
    """)


def adamax(fun: Objective, x0: npt.ArrayLike, args: tuple = (), jac: Any = None,
           callback: Callable[..., Any] | None = None, *, hess: Any = None,
           hessp: Any = None, bounds: Any = None, constraints: Any = (),
           **options: Any) -> OptimizeResult:
    return _minimize(Adamax, "adamax", fun, x0, args, jac, callback, hess, hessp, bounds,
                     constraints, options)


adamax.__doc__ = _method_doc(
    r"""Minimize a (stochastic) objective with Adamax, as a `scipy.optimize.minimize` method.

    Use it as ``minimize(fun, x0, jac=True, method=adamopt.adamax, options={...})``.
    Each iteration takes one step of `adamopt.Adamax` (Kingma & Ba 2014, section
    7.1, with ``torch.optim.Adamax``'s :math:`\epsilon`) with the gradient
    :math:`g_t` of ``fun`` at the current iterate:
""",
    r"""
    .. math::

        m_t = \beta_1 m_{t-1} + (1 - \beta_1) g_t, \quad
        u_t = \max(\beta_2 u_{t-1}, |g_t| + \epsilon), \quad
        x_t = x_{t-1} - \frac{\alpha_t}{1 - \beta_1^t} \, m_t / u_t
""",
    _LR.replace("{default}", "2e-3") + _BETAS.replace("{second}", "infinity norm")
    + _EPS.replace("{default}", "1e-8").replace("{where}", r":math:`|g_t|` inside the max")
    + _WEIGHT_DECAY,
    GTOL_FIRST_MOMENT,
    r"""
    References
    ----------
    .. [1] D. P. Kingma and J. Ba, "Adam: A Method for Stochastic Optimization",
       ICLR 2015, arXiv:1412.6980, section 7.1.
    """)


def nadam(fun: Objective, x0: npt.ArrayLike, args: tuple = (), jac: Any = None,
          callback: Callable[..., Any] | None = None, *, hess: Any = None,
          hessp: Any = None, bounds: Any = None, constraints: Any = (),
          **options: Any) -> OptimizeResult:
    return _minimize(NAdam, "nadam", fun, x0, args, jac, callback, hess, hessp, bounds,
                     constraints, options)


nadam.__doc__ = _method_doc(
    r"""Minimize a (stochastic) objective with NAdam, as a `scipy.optimize.minimize` method.

    Use it as ``minimize(fun, x0, jac=True, method=adamopt.nadam, options={...})``.
    Each iteration takes one step of `adamopt.NAdam` (Dozat 2016, as
    ``torch.optim.NAdam`` computes it) with the gradient :math:`g_t` of ``fun``
    at the current iterate, :math:`\mu_t = \beta_1 (1 - 0.96^{t\psi}/2)` and
    :math:`P_t = \mu_1 \cdots \mu_t`:
""",
    r"""
    .. math::

        x_t = x_{t-1} - \alpha_t \left( \frac{(1 - \mu_t) g_t}{1 - P_t}
            + \frac{\mu_{t+1} m_t}{1 - P_t \mu_{t+1}} \right)
            \Big/ \left( \sqrt{v_t / (1 - \beta_2^t)} + \epsilon \right)
""",
    _LR.replace("{default}", "2e-3") + _BETAS.replace("{second}", "second moment")
    + _EPS.replace("{default}", "1e-8").replace("{where}", r":math:`\sqrt{\hat v_t}`")
    + r"""
    weight_decay : float, default: 0.0
        Weight decay :math:`\lambda`: coupled (added to the gradient), or
        decoupled with ``decoupled_weight_decay``.
    momentum_decay : float, default: 4e-3
        :math:`\psi \ge 0` of the momentum schedule.
    decoupled_weight_decay : bool, default: False
        Decay the parameters directly (NAdamW).""",
    GTOL_FIRST_MOMENT,
    r"""
    References
    ----------
    .. [1] T. Dozat, "Incorporating Nesterov Momentum into Adam", ICLR 2016
       workshop.
    """)


adagrad.__doc__ += _least_squares_example("adagrad", '"lr": 0.5')
rmsprop.__doc__ += _least_squares_example("rmsprop", '"lr": 0.01')
adamax.__doc__ += _least_squares_example("adamax", '"lr": 0.05')
nadam.__doc__ += _least_squares_example("nadam", '"lr": 0.05')
