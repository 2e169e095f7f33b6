# Prodigy (Mishchenko & Defazio 2024) and D-Adaptation's Adam (Defazio &
# Mishchenko 2023), included by ``_loops.pxi``.  Their step size is d, an
# estimate of the distance to the solution, updated each step from two sums
# over every element, so a step is two passes over memory:
#
#   1. `_dadapt_reduce` (read-only, with the gradient check): the numerator's
#      and the denominator's sums of the d update, per fixed block of
#      NORM_BLOCK elements (`_dadapt_reduce_chunk` in _kernels.pyx), added in
#      block order in float64: the same bits for any number of threads;
#   2. `_dadapt_finish` (once, in float64): the new d; then `_dadapt_loop`
#      updates m, v, s and x.
#
# With the effective gradient g (sign, clamp, coupled L2 as every loop), the
# per-step scalars of `_dadapt_prepare` and beta3 the decay of s:
#
#   Prodigy   pass 1: num = sum g (p0 - x),  den = sum |beta3 s + c_s g|
#             pass 2: m = beta1 m + c_m g;  v = beta2 v + c_v g g;
#                     s = beta3 s + c_s g;  x = x - dlr m / (sqrt(v) + d_new eps)
#                     (beta1 = 0: x = x - dlr d_new g / (sqrt(v) + d_new eps))
#   D-Adapt   pass 1: num = sum g s / (sqrt(v) + eps),  den = sum |beta3 s + c_s g|
#             pass 2: m, v, s as above;  x = x - m / (sqrt(v) + eps)
#
# with decoupled weight decay x first becomes x + (-weight_decay dlr) x.
# in the reference packages' order of operations (``prodigyopt`` 1.1.2,
# ``dadaptation`` 3.2), each element in the parameters' dtype, the sums in
# float64.  Streams per element: pass 1 reads g, x, p0 and s (Prodigy) or g,
# v and s (D-Adapt; x too with coupled decay); pass 2 reads g, x, m, v, s and
# writes x, m, v, s: 13 (12) against Adam's 7.

cdef enum:
    K_PRODIGY = 20
    K_DADAPT_ADAM = 21
    # Their scalar state (the declarations' ``scalars``): d, then Prodigy's
    # d_max and numerator, D-Adapt's numerator.
    S_D = 0
    S_DMAX = 1
    S_NUM_PRODIGY = 2
    S_NUM_DADAPT = 1

#: The kernel ids of this file (added to ``KERNELS``).
DADAPT_KERNELS = {"prodigy": K_PRODIGY, "dadapt_adam": K_DADAPT_ADAM}


cdef inline bint _dadapt_kernel(int kernel) noexcept nogil:
    """Whether ``kernel`` takes the two-pass step with the distance estimate."""
    return kernel == K_PRODIGY or kernel == K_DADAPT_ADAM


cdef inline void _dadapt_prepare(int kernel, const Hyperparameters* h, long long t,
                                 StepScalars* s, int* flags) noexcept nogil:
    """The scalars of step ``t`` before the d update (``d`` the scalar
    state's ``S_D``): with
    ``bc = sqrt(1 - beta2**t) / (1 - beta1**t)`` (1 without bias
    correction) and ``dlr = d lr_t bc``,

    * Prodigy: ``c_m = d (1 - beta1)``, ``c_v = d**2 (1 - beta2)``,
      ``c_s = (d / d0) dlr`` (``(d / d0) d`` with the safeguard warm-up),
      the numerator's scale ``(d / d0) dlr``, the numerator's decay beta3;
    * D-Adapt: ``c_m = dlr (1 - beta1)``, ``c_v = 1 - beta2``,
      ``c_s = dlr (1 - sqrt(beta2))``, the numerator's scale ``dlr``, the
      decay of s ``sqrt(beta2)``;

    and the decoupled decay's ``-weight_decay dlr`` of both (``lr2``)."""
    cdef double d = h.scalars[S_D], bc = 1.0, dlr
    if h.bias_correction:
        bc = sqrt(1.0 - pow(h.beta2, <double>t)) / (1.0 - pow(h.beta1, <double>t))
    dlr = d * h.lr * bc
    s.dlr = dlr
    s.step = dlr
    s.p1 = h.beta1   # m = beta1 m + c_m g (the references' weighted sums)
    s.p2 = h.beta2
    if h.decoupled and h.weight_decay != 0.0:
        # x + (-weight_decay dlr) x, as the references (1 - weight_decay dlr
        # rounded to float32 would lose most of a small decay)
        s.lr2 = -h.weight_decay * dlr
        flags[0] |= F_DECAY
    if kernel == K_PRODIGY:
        s.beta3 = h.beta3 if h.beta3 >= 0 else sqrt(h.beta2)
        s.c_m = d * (1.0 - h.beta1)
        s.c_v = d * d * (1.0 - h.beta2)
        s.c_s = (d / h.d0) * (d if h.safeguard_warmup else dlr)
        s.num_scale = (d / h.d0) * dlr
        s.eps_hat = d * h.eps
        if h.beta1 == 0.0:
            flags[0] |= F_NO_MOMENT
    else:
        s.step = 1.0   # m carries the step size
        s.beta3 = sqrt(h.beta2)
        s.c_m = dlr * (1.0 - h.beta1)
        s.c_v = 1.0 - h.beta2
        s.c_s = dlr * (1.0 - s.beta3)
        s.num_scale = dlr


