"""The Dask path: `minibatches` on Dask arrays and `dask_objective`, on a real
`distributed.LocalCluster` of two worker processes (one thread each)."""

import json
import subprocess
import sys

import numpy as np
import pytest
from helpers import expect, name
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

import adamopt

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

from adamopt import _dask  # noqa: E402
from adamopt._dask_batches import PREFETCH  # noqa: E402

N, P = 2000, 5
#: Unequal chunks, so that weighting blocks by their rows matters.
CHUNKS = (700, 300, 400, 600)
TRUE_W = np.arange(1.0, P + 1)


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster) as client:
        yield client


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, P))
    y = X @ TRUE_W + 0.5 * rng.standard_normal(N)
    return X, y


@pytest.fixture(scope="module")
def dask_data(client, data):
    X, y = data
    Xd = da.from_array(X, chunks=(CHUNKS, P)).persist()
    yd = da.from_array(y, chunks=(CHUNKS,)).persist()
    distributed.wait([Xd, yd])
    return Xd, yd


def mean_squares(w, X, y):
    r = X @ w - y
    return r @ r / len(y), 2.0 * X.T @ r / len(y)


def sum_squares(w, X, y):
    r = X @ w - y
    return r @ r, 2.0 * X.T @ r


def outgoing(client):
    """The bytes of every piece of data the workers have sent since the last
    call, to anyone (peers, scheduler, client), from their transfer logs (one
    entry per transfer, with the size of each key sent); clears the logs."""
    def read_and_clear(dask_worker):
        sizes = [size for entry in dask_worker.transfer_outgoing_log
                 for size in entry["keys"].values()]
        dask_worker.transfer_outgoing_log.clear()
        return sizes
    return [t for sizes in client.run(read_and_clear).values() for t in sizes]


# -- dask_objective -----------------------------------------------------------------


def rounding_bound(X, y, w, blocks):
    """|tree sum - one-machine sum| for the mean-squares gradient: the two sums
    of N terms differ at most by about (log2 N + blocks) rounding errors of the
    sum of the terms' magnitudes (Higham, section 4.2)."""
    r = X @ w - y
    terms = np.abs(2.0 * X * r[:, None]).sum(axis=0) / len(y)
    return 4 * (np.log2(len(y)) + blocks + P) * np.finfo(float).eps * terms


@pytest.mark.parametrize("split_every", [2, 8])
def test_objective_equals_one_machine_mean(client, data, dask_data, split_every):
    X, y = data
    w = np.random.default_rng(1).standard_normal(P)
    f, g = adamopt.dask_objective(mean_squares, *dask_data, split_every=split_every)(w)
    f_ref, g_ref = mean_squares(w, X, y)
    assert isinstance(f, float)
    assert isinstance(g, np.ndarray)
    assert g.shape == (P,)
    np.testing.assert_allclose(f, f_ref, rtol=64 * np.finfo(float).eps)
    np.testing.assert_array_less(np.abs(g - g_ref), rounding_bound(X, y, w, len(CHUNKS)))


def test_objective_splits_a_workers_blocks_between_its_threads(client, data, dask_data):
    X, y = data
    w = np.random.default_rng(8).standard_normal(P)
    objective = adamopt.dask_objective(mean_squares, *dask_data)
    objective._threads = dict.fromkeys(objective._threads, 2)   # as on 2-thread workers
    f, g = objective(w)
    f_ref, g_ref = mean_squares(w, X, y)
    np.testing.assert_allclose(f, f_ref, rtol=64 * np.finfo(float).eps)
    np.testing.assert_array_less(np.abs(g - g_ref), rounding_bound(X, y, w, len(CHUNKS)))


def test_objective_equals_one_machine_sum(client, data, dask_data):
    X, y = data
    w = np.random.default_rng(2).standard_normal(P)
    f, g = adamopt.dask_objective(sum_squares, *dask_data, reduction="sum")(w)
    f_ref, g_ref = sum_squares(w, X, y)
    np.testing.assert_allclose(f, f_ref, rtol=64 * np.finfo(float).eps)
    np.testing.assert_array_less(np.abs(g - g_ref), N * rounding_bound(X, y, w, len(CHUNKS)))


