"""Flag values per operating system and CPU architecture, as plain data.

Each table maps an enum name (``"Prot"``, ``"MapFlag"``, ...) to a dict of
C constant names, without their prefix, to values. ``table_for(system,
machine)`` picks the table for one platform; ``rawmmap.flags`` builds the
enums from the table of the running platform. Keeping the values as data,
not as enums, lets the tests build and check the table of every platform
on this one machine.

Sources (values carried over, no code):

* Linux asm-generic: ``include/uapi/asm-generic/mman-common.h`` and
  ``include/uapi/asm-generic/mman.h``, ``include/uapi/linux/mman.h`` (kernel
  6.12), as installed by Debian's linux-libc-dev.
* x86: ``arch/x86/include/uapi/asm/mman.h`` (MAP_32BIT, MAP_ABOVE4G).
"""

from __future__ import annotations

from typing import Dict

#: One platform's values: enum name -> {C name without prefix: value}.
Table = Dict[str, Dict[str, int]]

# --- Linux, asm-generic (x86, arm, aarch64, riscv, s390x, loongarch) -------

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
    # include/uapi/linux/mman.h (SHARED, PRIVATE, SHARED_VALIDATE),
    # include/uapi/asm-generic/mman-common.h and mman.h (the rest)
    "MapFlag": {
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
    "SyncFlag": {"ASYNC": 1, "INVALIDATE": 2, "SYNC": 4},
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
}

# arch/x86/include/uapi/asm/mman.h
_LINUX_X86_EXTRA: Table = {"MapFlag": {"BIT32": 0x40, "ABOVE4G": 0x80}}


def _merge(base: Table, extra: Table) -> Table:
    merged = {name: dict(values) for name, values in base.items()}
    for name, values in extra.items():
        merged.setdefault(name, {}).update(values)
    return merged


def linux_family(machine: str) -> str:
    """Return the kernel's arch family for a ``platform.machine()`` string."""
    machine = machine.lower()
    if machine in ("x86_64", "amd64", "i386", "i486", "i586", "i686", "x86"):
        return "x86"
    if machine.startswith(("aarch64", "arm64", "arm", "riscv", "s390", "loongarch")):
        return "generic"
    raise KeyError(machine)


def table_for(system: str, machine: str) -> Table:
    """Return the flag table of one platform.

    Args:
        system: ``sys.platform`` of that platform (``"linux"``, ...).
        machine: ``platform.machine()`` of that platform.

    Raises:
        KeyError: rawmmap has no table for this platform.
    """
    if system.startswith("linux"):
        family = linux_family(machine)
        if family == "x86":
            return _merge(_LINUX_GENERIC, _LINUX_X86_EXTRA)
        return _merge(_LINUX_GENERIC, {})
    raise KeyError(f"{system}/{machine}")
