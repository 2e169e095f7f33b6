# The overflow guard of every step (included by ``_loops.pxi``, after the
# per-step scalars it reads): before a step, prove in float64 that it keeps x
# and the state finite, or refuse it (with the check only).

#: Adamax: the largest |m| / u a state may hold (`_adamax_bound`).
cdef double _ADAMAX_RATIO = 2.0 ** 40


cdef inline double _root_tiny(double F) noexcept nogil:
    """The square root of the smallest c g**2 for which the guard's lower
    bound ``w >= c g**2`` holds (to a relative 2**-18): of at least 2**20
    times the dtype's smallest subnormal (2**-1054, 2**-128).  Below it the
    average of g**2 may be rounded to zero (an underflow).  (The root, a
    normal number: arithmetic on subnormals is slow, 80 ns a step.)"""
    return 2.0 ** -527 if F > FLT_MAX else 2.0 ** -64


cdef inline double _inv_root(double c, double eps_low, double F) noexcept nogil:
    """The largest |g| / (sqrt(w) + eps) for ``w >= c g**2`` (eps >=
    eps_low): 1 / sqrt(c) where c g**2 is not in the underflow range
    (`_root_tiny`), else |g| < root_tiny / sqrt(c), so at most that over eps
    (which matters only for an eps near the square root of the smallest
    number), with room for the roundings."""
    cdef double d = 2.0 ** -18
    cdef double inv = 1.0 / sqrt(c * (1 - d))
    return max(inv, _root_tiny(F) * inv / eps_low) * (1 + d)


cdef inline bint _moment_step_ok(
    double F, double decay, double X, double M, double L, double beta1, double c1,
    double c2, double coef_g, double coef_m, double eps_hat, double* m_next,
) noexcept nogil:
    """The guard of a moment step (Adam, AdamW, NAdam):
    ``x * decay - (coef_g g + coef_m m_new) / (sqrt(w) + eps_hat)`` with
    ``m_new = beta1 m + c1 g`` (either form), given that every finite |x| is
    at most X, every |m| at most M and every |g| at most L (the check),
    w >= v_new >= c2 g**2.  Then |m_new| <= max(M, L), and per element

        |update| <= coef_g / sqrt(c2) + coef_m (beta1 M / eps_hat + c1 / sqrt(c2))

    (the part of m_new from g is divided by at least sqrt(c2) |g|, the part
    from the old m by at least eps_hat; 1 / sqrt(c2) is `_inv_root`'s
    bound, which also covers a c2 g**2 that underflows), so x stays finite
    if that plus
    |decay| X is below 0.99 F, and the numerator if coef_g L + coef_m
    max(M, L) is below F / 2.  Each term has room for the loop's roundings.
    Sets ``m_next``, the limit of |m_new| the pass flags (the M of the next
    step): 2 L, or less when a larger m would take a quarter of the room of
    a next step with these scalars (a flagged m refuses the next step)."""
    cdef double d = 2.0 ** -18
    cdef double room = 0.99 * F - fabs(decay) * X
    cdef double room_next = 0.99 * F - fabs(decay) * (F / (4 * max(1.0, fabs(decay))))
    cdef double eps_low = eps_hat * (1 - d)
    cdef double inv_root = _inv_root(c2, eps_low, F)
    cdef double update = (coef_g * (1 + d) * inv_root
                          + coef_m * ((beta1 + d) * M / eps_low + (c1 + d) * inv_root)) * (1 + d)
    m_next[0] = 2 * L
    if coef_m > 0:
        m_next[0] = min(2 * L, 0.25 * room_next * eps_low / coef_m)
    return (room > 0 and update <= room
            and coef_g * L + coef_m * max(M, L) * (1 + d) <= 0.5 * F)


