"""Durable checkpoints of the SciPy methods: the options, the file, resuming,
refusing other problems, atomic writes, and a run killed with SIGKILL."""

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from helpers import CHECKPOINT_X, CHECKPOINT_Y, expect, least_squares, name

import adamopt
from adamopt import _checkpoint

X, Y, loss = CHECKPOINT_X, CHECKPOINT_Y, least_squares


def run(path=None, *, method=adamopt.adam, x0=None, maxiter=60, seed=3, batch_size=16,
        dtype=np.float64, **options):
    x0 = np.zeros(6, dtype) if x0 is None else x0
    stream = adamopt.minibatches(X.astype(dtype), Y.astype(dtype), batch_size=batch_size,
                                 seed=seed)
    if path is not None:
        options.setdefault("checkpoint", path)
    return method(loss, x0, jac=True, maxiter=maxiter, batches=stream,
                  **{"lr": 0.05, "patience": 1000, "gtol": 0, **options})


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "run.ckpt")


# -- resuming gives the uninterrupted run -------------------------------------------


@pytest.mark.parametrize("method", [adamopt.adam, adamopt.adamw])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("amsgrad", [False, True])
def test_resumed_run_is_bitwise_the_uninterrupted_one(path, method, dtype, amsgrad):
    whole = run(method=method, dtype=dtype, amsgrad=amsgrad)
    run(path, method=method, dtype=dtype, amsgrad=amsgrad, maxiter=23, checkpoint_every=5)
    resumed = run(path, method=method, dtype=dtype, amsgrad=amsgrad, resume=True,
                  checkpoint_every=5)
    assert resumed.x.dtype == whole.x.dtype
    assert resumed.x.tobytes() == whole.x.tobytes()
    assert resumed.fun == whole.fun
    assert resumed.jac.tobytes() == whole.jac.tobytes()
    assert resumed.state["plateau"] == whole.state["plateau"]


FAMILY_RUNS = {
    "sgd": {"lr": 0.01, "momentum": 0.9, "nesterov": True},
    "adagrad": {"lr": 0.3},
    "rmsprop": {"lr": 0.01, "centered": True, "momentum": 0.5},
    "adamax": {"lr": 0.05},
    "nadam": {"lr": 0.05},
    "swats": {"lr": 0.05, "switch_tol": 1e-3},
}


def resume_without_options(path, method):
    """Resume a 60-iteration ``run`` from ``path`` giving none of its hyperparameters."""
    stream = adamopt.minibatches(X, Y, batch_size=16, seed=3)
    return method(loss, np.zeros(6), jac=True, maxiter=60, batches=stream, patience=1000,
                  gtol=0, checkpoint=path, resume=True)


@pytest.mark.parametrize("method", sorted(FAMILY_RUNS))
def test_every_method_resumes_bitwise_without_its_options_again(path, method):
    options = FAMILY_RUNS[method]
    whole = run(method=getattr(adamopt, method), **options)
    run(path, method=getattr(adamopt, method), maxiter=23, checkpoint_every=5, **options)
    resumed = resume_without_options(path, getattr(adamopt, method))
    assert resumed.x.tobytes() == whole.x.tobytes()
    assert resumed.fun == whole.fun


@pytest.mark.parametrize("options", [
    {"lr": 0.05 * adamopt.CosineWarmRestarts(10, 2)},
    {"lr": 0.05, "weight_decay": adamopt.NormalizedWeightDecay(
        0.05, batch_size=16, n_samples=120, schedule=adamopt.CosineWarmRestarts(16, 2))},
    {"lr": 0.05, "schedule": adamopt.LinearWarmup(10) * adamopt.CosineAnnealing(60)},
], ids=["lr", "weight_decay", "schedule"])
def test_adamopt_schedules_are_stored_in_the_checkpoint(path, options):
    whole = run(method=adamopt.adamw, **options)
    run(path, method=adamopt.adamw, maxiter=23, checkpoint_every=5, **options)
    resumed = resume_without_options(path, adamopt.adamw)
    assert resumed.x.tobytes() == whole.x.tobytes()


