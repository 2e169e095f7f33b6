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
from libc.float cimport DBL_MAX, FLT_MAX
from libc.math cimport INFINITY, NAN, isfinite, nextafter, nextafterf, sqrt, sqrtf
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memcmp

from adamopt._kernel_api cimport (
    F_AMSGRAD, F_CENTERED, F_COUPLED, F_NESTEROV, MAX_SCALARS, MAX_STATE, Hyperparameters,
    KernelTable, StepScalars,
)

import importlib
import os
from collections.abc import Mapping

# The loops of the baseline instruction set, compiled into this module too:
# the step calls this copy's ``_prepare_step`` directly (the compiler inlines the
# per-step scalars into `Core.step`; every variant computes them alike, in
# float64 without contraction), and the loops of the variant chosen at
# import through its table.
include "_loops.pxi"

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
ADAMAX_RATIO = _ADAMAX_RATIO


include "_runtime.pxi"


# Why `Core._scalars` refuses a step (0: it does not).
cdef enum:
    R_LR = 1
    R_EPS = 2
    R_STATE = 3
    R_OVERFLOW = 4


cdef class _Segments   # (_segments.pxi, included at the end)


cdef struct StepJob:
    const KernelTable* table
    int kernel            # the algorithm's kernel id (see _loops.pxi)
    char* x
    const char* g
    char* state[MAX_STATE]  # the state arrays, in the declaration's order (NULL: absent)
    Py_ssize_t itemsize
    Py_ssize_t chunk      # chunk size of the job (see _check_chunk)
    int nthreads
    bint is64, coupled
    const StepScalars* s
    int flags             # the F_* flags of the step
    double sign, weight_decay, limit
    int bad
    int big               # a new value exceeded its limit (the overflow guard)
    const PostOps* post   # the post-pass stages (_post.pxi), NULL: none
    # The first pass of Prodigy and D-Adaptation (`_dadapt_reduce_chunk`):
    # the elements, whether it checks the gradient, the sums of each block.
    Py_ssize_t n
    bint check
    double* sums


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
    """Update the elements [begin, end): the algorithm's loop, through the table."""
    cdef StepJob* j = <StepJob*>ctx
    cdef Py_ssize_t off = begin * j.itemsize
    cdef char* st[MAX_STATE]
    cdef int k
    for k in range(MAX_STATE):
        st[k] = _at(j.state[k], off)
    cdef bint big
    if j.is64:
        big = j.table.update64(j.kernel, <double*>(j.x + off), <const double*>(j.g + off),
                               <double**>st, end - begin, j.s, j.flags)
    else:
        big = j.table.update32(j.kernel, <float*>(j.x + off), <const float*>(j.g + off),
                               <float**>st, end - begin, j.s, j.flags)
    if big:
        adamopt_flag_set(&j.big)


# The blocks of the first pass of Prodigy and D-Adaptation: each block's two
# sums are taken whole, in one order, by the chunk its first element falls in,
# then added in block order: the same bits for any number of threads.
cdef Py_ssize_t DADAPT_BLOCK = 2048


cdef void _dadapt_reduce_chunk(void* ctx, Py_ssize_t begin, Py_ssize_t end) noexcept nogil:
    """The first pass over the blocks that start in [begin, end): the check
    of each block, then its two sums (``_dadapt_reduce`` in _loops_dadapt.pxi).
    The blocks partition the array, so every element is checked once."""
    cdef StepJob* j = <StepJob*>ctx
    cdef Py_ssize_t b = (begin + DADAPT_BLOCK - 1) // DADAPT_BLOCK, lo, hi, off
    cdef char* st[MAX_STATE]
    cdef int k
    while b * DADAPT_BLOCK < end and not j.bad:
        lo = b * DADAPT_BLOCK
        hi = min(lo + DADAPT_BLOCK, j.n)
        if j.check and _check_range(j, lo, hi):
            adamopt_flag_set(&j.bad)
            return
        off = lo * j.itemsize
        for k in range(MAX_STATE):
            st[k] = _at(j.state[k], off)
        if j.is64:
            j.table.reduce64(j.kernel, <const double*>(j.x + off), <const double*>(j.g + off),
                             <double**>st, hi - lo, j.s, j.flags, &j.sums[2 * b])
        else:
            j.table.reduce32(j.kernel, <const float*>(j.x + off), <const float*>(j.g + off),
                             <float**>st, hi - lo, j.s, j.flags, &j.sums[2 * b])
        b += 1


