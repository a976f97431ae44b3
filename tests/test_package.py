"""The package itself: its public names and the lazily loaded ones."""

from __future__ import annotations

import pytest

import rawmmap
from rawmmap import MapFlag, Prot

RW = Prot.READ | Prot.WRITE
ANON = MapFlag.PRIVATE | MapFlag.ANONYMOUS


def test_package_lists_and_loads_its_lazy_names() -> None:
    names = dir(rawmmap)
    assert "Prot" in names and "map_shared_memory" in names
    assert rawmmap.SyncFlag.SYNC == rawmmap.flags.SyncFlag.SYNC
    with pytest.raises(AttributeError, match="no_such_name"):
        rawmmap.no_such_name  # type: ignore[attr-defined]  # noqa: B018