def test_objective_on_arrays_not_persisted(client, data):
    X, y = data
    lazy = (da.from_array(X, chunks=(CHUNKS, P)), da.from_array(y, chunks=(CHUNKS,)))
    w = np.random.default_rng(6).standard_normal(P)
    objective = adamopt.dask_objective(mean_squares, *lazy)
    assert not objective._blocks.persisted
    f, g = objective(w)
    f_ref, g_ref = mean_squares(w, X, y)
    np.testing.assert_allclose(f, f_ref, rtol=64 * np.finfo(float).eps)
    np.testing.assert_array_less(np.abs(g - g_ref), rounding_bound(X, y, w, len(CHUNKS)))


@pytest.mark.parametrize("persisted", [True, False])
def test_objective_with_w_scattered_first(client, data, dask_data, persisted, monkeypatch):
    from adamopt import _dask_objective

    monkeypatch.setattr(_dask_objective, "_INLINE_BYTES", 0)   # as for a large w
    X, y = data
    arrays = dask_data if persisted else (da.from_array(X, chunks=(CHUNKS, P)),
                                          da.from_array(y, chunks=(CHUNKS,)))
    w = np.random.default_rng(7).standard_normal(P)
    f, _ = adamopt.dask_objective(mean_squares, *arrays)(w)
    np.testing.assert_allclose(f, mean_squares(w, X, y)[0], rtol=64 * np.finfo(float).eps)


def test_objective_keeps_a_penalty_once_with_mean(client, data, dask_data):
    X, y = data
    w = np.random.default_rng(3).standard_normal(P)

    def penalised(w, X, y):
        f, g = mean_squares(w, X, y)
        return f + 0.5 * w @ w, g + w
    f, _ = adamopt.dask_objective(penalised, *dask_data)(w)
    np.testing.assert_allclose(f, penalised(w, X, y)[0], rtol=64 * np.finfo(float).eps)


def test_objective_passes_args(client, data, dask_data):
    X, y = data
    w = np.ones(P)

    def scaled(w, X, y, scale):
        f, g = mean_squares(w, X, y)
        return scale * f, scale * g
    objective = adamopt.dask_objective(scaled, *dask_data)
    np.testing.assert_allclose(objective(w, 3.0)[0], 3.0 * mean_squares(w, X, y)[0],
                               rtol=1e-13)


def test_sampled_objective_is_the_weighted_sum_of_its_blocks(client, data, dask_data):
    X, y = data
    w = np.random.default_rng(4).standard_normal(P)
    objective = adamopt.dask_objective(mean_squares, *dask_data, blocks_per_call=3, seed=5)
    starts = np.cumsum((0, *CHUNKS))
    for call in range(3):
        weights = objective.weights(call)
        f, _ = objective(w)
        f_ref = sum(weight * mean_squares(w, X[starts[c]:starts[c + 1]],
                                          y[starts[c]:starts[c + 1]])[0]
                    for c, weight in weights.items())
        np.testing.assert_allclose(f, f_ref, rtol=1e-13)
    assert objective.calls == 3


@pytest.mark.parametrize(("reduction", "expected"), [
    ("mean", np.array(CHUNKS) / N),   # E[weight_c] = n_c / N: the mean over all rows
    ("sum", np.ones(len(CHUNKS))),    # E[weight_c] = 1: the sum over all rows
])
def test_sampled_weights_are_unbiased(client, dask_data, reduction, expected):
    objective = adamopt.dask_objective(mean_squares, *dask_data, reduction=reduction,
                                       blocks_per_call=2, seed=0)
    draws = 20_000
    total = np.zeros(len(CHUNKS))
    for call in range(draws):
        for c, weight in objective.weights(call).items():
            total[c] += weight
    # Each weight is at most N / (k min n_c) for "sum"; 5 standard errors.
    scale = 1.0 if reduction == "sum" else 1.0 / 2
    spread = (N / (2 * min(CHUNKS)) if reduction == "sum" else scale) / np.sqrt(draws)
    np.testing.assert_allclose(total / draws, expected, atol=5 * spread)


