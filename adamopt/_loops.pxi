# The per-step scalars and the update loop of every algorithm, and the
# gradient check, compiled once per
# instruction set: ``_loops_baseline.pyx`` and ``_loops_avx2.pyx`` include this
# file and are built with different flags (see setup.py).  The arithmetic is
# described in ``_kernels.pyx``; every variant is built with
# ``-ffp-contract=off``, so each operation is rounded as written and every
# variant gives bitwise-identical results (elementwise IEEE add, multiply,
# divide and square root are correctly rounded at any vector width).

from cpython.pycapsule cimport PyCapsule_New
from cython cimport floating
from libc.float cimport DBL_MAX, FLT_MAX
from libc.math cimport INFINITY, fabs, fabsf, isfinite, sqrt, sqrtf

from libc.math cimport pow

from adamopt._kernel_api cimport (
    F_AMSGRAD, F_CENTERED, F_COUPLED, F_DECAY, F_FIRST, F_MOMENTUM, F_NESTEROV,
    F_NO_MOMENT, F_RECTIFIED, Hyperparameters, KernelTable, StepScalars,
)

cdef inline floating _sqrt(floating a) noexcept nogil:
    if floating is float:
        return sqrtf(a)
    else:
        return sqrt(a)


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


cdef inline floating _grad_at(
    const floating* grad, floating xi, Py_ssize_t i, floating sign, floating wd,
    floating clamp, bint coupled,
) noexcept nogil:
    """The gradient every loop steps with: ``sign * g`` (+ ``wd * x``, coupled
    L2), rounded as the check (`_effective`) rounds it.  ``g`` is first
    clamped to [-clamp, clamp] (``max_grad_value``; infinity when unset,
    which leaves every value, NaN and infinities included, as it is), and
    ``sign`` carries the clipping coefficient of ``max_grad_norm``."""
    cdef floating gi = grad[i]
    gi = -clamp if gi < -clamp else gi
    gi = clamp if gi > clamp else gi
    gi = sign * gi
    if coupled:
        gi = gi + wd * xi
    return gi


cdef inline floating _average(floating a, floating b, floating p, floating q,
                              floating c) noexcept nogil:
    """An exponential average ``p * a + c * (b - q * a)``: with (p, q) = (1, 1)
    the interpolation ``a + c * (b - a)``, with (beta, 0) the weighted sum
    ``beta * a + c * b`` (see ``_moment_form`` in _kernels.pyx)."""
    return p * a + c * (b - q * a)


cdef inline bint _adam_loop(
    floating* x, const floating* grad, floating* m, floating* v, floating* vmax,
    Py_ssize_t n, const StepScalars* s, bint coupled, bint amsgrad, bint first,
) noexcept nogil:
    """The update of every element.  ``coupled``, ``amsgrad`` and ``first``
    are constants at each call site, so the compiler emits one specialised
    loop per case (check the assembly: each one vectorises).  Returns
    whether a new |x| exceeds ``s.x_limit`` or a new |m| ``s.s_limit``."""
    # Scalars in locals of the array's type: stores through x, m, v cannot
    # alias them, so they stay in registers and the loop vectorises.
    cdef floating sign = <floating>s.sign, wd = <floating>s.weight_decay
    cdef floating clamp = <floating>s.clamp
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
        gi = _grad_at(grad, xi, i, sign, wd, clamp, coupled)
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


