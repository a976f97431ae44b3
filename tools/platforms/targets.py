"""The targets: which Debian packages make each platform, and how it is run.

Kinds:

- ``loader``: the rootfs's CPython started natively through the rootfs's
  own dynamic loader (amd64 releases newer than the host's; i386 under
  ``setarch i686``, a real 32-bit process on the x86_64 kernel).
- ``qemu``: a foreign-architecture CPython under qemu-user (static,
  ``-L ROOT``; no chroot, no binfmt_misc).
- ``gvisor``: a ``loader`` rootfs run inside gVisor (``runsc do``), whose
  Sentry is a second implementation of the Linux system-call API.
- ``kernel``: the amd64 rootfs in an initramfs, booted with another
  release's Linux kernel under qemu-system-x86_64 (TCG); see kernel.py.
- ``source``: a CPython Debian does not ship (free-threaded; against musl
  for ``libc="musl"``), built once from the upstream tarball of the suite's
  source package; see build.py and musl.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["QEMU", "TARGETS", "Target", "ci_targets", "get_target"]

#: Where qemu-user and gVisor come from: (suite, package).
QEMU = ("trixie", "qemu-user")
RUNSC = ("bookworm", "runsc")

#: Debian arch -> (qemu-user target, GNU triplet, ELF interpreter under the root).
_ARCHES: dict[str, tuple[str | None, str, str]] = {
    "amd64": (None, "x86_64-linux-gnu", "lib64/ld-linux-x86-64.so.2"),
    "i386": (None, "i386-linux-gnu", "lib/ld-linux.so.2"),
    "arm64": ("aarch64", "aarch64-linux-gnu", "lib/ld-linux-aarch64.so.1"),
    "armhf": ("arm", "arm-linux-gnueabihf", "lib/ld-linux-armhf.so.3"),
    "ppc64el": ("ppc64le", "powerpc64le-linux-gnu", "lib64/ld64.so.2"),
    "s390x": ("s390x", "s390x-linux-gnu", "lib/ld64.so.1"),
    "mips64el": ("mips64el", "mips64el-linux-gnuabi64", "lib64/ld.so.1"),
    "mipsel": ("mipsel", "mipsel-linux-gnu", "lib/ld.so.1"),
    "riscv64": ("riscv64", "riscv64-linux-gnu", "lib/ld-linux-riscv64-lp64d.so.1"),
    "loong64": ("loongarch64", "loongarch64-linux-gnu", "lib64/ld-linux-loongarch-lp64d.so.1"),
}

#: Test tools every guest gets (pure Python, shared by all CPython versions).
TEST_PACKAGES = ("python3-pytest", "python3-hypothesis")


@dataclass(frozen=True)
class Target:
    """One platform: a CPython from Debian packages and how to run it."""

    name: str
    kind: str
    arch: str
    suites: tuple[str, ...]
    python: str
    description: str
    ci: bool = False
    extra_packages: tuple[str, ...] = field(default=())
    #: For ``kernel`` targets: the Debian release whose cloud kernel boots.
    kernel_suite: str = ""
    #: For ``source`` targets: CPython's configure options (build.py).
    configure: tuple[str, ...] = field(default=())
    #: For ``source`` targets: the C library built against ("glibc": the host's).
    libc: str = "glibc"

    @property
    def packages(self) -> list[str]:
        """The Debian packages of the rootfs (apt adds their dependencies)."""
        return [
            f"python{self.python}-minimal",
            f"libpython{self.python}-stdlib",
            *TEST_PACKAGES,
            *self.extra_packages,
        ]

    @property
    def qemu_target(self) -> str | None:
        """qemu-user's name for the CPU (None: runs natively)."""
        return _ARCHES[self.arch][0] if self.kind == "qemu" else None

    @property
    def triplet(self) -> str:
        """The multiarch directory name of the libraries."""
        return _ARCHES[self.arch][1]

    @property
    def interpreter(self) -> str:
        """The ELF interpreter (ld.so), relative to the rootfs."""
        return _ARCHES[self.arch][2]

    @property
    def rootfs_key(self) -> str:
        """Targets with the same key share one rootfs (gVisor reuses a loader's)."""
        key = f"{self.arch}-{'+'.join(self.suites)}-python{self.python}"
        if self.kind == "source":
            key += "-built" + "".join("-" + option.lstrip("-") for option in self.configure)
            if self.libc != "glibc":
                key += f"-{self.libc}"
        return key


