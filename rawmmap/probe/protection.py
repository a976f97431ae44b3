"""Protection: open modes, mprotect, faults, guard regions, keys and seals.

Every access that should fault runs in a child process (a subprocess or
a fork) and the parent reports the signal.
"""

from __future__ import annotations

import os

from rawmmap import raw
from rawmmap.flags import Advice, MapFlag, PkeyRights, Prot
from rawmmap.probe.registry import CheckSkipped, Outcome, ProbeContext, check, judge
from rawmmap.probe.support import (
    PAGE,
    PRIVATE_ANONYMOUS,
    PROTECTION_FAULT,
    READ_WRITE,
    attempt,
    attempt_mmap,
    errno_name,
    fault,
    fork_answer,
    in_fork,
    make_file,
    mapping,
    maps_lines,
    need_fork,
    skip_under_qemu,
)


@check("shared-write-on-readonly-fd")
def check_shared_write_on_readonly_fd(context: ProbeContext) -> Outcome:
    """PROT_WRITE with MAP_SHARED on a descriptor opened O_RDONLY fails with EACCES.

    The descriptor's open mode decides, not the file's permission bits, so
    the answer is the same for root.

    Source: POSIX.1-2017 mmap(), ERRORS: "[EACCES] ... fildes is not open
    for write and PROT_WRITE was specified for a MAP_SHARED type mapping";
    Linux mmap(2), EACCES.
    """
    with make_file(context, "readonly-shared", bytes(PAGE), os.O_RDONLY) as descriptor:
        address, result = attempt_mmap(0, PAGE, READ_WRITE, MapFlag.SHARED, descriptor)
        if address is not None:
            raw.munmap(address, PAGE)
    return judge("EACCES", result)


@check("private-write-on-readonly-fd")
def check_private_write_on_readonly_fd(context: ProbeContext) -> Outcome:
    """PROT_WRITE with MAP_PRIVATE on an O_RDONLY descriptor works; the file is unchanged.

    Source: POSIX.1-2017 mmap(): EACCES only for "a MAP_SHARED type
    mapping"; "If MAP_PRIVATE is specified, modifications to the mapped
    data by the calling process shall be visible only to the calling
    process and shall not change the underlying object."
    """
    expected = "mapped; the store is seen in the mapping; file unchanged"
    with make_file(context, "readonly-private", bytes(PAGE), os.O_RDONLY) as descriptor:
        address, result = attempt_mmap(0, PAGE, READ_WRITE, MapFlag.PRIVATE, descriptor)
        if address is None:
            return judge(expected, result)
        try:
            raw.write(address, b"private")
            seen = raw.read(address, 7) == b"private"
        finally:
            raw.munmap(address, PAGE)
        unchanged = os.pread(descriptor, PAGE, 0) == bytes(PAGE)
    observed = (
        f"mapped; the store is {'seen' if seen else 'not seen'} in the mapping; "
        f"file {'unchanged' if unchanged else 'changed'}"
    )
    return judge(expected, observed)


@check("mprotect-write-on-readonly-fd")
def check_mprotect_write_on_readonly_fd(context: ProbeContext) -> Outcome:
    """mprotect to PROT_WRITE on a shared mapping of an O_RDONLY descriptor fails with EACCES.

    Source: Linux mprotect(2), EACCES: "if you mmap(2) a file to which you
    have read-only access, then ask mprotect() to mark it PROT_WRITE";
    POSIX.1-2017 mprotect(): "[EACCES] The prot argument specifies a
    protection that violates the access permission the process has to the
    underlying memory object."
    """
    with (
        make_file(context, "readonly-mprotect", bytes(PAGE), os.O_RDONLY) as descriptor,
        mapping(PAGE, Prot.READ, MapFlag.SHARED, descriptor) as address,
    ):
        result = attempt(lambda: raw.mprotect(address, PAGE, READ_WRITE))
    return judge("EACCES", result)


