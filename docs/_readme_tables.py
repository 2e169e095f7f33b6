"""The README's algorithm table (between ``<!-- algorithms -->`` and
``<!-- /algorithms -->``) as a reST list-table, so that the site and the README
show one table, written (or generated) once."""

import re
from pathlib import Path


def _cell(text):
    text = text.strip().replace("\\|", "|")
    return re.sub(r"`([^`]+)`", r"``\1``", text) or " "


def markdown_table(text, start="<!-- algorithms -->", end="<!-- /algorithms -->"):
    """The rows (lists of cells) of the Markdown table between two markers."""
    if start not in text or end not in text:
        raise ValueError(f"the README has no table between {start} and {end}")
    body = text.split(start, 1)[1].split(end, 1)[0]
    rows = []
    for line in body.splitlines():
        line = line.strip()
        if not line.startswith("|"):
            continue
        cells = re.split(r"(?<!\\)\|", line.strip("|"))
        if all(set(c.strip()) <= set("-: ") for c in cells):
            continue
        rows.append([_cell(c) for c in cells])
    return rows


def render_file(readme, target):
    """Write the README's algorithm table to ``target`` as a reST list-table."""
    rows = markdown_table(Path(readme).read_text())
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in rows:
        lines.append(f"   * - {row[0]}")
        lines.extend(f"     - {cell}" for cell in row[1:])
    text = "\n".join(lines) + "\n"
    target = Path(target)
    if not target.exists() or target.read_text() != text:
        target.write_text(text)
