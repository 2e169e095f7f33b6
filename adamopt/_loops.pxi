# The update loops of Adam, AdamW and their family (SGD, Adagrad, RMSprop,
# Adamax, NAdam) and the gradient check, compiled once per
# instruction set: ``_loops_baseline.pyx`` and ``_loops_avx2.pyx`` include this
# file and are built with different flags (see setup.py).  The arithmetic is
# described in ``_kernels.pyx``; every variant is built with
# ``-ffp-contract=off``, so each operation is rounded as written and every
# variant gives bitwise-identical results (elementwise IEEE add, multiply,
# divide and square root are correctly rounded at any vector width).

from cpython.pycapsule cimport PyCapsule_New
from cython cimport floating
from libc.float cimport DBL_MAX, FLT_MAX
from libc.math cimport fabs, fabsf, sqrt, sqrtf

from adamopt._kernel_api cimport (
    ALGO_ADAGRAD, ALGO_ADAMAX, ALGO_NADAM, ALGO_RMSPROP, ALGO_SGD, F_CENTERED, F_COUPLED,
    F_FIRST, F_MOMENTUM, F_NESTEROV, AdamScalars, FamilyScalars, KernelTable,
)

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


cdef inline floating _sqrt(floating a) noexcept nogil:
    if floating is float:
        return sqrtf(a)
    else:
        return sqrt(a)


cdef inline floating _grad_at(
    const floating* grad, floating xi, Py_ssize_t i, floating sign, floating wd, bint coupled,
) noexcept nogil:
    """The gradient every loop steps with: ``sign * g`` (+ ``wd * x``, coupled
    L2), rounded as the check (`_effective`) rounds it."""
    cdef floating gi = sign * grad[i]
    if coupled:
        gi = gi + wd * xi
    return gi


cdef inline floating _average(floating a, floating b, floating p, floating q,
                              floating c) noexcept nogil:
    """An exponential average ``p * a + c * (b - q * a)``: with (p, q) = (1, 1)
    the interpolation ``a + c * (b - a)``, with (beta, 0) the weighted sum
    ``beta * a + c * b`` (see ``_moment_form`` in _kernels.pyx)."""
    return p * a + c * (b - q * a)


cdef inline floating _abs(floating a) noexcept nogil:
    if floating is float:
        return fabsf(a)
    else:
        return fabs(a)


cdef inline floating _over(floating big, floating a, floating limit) noexcept nogil:
    """The flag of the new values a loop writes: 1 once one exceeds ``limit``
    in magnitude (or is NaN), else ``big`` (a select on a constant: the loop
    still vectorises, as the gradient check's flags do)."""
    return big if _abs(a) <= limit else 1


cdef inline floating _over_x(floating big, floating a, floating limit) noexcept nogil:
    """`_over` for a new x, which only flags a finite value beyond ``limit``:
    an element of the parameters that is already NaN or infinite (accepted,
    not checked) stays so, elementwise, and does not refuse the next step."""
    cdef floating top
    if floating is float:
        top = FLT_MAX
    else:
        top = DBL_MAX
    return 1 if (limit < _abs(a) and _abs(a) <= top) else big


cdef inline bint _adam_loop(
    floating* x, const floating* grad, floating* m, floating* v, floating* vmax,
    Py_ssize_t n, const AdamScalars* s, bint coupled, bint amsgrad, bint first,
) noexcept nogil:
    """The update of every element.  ``coupled``, ``amsgrad`` and ``first``
    are constants at each call site, so the compiler emits one specialised
    loop per case (check the assembly: each one vectorises).  Returns
    whether a new |x| exceeds ``s.x_limit`` or a new |m| ``s.s_limit``."""
    # Scalars in locals of the array's type: stores through x, m, v cannot
    # alias them, so they stay in registers and the loop vectorises.
    cdef floating sign = <floating>s.sign, wd = <floating>s.weight_decay
    cdef floating decay = <floating>s.decay
    cdef floating c1 = <floating>s.one_minus_beta1, c2 = <floating>s.one_minus_beta2
    cdef floating p1 = <floating>s.p1, q1 = <floating>s.q1
    cdef floating p2 = <floating>s.p2, q2 = <floating>s.q2
    cdef floating step = <floating>s.step, eps_hat = <floating>s.eps_hat
    cdef double lr = s.lr, eps = s.eps, decay64 = s.decay, g64
    cdef floating xl = <floating>s.x_limit, ml = <floating>s.s_limit
    cdef floating xi, gi, mi, vi, wi, xn, big = 0
    cdef Py_ssize_t i
    for i in range(n):
        xi = x[i]
        gi = _grad_at(grad, xi, i, sign, wd, coupled)
        mi = _average(m[i], gi, p1, q1, c1)
        vi = _average(v[i], gi * gi, p2, q2, c2)
        m[i] = mi
        v[i] = vi
        if amsgrad:
            wi = vmax[i]
            # max that propagates NaN like numpy.maximum
            wi = vi if (vi > wi or vi != vi) else wi
            vmax[i] = wi
        else:
            wi = vi
        if first:
            g64 = gi
            xn = <floating>(xi * decay64 - lr * g64 / (fabs(g64) + eps))
        else:
            xn = xi * decay - step * mi / (_sqrt(wi) + eps_hat)
        x[i] = xn
        big = _over_x(big, xn, xl)
        big = _over(big, mi, ml)
    return big != 0


