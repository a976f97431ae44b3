"""Boot another Linux kernel under qemu-system (TCG) and run the suite there.

Everything comes from Debian packages: the kernel (``linux-image-*-cloud-amd64``
of the kernel's release), qemu-system-x86 (unpacked privately and run
through its own ld.so, like the ``loader`` targets), busybox-static, and the
amd64 CPython rootfs. The initramfs (a newc cpio written here) holds that
rootfs, busybox, a copy of the project and an ``/init`` that mounts
proc/sys/devtmpfs and tmpfs on /dev/shm and /tmp, runs the suite and the
probe, prints both between markers on the serial console and powers off.
No disk, no modules: the cloud kernels have what this needs built in.
KVM is not used (guests hang here); TCG runs a 5 minute suite.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path
from typing import BinaryIO

from .aptsources import Mirror
from .debian import PrivateApt, extract, log, make_symlinks_relative, merge_usr

__all__ = ["INIT", "build_initramfs", "parse_console", "qemu_system", "vmlinuz"]

#: Markers around what /init prints on the console.
BEGIN = "@@platforms:{}:begin@@"
END = "@@platforms:{}:end {}@@"

INIT = """#!/bin/busybox sh
/bin/busybox mkdir -p /bin /proc /sys /dev /tmp /root
/bin/busybox --install -s /bin
export PATH=/usr/bin:/bin HOME=/root PYTHONNOUSERSITE=1 RAWMMAP_UNDER_QEMU=0 TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/shm
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp
cd /project
for step in about pytest probe; do
    echo "@@platforms:$step:begin@@"
    case $step in
        about) python{python} -c "$(cat /platforms-about.py)" ;;
        pytest) python{python} -m pytest -q -p no:cacheprovider --color=no -rfEs {pytest_args} ;;
        probe) python{python} -m rawmmap probe --json ;;
    esac
    echo "@@platforms:$step:end $?@@"
done
sync
poweroff -f
"""

#: What the project copy leaves out.
_SKIPPED_NAMES = {
    ".git",
    "__pycache__",
    ".tox",
    ".mypy_cache",
    ".ruff_cache",
    ".hypothesis",
    ".pytest_cache",
    ".venv",
    ".ci-venv",
    "build",
    "dist",
    "htmlcov",
}


def vmlinuz(directory: Path, suite: str, arch_package: str, mirror: Mirror) -> tuple[Path, str]:
    """Fetch the newest cloud kernel of ``suite`` into ``directory``; return (path, version)."""
    found = sorted(directory.glob("vmlinuz-*"))
    if found:
        return found[-1], found[-1].name[len("vmlinuz-") :]
    apt = PrivateApt(directory / "apt", "amd64", [suite], mirror)
    apt.update()
    depends = subprocess.run(
        ["apt-cache", *apt.options, "depends", arch_package],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    match = re.search(r"Depends: (linux-image-\S+)", depends)
    if not match:
        raise RuntimeError(f"{arch_package} in {suite} names no linux-image package")
    package = match.group(1)
    with tempfile.TemporaryDirectory(dir=directory) as scratch:
        deb = apt.fetch_one(package, Path(scratch))
        tree = Path(scratch) / "tree"
        extract([deb], tree)
        found_images = _images(tree)
        if not found_images:
            # sid splits the image package: the kernel is in linux-binary-*,
            # as /usr/lib/modules/VERSION/vmlinuz.
            binary = "linux-binary-" + package[len("linux-image-") :]
            extract([apt.fetch_one(binary, Path(scratch))], tree)
            found_images = _images(tree)
        if not found_images:
            raise RuntimeError(f"{package} has no /boot/vmlinuz-* nor usr/lib/modules/*/vmlinuz")
        version, source = found_images[-1]
        shutil.copy(source, directory / f"vmlinuz-{version}")
    shutil.rmtree(apt.directory, ignore_errors=True)
    return directory / f"vmlinuz-{version}", version


def _images(tree: Path) -> list[tuple[str, Path]]:
    """(version, path) of the kernel images in an unpacked package tree."""
    found = [(path.name[len("vmlinuz-") :], path) for path in (tree / "boot").glob("vmlinuz-*")]
    found += [(path.parent.name, path) for path in tree.glob("usr/lib/modules/*/vmlinuz")]
    return sorted(found)


def qemu_system(directory: Path, mirror: Mirror) -> list[str]:
    """Unpack bookworm's qemu-system-x86 (once); return the command that starts it."""
    root = directory / "root"
    stamp = directory / ".stamp"
    if not stamp.exists():
        log("unpacking qemu-system-x86 from bookworm (once) ...")
        apt = PrivateApt(directory / "apt", "amd64", ["bookworm"], mirror)
        apt.update()
        debs = apt.download(["qemu-system-x86", "busybox-static"])
        shutil.rmtree(root, ignore_errors=True)
        extract(debs, root)
        merge_usr(root)
        make_symlinks_relative(root)
        shutil.rmtree(apt.directory, ignore_errors=True)
        stamp.write_text("qemu-system-x86 bookworm\n", encoding="ascii")
    libraries = f"{root}/lib/x86_64-linux-gnu:{root}/usr/lib/x86_64-linux-gnu"
    # The accelerator is a loadable module and the BIOS lives in seabios's
    # directory: both are found under the private root, not /usr.
    return [
        "env",
        f"QEMU_MODULE_DIR={root}/usr/lib/x86_64-linux-gnu/qemu",
        str(root / "lib64/ld-linux-x86-64.so.2"),
        "--library-path",
        libraries,
        str(root / "usr/bin/qemu-system-x86_64"),
        "-L",
        str(root / "usr/share/qemu"),
        "-L",
        str(root / "usr/share/seabios"),
    ]


