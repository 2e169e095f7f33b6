r"""The tuning benchmark (``python -m adamopt bench --tuning``): do the
tuning-free methods remove the tuning on the problems our users have?

Six problems built in NumPy, each with a stochastic objective (minibatches or
fresh noise per call) as users give it to `scipy.optimize.minimize`, a
deterministic full-batch loss and its optimum (or, for the network, a
reference value), see `PROBLEMS`:

* ``digits_logistic``: softmax regression on scikit-learn's digits (1797 x 64,
  10 classes, small L2), minibatches of 32;
* ``poisson_glm``: a Poisson GLM with the log link, minibatches of 32;
* ``mlp``: a one-hidden-layer tanh network fitted to a teacher network plus
  noise (non-convex; the reference is a long L-BFGS-B run from the same
  start, so a run may end below it);
* ``variational``: a mean-field Gaussian fit to a Bayesian linear
  regression's posterior by the reparameterised Monte-Carlo gradient of the
  KL divergence, fresh draws per call; the exact KL is the full loss;
* ``least_squares``: linear regression with correlated features and noise,
  minibatches of 32;
* ``noisy_quadratic``: an ill-conditioned (condition number 1e3), rotated
  quadratic whose gradient noise has covariance proportional to the Hessian
  (the noisy quadratic model of Zhang et al. 2019), fresh noise per call.

Every run has the same budget of gradient evaluations (``maxiter``, one
gradient per iteration; the stopping rules are switched off) and is scored by
the full-batch excess loss :math:`f(x) - f^\star` at the point the run
returns (``res.x``: the averaged point for the schedule-free methods), over
several seeds (the seed drives the minibatch order and the noise, the same
for every method: common random numbers).  The contenders:

* **Adam, tuned**: the best of a five-point learning-rate grid (``--lrs``) times
  three schedules (constant, cosine to the budget, 5 % linear warm-up then
  cosine; adamopt's `CosineAnnealing`, `LinearWarmup`, `Join`), chosen per
  problem by the median over the same seeds it is scored on: 15 runs per
  seed, with hindsight, an optimistic Adam;
* **the tuning-free methods**: every registered declaration with
  ``tuning_free=True``, at its defaults, one run per seed;
* **baselines**: every other registered algorithm (Adam included) at its
  default learning rate and no schedule, which is what "not tuning" means
  for them (``--no-baselines`` leaves them out);
* with ``--references``, the PyTorch reference packages' tuning-free
  optimizers (`REFERENCES`: ``schedulefree``, ``prodigyopt``,
  ``dadaptation``) at their defaults, in the plain loop of their
  documentation on the same objective and seeds: a preview of the
  tuning-free methods before adamopt has them, and a cross-check of
  adamopt's once it does (the same algorithm should give the same row).

The ratio column is a method's median excess loss over tuned Adam's (below
1: better than tuned Adam).  `write_results` stores a run as JSON with the
date, the machine and the command; ``docs/_render_tuning.py`` renders that
file on the documentation's "Tuning-free methods" page.
"""

import argparse
import contextlib
import datetime
import functools
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from . import _registry
from ._batches import minibatches
from ._schedules import CosineAnnealing, Join, LinearWarmup

#: The default learning-rate grid of tuned Adam (five decades).
LRS = (1e-4, 1e-3, 1e-2, 1e-1, 1.0)
#: The schedules tried for tuned Adam (multipliers of its learning rate).
SCHEDULES = ("constant", "cosine", "warmup-cosine")
#: Fraction of the budget the warm-up of "warmup-cosine" takes.
WARMUP_FRACTION = 0.05
BATCH_SIZE = 32
#: The ``format`` of the JSON files `write_results` writes.
RESULTS_FORMAT = "adamopt-bench-tuning/1"
#: Run options that switch every stopping rule off: each run uses its budget.
NO_STOPPING = {"gtol": 0.0, "ftol": 0.0, "stationarity": False}


