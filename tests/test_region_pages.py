"""Region's page calls and accesses over holes, mixed protection and growth."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import rawmmap
from rawmmap import MapFlag, Prot, SyncFlag

RW = Prot.READ | Prot.WRITE
ANON = MapFlag.PRIVATE | MapFlag.ANONYMOUS


def test_msync_over_a_hole_raises_valueerror(page: int) -> None:
    # The kernel may have placed another mapping in the hole: never touch it.
    with rawmmap.map_anonymous(2 * page) as region:
        region.munmap(page, page)
        with pytest.raises(ValueError, match="unmapped"):
            region.msync(SyncFlag.ASYNC)


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
        with pytest.raises(rawmmap.ProtectionError):
            region.view(readonly=False)


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


def test_empty_accesses_on_a_region_with_mixed_protection(page: int) -> None:
    with rawmmap.map_anonymous(2 * page) as region:
        region.mprotect(Prot.READ, page)
        assert region.read(0, 0) == b""
        region[0:0] = b""
        with region.view(0, 0) as view:
            assert view.nbytes == 0
        assert region.write(0, bytearray(b"ab")) == 2
        assert region.read(0, 2) == b"ab"


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


def test_the_seeds_example_maps_a_file_whose_second_page_is_partial(tmp_path: Path) -> None:
    # mmap(NULL, pagesize, PROT_READ, MAP_SHARED, fd, pagesize) over a file of
    # pagesize + 100 bytes: the second page is the file's last, partial one.
    page = rawmmap.page_size()
    path = tmp_path / "seed.bin"
    path.write_bytes(b"a" * page + b"b" * 100)
    with open(path, "r+b") as file:
        with rawmmap.mmap(page, Prot.READ, MapFlag.SHARED, file.fileno(), page) as region:
            assert region.read(0, 100) == b"b" * 100
            assert region.read(100, page - 100) == bytes(page - 100)  # the zero-filled rest
        with rawmmap.map_file(file, page, offset=page, prot=Prot.READ | Prot.WRITE) as region:
            region.write(100, b"never", tail=False)  # inside length: the page is the file's
            region.msync()
    assert path.stat().st_size == page + 100  # stores past the end never grow the file
    assert path.read_bytes()[page + 100 :] == b""


def test_the_tail_past_length_is_reachable_only_when_asked(tmp_path: Path) -> None:
    page = rawmmap.page_size()
    path = tmp_path / "short.bin"
    path.write_bytes(b"c" * 10)
    with rawmmap.map_file(path, prot=Prot.READ | Prot.WRITE) as region:
        assert len(region) == 10 and region.mapped_length == page
        with pytest.raises(IndexError, match="tail=True"):
            region.read(0, 11)
        assert region.read(10, tail=True) == bytes(page - 10)
        region.write(20, b"tail", tail=True)
        # By position too (tail is not keyword-only: see Region.read).
        assert region.read(20, 4, True) == b"tail"
        assert region.write(30, b"tail", True) == 4 and region.read(30, 4, tail=True) == b"tail"
        with region.view(0, tail=True) as view:
            assert view.nbytes == page and bytes(view[20:24]) == b"tail"
        region.msync()
    assert path.read_bytes() == b"c" * 10  # the tail never reaches the file


def test_a_file_mapping_ending_wholly_past_the_file_says_which_pages(tmp_path: Path) -> None:
    page = rawmmap.page_size()
    path = tmp_path / "one.bin"
    path.write_bytes(b"d" * (page + 1))
    with open(path, "rb") as file:
        with pytest.raises(ValueError, match="wholly past the end"):
            rawmmap.mmap(3 * page, Prot.READ, MapFlag.SHARED, file.fileno())
        with rawmmap.mmap(2 * page, Prot.READ, MapFlag.SHARED, file.fileno()) as region:
            assert region[page] == ord("d") and region[page + 1] == 0
