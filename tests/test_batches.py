"""`adamopt.minibatches`: an endless, reproducible stream of aligned minibatches.

An epoch visits every row once (in a new random order with ``shuffle=True``,
in order otherwise); the rows of all arrays stay aligned; the same seed gives
the same stream.  Invalid arguments are refused with a message that names the
argument and ``minibatches``.  Indices are read back through ``y = arange(n)``.
"""

import re

import numpy as np
import pytest
import scipy.sparse
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import minimize

import adamopt

N = 10


def indices(batch):
    """The row indices of a batch whose last array is ``arange(n)``."""
    return np.asarray(batch[-1]).tolist()


def draw(stream, count):
    return [next(stream) for _ in range(count)]


def epoch_indices(stream):
    """The row indices of the next epoch's batches, one list per batch."""
    return [indices(batch) for batch in draw(stream, stream.batches_per_epoch)]


def expect(*pieces):
    """A regex that finds every regex in ``pieces`` in the message, in any order."""
    return "(?s)" + "".join(f"(?=.*?(?:{piece}))" for piece in pieces)


def name(parameter):
    return re.escape(repr(parameter))


OWNER = r"\bminibatches\b"


def shown(value):
    return rf"(?<![\w.]){re.escape(repr(value))}(?!\w|\.\d)"


