"""Helpers for the shared-memory tests: unique names that are always unlinked, child processes."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from typing import Callable

from rawmmap import shm

#: The checkout, put on the children's PYTHONPATH so they import this rawmmap.

NameFactory = Callable[[], str]


def unique_names() -> Iterator[NameFactory]:
    """Yield a factory of unique '/name's; unlink every one of them afterwards.

    Used as a generator fixture: the code after ``yield`` runs even when the
    test fails, and an object a test (or its child) never created is skipped.
    The names stay under 31 bytes, the macOS limit (PSHMNAMLEN).
    """
    names: list[str] = []

    def make() -> str:
        name = f"/rmm-{os.getpid()}-{uuid.uuid4().hex[:12]}"
        names.append(name)
        return name

    yield make
    for name in names:
        with contextlib.suppress(FileNotFoundError):
            shm.shm_unlink(name)
