r"""Reduce the learning rate when a monitored value stops improving
(``torch.optim.lr_scheduler.ReduceLROnPlateau``), as an adamopt schedule.

Unlike the other schedules, `ReduceOnPlateau` has a state that the reports
``step(value)`` change (the best value so far, the bad reports in a row,
the cooldown, the current value); its value at step ``t`` is the current
value, whatever ``t``.  The state is part of its parameters: it is compared
by ``==``, kept by `pickle` and ``to_config`` (so a SciPy run's ``state``
and checkpoints resume it bitwise) and given back by ``state_dict()``.

In a class loop the user reports (``sched.step(val_loss)``, once per epoch
as with PyTorch); in the SciPy methods the run reports its smoothed
objective ``fun_smoothed`` itself (`report`), once per epoch of ``batches``
(every ``batches.batches_per_epoch`` iterations), or every iteration
without ``batches``.  A run drives its own copy (`own_copies`): the schedule
given in the options is left as it was, and the result's ``state`` holds the
copy as the run left it.
"""

import copy
import math
import numbers
from typing import Any, ClassVar

from . import _validation as check
from ._schedules import Join, Product, Schedule, register

__all__ = ["ReduceOnPlateau"]

#: The state entries, in order (PyTorch's names, and the current value).
STATE_KEYS = ("value", "best", "num_bad_epochs", "cooldown_counter", "last_epoch")


def _count(value, name, owner):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise check._fail(TypeError if not isinstance(value, numbers.Integral)
                          or isinstance(value, bool) else ValueError,
                          name, owner, "an integer >= 0", value)
    return int(value)


