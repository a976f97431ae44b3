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

from rawmmap._libc import (
    HAS_MLOCK2,
    HAS_MREMAP,
    MAP_FAILED,
    MMAP_SYMBOL,
    OFF_T_BITS,
    madvise,
    mincore,
    mlock,
    mlock2,
    mlockall,
    mmap,
    mprotect,
    mremap,
    msync,
    munlock,
    munlockall,
    munmap,
    page_size,
)
from rawmmap._libc import read_memory as read
from rawmmap._libc import write_memory as write

__all__ = [
    "HAS_MLOCK2",
    "HAS_MREMAP",
    "MAP_FAILED",
    "MMAP_SYMBOL",
    "OFF_T_BITS",
    "madvise",
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
    "write",
]
