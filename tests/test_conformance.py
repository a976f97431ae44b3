"""Classic mmap-family conformance scenarios, expressed through the safe API.

The scenarios are those of the Linux Test Project
(``testcases/kernel/syscalls/{mmap,munmap,mprotect,msync,madvise,mincore,
mlock,mlock2,mremap,memfd_create}``) and of the Open POSIX test suite
(``conformance/interfaces/{mmap,munmap,mprotect,msync,mlock,shm_open,
shm_unlink}``): each test names the one it follows. The behaviour checked
is the kernel's and POSIX's; the code is this project's. Where a scenario
would fault, the safe API raises instead (and a child process shows the
fault through ``rawmmap.raw``, where the scenario is about the fault).
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import stat
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import rawmmap
from rawmmap import (
    Advice,
    MapFlag,
    MlockAllFlag,
    Prot,
    ProtectionError,
    Region,
    SyncFlag,
    raw,
)
from rawmmap.shm import MemfdFlag, Seal, has_shm, map_memfd, map_shared_memory

from .conftest import RunChild
from .emulation import (
    FUTURE_WRITE_SEAL_IS_IGNORED,
    GUEST_SPACE_IS_RESERVED,
    MADV_REMOVE_IS_MISSING,
    MADVISE_IS_EMULATED,
    MEMFD_LONG_NAME_IS_ENAMETOOLONG,
    MINCORE_CHECKS_RANGE_FIRST,
    MINCORE_SAYS_ALL_RESIDENT,
    MSYNC_KEEPS_MTIME,
    SEALED_MEMFD_REFUSES_READ_ONLY_SHARED_MAP,
    SHARED_VALIDATE_IS_UNKNOWN,
    VMLCK_IS_MISSING,
    WIPEONFORK_IS_REFUSED,
    is_missing,
    skip_under_qemu_user,
)
from .support import is_mapped

madvise_real = pytest.mark.skipif(
    is_missing(MADVISE_IS_EMULATED), reason="qemu-user answers madvise(2) itself"
)

PAGE = rawmmap.page_size()
RW = Prot.READ | Prot.WRITE
LINUX = sys.platform.startswith("linux")
linux_only = pytest.mark.skipif(not LINUX, reason="Linux behaviour")


def file_of(tmp_path: Path, size: int, name: str = "f", fill: bytes = b"") -> Path:
    """A file of ``size`` bytes: ``fill`` repeated, or byte i = i % 251."""
    path = tmp_path / name
    data = (fill * (size // len(fill) + 1))[:size] if fill else bytes(i % 251 for i in range(size))
    path.write_bytes(data)
    return path


@pytest.fixture
def fd_rw(tmp_path: Path) -> Iterator[int]:
    """A read-write descriptor of a two-page file."""
    fd = os.open(file_of(tmp_path, 2 * PAGE), os.O_RDWR)
    yield fd
    os.close(fd)


def vm_status(field: str) -> int:
    """A kB field of /proc/self/status (VmLck, ...)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(field)  # pragma: no cover


# ================================================================== mmap


def test_mmap01_a_mapping_ending_inside_the_last_page_reads_zero_past_eof(tmp_path: Path) -> None:
    # LTP mmap01, POSIX mmap 11-1: the partial last page's tail reads zero,
    # and stores there never reach the file.
    path = file_of(tmp_path, PAGE + 100, fill=b"a")
    with open(path, "r+b") as file:
        region = rawmmap.mmap(PAGE, RW, MapFlag.SHARED, file.fileno(), PAGE)
    try:
        assert region.read(0, 100) == b"a" * 100
        assert region.read(100, tail=True) == bytes(PAGE - 100)
        region.write(100, b"beyond", tail=True)
        region.msync()
        assert path.stat().st_size == PAGE + 100
        assert path.read_bytes()[PAGE:] == b"a" * 100
    finally:
        region.munmap()


def test_mmap02_prot_read_maps_the_file_contents(tmp_path: Path) -> None:
    path = file_of(tmp_path, 3 * PAGE)
    with rawmmap.map_file(path) as region:
        assert region.read() == path.read_bytes()
        with pytest.raises(ProtectionError):
            region[0] = 1


@pytest.mark.parametrize("prot", [Prot.READ | Prot.EXEC, Prot.READ | Prot.WRITE | Prot.EXEC])
def test_mmap03_04_exec_mappings_read_the_file(tmp_path: Path, prot: Prot) -> None:
    path = file_of(tmp_path, PAGE)
    try:
        region = rawmmap.map_file(path, prot=prot, shared=False)
    except PermissionError:
        pytest.skip("this file system is mounted noexec")
    with region:
        assert region.read() == path.read_bytes()


def test_mmap05_prot_none_refuses_access_and_faults_raw(run_child: RunChild) -> None:
    with rawmmap.map_anonymous(PAGE, Prot.NONE) as region:
        with pytest.raises(ProtectionError):
            region.read(0, 1)
        with pytest.raises(ProtectionError):
            region.write(0, b"x")
        with pytest.raises(ProtectionError):
            region.view()
    result = run_child(
        """
        from rawmmap import raw, MapFlag, Prot
        a = raw.mmap(0, 4096, Prot.NONE, MapFlag.PRIVATE | MapFlag.ANONYMOUS, -1, 0)
        raw.read(a, 1)
        """
    )
    assert result.returncode == -signal.SIGSEGV


@pytest.mark.parametrize(
    ("mode", "prot", "shared"),
    [
        (os.O_WRONLY, Prot.READ, True),  # LTP mmap06
        (os.O_WRONLY, RW, False),  # LTP mmap07
        (os.O_RDONLY, RW, True),  # LTP mmap08, POSIX mmap 3-? EACCES
    ],
)
def test_mmap06_07_08_open_mode_refusals_are_eacces(
    tmp_path: Path, mode: int, prot: int, shared: bool
) -> None:
    fd = os.open(file_of(tmp_path, PAGE), mode)
    try:
        with pytest.raises(PermissionError) as caught:
            rawmmap.map_file(fd, PAGE, prot=prot, shared=shared)
        assert caught.value.errno == errno.EACCES
        assert "open" in str(caught.value)  # says what to change
    finally:
        os.close(fd)


