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


def _family_reference(function, arrays, **kwargs):
    """The same for a family reference ``function(x, g, *arrays, t, **kwargs)``."""
    def init(x):
        return tuple(np.zeros_like(x) for _ in range(arrays))

    def step(x, g, state, t):
        out = function(x, g, *state, t, lr=1e-3, **kwargs)
        return out[0], tuple(out[1:1 + arrays])

    return init, step


OPTIONS = {
    "adam": dict(cls=adamopt.Adam, kwargs={}, ref=_adam_reference(weight_decay=0.0)),
    "adamw": dict(cls=adamopt.AdamW, kwargs={"weight_decay": 1e-2},
                  ref=_adam_reference(weight_decay=1e-2, decoupled=True)),
    "amsgrad": dict(cls=adamopt.Adam, kwargs={"amsgrad": True},
                    ref=_adam_reference(weight_decay=0.0, amsgrad=True)),
    "sgd": dict(cls=adamopt.SGD, kwargs={"momentum": 0.9},
                ref=_family_reference(_reference.sgd_step, 1, momentum=0.9)),
    "adagrad": dict(cls=adamopt.Adagrad, kwargs={},
                    ref=_family_reference(_reference.adagrad_step, 1)),
    "rmsprop": dict(cls=adamopt.RMSprop, kwargs={},
                    ref=_family_reference(
                        lambda x, g, sq, t, **k: _reference.rmsprop_step(x, g, sq, None, None,
                                                                         t, **k), 1)),
    "adamax": dict(cls=adamopt.Adamax, kwargs={},
                   ref=_family_reference(_reference.adamax_step, 2)),
    "nadam": dict(cls=adamopt.NAdam, kwargs={},
                  ref=_family_reference(
                      lambda x, g, m, v, t, **k: _reference.nadam_step(x, g, m, v, 1.0, t, **k),
                      2)),
}


class Step:
    """Time per step, after 10 warm-up steps (the state is not zero).  The
    family's algorithms run with PyTorch's defaults (SGD with momentum 0.9)."""

    params = (SIZES, DTYPES, ALGORITHMS, ["adamopt", "reference"])
    param_names = ["n", "dtype", "algorithm", "implementation"]
    timeout = 300

    def setup(self, n, dtype, algorithm, implementation):
        x0, self.g = vectors(n, dtype)
        spec = OPTIONS[algorithm]
        if implementation == "adamopt":
            self.x = x0.copy()
            self.opt = spec["cls"](self.x, lr=1e-3, **spec["kwargs"])
            for _ in range(10):
                self.opt.step(self.g)
            self.step = lambda: self.opt.step(self.g)
        else:
            init, reference = spec["ref"]
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
