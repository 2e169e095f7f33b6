# The gradient check of every step (and the memory-bandwidth probe of the
# benchmarks), compiled with the loops: included by ``_loops.pxi``, whose
# ``_abs`` it uses.  The check reads the gradient once, before the update;
# see ``_kernels.pyx`` for the job that runs it.

cdef extern from *:
    """
    /* The check of an uncoupled gradient on the bits of its elements: with
     * the sign bit cleared, a float's bits compare as integers like its
     * magnitude, and NaN and infinity compare above every finite number.
     * An OR of integer comparisons vectorises (an OR over floating-point
     * comparisons or a floating-point max does not, without fast-math), and
     * costs three single-uop instructions per vector where the floating-point
     * flag costs five.  Only with AVX2 (64-bit integer vector compare; SSE2
     * has none) and GCC or Clang (may_alias). */
    #if defined(__AVX2__) && (defined(__GNUC__) || defined(__clang__))
    #include <stdint.h>
    #include <string.h>
    #define ADAMOPT_BITS_CHECK 1
    typedef int64_t __attribute__((may_alias)) adamopt_i64a;
    typedef int32_t __attribute__((may_alias)) adamopt_i32a;
    #define ADAMOPT_BITS_SCAN(T, MASK)                                        \
        Py_ssize_t h = n / 8, i, j;                                       \
        T f0 = 0, f1 = 0, f2 = 0, f3 = 0, f4 = 0, f5 = 0, f6 = 0, f7 = 0;  \
        for (i = 0; i < h; i++) {                                         \
            f0 |= (b[i] & MASK) > lim;                                    \
            f1 |= (b[i + h] & MASK) > lim;                                \
            f2 |= (b[i + 2 * h] & MASK) > lim;                            \
            f3 |= (b[i + 3 * h] & MASK) > lim;                            \
            f4 |= (b[i + 4 * h] & MASK) > lim;                            \
            f5 |= (b[i + 5 * h] & MASK) > lim;                            \
            f6 |= (b[i + 6 * h] & MASK) > lim;                            \
            f7 |= (b[i + 7 * h] & MASK) > lim;                            \
        }                                                                 \
        for (j = 8 * h; j < n; j++)                                       \
            f0 |= (b[j] & MASK) > lim;                                    \
        return (f0 | f1 | f2 | f3 | f4 | f5 | f6 | f7) != 0;
    static int adamopt_bits_bad64(const double *g, Py_ssize_t n, double limit) {
        const adamopt_i64a *b = (const adamopt_i64a *)g;
        int64_t lim;
        memcpy(&lim, &limit, sizeof lim);
        ADAMOPT_BITS_SCAN(int64_t, INT64_MAX)
    }
    static int adamopt_bits_bad32(const float *g, Py_ssize_t n, float limit) {
        const adamopt_i32a *b = (const adamopt_i32a *)g;
        int32_t lim;
        memcpy(&lim, &limit, sizeof lim);
        ADAMOPT_BITS_SCAN(int32_t, INT32_MAX)
    }
    #else
    #define ADAMOPT_BITS_CHECK 0
    static int adamopt_bits_bad64(const double *g, Py_ssize_t n, double limit) {
        (void)g; (void)n; (void)limit; return 1;
    }
    static int adamopt_bits_bad32(const float *g, Py_ssize_t n, float limit) {
        (void)g; (void)n; (void)limit; return 1;
    }
    #endif
    """
    bint ADAMOPT_BITS_CHECK
    bint adamopt_bits_bad64(const double* g, Py_ssize_t n, double limit) noexcept nogil
    bint adamopt_bits_bad32(const float* g, Py_ssize_t n, float limit) noexcept nogil


cdef inline floating _effective(
    const floating* g, const floating* x, Py_ssize_t j,
    floating sign, floating wd, bint coupled,
) noexcept nogil:
    """The gradient as `_adam_loop` uses it, before the maximize sign for
    the uncoupled case (the sign does not change its magnitude)."""
    if coupled:
        return sign * g[j] + wd * x[j]
    return g[j]


cdef inline floating _flag(floating bad, floating g, floating limit) noexcept nogil:
    # "not (|g| <= limit)" is also true for NaN.
    return bad if _abs(g) <= limit else 1


cdef inline bint _any_bad(
    const floating* g, const floating* x, Py_ssize_t n,
    floating sg, floating wd, floating limit, bint coupled,
) noexcept nogil:
    """Whether any effective gradient fails the check.

    The scan reads the array as eight interleaved segments: one sequential
    stream reaches only a third of the memory bandwidth of this machine,
    several streams reach most of it (measured in C: 1.14 ns per float64
    element with one stream, 0.42 ns with eight), and eight independent flags
    leave the vectorised loop no long dependency chain.  The flags are
    floating-point numbers: an integer reduction over float64 comparisons
    does not vectorise on baseline x86-64 (SSE2)."""
    cdef floating b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0, b7 = 0
    cdef Py_ssize_t h = n // 8, i, j
    for i in range(h):
        b0 = _flag(b0, _effective(g, x, i, sg, wd, coupled), limit)
        b1 = _flag(b1, _effective(g, x, i + h, sg, wd, coupled), limit)
        b2 = _flag(b2, _effective(g, x, i + 2 * h, sg, wd, coupled), limit)
        b3 = _flag(b3, _effective(g, x, i + 3 * h, sg, wd, coupled), limit)
        b4 = _flag(b4, _effective(g, x, i + 4 * h, sg, wd, coupled), limit)
        b5 = _flag(b5, _effective(g, x, i + 5 * h, sg, wd, coupled), limit)
        b6 = _flag(b6, _effective(g, x, i + 6 * h, sg, wd, coupled), limit)
        b7 = _flag(b7, _effective(g, x, i + 7 * h, sg, wd, coupled), limit)
    for j in range(8 * h, n):
        b0 = _flag(b0, _effective(g, x, j, sg, wd, coupled), limit)
    return b0 + b1 + b2 + b3 + b4 + b5 + b6 + b7 != 0

