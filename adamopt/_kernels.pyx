# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Compiled update loops of Adam and AdamW, and of their family (SGD, Adagrad,
RMSprop, Adamax, NAdam: see `FamilyCore`).

One fused pass per step reads the gradient ``g`` and updates the parameters
``x``, the first moment ``m``, the second moment ``v`` (and ``vmax`` for
AMSGrad) in place, element by element, without the GIL for large arrays.

Arithmetic
----------
The per-step scalars are computed once, in float64, outside the loop::

    step    = lr_t * sqrt(1 - beta2**t) / (1 - beta1**t)
    eps_hat = eps * sqrt(1 - beta2**t)
    decay   = 1 - lr_t * weight_decay   (AdamW; or 1 - eta_t * weight_decay)

and rounded once to the parameters' dtype, in which every element is then
computed (float32 arithmetic for float32 arrays, as in PyTorch), with
``s = -1`` when maximizing, else ``+1``::

    g  = s * grad            (+ weight_decay * x      coupled L2, Adam)
    m  = m + (1 - beta1) * (g - m)       if beta1 >= 1/2, else  beta1 * m + (1 - beta1) * g
    v  = v + (1 - beta2) * (g * g - v)   if beta2 >= 1/2, else  beta2 * v + (1 - beta2) * g * g
    w  = max(vmax, v)  (stored in vmax; AMSGrad)   else  w = v
    x  = x * decay - step * m / (sqrt(w) + eps_hat)       (t > 1)

This is exactly ``x -= lr_t * mhat / (sqrt(vhat) + eps)`` with the bias
corrected moments ``mhat = m / (1 - beta1**t)``, ``vhat = v / (1 - beta2**t)``
(Kingma & Ba 2014, Algorithm 1), rearranged so that each element costs one
square root and one division.

The two forms of the moment updates are the same average; each is accurate
where the other is not.  For beta >= 1/2 the interpolation form is used, in
which only ``1 - beta`` appears, rounded once: rounding ``beta`` itself to
float32 would make ``beta + (1 - beta)`` differ from 1 by a large fraction
of ``1 - beta`` when beta2 is close to 1 (19 % at beta2 = 1 - 1e-7), so that v
would no longer match its bias correction, and could creep above the largest
g * g (the overflow
limit of the gradient check relies on v staying within the range of its
inputs, which the interpolation guarantees).  For beta < 1/2 the weighted sum
is used: there the interpolation form cancels (v + (g*g - v) is not g*g when
v >> g*g), while rounding beta costs nothing.  Both are one expression,
``p * m + c * (g - q * m)`` with (p, q) = (1, 1) or (beta, 0): multiplying by
1 or 0 is exact, so each form keeps its own rounding.

Beyond that, float32 state cannot resolve the change of v per step when beta2
is within about 1e-6 of 1: once t is of the order of 1 / (1 - beta2), v drifts
by a few percent in any float32 implementation (measured: 3 % at
beta2 = 1 - 1e-6 after 1e7 steps, in either form).  Use float64 parameters for
such beta2.

At t = 1 the state is zero (``load_state_dict`` enforces it), so
``mhat = g`` and ``vhat = g * g`` and the update has the closed form::

    x  = x * decay - lr_t * g / (|g| + eps)                (t = 1)

which is evaluated as such, in float64 and rounded once: the first step is
as exact as that formula.

Where the loops run
-------------------
The loops themselves live in ``_loops.pxi``, compiled once per instruction
set (``adamopt._loops_baseline``; ``adamopt._loops_avx2`` on x86 with GCC or
Clang): this module picks the best variant the CPU runs at import
(``ADAMOPT_KERNEL`` forces one) and calls it through a table of function
pointers.  Steps over at least THREAD_MIN_SIZE64 / THREAD_MIN_SIZE32
elements are split between threads by the pool of ``_pool.h``: one job per
step, whose first phase checks the whole gradient and whose second phase,
run only if the check passed, updates the arrays.  No build contracts
multiplies and adds into FMAs, so every variant and every split gives the
same bits.

