"""The SciPy methods' ``groups`` option (``adamopt._run_groups``): PyTorch's
parameter groups over parts of ``x``."""

import numpy as np
import pytest
from helpers import expect, name
from scipy.optimize import minimize

import adamopt
from adamopt import _catalog, _registry
from adamopt._run_groups import _runs

N = 8


def _quadratic(x):
    return float(x @ x), 2 * x


def _run(groups, method=adamopt.adam, x0=None, **options):
    x0 = np.linspace(-1.0, 1.0, N) if x0 is None else x0
    return minimize(_quadratic, x0, jac=True, method=method,
                    options={"lr": 0.05, "maxiter": 5, "gtol": 0.0, "groups": groups,
                             **options})


def _refused(groups, error, *pieces, method=adamopt.adam):
    with pytest.raises(error, match=expect(name("groups"), method.__name__, *pieces)):
        _run(groups, method)


# -- runs of consecutive elements -----------------------------------------------------------

def test_runs_of_consecutive_indices():
    assert _runs(np.array([0, 1, 2, 5, 7, 8])) == [(0, 3), (5, 6), (7, 9)]


def test_runs_of_one_index():
    assert _runs(np.array([4])) == [(4, 5)]


# -- bad input: one test each ---------------------------------------------------------------

def test_groups_that_is_a_dict_is_refused():
    _refused({"params": slice(0, 2)}, TypeError, "list of dicts")


def test_a_group_that_is_not_a_dict_is_refused():
    _refused([slice(0, 2)], TypeError, "entry 0")


def test_a_group_without_params_is_refused():
    _refused([{"lr": 0.1}], ValueError, "group 0", "without a 'params' key")


def test_an_empty_slice_is_refused():
    _refused([{"params": slice(3, 3)}], ValueError, "group 0", "empty")


def test_an_empty_mask_is_refused():
    _refused([{"params": np.zeros(N, bool)}], ValueError, "group 0", "empty")


def test_an_empty_index_array_is_refused():
    _refused([{"params": []}], ValueError, "group 0", "empty")


def test_a_slice_beyond_x_is_refused_as_empty():
    _refused([{"params": slice(N, N + 3)}], ValueError, "no element of x")


def test_a_slice_of_non_integers_is_refused():
    _refused([{"params": slice(0, "a")}], TypeError, "slice")


def test_a_mask_of_the_wrong_length_is_refused():
    _refused([{"params": np.ones(N - 1, bool)}], ValueError, "mask", rf"\({N},\)",
             rf"\({N - 1},\)")


def test_an_index_out_of_range_is_refused():
    _refused([{"params": [0, N]}], ValueError, f"index {N}", "out of range")


def test_a_negative_index_out_of_range_is_refused():
    _refused([{"params": [-N - 1]}], ValueError, f"index {-N - 1}", "out of range")


def test_a_2d_index_array_is_refused():
    _refused([{"params": np.zeros((2, 1), int)}], ValueError, "1-D")


def test_float_indices_are_refused():
    _refused([{"params": [0.5, 1.0]}], TypeError, "index array")


def test_an_index_twice_in_a_group_is_refused():
    _refused([{"params": [1, 2, 1]}], ValueError, "element 1", "twice")


def test_overlapping_slices_of_one_group_are_refused():
    _refused([{"params": [slice(0, 3), slice(2, 4)]}], ValueError, "element 2", "twice")


def test_overlapping_groups_are_refused():
    _refused([{"params": slice(0, 4)}, {"params": [3, 5]}], ValueError, "element 3",
             "groups 0 and 1")


def test_a_key_that_is_no_hyperparameter_is_refused():
    _refused([{"params": slice(0, 2), "momentum": 0.9}], ValueError, name("momentum"),
             "not a hyperparameter", "momentum=0.9")


def test_a_fixed_option_in_a_group_is_refused():
    _refused([{"params": slice(0, 2), "amsgrad": True}], ValueError, name("amsgrad"),
             "fixed")


def test_maximize_in_a_group_is_refused():
    _refused([{"params": slice(0, 2), "maximize": True}], ValueError, name("maximize"),
             "whole run")


def test_a_bad_hyperparameter_value_names_the_group():
    _refused([{"params": slice(0, 2)}, {"params": slice(2, 4), "lr": -1.0}], ValueError,
             name("lr"), "group 1")


def test_a_bad_betas_in_a_group_names_its_element():
    _refused([{"params": slice(0, 2), "betas": (0.9, 1.5)}], ValueError, name("betas[1]"),
             "group 0")


def test_betas_and_beta1_in_a_group_are_refused():
    _refused([{"params": slice(0, 2), "betas": (0.9, 0.99), "beta1": 0.5}], ValueError,
             "not both")


def test_groups_of_swats_are_refused():
    _refused([{"params": slice(0, 2)}], ValueError, "not supported", method=adamopt.swats)


@pytest.mark.parametrize("a", _registry.algorithms(), ids=lambda a: a.name)
def test_every_hyperparameter_but_the_fixed_ones_is_a_group_key(a):
    from adamopt._run_groups import group_keys
    keys = group_keys(_catalog.CLASSES[a.name])
    assert {h.name for h in a.hyperparameters if not h.fixed} <= set(keys)
    assert not set(a.fixed()) & set(keys)
