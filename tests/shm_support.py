"""Helpers for the shared-memory tests: unique names that are always unlinked, child processes."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Callable, Iterator, List, Sequence

from rawmmap import shm

#: The checkout, put on the children's PYTHONPATH so they import this rawmmap.
ROOT = Path(__file__).resolve().parent.parent

NameFactory = Callable[[], str]


def unique_names() -> Iterator[NameFactory]:
    """Yield a factory of unique '/name's; unlink every one of them afterwards.

    Used as a generator fixture: the code after ``yield`` runs even when the
    test fails, and an object a test (or its child) never created is skipped.
    The names stay under 31 bytes, the macOS limit (PSHMNAMLEN).
    """
    names: List[str] = []

    def make() -> str:
        name = f"/rmm-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        names.append(name)
        return name

    yield make
    for name in names:
        with contextlib.suppress(FileNotFoundError):
            shm.shm_unlink(name)


def child_environment() -> dict[str, str]:
    """Return the environment for a child Python that imports this checkout."""
    environment = dict(os.environ)
    path = environment.get("PYTHONPATH")
    environment["PYTHONPATH"] = str(ROOT) if not path else f"{ROOT}{os.pathsep}{path}"
    return environment


def run_python(
    code: str, *arguments: str, pass_fds: Sequence[int] = (), timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a new interpreter and return its finished process (output captured)."""
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *arguments],
        env=child_environment(),
        pass_fds=tuple(pass_fds),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