def test_counts_are_from_the_fresh_start(path):
    whole = run(maxiter=40)
    run(path, maxiter=17)
    resumed = run(path, maxiter=40, resume=True)
    assert (resumed.nit, resumed.nfev, resumed.njev, resumed.status) == (
        whole.nit, whole.nfev, whole.njev, whole.status) == (40, 41, 41, 1)


def test_resume_from_a_periodic_checkpoint_repeats_the_lost_iterations(path, monkeypatch):
    whole = run(maxiter=30)
    # A run that dies after iteration 13 without its final checkpoint: the last
    # one on disk is from iteration 10.
    monkeypatch.setattr(_checkpoint.Saver, "finish", lambda self, *a: None)
    cut = run(path, maxiter=13, checkpoint_every=5)
    monkeypatch.undo()
    header, _ = _checkpoint.read(path, "test")
    assert cut.nit == 13
    assert header["nit"] == 10
    resumed = run(path, maxiter=30, resume=True)
    assert resumed.x.tobytes() == whole.x.tobytes()


def test_resume_true_without_a_file_starts_afresh_and_writes_one(path):
    first = run(path, resume=True, maxiter=10)
    assert os.path.exists(path)
    assert first.x.tobytes() == run(maxiter=10).x.tobytes()


def test_resume_from_an_explicit_file(path, tmp_path):
    run(path, maxiter=10)
    other = str(tmp_path / "continued.ckpt")
    resumed = run(other, maxiter=20, resume=path)
    assert resumed.x.tobytes() == run(maxiter=20).x.tobytes()
    assert _checkpoint.read(other, "test")[0]["nit"] == 20


def test_resume_takes_hyperparameters_from_the_checkpoint(path):
    whole = run(maxiter=20, lr=0.01, beta2=0.99)
    run(path, maxiter=8, lr=0.01, beta2=0.99)
    stream = adamopt.minibatches(X, Y, batch_size=16, seed=3)
    resumed = adamopt.adam(loss, np.zeros(6), jac=True, maxiter=20, batches=stream,
                           patience=1000, gtol=0, checkpoint=path, resume=True)
    assert resumed.x.tobytes() == whole.x.tobytes()


def test_resume_without_batches(path):
    def quad(w):
        return float(w @ w), 2 * w
    whole = adamopt.adam(quad, np.ones(4), jac=True, maxiter=25, lr=0.1)
    adamopt.adam(quad, np.ones(4), jac=True, maxiter=9, lr=0.1, checkpoint=path)
    resumed = adamopt.adam(quad, np.ones(4), jac=True, maxiter=25, lr=0.1,
                           checkpoint=path, resume=True)
    assert resumed.x.tobytes() == whole.x.tobytes()


def test_a_finished_run_resumes_with_a_larger_maxiter(path):
    run(path, maxiter=12)
    resumed = run(path, maxiter=12, resume=True)
    assert (resumed.nit, resumed.nfev) == (12, 13)
    longer = run(path, maxiter=30, resume=True)
    assert longer.x.tobytes() == run(maxiter=30).x.tobytes()


def test_keyboard_interrupt_writes_a_checkpoint_that_resumes(path):
    whole = run(maxiter=30)
    calls = []

    def callback(xk):
        calls.append(1)
        if len(calls) == 11:
            raise KeyboardInterrupt

    with pytest.warns(adamopt.InterruptedWarning, match="holds iteration 11"):
        cut = run(path, maxiter=30, callback=callback)
    assert cut.status == 6
    resumed = run(path, maxiter=30, resume=True)
    assert resumed.x.tobytes() == whole.x.tobytes()


def test_a_fault_keeps_the_checkpoint_before_it(path):
    def fun(w, Xb, yb):
        f, g = loss(w, Xb, yb)
        fun.calls += 1
        return (np.nan if fun.calls == 14 else f), g
    fun.calls = 0
    stream = adamopt.minibatches(X, Y, batch_size=16, seed=3)
    res = adamopt.adam(fun, np.zeros(6), jac=True, maxiter=30, batches=stream, lr=0.05,
                       checkpoint=path, checkpoint_every=5)
    assert res.status == 4
    assert _checkpoint.read(path, "test")[0]["nit"] == 10


