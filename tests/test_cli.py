"""The command line: ``python -m adamopt demo`` and ``python -m adamopt bench``
(smoke tests: they run and report; no timing is asserted)."""

import argparse
import importlib.metadata
import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import check_grad

import adamopt
from adamopt import __main__, _bench, _demo, _optax


@pytest.fixture(scope="module")
def demo_run():
    """One run of the demo's two fits on its default data (no family, no
    timing of steps, no plot), shared by the tests that read its figures."""
    lines = []
    result = _demo.run(plot_path=None, speed=False, family=False, out=lines.append)
    return result, "\n".join(lines)


def test_demo_fit_gets_close_to_the_full_batch_optimum(demo_run):
    result, table = demo_run
    assert result["loss"] <= 1.01 * result["optimum"]
    assert result["accuracy"] > 0.8
    assert result["accuracy"] >= result["reference_accuracy"] - 0.01
    assert "L-BFGS-B (full batch)" in table


def test_demo_adamw_comes_within_one_percent_in_fewer_passes_than_lbfgsb(demo_run):
    # The passes over the data are fixed by the seeds (the times are not: they are
    # printed, never asserted).
    reached = demo_run[0]["to_target"][0.01]
    adam, lbfgs = reached["AdamW (minibatch)"], reached["L-BFGS-B (full batch)"]
    assert adam[1] < 1.0
    assert lbfgs[1] >= 4 * adam[1]
    assert "AdamW came within 1% of the optimum" in demo_run[1]


def test_demo_says_only_lbfgsb_reaches_the_exact_minimizer(demo_run):
    reached = demo_run[0]["to_target"][1e-4]
    assert reached["AdamW (minibatch)"] is None
    assert reached["L-BFGS-B (full batch)"] is not None
    assert "For the exact minimizer L-BFGS-B is the tool" in demo_run[1]


def test_demo_on_a_small_data_set_says_lbfgsb_is_sooner():
    lines = []
    result = _demo.run(samples=5000, plot_path=None, speed=False, family=False,
                       out=lines.append)
    assert result["to_target"][0.01]["L-BFGS-B (full batch)"] is not None
    assert any("L-BFGS-B came within 1% of the optimum sooner" in line for line in lines)


def test_first_within_returns_the_first_point_close_enough():
    points = [(0.0, 0, 3.0), (0.5, 1, 2.05), (0.7, 2, 2.01), (0.9, 3, 2.0)]
    assert _demo.first_within(points, 2.0, 0.01) == (0.7, 2)
    assert _demo.first_within(points, 2.0, 0.0) == (0.9, 3)
    assert _demo.first_within(points, 1.0, 0.01) is None


def test_demo_loss_alone_equals_the_loss_of_loss_and_grad():
    (X, y), _, _ = _demo.make_data(n=500, seed=3)
    w = np.random.default_rng(4).standard_normal(84)
    assert _demo.loss(w, X, y) == pytest.approx(_demo.loss_and_grad(w, X, y)[0],
                                                rel=1e-13)


def test_demo_compares_the_family_on_the_same_fit():
    lines = []
    result = _demo.run(samples=50_000, epochs=1, plot_path=None, speed=False,
                       out=lines.append)
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
    result = _demo.run(samples=1000, epochs=1, plot_path=None, family=False,
                       out=lines.append)
    assert result["speedup_84"] > 0
    assert result["speedup_1000000"] > 0
    assert any("NumPy" in line and "faster" in line for line in lines)


def test_demo_writes_the_plot_where_asked(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "curves.png"
    lines = []
    result = _demo.run(samples=1000, epochs=1, plot_path=str(path), speed=False,
                       family=False, out=lines.append)
    assert path.read_bytes().startswith(b"\x89PNG")
    assert result["plot"] == str(path)
    assert any(str(path) in line for line in lines)


def test_demo_without_matplotlib_says_how_to_get_the_plot(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    lines = []
    result = _demo.run(samples=1000, epochs=1, plot_path=str(tmp_path / "x.png"),
                       speed=False, family=False, out=lines.append)
    assert result["plot"] is None
    assert any("pip install matplotlib" in line for line in lines)
    assert not (tmp_path / "x.png").exists()


def test_demo_command_runs_and_prints_a_summary(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "adamopt", "demo"], capture_output=True,
                          text=True, check=True, timeout=180, cwd=tmp_path)
    out = proc.stdout
    for piece in ("AdamW (minibatch)", "L-BFGS-B (full batch)", "accuracy", "nit",
                  "within 1%", "parameters: adamopt", "NAdam"):
        assert piece in out
    if importlib.util.find_spec("matplotlib") is not None:
        assert (tmp_path / _demo.PLOT_FILE).exists()
        assert f"written to {tmp_path / _demo.PLOT_FILE}" in out


def test_demo_command_no_plot_writes_nothing(tmp_path):
    subprocess.run([sys.executable, "-m", "adamopt", "demo", "--no-plot", "--epochs", "1",
                    "--samples", "1000"],
                   capture_output=True, text=True, check=True, timeout=120, cwd=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_version_command_prints_the_package_version():
    proc = subprocess.run([sys.executable, "-m", "adamopt", "--version"],
                          capture_output=True, text=True, check=True, timeout=60)
    assert proc.stdout.strip() == f"adamopt {adamopt.__version__}"


def test_version_is_written_in_one_place():
    # pyproject.toml reads it from adamopt/_version.py (setuptools' attr:).
    root = Path(__file__).resolve().parents[1]
    if not (root / "pyproject.toml").exists():
        pytest.skip("not run from a source tree")
    tomllib = pytest.importorskip("tomllib")   # Python >= 3.11
    with open(root / "pyproject.toml", "rb") as f:
        project = tomllib.load(f)
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "adamopt._version.__version__"}
    written = [path.name for path in [root / "pyproject.toml", root / "setup.py",
                                      *sorted((root / "adamopt").glob("*.py"))]
               if repr(adamopt.__version__)[1:-1] in path.read_text()]
    assert written == ["_version.py"]


def test_installed_metadata_has_the_package_version():
    try:
        dist = importlib.metadata.distribution("adamopt")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("adamopt is not installed (run from the tree)")
    assert dist.version == adamopt.__version__


def _options(parser):
    return [action for action in parser._actions
            if action.option_strings and action.dest != "help"]


def test_every_demo_option_has_help():
    parser = __main__._parser()
    demo = parser._subparsers._group_actions[0].choices["demo"]
    options = _options(parser) + _options(demo)
    assert {"--version", "--plot", "--no-plot", "--epochs", "--samples"} <= {
        name for action in options for name in action.option_strings}
    assert all(action.help for action in options)


def test_every_bench_option_has_help(monkeypatch):
    parsers = []

    def capture(self, args=None, namespace=None):
        parsers.append(self)
        raise SystemExit(0)

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", capture)
    with pytest.raises(SystemExit):
        _bench.main([])
    options = _options(parsers[0])
    assert len(options) >= 5
    assert all(action.help for action in options)


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
    if name == "optax-jit" and not _optax.OPTAX[algorithm].exact:
        pytest.skip(f"optax's {algorithm} is a variant ({_optax.OPTAX[algorithm].note}): "
                    "timed, not compared")
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
                                  ["demo", "--epochs", "0"], ["demo", "--samples", "10"],
                                  ["bench", "--algorithm", "lbfgs"], ["bench", "--sizes", "0"],
                                  ["bench", "--repeats", "0"], ["bench", "--target", "0"]])
def test_bad_command_line_exits_with_usage(argv):
    proc = subprocess.run([sys.executable, "-m", "adamopt", *argv], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert "usage" in proc.stderr