cdef inline int _dadapt_finish(int kernel, const Hyperparameters* h, double num, double den,
                               StepScalars* s, double F) noexcept nogil:
    """The d update from the first pass's sums ``num`` and ``den``, as the
    reference packages compute it; sets the new d, d_max and numerator in
    ``s.scalars`` and the scalars of the second pass that depend on them.  Returns
    0, 1 when the step is skipped (a zero learning rate, or a zero
    denominator: every gradient so far was zero; the references then return
    without updating anything), or 2 when the new d is not a positive finite
    number, or the scalars of the second pass are not finite and positive
    in the dtype (F: its largest number; the step is refused)."""
    cdef double d = h.scalars[S_D], d_hat, numerator, sqrt_beta2, d_max
    if h.lr == 0.0 or den == 0.0:
        return 1
    if kernel == K_PRODIGY:
        numerator = h.scalars[S_NUM_PRODIGY] * s.beta3 + s.num_scale * num
        d_hat = h.d_coef * numerator / den
        if d == h.d0:
            d = max(d, d_hat)
        d_max = max(h.scalars[S_DMAX], d_hat)
        d = min(d_max, d * h.growth_rate)
        s.scalars[S_DMAX] = d_max
        s.scalars[S_NUM_PRODIGY] = numerator
        s.eps_hat = d * h.eps
        if not (s.eps_hat <= F and isfinite(d_max)) or (F < DBL_MAX and <float>s.eps_hat == 0):
            return 2
        if h.beta1 == 0.0:
            s.step = s.dlr * d
            if not s.step <= F:
                return 2
    else:
        sqrt_beta2 = s.beta3
        numerator = (sqrt_beta2 * h.scalars[S_NUM_DADAPT]
                     + (1.0 - sqrt_beta2) * (s.num_scale * num))
        d_hat = numerator / ((1.0 - sqrt_beta2) * den)
        d = max(d, min(d_hat, d * h.growth_rate))
        s.scalars[S_NUM_DADAPT] = numerator
    s.scalars[S_D] = d
    if not (isfinite(d) and d > 0 and isfinite(numerator)):
        return 2
    return 0


cdef inline double _dadapt_bound(int kernel, const Hyperparameters* h, StepScalars* s,
                                 double F, double L, int flags) noexcept nogil:
    """The overflow guard of `_guard`.  The second pass's m, v and s use the
    d before the update, and d never decreases (``growth_rate >= 1``; so
    the divisor ``sqrt(v) + d_new eps`` is at least ``d eps``), so the step
    is bounded before the first pass.  Given |x| <= X, |m| <= M, v <= V,
    |s| <= S (``x_bound``, ``s_bound``, ``v_bound``, ``z_bound``: the
    largest values at construction and load, then these bounds of the last
    step) and gradients up to G <= L:

        |m_new| <= beta1 M + c_m G,  v_new <= beta2 V + c_v G**2,
        |s_new| <= beta3 S + c_s G,
        |x_new| <= (1 + |lr2|) X + step |m_new| / (d eps)

    (beta1 = 0: ``dlr G / eps`` for the last term), each with room for the
    roundings.  Returns the largest G (at most L) for which the new |m|, v
    and |s| stay below F / 4 and x below 0.99 F, negative if there is none;
    the bounds with that G are the premise of the next step (they need no
    pass to find them, and decay back as the averages forget).  The pass
    flags a new |x| beyond F / (4 (1 + |lr2|)) (then X)."""
    cdef double d = 2.0 ** -18, up = 1 + d, G = L, quarter = 0.25 * F / (up * up * up)
    # (Prodigy: the new d is at least min(d, d_max), even from a loaded state)
    cdef double eps_low = (min(h.scalars[S_D], h.scalars[S_DMAX]) * h.eps
                           if kernel == K_PRODIGY
                           else s.eps_hat) * (1 - d)
    cdef double step, room
    cdef double mb = s.p1 * h.s_bound, vb = s.p2 * h.v_bound, zb = s.beta3 * h.z_bound
    cdef bint no_moment = (flags & F_NO_MOMENT) != 0
    s.x_limit = F / (4 * (1 + fabs(s.lr2)))
    room = 0.99 * F - (1 + fabs(s.lr2)) * up * h.x_bound
    if no_moment:
        mb = 0.0   # m is not touched
    if not (mb < quarter and vb < quarter and zb < quarter and room > 0 and eps_low > 0):
        return -1.0
    if s.c_m > 0 and not no_moment:
        G = min(G, (quarter - mb) / s.c_m)
    if s.c_v > 0:
        G = min(G, sqrt((quarter - vb) / s.c_v))
    if s.c_s > 0:
        G = min(G, (quarter - zb) / s.c_s)
    if no_moment:   # the step dlr d_new g / (sqrt(v) + d_new eps) <= dlr |g| / eps
        step = s.dlr * up * up / (h.eps * (1 - d))
        if step > 0:
            G = min(G, room / step)
    else:
        step = fabs(s.step) * up * up / eps_low
        if step > 0:
            if not mb * up * step < room:
                return -1.0
            if s.c_m > 0:
                G = min(G, (room / step - mb * up) / s.c_m)
    if not G > 0:
        return -1.0
    s.s_limit = h.s_bound if no_moment else (mb + s.c_m * G) * up * up
    s.r_limit = (vb + s.c_v * G * G) * up * up * up
    s.z_limit = (zb + s.c_s * G) * up * up
    return G


