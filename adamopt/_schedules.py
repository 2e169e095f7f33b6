r"""Learning-rate schedules and the normalized weight decay of Loshchilov & Hutter.

A schedule is a small immutable object called with the step number
``t = 1, 2, ...`` (the ``t`` of the step about to be taken) that returns a
float.  The same object works as

* ``lr=``: the absolute learning rate :math:`\alpha_t` of step ``t``, and
* ``schedule=``: a multiplier :math:`\eta_t` of a fixed ``lr``
  (the :math:`\eta_t` of Loshchilov & Hutter, which ``AdamW`` with
  ``decay_scaling="schedule"`` also applies to the weight decay),

in the optimizer classes and in the SciPy methods alike.

Units are optimizer steps.  To express periods in epochs, multiply by the
number of steps per epoch of the minibatch stream:
``CosineWarmRestarts(T_0=10 * batches.batches_per_epoch)``.

Schedules compose: ``a * b`` (or ``0.01 * a``) is their product and
``Join([a, b], boundaries=[n])`` runs ``a`` for the first ``n`` steps, then
``b`` from its own step 1.  They compare equal when their parameters are
equal, pickle, print as the expression that builds them, and are kept in a
SciPy run's ``state`` (a plain callable has to be passed again on resume).
"""

# Over 600 lines: the schedule classes share one storable-config protocol
# (to_config / from_config), kept in one module so that the reader of a
# checkpoint's schedules sees every class; each class is small.
import bisect
import itertools
import math
import numbers
from typing import ClassVar

from . import _validation as check

__all__ = ["Constant", "CosineAnnealing", "CosineWarmRestarts", "Join", "LinearWarmup",
           "NormalizedWeightDecay", "Schedule", "StepDecay"]


def _step_number(t, owner):
    """The step number a schedule is called with: an integer >= 1."""
    if isinstance(t, bool) or not isinstance(t, numbers.Integral):
        raise check._fail(TypeError, "t", owner, "an integer >= 1 (the step number)", t)
    if t < 1:
        raise check._fail(ValueError, "t", owner, "an integer >= 1 (the step number)", t)
    return int(t)


def _positive_int(value, name, owner):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise check._fail(TypeError, name, owner, "an integer >= 1", value)
    if value < 1:
        raise check._fail(ValueError, name, owner, "an integer >= 1", value)
    return int(value)


def _cosine(eta_min, eta_max, t_cur, period):
    """SGDR's annealing (Loshchilov & Hutter 2017, eq. 5), in PyTorch's order of operations."""
    return eta_min + (eta_max - eta_min) * (1 + math.cos(math.pi * t_cur / period)) / 2


