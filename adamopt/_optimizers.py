r"""Stateful Adam and AdamW optimizers over NumPy arrays.

The classes validate their arguments once, allocate the moments and hand the
per-step work to the compiled core in `adamopt._kernels`.
"""

import inspect
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt

from . import _validation as check
from ._kernels import MAX_STEPS, AdamCore

_COMMON_PARAMETERS = r"""
    params : numpy.ndarray
        The parameters, updated **in place** by `step`: any shape, dtype float32 or
        float64, writeable and contiguous (C or Fortran order).  The moments are
        kept, and each element computed, in the same dtype; the per-step scalars
        (powers of the betas, bias corrections, step size) in float64.
    lr : float or callable, default: 1e-3
        Learning rate :math:`\alpha \ge 0`, or a schedule: a callable ``lr(t)``
        returning :math:`\alpha_t` for the step number ``t = 1, 2, ...``.
    beta1, beta2 : float, default: 0.9, 0.999
        Decay rates of the first and second moment estimates, in ``[0, 1)``.
    eps : float, default: 1e-8
        :math:`\epsilon > 0`, added to :math:`\sqrt{\hat v_t}` (PyTorch's and the
        paper's placement, not the "epsilon hat" of TensorFlow and Keras).  It
        must stay positive in the parameters' dtype once scaled by
        :math:`\sqrt{1-\beta_2^t}` (about 1e-43 or more for float32), else `step`
        raises `ValueError`.
"""

_COMMON_FLAGS = r"""
    amsgrad : bool, default: False
        Use AMSGrad (Reddi et al. 2018): divide by the running maximum of the second
        moment.  As in PyTorch, the maximum is taken over the raw :math:`v_t` and
        then bias-corrected with the current :math:`1-\beta_2^t` (optax instead
        takes it over :math:`\hat v_t`).
    maximize : bool, default: False
        Ascend the objective instead (the gradient's sign is flipped inside the
        loop; ``grad`` is not copied).
    schedule : callable, optional
        A schedule multiplier :math:`\eta_t` = ``schedule(t)``: the learning rate
        used at step ``t`` is :math:`\alpha_t \eta_t` (for example
        `adamopt.CosineWarmRestarts`, the SGDR/AdamWR schedule).
    check_finite : bool, default: True
        Before each step, check that the gradient (plus the L2 term, for coupled
        weight decay) is finite and small enough that its square cannot overflow
        the second moment (about 1.8e19 for float32 and 1.3e154 for float64).  A
        failed check raises `ValueError` and leaves the parameters and the state
        exactly as they were.  With the check, a step that could carry the
        parameters or the moments past the dtype's maximum (a step size too
        large for their magnitude) is refused the same way
        (`GradientValueError`, naming ``lr``).  ``False`` skips the check (one
        read of the gradient) as SciPy's ``check_finite`` does; a NaN then
        propagates into the parameters and the moments.
"""

_ATTRIBUTES_AND_NOTES = r"""
    Attributes
    ----------
    params : numpy.ndarray
        The array passed in, updated in place.
    t : int
        Number of steps taken.

    Notes
    -----
    All state starts at zero and the step counter at ``t = 0``; `step` first
    increments it, so the first update uses ``t = 1``.  The first Adam step
    (without weight decay) is :math:`x_1 = x_0 - \alpha g / (|g| + \epsilon)`
    elementwise.

    ``state_dict()`` returns plain numbers, strings and NumPy arrays (picklable
    and `numpy.savez`-able); ``load_state_dict`` restores them so that a resumed
    run continues bitwise identically to an uninterrupted one.

    The step with a gradient that is a C-contiguous (or, for Fortran-ordered
    parameters, Fortran-contiguous) array of the parameters' dtype reads it
    directly; any other array-like of the right shape is converted first (one
    copy per step).

    An optimizer is not thread-safe: do not call `step` on the same optimizer
    from two threads at once.  Distinct optimizers run in parallel (the loop
    releases the GIL for large arrays).
"""


#: A learning-rate schedule or multiplier: step number t (from 1) -> value.
Schedule = Callable[[int], float]


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
    # The family (adamopt._family)
    "momentum": check.unit_interval,
    "dampening": check.unit_interval,
    "nesterov": check.boolean,
    "lr_decay": check.finite_at_least,
    "initial_accumulator_value": check.finite_at_least,
    "alpha": check.unit_interval,
    "centered": check.boolean,
    "momentum_decay": check.finite_at_least,
    "decoupled_weight_decay": check.boolean,
}


