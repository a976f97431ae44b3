"""Anonymous in-memory files: memfd_create, the temporary-file fallback, and seals."""

from __future__ import annotations

import errno
import gc
import os

import pytest

import rawmmap
from rawmmap import raw, shm

from .emulation import (
    FUTURE_WRITE_SEAL_IS_IGNORED,
    MEMFD_HAS_A_LINK,
    MEMFD_LONG_NAME_IS_ENAMETOOLONG,
    SEALED_MEMFD_REFUSES_READ_ONLY_SHARED_MAP,
    is_missing,
    skip_under_qemu_user,
)

needs_memfd = pytest.mark.skipif(not shm.HAS_MEMFD, reason="no os.memfd_create here")
needs_sealing = pytest.mark.skipif(
    not (shm.HAS_MEMFD and shm.HAS_SEALING), reason="no memfd sealing here"
)

BACKENDS = [
    pytest.param(True, id="memfd", marks=needs_memfd),
    pytest.param(False, id="tempfile"),
]


@pytest.mark.parametrize("memfd", BACKENDS)
def test_memory_file_is_zero_filled_shared_and_writable(memfd: bool) -> None:
    with rawmmap.map_memfd(10000, memfd=memfd) as memory:
        assert memory.is_memfd is memfd
        assert os.fstat(memory.fd).st_size == 10000
        assert memory.region.length == 10000
        assert memory.region.flags & rawmmap.MapFlag.SHARED
        assert memory.region.read() == bytes(10000)
        memory.region.write(100, b"through the mapping")
        assert os.pread(memory.fd, 19, 100) == b"through the mapping"


@pytest.mark.parametrize("memfd", BACKENDS)
def test_memory_file_has_no_name_in_the_file_system(memfd: bool) -> None:
    if memfd and is_missing(MEMFD_HAS_A_LINK):
        pytest.skip(MEMFD_HAS_A_LINK)
    with rawmmap.map_memfd(4096, memfd=memfd) as memory:
        assert os.fstat(memory.fd).st_nlink == 0


@pytest.mark.parametrize("memfd", BACKENDS)
def test_memory_file_descriptor_is_not_inherited(memfd: bool) -> None:
    with rawmmap.map_memfd(4096, memfd=memfd) as memory:
        assert not os.get_inheritable(memory.fd)


@needs_memfd
def test_memfd_is_named_after_its_name_argument() -> None:
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("no /proc/self/fd")
    with rawmmap.map_memfd(4096, "rawmmap-test") as memory:
        assert "memfd:rawmmap-test" in os.readlink(f"/proc/self/fd/{memory.fd}")


def test_default_backend_is_memfd_where_available() -> None:
    with rawmmap.map_memfd(4096) as memory:
        assert memory.is_memfd is shm.HAS_MEMFD


