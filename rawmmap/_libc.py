"""The libc layer: loads the C library and declares the memory-mapping calls.

This is the only module that touches ctypes foreign functions. It loads libc
once at import without spawning a process, applies one prototype table
(``restype`` and ``argtypes`` for every call, the C prototype beside it),
range-checks every integer argument for its C type before the call (ctypes
would truncate it silently), and turns a failure into ``OSError(errno, ...)``
whose message keeps strerror and names the call with its arguments.

The wrappers take and return plain ``int``; nothing typed ``Any`` leaves
this module.
"""

from __future__ import annotations

import ctypes
import os
import sys
import types

# typing is imported for the type checker only: at run time it would cost
# more than the rest of rawmmap together (see docs/README-bench.md).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Dict, NoReturn, Optional, Protocol, Sequence, Tuple

    class _ForeignFunction(Protocol):
        """A foreign function of the C library, as ctypes hands it out.

        Typed here because ctypes' own class for it is private; the calls
        rawmmap makes through ``rawmmap._ffi`` are typed by its stub.
        """

        restype: object
        argtypes: Sequence[object]

        def __call__(self, *arguments: object) -> int: ...


__all__ = [
    "HAS_LEASED_VIEWS",
    "HAS_MLOCK2",
    "HAS_MREMAP",
    "LAZY_PROTOTYPES",
    "MAP_FAILED",
    "MMAP_SYMBOL",
    "OFF_T_BITS",
    "POINTER_BITS",
    "PROTOTYPES",
    "check_range",
    "describe_call",
    "has_shm",
    "index",
    "lazy_function",
    "leased_view",
    "madvise",
    "memory_view",
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
    "new_lease",
    "page_size",
    "read_memory",
    "resolve_symbol",
    "select_mmap",
    "shm_open",
    "shm_unlink",
    "write_memory",
]

if os.name != "posix":  # pragma: no cover - not reachable on a POSIX test host
    raise ImportError("rawmmap needs a POSIX system with mmap(2); this is " + os.name)

#: Width of a pointer (and of size_t) in bits on this interpreter.
POINTER_BITS = ctypes.sizeof(ctypes.c_void_p) * 8
_SIZE_T_BITS = ctypes.sizeof(ctypes.c_size_t) * 8
_INT_BITS = ctypes.sizeof(ctypes.c_int) * 8

#: mmap(2) returns MAP_FAILED, ``(void *)-1``, on failure. With
#: ``restype = c_void_p`` ctypes hands it back as this unsigned integer, never
#: as -1 (the trap PeachPy fell into).
MAP_FAILED: int = ctypes.c_void_p(-1).value or 0


def _has_symbol(library: object, name: str) -> bool:
    try:
        getattr(library, name)
    except AttributeError:
        return False
    return True


def _is_musl() -> bool:
    """Tell whether the interpreter runs on musl, from its own memory map."""
    try:
        with open("/proc/self/maps", "rb") as maps:
            return b"musl" in maps.read()
    except OSError:
        return False


def select_mmap(
    library: object,
    *,
    pointer_bits: int,
    system: str,
    is_musl: Callable[[], bool] = _is_musl,
) -> Tuple[str, int]:
    """Choose the mmap symbol that takes a 64-bit ``off_t``.

    32-bit glibc and Android default to a 32-bit ``off_t``: there the plain
    ``mmap`` symbol would truncate an offset above 4 GiB, and ``mmap64`` is
    the one to call. Where ``off_t`` is always 64 bits (every LP64 system,
    musl, macOS, the BSDs) plain ``mmap`` is right; musl 1.2.4 and later no
    longer export ``mmap64`` at all.

    Args:
        library: the loaded C library (or a stand-in with the same symbols).
        pointer_bits: width of a pointer, 32 or 64.
        system: ``sys.platform``.
        is_musl: tells whether the C library is musl (only asked when it
            decides the answer).

    Returns:
        ``(symbol, off_t_bits)``.

    Raises:
        ImportError: the width of ``off_t`` cannot be known for this
            combination; rawmmap refuses to guess.
    """
    if _has_symbol(library, "mmap64"):
        return "mmap64", 64
    if not _has_symbol(library, "mmap"):
        raise ImportError("the C library exports neither mmap64 nor mmap")
    if pointer_bits == 64:
        # LP64: off_t is a long, 64 bits, on every POSIX system.
        return "mmap", 64
    if system == "darwin" or system.startswith(("freebsd", "netbsd", "openbsd", "dragonfly")):
        # The BSDs and macOS have had a 64-bit off_t since 4.4BSD.
        return "mmap", 64
    if system.startswith("linux") and is_musl():
        # musl's off_t is 64 bits on every architecture.
        return "mmap", 64
    raise ImportError(
        f"cannot tell the width of off_t on this {pointer_bits}-bit {system} "
        "C library: it has no mmap64 and is not known to use a 64-bit off_t; "
        "rawmmap will not guess (an offset above 4 GiB would map the wrong bytes)"
    )


