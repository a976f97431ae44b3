"""What the kernel holds for a Region: page_state, stats, secret and droppable memory.

``Region.page_state`` and ``Region.stats`` are ``rawmmap.pagestate`` on the
region's own pages; ``map_secret`` is memfd_secret(2) memory; a
``MapFlag.DROPPABLE`` mapping and ``MapFlag.SHARED_VALIDATE`` go through
Region like the other mapping types. Every answer is the running kernel's.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

import rawmmap
from rawmmap import Advice, MapFlag, Prot, pagestate, raw
from rawmmap.pagestate import PageFlag

from .emulation import SHARED_VALIDATE_IS_UNKNOWN, skip_under_qemu_user
from .test_pagestate import PAGEMAP_MISSING, needs_smaps

PAGE = rawmmap.page_size()

needs_pagemap = pytest.mark.skipif(PAGEMAP_MISSING is not None, reason=str(PAGEMAP_MISSING))


@needs_pagemap
def test_page_state_after_touch_dontneed_and_fork() -> None:
    with rawmmap.map_anonymous(4 * PAGE) as region:
        region[0] = 1
        region[2 * PAGE] = 1
        states = region.page_state()
        assert len(states) == 4 and states.address == region.address
        assert states.indices(PageFlag.PRESENT) == [0, 2]
        assert states[0].exclusive
        region.madvise(Advice.DONTNEED, 2 * PAGE, PAGE)
        assert region.page_state(2 * PAGE, PAGE).count(PageFlag.PRESENT) == 0
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            os.close(writer)
            os.read(reader, 1)  # alive until the parent has looked
            os._exit(0 if region[0] == 1 else 1)
        os.close(reader)
        try:
            # While the child lives, the page is shared copy-on-write.
            shared = region.page_state(0, PAGE)[0]
        finally:
            os.close(writer)
            _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert shared.present and not shared.exclusive
        region[0] = 2  # the store copies: exclusive again
        assert region.page_state(0, PAGE)[0].exclusive


@needs_pagemap
def test_page_state_takes_a_page_range_and_refuses_holes() -> None:
    with rawmmap.map_anonymous(3 * PAGE) as region:
        region[PAGE] = 1
        assert region.page_state(PAGE).indices(PageFlag.PRESENT) == [0]
        assert len(region.page_state(PAGE, 1)) == 1  # rounded up to the page
        with pytest.raises(ValueError, match="multiple of the page size"):
            region.page_state(1)
        region.munmap(PAGE, PAGE)
        with pytest.raises(ValueError, match="unmapped"):
            region.page_state()
        assert len(region.page_state(2 * PAGE)) == 1


@needs_pagemap
def test_written_pages_after_clear_soft_dirty() -> None:
    with rawmmap.map_anonymous(4 * PAGE) as region:
        region.write(0, bytes(4 * PAGE))
        rawmmap.clear_soft_dirty()
        region[PAGE] = 7
        dirty = region.page_state().indices(PageFlag.SOFT_DIRTY)
        if dirty == []:
            pytest.skip("this kernel does not track soft-dirty bits (CONFIG_MEM_SOFT_DIRTY)")
        assert dirty == [1]


@needs_smaps
def test_stats_cover_the_regions_areas_and_match_what_was_touched() -> None:
    with rawmmap.map_anonymous(8 * PAGE, flags=MapFlag.NORESERVE) as region:
        region.write(0, b"x" * (3 * PAGE))
        areas = region.stats()
        assert areas, "smaps shows no area for the region"
        assert areas[0].start <= region.address and areas[-1].end >= region.address + 8 * PAGE
        totals = pagestate.total(areas)
        assert totals.rss >= 3 * PAGE and totals.private_dirty >= 3 * PAGE
        assert "rd" in areas[0].vm_flags and "wr" in areas[0].vm_flags
        region.mprotect(Prot.READ, 2 * PAGE, 2 * PAGE)
        split = region.stats()
        inside = [a for a in split if region.address <= a.start < region.address + 8 * PAGE]
        perms = [a.perms[:3] for a in split]
        assert "r--" in perms and "rw-" in perms
        assert any(a.start == region.address + 2 * PAGE for a in inside)
        region.munmap(4 * PAGE, PAGE)  # a hole: the areas on both sides, not the hole
        assert all(not (a.start <= region.address + 4 * PAGE < a.end) for a in region.stats())
    with pytest.raises(ValueError, match="unmapped"):
        region.stats()


# ------------------------------------------------------------- secret memory


def _secret_missing() -> str | None:
    if not raw.HAS_MEMFD_SECRET:
        return "no memfd_secret here"
    try:
        os.close(raw.memfd_secret())
    except OSError as error:
        return f"memfd_secret is refused here: {error}"
    return None


needs_secret = pytest.mark.skipif(_secret_missing() is not None, reason=str(_secret_missing()))


@needs_secret
def test_secret_memory_reads_back_and_is_out_of_reach_of_the_kernel() -> None:
    with rawmmap.map_secret(PAGE + 10) as secret:
        assert len(secret) == PAGE + 10 and secret.mapped_length == 2 * PAGE
        secret.write(0, b"hush")
        assert secret.read(0, 4) == b"hush" and secret[PAGE + 9] == 0
        # The kernel itself cannot reach the pages: /proc/self/mem reads
        # go through the kernel's page pinning, which secret memory refuses.
        descriptor = os.open("/proc/self/mem", os.O_RDONLY)
        try:
            with pytest.raises(OSError) as caught:
                os.pread(descriptor, 4, secret.address)
        finally:
            os.close(descriptor)
        assert caught.value.errno in (errno.EIO, errno.EFAULT)
        (area,) = secret.stats()
        assert "secretmem" in area.path
        assert "dd" in area.vm_flags  # never in a core dump
        with secret.view(0, 4) as view:
            assert bytes(view) == b"hush"
        with pytest.raises(ValueError, match="past the end of the file"):
            secret.mremap(4 * PAGE)  # the file is sized once (mm/secretmem.c)


@needs_secret
def test_secret_memory_is_not_shared_with_a_forked_child_by_the_direct_map() -> None:
    with rawmmap.map_secret(PAGE) as secret:
        secret[0] = 42
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            # The child has the mapping (MAP_SHARED) and reads the same page.
            os._exit(0 if secret[0] == 42 else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0


def test_map_secret_checks_its_length_first() -> None:
    with pytest.raises(ValueError, match="positive"):
        rawmmap.map_secret(0)
    with pytest.raises(TypeError):
        rawmmap.map_secret(1.5)  # type: ignore[arg-type]


# ------------------------------------------------------------- mapping types


def _droppable_missing() -> str | None:
    if "DROPPABLE" not in MapFlag.__members__:
        return "no MAP_DROPPABLE here"
    try:
        address = raw.mmap(0, PAGE, 3, MapFlag.DROPPABLE | MapFlag.ANONYMOUS, -1, 0)
    except OSError as error:
        return f"MAP_DROPPABLE is refused here (Linux 6.11, 64-bit): {error}"
    raw.munmap(address, PAGE)
    return None


@pytest.mark.skipif(_droppable_missing() is not None, reason=str(_droppable_missing()))
def test_droppable_memory_maps_through_region_and_is_wiped_in_a_forked_child() -> None:
    with rawmmap.map_anonymous(2 * PAGE, flags=MapFlag.DROPPABLE) as region:
        assert region.flags & MapFlag.DROPPABLE
        region[0] = 9
        assert region[0] == 9
        areas = region.stats()
        assert any("dp" in area.vm_flags for area in areas), areas
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            # mm/mmap.c: a droppable mapping is VM_WIPEONFORK.
            os._exit(0 if region[0] == 0 else 1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    with pytest.raises(ValueError, match="mapping type"):
        rawmmap.map_anonymous(PAGE, shared=True, flags=MapFlag.DROPPABLE | MapFlag.SHARED)


@skip_under_qemu_user(SHARED_VALIDATE_IS_UNKNOWN)
def test_shared_validate_maps_a_file_and_names_the_unsupported_flag(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_bytes(bytes(PAGE))
    with open(path, "r+b") as file:
        with rawmmap.mmap(
            PAGE, Prot.READ | Prot.WRITE, MapFlag.SHARED_VALIDATE, file.fileno()
        ) as region:
            region[0] = 1
            assert "SHARED_VALIDATE" in repr(region)
        assert path.read_bytes()[0] == 1
        if "SYNC" not in MapFlag.__members__:  # pragma: no cover - not Linux x86/arm
            return
        with pytest.raises(OSError) as caught:
            rawmmap.mmap(
                PAGE,
                Prot.READ | Prot.WRITE,
                MapFlag.SHARED_VALIDATE | MapFlag.SYNC,
                file.fileno(),
            )
    # EOPNOTSUPP off a DAX file system (mmap(2), MAP_SYNC); tmp_path is not DAX.
    assert caught.value.errno == errno.EOPNOTSUPP
    assert "SHARED_VALIDATE|SYNC" in str(caught.value)
