r"""Adam's family as stateful optimizers over NumPy arrays: SGD, Adagrad,
RMSprop, Adamax and NAdam.

Each class validates its arguments once, allocates its state and hands the
per-step work to the compiled `FamilyCore` (one fused pass per step, the
same gradient check, threads and variants as Adam's).  The machinery (the
hyperparameters' checks, the learning-rate schedule, ``state_dict``, pickling,
the repr) is `adamopt._optimizers._Optimizer`, shared with `Adam`.

Names, defaults and arithmetic follow ``torch.optim`` (PyTorch 2.x, whose
``betas`` are split into ``beta1`` and ``beta2``), step by step; where the
papers differ, each docstring says how.
"""

from typing import ClassVar

import numpy as np
import numpy.typing as npt

from . import _validation as check
from ._kernels import ALGORITHMS, FamilyCore
from ._optimizers import _CHECKS, Schedule, _Checked, _finite_max, _Optimizer

_PARAMS = r"""
    params : numpy.ndarray
        The parameters, updated **in place** by `step`: any shape, dtype float32 or
        float64, writeable and contiguous (C or Fortran order).  The state is
        kept, and each element computed, in the same dtype; the per-step scalars
        in float64."""

_LR = r"""
    lr : float or callable, default: {default}
        Learning rate :math:`\alpha \ge 0` (PyTorch's default), or a schedule: a
        callable ``lr(t)`` returning :math:`\alpha_t` for the step number
        ``t = 1, 2, ...``."""

_WEIGHT_DECAY = r"""
    weight_decay : float, default: 0.0
        L2 penalty :math:`\lambda \ge 0`, added to the gradient (coupled), as in
        PyTorch."""

_FLAGS = r"""
    maximize : bool, default: False
        Ascend the objective instead (the gradient's sign is flipped inside the
        loop; ``grad`` is not copied).
    schedule : callable, optional
        A schedule multiplier :math:`\eta_t` = ``schedule(t)``: the learning rate
        used at step ``t`` is :math:`\alpha_t \eta_t`.
    check_finite : bool, default: True
        Before each step, check that the gradient (plus the L2 term, for coupled
        weight decay) is finite{square}.
        A failed check raises `ValueError` and leaves the parameters and the
        state exactly as they were.  ``False`` skips the check (one read of
        the gradient); a NaN then propagates into the parameters and the state.
"""

#: What the check of an algorithm that squares the gradient adds.
_SQUARED = (" and small enough that its\n"
            "        square cannot overflow (about 1.8e19 for float32 and 1.3e154 for\n"
            "        float64)")

_NOTES = r"""
    Attributes
    ----------
    params : numpy.ndarray
        The array passed in, updated in place.
    t : int
        Number of steps taken.

    Notes
    -----
    The step counter starts at ``t = 0``; `step` first increments it, so the
    first update uses ``t = 1``.  ``state_dict()`` returns plain numbers,
    strings and NumPy arrays (the state:
    {state}; the hyperparameters, ``algorithm`` and ``t``), picklable and
    `numpy.savez`-able; ``load_state_dict`` restores them so that a resumed
    run continues bitwise identically.

    A gradient that is a C-contiguous (or, for Fortran-ordered parameters,
    Fortran-contiguous) array of the parameters' dtype is read directly; any
    other array-like of the right shape is converted first (one copy per step).
    An optimizer is not thread-safe; distinct optimizers run in parallel (the
    loop releases the GIL for large arrays).
"""


def _doc(summary, equations, parameters, flags_square, state, differences, references,
         example):
    return (summary + equations + "\n    Parameters\n    ----------" + parameters
            + _FLAGS.replace("{square}", flags_square)
            + _NOTES.replace("{state}", state) + differences + references + example)


