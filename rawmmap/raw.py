"""The raw calls, on integer addresses, exactly as the kernel sees them.

This is the layer for people who test the kernel: no bounds checks, no
protection tracking, no ownership. A call passes its arguments to libc and
reports the kernel's answer; what it still does is check that every integer
fits its C type (ctypes would silently truncate it) and raise
``OSError(errno, ...)`` on failure, naming the call and its arguments.

``read`` and ``write`` touch memory directly: a bad address or a forbidden
access kills the process with SIGSEGV or SIGBUS, as it would in C.

The newer Linux calls (``mseal``, ``memfd_secret``, ``pkey_alloc``,
``pkey_free``, ``pkey_mprotect``, ``process_madvise``, ``process_mrelease``)
use the C library's function where it has one and syscall(2) otherwise;
``HAS_MSEAL`` and its siblings say whether either exists here. They do not
say the kernel has the call: an older kernel answers ENOSYS, which arrives
as OSError like any other errno. ``pkey_get`` and ``pkey_set`` exist only
as C library functions (they read and write a CPU register, not a system
call): where it lacks them they raise NotImplementedError.
"""

from __future__ import annotations

import errno as _errno
import os

from rawmmap import _foreign
from rawmmap._cint import check_range, describe_call
from rawmmap._foreign import (
    HAS_MEMFD_SECRET,
    HAS_MLOCK2,
    HAS_MREMAP,
    HAS_MSEAL,
    HAS_PKEY_RIGHTS,
    HAS_PKEYS,
    HAS_PROCESS_MADVISE,
    HAS_PROCESS_MRELEASE,
    MAP_FAILED,
    MMAP_SYMBOL,
    OFF_T_BITS,
    POINTER_BITS,
    has_shm,
)

# isort: split
# Made by rawmmap._foreign at import (so after it): the prototyped C functions.
from rawmmap import _ffi

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import NoReturn

__all__ = [
    "HAS_MEMFD_SECRET",
    "HAS_MLOCK2",
    "HAS_MREMAP",
    "HAS_MSEAL",
    "HAS_PKEYS",
    "HAS_PKEY_RIGHTS",
    "HAS_PROCESS_MADVISE",
    "HAS_PROCESS_MRELEASE",
    "MAP_FAILED",
    "MMAP_SYMBOL",
    "OFF_T_BITS",
    "POINTER_BITS",
    "has_shm",
    "madvise",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mprotect",
    "mremap",
    "mseal",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "page_size",
    "pkey_alloc",
    "pkey_free",
    "pkey_get",
    "pkey_mprotect",
    "pkey_set",
    "process_madvise",
    "process_mrelease",
    "read",
    "shm_open",
    "shm_unlink",
    "write",
]

_PAGE_SIZE = _foreign.PAGE_SIZE


def page_size() -> int:
    """Return the page size, from sysconf(_SC_PAGESIZE) at import."""
    return _PAGE_SIZE


def _raise_errno(call: str, arguments: Sequence[tuple[str, object]]) -> NoReturn:
    """Raise OSError for the errno the last failing call left."""
    errno = _foreign.last_errno()
    raise OSError(errno, f"{os.strerror(errno)}: {describe_call(call, arguments)}")


def _address_argument(value: int) -> int | None:
    # ctypes passes None as NULL; 0 as c_void_p is NULL as well.
    return value or None


def _check_status(status: int, call: str, arguments: Sequence[tuple[str, object]]) -> None:
    if status != 0:
        _raise_errno(call, arguments)


# ---------------------------------------------------------------- the calls


def mmap(addr: int, length: int, prot: int, flags: int, fd: int, offset: int) -> int:
    """Map memory with mmap(2) (mmap64 where off_t is 32-bit by default).

    Returns:
        The address of the new mapping.

    Raises:
        OSError: errno from the kernel (EACCES, EBADF, EINVAL, ENODEV,
            ENOMEM, EEXIST, EPERM, ...).
        OverflowError, TypeError: an argument does not fit its C type.
    """
    addr = check_range("mmap", "addr", addr, "void *")
    length = check_range("mmap", "length", length, "size_t")
    prot = check_range("mmap", "prot", prot, "int")
    flags = check_range("mmap", "flags", flags, "int")
    fd = check_range("mmap", "fd", fd, "int")
    offset = check_range("mmap", "offset", offset, "off_t")
    result = _ffi.mmap(_address_argument(addr), length, prot, flags, fd, offset)
    if result == MAP_FAILED:
        _raise_errno(
            MMAP_SYMBOL,
            (
                ("addr", addr),
                ("length", length),
                ("prot", prot),
                ("flags", flags),
                ("fd", fd),
                ("offset", offset),
            ),
        )
    # A successful mmap can return 0 only with MAP_FIXED at address 0.
    return result or 0


