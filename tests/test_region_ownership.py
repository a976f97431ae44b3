"""Who owns a mapping: finalizers, cycles, resurrection and the live registry."""

from __future__ import annotations

import gc

import pytest

import rawmmap
from rawmmap import MapFlag, Prot

from .conftest import RunChild

RW = Prot.READ | Prot.WRITE
ANON = MapFlag.PRIVATE | MapFlag.ANONYMOUS


def test_cyclic_garbage_with_a_reader_in_del_does_not_crash(run_child: RunChild) -> None:
    result = run_child(
        """
        import gc, warnings
        import rawmmap
        warnings.simplefilter("ignore", ResourceWarning)

        class Reader:
            def __del__(self):
                # Runs after the gc's weakref callbacks: the mapping must
                # still be there.
                self.seen = bytes(self.view[:4])
                print("read", self.seen)

        gc.disable()
        for _ in range(50):
            region = rawmmap.map_anonymous(4096)
            region.write(0, b"live")
            reader = Reader()
            reader.view = region.view()
            reader.cycle = reader
            reader.region = region
            region.reader = reader
            del region, reader
            gc.collect()
        print("done")
        """
    )
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    assert result.stdout.splitlines()[-1] == "done"
    assert "read b'live'" in result.stdout


def test_finalizer_during_collection_defers_the_unmap(page: int) -> None:
    region = rawmmap.map_anonymous(page)
    region.cycle = region  # type: ignore[attr-defined]
    address = region.address
    del region
    with pytest.warns(ResourceWarning):
        gc.collect()
    with pytest.raises(OSError):
        rawmmap.raw.mincore(address, page)


def test_resurrected_region_is_unmapped_when_finally_freed(page: int) -> None:
    kept: list[object] = []

    class Keeper:
        def __del__(self) -> None:
            kept.append(self)

    region = rawmmap.map_anonymous(page)
    address = region.address
    keeper = Keeper()
    keeper.region = region  # type: ignore[attr-defined]
    region.keeper = keeper  # type: ignore[attr-defined]
    del region, keeper
    with pytest.warns(ResourceWarning):
        gc.collect()
    # Its finalizer ran and unmapped it (no view held it): the resurrected
    # Region is closed, and says so instead of touching the memory.
    survivor = kept[0].region  # type: ignore[attr-defined]
    assert survivor.closed
    with pytest.raises(ValueError):
        survivor.read(0, 1)
    with pytest.raises(OSError):
        rawmmap.raw.mincore(address, page)
    kept.clear()
    gc.collect()


def test_dontfork_bookkeeping_goes_with_the_region(page: int) -> None:
    from rawmmap import region as region_module

    before = len(region_module._live)
    region = rawmmap.map_anonymous(page)
    region.madvise(rawmmap.Advice.DONTFORK)
    assert len(region_module._live) == before + 1
    region.munmap()
    del region
    gc.collect()
    assert len(region_module._live) == before
