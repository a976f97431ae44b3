"""Paging and residency: demand paging, populate, advice, locking, mincore.

What memory is resident when, as mincore(2) reports it: before and after
a touch, MAP_POPULATE, MADV_POPULATE_READ/WRITE, WILLNEED, DONTNEED
(zero-fill of private anonymous memory, refault from the file), FREE,
COLD, PAGEOUT, mlock and mlock2(MLOCK_ONFAULT), and RLIMIT_MEMLOCK.
Under qemu-user, madvise(2) is answered by qemu (it returns 0 and does
nothing for every advice but DONTNEED), so checks that need the advice's
effect are skipped there, saying so.
"""

from __future__ import annotations

import os
import random
import time
from typing import Callable

from rawmmap import raw
from rawmmap.flags import Advice, MapFlag, Prot
from rawmmap.probe.registry import (
    DIFFERS,
    PASS,
    CheckSkipped,
    JSONValue,
    Outcome,
    ProbeContext,
    check,
    judge,
)
from rawmmap.probe.support import (
    PAGE,
    PRIVATE_ANONYMOUS,
    READ_WRITE,
    SHARED_ANONYMOUS,
    attempt,
    errno_name,
    filesystem_type,
    fork_answer,
    make_file,
    mapping,
    need_fork,
    resident,
    skip_under_qemu,
)
from rawmmap.region import map_file

#: What qemu-user does with madvise(2), for skip reasons.
MADVISE_UNDER_QEMU = "answers madvise(2) itself (0, no effect, for all advice but DONTNEED)"


@check("mapped-read-speed", informational=True)
def check_mapped_read_speed(context: ProbeContext) -> Outcome:
    """Random small reads through a mapping beat one os.pread call each.

    Times 20000 reads of 16 bytes at random offsets of a cached 256 KiB
    file, through a memoryview of a MAP_SHARED mapping and with os.pread,
    best of three, and reports pread time / mapped time. Informational:
    timing depends on the load of the machine, so the verdict never
    changes the exit status.

    Source: the classic claim for memory-mapped I/O (W. R. Stevens and
    S. Rago, APUE 3rd ed., section 14.8 "Memory-Mapped I/O"); no standard
    promises it.
    """
    size = 64 * 1024 * 4
    generator = random.Random(3)
    reads = 20000
    offsets = [generator.randrange(0, size - 16) for _ in range(reads)]
    expected = "mapped reads faster than os.pread"
    with (
        make_file(context, "speed", generator.randbytes(size)) as descriptor,
        map_file(descriptor) as region,
        region.view() as view,
    ):
        # Warm both paths: page cache, page tables, and the code itself.
        for offset in range(0, size, 4096):
            bytes(view[offset : offset + 16])
            os.pread(descriptor, 16, offset)

        def mapped() -> None:
            for offset in offsets:
                bytes(view[offset : offset + 16])

        def syscall() -> None:
            for offset in offsets:
                os.pread(descriptor, 16, offset)

        mapped_seconds = _best_of(mapped)
        pread_seconds = _best_of(syscall)
    ratio = pread_seconds / mapped_seconds if mapped_seconds > 0 else float("inf")
    if ratio >= 1:
        observed = f"mapped reads {ratio:.1f}x faster than os.pread"
    else:
        observed = f"mapped reads {1 / ratio:.1f}x slower than os.pread"
    details: dict[str, JSONValue] = {
        "ratio": round(ratio, 3),
        "reads": reads,
        "read_size": 16,
        "mapped_seconds": round(mapped_seconds, 6),
        "pread_seconds": round(pread_seconds, 6),
    }
    return Outcome(expected, observed, PASS if ratio > 1 else DIFFERS, details=details)


