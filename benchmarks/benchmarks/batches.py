"""``adamopt.minibatches``: the cost of one shuffled batch, against the
hand-written ``X[idx]`` (see also ``benchmarks/minibatch_overhead.py``)."""

import numpy as np

import adamopt

from .common import sizes

#: Rows of the data set (4 batches of the largest size).
ROWS = 16384


class MinibatchDraw:
    """One ``next(stream)`` of ``minibatches(X, y, batch_size=b, seed=0)``
    (``shuffle=True``), and the same batch written by hand
    (``X[idx[i:i + b]], y[idx[i:i + b]]``, a new permutation each epoch)."""

    params = (sizes([32, 256, 4096], [32]), sizes([10, 100, 1000], [10]), ["float64", "float32"])
    param_names = ["batch_size", "features", "dtype"]

    def setup(self, batch_size, features, dtype):
        rng = np.random.default_rng(0)
        self.X = rng.standard_normal((ROWS, features)).astype(dtype)
        self.y = rng.standard_normal(ROWS).astype(dtype)
        self.stream = adamopt.minibatches(self.X, self.y, batch_size=batch_size, seed=0)
        self.rng, self.b = np.random.default_rng(0), batch_size
        self.idx, self.i, self.last = self.rng.permutation(ROWS), 0, None

    def time_stream(self, batch_size, features, dtype):
        self.last = next(self.stream)     # held while the next is drawn, as in a run

    def time_hand_written(self, batch_size, features, dtype):
        if self.i >= ROWS:
            self.idx, self.i = self.rng.permutation(ROWS), 0
        j = self.idx[self.i:self.i + self.b]
        self.last = self.X[j], self.y[j]
        self.i += self.b

    def peakmem_stream_100_batches(self, batch_size, features, dtype):
        for _ in range(100):
            self.last = next(self.stream)
