# The post-pass stage of the step (included by ``_kernels.pyx``, after
# `_update_chunk`): elementwise work on each block of the parameters done in
# the step's own pass over memory, right after (or, for the copy ``before``,
# right before) the algorithm's loop has updated the block.
#
# The step's chunks are cut into sub-blocks of POST_BLOCK elements (16 KiB of
# float64 per array), each run through
#
#   (0) before:   b[i] = x[i]                     the iterate before the update
#                                                 (a block already equal, bit for
#                                                 bit, is only read: see below)
#   ... the algorithm's loop on the sub-block (``_update_chunk``)
#   (a) bounds:   x[i] = min(max(x[i], lo[i]), hi[i])   numpy.clip's bits (a NaN
#                                                 stays NaN; signed zeros: see
#                                                 `_clip_block`)
#   (b) average:  a[i] = a[i] + c * (x[i] - a[i])   (c == 1: a[i] = x[i] exactly)
#   (c) out:      o[i] = x[i]                     the array handed to the objective
#
# while the sub-block is still in L1/L2, so the extra work costs the extra
# streams' traffic, not another pass over x.  Every stage is optional (a NULL
# pointer: off); with none on, `PostOps` is not even looked at (`_run` calls
# `_update_chunk` directly), so a step without post-ops is unchanged, bit for
# bit and in time.  Every stage is elementwise: any split between threads, any
# sub-block size gives the same bits.  ``c`` is rounded once to the
# parameters' dtype, the arithmetic is in that dtype (no contraction into FMAs:
# ``-ffp-contract=off``), so the average equals NumPy's ``a += c * (x - a)``
# with ``c`` a scalar of that dtype.
#
# Stage (0) compares each sub-block of ``before`` with x first and copies it
# only if they differ: the run driver hands the step, as ``before``, the copy
# of x it gave the objective at the last evaluation (swapped with ``out`` at
# each iteration, `Core._post_swap`), so an objective that left its argument
# alone costs one read stream here, not a second write stream; one that
# changed it (or any other content) is overwritten, and after the pass
# ``before`` equals the iterate exactly whatever it held.
#
# `Core._post` (below) sets the stages for the next steps; `Core._recheck`
# re-checks their arrays before each pass (`_post_recheck`), as it does the
# state's: a callable may resize an array in place between two steps.

from libc.string cimport memcmp, memcpy


#: Elements per sub-block of the post-pass.
POST_BLOCK = 2048
cdef Py_ssize_t _POST_BLOCK = POST_BLOCK


_POST_DOC = """Set the post-pass stages of the next steps (private: the run driver's
    and iterate averaging's hook; see ``_post.pxi``).  With no argument: off.

    Parameters
    ----------
    lower, upper : numpy.ndarray or float, optional
        Bounds projected onto in the pass, as ``numpy.clip(x, lower, upper,
        out=x)``: arrays of the parameters' dtype, size and memory order, or
        one number (a Python real, or an array of one element, of the
        parameters' dtype), no NaN, ``lower <= upper``.  May be read-only.
    before : numpy.ndarray, optional
        Receives the parameters before the update (the iterate the gradient
        was evaluated at).
    average : numpy.ndarray, optional
        Interpolated towards the updated parameters,
        :math:`a \\leftarrow a + c (x - a)` (:math:`a = x` when :math:`c = 1`).
    out : numpy.ndarray, optional
        Receives a copy of the updated (and projected) parameters.
    c : float
        The average's weight, in [0, 1]; rounded once to the parameters'
        dtype.  `_post_c` changes it alone, cheaply, between steps.
    step_norm : bool
        Take the 2-norm of each step's change of the parameters (against
        ``before``, which it needs) in the pass: `_post_step_norm` reads it.

    The arrays of ``before``, ``average`` and ``out`` are writable arrays of
    the parameters' dtype, size and memory order, overlapping neither each
    other nor the parameters, the state or the bounds.  They are held (not
    copied) and re-checked before every step.  Raises `ValueError` or
    `TypeError` naming the argument; nothing changes then.  A refused step
    runs none of the stages.
        """


