"""Render a ``python -m adamopt bench --tuning --output`` results file as reST.

`render_file` is called by ``conf.py`` at every build: the "Tuning-free
methods" page includes its output, so the tables always show what the
results file holds, with its date, machine and command, never copied by hand.
"""

import json
from pathlib import Path

FORMAT = "adamopt-bench-tuning/1"
#: What a summary column's header adds to the method's name, by group.
_SUFFIX = {"baseline": " (default lr)", "torch-reference": " (PyTorch package)"}


def _num(value):
    return "diverged" if value is None else f"{value:.3g}"


def _table(header, rows):
    """A reST list-table."""
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines.append(f"   * - {row[0]}")
        lines.extend(f"     - {cell}" for cell in row[1:])
    return [*lines, ""]


def _provenance(results):
    machine = results["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in sorted(machine["versions"].items()))
    load = machine.get("load_average_1min")
    load = f", load average {load:.2f} when it started" if load is not None else ""
    s = results["settings"]
    free = ", ".join(f"``{name}``" for name in s["tuning_free"]) or "none registered"
    refs = ", ".join(f"``{name}``" for name in s.get("references", []))
    refs = f" PyTorch reference packages at their defaults: {refs}." if refs else ""
    return [f"Measured {results['date']} on {machine['cpu']} ({machine['cores']} cores, "
            f"{machine['system']}{load}); {versions}. Command: ``{results['command']}``. "
            f"{s['seeds']} seeds, {s['budget']} gradient evaluations per run, minibatches "
            f"of {s['batch_size']}; tuned Adam's grid: lr in "
            f"{{{', '.join(f'{x:g}' for x in s['lrs'])}}} times "
            f"{{{', '.join(s['schedules'])}}}. Tuning-free methods: {free}.{refs}", ""]


def _ratio(row):
    if row["median"] is None:
        return "diverged"
    return "" if row.get("ratio") is None else f"{row['ratio']:.3g}"


def render_summary(results):
    """One row per problem: each method's median excess loss over tuned Adam's."""
    problems = results["problems"]
    groups = {r["method"]: r["group"] for p in problems for r in p["rows"]
              if r["method"] != "adam, tuned"}
    methods = list(groups)
    header = ["problem", "tuned Adam (excess loss)",
              *(f"``{m}``" + _SUFFIX.get(groups[m], "") for m in methods)]
    body = []
    for p in problems:
        by = {r["method"]: r for r in p["rows"]}
        tuned = by.get("adam, tuned")
        first = "" if tuned is None else f"{_num(tuned['median'])} ({tuned['config']})"
        body.append([f"``{p['name']}``", first,
                     *(_ratio(by[m]) if m in by else "" for m in methods)])
    return _table(header, body)


def render_problem(p):
    """The table of one problem: median and range of the excess loss over seeds."""
    lines = [f"``{p['name']}``: {p['title']}; {p['parameters']} parameters; "
             f":math:`f^\\star = {p['best']:.6g}` ({p['reference']}).", ""]
    header = ["method", "configuration", "median excess loss", "min", "max", "/ tuned Adam"]
    body = [[f"``{r['method']}``" if r["method"] != "adam, tuned" else "**Adam, tuned**",
             r["config"], _num(r["median"]), _num(r["low"]), _num(r["high"]), _ratio(r)]
            for r in p["rows"]]
    return lines + _table(header, body)


def render(results):
    """The reST text of a results file's contents."""
    if results.get("format") != FORMAT:
        raise ValueError(f"not an adamopt tuning results file: format {results.get('format')!r}")
    lines = _provenance(results)
    lines += ["Median full-batch excess loss of each method over tuned Adam's "
              "(below 1: better than tuned Adam; the first column is tuned Adam's own "
              "median excess loss and the configuration the grid chose):", ""]
    lines += render_summary(results)
    lines += ["Per problem", "~~~~~~~~~~~", ""]
    for p in results["problems"]:
        lines += render_problem(p)
    return "\n".join(lines) + "\n"


def render_file(source, target):
    """Write the tables of the results file ``source`` to ``target`` (reST)."""
    text = render(json.loads(Path(source).read_text()))
    target = Path(target)
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
