"""A two-layer network on scikit-learn's digits: many arrays, groups, clipping
===========================================================================

A model is rarely one flat array.  This network (64 inputs, 64 ReLU units, 10
classes) holds its parameters the natural way, a dict of four arrays ``W1,
b1, W2, b2``, and trains them with AdamW as one would in PyTorch: no weight
decay on the biases (a parameter group of its own), gradient clipping to a
global norm of 1, and a learning rate that warms up linearly for two epochs,
then follows a cosine down to zero.

It is trained twice, the two ways adamopt offers:

1. ``adamopt.AdamW`` in a loop over minibatches, with PyTorch's parameter
   groups (``[{"params": weights}, {"params": biases, "weight_decay": 0.0}]``)
   and ``max_grad_norm``;
2. ``scipy.optimize.minimize(method=adamopt.adamw)``, with `adamopt.ravel`
   turning the dict into the flat ``x0`` and back (views, no copy) and the
   ``groups`` option exempting ``unravel.slices`` of the biases from decay.

Both reach about 0.98 held-out accuracy in a few seconds (30 epochs of
minibatches of 32), and take the same steps: their training curves coincide
(the two global gradient norms differ only in the order of their sums).
With matplotlib it writes ``digits_network.png`` (the training loss of both
runs).

Run: ``python examples/digits_network.py`` (needs scikit-learn).
"""

import argparse

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_softmax, softmax

import adamopt

try:
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
except ImportError:
    raise SystemExit("This example needs scikit-learn: pip install scikit-learn") from None

HIDDEN, EPOCHS, BATCH = 64, 30, 32


def init(seed):
    """He-initialised weights, zero biases: a dict of named arrays."""
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(0.0, np.sqrt(2 / 64), (64, HIDDEN)), "b1": np.zeros(HIDDEN),
            "W2": rng.normal(0.0, np.sqrt(2 / HIDDEN), (HIDDEN, 10)), "b2": np.zeros(10)}


def loss_and_grads(p, X, y):
    """Mean cross-entropy on (X, y) and its gradient, a dict like ``p``."""
    hidden = np.maximum(X @ p["W1"] + p["b1"], 0.0)
    logits = hidden @ p["W2"] + p["b2"]
    rows = np.arange(len(y))
    d_logits = softmax(logits, axis=1)
    d_logits[rows, y] -= 1.0
    d_logits /= len(y)
    d_hidden = (d_logits @ p["W2"].T) * (hidden > 0)
    grads = {"W1": X.T @ d_hidden, "b1": d_hidden.sum(axis=0),
             "W2": hidden.T @ d_logits, "b2": d_logits.sum(axis=0)}
    return -log_softmax(logits, axis=1)[rows, y].mean(), grads


def accuracy(p, X, y):
    hidden = np.maximum(X @ p["W1"] + p["b1"], 0.0)
    return float(np.mean(np.argmax(hidden @ p["W2"] + p["b2"], axis=1) == y))


def train_with_the_class(X, y, lr, steps):
    """AdamW in a loop: the weights and the biases are two parameter groups."""
    params = init(seed=0)
    weights = {"W1": params["W1"], "W2": params["W2"]}
    biases = {"b1": params["b1"], "b2": params["b2"]}
    opt = adamopt.AdamW([{"params": weights}, {"params": biases, "weight_decay": 0.0}],
                        lr=lr, weight_decay=1e-2, max_grad_norm=1.0)
    batches = adamopt.minibatches(X, y, batch_size=BATCH, seed=0)
    losses = []
    for _ in range(steps):
        loss, g = loss_and_grads(params, *next(batches))
        opt.step([{"W1": g["W1"], "W2": g["W2"]}, {"b1": g["b1"], "b2": g["b2"]}])
        losses.append(loss)
    return params, losses


def train_with_minimize(X, y, lr, steps):
    """The same through SciPy: one flat vector, the biases a group by their slices."""
    x0, unravel = adamopt.ravel(init(seed=0))

    def objective(x, Xb, yb):
        loss, grads = loss_and_grads(unravel(x), Xb, yb)
        return loss, unravel.ravel(grads)

    biases = [unravel.slices["b1"], unravel.slices["b2"]]
    res = minimize(objective, x0, jac=True, method=adamopt.adamw,
                   options={"lr": lr, "weight_decay": 1e-2, "max_grad_norm": 1.0,
                            "groups": [{"params": biases, "weight_decay": 0.0}],
                            "batches": adamopt.minibatches(X, y, batch_size=BATCH, seed=0),
                            "maxiter": steps, "gtol": 0.0, "history": True})
    return unravel(res.x), res


def main(argv=None):
    parser = argparse.ArgumentParser(description=(__doc__ or "").partition("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="accepted as the other examples do (this run is already short)")
    parser.add_argument("--plot", default="digits_network.png",
                        help="where to write the figure (with matplotlib)")
    args = parser.parse_args(argv)

    digits = load_digits()
    X, X_test, y, y_test = train_test_split(digits.data / 16.0, digits.target,
                                            test_size=0.25, random_state=0)
    per_epoch = -(-len(y) // BATCH)
    steps = EPOCHS * per_epoch
    warmup = 2 * per_epoch
    lr = 1e-2 * adamopt.Join([adamopt.LinearWarmup(warmup),
                              adamopt.CosineAnnealing(steps - warmup)], boundaries=[warmup])

    p_loop, losses = train_with_the_class(X, y, lr, steps)
    p_scipy, res = train_with_minimize(X, y, lr, steps)
    scores = {"class in a loop": accuracy(p_loop, X_test, y_test),
              "minimize": accuracy(p_scipy, X_test, y_test)}
    for how, score in scores.items():
        print(f"{how:>16s}: held-out accuracy {score:.3f} after {steps} steps")

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(install matplotlib for a figure)")
        return scores
    figure, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    epoch_mean = np.ones(per_epoch) / per_epoch     # (the loss at step k is before step k+1)
    for loss, label in ((losses, "AdamW in a loop"), (res.history.fun, "minimize(method=adamw)")):
        ax.semilogy(np.arange(per_epoch, len(loss) + 1), np.convolve(loss, epoch_mean, "valid"),
                    label=label)
    ax.set(xlabel="step", ylabel="training loss (mean over the last epoch)")
    ax.legend()
    figure.savefig(args.plot, dpi=100)
    plt.close(figure)
    print(f"figure written to {args.plot}")
    return scores


if __name__ == "__main__":
    main()
