"""Flag values per operating system and CPU architecture, as plain data.

Each table maps an enum name (``"Prot"``, ``"MapFlag"``, ...) to a dict of
C constant names, without their prefix, to values. ``table_for(system,
machine)`` picks the table for one platform; ``rawmmap.flags`` builds the
enums from the table of the running platform. Keeping the values as data,
not as enums, lets the tests build and check the table of every platform
on this one machine.

A table holds every constant its headers define for these calls, except
masks and field encodings (``MAP_TYPE``, ``MAP_HUGE_SHIFT`` and
``MAP_HUGE_MASK``, FreeBSD's ``MAP_ALIGNED(n)``), function-like macros (FreeBSD's ``PROT_MAX``),
``MAP_FAILED``, names reserved as placeholders (``MAP_RESERVED*``,
``_MAP_*``) and obsolete aliases (``MAP_COPY``, PA-RISC's zero-valued
``MAP_VARIABLE``). ``MAP_32BIT`` is stored as ``BIT32``. ``PkeyRights`` is
``PKEY_*`` without ``PKEY_ACCESS_MASK``; ``MemfdSecretFlag`` holds the one
flag memfd_secret(2) takes, ``O_CLOEXEC``, whose value differs per arch.

The second half of the module holds Linux system call numbers per ABI, for
the calls the C library may not wrap (``SYSCALL_NAMES``): ``linux_abi()``
names the ABI of an interpreter, ``syscalls_for(abi)`` gives its numbers,
``current_syscalls()`` those of the running process.

Sources (values carried over, no code); each table names its file:

* Linux: ``include/uapi/linux/mman.h``,
  ``include/uapi/asm-generic/mman-common.h`` and ``mman.h``, and
  ``arch/{x86,arm64,mips,powerpc,sparc,alpha,parisc}/include/uapi/asm/mman.h``
  as of Linux 6.13 (the release that added ``MADV_GUARD_*``), cross-checked
  against Debian's 6.1 headers (``linux-libc-dev-*-cross``) for every older
  name, and against the upstream patches for the names added later.
* macOS: ``bsd/sys/mman.h`` of xnu, tag xnu-11417.101.15 (a macOS 15 release).
* FreeBSD: ``sys/sys/mman.h`` of freebsd-src main, read at commit
  2d614aa2fe3e of a mirror of it.
"""

from __future__ import annotations

import os
import sys

#: One platform's values: enum name -> {C name without prefix: value}.
#: (``dict[...]`` is subscriptable at run time from Python 3.9 on.)
Table = dict[str, dict[str, int]]

# --- Linux ------------------------------------------------------------------
#
# Values below are from the kernel's uapi headers. glibc and musl repeat
# them in <sys/mman.h>; the one libc-only name is MAP_ANON, the BSD spelling
# of MAP_ANONYMOUS, which both define as the same value.

