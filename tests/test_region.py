"""Region: creation, access, page calls and the invariants of DESIGN.md."""

from __future__ import annotations

import errno
import gc
import os
import sys
import threading
import warnings
from pathlib import Path

import pytest

import rawmmap
from rawmmap import Advice, MapFlag, Prot, ProtectionError, Region, SyncFlag

from .conftest import RunChild
from .emulation import MLOCK2_IS_MISSING, skip_under_qemu_user

RW = Prot.READ | Prot.WRITE


# ------------------------------------------------------------------ creation


def test_map_anonymous_is_zeroed_and_writable(page: int) -> None:
    with rawmmap.map_anonymous(3 * page) as region:
        assert region.read(0, 16) == bytes(16)
        region.write(page, b"hello")
        assert region.read(page, 5) == b"hello"
        assert region.flags & MapFlag.ANONYMOUS
        assert region.fd == -1


def test_mmap_with_c_arguments_maps_a_file(data_file: Path, page: int) -> None:
    fd = os.open(data_file, os.O_RDONLY)
    try:
        with rawmmap.mmap(page, Prot.READ, MapFlag.SHARED, fd, page) as region:
            assert region[0] == page % 251
            assert region.offset == page
            assert region.fd == fd
            assert region.prot == Prot.READ
    finally:
        os.close(fd)


@pytest.mark.parametrize("kind", ["path", "str", "fd", "file object"])
def test_map_file_accepts_path_descriptor_and_file_object(
    data_file: Path, page: int, kind: str
) -> None:
    with open(data_file, "rb") as handle:
        file: object = {
            "path": data_file,
            "str": str(data_file),
            "fd": handle.fileno(),
            "file object": handle,
        }[kind]
        with rawmmap.map_file(file) as region:
            assert len(region) == 4 * page
            assert region.read(0, 3) == bytes([0, 1, 2])


def test_map_file_path_writable_shared_reaches_the_file(data_file: Path) -> None:
    with rawmmap.map_file(data_file, prot=RW) as region:
        region[0:4] = b"DATA"
    assert data_file.read_bytes()[:4] == b"DATA"


def test_map_file_empty_file_raises_valueerror(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        rawmmap.map_file(empty)


def test_unaligned_offset_raises_valueerror_naming_page_size(data_file: Path, page: int) -> None:
    with pytest.raises(ValueError, match=f"page size \\({page}\\)"):
        rawmmap.map_file(data_file, 10, offset=100)


def test_length_past_end_of_file_raises_valueerror(data_file: Path, page: int) -> None:
    with pytest.raises(ValueError, match="SIGBUS"):
        rawmmap.map_file(data_file, 5 * page)


def test_zero_length_raises_valueerror_before_the_call() -> None:
    with pytest.raises(ValueError, match="length"):
        rawmmap.map_anonymous(0)


def test_map_fixed_is_refused(page: int) -> None:
    with pytest.raises(ValueError, match="FIXED"):
        rawmmap.mmap(page, RW, MapFlag.PRIVATE | MapFlag.ANONYMOUS | MapFlag.FIXED, addr=page)


def test_flags_without_shared_or_private_raise_valueerror(page: int) -> None:
    with pytest.raises(ValueError, match="SHARED"):
        rawmmap.mmap(page, RW, MapFlag.ANONYMOUS)


def test_unknown_prot_bits_raise_valueerror(page: int) -> None:
    with pytest.raises(ValueError, match="prot"):
        rawmmap.map_anonymous(page, 0x4000_0000)


def test_anonymous_with_descriptor_raises_valueerror(page: int) -> None:
    with pytest.raises(ValueError, match="fd"):
        rawmmap.mmap(page, RW, MapFlag.PRIVATE | MapFlag.ANONYMOUS, 3)


def test_shared_writable_on_readonly_descriptor_raises_permissionerror(
    data_file: Path, page: int
) -> None:
    fd = os.open(data_file, os.O_RDONLY)
    try:
        with pytest.raises(PermissionError) as caught:
            rawmmap.mmap(page, RW, MapFlag.SHARED, fd)
        assert caught.value.errno == errno.EACCES
    finally:
        os.close(fd)


@pytest.mark.skipif(not hasattr(MapFlag, "FIXED_NOREPLACE"), reason="no FIXED_NOREPLACE")
def test_fixed_noreplace_over_a_region_raises_fileexistserror(page: int) -> None:
    with rawmmap.map_anonymous(page) as first:
        flags = MapFlag.PRIVATE | MapFlag.ANONYMOUS | MapFlag.FIXED_NOREPLACE
        with pytest.raises(FileExistsError):
            rawmmap.mmap(page, RW, flags, addr=first.address)


def test_repr_shows_address_flags_and_closed_state(page: int) -> None:
    region = rawmmap.map_anonymous(page)
    text = repr(region)
    assert f"address={region.address:#x}" in text
    assert "prot=READ|WRITE" in text
    assert "PRIVATE" in text
    region.munmap()
    assert repr(region) == "<rawmmap.Region closed>"


# ------------------------------------------------------------------ access


def test_indexing_and_slicing_behave_like_bytes(page: int) -> None:
    with rawmmap.map_anonymous(page) as region:
        region[0:5] = b"abcde"
        region[-1] = 0x7A
        assert region[1] == ord("b")
        assert region[-1] == 0x7A
        assert region[0:5] == b"abcde"
        assert region[4:1:-1] == b"edc"
        assert region[0:10:2] == b"ace\0\0"
        assert region[page:] == b""


def test_index_out_of_range_raises_indexerror(page: int) -> None:
    with rawmmap.map_anonymous(100) as region:
        with pytest.raises(IndexError):
            region[100]
        with pytest.raises(IndexError):
            region[100] = 1
        with pytest.raises(IndexError):
            region.read(90, 11)
        with pytest.raises(IndexError):
            region.write(99, b"ab")
        with pytest.raises(IndexError):
            region.view(-1)


def test_byte_value_out_of_range_raises_valueerror(page: int) -> None:
    with rawmmap.map_anonymous(page) as region, pytest.raises(ValueError, match=r"0\.\.255"):
        region[0] = 256


def test_slice_assignment_of_wrong_length_raises_indexerror_as_the_stdlib(page: int) -> None:
    with rawmmap.map_anonymous(page) as region, pytest.raises(IndexError, match="wrong size"):
        region[0:4] = b"abc"


def test_read_default_reads_to_the_end(page: int) -> None:
    with rawmmap.map_anonymous(10) as region:
        assert region.read() == bytes(10)
        assert region.read(8) == bytes(2)


def test_view_is_zero_copy_with_format_b(page: int) -> None:
    with rawmmap.map_anonymous(page) as region:
        with region.view() as view:
            assert view.format == "B"
            assert view.nbytes == page
            view[7] = 42
        assert region[7] == 42


def test_view_of_read_only_region_is_read_only(data_file: Path) -> None:
    with rawmmap.map_file(data_file) as region:
        with region.view() as view:
            assert view.readonly
        with pytest.raises(ProtectionError):
            region.view(readonly=False)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="PEP 688 __buffer__ is 3.12+")
