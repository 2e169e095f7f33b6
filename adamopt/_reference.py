r"""The optimizers in plain NumPy, written for clarity: the oracle of the tests.

Adam and AdamW (`adam_step`) and their family (`sgd_step`, `adagrad_step`,
`rmsprop_step`, `adamax_step`, `nadam_step`).

Each function takes the state before a step and returns the state after it,
as new arrays; nothing is updated in place.  The arithmetic is done in
float64 and the results are rounded to the parameters' dtype, as the compiled
kernels do, so the two agree to within rounding whatever the dtype.  These
functions are never the fast path.
"""

import numpy as np


def adam_step(x, g, m, v, vmax, t, *, lr, beta1=0.9, beta2=0.999, eps=1e-8,
              weight_decay=0.0, decoupled=False, decay_scale=None,
              amsgrad=False, maximize=False):
    r"""One step of Adam (Kingma & Ba 2014, Algorithm 1) or AdamW (Loshchilov & Hutter 2019).

    Parameters
    ----------
    x, g, m, v : numpy.ndarray
        Parameters, gradient at ``x``, first and second moments before the step.
    vmax : numpy.ndarray or None
        Running maximum of ``v`` (AMSGrad), or None.
    t : int
        Number of this step, starting at 1.
    lr : float
        Learning rate used at this step, :math:`\alpha_t`.
    beta1, beta2, eps : float
        As in `adamopt.Adam`.
    weight_decay : float
        :math:`\lambda`: added to the gradient as :math:`\lambda x` (coupled, Adam),
        or, with ``decoupled=True``, applied to the parameters (AdamW).
    decay_scale : float, optional
        The factor :math:`s_t` of the decoupled decay
        :math:`x \leftarrow x - s_t \lambda x`: ``lr`` when None (PyTorch, optax),
        or the schedule multiplier :math:`\eta_t` (Loshchilov & Hutter).
    amsgrad : bool
        Divide by :math:`\sqrt{\max_{s\le t} v_s / (1-\beta_2^t)}` (PyTorch's AMSGrad).
    maximize : bool
        Ascend: use :math:`-g`.

    Returns
    -------
    x, m, v, vmax : numpy.ndarray (vmax None without amsgrad)
        The state after the step, in the dtype of ``x``.
    """
    dtype = x.dtype
    x, g, m, v = (np.asarray(a, dtype=np.float64) for a in (x, g, m, v))
    if maximize:
        g = -g
    if weight_decay != 0.0 and not decoupled:
        g = g + weight_decay * x
    m = beta1 * m + (1.0 - beta1) * g
    v = beta2 * v + (1.0 - beta2) * g**2
    m_hat = m / (1.0 - beta1**t)
    if amsgrad:
        vmax = np.maximum(np.asarray(vmax, dtype=np.float64), v)
        v_hat = vmax / (1.0 - beta2**t)
    else:
        v_hat = v / (1.0 - beta2**t)
    if decoupled:
        scale = lr if decay_scale is None else decay_scale
        x = x - scale * weight_decay * x
    x = x - lr * m_hat / (np.sqrt(v_hat) + eps)
    new_vmax = vmax.astype(dtype) if amsgrad else None
    return x.astype(dtype), m.astype(dtype), v.astype(dtype), new_vmax


def _effective_gradient(x, g, weight_decay, maximize):
    """The gradient the step uses, in float64: -g when maximizing, plus the
    coupled L2 term."""
    if maximize:
        g = -g
    if weight_decay != 0.0:
        g = g + weight_decay * x
    return g


def sgd_step(x, g, buf, t, *, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
             nesterov=False, maximize=False):
    r"""One step of SGD with momentum (``torch.optim.SGD``'s algorithm).

    Parameters
    ----------
    x, g, buf : numpy.ndarray
        Parameters, gradient at ``x`` and momentum buffer before the step.
    t : int
        Number of this step, starting at 1 (at ``t = 1`` the buffer becomes the
        gradient).
    lr, momentum, dampening, weight_decay, nesterov, maximize
        As in `adamopt.SGD`; ``lr`` is the learning rate used at this step.

    Returns
    -------
    x, buf : numpy.ndarray
        The state after the step, in the dtype of ``x``.
    """
    dtype = x.dtype
    x, g, buf = (np.asarray(a, dtype=np.float64) for a in (x, g, buf))
    g = _effective_gradient(x, g, weight_decay, maximize)
    if momentum != 0.0:
        buf = g if t == 1 else momentum * buf + (1.0 - dampening) * g
        g = g + momentum * buf if nesterov else buf
    x = x - lr * g
    return x.astype(dtype), buf.astype(dtype)


