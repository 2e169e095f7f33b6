"""The code blocks of the README (Markdown) and of the documentation pages
(reST), for the tests that run them as written."""

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"


def markdown_blocks(text, language):
    """The bodies of the fenced blocks of ``language`` in Markdown ``text``."""
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.MULTILINE | re.DOTALL)


def rst_blocks(text, language):
    """The bodies of the ``.. code-block:: language`` directives of reST ``text``
    that are meant to run: those without ``:class: not-run``."""
    blocks = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        match = re.match(rf"^(\s*)\.\. code-block:: {language}\s*$", lines[i])
        i += 1
        if not match:
            continue
        indent = len(match.group(1))
        options = []
        while i < len(lines) and re.match(r"^\s+:[\w-]+:", lines[i]):
            options.append(lines[i].strip())
            i += 1
        body = []
        while i < len(lines) and (not lines[i].strip()
                                  or len(lines[i]) - len(lines[i].lstrip()) > indent):
            body.append(lines[i])
            i += 1
        code = "\n".join(body).strip("\n")
        width = min(len(line) - len(line.lstrip()) for line in body if line.strip())
        code = "\n".join(line[width:] for line in code.splitlines()) + "\n"
        if ":class: not-run" not in options:
            blocks.append(code)
    return blocks


def pages():
    """Every reST page of the documentation written by hand."""
    return sorted(p for p in DOCS.rglob("*.rst") if "_build" not in p.parts
                  and "generated" not in p.parts and "gallery" not in p.parts
                  and not p.name.startswith("generated_") and "_templates" not in p.parts)


def extras():
    """The optional-dependency extras that pyproject.toml declares."""
    text = (ROOT / "pyproject.toml").read_text()
    section = text.split("[project.optional-dependencies]\n", 1)[1].split("\n[", 1)[0]
    return set(re.findall(r"^([\w-]+) = \[", section, re.MULTILINE))


def shell_commands(block):
    """The commands of a bash block, without comments, split at ``&&``."""
    commands = []
    for line in block.splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        commands.extend(part.strip() for part in line.split("&&"))
    return [shlex.split(c) for c in commands if c]


def check_command(argv):
    """A list of the problems of one documented shell command that can be
    checked without running it (an empty list: nothing wrong found)."""
    problems = []
    if argv[:2] == ["pip", "install"]:
        for arg in argv[2:]:
            match = re.fullmatch(r"\.\[([\w,]+)\]", arg)
            if match:
                problems += [f"no extra {e!r} in pyproject.toml"
                             for e in match.group(1).split(",") if e not in extras()]
            elif not arg.startswith("-") and arg != ".":
                problems.append(f"pip install {arg}: not installable from a clone")
    elif argv[:1] == ["python"] and len(argv) > 1 and argv[1].endswith(".py"):
        if not (ROOT / argv[1]).exists():
            problems.append(f"no script {argv[1]}")
        elif "--quick" in argv and "--quick" not in (ROOT / argv[1]).read_text():
            problems.append(f"{argv[1]} takes no --quick")
    elif argv[:3] == ["python", "-m", "adamopt"] and (
            len(argv) < 4 or argv[3] not in ("demo", "bench")):
        problems.append(f"no adamopt command {argv[3:4]}")
    return problems
