"""Behaviour of the public optimizer classes: in-place updates, options,
schedules, state round trips and pickling."""

import copy
import io
import pickle

import numpy as np
import pytest
from helpers import reference_step

import adamopt

CLASSES = [adamopt.Adam, adamopt.AdamW]
DTYPES = [np.float32, np.float64]


def _gradients(rng, shape, k, dtype=np.float64):
    return [rng.standard_normal(shape).astype(dtype) for _ in range(k)]


class TestStep:
    @pytest.mark.parametrize("cls", CLASSES)
    def test_step_updates_params_in_place_and_returns_them(self, cls):
        x = np.ones(5)
        out = cls(x, lr=0.1).step(np.ones(5))
        assert out is x
        assert np.all(x < 1.0)

    def test_step_leaves_the_gradient_untouched(self):
        g = np.array([1.0, -2.0, 3.0])
        before = g.copy()
        adamopt.Adam(np.zeros(3), maximize=True, weight_decay=0.5).step(g)
        assert g.tobytes() == before.tobytes()

    @pytest.mark.parametrize("shape", [(), (1,), (3, 4), (2, 3, 4)])
    def test_any_shape_is_updated_elementwise(self, shape):
        rng = np.random.default_rng(0)
        x = rng.standard_normal(shape)
        g = rng.standard_normal(shape)
        flat = x.ravel().copy()
        adamopt.Adam(x, lr=0.1).step(g)
        adamopt.Adam(flat, lr=0.1).step(g.ravel())
        assert x.shape == shape
        assert x.ravel().tobytes() == flat.tobytes()

    def test_fortran_ordered_params_are_updated_elementwise(self):
        rng = np.random.default_rng(1)
        x = np.asfortranarray(rng.standard_normal((4, 3)))
        g = np.asfortranarray(rng.standard_normal((4, 3)))
        c = np.ascontiguousarray(x)
        adamopt.Adam(x, lr=0.1).step(g)
        adamopt.Adam(c, lr=0.1).step(np.ascontiguousarray(g))
        assert x.flags.f_contiguous
        np.testing.assert_array_equal(x, c)

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_dtype_of_params_and_state_is_kept(self, dtype):
        x = np.zeros(3, dtype)
        opt = adamopt.AdamW(x, amsgrad=True)
        opt.step(np.ones(3))
        state = opt.state_dict()
        assert x.dtype == dtype
        assert state["m"].dtype == state["v"].dtype == state["vmax"].dtype == dtype

    def test_empty_params_count_steps(self):
        opt = adamopt.Adam(np.zeros(0))
        opt.step(np.zeros(0))
        assert opt.t == 1

    def test_step_on_a_memmap_updates_the_file_backed_array(self, tmp_path):
        x = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float64,
                                      shape=(4,))
        x[:] = 1.0
        adamopt.Adam(x, lr=0.5).step(np.ones(4))
        x.flush()
        np.testing.assert_allclose(np.load(tmp_path / "x.npy"), 0.5)

    def test_maximize_equals_minimizing_the_negated_objective(self):
        rng = np.random.default_rng(2)
        a, b = np.zeros(6), np.zeros(6)
        up = adamopt.Adam(a, lr=0.05, maximize=True, weight_decay=0.1)
        down = adamopt.Adam(b, lr=0.05, weight_decay=0.1)
        for g in _gradients(rng, 6, 20):
            up.step(g)
            down.step(-g)
        assert a.tobytes() == b.tobytes()

    def test_weight_decay_pulls_towards_zero_without_gradient(self):
        x = np.full(3, 2.0)
        opt = adamopt.AdamW(x, lr=0.1, weight_decay=0.5)
        opt.step(np.zeros(3))
        np.testing.assert_allclose(x, 2.0 * (1 - 0.1 * 0.5), rtol=1e-15)

    def test_adam_and_adamw_default_weight_decay(self):
        assert adamopt.Adam(np.zeros(1)).weight_decay == 0.0
        assert adamopt.AdamW(np.zeros(1)).weight_decay == 1e-2

    def test_converges_on_a_quadratic(self):
        x = np.array([3.0, -4.0, 0.5])
        opt = adamopt.Adam(x, lr=0.05)
        for _ in range(2000):
            opt.step(2 * x)
        np.testing.assert_allclose(x, 0, atol=1e-3)


