r"""The SciPy methods: ``minimize(fun, x0, method=adamopt.adam, options=...)``.

`adam` and `adamw` follow SciPy's contract for a callable method: `minimize`
calls them almost directly with ``(fun, x0, args=, jac=, hess=, hessp=,
bounds=, constraints=, callback=, **options)``.  They drive the stateful
optimizers of `adamopt._optimizers` (one compiled step per iteration) and add
what a noisy objective needs: minibatches, smoothed stopping rules, a
resumable state and faults that stop a run without losing it.
"""

# Over 600 lines: the run driver (setup, loop, finish and the result) with the
# parsing of its options, bounds and callback; the parsing is the part to move
# out next (it does not touch the loop's interrupt-safety rule).
import inspect
import math
import numbers
import sys
import warnings
from collections.abc import Iterable, Mapping

import numpy as np
from scipy.optimize import Bounds, OptimizeResult, OptimizeWarning

from . import (
    _checkpoint,
    _fused,
    _interrupt,
    _monitor,
    _objective,
    _plateau,
    _registry,
    _run_groups,
    _schedules,
    _stationarity,
)
from . import _validation as check
from ._mapping import ReadOnlyMapping
from ._optimizers import own_state_dict
from ._stopping import (
    AVERAGE_NOTE,
    BUDGET_NOTE,
    ESTIMATED_NOTE,
    MAXFEV_MESSAGE,
    STATUS_MESSAGES,
    SUCCESS,
    GradientTest,
    Plateau,
)

#: Options of the run itself (beside the optimizer's hyperparameters).
_RUN_DEFAULTS = {"maxiter": 1000, "maxfev": None, "gtol": 1e-5, "norm": math.inf, "ftol": 1e-4,
                 "patience": None, "smoothing": 0.9, "batches": None, "state": None,
                 "disp": False, "checkpoint": None, "checkpoint_every": 100, "resume": False,
                 "stochastic": None, "stationarity": None, "interrupt": _interrupt.DEFAULT}
_RUN_DEFAULTS.update(_monitor.DEFAULTS)   # history, disp_every, progress
_RUN_DEFAULTS.update(_run_groups.DEFAULTS)   # groups

#: SciPy keywords a method receives besides its options.
_SCIPY_KEYWORDS = ("hess", "hessp", "bounds", "constraints")

#: Hyperparameters that the optimizer's state dict does not hold when they are callables
#: (the run's state keeps them when they are adamopt's own schedule objects).
_CALLABLE_HYPERPARAMETERS = _registry.CALLABLE


def _warn(message, category):
    """Warn, attributed to the first caller outside adamopt and scipy.optimize
    (the user's ``minimize(...)`` or ``adamopt.adam(...)`` line)."""
    level, frame = 1, sys._getframe(0)
    while frame is not None and frame.f_globals.get("__name__", "").startswith(
            ("adamopt.", "scipy.optimize")):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def _hyperparameter_defaults(cls):
    """The optimizer class's hyperparameters and their defaults: one source of truth."""
    return cls._run_defaults()


def _check_run_option(name, value, owner):
    if name in _monitor.DEFAULTS:
        return _monitor.check_option(name, value, owner)
    if name == "maxiter":     # as SciPy: a float is accepted (1e4); inf: no limit
        if isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_)):
            return check.integer(value, name, owner, 0)
        x = check.real(value, name, owner)
        if not x >= 0.0:
            raise check._fail(ValueError, name, owner, "a number >= 0", value)
        return math.inf if x == math.inf else int(x)
    if name == "maxfev":
        return None if value is None else check.integer(value, name, owner, 1)
    if name in ("gtol", "ftol"):
        return check.finite_at_least(value, name, owner)
    if name == "norm":
        x = check.real(value, name, owner)
        if not (x >= 1.0):   # an order for which the vector norm is a norm
            raise check._fail(ValueError, name, owner, "a number >= 1 or numpy.inf", value)
        return x
    if name == "patience":
        return None if value is None else check.integer(value, name, owner, 1)
    if name == "smoothing":
        return check.unit_interval(value, name, owner)
    if name == "disp":
        return check.boolean(value, name, owner)
    if name in ("stochastic", "stationarity"):
        return None if value is None else check.boolean(value, name, owner)
    if name == "batches":
        if value is None:
            return None
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
            raise check._fail(TypeError, name, owner,
                              "an iterable of minibatches, e.g. adamopt.minibatches(X, y, "
                              "batch_size=32), or None", value)
        try:
            return iter(value)
        except TypeError:   # e.g. a 0-d array, iterable by type but not by value
            raise check._fail(TypeError, name, owner, "an iterable of minibatches, e.g. "
                              "adamopt.minibatches(X, y, batch_size=32), or None",
                              value) from None
    if name == "checkpoint":
        return _checkpoint.check_path(value, name, owner)
    if name == "checkpoint_every":
        return _checkpoint.check_every(value, name, owner)
    if name == "resume":
        return _checkpoint.check_resume(value, name, owner)
    if name == "interrupt":
        return _interrupt.check_option(value, name, owner)
    return value   # state: checked against the problem later


