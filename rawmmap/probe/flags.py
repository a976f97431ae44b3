"""Flags and arguments: the address, the length, the map type and the MAP_ flags.

NULL and fixed addresses, MAP_FIXED_NOREPLACE, length rounding and zero
length, MAP_SHARED_VALIDATE, MAP_NORESERVE and overcommit, MAP_HUGETLB,
MAP_GROWSDOWN, MAP_32BIT, MAP_DROPPABLE, MAP_LOCKED. Whatever MAP_FIXED
places lands inside a reservation the check made itself.
"""

from __future__ import annotations

import errno
import os

from rawmmap import raw
from rawmmap.flags import MapFlag, Prot
from rawmmap.probe.machine import read_text
from rawmmap.probe.registry import CheckSkipped, JSONValue, Outcome, ProbeContext, check, judge
from rawmmap.probe.support import (
    PAGE,
    PRIVATE_ANONYMOUS,
    READ_WRITE,
    attempt,
    attempt_mmap,
    describe_exit,
    errno_name,
    make_file,
    mapping,
    resident,
    run_child,
    skip_under_qemu,
)


@check("null-address-hint")
def check_null_address_hint(context: ProbeContext) -> Outcome:
    """With addr NULL the kernel chooses a page-aligned address.

    Source: POSIX.1-2017 mmap(): "All implementations interpret an addr
    value of 0 as granting the implementation complete freedom in
    selecting pa"; "When the implementation selects a value for pa, it
    never places a mapping at address 0"; the mapping is made of whole
    pages, so pa is page aligned.
    """
    expected = "a non-NULL, page-aligned address"
    with mapping(PAGE, READ_WRITE, PRIVATE_ANONYMOUS) as address:
        if address == 0:
            observed = "NULL"
        elif address % PAGE:
            observed = f"{address:#x}, not page aligned"
        else:
            observed = expected
    return judge(expected, observed)


@check("map-fixed-unaligned")
def check_map_fixed_unaligned(context: ProbeContext) -> Outcome:
    """MAP_FIXED at an address that is not page aligned fails with EINVAL.

    Both calls aim inside two pages this check reserved itself (PROT_NONE),
    so MAP_FIXED can only ever replace the check's own memory. The aligned
    call shows MAP_FIXED places the mapping exactly at addr.

    Source: POSIX.1-2017 mmap(), ERRORS: "[EINVAL] The addr argument (if
    MAP_FIXED was specified) or off is not a multiple of the page size";
    Linux mmap(2), MAP_FIXED: "addr must be suitably aligned".
    """
    expected = "unaligned: EINVAL; aligned: placed at addr"
    flags = PRIVATE_ANONYMOUS | MapFlag.FIXED
    with mapping(2 * PAGE, Prot.NONE, PRIVATE_ANONYMOUS) as reserved:
        address, unaligned = attempt_mmap(reserved + 1, PAGE, Prot.READ, flags)
        if address is not None:
            unaligned = f"mapped at {address:#x}"
        address, aligned = attempt_mmap(reserved + PAGE, PAGE, Prot.READ, flags)
        if address is not None:
            aligned = "placed at addr" if address == reserved + PAGE else f"at {address:#x}"
        # Whatever MAP_FIXED mapped lies inside the reservation, unmapped here.
    return judge(expected, f"unaligned: {unaligned}; aligned: {aligned}")


