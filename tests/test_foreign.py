"""The libc layer (rawmmap._foreign) and the C integer policy (rawmmap._cint)."""

from __future__ import annotations

import ctypes
import errno
import os
import sys
from pathlib import Path

import pytest

from rawmmap import _cint, _foreign, raw
from rawmmap.flags import MapFlag, Prot

ANON = int(MapFlag.PRIVATE | MapFlag.ANONYMOUS)
RW = int(Prot.READ | Prot.WRITE)


@pytest.mark.parametrize("name", sorted(_foreign.PROTOTYPES))
def test_every_prototype_entry_is_applied(name: str) -> None:
    restype, argtypes, required = _foreign.PROTOTYPES[name]
    if name not in _foreign.FUNCTIONS:
        assert not required
        pytest.skip(f"{name} is optional and absent from this C library")
    function = _foreign.FUNCTIONS[name]
    assert function.restype is restype
    assert tuple(function.argtypes) == tuple(argtypes)


def test_pointer_returning_calls_are_not_left_on_c_int() -> None:
    for name in (raw.MMAP_SYMBOL, "mremap"):
        if name in _foreign.FUNCTIONS:
            assert _foreign.FUNCTIONS[name].restype is ctypes.c_void_p


def test_mmap_offset_argument_is_64_bit() -> None:
    offset_type = _foreign.FUNCTIONS[raw.MMAP_SYMBOL].argtypes[-1]
    assert ctypes.sizeof(offset_type) == 8  # type: ignore[arg-type]
    assert raw.OFF_T_BITS == 64


def test_map_failed_is_the_unsigned_all_ones_pointer() -> None:
    assert raw.MAP_FAILED == (1 << raw.POINTER_BITS) - 1
    assert raw.MAP_FAILED != -1


def test_page_size_matches_os_sysconf() -> None:
    assert raw.page_size() == os.sysconf("SC_PAGESIZE")


def test_mmap_zero_length_raises_einval_with_call_in_message() -> None:
    with pytest.raises(OSError) as caught:
        raw.mmap(0, 0, RW, ANON, -1, 0)
    assert caught.value.errno == errno.EINVAL
    assert "Invalid argument" in str(caught.value)
    assert "length=0" in str(caught.value)
    assert raw.MMAP_SYMBOL + "(" in str(caught.value)


def test_mmap_bad_descriptor_raises_ebadf() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    os.close(write_end)
    with pytest.raises(OSError) as caught:
        raw.mmap(0, 4096, int(Prot.READ), int(MapFlag.SHARED), read_end, 0)
    assert caught.value.errno == errno.EBADF


def test_mmap_write_shared_on_readonly_fd_raises_permissionerror(data_file: Path) -> None:
    fd = os.open(data_file, os.O_RDONLY)
    try:
        with pytest.raises(PermissionError) as caught:
            raw.mmap(0, 4096, RW, int(MapFlag.SHARED), fd, 0)
        assert caught.value.errno == errno.EACCES
    finally:
        os.close(fd)


def test_mmap_unaligned_offset_raises_einval(data_file: Path, page: int) -> None:
    fd = os.open(data_file, os.O_RDONLY)
    try:
        with pytest.raises(OSError) as caught:
            raw.mmap(0, page, int(Prot.READ), int(MapFlag.SHARED), fd, 1)
        assert caught.value.errno == errno.EINVAL
    finally:
        os.close(fd)


@pytest.mark.parametrize(
    ("ctype", "bad"),
    [
        ("size_t", -1),
        ("size_t", 1 << raw.POINTER_BITS),
        ("int", 1 << 31),
        ("int", -(1 << 31) - 1),
        ("int", 1 << 40),
        ("off_t", 1 << 63),
        ("void *", -1),
        ("unsigned int", 1 << 32),
    ],
)
def test_check_range_refuses_values_ctypes_would_truncate(ctype: str, bad: int) -> None:
    with pytest.raises(OverflowError, match="argument_name"):
        _cint.check_range("call", "argument_name", bad, ctype)


@pytest.mark.parametrize("bad", [1.0, "1", None, True, b"1"])
def test_check_range_refuses_non_integers(bad: object) -> None:
    with pytest.raises(TypeError, match="argument_name"):
        _cint.check_range("call", "argument_name", bad, "int")


