"""The version of adamopt: the one place it is written.

``pyproject.toml`` reads it at build time (``[tool.setuptools.dynamic]``, a
static read of this assignment, so building does not import the package) and
``adamopt.__version__`` imports it, so the metadata of an editable install,
a wheel and an sdist and the imported package always agree.
"""

__version__ = "0.2.0.dev0"
