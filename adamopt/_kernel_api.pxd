"""Declarations shared by ``adamopt._kernels`` and its compiled loop variants.

Each variant module (``adamopt._loops_baseline``, ``adamopt._loops_avx2``) is
the same source, ``_loops.pxi``, compiled with other instruction-set flags; it
exports its loops as a `KernelTable` in a capsule, and ``adamopt._kernels``
calls the table of the variant chosen at import time.

One step of any algorithm is: ``prepare`` computes the step's scalars in
float64 from the hyperparameters (once per step), then ``update`` runs the
algorithm's loop over a range of elements.  Both dispatch on the kernel id,
which ``_loops.pxi`` assigns (its ``KERNELS`` table, by algorithm name).
"""

# Options of a step that change the arithmetic (``flags``, one bit each).
# The core sets F_COUPLED and the fixed options (F_AMSGRAD, F_NESTEROV,
# F_CENTERED); each algorithm's ``prepare`` adds the ones it derives.
cdef enum:
    F_COUPLED = 1     # coupled L2: g + weight_decay * x
    F_MOMENTUM = 2    # SGD, RMSprop: a momentum buffer
    F_NESTEROV = 4    # SGD: Nesterov's form
    # the first step (SGD: the buffer starts as the gradient; Adam: the
    # closed form of the first step)
    F_FIRST = 8
    F_CENTERED = 16   # RMSprop: divide by the centred second moment
    F_AMSGRAD = 32    # Adam: divide by the running maximum of v
    F_RECTIFIED = 64  # RAdam: the variance of the adaptive rate is tractable
    F_NO_MOMENT = 128  # Prodigy with beta1 = 0: step with g, not m (_loops_dadapt.pxi)
    F_DECAY = 256     # Prodigy, D-Adapt: decoupled decay x + lr2 x (_loops_dadapt.pxi)


# The most scalars of state (besides t) an algorithm may have.
cdef enum:
    MAX_SCALARS = 4


cdef struct Hyperparameters:
    # What ``prepare`` reads: the hyperparameters of the step, in float64.
    double lr               # lr_t: the learning rate times the schedule multiplier
    double eta              # the schedule multiplier alone (1.0 without one)
    double beta1, beta2, eps
    double weight_decay
    double momentum, dampening, alpha, lr_decay, momentum_decay
    double warmup_steps, r, weight_lr_power   # schedule-free
    # The algorithm's scalar state (its declaration's ``scalars``, in their
    # order), before the step: kept in float64 by the core, saved in the
    # state dicts, never touched by the loops.  NAdam: the product of
    # momentum coefficients; schedule-free: lr_max and weight_sum.
    double scalars[MAX_SCALARS]
    bint decoupled          # the decay acts on x directly (AdamW, NAdamW, RAdamW)
    bint decay_by_schedule  # ... scaled by eta instead of lr_t (AdamW's "schedule")
    # The overflow guard's premise (see ``_guard`` in _loops.pxi): every finite
    # |x| is at most x_bound, every value of the bounded state array (m; SGD's
    # buffer: b_limit) at most s_bound, Adamax's |m| / u at most r_bound.
    double x_bound, s_bound, r_bound, b_limit
    # Gradient clipping (the segmented step, _segments.pxi): the group's
    # ``max_grad_norm`` (< 0: none) and ``max_grad_value`` (infinity: none).
    double max_grad_norm, max_grad_value
    # The options of Prodigy and D-Adaptation (_loops_dadapt.pxi; beta3 < 0:
    # sqrt(beta2)); their d, d_max and numerator are ``scalars``.
    double d0, d_coef, growth_rate, beta3
    bint bias_correction, safeguard_warmup
    # Their overflow guard's premise besides x_bound and s_bound (|m|): v and |s|.
    double v_bound, z_bound