@register
class ReduceOnPlateau(Schedule):
    r"""Multiply the value by ``factor`` when the reported values stop improving.

    Each report ``step(v)`` compares :math:`v` with the best so far
    :math:`b`: it is better when :math:`v < b (1 - \tau)` (``mode="min"``,
    ``threshold_mode="rel"``), :math:`v < b - \tau` (``"abs"``), or
    :math:`v > b (1 + \tau)`, :math:`v > b + \tau` with ``mode="max"``.
    After more than ``patience`` reports in a row that are not better, the
    value :math:`\eta` becomes

    .. math::

        \eta \leftarrow \max(\gamma \eta, \eta_{min})
        \quad \text{if the decrease exceeds } \epsilon

    and ``cooldown`` reports are then ignored.  These are the rules of
    ``torch.optim.lr_scheduler.ReduceLROnPlateau`` (mode, factor, patience,
    threshold, threshold_mode, cooldown, min_lr, eps), report for report.
    The schedule's value at every step is the current :math:`\eta`.

    As ``schedule=`` (the default ``value=1.0``) it is a multiplier of
    ``lr``, and ``min_value`` and ``eps`` are in its units (PyTorch's
    ``min_lr / lr`` and ``eps / lr``); as ``lr=`` give ``value=`` the initial
    learning rate, and then ``min_value`` is PyTorch's ``min_lr``.  It
    composes (``LinearWarmup(100) * ReduceOnPlateau()``).

    Parameters
    ----------
    value : float, default: 1.0
        The value before any reduction, >= 0.
    mode : {"min", "max"}, default: "min"
        Whether the reported quantity should decrease (a loss) or increase.
    factor : float, default: 0.1
        :math:`\gamma \in (0, 1)`.
    patience : int, default: 10
        Reports without improvement tolerated before a reduction (>= 0).
    threshold : float, default: 1e-4
        :math:`\tau \ge 0`, the improvement that counts.
    threshold_mode : {"rel", "abs"}, default: "rel"
        Relative or absolute :math:`\tau`.
    cooldown : int, default: 0
        Reports ignored after a reduction (>= 0).
    min_value : float, default: 0.0
        :math:`\eta_{min} \ge 0`, the floor (PyTorch's ``min_lr``).
    eps : float, default: 1e-8
        :math:`\epsilon \ge 0`: smaller decreases are not applied.
    state : dict, optional
        The state to start from, as `state_dict` returns it (`pickle` and
        ``from_config`` pass it); by default the fresh state.

    Attributes
    ----------
    value : float
        The current value.
    best : float
        The best report so far (infinite before any).
    num_bad_epochs, cooldown_counter, last_epoch : int
        Reports not better in a row, reports of cooldown left, and reports
        received (PyTorch's names).

    Notes
    -----
    In a SciPy method the run reports its ``fun_smoothed`` (the running
    average of the objective, see the ``smoothing`` option) once per epoch
    of ``batches`` (every ``batches.batches_per_epoch`` iterations), or at
    every iteration without ``batches``; ``patience`` and ``cooldown``
    count those reports.  The run drives a copy: the result's ``state``
    (``res.state["optimizer"]["schedule"]``) holds it as the run left it,
    and resuming from that ``state`` or a checkpoint continues bitwise.

    Examples
    --------
    >>> import numpy as np
    >>> import adamopt
    >>> x = np.zeros(3)
    >>> sched = adamopt.ReduceOnPlateau(factor=0.5, patience=1)
    >>> opt = adamopt.Adam(x, lr=0.1, schedule=sched)
    >>> for loss in [3.0, 2.0, 2.0, 2.0, 2.0]:      # one report per epoch
    ...     sched.step(loss)
    >>> sched.value
    0.5
    """

    _fields = ("value", "mode", "factor", "patience", "threshold", "threshold_mode",
               "cooldown", "min_value", "eps", "state")
    # (_state: (value, best, num_bad_epochs, cooldown_counter, last_epoch), one
    # tuple replaced whole by each report, so an interrupt never half-updates it)
    __slots__ = ("_initial", "_state", *_fields[1:-1])
    _initial: float
    _state: tuple
    mode: str
    factor: float
    patience: int
    threshold: float
    threshold_mode: str
    cooldown: int
    min_value: float
    eps: float
    _defaults: ClassVar[dict] = {
        "value": 1.0, "mode": "min", "factor": 0.1, "patience": 10, "threshold": 1e-4,
        "threshold_mode": "rel", "cooldown": 0, "min_value": 0.0, "eps": 1e-8}

    # (hash: none, the state changes)
    __hash__ = None     # type: ignore[assignment]

    def __init__(self, value: float = 1.0, *, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_value: float = 0.0, eps: float = 1e-8,
                 state: dict | None = None) -> None:
        owner = type(self).__name__
        value = check.finite_at_least(value, "value", owner)
        factor = check.real(factor, "factor", owner)
        if not 0.0 < factor < 1.0:
            raise check._fail(ValueError, "factor", owner, "in (0, 1)", factor)
        self._init(
            _initial=value, mode=check.choice(mode, "mode", owner, ("min", "max")),
            factor=factor, patience=_count(patience, "patience", owner),
            threshold=check.finite_at_least(threshold, "threshold", owner),
            threshold_mode=check.choice(threshold_mode, "threshold_mode", owner,
                                        ("rel", "abs")),
            cooldown=_count(cooldown, "cooldown", owner),
            min_value=check.finite_at_least(min_value, "min_value", owner),
            eps=check.finite_at_least(eps, "eps", owner))
        self._set_state(self._checked_state(state, owner) if state is not None
                        else (value, self._worse(), 0, 0, 0))

    # -- the state ----------------------------------------------------------------------

    def _worse(self):
        return math.inf if self.mode == "min" else -math.inf

    def _checked_state(self, state, owner):
        rule = f"a dict with the keys {list(STATE_KEYS)}, as state_dict() returns"
        if not isinstance(state, dict) or set(state) != set(STATE_KEYS):
            raise check._fail(TypeError if not isinstance(state, dict) else ValueError,
                              "state", owner, rule, state)
        current = check.finite_at_least(state["value"], "state['value']", owner)
        best = state["best"]
        if best is None:        # (the stored form of "no report yet": JSON has no inf)
            best = self._worse()
        best = check.real(best, "state['best']", owner)
        if math.isnan(best):
            raise check._fail(ValueError, "state['best']", owner, "a number, not NaN", best)
        return (current, best,
                _count(state["num_bad_epochs"], "state['num_bad_epochs']", owner),
                _count(state["cooldown_counter"], "state['cooldown_counter']", owner),
                _count(state["last_epoch"], "state['last_epoch']", owner))

    def _set_state(self, values):
        object.__setattr__(self, "_state", tuple(values))

    @property
    def state(self) -> dict:
        """The state as a plain dict (``best`` None before any report)."""
        return self.state_dict()

    def state_dict(self) -> dict[str, Any]:
        """The state (PyTorch's scheduler method): ``value``, ``best`` (None
        before any report), ``num_bad_epochs``, ``cooldown_counter``,
        ``last_epoch``; JSON-able."""
        current, best, bad, cooldown, epoch = self._state
        return {"value": current, "best": None if best == self._worse() else best,
                "num_bad_epochs": bad, "cooldown_counter": cooldown, "last_epoch": epoch}

    def load_state_dict(self, state: dict) -> None:
        """Restore a state from `state_dict` (checked first: a bad one
        raises with nothing changed)."""
        self._set_state(self._checked_state(state, f"{type(self).__name__}.load_state_dict"))

    @property
    def best(self) -> float:
        return self._state[1]

    @property
    def num_bad_epochs(self) -> int:
        return self._state[2]

    @property
    def cooldown_counter(self) -> int:
        return self._state[3]

    @property
    def last_epoch(self) -> int:
        return self._state[4]

    @property
    def value(self) -> float:
        """The current value (the initial one is ``to_config()["value"]``)."""
        return self._state[0]

    # -- the reports --------------------------------------------------------------------

    def _better(self, a, best):
        tau = self.threshold
        if self.mode == "min":
            return a < (best * (1.0 - tau) if self.threshold_mode == "rel" else best - tau)
        return a > (best * (tau + 1.0) if self.threshold_mode == "rel" else best + tau)

    def step(self, metric: float) -> None:
        """Report a value of the monitored quantity (PyTorch's
        ``scheduler.step(metrics)``); NaN counts as not better."""
        value = check.real(metric, "metric", f"{type(self).__name__}.step")
        current, best, bad, cooldown, epoch = self._state
        epoch += 1
        if self._better(value, best):
            best, bad = value, 0
        else:
            bad += 1
        if cooldown > 0:
            cooldown -= 1
            bad = 0
        if bad > self.patience:
            new = max(current * self.factor, self.min_value)
            if current - new > self.eps:
                current = new
            cooldown, bad = self.cooldown, 0
        self._set_state((current, best, bad, cooldown, epoch))

    def _value(self, t):
        return self._state[0]

    # -- value semantics ----------------------------------------------------------------

    def _args(self):
        return (self._initial, *(getattr(self, name) for name in self._fields[1:-1]),
                tuple(self.state_dict().items()))

    def to_config(self) -> dict:
        config = {name: getattr(self, name) for name in self._fields[1:-1]}
        return {"value": self._initial, **config,
                "state": self.state_dict()}

    @classmethod
    def _from_config(cls, config, depth):
        # (the state is a plain dict, not a nested schedule: no decoding)
        if not isinstance(config, dict) or set(config) != set(cls._fields):
            raise ValueError(f"A {cls.__name__} configuration must be a dict with the keys "
                             f"{list(cls._fields)}. Got {check.show(config)} instead.")
        return cls(**config)

    def __reduce__(self):
        return (_rebuild_plateau, (self.to_config(),))

    def __repr__(self):
        config = self.to_config()
        shown = [f"{k}={v!r}" for k, v in config.items()
                 if k != "state" and v != self._defaults[k]]
        if self.last_epoch:
            shown.append(f"state={config['state']!r}")
        return f"{type(self).__name__}({', '.join(shown)})"


