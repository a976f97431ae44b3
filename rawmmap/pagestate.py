"""Per-page state of an address range, as the kernel reports it (Linux).

What a kernel tester looks at after every call, on plain integer addresses
(``Region`` translates its offsets and calls these):

* ``page_state(addr, length)`` reads ``/proc/self/pagemap``: one 64-bit
  entry per page (present, swapped, file-page or shared-anon, guard,
  uffd-wp, exclusively mapped, soft-dirty, and the page frame number where
  the process may read it) as a ``PageStates``, a compact wrapper around an
  ``array('Q')`` that counts and finds pages in C time, so a GiB range
  (262,144 pages of 4 KiB) costs one 2 MiB read. ``PageStates[i]`` is a
  ``PageState`` named tuple.
* ``smaps(addr, length)`` reads ``/proc/self/smaps`` for every mapping
  (VMA) that overlaps the range: one ``MappingStats`` per area, with the
  kernel's figures for the *whole* area (smaps does not split an area at
  the range's ends), in bytes; ``total(areas)`` sums them.
* ``clear_soft_dirty()`` writes ``4`` to ``/proc/self/clear_refs``; after
  it, ``written_pages(addr, length)`` returns the ranges written since, from
  the soft-dirty bits. For large ranges it asks the kernel's
  ``PAGEMAP_SCAN`` ioctl (Linux 6.7), which returns the ranges themselves;
  elsewhere, or when that ioctl is missing, it reads pagemap.
* ``present_ranges(addr, length)``: the ranges whose pages are present,
  by the same two paths.

Sources: Documentation/admin-guide/mm/pagemap.rst (the entry's bits and
PAGEMAP_SCAN), Documentation/admin-guide/mm/soft-dirty.rst,
Documentation/filesystems/proc.rst (smaps and its VmFlags), and
include/uapi/linux/fs.h (struct pm_scan_arg, struct page_region, the
PAGE_IS_* categories).

Nothing here maps, touches or changes memory except ``clear_soft_dirty``,
which clears the soft-dirty bits of the *whole* process. The kernel must
be built with CONFIG_MEM_SOFT_DIRTY for soft-dirty bits to be set at all;
without it (and under gVisor) they read as clear everywhere.
"""

from __future__ import annotations

import array
import enum
import fcntl
import os
import re
import sys
from typing import NamedTuple, overload

from rawmmap import raw
from rawmmap._cint import check_range

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = [
    "PAGEMAP_SCAN",
    "VM_FLAG_NAMES",
    "MappingStats",
    "MappingTotals",
    "PageFlag",
    "PageState",
    "PageStates",
    "ScanCategory",
    "clear_soft_dirty",
    "has_pagemap_scan",
    "page_state",
    "present_ranges",
    "smaps",
    "total",
    "written_pages",
]

_PAGE = raw.page_size()
_ADDRESS_LIMIT = 1 << raw.POINTER_BITS
_PAGEMAP = "/proc/self/pagemap"
_ENTRY_BYTES = 8


class PageFlag(enum.IntFlag):
    """The flag bits of a pagemap entry (Documentation/admin-guide/mm/pagemap.rst)."""

    #: Bit 55: the PTE is soft-dirty (written since the last clear_soft_dirty).
    SOFT_DIRTY = 1 << 55
    #: Bit 56: the page is exclusively mapped (since Linux 4.2).
    EXCLUSIVE = 1 << 56
    #: Bit 57: the PTE is write-protected by userfaultfd (since Linux 5.13).
    UFFD_WP = 1 << 57
    #: Bit 58: the PTE is a guard region, MADV_GUARD_INSTALL (since Linux 6.15).
    GUARD = 1 << 58
    #: Bit 61: the page is a file page or shared anonymous (since Linux 3.5).
    FILE_OR_SHARED = 1 << 61
    #: Bit 62: the page is swapped out.
    SWAPPED = 1 << 62
    #: Bit 63: the page is present in memory.
    PRESENT = 1 << 63


#: Bits 0-54 of an entry: the page frame number if present, swap type
#: (bits 0-4) and offset (bits 5-54) if swapped. The PFN reads as zero
#: without CAP_SYS_ADMIN (since Linux 4.2).
_FRAME_MASK = (1 << 55) - 1
_SWAP_TYPE_BITS = 5