def _parse_options(cls, owner, options):
    """Check ``options``; warn on unknown ones.  Return (the optimizer's
    defaults, the hyperparameters given, the run settings with defaults)."""
    defaults = _hyperparameter_defaults(cls)
    options = cls._run_options(dict(options), owner)
    tol = options.pop("tol", None)
    unknown = sorted(set(options) - set(defaults) - set(_RUN_DEFAULTS))
    if unknown:
        _warn(f"Unknown solver options: {', '.join(unknown)}", OptimizeWarning)
    given = {name: cls._run_check(name, options[name], owner)
             for name in defaults if name in options}
    run = {name: _check_run_option(name, options.get(name, default), owner)
           for name, default in _RUN_DEFAULTS.items()}
    if tol is not None:
        tol = check.finite_at_least(tol, "tol", owner)
        if "gtol" not in options:
            run["gtol"] = tol
    return defaults, given, run


def _initial_x(x0, owner):
    try:
        x = np.atleast_1d(np.asarray(x0))
    except Exception as exc:
        raise check._fail(TypeError, "x0", owner, "an array of real numbers", x0) from exc
    if x.dtype.kind in "iu":
        x = x.astype(np.float64)
    if x.dtype.kind == "f" and not x.dtype.isnative:
        x = x.astype(x.dtype.newbyteorder("="))
    if x.dtype not in check.SUPPORTED_DTYPES:
        rule = ("an array of float32 or float64 (integers are converted to float64; "
                "use x0.astype(np.float32) or np.float64 for other dtypes)")
        raise check._fail(TypeError, "x0", owner, rule, x)
    if x.ndim != 1:
        raise ValueError(f"The 'x0' parameter of {owner} must only have one dimension. "
                         f"Got shape {x.shape} instead.")
    if x.size == 0:
        raise check._fail(ValueError, "x0", owner, "non-empty", x)
    if not np.isfinite(x).all():
        index = int(np.argmax(~np.isfinite(x)))
        raise ValueError(f"The 'x0' parameter of {owner} must be finite. "
                         f"Got {float(x[index])!r} at index {index} instead.")
    return np.array(x, copy=True)


def _inward(bound, dtype, direction):
    """Round float64 bounds to ``dtype`` without loosening them: the bounds'
    own (read-only) array when it already is a contiguous one of ``dtype``, so that a run
    holds no copy of a user's bounds it does not need."""
    if bound.dtype == dtype and bound.flags.c_contiguous:
        out = bound.view()
        out.flags.writeable = False
        return out
    with np.errstate(over="ignore", invalid="ignore"):
        out = bound.astype(dtype)
        if direction > 0:
            loose = out.astype(np.float64) < bound
            out[loose] = np.nextafter(out[loose], dtype.type(np.inf))
        else:
            loose = out.astype(np.float64) > bound
            out[loose] = np.nextafter(out[loose], dtype.type(-np.inf))
    return out