def test_sampled_objective_is_reproducible(client, dask_data):
    w = np.ones(P)
    a = adamopt.dask_objective(mean_squares, *dask_data, blocks_per_call=1, seed=9)
    b = adamopt.dask_objective(mean_squares, *dask_data, blocks_per_call=1, seed=9)
    assert [a(w)[0] for _ in range(4)] == [b(w)[0] for _ in range(4)]


def test_minimize_runs_unchanged_on_the_objective(client, data, dask_data):
    X, y = data
    options = {"lr": 0.1, "maxiter": 60}
    res = minimize(adamopt.dask_objective(mean_squares, *dask_data), np.zeros(P), jac=True,
                   method=adamopt.adam, options=options)
    ref = minimize(mean_squares, np.zeros(P), jac=True, args=(X, y), method=adamopt.adam,
                   options=options)
    assert res.nit == ref.nit == 60
    # Rounding differences in the gradient (about 1e-15 relative) grow through
    # Adam's normalisation at most by a few orders of magnitude in 60 steps.
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-9)
    np.testing.assert_allclose(res.fun, ref.fun, rtol=1e-9)


def test_objective_sends_no_chunk(client, dask_data):
    Xd, _ = dask_data
    objective = adamopt.dask_objective(mean_squares, *dask_data)
    w = np.ones(P)
    objective(w)
    outgoing(client)
    calls = 5
    for _ in range(calls):
        objective(w)
    sent = outgoing(client)
    smallest_chunk = min(CHUNKS) * P * Xd.dtype.itemsize
    # Per call: one partial (f, g) from a worker to the other for the tree sum
    # and the result to the client; each a few hundred bytes.
    assert max(sent) < smallest_chunk / 10
    assert sum(sent) <= calls * 2 * (P * 8 + 256)


def test_objective_reports_a_bad_return(client, dask_data):
    objective = adamopt.dask_objective(lambda w, X, y: 1.0, *dask_data)
    with pytest.raises(TypeError, match=expect("loss_and_grad", "pair", "1.0")):
        objective(np.ones(P))


@pytest.mark.parametrize(("kwargs", "exc", "pieces"), [
    ({"reduction": "median"}, ValueError, (name("reduction"), "'median'")),
    ({"blocks_per_call": 0}, ValueError, (name("blocks_per_call"), ">= 1", "Got 0")),
    ({"blocks_per_call": 1.5}, TypeError, (name("blocks_per_call"), "1.5")),
    ({"split_every": 1}, ValueError, (name("split_every"), ">= 2", "Got 1")),
    ({"seed": -1}, ValueError, (name("seed"), "-1")),
])
def test_objective_validates_options(client, dask_data, kwargs, exc, pieces):
    with pytest.raises(exc, match=expect("dask_objective", *pieces)):
        adamopt.dask_objective(mean_squares, *dask_data, **kwargs)


def test_objective_refuses_numpy_arrays(client, data, dask_data):
    with pytest.raises(TypeError, match=expect("Array 1", "must be a Dask array",
                                               r"shape \(2000,\)")):
        adamopt.dask_objective(mean_squares, dask_data[0], data[1])


def test_objective_refuses_a_non_callable(client, dask_data):
    with pytest.raises(TypeError, match=expect(name("loss_and_grad"), "callable")):
        adamopt.dask_objective("f", *dask_data)


# -- minibatches on Dask arrays -----------------------------------------------------


def test_stream_has_the_numpy_stream_attributes(client, dask_data):
    stream = adamopt.minibatches(*dask_data, batch_size=64, seed=0)
    assert (stream.n_samples, stream.batch_size, stream.batches_per_epoch) == (N, 64, 32)
    assert stream.epoch == 0
    for _ in range(32):
        next(stream)
    assert stream.epoch == 1
    assert iter(stream) is stream
    stream.close()


