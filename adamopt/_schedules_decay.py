r"""The decay schedules users port from ``torch.optim.lr_scheduler``.

Multi-step, exponential and polynomial decay and the one-cycle policy (with
its momentum cycle), as closed forms of the step number ``t = 1, 2, ...``:
the value of step ``t`` is what PyTorch's scheduler gives after ``t - 1``
calls of ``scheduler.step()`` (one per optimizer step).  They share the
`adamopt._schedules.Schedule` protocol (immutable, comparable, picklable,
``to_config``/``from_config``, storable in a SciPy run's ``state`` and its
checkpoints) and compose with the other schedules (``a * b``, `Join`).
"""

import bisect
import itertools
import math
from typing import ClassVar

from . import _validation as check
from ._schedules import Schedule, _positive_int, register

__all__ = ["ExponentialDecay", "MultiStepDecay", "OneCycle", "OneCycleMomentum",
           "PolynomialDecay"]


def _decay_factor(gamma, owner):
    gamma = check.real(gamma, "gamma", owner)
    if not 0.0 < gamma <= 1.0:
        raise check._fail(ValueError, "gamma", owner, "in (0, 1]", gamma)
    return gamma


@register
class MultiStepDecay(Schedule):
    r"""Multi-step decay: multiply by ``gamma`` at each milestone.

    .. math::

        \eta_t = \gamma^{\,|\{k : m_k \le t - 1\}|}

    so steps ``1 .. m_1`` use 1, steps ``m_1 + 1 .. m_2`` use :math:`\gamma`,
    and so on: the milestones :math:`m_k` count the steps already taken, as
    the epochs of ``torch.optim.lr_scheduler.MultiStepLR(milestones, gamma)``
    do when it is stepped once per optimizer step.

    Parameters
    ----------
    milestones : sequence of int
        Strictly increasing step counts (>= 1): after ``m_k`` steps the value
        is multiplied by ``gamma``.  For milestones in epochs multiply them by
        ``batches.batches_per_epoch``.
    gamma : float, default: 0.1
        Factor, in ``(0, 1]``.

    Examples
    --------
    >>> import adamopt
    >>> s = adamopt.MultiStepDecay([2, 4], gamma=0.5)
    >>> [s(t) for t in range(1, 7)]
    [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """

    _fields = ("milestones", "gamma")
    __slots__ = _fields
    milestones: tuple[int, ...]
    gamma: float
    _defaults: ClassVar[dict] = {"gamma": 0.1}

    def __init__(self, milestones, gamma: float = 0.1) -> None:
        owner = type(self).__name__
        if isinstance(milestones, (str, bytes)) or not hasattr(milestones, "__iter__"):
            raise check._fail(TypeError, "milestones", owner,
                              "a sequence of increasing integers >= 1", milestones)
        milestones = tuple(_positive_int(m, f"milestones[{k}]", owner)
                           for k, m in enumerate(milestones))
        if not milestones:
            raise check._fail(ValueError, "milestones", owner, "a non-empty sequence",
                              milestones)
        if any(a >= b for a, b in itertools.pairwise(milestones)):
            raise check._fail(ValueError, "milestones", owner, "strictly increasing",
                              milestones)
        self._init(milestones=milestones, gamma=_decay_factor(gamma, owner))

    def _value(self, t):
        return self.gamma ** bisect.bisect_right(self.milestones, t - 1)


@register
class ExponentialDecay(Schedule):
    r"""Exponential decay: multiply by ``gamma`` at every step.

    .. math::

        \eta_t = \gamma^{\,t - 1}

    (step 1 uses 1), as ``torch.optim.lr_scheduler.ExponentialLR(gamma)``
    stepped once per optimizer step.  PyTorch multiplies the previous rate by
    :math:`\gamma` each step; the closed form here agrees with its products
    to a few units in the last place.

    Parameters
    ----------
    gamma : float
        Factor per step, in ``(0, 1]``; ``gamma = 0.5 ** (1 / h)`` halves the
        value every ``h`` steps.

    Examples
    --------
    >>> import adamopt
    >>> [adamopt.ExponentialDecay(0.5)(t) for t in range(1, 5)]
    [1.0, 0.5, 0.25, 0.125]
    """

    _fields = ("gamma",)
    __slots__ = _fields
    gamma: float

    def __init__(self, gamma: float) -> None:
        self._init(gamma=_decay_factor(gamma, type(self).__name__))

    def _value(self, t):
        return self.gamma ** (t - 1)


