"""The tuning benchmark (``python -m adamopt bench --tuning``,
adamopt._bench_tuning): its problems' gradients and optima, the choice of the
contenders from the registry, the summary, the command line and its errors.
No timing is asserted."""

import contextlib
import io
import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import approx_fprime

from adamopt import __main__, _bench_tuning, _registry

DOCS = Path(__file__).resolve().parent.parent / "docs"
#: The problems that need no scikit-learn (quick ones, for the runner's tests).
QUICK = ("least_squares", "noisy_quadratic")


def _problem(name):
    if name == "digits_logistic":
        pytest.importorskip("sklearn")
    return _bench_tuning.PROBLEMS[name]()


def _point(problem, seed=0):
    """A point near the problem's start and its optimum, where nothing saturates."""
    rng = np.random.default_rng(seed)
    return 0.5 * (problem.x0 + problem.x_best) + 0.1 * rng.standard_normal(problem.x0.size)


def _batch(problem):
    if problem.data is not None:
        return tuple(a[:problem.batch_size] for a in problem.data)
    return problem.noise(np.random.default_rng(1))


def _relative_error(f, x):
    numeric = approx_fprime(x, lambda z: f(z)[0], 1e-7)
    exact = f(x)[1]
    return np.linalg.norm(numeric - exact) / max(np.linalg.norm(exact), 1e-12)


@pytest.mark.parametrize("name", list(_bench_tuning.PROBLEMS))
def test_minibatch_gradient_matches_finite_differences(name):
    problem = _problem(name)
    batch = _batch(problem)
    assert _relative_error(lambda x: problem.loss(x, *batch), _point(problem)) < 1e-5


@pytest.mark.parametrize("name", list(_bench_tuning.PROBLEMS))
def test_full_batch_gradient_matches_finite_differences(name):
    problem = _problem(name)
    assert _relative_error(problem.full, _point(problem)) < 1e-5


