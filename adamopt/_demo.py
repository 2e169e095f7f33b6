"""``python -m adamopt demo``: a stochastic fit on data the demo makes itself.

Softmax (multinomial logistic) regression on 5,000 synthetic samples with 20
features and 4 classes (84 parameters), fitted by
``scipy.optimize.minimize(method=adamopt.adamw)`` on minibatches of 50, next
to SciPy's L-BFGS-B on the full batch.  It prints an iteration table (one row
per epoch), a summary (iterations, time, final full-batch loss, accuracy on
held-out data), the same fit with the rest of the family (Adam, SGD with
Nesterov momentum, RMSprop, Adagrad, Adamax, NAdam; each with the best of
three learning rates), the time of one adamopt step against a careful NumPy
Adam step measured in the same run, and, when matplotlib is installed, writes a PNG of
the convergence curves and says where.  Nothing optional is needed; it takes a
few seconds.
"""

import math
import os
import time
import warnings

import numpy as np
from scipy.optimize import OptimizeWarning, minimize
from scipy.special import log_softmax, softmax

from . import _bench, _family_methods
from ._batches import minibatches
from ._minimize import adam, adamw

#: The family in part 3: (label, method, options, base learning rate); each
#: fit takes the best of 0.5, 1 and 2 times the base.
FAMILY = (
    ("Adam", adam, {}, 0.02),
    ("SGD, Nesterov 0.9", _family_methods.sgd, {"momentum": 0.9, "nesterov": True}, 0.05),
    ("RMSprop", _family_methods.rmsprop, {}, 0.01),
    ("Adagrad", _family_methods.adagrad, {}, 0.2),
    ("Adamax", _family_methods.adamax, {}, 0.05),
    ("NAdam", _family_methods.nadam, {}, 0.02),
)

#: The default file of the convergence plot (in the current directory).
PLOT_FILE = "adamopt-demo.png"


def make_data(n=5000, d=20, classes=4, seed=0):
    """Features, integer labels and the true weights of a noisy softmax model
    (``n`` training rows plus ``n // 5`` held-out rows)."""
    rng = np.random.default_rng(seed)
    total = n + n // 5
    X = rng.standard_normal((total, d))
    W = rng.standard_normal((d + 1, classes)) * 4.0 / np.sqrt(d)
    logits = X @ W[:-1] + W[-1]
    # Sample the labels from the model's probabilities (Gumbel-max trick).
    y = np.argmax(logits + rng.gumbel(size=logits.shape), axis=1)
    return (X[:n], y[:n]), (X[n:], y[n:]), W


def loss_and_grad(w, X, y, classes=4, l2=1e-3):
    """Mean cross-entropy of a softmax model with weights and biases ``w``
    (flattened, shape ``(d + 1) * classes``), an L2 term, and its gradient."""
    d = X.shape[1]
    W = w.reshape(d + 1, classes)
    z = X @ W[:-1] + W[-1]
    logp = log_softmax(z, axis=1)
    rows = np.arange(len(y))
    loss = -logp[rows, y].mean() + 0.5 * l2 * (w @ w)
    delta = softmax(z, axis=1)
    delta[rows, y] -= 1.0
    delta /= len(y)
    grad = np.empty_like(W)
    grad[:-1] = X.T @ delta
    grad[-1] = delta.sum(axis=0)
    return loss, grad.ravel() + l2 * w


def accuracy(w, X, y, classes=4):
    W = w.reshape(X.shape[1] + 1, classes)
    return float(np.mean(np.argmax(X @ W[:-1] + W[-1], axis=1) == y))


def step_speed(sizes, target=0.02, repeats=5):
    """Median seconds per step of adamopt and of a careful in-place NumPy Adam,
    timed round-robin in this process: {n: (adamopt, numpy)}."""
    out = {}
    for n in sizes:
        steps = {"adamopt": _bench.make_adamopt(n, "float64")[0],
                 "numpy": _bench.make_numpy(n, "float64")[0]}
        times = _bench.time_round_robin(steps, repeats=repeats, target=target)
        out[n] = (times["adamopt"], times["numpy"])
    return out