The family
----------
`FamilyCore` runs the other algorithms through the same job (check, then
update, on the same pool): one loop per algorithm in ``_loops.pxi``, each
option that changes the arithmetic a flag the loop is specialised on.  With
``g = s * grad (+ weight_decay * x)`` as above, each element is updated as
(PyTorch's formulas, in their order of operations where it matters)::

    SGD      b = g (t = 1) or momentum * b + (1 - dampening) * g;
             x = x - lr_t * (g + momentum * b  (nesterov) | b | g (no momentum))
    Adagrad  s = s + g * g;  x = x - clr * (g / (sqrt(s) + eps))
    RMSprop  v = avg_alpha(v, g * g);  a = avg_alpha(a, g) (centered);
             w = max(v - a * a, 0) (centered) or v;  u = g / (sqrt(w) + eps);
             b = momentum * b + u (momentum);  x = x - lr_t * (b or u)
    Adamax   m = avg_beta1(m, g);  u = max(beta2 * u, |g| + eps);  x = x - clr * (m / u)
    NAdam    m = avg_beta1(m, g);  v = avg_beta2(v, g * g);
             x = x * decay - (c_g * g + c_m * m) / (sqrt(v) + eps * sqrt(1 - beta2**t))

where ``avg_beta`` is the exponential average in the form chosen above and the
per-step scalars (``clr``, ``c_g``, ``c_m``) are in `FamilyCore`'s docstring.
The check refuses non-finite gradients, and for the algorithms that square the
gradient (all but SGD and Adamax) those above the limit below.

This module does no validation beyond what keeps memory safe: the public
classes in ``adamopt._optimizers`` check every argument and supply the error
messages through the ``_slow_grad``, ``_schedule_value``, ``_raise_bad_grad``,
``_raise_bad_scalars`` and ``_raise_params_changed`` hooks.
"""

cimport cython
cimport numpy as cnp
from cpython.pycapsule cimport PyCapsule_GetPointer
from cython cimport floating
from libc.float cimport DBL_MAX, FLT_MAX
from libc.math cimport INFINITY, fabs, fabsf, isfinite, nextafter, nextafterf, pow, sqrt, sqrtf
from libc.string cimport memcmp

from adamopt._kernel_api cimport (
    ALGO_ADAGRAD, ALGO_ADAM, ALGO_ADAMAX, ALGO_NADAM, ALGO_RMSPROP, ALGO_SGD, F_CENTERED,
    F_COUPLED, F_FIRST, F_MOMENTUM, F_NESTEROV, AdamScalars, FamilyScalars, KernelTable,
)

import importlib
import os

cnp.import_array()


cdef extern from "_pool.h" nogil:
    ctypedef void (*adamopt_chunk_fn)(void* ctx, Py_ssize_t begin, Py_ssize_t end) noexcept nogil
    void adamopt_parallel_for2(adamopt_chunk_fn fn0, adamopt_chunk_fn fn1, void* ctx,
                               const int* stop, Py_ssize_t n, Py_ssize_t chunk, int nthreads,
                               bint judge)
    void adamopt_flag_set(int* flag)
    void adamopt_pool_stats(long long* parallel, long long* backed_off, long long* sleeps)
    int adamopt_cpu_has_avx2_fma()
    int ADAMOPT_HAVE_POOL
    int ADAMOPT_MAX_THREADS

# Loops shorter than this keep the GIL: releasing and re-acquiring it costs
# about 0.05 us, 2 % of a float32 step of this size (measured: no difference
# between n = 8191 and 8192 when the threshold was 8192).
cdef Py_ssize_t NOGIL_MIN_SIZE = 4096

# Largest gradient magnitude the check lets through (just under the square
# root of the dtype's largest number).  Below it g * g cannot overflow, and v,
# a weighted average of past g * g in either form of its update (see above),
# stays within a few roundings of the largest g * g seen, as does vmax; m
# likewise stays within the largest |g|.
cdef float LIMIT32 = nextafterf(sqrtf(FLT_MAX) * (1.0 - 2.0 ** -20), 0)
cdef double LIMIT64 = nextafter(sqrt(DBL_MAX) * (1.0 - 2.0 ** -20), 0)
GRAD_LIMIT_FLOAT32 = LIMIT32
GRAD_LIMIT_FLOAT64 = LIMIT64

#: The largest step count (a state at it is still loadable: the step that
#: would go past it is refused).  The core counts in 64 bits.
MAX_STEPS = 2**62
cdef long long _MAX_STEPS = MAX_STEPS

#: Adamax's overflow guard: the largest |m| / u a state may hold (`_adamax_bound`).
ADAMAX_RATIO = 2.0**40
cdef double _ADAMAX_RATIO = ADAMAX_RATIO

#: The algorithms of `FamilyCore` (its ``algo``), by name.
ALGORITHMS = {"sgd": ALGO_SGD, "adagrad": ALGO_ADAGRAD, "rmsprop": ALGO_RMSPROP,
              "adamax": ALGO_ADAMAX, "nadam": ALGO_NADAM}


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


cdef struct StepJob:
    const KernelTable* table
    int algo              # ALGO_ADAM or one of the family's
    char* x
    const char* g
    char* m               # the state arrays: Adam's m, v, vmax, or the family's
    char* v               # a, b, c (NULL where an algorithm has none)
    char* vmax
    Py_ssize_t itemsize
    Py_ssize_t chunk      # chunk size of the job (see _check_chunk)
    int nthreads
    bint is64, coupled, amsgrad, first
    const AdamScalars* s
    const FamilyScalars* fs
    int flags             # the family's F_* flags
    double sign, weight_decay, limit
    int bad
    int big               # a new value exceeded its limit (FamilyScalars.x_limit, s_limit)


cdef inline bint _check_range(StepJob* j, Py_ssize_t begin, Py_ssize_t end) noexcept nogil:
    cdef Py_ssize_t off = begin * j.itemsize
    if j.is64:
        return j.table.any_bad64(<const double*>(j.g + off), <const double*>(j.x + off),
                                 end - begin, j.sign, j.weight_decay, j.limit, j.coupled)
    return j.table.any_bad32(<const float*>(j.g + off), <const float*>(j.x + off),
                             end - begin, j.sign, j.weight_decay, j.limit, j.coupled)


cdef void _check_chunk(void* ctx, Py_ssize_t begin, Py_ssize_t end) noexcept nogil:
    """Check the gradient over [begin, end), from the end backwards.

    The update then runs forwards: the part it reads first is the part
    checked last, still in the shared cache for large arrays.  (The pool runs
    the check's chunks backwards too: ``forward=False``.)
    """
    cdef StepJob* j = <StepJob*>ctx
    cdef Py_ssize_t c = j.chunk, b
    cdef bint bad = False
    if end - begin <= c:
        bad = _check_range(j, begin, end)
    else:   # the whole array, on this thread
        b = (end - begin - 1) // c * c + begin
        while b >= begin and not bad:
            bad = _check_range(j, b, min(b + c, end))
            b -= c
    if bad:
        adamopt_flag_set(&j.bad)


cdef inline char* _at(char* p, Py_ssize_t off) noexcept nogil:
    return p + off if p != NULL else NULL


cdef void _update_chunk(void* ctx, Py_ssize_t begin, Py_ssize_t end) noexcept nogil:
    cdef StepJob* j = <StepJob*>ctx
    cdef Py_ssize_t off = begin * j.itemsize
    cdef char* w = j.vmax + off if j.amsgrad else NULL
    cdef bint big
    if j.algo != ALGO_ADAM:
        if j.is64:
            big = j.table.family64(j.algo, <double*>(j.x + off), <const double*>(j.g + off),
                                   <double*>_at(j.m, off), <double*>_at(j.v, off),
                                   <double*>_at(j.vmax, off), end - begin, j.fs, j.flags)
        else:
            big = j.table.family32(j.algo, <float*>(j.x + off), <const float*>(j.g + off),
                                   <float*>_at(j.m, off), <float*>_at(j.v, off),
                                   <float*>_at(j.vmax, off), end - begin, j.fs, j.flags)
        if big:
            adamopt_flag_set(&j.big)
        return
    if j.is64:
        big = j.table.update64(<double*>(j.x + off), <const double*>(j.g + off),
                               <double*>(j.m + off), <double*>(j.v + off), <double*>w,
                               end - begin, j.s, j.coupled, j.amsgrad, j.first)
    else:
        big = j.table.update32(<float*>(j.x + off), <const float*>(j.g + off),
                               <float*>(j.m + off), <float*>(j.v + off), <float*>w,
                               end - begin, j.s, j.coupled, j.amsgrad, j.first)
    if big:
        adamopt_flag_set(&j.big)


cdef void _stream_chunk(void* ctx, Py_ssize_t begin, Py_ssize_t end) noexcept nogil:
    cdef StepJob* j = <StepJob*>ctx
    cdef Py_ssize_t off = begin * j.itemsize
    if j.is64:
        j.table.stream64(<double*>(j.x + off), <const double*>(j.g + off),
                         <double*>(j.m + off), <double*>(j.v + off), end - begin)
    else:
        j.table.stream32(<float*>(j.x + off), <const float*>(j.g + off),
                         <float*>(j.m + off), <float*>(j.v + off), end - begin)


def _stream_probe(x, g, m, v):
    """The memory-bandwidth probe of the benchmarks: the traffic of one step
    (read x, g, m, v; write x, m, v) with almost no arithmetic, on as many
    threads as a step of this size would use.  All four arrays must be
    contiguous, of one dtype (float32 or float64) and size; the check is the
    caller's."""
    cdef cnp.ndarray ax = x, ag = g, am = m, av = v
    cdef Py_ssize_t n = cnp.PyArray_SIZE(ax)
    cdef StepJob job
    job.table = _table
    job.is64 = cnp.PyArray_TYPE(ax) == cnp.NPY_FLOAT64
    job.itemsize = 8 if job.is64 else 4
    job.x = <char*>cnp.PyArray_DATA(ax)
    job.g = <const char*>cnp.PyArray_DATA(ag)
    job.m = <char*>cnp.PyArray_DATA(am)
    job.v = <char*>cnp.PyArray_DATA(av)
    cdef int nthreads = _num_threads
    if n < (THREAD_MIN_SIZE64 if job.is64 else THREAD_MIN_SIZE32):
        nthreads = 1
    cdef Py_ssize_t chunk = _chunk_size(n, nthreads)
    with nogil:
        adamopt_parallel_for2(_stream_chunk, NULL, &job, NULL, n, chunk, nthreads, False)


cdef Py_ssize_t _chunk_size(Py_ssize_t n, int nthreads) noexcept nogil:
    """Two chunks per thread (fewer hand-offs: measured faster than four at
    10,000 float64), a multiple of 64 elements (whole cache lines: threads
    never write to the same line), within [CHUNK_MIN, CHUNK_MAX]."""
    cdef Py_ssize_t c = (n + 2 * nthreads - 1) // (2 * nthreads)
    c = (c + 63) // 64 * 64
    return max(CHUNK_MIN, min(c, CHUNK_MAX))


cdef inline void _moment_form(double beta, double* p, double* q) noexcept nogil:
    if beta >= 0.5:
        p[0] = 1.0   # interpolation: m + (1 - beta) * (g - m)
        q[0] = 1.0
    else:
        p[0] = beta  # weighted sum: beta * m + (1 - beta) * g
        q[0] = 0.0


cdef inline floating _abs(floating a) noexcept nogil:
    if floating is float:
        return fabsf(a)
    else:
        return fabs(a)


cdef inline floating _effective(
    const floating* g, const floating* x, Py_ssize_t j,
    floating sign, floating wd, bint coupled,
) noexcept nogil:
    """The gradient as the update loop uses it, before the maximize sign for
    the uncoupled case (the sign does not change its magnitude)."""
    if coupled:
        return sign * g[j] + wd * x[j]
    return g[j]


cdef Py_ssize_t _first_bad(
    const floating* grad, const floating* x, Py_ssize_t n,
    double sign, double weight_decay, bint coupled, floating limit,
) noexcept nogil:
    """Index of the first element whose effective gradient is NaN, infinite
    or larger in magnitude than ``limit``; -1 when there is none.  Only
    called once the check has found one (it is not vectorised)."""
    cdef floating sg = <floating>sign, wd = <floating>weight_decay
    cdef Py_ssize_t j
    for j in range(n):
        if not (_abs(_effective(grad, x, j, sg, wd, coupled)) <= limit):
            return j
    return -1


def _raise_step_cap(owner, t):
    """Refuse a step from step count ``t`` (at the cap, or a bad private
    ``_t``): no state with a count beyond `MAX_STEPS` is ever produced."""
    raise ValueError(
        f"The step count of {owner} cannot go past {MAX_STEPS} (2**62). Got t = {t} "
        f"instead; the parameters and the optimizer state are unchanged.")


@cython.auto_pickle(False)
cdef class _Core:
    """What the compiled cores of every optimizer share: the parameters, the
    step count, the learning rate and its schedule, the way in of the
    gradient, and the step's job (the check, then the update, on the pool).

    A base class: the public classes in ``adamopt._optimizers`` and
    ``adamopt._family`` validate their arguments, allocate the state and
    then bind it (`AdamCore._bind`, `FamilyCore._bind`).
    """

    cdef readonly cnp.ndarray _x
    cdef Py_ssize_t _n
    cdef int _typenum
    cdef int _layout_flag
    cdef public long long _t
    cdef public double _lr, _eps, _weight_decay
    # The overflow guard: every finite |x| is at most _x_bound (the largest
    # one at construction and load, then the limit the last pass checked).
    cdef public double _x_bound
    cdef public object _lr_fn, _schedule, _weight_decay_fn
    cdef public bint _maximize, _check_finite

    cdef _bind_arrays(self, cnp.ndarray params, list arrays):
        """Hold ``params``, after checking that every array of ``arrays``
        (the parameters and the state) has its size, dtype and layout, as
        memory safety depends on; raise `ValueError` otherwise."""
        cdef int flag = (cnp.NPY_ARRAY_C_CONTIGUOUS if cnp.PyArray_IS_C_CONTIGUOUS(params)
                         else cnp.NPY_ARRAY_F_CONTIGUOUS)
        for a in arrays:
            if not isinstance(a, cnp.ndarray):
                raise ValueError("optimizer state must be NumPy arrays")
            if (cnp.PyArray_TYPE(a) != cnp.PyArray_TYPE(params)
                    or cnp.PyArray_SIZE(a) != cnp.PyArray_SIZE(params)
                    or (cnp.PyArray_FLAGS(a) & flag) != flag
                    or not cnp.PyArray_ISWRITEABLE(a)
                    or not cnp.PyArray_ISALIGNED(a)
                    or not cnp.PyArray_ISNOTSWAPPED(a)):
                raise ValueError("optimizer state must match the parameters' "
                                 "size, dtype and memory layout")
        if cnp.PyArray_TYPE(params) not in (cnp.NPY_FLOAT32, cnp.NPY_FLOAT64):
            raise ValueError("parameters must be float32 or float64")
        self._x = params
        self._n = cnp.PyArray_SIZE(params)
        self._typenum = cnp.PyArray_TYPE(params)
        self._layout_flag = flag

    cdef bint _params_intact(self):
        """Whether ``params`` still has the size, dtype and layout it was
        bound with (an ndarray can be resized or reinterpreted in place)."""
        cdef cnp.ndarray x = self._x
        return (cnp.PyArray_SIZE(x) == self._n
                and cnp.PyArray_TYPE(x) == self._typenum
                and (cnp.PyArray_FLAGS(x) & self._layout_flag) == self._layout_flag
                and cnp.PyArray_ISWRITEABLE(x)
                and cnp.PyArray_ISALIGNED(x)
                and cnp.PyArray_ISNOTSWAPPED(x))

    cdef bint _array_intact(self, cnp.ndarray a):
        """Whether the state array ``a`` still has the parameters' size, dtype
        and layout, as bound (an ndarray can be resized in place, even a
        private one)."""
        return (cnp.PyArray_SIZE(a) == self._n
                and cnp.PyArray_TYPE(a) == self._typenum
                and (cnp.PyArray_FLAGS(a) & self._layout_flag) == self._layout_flag
                and cnp.PyArray_ISWRITEABLE(a)
                and cnp.PyArray_ISALIGNED(a)
                and cnp.PyArray_ISNOTSWAPPED(a))

    cdef int _recheck(self, cnp.ndarray g, tuple state) except -1:
        """Re-check, after the last call into Python of a step (the
        schedules, the gradient's conversion) and right before its pass,
        everything the pass's memory safety depends on: a callable may have
        resized or reinterpreted the parameters or a state array in place
        (``x.resize(10, refcheck=False)``), so no size checked before it is
        trusted.  O(1) per array.  Raises `ValueError` (nothing changed)."""
        if not self._params_intact():
            self._raise_params_changed()
        if cnp.PyArray_SIZE(g) != self._n or cnp.PyArray_TYPE(g) != self._typenum:
            raise ValueError("internal error: the gradient does not match the parameters")
        for a in state:
            if a is not None and not self._array_intact(<cnp.ndarray>a):
                raise ValueError(
                    f"A state array of {type(self).__name__} changed size, dtype or memory "
                    f"layout during the step (now shape {a.shape}, dtype {a.dtype}); "
                    f"the parameters and the optimizer state are unchanged.")
        return 0

    cdef bint _grad_ready(self, object grad):
        """Whether ``grad`` can be read directly: an ndarray with the
        parameters' dtype, shape and layout that does not overlap them."""
        if not cnp.PyArray_Check(grad):
            return False
        cdef cnp.ndarray g = <cnp.ndarray>grad
        cdef cnp.ndarray x = self._x
        cdef int nd = cnp.PyArray_NDIM(x)
        if (cnp.PyArray_TYPE(g) != self._typenum
                or cnp.PyArray_NDIM(g) != nd
                or (cnp.PyArray_FLAGS(g) & self._layout_flag) != self._layout_flag
                or not cnp.PyArray_ISALIGNED(g)
                or not cnp.PyArray_ISNOTSWAPPED(g)):
            return False
        if nd and memcmp(cnp.PyArray_DIMS(g), cnp.PyArray_DIMS(x),
                         nd * sizeof(cnp.npy_intp)) != 0:
            return False
        cdef char* gp = <char*>cnp.PyArray_DATA(g)
        cdef char* xp = <char*>cnp.PyArray_DATA(x)
        cdef Py_ssize_t nbytes = self._n * cnp.PyArray_ITEMSIZE(x)
        return gp + nbytes <= xp or xp + nbytes <= gp

    cdef double _lr_at(self, long long t, double* eta) except? -1.0:
        """The learning rate of step ``t`` (times the schedule multiplier,
        stored in ``eta``), after checking that ``params`` is intact; sets
        ``_weight_decay`` to its value at step ``t`` when it is a callable."""
        if not self._params_intact():
            self._raise_params_changed()
        if not 0 < t <= _MAX_STEPS:
            _raise_step_cap(type(self).__name__, t - 1)
        cdef double lr_t
        eta[0] = 1.0
        if self._lr_fn is None:
            lr_t = self._lr
        else:
            lr_t = self._schedule_value("lr", self._lr_fn, t)
        if self._schedule is not None:
            eta[0] = self._schedule_value("schedule", self._schedule, t)
            lr_t = lr_t * eta[0]
        if self._weight_decay_fn is not None:   # a schedule of the weight decay
            self._weight_decay = self._schedule_value("weight_decay", self._weight_decay_fn, t)
        return lr_t

    cdef cnp.ndarray _gradient(self, object grad):
        """``grad`` as an array the loops can read (converted if need be)."""
        if not self._params_intact():   # (a schedule resized them)
            self._raise_params_changed()
        if not self._grad_ready(grad):
            grad = self._slow_grad(grad)
            if not self._params_intact():   # (the gradient's __array__ resized them)
                self._raise_params_changed()
            if not self._grad_ready(grad):
                raise ValueError("internal error: gradient conversion failed")
        return <cnp.ndarray>grad

    cdef void _start_job(self, StepJob* job, cnp.ndarray g, int algo, bint coupled,
                         double limit):
        """Fill what every step's job holds: the arrays, the check's
        arguments and the split between threads (the state arrays, the
        scalars and the flags are the caller's)."""
        cdef bint is64 = self._typenum == cnp.NPY_FLOAT64
        job.table = _table
        job.algo = algo
        job.x = <char*>cnp.PyArray_DATA(self._x)
        job.g = <const char*>cnp.PyArray_DATA(g)
        job.m = job.v = job.vmax = NULL
        job.itemsize = 8 if is64 else 4
        job.is64 = is64
        job.coupled = coupled
        job.amsgrad = job.first = False
        job.s = NULL
        job.fs = NULL
        job.flags = 0
        job.sign = -1.0 if self._maximize else 1.0
        job.weight_decay = self._weight_decay
        job.limit = limit
        job.bad = 0
        job.big = 0
        job.nthreads = _num_threads
        if self._n < (THREAD_MIN_SIZE64 if is64 else THREAD_MIN_SIZE32):
            job.nthreads = 1
        job.chunk = _chunk_size(self._n, job.nthreads)

    cdef _refuse_scalars(self, StepJob* job, cnp.ndarray g, str name, double value,
                         long long t):
        """Raise for a per-step scalar the loop cannot use (a bad gradient is
        reported first, then the bad scalar)."""
        if self._check_finite and self._n > 0:
            _check_chunk(job, 0, self._n)
            if job.bad:
                self._raise_first_bad(g, job)
        self._raise_bad_scalars(name, value, t)

    cdef _run(self, StepJob* job, cnp.ndarray g):
        """Run the step's job: the check of the whole gradient, then (if it
        passed) the update; on several threads, every chunk of the check is
        done before any element is updated.  Raises (through the
        ``_raise_bad_grad`` hook) when the check fails: nothing was updated."""
        cdef Py_ssize_t n = self._n
        cdef bint check = self._check_finite and n > 0
        if n >= NOGIL_MIN_SIZE:
            with nogil:
                if check:
                    adamopt_parallel_for2(_check_chunk, _update_chunk, job, &job.bad,
                                          n, job.chunk, job.nthreads, True)
                else:
                    adamopt_parallel_for2(_update_chunk, NULL, job, NULL, n, job.chunk,
                                          job.nthreads, True)
        else:
            if check:
                _check_chunk(job, 0, n)
            if not job.bad:
                _update_chunk(job, 0, n)
        if job.bad:   # nothing was updated
            self._raise_first_bad(g, job)

    cdef _raise_first_bad(self, cnp.ndarray g, const StepJob* job):
        """Raise the error of the first bad element of ``g`` (through the
        ``_raise_bad_grad`` hook), once the check has found one."""
        cdef Py_ssize_t bad
        if job.is64:
            bad = _first_bad(<const double*>cnp.PyArray_DATA(g),
                             <const double*>cnp.PyArray_DATA(self._x), self._n, job.sign,
                             job.weight_decay, job.coupled, <double>job.limit)
        else:
            bad = _first_bad(<const float*>cnp.PyArray_DATA(g),
                             <const float*>cnp.PyArray_DATA(self._x), self._n, job.sign,
                             job.weight_decay, job.coupled, <float>job.limit)
        self._raise_bad_grad(g, bad)

    @property
    def params(self):
        """The parameter array, updated in place by `step`."""
        return self._x


_STEP_DOC = """Take one optimization step with the gradient ``grad``.

        Parameters
        ----------
        grad : array_like
            Gradient of the objective at the current parameters, with their
            shape.  An array of their dtype and memory order is read as is;
            anything else of real numbers is converted first (one copy).

        Returns
        -------
        numpy.ndarray
            The parameter array, updated in place.

        Raises
        ------
        ValueError
            If ``grad`` has the wrong shape, or (with ``check_finite``) holds
            a NaN, an infinity or (for the algorithms that square it) a value
            whose square would overflow, or (every algorithm but RMSprop) if
            the step could overflow the parameters or the state; the
            parameters and the state are then unchanged.
        TypeError
            If ``grad`` is not an array of real numbers.
        """


@cython.auto_pickle(False)
cdef class AdamCore(_Core):
    """Parameters, moments and the compiled step of Adam and AdamW.

    A base class: construct `adamopt.Adam` or `adamopt.AdamW`, which validate
    their arguments, allocate the state and then call `_bind`.
    """

    cdef readonly cnp.ndarray _m, _v, _vmax
    cdef public double _beta1, _beta2
    cdef public bint _decay_by_schedule
    cdef readonly bint _decoupled, _amsgrad
    # The overflow guard (see `step`): whether the last pass (or the
    # examination of a new or loaded state) found |x| > F/4 or |m| > 2 L.
    cdef public bint _beyond
    cdef public double _m_bound   # every |m| is at most this (see `step`)

    def _bind(self, cnp.ndarray params, cnp.ndarray m, cnp.ndarray v, vmax,
              bint decoupled, bint amsgrad):
        """Hold ``params`` and the state arrays.

        The caller has validated ``params``; this re-checks what memory safety
        depends on (equal sizes, dtypes and layouts) and raises `ValueError`
        otherwise.
        """
        self._bind_arrays(params, [params, m, v] + ([vmax] if amsgrad else []))
        self._m = m
        self._v = v
        self._vmax = vmax if amsgrad else None
        self._decoupled = decoupled
        self._amsgrad = amsgrad

    def _grad_limit(self):
        """The largest gradient magnitude a step accepts (just under the
        square root of the dtype's largest number)."""
        return LIMIT64 if self._typenum == cnp.NPY_FLOAT64 else <double>LIMIT32

    def step(self, grad):
        cdef long long t = self._t + 1
        cdef double eta
        cdef double lr_t = self._lr_at(t, &eta)
        cdef cnp.ndarray g = self._gradient(grad)
        cdef bint is64 = self._typenum == cnp.NPY_FLOAT64
        cdef StepJob job
        # No call into Python from here to the end of the pass.
        self._recheck(g, (self._m, self._v, self._vmax))
        self._start_job(&job, g, ALGO_ADAM, (not self._decoupled) and self._weight_decay != 0.0,
                        LIMIT64 if is64 else LIMIT32)
        job.m = <char*>cnp.PyArray_DATA(self._m)
        job.v = <char*>cnp.PyArray_DATA(self._v)
        job.vmax = <char*>cnp.PyArray_DATA(self._vmax) if self._amsgrad else NULL
        job.amsgrad = self._amsgrad

        cdef AdamScalars s
        cdef double bc1 = 1.0 - pow(self._beta1, <double>t)
        cdef double bc2_sqrt = sqrt(1.0 - pow(self._beta2, <double>t))
        s.sign = job.sign
        s.weight_decay = self._weight_decay
        s.decay = 1.0
        if self._decoupled:
            s.decay = 1.0 - (eta if self._decay_by_schedule else lr_t) * self._weight_decay
        s.one_minus_beta1 = 1.0 - self._beta1
        s.one_minus_beta2 = 1.0 - self._beta2
        _moment_form(self._beta1, &s.p1, &s.q1)
        _moment_form(self._beta2, &s.p2, &s.q2)
        s.lr = lr_t
        s.eps = self._eps
        s.step = lr_t * bc2_sqrt / bc1
        s.eps_hat = self._eps * bc2_sqrt
        job.s = &s
        # t == 1 starts from the zero state (load_state_dict enforces it).
        job.first = t == 1
        # The scalars as the loop will see them, in the parameters' dtype.
        cdef bint lr_ok = isfinite(s.step) and isfinite(s.decay) and (is64 or (
            isfinite(<float>s.step) and isfinite(<float>s.decay) and isfinite(<float>s.lr)))
        cdef bint eps_ok = s.eps_hat > 0 and (is64 or <float>s.eps_hat > 0)
        if not lr_ok:
            self._refuse_scalars(&job, g, "lr", lr_t, t)
        if not eps_ok:
            self._refuse_scalars(&job, g, "eps", self._eps, t)
        # The overflow guard (with the check only).  With F the dtype's
        # largest number and L the gradient limit (|g| <= L: g * g < F),
        # given every finite |x| <= X (``_x_bound``) and |m| <= M
        # (``_m_bound``) before the step (the largest ones at construction
        # and load, then the limits the last pass flagged): m and v are
        # averages of values within max(M, L) and L * L, so they stay finite,
        # and `_moment_step_ok` bounds the update of x.  The pass flags a new
        # finite |x| beyond F / (4 max(1, |decay|)) (the next X) and a new |m|
        # beyond the next M; a flagged value refuses the next step.
        # Conservative only at extreme magnitudes.
        cdef double F = DBL_MAX if is64 else <double>FLT_MAX
        cdef double L = job.limit
        cdef bint ok = _moment_step_ok(F, s.decay, self._x_bound, self._m_bound, L,
                                       self._beta1, s.one_minus_beta1, s.one_minus_beta2,
                                       0.0, s.step, s.eps_hat, &s.s_limit)
        if job.first:   # the closed form: |lr g / (|g| + eps)| <= lr
            ok = lr_t * (1 + 2.0 ** -18) <= 0.99 * F - fabs(s.decay) * self._x_bound
        s.x_limit = F / (4 * max(1.0, fabs(s.decay)))
        if self._check_finite:
            if self._beyond:
                self._refuse_scalars(&job, g, "state", 0.0, t)
            if not ok:
                self._refuse_scalars(&job, g, "overflow", lr_t, t)
        self._run(&job, g)
        self._beyond = job.big != 0
        self._x_bound = s.x_limit
        self._m_bound = s.s_limit
        self._t = t
        return self._x

    step.__doc__ = _STEP_DOC


cdef inline bint _moment_step_ok(
    double F, double decay, double X, double M, double L, double beta1, double c1,
    double c2, double coef_g, double coef_m, double eps_hat, double* m_next,
) noexcept nogil:
    """The overflow guard of a moment step (Adam, AdamW, NAdam):
    ``x * decay - (coef_g g + coef_m m_new) / (sqrt(w) + eps_hat)`` with
    ``m_new = beta1 m + c1 g`` (either form), given that every finite |x| is
    at most X, every |m| at most M and every |g| at most L (the check),
    w >= v_new >= c2 g**2.  Then |m_new| <= max(M, L), and per element

        |update| <= coef_g / sqrt(c2) + coef_m (beta1 M / eps_hat + c1 / sqrt(c2))

    (the part of m_new from g is divided by at least sqrt(c2) |g|, the part
    from the old m by at least eps_hat), so x stays finite if that plus
    |decay| X is below 0.99 F, and the numerator if coef_g L + coef_m
    max(M, L) is below F / 2.  Each term has room for the loop's roundings.
    Sets ``m_next``, the limit of |m_new| the pass flags (the M of the next
    step): 2 L, or less when a larger m would take a quarter of the room of
    a next step with these scalars (a flagged m refuses the next step)."""
    cdef double d = 2.0 ** -18
    cdef double room = 0.99 * F - fabs(decay) * X
    cdef double room_next = 0.99 * F - fabs(decay) * (F / (4 * max(1.0, fabs(decay))))
    cdef double root = sqrt(c2 * (1 - d))
    cdef double eps_low = eps_hat * (1 - d)
    cdef double update = (coef_g * (1 + d) / root
                          + coef_m * ((beta1 + d) * M / eps_low + (c1 + d) / root)) * (1 + d)
    m_next[0] = 2 * L
    if coef_m > 0:
        m_next[0] = min(2 * L, 0.25 * room_next * eps_low / coef_m)
    return (room > 0 and update <= room
            and coef_g * L + coef_m * max(M, L) * (1 + d) <= 0.5 * F)


cdef inline bint _usable(double value, bint is64) noexcept nogil:
    """Whether a per-step scalar is finite in the parameters' dtype."""
    return isfinite(value) and (is64 or isfinite(<float>value))


@cython.auto_pickle(False)
cdef class FamilyCore(_Core):
    """Parameters, state and the compiled step of SGD, Adagrad, RMSprop,
    Adamax and NAdam (one core; ``_algo`` chooses the loop).

    A base class: construct `adamopt.SGD`, `adamopt.Adagrad`, ... which
    validate their arguments, allocate the state and then call `_bind`.

    Per-step scalars, computed once in float64 (``lr_t`` is the learning rate
    times the schedule multiplier; the loops' arithmetic is in ``_loops.pxi``):

    * SGD: the step ``lr_t``, ``momentum``, ``1 - dampening``.
    * Adagrad: ``lr_t / (1 + (t - 1) lr_decay)``.
    * RMSprop: ``lr_t``, ``momentum``, ``1 - alpha`` in the form of
      ``_moment_form(alpha)``.
    * Adamax: ``lr_t / (1 - beta1**t)``; ``beta2``.
    * NAdam: with ``mu_t = beta1 (1 - 0.96**(t psi) / 2)``, the products
      ``P_t = mu_1 ... mu_t`` (``_mu_product``, kept in float64) and
      ``r = sqrt(1 - beta2**t)``, the coefficients of g and m
      ``lr_t (1 - mu_t) r / (1 - P_t)`` and ``lr_t mu_{t+1} r / (1 - P_t mu_{t+1})``
      and the denominator's ``eps r``: ``x -= (c_g g + c_m m) / (sqrt(v) + eps r)``
      is PyTorch's ``x -= lr_t ((1 - mu_t) g / (1 - P_t) + mu_{t+1} m /
      (1 - P_{t+1})) / (sqrt(v / (1 - beta2**t)) + eps)`` with one square root
      and one division per element.
    """

    cdef readonly cnp.ndarray _a, _b, _c
    cdef readonly int _algo
    cdef readonly bint _centered
    cdef public double _momentum, _dampening, _alpha, _lr_decay
    cdef public double _beta1, _beta2, _momentum_decay, _mu_product
    cdef public bint _nesterov, _decoupled_weight_decay
    # The overflow guard (SGD, Adagrad; see `_bound`): whether the last pass
    # (or the examination of a new or loaded state) found a value beyond its
    # limit, the limit of the growing state array it used, and the gradient
    # limit of the last step (for the error message).
    cdef public bint _beyond
    cdef public double _s_limit, _step_limit
    cdef public double _s_bound   # NAdam, Adamax: every |m| is at most this
    cdef public double _r_bound   # Adamax: every |m| / u is at most this

    def _bind(self, int algo, cnp.ndarray params, a, b, c, bint centered=False):
        """Hold ``params`` and the state arrays ``a``, ``b``, ``c`` (None
        where the algorithm has none; see ``_family_update`` in _loops.pxi).

        The caller has validated ``params``; this re-checks what memory safety
        depends on and raises `ValueError` otherwise.
        """
        if algo not in (ALGO_SGD, ALGO_ADAGRAD, ALGO_RMSPROP, ALGO_ADAMAX, ALGO_NADAM):
            raise ValueError(f"unknown algorithm {algo}")
        needs = {ALGO_SGD: (True, False, False), ALGO_ADAGRAD: (True, False, False),
                 ALGO_RMSPROP: (True, centered, True), ALGO_ADAMAX: (True, True, False),
                 ALGO_NADAM: (True, True, False)}[algo]
        given = [a, b, c]
        self._bind_arrays(params, [params] + [s for s, need in zip(given, needs) if need])
        self._a, self._b, self._c = [s if need else None for s, need in zip(given, needs)]
        self._algo = algo
        self._centered = centered
        if self._mu_product == 0.0:
            self._mu_product = 1.0

    cdef bint _coupled(self):
        return self._weight_decay != 0.0 and not (
            self._algo == ALGO_NADAM and self._decoupled_weight_decay)

    cdef double _limit(self):
        cdef bint is64 = self._typenum == cnp.NPY_FLOAT64
        if self._algo in (ALGO_SGD, ALGO_ADAMAX):
            return DBL_MAX if is64 else <double>FLT_MAX
        return LIMIT64 if is64 else <double>LIMIT32

    def _grad_limit(self):
        """The largest gradient magnitude a step accepts: under the square
        root of the dtype's largest number for the algorithms that square the
        gradient, else the largest finite number; for SGD and Adagrad, the
        bound of the last step (`_bound`) if lower."""
        if self._step_limit > 0:
            return min(self._limit(), self._step_limit)
        return self._limit()

    cdef double _bound(self, FamilyScalars* s, bint is64):
        """The overflow guard of SGD, Adagrad, Adamax and NAdam: set the limits the
        pass compares its new values with (``s.x_limit``, ``s.s_limit``) and
        return the largest gradient magnitude G for which this step provably
        keeps x and the state finite, given that every finite |x| is at most
        X = ``_x_bound`` and every state value within the limit of the
        previous pass (``_beyond`` false); negative when no gradient is safe
        (the step size alone is too large).  With F the dtype's largest
        number, in float64 (each bound has a factor 0.99 of room for the
        roundings of the loop, a few units of 2**-24 at most)::

            all:      the pass keeps x finite if |decay| X + |step| <= 0.99 F
            SGD:      |x - lr d| with d = g (no momentum): G = (0.99 F - X) / lr.
                      Momentum b = mu b + (1 - dampening) g, |b| <= B (the
                      previous step's limit, F / (8192 max(1, lr)), low enough
                      that a schedule may raise lr 4096-fold in one step):
                      |b_new| <= B + G, |d| <= 2G + B (Nesterov: g + mu b_new),
                      so G = min(F/8, ((0.99 F - X) / lr - B) / 2).
            Adagrad:  s_new = s + g^2 with s <= F/4: G = sqrt(F/2); the step
                      is clr g / (sqrt(s_new) + eps) <= clr (s_new >= g^2),
                      so clr <= 0.99 F - X is needed.
            NAdam:    as Adam (`_moment_step_ok`), with M = ``_s_bound``.
            Adamax:   `_adamax_bound`.

        The pass flags a new finite |x| beyond F / (4 max(1, |decay|)) (then X
        for the next step) and a state value beyond its limit; a flagged
        value refuses the next step.  Conservative only at those extreme
        magnitudes.  X assumes x holds what the last pass wrote (or what
        construction and ``load_state_dict`` examined: `_examine` of the
        classes); values written into it between steps are not re-read."""
        cdef double F = DBL_MAX if is64 else <double>FLT_MAX
        cdef double lr = s.lr, b_limit, g_limit
        cdef double room = 0.99 * F - fabs(s.decay) * self._x_bound
        s.x_limit = F / (4 * max(1.0, fabs(s.decay)))
        s.s_limit = F
        s.r_limit = F
        if room <= 0:
            return -1.0
        if self._algo == ALGO_SGD:
            if self._momentum == 0.0:
                return room / lr if lr > 0 else F
            b_limit = self._s_limit if self._s_limit > 0 else F / 8192
            s.s_limit = F / (8192 * max(1.0, lr))
            g_limit = 0.99 * (room / lr - b_limit) / 2 if lr > 0 else F
            return min(0.99 * F / 8, g_limit)
        if self._algo == ALGO_ADAGRAD:
            s.s_limit = F / 4
            if not lr <= room:
                return -1.0
            return 0.99 * sqrt(F / 2)
        if self._algo == ALGO_ADAMAX:
            return self._adamax_bound(s, F, room)
        if self._algo == ALGO_NADAM:
            g_limit = self._limit()
            if not _moment_step_ok(F, s.decay, self._x_bound, self._s_bound, g_limit,
                                   self._beta1, s.one_minus_beta1, s.one_minus_beta2,
                                   fabs(s.lr), fabs(s.lr2), s.eps, &s.s_limit):
                return -1.0
            return g_limit
        return F

    cdef double _adamax_bound(self, FamilyScalars* s, double F, double room):
        """Adamax's part of `_bound`.  Given |m| <= M (``_s_bound``) <= F/4
        and |m| <= K u elementwise (K = ``_r_bound``: the largest ratio at
        construction and load, then ``ADAMAX_RATIO`` = 2**40), gradients
        up to G = F/4 keep g - m and |g| + eps finite (eps <= F/2), and with
        m_new = beta1 m + c1 g, u_new >= max(beta2 u, |g| + eps):

            |m_new| / u_new <= beta1 min(K / beta2, M / eps) + c1

        so x stays finite if clr times that is within the room.  The pass
        flags a new |m| beyond the next M (at most F/4: less when a larger m
        would take a quarter of the room of a next step with these scalars)
        or beyond K u."""
        cdef double d = 2.0 ** -18
        cdef double eps = s.eps, clr = fabs(s.lr), beta1 = self._beta1, ratio
        cdef double room_next = 0.99 * F - F / 4
        # (beta2 = 0: u_new = |g| + eps, no ratio carries over, none is flagged)
        s.r_limit = _ADAMAX_RATIO if s.beta2 > 0 else INFINITY
        s.s_limit = F / 4
        if clr > 0 and not (s.beta2 > 0 and clr * ((beta1 + d) * _ADAMAX_RATIO / s.beta2 + 1)
                            * (1 + d) <= 0.25 * room_next):
            # (only when the ratio limit alone would not keep the next step safe)
            s.s_limit = min(F / 4, 0.25 * room_next * eps * (1 - d) / clr)
        if not eps <= F / 2:
            return -1.0
        ratio = self._s_bound / (eps * (1 - d))
        if s.beta2 > 0:
            ratio = min(ratio, self._r_bound / s.beta2)
        ratio = ((beta1 + d) * ratio + (1.0 - beta1) + d) * (1 + d)
        if not clr * ratio <= room:
            return -1.0
        return 0.99 * F / 4

    def step(self, grad):
        cdef long long t = self._t + 1
        cdef double eta
        cdef double lr_t = self._lr_at(t, &eta)
        cdef cnp.ndarray g = self._gradient(grad)
        cdef bint is64 = self._typenum == cnp.NPY_FLOAT64
        cdef StepJob job
        cdef int algo = self._algo
        # No call into Python from here to the end of the pass.
        self._recheck(g, (self._a, self._b, self._c))
        self._start_job(&job, g, algo, self._coupled(), self._limit())
        job.m = <char*>cnp.PyArray_DATA(self._a)
        job.v = <char*>cnp.PyArray_DATA(self._b) if self._b is not None else NULL
        job.vmax = <char*>cnp.PyArray_DATA(self._c) if self._c is not None else NULL

        cdef FamilyScalars s
        s.sign = job.sign
        s.weight_decay = self._weight_decay
        s.decay = 1.0
        s.lr = lr_t
        s.lr2 = 0.0
        s.momentum = self._momentum
        s.damp = 1.0 - self._dampening
        s.one_minus_beta1 = 1.0 - self._beta1
        _moment_form(self._beta1, &s.p1, &s.q1)
        s.one_minus_beta2 = 1.0 - self._beta2
        _moment_form(self._beta2, &s.p2, &s.q2)
        s.beta2 = self._beta2
        s.eps = self._eps
        cdef int flags = F_COUPLED if job.coupled else 0
        cdef double mu_product = self._mu_product, mu, mu_next, r
        if algo == ALGO_SGD:
            if self._momentum != 0.0:
                flags |= F_MOMENTUM
                if self._nesterov:
                    flags |= F_NESTEROV
                if t == 1:
                    flags |= F_FIRST
        elif algo == ALGO_ADAGRAD:
            s.lr = lr_t / (1.0 + (t - 1) * self._lr_decay)
        elif algo == ALGO_RMSPROP:
            s.one_minus_beta2 = 1.0 - self._alpha
            _moment_form(self._alpha, &s.p2, &s.q2)
            if self._momentum > 0.0:
                flags |= F_MOMENTUM
            if self._centered:
                flags |= F_CENTERED
        elif algo == ALGO_ADAMAX:
            s.lr = lr_t / (1.0 - pow(self._beta1, <double>t))
        elif algo == ALGO_NADAM:
            r = sqrt(1.0 - pow(self._beta2, <double>t))
            mu = self._beta1 * (1.0 - 0.5 * pow(0.96, t * self._momentum_decay))
            mu_next = self._beta1 * (1.0 - 0.5 * pow(0.96, (t + 1) * self._momentum_decay))
            mu_product = mu_product * mu
            s.lr = lr_t * (1.0 - mu) / (1.0 - mu_product) * r
            s.lr2 = lr_t * mu_next / (1.0 - mu_product * mu_next) * r
            s.eps = self._eps * r
            if self._decoupled_weight_decay:
                s.decay = 1.0 - lr_t * self._weight_decay
        job.fs = &s
        job.flags = flags
        # The scalars as the loop will see them, in the parameters' dtype.
        if not (_usable(s.lr, is64) and _usable(s.lr2, is64) and _usable(s.decay, is64)):
            self._refuse_scalars(&job, g, "lr", lr_t, t)
        if algo != ALGO_SGD and not (s.eps > 0 and (is64 or <float>s.eps > 0)):
            self._refuse_scalars(&job, g, "eps", self._eps, t)
        # The overflow guard (with the check only: without it nothing is
        # promised): the check refuses any gradient above the bound.
        cdef double bound = self._bound(&s, is64)
        if self._check_finite and algo in (ALGO_SGD, ALGO_ADAGRAD, ALGO_NADAM, ALGO_ADAMAX):
            if self._beyond:
                self._refuse_scalars(&job, g, "state", 0.0, t)
            if bound < 0:
                self._refuse_scalars(&job, g, "overflow", lr_t, t)
            if bound < job.limit:
                job.limit = bound
                self._step_limit = bound
            else:
                self._step_limit = 0.0
        self._run(&job, g)
        if algo in (ALGO_SGD, ALGO_ADAGRAD, ALGO_NADAM, ALGO_ADAMAX):
            self._beyond = job.big != 0
            self._x_bound = s.x_limit
            self._s_bound = s.s_limit
            self._r_bound = s.r_limit
            self._s_limit = s.s_limit
        self._mu_product = mu_product
        self._t = t
        return self._x

    step.__doc__ = _STEP_DOC
