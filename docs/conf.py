"""Sphinx configuration of adamopt's documentation site.

Build from the root of a clone (``pip install -e '.[docs]'``)::

    sphinx-build -W -b html docs docs/_build/html

The API reference is generated from the docstrings (numpydoc, autosummary), the
gallery runs every script of ``examples/`` in its quick mode (sphinx-gallery)
and the performance tables are rendered from ``docs/bench_results.json``.
"""

import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import adamopt  # noqa: E402
from _render_bench import render_file  # noqa: E402

project = "adamopt"
author = "the adamopt developers"
copyright = "the adamopt developers, BSD-3-Clause"  # noqa: A001
release = adamopt.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "generated/*.examples", "gallery/*.ipynb", "gallery/*.py",
                    "gallery/*.zip", "gallery/*.json", "gallery/*.md5"]
default_role = "obj"
# Docstrings name NumPy and SciPy objects in backquotes; without the network
# (intersphinx inventories are not fetched) these stay plain text.
nitpicky = False

autosummary_generate = True
autodoc_default_options = {"members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

intersphinx_mapping = {}

# -- HTML ------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"adamopt {release}"
html_static_path = ["_static"]
html_theme_options = {
    "navbar_end": ["navbar-icon-links"],
    "secondary_sidebar_items": ["page-toc"],
    "show_prev_next": False,
}
html_sidebars = {"**": ["sidebar-nav-bs"]}
html_last_updated_fmt = None

# -- doctest ---------------------------------------------------------------------------------
doctest_global_setup = "import numpy as np\nimport adamopt\n"

# -- the gallery -----------------------------------------------------------------------------
#: The examples' own figures (each script writes its PNG with --plot PATH).
_FIGURES = HERE / "_build" / "gallery-figures"


def _example_argv(gallery_conf, script_vars):
    """Arguments of each example under sphinx-gallery: the quick mode, and its
    figure into a scratch folder that `_png_scraper` collects."""
    _FIGURES.mkdir(parents=True, exist_ok=True)
    name = Path(script_vars["src_file"]).stem
    return ["--quick", "--plot", str(_FIGURES / f"{name}.png")]


def _png_scraper(block, block_vars, gallery_conf):
    """Put the PNG an example wrote (see `_example_argv`) on its gallery page."""
    from sphinx_gallery.scrapers import figure_rst

    name = Path(block_vars["src_file"]).stem
    written = _FIGURES / f"{name}.png"
    paths = []
    if written.exists():
        target = next(block_vars["image_path_iterator"])
        shutil.move(written, target)
        paths.append(target)
    return figure_rst(paths, gallery_conf["src_dir"])


sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples"),
    "gallery_dirs": "gallery",
    "filename_pattern": r".*\.py",
    "reset_argv": _example_argv,
    "image_scrapers": (_png_scraper,),
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "within_subsection_order": "FileNameSortKey",
    "show_memory": False,
    "plot_gallery": "True",
}
os.environ.setdefault("MPLBACKEND", "Agg")

# -- generated pages -------------------------------------------------------------------------
render_file(HERE / "bench_results.json", HERE / "generated_performance.rst")
