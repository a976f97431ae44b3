"""Region's argument checks and rarer paths: each refused before any syscall."""

from __future__ import annotations

import errno
import gc
import os
from pathlib import Path

import pytest

import rawmmap
from rawmmap import MapFlag, Prot, SyncFlag

from .conftest import RunChild

RW = Prot.READ | Prot.WRITE
ANON = MapFlag.PRIVATE | MapFlag.ANONYMOUS


@pytest.mark.parametrize("bad", [1.5, "4096", None, True])
def test_non_integer_length_raises_typeerror(bad: object) -> None:
    with pytest.raises(TypeError, match="length"):
        rawmmap.mmap(bad, RW, ANON)  # type: ignore[arg-type]


def test_negative_offset_raises_valueerror(data_file: Path) -> None:
    with pytest.raises(ValueError, match="offset"):
        rawmmap.map_file(data_file, 10, offset=-4096)


def test_offset_past_end_of_file_raises_valueerror(data_file: Path, page: int) -> None:
    with pytest.raises(ValueError, match="past the end"):
        rawmmap.map_file(data_file, offset=8 * page)


@pytest.mark.parametrize("fd", [-1, -2])
def test_file_mapping_with_negative_fd_is_the_kernels_ebadf(page: int, fd: int) -> None:
    with pytest.raises(OSError, match=f"fd={fd}") as caught:
        rawmmap.mmap(page, Prot.READ, MapFlag.SHARED, fd)
    assert caught.value.errno == errno.EBADF
    with pytest.raises(OSError) as caught:
        rawmmap.map_file(fd, page)
    assert caught.value.errno == errno.EBADF


def test_unknown_map_flag_bits_raise_valueerror(page: int) -> None:
    with pytest.raises(ValueError, match="flags"):
        rawmmap.mmap(page, RW, ANON | (1 << 30))


@pytest.mark.skipif(not hasattr(MapFlag, "FIXED_NOREPLACE"), reason="no FIXED_NOREPLACE")
def test_fixed_noreplace_unaligned_address_raises_valueerror(page: int) -> None:
    with pytest.raises(ValueError, match="addr"):
        rawmmap.mmap(page, RW, ANON | MapFlag.FIXED_NOREPLACE, addr=page + 1)


@pytest.mark.parametrize("bad", [True, 2.0, object()])
def test_map_file_refuses_things_that_are_not_files(bad: object) -> None:
    with pytest.raises(TypeError, match="file"):
        rawmmap.map_file(bad)


def test_file_object_with_bad_fileno_raises_typeerror() -> None:
    class Weird:
        def fileno(self) -> str:
            return "3"

    with pytest.raises(TypeError, match="fileno"):
        rawmmap.map_file(Weird())


def test_negative_read_length_raises_valueerror(page: int) -> None:
    with rawmmap.map_anonymous(page) as region, pytest.raises(ValueError, match="length"):
        region.read(0, -1)


def test_page_call_with_zero_length_raises_valueerror(page: int) -> None:
    with rawmmap.map_anonymous(page) as region, pytest.raises(ValueError, match="positive"):
        region.mlock(0, 0)


def test_msync_unknown_flag_bits_raise_valueerror(page: int) -> None:
    with rawmmap.map_anonymous(page) as region, pytest.raises(ValueError, match="SyncFlag"):
        region.msync(0x4000)


def test_msync_over_a_hole_raises_valueerror(page: int) -> None:
    # The kernel may have placed another mapping in the hole: never touch it.
    with rawmmap.map_anonymous(2 * page) as region:
        region.munmap(page, page)
        with pytest.raises(ValueError, match="unmapped"):
            region.msync(SyncFlag.ASYNC)


def test_mprotect_unknown_bits_raise_valueerror(page: int) -> None:
    with rawmmap.map_anonymous(page) as region, pytest.raises(ValueError, match="prot"):
        region.mprotect(0x4000_0000)