def test_mmap_private_writable_of_a_read_only_descriptor_is_allowed(tmp_path: Path) -> None:
    path = file_of(tmp_path, PAGE)
    fd = os.open(path, os.O_RDONLY)
    try:
        with rawmmap.map_file(fd, prot=RW, shared=False) as region:
            region[0:4] = b"priv"
            assert region.read(0, 4) == b"priv"
        assert path.read_bytes()[:4] != b"priv"
    finally:
        os.close(fd)


@pytest.mark.parametrize("fd", [-2, 10**6])
def test_mmap08_posix_23_1_a_bad_descriptor_is_ebadf(fd: int) -> None:
    with pytest.raises(OSError) as caught:
        rawmmap.mmap(PAGE, Prot.READ, MapFlag.SHARED, fd)
    assert caught.value.errno == errno.EBADF


def test_mmap09_shrinking_and_growing_the_file_under_a_mapping(
    tmp_path: Path, run_child: RunChild
) -> None:
    # Growing the file makes later pages mappable; the grown bytes read zero.
    path = file_of(tmp_path, PAGE)
    with open(path, "r+b") as file:
        file.truncate(3 * PAGE)
        with rawmmap.map_file(file.fileno(), prot=RW) as region:
            assert region.read(PAGE, PAGE) == bytes(PAGE)
            file.truncate(2 * PAGE)
            assert region.read(0, 4) == path.read_bytes()[:4]
    # Touching a page wholly past the new end raises SIGBUS (the one fault).
    result = run_child(
        f"""
        import os, rawmmap
        fd = os.open({str(path)!r}, os.O_RDWR)
        os.ftruncate(fd, 2 * {PAGE})
        r = rawmmap.map_file(fd)
        os.ftruncate(fd, {PAGE})
        r.read({PAGE}, 1)
        """
    )
    assert result.returncode == -signal.SIGBUS


@linux_only
def test_mmap10_shared_anonymous_memory_is_seen_across_fork() -> None:
    region = rawmmap.map_anonymous(PAGE, shared=True)
    private = rawmmap.map_anonymous(PAGE)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        region[0:5] = b"child"
        private[0:5] = b"child"
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert region.read(0, 5) == b"child"
    assert private.read(0, 5) == bytes(5)  # copy-on-write
    region.munmap()
    private.munmap()


@linux_only
def test_mmap12_populate_makes_every_page_resident(tmp_path: Path) -> None:
    with rawmmap.map_anonymous(16 * PAGE, flags=MapFlag.POPULATE) as region:
        assert all(region.mincore())
    path = file_of(tmp_path, 8 * PAGE)
    with rawmmap.map_file(path, flags=MapFlag.POPULATE) as region:
        assert all(region.mincore())


@linux_only
def test_mmap13_a_mapping_past_the_end_is_refused_not_a_sigbus(tmp_path: Path) -> None:
    path = file_of(tmp_path, PAGE)
    with pytest.raises(ValueError, match="wholly past the end"):
        rawmmap.map_file(path, 2 * PAGE)
    with pytest.raises(ValueError, match="past the end"):
        rawmmap.map_file(path, PAGE, offset=2 * PAGE)


@linux_only
@skip_under_qemu_user(VMLCK_IS_MISSING)
def test_mmap14_map_locked_locks_the_pages() -> None:
    before = vm_status("VmLck")
    try:
        region = rawmmap.map_anonymous(4 * PAGE, flags=MapFlag.LOCKED)
    except OSError as error:  # RLIMIT_MEMLOCK
        pytest.skip(f"MAP_LOCKED refused here: {error}")
    with region:
        assert vm_status("VmLck") >= before + 4 * PAGE // 1024
    assert vm_status("VmLck") == before


def test_mmap15_an_offset_past_any_file_is_refused(tmp_path: Path) -> None:
    path = file_of(tmp_path, PAGE)
    big = (1 << 62) // PAGE * PAGE
    with pytest.raises(ValueError, match="past the end"):
        rawmmap.map_file(path, PAGE, offset=big)
    with pytest.raises(ValueError, match="past the end"):
        rawmmap.map_file(path, PAGE, offset=1 << 64)  # never truncated to 0


@linux_only
def test_mmap17_fixed_noreplace_over_a_mapping_is_eexist() -> None:
    if not hasattr(MapFlag, "FIXED_NOREPLACE"):
        pytest.skip("no MAP_FIXED_NOREPLACE")
    with rawmmap.map_anonymous(PAGE) as region:
        with pytest.raises(OSError) as caught:
            rawmmap.mmap(
                PAGE,
                RW,
                MapFlag.PRIVATE | MapFlag.ANONYMOUS | MapFlag.FIXED_NOREPLACE,
                addr=region.address,
            )
        assert caught.value.errno == errno.EEXIST
        assert region.read(0, 1) == b"\0"
    # Free address: it lands exactly there.
    hint = region._address
    moved = rawmmap.mmap(
        PAGE, RW, MapFlag.PRIVATE | MapFlag.ANONYMOUS | MapFlag.FIXED_NOREPLACE, addr=hint
    )
    assert moved.address == hint
    moved.munmap()


def test_mmap_fixed_without_noreplace_is_refused() -> None:
    with pytest.raises(ValueError, match="FIXED"):
        rawmmap.mmap(PAGE, RW, MapFlag.PRIVATE | MapFlag.ANONYMOUS | MapFlag.FIXED, addr=1 << 28)


def test_mmap19_two_shared_mappings_of_one_file_see_each_other(tmp_path: Path) -> None:
    path = file_of(tmp_path, 2 * PAGE)
    first = rawmmap.map_file(path, prot=RW)
    second = rawmmap.map_file(path, PAGE, offset=PAGE, prot=RW)
    try:
        first[PAGE : PAGE + 4] = b"one!"
        assert second.read(0, 4) == b"one!"
        second[8:12] = b"two!"
        assert first.read(PAGE + 8, 4) == b"two!"
    finally:
        first.munmap()
        second.munmap()


def _lowest_unused_map_bit() -> int:
    used = 0
    for member in MapFlag:
        used |= int(member)
    bit = 0x100
    while bit & used:
        bit <<= 1
    return bit


