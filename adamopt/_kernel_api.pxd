"""Declarations shared by ``adamopt._kernels`` and its compiled loop variants.

Each variant module (``adamopt._loops_baseline``, ``adamopt._loops_avx2``) is
the same source, ``_loops.pxi``, compiled with other instruction-set flags; it
exports its loops as a `KernelTable` in a capsule, and ``adamopt._kernels``
calls the table of the variant chosen at import time.
"""


cdef struct AdamScalars:
    double sign             # -1.0 to maximize, else 1.0
    double weight_decay     # coupled L2 coefficient (only read when coupled)
    double decay            # decoupled multiplicative decay of x (1.0 when none)
    double one_minus_beta1  # c1
    double one_minus_beta2  # c2
    double p1, q1, p2, q2   # the form of the moment updates (see _kernels.pyx)
    double lr               # lr_t, used by the closed-form first step
    double eps              # eps, used by the closed-form first step
    double step             # lr_t * sqrt(1 - beta2**t) / (1 - beta1**t)
    double eps_hat          # eps * sqrt(1 - beta2**t)
    double x_limit          # the loop returns whether a new |x| exceeds it
    double s_limit          # ... or a new |m| (the overflow guard, _kernels.pyx)


# The algorithms of the family kernels (``algo`` of `family64_fn`); Adam and
# AdamW have their own entries (`update64_fn`).
cdef enum:
    ALGO_ADAM = 0
    ALGO_SGD = 1
    ALGO_ADAGRAD = 2
    ALGO_RMSPROP = 3
    ALGO_ADAMAX = 4
    ALGO_NADAM = 5

# Options of a family step that change the arithmetic (``flags``, one bit each).
cdef enum:
    F_COUPLED = 1     # coupled L2: g + weight_decay * x
    F_MOMENTUM = 2    # SGD, RMSprop: a momentum buffer
    F_NESTEROV = 4    # SGD: Nesterov's form
    F_FIRST = 8       # SGD: the buffer starts as the gradient (step 1)
    F_CENTERED = 16   # RMSprop: divide by the centred second moment


cdef struct FamilyScalars:
    # The per-step scalars of the family kernels, in float64 (the meaning of
    # each for each algorithm is in _kernels.pyx).
    double sign             # -1.0 to maximize, else 1.0
    double weight_decay     # coupled L2 coefficient (only read when coupled)
    double decay            # decoupled multiplicative decay of x (1.0 when none)
    double lr               # the step size that multiplies the update
    double lr2              # NAdam: the step size of the first moment
    double momentum         # SGD, RMSprop: the momentum factor
    double damp             # SGD: 1 - dampening
    double one_minus_beta1  # c1 of the first moment (Adamax, NAdam)
    double p1, q1           # its form (as AdamScalars)
    double one_minus_beta2  # c2 of the second moment (NAdam; RMSprop: 1 - alpha,
    double p2, q2           # for both of its averages)
    double beta2            # Adamax: decay of the infinity norm
    double eps              # eps (NAdam: eps * sqrt(1 - beta2**t))
    # The magnitudes the step's new values are compared with (SGD, Adagrad,
    # NAdam): the loop returns whether any new x exceeds x_limit or any new
    # value of the bounded state array (the momentum buffer, the sum of
    # squares, NAdam's m) exceeds s_limit; the next step's overflow bound
    # assumes neither did.
    double x_limit
    double s_limit
    double r_limit          # Adamax: ... or a new |m| > r_limit * u


ctypedef bint (*update64_fn)(
    double* x, const double* grad, double* m, double* v, double* vmax,
    Py_ssize_t n, const AdamScalars* s, bint coupled, bint amsgrad, bint first,
) noexcept nogil

ctypedef bint (*update32_fn)(
    float* x, const float* grad, float* m, float* v, float* vmax,
    Py_ssize_t n, const AdamScalars* s, bint coupled, bint amsgrad, bint first,
) noexcept nogil

ctypedef bint (*any_bad64_fn)(
    const double* g, const double* x, Py_ssize_t n,
    double sign, double weight_decay, double limit, bint coupled,
) noexcept nogil

ctypedef bint (*any_bad32_fn)(
    const float* g, const float* x, Py_ssize_t n,
    double sign, double weight_decay, double limit, bint coupled,
) noexcept nogil

ctypedef bint (*family64_fn)(
    int algo, double* x, const double* grad, double* a, double* b, double* c,
    Py_ssize_t n, const FamilyScalars* s, int flags,
) noexcept nogil

ctypedef bint (*family32_fn)(
    int algo, float* x, const float* grad, float* a, float* b, float* c,
    Py_ssize_t n, const FamilyScalars* s, int flags,
) noexcept nogil

ctypedef void (*stream64_fn)(double* x, const double* g, double* m, double* v,
                             Py_ssize_t n) noexcept nogil

ctypedef void (*stream32_fn)(float* x, const float* g, float* m, float* v,
                             Py_ssize_t n) noexcept nogil


cdef struct KernelTable:
    update64_fn update64
    update32_fn update32
    any_bad64_fn any_bad64
    any_bad32_fn any_bad32
    family64_fn family64    # SGD, Adagrad, RMSprop, Adamax, NAdam
    family32_fn family32
    stream64_fn stream64    # the memory-bandwidth probe of the benchmarks
    stream32_fn stream32
