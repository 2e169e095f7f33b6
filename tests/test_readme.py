"""The README's Python examples run as written."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def blocks():
    if not README.exists():
        pytest.skip("no README.md beside the tests")
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)


def test_the_minimize_example_runs_and_fits(capsys):
    namespace = {}
    exec(blocks()[0], namespace)
    res = namespace["res"]
    assert abs(res.x - [1.0, -2.0, 0.5, 0.0, 3.0]).max() < 0.05
    assert "Maximum number of iterations" in capsys.readouterr().out


def test_the_plot_history_example_runs(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(blocks()[0], namespace)
    code = next(b for b in blocks() if "plot_history" in b)
    exec(code, namespace)
    plt.close("all")
    assert (tmp_path / "convergence.png").exists()
