"""Every invalid input of the SciPy methods `adamopt.adam` and `adamopt.adamw` is refused.

Wrong types raise `TypeError`, wrong values `ValueError`, with a message that
names the option or argument and the method (``adam``, ``adamw``), as in "The
'beta1' parameter of adam must be in [0, 1). Got 1.0 instead.", and before
``fun`` is ever called.  Unknown options and the ignored SciPy arguments warn.
Each case is run as users do, through `scipy.optimize.minimize`, and with a
direct call of the method.

Messages are matched piece by piece, in any order (see `expect`).
"""

import math
import re
import sys
import warnings

import numpy as np
import pytest
from helpers import expect, name
from scipy.optimize import Bounds, OptimizeWarning, minimize

import adamopt

METHODS = [pytest.param(method, id=method.__name__) for method in (adamopt.adam, adamopt.adamw)]
VIAS = ["minimize", "direct"]
NAN, INF = math.nan, math.inf
NOTES = pytest.mark.skipif(sys.version_info < (3, 11), reason="exception notes need Python 3.11")


# -- message patterns ---------------------------------------------------------------------------


def owner(method):
    """The method exactly: ``adam`` matches neither ``adamw`` nor ``Adam``."""
    return rf"\b{re.escape(method.__name__)}(?!\w)"


def shown(value):
    """How a message shows a bad scalar value: its repr."""
    return rf"(?<![\w.]){re.escape(repr(value))}(?!\w|\.\d)"


# -- objectives and calls -----------------------------------------------------------------------


def quad(x, *batch):
    """A valid objective for jac=True: |x|^2 and its gradient."""
    return float(x @ x), 2 * x


class Counted:
    """An objective (default `quad`) that counts its calls."""

    def __init__(self, fun=quad):
        self.fun, self.calls = fun, 0

    def __call__(self, x, *args):
        self.calls += 1
        return self.fun(x, *args)


def never_called(x, *args):
    pytest.fail("fun was called although an input is invalid")


def run(method, via, fun, x0, *, jac=True, args=(), callback=None, bounds=None, hess=None,
        hessp=None, constraints=(), **options):
    """Run ``method`` as users do: through `minimize`, or called directly."""
    if via == "minimize":
        return minimize(fun, x0, args=args, jac=jac, method=method, callback=callback,
                        bounds=bounds, hess=hess, hessp=hessp, constraints=constraints,
                        options=options)
    return method(fun, x0, args=args, jac=jac, callback=callback, bounds=bounds, hess=hess,
                  hessp=hessp, constraints=constraints, **options)


# -- options ------------------------------------------------------------------------------------

# (option, bad value, exception) for both methods.
BAD_OPTIONS = [
    ("lr", -1.0, ValueError),
    ("lr", NAN, ValueError),
    ("lr", INF, ValueError),
    ("lr", "0.1", TypeError),
    ("lr", True, TypeError),
    *[(beta, value, ValueError) for beta in ("beta1", "beta2") for value in (1.0, -0.1, NAN)],
    ("beta1", "0.9", TypeError),
    ("beta2", "0.9", TypeError),
    ("eps", 0, ValueError),
    ("eps", -1, ValueError),
    ("eps", INF, ValueError),
    ("weight_decay", -1, ValueError),
    ("weight_decay", NAN, ValueError),
    *[(flag, value, TypeError) for flag in ("amsgrad", "maximize", "disp")
      for value in (1, "yes", None)],
    ("schedule", 3, TypeError),
    ("schedule", 0.5, TypeError),
    ("maxiter", -1, ValueError),
    ("maxiter", -1.5, ValueError),
    ("maxiter", NAN, ValueError),
    ("maxiter", -INF, ValueError),
    ("maxiter", True, TypeError),
    ("maxiter", "10", TypeError),
    *[(tol, -1, ValueError) for tol in ("gtol", "ftol", "tol")],
    *[(tol, NAN, ValueError) for tol in ("gtol", "ftol", "tol")],
    *[(tol, "a", TypeError) for tol in ("gtol", "ftol", "tol")],
    ("norm", 0.5, ValueError),
    ("norm", "inf", TypeError),
    ("patience", 0, ValueError),
    ("patience", -3, ValueError),
    ("patience", 2.5, TypeError),
    ("smoothing", 1.0, ValueError),
    ("smoothing", -0.1, ValueError),
    ("batches", "abc", TypeError),
    ("batches", {"X": [1, 2]}, TypeError),
    ("batches", 3, TypeError),
    ("batches", 3.0, TypeError),
]