# asm-generic: arm (32-bit), riscv, s390, loongarch and the base of x86,
# arm64, powerpc and sparc.
_LINUX_GENERIC: Table = {
    # include/uapi/asm-generic/mman-common.h
    "Prot": {
        "NONE": 0x0,
        "READ": 0x1,
        "WRITE": 0x2,
        "EXEC": 0x4,
        "SEM": 0x8,
        "GROWSDOWN": 0x01000000,
        "GROWSUP": 0x02000000,
    },
    # include/uapi/linux/mman.h (SHARED, PRIVATE, SHARED_VALIDATE,
    # DROPPABLE), include/uapi/asm-generic/mman-common.h and mman.h (the
    # rest)
    "MapFlag": {
        "FILE": 0,
        "SHARED": 0x01,
        "PRIVATE": 0x02,
        "SHARED_VALIDATE": 0x03,
        "DROPPABLE": 0x08,
        "FIXED": 0x10,
        "ANONYMOUS": 0x20,
        "ANON": 0x20,
        "GROWSDOWN": 0x0100,
        "DENYWRITE": 0x0800,
        "EXECUTABLE": 0x1000,
        "LOCKED": 0x2000,
        "NORESERVE": 0x4000,
        "POPULATE": 0x008000,
        "NONBLOCK": 0x010000,
        "STACK": 0x020000,
        "HUGETLB": 0x040000,
        "SYNC": 0x080000,
        "FIXED_NOREPLACE": 0x100000,
        "UNINITIALIZED": 0x4000000,
    },
    # include/uapi/asm-generic/mman-common.h
    "SyncFlag": {"ASYNC": 1, "INVALIDATE": 2, "SYNC": 4},
    # include/uapi/asm-generic/mman-common.h
    "Advice": {
        "NORMAL": 0,
        "RANDOM": 1,
        "SEQUENTIAL": 2,
        "WILLNEED": 3,
        "DONTNEED": 4,
        "FREE": 8,
        "REMOVE": 9,
        "DONTFORK": 10,
        "DOFORK": 11,
        "MERGEABLE": 12,
        "UNMERGEABLE": 13,
        "HUGEPAGE": 14,
        "NOHUGEPAGE": 15,
        "DONTDUMP": 16,
        "DODUMP": 17,
        "WIPEONFORK": 18,
        "KEEPONFORK": 19,
        "COLD": 20,
        "PAGEOUT": 21,
        "POPULATE_READ": 22,
        "POPULATE_WRITE": 23,
        "DONTNEED_LOCKED": 24,
        "COLLAPSE": 25,
        "HWPOISON": 100,
        "SOFT_OFFLINE": 101,
        "GUARD_INSTALL": 102,
        "GUARD_REMOVE": 103,
    },
    # include/uapi/asm-generic/mman.h
    "MlockAllFlag": {"CURRENT": 1, "FUTURE": 2, "ONFAULT": 4},
    # include/uapi/asm-generic/mman-common.h (for mlock2)
    "MlockFlag": {"ONFAULT": 0x01},
    # include/uapi/linux/mman.h
    "RemapFlag": {"MAYMOVE": 1, "FIXED": 2, "DONTUNMAP": 4},
    # include/uapi/asm-generic/mman-common.h (pkey_alloc(2), pkey_set(3));
    # PKEY_UNRESTRICTED, the zero value, since Linux 6.15.
    "PkeyRights": {"UNRESTRICTED": 0x0, "DISABLE_ACCESS": 0x1, "DISABLE_WRITE": 0x2},
    # include/uapi/asm-generic/fcntl.h: O_CLOEXEC, the one flag
    # memfd_secret(2) accepts (mm/secretmem.c refuses any other bit; the man
    # page's "FD_CLOEXEC" is 1, which the kernel refuses with EINVAL).
    "MemfdSecretFlag": {"CLOEXEC": 0o2000000},
}

# arch/x86/include/uapi/asm/mman.h: asm-generic plus two placement flags.
_LINUX_X86_EXTRA: Table = {"MapFlag": {"BIT32": 0x40, "ABOVE4G": 0x80}}

# arch/arm64/include/uapi/asm/mman.h: asm-generic plus two protection bits,
# and the two rights of the Permission Overlay Extension (Linux 6.12).
_LINUX_ARM64_EXTRA: Table = {
    "Prot": {"BTI": 0x10, "MTE": 0x20},
    "PkeyRights": {"DISABLE_EXECUTE": 0x4, "DISABLE_READ": 0x8},
}

# arch/powerpc/include/uapi/asm/mman.h: includes asm-generic/mman-common.h,
# then sets its own mmap and mlockall bits (MAP_RENAME is an alias of
# MAP_ANONYMOUS there).
_LINUX_POWERPC_EXTRA: Table = {
    "Prot": {"SAO": 0x10},
    "MapFlag": {
        "RENAME": 0x20,
        "NORESERVE": 0x40,
        "LOCKED": 0x80,
        "GROWSDOWN": 0x0100,
        "DENYWRITE": 0x0800,
        "EXECUTABLE": 0x1000,
    },
    "MlockAllFlag": {"CURRENT": 0x2000, "FUTURE": 0x4000, "ONFAULT": 0x8000},
    "PkeyRights": {"DISABLE_EXECUTE": 0x4},
}

# arch/sparc/include/uapi/asm/mman.h: includes asm-generic/mman-common.h,
# then sets SunOS-compatible mmap and mlockall bits (MAP_RENAME is an alias
# of MAP_ANONYMOUS there).
_LINUX_SPARC_EXTRA: Table = {
    "Prot": {"ADI": 0x10},
    "MapFlag": {
        "RENAME": 0x20,
        "NORESERVE": 0x40,
        "INHERIT": 0x80,
        "LOCKED": 0x100,
        "GROWSDOWN": 0x0200,
        "DENYWRITE": 0x0800,
        "EXECUTABLE": 0x1000,
    },
    "MlockAllFlag": {"CURRENT": 0x2000, "FUTURE": 0x4000, "ONFAULT": 0x8000},
    # arch/sparc/include/uapi/asm/fcntl.h
    "MemfdSecretFlag": {"CLOEXEC": 0x400000},
}