def test_storable_callable_is_rebuilt(path):
    class Halving:
        def __init__(self, every):
            self.every = every

        def __call__(self, t):
            return 0.5 ** (t // self.every)

        def to_config(self):
            return {"every": self.every}

        @classmethod
        def from_config(cls, config):
            return cls(**config)

    _checkpoint.register_storable(Halving)
    try:
        whole = run(maxiter=30, schedule=Halving(7))
        run(path, maxiter=11, schedule=Halving(7))
        assert _checkpoint.read(path, "test")[0]["callables"] == {
            "schedule": {"type": "Halving", "config": {"every": 7}}}
        resumed = run(path, maxiter=30, resume=True)
    finally:
        del _checkpoint.STORABLE_CALLABLES["Halving"]
    assert resumed.x.tobytes() == whole.x.tobytes()


def test_plain_callable_lr_must_be_passed_again(path):
    def lr(t):
        return 0.05 / t ** 0.5
    whole = run(maxiter=20, lr=lr)
    run(path, maxiter=7, lr=lr)
    stream = adamopt.minibatches(X, Y, batch_size=16, seed=3)
    with pytest.raises(ValueError, match=expect("'lr'", "callable", "again")):
        adamopt.adam(loss, np.zeros(6), jac=True, batches=stream, checkpoint=path,
                     patience=1000, gtol=0, maxiter=20, resume=True)
    assert run(path, maxiter=20, lr=lr, resume=True).x.tobytes() == whole.x.tobytes()


# -- the file ---------------------------------------------------------------------


def test_file_is_an_npz_with_a_versioned_json_header_read_without_pickle(path):
    run(path, maxiter=5)
    with np.load(path, allow_pickle=False) as archive:
        assert {"header", "x", "m", "v", "jac", "order"} <= set(archive.files)
        header = json.loads(archive["header"].tobytes())
    assert (header["format"], header["version"]) == ("adamopt-checkpoint", 1)
    assert (header["method"], header["nit"]) == ("adam", 5)
    assert header["optimizer"]["t"] == 5
    assert header["stream"]["signature"]["batch_size"] == 16


def test_generator_with_array_state_survives_the_json_header(path):
    def stream():
        return adamopt.minibatches(X, Y, batch_size=16,
                                   seed=np.random.Generator(np.random.MT19937(5)))
    whole = adamopt.adam(loss, np.zeros(6), jac=True, maxiter=20, batches=stream(), lr=0.05)
    adamopt.adam(loss, np.zeros(6), jac=True, maxiter=8, batches=stream(), lr=0.05,
                 checkpoint=path)
    resumed = adamopt.adam(loss, np.zeros(6), jac=True, maxiter=20, batches=stream(),
                           checkpoint=path, resume=True)
    assert resumed.x.tobytes() == whole.x.tobytes()


def test_failed_write_leaves_the_previous_checkpoint_and_no_temporary(path, monkeypatch):
    run(path, maxiter=5)
    before = Path(path).read_bytes()

    def broken(f, **arrays):
        f.write(b"PK partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        run(path, maxiter=10, resume=True)
    assert Path(path).read_bytes() == before
    assert os.listdir(os.path.dirname(path)) == ["run.ckpt"]


# -- an interrupt while the temporary file is made or written --------------------------


def _interrupted_write(path, monkeypatch, where, how):
    """Write a checkpoint with Ctrl-C (``how``: "signal", a real SIGINT just
    after the call, or "raise", KeyboardInterrupt raised in its place) at
    ``where`` ("mkstemp": once the temporary file exists, "fchmod",
    "fdopen", or "savez": during the write); return the temporary file's
    descriptor."""
    import tempfile

    from adamopt import _checkpoint_file
    created, real_mkstemp = [], tempfile.mkstemp

    def recording(*args, **kwargs):
        made = real_mkstemp(*args, **kwargs)
        created.append(made[0])
        return made

    monkeypatch.setattr(tempfile, "mkstemp", recording)
    owner = {"mkstemp": tempfile, "fchmod": os, "fdopen": os, "savez": np}[where]
    real = getattr(owner, where)

    def interrupted(*args, **kwargs):
        if where == "savez":
            args[0].write(b"PK partial")
        if how == "raise":
            raise KeyboardInterrupt
        result = real(*args, **kwargs)
        signal.raise_signal(signal.SIGINT)
        return result

    monkeypatch.setattr(owner, where, interrupted)
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        _checkpoint_file.write(path, {"format": "adamopt-checkpoint"}, {"x": np.ones(3)})
    assert signal.getsignal(signal.SIGINT) is handler
    return created[0]


@pytest.mark.parametrize(("where", "how"), [
    ("mkstemp", "signal"), ("fchmod", "signal"), ("fchmod", "raise"),
    ("fdopen", "signal"), ("fdopen", "raise"), ("savez", "signal"), ("savez", "raise")])
def test_interrupted_write_leaks_no_descriptor_and_no_temporary_file(path, monkeypatch,
                                                                     where, how):
    """Ctrl-C just after the temporary file is created, before its file object
    owns the descriptor, or during the write: the descriptor is closed, the
    temporary file removed, the previous checkpoint kept and SIGINT's handler
    restored."""
    Path(path).write_bytes(b"previous")
    fd = _interrupted_write(path, monkeypatch, where, how)
    with pytest.raises(OSError):
        os.fstat(fd)
    assert os.listdir(os.path.dirname(path)) == ["run.ckpt"]
    assert Path(path).read_bytes() == b"previous"


def test_write_holds_sigint_only_while_it_makes_the_temporary_file(path, monkeypatch):
    """The handler of a SIGINT during the write is the caller's own, at once
    (the write is not made uninterruptible)."""
    seen = []
    previous = signal.signal(signal.SIGINT, lambda *a: seen.append("caller"))
    try:
        def savez(f, **arrays):
            signal.raise_signal(signal.SIGINT)
            seen.append("write")
            f.write(b"x")
        monkeypatch.setattr(np, "savez", savez)
        from adamopt import _checkpoint_file
        _checkpoint_file.write(path, {"format": "adamopt-checkpoint"}, {})
    finally:
        signal.signal(signal.SIGINT, previous)
    assert seen == ["caller", "write"]


def test_write_renames_a_fsynced_temporary(path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd)))
    monkeypatch.setattr(os, "replace",
                        lambda a, b: (events.append(("replace", os.path.dirname(a) ==
                                                     os.path.dirname(b))),
                                      real_replace(a, b)))
    run(path, maxiter=1)
    # file fsynced, renamed within its directory, directory fsynced
    assert events == ["fsync", ("replace", True), "fsync"]