@check("map-fixed-noreplace")
def check_map_fixed_noreplace(context: ProbeContext) -> Outcome:
    """MAP_FIXED_NOREPLACE over an existing mapping fails with EEXIST.

    And in a hole of the check's own reservation it places the mapping at
    addr. NOREPLACE never replaces anything, so it is safe at any address.

    Source: Linux mmap(2), MAP_FIXED_NOREPLACE (since Linux 4.17): "If the
    requested range would collide with an existing mapping, then this call
    fails with the error EEXIST"; the same entry warns that older kernels
    do not recognize the flag and fall back to treating addr as a hint.
    """
    expected = "over a mapping: EEXIST; in a hole: placed at addr"
    if not hasattr(MapFlag, "FIXED_NOREPLACE"):
        raise CheckSkipped("MAP_FIXED_NOREPLACE is not on this platform", expected)
    if context.platform.os == "Linux" and context.platform.kernel_version()[:2] < (4, 17):
        raise CheckSkipped(
            "MAP_FIXED_NOREPLACE needs Linux 4.17; older kernels take addr as a hint",
            expected,
        )
    skip_under_qemu(
        context, "7.2 does not pass MAP_FIXED_NOREPLACE on: it takes addr as a hint", expected
    )
    flags = PRIVATE_ANONYMOUS | MapFlag.FIXED_NOREPLACE
    reserved = raw.mmap(0, 2 * PAGE, Prot.NONE, PRIVATE_ANONYMOUS, -1, 0)
    hole = reserved + PAGE
    owned = [(reserved, 2 * PAGE)]
    try:
        address, over = attempt_mmap(reserved, PAGE, Prot.READ, flags)
        if address is not None:
            if address == reserved:
                over = "replaced the mapping"
            else:
                over = "placed elsewhere (flag ignored)"
                owned.append((address, PAGE))
        raw.munmap(hole, PAGE)
        owned[0] = (reserved, PAGE)
        address, in_hole = attempt_mmap(hole, PAGE, Prot.READ, flags)
        if address is not None:
            owned.append((address, PAGE))
            in_hole = "placed at addr" if address == hole else "placed elsewhere"
        # EEXIST here means another thread took the hole: it is not ours to unmap.
    finally:
        for start, length in owned:
            raw.munmap(start, length)
    return judge(expected, f"over a mapping: {over}; in a hole: {in_hole}")


@check("length-rounding")
def check_length_rounding(context: ProbeContext) -> Outcome:
    """A length that is not a page multiple is rounded up to whole pages.

    Maps 100 bytes: mincore over the whole page succeeds (the whole page is
    mapped); munmap of the same 100 bytes removes the whole page (mincore
    then fails with ENOMEM).

    Source: POSIX.1-2017 mmap(): "The system performs mapping operations
    over whole pages. Thus, while the argument len need not meet a size or
    alignment constraint, the system shall include, in any mapping
    operation, any partial page specified by the address range"; Linux
    munmap(2): "All pages containing a part of the indicated range are
    unmapped"; Linux mincore(2): ENOMEM "addr to addr + length contained
    unmapped memory".
    """
    expected = "whole page mapped; munmap of 100 bytes unmaps the whole page (ENOMEM)"
    address = raw.mmap(0, 100, READ_WRITE, PRIVATE_ANONYMOUS, -1, 0)
    try:
        mapped = attempt(lambda: raw.mincore(address, PAGE))
    finally:
        raw.munmap(address, 100)
    # Only an observation: if another thread mapped this page meanwhile,
    # mincore merely says so.
    after = attempt(lambda: raw.mincore(address, PAGE))
    observed = (
        f"whole page {'mapped' if mapped == 'succeeded' else mapped}; munmap of 100 bytes "
        f"{'unmaps the whole page' if after != 'succeeded' else 'leaves the page mapped'} "
        f"({after})"
    )
    return judge(expected, observed)


@check("zero-length")
def check_zero_length(context: ProbeContext) -> Outcome:
    """mmap and munmap with length 0 fail with EINVAL.

    Source: POSIX.1-2017 mmap(), ERRORS: "[EINVAL] The value of len is
    zero"; munmap(): "[EINVAL] The len argument is 0"; Linux mmap(2):
    EINVAL "(since Linux 2.6.12) length was 0".
    """
    expected = "mmap: EINVAL; munmap: EINVAL"
    # If a kernel accepted length 0 it mapped nothing of ours to unmap:
    # unmapping a page there could remove someone else's mapping.
    _, mapped = attempt_mmap(0, 0, Prot.READ, PRIVATE_ANONYMOUS)
    with mapping(PAGE, Prot.NONE, PRIVATE_ANONYMOUS) as reserved:
        unmapped = attempt(lambda: raw.munmap(reserved, 0))
    return judge(expected, f"mmap: {mapped}; munmap: {unmapped}")


