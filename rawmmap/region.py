"""Region: the safe, typed object over one memory mapping.

A Region owns one mapping made by mmap(2). Its state lives in three places,
each with one job:

- the page map (``rawmmap._pagemap``): which pages are mapped, with which
  protection, and which were advised DONTFORK. Every access and every page
  call asks it, by bisect, before it touches memory or calls the kernel;
- the call guard: every method takes the Region's lock and records the call
  in progress (the accessors, read, write and indexing, record none: the
  lock held by this thread with no call recorded is one of them, which
  ``_begin`` reports as "read/write"). Code that runs in the middle of a
  call in the same thread (an
  argument's ``__index__`` or ``__bool__``, a signal handler, a finalizer
  run by the garbage collector, a trace hook) may read and write, but a call
  that would unmap, move, shrink or remove a permission raises RuntimeError
  naming both calls. Arguments are converted before the lock is taken, and
  every check is made after it;
- leases (``_foreign.new_lease``): each exported view holds one. A view reaches
  exactly its own bytes (its ``.obj`` is None), and the mapping is never
  unmapped while a lease is held: not by ``munmap``, not by the finalizer
  of a dropped Region, not in the middle of a garbage cycle whose other
  finalizers still read the view.

The one fault rawmmap cannot prevent is the kernel's own: touching a page of
a file mapping that lies wholly past the file's end, after someone truncated
the file, raises SIGBUS.
"""

from __future__ import annotations

import _thread
import _weakref
import errno as _errno
import gc as _gc
import os
import stat
import sys

from rawmmap import _cint, _flagtables, _foreign, raw

# isort: split
# Made by rawmmap._foreign at import: the prototyped C functions.
from rawmmap import _ffi
from rawmmap._pagemap import (
    DONTFORK,
    GUARD,
    KEY_MASK,
    KEY_SHIFT,
    PROT_MASK,
    SEALED,
    PageMap,
    bisect_right,
)

# typing, threading, weakref and the flag enums are left out at run time:
# importing them would cost more than the rest of rawmmap (see
# docs/README-bench.md). The enums are imported where a method returns one.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Literal, NoReturn, TypeVar, Union, overload

    _T = TypeVar("_T")

    from rawmmap._foreign import ByteArray
    from rawmmap.flags import MapFlag, Prot
    from rawmmap.pagestate import MappingStats, PageStates

    if sys.version_info >= (3, 12):
        from collections.abc import Buffer
    else:
        from typing_extensions import Buffer

    #: Anything a file argument may be: a descriptor, an object with
    #: ``fileno()``, or a path.
    FileLike = Union[int, "os.PathLike[str]", str, bytes, "os.PathLike[bytes]", object]

__all__ = [
    "ProtectionError",
    "Region",
    "SealedError",
    "SoleOwner",
    "map_anonymous",
    "map_file",
    "map_secret",
    "mmap",
    "page_size",
    "set_pkey_rights",
]