class _FamilyOptimizer(_Optimizer, FamilyCore):
    """The construction every family class shares: check ``params``, assign
    the hyperparameters (each checked by its descriptor), allocate the state
    and bind it to the compiled core."""

    #: The compiled core's algorithm number.
    _ALGO = -1
    #: State arrays' roles: which of the core's ``_a``, ``_b``, ``_c`` exist.
    _STATE_ARRAYS: ClassVar[dict] = {}
    #: The hyperparameter whose value the first state array starts at (else 0).
    _FILL = None

    weight_decay = _Checked("L2 penalty coefficient, >= 0.")

    def _setup(self, params, hyperparameters, schedule, check_finite, *, fixed=None):
        owner = type(self).__name__
        params = check.params_array(params, owner)
        self._dtype = params.dtype
        fixed = {name: _CHECKS[name](value, name, owner) for name, value in (fixed or {}).items()}
        for name, value in hyperparameters.items():
            setattr(self, name, value)
        self.schedule = schedule
        self.check_finite = check_finite
        self._t = 0
        fill = getattr(self, self._FILL) if self._FILL else 0.0
        slots = dict.fromkeys(("_a", "_b", "_c"))
        for attribute, _, needs in self._STATE_ARRAYS.values():
            if needs is None or fixed.get(needs):
                slots[attribute] = np.full_like(params, fill if attribute == "_a" else 0.0)
        self._bind(self._ALGO, params, slots["_a"], slots["_b"], slots["_c"],
                   fixed.get("centered", False))
        self._examine()

    def _examine(self):
        """Set the premise of the overflow guard of SGD, Adagrad, Adamax and NAdam
        (`FamilyCore._bound`) from the arrays as they are now: whether x or
        the bounded state array (the momentum buffer, the sum of squares,
        NAdam's m) is beyond the limit a step's pass would compare it with.  One pass, at
        construction, ``load_state_dict`` and SWATS' switch (not per step)."""
        algo = self._algo
        if algo not in (ALGORITHMS["sgd"], ALGORITHMS["adagrad"], ALGORITHMS["nadam"],
                        ALGORITHMS["adamax"]):
            return
        top = float(np.finfo(self._x.dtype).max)
        if algo == ALGORITHMS["sgd"]:
            lr = self._lr if self._lr_fn is None else 1.0
            limit = top / (8192 * max(1.0, lr))
        else:
            limit = top / 4
        self._x_bound = _finite_max(self._x)
        if algo == ALGORITHMS["nadam"]:   # the largest |m| (as Adam's: Adam._examine)
            self._s_bound = _finite_max(self._a)
            self._beyond = False
            return
        if algo == ALGORITHMS["adamax"]:  # the largest |m| and |m| / u (_adamax_bound)
            self._s_bound = _finite_max(self._a)
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(self._a == 0, 0.0, np.abs(self._a) / self._b)
            self._r_bound = float(ratio.max()) if ratio.size else 0.0
            self._beyond = not self._s_bound <= top / 4
            return
        with np.errstate(invalid="ignore"):
            self._beyond = self._a is not None and not bool(np.all(np.abs(self._a) <= limit))
        self._s_limit = limit

    def load_state_dict(self, state) -> None:
        super().load_state_dict(state)
        self._examine()

    load_state_dict.__doc__ = _Optimizer.load_state_dict.__doc__


# -- SGD -----------------------------------------------------------------------------------


