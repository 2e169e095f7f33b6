"""Golden trajectories: every algorithm and option combination gives, bit for
bit, the trajectories recorded before the registry redesign (issue 14).

``tests/golden_trajectories.json`` holds, per case, the SHA-256 of the
parameters and of every entry of ``state_dict()`` after steps 1, 2 and the
last; ``tests/golden_arrays.npz`` holds a few final parameter arrays in full
(so that a failure shows how far off a run is).  Both were written by
``python tests/test_golden.py --record`` with the code of main at
7e5d545 (before the redesign), on the avx2 variant; every variant gives the
same bits (setup.py: ``-ffp-contract=off``), so the replay runs on each
variant available.

The cases name classes by their public names only (``adamopt.SGD``...), so
the file does not depend on how the package is organised inside.
"""

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

import adamopt
from adamopt import _kernels

HERE = Path(__file__).parent
HASHES = HERE / "golden_trajectories.json"
ARRAYS = HERE / "golden_arrays.npz"
SMALL, LARGE = 37, 20000   # LARGE is above both threads' thresholds: the pool runs
STEPS = 12


def _schedules(kind):
    """A schedule by name (built fresh: schedules may hold state)."""
    return {
        "lr_cosine": dict(lr=0.05 * adamopt.CosineAnnealing(T_max=10)),
        "lr_callable": dict(lr=lambda t: 0.01 / t),
        "schedule_warm": dict(schedule=adamopt.CosineWarmRestarts(T_0=4, T_mult=2)),
        "schedule_warmup": dict(schedule=adamopt.LinearWarmup(warmup_steps=5)),
        "wd_callable": dict(weight_decay=lambda t: 0.01 * t),
    }[kind]


#: (class, options, schedule kinds) of every case; each runs in float32 and float64.
CASES = [
    ("Adam", {}, ()),
    ("Adam", dict(lr=0.01, amsgrad=True), ()),
    ("Adam", dict(lr=0.01, weight_decay=0.1), ()),
    ("Adam", dict(lr=0.01, weight_decay=0.1, amsgrad=True, maximize=True), ()),
    ("Adam", dict(lr=0.02, beta1=0.3, beta2=0.4, eps=1e-3), ()),
    ("Adam", dict(beta1=0.0, beta2=0.999999), ()),
    ("Adam", {}, ("lr_cosine",)),
    ("Adam", {}, ("schedule_warm", "wd_callable")),
    ("AdamW", {}, ()),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True), ()),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, decay_scaling="schedule"), ("schedule_warm",)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, maximize=True), ("lr_callable",)),
    ("AdamW", dict(weight_decay=0.05, decay_scaling="schedule"), ()),
    ("SGD", dict(lr=0.01), ()),
    ("SGD", dict(lr=0.01, momentum=0.9), ()),
    ("SGD", dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.1), ()),
    ("SGD", dict(lr=0.01, momentum=0.5, dampening=0.3, maximize=True), ()),
    ("SGD", dict(lr=0.01, weight_decay=0.2), ("schedule_warmup",)),
    ("SGD", dict(lr=0.01, momentum=0.9, weight_decay=0.01), ("lr_cosine",)),
    ("AdamW", {}, ("wd_callable", "lr_cosine")),
    ("Adagrad", {}, ()),
    ("Adagrad", dict(lr=0.05, lr_decay=0.01, weight_decay=0.1), ()),
    ("Adagrad", dict(lr=0.05, initial_accumulator_value=0.3, eps=1e-6, maximize=True), ()),
    ("Adagrad", {}, ("schedule_warm",)),
    ("RMSprop", {}, ()),
    ("RMSprop", dict(centered=True), ()),
    ("RMSprop", dict(momentum=0.9), ()),
    ("RMSprop", dict(alpha=0.9, centered=True, momentum=0.5, weight_decay=0.1), ()),
    ("RMSprop", dict(alpha=0.3, eps=1e-4, maximize=True), ("lr_callable",)),
    ("Adamax", {}, ()),
    ("Adamax", dict(lr=0.01, beta1=0.8, beta2=0.99, weight_decay=0.1), ()),
    ("Adamax", dict(lr=0.01, beta1=0.3, beta2=0.4, eps=1e-3, maximize=True), ()),
    ("Adamax", {}, ("schedule_warmup",)),
    ("NAdam", {}, ()),
    ("NAdam", dict(lr=0.01, weight_decay=0.1), ()),
    ("NAdam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True), ()),
    ("NAdam", dict(lr=0.01, beta1=0.3, beta2=0.5, momentum_decay=0.1, maximize=True), ()),
    ("NAdam", {}, ("lr_cosine",)),
    ("SWATS", dict(lr=0.05, switch_tol=10.0), ()),
    ("SWATS", dict(lr=0.05, switch_tol=1e-2, weight_decay=0.01, maximize=True), ()),
    ("SWATS", dict(lr=0.05, switch_tol=10.0), ("schedule_warm",)),
]

