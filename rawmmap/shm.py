"""Memory shared between processes: POSIX shared memory objects and memfd.

Two ways to get memory that several processes map with ``MAP_SHARED``:

- A *named* POSIX shared memory object (shm_open(3)): any process that knows
  the name, and has the permissions, can open and map it. The name lives on
  until ``shm_unlink``, even after every process has exited (on Linux the
  objects are files in /dev/shm). ``map_shared_memory`` opens, sizes and
  maps one as a ``Region`` in one call.
- An *anonymous* in-memory file (memfd_create(2) on Linux and FreeBSD, an
  unlinked temporary file elsewhere): it has no name, so it is shared by
  handing its descriptor to the other process, through ``fork``, inheritance
  (``subprocess``'s ``pass_fds``), a Unix socket (``socket.send_fds``), or on
  Linux by opening ``/proc/<pid>/fd/<fd>``. ``MemoryFile`` holds the
  descriptor and a ``Region`` over it, and can seal the file (fcntl(2)
  ``F_ADD_SEALS``) where the kernel supports that.

Stores into a shared mapping are seen by the other processes, but CPython
gives no atomic operations and no memory fences: synchronise with something
that does, such as a pipe, a socket or a ``multiprocessing`` lock (the
system calls behind them order memory). See ``examples/shared_counter.py``.
"""

from __future__ import annotations

import contextlib
import enum
import errno as _errno
import os
import sys
import warnings
import weakref
from typing import Union

from rawmmap import _cint, raw
from rawmmap.flags import MapFlag, Prot
from rawmmap.region import Region, SoleOwner, _meminfo_bytes

try:
    import fcntl as _fcntl
except ImportError:  # pragma: no cover - every POSIX Python has fcntl
    _fcntl = None  # type: ignore[assignment]

__all__ = [
    "HAS_MEMFD",
    "HAS_SEALING",
    "NAME_MAX",
    "MemfdFlag",
    "MemoryFile",
    "Seal",
    "check_shm_name",
    "has_shm",
    "map_memfd",
    "map_shared_memory",
    "shm_open",
    "shm_unlink",
]

#: The longest name component POSIX systems accept (NAME_MAX, 255 bytes on
#: Linux, macOS and FreeBSD). Some systems allow less for shared memory
#: names (macOS: PSHMNAMLEN, 31 bytes) and answer ENAMETOOLONG.
NAME_MAX = 255

#: ``os.memfd_create`` exists (Linux 3.17 with glibc 2.27, FreeBSD 13).
HAS_MEMFD = hasattr(os, "memfd_create")

#: The fcntl module has ``F_ADD_SEALS`` and ``F_GET_SEALS`` (Linux 3.17, FreeBSD 13).
HAS_SEALING = _fcntl is not None and hasattr(_fcntl, "F_ADD_SEALS")

#: A name: str (encoded with the file system encoding) or bytes.
Name = Union[str, bytes]


def has_shm() -> bool:
    """Tell whether shm_open(3) and shm_unlink(3) are available (libc or librt)."""
    return raw.has_shm()


class Seal(enum.IntFlag):
    """File seals of fcntl(2) ``F_ADD_SEALS``/``F_GET_SEALS``, from the fcntl module.

    A member exists only where the fcntl module has the constant. Seals
    apply to the file, so they bind every process that holds a descriptor
    of it; they can only be added, never removed.
    """

    if _fcntl is not None and hasattr(_fcntl, "F_SEAL_SEAL"):
        #: No further seals may be added.
        SEAL = _fcntl.F_SEAL_SEAL
    if _fcntl is not None and hasattr(_fcntl, "F_SEAL_SHRINK"):
        #: The file may not shrink (ftruncate to a smaller size fails with EPERM).
        SHRINK = _fcntl.F_SEAL_SHRINK
    if _fcntl is not None and hasattr(_fcntl, "F_SEAL_GROW"):
        #: The file may not grow (ftruncate or write past the end fails with EPERM).
        GROW = _fcntl.F_SEAL_GROW
    if _fcntl is not None and hasattr(_fcntl, "F_SEAL_WRITE"):
        #: The contents may not change; adding it fails with EBUSY while a
        #: writable shared mapping exists, and afterwards a writable shared
        #: mmap fails with EPERM.
        WRITE = _fcntl.F_SEAL_WRITE
    if HAS_SEALING and sys.platform.startswith("linux"):
        # include/uapi/linux/fcntl.h; the fcntl module has them only lately.
        #: No new writable mapping or write(2) (Linux 5.1); existing
        #: writable mappings stay writable, so it may be added under them.
        FUTURE_WRITE = getattr(_fcntl, "F_SEAL_FUTURE_WRITE", 0x0010)
        #: The file's exec bits may not change (Linux 6.3).
        EXEC = getattr(_fcntl, "F_SEAL_EXEC", 0x0020)