class SGD(_FamilyOptimizer):
    __doc__ = _doc(
        r"""Stochastic gradient descent with momentum, dampening and Nesterov's form, in place.

    Each call ``opt.step(grad)`` performs, with the gradient :math:`g_t` of the
    objective at :math:`x_{t-1}`, exactly the steps of ``torch.optim.SGD``:
""", r"""
    .. math::

        g_t &\leftarrow -g_t \quad \text{(if maximize)} \\
        g_t &\leftarrow g_t + \lambda x_{t-1} \quad \text{(if weight\_decay } \lambda \ne 0) \\
        b_t &= g_t \ (t = 1), \qquad
        b_t = \mu b_{t-1} + (1 - \tau) g_t \ (t > 1)
            \quad \text{(if momentum } \mu \ne 0) \\
        u_t &= g_t + \mu b_t \ \text{(nesterov)}, \quad b_t \ \text{(momentum)}, \quad
            g_t \ \text{(neither)} \\
        x_t &= x_{t-1} - \alpha_t u_t
""",
        _PARAMS + _LR.replace("{default}", "1e-3") + r"""
    momentum : float, default: 0.0
        Momentum factor :math:`\mu \in [0, 1)`; 0 is plain SGD.
    dampening : float, default: 0.0
        Dampening :math:`\tau \in [0, 1)` of the gradient in the momentum buffer.""" +
        _WEIGHT_DECAY + r"""
    nesterov : bool, default: False
        Nesterov's form (needs ``momentum > 0`` and ``dampening == 0``, as in
        PyTorch).""",
        "", "``momentum_buffer``, zero until the first step with momentum",
        r"""
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
""", r"""
    References
    ----------
    .. [1] I. Sutskever, J. Martens, G. Dahl and G. Hinton, "On the importance of
       initialization and momentum in deep learning", ICML 2013.
    .. [2] Y. Bengio, N. Boulanger-Lewandowski and R. Pascanu, "Advances in
       optimizing recurrent networks", ICASSP 2013, arXiv:1212.0901.
    .. [3] Y. Nesterov, "A method of solving a convex programming problem with
       convergence rate O(1/k^2)", Soviet Mathematics Doklady 27, 1983.
""", r"""
    Examples
    --------
    >>> import numpy as np
    >>> import adamopt
    >>> x = np.array([1.0, -2.0])
    >>> opt = adamopt.SGD(x, lr=0.1, momentum=0.9, nesterov=True)
    >>> for _ in range(100):
    ...     _ = opt.step(2 * x)          # gradient of sum(x**2)
    >>> bool(np.all(np.abs(x) < 1e-3))
    True
""")

    _algorithm = "sgd"
    _ALGO = ALGORITHMS["sgd"]
    _GROWING = "momentum buffer"
    _SAVED_HYPERPARAMETERS = ("lr", "momentum", "dampening", "weight_decay", "nesterov",
                              "maximize")
    _STATE_ARRAYS: ClassVar[dict] = {"momentum_buffer": ("_a", "finite", None)}
    _REPR_NUMBERS = ("momentum", "dampening", "weight_decay")

    momentum = _Checked("Momentum factor, in ``[0, 1)``.")
    dampening = _Checked("Dampening of the gradient in the momentum buffer, in ``[0, 1)``.")
    nesterov = _Checked("Whether Nesterov's form is used.")

    def __init__(self, params: npt.NDArray[np.floating], *, lr: float | Schedule = 1e-3,
                 momentum: float = 0.0, dampening: float = 0.0, weight_decay: float = 0.0,
                 nesterov: bool = False, maximize: bool = False,
                 schedule: Schedule | None = None, check_finite: bool = True) -> None:
        self._setup(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                 weight_decay=weight_decay, nesterov=nesterov,
                                 maximize=maximize), schedule, check_finite)
        if self._nesterov and (self._momentum == 0.0 or self._dampening != 0.0):
            raise ValueError(
                f"The 'nesterov' parameter of {type(self).__name__} needs momentum > 0 and "
                f"dampening == 0. Got nesterov=True with momentum={self._momentum!r} and "
                f"dampening={self._dampening!r} instead."
            )

    def _smoothed_gradient(self, grad):
        """With momentum, the buffer rescaled to an average of the gradients,
        :math:`b_t (1-\\mu)/(1-\\tau)`; without, the gradient (see
        `_Optimizer._smoothed_gradient`)."""
        if self._momentum == 0.0 or self._t == 0:
            return super()._smoothed_gradient(grad)
        return self._a, (1.0 - self._momentum) / (1.0 - self._dampening), True


# -- Adagrad -------------------------------------------------------------------------------

_EPS = r"""
    eps : float, default: {default}
        :math:`\epsilon > 0`, added to {where} (PyTorch's placement).  It
        must stay positive in the parameters' dtype{scaled}, else `step`
        raises `ValueError`."""


