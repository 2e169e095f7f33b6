"""How sphinx-gallery runs the examples (named by ``conf.py``'s ``sphinx_gallery_conf``).

Each example runs in its quick mode and writes its figure with ``--plot PATH``
into a scratch folder; `png_scraper` puts that PNG on the example's page (the
scripts close their figures, so matplotlib's own scraper finds none).
"""

import shutil
from pathlib import Path

#: Where the examples write their figures during a build.
FIGURES = Path(__file__).resolve().parent / "_build" / "gallery-figures"


def example_argv(gallery_conf, script_vars):
    """The command-line arguments of an example under sphinx-gallery."""
    FIGURES.mkdir(parents=True, exist_ok=True)
    name = Path(script_vars["src_file"]).stem
    return ["--quick", "--plot", str(FIGURES / f"{name}.png")]


def png_scraper(block, block_vars, gallery_conf):
    """The reST of the figure the example wrote, moved to sphinx-gallery's image path."""
    from sphinx_gallery.scrapers import figure_rst

    written = FIGURES / f"{Path(block_vars['src_file']).stem}.png"
    paths = []
    if written.exists():
        target = next(block_vars["image_path_iterator"])
        shutil.move(written, target)
        paths.append(target)
    return figure_rst(paths, gallery_conf["src_dir"])