# Advice codes that MIPS, Alpha and PA-RISC share with asm-generic; their
# headers do not include it but repeat these values.
_COMMON_ADVICE = {
    "NORMAL": 0,
    "RANDOM": 1,
    "SEQUENTIAL": 2,
    "WILLNEED": 3,
    "FREE": 8,
    "REMOVE": 9,
    "DONTFORK": 10,
    "DOFORK": 11,
    "COLD": 20,
    "PAGEOUT": 21,
    "POPULATE_READ": 22,
    "POPULATE_WRITE": 23,
    "DONTNEED_LOCKED": 24,
    "GUARD_INSTALL": 102,
    "GUARD_REMOVE": 103,
}

# The huge page sizes of MAP_HUGETLB: log2 of the size in the six bits from
# MAP_HUGE_SHIFT (26) up (include/uapi/linux/mman.h, values from
# include/uapi/asm-generic/hugetlb_encode.h; every architecture includes
# both, and mmap(2) documents the encoding). Each value is a field, not a
# single bit: HUGE_2MB is 21 << 26.
HUGE_SHIFT = 26
HUGE_MASK = 0x3F
_LINUX_HUGE_SIZES = {
    "HUGE_16KB": 14 << HUGE_SHIFT,
    "HUGE_64KB": 16 << HUGE_SHIFT,
    "HUGE_512KB": 19 << HUGE_SHIFT,
    "HUGE_1MB": 20 << HUGE_SHIFT,
    "HUGE_2MB": 21 << HUGE_SHIFT,
    "HUGE_8MB": 23 << HUGE_SHIFT,
    "HUGE_16MB": 24 << HUGE_SHIFT,
    "HUGE_32MB": 25 << HUGE_SHIFT,
    "HUGE_256MB": 28 << HUGE_SHIFT,
    "HUGE_512MB": 29 << HUGE_SHIFT,
    "HUGE_1GB": 30 << HUGE_SHIFT,
    "HUGE_2GB": 31 << HUGE_SHIFT,
    "HUGE_16GB": 34 << HUGE_SHIFT,
}

# PKEY_DISABLE_ACCESS and PKEY_DISABLE_WRITE, which the MIPS, Alpha and
# PA-RISC headers repeat (their asm/mman.h does not include asm-generic's, so
# PKEY_UNRESTRICTED of Linux 6.15 is left out for them: not checked here).
_COMMON_PKEY_RIGHTS = {"DISABLE_ACCESS": 0x1, "DISABLE_WRITE": 0x2}

# From include/uapi/linux/mman.h, which every architecture includes.
_LINUX_MAP_COMMON = {
    "FILE": 0,
    "SHARED": 0x01,
    "PRIVATE": 0x02,
    "SHARED_VALIDATE": 0x03,
    "DROPPABLE": 0x08,
    **_LINUX_HUGE_SIZES,
}

# arch/mips/include/uapi/asm/mman.h: a complete header of its own (IRIX
# ABI). RENAME, AUTOGROW, LOCAL and AUTORSRV are IRIX bits that Linux
# reserves but ignores. No MAP_SYNC, MAP_UNINITIALIZED or MADV_SOFT_OFFLINE.
_LINUX_MIPS: Table = {
    "Prot": {
        "NONE": 0x00,
        "READ": 0x01,
        "WRITE": 0x02,
        "EXEC": 0x04,
        "SEM": 0x10,
        "GROWSDOWN": 0x01000000,
        "GROWSUP": 0x02000000,
    },
    "MapFlag": {
        **_LINUX_MAP_COMMON,
        "FIXED": 0x010,
        "RENAME": 0x020,
        "AUTOGROW": 0x040,
        "LOCAL": 0x080,
        "AUTORSRV": 0x100,
        "NORESERVE": 0x0400,
        "ANONYMOUS": 0x0800,
        "ANON": 0x0800,
        "GROWSDOWN": 0x1000,
        "DENYWRITE": 0x2000,
        "EXECUTABLE": 0x4000,
        "LOCKED": 0x8000,
        "POPULATE": 0x10000,
        "NONBLOCK": 0x20000,
        "STACK": 0x40000,
        "HUGETLB": 0x80000,
        "FIXED_NOREPLACE": 0x100000,
    },
    "SyncFlag": {"ASYNC": 0x0001, "INVALIDATE": 0x0002, "SYNC": 0x0004},
    "Advice": {
        **_COMMON_ADVICE,
        "DONTNEED": 4,
        "MERGEABLE": 12,
        "UNMERGEABLE": 13,
        "HUGEPAGE": 14,
        "NOHUGEPAGE": 15,
        "DONTDUMP": 16,
        "DODUMP": 17,
        "WIPEONFORK": 18,
        "KEEPONFORK": 19,
        "COLLAPSE": 25,
        "HWPOISON": 100,
    },
    "MlockAllFlag": {"CURRENT": 1, "FUTURE": 2, "ONFAULT": 4},
    "MlockFlag": {"ONFAULT": 0x01},
    "RemapFlag": {"MAYMOVE": 1, "FIXED": 2, "DONTUNMAP": 4},
    "PkeyRights": dict(_COMMON_PKEY_RIGHTS),
    # arch/mips/include/uapi/asm/fcntl.h leaves O_CLOEXEC to asm-generic.
    "MemfdSecretFlag": {"CLOEXEC": 0o2000000},
}

