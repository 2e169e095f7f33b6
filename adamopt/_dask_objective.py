"""A data-parallel objective: the loss and gradient over Dask arrays, summed
on the workers by a tree reduction over the chunks (`dask_objective`)."""

import math
import uuid
from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from . import _dask
from . import _validation as check

_OWNER = "dask_objective"

#: Up to this many bytes of ``w`` in all the tasks of a call, ``w`` travels
#: inside the tasks; beyond, it is scattered to every worker first (one more
#: round trip to the cluster, but one copy per worker).
_INLINE_BYTES = 2**20

#: Calls between two looks at where the chunks are (they move when workers
#: come and go, or when the cluster rebalances them).
_OWNERS_EVERY = 100


def dask_objective(loss_and_grad: Callable[..., tuple[Any, Any]], *arrays: Any,
                   reduction: Literal["mean", "sum"] = "mean",
                   blocks_per_call: int | None = None,
                   seed: int | np.random.SeedSequence | np.random.Generator | None = None,
                   split_every: int = 8) -> "DaskObjective":
    r"""Turn a NumPy ``loss_and_grad`` into a data-parallel objective on Dask arrays.

    ``loss_and_grad(w, X_block, y_block, ...)`` is your function for one block
    of rows, on NumPy arrays; the returned `DaskObjective` is called as
    ``objective(w)`` and returns the value and the gradient over all the rows
    (or over a random sample of blocks), as a Python float and a NumPy array,
    so that ``scipy.optimize.minimize(objective, w0, jac=True,
    method=adamopt.adam)`` runs unchanged.  Each call runs ``loss_and_grad``
    on every chunk where the chunk lives, on the workers of the current
    ``dask.distributed`` client, and adds the results up in a tree on the
    workers; only ``w`` (one copy per task, or per worker when large) and
    the final value and gradient cross between the client and the cluster.

    Parameters
    ----------
    loss_and_grad : callable
        ``loss_and_grad(w, *blocks, *args) -> (f, g)`` with ``blocks`` the rows
        of one chunk of each array (NumPy arrays), ``f`` a real number and
        ``g`` an array with the shape of ``w``.  It must be picklable by
        cloudpickle (a module-level function, a lambda or a closure is fine).
    *arrays : dask.array.Array
        One or more Dask arrays with the same chunks along the rows and one
        chunk across the other axes, e.g. ``X`` and ``y``.  Persist them first
        (``X = X.persist()``), or every call loads them again.
    reduction : {"mean", "sum"}, default: "mean"
        What ``loss_and_grad`` returns for a block of ``n_b`` rows, and so how
        the blocks combine, with ``N`` rows in all:

        * ``"mean"``: the mean over the block's rows; the objective is
          :math:`F(w) = \sum_b (n_b / N) f_b(w)`, the mean over all rows,
          whatever the chunk sizes.  A term that does not depend on the rows
          (a penalty such as ``lam * w @ w``) is kept exactly once.
        * ``"sum"``: the sum over the block's rows; :math:`F(w) = \sum_b
          f_b(w)`.  A penalty inside ``loss_and_grad`` is then counted once
          per block: add it outside instead.

        In both cases the result equals ``loss_and_grad(w, X, y)`` on the
        whole arrays, up to rounding (the order of the additions differs).
    blocks_per_call : int, optional
        ``None`` (default): every call covers every block, a deterministic
        full-batch objective.  An integer ``k``: every call draws ``k`` blocks
        at random, with replacement and with probability :math:`p_b = n_b /
        N`, and returns the unbiased (Hansen-Hurwitz) estimate
        :math:`\frac{1}{k}\sum_{j} f_{b_j} / (N p_{b_j})` times ``N`` for
        ``"sum"``, i.e. the plain average of the drawn block means for
        ``"mean"``: a stochastic objective for `adamopt.adam`, with a
        variance set by how much the blocks differ from one another.
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator
        Seed of the block draws: call ``i`` draws from a generator of its own
        (spawn key ``i`` of the seed's `~numpy.random.SeedSequence`), so the
        same seed gives the same draws, whatever the timing.
    split_every : int, default: 8
        Fan-in of the tree reduction: each reduction task adds up at most
        this many partial results (as ``split_every`` in Dask's reductions).

    Returns
    -------
    DaskObjective
        The callable ``objective(w, *args) -> (f, g)``; ``args`` are passed on
        to ``loss_and_grad`` (`scipy.optimize.minimize`'s ``args=``).

    Notes
    -----
    One call submits one task per worker thread (for persisted arrays; per
    chunk otherwise) that evaluates ``loss_and_grad`` on each of the worker's
    chunks and adds up the weighted results, then reduction tasks that add
    the workers' ``(f, g)`` pairs ``split_every`` at a time; the client
    receives only the final pair.  ``w`` travels inside the tasks, one copy
    per task, when that is at most 1 MiB in all; a larger ``w`` is
    scattered to every worker first (one more round trip, one copy per
    worker).  The chunks never move: when the objective is made, the chunks
    of each block are packed together on the worker of the largest one (the
    other arrays' chunks are copied there once) and stay there.  Each call
    pays a round trip through the scheduler (milliseconds; the
    ``dask.distributed`` client sends its messages at most every 10 ms) on
    top of the work: worth it when the data does not fit on one machine, or
    when a full-batch evaluation takes much longer than that.  See
    ``benchmarks/dask_overhead.py`` and the README.

    References
    ----------
    M. H. Hansen and W. N. Hurwitz, "On the theory of sampling from finite
    populations", Ann. Math. Statist. 14 (1943), 333-362 (the estimator of a
    total from units drawn with probability proportional to size, with
    replacement).

    Examples
    --------
    >>> def loss_and_grad(w, Xb, yb):               # doctest: +SKIP
    ...     r = Xb @ w - yb
    ...     return r @ r / len(yb), 2 * Xb.T @ r / len(yb)
    >>> X, y = X.persist(), y.persist()              # doctest: +SKIP
    >>> objective = adamopt.dask_objective(loss_and_grad, X, y)   # doctest: +SKIP
    >>> res = minimize(objective, np.zeros(X.shape[1]), jac=True,
    ...                method=adamopt.adam, options={"lr": 0.1})  # doctest: +SKIP
    """
    return DaskObjective(loss_and_grad, *arrays, reduction=reduction,
                         blocks_per_call=blocks_per_call, seed=seed, split_every=split_every)


