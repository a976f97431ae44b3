"""Guard pages through Region: MADV_GUARD_INSTALL / MADV_GUARD_REMOVE (Linux 6.13).

A guard page faults on any access; Region records guards in its page map,
like PROT_NONE pages, so reads, writes, views and searches raise
ProtectionError instead, and a child process shows the kernel's SIGSEGV.
"""

from __future__ import annotations

import os

import pytest

import rawmmap
from rawmmap import Advice, Prot, ProtectionError, Region, raw

from .conftest import RunChild
from .emulation import MADVISE_IS_EMULATED, is_missing

PAGE = rawmmap.page_size()


def _kernel_has_guards() -> bool:
    if not hasattr(Advice, "GUARD_INSTALL") or is_missing(MADVISE_IS_EMULATED):
        return False  # qemu-user answers madvise itself: 0, and no guard
    address = raw.mmap(0, PAGE, 3, rawmmap.MapFlag.PRIVATE | rawmmap.MapFlag.ANONYMOUS, -1, 0)
    try:
        raw.madvise(address, PAGE, Advice.GUARD_INSTALL)
    except OSError:
        return False
    finally:
        raw.munmap(address, PAGE)
    return True


pytestmark = pytest.mark.skipif(
    not _kernel_has_guards(), reason="this kernel has no guard regions (Linux 6.13)"
)


def anon(pages: int = 3) -> Region:
    return rawmmap.map_anonymous(pages * PAGE)


def test_guard_pages_raise_instead_of_faulting() -> None:
    with anon() as region:
        region[PAGE : PAGE + 4] = b"lost"
        region.guard(PAGE, PAGE)
        for attempt in (
            lambda: region.read(PAGE, 1),
            lambda: region.write(PAGE + 10, b"x"),
            lambda: region[PAGE],
            lambda: region.view(PAGE, 8),
            lambda: region.find(b"lost"),
        ):
            with pytest.raises(ProtectionError, match="guard"):
                attempt()
        assert region.read(0, 4) == bytes(4)  # the neighbours are untouched
        region[2 * PAGE] = 7
        assert region.protection(PAGE) == Prot.READ | Prot.WRITE
        region.unguard(PAGE, PAGE)
        assert region.read(PAGE, 4) == bytes(4)  # installing dropped the contents


def test_a_whole_guarded_region_leaves_the_fast_path() -> None:
    with anon(1) as region:
        region.guard()
        with pytest.raises(ProtectionError):
            region.read(0, 1)
        with pytest.raises(ProtectionError):
            region[0] = 1
        region.unguard()
        region[0] = 1
        assert region[0] == 1


def test_madvise_guard_advice_is_the_same_as_guard() -> None:
    with anon(2) as region:
        region.madvise(Advice.GUARD_INSTALL, 0, PAGE)
        with pytest.raises(ProtectionError):
            region.read(0, 1)
        region.madvise(Advice.GUARD_REMOVE, 0, PAGE)
        assert region.read(0, 1) == b"\0"


def test_guards_survive_mprotect_and_dontneed() -> None:
    with anon(2) as region:
        region.guard(0, PAGE)
        region.mprotect(Prot.READ)
        region.madvise(Advice.DONTNEED)
        with pytest.raises(ProtectionError, match="guard"):
            region.read(0, 1)
        region.unguard(0, PAGE)
        assert region.read(0, 1) == b"\0"
        assert region.protection(0) == Prot.READ


def test_guard_over_a_live_view_is_refused() -> None:
    with anon(2) as region:
        view = region.view(0, 8)
        with pytest.raises(BufferError):
            region.guard(0, PAGE)
        region.guard(PAGE, PAGE)  # another page: fine
        view.release()


def test_guard_of_an_unmapped_range_is_refused() -> None:
    with anon(2) as region:
        region.munmap(PAGE, PAGE)
        with pytest.raises(ValueError, match="unmapped"):
            region.guard()


def test_guard_from_inside_another_call_is_refused() -> None:
    with anon(3) as region:
        # Mixed, and a read of more than two pages: it takes the checked path.
        region.mprotect(Prot.READ, PAGE, PAGE)
        seen: list[str] = []
        original = region._check_access

        def check_and_guard(
            start: int, stop: int, need: int, action: str, tail: bool = False
        ) -> None:
            original(start, stop, need, action, tail)
            try:
                region.guard(0, PAGE)
            except RuntimeError as error:
                seen.append(str(error))

        region._check_access = check_and_guard  # type: ignore[method-assign]
        assert region.read(0, 3 * PAGE) == bytes(3 * PAGE)
        del region._check_access
        assert len(seen) == 1


def test_guarded_pages_fault_through_raw_in_a_child(run_child: RunChild) -> None:
    result = run_child(
        f"""
        import rawmmap
        r = rawmmap.map_anonymous({2 * PAGE})
        r.guard(0, {PAGE})
        try:
            r.read(0, 1)
        except rawmmap.ProtectionError:
            print("refused")
        import sys; sys.stdout.flush()
        rawmmap.raw.read(r.address, 1)
        """
    )
    assert result.stdout.strip() == "refused"
    assert result.returncode == -11  # SIGSEGV


def test_guards_are_kept_in_a_forked_child() -> None:
    region = anon(2)
    region.guard(0, PAGE)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            region.read(0, 1)
        except ProtectionError:
            os._exit(0)
        os._exit(1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    region.munmap()


def test_growing_a_guarded_region_gives_unguarded_pages() -> None:
    region = anon(1)
    region.guard()
    region.mremap(2 * PAGE)
    try:
        with pytest.raises(ProtectionError):
            region.read(0, 1)
        assert region.read(PAGE, 1) == b"\0"
    finally:
        region.munmap()


def test_a_dontunmap_move_of_a_guarded_region_leaves_no_guard_behind() -> None:
    region = anon(1)
    region.guard()
    try:
        old = region.mremap(PAGE, dontunmap=True)
    except OSError:
        region.munmap()
        pytest.skip("no MREMAP_DONTUNMAP here")
    try:
        with pytest.raises(ProtectionError):
            region.read(0, 1)  # the guard moved with the page tables
        assert old.read(0, 1) == b"\0"
    finally:
        old.munmap()
        region.munmap()
