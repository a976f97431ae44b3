"""Region: the safe, typed object over one memory mapping.

A Region owns one mapping made by mmap(2). It checks every offset and length
against the mapping, remembers the protection of each page range so that an
access the protection forbids raises ``ProtectionError`` instead of faulting,
refuses to unmap, downgrade or move the mapping while a buffer exported from
it is alive, and unmaps itself (with a ResourceWarning) if it is dropped
while still mapped. Every method takes the Region's lock, so threads that
race an access against ``munmap`` get ``ValueError``, never a crash.

The one fault rawmmap cannot prevent is the kernel's own: touching a page of
a file mapping that lies wholly past the file's end, after someone truncated
the file, raises SIGBUS.
"""

from __future__ import annotations

import _thread
import _weakref
import errno as _errno
import os
import stat
import sys

from rawmmap import _flagtables, _libc

# typing, threading, weakref and the flag enums are left out at run time:
# importing them would cost more than the rest of rawmmap (see
# docs/README-bench.md). The enums are imported where a method returns one.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Dict, Iterator, List, Optional, Tuple, Union, overload

    from rawmmap.flags import MapFlag, Prot

    #: Anything a file argument may be: a descriptor, an object with
    #: ``fileno()``, or a path.
    FileLike = Union[int, "os.PathLike[str]", str, bytes, "os.PathLike[bytes]", object]

    #: Address ranges, (address, length), that a Region still has mapped.
    _Ranges = List[Tuple[int, int]]

__all__ = [
    "ProtectionError",
    "Region",
    "map_anonymous",
    "map_file",
    "mmap",
    "page_size",
]

#: Where a page range is not mapped any more (after a partial munmap).
_UNMAPPED = -1

_PAGE_SIZE = _libc.page_size()
# The flag values as plain ints, from the platform's table: ``int &
# Prot.READ`` would dispatch to IntFlag.__rand__, Python code in the enum
# module (about 0.5 us, half the cost of a small read).
_TABLE = _flagtables.current()
_PROT_TABLE = _TABLE["Prot"]
_MAP_TABLE = _TABLE["MapFlag"]
_SYNC_TABLE = _TABLE["SyncFlag"]
_ADVICE_TABLE = _TABLE["Advice"]
_PROT_BITS = _flagtables.bits("Prot")
_MAP_BITS = _flagtables.bits("MapFlag")
_SYNC_BITS = _flagtables.bits("SyncFlag")
_READ = _PROT_TABLE["READ"]
_WRITE = _PROT_TABLE["WRITE"]
_MAP_TYPES = tuple(
    _MAP_TABLE[name] for name in ("SHARED", "PRIVATE", "SHARED_VALIDATE") if name in _MAP_TABLE
)
_MAP_TYPE_MASK = 0
for _value in _MAP_TYPES:
    _MAP_TYPE_MASK |= _value
del _value
_ANONYMOUS = _MAP_TABLE["ANONYMOUS"]
_SHARED = _MAP_TABLE["SHARED"]
_PRIVATE = _MAP_TABLE["PRIVATE"]
_FIXED = _MAP_TABLE["FIXED"]
_FIXED_NOREPLACE = _MAP_TABLE.get("FIXED_NOREPLACE", 0)
_MS_SYNC = _SYNC_TABLE["SYNC"]
_MS_ASYNC = _SYNC_TABLE["ASYNC"]
#: madvise codes that change what an access does: Region refuses them.
_REFUSED_ADVICE = {
    _ADVICE_TABLE[name]: name
    for name in ("HWPOISON", "SOFT_OFFLINE", "GUARD_INSTALL")
    if name in _ADVICE_TABLE
}
_DONTFORK = _ADVICE_TABLE.get("DONTFORK")
_DOFORK = _ADVICE_TABLE.get("DOFORK")


def page_size() -> int:
    """Return the size of a page in bytes (sysconf(_SC_PAGESIZE))."""
    return _PAGE_SIZE


class ProtectionError(PermissionError):
    """An access the page protection forbids.

    Raised by ``Region`` instead of the SIGSEGV the access would cause: a
    read of a page without ``Prot.READ``, a write to a page without
    ``Prot.WRITE``, or a writable view of read-only pages.
    """


# --------------------------------------------------------------- the finalizer
#
# A Region dropped while mapped warns (ResourceWarning) in ``__del__``, and
# unmaps only when the object is really freed: ``__del__`` registers a weak
# reference whose callback runs at deallocation. That order matters in a
# cyclic garbage collection, where CPython runs every ``__del__`` of the
# garbage (another object's ``__del__`` may still read a view of the
# mapping, or even resurrect the Region) before it frees anything; a
# weakref.finalize callback would run before those ``__del__`` methods. It
# is what the stdlib mmap object gets from unmapping in its C dealloc.
# At interpreter exit nothing is unmapped: the kernel reclaims it all.

#: Weak references to dropped Regions -> the ranges to unmap once freed.
#: The list is the Region's own, updated in place by munmap and mremap.
_dropped: Dict[_weakref.ref[Region], _Ranges] = {}