@check("fault-write-prot-read")
def check_fault_write_prot_read(context: ProbeContext) -> Outcome:
    """A write to PROT_READ memory kills the process with SIGSEGV (child process).

    Source: Linux mmap(2), "Use of a mapped region can result in these
    signals: SIGSEGV Attempted write into a region mapped as read-only";
    POSIX.1-2017 mmap(): the implementation "shall not permit a write to
    succeed where PROT_WRITE has not been set" (the signal is the
    platform's; macOS raises SIGBUS: see the module docstring).
    """
    observed = fault(
        context,
        """
        address = raw.mmap(0, page, Prot.READ, anonymous, -1, 0)
        raw.write(address, b"x")
        """,
    )
    return judge(PROTECTION_FAULT, observed)


@check("fault-prot-none")
def check_fault_prot_none(context: ProbeContext) -> Outcome:
    """Any access to PROT_NONE memory, read or write, raises SIGSEGV (child processes).

    Source: POSIX.1-2017 mmap(): the implementation "shall not permit any
    access where PROT_NONE alone has been set"; Linux mprotect(2): "If the
    calling process tries to access memory in a manner that violates the
    protection, then the kernel generates a SIGSEGV signal" (macOS raises
    SIGBUS: see the module docstring).
    """
    mapping = "address = raw.mmap(0, page, Prot.NONE, anonymous, -1, 0)\n"
    read = fault(context, mapping + "raw.read(address, 1)")
    write = fault(context, mapping + "raw.write(address, b'x')")
    expected = f"read: {PROTECTION_FAULT}; write: {PROTECTION_FAULT}"
    return judge(expected, f"read: {read}; write: {write}")


@check("fault-after-munmap")
def check_fault_after_munmap(context: ProbeContext) -> Outcome:
    """Reading memory after munmap raises SIGSEGV (child process).

    Source: POSIX.1-2017 munmap(): "Further references to these pages
    shall result in the generation of a SIGSEGV signal to the process."
    """
    observed = fault(
        context,
        """
        address = raw.mmap(0, page, Prot.READ | Prot.WRITE, anonymous, -1, 0)
        raw.munmap(address, page)
        raw.read(address, 1)
        """,
    )
    return judge("SIGSEGV", observed)


def _touch(address: int, write: bool = False) -> str:  # pragma: no cover - forked child
    if write:
        raw.write(address, b"x")
    else:
        raw.read(address, 1)
    return "no fault"


@check("mprotect-downgrade-faults")
def check_mprotect_downgrade_faults(context: ProbeContext) -> Outcome:
    """After mprotect to PROT_READ, a write faults with SIGSEGV; the data stay readable.

    Source: POSIX.1-2017 mprotect(): "shall change the access protections
    to be that specified by prot"; Linux mprotect(2): a violating access
    makes "the kernel generate a SIGSEGV signal" (macOS: SIGBUS).
    """
    expected = f"read: the data; write: {PROTECTION_FAULT}"
    need_fork(expected)
    with mapping(PAGE, READ_WRITE, PRIVATE_ANONYMOUS) as address:
        raw.write(address, b"data")
        raw.mprotect(address, PAGE, Prot.READ)
        readable = raw.read(address, 4) == b"data"
        write = fork_answer(lambda: _touch(address, write=True))
    return judge(expected, f"read: {'the data' if readable else 'changed'}; write: {write}")


@check("mprotect-keeps-data")
def check_mprotect_keeps_data(context: ProbeContext) -> Outcome:
    """mprotect to PROT_NONE and back keeps the contents of the pages.

    Source: POSIX.1-2017 mprotect() changes only "the access protections";
    Linux mprotect(2) "changes the access protections for the calling
    process's memory pages".
    """
    expected = "the data read back"
    with mapping(2 * PAGE, READ_WRITE, PRIVATE_ANONYMOUS) as address:
        raw.write(address + PAGE - 2, b"span")
        raw.mprotect(address, 2 * PAGE, Prot.NONE)
        raw.mprotect(address, 2 * PAGE, READ_WRITE)
        back = raw.read(address + PAGE - 2, 4)
    return judge(expected, expected if back == b"span" else f"reads {back!r}")


