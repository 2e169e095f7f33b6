"""Render a ``benchmarks/minimize_overhead.py --output`` file as reST tables.

`render_file` is called by ``conf.py`` at every build: the performance page's
section on the ``minimize`` loop includes its output, so its figures are
always those of the results file (``docs/minimize_overhead.json``), with its
date, machine and command, never copied by hand.
"""

import json
import math
from pathlib import Path

#: The rows of the table, in order, with what each measures.
ROWS = {
    "bare": "the bare loop ``f, g = fun(x); opt.step(g)``",
    "gtol=0": "``minimize``, no test",
    "gtest": "the ``gtol`` test, far from converging",
    "gtest-full": "the 2-norm ``gtol`` test just below the norm (reads all)",
    "bare+clip": "the bare loop with ``np.clip(x, lb, ub, out=x)``",
    "bounds": "``bounds`` (arrays), no test",
    "bounds+gtest": "``bounds`` and the projected ``gtol`` test",
    "bounds+gtest-full": "``bounds``, the projected test reading all",
    "history": "``history=True``",
    "progress": "``progress=True``",
    "checkpoint": "a checkpoint every 100 iterations",
    "bare+average": "the bare loop of ``Adam(average='ema')``",
    "average": "``average='ema'``",
}


def _table(header, rows):
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines.append(f"   * - {row[0]}")
        lines.extend(f"     - {cell}" for cell in row[1:])
    return [*lines, ""]


def _cell(case):
    us, ratio = case["us"], case["ratio"]
    time = f"{us:.1f} us" if us < 1000 else f"{us / 1000:.2f} ms"
    return time if ratio is None or not math.isfinite(ratio) else f"{time} ({ratio:.2f}x)"


def render(results):
    """The reST text of a results file's contents."""
    if results.get("format") != "adamopt-minimize-overhead/1":
        raise ValueError(f"not a minimize_overhead results file: format "
                         f"{results.get('format')!r}")
    machine = results["machine"]
    load = machine.get("load_average_1min")
    lines = [f"Measured {results['date']} on {machine['cpu']} ({machine['cores']} cores, "
             f"{machine['system']}"
             + (f", load average {load:.2f} when it started" if load is not None else "")
             + f"); adamopt {machine['adamopt']}, numpy {machine['numpy']}, "
             f"{results['threads']} thread(s), {results['repeats']} repeats. "
             f"Command: ``{results['command']}``.", ""]
    sizes = list(results["sizes"])
    header = ["case", *(f"n = {int(n):,}" for n in sizes)]
    body = []
    for name, label in ROWS.items():
        if all(name in results["sizes"][n]["cases"] for n in sizes):
            body.append([label, *(_cell(results["sizes"][n]["cases"][name]) for n in sizes)])
    lines += _table(header, body)
    memory = results.get("memory")
    if memory:
        lines += ["Memory of one run at n = 1,000,000, in copies of ``x``: the peak beyond "
                  "``x0`` (the optimizer's own arrays are ``x``, ``m`` and ``v``, three; "
                  "four with ``average``) and what the result keeps.", ""]
        lines += _table(["case", "peak", "the result keeps"],
                        [[ROWS.get(name, name), f"{m['peak']:.1f}", f"{m['kept']:.1f}"]
                         for name, m in memory.items()])
    return "\n".join(lines) + "\n"


def render_file(source, target):
    """Write the tables of the results file ``source`` to ``target`` (reST)."""
    text = render(json.loads(Path(source).read_text()))
    target = Path(target)
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
