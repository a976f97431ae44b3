"""The flag tables against real C headers and against the stdlib ``mmap`` module.

* This machine: a tiny C program, compiled with ``cc`` against
  ``<sys/mman.h>`` (and on Linux ``<linux/mman.h>``), prints every constant
  of the running table; values must match, and the headers may define no
  name the table lacks.
* Other Linux architectures: the kernel uapi headers of each one, as Debian
  installs them under ``/usr/<triplet>/include`` (``linux-libc-dev-*-cross``;
  ``tools/install-cross-headers.sh`` installs them), read with ``cc -E -dM``.
* The system call numbers of every ABI (``_flagtables.syscalls_for``): the
  same headers' ``asm/unistd.h``, with the macros that pick the ABI's file
  defined as that ABI's compiler would (``__i386__``, ``_MIPS_SIM``, ...),
  and this machine's ``<sys/syscall.h>`` for the running ABI.

A name a header lacks is skipped, not failed, only where the kernel added it
after the header's version; every other missing name fails. Tests skip when
there is no ``cc`` or the headers of an architecture are not installed.
"""

from __future__ import annotations

import ast
import mmap
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from rawmmap import _flagtables, flags

CC = shutil.which("cc")

# C prefix of each enum; "MAP_32BIT" is stored as "BIT32".
PREFIXES = {
    "Prot": "PROT_",
    "MapFlag": "MAP_",
    "SyncFlag": "MS_",
    "Advice": "MADV_",
    "MlockAllFlag": "MCL_",
    "MlockFlag": "MLOCK_",
    "RemapFlag": "MREMAP_",
    "PkeyRights": "PKEY_",
}
_RENAMED = {"BIT32": "32BIT"}

# Enums whose C names share no prefix of their own: (enum, table name) -> C name.
# memfd_secret(2) takes O_CLOEXEC, one of many O_ flags.
_EXACT = {("MemfdSecretFlag", "CLOEXEC"): "O_CLOEXEC"}

# Header names the tables leave out on purpose (see rawmmap/_flagtables.py):
# masks and encodings, MAP_FAILED, placeholders, obsolete zero or alias
# names, function-like macros, and the kernel-only MAP_32BIT_MAX_ADDR.
_LEFT_OUT = re.compile(
    r"MAP_(TYPE|FAILED|HUGE_SHIFT|HUGE_MASK|VARIABLE|COPY|RESERVED\w*|ALIGNED|ALIGNMENT_\w+"
    r"|32BIT_MAX_ADDR)|PROT_(MAX\w*|EXTRACT)|PKEY_ACCESS_MASK"
)

# Names the C library adds to the kernel's: glibc and musl spell MAP_ANON.
_LIBC_ONLY = {"MAP_ANON"}

# The Linux release whose uapi headers first define a name, for names that
# older installed headers may lack (everything else is older than 4.4).
_LINUX_SINCE = {
    "MCL_ONFAULT": (4, 4),
    "MLOCK_ONFAULT": (4, 4),
    "MADV_FREE": (4, 5),
    "MADV_WIPEONFORK": (4, 14),
    "MADV_KEEPONFORK": (4, 14),
    "MAP_SHARED_VALIDATE": (4, 15),
    "MAP_SYNC": (4, 15),
    "MAP_FIXED_NOREPLACE": (4, 17),
    "PROT_ADI": (4, 17),
    "MADV_COLD": (5, 4),
    "MADV_PAGEOUT": (5, 4),
    "MREMAP_DONTUNMAP": (5, 7),
    "PROT_BTI": (5, 8),
    "PROT_MTE": (5, 10),
    "MADV_POPULATE_READ": (5, 14),
    "MADV_POPULATE_WRITE": (5, 14),
    "MADV_DONTNEED_LOCKED": (5, 18),
    "MADV_COLLAPSE": (6, 1),
    "MAP_ABOVE4G": (6, 6),
    "MAP_DROPPABLE": (6, 11),
    "MADV_GUARD_INSTALL": (6, 13),
    "MADV_GUARD_REMOVE": (6, 13),
    # arm64's Permission Overlay Extension rights (PowerPC's DISABLE_EXECUTE
    # is older than 4.4).
    "PKEY_DISABLE_EXECUTE": (6, 12),
    "PKEY_DISABLE_READ": (6, 12),
    "PKEY_UNRESTRICTED": (6, 15),
}

