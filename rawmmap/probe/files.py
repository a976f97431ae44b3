"""Files: the page cache, the end of the file, offsets, descriptors and msync.

What a file mapping shares with read(2) and write(2), what happens at and
past the end of the file (SIGBUS, in a child), which descriptors can be
mapped at all, and msync's rules.
"""

from __future__ import annotations

import contextlib
import os

from rawmmap import raw
from rawmmap.flags import MapFlag, Prot, SyncFlag
from rawmmap.probe.registry import CheckSkipped, Outcome, ProbeContext, check, judge
from rawmmap.probe.support import (
    PAGE,
    PRIVATE_ANONYMOUS,
    READ_WRITE,
    attempt,
    attempt_mmap,
    errno_name,
    fault,
    fork_answer,
    make_file,
    mapping,
    need_fork,
)


@check("shared-mapping-is-page-cache")
def check_shared_mapping_is_page_cache(context: ProbeContext) -> Outcome:
    """A MAP_SHARED mapping is the page cache: read(2) and write(2) see it at once.

    A store through the mapping is returned by os.pread without msync, and
    an os.pwrite is seen through the mapping. POSIX only promises that the
    file changes (msync makes it durable); a unified page cache, as Linux,
    FreeBSD and macOS have, makes both directions immediate.

    Source: Linux mmap(2), MAP_SHARED: "Updates to the mapping are visible
    to other processes mapping the same region, and (in the case of
    file-backed mappings) are carried through to the underlying file";
    POSIX.1-2017 mmap(): "If MAP_SHARED is specified, write references
    shall change the underlying object."
    """
    expected = "os.pread sees the store; the mapping sees os.pwrite"
    with (
        make_file(context, "cache", bytes(PAGE)) as descriptor,
        mapping(PAGE, READ_WRITE, MapFlag.SHARED, descriptor) as address,
    ):
        raw.write(address + 10, b"mapped")
        store_seen = os.pread(descriptor, 6, 10) == b"mapped"
        os.pwrite(descriptor, b"written", 100)
        pwrite_seen = raw.read(address + 100, 7) == b"written"
    observed = (
        f"os.pread {'sees' if store_seen else 'does not see'} the store; "
        f"the mapping {'sees' if pwrite_seen else 'does not see'} os.pwrite"
    )
    return judge(expected, observed)


@check("tail-zero-fill")
def check_tail_zero_fill(context: ProbeContext) -> Outcome:
    """The rest of the last page of a file reads as zero; stores there never reach the file.

    Maps a 100-byte file shared and writable, reads bytes 100 to the end
    of the page, writes into them, msyncs (MS_SYNC) and unmaps, then
    checks the file's size and bytes.

    Source: POSIX.1-2017 mmap(): "The system shall always zero-fill any
    partial page at the end of an object. Further, the system shall never
    write out any modified portions of the last page of an object which
    are beyond its end."
    """
    expected = "tail reads as zero; file stays 100 bytes, unchanged"
    content = bytes(range(100))
    with make_file(context, "tail", content) as descriptor:
        with mapping(100, READ_WRITE, MapFlag.SHARED, descriptor) as address:
            tail = raw.read(address + 100, PAGE - 100)
            raw.write(address + PAGE - 4, b"tail")
            raw.msync(address, PAGE, SyncFlag.SYNC)
        size = os.fstat(descriptor).st_size
        data = os.pread(descriptor, PAGE, 0)
    zero = tail == bytes(len(tail))
    unchanged = data == content
    observed = (
        f"tail reads as {'zero' if zero else 'non-zero'}; file stays {size} bytes, "
        f"{'unchanged' if unchanged else 'changed'}"
    )
    return judge(expected, observed, {"file_size": size})