def _bounds(bounds, x, owner):
    """Return (lower, upper) arrays in ``x``'s dtype, or (None, None)."""
    if bounds is None:
        return None, None
    n = x.size
    if isinstance(bounds, Bounds):
        try:
            lower = np.asarray(bounds.lb, dtype=np.float64)
            upper = np.asarray(bounds.ub, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise check._fail(TypeError, "bounds", owner,
                              "a Bounds of real numbers", bounds) from exc
        try:
            lower, upper = np.broadcast_to(lower, (n,)), np.broadcast_to(upper, (n,))
        except ValueError as exc:
            raise ValueError(
                f"The 'bounds' parameter of {owner} must have lb and ub broadcastable to "
                f"x0's shape ({n},). Got {bounds!r} instead."
            ) from exc
    else:
        try:
            pairs = list(bounds)
        except TypeError:
            raise check._fail(TypeError, "bounds", owner,
                              "a scipy.optimize.Bounds or a sequence of (min, max) pairs",
                              bounds) from None
        if len(pairs) != n or not all(isinstance(p, (tuple, list, np.ndarray))
                                      and len(p) == 2 for p in pairs):
            raise ValueError(
                f"The 'bounds' parameter of {owner} must be {n} (min, max) pairs, one per "
                f"element of x0 (None for no bound). Got {check.show(bounds)} instead."
            )
        try:
            lower = np.array([-np.inf if lo is None else lo for lo, _ in pairs], np.float64)
            upper = np.array([np.inf if hi is None else hi for _, hi in pairs], np.float64)
        except (TypeError, ValueError) as exc:
            raise check._fail(TypeError, "bounds", owner,
                              "pairs of real numbers or None", bounds) from exc
    invalid = (np.isnan(lower) | np.isnan(upper) | (lower > upper)
               | np.isposinf(lower) | np.isneginf(upper))
    if invalid.any():
        bad = int(np.argmax(invalid))
        raise ValueError(
            f"The 'bounds' parameter of {owner} must have min <= max, min < inf and "
            f"max > -inf (and no NaN) for every element. Got ({float(lower[bad])!r}, "
            f"{float(upper[bad])!r}) at index {bad} instead."
        )
    lower, upper = _inward(lower, x.dtype, +1), _inward(upper, x.dtype, -1)
    if (lower > upper).any() or np.isposinf(lower).any() or np.isneginf(upper).any():
        bad = int(np.argmax((lower > upper) | np.isposinf(lower) | np.isneginf(upper)))
        raise ValueError(
            f"The 'bounds' parameter of {owner} leaves no finite {x.dtype} value between "
            f"its min and max at index {bad}; widen them or use float64."
        )
    if np.isneginf(lower).all() and np.isposinf(upper).all():
        return None, None
    return lower, upper


def _callback(callback, owner):
    """Return ``(call, new_style)`` for SciPy's two callback styles, by parameter name."""
    if callback is None:
        return None, False
    if not callable(callback):
        raise check._fail(TypeError, "callback", owner, "a callable or None", callback)
    try:
        names = set(inspect.signature(callback).parameters)
    except (TypeError, ValueError):   # builtins without a signature
        names = set()
    return callback, names == {"intermediate_result"}


def _evaluator(fun, jac, args, owner, lower, upper):
    """Return ``(evaluate, calls, estimated)``: the evaluator, its counts
    ``[nfev, njev]`` and whether it estimates the gradient by differences."""
    inner = _objective.unwrap_memoized(fun, jac)
    if inner is not None:
        fun, jac = inner, True
    if not callable(fun):
        raise check._fail(TypeError, "fun", owner, "a callable", fun)
    if jac is True:
        return (*_objective.combined(fun, args, owner), False)
    if callable(jac):
        return (*_objective.separate(fun, jac, args, owner), False)
    if jac is None or jac is False or (isinstance(jac, str) and jac == "2-point"):
        return (*_objective.forward_differences(fun, args, owner, lower, upper), True)
    raise check._fail(ValueError, "jac", owner,
                      "a callable, True (fun returns value and gradient), or None/'2-point' "
                      "(forward differences)", jac)


def _resume(state, cls, owner, x, defaults, given):
    """Check a ``state`` option; return (optimizer kwargs, state pieces)."""
    where = f"The 'state' option of {owner}"
    if not isinstance(state, Mapping):
        raise TypeError(f"{where} must be the 'state' of a previous result. "
                        f"Got {check.show(state)} instead.")
    keys = {"method", "optimizer", "x", "evaluation", "batch", "plateau", "callables",
            "stationarity"}
    if set(state) not in (keys, keys - {"stationarity"}):   # (without: an older state)
        raise ValueError(f"{where} must be the 'state' of a previous result (keys "
                         f"{sorted(keys)}). Got keys {sorted(state)} instead.")
    if not isinstance(state["method"], str) or state["method"] != owner:
        raise ValueError(f"{where} comes from method {check.show(state['method'])}, "
                         f"not {owner!r}.")
    saved_x = state["x"]
    if not (isinstance(saved_x, np.ndarray) and saved_x.shape == x.shape
            and saved_x.dtype == x.dtype):
        raise ValueError(f"{where} is for x of {check.show(saved_x)}; x0 is "
                         f"{check.show(x)}.")
    _checkpoint.check_run_state(state, x, where, _CALLABLE_HYPERPARAMETERS)
    missing = [name for name in state["callables"] if name not in given]
    if missing:
        raise ValueError(
            f"{where} was saved by a run whose {' and '.join(map(repr, missing))} "
            f"{'was a callable' if len(missing) == 1 else 'were callables'}, which a state "
            f"does not hold: pass {' and '.join(missing)} again in the options."
        )
    if state["evaluation"] is not None and not math.isfinite(state["evaluation"][0]):
        raise ValueError(f"{where} has a non-finite 'fun' in its evaluation "
                         f"({state['evaluation'][0]!r}); a run never saves one.")
    saved = dict(state["optimizer"])
    kwargs = {**defaults,
              **{k: saved[k] for k in defaults if k in saved}, **given}
    return kwargs, saved


def _same_value(a, b):
    """Whether a saved hyperparameter equals this run's (callables: by identity
    of type and configuration is not known, so only numbers and strings compare)."""
    if callable(a) or callable(b):
        return a is b or (type(a) is type(b) and getattr(a, "to_config", None) is not None
                          and a.to_config() == b.to_config())
    try:
        return bool(a == b)
    except (TypeError, ValueError):   # arrays or other values of a corrupted state
        return False


def _minimize(cls, owner, fun, x0, args, jac, callback, hess, hessp, bounds, constraints,
              options):
    """The generic driver of every SciPy method: a setup, a loop and a finish
    around one `_Run`.  ``cls`` is an optimizer class (`adamopt._driven.Driven`)."""
    _warn_ignored(owner, hess, hessp, constraints)
    run = _setup(cls, owner, fun, x0, args, jac, callback, bounds, options)
    _loop(run)
    return _finish(run)


def _warn_ignored(owner, hess, hessp, constraints):
    if hess is not None or hessp is not None:
        _warn(f"Method {owner} does not use Hessian information (hess, hessp); "
              f"it is ignored.", RuntimeWarning)
    if constraints is not None and not (isinstance(constraints, (list, tuple, dict))
                                        and len(constraints) == 0):
        _warn(f"Method {owner} cannot handle constraints; they are ignored "
              f"(use bounds, or a constrained method such as 'trust-constr').",
              RuntimeWarning)


class _Run:
    """One run of a SciPy method: what `_setup` builds, `_loop` advances and
    `_finish` reports.

    The loop reads the settings (``opt``, ``x``, ``evaluate``, the stopping
    tests, ...) into locals and writes its state back when it ends: the last
    completed evaluation ``evaluation = (f, g, t)`` (at the current ``x`` when
    ``t == opt.t``), the batch drawn but not used yet ``pending``, the last
    iterate whose objective and gradient were both finite ``good = (x copy, f,
    g, nit)`` and ``start`` (the first one), ``nit`` (from the run's fresh
    start), ``status`` and whether ``maxfev`` ended it.
    """

    def __init__(self, **settings):
        self.__dict__.update(settings)
        self.good = self.start = self.status = self.interrupted = None
        self.step_norm = None   # the last step's norm, when its pass took it
        self.by_maxfev = False


def _setup(cls, owner, fun, x0, args, jac, callback, bounds, options):
    """Check everything and build the run (before any call of ``fun``)."""
    if not isinstance(args, tuple):
        args = (args,)
    defaults, given, settings = _parse_options(cls, owner, options)
    x = _initial_x(x0, owner)
    lower, upper = _bounds(bounds, x, owner)
    evaluate, calls, estimated = _evaluator(fun, jac, args, owner, lower, upper)
    call_back, new_style = _callback(callback, owner)
    resumed = _checkpoint.start(settings, owner, x, given)
    with _checkpoint.entries_of(resumed):
        opt, kwargs, start = _optimizer(cls, owner, x, settings, resumed, defaults, given)
    if lower is not None:
        np.clip(x, lower, upper, out=x)
    _run_groups.check_settings(cls, opt, kwargs, x.dtype)
    sign = -1.0 if kwargs["maximize"] else 1.0
    plateau = Plateau(settings["ftol"], settings["patience"], settings["smoothing"], sign,
                      start["plateau"])
    batches = settings["batches"]
    stochastic, stationarity, stops = _stationarity.settings(
        settings, x, start["stationarity"],
        tuple(kwargs.get(name) for name in ("average", "average_decay", "average_start")),
        opt.t)
    saver = None
    if settings["checkpoint"] is not None:
        saver = _checkpoint.Saver(settings["checkpoint"], settings["checkpoint_every"],
                                  owner, opt, x, plateau, batches, calls, kwargs)
        saver.stationarity = stationarity
    monitor = _monitor.monitor(owner, settings, settings["smoothing"], _warn)
    if monitor is not None:
        monitor.stationarity = stationarity
    if resumed is not None:     # maxiter, nit, nfev and njev count from the fresh start
        calls[0], calls[1] = resumed.nfev, resumed.njev
        if saver is not None:
            saver.last = resumed.nit
    gradient_test = (GradientTest(opt, settings["gtol"], settings["norm"], lower, upper,
                                  current=not stochastic) if settings["gtol"] > 0.0 else None)
    if gradient_test is not None and not stochastic and getattr(
            getattr(cls, "_DECLARATION", None), "averaged", None) is not None:
        gradient_test.test = _confirmed_at_the_average(
            gradient_test.test, opt, x, evaluate, calls, x.size + 1 if estimated else 1,
            settings["maxfev"])
    return _Run(
        owner=owner, opt=opt, x=x, lower=lower, upper=upper, evaluate=evaluate,
        calls=calls, estimated=estimated,
        # the most calls of fun one evaluation makes (maxfev is never exceeded)
        cost=x.size + 1 if estimated else 1,
        call_back=call_back, new_style=new_style, batches=batches, plateau=plateau,
        gradient_test=gradient_test,
        stationarity=stationarity, stationarity_stops=stops, stochastic=stochastic,
        monitor=monitor,
        saver=saver, maxiter=settings["maxiter"], maxfev=settings["maxfev"],
        disp=settings["disp"], history=settings["history"], interrupt=settings["interrupt"],
        evaluation=start["evaluation"], pending=start["pending"],
        same_settings=start["same_settings"],
        nit=0 if resumed is None else resumed.nit,
        callables=tuple(name for name in _CALLABLE_HYPERPARAMETERS
                        if callable(kwargs.get(name))
                        and not _schedules.storable(kwargs[name])),
        kept={name: kwargs[name] for name in _CALLABLE_HYPERPARAMETERS
              if _schedules.storable(kwargs.get(name))},
        # the ReduceOnPlateau schedules fed fun_smoothed, and every how many iterations
        reports=_plateau.reports(kwargs, _CALLABLE_HYPERPARAMETERS, batches),
    )


def _confirmed_at_the_average(test, opt, x, evaluate, calls, cost, maxfev):
    """The deterministic ``gtol`` test of an algorithm that returns its own
    averaged point (schedule-free: the gradient is taken at y, ``res.x`` is
    x): when the gradient at the iterate passes ``test``, the gradient at the
    averaged point is evaluated (one more call of the objective, counted) and
    must pass too, so that ``success`` never reports a ``res.x`` whose
    gradient exceeds ``gtol``.  Without the calls left (``maxfev``) it does
    not fire."""
    def confirmed(grad=None):
        if not test(grad):
            return False
        if maxfev is not None and calls[0] + cost > maxfev:
            return False
        point = np.array(opt._averaged_point(), copy=True).reshape(x.shape)
        return test(evaluate(point.copy(), (), point.copy())[1])
    return confirmed


def _optimizer(cls, owner, x, settings, resumed, defaults, given):
    """The optimizer of the run, fresh or continuing a ``state`` or a checkpoint
    (``x`` then holds the checkpoint's iterate); return it, its hyperparameters
    and what the loop starts from."""
    state = settings["state"]
    parts = _run_groups.parse(settings["groups"], x.size, cls, owner)
    if resumed is not None:
        state, given = resumed.state, {**resumed.given, **given}
        x[...] = resumed.x
    start = {"evaluation": None, "pending": None, "plateau": None, "same_settings": True,
             "stationarity": None}
    if state is None:
        kwargs = _plateau.own_copies({**defaults, **given}, _CALLABLE_HYPERPARAMETERS)
        return _run_groups.optimizer(cls, x, kwargs, parts), kwargs, start
    kwargs, saved = _resume(state, cls, owner, x, defaults, given)
    # (a ReduceOnPlateau given or kept in the state: the run drives its own copy)
    kwargs = _plateau.own_copies(kwargs, _CALLABLE_HYPERPARAMETERS)
    opt = _run_groups.optimizer(cls, x, kwargs, parts)
    # The tests that a resumed run runs at once trust the saved state only
    # when it was saved with the hyperparameters of this run: a smoothed
    # gradient kept by other ones (an all-zero momentum buffer of a run without
    # momentum) says nothing about convergence.
    start["same_settings"] = all(_same_value(saved[name], kwargs[name])
                                 for name in defaults if name in saved)
    fixed = cls._run_fixed()
    opt.load_state_dict({k: v for k, v in saved.items() if k not in defaults or k in fixed})
    if np.array_equal(x, state["x"]) and state["evaluation"] is not None:
        start["evaluation"] = (*state["evaluation"], opt.t)
    start["pending"], start["plateau"] = state["batch"], state["plateau"]
    start["stationarity"] = _stationarity.check_verdict(state.get("stationarity"),
                                                        f"The 'state' option of {owner}")
    if resumed is not None and resumed.stream is not None:
        settings["batches"].load_state_dict(resumed.stream)
    return opt, kwargs, start


def _loop(run):
    """Iterate until a stopping rule, a fault or an interrupt; store the loop's
    state back into ``run``.

    The loop keeps every piece of run state in a variable replaced whole (one
    store), so that a KeyboardInterrupt between any two statements leaves a
    consistent picture (tests/test_interrupts.py raises one at each): see
    `_Run` for what each holds.  The work of an iteration is counted in
    attribute lookups too, hence the locals.

    (Why this function is longer than 80 lines: the loop's state lives in its
    locals, and a piece of the body moved into a function would hand new
    state back through a ``return``, where an interrupt between the return and
    the store loses it, the window the streams' `_unget` exists for.)
    """
    opt, x, lower, upper, owner = run.opt, run.x, run.lower, run.upper, run.owner
    evaluate, calls, cost, batches = run.evaluate, run.calls, run.cost, run.batches
    plateau, gradient_test, monitor, saver = (run.plateau, run.gradient_test, run.monitor,
                                              run.saver)
    gradient_test = None if gradient_test is None else gradient_test.test
    stationarity, stationarity_stops = run.stationarity, run.stationarity_stops
    call_back, new_style, maxiter, maxfev = (run.call_back, run.new_style, run.maxiter,
                                             run.maxfev)
    evaluation, pending, nit = run.evaluation, run.pending, run.nit
    reports, report_every = run.reports
    first_nit, first_t = nit, opt.t   # nit - first_nit == opt.t - first_t: the steps taken
    good = start = status = None
    by_maxfev = False
    no_batch = ()
    # The step's own pass makes `before` (the fallback `good`) equal to the
    # iterate it starts from and writes the new, projected iterate into `arg`,
    # the objective's copy (adamopt/_post.pxi): no other pass over x per
    # iteration.  The two buffers trade roles after each evaluation whose
    # objective did not keep its argument (`_fused.swap`): `before` is then
    # the copy the objective had, equal to the iterate unless the objective
    # changed it, and the pass only reads it (rewriting what was changed), so
    # an iteration writes one copy of x, not two.
    lo, hi = _fused.pass_bounds(lower, upper)
    before, arg = np.empty_like(x), np.empty_like(x)
    # (an optimizer whose step is not its own core's one-array pass, SWATS or a
    # segmented step with clipping, does them here instead)
    fused = getattr(opt, "_fused_pass", True) and getattr(opt, "_segments", None) is None
    # The monitor's step norm |x - before| is taken in the pass too (read
    # through `step_norm` when a row is due), not in a pass of its own.
    step_norm = None
    if fused:
        opt._post(lower=lo, upper=hi, before=before, out=arg, step_norm=monitor is not None)
        step_norm = opt._post_step_norm
    kept = sys.getrefcount(arg)    # more: the objective kept its argument
    # (the calls of every iteration, looked up once)
    refcount, isfinite, plateau_update = sys.getrefcount, math.isfinite, plateau.update
    # (below a few blocks the copies cost less than the swap's Python calls)
    swapping = fused and x.size >= _fused.SWAP_MIN
    # The count of batches an adamopt stream had handed out before the draw in
    # progress (None otherwise): an interrupt between the stream's ``return``
    # and the store into `pending` loses a batch, which the stream takes back.
    drawn = None
    try:
        if evaluation is None:
            if pending is None and batches is not None:
                try:
                    drawn = getattr(batches, "_handed", None)
                    pending = next(batches)
                    drawn = None
                except StopIteration:
                    status = 3
            if status is None:
                batch = no_batch if pending is None else (
                    pending if type(pending) is tuple else (pending,))
                np.copyto(arg, x)
                f, g = evaluate(x, batch, arg)
                evaluation, pending = (f, g, opt.t), None
                if sys.getrefcount(arg) > kept:
                    arg = _fused.renew(opt, before, fused)
                elif swapping:
                    before, arg = _fused.swap(opt, before, arg)
                if not math.isfinite(f):
                    status = 4
                elif plateau.update(f) and (stationarity is None or stationarity.fired):
                    status = 2     # a resumed run may stop at once
                elif gradient_test is not None and gradient_test(g):
                    status = 0
        elif not run.same_settings:
            pass                 # tested after the first step of this run
        # A state whose last evaluation is current: the tests that run after
        # it, as a run that never stopped.
        elif plateau.fired and (stationarity is None or stationarity.fired):
            status = 2
        elif stationarity_stops and stationarity.fired:
            status = 7
        elif gradient_test is not None and gradient_test(evaluation[1]):
            status = 0
        # A finite iterate to fall back on if a step overflows x (see _finish):
        # only a step outside the core's guarded pass (SWATS) can; the core's
        # refuses a step whose new x would exceed its limit (a fault, status 5,
        # with `before` as the fallback), so a fused run keeps no copy.
        start = (None if evaluation is None or fused
                 else (x.copy(), evaluation[0], None, nit))
        if monitor is not None and status is None:
            monitor.update(nit, evaluation[0], evaluation[1], x, None)
        while status is None:
            if nit >= maxiter:
                status = 1
                break
            if maxfev is not None and calls[0] + cost > maxfev:
                status, by_maxfev = 1, True
                break
            if pending is None and batches is not None:
                try:        # drawn before the step, so that x always has its evaluation
                    drawn = getattr(batches, "_handed", None)
                    pending = next(batches)
                    drawn = None
                except StopIteration:
                    status = 3
                    break
            f, g, _ = evaluation
            if not fused:
                np.copyto(before, x)
            try:
                opt.step(g)
            except check.GradientValueError:
                status = 5
                break
            except (TypeError, ValueError) as exc:
                if hasattr(exc, "add_note") and str(exc).startswith("The 'grad' parameter"):
                    exc.add_note(f"(the gradient that the objective given to {owner} "
                                 f"returned at iteration {nit})")
                raise
            if not fused:
                _fused.unfused_pass(x, lower, upper, arg)
            t = opt.t
            good = (before, f, g, nit, t)   # `before` holds the iterate of (f, g)
            nit += 1
            if pending is None:
                batch = no_batch
            else:
                batch = pending if type(pending) is tuple else (pending,)
            f, g = evaluate(x, batch, arg)
            evaluation, pending = (f, g, t), None
            if refcount(arg) > kept:    # the objective kept it: a new one
                arg = _fused.renew(opt, before, fused)
            elif swapping:    # `arg` (at x) is the next step's `before`, `before` its copy
                before, arg = _fused.swap(opt, before, arg)
            if not isfinite(f):
                status = 4
                break
            # The plateau average takes f before the callback runs: a run that a
            # KeyboardInterrupt in the callback stops, resumed from its state
            # (which holds this evaluation), must not miss f.
            plateau_fired = plateau_update(f)
            if reports and opt.t % report_every == 0:   # ReduceOnPlateau: fun_smoothed
                for schedule in reports:
                    schedule.step(plateau.average)
            # (the stationarity test records x; the plateau test needs it too)
            stationary = stationarity is not None and stationarity.update(x)
            if monitor is not None:
                monitor.update(nit, f, g, x, good[0] if step_norm is None else step_norm)
            if call_back is not None:
                try:
                    if new_style:
                        call_back(intermediate_result=OptimizeResult(
                            x=x.copy(), fun=f, jac=_jac_array(g, x, owner), nit=nit))
                    else:
                        call_back(x.copy())
                except StopIteration:
                    status = 99
                    break
            if plateau_fired and (stationarity is None or stationarity.fired):
                status = 2
            elif stationary and stationarity_stops:
                status = 7
            elif gradient_test is not None and gradient_test(g):
                status = 0
            if saver is not None and status is None and saver.due(nit):
                saver.save(nit, evaluation)
    except KeyboardInterrupt:
        # The iterations are the steps taken: an interrupt between a step and
        # the count of it (or inside a large step, raised once it returns).
        status, nit = 6, first_nit + (opt.t - first_t)
        run.interrupted = sys.exc_info()[1]   # (warned about or raised again by _finish)
        if pending is None and drawn is not None and batches._handed == drawn + 1:
            batches._unget()
        if opt.t > first_t and (good is None or good[4] != opt.t):
            # between a step and the store of its `good`: `before` holds the
            # iterate of the last evaluation, the step's starting point
            good = (before, evaluation[0], evaluation[1], nit - 1, opt.t)
    except BaseException:
        if monitor is not None:    # the objective raised: leave the terminal clean
            monitor.abandon()
        raise
    run.evaluation, run.pending, run.good, run.start = evaluation, pending, good, start
    run.nit, run.status, run.by_maxfev = nit, status, by_maxfev
    if step_norm is not None:
        run.step_norm = step_norm()    # the last step's, for the monitor's last row
    if fused:
        opt._post()    # (the run's buffers are released with the loop's locals)


def _finish(run):
    """The result of the run: the last checks, the final checkpoint, the
    monitor's last row, and the `OptimizeResult`."""
    x, opt, status, note = run.x, run.opt, run.status, ""
    if status not in (4, 5) and not np.isfinite(x).all():
        # A step overflowed the parameters to infinity (an lr or a weight decay
        # too large for their dtype) and the objective stayed finite there: a
        # fault, reported with the last iterate that was finite.  Checked once
        # per run, not per iteration, to keep the loop cheap.
        status, note = 5, _OVERFLOW_NOTE
        if run.good is None or not np.isfinite(run.good[0]).all():
            run.good = run.start
        run.status = status
    if run.saver is not None:
        run.saver.finish(run.nit, status, run.evaluation, run.pending)
    monitor = run.monitor
    if monitor is not None:
        monitor.close(run.nit, run.evaluation is not None and run.evaluation[2] == opt.t, x,
                      None if run.good is None
                      else run.good[0] if run.step_norm is None else run.step_norm)
    if status not in (4, 5):
        # (the fallback buffer is not reported: freed before the result is built)
        run.good = run.start = None
    message = (MAXFEV_MESSAGE if run.by_maxfev and status == 1
               else STATUS_MESSAGES[status]) + note
    if status == 1 and not run.by_maxfev and {"lr", "schedule"} & {*run.kept, *run.callables}:
        message += BUDGET_NOTE
    if run.estimated:
        message += ESTIMATED_NOTE
    result = _result(run, message)
    _averaged_result(run, result)
    _certified_average(run, result)
    if monitor is not None and run.history:
        result["history"] = monitor.history()
    _interrupt.report(run, result, _warn)   # Ctrl-C: a warning, or raised again
    return result


class RunState(ReadOnlyMapping):
    """The ``state`` of a result: a read-only mapping of plain values and
    arrays (picklable; ``dict(state)`` gives a plain dict) with a short repr,
    so that printing a result does not print the moments."""

    def __repr__(self):
        x = self.get("x")
        shape = getattr(x, "shape", "?")
        dtype = getattr(x, "dtype", "?")
        t = self.get("optimizer", {}).get("t", "?")
        return (f"<{self.get('method')} run state: t={t}, x of shape {shape} and dtype "
                f"{dtype}; pass it back as options['state'] to continue>")


_OVERFLOW_NOTE = (" (Here a step overflowed the parameters to infinity: lr or "
                  "weight_decay is too large for their dtype.)")


def _result(run, message):
    """The `OptimizeResult` of a finished run, its ``message`` so far given."""
    opt, owner, x, status, evaluation, good = (run.opt, run.owner, run.x, run.status,
                                               run.evaluation, run.good)
    current = evaluation is not None and evaluation[2] == opt.t
    if status in (4, 5) and good is not None:
        # A fault: report the last iterate where the objective and gradient were finite.
        xr, f, g = good[:3]     # (xr: the loop's buffer `before`, now the result's)
        if evaluation is not None and g is evaluation[1]:
            g = None    # the objective reuses its gradient array: the good one is gone
    elif status in (4, 5):
        xr, f, g = x.copy(), evaluation[0], evaluation[1]
        message += " (This happened at x0.)"
    else:
        xr = x      # the run's own array (a copy of x0): the result's, as the state's moments
        f, g = (evaluation[0], evaluation[1]) if evaluation is not None else (math.nan, None)
    if status == 6 and not current and evaluation is not None:
        message += (" The interrupt came after the step to x, before its evaluation "
                    "completed: fun and jac are from the previous iterate.")
    if g is not None and status == 4:   # a gradient never checked: kept if it is one
        try:
            g = _jac_array(g, x, owner)
        except (TypeError, ValueError):
            g = None
    jac = None if g is None else _jac_array(g, x, owner)
    # The state's copy of the gradient is the result's `jac` when both are the
    # current evaluation's (one copy, not two: see _Run's memory note).
    state_jac = None
    if current and status not in (4, 5):
        state_jac = jac if g is evaluation[1] and jac is not None else _jac_array(
            evaluation[1], x, owner)
    run_state = RunState({
        "method": owner,
        "optimizer": {**own_state_dict(opt), **run.kept},
        "x": x.copy() if xr is x else x,
        "evaluation": None if state_jac is None else (evaluation[0], state_jac),
        "batch": run.pending,
        "plateau": run.plateau.state,
        "stationarity": None if run.stationarity is None else run.stationarity.verdict,
        "callables": run.callables,
    })
    result = OptimizeResult(
        x=xr, fun=float(f), jac=jac, nit=run.nit, nfev=run.calls[0], njev=run.calls[1],
        status=status,
        success=status in SUCCESS and math.isfinite(f) and bool(np.isfinite(xr).all()),
        message=message, state=run_state,
        fun_smoothed=run.plateau.average,
        stationarity=math.nan if run.stationarity is None else run.stationarity.value,
    )
    if run.disp:
        _print_summary(result, owner)
        if not result.success:      # as SciPy's methods do with disp=True
            _warn(message, OptimizeWarning)
    return result


def _averaged_result(run, result):
    """With iterate averaging (the ``average`` option, or an algorithm whose
    state holds an averaged point): ``x`` becomes the averaged point, and
    ``x_last``, ``fun_last``, ``jac_last`` keep the last iterate's.  ``fun``
    and ``jac`` are evaluated at the averaged point: without ``batches`` the
    objective itself; with ``batches`` on the batch the run had drawn next
    (one minibatch's value, as ``fun`` always is then); NaN and None when no
    batch is left, ``maxfev`` allows no more calls, or the run faulted."""
    point = run.opt._averaged_point()
    if point is None:
        return
    result["x_last"], result["fun_last"], result["jac_last"] = (result.x, result.fun,
                                                                 result.jac)
    if run.status in (4, 5):
        return      # a fault: the last good iterate, not an average that saw the fault
    xa = np.array(point, copy=True).reshape(run.x.shape)
    result["x"], result["fun"], result["jac"] = xa, math.nan, None
    batch = () if run.batches is None else run.pending
    if batch is None or (run.maxfev is not None and run.calls[0] + run.cost > run.maxfev):
        return
    batch = batch if type(batch) is tuple else (batch,)
    f, g = run.evaluate(xa, batch, xa.copy())    # (the objective gets a copy of its own)
    result["fun"] = float(f)
    result["jac"] = _jac_array(g, xa, run.owner)
    result["nfev"], result["njev"] = run.calls[0], run.calls[1]
    result["success"] = result.success and math.isfinite(result.fun)


def _certified_average(run, result):
    """With averaging, a deterministic run that a convergence test stopped
    reports success for ``res.x`` only if the test holds there too: for the
    ``gtol`` test (status 0), the gradient at ``res.x`` is at most ``gtol``;
    for the plateau test (status 2), ``fun`` there is no worse than at the
    last iterate.  The test looked at the last iterate, and the averaged
    point (evaluated by `_averaged_result`) may lag far behind it (measured:
    a gradient 1e2 to 2e4 times gtol on three problems).  Otherwise ``x``,
    ``fun`` and ``jac`` are the last iterate's, which the test certified."""
    if run.stochastic or "x_last" not in result or result.status not in (0, 2):
        return
    if result.status == 0:
        test = run.gradient_test
        if result.jac is not None and test.norm_at(result.x, result.jac) <= test.gtol:
            return
    elif run.plateau.sign * result.fun <= run.plateau.sign * result.fun_last:
        return
    result["x"], result["fun"] = result.x_last.copy(), result.fun_last
    result["jac"] = None if result.jac_last is None else result.jac_last.copy()
    result["success"] = math.isfinite(result.fun) and bool(np.isfinite(result.x).all())
    result["message"] += AVERAGE_NOTE


def _jac_array(g, x, owner):
    """A copy of the gradient ``g`` at ``x`` as an array of ``x``'s dtype and
    shape; `TypeError`/`ValueError` naming it when it is none (a gradient the
    run returns or hands to the callback before any step has checked it)."""
    return np.array(check.grad_array(g, x, f"{owner} (the gradient of the objective)",
                                     check_range=False), copy=True)


def _print_summary(result, owner):
    print(f"{owner}: {result.message}\n"
          f"         Current function value: {result.fun:.6g}\n"
          f"         Iterations: {result.nit}\n"
          f"         Function evaluations: {result.nfev}\n"
          f"         Gradient evaluations: {result.njev}", file=sys.stdout)