include "_post.pxi"


cdef void _stream_chunk(void* ctx, Py_ssize_t begin, Py_ssize_t end) noexcept nogil:
    cdef StepJob* j = <StepJob*>ctx
    cdef Py_ssize_t off = begin * j.itemsize
    if j.is64:
        j.table.stream64(<double*>(j.x + off), <const double*>(j.g + off),
                         <double*>(j.state[0] + off), <double*>(j.state[1] + off), end - begin)
    else:
        j.table.stream32(<float*>(j.x + off), <const float*>(j.g + off),
                         <float*>(j.state[0] + off), <float*>(j.state[1] + off), end - begin)


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
    job.state[0] = <char*>cnp.PyArray_DATA(am)
    job.state[1] = <char*>cnp.PyArray_DATA(av)
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
            whose square would overflow; the parameters and the state are then
            unchanged.
        TypeError
            If ``grad`` is not an array of real numbers.
        """


cdef inline char* _data(cnp.ndarray a) noexcept:
    """The data of a state array, NULL for None."""
    return NULL if a is None else <char*>cnp.PyArray_DATA(a)


cdef inline bint _usable(double value, bint is64) noexcept nogil:
    """Whether a per-step scalar is finite in the parameters' dtype."""
    return isfinite(value) and (is64 or isfinite(<float>value))


def _raise_step_cap(owner, t):
    """Refuse a step from step count ``t`` (at the cap, or a bad private
    ``_t``): no state with a count beyond `MAX_STEPS` is ever produced."""
    raise ValueError(
        f"The step count of {owner} cannot go past {MAX_STEPS} (2**62). Got t = {t} "
        f"instead; the parameters and the optimizer state are unchanged.")