@register
class PolynomialDecay(Schedule):
    r"""Polynomial decay to zero over ``total_iters`` steps.

    .. math::

        \eta_t = \left(1 - \frac{\min(t - 1, T)}{T}\right)^{p}

    so step 1 uses 1 and step ``T + 1`` and every later one use 0 (1 for
    ``power = 0``), as ``torch.optim.lr_scheduler.PolynomialLR(total_iters=T,
    power=p)`` stepped once per optimizer step (PyTorch multiplies by the
    ratio of successive values; this closed form agrees with it to a few
    units in the last place).  ``power=1`` is a linear decay.

    Parameters
    ----------
    total_iters : int, default: 5
        :math:`T \ge 1`, the steps of the decay (PyTorch's default).
    power : float, default: 1.0
        :math:`p \ge 0`, finite.

    Examples
    --------
    >>> import adamopt
    >>> [adamopt.PolynomialDecay(4, power=2.0)(t) for t in range(1, 7)]
    [1.0, 0.5625, 0.25, 0.0625, 0.0, 0.0]
    """

    _fields = ("total_iters", "power")
    __slots__ = _fields
    total_iters: int
    power: float
    _defaults: ClassVar[dict] = {"total_iters": 5, "power": 1.0}

    def __init__(self, total_iters: int = 5, power: float = 1.0) -> None:
        owner = type(self).__name__
        self._init(total_iters=_positive_int(total_iters, "total_iters", owner),
                   power=check.finite_at_least(power, "power", owner))

    def _value(self, t):
        T = self.total_iters
        return (1.0 - min(t - 1, T) / T) ** self.power


def _anneal(strategy, start, end, pct):
    """PyTorch's two annealing functions (its order of operations)."""
    if strategy == "cos":
        return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
    return (end - start) * pct + start


class _Cycle(Schedule):
    """What `OneCycle` and `OneCycleMomentum` share: the phases of the cycle."""

    __slots__ = ()
    total_steps: int
    pct_start: float
    anneal_strategy: str
    three_phase: bool
    _ends: tuple
    _levels: tuple

    def _check_cycle(self, total_steps, pct_start, anneal_strategy, three_phase):
        owner = type(self).__name__
        total_steps = _positive_int(total_steps, "total_steps", owner)
        pct_start = check.real(pct_start, "pct_start", owner)
        if not 0.0 <= pct_start <= 1.0:
            raise check._fail(ValueError, "pct_start", owner, "in [0, 1]", pct_start)
        if float(pct_start * total_steps) - 1 == 0.0:
            raise ValueError(
                f"The 'pct_start' parameter of {owner} times 'total_steps' must not be 1: "
                f"the rising phase would have no length. Got pct_start={pct_start!r} with "
                f"total_steps={total_steps} instead."
            )
        anneal_strategy = check.choice(anneal_strategy, "anneal_strategy", owner,
                                       ("cos", "linear"))
        three_phase = check.boolean(three_phase, "three_phase", owner)
        return dict(total_steps=total_steps, pct_start=pct_start,
                    anneal_strategy=anneal_strategy, three_phase=bool(three_phase))

    def _cycle_ends(self):
        """The last step of each phase (PyTorch's ``end_step``s)."""
        T = self.total_steps
        ends = [float(self.pct_start * T) - 1]
        if self.three_phase:
            ends.append(float(2 * self.pct_start * T) - 2)
        ends.append(T - 1)
        return tuple(ends)

    def _value(self, t):
        """The value of step ``t``: the phase and how far into it, as PyTorch
        finds them at ``last_epoch = t - 1`` (steps after ``total_steps`` stay
        at the end of the cycle), then the annealing between its levels
        (``_levels``, computed once)."""
        step = min(t - 1, self.total_steps - 1)
        ends, start, last = self._ends, 0.0, len(self._ends) - 1
        for i, end in enumerate(ends):
            if step <= end or i == last:
                return _anneal(self.anneal_strategy, *self._levels[i],
                               (step - start) / (end - start))
            start = end
        raise AssertionError("unreachable")     # pragma: no cover


