"""The README's quickstart runs as written."""

from __future__ import annotations

import re
from pathlib import Path

from .conftest import ROOT, RunChild


def test_readme_quickstart_runs_and_prints_what_it_says(
    run_child: RunChild, tmp_path: Path
) -> None:
    readme = (ROOT / "README.md").read_text()
    code = re.findall(r"```python\n(.*?)```", readme, re.S)[0]
    result = run_child(f"import os\nos.chdir({str(tmp_path)!r})\n" + code)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "b'hello'"
    assert lines[1].startswith("refused:")
    assert lines[-2:] == ["b'Jello'", "b'data'"]


def test_readme_names_the_test_command_that_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = re.search(r"## Running the tests\n\n```\n(.*?)\n```", readme, re.S)
    assert command is not None
    assert command.group(1) in ci