def _qemu(name: str, arch: str, suite: str, python: str, note: str, *, ci: bool = False) -> Target:
    return Target(name, "qemu", arch, (suite,), python, f"{note}, qemu-user", ci=ci)


TARGETS: list[Target] = [
    Target(
        "cpython3.14",
        "loader",
        "amd64",
        ("sid",),
        "3.14",
        "x86_64, Debian sid CPython 3.14 through its own ld.so",
        ci=True,
    ),
    Target(
        "cpython3.15",
        "loader",
        "amd64",
        ("sid",),
        "3.15",
        "x86_64, Debian sid CPython 3.15 through its own ld.so",
        ci=True,
    ),
    Target(
        "i386",
        "loader",
        "i386",
        ("bookworm",),
        "3.11",
        "i386 (32-bit), bookworm CPython 3.11, native under setarch i686",
        ci=True,
    ),
    _qemu("arm64", "arm64", "bookworm", "3.11", "aarch64, bookworm CPython 3.11"),
    _qemu("armhf", "armhf", "bookworm", "3.11", "armv7l (32-bit), bookworm CPython 3.11"),
    _qemu("ppc64el", "ppc64el", "bookworm", "3.11", "ppc64le, bookworm CPython 3.11"),
    _qemu(
        "s390x", "s390x", "bookworm", "3.11", "s390x (big-endian), bookworm CPython 3.11", ci=True
    ),
    _qemu("mips64el", "mips64el", "bookworm", "3.11", "mips64el, bookworm CPython 3.11"),
    _qemu("mipsel", "mipsel", "bookworm", "3.11", "mipsel (32-bit), bookworm CPython 3.11"),
    _qemu("riscv64", "riscv64", "trixie", "3.13", "riscv64, trixie CPython 3.13"),
    _qemu("loong64", "loong64", "sid", "3.14", "loongarch64, sid CPython 3.14"),
    Target(
        "gvisor",
        "gvisor",
        "amd64",
        ("bookworm",),
        "3.11",
        "gVisor (bookworm runsc), bookworm CPython 3.11 inside it",
        # A second implementation of the Linux API: its differences are
        # capability skips in tests/emulation.py and probe findings.
        ci=True,
    ),
    Target(
        "cpython3.13t",
        "source",
        "amd64",
        ("trixie",),
        "3.13",
        "x86_64, free-threaded CPython 3.13t built from trixie's source (--disable-gil)",
        configure=("--disable-gil",),
    ),
    Target(
        "musl-x86_64",
        "source",
        "amd64",
        ("trixie",),
        "3.13",
        "x86_64, CPython 3.13 built from trixie's source against trixie's musl 1.2.5",
        libc="musl",
    ),
    Target(
        "musl-i386",
        "source",
        "i386",
        ("trixie",),
        "3.13",
        "i386 (32-bit), CPython 3.13 built from trixie's source against musl 1.2.5, setarch i686",
        libc="musl",
    ),
    Target(
        "linux5.10",
        "kernel",
        "amd64",
        ("bookworm",),
        "3.11",
        "Linux 5.10 (bullseye cloud kernel) under qemu-system TCG, bookworm CPython 3.11",
        kernel_suite="bullseye",
    ),
    Target(
        "linux6.1",
        "kernel",
        "amd64",
        ("bookworm",),
        "3.11",
        "Linux 6.1 (bookworm cloud kernel) under qemu-system TCG, bookworm CPython 3.11",
        kernel_suite="bookworm",
    ),
    Target(
        "linux6.12",
        "kernel",
        "amd64",
        ("bookworm",),
        "3.11",
        "Linux 6.12 (trixie cloud kernel) under qemu-system TCG, bookworm CPython 3.11",
        kernel_suite="trixie",
    ),
    Target(
        "linux-sid",
        "kernel",
        "amd64",
        ("bookworm",),
        "3.11",
        "the newest Debian kernel (sid cloud) under qemu-system TCG, bookworm CPython 3.11",
        kernel_suite="sid",
    ),
]


def get_target(name: str) -> Target:
    """Return the target called ``name``.

    Raises:
        KeyError: no such target (the message lists them).
    """
    for target in TARGETS:
        if target.name == name:
            return target
    raise KeyError(f"no target {name!r} (known: {', '.join(t.name for t in TARGETS)})")


def ci_targets() -> list[Target]:
    """The targets CI runs: cheap enough to set up from nothing on every run."""
    return [target for target in TARGETS if target.ci]
