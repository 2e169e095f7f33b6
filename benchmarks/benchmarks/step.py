"""One optimizer step: adamopt's compiled kernels against the NumPy reference.

``implementation="reference"`` is ``adamopt._reference.adam_step``, the plain
NumPy oracle of the tests (it allocates its results), kept in the suite as the
baseline the compiled step is measured against.
"""

import numpy as np

import adamopt
from adamopt import _reference

from .common import vectors

SIZES = [10, 1000, 100_000, 10_000_000]
DTYPES = ["float32", "float64"]
ALGORITHMS = ["adam", "adamw", "amsgrad"]

OPTIONS = {
    "adam": dict(cls=adamopt.Adam, kwargs={}, ref=dict(weight_decay=0.0)),
    "adamw": dict(cls=adamopt.AdamW, kwargs={"weight_decay": 1e-2},
                  ref=dict(weight_decay=1e-2, decoupled=True)),
    "amsgrad": dict(cls=adamopt.Adam, kwargs={"amsgrad": True},
                    ref=dict(weight_decay=0.0, amsgrad=True)),
}


class Step:
    """Time per step, after 10 warm-up steps (the moments are not zero)."""

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
            x = x0.copy()
            m, v = np.zeros_like(x), np.zeros_like(x)
            vmax = np.zeros_like(x) if algorithm == "amsgrad" else None
            kwargs = dict(lr=1e-3, **spec["ref"])
            for t in range(1, 11):
                x, m, v, vmax = _reference.adam_step(x, self.g, m, v, vmax, t, **kwargs)
            self.step = lambda: _reference.adam_step(x, self.g, m, v, vmax, 11, **kwargs)

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