def test_mprotect_over_a_hole_raises_valueerror(page: int) -> None:
    with rawmmap.map_anonymous(2 * page) as region:
        region.munmap(page, page)
        with pytest.raises(ValueError, match="unmapped"):
            region.mprotect(Prot.READ)


def test_partial_munmap_covering_everything_closes_the_region(page: int) -> None:
    region = rawmmap.map_anonymous(2 * page)
    region.munmap(0, 2 * page)
    assert region.closed


def test_access_to_a_region_with_holes_checks_each_run(page: int) -> None:
    with rawmmap.map_anonymous(3 * page) as region:
        region.mprotect(Prot.READ, 2 * page)
        region.write(0, b"ok")
        assert region[0:0] == b""
        region.write(0, b"")
        with pytest.raises(ProtectionErrorType):
            region.view(readonly=False)


ProtectionErrorType = rawmmap.ProtectionError


@pytest.mark.skipif(not rawmmap.raw.HAS_MREMAP, reason="mremap is Linux-only")
def test_mremap_non_positive_length_raises_valueerror(page: int) -> None:
    with rawmmap.map_anonymous(page) as region, pytest.raises(ValueError, match="new_length"):
        region.mremap(0)


@pytest.mark.skipif(not rawmmap.raw.HAS_MREMAP, reason="mremap is Linux-only")
def test_mremap_file_growth_after_the_callers_descriptor_closed_uses_its_own(
    data_file: Path, page: int
) -> None:
    fd = os.open(data_file, os.O_RDONLY)
    region = rawmmap.map_file(fd, page)
    os.close(fd)
    region.mremap(2 * page)  # the Region's duplicate still sizes the file
    assert region[2 * page - 1] == (2 * page - 1) % 251
    region.munmap()


@pytest.mark.skipif(not rawmmap.raw.HAS_MREMAP, reason="mremap is Linux-only")
def test_mremap_file_growth_when_fd_reused_checks_the_mapped_file(
    data_file: Path, tmp_path: Path, page: int
) -> None:
    fd = os.open(data_file, os.O_RDONLY)
    region = rawmmap.map_file(fd, page)
    os.close(fd)
    other = tmp_path / "other"
    other.write_bytes(bytes(8 * page))
    reused = os.open(other, os.O_RDONLY)  # may take the same number: irrelevant now
    try:
        with pytest.raises(ValueError, match="wholly past the end"):
            region.mremap(6 * page)  # data_file has 4 pages; other has 8
    finally:
        os.close(reused)
        region.munmap()


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


def test_empty_accesses_on_a_region_with_mixed_protection(page: int) -> None:
    with rawmmap.map_anonymous(2 * page) as region:
        region.mprotect(Prot.READ, page)
        assert region.read(0, 0) == b""
        region[0:0] = b""
        with region.view(0, 0) as view:
            assert view.nbytes == 0
        assert region.write(0, bytearray(b"ab")) == 2
        assert region.read(0, 2) == b"ab"


def test_package_lists_and_loads_its_lazy_names() -> None:
    names = dir(rawmmap)
    assert "Prot" in names and "map_shared_memory" in names
    assert rawmmap.SyncFlag.SYNC == rawmmap.flags.SyncFlag.SYNC
    with pytest.raises(AttributeError, match="no_such_name"):
        rawmmap.no_such_name  # noqa: B018


def test_extended_and_bytearray_slice_assignment(page: int) -> None:
    with rawmmap.map_anonymous(page) as region:
        region[0:10:2] = b"abcde"
        region[1:3] = bytearray(b"XY")
        assert region[0:10] == b"aXY\0c\0d\0e\0"
        assert region[0:10:2] == b"aYcde"


def test_readonly_view_of_a_writable_region(page: int) -> None:
    with rawmmap.map_anonymous(page) as region:
        with region.view(readonly=True) as view:
            assert view.readonly
        with region.view(readonly=False) as view:
            assert not view.readonly


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
