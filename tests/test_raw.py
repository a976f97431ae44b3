"""rawmmap.raw: every call against the real kernel, with its own semantics."""

from __future__ import annotations

import errno
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from rawmmap import raw
from rawmmap.flags import Advice, MapFlag, MlockAllFlag, Prot, RemapFlag, SyncFlag

from .conftest import RunChild
from .emulation import (
    GUEST_SPACE_IS_RESERVED,
    MADVISE_IS_EMULATED,
    MLOCK2_IS_MISSING,
    OFFSET_IS_TRUNCATED,
    is_missing,
    skip_under_qemu_user,
)

RW = int(Prot.READ | Prot.WRITE)
ANON = int(MapFlag.PRIVATE | MapFlag.ANONYMOUS)
SHARED = int(MapFlag.SHARED)


@pytest.fixture
def anon(page: int) -> Iterator[int]:
    """Four pages of private anonymous memory, unmapped afterwards."""
    address = raw.mmap(0, 4 * page, RW, ANON, -1, 0)
    yield address
    raw.munmap(address, 4 * page)


@pytest.fixture
def shared_file(data_file: Path) -> Iterator[int]:
    """A read-write descriptor of ``data_file``."""
    fd = os.open(data_file, os.O_RDWR)
    yield fd
    os.close(fd)


def test_mmap_returns_page_aligned_zeroed_memory(anon: int, page: int) -> None:
    assert anon % page == 0
    assert raw.read(anon, 4 * page) == bytes(4 * page)


def test_write_then_read_round_trips(anon: int) -> None:
    raw.write(anon + 10, b"rawmmap")
    assert raw.read(anon + 10, 7) == b"rawmmap"


def test_shared_store_is_visible_to_pread_without_msync(shared_file: int, page: int) -> None:
    address = raw.mmap(0, page, RW, SHARED, shared_file, 0)
    try:
        raw.write(address + 5, b"XYZ")
        assert os.pread(shared_file, 3, 5) == b"XYZ"
    finally:
        raw.munmap(address, page)


def test_pwrite_is_visible_through_a_shared_mapping(shared_file: int, page: int) -> None:
    address = raw.mmap(0, page, int(Prot.READ), SHARED, shared_file, 0)
    try:
        os.pwrite(shared_file, b"abc", 100)
        assert raw.read(address + 100, 3) == b"abc"
    finally:
        raw.munmap(address, page)


def test_private_store_never_reaches_the_file(shared_file: int, page: int) -> None:
    before = os.pread(shared_file, 16, 0)
    address = raw.mmap(0, page, RW, int(MapFlag.PRIVATE), shared_file, 0)
    try:
        raw.write(address, b"P" * 16)
        raw.msync(address, page, int(SyncFlag.SYNC))
        assert raw.read(address, 16) == b"P" * 16
        assert os.pread(shared_file, 16, 0) == before
    finally:
        raw.munmap(address, page)


def test_tail_of_last_page_reads_zero_and_never_reaches_the_file(tmp_path: Path, page: int) -> None:
    path = tmp_path / "short"
    path.write_bytes(b"s" * 100)
    fd = os.open(path, os.O_RDWR)
    try:
        address = raw.mmap(0, 100, RW, SHARED, fd, 0)
        try:
            assert raw.read(address + 100, page - 100) == bytes(page - 100)
            raw.write(address + 100, b"tail")
            raw.msync(address, page, int(SyncFlag.SYNC))
        finally:
            raw.munmap(address, 100)
        assert path.read_bytes() == b"s" * 100
    finally:
        os.close(fd)


def test_offset_above_4_gib_maps_the_right_bytes(tmp_path: Path, page: int) -> None:
    if is_missing(OFFSET_IS_TRUNCATED):
        pytest.skip(OFFSET_IS_TRUNCATED)
    offset = (5 << 30) + page
    path = tmp_path / "sparse"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        os.pwrite(fd, b"far away", offset)
        address = raw.mmap(0, page, int(Prot.READ), SHARED, fd, offset)
        try:
            assert raw.read(address, 8) == b"far away"
        finally:
            raw.munmap(address, page)
    finally:
        os.close(fd)