def _address_and_length(call: str, addr: int, length: int) -> tuple[int, int]:
    return check_range(call, "addr", addr, "void *"), check_range(call, "length", length, "size_t")


def munmap(addr: int, length: int) -> None:
    """Remove a mapping with munmap(2).

    Unmapping a range with nothing mapped is not an error (POSIX).

    Raises:
        OSError: EINVAL (addr not page aligned, length 0).
    """
    addr, length = _address_and_length("munmap", addr, length)
    status = _ffi.munmap(_address_argument(addr), length)
    _check_status(status, "munmap", (("addr", addr), ("length", length)))


def msync(addr: int, length: int, flags: int) -> None:
    """Flush a file mapping's dirty pages with msync(2).

    Raises:
        OSError: EINVAL (unaligned addr, bad flags, SYNC with ASYNC), ENOMEM
            (the range is not mapped), EBUSY (INVALIDATE over locked pages).
    """
    addr, length = _address_and_length("msync", addr, length)
    flags = check_range("msync", "flags", flags, "int")
    status = _ffi.msync(_address_argument(addr), length, flags)
    _check_status(status, "msync", (("addr", addr), ("length", length), ("flags", flags)))


def mprotect(addr: int, length: int, prot: int) -> None:
    """Change the protection of pages with mprotect(2).

    An ``addr`` that is not page aligned is EINVAL from the kernel, but musl
    rounds it down to its page before the system call: there
    ``mprotect(addr + 1, PAGESIZE, prot)`` succeeds and changes two pages.

    Raises:
        OSError: EACCES (e.g. WRITE on a shared mapping of a file opened
            read-only), EINVAL, ENOMEM (the range is not mapped).
    """
    addr, length = _address_and_length("mprotect", addr, length)
    prot = check_range("mprotect", "prot", prot, "int")
    status = _ffi.mprotect(_address_argument(addr), length, prot)
    _check_status(status, "mprotect", (("addr", addr), ("length", length), ("prot", prot)))


def madvise(addr: int, length: int, advice: int) -> None:
    """Give the kernel usage advice with madvise(2).

    Raises:
        OSError: EINVAL (unknown advice, unaligned addr), ENOMEM, EPERM, EAGAIN.
    """
    addr, length = _address_and_length("madvise", addr, length)
    advice = check_range("madvise", "advice", advice, "int")
    status = _ffi.madvise(_address_argument(addr), length, advice)
    _check_status(status, "madvise", (("addr", addr), ("length", length), ("advice", advice)))


def mlock(addr: int, length: int) -> None:
    """Lock pages in memory with mlock(2).

    Raises:
        OSError: ENOMEM (over RLIMIT_MEMLOCK or not mapped), EPERM, EAGAIN.
    """
    addr, length = _address_and_length("mlock", addr, length)
    status = _ffi.mlock(_address_argument(addr), length)
    _check_status(status, "mlock", (("addr", addr), ("length", length)))


def mlock2(addr: int, length: int, flags: int) -> None:
    """Lock pages in memory with mlock2(2) (Linux).

    Raises:
        NotImplementedError: the C library has no mlock2.
        OSError: as for mlock, and EINVAL for unknown flags.
    """
    addr, length = _address_and_length("mlock2", addr, length)
    flags = check_range("mlock2", "flags", flags, "unsigned int")
    if not HAS_MLOCK2:  # pragma: no cover - glibc before 2.27, macOS, FreeBSD
        raise NotImplementedError("mlock2 is not available in this C library")
    status = _ffi.mlock2(_address_argument(addr), length, flags)
    _check_status(status, "mlock2", (("addr", addr), ("length", length), ("flags", flags)))