cdef inline double _adamax_bound(const Hyperparameters* h, StepScalars* s, double F,
                                 double room) noexcept nogil:
    """Adamax's part of `_guard`.  Given |m| <= M (``s_bound``) <= F/4 and
    |m| <= K u elementwise (K = ``r_bound``: the largest ratio at
    construction and load, then ``_ADAMAX_RATIO`` = 2**40), gradients up to
    G = F/4 keep g - m and |g| + eps finite (eps <= F/2), and with
    m_new = beta1 m + c1 g, u_new >= max(beta2 u, |g| + eps):

        |m_new| / u_new <= beta1 min(K / beta2, M / eps) + c1

    so x stays finite if clr times that is within the room.  The pass flags
    a new |m| beyond the next M (at most F/4: less when a larger m would
    take a quarter of the room of a next step with these scalars) or beyond
    K u."""
    cdef double d = 2.0 ** -18
    cdef double eps = s.eps_hat, clr = fabs(s.lr), beta1 = h.beta1, ratio
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
    ratio = h.s_bound / (eps * (1 - d))
    if s.beta2 > 0:
        ratio = min(ratio, h.r_bound / s.beta2)
    ratio = ((beta1 + d) * ratio + (1.0 - beta1) + d) * (1 + d)
    if not clr * ratio <= room:
        return -1.0
    return 0.99 * F / 4


cdef inline double _rmsprop_bound(const Hyperparameters* h, StepScalars* s, double F,
                                  double L, double room, int flags) noexcept nogil:
    """RMSprop's part of `_guard`.  The scaled gradient u = g / (sqrt(w) + eps)
    is at most U = |g| / eps (centred: w = max(v - a**2, 0) may be 0), and
    uncentred (w = v_new >= c g**2) also at most `_inv_root`.  With momentum
    b_new = mu b + u, |b| <= B (the previous pass's limit, or the largest
    |b| at construction and load; the buffer is kept when momentum is 0):
    x stays finite if lr (mu B + U) is within the room and b (or u) if
    mu B + U is below F / 2.  Returns L when the uncentred bound suffices,
    else the gradient bound G = U eps for the largest U allowed (negative
    if mu B alone takes the room).  The pass flags a new |b| beyond
    F / (8192 max(1, lr)) (as SGD's buffer: a schedule may raise lr 4096-fold
    in one step and still leave room).  v and a stay within the check's
    limit (weighted averages of g**2 and g)."""
    cdef double d = 2.0 ** -18
    cdef double lr = fabs(s.lr), eps_low = s.eps_hat * (1 - d), mu = 0.0, top = 0.5 * F
    cdef bint momentum = (flags & F_MOMENTUM) != 0
    if momentum:
        mu = s.momentum + d
        s.s_limit = F / (8192 * max(1.0, lr))
    else:
        s.s_limit = h.s_bound   # the buffer is not touched
    if lr > 0:
        top = min(top, room / (lr * (1 + d) ** 3))
    top = top / (1 + d) - mu * (h.s_bound if momentum else 0.0)
    if not top > 0:
        return -1.0
    if not flags & F_CENTERED and _inv_root(s.one_minus_beta2, eps_low, F) <= top:
        return L
    return top * eps_low / (1 + d) ** 2


cdef inline double _radam_bound(const Hyperparameters* h, StepScalars* s, double F,
                                double L, double room, int flags) noexcept nogil:
    """RAdam's part of `_guard`.  Rectified: Adam's step
    (`_moment_step_ok` with its step size).  Unrectified:
    ``x * decay - lr m_new`` with |m_new| <= max(M, G) for gradients up to
    G, so G = room / lr (refused if lr M alone exceeds the room).  The pass
    flags a new |m| beyond 2 L, or beyond a quarter of the room of a next
    step with these scalars in either form (the next step may be the first
    rectified one, whose step size is at most lr and whose divisor at least
    eps)."""
    cdef double d = 2.0 ** -18
    cdef double lr = fabs(s.lr), room_next, g_limit
    if flags & F_RECTIFIED:
        if not _moment_step_ok(F, s.decay, h.x_bound, h.s_bound, L, h.beta1,
                               s.one_minus_beta1, s.one_minus_beta2, 0.0, fabs(s.step),
                               s.eps_hat, &s.s_limit):
            return -1.0
        return L
    s.s_limit = 2 * L
    if lr == 0:
        return F
    room_next = 0.99 * F - fabs(s.decay) * (F / (4 * max(1.0, fabs(s.decay))))
    s.s_limit = min(2 * L, 0.25 * room_next * min(1.0, s.eps_hat * (1 - d)) / lr)
    g_limit = room / (lr * (1 + d) ** 3)
    if not h.s_bound <= g_limit:
        return -1.0
    return g_limit


