"""Limits and sizes: the page size from every source, huge page sizes, map count, RLIMIT_AS.

Whatever exhausts a limit runs in a forked child, so the probe process
keeps its own address space and limits.
"""

from __future__ import annotations

import mmap as stdlib_mmap
import os
import struct

from rawmmap import raw
from rawmmap.flags import MapFlag, Prot
from rawmmap.probe.machine import read_text
from rawmmap.probe.registry import CheckSkipped, JSONValue, Outcome, ProbeContext, check, judge
from rawmmap.probe.support import (
    PAGE,
    PRIVATE_ANONYMOUS,
    attempt_mmap,
    errno_name,
    fork_answer,
    need_fork,
)

#: include/uapi/linux/auxvec.h
_AT_NULL = 0
_AT_PAGESZ = 6


def _auxv_page_size(pointer_bits: int) -> int:
    with open("/proc/self/auxv", "rb") as auxv:
        data = auxv.read()
    word = "=Q" if pointer_bits == 64 else "=I"
    size = struct.calcsize(word)
    for offset in range(0, len(data) - 2 * size + 1, 2 * size):
        (key,) = struct.unpack_from(word, data, offset)
        (value,) = struct.unpack_from(word, data, offset + size)
        if key == _AT_PAGESZ:
            return int(value)
        if key == _AT_NULL:
            break
    return 0


@check("page-size-sources-agree")
def check_page_size_sources_agree(context: ProbeContext) -> Outcome:
    """sysconf(_SC_PAGESIZE), the AT_PAGESZ auxiliary vector entry and mmap.PAGESIZE agree.

    Source: POSIX.1-2017 sysconf(): _SC_PAGESIZE is "the size in bytes of
    a page"; Linux getauxval(3), AT_PAGESZ: "The system page size (the
    same value returned by sysconf(_SC_PAGESIZE))"; proc(5),
    /proc/pid/auxv.
    """
    expected = "sysconf, AT_PAGESZ and mmap.PAGESIZE agree"
    try:
        auxv = _auxv_page_size(context.platform.pointer_bits)
    except OSError as error:
        raise CheckSkipped(
            f"/proc/self/auxv cannot be read ({errno_name(error.errno)})", expected
        ) from error
    sizes: dict[str, JSONValue] = {
        "sysconf": os.sysconf("SC_PAGESIZE"),
        "auxv": auxv,
        "stdlib_mmap": stdlib_mmap.PAGESIZE,
        "rawmmap": raw.page_size(),
    }
    agree = len(set(sizes.values())) == 1
    observed = expected if agree else ", ".join(f"{key} {value}" for key, value in sizes.items())
    return judge(expected, observed, sizes)


@check("huge-page-sizes", informational=True)
def check_huge_page_sizes(context: ProbeContext) -> Outcome:
    """The huge page sizes the kernel offers (informational).

    Source: the kernel's Documentation/admin-guide/mm/hugetlbpage.rst:
    "/sys/kernel/mm/hugepages ... contains a subdirectory for each of the
    huge page sizes that the kernel supports ... hugepages-${size}kB".
    """
    try:
        entries = os.listdir("/sys/kernel/mm/hugepages")
    except OSError as error:
        raise CheckSkipped("/sys/kernel/mm/hugepages is not readable here") from error
    sizes: list[int] = sorted(
        int(name[len("hugepages-") : -2])
        for name in entries
        if name.startswith("hugepages-") and name.endswith("kB")
    )
    observed = ", ".join(f"{size} kB" for size in sizes) or "none"
    listed: list[JSONValue] = list(sizes)
    return Outcome("the sizes offered", observed, "pass", details={"sizes_kib": listed})


