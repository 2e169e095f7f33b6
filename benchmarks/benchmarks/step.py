"""One optimizer step: adamopt's compiled kernels against the NumPy reference.

``implementation="reference"`` is ``adamopt._reference``'s step of the
algorithm (``adam_step``, ``sgd_step``, ...), the plain NumPy oracle of the
tests (it allocates its results), kept in the suite as the baseline the
compiled step is measured against.
"""

import numpy as np

import adamopt
from adamopt import _reference

from .common import vectors

SIZES = [10, 1000, 100_000, 10_000_000]
DTYPES = ["float32", "float64"]
ALGORITHMS = ["adam", "adamw", "amsgrad", "sgd", "adagrad", "rmsprop", "adamax", "nadam"]


def _adam_reference(**kwargs):
    """A step function over (x, state tuple, t) of `_reference.adam_step`."""
    amsgrad = kwargs.get("amsgrad", False)

    def init(x):
        return (np.zeros_like(x), np.zeros_like(x), np.zeros_like(x) if amsgrad else None)

    def step(x, g, state, t):
        x, m, v, vmax = _reference.adam_step(x, g, *state, t, lr=1e-3, **kwargs)
        return x, (m, v, vmax)

    return init, step


def _family_reference(name, arrays, **kwargs):
    """The same for the family's ``_reference.<name>(x, g, *arrays, t, **kwargs)``."""
    function = getattr(_reference, name)
    if name == "rmsprop_step":     # its optional averages, unused here
        def function(x, g, sq, t, _f=function, **k):
            return _f(x, g, sq, None, None, t, **k)
    elif name == "nadam_step":     # its momentum product: PyTorch's at the start
        def function(x, g, m, v, t, _f=function, **k):
            return _f(x, g, m, v, 1.0, t, **k)

    def init(x):
        return tuple(np.zeros_like(x) for _ in range(arrays))

    def step(x, g, state, t):
        out = function(x, g, *state, t, lr=1e-3, **kwargs)
        return out[0], tuple(out[1:1 + arrays])

    return init, step


#: algorithm -> (class name, its options, reference factory): resolved in
#: setup, so that an adamopt without the class skips (NotImplementedError).
OPTIONS = {
    "adam": ("Adam", {}, lambda: _adam_reference(weight_decay=0.0)),
    "adamw": ("AdamW", {"weight_decay": 1e-2},
              lambda: _adam_reference(weight_decay=1e-2, decoupled=True)),
    "amsgrad": ("Adam", {"amsgrad": True},
                lambda: _adam_reference(weight_decay=0.0, amsgrad=True)),
    "sgd": ("SGD", {"momentum": 0.9}, lambda: _family_reference("sgd_step", 1, momentum=0.9)),
    "adagrad": ("Adagrad", {}, lambda: _family_reference("adagrad_step", 1)),
    "rmsprop": ("RMSprop", {}, lambda: _family_reference("rmsprop_step", 1)),
    "adamax": ("Adamax", {}, lambda: _family_reference("adamax_step", 2)),
    "nadam": ("NAdam", {}, lambda: _family_reference("nadam_step", 2)),
}


class Step:
    """Time per step, after 10 warm-up steps (the state is not zero).  The
    family's algorithms run with PyTorch's defaults (SGD with momentum 0.9)."""

    params = (SIZES, DTYPES, ALGORITHMS, ["adamopt", "reference"])
    param_names = ["n", "dtype", "algorithm", "implementation"]
    timeout = 300

    def setup(self, n, dtype, algorithm, implementation):
        name, options, reference = OPTIONS[algorithm]
        if not hasattr(adamopt, name):
            raise NotImplementedError(f"this adamopt has no adamopt.{name}")
        x0, self.g = vectors(n, dtype)
        if implementation == "adamopt":
            self.x = x0.copy()
            self.opt = getattr(adamopt, name)(self.x, lr=1e-3, **options)
            for _ in range(10):
                self.opt.step(self.g)
            self.step = lambda: self.opt.step(self.g)
        else:
            init, reference = reference()
            x = x0.copy()
            state = init(x)
            for t in range(1, 11):
                x, state = reference(x, self.g, state, t)
            self.step = lambda: reference(x, self.g, state, 11)

    def time_step(self, n, dtype, algorithm, implementation):
        self.step()


class StepMemory:
    """Peak memory of a process that takes one step (adamopt allocates nothing
    per step: the peak is the arrays themselves)."""

    params = ([100_000, 10_000_000], DTYPES, ["adamopt", "reference"])
    param_names = ["n", "dtype", "implementation"]

    def setup(self, n, dtype, implementation):
        self.x0, self.g = vectors(n, dtype)

    def peakmem_step(self, n, dtype, implementation):
        x = self.x0.copy()
        if implementation == "adamopt":
            adamopt.Adam(x).step(self.g)
        else:
            z = np.zeros_like(x)
            _reference.adam_step(x, self.g, z, z, None, 1, lr=1e-3)
