"""Train a small neural-network classifier with AdamW on minibatches
=================================================================

Three interleaved spirals (3,000 points, 3 classes) are not linearly separable;
a network with one hidden layer of 64 tanh units (387 parameters) separates
them.  The parameters are one flat NumPy vector, the loss and its gradient
are written out in NumPy (backpropagation by hand), and
``scipy.optimize.minimize(method=adamopt.adamw)`` trains it on minibatches of
64 with decoupled weight decay, a progress bar (``progress=True``; the
iteration table without tqdm) and a recorded history.  It prints the training
and held-out accuracy and, with matplotlib, writes ``minibatch_classifier.png``
(the decision regions and the training curves).

Run: ``python examples/minibatch_classifier.py`` (about 10-20 s), ``--quick``
for a short run.
"""

import argparse
import importlib.util
import time

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax

import adamopt

D, H, K = 2, 64, 3      # inputs, hidden units, classes


def spirals(n, seed):
    """``n`` points on K noisy spiral arms, and their arm labels."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, K, n)
    r = rng.uniform(0.05, 1.0, n)
    angle = 6.0 * r + y * 2.0 * np.pi / K + rng.normal(0.0, 0.4, n)
    X = np.column_stack([r * np.cos(angle), r * np.sin(angle)])
    return X, y


def unpack(w):
    """The flat parameter vector as (W1, b1, W2, b2), views into ``w``."""
    i = 0
    shapes = ((D, H), (H,), (H, K), (K,))
    parts = []
    for shape in shapes:
        size = int(np.prod(shape))
        parts.append(w[i:i + size].reshape(shape))
        i += size
    return parts


SIZE = D * H + H + H * K + K


def init(seed):
    rng = np.random.default_rng(seed)
    w = np.zeros(SIZE)
    W1, _, W2, _ = unpack(w)
    W1[...] = rng.normal(0.0, 1.0, W1.shape) * 2.0
    W2[...] = rng.normal(0.0, 1.0, W2.shape) / np.sqrt(H)
    return w


def loss_and_grad(w, X, y):
    """Mean cross-entropy of the network on (X, y), and its gradient."""
    W1, b1, W2, b2 = unpack(w)
    hidden = np.tanh(X @ W1 + b1)
    logits = hidden @ W2 + b2
    rows = np.arange(len(y))
    loss = -log_softmax(logits, axis=1)[rows, y].mean()
    d_logits = softmax(logits, axis=1)
    d_logits[rows, y] -= 1.0
    d_logits /= len(y)
    d_hidden = (d_logits @ W2.T) * (1.0 - hidden * hidden)
    grad = np.concatenate([(X.T @ d_hidden).ravel(), d_hidden.sum(axis=0),
                           (hidden.T @ d_logits).ravel(), d_logits.sum(axis=0)])
    return loss, grad


def predict(w, X):
    W1, b1, W2, b2 = unpack(w)
    return np.argmax(np.tanh(X @ W1 + b1) @ W2 + b2, axis=1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--plot", default="minibatch_classifier.png",
                        help="where to write the figure (with matplotlib)")
    args = parser.parse_args(argv)
    epochs = 5 if args.quick else 150

    X, y = spirals(3000, seed=0)
    X_test, y_test = spirals(1000, seed=1)
    batches = adamopt.minibatches(X, y, batch_size=64, seed=0)
    tqdm = importlib.util.find_spec("tqdm") is not None
    t0 = time.perf_counter()
    res = minimize(loss_and_grad, init(seed=0), jac=True, method=adamopt.adamw,
                   options={"lr": 0.01, "weight_decay": 1e-4, "gtol": 0,
                            "maxiter": epochs * batches.batches_per_epoch,
                            "batches": batches, "history": 20,
                            "progress": tqdm, "disp": not tqdm})
    elapsed = time.perf_counter() - t0
    print(f"{res.nit} iterations ({epochs} epochs) in {elapsed:.1f} s: "
          f"{elapsed / res.nit * 1e6:.0f} us per iteration, of which the optimizer "
          f"step is a fraction of a microsecond")
    print(f"accuracy: training {np.mean(predict(res.x, X) == y):.3f}, "
          f"held out {np.mean(predict(res.x, X_test) == y_test):.3f}")

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(install matplotlib for a figure)")
        return res
    figure, axes = plt.subplots(1, 3, figsize=(13, 4), layout="constrained")
    grid = np.linspace(-1.1, 1.1, 300)
    gx, gy = np.meshgrid(grid, grid)
    regions = predict(res.x, np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    axes[0].contourf(gx, gy, regions, levels=np.arange(K + 1) - 0.5, cmap="Pastel1",
                     vmin=0, vmax=8)
    axes[0].scatter(X_test[:, 0], X_test[:, 1], c=y_test, cmap="Set1", s=4, vmin=0, vmax=8)
    axes[0].set_title("decision regions, held-out points")
    axes[0].set_aspect("equal")
    adamopt.plot_history(res, ("fun", "grad_norm"), ax=axes[1:])
    figure.savefig(args.plot, dpi=100)
    print(f"figure written to {args.plot}")
    return res


if __name__ == "__main__":
    main()
