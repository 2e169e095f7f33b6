"""The public API is documented: docstrings with equations and references, and
their examples run."""

import doctest

import pytest

import adamopt
from adamopt import (
    _batches,
    _family,
    _family_methods,
    _minimize,
    _optimizers,
    _schedules,
    _swats,
)

#: The family's classes and their SciPy methods.
FAMILY = {adamopt.SGD: adamopt.sgd, adamopt.Adagrad: adamopt.adagrad,
          adamopt.RMSprop: adamopt.rmsprop, adamopt.Adamax: adamopt.adamax,
          adamopt.NAdam: adamopt.nadam}


@pytest.mark.parametrize("name", adamopt.__all__)
def test_every_public_name_is_exported(name):
    assert hasattr(adamopt, name)


@pytest.mark.parametrize("cls", [adamopt.Adam, adamopt.AdamW])
@pytest.mark.parametrize("section", ["Parameters", "Notes", "References", ".. math::",
                                     "check_finite", "amsgrad", "arXiv"])
def test_class_docstring_has_section(cls, section):
    assert section in cls.__doc__


def test_step_docstring_documents_returns_and_raises():
    doc = adamopt.Adam.step.__doc__
    assert "Returns" in doc
    assert "Raises" in doc


@pytest.mark.parametrize("cls", list(FAMILY))
@pytest.mark.parametrize("section", ["Parameters", "Notes", "References", ".. math::",
                                     "check_finite", "Examples", "PyTorch", "paper"])
def test_family_class_docstring_has_section(cls, section):
    assert section in cls.__doc__


@pytest.mark.parametrize("module", [_optimizers, _minimize, _batches, _family,
                                    _family_methods, _schedules, _swats])
def test_docstring_examples_run(module):
    failures, tried = doctest.testmod(module, raise_on_error=False, report=True)
    assert tried > 0
    assert failures == 0


@pytest.mark.parametrize("method", [adamopt.adam, adamopt.adamw, *FAMILY.values()])
@pytest.mark.parametrize("section", ["Parameters", "Options", "Returns", "Raises",
                                     "Notes", "References", ".. math::"])
def test_method_docstring_has_section(method, section):
    assert section in method.__doc__


@pytest.mark.parametrize("method", [adamopt.adam, adamopt.adamw])
def test_adam_method_docstrings_cite_arxiv(method):
    assert "arXiv" in method.__doc__


CLASS_OF = {adamopt.adam: adamopt.Adam, adamopt.adamw: adamopt.AdamW,
            **{method: cls for cls, method in FAMILY.items()}}


@pytest.mark.parametrize("method", list(CLASS_OF))
def test_method_docstring_documents_every_option(method):
    cls = CLASS_OF[method]
    options = [*_minimize._hyperparameter_defaults(cls), *_minimize._RUN_DEFAULTS, "tol"]
    options_section = method.__doc__.split("Options\n")[1].split("Returns\n")[0]
    missing = [name for name in options if f"    {name}" not in options_section
               and f", {name}" not in options_section]
    assert missing == []
