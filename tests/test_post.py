"""The post-pass stage of the step (`Core._post`, ``adamopt/_post.pxi``):
bounds projected, the iterate before the update saved, an average
interpolated and a copy written out, in the step's own pass, bitwise as
NumPy does them after a plain step, on any number of threads."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import adamopt
from adamopt import _kernels

SIZE64, SIZE32 = _kernels._thread_min_sizes()
# below the nogil size, between it and the pool's, above it (several sub-blocks)
SIZES = [1, 7, 100, 4099, SIZE32 + 11, 3 * SIZE64 + 5]


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"])
def threads(request):
    previous = _kernels._get_num_threads()
    adamopt.set_num_threads(request.param)
    yield request.param
    adamopt.set_num_threads(previous)


def oracle(x, lower, upper, average, c, out):
    """What the stages do after a plain step, in NumPy."""
    if lower is not None or upper is not None:
        np.clip(x, -np.inf if lower is None else lower, np.inf if upper is None else upper,
                out=x)
    if average is not None:
        w = x.dtype.type(c)
        if w == 1:
            average[...] = x
        else:
            average += w * (x - average)
    if out is not None:
        out[...] = x


def bound(rng, kind, n, dtype, side):
    if kind == "none":
        return None
    if kind == "scalar":
        return float(side * 0.3)
    b = (side * np.abs(rng.standard_normal(n)) * 0.5).astype(dtype)
    if kind == "zeros":    # signed zeros on both sides of the bound
        b = np.where(rng.random(n) < 0.5, -0.0, 0.0).astype(dtype)
    return b


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.sampled_from(SIZES), is64=st.booleans(),
       lower_kind=st.sampled_from(["none", "scalar", "array", "zeros"]),
       upper_kind=st.sampled_from(["none", "scalar", "array"]),
       with_average=st.booleans(), c=st.sampled_from([1.0, 0.5, 1 / 3, 1e-3, 0.0]),
       with_out=st.booleans(), with_before=st.booleans(), seed=st.integers(0, 2**16))
def test_stages_equal_numpy_after_a_plain_step(threads, n, is64, lower_kind, upper_kind,
                                               with_average, c, with_out, with_before, seed):
    dtype = np.float64 if is64 else np.float32
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n).astype(dtype)
    x[rng.random(n) < 0.1] = 0.0
    twin = x.copy()
    lower = bound(rng, lower_kind, n, dtype, -1)
    upper = bound(rng, upper_kind, n, dtype, +1)
    if lower_kind == "zeros" and upper is not None:
        upper = np.maximum(upper, lower) if isinstance(upper, np.ndarray) else upper
    fused, plain = adamopt.Adam(x, lr=0.05), adamopt.Adam(twin, lr=0.05)
    average = rng.standard_normal(n).astype(dtype) if with_average else None
    average_twin = None if average is None else average.copy()
    out = np.empty_like(x) if with_out else None
    out_twin = None if out is None else np.empty_like(x)
    before = np.empty_like(x) if with_before else None
    fused._post(lower=lower, upper=upper, before=before, average=average, out=out, c=c)
    for _ in range(3):
        g = rng.standard_normal(n).astype(dtype)
        previous = twin.copy()
        fused.step(g)
        plain.step(g)
        oracle(twin, lower, upper, average_twin, c, out_twin)
        assert x.tobytes() == twin.tobytes()
        if before is not None:
            assert before.tobytes() == previous.tobytes()
        if average is not None:
            assert average.tobytes() == average_twin.tobytes()
        if out is not None:
            assert out.tobytes() == out_twin.tobytes()


@pytest.mark.parametrize("n", SIZES)
def test_bounds_in_the_pass_equal_numpy_clip_bitwise(threads, n):
    """NaN kept, a value equal to a bound kept with its sign of zero, as np.clip."""
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 2).astype(np.float64)
    lower = np.where(rng.random(n) < 0.5, -0.0, -1.0)
    upper = np.where(rng.random(n) < 0.5, 0.0, 1.0)
    x[::3] = np.where(rng.random(x[::3].size) < 0.5, -0.0, 0.0)
    x[1::7] = np.nan
    twin = x.copy()
    fused, plain = adamopt.SGD(x, lr=0.0), adamopt.SGD(twin, lr=0.0)
    fused._post(lower=lower, upper=upper)
    fused.step(np.zeros(n))
    plain.step(np.zeros(n))
    expected = np.clip(twin, lower, upper)
    if n >= 100:      # the cases this test is about are there
        assert np.signbit(expected).any()
        assert np.isnan(expected).any()
    assert x.tobytes() == expected.tobytes()


@pytest.mark.parametrize(("lower", "upper"), [(-0.0, 1.0), (0.0, 1.0), (-1.0, 0.0),
                                          (-1.0, -0.0), (-0.0, 0.0)])
def test_scalar_bounds_in_the_pass_equal_numpy_clip_bitwise(lower, upper):
    x = np.tile([0.0, -0.0, np.nan, 2.0, -2.0], 1000)
    twin = x.copy()
    fused, plain = adamopt.SGD(x, lr=0.0), adamopt.SGD(twin, lr=0.0)
    fused._post(lower=lower, upper=upper)
    fused.step(np.zeros(x.size))
    plain.step(np.zeros(x.size))
    assert x.tobytes() == np.clip(twin, lower, upper).tobytes()


def test_without_stages_a_step_is_unchanged_bitwise():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(5000)
    twin = x.copy()
    a, b = adamopt.AdamW(x, lr=0.1), adamopt.AdamW(twin, lr=0.1)
    a._post(out=np.empty_like(x))
    a._post()          # off again
    for _ in range(3):
        g = rng.standard_normal(5000)
        a.step(g)
        b.step(g)
    assert x.tobytes() == twin.tobytes()


@pytest.mark.parametrize("cls", [adamopt.SGD, adamopt.RMSprop, adamopt.NAdam, adamopt.Adamax])
def test_stages_run_for_every_algorithm(cls):
    x = np.linspace(-2.0, 2.0, 10_000)
    twin = x.copy()
    out = np.empty_like(x)
    fused, plain = cls(x, lr=0.1), cls(twin, lr=0.1)
    fused._post(lower=-1.0, upper=1.0, out=out)
    g = np.cos(x)
    fused.step(g)
    plain.step(g)
    np.clip(twin, -1.0, 1.0, out=twin)
    assert x.tobytes() == twin.tobytes()
    assert out.tobytes() == twin.tobytes()


def test_a_refused_step_runs_no_stage():
    x = np.ones(100)
    out, before = np.full(100, 7.0), np.full(100, 8.0)
    opt = adamopt.Adam(x)
    opt._post(lower=2.0, out=out, before=before)
    g = np.ones(100)
    g[50] = np.nan
    with pytest.raises(ValueError):
        opt.step(g)
    assert (x == 1.0).all()
    assert (out == 7.0).all()
    assert (before == 8.0).all()


def test_the_average_weight_changes_alone():
    x = np.zeros(10)
    average = np.zeros(10)
    opt = adamopt.SGD(x, lr=1.0)
    opt._post(average=average, c=1.0)
    opt.step(-np.ones(10))               # x = 1, average = x
    opt._post_c = 0.5
    opt.step(-np.ones(10))               # x = 2, average = 1 + 0.5 * (2 - 1)
    assert opt._post_c == 0.5
    assert (average == 1.5).all()


@pytest.mark.parametrize(("kwargs", "name", "error"), [
    ({"out": np.empty(9)}, "out", ValueError),
    ({"out": np.empty(10, np.float32)}, "out", ValueError),
    ({"average": np.empty(20)[::2]}, "average", ValueError),
    ({"before": [0.0] * 10}, "before", ValueError),
    ({"lower": np.zeros(3)}, "lower", ValueError),
    ({"upper": "1"}, "upper", TypeError),
    ({"upper": np.full(10, np.nan)}, "upper", ValueError),
    ({"lower": 1.0, "upper": 0.0}, "lower", ValueError),
    ({"average": np.zeros(10), "c": 1.5}, "c", ValueError),
    ({"average": np.zeros(10), "c": None}, "c", TypeError),
])
def test_bad_arguments_name_the_parameter_and_change_nothing(kwargs, name, error):
    x = np.zeros(10)
    out = np.empty(10)
    opt = adamopt.Adam(x, lr=0.1)
    opt._post(out=out)
    with pytest.raises(error, match=f"'{name}'"):
        opt._post(**kwargs)
    opt.step(np.ones(10))
    assert out.tobytes() == x.tobytes()      # the stages set before still run


def test_a_target_overlapping_the_parameters_is_refused():
    x = np.zeros(10)
    opt = adamopt.Adam(x)
    with pytest.raises(ValueError, match=r"'out'.*overlap"):
        opt._post(out=x)
    buffer = np.zeros(10)
    with pytest.raises(ValueError, match=r"'average'.*overlap"):
        opt._post(average=buffer, out=buffer)


def test_an_array_resized_between_steps_is_refused_and_nothing_changes():
    x = np.zeros(10)
    out = np.empty(10)
    opt = adamopt.Adam(x, lr=0.1)
    opt._post(out=out)
    out.resize(5, refcheck=False)
    with pytest.raises(ValueError, match="'out' array of the post-pass"):
        opt.step(np.ones(10))
    assert (x == 0.0).all()
    assert opt.t == 0


def test_a_gradient_overlapping_a_target_is_refused():
    x = np.zeros(10)
    out = np.ones(10)
    opt = adamopt.Adam(x, lr=0.1)
    opt._post(out=out)
    with pytest.raises(ValueError, match="overlaps"):
        opt.step(out)
    assert (x == 0.0).all()
    assert (out == 1.0).all()


def test_the_copy_out_array_is_replaced_alone():
    x = np.zeros(10)
    first, second = np.empty(10), np.empty(10)
    opt = adamopt.SGD(x, lr=1.0)
    opt._post(lower=-0.5, out=first)
    opt._post_out = second
    opt.step(np.ones(10))
    assert opt._post_out is second
    assert (second == -0.5).all()
    assert (x == -0.5).all()
    with pytest.raises(ValueError, match=r"'out'.*overlap"):
        opt._post_out = x
    assert opt._post_out is second



@pytest.mark.parametrize("n", [10, 5000])
def test_before_equals_the_iterate_whatever_it_held(n):
    # Stage (0) compares each block first and rewrites only what differs:
    # afterwards `before` is the iterate to the bit, NaN payloads and zeros'
    # signs included, whether it held it already, something close or garbage.
    x = np.linspace(-1.0, 1.0, n)
    x[0] = -0.0
    start = x.copy()
    before, out = start.copy(), np.empty(n)
    before[0] = 0.0                              # the other zero
    before[n // 2] = np.nan                      # one element of one block
    opt = adamopt.SGD(x, lr=0.1)
    opt._post(before=before, out=out)
    opt.step(np.ones(n))
    assert before.tobytes() == start.tobytes()
    assert out.tobytes() == x.tobytes()


def test_before_and_out_swap_roles():
    x = np.zeros(10)
    first, second = np.full(10, 3.0), np.empty(10)
    opt = adamopt.SGD(x, lr=1.0)
    opt._post(before=first, out=second)
    opt.step(np.ones(10))
    opt._post_swap()
    assert opt._post_out is first
    opt.step(np.ones(10))
    assert (second == -1.0).all()
    assert (first == -2.0).all()


def test_swap_without_both_arrays_is_refused():
    opt = adamopt.SGD(np.zeros(10), lr=1.0)
    opt._post(out=np.empty(10))
    with pytest.raises(ValueError, match="'before' and 'out'"):
        opt._post_swap()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [10, 2047, 2048, 300_001])
def test_the_step_norm_taken_in_the_pass_is_the_norm_of_the_change(threads, n, dtype):
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n).astype(dtype)
    g = rng.standard_normal(n).astype(dtype)
    opt = adamopt.Adam(x, lr=1e-2)
    before = np.empty_like(x)
    opt._post(before=before, lower=-0.5, step_norm=True)   # (the clip is in the norm)
    assert np.isnan(opt._post_step_norm())                 # no step yet
    opt.step(g)
    change = (x - before).astype(np.float64)
    # (float64 sums of up to 3e5 squares in two orders: agreeing to ~1e-13)
    assert opt._post_step_norm() == pytest.approx(float(np.sqrt(change @ change)),
                                                  rel=1e-12)


def test_the_step_norm_has_the_same_bits_on_any_number_of_threads():
    norms = []
    for count in (1, 2):
        previous = adamopt.set_num_threads(count)
        try:
            rng = np.random.default_rng(0)
            x = rng.standard_normal(1_000_003)
            opt = adamopt.Adam(x, lr=1e-2)
            opt._post(before=np.empty_like(x), step_norm=True)
            opt.step(rng.standard_normal(x.size))
            norms.append(opt._post_step_norm())
        finally:
            adamopt.set_num_threads(previous)
    assert norms[0] == norms[1]


def test_the_step_norm_needs_before_and_a_bool():
    opt = adamopt.Adam(np.zeros(4))
    with pytest.raises(ValueError, match="'step_norm'"):
        opt._post(out=np.empty(4), step_norm=True)
    with pytest.raises(TypeError, match="'step_norm'"):
        opt._post(before=np.empty(4), step_norm=1)
    opt.step(np.ones(4))
    assert np.isnan(opt._post_step_norm())      # (the refused calls set nothing)