def munlock(addr: int, length: int) -> None:
    """Unlock pages with munlock(2).

    Raises:
        OSError: ENOMEM (the range is not mapped), EINVAL.
    """
    addr, length = _address_and_length("munlock", addr, length)
    status = _ffi.munlock(_address_argument(addr), length)
    _check_status(status, "munlock", (("addr", addr), ("length", length)))


def mlockall(flags: int) -> None:
    """Lock every page of the process with mlockall(2).

    Raises:
        OSError: EINVAL (bad flags), ENOMEM, EPERM.
    """
    flags = check_range("mlockall", "flags", flags, "int")
    _check_status(_ffi.mlockall(flags), "mlockall", (("flags", flags),))


def munlockall() -> None:
    """Unlock every page of the process with munlockall(2)."""
    _check_status(_ffi.munlockall(), "munlockall", ())


#: Pages asked of mincore(2) per call: the vector grows only as the kernel
#: confirms that the range is mapped.
_MINCORE_CHUNK_PAGES = 1 << 16


def mincore(addr: int, length: int) -> bytes:
    """Ask which pages are resident with mincore(2).

    Args:
        addr: page-aligned start.
        length: bytes; the answer has one byte per page of ``length``
            rounded up to the page size.

    Returns:
        The kernel's vector: bit 0 of each byte is set where the page is
        resident (the other bits are reserved, and used by some BSDs).

    The range is asked in chunks of at most 65,536 pages, so a huge length
    gets the kernel's ENOMEM (or EINVAL) before rawmmap allocates a vector
    for it; the kernel itself walks the range in chunks the same way.

    Raises:
        OSError: EINVAL (unaligned addr), ENOMEM (the range is not mapped),
            EAGAIN.
    """
    addr, length = _address_and_length("mincore", addr, length)
    arguments = (("addr", addr), ("length", length))
    chunk_bytes = _MINCORE_CHUNK_PAGES * _PAGE_SIZE
    if length <= chunk_bytes or addr + length > (1 << POINTER_BITS):
        # One call; a range that wraps the address space is refused by the
        # kernel before it writes anything (access_ok, mm/mincore.c).
        pages = min(_MINCORE_CHUNK_PAGES, -(-length // _PAGE_SIZE))
        status, vector = _foreign.mincore_vector(addr, length, pages)
        _check_status(status, "mincore", arguments)
        return vector
    pieces = []
    done = 0
    while done < length:
        count = min(chunk_bytes, length - done)
        status, vector = _foreign.mincore_vector(addr + done, count, -(-count // _PAGE_SIZE))
        _check_status(status, "mincore", arguments)
        pieces.append(vector)
        done += count
    return b"".join(pieces)


def mremap(old_address: int, old_size: int, new_size: int, flags: int, new_address: int = 0) -> int:
    """Grow, shrink or move a mapping with mremap(2) (Linux).

    Returns:
        The (possibly new) address of the mapping.

    Raises:
        NotImplementedError: the C library has no mremap (not Linux).
        OSError: ENOMEM (cannot grow in place without MAYMOVE), EINVAL, EFAULT.
    """
    old_address = check_range("mremap", "old_address", old_address, "void *")
    old_size = check_range("mremap", "old_size", old_size, "size_t")
    new_size = check_range("mremap", "new_size", new_size, "size_t")
    flags = check_range("mremap", "flags", flags, "int")
    new_address = check_range("mremap", "new_address", new_address, "void *")
    if not HAS_MREMAP:  # pragma: no cover - not Linux
        raise NotImplementedError("mremap is Linux-only; this C library lacks it")
    # new_address is passed as an extra, variadic argument (see PROTOTYPES).
    result = _ffi.mremap(
        _address_argument(old_address),
        old_size,
        new_size,
        flags,
        _foreign.pointer_argument(new_address),
    )
    if result == MAP_FAILED:
        _raise_errno(
            "mremap",
            (
                ("old_address", old_address),
                ("old_size", old_size),
                ("new_size", new_size),
                ("flags", flags),
                ("new_address", new_address),
            ),
        )
    return result or 0


# ---------------------------------------------------------------- memory


def read(addr: int, length: int) -> bytes:
    """Copy ``length`` bytes at ``addr`` (no checks: a bad address faults).

    The copy is a memmove(3) with the GIL released, so a page served by
    another Python thread (a userfaultfd handler) does not hang, and the
    length is a full size_t: nothing is truncated to a C int (ctypes'
    ``string_at`` would), and NULL faults as it would in C instead of
    returning an empty or foreign buffer.
    """
    addr = check_range("read", "addr", addr, "void *")
    length = check_range("read", "length", length, "size_t")
    if length == 0:
        return b""
    return _foreign.copy_from(addr, length)


def write(addr: int, data: bytes) -> None:
    """Copy ``data`` (any bytes-like object) to ``addr`` (no checks: a bad address faults).

    Raises:
        TypeError: ``data`` is not bytes-like. (ctypes.memmove alone would
            copy a ``str`` as its wchar_t encoding, and reject a bytearray
            with ctypes.ArgumentError.)
    """
    addr = check_range("write", "addr", addr, "void *")
    if not isinstance(data, bytes):
        try:
            data = memoryview(data).tobytes()
        except TypeError as error:
            raise TypeError(
                f"write: data must be a bytes-like object, not {type(data).__name__}"
            ) from error
    _foreign.copy_to(addr, data)


# ---------------------------------------------------------------- shared memory


def _check_name(call: str, name: object) -> bytes:
    """Return a name as the bytes the C call gets: str is encoded, nothing else changes.

    c_char_p would stop at an embedded NUL: the C call would see a shorter
    name than the caller gave (a silent truncation), so that is refused.
    """
    if isinstance(name, str):
        name = os.fsencode(name)
    if not isinstance(name, bytes):
        raise TypeError(f"{call}: name must be str or bytes, not {type(name).__name__}")
    if b"\0" in name:
        raise ValueError(f"{call}: name={name!r} contains a NUL byte")
    return name


def shm_open(name: str | bytes, oflag: int, mode: int) -> int:
    """Open or create a POSIX shared memory object with shm_open(3).

    The name is passed as it is: the C library, not this wrapper, decides
    which names it accepts.

    Args:
        name: the object's name, str (file system encoding) or bytes, without
            NUL; passed as it is (glibc and musl skip leading slashes, and
            answer EINVAL or ENAMETOOLONG for what they refuse). NULL is not
            offered: the C library would read it, not the kernel.
        oflag: ``os.O_RDONLY`` or ``os.O_RDWR``, maybe with ``O_CREAT``,
            ``O_EXCL``, ``O_TRUNC``.
        mode: permission bits for a new object, 0..0o7777 (umask applies).

    Returns:
        A new descriptor (FD_CLOEXEC set, per POSIX).

    Raises:
        OSError: EEXIST (FileExistsError) with O_CREAT|O_EXCL, ENOENT
            (FileNotFoundError), EACCES (PermissionError), EINVAL (a bad
            name), ENAMETOOLONG, EMFILE, ENFILE.
        NotImplementedError: neither libc nor librt has shm_open.
        OverflowError, TypeError, ValueError: an argument does not fit.
    """
    name = _check_name("shm_open", name)
    oflag = check_range("shm_open", "oflag", oflag, "int")
    mode = check_range("shm_open", "mode", mode, "mode_t")
    fd = _foreign.call_shm_open(name, oflag, mode)
    if fd < 0:
        _raise_errno("shm_open", (("name", name), ("oflag", oflag), ("mode", oct(mode))))
    return fd


def shm_unlink(name: str | bytes) -> None:
    """Remove a POSIX shared memory object's name with shm_unlink(3).

    Mappings and descriptors of the object stay valid; the memory is freed
    when the last of them goes.

    Raises:
        OSError: ENOENT (FileNotFoundError), EACCES (PermissionError),
            EINVAL, ENAMETOOLONG.
        NotImplementedError: neither libc nor librt has shm_unlink.
    """
    name = _check_name("shm_unlink", name)
    if _foreign.call_shm_unlink(name) != 0:
        _raise_errno("shm_unlink", (("name", name),))


def memfd_create(name: str | bytes | None, flags: int) -> int:
    """Create an anonymous in-memory file with memfd_create(2) (Linux).

    The name is passed as it is: None passes NULL (the kernel answers
    EFAULT), a name longer than 249 bytes is the kernel's EINVAL.

    Args:
        name: shown as ``memfd:<name>`` in /proc/<pid>/fd; str, bytes
            (without NUL) or None.
        flags: ``MemfdFlag`` bits (CLOEXEC, ALLOW_SEALING, HUGETLB with a
            HUGE_ size, NOEXEC_SEAL, EXEC).

    Returns:
        The new descriptor.

    Raises:
        OSError: EINVAL (unknown flags, a long name), EFAULT (NULL name),
            EMFILE, ENOMEM, EPERM (HUGETLB without permission).
        NotImplementedError: the C library has no memfd_create.
    """
    encoded = None if name is None else _check_name("memfd_create", name)
    flags = check_range("memfd_create", "flags", flags, "unsigned int")
    fd = _foreign.call_memfd_create(encoded, flags)
    if fd < 0:
        _raise_errno("memfd_create", (("name", encoded), ("flags", flags)))
    return fd


# ---------------------------------------------------------------- newer Linux calls


def _check_syscall_status(status: int, call: str, arguments: Sequence[tuple[str, object]]) -> int:
    """Return ``status``, or raise OSError for errno when it is -1."""
    if status == -1:
        _raise_errno(call, arguments)
    return status


def mseal(addr: int, length: int, flags: int = 0) -> None:
    """Seal the mappings in a range with mseal(2) (Linux 6.10).

    A sealed range can never again be unmapped, moved or shrunk (munmap,
    mremap), mapped over (MAP_FIXED), re-protected (mprotect,
    pkey_mprotect), or discarded by madvise (DONTNEED, FREE, ...) where the
    pages are anonymous and not writable: each of those answers EPERM for
    the rest of the process's life. The memory goes only when the process
    exits (or execs), so seal in a child process when a test must not keep
    it.

    Args:
        addr: page-aligned start.
        length: bytes (rounded up to pages by the kernel).
        flags: reserved, 0.

    Raises:
        OSError: EINVAL (flags not 0, addr not page aligned, the range
            wraps), ENOMEM (part of the range is not mapped), EPERM
            (sealing is not supported: 32-bit kernels), ENOSYS (a kernel
            older than 6.10).
        NotImplementedError: neither the C library nor rawmmap's system
            call table has mseal on this platform (``HAS_MSEAL``).
        OverflowError, TypeError: an argument does not fit its C type.
    """
    addr, length = _address_and_length("mseal", addr, length)
    flags = check_range("mseal", "flags", flags, "unsigned long")
    status = _foreign.call_mseal(addr, length, flags)
    _check_syscall_status(status, "mseal", (("addr", addr), ("length", length), ("flags", flags)))


def memfd_secret(flags: int = 0) -> int:
    """Create a descriptor of secret memory with memfd_secret(2) (Linux 5.14).

    Pages of the file are removed from the kernel's direct map and are
    reachable only through the mappings of this descriptor: ftruncate it,
    then mmap it MAP_SHARED. They count as locked memory (RLIMIT_MEMLOCK).

    Args:
        flags: 0 or ``MemfdSecretFlag.CLOEXEC`` (O_CLOEXEC).

    Returns:
        The new descriptor.

    Raises:
        OSError: ENOSYS (not on this architecture, or disabled: the kernel
            command line's ``secretmem.enable=0``, or a kernel before 5.14),
            EINVAL (a flag other than O_CLOEXEC), EMFILE, ENFILE, ENOMEM.
        NotImplementedError: neither the C library nor rawmmap's system
            call table has memfd_secret here (``HAS_MEMFD_SECRET``).
        OverflowError, TypeError: flags does not fit unsigned int.
    """
    flags = check_range("memfd_secret", "flags", flags, "unsigned int")
    fd = _foreign.call_memfd_secret(flags)
    return _check_syscall_status(fd, "memfd_secret", (("flags", flags),))


def pkey_alloc(flags: int = 0, access_rights: int = 0) -> int:
    """Allocate a memory protection key with pkey_alloc(2) (Linux 4.9).

    Args:
        flags: reserved, 0.
        access_rights: the calling thread's initial ``PkeyRights`` for the
            key (other threads get the default rights of a new key).

    Returns:
        The key, to pass to ``pkey_mprotect``.

    Raises:
        OSError: ENOSPC (every key is allocated, or the CPU or kernel has
            no protection keys), EINVAL (bad flags or rights; x86 kernels
            also answer EINVAL where the CPU has no PKU), ENOSYS.
        NotImplementedError: neither the C library nor rawmmap's system
            call table has pkey_alloc here (``HAS_PKEYS``).
    """
    flags = check_range("pkey_alloc", "flags", flags, "unsigned int")
    access_rights = check_range("pkey_alloc", "access_rights", access_rights, "unsigned int")
    key = _foreign.call_pkey_alloc(flags, access_rights)
    return _check_syscall_status(
        key, "pkey_alloc", (("flags", flags), ("access_rights", access_rights))
    )


def pkey_free(pkey: int) -> None:
    """Free a protection key with pkey_free(2).

    Pages still tagged with the key keep it; a later pkey_alloc may hand the
    same key out again.

    Raises:
        OSError: EINVAL (the key is not allocated), ENOSYS.
        NotImplementedError: see ``pkey_alloc``.
    """
    pkey = check_range("pkey_free", "pkey", pkey, "int")
    _check_syscall_status(_foreign.call_pkey_free(pkey), "pkey_free", (("pkey", pkey),))


def pkey_mprotect(addr: int, length: int, prot: int, pkey: int) -> None:
    """Change the protection of pages and tag them with a key, with pkey_mprotect(2).

    Args:
        addr: page-aligned start.
        length: bytes.
        prot: ``Prot`` bits, as for mprotect.
        pkey: an allocated key, or -1 for the default key (as mprotect).

    Raises:
        OSError: EINVAL (the key is not allocated, bad prot), ENOMEM (the
            range is not mapped), EACCES (as mprotect), EPERM (a sealed
            range), ENOSYS.
        NotImplementedError: see ``pkey_alloc``.
    """
    addr, length = _address_and_length("pkey_mprotect", addr, length)
    prot = check_range("pkey_mprotect", "prot", prot, "int")
    pkey = check_range("pkey_mprotect", "pkey", pkey, "int")
    status = _foreign.call_pkey_mprotect(addr, length, prot, pkey)
    _check_syscall_status(
        status,
        "pkey_mprotect",
        (("addr", addr), ("length", length), ("prot", prot), ("pkey", pkey)),
    )


def _require_protection_keys(call: str, arguments: Sequence[tuple[str, object]]) -> None:
    if not HAS_PKEY_RIGHTS:
        raise NotImplementedError(
            f"{call}: this C library has no pkey_get/pkey_set; the rights live in a CPU "
            "register (x86 PKRU) that ctypes cannot reach without machine code"
        )
    if not _foreign.protection_keys_enabled():
        # glibc would execute RDPKRU/WRPKRU, which fault with SIGILL here.
        raise OSError(
            _errno.ENOSYS,
            f"{os.strerror(_errno.ENOSYS)}: {describe_call(call, arguments)}: protection keys "
            "are not enabled for this process (/proc/self/smaps shows no ProtectionKey), "
            "and the C library would run an instruction this CPU refuses",
        )


def pkey_get(pkey: int) -> int:
    """Return the calling thread's ``PkeyRights`` for a key, with the C library's pkey_get(3).

    The rights are per thread: another thread's are untouched and unseen.

    Raises:
        OSError: EINVAL (a key out of the CPU's range), ENOSYS (protection
            keys are not enabled here: rawmmap refuses before the C library
            runs an instruction the CPU lacks).
        NotImplementedError: the C library has no pkey_get
            (``HAS_PKEY_RIGHTS``; musl, glibc before 2.27).
    """
    pkey = check_range("pkey_get", "pkey", pkey, "int")
    arguments = (("pkey", pkey),)
    _require_protection_keys("pkey_get", arguments)
    return _check_syscall_status(_foreign.call_pkey_get(pkey), "pkey_get", arguments)


def pkey_set(pkey: int, rights: int) -> None:
    """Set the calling thread's ``PkeyRights`` for a key, with the C library's pkey_set(3).

    Only the calling thread's rights change. With DISABLE_ACCESS, a read
    or write of a page tagged with the key faults (SIGSEGV) in this thread.

    Raises:
        OSError: EINVAL (a key out of range, unknown rights bits), ENOSYS
            (protection keys are not enabled here; see ``pkey_get``).
        NotImplementedError: the C library has no pkey_set.
    """
    pkey = check_range("pkey_set", "pkey", pkey, "int")
    rights = check_range("pkey_set", "rights", rights, "unsigned int")
    arguments = (("pkey", pkey), ("rights", rights))
    _require_protection_keys("pkey_set", arguments)
    _check_syscall_status(_foreign.call_pkey_set(pkey, rights), "pkey_set", arguments)


def _check_ranges(call: str, ranges: object) -> list[tuple[int, int]]:
    """Return ``ranges`` as checked (addr, length) pairs, or raise before any call."""
    if isinstance(ranges, (str, bytes, bytearray)) or not hasattr(ranges, "__iter__"):
        raise TypeError(
            f"{call}: ranges must be a sequence of (addr, length) pairs, "
            f"not {type(ranges).__name__}"
        )
    checked = []
    for position, item in enumerate(ranges):
        try:
            addr, length = item
        except (TypeError, ValueError):
            raise TypeError(
                f"{call}: ranges[{position}] must be an (addr, length) pair, not {item!r}"
            ) from None
        checked.append(
            (
                check_range(call, f"ranges[{position}].addr", addr, "void *"),
                check_range(call, f"ranges[{position}].length", length, "size_t"),
            )
        )
    return checked


def process_madvise(
    pidfd: int, ranges: Sequence[tuple[int, int]], advice: int, flags: int = 0
) -> int:
    """Advise on another process's memory with process_madvise(2) (Linux 5.10).

    Args:
        pidfd: a process descriptor (``os.pidfd_open(pid)``; this process's
            own works too).
        ranges: (addr, length) pairs in the target's address space, passed
            as one iovec array (at most 1024, UIO_MAXIOV).
        advice: ``Advice.COLD``, ``PAGEOUT``, ``WILLNEED`` or ``COLLAPSE``
            (Linux 6.1); the kernel refuses the others.
        flags: reserved, 0.

    Returns:
        The number of bytes advised; less than asked when the kernel stopped
        early (a later range not mapped).

    Raises:
        OSError: EINVAL (advice or flags refused, too many ranges), EPERM
            (no PTRACE_MODE_READ access or CAP_SYS_NICE over the target),
            ESRCH (the target is exiting), EBADF (not a pidfd), ENOMEM (a
            range is not mapped), ENOSYS.
        NotImplementedError: neither the C library nor rawmmap's system
            call table has process_madvise here (``HAS_PROCESS_MADVISE``).
        OverflowError, TypeError: an argument or a range does not fit.
    """
    pidfd = check_range("process_madvise", "pidfd", pidfd, "int")
    checked = _check_ranges("process_madvise", ranges)
    advice = check_range("process_madvise", "advice", advice, "int")
    flags = check_range("process_madvise", "flags", flags, "unsigned int")
    result = _foreign.call_process_madvise(pidfd, checked, advice, flags)
    return _check_syscall_status(
        result,
        "process_madvise",
        (
            ("pidfd", pidfd),
            ("ranges", checked),
            ("advice", advice),
            ("flags", flags),
        ),
    )


def process_mrelease(pidfd: int, flags: int = 0) -> None:
    """Reap the memory of an exiting process now, with process_mrelease(2) (Linux 5.15).

    The target must be dying (killed with SIGKILL, not yet reaped); its
    memory is freed without waiting for its exit to finish.

    Raises:
        OSError: EINVAL (the process is not exiting, or flags not 0), ESRCH
            (ProcessLookupError: its exit has finished and its memory is
            gone, reaped or still a zombie), EBADF (not a pidfd), ENOSYS.
        NotImplementedError: neither the C library nor rawmmap's system
            call table has process_mrelease here (``HAS_PROCESS_MRELEASE``).
    """
    pidfd = check_range("process_mrelease", "pidfd", pidfd, "int")
    flags = check_range("process_mrelease", "flags", flags, "unsigned int")
    status = _foreign.call_process_mrelease(pidfd, flags)
    _check_syscall_status(status, "process_mrelease", (("pidfd", pidfd), ("flags", flags)))
