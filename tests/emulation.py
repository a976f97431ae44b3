"""Find, at run time, what this platform does not pass through; skip by it.

qemu-user runs a foreign-architecture program on this kernel by translating
its system calls, and a sandbox like gVisor answers them with a kernel of
its own. Some answers then never come from the host kernel: qemu-user 7.2
answers madvise(2) itself, ignores MAP_FIXED_NOREPLACE and truncates a
32-bit guest's mmap offset; qemu 10 fixes the last two but still lacks
mlock2 (glibc 2.41 reports ENOSYS) and reserves a 32-bit guest's whole
address space. gVisor differs in other ways (mincore reports every page
resident, an unknown prot bit is accepted, a memfd has a link), and Linux
5.10 refuses a read-only shared map of a write-sealed memfd. The C library
can stand in the way too: musl rounds an unaligned mprotect address down
instead of passing it on, and has no pkey_get/pkey_set. Which of these
a run has is detected here, at import, by trying the capability itself (a
few system calls through ctypes, not through rawmmap: the code under test
must not decide whether it is tested). A test skips only where the
capability is really missing, and the skip reason says what was observed.

``skip_under_qemu_user(REASON)`` (kept under its old name) and
``is_missing(REASON)`` look up the detector behind each ``*_IS_*`` reason.

Whether the run is under qemu-user at all (``QEMU_USER``) is still told, in
order, by:

1. ``RAWMMAP_UNDER_QEMU=1`` (or ``0``) in the environment; ``tools/platforms``
   sets it for every run.
2. The kernel's own architecture, ``/proc/sys/kernel/arch`` (Linux 6.1,
   the ``arch`` sysctl), belongs to another CPU family than the
   interpreter's ``os.uname().machine``, which qemu-user rewrites to the
   guest's. A 32-bit program on its 64-bit kernel (i686 on x86_64, armv7l
   on aarch64) is the same family and runs natively.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import mmap
import os
import tempfile
from typing import Callable, TypeVar

import pytest

from rawmmap.probe.machine import cpu_family

__all__ = [
    "EXEC_SEAL_IS_IGNORED",
    "FIXED_NOREPLACE_IS_IGNORED",
    "FUTURE_WRITE_SEAL_IS_IGNORED",
    "GUEST_SPACE_IS_RESERVED",
    "HUGETLB_MAP_IS_EINVAL",
    "MADVISE_IS_EMULATED",
    "MADV_REMOVE_IS_MISSING",
    "MEMFD_HAS_A_LINK",
    "MEMFD_IS_NOT_SPARSE",
    "MEMFD_LONG_NAME_IS_ENAMETOOLONG",
    "MINCORE_CHECKS_RANGE_FIRST",
    "MINCORE_REFUSES_PROT_NONE",
    "MINCORE_SAYS_ALL_RESIDENT",
    "MLOCK2_IS_MISSING",
    "MPROTECT_ROUNDS_UNALIGNED_ADDRESS",
    "MSYNC_KEEPS_MTIME",
    "OFFSET_IS_TRUNCATED",
    "OVERCOMMIT_IS_NOT_HEURISTIC",
    "PIDFD_OPEN_IS_MISSING",
    "PKEY_RIGHTS_ARE_MISSING",
    "POINTER_BITS",
    "QEMU_USER",
    "SEALED_MEMFD_REFUSES_READ_ONLY_SHARED_MAP",
    "SHARED_VALIDATE_IS_UNKNOWN",
    "SMAPS_IS_NOT_THIS_PROCESS",
    "UNKNOWN_PROT_BIT_IS_ACCEPTED",
    "VMLCK_IS_MISSING",
    "WIPEONFORK_IS_REFUSED",
    "cpu_family",
    "is_missing",
    "kernel_machine",
    "skip_under_qemu_user",
    "under_qemu_user",
]

#: Width of a pointer of this interpreter (32 on i386, armhf, mipsel).
POINTER_BITS = 8 * ctypes.sizeof(ctypes.c_void_p)


def kernel_machine() -> str | None:
    """Return the kernel's architecture from /proc/sys/kernel/arch, if readable."""
    try:
        with open("/proc/sys/kernel/arch", encoding="ascii") as arch:
            return arch.read().strip() or None
    except OSError:
        return None