class Schedule:
    """Base class of adamopt's schedules: ``schedule(t) -> float`` for ``t = 1, 2, ...``.

    Subclasses store their (validated) constructor arguments under the names
    listed in ``_fields`` and implement ``_value(t)``; this class provides
    immutability, equality, hashing, pickling, the repr and the ``*``
    operator.  Only adamopt's own schedules are kept in a SciPy run's
    ``state``.
    """

    __slots__ = ()
    _fields: tuple = ()
    _defaults: ClassVar[dict] = {}

    def __call__(self, t: int) -> float:
        """The value at step ``t`` (an integer >= 1)."""
        if type(t) is not int or t < 1:
            t = _step_number(t, type(self).__name__)
        return self._value(t)

    def _value(self, t):
        raise NotImplementedError

    def _period(self, t):
        """``(start, length)``: the cosine period that step ``t`` belongs to
        (``start`` steps come before it), or None for a schedule without one."""
        return None

    def _has_period(self):
        return False

    def _storable(self):
        return _builtin(self)

    # -- value semantics -------------------------------------------------------

    def _init(self, **values):
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name, value):
        raise AttributeError(f"{type(self).__name__} is immutable; build a new one.")

    def __delattr__(self, name):
        raise AttributeError(f"{type(self).__name__} is immutable; build a new one.")

    def _args(self):
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self._args() == other._args()

    def __hash__(self):
        return hash((type(self).__name__, self._args()))

    def __reduce__(self):
        return (_rebuild, (type(self), dict(zip(self._fields, self._args(), strict=True))))

    def __repr__(self):
        shown = [f"{name}={getattr(self, name)!r}" for name in self._fields
                 if name not in self._defaults or getattr(self, name) != self._defaults[name]]
        return f"{type(self).__name__}({', '.join(shown)})"

    # -- a JSON-able description (for checkpoint files) --------------------------

    def to_config(self) -> dict:
        """The parameters as a JSON-able dict, rebuilt by ``from_config``.

        Nested schedules appear as ``{"type": class name, "config": {...}}``
        and tuples as lists.  Only adamopt's own schedules have one.
        """
        if not storable(self):
            raise TypeError(f"{self!r} is not built from adamopt's own schedules only; "
                            f"it has no stored form.")
        return {name: _encode(getattr(self, name)) for name in self._fields}

    @classmethod
    def from_config(cls, config: dict) -> "Schedule":
        """Rebuild a schedule from its ``to_config()`` (validated by the constructor).

        A configuration that nests schedules and lists more than
        `MAX_NESTING` deep (a ``Join`` of a ``Join`` of ... 16 deep is 32
        levels) raises `ValueError` instead of being recursed into.
        """
        return cls._from_config(config, 0)

    @classmethod
    def _from_config(cls, config, depth):
        if not isinstance(config, dict) or set(config) != set(cls._fields):
            raise ValueError(f"A {cls.__name__} configuration must be a dict with the keys "
                             f"{list(cls._fields)}. Got {check.show(config)} instead.")
        return _rebuild(cls, {name: _decode(value, depth) for name, value in config.items()})

    def __mul__(self, other):
        if isinstance(other, Schedule):
            return Product(self, other)
        if isinstance(other, numbers.Real) and not isinstance(other, bool):
            return Product(self, Constant(other))
        return NotImplemented

    def __rmul__(self, other):
        if isinstance(other, numbers.Real) and not isinstance(other, bool):
            return Product(Constant(other), self)
        return NotImplemented


def _rebuild(cls, kwargs):
    """Unpickle a schedule: call its constructor again (which validates)."""
    if cls is Product:
        return Product(*kwargs["factors"])
    return cls(**kwargs)


def _encode(value):
    if isinstance(value, Schedule):
        return {"type": type(value).__name__, "config": value.to_config()}
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    return value


#: Deepest nesting of schedules and lists in a stored configuration (each
#: ``Join`` inside a ``Join`` adds two): deeper ones are refused, not recursed into.
MAX_NESTING = 32


def _decode(value, depth):
    if isinstance(value, dict):
        cls = (_BY_NAME.get(value.get("type"))
               if set(value) == {"type", "config"} and isinstance(value["type"], str)
               else None)
        if cls is None:
            raise ValueError(f"Not the stored form of an adamopt schedule: "
                             f"{check.show(value)}.")
        _deeper(depth)
        return cls._from_config(value["config"], depth + 1)
    if isinstance(value, list):
        _deeper(depth)
        return tuple(_decode(item, depth + 1) for item in value)
    return value


def _deeper(depth):
    if depth >= MAX_NESTING:
        raise ValueError(f"A stored schedule may nest schedules and lists at most "
                         f"{MAX_NESTING} deep; this one nests them deeper.")


def storable(value):
    """Whether ``value`` is one of adamopt's own schedules (built from them only),
    which a SciPy run's ``state`` keeps."""
    return isinstance(value, Schedule) and value._storable()


def _builtin(schedule):
    """Whether ``schedule`` is of one of adamopt's own classes (``_BY_NAME``)."""
    return _BY_NAME.get(type(schedule).__name__) is type(schedule)