cdef struct PostOps:
    const char* lower     # NULL: no lower bound
    const char* upper     # NULL: no upper bound
    bint lower_scalar     # one bound for every element (lower[0])
    bint upper_scalar
    char* before          # NULL: off
    char* average         # NULL: off
    double c              # the average's weight
    char* out             # NULL: off
    # (d) the step norm: sum (x[i] - before[i])^2 of each POST_BLOCK block of
    # the final x, in float64, into norms[block] (a chunk is whole blocks then,
    # so each block is summed by one thread in one order whatever the split)
    bint norm_on
    bint norm_taken       # a pass has filled norms since the stage was set
    double* norms         # the Core's buffer, one sum per block


ctypedef fused _real:
    float
    double


cdef inline void _clip_block(_real* x, const _real* lo, const _real* hi, bint lo_scalar,
                             bint hi_scalar, Py_ssize_t n) noexcept nogil:
    """numpy.clip(x, lo, hi, out=x) on n elements (either bound may be absent),
    to the bit: a NaN stays NaN; on a tie between x and a bound (zeros of
    opposite signs) NumPy's loop for array bounds returns the bound, its loop
    for a scalar bound returns x, and so does this."""
    cdef Py_ssize_t i
    cdef _real v, b
    if lo != NULL:
        if lo_scalar:
            b = lo[0]
            for i in range(n):
                v = x[i]
                x[i] = b if v < b else v
        else:
            for i in range(n):
                v = x[i]
                x[i] = v if ((v > lo[i]) | (v != v)) else lo[i]
    if hi != NULL:
        if hi_scalar:
            b = hi[0]
            for i in range(n):
                v = x[i]
                x[i] = b if v > b else v
        else:
            for i in range(n):
                v = x[i]
                x[i] = v if ((v < hi[i]) | (v != v)) else hi[i]


cdef inline void _average_block(_real* a, const _real* x, _real c, Py_ssize_t n) noexcept nogil:
    """a += c * (x - a) on n elements; a = x when c == 1."""
    cdef Py_ssize_t i
    if c == 1:
        memcpy(a, x, n * sizeof(_real))
        return
    for i in range(n):
        a[i] = a[i] + c * (x[i] - a[i])


cdef inline void _post_block(const PostOps* p, _real* x, Py_ssize_t off, Py_ssize_t n,
                             _real c) noexcept nogil:
    """Stages (a), (b), (c) on the n elements of x from element ``off``."""
    cdef Py_ssize_t nb = off * sizeof(_real)
    cdef const _real* lo = NULL
    cdef const _real* hi = NULL
    if p.lower != NULL:
        lo = <const _real*>p.lower
        if not p.lower_scalar:
            lo = lo + off
    if p.upper != NULL:
        hi = <const _real*>p.upper
        if not p.upper_scalar:
            hi = hi + off
    if lo != NULL or hi != NULL:
        _clip_block(x + off, lo, hi, p.lower_scalar, p.upper_scalar, n)
    if p.average != NULL:
        _average_block(<_real*>(p.average + nb), x + off, c, n)
    if p.out != NULL:
        memcpy(p.out + nb, x + off, n * sizeof(_real))


cdef inline void _copy_if_changed(char* target, const char* source,
                                  size_t nbytes) noexcept nogil:
    """target = source, bit for bit; a target already equal is only read."""
    if memcmp(target, source, nbytes) != 0:
        memcpy(target, source, nbytes)


cdef void _post_chunk(void* ctx, Py_ssize_t begin, Py_ssize_t end) noexcept nogil:
    """Update the elements [begin, end) with the post-pass stages, sub-block
    by sub-block (the pool's function for a step whose `PostOps` is set)."""
    cdef StepJob* j = <StepJob*>ctx
    cdef const PostOps* p = j.post
    cdef Py_ssize_t b = begin, e
    cdef double c = p.c
    while b < end:
        e = min(b + _POST_BLOCK, end)
        if p.before != NULL:
            _copy_if_changed(p.before + b * j.itemsize, j.x + b * j.itemsize,
                             (e - b) * j.itemsize)
        _update_chunk(ctx, b, e)
        if j.is64:
            _post_block(p, <double*>j.x, b, e - b, c)
            if p.norm_on:
                p.norms[b // _POST_BLOCK] = _diff_squares4(<const double*>j.x + b,
                                                           <const double*>p.before + b, e - b)
        else:
            _post_block(p, <float*>j.x, b, e - b, <float>c)
            if p.norm_on:
                p.norms[b // _POST_BLOCK] = _diff_squares4(<const float*>j.x + b,
                                                           <const float*>p.before + b, e - b)
        b = e