# (os.uname().machine, Debian triplet of the headers, Debian architecture).
CROSS_HEADERS = [
    ("x86_64", "x86_64-linux-gnu", "amd64"),
    ("i686", "i686-linux-gnu", "i386"),
    ("aarch64", "aarch64-linux-gnu", "arm64"),
    ("armv7l", "arm-linux-gnueabihf", "armhf"),
    ("riscv64", "riscv64-linux-gnu", "riscv64"),
    ("s390x", "s390x-linux-gnu", "s390x"),
    ("mips64", "mips64el-linux-gnuabi64", "mips64el"),
    ("mips", "mipsel-linux-gnu", "mipsel"),
    ("ppc64le", "powerpc64le-linux-gnu", "ppc64el"),
    ("ppc", "powerpc-linux-gnu", "powerpc"),
    ("sparc64", "sparc64-linux-gnu", "sparc64"),
    ("alpha", "alpha-linux-gnu", "alpha"),
    ("parisc", "hppa-linux-gnu", "hppa"),
]

_NATIVE_PROGRAM_HEAD = """\
#define _GNU_SOURCE
#include <stdio.h>
#include <fcntl.h>
#include <sys/mman.h>
#if defined(__linux__) && defined(__has_include)
#if __has_include(<linux/mman.h>)
#include <linux/mman.h>
#endif
#if __has_include(<linux/version.h>)
#include <linux/version.h>
#endif
#endif
"""


def c_name(enum_name: str, name: str) -> str:
    """Return the C spelling of a table name (``MapFlag``, ``BIT32`` -> ``MAP_32BIT``)."""
    exact = _EXACT.get((enum_name, name))
    if exact is not None:
        return exact
    return PREFIXES[enum_name] + _RENAMED.get(name, name)


def table_key(name: str) -> tuple[str, str] | None:
    """Return (enum name, table name) for a C constant, or None if no table has it."""
    if _LEFT_OUT.fullmatch(name):
        return None
    for key, exact in _EXACT.items():
        if name == exact:
            return key
    for enum_name, prefix in PREFIXES.items():
        if name.startswith(prefix):
            short = name[len(prefix) :]
            return enum_name, {v: k for k, v in _RENAMED.items()}.get(short, short)
    return None


def header_lacks_it_legitimately(name: str, header_version: tuple[int, int] | None) -> bool:
    """Tell whether ``name`` is newer than Linux headers of ``header_version``."""
    since = _LINUX_SINCE.get(name)
    return since is not None and header_version is not None and header_version < since


def _version_from_code(code: int) -> tuple[int, int]:
    return code >> 16, (code >> 8) & 0xFF


# --- A small evaluator for the integer macros that cc -E -dM prints ---------