class Adagrad(_FamilyOptimizer):
    __doc__ = _doc(
        r"""Adagrad: steps scaled by the root of the sum of squared gradients, in place.

    Each call ``opt.step(grad)`` performs, with the gradient :math:`g_t` of the
    objective at :math:`x_{t-1}`, exactly the steps of ``torch.optim.Adagrad``:
""", r"""
    .. math::

        g_t &\leftarrow -g_t \quad \text{(if maximize)} \\
        g_t &\leftarrow g_t + \lambda x_{t-1} \quad \text{(if weight\_decay } \lambda \ne 0) \\
        \tilde\alpha_t &= \alpha_t / (1 + (t - 1) \delta) \\
        s_t &= s_{t-1} + g_t^2, \qquad s_0 = \text{initial\_accumulator\_value} \\
        x_t &= x_{t-1} - \tilde\alpha_t \, g_t / (\sqrt{s_t} + \epsilon)
""",
        _PARAMS + _LR.replace("{default}", "1e-2") + r"""
    lr_decay : float, default: 0.0
        :math:`\delta \ge 0`: the learning rate of step t is divided by
        :math:`1 + (t-1)\delta`.""" + _WEIGHT_DECAY + r"""
    initial_accumulator_value : float, default: 0.0
        :math:`s_0 \ge 0`, the starting value of the sum of squares.""" +
        _EPS.replace("{default}", "1e-10").replace("{where}", r":math:`\sqrt{s_t}`")
        .replace("{scaled}", ""),
        _SQUARED, "``sum``, the running sum of squared gradients",
        r"""
    The sum only grows: after very many very large gradients it may overflow to
    infinity, after which the coordinate stops moving (no NaN is produced).

    **Differences from the paper.**  The diagonal Adagrad of Duchi, Hazan and
    Singer (2011) steps by :math:`\eta\, g_t / (\delta + \sqrt{s_t})`: the same
    placement of the small constant, outside the root.  ``lr_decay`` is
    PyTorch's addition (not in the paper); ``initial_accumulator_value``
    defaults to 0 as in PyTorch (TensorFlow's Adagrad defaults to 0.1).
""", r"""
    References
    ----------
    .. [1] J. Duchi, E. Hazan and Y. Singer, "Adaptive Subgradient Methods for
       Online Learning and Stochastic Optimization", JMLR 12, 2011.
""", r"""
    Examples
    --------
    >>> import numpy as np
    >>> import adamopt
    >>> x = np.array([1.0, -2.0])
    >>> opt = adamopt.Adagrad(x, lr=0.5)
    >>> for _ in range(200):
    ...     _ = opt.step(2 * x)          # gradient of sum(x**2)
    >>> bool(np.all(np.abs(x) < 1e-3))
    True
""")

    _algorithm = "adagrad"
    _ALGO = ALGORITHMS["adagrad"]
    _GROWING = "sum of squares"
    _SAVED_HYPERPARAMETERS = ("lr", "lr_decay", "weight_decay", "initial_accumulator_value",
                              "eps", "maximize")
    _STATE_ARRAYS: ClassVar[dict] = {"sum": ("_a", "nonnegative", None)}
    _FILL = "initial_accumulator_value"
    _REPR_NUMBERS = ("lr_decay", "eps", "weight_decay")

    lr_decay = _Checked("Learning-rate decay, >= 0.")
    initial_accumulator_value = _Checked(
        "Starting value of the sum of squares, >= 0 (used at construction).")
    eps = _Checked("Term added to the denominator, > 0.")

    def __init__(self, params: npt.NDArray[np.floating], *, lr: float | Schedule = 1e-2,
                 lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10,
                 maximize: bool = False, schedule: Schedule | None = None,
                 check_finite: bool = True) -> None:
        self._setup(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                 initial_accumulator_value=initial_accumulator_value,
                                 eps=eps, maximize=maximize), schedule, check_finite)


# -- RMSprop -------------------------------------------------------------------------------


