"""Soak: map, touch and unmap a million times; no memory and no descriptor may leak.

Marked ``slow`` (deselect with ``-m "not slow"``). Four loops, each
``RAWMMAP_SOAK_ITERATIONS`` times (default 1,000,000): anonymous and
file-backed, through ``Region`` and through ``rawmmap.raw``. After a
warm-up of a tenth of the iterations the resident set size, read from
``/proc/self/statm`` (proc(5): the second field, in pages), may not grow by
more than 1 MiB, and the number of open descriptors (``/proc/self/fd``)
may not change. Run with ``-s`` to see the figures.
"""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path
from typing import Callable

import pytest

import rawmmap
from rawmmap import MapFlag, Prot, raw

PAGE = rawmmap.page_size()
ITERATIONS = int(os.environ.get("RAWMMAP_SOAK_ITERATIONS", "1000000"))
MIB = 1 << 20

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc/self/statm"),
]


def _resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


def _soak(name: str, once: Callable[[], None]) -> None:
    warm_up = max(ITERATIONS // 10, 1)
    for _ in range(warm_up):
        once()
    gc.collect()
    rss_before, fds_before = _resident_bytes(), _open_descriptors()
    started = time.perf_counter()
    for _ in range(ITERATIONS):
        once()
    elapsed = time.perf_counter() - started
    gc.collect()
    rss_after, fds_after = _resident_bytes(), _open_descriptors()
    print(
        f"\n{name}: {ITERATIONS} iterations (after {warm_up} warm-up) in {elapsed:.1f} s; "
        f"RSS {rss_before / MIB:.2f} -> {rss_after / MIB:.2f} MiB "
        f"({(rss_after - rss_before) / 1024:+.0f} KiB); fds {fds_before} -> {fds_after}"
    )
    assert rss_after - rss_before <= MIB
    assert fds_after == fds_before


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "soak"
    path.write_bytes(bytes(range(256)) * (PAGE // 256))
    return path


def test_region_anonymous_map_touch_unmap_leaks_nothing() -> None:
    def once() -> None:
        with rawmmap.map_anonymous(PAGE) as region:
            region[0] = 1
            assert region[0] == 1

    _soak("Region anonymous", once)


def test_region_file_map_touch_unmap_leaks_nothing(data_file: Path) -> None:
    fd = os.open(data_file, os.O_RDWR)
    try:

        def once() -> None:
            with rawmmap.map_file(fd, prot=Prot.READ | Prot.WRITE) as region:
                region[1] = region[1]

        _soak("Region file", once)
    finally:
        os.close(fd)


def test_region_file_by_path_leaks_no_descriptor(data_file: Path) -> None:
    def once() -> None:
        with rawmmap.map_file(data_file) as region:
            assert region[2] == 2

    _soak("Region file by path", once)


def test_raw_anonymous_map_touch_unmap_leaks_nothing() -> None:
    flags = MapFlag.PRIVATE | MapFlag.ANONYMOUS
    prot = Prot.READ | Prot.WRITE

    def once() -> None:
        address = raw.mmap(0, PAGE, prot, flags, -1, 0)
        raw.write(address, b"x")
        assert raw.read(address, 1) == b"x"
        raw.munmap(address, PAGE)

    _soak("raw anonymous", once)


def test_raw_file_map_touch_unmap_leaks_nothing(data_file: Path) -> None:
    fd = os.open(data_file, os.O_RDWR)
    try:

        def once() -> None:
            address = raw.mmap(0, PAGE, Prot.READ | Prot.WRITE, MapFlag.SHARED, fd, 0)
            raw.write(address + 3, raw.read(address + 3, 1))
            raw.munmap(address, PAGE)

        _soak("raw file", once)
    finally:
        os.close(fd)
