"""Every script in ``examples/`` runs (a smoke test, in its quick mode when it
has one).  New scripts are picked up by the glob; one that needs an optional
package that is not installed is skipped."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.py"))
#: Packages every example may use: a script failing to import one of them fails.
REQUIRED = {"adamopt", "numpy", "scipy"}


def test_there_are_examples():
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("script", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_runs(script, tmp_path):
    argv = [sys.executable, str(script)]
    if "--quick" in script.read_text():
        argv.append("--quick")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env=env)
    if proc.returncode != 0:
        missing = (re.search(r"ModuleNotFoundError: No module named '([\w.]+)'", proc.stderr)
                   or re.search(r"This example needs ([\w.-]+): pip install", proc.stderr))
        if missing and missing.group(1).split(".")[0] not in REQUIRED:
            pytest.skip(f"{script.name} needs {missing.group(1)}, which is not installed")
        pytest.fail(f"{script.name} failed:\n{proc.stderr[-3000:]}")
    assert proc.stdout.strip()


def test_digits_network_reaches_097_held_out_accuracy(tmp_path):
    # The acceptance of the "many arrays, groups, clipping" example: both ways.
    pytest.importorskip("sklearn")
    import runpy

    script = EXAMPLES[0].parent / "digits_network.py"
    main = runpy.run_path(str(script))["main"]
    scores = main(["--plot", str(tmp_path / "digits.png")])
    assert min(scores.values()) >= 0.97