# -- epochs -------------------------------------------------------------------------------------


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("batch_size", [1, 3, 4, 5, N])
def test_every_row_appears_exactly_once_per_epoch(shuffle, batch_size):
    stream = adamopt.minibatches(np.arange(N), batch_size=batch_size, shuffle=shuffle, seed=0)
    for _ in range(3):
        rows = [i for batch in epoch_indices(stream) for i in batch]
        assert sorted(rows) == list(range(N))


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("batch_size", [3, 4, 6])
def test_drop_last_skips_the_last_partial_batch(shuffle, batch_size):
    stream = adamopt.minibatches(np.arange(N), batch_size=batch_size, shuffle=shuffle, seed=1,
                                 drop_last=True)
    assert stream.batches_per_epoch == N // batch_size
    for _ in range(3):
        batches = epoch_indices(stream)
        assert [len(b) for b in batches] == [batch_size] * (N // batch_size)
        rows = [i for b in batches for i in b]
        assert len(set(rows)) == len(rows)
    if not shuffle:
        assert rows == list(range(N // batch_size * batch_size))


@pytest.mark.parametrize("drop_last", [True, False])
def test_drop_last_changes_nothing_when_batch_size_divides_n(drop_last):
    stream = adamopt.minibatches(np.arange(N), batch_size=5, shuffle=False, drop_last=drop_last)
    assert epoch_indices(stream) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]


@pytest.mark.parametrize("shuffle", [True, False])
def test_rows_stay_aligned_across_epochs(shuffle):
    rng = np.random.default_rng(3)
    X = rng.standard_normal((N, 3))
    y = np.arange(N)
    Z = rng.standard_normal((N, 2, 2))
    stream = adamopt.minibatches(X, Z, y, batch_size=3, shuffle=shuffle, seed=4)
    for Xb, Zb, yb in draw(stream, 4 * stream.batches_per_epoch):
        np.testing.assert_array_equal(Xb, X[yb])
        np.testing.assert_array_equal(Zb, Z[yb])


def test_without_shuffle_rows_come_in_order_and_batches_are_slices():
    X = np.arange(2.0 * N).reshape(N, 2)
    stream = adamopt.minibatches(X, np.arange(N), batch_size=4, shuffle=False)
    assert [indices(b) for b in draw(stream, 6)] == [
        [0, 1, 2, 3], [4, 5, 6, 7], [8, 9], [0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    Xb, _ = next(stream)
    assert np.shares_memory(Xb, X)   # a view: a slice, not a fancy-indexed copy
    np.testing.assert_array_equal(Xb, X[0:4])


def test_shuffle_draws_a_different_permutation_each_epoch():
    stream = adamopt.minibatches(np.arange(50), batch_size=50, seed=5)
    orders = [tuple(indices(next(stream))) for _ in range(5)]
    assert len(set(orders)) == 5
    assert all(sorted(order) == list(range(50)) for order in orders)
    assert orders[0] != tuple(range(50))


# -- seeds --------------------------------------------------------------------------------------


def _stream(seed, **kwargs):
    return adamopt.minibatches(np.arange(30), batch_size=7, seed=seed, **kwargs)


@pytest.mark.parametrize("seed", [0, 12345, 2**70, np.int64(7)], ids=repr)
def test_same_seed_gives_the_same_stream(seed):
    assert [indices(b) for b in draw(_stream(seed), 20)] == \
        [indices(b) for b in draw(_stream(seed), 20)]


def test_same_seed_sequence_gives_the_same_stream():
    first = draw(_stream(np.random.SeedSequence(11)), 20)
    second = draw(_stream(np.random.SeedSequence(11)), 20)
    assert [indices(b) for b in first] == [indices(b) for b in second]


def test_different_seeds_give_different_streams():
    assert [indices(b) for b in draw(_stream(0), 10)] != \
        [indices(b) for b in draw(_stream(1), 10)]


def test_a_generator_seed_is_used_and_advanced():
    generator = np.random.default_rng(8)
    stream = adamopt.minibatches(np.arange(30), batch_size=30, seed=generator)
    first = indices(next(stream))
    assert first == np.random.default_rng(8).permutation(30).tolist()
    # Advanced: the next epoch's permutation is the generator's next one.
    expected = np.random.default_rng(8)
    expected.permutation(30)
    assert indices(next(stream)) == expected.permutation(30).tolist()
    assert generator.bit_generator.state == expected.bit_generator.state


# -- attributes and the iterator protocol -------------------------------------------------------


@pytest.mark.parametrize(("batch_size", "drop_last", "per_epoch"),
                         [(3, False, 4), (3, True, 3), (5, False, 2), (5, True, 2),
                          (N, False, 1), (1, False, N)])
def test_attributes_describe_the_stream(batch_size, drop_last, per_epoch):
    stream = adamopt.minibatches(np.zeros((N, 2)), batch_size=batch_size,
                                 drop_last=drop_last, seed=0)
    assert stream.n_samples == N
    assert stream.batches_per_epoch == per_epoch
    assert stream.epoch == 0
    draw(stream, per_epoch - 1)
    assert stream.epoch == 0
    next(stream)
    assert stream.epoch == 1
    draw(stream, 2 * per_epoch)
    assert stream.epoch == 3


def test_stream_is_its_own_iterator():
    stream = adamopt.minibatches(np.arange(N), batch_size=2)
    assert iter(stream) is stream


@pytest.mark.parametrize("shuffle", [True, False])
def test_stream_is_endless(shuffle):
    stream = adamopt.minibatches(np.arange(N), batch_size=3, shuffle=shuffle, seed=0)
    batches = draw(stream, 3 * stream.batches_per_epoch + 2)
    assert all(len(b[0]) > 0 for b in batches)
    assert stream.epoch == 3


@pytest.mark.parametrize("shuffle", [True, False])
def test_batch_size_equal_to_n_gives_whole_epochs(shuffle):
    stream = adamopt.minibatches(np.arange(N), batch_size=N, shuffle=shuffle, seed=0)
    assert stream.batches_per_epoch == 1
    for batch in draw(stream, 3):
        assert sorted(indices(batch)) == list(range(N))


def test_repr_mentions_batch_size():
    stream = adamopt.minibatches(np.zeros((N, 2)), np.arange(N), batch_size=4)
    assert "batch_size=4" in repr(stream)


# -- kinds of arrays ----------------------------------------------------------------------------


def test_one_dimensional_and_three_dimensional_arrays_together():
    cube = np.arange(N * 6.0).reshape(N, 2, 3)
    stream = adamopt.minibatches(cube, np.arange(N), batch_size=4, seed=0)
    for cb, yb in draw(stream, 6):
        assert cb.shape[1:] == (2, 3)
        np.testing.assert_array_equal(cb, cube[yb])


def test_lists_are_converted_to_arrays():
    X = [[float(i), float(-i)] for i in range(N)]
    stream = adamopt.minibatches(X, list(range(N)), batch_size=3, seed=0)
    Xb, yb = next(stream)
    assert isinstance(Xb, np.ndarray)
    assert isinstance(yb, np.ndarray)
    np.testing.assert_array_equal(Xb, np.asarray(X)[yb])


@pytest.mark.parametrize("shuffle", [True, False])
def test_memmap_rows(tmp_path, shuffle):
    X = np.memmap(tmp_path / "X.dat", dtype=np.float64, mode="w+", shape=(N, 2))
    X[:] = np.arange(2.0 * N).reshape(N, 2)
    stream = adamopt.minibatches(X, np.arange(N), batch_size=4, shuffle=shuffle, seed=0)
    for Xb, yb in draw(stream, 6):
        np.testing.assert_array_equal(np.asarray(Xb), np.asarray(X)[yb])


@pytest.mark.parametrize("shuffle", [True, False])
def test_sparse_csr_rows(shuffle):
    dense = np.arange(3.0 * N).reshape(N, 3)
    dense[::2, 1] = 0.0
    X = scipy.sparse.csr_matrix(dense)
    stream = adamopt.minibatches(X, np.arange(N), batch_size=4, shuffle=shuffle, seed=0)
    for Xb, yb in draw(stream, 6):
        assert scipy.sparse.issparse(Xb)
        np.testing.assert_array_equal(Xb.toarray(), dense[yb])


def test_sparse_format_without_row_indexing_is_refused_at_construction():
    X = scipy.sparse.coo_matrix(np.ones((N, 2)))
    with pytest.raises(TypeError, match=expect(OWNER, r"\b0\b")):
        adamopt.minibatches(X, batch_size=2)


def test_works_as_the_batches_option_of_adam():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    seen = set()

    def loss(w, Xb, yb):
        seen.update(map(float, yb))
        r = Xb @ w - yb
        return float(r @ r) / len(yb), 2 * Xb.T @ r / len(yb)

    stream = adamopt.minibatches(X, y, batch_size=8, seed=0)
    res = adamopt.adam(loss, np.zeros(3), jac=True, maxiter=9, batches=stream, gtol=0)
    assert res.nit == 9
    assert stream.epoch == 2     # 10 batches drawn: two epochs of five
    assert seen == set(map(float, y))


# -- errors -------------------------------------------------------------------------------------


def test_no_arrays_is_a_type_error():
    with pytest.raises(TypeError, match=OWNER):
        adamopt.minibatches(batch_size=2)


def test_unequal_lengths_are_refused_listing_them():
    with pytest.raises(ValueError, match=expect(OWNER, re.escape("[10, 9, 10]"))):
        adamopt.minibatches(np.zeros(N), np.zeros(N - 1), np.zeros((N, 2)), batch_size=2)


@pytest.mark.parametrize("arrays", [(np.zeros((0, 3)),), (np.zeros(0), np.zeros(0)), ([],)],
                         ids=["2-D", "two-1-D", "empty-list"])
def test_zero_rows_are_refused(arrays):
    with pytest.raises(ValueError, match=expect(OWNER, r"\b0 rows\b|empty")):
        adamopt.minibatches(*arrays, batch_size=1)


@pytest.mark.parametrize(("arrays", "position"), [
    pytest.param((np.array(3.0),), 0, id="0-d-array"),
    pytest.param((3.0,), 0, id="python-float"),
    pytest.param((np.zeros(N), np.array(1)), 1, id="second-array"),
])
def test_zero_dimensional_array_is_refused(arrays, position):
    with pytest.raises(ValueError, match=expect(OWNER, rf"\b{position}\b", "dimension")):
        adamopt.minibatches(*arrays, batch_size=1)


BAD_ARGUMENTS = [
    ("batch_size", 0, ValueError),
    ("batch_size", N + 1, ValueError),
    ("batch_size", -1, ValueError),
    ("batch_size", 2.5, TypeError),
    ("batch_size", 2.0, TypeError),
    ("batch_size", True, TypeError),
    ("batch_size", "4", TypeError),
    ("batch_size", None, TypeError),
    *[(flag, value, TypeError) for flag in ("shuffle", "drop_last") for value in (1, "yes", None)],
    ("seed", "a", TypeError),
    ("seed", -1, ValueError),
    ("seed", 1.5, TypeError),
    ("seed", True, TypeError),
]


@pytest.mark.parametrize(("argument", "value", "exc"),
                         [pytest.param(*case, id=f"{case[0]}={case[1]!r}")
                          for case in BAD_ARGUMENTS])
def test_bad_argument_is_refused(argument, value, exc):
    kwargs = {"batch_size": 2, argument: value}
    with pytest.raises(exc, match=expect(name(argument), OWNER, shown(value))):
        adamopt.minibatches(np.zeros((N, 2)), np.arange(N), **kwargs)


def test_batch_size_error_shows_the_number_of_rows():
    with pytest.raises(ValueError, match=expect(name("batch_size"), OWNER, rf"\b{N}\b")):
        adamopt.minibatches(np.zeros(N), batch_size=N + 1)


# -- property -----------------------------------------------------------------------------------


@st.composite
def stream_arguments(draw_):
    n = draw_(st.integers(1, 200))
    return (n, draw_(st.integers(1, n)), draw_(st.booleans()), draw_(st.booleans()),
            draw_(st.integers(0, 2**32 - 1)))


@given(stream_arguments())
def test_first_epoch_partitions_the_rows(arguments):
    n, batch_size, drop_last, shuffle, seed = arguments
    stream = adamopt.minibatches(np.zeros((n, 2)), np.arange(n), batch_size=batch_size,
                                 shuffle=shuffle, seed=seed, drop_last=drop_last)
    batches = epoch_indices(stream)
    sizes = [len(b) for b in batches]
    rows = [i for b in batches for i in b]
    assert len(set(rows)) == len(rows)
    assert set(rows) <= set(range(n))
    if drop_last:
        assert len(rows) == n - n % batch_size
        assert sizes == [batch_size] * len(sizes)
    else:
        assert sorted(rows) == list(range(n))
        assert sizes[:-1] == [batch_size] * (len(sizes) - 1)
        assert 1 <= sizes[-1] <= batch_size
    assert stream.epoch == 1


# -- the batches' memory: large batches go into buffers nothing else holds -------------------
#
# (adamopt/_batches.py: a batch of at least _RECYCLE_BYTES of one array is written
# into the buffer of an earlier batch only when nothing but the stream references it)

from adamopt import _batches  # noqa: E402

WIDE = _batches._RECYCLE_BYTES // (8 * 4) + 1      # float64 columns: 4 rows pass the limit


def wide_stream(**kwargs):
    """A shuffled stream of 4-row batches of 13 rows (the last batch smaller),
    each batch above the recycling limit; and the arrays."""
    rng = np.random.default_rng(7)
    X, y = rng.standard_normal((13, WIDE)), np.arange(13.0)
    return adamopt.minibatches(X, y, batch_size=4, seed=3, **kwargs), X, y


def expected_batches(count):
    """The batches a stream gives, computed with plain fancy indexing."""
    stream, X, y = wide_stream()
    out = []
    for _ in range(count):
        _, yb = next(stream)
        rows = yb.astype(np.intp)      # y = arange: the rows of the batch
        out.append((X[rows], y[rows]))
    return out


@pytest.mark.parametrize("count", [1, 2, 7, 12])
def test_kept_batches_are_never_overwritten(count):
    stream, _, _ = wide_stream()
    kept = draw(stream, count)
    for _ in range(10):         # later batches must not write into kept ones
        next(stream)
    for (Xb, yb), (Xe, ye) in zip(kept, expected_batches(count), strict=True):
        np.testing.assert_array_equal(Xb, Xe)
        np.testing.assert_array_equal(yb, ye)


def test_a_kept_view_of_a_batch_is_never_overwritten():
    stream, _, _ = wide_stream()
    view = next(stream)[0][1:3, ::2]
    expected = view.copy()
    for _ in range(10):
        next(stream)
    np.testing.assert_array_equal(view, expected)


def test_a_kept_memoryview_of_a_batch_is_never_overwritten():
    stream, _, _ = wide_stream()
    exported = memoryview(next(stream)[0])
    expected = np.asarray(exported).copy()
    for _ in range(10):
        next(stream)
    np.testing.assert_array_equal(np.asarray(exported), expected)


def test_a_batch_modified_in_place_does_not_change_later_batches():
    stream, _, _ = wide_stream()
    expected = expected_batches(12)
    for Xe, ye in expected:
        Xb, yb = next(stream)
        np.testing.assert_array_equal(Xb, Xe)
        np.testing.assert_array_equal(yb, ye)
        Xb[...] = np.nan        # the user scribbles on the batch, then drops it
        yb[...] = np.nan


def test_dropped_large_batches_are_recycled():
    stream, _, _ = wide_stream()
    first = next(stream)[0]
    address = first.__array_interface__["data"][0]
    del first
    next(stream)                # held while the next is drawn, as the run driver does
    third = next(stream)[0]
    assert third.__array_interface__["data"][0] == address


def test_small_batches_are_new_arrays():
    stream = adamopt.minibatches(np.zeros((N, 3)), np.arange(N), batch_size=2, seed=0)
    batches = draw(stream, 6)
    assert not any(np.shares_memory(a[0], b[0]) for a in batches for b in batches
                   if a is not b)


def test_recycled_batches_resume_bitwise_from_a_state():
    stream, _, _ = wide_stream()
    draw(stream, 5)
    state = stream.state_dict()
    after = [tuple(a.copy() for a in batch) for batch in draw(stream, 6)]
    resumed, _, _ = wide_stream()
    resumed.load_state_dict(state)
    for batch, expected in zip(draw(resumed, 6), after, strict=True):
        for a, e in zip(batch, expected, strict=True):
            assert a.tobytes() == e.tobytes()


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int8])
def test_gathered_rows_equal_fancy_indexing(order, dtype):
    rng = np.random.default_rng(1)
    cube = np.asarray(rng.standard_normal((N, 3, 2)) * 50, dtype=dtype, order=order)
    stream = adamopt.minibatches(cube, np.arange(N), batch_size=4, seed=2)
    for Xb, rows in draw(stream, 6):
        assert Xb.dtype == cube.dtype
        np.testing.assert_array_equal(Xb, cube[rows])


def test_batches_an_objective_keeps_during_a_run_keep_their_rows():
    stream, _, _ = wide_stream()
    kept = []

    def fun(w, Xb, yb):
        kept.append((Xb, yb))       # read only after the run
        r = Xb @ w - yb
        return float(r @ r), 2.0 * Xb.T @ r

    minimize(fun, np.zeros(WIDE), jac=True, method=adamopt.adam,
             options={"batches": stream, "maxiter": 9, "gtol": 0.0})
    for (Xb, yb), (Xe, ye) in zip(kept, expected_batches(len(kept)), strict=True):
        np.testing.assert_array_equal(Xb, Xe)
        np.testing.assert_array_equal(yb, ye)


def test_a_run_recycles_the_batches_its_objective_drops():
    X = np.random.default_rng(7).standard_normal((16, WIDE))
    stream = adamopt.minibatches(X, np.arange(16.0), batch_size=4, seed=3)
    addresses = []

    def fun(w, Xb, yb):
        addresses.append(Xb.__array_interface__["data"][0])
        return 0.0, np.zeros_like(w)

    minimize(fun, np.zeros(WIDE), jac=True, method=adamopt.adam,
             options={"batches": stream, "maxiter": 9, "gtol": 0.0})
    assert len(addresses) == 10
    assert len(set(addresses)) == 2     # the batch the run holds, and the other
