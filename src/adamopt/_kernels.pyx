# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
# cython: initializedcheck=False
"""Compiled update loops of Adam and AdamW.

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

This module does no validation beyond what keeps memory safe: the public
classes in ``adamopt._optimizers`` check every argument and supply the error
messages through the ``_slow_grad``, ``_schedule_value``, ``_raise_bad_grad``,
``_raise_bad_scalars`` and ``_raise_params_changed`` hooks.
"""

cimport cython
cimport numpy as cnp
from cython cimport floating
from libc.float cimport DBL_MAX, FLT_MAX
from libc.math cimport fabs, fabsf, isfinite, nextafter, nextafterf, pow, sqrt, sqrtf
from libc.string cimport memcmp

cnp.import_array()

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


cdef struct AdamScalars:
    double sign             # -1.0 to maximize, else 1.0
    double weight_decay     # coupled L2 coefficient (only read when coupled)
    double decay            # decoupled multiplicative decay of x (1.0 when none)
    double one_minus_beta1  # c1
    double one_minus_beta2  # c2
    double p1, q1, p2, q2   # the form of the moment updates, see above
    double lr               # lr_t, used by the closed-form first step
    double eps              # eps, used by the closed-form first step
    double step             # lr_t * sqrt(1 - beta2**t) / (1 - beta1**t)
    double eps_hat          # eps * sqrt(1 - beta2**t)


cdef inline void _moment_form(double beta, double* p, double* q) noexcept nogil:
    if beta >= 0.5:
        p[0] = 1.0   # interpolation: m + (1 - beta) * (g - m)
        q[0] = 1.0
    else:
        p[0] = beta  # weighted sum: beta * m + (1 - beta) * g
        q[0] = 0.0


cdef inline floating _sqrt(floating a) noexcept nogil:
    if floating is float:
        return sqrtf(a)
    else:
        return sqrt(a)


cdef inline void _adam_loop(
    floating* x, const floating* grad, floating* m, floating* v, floating* vmax,
    Py_ssize_t n, const AdamScalars* s, bint coupled, bint amsgrad, bint first,
) noexcept nogil:
    """The update of every element.  ``coupled``, ``amsgrad`` and ``first``
    are constants at each call site, so the compiler emits one specialised
    loop per case (check the assembly: each one vectorises)."""
    # Scalars in locals of the array's type: stores through x, m, v cannot
    # alias them, so they stay in registers and the loop vectorises.
    cdef floating sign = <floating>s.sign, wd = <floating>s.weight_decay
    cdef floating decay = <floating>s.decay
    cdef floating c1 = <floating>s.one_minus_beta1, c2 = <floating>s.one_minus_beta2
    cdef floating p1 = <floating>s.p1, q1 = <floating>s.q1
    cdef floating p2 = <floating>s.p2, q2 = <floating>s.q2
    cdef floating step = <floating>s.step, eps_hat = <floating>s.eps_hat
    cdef double lr = s.lr, eps = s.eps, decay64 = s.decay, g64
    cdef floating xi, gi, mi, vi, wi
    cdef Py_ssize_t i
    for i in range(n):
        xi = x[i]
        gi = sign * grad[i]
        if coupled:
            gi = gi + wd * xi
        mi = m[i]
        mi = p1 * mi + c1 * (gi - q1 * mi)
        vi = v[i]
        vi = p2 * vi + c2 * (gi * gi - q2 * vi)
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
            x[i] = <floating>(xi * decay64 - lr * g64 / (fabs(g64) + eps))
        else:
            x[i] = xi * decay - step * mi / (_sqrt(wi) + eps_hat)


cdef void _adam_update(
    floating* x, const floating* grad, floating* m, floating* v, floating* vmax,
    Py_ssize_t n, const AdamScalars* s, bint coupled, bint amsgrad, bint first,
) noexcept nogil:
    if first:
        if coupled:
            if amsgrad:
                _adam_loop(x, grad, m, v, vmax, n, s, True, True, True)
            else:
                _adam_loop(x, grad, m, v, vmax, n, s, True, False, True)
        elif amsgrad:
            _adam_loop(x, grad, m, v, vmax, n, s, False, True, True)
        else:
            _adam_loop(x, grad, m, v, vmax, n, s, False, False, True)
    elif coupled:
        if amsgrad:
            _adam_loop(x, grad, m, v, vmax, n, s, True, True, False)
        else:
            _adam_loop(x, grad, m, v, vmax, n, s, True, False, False)
    elif amsgrad:
        _adam_loop(x, grad, m, v, vmax, n, s, False, True, False)
    else:
        _adam_loop(x, grad, m, v, vmax, n, s, False, False, False)


cdef inline floating _abs(floating a) noexcept nogil:
    if floating is float:
        return fabsf(a)
    else:
        return fabs(a)


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


cdef Py_ssize_t _first_bad(
    const floating* grad, const floating* x, Py_ssize_t n,
    double sign, double weight_decay, bint coupled, floating limit,
) noexcept nogil:
    """Index of the first element whose effective gradient (computed as in
    `_adam_loop`) is NaN, infinite or larger in magnitude than ``limit``;
    -1 when there is none."""
    cdef floating sg = <floating>sign, wd = <floating>weight_decay
    cdef bint bad
    cdef Py_ssize_t j
    if coupled:   # constant flags at each call: one specialised scan each
        bad = _any_bad(grad, x, n, sg, wd, limit, True)
    else:
        bad = _any_bad(grad, x, n, sg, wd, limit, False)
    if not bad:
        return -1
    for j in range(n):   # rare: locate the first offender for the message
        if not (_abs(_effective(grad, x, j, sg, wd, coupled)) <= limit):
            return j
    return -1