cdef inline bint _adam_update(
    floating* x, const floating* grad, floating* m, floating* v, floating* vmax,
    Py_ssize_t n, const StepScalars* s, bint coupled, bint amsgrad, bint first,
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
# The other algorithms: SGD, Adagrad, RMSprop, Adamax, NAdam.  One loop per
# algorithm, as Adam's; each option that changes the arithmetic is a ``bint``
# argument that is a constant at every call site (the dispatchers fix one flag
# per level), so the compiler emits one specialised, vectorised loop per
# combination.  The arithmetic of each is documented in _kernels.pyx.

cdef inline bint _sgd_loop(
    floating* x, const floating* grad, floating* buf, Py_ssize_t n,
    const StepScalars* s, bint coupled, bint momentum, bint nesterov, bint first,
) noexcept nogil:
    cdef floating sign = <floating>s.sign, wd = <floating>s.weight_decay
    cdef floating clamp = <floating>s.clamp
    cdef floating lr = <floating>s.lr, mu = <floating>s.momentum, damp = <floating>s.damp
    cdef floating xl = <floating>s.x_limit, sl = <floating>s.s_limit
    cdef floating xi, gi, bi, xn, big = 0
    cdef Py_ssize_t i
    for i in range(n):
        xi = x[i]
        gi = _grad_at(grad, xi, i, sign, wd, clamp, coupled)
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
    const StepScalars* s, bint coupled, bint first, int flags,
) noexcept nogil:
    if flags & F_NESTEROV:
        return _sgd_loop(x, grad, buf, n, s, coupled, True, True, first)
    return _sgd_loop(x, grad, buf, n, s, coupled, True, False, first)


cdef inline bint _sgd_momentum(
    floating* x, const floating* grad, floating* buf, Py_ssize_t n,
    const StepScalars* s, bint coupled, int flags,
) noexcept nogil:
    if not flags & F_MOMENTUM:
        return _sgd_loop(x, grad, buf, n, s, coupled, False, False, False)
    elif flags & F_FIRST:
        return _sgd_nesterov(x, grad, buf, n, s, coupled, True, flags)
    return _sgd_nesterov(x, grad, buf, n, s, coupled, False, flags)


cdef inline bint _adagrad_loop(
    floating* x, const floating* grad, floating* acc, Py_ssize_t n,
    const StepScalars* s, bint coupled,
) noexcept nogil:
    cdef floating sign = <floating>s.sign, wd = <floating>s.weight_decay
    cdef floating clamp = <floating>s.clamp
    cdef floating clr = <floating>s.lr, eps = <floating>s.eps_hat
    cdef floating xl = <floating>s.x_limit, sl = <floating>s.s_limit
    cdef floating xi, gi, ai, xn, big = 0
    cdef Py_ssize_t i
    for i in range(n):
        xi = x[i]
        gi = _grad_at(grad, xi, i, sign, wd, clamp, coupled)
        ai = acc[i] + gi * gi
        acc[i] = ai
        big = _over(big, ai, sl)
        xn = xi - clr * (gi / (_sqrt(ai) + eps))
        x[i] = xn
        big = _over_x(big, xn, xl)
    return big != 0


cdef inline bint _rmsprop_loop(
    floating* x, const floating* grad, floating* sq, floating* avg, floating* buf,
    Py_ssize_t n, const StepScalars* s, bint coupled, bint centered, bint momentum,
) noexcept nogil:
    cdef floating sign = <floating>s.sign, wd = <floating>s.weight_decay
    cdef floating clamp = <floating>s.clamp
    cdef floating lr = <floating>s.lr, mu = <floating>s.momentum, eps = <floating>s.eps_hat
    cdef floating c = <floating>s.one_minus_beta2, p = <floating>s.p2, q = <floating>s.q2
    cdef floating xl = <floating>s.x_limit, bl = <floating>s.s_limit
    cdef floating xi, gi, vi, ai, wi, ui, xn, big = 0
    cdef Py_ssize_t i
    for i in range(n):
        xi = x[i]
        gi = _grad_at(grad, xi, i, sign, wd, clamp, coupled)
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
            big = _over(big, ui, bl)
        xn = xi - lr * ui
        x[i] = xn
        big = _over_x(big, xn, xl)
    return big != 0


cdef inline bint _rmsprop_momentum(
    floating* x, const floating* grad, floating* sq, floating* avg, floating* buf,
    Py_ssize_t n, const StepScalars* s, bint coupled, int flags,
) noexcept nogil:
    if flags & F_CENTERED:
        if flags & F_MOMENTUM:
            return _rmsprop_loop(x, grad, sq, avg, buf, n, s, coupled, True, True)
        return _rmsprop_loop(x, grad, sq, avg, buf, n, s, coupled, True, False)
    elif flags & F_MOMENTUM:
        return _rmsprop_loop(x, grad, sq, avg, buf, n, s, coupled, False, True)
    return _rmsprop_loop(x, grad, sq, avg, buf, n, s, coupled, False, False)