@linux_only
@skip_under_qemu_user(SHARED_VALIDATE_IS_UNKNOWN)
def test_mmap20_shared_validate_refuses_an_unknown_flag(fd_rw: int) -> None:
    if not hasattr(MapFlag, "SHARED_VALIDATE"):
        pytest.skip("no MAP_SHARED_VALIDATE")
    # A flag the kernel does not validate for shared mappings (MAP_SYNC off
    # DAX): EOPNOTSUPP.
    sync = getattr(MapFlag, "SYNC", None)
    with pytest.raises(OSError) as caught:
        if sync is not None:
            rawmmap.mmap(PAGE, RW, MapFlag.SHARED_VALIDATE | sync, fd_rw)
        else:
            # mips has no MAP_SYNC (its own mman.h): the lowest bit no MAP_* of
            # its table uses, outside the kernel's LEGACY_MAP_MASK too. Through
            # raw.mmap: rawmmap.mmap refuses a bit it does not know itself.
            unknown = int(MapFlag.SHARED_VALIDATE) | _lowest_unused_map_bit()
            raw.mmap(0, PAGE, int(RW), unknown, fd_rw, 0)
    assert caught.value.errno in (errno.EOPNOTSUPP, errno.EINVAL)
    with rawmmap.mmap(PAGE, RW, MapFlag.SHARED_VALIDATE, fd_rw) as region:
        region[0:2] = b"ok"


def test_posix_mmap_7_1_shared_stores_reach_the_file_7_2_private_do_not(
    tmp_path: Path,
) -> None:
    path = file_of(tmp_path, PAGE, fill=b"-")
    with rawmmap.map_file(path, prot=RW) as shared:
        shared[0:6] = b"shared"
        shared.msync()
        assert path.read_bytes()[:6] == b"shared"
    with rawmmap.map_file(path, prot=RW, shared=False) as private:
        private[0:7] = b"private"
        assert private.read(0, 7) == b"private"
        assert path.read_bytes()[:7] == b"shared-"


def test_posix_mmap_10_1_zero_length_is_einval_like() -> None:
    with pytest.raises(ValueError, match="positive"):
        rawmmap.map_anonymous(0)
    with pytest.raises(OSError) as caught:
        raw.mmap(0, 0, RW, MapFlag.PRIVATE | MapFlag.ANONYMOUS, -1, 0)
    assert caught.value.errno == errno.EINVAL


def test_posix_mmap_12_1_closing_the_descriptor_keeps_the_mapping(tmp_path: Path) -> None:
    path = file_of(tmp_path, PAGE)
    fd = os.open(path, os.O_RDWR)
    region = rawmmap.map_file(fd, prot=RW)
    os.close(fd)
    region[0:3] = b"yes"
    region.msync()
    assert path.read_bytes()[:3] == b"yes"
    region.munmap()


@skip_under_qemu_user(MSYNC_KEEPS_MTIME)
def test_posix_mmap_14_1_store_and_msync_update_mtime(tmp_path: Path) -> None:
    path = file_of(tmp_path, PAGE)
    old = path.stat().st_mtime_ns
    time.sleep(0.02)
    with rawmmap.map_file(path, prot=RW) as region:
        region[0:1] = b"z"
        region.msync()
    assert path.stat().st_mtime_ns > old


@pytest.mark.parametrize("kind", ["pipe", "directory"])
def test_posix_mmap_19_1_unmappable_files_are_enodev(tmp_path: Path, kind: str) -> None:
    if kind == "pipe":
        read_end, write_end = os.pipe()
        fds = [read_end, write_end]
        fd = read_end
    else:
        fd = os.open(tmp_path, os.O_RDONLY)
        fds = [fd]
    try:
        with pytest.raises(OSError) as caught:
            rawmmap.mmap(PAGE, Prot.READ, MapFlag.SHARED, fd)
        assert caught.value.errno == errno.ENODEV
        assert kind in str(caught.value)
    finally:
        for each in fds:
            os.close(each)


def test_posix_mmap_21_1_flags_without_a_type_are_refused() -> None:
    with pytest.raises(ValueError, match=r"exactly one mapping type: MapFlag\.SHARED, PRIVATE"):
        rawmmap.mmap(PAGE, RW, MapFlag.ANONYMOUS)
    with pytest.raises(ValueError, match="flags="):
        rawmmap.mmap(PAGE, RW, MapFlag.ANONYMOUS | MapFlag.PRIVATE | 0x100000000)


def test_posix_mmap_22_1_an_unaligned_offset_says_the_page_size(fd_rw: int) -> None:
    with pytest.raises(ValueError, match=f"page size \\({PAGE}\\)"):
        rawmmap.mmap(PAGE, Prot.READ, MapFlag.SHARED, fd_rw, 100)


def test_posix_mmap_24_1_more_than_the_address_space_is_enomem() -> None:
    # The largest size_t that is a page multiple: more than any address space.
    with pytest.raises(OSError) as caught:
        rawmmap.map_anonymous(2 * sys.maxsize + 2 - PAGE, flags=MapFlag.NORESERVE)
    assert caught.value.errno == errno.ENOMEM


def test_an_empty_file_says_how_to_map_it(tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="empty file"):
        rawmmap.map_file(path)


def test_a_missing_path_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        rawmmap.map_file(tmp_path / "missing")


def test_dev_zero_private_mapping_is_zero_and_writable() -> None:
    fd = os.open("/dev/zero", os.O_RDWR)
    try:
        with rawmmap.mmap(4 * PAGE, RW, MapFlag.PRIVATE, fd) as region:
            assert region.read() == bytes(4 * PAGE)
            region[0:2] = b"ok"
    finally:
        os.close(fd)


def test_addr_is_a_hint_the_kernel_may_ignore() -> None:
    first = rawmmap.map_anonymous(PAGE)
    with (
        first,
        rawmmap.mmap(PAGE, RW, MapFlag.PRIVATE | MapFlag.ANONYMOUS, addr=first.address) as r,
    ):
        assert r.address != first.address  # taken: placed elsewhere


# ================================================================== munmap


def test_munmap01_posix_1_1_access_after_munmap_raises_and_faults_raw(
    run_child: RunChild,
) -> None:
    region = rawmmap.map_anonymous(2 * PAGE)
    address = region.address
    region.munmap()
    assert region.closed
    with pytest.raises(ValueError, match="unmapped"):
        region.read(0, 1)
    assert not is_mapped(address, 2 * PAGE)
    result = run_child(
        """
        from rawmmap import raw, MapFlag, Prot
        a = raw.mmap(0, 4096, 3, MapFlag.PRIVATE | MapFlag.ANONYMOUS, -1, 0)
        raw.munmap(a, 4096)
        raw.write(a, b"x")
        """
    )
    assert result.returncode == -signal.SIGSEGV