@dataclass(frozen=True)
class Problem:
    """One benchmark problem.

    ``loss(x, *batch)`` returns the loss on one minibatch (or one draw of the
    noise) and its gradient, deterministically; ``full(x)`` the full-batch
    (exact) loss and gradient; ``best`` the optimum's full loss, reached at
    ``x_best`` (``reference`` says how it was found).  Either ``data`` holds
    the arrays cut into minibatches, or ``noise(rng)`` draws the noise of one
    call (the objective then draws fresh noise at every call, as a user's
    Monte-Carlo objective does).
    """

    name: str
    title: str
    x0: np.ndarray
    loss: Callable
    full: Callable
    best: float
    x_best: np.ndarray
    reference: str
    data: tuple | None = None
    noise: Callable | None = None
    batch_size: int = BATCH_SIZE

    def objective(self, seed):
        """``(fun, batches)`` of a run with ``seed``: what ``minimize`` is given."""
        if self.data is not None:
            return self.loss, minibatches(*self.data, batch_size=self.batch_size, seed=seed)
        rng = np.random.default_rng(seed)
        loss, noise = self.loss, self.noise

        def fun(x):
            return loss(x, *noise(rng))
        return fun, None

    def excess(self, x):
        """The full-batch excess loss at ``x`` (inf where it is not finite)."""
        with np.errstate(all="ignore"):
            value = self.full(x)[0] - self.best
        return value if math.isfinite(value) else math.inf


def _reference(full, x0, maxiter=20_000):
    """The full-batch minimum by L-BFGS-B from ``x0``: (x, f)."""
    res = minimize(full, x0, jac=True, method="L-BFGS-B",
                   options={"maxiter": maxiter, "maxfun": 2 * maxiter, "gtol": 1e-12,
                            "ftol": 1e-15, "maxcor": 30})
    return res.x, float(res.fun)


def _make(name, title, x0, loss, full, reference="L-BFGS-B on the full batch", **kwargs):
    x_best, best = _reference(full, x0)
    return Problem(name, title, x0, loss, full, best, x_best, reference, **kwargs)


# -- the problems ------------------------------------------------------------------------