cdef inline bint _adamax_loop(
    floating* x, const floating* grad, floating* m, floating* u, Py_ssize_t n,
    const StepScalars* s, bint coupled,
) noexcept nogil:
    cdef floating sign = <floating>s.sign, wd = <floating>s.weight_decay
    cdef floating clamp = <floating>s.clamp
    cdef floating clr = <floating>s.lr, eps = <floating>s.eps_hat, beta2 = <floating>s.beta2
    cdef floating c1 = <floating>s.one_minus_beta1, p1 = <floating>s.p1, q1 = <floating>s.q1
    cdef floating xl = <floating>s.x_limit, ml = <floating>s.s_limit
    cdef floating rl = <floating>s.r_limit
    cdef floating xi, gi, mi, ui, ai, xn, big = 0
    cdef Py_ssize_t i
    for i in range(n):
        xi = x[i]
        gi = _grad_at(grad, xi, i, sign, wd, clamp, coupled)
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
    const StepScalars* s, bint coupled,
) noexcept nogil:
    cdef floating sign = <floating>s.sign, wd = <floating>s.weight_decay
    cdef floating clamp = <floating>s.clamp
    cdef floating decay = <floating>s.decay
    cdef floating cg = <floating>s.lr, cm = <floating>s.lr2, eps_hat = <floating>s.eps_hat
    cdef floating c1 = <floating>s.one_minus_beta1, p1 = <floating>s.p1, q1 = <floating>s.q1
    cdef floating c2 = <floating>s.one_minus_beta2, p2 = <floating>s.p2, q2 = <floating>s.q2
    cdef floating xl = <floating>s.x_limit, ml = <floating>s.s_limit
    cdef floating xi, gi, mi, vi, xn, big = 0
    cdef Py_ssize_t i
    for i in range(n):
        xi = x[i]
        gi = _grad_at(grad, xi, i, sign, wd, clamp, coupled)
        mi = _average(m[i], gi, p1, q1, c1)
        vi = _average(v[i], gi * gi, p2, q2, c2)
        m[i] = mi
        v[i] = vi
        xn = xi * decay - (cg * gi + cm * mi) / (_sqrt(vi) + eps_hat)
        x[i] = xn
        big = _over_x(big, xn, xl)
        big = _over(big, mi, ml)
    return big != 0


cdef inline bint _radam_loop(
    floating* x, const floating* grad, floating* m, floating* v, Py_ssize_t n,
    const StepScalars* s, bint coupled, bint rectified,
) noexcept nogil:
    """RAdam: Adam's moments; ``x * decay - step * m / (sqrt(v) + eps)`` once
    the variance is tractable (rectified), else ``x * decay - lr * m``."""
    cdef floating sign = <floating>s.sign, wd = <floating>s.weight_decay
    cdef floating clamp = <floating>s.clamp
    cdef floating decay = <floating>s.decay, lr = <floating>s.lr
    cdef floating step = <floating>s.step, eps_hat = <floating>s.eps_hat
    cdef floating c1 = <floating>s.one_minus_beta1, p1 = <floating>s.p1, q1 = <floating>s.q1
    cdef floating c2 = <floating>s.one_minus_beta2, p2 = <floating>s.p2, q2 = <floating>s.q2
    cdef floating xl = <floating>s.x_limit, ml = <floating>s.s_limit
    cdef floating xi, gi, mi, vi, xn, big = 0
    cdef Py_ssize_t i
    for i in range(n):
        xi = x[i]
        gi = _grad_at(grad, xi, i, sign, wd, clamp, coupled)
        mi = _average(m[i], gi, p1, q1, c1)
        vi = _average(v[i], gi * gi, p2, q2, c2)
        m[i] = mi
        v[i] = vi
        if rectified:
            xn = xi * decay - step * mi / (_sqrt(vi) + eps_hat)
        else:
            xn = xi * decay - lr * mi
        x[i] = xn
        big = _over_x(big, xn, xl)
        big = _over(big, mi, ml)
    return big != 0


