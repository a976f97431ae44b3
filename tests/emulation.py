"""Tell whether the tests run under qemu-user, and skip what it cannot emulate.

qemu-user runs a foreign-architecture program on this kernel by translating
its system calls. Some calls it does not pass through (it answers madvise(2)
itself, lacks mlock2(2), and reserves a 32-bit guest's whole address space),
so a few kernel answers never reach the guest. Tests that need those answers
use ``skip_under_qemu_user(reason)``, which names qemu in the skip reason
instead of hiding the gap.

How it is detected, in order:

1. ``RAWMMAP_UNDER_QEMU=1`` (or ``0``) in the environment; ``tools/crossarch.py``
   sets it for every run.
2. The kernel's own architecture, ``/proc/sys/kernel/arch`` (Linux 6.1,
   the ``arch`` sysctl), belongs to another CPU family than the
   interpreter's ``os.uname().machine``, which qemu-user rewrites to the
   guest's. A 32-bit program on its 64-bit kernel (i686 on x86_64, armv7l
   on aarch64) is the same family and runs natively.

Without either, the tests assume a native run.
"""

from __future__ import annotations

import os

import pytest

from rawmmap import raw

__all__ = [
    "FIXED_NOREPLACE_IS_IGNORED",
    "GUEST_SPACE_IS_RESERVED",
    "MADVISE_IS_EMULATED",
    "MLOCK2_IS_MISSING",
    "OFFSET_IS_TRUNCATED",
    "POINTER_BITS",
    "QEMU_USER",
    "cpu_family",
    "kernel_machine",
    "skip_under_qemu_user",
    "under_qemu_user",
]

#: Width of a pointer of this interpreter (32 on i386, armhf, mipsel).
POINTER_BITS = raw.POINTER_BITS

# Machine-name prefixes of one CPU family; a 64-bit kernel of a family runs
# the family's 32-bit programs natively.
_FAMILIES = (
    ("x86", ("x86_64", "amd64", "i386", "i486", "i586", "i686", "x86")),
    ("arm", ("aarch64", "arm64", "arm")),
    ("powerpc", ("ppc", "powerpc")),
    ("s390", ("s390",)),
    ("mips", ("mips",)),
    ("riscv", ("riscv",)),
    ("sparc", ("sparc",)),
    ("loongarch", ("loongarch",)),
)


def cpu_family(machine: str) -> str:
    """Return the CPU family of a ``uname -m`` string (the string itself if unknown)."""
    machine = machine.lower()
    for family, prefixes in _FAMILIES:
        if machine.startswith(prefixes):
            return family
    return machine


def kernel_machine() -> str | None:
    """Return the kernel's architecture from /proc/sys/kernel/arch, if readable."""
    try:
        with open("/proc/sys/kernel/arch", encoding="ascii") as arch:
            return arch.read().strip() or None
    except OSError:
        return None


def under_qemu_user() -> bool:
    """Tell whether this interpreter runs under qemu-user (see the module docstring)."""
    setting = os.environ.get("RAWMMAP_UNDER_QEMU", "")
    if setting in ("0", "1"):
        return setting == "1"
    kernel = kernel_machine()
    if kernel is None:
        return False
    return cpu_family(kernel) != cpu_family(os.uname().machine)


#: True when the tests run under qemu-user.
QEMU_USER = under_qemu_user()


def skip_under_qemu_user(reason: str, *, pointer_bits: int | None = None) -> pytest.MarkDecorator:
    """Skip a test under qemu-user, saying what qemu does not emulate.

    Args:
        reason: what qemu-user does instead of passing the call through.
        pointer_bits: skip only for guests of this pointer width (32: the
            gap concerns 32-bit guests alone).
    """
    applies = QEMU_USER and (pointer_bits is None or pointer_bits == POINTER_BITS)
    return pytest.mark.skipif(applies, reason=reason)


#: Skip reasons for what qemu-user 7.2 (Debian bookworm) does not pass through.
#: Each names the qemu source that answers the call instead of the kernel.
MADVISE_IS_EMULATED = (
    "qemu-user 7.2 answers madvise(2) itself and returns 0 for any advice "
    "(linux-user/mmap.c target_madvise), so the kernel's EINVAL never reaches the guest"
)
MLOCK2_IS_MISSING = (
    "qemu-user 7.2 does not implement the mlock2 syscall (ENOSYS), which glibc "
    "reports as EINVAL for a nonzero flag such as MLOCK_ONFAULT"
)
FIXED_NOREPLACE_IS_IGNORED = (
    "qemu-user 7.2 does not pass MAP_FIXED_NOREPLACE to the kernel: it takes addr "
    "as a hint and places the mapping elsewhere instead of failing with EEXIST"
)
OFFSET_IS_TRUNCATED = (
    "qemu-user 7.2 truncates a 32-bit guest's mmap offset to 32 bits (a map at "
    "5 GiB reads the bytes at 1 GiB); the above-4-GiB offset is proved on native i386"
)
GUEST_SPACE_IS_RESERVED = (
    "qemu-user reserves a 32-bit guest's whole address space in the host "
    "(reserved_va), so an unmapped guest range is still mapped and msync/mprotect "
    "on it succeed instead of failing with ENOMEM"
)