def digits_logistic():
    """Softmax regression on scikit-learn's digits, L2 1e-3, minibatches of 32."""
    from sklearn.datasets import load_digits

    X, labels = load_digits(return_X_y=True)
    scale = X.std(axis=0)
    X = np.ascontiguousarray((X - X.mean(axis=0)) / np.where(scale > 0, scale, 1.0))
    Y = np.eye(10)[labels]
    d, k, l2 = X.shape[1], 10, 1e-3

    def loss(w, Xb, Yb):
        W, b = w[:d * k].reshape(d, k), w[d * k:]
        z = Xb @ W + b
        z -= z.max(axis=1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        n = len(Xb)
        value = -np.sum(Yb * log_p) / n + 0.5 * l2 * np.sum(W * W)
        dz = (np.exp(log_p) - Yb) / n
        return float(value), np.concatenate([(Xb.T @ dz + l2 * W).ravel(), dz.sum(axis=0)])

    return _make("digits_logistic", "softmax regression, digits (1797 x 64, 10 classes), L2 1e-3",
                 np.zeros(d * k + k), loss, lambda w: loss(w, X, Y), data=(X, Y))


def poisson_glm(n=4000, d=20, seed=1):
    """A Poisson GLM (log link) on synthetic counts, minibatches of 32."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) / np.sqrt(d)
    w_true = rng.standard_normal(d)
    y = rng.poisson(np.exp(X @ w_true + 0.5)).astype(np.float64)
    X = np.hstack([X, np.ones((n, 1))])     # the intercept

    def loss(w, Xb, yb):
        eta = Xb @ w
        mu = np.exp(eta)
        return float(np.mean(mu - yb * eta)), Xb.T @ (mu - yb) / len(yb)

    return _make("poisson_glm", f"Poisson regression, log link ({n} x {d} + intercept)",
                 np.zeros(d + 1), loss, lambda w: loss(w, X, y), data=(X, y))


def _mlp_parts(d, h):
    def unpack(w):
        W1 = w[:d * h].reshape(d, h)
        b1 = w[d * h:d * h + h]
        w2 = w[d * h + h:d * h + 2 * h]
        return W1, b1, w2, w[-1]

    def forward(w, X):
        W1, b1, w2, b2 = unpack(w)
        hidden = np.tanh(X @ W1 + b1)
        return hidden, hidden @ w2 + b2

    return unpack, forward


def mlp(n=1000, d=8, h=12, seed=2):
    """A tanh network (d-h-1) fitted to a teacher network plus noise; squared loss."""
    rng = np.random.default_rng(seed)
    unpack, forward = _mlp_parts(d, h)
    size = d * h + 2 * h + 1
    X = rng.standard_normal((n, d))
    teacher = rng.standard_normal(size) * np.concatenate(
        [np.full(d * h, 1 / np.sqrt(d)), np.ones(h), np.full(h, 1 / np.sqrt(h)), [1.0]])
    y = forward(teacher, X)[1] + 0.1 * rng.standard_normal(n)
    l2 = 1e-4

    def loss(w, Xb, yb):
        w2 = unpack(w)[2]
        hidden, out = forward(w, Xb)
        r = (out - yb) / len(yb)
        value = 0.5 * float(r @ (out - yb)) + 0.5 * l2 * float(w @ w)
        dh = np.outer(r, w2) * (1 - hidden**2)
        grad = np.concatenate([(Xb.T @ dh).ravel(), dh.sum(axis=0), hidden.T @ r, [r.sum()]])
        return value, grad + l2 * w

    x0 = rng.standard_normal(size) * np.concatenate(
        [np.full(d * h, 1 / np.sqrt(d)), np.zeros(h), np.full(h, 1 / np.sqrt(h)), [0.0]])
    return _make("mlp", f"tanh network {d}-{h}-1 on a noisy teacher ({n} points), L2 1e-4",
                 x0, loss, lambda w: loss(w, X, y),
                 reference="L-BFGS-B on the full batch from the same start (a local minimum)",
                 data=(X, y))


def variational(d=20, n=200, draws=4, seed=3):
    r"""A mean-field Gaussian :math:`q = N(\mu, \mathrm{diag}(s^2))` fitted to
    the posterior :math:`N(m, A^{-1})` of a Bayesian linear regression by the
    reparameterised gradient of :math:`KL(q \| p)`, ``draws`` fresh draws per call."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, d)) @ np.linalg.cholesky(
        0.7 ** np.abs(np.subtract.outer(np.arange(d), np.arange(d)))).T
    t = Z @ rng.standard_normal(d) + rng.standard_normal(n)
    A = Z.T @ Z + np.eye(d)            # noise variance 1, prior N(0, I)
    m = np.linalg.solve(A, Z.T @ t)
    half_logdet = 0.5 * np.linalg.slogdet(A)[1]

    def loss(theta, eps):
        mu, log_s = theta[:d], theta[d:]
        s = np.exp(log_s)
        r = mu + s * eps - m                   # z - m, one row per draw
        Ar = r @ A
        value = 0.5 * np.mean(np.sum(r * Ar, axis=1)) - log_s.sum() - half_logdet - 0.5 * d
        return float(value), np.concatenate([Ar.mean(axis=0), (Ar * eps).mean(axis=0) * s - 1])

    def full(theta):
        mu, log_s = theta[:d], theta[d:]
        s2 = np.exp(2 * log_s)
        r = mu - m
        value = 0.5 * (np.diag(A) @ s2 + r @ A @ r) - log_s.sum() - half_logdet - 0.5 * d
        return float(value), np.concatenate([A @ r, np.diag(A) * s2 - 1])

    x_best = np.concatenate([m, -0.5 * np.log(np.diag(A))])
    return Problem("variational",
                   f"mean-field Gaussian VI of a {d}-dim. regression posterior, {draws} draws "
                   "per call", np.zeros(2 * d), loss, full, full(x_best)[0], x_best,
                   r"exact: :math:`\mu = m`, :math:`s_i^2 = 1/A_{ii}`",
                   noise=lambda rng: (rng.standard_normal((draws, d)),))