@check("shared-private-two-mappings")
def check_shared_private_two_mappings(context: ProbeContext) -> Outcome:
    """Between two mappings of one file, MAP_SHARED stores are seen and MAP_PRIVATE ones are not.

    Maps one page three times: shared A, shared B, private P. A store
    through A is seen through B. A store through P is seen neither
    through A nor by os.pread. Whether P sees A's store before P's first
    own store is unspecified; it is recorded in the details only.

    Source: POSIX.1-2017 mmap(): "If MAP_SHARED is specified, write
    references shall change the underlying object. If MAP_PRIVATE is
    specified, modifications to the mapped data by the calling process
    shall be visible only to the calling process and shall not change the
    underlying object. It is unspecified whether modifications to the
    underlying object done after the MAP_PRIVATE mapping is established
    are visible through the MAP_PRIVATE mapping."
    """
    expected = "shared store seen by the other shared mapping; private store seen by neither"
    with (
        make_file(context, "sharing", bytes(PAGE)) as descriptor,
        mapping(PAGE, READ_WRITE, MapFlag.SHARED, descriptor) as first,
        mapping(PAGE, READ_WRITE, MapFlag.SHARED, descriptor) as second,
        mapping(PAGE, READ_WRITE, MapFlag.PRIVATE, descriptor) as private,
    ):
        raw.write(first, b"shared")
        shared_seen = raw.read(second, 6) == b"shared"
        private_saw_shared = raw.read(private, 6) == b"shared"
        raw.write(private + 64, b"private")
        private_leaked = (
            raw.read(first + 64, 7) == b"private" or os.pread(descriptor, 7, 64) == b"private"
        )
    observed = (
        f"shared store {'seen' if shared_seen else 'not seen'} by the other shared mapping; "
        f"private store seen by {'the shared mapping or the file' if private_leaked else 'neither'}"
    )
    return judge(expected, observed, {"private_saw_earlier_shared_store": private_saw_shared})


@check("offset-alignment")
def check_offset_alignment(context: ProbeContext) -> Outcome:
    """A file offset that is not a page multiple fails with EINVAL.

    Source: POSIX.1-2017 mmap(), ERRORS: "[EINVAL] The addr argument (if
    MAP_FIXED was specified) or off is not a multiple of the page size";
    Linux mmap(2): "offset must be a multiple of the page size".
    """
    expected = "offset 1: EINVAL; offset of one page: mapped"
    with make_file(context, "offset", bytes(2 * PAGE), os.O_RDONLY) as descriptor:
        results = []
        for offset in (1, PAGE):
            address, result = attempt_mmap(
                0, PAGE, Prot.READ, MapFlag.SHARED, descriptor, offset=offset
            )
            if address is not None:
                raw.munmap(address, PAGE)
            results.append(result)
    return judge(expected, f"offset 1: {results[0]}; offset of one page: {results[1]}")


@check("offset-above-4gib")
def check_offset_above_4gib(context: ProbeContext) -> Outcome:
    """An offset above 4 GiB maps the right bytes (64-bit off_t, on 32-bit hosts too).

    Makes a sparse file of 4 GiB and two pages, writes a marker at 4 GiB +
    one page with os.pwrite and maps that page.

    Source: POSIX.1-2017 mmap() maps the memory object "at offset off for
    len bytes", off being an off_t; Linux mmap(2), C library/kernel
    differences: glibc's wrapper calls mmap2(2), whose offset in page
    units reaches past 4 GiB on 32-bit systems once the C library passes
    a 64-bit off_t (mmap64; rawmmap._foreign picks it).
    """
    offset = (1 << 32) + PAGE
    expected = "mapped; the marker at 4 GiB + 1 page is read back"
    marker = b"above 4 GiB"
    path = context.path("sparse")
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        try:
            os.ftruncate(descriptor, offset + PAGE)
            os.pwrite(descriptor, marker, offset)
        except OSError as error:
            raise CheckSkipped(
                f"the temporary directory cannot hold a sparse file above 4 GiB "
                f"({errno_name(error.errno)})",
                expected,
            ) from error
        address, result = attempt_mmap(
            0, PAGE, Prot.READ, MapFlag.SHARED, descriptor, offset=offset
        )
        if address is None:
            return judge(expected, result)
        try:
            seen = raw.read(address, len(marker)) == marker
        finally:
            raw.munmap(address, PAGE)
    finally:
        os.close(descriptor)
        os.unlink(path)
    observed = f"mapped; the marker at 4 GiB + 1 page is {'read back' if seen else 'not there'}"
    return judge(expected, observed, {"offset": offset})


