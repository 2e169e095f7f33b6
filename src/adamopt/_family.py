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
from ._optimizers import _CHECKS, Schedule, _Checked, _Optimizer

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
        weight decay) is finite{square}.  A failed check raises `ValueError`
        and leaves the parameters and the state exactly as they were.  ``False``
        skips the check (one read of the gradient); a NaN then propagates into
        the parameters and the state.
"""

#: What the check of an algorithm that squares the gradient adds.
_SQUARED = (" and small enough that its square cannot overflow (about 1.8e19\n"
            "        for float32 and 1.3e154 for float64)")

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
    strings and NumPy arrays ({state}, the hyperparameters, ``algorithm``
    and ``t``), picklable and `numpy.savez`-able; ``load_state_dict``
    restores them so that a resumed run continues bitwise identically.

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

    weight_decay = _Checked("L2 penalty coefficient, >= 0.")

    def _setup(self, params, hyperparameters, schedule, check_finite, *, fixed=None,
               fill=0.0):
        owner = type(self).__name__
        params = check.params_array(params, owner)
        fixed = {name: _CHECKS[name](value, name, owner) for name, value in (fixed or {}).items()}
        for name, value in hyperparameters.items():
            setattr(self, name, value)
        self.schedule = schedule
        self.check_finite = check_finite
        self._t = 0
        slots = dict.fromkeys(("_a", "_b", "_c"))
        for attribute, _, needs in self._STATE_ARRAYS.values():
            if needs is None or fixed.get(needs):
                slots[attribute] = np.full_like(params, fill) if attribute == "_a" \
                    else np.zeros_like(params)
        self._bind(self._ALGO, params, slots["_a"], slots["_b"], slots["_c"],
                   fixed.get("centered", False))

    def _state_names(self):
        return ", ".join(f"``{key}``" for key in self._state_arrays())


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
    (PyTorch's convention), not :math:`(1-\tau) g_1`.

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
        return self._a, (1.0 - self._momentum) / (1.0 - self._dampening)