def _cases(cases):
    return [pytest.param(*case, id=f"{case[0]}={case[1]!r}") for case in cases]


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("option", "value", "exc"), _cases(BAD_OPTIONS))
def test_bad_option_is_refused_before_fun_is_called(method, via, option, value, exc):
    with pytest.raises(exc, match=expect(name(option), owner(method), shown(value))):
        run(method, via, never_called, np.ones(3), **{option: value})


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("value", "exc"), [(-1, ValueError), (NAN, ValueError)])
def test_tol_argument_of_minimize_is_refused_before_fun_is_called(method, value, exc):
    with pytest.raises(exc, match=expect(name("tol"), owner(method), shown(value))):
        minimize(never_called, np.ones(3), jac=True, method=method, tol=value)


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize(("value", "exc"), [("x", ValueError), (3, TypeError)])
def test_adamw_refuses_bad_decay_scaling(via, value, exc):
    with pytest.raises(exc, match=expect(name("decay_scaling"), owner(adamopt.adamw),
                                         shown(value))):
        run(adamopt.adamw, via, never_called, np.ones(3), decay_scaling=value)


@pytest.mark.parametrize("via", VIAS)
def test_adam_warns_that_decay_scaling_is_unknown(via):
    with pytest.warns(OptimizeWarning, match=r"\bdecay_scaling\b"):
        res = run(adamopt.adam, via, quad, np.ones(3), decay_scaling="schedule", maxiter=2)
    assert res.nit == 2


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("options", [
    pytest.param({"lr": lambda t: 0.01}, id="callable-lr"),
    pytest.param({"schedule": lambda t: 0.5}, id="callable-schedule"),
    pytest.param({"lr": np.float32(0.01), "maxiter": np.int64(3)}, id="numpy-scalars"),
    pytest.param({"maxiter": 0}, id="maxiter-0"),
    pytest.param({"maxiter": 2.5}, id="maxiter-float"),
    pytest.param({"maxiter": INF, "gtol": 0.5}, id="maxiter-inf"),
    pytest.param({"gtol": 0, "ftol": 0, "tol": 0}, id="zero-tolerances"),
    pytest.param({"norm": 2, "patience": 1, "smoothing": 0.0}, id="norm-2-patience-1"),
    pytest.param({"state": None, "batches": None}, id="None-state-and-batches"),
])
def test_valid_options_are_accepted(method, via, options):
    # The control for the cases above: valid values of the same options run.
    res = run(method, via, quad, np.ones(3), **{"maxiter": 3, **options})
    assert res.status in (0, 1, 2)


# -- state --------------------------------------------------------------------------------------


def state_of(method, x0=None, **options):
    """The state of a real short run of ``method``."""
    x0 = np.ones(3) if x0 is None else x0
    return method(quad, x0, jac=True, maxiter=2, **options).state


def _without(key):
    def mutate(state):
        return {k: v for k, v in state.items() if k != key}
    return mutate


# (id, mutate the state of a run of the method, exception, pieces besides 'state' and owner)
BAD_STATES = [
    ("int", lambda s: 3, TypeError, []),
    ("list-of-items", lambda s: list(s.items()), TypeError, ["list"]),
    ("empty-dict", lambda s: {}, ValueError, []),
    ("missing-plateau", _without("plateau"), ValueError, [r"'plateau'"]),
    ("extra-key", lambda s: {**s, "foo": 1}, ValueError, [r"'foo'"]),
]


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("mutate", "exc", "pieces"),
                         [pytest.param(*case[1:], id=case[0]) for case in BAD_STATES])
def test_bad_state_is_refused_before_fun_is_called(method, via, mutate, exc, pieces):
    state = mutate(state_of(method))
    with pytest.raises(exc, match=expect(name("state"), owner(method), *pieces)):
        run(method, via, never_called, np.ones(3), state=state)


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize(("source", "target"), [(adamopt.adamw, adamopt.adam),
                                                (adamopt.adam, adamopt.adamw)],
                         ids=["adamw-to-adam", "adam-to-adamw"])