@check("fault-past-eof")
def check_fault_past_eof(context: ProbeContext) -> Outcome:
    """Touching a mapped page wholly past the end of a truncated file raises SIGBUS (child).

    The child maps two pages of a two-page file, truncates the file to one
    page, and reads the second page.

    Source: POSIX.1-2017 mmap(): "References within the address range
    starting at pa and continuing for len bytes to whole pages following
    the end of an object shall result in delivery of a SIGBUS signal";
    Linux mmap(2): "SIGBUS Attempted access to a page of the buffer that
    lies beyond the end of the mapped file".
    """
    observed = fault(
        context,
        """
        path = os.path.join(sys.argv[2], "truncated")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.ftruncate(fd, 2 * page)
        address = raw.mmap(0, 2 * page, Prot.READ, MapFlag.SHARED, fd, 0)
        os.ftruncate(fd, page)
        raw.read(address + page, 1)
        """,
    )
    with contextlib.suppress(FileNotFoundError):
        os.unlink(context.path("truncated"))
    return judge("SIGBUS", observed)


@check("msync-sync-and-async")
def check_msync_sync_and_async(context: ProbeContext) -> Outcome:
    """msync with both MS_SYNC and MS_ASYNC fails with EINVAL; MS_SYNC alone works.

    Source: POSIX.1-2017 msync(): "Either MS_ASYNC or MS_SYNC shall be
    specified, but not both"; Linux msync(2), EINVAL: "both MS_SYNC and
    MS_ASYNC are set in flags".
    """
    expected = "SYNC|ASYNC: EINVAL; SYNC: succeeded"
    with (
        make_file(context, "msync", bytes(PAGE)) as descriptor,
        mapping(PAGE, READ_WRITE, MapFlag.SHARED, descriptor) as address,
    ):
        both = attempt(lambda: raw.msync(address, PAGE, SyncFlag.SYNC | SyncFlag.ASYNC))
        alone = attempt(lambda: raw.msync(address, PAGE, SyncFlag.SYNC))
    return judge(expected, f"SYNC|ASYNC: {both}; SYNC: {alone}")


@check("msync-marks-mtime")
def check_msync_marks_mtime(context: ProbeContext) -> Outcome:
    """A store through a MAP_SHARED mapping, then msync(MS_SYNC), updates the file's st_mtime.

    The file's times are set to the epoch first, so no clock resolution
    can hide the update.

    Source: POSIX.1-2017 mmap(): "The st_ctime and st_mtime fields of a
    file that is mapped with MAP_SHARED and PROT_WRITE shall be marked for
    update at some point in the interval between a write reference to the
    mapped region and the next call to msync() with MS_ASYNC or MS_SYNC
    for that portion of the file by any process."
    """
    expected = "st_mtime updated"
    with make_file(context, "mtime", bytes(PAGE)) as descriptor:
        if os.utime not in os.supports_fd:  # pragma: no cover - POSIX systems have futimens
            raise CheckSkipped("os.utime cannot set a descriptor's times here", expected)
        os.utime(descriptor, ns=(0, 0))
        with mapping(PAGE, READ_WRITE, MapFlag.SHARED, descriptor) as address:
            raw.write(address, b"z")
            raw.msync(address, PAGE, SyncFlag.SYNC)
        mtime = os.fstat(descriptor).st_mtime_ns
    return judge(expected, "st_mtime updated" if mtime else "st_mtime unchanged")


@check("truncate-then-extend")
def check_truncate_then_extend(context: ProbeContext) -> Outcome:
    """Extending a truncated file makes the page past the old end valid again, zero-filled (child).

    Source: POSIX.1-2017 mmap(): SIGBUS is for references "to whole pages
    following the end of an object" (the object's current end);
    ftruncate(): "If the file was previously shorter than length, its size
    is increased, and the extended area appears as if it were
    zero-filled."
    """
    expected = "reads zero, no fault"
    need_fork(expected)
    with make_file(context, "extend", b"x" * (2 * PAGE)) as descriptor:

        def child() -> str:  # pragma: no cover - runs in a forked child
            address = raw.mmap(0, 2 * PAGE, Prot.READ, MapFlag.SHARED, descriptor, 0)
            os.ftruncate(descriptor, PAGE)
            os.ftruncate(descriptor, 2 * PAGE)
            zero = raw.read(address + PAGE, 8) == bytes(8)
            return f"reads {'zero' if zero else 'the old bytes'}, no fault"

        observed = fork_answer(child)
    return judge(expected, observed)


