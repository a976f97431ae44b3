"""The flag tables as data: every name declared, one table per platform, known values.

These tests need no compiler: they check ``rawmmap._flagtables`` against
``rawmmap/flags.py`` and against values quoted from the headers each table
cites. ``test_flag_headers.py`` checks the same tables against real headers.
"""

from __future__ import annotations

import ast
import enum
import importlib.util
import os
import sys
from pathlib import Path

import pytest

from rawmmap import _flagtables, flags

ENUM_NAMES = (
    "Prot",
    "MapFlag",
    "SyncFlag",
    "Advice",
    "MlockAllFlag",
    "MlockFlag",
    "RemapFlag",
    "PkeyRights",
    "MemfdSecretFlag",
)

# One (sys.platform, os.uname().machine) per table, and some more spellings.
PLATFORMS = [
    ("linux", "x86_64"),
    ("linux", "aarch64"),
    ("linux", "armv7l"),
    ("linux", "mips"),
    ("linux", "ppc64le"),
    ("linux", "sparc64"),
    ("linux", "alpha"),
    ("linux", "parisc"),
    ("darwin", "arm64"),
    ("darwin", "x86_64"),
    ("freebsd14", "amd64"),
    ("freebsd13", "arm64"),
]

FLAGS_SOURCE = Path(flags.__file__)


def _platform_id(platform: tuple[str, str]) -> str:
    return "-".join(platform)


def _declared_members() -> dict[str, list[ast.Assign]]:
    """Map each enum class of flags.py to the assignments in its body."""
    tree = ast.parse(FLAGS_SOURCE.read_text(encoding="utf-8"))
    declared: dict[str, list[ast.Assign]] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name in ENUM_NAMES:
            declared[node.name] = [
                statement for statement in ast.walk(node) if isinstance(statement, ast.Assign)
            ]
    return declared


def _assigned_name(statement: ast.Assign) -> str:
    target = statement.targets[0]
    assert isinstance(target, ast.Name)
    return target.id