@check("munmap-unmapped-range")
def check_munmap_unmapped_range(context: ProbeContext) -> Outcome:
    """munmap of a range with nothing mapped is not an error (child process).

    Runs in a child: in this process another thread could map the freed
    range between the two calls, and the second munmap would remove it.

    Source: POSIX.1-2017 munmap(): "If there are no mappings in the
    specified address range, then munmap() has no effect"; Linux
    munmap(2): "It is not an error if the indicated range does not contain
    any mapped pages."
    """
    status, stdout, stderr = run_child(
        context,
        """
        address = raw.mmap(0, 3 * page, Prot.NONE, anonymous, -1, 0)
        raw.munmap(address + page, page)
        try:
            raw.munmap(address + page, page)
        except OSError as error:
            import errno
            print(errno.errorcode.get(error.errno, error.errno))
        else:
            print("succeeded")
        raw.munmap(address, 3 * page)
        """,
    )
    observed = stdout.strip() if status == 0 and stdout.strip() else describe_exit(status, stderr)
    return judge("succeeded", observed)


def _map_and_unmap(length: int, prot: int, flags: int, fd: int = -1) -> str:
    address, result = attempt_mmap(0, length, prot, flags, fd)
    if address is not None:
        raw.munmap(address, length)
    return result


def _flag(name: str, expected: str) -> int:
    if not hasattr(MapFlag, name):
        raise CheckSkipped(f"MAP_{name} is not on this platform", expected)
    return int(MapFlag[name])


@check("map-fixed-replaces")
def check_map_fixed_replaces(context: ProbeContext) -> Outcome:
    """MAP_FIXED over an existing mapping replaces it: the new pages read as zero.

    Source: POSIX.1-2017 mmap(): "If a MAP_FIXED request is successful,
    then any previous mappings ... for those whole pages containing any
    part of the address range [pa,pa+len) shall be removed, as if by an
    appropriate call to munmap(), before the new mapping is established";
    Linux mmap(2), MAP_FIXED: "the overlapped part of the existing
    mapping(s) will be discarded".
    """
    expected = "placed at addr; the old data gone (zero)"
    with mapping(2 * PAGE, READ_WRITE, PRIVATE_ANONYMOUS) as reserved:
        raw.write(reserved + PAGE, b"old")
        address, result = attempt_mmap(
            reserved + PAGE, PAGE, READ_WRITE, PRIVATE_ANONYMOUS | MapFlag.FIXED
        )
        if address is None:
            return judge(expected, result)
        zero = raw.read(reserved + PAGE, 3) == bytes(3)
    placed = "placed at addr" if address == reserved + PAGE else f"at {address:#x}"
    return judge(expected, f"{placed}; the old data {'gone (zero)' if zero else 'still there'}")


@check("map-type-required")
def check_map_type_required(context: ProbeContext) -> Outcome:
    """mmap with neither MAP_SHARED nor MAP_PRIVATE fails with EINVAL.

    Source: POSIX.1-2017 mmap(): "[EINVAL] The value of flags is invalid
    (neither MAP_PRIVATE nor MAP_SHARED is set)"; Linux mmap(2), EINVAL:
    "flags contained none of MAP_PRIVATE, MAP_SHARED, or
    MAP_SHARED_VALIDATE."
    """
    return judge("EINVAL", _map_and_unmap(PAGE, Prot.READ, MapFlag.ANONYMOUS))


