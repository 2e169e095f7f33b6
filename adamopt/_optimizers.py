r"""The machinery every optimizer class shares (`_Optimizer`).

The public classes are built from the algorithm declarations by
``adamopt._derive`` over `_Optimizer` and the compiled
`adamopt._kernels.Core`: they validate their arguments once, allocate the
state and hand the per-step work to the core.
"""

import inspect
import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np

from . import _averaging, _betas
from . import _validation as check
from ._kernels import MAX_STEPS, Core

#: Any callable of the step number t (from 1) -> value: a learning rate, a
#: multiplier or a weight decay (an `adamopt.Schedule` is one; so is a lambda).
StepFunction = Callable[[int], float]


#: Largest step count a state may hold (the compiled core counts in 64 bits
#: and refuses the step that would go past it, so every state it produces loads).
_MAX_STEPS = MAX_STEPS

#: The check of each hyperparameter, by name: ``check(value, name, owner)``.
_CHECKS = {
    "lr": check.finite_at_least,          # as saved in a state dict: a number
    "beta1": check.unit_interval,
    "beta2": check.unit_interval,
    "eps": check.positive_finite,
    "weight_decay": check.finite_at_least,
    "switch_tol": check.positive_finite,     # SWATS
    "maximize": check.boolean,
    "check_finite": check.boolean,
    "decay_scaling": lambda value, name, owner: check.choice(
        value, name, owner, ("lr", "schedule")),
    "amsgrad": check.boolean,
    # The rest of the family (adamopt._algorithms)
    "momentum": check.unit_interval,
    "dampening": check.unit_interval,
    "nesterov": check.boolean,
    "lr_decay": check.finite_at_least,
    "initial_accumulator_value": check.finite_at_least,
    "alpha": check.unit_interval,
    "centered": check.boolean,
    "momentum_decay": check.finite_at_least,
    "decoupled_weight_decay": check.boolean,
    # Prodigy and D-Adaptation (adamopt._algorithms.dadapt)
    "d0": check.positive_finite,
    "d_coef": check.positive_finite,
    "growth_rate": lambda value, name, owner: _dadapt().GROWTH.check(value, name, owner),
    "beta3": lambda value, name, owner: _dadapt().beta3_check(value, name, owner),
    "decouple": check.boolean,
    "use_bias_correction": check.boolean,
    "safeguard_warmup": check.boolean,
    "max_grad_norm": check.optional_positive,
    "max_grad_value": check.optional_positive,
    **_averaging.CHECKS,
}

#: The rule of each scheduled hyperparameter, by class (`_schedule_hyperparameters`).
_SCHEDULED_RULES: dict = {}


def _dadapt():
    from ._algorithms import dadapt
    return dadapt


#: The clipping options (every class's, beside the declared hyperparameters).
_CLIP = ("max_grad_norm", "max_grad_value")


class _Checked:
    """A hyperparameter kept in the compiled core's slot ``_<name>``,
    checked with ``_CHECKS[name]`` on every assignment."""

    def __init__(self, doc, rule=None):
        self.__doc__ = doc
        self.rule = rule

    def __set_name__(self, owner, name):
        self.name, self.slot = name, "_" + name
        if self.rule is None:
            self.rule = _CHECKS[name]

    def __get__(self, obj, objtype=None):
        return self if obj is None else getattr(obj, self.slot)

    def __set__(self, obj, value):
        value = self.rule(value, self.name, type(obj).__name__)
        setattr(obj, self.slot, obj._fit_dtype(self.name, value))
        obj._propagate(self.name)


class _Scheduled(_Checked):
    """A hyperparameter that may also be a callable ``t -> value`` (``beta1``,
    ``momentum``): a number is kept in the core's slot ``_<name>`` (checked
    with ``_CHECKS[name]``), a callable in the core's ``_hyper_fns``, which
    the step evaluates, checks and writes into the slot before each update
    (`_Optimizer._schedule_hyperparameters`; the slot is NaN until then).
    Reading it gives the callable while one is set."""

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        functions = obj._hyper_fns
        if functions is not None and self.name in functions:
            return functions[self.name]
        return getattr(obj, self.slot)

    def __set__(self, obj, value):
        functions = dict(obj._hyper_fns or {})
        if callable(value) and not isinstance(value, (numbers.Number, np.ndarray)):
            functions[self.name] = value
            # NaN until the step writes the value of its t (so no rule
            # judges a number the run never uses).
            setattr(obj, self.slot, math.nan)
        else:
            setattr(obj, self.slot, obj._fit_dtype(self.name, self.rule(
                value, self.name, type(obj).__name__)))
            functions.pop(self.name, None)
        obj._hyper_fns = functions or None
        obj._propagate(self.name)


def _restore(cls, params, kwargs, state):
    """Unpickle an optimizer: rebuild it around ``params`` and load its state."""
    opt = cls(params, **kwargs)
    opt.load_state_dict(state)
    return opt


