"""The README's commands and quickstart work as written."""

from __future__ import annotations

import re
from pathlib import Path

from .emulation import MINCORE_SAYS_ALL_RESIDENT, is_missing
from .support import ROOT, run_python

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.S | re.M)
    assert match is not None, f"README.md has no section {title!r}"
    return match.group(1)


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.S | re.M)


def _test_line() -> str:
    (block,) = _blocks(_section("Running the tests"), "sh")
    (line,) = block.splitlines()
    return line


def test_readme_quickstart_runs_clean_and_prints_what_it_says(tmp_path: Path) -> None:
    (code,) = _blocks(_section("Quickstart"), "python")
    # -X dev shows ResourceWarning (a file left open) and -W error makes any
    # warning fail the run.
    result = run_python(code, flags=("-X", "dev", "-W", "error"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    # Each print's output is the comment beside it, or, for the refused
    # write, starts with "refused:".
    expected = [
        line.partition("#")[2].strip() or None
        for line in code.splitlines()
        if line.lstrip().startswith("print(")
    ]
    printed = result.stdout.splitlines()
    assert len(printed) == len(expected)
    all_resident = is_missing(MINCORE_SAYS_ALL_RESIDENT)
    for output, comment in zip(printed, expected):
        if comment is None:
            assert output.startswith("refused: ")
        elif all_resident and comment == "[True, False, False]":
            # tests/emulation.py saw mincore report every page resident here
            # (gVisor): the untouched pages cannot show as not resident.
            assert output == "[True, True, True]", MINCORE_SAYS_ALL_RESIDENT
        else:
            assert output == comment
    assert list(tmp_path.iterdir()) == [], "the quickstart left files behind"


def test_readme_test_line_is_the_line_ci_runs() -> None:
    ci_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert _test_line() in ci_lines


def test_readme_test_line_makes_its_venv_and_installs_the_test_tools() -> None:
    line = _test_line()
    assert line.startswith("python3 -m venv .venv && ")
    assert ".venv/bin/python -m pip install -e '.[test]'" in line
    assert line.endswith(".venv/bin/python -m pytest --cov")


def test_readme_gives_one_test_line_everywhere() -> None:
    lines = {
        line
        for block in _blocks(README, "sh")
        for line in block.splitlines()
        if "pytest" in line and "-m slow" not in line
    }
    assert lines == {_test_line()}


def test_readme_commands_run_python3_not_python() -> None:
    # Debian (and others) have no `python` binary, only `python3`.
    assert not re.findall(r"^\s*python -m ", README, re.M)
    assert "python3 -m rawmmap probe\n" in _blocks(README, "sh")
