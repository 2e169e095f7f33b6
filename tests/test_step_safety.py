"""Memory safety and atomicity of a step against hostile callables and
extreme magnitudes (issue 13).

The crash tests run in a subprocess: a step that reads or writes outside its
arrays kills the child (a failed test), not the test run.
"""

import dataclasses
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import adamopt
from adamopt import _registry
from adamopt._validation import GradientValueError

#: Every optimizer class, with options that reach each compiled loop.
CONFIGS = [
    ("Adam", {}), ("Adam", {"amsgrad": True}), ("AdamW", {}),
    ("SGD", {}), ("SGD", {"momentum": 0.9}), ("Adagrad", {}),
    ("RMSprop", {"centered": True, "momentum": 0.5}), ("Adamax", {}), ("NAdam", {}),
    ("RAdam", {}), ("SWATS", {}),
]

#: Every declared algorithm (each has an overflow guard), with each of its
#: declared option combinations and its defaults.
ALGORITHMS = [a.class_name for a in _registry.algorithms()]
COMBINATIONS = [(a.class_name, dict(options)) for a in _registry.algorithms()
                for options in ({}, *a.combinations)]

#: Where a hostile callable runs during a step.
HOOKS = ["lr", "schedule", "weight_decay", "grad"]


def _run_child(code):
    """Run ``code`` in a fresh interpreter with every compiled variant; return
    its stdout (the test fails if the child dies from a signal)."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    return proc.stdout


_RESIZE_PARAMS = """
    import numpy as np, adamopt
    from adamopt import _kernels
    cls, options, hook = adamopt.{cls}, {options!r}, {hook!r}
    for kernel in _kernels.available_kernels():
        _kernels._use_kernel(kernel)
        for n in (64, 200_000):      # one thread, and the pool
            x = np.ones(n)
            def resize(*_):
                x.resize(10, refcheck=False)
                return 0.1
            class Grad:
                def __array__(self, dtype=None, copy=None):
                    resize()
                    return np.ones(10)
            kw = dict(options)
            if hook in ("lr", "schedule"):
                kw[hook] = resize
            if hook == "weight_decay":
                kw[hook] = lambda t: (resize(), 0.0)[1]
            opt = cls(x, **kw)
            state = opt.state_dict()
            try:
                opt.step(Grad() if hook == "grad" else np.ones(10))
            except ValueError as e:
                assert "changed size" in str(e), e
            else:
                raise AssertionError("the step went on with a resized params array")
            assert opt.t == 0
            after = opt.state_dict()
            assert all(np.array_equal(after[k], state[k]) for k in state
                       if isinstance(state[k], np.ndarray))
    print("ok")
