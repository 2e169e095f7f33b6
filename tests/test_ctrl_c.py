"""Ctrl-C is never silent: a real SIGINT sent to a child process in the middle
of a run (the ``interrupt`` option, `adamopt._interrupt`).

Each child runs a long `minimize` whose callback prints ``iterating`` once the
run is under way; the test then sends it SIGINT, as a terminal's Ctrl-C does,
and reads what the child printed and how it exited.  (tests/test_interrupts.py
raises the interrupt before every line of the loop, in process; here it is the
operating system's signal, at whatever point the child has reached.)
"""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from scipy.optimize import minimize

import adamopt

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

#: The problem of every child: a least-squares fit on minibatches, cheap per
#: iteration, that no stopping rule ends before maxiter.
PROBLEM = """
import json, sys, warnings
import numpy as np
from scipy.optimize import minimize
import adamopt

rng = np.random.default_rng(0)
X = rng.standard_normal((200, 4))
y = X @ np.array([1.0, -2.0, 0.5, 3.0]) + rng.standard_normal(200)

def loss(w, Xb, yb):
    r = Xb @ w - yb
    return float(r @ r) / len(yb), 2.0 * Xb.T @ r / len(yb)

def stream():
    return adamopt.minibatches(X, y, batch_size=8, seed=0)

def announce(xk):
    announce.calls += 1
    if announce.calls == 20:
        print("iterating", flush=True)
announce.calls = 0

OPTIONS = {"lr": 1e-3, "maxiter": 10**8, "gtol": 0, "stationarity": False}
"""