def _signature_defaults(cls):
    """The keyword-only defaults of ``cls.__init__``: one source of truth."""
    params = inspect.signature(cls.__init__).parameters
    return {name: p.default for name, p in params.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY}


class _Optimizer:
    """The machinery every optimizer class shares, over its compiled core
    (`adamopt._kernels.Core`): hyperparameters checked on assignment, a
    learning rate that is a number or a schedule, the hooks the core calls
    for its error messages, ``state_dict``/``load_state_dict``, pickling and
    the repr.  A subclass describes itself with the class attributes below.
    """

    # What the compiled core provides (for type checkers; see _kernels.pyi).
    _x: np.ndarray
    _t: int
    _lr: float
    _weight_decay: float
    _lr_fn: StepFunction | None
    _weight_decay_fn: StepFunction | None
    _schedule: StepFunction | None

    #: The name saved in a state dict (``"adam"``, ``"sgd"``, ...).
    _algorithm = ""
    #: Hyperparameters saved in a state dict (``lr`` only when it is a number).
    _SAVED_HYPERPARAMETERS: tuple[str, ...] = ()
    #: Options fixed at construction: saved, and a state must agree with them.
    _FIXED: tuple[str, ...] = ()
    #: The state arrays: name -> (core attribute, rule, the fixed option that
    #: makes it exist or None).  Rule "finite" or "nonnegative".
    _STATE_ARRAYS: ClassVar[dict] = {}
    #: Scalars of the state besides ``t``: name -> check(value, t, where).
    _STATE_SCALARS: ClassVar[dict] = {}
    #: State arrays that must be zero at t = 0 (the first step relies on it).
    _ZERO_AT_START: tuple[str, ...] = ()
    #: Hyperparameters the repr always shows after ``lr``.
    _REPR_NUMBERS: tuple[str, ...] = ()
    #: The state array whose growth the overflow guard bounds (its error message).
    _GROWING = "state"
    #: What a usable ``eps`` must do each step (the rule of its error message).
    _EPS_RULE = "stay positive when rounded to"

    #: Whether the class takes a structure of arrays (``adamopt._structure``).
    _STRUCTURES: ClassVar[bool] = True

    #: The parameters' dtype, set by the constructor before any hyperparameter.
    _dtype = None

    def _fit_dtype(self, name, value):
        """Refuse a number the step would round to an infinity in the
        parameters' dtype (the one place that checks it: the constructor
        sets ``_dtype`` first, and every assignment and state load goes
        through the descriptors and setters)."""
        if self._dtype is None:
            return value
        return check.within_dtype(value, name, type(self).__name__, self._dtype)

    # -- hyperparameters: validated on every assignment -------------------------

    @property
    def lr(self) -> "float | StepFunction":
        """Learning rate: a float, or the schedule callable ``t -> lr_t``."""
        return self._lr if self._lr_fn is None else self._lr_fn

    @lr.setter
    def lr(self, value: "float | StepFunction") -> None:
        self._lr_fn, self._lr = self._number_or_function(value, "lr", float("nan"))
        self._propagate("lr")

    def _number_or_function(self, value, name, unset):
        """``(function, number)`` of a hyperparameter that may be a callable
        ``t -> value`` (checked); ``unset`` is the number kept beside one."""
        value = check.number_or_callable(value, name, type(self).__name__)
        return (value, unset) if callable(value) else (None, self._fit_dtype(name, value))

    @property
    def weight_decay(self) -> "float | StepFunction":
        """Weight decay coefficient: a float >= 0, or a callable ``t -> lambda_t``."""
        return self._weight_decay if self._weight_decay_fn is None else self._weight_decay_fn

    @weight_decay.setter
    def weight_decay(self, value: "float | StepFunction") -> None:
        # With a callable, the compiled step sets _weight_decay before each update.
        self._weight_decay_fn, self._weight_decay = self._number_or_function(
            value, "weight_decay", 0.0)
        self._propagate("weight_decay")

    maximize = _Checked("Whether the objective is maximized.")
    check_finite = _Checked("Whether each gradient is checked before it touches the state.")

    @property
    def schedule(self) -> "StepFunction | None":
        """StepFunction multiplier callable ``t -> eta_t``, or None."""
        return self._schedule

    @schedule.setter
    def schedule(self, value: "StepFunction | None") -> None:
        self._schedule = check.optional_callable(value, "schedule", type(self).__name__)
        self._propagate("schedule")

    # -- parameter structures and gradient clipping (adamopt._structure) --------

    @property
    def max_grad_norm(self) -> float | None:
        """Clip the gradient to this global 2-norm (PyTorch's ``clip_grad_norm_``), or None."""
        return _structure().get_clip(self, "max_grad_norm")

    @max_grad_norm.setter
    def max_grad_norm(self, value: float | None) -> None:
        self._set_clip("max_grad_norm", value)

    @property
    def max_grad_value(self) -> float | None:
        """Clamp each gradient element to [-v, v] (``clip_grad_value_``), or None."""
        return _structure().get_clip(self, "max_grad_value")

    @max_grad_value.setter
    def max_grad_value(self, value: float | None) -> None:
        self._set_clip("max_grad_value", value)

    def _set_clip(self, name, value):
        structure = _structure()
        value = check.optional_positive(value, name, type(self).__name__)
        structure.set_clip([self], name, value)
        groups = self.__dict__.get("_param_groups")
        if groups is not None:   # the groups that take the optimizer's value
            segments = self._segments
            for i, (first, stop) in enumerate(segments.groups):
                if name == "max_grad_value" or segments.clip_sets[i] == 0:
                    structure.set_clip(segments.members[first:stop], name, value)
        elif self.max_grad_norm is None and self.max_grad_value is None:
            self._segments = None   # one array, no clipping: the plain step
            self._grad_norm = float("nan")
        elif self._segments is None:
            self._segments = structure.single(self)

    def _propagate(self, name):
        """After the attribute ``name`` was set (and checked): set it in every
        parameter group of a structured optimizer."""
        groups = self.__dict__.get("_param_groups")
        if groups is not None:
            value = getattr(self, name)
            for group in groups:
                group[name] = value

    @property
    def param_groups(self) -> list:
        """The parameter groups (`adamopt._structure.ParamGroup` mappings):
        ``group["params"]`` and every hyperparameter, readable and settable."""
        groups = self.__dict__.get("_param_groups")
        return list(groups) if groups is not None else [_structure().ParamGroup(self, 0)]

    @property
    def grad_norm(self) -> float | None:
        """The 2-norm of the last step's gradient (over every array stepped,
        before clipping), or None when no ``max_grad_norm`` is set."""
        value = self._grad_norm
        return None if value != value else float(value)

    @property
    def params(self) -> Any:
        """The parameters as given (an array, or the structure), updated in place."""
        return self._segments.params if self._structured() else self._x

    def _structured(self):
        return "_param_groups" in self.__dict__

    @property
    def t(self) -> int:
        """Number of steps taken so far."""
        return self._t

    # -- iterate averaging (adamopt._averaging) ------------------------------------------

    _avg_kind: str | None = None
    _avg_decay: float = 0.999       # (_averaging.DEFAULTS)
    _avg_start: int = 0
    #: The averages (one array per array stepped), None until the first use.
    _avg: list | None = None
    #: Whether the core's post stage holds the average (``_post``).
    _avg_posted = False

    @property
    def average(self) -> str | None:
        """The iterate average kept (``"ema"``, ``"polyak"``) or None.  Setting
        it restarts the average at the current parameters."""
        return self._avg_kind

    @average.setter
    def average(self, value: str | None) -> None:
        kind = _averaging.check_kind(value, "average", type(self).__name__)
        if kind is not None and self._own_average() is not None:
            raise ValueError(
                f"The 'average' parameter of {type(self).__name__} must be None: the "
                f"algorithm keeps its own averaged point (opt.averaged). Got {value!r} "
                f"instead.")
        self._avg_kind, self._avg = kind, None
        if self._avg_posted:
            self._post()
        if kind is None:
            self.__dict__.pop("step", None)
        else:   # this instance's step then updates the average (nothing when off)
            self.__dict__["step"] = self._averaging_step

    @property
    def average_decay(self) -> float:
        """The decay of ``average="ema"``, in (0, 1)."""
        return self._avg_decay

    @average_decay.setter
    def average_decay(self, value: float) -> None:
        self._avg_decay = _averaging.check_decay(value, "average_decay", type(self).__name__)

    @property
    def average_start(self) -> int:
        """The first iterate of ``average="polyak"`` (a step count)."""
        return self._avg_start

    @average_start.setter
    def average_start(self, value: int) -> None:
        self._avg_start = _averaging.check_start(value, "average_start", type(self).__name__)

    def _own_average(self):
        """The declaration's ``averaged`` hook (an algorithm that averages its
        own iterates), or None."""
        return getattr(getattr(self, "_DECLARATION", None), "averaged", None)

    def _avg_targets(self):
        """The arrays averaged: the parameters (each array of a structure)."""
        if self._structured():
            return [m._x for m in self._segments.members]
        return [self._x]

    def _avg_arrays(self):
        if self._avg is None:
            self._avg = [x.copy(order="K") for x in self._avg_targets()]
        return self._avg

    def _post(self, lower=None, upper=None, before=None, average=None, out=None, c=1.0,
              step_norm=False):
        # The post stage always carries this optimizer's average (when on and
        # the step is the one-array pass), whatever else the caller sets.
        if average is None and self._avg_kind is not None and self._avg_in_pass():
            average, c = self._avg_arrays()[0], self._post_c
        Core._post(self, lower, upper, before, average, out, c, step_norm)
        self._avg_posted = average is not None

    _post.__doc__ = Core._post.__doc__

    def _avg_in_pass(self):
        return self._segments is None and getattr(self, "_fused_pass", True)

    def _averaging_step(self, grad):
        """One step (the class's ``step``), then the average's update: in the
        step's own pass when it is the one-array pass, else in a NumPy pass."""
        t = self._t + 1
        c = _averaging.weight(self._avg_kind, self._avg_decay, self._avg_start, t)
        arrays = self._avg_arrays()
        if self._avg_in_pass():
            if not self._avg_posted:
                Core._post(self, average=arrays[0], c=c)
                self._avg_posted = True
            self._post_c = c
            return type(self).step(self, grad)
        out = type(self).step(self, grad)
        if self._t == t:
            for a, x in zip(arrays, self._avg_targets(), strict=True):
                _averaging.update(a, x, c)
        return out

    def _averaged_point(self):
        """The averaged parameters (an array, or the structure's arrays in a
        list), or the point the declaration's ``averaged`` hook recovers from
        the state (the schedule-free methods), or None."""
        hook = self._own_average()
        if hook is not None:
            if self._structured():
                return [hook(m) for m in self._segments.members]
            return hook(self)
        if self._avg_kind is None:
            return None
        arrays = self._avg_arrays()
        return arrays if self._structured() else arrays[0]

    @property
    def averaged(self) -> Any:
        """The averaged parameters (``average``), read-only, shaped like
        ``params`` (the same structure for a list or dict), or None when off.
        Before the first step: the initial parameters."""
        point = self._averaged_point()
        if point is None:
            return None
        if not isinstance(point, list):
            return _averaging.readonly(point)
        views = [_averaging.readonly(a) for a in point]
        return _averaging.like(self._segments.params, views)

    def _avg_state(self, copy=True):
        """The averaging entries of a state dict (none when off); the arrays
        themselves, not copies, when not ``copy``."""
        if self._avg_kind is None:
            return {}
        out = {key: getattr(self, key) for key in _averaging.DEFAULTS}
        arrays = [a.copy(order="K") if copy else a for a in self._avg_arrays()]
        out["averaged"] = arrays if self._structured() else arrays[0]
        return out

    def _avg_checked(self, state, owner):
        """Split the averaging entries off ``state``, checked: return (the
        rest, what `_avg_apply` applies)."""
        keys = (*_averaging.DEFAULTS, "averaged")
        mine = {k: state[k] for k in keys if k in state}
        rest = {k: v for k, v in state.items() if k not in keys}
        if not mine:
            return rest, None
        settings = {k: _averaging.CHECKS[k](mine.get(k, getattr(self, k)), k, owner)
                    for k in _averaging.DEFAULTS}
        arrays = None
        if "averaged" in mine:
            if settings["average"] is None:
                raise ValueError(f"The state given to {owner} has an 'averaged' entry "
                                 f"but average=None.")
            given = mine["averaged"]
            given = list(given) if isinstance(given, (list, tuple)) else [given]
            targets = self._avg_targets()
            if len(given) != len(targets):
                raise ValueError(f"The 'averaged' entry of the state given to {owner} "
                                 f"holds {len(given)} arrays; the parameters are "
                                 f"{len(targets)}.")
            arrays = []
            for a, x in zip(given, targets, strict=True):
                if not (isinstance(a, np.ndarray) and a.shape == x.shape
                        and a.dtype == x.dtype and np.isfinite(a).all()):
                    raise ValueError(
                        f"The 'averaged' entry of the state given to {owner} must hold "
                        f"finite arrays of shape {x.shape} and dtype {x.dtype}. Got "
                        f"{check.show(a)} instead.")
                arrays.append(a)
        return rest, (settings, arrays)

    def _avg_apply(self, found):
        if found is None:
            if self._avg_kind is not None:
                self._avg = None     # restarts at the loaded parameters
            return
        settings, arrays = found
        self.average_decay = settings["average_decay"]
        self.average_start = settings["average_start"]
        if settings["average"] != self._avg_kind:
            self.average = settings["average"]
        self._avg = None
        if arrays is not None:
            for a, value in zip(self._avg_arrays(), arrays, strict=True):
                np.copyto(a, value)

    # == The run driver's protocol (adamopt._driven.Driven) ======================
    # Everything `adamopt._minimize` uses of an optimizer class besides the
    # public API (construction, t, step, state_dict, load_state_dict).

    @classmethod
    def _run_defaults(cls):
        """The hyperparameters a run may set (the constructor's keyword-only
        arguments but ``check_finite`` and the spelling ``betas``), with their defaults."""
        return {name: value for name, value in _signature_defaults(cls).items()
                if name not in ("check_finite", _betas.NAME)}

    @classmethod
    def _run_options(cls, options, owner):
        """The options in the constructor's own names: PyTorch's ``betas``
        becomes ``beta1``/``beta2`` (`adamopt._betas`)."""
        if _betas.NAME in options and _betas.applies(cls._SAVED_HYPERPARAMETERS):
            return _betas.split(options, owner, cls._rule)
        return options

    @classmethod
    def _run_check(cls, name, value, owner):
        """Check the hyperparameter ``name`` given to the run ``owner`` (a
        callable ``lr``/``weight_decay``/``schedule`` is checked as it is called)."""
        if name in ("lr", "weight_decay"):
            return check.number_or_callable(value, name, owner)
        if isinstance(inspect.getattr_static(cls, name, None), _Scheduled) and callable(value):
            return value        # (beta1, momentum: checked as the step calls it)
        if name == "schedule":
            return check.optional_callable(value, name, owner)
        return cls._rule(name)(value, name, owner)

    @classmethod
    def _run_group_keys(cls):
        """The hyperparameters a parameter group of a run's ``groups`` option
        may set (the run's but the fixed ones), or None without groups."""
        fixed = cls._run_fixed()
        return tuple(k for k in cls._run_defaults() if k not in fixed)

    @classmethod
    def _rule(cls, name):
        """The check ``rule(value, name, owner)`` of the hyperparameter ``name``."""
        return getattr(inspect.getattr_static(cls, name, None), "rule", None) or _CHECKS[name]

    @classmethod
    def _run_fixed(cls):
        """The options fixed at construction, which a state must agree with."""
        return tuple(cls._FIXED)

    @classmethod
    def _run_check_settings(cls, hyperparameters, dtype, t):
        """Take step ``t`` on a one-element scratch optimizer with a zero
        gradient, so that numeric hyperparameters the step would refuse in
        ``dtype`` (an ``eps`` that vanishes in float32, an ``lr`` whose step
        overflows) raise before the objective is ever called.  Callable
        ``lr``/``schedule``/``weight_decay`` values are checked as the run
        calls them instead (calling them here could have side effects), and
        so are a scheduled ``beta1`` or ``momentum``."""
        if any(callable(value) for value in hyperparameters.values()):
            return
        scratch = cls(np.zeros(1, dtype), **hyperparameters)
        scratch._t = t - 1
        scratch.step(np.zeros(1, dtype))

    def _run_smoothed_gradient(self, grad):
        """What the ``gtol`` test measures (see `_smoothed_gradient`)."""
        return self._smoothed_gradient(grad)

    def _run_gradient(self, grad):
        """What the ``gtol`` test of a deterministic run measures: the
        gradient at the current iterate (plus ``weight_decay * x`` when the
        decay is coupled), whatever the algorithm averages."""
        return _Optimizer._smoothed_gradient(self, grad)

    # == end of the run driver's protocol ========================================

    def _smoothed_gradient(self, grad):
        """What the ``gtol`` test of the SciPy methods measures: ``(vector,
        scale, owned)`` where ``scale * norm(vector)`` is a smoothed gradient
        at the current iterate and ``owned`` says whether ``vector`` is the
        optimizer's own (checked) state.  ``grad`` is the objective's
        gradient there.  This default: the effective gradient itself (for
        algorithms that keep no average of it)."""
        if self._coupled_decay():
            with np.errstate(over="ignore", invalid="ignore"):
                return np.asarray(grad) + self._weight_decay * self._x, 1.0, False
        return grad, 1.0, False

    def _coupled_decay(self):
        """Whether the weight decay is added to the gradient (coupled L2)."""
        return self._weight_decay != 0.0 and not self._decoupled_weight_decay

    # -- hooks called by the compiled core -------------------------------------

    #: The name the step's error messages give (None: the class's name); an
    #: optimizer that steps on behalf of another (SWATS's SGD phase) names it.
    _OWNER: ClassVar[str | None] = None

    @property
    def _owner(self):
        return self._OWNER or type(self).__name__

    def _slow_grad(self, grad):
        return check.grad_array(grad, self._x, f"{self._owner}.step",
                                check_range=self._check_finite)

    def _schedule_value(self, name, function, t):
        return check.schedule_value(function, name, self._owner, t)

    def _schedule_hyperparameters(self, t):
        """The core's hook before step ``t`` when ``beta1`` or ``momentum`` is
        a callable: evaluate each, check every value as the hyperparameter's
        own rule does (and the declaration's joint rule, e.g. SGD's
        ``nesterov``), then write them into the core's slots; a refused
        value raises with nothing changed."""
        owner = self._owner
        found = {}
        rules = _SCHEDULED_RULES.get(type(self))
        if rules is None:
            rules = _SCHEDULED_RULES[type(self)] = {}
        for name, function in self._hyper_fns.items():
            value = check.schedule_value(function, name, owner, t)
            rule = rules.get(name) or rules.setdefault(name, type(self)._rule(name))
            if rule is check.unit_interval and value < 1.0:    # (the common case, fast)
                found[name] = value
                continue
            try:
                value = self._fit_dtype(name, rule(value, name, owner))
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"The {name!r} schedule of {owner} returned {value!r} at t={t}, "
                    f"which {name} cannot be: {exc}"
                ) from None
            found[name] = value
        validate = getattr(getattr(self, "_DECLARATION", None), "validate", None)
        if validate is None:
            for name, value in found.items():
                setattr(self, "_" + name, value)
        else:
            before = {name: getattr(self, "_" + name) for name in found}
            for name, value in found.items():
                setattr(self, "_" + name, value)
            try:
                validate(self)
            except ValueError as exc:
                for name, value in before.items():
                    setattr(self, "_" + name, value)
                raise ValueError(f"At t={t}, the scheduled hyperparameters of {owner}: "
                                 f"{exc}") from None

    def _raise_bad_scalars(self, name, value, t):
        owner, dtype = self._owner, self._x.dtype
        if name == "state":
            big = float(np.finfo(dtype).max) / 4
            advice = "rescale the problem" + (" or use float64" if dtype == np.float32 else "")
            raise check.GradientValueError(
                f"The parameters or the state of {owner} reached a magnitude beyond what a "
                f"further step can take without overflowing {dtype} (|params| > {big:.3g}, "
                f"or the optimizer's {self._GROWING} beyond its limit) at t={t - 1}; the "
                f"step is refused and the parameters and the optimizer state are unchanged "
                f"({advice})."
            )
        if name == "overflow":
            raise check.GradientValueError(
                f"The step of {owner} at t={t} could carry the parameters past the largest "
                f"{dtype} number: the 'lr' parameter (lr_t = {value!r}) is too large for "
                f"parameters or moments of their current magnitude; the step is refused and "
                f"the parameters and the optimizer state are unchanged (lower lr or rescale "
                f"the problem)."
            )
        if name == "lr":
            raise ValueError(
                f"The 'lr' parameter of {owner} (times the 'schedule' multiplier) must keep "
                f"the step size finite in {dtype}. Got lr_t = {value!r} at t={t} instead; "
                f"the parameters and the optimizer state are unchanged."
            )
        raise ValueError(
            f"The 'eps' parameter of {owner} must {self._EPS_RULE} {dtype}. "
            f"Got {value!r} at t={t} instead; "
            f"the parameters and the optimizer state are unchanged."
        )

    def _raise_bad_grad(self, grad, index):
        x = self._x
        flat_g = grad.ravel(order="K")
        effective = -flat_g[index] if self._maximize else flat_g[index]
        what = "grad"
        if self._coupled_decay():
            effective = effective + self._weight_decay * np.float64(x.ravel(order="K")[index])
            what = "grad + weight_decay * params"
        limit = self._grad_limit()
        order = check.memory_order(x)
        where = tuple(int(i) for i in np.unravel_index(index, x.shape, order=order))
        if np.isfinite(effective) and getattr(self, "_step_limit", 0.0) == limit:
            rule = (f"at most {limit:.3g} in magnitude at this step for {x.dtype} "
                    f"parameters (a larger one could overflow the optimizer's state or the "
                    f"parameters: rescale the objective, lower lr or use float64)")
        elif np.isfinite(effective):
            rule = (f"at most {limit:.3g} in magnitude for {x.dtype} parameters (its square "
                    f"would overflow the optimizer's state: rescale the objective or use "
                    f"float64)")
        else:
            rule = "finite (check_finite=False skips this check)"
        raise check.GradientValueError(
            f"The 'grad' parameter of {self._owner}.step must be {rule}. "
            f"Got {what} = {float(effective)!r} at index {where} instead; "
            f"the parameters and the optimizer state are unchanged."
        )

    def _raise_params_changed(self):
        owner = self._owner
        check.params_array(self._x, owner)
        raise ValueError(
            f"The 'params' array of {owner} changed size, dtype or memory layout since the "
            f"optimizer was created (now shape {self._x.shape}, dtype {self._x.dtype}); "
            f"create a new optimizer for it."
        )

    # -- state ----------------------------------------------------------------

    def _hyperparameters(self):
        """The hyperparameters saved in a state dict (plain numbers and strings)."""
        out = {}
        for key in self._SAVED_HYPERPARAMETERS:
            if key == "lr":
                if self._lr_fn is None:
                    out["lr"] = self._lr
            elif key == "weight_decay":
                if self._weight_decay_fn is None:
                    out["weight_decay"] = self._weight_decay
            elif not callable(value := getattr(self, key)):   # (a scheduled beta1, momentum)
                # (None, as Prodigy's default beta3, is saved as the string
                # "None": numpy.savez would make None an object array, which
                # numpy.load refuses)
                out[key] = "None" if value is None else value
        return out

    def _constructor_kwargs(self):
        out = {key: getattr(self, key) for key in self._SAVED_HYPERPARAMETERS}
        out.update(schedule=self._schedule, check_finite=bool(self._check_finite))
        out.update((key, value) for key in _CLIP if (value := getattr(self, key)) is not None)
        if self._avg_kind is not None:
            out.update((key, getattr(self, key)) for key in _averaging.DEFAULTS)
        return out

    def _state_arrays(self):
        """The state arrays this optimizer has, by name."""
        arrays = {}
        for key, (attribute, _, _) in self._STATE_ARRAYS.items():
            value = getattr(self, attribute)
            if value is not None:
                arrays[key] = value
        return arrays

    def state_dict(self) -> dict[str, Any]:
        """Return the optimizer state as a dict of plain values and array copies.

        Keys: ``algorithm`` (str), ``t`` (int), the state arrays (shaped like
        ``params``) and scalars listed in the class's Notes, and the
        hyperparameters (``lr`` and ``weight_decay`` only when they are
        numbers, not schedule callables).  Every value survives `pickle` and
        ``numpy.savez(f, **state)``.
        """
        return self._state_dict(copy=True)

    def _state_dict(self, copy):
        """`state_dict`; with ``copy`` false, the state arrays of a one-array
        optimizer are the optimizer's own, not copies (the run driver hands
        them to the result of a run whose optimizer is then dropped)."""
        if self._structured():
            return {**_structure().state_dict(self), **self._avg_state()}
        out = {"algorithm": self._algorithm, "t": int(self._t)}
        out.update((key, a.copy(order="K") if copy else a)
                   for key, a in self._state_arrays().items())
        out.update((key, float(getattr(self, "_" + key))) for key in self._STATE_SCALARS)
        out.update(self._hyperparameters())
        out.update((key, value) for key in _CLIP
                   if (value := getattr(self, key)) is not None)
        out.update(self._avg_state(copy))
        return out

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore a state saved by `state_dict` (also as read back by `numpy.load`).

        The state and the step count are copied into this optimizer, and the
        hyperparameters found in ``state`` replace the current ones (as in
        PyTorch); a learning rate or weight decay that was a callable was not
        saved, so the current one stays.  Everything is checked before anything changes: a
        state from another algorithm, of another shape or dtype, with
        non-finite (or, where the algorithm needs it, negative) entries, bad
        values or unknown keys raises `ValueError` (`TypeError` for wrong
        types) and leaves the optimizer untouched.
        """
        owner = f"{type(self).__name__}.load_state_dict"
        if isinstance(state, Mapping):
            state, averaging = self._avg_checked(state, owner)
        else:
            averaging = None
        if self._structured():
            _structure().load_state_dict(self, state)
        else:
            self._apply_state(*self._checked_state(state, owner))
        self._avg_apply(averaging)

    def _apply_state(self, t, arrays, scalars, hyper):
        """Apply a state checked by `_checked_state`."""
        for key, value in hyper.items():
            setattr(self, key, value)
        mine = self._state_arrays()
        for key, value in arrays.items():
            np.copyto(mine[key], value)
        for key, value in scalars.items():
            setattr(self, "_" + key, value)
        self._t = t
        self._examine()

    def _examine(self):
        """Set the premise of the overflow guard from the arrays as they are
        (the derived classes' hook: see ``adamopt._derive``)."""

    def _checked_state(self, state, owner):
        """Validate a state dict; return (t, arrays, scalars, hyperparameters)."""
        if not isinstance(state, Mapping):
            raise TypeError(
                f"The 'state' parameter of {owner} must be a mapping as returned by "
                f"state_dict(). Got {check.show(state)} instead."
            )
        state = {key: value if key in self._STATE_ARRAYS else _scalar(value)
                 for key, value in state.items()}
        for flag in self._FIXED:
            stored = check.boolean(state[flag], flag, owner) if flag in state else None
            if stored is None and any(key in state for key, (_, _, needs)
                                      in self._STATE_ARRAYS.items() if needs == flag):
                stored = True
            mine = bool(getattr(self, flag))
            if stored is not None and stored != mine:
                raise ValueError(
                    f"The state given to {owner} was saved with {flag}={stored}; "
                    f"this optimizer has {flag}={mine}."
                )
        required = {"algorithm", "t"} | set(self._state_arrays()) | set(self._STATE_SCALARS)
        missing = required - set(state)
        unknown = set(state) - required - set(self._SAVED_HYPERPARAMETERS) - set(_CLIP)
        if missing or unknown:
            raise ValueError(
                f"The state given to {owner} does not fit {type(self).__name__}: "
                f"missing keys {sorted(missing)}, unknown keys {sorted(unknown)}."
            )
        algorithm = state["algorithm"]
        if not isinstance(algorithm, str) or algorithm != self._algorithm:
            raise ValueError(
                f"The state given to {owner} is from algorithm {check.show(algorithm)}, "
                f"not {self._algorithm!r}."
            )
        t = checked_t(state["t"], owner)
        arrays = {key: self._checked_state_array(state[key], key, owner)
                  for key in self._state_arrays()}
        if t == 0 and any(np.any(arrays[key]) for key in self._ZERO_AT_START if key in arrays):
            raise ValueError(
                f"The state given to {owner} has t = 0 but non-zero moments; "
                f"the state before the first step is zero."
            )
        scalars = {key: rule(state[key], int(t), f"The {key!r} entry of the state given to "
                                                 f"{owner}")
                   for key, rule in self._STATE_SCALARS.items()}
        hyper = {key: self._rule(key)(state[key], key, owner)
                 for key in (*self._SAVED_HYPERPARAMETERS, *_CLIP)
                 if key in state and key not in self._FIXED}
        return int(t), arrays, scalars, hyper

    def _checked_state_array(self, value, key, owner):
        x = self._x
        where = f"The {key!r} entry of the state given to {owner}"
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{where} must be a NumPy array. Got {check.show(value)} instead.")
        if value.dtype != x.dtype or value.shape != x.shape:
            raise ValueError(
                f"{where} must be an array of shape {x.shape} and dtype {x.dtype}. "
                f"Got {check.show(value)} instead."
            )
        finite_only = self._STATE_ARRAYS[key][1] == "finite"
        bad = ~np.isfinite(value) if finite_only else ~(np.isfinite(value) & (value >= 0))
        if bad.any():
            index = np.unravel_index(np.argmax(bad), value.shape)
            rule = "finite" if finite_only else "finite and >= 0"
            raise ValueError(
                f"{where} must be {rule} (a corrupted checkpoint?). Got "
                f"{value[index]!r} at index {tuple(int(i) for i in index)} instead."
            )
        return value

    def __reduce__(self):
        params = self.__dict__.get("_given", self._x)
        return (_restore, (type(self), params, self._constructor_kwargs(), self.state_dict()))

    def __repr__(self) -> str:
        x = self._x
        lr = self.lr if self._lr_fn is not None else f"{self._lr:g}"
        numbers = "".join(f", {k}={_number(getattr(self, k))}" for k in self._REPR_NUMBERS)
        defaults = _signature_defaults(type(self))
        extra = "".join(
            f", {k}={v!r}" for k, v in self._constructor_kwargs().items()
            if k != "lr" and k not in self._REPR_NUMBERS and v != defaults.get(k)
        )
        shown = f"{x.dtype} array of shape {x.shape}"
        if self._structured():
            groups = self.__dict__["_param_groups"]
            count = len(self._segments.members)
            shown = (f"{count} array{'s' if count != 1 else ''} in {len(groups)} "
                     f"group{'s' if len(groups) != 1 else ''}")
        return (f"{type(self).__name__}(params=<{shown}>, lr={lr}"
                f"{numbers}{extra}, t={self._t})")


def checked_t(t, owner):
    """The ``t`` entry of a state given to ``owner``: an integer (or an
    integral float) in [0, MAX_STEPS]."""
    if isinstance(t, (bool, np.bool_)) or not isinstance(t, (int, np.integer, float,
                                                              np.floating)):
        raise TypeError(
            f"The 't' entry of the state given to {owner} must be an integer. "
            f"Got {check.show(t)} instead."
        )
    if isinstance(t, (float, np.floating)):
        # An integral float (PyTorch's test of non-tensor steps writes 10.0).
        if not (np.isfinite(t) and float(t).is_integer()):
            raise ValueError(
                f"The 't' entry of the state given to {owner} must be an integer "
                f"(an integral float such as 10.0 is accepted). Got {check.show(t)} "
                f"instead."
            )
        t = int(t)
    if not 0 <= t <= _MAX_STEPS:
        raise ValueError(
            f"The 't' entry of the state given to {owner} must be in [0, {_MAX_STEPS}]. "
            f"Got {t!r} instead."
        )
    return t


def _structure():
    """``adamopt._structure`` (imported late: it builds on this module)."""
    from . import _structure
    return _structure


def _number(value):
    """A hyperparameter in a repr: ``:g`` for a number, the repr of a callable."""
    return repr(value) if callable(value) else f"{value:g}"


def _finite_max(x):
    """The largest finite magnitude in ``x`` (0 if none): NaN or infinite
    elements are accepted, and stay so, elementwise."""
    a = np.abs(x)
    with np.errstate(invalid="ignore"):
        finite = a[np.isfinite(a)] if not np.isfinite(a).all() else a
    return float(finite.max()) if finite.size else 0.0


def _scalar(value):
    """Unwrap a 0-d array (as `numpy.load` returns numbers) into a scalar."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value[()]
    return value


def own_state_dict(opt):
    """``opt.state_dict()`` with the optimizer's own arrays, not copies, where
    its class keeps the base class's state dict: for a reader that is done
    with them before the next step (a checkpoint being written) or the last
    user of the optimizer (the result of a run)."""
    if type(opt).state_dict is _Optimizer.state_dict:
        return opt._state_dict(copy=False)
    return opt.state_dict()