def register(cls):
    """Add one of adamopt's schedule classes defined in another module
    (``_schedules_decay``, ``_plateau``) to `_BY_NAME`: it is then storable
    and rebuilt by `Schedule.from_config` like the ones here."""
    _BY_NAME[cls.__name__] = cls
    return cls


class Constant(Schedule):
    r"""The same value at every step: :math:`\eta_t = c`.

    Parameters
    ----------
    value : float, default: 1.0
        :math:`c \ge 0`, finite.

    Examples
    --------
    >>> import adamopt
    >>> adamopt.Constant(0.5)(7)
    0.5
    """

    _fields = ("value",)
    __slots__ = _fields
    value: float

    def __init__(self, value: float = 1.0) -> None:
        self._init(value=check.finite_at_least(value, "value", "Constant"))

    def _value(self, t):
        return self.value


class CosineAnnealing(Schedule):
    r"""Cosine annealing from ``eta_max`` to ``eta_min`` over ``T_max`` steps.

    .. math::

        \eta_t = \eta_{min} + \tfrac12 (\eta_{max} - \eta_{min})
                 \left(1 + \cos\frac{\pi \min(t - 1, T_{max})}{T_{max}}\right)

    Step 1 uses :math:`\eta_{max}`; :math:`T_{cur} = t - 1` counts the steps
    already taken, so step ``T_max + 1`` and every later one use
    :math:`\eta_{min}` (the value stays there; PyTorch's closed form would
    climb back).  This is one period of SGDR (Loshchilov & Hutter 2017, eq. 5)
    and matches ``torch.optim.lr_scheduler.CosineAnnealingLR`` stepped once
    per optimizer step, for ``t <= T_max + 1``.

    Parameters
    ----------
    T_max : int
        Length of the annealing, in steps (>= 1).  For ``n`` epochs of a
        minibatch stream use ``n * batches.batches_per_epoch``.
    eta_min : float, default: 0.0
        Final value, ``0 <= eta_min <= eta_max``.
    eta_max : float, default: 1.0
        Initial value.  With the default the schedule is a multiplier
        (``schedule=``); ``CosineAnnealing(T, eta_min=1e-5, eta_max=1e-3)``
        or ``1e-3 * CosineAnnealing(T)`` is an absolute ``lr=``.

    References
    ----------
    .. [1] I. Loshchilov and F. Hutter, "SGDR: Stochastic Gradient Descent with
       Warm Restarts", ICLR 2017, arXiv:1608.03983.

    Examples
    --------
    >>> import adamopt
    >>> s = adamopt.CosineAnnealing(T_max=4)
    >>> [round(s(t), 4) for t in range(1, 7)]
    [1.0, 0.8536, 0.5, 0.1464, 0.0, 0.0]
    """

    _fields = ("T_max", "eta_min", "eta_max")
    __slots__ = _fields
    T_max: int
    eta_min: float
    eta_max: float
    _defaults: ClassVar[dict] = {"eta_min": 0.0, "eta_max": 1.0}

    def __init__(self, T_max: int, eta_min: float = 0.0, eta_max: float = 1.0) -> None:
        owner = type(self).__name__
        T_max = _positive_int(T_max, "T_max", owner)
        eta_min, eta_max = _eta_range(eta_min, eta_max, owner)
        self._init(T_max=T_max, eta_min=eta_min, eta_max=eta_max)

    def _value(self, t):
        return _cosine(self.eta_min, self.eta_max, min(t - 1, self.T_max), self.T_max)

    def _period(self, t):
        return (0, self.T_max)

    def _has_period(self):
        return True


def _eta_range(eta_min, eta_max, owner):
    eta_min = check.finite_at_least(eta_min, "eta_min", owner)
    eta_max = check.finite_at_least(eta_max, "eta_max", owner)
    if eta_min > eta_max:
        raise check._fail(ValueError, "eta_min", owner,
                          f"at most eta_max = {eta_max!r}", eta_min)
    return eta_min, eta_max


