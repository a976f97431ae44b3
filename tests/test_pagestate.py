"""rawmmap.pagestate against the real kernel: pagemap, smaps, soft-dirty, PAGEMAP_SCAN.

Each test maps its own memory and unmaps it. Where the kernel cannot show
what a test looks for, the test skips and says what was observed: pagemap
that does not describe this process (qemu-user maps the guest elsewhere),
no soft-dirty tracking (a kernel without CONFIG_MEM_SOFT_DIRTY, gVisor), no
PAGEMAP_SCAN (Linux before 6.7).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from rawmmap import _foreign, pagestate, raw
from rawmmap.flags import Advice, MapFlag, Prot
from rawmmap.pagestate import PageFlag

from .emulation import SMAPS_IS_NOT_THIS_PROCESS, skip_under_qemu_user

RW = int(Prot.READ | Prot.WRITE)
ANON = int(MapFlag.PRIVATE | MapFlag.ANONYMOUS)
PAGE = raw.page_size()
CAP_SYS_ADMIN = 21


def _pagemap_missing() -> str | None:
    """Say why pagemap cannot be checked here, or None if it describes this process.

    Four pages, the first and third touched: the entries must say exactly
    that, with the other two all zero. Under qemu-user the file is the
    host's, for the host's addresses (and byte order), and this fails.
    """
    address = raw.mmap(0, 4 * PAGE, RW, ANON, -1, 0)
    try:
        raw.write(address, b"t")
        raw.write(address + 2 * PAGE, b"t")
        try:
            states = pagestate.page_state(address, 4 * PAGE)
        except OSError as error:
            return f"/proc/self/pagemap cannot be read: {error}"
        touched = [states[0], states[2]]
        if (
            not all(state.present and not state.swapped for state in touched)
            or list(states.entries)[1::2] != [0, 0]
            or any(entry >> 59 & 0b11 for entry in states.entries)  # bits 59-60 are zero
        ):
            return (
                "/proc/self/pagemap does not describe this process's addresses "
                f"(entries {[hex(entry) for entry in states.entries]} for pages 0 and 2 "
                "touched): an emulator maps them elsewhere"
            )
    finally:
        raw.munmap(address, 4 * PAGE)
    return None


PAGEMAP_MISSING = _pagemap_missing()


needs_smaps = skip_under_qemu_user(SMAPS_IS_NOT_THIS_PROCESS)
pytestmark = pytest.mark.skipif(PAGEMAP_MISSING is not None, reason=str(PAGEMAP_MISSING))


def _effective_capability(number: int) -> bool:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> number & 1)
    return False


@pytest.fixture
def fenced() -> Iterator[int]:
    """Eight read-write anonymous pages between two PROT_NONE pages of their own.

    The fences keep the kernel from merging the eight pages with a
    neighbouring mapping, so smaps shows them as one area of their own.
    Yields the address of the first of the eight.
    """
    base = raw.mmap(0, 10 * PAGE, int(Prot.NONE), ANON, -1, 0)
    raw.mprotect(base + PAGE, 8 * PAGE, RW)
    yield base + PAGE
    raw.munmap(base, 10 * PAGE)


# ---------------------------------------------------------------- pagemap


def test_touched_pages_are_present_and_the_others_are_not(fenced: int) -> None:
    raw.write(fenced + PAGE, b"a")
    raw.write(fenced + 5 * PAGE, b"b")
    states = pagestate.page_state(fenced, 8 * PAGE)
    assert len(states) == 8
    assert states.indices(PageFlag.PRESENT) == [1, 5]
    assert states.count(PageFlag.PRESENT) == 2
    assert [state.present for state in states] == [i in (1, 5) for i in range(8)]


def test_a_private_page_written_by_this_process_alone_is_exclusive(fenced: int) -> None:
    raw.write(fenced, b"x")
    state = pagestate.page_state(fenced, 1)[0]
    assert state.present and state.exclusive
    assert not state.file_or_shared and not state.swapped


def test_dontneed_leaves_the_page_not_present(fenced: int) -> None:
    raw.write(fenced, b"x")
    raw.madvise(fenced, PAGE, int(Advice.DONTNEED))
    state = pagestate.page_state(fenced, PAGE)[0]
    assert not state.present
    assert state.pfn is None


def test_after_fork_a_copy_on_write_page_is_no_longer_exclusive(fenced: int) -> None:
    raw.write(fenced, b"cow")
    assert pagestate.page_state(fenced, PAGE)[0].exclusive
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child: hold the page until told to go
        os.close(write_end)
        os.read(read_end, 1)
        os._exit(0)
    os.close(read_end)
    try:
        shared = pagestate.page_state(fenced, PAGE)[0]
    finally:
        os.write(write_end, b"x")
        os.close(write_end)
        os.waitpid(pid, 0)
    assert shared.present
    assert not shared.exclusive
    raw.write(fenced, b"own")  # the write copies the page: exclusive again
    assert pagestate.page_state(fenced, PAGE)[0].exclusive


def test_shared_anonymous_pages_are_file_or_shared() -> None:
    address = raw.mmap(0, PAGE, RW, int(MapFlag.SHARED | MapFlag.ANONYMOUS), -1, 0)
    try:
        raw.write(address, b"s")
        state = pagestate.page_state(address, PAGE)[0]
        assert state.present and state.file_or_shared
    finally:
        raw.munmap(address, PAGE)


def test_file_pages_are_file_or_shared(data_file: Path) -> None:
    fd = os.open(data_file, os.O_RDONLY)
    try:
        address = raw.mmap(0, PAGE, int(Prot.READ), int(MapFlag.SHARED), fd, 0)
        try:
            raw.read(address, 1)
            state = pagestate.page_state(address, PAGE)[0]
            assert state.present and state.file_or_shared
        finally:
            raw.munmap(address, PAGE)
    finally:
        os.close(fd)


def test_the_pfn_is_shown_only_with_cap_sys_admin(fenced: int) -> None:
    raw.write(fenced, b"p")
    state = pagestate.page_state(fenced, PAGE)[0]
    assert state.pfn is not None
    if _effective_capability(CAP_SYS_ADMIN):
        assert state.pfn > 0
    else:
        assert state.pfn == 0  # zeroed since Linux 4.2


def test_an_unaligned_range_covers_every_page_it_touches(fenced: int) -> None:
    states = pagestate.page_state(fenced + PAGE - 1, 2)
    assert states.address == fenced
    assert len(states) == 2
    assert states.end == fenced + 2 * PAGE


def test_unmapped_pages_read_as_empty_entries(page: int) -> None:
    address = raw.mmap(0, page, RW, ANON, -1, 0)
    raw.munmap(address, page)
    assert list(pagestate.page_state(address, page).entries) == [0]


def test_a_zero_length_has_no_pages(fenced: int) -> None:
    states = pagestate.page_state(fenced, 0)
    assert len(states) == 0
    assert states.ranges(PageFlag.PRESENT) == []


def test_a_gib_range_reads_in_one_pass() -> None:
    size = 1 << 30
    try:
        address = raw.mmap(0, size, RW, ANON | int(MapFlag.NORESERVE), -1, 0)
    except OSError as error:
        pytest.skip(f"no room for a GiB mapping here: {error}")
    try:
        pages = size // PAGE
        for index in range(0, pages, pages // 16):
            raw.write(address + index * PAGE, b"g")
        states = pagestate.page_state(address, size)
        assert len(states) == pages
        assert states.count(PageFlag.PRESENT) == 16
        assert len(states.ranges(PageFlag.PRESENT)) == 16
    finally:
        raw.munmap(address, size)


@pytest.mark.parametrize(
    ("addr", "length", "error"),
    [
        (-1, 1, OverflowError),
        (0, -1, OverflowError),
        (1.0, 1, TypeError),
        ((1 << raw.POINTER_BITS) - PAGE, 2 * PAGE, ValueError),
    ],
)
def test_page_state_bad_arguments_raise_before_reading(
    addr: object, length: object, error: type[Exception]
) -> None:
    with pytest.raises(error, match="page_state"):
        pagestate.page_state(addr, length)  # type: ignore[arg-type]


# ---------------------------------------------------------------- PAGEMAP_SCAN


needs_scan = pytest.mark.skipif(
    not pagestate.has_pagemap_scan(), reason="no PAGEMAP_SCAN ioctl (Linux before 6.7)"
)


@needs_scan
def test_present_ranges_by_scan_and_by_pagemap_agree(fenced: int) -> None:
    for index in (0, 1, 2, 6):
        raw.write(fenced + index * PAGE, b"r")
    expected = [(fenced, fenced + 3 * PAGE), (fenced + 6 * PAGE, fenced + 7 * PAGE)]
    assert pagestate.present_ranges(fenced, 8 * PAGE, use_scan=False) == expected
    assert pagestate.present_ranges(fenced, 8 * PAGE, use_scan=True) == expected


@needs_scan
def test_a_scan_with_more_regions_than_one_call_holds_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pagestate, "_SCAN_REGIONS", 2)
    address = raw.mmap(0, 16 * PAGE, RW, ANON, -1, 0)
    try:
        for index in range(0, 16, 2):
            raw.write(address + index * PAGE, b"e")
        ranges = pagestate.present_ranges(address, 16 * PAGE, use_scan=True)
        assert ranges == [(address + i * PAGE, address + (i + 1) * PAGE) for i in range(0, 16, 2)]
    finally:
        raw.munmap(address, 16 * PAGE)


def test_present_ranges_choose_the_scan_only_for_large_ranges(
    fenced: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[tuple[object, ...]] = []

    def scan(*arguments: object) -> list[tuple[int, int]]:
        asked.append(arguments)
        return []

    monkeypatch.setattr(pagestate, "_scan", scan)
    monkeypatch.setattr(pagestate, "_scan_missing", [False])
    raw.write(fenced, b"s")
    assert pagestate.present_ranges(fenced, 8 * PAGE) == [(fenced, fenced + PAGE)]
    assert asked == []
    monkeypatch.setattr(pagestate, "_SCAN_THRESHOLD_PAGES", 8)
    assert pagestate.present_ranges(fenced, 8 * PAGE) == []
    assert len(asked) == 1


def test_has_pagemap_scan_says_false_where_the_ioctl_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(*arguments: object) -> list[tuple[int, int]]:
        raise OSError(errno.ENOTTY, "no ioctl")

    monkeypatch.setattr(pagestate, "_scan_missing", [])
    monkeypatch.setattr(pagestate, "_scan", refuse)
    assert pagestate.has_pagemap_scan() is False
    assert pagestate.has_pagemap_scan() is False  # cached


# ---------------------------------------------------------------- soft-dirty


def _soft_dirty_missing(address: int) -> str | None:
    """Clear, write one page at ``address``, and say why soft-dirty is not seen, if it is not."""
    try:
        pagestate.clear_soft_dirty()
    except OSError as error:
        return f"/proc/self/clear_refs cannot be written: {error}"
    raw.write(address, b"d")
    if not pagestate.page_state(address, PAGE)[0].soft_dirty:
        return (
            "a page written after clear_refs is not soft-dirty: this kernel does not "
            "track soft-dirty bits (CONFIG_MEM_SOFT_DIRTY, or a sandbox)"
        )
    return None


def test_clear_soft_dirty_is_accepted(fenced: int) -> None:
    try:
        pagestate.clear_soft_dirty()
    except OSError as error:
        pytest.skip(f"/proc/self/clear_refs cannot be written: {error}")
    raw.write(fenced, b"after")  # the kernel write-protected the page; the write goes on
    assert raw.read(fenced, 5) == b"after"


@pytest.mark.parametrize("use_scan", [False, True], ids=["pagemap", "scan"])
def test_after_clear_only_the_page_written_is_soft_dirty(fenced: int, use_scan: bool) -> None:
    if use_scan and not pagestate.has_pagemap_scan():
        pytest.skip("no PAGEMAP_SCAN ioctl (Linux before 6.7)")
    for index in range(8):
        raw.write(fenced + index * PAGE, b"w")  # every page present before the clear
    reason = _soft_dirty_missing(fenced + 3 * PAGE)
    if reason is not None:
        pytest.skip(reason)
    written = pagestate.written_pages(fenced, 8 * PAGE, use_scan=use_scan)
    assert written == [(fenced + 3 * PAGE, fenced + 4 * PAGE)]
    assert pagestate.page_state(fenced, 8 * PAGE).indices(PageFlag.SOFT_DIRTY) == [3]


# ---------------------------------------------------------------- smaps


@needs_smaps
def test_smaps_figures_match_what_was_touched(fenced: int) -> None:
    for index in (0, 2, 4):
        raw.write(fenced + index * PAGE, b"m")
    (area,) = pagestate.smaps(fenced, 8 * PAGE)
    assert (area.start, area.end) == (fenced, fenced + 8 * PAGE)
    assert area.size == 8 * PAGE
    assert area.perms == "rw-p"
    assert area.path == ""
    assert area.rss == area.private_dirty == area.anonymous == 3 * PAGE
    assert area.pss == 3 * PAGE
    assert area.shared_clean == area.shared_dirty == area.swap == area.locked == 0
    assert {"rd", "wr", "mr", "mw"} <= set(area.vm_flags)
    assert set(area.vm_flags) <= set(pagestate.VM_FLAG_NAMES)


@needs_smaps
def test_smaps_shows_mlock_as_its_own_locked_area(fenced: int) -> None:
    try:
        raw.mlock(fenced + 2 * PAGE, 2 * PAGE)
    except OSError as error:
        pytest.skip(f"mlock refused here: {error}")
    try:
        areas = pagestate.smaps(fenced, 8 * PAGE)
        assert [(a.start - fenced, a.end - fenced) for a in areas] == [
            (0, 2 * PAGE),
            (2 * PAGE, 4 * PAGE),
            (4 * PAGE, 8 * PAGE),
        ]
        assert [a.locked for a in areas] == [0, 2 * PAGE, 0]
        assert "lo" in areas[1].vm_flags
        sums = pagestate.total(areas)
        assert sums.areas == 3
        assert sums.size == 8 * PAGE
        assert sums.locked == sums.rss == 2 * PAGE  # mlock faults the pages in
    finally:
        raw.munlock(fenced + 2 * PAGE, 2 * PAGE)


@needs_smaps
def test_smaps_of_a_shared_file_mapping_names_the_file(data_file: Path) -> None:
    fd = os.open(data_file, os.O_RDONLY)
    try:
        address = raw.mmap(0, 2 * PAGE, int(Prot.READ), int(MapFlag.SHARED), fd, PAGE)
        try:
            raw.read(address, 1)
            (area,) = pagestate.smaps(address, 2 * PAGE)
            assert area.path == str(data_file)
            assert area.offset == PAGE
            assert area.perms == "r--s"
            assert area.anonymous == 0
            assert area.rss >= PAGE
            # "ms", not "sh": the kernel drops VM_SHARED from a shared mapping
            # of a file opened read-only (mm/mmap.c), since no write can reach it.
            assert "ms" in area.vm_flags and "sh" not in area.vm_flags
        finally:
            raw.munmap(address, 2 * PAGE)
    finally:
        os.close(fd)


def test_smaps_with_a_zero_length_selects_the_area_holding_addr(fenced: int) -> None:
    areas = pagestate.smaps(fenced + 3 * PAGE + 5, 0)
    assert [(a.start, a.end) for a in areas] == [(fenced, fenced + 8 * PAGE)]


def test_smaps_across_the_fences_returns_every_area(fenced: int) -> None:
    areas = pagestate.smaps(fenced - PAGE, 10 * PAGE)
    assert [a.perms for a in areas] == ["---p", "rw-p", "---p"]


def test_smaps_of_an_unmapped_range_is_empty(page: int) -> None:
    address = raw.mmap(0, 3 * page, RW, ANON, -1, 0)
    raw.munmap(address + page, page)
    try:
        assert pagestate.smaps(address + page, page) == []
    finally:
        raw.munmap(address, 3 * page)


def test_smaps_protection_key_is_shown_where_the_kernel_has_keys(fenced: int) -> None:
    (area,) = pagestate.smaps(fenced, PAGE)
    if _foreign.protection_keys_enabled():
        assert area.protection_key == 0
    else:
        assert area.protection_key is None


def test_smaps_past_the_address_space_raises_valueerror() -> None:
    with pytest.raises(ValueError, match="smaps"):
        pagestate.smaps((1 << raw.POINTER_BITS) - PAGE, 2 * PAGE)
