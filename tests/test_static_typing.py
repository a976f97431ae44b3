"""What a type checker tells a user of rawmmap."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed")
def test_misspelt_lazy_name_is_a_mypy_error(tmp_path: Path) -> None:
    # The lazy names (Prot, the shm helpers) come from a module __getattr__
    # at run time; if mypy saw it, any misspelling would type-check as object.
    user = tmp_path / "user.py"
    user.write_text("from rawmmap import Prot, Prott, map_memfd\n")
    environment = dict(os.environ)
    # This checkout and its stubs, whatever is installed.
    environment["MYPYPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "stubs")])
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-error-summary",
            "--cache-dir",
            str(tmp_path / "mypy-cache"),
            user.name,
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=300,
        check=False,
    )
    errors = result.stdout.splitlines()
    assert len(errors) == 1, result.stdout + result.stderr
    assert 'Module "rawmmap" has no attribute "Prott"' in errors[0]
    assert errors[0].startswith("user.py:1: error:")
