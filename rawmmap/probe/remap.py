"""mremap (Linux): grow in place or move, MAYMOVE, DONTUNMAP, shrink, and its errors.

Each check works inside a reservation of its own (PROT_NONE pages it
mapped), so a move or a fixed placement can only ever touch the check's
own memory.
"""

from __future__ import annotations

from rawmmap import raw
from rawmmap.flags import Prot, RemapFlag
from rawmmap.probe.registry import CheckSkipped, Outcome, ProbeContext, check, judge
from rawmmap.probe.support import (
    PAGE,
    PRIVATE_ANONYMOUS,
    READ_WRITE,
    attempt,
    errno_name,
    fork_answer,
    skip_under_qemu,
)


def _need_mremap(expected: str) -> None:
    if not raw.HAS_MREMAP:
        raise CheckSkipped("mremap(2) is Linux-only and not in this C library", expected)


def _remap(old: int, old_size: int, new_size: int, flags: int, new: int = 0) -> str:
    try:
        address = raw.mremap(old, old_size, new_size, flags, new)
    except OSError as error:
        return errno_name(error.errno)
    return f"at {address:#x}"


@check("mremap-grow-in-place")
def check_mremap_grow_in_place(context: ProbeContext) -> Outcome:
    """mremap grows a mapping in place, without MREMAP_MAYMOVE, when the next pages are free.

    Source: Linux mremap(2): "If the mapping cannot be expanded at its
    current virtual address and MREMAP_MAYMOVE is not set, the call fails
    ... ENOMEM"; with room after it, the mapping grows where it is.
    """
    expected = "grown at the same address; the data kept"
    _need_mremap(expected)
    reservation = raw.mmap(0, 4 * PAGE, Prot.NONE, PRIVATE_ANONYMOUS, -1, 0)
    size = PAGE
    try:
        raw.munmap(reservation + PAGE, 3 * PAGE)
        raw.mprotect(reservation, PAGE, READ_WRITE)
        raw.write(reservation, b"grow")
        result = _remap(reservation, PAGE, 2 * PAGE, 0)
        if result.startswith("at "):
            size = 2 * PAGE
        kept = raw.read(reservation, 4) == b"grow"
    finally:
        # Only what is ours: another thread may have mapped the freed pages.
        raw.munmap(reservation, size)
    placed = "grown at the same address" if result == f"at {reservation:#x}" else result
    return judge(expected, f"{placed}; the data {'kept' if kept else 'lost'}")


@check("mremap-maymove-refused")
def check_mremap_maymove_refused(context: ProbeContext) -> Outcome:
    """Growing into a neighbour fails with ENOMEM without MREMAP_MAYMOVE; with it, it moves.

    Source: Linux mremap(2), ENOMEM: "No memory is available, or the
    memory area cannot be expanded at the current virtual address, and
    the MREMAP_MAYMOVE flag is not set in flags"; MREMAP_MAYMOVE: "the
    kernel is permitted to relocate the mapping to a new virtual address".
    """
    expected = "without MAYMOVE: ENOMEM; with it: moved, the data kept"
    _need_mremap(expected)
    reservation = raw.mmap(0, 2 * PAGE, Prot.NONE, PRIVATE_ANONYMOUS, -1, 0)
    moved_to = 0
    try:
        raw.mprotect(reservation, PAGE, READ_WRITE)
        raw.write(reservation, b"move")
        fixed = _remap(reservation, PAGE, 2 * PAGE, 0)
        try:
            moved_to = raw.mremap(reservation, PAGE, 2 * PAGE, RemapFlag.MAYMOVE)
        except OSError as error:
            moved = errno_name(error.errno)
        else:
            same = moved_to == reservation
            kept = raw.read(moved_to, 4) == b"move"
            moved = "grew in place" if same else f"moved, the data {'kept' if kept else 'lost'}"
    finally:
        if moved_to and moved_to != reservation:
            raw.munmap(moved_to, 2 * PAGE)
            raw.munmap(reservation + PAGE, PAGE)
        else:
            raw.munmap(reservation, 2 * PAGE)
    return judge(expected, f"without MAYMOVE: {fixed}; with it: {moved}")


@check("mremap-shrink")
def check_mremap_shrink(context: ProbeContext) -> Outcome:
    """mremap to a smaller size keeps the address and unmaps the tail (mincore: ENOMEM).

    Source: Linux mremap(2): "mremap() expands (or shrinks) an existing
    memory mapping"; mincore(2), ENOMEM for unmapped memory.
    """
    expected = "same address; the tail unmapped (ENOMEM)"
    _need_mremap(expected)
    reservation = raw.mmap(0, 4 * PAGE, READ_WRITE, PRIVATE_ANONYMOUS, -1, 0)
    try:
        result = _remap(reservation, 4 * PAGE, PAGE, 0)
        tail = attempt(lambda: raw.mincore(reservation + PAGE, PAGE))
    finally:
        raw.munmap(reservation, 4 * PAGE)
    placed = "same address" if result == f"at {reservation:#x}" else result
    state = "unmapped" if tail != "succeeded" else "still mapped"
    return judge(expected, f"{placed}; the tail {state} ({tail})")