cdef bint _adam_update(
    floating* x, const floating* grad, floating* m, floating* v, floating* vmax,
    Py_ssize_t n, const AdamScalars* s, bint coupled, bint amsgrad, bint first,
) noexcept nogil:
    if first:
        if coupled:
            if amsgrad:
                return _adam_loop(x, grad, m, v, vmax, n, s, True, True, True)
            else:
                return _adam_loop(x, grad, m, v, vmax, n, s, True, False, True)
        elif amsgrad:
            return _adam_loop(x, grad, m, v, vmax, n, s, False, True, True)
        else:
            return _adam_loop(x, grad, m, v, vmax, n, s, False, False, True)
    elif coupled:
        if amsgrad:
            return _adam_loop(x, grad, m, v, vmax, n, s, True, True, False)
        else:
            return _adam_loop(x, grad, m, v, vmax, n, s, True, False, False)
    elif amsgrad:
        return _adam_loop(x, grad, m, v, vmax, n, s, False, True, False)
    else:
        return _adam_loop(x, grad, m, v, vmax, n, s, False, False, False)


# ---------------------------------------------------------------------------
# The family: SGD, Adagrad, RMSprop, Adamax, NAdam.  One loop per algorithm;
# each option that changes the arithmetic is a ``bint`` argument that is a
# constant at every call site (the dispatchers below fix one flag per level),
# so the compiler emits one specialised, vectorised loop per combination.
# The arithmetic of each is documented in _kernels.pyx ("The family").

cdef inline bint _sgd_loop(
    floating* x, const floating* grad, floating* buf, Py_ssize_t n,
    const FamilyScalars* s, bint coupled, bint momentum, bint nesterov, bint first,
) noexcept nogil:
    cdef floating sign = <floating>s.sign, wd = <floating>s.weight_decay
    cdef floating lr = <floating>s.lr, mu = <floating>s.momentum, damp = <floating>s.damp
    cdef floating xl = <floating>s.x_limit, sl = <floating>s.s_limit
    cdef floating xi, gi, bi, xn, big = 0
    cdef Py_ssize_t i
    for i in range(n):
        xi = x[i]
        gi = _grad_at(grad, xi, i, sign, wd, coupled)
        if momentum:
            if first:
                bi = gi
            else:
                bi = mu * buf[i] + damp * gi
            buf[i] = bi
            big = _over(big, bi, sl)
            if nesterov:
                gi = gi + mu * bi
            else:
                gi = bi
        xn = xi - lr * gi
        x[i] = xn
        big = _over_x(big, xn, xl)
    return big != 0


cdef inline bint _sgd_nesterov(
    floating* x, const floating* grad, floating* buf, Py_ssize_t n,
    const FamilyScalars* s, bint coupled, bint first, int flags,
) noexcept nogil:
    if flags & F_NESTEROV:
        return _sgd_loop(x, grad, buf, n, s, coupled, True, True, first)
    return _sgd_loop(x, grad, buf, n, s, coupled, True, False, first)


cdef inline bint _sgd_momentum(
    floating* x, const floating* grad, floating* buf, Py_ssize_t n,
    const FamilyScalars* s, bint coupled, int flags,
) noexcept nogil:
    if not flags & F_MOMENTUM:
        return _sgd_loop(x, grad, buf, n, s, coupled, False, False, False)
    elif flags & F_FIRST:
        return _sgd_nesterov(x, grad, buf, n, s, coupled, True, flags)
    return _sgd_nesterov(x, grad, buf, n, s, coupled, False, flags)