def adagrad_step(x, g, acc, t, *, lr, lr_decay=0.0, weight_decay=0.0, eps=1e-10,
                 maximize=False):
    r"""One step of Adagrad (Duchi et al. 2011, as ``torch.optim.Adagrad``).

    ``x``, ``g`` and ``acc`` are the parameters, the gradient at ``x`` and the
    sum of squared gradients before step ``t`` (from 1); the options are
    `adamopt.Adagrad`'s, ``lr`` the learning rate used at this step.  Returns
    ``(x, acc)`` after the step, in the dtype of ``x``.
    """
    dtype = x.dtype
    x, g, acc = (np.asarray(a, dtype=np.float64) for a in (x, g, acc))
    g = _effective_gradient(x, g, weight_decay, maximize)
    clr = lr / (1.0 + (t - 1) * lr_decay)
    acc = acc + g * g
    x = x - clr * g / (np.sqrt(acc) + eps)
    return x.astype(dtype), acc.astype(dtype)


def rmsprop_step(x, g, square_avg, grad_avg, buf, t, *, lr, alpha=0.99, eps=1e-8,
                 weight_decay=0.0, momentum=0.0, centered=False, maximize=False):
    r"""One step of RMSprop (Hinton's lecture 6e, as ``torch.optim.RMSprop``).

    Parameters
    ----------
    x, g : numpy.ndarray
        Parameters and gradient at ``x``.
    square_avg, grad_avg, buf : numpy.ndarray or None
        The average of squared gradients, the average of gradients (centered)
        and the momentum buffer before the step (None where unused).
    t : int
        Number of this step (RMSprop does not use it).
    lr, alpha, eps, weight_decay, momentum, centered, maximize
        As in `adamopt.RMSprop`; ``lr`` is the learning rate used at this step.

    Returns
    -------
    x, square_avg, grad_avg, buf : numpy.ndarray (None where unused)
        The state after the step, in the dtype of ``x``.
    """
    del t
    dtype = x.dtype
    x, g, square_avg = (np.asarray(a, dtype=np.float64) for a in (x, g, square_avg))
    g = _effective_gradient(x, g, weight_decay, maximize)
    square_avg = alpha * square_avg + (1.0 - alpha) * g * g
    if centered:
        grad_avg = alpha * np.asarray(grad_avg, np.float64) + (1.0 - alpha) * g
        denominator = np.sqrt(np.maximum(square_avg - grad_avg * grad_avg, 0.0)) + eps
    else:
        denominator = np.sqrt(square_avg) + eps
    update = g / denominator
    if momentum > 0.0:
        buf = momentum * np.asarray(buf, np.float64) + update
        update = buf
    x = x - lr * update
    if grad_avg is not None:
        grad_avg = np.asarray(grad_avg).astype(dtype)
    if buf is not None:
        buf = np.asarray(buf).astype(dtype)
    return x.astype(dtype), square_avg.astype(dtype), grad_avg, buf


def adamax_step(x, g, m, u, t, *, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                maximize=False):
    r"""One step of Adamax (Kingma & Ba 2014, section 7.1, as ``torch.optim.Adamax``).

    Parameters
    ----------
    x, g, m, u : numpy.ndarray
        Parameters, gradient at ``x``, first moment and infinity norm before the step.
    t : int
        Number of this step, starting at 1.
    lr, beta1, beta2, eps, weight_decay, maximize
        As in `adamopt.Adamax`; ``lr`` is the learning rate used at this step.

    Returns
    -------
    x, m, u : numpy.ndarray
        The state after the step, in the dtype of ``x``.
    """
    dtype = x.dtype
    x, g, m, u = (np.asarray(a, dtype=np.float64) for a in (x, g, m, u))
    g = _effective_gradient(x, g, weight_decay, maximize)
    m = beta1 * m + (1.0 - beta1) * g
    u = np.maximum(beta2 * u, np.abs(g) + eps)
    x = x - lr / (1.0 - beta1**t) * m / u
    return x.astype(dtype), m.astype(dtype), u.astype(dtype)