class PageState(NamedTuple):
    """One page's pagemap entry, decoded."""

    #: The page is present in memory (bit 63).
    present: bool
    #: The page is swapped out (bit 62).
    swapped: bool
    #: A file page or shared anonymous memory (bit 61).
    file_or_shared: bool
    #: The PTE is a guard region (bit 58, Linux 6.15).
    guard: bool
    #: Write-protected by userfaultfd (bit 57).
    uffd_wp: bool
    #: Exclusively mapped: no other process maps this page (bit 56).
    exclusive: bool
    #: Soft-dirty: written since the last clear_soft_dirty() (bit 55).
    soft_dirty: bool
    #: Bits 0-54 as the kernel wrote them (see ``pfn``, ``swap_type``).
    frame: int

    @classmethod
    def from_entry(cls, entry: int) -> PageState:
        """Decode one 64-bit pagemap entry."""
        return cls(
            bool(entry & PageFlag.PRESENT),
            bool(entry & PageFlag.SWAPPED),
            bool(entry & PageFlag.FILE_OR_SHARED),
            bool(entry & PageFlag.GUARD),
            bool(entry & PageFlag.UFFD_WP),
            bool(entry & PageFlag.EXCLUSIVE),
            bool(entry & PageFlag.SOFT_DIRTY),
            entry & _FRAME_MASK,
        )

    @property
    def pfn(self) -> int | None:
        """The page frame number of a present page (0 without CAP_SYS_ADMIN), else None."""
        return self.frame if self.present and not self.swapped else None

    @property
    def swap_type(self) -> int | None:
        """The swap file's number for a swapped page, else None."""
        return self.frame & ((1 << _SWAP_TYPE_BITS) - 1) if self.swapped else None

    @property
    def swap_offset(self) -> int | None:
        """The page's offset in its swap file for a swapped page, else None."""
        return self.frame >> _SWAP_TYPE_BITS if self.swapped else None


def _flag_bytes(flag: int) -> tuple[int, int] | None:
    """Return (byte index in an entry, bit mask) if ``flag``'s bits share one byte."""
    flag = int(flag)
    if flag <= 0 or flag >> 64:
        return None
    low = (flag & -flag).bit_length() - 1
    high = flag.bit_length() - 1
    if low // 8 != high // 8:
        return None
    byte = low // 8 if sys.byteorder == "little" else 7 - low // 8
    return byte, flag >> (low // 8 * 8)


_ONE_RUNS = re.compile(b"\x01+")


class PageStates:
    """The pagemap entries of consecutive pages, starting at ``address``.

    A sequence of ``PageState`` (``states[i]``, ``len(states)``, iteration,
    slices), plus the raw ``entries`` (an ``array('Q')``) and fast queries:
    ``count(flag)``, ``indices(flag)`` and ``ranges(flag)`` find the pages
    with every bit of a ``PageFlag`` set in C time (a bytes translation and
    a regular expression over one byte per page), not one Python step per
    page.
    """

    __slots__ = ("address", "entries", "page_size")

    def __init__(self, address: int, entries: array.array[int], page_size: int = _PAGE) -> None:
        #: The page-aligned address of the first page.
        self.address = address
        #: One 64-bit pagemap entry per page.
        self.entries = entries
        #: The page size the entries are counted in.
        self.page_size = page_size

    @property
    def end(self) -> int:
        """The address just past the last page."""
        return self.address + len(self.entries) * self.page_size

    def __len__(self) -> int:
        return len(self.entries)

    @overload
    def __getitem__(self, index: int) -> PageState: ...
    @overload
    def __getitem__(self, index: slice) -> PageStates: ...

    def __getitem__(self, index: int | slice) -> PageState | PageStates:
        """Return one page's state, or the states of a slice of pages (step 1)."""
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self.entries))
            if step != 1:
                raise ValueError("PageStates slices must have step 1")
            return PageStates(
                self.address + start * self.page_size,
                self.entries[start:stop],
                self.page_size,
            )
        return PageState.from_entry(self.entries[index])

    def __iter__(self) -> Iterator[PageState]:
        return (PageState.from_entry(entry) for entry in self.entries)

    def __repr__(self) -> str:
        return (
            f"<PageStates {len(self)} pages at {self.address:#x}: "
            f"{self.count(PageFlag.PRESENT)} present, {self.count(PageFlag.SWAPPED)} swapped>"
        )

    def _marks(self, flag: int) -> bytes:
        """One byte per page: 1 where every bit of ``flag`` is set, else 0."""
        located = _flag_bytes(flag)
        if located is None:
            flag = int(flag)
            return bytes(1 if entry & flag == flag else 0 for entry in self.entries)
        byte, mask = located
        table = bytes(1 if value & mask == mask else 0 for value in range(256))
        return self.entries.tobytes()[byte::_ENTRY_BYTES].translate(table)

    def count(self, flag: int) -> int:
        """Return how many pages have every bit of ``flag`` (a ``PageFlag``) set."""
        return self._marks(flag).count(1)

    def indices(self, flag: int) -> list[int]:
        """Return the indices of the pages with every bit of ``flag`` set."""
        marks = self._marks(flag)
        found: list[int] = []
        for run in _ONE_RUNS.finditer(marks):
            found.extend(range(run.start(), run.end()))
        return found

    def ranges(self, flag: int) -> list[tuple[int, int]]:
        """Return the (start, end) addresses of the runs of pages with ``flag`` set."""
        size = self.page_size
        base = self.address
        return [
            (base + run.start() * size, base + run.end() * size)
            for run in _ONE_RUNS.finditer(self._marks(flag))
        ]