def test_munmap02_a_hole_in_the_middle_leaves_both_sides() -> None:
    with rawmmap.map_anonymous(3 * PAGE) as region:
        region[0:1] = b"a"
        region[2 * PAGE : 2 * PAGE + 1] = b"c"
        region.munmap(PAGE, PAGE)
        assert not is_mapped(region.address + PAGE)
        assert region.read(0, 1) == b"a"
        assert region.read(2 * PAGE, 1) == b"c"
        with pytest.raises(ValueError, match="unmapped"):
            region.read(PAGE, 1)
        with pytest.raises(ValueError, match="unmapped"):
            region.mprotect(Prot.READ)
        region.munmap(PAGE, PAGE)  # a hole again: nothing to do


def test_munmap03_posix_3_1_unaligned_and_empty_ranges() -> None:
    with rawmmap.map_anonymous(2 * PAGE) as region:
        with pytest.raises(ValueError, match="multiple of the page size"):
            region.munmap(1, PAGE)
        with pytest.raises(ValueError, match="positive"):
            region.munmap(0, 0)
        with pytest.raises(IndexError):
            region.munmap(0, 3 * PAGE)
    with pytest.raises(OSError) as caught:
        raw.munmap(PAGE + 1, PAGE)
    assert caught.value.errno == errno.EINVAL


def test_posix_munmap_2_1_munmap_of_unmapped_memory_succeeds() -> None:
    region = rawmmap.map_anonymous(PAGE)
    address = region.address
    region.munmap()
    raw.munmap(address, PAGE)  # POSIX: not an error
    region.munmap()  # idempotent


def test_munmap_of_a_file_mapping_keeps_its_stores(tmp_path: Path) -> None:
    path = file_of(tmp_path, PAGE)
    region = rawmmap.map_file(path, prot=RW)
    region[0:4] = b"kept"
    region.munmap()
    assert path.read_bytes()[:4] == b"kept"


# ================================================================== mprotect


def test_mprotect01_posix_1_1_read_only_refuses_stores(run_child: RunChild) -> None:
    with rawmmap.map_anonymous(PAGE) as region:
        region[0:1] = b"w"
        region.mprotect(Prot.READ)
        assert region.protection() == Prot.READ
        with pytest.raises(ProtectionError):
            region[0:1] = b"x"
        assert region.read(0, 1) == b"w"
        region.mprotect(RW)
        region[0:1] = b"x"
    result = run_child(
        """
        from rawmmap import raw, MapFlag, Prot
        a = raw.mmap(0, 4096, 3, MapFlag.PRIVATE | MapFlag.ANONYMOUS, -1, 0)
        raw.mprotect(a, 4096, Prot.READ)
        raw.write(a, b"x")
        """
    )
    assert result.returncode == -signal.SIGSEGV


def _skip_where_holes_stay_mapped() -> None:
    # rawmmap's own refusal was checked; the kernel's ENOMEM for the hole
    # cannot come where qemu-user keeps a 32-bit guest's space reserved.
    if is_missing(GUEST_SPACE_IS_RESERVED):
        pytest.skip(GUEST_SPACE_IS_RESERVED)


def test_mprotect02_posix_2_1_an_unmapped_range_is_enomem_or_refused() -> None:
    with rawmmap.map_anonymous(2 * PAGE) as region:
        region.munmap(PAGE, PAGE)
        with pytest.raises(ValueError, match="unmapped"):
            region.mprotect(Prot.READ, 0, 2 * PAGE)
        address = region.address
    _skip_where_holes_stay_mapped()
    with pytest.raises(OSError) as caught:
        raw.mprotect(address, PAGE, Prot.READ)
    assert caught.value.errno == errno.ENOMEM


def test_mprotect03_posix_3_1_write_on_a_shared_read_only_descriptor_is_eacces(
    tmp_path: Path,
) -> None:
    fd = os.open(file_of(tmp_path, PAGE), os.O_RDONLY)
    try:
        with rawmmap.map_file(fd) as region:
            with pytest.raises(PermissionError) as caught:
                region.mprotect(RW)
            assert caught.value.errno == errno.EACCES
            assert region.protection() == Prot.READ
    finally:
        os.close(fd)


def test_mprotect04_exec_pages_stay_readable() -> None:
    with rawmmap.map_anonymous(PAGE) as region:
        region[0:1] = b"\xc3"
        try:
            region.mprotect(Prot.READ | Prot.EXEC)
        except PermissionError:
            pytest.skip("PROT_EXEC refused here (SELinux or a hardened kernel)")
        assert region.read(0, 1) == b"\xc3"


@linux_only
def test_mprotect05_one_page_splits_the_kernel_area() -> None:
    def areas(start: int, stop: int) -> int:
        count = 0
        with open("/proc/self/maps") as maps:
            for line in maps:
                low, high = (int(part, 16) for part in line.split()[0].split("-"))
                if low < stop and start < high:
                    count += 1
        return count

    with rawmmap.map_anonymous(3 * PAGE) as region:
        region[0 : 3 * PAGE] = b"\1" * (3 * PAGE)
        before = areas(region.address, region.address + 3 * PAGE)
        region.mprotect(Prot.READ, PAGE, PAGE)
        assert areas(region.address, region.address + 3 * PAGE) == before + 2
        assert [region.protection(i * PAGE) for i in range(3)] == [RW, Prot.READ, RW]


def test_mprotect_prot_none_then_back_keeps_the_data() -> None:
    with rawmmap.map_anonymous(PAGE) as region:
        region[0:4] = b"data"
        region.mprotect(Prot.NONE)
        with pytest.raises(ProtectionError):
            region.read(0, 1)
        region.mprotect(Prot.READ)
        assert region.read(0, 4) == b"data"


def test_mprotect_unknown_bits_are_refused() -> None:
    with rawmmap.map_anonymous(PAGE) as region, pytest.raises(ValueError, match="prot="):
        region.mprotect(0x40000000)


# ================================================================== msync