def least_squares(n=5000, d=50, seed=4):
    """Linear regression, correlated features (condition number ~1e2), noise 0.5."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d)) * np.logspace(0, -1, d)
    X = X @ np.linalg.qr(rng.standard_normal((d, d)))[0]
    y = X @ rng.standard_normal(d) + 0.5 * rng.standard_normal(n)

    def loss(w, Xb, yb):
        r = Xb @ w - yb
        return 0.5 * float(r @ r) / len(yb), Xb.T @ r / len(yb)

    def full(w):
        return loss(w, X, y)

    x_best = np.linalg.lstsq(X, y, rcond=None)[0]
    return Problem("least_squares", f"noisy least squares ({n} x {d}, condition ~1e2)",
                   np.zeros(d), loss, full, full(x_best)[0], x_best,
                   "exact: numpy.linalg.lstsq", data=(X, y))


def noisy_quadratic(d=100, condition=1e3, sigma=1.0, seed=5):
    r"""An ill-conditioned rotated quadratic :math:`\tfrac12 (x - x^\star)^T H (x - x^\star)`
    whose gradient noise has covariance :math:`\sigma^2 H` (fresh at every call)."""
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.standard_normal((d, d)))[0]
    lam = np.logspace(0, -np.log10(condition), d)
    H = (Q * lam) @ Q.T
    H_half = (Q * np.sqrt(lam)) @ Q.T
    x_star = rng.standard_normal(d)

    def loss(x, xi):
        r = x - x_star
        noise = sigma * (H_half @ xi)
        Hr = H @ r
        return 0.5 * float(r @ Hr) + float(r @ noise), Hr + noise

    def full(x):
        r = x - x_star
        Hr = H @ r
        return 0.5 * float(r @ Hr), Hr

    return Problem("noisy_quadratic",
                   f"rotated quadratic, d = {d}, condition {condition:.0e}, noise ~ N(0, H)",
                   np.zeros(d), loss, full, 0.0, x_star, "exact: the centre x*",
                   noise=lambda rng: (rng.standard_normal(d),))


#: The problems by name, in the order of the tables (each built once per process).
PROBLEMS = {f.__name__: functools.cache(f) for f in
            (digits_logistic, poisson_glm, mlp, variational, least_squares, noisy_quadratic)}


# -- the contenders ----------------------------------------------------------------------

@dataclass(frozen=True)
class Candidate:
    """One configuration run on every problem: a registered algorithm, its
    options, and its group ("adam-grid", "tuning-free" or "baseline")."""

    label: str
    algorithm: str
    group: str
    lr: float | None = None
    schedule: str = "constant"

    def options(self, budget):
        """The algorithm's options for a run of ``budget`` iterations."""
        out = {}
        if self.lr is not None:
            out["lr"] = self.lr
        sched = schedule(self.schedule, budget)
        if sched is not None:
            out["schedule"] = sched
        return out


def schedule(name, budget):
    """The learning-rate multiplier ``name`` (one of `SCHEDULES`) for ``budget`` steps."""
    if name == "constant":
        return None
    if name == "cosine":
        return CosineAnnealing(T_max=budget)
    if name == "warmup-cosine":
        warmup = max(1, round(WARMUP_FRACTION * budget))
        return Join([LinearWarmup(warmup), CosineAnnealing(T_max=max(1, budget - warmup))],
                    boundaries=[warmup])
    raise ValueError(f"The 'schedule' parameter of the tuning benchmark must be one of "
                     f"{', '.join(SCHEDULES)}. Got {name!r} instead.")


def tuning_free():
    """The registered declarations marked ``tuning_free=True``, in listing order."""
    return [a for a in _registry.algorithms() if getattr(a, "tuning_free", False)]