def nadam_step(x, g, m, v, mu_product, t, *, lr, beta1=0.9, beta2=0.999, eps=1e-8,
               weight_decay=0.0, momentum_decay=4e-3, decoupled_weight_decay=False,
               maximize=False):
    r"""One step of NAdam (Dozat 2016, as ``torch.optim.NAdam``).

    Parameters
    ----------
    x, g, m, v : numpy.ndarray
        Parameters, gradient at ``x``, first and second moments before the step.
    mu_product : float
        :math:`\prod_{s<t} \mu_s` before the step (1 at ``t = 1``).
    t : int
        Number of this step, starting at 1.
    lr, beta1, beta2, eps, weight_decay, momentum_decay, decoupled_weight_decay, maximize
        As in `adamopt.NAdam`; ``lr`` is the learning rate used at this step.

    Returns
    -------
    x, m, v : numpy.ndarray
        The state after the step, in the dtype of ``x``.
    mu_product : float
        :math:`\prod_{s \le t} \mu_s`.
    """
    dtype = x.dtype
    x, g, m, v = (np.asarray(a, dtype=np.float64) for a in (x, g, m, v))
    if maximize:
        g = -g
    if weight_decay != 0.0:
        if decoupled_weight_decay:
            x = x * (1.0 - lr * weight_decay)
        else:
            g = g + weight_decay * x
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    mu_product = mu_product * mu
    m = beta1 * m + (1.0 - beta1) * g
    v = beta2 * v + (1.0 - beta2) * g * g
    denominator = np.sqrt(v / (1.0 - beta2**t)) + eps
    x = (x - lr * (1.0 - mu) / (1.0 - mu_product) * g / denominator
         - lr * mu_next / (1.0 - mu_product * mu_next) * m / denominator)
    return x.astype(dtype), m.astype(dtype), v.astype(dtype), mu_product
def swats_run(x, grad, steps, *, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
              switch_tol=1e-9):
    r"""Run SWATS (Keskar & Socher 2017, Algorithm 1) for ``steps`` steps, in float64.

    Adam steps :math:`p_k = -\alpha \hat m_k / (\sqrt{\hat v_k} + \epsilon)` (PyTorch's
    placement of :math:`\epsilon`) until the bias-corrected average
    :math:`\Lambda = \lambda_k / (1 - \beta_2^k)` of
    :math:`\gamma_k = p_k^\top p_k / (-p_k^\top g_k)` is within ``switch_tol`` of
    :math:`\gamma_k` (for :math:`k > 1` and :math:`\Lambda > 0`); then SGD with
    momentum: :math:`b_t = \beta_1 b_{t-1} + g_t` (:math:`b = g` at the first SGD
    step), :math:`x_t = x_{t-1} - (1 - \beta_1) \Lambda b_t`.

    Parameters
    ----------
    x : numpy.ndarray
        Starting point (not modified).
    grad : callable
        ``grad(x, k)``: the objective's gradient at ``x`` for step ``k``.
    steps : int
        Number of steps.
    lr, beta1, beta2, eps, weight_decay, switch_tol : float
        As in `adamopt.SWATS` (a constant ``lr``).

    Returns
    -------
    x : numpy.ndarray
        The point after ``steps`` steps (float64).
    switched_at : int
        The step after which the steps were SGD's (0 if none).
    sgd_lr : float
        :math:`\Lambda` (0 if no switch).
    """
    x = np.array(x, dtype=np.float64)
    m, v, b = np.zeros_like(x), np.zeros_like(x), None
    average, switched_at, sgd_lr = 0.0, 0, 0.0
    for k in range(1, steps + 1):
        g = np.asarray(grad(x.copy(), k), dtype=np.float64) + weight_decay * x
        if switched_at:
            b = g if b is None else beta1 * b + g
            x = x - (1.0 - beta1) * sgd_lr * b
            continue
        m = beta1 * m + (1.0 - beta1) * g
        v = beta2 * v + (1.0 - beta2) * g**2
        p = -lr * (m / (1.0 - beta1**k)) / (np.sqrt(v / (1.0 - beta2**k)) + eps)
        x = x + p
        pg = float(np.vdot(p, g))
        if pg != 0.0:
            gamma = float(np.vdot(p, p)) / -pg
            average = beta2 * average + (1.0 - beta2) * gamma
            estimate = average / (1.0 - beta2**k)
            if k > 1 and estimate > 0.0 and abs(estimate - gamma) < switch_tol:
                switched_at, sgd_lr = k, estimate
    return x, switched_at, sgd_lr