# arch/alpha/include/uapi/asm/mman.h: a complete header of its own (OSF/1
# ABI): MS_SYNC and MS_INVALIDATE swapped, MADV_DONTNEED is 6, an extra
# MADV_SPACEAVAIL, no MADV_HWPOISON/SOFT_OFFLINE, MAP_SYNC or
# MAP_UNINITIALIZED.
_LINUX_ALPHA: Table = {
    "Prot": {
        "NONE": 0x0,
        "READ": 0x1,
        "WRITE": 0x2,
        "EXEC": 0x4,
        "SEM": 0x8,
        "GROWSDOWN": 0x01000000,
        "GROWSUP": 0x02000000,
    },
    "MapFlag": {
        **_LINUX_MAP_COMMON,
        "ANONYMOUS": 0x10,
        "ANON": 0x10,
        "FIXED": 0x100,
        "GROWSDOWN": 0x01000,
        "DENYWRITE": 0x02000,
        "EXECUTABLE": 0x04000,
        "LOCKED": 0x08000,
        "NORESERVE": 0x10000,
        "POPULATE": 0x20000,
        "NONBLOCK": 0x40000,
        "STACK": 0x80000,
        "HUGETLB": 0x100000,
        "FIXED_NOREPLACE": 0x200000,
    },
    "SyncFlag": {"ASYNC": 1, "SYNC": 2, "INVALIDATE": 4},
    "Advice": {
        **_COMMON_ADVICE,
        "SPACEAVAIL": 5,
        "DONTNEED": 6,
        "MERGEABLE": 12,
        "UNMERGEABLE": 13,
        "HUGEPAGE": 14,
        "NOHUGEPAGE": 15,
        "DONTDUMP": 16,
        "DODUMP": 17,
        "WIPEONFORK": 18,
        "KEEPONFORK": 19,
        "COLLAPSE": 25,
    },
    "MlockAllFlag": {"CURRENT": 8192, "FUTURE": 16384, "ONFAULT": 32768},
    "MlockFlag": {"ONFAULT": 0x01},
    "RemapFlag": {"MAYMOVE": 1, "FIXED": 2, "DONTUNMAP": 4},
    "PkeyRights": dict(_COMMON_PKEY_RIGHTS),
    # arch/alpha/include/uapi/asm/fcntl.h
    "MemfdSecretFlag": {"CLOEXEC": 0o10000000},
}