# -- refusing other problems ------------------------------------------------------------


@pytest.mark.parametrize(("change", "pattern"), [
    ({"x0": np.zeros(5)}, expect("'resume'", "shape \\(6,\\)", "shape \\(5,\\)")),
    ({"x0": np.zeros(6, np.float32)}, expect("'resume'", "float64", "float32")),
    ({"method": adamopt.adamw}, expect("'resume'", "'adam'", "not 'adamw'")),
    ({"amsgrad": True}, expect("amsgrad=False")),
    ({"batch_size": 20}, expect("another stream", "batch_size")),
])
def test_checkpoint_of_another_problem_is_refused(path, change, pattern):
    run(path, maxiter=5)
    before = Path(path).read_bytes()
    with pytest.raises(ValueError, match=pattern):
        run(path, resume=True, **change)
    assert Path(path).read_bytes() == before


def test_checkpoint_of_another_dataset_shape_is_refused(path):
    run(path, maxiter=5)
    stream = adamopt.minibatches(X[:100], Y[:100], batch_size=16, seed=3)
    with pytest.raises(ValueError, match=expect("another stream", "n_samples")):
        adamopt.adam(loss, np.zeros(6), jac=True, batches=stream, checkpoint=path,
                     resume=True)


def test_resume_without_the_batches_it_was_written_with_is_refused(path):
    run(path, maxiter=5)
    with pytest.raises(ValueError, match=expect("'resume'", "with a 'batches'")):
        adamopt.adam(loss, np.zeros(6), jac=True, checkpoint=path, resume=True)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint", b"PK\x03\x04garbage"])
