"""What the Dask paths share: recognising Dask arrays without importing Dask,
the lazy import and the client, checking the row chunks of aligned arrays,
and the per-draw random generators.

Nothing in the core imports this module's optional dependencies: Dask and
``dask.distributed`` are imported on first use, when an array given to
adamopt already is a Dask array (so Dask is installed and imported).
"""

import numbers
import sys
import uuid

import numpy as np

from . import _validation as check


def is_dask_array(value):
    """True for a ``dask.array.Array`` (without importing Dask)."""
    module = sys.modules.get("dask.array")
    return module is not None and isinstance(value, module.Array)


def distributed(owner):
    """Return the ``dask.distributed`` module, or raise a clear ImportError."""
    try:
        import distributed as module
    except ImportError as exc:
        raise ImportError(
            f"{owner} on Dask arrays needs dask.distributed: "
            "pip install 'adamopt[dask]' (or 'dask[distributed]')."
        ) from exc
    return module


def client(owner):
    """The current ``dask.distributed`` client (the one created last)."""
    module = distributed(owner)
    try:
        return module.default_client()
    except ValueError:
        raise ValueError(
            f"{owner} on Dask arrays runs on a dask.distributed cluster and found no "
            "client: create one first, e.g. client = distributed.Client() (a local "
            "cluster) or distributed.Client('tcp://scheduler:8786'). For data that fits "
            "in memory, pass NumPy arrays (X.compute()) instead."
        ) from None


class RowBlocks:
    """Aligned arrays split into row blocks (the chunks along the first axis).

    Dask arrays stay on the cluster: ``refs[c]`` refers to block ``c``, the
    tuple of the Dask arrays' chunks ``c``, as one object on one worker, so
    that a task on the block never fetches a chunk from elsewhere.  When the
    arrays are persisted on the client's cluster (every chunk in memory on a
    worker), it is a `distributed.Future` of that tuple, made once, where the
    largest chunk lives (the other arrays' chunks are copied there once; the
    largest is shared, not copied); otherwise a `dask.delayed` object that
    loads the chunks each time a task needs them.  NumPy arrays among them
    stay on the client and are indexed there with the global row numbers.

    Attributes
    ----------
    n_samples : int
        Rows in every array.
    sizes : numpy.ndarray of int64
        Rows per block.
    starts : numpy.ndarray of int64
        First global row of each block (``starts[-1] + sizes[-1] == n_samples``).
    persisted : bool
        True when every Dask array is persisted (``refs`` are futures).

    ``refs`` is None until `pack` is called.
    """

    def __init__(self, arrays, owner, client, *, numpy_allowed=True):
        if not arrays:
            raise TypeError(f"{owner} needs at least one array, e.g. {owner}(X, y, ...).")
        dask_positions = [i for i, a in enumerate(arrays) if is_dask_array(a)]
        if not dask_positions:
            raise TypeError(f"{owner} needs at least one Dask array. Got none.")
        self.arrays = []
        for i, a in enumerate(arrays):
            if is_dask_array(a):
                self.arrays.append(a)
                continue
            if not numpy_allowed:
                raise TypeError(
                    f"Array {i} given to {owner} must be a Dask array (like the others, "
                    f"e.g. dask.array.from_array(a, chunks=X.chunks[0])). "
                    f"Got {check.show(a)} instead."
                )
            try:
                self.arrays.append(np.asarray(a))
            except Exception as exc:
                raise TypeError(f"Array {i} given to {owner} must be array-like. "
                                f"Got {check.show(a)} instead.") from exc
        for i, a in enumerate(self.arrays):
            if a.ndim == 0:
                raise ValueError(
                    f"Array {i} given to {owner} must have at least one dimension (rows). "
                    f"Got a 0-d array instead."
                )
        for i in dask_positions:   # unknown lengths first: they make every test below moot
            chunks = self.arrays[i].chunks[0]
            if any(not _known(c) for c in chunks):
                raise ValueError(
                    f"Array {i} given to {owner} must have known chunk sizes along the rows. "
                    f"Got chunks {_show_chunks(chunks)} instead (after boolean indexing, "
                    f"call .compute_chunk_sizes() first)."
                )
        lengths = [int(a.shape[0]) for a in self.arrays]
        if len(set(lengths)) > 1:
            raise ValueError(
                f"The arrays given to {owner} must have the same length (first dimension). "
                f"Got lengths {lengths} instead."
            )
        reference = self.arrays[dask_positions[0]].chunks[0]
        for i in dask_positions:
            a = self.arrays[i]
            if a.chunks[0] != reference:
                raise ValueError(
                    f"The Dask arrays given to {owner} must have the same chunks along the "
                    f"rows. Got {_show_chunks(reference)} for array {dask_positions[0]} and "
                    f"{_show_chunks(a.chunks[0])} for array {i} instead "
                    f"(e.g. y = y.rechunk({{0: X.chunks[0]}}))."
                )
            if any(n != 1 for n in a.numblocks[1:]):
                raise ValueError(
                    f"Array {i} given to {owner} must be chunked along the rows only (one "
                    f"chunk across the other axes). Got chunks {a.chunks} instead (e.g. "
                    f"X = X.rechunk({{1: -1}}).persist())."
                )
        self.n_samples = lengths[0]
        if self.n_samples == 0:
            raise ValueError(f"The arrays given to {owner} must not be empty. Got 0 rows.")
        self.sizes = np.asarray(reference, dtype=np.int64)
        self.starts = np.concatenate(([0], np.cumsum(self.sizes)[:-1])).astype(np.int64)
        self.dask_positions = tuple(dask_positions)
        self._client = client
        self.refs, self.persisted = None, None

    def pack(self):
        """Make ``refs``, the blocks on the cluster (after every check)."""
        client = self._client
        per_array = [_chunk_refs(self.arrays[i], client) for i in self.dask_positions]
        self.persisted = all(isinstance(r, list) for r in per_array)
        token = uuid.uuid4().hex[:12]
        if self.persisted:
            self.refs = [client.submit(_pack, *(refs[c] for refs in per_array), pure=False,
                                       key=f"adamopt-rows-{token}-{c}")
                         for c in range(self.n_blocks)]
        else:
            import dask

            per_array = [self.arrays[i].to_delayed().reshape(-1).tolist()
                         for i in self.dask_positions]
            self.refs = [dask.delayed(_pack, pure=False)(
                             *(refs[c] for refs in per_array),
                             dask_key_name=f"adamopt-rows-{token}-{c}")
                         for c in range(self.n_blocks)]

    @property
    def n_blocks(self):
        return len(self.sizes)

    def submit(self, function, *args, key):
        """Run ``function(*args)`` on the cluster (``args`` may hold chunk
        references) under the task name ``key``; return its future."""
        if self.persisted:
            return self._client.submit(function, *args, key=key, pure=False)
        import dask

        return self._client.compute(
            dask.delayed(function, pure=False)(*args, dask_key_name=key))

    def owners(self):
        """The worker holding each block of the first Dask array, as a list
        (waits until the persisted chunks exist); None where not persisted."""
        if not self.persisted:
            return [None] * self.n_blocks
        distributed("adamopt").wait(self.refs)
        where = self._client.who_has(self.refs)
        return [(sorted(where.get(f.key, ())) or [None])[0] for f in self.refs]


