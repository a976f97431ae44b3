"""Behaviour that depends on the CPU architecture, run on each one by tools/crossarch.py.

- 64-bit file offsets: on a 32-bit host a plain 32-bit-``off_t`` mmap would
  drop the high bits of an offset above 4 GiB and silently map another part
  of the file (5 GiB becomes 1 GiB), or turn an offset above 2 GiB negative
  (EINVAL). The files here are sparse: a decoy sits where a truncated
  offset would land, so a wrong mapping reads the decoy, not zeros.
- Byte order: a Region is bytes; a view cast to a wider type reads them in
  the machine's order (s390x is big-endian).

qemu-user 7.2 truncates a 32-bit guest's file offset to 32 bits itself
(measured with this file under armhf: the 5 GiB map reads the decoy at
1 GiB), so an offset above 4 GiB cannot be tested there: native i386 is
where the 64-bit offset is proved (a plain 32-bit-off_t mmap called there
through ctypes reads the decoy too).
"""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import rawmmap
from rawmmap import MapFlag, Prot

from .emulation import OFFSET_IS_TRUNCATED, POINTER_BITS, cpu_family, is_missing

GIB = 1 << 30
MARKER = b"the right page"
DECOY = b"truncated offset"

#: (offset to map, description): one past the sign bit of a 32-bit off_t,
#: one past its width.
OFFSETS = [
    pytest.param(3 * GIB, id="3GiB"),
    pytest.param(5 * GIB, id="5GiB"),
]


def _skip_if_qemu_truncates(offset: int) -> None:
    if offset >= 4 * GIB and is_missing(OFFSET_IS_TRUNCATED):
        pytest.skip(OFFSET_IS_TRUNCATED)


@pytest.fixture
def sparse_file(
    tmp_path: Path, page: int, request: pytest.FixtureRequest
) -> Iterator[tuple[int, int]]:
    """A sparse file of ``offset`` + 2 pages with MARKER one page past
    ``offset`` (and DECOY where the offset's low 32 bits would point, when
    that differs); yields ``(fd, offset)``."""
    offset: int = request.param
    _skip_if_qemu_truncates(offset)
    fd = os.open(tmp_path / "sparse.bin", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        truncated = offset & 0xFFFFFFFF
        if truncated != offset:
            os.pwrite(fd, DECOY, truncated + page)
        os.pwrite(fd, MARKER, offset + page)
        os.ftruncate(fd, offset + 2 * page)
    except OSError as error:  # EFBIG: a file system without large files
        os.close(fd)
        pytest.skip(f"cannot write a sparse file past {offset} bytes here: {error}")
    try:
        yield fd, offset
    finally:
        os.close(fd)


@pytest.mark.parametrize("sparse_file", OFFSETS, indirect=True)
def test_map_file_at_a_large_offset_reads_the_bytes_written_there(
    sparse_file: tuple[int, int], page: int
) -> None:
    fd, offset = sparse_file
    with rawmmap.map_file(fd, offset=offset) as region:
        assert region.offset == offset
        assert len(region) == 2 * page
        assert region.read(page, len(MARKER)) == MARKER


@pytest.mark.parametrize("sparse_file", OFFSETS, indirect=True)
def test_mmap_at_a_large_offset_sees_stores_from_pwrite_and_back(
    sparse_file: tuple[int, int], page: int
) -> None:
    fd, offset = sparse_file
    with rawmmap.mmap(2 * page, Prot.READ | Prot.WRITE, MapFlag.SHARED, fd, offset) as region:
        assert region.read(page, len(MARKER)) == MARKER
        region.write(page, b"THE")
    assert os.pread(fd, len(MARKER), offset + page) == b"THE" + MARKER[3:]


def test_a_view_cast_to_a_wider_type_reads_native_byte_order(page: int) -> None:
    with rawmmap.map_anonymous(page) as region:
        region.write(0, bytes([1, 2, 3, 4, 5, 6, 7, 8]))
        view = region.view(0, 8)
        try:
            words = view.cast("I")
            try:
                assert words[0] == int.from_bytes(b"\x01\x02\x03\x04", sys.byteorder)
                assert words[0] == struct.unpack("=I", b"\x01\x02\x03\x04")[0]
            finally:
                words.release()
        finally:
            view.release()


def test_region_length_and_address_fit_this_pointer_width(page: int) -> None:
    with rawmmap.map_anonymous(page) as region:
        assert 0 < region.address < 1 << POINTER_BITS
        assert region.address % page == 0


@pytest.mark.parametrize(
    ("kernel", "interpreter", "same"),
    [
        ("x86_64", "x86_64", True),
        ("x86_64", "i686", True),
        ("aarch64", "armv7l", True),
        ("x86_64", "armv7l", False),
        ("x86_64", "ppc64le", False),
        ("x86_64", "s390x", False),
        ("x86_64", "mips64", False),
    ],
)
def test_emulation_detection_tells_native_32_bit_from_another_cpu(
    kernel: str, interpreter: str, same: bool
) -> None:
    assert (cpu_family(kernel) == cpu_family(interpreter)) is same