# ---------------------------------------------------------------------------
# Kernel ids, per-step scalars and the dispatch.  An algorithm adds its id to
# the enum and to KERNELS, its ``prepare`` branch and its ``update`` branch.

cdef enum:
    K_ADAM = 0
    K_SGD = 1
    K_ADAGRAD = 2
    K_RMSPROP = 3
    K_ADAMAX = 4
    K_NADAM = 5
    K_RADAM = 6
    K_SF_ADAMW = 7
    K_SF_SGD = 8

#: The kernel id of each algorithm, by the name its declaration gives.
KERNELS = {"adam": K_ADAM, "sgd": K_SGD, "adagrad": K_ADAGRAD, "rmsprop": K_RMSPROP,
           "adamax": K_ADAMAX, "nadam": K_NADAM, "radam": K_RADAM,
           "schedulefree_adamw": K_SF_ADAMW, "schedulefree_sgd": K_SF_SGD}

include "_loops_schedulefree.pxi"

include "_loops_dadapt.pxi"
KERNELS.update(DADAPT_KERNELS)


cdef inline void _moment_form(double beta, double* p, double* q) noexcept nogil:
    """The form of an exponential average with decay ``beta`` (see the
    module docstring of _kernels.pyx): ``p * m + c * (g - q * m)``."""
    if beta >= 0.5:
        p[0] = 1.0   # interpolation: m + (1 - beta) * (g - m)
        q[0] = 1.0
    else:
        p[0] = beta  # weighted sum: beta * m + (1 - beta) * g
        q[0] = 0.0


cdef inline void _moments(double beta1, double beta2, StepScalars* s) noexcept nogil:
    """The forms of the first and second moments' averages."""
    s.one_minus_beta1 = 1.0 - beta1
    _moment_form(beta1, &s.p1, &s.q1)
    s.one_minus_beta2 = 1.0 - beta2
    _moment_form(beta2, &s.p2, &s.q2)


cdef void _prepare(int kernel, const Hyperparameters* h, long long t, StepScalars* s,
                   int* flags) noexcept nogil:
    """The table's entry of `_prepare_step`."""
    _prepare_step(kernel, h, t, s, flags)


