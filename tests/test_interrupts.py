"""Ctrl-C at every statement of the run loop: the resumed run is bitwise the uninterrupted one.

A systematic sweep, with no hook in the package: `Interrupter` traces the
package's own Python code (`sys.settrace`) while the run loop of the driver is
active (`adamopt._minimize._loop`, from its ``try:`` to its ``except
KeyboardInterrupt:``, with every function of the package the loop calls: the
minibatch stream, the evaluator, the stopping tests, the monitor, the
checkpoint writer, the schedules) and
raises `KeyboardInterrupt` before the ``k``-th line it executes.  Each test
counts the lines of an uninterrupted run, then interrupts a run at each of
them in turn, resumes it (from its ``state``, or from its checkpoint) and
compares the end of the two runs bit for bit.
"""

import inspect
import linecache
import os
import sys

import numpy as np
import pytest
from scipy.optimize import minimize

import adamopt
from adamopt import _fused, _minimize

# Every interrupted run warns (adamopt.InterruptedWarning, tests/test_ctrl_c.py):
# here only the result and its resume are checked.
pytestmark = pytest.mark.filterwarnings("ignore::adamopt.InterruptedWarning")

PACKAGE = os.path.dirname(os.path.abspath(adamopt.__file__))
DRIVER = _minimize._loop.__code__


def _loop_lines():
    """The run loop's lines from its ``try:`` to its ``except KeyboardInterrupt:``."""
    lines, first = inspect.getsourcelines(_minimize._loop)
    start = next(i for i, line in enumerate(lines) if line.strip() == "try:")
    stop = next(i for i, line in enumerate(lines) if line.strip() == "except KeyboardInterrupt:")
    return first + start + 1, first + stop    # inside the try block


LOOP = _loop_lines()


def _is_try(frame):
    """Whether the line is a ``try:``: CPython 3.11 raises an exception from a
    trace function there outside the block (the line is a NOP, where a real
    signal is never handled), so it is skipped."""
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno)
    return line.split("#")[0].strip() == "try:"


class Interrupter:
    """Raise KeyboardInterrupt before the ``at``-th line the run loop executes
    (``at=None``: count them only)."""

    def __init__(self, at=None, files=None):
        self.files = files      # the file names whose lines count (None: all)
        # fired: where the interrupt was raised (file name, line number)
        self.at, self.count, self.active, self.fired = at, 0, False, None

    def __enter__(self):
        sys.settrace(self._call)
        return self

    def __exit__(self, *exc):
        sys.settrace(None)

    def _call(self, frame, event, arg):
        if os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == PACKAGE:
            return self._line
        return None

    def _line(self, frame, event, arg):
        if event != "line":
            return self._line
        if frame.f_code is DRIVER:
            self.active = LOOP[0] <= frame.f_lineno < LOOP[1]
        if self.active and not _is_try(frame) and (
                self.files is None
                or os.path.basename(frame.f_code.co_filename) in self.files):
            if self.count == self.at:
                self.fired = (os.path.basename(frame.f_code.co_filename), frame.f_lineno)
                sys.settrace(None)
                raise KeyboardInterrupt
            self.count += 1
        return self._line


rng = np.random.default_rng(0)
X = rng.standard_normal((10, 3))
Y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(10)


def loss(w, Xb, yb):
    r = Xb @ w - yb
    return float(r @ r) / len(yb), 2.0 * Xb.T @ r / len(yb)


def stream():
    # 10 rows in batches of 4: three batches an epoch, the last one smaller
    return adamopt.minibatches(X, Y, batch_size=4, seed=0)


MAXITER = 7
METHODS = {
    "adam": (adamopt.adam, {"lr": 0.05 * adamopt.CosineAnnealing(T_max=20)}),
    "sgd": (adamopt.sgd, {"lr": 0.05, "momentum": 0.9}),
    # parameter groups over parts of x, with clipping (adamopt._run_groups)
    "adamw-groups": (adamopt.adamw, {"lr": 0.05, "max_grad_norm": 1.0,
                                     "groups": [{"params": [0, 2], "weight_decay": 0.0,
                                                 "lr": 0.02}]}),
}


def options(method, **extra):
    return {**METHODS[method][1], "maxiter": MAXITER, "gtol": 1e-12, "patience": 50,
            "history": True, **extra}


def run(method, at=None, files=None, **extra):
    with Interrupter(at, files) as interrupter:
        res = minimize(loss, np.zeros(3), jac=True, method=METHODS[method][0],
                       callback=lambda xk: None, options=options(method, **extra))
    return res, interrupter


def count_lines(method, **extra):
    _, counted = run(method, batches=stream(), **extra)
    assert counted.count > 10 * MAXITER      # the loop and what it calls are traced
    return counted.count


@pytest.mark.parametrize("method", METHODS)
def test_a_run_resumed_from_its_state_after_ctrl_c_at_any_line_ends_as_one_never_stopped(
        method):
    _resumed_from_its_state_after_ctrl_c_at_every_line(method)