def _unmap_freed(reference: _weakref.ref[Region]) -> None:
    ranges = _dropped.pop(reference, None)
    if ranges and not sys.is_finalizing():
        for address, length in ranges:
            _release(address, length)
        ranges.clear()


def _release(address: int, length: int) -> None:
    # munmap of a range this process mapped cannot fail; never raise from a finalizer.
    try:  # noqa: SIM105 - contextlib would be one more import at start-up
        _libc.munmap(address, length)
    except OSError:  # pragma: no cover
        pass


# Regions advised DONTFORK: in a child after fork their pages are gone, so
# the child's copies must behave as unmapped. (A set of weak references; a
# reference compares equal to another of the same live Region.)
_dontfork_regions: Dict[_weakref.ref[Region], None] = {}


def _forget_dontfork(reference: _weakref.ref[Region]) -> None:
    _dontfork_regions.pop(reference, None)


def _after_fork_in_child() -> None:
    for reference in list(_dontfork_regions):
        region = reference()
        if region is not None:
            region._forget_mapping()
    _dontfork_regions.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)


# --------------------------------------------------------------- arguments


def _index(name: str, value: object) -> int:
    """Convert an integer argument, refusing bools, floats and strings."""
    return value if type(value) is int else _libc.index(value, name)


def _bytes_view(name: str, value: object) -> memoryview:
    """Return a flat byte view of a bytes-like argument, naming it when it is not one."""
    try:
        return memoryview(value).cast("B")  # type: ignore[arg-type]
    except TypeError as error:
        raise TypeError(
            f"{name} must be a bytes-like object, not {type(value).__name__}"
        ) from error


def _fstat(fd: int) -> os.stat_result:
    """os.fstat, with the descriptor named in the error (EBADF alone names nothing)."""
    try:
        return os.fstat(fd)
    except OSError as error:
        raise OSError(error.errno, f"{error.strerror}: fstat(fd={fd})") from None


def _convert_range(offset: object, length: object) -> Tuple[int, Optional[int]]:
    """Convert a page call's offset and length before the Region's lock is taken.

    ``__index__`` is arbitrary code: it may unmap the Region (the lock is
    reentrant, so from the same thread it would succeed) or map something
    else at the freed address. Converting first means the open check that
    follows under the lock sees the final state, and no call reaches the
    kernel with a stale address.
    """
    return _index("offset", offset), None if length is None else _index("length", length)


def _slice_span(index: slice, length: int) -> Tuple[int, int, int]:
    """Return (low, high, step): the bytes [low, high) a slice touches.

    ``slice.indices`` gives (start, stop) with start > stop for a negative
    step (``[10:0:-1]`` touches bytes 1..10): the access check must cover
    the lowest to the highest byte touched, whatever the direction.
    """
    start, stop, step = index.indices(length)
    if step == 1:  # the common case, without building a range
        return (start, stop, 1) if stop > start else (0, 0, 1)
    touched = range(start, stop, step)
    if not touched:
        return 0, 0, 1
    first, last = touched[0], touched[-1]
    return min(first, last), max(first, last) + 1, touched.step


def _round_up(value: int) -> int:
    return (value + _PAGE_SIZE - 1) // _PAGE_SIZE * _PAGE_SIZE


def _fd_of(file: object) -> int:
    if isinstance(file, bool):
        raise TypeError("file must be a descriptor, a file object or a path, not bool")
    if isinstance(file, int):
        return file
    fileno = getattr(file, "fileno", None)
    if fileno is None:
        raise TypeError(
            f"file must be a descriptor, a file object or a path, not {type(file).__name__}"
        )
    return _index("file.fileno()", fileno())


def _describe_map_flags(flags: int) -> str:
    from rawmmap.flags import MapFlag, describe

    return describe(MapFlag, flags)


def _describe_prot(prot: int) -> str:
    from rawmmap.flags import Prot, describe

    return describe(Prot, prot)


