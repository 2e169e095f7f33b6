"""Short-lived threads posting jobs to the shared pool of `_pool.h` (issue 13).

Each round starts `threads` Python threads; each steps its own optimizer of
20,000 float64 elements (over the pool's threshold) three times and exits.  A
worker of the pool that is late for a job must not read the posting thread's
memory once the job is over: that thread has returned, exited, and its stack
is unmapped.  The child gives its threads 64 MiB stacks, more than glibc's
40 MiB cache of thread stacks, so that the stack of every exited thread is
unmapped at once and a stale read faults; under AddressSanitizer (the CI
step) it also turns on stack-use-after-return detection, which reports a read
of a returned frame even while the thread lives.  Before the fix, under
AddressSanitizer every run was reported in its first or second round (8, 4
and 2 threads); in a plain build 3 of 5 runs of the default length crashed
with 8 threads, and none of 5 with 2: the sanitizer makes the test reliable.

The child runs in a subprocess, so that a crash is a failed test.  Length:
ADAMOPT_STRESS_ROUNDS rounds of 8 threads (default 150, about two seconds;
CI's ASan step runs 1000), and as many threads in all for other counts.
"""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import adamopt

ROUNDS = int(os.environ.get("ADAMOPT_STRESS_ROUNDS", "150"))

CHILD = textwrap.dedent("""
    import sys
    import threading

    import numpy as np

    import adamopt

    rounds, nthreads = int(sys.argv[1]), int(sys.argv[2])
    N, STEPS = 20_000, 3
    threading.stack_size(64 << 20)
    adamopt.set_num_threads(nthreads)


    def run(kind, index):
        # kind 0: check then update (two phases); 1: the last gradient has a
        # NaN, so the job stops after the check and the step is refused;
        # 2: no check (one phase).
        x = np.linspace(-1.0, 1.0, N) * (kind + 1)
        if kind == 2:
            opt = adamopt.AdamW(x, lr=0.01, check_finite=False)
        else:
            opt = adamopt.Adam(x, lr=0.01)
        g = np.empty_like(x)
        for step in range(STEPS):
            np.sin(3.0 * x, out=g)
            if kind == 1 and step == STEPS - 1:
                g[(index * 7919 + 13) % N] = np.nan
                try:
                    opt.step(g)
                except ValueError:
                    continue
                raise AssertionError("a NaN gradient was accepted")
            opt.step(g)
        return x.tobytes()


    expected = {kind: run(kind, 0) for kind in range(3)}
    errors = []


    def thread(kind, index):
        try:
            if run(kind, index) != expected[kind]:
                errors.append(f"thread {index} (kind {kind}): x differs from a serial run")
        except BaseException as exc:
            errors.append(f"thread {index} (kind {kind}): {exc!r}")


    for r in range(rounds):
        threads = [threading.Thread(target=thread, args=((r + i) % 3, r * nthreads + i))
                   for i in range(nthreads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            sys.exit(f"round {r}: " + "; ".join(errors[:5]))
    print("ok", rounds)
""")


def _child_env():
    env = dict(os.environ)
    root = str(Path(adamopt.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
    if "asan" in env.get("LD_PRELOAD", "") or "ASAN_OPTIONS" in env:
        # a read of a frame that has returned is reported, not only one that faults
        options = env.get("ASAN_OPTIONS", "")
        env["ASAN_OPTIONS"] = ":".join(filter(None, [options,
                                                     "detect_stack_use_after_return=1"]))
    return env


def _describe(returncode):
    if returncode < 0:
        try:
            return f"killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"killed by signal {-returncode}"
    return f"exit code {returncode}"


@pytest.mark.parametrize("threads", [2, 8])
def test_short_lived_posting_threads_do_not_crash_the_pool(tmp_path, threads):
    rounds = ROUNDS * 8 // threads
    script = tmp_path / "stress.py"
    script.write_text(CHILD)
    try:
        child = subprocess.run([sys.executable, str(script), str(rounds), str(threads)],
                               capture_output=True, text=True, env=_child_env(),
                               timeout=120 + 0.2 * ROUNDS)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{rounds} rounds of {threads} threads hung (no end after "
                    f"{exc.timeout:.0f} s); stderr: {exc.stderr!r}")
    report = (f"{rounds} rounds of {threads} short-lived threads: "
              f"{_describe(child.returncode)}; stdout: {child.stdout[-2000:]!r}; "
              f"stderr: {child.stderr[-6000:]}")
    assert child.returncode == 0, report
    assert child.stdout.split() == ["ok", str(rounds)], report
