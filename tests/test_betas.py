"""PyTorch's ``betas=(beta1, beta2)`` (``adamopt._betas``), for every class and
SciPy method whose algorithm has both decay rates: derived from the registry
(and SWATS), never listed by hand."""

import inspect
import warnings

import numpy as np
import pytest
from helpers import expect, name
from scipy.optimize import OptimizeWarning, minimize

import adamopt
from adamopt import _catalog, _registry

#: (class, method) of every algorithm with beta1 and beta2.
PAIRED = [pytest.param(_catalog.CLASSES[a.name], _catalog.METHODS[a.name], id=a.name)
          for a in _registry.algorithms()
          if {"beta1", "beta2"} <= {h.name for h in a.hyperparameters}]
PAIRED.append(pytest.param(adamopt.SWATS, adamopt.swats, id="swats"))

#: (class, method) of the algorithms without them.
UNPAIRED = [pytest.param(_catalog.CLASSES[a.name], _catalog.METHODS[a.name], id=a.name)
            for a in _registry.algorithms()
            if not {"beta1", "beta2"} & {h.name for h in a.hyperparameters}]

GRADS = np.random.default_rng(3).standard_normal((20, 5))


def _trajectory(cls, **options):
    x = np.linspace(-1.0, 1.0, 5)
    opt = cls(x, lr=0.05, **options)
    for g in GRADS:
        opt.step(g + x)
    return x, opt


def _quadratic(x):
    return float(x @ x), 2 * x


def _run(method, x0=None, **options):
    x0 = np.linspace(-1.0, 1.0, 4) if x0 is None else x0
    return minimize(_quadratic, x0, jac=True, method=method,
                    options={"lr": 0.05, "maxiter": 30, "gtol": 0.0, **options})


def test_the_paired_algorithms_are_found_in_the_registry():
    assert {p.id for p in PAIRED} >= {"adam", "adamw", "nadam", "radam", "adamax", "swats"}


def test_the_unpaired_algorithms_are_found_in_the_registry():
    assert {p.id for p in UNPAIRED} >= {"sgd", "adagrad", "rmsprop"}


# -- the classes ------------------------------------------------------------------------------

@pytest.mark.parametrize(("cls", "method"), PAIRED)
def test_betas_steps_as_beta1_and_beta2(cls, method):
    x_pair, _ = _trajectory(cls, betas=(0.7, 0.95))
    x_named, _ = _trajectory(cls, beta1=0.7, beta2=0.95)
    assert np.array_equal(x_pair, x_named)


@pytest.mark.parametrize(("cls", "method"), PAIRED)
def test_betas_sets_the_two_attributes(cls, method):
    opt = cls(np.zeros(2), betas=(0.7, 0.95))
    assert (opt.beta1, opt.beta2) == (0.7, 0.95)


@pytest.mark.parametrize(("cls", "method"), PAIRED)
def test_betas_attribute_reads_the_pair(cls, method):
    opt = cls(np.zeros(2), beta1=0.6, beta2=0.8)
    assert opt.betas == (0.6, 0.8)


@pytest.mark.parametrize(("cls", "method"), PAIRED)
def test_betas_attribute_sets_the_pair(cls, method):
    opt = cls(np.zeros(2))
    opt.betas = [0.5, 0.75]
    assert (opt.beta1, opt.beta2) == (0.5, 0.75)


@pytest.mark.parametrize(("cls", "method"), PAIRED)
def test_a_refused_betas_assignment_changes_neither(cls, method):
    opt = cls(np.zeros(2), beta1=0.6, beta2=0.8)
    with pytest.raises(ValueError, match=expect(name("betas[1]"), "1.5")):
        opt.betas = (0.1, 1.5)
    assert opt.betas == (0.6, 0.8)


@pytest.mark.parametrize(("cls", "method"), PAIRED)
def test_betas_none_is_the_default(cls, method):
    opt = cls(np.zeros(2), betas=None, beta1=0.3)
    assert opt.betas == (0.3, 0.999)


@pytest.mark.parametrize(("cls", "method"), PAIRED)
def test_betas_as_a_numpy_array(cls, method):
    opt = cls(np.zeros(2), betas=np.array([0.7, 0.95]))
    assert opt.betas == (0.7, 0.95)
    assert all(type(b) is float for b in opt.betas)


@pytest.mark.parametrize(("cls", "method"), PAIRED)
@pytest.mark.parametrize("other", ["beta1", "beta2"])
def test_betas_with_either_decay_rate_is_refused(cls, method, other):
    with pytest.raises(ValueError, match=expect(name("betas"), name(other), "not both",
                                                f"{other}=0.5")):
        cls(np.zeros(2), betas=(0.9, 0.99), **{other: 0.5})


@pytest.mark.parametrize(("cls", "method"), PAIRED)
def test_betas_with_a_default_valued_decay_rate_is_refused(cls, method):
    with pytest.raises(ValueError, match="not both"):
        cls(np.zeros(2), betas=(0.8, 0.99), beta1=0.9)


