"""Types of ``rawmmap._ffi``: the C functions with their prototypes applied.

``rawmmap._foreign`` builds that module at import from its prototype table;
there is no ``_ffi.py``. ctypes function objects carry no Python types, so
this stub gives each one the signature its ``argtypes``/``restype`` imply:
``c_void_p`` results arrive as ``int | None`` (None is NULL), ``c_int`` and
``c_long`` as ``int``. ``stubtest`` checks that the names here and in the
runtime module are the same, so the table cannot drift from its types.
"""

from collections.abc import Sequence
from ctypes import c_long, c_void_p
from typing import Protocol, type_check_only

@type_check_only
class _Prototyped(Protocol):
    """A ctypes foreign function: its prototype is readable and settable."""

    restype: object
    argtypes: Sequence[object]

# void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset);
# (mmap64 where off_t is 32-bit by default)
@type_check_only
class _Mmap(_Prototyped, Protocol):
    def __call__(
        self, addr: int | None, length: int, prot: int, flags: int, fd: int, offset: int, /
    ) -> int | None: ...

mmap: _Mmap

# int munmap(void *addr, size_t length);
@type_check_only
class _Munmap(_Prototyped, Protocol):
    def __call__(self, addr: int | None, length: int, /) -> int: ...

munmap: _Munmap

# int msync(void *addr, size_t length, int flags);
@type_check_only
class _Msync(_Prototyped, Protocol):
    def __call__(self, addr: int | None, length: int, flags: int, /) -> int: ...

msync: _Msync

# int mprotect(void *addr, size_t len, int prot);
@type_check_only
class _Mprotect(_Prototyped, Protocol):
    def __call__(self, addr: int | None, length: int, prot: int, /) -> int: ...

mprotect: _Mprotect

# int madvise(void *addr, size_t length, int advice);
@type_check_only
class _Madvise(_Prototyped, Protocol):
    def __call__(self, addr: int | None, length: int, advice: int, /) -> int: ...

madvise: _Madvise

# int mlock(const void *addr, size_t len);
@type_check_only
class _Mlock(_Prototyped, Protocol):
    def __call__(self, addr: int | None, length: int, /) -> int: ...

mlock: _Mlock

# int mlock2(const void *addr, size_t len, unsigned int flags);  (Linux; optional)
@type_check_only
class _Mlock2(_Prototyped, Protocol):
    def __call__(self, addr: int | None, length: int, flags: int, /) -> int: ...

mlock2: _Mlock2

# int munlock(const void *addr, size_t len);
@type_check_only
class _Munlock(_Prototyped, Protocol):
    def __call__(self, addr: int | None, length: int, /) -> int: ...

munlock: _Munlock

# int mlockall(int flags);
@type_check_only
class _Mlockall(_Prototyped, Protocol):
    def __call__(self, flags: int, /) -> int: ...

mlockall: _Mlockall

# int munlockall(void);
@type_check_only
class _Munlockall(_Prototyped, Protocol):
    def __call__(self) -> int: ...

munlockall: _Munlockall

# int mincore(void *addr, size_t length, unsigned char *vec);
@type_check_only
class _Mincore(_Prototyped, Protocol):
    def __call__(self, addr: int | None, length: int, vector: int, /) -> int: ...

mincore: _Mincore

# void *mremap(void *old_address, size_t old_size, size_t new_size, int flags,
#              ... /* void *new_address */);  (Linux; optional)
@type_check_only
class _Mremap(_Prototyped, Protocol):
    def __call__(
        self,
        old_address: int | None,
        old_size: int,
        new_size: int,
        flags: int,
        new_address: c_void_p,
        /,
    ) -> int | None: ...

mremap: _Mremap

# long sysconf(int name);
@type_check_only
class _Sysconf(_Prototyped, Protocol):
    def __call__(self, name: int, /) -> int: ...

sysconf: _Sysconf

# long syscall(long number, ...);  (optional; every further argument a c_long)
@type_check_only
class _Syscall(_Prototyped, Protocol):
    def __call__(self, number: int, /, *arguments: c_long) -> int: ...

syscall: _Syscall
