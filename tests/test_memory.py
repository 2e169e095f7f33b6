"""A step allocates nothing proportional to the number of parameters, and
100,000 steps grow neither the memory traced by `tracemalloc` (which sees
NumPy's array buffers as well as Python objects) nor the resident set size."""

import os
import tracemalloc

import numpy as np
import pytest

import adamopt

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _rss():
    """Resident set size in bytes (Linux), or None."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, IndexError, ValueError):
        return None


@pytest.fixture
def traced():
    tracemalloc.start()
    yield
    tracemalloc.stop()


@pytest.mark.parametrize("cls", [adamopt.Adam, adamopt.AdamW])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("amsgrad", [False, True])
def test_a_step_allocates_nothing_proportional_to_n(traced, cls, dtype, amsgrad):
    n = 200_000           # one array of it: 0.8 or 1.6 MB, above the thread thresholds
    x = np.zeros(n, dtype)
    g = np.linspace(-1.0, 1.0, n).astype(dtype)
    opt = cls(x, lr=1e-3, amsgrad=amsgrad, weight_decay=0.01)
    opt.step(g)
    tracemalloc.reset_peak()
    current, _ = tracemalloc.get_traced_memory()
    for _ in range(3):
        opt.step(g)
    _, peak = tracemalloc.get_traced_memory()
    # A temporary of even 1/100 of an array would show; allow a few small objects.
    assert peak - current < 4096 < n * x.itemsize // 100


def test_a_converted_gradient_costs_one_copy(traced):
    """A gradient of another dtype is converted once per step (documented): the
    peak is one array, not more."""
    n = 200_000
    opt = adamopt.Adam(np.zeros(n, np.float32))
    g = np.ones(n, np.float64)
    opt.step(g)
    tracemalloc.reset_peak()
    current, _ = tracemalloc.get_traced_memory()
    opt.step(g)
    _, peak = tracemalloc.get_traced_memory()
    assert n * 4 <= peak - current < n * 4 + 4096


def test_100k_steps_grow_neither_traced_memory_nor_rss():
    """Bounds: 64 KiB of traced memory and 2 MiB of RSS over 100,000 steps.

    A leak of one small Python object per step (>= 16 bytes) would show as
    1.6 MB of traced memory, 25 times the bound; a leak of the gradient copy
    or a moment array (8 KB here) as 800 MB.  The traced bound leaves room for
    the interpreter's and tracemalloc's own bookkeeping that does not grow
    with the step count.  RSS is coarser (pages, and the allocator keeps freed
    memory): 2 MiB is 3 % of what the smallest per-step leak (16 bytes) would
    add, and beyond the allocator's arena granularity (256 KiB arenas, a few
    of which the warm-up may not have touched).
    """
    n, steps = 1000, 100_000
    x = np.zeros(n)
    opt = adamopt.AdamW(x, lr=1e-3, amsgrad=True)
    grads = [np.sin(np.arange(n) * (k + 1.0)) for k in range(4)]
    for k in range(2000):                      # warm-up: caches, pools, arenas
        opt.step(grads[k % 4])
    rss_before = _rss()
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        for k in range(steps):
            opt.step(grads[k & 3])
        end, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss_after = _rss()
    assert opt.t == steps + 2000
    assert end - start < 64 * 1024
    if rss_before is not None:
        assert rss_after - rss_before < 2 * 1024 * 1024


def test_minimize_iterations_do_not_grow_traced_memory(traced):
    """The run loop keeps a fixed set of arrays: 10,000 iterations need no more
    memory than 1,000, and leave nothing behind once the result is gone."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((256, 50)), rng.standard_normal(256)

    def loss(w, Xb, yb):
        r = Xb @ w - yb
        return r @ r / len(yb), 2 * Xb.T @ r / len(yb)

    def fit(maxiter):
        stream = adamopt.minibatches(X, y, batch_size=32, seed=0)
        tracemalloc.reset_peak()
        start, _ = tracemalloc.get_traced_memory()
        res = adamopt.adam(loss, np.zeros(50), jac=True, maxiter=maxiter, gtol=0,
                           batches=stream)
        _, peak = tracemalloc.get_traced_memory()
        del res
        end, _ = tracemalloc.get_traced_memory()
        return peak - start, end - start

    # Warm-up: NumPy's and the interpreter's caches fill up to a fixed size
    # (about 120 KB here) over the first few thousand iterations.
    fit(3000)
    short_peak, _ = fit(1000)
    long_peak, left = fit(10_000)
    assert long_peak - short_peak < 16 * 1024
    assert left < 16 * 1024


@pytest.mark.parametrize("bounded", [False, True])
def test_a_minimize_run_peaks_at_its_arrays_plus_two_copies_of_x(traced, bounded):
    """x, m and v (Adam's own arrays) plus the objective's argument and the
    fallback iterate: five arrays of x's size at most, result included."""
    n = 200_000
    rng = np.random.default_rng(0)
    x0, grad = rng.standard_normal(n), rng.standard_normal(n)
    bounds = None
    if bounded:
        from scipy.optimize import Bounds
        bounds = Bounds(np.full(n, -1e3), np.full(n, 1e3))
    tracemalloc.reset_peak()
    start, _ = tracemalloc.get_traced_memory()
    res = adamopt.adam(lambda x: (0.0, grad), x0, jac=True, bounds=bounds, maxiter=5,
                       gtol=1e-12)
    _, peak = tracemalloc.get_traced_memory()
    assert res.nit == 5
    assert peak - start < 5 * x0.nbytes + 64 * 1024


def test_modifying_the_result_x_leaves_its_state_unchanged():
    rng = np.random.default_rng(1)
    grad = rng.standard_normal(1000)
    res = adamopt.adam(lambda x: (0.0, grad), np.zeros(1000), jac=True, maxiter=3, gtol=0)
    saved = np.array(res.state["x"], copy=True)
    res.x[:] = 7.0
    np.testing.assert_array_equal(res.state["x"], saved)