class _Checked:
    """A hyperparameter kept in the compiled core's slot ``_<name>``,
    checked with ``_CHECKS[name]`` on every assignment."""

    def __init__(self, doc):
        self.__doc__ = doc

    def __set_name__(self, owner, name):
        self.name, self.slot = name, "_" + name

    def __get__(self, obj, objtype=None):
        return self if obj is None else getattr(obj, self.slot)

    def __set__(self, obj, value):
        owner = type(obj).__name__
        value = _CHECKS[self.name](value, self.name, owner)
        setattr(obj, self.slot, obj._fit_dtype(self.name, value))


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
    (`AdamCore` or `FamilyCore`): hyperparameters checked on assignment, a
    learning rate that is a number or a schedule, the hooks the core calls
    for its error messages, ``state_dict``/``load_state_dict``, pickling and
    the repr.  A subclass describes itself with the class attributes below.
    """

    #: The name saved in a state dict (``"adam"``, ``"sgd"``, ...).
    _algorithm = ""
    #: Hyperparameters saved in a state dict (``lr`` only when it is a number).
    _SAVED_HYPERPARAMETERS = ()
    #: Options fixed at construction: saved, and a state must agree with them.
    _FIXED = ()
    #: The state arrays: name -> (core attribute, rule, the fixed option that
    #: makes it exist or None).  Rule "finite" or "nonnegative".
    _STATE_ARRAYS: ClassVar[dict] = {}
    #: Scalars of the state besides ``t``: name -> check(value, t, where).
    _STATE_SCALARS: ClassVar[dict] = {}
    #: State arrays that must be zero at t = 0 (the first step relies on it).
    _ZERO_AT_START = ()
    #: Hyperparameters the repr always shows after ``lr``.
    _REPR_NUMBERS = ()
    #: The state array whose growth the overflow guard bounds (its error message).
    _GROWING = "state"
    #: What a usable ``eps`` must do each step (the rule of its error message).
    _EPS_RULE = "stay positive when rounded to"

    #: The parameters' dtype, set by the constructor before any hyperparameter.
    _dtype = None

    # -- hyperparameters: validated on every assignment -------------------------

    def _fit_dtype(self, name, value):
        """Refuse a number the step would round to an infinity in the
        parameters' dtype (the one place that checks it: the constructor
        sets ``_dtype`` first, and every assignment and state load goes
        through the descriptors and setters)."""
        if self._dtype is None:
            return value
        return check.within_dtype(value, name, type(self).__name__, self._dtype)

    @property
    def lr(self) -> "float | Schedule":
        """Learning rate: a float, or the schedule callable ``t -> lr_t``."""
        return self._lr if self._lr_fn is None else self._lr_fn

    @lr.setter
    def lr(self, value: "float | Schedule") -> None:
        value = check.number_or_callable(value, "lr", type(self).__name__)
        value = value if callable(value) else self._fit_dtype("lr", value)
        if callable(value):
            self._lr_fn, self._lr = value, float("nan")
        else:
            self._lr_fn, self._lr = None, value

    @property
    def weight_decay(self) -> "float | Schedule":
        """Weight decay coefficient: a float >= 0, or a callable ``t -> lambda_t``."""
        return self._weight_decay if self._weight_decay_fn is None else self._weight_decay_fn

    @weight_decay.setter
    def weight_decay(self, value: "float | Schedule") -> None:
        value = check.number_or_callable(value, "weight_decay", type(self).__name__)
        value = value if callable(value) else self._fit_dtype("weight_decay", value)
        if callable(value):
            # The compiled step sets _weight_decay from the callable before each update.
            self._weight_decay_fn, self._weight_decay = value, 0.0
        else:
            self._weight_decay_fn, self._weight_decay = None, value

    maximize = _Checked("Whether the objective is maximized.")
    check_finite = _Checked("Whether each gradient is checked before it touches the state.")

    @property
    def schedule(self) -> "Schedule | None":
        """Schedule multiplier callable ``t -> eta_t``, or None."""
        return self._schedule

    @schedule.setter
    def schedule(self, value: "Schedule | None") -> None:
        self._schedule = check.optional_callable(value, "schedule", type(self).__name__)

    @property
    def t(self) -> int:
        """Number of steps taken so far."""
        return self._t

    # == The run driver's protocol (adamopt._driven.Driven) ======================
    # Everything `adamopt._minimize` uses of an optimizer class besides the
    # public API (construction, t, step, state_dict, load_state_dict).

    @classmethod
    def _run_defaults(cls):
        """The hyperparameters a run may set (the constructor's keyword-only
        arguments but ``check_finite``), with their defaults."""
        return {name: value for name, value in _signature_defaults(cls).items()
                if name != "check_finite"}

    @classmethod
    def _run_check(cls, name, value, owner):
        """Check the hyperparameter ``name`` given to the run ``owner`` (a
        callable ``lr``/``weight_decay``/``schedule`` is checked as it is called)."""
        if name in ("lr", "weight_decay"):
            return check.number_or_callable(value, name, owner)
        if name == "schedule":
            return check.optional_callable(value, name, owner)
        rule = getattr(inspect.getattr_static(cls, name, None), "rule", None)
        return (rule or _CHECKS[name])(value, name, owner)

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
        calls them instead (calling them here could have side effects)."""
        if any(callable(hyperparameters.get(name))
               for name in ("lr", "schedule", "weight_decay")):
            return
        scratch = cls(np.zeros(1, dtype), **hyperparameters)
        scratch._t = t - 1
        scratch.step(np.zeros(1, dtype))

    def _run_smoothed_gradient(self, grad):
        """What the ``gtol`` test measures (see `_smoothed_gradient`)."""
        return self._smoothed_gradient(grad)

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
        return self._weight_decay != 0.0

    # -- hooks called by the compiled core -------------------------------------

    def _slow_grad(self, grad):
        return check.grad_array(grad, self._x, f"{type(self).__name__}.step",
                                check_range=self._check_finite)

    def _schedule_value(self, name, function, t):
        return check.schedule_value(function, name, type(self).__name__, t)

    def _raise_bad_scalars(self, name, value, t):
        owner, dtype = type(self).__name__, self._x.dtype
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
            f"The 'grad' parameter of {type(self).__name__}.step must be {rule}. "
            f"Got {what} = {float(effective)!r} at index {where} instead; "
            f"the parameters and the optimizer state are unchanged."
        )

    def _raise_params_changed(self):
        owner = type(self).__name__
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
            else:
                out[key] = getattr(self, key)
        return out

    def _constructor_kwargs(self):
        out = {key: getattr(self, key) for key in self._SAVED_HYPERPARAMETERS}
        out.update(schedule=self._schedule, check_finite=bool(self._check_finite))
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
        out = {"algorithm": self._algorithm, "t": int(self._t)}
        out.update((key, a.copy(order="K")) for key, a in self._state_arrays().items())
        out.update((key, float(getattr(self, "_" + key))) for key in self._STATE_SCALARS)
        out.update(self._hyperparameters())
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
        t, arrays, scalars, hyper = self._checked_state(
            state, f"{type(self).__name__}.load_state_dict")
        for key, value in hyper.items():
            setattr(self, key, value)
        mine = self._state_arrays()
        for key, value in arrays.items():
            np.copyto(mine[key], value)
        for key, value in scalars.items():
            setattr(self, "_" + key, value)
        self._t = t

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
        unknown = set(state) - required - set(self._SAVED_HYPERPARAMETERS)
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
        t = state["t"]
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
        hyper = {key: _CHECKS[key](state[key], key, owner)
                 for key in self._SAVED_HYPERPARAMETERS if key in state and key not in self._FIXED}
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
        return (_restore, (type(self), self._x, self._constructor_kwargs(), self.state_dict()))

    def __repr__(self) -> str:
        x = self._x
        lr = self.lr if self._lr_fn is not None else f"{self._lr:g}"
        numbers = "".join(f", {k}={_number(getattr(self, k))}" for k in self._REPR_NUMBERS)
        defaults = _signature_defaults(type(self))
        extra = "".join(
            f", {k}={v!r}" for k, v in self._constructor_kwargs().items()
            if k != "lr" and k not in self._REPR_NUMBERS and v != defaults.get(k)
        )
        return (f"{type(self).__name__}(params=<{x.dtype} array of shape {x.shape}>, lr={lr}"
                f"{numbers}{extra}, t={self._t})")