@check("shared-store-second-descriptor")
def check_shared_store_second_descriptor(context: ProbeContext) -> Outcome:
    """A MAP_SHARED store is read(2) through another descriptor of the same file.

    Source: POSIX.1-2017 mmap(): "If MAP_SHARED is specified, write
    references shall change the underlying object"; Linux mmap(2),
    MAP_SHARED: updates "are carried through to the underlying file".
    """
    expected = "the other descriptor reads the store"
    with (
        make_file(context, "second-fd", bytes(PAGE)) as descriptor,
        mapping(PAGE, READ_WRITE, MapFlag.SHARED, descriptor) as address,
    ):
        raw.write(address + 5, b"shared")
        with open(context.path("second-fd"), "rb") as other:
            other.seek(5)
            seen = other.read(6) == b"shared"
    return judge(expected, expected if seen else "the other descriptor reads the old bytes")


@check("store-kept-after-munmap")
def check_store_kept_after_munmap(context: ProbeContext) -> Outcome:
    """Stores to a MAP_SHARED mapping stay in the file after munmap and close, without msync.

    Source: Linux munmap(2): "The region is also automatically unmapped
    when the process is terminated. On the other hand, closing the file
    descriptor does not unmap the region"; POSIX.1-2017 mmap(): write
    references "shall change the underlying object" (msync only makes it
    durable).
    """
    expected = "the file holds the store"
    path = context.path("after-munmap")
    with open(path, "wb") as created:
        created.write(bytes(PAGE))
    descriptor = os.open(path, os.O_RDWR)
    try:
        address = raw.mmap(0, PAGE, READ_WRITE, MapFlag.SHARED, descriptor, 0)
    finally:
        os.close(descriptor)
    raw.write(address + 100, b"kept")
    raw.munmap(address, PAGE)
    with open(path, "rb") as reopened:
        data = reopened.read()
    os.unlink(path)
    return judge(expected, expected if data[100:104] == b"kept" else "the store is lost")


@check("two-processes-share-file")
def check_two_processes_share_file(context: ProbeContext) -> Outcome:
    """Two processes that each map a file MAP_SHARED see each other's stores.

    The child opens and maps the file on its own (not the inherited
    mapping) and stores; the parent reads through its mapping.

    Source: POSIX.1-2017 mmap(): MAP_SHARED write references "shall change
    the underlying object"; Linux mmap(2), MAP_SHARED: "Updates to the
    mapping are visible to other processes mapping the same region".
    """
    expected = "the parent sees the child's store"
    need_fork(expected)
    path = context.path("two-processes")
    with (
        make_file(context, "two-processes", bytes(PAGE)) as descriptor,
        mapping(PAGE, Prot.READ, MapFlag.SHARED, descriptor) as address,
    ):

        def child() -> str:  # pragma: no cover - runs in a forked child
            own = os.open(path, os.O_RDWR)
            mine = raw.mmap(0, PAGE, READ_WRITE, MapFlag.SHARED, own, 0)
            raw.write(mine + 7, b"child")
            return "stored"

        answer = fork_answer(child)
        seen = raw.read(address + 7, 5) == b"child"
    if answer != "stored":
        return judge(expected, f"the child failed: {answer}")
    return judge(expected, expected if seen else "the parent does not see it")


@check("map-beyond-eof")
def check_map_beyond_eof(context: ProbeContext) -> Outcome:
    """mmap of more pages than the file has succeeds (only an access past the end faults).

    Source: POSIX.1-2017 mmap(): "The mmap() function can be used to map a
    region of memory that is larger than the current size of the object";
    the SIGBUS is for references to the pages past the end.
    """
    with make_file(context, "short", b"short") as descriptor:
        address, result = attempt_mmap(0, 4 * PAGE, Prot.READ, MapFlag.SHARED, descriptor)
        if address is not None:
            raw.munmap(address, 4 * PAGE)
    return judge("mapped", result)