def test_memoryview_of_region_uses_the_buffer_protocol(page: int) -> None:
    with rawmmap.map_anonymous(page) as region:
        with memoryview(region) as view:  # type: ignore[arg-type, unused-ignore]
            view[0] = 9
            with pytest.raises(BufferError):
                region.munmap()
        gc.collect()
        assert region[0] == 9


def test_use_after_munmap_raises_valueerror(page: int) -> None:
    region = rawmmap.map_anonymous(page)
    region.munmap()
    for action in (
        lambda: region.read(0, 1),
        lambda: region.write(0, b"x"),
        lambda: region[0],
        region.view,
        region.msync,
        lambda: region.mprotect(Prot.READ),
        lambda: region.madvise(Advice.NORMAL),
        region.mincore,
        lambda: region.address,
    ):
        with pytest.raises(ValueError, match="unmapped"):
            action()


# ------------------------------------------------------------------ protection


def test_write_to_read_only_pages_raises_protectionerror(page: int) -> None:
    with rawmmap.map_anonymous(3 * page) as region:
        region.mprotect(Prot.READ, page, page)
        region.write(0, b"ok")
        region.write(2 * page, b"ok")
        with pytest.raises(ProtectionError, match="READ"):
            region.write(page + 5, b"no")
        with pytest.raises(ProtectionError):
            region[page] = 1
        with pytest.raises(ProtectionError):
            region.write(page - 1, b"no")  # straddles into the read-only page
        assert region.read(page, 2) == bytes(2)
        assert region.protection(page) == Prot.READ
        assert region.protection(0) == RW


def test_prot_none_pages_cannot_be_read_or_viewed(page: int) -> None:
    with rawmmap.map_anonymous(2 * page) as region:
        region.mprotect(Prot.NONE, page)
        with pytest.raises(ProtectionError):
            region.read(page, 1)
        with pytest.raises(ProtectionError):
            region.view(page)
        assert region.view(0, page).readonly is False
        gc.collect()
        region.mprotect(RW, page)
        region.write(page, b"back")


def test_view_over_mixed_protection_is_read_only(page: int) -> None:
    with rawmmap.map_anonymous(2 * page) as region:
        region.mprotect(Prot.READ, page)
        view = region.view()
        assert view.readonly
        view.release()