# The sums of a block are taken in pieces of TREE elements: each piece's
# terms are written in float64 to a buffer (an elementwise loop, which
# vectorises), padded with zeros, and added as a fixed binary tree (each level
# an elementwise loop too); the pieces' sums are then added in order.  One
# fixed order, whatever the vector width (no reassociation by the compiler).
cdef enum:
    TREE = 256


cdef inline double _tree_sum(double* buf) noexcept nogil:
    """The sum of buf[0:TREE] as a fixed binary tree (buf is overwritten)."""
    cdef Py_ssize_t w = TREE // 2, i
    while w >= 1:
        for i in range(w):
            buf[i] = buf[i] + buf[i + w]
        w = w // 2
    return buf[0]


cdef inline void _prodigy_sums(
    const floating* x, const floating* grad, const floating* sv, const floating* p0,
    Py_ssize_t n, const StepScalars* s, bint coupled, double* sums,
) noexcept nogil:
    """Prodigy's first pass over n elements: sum g (p0 - x), sum |s_new|."""
    cdef floating sign = <floating>s.sign, wd = <floating>s.weight_decay
    cdef floating clamp = <floating>s.clamp
    cdef floating beta3 = <floating>s.beta3, c_s = <floating>s.c_s
    cdef floating xi, gi, si
    cdef double a[TREE]
    cdef double b[TREE]
    cdef double num = 0.0, den = 0.0
    cdef Py_ssize_t i, j, start = 0, m
    while start < n:
        m = min(<Py_ssize_t>TREE, n - start)
        for j in range(m):
            i = start + j
            xi = x[i]
            gi = _grad_at(grad, xi, i, sign, wd, clamp, coupled)
            si = beta3 * sv[i] + c_s * gi
            a[j] = <double>gi * <double>(p0[i] - xi)
            b[j] = <double>_abs(si)
        for j in range(m, TREE):
            a[j] = 0.0
            b[j] = 0.0
        num = num + _tree_sum(a)
        den = den + _tree_sum(b)
        start = start + m
    sums[0] = num
    sums[1] = den


cdef inline void _dadapt_adam_sums(
    const floating* x, const floating* grad, const floating* v, const floating* sv,
    Py_ssize_t n, const StepScalars* s, bint coupled, double* sums,
) noexcept nogil:
    """D-Adapt Adam's first pass: sum g s / (sqrt(v) + eps), sum |s_new|."""
    cdef floating sign = <floating>s.sign, wd = <floating>s.weight_decay
    cdef floating clamp = <floating>s.clamp
    cdef floating beta3 = <floating>s.beta3, c_s = <floating>s.c_s
    cdef floating eps = <floating>s.eps_hat
    cdef floating xi = 0, gi, si, q
    cdef double a[TREE]
    cdef double b[TREE]
    cdef double num = 0.0, den = 0.0
    cdef Py_ssize_t i, j, start = 0, m
    while start < n:
        m = min(<Py_ssize_t>TREE, n - start)
        for j in range(m):
            i = start + j
            if coupled:
                xi = x[i]
            gi = _grad_at(grad, xi, i, sign, wd, clamp, coupled)
            q = sv[i] / (_sqrt(v[i]) + eps)
            si = beta3 * sv[i] + c_s * gi
            a[j] = <double>gi * <double>q
            b[j] = <double>_abs(si)
        for j in range(m, TREE):
            a[j] = 0.0
            b[j] = 0.0
        num = num + _tree_sum(a)
        den = den + _tree_sum(b)
        start = start + m
    sums[0] = num
    sums[1] = den


