"""The public API is documented: docstrings with equations and references, and
their examples run."""

import doctest

import pytest

import adamopt
from adamopt import _optimizers


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


def test_docstring_examples_run():
    failures, tried = doctest.testmod(_optimizers, raise_on_error=False, report=True)
    assert tried > 0
    assert failures == 0