#: MFD_HUGETLB (include/uapi/linux/memfd.h), as a plain int.
_MFD_HUGETLB = 0x0004


class MemfdFlag(enum.IntFlag):
    """memfd_create(2) flags, with the huge page size encoded in the upper bits.

    Values from the Linux headers (include/uapi/linux/memfd.h and
    asm-generic/hugetlb_encode.h: the size's log2 shifted by 26), the same on
    every architecture. A member exists only on Linux.
    """

    if sys.platform.startswith("linux"):
        #: Close the descriptor on exec (rawmmap always sets it).
        CLOEXEC = 0x0001
        #: Allow seals to be added (``MemoryFile.add_seals``).
        ALLOW_SEALING = 0x0002
        #: Back the file with huge pages (a pool must be configured).
        HUGETLB = 0x0004
        #: Not executable, and sealed so for good (Linux 6.3).
        NOEXEC_SEAL = 0x0008
        #: Executable (Linux 6.3, with vm.memfd_noexec).
        EXEC = 0x0010
        #: Huge page sizes for HUGETLB (log2 of the size << 26).
        HUGE_64KB = 16 << 26
        HUGE_512KB = 19 << 26
        HUGE_1MB = 20 << 26
        HUGE_2MB = 21 << 26
        HUGE_8MB = 23 << 26
        HUGE_16MB = 24 << 26
        HUGE_32MB = 25 << 26
        HUGE_256MB = 28 << 26
        HUGE_512MB = 29 << 26
        HUGE_1GB = 30 << 26
        HUGE_2GB = 31 << 26
        HUGE_16GB = 34 << 26


# ------------------------------------------------------------ named objects


def check_shm_name(name: object) -> bytes:
    """Check a shared memory object name and return it as bytes, unchanged.

    POSIX (shm_open(3)) says a portable name starts with a slash and has no
    other slash. glibc and musl skip any leading slashes themselves, so
    ``"name"`` and ``"/name"`` open the same object; what they refuse
    (EINVAL) is checked here so that the error says which rule was broken.
    Longer names than the C library takes are left for it to refuse
    (ENAMETOOLONG).

    Raises:
        TypeError: ``name`` is neither str nor bytes.
        ValueError: the name is empty or only slashes, holds a '/' after its
            leading slashes, is '.' or '..' after them, holds a NUL byte, or is
            longer than NAME_MAX (255) bytes after them.
    """
    if isinstance(name, str):
        encoded = os.fsencode(name)
    elif isinstance(name, bytes):
        encoded = name
    else:
        raise TypeError(f"a shared memory name must be str or bytes, not {type(name).__name__}")
    if not encoded:
        raise ValueError("a shared memory name must not be empty")
    if b"\0" in encoded:
        raise ValueError(f"a shared memory name must not contain a NUL byte: {name!r}")
    rest = encoded.lstrip(b"/")
    if b"/" in rest:
        raise ValueError(f"a shared memory name must have no '/' after the first: {name!r}")
    if rest in (b"", b".", b".."):
        raise ValueError(f"a shared memory name needs a name after the '/': {name!r}")
    if len(rest) > NAME_MAX:
        raise ValueError(
            f"a shared memory name must be at most {NAME_MAX} bytes after the '/', not {len(rest)}"
        )
    return encoded


