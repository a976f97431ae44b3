"""The libc layer: the only module that touches ctypes.

It loads the C library once at import without spawning a process, chooses
the mmap symbol with a 64-bit ``off_t``, applies one prototype table
(``restype`` and ``argtypes`` for every call, the C prototype beside it) and
publishes the prototyped functions as the module ``rawmmap._ffi`` (typed by
``stubs/rawmmap/_ffi.pyi``). It also holds the few operations that need
ctypes beyond a plain call: errno, a variadic argument, memory copies, the
mincore vector, the lazily resolved shm symbols, the leased views that
``Region`` hands out, and the newer memory calls (mseal, memfd_secret,
protection keys, process_madvise, process_mrelease), each through the C
library's function where it has one and through syscall(2) with the number
from ``rawmmap._flagtables`` where it has not. Nothing here checks arguments: ``rawmmap.raw`` does,
with the integer policy of ``rawmmap._cint``. Nothing typed ``Any`` leaves
this module.
"""

from __future__ import annotations

import ctypes
import os
import sys
import types

from rawmmap import _flagtables

# typing is imported for the type checker only: at run time it would cost
# more than the rest of rawmmap together (see docs/README-bench.md).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Callable, Protocol

    class _ForeignFunction(Protocol):
        """A foreign function of the C library, as ctypes hands it out.

        Typed here because ctypes' own class for it is private; the calls
        rawmmap makes through ``rawmmap._ffi`` are typed by its stub.
        """

        restype: object
        argtypes: Sequence[object]

        def __call__(self, *arguments: object) -> int: ...

    class ByteArray(Protocol):
        """A ``c_char`` array over memory: a slice of it is a bytes copy."""

        def __getitem__(self, key: slice) -> bytes: ...


__all__ = [
    "FUNCTIONS",
    "HAS_LEASED_VIEWS",
    "HAS_MEMFD_SECRET",
    "HAS_MLOCK2",
    "HAS_MREMAP",
    "HAS_MSEAL",
    "HAS_PKEYS",
    "HAS_PKEY_RIGHTS",
    "HAS_PROCESS_MADVISE",
    "HAS_PROCESS_MRELEASE",
    "HAS_SYSCALL",
    "INT_BITS",
    "LAZY_PROTOTYPES",
    "LONG_BITS",
    "MAP_FAILED",
    "MMAP_SYMBOL",
    "OFF_T_BITS",
    "PAGE_SIZE",
    "POINTER_BITS",
    "PROTOTYPES",
    "RT_SONAME",
    "SIZE_T_BITS",
    "SYSCALL_NUMBERS",
    "byte_array",
    "call_memfd_create",
    "call_memfd_secret",
    "call_mseal",
    "call_pkey_alloc",
    "call_pkey_free",
    "call_pkey_get",
    "call_pkey_mprotect",
    "call_pkey_set",
    "call_process_madvise",
    "call_process_mrelease",
    "call_shm_open",
    "call_shm_unlink",
    "copy_from",
    "copy_to",
    "has_shm",
    "is_musl",
    "last_errno",
    "lazy_function",
    "leased_view",
    "mapping_views",
    "memory_view",
    "mincore_vector",
    "new_lease",
    "pointer_argument",
    "protection_keys_enabled",
    "resolve_symbol",
    "select_mmap",
    "uses_syscall",
]

if os.name != "posix":  # pragma: no cover - not reachable on a POSIX test host
    raise ImportError("rawmmap needs a POSIX system with mmap(2); this is " + os.name)

#: Width of a pointer (and of size_t) in bits on this interpreter.
POINTER_BITS = ctypes.sizeof(ctypes.c_void_p) * 8
SIZE_T_BITS = ctypes.sizeof(ctypes.c_size_t) * 8
INT_BITS = ctypes.sizeof(ctypes.c_int) * 8
LONG_BITS = ctypes.sizeof(ctypes.c_long) * 8

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


def is_musl() -> bool:
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
    is_musl: Callable[[], bool] = is_musl,
) -> tuple[str, int]:
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
PROTOTYPES: dict[str, tuple[object, Sequence[object], bool]] = {
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
    # long syscall(long number, ...);   (syscall(2); glibc, musl, the BSDs)
    # Only the number is declared: the arguments go through ``...``, so
    # ctypes prepares a variadic call, and each one is passed as a c_long,
    # the type glibc and musl read every argument back with (va_arg(ap,
    # long)). A Python int passed there would go as a C int: too narrow for
    # an address on LP64.
    "syscall": (ctypes.c_long, (ctypes.c_long,), False),
}


