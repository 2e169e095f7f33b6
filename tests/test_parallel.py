"""Compiled variants and threads change nothing in the results.

Every variant of the loops (``adamopt._kernels.available_kernels()``) and every
split of a step between threads must give the same bits as the baseline on
one thread: elementwise IEEE operations are correctly rounded, and no build
contracts a multiply and an add into an FMA.
"""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import adamopt
from adamopt import _kernels

DTYPES = [np.float32, np.float64]
VARIANTS = _kernels.available_kernels()
OPTIONS = [
    dict(algorithm="adam"),
    dict(algorithm="adam", weight_decay=0.1, amsgrad=True),
    dict(algorithm="adam", maximize=True, beta1=0.3, beta2=0.2),
    dict(algorithm="adamw", weight_decay=0.05, amsgrad=True, maximize=True),
]


@pytest.fixture
def variant():
    """Restore the variant in use after a test that changes it."""
    previous = _kernels._kernel_name()
    yield
    _kernels._use_kernel(previous)


@pytest.fixture
def forced_threads():
    """Split even small steps between 2 threads, in chunks of 64 elements."""
    previous_threads = _kernels._set_num_threads(2)
    previous_sizes = _kernels._set_thread_min_size(1, 1, 64)
    yield
    _kernels._set_thread_min_size(*previous_sizes)
    _kernels._set_num_threads(previous_threads)


def _run(dtype, n, options, steps=7, check_finite=True, seed=0):
    """Parameters and state after ``steps`` steps from a seeded start."""
    rng = np.random.default_rng(seed)
    options = dict(options)
    cls = adamopt.AdamW if options.pop("algorithm") == "adamw" else adamopt.Adam
    x = rng.standard_normal(n).astype(dtype)
    opt = cls(x, lr=0.01, check_finite=check_finite, **options)
    for _ in range(steps):
        opt.step((rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 3, n)).astype(dtype))
    state = opt.state_dict()
    return [x] + [state[k] for k in ("m", "v", "vmax") if k in state]


def _same_bits(a, b):
    return all(p.tobytes() == q.tobytes() for p, q in zip(a, b, strict=True))


def test_baseline_is_always_available():
    assert VARIANTS[-1] == "baseline"