cdef inline void _prepare_step(int kernel, const Hyperparameters* h, long long t,
                               StepScalars* s, int* flags) noexcept nogil:
    """The scalars of step ``t`` of ``kernel``, in float64.  The core has set
    sign, weight_decay, decay and copied the scalar state (``scalars``: the
    algorithm writes its values after the step there); this sets the fields the core
    checks, then what the algorithm's loop reads.

    * Adam: ``step = lr_t sqrt(1 - beta2**t) / (1 - beta1**t)``,
      ``eps_hat = eps sqrt(1 - beta2**t)`` (and the closed form at t = 1).
    * SGD: the step ``lr_t``, ``momentum``, ``1 - dampening``.
    * Adagrad: ``lr_t / (1 + (t - 1) lr_decay)``.
    * RMSprop: ``lr_t``, ``momentum``, ``1 - alpha`` in the form of
      ``_moment_form(alpha)``.
    * Adamax: ``lr_t / (1 - beta1**t)``; ``beta2``.
    * NAdam: with ``mu_t = beta1 (1 - 0.96**(t psi) / 2)``, the products
      ``P_t = mu_1 ... mu_t`` (kept in float64) and ``r = sqrt(1 - beta2**t)``,
      the coefficients of g and m ``lr_t (1 - mu_t) r / (1 - P_t)`` and
      ``lr_t mu_{t+1} r / (1 - P_t mu_{t+1})`` and the denominator's
      ``eps r``: ``x -= (c_g g + c_m m) / (sqrt(v) + eps r)`` is PyTorch's
      ``x -= lr_t ((1 - mu_t) g / (1 - P_t) + mu_{t+1} m / (1 - P_{t+1})) /
      (sqrt(v / (1 - beta2**t)) + eps)`` with one square root and one
      division per element.
    """
    cdef double bc2_sqrt, mu, mu_next, bc1, bc2, rho_inf, rho_t
    # The fields the core checks, then each algorithm's own.
    s.lr = h.lr
    s.lr2 = 0.0
    s.step = 0.0
    s.eps = h.eps
    s.eps_hat = h.eps
    if kernel == K_ADAM:
        _moments(h.beta1, h.beta2, s)
        bc2_sqrt = sqrt(1.0 - pow(h.beta2, <double>t))
        s.step = h.lr * bc2_sqrt / (1.0 - pow(h.beta1, <double>t))
        s.eps_hat = h.eps * bc2_sqrt
        if t == 1:   # the state is zero (load_state_dict enforces it)
            flags[0] |= F_FIRST
    elif kernel == K_SGD:
        s.momentum = h.momentum
        s.damp = 1.0 - h.dampening
        s.eps_hat = 1.0   # SGD adds no eps
        if h.momentum != 0.0:
            flags[0] |= F_MOMENTUM
            if t == 1:
                flags[0] |= F_FIRST
    elif kernel == K_ADAGRAD:
        s.lr = h.lr / (1.0 + (t - 1) * h.lr_decay)
    elif kernel == K_RMSPROP:
        s.momentum = h.momentum
        s.one_minus_beta2 = 1.0 - h.alpha
        _moment_form(h.alpha, &s.p2, &s.q2)
        if h.momentum > 0.0:
            flags[0] |= F_MOMENTUM
    elif kernel == K_ADAMAX:
        _moments(h.beta1, h.beta2, s)
        s.beta2 = h.beta2
        s.lr = h.lr / (1.0 - pow(h.beta1, <double>t))
    elif kernel == K_NADAM:
        _moments(h.beta1, h.beta2, s)
        bc2_sqrt = sqrt(1.0 - pow(h.beta2, <double>t))
        mu = h.beta1 * (1.0 - 0.5 * pow(0.96, t * h.momentum_decay))
        mu_next = h.beta1 * (1.0 - 0.5 * pow(0.96, (t + 1) * h.momentum_decay))
        s.scalars[0] = h.scalars[0] * mu      # the product P_t (scalar state 0)
        s.lr = h.lr * (1.0 - mu) / (1.0 - s.scalars[0]) * bc2_sqrt
        s.lr2 = h.lr * mu_next / (1.0 - s.scalars[0] * mu_next) * bc2_sqrt
        s.eps_hat = h.eps * bc2_sqrt
    elif kernel == K_RADAM:
        # rho_inf - 2 t beta2**t / (1 - beta2**t): the length of the
        # approximated simple moving average; rectified once above 5.
        _moments(h.beta1, h.beta2, s)
        bc1 = 1.0 - pow(h.beta1, <double>t)
        bc2 = 1.0 - pow(h.beta2, <double>t)
        rho_inf = 2.0 / (1.0 - h.beta2) - 1.0
        rho_t = rho_inf - 2.0 * t * pow(h.beta2, <double>t) / bc2
        s.lr = h.lr / bc1
        if rho_t > 5.0:
            flags[0] |= F_RECTIFIED
            s.step = (h.lr * sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                                  / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
                      * sqrt(bc2) / bc1)
    elif _dadapt_kernel(kernel):
        _dadapt_prepare(kernel, h, t, s, flags)
    elif kernel == K_SF_ADAMW or kernel == K_SF_SGD:   # (_loops_schedulefree.pxi)
        _sf_prepare(h, t, s, h.beta1 if kernel == K_SF_ADAMW else h.momentum,
                    kernel == K_SF_ADAMW)


include "_guard.pxi"