@check("map-anonymous-ignores-fd")
def check_map_anonymous_ignores_fd(context: ProbeContext) -> Outcome:
    """With MAP_ANONYMOUS the descriptor is ignored: an O_RDONLY one allows a shared write map.

    Source: Linux mmap(2), MAP_ANONYMOUS: "The fd argument is ignored;
    however, some implementations require fd to be -1 if MAP_ANONYMOUS
    (or MAP_ANON) is specified, and portable applications should ensure
    this."
    """
    with make_file(context, "ignored", bytes(PAGE), os.O_RDONLY) as descriptor:
        result = _map_and_unmap(PAGE, READ_WRITE, MapFlag.SHARED | MapFlag.ANONYMOUS, descriptor)
    return judge("mapped", result)


@check("map-unaligned-hint")
def check_map_unaligned_hint(context: ProbeContext) -> Outcome:
    """An unaligned address hint without MAP_FIXED is not an error: the kernel picks an aligned one.

    Source: Linux mmap(2): "If addr is not NULL, then the kernel takes it
    as a hint about where to place the mapping; on Linux, the kernel will
    pick a nearby page boundary"; POSIX.1-2017 mmap(): without MAP_FIXED
    the use of addr is implementation-defined.
    """
    expected = "mapped at a page-aligned address"
    with mapping(PAGE, Prot.NONE, PRIVATE_ANONYMOUS) as hint:
        pass
    address, result = attempt_mmap(hint + 123, PAGE, Prot.READ, PRIVATE_ANONYMOUS)
    if address is None:
        return judge(expected, result)
    raw.munmap(address, PAGE)
    aligned = "a page-aligned" if address % PAGE == 0 else "an unaligned"
    return judge(expected, f"mapped at {aligned} address")


@check("shared-validate-unknown-flag")
def check_shared_validate_unknown_flag(context: ProbeContext) -> Outcome:
    """MAP_SHARED_VALIDATE refuses a flag the file does not support with EOPNOTSUPP.

    The flag is MAP_SYNC, which only DAX files support.

    Source: Linux mmap(2), MAP_SHARED_VALIDATE (since Linux 4.15): "This
    flag provides the same behavior as MAP_SHARED except that MAP_SHARED
    mappings ignore unknown flags in flags. By contrast, when creating a
    mapping using MAP_SHARED_VALIDATE, the kernel verifies all passed
    flags are known and fails the mapping with the error EOPNOTSUPP for
    unknown flags"; MAP_SYNC: "available only with the
    MAP_SHARED_VALIDATE mapping type" and DAX files; the kernel's
    tools/testing/selftests/mm (map_fixed_noreplace, mremap tests use
    MAP_SHARED_VALIDATE).
    """
    expected = f"VALIDATE: mapped; VALIDATE|SYNC: {errno_name(errno.EOPNOTSUPP)}"
    validate = _flag("SHARED_VALIDATE", expected)
    skip_under_qemu(context, "7.2 does not know MAP_SHARED_VALIDATE (EINVAL)", expected)
    sync = _flag("SYNC", expected)
    with make_file(context, "validate", bytes(PAGE)) as descriptor:
        alone = _map_and_unmap(PAGE, READ_WRITE, validate, descriptor)
        refused = _map_and_unmap(PAGE, READ_WRITE, validate | sync, descriptor)
        ignored = _map_and_unmap(PAGE, READ_WRITE, MapFlag.SHARED | sync, descriptor)
    # Plain MAP_SHARED|MAP_SYNC: mmap(2) says the flag is ignored, newer
    # kernels refuse it too; recorded, not judged.
    details: dict[str, JSONValue] = {"shared_sync": ignored}
    return judge(expected, f"VALIDATE: {alone}; VALIDATE|SYNC: {refused}", details)


def _meminfo_kib(field: str) -> int | None:
    for line in (read_text("/proc/meminfo") or "").splitlines():
        name, _, value = line.partition(":")
        if name == field and value.split():
            return int(value.split()[0])
    return None