@pytest.mark.parametrize("name", list(_bench_tuning.PROBLEMS))
def test_the_gradient_vanishes_at_the_optimum(name):
    problem = _problem(name)
    value, grad = problem.full(problem.x_best)
    start = np.linalg.norm(problem.full(problem.x0)[1])
    assert np.linalg.norm(grad) < 1e-6 * start
    assert value == pytest.approx(problem.best, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("name", ["variational", "noisy_quadratic"])
def test_the_noisy_objective_averages_to_the_full_loss(name):
    problem = _problem(name)
    rng = np.random.default_rng(0)
    x = _point(problem)
    values, grads = zip(*(problem.loss(x, *problem.noise(rng)) for _ in range(4000)),
                        strict=True)
    value, grad = problem.full(x)
    assert np.mean(values) == pytest.approx(value, rel=0.05)
    assert np.linalg.norm(np.mean(grads, axis=0) - grad) < 0.05 * np.linalg.norm(grad)


def test_the_noisy_objective_draws_fresh_noise_at_every_call():
    problem = _problem("variational")
    fun, batches = problem.objective(seed=0)
    x = problem.x0.copy()
    assert batches is None
    assert fun(x)[0] != fun(x)[0]


def test_the_same_seed_gives_the_same_minibatches():
    problem = _problem("least_squares")
    first = next(problem.objective(seed=3)[1])
    again = next(problem.objective(seed=3)[1])
    np.testing.assert_array_equal(first[0], again[0])


def test_a_non_finite_loss_counts_as_infinite_excess():
    problem = _problem("least_squares")
    assert problem.excess(np.full(problem.x0.size, np.nan)) == math.inf


@pytest.fixture
def no_tuning_free(monkeypatch):
    """Every registered declaration with ``tuning_free`` False (as before issue 19)."""
    for a in _registry.algorithms():
        monkeypatch.setitem(vars(a), "tuning_free", False)


def test_a_declaration_marked_tuning_free_runs_at_its_defaults(no_tuning_free, monkeypatch):
    monkeypatch.setitem(vars(_registry.get("adamax")), "tuning_free", True)
    assert [a.name for a in _bench_tuning.tuning_free()] == ["adamax"]
    chosen = [c for c in _bench_tuning.candidates() if c.algorithm == "adamax"]
    assert [(c.group, c.lr, c.schedule) for c in chosen] == [("tuning-free", None, "constant")]
    assert chosen[0].options(100) == {}


def test_without_tuning_free_declarations_the_others_are_baselines(no_tuning_free):
    cands = _bench_tuning.candidates()
    assert _bench_tuning.tuning_free() == []
    assert sum(c.group == "adam-grid" for c in cands) == 5 * 3
    assert [c.algorithm for c in cands if c.group == "baseline"] == [
        a.name for a in _registry.algorithms()]


def test_no_baselines_leaves_only_the_grid_and_the_tuning_free(no_tuning_free, monkeypatch):
    monkeypatch.setitem(vars(_registry.get("nadam")), "tuning_free", True)
    groups = {c.group for c in _bench_tuning.candidates(baselines=False)}
    assert groups == {"adam-grid", "tuning-free"}


def test_tuned_adams_schedules_span_the_budget():
    cosine = _bench_tuning.schedule("cosine", 100)
    warm = _bench_tuning.schedule("warmup-cosine", 100)
    assert [cosine(1), cosine(101)] == [1.0, 0.0]
    assert [warm(1), warm(5), warm(101)] == [pytest.approx(0.2), 1.0, 0.0]


def test_an_unknown_schedule_is_refused_by_name():
    with pytest.raises(ValueError, match=r"'schedule'.*'step'"):
        _bench_tuning.schedule("step", 100)


def _row(label, group, median, lr=None, schedule="constant", algorithm="adam"):
    return {"label": label, "algorithm": algorithm, "group": group, "lr": lr,
            "schedule": schedule, "median": median, "low": median, "high": median}


def test_summary_takes_the_grid_s_best_median_as_tuned_adam():
    runs = [_row("a", "adam-grid", 0.5, 1e-3), _row("b", "adam-grid", 0.1, 1e-2, "cosine"),
            _row("c", "adam-grid", None, 1.0), _row("d", "baseline", 0.2, algorithm="sgd")]
    rows = _bench_tuning.summarize(runs)
    assert [(r["method"], r["config"]) for r in rows] == [
        ("adam, tuned", "lr=0.01, cosine"), ("sgd", "default lr=0.001, constant")]
    assert [r["ratio"] for r in rows] == [1.0, pytest.approx(2.0)]


def test_every_run_uses_the_same_gradient_evaluations(no_tuning_free):
    problem = _problem("noisy_quadratic")
    cands = _bench_tuning.candidates(lrs=(1e-2,))
    runs = _bench_tuning.run_problem(problem, cands, budget=30, seeds=range(2))
    assert {r["gradient_evaluations"] for r in runs} == {31}   # the budget and the final one


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """One quick run of the command line, written to a JSON file."""
    path = tmp_path_factory.mktemp("tuning") / "results.json"
    argv = ["bench", "--tuning", "--seeds", "2", "--budget", "20", "--problems", *QUICK,
            "--lrs", "0.01", "0.1", "--output", str(path)]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        __main__.main(argv)
    return out.getvalue(), json.loads(path.read_text())


def test_quick_command_prints_a_table_per_problem_and_the_summary(quick_run):
    text, _ = quick_run
    for name in QUICK:
        assert f"\n{name}: " in text
    assert "adam, tuned" in text
    assert "median excess loss / tuned Adam's" in text


def test_quick_command_writes_the_results_with_date_machine_and_command(quick_run):
    _, results = quick_run
    assert results["format"] == _bench_tuning.RESULTS_FORMAT
    assert results["date"].endswith("Z")
    assert results["machine"]["cores"] >= 1
    assert results["command"].startswith("python -m adamopt bench --tuning --seeds 2")
    assert (results["settings"]["seeds"], results["settings"]["lrs"]) == (2, [0.01, 0.1])
    assert [p["name"] for p in results["problems"]] == list(QUICK)


def test_the_docs_render_the_results_file(quick_run):
    sys.path.insert(0, str(DOCS))
    try:
        import _render_tuning
    finally:
        sys.path.remove(str(DOCS))
    text = _render_tuning.render(quick_run[1])
    assert text.startswith("Measured ")
    assert "**Adam, tuned**" in text
    with pytest.raises(ValueError, match="not an adamopt tuning results file"):
        _render_tuning.render({"format": "adamopt-bench/1"})


def test_the_shipped_results_file_renders():
    sys.path.insert(0, str(DOCS))
    try:
        import _render_tuning
    finally:
        sys.path.remove(str(DOCS))
    text = _render_tuning.render(json.loads((DOCS / "tuning_results.json").read_text()))
    assert "``digits_logistic``" in text


@pytest.mark.parametrize(("argv", "message"), [
    (["--seeds", "0"], "--seeds must be at least 1; got 0"),
    (["--budget", "5"], "--budget must be at least 10; got 5"),
    (["--problems", "mnist"], "unknown problem 'mnist'"),
    (["--lrs", "0.1", "-1"], "--lrs must be positive and finite; got -1.0"),
    (["--lrs", "nan"], "--lrs must be positive and finite; got nan"),
    (["--seeds", "two"], "invalid int value: 'two'"),
])
def test_bad_arguments_exit_with_a_clear_message(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        __main__.main(["bench", "--tuning", *argv])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_bench_help_names_the_tuning_flag(capsys):
    with pytest.raises(SystemExit):
        __main__.main(["bench", "--help"])
    assert "--tuning" in capsys.readouterr().out


def test_references_are_the_installed_pytorch_packages():
    pytest.importorskip("torch")
    names = [c.algorithm for c in _bench_tuning.references()]
    expected = [f"{m}.{n}" for m, n in _bench_tuning.REFERENCES
                if __import__("importlib").util.find_spec(m) is not None]
    assert names == expected
    assert {c.group for c in _bench_tuning.references()} <= {"torch-reference"}


@pytest.mark.parametrize("reference", ["schedulefree.SGDScheduleFree", "prodigyopt.Prodigy"])
def test_a_reference_runs_the_budget_on_the_same_problem(reference):
    pytest.importorskip("torch")
    pytest.importorskip(reference.split(".")[0])
    problem = _problem("least_squares")
    cand = _bench_tuning.Candidate(f"{reference} (defaults)", reference, "torch-reference")
    excess, evaluations = _bench_tuning.run_reference(problem, cand, budget=50, seed=0)
    assert evaluations == 50
    assert 0 < excess < problem.full(problem.x0)[0] - problem.best