def test_batches_hold_aligned_rows(client, data, dask_data):
    X, y = data
    stream = adamopt.minibatches(dask_data[0], y, dask_data[1], batch_size=50, seed=1,
                                 chunks_per_batch=3)
    for _ in range(5):
        Xb, yb_numpy, yb_dask = next(stream)
        assert Xb.shape == (50, P)
        np.testing.assert_array_equal(yb_numpy, yb_dask)
        # every row of the batch is a row of X with its own y
        rows = [int(np.flatnonzero((row == X).all(axis=1))[0]) for row in Xb]
        np.testing.assert_array_equal(y[rows], yb_numpy)
        assert len(set(rows)) == 50
    stream.close()


@pytest.mark.parametrize("drop_last", [False, True])
def test_unshuffled_batches_equal_the_numpy_stream(client, data, dask_data, drop_last):
    # batch_size 450 cuts across the chunk boundaries (700, 1000, 1400)
    dask_stream = adamopt.minibatches(*dask_data, batch_size=450, shuffle=False,
                                      drop_last=drop_last)
    numpy_stream = adamopt.minibatches(*data, batch_size=450, shuffle=False,
                                       drop_last=drop_last)
    assert dask_stream.batches_per_epoch == numpy_stream.batches_per_epoch
    for _ in range(2 * numpy_stream.batches_per_epoch + 1):
        for a, b in zip(next(dask_stream), next(numpy_stream), strict=True):
            np.testing.assert_array_equal(a, b)
    dask_stream.close()


def test_stream_on_arrays_not_persisted(client, data, dask_data):
    X, y = data
    lazy = (da.from_array(X, chunks=(CHUNKS, P)), da.from_array(y, chunks=(CHUNKS,)))
    stream = adamopt.minibatches(*lazy, batch_size=64, seed=2)
    assert not stream._blocks.persisted
    persisted = batches(adamopt.minibatches(*dask_data, batch_size=64, seed=2), 3)
    for got, expected in zip(batches(stream, 3), persisted, strict=True):
        for a, b in zip(got, expected, strict=True):
            np.testing.assert_array_equal(a, b)


#: dask.distributed's threads use the global `random` module (timer jitter)
#: while hypothesis generates examples, which hypothesis takes for a strategy
#: using it; the strategies here do not.
_THREADS_USE_RANDOM = pytest.mark.filterwarnings(
    "ignore:Do not use the `random` module inside strategies"
    ":hypothesis.errors.HypothesisDeprecationWarning")


@_THREADS_USE_RANDOM
@settings(max_examples=15, deadline=None)
@given(chunks=st.lists(st.integers(1, 40), min_size=1, max_size=6),
       batch_fraction=st.floats(0.0, 1.0), drop_last=st.booleans())
def test_unshuffled_stream_equals_numpy_for_any_chunking(client, chunks, batch_fraction,
                                                         drop_last):
    n = sum(chunks)
    batch_size = 1 + min(n - 1, int(batch_fraction * n))
    X = np.arange(3.0 * n).reshape(n, 3)
    y = np.arange(n)
    Xd = da.from_array(X, chunks=(tuple(chunks), 3)).persist()
    yd = da.from_array(y, chunks=(tuple(chunks),)).persist()
    dask_stream = adamopt.minibatches(Xd, yd, batch_size=batch_size, shuffle=False,
                                      drop_last=drop_last)
    numpy_stream = adamopt.minibatches(X, y, batch_size=batch_size, shuffle=False,
                                       drop_last=drop_last)
    assert dask_stream.batches_per_epoch == numpy_stream.batches_per_epoch
    for _ in range(min(numpy_stream.batches_per_epoch + 1, 20)):
        for a, b in zip(next(dask_stream), next(numpy_stream), strict=True):
            np.testing.assert_array_equal(a, b)
    dask_stream.close()


@_THREADS_USE_RANDOM
@settings(max_examples=10, deadline=None)
@given(chunks=st.lists(st.integers(1, 300), min_size=1, max_size=6),
       seed=st.integers(0, 2**32 - 1))