_library = ctypes.CDLL(None, use_errno=True)

#: The mmap symbol in use and the width of its offset argument.
MMAP_SYMBOL, OFF_T_BITS = select_mmap(_library, pointer_bits=POINTER_BITS, system=sys.platform)
_off_t = ctypes.c_int64 if OFF_T_BITS == 64 else ctypes.c_int32

#: The prototype table: C name -> (restype, argtypes, required).
#: Each line carries the C prototype from the man page (Linux man-pages 6.x,
#: POSIX.1-2017 for the portable ones).
PROTOTYPES: Dict[str, Tuple[object, Sequence[object], bool]] = {
    # void *mmap(void addr[.length], size_t length, int prot, int flags, int fd, off_t offset);
    MMAP_SYMBOL: (
        ctypes.c_void_p,
        (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, _off_t),
        True,
    ),
    # int munmap(void addr[.length], size_t length);
    "munmap": (ctypes.c_int, (ctypes.c_void_p, ctypes.c_size_t), True),
    # int msync(void addr[.length], size_t length, int flags);
    "msync": (ctypes.c_int, (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int), True),
    # int mprotect(void addr[.len], size_t len, int prot);
    "mprotect": (ctypes.c_int, (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int), True),
    # int madvise(void addr[.length], size_t length, int advice);
    "madvise": (ctypes.c_int, (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int), True),
    # int mlock(const void addr[.len], size_t len);
    "mlock": (ctypes.c_int, (ctypes.c_void_p, ctypes.c_size_t), True),
    # int mlock2(const void addr[.len], size_t len, unsigned int flags);  (Linux 4.4, glibc 2.27)
    "mlock2": (ctypes.c_int, (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint), False),
    # int munlock(const void addr[.len], size_t len);
    "munlock": (ctypes.c_int, (ctypes.c_void_p, ctypes.c_size_t), True),
    # int mlockall(int flags);
    "mlockall": (ctypes.c_int, (ctypes.c_int,), True),
    # int munlockall(void);
    "munlockall": (ctypes.c_int, (), True),
    # int mincore(void addr[.length], size_t length, unsigned char *vec);
    # (macOS and FreeBSD declare vec as char *; same ABI)
    "mincore": (ctypes.c_int, (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p), True),
    # void *mremap(void old_address[.old_size], size_t old_size, size_t new_size,
    #              int flags, ... /* void *new_address */);   (Linux only)
    # Only the fixed arguments are declared: ctypes treats an extra argument
    # as variadic and prepares the call with ffi_prep_cif_var, which the
    # ABIs that pass variadic arguments differently (ppc64 ELFv2, Apple
    # arm64) need.
    "mremap": (
        ctypes.c_void_p,
        (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int),
        False,
    ),
    # long sysconf(int name);
    "sysconf": (ctypes.c_long, (ctypes.c_int,), True),
}


def _build_ffi(library: ctypes.CDLL) -> Dict[str, _ForeignFunction]:
    """Apply the prototype table and publish the functions as ``rawmmap._ffi``.

    ``rawmmap._ffi`` is a module made here at import, not a file: one
    attribute per C function, with its prototype applied. The mmap symbol in
    use (mmap or mmap64) is published as ``mmap``. Its Python signatures are
    declared in ``stubs/rawmmap/_ffi.pyi``, which stubtest checks against
    this module, so the table and the types cannot drift apart.
    """
    functions: Dict[str, _ForeignFunction] = {}
    module = types.ModuleType("rawmmap._ffi", _build_ffi.__doc__)
    for name, (restype, argtypes, required) in PROTOTYPES.items():
        try:
            function: _ForeignFunction = getattr(library, name)
        except AttributeError:
            if required:
                raise ImportError(f"the C library has no {name}()") from None
            continue
        function.restype = restype
        function.argtypes = tuple(argtypes)
        functions[name] = function
        setattr(module, "mmap" if name == MMAP_SYMBOL else name, function)
    sys.modules[module.__name__] = module
    return functions


