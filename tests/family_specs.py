"""What the tests need to know about each algorithm of Adam's family: its
class and SciPy method, its state, its reference step, the options to draw,
and the error bound of one compiled step against the reference.

A test of the family is written once, over `SPECS`; adding an algorithm is
adding a `Spec`.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

import adamopt
from adamopt import _reference
from adamopt._kernels import GRAD_LIMIT_FLOAT32, GRAD_LIMIT_FLOAT64

#: Safety factor over the count of rounded operations per result.
SAFETY = 16

SQUARE_LIMIT = {np.float32: GRAD_LIMIT_FLOAT32, np.float64: GRAD_LIMIT_FLOAT64}

log_uniform = lambda lo, hi: st.floats(lo, hi).map(lambda e: 10.0**e)  # noqa: E731
rates = st.one_of(st.sampled_from([0.0, 0.3, 0.5, 0.9, 0.99, 0.999]),
                  st.floats(0.0, 1.0, exclude_max=True))
weight_decays = st.one_of(st.just(0.0), log_uniform(-4, 1))


@dataclass
class Spec:
    """One algorithm of the family, as the tests see it."""

    name: str
    cls: type
    method: Callable
    #: State arrays (keys of state_dict) for the given options.
    arrays: Callable[[dict], tuple]
    #: Hypothesis strategy of constructor options (lr a number).
    options: Callable[[], Any]
    #: reference(x, g, state dict, t, **options) -> (x, state dict), float64 inside.
    reference: Callable
    #: Whether the algorithm squares the gradient (the check's limit).
    squares: bool
    #: Non-negative state arrays (the rest may have any sign).
    nonnegative: tuple = ()
    #: Option combinations the deterministic tests run (besides the defaults).
    combinations: list = field(default_factory=list)
    #: A learning rate that converges on sum(x**2) from a few units in 3000 steps.
    quadratic_lr: float = 0.05
    #: Extra state scalars (e.g. NAdam's mu_product): name -> value before step t.
    scalars: Callable[[int, dict], dict] = lambda t, opts: {}
    #: A random state reachable before a step: (rng, shape, dtype, opts, scale) -> dict,
    #: or None for independent normal arrays (squared where non-negative).
    make_state: Callable | None = None
    #: Bad constructor values of its own options: (name, value, exception).
    bad_options: list = field(default_factory=list)
    #: Extra error bounds (on x and on each state array) beyond the generic ones:
    #: (x, g, state, new state, t, dtype, opts) -> (bx, {key: bound}).
    extra_bound: Callable | None = None

    def limit(self, dtype):
        if self.squares:
            return float(SQUARE_LIMIT[dtype])
        return float(np.finfo(dtype).max)


# -- SGD ------------------------------------------------------------------------------------


@st.composite
def _sgd_options(draw):
    momentum = draw(st.one_of(st.just(0.0), rates))
    nesterov = momentum > 0 and draw(st.booleans())
    return dict(lr=draw(log_uniform(-6, 1)), momentum=momentum,
                dampening=0.0 if nesterov else draw(st.one_of(st.just(0.0), rates)),
                weight_decay=draw(weight_decays), nesterov=nesterov,
                maximize=draw(st.booleans()))


def _sgd_reference(x, g, state, t, **o):
    x, buf = _reference.sgd_step(x, g, state["momentum_buffer"], t, **o)
    return x, {"momentum_buffer": buf}


SGD = Spec(
    name="sgd", cls=adamopt.SGD, method=adamopt.sgd,
    arrays=lambda o: ("momentum_buffer",), options=_sgd_options, reference=_sgd_reference,
    squares=False,
    bad_options=[("momentum", 1.0, ValueError), ("momentum", -0.1, ValueError),
                 ("dampening", 1.5, ValueError), ("nesterov", "yes", TypeError),
                 ("momentum", "0.9", TypeError)],
    combinations=[dict(momentum=0.9), dict(momentum=0.9, nesterov=True, weight_decay=0.1),
                  dict(momentum=0.5, dampening=0.3, maximize=True), dict(weight_decay=0.2)],
)


# -- Adagrad --------------------------------------------------------------------------------

epsilons = log_uniform(-12, 0)


@st.composite
def _adagrad_options(draw):
    return dict(lr=draw(log_uniform(-6, 1)), lr_decay=draw(st.one_of(st.just(0.0),
                                                                     log_uniform(-4, 0))),
                weight_decay=draw(weight_decays),
                initial_accumulator_value=draw(st.sampled_from([0.0, 0.1])),
                eps=draw(epsilons), maximize=draw(st.booleans()))


def _adagrad_reference(x, g, state, t, initial_accumulator_value=0.0, **o):
    x, acc = _reference.adagrad_step(x, g, state["sum"], t, **o)
    return x, {"sum": acc}


ADAGRAD = Spec(
    name="adagrad", cls=adamopt.Adagrad, method=adamopt.adagrad,
    arrays=lambda o: ("sum",), options=_adagrad_options, reference=_adagrad_reference,
    squares=True, nonnegative=("sum",), quadratic_lr=0.5,
    bad_options=[("lr_decay", -1.0, ValueError), ("initial_accumulator_value", -0.1, ValueError),
                 ("initial_accumulator_value", float("inf"), ValueError),
                 ("eps", 0.0, ValueError), ("eps", None, TypeError)],
    combinations=[dict(lr_decay=0.01, weight_decay=0.1), dict(initial_accumulator_value=0.5),
                  dict(maximize=True, eps=1e-6)],
)


# -- RMSprop --------------------------------------------------------------------------------


@st.composite
def _rmsprop_options(draw):
    return dict(lr=draw(log_uniform(-6, 1)), alpha=draw(rates), eps=draw(epsilons),
                weight_decay=draw(weight_decays),
                momentum=draw(st.one_of(st.just(0.0), rates)),
                centered=draw(st.booleans()), maximize=draw(st.booleans()))


def _rmsprop_arrays(opts):
    if opts.get("centered"):
        return ("square_avg", "grad_avg", "momentum_buffer")
    return ("square_avg", "momentum_buffer")


def _rmsprop_reference(x, g, state, t, **o):
    x, sq, ga, buf = _reference.rmsprop_step(x, g, state["square_avg"], state.get("grad_avg"),
                                             state["momentum_buffer"], t, **o)
    out = {"square_avg": sq, "momentum_buffer": buf}
    if o.get("centered"):
        out["grad_avg"] = ga
    return x, out


def _rmsprop_state(rng, shape, dtype, opts, scale):
    """grad_avg**2 <= square_avg, as the averages of g and g**2 are."""
    avg = rng.standard_normal(shape) * scale
    state = {"square_avg": np.asarray(avg * avg * rng.uniform(1.0, 4.0, shape), dtype),
             "momentum_buffer": np.asarray(rng.standard_normal(shape) * scale, dtype)}
    if opts.get("centered"):
        state["grad_avg"] = np.asarray(avg, dtype)
    return state


def _rmsprop_extra(x, g, state, new, t, dtype, opts):
    """The centred denominator sqrt(v - avg**2) suffers cancellation: its
    error is that of v - avg**2, e <= c u (v + avg**2), which moves the root by
    at most d = min(e / (2 sqrt(w)), sqrt(e)); the compiled denominator is at
    least max(den - d, eps), so the step g / den moves by at most
    |g| d / (den max(den - d, eps)) (times lr for x)."""
    if not opts.get("centered"):
        return 0.0, {}
    f64 = np.float64
    u = np.finfo(dtype).eps / 2 + np.finfo(f64).eps / 2
    v, a = np.asarray(new["square_avg"], f64), np.asarray(new["grad_avg"], f64)
    w = np.maximum(v - a * a, 0.0)
    e = SAFETY * (u * (v + a * a) + float(np.finfo(dtype).smallest_subnormal))
    with np.errstate(divide="ignore", invalid="ignore"):
        droot = np.minimum(np.where(w > 0, e / (2 * np.sqrt(w)), np.inf), np.sqrt(e))
    den = np.sqrt(w) + opts.get("eps", 1e-8)
    g_abs = np.abs(np.asarray(g, f64)) + opts.get("weight_decay", 0.0) * np.abs(
        np.asarray(x, f64))
    eps = opts.get("eps", 1e-8)
    step = SAFETY * g_abs * droot / (den * np.maximum(den - droot, eps))
    scale = 1.0 / (1.0 - opts["momentum"]) if opts.get("momentum", 0.0) > 0 else 1.0
    return opts["lr"] * step * scale, {"momentum_buffer": step * scale}


RMSPROP = Spec(
    name="rmsprop", cls=adamopt.RMSprop, method=adamopt.rmsprop,
    arrays=_rmsprop_arrays, options=_rmsprop_options, reference=_rmsprop_reference,
    squares=True, nonnegative=("square_avg",), make_state=_rmsprop_state,
    extra_bound=_rmsprop_extra,
    bad_options=[("alpha", 1.0, ValueError), ("alpha", -0.5, ValueError),
                 ("centered", 1, TypeError), ("momentum", float("nan"), ValueError),
                 ("eps", -1e-8, ValueError)],
    combinations=[dict(centered=True), dict(momentum=0.9), dict(centered=True, momentum=0.5,
                                                                 weight_decay=0.1),
                  dict(alpha=0.3, maximize=True)],
)


# -- Adamax ---------------------------------------------------------------------------------


@st.composite
def _adam_like_options(draw):
    return dict(lr=draw(log_uniform(-6, 1)), beta1=draw(rates), beta2=draw(rates),
                eps=draw(epsilons), weight_decay=draw(weight_decays),
                maximize=draw(st.booleans()))


def _adamax_reference(x, g, state, t, **o):
    x, m, u = _reference.adamax_step(x, g, state["m"], state["u"], t, **o)
    return x, {"m": m, "u": u}


ADAMAX = Spec(
    name="adamax", cls=adamopt.Adamax, method=adamopt.adamax,
    arrays=lambda o: ("m", "u"), options=_adam_like_options, reference=_adamax_reference,
    squares=False, nonnegative=("u",),
    bad_options=[("beta1", 1.0, ValueError), ("beta2", -0.1, ValueError),
                 ("eps", 0.0, ValueError), ("beta1", "0.9", TypeError)],
    combinations=[dict(weight_decay=0.1), dict(beta1=0.3, beta2=0.5, maximize=True)],
)


# -- NAdam ----------------------------------------------------------------------------------


@st.composite
def _nadam_options(draw):
    opts = draw(_adam_like_options())
    opts.update(momentum_decay=draw(st.sampled_from([4e-3, 0.0, 0.1])),
                decoupled_weight_decay=draw(st.booleans()))
    return opts


def _mu_product(t, opts):
    """P_{t-1}: the product of the momentum coefficients before step t."""
    beta1, psi = opts.get("beta1", 0.9), opts.get("momentum_decay", 4e-3)
    s = np.arange(1, t, dtype=np.float64)
    return {"mu_product": float(np.prod(beta1 * (1.0 - 0.5 * 0.96 ** (s * psi))))}


def _nadam_reference(x, g, state, t, **o):
    mu_product = state.get("mu_product", _mu_product(t, o)["mu_product"])
    x, m, v, _ = _reference.nadam_step(x, g, state["m"], state["v"], mu_product, t, **o)
    return x, {"m": m, "v": v}


NADAM = Spec(
    name="nadam", cls=adamopt.NAdam, method=adamopt.nadam,
    arrays=lambda o: ("m", "v"), options=_nadam_options, reference=_nadam_reference,
    squares=True, nonnegative=("v",), scalars=_mu_product,
    bad_options=[("momentum_decay", -1.0, ValueError), ("decoupled_weight_decay", "no", TypeError),
                 ("beta2", 1.0, ValueError), ("eps", float("inf"), ValueError)],
    combinations=[dict(weight_decay=0.1), dict(weight_decay=0.1, decoupled_weight_decay=True),
                  dict(beta1=0.3, beta2=0.5, momentum_decay=0.0, maximize=True)],
)

SPECS = [SGD, ADAGRAD, RMSPROP, ADAMAX, NADAM]
BY_NAME = {spec.name: spec for spec in SPECS}


# -- state and bounds --------------------------------------------------------------------------


def random_state(spec, rng, shape, dtype, opts, scale=1.0, t=2):
    """A random state the algorithm could have reached before step ``t``
    (non-negative where it must be; the initial state for ``t = 1``)."""
    if t == 1:
        initial = spec.cls(np.zeros(shape, dtype), **opts).state_dict()
        return {key: initial[key] for key in spec.arrays(opts)}
    if spec.make_state is not None:
        return spec.make_state(rng, shape, dtype, opts, scale)
    state = {}
    for key in spec.arrays(opts):
        a = rng.standard_normal(shape) * scale
        if key in spec.nonnegative:
            a = a * a
        state[key] = np.asarray(a, dtype)
    return state


def make(spec, x, t, state, **opts):
    """An optimizer of ``spec`` on ``x`` (updated in place) in the given state."""
    opt = spec.cls(x, **opts)
    if t:
        saved = opt.state_dict()
        saved.update(t=t, **state, **spec.scalars(t + 1, opts))   # before step t + 1
        opt.load_state_dict(saved)
    return opt


def step_bounds(spec, x, g, state, t, dtype, **opts):
    """Bounds on |compiled - reference| for the new x and state of one step.

    A first-order bound: each rounded operation errs by at most u times the
    magnitude of its result, and without cancellation every magnitude is at
    most what the same formulas give on the absolute values of the inputs
    (|x|, |g|, |state|, maximize off: sums stay sums).  So the error of each
    result is at most SAFETY * u * (its input's magnitude + that absolute
    evaluation), with u the unit roundoff of the kernel's dtype plus the
    reference's (float64); plus, per operation whose result underflows, the
    smallest subnormal number, amplified at most 1e14 times by the divisions
    (denominators >= eps >= 1e-12, step sizes <= 10)."""
    f64 = np.float64
    u = np.finfo(dtype).eps / 2 + np.finfo(f64).eps / 2
    tiny = float(np.finfo(dtype).smallest_subnormal) * 1e14
    absolute = {k: np.abs(np.asarray(v, f64)) for k, v in state.items()}
    abs_opts = {**opts, "maximize": False}
    if "mu_product" in spec.scalars(t, opts):
        absolute.update(spec.scalars(t, opts))
    ax, ag = np.abs(np.asarray(x, f64)), np.abs(np.asarray(g, f64))
    x_abs, state_abs = spec.reference(ax, ag, absolute, t, **abs_opts)
    x_new, state_new = spec.reference(np.asarray(x, f64), np.asarray(g, f64),
                                      {k: np.asarray(v, f64) for k, v in state.items()}, t,
                                      **opts)
    # The absolute evaluation's denominators grow with |g| + wd |x| where the
    # true ones grow with |g + wd x|: at most rho times larger, and the true
    # effective gradient is known to a relative u rho.
    wd = opts.get("weight_decay", 0.0)
    if opts.get("decoupled_weight_decay"):
        wd = 0.0
    g_abs = ag + wd * ax
    sign = -1.0 if opts.get("maximize") else 1.0
    g_eff = np.abs(sign * np.asarray(g, f64) + wd * np.asarray(x, f64))
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = np.where(g_abs > 0, np.maximum(g_abs / g_eff, 1.0), 1.0)
    # The step divides by a denominator known to a relative u rho: its error is
    # up to u rho times the true step as well.
    delta = np.abs(ax - np.asarray(x_abs, f64)) * rho + np.abs(x_new - np.asarray(x, f64)) * rho
    bx = SAFETY * u * (ax + np.abs(x_new) + delta) + tiny
    bs = {k: SAFETY * u * (absolute[k] + np.abs(np.asarray(state_abs[k], f64)) * rho) + tiny
          for k in state}
    if spec.extra_bound is not None:
        ex, es = spec.extra_bound(x, g, state, state_new, t, dtype, opts)
        bx = bx + ex
        bs = {k: b + es.get(k, 0.0) for k, b in bs.items()}
    return bx, bs
