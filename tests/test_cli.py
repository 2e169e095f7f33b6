"""The command line: ``python -m adamopt demo`` and ``python -m adamopt bench``
(smoke tests: they run and report; no timing is asserted)."""

import subprocess
import sys

import numpy as np
import pytest

from adamopt import _bench, _demo


def test_demo_fit_gets_close_to_the_full_batch_optimum():
    lines = []
    result = _demo.run(epochs=5, out=lines.append)
    assert result["loss"] <= 1.01 * result["reference_loss"]
    assert result["accuracy"] > 0.7
    assert any("L-BFGS-B" in line for line in lines)


def test_demo_command_runs_and_prints_a_summary():
    out = subprocess.run([sys.executable, "-m", "adamopt", "demo"], capture_output=True,
                         text=True, check=True, timeout=120).stdout
    assert "AdamW (minibatch)" in out
    assert "time per AdamW step" in out


def test_bench_prints_a_row_per_size_and_reports_absent_peers():
    lines = []
    rows = _bench.run(sizes=(10, 100), dtypes=("float32",), repeats=1, target=1e-3,
                      out=lines.append)
    assert [row["n"] for row in rows] == [10, 100]
    assert all(row["adamopt"] > 0 and row["numpy"] > 0 for row in rows)
    names = {name for name, factory in _bench.peers() if factory is None}
    if names:
        assert any("absent peers" in line for line in lines)


@pytest.mark.parametrize("name", ["numpy", "adamopt-nocheck", "adamopt-1thread", "torch-fused",
                                  "torch-foreach", "torch-single", "optax-jit"])
@pytest.mark.parametrize("n", [50, 40_000])
def test_every_peer_computes_the_same_adam(name, n):
    # A comparison means something only if every peer does the same work.
    factory = dict(_bench.peers())[name]
    if factory is None:
        pytest.skip(f"{name} is not installed")
    step, x = factory(n, "float64")
    ours, y = _bench.make_adamopt(n, "float64")
    for _ in range(5):
        step()
        ours()
    if hasattr(step, "params"):   # optax: functional, parameters not in place
        x = step.params()
    np.testing.assert_allclose(x, y, rtol=1e-12)


def test_probe_moves_the_arrays_of_a_step():
    step, x = _bench.make_probe(1000, "float64")
    before = x.copy()
    step()
    assert not np.array_equal(x, before)


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["demo", "--extra"]])
def test_bad_command_line_exits_with_usage(argv):
    proc = subprocess.run([sys.executable, "-m", "adamopt", *argv], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert "usage" in proc.stderr