def candidates(lrs=LRS, baselines=True):
    """Every configuration of the benchmark: tuned Adam's grid (``lrs`` times
    `SCHEDULES`), the tuning-free methods at their defaults and, with
    ``baselines``, the other registered algorithms at their default lr."""
    out = [Candidate(f"adam lr={lr:g} {name}", "adam", "adam-grid", lr, name)
           for lr in lrs for name in SCHEDULES]
    free = tuning_free()
    out += [Candidate(f"{a.name} (defaults)", a.name, "tuning-free") for a in free]
    if baselines:
        names = {a.name for a in free}
        out += [Candidate(f"{a.name} (default lr)", a.name, "baseline")
                for a in _registry.algorithms() if a.name not in names]
    return out


#: The PyTorch reference packages' tuning-free optimizers (``--references``):
#: (module, class); ``schedule_free`` ones need ``train()``/``eval()``.
REFERENCES = (("schedulefree", "AdamWScheduleFree"), ("schedulefree", "SGDScheduleFree"),
              ("prodigyopt", "Prodigy"), ("dadaptation", "DAdaptAdam"))


def references():
    """Candidates of the PyTorch reference packages that are installed (a preview
    of the tuning-free methods, and a cross-check of adamopt's once registered)."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        return []
    return [Candidate(f"{module}.{name} (defaults)", f"{module}.{name}", "torch-reference")
            for module, name in REFERENCES if importlib.util.find_spec(module) is not None]


def run_reference(problem, candidate, budget, seed):
    """One run of a PyTorch reference optimizer at its defaults, in the plain
    loop of its documentation, on the same objective, batches and seed as
    `run_one`: ``(excess loss at the returned point, gradient evaluations)``."""
    import importlib

    import torch

    module, name = candidate.algorithm.split(".")
    fun, batches = problem.objective(seed)
    x = torch.tensor(problem.x0, dtype=torch.float64, requires_grad=True)
    opt = getattr(importlib.import_module(module), name)([x])
    schedule_free = hasattr(opt, "train")
    if schedule_free:
        opt.train()
    view = x.detach().numpy()           # shares memory with x
    with np.errstate(all="ignore"):
        for _ in range(budget):
            batch = () if batches is None else next(batches)
            x.grad = torch.from_numpy(np.asarray(fun(view, *batch)[1], dtype=np.float64))
            opt.step()
    if schedule_free:
        opt.eval()                      # x becomes the averaged point
    return problem.excess(x.detach().numpy().copy()), budget


# -- running -----------------------------------------------------------------------------

def run_one(problem, candidate, budget, seed):
    """One run: ``(excess loss at res.x, gradient evaluations)``."""
    import adamopt

    fun, batches = problem.objective(seed)
    options = {**candidate.options(budget), **NO_STOPPING, "maxiter": budget,
               "batches": batches}
    with np.errstate(all="ignore"):
        res = minimize(fun, problem.x0.copy(), jac=True,
                       method=getattr(adamopt, candidate.algorithm), options=options)
    # An averaging method's result is evaluated once more, at the averaged
    # point, for ``res.fun``: not a gradient the optimizer stepped with.
    at_average = "x_last" in res and res.jac is not None
    return problem.excess(res.x), int(res.njev) - at_average


def _stats(values):
    a = np.sort(np.asarray(values, dtype=np.float64))
    return float(np.median(a)), float(a[0]), float(a[-1])


def _finite(value):
    return value if math.isfinite(value) else None     # JSON has no inf: None is "diverged"


def run_problem(problem, cands, budget, seeds):
    """Every candidate on ``problem`` over ``seeds``; the summary rows."""
    runs = []
    for cand in cands:
        one = run_reference if cand.group == "torch-reference" else run_one
        results = [one(problem, cand, budget, seed) for seed in seeds]
        excess = [r[0] for r in results]
        median, low, high = _stats(excess)
        runs.append({"label": cand.label, "algorithm": cand.algorithm, "group": cand.group,
                     "lr": cand.lr, "schedule": cand.schedule,
                     "excess": [_finite(e) for e in excess],
                     "median": _finite(median), "low": _finite(low), "high": _finite(high),
                     "gradient_evaluations": max(r[1] for r in results)})
    return runs


def _median(row):
    return math.inf if row["median"] is None else row["median"]


def summarize(runs):
    """The table of one problem: tuned Adam (the grid's best median), then the
    tuning-free methods and the baselines, each with its ratio to tuned Adam."""
    grid = [r for r in runs if r["group"] == "adam-grid"]
    best = min(grid, key=_median) if grid else None
    rows = []
    if best is not None:
        rows.append({**best, "method": "adam, tuned",
                     "config": f"lr={best['lr']:g}, {best['schedule']}"})
    for r in runs:
        if r["group"] == "adam-grid":
            continue
        if r["group"] == "baseline":
            lr = _registry.get(r["algorithm"]).hyperparameter("lr").default
            config = f"default lr={lr:g}, constant"
        else:
            config = "defaults" + (" (PyTorch package)" if r["group"] == "torch-reference"
                                   else "")
        rows.append({**r, "method": r["algorithm"], "config": config})
    reference = _median(best) if best is not None else math.nan
    for row in rows:
        m = _median(row)
        row["ratio"] = (m / reference if reference > 0 and math.isfinite(m) else None)
    return rows


def _one_blas_thread():
    """A context in which BLAS uses one thread (threadpoolctl, when installed).

    The problems are small: BLAS threads on matrices of this size cost more
    than they save, and far more on a machine busy with other work.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def run(problems=tuple(PROBLEMS), seeds=5, budget=2000, lrs=LRS, baselines=True, out=print,
        torch_references=False):
    """Run the benchmark; print a table per problem and the summary; return the
    results.  ``torch_references`` adds the installed PyTorch packages of
    `REFERENCES` at their defaults."""
    with _one_blas_thread():
        return _run(problems, seeds, budget, lrs, baselines, out, torch_references)


def _run(problems, seeds, budget, lrs, baselines, out, torch_references):
    cands = candidates(lrs, baselines) + (references() if torch_references else [])
    free = [a.name for a in tuning_free()]
    out(f"tuning benchmark: {len(problems)} problems, {seeds} seeds, budget {budget} "
        f"gradient evaluations; tuned Adam: lr in {{{', '.join(f'{x:g}' for x in lrs)}}} "
        f"x {{{', '.join(SCHEDULES)}}}")
    out("tuning-free methods: " + (", ".join(free) if free else
        "none registered (the table shows tuned Adam and the baselines)"))
    results = []
    for name in problems:
        start = time.perf_counter()
        problem = PROBLEMS[name]()
        runs = run_problem(problem, cands, budget, range(seeds))
        rows = summarize(runs)
        results.append({"name": name, "title": problem.title, "parameters": problem.x0.size,
                        "best": problem.best, "reference": problem.reference,
                        "runs": runs, "rows": rows,
                        "seconds": round(time.perf_counter() - start, 2)})
        _print_problem(results[-1], out)
    _print_summary(results, out)
    return {"settings": {"seeds": seeds, "budget": budget, "lrs": list(lrs),
                         "schedules": list(SCHEDULES), "warmup_fraction": WARMUP_FRACTION,
                         "batch_size": BATCH_SIZE, "tuning_free": free,
                         "baselines": baselines,
                         "references": [c.algorithm for c in cands
                                        if c.group == "torch-reference"]},
            "problems": results}


def fmt(value):
    """An excess loss for a table (None: diverged)."""
    return "diverged" if value is None else f"{value:.3g}"


def _print_problem(result, out):
    out(f"\n{result['name']}: {result['title']}; {result['parameters']} parameters, "
        f"f* = {result['best']:.6g} ({result['reference']}), {result['seconds']} s")
    out(f"  {'method':<30} {'configuration':<28} {'median excess':>13} "
        f"{'[min, max] over seeds':>24} {'/ tuned':>8}")
    for row in result["rows"]:
        spread = f"[{fmt(row['low'])}, {fmt(row['high'])}]"
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.3g}"
        out(f"  {row['method']:<30} {row['config']:<28} {fmt(row['median']):>13} "
            f"{spread:>24} {ratio:>8}")