cdef inline double _diff_squares4(const _real* a, const _real* b,
                                  Py_ssize_t n) noexcept nogil:
    """sum (a[i] - b[i])^2: the differences in the arrays' dtype, squared and
    added in float64 in 16 chains (element i into chain i % 16: vector
    registers' lanes, so the sum runs at the loads' speed, not the adds'
    latency), the rest into chain 0, then the chains added pairwise."""
    cdef Py_ssize_t i = 0
    cdef int k, w
    cdef double c[16]
    cdef double d
    for k in range(16):
        c[k] = 0.0
    while i + 16 <= n:
        for k in range(16):
            d = <double>(a[i + k] - b[i + k])
            c[k] = c[k] + d * d
        i = i + 16
    while i < n:
        d = <double>(a[i] - b[i])
        c[0] = c[0] + d * d
        i = i + 1
    w = 8
    while w >= 1:
        for k in range(w):
            c[k] = c[k] + c[k + w]
        w = w // 2
    return c[0]


def _shape_of(a):
    """A short description of ``a`` for an error message."""
    shape, dtype = getattr(a, "shape", None), getattr(a, "dtype", None)
    if shape is None or dtype is None:
        return f"an object of type {type(a).__name__}"
    return f"an array of shape {shape} and dtype {dtype}"


cdef inline double _projected_block(const _real* x, const _real* m, _real scale,
                                    const _real* lo, const _real* hi, Py_ssize_t n,
                                    bint inf_norm, double stop) noexcept nogil:
    """max |d_i| or sum d_i^2 of d = x - clip(x - scale m, lo, hi), each
    element in the arrays' dtype (the sum in float64); NaN propagates.  Once
    the running maximum or sum exceeds ``stop`` the scan ends and returns it
    (a lower bound of the whole, already above ``stop``)."""
    cdef Py_ssize_t i
    cdef _real y, d
    cdef double a, r = 0.0
    for i in range(n):
        if r > stop and (i & 1023) == 0:
            return r
        y = x[i] - scale * m[i]
        y = y if ((y > lo[i]) | (y != y)) else lo[i]
        y = y if ((y < hi[i]) | (y != y)) else hi[i]
        d = x[i] - y
        a = d if d >= 0 else -d
        if a != a:
            return a
        if inf_norm:
            if a > r:
                r = a
        else:
            r = r + a * a
    return r