@check("mprotect-splits-area")
def check_mprotect_splits_area(context: ProbeContext) -> Outcome:
    """mprotect of the middle page splits one mapping into three areas in /proc/self/maps.

    And restoring the protection merges them again.

    Source: Linux proc(5), /proc/pid/maps: "A file containing the
    currently mapped memory regions and their access permissions"; the
    kernel keeps one area (VMA) per run of equal protection
    (Documentation/filesystems/proc.rst, "The /proc/PID/maps file").
    """
    expected = "1 area, then 3 (rw-p r--p rw-p), then 1 again"
    if context.platform.emulation == "qemu-user":
        # qemu-user 10 answers /proc/self/maps from its own page table and
        # keeps the split areas apart (seen on s390x): not the kernel's answer.
        raise CheckSkipped("qemu-user writes /proc/self/maps itself", expected)
    with mapping(3 * PAGE, READ_WRITE, PRIVATE_ANONYMOUS) as address:
        end = address + 3 * PAGE
        before = maps_lines(address, end)
        raw.mprotect(address + PAGE, PAGE, Prot.READ)
        split = maps_lines(address, end)
        raw.mprotect(address + PAGE, PAGE, READ_WRITE)
        after = maps_lines(address, end)
    modes = " ".join(line.split()[1] for line in split)
    observed = f"{len(before)} area, then {len(split)} ({modes}), then {len(after)} again"
    return judge(expected, observed)


@check("mprotect-unmapped")
def check_mprotect_unmapped(context: ProbeContext) -> Outcome:
    """mprotect of a range with a hole fails with ENOMEM.

    Source: POSIX.1-2017 mprotect(): "[ENOMEM] Addresses in the range
    [addr,addr+len) are invalid for the address space of a process, or
    specify one or more pages which are not mapped"; Linux mprotect(2),
    ENOMEM.
    """
    if context.platform.emulation == "qemu-user" and context.platform.pointer_bits == 32:
        raise CheckSkipped(
            "qemu-user reserves a 32-bit guest's whole address space, so a hole is still "
            "mapped in the host",
            "ENOMEM",
        )
    with mapping(3 * PAGE, Prot.NONE, PRIVATE_ANONYMOUS) as address:
        raw.munmap(address + PAGE, PAGE)
        result = attempt(lambda: raw.mprotect(address, 3 * PAGE, Prot.READ))
    return judge("ENOMEM", result)


@check("mprotect-unaligned")
def check_mprotect_unaligned(context: ProbeContext) -> Outcome:
    """mprotect at an address that is not page aligned fails with EINVAL.

    Source: POSIX.1-2017 mprotect(): "[EINVAL] The addr argument is not a
    multiple of the page size"; Linux mprotect(2), EINVAL: "addr is not a
    valid pointer, or not a multiple of the system page size."
    """
    with mapping(2 * PAGE, Prot.READ, PRIVATE_ANONYMOUS) as address:
        result = attempt(lambda: raw.mprotect(address + 1, PAGE, READ_WRITE))
    return judge("EINVAL", result)


@check("mprotect-unknown-prot")
def check_mprotect_unknown_prot(context: ProbeContext) -> Outcome:
    """mprotect with a protection bit the kernel does not know fails with EINVAL.

    Source: Linux mprotect(2), EINVAL: "Invalid flags specified in prot";
    the bit used, 0x100, is no PROT_ value of any Linux architecture.
    """
    with mapping(PAGE, Prot.READ, PRIVATE_ANONYMOUS) as address:
        result = attempt(lambda: raw.mprotect(address, PAGE, Prot.READ | 0x100))
    return judge("EINVAL", result)


@check("prot-write-only-read", informational=True)
def check_prot_write_only_read(context: ProbeContext) -> Outcome:
    """Whether memory mapped PROT_WRITE alone can be read (child): the hardware decides.

    Informational: on x86 and most MMUs a writable page is readable.

    Source: Linux mmap(2), NOTES: "On some hardware architectures (e.g.,
    i386), PROT_WRITE implies PROT_READ"; POSIX.1-2017 mmap(): "An
    implementation may permit accesses other than those specified by
    prot".
    """
    expected = "readable"
    need_fork(expected)
    with mapping(PAGE, Prot.WRITE, PRIVATE_ANONYMOUS) as address:
        answer = fork_answer(lambda: _touch(address))
    observed = "readable" if answer == "no fault" else answer
    return Outcome(expected, observed, "pass" if observed == expected else "differs")


