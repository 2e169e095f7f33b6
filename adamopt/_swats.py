r"""SWATS: start with Adam, switch to SGD with momentum (Keskar & Socher 2017).

`SWATS` is an `Adam` whose steps, once the switch has happened, are those of
an `adamopt.SGD` with momentum on the same parameters; `swats` is the same as
a SciPy method.
"""

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt
from scipy.optimize import OptimizeResult

from . import _betas
from . import _validation as check
from ._catalog import CLASSES
from ._derive import assemble_method_doc as _method_doc
from ._derive import betas_entry as _betas_entry
from ._derive import least_squares_example as _least_squares_example
from ._kernels import MAX_STEPS, _dot, _raise_step_cap
from ._method_doc import AVERAGE_DOC
from ._minimize import _minimize
from ._optimizers import StepFunction, _Checked

if TYPE_CHECKING:   # the derived classes, as type checkers see them
    from ._kernels import Core
    from ._optimizers import _Optimizer

    class Adam(_Optimizer, Core):
        def __init__(self, params: Any, **options: Any) -> None: ...

    class SGD(_Optimizer, Core):
        def __init__(self, params: Any, **options: Any) -> None: ...
else:
    Adam, SGD = CLASSES["adam"], CLASSES["sgd"]

_REFERENCES = r"""
    References
    ----------
    .. [1] N. S. Keskar and R. Socher, "Improving Generalization Performance by
       Switching from Adam to SGD", 2017, arXiv:1712.07628.
    .. [2] D. P. Kingma and J. Ba, "Adam: A Method for Stochastic Optimization",
       ICLR 2015, arXiv:1412.6980.
    """

_EQUATIONS = r"""
    .. math::

        p_k &= x_k - x_{k-1} = -\alpha_k \hat m_k / (\sqrt{\hat v_k} + \epsilon)
            \quad \text{(the Adam step)} \\
        \gamma_k &= \frac{p_k^\top p_k}{-p_k^\top g_k}, \qquad
        \lambda_k = \beta_2 \lambda_{k-1} + (1 - \beta_2) \gamma_k
            \quad \text{(when } p_k^\top g_k \ne 0) \\
        \text{switch when } & k > 1 \text{ and }
            \left|\frac{\lambda_k}{1 - \beta_2^k} - \gamma_k\right| < \text{switch\_tol},
            \qquad \Lambda = \frac{\lambda_k}{1 - \beta_2^k}

    after which every step is SGD with momentum :math:`\beta_1`,

    .. math::

        b_t = \beta_1 b_{t-1} + g_t \ (b = g \text{ at the first SGD step}), \qquad
        x_t = x_{t-1} - (1 - \beta_1) \Lambda \, b_t
"""


#: SWATS's row of the README's algorithm table (``adamopt._tables``): the
#: algorithm and paper, the PyTorch match, the differences from the paper and
#: what ``gtol`` tests; and its place in the table.
TABLE_ROW = ("SWATS (Keskar & Socher 2017)", "Adam, then `torch.optim.SGD(momentum=beta1)`",
             "eps outside the root (the paper: inside); a switch needs a positive estimate "
             "(see below)", "Adam's, then SGD's")
TABLE_POSITION = 7


def _switched_at_rule(value, t, where):
    if isinstance(value, (bool, np.bool_)) or not float(value).is_integer():
        raise TypeError(f"{where} must be an integer. Got {check.show(value)} instead.")
    if not 0 <= value <= t:
        raise ValueError(f"{where} must be in [0, t] = [0, {t}] (0: not switched). "
                         f"Got {value!r} instead.")
    return int(value)


def _finite_rule(value, t, where):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{where} must be a real number. Got {check.show(value)} instead.")
    if not math.isfinite(value):
        raise ValueError(f"{where} must be finite. Got {value!r} instead.")
    return float(value)


class _Continued:
    """The SGD phase's schedule multiplier: the run's learning rate at step
    ``switched_at + s`` relative to the one at the switch, so that the SGD
    phase's rate keeps the shape of the Adam phase's schedule."""

    __slots__ = ("at_switch", "lr", "schedule", "switched_at")

    def __init__(self, lr, schedule, switched_at, at_switch):
        self.lr, self.schedule = lr, schedule
        self.switched_at, self.at_switch = switched_at, at_switch

    def rate(self, t):
        value = self.lr(t) if callable(self.lr) else self.lr
        return value * (1.0 if self.schedule is None else self.schedule(t))

    def __call__(self, s):
        return self.rate(self.switched_at + s) / self.at_switch