def test_state_of_the_other_method_is_refused(via, source, target):
    with pytest.raises(ValueError, match=expect(name("state"), owner(target),
                                                name(source.__name__))):
        run(target, via, never_called, np.ones(3), state=state_of(source))


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("x0", "pieces"), [
    pytest.param(np.ones(4), [re.escape("(3,)"), re.escape("(4,)")], id="other-size"),
    pytest.param(np.ones(3, np.float32), ["float64", "float32"], id="other-dtype"),
])
def test_state_for_another_x0_is_refused(method, via, x0, pieces):
    with pytest.raises(ValueError, match=expect(name("state"), owner(method), *pieces)):
        run(method, via, never_called, x0, state=state_of(method))


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("callables", [("lr",), ("schedule",), ("lr", "schedule")],
                         ids="+".join)
def test_state_saved_with_callables_needs_them_again(method, via, callables):
    options = {key: (lambda t: 0.01) for key in callables}
    state = state_of(method, **options)
    with pytest.raises(ValueError, match=expect(name("state"), owner(method),
                                                *map(name, callables))):
        run(method, via, never_called, np.ones(3), state=state)


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("method", METHODS)
def test_state_saved_with_callable_lr_resumes_when_lr_is_given_again(method, via):
    # The control for the case above.
    state = state_of(method, lr=lambda t: 0.01)
    res = run(method, via, quad, np.ones(3), state=state, lr=lambda t: 0.01, maxiter=2)
    assert res.status == 1
    assert res.state["optimizer"]["t"] == 4


# -- x0 -----------------------------------------------------------------------------------------

BAD_X0 = [
    pytest.param(np.ones((2, 2)), ValueError, [re.escape("(2, 2)")], id="2-D"),
    pytest.param(np.array([]), ValueError, ["empty"], id="empty"),
    pytest.param(np.ones(2, complex), TypeError, ["complex128"], id="complex"),
    pytest.param(np.ones(2, np.float16), TypeError, ["float16"], id="float16"),
    pytest.param(np.array(["a", "b"]), TypeError, ["<U1"], id="strings"),
    pytest.param(np.array([1.0, None], object), TypeError, ["object"], id="object"),
    pytest.param([1.0, NAN], ValueError, [r"\bnan\b", r"\b1\b"], id="nan"),
    pytest.param([INF, 1.0], ValueError, [r"(?<!-)\binf\b", r"\b0\b"], id="inf"),
    pytest.param([1.0, 2.0, -INF], ValueError, [r"-inf\b", r"\b2\b"], id="-inf"),
]


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("x0", "exc", "pieces"), BAD_X0)
def test_bad_x0_is_refused_before_fun_is_called(method, via, x0, exc, pieces):
    # SciPy refuses a 2-D x0 first, naming x0 but not the method.
    pieces = [] if via == "minimize" and np.ndim(x0) != 1 else [owner(method), *pieces]
    with pytest.raises(exc, match=expect(name("x0"), *pieces)):
        run(method, via, never_called, x0)


@pytest.mark.parametrize("method", METHODS)
def test_bool_x0_is_refused_by_a_direct_call(method):
    # (minimize converts a boolean x0 to float64 before the method sees it.)
    with pytest.raises(TypeError, match=expect(name("x0"), owner(method), "bool")):
        method(never_called, np.array([True, False]), jac=True)


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("x0", "dtype"), [
    pytest.param([1, 2, 3], np.float64, id="int-list"),
    pytest.param(np.array([1, 2, 3], np.int32), np.float64, id="int32"),
    pytest.param(np.array([1, 2, 3], np.uint8), np.float64, id="uint8"),
    pytest.param(np.ones(3, np.float32), np.float32, id="float32"),
    pytest.param(np.ones(3), np.float64, id="float64"),
])
def test_x0_dtype_is_kept_or_integers_become_float64(method, via, x0, dtype):
    seen = []

    def fun(x):
        seen.append(x.dtype)
        return quad(x)

    res = run(method, via, fun, x0, maxiter=2)
    assert res.x.dtype == dtype
    assert res.jac.dtype == dtype
    assert set(seen) == {np.dtype(dtype)}


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [">f8", ">f4"])
def test_x0_in_non_native_byte_order_is_accepted(method, dtype):
    res = method(quad, np.ones(3, dtype), jac=True, maxiter=2)
    assert res.x.dtype == np.dtype(dtype).newbyteorder("=")


