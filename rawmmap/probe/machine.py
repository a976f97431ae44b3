"""Machine facts: where a report was made, read without spawning a process.

Besides the kernel, architecture, C library and Python, a report says
whether the kernel that answered is really this machine's: under
qemu-user the system calls of a foreign-architecture guest are translated
(and some answered) by qemu, under gVisor by a user-space kernel, and in a
virtual machine the kernel is real but the hardware is not. A reader of a
matrix must never take such an answer for a kernel difference, so the
facts name the emulator, and the matrix keeps emulated columns apart.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import sys
import sysconfig

from rawmmap import _foreign, raw

__all__ = [
    "PlatformInfo",
    "cpu_family",
    "cpu_flags",
    "detect_emulation",
    "detect_virtual_machine",
    "platform_info",
    "read_text",
]

# Machine-name prefixes of one CPU family; a 64-bit kernel of a family runs
# the family's 32-bit programs natively (i686 on x86_64, armv7l on aarch64).
_FAMILIES = (
    ("x86", ("x86_64", "amd64", "i386", "i486", "i586", "i686", "x86")),
    ("arm", ("aarch64", "arm64", "arm")),
    ("powerpc", ("ppc", "powerpc")),
    ("s390", ("s390",)),
    ("mips", ("mips",)),
    ("riscv", ("riscv",)),
    ("sparc", ("sparc",)),
    ("loongarch", ("loongarch",)),
)

#: /sys/class/dmi/id/sys_vendor (or product_name) words of virtual machines.
_VM_VENDORS = (
    "QEMU",
    "KVM",
    "VMware",
    "innotek",
    "VirtualBox",
    "Xen",
    "Microsoft Corporation",
    "Amazon EC2",
    "Google",
    "Parallels",
    "BHYVE",
    "Firecracker",
    "Cloud Hypervisor",
)


def read_text(path: str) -> str | None:
    """Return the stripped text of a small file, or None when it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return file.read().strip()
    except OSError:
        return None


def cpu_family(machine: str) -> str:
    """Return the CPU family of a ``uname -m`` string (the string itself if unknown)."""
    machine = machine.lower()
    for family, prefixes in _FAMILIES:
        if machine.startswith(prefixes):
            return family
    return machine


def detect_emulation(machine: str | None = None, kernel_machine: str | None = None) -> str:
    """Name the emulator whose answers the probe gets: "qemu-user", "gVisor" or "".

    qemu-user rewrites ``uname -m`` to the guest's machine but not
    ``/proc/sys/kernel/arch`` (the kernel's, Linux 6.1+), so two CPU
    families mean qemu-user; ``RAWMMAP_UNDER_QEMU=1``/``0`` overrides that
    test (``0`` still lets gVisor be recognised).
    gVisor announces itself in /proc/version or its made-up boot log.
    """
    setting = os.environ.get("RAWMMAP_UNDER_QEMU", "")
    if setting == "1":
        return "qemu-user"
    if setting != "0":
        # "0" says "not qemu-user" only: a sandbox is still looked for below
        # (tools/platforms sets 0 for its gVisor target too).
        machine = machine if machine is not None else os.uname().machine
        if kernel_machine is None:
            kernel_machine = read_text("/proc/sys/kernel/arch")
        if kernel_machine and cpu_family(kernel_machine) != cpu_family(machine):
            return "qemu-user"
    version = read_text("/proc/version") or ""
    # gVisor's /proc/version is a fixed made-up line (4.4.0, Jan 10 2016).
    if "gvisor" in version.lower() or "Sun Jan 10 15:06:54 PST 2016" in version:
        return "gVisor"
    return ""


def cpu_flags(cpuinfo: str | None = None) -> list[str]:
    """Return the CPU feature flags of the first processor in /proc/cpuinfo."""
    text = cpuinfo if cpuinfo is not None else read_text("/proc/cpuinfo") or ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features", "features"):
            return value.split()
    return []


def detect_virtual_machine(flags: list[str] | None = None) -> str:
    """Say whether the kernel runs in a virtual machine, and how that shows; else ""."""
    for name in ("sys_vendor", "product_name"):
        vendor = read_text(f"/sys/class/dmi/id/{name}") or ""
        for word in _VM_VENDORS:
            if word.lower() in vendor.lower():
                return vendor
    hypervisor = read_text("/sys/hypervisor/type")
    if hypervisor:
        return hypervisor
    if "hypervisor" in (flags if flags is not None else cpu_flags()):
        return "yes (hypervisor CPU flag)"
    return ""