@check("map-noreserve-overcommit")
def check_map_noreserve_overcommit(context: ProbeContext) -> Outcome:
    """Under heuristic overcommit, a private map larger than RAM + swap needs MAP_NORESERVE.

    Maps twice RAM + swap (64-bit only): with MAP_NORESERVE it is mapped
    (nothing is reserved or touched); without it, mode 0 refuses it
    (ENOMEM) and mode 1 maps it. Skipped in mode 2, where MAP_NORESERVE
    is ignored.

    Source: Linux mmap(2), MAP_NORESERVE: "Do not reserve swap space for
    this mapping ... In kernels before 2.6, this flag had effect only for
    private writable mappings"; the kernel's
    Documentation/mm/overcommit-accounting.rst: mode 0 "Obvious overcommits
    of address space are refused", mode 1 "Appropriate for some
    scientific applications", mode 2 "the MAP_NORESERVE flag is ignored".
    """
    mode = context.platform.overcommit_memory
    expected = {
        "0": "NORESERVE: mapped; without: ENOMEM",
        "1": "NORESERVE: mapped; without: mapped",
    }.get(mode, "NORESERVE: mapped")
    noreserve = _flag("NORESERVE", expected)
    if mode not in ("0", "1"):
        raise CheckSkipped(f"overcommit mode {mode or 'unknown'}: NORESERVE is ignored", expected)
    if context.platform.pointer_bits < 64:
        raise CheckSkipped("twice RAM + swap does not fit a 32-bit address space", expected)
    total = _meminfo_kib("MemTotal")
    swap = _meminfo_kib("SwapTotal") or 0
    if total is None:
        raise CheckSkipped("/proc/meminfo has no MemTotal", expected)
    length = 2 * (total + swap) * 1024
    with_flag = _map_and_unmap(length, READ_WRITE, PRIVATE_ANONYMOUS | noreserve)
    without = _map_and_unmap(length, READ_WRITE, PRIVATE_ANONYMOUS)
    details: dict[str, JSONValue] = {"length": length, "overcommit_memory": mode}
    return judge(expected, f"NORESERVE: {with_flag}; without: {without}", details)


@check("map-hugetlb")
def check_map_hugetlb(context: ProbeContext) -> Outcome:
    """MAP_HUGETLB maps a huge page, aligned to its size, where huge pages are reserved.

    Skipped when the pool is empty (vm.nr_hugepages is 0: filling it needs
    root).

    Source: Linux mmap(2), MAP_HUGETLB (since Linux 2.6.32): "Allocate the
    mapping using "huge" pages"; the kernel's
    Documentation/admin-guide/mm/hugetlbpage.rst: "HugePages_Free is the
    number of huge pages in the pool that are not yet allocated".
    """
    expected = "mapped, aligned to the huge page size"
    hugetlb = _flag("HUGETLB", expected)
    free = _meminfo_kib("HugePages_Free")
    size = _meminfo_kib("Hugepagesize")
    if not free or not size:
        raise CheckSkipped("no free huge page in the pool (vm.nr_hugepages is 0)", expected)
    length = size * 1024
    address, result = attempt_mmap(0, length, READ_WRITE, PRIVATE_ANONYMOUS | hugetlb)
    if address is None:
        return judge(expected, result)
    try:
        raw.write(address, b"huge")
    finally:
        raw.munmap(address, length)
    aligned = "aligned" if address % length == 0 else "not aligned"
    return judge(expected, f"mapped, {aligned} to the huge page size")