class Region:
    """One memory mapping, with checked, protection-aware access.

    Create one with ``rawmmap.mmap`` (the C call's arguments),
    ``rawmmap.map_file`` or ``rawmmap.map_anonymous``. Indexing and slicing
    read and write bytes (``region[0]``, ``region[4:8] = b"abcd"``);
    ``view()`` (and ``memoryview(region)`` on Python 3.12+) gives zero-copy
    access. Methods that act on pages take ``offset`` (a multiple of the page
    size) and ``length`` (rounded up to whole pages, default: to the end).
    """

    # Class-level defaults, so that repr() and munmap() work on a Region
    # whose __init__ failed half-way.
    _address = 0
    _length = 0
    _mapped_length = 0
    _prot = 0
    _flags = 0
    _fd = -1
    _offset = 0
    _closed = True
    # Accesses that end at or before these offsets need no per-page check:
    # the region is open, its whole length has one protection, and that
    # protection allows reading (writing). -1 sends every access to the
    # full check. Kept current by _refresh_fast_paths.
    _fast_read = -1
    _fast_write = -1
    _exports = 0
    _view: Optional[memoryview] = None
    _file_identity: Optional[Tuple[int, int]] = None
    #: For shared anonymous memory: the size of the shmem object behind it.
    _shared_anonymous_size = 0

    def __init__(
        self,
        length: int,
        prot: int = _READ | _WRITE,
        flags: int = _SHARED,
        fd: int = -1,
        offset: int = 0,
        *,
        addr: Optional[int] = None,
    ) -> None:
        """Map memory with mmap(2); see ``rawmmap.mmap``."""
        self._lock = _thread.RLock()
        self._ranges: _Ranges = []
        length = _index("length", length)
        prot = _index("prot", prot)
        flags = _index("flags", flags)
        fd = _libc.check_range("mmap", "fd", _index("fd", fd), "int")
        offset = _index("offset", offset)
        address_hint = 0 if addr is None else _index("addr", addr)
        if length <= 0:
            raise ValueError(f"length must be positive, not {length}")
        if prot & ~_PROT_BITS or prot < 0:
            raise ValueError(f"prot={prot:#x} has bits that are not Prot flags here")
        if flags & ~_MAP_BITS or flags < 0:
            raise ValueError(f"flags={flags:#x} has bits that are not MapFlag flags here")
        if flags & _MAP_TYPE_MASK not in _MAP_TYPES:
            raise ValueError("flags must include exactly one of MapFlag.SHARED or MapFlag.PRIVATE")
        if flags & _FIXED and (flags & _FIXED_NOREPLACE) != _FIXED_NOREPLACE:
            raise ValueError(
                "MapFlag.FIXED replaces whatever is mapped at addr (the interpreter's own "
                "memory included); use FIXED_NOREPLACE, or rawmmap.raw.mmap"
            )
        if offset < 0:
            raise ValueError(f"offset must not be negative, not {offset}")
        if offset % _PAGE_SIZE:
            raise ValueError(
                f"offset={offset} is not a multiple of the page size ({_PAGE_SIZE}); "
                f"map from offset {offset - offset % _PAGE_SIZE} and skip "
                f"{offset % _PAGE_SIZE} bytes"
            )
        if address_hint % _PAGE_SIZE and flags & _FIXED_NOREPLACE:
            raise ValueError(
                f"addr={address_hint:#x} is not a multiple of the page size ({_PAGE_SIZE})"
            )
        if flags & _ANONYMOUS:
            if fd != -1:
                raise ValueError(f"an anonymous mapping takes fd=-1, not {fd}")
        else:
            if fd < 0:
                raise ValueError(f"fd must be an open descriptor for a file mapping, not {fd}")
            status = _fstat(fd)
            if stat.S_ISREG(status.st_mode):
                if offset + length > status.st_size:
                    raise ValueError(
                        f"offset+length ({offset + length}) is past the end of the file "
                        f"({status.st_size} bytes): pages past the end would raise SIGBUS"
                    )
                self._file_identity = (status.st_dev, status.st_ino)
        address = _libc.mmap(address_hint, length, prot, flags, fd, offset)
        if flags & _FIXED_NOREPLACE and address != address_hint:
            # Kernels before 4.17 do not know FIXED_NOREPLACE and take addr as a hint.
            _libc.munmap(address, length)
            raise OSError(
                _errno.EEXIST,
                f"{os.strerror(_errno.EEXIST)}: this kernel placed the mapping at "
                f"{address:#x}, not at addr={address_hint:#x}",
            )
        self._address = address
        self._length = length
        self._mapped_length = _round_up(length)
        if flags & _ANONYMOUS and flags & _SHARED:
            self._shared_anonymous_size = self._mapped_length
        self._prot = prot
        self._flags = flags
        self._fd = fd
        self._offset = offset
        self._starts = [0]
        self._prots = [prot]
        self._ranges.append((address, self._mapped_length))
        self._closed = False
        self._refresh_fast_paths()

    # ------------------------------------------------------------ attributes

    @property
    def address(self) -> int:
        """The start address of the mapping (ValueError once unmapped)."""
        self._check_open()
        return self._address

    @property
    def length(self) -> int:
        """The length asked for, in bytes (the mapping is rounded up to pages)."""
        return self._length

    @property
    def prot(self) -> Prot:
        """The protection given at creation (``protection()`` tells the current one)."""
        from rawmmap.flags import Prot

        return Prot(self._prot)

    @property
    def flags(self) -> MapFlag:
        """The mmap flags given at creation."""
        from rawmmap.flags import MapFlag

        return MapFlag(self._flags)

    @property
    def fd(self) -> int:
        """The descriptor given at creation.

        -1 for anonymous memory, and for a file that rawmmap opened from a
        path and closed again once mapped.
        """
        return self._fd

    @property
    def offset(self) -> int:
        """The file offset of the first byte."""
        return self._offset

    @property
    def closed(self) -> bool:
        """True once the whole mapping has been unmapped."""
        return self._closed

    @property
    def exports(self) -> int:
        """How many buffers exported by ``view()`` are alive."""
        return self._exports

    def __len__(self) -> int:
        """Return the length in bytes."""
        return self._length

    def __repr__(self) -> str:
        """Describe the mapping."""
        if self._closed:
            return "<rawmmap.Region closed>"
        return (
            f"<rawmmap.Region address={self._address:#x} length={self._length} "
            f"prot={_describe_prot(self._prot)} flags={_describe_map_flags(self._flags)} "
            f"fd={self._fd} offset={self._offset}>"
        )

    def __enter__(self) -> Region:
        """Return the Region itself."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Unmap the region."""
        self.munmap()

    def __del__(self) -> None:
        """Warn about a Region dropped while mapped; unmap it once it is freed."""
        if self._closed or sys.is_finalizing():
            return
        # Register first: if the warning is turned into an error, the
        # mapping is still released.
        _dropped[_weakref.ref(self, _unmap_freed)] = self._ranges
        import warnings

        warnings.warn(
            f"unclosed {self!r}: call munmap() or use a with block",
            ResourceWarning,
            stacklevel=2,
        )

    # ------------------------------------------------------------ checks

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("the region is unmapped")

    def _byte_range(self, offset: object, length: object) -> Tuple[int, int]:
        """Check a byte range inside the region; return (start, stop)."""
        # An exact int needs no conversion: skip _index (the common case).
        start = offset if type(offset) is int else _index("offset", offset)
        if length is None:
            stop = self._length
        else:
            count = length if type(length) is int else _index("length", length)
            if count < 0:
                raise ValueError(f"length must not be negative, not {count}")
            stop = start + count
        if start < 0 or start > self._length or stop > self._length:
            raise IndexError(
                f"offset={start}, length={stop - start}: range [{start}, {stop}) is outside "
                f"the region [0, {self._length})"
            )
        return start, stop

    def _page_range(self, offset: object, length: object) -> Tuple[int, int]:
        """Check a page range for a page call; return (start, byte length)."""
        start, stop = self._byte_range(offset, length)
        if start % _PAGE_SIZE:
            raise ValueError(f"offset={start} is not a multiple of the page size ({_PAGE_SIZE})")
        if stop == start:
            raise ValueError("length must be positive")
        return start, stop - start

    def _runs(self, start: int, stop: int) -> Iterator[Tuple[int, int, int]]:
        """Yield (run start, run stop, prot) for the runs meeting [start, stop)."""
        starts = self._starts
        for index, run_start in enumerate(starts):
            run_stop = starts[index + 1] if index + 1 < len(starts) else self._mapped_length
            if run_stop > start and run_start < stop:
                yield run_start, run_stop, self._prots[index]

    def _check_access(self, start: int, stop: int, need: int, action: str) -> None:
        """Raise unless the region is open and every page of [start, stop) allows ``need``.

        An empty range touches no page: only the open check applies.
        """
        self._check_open()
        if stop <= start:
            return
        if stop > self._length:
            # The range was checked before the lock was taken; another
            # thread's mremap may have shrunk the region since.
            raise IndexError(f"range [{start}, {stop}) is outside the region [0, {self._length})")
        if len(self._prots) == 1:
            prot = self._prots[0]
            if prot & need == need:
                return
            bad = (0, self._mapped_length, prot)
        else:
            for bad in self._runs(start, stop):
                if bad[2] == _UNMAPPED or bad[2] & need != need:
                    break
            else:
                return
        run_start, run_stop, prot = bad
        if prot == _UNMAPPED:
            raise ValueError(f"cannot {action}: bytes [{run_start}, {run_stop}) are unmapped")
        raise ProtectionError(
            f"cannot {action} [{start}, {stop}): bytes [{run_start}, {run_stop}) "
            f"are {_describe_prot(prot)}"
        )

    def _refresh_fast_paths(self) -> None:
        """Recompute the fast-path limits after the protection, length or state changed."""
        uniform = self._prots[0] if not self._closed and len(self._prots) == 1 else _UNMAPPED
        readable = uniform != _UNMAPPED and uniform & _READ
        writable = uniform != _UNMAPPED and uniform & _WRITE
        self._fast_read = self._length if readable else -1
        self._fast_write = self._length if writable else -1

    def _check_mapped(self, start: int, stop: int, action: str) -> None:
        """Raise ValueError if a page of [start, stop) was unmapped.

        After a partial munmap the kernel may place a later mapping (another
        Region's, or the interpreter's own) in the hole: a call over the
        hole would act on that mapping (madvise DONTNEED would zero it,
        mremap would move or shrink it).
        """
        for run_start, run_stop, prot in self._runs(start, stop):
            if prot == _UNMAPPED:
                raise ValueError(f"cannot {action}: bytes [{run_start}, {run_stop}) are unmapped")

    def _sync_ranges(self) -> None:
        """Recompute the mapped address ranges that the finalizer unmaps."""
        self._ranges[:] = [
            (self._address + run_start, run_stop - run_start)
            for run_start, run_stop, prot in self._runs(0, self._mapped_length)
            if prot != _UNMAPPED
        ]

    def _set_runs(self, start: int, stop: int, prot: int) -> None:
        """Record that pages [start, stop) now have ``prot``."""
        stop = min(_round_up(stop), self._mapped_length)
        new_starts: List[int] = []
        new_prots: List[int] = []
        for run_start, run_stop, run_prot in self._runs(0, self._mapped_length):
            for piece_start, piece_stop, piece_prot in (
                (run_start, min(run_stop, start), run_prot),
                (max(run_start, start), min(run_stop, stop), prot),
                (max(run_start, stop), run_stop, run_prot),
            ):
                if piece_start >= piece_stop:
                    continue
                if new_prots and new_prots[-1] == piece_prot:
                    continue
                new_starts.append(piece_start)
                new_prots.append(piece_prot)
        self._starts = new_starts
        self._prots = new_prots
        self._refresh_fast_paths()

    def protection(self, offset: int = 0) -> Optional[Prot]:
        """Return the current protection of the page holding byte ``offset``.

        Returns:
            The Prot of that page, or None where it was unmapped.
        """
        position = _index("offset", offset)
        if not 0 <= position < self._length:
            raise IndexError(f"offset={position} is outside the region [0, {self._length})")
        self._check_open()
        for _, _, prot in self._runs(position, position + 1):
            from rawmmap.flags import Prot

            return None if prot == _UNMAPPED else Prot(prot)
        raise IndexError(offset)  # pragma: no cover - checked above

    def _internal_view(self) -> memoryview:
        view = self._view
        if view is None:
            view = self._view = _libc.memory_view(self._address, self._mapped_length)
        return view

    # ------------------------------------------------------------ access

    if TYPE_CHECKING:

        @overload
        def __getitem__(self, index: int) -> int: ...

        @overload
        def __getitem__(self, index: slice) -> bytes: ...

    def __getitem__(self, index: Union[int, slice]) -> Union[int, bytes]:
        """Read one byte (an int) or a slice (bytes), like ``bytes``."""
        if isinstance(index, slice):
            low, high, step = _slice_span(index, self._length)
            with self._lock:
                if high > self._fast_read:
                    self._check_access(low, high, _READ, "read")
                view = self._view if self._view is not None else self._internal_view()
                return bytes(view[low:high] if step == 1 else view[low:high][::step])
        position = index if type(index) is int else _index("index", index)
        if position < 0:
            position += self._length
        if not 0 <= position < self._length:
            raise IndexError(f"index {index} is outside the region [0, {self._length})")
        with self._lock:
            if position >= self._fast_read:
                self._check_access(position, position + 1, _READ, "read")
            view = self._view if self._view is not None else self._internal_view()
            return view[position]

    def __setitem__(self, index: Union[int, slice], value: object) -> None:
        """Write one byte (an int in 0..255) or a slice (same length)."""
        if isinstance(index, slice):
            low, high, step = _slice_span(index, self._length)
            data: Union[bytes, memoryview]
            if type(value) is bytes:  # already a flat 'B' buffer
                data, size = value, len(value)
            else:
                data = _bytes_view("value", value)
                size = data.nbytes
            count = high - low if step == 1 else len(range(low, high, abs(step)))
            if size != count:
                raise ValueError(f"value has {size} bytes; the slice has {count}")
            with self._lock:
                if high > self._fast_write:
                    self._check_access(low, high, _WRITE, "write")
                view = self._view if self._view is not None else self._internal_view()
                if step == 1:
                    view[low:high] = data
                else:
                    view[low:high][::step] = data
            return
        position = index if type(index) is int else _index("index", index)
        byte = value if type(value) is int else _index("value", value)
        if position < 0:
            position += self._length
        if not 0 <= position < self._length:
            raise IndexError(f"index {index} is outside the region [0, {self._length})")
        if not 0 <= byte <= 255:
            raise ValueError(f"a byte must be in 0..255, not {byte}")
        with self._lock:
            if position >= self._fast_write:
                self._check_access(position, position + 1, _WRITE, "write")
            view = self._view if self._view is not None else self._internal_view()
            view[position] = byte

    def read(self, offset: int = 0, length: Optional[int] = None) -> bytes:
        """Return a copy of ``length`` bytes at ``offset`` (default: to the end).

        Raises:
            IndexError: the range is outside the region.
            ProtectionError: a page of the range is not readable.
            ValueError: the region is unmapped.
        """
        start, stop = self._byte_range(offset, length)
        with self._lock:
            if stop > self._fast_read:
                self._check_access(start, stop, _READ, "read")
            view = self._view if self._view is not None else self._internal_view()
            return bytes(view[start:stop])

    def write(self, offset: int, data: object) -> int:
        """Copy ``data`` (any bytes-like object) to ``offset``; return its length.

        Raises:
            IndexError: the data would run past the end of the region.
            ProtectionError: a page of the range is not writable.
            ValueError: the region is unmapped.
        """
        # bytes is already a flat 'B' buffer; anything else is cast to one.
        source: Union[bytes, memoryview]
        if type(data) is bytes:
            source, size = data, len(data)
        else:
            source = _bytes_view("data", data)
            size = source.nbytes
        start, stop = self._byte_range(offset, size)
        with self._lock:
            if stop > self._fast_write:
                self._check_access(start, stop, _WRITE, "write")
            view = self._view if self._view is not None else self._internal_view()
            view[start:stop] = source
        return stop - start

    def view(
        self, offset: int = 0, length: Optional[int] = None, *, readonly: Optional[bool] = None
    ) -> memoryview:
        """Return a zero-copy memoryview (format ``'B'``) of a byte range.

        While the view, or any view made from it, is alive, ``munmap``,
        ``mremap`` and a protection downgrade raise BufferError. Release it
        with ``view.release()`` or a ``with`` block.

        Args:
            offset: first byte.
            length: bytes (default: to the end of the region).
            readonly: True for a read-only view; False to require a
                writable one; None (default) for writable where every page
                of the range is writable.

        Raises:
            ProtectionError: a page is not readable, or ``readonly=False``
                and a page is not writable.
        """
        start, stop = self._byte_range(offset, length)
        with self._lock:
            self._check_access(start, stop, _READ, "view")
            writable = not readonly
            if writable:
                try:
                    self._check_access(start, stop, _WRITE, "write through a view of")
                except ProtectionError:
                    if readonly is False:
                        raise
                    writable = False
            view = _libc.counted_view(self._address, self._mapped_length, self._release_export)
            self._exports += 1
        view = view[start:stop]
        return view if writable else view.toreadonly()

    def _release_export(self) -> None:
        with self._lock:
            self._exports -= 1

    if sys.version_info >= (3, 12):

        def __buffer__(self, flags: int) -> memoryview:
            """Export the whole region (PEP 688): ``memoryview(region)``."""
            writable_requested = bool(flags & 1)  # inspect.BufferFlags.WRITABLE
            return self.view(readonly=False if writable_requested else None)

    # ------------------------------------------------------------ page calls

    def munmap(self, offset: int = 0, length: Optional[int] = None) -> None:
        """Unmap the region, or a page range of it, with munmap(2).

        Unmapping the whole region is idempotent. After a partial unmap the
        rest stays usable and the hole raises ValueError on access.

        Raises:
            BufferError: a view exported by ``view()`` is alive.
        """
        offset, length = _convert_range(offset, length)
        if self._closed:
            return
        if offset == 0 and length is None:
            with self._lock:
                if self._closed:
                    return
                self._check_no_exports("unmap")
                self._unmap_all()
            return
        with self._lock:
            if self._closed:
                return
            start, count = self._page_range(offset, length)
            self._check_no_exports("unmap")
            stop = min(_round_up(start + count), self._mapped_length)
            if start == 0 and stop == self._mapped_length:
                self._unmap_all()
                return
            self._view = None
            # Only the runs still mapped: a hole left by an earlier partial
            # munmap may hold another mapping by now.
            for run_start, run_stop, prot in list(self._runs(start, stop)):
                if prot != _UNMAPPED:
                    piece_start, piece_stop = max(run_start, start), min(run_stop, stop)
                    _libc.munmap(self._address + piece_start, piece_stop - piece_start)
            self._set_runs(start, stop, _UNMAPPED)
            self._sync_ranges()
            if not self._ranges:
                self._forget_mapping()

    def _check_no_exports(self, action: str) -> None:
        if self._exports:
            raise BufferError(
                f"cannot {action}: {self._exports} exported buffer(s) of the region "
                "are alive; release them first"
            )

    def _unmap_all(self) -> None:
        ranges = list(self._ranges)
        self._forget_mapping()
        for address, length in ranges:
            _libc.munmap(address, length)

    def _forget_mapping(self) -> None:
        """Mark the region unmapped without calling munmap."""
        self._closed = True
        self._view = None
        self._ranges.clear()
        self._refresh_fast_paths()

    def msync(self, flags: int = _MS_SYNC, offset: int = 0, length: Optional[int] = None) -> None:
        """Flush dirty pages to the file with msync(2).

        Args:
            flags: ``SyncFlag.SYNC`` (wait) or ``SyncFlag.ASYNC``, either
                maybe with ``SyncFlag.INVALIDATE``.
            offset, length: a page range (default: the whole region).

        Raises:
            ValueError: SYNC together with ASYNC, or unknown bits, or part
                of the range was unmapped.
            OSError: EBUSY for INVALIDATE over locked pages.
        """
        flags = _index("flags", flags)
        if flags & ~_SYNC_BITS or flags < 0:
            raise ValueError(f"flags={flags:#x} has bits that are not SyncFlag flags here")
        both = _MS_SYNC | _MS_ASYNC
        if flags & both == both:
            raise ValueError("msync flags cannot hold both SYNC and ASYNC (POSIX: EINVAL)")
        offset, length = _convert_range(offset, length)
        with self._lock:
            self._check_open()
            start, count = self._page_range(offset, length)
            self._check_mapped(start, start + count, "msync")
            _libc.msync(self._address + start, count, flags)

    def mprotect(self, prot: int, offset: int = 0, length: Optional[int] = None) -> None:
        """Change the protection of the region, or a page range, with mprotect(2).

        Raises:
            BufferError: the change removes a permission while an exported
                view is alive.
            PermissionError: EACCES, e.g. WRITE on a shared mapping of a file
                opened read-only.
        """
        prot = _index("prot", prot)
        if prot & ~_PROT_BITS or prot < 0:
            raise ValueError(f"prot={prot:#x} has bits that are not Prot flags here")
        offset, length = _convert_range(offset, length)
        with self._lock:
            self._check_open()
            start, count = self._page_range(offset, length)
            stop = start + count
            runs = list(self._runs(start, stop))
            if any(run_prot == _UNMAPPED for _, _, run_prot in runs):
                raise ValueError("cannot mprotect: part of the range is unmapped")
            if self._exports and any(run_prot & ~prot for _, _, run_prot in runs):
                raise BufferError(
                    f"cannot remove a permission: {self._exports} exported buffer(s) "
                    "of the region are alive; release them first"
                )
            _libc.mprotect(self._address + start, count, prot)
            self._set_runs(start, stop, prot)

    def madvise(self, advice: int, offset: int = 0, length: Optional[int] = None) -> None:
        """Advise the kernel how the region, or a page range, will be used (madvise(2)).

        Advice such as DONTNEED discards data (anonymous and private pages
        read back as zero); that is the kernel's documented behaviour.

        Raises:
            ValueError: HWPOISON, SOFT_OFFLINE or GUARD_INSTALL, which make
                accesses fault (use ``rawmmap.raw.madvise``).
            OSError: EINVAL where the kernel does not know the advice.
        """
        advice = _index("advice", advice)
        if advice in _REFUSED_ADVICE:
            raise ValueError(
                f"Advice.{_REFUSED_ADVICE[advice]} makes accesses fault; "
                "Region refuses it (rawmmap.raw.madvise passes it on)"
            )
        offset, length = _convert_range(offset, length)
        with self._lock:
            self._check_open()
            start, count = self._page_range(offset, length)
            self._check_mapped(start, start + count, "madvise")
            _libc.madvise(self._address + start, count, advice)
            if advice == _DONTFORK:
                _dontfork_regions[_weakref.ref(self, _forget_dontfork)] = None
            elif advice == _DOFORK:
                _dontfork_regions.pop(_weakref.ref(self), None)

    def mlock(
        self, offset: int = 0, length: Optional[int] = None, *, onfault: bool = False
    ) -> None:
        """Lock the region, or a page range, in memory with mlock(2).

        ``onfault=True`` uses mlock2(MLOCK_ONFAULT): pages are locked as they
        are touched instead of being faulted in now (Linux).

        Raises:
            OSError: ENOMEM over RLIMIT_MEMLOCK, EPERM.
        """
        offset, length = _convert_range(offset, length)
        with self._lock:
            self._check_open()
            start, count = self._page_range(offset, length)
            self._check_mapped(start, start + count, "mlock")
            if onfault:
                _libc.mlock2(self._address + start, count, 1)
            else:
                _libc.mlock(self._address + start, count)

    def munlock(self, offset: int = 0, length: Optional[int] = None) -> None:
        """Unlock the region, or a page range, with munlock(2)."""
        offset, length = _convert_range(offset, length)
        with self._lock:
            self._check_open()
            start, count = self._page_range(offset, length)
            self._check_mapped(start, start + count, "munlock")
            _libc.munlock(self._address + start, count)

    def mincore(self, offset: int = 0, length: Optional[int] = None) -> List[bool]:
        """Tell which pages of the region, or a page range, are resident (mincore(2)).

        Returns:
            One bool per page, True where the page is in memory.
        """
        offset, length = _convert_range(offset, length)
        with self._lock:
            self._check_open()
            start, count = self._page_range(offset, length)
            self._check_mapped(start, start + count, "mincore")
            vector = _libc.mincore(self._address + start, count)
        return [bool(byte & 1) for byte in vector]

    def mremap(self, new_length: int, *, may_move: bool = True) -> None:
        """Grow or shrink the mapping with mremap(2) (Linux).

        With ``may_move`` (the default) the kernel may move the mapping, and
        ``address`` changes. New pages get the protection of the last page.

        Raises:
            NotImplementedError: not Linux.
            BufferError: an exported view is alive.
            ValueError: growing a file mapping past the file's end, or shared
                anonymous memory past its original size.
            OSError: ENOMEM when it cannot grow in place and ``may_move`` is
                False, EFAULT when the region has holes or mixed protection.
        """
        new_length = _index("new_length", new_length)
        if not _libc.HAS_MREMAP:  # pragma: no cover - not Linux
            raise NotImplementedError("mremap(2) is Linux-only")
        if new_length <= 0:
            raise ValueError(f"new_length must be positive, not {new_length}")
        with self._lock:
            self._check_open()
            self._check_mapped(0, self._mapped_length, "mremap")
            self._check_no_exports("mremap")
            if self._shared_anonymous_size and _round_up(new_length) > self._shared_anonymous_size:
                # Shared anonymous memory is a shmem object sized at mmap
                # time; mremap grows the mapping, not the object, and a
                # touch past the object's end raises SIGBUS (mm/shmem.c).
                raise ValueError(
                    f"new_length={new_length}: shared anonymous memory cannot grow past the "
                    f"{self._shared_anonymous_size} bytes it was mapped with (pages past "
                    "that would raise SIGBUS)"
                )
            if not self._flags & _ANONYMOUS and new_length > self._length:
                self._check_file_size(self._offset + new_length)
            new_mapped = _round_up(new_length)
            address = _libc.mremap(
                self._address, self._mapped_length, new_mapped, 1 if may_move else 0
            )
            self._view = None
            old_mapped = self._mapped_length
            self._address = address
            self._length = new_length
            self._mapped_length = new_mapped
            if new_mapped > old_mapped:
                self._set_runs(old_mapped, new_mapped, self._prots[-1])
            else:
                kept = sum(1 for run_start in self._starts if run_start < new_mapped)
                del self._starts[kept:], self._prots[kept:]
            self._sync_ranges()
            self._refresh_fast_paths()

    def _check_file_size(self, end: int) -> None:
        try:
            status = os.fstat(self._fd)
        except OSError as error:
            raise ValueError(
                f"cannot grow a file mapping whose descriptor {self._fd} is closed"
            ) from error
        if (status.st_dev, status.st_ino) != self._file_identity:
            raise ValueError(f"descriptor {self._fd} no longer refers to the mapped file")
        if end > status.st_size:
            raise ValueError(
                f"offset+length ({end}) is past the end of the file ({status.st_size} "
                "bytes): pages past the end would raise SIGBUS"
            )


