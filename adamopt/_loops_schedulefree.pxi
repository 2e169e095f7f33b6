# Schedule-free AdamW and SGD (Defazio et al. 2024, "The Road Less Scheduled",
# arXiv:2405.15682), as the reference package ``schedulefree`` defines them:
# the per-step scalars, the two loops and the overflow guard (included by
# ``_loops.pxi``).
#
# The three sequences of the paper: z (the base optimizer's iterate), x (the
# weighted average of the z's, where the method converges) and y (where the
# gradient is taken).  The parameters array holds y, the state z (and for
# AdamW the second moment v); x is never stored: it is recovered, when asked
# for, from y = beta1 x + (1 - beta1) z.  With c the averaging weight of the
# step, u the step direction (AdamW: g / (sqrt(v / (1 - beta2**t)) + eps) +
# lambda y; SGD: g + lambda y) and lr_t the learning rate after warm-up:
#
#     z' = z - lr_t u
#     x' = (1 - c) x + c z'
#     y' = beta1 x' + (1 - beta1) z'
#        = (1 - c) y + c z + lr_t (beta1 (1 - c) - 1) u      (x eliminated)
#
# so a step reads y, g, z (v) and writes y, z (v): Adam's seven streams for
# AdamW, five for SGD.  With d = g / (sqrt(v) + eps sqrt(1 - beta2**t)) (the
# bias correction folded into two scalars, as Adam's loop does), the loops
# compute
#
#     z' = z - (A d + B y)          y' = p y + c z + q d
#
# with A = lr_t sqrt(1 - beta2**t), B = lr_t lambda, C = beta1 (1 - c) - 1,
# p = 1 - c + C B, q = C A (AdamW) and, for SGD (whose decay is the coupled
# L2 term inside d = g + lambda y), A = lr_t, p = 1 - c, q = C lr_t.

cdef inline void _sf_prepare(const Hyperparameters* h, long long t, StepScalars* s,
                             double beta1, bint adaptive) noexcept nogil:
    """The scalars of step ``t`` (``beta1``: AdamW's beta1, SGD's momentum;
    ``adaptive``: AdamW).  The scalar state is (lr_max, weight_sum):

        lr_t       = lr * min(1, t / warmup_steps)
        lr_max'    = max(lr_max, lr_t)
        weight     = t**r * lr_max'**weight_lr_power
        weight_sum' = weight_sum + weight,   c = weight / weight_sum' (0 if 0)

    Fields: lr = A, lr2 = q, decay = p, step = c, momentum = B, eps_hat."""
    cdef double lr_t = h.lr, lr_max, weight, weight_sum, c, big_c, bc2_sqrt
    if h.warmup_steps > 0 and t <= h.warmup_steps:
        lr_t = h.lr * (t / h.warmup_steps)
    lr_max = lr_t if lr_t > h.scalars[0] else h.scalars[0]
    weight = pow(<double>t, h.r) * pow(lr_max, h.weight_lr_power)
    weight_sum = h.scalars[1] + weight
    c = weight / weight_sum if weight_sum != 0 else 0.0
    s.scalars[0] = lr_max
    s.scalars[1] = weight_sum
    big_c = beta1 * (1.0 - c) - 1.0
    s.step = c
    if adaptive:
        _moments(0.0, h.beta2, s)
        bc2_sqrt = sqrt(1.0 - pow(h.beta2, <double>t))
        s.lr = lr_t * bc2_sqrt
        s.eps_hat = h.eps * bc2_sqrt
        s.momentum = lr_t * h.weight_decay
    else:
        s.lr = lr_t
        s.eps_hat = 1.0   # SGD adds no eps
        s.momentum = 0.0  # (the decay is the coupled L2 term)
    s.lr2 = big_c * s.lr
    s.decay = 1.0 - c + big_c * s.momentum