"""


@pytest.mark.parametrize(("cls", "options", "hook"), [
    (cls, options, hook) for cls, options in CONFIGS for hook in HOOKS
    # (only Adam and AdamW take a callable weight decay)
    if hook != "weight_decay" or cls in ("Adam", "AdamW")])
def test_params_resized_during_step_is_refused(cls, options, hook):
    """A callable of the step (or the gradient's ``__array__``) that resizes
    the parameters in place makes the step raise the "changed size" error
    and change nothing, in every variant, on one thread and on the pool."""
    assert _run_child(_RESIZE_PARAMS.format(cls=cls, options=options, hook=hook)) == "ok\n"


_RESIZE_STATE = """
    import numpy as np, adamopt
    from adamopt import _kernels
    cls, options = adamopt.{cls}, {options!r}
    for kernel in _kernels.available_kernels():
        _kernels._use_kernel(kernel)
        for n in (64, 200_000):
            for resize_during_step in (False, True):
                x = np.ones(n)
                opt = cls(x, **options)
                opt.step(np.ones(n))
                arrays = [a for a in (getattr(opt, s, None) for s in
                          ("_m", "_v", "_vmax", "_a", "_b", "_c")) if a is not None]
                for victim in arrays:
                    opt2 = cls(x.copy(), **options)
                    opt2.load_state_dict(opt.state_dict())
                    victim = [a for a in (getattr(opt2, s, None) for s in
                              ("_m", "_v", "_vmax", "_a", "_b", "_c")) if a is not None][
                              [id(a) for a in arrays].index(id(victim))]
                    def shrink(t, victim=victim):
                        victim.resize(10, refcheck=False)
                        return 0.1
                    if resize_during_step:
                        opt2.lr = shrink
                    else:
                        shrink(0)
                    try:
                        opt2.step(np.ones(n))
                    except ValueError as e:
                        assert "changed size" in str(e), e
                    else:
                        raise AssertionError("the step went on with a resized state array")
                    assert opt2.t == 1
    print("ok")
"""


@pytest.mark.parametrize(("cls", "options"), CONFIGS)
def test_state_array_resized_is_refused(cls, options):
    """A private state array resized in place (between steps or by a
    callable during one) makes the step raise instead of crashing."""
    assert _run_child(_RESIZE_STATE.format(cls=cls, options=options)) == "ok\n"


# -- hyperparameters beyond the parameters' dtype (item 3) ------------------------------

#: Each class with a numeric hyperparameter the float32 step would round to inf.
OUT_OF_FLOAT32 = [("Adam", "eps"), ("AdamW", "eps"), ("Adamax", "eps"), ("NAdam", "eps"),
                  ("Adagrad", "eps"), ("RMSprop", "eps"), ("SWATS", "eps"),
                  ("Adam", "weight_decay"), ("SGD", "weight_decay"), ("SGD", "lr"),
                  ("Adagrad", "initial_accumulator_value")]


@pytest.mark.parametrize(("cls", "name"), OUT_OF_FLOAT32)
def test_hyperparameter_beyond_float32_refused_at_construction(cls, name):
    """A hyperparameter of 1e39 for float32 parameters is refused when the
    optimizer is made, naming the parameter and the value."""
    with pytest.raises(ValueError, match=rf"'{name}' parameter of {cls} .*float32.*1e\+39"):
        getattr(adamopt, cls)(np.zeros(3, np.float32), **{name: 1e39})


@pytest.mark.parametrize(("cls", "name"), OUT_OF_FLOAT32)
def test_hyperparameter_beyond_float32_refused_when_set(cls, name):
    """Assigning such a value later is refused too, and changes nothing."""
    opt = getattr(adamopt, cls)(np.zeros(3, np.float32))
    before = getattr(opt, name)
    with pytest.raises(ValueError, match=rf"'{name}' parameter of {cls}"):
        setattr(opt, name, 1e39)
    assert getattr(opt, name) == before


def test_hyperparameter_beyond_float32_refused_in_a_state_dict():
    """A state dict carrying such a value is refused whole."""
    opt = adamopt.Adamax(np.zeros(3, np.float32), beta2=0.0)
    state = opt.state_dict()
    state["eps"] = 1e39
    with pytest.raises(ValueError, match="'eps'"):
        opt.load_state_dict(state)
    assert opt.eps == 1e-8


def test_hyperparameter_beyond_float32_fine_for_float64():
    """The same value is accepted for float64 parameters (it is in range)."""
    assert adamopt.Adam(np.zeros(3), eps=1e39).eps == 1e39


def test_hyperparameter_beyond_float32_refused_by_the_scipy_method():
    """The SciPy method refuses it before the objective is called."""
    def never(x):
        raise AssertionError("the objective was called")
    with pytest.raises(ValueError, match="'eps'"):
        adamopt.adamax(never, np.zeros(3, np.float32), jac=True, eps=1e39, beta2=0.0)


# -- the step cap (item 4) --------------------------------------------------------------

@pytest.mark.parametrize(("cls", "options"), CONFIGS)
def test_state_at_step_cap_loads_again(cls, options):
    """A state saved after the step that reaches the cap loads again, and the
    step past the cap is refused with nothing changed."""
    from adamopt._kernels import MAX_STEPS
    opt = getattr(adamopt, cls)(np.zeros(3), **options)
    state = opt.state_dict()
    state["t"] = MAX_STEPS - 1
    opt.load_state_dict(state)
    opt.step(np.ones(3))
    at_cap = opt.state_dict()
    assert at_cap["t"] == MAX_STEPS
    getattr(adamopt, cls)(np.zeros(3), **options).load_state_dict(at_cap)
    with pytest.raises(ValueError, match="cannot go past"):
        opt.step(np.ones(3))
    after = opt.state_dict()
    assert after["t"] == MAX_STEPS
    assert all(np.array_equal(after[k], at_cap[k]) for k in at_cap
               if isinstance(at_cap[k], np.ndarray))


# -- an integral float step count (item 5) -----------------------------------------------

@pytest.mark.parametrize("t", [10.0, np.float64(10.0), np.array(10.0)])
def test_integral_float_step_count_is_accepted(t):
    """``t = 10.0`` (as PyTorch's test of non-tensor steps writes) loads as 10."""
    reference = adamopt.Adam(np.zeros(3))
    reference.step(np.ones(3))
    state = reference.state_dict()
    state["t"] = 10
    reference.load_state_dict(state)
    opt = adamopt.Adam(reference.params.copy())
    state["t"] = t
    opt.load_state_dict(state)
    assert opt.t == 10
    assert type(opt.t) is int
    assert np.array_equal(opt.step(np.ones(3)), reference.step(np.ones(3)))


@pytest.mark.parametrize("t", [10.5, float("nan"), float("inf"), -1.0, 2.0**70])
def test_non_integral_or_huge_float_step_count_is_refused(t):
    """A float that is not an integer in [0, 2**62] is refused (ValueError)."""
    opt = adamopt.Adam(np.zeros(3))
    state = opt.state_dict()
    state["t"] = t
    with pytest.raises(ValueError, match="'t' entry"):
        opt.load_state_dict(state)
    assert opt.t == 0


# -- one-element arrays as numbers (item 6) ----------------------------------------------

@pytest.mark.parametrize("wrap", [np.array, lambda v: np.array([v]), lambda v: np.array([[v]])],
                         ids=["0-d", "1-element", "1x1"])
@pytest.mark.parametrize(("cls", "name", "value"), [
    ("Adam", "lr", 0.05), ("Adam", "beta1", 0.8), ("AdamW", "weight_decay", 0.1),
    ("SGD", "momentum", 0.5), ("RMSprop", "alpha", 0.9), ("Adam", "amsgrad", True),
    ("SGD", "nesterov", False),
])
def test_one_element_array_hyperparameter_is_a_number(cls, name, value, wrap):
    """A 0-d or one-element array is accepted as the number it holds."""
    opt = getattr(adamopt, cls)(np.zeros(3), **{name: wrap(value)})
    assert getattr(opt, name) == value
    assert type(getattr(opt, name)) is type(value)


def test_one_element_array_option_of_the_scipy_method():
    """The SciPy methods' options accept it too, and run as with the number."""
    fun = lambda x: (float(x @ x), 2 * x)  # noqa: E731
    a = adamopt.adam(fun, np.ones(3), jac=True, lr=np.array([0.1]), maxiter=20)
    b = adamopt.adam(fun, np.ones(3), jac=True, lr=0.1, maxiter=20)
    assert np.array_equal(a.x, b.x)


def test_many_element_array_hyperparameter_is_refused():
    """An array of two numbers is still refused (TypeError)."""
    with pytest.raises(TypeError, match="'lr' parameter of Adam"):
        adamopt.Adam(np.zeros(3), lr=np.array([0.1, 0.2]))


# -- overflowing state (item 2): SGD and Adagrad ----------------------------------------

DTYPES = [np.float32, np.float64]


def _snapshot(opt):
    return opt.params.tobytes(), {k: (v.tobytes() if isinstance(v, np.ndarray) else v)
                                  for k, v in opt.state_dict().items()}


def _refused_steps(opt, grads, state_name):
    """Step with each gradient of ``grads``: a refused step changes nothing,
    and the parameters and the state ``state_name`` stay finite after each.
    Returns how many steps were refused."""
    refused = 0
    for g in grads:
        before = _snapshot(opt)
        try:
            opt.step(g)
        except GradientValueError:
            refused += 1
            assert _snapshot(opt) == before
        assert np.isfinite(opt.params).all()
        assert np.isfinite(opt.state_dict()[state_name]).all()
    return refused


@pytest.mark.parametrize("dtype", DTYPES)
def test_adagrad_sum_that_would_overflow_is_refused(dtype):
    """Two gradients near the square root of the dtype's maximum (1e154 in
    float64) made Adagrad's sum inf; now the second step is refused with
    nothing changed, and the state saved then loads again."""
    top = float(np.finfo(dtype).max)
    x = np.zeros(3, dtype)
    opt = adamopt.Adagrad(x, lr=0.1)
    g = np.full(3, 0.7 * np.sqrt(top), dtype)
    opt.step(g)
    before = _snapshot(opt)
    with pytest.raises(GradientValueError, match="sum of squares"):
        opt.step(g)
    assert _snapshot(opt) == before
    adamopt.Adagrad(x.copy(), lr=0.1).load_state_dict(opt.state_dict())


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_sgd_momentum_near_the_maximum_never_overflows(dtype, nesterov):
    """SGD's momentum buffer fed gradients near the dtype's maximum drove x
    to -inf; now a step that could overflow is refused and x and the buffer
    stay finite."""
    top = float(np.finfo(dtype).max)
    x = np.zeros(4, dtype)
    opt = adamopt.SGD(x, lr=1.0, momentum=0.9, nesterov=nesterov)
    g = np.full(4, top / 16, dtype)
    assert _refused_steps(opt, [g] * 20, "momentum_buffer") > 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_sgd_gradient_whose_step_would_overflow_x_is_refused(dtype):
    """Without momentum, a gradient with |lr g| beyond half the maximum is
    refused before anything changes, with its bound in the message."""
    top = float(np.finfo(dtype).max)
    x = np.full(2, top / 8, dtype)
    opt = adamopt.SGD(x, lr=4.0)
    before = _snapshot(opt)
    with pytest.raises(GradientValueError, match=r"'grad' .* at this step"):
        opt.step(np.array([-top / 4, 1.0], dtype))
    assert _snapshot(opt) == before


@pytest.mark.parametrize(("cls", "key"), [("SGD", "momentum_buffer"), ("Adagrad", "sum")])
def test_loaded_state_beyond_the_limit_refuses_the_step(cls, key):
    """A state loaded with a value no step could continue from is examined
    at load: its first step is refused, nothing changed."""
    top = float(np.finfo(np.float32).max)
    options = {"momentum": 0.5} if cls == "SGD" else {}
    opt = getattr(adamopt, cls)(np.zeros(3, np.float32), **options)
    opt.step(np.ones(3, np.float32))
    state = opt.state_dict()
    state[key] = np.full(3, top / 2, np.float32)
    opt.load_state_dict(state)
    before = _snapshot(opt)
    with pytest.raises(GradientValueError, match="beyond"):
        opt.step(np.ones(3, np.float32))
    assert _snapshot(opt) == before


def test_sgd_params_near_the_maximum_refuse_a_step_past_it():
    """x near the maximum (examined at construction): a gradient that could
    carry it past the maximum is refused, a small one is taken."""
    top = float(np.finfo(np.float64).max)
    x = np.array([0.9 * top, 1.0])
    opt = adamopt.SGD(x, lr=1.0)
    with pytest.raises(GradientValueError, match="at this step"):
        opt.step(np.array([-0.2 * top, 0.0]))
    assert x[0] == 0.9 * top
    opt.step(np.array([-1e300, 0.0]))
    assert np.isfinite(x).all()


@pytest.mark.parametrize("cls", ALGORITHMS)
def test_params_near_the_maximum_refuse_a_step_size_past_it(cls):
    """x near the maximum and a step size that could carry it past:
    refused naming lr (or, where a smaller gradient could still be taken,
    grad with its bound at this step), nothing changed."""
    top = float(np.finfo(np.float64).max)
    x = np.array([0.9 * top, 1.0])
    opt = getattr(adamopt, cls)(x, lr=0.2 * top)
    before = _snapshot(opt)
    with pytest.raises(ValueError, match=r"'lr'|'grad' .* at this step"):
        opt.step(np.array([-1.0, 1.0]))
    assert _snapshot(opt) == before


@pytest.mark.parametrize(("cls", "combination"), COMBINATIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_extreme_magnitudes_keep_every_value_finite(dtype, cls, combination):
    """A seeded random walk over extreme gradient magnitudes, learning
    rates, weight decays and eps, for every algorithm and each of its
    declared option combinations: every step either leaves x and the state
    finite or is refused with nothing changed (the fuzzer's 139-step NaN)."""
    rng = np.random.default_rng(13)
    top_exp = int(np.log10(np.finfo(dtype).max))
    names = set(getattr(adamopt, cls)(np.zeros(1)).state_dict())
    taken = refused = 0
    for trial in range(20):
        options = {**combination, "lr": 10.0 ** rng.uniform(-3, 2),
                   "weight_decay": float(rng.choice([0.0, 10.0 ** rng.uniform(-3, 1)]))}
        if "eps" in names and trial % 4 == 3:   # eps down to the dtype's smallest numbers
            options["eps"] = float(10.0 ** -rng.uniform(8, top_exp - 2))
        x = (rng.standard_normal(8) * 10.0 ** rng.uniform(0, top_exp - 1)).astype(dtype)
        opt = getattr(adamopt, cls)(x, **options)
        for _ in range(40):
            scale = 10.0 ** rng.uniform(0, top_exp)
            with np.errstate(over="ignore"):
                g = (rng.standard_normal(8) * scale).astype(dtype)
            if not np.isfinite(g).all():
                continue
            before = _snapshot(opt)
            try:
                opt.step(g)
                taken += 1
            except GradientValueError:
                refused += 1
                assert _snapshot(opt) == before
            assert np.isfinite(x).all(), (trial, options)
            state = opt.state_dict()
            assert all(np.isfinite(state[k]).all() for k in state
                       if isinstance(state[k], np.ndarray)), (trial, options)
    assert taken > 20
    assert refused > 0


@pytest.mark.parametrize("dtype", DTYPES)
def test_adamax_gradients_at_the_maximum_never_overflow_m(dtype):
    """Adamax's m + (1 - beta1) (g - m) overflowed for gradients of opposite
    signs near the maximum (g - m beyond it); such a gradient is now refused
    (at most a quarter of the maximum), nothing changed, m finite."""
    top = float(np.finfo(dtype).max)
    x = np.zeros(2, dtype)
    opt = adamopt.Adamax(x, lr=1e-3)
    opt.step(np.full(2, top / 8, dtype))
    before = _snapshot(opt)
    with pytest.raises(GradientValueError, match="at this step"):
        opt.step(np.full(2, -top, dtype))
    assert _snapshot(opt) == before
    assert np.isfinite(opt.state_dict()["m"]).all()


def test_adamax_beta2_zero_float32_keeps_x_finite():
    """The issue's case: Adamax with beta2 = 0 in float32 (with an eps in
    range) takes its steps and keeps x finite."""
    x = np.ones(3, np.float32)
    opt = adamopt.Adamax(x, lr=1e-2, beta2=0.0, eps=1e30)
    for _ in range(5):
        opt.step(np.ones(3, np.float32))
    assert np.isfinite(x).all()


# -- overflowing state: RMSprop and RAdam ------------------------------------------------

@pytest.mark.parametrize("momentum", [0.0, 0.5])
def test_rmsprop_centered_step_that_would_overflow_is_refused(momentum):
    """Centred with alpha = 0 the variance estimate is exactly 0, so the
    scaled gradient is g / eps: with eps = 1e-30 in float32 a gradient of
    1e10 made x -inf.  Now it is refused with its bound at this step,
    nothing changed, and a gradient within the bound is taken."""
    x = np.zeros(3, np.float32)
    opt = adamopt.RMSprop(x, lr=1.0, alpha=0.0, eps=1e-30, centered=True, momentum=momentum)
    before = _snapshot(opt)
    with pytest.raises(GradientValueError, match=r"'grad' .* at most 1.7e\+08 .* at this step"):
        opt.step(np.full(3, 1e10, np.float32))
    assert _snapshot(opt) == before
    opt.step(np.full(3, 1e7, np.float32))
    assert np.isfinite(x).all()


def test_rmsprop_momentum_buffer_never_overflows():
    """Centred with momentum and a tiny eps, gradients as large as the
    bound allows: the buffer grows towards its limit; every step is taken
    or refused with nothing changed, and x and the buffer stay finite."""
    x = np.zeros(2, np.float32)
    opt = adamopt.RMSprop(x, lr=1.0, alpha=0.0, eps=1e-30, centered=True, momentum=0.99)
    grads = (np.full(2, opt._grad_limit(), np.float32) for _ in range(200))
    assert _refused_steps(opt, grads, "momentum_buffer") > 0


def test_rmsprop_loaded_momentum_buffer_too_large_for_lr_is_refused():
    """A loaded buffer whose momentum term alone would carry x past the
    maximum: the step is refused naming lr, nothing changed."""
    top = float(np.finfo(np.float32).max)
    opt = adamopt.RMSprop(np.zeros(3, np.float32), lr=10.0, momentum=0.9)
    state = opt.state_dict()
    state["momentum_buffer"] = np.full(3, top / 2, np.float32)
    opt.load_state_dict(state)
    before = _snapshot(opt)
    with pytest.raises(GradientValueError, match="'lr'"):
        opt.step(np.ones(3, np.float32))
    assert _snapshot(opt) == before


def test_rmsprop_buffer_is_kept_while_momentum_is_off():
    """The buffer's bound carries over the steps taken without momentum: a
    momentum switched on later steps normally (no false refusal)."""
    x = np.ones(3)
    opt = adamopt.RMSprop(x, lr=1e-2)
    for _ in range(3):
        opt.step(np.ones(3))
    opt.momentum = 0.9
    for _ in range(3):
        opt.step(np.ones(3))
    assert np.isfinite(x).all()
    assert opt.t == 6


@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
def test_radam_unrectified_step_that_would_overflow_is_refused(dtype, decoupled):
    """The first steps of RAdam are ``x - lr m / (1 - beta1**t)``: with a
    huge lr a gradient of 1e10 drove x to -inf.  Now a gradient above
    room / lr is refused, nothing changed, and a small one is taken."""
    top = float(np.finfo(dtype).max)
    x = np.zeros(3, dtype)
    opt = adamopt.RAdam(x, lr=top / 1e8, weight_decay=1e-8 * decoupled,
                        decoupled_weight_decay=decoupled)
    before = _snapshot(opt)
    with pytest.raises(GradientValueError, match=r"'grad' .* at this step"):
        opt.step(np.full(3, 1e10, dtype))
    assert _snapshot(opt) == before
    opt.step(np.ones(3, dtype))
    assert np.isfinite(x).all()


def _rectified_radam(dtype, **options):
    """An RAdam well past its switch to the rectified step (t = 100)."""
    opt = adamopt.RAdam(np.zeros(3, dtype), **options)
    state = opt.state_dict()
    state["t"] = 100
    opt.load_state_dict(state)
    return opt


@pytest.mark.parametrize("dtype", DTYPES)
def test_radam_rectified_moment_over_eps_that_would_overflow_is_refused(dtype):
    """Rectified, a loaded first moment of 1e10 with v = 0 and eps = 1e-30
    is divided by eps: x would overflow float32 (and 1e300 would overflow
    float64).  The step is refused naming lr, nothing changed."""
    opt = _rectified_radam(dtype, eps=1e-30, lr=1.0)
    state = opt.state_dict()
    state["m"] = np.full(3, 1e10 if dtype == np.float32 else 1e300, dtype)
    opt.load_state_dict(state)
    before = _snapshot(opt)
    with pytest.raises(GradientValueError, match="'lr'"):
        opt.step(np.zeros(3, dtype))
    assert _snapshot(opt) == before


def test_radam_rectified_steps_stay_finite_near_the_maximum():
    """Rectified steps at a huge lr over parameters near the maximum: each
    step is taken or refused with nothing changed, x and m stay finite."""
    top = float(np.finfo(np.float64).max)
    opt = _rectified_radam(np.float64, lr=top / 50)
    x = opt.params
    x[:] = 0.5 * top
    opt.load_state_dict(opt.state_dict())   # (re-examined: x changed)
    grads = [np.full(3, sign * 1e100) for sign in [-1.0, 1.0] * 10]
    assert _refused_steps(opt, grads, "m") > 0


def test_every_algorithm_declares_an_overflow_guard():
    """No declaration is left unguarded (the compiled step refuses every
    step of a kernel without a guard, so none can be silently unguarded)."""
    assert all(a.guard for a in _registry.algorithms())
    with pytest.raises(ValueError, match="no overflow guard"):
        _registry.register(dataclasses.replace(_registry.get("adam"), name="unguarded",
                                               guard=""))