def test_partial_mprotect_requires_page_aligned_offset(page: int) -> None:
    with rawmmap.map_anonymous(2 * page) as region, pytest.raises(ValueError, match="page size"):
        region.mprotect(Prot.READ, 1)


def test_mprotect_upgrade_on_shared_readonly_file_raises_permissionerror(
    data_file: Path,
) -> None:
    with rawmmap.map_file(data_file) as region:
        with pytest.raises(PermissionError):
            region.mprotect(RW)
        assert region.protection(0) == Prot.READ


# ------------------------------------------------------------------ buffers


def test_munmap_with_live_view_raises_buffererror(page: int) -> None:
    region = rawmmap.map_anonymous(page)
    view = region.view(0, 10)
    with pytest.raises(BufferError):
        region.munmap()
    assert region.exports == 1
    view.release()
    assert region.exports == 0
    region.munmap()


def test_derived_views_keep_the_export_alive(page: int) -> None:
    region = rawmmap.map_anonymous(page)
    view = region.view()
    part = view[10:20]
    view.release()
    with pytest.raises(BufferError):
        region.munmap()
    part[0] = 5
    del part
    gc.collect()
    region.munmap()


def test_protection_downgrade_with_live_view_raises_buffererror(page: int) -> None:
    with rawmmap.map_anonymous(page) as region, region.view():
        with pytest.raises(BufferError):
            region.mprotect(Prot.READ)
        region.mprotect(RW)  # not a downgrade


@pytest.mark.skipif(not rawmmap.raw.HAS_MREMAP, reason="mremap is Linux-only")
def test_mremap_with_live_view_raises_buffererror(page: int) -> None:
    with rawmmap.map_anonymous(page) as region, region.view(), pytest.raises(BufferError):
        region.mremap(2 * page)


# ------------------------------------------------------------------ ownership


def test_munmap_is_idempotent(page: int) -> None:
    region = rawmmap.map_anonymous(page)
    region.munmap()
    region.munmap()
    assert region.closed


def test_dropped_region_warns_resourcewarning_and_unmaps(page: int) -> None:
    region = rawmmap.map_anonymous(page)
    address = region.address
    with pytest.warns(ResourceWarning, match="unclosed"):
        del region
        gc.collect()
    with pytest.raises(OSError) as caught:
        rawmmap.raw.mincore(address, page)
    assert caught.value.errno == errno.ENOMEM


def test_context_manager_unmaps_on_exit(page: int) -> None:
    with rawmmap.map_anonymous(page) as region:
        pass
    assert region.closed


def test_half_built_region_has_a_safe_repr_and_munmap() -> None:
    region = Region.__new__(Region)
    assert repr(region) == "<rawmmap.Region closed>"
    region.munmap()


def test_failed_mapping_leaves_nothing_to_warn_about(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError):
            rawmmap.map_anonymous(-1)
        gc.collect()


# ------------------------------------------------------------------ page calls


def test_partial_munmap_leaves_the_rest_usable(page: int) -> None:
    region = rawmmap.map_anonymous(3 * page)
    region.write(2 * page, b"tail")
    region.munmap(page, page)
    with pytest.raises(ValueError, match="unmapped"):
        region.read(page, 1)
    assert region.read(2 * page, 4) == b"tail"
    assert region.protection(page) is None
    region.munmap(0, page)
    region.munmap(2 * page, page)
    assert region.closed


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
def test_msync_accepts_each_combination_the_kernel_accepts(
    data_file: Path, flags: SyncFlag
) -> None:
    with rawmmap.map_file(data_file, prot=RW) as region:
        region.write(0, b"sync")
        region.msync(flags)


def test_msync_sync_and_async_raise_valueerror_before_the_call(data_file: Path) -> None:
    with rawmmap.map_file(data_file, prot=RW) as region, pytest.raises(ValueError, match="SYNC"):
        region.msync(SyncFlag.SYNC | SyncFlag.ASYNC)


def test_msync_page_range(data_file: Path, page: int) -> None:
    with rawmmap.map_file(data_file, prot=RW) as region:
        region.write(page, b"p")
        region.msync(SyncFlag.SYNC, page, page)
    assert data_file.read_bytes()[page : page + 1] == b"p"


def test_madvise_dontneed_zeroes_private_anonymous_memory(page: int) -> None:
    with rawmmap.map_anonymous(2 * page) as region:
        region.write(0, b"gone")
        region.madvise(Advice.DONTNEED)
        assert region.read(0, 4) == bytes(4)


@pytest.mark.parametrize("name", ["HWPOISON", "SOFT_OFFLINE"])
def test_madvise_refuses_advice_that_makes_access_fault(page: int, name: str) -> None:
    if not hasattr(Advice, name):
        pytest.skip(f"no MADV_{name} here")
    with rawmmap.map_anonymous(page) as region, pytest.raises(ValueError, match=name):
        region.madvise(getattr(Advice, name))