cdef bint _any_bad64(
    const double* g, const double* x, Py_ssize_t n,
    double sign, double weight_decay, double limit, bint coupled,
) noexcept nogil:
    if coupled:   # constant flags at each call: one specialised scan each
        return _any_bad(g, x, n, sign, weight_decay, limit, True)
    if ADAMOPT_BITS_CHECK:
        return adamopt_bits_bad64(g, n, limit)
    return _any_bad(g, x, n, sign, weight_decay, limit, False)


cdef bint _any_bad32(
    const float* g, const float* x, Py_ssize_t n,
    double sign, double weight_decay, double limit, bint coupled,
) noexcept nogil:
    cdef float sg = <float>sign, wd = <float>weight_decay, lim = <float>limit
    if coupled:
        return _any_bad(g, x, n, sg, wd, lim, True)
    if ADAMOPT_BITS_CHECK:
        return adamopt_bits_bad32(g, n, lim)
    return _any_bad(g, x, n, sg, wd, lim, False)


cdef Py_ssize_t _first_bad(
    const floating* grad, const floating* x, Py_ssize_t n,
    double sign, double weight_decay, double limit, bint coupled,
) noexcept nogil:
    """Index of the first element whose effective gradient is NaN, infinite
    or larger in magnitude than ``limit``; -1 when there is none.  Only
    called once the check has found one (it is not vectorised)."""
    cdef floating sg = <floating>sign, wd = <floating>weight_decay, lim = <floating>limit
    cdef Py_ssize_t j
    for j in range(n):
        if not (_abs(_effective(grad, x, j, sg, wd, coupled)) <= lim):
            return j
    return -1


cdef Py_ssize_t _first_bad_any(bint is64, const void* g, const void* x, Py_ssize_t n,
                               double sign, double weight_decay, double limit,
                               bint coupled) noexcept nogil:
    if is64:
        return _first_bad(<const double*>g, <const double*>x, n, sign, weight_decay, limit,
                          coupled)
    return _first_bad(<const float*>g, <const float*>x, n, sign, weight_decay, limit, coupled)


cdef inline void _stream(floating* x, const floating* g, floating* m, floating* v,
                         Py_ssize_t n) noexcept nogil:
    """The memory traffic of a step without its arithmetic: read x, g, m, v
    and write x, m, v (7 arrays), with one add or subtract per array."""
    cdef Py_ssize_t i
    cdef floating gi, mi
    for i in range(n):
        gi = g[i]
        mi = gi - m[i]
        m[i] = mi
        v[i] = gi - v[i]
        x[i] = mi - x[i]


cdef void _stream64(double* x, const double* g, double* m, double* v,
                    Py_ssize_t n) noexcept nogil:
    _stream(x, g, m, v, n)


cdef void _stream32(float* x, const float* g, float* m, float* v,
                    Py_ssize_t n) noexcept nogil:
    _stream(x, g, m, v, n)


cdef inline double _clamped(double a, double clamp) noexcept nogil:
    """``a`` clamped to [-clamp, clamp] as `_grad_at` clamps it (NaN stays)."""
    a = -clamp if a < -clamp else a
    return clamp if a > clamp else a


cdef enum:
    SUMSQ_LANES = 32


cdef inline double _sumsq_lanes(const floating* g, Py_ssize_t n, double clamp,
                                bint clamped) noexcept nogil:
    """`_sumsq`: lane k of SUMSQ_LANES partial sums adds the squares of the
    elements k, k + LANES, k + 2 LANES, ...; the lanes are one SIMD
    accumulator per few lanes (independent additions: the loop vectorises
    without reassociating anything, so every instruction set and vector
    width gives the same bits), then the rest, then the lanes in order."""
    cdef double acc[SUMSQ_LANES]
    cdef double a, total = 0.0
    cdef Py_ssize_t i, k, whole = n // SUMSQ_LANES * SUMSQ_LANES
    for k in range(SUMSQ_LANES):
        acc[k] = 0.0
    i = 0
    while i < whole:
        for k in range(SUMSQ_LANES):
            a = g[i + k]
            if clamped:
                a = _clamped(a, clamp)
            acc[k] = acc[k] + a * a
        i += SUMSQ_LANES
    for i in range(whole, n):
        a = g[i]
        if clamped:
            a = _clamped(a, clamp)
        acc[i - whole] = acc[i - whole] + a * a
    for k in range(SUMSQ_LANES):
        total = total + acc[k]
    return total


cdef inline double _sumsq(const floating* g, Py_ssize_t n, double clamp) noexcept nogil:
    """The sum of the squares of ``clamp(g)`` (``max_grad_value``) over n
    elements, in float64, in an order that depends on n alone
    (`_sumsq_lanes`), so a block of elements gives the same bits on any
    thread.  float32 squares cannot overflow float64; float64 ones beyond
    about 1.3e154 can: the caller then rescales (`_scaled_norm` in
    _segments.pxi)."""
    if clamp < INFINITY:
        return _sumsq_lanes(g, n, clamp, True)
    return _sumsq_lanes(g, n, clamp, False)


cdef double _sumsq64(const double* g, Py_ssize_t n, double clamp) noexcept nogil:
    return _sumsq(g, n, clamp)


cdef double _sumsq32(const float* g, Py_ssize_t n, double clamp) noexcept nogil:
    # (the clamp as the float32 loop rounds it)
    return _sumsq(g, n, <double><float>clamp)