class _SGDPhase(SGD):
    """The SGD of the second phase.  Its error messages name the class the
    user created (``_OWNER``), and it is never pickled on its own (SWATS saves
    its state)."""

    _OWNER = "SWATS"


class SWATS(Adam):
    __doc__ = (r"""SWATS: Adam, then SGD with momentum once its step size has settled.

    Keskar & Socher (2017).  Each step is an Adam step (exactly `adamopt.Adam`'s,
    without AMSGrad) until
    the learning rate that SGD would need to take the same step, projected on
    the gradient, has stabilised; from then on each step is SGD with momentum
    (exactly `adamopt.SGD`'s, PyTorch's form) with that learning rate.  With
    the gradient :math:`g_k` (plus :math:`\lambda x_{k-1}` for weight decay,
    negated if maximize), Algorithm 1 of Keskar & Socher:
""" + _EQUATIONS + r"""
    :math:`\gamma_k` is the learning rate for which SGD's step along
    :math:`-g_k` has the projection of Adam's step :math:`p_k` onto
    :math:`g_k`; its bias-corrected average :math:`\Lambda` becomes the SGD
    learning rate.  ``switched_at`` tells the step :math:`k` after which the
    switch happened (None before).

    When ``lr`` is a schedule or ``schedule`` is given, the SGD phase keeps
    their shape: its learning rate at step :math:`t` is
    :math:`(1-\beta_1) \Lambda \, \mathrm{lr}_t / \mathrm{lr}_k`, with
    :math:`\mathrm{lr}_t = \alpha_t \eta_t` the learning rate of step ``t``.

    Parameters
    ----------
    params : numpy.ndarray
        The parameters, updated **in place** by `step` (as for `adamopt.Adam`).
    lr : float or callable, default: 1e-3
        Adam's learning rate :math:`\alpha`, or a schedule ``lr(t)``.
    beta1, beta2 : float, default: 0.9, 0.999
        Adam's decay rates; ``beta1`` is also the SGD phase's momentum and
        ``beta2`` the decay of the average :math:`\lambda_k`.""" + _betas_entry() + r"""
    eps : float, default: 1e-8
        Adam's :math:`\epsilon` (added to :math:`\sqrt{\hat v_k}`, as in PyTorch;
        the paper adds it to :math:`\sqrt{v_k}`).
    weight_decay : float, default: 0.0
        Coupled L2 penalty :math:`\lambda \ge 0` in both phases (added to the
        gradient, as in `adamopt.Adam` and `adamopt.SGD`).
    switch_tol : float, default: 1e-9
        The tolerance of the switch test (> 0).  The paper uses Adam's
        :math:`\epsilon` there (it adds no hyperparameter); here it is its own
        option, since the test is absolute and its scale is that of the
        learning rate.
    maximize : bool, default: False
        Ascend the objective instead.
    schedule : callable, optional
        A multiplier :math:`\eta_t` of the learning rate (both phases).
    check_finite : bool, default: True
        Check each gradient before it touches the state (as `adamopt.Adam`).
""" + AVERAGE_DOC + r"""
    Attributes
    ----------
    params : numpy.ndarray
        The array passed in, updated in place.
    t : int
        Number of steps taken (both phases).
    switched_at : int or None
        The step :math:`k` after which the steps are SGD's, or None.
    sgd_lr : float or None
        :math:`\Lambda`, the SGD learning rate estimate (None before the
        switch); the SGD step uses :math:`(1-\beta_1)\Lambda`.

    Notes
    -----
    The switch test needs :math:`p_k^\top g_k \ne 0`; a step whose estimate
    :math:`\Lambda` is not positive (an Adam step that goes uphill along
    :math:`g_k`) does not switch, a safeguard the paper does not state.  The
    dot products are computed in float64.

    ``state_dict()`` holds Adam's moments ``m`` and ``v``, SGD's
    ``momentum_buffer`` (zero before the switch), ``switched_at`` (0 before
    the switch), ``gamma_average`` (:math:`\lambda_k`) and ``sgd_lr``
    (:math:`\Lambda`, 0 before the switch), with ``t`` and the
    hyperparameters; a resumed run continues bitwise identically, in either
    phase.
""" + _REFERENCES + r"""
    Examples
    --------
    >>> import numpy as np
    >>> import adamopt
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 5))
    >>> y = X @ np.arange(5.0) + 0.1 * rng.standard_normal(200)
    >>> w = np.zeros(5)
    >>> opt = adamopt.SWATS(w, lr=0.05, switch_tol=1e-6)
    >>> for _ in range(500):
    ...     _ = opt.step(X.T @ (X @ w - y) / len(y))     # least squares
    >>> opt.switched_at, round(opt.sgd_lr, 4), np.round(w, 2)
    (43, 0.0252, array([0.01, 0.99, 2.  , 3.  , 4.01]))

    The switch test is sensitive to ``switch_tol`` and to the problem: with
    the default 1e-9, this run stays with Adam.
    """)

    _algorithm = "swats"
    _SAVED_HYPERPARAMETERS = ("lr", "beta1", "beta2", "eps", "weight_decay", "switch_tol",
                              "maximize")
    _FIXED = ()
    _STATE_ARRAYS: ClassVar[dict] = {
        "m": ("_m", "finite", None), "v": ("_v", "nonnegative", None),
        "momentum_buffer": ("_momentum_buffer", "finite", None)}
    _STATE_SCALARS: ClassVar[dict] = {"switched_at": _switched_at_rule,
                                      "gamma_average": _finite_rule, "sgd_lr": _finite_rule}
    _ZERO_AT_START = ("m", "v", "momentum_buffer")
    _REPR_NUMBERS = ("beta1", "beta2", "eps", "weight_decay", "switch_tol")

    weight_decay = _Checked("L2 penalty coefficient, >= 0 (both phases).")
    switch_tol = _Checked("Tolerance of the switch test, > 0.")
    # A number only (Adam's may be a schedule): it is also the SGD phase's momentum.
    beta1 = _Checked("Adam's beta1, also the SGD phase's momentum (a number).")
    #: One array only (its SGD phase is bound to it).
    _STRUCTURES = False

    @_betas.accepting
    def __init__(self, params: npt.NDArray[np.floating], *, lr: float | StepFunction = 1e-3,
                 beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0, switch_tol: float = 1e-9, maximize: bool = False,
                 schedule: StepFunction | None = None, check_finite: bool = True,
                 average: str | None = None, average_decay: float = 0.999,
                 average_start: int = 0) -> None:
        super().__init__(params, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                         weight_decay=weight_decay, amsgrad=False, maximize=maximize,
                         schedule=schedule, check_finite=check_finite, average=average,
                         average_decay=average_decay, average_start=average_start)
        self.switch_tol = switch_tol
        self._sgd = _SGDPhase(self._x, lr=0.0, momentum=self._beta1)
        # Scratch of the switch test, in float64 (its dot products are taken
        # there), allocated once: the iterate before the step, the gradient
        # and the step.
        self._before, self._g64, self._p64 = (np.empty_like(self._x, dtype=np.float64)
                                              for _ in range(3))
        self._switched_at = 0
        self._gamma_average = 0.0
        self._sgd_lr = 0.0

    @classmethod
    def _run_group_keys(cls):
        """SWATS takes no parameter groups (its switch is one decision for all of x)."""
        return None

    @property
    def switched_at(self) -> int | None:
        """The step after which the steps are SGD's, or None before the switch."""
        return self._switched_at or None

    @property
    def sgd_lr(self) -> float | None:
        """The SGD learning rate estimate :math:`\\Lambda`, or None before the switch."""
        return self._sgd_lr if self._switched_at else None

    @property
    def _momentum_buffer(self):
        return self._sgd._momentum_buffer

    #: Its step may run another core's pass (the SGD phase), which does not
    #: run this core's post-pass stages: the run driver does them itself.
    _fused_pass = False

    def step(self, grad: npt.ArrayLike) -> npt.NDArray[np.floating]:
        """Take one step (Adam's, or SGD's after the switch) with the gradient ``grad``.

        Returns the parameter array, updated in place.  Raises as `Adam.step`
        does, leaving the parameters and the state unchanged.
        """
        if self._switched_at:
            if not 0 <= self._t < MAX_STEPS:   # (the SGD phase counts from the switch)
                _raise_step_cap(type(self).__name__, self._t)
            self._sync_sgd().step(grad)
            self._t += 1
            return self._x
        x, before = self._x, self._before
        np.copyto(before, x)
        Adam.step(self, grad)
        self._watch(x, before, grad)
        return x

    def _sync_sgd(self):
        """The SGD phase, with this optimizer's current options (set through
        its public attributes, which check them)."""
        sgd = self._sgd
        for name, value in (("weight_decay", self._weight_decay), ("maximize", self._maximize),
                            ("check_finite", self._check_finite), ("momentum", self._beta1)):
            if getattr(sgd, name) != value:
                setattr(sgd, name, value)
        return sgd

    def _watch(self, x, before, grad):
        """Update the average of the projected step size; switch when it has
        settled.  In float64, in the preallocated scratch arrays."""
        g, p = self._g64, self._p64
        np.copyto(g, grad, casting="unsafe")
        if self._maximize:
            np.negative(g, out=g)
        if self._weight_decay != 0.0:
            np.multiply(before, self._weight_decay, out=p)
            np.add(g, p, out=g)
        np.subtract(x, before, out=p)
        pg = _dot(p, g)      # (in a fixed order: the same bits on every machine)
        if pg == 0.0:
            return
        k, beta2 = self._t, self._beta2
        gamma = _dot(p, p) / -pg
        self._gamma_average = beta2 * self._gamma_average + (1.0 - beta2) * gamma
        estimate = self._gamma_average / (1.0 - beta2**k)
        if k > 1 and estimate > 0.0 and abs(estimate - gamma) < self._switch_tol:
            self._switched_at, self._sgd_lr = k, estimate
            self._configure_sgd()

    def _configure_sgd(self):
        """Set the SGD phase's learning rate and step count from the switch."""
        sgd, k = self._sgd, self._switched_at
        sgd.lr = (1.0 - self._beta1) * self._sgd_lr
        continued = None
        if self._lr_fn is not None or self._schedule is not None:
            at_switch = _Continued(self.lr, self._schedule, k, 1.0).rate(k)
            continued = _Continued(self.lr, self._schedule, k, at_switch)
        sgd.schedule = continued
        self._sgd_steps(self._t - k)
        sgd._examine()   # the Adam phase moved x: the SGD phase's guard re-reads it

    def _smoothed_gradient(self, grad):
        if self._switched_at:
            return self._sgd._smoothed_gradient(grad)
        return super()._smoothed_gradient(grad)

    def state_dict(self) -> dict[str, Any]:
        out = super().state_dict()
        out["switched_at"] = int(self._switched_at)
        return out

    state_dict.__doc__ = Adam.state_dict.__doc__

    def load_state_dict(self, state) -> None:
        super().load_state_dict(state)
        if self._switched_at:
            self._configure_sgd()
        else:
            self._sgd_steps(0)

    def _sgd_steps(self, t):
        """Set the SGD phase's step count (through its state dict, checked)."""
        sgd = self._sgd
        if sgd.t != t:
            sgd.load_state_dict({**sgd.state_dict(), "t": t})

    load_state_dict.__doc__ = Adam.load_state_dict.__doc__