@check("map-growsdown")
def check_map_growsdown(context: ProbeContext) -> Outcome:
    """MAP_GROWSDOWN makes a stack-like mapping: mapped, and its top page is usable.

    Source: Linux mmap(2), MAP_GROWSDOWN: "This flag is used for stacks.
    It indicates to the kernel virtual memory system that the mapping
    should extend downward in memory"; the LTP test
    testcases/kernel/syscalls/mmap/mmap18.c.
    """
    expected = "mapped; the top page holds a store"
    growsdown = _flag("GROWSDOWN", expected)
    length = 4 * PAGE
    address, result = attempt_mmap(0, length, READ_WRITE, PRIVATE_ANONYMOUS | growsdown)
    if address is None:
        return judge(expected, result)
    try:
        raw.write(address + length - 8, b"top")
        stored = raw.read(address + length - 8, 3) == b"top"
    finally:
        raw.munmap(address, length)
    return judge(expected, f"mapped; the top page {'holds' if stored else 'loses'} a store")


@check("map-32bit")
def check_map_32bit(context: ProbeContext) -> Outcome:
    """MAP_32BIT (x86-64) places the mapping in the first 2 GiB of the address space.

    Source: Linux mmap(2), MAP_32BIT (since Linux 2.4.20, 2.6): "Put the
    mapping into the first 2 Gigabytes of the process address space. This
    flag is supported only on x86-64, for 64-bit programs."
    """
    expected = "mapped below 2 GiB"
    bit32 = _flag("BIT32", expected)
    if context.platform.pointer_bits != 64:
        raise CheckSkipped("MAP_32BIT is for 64-bit programs only", expected)
    address, result = attempt_mmap(0, PAGE, Prot.READ, PRIVATE_ANONYMOUS | bit32)
    if address is None:
        return judge(expected, result)
    raw.munmap(address, PAGE)
    below = address + PAGE <= 1 << 31
    return judge(expected, f"mapped {'below' if below else 'above'} 2 GiB", {"address": address})


@check("map-droppable")
def check_map_droppable(context: ProbeContext) -> Outcome:
    """MAP_DROPPABLE memory is zero-filled and holds stores until the kernel drops it.

    Source: Linux mmap(2), MAP_DROPPABLE (since Linux 6.11): "Mark the
    mapping as droppable: under memory pressure the kernel may drop the
    pages ... reads of them then see zeros"; it is a mapping type of its
    own, used instead of MAP_PRIVATE.
    """
    expected = "mapped; reads zero; holds a store"
    droppable = _flag("DROPPABLE", expected)
    skip_under_qemu(context, "7.2 does not know MAP_DROPPABLE (EINVAL)", expected)
    address, result = attempt_mmap(0, PAGE, READ_WRITE, droppable | MapFlag.ANONYMOUS)
    if address is None:
        raise CheckSkipped(f"MAP_DROPPABLE failed with {result}: it needs Linux 6.11", expected)
    try:
        zero = raw.read(address, 8) == bytes(8)
        raw.write(address, b"drop")
        held = raw.read(address, 4) == b"drop"
    finally:
        raw.munmap(address, PAGE)
    observed = f"mapped; reads {'zero' if zero else 'data'}; {'holds' if held else 'loses'} a store"
    return judge(expected, observed)


@check("map-locked")
def check_map_locked(context: ProbeContext) -> Outcome:
    """MAP_LOCKED maps the pages locked: all resident without a touch.

    Source: Linux mmap(2), MAP_LOCKED (since Linux 2.5.37): "Mark the
    mapped region to be locked in the same way as mlock(2). This
    implementation will try to populate (prefault) the whole range".
    """
    pages = 4
    expected = f"{pages} of {pages} pages resident"
    locked = _flag("LOCKED", expected)
    address, result = attempt_mmap(0, pages * PAGE, READ_WRITE, PRIVATE_ANONYMOUS | locked)
    if address is None:
        raise CheckSkipped(f"MAP_LOCKED failed with {result} (RLIMIT_MEMLOCK)", expected)
    try:
        count = sum(resident(raw.mincore(address, pages * PAGE)))
    finally:
        raw.munmap(address, pages * PAGE)
    return judge(expected, f"{count} of {pages} pages resident")