_NUMBER = re.compile(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\b")
_IDENTIFIER = re.compile(r"\b[A-Za-z_]\w*\b")
_BINARY: dict[type[ast.operator], Callable[[int, int], int]] = {
    ast.BitOr: lambda a, b: a | b,
    ast.BitAnd: lambda a, b: a & b,
    ast.LShift: lambda a, b: a << b,
    ast.RShift: lambda a, b: a >> b,
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
}
_UNARY: dict[type[ast.unaryop], Callable[[int], int]] = {
    ast.Invert: lambda a: ~a,
    ast.USub: lambda a: -a,
    ast.UAdd: lambda a: a,
}


def _integer_value(node: ast.expr) -> int | None:
    """Compute an integer expression tree of literals and a few operators."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _integer_value(node.left), _integer_value(node.right)
        if left is None or right is None:
            return None
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        operand = _integer_value(node.operand)
        return None if operand is None else _UNARY[type(node.op)](operand)
    return None


def _python_number(match: re.Match[str]) -> str:
    digits = match.group(1)
    if len(digits) > 1 and digits[0] == "0" and digits[1] not in "xX":
        return "0o" + digits[1:]  # C octal
    return digits


def evaluate_macro(name: str, macros: dict[str, str], depth: int = 0) -> int | None:
    """Evaluate an object-like macro to an int, or None if it is no integer."""
    if name not in macros or depth > 20:
        return None
    text = _NUMBER.sub(_python_number, macros[name])
    names = set(_IDENTIFIER.findall(text)) - {"0x", "0o"}
    for identifier in sorted(names, key=len, reverse=True):
        if re.fullmatch(r"0[xo][0-9a-fA-F]+", identifier):
            continue
        value = evaluate_macro(identifier, macros, depth + 1)
        if value is None:
            return None
        text = re.sub(rf"\b{identifier}\b", str(value), text)
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return None
    return _integer_value(tree.body)


def defined_macros(
    source: str, include_dirs: list[str], nostdinc: bool, extra: Sequence[str] = ()
) -> dict[str, str]:
    """Run ``cc -E -dM`` on ``source`` (``extra`` flags too): object-like macro name -> body."""
    assert CC is not None
    command = [CC, "-E", "-dM", *(["-nostdinc"] if nostdinc else []), *extra]
    command += [f"-I{directory}" for directory in include_dirs]
    command += ["-x", "c", "-"]
    result = subprocess.run(
        command, input=source, capture_output=True, text=True, check=True, timeout=60
    )
    macros = {}
    for line in result.stdout.splitlines():
        match = re.match(r"#define (\w+) ?(.*)$", line)
        if match:
            macros[match.group(1)] = match.group(2)
    return macros


# --- This machine -----------------------------------------------------------


def _family(machine: str) -> str:
    try:
        return _flagtables.linux_family(machine)
    except KeyError:
        return machine


class NativeHeaders:
    """What this machine's C headers say: values printed by a compiled program."""

    def __init__(
        self, values: dict[str, int | None], names: set[str], version: tuple[int, int] | None
    ):
        #: C name -> value, or None where the headers lack it.
        self.values = values
        #: Every mmap-family constant the headers define.
        self.names = names
        #: (major, minor) of the Linux uapi headers, None elsewhere.
        self.version = version


def _running_table_names() -> list[str]:
    return sorted(
        c_name(enum_name, name)
        for enum_name, values in flags.PLATFORM_TABLE.items()
        for name in values
    )


@pytest.fixture(scope="module")
def native(tmp_path_factory: pytest.TempPathFactory) -> NativeHeaders:
    """Compile and run a program printing each constant of the running table."""
    if CC is None:
        pytest.skip("no C compiler (cc) on this machine")
    target = subprocess.run(
        [CC, "-dumpmachine"], capture_output=True, text=True, check=False, timeout=60
    ).stdout.strip()
    if sys.platform.startswith("linux") and _family(target.split("-")[0]) != _family(
        os.uname().machine
    ):
        pytest.skip(
            f"cc targets {target}, not this interpreter's {os.uname().machine} "
            "(a foreign-architecture guest, e.g. under qemu-user): its headers are another arch's"
        )
    body = [
        "int main(void) {",
        "#ifdef LINUX_VERSION_CODE",
        '    printf("LINUX_VERSION_CODE %ld\\n", (long)LINUX_VERSION_CODE);',
        "#endif",
    ]
    for name in _running_table_names():
        body += [
            f"#ifdef {name}",
            f'    printf("{name} %lld\\n", (long long)({name}));',
            "#else",
            f'    printf("{name} absent\\n");',
            "#endif",
        ]
    body += ["    return 0;", "}", ""]
    source = _NATIVE_PROGRAM_HEAD + "\n".join(body)
    directory = tmp_path_factory.mktemp("flag_headers")
    (directory / "constants.c").write_text(source, encoding="utf-8")
    subprocess.run(
        [CC, "-o", str(directory / "constants"), str(directory / "constants.c")],
        check=True,
        timeout=120,
    )
    output = subprocess.run(
        [str(directory / "constants")], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    values: dict[str, int | None] = {}
    version = None
    for line in output.splitlines():
        name, _, text = line.partition(" ")
        if name == "LINUX_VERSION_CODE":
            version = _version_from_code(int(text))
        else:
            values[name] = None if text == "absent" else int(text)
    names = {
        name
        for name in defined_macros(_NATIVE_PROGRAM_HEAD, [], nostdinc=False)
        if table_key(name) is not None
    }
    return NativeHeaders(values, names, version)


@pytest.mark.parametrize("name", _running_table_names())
def test_running_table_matches_this_machines_headers(name: str, native: NativeHeaders) -> None:
    value = native.values[name]
    if value is None and header_lacks_it_legitimately(name, native.version):
        pytest.skip(f"{name} is newer than these Linux {native.version} headers")
    assert value is not None, f"{name} is in the table but not in this machine's headers"
    key = table_key(name)
    assert key is not None
    assert flags.PLATFORM_TABLE[key[0]][key[1]] == value


def test_this_machines_headers_define_no_name_the_table_lacks(native: NativeHeaders) -> None:
    missing = set()
    for name in native.names:
        key = table_key(name)
        assert key is not None
        if key[1] not in flags.PLATFORM_TABLE.get(key[0], {}):
            missing.add(name)
    assert not missing


def _stdlib_mmap_names() -> list[str]:
    return sorted(name for name in dir(mmap) if table_key(name) is not None)


@pytest.mark.parametrize("name", _stdlib_mmap_names())
def test_running_table_agrees_with_stdlib_mmap(name: str) -> None:
    key = table_key(name)
    assert key is not None
    table = flags.PLATFORM_TABLE.get(key[0], {})
    assert key[1] in table, f"stdlib mmap has {name}, the table has not"
    assert table[key[1]] == getattr(mmap, name)


def test_stdlib_mmap_comparison_covers_the_basic_constants() -> None:
    names = set(_stdlib_mmap_names())
    assert {"MAP_SHARED", "MAP_PRIVATE", "PROT_READ", "PROT_WRITE"} <= names


# --- Other Linux architectures ----------------------------------------------


def _cross_macros(triplet: str, debian_arch: str) -> dict[str, str]:
    if CC is None:
        pytest.skip("no C compiler (cc) on this machine")
    include = Path("/usr") / triplet / "include"
    if not (include / "asm" / "mman.h").is_file():
        pytest.skip(
            f"no {include}/asm/mman.h: install linux-libc-dev-{debian_arch}-cross "
            "(tools/install-cross-headers.sh)"
        )
    source = (
        "#include <asm/mman.h>\n#include <linux/mman.h>\n#include <asm/fcntl.h>\n"
        "#include <linux/version.h>\n"
    )
    return defined_macros(source, [str(include)], nostdinc=True)


@pytest.mark.parametrize(
    ("machine", "triplet", "debian_arch"), CROSS_HEADERS, ids=[c[0] for c in CROSS_HEADERS]
)
def test_linux_table_matches_kernel_uapi_headers(
    machine: str, triplet: str, debian_arch: str
) -> None:
    macros = _cross_macros(triplet, debian_arch)
    code = evaluate_macro("LINUX_VERSION_CODE", macros)
    version = None if code is None else _version_from_code(code)
    wrong = {}
    absent = set()
    for enum_name, values in _flagtables.table_for("linux", machine).items():
        for name, value in values.items():
            c = c_name(enum_name, name)
            header_value = evaluate_macro(c, macros)
            if header_value is None:
                if c not in _LIBC_ONLY and not header_lacks_it_legitimately(c, version):
                    absent.add(c)
            elif header_value != value:
                wrong[c] = (value, header_value)
    assert not wrong, f"table value, header value: {wrong}"
    assert not absent, f"not in the Linux {version} headers of {triplet}: {sorted(absent)}"


@pytest.mark.parametrize(
    ("machine", "triplet", "debian_arch"), CROSS_HEADERS, ids=[c[0] for c in CROSS_HEADERS]
)
def test_kernel_uapi_headers_define_no_name_the_linux_table_lacks(
    machine: str, triplet: str, debian_arch: str
) -> None:
    macros = _cross_macros(triplet, debian_arch)
    table = _flagtables.table_for("linux", machine)
    missing = set()
    for name in macros:
        key = table_key(name)
        if key is not None and key[1] not in table.get(key[0], {}):
            missing.add(name)
    assert not missing


def test_cross_headers_cover_every_linux_family() -> None:
    families = {_flagtables.linux_family(machine) for machine, _, _ in CROSS_HEADERS}
    assert families == set(_flagtables.LINUX_FAMILIES)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0x20", 0x20),
        ("010", 8),
        ("(1U << 24)", 1 << 24),
        ("OTHER", 0x1000),
        ("((void *)-1)", None),
    ],
)
def test_macro_evaluator_reads_c_integer_expressions(text: str, value: int | None) -> None:
    assert evaluate_macro("X", {"X": text, "OTHER": "0x1000"}) == value


