"""The NumPy reference against literal transcriptions of the published algorithms.

The reference is the oracle of the kernel tests, so it is checked on its own
against the pseudo-code it claims to follow, written out element by element in
plain Python floats: PyTorch's documented algorithms for ``torch.optim.Adam``
and ``torch.optim.AdamW`` (which are Kingma & Ba's Algorithm 1 with coupled L2
decay and AMSGrad, and Loshchilov & Hutter's Algorithm 2 with the decay scaled
by the learning rate), and Loshchilov & Hutter's Algorithm 2 itself.
"""

import math

import numpy as np
import pytest

from adamopt import _reference


def torch_documented_step(theta, grad, state, t, *, lr, beta1, beta2, eps, weight_decay,
                          amsgrad, maximize, decoupled):
    """One step of PyTorch's documented Adam / AdamW pseudo-code, one element."""
    g = -grad if maximize else grad
    if decoupled:
        theta = theta - lr * weight_decay * theta
    elif weight_decay != 0:
        g = g + weight_decay * theta
    state["m"] = beta1 * state["m"] + (1 - beta1) * g
    state["v"] = beta2 * state["v"] + (1 - beta2) * g * g
    m_hat = state["m"] / (1 - beta1**t)
    if amsgrad:
        state["vmax"] = max(state["vmax"], state["v"])
        v_hat = state["vmax"] / (1 - beta2**t)
    else:
        v_hat = state["v"] / (1 - beta2**t)
    return theta - lr * m_hat / (math.sqrt(v_hat) + eps)


def adamw_paper_step(x, grad, state, t, *, alpha, eta, beta1, beta2, eps, weight_decay):
    """Loshchilov & Hutter (2019), Algorithm 2, one element."""
    state["m"] = beta1 * state["m"] + (1 - beta1) * grad
    state["v"] = beta2 * state["v"] + (1 - beta2) * grad * grad
    m_hat = state["m"] / (1 - beta1**t)
    v_hat = state["v"] / (1 - beta2**t)
    return x - eta * (alpha * m_hat / (math.sqrt(v_hat) + eps) + weight_decay * x)


@pytest.mark.parametrize("decoupled", [False, True])
@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("maximize", [False, True])
def test_reference_follows_pytorch_documented_pseudocode(decoupled, amsgrad, maximize):
    rng = np.random.default_rng(0)
    n, steps = 5, 50
    hyper = dict(lr=0.03, beta1=0.85, beta2=0.995, eps=1e-7, weight_decay=0.07)
    x = rng.standard_normal(n)
    m, v = np.zeros(n), np.zeros(n)
    vmax = np.zeros(n) if amsgrad else None
    scalar = [float(a) for a in x]
    states = [{"m": 0.0, "v": 0.0, "vmax": 0.0} for _ in range(n)]
    for t in range(1, steps + 1):
        g = rng.standard_normal(n)
        x, m, v, vmax = _reference.adam_step(x, g, m, v, vmax, t, decoupled=decoupled,
                                             amsgrad=amsgrad, maximize=maximize, **hyper)
        scalar = [torch_documented_step(scalar[i], float(g[i]), states[i], t, amsgrad=amsgrad,
                                        maximize=maximize, decoupled=decoupled, **hyper)
                  for i in range(n)]
        np.testing.assert_allclose(x, scalar, rtol=1e-13, err_msg=f"step {t}")


def test_reference_schedule_scaled_decay_is_loshchilov_hutter_algorithm_2():
    rng = np.random.default_rng(1)
    n, alpha, lam = 4, 0.05, 0.01
    x = rng.standard_normal(n)
    m, v = np.zeros(n), np.zeros(n)
    scalar = [float(a) for a in x]
    states = [{"m": 0.0, "v": 0.0} for _ in range(n)]
    for t in range(1, 40):
        eta = 0.5 * (1 + math.cos(math.pi * t / 40))      # cosine annealing multiplier
        g = rng.standard_normal(n)
        x, m, v, _ = _reference.adam_step(x, g, m, v, None, t, lr=alpha * eta, weight_decay=lam,
                                          decoupled=True, decay_scale=eta)
        scalar = [adamw_paper_step(scalar[i], float(g[i]), states[i], t, alpha=alpha, eta=eta,
                                   beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=lam)
                  for i in range(n)]
        np.testing.assert_allclose(x, scalar, rtol=1e-13, err_msg=f"step {t}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reference_rounds_to_the_dtype_of_params(dtype):
    x = np.ones(3, dtype)
    out = _reference.adam_step(x, np.ones(3, dtype), np.zeros(3, dtype), np.zeros(3, dtype),
                               np.zeros(3, dtype), 1, lr=0.1, amsgrad=True)
    assert all(a.dtype == dtype for a in out)


def test_reference_does_not_modify_its_inputs():
    arrays = [np.ones(3), np.full(3, 0.5), np.full(3, 0.1), np.full(3, 0.2), np.full(3, 0.3)]
    copies = [a.copy() for a in arrays]
    _reference.adam_step(*arrays, 4, lr=0.1, amsgrad=True, weight_decay=0.1)
    for a, b in zip(arrays, copies, strict=True):
        np.testing.assert_array_equal(a, b)