def _build_ffi(library: ctypes.CDLL) -> dict[str, _ForeignFunction]:
    """Apply the prototype table and publish the functions as ``rawmmap._ffi``.

    ``rawmmap._ffi`` is a module made here at import, not a file: one
    attribute per C function, with its prototype applied. The mmap symbol in
    use (mmap or mmap64) is published as ``mmap``. Its Python signatures are
    declared in ``stubs/rawmmap/_ffi.pyi``, which stubtest checks against
    this module, so the table and the types cannot drift apart.
    """
    functions: dict[str, _ForeignFunction] = {}
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

#: mremap(2) exists (Linux).
HAS_MREMAP = "mremap" in FUNCTIONS
#: mlock2(2) exists (Linux 4.4 with glibc 2.27 or musl 1.1.20).
HAS_MLOCK2 = "mlock2" in FUNCTIONS
#: syscall(2) exists (glibc, musl).
HAS_SYSCALL = "syscall" in FUNCTIONS


def _query_page_size() -> int:
    size = FUNCTIONS["sysconf"](os.sysconf_names["SC_PAGESIZE"])
    if size <= 0:  # pragma: no cover - sysconf(_SC_PAGESIZE) cannot fail
        raise ImportError(f"sysconf(_SC_PAGESIZE) failed: {os.strerror(ctypes.get_errno())}")
    return size


#: The page size, from sysconf(_SC_PAGESIZE) at import.
PAGE_SIZE = _query_page_size()


# ---------------------------------------------------------------- memory

_bytes_new = ctypes.pythonapi.PyBytes_FromStringAndSize
_bytes_new.restype = ctypes.py_object
_bytes_new.argtypes = (ctypes.c_void_p, ctypes.c_ssize_t)
#: Offset of a bytes object's data (``ob_sval``): its basic size counts the
#: terminating NUL.
_BYTES_DATA_OFFSET = bytes.__basicsize__ - 1


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


#: ``c_char * sys.maxsize``, made on first use (a ctypes type costs ~20 us).
_byte_array_type: type[ctypes.Array[ctypes.c_char]] | None = None


def byte_array(addr: int) -> ByteArray:
    """Return a ``c_char`` array over the memory at ``addr``, of no fixed end.

    A slice of it copies into a new bytes object in one step, faster than
    a memoryview slice and ``tobytes()`` (no intermediate view). It knows
    no bounds (its length is ``sys.maxsize``) and keeps nothing mapped: it
    is for rawmmap's own copies under a Region's lock, after every check,
    never handed out.
    """
    # ctypes' stub types every array's slice as list[Any]: a c_char one's is bytes.
    array: ByteArray = _all_bytes(addr)  # type: ignore[assignment]
    return array


def _all_bytes(addr: int) -> ctypes.Array[ctypes.c_char]:
    global _byte_array_type  # noqa: PLW0603 - a cache, made once
    if _byte_array_type is None:
        _byte_array_type = ctypes.c_char * sys.maxsize
    return _byte_array_type.from_address(addr)