class DaskObjective:
    """The callable `dask_objective` returns (see there).

    Attributes
    ----------
    n_samples : int
        Rows in every array.
    n_blocks : int
        Chunks along the rows.
    calls : int
        Calls so far (call ``i`` uses spawn key ``i`` of the seed).
    """

    def __init__(self, loss_and_grad, *arrays, reduction="mean", blocks_per_call=None,
                 seed=None, split_every=8):
        if not callable(loss_and_grad):
            raise check._fail(TypeError, "loss_and_grad", _OWNER,
                              "a callable (w, *blocks) -> (value, gradient)", loss_and_grad)
        self._client = _dask.client(_OWNER)
        blocks = _dask.RowBlocks(arrays, _OWNER, self._client, numpy_allowed=False)
        self.reduction = check.choice(reduction, "reduction", _OWNER, ("mean", "sum"))
        if blocks_per_call is not None:
            blocks_per_call = check.integer(blocks_per_call, "blocks_per_call", _OWNER)
        self.blocks_per_call = blocks_per_call
        self.split_every = check.integer(split_every, "split_every", _OWNER, low=2)
        self._root = _dask.root_seed(seed, _OWNER)
        self._function = loss_and_grad
        self._blocks = blocks
        self.n_samples = blocks.n_samples
        self.n_blocks = blocks.n_blocks
        self.calls = 0
        self._token = uuid.uuid4().hex[:12]
        blocks.pack()
        self._locate()

    def _locate(self):
        """Look where the blocks are: one task per worker thread covers the
        blocks its worker holds (the scheduler places it there)."""
        self._owner = self._blocks.owners()
        self._threads = self._client.nthreads() if self._blocks.persisted else {}

    def weights(self, call: int) -> dict[int, float]:
        """The blocks call number ``call`` evaluates and the weight of each:
        a dict ``{block: weight}``; the objective is the weighted sum of the
        blocks' ``loss_and_grad``."""
        sizes, n = self._blocks.sizes, self.n_samples
        mean = self.reduction == "mean"
        if self.blocks_per_call is None:
            return {c: (int(sizes[c]) / n if mean else 1.0) for c in range(self.n_blocks)}
        k = self.blocks_per_call
        rng = _dask.draw_rng(self._root, call)
        chosen = rng.choice(self.n_blocks, size=k, p=sizes / n)
        out: dict[int, float] = {}
        for c in chosen.tolist():
            # mean: 1/k per draw; sum: 1 / (k p_c) = n / (k n_c) per draw
            out[c] = out.get(c, 0.0) + (1.0 / k if mean else n / (k * int(sizes[c])))
        return out

    def __call__(self, w: np.ndarray, *args: Any) -> tuple[float, np.ndarray]:
        number = self.calls
        weights = self.weights(number)
        name = f"adamopt-objective-{self._token}-{number}"
        if number and number % _OWNERS_EVERY == 0:
            self._locate()
        groups: dict[Any, list[tuple[int, float]]] = {}
        alone: list[list[tuple[int, float]]] = []
        for c, weight in weights.items():
            if self._owner[c] is None:
                alone.append([(c, weight)])
            else:
                groups.setdefault(self._owner[c], []).append((c, weight))
        split: list[Any] = []
        for worker, pairs in sorted(groups.items()):
            threads = max(1, min(self._threads.get(worker, 1), len(pairs)))
            split.extend(pairs[j::threads] for j in range(threads))
        tasks = [(group, f"{name}-blocks-{i}") for i, group in enumerate(split + alone)]
        w = np.array(w, copy=True)
        if w.nbytes * len(tasks) > _INLINE_BYTES:
            w = self._client.scatter(w, broadcast=True, hash=False)
        level = []
        for group, key in tasks:
            refs = [self._blocks.refs[c] for c, _ in group]
            level.append(self._blocks.submit(
                _group_term, self._function, w, [weight for _, weight in group], args,
                *refs, key=key))
        depth = 0
        while len(level) > 1:
            depth += 1
            level = [self._client.submit(_add, *level[i:i + self.split_every], pure=False,
                                         key=f"{name}-sum-{depth}-{i // self.split_every}")
                     for i in range(0, len(level), self.split_every)]
        self.calls = number + 1
        f, g = level[0].result()
        return f, g

    def __repr__(self):
        shapes = ", ".join(str(a.shape) for a in self._blocks.arrays)
        return (f"dask_objective({getattr(self._function, '__name__', self._function)!s}, "
                f"<Dask arrays {shapes} in {self.n_blocks} row chunks>, "
                f"reduction={self.reduction!r}, blocks_per_call={self.blocks_per_call})")


