"""The objective gets a copy of its own (written by the step's pass): one that
modifies its argument, or keeps it and reads it later, sees the right values
and cannot change the run."""

import numpy as np
import pytest
from scipy.optimize import minimize

import adamopt

C = np.linspace(1.0, 3.0, 5000)


def quadratic(x):
    return 0.5 * float(x @ (C * x)), C * x


def reference(**options):
    return minimize(quadratic, np.ones(C.size), jac=True, method=adamopt.adam,
                    options={"maxiter": 30, "gtol": 0, "lr": 0.05, **options})


@pytest.mark.parametrize("bounds", [None, [(-0.5, 0.9)] * C.size])
def test_an_objective_that_modifies_its_argument_cannot_change_the_run(bounds):
    def vandal(x):
        f, g = quadratic(x)
        x[...] = 1e300       # after computing with the right values
        return f, g

    expected = minimize(quadratic, np.ones(C.size), jac=True, method=adamopt.adam,
                        bounds=bounds, options={"maxiter": 30, "gtol": 0, "lr": 0.05})
    res = minimize(vandal, np.ones(C.size), jac=True, method=adamopt.adam, bounds=bounds,
                   options={"maxiter": 30, "gtol": 0, "lr": 0.05})
    assert res.x.tobytes() == expected.x.tobytes()
    assert res.fun == expected.fun


def test_an_objective_that_keeps_its_arguments_sees_each_iterate_unchanged():
    kept = []

    def keeper(x):
        kept.append(x)
        return quadratic(x)

    expected = []
    res = minimize(keeper, np.ones(C.size), jac=True, method=adamopt.adam,
                   options={"maxiter": 30, "gtol": 0, "lr": 0.05,
                            "history": True})
    # every kept argument is a distinct array still holding its iterate
    assert len({id(a) for a in kept}) == len(kept) == 31
    ref = reference()
    assert res.x.tobytes() == ref.x.tobytes()
    x = np.ones(C.size)
    opt = adamopt.Adam(x, lr=0.05)
    for _a in kept[:-1]:
        expected.append(x.copy())
        opt.step(C * x)
    expected.append(x.copy())
    for a, e in zip(kept, expected, strict=True):
        assert a.tobytes() == e.tobytes()


def test_an_objective_that_keeps_a_view_of_its_argument_sees_it_unchanged():
    views = []

    def keeper(x):
        views.append(x[:3])
        return quadratic(x)

    minimize(keeper, np.ones(C.size), jac=True, method=adamopt.adam,
             options={"maxiter": 5, "gtol": 0, "lr": 0.05})
    assert len({v.base.ctypes.data for v in views}) == len(views)
    assert views[0].tolist() == [1.0, 1.0, 1.0]


def test_an_objective_that_returns_its_argument_as_the_gradient():
    def identity(x):        # the gradient of 0.5 |x|^2 is x itself
        return 0.5 * float(x @ x), x

    res = minimize(identity, np.ones(10), jac=True, method=adamopt.adam,
                   options={"maxiter": 20, "gtol": 0, "lr": 0.05})
    expected = minimize(lambda x: (0.5 * float(x @ x), x.copy()), np.ones(10), jac=True,
                        method=adamopt.adam, options={"maxiter": 20, "gtol": 0, "lr": 0.05})
    assert res.x.tobytes() == expected.x.tobytes()


def _nan_at(call, objective):
    """``objective`` whose value is NaN from its ``call``-th call on."""
    calls = [0]

    def wrapped(x):
        calls[0] += 1
        f, g = objective(x)
        return (np.nan if calls[0] >= call else f), g

    return wrapped


def _iterate(k, **options):
    """The iterate after ``k`` steps of the well-behaved run."""
    x = np.ones(C.size)
    opt = adamopt.Adam(x, lr=0.05, **options)
    for _ in range(k):
        opt.step(C * x)
    return x


@pytest.mark.parametrize("damage", ["all", "one element", "sign of a zero"])
def test_a_fault_after_an_objective_changed_its_argument_returns_the_exact_iterate(damage):
    # The copy the objective got becomes the next step's fallback buffer; the
    # step's pass repairs what the objective changed in it, to the bit.
    def vandal(x):
        f, g = quadratic(x)
        if damage == "all":
            x[...] = np.nan
        elif damage == "one element":
            x[C.size - 7] += 1.0
        else:
            x[0] = -0.0 if x[0] == 0.0 else x[0] * -1.0
        return f, g

    res = minimize(_nan_at(12, vandal), np.ones(C.size), jac=True, method=adamopt.adam,
                   options={"maxiter": 30, "gtol": 0, "lr": 0.05})
    assert res.status == 4
    assert res.x.tobytes() == _iterate(10).tobytes()


def test_a_fault_after_an_objective_kept_its_argument_returns_the_exact_iterate():
    kept = []

    def keeper(x):
        kept.append(x)
        if len(kept) % 3 == 0:      # keeps some arguments, scribbles on them later
            kept[-2][...] = 7.0
        return quadratic(x)

    res = minimize(_nan_at(12, keeper), np.ones(C.size), jac=True, method=adamopt.adam,
                   options={"maxiter": 30, "gtol": 0, "lr": 0.05})
    assert res.status == 4
    assert res.x.tobytes() == _iterate(10).tobytes()


@pytest.mark.parametrize("bounds", [None, [(-0.5, 0.9)] * C.size])
def test_an_objective_that_changes_part_of_its_argument_cannot_change_the_run(bounds):
    def vandal(x):
        f, g = quadratic(x)
        x[::1000] = -x[::1000]     # a few blocks of the copy, not all
        return f, g

    expected = minimize(quadratic, np.ones(C.size), jac=True, method=adamopt.adam,
                        bounds=bounds, options={"maxiter": 30, "gtol": 0, "lr": 0.05,
                                                "history": True})
    res = minimize(vandal, np.ones(C.size), jac=True, method=adamopt.adam, bounds=bounds,
                   options={"maxiter": 30, "gtol": 0, "lr": 0.05, "history": True})
    assert res.x.tobytes() == expected.x.tobytes()
    # the history's step norms use the fallback buffer: the same too
    assert np.array_equal(res.history.step_norm, expected.history.step_norm, equal_nan=True)