def test_munmap_of_an_unmapped_range_is_not_an_error(page: int) -> None:
    address = raw.mmap(0, page, RW, ANON, -1, 0)
    raw.munmap(address, page)
    raw.munmap(address, page)  # POSIX: not an error if nothing is mapped there


def test_munmap_zero_length_raises_einval(anon: int) -> None:
    with pytest.raises(OSError) as caught:
        raw.munmap(anon, 0)
    assert caught.value.errno == errno.EINVAL


def test_munmap_unaligned_address_raises_einval(anon: int) -> None:
    with pytest.raises(OSError) as caught:
        raw.munmap(anon + 1, 10)
    assert caught.value.errno == errno.EINVAL


@pytest.mark.parametrize(
    "flags",
    [
        SyncFlag.SYNC,
        SyncFlag.ASYNC,
        SyncFlag.SYNC | SyncFlag.INVALIDATE,
        SyncFlag.ASYNC | SyncFlag.INVALIDATE,
        SyncFlag.INVALIDATE,
    ],
    ids=str,
)
def test_msync_accepts_each_valid_combination(shared_file: int, page: int, flags: SyncFlag) -> None:
    address = raw.mmap(0, page, RW, SHARED, shared_file, 0)
    try:
        raw.write(address, b"m")
        raw.msync(address, page, int(flags))
    finally:
        raw.munmap(address, page)


def test_msync_sync_with_async_raises_einval(anon: int, page: int) -> None:
    with pytest.raises(OSError) as caught:
        raw.msync(anon, page, int(SyncFlag.SYNC | SyncFlag.ASYNC))
    assert caught.value.errno == errno.EINVAL


@skip_under_qemu_user(GUEST_SPACE_IS_RESERVED, pointer_bits=32)
def test_msync_outside_a_mapping_raises_enomem(page: int) -> None:
    address = raw.mmap(0, page, RW, ANON, -1, 0)
    raw.munmap(address, page)
    with pytest.raises(OSError) as caught:
        raw.msync(address, page, int(SyncFlag.SYNC))
    assert caught.value.errno == errno.ENOMEM


@skip_under_qemu_user(GUEST_SPACE_IS_RESERVED, pointer_bits=32)
def test_mprotect_outside_a_mapping_raises_enomem(page: int) -> None:
    address = raw.mmap(0, page, RW, ANON, -1, 0)
    raw.munmap(address, page)
    with pytest.raises(OSError) as caught:
        raw.mprotect(address, page, RW)
    assert caught.value.errno == errno.ENOMEM


def test_mprotect_write_on_shared_readonly_file_raises_eacces(data_file: Path, page: int) -> None:
    fd = os.open(data_file, os.O_RDONLY)
    try:
        address = raw.mmap(0, page, int(Prot.READ), SHARED, fd, 0)
        try:
            with pytest.raises(PermissionError):
                raw.mprotect(address, page, RW)
        finally:
            raw.munmap(address, page)
    finally:
        os.close(fd)


def test_private_writable_mapping_of_readonly_file_is_allowed(data_file: Path, page: int) -> None:
    fd = os.open(data_file, os.O_RDONLY)
    try:
        address = raw.mmap(0, page, RW, int(MapFlag.PRIVATE), fd, 0)
        raw.write(address, b"private")
        raw.munmap(address, page)
        assert data_file.read_bytes()[:7] != b"private"
    finally:
        os.close(fd)


HINTS = [
    name
    for name in (
        "NORMAL",
        "RANDOM",
        "SEQUENTIAL",
        "WILLNEED",
        "DONTNEED",
        "FREE",
        "DONTFORK",
        "DOFORK",
        "MERGEABLE",
        "UNMERGEABLE",
        "HUGEPAGE",
        "NOHUGEPAGE",
        "DONTDUMP",
        "DODUMP",
        "WIPEONFORK",
        "KEEPONFORK",
        "COLD",
        "PAGEOUT",
        "POPULATE_READ",
        "POPULATE_WRITE",
        "DONTNEED_LOCKED",
        "COLLAPSE",
    )
    if hasattr(Advice, name)
]


