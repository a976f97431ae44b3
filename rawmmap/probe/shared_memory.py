"""Shared memory: shm_open names and flags, unlink while mapped, memfd seals.

The names go to the C library's shm_open as they are (through the libc
layer, not ``rawmmap.shm``, whose name checks would answer first), so the
answers are the C library's and the kernel's. Seals use the stdlib
(``os.memfd_create``, ``fcntl`` F_ADD_SEALS); seal constants the fcntl
module lacks are taken from the kernel's include/uapi/linux/fcntl.h.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from rawmmap import raw
from rawmmap.flags import MapFlag, Prot
from rawmmap.probe.registry import CheckSkipped, Outcome, ProbeContext, check, judge
from rawmmap.probe.support import PAGE, READ_WRITE, attempt, attempt_mmap, errno_name

try:
    import fcntl
except ImportError:  # pragma: no cover - every POSIX Python has fcntl
    fcntl = None  # type: ignore[assignment]

# include/uapi/linux/fcntl.h
_F_ADD_SEALS = 1033
_F_GET_SEALS = 1034
_F_SEAL_SEAL = 0x0001
_F_SEAL_SHRINK = 0x0002
_F_SEAL_GROW = 0x0004
_F_SEAL_WRITE = 0x0008
_F_SEAL_FUTURE_WRITE = 0x0010  # Linux 5.1
_F_SEAL_EXEC = 0x0020  # Linux 6.3


def _shm_name(context: ProbeContext, tag: str) -> bytes:
    return f"/rawmmap-probe-{os.getpid()}-{tag}".encode()


def _open(name: bytes, flags: int, mode: int = 0o600) -> int:
    if not raw.has_shm():
        raise CheckSkipped("the C library has no shm_open")
    return raw.shm_open(name, flags | getattr(os, "O_CLOEXEC", 0), mode)


def _open_result(name: bytes, flags: int) -> str:
    """shm_open; close and unlink what it made; return "opened" or the errno."""
    try:
        descriptor = _open(name, flags)
    except OSError as error:
        return errno_name(error.errno)
    os.close(descriptor)
    with contextlib.suppress(OSError):
        raw.shm_unlink(name)
    return "opened"


@check("shm-open-names")
def check_shm_open_names(context: ProbeContext) -> Outcome:
    """shm_open: "/name" works; "/" alone is EINVAL; a name over NAME_MAX is ENAMETOOLONG.

    Source: POSIX.1-2017 shm_open(): "If name begins with the <slash>
    character, then processes calling shm_open() with the same value of
    name refer to the same shared memory object"; "[ENAMETOOLONG] The
    length of a pathname component is longer than {NAME_MAX}"; Linux
    shm_open(3): "name ... should be a null-terminated string of up to
    NAME_MAX (i.e., 255) characters consisting of an initial slash,
    followed by one or more characters, none of which are slashes";
    EINVAL "name was invalid", ENAMETOOLONG "The length of name exceeds
    PATH_MAX" (glibc); musl refuses a component over NAME_MAX.
    """
    # musl checks NAME_MAX (ENAMETOOLONG, as POSIX). glibc's answer changed:
    # 2.36 says EINVAL for a long component (as the Linux page says), 2.43
    # ENAMETOOLONG (both seen from this project's platform runs); either is
    # glibc's documented behaviour.
    create = os.O_RDWR | os.O_CREAT | os.O_EXCL
    good = _open_result(_shm_name(context, "names"), create)
    slash = _open_result(b"/", create)
    long = _open_result(b"/" + b"n" * 300, create)
    glibc_answers = ("EINVAL", "ENAMETOOLONG")
    if context.platform.libc == "glibc":
        long_error = long if long in glibc_answers else "EINVAL or ENAMETOOLONG"
    else:
        long_error = "ENAMETOOLONG"
    expected = f"/name: opened; /: EINVAL; 300 bytes: {long_error}"
    return judge(expected, f"/name: {good}; /: {slash}; 300 bytes: {long}")


@check("shm-open-without-slash", informational=True)
def check_shm_open_without_slash(context: ProbeContext) -> Outcome:
    """shm_open of a name without the leading slash: implementation-defined (informational).

    glibc and musl strip leading slashes and accept the name; macOS and
    the BSDs may differ.

    Source: POSIX.1-2017 shm_open(): "If name does not begin with the
    <slash> character, the effect is implementation-defined."
    """
    name = _shm_name(context, "noslash")[1:]
    observed = _open_result(name, os.O_RDWR | os.O_CREAT | os.O_EXCL)
    return Outcome("opened", observed, "pass" if observed == "opened" else "differs")


@check("shm-open-exclusive")
def check_shm_open_exclusive(context: ProbeContext) -> Outcome:
    """shm_open with O_CREAT|O_EXCL of an existing name fails with EEXIST; O_CREAT alone opens it.

    Source: POSIX.1-2017 shm_open(): "[EEXIST] O_CREAT and O_EXCL are set
    and the named shared memory object already exists"; "If O_EXCL and
    O_CREAT are set, shm_open() fails if the shared memory object
    exists."
    """
    expected = "O_CREAT|O_EXCL: EEXIST; O_CREAT: opened"
    name = _shm_name(context, "excl")
    first = _open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL)
    try:
        again = attempt(lambda: os.close(_open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL)))
        plain = attempt(lambda: os.close(_open(name, os.O_RDWR | os.O_CREAT)))
    finally:
        os.close(first)
        raw.shm_unlink(name)
    plain = "opened" if plain == "succeeded" else plain
    return judge(expected, f"O_CREAT|O_EXCL: {again}; O_CREAT: {plain}")


@check("shm-new-object-is-empty")
def check_shm_new_object_is_empty(context: ProbeContext) -> Outcome:
    """A new shared memory object has size 0; ftruncate sizes it, and the new bytes read as zero.

    Source: POSIX.1-2017 shm_open(): "When a shared memory object is
    created, ... The shared memory object has a size of zero";
    ftruncate(): "If fildes refers to a shared memory object, ftruncate()
    shall set the size of the shared memory object to length".
    """
    expected = "size 0; after ftruncate: one page of zero"
    name = _shm_name(context, "size")
    descriptor = _open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL)
    try:
        raw.shm_unlink(name)
        size = os.fstat(descriptor).st_size
        os.ftruncate(descriptor, PAGE)
        address = raw.mmap(0, PAGE, Prot.READ, MapFlag.SHARED, descriptor, 0)
        zero = raw.read(address, PAGE) == bytes(PAGE)
        raw.munmap(address, PAGE)
        grown = os.fstat(descriptor).st_size
    finally:
        os.close(descriptor)
    pages = "one page" if grown == PAGE else f"{grown} bytes"
    observed = f"size {size}; after ftruncate: {pages} of {'zero' if zero else 'data'}"
    return judge(expected, observed)


@check("shm-unlink-while-mapped")
def check_shm_unlink_while_mapped(context: ProbeContext) -> Outcome:
    """shm_unlink of a mapped object removes the name at once; the mapping keeps working.

    Source: POSIX.1-2017 shm_unlink(): "If one or more references to the
    shared memory object exist when the object is unlinked, the name
    shall be removed before shm_unlink() returns, but the removal of the
    memory object contents shall be postponed until all open and map
    references to the shared memory object have been removed."
    """
    expected = "reopen: ENOENT; the mapping still reads and writes"
    name = _shm_name(context, "unlink")
    descriptor = _open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL)
    try:
        os.ftruncate(descriptor, PAGE)
        address = raw.mmap(0, PAGE, READ_WRITE, MapFlag.SHARED, descriptor, 0)
    except OSError:
        raw.shm_unlink(name)  # the name must not outlive a failed check
        raise
    finally:
        os.close(descriptor)
    try:
        raw.write(address, b"before")
        raw.shm_unlink(name)
        reopen = _open_result(name, os.O_RDWR)
        raw.write(address + 8, b"after")
        works = raw.read(address, 13) == b"before\0\0after"
    finally:
        raw.munmap(address, PAGE)
    observed = f"reopen: {reopen}; the mapping {'still reads and writes' if works else 'broke'}"
    return judge(expected, observed)


@contextlib.contextmanager
def _memfd(context: ProbeContext, sealing: bool = True) -> Iterator[int]:
    if not hasattr(os, "memfd_create") or fcntl is None:
        raise CheckSkipped("os.memfd_create is not available here (Linux 3.17+, glibc 2.27+)")
    flags = os.MFD_CLOEXEC | (os.MFD_ALLOW_SEALING if sealing else 0)
    descriptor = os.memfd_create("rawmmap-probe", flags)
    try:
        os.ftruncate(descriptor, 2 * PAGE)
        yield descriptor
    finally:
        os.close(descriptor)


def _seal(descriptor: int, seals: int) -> str:
    assert fcntl is not None
    return attempt(lambda: fcntl.fcntl(descriptor, _F_ADD_SEALS, seals))


def _seal_or_skip(descriptor: int, seals: int, name: str, since: str, expected: str) -> None:
    result = _seal(descriptor, seals)
    if result == "EINVAL":
        raise CheckSkipped(f"F_SEAL_{name} is refused (EINVAL): it needs Linux {since}", expected)
    if result != "succeeded":
        raise CheckSkipped(f"F_ADD_SEALS({name}) failed with {result}", expected)


@check("memfd-seal-grow-shrink")
def check_memfd_seal_grow_shrink(context: ProbeContext) -> Outcome:
    """F_SEAL_GROW and F_SEAL_SHRINK: growing and shrinking a sealed memfd fail with EPERM.

    Source: Linux memfd_create(2) and fcntl(2), File Sealing: "F_SEAL_SHRINK
    If this seal is set, the file in question cannot be reduced in size";
    "F_SEAL_GROW If this seal is set, the size of the file in question
    cannot be increased"; EPERM for a call the seals forbid.
    """
    expected = "grow: EPERM; shrink: EPERM; same size: succeeded"
    with _memfd(context) as descriptor:
        _seal_or_skip(descriptor, _F_SEAL_GROW | _F_SEAL_SHRINK, "GROW", "3.17", expected)
        grow = attempt(lambda: os.ftruncate(descriptor, 4 * PAGE))
        shrink = attempt(lambda: os.ftruncate(descriptor, PAGE))
        same = attempt(lambda: os.ftruncate(descriptor, 2 * PAGE))
    return judge(expected, f"grow: {grow}; shrink: {shrink}; same size: {same}")


@check("memfd-seal-write")
def check_memfd_seal_write(context: ProbeContext) -> Outcome:
    """F_SEAL_WRITE: refused (EBUSY) while a shared writable mapping exists; then writes are EPERM.

    After the seal, write(2) and a shared writable mmap fail with EPERM,
    and a private writable mmap still works (its stores are private).

    Source: Linux fcntl(2), File Sealing: "F_SEAL_WRITE If this seal is
    set, you cannot modify the contents of the file ... Any such attempt
    ... fails with the error EPERM"; "EBUSY ... F_SEAL_WRITE and there
    exists a writable, shared mapping"; the LTP tests
    testcases/kernel/syscalls/memfd_create.
    """
    expected = "while mapped: EBUSY; write: EPERM; shared writable map: EPERM; private map: mapped"
    with _memfd(context) as descriptor:
        address = raw.mmap(0, PAGE, READ_WRITE, MapFlag.SHARED, descriptor, 0)
        try:
            busy = _seal(descriptor, _F_SEAL_WRITE)
        finally:
            raw.munmap(address, PAGE)
        _seal_or_skip(descriptor, _F_SEAL_WRITE, "WRITE", "3.17", expected)
        written = attempt(lambda: os.pwrite(descriptor, b"x", 0))
        shared, shared_result = attempt_mmap(0, PAGE, READ_WRITE, MapFlag.SHARED, descriptor)
        private, private_result = attempt_mmap(0, PAGE, READ_WRITE, MapFlag.PRIVATE, descriptor)
        for mapped in (shared, private):
            if mapped is not None:
                raw.munmap(mapped, PAGE)
    observed = (
        f"while mapped: {busy}; write: {written}; shared writable map: {shared_result}; "
        f"private map: {private_result}"
    )
    return judge(expected, observed)


@check("memfd-seal-future-write")
def check_memfd_seal_future_write(context: ProbeContext) -> Outcome:
    """F_SEAL_FUTURE_WRITE: an existing shared mapping still writes; new writes are EPERM.

    Source: Linux fcntl(2), F_SEAL_FUTURE_WRITE (since Linux 5.1): "The
    effect of this seal is similar to F_SEAL_WRITE, but the contents of
    the file can still be modified via shared writable mappings that were
    created prior to the seal being set. Any attempt to create a new
    writable mapping on the file via mmap(2) will fail with EPERM.
    Likewise, an attempt to write to the file via write(2) will fail with
    EPERM."
    """
    expected = "old mapping: writes; write: EPERM; new shared writable map: EPERM"
    with _memfd(context) as descriptor:
        address = raw.mmap(0, PAGE, READ_WRITE, MapFlag.SHARED, descriptor, 0)
        try:
            _seal_or_skip(descriptor, _F_SEAL_FUTURE_WRITE, "FUTURE_WRITE", "5.1", expected)
            raw.write(address, b"old")
            old = "writes" if os.pread(descriptor, 3, 0) == b"old" else "does not write"
            written = attempt(lambda: os.pwrite(descriptor, b"x", PAGE))
            new, new_result = attempt_mmap(0, PAGE, READ_WRITE, MapFlag.SHARED, descriptor)
            if new is not None:
                raw.munmap(new, PAGE)
        finally:
            raw.munmap(address, PAGE)
    observed = f"old mapping: {old}; write: {written}; new shared writable map: {new_result}"
    return judge(expected, observed)


@check("memfd-seal-exec")
def check_memfd_seal_exec(context: ProbeContext) -> Outcome:
    """F_SEAL_EXEC: changing the memfd's execute bits fails with EPERM.

    Source: Linux fcntl(2), F_SEAL_EXEC (since Linux 6.3): "If this seal
    is set, the executable bits of the file cannot be changed with
    chmod(2) ... fails with the error EPERM"; the kernel's
    tools/testing/selftests/memfd/memfd_test.c.
    """
    expected = "chmod -x: EPERM"
    with _memfd(context) as descriptor:
        _seal_or_skip(descriptor, _F_SEAL_EXEC, "EXEC", "6.3", expected)
        # A memfd starts with mode 0777: the seal forbids changing any x bit.
        result = attempt(lambda: os.fchmod(descriptor, 0o666))
    return judge(expected, f"chmod -x: {result}")


@check("memfd-sealing-needs-allow")
def check_memfd_sealing_needs_allow(context: ProbeContext) -> Outcome:
    """A memfd made without MFD_ALLOW_SEALING cannot be sealed (EPERM): it starts with F_SEAL_SEAL.

    Source: Linux memfd_create(2), MFD_ALLOW_SEALING: "If this flag is not
    set, the initial set of seals will be F_SEAL_SEAL, meaning that no
    other seals can be set on the file"; fcntl(2): F_ADD_SEALS fails with
    EPERM when F_SEAL_SEAL is set.
    """
    expected = "seals: F_SEAL_SEAL; F_ADD_SEALS: EPERM"
    with _memfd(context, sealing=False) as descriptor:
        assert fcntl is not None
        seals = fcntl.fcntl(descriptor, _F_GET_SEALS)
        result = _seal(descriptor, _F_SEAL_GROW)
    shown = "F_SEAL_SEAL" if seals == _F_SEAL_SEAL else hex(seals)
    return judge(expected, f"seals: {shown}; F_ADD_SEALS: {result}")


@check("memfd-name-too-long")
def check_memfd_name_too_long(context: ProbeContext) -> Outcome:
    """memfd_create takes a name of 249 bytes and refuses one of 250 with EINVAL.

    Source: Linux memfd_create(2), EINVAL: "name was too long. (The limit
    is 249 bytes, excluding the terminating null byte.)"
    """
    expected = "249 bytes: created; 250 bytes: EINVAL"
    if not hasattr(os, "memfd_create"):
        raise CheckSkipped("os.memfd_create is not available here (Linux 3.17+, glibc 2.27+)")
    answers = []
    for length in (249, 250):
        try:
            os.close(raw.memfd_create("m" * length, os.MFD_CLOEXEC))
        except OSError as error:
            answers.append(f"{length} bytes: {errno_name(error.errno)}")
        else:
            answers.append(f"{length} bytes: created")
    return judge(expected, "; ".join(answers))


@check("memfd-secret")
def check_memfd_secret(context: ProbeContext) -> Outcome:
    """memfd_secret memory reads back what was written, and /proc/self/mem cannot reach it.

    Source: Linux memfd_secret(2) (since Linux 5.14): "memfd_secret()
    creates an anonymous RAM-based file and returns a file descriptor that
    refers to it. The file provides a way to create and access memory
    regions with stronger protection than usual anonymous RAM-based
    files ... removed from the kernel page tables"; the kernel's
    tools/testing/selftests/mm/memfd_secret.c (process_vm_readv and
    /proc/PID/mem fail on it).
    """
    expected = "mapped; the data read back; /proc/self/mem: EIO"
    if not raw.HAS_MEMFD_SECRET:
        raise CheckSkipped("no memfd_secret(2) on this platform", expected)
    try:
        descriptor = raw.memfd_secret()
    except OSError as error:
        raise CheckSkipped(
            f"memfd_secret fails with {errno_name(error.errno)}: the kernel lacks it (5.14), "
            "or it is disabled (secretmem.enable=0)",
            expected,
        ) from error
    try:
        os.ftruncate(descriptor, PAGE)
        address, result = attempt_mmap(0, PAGE, READ_WRITE, MapFlag.SHARED, descriptor)
    finally:
        os.close(descriptor)
    if address is None:
        return judge(expected, result)
    try:
        raw.write(address, b"secret")
        back = "read back" if raw.read(address, 6) == b"secret" else "did not read back"
        memory = os.open("/proc/self/mem", os.O_RDONLY)
        try:
            reach = attempt(lambda: os.pread(memory, 6, address))
        finally:
            os.close(memory)
    finally:
        raw.munmap(address, PAGE)
    return judge(expected, f"mapped; the data {back}; /proc/self/mem: {reach}")