def shm_open(
    name: Name,
    *,
    create: bool = False,
    exclusive: bool = False,
    truncate: bool = False,
    readonly: bool = False,
    mode: int = 0o600,
) -> int:
    """Open, or create, a named POSIX shared memory object with shm_open(3).

    A new object has size 0: give it a size with ``os.ftruncate`` before
    mapping it (``map_shared_memory`` does).

    Args:
        name: '/name' (see ``check_shm_name``).
        create: O_CREAT: create the object if it does not exist.
        exclusive: O_EXCL: fail if it exists (needs ``create``).
        truncate: O_TRUNC: cut an existing object to size 0.
        readonly: O_RDONLY instead of O_RDWR.
        mode: permission bits of a new object, 0..0o7777 (the umask applies).

    Returns:
        A descriptor with FD_CLOEXEC set; close it with ``os.close``.

    Raises:
        ValueError: a bad name, ``exclusive`` without ``create``, or
            ``truncate`` with ``readonly`` (POSIX leaves both undefined).
        FileExistsError: EEXIST, the object exists and ``exclusive`` was given.
        FileNotFoundError: ENOENT, no such object and no ``create``.
        PermissionError: EACCES, the object's mode forbids the access.
        OSError: ENAMETOOLONG or EINVAL where the system's own name rules
            are stricter; EMFILE, ENFILE.
        NotImplementedError: the C library has no shm_open.
    """
    encoded = check_shm_name(name)
    if exclusive and not create:
        raise ValueError("exclusive=True needs create=True (O_EXCL without O_CREAT)")
    if truncate and readonly:
        raise ValueError("truncate=True needs write access (O_TRUNC with O_RDONLY)")
    oflag = os.O_RDONLY if readonly else os.O_RDWR
    if create:
        oflag |= os.O_CREAT
    if exclusive:
        oflag |= os.O_EXCL
    if truncate:
        oflag |= os.O_TRUNC
    return raw.shm_open(encoded, oflag, mode)


def shm_unlink(name: Name) -> None:
    """Remove the name of a POSIX shared memory object with shm_unlink(3).

    Existing descriptors and mappings stay valid; the memory is freed when
    the last one goes. A new ``shm_open`` of the name makes a new object.

    Raises:
        ValueError: a bad name (see ``check_shm_name``).
        FileNotFoundError: ENOENT, no such object.
        PermissionError: EACCES.
        NotImplementedError: the C library has no shm_unlink.
    """
    raw.shm_unlink(check_shm_name(name))


def map_shared_memory(
    name: Name,
    size: int | None = None,
    *,
    create: bool = False,
    exclusive: bool = False,
    readonly: bool = False,
    mode: int = 0o600,
) -> Region:
    """Open a named shared memory object, size it if needed, and map it shared.

    The object is mapped with ``MapFlag.SHARED``, so stores are seen by
    every process that maps it. The descriptor is closed once mapped (the
    mapping keeps the object alive, and the Region its own duplicate, so
    ``mremap`` and ``resize`` can grow it). The name stays until
    ``shm_unlink``.

    Args:
        name: '/name' (see ``check_shm_name``).
        size: bytes to map. When creating, an object smaller than ``size``
            (a new one has size 0) is grown to it with ftruncate(2); an
            existing larger one is never shrunk. Default: the object's size.
        create: create the object if it does not exist (``size`` is then
            required).
        exclusive: fail with FileExistsError if it exists (needs ``create``).
            If mapping then fails, the new object is unlinked again.
        readonly: open O_RDONLY and map ``Prot.READ`` only.
        mode: permission bits of a new object.

    Raises:
        ValueError: bad arguments, or ``size`` larger than an existing
            object that is not being created (pages past its end would
            raise SIGBUS).
        FileExistsError, FileNotFoundError, PermissionError, OSError: as
            for ``shm_open``; ENOSPC or EFBIG from ftruncate.
    """
    if size is not None:
        size = _cint.check_range("map_shared_memory", "size", size, "off_t")
        if size <= 0:
            raise ValueError(f"size must be positive, not {size}")
    elif create:
        raise ValueError("create=True needs a size (a new object is empty)")
    if create and readonly:
        raise ValueError("create=True needs write access to size the object; drop readonly")
    fd = shm_open(name, create=create, exclusive=exclusive, readonly=readonly, mode=mode)
    try:
        current = os.fstat(fd).st_size
        if size is None:
            if current == 0:
                raise ValueError(f"shared memory object {name!r} is empty: nothing to map")
            size = current
        elif create and current < size:
            _reserve(fd, size, in_memory=True)
        prot = Prot.READ if readonly else Prot.READ | Prot.WRITE
        return Region(size, prot, MapFlag.SHARED, fd, 0)
    except BaseException:
        if exclusive:
            # We made this object: do not leave it behind.
            shm_unlink(name)
        raise
    finally:
        os.close(fd)