class _Cpio:
    """A newc ("070701") cpio archive, as the kernel unpacks into its rootfs."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.inode = 1
        self.names: set[str] = set()

    def _entry(self, name: str, mode: int, data: bytes, mtime: int = 0) -> None:
        encoded = name.encode() + b"\0"
        fields = [self.inode, mode, 0, 0, 1, mtime, len(data), 0, 0, 0, 0, len(encoded), 0]
        self.inode += 1
        header = b"070701" + b"".join(b"%08X" % value for value in fields)
        self.out.write(header + encoded + b"\0" * (-(len(header) + len(encoded)) % 4))
        self.out.write(data + b"\0" * (-len(data) % 4))

    def add_tree(self, source: Path, prefix: str) -> None:
        """Add ``source`` (directories, files, symlinks) under ``prefix``."""
        for directory, dirnames, filenames in os.walk(source):
            dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED_NAMES)
            relative = os.path.relpath(directory, source)
            base = prefix if relative == "." else f"{prefix}/{relative}".lstrip("/")
            for name in [*dirnames, *sorted(filenames)]:
                path = Path(directory) / name
                self.add_path(path, f"{base}/{name}".lstrip("/"))

    def add_path(self, path: Path, name: str) -> None:
        if name in self.names:
            return
        self.names.add(name)
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            self._entry(name, info.st_mode, os.readlink(path).encode())
        elif stat.S_ISDIR(info.st_mode):
            self._entry(name, info.st_mode, b"")
        elif stat.S_ISREG(info.st_mode):
            self._entry(name, info.st_mode, path.read_bytes(), int(info.st_mtime))

    def add_directory(self, name: str) -> None:
        if name not in self.names:
            self.names.add(name)
            self._entry(name, stat.S_IFDIR | 0o755, b"")

    def add_file(self, name: str, data: bytes, mode: int = 0o755) -> None:
        self.names.add(name)
        self._entry(name, stat.S_IFREG | mode, data)

    def close(self) -> None:
        self._entry("TRAILER!!!", 0, b"")


def build_initramfs(
    destination: Path, rootfs: Path, busybox: Path, project: Path, *, init: str, about: str
) -> None:
    """Write the initramfs: rootfs + busybox + the project at /project + /init."""
    with open(destination, "wb") as out:
        archive = _Cpio(out)
        for name in ("bin", "dev", "proc", "sys", "tmp", "root", "project"):
            archive.add_directory(name)
        archive.add_path(busybox, "bin/busybox")
        archive.add_file("init", init.encode())
        archive.add_file("platforms-about.py", about.encode(), 0o644)
        archive.add_tree(project, "project")
        archive.add_tree(rootfs, "")
        archive.close()


def parse_console(text: str) -> dict[str, tuple[str, int]]:
    """Return {step: (output, exit status)} from the console log of /init."""
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", text.replace("\r\n", "\n").replace("\r", ""))
    steps: dict[str, tuple[str, int]] = {}
    for match in re.finditer(
        r"@@platforms:(\w+):begin@@\n(.*?)@@platforms:\1:end (\d+)@@", text, re.DOTALL
    ):
        steps[match.group(1)] = (match.group(2), int(match.group(3)))
    return steps