cdef inline bint _adagrad_loop(
    floating* x, const floating* grad, floating* acc, Py_ssize_t n,
    const FamilyScalars* s, bint coupled,
) noexcept nogil:
    cdef floating sign = <floating>s.sign, wd = <floating>s.weight_decay
    cdef floating clr = <floating>s.lr, eps = <floating>s.eps
    cdef floating xl = <floating>s.x_limit, sl = <floating>s.s_limit
    cdef floating xi, gi, ai, xn, big = 0
    cdef Py_ssize_t i
    for i in range(n):
        xi = x[i]
        gi = _grad_at(grad, xi, i, sign, wd, coupled)
        ai = acc[i] + gi * gi
        acc[i] = ai
        big = _over(big, ai, sl)
        xn = xi - clr * (gi / (_sqrt(ai) + eps))
        x[i] = xn
        big = _over_x(big, xn, xl)
    return big != 0


cdef inline void _rmsprop_loop(
    floating* x, const floating* grad, floating* sq, floating* avg, floating* buf,
    Py_ssize_t n, const FamilyScalars* s, bint coupled, bint centered, bint momentum,
) noexcept nogil:
    cdef floating sign = <floating>s.sign, wd = <floating>s.weight_decay
    cdef floating lr = <floating>s.lr, mu = <floating>s.momentum, eps = <floating>s.eps
    cdef floating c = <floating>s.one_minus_beta2, p = <floating>s.p2, q = <floating>s.q2
    cdef floating xi, gi, vi, ai, wi, ui
    cdef Py_ssize_t i
    for i in range(n):
        xi = x[i]
        gi = _grad_at(grad, xi, i, sign, wd, coupled)
        vi = _average(sq[i], gi * gi, p, q, c)
        sq[i] = vi
        if centered:
            ai = _average(avg[i], gi, p, q, c)
            avg[i] = ai
            wi = vi - ai * ai
            # v >= avg**2 exactly; rounding can make it slightly negative
            # (PyTorch then takes sqrt of a negative number: NaN).  NaN stays.
            wi = 0 if wi < 0 else wi
        else:
            wi = vi
        ui = gi / (_sqrt(wi) + eps)
        if momentum:
            ui = mu * buf[i] + ui
            buf[i] = ui
        x[i] = xi - lr * ui


cdef inline void _rmsprop_momentum(
    floating* x, const floating* grad, floating* sq, floating* avg, floating* buf,
    Py_ssize_t n, const FamilyScalars* s, bint coupled, int flags,
) noexcept nogil:
    if flags & F_CENTERED:
        if flags & F_MOMENTUM:
            _rmsprop_loop(x, grad, sq, avg, buf, n, s, coupled, True, True)
        else:
            _rmsprop_loop(x, grad, sq, avg, buf, n, s, coupled, True, False)
    elif flags & F_MOMENTUM:
        _rmsprop_loop(x, grad, sq, avg, buf, n, s, coupled, False, True)
    else:
        _rmsprop_loop(x, grad, sq, avg, buf, n, s, coupled, False, False)


cdef inline bint _adamax_loop(
    floating* x, const floating* grad, floating* m, floating* u, Py_ssize_t n,
    const FamilyScalars* s, bint coupled,
) noexcept nogil:
    cdef floating sign = <floating>s.sign, wd = <floating>s.weight_decay
    cdef floating clr = <floating>s.lr, eps = <floating>s.eps, beta2 = <floating>s.beta2
    cdef floating c1 = <floating>s.one_minus_beta1, p1 = <floating>s.p1, q1 = <floating>s.q1
    cdef floating xl = <floating>s.x_limit, ml = <floating>s.s_limit
    cdef floating rl = <floating>s.r_limit
    cdef floating xi, gi, mi, ui, ai, xn, big = 0
    cdef Py_ssize_t i
    for i in range(n):
        xi = x[i]
        gi = _grad_at(grad, xi, i, sign, wd, coupled)
        mi = _average(m[i], gi, p1, q1, c1)
        m[i] = mi
        ui = beta2 * u[i]
        ai = _abs(gi) + eps
        # max that propagates NaN like torch.maximum
        ui = ai if (ai > ui or ai != ai) else ui
        u[i] = ui
        xn = xi - clr * (mi / ui)
        x[i] = xn
        big = _over_x(big, xn, xl)
        big = _over(big, mi, ml)
        big = big if _abs(mi) <= rl * ui else 1
    return big != 0


