"""The README's algorithm table, derived from the declarations.

``python -m adamopt._tables`` prints it; ``tests/test_registry.py`` checks
that the README's table (between its ``<!-- algorithms -->`` markers) equals
it.  `api_sections` is the API reference's list of the algorithms' classes and
methods (``docs/conf.py`` writes it for ``docs/api.rst``).
"""

import inspect

from . import _betas, _registry, _swats
from ._derive import show_default

#: The table's columns.
HEADER = ("| algorithm | class | SciPy method | PyTorch match | differences from the paper "
          "| `gtol` tests |\n| --- | --- | --- | --- | --- | --- |")

#: The README's markers around the table.
BEGIN, END = "<!-- algorithms -->", "<!-- /algorithms -->"


def _signature(cls):
    params = inspect.signature(cls).parameters.values()
    shown = [f"{p.name}={show_default(p.default)}" for p in params
             if p.kind is p.KEYWORD_ONLY and p.name not in (*_registry.COMMON, _betas.NAME)]
    return f"`{cls.__name__}({', '.join(shown)})`"


def _rows():
    from ._catalog import CLASSES
    rows = [(a.position, a.table, CLASSES[a.name], a.name) for a in _registry.algorithms()]
    rows.append((_swats.TABLE_POSITION, _swats.TABLE_ROW, _swats.SWATS, "swats"))
    for _, (title, torch_match, differences, gtol), cls, method in sorted(
            rows, key=lambda r: r[0]):
        yield (f"| {title} | {_signature(cls)} | `adamopt.{method}` | {torch_match} "
               f"| {differences} | {gtol} |")


def algorithm_table():
    """The README's algorithm table (markdown)."""
    return "\n".join([HEADER, *_rows()])


def readme_table(text):
    """The table between the markers of the README ``text`` (None without them)."""
    if BEGIN not in text or END not in text:
        return None
    return text.split(BEGIN, 1)[1].split(END, 1)[0].strip("\n")


_AUTOSUMMARY = """
.. autosummary::
   :toctree: generated/
   :nosignatures:

"""


def api_sections():
    """The API reference's "Optimizer classes" and "SciPy methods" sections
    (reStructuredText, included by ``docs/api.rst``): every declared
    algorithm's class and method, in listing order, then SWATS's."""
    from ._catalog import CLASSES
    names = [a.name for a in _registry.algorithms()]
    classes = [CLASSES[name].__name__ for name in names] + ["SWATS"]
    methods = [*names, "swats", "show_options"]
    return ("Optimizer classes\n-----------------\n\nEach updates a NumPy array in place with "
            "one compiled pass per ``step(grad)``.\n" + _AUTOSUMMARY
            + "".join(f"   {n}\n" for n in classes)
            + "\nSciPy methods\n-------------\n\nCallables for "
            "``scipy.optimize.minimize(fun, x0, method=...)``.\n" + _AUTOSUMMARY
            + "".join(f"   {n}\n" for n in methods))


if __name__ == "__main__":
    print(algorithm_table())
