"""Shared fixtures: page size, scratch files and a child-process runner.

Anything that may fault runs in a child started with ``sys.executable``
(under qemu-user that re-enters the same guest), so that the test can
assert the signal instead of dying with it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Callable, Sequence

import pytest

import rawmmap

ROOT = Path(__file__).resolve().parent.parent

#: Runs Python source in a child; returns the finished process.
RunChild = Callable[[str], "subprocess.CompletedProcess[str]"]


def run_python(
    source: str, timeout: float = 120, flags: Sequence[str] = ()
) -> subprocess.CompletedProcess[str]:
    """Run ``source`` in a fresh interpreter that imports this checkout.

    ``flags`` go to the interpreter before ``-c`` (``-X dev``, ``-W error``).
    """
    environment = dict(os.environ)
    environment["PYTHONPATH"] = str(ROOT) + os.pathsep + environment.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, *flags, "-c", textwrap.dedent(source)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
        check=False,
    )


@pytest.fixture
def run_child() -> RunChild:
    """Return ``run_python``: run code in a child process."""
    return run_python


@pytest.fixture
def page() -> int:
    """The page size."""
    return rawmmap.page_size()


@pytest.fixture
def data_file(tmp_path: Path, page: int) -> Path:
    """A file of four pages, byte ``i`` holding ``i % 251``."""
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(i % 251 for i in range(4 * page)))
    return path