def _projected_norm(cnp.ndarray x, cnp.ndarray m, double scale, cnp.ndarray lower,
                    cnp.ndarray upper, bint inf_norm, double above=INFINITY):
    """The norm (infinity or 2) of the projected gradient
    ``x - numpy.clip(x - scale * m, lower, upper)`` in one pass, without
    temporaries (the ``gtol`` test with bounds, `adamopt._stopping`): each
    element as NumPy computes it, in the arrays' dtype (``scale`` rounded to
    it first); the 2-norm's sum of squares in float64, which may differ from
    NumPy's own summation in the last bits.  All five must be contiguous
    arrays of one dtype and size (checked: `ValueError`).

    With ``above`` finite, the scan may stop as soon as the norm is known to
    exceed it, and then returns a number above ``above`` (not the norm): a
    run far from its ``gtol`` reads a few blocks, not the arrays."""
    cdef Py_ssize_t n = cnp.PyArray_SIZE(x)
    cdef int t = cnp.PyArray_TYPE(x)
    for a in (m, lower, upper):
        if (cnp.PyArray_TYPE(<cnp.ndarray>a) != t or cnp.PyArray_SIZE(<cnp.ndarray>a) != n
                or not cnp.PyArray_ISCARRAY_RO(<cnp.ndarray>a)):
            raise ValueError("_projected_norm: arrays of one dtype and size, contiguous")
    if (t not in (cnp.NPY_FLOAT32, cnp.NPY_FLOAT64)) or not cnp.PyArray_ISCARRAY_RO(x):
        raise ValueError("_projected_norm: arrays of one dtype and size, contiguous")
    cdef double r
    cdef const void* px = cnp.PyArray_DATA(x)
    cdef const void* pm = cnp.PyArray_DATA(m)
    cdef const void* pl = cnp.PyArray_DATA(lower)
    cdef const void* pu = cnp.PyArray_DATA(upper)
    # (the 2-norm stops on a sum whose square root is surely above ``above``)
    cdef double stop = above if inf_norm else above * above * (1.0 + 1e-12)
    if not above >= 0.0 or stop != stop:
        stop = INFINITY
    with nogil:
        if t == cnp.NPY_FLOAT64:
            r = _projected_block(<const double*>px, <const double*>pm, scale,
                                 <const double*>pl, <const double*>pu, n, inf_norm, stop)
        else:
            r = _projected_block(<const float*>px, <const float*>pm, <float>scale,
                                 <const float*>pl, <const float*>pu, n, inf_norm, stop)
    return r if inf_norm or r != r else sqrt(r)


cdef inline double _outside(double flag, double a, double limit) noexcept nogil:
    # "not (|a| <= limit)", true for NaN too
    return flag if ((a <= limit) & (-a <= limit)) else 1.0


cdef inline int _above_block(const _real* m, Py_ssize_t n, double limit,
                             bint inf_norm) noexcept nogil:
    """1 when the norm of m is surely above ``limit`` (the infinity norm:
    an element with |m_i| > limit or NaN; the 2-norm: a running float64 sum
    of squares above limit^2 by a margin), -1 when surely at most ``limit``,
    0 undecided (a 2-norm within the margin: the caller computes it exactly).
    Reads block by block and returns as soon as it knows."""
    cdef Py_ssize_t b = 0, e, i
    cdef double r = 0.0, bound = limit * limit
    cdef double high = bound * (1.0 + 1e-6), low = bound * (1.0 - 1e-6)
    cdef double f0, f1, f2, f3   # flags or partial sums: four chains (vectorised)
    while b < n:
        e = min(b + 1024, n)
        f0 = f1 = f2 = f3 = 0.0
        if inf_norm:
            i = b
            while i + 4 <= e:
                f0 = _outside(f0, m[i], limit)
                f1 = _outside(f1, m[i + 1], limit)
                f2 = _outside(f2, m[i + 2], limit)
                f3 = _outside(f3, m[i + 3], limit)
                i = i + 4
            while i < e:
                f0 = _outside(f0, m[i], limit)
                i = i + 1
            if f0 + f1 + f2 + f3 != 0.0:
                return 1
        else:
            i = b
            while i + 4 <= e:
                f0 = f0 + <double>m[i] * m[i]
                f1 = f1 + <double>m[i + 1] * m[i + 1]
                f2 = f2 + <double>m[i + 2] * m[i + 2]
                f3 = f3 + <double>m[i + 3] * m[i + 3]
                i = i + 4
            while i < e:
                f0 = f0 + <double>m[i] * m[i]
                i = i + 1
            r = r + ((f0 + f1) + (f2 + f3))
            if not (r <= high):
                return 1
        b = e
    if inf_norm or r <= low:
        return -1
    return 0


