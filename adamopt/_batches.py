"""Endless, reproducible streams of aligned minibatches for stochastic objectives."""

import math
import numbers
import sys
from typing import Any

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
        from, counting from 0) describe where it stands; ``state_dict()`` and
        ``load_state_dict(state)`` save and restore its position (the
        ``checkpoint`` option of the SciPy methods uses them).

    Notes
    -----
    The stream is an iterator object (``iter(stream) is stream``): passing the
    same object to two runs continues it, which is what resuming a run from
    its ``state`` needs.  Create a new one (with the same ``seed``) to start
    over.  A batch is a copy of the rows (``a[idx]``) when ``shuffle=True``.
    A large batch (at least 128 KiB of one array) is written into the memory of
    an earlier batch that nothing references any more, so a batch you keep,
    whole or through a view, is never overwritten, and one you drop is
    recycled; the stream holds on to its last two batches.

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
    """The iterator `minibatches` returns for NumPy arrays (see there).

    Create it with `minibatches`, which also accepts Dask arrays (and then
    returns a `DaskMinibatchStream`); calling the class takes the same
    arguments.

    Parameters
    ----------
    *arrays : array_like
        Aligned arrays (the same number of rows), as for `minibatches`.
    batch_size : int
        Rows per minibatch.
    shuffle : bool, default: True
        Draw a new random permutation of the rows each epoch.
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator
        Seed of the permutations.
    drop_last : bool, default: False
        Skip the last, smaller batch of an epoch.

    Attributes
    ----------
    n_samples : int
        Rows of the arrays.
    batch_size : int
        Rows per minibatch.
    batches_per_epoch : int
        Batches in one pass over the rows.
    epoch : int
        The epoch the next batch comes from, counting from 0.
    shuffle, drop_last : bool
        As given.
    """

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
        self.batch_size = check.integer(batch_size, "batch_size", _OWNER, 1, n)
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
        # The position, one tuple replaced whole (an interrupt between any two
        # statements of __next__ leaves a consistent one): (epoch, index of the
        # next batch in the epoch, the epoch's permutation or None while it is
        # not drawn, the generator's state before that permutation's draw began
        # (kept until the epoch's first batch is handed out) or None, the
        # number of batches handed out, the position before the last one was
        # handed out or None: see `_unget`).
        self._position = (0, 0, None, None, 0, None)
        self._gather = _tuple_of([_rows(a, self.batch_size) for a in self._arrays])
        self._cut = _tuple_of([a.__getitem__ for a in self._arrays])

    @property
    def epoch(self) -> int:
        """The epoch the next batch comes from, counting from 0."""
        return self._position[0]

    # -- the hand-off to the run loop (see adamopt._minimize) --------------------

    @property
    def _handed(self):
        """The number of batches handed out so far."""
        return self._position[4]

    def _unget(self):
        """Take back the last batch handed out, which an interrupt lost on its
        way to the run loop (between ``return`` here and the store there): the
        next batch is that one again."""
        previous = self._position[5]
        if previous is not None:
            self._position = previous

    def __iter__(self):
        return self

    def __next__(self):
        epoch, position, order, origin, handed, _ = before = self._position
        if order is None and self.shuffle:
            bit_generator = self._rng.bit_generator
            if origin is None:
                # Record where the draw begins before it advances the generator,
                # so that a draw an interrupt cut short starts again from there.
                origin = bit_generator.state
                self._position = before = (epoch, position, None, origin, handed, None)
            else:
                bit_generator.state = origin
            order = self._rng.permutation(self.n_samples)
            self._position = before = (epoch, position, order, origin, handed, None)
        start = position * self.batch_size
        stop = min(start + self.batch_size, self.n_samples)
        batch = (self._gather(order[start:stop]) if self.shuffle
                 else self._cut(slice(start, stop)))
        # Advance only once the batch exists, so an interrupt above loses nothing.
        before = (*before[:5], None)
        if position + 1 == self.batches_per_epoch:
            self._position = (epoch + 1, 0, None, None, handed + 1, before)
        else:
            self._position = (epoch, position + 1, order, None, handed + 1, before)
        return batch

    # -- position: saved and restored by checkpoints -----------------------------

    def _signature(self):
        """What makes two streams the same problem (JSON-able)."""
        return {"n_samples": int(self.n_samples), "batch_size": int(self.batch_size),
                "shuffle": bool(self.shuffle), "drop_last": bool(self.drop_last),
                "arrays": [[list(map(int, a.shape[1:])), str(getattr(a, "dtype", "?"))]
                           for a in self._arrays]}

    def state_dict(self) -> dict[str, Any]:
        """Return the stream's position: plain values and at most one array.

        Keys: ``stream`` (``"minibatches"``), ``signature`` (rows, batch size,
        shuffle, drop_last and each array's row shape and dtype), ``epoch``,
        ``next`` (the index of the next batch in the epoch), ``order`` (the
        epoch's permutation, an int64 array, or None) and ``rng`` (the state
        of the random generator's bit generator, as
        `numpy.random.BitGenerator.state` gives it).  The arrays themselves are
        not saved: `load_state_dict` restores the position of a stream over
        the same data.
        """
        epoch, position, order, origin, _, _ = self._position
        if position == 0:       # the epoch's permutation is drawn from "rng" when it begins
            order = None
        # (at the start of an epoch, its permutation drawn or not: the generator
        # as it was before the draw, which a restored stream repeats)
        rng = origin if origin is not None else self._rng.bit_generator.state
        return {"stream": "minibatches", "signature": self._signature(),
                "epoch": int(epoch), "next": int(position),
                "order": None if order is None else np.array(order, np.int64),
                "rng": _copy_state(rng)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Move the stream to a position saved by `state_dict`.

        The stream must be over arrays of the same number of rows, row shapes
        and dtypes, with the same ``batch_size``, ``shuffle`` and
        ``drop_last``, and its generator of the same kind: otherwise
        `ValueError` (`TypeError` for a wrong type), and the stream is
        unchanged.  The next batch is then the one the saved stream would have
        given next.  (The random generator is set to the saved state: a
        `~numpy.random.Generator` passed as ``seed`` is changed with it.)
        """
        owner = "MinibatchStream.load_state_dict"
        if not isinstance(state, dict) or not _same(state.get("stream"), "minibatches"):
            raise TypeError(f"The 'state' parameter of {owner} must be a dict returned by "
                            f"MinibatchStream.state_dict(). Got {check.show(state)} instead.")
        keys = {"stream", "signature", "epoch", "next", "order", "rng"}
        if set(state) != keys:
            raise ValueError(f"The 'state' parameter of {owner} must have the keys "
                             f"{sorted(keys)}. Got {sorted(state)} instead.")
        mine = self._signature()
        saved = _plain(state["signature"])
        if not isinstance(saved, dict):
            raise ValueError(f"The 'signature' entry of the state given to {owner} must be "
                             f"a dict. Got {check.show(saved)} instead.")
        if not _same(saved, mine):
            diff = sorted(str(k) for k in set(mine) | set(saved)
                          if k not in mine or k not in saved or not _same(saved[k], mine[k]))
            raise ValueError(
                f"The state given to {owner} is for another stream (it differs in "
                f"{', '.join(diff)}): saved {saved}, this stream {mine}."
            )
        epoch, position = state["epoch"], state["next"]
        for name, value, high in (("epoch", epoch, None),
                                  ("next", position, self.batches_per_epoch - 1)):
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
                raise TypeError(f"The {name!r} entry of the state given to {owner} must be "
                                f"an integer. Got {check.show(value)} instead.")
            if value < 0 or (high is not None and value > high):
                raise ValueError(f"The {name!r} entry of the state given to {owner} must be "
                                 f"in [0, {high if high is not None else 'inf'}]. "
                                 f"Got {value!r} instead.")
        order = state["order"]
        if order is not None:
            order = np.asarray(order)
            if (order.dtype.kind not in "iu" or order.shape != (self.n_samples,)
                    or not np.array_equal(np.sort(order), np.arange(self.n_samples))):
                raise ValueError(f"The 'order' entry of the state given to {owner} must be "
                                 f"a permutation of the {self.n_samples} rows. "
                                 f"Got {check.show(order)} instead.")
            order = order.astype(np.intp)
        if self.shuffle and position > 0 and order is None:
            raise ValueError(f"The state given to {owner} is inside a shuffled epoch "
                             f"but has no 'order'.")
        rng = state["rng"]
        kind = type(self._rng.bit_generator).__name__
        if not isinstance(rng, dict) or not _same(rng.get("bit_generator"), kind):
            raise ValueError(f"The 'rng' entry of the state given to {owner} must be the "
                             f"state of a {kind} bit generator (the kind of this stream's "
                             f"seed). Got {check.show(rng)} instead.")
        scratch = type(self._rng.bit_generator)()
        try:
            scratch.state = _copy_state(rng)
        except (TypeError, ValueError, KeyError, OverflowError) as exc:
            raise ValueError(f"The 'rng' entry of the state given to {owner} is not a "
                             f"valid {kind} state: {exc}") from None
        self._rng.bit_generator.state = scratch.state
        if position == 0 or not self.shuffle:
            order = None        # drawn (or not needed) when the epoch begins
        self._position = (int(epoch), int(position), order, None, self._handed, None)

    def __repr__(self):
        shapes = ", ".join(str(a.shape) for a in self._arrays)
        return (f"minibatches(<arrays of shapes {shapes}>, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, epoch={self.epoch})")



# -- gathering the rows of a shuffled batch ----------------------------------------
#
# A shuffled batch is a gather of rows, ``a[index]`` with an integer array.  For
# a NumPy array of two or more dimensions `numpy.ndarray.take` along the first
# axis copies the same rows several times faster than fancy indexing (which
# sets up a general iterator for every call); a 1-D array's fancy indexing is
# already a tight loop.  Other arrays (subclasses such as `numpy.memmap`, SciPy
# sparse matrices) are indexed as they are, so a batch keeps their type.
#
# Large batches are written into a buffer of an earlier batch rather than into
# new memory (whose pages the system must map and clear at every batch): each
# array keeps the last two batches it gave out, and a batch takes one of them
# only when nothing but the stream references it any more (``sys.getrefcount``,
# which counts every holder: a variable, a list, a view's ``base``, a buffer
# export such as ``torch.from_numpy`` or a memoryview).  A batch that its user
# keeps, whole or through a view, is therefore never overwritten; the run
# driver holds the last batch while it draws the next, which takes the one
# before.

#: Batches of one array of at least this many bytes go into recycled buffers
#: (smaller ones are cheap to allocate: the allocator reuses freed memory).
_RECYCLE_BYTES = 1 << 17


def _tuple_of(gathers):
    """One function ``index -> tuple of every array's rows`` (no loop for one
    or two arrays: the per-batch cost of the common ``(X,)`` and ``(X, y)``)."""
    if len(gathers) == 1:
        (first,) = gathers
        return lambda index: (first(index),)
    if len(gathers) == 2:
        first, second = gathers
        return lambda index: (first(index), second(index))
    return lambda index: tuple([gather(index) for gather in gathers])


def _rows(array, batch_size):
    """The function ``index -> array[index]`` (rows ``index``) for ``array``."""
    if type(array) is not np.ndarray:
        return array.__getitem__
    row_bytes = array.itemsize * math.prod(array.shape[1:])
    if (batch_size * row_bytes >= _RECYCLE_BYTES and not array.dtype.hasobject
            and sys.implementation.name == "cpython"):
        return _Recycled(array)
    if array.ndim == 1:
        return array.__getitem__
    take = array.take
    return lambda index: take(index, 0)


class _Recycled:
    """``index -> array[index]`` into the buffer of an earlier batch that only
    this object references (see above), or into a new one."""

    __slots__ = ("_alone", "_array", "_spares", "_turn")

    def __init__(self, array):
        self._array = array
        self._spares = [None, None]     # the last two batches given out
        self._alone = 0                 # sys.getrefcount of a spare only we hold
        self._turn = 0                  # the spare a new batch replaces

    def __call__(self, index):
        spares, rows = self._spares, index.shape[0]
        for k in (0, 1):
            spare = spares[k]
            if spare is not None and sys.getrefcount(spare) == self._alone:
                if spare.shape[0] == rows:
                    # (the indices are a checked permutation's: "clip" writes
                    # straight into `spare`, "raise" would go through a copy)
                    return self._array.take(index, 0, spare, "clip")
                self._turn = k      # free but of another size: replace it
        batch = self._array.take(index, 0)
        k = self._turn
        spares[k] = batch
        self._turn = 1 - k
        self._alone = sys.getrefcount(batch)    # (the same holders as `spare` above)
        return batch


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


def _copy_state(state):
    """A deep copy of a bit generator's state (nested dicts, numbers, arrays)."""
    if isinstance(state, dict):
        return {key: _copy_state(value) for key, value in state.items()}
    if isinstance(state, np.ndarray):
        return state.copy()
    return state


def _same(a, b):
    """Equality of plain JSON-like values (dicts, lists, str, int, bool, None);
    False for anything else, such as arrays, whose ``==`` is not a bool."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is type(b) and isinstance(a, (str, int, float, bool, type(None))):
        return a == b
    return False


def _plain(value):
    """Tuples as lists, so a signature read back from JSON compares equal."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value