def test_objective_equals_numpy_for_any_chunking(client, chunks, seed):
    rng = np.random.default_rng(seed)
    n = sum(chunks)
    X = rng.standard_normal((n, P))
    y = rng.standard_normal(n)
    w = rng.standard_normal(P)
    Xd = da.from_array(X, chunks=(tuple(chunks), P)).persist()
    yd = da.from_array(y, chunks=(tuple(chunks),)).persist()
    f, g = adamopt.dask_objective(mean_squares, Xd, yd, split_every=2)(w)
    f_ref, g_ref = mean_squares(w, X, y)
    np.testing.assert_allclose(f, f_ref, rtol=64 * np.finfo(float).eps)
    np.testing.assert_array_less(np.abs(g - g_ref),
                                 rounding_bound(X, y, w, len(chunks)) + 1e-300)


def batches(stream, count):
    out = [next(stream) for _ in range(count)]
    stream.close()
    return out


def test_same_seed_same_batches_whatever_the_prefetch(client, dask_data):
    from adamopt._dask_batches import DaskMinibatchStream

    a = batches(adamopt.minibatches(*dask_data, batch_size=32, seed=7), 40)
    b = batches(DaskMinibatchStream(*dask_data, batch_size=32, seed=7, prefetch=1,
                                    batches_per_transfer=3), 40)
    for batch_a, batch_b in zip(a, b, strict=True):
        for x, z in zip(batch_a, batch_b, strict=True):
            np.testing.assert_array_equal(x, z)


def test_different_seeds_differ(client, dask_data):
    a = batches(adamopt.minibatches(*dask_data, batch_size=32, seed=1), 1)
    b = batches(adamopt.minibatches(*dask_data, batch_size=32, seed=2), 1)
    assert not np.array_equal(a[0][1], b[0][1])


def test_state_dict_restores_the_position_and_the_seed(client, dask_data):
    reference = batches(adamopt.minibatches(*dask_data, batch_size=32, seed=3), 8)
    saved = adamopt.minibatches(*dask_data, batch_size=32, seed=3)
    for _ in range(5):
        next(saved)
    state = json.loads(json.dumps(saved.state_dict()))   # plain JSON values
    saved.close()
    stream = adamopt.minibatches(*dask_data, batch_size=32, seed=99)
    next(stream)
    stream.load_state_dict(state)
    assert stream.batches_drawn == 5
    np.testing.assert_array_equal(next(stream)[1], reference[5][1])
    stream.close()


def test_load_state_dict_refuses_another_stream(client, dask_data):
    a = adamopt.minibatches(*dask_data, batch_size=32, seed=3)
    b = adamopt.minibatches(*dask_data, batch_size=16, seed=3)
    with pytest.raises(ValueError, match=expect("another stream", "'batch_size': 32")):
        b.load_state_dict(a.state_dict())
    with pytest.raises(TypeError, match=expect(name("state"), "state_dict")):
        b.load_state_dict({"stream": "minibatches"})
    a.close()
    b.close()


@pytest.mark.parametrize("chunks_per_batch", [1, 2])
def test_every_row_is_equally_likely(client, dask_data, chunks_per_batch):
    stream = adamopt.minibatches(*dask_data, batch_size=40, seed=0,
                                 chunks_per_batch=chunks_per_batch)
    draws = 4000
    counts = np.zeros(N)
    for number in range(draws):
        _, rows = stream._plan(number)
        np.add.at(counts, rows, 1)
    stream.close()
    # Per chunk, the rows drawn over its expected count (uniform sampling:
    # b / N per row per batch): binomial, 5 standard errors.
    starts = np.cumsum((0, *CHUNKS))
    for c, size in enumerate(CHUNKS):
        expected = draws * 40 * size / N
        got = counts[starts[c]:starts[c + 1]].sum()
        assert abs(got - expected) < 5 * np.sqrt(expected * 40)