cdef inline bint _update(
    int kernel, floating* x, const floating* grad, floating** st, Py_ssize_t n,
    const StepScalars* s, int flags,
) noexcept nogil:
    """One step of ``kernel`` over n elements; ``st`` holds its state arrays
    in the order of its declaration (Adam: m, v, vmax; SGD: the momentum
    buffer; Adagrad: the sum of squares; RMSprop: the square average, the
    gradient average and the momentum buffer; Adamax: m and the infinity
    norm u; NAdam: m and v), NULL where one is absent.  Each option is
    fixed at one level here, so every combination gets its own specialised
    loop.  Returns whether a new value exceeded its limit (the overflow
    guard, `_guard`)."""
    cdef bint coupled = (flags & F_COUPLED) != 0
    if kernel == K_ADAM:
        return _adam_update(x, grad, st[0], st[1], st[2], n, s, coupled,
                            (flags & F_AMSGRAD) != 0, (flags & F_FIRST) != 0)
    elif kernel == K_SGD:
        if coupled:
            return _sgd_momentum(x, grad, st[0], n, s, True, flags)
        else:
            return _sgd_momentum(x, grad, st[0], n, s, False, flags)
    elif kernel == K_ADAGRAD:
        if coupled:
            return _adagrad_loop(x, grad, st[0], n, s, True)
        else:
            return _adagrad_loop(x, grad, st[0], n, s, False)
    elif kernel == K_RMSPROP:
        if coupled:
            return _rmsprop_momentum(x, grad, st[0], st[1], st[2], n, s, True, flags)
        else:
            return _rmsprop_momentum(x, grad, st[0], st[1], st[2], n, s, False, flags)
    elif kernel == K_ADAMAX:
        if coupled:
            return _adamax_loop(x, grad, st[0], st[1], n, s, True)
        else:
            return _adamax_loop(x, grad, st[0], st[1], n, s, False)
    elif kernel == K_NADAM:
        if coupled:
            return _nadam_loop(x, grad, st[0], st[1], n, s, True)
        else:
            return _nadam_loop(x, grad, st[0], st[1], n, s, False)
    elif kernel == K_RADAM:
        if flags & F_RECTIFIED:
            if coupled:
                return _radam_loop(x, grad, st[0], st[1], n, s, True, True)
            else:
                return _radam_loop(x, grad, st[0], st[1], n, s, False, True)
        elif coupled:
            return _radam_loop(x, grad, st[0], st[1], n, s, True, False)
        else:
            return _radam_loop(x, grad, st[0], st[1], n, s, False, False)
    elif _dadapt_kernel(kernel):
        return _dadapt_update(x, grad, st, n, s, flags)
    elif kernel == K_SF_ADAMW:
        return _sf_adamw_loop(x, grad, st[0], st[1], n, s)
    elif kernel == K_SF_SGD:
        if coupled:
            return _sf_sgd_loop(x, grad, st[0], n, s, True)
        return _sf_sgd_loop(x, grad, st[0], n, s, False)
    return False


cdef bint _update64(int kernel, double* x, const double* grad, double** state,
                    Py_ssize_t n, const StepScalars* s, int flags) noexcept nogil:
    return _update(kernel, x, grad, state, n, s, flags)


cdef bint _update32(int kernel, float* x, const float* grad, float** state,
                    Py_ssize_t n, const StepScalars* s, int flags) noexcept nogil:
    return _update(kernel, x, grad, state, n, s, flags)

include "_check.pxi"


cdef KernelTable _own_table
_own_table.prepare = _prepare
_own_table.update64 = _update64
_own_table.update32 = _update32
_own_table.any_bad64 = _any_bad64
_own_table.any_bad32 = _any_bad32
_own_table.first_bad = _first_bad_any
_own_table.stream64 = _stream64
_own_table.stream32 = _stream32
_own_table.sumsq64 = _sumsq64
_own_table.sumsq32 = _sumsq32
_own_table.reduce64 = _reduce64
_own_table.reduce32 = _reduce32

#: The loops of this variant, for ``adamopt._kernels``.
TABLE = PyCapsule_New(<void*>&_own_table, b"adamopt._kernel_api.KernelTable", NULL)