def _rebuild_plateau(config):
    return ReduceOnPlateau(**config)


# -- the SciPy runs ----------------------------------------------------------------------


def find(value) -> list:
    """The `ReduceOnPlateau` schedules in ``value`` (a schedule, possibly a
    product or a `Join` of them), in order."""
    if isinstance(value, ReduceOnPlateau):
        return [value]
    if isinstance(value, Product):
        return [p for factor in value.factors for p in find(factor)]
    if isinstance(value, Join):
        return [p for schedule in value.schedules for p in find(schedule)]
    return []


def own_copies(kwargs: dict, names) -> dict:
    """``kwargs`` with every option of ``names`` that holds a
    `ReduceOnPlateau` replaced by a copy (the run's own, which it reports to)."""
    out = dict(kwargs)
    for name in names:
        if find(out.get(name)):
            out[name] = copy.deepcopy(out[name])
    return out


def reports(kwargs: dict, names, batches) -> tuple:
    """``(schedules, every)``: the `ReduceOnPlateau` schedules a run reports
    its smoothed objective to, and every how many iterations (an epoch of
    ``batches``, else 1)."""
    found = [p for name in names for p in find(kwargs.get(name))]
    every = getattr(batches, "batches_per_epoch", None) if batches is not None else 1
    if not isinstance(every, numbers.Integral) or every < 1:
        every = 1
    return tuple(found), int(every)