def _gradient_above(cnp.ndarray m, double limit, bint inf_norm):
    """Whether the infinity or 2-norm of the contiguous float array ``m``
    exceeds ``limit`` (finite, >= 0): True, False, or None when the 2-norm
    is too close to ``limit`` to tell from a float64 sum in this order (or
    ``m`` is not such an array: then the caller decides).  The scan stops at
    the first block that settles it, so the ``gtol`` test of a run far from
    converging reads a few blocks of the gradient, not all of it."""
    cdef int t = cnp.PyArray_TYPE(m)
    if (t not in (cnp.NPY_FLOAT32, cnp.NPY_FLOAT64) or not cnp.PyArray_ISCARRAY_RO(m)
            or not (0.0 <= limit < INFINITY) or not (limit * limit < INFINITY)):
        return None
    cdef Py_ssize_t n = cnp.PyArray_SIZE(m)
    cdef const void* pm = cnp.PyArray_DATA(m)
    cdef int r
    with nogil:
        if t == cnp.NPY_FLOAT64:
            r = _above_block(<const double*>pm, n, limit, inf_norm)
        else:
            r = _above_block(<const float*>pm, n, limit, inf_norm)
    return None if r == 0 else r > 0


cdef inline double _diff_squares(const _real* a, const _real* b, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    cdef _real d
    cdef double r = 0.0
    for i in range(n):
        d = a[i] - b[i]
        r = r + <double>d * d
    return r


cdef inline double _dot16(const double* a, const double* b, Py_ssize_t n) noexcept nogil:
    """sum a[i] b[i] in the 16 chains of `_diff_squares4`."""
    cdef Py_ssize_t i = 0
    cdef int k, w
    cdef double c[16]
    for k in range(16):
        c[k] = 0.0
    while i + 16 <= n:
        for k in range(16):
            c[k] = c[k] + a[i + k] * b[i + k]
        i = i + 16
    while i < n:
        c[0] = c[0] + a[i] * b[i]
        i = i + 1
    w = 8
    while w >= 1:
        for k in range(w):
            c[k] = c[k] + c[k + w]
        w = w // 2
    return c[0]


def _dot(cnp.ndarray a, cnp.ndarray b):
    """The dot product of two contiguous float64 arrays of one size, in a
    fixed order (16 chains, added pairwise), so that it has the same bits on
    every machine, unlike BLAS's, whose order depends on the CPU it picks
    kernels for (SWATS's switch test, `adamopt._swats`).  Checked: `ValueError`."""
    cdef Py_ssize_t n = cnp.PyArray_SIZE(a)
    if (cnp.PyArray_TYPE(a) != cnp.NPY_FLOAT64 or cnp.PyArray_TYPE(b) != cnp.NPY_FLOAT64
            or cnp.PyArray_SIZE(b) != n or not cnp.PyArray_ISCARRAY_RO(a)
            or not cnp.PyArray_ISCARRAY_RO(b)):
        raise ValueError("_dot: contiguous float64 arrays of one size")
    cdef const double* pa = <const double*>cnp.PyArray_DATA(a)
    cdef const double* pb = <const double*>cnp.PyArray_DATA(b)
    cdef double r
    with nogil:
        r = _dot16(pa, pb, n)
    return r


def _diff_norm(cnp.ndarray a, cnp.ndarray b):
    """The 2-norm of ``a - b`` in one pass, without the temporary (the
    history's step norm, `adamopt._monitor`): the differences in the arrays'
    dtype, their squares summed in float64.  Both contiguous, of one float
    dtype and size (checked: `ValueError`)."""
    cdef Py_ssize_t n = cnp.PyArray_SIZE(a)
    cdef int t = cnp.PyArray_TYPE(a)
    if (t not in (cnp.NPY_FLOAT32, cnp.NPY_FLOAT64) or cnp.PyArray_TYPE(b) != t
            or cnp.PyArray_SIZE(b) != n or not cnp.PyArray_ISCARRAY_RO(a)
            or not cnp.PyArray_ISCARRAY_RO(b)):
        raise ValueError("_diff_norm: arrays of one dtype and size, contiguous")
    cdef double r
    cdef const void* pa = cnp.PyArray_DATA(a)
    cdef const void* pb = cnp.PyArray_DATA(b)
    with nogil:
        if t == cnp.NPY_FLOAT64:
            r = _diff_squares(<const double*>pa, <const double*>pb, n)
        else:
            r = _diff_squares(<const float*>pa, <const float*>pb, n)
    return sqrt(r)