page_size = raw.page_size
_PAGE_SIZE = page_size()
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
_PAGE_SHIFT = _PAGE_SIZE.bit_length() - 1
#: The tables a Region's page map keeps: readable, writable (see _refresh).
_NEEDS = (_READ, _WRITE)
#: Region._readable and _writable where there is no table (never indexed:
#: _tabled is -1 then).
_NO_TABLE: list[int] = []
#: PROT_GROWSDOWN/GROWSUP make mprotect change pages beyond the range it is
#: given (mprotect(2)): Region could not know their protection.
_GROWS = _PROT_TABLE.get("GROWSDOWN", 0) | _PROT_TABLE.get("GROWSUP", 0)
_MAP_TYPES = tuple(
    _MAP_TABLE[name]
    for name in ("SHARED", "PRIVATE", "SHARED_VALIDATE", "DROPPABLE")
    if name in _MAP_TABLE
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
_HUGETLB = _MAP_TABLE.get("HUGETLB", 0)
#: The bits of the huge page size field that are no flag of their own (bit
#: 26 is also MAP_UNINITIALIZED).
_HUGE_SIZE_BITS = (
    (_flagtables.HUGE_MASK << _flagtables.HUGE_SHIFT) & ~(1 << _flagtables.HUGE_SHIFT)
    if _HUGETLB
    else 0
)
_INT_MAX = (1 << 31) - 1
_MAP_FAILED = raw.MAP_FAILED
_C_INT_MIN = _cint.RANGES["int"][0]
_SIZE_MAX = _cint.RANGES["size_t"][1]
_OFF_MAX = _cint.RANGES["off_t"][1]
_MS_SYNC = _SYNC_TABLE["SYNC"]
_MS_ASYNC = _SYNC_TABLE["ASYNC"]
_MLOCK_ONFAULT = _TABLE.get("MlockFlag", {}).get("ONFAULT", 0)
_MREMAP_MAYMOVE = _TABLE.get("RemapFlag", {}).get("MAYMOVE", 0)
_MREMAP_FIXED = _TABLE.get("RemapFlag", {}).get("FIXED", 0)
_MREMAP_DONTUNMAP = _TABLE.get("RemapFlag", {}).get("DONTUNMAP", 0)
#: madvise codes that change what an access does: Region refuses them.
_REFUSED_ADVICE = {
    _ADVICE_TABLE[name]: name for name in ("HWPOISON", "SOFT_OFFLINE") if name in _ADVICE_TABLE
}
_GUARD_INSTALL = _ADVICE_TABLE.get("GUARD_INSTALL")
_GUARD_REMOVE = _ADVICE_TABLE.get("GUARD_REMOVE")
_DONTFORK = _ADVICE_TABLE.get("DONTFORK")
_DOFORK = _ADVICE_TABLE.get("DOFORK")
#: Advice the kernel refuses (EPERM) on sealed pages that are private,
#: anonymous and not writable: it would discard their contents (mm/mseal.c,
#: checked on Linux 6.18 by tests/test_region_seal.py).
_DISCARD_ADVICE = frozenset(
    _ADVICE_TABLE[name]
    for name in (
        "DONTNEED",
        "FREE",
        "REMOVE",
        "DONTNEED_LOCKED",
        "DONTFORK",
        "WIPEONFORK",
        "GUARD_INSTALL",
    )
    if name in _ADVICE_TABLE
)
_PKEY_DISABLE_ACCESS = _TABLE.get("PkeyRights", {}).get("DISABLE_ACCESS", 0)
_PKEY_DISABLE_WRITE = _TABLE.get("PkeyRights", {}).get("DISABLE_WRITE", 0)


class ProtectionError(PermissionError):
    """An access the page protection forbids.

    Raised by ``Region`` instead of the SIGSEGV the access would cause: a
    read of a page without ``Prot.READ``, a write to a page without
    ``Prot.WRITE``, an access to a guard page, an access that the calling
    thread's rights for the page's protection key deny, or a writable view
    of read-only pages.
    """


# --------------------------------------------------------------- ownership
#
# A _Mapping is what must outlive a Region's methods: the address, the page
# map, the file descriptor and the live exports. Each view holds a lease (a
# private bytes object) in its managed buffer; while any buffer made from the
# view is alive, the lease's reference count is above what the registry
# alone holds. A Region's __del__ (PEP 442: it runs once, also for cyclic
# garbage, before anything of the cycle is freed) unmaps at once if no lease
# is held; otherwise the mapping becomes an orphan, unmapped by the first
# poll after its last view is gone: every Region call that maps, views or
# unmaps, and the end of every garbage collection. No callback runs when a
# view dies, so nothing can unmap under a finalizer still reading a view, nor
# run in the middle of a deallocation. At interpreter exit nothing is
# unmapped: the kernel reclaims it all.


class SealedError(PermissionError):
    """The pages are sealed (mseal(2)): the kernel would refuse the call with EPERM.

    Raised before the system call. A sealed range stays mapped, with its
    protection, until the process exits or execs.
    """

    def __init__(self, action: str, start: int, stop: int) -> None:
        """Say which call was refused over which sealed bytes."""
        super().__init__(
            _errno.EPERM,
            f"cannot {action}: bytes [{start}, {stop}) are sealed (mseal); the kernel "
            "refuses it (EPERM) for the rest of the process's life",
        )


class _Mapping:
    """What outlives a Region's methods: address, page map, descriptor, exports."""

    __slots__ = ("address", "exports", "fd", "file_offset", "identity", "pages", "region")

    def __init__(self, address: int, pages: PageMap, region: Region) -> None:
        self.address = address
        self.pages = pages
        #: The Region's own duplicate of a mapped file's descriptor (-1: none),
        #: closed with the mapping; what mremap and resize size the file with.
        self.fd = -1
        #: (st_dev, st_ino) and offset of a mapped file, to find other
        #: Regions of the same file.
        self.identity: tuple[int, int] | None = None
        self.file_offset = 0
        #: id(lease) -> (start, stop, writable, lease) of each view exported.
        self.exports: dict[int, tuple[int, int, bool, bytes]] = {}
        self.region = _weakref.ref(region)

    def prune(self) -> int:
        """Forget the exports whose buffers are gone; return how many are alive."""
        exports = self.exports
        for key in list(exports):
            entry = exports.get(key)
            if entry is not None and _lease_references(entry) <= _UNHELD:
                exports.pop(key, None)
        return len(exports)


def _lease_references(entry: tuple[int, int, bool, bytes]) -> int:
    return _getrefcount(entry[3])


_getrefcount = sys.getrefcount
#: What ``_lease_references`` reads for a lease only the registry holds
#: (measured, so that interpreters that borrow references count alike).
_UNHELD = _lease_references((0, 0, False, _foreign.new_lease()))

#: id(mapping) -> mapping, for every mapping that still has pages mapped.
_live: dict[int, _Mapping] = {}
#: id(mapping) -> mapping, for mappings whose Region was dropped while views lived.
_orphans: dict[int, _Mapping] = {}


def _poll_orphans() -> None:
    """Unmap the orphans whose last view is gone."""
    for key in list(_orphans):
        mapping = _orphans.get(key)
        if mapping is None or mapping.prune():
            continue
        # dict.pop is atomic: of two polls at once, one unmaps.
        if _orphans.pop(key, None) is not None and _live.pop(key, None) is not None:
            _unmap_spans(mapping)


def _after_collection(phase: str, info: object) -> None:
    if phase == "stop" and _orphans and not sys.is_finalizing():
        _poll_orphans()


_gc.callbacks.append(_after_collection)


def _munmap(address: int, length: int) -> None:
    """munmap(2) of a range a Region mapped: its arguments fit their C types."""
    if _ffi.munmap(address, length):  # EPERM only: pages sealed behind Region's back
        errno = _foreign.last_errno()
        call = _cint.describe_call("munmap", (("addr", address), ("length", length)))
        raise OSError(errno, f"{os.strerror(errno)}: {call}")


def _unmap_spans(mapping: _Mapping) -> None:
    pages = mapping.pages
    for start, stop, state in pages.runs(0, pages.size):
        if state is None or state & SEALED:
            continue  # sealed pages stay mapped until the process exits
        # munmap of a range this process mapped cannot fail; never raise from a finalizer.
        try:  # noqa: SIM105 - contextlib would be one more import at start-up
            raw.munmap(mapping.address + start, stop - start)
        except OSError:  # pragma: no cover
            pass
    mapping.pages.assign(0, mapping.pages.size, None)
    _close_fd(mapping)


def _close_fd(mapping: _Mapping) -> None:
    fd, mapping.fd = mapping.fd, -1
    if fd >= 0:
        try:  # noqa: SIM105 - contextlib would be one more import at start-up
            os.close(fd)
        except OSError:  # pragma: no cover - it was ours
            pass


def _after_fork_in_child() -> None:  # pragma: no cover - runs in forked children only
    """In a forked child: drop DONTFORK pages, and free locks held by other threads."""
    for mapping in list(_live.values()):
        region = mapping.region()
        if region is not None:
            # Another thread of the parent may have held it: it is gone.
            region._lock = _thread.RLock()
            region._busy = None
        pages = mapping.pages
        if not pages.any_flag(0, pages.size, DONTFORK):
            continue
        pages.unmap_flagged(DONTFORK)
        if pages.mapped():
            if region is not None:
                region._refresh()
        elif region is not None:
            region._close()
        else:
            _live.pop(id(mapping), None)


os.register_at_fork(after_in_child=_after_fork_in_child)


# --------------------------------------------------------------- arguments


#: The call in progress that ``Region._begin`` reports when it is an access:
#: read, write and indexing hold the lock but record no name.
_ACCESS = "read/write"


def _index(name: str, value: object) -> int:
    """Convert an integer argument, refusing bools, floats and strings."""
    return value if type(value) is int else _cint.index(value, name)


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


def _convert_range(offset: object, length: object) -> tuple[int, int | None]:
    """Convert a page call's offset and length before the Region's lock is taken.

    ``__index__`` is arbitrary code: it may unmap the Region or map something
    else at the freed address. Converting first means the checks that follow
    under the lock see the final state, and no call reaches the kernel with
    a stale address.
    """
    return _index("offset", offset), None if length is None else _index("length", length)


def _slice_span(index: slice, length: int) -> tuple[int, int, int]:
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


def _round_up(value: int, granule: int = _PAGE_SIZE) -> int:
    return (value + granule - 1) // granule * granule


def _kernel_page_size(address: int, flags: int) -> int:
    """Return the size of the pages that back the mapping at ``address``.

    A MAP_HUGETLB mapping, or one of a hugetlbfs file (a MFD_HUGETLB memfd
    too), is made of huge pages: the kernel rounds its length up to one,
    and munmap, mprotect and mremap want huge-page multiples (mmap(2),
    Documentation/admin-guide/mm/hugetlbpage.rst). For MAP_HUGETLB the
    flags say the size (the HUGE_* field, else the default huge page size
    of /proc/meminfo); for a file, /proc/self/smaps says which size the
    kernel used (KernelPageSize).
    """
    if flags & _HUGETLB:
        shift = flags >> _flagtables.HUGE_SHIFT & _flagtables.HUGE_MASK
        return 1 << shift if shift else _default_huge_page_size()
    try:
        with open("/proc/self/smaps", "rb") as smaps:
            inside = False
            for line in smaps:
                if line[:1] in b"0123456789abcdef" and b"-" in line.split(b" ", 1)[0]:
                    low, high = line.split(b" ", 1)[0].split(b"-")
                    inside = int(low, 16) <= address < int(high, 16)
                elif inside and line.startswith(b"KernelPageSize:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):  # pragma: no cover - no /proc (gVisor has it)
        pass
    return _PAGE_SIZE  # pragma: no cover - no /proc


def _meminfo_bytes(field: bytes) -> int | None:
    """One ``/proc/meminfo`` figure (kB there) in bytes, or None if it is not shown."""
    try:
        with open("/proc/meminfo", "rb") as meminfo:
            for line in meminfo:
                if line.startswith(field + b":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):  # pragma: no cover - no /proc
        pass
    return None


def _default_huge_page_size() -> int:
    return _meminfo_bytes(b"Hugepagesize") or _PAGE_SIZE


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


def _describe_state(state: int | None) -> str:
    if state is None:
        return "unmapped"
    if state & GUARD:
        return "guard pages (Region.unguard removes them)"
    return _describe_prot(state & PROT_MASK)


def _key_of(state: int | None) -> int:
    return 0 if state is None else state >> KEY_SHIFT & 0xFF


def _rights_deny(
    key: int, need: int
) -> bool:  # pragma: no cover - needs protection keys (tests/test_region_pkeys.py)
    """Tell whether the calling thread's rights for protection ``key`` deny ``need``."""
    rights = raw.pkey_get(key)
    return bool(rights & _PKEY_DISABLE_ACCESS or (need & _WRITE and rights & _PKEY_DISABLE_WRITE))


def _describe_rights(
    key: int, need: int
) -> str:  # pragma: no cover - needs protection keys (tests/test_region_pkeys.py)
    what = "any access" if need & _READ else "writes"
    return (
        f"tagged with protection key {key}, whose rights in this thread deny {what} "
        "(set_pkey_rights changes them, per thread)"
    )


def _still_mapped(address: int, length: int) -> bool:
    """Ask the kernel (mincore: ENOMEM over a hole) whether a range is mapped."""
    try:
        raw.mincore(address, length)
    except OSError:
        return False
    return True


def _unguarded(state: int | None) -> int | None:
    """The state of new pages next to ``state``: guard markers do not spread."""
    return None if state is None else state & ~GUARD


#: /dev/zero (Linux: major 1, minor 5) behaves like anonymous memory: any
#: length may be mapped.
_DEV_ZERO = os.makedev(1, 5) if sys.platform.startswith("linux") else -1


def _mappable_size(fd: int, status: os.stat_result) -> int | None:
    """Return the size of what ``fd`` refers to, or None where any length is safe.

    A block device has st_size 0: its size is where lseek(SEEK_END) lands.
    Other kinds of file either cannot be mapped at all (the kernel says
    ENODEV) or could fault past an end rawmmap cannot know.
    """
    mode = status.st_mode
    if stat.S_ISREG(mode):
        return status.st_size
    if stat.S_ISBLK(mode):
        here = os.lseek(fd, 0, os.SEEK_CUR)
        try:
            return os.lseek(fd, 0, os.SEEK_END)
        finally:
            os.lseek(fd, here, os.SEEK_SET)
    if stat.S_ISCHR(mode) and status.st_rdev == _DEV_ZERO:
        return None
    if stat.S_ISDIR(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        kind = (
            "a directory" if stat.S_ISDIR(mode) else "a pipe" if stat.S_ISFIFO(mode) else "a socket"
        )
        # What the kernel would answer (mmap(2): ENODEV), with what to change.
        raise OSError(
            _errno.ENODEV,
            f"{os.strerror(_errno.ENODEV)}: fd={fd} is {kind}, which cannot be memory-mapped; "
            "map a regular file, a block device, shared memory or anonymous memory",
        )
    raise ValueError(
        f"fd={fd} is a character device other than /dev/zero: Region cannot know where its "
        "end is, and pages past it could raise SIGBUS (rawmmap.raw.mmap maps it unchecked)"
    )


def _check_file_end(end: int, size: int | None, what: str) -> None:
    """Refuse a file range whose last page would lie wholly past the end of the file.

    The kernel backs the page that holds the file's last byte (its tail
    reads as zero, mmap(2)); only a page that starts at or past the end
    raises SIGBUS when touched.
    """
    if size is not None and end > _round_up(size):
        raise ValueError(
            f"{what} ({end}) reaches pages wholly past the end of the file ({size} bytes, "
            f"mappable to {_round_up(size)}): touching them would raise SIGBUS"
        )


def _check_prot(call: str, prot: object) -> int:
    """Convert and check the protection an mprotect-like call gets."""
    bits = _index("prot", prot)
    if bits & ~_PROT_BITS or bits < 0:
        raise ValueError(f"prot={bits:#x} has bits that are not Prot flags here")
    if bits & _GROWS:
        raise ValueError(
            "Prot.GROWSDOWN/GROWSUP extend the change to pages outside the range, which "
            f"Region could not track; use rawmmap.raw.{call}"
        )
    return bits


def _check_map_flags(flags: int) -> int:
    """Check mmap(2) flags for a Region; return them as the C int mmap takes."""
    if flags & ~_MAP_BITS or flags < 0:
        raise ValueError(f"flags={flags:#x} has bits that are not MapFlag flags here")
    if flags & _HUGE_SIZE_BITS and not flags & _HUGETLB:
        raise ValueError(
            f"flags={flags:#x} has huge page size bits (MapFlag.HUGE_*) without MapFlag.HUGETLB"
        )
    if flags > _INT_MAX:
        # HUGE_16GB sets bit 31: C converts the unsigned constant to the int
        # that mmap(3) takes, and so does Region.
        flags -= 1 << 32
    if flags & _MAP_TYPE_MASK not in _MAP_TYPES:
        raise ValueError(
            "flags must include exactly one mapping type: MapFlag.SHARED, PRIVATE, "
            "SHARED_VALIDATE or DROPPABLE"
        )
    if flags & _FIXED and (flags & _FIXED_NOREPLACE) != _FIXED_NOREPLACE:
        raise ValueError(
            "MapFlag.FIXED replaces whatever is mapped at addr (the interpreter's own "
            "memory included); use FIXED_NOREPLACE, or rawmmap.raw.mmap"
        )
    return flags


def _check_mmap_arguments(
    length: object, prot: object, flags: object, fd: object, offset: object, addr: object
) -> tuple[int, int, int, int, int, int, tuple[int, int] | None, bool]:
    """Convert and check mmap(2)'s arguments for a Region.

    Returns:
        (length, prot, flags, fd, offset, address hint, (st_dev, st_ino) of
        a mapped file or None, whether the mapping may be of huge pages).
    """
    if not (
        type(length) is int
        and type(prot) is int
        and type(flags) is int
        and type(fd) is int
        and type(offset) is int
        and addr is None
    ):  # exact ints (the common case) need no conversion
        length = _index("length", length)
        prot = _index("prot", prot)
        flags = _index("flags", flags)
        fd = _index("fd", fd)
        offset = _index("offset", offset)
    hint = 0 if addr is None else _cint.check_range("mmap", "addr", _index("addr", addr), "void *")
    if not _C_INT_MIN <= fd <= _INT_MAX:
        _cint.check_range("mmap", "fd", fd, "int")  # raises OverflowError
    if length <= 0:
        raise ValueError(f"length must be positive, not {length} (mmap(2) maps no empty range)")
    if prot & ~_PROT_BITS or prot < 0:
        raise ValueError(f"prot={prot:#x} has bits that are not Prot flags here")
    if prot & _GROWS:
        raise ValueError("Prot.GROWSDOWN/GROWSUP is for mprotect on a stack; use rawmmap.raw")
    flags = _check_map_flags(flags)
    if offset < 0:
        raise ValueError(f"offset must not be negative, not {offset}")
    if offset % _PAGE_SIZE:
        raise ValueError(
            f"offset={offset} is not a multiple of the page size ({_PAGE_SIZE}); "
            f"map from offset {offset - offset % _PAGE_SIZE} and skip "
            f"{offset % _PAGE_SIZE} bytes"
        )
    if hint % _PAGE_SIZE and flags & _FIXED_NOREPLACE:
        raise ValueError(f"addr={hint:#x} is not a multiple of the page size ({_PAGE_SIZE})")
    identity = None
    huge = bool(flags & _HUGETLB)
    if flags & _ANONYMOUS:
        if fd != -1:
            raise ValueError(f"an anonymous mapping takes fd=-1, not {fd}")
    else:
        # A negative or closed descriptor is the kernel's EBADF (from fstat), as
        # with the stdlib mmap.
        status = _fstat(fd)
        _check_file_end(offset + length, _mappable_size(fd, status), "offset+length")
        identity = (status.st_dev, status.st_ino)
        # hugetlbfs gives its files the huge page size as block size.
        huge = huge or status.st_blksize > _PAGE_SIZE
    _check_c_sizes(length, offset)
    return length, prot, flags, fd, offset, hint, identity, huge


def _check_c_sizes(length: int, offset: int) -> None:
    """Raise OverflowError, as rawmmap.raw would, if length or offset does not fit its C type."""
    if length > _SIZE_MAX:
        _cint.check_range("mmap", "length", length, "size_t")
    if offset > _OFF_MAX:
        _cint.check_range("mmap", "offset", offset, "off_t")


def _explain_access(error: PermissionError, fd: int, prot: int, flags: int) -> PermissionError:
    """Say what to change when mmap(2) refuses a descriptor's open mode (EACCES)."""
    if error.errno != _errno.EACCES or fd < 0:
        return error
    try:
        import fcntl  # only here, on an error path: not at start-up

        mode = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE
    except OSError:  # pragma: no cover - it was open a moment ago
        return error
    if mode == os.O_WRONLY:
        hint = "is open write-only, and every mapping reads: open it O_RDONLY or O_RDWR"
    elif mode == os.O_RDONLY and prot & _WRITE and flags & _SHARED:
        hint = (
            "is open read-only, and a shared writable mapping writes to the file: open it "
            "O_RDWR, map it without Prot.WRITE, or map it private (copy-on-write)"
        )
    else:
        return error
    return PermissionError(error.errno, f"{error.strerror}: fd={fd} {hint}")


class SoleOwner:
    """Base of the objects that own a kernel resource: copies and pickles are refused.

    A copy would be a second owner of the same mapping or descriptor (its
    finalizer would release what the original still uses), as the stdlib's
    mmap refuses too.
    """

    __slots__ = ()
    #: What to do instead, for the TypeError.
    _no_copy = "it owns a kernel resource"

    def __copy__(self) -> NoReturn:
        """Refuse: this object is the one owner of its resource."""
        raise TypeError(f"cannot copy {type(self).__name__}: {self._no_copy}")

    def __deepcopy__(self, memo: object) -> NoReturn:
        """Refuse: this object is the one owner of its resource."""
        raise TypeError(f"cannot copy {type(self).__name__}: {self._no_copy}")

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        """Refuse pickling: the resource is this process's."""
        raise TypeError(f"cannot pickle {type(self).__name__}: {self._no_copy}")


class Region(SoleOwner):
    """One memory mapping, with checked, protection-aware access.

    Create one with ``rawmmap.mmap`` (the C call's arguments),
    ``rawmmap.map_file`` or ``rawmmap.map_anonymous``. Indexing and slicing
    read and write bytes (``region[0]``, ``region[4:8] = b"abcd"``);
    ``view()`` (and ``memoryview(region)`` on Python 3.12+) gives zero-copy
    access. Methods that act on pages take ``offset`` (a multiple of the page
    size) and ``length`` (rounded up to whole pages, default: to the end).
    """

    _no_copy = "a Region is the one owner of its mapping; map the memory again, or hand out view()s"
    # Class-level defaults, so that repr(), munmap() and __del__ work on a
    # Region whose __init__ failed half-way. The attributes every access
    # reads have none: on 3.12+ an instance attribute that shadows a class
    # attribute is not specialized, and costs ~15 ns more per load or store
    # (see docs/README-bench.md). __init__ sets them first.
    _address = 0
    _length: int
    _mapped_length = 0
    _prot = 0
    _flags = 0
    _fd = -1
    _offset = 0
    _closed = True
    # Accesses that end at or before these offsets need no per-page check:
    # the region is open, its whole length has one protection, and that
    # protection allows reading (writing). -1 sends every access to the
    # full check. Kept current by _refresh.
    _fast_read: int
    _fast_write: int
    #: The size of the pages backing the mapping: huge for hugetlb.
    _granule = _PAGE_SIZE
    #: The call in progress (its name), while a method holds the lock.
    _busy: str | None
    _mapping: _Mapping | None = None
    _view: memoryview | None
    #: The same bytes as ``_view``, as a c_char array: what reads slice.
    _array: ByteArray | None
    #: The mapping's page map while the region is open, else None.
    _pagemap: PageMap | None
    # For mixed protection: an access that ends at or before ``_tabled`` (the
    # length, or -1) is checked with the page map's tables, ``_readable``
    # and ``_writable``: it may end at the reach of the page it starts in.
    # Kept current by _refresh.
    _tabled: int
    _readable: list[int]
    _writable: list[int]
    _file_identity: tuple[int, int] | None = None
    #: For shared anonymous memory: the size of the shmem object behind it.
    _shared_anonymous_size = 0
    #: Whether a page was ever sealed, or tagged with a protection key
    #: other than 0: only then do calls look for SEALED or KEY_MASK bits.
    _sealed = False
    _keyed = False

    def __init__(
        self,
        length: int,
        prot: int = _READ | _WRITE,
        flags: int = _SHARED,
        fd: int = -1,
        offset: int = 0,
        *,
        addr: int | None = None,
    ) -> None:
        """Map memory with mmap(2); see ``rawmmap.mmap``."""
        self._lock = _thread.RLock()
        self._busy = self._view = self._array = self._pagemap = None
        self._length = 0
        self._fast_read = self._fast_write = self._tabled = -1
        self._readable = self._writable = _NO_TABLE
        if _orphans:
            _poll_orphans()
        length, prot, flags, fd, offset, hint, identity, huge = _check_mmap_arguments(
            length, prot, flags, fd, offset, addr
        )
        # Every argument fits its C type (checked above): the foreign
        # function itself, without rawmmap.raw's second round of checks.
        address = _ffi.mmap(hint or None, length, prot, flags, fd, offset)
        if address == _MAP_FAILED:
            errno = _foreign.last_errno()
            error = OSError(
                errno,
                f"{os.strerror(errno)}: "
                + _cint.describe_call(
                    raw.MMAP_SYMBOL,
                    (
                        ("addr", hint),
                        ("length", length),
                        ("prot", prot),
                        ("flags", flags),
                        ("fd", fd),
                        ("offset", offset),
                    ),
                ),
            )
            if isinstance(error, PermissionError):
                raise _explain_access(error, fd, prot, flags)
            if errno == _errno.EOPNOTSUPP:
                raise OSError(
                    errno,
                    f"{os.strerror(errno)}: this kernel or file system does not support "
                    f"flags={_describe_map_flags(flags)} here (MAP_SHARED_VALIDATE makes the "
                    "kernel check every flag; MAP_SYNC needs a DAX file system)",
                )
            raise error
        address = address or 0  # 0 only with MAP_FIXED at address 0
        granule = _kernel_page_size(address, flags) if huge else _PAGE_SIZE
        mapped_length = _round_up(length, granule)
        if granule != _PAGE_SIZE and not _still_mapped(address + mapped_length - _PAGE_SIZE, 1):
            # qemu-user maps MAP_HUGETLB in guest pages: trust what is mapped.
            granule = _PAGE_SIZE  # pragma: no cover - emulators only
            mapped_length = _round_up(length)  # pragma: no cover
        if flags & _FIXED_NOREPLACE and address != hint:
            # Kernels before 4.17 do not know FIXED_NOREPLACE and take addr as a hint.
            raw.munmap(address, mapped_length)
            raise OSError(
                _errno.EEXIST,
                f"{os.strerror(_errno.EEXIST)}: this kernel placed the mapping at "
                f"{address:#x}, not at addr={hint:#x}",
            )
        try:
            mapping = _Mapping(address, PageMap(mapped_length, prot, _PAGE_SIZE, _NEEDS), self)
            if identity is not None:
                # A duplicate, as the stdlib's trackfd: growing and resizing
                # need the file after the caller closed theirs.
                mapping.fd = os.dup(fd)
                mapping.identity, mapping.file_offset = identity, offset
            _live[id(mapping)] = mapping
        except BaseException:  # pragma: no cover - MemoryError, EMFILE after mmap
            raw.munmap(address, mapped_length)
            raise
        if flags & _ANONYMOUS and flags & _SHARED:
            self._shared_anonymous_size = mapped_length
        self._install(mapping, length, granule, prot, flags & 0xFFFFFFFF, fd, offset)

    def _install(
        self,
        mapping: _Mapping,
        length: int,
        granule: int,
        prot: int,
        flags: int,
        fd: int,
        offset: int,
    ) -> None:
        """Make this Region the owner of ``mapping`` (mapped already)."""
        self._mapping = mapping
        self._address = mapping.address
        self._length = length
        self._mapped_length = mapping.pages.size
        self._granule = granule
        self._prot = prot
        self._flags = flags
        self._fd = fd
        self._offset = offset
        self._file_identity = mapping.identity
        self._view, self._array = _foreign.mapping_views(mapping.address, mapping.pages.size)
        self._pagemap = mapping.pages
        self._closed = False
        self._refresh()

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
    def mapped_length(self) -> int:
        """The length of the mapping: ``length`` rounded up to whole pages."""
        return self._mapped_length

    @property
    def page_size(self) -> int:
        """The size of the pages backing the mapping.

        The system page size, or the huge page size of a hugetlb mapping
        (``MapFlag.HUGETLB``, or a file on hugetlbfs such as a
        ``MemfdFlag.HUGETLB`` memfd): page calls take offsets that are
        multiples of it, and round lengths up to it.
        """
        return self._granule

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
        """How many buffers exported by ``view()`` (or ``memoryview(region)``) are alive."""
        mapping = self._mapping
        return 0 if mapping is None else mapping.prune()

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
        """Unmap the region (of a sealed one, the pages that are not sealed)."""
        if self._sealed:
            self._release()
        else:
            self.munmap()

    def _release(self) -> None:
        """Unmap every page that is not sealed, and close the Region.

        Sealed pages stay mapped until the process exits; the Region lets go
        of them (a view of them stays valid).
        """
        if self._closed:
            return
        previous = self._begin("munmap", destructive=True)
        try:
            if self._closed:
                return
            mapping = self._mapping
            assert mapping is not None
            pages = mapping.pages

            unsealed = [
                (run_start, run_stop)
                for run_start, run_stop, state in pages.runs(0, pages.size)
                if state is not None and not state & SEALED
            ]
            for run_start, run_stop in unsealed:
                self._check_exports(run_start, run_stop, "unmap")
            for run_start, run_stop in unsealed:
                raw.munmap(self._address + run_start, run_stop - run_start)
            pages.assign(0, pages.size, None)
            self._view = None
            self._close()
        finally:
            self._end(previous)

    def __del__(self) -> None:
        """Unmap a Region dropped while mapped, warning with ResourceWarning.

        While a view of it is alive the mapping stays, and is unmapped at
        the first poll after the last view is gone (a later Region call or
        the end of a garbage collection).
        """
        if self._closed or sys.is_finalizing():
            return
        mapping = self._mapping
        if mapping is not None and self._sealed and not self._unsealed_pages():
            # Nothing could have been unmapped: no warning, and no poll either.
            self._close()
            return
        if mapping is not None:
            # Before the warning, which a filter may turn into an error.
            _orphans[id(mapping)] = mapping
            _poll_orphans()
            if id(mapping) not in _live:
                self._close()  # resurrected later, it says so instead of faulting
        import warnings

        warnings.warn(
            f"unclosed {self!r}: call munmap() or use a with block",
            ResourceWarning,
            stacklevel=2,
        )

    # ------------------------------------------------------------ the call guard

    def _begin(self, call: str, destructive: bool = False) -> str | None:
        """Take the lock and record ``call`` as in progress; return the call it nests in.

        The lock is reentrant, so code that runs in this thread in the middle
        of a call (a signal handler, a finalizer, a trace hook, an
        argument's callback) gets in; it may read and write, but a call that
        would take memory away from the call in progress is refused.
        """
        lock = self._lock
        # The accessors (read, write, indexing) hold the lock without
        # recording their name, which would cost each of them three
        # attribute accesses: held by this thread already with no name
        # recorded, it is one of them.
        nested = lock._is_owned()  # type: ignore[attr-defined]  # C RLock, 3.2+
        lock.acquire()
        previous = self._busy
        if previous is None and nested:
            previous = _ACCESS
        if destructive and previous is not None:
            lock.release()
            raise RuntimeError(
                f"cannot {call} while {previous}() is in progress on this Region in the same "
                "thread (called from a signal handler, a finalizer, a trace hook or an "
                "argument's callback); it would pull the memory from under it"
            )
        self._busy = call
        return previous

    def _end(self, previous: str | None) -> None:
        self._busy = None if previous is _ACCESS else previous
        self._lock.release()

    def _on_pages(
        self, call: str, offset: int, length: int | None, syscall: Callable[[int, int], _T]
    ) -> _T:
        """The one page-call path: guard, check open, range and holes, then call.

        ``syscall`` gets the address and the page-rounded length; it runs
        under the lock, after every check.
        """
        previous = self._begin(call)
        try:
            start, stop = self._page_range(offset, length)
            self._check_mapped(start, stop, call)
            return syscall(self._address + start, stop - start)
        finally:
            self._end(previous)

    # ------------------------------------------------------------ checks

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("the region is unmapped")

    def _byte_range(self, offset: object, length: object, tail: bool = False) -> tuple[int, int]:
        """Convert and check a byte range inside the region; return (start, stop).

        With ``tail``, the range may reach the end of the last page (the
        bytes past ``length`` that the mapping has too). Checked again under
        the lock (the region may have shrunk since).
        """
        limit = self._mapped_length if tail else self._length
        # An exact int needs no conversion: skip _index (the common case).
        start = offset if type(offset) is int else _index("offset", offset)
        if length is None:
            stop = limit
        else:
            count = length if type(length) is int else _index("length", length)
            if count < 0:
                raise ValueError(f"length must not be negative, not {count}")
            stop = start + count
        if start < 0 or start > limit or stop > limit:
            if length is None:
                raise IndexError(f"offset={start} is outside the region [0, {limit})")
            raise IndexError(
                f"offset={start}, length={stop - start}: range [{start}, {stop}) is outside "
                f"the region [0, {limit})"
                + (
                    ""
                    if tail or stop > self._mapped_length
                    else " (tail=True reaches the last page's end)"
                )
            )
        return start, stop

    def _page_range(self, start: int, length: int | None) -> tuple[int, int]:
        """Check a page call's range under the lock; return (start, stop), stop page-rounded."""
        self._check_open()
        start, stop = self._byte_range(start, length)
        granule = self._granule
        if start % granule:
            raise ValueError(
                f"offset={start} is not a multiple of the "
                + (
                    f"page size ({granule})"
                    if granule == _PAGE_SIZE
                    else f"huge page size ({granule})"
                )
            )
        if stop == start:
            raise ValueError("length must be positive")
        return start, min(_round_up(stop, granule), self._mapped_length)

    def _pages(self) -> PageMap:
        mapping = self._mapping
        assert mapping is not None  # open regions have one
        return mapping.pages

    def _check_access(
        self, start: int, stop: int, need: int, action: str, tail: bool = False
    ) -> None:
        """Raise unless the region is open and every page of [start, stop) allows ``need``.

        An empty range touches no page: only the open check applies.
        """
        pages = self._pagemap  # None once unmapped
        if (
            pages is not None
            and start < stop <= (self._mapped_length if tail else self._length)
            and stop <= pages.size  # in the middle of a shrink, the map is shorter
        ):
            # The common case, without a call: one run holds the whole range
            # (a bisect, whatever the number of runs) and allows ``need`` with no
            # key whose rights would need asking.
            starts = pages.starts
            after = bisect_right(starts, start)
            if after == len(starts) or stop <= starts[after]:
                state = pages.states[after - 1]
                if state is not None and state & (need | GUARD | KEY_MASK) == need:
                    return
        self._check_open()
        if self._view is None:
            raise ValueError(f"cannot {action}: the region is moving (mremap in progress)")
        if stop <= start:
            return
        # The range was checked before the lock was taken; another thread's
        # mremap may have shrunk the region since, or the shrink this thread
        # is in the middle of (a trace hook, a signal handler).
        limit = min(self._mapped_length if tail else self._length, self._pages().size)
        if stop > limit:
            raise IndexError(f"range [{start}, {stop}) is outside the region [0, {limit})")
        denied = self._pages().first_denied(start, stop, need)
        if denied is None:
            if self._keyed:  # pragma: no cover - needs protection keys (tests/test_region_pkeys.py)
                self._check_keys(start, stop, need, action)
            return
        run_start, run_stop, state = denied
        if state is None:
            raise ValueError(f"cannot {action}: bytes [{run_start}, {run_stop}) are unmapped")
        raise ProtectionError(
            f"cannot {action} [{start}, {stop}): bytes [{run_start}, {run_stop}) "
            f"are {_describe_state(state)}"
        )

    def _unsealed_pages(self) -> bool:
        pages = self._pages()
        return any(
            state is not None and not state & SEALED for _, _, state in pages.runs(0, pages.size)
        )

    def _check_unsealed(self, start: int, stop: int, action: str) -> None:
        """Raise SealedError if a page of [start, stop) is sealed."""
        if not self._sealed:
            return
        for run_start, run_stop, state in self._pages().runs(start, stop):
            if state is not None and state & SEALED:
                raise SealedError(action, run_start, run_stop)

    def _check_keys(
        self, start: int, stop: int, need: int, action: str
    ) -> None:  # pragma: no cover - needs protection keys (tests/test_region_pkeys.py)
        """Raise ProtectionError if this thread's rights for a page's key deny ``need``."""
        for run_start, run_stop, state in self._pages().runs(start, stop):
            key = _key_of(state)
            if key and _rights_deny(key, need):
                raise ProtectionError(
                    f"cannot {action} [{start}, {stop}): bytes [{run_start}, {run_stop}) are "
                    + _describe_rights(key, need)
                )

    def _check_mapped(self, start: int, stop: int, action: str) -> None:
        """Raise ValueError if a page of [start, stop) was unmapped.

        After a partial munmap the kernel may place a later mapping (another
        Region's, or the interpreter's own) in the hole: a call over the
        hole would act on that mapping (madvise DONTNEED would zero it,
        mremap would move or shrink it).
        """
        hole = self._pages().first_unmapped(start, stop)
        if hole is not None:
            raise ValueError(f"cannot {action}: bytes [{hole[0]}, {hole[1]}) are unmapped")

    def _check_exports(self, start: int, stop: int, action: str, removed: int = -1) -> None:
        """Raise BufferError if an exported view over [start, stop) would lose access.

        ``removed`` is the protection bits the call takes away (-1: all, the
        memory itself). A read-only view does not mind losing WRITE.
        """
        mapping = self._mapping
        if mapping is None or not mapping.prune():
            return
        for entry in list(mapping.exports.values()):
            # Never a local name for the lease itself: a traceback that keeps
            # this frame would count as a holder of it.
            view_start, view_stop, writable = entry[0], entry[1], entry[2]
            if not (view_start < stop and start < view_stop):
                continue  # an empty view touches no page
            lost = removed & (_READ | _WRITE) if writable else removed & _READ
            if lost:
                raise BufferError(
                    f"cannot {action}: {len(mapping.exports)} exported buffer(s) of the "
                    f"region are alive, one over bytes [{view_start}, {view_stop}); "
                    "release them first"
                )

    def _refresh(self) -> None:
        """Recompute the fast-path limits after the protection, length or state changed."""
        mapping = self._mapping
        tables = None if self._closed or mapping is None else mapping.pages.tables
        self._readable, self._writable = (_NO_TABLE, _NO_TABLE) if tables is None else tables
        self._tabled = -1 if tables is None else self._length
        if self._closed or mapping is None or not mapping.pages.uniform():
            self._fast_read = self._fast_write = -1
            return
        state = mapping.pages.states[0]
        if state is not None and state & (GUARD | KEY_MASK):
            state = None  # every access checks guards and this thread's key rights
        self._fast_read = self._length if state is not None and state & _READ else -1
        self._fast_write = self._length if state is not None and state & _WRITE else -1

    def _close(self) -> None:
        """Mark the region unmapped (its pages already are)."""
        # The fast paths close first: an access in between takes the checks.
        self._fast_read = self._fast_write = self._tabled = -1
        self._closed = True
        self._view = self._array = self._pagemap = None
        self._readable = self._writable = _NO_TABLE
        mapping = self._mapping
        if mapping is not None:
            _live.pop(id(mapping), None)
            _close_fd(mapping)

    def protection(self, offset: int = 0) -> Prot | None:
        """Return the current protection of the page holding byte ``offset``.

        Args:
            offset: any byte of the page (default 0).

        Returns:
            The Prot of that page, or None where it was unmapped.

        Raises:
            IndexError: ``offset`` is outside the region.
            ValueError: the region is unmapped.
        """
        state = self._state_at("protection", offset)
        from rawmmap.flags import Prot

        return None if state is None else Prot(state & PROT_MASK)

    # ------------------------------------------------------------ access

    if TYPE_CHECKING:

        @overload
        def __getitem__(self, index: int) -> int: ...

        @overload
        def __getitem__(self, index: slice) -> bytes: ...

    def __getitem__(self, index: int | slice) -> int | bytes:
        """Read one byte (an int) or a slice (bytes), like ``bytes``."""
        # Exact ints and step-1 slices of exact ints in range are converted
        # inline (nothing there can run Python code); anything else takes
        # _position or _slice_span, which call __index__ before the lock.
        size = self._length
        if type(index) is int:
            position = index + size if index < 0 else index
            if 0 <= position < size:
                lock = self._lock
                lock.acquire()
                try:
                    # Mixed protection: the page map's table, else the full check.
                    if position >= self._fast_read and (
                        position >= self._tabled
                        or position >= self._readable[position >> _PAGE_SHIFT]
                    ):
                        self._check_access(position, position + 1, _READ, "read")
                    return self._view[position]  # type: ignore[index]
                finally:
                    lock.release()
            position = self._position(index)  # raises IndexError
        if type(index) is slice:
            low, high = index.start, index.stop
            if not (
                index.step is None
                and type(low) is int
                and type(high) is int
                and 0 <= low <= high <= size
            ):
                low, high, step = _slice_span(index, size)
                if step != 1:
                    return self._read_strided(low, high, step)
            lock = self._lock
            lock.acquire()
            try:
                if high > self._fast_read and (
                    high > self._tabled or high > self._readable[low >> _PAGE_SHIFT]
                ):
                    self._check_access(low, high, _READ, "read")
                return self._array[low:high]  # type: ignore[index]
            finally:
                lock.release()
        # slice cannot be subclassed: anything else is an index to convert.
        position = self._position(index)
        lock = self._lock
        lock.acquire()
        try:
            self._check_access(position, position + 1, _READ, "read")
            return self._view[position]  # type: ignore[index]
        finally:
            lock.release()

    def _read_strided(self, low: int, high: int, step: int) -> bytes:
        """``region[a:b:step]`` for a step other than 1, bytes [low, high) touched."""
        lock = self._lock
        lock.acquire()
        try:
            self._check_access(low, high, _READ, "read")
            view = self._view
            assert view is not None
            return view[low:high][::step].tobytes()
        finally:
            lock.release()

    def _position(self, index: object) -> int:
        """Convert and check one byte's index (negative from the end)."""
        position = index if type(index) is int else _index("index", index)
        if position < 0:
            position += self._length
        if not 0 <= position < self._length:
            raise IndexError(f"index {index} is outside the region [0, {self._length})")
        return position

    def __setitem__(self, index: int | slice, value: object) -> None:
        """Write one byte (an int in 0..255) or a slice (same length)."""
        if type(index) is slice and type(value) is bytes:
            # The common case, checked inline: a step-1 slice of exact ints
            # in range and bytes of its length (nothing here runs Python
            # code). Anything else, errors included, takes the general path.
            low, high = index.start, index.stop
            if (
                index.step is None
                and type(low) is int
                and type(high) is int
                and 0 <= low <= high <= self._length
                and high - low == len(value)
            ):
                lock = self._lock
                lock.acquire()
                try:
                    # Mixed protection: the page map's table, else the full check.
                    if high > self._fast_write and (
                        high > self._tabled or high > self._writable[low >> _PAGE_SHIFT]
                    ):
                        self._check_access(low, high, _WRITE, "write")
                    self._view[low:high] = value  # type: ignore[index]
                finally:
                    lock.release()
                return
        if (
            type(index) is int
            and type(value) is int
            and 0 <= index < self._length
            and 0 <= value <= 255
        ):
            # One byte at an exact int index in range, checked inline.
            lock = self._lock
            lock.acquire()
            try:
                if index >= self._fast_write and (
                    index >= self._tabled or index >= self._writable[index >> _PAGE_SHIFT]
                ):
                    self._check_access(index, index + 1, _WRITE, "write")
                self._view[index] = value  # type: ignore[index]
            finally:
                lock.release()
            return
        self._assign(index, value)

    def _assign(self, index: int | slice, value: object) -> None:
        """``__setitem__``'s general path: any index, slice and bytes-like value."""
        data: bytes | memoryview | int
        size = self._length
        if isinstance(index, slice):
            low, high, step = _slice_span(index, size)
            if type(value) is bytes:  # already a flat 'B' buffer
                data, count = value, len(value)
            else:
                data = _bytes_view("value", value)
                count = data.nbytes
            expected = high - low if step == 1 else len(range(low, high, abs(step)))
            if count != expected:
                # IndexError, as the stdlib mmap says it ("mmap slice
                # assignment is wrong size"): ported code catches that.
                raise IndexError(
                    f"Region slice assignment is wrong size: value has {count} bytes; "
                    f"the slice has {expected}"
                )
            position = -1
        else:
            # An exact int in range needs no conversion.
            position = index if type(index) is int and 0 <= index < size else self._position(index)
            data = value if type(value) is int else _index("value", value)
            if not 0 <= data <= 255:
                raise ValueError(f"a byte must be in 0..255, not {data}")
            low, high, step = position, position + 1, 1
        lock = self._lock
        lock.acquire()
        try:
            if high > self._fast_write:
                self._check_access(low, high, _WRITE, "write")
            view = self._view
            assert view is not None
            if position >= 0:
                view[position] = data  # type: ignore[assignment]
            elif step == 1:
                view[low:high] = data  # type: ignore[assignment]
            else:
                view[low:high][::step] = data  # type: ignore[assignment]
        finally:
            lock.release()

    def __delitem__(self, index: int | slice) -> None:
        """Refuse: a mapping has a fixed size (TypeError, as for the stdlib mmap)."""
        raise TypeError("Region object doesn't support item deletion")

    def find(self, sub: Buffer, start: int | None = None, end: int | None = None) -> int:
        """Return the lowest offset of ``sub`` in ``[start, end)``, or -1 (like ``bytes.find``).

        ``start`` and ``end`` are read as in slice notation (negative from the
        end). The search reads pages in order and never touches a byte past
        ``end``; if it would have to read a page the protection forbids
        before it found ``sub``, it raises instead of faulting.

        Raises:
            ProtectionError: a page the search must read is not readable.
            ValueError: the region (or a page the search must read) is unmapped.
            TypeError: ``sub`` is not bytes-like.
        """
        return self._search(sub, start, end, reverse=False)

    def rfind(self, sub: Buffer, start: int | None = None, end: int | None = None) -> int:
        """Return the highest offset of ``sub`` in ``[start, end)``, or -1 (like ``bytes.rfind``).

        Reads pages from ``end`` down; see ``find`` for the protection rules.
        """
        return self._search(sub, start, end, reverse=True)

    def _search(self, sub: object, start: object, end: object, reverse: bool) -> int:
        needle = _bytes_view("sub", sub).tobytes()
        size = self._length
        # As bytes.find reads them (CPython's ADJUST_INDICES): end is clipped
        # to the length, a start past it finds nothing, not even b"".
        low = 0 if start is None else _index("start", start)
        high = size if end is None else _index("end", end)
        high = min(high, size) if high >= 0 else max(high + size, 0)
        low = low if low >= 0 else max(low + size, 0)
        if high - low < len(needle):
            return -1
        previous = self._begin("rfind" if reverse else "find")
        try:
            self._check_open()
            high = min(high, self._length)  # another thread may have shrunk it
            pages = self._pages()
            denied = [
                run
                for run in pages.runs(low, high)
                if run[2] is None
                or run[2] & (_READ | GUARD) != _READ
                or (self._keyed and _key_of(run[2]) and _rights_deny(_key_of(run[2]), _READ))
            ]

            if reverse:
                limit = denied[-1][1] if denied else low
                found = self._scan(needle, max(limit, low), high, reverse=True)
            else:
                limit = denied[0][0] if denied else high
                found = self._scan(needle, low, min(limit, high), reverse=False)
            if found >= 0 or not denied:
                return found
            run_start, run_stop, state = denied[-1] if reverse else denied[0]
            if state is None:
                raise ValueError(f"cannot search: bytes [{run_start}, {run_stop}) are unmapped")
            readable = state & (_READ | GUARD) == _READ
            raise ProtectionError(
                f"cannot search [{low}, {high}): bytes [{run_start}, {run_stop}) are "
                + (_describe_rights(_key_of(state), _READ) if readable else _describe_state(state))
            )

        finally:
            self._end(previous)

    #: Bytes copied per step of a search: large enough for bytes.find to set
    #: the pace, small enough not to copy a whole large region at once.
    _SEARCH_CHUNK = 1 << 20

    def _scan(self, needle: bytes, low: int, high: int, reverse: bool) -> int:
        """Search readable bytes [low, high) chunk by chunk (under the lock).

        Consecutive chunks overlap by ``len(needle) - 1`` bytes, so a match
        across a chunk boundary is found; no byte outside [low, high) is read.
        """
        view = self._view
        assert view is not None
        if high - low < len(needle):
            return -1
        overlap = max(len(needle) - 1, 0)
        step = self._SEARCH_CHUNK
        if reverse:
            return self._scan_down(view, needle, low, high, step, overlap)
        position = low
        while True:
            stop = min(position + step + overlap, high)
            found = view[position:stop].tobytes().find(needle)
            if found >= 0:
                return position + found
            if stop >= high:
                return -1
            position = stop - overlap

    @staticmethod
    def _scan_down(
        view: memoryview, needle: bytes, low: int, high: int, step: int, overlap: int
    ) -> int:
        position = high
        while True:
            begin = max(position - step - overlap, low)
            found = view[begin:position].tobytes().rfind(needle)
            if found >= 0:
                return begin + found
            if begin <= low:
                return -1
            position = begin + overlap

    def read(self, offset: int = 0, length: int | None = None, tail: bool = False) -> bytes:
        """Return a copy of ``length`` bytes at ``offset`` (default: to the end).

        Args:
            offset: first byte (default 0).
            length: bytes (default: to the end of the region).
            tail: let the range reach ``mapped_length``, the end of the last
                page: past the end of a file the kernel fills it with zeros,
                and stores there never reach the file (mmap(2)). Best
                given by keyword; it is not keyword-only because CPython
                3.11 to 3.13 do not specialize calls to a method that has
                keyword-only parameters (measured: ~20 ns, 8% of a read).

        Raises:
            IndexError: the range is outside the region.
            ProtectionError: a page of the range is not readable.
            ValueError: the region is unmapped.
        """
        if type(offset) is int and type(length) is int and tail is False:
            # Exact ints in range need no conversion: check them inline.
            start, stop = offset, offset + length
            if start < 0 or length < 0 or stop > self._length:
                start, stop = self._byte_range(offset, length)  # raises
        else:
            if tail is not False:
                tail = bool(tail)  # __bool__ runs here, before the lock, once
            start, stop = self._byte_range(offset, length, tail)
        lock = self._lock
        lock.acquire()
        try:
            # One protection: _fast_read. Mixed: the page map's table (up to
            # two pages, by the reach of the first). Else the full check.
            if stop > self._fast_read and (
                stop > self._tabled or stop > self._readable[start >> _PAGE_SHIFT]
            ):
                self._check_access(start, stop, _READ, "read", tail)
            # Open (checked): _array is set. A c_char slice is one copy.
            return self._array[start:stop]  # type: ignore[index]
        finally:
            lock.release()

    def write(self, offset: int, data: Buffer, tail: bool = False) -> int:
        """Copy ``data`` (any bytes-like object) to ``offset``; return its length.

        Args:
            offset: first byte to write.
            data: bytes, bytearray, memoryview or any buffer.
            tail: let the data reach ``mapped_length`` (see ``read``).

        Raises:
            IndexError: the data would run past the end of the region.
            ProtectionError: a page of the range is not writable.
            TypeError: ``data`` is not bytes-like.
            ValueError: the region is unmapped.
        """
        if type(data) is bytes and type(offset) is int and tail is False:
            # The common case, checked inline: bytes (a flat 'B' buffer
            # already) at an exact int offset, nothing to convert. Under the
            # lock, one comparison is both the bounds and the protection
            # check (_fast_write is the length where every page is
            # writable, -1 otherwise); mixed protection asks the page map's
            # table (up to two pages, by the reach of the first). Anything
            # else, errors included, takes _write.
            stop = offset + len(data)
            lock = self._lock
            lock.acquire()
            try:
                if offset >= 0 and (
                    stop <= self._fast_write
                    or (stop <= self._tabled and stop <= self._writable[offset >> _PAGE_SHIFT])
                ):
                    self._view[offset:stop] = data  # type: ignore[index]  # open: set
                    return stop - offset
            finally:
                lock.release()
        return self._write(offset, data, tail)

    def _write(self, offset: int, data: Buffer, tail: bool) -> int:
        """``write``'s general path: any offset, bytes-like data and ``tail``."""
        # Anything not bytes is cast to a flat 'B' view.
        source = data if type(data) is bytes else _bytes_view("data", data)
        if tail is not False:
            tail = bool(tail)  # __bool__ runs here, before the lock, once
        start, stop = self._byte_range(offset, len(source), tail)
        lock = self._lock
        lock.acquire()
        try:
            if stop > self._fast_write:
                self._check_access(start, stop, _WRITE, "write", tail)
            self._view[start:stop] = source  # type: ignore[index]  # open: set
        finally:
            lock.release()
        return stop - start

    def view(
        self,
        offset: int = 0,
        length: int | None = None,
        *,
        readonly: bool | None = None,
        tail: bool = False,
    ) -> memoryview:
        """Return a zero-copy memoryview (format ``'B'``) of a byte range.

        The view reaches exactly these bytes: its ``.obj`` is None, and no
        slice, cast or ``memoryview()`` of it reaches further or gains
        write access. While it, or any view made from it, is alive,
        ``munmap`` of its pages, ``mremap`` and an ``mprotect`` that takes
        away an access it has raise BufferError, and the mapping stays
        mapped even if the Region is dropped. Release it with
        ``view.release()`` or a ``with`` block.

        Args:
            offset: first byte.
            length: bytes (default: to the end of the region).
            readonly: True for a read-only view; False to require a
                writable one; None (default) for writable where every page
                of the range is writable.
            tail: let the view reach ``mapped_length`` (see ``read``).

        Raises:
            IndexError: the range is outside the region.
            ProtectionError: a page is not readable, or ``readonly=False``
                and a page is not writable.
            ValueError: the region, or a page of the range, is unmapped,
                or a page was advised DONTFORK (a forked child would fault
                on the view).
        """
        # bool() may call __bool__: before any check.
        reach = bool(tail)
        start, stop = self._byte_range(offset, length, reach)
        wanted = None if readonly is None else bool(readonly)
        previous = self._begin("view")
        try:
            self._check_access(start, stop, _READ, "view", reach)
            pages = self._pages()
            writable = wanted is not True and pages.first_denied(start, stop, _WRITE) is None
            if wanted is False and not writable:
                self._check_access(start, stop, _WRITE, "write through a view of", reach)
            if pages.any_flag(start, stop, DONTFORK):
                raise ValueError(
                    f"cannot view [{start}, {stop}): pages there were advised DONTFORK, and a "
                    "view of them would fault in a forked child; copy with read() instead"
                )
            if self._keyed and pages.any_flag(
                start, stop, KEY_MASK
            ):  # pragma: no cover - needs protection keys (tests/test_region_pkeys.py)
                raise ValueError(
                    f"cannot view [{start}, {stop}): pages there carry a protection key, "
                    "whose rights are per thread and may change at any time, so a view could "
                    "fault; read() and write() check the calling thread's rights instead"
                )
            mapping = self._mapping
            assert mapping is not None
            lease = _foreign.new_lease()
            view = _foreign.leased_view(self._address + start, stop - start, writable, lease)
            mapping.exports[id(lease)] = (start, stop, writable, lease)
        finally:
            self._end(previous)
        return view

    if sys.version_info >= (3, 12):

        def __buffer__(self, flags: int) -> memoryview:
            """Export the whole region (PEP 688): ``memoryview(region)``."""
            writable_requested = bool(flags & 1)  # inspect.BufferFlags.WRITABLE
            return self.view(readonly=False if writable_requested else None)

    # ------------------------------------------------------------ page calls

    def munmap(self, offset: int = 0, length: int | None = None) -> None:
        """Unmap the region, or a page range of it, with munmap(2).

        Unmapping the whole region is idempotent. After a partial unmap the
        bytes there are gone: accesses raise ValueError, and page calls over
        them raise ValueError too (the kernel may reuse the addresses).

        Args:
            offset: first byte of the range, a multiple of the page size
                (default 0).
            length: bytes, rounded up to whole pages (default: to the end of
                the region).

        Raises:
            BufferError: a view over the range is alive.
            RuntimeError: called from inside another call on this Region
                (a signal handler, a finalizer, a trace hook).
            IndexError, ValueError: the range is outside the region or not
                page-aligned.
        """
        if length is None and type(offset) is int and offset == 0:
            start, count = 0, None  # the whole region (the common case)
        else:
            start, count = _convert_range(offset, length)
        if _orphans:
            _poll_orphans()
        if self._closed:
            return
        previous = self._begin("munmap", destructive=True)
        try:
            if self._closed:
                return
            whole = start == 0 and count is None
            start, stop = (0, self._mapped_length) if whole else self._page_range(start, count)
            self._check_unsealed(start, stop, "unmap")
            mapping = self._mapping
            assert mapping is not None
            if mapping.exports:  # none exported, none to prune
                self._check_exports(start, stop, "unmap")
            pages = mapping.pages
            # Only the runs still mapped: a hole left by an earlier partial
            # munmap may hold another mapping by now.
            runs = pages.runs(start, stop)
            # The map forgets the pages, and the fast paths close, before the
            # kernel unmaps them: an access from a signal handler or a trace
            # hook in between finds them unmapped, and does not fault.
            everything = (start, stop) == (0, self._mapped_length)
            if everything:
                pages.clear()
                self._fast_read = self._fast_write = self._tabled = -1
            else:
                pages.assign(start, stop, None)
                self._refresh()
            self._unmap_forgotten(runs, "unmap")
            if everything or not pages.mapped():
                self._close()
        finally:
            self._end(previous)

    def _learn_seals(self, start: int, stop: int) -> None:
        """Record the pages of [start, stop) that smaps shows sealed ("sl")."""
        from rawmmap import pagestate

        try:
            areas = pagestate.smaps(self._address + start, stop - start)
        except OSError:  # pragma: no cover - no /proc: the error says enough
            return
        for area in areas:
            if "sl" in area.vm_flags:
                low = max(area.start - self._address, start)
                high = min(area.end - self._address, stop)
                self._pages().set_flag(low, high, SEALED, True)
                self._sealed = True

    def _unmap_forgotten(self, runs: list[tuple[int, int, int | None]], action: str) -> None:
        """munmap the ``runs`` that were mapped; the page map has forgotten them already.

        A run the kernel refuses with EPERM was sealed behind Region's back
        (``raw.mseal``). munmap(2) is atomic, so it and the runs after it
        are still mapped: they are put back in the map, the sealed pages
        among them recorded (from smaps), and SealedError says so.
        """
        pages = self._pages()
        address = self._address
        for index, (run_start, run_stop, state) in enumerate(runs):
            if state is None:
                continue
            try:
                _munmap(address + run_start, run_stop - run_start)
            except PermissionError as error:
                if error.errno != _errno.EPERM:  # pragma: no cover - munmap says EPERM only
                    raise
                for later_start, later_stop, later_state in runs[index:]:
                    pages.assign(later_start, later_stop, later_state)
                self._learn_seals(run_start, run_stop)
                self._refresh()
                raise SealedError(action, run_start, run_stop) from error

    def msync(self, flags: int = _MS_SYNC, offset: int = 0, length: int | None = None) -> None:
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
        start, count = _convert_range(offset, length)
        self._on_pages("msync", start, count, lambda a, n: raw.msync(a, n, flags))

    def mprotect(self, prot: int, offset: int = 0, length: int | None = None) -> None:
        """Change the protection of the region, or a page range, with mprotect(2).

        Args:
            prot: the new ``Prot`` bits.
            offset: first byte of the range, a multiple of the page size
                (default 0).
            length: bytes, rounded up to whole pages (default: to the end of
                the region).

        Raises:
            BufferError: the change takes away an access that a live view
                over the range has (READ from any view, WRITE from a
                writable one).
            RuntimeError: a call that takes a permission away, from inside
                another call on this Region.
            PermissionError: EACCES, e.g. WRITE on a shared mapping of a file
                opened read-only.
            ValueError: unknown bits, GROWSDOWN/GROWSUP (they change pages
                outside the range: use ``rawmmap.raw.mprotect``), or part of
                the range is unmapped.
        """
        self._protect("mprotect", prot, -1, offset, length)

    def pkey_mprotect(
        self, prot: int, pkey: int, offset: int = 0, length: int | None = None
    ) -> None:
        """Change the protection of a page range and tag it with a protection key.

        pkey_mprotect(2) (Linux 4.9, on CPUs with protection keys: x86 PKU,
        POWER, arm64 POE). Each thread has its own rights for each key
        (``set_pkey_rights``); Region reads the calling thread's rights at
        every access to tagged pages, so an access they deny raises
        ProtectionError instead of SIGSEGV, and views of tagged pages are
        refused (another thread, or a later change of rights, could make
        them fault). Key 0 is the default key; -1 changes the protection
        only, as mprotect.

        Args:
            prot: the new ``Prot`` bits.
            pkey: a key from ``rawmmap.raw.pkey_alloc``, 0, or -1.
            offset: first byte of the range, a multiple of the page size
                (default 0).
            length: bytes, rounded up to whole pages (default: to the end of
                the region).

        Raises:
            BufferError: a live view covers the range (and pkey is not -1),
                or the change takes away an access a view has.
            NotImplementedError: the C library has no pkey_get, so Region
                could not read a thread's rights (``raw.HAS_PKEY_RIGHTS``).
            OSError: EINVAL for a key that is not allocated, or where the
                CPU or kernel has no protection keys.
            RuntimeError: from inside another call on this Region.
            SealedError: a page of the range is sealed.
            ValueError: as for ``mprotect``.
        """
        key = _index("pkey", pkey)
        if key < -1:
            raise ValueError(f"pkey must be an allocated key, 0 or -1, not {key}")
        if key > 0 and not raw.HAS_PKEY_RIGHTS:
            raise NotImplementedError(
                "this C library has no pkey_get: Region could not check a thread's rights "
                "for the key; use rawmmap.raw.pkey_mprotect"
            )
        self._protect("pkey_mprotect", prot, key, offset, length)

    def _protect(self, call: str, prot: object, key: int, offset: object, length: object) -> None:
        """mprotect (key -1) or pkey_mprotect, under the guard."""
        prot = _check_prot(call, prot)
        start, count = _convert_range(offset, length)
        previous = self._begin(call)
        try:
            start, stop = self._page_range(start, count)
            pages = self._pages()
            self._check_mapped(start, stop, call)
            self._check_unsealed(start, stop, call)
            removed = 0
            runs = pages.runs(start, stop)
            for _, _, state in runs:
                removed |= (state or 0) & PROT_MASK & ~prot
            if key > 0:
                removed |= _READ | _WRITE  # the rights may deny anything
            if removed & (_READ | _WRITE):
                if previous is not None:
                    raise RuntimeError(
                        f"cannot take a permission away with {call} while {previous}() is in "
                        "progress on this Region in the same thread"
                    )
                self._check_exports(start, stop, "remove a permission", removed)
            if removed:
                # The map loses the bits before the kernel does: an access
                # from a signal handler or a trace hook in between is
                # refused, and does not fault.
                pages.update(start, stop, lambda state: None if state is None else state & ~removed)
                self._refresh()
            try:
                if key < 0:
                    raw.mprotect(self._address + start, stop - start, prot)
                else:  # pragma: no cover - needs protection keys (tests/test_region_pkeys.py)
                    raw.pkey_mprotect(self._address + start, stop - start, prot, key)
            except BaseException:
                for run_start, run_stop, state in runs:
                    pages.assign(run_start, run_stop, state)
                self._refresh()
                raise
            if key >= 0:  # pragma: no cover - needs protection keys (tests/test_region_pkeys.py)
                pages.set_key(start, stop, key)
                self._keyed = self._keyed or key > 0
            pages.set_prot(start, stop, prot)
            self._refresh()
        finally:
            self._end(previous)

    def madvise(self, advice: int, offset: int = 0, length: int | None = None) -> None:
        """Advise the kernel how the region, or a page range, will be used (madvise(2)).

        Advice such as DONTNEED discards data (anonymous and private pages
        read back as zero); that is the kernel's documented behaviour.
        DONTFORK is recorded: in a forked child those pages are unmapped,
        and views of them are refused.

        Args:
            advice: an ``Advice`` code.
            offset: first byte of the range, a multiple of the page size
                (default 0).
            length: bytes, rounded up to whole pages (default: to the end of
                the region).

        Raises:
            BufferError: DONTFORK over pages a live view covers.
            ValueError: HWPOISON or SOFT_OFFLINE, which make accesses fault
                (use ``rawmmap.raw.madvise``). GUARD_INSTALL and GUARD_REMOVE
                are ``guard`` and ``unguard``.
            OSError: EINVAL where the kernel does not know the advice.
        """
        advice = _index("advice", advice)
        if advice is not None and advice in (_GUARD_INSTALL, _GUARD_REMOVE):
            self._guard(advice == _GUARD_INSTALL, offset, length)
            return
        if advice in _REFUSED_ADVICE:
            raise ValueError(
                f"Advice.{_REFUSED_ADVICE[advice]} makes accesses fault; "
                "Region refuses it (rawmmap.raw.madvise passes it on)"
            )
        start, count = _convert_range(offset, length)
        previous = self._begin("madvise")
        try:
            start, stop = self._page_range(start, count)
            self._check_mapped(start, stop, "madvise")
            self._check_discard(start, stop, advice, "madvise")
            if advice == _DONTFORK:
                self._check_exports(start, stop, "advise DONTFORK")
            self._advise(start, stop, advice, "madvise")
            if advice in (_DONTFORK, _DOFORK):
                self._pages().set_flag(start, stop, DONTFORK, advice == _DONTFORK)
        finally:
            self._end(previous)

    def guard(self, offset: int = 0, length: int | None = None) -> None:
        """Make a page range guard pages with MADV_GUARD_INSTALL (Linux 6.13).

        A guard page faults on any access in C; through the Region, reads,
        writes and views of it raise ProtectionError instead. Installing
        drops the pages' contents; the protection is kept, and comes back
        with ``unguard``. Guards cost no kernel area (unlike PROT_NONE);
        the kernel keeps them across mprotect, MADV_DONTNEED and fork, and
        drops them with munmap.

        Args:
            offset: first byte of the range, a multiple of the page size
                (default 0).
            length: bytes, rounded up to whole pages (default: to the end of
                the region).

        Raises:
            BufferError: a live view covers the range.
            RuntimeError: called from inside another call on this Region.
            OSError: EINVAL where the kernel lacks guard regions, or for a
                locked range or a kind of mapping it cannot guard
                (anonymous private memory first, file mappings since 6.15).
        """
        self._guard(True, offset, length)

    def unguard(self, offset: int = 0, length: int | None = None) -> None:
        """Remove guard pages from a range with MADV_GUARD_REMOVE (Linux 6.13).

        The pages become accessible again with their protection; anonymous
        ones read as zero. Pages of the range that were not guards are left
        as they are.

        Raises:
            OSError: EINVAL where the kernel lacks guard regions.
        """
        self._guard(False, offset, length)

    def _guard(self, install: bool, offset: object, length: object) -> None:
        advice = _GUARD_INSTALL if install else _GUARD_REMOVE
        if advice is None:  # pragma: no cover - not Linux
            raise NotImplementedError("guard regions (MADV_GUARD_INSTALL) are Linux-only")
        start, count = _convert_range(offset, length)
        call = "guard" if install else "unguard"
        previous = self._begin(call, destructive=install)
        try:
            start, stop = self._page_range(start, count)
            self._check_mapped(start, stop, call)
            pages = self._pages()
            runs = pages.runs(start, stop)
            if install:
                self._check_discard(start, stop, advice, call)
                self._check_exports(start, stop, "install guard pages")
                # Marked before the kernel installs them (as in mprotect).
                pages.set_flag(start, stop, GUARD, True)
                self._refresh()
            try:
                self._advise(start, stop, advice, call)
            except BaseException:
                for run_start, run_stop, state in runs:
                    pages.assign(run_start, run_stop, state)
                self._refresh()
                raise
            pages.set_flag(start, stop, GUARD, install)
            self._refresh()
        finally:
            self._end(previous)

    def _check_discard(self, start: int, stop: int, advice: int, call: str) -> None:
        """Refuse advice the kernel refuses on sealed private anonymous read-only pages.

        mm/mseal.c: on a sealed area that is anonymous, not shared and not
        writable (by its protection, or by this thread's key rights), advice
        that discards the contents answers EPERM.
        """
        if not self._sealed or advice not in _DISCARD_ADVICE:
            return
        if not self._flags & _ANONYMOUS or self._flags & _SHARED:
            return  # file and shared memory keep their contents elsewhere
        for run_start, run_stop, state in self._pages().runs(start, stop):
            if state is None or not state & SEALED:
                continue
            key = _key_of(state)
            if not state & _WRITE or (key and _rights_deny(key, _WRITE)):
                raise SealedError(
                    f"{call} (advice {advice} discards the contents of sealed private "
                    "anonymous pages that are not writable)",
                    run_start,
                    run_stop,
                )

    def _advise(self, start: int, stop: int, advice: int, call: str) -> None:
        try:
            raw.madvise(self._address + start, stop - start, advice)
        except PermissionError as error:
            # Sealed anonymous pages that Region could not tell apart (a
            # private map of /dev/zero): say why.
            if error.errno == _errno.EPERM and self._pages().any_flag(start, stop, SEALED):
                raise SealedError(call, start, stop) from error
            raise

    def mseal(self, offset: int = 0, length: int | None = None) -> None:
        """Seal the region, or a page range, with mseal(2) (Linux 6.10).

        Sealed pages can no longer be unmapped, moved, resized, re-protected
        (mprotect, pkey_mprotect), or have their contents discarded by
        madvise where they are private, anonymous and not writable; Region
        refuses those calls with SealedError before the kernel's EPERM. The
        seal lasts until the process exits or execs: ``munmap()`` raises,
        while leaving a ``with`` block (or dropping the Region) unmaps the
        pages that are not sealed and lets the sealed ones go, still
        mapped. Reads, writes, views, msync, mlock and non-destructive
        advice keep working. A forked child inherits the seal.

        Args:
            offset: first byte of the range, a multiple of the page size
                (default 0).
            length: bytes, rounded up to whole pages (default: to the end of
                the region).

        Raises:
            NotImplementedError: no mseal here (``raw.HAS_MSEAL``).
            OSError: ENOSYS before Linux 6.10, EPERM where the kernel cannot
                seal (32-bit kernels).
            RuntimeError: from inside another call on this Region.
            ValueError: part of the range is unmapped.
        """
        start, count = _convert_range(offset, length)
        previous = self._begin("mseal", destructive=True)
        try:
            start, stop = self._page_range(start, count)
            self._check_mapped(start, stop, "mseal")
            raw.mseal(self._address + start, stop - start)
            self._pages().set_flag(start, stop, SEALED, True)
            self._sealed = True
            self._refresh()
        finally:
            self._end(previous)

    def is_sealed(self, offset: int = 0) -> bool:
        """Tell whether the page holding byte ``offset`` was sealed with ``mseal``.

        Raises:
            IndexError: ``offset`` is outside the region.
            ValueError: the region is unmapped.
        """
        state = self._state_at("is_sealed", offset)
        return state is not None and bool(state & SEALED)

    def protection_key(self, offset: int = 0) -> int:
        """Return the protection key of the page holding byte ``offset`` (0: the default).

        The key that ``pkey_mprotect`` gave the page (``page_state`` and
        ``stats`` show what the kernel holds).

        Raises:
            IndexError: ``offset`` is outside the region.
            ValueError: the region is unmapped.
        """
        return _key_of(self._state_at("protection_key", offset))

    def _state_at(self, call: str, offset: object) -> int | None:
        position = _index("offset", offset)
        previous = self._begin(call)
        try:
            self._check_open()
            if not 0 <= position < self._length:
                raise IndexError(f"offset={position} is outside the region [0, {self._length})")
            return self._pages().state_at(position)
        finally:
            self._end(previous)

    def page_state(self, offset: int = 0, length: int | None = None) -> PageStates:
        """Read the kernel's state of each page of a range from /proc/self/pagemap (Linux).

        Present, swapped, soft-dirty, exclusively mapped, file page or
        shared anonymous, guard, uffd-wp, and the page frame number where
        the process may read it (root): see ``rawmmap.pagestate``.

        Args:
            offset: first byte of the range, a multiple of the page size
                (default 0).
            length: bytes, rounded up to whole pages (default: to the end of
                the region).

        Returns:
            A ``rawmmap.pagestate.PageStates``, one entry per page.

        Raises:
            OSError: /proc/self/pagemap cannot be read.
            ValueError: part of the range is unmapped.
        """
        from rawmmap import pagestate

        start, count = _convert_range(offset, length)
        return self._on_pages("page_state", start, count, pagestate.page_state)

    def stats(self) -> list[MappingStats]:
        """Read /proc/self/smaps for the kernel areas (VMAs) that hold the region (Linux).

        One ``rawmmap.pagestate.MappingStats`` per area, in address order:
        Rss, Pss, shared and private clean and dirty, referenced,
        anonymous, swap, AnonHugePages, locked (bytes), the VmFlags and
        the protection key. A region split by mprotect, mlock or madvise is
        several areas; one the kernel merged with a neighbouring mapping is
        one area, whose figures cover the neighbour too (compare
        ``start`` and ``end`` with ``address``). ``pagestate.total`` adds
        them up.

        Raises:
            OSError: /proc/self/smaps cannot be read.
            ValueError: the region is unmapped.
        """
        from rawmmap import pagestate

        previous = self._begin("stats")
        try:
            self._check_open()
            areas: dict[int, MappingStats] = {}
            for start, stop in self._pages().mapped():
                for area in pagestate.smaps(self._address + start, stop - start):
                    areas.setdefault(area.start, area)
            return [areas[start] for start in sorted(areas)]
        finally:
            self._end(previous)

    def mlock(self, offset: int = 0, length: int | None = None, *, onfault: bool = False) -> None:
        """Lock the region, or a page range, in memory with mlock(2).

        ``onfault=True`` uses mlock2(MLOCK_ONFAULT): pages are locked as they
        are touched instead of being faulted in now (Linux).

        Args:
            onfault: lock pages as they are touched (mlock2 MLOCK_ONFAULT).
            offset: first byte of the range, a multiple of the page size
                (default 0).
            length: bytes, rounded up to whole pages (default: to the end of
                the region).

        Raises:
            OSError: ENOMEM over RLIMIT_MEMLOCK, EPERM.
        """
        start, count = _convert_range(offset, length)
        if bool(onfault):  # __bool__ runs before the lock
            self._on_pages("mlock", start, count, lambda a, n: raw.mlock2(a, n, _MLOCK_ONFAULT))
        else:
            self._on_pages("mlock", start, count, raw.mlock)

    def munlock(self, offset: int = 0, length: int | None = None) -> None:
        """Unlock the region, or a page range, with munlock(2).

        Args:
            offset: first byte of the range, a multiple of the page size
                (default 0).
            length: bytes, rounded up to whole pages (default: to the end of
                the region).

        Raises:
            ValueError: the region, or part of the range, is unmapped.
        """
        start, count = _convert_range(offset, length)
        self._on_pages("munlock", start, count, raw.munlock)

    def mincore(self, offset: int = 0, length: int | None = None) -> list[bool]:
        """Tell which pages of the region, or a page range, are resident (mincore(2)).

        Args:
            offset: first byte of the range, a multiple of the page size
                (default 0).
            length: bytes, rounded up to whole pages (default: to the end of
                the region).

        Returns:
            One bool per page, True where the page is in memory.
        """
        start, count = _convert_range(offset, length)
        vector = self._on_pages("mincore", start, count, raw.mincore)
        return [bool(byte & 1) for byte in vector]

    if TYPE_CHECKING:

        @overload
        def mremap(
            self,
            new_length: int,
            *,
            may_move: bool = ...,
            dontunmap: Literal[False] = ...,
            into: Region | None = ...,
        ) -> None: ...

        @overload
        def mremap(
            self,
            new_length: int,
            *,
            may_move: bool = ...,
            dontunmap: Literal[True],
            into: Region | None = ...,
        ) -> Region: ...

        @overload
        def mremap(
            self,
            new_length: int,
            *,
            may_move: bool = ...,
            dontunmap: bool,
            into: Region | None = ...,
        ) -> Region | None: ...

    def mremap(
        self,
        new_length: int,
        *,
        may_move: bool = True,
        dontunmap: bool = False,
        into: Region | None = None,
    ) -> Region | None:
        """Grow, shrink or move the mapping with mremap(2) (Linux).

        Shrinking unmaps the pages past the new end (it works with holes
        and mixed protection; only views over the cut pages refuse it).
        Growing with ``may_move`` (the default) lets the kernel move the
        mapping (``address`` changes); while views are alive, the mapping
        may only grow in place. New pages get the state of the last page.
        A file mapping may grow to the end of the page that holds the
        file's last byte (grow the file first with ``os.ftruncate``, or use
        ``resize``).

        Two moves more, each a single kernel area with no view alive:

        - ``into=other``: MREMAP_FIXED, the mapping moves to the address of
          another Region, which the call consumes (its pages are replaced,
          the rest of it unmapped, and it ends closed): the only memory a
          move may land on is memory this process owns through a Region.
          ``other`` must be at least ``new_length`` long.
        - ``dontunmap=True``: MREMAP_DONTUNMAP (Linux 5.7; before 5.13,
          private anonymous memory only), the mapping moves with its pages
          and the old range stays mapped: it is returned as a new Region
          with the same protection, where private anonymous pages read as
          zero and file pages fault in from the file again. The length
          cannot change (mremap(2): ``old_size`` must equal ``new_size``).

        Returns:
            The Region over the old range with ``dontunmap``, else None.

        Raises:
            NotImplementedError: not Linux.
            BufferError: a view over pages that would be cut, or a move
                needed while views are alive (of this Region or of ``into``).
            RuntimeError: called from inside another call on this Region
                (or on ``into``).
            ValueError: growing a region with holes, a file mapping past
                the file's end, shared anonymous memory past its size, or a
                hugetlb mapping; a move of a region with holes or mixed
                protection; ``dontunmap`` with another length; ``into`` too
                short, unmapped, with holes, or this Region itself.
            OSError: ENOMEM when it cannot grow in place and may not move;
                EINVAL where the kernel lacks DONTUNMAP for this mapping.
        """
        new_length = _index("new_length", new_length)
        moving = bool(may_move)  # __bool__ runs before the lock
        keep_old = bool(dontunmap)
        if into is not None and not isinstance(into, Region):
            raise TypeError(f"into must be a Region, not {type(into).__name__}")
        if not raw.HAS_MREMAP:  # pragma: no cover - not Linux
            raise NotImplementedError("mremap(2) is Linux-only")
        if new_length <= 0:
            raise ValueError(f"new_length must be positive, not {new_length}")
        if not (keep_old or into is not None):
            previous = self._begin("mremap", destructive=True)
            try:
                self._check_open()
                self._remap(new_length, moving, "mremap")
            finally:
                self._end(previous)
            return None
        what = "dontunmap=True" if into is None else "into="
        if not moving:
            raise ValueError(f"{what} moves the mapping: it needs may_move=True (MREMAP_MAYMOVE)")
        if keep_old and not _MREMAP_DONTUNMAP:  # pragma: no cover - every Linux table has it
            raise NotImplementedError("this platform has no MREMAP_DONTUNMAP")
        if into is self:
            raise ValueError("into= must be another Region: a mapping cannot move onto itself")
        return self._move(new_length, keep_old, into)

    def _move(self, new_length: int, keep_old: bool, into: Region | None) -> Region | None:
        """mremap(2) with MREMAP_MAYMOVE and FIXED and/or DONTUNMAP, under both guards."""
        regions = [self] if into is None else sorted((self, into), key=id)
        # Before the locks are taken: a lock this thread holds already is
        # an access in progress (see _begin).
        nested = [region._lock._is_owned() for region in regions]  # type: ignore[attr-defined]
        for index, region in enumerate(regions):  # in a fixed order: no deadlock
            try:
                region._lock.acquire()
            except BaseException:  # pragma: no cover - KeyboardInterrupt in acquire
                for held in regions[:index]:
                    held._lock.release()
                raise
        previous = [
            _ACCESS if region._busy is None and owned else region._busy
            for region, owned in zip(regions, nested)
        ]
        try:
            for region, busy in zip(regions, previous):
                if busy is not None:
                    raise RuntimeError(
                        f"cannot mremap while {busy}() is in progress on "
                        + ("this Region" if region is self else "the into= Region")
                        + " in the same thread; it would pull the memory from under it"
                    )
            for region in regions:
                region._busy = "mremap"
            return self._move_locked(new_length, keep_old, into)
        finally:
            for region, busy in zip(regions, previous):
                region._busy = None if busy is _ACCESS else busy
            for region in reversed(regions):
                region._lock.release()

    def _move_locked(self, new_length: int, keep_old: bool, into: Region | None) -> Region | None:
        self._check_open()
        mapping = self._mapping
        assert mapping is not None
        pages = mapping.pages
        old_mapped = self._mapped_length
        new_mapped = _round_up(new_length, self._granule)
        self._check_move(new_length, new_mapped, keep_old)
        flags = _MREMAP_MAYMOVE | (_MREMAP_DONTUNMAP if keep_old else 0)
        target = 0
        if into is not None:
            target = self._check_target(into, new_mapped)
            flags |= _MREMAP_FIXED
        old_range = None
        if keep_old:
            # Built before the call, so that nothing can fail after it.
            old_range = Region.__new__(Region)
            old_range._lock = _thread.RLock()
            old_range._busy = old_range._view = old_range._array = old_range._pagemap = None
            old_range._length = 0
            old_range._fast_read = old_range._fast_write = old_range._tabled = -1
            old_range._readable = old_range._writable = _NO_TABLE
            # The guard markers move with the page tables: the old range has none.
            kept = _Mapping(
                self._address,
                PageMap(old_mapped, _unguarded(pages.states[0]), _PAGE_SIZE, _NEEDS),
                old_range,
            )
            kept.identity, kept.file_offset = mapping.identity, mapping.file_offset
            if mapping.fd >= 0:
                kept.fd = os.dup(mapping.fd)
        self._suspend()
        if into is not None:
            into._suspend()
        try:
            address = raw.mremap(self._address, old_mapped, new_mapped, flags, target)
        except OSError as error:
            self._resume()
            if into is not None:
                into._resume()
            if old_range is not None:
                _close_fd(kept)
            if error.errno == _errno.EFAULT:
                raise ValueError(
                    "cannot move the mapping: the kernel keeps this region as several areas "
                    "(after mprotect or madvise) and mremap(2) answers EFAULT; map a new region"
                ) from error
            raise
        if into is not None:
            into._consume(new_mapped)
        if old_range is not None:
            if not _still_mapped(self._address, _PAGE_SIZE):  # pragma: no cover - emulators only
                # An emulator that takes DONTUNMAP for a plain move (qemu-user
                # answers mremap itself): the old range is gone, so say so.
                kept.pages.assign(0, old_mapped, None)
            old_range._shared_anonymous_size = self._shared_anonymous_size
            _live[id(kept)] = kept
            old_range._install(
                kept,
                self._length,
                self._granule,
                self._prot,
                self._flags,
                self._fd,
                self._offset,
            )
            if not kept.pages.mapped():
                old_range._close()
        pages.resize(new_mapped, _unguarded(pages.states[-1]))
        self._set_length(address, new_length, new_mapped)
        return old_range

    def _check_move(self, new_length: int, new_mapped: int, keep_old: bool) -> None:
        """Refuse a move the kernel would answer wrongly, or that would break a view."""
        mapping = self._mapping
        assert mapping is not None
        pages = mapping.pages
        old_mapped = self._mapped_length
        self._check_mapped(0, old_mapped, "move the mapping")
        self._check_unsealed(0, old_mapped, "move the mapping")
        if pages.starts[-1] != 0:
            raise ValueError(
                "cannot move a region with mixed protection or advice: the kernel keeps it "
                "as several areas, and mremap(2) moves one"
            )
        if mapping.prune():
            raise BufferError(
                f"cannot move the mapping: {len(mapping.exports)} exported buffer(s) of the "
                "region are alive; release them first"
            )
        if keep_old and new_mapped != old_mapped:
            raise ValueError(
                f"dontunmap=True keeps the length (mremap(2): old_size must equal new_size): "
                f"new_length={new_length} rounds to {new_mapped} bytes, the region maps "
                f"{old_mapped}"
            )
        if new_mapped > old_mapped:
            if self._granule != _PAGE_SIZE:
                raise ValueError(
                    "cannot grow a mapping of huge pages: Linux refuses it (mm/mremap.c)"
                )
            if self._shared_anonymous_size and new_mapped > self._shared_anonymous_size:
                raise ValueError(
                    f"new_length={new_length}: shared anonymous memory cannot grow past the "
                    f"{self._shared_anonymous_size} bytes it was mapped with"
                )
            if not self._flags & _ANONYMOUS:
                self._check_file_size(self._offset + new_length)

    def _consume(self, replaced: int) -> None:
        """Close this Region after a move landed on its first ``replaced`` bytes."""
        mapping = self._mapping
        assert mapping is not None
        # The kernel replaced those bytes; the rest goes too.
        for run_start, run_stop, state in mapping.pages.runs(replaced, self._mapped_length):
            if state is not None:
                raw.munmap(self._address + run_start, run_stop - run_start)
        mapping.pages.assign(0, mapping.pages.size, None)
        self._close()

    def _check_target(self, into: Region, new_mapped: int) -> int:
        """Check the Region a move lands on; return its address."""
        if into._closed:
            raise ValueError("into= is unmapped: a move may only land on memory a Region owns")
        into_mapping = into._mapping
        assert into_mapping is not None
        into._check_unsealed(0, into._mapped_length, "move onto into=")
        if into._mapped_length < new_mapped:
            raise ValueError(
                f"into= maps {into._mapped_length} bytes; the move needs {new_mapped}: it may "
                "only land on memory a Region owns"
            )
        hole = into_mapping.pages.first_unmapped(0, new_mapped)
        if hole is not None:
            raise ValueError(
                f"into= has bytes [{hole[0]}, {hole[1]}) unmapped: another mapping may be there"
            )
        if into_mapping.prune():
            raise BufferError(
                f"cannot move onto into=: {len(into_mapping.exports)} exported buffer(s) of it "
                "are alive; release them first"
            )
        if into._address % self._granule:
            raise ValueError(
                f"into= starts at {into._address:#x}, not a multiple of this region's page "
                f"size ({self._granule})"
            )
        return into._address

    def resize(self, new_length: int) -> None:
        """Resize the mapping and, for a file mapping, the file with it.

        As the stdlib's ``mmap.resize``: the file grows (ftruncate(2))
        before the mapping does, and shrinks after it, to ``offset +
        new_length``. Anonymous memory is remapped only. The descriptor
        used is the Region's own duplicate, so this works for a Region
        made from a path too.

        Raises:
            NotImplementedError: not Linux.
            ValueError: another Region maps bytes of the same file past the
                new end (they would raise SIGBUS), or as for ``mremap``.
            OSError: from ftruncate(2): EINVAL or EBADF for a descriptor
                opened read-only, EPERM for a sealed memfd, EFBIG.
        """
        new_length = _index("new_length", new_length)
        if not raw.HAS_MREMAP:  # pragma: no cover - not Linux
            raise NotImplementedError("resize needs mremap(2), which is Linux-only")
        if new_length <= 0:
            raise ValueError(f"new_length must be positive, not {new_length}")
        previous = self._begin("resize", destructive=True)
        try:
            self._check_open()
            mapping = self._mapping
            assert mapping is not None
            if mapping.fd < 0:
                self._remap(new_length, True, "resize")
                return
            end = self._offset + new_length
            if new_length < self._length:
                self._check_other_mappings(end)
                self._remap(new_length, True, "resize")
                _truncate(mapping.fd, end)
                return
            # Before the file grows: the area that would grow must not be sealed.
            self._check_unsealed(self._pages().starts[-1], self._mapped_length, "resize")
            old_size = os.fstat(mapping.fd).st_size
            if end > old_size:
                _truncate(mapping.fd, end)
            try:
                self._remap(new_length, True, "resize")
            except BaseException:
                if end > old_size:
                    _truncate(mapping.fd, old_size)
                raise
        finally:
            self._end(previous)

    def _check_other_mappings(self, end: int) -> None:
        """Refuse to cut a file under another live Region that maps past ``end``."""
        mine = self._mapping
        assert mine is not None
        limit = _round_up(end, self._granule)
        for other in list(_live.values()):
            if other is mine or other.identity != mine.identity:
                continue
            other_end = other.file_offset + other.pages.size
            if other_end > limit:
                raise ValueError(
                    f"another Region maps this file up to byte {other_end}; cutting it to "
                    f"{end} bytes would make those pages raise SIGBUS"
                )

    def _remap(self, new_length: int, moving: bool, call: str) -> None:
        """Shrink by unmapping the tail, or grow with mremap(2); under the guard."""
        mapping = self._mapping
        assert mapping is not None
        pages = mapping.pages
        old_mapped = self._mapped_length
        new_mapped = _round_up(new_length, self._granule)
        if new_mapped <= old_mapped:
            # Bytes cut inside the last page stay mapped (its tail): only
            # views over whole pages cut off are in the way.
            self._check_unsealed(new_mapped, old_mapped, call)
            self._check_exports(new_mapped, old_mapped, call)
            runs = pages.runs(new_mapped, old_mapped)
            # Forgotten before the kernel unmaps them (as in munmap).
            pages.assign(new_mapped, old_mapped, None)
            self._refresh()
            self._unmap_forgotten(runs, call)
            pages.resize(new_mapped, None)

            self._set_length(self._address, new_length, new_mapped)
            return
        self._check_mapped(0, old_mapped, call)
        if self._granule != _PAGE_SIZE:
            # mm/mremap.c: "Don't allow remap expansion" of hugetlb (EINVAL).
            raise ValueError(
                f"cannot {call} to {new_length} bytes: Linux does not grow a mapping of huge "
                f"pages ({self._granule} bytes); map a new region (shrinking works)"
            )
        if self._shared_anonymous_size and new_mapped > self._shared_anonymous_size:
            # Shared anonymous memory is a shmem object sized at mmap time;
            # mremap grows the mapping, not the object, and a touch past the
            # object's end raises SIGBUS (mm/shmem.c).
            raise ValueError(
                f"new_length={new_length}: shared anonymous memory cannot grow past the "
                f"{self._shared_anonymous_size} bytes it was mapped with (pages past "
                "that would raise SIGBUS)"
            )
        if not self._flags & _ANONYMOUS:
            self._check_file_size(self._offset + new_length)
        views = bool(mapping.prune())
        last_start = pages.starts[-1]  # the kernel area that grows
        self._check_unsealed(last_start, old_mapped, call)

        flags = _MREMAP_MAYMOVE if moving and not views and last_start == 0 else 0
        if flags:
            self._suspend()  # the mapping may move
        try:
            address = (
                raw.mremap(
                    self._address + last_start,
                    old_mapped - last_start,
                    new_mapped - last_start,
                    flags,
                )
                - last_start
            )
        except OSError as error:
            if flags:  # it did not move
                self._resume()
            if error.errno == _errno.EFAULT:
                raise ValueError(
                    f"cannot {call}: the kernel keeps this region as several areas (after "
                    "mprotect or madvise) and mremap(2) answers EFAULT; map a new region"
                ) from error
            if error.errno == _errno.ENOMEM and moving and views:
                raise BufferError(
                    f"cannot {call}: there is no room to grow in place, and the mapping may "
                    "not move while views of it are alive"
                ) from error
            if error.errno == _errno.ENOMEM and moving and last_start:
                raise ValueError(
                    f"cannot {call}: there is no room to grow in place, and a region with "
                    "mixed protection (several kernel areas) cannot move"
                ) from error
            raise
        pages.resize(new_mapped, _unguarded(pages.states[-1]))
        self._set_length(address, new_length, new_mapped)

    def _suspend(self) -> None:
        """Stop every access, until ``_resume`` or ``_set_length``: the mapping may move.

        Between mremap(2) and the Region's update, an access from a trace
        hook or a signal handler would use the old address: with no view
        and no page map, ``_check_access`` refuses it instead.
        """
        # In this order: the fast paths, the page map, then the view.
        self._fast_read = self._fast_write = self._tabled = -1
        self._pagemap = None
        self._view = self._array = None

    def _resume(self) -> None:
        """Undo ``_suspend`` (the mapping did not move)."""
        mapping = self._mapping
        assert mapping is not None
        self._view, self._array = _foreign.mapping_views(self._address, self._mapped_length)
        self._pagemap = mapping.pages
        self._refresh()

    def _set_length(self, address: int, length: int, mapped_length: int) -> None:
        mapping = self._mapping
        assert mapping is not None
        mapping.address = address
        self._address = address
        self._length = length
        self._mapped_length = mapped_length
        if not mapping.pages.mapped():
            self._close()
            return
        # The view first, then the page map and the fast paths (see _suspend).
        self._view, self._array = _foreign.mapping_views(address, mapped_length)
        self._pagemap = mapping.pages
        self._refresh()

    def _check_file_size(self, end: int) -> None:
        mapping = self._mapping
        fd = -1 if mapping is None else mapping.fd
        if fd < 0:  # pragma: no cover - file mappings keep a descriptor
            raise ValueError("this file mapping has no descriptor to check the file's size with")
        status = os.fstat(fd)
        _check_file_end(end, _mappable_size(fd, status), "offset+length")


def _truncate(fd: int, size: int) -> None:
    try:
        os.ftruncate(fd, size)
    except OSError as error:
        hint = (
            " (the file was opened read-only)"
            if error.errno in (_errno.EINVAL, _errno.EBADF)
            else ""
        )
        raise OSError(
            error.errno, f"{error.strerror}: ftruncate(fd={fd}, length={size}){hint}"
        ) from None


def mmap(
    length: int,
    prot: int = _READ | _WRITE,
    flags: int = _SHARED,
    fd: int = -1,
    offset: int = 0,
    *,
    addr: int | None = None,
) -> Region:
    """Map memory with mmap(2) and return it as a Region.

    Args:
        length: bytes, positive (the mapping is rounded up to whole pages).
        prot: ``Prot`` bits.
        flags: ``MapFlag`` bits with exactly one mapping type: SHARED,
            PRIVATE, SHARED_VALIDATE (SHARED, with every flag checked by
            the kernel: EOPNOTSUPP for one it does not support for this
            file, such as SYNC off a DAX file system) or DROPPABLE
            (anonymous memory the kernel may drop, Linux 6.11). FIXED is
            refused: it would replace whatever is mapped at ``addr``;
            FIXED_NOREPLACE is allowed.
        fd: an open descriptor, or -1 with ``MapFlag.ANONYMOUS``.
        offset: file offset, a multiple of the page size (ValueError
            otherwise, naming the page size).
        addr: where to place the mapping (a hint unless FIXED_NOREPLACE).

    A file mapping may end anywhere inside the page that holds the file's
    last byte (the rest of that page reads as zero, and stores there never
    reach the file); only pages wholly past the end are refused.

    Raises:
        ValueError: bad arguments, or pages wholly past the file's end.
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
        flags: extra ``MapFlag`` bits (POPULATE, NORESERVE, ...), or a
            mapping type instead of ``shared``: ``MapFlag.DROPPABLE``
            (Linux 6.11, 64-bit) for memory the kernel may drop under
            memory pressure instead of swapping (dropped pages read back
            as zeros; a forked child gets zeros too).
    """
    # Plain ints: an | between MapFlag members runs Python code in enum.
    extra = _index("flags", flags)
    kind = 0 if extra & _MAP_TYPE_MASK else _SHARED if shared else _PRIVATE
    return Region(length, prot, kind | _ANONYMOUS | extra, -1, 0)


def map_secret(length: int) -> Region:
    """Map secret memory, removed from the kernel's direct map (memfd_secret(2), Linux 5.14).

    The pages are reachable only through this mapping: not through the
    kernel's direct map, not by other processes (ptrace and /proc/PID/mem
    included), not in a core dump, and not by the kernel's own page-pinning
    calls (madvise POPULATE, O_DIRECT, vmsplice answer EFAULT or EINVAL).
    The Region works as any shared file mapping (its own descriptor is
    closed with it); it cannot grow.

    Args:
        length: bytes.

    Raises:
        NotImplementedError: no memfd_secret here (``raw.HAS_MEMFD_SECRET``).
        OSError: ENOSYS where the kernel lacks it or has it disabled (boot
            with ``secretmem.enable=1`` before Linux 6.5), EAGAIN over
            RLIMIT_MEMLOCK (kernels that count secret memory as locked),
            ENOMEM.
        ValueError: a length that is not positive.
    """
    length = _index("length", length)
    if length <= 0:
        raise ValueError(f"length must be positive, not {length} (mmap(2) maps no empty range)")
    if not raw.HAS_MEMFD_SECRET:
        raise NotImplementedError("memfd_secret(2) is Linux-only (5.14), and not on this platform")
    try:
        fd = raw.memfd_secret(_TABLE.get("MemfdSecretFlag", {}).get("CLOEXEC", 0))
    except OSError as error:
        if error.errno != _errno.ENOSYS:
            raise
        raise OSError(
            _errno.ENOSYS,
            f"{os.strerror(_errno.ENOSYS)}: memfd_secret(2) is not available: the kernel is "
            "older than 5.14, not built with CONFIG_SECRETMEM, or booted with "
            "secretmem.enable=0 (before 6.5 it is off unless booted with secretmem.enable=1)",
        ) from None
    try:
        os.ftruncate(fd, _round_up(length))
        return Region(length, _READ | _WRITE, _SHARED, fd, 0)
    finally:
        os.close(fd)


def set_pkey_rights(pkey: int, rights: int) -> None:
    """Set the calling thread's rights for a protection key (pkey_set(3)).

    Rights are per thread: ``PkeyRights.DISABLE_ACCESS`` denies reads and
    writes of pages tagged with the key (``Region.pkey_mprotect``),
    ``DISABLE_WRITE`` denies writes, 0 allows both. Regions read the
    rights at every access, so what they deny raises ProtectionError.
    Unlike ``rawmmap.raw.pkey_set``, this refuses to take rights away from
    inside a Region call in progress in this thread (a signal handler, a
    finalizer, a trace hook), which has checked the rights already.

    Raises:
        NotImplementedError: no pkey_get/pkey_set here (``raw.HAS_PKEY_RIGHTS``).
        OSError: EINVAL for a key out of range, ENOSYS where protection
            keys are not enabled.
        RuntimeError: called from inside a Region call, taking rights away.
    """
    key = _index("pkey", pkey)
    wanted = _index("rights", rights)
    current = raw.pkey_get(key)
    if wanted & ~current:  # pragma: no cover - needs protection keys (tests/test_region_pkeys.py)
        for mapping in list(_live.values()):
            region = mapping.region()
            # A Region's lock held by this thread is a call in progress here
            # (accessors record no name: they only hold the lock).
            # RLock._is_owned: whether this thread holds it (typeshed leaves it out).
            if region is not None and region._lock._is_owned():  # type: ignore[attr-defined]
                doing = f"{region._busy}()" if region._busy else "an access"
                raise RuntimeError(
                    f"cannot take rights for key {key} away while {doing} is in progress "
                    "on a Region in this thread; it checked them already"
                )
    raw.pkey_set(key, wanted)


def map_file(
    file: FileLike,
    length: int | None = None,
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
        ValueError: an empty file, or pages wholly past the end of the file.
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


def _map_descriptor(fd: int, length: int | None, offset: int, prot: int, flags: int) -> Region:
    if length is None:
        status = _fstat(fd)
        size = _mappable_size(fd, status)
        if size is None:
            raise ValueError(f"fd {fd} has no end to map to: give a length")
        if offset > size:
            raise ValueError(f"offset={offset} is past the end of the file ({size} bytes)")
        length = size - offset
        if length == 0:
            raise ValueError(
                "cannot map an empty file (or an offset at its end): mmap(2) maps no bytes; "
                "give the file a size first (os.ftruncate), or pass a length"
            )
    return Region(length, prot, flags, fd, offset)
