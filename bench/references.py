"""The floors rawmmap is measured against: what pure Python and bare ctypes cost.

``ReferenceWrapper`` is the pure-Python limit for a checked accessor: the
least a wrapper over a memoryview of a mapping must do to be safe against a
thread that unmaps (take a lock) and against an out-of-range offset (check
bounds), and then copy. ``BareCalls`` is the ctypes floor for the lifecycle:
mmap and munmap declared here with ``argtypes`` and ``restype``, called
directly, with the MAP_FAILED and return-value checks any binding needs.

Neither is part of rawmmap, and both stay minimal on purpose: a target like
"at most 1.15x the reference" only means something if the reference does no
more than it has to.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Callable

__all__ = ["BareCalls", "ReferenceWrapper"]


class ReferenceWrapper:
    """A bounds check, an explicit lock and a memoryview copy, nothing more.

    The lock is taken with ``acquire()``/``release()`` rather than ``with``
    (measured faster on 3.9 to 3.13, issue 12). It wraps the same kind of
    object as a Region's own accessors: a flat ``'B'`` memoryview of the
    mapping. Slices have step 1 only.
    """

    __slots__ = ("_length", "_lock", "_view")

    def __init__(self, view: memoryview) -> None:
        """Wrap ``view``, a flat ``'B'`` memoryview."""
        self._view = view
        self._length = view.nbytes
        self._lock = threading.RLock()

    def read(self, offset: int, length: int) -> bytes:
        """Return a copy of ``length`` bytes at ``offset``."""
        stop = offset + length
        if offset < 0 or length < 0 or stop > self._length:
            raise IndexError(f"[{offset}, {stop}) is outside [0, {self._length})")
        lock = self._lock
        lock.acquire()
        try:
            return self._view[offset:stop].tobytes()
        finally:
            lock.release()

    def write(self, offset: int, data: bytes) -> int:
        """Copy ``data`` to ``offset``; return its length."""
        stop = offset + len(data)
        if offset < 0 or stop > self._length:
            raise IndexError(f"[{offset}, {stop}) is outside [0, {self._length})")
        lock = self._lock
        lock.acquire()
        try:
            self._view[offset:stop] = data
        finally:
            lock.release()
        return stop - offset

    def __getitem__(self, index: int | slice) -> int | bytes:
        """Read one byte (an int) or a step-1 slice (bytes)."""
        if isinstance(index, slice):
            start, stop, step = index.indices(self._length)
            if step != 1:
                raise ValueError("the reference has step-1 slices only")
            lock = self._lock
            lock.acquire()
            try:
                return self._view[start:stop].tobytes()
            finally:
                lock.release()
        position = index + self._length if index < 0 else index
        if not 0 <= position < self._length:
            raise IndexError(f"index {index} is outside [0, {self._length})")
        lock = self._lock
        lock.acquire()
        try:
            return self._view[position]
        finally:
            lock.release()

    def __setitem__(self, index: slice, value: bytes) -> None:
        """Write a step-1 slice of the same length."""
        start, stop, step = index.indices(self._length)
        if step != 1:
            raise ValueError("the reference has step-1 slices only")
        if stop - start != len(value):
            raise IndexError(f"{len(value)} bytes for a slice of {max(stop - start, 0)}")
        lock = self._lock
        lock.acquire()
        try:
            self._view[start:stop] = value
        finally:
            lock.release()


#: mmap's error return, (void *)-1, as ctypes hands back a c_void_p result.
MAP_FAILED = ctypes.c_void_p(-1).value


class BareCalls:
    """mmap(2), munmap(2) and a one-byte touch through ctypes, prototypes set here.

    The libc is the interpreter's own (``CDLL(None)``), with errno kept
    (``use_errno=True``). ``mmap64`` where the C library has it (32-bit
    glibc, where plain mmap takes a 32-bit off_t), else ``mmap``; both get
    a 64-bit offset here, which is right on LP64 and for mmap64.
    """

    def __init__(self) -> None:
        """Load libc and declare the two prototypes."""
        library = ctypes.CDLL(None, use_errno=True)
        try:
            mmap = library.mmap64
        except AttributeError:
            mmap = library.mmap
        # void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset);
        mmap.restype = ctypes.c_void_p
        mmap.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_int64,
        ]
        # int munmap(void *addr, size_t length);
        munmap = library.munmap
        munmap.restype = ctypes.c_int
        munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        self.mmap: Callable[[int | None, int, int, int, int, int], int | None] = mmap
        self.munmap: Callable[[int, int], int] = munmap

    def lifecycle(self, count: int, length: int, prot: int, flags: int, fd: int) -> None:
        """Map ``length`` bytes, write one byte, unmap: ``count`` times."""
        mmap, munmap, memmove = self.mmap, self.munmap, ctypes.memmove
        touch = b"\x01"
        for _ in range(count):
            address = mmap(None, length, prot, flags, fd, 0)
            if address == MAP_FAILED or address is None:
                raise OSError(ctypes.get_errno(), "mmap failed")
            memmove(address, touch, 1)
            if munmap(address, length):
                raise OSError(ctypes.get_errno(), "munmap failed")