def _reserve(fd: int, size: int, *, in_memory: bool) -> None:
    """Grow a file rawmmap created to ``size`` bytes, with its space reserved.

    ftruncate(2) alone makes a sparse file: on a file system with a size
    limit (a small /dev/shm, common in containers) the first store to a
    page that cannot be backed raises SIGBUS. There, posix_fallocate(3)
    reserves the space now, so the failure is ENOSPC here instead (and a
    size above what the file system has free is refused before allocating
    anything). A file system without a limit (``f_blocks`` 0, the kernel's
    internal mount behind memfd_create) cannot run out, so the file stays
    sparse and pages are allocated as they are touched.

    ``in_memory`` says the file lives in memory (a POSIX shared memory
    object or a memfd): then the free space is also bounded by RAM + swap,
    whatever statvfs(3) reports. Linux's tmpfs never reports more, but a
    second implementation may (gVisor reports 8 EiB free), and there a
    posix_fallocate of more than the machine has gets the process killed
    instead of an ENOSPC.
    """
    current = os.fstat(fd).st_size
    status = os.fstatvfs(fd)
    allocate = getattr(os, "posix_fallocate", None)
    if size <= current or status.f_blocks == 0 or allocate is None:
        os.ftruncate(fd, max(size, current))
        return
    free = status.f_bavail * status.f_frsize
    where = "the file system has"
    if in_memory:
        memory = _memory_and_swap()
        if memory is not None and memory < free:
            free, where = memory, "RAM + swap hold"
    description = f"grow fd={fd} from {current} to {size} bytes"
    _check_room(size, description)
    if size - current > free:
        raise OSError(
            _errno.ENOSPC,
            f"{os.strerror(_errno.ENOSPC)}: cannot {description}: {where} "
            f"{free} bytes (a store past them would raise SIGBUS)",
        )
    try:
        allocate(fd, current, size - current)
    except OSError as error:
        raise OSError(error.errno, f"{error.strerror}: posix_fallocate to {description}") from None


def _check_room(size: int, description: str) -> None:
    """Refuse (ENOMEM) a size this process could not map, before allocating it.

    The whole file is mapped next; where it cannot be (no room in the
    address space), reserving its space first would be wasted at best, and
    under gVisor a posix_fallocate of exabytes on its in-memory /tmp gets
    the sandbox killed. An inaccessible, unreserved mapping of the size is
    the kernel's own answer, and costs no memory.
    """
    flags = MapFlag.PRIVATE | MapFlag.ANONYMOUS | getattr(MapFlag, "NORESERVE", 0)
    try:
        room = raw.mmap(0, size, Prot.NONE, flags, -1, 0)
    except OSError as error:
        code = error.errno or _errno.ENOMEM
        raise OSError(
            code,
            f"{os.strerror(code)}: cannot {description}: this process has no room to map "
            f"{size} bytes",
        ) from None
    raw.munmap(room, size)


def _memory_and_swap() -> int | None:
    """Bytes of RAM plus swap (sysconf(3) and /proc/meminfo), or None if unknown."""
    try:
        memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return None
    if memory <= 0:
        return None
    return memory + (_meminfo_bytes(b"SwapTotal") or 0)


# ------------------------------------------------------------ anonymous files