cdef inline bint _sf_adamw_loop(
    floating* x, const floating* grad, floating* z, floating* v, Py_ssize_t n,
    const StepScalars* s,
) noexcept nogil:
    cdef floating sign = <floating>s.sign, clamp = <floating>s.clamp
    cdef floating c2 = <floating>s.one_minus_beta2, p2 = <floating>s.p2, q2 = <floating>s.q2
    cdef floating a = <floating>s.lr, b = <floating>s.momentum, eps_hat = <floating>s.eps_hat
    cdef floating p = <floating>s.decay, c = <floating>s.step, q = <floating>s.lr2
    cdef floating xl = <floating>s.x_limit, zl = <floating>s.s_limit
    cdef floating yi, gi, vi, di, zi, zn, yn, big = 0
    cdef Py_ssize_t i
    for i in range(n):
        yi = x[i]
        gi = _grad_at(grad, yi, i, sign, 0, clamp, False)
        vi = _average(v[i], gi * gi, p2, q2, c2)
        v[i] = vi
        di = gi / (_sqrt(vi) + eps_hat)
        zi = z[i]
        zn = zi - (a * di + b * yi)
        yn = p * yi + c * zi + q * di
        z[i] = zn
        x[i] = yn
        big = _over_x(big, yn, xl)
        big = _over(big, zn, zl)
    return big != 0


cdef inline bint _sf_sgd_loop(
    floating* x, const floating* grad, floating* z, Py_ssize_t n, const StepScalars* s,
    bint coupled,
) noexcept nogil:
    cdef floating sign = <floating>s.sign, wd = <floating>s.weight_decay
    cdef floating clamp = <floating>s.clamp, a = <floating>s.lr
    cdef floating p = <floating>s.decay, c = <floating>s.step, q = <floating>s.lr2
    cdef floating xl = <floating>s.x_limit, zl = <floating>s.s_limit
    cdef floating yi, di, zi, zn, yn, big = 0
    cdef Py_ssize_t i
    for i in range(n):
        yi = x[i]
        di = _grad_at(grad, yi, i, sign, wd, clamp, coupled)
        zi = z[i]
        zn = zi - a * di
        yn = p * yi + c * zi + q * di
        z[i] = zn
        x[i] = yn
        big = _over_x(big, yn, xl)
        big = _over(big, zn, zl)
    return big != 0


cdef inline double _sf_bound(const Hyperparameters* h, StepScalars* s, double F, double L,
                             bint adaptive) noexcept nogil:
    """The overflow guard of a schedule-free step (`_guard`).  Given every
    finite |y| at most X (``x_bound``) and every |z| at most Z (``s_bound``),
    the step direction is bounded by D: AdamW's d = g / (sqrt(v') + eps_hat)
    with v' >= (1 - beta2) g**2 by `_inv_root`, SGD's d = g + lambda y by
    G + lambda X for gradients up to G.  Then |z'| <= Z + A D + B X and
    |y'| <= |p| X + c Z + |q| D, each to stay below 0.99 F (with room for
    the roundings).  AdamW: the check's limit L, or refused; SGD: the
    largest G, or refused.  The pass flags a new |y| or |z| beyond F / 4."""
    cdef double d = 2.0 ** -18, r3 = (1 + d) ** 3
    cdef double X = h.x_bound, Z = h.s_bound, A = fabs(s.lr), B = fabs(s.momentum)
    cdef double p = fabs(s.decay), c = fabs(s.step), q = fabs(s.lr2), D, room_z, room_y
    s.x_limit = F / 4
    s.s_limit = F / 4
    room_z = (0.99 * F / r3 - Z - B * X * r3)
    room_y = (0.99 * F / r3 - p * X - c * Z)
    if not (B * r3 <= F and room_z > 0 and room_y > 0):
        return -1.0
    if adaptive:
        D = _inv_root(s.one_minus_beta2, s.eps_hat * (1 - d), F)
        return L if A * D <= room_z and q * D <= room_y else -1.0
    D = 0.25 * F
    if A > 0:
        D = min(D, room_z / A)
    if q > 0:
        D = min(D, room_y / q)
    D = D / r3 - (h.weight_decay * X if s.weight_decay != 0 else 0.0)
    return D if D > 0 else -1.0