# -- fun, jac, callback -------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("jac", [None, True, lambda x: 2 * x], ids=["None", "True", "callable"])
def test_fun_not_callable_is_refused(method, jac):
    with pytest.raises(TypeError, match=expect(name("fun"), owner(method), shown(3))):
        method(3, np.ones(3), jac=jac)


@pytest.mark.parametrize("jac", [None, lambda x: 2 * x], ids=["None", "callable"])
@pytest.mark.parametrize("method", METHODS)
def test_fun_not_callable_is_refused_through_minimize(method, jac):
    with pytest.raises(TypeError, match=expect(name("fun"), owner(method), shown(3))):
        minimize(3, np.ones(3), jac=jac, method=method)


@pytest.mark.parametrize("method", METHODS)
def test_fun_not_callable_with_jac_true_is_refused_through_minimize(method):
    with pytest.raises(TypeError, match=expect(name("fun"), owner(method), shown(3))):
        minimize(3, np.ones(3), jac=True, method=method)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("jac", ["3-point", "cs", "2point", 1.5])
def test_unsupported_jac_is_refused_before_fun_is_called(method, jac):
    # Direct calls only: minimize turns '3-point' and 'cs' into None (forward
    # differences) before the method sees them.
    with pytest.raises(ValueError, match=expect(name("jac"), owner(method), shown(jac))):
        method(never_called, np.ones(3), jac=jac)


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("jac", [None, False, "2-point"])
def test_forward_differences_are_accepted(method, via, jac):
    res = run(method, via, lambda x: float(x @ x), np.ones(3), jac=jac, maxiter=2)
    assert res.nit == 2
    assert res.njev == 3      # SciPy counts each gradient estimated


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("callback", [3, "print"])
def test_callback_not_callable_is_refused_before_fun_is_called(method, via, callback):
    with pytest.raises(TypeError, match=expect(name("callback"), owner(method),
                                               shown(callback))):
        run(method, via, never_called, np.ones(3), callback=callback)


# -- bounds -------------------------------------------------------------------------------------

BAD_BOUNDS = [
    pytest.param([(0, 1)], ValueError, [r"\b2\b"], id="too-few-pairs"),
    pytest.param([(0, 1)] * 3, ValueError, [r"\b2\b"], id="too-many-pairs"),
    pytest.param([(0, 1, 2), (0, 1)], ValueError, [], id="triple"),
    pytest.param([(0, 1), (1, 0)], ValueError, ["min <= max", r"\b1\b"], id="min-above-max"),
    pytest.param([(0, NAN), (0, 1)], ValueError, [r"\bnan\b", r"\b0\b"], id="nan-max"),
    pytest.param([(NAN, 1), (0, 1)], ValueError, [r"\bnan\b"], id="nan-min"),
    pytest.param([("a", 1), (0, 1)], TypeError, [], id="string"),
    pytest.param([(0, 1j), (0, 1)], TypeError, [], id="complex"),
    pytest.param(3, TypeError, [shown(3)], id="int"),
    pytest.param(Bounds([0, 0, 0], [1, 1, 1]), ValueError, [re.escape("(2,)")],
                 id="Bounds-lb-of-3"),
    pytest.param(Bounds([NAN, 0], [1, 1]), ValueError, [r"\bnan\b"], id="Bounds-nan"),
    pytest.param(Bounds([0, 2], [1, 1]), ValueError, ["min <= max"], id="Bounds-min-above-max"),
]


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("bounds", "exc", "pieces"), BAD_BOUNDS)
def test_bad_bounds_are_refused_before_fun_is_called(method, via, bounds, exc, pieces):
    with pytest.raises(exc, match=expect(name("bounds"), owner(method), *pieces)):
        run(method, via, never_called, np.full(2, 0.5), bounds=bounds)


@pytest.mark.parametrize("method", METHODS)
def test_bounds_object_with_non_numeric_lb_is_a_type_error(method):
    with pytest.raises(TypeError, match=expect(name("bounds"), owner(method))):
        method(never_called, np.full(2, 0.5), jac=True, bounds=Bounds(["a", 0], [1, 1]))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("pair", [(INF, INF), (-INF, -INF), (INF, None), (None, -INF)],
                         ids=["inf-inf", "-inf--inf", "inf-None", "None--inf"])
