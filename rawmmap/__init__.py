"""rawmmap: the POSIX memory-mapping calls, from pure Python.

``rawmmap.mmap``, ``map_file`` and ``map_anonymous`` return a ``Region``:
one mapping with checked, protection-aware access, explicit ``munmap``,
``msync``, ``mprotect``, ``madvise``, ``mlock``, ``mincore``, ``mremap``,
``mseal``, ``pkey_mprotect``, ``guard`` and ``page_state``, and zero-copy
views; ``map_secret`` maps memory removed from the kernel's direct map.
``map_shared_memory`` and ``map_memfd`` (from ``rawmmap.shm``) share memory
between processes. ``rawmmap.raw`` holds the same calls on integer
addresses with the kernel's own semantics. ``python -m rawmmap probe``
reports what this kernel does with mappings.
"""

from __future__ import annotations

import os

from rawmmap import raw
from rawmmap.region import (
    ProtectionError,
    Region,
    SealedError,
    _index,
    map_anonymous,
    map_file,
    map_secret,
    mmap,
    page_size,
    set_pkey_rights,
)

# The flag enums and the shared-memory helpers are imported on first use
# (PEP 562): building them, and importing enum and typing for them, would
# cost more than the rest of ``import rawmmap`` (see docs/README-bench.md).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from rawmmap.flags import (
        Advice,
        MapFlag,
        MemfdSecretFlag,
        MlockAllFlag,
        MlockFlag,
        PkeyRights,
        Prot,
        RemapFlag,
        SyncFlag,
        huge_page_flag,
    )
    from rawmmap.pagestate import clear_soft_dirty
    from rawmmap.shm import MemoryFile, Seal, map_memfd, map_shared_memory, shm_open, shm_unlink

_LAZY = {
    "Advice": "rawmmap.flags",
    "MapFlag": "rawmmap.flags",
    "MemfdSecretFlag": "rawmmap.flags",
    "PkeyRights": "rawmmap.flags",
    "clear_soft_dirty": "rawmmap.pagestate",
    "MlockAllFlag": "rawmmap.flags",
    "MlockFlag": "rawmmap.flags",
    "Prot": "rawmmap.flags",
    "RemapFlag": "rawmmap.flags",
    "SyncFlag": "rawmmap.flags",
    "huge_page_flag": "rawmmap.flags",
    "MemoryFile": "rawmmap.shm",
    "Seal": "rawmmap.shm",
    "map_memfd": "rawmmap.shm",
    "map_shared_memory": "rawmmap.shm",
    "shm_open": "rawmmap.shm",
    "shm_unlink": "rawmmap.shm",
}

__version__ = "0.1.0"

__all__ = [
    "Advice",
    "MapFlag",
    "MemfdSecretFlag",
    "MemoryFile",
    "MlockAllFlag",
    "MlockFlag",
    "PkeyRights",
    "Prot",
    "ProtectionError",
    "Region",
    "RemapFlag",
    "Seal",
    "SealedError",
    "SyncFlag",
    "clear_soft_dirty",
    "huge_page_flag",
    "kill_and_release",
    "map_anonymous",
    "map_file",
    "map_memfd",
    "map_secret",
    "map_shared_memory",
    "mlockall",
    "mmap",
    "munlockall",
    "page_size",
    "process_madvise",
    "raw",
    "set_pkey_rights",
    "shm_open",
    "shm_unlink",
]


def mlockall(flags: int) -> None:
    """Lock every page of the process in memory with mlockall(2).

    Args:
        flags: ``MlockAllFlag`` bits (CURRENT, FUTURE, ONFAULT).

    Raises:
        OSError: EINVAL (bad flags), ENOMEM or EPERM (RLIMIT_MEMLOCK).
    """
    raw.mlockall(flags)


def munlockall() -> None:
    """Unlock every page of the process with munlockall(2)."""
    raw.munlockall()


def _pidfd(call: str, pid: int) -> int:
    if not hasattr(os, "pidfd_open"):  # pragma: no cover - not Linux
        raise NotImplementedError(f"{call} needs os.pidfd_open (Linux 5.3)")
    return os.pidfd_open(_index("pid", pid))


def process_madvise(pid: int, ranges: Iterable[tuple[int, int] | Region], advice: int) -> int:
    """Advise on another process's memory by its pid, with process_madvise(2) (Linux 5.10).

    ``rawmmap.raw.process_madvise`` on a pidfd opened here (and closed
    again). A Region in ``ranges`` stands for its own address range, which
    is the same in a child forked after it was mapped.

    Args:
        pid: the target process.
        ranges: (addr, length) pairs in the target's address space, or Regions.
        advice: ``Advice.COLD``, ``PAGEOUT``, ``WILLNEED`` or ``COLLAPSE``.

    Returns:
        The number of bytes advised.

    Raises:
        OSError: as ``raw.process_madvise`` (EPERM without ptrace access or
            CAP_SYS_NICE over the target, ESRCH for a process that is gone).
    """
    pairs = [
        (item.address, item.mapped_length) if isinstance(item, Region) else item for item in ranges
    ]
    pidfd = _pidfd("process_madvise", pid)
    try:
        return raw.process_madvise(pidfd, pairs, advice)
    finally:
        os.close(pidfd)


def kill_and_release(pid: int) -> None:
    """Kill a process (SIGKILL) and free its memory at once, with process_mrelease(2) (Linux 5.15).

    The pidfd is opened before the signal is sent, so a recycled pid cannot
    be hit. A process whose memory is already gone (ESRCH) counts as done.
    Reap it with ``os.waitpid`` afterwards as usual.

    Raises:
        ProcessLookupError: there is no such process.
        OSError: EPERM (not allowed to signal it), ENOSYS.
    """
    import signal  # noqa: PLC0415 - signal builds its enums at import: only here

    pidfd = _pidfd("kill_and_release", pid)
    try:
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        try:  # noqa: SIM105 - contextlib would be one more import at start-up
            raw.process_mrelease(pidfd)
        except ProcessLookupError:
            pass  # its exit finished first: the memory is gone already
    finally:
        os.close(pidfd)


# Hidden from type checkers: a visible module __getattr__ would make every
# misspelt name (``from rawmmap import Prott``) type-check as ``object``. They
# see the lazy names through the TYPE_CHECKING imports above instead.
if not TYPE_CHECKING:  # pragma: no branch

    def __getattr__(name: str) -> object:
        """Import a flag enum or a shared-memory helper on first use."""
        module_name = _LAZY.get(name)
        if module_name is None:
            raise AttributeError(f"module 'rawmmap' has no attribute {name!r}")
        value: object = getattr(__import__(module_name, fromlist=[name]), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    """List the public names, the lazily imported ones included."""
    return sorted(set(globals()) | set(__all__))