# arch/parisc/include/uapi/asm/mman.h: a complete header of its own (HP-UX
# ABI): MS_SYNC is 1 and MS_ASYNC 2, MAP_FIXED is 4, the KSM to COLLAPSE
# advice codes are 65-73, and MAP_UNINITIALIZED is 0 (unsupported).
_LINUX_PARISC: Table = {
    "Prot": {
        "NONE": 0x0,
        "READ": 0x1,
        "WRITE": 0x2,
        "EXEC": 0x4,
        "SEM": 0x8,
        "GROWSDOWN": 0x01000000,
        "GROWSUP": 0x02000000,
    },
    "MapFlag": {
        **_LINUX_MAP_COMMON,
        "FIXED": 0x04,
        "ANONYMOUS": 0x10,
        "ANON": 0x10,
        "DENYWRITE": 0x0800,
        "EXECUTABLE": 0x1000,
        "LOCKED": 0x2000,
        "NORESERVE": 0x4000,
        "GROWSDOWN": 0x8000,
        "POPULATE": 0x10000,
        "NONBLOCK": 0x20000,
        "STACK": 0x40000,
        "HUGETLB": 0x80000,
        "FIXED_NOREPLACE": 0x100000,
        "UNINITIALIZED": 0,
    },
    "SyncFlag": {"SYNC": 1, "ASYNC": 2, "INVALIDATE": 4},
    "Advice": {
        **_COMMON_ADVICE,
        "DONTNEED": 4,
        "MERGEABLE": 65,
        "UNMERGEABLE": 66,
        "HUGEPAGE": 67,
        "NOHUGEPAGE": 68,
        "DONTDUMP": 69,
        "DODUMP": 70,
        "WIPEONFORK": 71,
        "KEEPONFORK": 72,
        "COLLAPSE": 73,
        "HWPOISON": 100,
        "SOFT_OFFLINE": 101,
    },
    "MlockAllFlag": {"CURRENT": 1, "FUTURE": 2, "ONFAULT": 4},
    "MlockFlag": {"ONFAULT": 0x01},
    "RemapFlag": {"MAYMOVE": 1, "FIXED": 2, "DONTUNMAP": 4},
    "PkeyRights": dict(_COMMON_PKEY_RIGHTS),
    # arch/parisc/include/uapi/asm/fcntl.h
    "MemfdSecretFlag": {"CLOEXEC": 0o10000000},
}

# --- macOS ------------------------------------------------------------------
#
# xnu bsd/sys/mman.h, tag xnu-11417.101.15. The header defines MAP_32BIT only
# when the deployment target is macOS 10.15 or later. Left out: MAP_COPY
# (obsolete alias of MAP_PRIVATE) and MAP_RESERVED0080. No mlock2 or mremap.
_DARWIN: Table = {
    "Prot": {"NONE": 0x00, "READ": 0x01, "WRITE": 0x02, "EXEC": 0x04},
    "MapFlag": {
        "FILE": 0x0000,
        "SHARED": 0x0001,
        "PRIVATE": 0x0002,
        "FIXED": 0x0010,
        "RENAME": 0x0020,
        "NORESERVE": 0x0040,
        "NOEXTEND": 0x0100,
        "HASSEMAPHORE": 0x0200,
        "NOCACHE": 0x0400,
        "JIT": 0x0800,
        "ANON": 0x1000,
        "ANONYMOUS": 0x1000,
        "RESILIENT_CODESIGN": 0x2000,
        "RESILIENT_MEDIA": 0x4000,
        "BIT32": 0x8000,
        "TRANSLATED_ALLOW_EXECUTE": 0x20000,
        "UNIX03": 0x40000,
        "TPRO": 0x80000,
    },
    "SyncFlag": {
        "ASYNC": 0x0001,
        "INVALIDATE": 0x0002,
        "KILLPAGES": 0x0004,
        "DEACTIVATE": 0x0008,
        "SYNC": 0x0010,
    },
    "Advice": {
        "NORMAL": 0,
        "RANDOM": 1,
        "SEQUENTIAL": 2,
        "WILLNEED": 3,
        "DONTNEED": 4,
        "FREE": 5,
        "ZERO_WIRED_PAGES": 6,
        "FREE_REUSABLE": 7,
        "FREE_REUSE": 8,
        "CAN_REUSE": 9,
        "PAGEOUT": 10,
        "ZERO": 11,
    },
    "MlockAllFlag": {"CURRENT": 0x0001, "FUTURE": 0x0002},
}