def _pack(*chunks):
    """On a worker: the chunks of one block, as one object."""
    return chunks


def _chunk_refs(array, client):
    """The futures of ``array``'s chunks, in block order, when every chunk is
    persisted on ``client``'s cluster; else None."""
    from dask.core import flatten

    module = sys.modules.get("distributed")
    if module is None:
        return None
    futures = {f.key: f for f in module.futures_of(array) if f.client is client}
    try:
        refs = [futures[k] for k in flatten(array.__dask_keys__())]
    except KeyError:
        return None
    return refs


def _known(size):
    return isinstance(size, numbers.Integral) or (isinstance(size, float) and size == size)


def _show_chunks(chunks):
    text = repr(tuple(chunks))
    return text if len(text) <= 60 else text[:57] + "..."


def root_seed(seed, owner):
    """A `numpy.random.SeedSequence` from which every draw derives its own
    generator (see `draw_rng`), so that draw ``i`` does not depend on how many
    draws were made before it, nor on when."""
    if isinstance(seed, (bool, np.bool_)) or (seed is not None and not isinstance(
            seed, (numbers.Integral, np.random.SeedSequence, np.random.Generator))):
        raise check._fail(TypeError, "seed", owner,
                          "None, an integer, a SeedSequence or a Generator", seed)
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):   # advanced once, here
        return np.random.SeedSequence(seed.integers(0, 2**63, size=4).tolist())
    if seed is not None and seed < 0:
        raise check._fail(ValueError, "seed", owner, "a non-negative integer", seed)
    return np.random.SeedSequence(None if seed is None else int(seed))


def draw_rng(root, i):
    """The generator of draw ``i`` (a child of ``root`` with spawn key ``i``)."""
    child = np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, i),
                                   pool_size=root.pool_size)
    return np.random.default_rng(child)