def test_msync01_sync_writes_the_range_to_the_file(tmp_path: Path) -> None:
    path = file_of(tmp_path, 2 * PAGE, fill=b".")
    with rawmmap.map_file(path, prot=RW) as region:
        region[PAGE : PAGE + 4] = b"sync"
        region.msync(SyncFlag.SYNC, PAGE, PAGE)
        assert path.read_bytes()[PAGE : PAGE + 4] == b"sync"
        region[0:5] = b"async"
        region.msync(SyncFlag.ASYNC)


def test_msync02_posix_4_1_invalidate_is_accepted_and_keeps_shared_data(
    tmp_path: Path,
) -> None:
    path = file_of(tmp_path, PAGE, fill=b".")
    with rawmmap.map_file(path, prot=RW) as region:
        region[0:3] = b"inv"
        region.msync(SyncFlag.SYNC | SyncFlag.INVALIDATE)
        assert region.read(0, 3) == b"inv"
        with open(path, "r+b") as file:
            file.write(b"OUT")
        region.msync(SyncFlag.INVALIDATE | SyncFlag.ASYNC)
        assert region.read(0, 3) == b"OUT"  # one page cache: always coherent on Linux


def test_msync03_posix_8_1_sync_with_async_and_unknown_bits_are_refused(fd_rw: int) -> None:
    with rawmmap.mmap(PAGE, RW, MapFlag.SHARED, fd_rw) as region:
        with pytest.raises(ValueError, match="both SYNC and ASYNC"):
            region.msync(SyncFlag.SYNC | SyncFlag.ASYNC)
        with pytest.raises(ValueError, match="flags="):
            region.msync(0x100)
        address = region.address
        with pytest.raises(OSError) as caught:
            raw.msync(address + 1, PAGE, SyncFlag.SYNC)  # POSIX msync 10-1
        assert caught.value.errno == errno.EINVAL


def test_msync04_posix_9_1_an_unmapped_range_is_enomem_or_refused(fd_rw: int) -> None:
    region = rawmmap.mmap(2 * PAGE, RW, MapFlag.SHARED, fd_rw)
    region.munmap(PAGE, PAGE)
    with pytest.raises(ValueError, match="unmapped"):
        region.msync(SyncFlag.SYNC)
    address = region.address
    region.munmap()
    _skip_where_holes_stay_mapped()
    with pytest.raises(OSError) as caught:
        raw.msync(address, PAGE, SyncFlag.SYNC)
    assert caught.value.errno == errno.ENOMEM


@linux_only
def test_posix_msync_11_1_invalidate_over_locked_pages_is_ebusy(fd_rw: int) -> None:
    with rawmmap.mmap(PAGE, RW, MapFlag.SHARED, fd_rw) as region:
        try:
            region.mlock()
        except OSError as error:
            pytest.skip(f"mlock refused: {error}")
        with pytest.raises(OSError) as caught:
            region.msync(SyncFlag.SYNC | SyncFlag.INVALIDATE)
        assert caught.value.errno == errno.EBUSY
        region.munlock()


def test_msync_of_anonymous_memory_is_allowed() -> None:
    with rawmmap.map_anonymous(PAGE) as region:
        region.msync()


# ================================================================== madvise


def _linux_advice() -> list[str]:
    names = ["NORMAL", "RANDOM", "SEQUENTIAL", "WILLNEED", "DONTNEED", "DONTFORK", "DOFORK"]
    names += ["DONTDUMP", "DODUMP", "WIPEONFORK", "KEEPONFORK", "COLD", "PAGEOUT", "FREE"]
    names += ["POPULATE_READ", "POPULATE_WRITE", "MERGEABLE", "UNMERGEABLE", "HUGEPAGE"]
    names += ["NOHUGEPAGE"]
    return [name for name in names if hasattr(Advice, name)]


@pytest.mark.parametrize("name", _linux_advice())
def test_madvise01_each_advice_on_private_anonymous_memory(name: str) -> None:
    # LTP madvise01/02: the kernel accepts the advice or says EINVAL (not
    # built in); the data survives every advice that does not discard it.
    with rawmmap.map_anonymous(4 * PAGE) as region:
        region[0:4] = b"data"
        try:
            region.madvise(getattr(Advice, name))
        except OSError as error:
            assert error.errno in (errno.EINVAL, errno.EPERM, errno.ENOSYS), error
            pytest.skip(f"MADV_{name}: {error.strerror}")
        expected = bytes(4) if name in ("DONTNEED",) else b"data"
        if name != "FREE":  # FREE may or may not have dropped it yet
            assert region.read(0, 4) == expected


@linux_only
def test_madvise_dontneed_refaults_a_file_mapping_from_the_file(tmp_path: Path) -> None:
    path = file_of(tmp_path, PAGE, fill=b"f")
    with rawmmap.map_file(path, prot=RW, shared=False) as region:
        region[0:4] = b"priv"
        region.madvise(Advice.DONTNEED)
        assert region.read(0, 4) == b"ffff"


@linux_only
@madvise_real
@skip_under_qemu_user(MADV_REMOVE_IS_MISSING)
def test_madvise_remove_on_private_memory_is_einval() -> None:
    with rawmmap.map_anonymous(PAGE) as region:
        with pytest.raises(OSError) as caught:
            region.madvise(Advice.REMOVE)
        assert caught.value.errno == errno.EINVAL


@linux_only
@madvise_real
@skip_under_qemu_user(MADV_REMOVE_IS_MISSING)
def test_madvise_remove_punches_a_hole_in_shared_memory() -> None:
    memory = map_memfd(2 * PAGE)
    try:
        memory.region[0:4] = b"gone"
        memory.region.madvise(Advice.REMOVE, 0, PAGE)
        assert memory.region.read(0, 4) == bytes(4)
    finally:
        memory.close()


@linux_only
@madvise_real
def test_madvise_dontneed_over_locked_pages_is_einval() -> None:
    with rawmmap.map_anonymous(PAGE) as region:
        try:
            region.mlock()
        except OSError as error:
            pytest.skip(f"mlock refused: {error}")
        with pytest.raises(OSError) as caught:
            region.madvise(Advice.DONTNEED)
        assert caught.value.errno == errno.EINVAL
        region.munlock()