@check("max-map-count")
def check_max_map_count(context: ProbeContext) -> Outcome:
    """Splitting a mapping past vm.max_map_count fails with ENOMEM (forked child).

    The child maps one region of max_map_count + 16 pages and mprotects
    every other page, each call adding areas, until the kernel refuses.

    Source: Linux mmap(2) and mprotect(2), ENOMEM: "The process's maximum
    number of mappings would have been exceeded"; the kernel's
    Documentation/admin-guide/sysctl/vm.rst, max_map_count: "This file
    contains the maximum number of memory map areas a process may have."
    """
    expected = "ENOMEM near the limit"
    need_fork(expected)
    limit_text = read_text("/proc/sys/vm/max_map_count")
    if not limit_text or not limit_text.isdigit():
        raise CheckSkipped("/proc/sys/vm/max_map_count is not readable here", expected)
    limit = int(limit_text)
    if limit > 300_000:
        raise CheckSkipped(f"vm.max_map_count is {limit}: too many areas to make quickly", expected)
    if context.platform.emulation:
        raise CheckSkipped(
            f"{context.platform.emulation} keeps its own maps: the count is not the kernel's",
            expected,
        )
    pages = 2 * limit + 32

    def child() -> str:  # pragma: no cover - runs in a forked child
        address = raw.mmap(0, pages * PAGE, Prot.NONE, PRIVATE_ANONYMOUS, -1, 0)
        for index in range(1, pages, 2):
            try:
                raw.mprotect(address + index * PAGE, PAGE, Prot.READ)
            except OSError as error:
                return f"{errno_name(error.errno)} {index}"
        return "no error"

    answer = fork_answer(child)
    name, _, index = answer.partition(" ")
    details: dict[str, JSONValue] = {"max_map_count": limit}
    if index.isdigit():
        # Each mprotect of a page inside the region adds two areas.
        details["areas_made"] = int(index)
        near = abs(int(index) - limit) <= 2000
        return judge(expected, f"{name} {'near' if near else 'far from'} the limit", details)
    return judge(expected, answer, details)


@check("rlimit-as-enforced")
def check_rlimit_as_enforced(context: ProbeContext) -> Outcome:
    """A mapping that would pass RLIMIT_AS fails with ENOMEM (forked child).

    Source: POSIX.1-2017 getrlimit(), RLIMIT_AS: "If this limit is
    exceeded, the malloc() function shall fail with errno set to [ENOMEM]
    ... the mmap() function shall fail with errno set to [ENOMEM]"; Linux
    mmap(2), ENOMEM: "The process's RLIMIT_AS limit ... would have been
    exceeded."
    """
    expected = "ENOMEM"
    need_fork(expected)
    if context.platform.emulation == "qemu-user":
        raise CheckSkipped("qemu-user counts the address space its own way", expected)
    try:
        import resource
    except ImportError as error:  # pragma: no cover - every POSIX Python has it
        raise CheckSkipped("no resource module", expected) from error

    def child() -> str:  # pragma: no cover - runs in a forked child
        used = 0
        for line in (read_text("/proc/self/status") or "").splitlines():
            if line.startswith("VmSize:"):
                used = int(line.split()[1]) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (used + 64 * PAGE, resource.RLIM_INFINITY))
        _, result = attempt_mmap(0, 1024 * PAGE, Prot.READ, PRIVATE_ANONYMOUS)
        return result

    return judge(expected, fork_answer(child))


@check("mmap-min-addr")
def check_mmap_min_addr(context: ProbeContext) -> Outcome:
    """A fixed mapping below vm.mmap_min_addr fails with EPERM for an unprivileged process.

    Uses MAP_FIXED_NOREPLACE at one page, so nothing is ever replaced;
    as root (CAP_SYS_RAWIO) the mapping is allowed and unmapped again.

    Source: Linux mmap(2), EPERM: "The operation was prevented by a file
    seal" and, for addresses below /proc/sys/vm/mmap_min_addr, the
    kernel's Documentation/admin-guide/sysctl/vm.rst, mmap_min_addr: "This
    file indicates the amount of address space which a user process will
    be restricted from mmapping."
    """
    expected = "mapped" if context.platform.root else "EPERM"
    minimum = read_text("/proc/sys/vm/mmap_min_addr")
    if not minimum or not minimum.isdigit() or int(minimum) <= PAGE:
        raise CheckSkipped(f"vm.mmap_min_addr is {minimum or 'unknown'}", expected)
    if not hasattr(MapFlag, "FIXED_NOREPLACE") or context.platform.kernel_version()[:2] < (4, 17):
        raise CheckSkipped("needs MAP_FIXED_NOREPLACE (Linux 4.17)", expected)
    if context.platform.emulation == "qemu-user":
        raise CheckSkipped("qemu-user places guest pages itself (no NOREPLACE)", expected)
    address, result = attempt_mmap(
        PAGE, PAGE, Prot.READ, PRIVATE_ANONYMOUS | MapFlag.FIXED_NOREPLACE
    )
    if address is not None:
        raw.munmap(address, PAGE)
        result = "mapped" if address == PAGE else f"mapped at {address:#x}"
    return judge(expected, result, {"mmap_min_addr": int(minimum)})
