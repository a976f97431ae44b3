"""Moving a Region with mremap(2): DONTUNMAP, moving into another Region, huge pages.

The issue's rules: the old range of a DONTUNMAP move stays mapped and gets
an owner (a Region is returned); a move may land only on memory a Region
owns (``into=``, which the move consumes); hugetlb mappings are sized and
aligned in huge pages. Everything runs against the kernel of this machine.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import rawmmap
from rawmmap import Advice, MapFlag, Prot, Region, raw
from rawmmap.shm import MemfdFlag, map_memfd

from .emulation import (
    HUGETLB_MAP_IS_EINVAL,
    OVERCOMMIT_IS_NOT_HEURISTIC,
    skip_under_qemu_user,
    under_qemu_user,
)
from .support import is_mapped

PAGE = rawmmap.page_size()
RW = Prot.READ | Prot.WRITE

pytestmark = pytest.mark.skipif(not raw.HAS_MREMAP, reason="mremap(2) is Linux-only")


def kernel_has_dontunmap() -> bool:
    """Whether mremap(MREMAP_DONTUNMAP) works on private anonymous memory here."""
    address = raw.mmap(0, PAGE, RW, MapFlag.PRIVATE | MapFlag.ANONYMOUS, -1, 0)
    try:
        moved = raw.mremap(address, PAGE, PAGE, 1 | 4)  # MAYMOVE | DONTUNMAP
    except OSError:
        raw.munmap(address, PAGE)
        return False
    kept = is_mapped(address)  # qemu-user takes DONTUNMAP for a plain move
    raw.munmap(address, PAGE)
    raw.munmap(moved, PAGE)
    return kept


needs_dontunmap = pytest.mark.skipif(
    not kernel_has_dontunmap(), reason="this kernel (or emulator) lacks MREMAP_DONTUNMAP"
)


def anon(pages: int, *, shared: bool = False) -> Region:
    return rawmmap.map_anonymous(pages * PAGE, shared=shared)


# ---------------------------------------------------------------- DONTUNMAP


@needs_dontunmap
def test_dontunmap_moves_the_pages_and_returns_the_empty_old_range() -> None:
    region = anon(2)
    region[0:5] = b"hello"
    region[PAGE : PAGE + 3] = b"two"
    before = region.address
    old = region.mremap(2 * PAGE, dontunmap=True)
    try:
        assert isinstance(old, Region)
        assert old.address == before != region.address
        assert (old.length, old.prot, old.flags) == (region.length, region.prot, region.flags)
        assert region.read(0, 5) == b"hello"
        assert region.read(PAGE, 3) == b"two"
        # Private anonymous: the old range is mapped, and empty (zero-fill).
        assert old.read() == bytes(2 * PAGE)
        old[0:3] = b"new"
        assert region.read(0, 5) == b"hello"
    finally:
        old.munmap()
        region.munmap()
    assert not is_mapped(before, 2 * PAGE)


@needs_dontunmap
def test_dontunmap_of_a_file_mapping_keeps_both_ranges_on_the_file(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"file-data".ljust(PAGE, b"\0"))
    region = rawmmap.map_file(path, prot=RW)
    try:
        old = region.mremap(PAGE, dontunmap=True)
    except OSError as error:  # kernels before 5.13: private anonymous memory only
        region.munmap()
        assert error.errno == errno.EINVAL
        pytest.skip("this kernel moves only private anonymous memory with DONTUNMAP")
    try:
        assert region.read(0, 9) == old.read(0, 9) == b"file-data"
        region[0:4] = b"FILE"
        region.msync()
        assert old.read(0, 4) == b"FILE"  # both map the same file page
        assert path.read_bytes()[:4] == b"FILE"
    finally:
        old.munmap()
        region.munmap()


@needs_dontunmap
def test_the_old_range_is_owned_dropping_it_unmaps_it() -> None:
    region = anon(1)
    old = region.mremap(PAGE, dontunmap=True)
    address = old.address
    with pytest.warns(ResourceWarning):
        del old
    assert not is_mapped(address)
    region.munmap()


@needs_dontunmap
def test_dontunmap_keeps_the_length(page: int) -> None:
    region = anon(2)
    try:
        for new_length in (PAGE, 3 * PAGE):
            with pytest.raises(ValueError, match="old_size must equal new_size"):
                region.mremap(new_length, dontunmap=True)
        # A length inside the same last page is the same mapping.
        old = region.mremap(2 * PAGE - 1, dontunmap=True)
        assert region.length == 2 * PAGE - 1
        old.munmap()
    finally:
        region.munmap()


def test_moves_need_may_move() -> None:
    region, other = anon(1), anon(1)
    try:
        with pytest.raises(ValueError, match="may_move=True"):
            region.mremap(PAGE, may_move=False, dontunmap=True)
        with pytest.raises(ValueError, match="may_move=True"):
            region.mremap(PAGE, may_move=False, into=other)
        assert not other.closed
    finally:
        region.munmap()
        other.munmap()


# ---------------------------------------------------------------- into=


def test_a_move_into_another_region_consumes_it() -> None:
    region, target = anon(1), anon(4)
    region[0:5] = b"hello"
    source, destination = region.address, target.address
    region.mremap(3 * PAGE, into=target)
    try:
        assert target.closed
        assert region.address == destination
        assert region.length == 3 * PAGE
        assert region.read(0, 5) == b"hello"
        assert region.read(PAGE, PAGE) == bytes(PAGE)  # grown pages are zero
        assert not is_mapped(source)  # moved: the old range is gone
        assert not is_mapped(destination + 3 * PAGE)  # the rest of the target too
        with pytest.raises(ValueError, match="unmapped"):
            target.read(0, 1)
    finally:
        region.munmap()
        target.munmap()  # idempotent on a consumed Region


def test_a_move_into_another_region_may_shrink() -> None:
    region, target = anon(3), anon(1)
    region[0:2] = b"ok"
    region.mremap(PAGE, into=target)
    assert region.read(0, 2) == b"ok"
    assert len(region) == PAGE
    region.munmap()


@needs_dontunmap
def test_dontunmap_into_another_region() -> None:
    region, target = anon(1), anon(1)
    region[0:2] = b"ok"
    old = region.mremap(PAGE, dontunmap=True, into=target)
    try:
        assert target.closed
        assert region.read(0, 2) == b"ok"
        assert old.read(0, 2) == b"\0\0"
    finally:
        old.munmap()
        region.munmap()


def test_into_must_be_owned_memory_that_fits() -> None:
    region = anon(2)
    small, gone, holed = anon(1), anon(2), anon(2)
    gone.munmap()
    holed.munmap(PAGE, PAGE)
    try:
        with pytest.raises(ValueError, match="the move needs"):
            region.mremap(2 * PAGE, into=small)
        with pytest.raises(ValueError, match="is unmapped"):
            region.mremap(2 * PAGE, into=gone)
        with pytest.raises(ValueError, match="unmapped"):
            region.mremap(2 * PAGE, into=holed)
        with pytest.raises(ValueError, match="another Region"):
            region.mremap(2 * PAGE, into=region)
        with pytest.raises(TypeError, match="must be a Region"):
            region.mremap(2 * PAGE, into=small.address)  # type: ignore[call-overload]
        assert not small.closed and not holed.closed
        assert region.read(0, 1) == b"\0"
    finally:
        for each in (region, small, holed):
            each.munmap()


def test_views_of_either_side_refuse_a_move() -> None:
    region, target = anon(1), anon(1)
    view = target.view()
    with pytest.raises(BufferError, match="into="):
        region.mremap(PAGE, into=target)
    view.release()
    view = region.view()
    with pytest.raises(BufferError):
        region.mremap(PAGE, into=target)
    view.release()
    region.mremap(PAGE, into=target)
    region.munmap()


def test_mixed_protection_cannot_move() -> None:
    region, target = anon(2), anon(2)
    region.mprotect(Prot.READ, PAGE, PAGE)
    try:
        with pytest.raises(ValueError, match="several areas"):
            region.mremap(2 * PAGE, into=target)
        region.mprotect(RW, PAGE, PAGE)
        try:
            region.mremap(2 * PAGE, into=target)  # uniform again
        except ValueError as error:  # the kernel may keep two areas: EFAULT, said
            assert "EFAULT" in str(error)
    finally:
        region.munmap()
        target.munmap()


def test_a_move_from_a_callback_of_the_target_is_refused() -> None:
    region, target = anon(1), anon(3)
    # Mixed, and a read of more than two pages: it takes the checked path.
    target.mprotect(Prot.READ, PAGE, PAGE)
    seen: list[str] = []
    original = target._check_access

    def check_and_move(start: int, stop: int, need: int, action: str, tail: bool = False) -> None:
        original(start, stop, need, action, tail)
        try:
            region.mremap(PAGE, into=target)
        except RuntimeError as error:
            seen.append(str(error))

    target._check_access = check_and_move  # type: ignore[method-assign]
    assert target.read(0, 3 * PAGE) == bytes(3 * PAGE)
    del target._check_access
    assert len(seen) == 1
    assert "the into= Region" in seen[0]
    assert not target.closed
    region.munmap()
    target.munmap()


def test_two_threads_moving_into_each_other_do_not_deadlock() -> None:
    import threading

    errors: list[BaseException] = []
    for _ in range(50):
        first, second = anon(1), anon(1)

        def move(a: Region, b: Region) -> None:
            try:
                a.mremap(PAGE, into=b)
            except ValueError as error:  # the other move consumed this one first
                errors.append(error)

        threads = [
            threading.Thread(target=move, args=(first, second)),
            threading.Thread(target=move, args=(second, first)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
            assert not thread.is_alive()
        assert first.closed != second.closed  # exactly one move happened
        first.munmap()
        second.munmap()
    assert len(errors) == 50


def test_shared_anonymous_memory_moves_with_its_object() -> None:
    region, target = anon(2, shared=True), anon(2)
    region[0:2] = b"sh"
    region.mremap(2 * PAGE, into=target)
    assert region.read(0, 2) == b"sh"
    with pytest.raises(ValueError, match="shared anonymous"):
        region.mremap(3 * PAGE)
    region.munmap()


def test_a_file_mapping_cannot_move_onto_pages_past_its_end(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * PAGE)
    region, target = rawmmap.map_file(path), anon(2)
    try:
        with pytest.raises(ValueError, match="past the end of the file"):
            region.mremap(2 * PAGE, into=target)
        assert not target.closed
        with open(path, "r+b") as file:
            file.truncate(2 * PAGE)
        region.mremap(2 * PAGE, into=target)
        assert region.read(0, 1) == b"x"
    finally:
        region.munmap()
        target.munmap()


# ---------------------------------------------------------------- huge pages


def _huge_pages_total() -> int:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("HugePages_Total:"):
                return int(line.split()[1])
    return 0  # pragma: no cover


@pytest.fixture
def huge_pages() -> Iterator[int]:
    """Two 2 MiB huge pages in the pool (set up as root, restored after); the size."""
    if under_qemu_user():
        pytest.skip("qemu-user maps MAP_HUGETLB in guest pages and writes smaps itself")
    if not os.path.exists("/sys/kernel/mm/hugepages/hugepages-2048kB"):
        pytest.skip("no 2 MiB huge pages on this machine")
    knob = "/proc/sys/vm/nr_hugepages"
    with open(knob) as file:
        before = int(file.read())
    if before < 2:
        try:
            with open(knob, "w") as file:
                file.write(str(before + 2))
        except OSError:
            pytest.skip("no huge pages configured, and setting vm.nr_hugepages needs root")
    try:
        if _huge_pages_total() < 2:
            pytest.skip("the kernel could not reserve two huge pages")
        yield 2 << 20
    finally:
        if before < 2:
            with open(knob, "w") as file:
                file.write(str(before))


def test_hugetlb_region_is_sized_and_aligned_in_huge_pages(huge_pages: int) -> None:
    region = rawmmap.map_anonymous(huge_pages + 100, flags=MapFlag.HUGETLB | MapFlag.HUGE_2MB)
    try:
        assert region.page_size == huge_pages
        assert region.mapped_length == 2 * huge_pages
        assert region.address % huge_pages == 0
        region[0:5] = b"hello"
        assert region.read(2 * huge_pages - 1, 1, tail=True) == b"\0"
        with pytest.raises(ValueError, match="huge page size"):
            region.munmap(PAGE, PAGE)
        region.munmap(huge_pages)  # the whole second huge page
        assert region.mapped_length == 2 * huge_pages
        with pytest.raises(ValueError, match="unmapped"):
            region.read(huge_pages, 1)
        region.mprotect(Prot.READ, 0, huge_pages)
        with pytest.raises(rawmmap.ProtectionError):
            region[0] = 1
        try:
            region.madvise(Advice.DONTNEED, 0, 1)  # rounded up to the huge page
        except OSError as error:
            if error.errno != errno.EINVAL:
                raise
            # Seen on Linux 5.10: hugetlb mappings took MADV_DONTNEED only
            # from 5.18 (commit 90e7e7f5ef3f, "mm: enable MADV_DONTNEED for
            # hugetlb mappings").
            pytest.skip(f"MADV_DONTNEED of a hugetlb mapping is EINVAL here: {error}")
        assert region.read(0, 5) == bytes(5)
    finally:
        region.munmap()
    assert not is_mapped(region._address, PAGE)


def test_hugetlb_region_shrinks_but_does_not_grow(huge_pages: int) -> None:
    region = rawmmap.map_anonymous(2 * huge_pages, flags=MapFlag.HUGETLB)
    try:
        assert region.page_size == huge_pages  # the default size, from the kernel
        with pytest.raises(ValueError, match="huge pages"):
            region.mremap(3 * huge_pages)
        end = region.address + huge_pages
        region.mremap(100)
        assert region.mapped_length == huge_pages
        assert not is_mapped(end, PAGE)
    finally:
        region.munmap()


def test_hugetlb_memfd_regions_know_their_page_size(huge_pages: int) -> None:
    with pytest.raises(OSError, match="multiple"):
        map_memfd(100, flags=MemfdFlag.HUGETLB | MemfdFlag.HUGE_2MB)
    memory = map_memfd(huge_pages, flags=MemfdFlag.HUGETLB)
    try:
        assert memory.region.page_size == huge_pages
        memory.region[0:3] = b"abc"
        again = rawmmap.map_file(memory.fd)
        assert again.page_size == huge_pages
        assert again.read(0, 3) == b"abc"
        with pytest.raises(ValueError, match="huge page size"):
            again.madvise(Advice.WILLNEED, PAGE)
        again.munmap()
    finally:
        memory.close()


@skip_under_qemu_user(HUGETLB_MAP_IS_EINVAL)
def test_a_1gb_huge_page_without_a_pool_is_the_kernels_enomem() -> None:
    if not os.path.exists("/sys/kernel/mm/hugepages/hugepages-1048576kB"):
        pytest.skip("no 1 GiB huge pages on this machine")
    with open("/sys/kernel/mm/hugepages/hugepages-1048576kB/free_hugepages") as file:
        if int(file.read()):
            pytest.skip("1 GiB huge pages are free here")
    with pytest.raises(OSError) as caught:
        rawmmap.map_anonymous(1 << 30, flags=MapFlag.HUGETLB | MapFlag.HUGE_1GB)
    assert caught.value.errno == errno.ENOMEM


@pytest.mark.parametrize("name", ["HUGEPAGE", "NOHUGEPAGE", "COLLAPSE"])
def test_transparent_huge_page_advice_passes_through_region(name: str) -> None:
    if not hasattr(Advice, name):
        pytest.skip(f"no MADV_{name} here")
    region = rawmmap.map_anonymous(4 << 20)
    try:
        region[0:1] = b"x"
        try:
            region.madvise(getattr(Advice, name))
        except OSError as error:
            # THP disabled ("never"), or COLLAPSE before 6.1 / without THP.
            assert error.errno in (errno.EINVAL, errno.EAGAIN, errno.ENOMEM), error
            pytest.skip(f"the kernel refuses MADV_{name}: {error}")
        assert region.read(0, 1) == b"x"
    finally:
        region.munmap()


@pytest.mark.skipif(sys.maxsize < 1 << 40, reason="needs a 64-bit address space")
@pytest.mark.skipif(under_qemu_user(), reason="qemu-user answers mremap in its own guest space")
@skip_under_qemu_user(OVERCOMMIT_IS_NOT_HEURISTIC)
def test_a_move_the_kernel_refuses_leaves_the_region_where_it_was() -> None:
    region = rawmmap.map_anonymous(PAGE)
    try:
        region[0] = 5
        address = region.address
        with pytest.raises(OSError) as caught:
            region.mremap(1 << 46)  # 64 TiB: no room, even moving (ENOMEM)
        assert caught.value.errno in (errno.ENOMEM, errno.EINVAL)
        assert region.address == address and len(region) == PAGE and region[0] == 5
        with region.view(0, 1) as view:
            assert view[0] == 5
    finally:
        region.munmap()


def test_resize_of_a_file_opened_read_only_says_so(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_bytes(bytes(PAGE))
    with rawmmap.map_file(path) as region:  # opened O_RDONLY from the path
        with pytest.raises(OSError, match="opened read-only"):
            region.resize(2 * PAGE)
        assert len(region) == PAGE and path.stat().st_size == PAGE