class CosineWarmRestarts(Schedule):
    r"""Cosine annealing with warm restarts (SGDR; the schedule of AdamWR).

    The steps are cut into periods of :math:`T_0, T_0 T_{mult}, T_0 T_{mult}^2,
    \ldots` steps.  In period :math:`i`, of length
    :math:`T_i = T_0 T_{mult}^i`, which starts after
    :math:`S_i = T_0 (T_{mult}^i - 1) / (T_{mult} - 1)` steps
    (:math:`i T_0` for :math:`T_{mult} = 1`):

    .. math::

        \eta_t = \eta_{min} + \tfrac12 (\eta_{max} - \eta_{min})
                 \left(1 + \cos\frac{\pi T_{cur}}{T_i}\right),
        \qquad T_{cur} = t - 1 - S_i \in [0, T_i)

    so the restarts (:math:`\eta_t = \eta_{max}`) are the steps
    :math:`t = S_i + 1`: ``1``, ``T_0 + 1``, ``T_0 + T_0 T_mult + 1``, ...,
    and the last step of a period, ``t = S_{i+1}``, is one step short of
    :math:`\eta_{min}`.  This is eq. (5) of Loshchilov & Hutter (2017) with
    :math:`T_{cur}` counted in steps (their per-batch update), and
    ``torch.optim.lr_scheduler.CosineAnnealingWarmRestarts`` stepped once per
    optimizer step.

    Parameters
    ----------
    T_0 : int
        Length of the first period, in steps (>= 1).  For periods in epochs
        use ``T_0 = n * batches.batches_per_epoch``.
    T_mult : int, default: 1
        Growth factor of the periods (>= 1); SGDR uses 1 or 2.
    eta_min, eta_max : float, default: 0.0, 1.0
        The range, ``0 <= eta_min <= eta_max``.

    References
    ----------
    .. [1] I. Loshchilov and F. Hutter, "SGDR: Stochastic Gradient Descent with
       Warm Restarts", ICLR 2017, arXiv:1608.03983.
    .. [2] I. Loshchilov and F. Hutter, "Decoupled Weight Decay Regularization",
       ICLR 2019, arXiv:1711.05101 (AdamWR).

    Examples
    --------
    >>> import adamopt
    >>> s = adamopt.CosineWarmRestarts(T_0=2, T_mult=2)
    >>> [round(s(t), 3) for t in range(1, 9)]
    [1.0, 0.5, 1.0, 0.854, 0.5, 0.146, 1.0, 0.962]
    """

    _fields = ("T_0", "T_mult", "eta_min", "eta_max")
    __slots__ = (*_fields, "_last")     # _last: the period found last, (start, length)
    T_0: int
    T_mult: int
    eta_min: float
    eta_max: float
    _last: tuple[int, int]
    _defaults: ClassVar[dict] = {"T_mult": 1, "eta_min": 0.0, "eta_max": 1.0}

    def __init__(self, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 eta_max: float = 1.0) -> None:
        owner = type(self).__name__
        T_0 = _positive_int(T_0, "T_0", owner)
        T_mult = _positive_int(T_mult, "T_mult", owner)
        eta_min, eta_max = _eta_range(eta_min, eta_max, owner)
        self._init(T_0=T_0, T_mult=T_mult, eta_min=eta_min, eta_max=eta_max, _last=(0, T_0))

    def _period(self, t):
        done, T_0, T_mult = t - 1, self.T_0, self.T_mult
        if T_mult == 1:
            return (done - done % T_0, T_0)
        start, length = self._last
        if start <= done < start + length:     # consecutive steps: mostly the same period
            return self._last
        # First guess in floating point, then exact integer corrections.
        i = int(math.log(done * (T_mult - 1) / T_0 + 1, T_mult))
        start = T_0 * (T_mult**i - 1) // (T_mult - 1)
        while start > done:
            i -= 1
            start -= T_0 * T_mult**i
        while start + T_0 * T_mult**i <= done:
            start += T_0 * T_mult**i
            i += 1
        found = (start, T_0 * T_mult**i)
        object.__setattr__(self, "_last", found)    # a cache, not part of the value
        return found

    def _value(self, t):
        start, length = self._period(t)
        return _cosine(self.eta_min, self.eta_max, t - 1 - start, length)

    def _has_period(self):
        return True