class TestSchedules:
    def test_lr_callable_receives_the_step_number_from_one(self):
        seen = []
        opt = adamopt.Adam(np.zeros(2), lr=lambda t: seen.append(t) or 1e-3)
        for _ in range(3):
            opt.step(np.ones(2))
        assert seen == [1, 2, 3]

    def test_lr_callable_equals_the_same_constant(self):
        rng = np.random.default_rng(3)
        a, b = np.ones(4), np.ones(4)
        fa = adamopt.Adam(a, lr=lambda t: 0.01)
        fb = adamopt.Adam(b, lr=0.01)
        for g in _gradients(rng, 4, 5):
            fa.step(g)
            fb.step(g)
        assert a.tobytes() == b.tobytes()

    def test_lr_schedule_follows_the_reference_step_by_step(self):
        rng = np.random.default_rng(4)
        x = rng.standard_normal(8)
        opt = adamopt.Adam(x, lr=lambda t: 0.1 / t)
        xr, m, v = x.copy(), np.zeros(8), np.zeros(8)
        for t, g in enumerate(_gradients(rng, 8, 30), start=1):
            opt.step(g)
            xr, m, v, _ = reference_step(xr, g, m, v, None, t, lr=0.1 / t)
            np.testing.assert_allclose(x, xr, rtol=1e-13, atol=1e-15)

    def test_schedule_multiplies_the_learning_rate(self):
        rng = np.random.default_rng(5)
        a, b = np.ones(4), np.ones(4)
        fa = adamopt.Adam(a, lr=0.2, schedule=lambda t: 0.5)
        fb = adamopt.Adam(b, lr=0.1)
        for g in _gradients(rng, 4, 5):
            fa.step(g)
            fb.step(g)
        np.testing.assert_allclose(a, b, rtol=1e-15)

    @pytest.mark.parametrize("decay_scaling", ["lr", "schedule"])
    def test_adamw_decay_scaling_matches_its_equation(self, decay_scaling):
        rng = np.random.default_rng(6)
        x = rng.standard_normal(8)
        eta = lambda t: 1.0 / (1.0 + t)  # noqa: E731
        opt = adamopt.AdamW(x, lr=0.1, weight_decay=0.2, schedule=eta,
                            decay_scaling=decay_scaling)
        xr, m, v = x.copy(), np.zeros(8), np.zeros(8)
        for t, g in enumerate(_gradients(rng, 8, 10), start=1):
            opt.step(g)
            xr, m, v, _ = reference_step(xr, g, m, v, None, t, algorithm="adamw", lr=0.1,
                                         weight_decay=0.2, eta=eta(t),
                                         decay_scaling=decay_scaling)
        np.testing.assert_allclose(x, xr, rtol=1e-13)

    def test_paper_decay_scaling_without_schedule_decays_by_lambda_per_step(self):
        x = np.full(2, 4.0)
        adamopt.AdamW(x, lr=1e-3, weight_decay=0.25, decay_scaling="schedule").step(np.zeros(2))
        np.testing.assert_allclose(x, 4.0 * 0.75)

    def test_hyperparameters_can_change_between_steps(self):
        rng = np.random.default_rng(7)
        gs = _gradients(rng, 3, 4)
        a, b = np.ones(3), np.ones(3)
        fa = adamopt.Adam(a, lr=0.1)
        fb = adamopt.Adam(b, lr=lambda t: 0.1 if t <= 2 else 0.01)
        for i, g in enumerate(gs):
            if i == 2:
                fa.lr = 0.01
            fa.step(g)
            fb.step(g)
        assert a.tobytes() == b.tobytes()