@pytest.mark.parametrize("name", HINTS)
def test_madvise_each_advice_on_anonymous_memory(anon: int, page: int, name: str) -> None:
    try:
        raw.madvise(anon, 4 * page, int(getattr(Advice, name)))
    except OSError as error:
        # Kernels built without KSM/THP, or older than the advice, say EINVAL.
        if error.errno != errno.EINVAL:
            raise
        pytest.skip(f"this kernel refuses MADV_{name}: {error}")


def test_madvise_dontneed_zeroes_private_anonymous_pages(anon: int, page: int) -> None:
    raw.write(anon, b"gone")
    raw.madvise(anon, page, int(Advice.DONTNEED))
    assert raw.read(anon, 4) == bytes(4)


@skip_under_qemu_user(MADVISE_IS_EMULATED)
def test_madvise_unknown_advice_raises_einval(anon: int, page: int) -> None:
    with pytest.raises(OSError) as caught:
        raw.madvise(anon, page, 9999)
    assert caught.value.errno == errno.EINVAL


def test_mlock_and_munlock(anon: int, page: int) -> None:
    raw.mlock(anon, page)
    raw.munlock(anon, page)


@pytest.mark.skipif(not raw.HAS_MLOCK2, reason="the C library has no mlock2")
@skip_under_qemu_user(MLOCK2_IS_MISSING)
def test_mlock2_onfault(anon: int, page: int) -> None:
    raw.mlock2(anon, page, 1)
    raw.munlock(anon, page)