def _noexec_directory() -> str:
    """Return a writable directory on a noexec mount, or ""."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as mountinfo:
            lines = mountinfo.read().splitlines()
    except OSError:
        return ""
    for line in lines:
        fields = line.split()
        if len(fields) < 6 or "noexec" not in fields[5].split(","):
            continue
        point = fields[4].replace("\\040", " ")
        usable = "rw" in fields[5].split(",") and os.path.isdir(point)
        special = point.startswith(("/proc", "/sys", "/dev/pts", "/dev/mqueue"))
        if usable and not special and os.access(point, os.W_OK):
            return point
    return ""


@check("prot-exec-noexec-mount")
def check_prot_exec_noexec_mount(context: ProbeContext) -> Outcome:
    """PROT_EXEC of a file on a noexec mount fails with EPERM; PROT_READ works.

    Looks for a writable noexec mount (often /dev/shm or /run); skipped
    when there is none (mounting one needs root).

    Source: Linux mmap(2), EPERM: "The prot argument asks for PROT_EXEC
    but the mapped area belongs to a file on a filesystem that was mounted
    no-exec."
    """
    expected = "PROT_EXEC: EPERM; PROT_READ: mapped"
    directory = _noexec_directory()
    if not directory:
        raise CheckSkipped("no writable noexec mount here (making one needs root)", expected)
    path = os.path.join(directory, f"rawmmap-probe-{os.getpid()}")
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        raise CheckSkipped(f"cannot create a file in {directory}", expected) from error
    try:
        os.write(descriptor, bytes(PAGE))
        results = []
        for prot in (Prot.READ | Prot.EXEC, Prot.READ):
            address, result = attempt_mmap(0, PAGE, prot, MapFlag.PRIVATE, descriptor)
            if address is not None:
                raw.munmap(address, PAGE)
            results.append(result)
    finally:
        os.close(descriptor)
        os.unlink(path)
    observed = f"PROT_EXEC: {results[0]}; PROT_READ: {results[1]}"
    return judge(expected, observed, {"directory": directory})


@check("guard-region")
def check_guard_region(context: ProbeContext) -> Outcome:
    """A guard region (MADV_GUARD_INSTALL) faults on access; GUARD_REMOVE leaves a zero page.

    Source: Linux madvise(2), MADV_GUARD_INSTALL (since Linux 6.13):
    "Install a lightweight guard region into the range ... accessing the
    range ... results in a fatal signal (SIGSEGV)"; MADV_GUARD_REMOVE
    "Remove any lightweight guard regions"; the kernel's
    tools/testing/selftests/mm/guard-regions.c.
    """
    expected = "guarded read: SIGSEGV; after GUARD_REMOVE: reads zero"
    if not hasattr(Advice, "GUARD_INSTALL"):
        raise CheckSkipped("MADV_GUARD_INSTALL is not on this platform", expected)
    skip_under_qemu(context, "answers madvise(2) itself (0, no effect)", expected)
    need_fork(expected)
    with mapping(3 * PAGE, READ_WRITE, PRIVATE_ANONYMOUS) as address:
        raw.write(address + PAGE, b"gone")
        try:
            raw.madvise(address + PAGE, PAGE, Advice.GUARD_INSTALL)
        except OSError as error:
            raise CheckSkipped(
                f"MADV_GUARD_INSTALL failed with {errno_name(error.errno)}: it needs Linux 6.13",
                expected,
            ) from error
        guarded = fork_answer(lambda: _touch(address + PAGE))
        raw.madvise(address + PAGE, PAGE, Advice.GUARD_REMOVE)
        # Read in a child too: a guard that stayed would kill the probe.
        after = fork_answer(lambda: "zero" if raw.read(address + PAGE, 4) == bytes(4) else "data")
    removed = f"reads {after}" if not after.startswith("SIG") else f"still faults ({after})"
    observed = f"guarded read: {guarded}; after GUARD_REMOVE: {removed}"
    return judge(expected, observed)


@check("protection-keys")
def check_protection_keys(context: ProbeContext) -> Outcome:
    """A page tagged with a key whose rights deny access faults (SIGSEGV); rights are per thread.

    Source: Linux pkeys(7): "Memory Protection Keys provide a mechanism
    for changing protections without requiring modification of the page
    tables ... each thread has its own set of access rights"; pkey_alloc(2),
    pkey_mprotect(2); the kernel's tools/testing/selftests/mm/protection_keys.c.
    """
    expected = "pkey_alloc: a key; denied read: SIGSEGV; after PKEY_DISABLE_ACCESS=0: reads"
    cpu = "has" if context.platform.pku else "does not have"
    if not raw.HAS_PKEYS or not raw.HAS_PKEY_RIGHTS:
        raise CheckSkipped("no pkey_alloc/pkey_get on this platform", expected)
    try:
        key = raw.pkey_alloc()
    except OSError as error:
        raise CheckSkipped(
            f"pkey_alloc fails with {errno_name(error.errno)}: this CPU {cpu} the pku flag, "
            "or the kernel has no protection keys",
            expected,
        ) from error
    return _denied_by_key(key, expected)


def _denied_by_key(key: int, expected: str) -> Outcome:  # pragma: no cover - needs pkeys
    need_fork(expected)
    try:
        with mapping(PAGE, READ_WRITE, PRIVATE_ANONYMOUS) as address:
            raw.pkey_mprotect(address, PAGE, READ_WRITE, key)

            def denied() -> int:  # pragma: no cover - runs in the forked child
                raw.pkey_set(key, PkeyRights.DISABLE_ACCESS)
                raw.read(address, 1)
                return 0

            read = in_fork(denied)
            allowed = attempt(lambda: raw.read(address, 1))
    finally:
        raw.pkey_free(key)
    after = "reads" if allowed == "succeeded" else allowed
    return judge(
        expected, f"pkey_alloc: a key; denied read: {read}; after PKEY_DISABLE_ACCESS=0: {after}"
    )


@check("mseal")
def check_mseal(context: ProbeContext) -> Outcome:
    """A sealed mapping refuses munmap, mprotect and mremap with EPERM; madvise(WILLNEED) works.

    Sealed in a forked child, which takes the sealed memory with it.

    Source: Linux mseal(2) (since Linux 6.10): "mseal() applies a seal to
    the mappings ... attempts to modify them fail with EPERM";
    Documentation/userspace-api/mseal.rst; the kernel's
    tools/testing/selftests/mm/mseal_test.c.
    """
    expected = "munmap: EPERM; mprotect: EPERM; mremap: EPERM; WILLNEED: succeeded"
    if not raw.HAS_MSEAL:
        raise CheckSkipped("no mseal(2) on this platform", expected)
    need_fork(expected)

    def sealed() -> str:  # pragma: no cover - runs in the forked child
        address = raw.mmap(0, PAGE, READ_WRITE, PRIVATE_ANONYMOUS, -1, 0)
        try:
            raw.mseal(address, PAGE)
        except OSError as error:
            return f"mseal: {errno_name(error.errno)}"
        return "; ".join(
            (
                f"munmap: {attempt(lambda: raw.munmap(address, PAGE))}",
                f"mprotect: {attempt(lambda: raw.mprotect(address, PAGE, Prot.READ))}",
                f"mremap: {attempt(lambda: raw.mremap(address, PAGE, 2 * PAGE, 0))}",
                f"WILLNEED: {attempt(lambda: raw.madvise(address, PAGE, Advice.WILLNEED))}",
            )
        )

    observed = fork_answer(sealed)
    if observed.startswith("mseal: ENOSYS"):
        raise CheckSkipped("mseal(2) answers ENOSYS: it needs Linux 6.10", expected)
    return judge(expected, observed)