def under_qemu_user() -> bool:
    """Tell whether this interpreter runs under qemu-user (see the module docstring)."""
    setting = os.environ.get("RAWMMAP_UNDER_QEMU", "")
    if setting in ("0", "1"):
        return setting == "1"
    kernel = kernel_machine()
    if kernel is None:
        return False
    return cpu_family(kernel) != cpu_family(os.uname().machine)


#: True when the tests run under qemu-user.
QEMU_USER = under_qemu_user()

# ------------------------------------------------------------------ detectors
#
# Each returns a sentence saying what was observed when the capability is
# missing here, or None when it works (or cannot be tried: then the test runs
# and its own assertion speaks).

_PAGE = mmap.PAGESIZE
_MAP_FAILED = ctypes.c_void_p(-1).value
_LIBC = ctypes.CDLL(None, use_errno=True)
# void *mmap64(void *, size_t, int, int, int, off64_t) where the C library has
# it (glibc, every width); else mmap, whose off_t is 64 bits wherever there
# is no mmap64 (LP64, musl: 1.2.4 dropped mmap64). A C long would be wrong
# on 32-bit musl: the high half of the offset would be whatever is on the
# stack, and musl's mmap refuses such an offset with EINVAL.
_mmap = getattr(_LIBC, "mmap64", None) or _LIBC.mmap
_mmap.restype = ctypes.c_void_p
_mmap.argtypes = [
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_int,
    ctypes.c_int64,
]
_munmap = _LIBC.munmap
_munmap.restype = ctypes.c_int  # int munmap(void *, size_t)
_munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_madvise = _LIBC.madvise
_madvise.restype = ctypes.c_int  # int madvise(void *, size_t, int)
_madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_mprotect = _LIBC.mprotect
_mprotect.restype = ctypes.c_int  # int mprotect(void *, size_t, int)
_mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_mincore = _LIBC.mincore
_mincore.restype = ctypes.c_int  # int mincore(void *, size_t, unsigned char *)
_mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
_msync = _LIBC.msync
_msync.restype = ctypes.c_int  # int msync(void *, size_t, int)
_msync.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_PRIVATE_ANONYMOUS = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
_MS_ASYNC = 1  # MS_ASYNC on every Linux architecture
_MLOCK_ONFAULT = 1
_BOGUS_ADVICE = 9999
_GIB = 1 << 30
_F_SEAL_FUTURE_WRITE = 0x10  # linux/fcntl.h
_F_SEAL_EXEC = 0x20


def _flag(name: str) -> int | None:
    # The table of the code under test gives the per-arch value (alpha and
    # the BSDs differ); a missing member means there is nothing to detect.
    try:
        from rawmmap.flags import MapFlag
    except ImportError:  # pragma: no cover - rawmmap always imports in the suite
        return None
    member = getattr(MapFlag, name, None)
    return None if member is None else int(member)


def _advice(name: str) -> int | None:
    # The per-arch value from the code under test's table, as _flag.
    try:
        from rawmmap.flags import Advice
    except ImportError:  # pragma: no cover - rawmmap always imports in the suite
        return None
    member = getattr(Advice, name, None)
    return None if member is None else int(member)


def _who() -> str:
    return "qemu-user" if QEMU_USER else "this kernel (or sandbox)"


_T = TypeVar("_T")


def _on_a_mapping(
    attempt: Callable[[int], _T], length: int = _PAGE, flags: int = _PRIVATE_ANONYMOUS
) -> _T | None:
    """Map ``length`` read-write bytes, call ``attempt(address)``, unmap; its answer.

    None when the map itself fails: the capability cannot be tried, so the
    detector reports nothing and the test's own assertion speaks.
    """
    address = _mmap(None, length, mmap.PROT_READ | mmap.PROT_WRITE, flags, -1, 0)
    if address in (None, _MAP_FAILED):
        return None
    try:
        return attempt(int(address))
    finally:
        _munmap(address, length)


def _errno_of(function: Callable[..., int], *arguments: object) -> int:
    """Call a C function that returns 0 or -1; 0 on success, else the errno it left."""
    ctypes.set_errno(0)
    if function(*arguments) == 0:
        return 0
    return ctypes.get_errno()


def _observed(what: str, cause: str) -> str:
    """The skip reason: what was seen here, then who answers so and why."""
    return f"{what} (checked at run time): {_who()} {cause}"