# --- FreeBSD ----------------------------------------------------------------
#
# freebsd-src sys/sys/mman.h (main, read at commit 2d614aa2fe3e of a mirror).
# MS_SYNC is 0 on FreeBSD: msync() is synchronous unless MS_ASYNC is given.
# MAP_ALIGNED_SUPER is MAP_ALIGNED(1), i.e. 1 << MAP_ALIGNMENT_SHIFT (24).
# Left out: MAP_COPY, MAP_RESERVED*, the MAP_ALIGNED(n) and PROT_MAX(prot)
# macros. No mlock2 or mremap.
_FREEBSD: Table = {
    "Prot": {"NONE": 0x00, "READ": 0x01, "WRITE": 0x02, "EXEC": 0x04},
    "MapFlag": {
        "FILE": 0x0000,
        "SHARED": 0x0001,
        "PRIVATE": 0x0002,
        "FIXED": 0x0010,
        "HASSEMAPHORE": 0x0200,
        "STACK": 0x0400,
        "NOSYNC": 0x0800,
        "ANON": 0x1000,
        "ANONYMOUS": 0x1000,
        "GUARD": 0x00002000,
        "EXCL": 0x00004000,
        "NOCORE": 0x00020000,
        "PREFAULT_READ": 0x00040000,
        "BIT32": 0x00080000,
        "ALIGNED_SUPER": 1 << 24,
    },
    "SyncFlag": {"SYNC": 0x0000, "ASYNC": 0x0001, "INVALIDATE": 0x0002},
    "Advice": {
        "NORMAL": 0,
        "RANDOM": 1,
        "SEQUENTIAL": 2,
        "WILLNEED": 3,
        "DONTNEED": 4,
        "FREE": 5,
        "NOSYNC": 6,
        "AUTOSYNC": 7,
        "NOCORE": 8,
        "CORE": 9,
        "PROTECT": 10,
    },
    "MlockAllFlag": {"CURRENT": 0x0001, "FUTURE": 0x0002},
}


def _merge(base: Table, extra: Table) -> Table:
    merged = {name: dict(values) for name, values in base.items()}
    for name, values in extra.items():
        merged.setdefault(name, {}).update(values)
    return merged


_LINUX_GENERIC["MapFlag"].update(_LINUX_HUGE_SIZES)

_LINUX_TABLES: dict[str, Table] = {
    "generic": _LINUX_GENERIC,
    "x86": _merge(_LINUX_GENERIC, _LINUX_X86_EXTRA),
    "arm64": _merge(_LINUX_GENERIC, _LINUX_ARM64_EXTRA),
    "powerpc": _merge(_LINUX_GENERIC, _LINUX_POWERPC_EXTRA),
    "sparc": _merge(_LINUX_GENERIC, _LINUX_SPARC_EXTRA),
    "mips": _LINUX_MIPS,
    "alpha": _LINUX_ALPHA,
    "parisc": _LINUX_PARISC,
}

#: The Linux architecture families that have a table.
LINUX_FAMILIES = tuple(sorted(_LINUX_TABLES))


# (family, exact os.uname().machine strings, prefixes), tried in order.
# uname says "mips" or "mips64" for either byte order. A 32-bit process on
# an arm64 kernel may still see "aarch64" and get PROT_BTI/PROT_MTE, which
# its kernel then refuses: harmless.
_LINUX_MACHINES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("x86", ("x86_64", "amd64", "i386", "i486", "i586", "i686", "x86"), ()),
    ("arm64", (), ("aarch64", "arm64")),
    ("generic", (), ("arm", "riscv", "s390", "loongarch")),
    ("mips", ("mips", "mipsel", "mips64", "mips64el"), ()),
    ("powerpc", ("ppc", "ppcle", "ppc64", "ppc64le", "powerpc", "powerpc64"), ()),
    ("sparc", ("sparc", "sparc64", "sparcv9"), ()),
    ("alpha", ("alpha",), ()),
    ("parisc", ("parisc", "parisc64"), ()),
)


def linux_family(machine: str) -> str:
    """Return the kernel's arch family for an ``os.uname().machine`` string.

    Raises:
        KeyError: rawmmap does not know this machine.
    """
    machine = machine.lower()
    for family, names, prefixes in _LINUX_MACHINES:
        if machine in names or (prefixes and machine.startswith(prefixes)):
            return family
    raise KeyError(machine)


def table_for(system: str, machine: str) -> Table:
    """Return the flag table of one platform, as a fresh copy.

    Args:
        system: ``sys.platform`` of that platform (``"linux"``,
            ``"darwin"``, ``"freebsd14"``, ...).
        machine: ``os.uname().machine`` of that platform.

    Raises:
        KeyError: rawmmap has no table for this platform.
    """
    if system.startswith("linux"):
        return _merge(_LINUX_TABLES[linux_family(machine)], {})
    if system == "darwin":
        return _merge(_DARWIN, {})
    if system.startswith("freebsd"):
        return _merge(_FREEBSD, {})
    raise KeyError(f"{system}/{machine}")


_current: Table = {}


def current() -> Table:
    """Return the table of the running platform (built once).

    Raises:
        ImportError: rawmmap has no table for this platform.
    """
    if not _current:
        try:
            _current.update(table_for(sys.platform, os.uname().machine))
        except (KeyError, AttributeError) as error:
            raise ImportError(
                f"rawmmap has no flag table for {sys.platform!r} "
                f"({getattr(os, 'uname', lambda: None)()!r}); it needs a POSIX system "
                "with mmap (Linux, macOS, FreeBSD)"
            ) from error
    return _current