def interrupted_child(script, tmp_path):
    """Run ``script`` (after `PROBLEM`) in a child, send it SIGINT once it
    prints ``iterating``; return ``(returncode, stdout lines after it, stderr)``."""
    path = tmp_path / "child.py"
    path.write_text(PROBLEM + textwrap.dedent(script))
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("PYTHONWARNINGS", None)
    child = subprocess.Popen([sys.executable, str(path)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        for line in child.stdout:
            if line.strip() == "iterating":
                break
        else:
            raise AssertionError(f"the child never iterated: {child.stderr.read()}")
        os.kill(child.pid, signal.SIGINT)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    return child.returncode, out.splitlines(), err


# -- interrupt="return" (the default) ------------------------------------------------------

RETURNING = """
cut_stream = stream()
res = minimize(loss, np.zeros(4), jac=True, method=adamopt.adam, callback=announce,
               options={**OPTIONS, "batches": cut_stream})
# continue from the state for 30 more steps; compare with one run never stopped
total = res.nit + 30
rest = minimize(loss, res.x, jac=True, method=adamopt.adam,
                options={**OPTIONS, "maxiter": 30, "batches": cut_stream,
                         "state": res.state})
whole = minimize(loss, np.zeros(4), jac=True, method=adamopt.adam,
                 options={**OPTIONS, "maxiter": total, "batches": stream()})
print(json.dumps({"status": res.status, "nit": res.nit, "success": res.success,
                  "bitwise": rest.x.tobytes() == whole.x.tobytes()}))
"""


@pytest.fixture(scope="module")
def returned(tmp_path_factory):
    code, out, err = interrupted_child(RETURNING, tmp_path_factory.mktemp("returning"))
    return code, json.loads(out[-1]), err


def test_ctrl_c_returns_the_result_so_far(returned):
    code, result, _ = returned
    assert code == 0
    assert (result["status"], result["success"]) == (6, False)


def test_ctrl_c_warns_on_stderr_naming_the_iteration_and_how_to_resume(returned):
    _, result, err = returned
    assert f"InterruptedWarning: adam was interrupted by KeyboardInterrupt (Ctrl-C) at " \
           f"iteration {result['nit']};" in err
    assert "'state': res.state" in err


def test_the_result_of_a_ctrl_c_resumes_bitwise_from_its_state(returned):
    _, result, _ = returned
    assert result["bitwise"]


THREE_FITS = """
for fit in range(3):
    options = {**OPTIONS, "batches": stream(), "interrupt": INTERRUPT}
    if fit:
        options["maxiter"] = 50
    res = minimize(loss, np.zeros(4), jac=True, method=adamopt.adam,
                   callback=announce if fit == 0 else None, options=options)
    print(f"fit {fit} ended with status {res.status}", flush=True)
"""


def three_fits(interrupt, tmp_path):
    return interrupted_child(THREE_FITS.replace("INTERRUPT", repr(interrupt)), tmp_path)


def test_ctrl_c_in_the_first_of_three_fits_is_visible_and_the_script_goes_on(tmp_path):
    code, out, err = three_fits("return", tmp_path)
    assert code == 0
    assert out == ["fit 0 ended with status 6", "fit 1 ended with status 1",
                   "fit 2 ended with status 1"]
    assert err.count("InterruptedWarning") == 1


@pytest.fixture(scope="module")
def raised(tmp_path_factory):
    return three_fits("raise", tmp_path_factory.mktemp("raising"))


def test_ctrl_c_with_interrupt_raise_stops_the_script_with_a_nonzero_exit(raised):
    code, out, _ = raised
    assert code == -signal.SIGINT      # as an uncaught Ctrl-C: the shell's 130
    assert out == []      # the first fit never returned, the others never started


def test_ctrl_c_with_interrupt_raise_propagates_keyboard_interrupt_with_a_note(raised):
    _, _, err = raised
    assert "\nKeyboardInterrupt\n" in err
    assert re.search(r"adam was interrupted by KeyboardInterrupt \(Ctrl-C\) at iteration "
                     r"\d+; it is raised again, with the result so far as exc.result", err)
    assert "InterruptedWarning" not in err


CAUGHT = """
try:
    minimize(loss, np.zeros(4), jac=True, method=adamopt.adam, callback=announce,
             options={**OPTIONS, "batches": stream(), "interrupt": "raise"})
except KeyboardInterrupt as stop:
    res = stop.result
    print(json.dumps({"status": res.status, "nit": res.nit,
                      "t": res.state["optimizer"]["t"]}))
"""


def test_ctrl_c_with_interrupt_raise_attaches_the_result_to_the_exception(tmp_path):
    code, out, err = interrupted_child(CAUGHT, tmp_path)
    assert code == 0, err
    result = json.loads(out[-1])
    assert result["status"] == 6
    assert result["nit"] == result["t"] > 0


# A checkpoint every iteration: the final one is written only at the end of an
# iteration, and a SIGINT that catches the child in its objective (most of the
# time) leaves the one before it.
CHECKPOINTED = """
minimize(loss, np.zeros(4), jac=True, method=adamopt.adam, callback=announce,
         options={**OPTIONS, "batches": stream(), "interrupt": "raise",
                  "checkpoint": "run.npz", "checkpoint_every": 1})
"""


def test_ctrl_c_with_interrupt_raise_names_the_checkpoint_that_resumes_bitwise(tmp_path):
    code, _, err = interrupted_child(CHECKPOINTED, tmp_path)
    assert code != 0
    saved = int(re.search(r"from the checkpoint, which holds iteration (\d+)", err).group(1))
    assert saved > 0
    namespace = {}
    exec(PROBLEM, namespace)
    loss, stream, options = namespace["loss"], namespace["stream"], namespace["OPTIONS"]
    resumed = minimize(loss, np.zeros(4), jac=True, method=adamopt.adam,
                       options={**options, "maxiter": saved + 5, "batches": stream(),
                                "checkpoint": str(tmp_path / "run.npz"), "resume": True})
    whole = minimize(loss, np.zeros(4), jac=True, method=adamopt.adam,
                     options={**options, "maxiter": saved + 5, "batches": stream()})
    assert resumed.nit == saved + 5
    assert resumed.x.tobytes() == whole.x.tobytes()


# -- in process: the option and the warning ------------------------------------------------


def quadratic(x):
    return float(x @ x), 2.0 * x


def interrupting_at(k):
    """A callback that raises KeyboardInterrupt at its ``k``-th call (iteration k)."""
    count = [0]

    def callback(xk):
        count[0] += 1
        if count[0] == k:
            raise KeyboardInterrupt

    return callback


def interrupted(**options):
    return minimize(quadratic, np.ones(3), jac=True, method=adamopt.adam,
                    callback=interrupting_at(3), options=options)


@pytest.mark.parametrize(("value", "error"), [("ignore", ValueError), (1, TypeError),
                                              (None, TypeError)])
def test_a_bad_interrupt_option_is_refused_naming_it(value, error):
    with pytest.raises(error, match="'interrupt' parameter of adam must be \"return\" or "
                                    "\"raise\""):
        minimize(quadratic, np.ones(3), jac=True, method=adamopt.adam,
                 options={"interrupt": value})


def test_the_warning_turned_into_an_error_still_carries_the_result():
    # (pytest's filterwarnings = error turns it into one here)
    with pytest.raises(adamopt.InterruptedWarning) as caught:
        interrupted()
    assert caught.value.result.status == 6
    assert caught.value.result.nit == 3


def test_the_warning_names_x_last_when_the_result_is_an_average():
    with pytest.warns(adamopt.InterruptedWarning, match=r"x0=res\.x_last"):
        interrupted(average="ema")


def test_the_warning_names_the_checkpoint_that_resumes_the_run(tmp_path):
    path = str(tmp_path / "run.npz")
    with pytest.warns(adamopt.InterruptedWarning, match=re.escape(
            f"'checkpoint': {path!r}, 'resume': True}}, from the checkpoint, which holds "
            f"iteration 3")):
        interrupted(checkpoint=path)


def test_interrupt_raise_writes_the_final_checkpoint_before_it_raises(tmp_path):
    path = str(tmp_path / "run.npz")
    with pytest.raises(KeyboardInterrupt) as caught:
        interrupted(checkpoint=path, interrupt="raise")
    assert caught.value.result.nit == 3
    resumed = minimize(quadratic, np.ones(3), jac=True, method=adamopt.adam,
                       options={"checkpoint": path, "resume": True, "maxiter": 3})
    assert resumed.nit == 3
    assert resumed.x.tobytes() == caught.value.result.x.tobytes()


def test_a_run_that_no_interrupt_ends_does_not_warn():
    res = minimize(quadratic, np.ones(3), jac=True, method=adamopt.adam,
                   options={"maxiter": 5})    # (a warning would be an error here)
    assert res.status == 1
