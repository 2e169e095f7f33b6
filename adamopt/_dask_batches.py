"""Minibatches drawn on a Dask cluster: `minibatches` on Dask arrays.

Each batch is cut from the chunks where they live, by one small task per
chunk it draws from; only the batch's rows travel to the client.  The next
batches are computed and transferred in the background while the optimizer
steps on the current one.
"""

import collections
import concurrent.futures
import itertools
import threading
import uuid
import weakref
from typing import Any

import numpy as np

from . import _dask
from . import _validation as check
from ._batches import _plain

_OWNER = "minibatches"

#: Transfers in flight beyond the one being consumed.
PREFETCH = 2

#: A transfer carries up to this many consecutive batches (one task per chunk
#: they draw from, one round trip), and at most `TRANSFER_BYTES`.  Each round
#: trip costs milliseconds (the client sends to the scheduler at most once per
#: 10 ms in dask.distributed 2026.8); a cheap step would otherwise wait for it.
BATCHES_PER_TRANSFER = 16
TRANSFER_BYTES = 4 * 2**20


class DaskMinibatchStream:
    """The iterator `minibatches` returns for Dask arrays (see there).

    Create it with `minibatches` on Dask arrays (it needs a running
    ``distributed.Client``); calling the class takes the same arguments.

    Batch ``i`` depends only on the seed and on ``i``: it draws from its own
    generator, a child of the seed's `numpy.random.SeedSequence` with spawn
    key ``i``.  Batches are therefore the same however long each step takes,
    however many are in flight, and after `load_state_dict`.

    Parameters
    ----------
    *arrays : dask.array.Array or numpy.ndarray
        Aligned arrays, as for `minibatches`.
    batch_size : int
        Rows per minibatch.
    shuffle : bool, default: True
        Draw each batch from random chunks and rows (see `minibatches`).
    seed : None, int, numpy.random.SeedSequence or numpy.random.Generator
        Seed of the stream.
    drop_last : bool, default: False
        As for `minibatches`.
    chunks_per_batch : int, optional
        The number of random chunks each batch is drawn from (default 1).
    prefetch : int, default: 2
        Transfers computed and fetched in the background beyond the current one.
    batches_per_transfer : int, optional
        Consecutive batches that travel together (default: up to 16, at most
        4 MiB).

    Attributes
    ----------
    n_samples, batch_size, batches_per_epoch, shuffle, drop_last
        As for `MinibatchStream`.
    epoch : int
        ``batches_drawn // batches_per_epoch``.
    batches_drawn : int
        Batches handed out so far.
    chunks_per_batch : int
        Chunks each shuffled batch is drawn from.

    References
    ----------
    W. G. Cochran, *Sampling Techniques*, 3rd ed., Wiley, 1977, chapter 9
    (sampling clusters with probability proportional to size), and M. H.
    Hansen and W. N. Hurwitz, "On the theory of sampling from finite
    populations", Ann. Math. Statist. 14 (1943): a chunk drawn with
    probability ``n_c / N`` and then ``m`` of its rows uniformly gives every
    row the inclusion rate ``m / N``, hence an unbiased batch mean.
    """

    def __init__(self, *arrays, batch_size, shuffle=True, seed=None, drop_last=False,
                 chunks_per_batch=None, prefetch=PREFETCH, batches_per_transfer=None):
        client = _dask.client(_OWNER)
        blocks = _dask.RowBlocks(arrays, _OWNER, client)
        n = blocks.n_samples
        self.n_samples = n
        self.batch_size = check.integer(batch_size, "batch_size", _OWNER, 1, n)
        self.shuffle = check.boolean(shuffle, "shuffle", _OWNER)
        self.drop_last = check.boolean(drop_last, "drop_last", _OWNER)
        if chunks_per_batch is None:
            chunks_per_batch = 1
        elif not self.shuffle:
            raise ValueError(
                f"The 'chunks_per_batch' parameter of {_OWNER} applies to shuffle=True only "
                f"(with shuffle=False batches are consecutive rows). "
                f"Got {check.show(chunks_per_batch)} instead."
            )
        self.chunks_per_batch = check.integer(
            chunks_per_batch, "chunks_per_batch", _OWNER, high=self.batch_size)
        self._prefetch = check.integer(prefetch, "prefetch", _OWNER)
        self._root = _dask.root_seed(seed, _OWNER)
        full, rest = divmod(n, self.batch_size)
        self.batches_per_epoch = full if (self.drop_last or rest == 0) else full + 1
        self._blocks = blocks
        self._p = blocks.sizes / n               # chunk probabilities, by rows
        self._client = client
        self._token = uuid.uuid4().hex[:12]
        self._delivered = 0      # batches handed out
        row_bytes = sum(a.dtype.itemsize * int(np.prod(a.shape[1:], dtype=np.int64))
                        for a in blocks.arrays if _dask.is_dask_array(a))
        if batches_per_transfer is None:
            batches_per_transfer = max(1, min(BATCHES_PER_TRANSFER, TRANSFER_BYTES // max(
                1, row_bytes * self.batch_size)))
        self._per_transfer = check.integer(batches_per_transfer, "batches_per_transfer",
                                           _OWNER)
        # (first batch number, future of the list of its batches)
        self._in_flight = collections.deque()
        self._lock = threading.Lock()
        self.batches_fetched = 0   # batches that reached the client (tests, benchmarks)
        # One thread per transfer in flight: the transfers overlap one another.
        self._executor = concurrent.futures.ThreadPoolExecutor(
            self._prefetch + 1, thread_name_prefix="adamopt-dask-minibatches")
        weakref.finalize(self, self._executor.shutdown, wait=False, cancel_futures=True)
        blocks.pack()

    # -- where the stream stands -------------------------------------------------

    @property
    def epoch(self) -> int:
        """The epoch the next batch comes from, counting from 0 (an epoch is
        `batches_per_epoch` batches)."""
        return self._delivered // self.batches_per_epoch

    @property
    def batches_drawn(self) -> int:
        """Batches handed out so far."""
        return self._delivered

    def state_dict(self) -> dict[str, Any]:
        """Return the stream's position, as plain JSON-able values.

        Keys: ``stream`` (``"dask_minibatches"``), ``signature`` (rows, row
        chunks, batch size, shuffle, drop_last, chunks_per_batch and each
        array's row shape and dtype), ``batches_drawn`` and ``seed`` (the
        entropy, spawn key and pool size of the root
        `~numpy.random.SeedSequence`).  The same protocol as
        `MinibatchStream`'s, so the ``checkpoint`` option of the SciPy methods
        saves it; the batches in flight are not part of it.
        """
        root = self._root
        entropy = root.entropy
        entropy = (int(entropy) if isinstance(entropy, (int, np.integer))
                   else [int(e) for e in entropy])
        return {"stream": "dask_minibatches", "signature": self._signature(),
                "batches_drawn": int(self._delivered),
                "seed": {"entropy": entropy, "spawn_key": [int(k) for k in root.spawn_key],
                         "pool_size": int(root.pool_size)}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Move the stream to a position saved by `state_dict`.

        The stream must be over arrays of the same rows, row chunks, row
        shapes and dtypes, with the same ``batch_size``, ``shuffle``,
        ``drop_last`` and ``chunks_per_batch``: otherwise `ValueError`
        (`TypeError` for a wrong type), and the stream is unchanged.  The
        batches in flight are dropped; the next batch is the one the saved
        stream would have given next (its seed is restored with it).
        """
        owner = "DaskMinibatchStream.load_state_dict"
        if not isinstance(state, dict) or state.get("stream") != "dask_minibatches":
            raise TypeError(f"The 'state' parameter of {owner} must be a dict returned by "
                            f"DaskMinibatchStream.state_dict(). Got {check.show(state)} "
                            f"instead.")
        keys = {"stream", "signature", "batches_drawn", "seed"}
        # a checkpoint adds the permutation of a NumPy stream, None here
        if set(state) - {"order"} != keys or state.get("order") is not None:
            raise ValueError(f"The 'state' parameter of {owner} must have the keys "
                             f"{sorted(keys)}. Got {sorted(state)} instead.")
        mine, saved = self._signature(), _plain(state["signature"])
        if saved != mine:
            raise ValueError(f"The state given to {owner} is for another stream: saved "
                             f"{saved}, this stream {mine}.")
        drawn = check.integer(state["batches_drawn"], "batches_drawn", owner, low=0)
        seed = state["seed"]
        try:
            entropy = seed["entropy"]
            root = np.random.SeedSequence(
                entropy if isinstance(entropy, int) else [int(e) for e in entropy],
                spawn_key=tuple(int(k) for k in seed["spawn_key"]),
                pool_size=int(seed["pool_size"]))
        except (TypeError, ValueError, KeyError, OverflowError) as exc:
            raise ValueError(f"The 'seed' entry of the state given to {owner} is not a "
                             f"valid SeedSequence state: {exc!r}") from None
        self._drop_in_flight()
        self._root, self._delivered = root, drawn

    def _signature(self):
        """What makes two streams the same problem (JSON-able)."""
        return {"n_samples": int(self.n_samples),
                "chunks": [int(c) for c in self._blocks.sizes],
                "batch_size": int(self.batch_size), "shuffle": bool(self.shuffle),
                "drop_last": bool(self.drop_last),
                "chunks_per_batch": int(self.chunks_per_batch),
                "arrays": [[[int(d) for d in a.shape[1:]], str(a.dtype)]
                           for a in self._blocks.arrays]}

    def close(self) -> None:
        """Drop the batches in flight and stop the background transfer thread."""
        self._drop_in_flight()
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- iteration ---------------------------------------------------------------

    def __iter__(self):
        return self

    # -- the hand-off to the run loop (see adamopt._minimize) --------------------

    @property
    def _handed(self):
        """The number of batches handed out so far."""
        return self._delivered

    def _unget(self):
        """Take back the last batch handed out, which an interrupt lost on its
        way to the run loop: the next batch is that one again (its transfer is
        still in flight: `_fill` drops a transfer only at the next draw)."""
        if self._delivered > 0:
            self._delivered -= 1

    def __next__(self):
        # The refill comes first: once the batch is counted nothing else runs
        # before it is returned, so an interrupt never loses a counted batch.
        self._fill()
        first, future = self._in_flight[0]
        batches = future.result()
        batch = batches[self._delivered - first]
        # Advance only once the batch exists, so an interrupt above loses nothing.
        self._delivered += 1
        return batch

    def __repr__(self):
        shapes = ", ".join(f"{type(a).__module__.split('.')[0]} {a.shape}"
                           for a in self._blocks.arrays)
        return (f"minibatches(<arrays {shapes} in {self._blocks.n_blocks} row chunks>, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}, chunks_per_batch={self.chunks_per_batch}, "
                f"epoch={self.epoch})")

    def _fill(self):
        """Drop the transfers whose batches were all handed out, and keep the
        one of the next batch and `prefetch` more in flight."""
        in_flight = self._in_flight
        while in_flight and in_flight[0][0] + self._per_transfer <= self._delivered:
            in_flight.popleft()
        following = ((self._in_flight[-1][0] + self._per_transfer) if self._in_flight
                     else self._delivered)
        while len(self._in_flight) <= self._prefetch:
            self._in_flight.append((following, self._submit(following)))
            following += self._per_transfer

    def _drop_in_flight(self):
        while self._in_flight:
            _, future = self._in_flight.popleft()
            future.cancel()

    def _plan(self, number):
        """The rows of batch ``number``: a list of ``(chunk, local rows)``, in
        batch order, and the global row numbers (an array, or a slice)."""
        blocks = self._blocks
        if not self.shuffle:
            start = (number % self.batches_per_epoch) * self.batch_size
            stop = min(start + self.batch_size, self.n_samples)
            first = int(np.searchsorted(blocks.starts, start, side="right")) - 1
            last = int(np.searchsorted(blocks.starts, stop, side="left"))
            parts = []
            for c in range(first, last):
                lo = max(start, int(blocks.starts[c])) - int(blocks.starts[c])
                hi = min(stop, int(blocks.starts[c] + blocks.sizes[c])) - int(blocks.starts[c])
                parts.append((c, slice(lo, hi)))
            return parts, slice(start, stop)
        rng = _dask.draw_rng(self._root, number)
        k = self.chunks_per_batch
        chosen = rng.choice(blocks.n_blocks, size=k, p=self._p)
        share = np.full(k, self.batch_size // k)
        share[: self.batch_size % k] += 1
        wanted = collections.Counter()
        for c, m in zip(chosen.tolist(), share.tolist(), strict=True):
            wanted[c] += m       # insertion order: first draw first
        parts = []
        for c, m in wanted.items():
            size = int(blocks.sizes[c])
            local = (rng.choice(size, size=m, replace=False) if m <= size
                     else rng.integers(0, size, size=m))
            parts.append((c, local))
        rows = np.concatenate([blocks.starts[c] + local for c, local in parts])
        return parts, rows

    def _submit(self, first):
        """Start cutting batches ``first, first + 1, ...`` (one transfer) on the
        cluster: one task per chunk they draw from.  Return a future of the
        list of batches (tuples of NumPy arrays) on the client."""
        wanted = {}        # chunk -> list of local row arrays, in request order
        layout = []        # per batch: its parts (chunk, offset in the piece, rows)
        rows = []          # per batch: global rows (for NumPy arrays)
        for number in range(first, first + self._per_transfer):
            parts, batch_rows = self._plan(number)
            placed = []
            for c, local in parts:
                if isinstance(local, slice):
                    local = np.arange(local.start, local.stop)
                pending = wanted.setdefault(c, [])
                offset = sum(len(x) for x in pending)
                pending.append(local)
                placed.append((c, offset, len(local)))
            layout.append(placed)
            rows.append(batch_rows)
        blocks = self._blocks
        chunks = list(wanted)
        remote = [blocks.submit(_take_rows, np.concatenate(wanted[c]), blocks.refs[c],
                                key=f"adamopt-minibatch-{self._token}-{first}-{c}")
                  for c in chunks]
        return self._executor.submit(self._assemble, remote, chunks, layout, rows)

    def _assemble(self, remote, chunks, layout, rows):
        """On a background thread: fetch the pieces of one transfer and cut
        them into its batches, each a tuple in the order of the arrays."""
        pieces = dict(zip(chunks, self._client.gather(remote), strict=True))
        blocks = self._blocks
        column = dict(zip(blocks.dask_positions, itertools.count(), strict=False))
        batches = []
        for placed, batch_rows in zip(layout, rows, strict=True):
            out = []
            for i, array in enumerate(blocks.arrays):
                j = column.get(i)
                if j is None:                       # a NumPy array on the client
                    out.append(array[batch_rows])
                    continue
                cut = [pieces[c][j][offset:offset + length] for c, offset, length in placed]
                out.append(cut[0] if len(cut) == 1 else np.concatenate(cut))
            batches.append(tuple(out))
        with self._lock:
            self.batches_fetched += len(batches)
        return batches



def _take_rows(local, block):
    """On a worker: the rows ``local`` of each chunk of ``block``."""
    return tuple(chunk[local] for chunk in block)
