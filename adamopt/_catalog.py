"""The public classes and SciPy methods of every declared algorithm, built
once from the registry (``adamopt._registry``) at import."""

from . import _registry
from ._derive import make_class, make_method

#: The public class of each algorithm, by the algorithm's name.
CLASSES = {}
#: The SciPy method of each algorithm, by its name.
METHODS = {}

for _algorithm in _registry.algorithms():
    CLASSES[_algorithm.name] = make_class(_algorithm)
    METHODS[_algorithm.name] = make_method(_algorithm, CLASSES[_algorithm.name])


def public_names():
    """{public name: object} of every class and method, in listing order."""
    out = {}
    for name, cls in CLASSES.items():
        out[cls.__name__] = cls
        out[name] = METHODS[name]
    return out