class RMSprop(_FamilyOptimizer):
    __doc__ = _doc(
        r"""RMSprop: steps scaled by a running root mean square of the gradients, in place.

    Each call ``opt.step(grad)`` performs, with the gradient :math:`g_t` of the
    objective at :math:`x_{t-1}`, exactly the steps of ``torch.optim.RMSprop``:
""", r"""
    .. math::

        g_t &\leftarrow -g_t \quad \text{(if maximize)} \\
        g_t &\leftarrow g_t + \lambda x_{t-1} \quad \text{(if weight\_decay } \lambda \ne 0) \\
        v_t &= \rho v_{t-1} + (1 - \rho) g_t^2 \\
        \bar g_t &= \rho \bar g_{t-1} + (1 - \rho) g_t, \quad
            w_t = \max(v_t - \bar g_t^2, 0) \quad \text{(centered; else } w_t = v_t) \\
        b_t &= \mu b_{t-1} + g_t / (\sqrt{w_t} + \epsilon), \quad
            x_t = x_{t-1} - \alpha_t b_t \quad \text{(if momentum } \mu > 0) \\
        x_t &= x_{t-1} - \alpha_t g_t / (\sqrt{w_t} + \epsilon) \quad \text{(otherwise)}
""",
        _PARAMS + _LR.replace("{default}", "1e-2") + r"""
    alpha : float, default: 0.99
        Smoothing constant :math:`\rho \in [0, 1)` of the averages (PyTorch's
        ``alpha``; :math:`\alpha_t` here is the learning rate).""" +
        _EPS.replace("{default}", "1e-8").replace("{where}", r":math:`\sqrt{w_t}`")
        .replace("{scaled}", "") + _WEIGHT_DECAY + r"""
    momentum : float, default: 0.0
        Momentum factor :math:`\mu \in [0, 1)` of the scaled steps.
    centered : bool, default: False
        Divide by the centred second moment (an estimate of the variance of
        the gradient) instead of the uncentred one (fixed at construction).""",
        _SQUARED,
        "``square_avg``, ``grad_avg`` (centered only) and ``momentum_buffer``",
        r"""
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
""", r"""
    References
    ----------
    .. [1] T. Tieleman and G. Hinton, "Lecture 6.5 - RMSProp: Divide the gradient
       by a running average of its recent magnitude", COURSERA: Neural Networks
       for Machine Learning, 2012.
    .. [2] A. Graves, "Generating Sequences With Recurrent Neural Networks",
       arXiv:1308.0850, 2013.
""", r"""
    Examples
    --------
    >>> import numpy as np
    >>> import adamopt
    >>> x = np.array([1.0, -2.0])
    >>> opt = adamopt.RMSprop(x, lr=0.01)
    >>> for _ in range(500):
    ...     _ = opt.step(2 * x)          # gradient of sum(x**2)
    >>> bool(np.all(np.abs(x) < 0.05))
    True
""")

    _algorithm = "rmsprop"
    _ALGO = ALGORITHMS["rmsprop"]
    _SAVED_HYPERPARAMETERS = ("lr", "alpha", "eps", "weight_decay", "momentum", "centered",
                              "maximize")
    _FIXED = ("centered",)
    _STATE_ARRAYS: ClassVar[dict] = {"square_avg": ("_a", "nonnegative", None),
                                     "grad_avg": ("_b", "finite", "centered"),
                                     "momentum_buffer": ("_c", "finite", None)}
    _REPR_NUMBERS = ("alpha", "eps", "weight_decay", "momentum")

    alpha = _Checked("Smoothing constant of the averages, in ``[0, 1)``.")
    eps = _Checked("Term added to the denominator, > 0.")
    momentum = _Checked("Momentum factor, in ``[0, 1)``.")

    def __init__(self, params: npt.NDArray[np.floating], *, lr: float | Schedule = 1e-2,
                 alpha: float = 0.99, eps: float = 1e-8, weight_decay: float = 0.0,
                 momentum: float = 0.0, centered: bool = False, maximize: bool = False,
                 schedule: Schedule | None = None, check_finite: bool = True) -> None:
        self._setup(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                 momentum=momentum, maximize=maximize), schedule,
                    check_finite, fixed={"centered": centered})

    @property
    def centered(self) -> bool:
        """Whether the centred form is used (fixed at construction)."""
        return self._centered

    def _smoothed_gradient(self, grad):
        """Centred: the gradient average, bias-corrected,
        :math:`\\bar g_t / (1 - \\rho^t)` (:math:`\\rho` = ``alpha``); otherwise the
        gradient (see `_Optimizer._smoothed_gradient`)."""
        if not self._centered or self._t == 0:
            return super()._smoothed_gradient(grad)
        return self._b, 1.0 / (1.0 - self._alpha ** self._t), True


# -- Adamax --------------------------------------------------------------------------------

_BETAS = r"""
    beta1, beta2 : float, default: 0.9, 0.999
        Decay rates :math:`\beta_1, \beta_2 \in [0, 1)` of the first moment and
        of the {second}."""