cdef inline void _dadapt_reduce(int kernel, const floating* x, const floating* grad,
                                floating** st, Py_ssize_t n, const StepScalars* s,
                                int flags, double* sums) noexcept nogil:
    """The first pass over n elements (st: m, v, s, p0 in the declaration's order)."""
    cdef bint coupled = (flags & F_COUPLED) != 0
    if kernel == K_PRODIGY:
        if coupled:
            _prodigy_sums(x, grad, st[2], st[3], n, s, True, sums)
        else:
            _prodigy_sums(x, grad, st[2], st[3], n, s, False, sums)
    elif coupled:
        _dadapt_adam_sums(x, grad, st[1], st[2], n, s, True, sums)
    else:
        _dadapt_adam_sums(x, grad, st[1], st[2], n, s, False, sums)


cdef void _reduce64(int kernel, const double* x, const double* grad, double** st,
                    Py_ssize_t n, const StepScalars* s, int flags,
                    double* sums) noexcept nogil:
    _dadapt_reduce(kernel, x, grad, st, n, s, flags, sums)


cdef void _reduce32(int kernel, const float* x, const float* grad, float** st,
                    Py_ssize_t n, const StepScalars* s, int flags,
                    double* sums) noexcept nogil:
    _dadapt_reduce(kernel, x, grad, st, n, s, flags, sums)


cdef inline bint _dadapt_loop(
    floating* x, const floating* grad, floating* m, floating* v, floating* sv, Py_ssize_t n,
    const StepScalars* s, bint coupled, bint decay, bint no_moment,
) noexcept nogil:
    """The second pass: m, v, s and x (see the top of this file); ``decay``:
    decoupled weight decay (``coupled``: L2 in the gradient)."""
    cdef floating sign = <floating>s.sign, wd = <floating>s.weight_decay
    cdef floating clamp = <floating>s.clamp
    cdef floating beta1 = <floating>s.p1, beta2 = <floating>s.p2
    cdef floating beta3 = <floating>s.beta3
    cdef floating c_m = <floating>s.c_m, c_v = <floating>s.c_v, c_s = <floating>s.c_s
    cdef floating dx = <floating>s.lr2, step = <floating>s.step
    cdef floating eps_hat = <floating>s.eps_hat
    cdef floating xl = <floating>s.x_limit, sl = <floating>s.s_limit
    cdef floating vl = <floating>s.r_limit, zl = <floating>s.z_limit
    cdef floating xi, gi, mi = 0, vi, si, xn, big = 0
    cdef Py_ssize_t i
    for i in range(n):
        xi = x[i]
        gi = _grad_at(grad, xi, i, sign, wd, clamp, coupled)
        if not no_moment:
            mi = beta1 * m[i] + c_m * gi
            m[i] = mi
        vi = beta2 * v[i] + c_v * gi * gi
        v[i] = vi
        si = beta3 * sv[i] + c_s * gi
        sv[i] = si
        if decay:
            xi = xi + dx * xi
        if no_moment:
            xn = xi - step * (gi / (_sqrt(vi) + eps_hat))
        else:
            xn = xi - step * (mi / (_sqrt(vi) + eps_hat))
        x[i] = xn
        big = _over_x(big, xn, xl)
        big = _over(big, mi, sl)
        big = _over(big, vi, vl)
        big = _over(big, si, zl)
    return big != 0


cdef inline bint _dadapt_update(
    floating* x, const floating* grad, floating** st, Py_ssize_t n, const StepScalars* s,
    int flags,
) noexcept nogil:
    if flags & F_COUPLED:
        if flags & F_NO_MOMENT:
            return _dadapt_loop(x, grad, st[0], st[1], st[2], n, s, True, False, True)
        return _dadapt_loop(x, grad, st[0], st[1], st[2], n, s, True, False, False)
    elif flags & F_DECAY:
        if flags & F_NO_MOMENT:
            return _dadapt_loop(x, grad, st[0], st[1], st[2], n, s, False, True, True)
        return _dadapt_loop(x, grad, st[0], st[1], st[2], n, s, False, True, False)
    elif flags & F_NO_MOMENT:
        return _dadapt_loop(x, grad, st[0], st[1], st[2], n, s, False, False, True)
    return _dadapt_loop(x, grad, st[0], st[1], st[2], n, s, False, False, False)