def mapping_views(addr: int, length: int) -> tuple[memoryview, ByteArray]:
    """Return ``memory_view(addr, length)`` and ``byte_array(addr)``, made from one array.

    The view is the array's buffer cast to ``'B'`` and cut to ``length``:
    a third of the cost of PyMemoryView_FromMemory through ctypes (about
    0.15 us against 0.45 us), which every new Region pays.
    """
    array = _all_bytes(addr)
    view = memoryview(array).cast("B")[:length]
    return view, array  # type: ignore[return-value]  # see byte_array


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
LAZY_PROTOTYPES: dict[str, tuple[object, Sequence[object]]] = {
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
    # int memfd_create(const char *name, unsigned int flags);  (Linux 3.17, glibc 2.27)
    "memfd_create": (ctypes.c_int, (ctypes.c_char_p, ctypes.c_uint)),
    # The calls below are looked up in libc only; where it lacks one, the
    # call goes through syscall(2) (see ``_call_kernel``). Prototypes from
    # the Linux man-pages 6.x and glibc's <sys/mman.h> (bits/mman-shared.h).
    # int pkey_alloc(unsigned int flags, unsigned int access_rights);  (glibc 2.27)
    "pkey_alloc": (ctypes.c_int, (ctypes.c_uint, ctypes.c_uint)),
    # int pkey_free(int pkey);  (glibc 2.27)
    "pkey_free": (ctypes.c_int, (ctypes.c_int,)),
    # int pkey_mprotect(void addr[.len], size_t len, int prot, int pkey);  (glibc 2.27)
    "pkey_mprotect": (
        ctypes.c_int,
        (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int),
    ),
    # int pkey_get(int pkey);  (glibc 2.27: reads the rights register; no system call)
    "pkey_get": (ctypes.c_int, (ctypes.c_int,)),
    # int pkey_set(int pkey, unsigned int access_rights);  (glibc 2.27; no system call)
    "pkey_set": (ctypes.c_int, (ctypes.c_int, ctypes.c_uint)),
    # ssize_t process_madvise(int pidfd, const struct iovec iovec[.n], size_t n,
    #                         int advice, unsigned int flags);  (Linux 5.10, glibc 2.35)
    "process_madvise": (
        ctypes.c_ssize_t,
        (ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_uint),
    ),
    # int process_mrelease(int pidfd, unsigned int flags);  (Linux 5.15, glibc 2.35)
    "process_mrelease": (ctypes.c_int, (ctypes.c_int, ctypes.c_uint)),
    # int mseal(void addr[.len], size_t len, unsigned long flags);  (Linux 6.10;
    # the kernel's SYSCALL_DEFINE3(mseal, unsigned long, start, size_t, len,
    # unsigned long, flags) in mm/mseal.c; glibc 2.36 has no wrapper)
    "mseal": (ctypes.c_int, (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_ulong)),
    # int memfd_secret(unsigned int flags);  (Linux 5.14; glibc 2.36 has no wrapper)
    "memfd_secret": (ctypes.c_int, (ctypes.c_uint,)),
}

#: The lazy calls that glibc before 2.34 keeps in librt, not libc.
_IN_LIBRT = frozenset(("shm_open", "shm_unlink", "memfd_create"))

#: The soname of the real-time library, where glibc before 2.34 keeps
#: shm_open and shm_unlink. Loaded by soname: ctypes.util.find_library would
#: spawn ldconfig or gcc.
RT_SONAME = "librt.so.1"


def _load_libc() -> object | None:
    return _library


def _load_librt() -> object | None:
    try:
        return ctypes.CDLL(RT_SONAME, use_errno=True)
    except OSError:
        return None


def resolve_symbol(
    name: str, loaders: Sequence[Callable[[], object | None]]
) -> _ForeignFunction | None:
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


_lazy_functions: dict[str, _ForeignFunction | None] = {}


def lazy_function(name: str) -> _ForeignFunction | None:
    """Resolve a ``LAZY_PROTOTYPES`` call in libc (else librt, for shm) and apply its prototype.

    The result is cached. Returns None where no library has the call.
    """
    try:
        return _lazy_functions[name]
    except KeyError:
        pass
    restype, argtypes = LAZY_PROTOTYPES[name]
    loaders = (_load_libc, _load_librt) if name in _IN_LIBRT else (_load_libc,)
    function = resolve_symbol(name, loaders)
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


# ---------------------------------------------------------------- beyond a plain call


def last_errno() -> int:
    """Return the errno the last foreign call left (``use_errno=True``: never stale)."""
    return ctypes.get_errno()


def pointer_argument(value: int) -> ctypes.c_void_p:
    """Return ``value`` as a ``void *`` for a variadic argument (``...``).

    An extra argument has no ``argtypes`` entry: ctypes would pass an int
    as a C int, which is too narrow for an address on LP64.
    """
    return ctypes.c_void_p(value or None)


def mincore_vector(addr: int, length: int, pages: int) -> tuple[int, bytes]:
    """Call mincore(2) over ``[addr, addr + length)`` with a vector of ``pages`` bytes.

    The caller makes sure the kernel writes at most ``pages`` bytes.

    Returns:
        (mincore's status, the first ``pages`` bytes of the vector).
    """
    vector = (ctypes.c_ubyte * max(pages, 1))()
    status = FUNCTIONS["mincore"](addr or None, length, ctypes.addressof(vector))
    return status, bytes(vector)[:pages]


