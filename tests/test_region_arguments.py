"""Region refuses bad arguments with a typed error before any system call."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

import rawmmap
from rawmmap import MapFlag, Prot

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


def test_mprotect_unknown_bits_raise_valueerror(page: int) -> None:
    with rawmmap.map_anonymous(page) as region, pytest.raises(ValueError, match="prot"):
        region.mprotect(0x4000_0000)


@pytest.mark.skipif(not rawmmap.raw.HAS_MREMAP, reason="mremap is Linux-only")
def test_mremap_non_positive_length_raises_valueerror(page: int) -> None:
    with rawmmap.map_anonymous(page) as region, pytest.raises(ValueError, match="new_length"):
        region.mremap(0)


def test_a_read_only_descriptor_mapped_shared_and_writable_says_what_to_change(
    data_file: Path, page: int
) -> None:
    fd = os.open(data_file, os.O_RDONLY)
    try:
        with pytest.raises(PermissionError, match="open it O_RDWR") as caught:
            rawmmap.mmap(page, Prot.READ | Prot.WRITE, MapFlag.SHARED, fd)
        assert caught.value.errno == errno.EACCES
        with rawmmap.mmap(page, Prot.READ | Prot.WRITE, MapFlag.PRIVATE, fd) as private:
            private[0] = 1  # copy-on-write: allowed
    finally:
        os.close(fd)


def test_a_write_only_descriptor_says_mappings_read(data_file: Path, page: int) -> None:
    fd = os.open(data_file, os.O_WRONLY)
    try:
        with pytest.raises(PermissionError, match="write-only"):
            rawmmap.mmap(page, Prot.READ, MapFlag.SHARED, fd)
    finally:
        os.close(fd)


def test_an_empty_file_says_how_to_give_it_a_size(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="ftruncate"):
        rawmmap.map_file(path)