def test_bounds_that_admit_no_finite_value_are_refused(method, pair):
    fun = Counted()
    with pytest.raises(ValueError, match=expect(name("bounds"), owner(method))):
        method(fun, np.full(2, 0.5), jac=True, bounds=[pair, (0, 1)], maxiter=2)
    assert fun.calls == 0


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("bounds", [
    pytest.param([(0.1, 0.1), (0, 1)], id="equal"),
    pytest.param([(0.1, 0.1 + 1e-12), (0, 1)], id="closer-than-float32-spacing"),
    pytest.param([(1e-50, 1e-46), (0, 1)], id="below-float32-subnormals"),
    pytest.param(Bounds([0.1, 0], [0.1, 1]), id="Bounds-equal"),
])
def test_float32_bounds_without_a_float32_value_between_are_refused(method, via, bounds):
    # Bounds are rounded inward to float32: nothing is left of these.
    with pytest.raises(ValueError, match=expect(name("bounds"), owner(method), "float32",
                                                r"index 0")):
        run(method, via, never_called, np.full(2, 0.5, np.float32), bounds=bounds)


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("dtype", "fixed"), [(np.float64, 0.1), (np.float32, 0.5)])
def test_equal_representable_bounds_fix_the_element(method, via, dtype, fixed):
    # The control for the case above: float64 keeps 0.1, float32 keeps 0.5 exactly.
    res = run(method, via, quad, np.full(2, 0.25, dtype), bounds=[(fixed, fixed), (0, 1)],
              maxiter=3)
    assert res.x[0] == dtype(fixed)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("pair", [(1e39, None), (None, -1e39), (1e39, 1e40)],
                         ids=["min-1e39", "max--1e39", "both"])
def test_float32_bounds_beyond_float32_range_are_refused(method, pair):
    fun = Counted()
    with pytest.raises(ValueError, match=expect(name("bounds"), owner(method), "float32")):
        method(fun, np.full(2, 0.5, np.float32), jac=True, bounds=[pair, (0, 1)], maxiter=2)
    assert fun.calls == 0


# -- eps and lr that the float32 step refuses ----------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("option", [{"eps": 1e-46}, {"lr": 1e39}], ids=["eps", "lr"])
def test_option_the_float32_step_refuses_is_refused_before_fun_is_called(method, option):
    fun = Counted()
    with pytest.raises(ValueError, match=expect(name(next(iter(option))))):
        method(fun, np.ones(3, np.float32), jac=True, maxiter=2, **option)
    assert fun.calls == 0


# -- warnings -----------------------------------------------------------------------------------


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("method", METHODS)
def test_unknown_options_warn_naming_them_and_the_run_completes(method, via):
    with pytest.warns(OptimizeWarning, match=expect(r"\bfoo\b", r"\bbar_baz\b")) as record:
        res = run(method, via, quad, np.ones(3), foo=1, bar_baz=None, maxiter=3)
    assert len(record) == 1
    assert res.status == 1
    assert res.nit == 3


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("method", METHODS)
def test_check_finite_is_not_an_option(method, via):
    # The optimizers' check_finite is not passed through: it is an unknown option.
    with pytest.warns(OptimizeWarning, match=r"\bcheck_finite\b"):
        run(method, via, quad, np.ones(3), check_finite=False, maxiter=1)


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("given", "pieces"), [
    pytest.param({"hess": lambda x: np.eye(3)}, ["hess"], id="hess"),
    pytest.param({"hessp": lambda x, p: p}, ["hessp"], id="hessp"),
    pytest.param({"constraints": {"type": "ineq", "fun": lambda x: x[0]}}, ["constraints"],
                 id="constraints-dict"),
    pytest.param({"constraints": [{"type": "ineq", "fun": lambda x: x[0]}]}, ["constraints"],
                 id="constraints-list"),
])
def test_ignored_scipy_arguments_warn_and_the_run_completes(method, via, given, pieces):
    with pytest.warns(RuntimeWarning, match=expect(owner(method), *pieces)):
        res = run(method, via, quad, np.ones(3), maxiter=2, **given)
    assert res.nit == 2


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("constraints", [(), []], ids=["tuple", "list"])
def test_empty_constraints_do_not_warn(method, via, constraints):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = run(method, via, quad, np.ones(3), constraints=constraints, maxiter=2)
    assert res.nit == 2


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("options", "given"), [({"foo": 1}, {}),
                                               ({}, {"hess": lambda x: np.eye(3)})],
                         ids=["unknown-option", "hess"])