# --- System call numbers ----------------------------------------------------

# The Linux release whose headers first give a call a number on an ABI, for
# the calls newer than Debian's 6.1 headers (everything else is older).
_SYSCALL_SINCE = {"mseal": (6, 10)}
_SYSCALL_SINCE_ON = {("s390x", "memfd_secret"): (6, 5), ("s390", "memfd_secret"): (6, 5)}

# (ABI, Debian triplet of the headers, Debian architecture, cc flags that make
# asm/unistd.h pick that ABI's numbers, as the ABI's own compiler would).
SYSCALL_HEADERS = [
    ("x86_64", "x86_64-linux-gnu", "amd64", ()),
    ("x32", "x86_64-linux-gnu", "amd64", ("-D__ILP32__",)),
    ("i386", "i686-linux-gnu", "i386", ("-D__i386__",)),
    ("arm64", "aarch64-linux-gnu", "arm64", ()),
    ("arm", "arm-linux-gnueabihf", "armhf", ("-D__ARM_EABI__",)),
    ("riscv64", "riscv64-linux-gnu", "riscv64", ()),
    ("s390x", "s390x-linux-gnu", "s390x", ("-D__s390x__",)),
    ("s390", "s390x-linux-gnu", "s390x", ()),
    ("mips_n64", "mips64el-linux-gnuabi64", "mips64el", ("-D_MIPS_SIM=3",)),
    ("mips_n32", "mips64el-linux-gnuabi64", "mips64el", ("-D_MIPS_SIM=2",)),
    ("mips_o32", "mipsel-linux-gnu", "mipsel", ("-D_MIPS_SIM=1",)),
    ("powerpc64", "powerpc64le-linux-gnu", "ppc64el", ("-D__powerpc64__",)),
    ("powerpc", "powerpc-linux-gnu", "powerpc", ()),
    ("sparc64", "sparc64-linux-gnu", "sparc64", ("-D__arch64__",)),
    ("sparc", "sparc64-linux-gnu", "sparc64", ()),
    ("alpha", "alpha-linux-gnu", "alpha", ()),
    ("parisc", "hppa-linux-gnu", "hppa", ("-U__LP64__",)),
    ("parisc64", "hppa-linux-gnu", "hppa", ()),
]