@linux_only
@madvise_real
@skip_under_qemu_user(WIPEONFORK_IS_REFUSED)
def test_madvise_wipeonfork_gives_the_child_zeroes() -> None:
    with rawmmap.map_anonymous(PAGE) as region:
        region[0:4] = b"wipe"
        region.madvise(Advice.WIPEONFORK)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            os.write(write_end, region.read(0, 4))
            os._exit(0)
        os.close(write_end)
        seen = os.read(read_end, 4)
        os.close(read_end)
        os.waitpid(pid, 0)
        assert seen == bytes(4)
        assert region.read(0, 4) == b"wipe"


@pytest.mark.parametrize("name", ["HWPOISON", "SOFT_OFFLINE"])
def test_madvise_advice_that_makes_accesses_fault_is_refused(name: str) -> None:
    if not hasattr(Advice, name):
        pytest.skip(f"no MADV_{name}")
    refused = pytest.raises(ValueError, match=r"rawmmap\.raw\.madvise")
    with rawmmap.map_anonymous(PAGE) as region, refused:
        region.madvise(getattr(Advice, name))


@madvise_real
def test_madvise_unknown_advice_is_the_kernels_einval() -> None:
    with rawmmap.map_anonymous(PAGE) as region:
        with pytest.raises(OSError) as caught:
            region.madvise(9999)
        assert caught.value.errno == errno.EINVAL


# ================================================================== mincore


@skip_under_qemu_user(MINCORE_SAYS_ALL_RESIDENT)
def test_mincore01_touched_pages_are_resident_untouched_are_not() -> None:
    with rawmmap.map_anonymous(4 * PAGE) as region:
        assert region.mincore() == [False] * 4
        region[PAGE : PAGE + 1] = b"x"
        assert region.mincore() == [False, True, False, False]
        assert region.mincore(PAGE, PAGE) == [True]
        region.madvise(Advice.DONTNEED)
        assert region.mincore() == [False] * 4


def test_mincore02_unaligned_and_unmapped_ranges() -> None:
    region = rawmmap.map_anonymous(2 * PAGE)
    with pytest.raises(ValueError, match="multiple of the page size"):
        region.mincore(1)
    address = region.address
    region.munmap()
    with pytest.raises(OSError) as caught:
        raw.mincore(address, PAGE)
    assert caught.value.errno == errno.ENOMEM
    if not is_missing(MINCORE_CHECKS_RANGE_FIRST):  # qemu-user: ENOMEM first
        with pytest.raises(OSError) as caught:
            raw.mincore(address + 1, PAGE)
        assert caught.value.errno == errno.EINVAL


def test_mincore03_a_cached_file_is_resident(tmp_path: Path) -> None:
    path = file_of(tmp_path, 4 * PAGE)
    path.read_bytes()  # into the page cache
    with rawmmap.map_file(path) as region:
        assert all(region.mincore())


@linux_only
def test_mincore04_locked_pages_are_resident() -> None:
    with rawmmap.map_anonymous(4 * PAGE) as region:
        try:
            region.mlock()
        except OSError as error:
            pytest.skip(f"mlock refused: {error}")
        assert all(region.mincore())
        region.munlock()


# ================================================================== mlock


@linux_only
@skip_under_qemu_user(VMLCK_IS_MISSING)
def test_mlock01_posix_mlock_locks_and_munlock_unlocks() -> None:
    before = vm_status("VmLck")
    with rawmmap.map_anonymous(8 * PAGE) as region:
        try:
            region.mlock(PAGE, 2 * PAGE)
        except OSError as error:
            pytest.skip(f"mlock refused: {error}")
        assert vm_status("VmLck") == before + 2 * PAGE // 1024
        assert region.mincore(PAGE, 2 * PAGE) == [True, True]
        region.munlock(PAGE, 2 * PAGE)
        assert vm_status("VmLck") == before


@linux_only
@skip_under_qemu_user(MINCORE_SAYS_ALL_RESIDENT)
def test_mlock201_onfault_locks_pages_as_they_are_touched() -> None:
    if not raw.HAS_MLOCK2:
        pytest.skip("no mlock2 in this C library")
    with rawmmap.map_anonymous(4 * PAGE) as region:
        try:
            region.mlock(onfault=True)
        except OSError as error:
            pytest.skip(f"mlock2(MLOCK_ONFAULT) refused: {error}")
        assert region.mincore() == [False] * 4
        region[0:1] = b"x"
        assert region.mincore()[0]
        region.munlock()


def test_mlock2_unknown_flags_are_the_kernels_einval() -> None:
    if not raw.HAS_MLOCK2:
        pytest.skip("no mlock2 in this C library")
    with rawmmap.map_anonymous(PAGE) as region:
        with pytest.raises(OSError) as caught:
            raw.mlock2(region.address, PAGE, 0x80)
        assert caught.value.errno in (errno.EINVAL, errno.ENOSYS)


@linux_only
def test_mlock_of_an_unmapped_range_is_refused_or_enomem() -> None:
    region = rawmmap.map_anonymous(2 * PAGE)
    region.munmap(PAGE, PAGE)
    with pytest.raises(ValueError, match="unmapped"):
        region.mlock()
    address = region.address
    region.munmap()
    _skip_where_holes_stay_mapped()
    with pytest.raises(OSError) as caught:
        raw.munlock(address, PAGE)
    assert caught.value.errno == errno.ENOMEM


@linux_only
def test_mlockall_current_locks_every_mapping(run_child: RunChild) -> None:
    result = run_child(
        """
        import rawmmap
        r = rawmmap.map_anonymous(4 * 4096)
        try:
            rawmmap.mlockall(rawmmap.MlockAllFlag.CURRENT)
        except OSError as error:
            print("refused", error.errno)
        else:
            print("locked", all(r.mincore()))
            rawmmap.munlockall()
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] in ("locked", "refused")
    if result.stdout.startswith("locked"):
        assert result.stdout.split()[1] == "True"


def test_mlockall_unknown_flags_are_einval() -> None:
    with pytest.raises(OSError) as caught:
        rawmmap.mlockall(0)
    assert caught.value.errno == errno.EINVAL
    assert MlockAllFlag.CURRENT


@linux_only
def test_posix_mlock_rlimit_memlock_is_enforced_for_an_unprivileged_process(
    run_child: RunChild,
) -> None:
    result = run_child(
        """
        import errno, os, resource, rawmmap
        if os.geteuid() == 0:
            os.setgid(65534); os.setuid(65534)
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (4096, 4096))
        r = rawmmap.map_anonymous(64 * 4096)
        try:
            r.mlock()
        except OSError as error:
            print(errno.errorcode[error.errno])
        else:
            print("locked")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in ("ENOMEM", "EPERM", "EAGAIN")