def mmap(
    length: int,
    prot: int = _READ | _WRITE,
    flags: int = _SHARED,
    fd: int = -1,
    offset: int = 0,
    *,
    addr: Optional[int] = None,
) -> Region:
    """Map memory with mmap(2) and return it as a Region.

    Args:
        length: bytes, positive (the mapping is rounded up to whole pages).
        prot: ``Prot`` bits.
        flags: ``MapFlag`` bits with exactly one of SHARED or PRIVATE (or
            SHARED_VALIDATE). FIXED is refused: it would replace whatever
            is mapped at ``addr``; FIXED_NOREPLACE is allowed.
        fd: an open descriptor, or -1 with ``MapFlag.ANONYMOUS``.
        offset: file offset, a multiple of the page size (ValueError
            otherwise, naming the page size).
        addr: where to place the mapping (a hint unless FIXED_NOREPLACE).

    Raises:
        ValueError: bad arguments, or a file mapping past the file's end.
        TypeError: a non-integer argument.
        OSError: from mmap(2): EACCES (PermissionError) for PROT_WRITE with
            MAP_SHARED on a descriptor opened read-only, EBADF, ENODEV (the
            file cannot be mapped), ENOMEM, EEXIST (FIXED_NOREPLACE).
    """
    return Region(length, prot, flags, fd, offset, addr=addr)


