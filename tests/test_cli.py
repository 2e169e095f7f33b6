"""The command line: ``python -m adamopt demo`` and ``python -m adamopt bench``
(smoke tests: they run and report; no timing is asserted)."""

import importlib.util
import subprocess
import sys

import numpy as np
import pytest
from scipy.optimize import check_grad

from adamopt import _bench, _demo


def test_demo_fit_gets_close_to_the_full_batch_optimum():
    lines = []
    result = _demo.run(epochs=5, plot_path=None, speed=False, out=lines.append)
    assert result["loss"] <= 1.01 * result["reference_loss"]
    assert result["accuracy"] > 0.7
    assert result["accuracy"] >= result["reference_accuracy"] - 0.02
    assert any("L-BFGS-B" in line for line in lines)


def test_demo_compares_the_family_on_the_same_fit():
    lines = []
    result = _demo.run(epochs=5, plot_path=None, speed=False, out=lines.append)
    labels = [label for label, *_ in _demo.FAMILY]
    assert list(result["family"]) == labels
    assert all(0.0 <= excess < 0.02 for excess in result["family"].values())
    table = "\n".join(lines)
    assert all(label in table for label in labels)


def test_demo_gradient_of_the_softmax_loss_matches_finite_differences():
    (X, y), _, _ = _demo.make_data(n=50, seed=1)
    w = np.random.default_rng(2).standard_normal(84) * 0.3
    assert check_grad(lambda v: _demo.loss_and_grad(v, X, y)[0],
                      lambda v: _demo.loss_and_grad(v, X, y)[1], w) < 1e-6


def test_demo_reports_the_step_speed_against_numpy():
    lines = []
    result = _demo.run(epochs=1, plot_path=None, out=lines.append)
    assert result["speedup_84"] > 0
    assert result["speedup_1000000"] > 0
    assert any("NumPy" in line and "faster" in line for line in lines)


def test_demo_writes_the_plot_where_asked(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "curves.png"
    lines = []
    result = _demo.run(epochs=1, plot_path=str(path), speed=False, out=lines.append)
    assert path.read_bytes().startswith(b"\x89PNG")
    assert result["plot"] == str(path)
    assert any(str(path) in line for line in lines)


def test_demo_without_matplotlib_says_how_to_get_the_plot(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    lines = []
    result = _demo.run(epochs=1, plot_path=str(tmp_path / "x.png"), speed=False,
                       out=lines.append)
    assert result["plot"] is None
    assert any("pip install matplotlib" in line for line in lines)
    assert not (tmp_path / "x.png").exists()


def test_demo_command_runs_and_prints_a_summary(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "adamopt", "demo"], capture_output=True,
                          text=True, check=True, timeout=120, cwd=tmp_path)
    out = proc.stdout
    for piece in ("AdamW (minibatch)", "L-BFGS-B (full batch)", "accuracy", "nit",
                  "parameters: adamopt"):
        assert piece in out
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / _demo.PLOT_FILE).exists()
        assert f"written to {tmp_path / _demo.PLOT_FILE}" in out


def test_demo_command_no_plot_writes_nothing(tmp_path):
    subprocess.run([sys.executable, "-m", "adamopt", "demo", "--no-plot", "--epochs", "1"],
                   capture_output=True, text=True, check=True, timeout=120, cwd=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_bench_prints_a_row_per_size_and_reports_absent_peers():
    lines = []
    rows = _bench.run(sizes=(10, 100), dtypes=("float32",), repeats=1, target=1e-3,
                      out=lines.append)
    assert [row["n"] for row in rows] == [10, 100]
    assert all(row["adamopt"] > 0 and row["numpy"] > 0 for row in rows)
    names = {name for name, factory in _bench.peers() if factory is None}
    if names:
        assert any("absent peers" in line for line in lines)


PEERS = [("adam", name) for name in ("numpy", "adamopt-nocheck", "adamopt-1thread",
                                     "torch-fused", "torch-foreach", "torch-single",
                                     "optax-jit")]
PEERS += [(algorithm, name) for algorithm in _bench.TIMED if algorithm != "adam"
          for name, _ in _bench.peers(algorithm) if name not in ("adamopt", "probe")]


@pytest.mark.parametrize(("algorithm", "name"), PEERS)
@pytest.mark.parametrize("n", [50, 40_000])
def test_every_peer_computes_the_same_step(algorithm, name, n):
    # A comparison means something only if every peer does the same work.
    factory = dict(_bench.peers(algorithm))[name]
    if factory is None:
        pytest.skip(f"{name} is not installed")
    step, x = factory(n, "float64")
    ours, y = _bench.make_adamopt(n, "float64", algorithm=algorithm)
    for _ in range(5):
        step()
        ours()
    if hasattr(step, "params"):   # optax: functional, parameters not in place
        x = step.params()
    # torch.optim.NAdam keeps its momentum product in float32 (its default dtype):
    # its steps' coefficients differ from ours in the 7th digit.
    rtol = 1e-5 if (algorithm, name[:5]) == ("nadam", "torch") else 1e-12
    np.testing.assert_allclose(x, y, rtol=rtol, atol=1e-12)


def test_probe_moves_the_arrays_of_a_step():
    step, x = _bench.make_probe(1000, "float64")
    before = x.copy()
    step()
    assert not np.array_equal(x, before)


def test_bench_of_another_algorithm_names_it_and_its_peers():
    lines = []
    rows = _bench.run(sizes=(10,), dtypes=("float64",), repeats=1, target=1e-3,
                      out=lines.append, algorithm="sgd")
    assert "numpy" not in rows[0]
    assert any("sgd step" in line and "5 arrays" in line for line in lines)


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["demo", "--extra"],
                                  ["demo", "--epochs", "0"], ["bench", "--algorithm", "lbfgs"]])
def test_bad_command_line_exits_with_usage(argv):
    proc = subprocess.run([sys.executable, "-m", "adamopt", *argv], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert "usage" in proc.stderr
