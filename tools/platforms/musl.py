"""A musl toolchain from Debian packages, for building CPython against musl.

No registry ships a musl CPython that installs without downloading from
elsewhere, so the ``musl-*`` targets build one (see build.py) with this
toolchain, all from the suite's packages and sources:

1. the suite's ``musl`` and ``musl-dev`` of the target's architecture,
   unpacked with ``dpkg -x`` into ``ROOT/musl``;
2. their ``musl-gcc.specs`` rewritten so the headers, the start files, the
   libraries and the dynamic linker are the tree's (``-m elf_i386`` for
   32-bit, since the specs replace gcc's own link line);
3. the host's kernel headers (``linux``, ``asm-generic``, ``asm``)
   symlinked into the tree's include directory, which is on the specs' path;
4. ``ROOT/musl/bin/musl-gcc``, a wrapper of the host's gcc (``-m32`` for
   i386) with those specs, which answers ``--print-multiarch`` with the musl
   triplet: CPython's configure stops with "internal configure error for
   the platform triplet" when the compiler names the glibc one;
5. static ``-fPIC`` libffi (ctypes) and zlib, built with that compiler from
   the suite's sources into ``ROOT/musl/deps``.

The host needs ``gcc``, ``make``, ``autoconf automake libtool texinfo``
``libltdl-dev`` (libffi's ``autoreconf -fi``) and, for i386, ``gcc-multilib``; the missing
ones are installed with the host's ``apt-get``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .debian import PrivateApt, extract, log

__all__ = [
    "HOST_PACKAGES",
    "Toolchain",
    "compiler_wrapper_text",
    "ensure_host_packages",
    "host_packages",
    "install_toolchain",
    "musl_triplet",
    "pip_platform",
    "rewrite_specs",
]

#: Host packages the musl build needs (gcc-multilib only for 32-bit x86).
#: libffi's upstream tarball has no configure: ``autoreconf -fi`` needs
#: libltdl-dev too (its ltdl.m4 defines LT_SYS_SYMBOL_USCORE).
HOST_PACKAGES = ("autoconf", "automake", "libtool", "libltdl-dev", "texinfo")

#: Debian arch -> (musl multiarch triplet, GNU build/host triplet, gcc flag,
#: ld emulation, musllinux wheel platform).
_MUSL: dict[str, tuple[str, str, str, str, str]] = {
    "amd64": ("x86_64-linux-musl", "x86_64-pc-linux-musl", "", "", "musllinux_1_2_x86_64"),
    "i386": ("i386-linux-musl", "i686-pc-linux-musl", "-m32", "elf_i386", "musllinux_1_2_i686"),
}

#: The source packages of the static libraries, in build order.
LIBRARIES = ("libffi", "zlib")


@dataclass(frozen=True)
class Toolchain:
    """How build.py compiles against musl: compiler, environment, configure options."""

    arch: str
    #: The tree the musl packages are unpacked in.
    tree: Path
    #: Environment additions for CPython's configure and make.
    environment: dict[str, str] = field(default_factory=dict)
    #: Extra configure options (CC, CXX, --build/--host).
    configure: tuple[str, ...] = ()
    #: What every build command is started under (``setarch i686``).
    launcher: tuple[str, ...] = ()

    @property
    def compiler(self) -> Path:
        """The musl-gcc wrapper."""
        return self.tree / "bin" / "musl-gcc"

    @property
    def deps(self) -> Path:
        """The prefix of the static libffi and zlib."""
        return self.tree / "deps"


def musl_triplet(arch: str) -> str:
    """The multiarch triplet musl-dev uses for ``arch`` (x86_64-linux-musl ...).

    Raises:
        KeyError: no musl target for this architecture.
    """
    return _MUSL[arch][0]


def pip_platform(arch: str) -> str:
    """The musllinux wheel platform of ``arch`` (musllinux_1_2_x86_64 ...)."""
    return _MUSL[arch][4]


def host_packages(arch: str) -> tuple[str, ...]:
    """The host packages a musl build for ``arch`` needs."""
    return HOST_PACKAGES + (("gcc-multilib",) if arch == "i386" else ())


def _installed(package: str) -> bool:
    """Whether the host's dpkg has ``package`` installed."""
    result = subprocess.run(
        ["dpkg-query", "-W", "-f", "${db:Status-Status}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode == 0 and result.stdout.strip() == "installed"


def ensure_host_packages(packages: Sequence[str]) -> list[str]:
    """Install the ``packages`` the host lacks with its own apt-get; return them.

    Raises:
        RuntimeError: apt-get could not install them.
    """
    missing = [package for package in packages if not _installed(package)]
    if not missing:
        return []
    log(f"installing host build tools with apt-get: {' '.join(missing)} ...")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "-qq", "--no-install-recommends"]
    command += ["-o", "DPkg::Lock::Timeout=600", *missing]
    result = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    if result.returncode != 0:
        # Stale package lists: read them again once.
        subprocess.run(
            ["apt-get", "update", "-qq"], capture_output=True, env=environment, check=False
        )
        result = subprocess.run(
            command, capture_output=True, text=True, env=environment, check=False
        )
    if result.returncode != 0:
        raise RuntimeError(
            f"apt-get install {' '.join(missing)} failed:\n{result.stderr.strip()[-1500:]}"
        )
    return missing


def rewrite_specs(text: str, tree: Path, emulation: str = "") -> str:
    """musl-gcc.specs with its absolute paths moved into ``tree``.

    The Debian specs name ``/usr/include/TRIPLET``, ``/usr/lib/TRIPLET`` and
    the dynamic linker ``/lib/ld-musl-ARCH.so.1``; the packages are unpacked
    under ``tree`` instead (the linker is ``tree/usr/lib/ld-musl-ARCH.so.1``,
    where ``dpkg -x`` puts it). ``emulation`` (``elf_i386``) goes first on the
    link line: the specs replace gcc's own, which would have passed it.
    """
    prefix = str(tree)
    text = text.replace("-dynamic-linker /lib/", f"-dynamic-linker {prefix}/usr/lib/")
    for before in (" /usr/", "-L/usr/", ":/usr/"):
        text = text.replace(before, before.replace("/usr/", f"{prefix}/usr/"))
    if emulation:
        text = text.replace("*link:\n", f"*link:\n-m {emulation} ", 1)
    return text


def compiler_wrapper_text(specs: Path, triplet: str, flag: str = "") -> str:
    """The ``musl-gcc`` shell wrapper: the host's gcc with ``specs``.

    ``--print-multiarch`` is answered with ``triplet`` (gcc would name the
    glibc one, and CPython's configure compares the two).
    """
    flags = f" {flag}" if flag else ""
    return (
        "#!/bin/sh\n"
        "# gcc against musl (tools/platforms/musl.py)\n"
        'for argument in "$@"; do\n'
        f'    [ "$argument" = --print-multiarch ] && {{ echo {triplet}; exit 0; }}\n'
        "done\n"
        f'exec "${{REALGCC:-gcc}}"{flags} "$@" -specs "{specs}"\n'
    )


def _kernel_headers(include: Path) -> None:
    """Symlink the host's kernel headers into the musl include directory."""
    host = Path("/usr/include")
    gnu_asm = host / "x86_64-linux-gnu" / "asm"  # bi-arch: i386 and x86_64
    for name, source in (
        ("linux", host / "linux"),
        ("asm-generic", host / "asm-generic"),
        ("asm", gnu_asm if gnu_asm.is_dir() else host / "asm"),
    ):
        if not source.is_dir():
            raise RuntimeError(f"the host has no kernel headers at {source} (linux-libc-dev)")
        link = include / name
        if link.is_symlink() or link.exists():
            continue
        link.symlink_to(source)


def install_toolchain(
    tree: Path,
    apt: PrivateApt,
    suite: str,
    run: Callable[[Sequence[str], Path, dict[str, str]], None],
    sources: Callable[[str], Path],
) -> Toolchain:
    """Unpack musl into ``tree``, write its compiler and build libffi and zlib there.

    ``apt`` is a private apt for the target's architecture (lists already
    updated); ``run(command, cwd, environment)`` runs a build step (and logs
    it); ``sources(package)`` returns the unpacked source tree of a source
    package of the suite.

    Raises:
        RuntimeError: a download, a host tool or a build step failed.
    """
    arch = apt.arch
    triplet, gnu, flag, emulation, _ = _MUSL[arch]
    ensure_host_packages(host_packages(arch))
    shutil.rmtree(tree, ignore_errors=True)
    debs = [apt.fetch_one(f"{package}/{suite}", tree / "debs") for package in ("musl", "musl-dev")]
    extract(debs, tree)
    shutil.rmtree(tree / "debs", ignore_errors=True)
    specs = tree / "usr" / "lib" / triplet / "musl-gcc.specs"
    if not specs.exists():
        raise RuntimeError(f"musl-dev of {suite} has no {specs.relative_to(tree)}")
    specs.write_text(rewrite_specs(specs.read_text(encoding="utf-8"), tree, emulation), "utf-8")
    include = tree / "usr" / "include" / triplet
    _kernel_headers(include)
    compiler = tree / "bin" / "musl-gcc"
    compiler.parent.mkdir(parents=True, exist_ok=True)
    compiler.write_text(compiler_wrapper_text(specs, triplet, flag), encoding="utf-8")
    compiler.chmod(0o755)
    launcher = ("setarch", "i686") if arch == "i386" else ()
    toolchain = Toolchain(arch, tree, launcher=launcher)
    deps = toolchain.deps
    base = {
        **os.environ,
        "CC": str(compiler),
        "CFLAGS": "-O2 -fPIC",
        "PKG_CONFIG_LIBDIR": str(tree / "no-pkgconfig"),
    }
    (tree / "no-pkgconfig").mkdir(exist_ok=True)
    host = [f"--build={gnu}", f"--host={gnu}"]
    log(f"building static libffi and zlib against musl ({triplet}) ...")
    libffi = sources("libffi")
    run(["autoreconf", "-fi"], libffi, base)
    run(
        [
            *launcher,
            "./configure",
            f"--prefix={deps}",
            f"--libdir={deps}/lib",
            "--disable-shared",
            "--enable-static",
            "--with-pic",
            "--disable-docs",
            "--disable-multi-os-directory",
            *host,
        ],
        libffi,
        base,
    )
    run([*launcher, "make", f"-j{os.cpu_count() or 1}"], libffi, base)
    run([*launcher, "make", "install"], libffi, base)
    zlib = sources("zlib")
    run([*launcher, "./configure", f"--prefix={deps}", "--static"], zlib, base)
    run([*launcher, "make", f"-j{os.cpu_count() or 1}", "libz.a"], zlib, base)
    run([*launcher, "make", "install"], zlib, base)
    environment = {
        "PKG_CONFIG_LIBDIR": base["PKG_CONFIG_LIBDIR"],
        "LIBFFI_CFLAGS": f"-I{deps}/include",
        "LIBFFI_LIBS": f"{deps}/lib/libffi.a",
        "ZLIB_CFLAGS": f"-I{deps}/include",
        "ZLIB_LIBS": f"{deps}/lib/libz.a",
    }
    configure = ("CXX=false", f"CC={compiler}", *host)
    return Toolchain(arch, tree, environment, configure, launcher)