def test_a_chunk_smaller_than_its_share_gives_rows_with_replacement(client, dask_data):
    assert max(CHUNKS) < 1000     # every chunk must repeat rows for 1000
    stream = adamopt.minibatches(*dask_data, batch_size=1000, seed=0)
    starts = np.cumsum((0, *CHUNKS))
    for number in range(40):
        parts, rows = stream._plan(number)
        assert len(rows) == 1000
        (c, local), = parts                 # one chunk per batch
        assert ((rows >= starts[c]) & (rows < starts[c + 1])).all()
        assert len(np.unique(local)) <= CHUNKS[c]
    Xb, yb = next(stream)
    assert Xb.shape == (1000, P)
    assert yb.shape == (1000,)
    stream.close()


def test_minibatch_fit_reaches_the_numpy_loss(client, data, dask_data):
    X, y = data
    best = mean_squares(np.linalg.lstsq(X, y, rcond=None)[0], X, y)[0]
    options = {"lr": 0.05, "maxiter": 500}
    results = []
    for arrays in (dask_data, data):
        stream = adamopt.minibatches(*arrays, batch_size=100, seed=0)
        res = minimize(mean_squares, np.zeros(P), jac=True, method=adamopt.adam,
                       options={**options, "batches": stream})
        results.append(mean_squares(res.x, X, y)[0])
        if hasattr(stream, "close"):
            stream.close()
    # The noise floor is 0.25 (noise sd 0.5).  Measured over seeds 0-2: within
    # 0.3-0.7 % of the least-squares loss on Dask, 0.01-0.05 % on NumPy (the
    # Dask batches draw rows with replacement across batches).
    dask_loss, numpy_loss = results
    assert dask_loss < 1.02 * best
    assert numpy_loss < 1.02 * best
    assert abs(dask_loss - numpy_loss) < 0.02 * best


def test_a_run_resumed_from_its_state_continues_bitwise(client, dask_data):
    options = {"lr": 0.05}
    stream = adamopt.minibatches(*dask_data, batch_size=50, seed=4)
    whole = minimize(mean_squares, np.zeros(P), jac=True, method=adamopt.adam,
                     options={**options, "maxiter": 40, "batches": stream})
    stream.close()
    stream = adamopt.minibatches(*dask_data, batch_size=50, seed=4)
    first = minimize(mean_squares, np.zeros(P), jac=True, method=adamopt.adam,
                     options={**options, "maxiter": 25, "batches": stream})
    second = minimize(mean_squares, first.x, jac=True, method=adamopt.adam,
                      options={**options, "maxiter": 15, "batches": stream,
                               "state": first.state})
    stream.close()
    np.testing.assert_array_equal(second.x, whole.x)


@pytest.mark.skipif("checkpoint" not in adamopt._minimize._RUN_DEFAULTS,
                    reason="no checkpoint option in this build")
def test_a_checkpointed_run_resumes_bitwise_with_a_new_stream(client, dask_data, tmp_path):
    options = {"lr": 0.05}
    def run(maxiter, seed, **more):
        return minimize(mean_squares, np.zeros(P), jac=True, method=adamopt.adam,
                        options={**options, "maxiter": maxiter, **more, "batches":
                                 adamopt.minibatches(*dask_data, batch_size=50, seed=seed)})
    whole = run(40, 4)
    path = str(tmp_path / "run.npz")
    run(25, 4, checkpoint=path)
    # the checkpoint restores the stream's position and seed (not the 123)
    resumed = run(40, 123, resume=path)
    assert resumed.nit == 40
    np.testing.assert_array_equal(resumed.x, whole.x)