def _detect_madvise_accepts_any_advice() -> str | None:
    if _on_a_mapping(lambda address: _madvise(address, _PAGE, _BOGUS_ADVICE)) != 0:
        return None
    return _observed(
        f"madvise(2) with the unknown advice {_BOGUS_ADVICE} returned 0 here instead of EINVAL",
        "answers madvise itself (qemu: linux-user/mmap.c target_madvise), so the kernel's "
        "EINVAL never arrives",
    )


def _detect_mlock2_missing() -> str | None:
    mlock2 = getattr(_LIBC, "mlock2", None)
    if mlock2 is None:
        return None
    mlock2.restype = ctypes.c_int  # int mlock2(const void *, size_t, unsigned int)
    mlock2.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint]

    def attempt(address: int) -> int:
        code = _errno_of(mlock2, address, _PAGE, _MLOCK_ONFAULT)
        if code == 0:
            _LIBC.munlock(ctypes.c_void_p(address), ctypes.c_size_t(_PAGE))
        return code

    code = _on_a_mapping(attempt)
    if code is None or code not in (errno.ENOSYS, errno.EINVAL):
        return None  # 0, or EPERM/ENOMEM/EAGAIN: the call exists, a limit refused it
    return _observed(
        f"mlock2(MLOCK_ONFAULT) failed here with {errno.errorcode[code]}",
        "has no mlock2 syscall; glibc reports that as ENOSYS (2.41) or, emulating it with "
        "mlock, as EINVAL for a nonzero flag (2.36)",
    )


def _detect_fixed_noreplace_ignored() -> str | None:
    noreplace = _flag("FIXED_NOREPLACE")
    if noreplace is None:
        return None

    def attempt(address: int) -> bool:
        placed = _mmap(address, _PAGE, mmap.PROT_READ, _PRIVATE_ANONYMOUS | noreplace, -1, 0)
        if placed in (None, _MAP_FAILED):
            return False  # EEXIST: honoured
        if placed != address:
            _munmap(placed, _PAGE)
        return True

    if not _on_a_mapping(attempt, 2 * _PAGE):
        return None
    return _observed(
        "mmap(MAP_FIXED_NOREPLACE) over an existing mapping did not fail with EEXIST here",
        "takes addr as a hint and maps elsewhere (qemu-user 7.2, gVisor)",
    )


def _detect_offset_truncated() -> str | None:
    if POINTER_BITS != 32:
        return None
    marker, decoy = b"above 4 GiB", b"truncated"
    offset = 5 * _GIB
    try:
        with tempfile.TemporaryFile() as file:
            os.pwrite(file.fileno(), decoy, offset - 4 * _GIB)
            os.pwrite(file.fileno(), marker, offset)
            # The stdlib's mmap passes a 64-bit off_t (CPython builds with
            # _FILE_OFFSET_BITS=64), through the same emulator as rawmmap.
            with mmap.mmap(file.fileno(), _PAGE, offset=offset, access=mmap.ACCESS_READ) as view:
                seen = view[: len(marker)]
    except (OSError, ValueError, OverflowError):
        return None  # no sparse 5 GiB file here: the test runs and says why
    if seen == marker:
        return None
    return _observed(
        "a map at a 5 GiB file offset read the bytes at 1 GiB here",
        "truncates a 32-bit guest's mmap offset to 32 bits (qemu-user 7.2); the above-4-GiB "
        "offset is proved on native i386",
    )


def _hole() -> int | None:
    """The address of a page just mapped and unmapped again, or None."""
    return _on_a_mapping(lambda address: address)


def _detect_guest_space_reserved() -> str | None:
    hole = _hole()
    if hole is None or _msync(hole, _PAGE, _MS_ASYNC) != 0:
        return None  # ENOMEM: the hole is a hole
    return _observed(
        "msync(2) of a just-unmapped page succeeded here instead of failing with ENOMEM",
        "reserves the guest's whole address space (qemu-user reserved_va for 32-bit guests), "
        "so the hole is still mapped in the host",
    )