cdef inline double _guard(int kernel, const Hyperparameters* h, StepScalars* s, double F,
                          double L, int flags) noexcept nogil:
    """The overflow guard of a step with the scalars ``s``: set the limits
    the pass compares its new values with (``s.x_limit``, ``s_limit``,
    ``r_limit``) and return the largest gradient magnitude for which the
    step provably keeps x and the state finite (at least L when the check's
    own limit suffices), or a negative number when no gradient is safe (the
    step size alone is too large), given the premise in ``h`` (every finite
    |x| at most ``x_bound``, the state within the limits of the previous
    pass).  F is the dtype's largest number; every bound has a factor 0.99
    of room for the loop's roundings (a few units of 2**-24 at most)::

        all:      the pass keeps x finite if |decay| X + |step| <= 0.99 F
        Adam:     `_moment_step_ok`; the closed-form first step moves x by at
                  most lr.
        SGD:      |x - lr d| with d = g (no momentum): G = (0.99 F - X) / lr.
                  Momentum b = mu b + (1 - dampening) g, |b| <= B (the
                  previous step's limit, F / (8192 max(1, lr)), low enough
                  that a schedule may raise lr 4096-fold in one step):
                  |b_new| <= B + G, |d| <= 2G + B (Nesterov: g + mu b_new),
                  so G = min(F/8, ((0.99 F - X) / lr - B) / 2).
        Adagrad:  s_new = s + g^2 with s <= F/4: G = sqrt(F/2); the step
                  is clr g / (sqrt(s_new) + eps) <= clr (s_new >= g^2), so
                  clr <= 0.99 F - X is needed.
        NAdam:    as Adam, with both coefficients.
        Adamax:   `_adamax_bound`.
        RMSprop:  `_rmsprop_bound`.
        RAdam:    `_radam_bound`.
        Prodigy, D-Adapt: `_dadapt_bound`.
        Schedule-free: `_sf_bound` (_loops_schedulefree.pxi).

    The pass flags a new finite |x| beyond F / (4 max(1, |decay|)) (then X
    for the next step) and a state value beyond its limit; a flagged value
    refuses the next step.  Conservative only at those extreme magnitudes."""
    cdef double lr = s.lr, g_limit, b_limit
    cdef double room = 0.99 * F - fabs(s.decay) * h.x_bound
    s.x_limit = F / (4 * max(1.0, fabs(s.decay)))
    s.s_limit = F
    s.r_limit = F
    if kernel == K_ADAM:
        if flags & F_FIRST:   # the closed form: |lr g / (|g| + eps)| <= lr
            _moment_step_ok(F, s.decay, h.x_bound, h.s_bound, L, h.beta1, s.one_minus_beta1,
                            s.one_minus_beta2, 0.0, s.step, s.eps_hat, &s.s_limit)
            return L if h.lr * (1 + 2.0 ** -18) <= room else -1.0
        return L if _moment_step_ok(F, s.decay, h.x_bound, h.s_bound, L, h.beta1,
                                    s.one_minus_beta1, s.one_minus_beta2, 0.0, s.step,
                                    s.eps_hat, &s.s_limit) else -1.0
    if _dadapt_kernel(kernel):
        return _dadapt_bound(kernel, h, s, F, L, flags)
    if kernel == K_SF_ADAMW or kernel == K_SF_SGD:
        return _sf_bound(h, s, F, L, kernel == K_SF_ADAMW)
    if room <= 0:
        return -1.0
    if kernel == K_SGD:
        if h.momentum == 0.0:
            return room / lr if lr > 0 else F
        s.s_limit = F / (8192 * max(1.0, lr))
        b_limit = h.b_limit if h.b_limit > 0 else F / 8192
        g_limit = 0.99 * (room / lr - b_limit) / 2 if lr > 0 else F
        return min(0.99 * F / 8, g_limit)
    if kernel == K_ADAGRAD:
        s.s_limit = F / 4
        if not lr <= room:
            return -1.0
        return 0.99 * sqrt(F / 2)
    if kernel == K_ADAMAX:
        return _adamax_bound(h, s, F, room)
    if kernel == K_NADAM:
        if not _moment_step_ok(F, s.decay, h.x_bound, h.s_bound, L, h.beta1,
                               s.one_minus_beta1, s.one_minus_beta2, fabs(s.lr),
                               fabs(s.lr2), s.eps_hat, &s.s_limit):
            return -1.0
        return L
    if kernel == K_RMSPROP:
        return _rmsprop_bound(h, s, F, L, room, flags)
    if kernel == K_RADAM:
        return _radam_bound(h, s, F, L, room, flags)
    return -1.0   # an algorithm without a guard written here: no step is taken