def _print_summary(results, out):
    methods = list(dict.fromkeys(r["method"] for p in results for r in p["rows"]
                                 if r["method"] != "adam, tuned"))
    out("\nmedian excess loss / tuned Adam's (below 1: better than tuned Adam)")
    widths = [max(10, len(m)) for m in methods]
    out(f"  {'problem':<16} " + " ".join(f"{m:>{w}}" for m, w in zip(methods, widths,
                                                                      strict=True)))
    for p in results:
        by = {r["method"]: r for r in p["rows"]}
        cells = []
        for m in methods:
            r = by.get(m)
            cells.append("" if r is None else "diverged" if r["median"] is None
                         else "" if r["ratio"] is None else f"{r['ratio']:.3g}")
        out(f"  {p['name']:<16} " + " ".join(f"{c:>{w}}" for c, w in zip(cells, widths,
                                                                          strict=True)))


def write_results(path, results, command):
    """Write a run of `run` to the JSON file ``path``: ``{"format":
    RESULTS_FORMAT, "date", "machine", "command", "settings", "problems"}``
    (diverged runs are ``null``)."""
    from ._bench import machine

    doc = {"format": RESULTS_FORMAT,
           "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "machine": machine(), "command": " ".join(command), **results}
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, sort_keys=True, allow_nan=False)
        f.write("\n")