def _page_span(call: str, addr: int, length: int) -> tuple[int, int]:
    """Return the first page and the page count covering ``[addr, addr + length)``."""
    addr = check_range(call, "addr", addr, "void *")
    length = check_range(call, "length", length, "size_t")
    if addr + length > _ADDRESS_LIMIT:
        raise ValueError(
            f"{call}: addr={addr:#x} + length={length} runs past the end of the address space"
        )
    first = addr // _PAGE
    last = -(-(addr + length) // _PAGE)
    return first, last - first


def page_state(addr: int, length: int) -> PageStates:
    """Read the pagemap entries of the pages covering ``[addr, addr + length)``.

    ``addr`` need not be aligned: the result starts at the page holding it
    and ends with the page holding its last byte. Pages with nothing mapped
    read as all-zero entries (not present, not swapped), so a range may
    cross unmapped holes.

    Returns:
        A ``PageStates`` of ``ceil`` pages; empty for a zero length.

    Raises:
        OSError: /proc/self/pagemap cannot be read (ENOENT without procfs,
            EPERM or EACCES where a sandbox hides it).
        OverflowError, TypeError, ValueError: addr or length does not fit,
            or the range runs past the address space.
    """
    first, count = _page_span("page_state", addr, length)
    entries = array.array("Q")
    if count == 0:
        return PageStates(first * _PAGE, entries)
    wanted = count * _ENTRY_BYTES
    fd = os.open(_PAGEMAP, os.O_RDONLY | os.O_CLOEXEC)
    try:
        offset = first * _ENTRY_BYTES
        data = bytearray()
        while len(data) < wanted:
            chunk = os.pread(fd, wanted - len(data), offset + len(data))
            if not chunk:  # the end of the address space: nothing mapped there
                break
            data += chunk
    finally:
        os.close(fd)
    data += bytes(wanted - len(data))
    entries.frombytes(bytes(data))
    return PageStates(first * _PAGE, entries)


# ---------------------------------------------------------------- PAGEMAP_SCAN


class ScanCategory(enum.IntFlag):
    """Page categories of the PAGEMAP_SCAN ioctl (include/uapi/linux/fs.h, Linux 6.7)."""

    #: Async write-protection (userfaultfd WP_ASYNC) is enabled for the page.
    WPALLOWED = 1 << 0
    #: Written since it was write-protected (userfaultfd WP_ASYNC areas only).
    WRITTEN = 1 << 1
    #: File-backed.
    FILE = 1 << 2
    #: Present in memory.
    PRESENT = 1 << 3
    #: Swapped out.
    SWAPPED = 1 << 4
    #: Mapped to the zero page (zero PFN).
    PFNZERO = 1 << 5
    #: A PMD-mapped transparent huge page or hugetlb.
    HUGE = 1 << 6
    #: Soft-dirty (Linux 6.7, with CONFIG_MEM_SOFT_DIRTY to be ever set).
    SOFT_DIRTY = 1 << 7
    #: Part of a guard region (Linux 6.15).
    GUARD = 1 << 8


#: struct pm_scan_arg (include/uapi/linux/fs.h): twelve __u64 fields, in
#: order size, flags, start, end, walk_end, vec, vec_len, max_pages,
#: category_inverted, category_mask, category_anyof_mask, return_mask.
_SCAN_ARG_FIELDS = 12
_SCAN_ARG_BYTES = _SCAN_ARG_FIELDS * 8
#: PAGEMAP_SCAN is _IOWR('f', 16, struct pm_scan_arg): read and write
#: (0b11 in the top two bits, the same bits as PowerPC's, MIPS's and
#: SPARC's 0b110 in their top three), the size 96 in bits 16-29, type 'f',
#: number 16. One value on every Linux architecture.
PAGEMAP_SCAN = (3 << 30) | (_SCAN_ARG_BYTES << 16) | (ord("f") << 8) | 16
#: struct page_region: start, end, categories (three __u64).
_REGION_FIELDS = 3
#: Regions asked for per ioctl; the kernel stops at that many and reports
#: where (walk_end), and the scan goes on from there.
_SCAN_REGIONS = 512
#: From this many pages on, written_pages and present_ranges ask PAGEMAP_SCAN.
_SCAN_THRESHOLD_PAGES = 1024

_scan_missing: list[bool] = []


def has_pagemap_scan() -> bool:
    """Tell whether the kernel has the PAGEMAP_SCAN ioctl (Linux 6.7); cached.

    Asked with an empty scan: older kernels have no ioctl on pagemap
    (ENOTTY), and some sandboxes refuse it otherwise.
    """
    if not _scan_missing:
        try:
            _scan(0, 0, int(ScanCategory.PRESENT))
        except OSError:
            _scan_missing.append(True)
        else:
            _scan_missing.append(False)
    return not _scan_missing[0]


def _scan(start: int, end: int, category: int) -> list[tuple[int, int]]:
    """Return the (start, end) ranges in ``[start, end)`` whose pages are in ``category``.

    Raises:
        OSError: the ioctl failed (ENOTTY before Linux 6.7, EINVAL for a
            category the kernel does not know).
    """
    regions = array.array("Q", bytes(_SCAN_REGIONS * _REGION_FIELDS * 8))
    vector = regions.buffer_info()[0]
    found: list[tuple[int, int]] = []
    fd = os.open(_PAGEMAP, os.O_RDONLY | os.O_CLOEXEC)
    try:
        position = start
        while True:
            argument = array.array(
                "Q",
                [
                    _SCAN_ARG_BYTES,  # size
                    0,  # flags: report only, write-protect nothing
                    position,  # start
                    end,  # end
                    0,  # walk_end, written by the kernel
                    vector,  # vec
                    _SCAN_REGIONS,  # vec_len
                    0,  # max_pages: no limit
                    0,  # category_inverted
                    category,  # category_mask: every bit required
                    0,  # category_anyof_mask
                    category,  # return_mask
                ],
            )
            filled = fcntl.ioctl(fd, PAGEMAP_SCAN, argument)
            for index in range(filled):
                low = regions[index * _REGION_FIELDS]
                high = regions[index * _REGION_FIELDS + 1]
                if found and found[-1][1] == low:
                    found[-1] = (found[-1][0], high)
                else:
                    found.append((low, high))
            walk_end = argument[4]
            if walk_end >= end or walk_end <= position:
                return found
            position = walk_end
    finally:
        os.close(fd)


def _category_ranges(
    call: str, addr: int, length: int, category: int, flag: int, use_scan: bool | None
) -> list[tuple[int, int]]:
    first, count = _page_span(call, addr, length)
    start, end = first * _PAGE, (first + count) * _PAGE
    if count == 0:
        return []
    if use_scan is None:
        use_scan = count >= _SCAN_THRESHOLD_PAGES and has_pagemap_scan()
    if use_scan:
        return _scan(start, end, category)
    return page_state(start, end - start).ranges(flag)


def written_pages(addr: int, length: int, *, use_scan: bool | None = None) -> list[tuple[int, int]]:
    """Return the page ranges written since the last ``clear_soft_dirty()``.

    The soft-dirty bits, as the kernel keeps them: a page is soft-dirty
    once written after the clear, and so is every page of a mapping made
    (or moved, or merged) after it (the mapping carries VM_SOFTDIRTY), even
    untouched ones (Documentation/admin-guide/mm/soft-dirty.rst).

    Args:
        addr, length: the range (widened to whole pages).
        use_scan: True to ask PAGEMAP_SCAN, False to read pagemap, None
            (the default) for PAGEMAP_SCAN on ranges of 1024 pages or more
            where the kernel has it.

    Returns:
        Sorted, merged (start, end) page-aligned address ranges.

    Raises:
        OSError: pagemap cannot be read; with ``use_scan=True``, ENOTTY
            (no PAGEMAP_SCAN: Linux before 6.7) or EINVAL (a kernel without
            the soft-dirty category).
        OverflowError, TypeError, ValueError: as for ``page_state``.
    """
    return _category_ranges(
        "written_pages",
        addr,
        length,
        int(ScanCategory.SOFT_DIRTY),
        int(PageFlag.SOFT_DIRTY),
        use_scan,
    )


def present_ranges(
    addr: int, length: int, *, use_scan: bool | None = None
) -> list[tuple[int, int]]:
    """Return the page ranges that are present in memory (pagemap bit 63).

    Args and Raises as for ``written_pages`` (PAGE_IS_PRESENT for the ioctl).
    """
    return _category_ranges(
        "present_ranges",
        addr,
        length,
        int(ScanCategory.PRESENT),
        int(PageFlag.PRESENT),
        use_scan,
    )


def clear_soft_dirty() -> None:
    """Clear the soft-dirty bits of every page of this process (``4`` > clear_refs).

    From then on a write sets a page's bit again (the kernel write-protects
    the pages to see the first write), and ``written_pages`` reports it.

    Raises:
        OSError: /proc/self/clear_refs cannot be written (ENOENT without
            procfs or under some sandboxes, EACCES, EPERM).
    """
    fd = os.open("/proc/self/clear_refs", os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, b"4")
    finally:
        os.close(fd)


# ---------------------------------------------------------------- smaps

#: The two-letter VmFlags codes of /proc/PID/smaps and what they mean
#: (Documentation/filesystems/proc.rst; codes an arch or config lacks are
#: never printed).
VM_FLAG_NAMES = {
    "rd": "readable",
    "wr": "writeable",
    "ex": "executable",
    "sh": "shared",
    "mr": "may read",
    "mw": "may write",
    "me": "may execute",
    "ms": "may share",
    "gd": "stack segment grows down",
    "pf": "pure PFN range",
    "dw": "disabled write to the mapped file",
    "lo": "pages are locked in memory",
    "io": "memory mapped I/O area",
    "sr": "sequential read advise provided",
    "rr": "random read advise provided",
    "dc": "do not copy area on fork",
    "de": "do not expand area on remapping",
    "ac": "area is accountable",
    "nr": "swap space is not reserved for the area",
    "ht": "area uses huge tlb pages",
    "sf": "synchronous page fault",
    "ar": "architecture specific flag",
    "wf": "wipe on fork",
    "dd": "do not include area into core dump",
    "sd": "soft dirty flag",
    "mm": "mixed map area",
    "hg": "huge page advise flag",
    "nh": "no huge page advise flag",
    "mg": "mergeable advise flag",
    "bt": "arm64 BTI guarded page",
    "mt": "arm64 MTE allocation tags are enabled",
    "um": "userfaultfd missing tracking",
    "uw": "userfaultfd wr-protect tracking",
    "ui": "userfaultfd minor fault",
    "ss": "shadow/guarded control stack page",
    "sl": "sealed",
    "lf": "lock on fault pages",
    "dp": "always lazily freeable mapping",
    "gu": "maybe contains guard regions",
}


class MappingStats(NamedTuple):
    """One mapping (VMA) of /proc/self/smaps; every size in bytes."""

    #: First address of the area.
    start: int
    #: Address just past the area.
    end: int
    #: The permissions as maps shows them (``"rw-p"``).
    perms: str
    #: Offset into the mapped file.
    offset: int
    #: The file's path, ``[heap]``-like names, or "" for anonymous memory.
    path: str
    #: Size of the area.
    size: int
    #: Resident set: the area's pages in memory.
    rss: int
    #: Proportional set: each page divided by the number of processes sharing it.
    pss: int
    #: Unmodified pages mapped by other processes too.
    shared_clean: int
    #: Modified pages mapped by other processes too.
    shared_dirty: int
    #: Unmodified pages mapped only here.
    private_clean: int
    #: Modified pages mapped only here.
    private_dirty: int
    #: Memory currently marked referenced or accessed.
    referenced: int
    #: Memory not backed by a file (including private copies of file pages).
    anonymous: int
    #: Anonymous memory swapped out.
    swap: int
    #: Memory backed by transparent huge pages.
    anon_huge_pages: int
    #: Memory locked (mlock, MAP_LOCKED, mlockall).
    locked: int
    #: The VmFlags codes, in the kernel's order (see ``VM_FLAG_NAMES``).
    vm_flags: tuple[str, ...]
    #: The area's protection key, where the kernel has protection keys enabled.
    protection_key: int | None


class MappingTotals(NamedTuple):
    """The sizes of several ``MappingStats`` added up (bytes), and how many areas."""

    #: How many areas were added.
    areas: int
    #: Sum of ``size``.
    size: int
    #: Sum of ``rss``.
    rss: int
    #: Sum of ``pss``.
    pss: int
    #: Sum of ``shared_clean``.
    shared_clean: int
    #: Sum of ``shared_dirty``.
    shared_dirty: int
    #: Sum of ``private_clean``.
    private_clean: int
    #: Sum of ``private_dirty``.
    private_dirty: int
    #: Sum of ``referenced``.
    referenced: int
    #: Sum of ``anonymous``.
    anonymous: int
    #: Sum of ``swap``.
    swap: int
    #: Sum of ``anon_huge_pages``.
    anon_huge_pages: int
    #: Sum of ``locked``.
    locked: int


# smaps field name -> MappingStats field (the kB sizes).
_SMAPS_SIZES = {
    b"Size": "size",
    b"Rss": "rss",
    b"Pss": "pss",
    b"Shared_Clean": "shared_clean",
    b"Shared_Dirty": "shared_dirty",
    b"Private_Clean": "private_clean",
    b"Private_Dirty": "private_dirty",
    b"Referenced": "referenced",
    b"Anonymous": "anonymous",
    b"Swap": "swap",
    b"AnonHugePages": "anon_huge_pages",
    b"Locked": "locked",
}
_TOTALLED = tuple(MappingTotals._fields[1:])
_HEADER = re.compile(rb"([0-9a-f]+)-([0-9a-f]+) (\S+) ([0-9a-f]+) \S+ \d+ *(.*)")


def _area(header: re.Match[bytes], fields: dict[bytes, bytes]) -> MappingStats:
    sizes = {name: 0 for name in _SMAPS_SIZES.values()}
    for key, attribute in _SMAPS_SIZES.items():
        value = fields.get(key)
        if value is not None:
            sizes[attribute] = int(value.split()[0]) * 1024
    key_text = fields.get(b"ProtectionKey")
    return MappingStats(
        start=int(header.group(1), 16),
        end=int(header.group(2), 16),
        perms=header.group(3).decode("ascii"),
        offset=int(header.group(4), 16),
        path=os.fsdecode(header.group(5).rstrip(b"\n")),
        vm_flags=tuple(fields.get(b"VmFlags", b"").decode("ascii").split()),
        protection_key=None if key_text is None else int(key_text),
        **sizes,
    )


def smaps(addr: int, length: int) -> list[MappingStats]:
    """Read /proc/self/smaps for every mapping that overlaps ``[addr, addr + length)``.

    Per area, not per range: the kernel's figures describe each whole VMA
    (a mapping that mprotect or mlock split is several areas; one that the
    kernel merged with a neighbour is one). A zero length selects the area
    holding ``addr``, if any.

    Returns:
        The areas in address order; empty if nothing is mapped there.

    Raises:
        OSError: /proc/self/smaps cannot be read.
        OverflowError, TypeError, ValueError: as for ``page_state``.
    """
    addr = check_range("smaps", "addr", addr, "void *")
    length = check_range("smaps", "length", length, "size_t")
    if addr + length > _ADDRESS_LIMIT:
        raise ValueError(
            f"smaps: addr={addr:#x} + length={length} runs past the end of the address space"
        )
    end = addr + max(length, 1)
    areas: list[MappingStats] = []
    header: re.Match[bytes] | None = None
    fields: dict[bytes, bytes] = {}
    with open("/proc/self/smaps", "rb") as text:
        for line in text:
            match = _HEADER.match(line) if line[:1] in b"0123456789abcdef" else None
            if match is not None:
                if header is not None:
                    areas.append(_area(header, fields))
                header = None
                start = int(match.group(1), 16)
                if start >= end:
                    break
                if int(match.group(2), 16) > addr:
                    header, fields = match, {}
            elif header is not None:
                name, _, value = line.partition(b":")
                fields[name] = value.strip()
    if header is not None:
        areas.append(_area(header, fields))
    return areas


def total(areas: Iterable[MappingStats]) -> MappingTotals:
    """Add up the sizes of ``areas`` (as ``smaps`` returns them)."""
    sums = dict.fromkeys(_TOTALLED, 0)
    count = 0
    for area in areas:
        count += 1
        for name in _TOTALLED:
            sums[name] += getattr(area, name)
    return MappingTotals(areas=count, **sums)