cdef inline bint _nadam_loop(
    floating* x, const floating* grad, floating* m, floating* v, Py_ssize_t n,
    const FamilyScalars* s, bint coupled,
) noexcept nogil:
    cdef floating sign = <floating>s.sign, wd = <floating>s.weight_decay
    cdef floating decay = <floating>s.decay
    cdef floating cg = <floating>s.lr, cm = <floating>s.lr2, eps_hat = <floating>s.eps
    cdef floating c1 = <floating>s.one_minus_beta1, p1 = <floating>s.p1, q1 = <floating>s.q1
    cdef floating c2 = <floating>s.one_minus_beta2, p2 = <floating>s.p2, q2 = <floating>s.q2
    cdef floating xl = <floating>s.x_limit, ml = <floating>s.s_limit
    cdef floating xi, gi, mi, vi, xn, big = 0
    cdef Py_ssize_t i
    for i in range(n):
        xi = x[i]
        gi = _grad_at(grad, xi, i, sign, wd, coupled)
        mi = _average(m[i], gi, p1, q1, c1)
        vi = _average(v[i], gi * gi, p2, q2, c2)
        m[i] = mi
        v[i] = vi
        xn = xi * decay - (cg * gi + cm * mi) / (_sqrt(vi) + eps_hat)
        x[i] = xn
        big = _over_x(big, xn, xl)
        big = _over(big, mi, ml)
    return big != 0


cdef inline bint _family_update(
    int algo, floating* x, const floating* grad, floating* a, floating* b, floating* c,
    Py_ssize_t n, const FamilyScalars* s, int flags,
) noexcept nogil:
    """One step of algorithm ``algo`` over n elements; ``a``, ``b``, ``c``
    are its state arrays (SGD: the momentum buffer; Adagrad: the sum of
    squares; RMSprop: the square average, the gradient average and the
    momentum buffer; Adamax: m and the infinity norm u; NAdam: m and v).
    Returns whether a new value exceeded its limit (``x_limit``,
    ``s_limit``; SGD and Adagrad only, else False)."""
    cdef bint coupled = (flags & F_COUPLED) != 0
    if algo == ALGO_SGD:
        if coupled:
            return _sgd_momentum(x, grad, a, n, s, True, flags)
        return _sgd_momentum(x, grad, a, n, s, False, flags)
    elif algo == ALGO_ADAGRAD:
        if coupled:
            return _adagrad_loop(x, grad, a, n, s, True)
        return _adagrad_loop(x, grad, a, n, s, False)
    elif algo == ALGO_RMSPROP:
        if coupled:
            _rmsprop_momentum(x, grad, a, b, c, n, s, True, flags)
        else:
            _rmsprop_momentum(x, grad, a, b, c, n, s, False, flags)
    elif algo == ALGO_ADAMAX:
        if coupled:
            return _adamax_loop(x, grad, a, b, n, s, True)
        return _adamax_loop(x, grad, a, b, n, s, False)
    elif algo == ALGO_NADAM:
        if coupled:
            return _nadam_loop(x, grad, a, b, n, s, True)
        return _nadam_loop(x, grad, a, b, n, s, False)
    return False


cdef bint _family64(
    int algo, double* x, const double* grad, double* a, double* b, double* c,
    Py_ssize_t n, const FamilyScalars* s, int flags,
) noexcept nogil:
    return _family_update(algo, x, grad, a, b, c, n, s, flags)


cdef bint _family32(
    int algo, float* x, const float* grad, float* a, float* b, float* c,
    Py_ssize_t n, const FamilyScalars* s, int flags,
) noexcept nogil:
    return _family_update(algo, x, grad, a, b, c, n, s, flags)


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

cdef bint _update64(
    double* x, const double* grad, double* m, double* v, double* vmax,
    Py_ssize_t n, const AdamScalars* s, bint coupled, bint amsgrad, bint first,
) noexcept nogil:
    return _adam_update(x, grad, m, v, vmax, n, s, coupled, amsgrad, first)


cdef bint _update32(
    float* x, const float* grad, float* m, float* v, float* vmax,
    Py_ssize_t n, const AdamScalars* s, bint coupled, bint amsgrad, bint first,
) noexcept nogil:
    return _adam_update(x, grad, m, v, vmax, n, s, coupled, amsgrad, first)


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


cdef KernelTable _table
_table.update64 = _update64
_table.update32 = _update32
_table.any_bad64 = _any_bad64
_table.any_bad32 = _any_bad32
_table.family64 = _family64
_table.family32 = _family32
_table.stream64 = _stream64
_table.stream32 = _stream32

#: The loops of this variant, for ``adamopt._kernels``.
TABLE = PyCapsule_New(<void*>&_table, b"adamopt._kernel_api.KernelTable", NULL)