def test_garbage_file_is_refused(path, content):
    Path(path).write_bytes(content)
    with pytest.raises(ValueError, match=expect("'resume'", "not a readable adamopt")):
        run(path, resume=True)


def test_truncated_checkpoint_is_refused(path):
    run(path, maxiter=5)
    data = Path(path).read_bytes()
    Path(path).write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=expect("'resume'", "not a readable")):
        run(path, resume=True)


def test_npy_file_is_refused(path):
    with open(path, "wb") as f:
        np.save(f, np.zeros(6))
    with pytest.raises(ValueError, match=expect("'resume'", "not a readable", ".npy")):
        run(path, resume=True)


def test_npz_of_something_else_is_refused(path):
    with open(path, "wb") as f:
        np.savez(f, x=np.zeros(6))
    with pytest.raises(ValueError, match=expect("'resume'", "not an adamopt checkpoint")):
        run(path, resume=True)


def test_pickled_member_is_refused_not_loaded(path):
    run(path, maxiter=5)
    with zipfile.ZipFile(path, "a") as archive, archive.open("evil.npy", "w") as f:
        np.lib.format.write_array(f, np.array([object()], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match=expect("not a readable", "pickle")):
        run(path, resume=True)


def test_future_version_is_refused(path):
    run(path, maxiter=5)
    header, arrays = _checkpoint.read(path, "test")
    _checkpoint.write(path, {**header, "version": 2}, arrays)
    with pytest.raises(ValueError, match=expect("version 2", "reads version 1")):
        run(path, resume=True)


def test_corrupted_moments_are_refused(path):
    run(path, maxiter=5)
    header, arrays = _checkpoint.read(path, "test")
    arrays["v"][2] = -1.0
    _checkpoint.write(path, header, arrays)
    with pytest.raises(ValueError, match=expect("'v'", "finite and >= 0")):
        run(path, resume=True)


# -- the options ------------------------------------------------------------------------


@pytest.mark.parametrize(("option", "value", "exc"), [
    ("checkpoint", 3, TypeError),
    ("checkpoint", b"run.ckpt", TypeError),
    ("checkpoint", "", ValueError),
    ("checkpoint_every", 0, ValueError),
    ("checkpoint_every", 2.5, TypeError),
    ("checkpoint_every", True, TypeError),
    ("resume", 1.5, TypeError),
])
def test_bad_option_is_refused(option, value, exc):
    with pytest.raises(exc, match=expect(name(option), "Got")):
        run(**{option: value})


def test_batches_that_cannot_save_their_position_are_refused(path):
    batches = iter([(X[:10], Y[:10])] * 5)
    with pytest.raises(ValueError, match=expect("'batches'", "'checkpoint'", "state_dict")):
        adamopt.adam(loss, np.zeros(6), jac=True, batches=batches, checkpoint=path)


def test_resume_true_needs_a_checkpoint_path():
    with pytest.raises(ValueError, match=expect("'resume'", "no 'checkpoint'")):
        run(resume=True)


def test_state_and_resume_are_exclusive(path):
    first = run(path, maxiter=3)
    with pytest.raises(ValueError, match=expect("'state'", "'resume'", "together")):
        run(path, x0=first.x, state=first.state, resume=True)


def test_missing_explicit_file_raises_file_not_found(path):
    with pytest.raises(FileNotFoundError, match="no checkpoint file"):
        run(resume=path)


# -- killed with SIGKILL ----------------------------------------------------------------


CHILD = textwrap.dedent("""
    import sys, time
    import numpy as np
    import adamopt

    path, out = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(11)
    X = rng.standard_normal((256, 40)); y = X @ rng.standard_normal(40)

    def loss(w, Xb, yb):
        time.sleep(0.0004)       # an objective that takes a moment
        r = Xb @ w - yb
        return r @ r / len(yb), 2 * Xb.T @ r / len(yb)

    def progress(xk):
        print("it", flush=True)

    res = adamopt.adamw(loss, np.zeros(40), jac=True, callback=progress,
                        **dict(lr=0.02, maxiter=600, gtol=0, patience=50,
                                     batches=adamopt.minibatches(X, y, batch_size=32, seed=4),
                                     checkpoint=path, checkpoint_every=3, resume=True))
    np.save(out, res.x)
    print("done", res.nit, res.nfev, res.status, flush=True)
""")


def _child_env():
    env = dict(os.environ)
    root = str(Path(adamopt.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
    return env


def test_run_killed_with_sigkill_at_random_points_resumes_bitwise(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    path, out = str(tmp_path / "fit.ckpt"), str(tmp_path / "x.npy")
    rng = random.Random(2026)
    kills = 0
    for _ in range(4):
        child = subprocess.Popen([sys.executable, str(script), path, out],
                                 stdout=subprocess.PIPE, text=True, env=_child_env())
        target = rng.randrange(5, 120)
        for _ in range(target):
            if not child.stdout.readline().startswith("it"):
                break
        time.sleep(rng.uniform(0.0, 0.004))     # anywhere in an iteration or a write
        child.send_signal(signal.SIGKILL)
        child.communicate()
        kills += child.returncode == -signal.SIGKILL
    assert kills >= 3           # the runs were really killed, not finished
    assert os.path.exists(path)
    assert not os.path.exists(out)
    final = subprocess.run([sys.executable, str(script), path, out], capture_output=True,
                           text=True, env=_child_env(), timeout=120)
    assert final.returncode == 0, final.stderr
    assert final.stdout.splitlines()[-1] == "done 600 601 1"
    # The uninterrupted run, in this process.
    namespace = {}
    uninterrupted = str(tmp_path / "whole.ckpt")
    code = CHILD.replace("print(\"it\", flush=True)", "pass")
    sys_argv = sys.argv
    try:
        sys.argv = ["child", uninterrupted, str(tmp_path / "whole.npy")]
        exec(compile(code.replace("time.sleep(0.0004)", "pass"), "child", "exec"), namespace)
    finally:
        sys.argv = sys_argv
    assert np.load(out).tobytes() == np.load(str(tmp_path / "whole.npy")).tobytes()
    leftovers = [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    assert len(leftovers) <= kills     # at most one stray temporary per kill mid-write


# -- stream positions ---------------------------------------------------------------


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("drawn", [0, 3, 7, 8, 19])
def test_stream_restored_to_a_position_continues_identically(shuffle, drawn):
    def stream():
        return adamopt.minibatches(X, Y, batch_size=16, shuffle=shuffle, seed=9)
    a = stream()
    for _ in range(drawn):
        next(a)
    b = stream()
    b.load_state_dict(a.state_dict())
    assert b.epoch == a.epoch
    for _ in range(20):
        (xa, ya), (xb, yb) = next(a), next(b)
        assert xa.tobytes() == xb.tobytes()
        assert ya.tobytes() == yb.tobytes()


def test_stream_state_dict_is_a_copy():
    a = adamopt.minibatches(X, Y, batch_size=16, seed=9)
    next(a)
    state = a.state_dict()
    saved = state["order"].copy()
    next(a)
    assert state["order"].tobytes() == saved.tobytes()


@pytest.mark.parametrize(("change", "field"), [
    ({"batch_size": 15}, "batch_size"),
    ({"shuffle": False}, "shuffle"),
    ({"drop_last": True}, "drop_last"),
    ({"arrays": (X[:, :5], Y)}, "arrays"),
    ({"arrays": (X.astype(np.float32), Y)}, "arrays"),
    ({"arrays": (X,)}, "arrays"),
])
def test_stream_state_of_another_stream_is_refused(change, field):
    settings = {"batch_size": 16, "shuffle": True, "drop_last": False, "seed": 9}
    a = adamopt.minibatches(X, Y, **settings)
    next(a)
    arrays = change.pop("arrays", (X, Y))
    b = adamopt.minibatches(*arrays, **{**settings, **change})
    before = b.state_dict()
    with pytest.raises(ValueError, match=expect("another stream", field)):
        b.load_state_dict(a.state_dict())
    after = b.state_dict()
    assert after["epoch"] == before["epoch"]
    assert after["rng"] == before["rng"]


@pytest.mark.parametrize(("key", "value", "exc", "pattern"), [
    ("epoch", -1, ValueError, "'epoch'"),
    ("epoch", 1.5, TypeError, "'epoch'"),
    ("next", 8, ValueError, "'next'"),
    ("order", np.zeros(120, np.int64), ValueError, "permutation"),
    ("order", np.arange(120.0), ValueError, "permutation"),
    ("rng", {"bit_generator": "MT19937"}, ValueError, "PCG64"),
    ("rng", {"bit_generator": "PCG64", "state": "x"}, ValueError, "not a valid PCG64"),
])
def test_bad_stream_state_is_refused(key, value, exc, pattern):
    a = adamopt.minibatches(X, Y, batch_size=16, seed=9)
    next(a)
    state = {**a.state_dict(), key: value}
    with pytest.raises(exc, match=pattern):
        adamopt.minibatches(X, Y, batch_size=16, seed=9).load_state_dict(state)


def test_stream_state_with_missing_keys_is_refused():
    a = adamopt.minibatches(X, Y, batch_size=16, seed=9)
    state = a.state_dict()
    del state["rng"]
    with pytest.raises(ValueError, match=expect("'state'", "keys")):
        a.load_state_dict(state)
    with pytest.raises(TypeError, match=expect("'state'", "state_dict")):
        a.load_state_dict([1, 2])


class CountingStream:
    """A user's stream with the state protocol and no permutation."""

    def __init__(self):
        self.i = 0

    def __iter__(self):
        return self

    def __next__(self):
        self.i += 1
        return (X[self.i % 100: self.i % 100 + 8], Y[self.i % 100: self.i % 100 + 8])

    def state_dict(self):
        return {"i": self.i}

    def load_state_dict(self, state):
        assert set(state) == {"i"}
        self.i = state["i"]


def test_any_stream_with_the_state_protocol_resumes(path):
    whole = adamopt.adam(loss, np.zeros(6), jac=True, maxiter=30, batches=CountingStream())
    adamopt.adam(loss, np.zeros(6), jac=True, maxiter=12, batches=CountingStream(),
                 checkpoint=path)
    resumed = adamopt.adam(loss, np.zeros(6), jac=True, maxiter=30, batches=CountingStream(),
                           checkpoint=path, resume=True)
    assert resumed.x.tobytes() == whole.x.tobytes()


def test_stream_position_that_json_cannot_hold_is_refused_before_the_run(path):
    stream = CountingStream()
    stream.state_dict = lambda: {"i": object()}
    with pytest.raises(ValueError, match=expect("'batches'", "cannot store")):
        adamopt.adam(loss, np.zeros(6), jac=True, batches=stream, checkpoint=path)
    assert stream.i == 0


def test_checkpoint_path_that_cannot_be_written_is_refused_before_the_run(tmp_path):
    calls = []

    def fun(w):
        calls.append(1)
        return float(w @ w), 2 * w

    for bad, pattern in [(tmp_path, "is a directory"),
                         (tmp_path / "missing" / "run.ckpt", "not a directory")]:
        with pytest.raises(ValueError, match=expect("'checkpoint'", pattern)):
            adamopt.adam(fun, np.ones(2), jac=True, checkpoint=str(bad))
    assert calls == []
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("stop", [{"patience": 5, "ftol": 0.5}, {"gtol": 0.5}])
def test_a_converged_run_resumes_as_converged(path, stop):
    whole = run(path, maxiter=500, **{"patience": None, "gtol": 0, **stop})
    assert whole.status in (0, 2)
    again = run(path, maxiter=500, resume=True, **{"patience": None, "gtol": 0, **stop})
    assert (again.status, again.nit, again.nfev) == (whole.status, whole.nit, whole.nfev)
    assert again.x.tobytes() == whole.x.tobytes()
