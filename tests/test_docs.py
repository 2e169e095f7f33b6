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


# -- the documentation site's pages (docs/) -----------------------------------------------------

import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

from doc_blocks import DOCS, ROOT, check_command, pages, rst_blocks, shell_commands  # noqa: E402

PAGES = pages()
#: Pages whose Python blocks form a script that starts worker processes.
SCRIPTS = {"dask.rst"}


def test_the_docs_have_their_user_guide_pages():
    names = {p.name for p in PAGES}
    assert {"getting_started.rst", "stochastic_fitting.rst", "choosing_a_method.rst",
            "algorithms.rst", "schedules.rst", "performance.rst", "dask.rst",
            "migrating.rst", "index.rst", "api.rst"} <= names


@pytest.mark.parametrize("page", [p for p in PAGES if p.name not in SCRIPTS],
                         ids=lambda p: p.name)
def test_the_python_blocks_of_a_page_run_in_order(page, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__main__"}
    for block in rst_blocks(page.read_text(), "python"):
        exec(compile(block, str(page), "exec"), namespace)
    import matplotlib.pyplot as plt

    plt.close("all")


def test_the_dask_page_runs_pasted_into_a_script(tmp_path):
    pytest.importorskip("distributed")
    blocks = rst_blocks((DOCS / "user_guide" / "dask.rst").read_text(), "python")
    assert len(blocks) == 1
    assert 'if __name__ == "__main__":' in blocks[0]
    script = tmp_path / "fit_on_dask.py"
    script.write_text(blocks[0])
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=240, cwd=tmp_path, env={**os.environ, "PYTHONWARNINGS": ""})
    assert proc.returncode == 0, proc.stderr[-3000:]
    fits = [np.array(line.strip("[]").split(), dtype=float)
            for line in proc.stdout.splitlines()]
    assert len(fits) == 2, proc.stdout
    assert [abs(f - [1.0, -2.0, 0.5, 0.0, 3.0]).max() < 0.25 for f in fits] == [True, True]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_the_bash_blocks_of_a_page_name_commands_that_exist(page):
    problems = [p for block in rst_blocks(page.read_text(), "bash")
                for argv in shell_commands(block) for p in check_command(argv)]
    assert problems == []


def test_the_api_reference_lists_every_public_name():
    from adamopt import _tables
    text = (DOCS / "api.rst").read_text()
    assert ".. include:: generated_api_algorithms.rst" in text
    text += _tables.api_sections()   # what conf.py writes there
    listed = set(re.findall(r"^   (\w+)$", text, re.MULTILINE))
    missing = [n for n in adamopt.__all__ if n not in listed and n != "__version__"]
    assert missing == []
    assert ".. data:: __version__" in text


def test_minibatch_streams_are_public_types():
    stream = adamopt.minibatches(np.zeros((10, 2)), batch_size=3, seed=0)
    assert isinstance(stream, adamopt.MinibatchStream)
    assert "MinibatchStream" in adamopt.__all__
    assert "DaskMinibatchStream" in adamopt.__all__


# -- the performance tables: bench --output and its rendering ------------------------------

sys.path.insert(0, str(DOCS))
import _readme_tables  # noqa: E402
import _render_bench  # noqa: E402
import numpy as np  # noqa: E402

from adamopt import _bench  # noqa: E402