@cython.auto_pickle(False)
cdef class Core:
    # (This module is over 600 lines for one reason: the core's step, its job
    # and the attributes of its hyperparameters belong together; the loops and
    # the per-step scalars are in _loops.pxi, the runtime choices in
    # _runtime.pxi.)
    """The compiled core of every optimizer: the parameters, the state
    arrays, the step count, the hyperparameters, the way in of the gradient,
    and the step's job (the check, then the update, on the pool).

    A base class: the public classes (built from the algorithm declarations
    by ``adamopt._derive``) validate their arguments, allocate the state and
    then call `_bind` with their kernel's name.  It calls back into the
    class through the hooks ``_slow_grad``, ``_schedule_value``,
    ``_raise_bad_grad``, ``_raise_bad_scalars`` and ``_raise_params_changed``.
    """

    cdef readonly cnp.ndarray _x
    # The state arrays in the declaration's order (None where absent): typed
    # slots, so the step reads their data pointers without Python calls.
    cdef cnp.ndarray _s0, _s1, _s2, _s3
    cdef readonly int _kernel
    #: Whether the algorithm squares the gradient (the check's limit).
    cdef readonly bint _squares
    cdef readonly bint _amsgrad, _centered   # options fixed at construction
    cdef Py_ssize_t _n
    cdef int _typenum
    cdef int _layout_flag
    cdef double _grad_max     # the check's limit (see `_grad_limit`), set by `_bind`
    cdef public long long _t
    cdef public double _lr
    # The hyperparameters, read by ``prepare`` in place each step (the
    # attributes ``_eps``, ``_beta1``, ... below read and write them).
    cdef Hyperparameters _h
    cdef public object _lr_fn, _schedule, _weight_decay_fn
    # The schedules of the other schedulable hyperparameters (beta1, momentum):
    # None, or a dict name -> callable, evaluated by `_schedule_hyperparameters`.
    cdef public object _hyper_fns
    cdef public bint _maximize, _check_finite, _nesterov
    # The overflow guard (``_guard`` in _loops.pxi): whether the last pass (or
    # the examination of a new or loaded state, the classes' `_examine`)
    # found a value beyond its limit, and the gradient limit of the last step
    # when the guard lowered it (for the error message).
    cdef public bint _beyond
    cdef public double _step_limit
    # The segmented step (_segments.pxi): None for one array without
    # clipping (the step below), else the `_Segments` that steps every array
    # (of a structure of parameters, or this one array with clipping); and
    # the norm of the last step's gradient before clipping (NaN: not taken).
    cdef public object _segments
    cdef public double _grad_norm
    # Prodigy and D-Adaptation: the sums of the first pass, two per block.
    cdef double* _sums
    cdef Py_ssize_t _nsums

    def __cinit__(self, *args, **kwargs):
        self._h.max_grad_norm = -1.0        # no clipping
        self._h.max_grad_value = INFINITY
        self._grad_norm = NAN
        self._sums = NULL
        self._nsums = 0
        self._post_ops.norms = NULL
        self._post_nnorms = 0

    def __dealloc__(self):
        free(self._sums)
        free(self._post_ops.norms)

    def _bind(self, str kernel, bint squares, cnp.ndarray params, state,
              bint amsgrad=False, bint centered=False):
        """Hold ``params`` and the state arrays ``state`` (a sequence of at
        most MAX_STATE arrays, None where absent) for the kernel named
        ``kernel`` (a key of `KERNELS`).

        The caller has validated ``params``; this re-checks what memory safety
        depends on (equal sizes, dtypes and layouts) and raises `ValueError`
        otherwise.
        """
        if kernel not in KERNELS:
            raise ValueError(f"unknown kernel {kernel!r}")
        state = tuple(state)
        if len(state) > MAX_STATE:
            raise ValueError(f"at most {MAX_STATE} state arrays")
        self._bind_arrays(params, [params] + [a for a in state if a is not None])
        self._s0, self._s1, self._s2, self._s3 = state + (None,) * (MAX_STATE - len(state))
        self._kernel = KERNELS[kernel]
        self._squares = squares
        if not squares:
            self._grad_max = DBL_MAX if self._typenum == cnp.NPY_FLOAT64 else <double>FLT_MAX
        else:
            self._grad_max = LIMIT64 if self._typenum == cnp.NPY_FLOAT64 else <double>LIMIT32
        self._amsgrad = amsgrad
        self._centered = centered

    def _share_state(self, state):
        """Hold the state arrays ``state`` (MAX_STATE entries, None exactly
        where this optimizer has none) instead of its own, their values
        copied in first: the members of a structure keep each state array in
        one buffer (``adamopt._structure.pool_state``), so a step streams
        through it in order.  Checked as `_bind` checks; raises `ValueError`
        with nothing changed."""
        state = tuple(state)
        current = (self._s0, self._s1, self._s2, self._s3)
        if len(state) != MAX_STATE or any((a is None) != (b is None)
                                          for a, b in zip(state, current)):
            raise ValueError("the shared state must replace the state arrays one for one")
        self._bind_arrays(self._x, [self._x] + [a for a in state if a is not None])
        for a, b in zip(state, current):
            if a is not None:
                cnp.PyArray_CopyInto(a, b)
        self._s0, self._s1, self._s2, self._s3 = state

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
        return self._array_intact(self._x)

    cdef inline bint _state_intact(self, cnp.ndarray a):
        """Whether the state array ``a`` is absent or still intact."""
        return a is None or self._array_intact(a)

    cdef bint _array_intact(self, cnp.ndarray a):
        """Whether the array ``a`` (the parameters or a state array) still has
        the parameters' size, dtype and layout, as bound (an ndarray can be
        resized in place, even a private one)."""
        return (cnp.PyArray_SIZE(a) == self._n
                and cnp.PyArray_TYPE(a) == self._typenum
                and (cnp.PyArray_FLAGS(a) & self._layout_flag) == self._layout_flag
                and cnp.PyArray_ISWRITEABLE(a)
                and cnp.PyArray_ISALIGNED(a)
                and cnp.PyArray_ISNOTSWAPPED(a))

    cdef int _recheck(self, cnp.ndarray g) except -1:
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
        if self._post_on:   # the post-pass's arrays (_post_core.pxi)
            _post_refresh(self)
            _post_check_gradient(self, g)
        if (self._state_intact(self._s0) and self._state_intact(self._s1)
                and self._state_intact(self._s2) and self._state_intact(self._s3)):
            return 0        # the common case: no tuple, no Python-level loop
        for a in (self._s0, self._s1, self._s2, self._s3):
            if not self._state_intact(a):
                raise ValueError(
                    f"A state array of {type(self).__name__} changed size, dtype or memory "
                    f"layout during the step (now shape {(<object>a).shape}, dtype "
                    f"{(<object>a).dtype}); "
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
            self._h.weight_decay = self._schedule_value("weight_decay", self._weight_decay_fn, t)
        if self._hyper_fns is not None:     # schedules of beta1, momentum (checked there)
            self._schedule_hyperparameters(t)
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

    cdef void _start_job(self, StepJob* job, cnp.ndarray g, bint coupled, double limit):
        """Fill what every step's job holds: the arrays, the check's
        arguments and the split between threads (the scalars and the flags
        are the caller's)."""
        cdef bint is64 = self._typenum == cnp.NPY_FLOAT64
        job.table = _table
        job.kernel = self._kernel
        job.x = <char*>cnp.PyArray_DATA(self._x)
        job.g = <const char*>cnp.PyArray_DATA(g)
        job.state[0] = _data(self._s0)
        job.state[1] = _data(self._s1)
        job.state[2] = _data(self._s2)
        job.state[3] = _data(self._s3)
        job.itemsize = 8 if is64 else 4
        job.is64 = is64
        job.coupled = coupled
        job.s = NULL
        job.flags = 0
        job.sign = -1.0 if self._maximize else 1.0
        job.weight_decay = self._h.weight_decay
        job.limit = limit
        job.bad = 0
        job.big = 0
        job.nthreads = _num_threads
        if self._n < (THREAD_MIN_SIZE64 if is64 else THREAD_MIN_SIZE32):
            job.nthreads = 1
        job.chunk = _chunk_size(self._n, job.nthreads)
        job.post = &self._post_ops if self._post_on else NULL
        if job.post != NULL and self._post_ops.norm_on:
            # whole sub-blocks per chunk: each block's sum is taken by one thread
            # (and few enough chunks that the pool keeps the size: _pool.h's
            # ADAMOPT_MAX_CHUNKS, 65535, would otherwise recut them)
            job.chunk = max(job.chunk, (self._n + 65534) // 65535)
            job.chunk = (job.chunk + _POST_BLOCK - 1) // _POST_BLOCK * _POST_BLOCK

    cdef _refuse_scalars(self, StepJob* job, cnp.ndarray g, int refused, double lr_t,
                         long long t):
        """Raise for a per-step scalar the loop cannot use (a bad gradient is
        reported first, then the bad scalar): ``refused`` is `_scalars`'s code."""
        if self._check_finite and self._n > 0:
            _check_chunk(job, 0, self._n)
            if job.bad:
                self._raise_first_bad(g, job)
        self._raise_refused(refused, lr_t, t)

    cdef _raise_refused(self, int refused, double lr_t, long long t):
        """Raise the error of `_scalars`'s refusal code ``refused``."""
        if refused == R_LR:
            self._raise_bad_scalars("lr", lr_t, t)
        elif refused == R_EPS:
            self._raise_bad_scalars("eps", self._h.eps, t)
        elif refused == R_STATE:
            self._raise_bad_scalars("state", 0.0, t)
        self._raise_bad_scalars("overflow", lr_t, t)

    cdef _run(self, StepJob* job, cnp.ndarray g):
        """Run the step's job: the check of the whole gradient, then (if it
        passed) the update; on several threads, every chunk of the check is
        done before any element is updated.  Raises (through the
        ``_raise_bad_grad`` hook) when the check fails: nothing was updated."""
        cdef Py_ssize_t n = self._n
        cdef bint check = self._check_finite and n > 0
        cdef adamopt_chunk_fn update = _update_chunk if job.post == NULL else _post_chunk
        if n >= NOGIL_MIN_SIZE:
            with nogil:
                if check:
                    adamopt_parallel_for2(_check_chunk, update, job, &job.bad,
                                          n, job.chunk, job.nthreads, True)
                else:
                    adamopt_parallel_for2(update, NULL, job, NULL, n, job.chunk,
                                          job.nthreads, True)
        else:
            if check:
                _check_chunk(job, 0, n)
            if not job.bad:
                update(job, 0, n)
        if job.bad:   # nothing was updated
            self._raise_first_bad(g, job)

    cdef _raise_first_bad(self, cnp.ndarray g, const StepJob* job):
        """Raise the error of the first bad element of ``g`` (through the
        ``_raise_bad_grad`` hook), once the check has found one."""
        cdef Py_ssize_t bad = job.table.first_bad(
            job.is64, cnp.PyArray_DATA(g), cnp.PyArray_DATA(self._x), self._n, job.sign,
            job.weight_decay, job.limit, job.coupled)
        self._raise_bad_grad(g, bad)

    def _grad_limit(self):
        """The largest gradient magnitude a step accepts: under the square
        root of the dtype's largest number for the algorithms that square the
        gradient, else the largest finite number; the bound of the last step
        if the overflow guard lowered it."""
        if self._step_limit > 0:
            return min(self._grad_max, self._step_limit)
        return self._grad_max

    def step(self, grad):
        if self._segments is not None:   # a structure of arrays, or clipping
            return (<_Segments>self._segments).step(grad)
        cdef long long t = self._t + 1
        cdef double eta
        cdef double lr_t = self._lr_at(t, &eta)
        cdef cnp.ndarray g = self._gradient(grad)
        cdef bint coupled = self._h.weight_decay != 0.0 and not self._h.decoupled
        cdef StepJob job
        # No call into Python from here to the end of the pass.
        self._recheck(g)
        self._start_job(&job, g, coupled, self._grad_max)
        cdef StepScalars s
        cdef int flags
        cdef int refused = self._scalars(&s, &flags, t, lr_t, eta, coupled, &job.limit)
        if refused:
            self._refuse_scalars(&job, g, refused, lr_t, t)
        job.s = &s
        job.flags = flags
        if _dadapt_kernel(self._kernel):
            self._run_dadapt(&job, g, &s)
        else:
            self._run(&job, g)
        if job.post != NULL and self._post_ops.norm_on:
            self._post_ops.norm_taken = True
        self._after(&s, job.big != 0, t)
        return self._x

    cdef _run_dadapt(self, StepJob* job, cnp.ndarray g, StepScalars* s):
        """The step of Prodigy and D-Adaptation (_loops_dadapt.pxi): the
        first pass (the check and the sums, read-only) on the pool, the d
        update, then the update on the pool.  A failed check raises (nothing
        was updated), as does a d update that is not finite."""
        cdef Py_ssize_t n = self._n, nb = (n + DADAPT_BLOCK - 1) // DADAPT_BLOCK, b
        cdef double* grown
        cdef double num = 0.0, den = 0.0
        cdef adamopt_chunk_fn update = _update_chunk if job.post == NULL else _post_chunk
        if 2 * nb > self._nsums:
            grown = <double*>realloc(self._sums, max(1, 2 * nb) * sizeof(double))
            if grown == NULL:
                raise MemoryError()
            self._sums, self._nsums = grown, 2 * nb
        job.n = n
        job.check = self._check_finite and n > 0
        job.sums = self._sums
        if n >= NOGIL_MIN_SIZE:
            with nogil:
                adamopt_parallel_for2(_dadapt_reduce_chunk, NULL, job, NULL, n, job.chunk,
                                      job.nthreads, True)
        else:
            _dadapt_reduce_chunk(job, 0, n)
        if job.bad:   # nothing was updated
            self._raise_first_bad(g, job)
        for b in range(nb):
            num = num + self._sums[2 * b]
            den = den + self._sums[2 * b + 1]
        cdef int done = _dadapt_finish(self._kernel, &self._h, num, den, s,
                                       DBL_MAX if job.is64 else <double>FLT_MAX)
        if done == 2:   # (nothing was written: the first pass only reads)
            self._raise_bad_scalars("overflow", self._h.lr, self._t + 1)
        if done == 1:   # skipped, as the references do: nothing changes but t
            s.x_limit, s.s_limit = self._h.x_bound, self._h.s_bound
            s.r_limit, s.z_limit = self._h.v_bound, self._h.z_bound
            job.big = self._beyond
            return
        if n >= NOGIL_MIN_SIZE:
            with nogil:
                adamopt_parallel_for2(update, NULL, job, NULL, n, job.chunk, job.nthreads, True)
        elif n > 0:
            update(job, 0, n)

    @cython.final
    cdef inline int _scalars(self, StepScalars* s, int* flags, long long t, double lr_t,
                             double eta, bint coupled, double* limit) noexcept:
        """The per-step scalars and flags of step ``t`` of this array (its
        schedules already evaluated: ``lr_t``, ``eta``), and the check's
        ``limit`` as the overflow guard lowers it.  Returns 0, or why the
        step is refused (`_refuse_scalars`): R_LR, R_EPS, R_STATE, R_OVERFLOW."""
        cdef bint is64 = self._typenum == cnp.NPY_FLOAT64
        cdef Hyperparameters* h = &self._h
        h.lr = lr_t
        h.eta = eta
        s.sign = -1.0 if self._maximize else 1.0
        s.weight_decay = h.weight_decay
        s.decay = 1.0
        if h.decoupled:
            s.decay = 1.0 - (eta if h.decay_by_schedule else lr_t) * h.weight_decay
        s.scalars = h.scalars
        s.clamp = h.max_grad_value
        flags[0] = ((F_COUPLED if coupled else 0) | (F_AMSGRAD if self._amsgrad else 0)
                    | (F_NESTEROV if self._nesterov else 0)
                    | (F_CENTERED if self._centered else 0))
        _prepare_step(self._kernel, h, t, s, flags)
        # The scalars as the loop will see them, in the parameters' dtype.
        if not (_usable(s.lr, is64) and _usable(s.lr2, is64) and _usable(s.step, is64)
                and _usable(s.decay, is64)):
            return R_LR
        if not (s.eps_hat > 0 and (is64 or <float>s.eps_hat > 0)):
            return R_EPS
        # The overflow guard (with the check only: without it nothing is
        # promised): the step is refused, or the check refuses any gradient
        # above the bound.
        cdef double bound = _guard(self._kernel, h, s, DBL_MAX if is64 else <double>FLT_MAX,
                                   limit[0], flags[0])
        if self._check_finite:
            if self._beyond:
                return R_STATE
            if bound < 0:
                return R_OVERFLOW
            if bound < limit[0]:
                limit[0] = bound
                self._step_limit = bound
            else:
                self._step_limit = 0.0
        return 0

    @cython.final
    cdef inline void _after(self, const StepScalars* s, bint big, long long t) noexcept:
        """Keep what a pass with the scalars ``s`` leaves for the next step:
        the overflow guard's premise, the scalar state, the step count."""
        self._beyond = big
        cdef Hyperparameters* h = &self._h
        h.x_bound = s.x_limit
        h.s_bound = s.s_limit
        h.r_bound = s.r_limit
        h.b_limit = s.s_limit
        cdef int k
        for k in range(MAX_SCALARS):
            h.scalars[k] = s.scalars[k]
        if _dadapt_kernel(self._kernel):   # their guard's premise (_dadapt_bound)
            h.v_bound, h.z_bound = s.r_limit, s.z_limit
        self._t = t

    step.__doc__ = _STEP_DOC

    # -- the hyperparameters as attributes (the classes check what they assign)

    @property
    def _eps(self): return self._h.eps
    @_eps.setter
    def _eps(self, double value): self._h.eps = value
    @property
    def _weight_decay(self): return self._h.weight_decay
    @_weight_decay.setter
    def _weight_decay(self, double value): self._h.weight_decay = value
    @property
    def _beta1(self): return self._h.beta1
    @_beta1.setter
    def _beta1(self, double value): self._h.beta1 = value
    @property
    def _beta2(self): return self._h.beta2
    @_beta2.setter
    def _beta2(self, double value): self._h.beta2 = value
    @property
    def _momentum(self): return self._h.momentum
    @_momentum.setter
    def _momentum(self, double value): self._h.momentum = value
    @property
    def _dampening(self): return self._h.dampening
    @_dampening.setter
    def _dampening(self, double value): self._h.dampening = value
    @property
    def _alpha(self): return self._h.alpha
    @_alpha.setter
    def _alpha(self, double value): self._h.alpha = value
    @property
    def _lr_decay(self): return self._h.lr_decay
    @_lr_decay.setter
    def _lr_decay(self, double value): self._h.lr_decay = value
    @property
    def _momentum_decay(self): return self._h.momentum_decay
    @_momentum_decay.setter
    def _momentum_decay(self, double value): self._h.momentum_decay = value

    def _get_scalar(self, int index):
        """The scalar state ``index`` (its declaration's ``scalars``, in order)."""
        if not 0 <= index < MAX_SCALARS:
            raise IndexError(f"scalar state index {index} not in [0, {MAX_SCALARS})")
        return self._h.scalars[index]

    def _set_scalar(self, int index, double value):
        """Set the scalar state ``index`` (the classes check the value)."""
        if not 0 <= index < MAX_SCALARS:
            raise IndexError(f"scalar state index {index} not in [0, {MAX_SCALARS})")
        self._h.scalars[index] = value

    @property
    def _warmup_steps(self): return <long long>self._h.warmup_steps
    @_warmup_steps.setter
    def _warmup_steps(self, double value): self._h.warmup_steps = value
    @property
    def _r(self): return self._h.r
    @_r.setter
    def _r(self, double value): self._h.r = value
    @property
    def _weight_lr_power(self): return self._h.weight_lr_power
    @_weight_lr_power.setter
    def _weight_lr_power(self, double value): self._h.weight_lr_power = value
    @property
    def _decoupled_weight_decay(self): return self._h.decoupled
    @_decoupled_weight_decay.setter
    def _decoupled_weight_decay(self, bint value): self._h.decoupled = value
    @property
    def _x_bound(self): return self._h.x_bound
    @_x_bound.setter
    def _x_bound(self, double value): self._h.x_bound = value
    @property
    def _s_bound(self): return self._h.s_bound
    @_s_bound.setter
    def _s_bound(self, double value): self._h.s_bound = value
    @property
    def _r_bound(self): return self._h.r_bound
    @_r_bound.setter
    def _r_bound(self, double value): self._h.r_bound = value
    @property
    def _s_limit(self): return self._h.b_limit
    @_s_limit.setter
    def _s_limit(self, double value): self._h.b_limit = value
    @property
    def _max_grad_norm(self): return self._h.max_grad_norm
    @_max_grad_norm.setter
    def _max_grad_norm(self, double value): self._h.max_grad_norm = value
    @property
    def _max_grad_value(self): return self._h.max_grad_value
    @_max_grad_value.setter
    def _max_grad_value(self, double value): self._h.max_grad_value = value
    @property
    def _decay_by_schedule(self): return self._h.decay_by_schedule
    @_decay_by_schedule.setter
    def _decay_by_schedule(self, bint value): self._h.decay_by_schedule = value
    # Prodigy and D-Adaptation (_loops_dadapt.pxi): their guard's premise, their options.
    @property
    def _v_bound(self): return self._h.v_bound
    @_v_bound.setter
    def _v_bound(self, double value): self._h.v_bound = value
    @property
    def _z_bound(self): return self._h.z_bound
    @_z_bound.setter
    def _z_bound(self, double value): self._h.z_bound = value
    @property
    def _d0(self): return self._h.d0
    @_d0.setter
    def _d0(self, double value): self._h.d0 = value
    @property
    def _d_coef(self): return self._h.d_coef
    @_d_coef.setter
    def _d_coef(self, double value): self._h.d_coef = value
    @property
    def _growth_rate(self): return self._h.growth_rate
    @_growth_rate.setter
    def _growth_rate(self, double value): self._h.growth_rate = value
    @property
    def _beta3(self): return self._h.beta3
    @_beta3.setter
    def _beta3(self, double value): self._h.beta3 = value
    @property
    def _use_bias_correction(self): return self._h.bias_correction
    @_use_bias_correction.setter
    def _use_bias_correction(self, bint value): self._h.bias_correction = value
    @property
    def _safeguard_warmup(self): return self._h.safeguard_warmup
    @_safeguard_warmup.setter
    def _safeguard_warmup(self, bint value): self._h.safeguard_warmup = value
    @property
    def _decouple(self): return self._h.decoupled
    @_decouple.setter
    def _decouple(self, bint value): self._h.decoupled = value

    # -- the post-pass stages (_post.pxi, _post_core.pxi)

    cdef tuple _post_arrays   # (lower, upper, before, average, out), None where off
    cdef PostOps _post_ops
    cdef bint _post_on
    cdef Py_ssize_t _post_nnorms   # blocks the step norm's buffer holds

    def _post(self, lower=None, upper=None, before=None, average=None, out=None, c=1.0,
              step_norm=False):
        if self._segments is not None and (step_norm or any(
                a is not None for a in (lower, upper, before, average, out))):
            _refuse_post_on_segments(self)
        _post_set(self, lower, upper, before, average, out, c, step_norm)

    def _post_step_norm(self):
        """The 2-norm of the last step's change of the parameters, taken in
        its pass (``_post(step_norm=True)``): NaN when off or before a step."""
        return _post_norm_of(self)

    _post.__doc__ = _POST_DOC

    @property
    def _post_c(self):
        """The average's weight of the next steps (see `_post`)."""
        return self._post_ops.c

    @_post_c.setter
    def _post_c(self, value):
        self._post_ops.c = _post_weight(self, value)

    @property
    def _post_out(self):
        """The copy-out's array (see `_post`); assigning replaces it alone, cheaply."""
        return None if self._post_arrays is None else self._post_arrays[4]

    @_post_out.setter
    def _post_out(self, out):
        _post_set_out(self, out)

    def _post_swap(self):
        """Exchange the arrays of stages ``before`` and ``out`` (see `_post`),
        in O(1): the run driver's buffers trade roles at each iteration."""
        _post_swap_targets(self)

    @property
    def _state(self):
        """The state arrays in the declaration's order (None where absent)."""
        return (self._s0, self._s1, self._s2, self._s3)

    @property
    def params(self):
        """The parameter array, updated in place by `step`."""
        return self._x


include "_post_core.pxi"


include "_segments.pxi"