@register
class OneCycle(_Cycle):
    r"""The one-cycle policy (Smith & Topin 2019): up to ``max_lr``, then far below the start.

    With :math:`\alpha_0 = \alpha_{max} / d` (``div_factor``) and
    :math:`\alpha_{min} = \alpha_0 / d_f` (``final_div_factor``), and
    :math:`s = t - 1` the steps already taken, the value rises from
    :math:`\alpha_0` to :math:`\alpha_{max}` over the first
    :math:`p T - 1` steps (``pct_start`` :math:`p`, ``total_steps``
    :math:`T`), then falls to :math:`\alpha_{min}` at step ``T``; with
    ``three_phase`` it falls back to :math:`\alpha_0` over as many steps as it
    rose, then to :math:`\alpha_{min}`.  In each phase from :math:`a` to
    :math:`b`, a fraction :math:`r \in [0, 1]` of the way through,

    .. math::

        \eta = b + \tfrac12 (a - b) (1 + \cos \pi r) \quad (\text{"cos"}),
        \qquad \eta = a + (b - a) r \quad (\text{"linear"})

    This is ``torch.optim.lr_scheduler.OneCycleLR(max_lr, total_steps,
    pct_start, anneal_strategy, div_factor, final_div_factor, three_phase)``
    stepped once per optimizer step, for ``t = 1 .. total_steps``; later steps
    keep the last value (PyTorch raises).  Its ``epochs`` and
    ``steps_per_epoch`` are ``total_steps = epochs * batches.batches_per_epoch``.

    **Momentum cycling.** PyTorch's ``cycle_momentum`` (on by default) also
    cycles the optimizer's ``beta1`` (Adam family) or ``momentum`` (SGD,
    RMSprop) inversely to the rate, between ``max_momentum`` and
    ``base_momentum``.  Here that is the schedule `momentum` (a
    `OneCycleMomentum`), passed as that hyperparameter::

        cycle = adamopt.OneCycle(10_000, max_lr=1e-2)
        opt = adamopt.Adam(x, lr=cycle, beta1=cycle.momentum)     # or SGD(momentum=...)

    Without it the momentum stays fixed (``cycle_momentum=False``).

    Parameters
    ----------
    total_steps : int
        :math:`T \ge 1`, the steps of the cycle.
    max_lr : float, default: 1.0
        :math:`\alpha_{max} \ge 0`.  With the default the schedule is a
        multiplier (``schedule=``, with ``lr`` the peak rate); give the peak
        rate here to use it as ``lr=``.
    pct_start : float, default: 0.3
        :math:`p \in [0, 1]`, the fraction of the cycle spent rising
        (``p T = 1`` is refused: that phase would have no length).
    anneal_strategy : {"cos", "linear"}, default: "cos"
        The shape of each phase.
    div_factor : float, default: 25.0
        :math:`d > 0`: the first value is ``max_lr / div_factor``.
    final_div_factor : float, default: 1e4
        :math:`d_f > 0`: the last value is ``max_lr / (div_factor * final_div_factor)``.
    three_phase : bool, default: False
        The paper's three phases (up, down to the start, down to the minimum)
        instead of fastai's two (PyTorch's default).
    base_momentum, max_momentum : float, default: 0.85, 0.95
        The momentum at the peak of the rate, and at its start and end, each
        in ``[0, 1)`` (used by `momentum` only).

    References
    ----------
    .. [1] L. N. Smith and N. Topin, "Super-Convergence: Very Fast Training of
       Neural Networks Using Large Learning Rates", 2019, arXiv:1708.07120.
    .. [2] L. N. Smith, "A disciplined approach to neural network
       hyper-parameters: Part 1", 2018, arXiv:1803.09820 (momentum cycling).

    Examples
    --------
    >>> import adamopt
    >>> s = adamopt.OneCycle(10, max_lr=1.0, anneal_strategy="linear")
    >>> [round(s(t), 3) for t in (1, 3, 10)]
    [0.04, 1.0, 0.0]
    >>> [round(s.momentum(t), 3) for t in (1, 3, 10)]
    [0.95, 0.85, 0.95]
    """

    _fields = ("total_steps", "max_lr", "pct_start", "anneal_strategy", "div_factor",
               "final_div_factor", "three_phase", "base_momentum", "max_momentum")
    __slots__ = (*_fields, "_ends", "_levels")   # (the phases, computed once)
    max_lr: float
    div_factor: float
    final_div_factor: float
    base_momentum: float
    max_momentum: float
    _defaults: ClassVar[dict] = {
        "max_lr": 1.0, "pct_start": 0.3, "anneal_strategy": "cos", "div_factor": 25.0,
        "final_div_factor": 1e4, "three_phase": False, "base_momentum": 0.85,
        "max_momentum": 0.95}

    def __init__(self, total_steps: int, max_lr: float = 1.0, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False,
                 base_momentum: float = 0.85, max_momentum: float = 0.95) -> None:
        owner = type(self).__name__
        cycle = self._check_cycle(total_steps, pct_start, anneal_strategy, three_phase)
        self._init(**cycle,
                   max_lr=check.finite_at_least(max_lr, "max_lr", owner),
                   div_factor=check.positive_finite(div_factor, "div_factor", owner),
                   final_div_factor=check.positive_finite(final_div_factor,
                                                          "final_div_factor", owner),
                   base_momentum=check.unit_interval(base_momentum, "base_momentum", owner),
                   max_momentum=check.unit_interval(max_momentum, "max_momentum", owner))
        initial = self.max_lr / self.div_factor
        levels = [(initial, self.max_lr)]
        if self.three_phase:
            levels.append((self.max_lr, initial))
            levels.append((initial, initial / self.final_div_factor))
        else:
            levels.append((self.max_lr, initial / self.final_div_factor))
        self._init(_ends=self._cycle_ends(), _levels=tuple(levels))

    @property
    def momentum(self) -> "OneCycleMomentum":
        """The momentum cycle that goes with this one (PyTorch's
        ``cycle_momentum``): pass it as ``beta1=`` or ``momentum=``."""
        return OneCycleMomentum(self.total_steps, pct_start=self.pct_start,
                                anneal_strategy=self.anneal_strategy,
                                three_phase=self.three_phase,
                                base_momentum=self.base_momentum,
                                max_momentum=self.max_momentum)