def test_check_range_accepts_index_objects() -> None:
    class Three:
        def __index__(self) -> int:
            return 3

    assert _cint.check_range("call", "n", Three(), "int") == 3


def test_truncating_prot_raises_before_the_call() -> None:
    # c_int(2**32 | 3) would silently become 3 (READ|WRITE) and succeed.
    with pytest.raises(OverflowError, match="prot"):
        raw.mmap(0, 4096, (1 << 32) | RW, ANON, -1, 0)


def test_describe_call_shows_addresses_in_hex() -> None:
    text = _cint.describe_call("munmap", [("addr", 4096), ("length", 1)])
    assert text == "munmap(addr=0x1000, length=1)"


def test_select_mmap_prefers_mmap64_where_exported() -> None:
    from types import SimpleNamespace

    library = SimpleNamespace(mmap=object(), mmap64=object())
    assert _foreign.select_mmap(library, pointer_bits=32, system="linux") == ("mmap64", 64)


def test_select_mmap_refuses_to_guess_off_t_width() -> None:
    from types import SimpleNamespace

    with pytest.raises(ImportError, match="off_t"):
        _foreign.select_mmap(
            SimpleNamespace(mmap=object()),
            pointer_bits=32,
            system="linux",
            is_musl=lambda: False,
        )


def test_is_musl_reads_this_process_map() -> None:
    assert _foreign.is_musl() is (b"musl" in Path("/proc/self/maps").read_bytes())


def test_mlockall_future_onfault_then_munlockall() -> None:
    import rawmmap
    from rawmmap.flags import MlockAllFlag

    if not hasattr(MlockAllFlag, "ONFAULT"):
        pytest.skip("no MCL_ONFAULT here")
    try:
        rawmmap.mlockall(MlockAllFlag.FUTURE | MlockAllFlag.ONFAULT)
    except PermissionError:
        pytest.skip("RLIMIT_MEMLOCK forbids mlockall here")
    finally:
        rawmmap.munlockall()


def test_leased_view_reaches_exactly_its_bytes_and_holds_its_lease_until_the_last_view() -> None:
    address = raw.mmap(0, 4096, RW, ANON, -1, 0)
    try:
        lease = _foreign.new_lease()
        alone = sys.getrefcount(lease)
        view = _foreign.leased_view(address + 16, 8, False, lease)
        assert view.obj is None and view.readonly and view.nbytes == 8
        assert sys.getrefcount(lease) == alone + 1
        derived = memoryview(view).cast("B")[2:4]
        view.release()
        assert sys.getrefcount(lease) == alone + 1  # the derived view still holds it
        del derived
        assert sys.getrefcount(lease) == alone
    finally:
        raw.munmap(address, 4096)


def test_describe_spells_codes_and_masks() -> None:
    from rawmmap.flags import Advice, describe

    assert describe(Prot, 0) == "NONE"
    assert describe(Prot, int(Prot.READ | Prot.WRITE)) == "READ|WRITE"
    assert describe(Advice, int(Advice.WILLNEED)) == "WILLNEED"
    assert describe(Advice, 12345) == "12345"


def test_index_takes_ints_and_refuses_an_index_that_returns_no_int() -> None:
    class Bad:
        def __index__(self) -> object:
            return "3"  # noqa: PLE0305 - the point of the test

    assert _cint.index(5) == 5
    with pytest.raises(TypeError, match="non-int"):
        _cint.index(Bad())


def test_unknown_platform_refuses_to_import(monkeypatch: pytest.MonkeyPatch) -> None:
    from rawmmap import _flagtables

    def no_table(system: str, machine: str) -> _flagtables.Table:
        raise KeyError(machine)

    monkeypatch.setattr(_flagtables, "_current", {})
    monkeypatch.setattr(_flagtables, "table_for", no_table)
    with pytest.raises(ImportError, match="no flag table"):
        _flagtables.current()


def test_describe_shows_unknown_bits_in_hex() -> None:
    from rawmmap.flags import describe

    assert describe(Prot, int(Prot.READ) | 0x100) == "READ|0x100"
