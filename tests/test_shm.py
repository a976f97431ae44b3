"""Named POSIX shared memory: the libc binding, name rules, errno, and mapping it."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import stat
import sys
from collections.abc import Iterator

import pytest

import rawmmap
from rawmmap import _foreign, raw, shm

from .emulation import (
    PKEY_RIGHTS_ARE_MISSING,
    is_missing,
)
from .shm_support import NameFactory, unique_names
from .support import run_python

pytestmark = pytest.mark.skipif(not shm.has_shm(), reason="no shm_open in libc or librt")


@pytest.fixture
def new_name() -> Iterator[NameFactory]:
    """Unique shared memory names, each unlinked after the test, even a failed one."""
    yield from unique_names()


# ------------------------------------------------------------ the libc layer


@pytest.mark.parametrize("name", sorted(_foreign.LAZY_PROTOTYPES))
def test_lazy_prototype_is_applied(name: str) -> None:
    function = _foreign.lazy_function(name)
    if function is None:
        # Looked up again here, not through rawmmap: a library that has the
        # symbol must give a function.
        libraries = [ctypes.CDLL(None)]
        if name in {"shm_open", "shm_unlink", "memfd_create"}:
            with contextlib.suppress(OSError):
                libraries.append(ctypes.CDLL(_foreign.RT_SONAME))
        assert not any(hasattr(library, name) for library in libraries), name
        if name in _foreign.SYSCALL_NUMBERS:
            pytest.skip(f"this C library has no {name}: it goes through syscall(2)")
        if name in ("pkey_get", "pkey_set") and is_missing(PKEY_RIGHTS_ARE_MISSING):
            pytest.skip(PKEY_RIGHTS_ARE_MISSING)  # no system call to fall back on (musl)
        pytest.skip(
            f"this C library has no {name} and this ABI's system call table has no number "
            f"for it (the kernel does not wire {name} on every architecture): nothing to apply"
        )
    restype, argtypes = _foreign.LAZY_PROTOTYPES[name]
    assert function.restype is restype
    assert tuple(function.argtypes) == tuple(argtypes)


def test_shm_calls_are_not_in_the_import_time_table() -> None:
    assert not set(_foreign.LAZY_PROTOTYPES) & set(_foreign.PROTOTYPES)


def test_resolve_symbol_falls_back_to_librt_when_libc_lacks_it() -> None:
    loaded = []

    def no_library() -> object:
        loaded.append("libc")
        return object()  # a library without the symbol

    def librt() -> object:
        loaded.append("librt")
        try:
            return ctypes.CDLL(_foreign.RT_SONAME, use_errno=True)
        except OSError:
            pytest.skip(f"{_foreign.RT_SONAME} cannot be loaded here")

    function = _foreign.resolve_symbol("shm_open", (no_library, librt))
    if function is None:
        pytest.skip(f"{_foreign.RT_SONAME} has no shm_open here")
    assert loaded == ["libc", "librt"]


def test_resolve_symbol_does_not_load_later_libraries_when_the_first_has_it() -> None:
    def must_not_load() -> object:
        raise AssertionError("librt loaded although libc has the symbol")

    def libc() -> object:
        return ctypes.CDLL(None, use_errno=True)

    assert _foreign.resolve_symbol("munmap", (libc, must_not_load)) is not None


def test_resolve_symbol_returns_none_when_no_library_has_it() -> None:
    assert _foreign.resolve_symbol("no_such_call_rawmmap", (lambda: None, object)) is None


@pytest.mark.parametrize("mode", [-1, 0o10000, 2**32])
def test_libc_shm_open_rejects_mode_outside_permission_bits(mode: int) -> None:
    with pytest.raises(OverflowError, match="mode"):
        raw.shm_open(b"/never-created", os.O_RDONLY, mode)


def test_libc_shm_open_rejects_oflag_wider_than_int() -> None:
    with pytest.raises(OverflowError, match="oflag"):
        raw.shm_open(b"/never-created", 2**40, 0)


@pytest.mark.parametrize("mode", [True, 1.0, "0o600", None])
def test_libc_shm_open_rejects_non_integer_mode(mode: object) -> None:
    with pytest.raises(TypeError, match="mode"):
        raw.shm_open(b"/never-created", os.O_RDONLY, mode)  # type: ignore[arg-type]


def test_libc_shm_calls_refuse_a_name_with_nul_instead_of_truncating_it() -> None:
    with pytest.raises(ValueError, match="NUL"):
        raw.shm_open(b"/a\0b", os.O_RDONLY, 0)
    with pytest.raises(ValueError, match="NUL"):
        raw.shm_unlink(b"/a\0b")


def test_libc_shm_calls_take_str_or_bytes_and_refuse_other_types() -> None:
    for name in (None, 3, ["/x"]):
        with pytest.raises(TypeError, match="str or bytes"):
            raw.shm_open(name, os.O_RDONLY, 0)  # type: ignore[arg-type]
    with pytest.raises(FileNotFoundError):
        raw.shm_open("/rawmmap-no-such-object", os.O_RDONLY, 0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc and musl behaviour")
def test_a_name_without_a_slash_is_what_the_c_library_accepts(new_name: NameFactory) -> None:
    name = new_name()
    bare = name.lstrip("/")
    fd = raw.shm_open(bare, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    fd = shm.shm_open(name)  # the same object, with the slash
    os.close(fd)
    fd = shm.shm_open(bare)  # the safe API takes it too
    os.close(fd)


def _raw_open_expecting_failure(name: bytes) -> OSError:
    try:
        fd = raw.shm_open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        return error
    os.close(fd)
    raw.shm_unlink(name)
    pytest.skip(f"this C library accepts the shared memory name {name!r}")


def test_c_library_refuses_a_name_with_an_inner_slash_with_einval() -> None:
    error = _raw_open_expecting_failure(f"/rmm-{os.getpid()}/inner".encode())
    assert error.errno == errno.EINVAL
    assert "shm_open(name=" in str(error)


def test_c_library_refuses_a_name_longer_than_name_max() -> None:
    error = _raw_open_expecting_failure(b"/" + b"n" * (shm.NAME_MAX + 45))
    # glibc answers EINVAL, musl and POSIX ENAMETOOLONG.
    assert error.errno in (errno.ENAMETOOLONG, errno.EINVAL)


# ------------------------------------------------------------ name rules


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("", "empty"),
        ("/a/b", "no '/' after the first"),
        ("/", "name after the '/'"),
        ("/.", "name after the '/'"),
        ("/..", "name after the '/'"),
        ("/a\0b", "NUL"),
        (b"/a\0b", "NUL"),
        ("/" + "x" * 256, "at most 255 bytes"),
        ("/" + "\u00e9" * 128, "at most 255 bytes"),  # 256 bytes in UTF-8
    ],
)
def test_bad_name_raises_valueerror_naming_the_rule(name: str, rule: str) -> None:
    with pytest.raises(ValueError, match=rule.replace(".", r"\.")):
        shm.shm_open(name, create=True)
    with pytest.raises(ValueError, match=rule.replace(".", r"\.")):
        shm.shm_unlink(name)


@pytest.mark.parametrize("name", [None, 3, ["/x"]])
def test_name_of_wrong_type_raises_typeerror(name: object) -> None:
    with pytest.raises(TypeError, match="str or bytes"):
        shm.check_shm_name(name)


def test_longest_valid_name_is_accepted_by_the_check() -> None:
    name = "/" + "x" * shm.NAME_MAX
    assert shm.check_shm_name(name) == name.encode()


def test_bytes_and_str_names_name_the_same_object(new_name: NameFactory) -> None:
    name = new_name()
    fd = shm.shm_open(name, create=True, exclusive=True)
    os.close(fd)
    fd = shm.shm_open(name.encode())
    os.close(fd)


# ------------------------------------------------------------ shm_open and errno


def test_exclusive_create_of_existing_object_raises_fileexistserror(
    new_name: NameFactory,
) -> None:
    name = new_name()
    os.close(shm.shm_open(name, create=True, exclusive=True))
    with pytest.raises(FileExistsError) as caught:
        shm.shm_open(name, create=True, exclusive=True)
    assert caught.value.errno == errno.EEXIST
    assert name in str(caught.value)


def test_open_of_missing_object_raises_filenotfounderror(new_name: NameFactory) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        shm.shm_open(new_name())
    assert caught.value.errno == errno.ENOENT


def test_unlink_of_missing_object_raises_filenotfounderror(new_name: NameFactory) -> None:
    with pytest.raises(FileNotFoundError):
        shm.shm_unlink(new_name())


def test_exclusive_without_create_raises_valueerror(new_name: NameFactory) -> None:
    with pytest.raises(ValueError, match="exclusive=True needs create=True"):
        shm.shm_open(new_name(), exclusive=True)


def test_truncate_with_readonly_raises_valueerror(new_name: NameFactory) -> None:
    with pytest.raises(ValueError, match="O_TRUNC"):
        shm.shm_open(new_name(), truncate=True, readonly=True)


def test_new_object_is_empty_with_the_given_mode(new_name: NameFactory) -> None:
    name = new_name()
    old_umask = os.umask(0o022)
    try:
        fd = shm.shm_open(name, create=True, exclusive=True, mode=0o640)
    finally:
        os.umask(old_umask)
    try:
        status = os.fstat(fd)
        assert status.st_size == 0
        assert stat.S_IMODE(status.st_mode) == 0o640
    finally:
        os.close(fd)


def test_descriptor_is_close_on_exec(new_name: NameFactory) -> None:
    fd = shm.shm_open(new_name(), create=True)
    try:
        assert not os.get_inheritable(fd)
    finally:
        os.close(fd)


def test_truncate_cuts_an_existing_object_to_zero(new_name: NameFactory) -> None:
    name = new_name()
    fd = shm.shm_open(name, create=True)
    os.ftruncate(fd, 8192)
    os.close(fd)
    fd = shm.shm_open(name, truncate=True)
    try:
        assert os.fstat(fd).st_size == 0
    finally:
        os.close(fd)


def test_open_for_writing_without_permission_raises_permissionerror(
    new_name: NameFactory,
) -> None:
    # Root bypasses file modes, so a root test drops to "nobody" in a child;
    # if the child can still open the object, this system grants the access.
    name = new_name()
    os.close(shm.shm_open(name, create=True, exclusive=True, mode=0o400))
    result = run_python(
        """
        import os, sys
        from rawmmap import shm
        if os.geteuid() == 0:
            os.setgid(65534)
            os.setuid(65534)
        try:
            os.close(shm.shm_open(sys.argv[1]))
        except PermissionError as error:
            print("PermissionError", error.errno)
        else:
            print("opened")
        """,
        name,
    )
    assert result.returncode == 0, result.stderr
    if result.stdout.strip() == "opened":
        pytest.skip("this process may open a mode 0o400 object read-write")
    assert result.stdout.split() == ["PermissionError", str(errno.EACCES)]


# ------------------------------------------------------------ map_shared_memory


def test_map_shared_memory_creates_sizes_and_maps_shared(new_name: NameFactory) -> None:
    name = new_name()
    with rawmmap.map_shared_memory(name, 10000, create=True, exclusive=True) as region:
        assert region.length == 10000
        assert region.flags & rawmmap.MapFlag.SHARED
        assert region.read(0, 16) == bytes(16)
        region.write(9990, b"end marker")
        with rawmmap.map_shared_memory(name) as second:
            assert second.length == 10000
            assert second.read(9990) == b"end marker"
            second[0:5] = b"hello"
        assert region[0:5] == b"hello"


def test_map_shared_memory_never_shrinks_an_existing_object(new_name: NameFactory) -> None:
    name = new_name()
    with rawmmap.map_shared_memory(name, 3 * rawmmap.page_size(), create=True):
        pass
    with rawmmap.map_shared_memory(name, 100, create=True) as region:
        assert region.length == 100
    fd = shm.shm_open(name, readonly=True)
    try:
        assert os.fstat(fd).st_size == 3 * rawmmap.page_size()
    finally:
        os.close(fd)


def test_map_shared_memory_does_not_leak_its_descriptor(new_name: NameFactory) -> None:
    before = set(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    if before is None:
        pytest.skip("no /proc/self/fd to count descriptors")
    with rawmmap.map_shared_memory(new_name(), 4096, create=True):
        # Only the Region's own duplicate, closed with the mapping.
        assert len(set(os.listdir("/proc/self/fd")) - before) == 1
    assert set(os.listdir("/proc/self/fd")) == before


def test_map_shared_memory_readonly_refuses_writes(new_name: NameFactory) -> None:
    name = new_name()
    with rawmmap.map_shared_memory(name, 4096, create=True) as writer:
        writer[0] = 7
        with rawmmap.map_shared_memory(name, readonly=True) as reader:
            assert reader[0] == 7
            with pytest.raises(rawmmap.ProtectionError):
                reader[0] = 8


def test_map_shared_memory_larger_than_existing_object_raises_valueerror(
    new_name: NameFactory,
) -> None:
    name = new_name()
    rawmmap.map_shared_memory(name, 4096, create=True).munmap()
    with pytest.raises(ValueError, match="past the end"):
        rawmmap.map_shared_memory(name, 8192)


def test_map_shared_memory_of_an_empty_object_raises_valueerror(new_name: NameFactory) -> None:
    name = new_name()
    os.close(shm.shm_open(name, create=True))
    with pytest.raises(ValueError, match="empty"):
        rawmmap.map_shared_memory(name)


def test_map_shared_memory_create_needs_a_size(new_name: NameFactory) -> None:
    with pytest.raises(ValueError, match="needs a size"):
        rawmmap.map_shared_memory(new_name(), create=True)


@pytest.mark.parametrize("size", [0, -1])
def test_map_shared_memory_refuses_a_size_that_is_not_positive(
    new_name: NameFactory, size: int
) -> None:
    name = new_name()
    with pytest.raises(ValueError, match="positive"):
        rawmmap.map_shared_memory(name, size, create=True)
    with pytest.raises(FileNotFoundError):
        shm.shm_unlink(name)  # nothing was created


def test_map_shared_memory_create_needs_write_access(new_name: NameFactory) -> None:
    with pytest.raises(ValueError, match="drop readonly"):
        rawmmap.map_shared_memory(new_name(), 4096, create=True, readonly=True)


def test_failed_exclusive_map_unlinks_the_object_it_created(new_name: NameFactory) -> None:
    name = new_name()
    # tmpfs grows the object to 4 EiB (sparse), then mmap fails: no address
    # space is that large (ENOMEM; OverflowError where size_t is 32 bits).
    with pytest.raises((OSError, OverflowError, ValueError)):
        rawmmap.map_shared_memory(name, 2**62, create=True, exclusive=True)
    with pytest.raises(FileNotFoundError):
        shm.shm_open(name)


def test_missing_object_raises_filenotfounderror(new_name: NameFactory) -> None:
    with pytest.raises(FileNotFoundError):
        rawmmap.map_shared_memory(new_name(), 4096)


def test_mapping_survives_unlink_and_name_is_free_again(new_name: NameFactory) -> None:
    name = new_name()
    with rawmmap.map_shared_memory(name, 4096, create=True, exclusive=True) as old:
        old[0:3] = b"old"
        shm.shm_unlink(name)
        with rawmmap.map_shared_memory(name, 4096, create=True, exclusive=True) as new:
            assert new[0:3] == bytes(3)
            assert old[0:3] == b"old"


def test_unrelated_process_opens_the_object_by_name(new_name: NameFactory) -> None:
    name = new_name()
    with rawmmap.map_shared_memory(name, 4096, create=True, exclusive=True) as region:
        region[0:4] = b"ping"
        result = run_python(
            """
            import sys
            import rawmmap
            with rawmmap.map_shared_memory(sys.argv[1]) as region:
                print(region[0:4].decode())
                region[4:8] = b"pong"
            """,
            name,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout == "ping\n"
        assert region[4:8] == b"pong"
