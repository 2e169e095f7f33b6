r"""The optimizers in plain NumPy, written for clarity: the oracle of the tests.

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
