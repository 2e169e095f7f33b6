"""Optimizers used from several Python threads at once, each with its own
state, give bitwise the results of serial runs: below the sizes where the
step releases the GIL, between that and the thread pool's thresholds (one
thread, no GIL), and above them (the shared pool of `_pool.h`)."""

import threading

import numpy as np
import pytest

import adamopt
from adamopt import _kernels

NOGIL_MIN_SIZE = 4096
SIZE64, SIZE32 = _kernels._thread_min_sizes()
# (n, dtype): under the nogil size, nogil on one thread, on the pool.
CASES = [(100, np.float64), (NOGIL_MIN_SIZE + 3, np.float64), (SIZE64 + 5, np.float64),
         (3 * SIZE64, np.float64), (100, np.float32), (SIZE32 - 7, np.float32),
         (SIZE32 + 11, np.float32)]
STEPS = 60


@pytest.fixture(autouse=True)
def two_threads():
    previous = _kernels._get_num_threads()
    adamopt.set_num_threads(2)       # the pool has a worker even on one CPU
    yield
    adamopt.set_num_threads(previous)


def _run(index, n, dtype, out):
    """One optimizer's whole run; the gradient is a function of x (and index)."""
    x = np.linspace(-1.0, 1.0, n).astype(dtype) * (index + 1)
    cls = adamopt.AdamW if index % 2 else adamopt.Adam
    opt = cls(x, lr=0.01, amsgrad=index % 3 == 0, weight_decay=0.01)
    g = np.empty_like(x)
    for _ in range(STEPS):
        np.sin(x * (index + 2), out=g)
        g += x
        opt.step(g)
    out[index] = (x.copy(), opt.state_dict())


def _concurrently(jobs):
    barrier = threading.Barrier(len(jobs))
    errors = []

    def worker(job):
        try:
            barrier.wait()
            job()
        except BaseException as exc:     # reported in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def _same(a, b):
    (xa, sa), (xb, sb) = a, b
    assert xa.tobytes() == xb.tobytes()
    assert sa.keys() == sb.keys()
    for key in sa:
        if isinstance(sa[key], np.ndarray):
            assert sa[key].tobytes() == sb[key].tobytes(), key
        else:
            assert sa[key] == sb[key], key


@pytest.mark.parametrize("threads", [2, 4])
def test_optimizers_in_threads_match_serial_runs_bitwise(threads):
    jobs = [(i, *CASES[(i * 3 + k) % len(CASES)]) for k in range(2) for i in range(threads)]
    jobs = [(i, n, dtype) for i, (_, n, dtype) in enumerate(jobs)]
    serial = {}
    for index, n, dtype in jobs:
        _run(index, n, dtype, serial)
    parallel = {}
    _concurrently([lambda j=job: _run(*j, parallel) for job in jobs])
    for index, _, _ in jobs:
        _same(parallel[index], serial[index])


@pytest.mark.parametrize(("n", "dtype"), CASES)
def test_same_size_in_four_threads_matches_serial(n, dtype):
    serial, parallel = {}, {}
    for index in range(4):
        _run(index, n, dtype, serial)
    before = _kernels._pool_stats()
    _concurrently([lambda i=index: _run(i, n, dtype, parallel) for index in range(4)])
    after = _kernels._pool_stats()
    for index in range(4):
        _same(parallel[index], serial[index])
    if n >= (SIZE64 if dtype == np.float64 else SIZE32) and _kernels._get_num_threads() > 1:
        # the steps went through the shared pool (on its threads, or alone when
        # it backed off from busy cores); builds without a pool have one thread
        assert after[0] + after[1] > before[0] + before[1]


def test_scipy_methods_in_threads_match_serial_runs():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((400, SIZE64 // 100))
    y = X @ rng.standard_normal(X.shape[1])

    def fit(seed, method, out):
        def loss(w, Xb, yb):
            r = Xb @ w - yb
            return r @ r / len(yb), 2 * Xb.T @ r / len(yb)
        res = method(loss, np.zeros(X.shape[1]), jac=True, maxiter=60, lr=0.02,
                     batches=adamopt.minibatches(X, y, batch_size=32, seed=seed))
        out[seed] = res.x

    runs = [(seed, adamopt.adamw if seed % 2 else adamopt.adam) for seed in range(4)]
    serial, parallel = {}, {}
    for seed, method in runs:
        fit(seed, method, serial)
    _concurrently([lambda s=seed, m=method: fit(s, m, parallel) for seed, method in runs])
    for seed, _ in runs:
        assert parallel[seed].tobytes() == serial[seed].tobytes()


def test_thread_count_changed_while_other_threads_step():
    """set_num_threads from one thread while others step: results stay those of
    a serial run (every split of the loop gives the same bits)."""
    n, dtype = 3 * SIZE64, np.float64
    serial, parallel = {}, {}
    for index in range(3):
        _run(index, n, dtype, serial)
    stop = threading.Event()

    def toggle():
        count = 1
        while not stop.is_set():
            adamopt.set_num_threads(count % 2 + 1)
            count += 1

    toggler = threading.Thread(target=toggle)
    toggler.start()
    try:
        _concurrently([lambda i=index: _run(i, n, dtype, parallel) for index in range(3)])
    finally:
        stop.set()
        toggler.join()
    for index in range(3):
        _same(parallel[index], serial[index])