@register
class OneCycleMomentum(_Cycle):
    r"""The momentum of the one-cycle policy, cycled inversely to its rate.

    From ``max_momentum`` down to ``base_momentum`` while `OneCycle` rises,
    then back to ``max_momentum`` (with ``three_phase``: back up while the
    rate falls to its start, then constant), with the same phases and
    annealing as `OneCycle`; usually built as ``OneCycle(...).momentum``.
    PyTorch's ``OneCycleLR(cycle_momentum=True)`` writes these values into
    the optimizer's ``betas[0]`` (Adam family) or ``momentum`` (SGD); give
    this schedule as ``beta1=`` or ``momentum=`` of any class or SciPy method
    with that hyperparameter.

    Parameters
    ----------
    total_steps : int
        The steps of the cycle (>= 1).
    pct_start, anneal_strategy, three_phase
        As in `OneCycle`.
    base_momentum, max_momentum : float, default: 0.85, 0.95
        Each in ``[0, 1)``.

    References
    ----------
    .. [1] L. N. Smith, "A disciplined approach to neural network
       hyper-parameters: Part 1", 2018, arXiv:1803.09820.

    Examples
    --------
    >>> import adamopt
    >>> m = adamopt.OneCycleMomentum(10, anneal_strategy="linear")
    >>> [round(m(t), 3) for t in (1, 3, 10)]
    [0.95, 0.85, 0.95]
    """

    _fields = ("total_steps", "pct_start", "anneal_strategy", "three_phase",
               "base_momentum", "max_momentum")
    __slots__ = (*_fields, "_ends", "_levels")
    base_momentum: float
    max_momentum: float
    _defaults: ClassVar[dict] = {
        "pct_start": 0.3, "anneal_strategy": "cos", "three_phase": False,
        "base_momentum": 0.85, "max_momentum": 0.95}

    def __init__(self, total_steps: int, pct_start: float = 0.3, anneal_strategy: str = "cos",
                 three_phase: bool = False, base_momentum: float = 0.85,
                 max_momentum: float = 0.95) -> None:
        owner = type(self).__name__
        cycle = self._check_cycle(total_steps, pct_start, anneal_strategy, three_phase)
        self._init(**cycle,
                   base_momentum=check.unit_interval(base_momentum, "base_momentum", owner),
                   max_momentum=check.unit_interval(max_momentum, "max_momentum", owner))
        low, high = self.base_momentum, self.max_momentum
        levels = [(high, low), (low, high)]
        if self.three_phase:
            levels.append((high, high))
        self._init(_ends=self._cycle_ends(), _levels=tuple(levels))

