"""Iterate averaging on noisy problems built here: logistic regression and a
Poisson GLM on minibatches, a Monte-Carlo objective with fresh noise per
call.  The averaged point (``res.x``) must be much closer to the full-batch
optimum than the last iterate (``res.x_last``): excess loss against the
optimum found by a long deterministic run.  The factors are printed (``-s``).
"""

import numpy as np
import pytest
from scipy.optimize import minimize

import adamopt


def _logistic(n=4000, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ np.linspace(-1, 1, d)))).astype(float)

    def loss(w, Xb, yb):
        z = Xb @ w
        return (float(np.mean(np.logaddexp(0, z) - yb * z)),
                Xb.T @ (1 / (1 + np.exp(-z)) - yb) / len(yb))
    return loss, (X, y), d


def _poisson(n=4000, d=4, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * 0.5
    y = rng.poisson(np.exp(X @ np.linspace(-0.5, 0.5, d) + 0.3)).astype(float)

    def loss(w, Xb, yb):
        eta = Xb @ w
        mu = np.exp(eta)
        return float(np.mean(mu - yb * eta)), Xb.T @ (mu - yb) / len(yb)
    return loss, (X, y), d


def _excess(loss, data, x, best):
    return loss(x, *data)[0] - best


@pytest.mark.parametrize("problem", [_logistic, _poisson])
def test_minibatch_average_beats_the_last_iterate(problem):
    loss, data, d = problem()
    exact = minimize(lambda w: loss(w, *data), np.zeros(d), jac=True, method="BFGS",
                     options=dict(gtol=1e-10))
    res = minimize(loss, np.zeros(d), jac=True, method=adamopt.adam,
                   options=dict(lr=0.05, maxiter=3000, average="polyak", average_start=1000,
                                batches=adamopt.minibatches(*data, batch_size=16, seed=0),
                                gtol=0, ftol=0, stationarity=False))
    assert res.nit == 3000
    averaged = _excess(loss, data, res.x, exact.fun)
    last = _excess(loss, data, res.x_last, exact.fun)
    print(f"{problem.__name__}: excess loss last {last:.3g}, averaged {averaged:.3g}, "
          f"factor {last / averaged:.3g}")
    assert last > 10 * averaged


def test_monte_carlo_average_beats_the_last_iterate():
    """A Gaussian variational fit of N(mu, diag s^2) to N(m, diag 1) by the
    reparameterised gradient with fresh draws per call; exact KL known."""
    rng = np.random.default_rng(2)
    m = np.linspace(-2, 2, 6)

    def objective(theta):
        mu, log_s = theta[:6], theta[6:]
        eps = rng.standard_normal((4, 6))
        z = mu + np.exp(log_s) * eps
        # -E log p(z) - entropy, Monte-Carlo estimate and its gradient
        value = float(np.mean(np.sum((z - m) ** 2, axis=1)) / 2 - log_s.sum())
        dz = (z - m) / 4
        return value, np.concatenate([dz.sum(0), (dz * eps).sum(0) * np.exp(log_s) - 1])

    def kl(theta):
        mu, s2 = theta[:6], np.exp(2 * theta[6:])
        return 0.5 * float(np.sum(s2 + (mu - m) ** 2 - 1 - np.log(s2)))

    res = minimize(objective, np.zeros(12), jac=True, method=adamopt.adam,
                   options=dict(lr=0.05, maxiter=3000, average="ema", average_decay=0.999,
                                gtol=0, ftol=0, stationarity=False))
    last, averaged = kl(res.x_last), kl(res.x)
    print(f"monte carlo: excess KL last {last:.3g}, averaged {averaged:.3g}, "
          f"factor {last / averaged:.3g}")
    assert last > 10 * averaged
