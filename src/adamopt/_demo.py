"""``python -m adamopt demo``: a stochastic fit on data the demo makes itself.

Binary logistic regression on 5,000 synthetic samples and 20 features, fitted
with `adamopt.AdamW` on minibatches of 64, next to SciPy's L-BFGS-B on the full
batch; prints the losses, the accuracy and the time per optimizer step.
"""

import time

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_expit

from ._optimizers import AdamW


def make_data(n=5000, d=20, seed=0):
    """Features, labels in {0, 1} and the true weights of a noisy linear model."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    w_true = rng.standard_normal(d) * 2.0 / np.sqrt(d)
    y = (rng.random(n) < expit(X @ w_true)).astype(np.float64)
    return X, y, w_true


def loss_and_grad(w, X, y, l2=1e-3):
    """Mean logistic loss with an L2 term, and its gradient."""
    z = X @ w
    loss = -np.mean(y * log_expit(z) + (1 - y) * log_expit(-z)) + 0.5 * l2 * (w @ w)
    grad = X.T @ (expit(z) - y) / len(y) + l2 * w
    return loss, grad


def run(epochs=20, batch_size=64, lr=0.01, seed=0, out=print):
    X, y, _ = make_data(seed=seed)
    n, d = X.shape
    out(f"adamopt demo: logistic regression, {n} samples x {d} features, "
        f"minibatches of {batch_size}")

    t0 = time.perf_counter()
    ref = minimize(loss_and_grad, np.zeros(d), args=(X, y), jac=True, method="L-BFGS-B")
    t_lbfgs = time.perf_counter() - t0

    rng = np.random.default_rng(seed)
    w = np.zeros(d)
    opt = AdamW(w, lr=lr, weight_decay=0.0)
    steps, step_time = 0, 0.0
    t0 = time.perf_counter()
    for epoch in range(1, epochs + 1):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            rows = order[start:start + batch_size]
            _, g = loss_and_grad(w, X[rows], y[rows])
            s = time.perf_counter()
            opt.step(g)
            step_time += time.perf_counter() - s
            steps += 1
        if epoch in (1, 5, 10) or epoch == epochs:
            loss = loss_and_grad(w, X, y)[0]
            out(f"  epoch {epoch:3d}  iterations {steps:6d}  full-batch loss {loss:.6f}")
    t_adam = time.perf_counter() - t0

    loss = loss_and_grad(w, X, y)[0]
    accuracy = np.mean((X @ w > 0) == (y > 0.5))
    accuracy_ref = np.mean((X @ ref.x > 0) == (y > 0.5))
    out("")
    out(f"AdamW (minibatch)  loss {loss:.6f}  accuracy {accuracy:.3f}  "
        f"{steps} iterations in {t_adam * 1e3:.0f} ms")
    out(f"L-BFGS-B (full)    loss {ref.fun:.6f}  accuracy {accuracy_ref:.3f}  "
        f"{ref.nit} iterations in {t_lbfgs * 1e3:.0f} ms")
    out(f"relative gap to the full-batch optimum: {(loss - ref.fun) / ref.fun:.2%}")
    out(f"time per AdamW step ({d} parameters): {step_time / steps * 1e6:.2f} us")
    return {"loss": loss, "reference_loss": ref.fun, "accuracy": accuracy, "steps": steps}