# ================================================================== mremap


def adjacent(pages: int, prot: int, more: int, more_prot: int) -> tuple[Region, Region]:
    """Two Regions, the second right after the first (FIXED_NOREPLACE in a freed range)."""
    if not hasattr(MapFlag, "FIXED_NOREPLACE"):
        pytest.skip("no MAP_FIXED_NOREPLACE")
    private = MapFlag.PRIVATE | MapFlag.ANONYMOUS | MapFlag.FIXED_NOREPLACE
    reserved = rawmmap.map_anonymous((pages + more) * PAGE, Prot.NONE)
    address = reserved.address
    reserved.munmap()
    first = rawmmap.mmap(pages * PAGE, prot, private, addr=address)
    second = rawmmap.mmap(more * PAGE, more_prot, private, addr=address + pages * PAGE)
    return first, second


@linux_only
def test_mremap01_grow_keeps_the_data_and_may_move() -> None:
    region = rawmmap.map_anonymous(PAGE)
    region[0:4] = b"grow"
    region.mremap(64 * PAGE)
    assert region.read(0, 4) == b"grow"
    assert region.read(63 * PAGE, PAGE) == bytes(PAGE)
    region.mremap(PAGE)
    assert len(region) == PAGE
    region.munmap()


@linux_only
def test_mremap02_03_no_room_and_no_move_is_enomem() -> None:
    region, neighbour = adjacent(2, RW, 1, RW)
    try:
        with pytest.raises(OSError) as caught:
            region.mremap(4 * PAGE, may_move=False)
        assert caught.value.errno == errno.ENOMEM
        region.mremap(4 * PAGE)  # it may move
        assert region.address != neighbour.address - 2 * PAGE
    finally:
        region.munmap()
        neighbour.munmap()


@linux_only
def test_mremap04_bad_flags_through_raw_are_einval() -> None:
    with rawmmap.map_anonymous(PAGE) as region:
        with pytest.raises(OSError) as caught:
            raw.mremap(region.address, PAGE, 2 * PAGE, 0x80)
        assert caught.value.errno == errno.EINVAL
        with pytest.raises(OSError) as caught:
            raw.mremap(region.address, PAGE, PAGE, 2)  # FIXED without MAYMOVE
        assert caught.value.errno == errno.EINVAL


@linux_only
def test_mremap05_shrink_then_grow_a_file_mapping_with_the_file(tmp_path: Path) -> None:
    path = file_of(tmp_path, PAGE)
    region = rawmmap.map_file(path, prot=RW)
    region.resize(3 * PAGE)
    assert path.stat().st_size == 3 * PAGE
    region[2 * PAGE : 2 * PAGE + 3] = b"end"
    region.resize(PAGE)
    assert path.stat().st_size == PAGE
    region.munmap()


@linux_only
def test_mremap_over_two_mappings_is_efault_through_raw() -> None:
    first, second = adjacent(1, RW, 1, Prot.READ)
    try:
        with pytest.raises(OSError) as caught:
            raw.mremap(first.address, 2 * PAGE, 4 * PAGE, 1)
        assert caught.value.errno == errno.EFAULT
    finally:
        first.munmap()
        second.munmap()


# ================================================================== memfd_create


@linux_only
def test_memfd_create01_seals_grow_shrink_write() -> None:
    memory = map_memfd(2 * PAGE, sealing=True)
    try:
        memory.add_seals(Seal.GROW | Seal.SHRINK)
        assert memory.seals() & Seal.GROW
        with pytest.raises(PermissionError):
            os.ftruncate(memory.fd, 4 * PAGE)
        with pytest.raises(PermissionError):
            os.ftruncate(memory.fd, PAGE)
        with pytest.raises(OSError, match="unmap"):
            memory.add_seals(Seal.WRITE)  # its own writable mapping
        memory.region.munmap()
        memory.add_seals(Seal.WRITE)
        with pytest.raises(PermissionError):
            os.write(memory.fd, b"x")
        with pytest.raises(PermissionError):
            rawmmap.map_file(memory.fd, prot=RW)
        if is_missing(SEALED_MEMFD_REFUSES_READ_ONLY_SHARED_MAP):
            # Linux 5.10 and gVisor: even a read-only shared map is refused
            # (tests/emulation.py observed it); 6.1 and later allow reading.
            with pytest.raises(PermissionError):
                rawmmap.map_file(memory.fd)
            return
        with rawmmap.map_file(memory.fd) as reader:
            assert reader.read(0, 1) == b"\0"
    finally:
        memory.close()


@linux_only
@skip_under_qemu_user(MEMFD_LONG_NAME_IS_ENAMETOOLONG)
def test_memfd_create02_a_name_too_long_is_einval() -> None:
    if not hasattr(os, "memfd_create"):
        pytest.skip("no memfd_create here")
    with pytest.raises(OSError) as caught:
        raw.memfd_create("x" * 250, 0)
    assert caught.value.errno == errno.EINVAL
    fd = raw.memfd_create("x" * 249, 0)
    os.close(fd)
    with pytest.raises(OSError) as caught:
        raw.memfd_create("ok", 0x4000)  # an unknown flag
    assert caught.value.errno == errno.EINVAL


@linux_only
def test_memfd_create_seal_seal_forbids_more_seals() -> None:
    memory = map_memfd(PAGE, sealing=True)
    try:
        memory.add_seals(Seal.SEAL)
        with pytest.raises(PermissionError):
            memory.add_seals(Seal.GROW)
    finally:
        memory.close()


@linux_only
def test_memfd_without_sealing_refuses_seals() -> None:
    memory = map_memfd(PAGE)
    try:
        with pytest.raises(PermissionError):
            memory.add_seals(Seal.GROW)
    finally:
        memory.close()