#: (method, options) of the SciPy methods' runs (float64, 40 iterations on minibatches).
METHOD_CASES = [
    ("adam", dict(lr=0.05)), ("adamw", dict(lr=0.05, weight_decay=0.1)),
    ("adam", dict(lr=0.05, amsgrad=True)), ("sgd", dict(lr=0.05, momentum=0.9)),
    ("adagrad", dict(lr=0.5)), ("rmsprop", dict(lr=0.01, centered=True)),
    ("adamax", dict(lr=0.05)), ("nadam", dict(lr=0.05)),
    ("swats", dict(lr=0.05, switch_tol=1.0)),
]

DTYPES = {"float32": np.float32, "float64": np.float64}


def _case_ids():
    for index, (cls, _, kinds) in enumerate(CASES):
        for dtype in DTYPES:
            for n in (SMALL, LARGE):
                if n == LARGE and kinds:
                    continue   # schedules do not depend on the size
                yield f"{index:02d}-{cls}-{dtype}-{n}"


def _digest(array):
    a = np.ascontiguousarray(array)
    header = a.dtype.str.encode() + repr(a.shape).encode()
    return hashlib.sha256(header + a.tobytes()).hexdigest()[:24]


def _state_digest(opt):
    out = {}
    for key, value in sorted(opt.state_dict().items()):
        if isinstance(value, np.ndarray):
            out[key] = _digest(value)
        else:
            out[key] = repr(value)
    return out


def run_case(case_id):
    """The trajectory record of a case: digests after steps 1, 2 and STEPS; and x."""
    index, _, dtype, n = case_id.split("-")
    name, options, kinds = CASES[int(index)]
    dtype, n = DTYPES[dtype], int(n)
    options = dict(options)
    for kind in kinds:
        options.update(_schedules(kind))
    rng = np.random.default_rng(int(index) * 7 + n)
    x = rng.standard_normal(n).astype(dtype)
    opt = getattr(adamopt, name)(x, **options)
    record = {}
    for t in range(1, STEPS + 1):
        scale = 10.0 ** rng.integers(-3, 3)
        g = (rng.standard_normal(n) * scale + 0.1 * x).astype(dtype)
        opt.step(g)
        if t in (1, 2, STEPS):
            record[str(t)] = {"x": _digest(x), "state": _state_digest(opt)}
    return record, x


def run_method(index):
    name, options = METHOD_CASES[index]
    from scipy.optimize import minimize
    rng = np.random.default_rng(index)
    X = rng.standard_normal((400, 6))
    # (NumPy's elementwise products and sums, not BLAS's: their order is
    # fixed, where BLAS's depends on the CPU it chose kernels for, so the
    # golden bits hold on every machine)
    y = (X * np.arange(6.0)).sum(axis=1) + 0.1 * rng.standard_normal(400)

    def loss(w, Xb, yb):
        r = (Xb * w).sum(axis=1) - yb
        return (r * r).sum() / len(yb), 2 * (Xb * r[:, None]).sum(axis=0) / len(yb)

    res = minimize(loss, np.zeros(6), jac=True, method=getattr(adamopt, name),
                   options=dict(options, maxiter=40, gtol=0.0,
                                batches=adamopt.minibatches(X, y, batch_size=20, seed=index)))
    return {"x": _digest(res.x), "nit": int(res.nit), "fun": repr(float(res.fun))}


def _record():
    hashes, arrays = {"cases": {}, "methods": {}}, {}
    for case_id in _case_ids():
        record, x = run_case(case_id)
        hashes["cases"][case_id] = record
        if case_id.endswith(f"-{SMALL}"):
            arrays[case_id] = x.copy()
    for index, (name, _) in enumerate(METHOD_CASES):
        hashes["methods"][f"{index}-{name}"] = run_method(index)
    HASHES.write_text(json.dumps(hashes, separators=(",", ":"), sort_keys=True) + "\n")
    np.savez_compressed(ARRAYS, **arrays)


def _golden():
    return json.loads(HASHES.read_text())


@pytest.fixture(params=_kernels.available_kernels())
def kernel(request):
    previous = _kernels._use_kernel(request.param)
    yield request.param
    _kernels._use_kernel(previous)


@pytest.mark.parametrize("case_id", list(_case_ids()))
def test_trajectory_is_bitwise_golden(case_id, kernel):
    record, x = run_case(case_id)
    golden = _golden()["cases"][case_id]
    if case_id.endswith(f"-{SMALL}"):
        with np.load(ARRAYS) as saved:
            np.testing.assert_array_equal(x, saved[case_id])
    assert record == golden


@pytest.mark.parametrize("index", range(len(METHOD_CASES)),
                         ids=[name for name, _ in METHOD_CASES])
def test_method_run_is_bitwise_golden(index):
    assert run_method(index) == _golden()["methods"][f"{index}-{METHOD_CASES[index][0]}"]


def test_every_golden_case_is_replayed():
    assert sorted(_golden()["cases"]) == sorted(_case_ids())


if __name__ == "__main__" and "--record" in sys.argv:
    _record()