class LinearWarmup(Schedule):
    r"""Linear warm-up: from ``start`` (at step 0) to 1 at step ``warmup_steps``, then 1.

    .. math::

        \eta_t = s + (1 - s) \frac{\min(t, W)}{W}

    The first step already uses :math:`s + (1 - s)/W` (no step is wasted at
    zero).  Multiply it by a decay to warm up into it:
    ``LinearWarmup(500) * CosineAnnealing(10_000)``; or
    ``Join([LinearWarmup(500), CosineAnnealing(9_500)], boundaries=[500])`` to
    start the decay after the warm-up.  (PyTorch's
    ``LinearLR(start_factor=s, total_iters=W)`` uses ``t - 1`` in place of
    ``t``: its first step is at ``s``.)

    Parameters
    ----------
    warmup_steps : int
        :math:`W \ge 1`, the first step at full value.
    start : float, default: 0.0
        :math:`s \in [0, 1]`, the value the line starts from at step 0.

    References
    ----------
    .. [1] P. Goyal et al., "Accurate, Large Minibatch SGD: Training ImageNet in
       1 Hour", 2017, arXiv:1706.02677 (gradual warm-up).

    Examples
    --------
    >>> import adamopt
    >>> [adamopt.LinearWarmup(4)(t) for t in range(1, 7)]
    [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    """

    _fields = ("warmup_steps", "start")
    __slots__ = _fields
    warmup_steps: int
    start: float
    _defaults: ClassVar[dict] = {"start": 0.0}

    def __init__(self, warmup_steps: int, start: float = 0.0) -> None:
        owner = type(self).__name__
        warmup_steps = _positive_int(warmup_steps, "warmup_steps", owner)
        start = check.real(start, "start", owner)
        if not 0.0 <= start <= 1.0:
            raise check._fail(ValueError, "start", owner, "in [0, 1]", start)
        self._init(warmup_steps=warmup_steps, start=start)

    def _value(self, t):
        if t >= self.warmup_steps:
            return 1.0
        return self.start + (1.0 - self.start) * t / self.warmup_steps