@linux_only
@skip_under_qemu_user(FUTURE_WRITE_SEAL_IS_IGNORED)
def test_memfd_future_write_keeps_existing_mappings_writable() -> None:
    memory = map_memfd(PAGE, sealing=True)
    try:
        try:
            memory.add_seals(Seal.FUTURE_WRITE)
        except OSError as error:
            pytest.skip(f"no F_SEAL_FUTURE_WRITE: {error}")
        memory.region[0:2] = b"ok"
        with pytest.raises(PermissionError):
            rawmmap.map_file(memory.fd, prot=RW)
        with pytest.raises(PermissionError):
            os.write(memory.fd, b"x")
    finally:
        memory.close()


@linux_only
def test_memfd_noexec_seal_is_not_executable() -> None:
    if not hasattr(MemfdFlag, "NOEXEC_SEAL"):
        pytest.skip("no MFD_NOEXEC_SEAL")
    try:
        memory = map_memfd(PAGE, flags=MemfdFlag.NOEXEC_SEAL)
    except OSError as error:
        assert error.errno == errno.EINVAL
        pytest.skip("this kernel predates MFD_NOEXEC_SEAL (6.3)")
    try:
        mode = os.fstat(memory.fd).st_mode
        assert not mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        assert memory.seals() & Seal.EXEC
    finally:
        memory.close()


# ================================================================== shm_open


needs_shm = pytest.mark.skipif(not has_shm(), reason="no POSIX shared memory here")


@pytest.fixture
def shm_name() -> Iterator[str]:
    name = f"/rawmmap-conf-{os.getpid()}-{time.monotonic_ns()}"
    yield name
    with contextlib.suppress(FileNotFoundError, NotImplementedError):
        rawmmap.shm_unlink(name)


@needs_shm
def test_posix_shm_open_1_1_create_map_and_share(shm_name: str, run_child: RunChild) -> None:
    region = map_shared_memory(shm_name, PAGE, create=True)
    region[0:6] = b"parent"
    result = run_child(
        f"""
        from rawmmap.shm import map_shared_memory
        r = map_shared_memory({shm_name!r})
        print(r.read(0, 6).decode())
        r[0:5] = b"child"
        r.munmap()
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "parent"
    assert region.read(0, 5) == b"child"
    region.munmap()


@needs_shm
def test_posix_shm_open_8_1_exclusive_create_of_an_existing_name_is_eexist(
    shm_name: str,
) -> None:
    fd = rawmmap.shm_open(shm_name, create=True, exclusive=True)
    os.close(fd)
    with pytest.raises(FileExistsError):
        rawmmap.shm_open(shm_name, create=True, exclusive=True)


@needs_shm
def test_posix_shm_open_37_1_a_missing_name_without_create_is_enoent(shm_name: str) -> None:
    with pytest.raises(FileNotFoundError):
        rawmmap.shm_open(shm_name)


@needs_shm
def test_posix_shm_unlink_while_mapped_keeps_the_memory(shm_name: str) -> None:
    region = map_shared_memory(shm_name, PAGE, create=True)
    region[0:4] = b"kept"
    rawmmap.shm_unlink(shm_name)
    assert region.read(0, 4) == b"kept"
    with pytest.raises(FileNotFoundError):
        rawmmap.shm_open(shm_name)
    region.munmap()


@needs_shm
def test_posix_shm_open_28_1_truncate_cuts_the_object(shm_name: str) -> None:
    fd = rawmmap.shm_open(shm_name, create=True)
    os.ftruncate(fd, PAGE)
    os.close(fd)
    fd = rawmmap.shm_open(shm_name, truncate=True)
    try:
        assert os.fstat(fd).st_size == 0
    finally:
        os.close(fd)


@needs_shm
def test_posix_shm_open_25_1_read_only_object_cannot_map_shared_writable(shm_name: str) -> None:
    fd = rawmmap.shm_open(shm_name, create=True)
    os.ftruncate(fd, PAGE)
    os.close(fd)
    fd = rawmmap.shm_open(shm_name, readonly=True)
    try:
        with pytest.raises(PermissionError):
            rawmmap.mmap(PAGE, RW, MapFlag.SHARED, fd)
        with rawmmap.mmap(PAGE, Prot.READ, MapFlag.SHARED, fd) as region:
            assert region.read(0, 1) == b"\0"
    finally:
        os.close(fd)


@needs_shm
def test_posix_shm_open_names_as_the_c_library_takes_them(shm_name: str) -> None:
    with pytest.raises(OSError) as caught:
        raw.shm_open("/" + "n" * 300, os.O_RDWR | os.O_CREAT, 0o600)
    assert caught.value.errno in (errno.ENAMETOOLONG, errno.EINVAL)
    with pytest.raises(ValueError):
        rawmmap.shm_open("/a/b", create=True)  # a slash inside: EINVAL in glibc
    with pytest.raises(ValueError):
        rawmmap.shm_open("/", create=True)


@needs_shm
def test_a_shared_memory_region_grows_after_ftruncate(shm_name: str) -> None:
    region = map_shared_memory(shm_name, PAGE, create=True)
    try:
        fd = rawmmap.shm_open(shm_name)
        os.ftruncate(fd, 3 * PAGE)
        os.close(fd)
        region.mremap(3 * PAGE)
        region[2 * PAGE : 2 * PAGE + 1] = b"g"
    finally:
        region.munmap()


# ================================================================== Region basics


def test_a_region_is_a_context_manager_and_unmaps_once() -> None:
    with rawmmap.map_anonymous(PAGE) as region:
        assert isinstance(region, Region)
        address = region.address
    assert region.closed
    assert not is_mapped(address)
    region.munmap()


def test_buffer_protocol_gives_zero_copy_writable_views() -> None:
    with rawmmap.map_anonymous(PAGE) as region:
        view = region.view()
        view[0:3] = b"abc"
        assert region.read(0, 3) == b"abc"
        assert view.nbytes == PAGE
        with pytest.raises(BufferError):
            region.munmap()
        view.release()


def test_find_and_slicing_work_like_bytes() -> None:
    with rawmmap.map_anonymous(3 * PAGE) as region:
        region[PAGE + 10 : PAGE + 15] = b"needle"[:5]
        assert region.find(b"needl") == PAGE + 10
        assert region.rfind(b"needl") == PAGE + 10
        assert region.find(b"absent") == -1
        assert region[PAGE + 10 : PAGE + 15 : 2] == b"nel"
        assert region[-1] == 0
        with pytest.raises(IndexError):
            region[3 * PAGE]