def test_the_best_available_variant_is_used_by_default():
    env = {k: v for k, v in os.environ.items() if k != "ADAMOPT_KERNEL"}
    out = subprocess.run([sys.executable, "-c", "import adamopt._kernels as k; "
                          "print(k._kernel_name())"], env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == VARIANTS[0]


def test_adamopt_kernel_environment_variable_forces_a_variant():
    env = dict(os.environ, ADAMOPT_KERNEL="baseline")
    out = subprocess.run([sys.executable, "-c", "import adamopt._kernels as k; "
                          "print(k._kernel_name())"], env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "baseline"


def test_adamopt_kernel_naming_an_unknown_variant_fails_at_import():
    env = dict(os.environ, ADAMOPT_KERNEL="sse9")
    proc = subprocess.run([sys.executable, "-c", "import adamopt"], env=env,
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert "ADAMOPT_KERNEL=sse9" in proc.stderr


def test_use_kernel_refuses_an_unknown_variant(variant):
    with pytest.raises(ValueError, match="not available"):
        _kernels._use_kernel("sse9")


@pytest.mark.parametrize("name", VARIANTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("n", [1, 37, 1000, 4096])
def test_every_variant_gives_the_baseline_bits(variant, name, dtype, options, n):
    _kernels._use_kernel("baseline")
    expected = _run(dtype, n, options)
    _kernels._use_kernel(name)
    assert _same_bits(_run(dtype, n, options), expected)


@pytest.mark.usefixtures("forced_threads")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", OPTIONS)
@pytest.mark.parametrize("n", [65, 1000, 4096, 50_001])
def test_two_threads_give_the_bits_of_one(dtype, options, n):
    expected = None
    for threads in (1, 2):
        _kernels._set_num_threads(threads)
        result = _run(dtype, n, options)
        if expected is None:
            expected = result
    assert _same_bits(result, expected)


@pytest.mark.usefixtures("forced_threads")
@pytest.mark.parametrize("dtype", DTYPES)
def test_two_threads_without_the_check_give_the_bits_of_one(dtype):
    _kernels._set_num_threads(1)
    expected = _run(dtype, 20_000, OPTIONS[1], check_finite=False)
    _kernels._set_num_threads(2)
    assert _same_bits(_run(dtype, 20_000, OPTIONS[1], check_finite=False), expected)


@pytest.mark.usefixtures("forced_threads")
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("where", [0, 4095, 19_999])
def test_bad_gradient_on_two_threads_is_refused_and_nothing_changes(dtype, where):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(20_000).astype(dtype)
    opt = adamopt.Adam(x, amsgrad=True)
    opt.step(rng.standard_normal(20_000).astype(dtype))
    before = {k: np.copy(v) for k, v in opt.state_dict().items()}
    x_before = x.copy()
    g = rng.standard_normal(20_000).astype(dtype)
    g[where] = np.nan
    with pytest.raises(ValueError, match=rf"index \(?{where}"):
        opt.step(g)
    assert x.tobytes() == x_before.tobytes()
    after = opt.state_dict()
    for key in ("m", "v", "vmax"):
        assert after[key].tobytes() == before[key].tobytes()
    assert after["t"] == before["t"]


@pytest.mark.usefixtures("forced_threads")
def test_steps_from_concurrent_python_threads_give_the_bits_of_one_thread():
    _kernels._set_num_threads(1)
    expected = [_run(np.float64, 30_000, OPTIONS[0], seed=s) for s in range(4)]
    _kernels._set_num_threads(2)
    results = [None] * 4

    def work(s):
        results[s] = _run(np.float64, 30_000, OPTIONS[0], seed=s)

    workers = [threading.Thread(target=work, args=(s,)) for s in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert all(_same_bits(r, e) for r, e in zip(results, expected, strict=True))


class TestSetNumThreads:
    def test_returns_the_previous_number(self):
        previous = adamopt.set_num_threads(3)
        try:
            assert adamopt.set_num_threads(1) == 3
        finally:
            adamopt.set_num_threads(previous)

    def test_none_restores_the_default(self):
        previous = adamopt.set_num_threads(1)
        try:
            adamopt.set_num_threads(None)
            assert _kernels._get_num_threads() == _kernels._default_num_threads()
        finally:
            adamopt.set_num_threads(previous)

    @pytest.mark.parametrize("bad", [0, -1])
    def test_below_one_is_a_value_error(self, bad):
        with pytest.raises(ValueError, match="'threads' parameter of set_num_threads"):
            adamopt.set_num_threads(bad)

    @pytest.mark.parametrize("bad", [1.5, "2", True])
    def test_non_integer_is_a_type_error(self, bad):
        with pytest.raises(TypeError, match="'threads' parameter of set_num_threads"):
            adamopt.set_num_threads(bad)

    def test_environment_variable_sets_the_default(self):
        env = dict(os.environ, ADAMOPT_NUM_THREADS="3")
        out = subprocess.run([sys.executable, "-c", "import adamopt._kernels as k; "
                              "print(k._get_num_threads())"], env=env, capture_output=True,
                             text=True, check=True).stdout.strip()
        assert out == "3"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.filterwarnings("ignore:.*multi-threaded.*:DeprecationWarning")
# (JAX, when another test of this process imported it, warns at any fork; the
# child runs adamopt's steps only)
@pytest.mark.filterwarnings("ignore:os.fork\\(\\) was called:RuntimeWarning")
@pytest.mark.usefixtures("forced_threads")
def test_threaded_steps_in_a_forked_child_give_the_bits_of_one_thread():
    _run(np.float64, 30_000, OPTIONS[0])   # the pool has started its workers
    expected = _run(np.float64, 30_000, OPTIONS[0], seed=5)[0]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child: only this thread exists
        ok = 0
        try:
            ok = int(_same_bits([_run(np.float64, 30_000, OPTIONS[0], seed=5)[0]], [expected]))
        finally:
            os.write(write, bytes([ok]))
            os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.close(read)
    os.waitpid(pid, 0)
    assert answer == b"\x01"


@pytest.mark.parametrize("name", VARIANTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("coupled", [False, True])
def test_every_variant_checks_the_gradient_at_the_limit_alike(variant, name, dtype, coupled):
    # The AVX2 variant checks an uncoupled gradient on the elements' bits.
    _kernels._use_kernel(name)
    limit = dtype(_kernels.GRAD_LIMIT_FLOAT64 if dtype is np.float64
                  else _kernels.GRAD_LIMIT_FLOAT32)
    tiny = np.finfo(dtype).smallest_subnormal
    fine = [limit, -limit, 0.0, -0.0, tiny, -tiny, 1.0]
    above = np.nextafter(limit, dtype(np.inf))
    wd = 1e-30 if coupled else 0.0   # coupled: g + wd * x, x = 0 below
    for value in fine:
        g = np.zeros(37, dtype)
        g[29] = value
        adamopt.Adam(np.zeros(37, dtype), weight_decay=wd).step(g)
    for value in [above, -above, np.inf, -np.inf, np.nan, -np.nan]:
        g = np.zeros(37, dtype)
        g[29] = value
        with pytest.raises(ValueError, match=r"index \(?29"):
            adamopt.Adam(np.zeros(37, dtype), weight_decay=wd).step(g)