def syscall_is_newer_than(abi: str, name: str, header_version: tuple[int, int] | None) -> bool:
    """Tell whether ``name`` got its number on ``abi`` after Linux ``header_version``."""
    since = _SYSCALL_SINCE_ON.get((abi, name), _SYSCALL_SINCE.get(name))
    return since is not None and header_version is not None and header_version < since


def _syscall_macros(triplet: str, debian_arch: str, flags: Sequence[str]) -> dict[str, str]:
    if CC is None:
        pytest.skip("no C compiler (cc) on this machine")
    include = Path("/usr") / triplet / "include"
    if not (include / "asm" / "unistd.h").is_file():
        pytest.skip(
            f"no {include}/asm/unistd.h: install linux-libc-dev-{debian_arch}-cross "
            "(tools/install-cross-headers.sh)"
        )
    source = "#include <asm/unistd.h>\n#include <linux/version.h>\n"
    return defined_macros(source, [str(include)], nostdinc=True, extra=flags)


def _check_syscalls(
    abi: str, values: dict[str, int | None], version: tuple[int, int] | None
) -> None:
    table = _flagtables.syscalls_for(abi)
    wrong = {}
    absent = set()
    unlisted = set()
    for name in _flagtables.SYSCALL_NAMES:
        header_value = values.get(name)
        if name not in table:
            if header_value is not None:
                unlisted.add(name)
        elif header_value is None:
            if not syscall_is_newer_than(abi, name, version):
                absent.add(name)
        elif header_value != table[name]:
            wrong[name] = (table[name], header_value)
    assert not wrong, f"{abi}: table number, header number: {wrong}"
    assert not absent, f"{abi}: not in the Linux {version} headers: {sorted(absent)}"
    assert not unlisted, f"{abi}: the headers number calls the table lacks: {sorted(unlisted)}"