#: The foreign functions by C name, with their prototypes applied (tests
#: inspect their ``restype`` and ``argtypes``).
FUNCTIONS = _build_ffi(_library)

from rawmmap import _ffi  # noqa: E402 - made by _build_ffi just above

#: mremap(2) exists (Linux).
HAS_MREMAP = "mremap" in FUNCTIONS
#: mlock2(2) exists (Linux 4.4 with glibc 2.27 or musl 1.1.20).
HAS_MLOCK2 = "mlock2" in FUNCTIONS

# ---------------------------------------------------------------- arguments

#: Inclusive ranges of the C types the calls take.
_RANGES = {
    "void *": (0, (1 << POINTER_BITS) - 1),
    "size_t": (0, (1 << _SIZE_T_BITS) - 1),
    "int": (-(1 << (_INT_BITS - 1)), (1 << (_INT_BITS - 1)) - 1),
    "unsigned int": (0, (1 << _INT_BITS) - 1),
    "off_t": (-(1 << (OFF_T_BITS - 1)), (1 << (OFF_T_BITS - 1)) - 1),
    # mode_t is unsigned int on Linux and the BSDs but uint16_t on macOS; the
    # permission and set-id bits (0o7777) are all that shm_open(3) reads, and
    # they fit both.
    "mode_t": (0, 0o7777),
}


def index(value: object, label: str = "value") -> int:
    """Return ``value`` as an exact int, as ``operator.index`` does.

    (rawmmap avoids importing ``operator`` at start-up.)

    Raises:
        TypeError: ``value`` is a bool, or has no ``__index__`` (floats,
            strings, None); ``label`` names it in the message.
    """
    if type(value) is int:
        return value
    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise TypeError(f"{label} must be an integer, not {type(value).__name__}")
    result = type(value).__index__(value)  # type: ignore[attr-defined]
    if not isinstance(result, int):
        raise TypeError(f"__index__ returned non-int (type {type(result).__name__})")
    return int(result)


def check_range(call: str, name: str, value: object, ctype: str) -> int:
    """Return ``value`` as an int after checking it fits the C type ``ctype``.

    Args:
        call: the C call, for the message.
        name: the argument's name, for the message.
        value: an int, or an object with ``__index__`` (a bool is refused).
        ctype: one of ``"void *"``, ``"size_t"``, ``"int"``,
            ``"unsigned int"``, ``"off_t"``, ``"mode_t"`` (permission bits).

    Raises:
        TypeError: ``value`` is not an integer (floats, strings, bools, None).
        OverflowError: ``value`` does not fit ``ctype``; ctypes would have
            truncated it silently.
    """
    low, high = _RANGES[ctype]
    if type(value) is int and low <= value <= high:  # the common case, without a call
        return value
    number = index(value, f"{call}: {name}")
    if not low <= number <= high:
        raise OverflowError(
            f"{call}: {name}={number} does not fit the C type {ctype} ({low}..{high})"
        )
    return number


def describe_call(call: str, arguments: Sequence[Tuple[str, object]]) -> str:
    """Format a call and its arguments for an error message."""
    parts = []
    for name, value in arguments:
        if isinstance(value, int) and name in ("addr", "old_address", "new_address"):
            parts.append(f"{name}={value:#x}")
        else:
            parts.append(f"{name}={value!r}")
    return f"{call}({', '.join(parts)})"


def _raise_errno(call: str, arguments: Sequence[Tuple[str, object]]) -> NoReturn:
    """Raise OSError for the errno the last failing call left."""
    errno = ctypes.get_errno()
    raise OSError(errno, f"{os.strerror(errno)}: {describe_call(call, arguments)}")


def _address_argument(value: int) -> Optional[int]:
    # ctypes passes None as NULL; 0 as c_void_p is NULL as well.
    return value or None


def _check_status(status: int, call: str, arguments: Sequence[Tuple[str, object]]) -> None:
    if status != 0:
        _raise_errno(call, arguments)


# ---------------------------------------------------------------- the calls


def mmap(  # noqa: PLR0917 - the C call's six arguments, in its order
    addr: int, length: int, prot: int, flags: int, fd: int, offset: int
) -> int:
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