def _detect_hugetlb_map_is_einval() -> str | None:
    hugetlb = _flag("HUGETLB")
    if hugetlb is None:
        return None
    length = _meminfo_bytes("Hugepagesize") or 2 << 20
    if _on_a_mapping(lambda address: 0, length, _PRIVATE_ANONYMOUS | hugetlb) is not None:
        return None  # a pool page was free: mapped
    if ctypes.get_errno() != errno.EINVAL:
        return None  # ENOMEM: no free page in the pool, the kernel's answer
    return _observed(
        f"mmap(MAP_HUGETLB) of {length} private anonymous bytes (the default huge page "
        "size) failed with EINVAL here, where the kernel answers ENOMEM when the pool is "
        "empty",
        "does not hand the huge-page mapping to the kernel as it was asked (seen with "
        "qemu-user 10.0 on 32-bit guests, which place every mapping in their reserved "
        "guest space), so the kernel's own errno for a huge page never arrives",
    )


def _smaps_rss(address: int) -> int | None:
    """Rss in bytes of the /proc/self/smaps area holding ``address``; None if not found."""
    try:
        with open("/proc/self/smaps", encoding="ascii", errors="replace") as smaps:
            inside = False
            for line in smaps:
                fields = line.split()
                if not fields:
                    continue
                if not fields[0].endswith(":"):  # an area's header: START-END PERMS ...
                    start, _, end = fields[0].partition("-")
                    inside = int(start, 16) <= address < int(end, 16)
                elif inside and fields[0] == "Rss:":
                    return int(fields[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _detect_smaps_is_not_this_process() -> str | None:
    def rss_after_writing_two_pages(address: int) -> int | None:
        ctypes.memset(address, 0x74, 1)
        ctypes.memset(address + _PAGE, 0x74, 1)
        return _smaps_rss(address)

    rss = _on_a_mapping(rss_after_writing_two_pages, 2 * _PAGE)
    if rss is None or rss >= 2 * _PAGE:
        return None  # this process's figures (or no smaps: the test speaks)
    return _observed(
        f"/proc/self/smaps shows Rss {rss} for two pages this process wrote here",
        "shows the figures of another mapping than the guest's (qemu-user 10: the host's "
        "mapping behind the guest's, Rss 0)",
    )


def _detect_mincore_says_all_resident() -> str | None:
    pages = 16
    vector = ctypes.create_string_buffer(pages)

    def resident(address: int) -> int:
        if _mincore(address, pages * _PAGE, vector) != 0:
            return 0
        return sum(byte & 1 for byte in vector.raw)

    if (_on_a_mapping(resident, pages * _PAGE) or 0) < pages:
        return None
    return _observed(
        f"mincore(2) said all {pages} pages of an untouched anonymous mapping are resident here",
        "does not report demand paging (gVisor reports every mapped page resident)",
    )


def _detect_mincore_checks_range_first() -> str | None:
    hole = _hole()
    if hole is None:
        return None
    vector = ctypes.create_string_buffer(1)
    if _errno_of(_mincore, hole + 1, _PAGE, vector) != errno.ENOMEM:
        return None  # EINVAL: the alignment is checked first, as Linux does
    return _observed(
        "mincore(2) at an unaligned address in a just-unmapped page failed with ENOMEM "
        "here instead of EINVAL",
        "checks that the range is mapped before its alignment (its access_ok check)",
    )


def _detect_mincore_refuses_prot_none() -> str | None:
    vector = ctypes.create_string_buffer(1)

    def attempt(address: int) -> int:
        if _mprotect(address, _PAGE, 0) != 0:  # PROT_NONE
            return 0
        return _errno_of(_mincore, address, _PAGE, vector)

    code = _on_a_mapping(attempt)
    if not code:
        return None
    return _observed(
        f"mincore(2) over a PROT_NONE page failed with {errno.errorcode.get(code, code)} here",
        "checks the page's access before answering (an access_ok check); Linux answers "
        "for any mapped page",
    )


def _detect_unknown_prot_bit_accepted() -> str | None:
    prot = mmap.PROT_READ | mmap.PROT_WRITE | 0x1000
    if _on_a_mapping(lambda address: _mprotect(address, _PAGE, prot)) != 0:
        return None
    return _observed(
        "mprotect(2) with the unknown protection bit 0x1000 returned 0 here instead of EINVAL",
        "ignores unknown bits (gVisor)",
    )


def _detect_mprotect_rounds_unaligned_address() -> str | None:
    """Say so when the C library's mprotect takes an address one byte into a page."""
    answer = _on_a_mapping(
        lambda address: _errno_of(_mprotect, address + 1, _PAGE, mmap.PROT_READ | mmap.PROT_WRITE),
        2 * _PAGE,
    )
    if answer != 0:
        return None  # EINVAL: the kernel was asked (None: nothing could be mapped)
    return (
        "mprotect(3) at an address one byte past a page boundary succeeded here instead of "
        "failing with EINVAL (checked at run time): the C library rounds the address down "
        "to its page before the system call (musl: src/mman/mprotect.c), so the kernel's "
        "EINVAL never arrives"
    )


def _detect_pkey_rights_missing() -> str | None:
    """Say so when the C library has no pkey_get or pkey_set (musl)."""
    missing = [name for name in ("pkey_get", "pkey_set") if not hasattr(_LIBC, name)]
    if not missing:
        return None
    return (
        f"the C library has no {' or '.join(missing)} here (checked at run time): these "
        "glibc 2.27 functions read and write the thread's protection-key rights register "
        "(x86 PKRU) with no system call behind them, and musl has neither, so rawmmap "
        "cannot read or change the rights (NotImplementedError)"
    )


def _memfd(flags: int) -> int | None:
    create = getattr(os, "memfd_create", None)
    if create is None:
        return None
    try:
        fd: int = create("rawmmap-emulation-check", flags)
    except OSError:
        return None
    return fd


def _on_a_memfd(attempt: Callable[[int], _T], seal: int | None = None) -> _T | None:
    """Create a memfd (one page, sealed with ``seal``, if given), call ``attempt(fd)``, close it.

    None when no memfd can be made (or sealed so): nothing to detect.
    """
    fd = _memfd(0) if seal is None else _sealed_memfd(seal)
    if fd is None:
        return None
    try:
        return attempt(fd)
    finally:
        os.close(fd)


def _fails_with_eperm(call: Callable[[], object]) -> bool | None:
    """True when ``call`` raises PermissionError, False when it returns, None on another error."""
    try:
        call()
    except PermissionError:
        return True
    except OSError:
        return None
    return False


def _detect_memfd_has_a_link() -> str | None:
    links = _on_a_memfd(lambda fd: os.fstat(fd).st_nlink)
    if not links:
        return None
    return _observed(
        f"fstat(2) of a memfd says st_nlink == {links} here",
        "counts a link to a file no directory holds (gVisor; Linux says 0)",
    )


def _detect_sealed_memfd_refuses_read_only_shared_map() -> str | None:
    def read_only_shared_map(fd: int) -> bool | None:
        return _fails_with_eperm(
            lambda: mmap.mmap(fd, _PAGE, mmap.MAP_SHARED, mmap.PROT_READ).close()
        )

    seals = fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW
    if not _on_a_memfd(read_only_shared_map, seals):
        return None
    return _observed(
        "a read-only MAP_SHARED map of a memfd with F_SEAL_WRITE failed with EPERM here",
        "refuses it (Linux 5.10 and gVisor; Linux 6.1 and later allow reading)",
    )


def _detect_vmlck_missing() -> str | None:
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            if any(line.startswith("VmLck:") for line in status):
                return None
    except OSError:
        return None
    return _observed(
        "/proc/self/status has no VmLck line here",
        "does not report locked memory there (gVisor lists only VmSize, VmRSS and VmData)",
    )


def _detect_shared_validate_unknown() -> str | None:
    validate = _flag("SHARED_VALIDATE")
    if validate is None:
        return None
    try:
        with tempfile.TemporaryFile() as file:
            file.write(bytes(_PAGE))
            file.flush()
            ctypes.set_errno(0)
            address = _mmap(None, _PAGE, mmap.PROT_READ, validate, file.fileno(), 0)
            if address not in (None, _MAP_FAILED):
                _munmap(address, _PAGE)
                return None
            code = ctypes.get_errno()
    except OSError:
        return None
    if code != errno.EINVAL:
        return None
    return _observed(
        "mmap(MAP_SHARED_VALIDATE) of a regular file with no other flag failed with EINVAL here",
        "does not know the mapping type MAP_SHARED_VALIDATE (mmap(2): MAP_SHARED_VALIDATE "
        "since Linux 4.15)",
    )


def _detect_msync_keeps_mtime() -> str | None:
    try:
        with tempfile.NamedTemporaryFile() as file:
            file.write(bytes(_PAGE))
            file.flush()
            os.utime(file.fileno(), ns=(0, 0))
            with mmap.mmap(file.fileno(), _PAGE) as view:
                view[0:1] = b"z"
                view.flush()
            mtime = os.fstat(file.fileno()).st_mtime_ns
    except (OSError, ValueError):
        return None
    if mtime != 0:
        return None
    return _observed(
        "a store through a MAP_SHARED file mapping followed by msync(MS_SYNC) left the "
        "file's st_mtime unchanged here",
        "does not mark the file modified (POSIX mmap: st_ctime and st_mtime are marked for "
        "update after a store and before msync)",
    )


def _detect_madv_remove_missing() -> str | None:
    remove = _advice("REMOVE")
    if remove is None:
        return None
    shared = mmap.MAP_SHARED | mmap.MAP_ANONYMOUS
    if _on_a_mapping(lambda address: _errno_of(_madvise, address, _PAGE, remove), flags=shared) != (
        errno.ENOSYS
    ):
        return None
    return _observed(
        "madvise(MADV_REMOVE) of a shared anonymous page failed with ENOSYS here",
        "does not implement hole punching through madvise (gVisor)",
    )


def _detect_wipeonfork_refused() -> str | None:
    wipeonfork = _advice("WIPEONFORK")
    if wipeonfork is None:
        return None
    code = _on_a_mapping(lambda address: _errno_of(_madvise, address, _PAGE, wipeonfork))
    if not code:
        return None  # 0: accepted; None: nothing mapped to try it on
    return _observed(
        "madvise(MADV_WIPEONFORK) of private anonymous memory failed with "
        f"{errno.errorcode.get(code, code)} here",
        "does not have it (madvise(2): MADV_WIPEONFORK since Linux 4.14; gVisor answers EINVAL)",
    )


def _detect_memfd_long_name_is_enametoolong() -> str | None:
    create = getattr(os, "memfd_create", None)
    if create is None:
        return None
    try:
        os.close(create("x" * 250, 0))
    except OSError as error:
        if error.errno != errno.ENAMETOOLONG:
            return None
    else:
        return None
    return _observed(
        "memfd_create(2) with a 250-byte name failed with ENAMETOOLONG here",
        "does not answer EINVAL, memfd_create(2)'s error for a name longer than 249 bytes",
    )


def _sealed_memfd(seal: int) -> int | None:
    add_seals = getattr(fcntl, "F_ADD_SEALS", None)
    fd = _memfd(getattr(os, "MFD_ALLOW_SEALING", 2))
    if fd is None or add_seals is None:
        return None
    try:
        os.ftruncate(fd, _PAGE)
        fcntl.fcntl(fd, add_seals, seal)
    except OSError:
        os.close(fd)
        return None  # the kernel does not know the seal: its tests skip by themselves
    return fd


def _detect_future_write_seal_ignored() -> str | None:
    refused = _on_a_memfd(
        lambda fd: _fails_with_eperm(lambda: os.pwrite(fd, b"x", 0)), _F_SEAL_FUTURE_WRITE
    )
    if refused is not False:
        return None  # EPERM: enforced (or no such seal, or another error: the test speaks)
    return _observed(
        "write(2) to a memfd with F_SEAL_FUTURE_WRITE succeeded here",
        "accepts the seal but does not enforce it (gVisor; fcntl(2): F_SEAL_FUTURE_WRITE "
        "since Linux 5.1, write(2) then fails with EPERM)",
    )


def _detect_exec_seal_ignored() -> str | None:
    refused = _on_a_memfd(lambda fd: _fails_with_eperm(lambda: os.fchmod(fd, 0o666)), _F_SEAL_EXEC)
    if refused is not False:
        return None
    return _observed(
        "fchmod(2) clearing the exec bits of a memfd with F_SEAL_EXEC succeeded here",
        "accepts the seal but does not enforce it (gVisor; the kernel's memfd F_SEAL_EXEC, "
        "Linux 6.3: fchmod(2) then fails with EPERM)",
    )


def _meminfo_bytes(field: str) -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _detect_overcommit_not_heuristic() -> str | None:
    try:
        with open("/proc/sys/vm/overcommit_memory", encoding="ascii") as setting:
            mode = setting.read().strip()
    except OSError:
        return None
    total = _meminfo_bytes("MemTotal")
    if mode != "0" or total is None or POINTER_BITS < 64:
        return None
    length = 2 * (total + (_meminfo_bytes("SwapTotal") or 0))
    if _on_a_mapping(lambda address: True, length) is None:
        return None  # ENOMEM: the obvious overcommit was refused
    return _observed(
        f"a private writable map of {length} bytes (twice RAM + swap) succeeded here "
        "without MAP_NORESERVE although vm.overcommit_memory is 0",
        "does not refuse obvious overcommits (gVisor)",
    )


def _detect_pidfd_open_missing() -> str | None:
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is None:
        return None
    try:
        os.close(pidfd_open(os.getpid()))
    except OSError as error:
        if error.errno != errno.ENOSYS:
            return None
        return _observed(
            "pidfd_open(2) failed with ENOSYS here",
            "has no process descriptors (gVisor 20221219; pidfd_open(2): since Linux 5.3)",
        )
    return None


def _detect_memfd_not_sparse() -> str | None:
    def blocks_after_growing(fd: int) -> int:
        try:
            os.ftruncate(fd, 1 << 20)
            return os.fstat(fd).st_blocks
        except OSError:
            return 0

    blocks = _on_a_memfd(blocks_after_growing)
    if not blocks:
        return None
    return _observed(
        f"fstat(2) of a memfd just grown to 1 MiB by ftruncate counts {blocks} blocks here",
        "reports the size as allocated (Linux's tmpfs allocates nothing until a page is touched)",
    )


#: Skip reasons; each is replaced below by what was observed, where it was.
MADVISE_IS_EMULATED = "madvise(2) with an unknown advice returns 0 instead of EINVAL"
MLOCK2_IS_MISSING = "mlock2(2) is missing (ENOSYS, or EINVAL from glibc's fallback)"
FIXED_NOREPLACE_IS_IGNORED = "MAP_FIXED_NOREPLACE is taken as a hint, not refused with EEXIST"
OFFSET_IS_TRUNCATED = "a 32-bit guest's mmap offset above 4 GiB is truncated to 32 bits"
GUEST_SPACE_IS_RESERVED = "an unmapped range is still mapped (msync/mprotect give no ENOMEM)"
HUGETLB_MAP_IS_EINVAL = "mmap(MAP_HUGETLB) fails with EINVAL, not the kernel's ENOMEM"
MINCORE_SAYS_ALL_RESIDENT = "mincore(2) reports untouched pages resident"
UNKNOWN_PROT_BIT_IS_ACCEPTED = "mprotect(2) accepts an unknown protection bit"
MEMFD_HAS_A_LINK = "a memfd has st_nlink != 0"
SEALED_MEMFD_REFUSES_READ_ONLY_SHARED_MAP = (
    "a read-only shared map of a write-sealed memfd is refused with EPERM"
)
VMLCK_IS_MISSING = "/proc/self/status has no VmLck line"
SHARED_VALIDATE_IS_UNKNOWN = "MAP_SHARED_VALIDATE alone is refused with EINVAL"
MSYNC_KEEPS_MTIME = "a store and msync(MS_SYNC) leave the file's st_mtime unchanged"
MADV_REMOVE_IS_MISSING = "madvise(MADV_REMOVE) fails with ENOSYS"
WIPEONFORK_IS_REFUSED = "madvise(MADV_WIPEONFORK) is refused"
MEMFD_LONG_NAME_IS_ENAMETOOLONG = "memfd_create(2) answers ENAMETOOLONG, not EINVAL"
FUTURE_WRITE_SEAL_IS_IGNORED = "F_SEAL_FUTURE_WRITE is accepted but not enforced"
EXEC_SEAL_IS_IGNORED = "F_SEAL_EXEC is accepted but not enforced"
OVERCOMMIT_IS_NOT_HEURISTIC = "an obvious overcommit is mapped in overcommit mode 0"
PIDFD_OPEN_IS_MISSING = "pidfd_open(2) fails with ENOSYS"
MEMFD_IS_NOT_SPARSE = "a memfd grown by ftruncate counts allocated blocks"
MPROTECT_ROUNDS_UNALIGNED_ADDRESS = "mprotect(3) of an unaligned address succeeds (no EINVAL)"
PKEY_RIGHTS_ARE_MISSING = "the C library has no pkey_get(3)/pkey_set(3)"
SMAPS_IS_NOT_THIS_PROCESS = "/proc/self/smaps does not show the Rss of pages this process wrote"
MINCORE_CHECKS_RANGE_FIRST = "mincore(2) of an unaligned address in a hole is ENOMEM, not EINVAL"
MINCORE_REFUSES_PROT_NONE = "mincore(2) over a PROT_NONE page fails"

_DETECTORS: dict[str, Callable[[], str | None]] = {
    "MADVISE_IS_EMULATED": _detect_madvise_accepts_any_advice,
    "MLOCK2_IS_MISSING": _detect_mlock2_missing,
    "FIXED_NOREPLACE_IS_IGNORED": _detect_fixed_noreplace_ignored,
    "OFFSET_IS_TRUNCATED": _detect_offset_truncated,
    "GUEST_SPACE_IS_RESERVED": _detect_guest_space_reserved,
    "HUGETLB_MAP_IS_EINVAL": _detect_hugetlb_map_is_einval,
    "MINCORE_SAYS_ALL_RESIDENT": _detect_mincore_says_all_resident,
    "UNKNOWN_PROT_BIT_IS_ACCEPTED": _detect_unknown_prot_bit_accepted,
    "MEMFD_HAS_A_LINK": _detect_memfd_has_a_link,
    "SEALED_MEMFD_REFUSES_READ_ONLY_SHARED_MAP": _detect_sealed_memfd_refuses_read_only_shared_map,
    "VMLCK_IS_MISSING": _detect_vmlck_missing,
    "SHARED_VALIDATE_IS_UNKNOWN": _detect_shared_validate_unknown,
    "MSYNC_KEEPS_MTIME": _detect_msync_keeps_mtime,
    "MADV_REMOVE_IS_MISSING": _detect_madv_remove_missing,
    "WIPEONFORK_IS_REFUSED": _detect_wipeonfork_refused,
    "MEMFD_LONG_NAME_IS_ENAMETOOLONG": _detect_memfd_long_name_is_enametoolong,
    "FUTURE_WRITE_SEAL_IS_IGNORED": _detect_future_write_seal_ignored,
    "EXEC_SEAL_IS_IGNORED": _detect_exec_seal_ignored,
    "OVERCOMMIT_IS_NOT_HEURISTIC": _detect_overcommit_not_heuristic,
    "PIDFD_OPEN_IS_MISSING": _detect_pidfd_open_missing,
    "MEMFD_IS_NOT_SPARSE": _detect_memfd_not_sparse,
    "MPROTECT_ROUNDS_UNALIGNED_ADDRESS": _detect_mprotect_rounds_unaligned_address,
    "PKEY_RIGHTS_ARE_MISSING": _detect_pkey_rights_missing,
    "SMAPS_IS_NOT_THIS_PROCESS": _detect_smaps_is_not_this_process,
    "MINCORE_CHECKS_RANGE_FIRST": _detect_mincore_checks_range_first,
    "MINCORE_REFUSES_PROT_NONE": _detect_mincore_refuses_prot_none,
}

#: Reason -> True when the capability it names is missing here.
_MISSING: dict[str, bool] = {}


def _observe() -> None:
    namespace = globals()
    for name, detector in _DETECTORS.items():
        observed = detector()
        if observed is not None:
            namespace[name] = observed
        _MISSING[namespace[name]] = observed is not None


_observe()


def is_missing(reason: str) -> bool:
    """Tell whether the capability behind one of the ``*_IS_*`` reasons is missing here.

    Raises:
        KeyError: ``reason`` is not one of this module's reasons.
    """
    return _MISSING[reason]


def skip_under_qemu_user(reason: str, *, pointer_bits: int | None = None) -> pytest.MarkDecorator:
    """Skip a test where the capability behind ``reason`` was detected missing.

    Args:
        reason: one of this module's ``*_IS_*`` reasons.
        pointer_bits: skip only for interpreters of this pointer width.
    """
    applies = is_missing(reason) and (pointer_bits is None or pointer_bits == POINTER_BITS)
    return pytest.mark.skipif(applies, reason=reason)
