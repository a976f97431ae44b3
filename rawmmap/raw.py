"""The raw calls, on integer addresses, exactly as the kernel sees them.

This is the layer for people who test the kernel: no bounds checks, no
protection tracking, no ownership. A call passes its arguments to libc and
reports the kernel's answer; what it still does is check that every integer
fits its C type (ctypes would silently truncate it) and raise
``OSError(errno, ...)`` on failure, naming the call and its arguments.

``read`` and ``write`` touch memory directly: a bad address or a forbidden
access kills the process with SIGSEGV or SIGBUS, as it would in C.
"""

from __future__ import annotations

import os

from rawmmap import _foreign
from rawmmap._cint import check_range, describe_call
from rawmmap._foreign import (
    HAS_MLOCK2,
    HAS_MREMAP,
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
    "HAS_MLOCK2",
    "HAS_MREMAP",
    "MAP_FAILED",
    "MMAP_SYMBOL",
    "OFF_T_BITS",
    "POINTER_BITS",
    "has_shm",
    "madvise",
    "memfd_create",
    "mincore",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mprotect",
    "mremap",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "page_size",
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