def test_only_the_batches_leave_the_workers(client, dask_data):
    Xd, _ = dask_data
    stream = adamopt.minibatches(*dask_data, batch_size=64, seed=0)
    distributed.wait(stream._blocks.refs)   # the blocks packed where X's chunks are
    outgoing(client)
    count = 40
    for _ in range(count):
        next(stream)
    stream.close()
    stream._executor.shutdown(wait=True)    # the transfers already started end
    sent = outgoing(client)
    fetched = stream.batches_fetched
    per_transfer = stream._per_transfer
    assert count <= fetched <= count + (PREFETCH + 1) * per_transfer
    batch_bytes = 64 * (P + 1) * Xd.dtype.itemsize
    # Exactly the batches that reached the client left the workers, each
    # once, plus the framing of each piece (one per chunk and transfer);
    # nothing else moved, not even between workers.
    assert fetched * batch_bytes <= sum(sent) <= fetched * batch_bytes + 256 * len(sent)
    assert len(sent) <= len(CHUNKS) * -(-fetched // per_transfer)


@pytest.mark.parametrize(("make", "exc", "pieces"), [
    (lambda X, y: (X, y[:-1]), ValueError, ("same length", r"\[2000, 1999\]")),
    (lambda X, y: (X, y.rechunk(500)), ValueError, ("same chunks", "rechunk")),
    (lambda X, y: (X[X[:, 0] > 0], y), ValueError, ("known chunk sizes",
                                                    "compute_chunk_sizes")),
    (lambda X, y: (X.rechunk((700, 2)), y), ValueError, ("rows only", r"rechunk\(\{1: -1\}\)")),
    (lambda X, y: (X, np.float64(1.0)), ValueError, ("Array 1", "at least one dimension")),
])
def test_stream_validates_arrays(client, dask_data, make, exc, pieces):
    with pytest.raises(exc, match=expect("minibatches", *pieces)):
        adamopt.minibatches(*make(*dask_data), batch_size=10)


@pytest.mark.parametrize(("kwargs", "exc", "pieces"), [
    ({"batch_size": 0}, ValueError, (name("batch_size"), r"\[1, 2000\]", "Got 0")),
    ({"batch_size": 2.0}, TypeError, (name("batch_size"), "2.0")),
    ({"batch_size": 10, "chunks_per_batch": 0}, ValueError, (name("chunks_per_batch"),
                                                             "Got 0")),
    ({"batch_size": 10, "chunks_per_batch": 11}, ValueError, (name("chunks_per_batch"),
                                                              r"\[1, 10\]")),
    ({"batch_size": 10, "shuffle": False, "chunks_per_batch": 2}, ValueError,
     (name("chunks_per_batch"), "shuffle=True")),
    ({"batch_size": 10, "seed": 1.5}, TypeError, (name("seed"), "1.5")),
])
def test_stream_validates_options(client, dask_data, kwargs, exc, pieces):
    with pytest.raises(exc, match=expect("minibatches", *pieces)):
        adamopt.minibatches(*dask_data, **kwargs)


def test_chunks_per_batch_is_refused_for_numpy_arrays(data):
    with pytest.raises(ValueError, match=expect(name("chunks_per_batch"), "Dask arrays")):
        adamopt.minibatches(*data, batch_size=10, chunks_per_batch=2)


def test_no_client_is_a_clear_error(dask_data, monkeypatch):
    def no_client():
        raise ValueError("No clients found")
    monkeypatch.setattr(distributed, "default_client", no_client)
    with pytest.raises(ValueError, match=expect("minibatches", "no client", r"Client\(")):
        adamopt.minibatches(*dask_data, batch_size=10)


def test_import_adamopt_does_not_import_dask():
    code = "import sys, adamopt; print('dask' in sys.modules or 'distributed' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_is_dask_array_without_dask_imported_is_false():
    assert not _dask.is_dask_array(np.zeros(3))


def test_the_documented_example_runs_and_fits(client):
    from doc_blocks import DOCS, rst_blocks

    page = DOCS / "user_guide" / "dask.rst"
    if not page.exists():
        pytest.skip("no docs/ beside the tests")
    code = next(block for block in rst_blocks(page.read_text(), "python")
                if "dask_objective" in block)
    assert "from distributed import Client\n" in code
    # the test's cluster instead of a new one; the page's block is a script
    namespace = {"Client": lambda *args, **kwargs: client, "__name__": "__main__"}
    exec(code.replace("from distributed import Client\n", ""), namespace)
    truth = [1.0, -2.0, 0.5, 0.0, 3.0]
    assert abs(namespace["res"].x - truth).max() < 0.05
    assert abs(namespace["full"].x - truth).max() < 0.05