class Adamax(_FamilyOptimizer):
    __doc__ = _doc(
        r"""Adamax: Adam with the infinity norm (Kingma & Ba 2014, section 7.1), in place.

    Each call ``opt.step(grad)`` performs, with the gradient :math:`g_t` of the
    objective at :math:`x_{t-1}`, exactly the steps of ``torch.optim.Adamax``:
""", r"""
    .. math::

        g_t &\leftarrow -g_t \quad \text{(if maximize)} \\
        g_t &\leftarrow g_t + \lambda x_{t-1} \quad \text{(if weight\_decay } \lambda \ne 0) \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
        u_t &= \max(\beta_2 u_{t-1}, |g_t| + \epsilon) \\
        x_t &= x_{t-1} - \frac{\alpha_t}{1 - \beta_1^t} \, m_t / u_t
""",
        _PARAMS + _LR.replace("{default}", "2e-3") + _BETAS.replace(
            "{second}", "infinity norm") +
        _EPS.replace("{default}", "1e-8").replace("{where}", r":math:`|g_t|` inside the max")
        .replace("{scaled}", "") + _WEIGHT_DECAY,
        "", "``m`` and ``u``, the first moment and the infinity norm",
        r"""
    The gradient is never squared, so the check only refuses NaN and
    infinities.

    **Differences from the paper.**  Kingma & Ba's Algorithm 2 takes
    :math:`u_t = \max(\beta_2 u_{t-1}, |g_t|)` with no :math:`\epsilon`, which
    divides 0 by 0 for a coordinate whose gradients have all been zero.
    PyTorch adds :math:`\epsilon` to :math:`|g_t|` inside the max (so
    :math:`u_t \ge \epsilon`), and so does this class; for gradients much larger
    than :math:`\epsilon` the two agree to within :math:`\epsilon / |g|`.
""", r"""
    References
    ----------
    .. [1] D. P. Kingma and J. Ba, "Adam: A Method for Stochastic Optimization",
       ICLR 2015, arXiv:1412.6980, section 7.1.
""", r"""
    Examples
    --------
    >>> import numpy as np
    >>> import adamopt
    >>> x = np.array([1.0, -2.0])
    >>> opt = adamopt.Adamax(x, lr=0.05)
    >>> for _ in range(500):
    ...     _ = opt.step(2 * x)          # gradient of sum(x**2)
    >>> bool(np.all(np.abs(x) < 0.05))
    True
""")

    _algorithm = "adamax"
    _ALGO = ALGORITHMS["adamax"]
    _GROWING = "first moment"
    _SAVED_HYPERPARAMETERS = ("lr", "beta1", "beta2", "eps", "weight_decay", "maximize")
    _STATE_ARRAYS: ClassVar[dict] = {"m": ("_a", "finite", None),
                                     "u": ("_b", "nonnegative", None)}
    _REPR_NUMBERS = ("beta1", "beta2", "eps", "weight_decay")

    beta1 = _Checked("Decay rate of the first moment, in ``[0, 1)``.")
    beta2 = _Checked("Decay rate of the infinity norm, in ``[0, 1)``.")
    eps = _Checked("Term added to ``|g|`` inside the max, > 0.")

    def __init__(self, params: npt.NDArray[np.floating], *, lr: float | Schedule = 2e-3,
                 beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0, maximize: bool = False,
                 schedule: Schedule | None = None, check_finite: bool = True) -> None:
        self._setup(params, dict(lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                                 weight_decay=weight_decay, maximize=maximize), schedule,
                    check_finite)

    def _smoothed_gradient(self, grad):
        """The bias-corrected first moment (see `_Optimizer._smoothed_gradient`)."""
        if self._t == 0:
            return super()._smoothed_gradient(grad)
        return self._a, 1.0 / (1.0 - self._beta1 ** self._t), True


# -- NAdam ---------------------------------------------------------------------------------


def _mu_product(value, t, where):
    """The check of NAdam's saved product of momentum coefficients."""
    x = check.real(value, "mu_product", where)
    if not 0.0 <= x <= 1.0 or (t == 0 and x != 1.0):
        raise ValueError(f"{where} must be in [0, 1] (1 at t = 0). Got {check.show(value)} "
                         f"at t={t} instead.")
    return x