def compare_family(X, y, size, epochs, batch_size, seed, optimum, out):
    """Part 3: the same fit with each method of `FAMILY` (same minibatches,
    same 1/sqrt decay of the learning rate); return {label: excess loss}."""
    out("\n3. the family on the same minibatches and decay, each with the best of "
        "lr x (0.5, 1, 2):")
    out(f"  {'method':20s} {'lr':>7s} {'above the optimum':>18s} {'time per fit':>13s}")
    per_epoch = -(-len(y) // batch_size)
    found = {}
    for label, method, options, base in FAMILY:
        best = None
        for lr in (0.5 * base, base, 2.0 * base):
            t0 = time.perf_counter()
            res = minimize(loss_and_grad, np.zeros(size), jac=True, method=method,
                           options={"lr": lambda t, lr=lr: lr / math.sqrt(1.0 + t / 100.0),
                                    "maxiter": epochs * per_epoch, "gtol": 0.0, **options,
                                    "batches": minibatches(X, y, batch_size=batch_size,
                                                           seed=seed)})
            seconds = time.perf_counter() - t0
            excess = (loss_and_grad(res.x, X, y)[0] - optimum) / optimum
            if best is None or excess < best[1]:
                best = (lr, excess, seconds)
        out(f"  {label:20s} {best[0]:7.3g} {best[1]:17.3%} {best[2]:12.2f}s")
        found[label] = best[1]
    return found


def plot(path, losses, excess, title):
    """Draw the fits' objective (``losses``: {label: columns}) and excess
    full-batch loss (``excess``) against passes over the data into ``path``;
    return its absolute path, or None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    from ._plot import plot_history

    figure, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    plot_history(losses, "fun", x="epoch", ax=axes[0])
    plot_history(excess, "excess", x="epoch", ax=axes[1])
    axes[0].set_ylabel("training loss (AdamW: on each minibatch, faint,\n"
                       "and its running average; L-BFGS-B: full batch)")
    axes[1].set_ylabel("full-batch loss minus the optimum")
    for axis in axes:
        axis.set_xlabel("passes over the data (epochs)")
    figure.suptitle(title)
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return os.path.abspath(path)


def run(epochs=20, batch_size=50, lr=0.02, seed=0, plot_path=PLOT_FILE, speed=True,
        family=True, out=print):
    """Run the demo; print with ``out`` and return the figures in a dict."""
    (X, y), (X_test, y_test), _ = make_data(seed=seed)
    n, d = X.shape
    classes = int(y.max()) + 1
    size = (d + 1) * classes
    per_epoch = -(-n // batch_size)
    out(f"adamopt demo: softmax regression, {n} samples x {d} features, {classes} classes "
        f"({size} parameters)\n")
    out(f"1. minimize(method=adamopt.adamw) on minibatches of {batch_size}, {epochs} "
        f"epochs, learning rate {lr:g} / sqrt(1 + t/100) at step t (a row every 2 epochs)")

    def rate(t):
        return lr / math.sqrt(1.0 + t / 100.0)

    snapshots, every = [], max(1, per_epoch // 10)

    def snapshot(intermediate_result):     # iterates for the plot, a few per epoch
        if intermediate_result.nit % every == 0:
            snapshots.append((intermediate_result.nit, intermediate_result.x))

    t0 = time.perf_counter()
    with warnings.catch_warnings():     # the demo runs to maxiter on purpose
        warnings.filterwarnings("ignore", "Maximum number of iterations", OptimizeWarning)
        res = minimize(loss_and_grad, np.zeros(size), jac=True, method=adamw,
                       callback=snapshot if plot_path is not None else None,
                       options={"lr": rate, "weight_decay": 0.0,
                                "maxiter": epochs * per_epoch,
                                "gtol": 0.0, "disp": True, "disp_every": 2 * per_epoch,
                                "history": max(1, per_epoch // 20),
                                "batches": minibatches(X, y, batch_size=batch_size,
                                                       seed=seed)})
    t_adam = time.perf_counter() - t0

    out("\n2. minimize(method='L-BFGS-B') on the full batch")
    curve = []

    def recorded(w):
        f, g = loss_and_grad(w, X, y)
        curve.append((len(curve), f, float(np.linalg.norm(g))))
        return f, g

    t0 = time.perf_counter()
    ref = minimize(recorded, np.zeros(size), jac=True, method="L-BFGS-B")
    t_lbfgs = time.perf_counter() - t0
    out(f"   {ref.message}")

    loss = loss_and_grad(res.x, X, y)[0]
    results = {
        "loss": loss, "reference_loss": float(ref.fun),
        "accuracy": accuracy(res.x, X_test, y_test),
        "reference_accuracy": accuracy(ref.x, X_test, y_test),
        "steps": res.nit, "status": res.status,
    }
    out("\nsummary (loss: full-batch training loss; accuracy: on "
        f"{len(y_test)} held-out samples)")
    out(f"  {'method':22s} {'iterations':>10s} {'time':>8s} {'loss':>9s} {'accuracy':>9s}")
    out(f"  {'AdamW (minibatch)':22s} {res.nit:10d} {t_adam:7.2f}s {loss:9.5f} "
        f"{results['accuracy']:9.3f}")
    out(f"  {'L-BFGS-B (full batch)':22s} {ref.nit:10d} {t_lbfgs:7.2f}s {ref.fun:9.5f} "
        f"{results['reference_accuracy']:9.3f}")
    out(f"  AdamW is {(loss - ref.fun) / ref.fun:.2%} above the full-batch optimum after "
        f"{epochs} passes over the data ({res.nfev} minibatch evaluations; L-BFGS-B made "
        f"{ref.nfev} full-batch ones).")
    if family:
        results["family"] = compare_family(X, y, size, epochs, batch_size, seed,
                                           float(ref.fun), out)

    if speed:
        sizes = (size, 1_000_000)
        out("\none optimizer step, adamopt against a careful in-place NumPy Adam "
            "(float64, median, measured now):")
        for m, (ours, numpy) in step_speed(sizes).items():
            out(f"  {m:>9,d} parameters: adamopt {_bench._fmt_time(ours):>9s}, "
                f"NumPy {_bench._fmt_time(numpy):>9s}: {numpy / ours:5.1f}x faster")
            results[f"speedup_{m}"] = numpy / ours

    if plot_path is not None:
        # The optimum, tighter than L-BFGS-B's default stopping point.
        best = minimize(loss_and_grad, ref.x, args=(X, y), jac=True, method="L-BFGS-B",
                        options={"gtol": 1e-12, "ftol": 0.0}).fun

        def above(values):   # excess loss; none at or below the optimum on a log axis
            excess = np.asarray(values, dtype=float) - best
            return np.where(excess > 0, excess, np.nan)

        adam = dict(res.history, epoch=res.history["nit"] / per_epoch)
        lbfgs = {"nit": np.arange(len(curve)), "epoch": np.arange(len(curve), dtype=float),
                 "fun": np.array([c[1] for c in curve])}
        steps = np.array([0] + [k for k, _ in snapshots])
        adam_excess = above([loss_and_grad(np.zeros(size), X, y)[0]]
                            + [loss_and_grad(w, X, y)[0] for _, w in snapshots])
        labels = (f"AdamW, minibatches of {batch_size}", "L-BFGS-B, full batch")
        where = plot(plot_path, dict(zip(labels, (adam, lbfgs), strict=True)),
                     {labels[0]: {"nit": steps, "epoch": steps / per_epoch,
                                  "excess": adam_excess},
                      labels[1]: {**lbfgs, "excess": above(lbfgs["fun"])}},
                     f"python -m adamopt demo: softmax regression, {n} samples, "
                     f"{size} parameters")
        if where is None:
            out("\n(install matplotlib for a convergence plot: pip install matplotlib)")
        else:
            out(f"\nconvergence plot written to {where}")
        results["plot"] = where
    return results
