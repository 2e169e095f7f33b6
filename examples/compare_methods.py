"""Adam, AdamW, SGD-Nesterov, AdaGrad and RMSProp on softmax regression
=====================================================================

Compare Adam, AdamW, SGD with Nesterov momentum, AdaGrad and RMSProp on
L2-regularized softmax (multinomial logistic) regression, as in section 6.1 of
Kingma & Ba (2015), on the handwritten digits that ship with scikit-learn.

Each method runs through ``scipy.optimize.minimize`` on minibatches of 128
with the learning rate alpha / sqrt(t) of step t, as in the paper, for each
alpha of a small grid in turn; the alpha with the lowest final training loss
is kept.  The script prints a table of the final losses, next to the optimum that
L-BFGS-B finds on the full batch, and writes a plot of the training loss (full
batch, after each epoch) against epochs.  It needs scikit-learn and matplotlib
(optional dependencies of this example only) and runs in a few seconds.

AdamW decays the weights directly (decoupled weight decay, with the same
coefficient as the others' L2 penalty) instead of minimizing the penalized
loss, so the penalized loss on which all are scored is not quite what it
minimizes.

Run: ``python examples/compare_methods.py [--plot compare_methods.png] [--epochs 50]``
(a few seconds); ``--quick`` for 10 epochs.
"""

import argparse
import math
import time

import numpy as np
from scipy.optimize import minimize

import adamopt

L2 = 1e-4          # the penalty (L2 / 2) |W|^2 on the weights (not the biases)
BATCH_SIZE = 128

#: name -> (method, fixed options, grid of alpha in the learning rate alpha / sqrt(t))
METHODS = {
    "Adam": (adamopt.adam, {}, [0.03, 0.1, 0.3, 1.0, 3.0]),
    "AdamW": (adamopt.adamw, {"weight_decay": L2}, [0.03, 0.1, 0.3, 1.0, 3.0]),
    "SGD-Nesterov": (adamopt.sgd, {"momentum": 0.9, "nesterov": True},
                     [0.1, 0.3, 1.0, 3.0, 10.0]),
    "AdaGrad": (adamopt.adagrad, {}, [0.1, 0.3, 1.0, 3.0, 10.0]),
    "RMSProp": (adamopt.rmsprop, {}, [0.01, 0.03, 0.1, 0.3, 1.0]),
}


def load_data():
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise SystemExit("This example needs scikit-learn: pip install scikit-learn") from None
    X, y = load_digits(return_X_y=True)
    X = np.hstack([X / 16.0, np.ones((len(X), 1))])      # pixels in [0, 1], and a bias
    return X, y


def softmax_loss(w, X, y, penalty=L2):
    """Mean cross-entropy of softmax regression plus (penalty / 2) |W|^2, and its gradient."""
    W = w.reshape(X.shape[1], -1)
    scores = X @ W
    scores -= scores.max(axis=1, keepdims=True)
    log_p = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    n = len(y)
    loss = -log_p[np.arange(n), y].mean()
    p = np.exp(log_p)
    p[np.arange(n), y] -= 1.0
    grad = X.T @ p / n
    weights = W[:-1]
    loss += 0.5 * penalty * float(np.sum(weights * weights))
    grad[:-1] += penalty * weights
    return loss, grad.ravel()


def train(method, options, alpha, X, y, epochs):
    """Losses on the full training set at epochs 0, 1, ..., epochs."""
    batches = adamopt.minibatches(X, y, batch_size=BATCH_SIZE, seed=0)
    per_epoch = batches.batches_per_epoch
    w0 = np.zeros(X.shape[1] * 10)
    losses = [softmax_loss(w0, X, y)[0]]

    def record(intermediate_result):
        if intermediate_result.nit % per_epoch == 0:
            losses.append(softmax_loss(intermediate_result.x, X, y)[0])

    # AdamW decays the weights itself (decoupled): its objective has no penalty,
    # but its loss is reported with the same penalty as the others'.
    args = (0.0,) if "weight_decay" in options else ()
    minimize(softmax_loss, w0, args=args, jac=True, method=method, callback=record,
             options={"lr": lambda t: alpha / math.sqrt(t), "maxiter": epochs * per_epoch,
                      "gtol": 0, "batches": batches, **options})
    return np.array(losses)


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--plot", "--output", dest="output", default="compare_methods.png",
                        help="where to write the plot (PNG)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="passes over the data of each run (default 50; 10 with --quick)")
    parser.add_argument("--quick", action="store_true", help="a short run (10 epochs)")
    arguments = parser.parse_args(argv)
    if arguments.epochs is None:
        arguments.epochs = 10 if arguments.quick else 50
    X, y = load_data()
    # The matrices are small: BLAS threads would cost more than they save
    # (threadpoolctl comes with scikit-learn).
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=1, user_api="blas"):
        start = time.perf_counter()
        best = {}
        for label, (method, options, grid) in METHODS.items():
            runs = {alpha: train(method, options, alpha, X, y, arguments.epochs)
                    for alpha in grid}
            alpha = min(runs, key=lambda a: runs[a][-1] if math.isfinite(runs[a][-1])
                        else math.inf)
            best[label] = (alpha, runs[alpha])
        elapsed = time.perf_counter() - start
        optimum = minimize(softmax_loss, np.zeros(X.shape[1] * 10), args=(X, y), jac=True,
                           method="L-BFGS-B", options={"maxiter": 5000, "gtol": 1e-10}).fun

    print(f"Softmax regression on scikit-learn's digits ({X.shape[0]} images, "
          f"{X.shape[1] - 1} pixels, 10 classes), minibatches of {BATCH_SIZE}, "
          f"L2 = {L2:g}, {arguments.epochs} epochs, learning rate alpha / sqrt(t) "
          f"({elapsed:.1f} s in all)\n")
    print("| method | alpha (best of grid) | final training loss |")
    print("| --- | --- | --- |")
    for label, (alpha, losses) in sorted(best.items(), key=lambda item: item[1][1][-1]):
        print(f"| {label} | {alpha:g} | {losses[-1]:.4f} |")
    print(f"| L-BFGS-B, full batch (the optimum) | | {optimum:.4f} |")
    plot(best, optimum, arguments.output)
    print(f"\nPlot written to {arguments.output}")


def plot(best, optimum, path):
    try:
        import matplotlib
    except ImportError:
        raise SystemExit("This example needs matplotlib: pip install matplotlib") from None
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    for label, (alpha, losses) in best.items():
        ax.plot(np.arange(len(losses)), losses, label=f"{label} (alpha={alpha:g})")
    ax.axhline(optimum, color="black", linestyle="--", linewidth=1,
               label="optimum (L-BFGS-B, full batch)")
    ax.set_yscale("log")
    ax.set_xlabel("epochs")
    ax.set_ylabel("training loss (full batch)")
    ax.set_title(r"Softmax regression on digits, minibatches of 128, lr $\alpha/\sqrt{t}$")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    main()