@check("map-write-only-descriptor")
def check_map_write_only_descriptor(context: ProbeContext) -> Outcome:
    """mmap of a descriptor opened O_WRONLY fails with EACCES, even for PROT_WRITE.

    Source: POSIX.1-2017 mmap(), ERRORS: "[EACCES] The fildes argument is
    not open for read, regardless of the protection specified"; Linux
    mmap(2), EACCES: "a file mapping was requested, but fd is not open for
    reading."
    """
    with make_file(context, "write-only", bytes(PAGE), os.O_WRONLY) as descriptor:
        address, result = attempt_mmap(0, PAGE, Prot.WRITE, MapFlag.SHARED, descriptor)
        if address is not None:
            raw.munmap(address, PAGE)
    return judge("EACCES", result)


@check("map-directory")
def check_map_directory(context: ProbeContext) -> Outcome:
    """mmap of a directory descriptor fails with ENODEV.

    Source: POSIX.1-2017 mmap(), ERRORS: "[ENODEV] The fildes argument
    refers to a file whose type is not supported by mmap()"; Linux
    mmap(2), ENODEV: "The underlying filesystem of the specified file does
    not support memory mapping."
    """
    descriptor = os.open(context.directory, os.O_RDONLY)
    try:
        address, result = attempt_mmap(0, PAGE, Prot.READ, MapFlag.SHARED, descriptor)
        if address is not None:
            raw.munmap(address, PAGE)
    finally:
        os.close(descriptor)
    return judge("ENODEV", result)


@check("map-pipe")
def check_map_pipe(context: ProbeContext) -> Outcome:
    """mmap of a pipe fails with ENODEV.

    Source: POSIX.1-2017 mmap(), ERRORS: "[ENODEV] The fildes argument
    refers to a file whose type is not supported by mmap()"; Linux
    mmap(2), ENODEV.
    """
    reader, writer = os.pipe()
    try:
        address, result = attempt_mmap(0, PAGE, Prot.READ, MapFlag.SHARED, reader)
        if address is not None:
            raw.munmap(address, PAGE)
    finally:
        os.close(reader)
        os.close(writer)
    return judge("ENODEV", result)


@check("map-bad-descriptor")
def check_map_bad_descriptor(context: ProbeContext) -> Outcome:
    """mmap of a descriptor that is not open fails with EBADF.

    The descriptor number is above RLIMIT_NOFILE, so no thread can have
    opened it meanwhile.

    Source: POSIX.1-2017 mmap(), ERRORS: "[EBADF] The fildes argument is
    not a valid open file descriptor"; Linux mmap(2), EBADF: "fd is not a
    valid file descriptor (and MAP_ANONYMOUS was not set)."
    """
    number = 1 << 20
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if soft != resource.RLIM_INFINITY:
            number = min(soft, 2**31 - 1)
    except ImportError:  # pragma: no cover - every POSIX Python has it
        pass
    address, result = attempt_mmap(0, PAGE, Prot.READ, MapFlag.SHARED, number)
    if address is not None:  # pragma: no cover - a kernel that maps a closed descriptor
        raw.munmap(address, PAGE)
    return judge("EBADF", result)


@check("msync-invalidate")
def check_msync_invalidate(context: ProbeContext) -> Outcome:
    """msync(MS_INVALIDATE) succeeds; the mapping then shows what write(2) put in the file.

    On Linux the page cache is the mapping, so there is nothing stale to
    invalidate; the call must still succeed on an unlocked mapping.

    Source: POSIX.1-2017 msync(): "When MS_INVALIDATE is specified,
    msync() shall invalidate all cached copies of mapped data that are
    inconsistent with the permanent storage locations such that subsequent
    references shall obtain data that was consistent with the permanent
    storage locations sometime between the call to msync() and the first
    subsequent memory reference to the data"; Linux msync(2), EBUSY only
    for locked pages.
    """
    expected = "succeeded; the mapping shows the file's bytes"
    with (
        make_file(context, "invalidate", bytes(PAGE)) as descriptor,
        mapping(PAGE, READ_WRITE, MapFlag.SHARED, descriptor) as address,
    ):
        os.pwrite(descriptor, b"fresh", 0)
        result = attempt(lambda: raw.msync(address, PAGE, SyncFlag.INVALIDATE))
        fresh = raw.read(address, 5) == b"fresh"
    observed = f"{result}; the mapping shows {'the file' if fresh else 'stale'}'s bytes"
    return judge(expected, observed.replace("stale's", "stale"))


