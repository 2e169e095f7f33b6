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
    #: Extra state scalars (e.g. NAdam's mu_product): name -> value at t.
    scalars: Callable[[int, dict], dict] = lambda t, opts: {}

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
    combinations=[dict(momentum=0.9), dict(momentum=0.9, nesterov=True, weight_decay=0.1),
                  dict(momentum=0.5, dampening=0.3, maximize=True), dict(weight_decay=0.2)],
)

SPECS = [SGD]
BY_NAME = {spec.name: spec for spec in SPECS}


# -- state and bounds --------------------------------------------------------------------------


def random_state(spec, rng, shape, dtype, opts, scale=1.0, t=2):
    """A random state the algorithm could have reached before step ``t``
    (non-negative where it must be; the initial state for ``t = 1``)."""
    if t == 1:
        initial = spec.cls(np.zeros(shape, dtype), **opts).state_dict()
        return {key: initial[key] for key in spec.arrays(opts)}
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
        saved.update(t=t, **state, **spec.scalars(t, opts))
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
    ax = np.abs(np.asarray(x, f64))
    x_abs, state_abs = spec.reference(ax, np.abs(np.asarray(g, f64)), absolute, t, **abs_opts)
    x_new, _ = spec.reference(np.asarray(x, f64), np.asarray(g, f64),
                              {k: np.asarray(v, f64) for k, v in state.items()}, t, **opts)
    delta = np.abs(ax - np.asarray(x_abs, f64))
    bx = SAFETY * u * (ax + np.abs(x_new) + delta) + tiny
    bs = {k: SAFETY * u * (absolute[k] + np.abs(np.asarray(state_abs[k], f64))) + tiny
          for k in state}
    return bx, bs
