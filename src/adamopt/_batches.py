"""Endless, reproducible streams of aligned minibatches for stochastic objectives."""

import numbers
import operator

import numpy as np

from . import _dask
from . import _validation as check

_OWNER = "minibatches"


def minibatches(*arrays, batch_size, shuffle=True, seed=None, drop_last=False,
                chunks_per_batch=None):
    """Return an endless stream of aligned minibatch tuples drawn from ``arrays``.

    Each item is a tuple ``(a[idx], b[idx], ...)`` with the same row indices
    ``idx`` into every array, ready for ``fun(x, *batch)``.  An *epoch* visits
    every row once: with ``shuffle=True`` in a new random order each epoch,
    otherwise in order.  The stream never ends; pass it as the ``batches``
    option of `adamopt.adam` and friends, which draw one item per iteration.

    Parameters
    ----------
    *arrays : array_like
        One or more arrays with the same length (first dimension), for example
        ``X`` and ``y``.  NumPy arrays (and subclasses such as `numpy.memmap`)
        and objects with a ``shape`` and row indexing (SciPy sparse matrices)
        are used as they are; anything else is converted with `numpy.asarray`.
    batch_size : int
        Rows per minibatch, ``1 <= batch_size <= len(arrays[0])``.
    shuffle : bool, default: True
        Draw a new random permutation of the rows each epoch.  With ``False``
        the rows come in order and each batch is a slice (a view for NumPy
        arrays).
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator
        Seed of the permutations; the same seed gives the same stream.  A
        `~numpy.random.Generator` is used (and advanced) as it is.
    drop_last : bool, default: False
        Skip the last, smaller batch of an epoch when ``batch_size`` does not
        divide the number of rows, so that every batch has ``batch_size`` rows.
    chunks_per_batch : int, optional
        Dask arrays only: the number of random chunks each batch is drawn
        from (default 1); see Notes.

    Returns
    -------
    MinibatchStream
        An iterator over the batches.  Its attributes ``n_samples`` (rows),
        ``batches_per_epoch`` and ``epoch`` (the epoch the next batch comes
        from, counting from 0) describe where it stands.

    Notes
    -----
    The stream is an iterator object (``iter(stream) is stream``): passing the
    same object to two runs continues it, which is what resuming a run from
    its ``state`` needs.  Create a new one (with the same ``seed``) to start
    over.  A batch is a fancy-indexed copy of the rows when ``shuffle=True``.

    Drawing every row once per epoch in a fresh random order ("random
    reshuffling", sampling without replacement) rather than independent rows
    with replacement is what deep-learning data loaders do; it converges
    faster than sampling with replacement on smooth, strongly convex sums [1]_, and
    shuffling each epoch is the practice recommended in [2]_.

    **Dask arrays.**  When any array is a ``dask.array.Array`` (the others may
    be NumPy arrays, kept on the client), the batches are cut on the
    ``dask.distributed`` cluster of the current client (small tasks on the
    chunks they draw from, several consecutive batches per transfer), and
    only the batches' rows travel to the client; the next batches are
    computed and transferred in the background while the current one is
    used.  The Dask arrays must have the same chunks along the
    rows and one chunk across the other axes; persist them first
    (``X = X.persist()``), or every batch loads its chunk again.  With
    ``shuffle=True`` a batch is not a slice of a permutation of all the rows:
    it draws ``chunks_per_batch`` chunks at random (with replacement, with
    probability proportional to their rows), splits ``batch_size`` evenly
    between them, and takes that many distinct rows at random from each
    (with replacement only if a chunk has fewer rows than asked of it).
    Every row has the same probability of being in a batch, so a batch mean
    is an unbiased estimate of the mean over all rows, as with uniform
    sampling; its variance is larger, by the variance between the chunks'
    means, which weighs ``1 / chunks_per_batch`` instead of ``1 /
    batch_size``.  That is negligible when the rows were in random order
    before chunking; when the chunks differ (data sorted by time or class),
    raise ``chunks_per_batch`` or shuffle once.  Batches are independent of
    each other (an epoch is `batches_per_epoch` batches, not a pass over
    every row: sampling with replacement across batches, not the reshuffling
    above) and batch ``i`` depends only on ``seed`` and ``i``, never on
    timing.  ``drop_last`` matters only with ``shuffle=False``, where batches
    are consecutive rows as for NumPy arrays.  See `DaskMinibatchStream`.

    References
    ----------
    .. [1] M. Gürbüzbalaban, A. Ozdaglar and P. A. Parrilo, "Why random
       reshuffling beats stochastic gradient descent", Mathematical
       Programming 186, 49-84 (2021), arXiv:1510.08560.
    .. [2] L. Bottou, "Stochastic Gradient Descent Tricks", in Neural
       Networks: Tricks of the Trade, 2nd ed., Springer LNCS 7700, 2012.

    Examples
    --------
    >>> import numpy as np
    >>> import adamopt
    >>> X, y = np.arange(10.0).reshape(5, 2), np.arange(5)
    >>> stream = adamopt.minibatches(X, y, batch_size=2, shuffle=False)
    >>> [yb.tolist() for _, yb in (next(stream) for _ in range(4))]
    [[0, 1], [2, 3], [4], [0, 1]]
    """
    if any(_dask.is_dask_array(a) for a in arrays):
        from ._dask_batches import DaskMinibatchStream

        return DaskMinibatchStream(*arrays, batch_size=batch_size, shuffle=shuffle,
                                   seed=seed, drop_last=drop_last,
                                   chunks_per_batch=chunks_per_batch)
    if chunks_per_batch is not None:
        raise check._fail(ValueError, "chunks_per_batch", _OWNER,
                          "None for NumPy arrays (it applies to Dask arrays)",
                          chunks_per_batch)
    return MinibatchStream(*arrays, batch_size=batch_size, shuffle=shuffle, seed=seed,
                           drop_last=drop_last)