@cython.auto_pickle(False)
cdef class AdamCore:
    """Parameters, moments and the compiled step of Adam and AdamW.

    A base class: construct `adamopt.Adam` or `adamopt.AdamW`, which validate
    their arguments, allocate the state and then call `_bind`.
    """

    cdef readonly cnp.ndarray _x, _m, _v, _vmax
    cdef Py_ssize_t _n
    cdef int _typenum
    cdef int _layout_flag
    cdef public long long _t
    cdef public double _lr, _beta1, _beta2, _eps, _weight_decay
    cdef public object _lr_fn, _schedule
    cdef public bint _maximize, _check_finite, _decay_by_schedule
    cdef readonly bint _decoupled, _amsgrad

    def _bind(self, cnp.ndarray params, cnp.ndarray m, cnp.ndarray v, vmax,
              bint decoupled, bint amsgrad):
        """Hold ``params`` and the state arrays.

        The caller has validated ``params``; this re-checks what memory safety
        depends on (equal sizes, dtypes and layouts) and raises `ValueError`
        otherwise.
        """
        cdef int flag = (cnp.NPY_ARRAY_C_CONTIGUOUS if cnp.PyArray_IS_C_CONTIGUOUS(params)
                         else cnp.NPY_ARRAY_F_CONTIGUOUS)
        arrays = [params, m, v] + ([vmax] if amsgrad else [])
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
        self._m = m
        self._v = v
        self._vmax = vmax if amsgrad else None
        self._n = cnp.PyArray_SIZE(params)
        self._typenum = cnp.PyArray_TYPE(params)
        self._layout_flag = flag
        self._decoupled = decoupled
        self._amsgrad = amsgrad

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

    def step(self, grad):
        """Take one optimization step with the gradient ``grad``.

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
            a NaN, an infinity or a value whose square would overflow the
            moments; the parameters and the state are then unchanged.
        TypeError
            If ``grad`` is not an array of real numbers.
        """
        if not self._params_intact():
            self._raise_params_changed()
        cdef long long t = self._t + 1
        cdef double lr_t, eta = 1.0
        if self._lr_fn is None:
            lr_t = self._lr
        else:
            lr_t = self._schedule_value("lr", self._lr_fn, t)
        if self._schedule is not None:
            eta = self._schedule_value("schedule", self._schedule, t)
            lr_t = lr_t * eta
        if not self._grad_ready(grad):
            grad = self._slow_grad(grad)
            if not self._grad_ready(grad):
                raise ValueError("internal error: gradient conversion failed")
        cdef cnp.ndarray g = <cnp.ndarray>grad
        cdef void* gp = cnp.PyArray_DATA(g)
        cdef void* xp = cnp.PyArray_DATA(self._x)
        cdef void* mp = cnp.PyArray_DATA(self._m)
        cdef void* vp = cnp.PyArray_DATA(self._v)
        cdef void* wp = cnp.PyArray_DATA(self._vmax) if self._amsgrad else NULL
        cdef Py_ssize_t n = self._n
        cdef bint coupled = (not self._decoupled) and self._weight_decay != 0.0
        cdef bint is64 = self._typenum == cnp.NPY_FLOAT64
        cdef double sign = -1.0 if self._maximize else 1.0
        cdef Py_ssize_t bad
        if self._check_finite and n > 0:
            if is64:
                bad = _first_bad(<const double*>gp, <const double*>xp, n, sign,
                                 self._weight_decay, coupled, LIMIT64)
            else:
                bad = _first_bad(<const float*>gp, <const float*>xp, n, sign,
                                 self._weight_decay, coupled, LIMIT32)
            if bad >= 0:
                self._raise_bad_grad(g, bad)

        cdef AdamScalars s
        cdef double bc1 = 1.0 - pow(self._beta1, <double>t)
        cdef double bc2_sqrt = sqrt(1.0 - pow(self._beta2, <double>t))
        s.sign = sign
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
        # The scalars as the loop will see them, in the parameters' dtype.
        if not (isfinite(s.step) and isfinite(s.decay) and (is64 or (
                isfinite(<float>s.step) and isfinite(<float>s.decay)
                and isfinite(<float>s.lr)))):
            self._raise_bad_scalars("lr", lr_t, t)
        if not (s.eps_hat > 0 and (is64 or <float>s.eps_hat > 0)):
            self._raise_bad_scalars("eps", self._eps, t)
        # t == 1 starts from the zero state (load_state_dict enforces it).
        cdef bint first = t == 1

        cdef bint amsgrad = self._amsgrad
        if n >= NOGIL_MIN_SIZE:
            with nogil:
                if is64:
                    _adam_update(<double*>xp, <double*>gp, <double*>mp, <double*>vp,
                                 <double*>wp, n, &s, coupled, amsgrad, first)
                else:
                    _adam_update(<float*>xp, <float*>gp, <float*>mp, <float*>vp,
                                 <float*>wp, n, &s, coupled, amsgrad, first)
        elif is64:
            _adam_update(<double*>xp, <double*>gp, <double*>mp, <double*>vp,
                         <double*>wp, n, &s, coupled, amsgrad, first)
        else:
            _adam_update(<float*>xp, <float*>gp, <float*>mp, <float*>vp,
                         <float*>wp, n, &s, coupled, amsgrad, first)
        self._t = t
        return self._x

    @property
    def params(self):
        """The parameter array, updated in place by `step`."""
        return self._x