@pytest.mark.parametrize(("cls", "method"), PAIRED)
def test_betas_that_is_a_number_is_refused(cls, method):
    with pytest.raises(TypeError, match=expect(name("betas"), "pair", "0.9")):
        cls(np.zeros(2), betas=0.9)


@pytest.mark.parametrize(("cls", "method"), PAIRED)
def test_betas_that_is_a_string_is_refused(cls, method):
    with pytest.raises(TypeError, match=expect(name("betas"), "pair")):
        cls(np.zeros(2), betas="ab")


@pytest.mark.parametrize(("cls", "method"), PAIRED)
@pytest.mark.parametrize("value", [(0.9,), (0.9, 0.99, 0.999), np.zeros((2, 1))])
def test_betas_of_the_wrong_length_is_refused(cls, method, value):
    with pytest.raises(ValueError, match=expect(name("betas"), "pair")):
        cls(np.zeros(2), betas=value)


@pytest.mark.parametrize(("cls", "method"), PAIRED)
def test_betas_out_of_range_names_its_element(cls, method):
    # ([0, 1), or (0, 1) where beta1 divides: schedule-free)
    with pytest.raises(ValueError, match=expect(name("betas[0]"), r"[\[(]0, 1\)", "1.5")):
        cls(np.zeros(2), betas=(1.5, 0.99))


@pytest.mark.parametrize(("cls", "method"), PAIRED)
def test_betas_element_of_the_wrong_type_names_it(cls, method):
    with pytest.raises(TypeError, match=expect(name("betas[1]"), "real number")):
        cls(np.zeros(2), betas=(0.9, "0.99"))


@pytest.mark.parametrize(("cls", "method"), PAIRED)
def test_state_dict_keeps_beta1_and_beta2(cls, method):
    state = cls(np.zeros(2), betas=(0.7, 0.95)).state_dict()
    assert (state["beta1"], state["beta2"]) == (0.7, 0.95)
    assert "betas" not in state


@pytest.mark.parametrize(("cls", "method"), PAIRED)
def test_signature_shows_betas_after_beta2(cls, method):
    names = list(inspect.signature(cls).parameters)
    assert names.index("betas") == names.index("beta2") + 1
    assert inspect.signature(cls).parameters["betas"].default is None


@pytest.mark.parametrize(("cls", "method"), PAIRED)
def test_class_docstring_documents_betas(cls, method):
    assert "betas : (float, float), optional" in cls.__doc__


@pytest.mark.parametrize(("cls", "method"), UNPAIRED)
def test_a_class_without_decay_rates_refuses_betas(cls, method):
    with pytest.raises(TypeError, match="betas"):
        cls(np.zeros(2), betas=(0.9, 0.99))


@pytest.mark.parametrize(("cls", "method"), UNPAIRED)
def test_a_class_without_decay_rates_has_no_betas_attribute(cls, method):
    assert not hasattr(cls(np.zeros(2)), "betas")


# -- the SciPy methods ------------------------------------------------------------------------

@pytest.mark.parametrize(("cls", "method"), PAIRED)
def test_method_option_betas_runs_as_beta1_and_beta2(cls, method):
    pair = _run(method, betas=(0.7, 0.95))
    named = _run(method, beta1=0.7, beta2=0.95)
    assert np.array_equal(pair.x, named.x)
    assert (pair.state["optimizer"]["beta1"], pair.state["optimizer"]["beta2"]) == (0.7, 0.95)


@pytest.mark.parametrize(("cls", "method"), PAIRED)
def test_method_option_betas_with_beta1_is_refused(cls, method):
    with pytest.raises(ValueError, match=expect(name("betas"), name("beta1"), "not both")):
        _run(method, betas=(0.7, 0.95), beta1=0.7)


@pytest.mark.parametrize(("cls", "method"), PAIRED)
def test_method_option_betas_out_of_range_is_refused(cls, method):
    with pytest.raises(ValueError, match=expect(name("betas[1]"), method.__name__)):
        _run(method, betas=(0.7, 1.0))


@pytest.mark.parametrize(("cls", "method"), PAIRED)
def test_method_resumes_a_betas_run_from_its_state(cls, method):
    first = _run(method, betas=(0.7, 0.95), maxiter=10)
    last = first.get("x_last", first.x)   # (an algorithm that averages: its last iterate)
    resumed = _run(method, last, betas=(0.7, 0.95), maxiter=20, state=first.state)
    whole = _run(method, betas=(0.7, 0.95), maxiter=30)
    assert np.array_equal(resumed.x, whole.x)


@pytest.mark.parametrize(("cls", "method"), PAIRED)
def test_show_options_lists_betas(cls, method):
    text = adamopt.show_options(method, disp=False)
    assert "betas : (float, float), optional" in text
    assert text.index("betas :") > text.index("beta2 :")


@pytest.mark.parametrize(("cls", "method"), UNPAIRED)
def test_a_method_without_decay_rates_warns_of_betas(cls, method):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = _run(method)
    with pytest.warns(OptimizeWarning, match="Unknown solver options: betas"):
        res = _run(method, betas=(0.9, 0.99))
    assert np.array_equal(res.x, expected.x)