def _group_term(function, w, weights, args, *blocks):
    """On a worker: the weighted sum of ``loss_and_grad`` over ``blocks`` (each
    a tuple of chunks)."""
    terms = [_block_term(function, w, weight, args, block)
             for weight, block in zip(weights, blocks, strict=True)]
    return terms[0] if len(terms) == 1 else _add(*terms)


def _block_term(function, w, weight, args, blocks):
    """``weight * loss_and_grad(w, *blocks, *args)``, as (float, float64 array)."""
    out = function(w, *blocks, *args)
    try:
        f, g = out
    except (TypeError, ValueError):
        raise TypeError(
            f"The loss_and_grad given to {_OWNER} must return a pair (value, gradient). "
            f"Got {check.show(out)} instead."
        ) from None
    f_arr = np.asarray(f)
    if f_arr.size != 1 or f_arr.dtype.kind not in "fiu":
        raise TypeError(f"The loss_and_grad given to {_OWNER} must return a real scalar "
                        f"value. Got {check.show(f)} instead.")
    g = np.asarray(g)
    if g.shape != w.shape or g.dtype.kind not in "fiu":
        raise ValueError(
            f"The gradient returned by the loss_and_grad given to {_OWNER} must be a real "
            f"array of the shape of w, {w.shape}. Got {check.show(g)} instead."
        )
    value = float(f_arr.reshape(()))
    if weight == 1.0:
        return value, g.astype(np.float64, copy=True)
    return weight * value, np.multiply(g, weight, dtype=np.float64)


def _add(*terms):
    """On a worker: the sum of ``(f, g)`` pairs."""
    f = math.fsum(t[0] for t in terms)
    g = terms[0][1].copy()
    for term in terms[1:]:
        g += term[1]
    return f, g