# -- the command line --------------------------------------------------------------------

def _parser():
    parser = argparse.ArgumentParser(
        prog="python -m adamopt bench --tuning",
        description="Tuned Adam (best of a learning-rate grid and three schedules) against "
                    "the tuning-free methods at their defaults (and the other algorithms at "
                    "their default lr): full-batch excess loss at equal gradient "
                    "evaluations on six problems, median over seeds.")
    parser.add_argument("--seeds", type=int, default=5,
                        help="seeds per configuration (minibatch order and noise; default 5)")
    parser.add_argument("--budget", type=int, default=2000,
                        help="gradient evaluations (iterations) per run (default 2000; "
                             "--seeds 1 --budget 200 is a quick run)")
    parser.add_argument("--problems", nargs="+", default=list(PROBLEMS), metavar="NAME",
                        help=f"problems to run (default all: {' '.join(PROBLEMS)})")
    parser.add_argument("--lrs", type=float, nargs="+", default=list(LRS), metavar="LR",
                        help="tuned Adam's learning-rate grid (default "
                             f"{' '.join(f'{x:g}' for x in LRS)})")
    parser.add_argument("--baselines", action=argparse.BooleanOptionalAction, default=True,
                        help="also run the other registered algorithms at their default lr "
                             "(default: yes)")
    parser.add_argument("--references", action="store_true",
                        help="also run the PyTorch reference packages' tuning-free "
                             "optimizers at their defaults, when installed (schedulefree, "
                             "prodigyopt, dadaptation)")
    parser.add_argument("--output", metavar="PATH", default=None,
                        help="also write the results as JSON to PATH, with the date, the "
                             "machine and the command (docs/tuning_results.json is the one "
                             "the documentation renders)")
    return parser


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1; got {args.seeds}")
    if args.budget < 10:
        parser.error(f"--budget must be at least 10; got {args.budget}")
    unknown = [p for p in args.problems if p not in PROBLEMS]
    if unknown:
        parser.error(f"--problems: unknown problem {unknown[0]!r}; "
                     f"choose from {', '.join(PROBLEMS)}")
    bad = [lr for lr in args.lrs if not (math.isfinite(lr) and lr > 0)]
    if bad:
        parser.error(f"--lrs must be positive and finite; got {bad[0]}")
    results = run(tuple(dict.fromkeys(args.problems)), args.seeds, args.budget,
                  tuple(args.lrs), args.baselines, torch_references=args.references)
    if args.output is not None:
        argv = sys.argv[1:] if argv is None else ["bench", "--tuning", *argv]
        write_results(args.output, results, ["python", "-m", "adamopt", *argv])
    return results