@pytest.mark.parametrize("size", [0, -4096])
def test_size_must_be_positive(size: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        rawmmap.map_memfd(size)


def test_sealing_needs_memfd() -> None:
    with pytest.raises(ValueError, match="sealing=True needs memfd_create"):
        rawmmap.map_memfd(4096, sealing=True, memfd=False)


def test_close_is_idempotent_and_closes_the_descriptor() -> None:
    memory = rawmmap.map_memfd(4096)
    fd = memory.fd
    region = memory.region
    memory.close()
    memory.close()
    assert memory.closed
    assert region.closed
    assert memory.fd == -1
    assert repr(memory) == "<rawmmap.MemoryFile closed>"
    with pytest.raises(OSError) as caught:
        os.fstat(fd)
    assert caught.value.errno == errno.EBADF
    with pytest.raises(ValueError, match="closed"):
        memory.region  # noqa: B018


def test_close_with_a_live_view_raises_buffererror_and_keeps_everything() -> None:
    memory = rawmmap.map_memfd(4096)
    view = memory.region.view()
    with pytest.raises(BufferError):
        memory.close()
    assert not memory.closed
    os.fstat(memory.fd)
    view.release()
    memory.close()


def test_dropped_memory_file_warns_and_closes_its_descriptor() -> None:
    memory = rawmmap.map_memfd(4096)
    fd = memory.fd
    # The Region inside warns as well: record every ResourceWarning.
    with pytest.warns(ResourceWarning) as warned:
        del memory
        gc.collect()
    assert any("MemoryFile" in str(warning.message) for warning in warned)
    with pytest.raises(OSError):
        os.fstat(fd)


def test_repr_names_the_backend() -> None:
    with rawmmap.map_memfd(4096, memfd=False) as memory:
        assert "unlinked temporary file" in repr(memory)
        assert "size=4096" in repr(memory)


# ------------------------------------------------------------ seals


@needs_sealing
def test_new_sealable_file_has_no_seals() -> None:
    with rawmmap.map_memfd(4096, sealing=True) as memory:
        assert memory.seals() == rawmmap.Seal(0)


@needs_memfd
@pytest.mark.skipif(not shm.HAS_SEALING, reason="no F_ADD_SEALS in fcntl")
def test_file_made_without_sealing_refuses_seals_with_eperm() -> None:
    with rawmmap.map_memfd(4096) as memory:
        assert memory.seals() & rawmmap.Seal.SEAL
        with pytest.raises(PermissionError):
            memory.add_seals(rawmmap.Seal.SHRINK)


@needs_sealing
def test_shrink_seal_makes_ftruncate_smaller_fail_with_eperm() -> None:
    with rawmmap.map_memfd(8192, sealing=True) as memory:
        memory.add_seals(rawmmap.Seal.SHRINK)
        assert memory.seals() == rawmmap.Seal.SHRINK
        with pytest.raises(PermissionError):
            os.ftruncate(memory.fd, 4096)
        os.ftruncate(memory.fd, 16384)


@needs_sealing
def test_grow_seal_makes_ftruncate_larger_fail_with_eperm() -> None:
    with rawmmap.map_memfd(8192, sealing=True) as memory:
        memory.add_seals(rawmmap.Seal.GROW)
        with pytest.raises(PermissionError):
            os.ftruncate(memory.fd, 16384)


@needs_sealing
def test_write_seal_is_refused_while_a_writable_shared_mapping_exists() -> None:
    with rawmmap.map_memfd(4096, sealing=True) as memory:
        with pytest.raises(OSError) as caught:
            memory.add_seals(rawmmap.Seal.WRITE)
        assert caught.value.errno == errno.EBUSY


@needs_sealing
def test_write_seal_forbids_writable_shared_maps_but_allows_reading() -> None:
    with rawmmap.map_memfd(4096, sealing=True) as memory:
        memory.region[0:6] = b"sealed"
        memory.region.munmap()
        memory.add_seals(rawmmap.Seal.WRITE | rawmmap.Seal.SHRINK | rawmmap.Seal.GROW)
        with pytest.raises(PermissionError):
            rawmmap.mmap(4096, rawmmap.Prot.READ | rawmmap.Prot.WRITE, fd=memory.fd)
        if is_missing(SEALED_MEMFD_REFUSES_READ_ONLY_SHARED_MAP):
            pytest.skip(SEALED_MEMFD_REFUSES_READ_ONLY_SHARED_MAP)
        with rawmmap.mmap(4096, rawmmap.Prot.READ, fd=memory.fd) as reader:
            assert reader[0:6] == b"sealed"


@needs_sealing
def test_seal_seal_forbids_further_seals() -> None:
    with rawmmap.map_memfd(4096, sealing=True) as memory:
        memory.add_seals(rawmmap.Seal.SEAL)
        with pytest.raises(PermissionError):
            memory.add_seals(rawmmap.Seal.GROW)


@needs_sealing
def test_add_seals_checks_its_argument_fits_an_int() -> None:
    with rawmmap.map_memfd(4096, sealing=True) as memory, pytest.raises(OverflowError):
        memory.add_seals(2**40)


def test_seal_calls_on_a_closed_file_raise_valueerror() -> None:
    memory = rawmmap.map_memfd(4096)
    memory.close()
    with pytest.raises(ValueError, match="closed"):
        memory.seals()


@pytest.mark.parametrize("memfd", BACKENDS)
def test_failed_mapping_closes_the_new_descriptor(memfd: bool) -> None:
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("no /proc/self/fd to count descriptors")
    before = set(os.listdir("/proc/self/fd"))
    # The file grows (sparse) to 4 EiB, then no address space can map it.
    with pytest.raises((OSError, OverflowError)):
        rawmmap.map_memfd(2**62, memfd=memfd)
    assert set(os.listdir("/proc/self/fd")) == before


def test_write_seal_under_a_writable_mapping_says_to_unmap_it_first() -> None:
    if not (shm.HAS_MEMFD and shm.HAS_SEALING):
        pytest.skip("no memfd sealing here")
    with rawmmap.map_memfd(4096, sealing=True) as memory:
        with pytest.raises(OSError, match="unmap it first") as caught:
            memory.add_seals(shm.Seal.WRITE)
        assert caught.value.errno == errno.EBUSY
        memory.region.munmap()
        memory.add_seals(shm.Seal.WRITE)
        if is_missing(SEALED_MEMFD_REFUSES_READ_ONLY_SHARED_MAP):
            # Linux 5.10, gVisor (tests/emulation.py observed it): EPERM even for reading.
            with pytest.raises(PermissionError):
                rawmmap.mmap(4096, rawmmap.Prot.READ, rawmmap.MapFlag.SHARED, memory.fd)
            return
        with rawmmap.mmap(4096, rawmmap.Prot.READ, rawmmap.MapFlag.SHARED, memory.fd) as reader:
            assert reader[0] == 0


# ------------------------------------------------------------ memfd_create as the kernel defines it

LINUX_ONLY = pytest.mark.skipif(
    "CLOEXEC" not in shm.MemfdFlag.__members__, reason="memfd flags are Linux's"
)


@LINUX_ONLY
def test_memfd_flag_values_match_the_os_module() -> None:
    for name in ("CLOEXEC", "ALLOW_SEALING", "HUGETLB", "HUGE_2MB", "HUGE_1GB", "HUGE_64KB"):
        if hasattr(os, f"MFD_{name}"):
            assert shm.MemfdFlag[name] == getattr(os, f"MFD_{name}"), name


@LINUX_ONLY
@pytest.mark.parametrize(
    ("name", "errno_"),
    [(None, errno.EFAULT), ("n" * 250, errno.EINVAL)],
    ids=["null-name", "name-too-long"],
)
def test_raw_memfd_create_reports_the_kernels_errno_for_bad_names(
    name: object, errno_: int
) -> None:
    if errno_ == errno.EINVAL and is_missing(MEMFD_LONG_NAME_IS_ENAMETOOLONG):
        pytest.skip(MEMFD_LONG_NAME_IS_ENAMETOOLONG)
    with pytest.raises(OSError) as caught:
        raw.memfd_create(name, shm.MemfdFlag.CLOEXEC)  # type: ignore[arg-type]
    assert caught.value.errno == errno_


@LINUX_ONLY
def test_raw_memfd_create_refuses_unknown_flags_with_einval_and_truncates_nothing() -> None:
    with pytest.raises(OSError) as caught:
        raw.memfd_create("x", 1 << 20)
    assert caught.value.errno == errno.EINVAL
    with pytest.raises(OverflowError):
        raw.memfd_create("x", 1 << 32)
    with pytest.raises(ValueError, match="NUL"):
        raw.memfd_create("a\0b", 0)
    fd = raw.memfd_create(b"bytes-name", shm.MemfdFlag.CLOEXEC)
    try:
        assert os.readlink(f"/proc/self/fd/{fd}").startswith("/memfd:bytes-name")
    finally:
        os.close(fd)


def _memfd_or_skip(**arguments: object) -> shm.MemoryFile:
    try:
        return rawmmap.map_memfd(4096, **arguments)  # type: ignore[arg-type]
    except OSError as error:
        if error.errno in (errno.EINVAL, errno.ENOMEM, errno.ENOSPC, errno.EPERM):
            pytest.skip(f"this kernel refuses {arguments}: {error}")
        raise


@LINUX_ONLY
def test_noexec_seal_memfd_is_sealed_against_exec() -> None:
    with _memfd_or_skip(flags=shm.MemfdFlag.NOEXEC_SEAL) as memory:
        assert shm.Seal.EXEC in memory.seals()
        assert os.fstat(memory.fd).st_mode & 0o111 == 0


@LINUX_ONLY
def test_hugetlb_memfd_with_a_size_maps_huge_pages() -> None:
    huge = 2 << 20
    try:
        memory = rawmmap.map_memfd(huge, flags=shm.MemfdFlag.HUGETLB | shm.MemfdFlag.HUGE_2MB)
    except OSError as error:
        pytest.skip(f"no 2 MiB huge pages here: {error}")
    with memory:
        memory.region[huge - 1] = 7
        assert memory.region[huge - 1] == 7


@pytest.mark.skipif(
    not shm.HAS_SEALING or "FUTURE_WRITE" not in shm.Seal.__members__,
    reason="no F_SEAL_FUTURE_WRITE",
)
@skip_under_qemu_user(FUTURE_WRITE_SEAL_IS_IGNORED)
def test_future_write_seal_may_go_under_a_writable_mapping_and_stops_new_ones() -> None:
    with rawmmap.map_memfd(4096, sealing=True) as memory:
        try:
            memory.add_seals(shm.Seal.FUTURE_WRITE)
        except OSError as error:
            pytest.skip(f"this kernel refuses F_SEAL_FUTURE_WRITE: {error}")
        memory.region[0] = 5  # the existing writable mapping still writes
        with pytest.raises(PermissionError):
            rawmmap.mmap(
                4096, rawmmap.Prot.READ | rawmmap.Prot.WRITE, rawmmap.MapFlag.SHARED, memory.fd
            )
        with pytest.raises(PermissionError):
            os.pwrite(memory.fd, b"x", 0)
        with rawmmap.mmap(4096, rawmmap.Prot.READ, rawmmap.MapFlag.SHARED, memory.fd) as reader:
            assert reader[0] == 5