def test_bench_output_writes_a_results_file_with_date_machine_and_command(tmp_path):
    path = tmp_path / "results.json"
    _bench.main(["--sizes", "10", "--dtypes", "float64", "--repeats", "1",
                 "--target", "0.001", "--output", str(path)])
    run = json.loads(path.read_text())["runs"]["adam"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", run["date"])
    assert run["machine"]["cores"] >= 1
    assert "--output" in run["command"]
    assert [(r["dtype"], r["n"]) for r in run["rows"]] == [("float64", 10)]
    assert run["rows"][0]["adamopt"] > 0


def test_bench_output_keeps_the_runs_of_other_algorithms(tmp_path):
    path = tmp_path / "results.json"
    for algorithm in ("adam", "sgd"):
        _bench.main(["--sizes", "10", "--dtypes", "float64", "--repeats", "1",
                     "--target", "0.001", "--algorithm", algorithm, "--output", str(path)])
    assert set(json.loads(path.read_text())["runs"]) == {"adam", "sgd"}


def test_the_shipped_results_file_renders_with_its_date_and_machine():
    results = json.loads((DOCS / "bench_results.json").read_text())
    text = _render_bench.render(results)
    run = results["runs"]["adam"]
    assert f"Measured {run['date']}" in text
    assert run["machine"]["cpu"] in text
    assert ".. list-table::" in text


def test_the_renderer_refuses_another_file_format():
    with pytest.raises(ValueError, match="not an adamopt bench results file"):
        _render_bench.render({"format": "something-else", "runs": {}})


def test_the_readme_algorithm_table_converts_to_rst(tmp_path):
    target = tmp_path / "algorithms.rst"
    _readme_tables.render_file(ROOT / "README.md", target)
    text = target.read_text()
    assert text.startswith(".. list-table::")
    assert "``adamopt.adam``" in text


def test_a_readme_without_markers_is_refused():
    with pytest.raises(ValueError, match="no table between"):
        _readme_tables.markdown_table("| a |\n| --- |\n| b |\n")


# -- the browser check of the built site (docs/check_site.py) ------------------------------

import shutil  # noqa: E402

import check_site  # noqa: E402

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2c0"
                    "b1d40000000049454e44ae426082")


def _site(tmp_path, body):
    (tmp_path / "dot.png").write_bytes(PNG)
    (tmp_path / "page.html").write_text(f"<html><body><p>adamopt</p>{body}</body></html>")
    return str(tmp_path)


def _browser_or_skip():
    pytest.importorskip("playwright")
    if not any(shutil.which(name) for name in check_site.CHROMIUM):
        pytest.skip("no chromium on PATH")


def test_the_browser_check_passes_a_page_that_renders(tmp_path, capsys):
    _browser_or_skip()
    site = _site(tmp_path, '<img src="dot.png">')
    assert check_site.main([site, "page.html", "--expect-image", "page.html",
                            "--expect-text", "page.html=adamopt"]) == 0


def test_the_browser_check_reports_a_script_error(tmp_path, capsys):
    _browser_or_skip()
    site = _site(tmp_path, "<script>no_such_function()</script>")
    assert check_site.main([site, "page.html"]) == 1
    assert "JavaScript exception" in capsys.readouterr().out


def test_the_browser_check_reports_a_missing_figure(tmp_path, capsys):
    _browser_or_skip()
    site = _site(tmp_path, '<img src="missing.png">')
    assert check_site.main([site, "page.html", "--expect-image", "page.html"]) == 1
    out = capsys.readouterr().out
    assert "HTTP 404" in out
    assert "no image rendered" in out


# -- the minimize loop's table: benchmarks/minimize_overhead.py --output and its rendering --

import _render_loop  # noqa: E402


def test_the_shipped_minimize_loop_file_renders_with_its_date_and_machine():
    results = json.loads((DOCS / "minimize_overhead.json").read_text())
    text = _render_loop.render(results)
    assert f"Measured {results['date']}" in text
    assert results["machine"]["cpu"] in text
    assert text.count(".. list-table::") == (2 if results["memory"] else 1)


def test_the_minimize_loop_renderer_refuses_another_file_format():
    with pytest.raises(ValueError, match="not a minimize_overhead results file"):
        _render_loop.render({"format": "adamopt-bench/1"})
def _run_with(peers):
    row = {"dtype": "float64", "n": 10, "adamopt": 1e-6, "adamopt-nocheck": 1e-6,
           "adamopt-1thread": 1e-6, "probe": 1e-6, **peers}
    machine = {"cpu": "cpu", "cores": 2, "system": "sys", "kernel": "avx2", "threads": 2,
               "versions": {"numpy": "2"}, "load_average_1min": 0.1}
    return {"date": "2026-01-01T00:00:00Z", "machine": machine, "command": "bench",
            "rows": [row]}


def test_the_renderer_shows_optax_beside_pytorch():
    results = {"format": "adamopt-bench/1",
               "runs": {"adam": _run_with({"torch-fused": 2e-6, "optax-jit": 3e-6}),
                        "sgd": _run_with({"torch-fused": 2e-6, "optax-jit": 4e-6})}}
    text = _render_bench.render(results)
    assert "optax-jit / adamopt" in text                         # the Adam table
    assert "3.0x" in text
    assert "2.0x torch-fused, 4.0x optax" in text               # the family table
