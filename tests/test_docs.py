"""The public API is documented: docstrings with equations and references, and
their examples run."""

import doctest
import inspect
import re

import pytest
from helpers import expect, name

import adamopt
from adamopt import (
    _batches,
    _catalog,
    _minimize,
    _monitor,
    _options,
    _plot,
    _schedules,
    _swats,
)

#: Every declared algorithm's class and SciPy method (from the registry).
DECLARED = {cls: _catalog.METHODS[name] for name, cls in _catalog.CLASSES.items()}
#: Those of the family (PyTorch's names), all but Adam and AdamW.
FAMILY = {cls: method for cls, method in DECLARED.items()
          if cls not in (adamopt.Adam, adamopt.AdamW)}


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


@pytest.mark.parametrize("module", [_batches, _schedules, _swats])
def test_docstring_examples_run(module):
    failures, tried = doctest.testmod(module, raise_on_error=False, report=True)
    assert tried > 0
    assert failures == 0


@pytest.mark.parametrize("obj", [*DECLARED, *DECLARED.values()], ids=lambda o: o.__name__)
def test_declared_algorithm_docstring_examples_run(obj):
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    tests = doctest.DocTestFinder(recurse=False).find(obj, obj.__name__, globs={})
    assert sum(len(t.examples) for t in tests) > 0
    for test in tests:
        runner.run(test)
    assert runner.failures == 0


@pytest.mark.parametrize("method", [adamopt.adam, adamopt.adamw, *FAMILY.values()])
@pytest.mark.parametrize("section", ["Parameters", "Options", "Returns", "Raises",
                                     "Notes", "References", ".. math::"])
def test_method_docstring_has_section(method, section):
    assert section in method.__doc__


@pytest.mark.parametrize("method", [adamopt.adam, adamopt.adamw])
def test_adam_method_docstrings_cite_arxiv(method):
    assert "arXiv" in method.__doc__


CLASS_OF = {method: cls for cls, method in DECLARED.items()}


@pytest.mark.parametrize("method", list(CLASS_OF))
def test_method_docstring_documents_every_option(method):
    cls = CLASS_OF[method]
    options = [*_minimize._hyperparameter_defaults(cls), *_minimize._RUN_DEFAULTS, "tol"]
    options_section = method.__doc__.split("Options\n")[1].split("Returns\n")[0]
    missing = [name for name in options if f"    {name}" not in options_section
               and f", {name}" not in options_section]
    assert missing == []


# -- every public callable -------------------------------------------------------------------

CALLABLES = [name for name in adamopt.__all__ if callable(getattr(adamopt, name))]
#: The public names that implement an algorithm: their docstrings show its
#: update equations and cite the papers.
ALGORITHMS = ["Adam", "AdamW", "adam", "adamw", "SWATS", "swats",
              *(c.__name__ for c in FAMILY), *(m.__name__ for m in FAMILY.values())]


def _section(doc, title):
    match = re.search(rf"^\s*{title}\n\s*-+\n(.*?)(?=^\s*\w[\w ]*\n\s*-+\n|\Z)", doc,
                      re.MULTILINE | re.DOTALL)
    return match.group(1) if match else None


def _parameters(obj):
    signature = inspect.signature(obj)
    return [p.name for p in signature.parameters.values()
            if p.kind is not inspect.Parameter.VAR_KEYWORD and p.name != "self"]


def test_algorithms_are_public():
    assert set(ALGORITHMS) <= set(CALLABLES)


@pytest.mark.parametrize("name", CALLABLES)
def test_public_callable_has_a_summary_line(name):
    doc = inspect.getdoc(getattr(adamopt, name))
    assert doc, f"{name} has no docstring"
    assert doc.splitlines()[0].endswith(".")


@pytest.mark.parametrize("name", CALLABLES)
def test_public_callable_documents_every_parameter(name):
    obj = getattr(adamopt, name)
    section = _section(inspect.getdoc(obj), "Parameters")
    if not _parameters(obj):      # e.g. the Schedule base class
        return
    assert section is not None, f"{name} has no Parameters section"
    documented = set()
    for line in section.splitlines():
        if line and not line[0].isspace():
            documented.update(n.strip().lstrip("*") for n in line.split(":")[0].split(","))
    assert [p for p in _parameters(obj) if p not in documented] == []


FUNCTIONS = [n for n in CALLABLES if not inspect.isclass(getattr(adamopt, n))]


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("section", ["Returns", "Examples"])
def test_public_function_has_section(name, section):
    assert _section(inspect.getdoc(getattr(adamopt, name)), section) is not None


@pytest.mark.parametrize("name", ALGORITHMS)
@pytest.mark.parametrize("section", [".. math::", "References", "Examples"])
def test_algorithm_docstring_has_equations_and_references(name, section):
    assert section in inspect.getdoc(getattr(adamopt, name))


@pytest.mark.parametrize("name", ["Adam", "AdamW", "adam", "adamw", "SWATS", "swats"])
def test_arxiv_paper_is_cited_by_its_number(name):
    assert "arXiv:" in inspect.getdoc(getattr(adamopt, name))


@pytest.mark.parametrize("module", [_monitor, _options, _plot])
def test_new_modules_docstring_examples_run(module):
    failures, _ = doctest.testmod(module, raise_on_error=False, report=True)
    assert failures == 0


# -- show_options ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", [adamopt.adam, adamopt.adamw])
def test_show_options_prints_every_option_of_a_method(method, capsys):
    assert adamopt.show_options(method) is None
    out = capsys.readouterr().out
    cls = adamopt.AdamW if method is adamopt.adamw else adamopt.Adam
    options = [*_minimize._hyperparameter_defaults(cls), *_minimize._RUN_DEFAULTS, "tol"]
    assert [o for o in options if not re.search(rf"^(\w+, )*{o}\b", out, re.MULTILINE)] == []


def test_show_options_is_the_docstrings_options_section():
    text = adamopt.show_options("adam", disp=False)
    assert text in inspect.getdoc(adamopt.adam)
    assert "Returns" not in text
    assert "Parameters" not in text


def test_show_options_by_name_or_callable_agree():
    assert adamopt.show_options("ADAMW", disp=False) == adamopt.show_options(
        adamopt.adamw, disp=False)


def test_show_options_without_a_method_shows_each_under_a_heading():
    text = adamopt.show_options(disp=False)
    for method in ("adam", "adamw"):
        assert f"{method}\n{'=' * len(method)}\n" in text
        assert adamopt.show_options(method, disp=False) in text


@pytest.mark.parametrize(("method", "error"), [("bfgs", ValueError), (3, TypeError),
                                               (adamopt.Adam, ValueError)])
def test_show_options_refuses_an_unknown_method(method, error):
    with pytest.raises(error, match=expect(name("method"), "show_options")):
        adamopt.show_options(method)