def _best_of(function: Callable[[], None], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


@check("file-demand-paging")
def check_file_demand_paging(context: ProbeContext) -> Outcome:
    """A fresh mapping of an uncached file has no resident pages until touched.

    Writes a 32-page file, fsyncs it and drops it from the page cache with
    posix_fadvise(POSIX_FADV_DONTNEED), maps it (madvise RANDOM, to keep
    read-ahead small) and asks mincore: no page is resident. Reading one
    byte of page 8 faults it in; read-ahead may bring neighbours too.

    Source: Linux mincore(2) ("whether pages ... are resident in core");
    POSIX.1-2017 posix_fadvise(): POSIX_FADV_DONTNEED "Specifies that the
    application expects that it will not access the specified data in the
    near future"; Linux posix_fadvise(2): DONTNEED "attempts to free
    cached pages associated with the specified region" (dirty pages are
    not freed, hence the fsync).
    """
    pages = 32
    expected = f"0 of {pages} pages resident before a touch; the touched page resident after"
    if not hasattr(os, "posix_fadvise"):
        raise CheckSkipped("os.posix_fadvise is not available on this platform", expected)
    filesystem = filesystem_type(context.directory)
    if filesystem in ("tmpfs", "ramfs"):
        raise CheckSkipped(
            f"the temporary directory is on {filesystem}, whose pages cannot be "
            "evicted; set TMPDIR to a disk filesystem",
            expected,
        )
    length = pages * PAGE
    with make_file(context, "paging", os.urandom(length)) as descriptor:
        os.fsync(descriptor)
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
        with mapping(length, Prot.READ, MapFlag.SHARED, descriptor) as address:
            raw.madvise(address, length, Advice.RANDOM)
            before = resident(raw.mincore(address, length))
            raw.read(address + 8 * PAGE, 1)
            after = resident(raw.mincore(address, length))
    observed = (
        f"{sum(before)} of {pages} pages resident before a touch; the touched page "
        f"{'resident' if after[8] else 'not resident'} after"
    )
    details: dict[str, JSONValue] = {
        "resident_before": sum(before),
        "resident_after": sum(after),
        "filesystem": filesystem,
    }
    return judge(expected, observed, details)


@check("anonymous-demand-paging")
def check_anonymous_demand_paging(context: ProbeContext) -> Outcome:
    """An anonymous mapping costs no resident memory until a page is touched.

    Maps 16 private anonymous pages (under 2 MiB, so no huge page), asks
    mincore, writes one byte to page 3, asks again.

    Source: Linux mincore(2); Linux mmap(2), MAP_ANONYMOUS: "The mapping
    is not backed by any file; its contents are initialized to zero" (the
    kernel allocates a page on the first fault, not at mmap).
    """
    pages = 16
    length = pages * PAGE
    expected = f"0 of {pages} pages resident before a touch; the touched page resident after"
    with mapping(length, READ_WRITE, PRIVATE_ANONYMOUS) as address:
        before = resident(raw.mincore(address, length))
        raw.write(address + 3 * PAGE, b"x")
        after = resident(raw.mincore(address, length))
    observed = (
        f"{sum(before)} of {pages} pages resident before a touch; the touched page "
        f"{'resident' if after[3] else 'not resident'} after"
    )
    return judge(expected, observed, {"resident_after": sum(after)})


def _advise_or_skip(address: int, length: int, advice: int, name: str, since: str) -> None:
    """madvise, skipping the check when the kernel does not know the advice (EINVAL)."""
    try:
        raw.madvise(address, length, advice)
    except OSError as error:
        raise CheckSkipped(
            f"madvise({name}) failed with {errno_name(error.errno)}: it needs Linux {since}"
        ) from error


def _count(address: int, length: int) -> int:
    return sum(resident(raw.mincore(address, length)))


@check("map-populate")
def check_map_populate(context: ProbeContext) -> Outcome:
    """MAP_POPULATE prefaults every page of a private anonymous mapping at mmap time.

    Source: Linux mmap(2), MAP_POPULATE (since Linux 2.5.46): "Populate
    (prefault) page tables for a mapping ... This will help to reduce
    blocking on page faults later."
    """
    pages = 8
    expected = f"{pages} of {pages} pages resident without a touch"
    if not hasattr(MapFlag, "POPULATE"):
        raise CheckSkipped("MAP_POPULATE is not on this platform", expected)
    skip_under_qemu(context, "7.2 drops MAP_POPULATE (mmap_frag/target_mmap)", expected)
    with mapping(pages * PAGE, READ_WRITE, PRIVATE_ANONYMOUS | MapFlag.POPULATE) as address:
        count = _count(address, pages * PAGE)
    return judge(expected, f"{count} of {pages} pages resident without a touch")


def _populate(context: ProbeContext, advice_name: str) -> Outcome:
    pages = 8
    expected = f"0 of {pages} resident before; {pages} of {pages} after"
    if not hasattr(Advice, advice_name):
        raise CheckSkipped(f"MADV_{advice_name} is not on this platform", expected)
    skip_under_qemu(context, MADVISE_UNDER_QEMU, expected)
    with mapping(pages * PAGE, READ_WRITE, PRIVATE_ANONYMOUS) as address:
        before = _count(address, pages * PAGE)
        _advise_or_skip(address, pages * PAGE, Advice[advice_name], advice_name, "5.14")
        after = _count(address, pages * PAGE)
    return judge(expected, f"{before} of {pages} resident before; {after} of {pages} after")


@check("madv-populate-read")
def check_madv_populate_read(context: ProbeContext) -> Outcome:
    """MADV_POPULATE_READ makes the pages of an untouched mapping resident.

    Source: Linux madvise(2), MADV_POPULATE_READ (since Linux 5.14):
    "Populate (prefault) page tables readable, faulting-in all pages in
    the range just as if manually reading from each page".
    """
    return _populate(context, "POPULATE_READ")


@check("madv-populate-write")
def check_madv_populate_write(context: ProbeContext) -> Outcome:
    """MADV_POPULATE_WRITE makes the pages of an untouched mapping resident and writable.

    Source: Linux madvise(2), MADV_POPULATE_WRITE (since Linux 5.14):
    "Populate (prefault) page tables writable, faulting-in all pages in
    the range just as if manually writing to each page".
    """
    return _populate(context, "POPULATE_WRITE")


@check("madv-willneed-file")
def check_madv_willneed_file(context: ProbeContext) -> Outcome:
    """MADV_WILLNEED on a file mapping reads the evicted pages into the page cache.

    Evicts a 16-page file with posix_fadvise(DONTNEED), maps it, advises
    WILLNEED: mincore then finds pages in the cache (read-ahead is
    asynchronous: the check waits up to half a second; how many pages is
    recorded, not judged).

    Source: Linux madvise(2), MADV_WILLNEED: "Expect access in the near
    future. (Hence, it might be a good idea to read some pages ahead.)";
    POSIX.1-2017 posix_madvise(): POSIX_MADV_WILLNEED.
    """
    pages = 16
    expected = "0 resident before; pages resident after"
    if not hasattr(os, "posix_fadvise"):  # pragma: no cover - Linux has it
        raise CheckSkipped("os.posix_fadvise is not available on this platform", expected)
    filesystem = filesystem_type(context.directory)
    if filesystem in ("tmpfs", "ramfs"):
        raise CheckSkipped(
            f"the temporary directory is on {filesystem}, whose pages cannot be evicted",
            expected,
        )
    skip_under_qemu(context, MADVISE_UNDER_QEMU, expected)
    length = pages * PAGE
    with make_file(context, "willneed", os.urandom(length)) as descriptor:
        os.fsync(descriptor)
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
        with mapping(length, Prot.READ, MapFlag.SHARED, descriptor) as address:
            before = _count(address, length)
            raw.madvise(address, length, Advice.WILLNEED)
            after = _count(address, length)
            deadline = time.monotonic() + 0.5
            while not after and time.monotonic() < deadline:
                time.sleep(0.01)
                after = _count(address, length)
    state = "pages resident after" if after else "no page resident after"
    details: dict[str, JSONValue] = {"before": before, "after": after, "filesystem": filesystem}
    return judge(expected, f"{before} resident before; {state}", details)


@check("madv-dontneed-anonymous")
def check_madv_dontneed_anonymous(context: ProbeContext) -> Outcome:
    """MADV_DONTNEED on private anonymous memory frees it: the next read is zero-filled.

    Source: Linux madvise(2), MADV_DONTNEED: "subsequent accesses of pages
    in the range will succeed, but will result in ... zero-fill-on-demand
    pages for anonymous private mappings."
    """
    expected = "not resident after DONTNEED; reads back as zero"
    with mapping(4 * PAGE, READ_WRITE, PRIVATE_ANONYMOUS) as address:
        raw.write(address + PAGE, b"data")
        raw.madvise(address, 4 * PAGE, Advice.DONTNEED)
        count = _count(address, 4 * PAGE)
        zero = raw.read(address + PAGE, 4) == bytes(4)
    observed = (
        f"{'not resident' if count == 0 else f'{count} pages resident'} after DONTNEED; "
        f"reads back as {'zero' if zero else 'the old data'}"
    )
    return judge(expected, observed)


@check("madv-dontneed-file-private")
def check_madv_dontneed_file_private(context: ProbeContext) -> Outcome:
    """MADV_DONTNEED on a private file mapping drops the private copy: the file's bytes return.

    Source: Linux madvise(2), MADV_DONTNEED: "subsequent accesses of pages
    in the range will succeed, but will result in either repopulating the
    memory contents from the up-to-date contents of the underlying mapped
    file (for shared file mappings, shared anonymous mappings, and
    shmem-based techniques such as System V shared memory segments) or
    zero-fill-on-demand pages for anonymous private mappings." (A private
    file mapping refaults from the file.)
    """
    expected = "the private store is dropped; the file's bytes read back"
    with (
        make_file(context, "dontneed-private", b"file" * (PAGE // 4)) as descriptor,
        mapping(PAGE, READ_WRITE, MapFlag.PRIVATE, descriptor) as address,
    ):
        raw.write(address, b"mine")
        raw.madvise(address, PAGE, Advice.DONTNEED)
        back = raw.read(address, 4)
    observed = {
        b"file": expected,
        b"mine": "the private store is kept",
        b"\0\0\0\0": "the page reads as zero",
    }.get(back, f"reads {back!r}")
    return judge(expected, observed)


@check("madv-dontneed-file-shared")
def check_madv_dontneed_file_shared(context: ProbeContext) -> Outcome:
    """MADV_DONTNEED on a shared file mapping loses nothing: the store is in the page cache.

    Source: Linux madvise(2), MADV_DONTNEED: shared file mappings are
    repopulated "from the up-to-date contents of the underlying mapped
    file".
    """
    expected = "the store reads back after DONTNEED"
    with (
        make_file(context, "dontneed-shared", bytes(PAGE)) as descriptor,
        mapping(PAGE, READ_WRITE, MapFlag.SHARED, descriptor) as address,
    ):
        raw.write(address, b"kept")
        raw.madvise(address, PAGE, Advice.DONTNEED)
        back = raw.read(address, 4)
    return judge(expected, expected if back == b"kept" else f"reads {back!r} after DONTNEED")


@check("madv-remove-shared")
def check_madv_remove_shared(context: ProbeContext) -> Outcome:
    """MADV_REMOVE punches a hole in shared memory: the page reads back as zero.

    Refused on a private mapping (EINVAL).

    Source: Linux madvise(2), MADV_REMOVE (since Linux 2.6.16): "Free up a
    given range of pages and its associated backing store. This is
    equivalent to punching a hole in the corresponding range of the
    backing store ... Subsequent accesses in the specified address range
    will see data with a value of zero"; EINVAL: "advice is MADV_REMOVE
    ... and the specified address range includes ... private" mappings
    (the kernel's madvise_remove: "VM_SHARED" only).
    """
    expected = "shared: reads back as zero; private: EINVAL"
    if not hasattr(Advice, "REMOVE"):
        raise CheckSkipped("MADV_REMOVE is not on this platform", expected)
    skip_under_qemu(context, MADVISE_UNDER_QEMU, expected)
    with mapping(PAGE, READ_WRITE, SHARED_ANONYMOUS) as address:
        raw.write(address, b"gone")
        removed = attempt(lambda: raw.madvise(address, PAGE, Advice.REMOVE))
        back = raw.read(address, 4)
    with mapping(PAGE, READ_WRITE, PRIVATE_ANONYMOUS) as address:
        private = attempt(lambda: raw.madvise(address, PAGE, Advice.REMOVE))
    if removed != "succeeded":
        shared = removed
    else:
        shared = "reads back as zero" if back == bytes(4) else f"reads {back!r}"
    return judge(expected, f"shared: {shared}; private: {private}")


@check("madv-free-lazy")
def check_madv_free_lazy(context: ProbeContext) -> Outcome:
    """MADV_FREE is lazy: without memory pressure the data stay, and a store cancels the free.

    It is refused on a shared mapping (EINVAL). Whether the data are
    still there depends on memory pressure, which the probe cannot
    control: on a loaded machine this check may see zeros.

    Source: Linux madvise(2), MADV_FREE (since Linux 4.5): "The kernel can
    thus free these pages, but the freeing could be delayed until memory
    pressure occurs. For each of the pages that has been marked to be
    freed but has not yet been freed, the free operation will be canceled
    if the caller writes into the page"; EINVAL for a shared mapping
    ("advice is MADV_FREE ... and the specified address range includes
    ... VM_SHARED").
    """
    expected = "private: data kept until memory pressure, a later store kept; shared: EINVAL"
    if not hasattr(Advice, "FREE"):
        raise CheckSkipped("MADV_FREE is not on this platform", expected)
    skip_under_qemu(context, MADVISE_UNDER_QEMU, expected)
    with mapping(2 * PAGE, READ_WRITE, PRIVATE_ANONYMOUS) as address:
        raw.write(address, b"lazy")
        raw.write(address + PAGE, b"lazy")
        _advise_or_skip(address, 2 * PAGE, Advice.FREE, "FREE", "4.5")
        lazy = raw.read(address, 4) == b"lazy"
        raw.write(address + PAGE, b"more")
        kept = raw.read(address + PAGE, 4) == b"more"
    with mapping(PAGE, READ_WRITE, SHARED_ANONYMOUS) as shared:
        refused = attempt(lambda: raw.madvise(shared, PAGE, Advice.FREE))
    observed = (
        f"private: data {'kept until memory pressure' if lazy else 'freed at once'}, "
        f"a later store {'kept' if kept else 'lost'}; shared: {refused}"
    )
    return judge(expected, observed, {"lazy": lazy})


def _keeps_data(context: ProbeContext, advice_name: str, since: str) -> Outcome:
    expected = "succeeded; the data read back"
    if not hasattr(Advice, advice_name):
        raise CheckSkipped(f"MADV_{advice_name} is not on this platform", expected)
    skip_under_qemu(context, MADVISE_UNDER_QEMU, expected)
    with mapping(4 * PAGE, READ_WRITE, PRIVATE_ANONYMOUS) as address:
        for page in range(4):
            raw.write(address + page * PAGE, b"page%d" % page)
        _advise_or_skip(address, 4 * PAGE, Advice[advice_name], advice_name, since)
        intact = all(raw.read(address + page * PAGE, 5) == b"page%d" % page for page in range(4))
    return judge(expected, f"succeeded; the data {'read back' if intact else 'changed'}")


@check("madv-cold")
def check_madv_cold(context: ProbeContext) -> Outcome:
    """MADV_COLD deactivates pages without losing their contents.

    Source: Linux madvise(2), MADV_COLD (since Linux 5.4): "Deactivate a
    given range of pages. This will make the pages a more probable reclaim
    target ... This is a nondestructive operation."
    """
    return _keeps_data(context, "COLD", "5.4")


@check("madv-pageout")
def check_madv_pageout(context: ProbeContext) -> Outcome:
    """MADV_PAGEOUT reclaims pages (to swap, if any) without losing their contents.

    Source: Linux madvise(2), MADV_PAGEOUT (since Linux 5.4): "Reclaim a
    given range of pages ... This is a nondestructive operation."
    """
    return _keeps_data(context, "PAGEOUT", "5.4")


@check("anonymous-zero-filled")
def check_anonymous_zero_filled(context: ProbeContext) -> Outcome:
    """New anonymous memory, private or shared, reads as zero.

    Source: Linux mmap(2), MAP_ANONYMOUS: "its contents are initialized to
    zero"; POSIX.1-2024 mmap(), MAP_ANONYMOUS: the mapping is "initialized
    to all bits zero".
    """
    expected = "private: zero; shared: zero"
    texts = []
    for label, flags in (("private", PRIVATE_ANONYMOUS), ("shared", SHARED_ANONYMOUS)):
        with mapping(2 * PAGE, Prot.READ, flags) as address:
            zero = raw.read(address, 2 * PAGE) == bytes(2 * PAGE)
        texts.append(f"{label}: {'zero' if zero else 'not zero'}")
    return judge(expected, "; ".join(texts))


@check("mincore-unmapped")
def check_mincore_unmapped(context: ProbeContext) -> Outcome:
    """mincore over a range that is not all mapped fails with ENOMEM.

    The hole is the middle page of the check's own three pages.

    Source: Linux mincore(2), ENOMEM: "addr to addr + length contained
    unmapped memory."
    """
    with mapping(3 * PAGE, Prot.NONE, PRIVATE_ANONYMOUS) as address:
        raw.munmap(address + PAGE, PAGE)
        result = attempt(lambda: raw.mincore(address, 3 * PAGE))
    return judge("ENOMEM", result)


@check("mincore-unaligned")
def check_mincore_unaligned(context: ProbeContext) -> Outcome:
    """mincore at an address that is not page aligned fails with EINVAL.

    Source: Linux mincore(2), EINVAL: "addr is not a multiple of the page
    size."
    """
    with mapping(2 * PAGE, Prot.READ, PRIVATE_ANONYMOUS) as address:
        result = attempt(lambda: raw.mincore(address + 1, PAGE))
    return judge("EINVAL", result)


@check("madvise-unaligned")
def check_madvise_unaligned(context: ProbeContext) -> Outcome:
    """madvise at an address that is not page aligned fails with EINVAL.

    Source: Linux madvise(2), EINVAL: "addr is not page-aligned or length
    is negative"; POSIX.1-2017 posix_madvise(): "[EINVAL] The value of
    addr is not a multiple of {PAGESIZE}" (may fail).
    """
    with mapping(2 * PAGE, Prot.READ, PRIVATE_ANONYMOUS) as address:
        result = attempt(lambda: raw.madvise(address + 1, PAGE, Advice.NORMAL))
    return judge("EINVAL", result)


@check("madvise-unknown-advice")
def check_madvise_unknown_advice(context: ProbeContext) -> Outcome:
    """madvise with an advice the kernel does not know fails with EINVAL.

    Source: Linux madvise(2), EINVAL: "advice is not a valid"; the value
    used, 1000, is no advice of any Linux release.
    """
    skip_under_qemu(context, MADVISE_UNDER_QEMU, "EINVAL")
    with mapping(PAGE, Prot.READ, PRIVATE_ANONYMOUS) as address:
        result = attempt(lambda: raw.madvise(address, PAGE, 1000))
    return judge("EINVAL", result)


def _lock_or_skip(call: Callable[[], object], what: str) -> None:
    try:
        call()
    except OSError as error:
        raise CheckSkipped(
            f"{what} failed with {errno_name(error.errno)} (RLIMIT_MEMLOCK or the kernel)"
        ) from error


@check("mlock-makes-resident")
def check_mlock_makes_resident(context: ProbeContext) -> Outcome:
    """mlock faults in every page of the range: all resident without a touch.

    Source: Linux mlock(2): "mlock() locks pages in the address range ...
    All pages that contain a part of the specified address range are
    guaranteed to be resident in RAM when the call returns successfully";
    POSIX.1-2017 mlock(): "shall cause those whole pages containing any
    part of the address space ... to be memory-resident".
    """
    pages = 4
    expected = f"{pages} of {pages} pages resident after mlock"
    with mapping(pages * PAGE, READ_WRITE, PRIVATE_ANONYMOUS) as address:
        _lock_or_skip(lambda: raw.mlock(address, pages * PAGE), "mlock of 4 pages")
        count = _count(address, pages * PAGE)
        raw.munlock(address, pages * PAGE)
    return judge(expected, f"{count} of {pages} pages resident after mlock")


@check("mlock2-onfault")
def check_mlock2_onfault(context: ProbeContext) -> Outcome:
    """mlock2(MLOCK_ONFAULT) locks pages as they fault in: none resident until touched.

    Source: Linux mlock(2), mlock2() MLOCK_ONFAULT (since Linux 4.4):
    "Lock pages that are currently resident and mark the entire range so
    that the remaining nonresident pages are locked when they are
    populated by a page fault."
    """
    pages = 4
    expected = f"0 of {pages} resident after mlock2; the touched page resident"
    if not raw.HAS_MLOCK2:
        raise CheckSkipped("the C library has no mlock2", expected)
    skip_under_qemu(context, "does not implement the mlock2 syscall (ENOSYS)", expected)
    from rawmmap.flags import MlockFlag

    with mapping(pages * PAGE, READ_WRITE, PRIVATE_ANONYMOUS) as address:
        _lock_or_skip(
            lambda: raw.mlock2(address, pages * PAGE, MlockFlag.ONFAULT), "mlock2(ONFAULT)"
        )
        before = _count(address, pages * PAGE)
        raw.write(address + PAGE, b"x")
        touched = resident(raw.mincore(address, pages * PAGE))[1]
        raw.munlock(address, pages * PAGE)
    observed = (
        f"{before} of {pages} resident after mlock2; the touched page "
        f"{'resident' if touched else 'not resident'}"
    )
    return judge(expected, observed)


def _drop_privileges() -> None:  # pragma: no cover - runs in a forked child
    # CAP_IPC_LOCK lets root lock any amount: become nobody first.
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)


@check("rlimit-memlock-enforced")
def check_rlimit_memlock_enforced(context: ProbeContext) -> Outcome:
    """An unprivileged process cannot lock more than RLIMIT_MEMLOCK (child process).

    The child (made unprivileged when the probe runs as root) sets the
    soft and hard limit to one page and locks four pages (ENOMEM), then
    sets it to 0 and locks one page (EPERM).

    Source: Linux mlock(2), ENOMEM: "the caller had a nonzero
    RLIMIT_MEMLOCK soft resource limit, but tried to lock more memory than
    the limit permitted. This limit is not enforced if the process is
    privileged (CAP_IPC_LOCK)"; EPERM: "(Linux 2.6.9 and later) the caller
    was not privileged (CAP_IPC_LOCK) and its RLIMIT_MEMLOCK soft resource
    limit was 0."
    """
    expected = "over the limit: ENOMEM; limit 0: EPERM"
    need_fork(expected)
    try:
        import resource
    except ImportError as error:  # pragma: no cover - every POSIX Python has it
        raise CheckSkipped("no resource module", expected) from error

    def child() -> str:  # pragma: no cover - runs in a forked child
        address = raw.mmap(0, 4 * PAGE, READ_WRITE, PRIVATE_ANONYMOUS, -1, 0)
        _drop_privileges()
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (PAGE, PAGE))
        over = attempt(lambda: raw.mlock(address, 4 * PAGE))
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (0, 0))
        zero = attempt(lambda: raw.mlock(address, PAGE))
        return f"over the limit: {over}; limit 0: {zero}"

    return judge(expected, fork_answer(child))
