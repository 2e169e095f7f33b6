"""Render a ``python -m adamopt bench --output`` results file as reST tables.

`render_file` is called by ``conf.py`` at every build: the performance page
includes its output, so the tables always show what the results file holds,
with its date, machine and command, and are never copied by hand.
"""

import json
from pathlib import Path

#: Peers in the order of the tables (absent ones are left out).
PEERS = ["numpy", "torch-fused", "torch-foreach", "torch-single", "optax-jit"]
#: The family's table names the best PyTorch variant of each size.
TORCH = ["torch-fused", "torch-foreach", "torch-single"]
#: ... and optax's ratio beside it, when the run has one.
OPTAX = "optax-jit"


def _time(seconds):
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} us"
    return f"{seconds * 1e3:.2f} ms"


def _table(header, rows):
    """A reST list-table."""
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines.append(f"   * - {row[0]}")
        lines.extend(f"     - {cell}" for cell in row[1:])
    return [*lines, ""]


def _provenance(run):
    machine = run["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in sorted(machine["versions"].items()))
    load = machine.get("load_average_1min")
    load = f", load average {load:.2f} when it started" if load is not None else ""
    return [f"Measured {run['date']} on {machine['cpu']} ({machine['cores']} cores, "
            f"{machine['system']}{load}); adamopt kernel ``{machine['kernel']}``, "
            f"{machine['threads']} threads; {versions}. Command: ``{run['command']}``.", ""]


def render_adam(run):
    """Time per Adam step and each peer's time over adamopt's, one table per dtype."""
    lines = _provenance(run)
    for dtype in dict.fromkeys(row["dtype"] for row in run["rows"]):
        rows = [r for r in run["rows"] if r["dtype"] == dtype]
        peers = [p for p in PEERS if any(p in r for r in rows)]
        header = ["n", f"adamopt ({dtype})", "without the check", "one thread",
                  *(f"{p} / adamopt" for p in peers)]
        body = []
        for r in rows:
            ours = r["adamopt"]
            body.append([f"{r['n']:,}", _time(ours), _time(r["adamopt-nocheck"]),
                         _time(r["adamopt-1thread"]),
                         *(f"{r[p] / ours:.1f}x" if p in r else "" for p in peers)])
        lines += _table(header, body)
    return lines


def render_family(runs):
    """One row per algorithm: time per step, the best PyTorch variant's ratio and
    optax's (under ``jax.jit``), where the run timed them."""
    sizes = sorted({(r["n"], r["dtype"]) for run in runs.values() for r in run["rows"]})
    header = ["algorithm", *(f"n = {n:,} ({dtype})" for n, dtype in sizes)]
    body = []
    for algorithm, run in sorted(runs.items()):
        cells = []
        for n, dtype in sizes:
            row = next((r for r in run["rows"] if (r["n"], r["dtype"]) == (n, dtype)), None)
            if row is None:
                cells.append("")
                continue
            ours = row["adamopt"]
            torch = [(row[p], p) for p in TORCH if p in row]
            best = f", {min(torch)[0] / ours:.1f}x {min(torch)[1]}" if torch else ""
            if OPTAX in row:
                best += f", {row[OPTAX] / ours:.1f}x optax"
            cells.append(f"{_time(ours)}{best}")
        body.append([algorithm, *cells])
    lines = _table(header, body)
    for algorithm, run in sorted(runs.items()):
        lines += [f"``{algorithm}``: ", *_provenance(run)]
    return lines


def render(results):
    """The reST text of a results file's contents."""
    if results.get("format") != "adamopt-bench/1":
        raise ValueError(f"not an adamopt bench results file: format {results.get('format')!r}")
    runs = dict(results["runs"])
    lines = []
    if "adam" in runs:
        lines += ["Adam", "~~~~", "", *render_adam(runs.pop("adam"))]
    if runs:
        lines += ["The family", "~~~~~~~~~~", "",
                  "Time per step, then the fastest PyTorch variant's time over adamopt's "
                  "and optax's (under ``jax.jit``, where optax has the algorithm) "
                  "(> 1: adamopt is faster).", "", *render_family(runs)]
    return "\n".join(lines) + "\n"


def render_file(source, target):
    """Write the tables of the results file ``source`` to ``target`` (reST)."""
    text = render(json.loads(Path(source).read_text()))
    target = Path(target)
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