@check("msync-subrange")
def check_msync_subrange(context: ProbeContext) -> Outcome:
    """msync of one page in the middle of a mapping succeeds, as do MS_ASYNC and a partial length.

    Source: POSIX.1-2017 msync(): "shall write all modified data to
    permanent storage locations ... in the range starting at addr and
    continuing for len bytes"; Linux msync(2): "length ... need not be a
    multiple of the page size" (only addr must be aligned).
    """
    expected = "page 2, SYNC: succeeded; page 1, ASYNC: succeeded; 10 bytes: succeeded"
    with (
        make_file(context, "subrange", bytes(4 * PAGE)) as descriptor,
        mapping(4 * PAGE, READ_WRITE, MapFlag.SHARED, descriptor) as address,
    ):
        raw.write(address + 2 * PAGE, b"dirty")
        middle = attempt(lambda: raw.msync(address + 2 * PAGE, PAGE, SyncFlag.SYNC))
        asynchronous = attempt(lambda: raw.msync(address + PAGE, PAGE, SyncFlag.ASYNC))
        partial = attempt(lambda: raw.msync(address, 10, SyncFlag.SYNC))
    observed = f"page 2, SYNC: {middle}; page 1, ASYNC: {asynchronous}; 10 bytes: {partial}"
    return judge(expected, observed)


@check("msync-unaligned")
def check_msync_unaligned(context: ProbeContext) -> Outcome:
    """msync at an address that is not page aligned fails with EINVAL.

    Source: POSIX.1-2017 msync(): "[EINVAL] The value of addr is not a
    multiple of the page size {PAGESIZE}"; Linux msync(2), EINVAL: "addr
    is not a multiple of PAGESIZE".
    """
    with mapping(2 * PAGE, READ_WRITE, PRIVATE_ANONYMOUS) as address:
        result = attempt(lambda: raw.msync(address + 1, PAGE, SyncFlag.SYNC))
    return judge("EINVAL", result)


@check("msync-unmapped")
def check_msync_unmapped(context: ProbeContext) -> Outcome:
    """msync over a range with a hole fails with ENOMEM.

    Source: POSIX.1-2017 msync(): "[ENOMEM] The addresses in the range
    starting at addr and continuing for len bytes are outside the range
    allowed for the address space of a process or specify one or more
    pages that are not mapped"; Linux msync(2), ENOMEM.
    """
    if context.platform.emulation == "qemu-user" and context.platform.pointer_bits == 32:
        raise CheckSkipped(
            "qemu-user reserves a 32-bit guest's whole address space, so a hole is still "
            "mapped in the host",
            "ENOMEM",
        )
    with mapping(3 * PAGE, READ_WRITE, PRIVATE_ANONYMOUS) as address:
        raw.munmap(address + PAGE, PAGE)
        result = attempt(lambda: raw.msync(address, 3 * PAGE, SyncFlag.SYNC))
    return judge("ENOMEM", result)


@check("msync-unknown-flag")
def check_msync_unknown_flag(context: ProbeContext) -> Outcome:
    """msync with a flag bit that is none of MS_ASYNC, MS_SYNC, MS_INVALIDATE fails with EINVAL.

    Source: POSIX.1-2017 msync(): "[EINVAL] The value of flags is
    invalid"; Linux msync(2), EINVAL: "flags specifies an invalid flag"
    (the bit used, 0x100, is none of them on any architecture).
    """
    with mapping(PAGE, READ_WRITE, PRIVATE_ANONYMOUS) as address:
        result = attempt(lambda: raw.msync(address, PAGE, SyncFlag.SYNC | 0x100))
    return judge("EINVAL", result)
