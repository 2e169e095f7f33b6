"""Seeded, cached inputs shared by the benchmarks."""

import functools
import os

import numpy as np

#: ``ADAMOPT_ASV_SMOKE=1``: the suite's smoke run (CI's), every benchmark on
#: its smallest sizes only, so that the whole suite is checked to run in a few
#: minutes; the figures of such a run are not the tracked ones.
SMOKE = os.environ.get("ADAMOPT_ASV_SMOKE", "") not in ("", "0")


def sizes(full, smoke):
    """A parameter list: ``full``, or ``smoke`` in the smoke run."""
    return list(smoke) if SMOKE else list(full)


@functools.lru_cache(maxsize=4)
def vectors(n, dtype, seed=0):
    """Parameters and a gradient of ``n`` elements (read-only: copy before use)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n).astype(dtype)
    g = rng.standard_normal(n).astype(dtype)
    x.flags.writeable = False
    g.flags.writeable = False
    return x, g


def logistic_data(n_samples, n_features, seed=0):
    """A seeded, noisy logistic-regression data set: (X, y in {0, 1})."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_samples, n_features))
    w = rng.standard_normal(n_features) / np.sqrt(n_features)
    y = (X @ w + 0.5 * rng.standard_normal(n_samples) > 0).astype(np.float64)
    return X, y


def logistic_loss(w, X, y, l2=1e-3):
    """Mean logistic loss plus 0.5 * l2 * |w|^2, and its gradient."""
    z = X @ w
    loss = np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * (w @ w)
    p = 0.5 * (1.0 + np.tanh(0.5 * z))     # the logistic function, without overflow
    grad = X.T @ (p - y) / len(y) + l2 * w
    return loss, grad
