"""Sphinx configuration of adamopt's documentation site.

Build from the root of a clone (``pip install -e '.[docs]'``)::

    sphinx-build -W -b html docs docs/_build/html

The API reference is generated from the docstrings (numpydoc, autosummary), the
gallery runs every script of ``examples/`` in its quick mode (sphinx-gallery)
and the performance tables are rendered from ``docs/bench_results.json``
(the tuning benchmark's from ``docs/tuning_results.json``).
"""

import os
import shutil
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _readme_tables import render_file as render_algorithms  # noqa: E402
from _render_bench import render_file  # noqa: E402
from _render_loop import render_file as render_loop  # noqa: E402
from _render_tuning import render_file as render_tuning  # noqa: E402

import adamopt  # noqa: E402
from adamopt import _tables  # noqa: E402

project = "adamopt"
author = "the adamopt developers"
copyright = "the adamopt developers, BSD-3-Clause"
release = adamopt.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "generated_*.rst", "generated/*.examples", "gallery/*.ipynb",
                    "gallery/*.py", "gallery/*.zip", "gallery/*.json", "gallery/*.md5"]
default_role = "obj"
# Docstrings name NumPy and SciPy objects in backquotes: adamopt's own become
# links, the others stay plain text (no intersphinx: the build runs offline).
nitpicky = False

# The pages to scan for autosummary directives: every source page, and the
# generated list of the algorithms' classes and methods (written below, and
# excluded as a page of its own since api.rst includes it), which a scan of
# the found documents alone would miss in a fresh checkout.
autosummary_generate = sorted(
    {str(page.relative_to(HERE)) for page in HERE.rglob("*.rst")
     if not {"_build", "generated", "gallery"} & set(page.relative_to(HERE).parts)}
    | {"generated_api_algorithms.rst"})
autodoc_default_options = {"members": False}
# The numpydoc sections give the types; the annotations would repeat them, longer.
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# -- HTML ------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"adamopt {release}"
html_static_path = ["_static"]
html_favicon = "_static/favicon.png"
html_context = {"default_mode": "auto"}
html_theme_options = {
    "navbar_end": ["navbar-icon-links"],
    "secondary_sidebar_items": ["page-toc"],
    "show_prev_next": False,
}
html_sidebars = {"**": ["sidebar-nav-bs"]}
html_last_updated_fmt = None

# -- math offline ----------------------------------------------------------------------------
# By default the pages load MathJax from its CDN.  ADAMOPT_DOCS_MATHJAX=DIR
# (a MathJax 2 tree, e.g. Debian's libjs-mathjax: /usr/share/javascript/mathjax)
# ships a copy in the site instead, so that it renders offline (CI does this).
_MATHJAX = os.environ.get("ADAMOPT_DOCS_MATHJAX")
if _MATHJAX:
    _local = HERE / "_build" / "mathjax-static"
    _copy = _local / "mathjax"
    if not (_copy / "MathJax.js").exists():
        for part in ("MathJax.js", "config/TeX-AMS-MML_SVG.js", "jax/input/TeX",
                     "jax/output/SVG", "jax/element", "extensions", "localization/en"):
            source, target = Path(_MATHJAX) / part, _copy / part
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True)
            else:
                shutil.copy(source, target)
    html_static_path.append(str(_local))
    mathjax_path = "mathjax/MathJax.js?config=TeX-AMS-MML_SVG"

# -- doctest ---------------------------------------------------------------------------------
doctest_global_setup = "import numpy as np\nimport adamopt\n"

# -- the gallery -----------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples"),
    "gallery_dirs": "gallery",
    "filename_pattern": r".*\.py",
    "reset_argv": "_gallery.example_argv",
    "image_scrapers": ("_gallery.png_scraper",),
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "within_subsection_order": "FileNameSortKey",
    "show_memory": False,
    "plot_gallery": "True",
}
os.environ.setdefault("MPLBACKEND", "Agg")

warnings.filterwarnings("ignore", message="Unknown section Options", category=UserWarning)

# -- the methods' Options section -------------------------------------------------------------
# The SciPy methods document their ``options`` under "Options", as SciPy's own
# methods do; numpydoc knows no such section (it would drop it).  They are the
# keyword arguments of the method callables, so numpydoc renders them as
# "Other Parameters", and the label is set back to "Options" afterwards.
_OPTIONS = "Options\n-------\n"
_WITH_OPTIONS = set()


def _options_before_numpydoc(app, what, name, obj, options, lines):
    text = "\n".join(lines)
    if _OPTIONS in text:
        _WITH_OPTIONS.add(name)
        lines[:] = text.replace(_OPTIONS, "Other Parameters\n----------------\n").split("\n")


def _options_after_numpydoc(app, what, name, obj, options, lines):
    if name in _WITH_OPTIONS:
        lines[:] = [line.replace(":Other Parameters:", ":Options:") for line in lines]


def setup(app):
    app.connect("autodoc-process-docstring", _options_before_numpydoc, priority=100)
    app.connect("autodoc-process-docstring", _options_after_numpydoc, priority=900)


# -- generated pages -------------------------------------------------------------------------
render_file(HERE / "bench_results.json", HERE / "generated_performance.rst")
render_loop(HERE / "minimize_overhead.json", HERE / "generated_minimize_loop.rst")
render_tuning(HERE / "tuning_results.json", HERE / "generated_tuning.rst")
render_algorithms(HERE.parent / "README.md", HERE / "generated_algorithms.rst")
# (with its own currentmodule: autosummary reads it alone to write the stubs)
(HERE / "generated_api_algorithms.rst").write_text(
    ".. currentmodule:: adamopt\n\n" + _tables.api_sections())
