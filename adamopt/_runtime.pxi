# The runtime choices of ``_kernels.pyx`` (included there): which compiled
# variant of the loops every step calls, and how many threads a large step
# uses.

# ---------------------------------------------------------------------------
# Compiled variants, chosen at import time

#: Variants in order of preference, with the CPU test each needs.
_VARIANTS = ("avx2", "baseline")

cdef const KernelTable* _table = NULL
cdef object _table_module = None   # keeps the chosen variant's module alive
cdef dict _tables = {}             # name -> capsule of every importable variant


def _cpu_supports(name):
    """Whether this CPU (and OS) can run the variant ``name``."""
    if name == "avx2":
        return bool(adamopt_cpu_has_avx2_fma())
    return name == "baseline"


def available_kernels():
    """Names of the compiled variants that this build has and this CPU runs,
    best first; the last one is always ``"baseline"``."""
    names = []
    for name in _VARIANTS:
        if not _cpu_supports(name):
            continue
        try:
            module = importlib.import_module(f"adamopt._loops_{name}")
        except ImportError:   # not built for this platform or compiler
            continue
        _tables[name] = module
        names.append(name)
    return names


def _use_kernel(name):
    """Make the variant ``name`` the one every step calls; return the name of
    the previous one.  For tests and benchmarks: ``ADAMOPT_KERNEL`` selects
    one at import."""
    global _table, _table_module
    if name not in _tables:
        available_kernels()
    if name not in _tables:
        raise ValueError(f"The kernel variant {name!r} is not available on this machine; "
                         f"available: {', '.join(available_kernels())}.")
    module = _tables[name]
    previous = None if _table_module is None else _table_module.NAME
    _table = <const KernelTable*>PyCapsule_GetPointer(
        module.TABLE, b"adamopt._kernel_api.KernelTable")
    _table_module = module
    return previous


def _kernel_name():
    """Name of the variant in use."""
    return _table_module.NAME


def _select_at_import():
    forced = os.environ.get("ADAMOPT_KERNEL", "").strip().lower()
    names = available_kernels()
    if forced:
        try:
            _use_kernel(forced)
        except ValueError as e:
            raise ImportError(f"ADAMOPT_KERNEL={forced}: {e}") from None
    else:
        _use_kernel(names[0])


_select_at_import()


# ---------------------------------------------------------------------------
# Threads

# Arrays smaller than this (in elements) are updated on one thread.  Measured
# on the 2-core development machine (two threads / one, time per step with
# the check), before the pool's back-off judged every job: float64 4096:
# 1.37x faster idle, 0.85x with the other core busy; 8192: 1.48x and 0.96x;
# 16384: 1.70x and 1.14x.  float32 8192: 0.98x idle; 16384: 1.24x and 1.17x.
# (With today's back-off, a busy core costs about 1 %: see the README.)
# Chunks are CHUNK_MIN to CHUNK_MAX elements.
cdef Py_ssize_t THREAD_MIN_SIZE64 = 8192
cdef Py_ssize_t THREAD_MIN_SIZE32 = 16384
cdef Py_ssize_t CHUNK_MIN = 1024
cdef Py_ssize_t CHUNK_MAX = 1 << 18
cdef int _num_threads = 1


def _default_num_threads():
    """``ADAMOPT_NUM_THREADS`` if set, else the CPUs this process may use, at
    most 4 (a step is bound by memory bandwidth, which a few cores saturate)."""
    env = os.environ.get("ADAMOPT_NUM_THREADS", "").strip()
    if env:
        try:
            value = int(env)
        except ValueError:
            value = 0
        if value < 1:
            raise ImportError(f"ADAMOPT_NUM_THREADS must be a positive integer; got {env!r}")
        return value
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 4))


def _set_num_threads(int n):
    """Set the number of threads of a large step (``n >= 1``, capped at 64);
    return the previous number.  Validated by `adamopt.set_num_threads`."""
    global _num_threads
    previous = _num_threads
    _num_threads = max(1, min(n, ADAMOPT_MAX_THREADS)) if ADAMOPT_HAVE_POOL else 1
    return previous


def _get_num_threads():
    return _num_threads


def _thread_min_sizes():
    """Sizes (float64, float32 elements) from which a step uses threads."""
    return THREAD_MIN_SIZE64, THREAD_MIN_SIZE32


def _pool_stats():
    """(jobs run on several threads, jobs run on one thread to back off from
    busy cores, times a worker went to sleep) since the process started; a
    step with the check is two jobs."""
    cdef long long parallel, backed_off, sleeps
    adamopt_pool_stats(&parallel, &backed_off, &sleeps)
    return parallel, backed_off, sleeps


def _set_thread_min_size(Py_ssize_t size64, Py_ssize_t size32, Py_ssize_t chunk_min):
    """Thresholds of the threaded path (for tests and measurements); returns
    the previous ones."""
    global THREAD_MIN_SIZE64, THREAD_MIN_SIZE32, CHUNK_MIN
    previous = (THREAD_MIN_SIZE64, THREAD_MIN_SIZE32, CHUNK_MIN)
    THREAD_MIN_SIZE64, THREAD_MIN_SIZE32, CHUNK_MIN = size64, size32, max(16, chunk_min)
    return previous


_set_num_threads(_default_num_threads())