class MinibatchStream:
    """The iterator returned by `minibatches` (see there)."""

    def __init__(self, *arrays, batch_size, shuffle=True, seed=None, drop_last=False):
        if not arrays:
            raise TypeError(
                "minibatches() needs at least one array, e.g. minibatches(X, y, batch_size=32)."
            )
        self._arrays = tuple(_as_indexable(a, i) for i, a in enumerate(arrays))
        lengths = [a.shape[0] for a in self._arrays]
        if len(set(lengths)) > 1:
            raise ValueError(
                f"The arrays given to {_OWNER} must have the same length (first dimension). "
                f"Got lengths {lengths} instead."
            )
        n = lengths[0]
        if n == 0:
            raise ValueError(f"The arrays given to {_OWNER} must not be empty. Got 0 rows.")
        self.n_samples = n
        if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size,
                                                                     numbers.Integral):
            raise check._fail(TypeError, "batch_size", _OWNER, f"an integer in [1, {n}]",
                              batch_size)
        if not 1 <= batch_size <= n:
            raise check._fail(ValueError, "batch_size", _OWNER,
                              f"in [1, {n}] (the number of rows)", batch_size)
        self.batch_size = operator.index(batch_size)
        self.shuffle = check.boolean(shuffle, "shuffle", _OWNER)
        self.drop_last = check.boolean(drop_last, "drop_last", _OWNER)
        if isinstance(seed, (bool, np.bool_)) or (seed is not None and not isinstance(
                seed, (numbers.Integral, np.random.SeedSequence, np.random.Generator))):
            raise check._fail(TypeError, "seed", _OWNER,
                              "None, an integer, a SeedSequence or a Generator", seed)
        try:
            self._rng = np.random.default_rng(seed)
        except ValueError as exc:   # a negative integer seed
            raise check._fail(ValueError, "seed", _OWNER, "a non-negative integer",
                              seed) from exc
        full, rest = divmod(n, self.batch_size)
        self.batches_per_epoch = full if (self.drop_last or rest == 0) else full + 1
        self.epoch = 0
        self._next = 0          # index of the next batch within the epoch
        self._order = None      # the epoch's permutation (shuffle=True)

    def __iter__(self):
        return self

    def __next__(self):
        if self._next == 0 and self.shuffle:
            self._order = self._rng.permutation(self.n_samples)
        start = self._next * self.batch_size
        stop = min(start + self.batch_size, self.n_samples)
        index = self._order[start:stop] if self.shuffle else slice(start, stop)
        batch = tuple(a[index] for a in self._arrays)
        # Advance only once the batch exists, so an interrupt above loses nothing.
        if self._next + 1 == self.batches_per_epoch:
            self._next, self.epoch = 0, self.epoch + 1
        else:
            self._next += 1
        return batch

    def __repr__(self):
        shapes = ", ".join(str(a.shape) for a in self._arrays)
        return (f"minibatches(<arrays of shapes {shapes}>, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, epoch={self.epoch})")


def _as_indexable(array, position):
    """Return ``array`` as something with a ``shape`` and row indexing."""
    if isinstance(array, np.ndarray) or (
            hasattr(array, "shape") and hasattr(array, "__getitem__")
            and len(getattr(array, "shape", ())) >= 1):
        if len(array.shape) == 0:
            raise _zero_dim(array, position)
        if not isinstance(array, np.ndarray) and array.shape[0] > 0:
            try:        # probe row indexing once (a COO matrix has none)
                array[np.zeros(1, dtype=np.intp)]
                array[0:1]
            except Exception as exc:
                raise TypeError(
                    f"Array {position} given to {_OWNER} must support row indexing "
                    f"(a[rows], a[start:stop]); {type(array).__name__} does not "
                    f"(for a sparse matrix use .tocsr())."
                ) from exc
        return array
    try:
        out = np.asarray(array)
    except Exception as exc:
        raise TypeError(
            f"Array {position} given to {_OWNER} must be array-like. "
            f"Got {check.show(array)} instead."
        ) from exc
    if out.ndim == 0:
        raise _zero_dim(array, position)
    return out


def _zero_dim(array, position):
    return ValueError(
        f"Array {position} given to {_OWNER} must have at least one dimension (rows). "
        f"Got {check.show(array)} instead."
    )