def bits(enum_name: str) -> int:
    """Return the union of every value of one enum's table here."""
    union = 0
    for value in current().get(enum_name, {}).values():
        union |= value
    return union


# --- Linux system call numbers -----------------------------------------------
#
# For the calls that the C library may not wrap (glibc 2.36 has no mseal or
# memfd_secret; musl has none of these), rawmmap calls syscall(2) with the
# number of the running ABI. Sources (values carried over, no code):
#
# * arch/x86/entry/syscalls/syscall_64.tbl (x86_64, and x32 with
#   __X32_SYSCALL_BIT, 0x40000000, from arch/x86/include/uapi/asm/unistd.h),
#   arch/x86/entry/syscalls/syscall_32.tbl (i386);
# * include/uapi/asm-generic/unistd.h, since Linux 6.11 scripts/syscall.tbl
#   (arm64, riscv, loongarch), arch/arm/tools/syscall.tbl (arm EABI);
# * arch/{s390,powerpc,sparc,alpha,parisc}/kernel/syscalls/syscall.tbl;
# * arch/mips/kernel/syscalls/syscall_{o32,n32,n64}.tbl, whose numbers start
#   at the ABI's base: o32 4000, n64 5000, n32 6000
#   (arch/mips/include/uapi/asm/unistd.h);
#
# as installed by Debian's Linux 6.1 headers (linux-libc-dev-*-cross), which
# tests/test_flag_headers.py checks, and for what came later: mseal (Linux
# 6.10, "mseal: wire up mseal syscall": 462 everywhere, alpha 572, on mips
# plus the ABI's base), s390's memfd_secret (Linux 6.5, commit 7608f70adcb1
# "s390: wire up memfd_secret system call") and loongarch's (commit
# abca6583a2aa "LoongArch: Wire up memfd_secret system call", after Linux
# 6.18: on older kernels the number answers ENOSYS, which is what a kernel
# without the call says anyway). Since Linux 5.1 (number 424 on) a new call
# has one number on every architecture but alpha (+110) and mips (+ base);
# memfd_secret (447) is wired only where the kernel can remove pages from
# its direct map (x86, arm64, riscv, s390, loongarch), and has no entry
# elsewhere.

#: The calls with a number in these tables.
SYSCALL_NAMES = (
    "mseal",
    "memfd_secret",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "process_madvise",
    "process_mrelease",
)


def _numbers(
    pkey_mprotect: int, pkey_alloc: int, pkey_free: int, base: int = 0, *, secret: bool
) -> dict[str, int]:
    """One ABI's numbers: its own pkey numbers, the unified ones from 440 on."""
    numbers = {
        "pkey_mprotect": pkey_mprotect,
        "pkey_alloc": pkey_alloc,
        "pkey_free": pkey_free,
        "process_madvise": base + 440,
        "process_mrelease": base + 448,
        "mseal": base + 462,
    }
    if secret:
        numbers["memfd_secret"] = base + 447
    return numbers


_X32_SYSCALL_BIT = 0x40000000
_X86_64_SYSCALLS = _numbers(329, 330, 331, secret=True)
# The asm-generic numbers of arm64, riscv and loongarch.
_GENERIC_SYSCALLS = _numbers(288, 289, 290, secret=True)

_LINUX_SYSCALLS: dict[str, dict[str, int]] = {
    "x86_64": _X86_64_SYSCALLS,
    "x32": {name: _X32_SYSCALL_BIT | number for name, number in _X86_64_SYSCALLS.items()},
    "i386": _numbers(380, 381, 382, secret=True),
    "arm64": _GENERIC_SYSCALLS,
    "riscv64": _GENERIC_SYSCALLS,
    "riscv32": _GENERIC_SYSCALLS,
    "loongarch64": _GENERIC_SYSCALLS,
    "arm": _numbers(394, 395, 396, secret=False),
    "s390x": _numbers(384, 385, 386, secret=True),
    "s390": _numbers(384, 385, 386, secret=True),
    "powerpc64": _numbers(386, 384, 385, secret=False),
    "powerpc": _numbers(386, 384, 385, secret=False),
    "mips_o32": _numbers(4363, 4364, 4365, 4000, secret=False),
    "mips_n64": _numbers(5323, 5324, 5325, 5000, secret=False),
    "mips_n32": _numbers(6327, 6328, 6329, 6000, secret=False),
    "sparc64": _numbers(362, 363, 364, secret=False),
    "sparc": _numbers(362, 363, 364, secret=False),
    "alpha": _numbers(524, 525, 526, 110, secret=False),
    "parisc": _numbers(351, 352, 353, secret=False),
    "parisc64": _numbers(351, 352, 353, secret=False),
}