class TestState:
    @pytest.mark.parametrize("cls", CLASSES)
    @pytest.mark.parametrize("dtype", DTYPES)
    @pytest.mark.parametrize("amsgrad", [False, True])
    def test_resume_after_10_steps_is_bitwise_identical_to_20_steps(self, cls, dtype, amsgrad):
        rng = np.random.default_rng(8)
        x0 = rng.standard_normal((3, 5)).astype(dtype)
        grads = _gradients(rng, (3, 5), 20, dtype)
        kwargs = dict(lr=0.01, amsgrad=amsgrad, weight_decay=0.1)
        straight = x0.copy()
        opt = cls(straight, **kwargs)
        for g in grads:
            opt.step(g)

        first = x0.copy()
        opt = cls(first, **kwargs)
        for g in grads[:10]:
            opt.step(g)
        saved, saved_x = opt.state_dict(), first.copy()
        resumed = saved_x.copy()
        opt = cls(resumed, **kwargs)
        opt.load_state_dict(saved)
        for g in grads[10:]:
            opt.step(g)
        assert resumed.tobytes() == straight.tobytes()

    def test_state_dict_survives_numpy_savez_and_load(self):
        rng = np.random.default_rng(9)
        x = rng.standard_normal(6)
        opt = adamopt.AdamW(x, lr=0.01, amsgrad=True, decay_scaling="schedule")
        for g in _gradients(rng, 6, 3):
            opt.step(g)
        buf = io.BytesIO()
        np.savez(buf, **opt.state_dict())
        buf.seek(0)
        with np.load(buf) as stored:
            other = adamopt.AdamW(x.copy(), amsgrad=True)
            other.load_state_dict(stored)
        g = rng.standard_normal(6)
        xa, xb = opt.step(g), other.step(g)
        assert xa.tobytes() == xb.tobytes()
        assert other.decay_scaling == "schedule"
        assert other.lr == 0.01

    def test_state_dict_is_picklable_plain_data(self):
        opt = adamopt.Adam(np.zeros(3), amsgrad=True)
        opt.step(np.ones(3))
        state = pickle.loads(pickle.dumps(opt.state_dict()))
        assert set(state) == {"algorithm", "t", "m", "v", "vmax", "lr", "beta1", "beta2",
                              "eps", "weight_decay", "amsgrad", "maximize"}
        assert state["algorithm"] == "adam"
        assert state["t"] == 1
        assert all(isinstance(state[k], np.ndarray) for k in ("m", "v", "vmax"))

    def test_state_dict_returns_copies(self):
        opt = adamopt.Adam(np.zeros(3))
        opt.step(np.ones(3))
        state = opt.state_dict()
        state["m"][:] = 123.0
        assert not np.any(opt.state_dict()["m"] == 123.0)

    def test_load_state_dict_restores_hyperparameters(self):
        source = adamopt.Adam(np.zeros(2), lr=0.5, beta1=0.8, beta2=0.99, eps=1e-6,
                              weight_decay=0.1, maximize=True)
        target = adamopt.Adam(np.zeros(2))
        target.load_state_dict(source.state_dict())
        assert (target.lr, target.beta1, target.beta2, target.eps, target.weight_decay,
                target.maximize) == (0.5, 0.8, 0.99, 1e-6, 0.1, True)

    def test_load_state_dict_keeps_a_callable_lr(self):
        schedule = lambda t: 0.1  # noqa: E731
        source = adamopt.Adam(np.zeros(2), lr=schedule)
        assert "lr" not in source.state_dict()
        target = adamopt.Adam(np.zeros(2), lr=schedule)
        target.load_state_dict(source.state_dict())
        assert target.lr is schedule

    @pytest.mark.parametrize("cls", CLASSES)
    def test_pickled_optimizer_continues_bitwise(self, cls):
        rng = np.random.default_rng(10)
        x = rng.standard_normal(5)
        opt = cls(x, lr=0.02, amsgrad=True)
        for g in _gradients(rng, 5, 4):
            opt.step(g)
        clone = pickle.loads(pickle.dumps(opt))
        assert clone.params is not x
        assert clone.t == opt.t
        g = rng.standard_normal(5)
        assert opt.step(g).tobytes() == clone.step(g).tobytes()

    def test_deepcopy_is_independent(self):
        x = np.ones(3)
        opt = adamopt.Adam(x)
        clone = copy.deepcopy(opt)
        clone.step(np.ones(3))
        assert np.all(x == 1.0)
        assert opt.t == 0
        assert clone.t == 1

    def test_repr_names_class_shape_dtype_and_options(self):
        text = repr(adamopt.AdamW(np.zeros((2, 3), np.float32), amsgrad=True))
        assert text.startswith("AdamW(params=<float32 array of shape (2, 3)>")
        assert "amsgrad=True" in text
        assert "t=0" in text