def _close_descriptor(fd: int, description: str) -> None:
    warnings.warn(
        f"unclosed {description}: call close() or use a with block",
        ResourceWarning,
        stacklevel=2,
    )
    with contextlib.suppress(OSError):
        os.close(fd)


class MemoryFile(SoleOwner):
    """An anonymous in-memory file and a shared mapping of it.

    Made with memfd_create(2) where ``os.memfd_create`` exists, else with
    a temporary file that is unlinked at once (nothing else can open it by
    name). Share it by passing ``fd`` to another process; that process maps
    it with ``rawmmap.mmap(size, fd=fd)``. ``close()`` unmaps the region and
    closes the descriptor; a MemoryFile dropped open is closed by a
    finalizer with a ResourceWarning.
    """

    _no_copy = "a MemoryFile owns its descriptor and mapping; share its fd instead"
    # Class-level defaults, so that close() and repr() work on a half-built object.
    _fd = -1
    _region: Region | None = None
    _is_memfd = False
    _finalizer: weakref.finalize[[int, str], MemoryFile] | None = None

    def __init__(
        self,
        size: int,
        name: str = "rawmmap",
        *,
        sealing: bool = False,
        memfd: bool | None = None,
        flags: int = 0,
    ) -> None:
        """Create the file, size it and map it; see ``map_memfd``."""
        size = _cint.check_range("MemoryFile", "size", size, "off_t")
        if size <= 0:
            raise ValueError(f"size must be positive, not {size}")
        if memfd is None:
            memfd = HAS_MEMFD
        if memfd and not HAS_MEMFD:
            raise NotImplementedError("os.memfd_create is not available on this platform")
        extra = _cint.check_range("memfd_create", "flags", flags, "unsigned int")
        if sealing and not memfd:
            raise ValueError("sealing=True needs memfd_create (a temporary file cannot be sealed)")
        if extra and not memfd:
            raise ValueError("memfd flags need memfd_create (a temporary file takes none)")
        if sealing and not HAS_SEALING:
            raise NotImplementedError("the fcntl module has no F_ADD_SEALS on this platform")
        if memfd:
            memfd_flags = os.MFD_CLOEXEC | extra
            if sealing:
                memfd_flags |= os.MFD_ALLOW_SEALING
            fd = os.memfd_create(name, memfd_flags)
        else:
            import tempfile  # only here: it costs the import of rawmmap a few ms

            fd, path = tempfile.mkstemp(prefix=f"{name}-")
            os.unlink(path)
        self._fd = fd
        self._is_memfd = memfd
        self._finalizer = weakref.finalize(
            self, _close_descriptor, fd, f"rawmmap.MemoryFile fd={fd}"
        )
        try:
            try:
                _reserve(fd, size, in_memory=memfd)
            except OSError as error:
                huge = os.fstat(fd).st_blksize
                if error.errno != _errno.EINVAL or not extra & _MFD_HUGETLB or size % huge == 0:
                    raise
                # hugetlbfs sizes its files in whole huge pages (EINVAL otherwise).
                raise OSError(
                    error.errno,
                    f"{error.strerror}: a MemfdFlag.HUGETLB file holds whole huge pages of "
                    f"{huge} bytes; size={size} is not a multiple (use "
                    f"{-(-size // huge) * huge})",
                ) from None
            self._region = Region(size, Prot.READ | Prot.WRITE, MapFlag.SHARED, fd, 0)
        except BaseException:
            self._finalizer.detach()
            os.close(fd)
            self._fd = -1
            raise

    @property
    def fd(self) -> int:
        """The file's descriptor (FD_CLOEXEC set; -1 once closed)."""
        return self._fd

    @property
    def region(self) -> Region:
        """The MAP_SHARED, read-write Region over the whole file.

        Raises:
            ValueError: the MemoryFile is closed.
        """
        if self._region is None:
            raise ValueError("the MemoryFile is closed")
        return self._region

    @property
    def is_memfd(self) -> bool:
        """True for a memfd_create file, False for the temporary-file fallback."""
        return self._is_memfd

    @property
    def closed(self) -> bool:
        """True once ``close()`` has run."""
        return self._fd < 0

    def add_seals(self, seals: int) -> None:
        """Add seals to the file with fcntl(F_ADD_SEALS).

        Args:
            seals: ``Seal`` bits.

        Raises:
            PermissionError: EPERM, the file was made without ``sealing``
                or already has ``Seal.SEAL``.
            OSError: EBUSY for ``Seal.WRITE`` while a writable shared
                mapping exists (``region`` is one: unmap it first).
            NotImplementedError: no sealing on this platform.
        """
        self._check_sealing()
        seals = _cint.check_range("add_seals", "seals", seals, "int")
        try:
            _fcntl.fcntl(self._fd, _fcntl.F_ADD_SEALS, seals)
        except OSError as error:
            if error.errno != _errno.EBUSY:
                raise
            # memfd_create(2): F_SEAL_WRITE needs no writable shared mapping;
            # a Region downgraded with mprotect still counts (VM_MAYWRITE).
            raise OSError(
                error.errno,
                f"{error.strerror}: fcntl(fd={self._fd}, F_ADD_SEALS, {seals:#x}): a writable "
                "shared mapping of the file exists; unmap it first "
                "(memory.region.munmap(), and any other writable Region of this fd), add the "
                "seal, then map it again read-only: rawmmap.mmap(size, Prot.READ, "
                "MapFlag.SHARED, memory.fd)",
            ) from None

    def seals(self) -> Seal:
        """Return the file's seals, with fcntl(F_GET_SEALS)."""
        self._check_sealing()
        return Seal(_fcntl.fcntl(self._fd, _fcntl.F_GET_SEALS))

    def _check_sealing(self) -> None:
        if self._fd < 0:
            raise ValueError("the MemoryFile is closed")
        if not HAS_SEALING:
            raise NotImplementedError("the fcntl module has no F_ADD_SEALS on this platform")

    def close(self) -> None:
        """Unmap the region (if still mapped) and close the descriptor; idempotent.

        Raises:
            BufferError: a view of the region is alive (nothing is closed).
        """
        if self._region is not None:
            self._region.munmap()
            self._region = None
        if self._fd >= 0:
            if self._finalizer is not None:
                self._finalizer.detach()
            fd, self._fd = self._fd, -1
            os.close(fd)

    def __enter__(self) -> MemoryFile:
        """Return the MemoryFile itself."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the MemoryFile."""
        self.close()

    def __repr__(self) -> str:
        """Describe the file."""
        if self._fd < 0:
            return "<rawmmap.MemoryFile closed>"
        kind = "memfd" if self._is_memfd else "unlinked temporary file"
        length = self._region.length if self._region is not None else 0
        return f"<rawmmap.MemoryFile fd={self._fd} {kind} size={length}>"


def map_memfd(
    size: int,
    name: str = "rawmmap",
    *,
    sealing: bool = False,
    memfd: bool | None = None,
    flags: int = 0,
) -> MemoryFile:
    """Create an anonymous in-memory file of ``size`` bytes and map it shared.

    Args:
        size: bytes (the file is sized with ftruncate(2) and zero-filled).
        name: shown in /proc/<pid>/fd as ``memfd:<name>`` (at most 249
            bytes, memfd_create(2)), or the temporary file's prefix.
        sealing: MFD_ALLOW_SEALING, so that ``add_seals`` works (needs memfd).
        memfd: True to require memfd_create, False to use the unlinked
            temporary file, None (default) for memfd where available.
        flags: more ``MemfdFlag`` bits: HUGETLB with a HUGE_ size (the size
            must then be a multiple of the huge page), NOEXEC_SEAL, EXEC.

    Returns:
        A MemoryFile: ``.fd`` to share, ``.region`` to read and write.

    Raises:
        NotImplementedError: memfd or sealing asked for but not available.
        ValueError: ``sealing`` without memfd, a bad size or name.
        OSError: EMFILE, ENOMEM, ENOSPC.
    """
    return MemoryFile(size, name, sealing=sealing, memfd=memfd, flags=flags)