class NAdam(_FamilyOptimizer):
    __doc__ = _doc(
        r"""NAdam: Adam with Nesterov momentum (Dozat 2016), in place.

    Each call ``opt.step(grad)`` performs, with the gradient :math:`g_t` of the
    objective at :math:`x_{t-1}`, exactly the steps of ``torch.optim.NAdam``:
""", r"""
    .. math::

        g_t &\leftarrow -g_t \quad \text{(if maximize)} \\
        g_t &\leftarrow g_t + \lambda x_{t-1} \ \text{(coupled)}, \quad
            x_{t-1} \leftarrow x_{t-1} (1 - \alpha_t \lambda) \ \text{(decoupled)} \\
        \mu_t &= \beta_1 (1 - \tfrac12 \, 0.96^{t \psi}), \qquad
            P_t = \textstyle\prod_{s \le t} \mu_s \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t, \qquad
            v_t = \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        x_t &= x_{t-1} - \alpha_t \left( \frac{(1 - \mu_t) g_t}{1 - P_t}
            + \frac{\mu_{t+1} m_t}{1 - P_t \mu_{t+1}} \right)
            \Big/ \left( \sqrt{v_t / (1 - \beta_2^t)} + \epsilon \right)
""",
        _PARAMS + _LR.replace("{default}", "2e-3") + _BETAS.replace(
            "{second}", "second moment") +
        _EPS.replace("{default}", "1e-8").replace("{where}", r":math:`\sqrt{\hat v_t}`")
        .replace("{scaled}", r" once scaled by :math:`\sqrt{1-\beta_2^t}`") + r"""
    weight_decay : float, default: 0.0
        Weight decay :math:`\lambda \ge 0`: an L2 penalty added to the gradient,
        or with ``decoupled_weight_decay`` applied to the parameters (NAdamW).
    momentum_decay : float, default: 4e-3
        :math:`\psi \ge 0` of the momentum schedule :math:`\mu_t`.
    decoupled_weight_decay : bool, default: False
        Decay the parameters directly, :math:`x \leftarrow x (1 - \alpha_t \lambda)`,
        as AdamW does, instead of adding :math:`\lambda x` to the gradient.""",
        _SQUARED, "``m``, ``v`` and ``mu_product`` (:math:`P_t`, a float64 number)",
        r"""
    :math:`P_t` is kept in float64 whatever the parameters' dtype (PyTorch keeps
    it in its default dtype, float32 unless changed: its float32 runs round the
    step's coefficients a little differently).

    **Differences from the paper.**  Dozat (2016) defines the momentum schedule
    :math:`\mu_t = \beta_1 (1 - \frac12 0.96^{t/250})`: ``momentum_decay`` is
    :math:`\psi = 1/250`, and the update is his Algorithm 2 with PyTorch's
    placement of :math:`\epsilon` (added to the bias-corrected root).  The paper
    has no weight decay: both forms here are PyTorch's.
""", r"""
    References
    ----------
    .. [1] T. Dozat, "Incorporating Nesterov Momentum into Adam", ICLR 2016
       workshop.
    .. [2] I. Loshchilov and F. Hutter, "Decoupled Weight Decay Regularization",
       ICLR 2019, arXiv:1711.05101.
""", r"""
    Examples
    --------
    >>> import numpy as np
    >>> import adamopt
    >>> x = np.array([1.0, -2.0])
    >>> opt = adamopt.NAdam(x, lr=0.05)
    >>> for _ in range(500):
    ...     _ = opt.step(2 * x)          # gradient of sum(x**2)
    >>> bool(np.all(np.abs(x) < 0.05))
    True
""")

    _algorithm = "nadam"
    _ALGO = ALGORITHMS["nadam"]
    _GROWING = "first moment"
    _SAVED_HYPERPARAMETERS = ("lr", "beta1", "beta2", "eps", "weight_decay", "momentum_decay",
                              "decoupled_weight_decay", "maximize")
    _STATE_ARRAYS: ClassVar[dict] = {"m": ("_a", "finite", None),
                                     "v": ("_b", "nonnegative", None)}
    _STATE_SCALARS: ClassVar[dict] = {"mu_product": _mu_product}
    _REPR_NUMBERS = ("beta1", "beta2", "eps", "weight_decay")
    _EPS_RULE = "stay positive when scaled by sqrt(1 - beta2**t) and rounded to"

    beta1 = _Checked("Decay rate of the first moment, in ``[0, 1)``.")
    beta2 = _Checked("Decay rate of the second moment, in ``[0, 1)``.")
    eps = _Checked("Term added to the denominator, > 0.")
    momentum_decay = _Checked("Exponent of the momentum schedule, >= 0.")
    decoupled_weight_decay = _Checked("Whether the weight decay is decoupled (NAdamW).")

    def __init__(self, params: npt.NDArray[np.floating], *, lr: float | Schedule = 2e-3,
                 beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, maximize: bool = False,
                 schedule: Schedule | None = None, check_finite: bool = True) -> None:
        self._setup(params, dict(lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                                 weight_decay=weight_decay, momentum_decay=momentum_decay,
                                 decoupled_weight_decay=decoupled_weight_decay,
                                 maximize=maximize), schedule, check_finite)

    def _coupled_decay(self):
        return self._weight_decay != 0.0 and not self._decoupled_weight_decay

    def _smoothed_gradient(self, grad):
        """The bias-corrected first moment (see `_Optimizer._smoothed_gradient`)."""
        if self._t == 0:
            return super()._smoothed_gradient(grad)
        return self._a, 1.0 / (1.0 - self._beta1 ** self._t), True