cdef struct StepScalars:
    # The per-step scalars of every loop, in float64; each algorithm's
    # ``prepare`` sets what its loop reads (their meaning per algorithm is in
    # ``_loops.pxi``).  The core checks lr, lr2, step, decay (finite in the
    # parameters' dtype) and eps_hat (positive) before the pass.
    double sign             # -1.0 to maximize, else 1.0
    double weight_decay     # coupled L2 coefficient (only read when coupled)
    double decay            # decoupled multiplicative decay of x (1.0 when none)
    double lr               # the step size that multiplies the update
    double lr2              # NAdam: the step size of the first moment
    double step             # Adam: lr_t * sqrt(1 - beta2**t) / (1 - beta1**t)
    double momentum         # SGD, RMSprop: the momentum factor
    double damp             # SGD: 1 - dampening
    double one_minus_beta1  # c1 of the first moment
    double p1, q1           # its form (see ``_moment_form`` in _loops.pxi)
    double one_minus_beta2  # c2 of the second moment (RMSprop: 1 - alpha)
    double p2, q2
    double beta2            # Adamax: decay of the infinity norm
    double eps              # eps as given (Adam's closed-form first step)
    double eps_hat          # eps as the loop adds it (1.0 where none is added)
    # The scalar state after the step (``prepare`` writes it; the core has
    # copied the state before the step in first, and keeps these values only
    # once the pass has run: a refused step changes nothing).
    double scalars[MAX_SCALARS]
    # The magnitudes the pass compares its new values with (the overflow
    # guard, ``_guard``): the loop returns whether any new finite x exceeds
    # x_limit or any new value of the bounded state array s_limit (Adamax:
    # or |m| > r_limit * u); the next step's guard assumes neither did.
    double x_limit, s_limit, r_limit
    # The gradient clamp of ``max_grad_value`` (infinity when unset), applied
    # before ``sign`` (which carries the ``max_grad_norm`` coefficient).
    double clamp
    # Prodigy and D-Adaptation (_loops_dadapt.pxi): the coefficients of g in
    # m, v and s, the decay of s, the step before the d update, the scale of
    # the numerator's sum.
    double c_m, c_v, c_s, beta3, dlr, num_scale
    double z_limit          # their guard: the bound of the new |s| (r_limit: of v)


ctypedef void (*prepare_fn)(int kernel, const Hyperparameters* h, long long t,
                            StepScalars* s, int* flags) noexcept nogil

ctypedef bint (*update64_fn)(int kernel, double* x, const double* grad, double** state,
                             Py_ssize_t n, const StepScalars* s, int flags) noexcept nogil

ctypedef bint (*update32_fn)(int kernel, float* x, const float* grad, float** state,
                             Py_ssize_t n, const StepScalars* s, int flags) noexcept nogil

ctypedef bint (*any_bad64_fn)(
    const double* g, const double* x, Py_ssize_t n,
    double sign, double weight_decay, double limit, bint coupled,
) noexcept nogil

ctypedef bint (*any_bad32_fn)(
    const float* g, const float* x, Py_ssize_t n,
    double sign, double weight_decay, double limit, bint coupled,
) noexcept nogil

# The index of the first bad element (for the error message), of float64
# (is64) or float32 arrays.
ctypedef Py_ssize_t (*first_bad_fn)(bint is64, const void* g, const void* x, Py_ssize_t n,
                                    double sign, double weight_decay, double limit,
                                    bint coupled) noexcept nogil

ctypedef void (*stream64_fn)(double* x, const double* g, double* m, double* v,
                             Py_ssize_t n) noexcept nogil

ctypedef void (*stream32_fn)(float* x, const float* g, float* m, float* v,
                             Py_ssize_t n) noexcept nogil


# The sum of squares of ``clamp(g)`` over n elements, in float64 (clipping).
ctypedef double (*sumsq64_fn)(const double* g, Py_ssize_t n, double clamp) noexcept nogil

ctypedef double (*sumsq32_fn)(const float* g, Py_ssize_t n, double clamp) noexcept nogil


# Prodigy's and D-Adaptation's first pass over n elements: the two sums of
# the distance estimate (the numerator's and the denominator's), in float64.
ctypedef void (*reduce64_fn)(int kernel, const double* x, const double* grad,
                             double** state, Py_ssize_t n, const StepScalars* s,
                             int flags, double* sums) noexcept nogil

ctypedef void (*reduce32_fn)(int kernel, const float* x, const float* grad,
                             float** state, Py_ssize_t n, const StepScalars* s,
                             int flags, double* sums) noexcept nogil


# The most state arrays an algorithm may have.
cdef enum:
    MAX_STATE = 4


cdef struct KernelTable:
    prepare_fn prepare
    update64_fn update64
    update32_fn update32
    any_bad64_fn any_bad64
    any_bad32_fn any_bad32
    first_bad_fn first_bad
    stream64_fn stream64    # the memory-bandwidth probe of the benchmarks
    stream32_fn stream32
    sumsq64_fn sumsq64      # the sums of squares of max_grad_norm (_segments.pxi)
    sumsq32_fn sumsq32
    reduce64_fn reduce64    # the distance estimate's sums (_loops_dadapt.pxi)
    reduce32_fn reduce32