def _number(value):
    """A hyperparameter in a repr: ``:g`` for a number, the repr of a callable."""
    return repr(value) if callable(value) else f"{value:g}"


class Adam(_Optimizer, AdamCore):
    __doc__ = (r"""Adam: adaptive moment estimation (Kingma & Ba 2014), in place on a NumPy array.

    Each call ``opt.step(grad)`` performs, with the gradient :math:`g_t` of the
    objective at :math:`x_{t-1}`:

    .. math::

        g_t &\leftarrow -g_t \quad \text{(if maximize)} \\
        g_t &\leftarrow g_t + \lambda x_{t-1} \quad \text{(if weight\_decay } \lambda \ne 0) \\
        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        \hat m_t &= m_t / (1 - \beta_1^t), \qquad
        \hat v_t = v_t / (1 - \beta_2^t)
            \quad (\hat v_t = \max_{s \le t} v_s / (1 - \beta_2^t) \text{ with amsgrad}) \\
        x_t &= x_{t-1} - \alpha_t \hat m_t / (\sqrt{\hat v_t} + \epsilon)

    This is Algorithm 1 of Kingma & Ba, with the L2 penalty added to the gradient
    (coupled weight decay) and AMSGrad exactly as ``torch.optim.Adam`` computes
    them, so that configurations port between the two unchanged.

    Parameters
    ----------""" + _COMMON_PARAMETERS + r"""    weight_decay : float or callable, default: 0.0
        L2 penalty :math:`\lambda \ge 0`, added to the gradient before the moments
        (coupled), or a callable ``weight_decay(t)`` returning :math:`\lambda_t`.
        For decoupled weight decay use `AdamW`.""" + _COMMON_FLAGS
        + _ATTRIBUTES_AND_NOTES + r"""
    References
    ----------
    .. [1] D. P. Kingma and J. Ba, "Adam: A Method for Stochastic Optimization",
       ICLR 2015, arXiv:1412.6980.
    .. [2] S. J. Reddi, S. Kale and S. Kumar, "On the Convergence of Adam and
       Beyond", ICLR 2018.

    Examples
    --------
    >>> import numpy as np
    >>> import adamopt
    >>> x = np.array([1.0, -2.0])
    >>> opt = adamopt.Adam(x, lr=0.1)
    >>> for _ in range(200):
    ...     _ = opt.step(2 * x)          # gradient of sum(x**2)
    >>> bool(np.all(np.abs(x) < 0.05))
    True
    """)

    _algorithm = "adam"
    _DECOUPLED = False
    _SAVED_HYPERPARAMETERS = ("lr", "beta1", "beta2", "eps", "weight_decay", "amsgrad",
                              "maximize")
    _FIXED = ("amsgrad",)
    _STATE_ARRAYS: ClassVar[dict] = {"m": ("_m", "finite", None), "v": ("_v", "nonnegative", None),
                                     "vmax": ("_vmax", "nonnegative", "amsgrad")}
    _ZERO_AT_START = ("m", "v", "vmax")
    _REPR_NUMBERS = ("beta1", "beta2", "eps", "weight_decay")
    _GROWING = "first moment"
    _EPS_RULE = "stay positive when scaled by sqrt(1 - beta2**t) and rounded to"

    def __init__(self, params: npt.NDArray[np.floating], *, lr: float | Schedule = 1e-3,
                 beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float | Schedule = 0.0, amsgrad: bool = False,
                 maximize: bool = False,
                 schedule: Schedule | None = None, check_finite: bool = True) -> None:
        owner = type(self).__name__
        params = check.params_array(params, owner)
        self._dtype = params.dtype
        amsgrad = check.boolean(amsgrad, "amsgrad", owner)
        self.lr = lr
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weight_decay = weight_decay
        self.maximize = maximize
        self.schedule = schedule
        self.check_finite = check_finite
        self._decay_by_schedule = False
        self._t = 0
        self._bind(
            params,
            np.zeros_like(params),
            np.zeros_like(params),
            np.zeros_like(params) if amsgrad else None,
            type(self)._DECOUPLED,
            amsgrad,
        )
        self._examine()

    beta1 = _Checked("Decay rate of the first moment, in ``[0, 1)``.")
    beta2 = _Checked("Decay rate of the second moment, in ``[0, 1)``.")
    eps = _Checked("Term added to the denominator, > 0.")

    @property
    def amsgrad(self) -> bool:
        """Whether the AMSGrad variant is used (fixed at construction)."""
        return self._amsgrad

    def _examine(self):
        """Set the premise of the overflow guard (`AdamCore.step`) from the
        arrays as they are now: the largest finite |x| and |m|.  One pass, at
        construction and ``load_state_dict`` (not per step)."""
        with np.errstate(invalid="ignore"):
            self._x_bound = _finite_max(self._x)
            self._m_bound = _finite_max(self._m)
            self._beyond = False

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self._examine()

    load_state_dict.__doc__ = _Optimizer.load_state_dict.__doc__

    def _coupled_decay(self):
        return not self._DECOUPLED and self._weight_decay != 0.0

    def _smoothed_gradient(self, grad):
        """The bias-corrected first moment (see `_Optimizer._smoothed_gradient`)."""
        return self._m, 1.0 / (1.0 - self._beta1 ** self._t), True


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