def _address_and_length(call: str, addr: int, length: int) -> Tuple[int, int]:
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
    vector = (ctypes.c_ubyte * min(_MINCORE_CHUNK_PAGES, max(1, -(-length // _PAGE_SIZE))))()
    if length <= chunk_bytes or addr + length > (1 << POINTER_BITS):
        # One call; a range that wraps the address space is refused by the
        # kernel before it writes anything (access_ok, mm/mincore.c).
        status = _ffi.mincore(_address_argument(addr), length, ctypes.addressof(vector))
        _check_status(status, "mincore", arguments)
        return bytes(vector)[: -(-length // _PAGE_SIZE)]
    pieces = []
    done = 0
    while done < length:
        count = min(chunk_bytes, length - done)
        status = _ffi.mincore(addr + done, count, ctypes.addressof(vector))
        _check_status(status, "mincore", arguments)
        pieces.append(bytes(vector)[: -(-count // _PAGE_SIZE)])
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
        ctypes.c_void_p(new_address or None),
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


def _query_page_size() -> int:
    size = _ffi.sysconf(os.sysconf_names["SC_PAGESIZE"])
    if size <= 0:  # pragma: no cover - sysconf(_SC_PAGESIZE) cannot fail
        _raise_errno("sysconf", (("name", "_SC_PAGESIZE"),))
    return size


_PAGE_SIZE = _query_page_size()


def page_size() -> int:
    """Return the page size, from sysconf(_SC_PAGESIZE) at import."""
    return _PAGE_SIZE


# ---------------------------------------------------------------- memory


_bytes_new = ctypes.pythonapi.PyBytes_FromStringAndSize
_bytes_new.restype = ctypes.py_object
_bytes_new.argtypes = (ctypes.c_void_p, ctypes.c_ssize_t)
#: Offset of a bytes object's data (``ob_sval``): its basic size counts the
#: terminating NUL.
_BYTES_DATA_OFFSET = bytes.__basicsize__ - 1


def read_memory(addr: int, length: int) -> bytes:
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
    # A new bytes object, filled before anyone else can see it (as C code
    # does): one copy, not two.
    data: bytes = _bytes_new(None, length)
    ctypes.memmove(id(data) + _BYTES_DATA_OFFSET, addr, length)
    return data


def write_memory(addr: int, data: bytes) -> None:
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
    ctypes.memmove(addr, data, len(data))


# ---------------------------------------------------------------- views and leases
#
# A view rawmmap hands out must reach exactly its own bytes, with its own
# writability, and must keep the mapping alive for as long as any buffer
# derived from it lives, even inside a cyclic garbage collection, where
# CPython runs every __del__ of the garbage before it frees anything.
#
# - The view is made by PyMemoryView_FromMemory over exactly its bytes, read-
#   only or writable: its ``.obj`` is None, so no caller can reach a wider or
#   writable exporter through it; slices, casts and ``memoryview(view)``
#   share its managed buffer.
# - A *lease*, a private bytes object, is planted in the view's managed
#   buffer as its exporter (``master.obj``). memoryview drops that reference
#   (PyBuffer_Release) when the last view sharing the buffer is released or
#   freed, so the lease's reference count says whether any buffer made from
#   the view is alive: in a cyclic collection, until the buffer is really
#   freed, after every __del__ of that collection has run. Nothing runs when
#   it drops: a callback there (a capsule destructor, a weakref callback)
#   would run Python code in the middle of a deallocation, even while an
#   exception is propagating, and clobber that exception.
#
# The managed buffer's layout (CPython's Objects/memoryobject.c,
# _PyManagedBufferObject: PyObject_HEAD; int flags; Py_ssize_t exports;
# Py_buffer master) has not changed since 3.3; it is checked at import
# against a scratch view, and views are refused where it does not match.

_api = ctypes.pythonapi
_memory_from_memory = _api.PyMemoryView_FromMemory
_memory_from_memory.restype = ctypes.py_object
_memory_from_memory.argtypes = (ctypes.c_void_p, ctypes.c_ssize_t, ctypes.c_int)
_incref = _api.Py_IncRef
_incref.restype = None
_incref.argtypes = (ctypes.py_object,)
_PYBUF_READ = 0x100
_PYBUF_WRITE = 0x200
_SSIZE = ctypes.sizeof(ctypes.c_ssize_t)
_POINTER = ctypes.sizeof(ctypes.c_void_p)
_OBJECT_HEAD = object.__basicsize__
#: Offset of ``mbuf`` in a memoryview (after PyObject_VAR_HEAD).
_MBUF_OFFSET = _OBJECT_HEAD + _SSIZE
#: Offset of ``master`` in a managed buffer (after the head, an int padded
#: to Py_ssize_t alignment, and Py_ssize_t exports).
_MASTER_OFFSET = _OBJECT_HEAD + _SSIZE + _SSIZE
_MASTER_OBJ_OFFSET = _MASTER_OFFSET + _POINTER


def new_lease() -> bytes:
    """Return a new lease: a fresh bytes object that views hold as their exporter.

    A lease runs no code when it dies (a bytes object has no finalizer, no
    release hook, and the garbage collector does not track it), so nothing
    can go wrong where it is freed: not in a cyclic collection, not while
    an exception is propagating. Whether a view still holds it is read off
    its reference count (``sys.getrefcount``).
    """
    return (1 << 64).to_bytes(16, "little")


def _managed_buffer(view: memoryview) -> int:
    return ctypes.c_void_p.from_address(id(view) + _MBUF_OFFSET).value or 0


def _layout_matches() -> bool:
    scratch = (ctypes.c_ubyte * 8)()
    address = ctypes.addressof(scratch) + 2
    view: memoryview = _memory_from_memory(address, 5, _PYBUF_READ)
    managed = _managed_buffer(view)
    if not managed:  # pragma: no cover - a CPython with another memoryview layout
        return False
    buf = ctypes.c_void_p.from_address(managed + _MASTER_OFFSET).value
    obj = ctypes.c_void_p.from_address(managed + _MASTER_OBJ_OFFSET).value
    length = ctypes.c_ssize_t.from_address(managed + _MASTER_OBJ_OFFSET + _POINTER).value
    return buf == address and obj is None and length == 5 and view.nbytes == 5


#: The managed-buffer layout matches this interpreter: leased views work.
HAS_LEASED_VIEWS = _layout_matches()


def leased_view(addr: int, length: int, writable: bool, lease: object) -> memoryview:
    """Return a flat ``'B'`` memoryview of exactly ``length`` bytes at ``addr``.

    The view (and everything made from it) holds ``lease`` until the last
    buffer sharing it is released; its ``.obj`` is None; it is writable only
    if ``writable``.

    Raises:
        NotImplementedError: this interpreter's memoryview layout is unknown.
    """
    if not HAS_LEASED_VIEWS:  # pragma: no cover - checked at import
        raise NotImplementedError("this CPython's memoryview layout is not one rawmmap knows")
    view: memoryview = _memory_from_memory(
        addr or 1 if length == 0 else addr, length, _PYBUF_WRITE if writable else _PYBUF_READ
    )
    managed = _managed_buffer(view)
    # The managed buffer now owns one reference to the lease, released by
    # PyBuffer_Release(&master) when the buffer goes.
    _incref(lease)
    ctypes.c_void_p.from_address(managed + _MASTER_OBJ_OFFSET).value = id(lease)
    return view


def memory_view(addr: int, length: int) -> memoryview:
    """Return a writable ``'B'`` memoryview of ``length`` bytes at ``addr``.

    Nothing keeps the memory mapped, and nothing counts the view: it is for
    rawmmap's own use under a Region's lock, never handed out.
    """
    view: memoryview = _memory_from_memory(addr, length, _PYBUF_WRITE)
    return view


# ---------------------------------------------------------------- shared memory
#
# shm_open(3) and shm_unlink(3) are optional and resolved on first use, not at
# import: most users never call them, and on glibc before 2.34 they live in
# librt, a second library that would cost every import a dlopen.

#: Where mode_t is passed through ``...``: macOS declares
#: ``int shm_open(const char *, int, ...)`` in <sys/mman.h>. ctypes prepares a
#: variadic call (ffi_prep_cif_var) when a call has more arguments than
#: ``argtypes``, which Apple arm64 needs because it passes variadic arguments
#: on the stack. The mode is then promoted to unsigned int, which is what
#: macOS reads with va_arg. (Not tested on macOS from this machine.)
_SHM_MODE_IS_VARIADIC = sys.platform == "darwin"

#: Prototypes resolved lazily by ``lazy_function``: C name -> (restype, argtypes).
#: Kept out of ``PROTOTYPES`` so that ``import rawmmap`` never looks for them.
LAZY_PROTOTYPES: Dict[str, Tuple[object, Sequence[object]]] = {
    # int shm_open(const char *name, int oflag, mode_t mode);
    # (POSIX.1-2017; glibc, musl, FreeBSD. macOS: int shm_open(const char *, int, ...);)
    "shm_open": (
        ctypes.c_int,
        (ctypes.c_char_p, ctypes.c_int)
        if _SHM_MODE_IS_VARIADIC
        else (ctypes.c_char_p, ctypes.c_int, ctypes.c_uint),
    ),
    # int shm_unlink(const char *name);
    "shm_unlink": (ctypes.c_int, (ctypes.c_char_p,)),
}

#: The soname of the real-time library, where glibc before 2.34 keeps
#: shm_open and shm_unlink. Loaded by soname: ctypes.util.find_library would
#: spawn ldconfig or gcc.
RT_SONAME = "librt.so.1"


def _load_libc() -> Optional[object]:
    return _library


def _load_librt() -> Optional[object]:
    try:
        return ctypes.CDLL(RT_SONAME, use_errno=True)
    except OSError:
        return None


def resolve_symbol(
    name: str, loaders: Sequence[Callable[[], Optional[object]]]
) -> Optional[_ForeignFunction]:
    """Return the first library's ``name`` symbol, asking the loaders in order.

    A loader is only called when every loader before it lacked the symbol,
    so librt is loaded only where libc does not have the call.

    Args:
        name: the C symbol.
        loaders: callables returning a loaded library (or None when it
            cannot be loaded).

    Returns:
        The foreign function, prototypes not yet applied; None if no library
        has it.
    """
    for load in loaders:
        library = load()
        if library is not None and _has_symbol(library, name):
            found: _ForeignFunction = getattr(library, name)
            return found
    return None


_lazy_functions: Dict[str, Optional[_ForeignFunction]] = {}


def lazy_function(name: str) -> Optional[_ForeignFunction]:
    """Resolve a ``LAZY_PROTOTYPES`` call in libc, else librt, and apply its prototype.

    The result is cached. Returns None where neither library has the call.
    """
    try:
        return _lazy_functions[name]
    except KeyError:
        pass
    restype, argtypes = LAZY_PROTOTYPES[name]
    function = resolve_symbol(name, (_load_libc, _load_librt))
    if function is not None:
        function.restype = restype
        function.argtypes = tuple(argtypes)
    _lazy_functions[name] = function
    return function


def has_shm() -> bool:
    """Tell whether the C library (or librt) has shm_open and shm_unlink."""
    return lazy_function("shm_open") is not None and lazy_function("shm_unlink") is not None


def _shm_function(name: str) -> _ForeignFunction:
    function = lazy_function(name)
    if function is None:
        raise NotImplementedError(f"{name} is not available in this C library or in {RT_SONAME}")
    return function


def _check_name(call: str, name: object) -> bytes:
    # c_char_p would stop at an embedded NUL: the C call would see a shorter
    # name than the caller gave (a silent truncation).
    if not isinstance(name, bytes):
        raise TypeError(f"{call}: name must be bytes, not {type(name).__name__}")
    if b"\0" in name:
        raise ValueError(f"{call}: name={name!r} contains a NUL byte")
    return name


def shm_open(name: bytes, oflag: int, mode: int) -> int:
    """Open or create a POSIX shared memory object with shm_open(3).

    The name is passed as it is: the C library, not this wrapper, decides
    which names it accepts.

    Args:
        name: the object's name (bytes without NUL).
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
    function = _shm_function("shm_open")
    name = _check_name("shm_open", name)
    oflag = check_range("shm_open", "oflag", oflag, "int")
    mode = check_range("shm_open", "mode", mode, "mode_t")
    fd = function(name, oflag, ctypes.c_uint(mode))
    if fd < 0:
        _raise_errno("shm_open", (("name", name), ("oflag", oflag), ("mode", oct(mode))))
    return fd


def shm_unlink(name: bytes) -> None:
    """Remove a POSIX shared memory object's name with shm_unlink(3).

    Mappings and descriptors of the object stay valid; the memory is freed
    when the last of them goes.

    Raises:
        OSError: ENOENT (FileNotFoundError), EACCES (PermissionError),
            EINVAL, ENAMETOOLONG.
        NotImplementedError: neither libc nor librt has shm_unlink.
    """
    function = _shm_function("shm_unlink")
    name = _check_name("shm_unlink", name)
    if function(name) != 0:
        _raise_errno("shm_unlink", (("name", name),))