# -- the oracles by algorithm name ----------------------------------------------------------
# One signature for every algorithm, so that the tests run any declared
# algorithm against its oracle with no test written for it: ``oracle(x, g,
# state, t, **options) -> (x, state)``, where ``state`` maps the names of the
# class's ``state_dict`` entries (arrays and scalars) to their values before
# step ``t``, and ``options`` are the class's constructor options with ``lr``
# the learning rate used at this step (a number) and ``eta`` the schedule
# multiplier (1.0 without one).  A declaration names its oracle (``oracle=``).


def adam(x, g, state, t, *, amsgrad=False, eta=1.0, **options):
    """Adam (`adam_step`) by name; the state holds ``m``, ``v`` (and ``vmax``)."""
    x, m, v, vmax = adam_step(x, g, state["m"], state["v"], state.get("vmax"), t,
                              amsgrad=amsgrad, **options)
    return x, {"m": m, "v": v, **({"vmax": vmax} if amsgrad else {})}


def adamw(x, g, state, t, *, decay_scaling="lr", eta=1.0, **options):
    """AdamW (`adam_step` with the decoupled decay) by name."""
    scale = eta if decay_scaling == "schedule" else None
    return adam(x, g, state, t, decoupled=True, decay_scale=scale, **options)


def sgd(x, g, state, t, *, eta=1.0, **options):
    x, buf = sgd_step(x, g, state["momentum_buffer"], t, **options)
    return x, {"momentum_buffer": buf}


def adagrad(x, g, state, t, *, initial_accumulator_value=0.0, eta=1.0, **options):
    x, acc = adagrad_step(x, g, state["sum"], t, **options)
    return x, {"sum": acc}


def rmsprop(x, g, state, t, *, eta=1.0, **options):
    x, sq, avg, buf = rmsprop_step(x, g, state["square_avg"], state.get("grad_avg"),
                                   state["momentum_buffer"], t, **options)
    return x, {"square_avg": sq, "momentum_buffer": buf,
               **({"grad_avg": avg} if options.get("centered") else {})}


def adamax(x, g, state, t, *, eta=1.0, **options):
    x, m, u = adamax_step(x, g, state["m"], state["u"], t, **options)
    return x, {"m": m, "u": u}


def nadam(x, g, state, t, *, eta=1.0, **options):
    x, m, v, mu_product = nadam_step(x, g, state["m"], state["v"], state["mu_product"], t,
                                     **options)
    return x, {"m": m, "v": v, "mu_product": mu_product}


def radam(x, g, state, t, *, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
          decoupled_weight_decay=False, maximize=False, eta=1.0):
    """One step of RAdam (Liu et al. 2020, as ``torch.optim.RAdam``) by name."""
    dtype = x.dtype
    x, g, m, v = (np.asarray(a, dtype=np.float64) for a in (x, g, state["m"], state["v"]))
    g = _effective_gradient(x, g, 0.0 if decoupled_weight_decay else weight_decay, maximize)
    if decoupled_weight_decay:
        x = x * (1.0 - lr * weight_decay)
    m = beta1 * m + (1.0 - beta1) * g
    v = beta2 * v + (1.0 - beta2) * g**2
    bc1, bc2 = 1.0 - beta1**t, 1.0 - beta2**t
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    rho_t = rho_inf - 2.0 * t * beta2**t / bc2
    if rho_t > 5.0:
        rect = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                       / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        x = x - lr * rect * (m / bc1) * np.sqrt(bc2) / (np.sqrt(v) + eps)
    else:
        x = x - lr * m / bc1
    return x.astype(dtype), {"m": m.astype(dtype), "v": v.astype(dtype)}


def _bias_correction(t, beta1, beta2, on):
    return np.sqrt(1.0 - beta2**t) / (1.0 - beta1**t) if on else 1.0