def map_anonymous(
    length: int,
    prot: int = _READ | _WRITE,
    *,
    shared: bool = False,
    flags: int = 0,
) -> Region:
    """Map zero-filled anonymous memory.

    Args:
        length: bytes.
        prot: ``Prot`` bits (default READ|WRITE).
        shared: MAP_SHARED (seen by children after fork) instead of
            MAP_PRIVATE.
        flags: extra ``MapFlag`` bits (POPULATE, NORESERVE, ...).
    """
    # Plain ints: an | between MapFlag members runs Python code in enum.
    kind = _SHARED if shared else _PRIVATE
    return Region(length, prot, kind | _ANONYMOUS | _index("flags", flags), -1, 0)


def map_file(
    file: FileLike,
    length: Optional[int] = None,
    *,
    offset: int = 0,
    prot: int = _READ,
    shared: bool = True,
    flags: int = 0,
) -> Region:
    """Map a file given as a descriptor, a file object or a path.

    Args:
        file: an int descriptor, an object with ``fileno()``, or a path
            (opened read-only, or read-write when ``prot`` has WRITE and
            ``shared`` is true, and closed again once mapped).
        length: bytes (default: from ``offset`` to the end of the file).
        offset: a multiple of the page size.
        prot: ``Prot`` bits (default READ).
        shared: MAP_SHARED (stores reach the file) or MAP_PRIVATE.
        flags: extra ``MapFlag`` bits.

    Raises:
        ValueError: an empty file, or a range past the end of the file.
    """
    prot = _index("prot", prot)
    offset = _index("offset", offset)
    kind = _SHARED if shared else _PRIVATE
    extra = _index("flags", flags)
    if isinstance(file, (str, bytes, os.PathLike)):
        mode = os.O_RDWR if (prot & _WRITE and shared) else os.O_RDONLY
        fd = os.open(file, mode | getattr(os, "O_CLOEXEC", 0))
        try:
            region = _map_descriptor(fd, length, offset, prot, kind | extra)
        finally:
            os.close(fd)
        region._fd = -1  # rawmmap opened and closed it: nothing to show
        return region
    return _map_descriptor(_fd_of(file), length, offset, prot, kind | extra)


def _map_descriptor(fd: int, length: Optional[int], offset: int, prot: int, flags: int) -> Region:
    if length is None:
        size = _fstat(fd).st_size
        if offset > size:
            raise ValueError(f"offset={offset} is past the end of the file ({size} bytes)")
        length = size - offset
        if length == 0:
            raise ValueError("cannot map an empty file (or an offset at its end)")
    return Region(length, prot, flags, fd, offset)