class StepDecay(Schedule):
    r"""Step decay: multiply by ``gamma`` every ``step_size`` steps.

    .. math::

        \eta_t = \gamma^{\lfloor (t - 1) / \text{step\_size} \rfloor}

    so steps ``1 .. step_size`` use 1, the next ``step_size`` steps
    :math:`\gamma`, and so on (``torch.optim.lr_scheduler.StepLR`` stepped once
    per optimizer step).

    Parameters
    ----------
    step_size : int
        Steps between decays (>= 1).
    gamma : float, default: 0.1
        Factor, in ``(0, 1]``.

    Examples
    --------
    >>> import adamopt
    >>> [adamopt.StepDecay(2, gamma=0.5)(t) for t in range(1, 7)]
    [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    """

    _fields = ("step_size", "gamma")
    __slots__ = _fields
    step_size: int
    gamma: float
    _defaults: ClassVar[dict] = {"gamma": 0.1}

    def __init__(self, step_size: int, gamma: float = 0.1) -> None:
        owner = type(self).__name__
        step_size = _positive_int(step_size, "step_size", owner)
        gamma = check.real(gamma, "gamma", owner)
        if not 0.0 < gamma <= 1.0:
            raise check._fail(ValueError, "gamma", owner, "in (0, 1]", gamma)
        self._init(step_size=step_size, gamma=gamma)

    def _value(self, t):
        return self.gamma ** ((t - 1) // self.step_size)


class Product(Schedule):
    r"""The product of schedules: :math:`\eta_t = \prod_k \eta^{(k)}_t`.

    Built by ``a * b`` (``0.01 * a`` multiplies by a `Constant`); nested
    products are flattened.  For example ``LinearWarmup(100) *
    CosineAnnealing(1000)`` warms up into a cosine decay, and
    ``1e-3 * CosineWarmRestarts(500)`` is an absolute learning rate.

    Parameters
    ----------
    *factors : Schedule
        Two or more of adamopt's schedules (numbers are wrapped in `Constant`).
    """

    _fields = ("factors",)
    __slots__ = _fields
    factors: tuple[Schedule, ...]

    def __init__(self, *factors: "Schedule | float") -> None:
        flat: list[Schedule] = []
        for k, factor in enumerate(factors):
            if isinstance(factor, numbers.Real) and not isinstance(factor, bool):
                factor = Constant(factor)
            if not isinstance(factor, Schedule):
                raise check._fail(TypeError, f"factors[{k}]", "Product",
                                  "an adamopt schedule or a number", factor)
            flat.extend(factor.factors if isinstance(factor, Product) else (factor,))
        if len(flat) < 2:
            raise ValueError(f"A Product needs at least two factors. Got {len(flat)}.")
        self._init(factors=tuple(flat))

    def _value(self, t):
        factors = self.factors
        value = factors[0]._value(t)
        for factor in factors[1:]:
            value *= factor._value(t)
        return value

    def _period(self, t):
        for factor in self.factors:
            if factor._has_period():
                return factor._period(t)
        return None

    def _has_period(self):
        return any(factor._has_period() for factor in self.factors)

    def _storable(self):
        return all(storable(factor) for factor in self.factors)

    def __reduce__(self):
        return (Product, self.factors)

    def __repr__(self):
        return " * ".join(repr(f.value) if type(f) is Constant else repr(f)
                          for f in self.factors)


class Join(Schedule):
    r"""Schedules run one after the other, each restarted at its boundary.

    With boundaries :math:`b_1 < b_2 < \ldots` (and :math:`b_0 = 0`), step
    ``t`` with :math:`b_{k} < t \le b_{k+1}` takes the value of
    ``schedules[k]`` at its own step :math:`t - b_k`.

    Parameters
    ----------
    schedules : sequence of Schedule
        Two or more of adamopt's schedules.
    boundaries : sequence of int
        ``len(schedules) - 1`` strictly increasing step counts (>= 1): the
        last step of each schedule but the last.

    Examples
    --------
    >>> import adamopt
    >>> s = adamopt.Join([adamopt.LinearWarmup(2), adamopt.CosineAnnealing(2)],
    ...                  boundaries=[2])
    >>> [s(t) for t in range(1, 6)]
    [0.5, 1.0, 1.0, 0.5, 0.0]
    """

    _fields = ("schedules", "boundaries")
    __slots__ = _fields
    schedules: tuple[Schedule, ...]
    boundaries: tuple[int, ...]

    def __init__(self, schedules, boundaries) -> None:
        owner = type(self).__name__
        try:
            schedules = tuple(schedules)
            boundaries = tuple(boundaries)
        except TypeError:
            raise TypeError("The 'schedules' and 'boundaries' parameters of Join must be "
                            "sequences.") from None
        for k, schedule in enumerate(schedules):
            if not isinstance(schedule, Schedule):
                raise check._fail(TypeError, f"schedules[{k}]", owner, "an adamopt schedule",
                                  schedule)
        if len(schedules) < 2:
            raise check._fail(ValueError, "schedules", owner, "two or more schedules",
                              schedules)
        boundaries = tuple(_positive_int(b, f"boundaries[{k}]", owner)
                           for k, b in enumerate(boundaries))
        if len(boundaries) != len(schedules) - 1:
            raise ValueError(
                f"The 'boundaries' parameter of {owner} must hold one step count fewer than "
                f"'schedules' ({len(schedules) - 1}). Got {len(boundaries)} instead."
            )
        if any(a >= b for a, b in itertools.pairwise(boundaries)):
            raise check._fail(ValueError, "boundaries", owner, "strictly increasing",
                              boundaries)
        self._init(schedules=schedules, boundaries=boundaries)

    def _locate(self, t):
        k = bisect.bisect_left(self.boundaries, t)
        return k, (self.boundaries[k - 1] if k else 0)

    def _value(self, t):
        k, offset = self._locate(t)
        return self.schedules[k]._value(t - offset)

    def _period(self, t):
        k, offset = self._locate(t)
        inner = self.schedules[k]._period(t - offset)
        return None if inner is None else (inner[0] + offset, inner[1])

    def _has_period(self):
        return all(schedule._has_period() for schedule in self.schedules)

    def _storable(self):
        return all(storable(schedule) for schedule in self.schedules)


class NormalizedWeightDecay(Schedule):
    r"""The normalized weight decay of Loshchilov & Hutter (2019), per step.

    .. math::

        \lambda_t = \lambda_{norm} \sqrt{\frac{b}{B\, T}}

    with :math:`b` the batch size, :math:`B` the number of training points and
    :math:`T` the number of epochs of the run, or, with warm restarts, of the
    current period :math:`T_i` (so :math:`\lambda` changes at each restart).
    Normalizing aims to make one :math:`\lambda_{norm}` good across batch
    sizes and run lengths (the paper's motivation: the best raw
    :math:`\lambda` shrinks as runs get longer).

    Use it as the ``weight_decay`` of `adamopt.AdamW` (or the `adamopt.adamw`
    method).  The paper's AdamWR also scales the decay by the schedule
    multiplier :math:`\eta_t` and not by the learning rate,
    :math:`x_t = x_{t-1} - \eta_t (\alpha \hat m_t / (\sqrt{\hat v_t} + \epsilon)
    + \lambda_t x_{t-1})`::

        sched = adamopt.CosineWarmRestarts(T_0=10 * batches.batches_per_epoch, T_mult=2)
        opt = adamopt.AdamW(x, lr=1e-3, schedule=sched, decay_scaling="schedule",
                            weight_decay=adamopt.NormalizedWeightDecay(
                                0.05, batches=batches, schedule=sched))

    Parameters
    ----------
    lambda_norm : float
        :math:`\lambda_{norm} \ge 0`.
    batches : MinibatchStream, optional
        The stream of `adamopt.minibatches` the run draws from; gives
        ``batch_size``, ``n_samples`` and ``batches_per_epoch`` (it is not
        kept).  Otherwise give ``batch_size`` and ``n_samples``.
    batch_size, n_samples : int, optional
        :math:`b` and :math:`B`, ``1 <= b <= B``.
    batches_per_epoch : int, optional
        Steps per epoch; default ``ceil(n_samples / batch_size)`` (or the
        stream's).  Converts the schedule's periods from steps to epochs.
    epochs : float, optional
        :math:`T`, the length of the run in epochs, for a run without
        restarts (:math:`\lambda` is then constant).
    schedule : Schedule, optional
        Instead of ``epochs``: the schedule whose periods give :math:`T`, in
        steps divided by ``batches_per_epoch``: a `CosineWarmRestarts` (period
        :math:`T_i`), a `CosineAnnealing` (its ``T_max``), a product with one
        of these (for example ``LinearWarmup(w) * CosineWarmRestarts(T_0)``),
        or a `Join` of such schedules.

    References
    ----------
    .. [1] I. Loshchilov and F. Hutter, "Decoupled Weight Decay Regularization",
       ICLR 2019, arXiv:1711.05101 (section 3, normalized weight decay).

    Examples
    --------
    >>> import adamopt
    >>> restarts = adamopt.CosineWarmRestarts(T_0=100, T_mult=2)   # 100 steps = 1 epoch
    >>> wd = adamopt.NormalizedWeightDecay(0.05, batch_size=10, n_samples=1000,
    ...                                    schedule=restarts)
    >>> round(wd(1), 6), round(wd(101), 6)      # T = 1 epoch, then T = 2 epochs
    (0.005, 0.003536)
    """

    _fields = ("lambda_norm", "batch_size", "n_samples", "batches_per_epoch", "epochs",
               "schedule")
    __slots__ = _fields
    lambda_norm: float
    batch_size: int
    n_samples: int
    batches_per_epoch: int
    epochs: float | None
    schedule: Schedule | None
    _defaults: ClassVar[dict] = {"epochs": None, "schedule": None}

    def __init__(self, lambda_norm: float, *, batches=None, batch_size: int | None = None,
                 n_samples: int | None = None, batches_per_epoch: int | None = None,
                 epochs: float | None = None, schedule: Schedule | None = None) -> None:
        owner = type(self).__name__
        lambda_norm = check.finite_at_least(lambda_norm, "lambda_norm", owner)
        if batches is not None:
            if batch_size is not None or n_samples is not None:
                raise TypeError(f"{owner} takes either 'batches' or 'batch_size' and "
                                f"'n_samples', not both.")
            try:
                batch_size, n_samples = batches.batch_size, batches.n_samples
                if batches_per_epoch is None:
                    batches_per_epoch = batches.batches_per_epoch
            except AttributeError:
                raise check._fail(TypeError, "batches", owner,
                                  "a stream from adamopt.minibatches", batches) from None
        elif batch_size is None or n_samples is None:
            raise TypeError(f"{owner} needs 'batches' (an adamopt.minibatches stream) or "
                            f"both 'batch_size' and 'n_samples'.")
        batch_size = _positive_int(batch_size, "batch_size", owner)
        n_samples = _positive_int(n_samples, "n_samples", owner)
        if batch_size > n_samples:
            raise check._fail(ValueError, "batch_size", owner,
                              f"at most n_samples = {n_samples}", batch_size)
        if batches_per_epoch is None:
            batches_per_epoch = -(-n_samples // batch_size)
        batches_per_epoch = _positive_int(batches_per_epoch, "batches_per_epoch", owner)
        if (epochs is None) == (schedule is None):
            raise TypeError(f"{owner} needs exactly one of 'epochs' (a run without restarts) "
                            f"and 'schedule' (whose periods give T).")
        if epochs is not None:
            epochs = check.positive_finite(epochs, "epochs", owner)
        elif not (isinstance(schedule, Schedule) and schedule._has_period()):
            raise check._fail(
                TypeError, "schedule", owner,
                "a CosineWarmRestarts or CosineAnnealing, a product with one, or a Join "
                "of such schedules "
                "(give 'epochs' for a schedule without periods)", schedule)
        self._init(lambda_norm=lambda_norm, batch_size=batch_size, n_samples=n_samples,
                   batches_per_epoch=batches_per_epoch, epochs=epochs, schedule=schedule)

    def _value(self, t):
        if self.epochs is not None:
            T = self.epochs
        else:
            T = self.schedule._period(t)[1] / self.batches_per_epoch
        return self.lambda_norm * math.sqrt(self.batch_size / (self.n_samples * T))

    def _storable(self):
        return _builtin(self) and (self.schedule is None or storable(self.schedule))


#: adamopt's schedules by class name (for `Schedule.from_config`).
_BY_NAME = {cls.__name__: cls for cls in (Constant, CosineAnnealing, CosineWarmRestarts,
                                          LinearWarmup, StepDecay, Product, Join,
                                          NormalizedWeightDecay)}

# The schedules of the other modules register themselves (imported last: they
# build on the base class above).
from . import _plateau, _schedules_decay  # noqa: E402, F401