@check("mremap-dontunmap")
def check_mremap_dontunmap(context: ProbeContext) -> Outcome:
    """MREMAP_DONTUNMAP moves the pages and leaves the old range mapped, reading as zero.

    Source: Linux mremap(2), MREMAP_DONTUNMAP (since Linux 5.7): "the
    mapping at the old address is not unmapped ... After completion, any
    access to the range specified by old_address and old_size will result
    in a page fault ... [for] private anonymous mappings ... zero-filled".
    """
    expected = "moved with the data; the old range reads zero"
    _need_mremap(expected)
    if not hasattr(RemapFlag, "DONTUNMAP"):
        raise CheckSkipped("MREMAP_DONTUNMAP is not on this platform", expected)
    skip_under_qemu(
        context, "7.2 emulates mremap(2) itself (target_mremap) and unmaps the old range", expected
    )
    reservation = raw.mmap(0, 2 * PAGE, Prot.NONE, PRIVATE_ANONYMOUS, -1, 0)
    old = raw.mmap(0, PAGE, READ_WRITE, PRIVATE_ANONYMOUS, -1, 0)
    try:
        raw.write(old, b"moved")
        flags = RemapFlag.MAYMOVE | RemapFlag.FIXED | RemapFlag.DONTUNMAP
        try:
            raw.mremap(old, PAGE, PAGE, flags, reservation)
        except OSError as error:
            raise CheckSkipped(
                f"MREMAP_DONTUNMAP failed with {errno_name(error.errno)}: it needs Linux 5.7",
                expected,
            ) from error
        moved = raw.read(reservation, 5) == b"moved"
        # The old range is read in a child: a kernel that unmapped it faults.
        old_range = fork_answer(lambda: "zero" if raw.read(old, 5) == bytes(5) else "the data")
    finally:
        raw.munmap(reservation, 2 * PAGE)
        raw.munmap(old, PAGE)
    reads = f"reads {old_range}" if not old_range.startswith("SIG") else f"faults ({old_range})"
    observed = f"moved {'with' if moved else 'without'} the data; the old range {reads}"
    return judge(expected, observed)


@check("mremap-span-two-mappings")
def check_mremap_span_two_mappings(context: ProbeContext) -> Outcome:
    """mremap of a range that spans two mappings fails with EFAULT.

    The two pages are adjacent but have different protection, so they
    are two areas.

    Source: Linux mremap(2), EFAULT: "Some address in the range
    old_address to old_address+old_size is an invalid virtual memory
    address for this process. You can also get EFAULT even if there exist
    mappings that cover the whole address space requested, but those
    mappings are of different types."
    """
    _need_mremap("EFAULT")
    reservation = raw.mmap(0, 2 * PAGE, READ_WRITE, PRIVATE_ANONYMOUS, -1, 0)
    try:
        raw.mprotect(reservation + PAGE, PAGE, Prot.READ)
        result = _remap(reservation, 2 * PAGE, 4 * PAGE, RemapFlag.MAYMOVE)
    finally:
        raw.munmap(reservation, 2 * PAGE)
    if result.startswith("at "):  # pragma: no cover - a kernel that merged the two
        result = "moved"
    return judge("EFAULT", result)


@check("mremap-fixed-without-maymove")
def check_mremap_fixed_without_maymove(context: ProbeContext) -> Outcome:
    """MREMAP_FIXED without MREMAP_MAYMOVE fails with EINVAL.

    Source: Linux mremap(2), EINVAL: "MREMAP_FIXED was specified without
    also specifying MREMAP_MAYMOVE".
    """
    _need_mremap("EINVAL")
    reservation = raw.mmap(0, 2 * PAGE, Prot.NONE, PRIVATE_ANONYMOUS, -1, 0)
    try:
        result = _remap(reservation, PAGE, PAGE, RemapFlag.FIXED, reservation + PAGE)
    finally:
        raw.munmap(reservation, 2 * PAGE)
    return judge("EINVAL", "placed" if result.startswith("at ") else result)


@check("mremap-unaligned")
def check_mremap_unaligned(context: ProbeContext) -> Outcome:
    """mremap of an address that is not page aligned fails with EINVAL.

    Source: Linux mremap(2), EINVAL: "old_address was not page aligned".
    """
    _need_mremap("EINVAL")
    reservation = raw.mmap(0, 2 * PAGE, READ_WRITE, PRIVATE_ANONYMOUS, -1, 0)
    try:
        result = _remap(reservation + 1, PAGE, PAGE, 0)
    finally:
        raw.munmap(reservation, 2 * PAGE)
    return judge("EINVAL", "moved" if result.startswith("at ") else result)