_ADAMW_REFERENCES = r"""
    References
    ----------
    .. [1] I. Loshchilov and F. Hutter, "Decoupled Weight Decay Regularization",
       ICLR 2019, arXiv:1711.05101.
    .. [2] D. P. Kingma and J. Ba, "Adam: A Method for Stochastic Optimization",
       ICLR 2015, arXiv:1412.6980.
    """


class AdamW(Adam):
    __doc__ = (r"""AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019), in place.

    Each call ``opt.step(grad)`` performs, with the gradient :math:`g_t` of the
    objective at :math:`x_{t-1}` (negated if maximize):

    .. math::

        m_t &= \beta_1 m_{t-1} + (1 - \beta_1) g_t \\
        v_t &= \beta_2 v_{t-1} + (1 - \beta_2) g_t^2 \\
        \hat m_t &= m_t / (1 - \beta_1^t), \qquad
        \hat v_t = v_t / (1 - \beta_2^t)
            \quad (\hat v_t = \max_{s \le t} v_s / (1 - \beta_2^t) \text{ with amsgrad}) \\
        x_t &= x_{t-1} - \alpha_t \hat m_t / (\sqrt{\hat v_t} + \epsilon)
               - s_t \lambda x_{t-1}

    The decay acts on the parameters directly, not through the gradient and the
    moments.  Its scale :math:`s_t` depends on ``decay_scaling``:

    * ``"lr"`` (default): :math:`s_t = \alpha_t \eta_t`, the learning rate actually
      used, as in ``torch.optim.AdamW`` and ``optax.adamw``
      (:math:`x \leftarrow x (1 - \mathrm{lr}_t \lambda)`); their configurations
      port unchanged.
    * ``"schedule"``: :math:`s_t = \eta_t`, the schedule multiplier alone, as in
      Algorithm 2 of Loshchilov & Hutter, where
      :math:`x_t = x_{t-1} - \eta_t (\alpha \hat m_t / (\sqrt{\hat v_t}+\epsilon)
      + \lambda x_{t-1})`.  Give the multiplier as ``schedule=`` (without one,
      :math:`\eta_t = 1` and the decay is :math:`\lambda` per step, so typical
      values of :math:`\lambda` are much smaller than with ``"lr"``).

    Parameters
    ----------""" + _COMMON_PARAMETERS + r"""    weight_decay : float or callable, default: 1e-2
        Decoupled weight decay :math:`\lambda \ge 0`, or a callable
        ``weight_decay(t)`` returning :math:`\lambda_t` for step ``t``, such as
        `adamopt.NormalizedWeightDecay` (the paper's normalized weight decay
        :math:`\lambda_t = \lambda_{norm} \sqrt{b / (B T_i)}`, which changes at
        each warm restart).
    decay_scaling : {"lr", "schedule"}, default: "lr"
        What scales the decay each step, see above.""" + _COMMON_FLAGS
        + _ATTRIBUTES_AND_NOTES + _ADAMW_REFERENCES + r"""
    Examples
    --------
    >>> import numpy as np
    >>> import adamopt
    >>> x = np.array([1.0, -2.0])
    >>> opt = adamopt.AdamW(x, lr=0.1, weight_decay=0.1)
    >>> for _ in range(200):
    ...     _ = opt.step(2 * (x - 1.0))    # gradient of sum((x - 1)**2)
    >>> bool(np.all(np.abs(x - 1.0) < 0.1))   # the decay pulls x a little toward 0
    True
    """)

    _algorithm = "adamw"
    _DECOUPLED = True
    _SAVED_HYPERPARAMETERS = (*Adam._SAVED_HYPERPARAMETERS, "decay_scaling")

    def __init__(self, params: npt.NDArray[np.floating], *, lr: float | Schedule = 1e-3,
                 beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
                 weight_decay: float | Schedule = 1e-2, amsgrad: bool = False,
                 maximize: bool = False,
                 schedule: Schedule | None = None,
                 decay_scaling: Literal["lr", "schedule"] = "lr",
                 check_finite: bool = True) -> None:
        super().__init__(params, lr=lr, beta1=beta1, beta2=beta2, eps=eps,
                         weight_decay=weight_decay, amsgrad=amsgrad, maximize=maximize,
                         schedule=schedule, check_finite=check_finite)
        self.decay_scaling = decay_scaling

    @property
    def decay_scaling(self) -> str:
        """``"lr"`` (PyTorch, optax) or ``"schedule"`` (Loshchilov & Hutter)."""
        return "schedule" if self._decay_by_schedule else "lr"

    @decay_scaling.setter
    def decay_scaling(self, value: str) -> None:
        value = _CHECKS["decay_scaling"](value, "decay_scaling", type(self).__name__)
        self._decay_by_schedule = value == "schedule"