def test_with_the_buffers_swapping_a_run_resumed_after_ctrl_c_at_any_line_ends_alike(
        monkeypatch):
    # From _fused.SWAP_MIN elements the loop swaps its two buffers after each
    # evaluation (the objective's copy becomes the next fallback): here at n = 3.
    monkeypatch.setattr(_fused, "SWAP_MIN", 1)
    _resumed_from_its_state_after_ctrl_c_at_every_line("adam")


def _resumed_from_its_state_after_ctrl_c_at_every_line(method):
    reference, _ = run(method, batches=stream())
    lines = count_lines(method)
    for k in range(lines):
        batches = stream()
        first, interrupter = run(method, at=k, batches=batches)
        assert interrupter.fired, k
        assert first.status == 6, (k, interrupter.fired)
        second = minimize(loss, first.x, jac=True, method=METHODS[method][0],
                          options=options(method, maxiter=MAXITER - first.nit,
                                          state=first.state, batches=batches))
        assert first.nit + second.nit == reference.nit, k
        assert second.status == reference.status, (k, interrupter.fired)
        np.testing.assert_array_equal(second.x, reference.x, err_msg=f"{interrupter.fired}")
        assert second.fun == reference.fun, k


# An interrupt inside the checkpoint writer between its open() and its `with`
# leaves the temporary file's handle to the garbage collector (a ResourceWarning;
# the previous checkpoint stays, which is what this test checks).
#
# One method here: the checkpoint's writer, reader and resume path are the same
# for every method, and each method's state is swept at every line above (the
# round trip through a file of every method's state is in tests/test_checkpoint.py, of a
# groups run in tests/test_run_groups.py).
# The sweep of a method costs a run per line, with a file written and read back
# each time: the groups method alone took ten minutes on a loaded machine.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("method", ["adam"])
def test_a_run_resumed_from_its_checkpoint_after_ctrl_c_at_any_line_ends_as_one_never_stopped(
        method, tmp_path, monkeypatch):
    # Durability against a power cut is not what is tested here: skip the fsyncs.
    monkeypatch.setattr(os, "fsync", lambda fd: None)
    reference, _ = run(method, batches=stream())
    lines = count_lines(method, checkpoint=str(tmp_path / "counted.npz"),
                        checkpoint_every=2)
    for k in range(lines):
        path = str(tmp_path / f"run{k}.npz")
        first, interrupter = run(method, at=k, batches=stream(), checkpoint=path,
                                 checkpoint_every=2)
        assert interrupter.fired, k
        assert first.status == 6, (k, interrupter.fired)
        second = minimize(loss, np.zeros(3), jac=True, method=METHODS[method][0],
                          options=options(method, batches=stream(), checkpoint=path,
                                          checkpoint_every=2, resume=True))
        assert second.status == reference.status, (k, interrupter.fired)
        np.testing.assert_array_equal(second.x, reference.x, err_msg=f"{interrupter.fired}")
        assert second.fun == reference.fun, k


def test_the_interrupted_result_counts_the_steps_taken():
    # Interrupted right after a step, before the loop counted it (issue 13):
    # nit is the optimizer's step count, so maxiter - nit more steps finish the run.
    lines = count_lines("adam")
    for k in range(lines):
        first, _ = run("adam", at=k, batches=stream())
        assert first.nit == first.state["optimizer"]["t"], k


@pytest.fixture(scope="module")
def dask_arrays():
    da = pytest.importorskip("dask.array")
    distributed = pytest.importorskip("distributed")
    # (dashboard on a free port: another process may hold the default one)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as cluster, \
            distributed.Client(cluster):
        rows = np.random.default_rng(1).standard_normal((40, 4))
        Xd = da.from_array(rows[:, :3], chunks=((10, 10, 20), 3)).persist()
        yd = da.from_array(rows[:, 3], chunks=((10, 10, 20),)).persist()
        yield Xd, yd


def test_a_run_on_a_dask_stream_resumed_after_ctrl_c_at_any_line_of_the_stream_and_the_loop(
        dask_arrays):
    # Two batches per transfer and one transfer ahead: a refill every other draw.
    from adamopt._dask_batches import DaskMinibatchStream

    def dask_stream():
        return DaskMinibatchStream(*dask_arrays, batch_size=4, seed=0, prefetch=1,
                                   batches_per_transfer=2)

    files = {"_dask_batches.py", "_minimize.py"}
    reference, counted = run("adam", files=files, batches=dask_stream())
    assert counted.count > 10 * MAXITER
    for k in range(counted.count):
        batches = dask_stream()
        first, interrupter = run("adam", at=k, files=files, batches=batches)
        assert interrupter.fired, k
        assert first.status == 6, (k, interrupter.fired)
        second = minimize(loss, first.x, jac=True, method=adamopt.adam,
                          options=options("adam", maxiter=MAXITER - first.nit,
                                          state=first.state, batches=batches))
        assert first.nit + second.nit == reference.nit, (k, interrupter.fired)
        np.testing.assert_array_equal(second.x, reference.x, err_msg=f"{interrupter.fired}")
        batches.close()