@pytest.mark.parametrize(
    ("abi", "triplet", "debian_arch", "flags"), SYSCALL_HEADERS, ids=[s[0] for s in SYSCALL_HEADERS]
)
def test_syscall_numbers_match_kernel_uapi_headers(
    abi: str, triplet: str, debian_arch: str, flags: tuple[str, ...]
) -> None:
    macros = _syscall_macros(triplet, debian_arch, flags)
    code = evaluate_macro("LINUX_VERSION_CODE", macros)
    version = None if code is None else _version_from_code(code)
    values = {name: evaluate_macro(f"__NR_{name}", macros) for name in _flagtables.SYSCALL_NAMES}
    # The ABI macros really chose the ABI's file: a number every ABI has
    # differs between them (pkey_mprotect: 329 on x86_64, 380 on i386...).
    assert values["pkey_mprotect"] == _flagtables.syscalls_for(abi)["pkey_mprotect"]
    _check_syscalls(abi, values, version)


def test_syscall_headers_cover_every_abi_but_loongarch_and_riscv32() -> None:
    # Debian 12 ships no loong64 or riscv32 cross headers; both use the
    # asm-generic numbers that arm64 and riscv64 are checked with.
    covered = {abi for abi, _, _, _ in SYSCALL_HEADERS}
    assert set(_flagtables.LINUX_ABIS) - covered == {"loongarch64", "riscv32"}
    generic = _flagtables.syscalls_for("arm64")
    assert _flagtables.syscalls_for("loongarch64") == generic
    assert _flagtables.syscalls_for("riscv32") == generic


@pytest.fixture(scope="module")
def native_syscalls(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[dict[str, int | None], tuple[int, int] | None]:
    """Compile and run a program printing this ABI's numbers from <sys/syscall.h>."""
    if CC is None:
        pytest.skip("no C compiler (cc) on this machine")
    abi = _flagtables.current_abi()
    if abi is None:
        pytest.skip("no system call table for this platform (not Linux)")
    target = subprocess.run(
        [CC, "-dumpmachine"], capture_output=True, text=True, check=False, timeout=60
    ).stdout.strip()
    pointer_bits = 64 if sys.maxsize > 1 << 32 else 32
    multiarch = target.replace("-pc-", "-").replace("-unknown-", "-")
    try:
        target_abi = _flagtables.linux_abi(target.split("-")[0], pointer_bits, multiarch)
    except KeyError:
        target_abi = target
    if target_abi != abi or (target.startswith("x86_64") and pointer_bits == 32):
        pytest.skip(f"cc targets {target}, not this interpreter's {abi} ABI")
    lines = ["#include <stdio.h>", "#include <sys/syscall.h>", "#include <linux/version.h>"]
    lines += [
        "int main(void) {",
        '    printf("LINUX_VERSION_CODE %ld\\n", (long)LINUX_VERSION_CODE);',
    ]
    for name in _flagtables.SYSCALL_NAMES:
        lines += [
            f"#ifdef __NR_{name}",
            f'    printf("{name} %ld\\n", (long)__NR_{name});',
            "#else",
            f'    printf("{name} absent\\n");',
            "#endif",
        ]
    lines += ["    return 0;", "}", ""]
    directory = tmp_path_factory.mktemp("syscall_headers")
    (directory / "numbers.c").write_text("\n".join(lines), encoding="utf-8")
    subprocess.run(
        [CC, "-o", str(directory / "numbers"), str(directory / "numbers.c")],
        check=True,
        timeout=120,
    )
    output = subprocess.run(
        [str(directory / "numbers")], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    values: dict[str, int | None] = {}
    version = None
    for line in output.splitlines():
        name, _, text = line.partition(" ")
        if name == "LINUX_VERSION_CODE":
            version = _version_from_code(int(text))
        else:
            values[name] = None if text == "absent" else int(text)
    return values, version


def test_running_abi_numbers_match_this_machines_headers(
    native_syscalls: tuple[dict[str, int | None], tuple[int, int] | None],
) -> None:
    values, version = native_syscalls
    abi = _flagtables.current_abi()
    assert abi is not None
    _check_syscalls(abi, values, version)
    assert _flagtables.current_syscalls() == _flagtables.syscalls_for(abi)


def test_memfd_secret_cloexec_is_the_stdlib_o_cloexec() -> None:
    from rawmmap.flags import MemfdSecretFlag

    if not hasattr(MemfdSecretFlag, "CLOEXEC"):
        pytest.skip("no memfd_secret flags on this platform")
    assert int(MemfdSecretFlag.CLOEXEC) == os.O_CLOEXEC
