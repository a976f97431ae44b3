"""Shared fixtures: page size, scratch files and the child-process runner (``support``)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Callable

import pytest

import rawmmap

from .support import ROOT, run_python

__all__ = ["ROOT", "RunChild", "run_python"]

#: Runs Python source in a child; returns the finished process.
RunChild = Callable[..., "subprocess.CompletedProcess[str]"]


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