def copy_from(addr: int, length: int) -> bytes:
    """Copy ``length`` (> 0) bytes at ``addr`` into a new bytes object (no checks).

    A memmove(3) with the GIL released, into a bytes object filled before
    anyone else can see it (as C code does): one copy, a full size_t, and
    NULL faults as it would in C (ctypes' ``string_at`` holds the GIL,
    takes a C int length, and makes an empty buffer of NULL).
    """
    data: bytes = _bytes_new(None, length)
    ctypes.memmove(id(data) + _BYTES_DATA_OFFSET, addr, length)
    return data


def copy_to(addr: int, data: bytes) -> None:
    """Copy ``data`` to ``addr`` with memmove(3), the GIL released (no checks)."""
    ctypes.memmove(addr, data, len(data))


def call_shm_open(name: bytes, oflag: int, mode: int) -> int:
    """Call shm_open(3) (mode promoted to unsigned int where it is variadic); return its result."""
    result: int = _shm_function("shm_open")(name, oflag, ctypes.c_uint(mode))
    return result


def call_shm_unlink(name: bytes) -> int:
    """Call shm_unlink(3); return its result."""
    result: int = _shm_function("shm_unlink")(name)
    return result


def call_memfd_create(name: bytes | None, flags: int) -> int:
    """Call memfd_create(2) (None passes NULL); return its result.

    Raises:
        NotImplementedError: the C library has no memfd_create.
    """
    function = lazy_function("memfd_create")
    if function is None:
        raise NotImplementedError("memfd_create is not available in this C library")
    result: int = function(name, flags)
    return result


# ---------------------------------------------------------------- newer memory calls
#
# Each call goes to the C library's function where it has one (the library
# may do more than the system call: glibc's pkey_mprotect with pkey -1 is
# mprotect), else to syscall(2) with the running ABI's number from
# rawmmap._flagtables. What the running kernel makes of that number (ENOSYS
# where it is older than the call) is the caller's to report.

#: System call numbers of the running ABI, for the calls in SYSCALL_NAMES.
SYSCALL_NUMBERS: dict[str, int] = dict(_flagtables.current_syscalls())


def _in_libc(name: str) -> bool:
    return _has_symbol(_library, name)


def _reachable(name: str) -> bool:
    return _in_libc(name) or (HAS_SYSCALL and name in SYSCALL_NUMBERS)


#: mseal(2) can be called: the C library or the system call table has it.
#: (The kernel may still answer ENOSYS: it is Linux 6.10.)
HAS_MSEAL = _reachable("mseal")
#: memfd_secret(2) can be called (Linux 5.14; the kernel may have it disabled).
HAS_MEMFD_SECRET = _reachable("memfd_secret")
#: pkey_alloc(2), pkey_free(2) and pkey_mprotect(2) can be called (Linux
#: 4.9); without pkey hardware the kernel answers pkey_alloc with ENOSPC or EINVAL.
HAS_PKEYS = all(_reachable(name) for name in ("pkey_alloc", "pkey_free", "pkey_mprotect"))
#: The C library has pkey_get(3) and pkey_set(3), which read and write the
#: calling thread's rights register (x86 PKRU, PowerPC AMR). There is no
#: system call for them; reaching the register from ctypes would take
#: machine code, so without them rawmmap cannot read or change the rights.
HAS_PKEY_RIGHTS = _in_libc("pkey_get") and _in_libc("pkey_set")
#: process_madvise(2) can be called (Linux 5.10).
HAS_PROCESS_MADVISE = _reachable("process_madvise")
#: process_mrelease(2) can be called (Linux 5.15).
HAS_PROCESS_MRELEASE = _reachable("process_mrelease")

_LONG_SIGN = 1 << (LONG_BITS - 1)


def _long_argument(value: int) -> ctypes.c_long:
    """Return ``value`` as the C long syscall(2) reads, two's complement for unsigned values.

    The caller has range-checked ``value`` for its C type (at most
    ``LONG_BITS`` wide), so an address or a size_t above LONG_MAX becomes
    the same bits as a negative long, which is what the kernel receives.
    """
    return ctypes.c_long(value - (_LONG_SIGN << 1) if value >= _LONG_SIGN else value)


def uses_syscall(name: str) -> bool:
    """Tell whether ``name`` goes through syscall(2) here (the C library lacks it)."""
    return lazy_function(name) is None


