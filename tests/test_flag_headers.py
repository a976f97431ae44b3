"""The flag tables against real C headers and against the stdlib ``mmap`` module.

* This machine: a tiny C program, compiled with ``cc`` against
  ``<sys/mman.h>`` (and on Linux ``<linux/mman.h>``), prints every constant
  of the running table; values must match, and the headers may define no
  name the table lacks.
* Other Linux architectures: the kernel uapi headers of each one, as Debian
  installs them under ``/usr/<triplet>/include`` (``linux-libc-dev-*-cross``;
  ``tools/install-cross-headers.sh`` installs them), read with ``cc -E -dM``.

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
from collections.abc import Callable
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
}
_RENAMED = {"BIT32": "32BIT"}

# Header names the tables leave out on purpose (see rawmmap/_flagtables.py):
# masks and encodings, MAP_FAILED, placeholders, obsolete zero or alias
# names, function-like macros, and the kernel-only MAP_32BIT_MAX_ADDR.
_LEFT_OUT = re.compile(
    r"MAP_(TYPE|FAILED|HUGE_SHIFT|HUGE_MASK|VARIABLE|COPY|RESERVED\w*|ALIGNED|ALIGNMENT_\w+"
    r"|32BIT_MAX_ADDR)|PROT_(MAX\w*|EXTRACT)"
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
    return PREFIXES[enum_name] + _RENAMED.get(name, name)


def table_key(name: str) -> tuple[str, str] | None:
    """Return (enum name, table name) for a C constant, or None if no table has it."""
    if _LEFT_OUT.fullmatch(name):
        return None
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


def defined_macros(source: str, include_dirs: list[str], nostdinc: bool) -> dict[str, str]:
    """Run ``cc -E -dM`` on ``source``: object-like macro name -> body."""
    assert CC is not None
    command = [CC, "-E", "-dM", *(["-nostdinc"] if nostdinc else [])]
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
    source = "#include <asm/mman.h>\n#include <linux/mman.h>\n#include <linux/version.h>\n"
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
