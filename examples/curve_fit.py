"""Fit a spectral peak to a large, noisy measurement with Adam on minibatches
==========================================================================

A Gaussian peak on a sloped background,

    y(x) = A exp(-(x - mu)^2 / (2 sigma^2)) + b0 + b1 x,

measured at 200,000 points with Gaussian noise.  Fitting it is a nonlinear
least-squares problem: `scipy.optimize.curve_fit` (Levenberg-Marquardt) solves
it on the full data; `adamopt.adam` solves it as a `scipy.optimize.minimize`
method on minibatches of 500 points, with bounds that keep the width positive.
Each Adam iteration touches 500 of the 200,000 points, so its cost does not grow
with the data.  The script prints both estimates next to the truth, with
curve_fit's standard errors for scale, and, with matplotlib installed, writes
``curve_fit.png`` (the data, both fits and Adam's convergence).

What to expect: both fits reach the noise floor, but Adam's estimates carry
the minibatch noise of its last steps (a few of curve_fit's standard errors
here; the decaying learning rate shrinks it).  When the full data fits in one
evaluation, curve_fit is the better tool; when it does not (or the model is
large), minibatches are what makes the fit possible.

Run: ``python examples/curve_fit.py`` (about 5 s), ``--quick`` for a smaller run.
"""

import argparse
import time

import numpy as np
from scipy.optimize import curve_fit, minimize

import adamopt

TRUE = np.array([3.0, 1.3, 0.4, 0.5, -0.2])   # A, mu, sigma, b0, b1
NAMES = ("A", "mu", "sigma", "b0", "b1")


def model(x, A, mu, sigma, b0, b1):
    return A * np.exp(-0.5 * ((x - mu) / sigma) ** 2) + b0 + b1 * x


def loss_and_grad(p, x, y):
    """Mean squared residual of the model on one minibatch, and its gradient."""
    A, mu, sigma, b0, b1 = p
    u = (x - mu) / sigma
    peak = np.exp(-0.5 * u * u)
    r = A * peak + b0 + b1 * x - y
    n = len(y)
    dpeak = 2.0 * r * A * peak / n            # d loss / d (log peak), per point
    grad = np.array([
        2.0 * (r @ peak) / n,                 # A
        dpeak @ (u / sigma),                  # mu
        dpeak @ (u * u / sigma),              # sigma
        2.0 * r.sum() / n,                    # b0
        2.0 * (r @ x) / n,                    # b1
    ])
    return r @ r / n, grad


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small, fast run")
    parser.add_argument("--plot", default="curve_fit.png",
                        help="where to write the figure (with matplotlib)")
    args = parser.parse_args(argv)
    n, maxiter = (20_000, 1500) if args.quick else (200_000, 6000)

    rng = np.random.default_rng(42)
    x = rng.uniform(-3.0, 5.0, n)
    y = model(x, *TRUE) + rng.normal(0.0, 0.5, n)
    start = np.array([1.0, 0.5, 1.0, 0.0, 0.0])

    t0 = time.perf_counter()
    res = minimize(loss_and_grad, start, jac=True, method=adamopt.adam,
                   bounds=[(0, None), (-3, 5), (0.05, 5), (None, None), (None, None)],
                   options={"lr": lambda t: 0.05 / np.sqrt(1.0 + t / 200.0),
                            "maxiter": maxiter, "gtol": 0, "history": 10,
                            "batches": adamopt.minibatches(x, y, batch_size=500, seed=0)})
    t_adam = time.perf_counter() - t0

    t0 = time.perf_counter()
    popt, pcov = curve_fit(model, x, y, p0=start)
    t_lm = time.perf_counter() - t0
    stderr = np.sqrt(np.diag(pcov))

    print(f"{n} noisy points; Adam: {res.nit} iterations on minibatches of 500 "
          f"({t_adam:.2f} s); curve_fit: full data ({t_lm:.2f} s)")
    print(f"{'':6s} {'true':>8s} {'adam':>8s} {'curve_fit':>10s} {'std. err.':>10s}")
    for name, true, ours, theirs, err in zip(NAMES, TRUE, res.x, popt, stderr, strict=True):
        print(f"{name:6s} {true:8.4f} {ours:8.4f} {theirs:10.4f} {err:10.4f}")
    full = loss_and_grad(res.x, x, y)[0], loss_and_grad(popt, x, y)[0]
    print(f"mean squared residual on all points: adam {full[0]:.6f}, "
          f"curve_fit {full[1]:.6f} (noise variance 0.25)")

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(install matplotlib for a figure)")
        return res
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    shown = rng.choice(n, 2000, replace=False)
    left.plot(x[shown], y[shown], ".", color="0.7", markersize=2, label="data (2,000 shown)")
    grid = np.linspace(-3, 5, 400)
    left.plot(grid, model(grid, *popt), color="C1", linewidth=3, label="curve_fit")
    left.plot(grid, model(grid, *res.x), color="C0", linestyle="--", label="adam")
    left.set_xlabel("x")
    left.set_ylabel("y")
    left.legend()
    adamopt.plot_history(res, "fun", ax=right)
    right.axhline(0.25, color="0.5", linestyle=":", label="noise variance")
    right.set_ylabel("mean squared residual (minibatch)")
    right.legend()
    figure.savefig(args.plot, dpi=100)
    print(f"figure written to {args.plot}")
    return res


if __name__ == "__main__":
    main()
