"""The libc loader: which mmap symbol it picks, and that it loads without a process.

``select_mmap`` is exercised with stand-in C libraries (namespaces that do or
do not have ``mmap64`` and ``mmap``), so that the choice for musl, 32-bit
glibc, Android, macOS and FreeBSD is tested on this one machine. Facts the
expectations rest on:

- 32-bit glibc and Android's bionic default to a 32-bit ``off_t``; their
  ``mmap64`` takes a 64-bit one (glibc manual, "Feature Test Macros",
  _FILE_OFFSET_BITS; bionic docs/32-bit-abi.md).
- musl's ``off_t`` is 64 bits everywhere, and musl 1.2.4 removed the ``*64``
  aliases such as ``mmap64`` from its dynamic symbols (musl 1.2.4 release
  notes, "LFS64 symbols").
- macOS and the BSDs have a 64-bit ``off_t`` on every architecture
  (4.4BSD; FreeBSD sys/sys/_types.h ``__off_t`` is ``__int64_t``).
"""

from __future__ import annotations

import ctypes
import sys
from types import SimpleNamespace
from typing import Callable

import pytest

from rawmmap import _foreign, raw

from .conftest import RunChild


def _symbol() -> object:
    """A stand-in for one exported C function."""
    return object()


def _libc_with(*names: str) -> SimpleNamespace:
    """A stand-in C library that exports exactly ``names``."""
    return SimpleNamespace(**{name: _symbol() for name in names})


def _never_asked() -> bool:
    raise AssertionError("is_musl was asked although the answer did not depend on it")


def _musl() -> bool:
    return True


def _not_musl() -> bool:
    return False


def test_glibc_64_bit_with_mmap64_picks_mmap64() -> None:
    library = _libc_with("mmap", "mmap64")
    assert _foreign.select_mmap(library, pointer_bits=64, system="linux", is_musl=_never_asked) == (
        "mmap64",
        64,
    )


def test_musl_1_2_4_on_64_bit_without_mmap64_picks_mmap() -> None:
    library = _libc_with("mmap")
    # On LP64 off_t is a long: the C library does not matter.
    assert _foreign.select_mmap(library, pointer_bits=64, system="linux", is_musl=_never_asked) == (
        "mmap",
        64,
    )


def test_musl_on_32_bit_without_mmap64_picks_mmap_with_64_bit_offset() -> None:
    library = _libc_with("mmap")
    assert _foreign.select_mmap(library, pointer_bits=32, system="linux", is_musl=_musl) == (
        "mmap",
        64,
    )


@pytest.mark.parametrize("system", ["linux", "android"])
def test_32_bit_glibc_or_android_with_mmap64_picks_mmap64(system: str) -> None:
    library = _libc_with("mmap", "mmap64")
    assert _foreign.select_mmap(library, pointer_bits=32, system=system, is_musl=_never_asked) == (
        "mmap64",
        64,
    )


def test_old_musl_that_still_exports_mmap64_picks_mmap64() -> None:
    # Debian's musl 1.2.3 still has the LFS64 alias; it is the same function.
    library = _libc_with("mmap", "mmap64")
    assert _foreign.select_mmap(library, pointer_bits=32, system="linux", is_musl=_never_asked) == (
        "mmap64",
        64,
    )


@pytest.mark.parametrize("system", ["darwin", "freebsd14", "freebsd13", "netbsd10", "openbsd7"])
@pytest.mark.parametrize("pointer_bits", [32, 64])
def test_macos_and_bsd_pick_mmap_with_64_bit_offset(system: str, pointer_bits: int) -> None:
    library = _libc_with("mmap")
    assert _foreign.select_mmap(
        library, pointer_bits=pointer_bits, system=system, is_musl=_never_asked
    ) == ("mmap", 64)


def test_unknown_32_bit_linux_libc_without_mmap64_refuses_to_load() -> None:
    library = _libc_with("mmap")
    with pytest.raises(ImportError) as caught:
        _foreign.select_mmap(library, pointer_bits=32, system="linux", is_musl=_not_musl)
    message = str(caught.value)
    assert "off_t" in message
    assert "32-bit linux" in message
    assert "mmap64" in message
    assert "will not guess" in message


def test_unknown_32_bit_system_refuses_to_load() -> None:
    library = _libc_with("mmap")
    with pytest.raises(ImportError, match="off_t"):
        _foreign.select_mmap(library, pointer_bits=32, system="sunos5", is_musl=_never_asked)


@pytest.mark.parametrize("pointer_bits", [32, 64])
@pytest.mark.parametrize("is_musl", [_musl, _not_musl])
def test_library_without_any_mmap_refuses_to_load(
    pointer_bits: int, is_musl: Callable[[], bool]
) -> None:
    with pytest.raises(ImportError, match="neither mmap64 nor mmap"):
        _foreign.select_mmap(
            _libc_with("munmap"), pointer_bits=pointer_bits, system="linux", is_musl=is_musl
        )


def test_real_loader_picked_the_symbol_select_mmap_chooses_here() -> None:
    # _library is the CDLL(None) the module loaded at import.
    expected = _foreign.select_mmap(
        _foreign._library, pointer_bits=raw.POINTER_BITS, system=sys.platform
    )
    chosen = (raw.MMAP_SYMBOL, raw.OFF_T_BITS)
    assert chosen == expected


def test_real_loader_on_musl_picks_plain_mmap_with_a_64_bit_offset() -> None:
    """On musl without mmap64 the loader calls mmap with a 64-bit off_t."""
    # musl 1.2.4 and later export no mmap64, and musl's off_t is 64 bits on
    # every architecture: 32-bit musl (i386) must neither refuse to load nor
    # pass a 32-bit offset. Runs on the musl targets of tools/platforms.
    if not _foreign.is_musl():
        pytest.skip("the C library here is not musl")
    if _foreign._has_symbol(_foreign._library, "mmap64"):
        pytest.skip("this musl still exports mmap64 (musl before 1.2.4)")
    assert (raw.MMAP_SYMBOL, raw.OFF_T_BITS) == ("mmap", 64)


def test_real_loader_mmap_offset_argument_is_8_bytes() -> None:
    offset_type = _foreign.FUNCTIONS[raw.MMAP_SYMBOL].argtypes[-1]
    assert ctypes.sizeof(offset_type) == 8  # type: ignore[arg-type]


def test_real_loader_matches_pointer_width_of_this_interpreter() -> None:
    assert ctypes.sizeof(ctypes.c_void_p) * 8 == raw.POINTER_BITS


def test_import_spawns_no_process_and_skips_ctypes_util(run_child: RunChild) -> None:
    # An audit hook (PEP 578) sees every way CPython can start a process;
    # ctypes.util.find_library would run ldconfig or gcc.
    result = run_child(
        """
        import sys
        started = []
        def hook(event, arguments):
            if event.startswith(("subprocess.", "os.fork", "os.exec", "os.posix_spawn",
                                 "os.spawn", "os.system", "os.startfile")):
                started.append(event)
        sys.addaudithook(hook)
        before = set(sys.modules)
        import rawmmap
        imported = set(sys.modules) - before
        assert not started, started
        assert "subprocess" not in imported, "rawmmap imported subprocess"
        assert "ctypes.util" not in imported, "rawmmap imported ctypes.util"
        print("ok")
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