#: The Linux ABIs that have a system call table.
LINUX_ABIS = tuple(sorted(_LINUX_SYSCALLS))


# Linux family -> (ABI of a 32-bit process, ABI of a 64-bit process).
_ABI_BY_FAMILY = {
    "x86": ("i386", "x86_64"),
    "arm64": ("arm", "arm64"),
    "mips": ("mips_o32", "mips_n64"),
    "powerpc": ("powerpc", "powerpc64"),
    "sparc": ("sparc", "sparc64"),
    "alpha": ("alpha", "alpha"),
    "parisc": ("parisc", "parisc64"),
}
# The "generic" family by uname prefix: (prefix, 32-bit ABI, 64-bit ABI).
_GENERIC_ABIS = (
    ("riscv", "riscv32", "riscv64"),
    ("s390", "s390", "s390x"),
    ("loongarch", "loongarch64", "loongarch64"),
    ("arm", "arm", "arm"),
)
# The other 32-bit ABI of a 64-bit kernel, told by the multiarch triplet.
_NARROW_BY_MULTIARCH = {"x86": ("gnux32", "x32"), "mips": ("abin32", "mips_n32")}


def linux_abi(machine: str, pointer_bits: int, multiarch: str = "") -> str:
    """Return the system call ABI of a Linux process.

    The kernel's architecture (``os.uname().machine``) is not enough: a
    32-bit process on a 64-bit kernel (i386 on x86_64, arm on arm64, o32 on
    mips64) uses the 32-bit numbers, so the width of the process's pointers
    decides. x32 and mips n32 have 32-bit pointers on a 64-bit kernel too;
    they are told apart by the interpreter's multiarch triplet
    (``sys.implementation._multiarch``: ``x86_64-linux-gnux32``,
    ``mips64el-linux-gnuabin32``). arm means EABI (the old ABI is gone
    since Linux 4.x distributions).

    Args:
        machine: ``os.uname().machine``.
        pointer_bits: width of this process's pointers, 32 or 64.
        multiarch: the interpreter's multiarch triplet, or "".

    Raises:
        KeyError: rawmmap does not know this machine.
    """
    family = linux_family(machine)
    pair = _ABI_BY_FAMILY.get(family)
    if pair is None:  # "generic": linux_family matched one of these prefixes
        pair = next(
            (narrow, wide)
            for prefix, narrow, wide in _GENERIC_ABIS
            if machine.lower().startswith(prefix)
        )
    if pointer_bits == 64:
        return pair[1]
    marker, other = _NARROW_BY_MULTIARCH.get(family, ("", ""))
    return other if marker and marker in multiarch else pair[0]


def syscalls_for(abi: str) -> dict[str, int]:
    """Return the system call numbers of one Linux ABI, as a fresh copy.

    Only the calls that ABI has are in it (no memfd_secret on arm, powerpc,
    mips, sparc, alpha or parisc).

    Raises:
        KeyError: no table for ``abi``.
    """
    return dict(_LINUX_SYSCALLS[abi])


_current_syscalls: dict[str, int] = {}
_current_abi: list[str] = []


def current_abi() -> str | None:
    """Return the system call ABI of the running process, or None off Linux.

    None also where rawmmap knows no table for this Linux machine (then no
    call falls back to syscall(2)).
    """
    if not _current_abi:
        abi = ""
        if sys.platform.startswith("linux"):
            multiarch = getattr(sys.implementation, "_multiarch", "")
            try:
                abi = linux_abi(
                    os.uname().machine,
                    64 if sys.maxsize > 1 << 32 else 32,
                    multiarch if isinstance(multiarch, str) else "",
                )
            except KeyError:  # pragma: no cover - a Linux machine rawmmap has no table for
                abi = ""
        _current_abi.append(abi)
    return _current_abi[0] or None


def current_syscalls() -> dict[str, int]:
    """Return the system call numbers of the running process ({} off Linux)."""
    if not _current_syscalls:
        abi = current_abi()
        if abi is not None:
            _current_syscalls.update(_LINUX_SYSCALLS[abi])
    return _current_syscalls