def test_warnings_from_minimize_point_at_the_users_call(method, options, given):
    line = sys._getframe().f_lineno + 2
    with pytest.warns((OptimizeWarning, RuntimeWarning)) as record:
        minimize(quad, np.ones(3), jac=True, method=method, options={"maxiter": 1, **options},
                 **given)
    assert [(w.filename, w.lineno) for w in record] == [(__file__, line)]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("options", "given"), [({"foo": 1}, {}),
                                               ({}, {"hess": lambda x: np.eye(3)})],
                         ids=["unknown-option", "hess"])
def test_warnings_from_a_direct_call_point_at_the_users_call(method, options, given):
    line = sys._getframe().f_lineno + 2
    with pytest.warns((OptimizeWarning, RuntimeWarning)) as record:
        method(quad, np.ones(3), jac=True, maxiter=1, **options, **given)
    assert [(w.filename, w.lineno) for w in record] == [(__file__, line)]


# -- what fun returns ---------------------------------------------------------------------------

BAD_RETURNS = [
    pytest.param(True, lambda x: ("1.0", 2 * x), id="jac-True-string"),
    pytest.param(None, lambda x: "1.0", id="jac-None-string"),
    pytest.param(None, lambda x: None, id="jac-None-None"),
    pytest.param(True, lambda x: (1j, 2 * x), id="jac-True-complex"),
    pytest.param(True, lambda x: 1.0, id="jac-True-not-a-pair"),
    pytest.param(True, lambda x: (1.0, 2 * x, 3), id="jac-True-triple"),
    pytest.param(True, lambda x: None, id="jac-True-None"),
]


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("jac", "fun"), BAD_RETURNS)
def test_fun_returning_a_bad_value_is_a_type_error_naming_fun(method, via, jac, fun):
    with pytest.raises(TypeError, match=expect(r"\bfun\b", owner(method))):
        run(method, via, fun, np.ones(3), jac=jac, maxiter=2)


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("jac", "fun"), [
    pytest.param(True, lambda x: (np.array([1.0, 2.0]), 2 * x), id="jac-True-array-of-2"),
    pytest.param(None, lambda x: np.array([1.0, 2.0]), id="jac-None-array-of-2"),
])
def test_fun_returning_a_non_scalar_is_a_value_error_as_in_scipy(method, via, jac, fun):
    with pytest.raises(ValueError, match=expect(r"\bfun\b", owner(method), "scalar")):
        run(method, via, fun, np.ones(3), jac=jac, maxiter=2)


def _gradient_of_shape_2_from(iteration):
    """jac=True objective whose gradient has the wrong shape from ``iteration`` on."""
    count = [-1]

    def fun(x):
        count[0] += 1
        return float(x @ x), (2 * x if count[0] < iteration else np.ones(2))
    return fun


@pytest.mark.parametrize("via", VIAS)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("jac", [True, lambda x: np.ones(2)], ids=["jac-True", "jac-callable"])
def test_gradient_of_the_wrong_shape_is_a_value_error_naming_grad(method, via, jac):
    fun = _gradient_of_shape_2_from(0) if jac is True else (lambda x: float(x @ x))
    with pytest.raises(ValueError, match=expect(name("grad"), re.escape("(2,)"),
                                                re.escape("(3,)"))):
        run(method, via, fun, np.ones(3), jac=jac, maxiter=5)


@NOTES
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("iteration", [0, 2])
def test_gradient_of_the_wrong_shape_has_a_note_naming_the_iteration(method, iteration):
    with pytest.raises(ValueError, match=name("grad")) as info:
        method(_gradient_of_shape_2_from(iteration), np.ones(3), jac=True, maxiter=5)
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert re.search(expect(owner(method), rf"\biteration {iteration}\b"), notes)


@NOTES
@pytest.mark.parametrize("method", METHODS)
def test_a_bad_lr_schedule_value_is_not_blamed_on_the_gradient(method):
    with pytest.raises(ValueError, match=name("lr")) as info:
        method(quad, np.ones(3), jac=True, maxiter=2, lr=lambda t: -1.0)
    assert not any("gradient" in note for note in getattr(info.value, "__notes__", []))