def _build_flags_module(table: _flagtables.Table, monkeypatch: pytest.MonkeyPatch) -> object:
    """Execute a fresh copy of flags.py whose platform table is ``table``."""
    monkeypatch.setattr(_flagtables, "current", lambda: table)
    spec = importlib.util.spec_from_file_location("_rawmmap_flags_under_test", FLAGS_SOURCE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("platform", PLATFORMS, ids=_platform_id)
def test_every_table_name_is_declared_in_its_flags_class(platform: tuple[str, str]) -> None:
    declared = {
        enum_name: {_assigned_name(statement) for statement in statements}
        for enum_name, statements in _declared_members().items()
    }
    table = _flagtables.table_for(*platform)
    undeclared = {
        f"{enum_name}.{name}"
        for enum_name, values in table.items()
        for name in values
        if name not in declared.get(enum_name, set())
    }
    assert not undeclared


@pytest.mark.parametrize("platform", PLATFORMS, ids=_platform_id)
def test_every_table_key_is_an_enum_of_flags_py(platform: tuple[str, str]) -> None:
    assert set(_flagtables.table_for(*platform)) <= set(ENUM_NAMES)


def test_every_flags_member_has_a_doc_comment() -> None:
    lines = FLAGS_SOURCE.read_text(encoding="utf-8").splitlines()
    undocumented = [
        f"{enum_name}.{_assigned_name(statement)}"
        for enum_name, statements in _declared_members().items()
        for statement in statements
        if not lines[statement.lineno - 2].strip().startswith("#:")
    ]
    assert not undocumented


@pytest.mark.parametrize("platform", PLATFORMS, ids=_platform_id)
def test_flags_module_built_from_a_table_has_exactly_its_members(
    platform: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    table = _flagtables.table_for(*platform)
    module = _build_flags_module(table, monkeypatch)
    for enum_name in ENUM_NAMES:
        enum_type = getattr(module, enum_name)
        assert isinstance(enum_type, type)
        assert issubclass(enum_type, enum.Enum)
        members = {name: int(member.value) for name, member in enum_type.__members__.items()}
        assert members == table.get(enum_name, {}), enum_name


@pytest.mark.parametrize(
    ("machine", "family"),
    [
        ("x86_64", "x86"),
        ("amd64", "x86"),
        ("i386", "x86"),
        ("i686", "x86"),
        ("aarch64", "arm64"),
        ("aarch64_be", "arm64"),
        ("armv7l", "generic"),
        ("armv6l", "generic"),
        ("armv8l", "generic"),
        ("riscv64", "generic"),
        ("s390x", "generic"),
        ("loongarch64", "generic"),
        ("mips", "mips"),
        ("mips64", "mips"),
        ("mipsel", "mips"),
        ("ppc", "powerpc"),
        ("ppc64", "powerpc"),
        ("ppc64le", "powerpc"),
        ("sparc", "sparc"),
        ("sparc64", "sparc"),
        ("alpha", "alpha"),
        ("parisc", "parisc"),
        ("parisc64", "parisc"),
        ("X86_64", "x86"),
    ],
)
def test_linux_family_maps_uname_machine_to_its_kernel_arch(machine: str, family: str) -> None:
    assert _flagtables.linux_family(machine) == family


@pytest.mark.parametrize(
    ("machine", "same_as"),
    [
        ("i686", "x86_64"),
        ("armv6l", "riscv64"),
        ("s390x", "loongarch64"),
        ("mips64", "mips"),
        ("ppc", "ppc64le"),
        ("sparc", "sparc64"),
        ("parisc64", "parisc"),
    ],
)
def test_table_for_gives_machines_of_one_family_the_same_table(machine: str, same_as: str) -> None:
    assert _flagtables.table_for("linux", machine) == _flagtables.table_for("linux", same_as)


def test_table_for_gives_each_linux_family_a_different_table() -> None:
    machines = ["x86_64", "aarch64", "riscv64", "mips", "ppc64le", "sparc64", "alpha", "parisc"]
    assert {_flagtables.linux_family(machine) for machine in machines} == set(
        _flagtables.LINUX_FAMILIES
    )
    tables = [repr(sorted(_flagtables.table_for("linux", m).items())) for m in machines]
    assert len(set(tables)) == len(machines)


@pytest.mark.parametrize("system", ["freebsd12", "freebsd13", "freebsd14", "freebsd15"])
def test_table_for_gives_every_freebsd_release_the_freebsd_table(system: str) -> None:
    assert _flagtables.table_for(system, "amd64") == _flagtables.table_for("freebsd14", "arm64")


@pytest.mark.parametrize("machine", ["vax", "", "xtensa", "m68k", "ia64", "sh4"])
def test_table_for_unknown_linux_machine_raises_keyerror(machine: str) -> None:
    with pytest.raises(KeyError):
        _flagtables.table_for("linux", machine)


@pytest.mark.parametrize(
    ("system", "machine"),
    [("win32", "AMD64"), ("sunos5", "i86pc"), ("openbsd7", "amd64"), ("netbsd10", "amd64")],
)
def test_table_for_unknown_system_raises_keyerror(system: str, machine: str) -> None:
    with pytest.raises(KeyError):
        _flagtables.table_for(system, machine)


def test_table_for_returns_a_copy_the_caller_may_change() -> None:
    table = _flagtables.table_for("linux", "x86_64")
    table["MapFlag"]["SHARED"] = 99
    del table["Prot"]
    fresh = _flagtables.table_for("linux", "x86_64")
    assert fresh["MapFlag"]["SHARED"] == 1
    assert "Prot" in fresh


def test_platform_table_is_the_table_of_this_machine() -> None:
    assert _flagtables.table_for(sys.platform, os.uname().machine) == flags.PLATFORM_TABLE


@pytest.mark.parametrize(
    ("system", "machine", "enum_name", "name", "value"),
    [
        # mmap(2) flags that differ per OS and per Linux architecture.
        ("darwin", "arm64", "MapFlag", "ANON", 0x1000),
        ("darwin", "arm64", "MapFlag", "ANONYMOUS", 0x1000),
        ("freebsd14", "amd64", "MapFlag", "ANON", 0x1000),
        ("freebsd14", "amd64", "MapFlag", "ANONYMOUS", 0x1000),
        ("linux", "x86_64", "MapFlag", "ANONYMOUS", 0x20),
        ("linux", "mips", "MapFlag", "ANONYMOUS", 0x800),
        ("linux", "alpha", "MapFlag", "ANONYMOUS", 0x10),
        ("linux", "parisc", "MapFlag", "ANONYMOUS", 0x10),
        ("linux", "alpha", "MapFlag", "FIXED", 0x100),
        ("linux", "parisc", "MapFlag", "FIXED", 0x04),
        ("linux", "ppc64le", "MapFlag", "LOCKED", 0x80),
        ("linux", "ppc64le", "MapFlag", "NORESERVE", 0x40),
        ("linux", "sparc64", "MapFlag", "LOCKED", 0x100),
        ("linux", "sparc64", "MapFlag", "GROWSDOWN", 0x200),
        ("linux", "mips", "MapFlag", "NORESERVE", 0x400),
        ("linux", "alpha", "MapFlag", "FIXED_NOREPLACE", 0x200000),
        ("linux", "x86_64", "MapFlag", "BIT32", 0x40),
        ("darwin", "x86_64", "MapFlag", "BIT32", 0x8000),
        ("freebsd14", "amd64", "MapFlag", "BIT32", 0x80000),
        ("freebsd14", "amd64", "MapFlag", "ALIGNED_SUPER", 0x01000000),
        ("linux", "riscv64", "MapFlag", "DROPPABLE", 0x08),
        ("linux", "parisc", "MapFlag", "UNINITIALIZED", 0),
        # msync(2): MS_SYNC is 0x10 on macOS but 0 on FreeBSD.
        ("darwin", "arm64", "SyncFlag", "SYNC", 0x10),
        ("freebsd14", "amd64", "SyncFlag", "SYNC", 0),
        ("linux", "x86_64", "SyncFlag", "SYNC", 4),
        ("linux", "mips", "SyncFlag", "SYNC", 4),
        ("linux", "alpha", "SyncFlag", "SYNC", 2),
        ("linux", "alpha", "SyncFlag", "INVALIDATE", 4),
        ("linux", "parisc", "SyncFlag", "SYNC", 1),
        ("linux", "parisc", "SyncFlag", "ASYNC", 2),
        ("darwin", "arm64", "SyncFlag", "KILLPAGES", 4),
        # mprotect(2) bits of one architecture.
        ("linux", "ppc64le", "Prot", "SAO", 0x10),
        ("linux", "sparc64", "Prot", "ADI", 0x10),
        ("linux", "aarch64", "Prot", "BTI", 0x10),
        ("linux", "aarch64", "Prot", "MTE", 0x20),
        ("linux", "mips", "Prot", "SEM", 0x10),
        # mlockall(2).
        ("linux", "ppc64le", "MlockAllFlag", "CURRENT", 0x2000),
        ("linux", "sparc64", "MlockAllFlag", "FUTURE", 0x4000),
        ("linux", "alpha", "MlockAllFlag", "ONFAULT", 0x8000),
        ("darwin", "arm64", "MlockAllFlag", "CURRENT", 1),
        # madvise(2).
        ("linux", "alpha", "Advice", "DONTNEED", 6),
        ("linux", "alpha", "Advice", "SPACEAVAIL", 5),
        ("linux", "parisc", "Advice", "MERGEABLE", 65),
        ("linux", "parisc", "Advice", "COLLAPSE", 73),
        ("linux", "parisc", "Advice", "GUARD_INSTALL", 102),
        ("linux", "x86_64", "Advice", "GUARD_REMOVE", 103),
        ("darwin", "arm64", "Advice", "FREE", 5),
        ("darwin", "arm64", "Advice", "ZERO", 11),
        ("freebsd14", "amd64", "Advice", "PROTECT", 10),
        # protection key rights and memfd_secret's O_CLOEXEC.
        ("linux", "x86_64", "PkeyRights", "DISABLE_ACCESS", 1),
        ("linux", "x86_64", "PkeyRights", "DISABLE_WRITE", 2),
        ("linux", "ppc64le", "PkeyRights", "DISABLE_EXECUTE", 4),
        ("linux", "aarch64", "PkeyRights", "DISABLE_READ", 8),
        ("linux", "mips", "PkeyRights", "DISABLE_WRITE", 2),
        ("linux", "x86_64", "MemfdSecretFlag", "CLOEXEC", 0o2000000),
        ("linux", "sparc64", "MemfdSecretFlag", "CLOEXEC", 0x400000),
        ("linux", "alpha", "MemfdSecretFlag", "CLOEXEC", 0o10000000),
        ("linux", "parisc", "MemfdSecretFlag", "CLOEXEC", 0o10000000),
    ],
)
def test_table_holds_the_header_value(
    system: str, machine: str, enum_name: str, name: str, value: int
) -> None:
    assert _flagtables.table_for(system, machine)[enum_name][name] == value


@pytest.mark.parametrize(
    ("system", "machine", "enum_name", "name"),
    [
        ("darwin", "arm64", "RemapFlag", "MAYMOVE"),
        ("freebsd14", "amd64", "RemapFlag", "MAYMOVE"),
        ("darwin", "arm64", "MlockFlag", "ONFAULT"),
        ("freebsd14", "amd64", "MlockFlag", "ONFAULT"),
        ("freebsd14", "amd64", "MlockAllFlag", "ONFAULT"),
        ("darwin", "arm64", "Prot", "SEM"),
        ("linux", "mips", "Advice", "SOFT_OFFLINE"),
        ("linux", "alpha", "Advice", "HWPOISON"),
        ("linux", "mips", "MapFlag", "SYNC"),
        ("linux", "armv7l", "Prot", "BTI"),
        ("linux", "aarch64", "MapFlag", "BIT32"),
        ("linux", "x86_64", "Prot", "SAO"),
        ("linux", "x86_64", "PkeyRights", "DISABLE_EXECUTE"),
        ("darwin", "arm64", "PkeyRights", "DISABLE_ACCESS"),
        ("freebsd14", "amd64", "MemfdSecretFlag", "CLOEXEC"),
    ],
)
def test_table_lacks_names_the_platform_does_not_define(
    system: str, machine: str, enum_name: str, name: str
) -> None:
    assert name not in _flagtables.table_for(system, machine).get(enum_name, {})


# Names that share a bit with another name of the same table on purpose.
_ALIASES = {"ANON", "ANONYMOUS", "RENAME"}


@pytest.mark.parametrize("platform", PLATFORMS, ids=_platform_id)
def test_flag_values_are_single_bits_except_shared_validate(platform: tuple[str, str]) -> None:
    table = _flagtables.table_for(*platform)
    multi_bit = {
        f"{enum_name}.{name}"
        for enum_name, values in table.items()
        if enum_name != "Advice"
        for name, value in values.items()
        if value & (value - 1) and not name.startswith("HUGE_")
    }
    assert multi_bit <= {"MapFlag.SHARED_VALIDATE"}


_UNITS = {"KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}


@pytest.mark.parametrize("platform", PLATFORMS, ids=_platform_id)
def test_huge_page_sizes_are_log2_fields_above_bit_26(platform: tuple[str, str]) -> None:
    sizes = {
        name: value
        for name, value in _flagtables.table_for(*platform).get("MapFlag", {}).items()
        if name.startswith("HUGE_")
    }
    assert bool(sizes) == platform[0].startswith("linux")
    for name, value in sizes.items():
        size = int(name[5:-2]) * _UNITS[name[-2:]]
        assert value == (size.bit_length() - 1) << 26 == flags.huge_page_flag(size), name
        assert value & ~(_flagtables.HUGE_MASK << _flagtables.HUGE_SHIFT) == 0, name


@pytest.mark.parametrize("size", [0, -1, 3, 3 << 20, 1 << 64])
def test_huge_page_flag_refuses_what_the_field_cannot_say(size: int) -> None:
    with pytest.raises(ValueError, match="huge page"):
        flags.huge_page_flag(size)


@pytest.mark.parametrize("size", [2.0, True, "2M", None])
def test_huge_page_flag_wants_an_int(size: object) -> None:
    with pytest.raises(TypeError):
        flags.huge_page_flag(size)  # type: ignore[arg-type]


def test_huge_page_sizes_are_spelt_only_with_hugetlb() -> None:
    if not hasattr(flags.MapFlag, "HUGE_2MB"):
        pytest.skip("no huge page size flags here")
    hugetlb = flags.MapFlag.HUGETLB
    assert flags.describe(flags.MapFlag, hugetlb | flags.MapFlag.HUGE_2MB) == "HUGE_2MB|HUGETLB"
    assert flags.describe(flags.MapFlag, hugetlb | (17 << 26)) == "HUGE_131072B|HUGETLB"
    assert "HUGE" not in flags.describe(flags.MapFlag, 1 << 26)


@pytest.mark.parametrize("platform", PLATFORMS, ids=_platform_id)
def test_no_two_names_share_a_value_unless_aliases(platform: tuple[str, str]) -> None:
    for enum_name, values in _flagtables.table_for(*platform).items():
        by_value: dict[int, set[str]] = {}
        for name, value in values.items():
            if value:
                by_value.setdefault(value, set()).add(name)
        clashes = [names for names in by_value.values() if len(names) > 1]
        assert all(names <= _ALIASES for names in clashes), (enum_name, clashes)


# --- System call numbers ----------------------------------------------------


@pytest.mark.parametrize(
    ("machine", "pointer_bits", "multiarch", "abi"),
    [
        ("x86_64", 64, "x86_64-linux-gnu", "x86_64"),
        ("x86_64", 32, "i386-linux-gnu", "i386"),
        ("i686", 32, "", "i386"),
        ("x86_64", 32, "x86_64-linux-gnux32", "x32"),
        ("aarch64", 64, "aarch64-linux-gnu", "arm64"),
        ("aarch64", 32, "arm-linux-gnueabihf", "arm"),
        ("armv7l", 32, "arm-linux-gnueabihf", "arm"),
        ("riscv64", 64, "", "riscv64"),
        ("riscv32", 32, "", "riscv32"),
        ("s390x", 64, "", "s390x"),
        ("s390", 32, "", "s390"),
        ("loongarch64", 64, "", "loongarch64"),
        ("mips64", 64, "mips64el-linux-gnuabi64", "mips_n64"),
        ("mips64", 32, "mipsel-linux-gnu", "mips_o32"),
        ("mips", 32, "", "mips_o32"),
        ("mips64", 32, "mips64el-linux-gnuabin32", "mips_n32"),
        ("ppc64le", 64, "", "powerpc64"),
        ("ppc", 32, "", "powerpc"),
        ("sparc64", 64, "", "sparc64"),
        ("sparc", 32, "", "sparc"),
        ("alpha", 64, "", "alpha"),
        ("parisc", 32, "", "parisc"),
        ("parisc64", 64, "", "parisc64"),
    ],
)
def test_linux_abi_follows_the_process_pointer_width_not_the_kernel(
    machine: str, pointer_bits: int, multiarch: str, abi: str
) -> None:
    assert _flagtables.linux_abi(machine, pointer_bits, multiarch) == abi


def test_linux_abi_of_an_unknown_machine_raises_keyerror() -> None:
    with pytest.raises(KeyError):
        _flagtables.linux_abi("vax", 32)


@pytest.mark.parametrize(
    ("abi", "name", "number"),
    [
        # arch/x86/entry/syscalls/syscall_64.tbl and syscall_32.tbl
        ("x86_64", "pkey_alloc", 330),
        ("x86_64", "mseal", 462),
        ("x86_64", "memfd_secret", 447),
        ("i386", "pkey_mprotect", 380),
        ("x32", "process_madvise", 0x40000000 | 440),
        # asm-generic, arm EABI, powerpc (alloc before mprotect there)
        ("arm64", "pkey_free", 290),
        ("arm", "pkey_alloc", 395),
        ("powerpc64", "pkey_mprotect", 386),
        ("powerpc64", "pkey_alloc", 384),
        # the mips ABI bases: o32 4000, n64 5000, n32 6000
        ("mips_o32", "mseal", 4462),
        ("mips_n64", "mseal", 5462),
        ("mips_n32", "process_mrelease", 6448),
        ("mips_n64", "pkey_mprotect", 5323),
        # alpha's offset of 110 for the unified numbers
        ("alpha", "mseal", 572),
        ("alpha", "process_madvise", 550),
        ("s390x", "memfd_secret", 447),
        ("parisc", "pkey_free", 353),
        ("sparc64", "pkey_mprotect", 362),
    ],
)
def test_syscall_table_holds_the_kernel_number(abi: str, name: str, number: int) -> None:
    assert _flagtables.syscalls_for(abi)[name] == number


@pytest.mark.parametrize(
    "abi", ["arm", "powerpc64", "mips_n64", "mips_o32", "sparc64", "alpha", "parisc"]
)
def test_memfd_secret_has_no_number_where_the_kernel_does_not_wire_it(abi: str) -> None:
    assert "memfd_secret" not in _flagtables.syscalls_for(abi)


@pytest.mark.parametrize("abi", _flagtables.LINUX_ABIS)
def test_every_abi_numbers_every_call_but_maybe_memfd_secret(abi: str) -> None:
    names = set(_flagtables.syscalls_for(abi))
    assert set(_flagtables.SYSCALL_NAMES) - names <= {"memfd_secret"}


def test_syscalls_for_returns_a_copy() -> None:
    numbers = _flagtables.syscalls_for("x86_64")
    numbers["mseal"] = 0
    assert _flagtables.syscalls_for("x86_64")["mseal"] == 462


def test_current_syscalls_are_those_of_the_running_abi() -> None:
    abi = _flagtables.current_abi()
    if abi is None:
        assert _flagtables.current_syscalls() == {}
    else:
        assert _flagtables.current_syscalls() == _flagtables.syscalls_for(abi)