def _libc_name_and_version() -> tuple[str, str]:
    # glibc answers confstr(_CS_GNU_LIBC_VERSION) with "glibc 2.36"; musl
    # and the BSDs do not know the name.
    try:
        answer = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError, AttributeError):
        answer = None
    if answer:
        name, _, version = answer.partition(" ")
        return name, version
    if sys.platform == "darwin":
        return "libSystem", platform.mac_ver()[0]
    if _foreign.is_musl():
        # musl exports no version call; its loader prints it, but running
        # it would spawn a process for one header line.
        return "musl", ""
    name, version = platform.libc_ver()
    return name, version


def _bracketed(text: str | None) -> str:
    # "always [madvise] never" -> "madvise"
    if not text:
        return ""
    for word in text.split():
        if word.startswith("[") and word.endswith("]"):
            return word[1:-1]
    return text


def _memlock_limit() -> str:
    try:
        import resource
    except ImportError:  # pragma: no cover - every POSIX Python has resource
        return ""
    soft, _ = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    return "unlimited" if soft == resource.RLIM_INFINITY else str(soft)


def _free_threaded() -> bool:
    # The build (3.13t and later), whether or not the GIL was re-enabled.
    return bool(sysconfig.get_config_var("Py_GIL_DISABLED"))


@dataclasses.dataclass(frozen=True)
class PlatformInfo:
    """Where a report was made: the header of the table and of the JSON.

    The first nine fields are schema version 1's; the others came with
    version 2 and have defaults, so version 1 reports still load.
    """

    os: str
    kernel_release: str
    architecture: str
    libc: str
    libc_version: str
    page_size: int
    pointer_bits: int
    python_implementation: str
    python_version: str
    #: The kernel's own machine (/proc/sys/kernel/arch), "" when unknown.
    kernel_architecture: str = ""
    #: "qemu-user", "gVisor" or "" (the answers are this kernel's own).
    emulation: str = ""
    #: The hypervisor's vendor or how one shows; "" on bare metal or unknown.
    virtual_machine: str = ""
    #: True on a free-threaded CPython build (Py_GIL_DISABLED).
    free_threaded: bool = False
    #: /sys/kernel/mm/transparent_hugepage/enabled, the selected word.
    thp_mode: str = ""
    #: /proc/sys/vm/overcommit_memory: "0" heuristic, "1" always, "2" never.
    overcommit_memory: str = ""
    #: The soft RLIMIT_MEMLOCK in bytes, or "unlimited".
    memlock_limit: str = ""
    #: The CPU has memory protection keys (x86 "pku" flag).
    pku: bool = False
    #: The probe ran with uid 0 (some answers change: mmap_min_addr, mlock).
    root: bool = False

    def kernel_version(self) -> tuple[int, ...]:
        """Return the leading numbers of the kernel release: (6, 1, 0)."""
        numbers: list[int] = []
        for part in self.kernel_release.split("."):
            digits = ""
            for character in part:
                if not character.isdigit():
                    break
                digits += character
            if not digits:
                break
            numbers.append(int(digits))
            if len(digits) != len(part):
                break
        return tuple(numbers)

    @property
    def libc_text(self) -> str:
        """The C library and its version, or "unknown"."""
        return " ".join(part for part in (self.libc, self.libc_version) if part) or "unknown"

    @property
    def kernel_text(self) -> str:
        """The kernel, saying whose answers they are when it is emulated."""
        text = f"{self.os} {self.kernel_release}"
        if self.emulation:
            host = self.kernel_architecture or "host"
            return f"{self.emulation} on {text} ({host})"
        return text

    @property
    def python_text(self) -> str:
        """The Python implementation and version, and whether free-threaded."""
        text = f"{self.python_implementation} {self.python_version}"
        return text + (" free-threaded" if self.free_threaded else "")


def platform_info() -> PlatformInfo:
    """Describe the running platform (no process is spawned)."""
    libc, libc_version = _libc_name_and_version()
    flags = cpu_flags()
    kernel_architecture = read_text("/proc/sys/kernel/arch") or ""
    return PlatformInfo(
        os=platform.system(),
        kernel_release=platform.release(),
        architecture=platform.machine(),
        libc=libc,
        libc_version=libc_version,
        page_size=raw.page_size(),
        pointer_bits=raw.POINTER_BITS,
        python_implementation=platform.python_implementation(),
        python_version=platform.python_version(),
        kernel_architecture=kernel_architecture,
        emulation=detect_emulation(kernel_machine=kernel_architecture or None),
        virtual_machine=detect_virtual_machine(flags),
        free_threaded=_free_threaded(),
        thp_mode=_bracketed(read_text("/sys/kernel/mm/transparent_hugepage/enabled")),
        overcommit_memory=read_text("/proc/sys/vm/overcommit_memory") or "",
        memlock_limit=_memlock_limit(),
        pku="pku" in flags,
        root=hasattr(os, "geteuid") and os.geteuid() == 0,
    )