def test_mincore_reports_touched_pages(page: int) -> None:
    with rawmmap.map_anonymous(4 * page) as region:
        region.write(2 * page, b"x")
        resident = region.mincore()
        assert len(resident) == 4
        assert resident[2] is True


def test_mlock_and_munlock_a_range(page: int) -> None:
    with rawmmap.map_anonymous(2 * page) as region:
        region.mlock(0, page)
        region.munlock(0, page)


@pytest.mark.skipif(not rawmmap.raw.HAS_MLOCK2, reason="no mlock2")
@skip_under_qemu_user(MLOCK2_IS_MISSING)
def test_mlock_onfault(page: int) -> None:
    with rawmmap.map_anonymous(2 * page) as region:
        region.mlock(onfault=True)
        region.munlock()


@pytest.mark.skipif(not rawmmap.raw.HAS_MREMAP, reason="mremap is Linux-only")
def test_mremap_grows_keeps_data_and_protection(page: int) -> None:
    with rawmmap.map_anonymous(page) as region:
        region.write(0, b"keep")
        region.mremap(16 * page)
        assert len(region) == 16 * page
        assert region.read(0, 4) == b"keep"
        region.write(15 * page, b"new")
        region.mremap(2 * page)
        with pytest.raises(IndexError):
            region.read(3 * page, 1)


@pytest.mark.skipif(not rawmmap.raw.HAS_MREMAP, reason="mremap is Linux-only")
def test_mremap_file_mapping_past_end_raises_valueerror(data_file: Path, page: int) -> None:
    with open(data_file, "rb") as handle, rawmmap.map_file(handle) as region:
        with pytest.raises(ValueError, match="end of the file"):
            region.mremap(8 * page)
        region.mremap(2 * page)


def test_dontfork_region_is_unmapped_in_the_child(page: int) -> None:
    with rawmmap.map_anonymous(page) as region:
        region.madvise(Advice.DONTFORK)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            try:
                region.read(0, 1)
            except ValueError:
                os._exit(0)
            os._exit(1)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        region.madvise(Advice.DOFORK)


def test_shared_region_is_seen_by_a_forked_child(page: int) -> None:
    with rawmmap.map_anonymous(page, shared=True) as region:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            region.write(0, b"from child")
            os._exit(0)
        os.waitpid(pid, 0)
        assert region.read(0, 10) == b"from child"


# ------------------------------------------------------------------ threads


def test_threads_racing_munmap_against_access_never_crash(run_child: RunChild) -> None:
    result = run_child(
        """
        import threading, rawmmap
        from rawmmap import Prot
        page = rawmmap.page_size()
        for round in range(200):
            region = rawmmap.map_anonymous(4 * page)
            errors = []
            def worker(n):
                for i in range(200):
                    try:
                        region.write((i % 4) * page, b"abc")
                        region.read((i % 4) * page, 3)
                        region[5]
                        if n == 0:
                            region.mprotect(Prot.READ | Prot.WRITE, 0, page)
                    except ValueError:
                        return
                    except Exception as error:
                        errors.append(error)
                        return
            threads = [threading.Thread(target=worker, args=(n,)) for n in range(3)]
            for thread in threads:
                thread.start()
            region.munmap()
            for thread in threads:
                thread.join()
            assert not errors, errors
            try:
                region.read(0, 1)
            except ValueError:
                pass
            else:
                raise AssertionError("read after munmap did not raise")
        print("ok")
        """
    )
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    assert result.stdout.strip() == "ok"


def test_lock_is_held_per_region_not_globally(page: int) -> None:
    first = rawmmap.map_anonymous(page)
    second = rawmmap.map_anonymous(page)
    done = threading.Event()
    with first._lock:

        def other() -> None:
            second.write(0, b"x")
            done.set()

        thread = threading.Thread(target=other)
        thread.start()
        assert done.wait(10)
        thread.join()
    first.munmap()
    second.munmap()


def test_reversed_slice_of_protected_pages_is_checked(page: int) -> None:
    with rawmmap.map_anonymous(2 * page) as region:
        region.mprotect(Prot.NONE, page)
        with pytest.raises(ProtectionError):
            region[page + 10 : page - 10 : -1]
        with pytest.raises(ProtectionError):
            region[page + 3 : page - 1 : -1] = b"abcd"
        assert region[page - 1 : page - 5 : -1] == bytes(4)


def test_protection_outside_the_region_raises_indexerror(page: int) -> None:
    with rawmmap.map_anonymous(page) as region, pytest.raises(IndexError):
        region.protection(page)
