"""The README is a short front door whose every command works as written."""

import re

import pytest
from doc_blocks import README, ROOT, check_command, markdown_blocks, shell_commands


def text():
    if not README.exists():
        pytest.skip("no README.md beside the tests")
    return README.read_text()


def test_the_readme_is_at_most_12_kb():
    assert len(text().encode()) <= 12 * 1024


def test_the_readme_has_no_dated_measurement():
    assert re.findall(r"\b20\d\d-\d\d-\d\d\b|\bUTC\b|load average", text()) == []


@pytest.mark.parametrize("command", ["pip install -e . && python -m adamopt demo",
                                     "pip install -e '.[test]' && pytest"])
def test_the_two_commands_are_there_as_written(command):
    assert f"```bash\n{command}\n```" in text()


def test_the_algorithm_table_sits_between_its_markers():
    body = text().split("<!-- algorithms -->")[1].split("<!-- /algorithms -->")[0]
    assert body.strip().startswith("| algorithm |")


def test_the_python_blocks_run_in_order_and_fit(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "__main__"}
    blocks = markdown_blocks(text(), "python")
    assert len(blocks) >= 2
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    assert abs(namespace["res"].x - [1.0, -2.0, 0.5, 0.0, 3.0]).max() < 0.05
    assert abs(namespace["w"] - [1.0, -2.0, 0.5, 0.0, 3.0]).max() < 0.05
    out = capsys.readouterr().out
    assert "the stationarity test" in out      # the first block's res.message: it stopped
    assert len(out.splitlines()) == 2                  # and the second block's print


def test_the_bash_blocks_name_commands_that_exist():
    problems = [p for block in markdown_blocks(text(), "bash")
                for argv in shell_commands(block) for p in check_command(argv)]
    assert problems == []


def test_inline_commands_name_extras_and_scripts_that_exist():
    inline = re.findall(r"`(pip install [^`]+|python [^`]+)`", text())
    assert inline
    problems = [p for command in inline for argv in shell_commands(command)
                for p in check_command(argv)]
    assert problems == []


def test_the_links_into_the_docs_exist():
    links = re.findall(r"\]\((docs/[^)#]+)", text())
    assert len(links) >= 8
    assert [link for link in links if not (ROOT / link).exists()] == []