def prodigy(x, g, state, t, *, lr, beta1=0.9, beta2=0.999, beta3=None, eps=1e-8,
            weight_decay=0.0, decouple=True, use_bias_correction=False,
            safeguard_warmup=False, d0=1e-6, d_coef=1.0, growth_rate=np.inf,
            maximize=False, eta=1.0):
    r"""One step of Prodigy (Mishchenko & Defazio 2024, as ``prodigyopt.Prodigy``).

    ``state`` holds ``m``, ``v``, ``s``, ``p0`` (the initial parameters) and the
    scalars ``d``, ``d_max``, ``d_numerator``; the two sums of the d update
    are whole-array sums in float64.  A zero learning rate or a zero
    denominator changes nothing (as the reference package returns early).
    """
    dtype = x.dtype
    x, g, m, v, s, p0 = (np.asarray(a, dtype=np.float64)
                         for a in (x, g, state["m"], state["v"], state["s"], state["p0"]))
    d, d_max, numerator = state["d"], state["d_max"], state["d_numerator"]
    beta3 = np.sqrt(beta2) if beta3 is None else beta3
    g = _effective_gradient(x, g, 0.0 if decouple else weight_decay, maximize)
    dlr = d * lr * _bias_correction(t, beta1, beta2, use_bias_correction)
    s_new = beta3 * s + (d / d0) * (d if safeguard_warmup else dlr) * g
    den = float(np.abs(s_new).sum())
    unchanged = {**state}
    if lr == 0.0 or den == 0.0:
        return x.astype(dtype), unchanged
    numerator = beta3 * numerator + (d / d0) * dlr * float(np.dot(g, p0 - x))
    d_hat = d_coef * numerator / den
    d_new = max(d, d_hat) if d == d0 else d
    d_max = max(d_max, d_hat)
    d_new = min(d_max, d_new * growth_rate)
    m = beta1 * m + d * (1.0 - beta1) * g
    v = beta2 * v + d * d * (1.0 - beta2) * g * g
    if decouple:
        x = x * (1.0 - weight_decay * dlr)
    step = m if beta1 > 0 else d_new * g
    x = x - dlr * step / (np.sqrt(v) + d_new * eps)
    if beta1 == 0:
        m = np.asarray(state["m"], dtype=np.float64)
    out = {"m": m, "v": v, "s": s_new}
    return x.astype(dtype), {**{k: a.astype(dtype) for k, a in out.items()},
                             "p0": state["p0"], "d": d_new, "d_max": d_max,
                             "d_numerator": numerator}


def dadapt_adam(x, g, state, t, *, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                decouple=False, use_bias_correction=False, d0=1e-6, growth_rate=np.inf,
                maximize=False, eta=1.0):
    r"""One step of D-Adaptation's Adam (Defazio & Mishchenko 2023, as
    ``dadaptation.DAdaptAdam``); ``state`` holds ``m``, ``v``, ``s`` and the
    scalars ``d`` and ``numerator_weighted``."""
    dtype = x.dtype
    x, g, m, v, s = (np.asarray(a, dtype=np.float64)
                     for a in (x, g, state["m"], state["v"], state["s"]))
    d, numerator = state["d"], state["numerator_weighted"]
    sqrt_beta2 = np.sqrt(beta2)
    g = _effective_gradient(x, g, 0.0 if decouple else weight_decay, maximize)
    dlr = d * lr * _bias_correction(t, beta1, beta2, use_bias_correction)
    s_new = sqrt_beta2 * s + dlr * (1.0 - sqrt_beta2) * g
    den = float(np.abs(s_new).sum())
    if lr == 0.0 or den == 0.0:
        return x.astype(dtype), {**state}
    numerator = (sqrt_beta2 * numerator
                 + (1.0 - sqrt_beta2) * dlr * float(np.dot(g, s / (np.sqrt(v) + eps))))
    d_hat = numerator / ((1.0 - sqrt_beta2) * den)
    d_new = max(d, min(d_hat, d * growth_rate))
    m = beta1 * m + dlr * (1.0 - beta1) * g
    v = beta2 * v + (1.0 - beta2) * g * g
    if decouple:
        x = x * (1.0 - weight_decay * dlr)
    x = x - m / (np.sqrt(v) + eps)
    out = {"m": m, "v": v, "s": s_new}
    return x.astype(dtype), {**{k: a.astype(dtype) for k, a in out.items()},
                             "d": d_new, "numerator_weighted": numerator}


def _schedulefree_weights(t, lr, lr_max, weight_sum, warmup_steps, r, weight_lr_power):
    """Schedule-free's learning rate after warm-up, its scalar state after step
    ``t`` and the averaging weight c_t (as ``schedulefree``'s references)."""
    lr_t = lr * (t / warmup_steps if t <= warmup_steps else 1.0)
    lr_max = max(lr_max, lr_t)
    weight = t**r * lr_max**weight_lr_power
    weight_sum = weight_sum + weight
    c = weight / weight_sum if weight_sum != 0.0 else 0.0
    return lr_t, lr_max, weight_sum, c