def test_mlockall_and_munlockall_in_a_child(run_child: RunChild) -> None:
    result = run_child(
        """
        from rawmmap import raw
        from rawmmap.flags import MlockAllFlag
        flags = MlockAllFlag.CURRENT | MlockAllFlag.FUTURE
        if hasattr(MlockAllFlag, "ONFAULT"):
            flags |= MlockAllFlag.ONFAULT
        try:
            raw.mlockall(int(flags))
        except PermissionError:
            print("EPERM")
        else:
            raw.munlockall()
            print("locked")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in ("locked", "EPERM")


def test_mlockall_bad_flags_raises_einval() -> None:
    with pytest.raises(OSError) as caught:
        raw.mlockall(0)
    assert caught.value.errno == errno.EINVAL
    # 0 has no flag set; MCL_CURRENT is 1, or 0x2000 on PowerPC and SPARC.
    assert int(MlockAllFlag.CURRENT) != 0


def test_mincore_reports_touched_anonymous_page_resident(anon: int, page: int) -> None:
    raw.write(anon + page, b"x")
    vector = raw.mincore(anon, 4 * page)
    assert len(vector) == 4
    assert vector[1] & 1


def test_mincore_outside_a_mapping_raises_enomem(page: int) -> None:
    address = raw.mmap(0, page, RW, ANON, -1, 0)
    raw.munmap(address, page)
    with pytest.raises(OSError) as caught:
        raw.mincore(address, page)
    assert caught.value.errno == errno.ENOMEM


@pytest.mark.skipif(not raw.HAS_MREMAP, reason="mremap is Linux-only")
def test_mremap_grows_and_keeps_contents(page: int) -> None:
    address = raw.mmap(0, page, RW, ANON, -1, 0)
    raw.write(address, b"keep")
    new = raw.mremap(address, page, 64 * page, int(RemapFlag.MAYMOVE))
    try:
        assert raw.read(new, 4) == b"keep"
        raw.write(new + 63 * page, b"end")
    finally:
        raw.munmap(new, 64 * page)


@pytest.mark.skipif(not raw.HAS_MREMAP, reason="mremap is Linux-only")
def test_mremap_fixed_moves_to_new_address(page: int) -> None:
    target = raw.mmap(0, 2 * page, RW, ANON, -1, 0)
    address = raw.mmap(0, page, RW, ANON, -1, 0)
    raw.write(address, b"moved")
    flags = int(RemapFlag.MAYMOVE | RemapFlag.FIXED)
    new = raw.mremap(address, page, page, flags, target)
    try:
        assert new == target
        assert raw.read(new, 5) == b"moved"
    finally:
        raw.munmap(target, 2 * page)


@pytest.mark.skipif(not raw.HAS_MREMAP, reason="mremap is Linux-only")
def test_mremap_without_maymove_raises_enomem_when_blocked(page: int) -> None:
    address = raw.mmap(0, 2 * page, RW, ANON, -1, 0)
    try:
        raw.mprotect(address + page, page, int(Prot.READ))  # a second VMA right after
        with pytest.raises(OSError) as caught:
            raw.mremap(address, page, 2 * page, 0)
        assert caught.value.errno == errno.ENOMEM
    finally:
        raw.munmap(address, 2 * page)


def test_fixed_noreplace_over_a_mapping_raises_eexist(anon: int, page: int) -> None:
    if not hasattr(MapFlag, "FIXED_NOREPLACE"):
        pytest.skip("no MAP_FIXED_NOREPLACE on this platform")
    flags = ANON | int(MapFlag.FIXED_NOREPLACE)
    try:
        address = raw.mmap(anon, page, RW, flags, -1, 0)
    except FileExistsError:
        return
    raw.munmap(address, page)
    assert address != anon, "an old kernel took the flag as a hint"


def test_shared_anonymous_mapping_is_inherited_across_fork(page: int) -> None:
    address = raw.mmap(0, page, RW, int(MapFlag.SHARED | MapFlag.ANONYMOUS), -1, 0)
    private = raw.mmap(0, page, RW, ANON, -1, 0)
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            raw.write(address, b"child")
            raw.write(private, b"child")
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        assert raw.read(address, 5) == b"child"
        assert raw.read(private, 5) == bytes(5)
    finally:
        raw.munmap(address, page)
        raw.munmap(private, page)


FAULTS = {
    "write_to_read_only": (
        "a = raw.mmap(0, page, int(Prot.READ), ANON, -1, 0)\nraw.write(a, b'x')",
        signal.SIGSEGV,
    ),
    "read_prot_none": (
        "a = raw.mmap(0, page, int(Prot.NONE), ANON, -1, 0)\nraw.read(a, 1)",
        signal.SIGSEGV,
    ),
    "read_after_munmap": (
        "a = raw.mmap(0, page, RW, ANON, -1, 0)\nraw.munmap(a, page)\nraw.read(a, 1)",
        signal.SIGSEGV,
    ),
    "read_past_truncated_file": (
        "import os, tempfile\n"
        "fd, path = tempfile.mkstemp()\nos.unlink(path)\nos.ftruncate(fd, 2 * page)\n"
        "a = raw.mmap(0, 2 * page, int(Prot.READ), int(MapFlag.SHARED), fd, 0)\n"
        "os.ftruncate(fd, 0)\nraw.read(a + page, 1)",
        signal.SIGBUS,
    ),
}


@pytest.mark.parametrize("case", sorted(FAULTS))
def test_fault_kills_a_child_with_the_expected_signal(run_child: RunChild, case: str) -> None:
    body, expected = FAULTS[case]
    source = (
        "import faulthandler\nfaulthandler.disable()\n"
        "from rawmmap import raw\nfrom rawmmap.flags import MapFlag, Prot\n"
        "page = raw.page_size()\nRW = int(Prot.READ | Prot.WRITE)\n"
        "ANON = int(MapFlag.PRIVATE | MapFlag.ANONYMOUS)\n" + body + "\nprint('survived')\n"
    )
    result = run_child(source)
    assert result.returncode == -expected, (result.returncode, result.stdout, result.stderr)