Objective = Callable[..., Any]


def swats(fun: Objective, x0: npt.ArrayLike, args: tuple = (), jac: Any = None,
          callback: Callable[..., Any] | None = None, *, hess: Any = None, hessp: Any = None,
          bounds: Any = None, constraints: Any = (), **options: Any) -> OptimizeResult:
    res = _minimize(SWATS, "swats", fun, x0, args, jac, callback, hess, hessp, bounds,
                    constraints, options)
    res.switched_at = res.state["optimizer"]["switched_at"] or None
    return res


swats.__doc__ = _method_doc(
    r"""Minimize a (stochastic) objective with SWATS, as a `scipy.optimize.minimize` method.

    Adam, then SGD with momentum once the Adam step's projection onto the
    gradient has stabilised (Keskar & Socher 2017, Algorithm 1), exactly as
    `adamopt.SWATS` computes it.  The result also holds ``switched_at``: the
    step number :math:`k` (counted over the whole run, resumed runs included)
    after which the steps were SGD's, or None if the run never switched.
    With the gradient :math:`g_k` of ``fun`` at the current iterate:
""", _EQUATIONS, r"""
    lr : float or callable, default: 1e-3
        Adam's learning rate :math:`\alpha`, or a schedule ``lr(t) -> float``;
        the SGD phase keeps the shape of the schedule (see `adamopt.SWATS`).
    beta1, beta2 : float, default: 0.9, 0.999
        Adam's decay rates; ``beta1`` is also the SGD momentum.""" + _betas_entry() + r"""
    eps : float, default: 1e-8
        Added to :math:`\sqrt{\hat v_k}` (PyTorch's placement).
    weight_decay : float, default: 0.0
        Coupled L2 penalty :math:`\lambda` in both phases.
    switch_tol : float, default: 1e-9
        Tolerance of the switch test.""", r"""before the switch, Adam's
        bias-corrected first moment :math:`\hat m_k = m_k / (1 - \beta_1^k)`;
        after it, SGD's momentum buffer rescaled to an average of the
        gradients, :math:`(1 - \beta_1) b_t`.""", _REFERENCES)
swats.__doc__ += _least_squares_example("swats", '"lr": 0.05, "switch_tol": 1e-5')