def _schedulefree(y, g, state, t, beta, direction, options):
    """One schedule-free step in the paper's three sequences (Defazio et al.
    2024, the ``schedulefree`` reference classes), in float64: x recovered
    from y and z, z stepped along ``direction(g, y, lr_t) -> (u, new state
    entries)``, x averaged, y interpolated."""
    dtype = y.dtype
    y, g, z = (np.asarray(a, dtype=np.float64) for a in (y, g, state["z"]))
    if options["maximize"]:
        g = -g
    lr_t, lr_max, weight_sum, c = _schedulefree_weights(
        t, options["lr"], state["lr_max"], state["weight_sum"], options["warmup_steps"],
        options["r"], options["weight_lr_power"])
    x = y if t == 1 else (y - (1.0 - beta) * z) / beta
    u, entries = direction(g, y)
    z = z - lr_t * u
    x = (1.0 - c) * x + c * z
    y = beta * x + (1.0 - beta) * z
    entries = {k: v.astype(dtype) for k, v in entries.items()}
    return y.astype(dtype), {"z": z.astype(dtype), **entries, "lr_max": lr_max,
                             "weight_sum": weight_sum}


def schedulefree_adamw(x, g, state, t, *, lr, beta1=0.9, beta2=0.999, eps=1e-8,
                       weight_decay=0.0, warmup_steps=0, r=0.0, weight_lr_power=2.0,
                       maximize=False, eta=1.0):
    r"""One step of schedule-free AdamW (``schedulefree.AdamWScheduleFreeReference``)
    by name; ``x`` is y (the parameters), the state z, v, ``lr_max`` and
    ``weight_sum``: :math:`v \leftarrow \beta_2 v + (1-\beta_2) g^2`,
    :math:`u = g / (\sqrt{v / (1-\beta_2^t)} + \epsilon) + \lambda y`."""
    def direction(g, y):
        v = beta2 * np.asarray(state["v"], dtype=np.float64) + (1.0 - beta2) * g**2
        u = g / (np.sqrt(v / (1.0 - beta2**t)) + eps) + weight_decay * y
        return u, {"v": v}
    return _schedulefree(x, g, state, t, beta1, direction, dict(
        lr=lr, maximize=maximize, warmup_steps=warmup_steps, r=r,
        weight_lr_power=weight_lr_power))


def schedulefree_sgd(x, g, state, t, *, lr, momentum=0.9, weight_decay=0.0, warmup_steps=0,
                     r=0.0, weight_lr_power=2.0, maximize=False, eta=1.0):
    r"""One step of schedule-free SGD (``schedulefree.SGDScheduleFreeReference``)
    by name: :math:`u = g + \lambda y`."""
    return _schedulefree(x, g, state, t, momentum, lambda g, y: (g + weight_decay * y, {}),
                         dict(lr=lr, maximize=maximize, warmup_steps=warmup_steps, r=r,
                              weight_lr_power=weight_lr_power))


def averaged(iterates, kind, *, decay=0.999, start=0):
    r"""The iterate average of ``iterates`` :math:`x_0, x_1, \dots, x_T` (a
    list of arrays, :math:`x_0` the initial point), by its textbook formula,
    in float64, rounded to the iterates' dtype at the end.

    ``"ema"``: Kingma & Ba (2015) section 7.2, :math:`\bar x_t = \beta \bar
    x_{t-1} + (1 - \beta) x_t` from :math:`\bar x_0 = 0`, bias-corrected:
    :math:`\bar x_T / (1 - \beta^T)` (:math:`x_0` when :math:`T = 0`).
    ``"polyak"``: the mean of :math:`x_s, \dots, x_T`, :math:`s` = ``start``
    (:math:`x_T` when :math:`T < s`).
    """
    dtype = iterates[0].dtype
    xs = [np.asarray(x, dtype=np.float64) for x in iterates]
    last = len(xs) - 1
    if kind == "ema":
        if last == 0:
            return xs[0].astype(dtype)
        ema = np.zeros_like(xs[0])
        for x in xs[1:]:
            ema = decay * ema + (1.0 - decay) * x
        return (ema / (1.0 - decay ** last)).astype(dtype)
    if last < start:
        return xs[-1].astype(dtype)
    return np.mean(xs[start:], axis=0).astype(dtype)