def _call_kernel(name: str, *arguments: int) -> int:
    """Call ``name`` in the C library, else through syscall(2); return the C result.

    Raises:
        NotImplementedError: neither the C library nor this platform's
            system call table has ``name``.
    """
    function = lazy_function(name)
    if function is not None:
        result: int = function(*arguments)
        return result
    number = SYSCALL_NUMBERS.get(name)
    if number is None or not HAS_SYSCALL:
        raise NotImplementedError(
            f"{name} is neither in this C library nor in rawmmap's system call table "
            f"for this platform ({sys.platform}, ABI {_flagtables.current_abi()})"
        )
    status: int = FUNCTIONS["syscall"](number, *(_long_argument(value) for value in arguments))
    return status


def call_mseal(addr: int, length: int, flags: int) -> int:
    """Call mseal(2); return 0 or -1 (errno set)."""
    return _call_kernel("mseal", addr, length, flags)


def call_memfd_secret(flags: int) -> int:
    """Call memfd_secret(2); return the descriptor or -1 (errno set)."""
    return _call_kernel("memfd_secret", flags)


def call_pkey_alloc(flags: int, access_rights: int) -> int:
    """Call pkey_alloc(2); return the key or -1 (errno set)."""
    return _call_kernel("pkey_alloc", flags, access_rights)


def call_pkey_free(pkey: int) -> int:
    """Call pkey_free(2); return 0 or -1 (errno set)."""
    return _call_kernel("pkey_free", pkey)


def call_pkey_mprotect(addr: int, length: int, prot: int, pkey: int) -> int:
    """Call pkey_mprotect(2); return 0 or -1 (errno set)."""
    return _call_kernel("pkey_mprotect", addr, length, prot, pkey)


def _rights_function(name: str) -> _ForeignFunction:
    function = lazy_function(name)
    if function is None:
        raise NotImplementedError(
            f"this C library has no {name}(3): the protection key rights live in a "
            "CPU register (x86 PKRU) that only machine code can reach, and rawmmap "
            "does not fake it"
        )
    return function


def call_pkey_get(pkey: int) -> int:
    """Call the C library's pkey_get(3); return the rights or -1 (errno set).

    The caller must have checked ``protection_keys_enabled()``: glibc reads
    the register with an instruction that faults (SIGILL) where the CPU or
    the kernel has no protection keys.

    Raises:
        NotImplementedError: the C library has no pkey_get.
    """
    result: int = _rights_function("pkey_get")(pkey)
    return result


def call_pkey_set(pkey: int, access_rights: int) -> int:
    """Call the C library's pkey_set(3); return 0 or -1 (errno set).

    As for ``call_pkey_get``, check ``protection_keys_enabled()`` first.

    Raises:
        NotImplementedError: the C library has no pkey_set.
    """
    result: int = _rights_function("pkey_set")(pkey, access_rights)
    return result


class _Iovec(ctypes.Structure):
    # struct iovec { void *iov_base; size_t iov_len; };  (<sys/uio.h>)
    _fields_ = (("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t))


def call_process_madvise(
    pidfd: int, ranges: Sequence[tuple[int, int]], advice: int, flags: int
) -> int:
    """Call process_madvise(2) over ``ranges`` as an iovec array; return bytes advised or -1."""
    vector = (_Iovec * max(len(ranges), 1))()
    for slot, (addr, length) in zip(vector, ranges):
        slot.iov_base = addr or None
        slot.iov_len = length
    return _call_kernel(
        "process_madvise", pidfd, ctypes.addressof(vector), len(ranges), advice, flags
    )


def call_process_mrelease(pidfd: int, flags: int) -> int:
    """Call process_mrelease(2); return 0 or -1 (errno set)."""
    return _call_kernel("process_mrelease", pidfd, flags)


_protection_keys: list[bool] = []


def protection_keys_enabled() -> bool:
    """Tell whether the kernel has protection keys enabled for this process.

    The kernel prints a ``ProtectionKey:`` line for every mapping in
    /proc/self/smaps exactly when ``arch_pkeys_enabled()`` (fs/proc/
    task_mmu.c, Documentation/filesystems/proc.rst): on x86 when the CPU has
    PKU and the kernel turned it on (OSPKE), which is what the RDPKRU and
    WRPKRU instructions in glibc's pkey_get/pkey_set need. Only the first
    mapping's lines are read; the answer is cached.
    """
    if not _protection_keys:
        found = False
        try:
            with open("/proc/self/smaps", "rb") as smaps:
                for line in smaps:
                    if line.startswith(b"ProtectionKey:"):
                        found = True
                        break
                    if line.startswith(b"VmFlags:"):
                        break
        except OSError:
            found = False
        _protection_keys.append(found)
    return _protection_keys[0]
