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

from ._family import SGD
from ._minimize import _method_doc, _minimize

Objective = Callable[..., Any]

_LR = r"""
    lr : float or callable, default: {default}
        Learning rate :math:`\alpha` (PyTorch's default), or a schedule
        ``lr(t) -> float`` of the step number ``t = 1, 2, ...``."""

_WEIGHT_DECAY = r"""
    weight_decay : float, default: 0.0
        Coupled L2 penalty :math:`\lambda`, added to the gradient."""

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
