"""Debian packages for another release or architecture, without touching the host.

A private apt configuration (its own sources, state, status and cache under
one directory) resolves and downloads packages; ``dpkg -x`` unpacks them
into a tree; no maintainer script runs and the host's dpkg database stays
as it is. Needs ``apt-get``, ``dpkg`` and root (apt's download sandbox).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from .aptsources import Mirror

__all__ = [
    "PrivateApt",
    "extract",
    "make_symlinks_relative",
    "merge_usr",
]

#: Top-level directories a merged-/usr release ships only under usr/.
_MERGED = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


def log(message: str) -> None:
    """Say what is being done, on stderr."""
    print(f"platforms: {message}", file=sys.stderr, flush=True)


class PrivateApt:
    """An apt configuration of its own under ``directory`` for one architecture."""

    def __init__(
        self,
        directory: Path,
        arch: str,
        suites: Sequence[str],
        mirror: Mirror,
        *,
        with_sources: bool = False,
    ) -> None:
        self.directory = directory
        self.arch = arch
        self.suites = list(suites)
        self.mirror = mirror
        #: Also read the suites' source package lists (deb-src).
        self.with_sources = with_sources

    @property
    def options(self) -> list[str]:
        """apt-get options that point every path at the private directory."""
        d = self.directory
        pairs = {
            "Dir::Etc": d / "etc",
            "Dir::State": d / "state",
            "Dir::State::status": d / "status",
            "Dir::Cache": d / "cache",
            "APT::Architecture": self.arch,
            "APT::Architectures": self.arch,
            "Debug::NoLocking": "1",
            "APT::Install-Recommends": "0",
            "Acquire::Languages": "none",
            "Acquire::Check-Valid-Until": "false",
            "APT::Sandbox::User": "root",
        }
        options: list[str] = []
        for name, value in pairs.items():
            options += ["-o", f"{name}={value}"]
        return options

    def sources_text(self) -> str:
        """The deb822 sources entry this configuration uses."""
        signed_by = self.mirror.signed_by
        if "\n" in signed_by:  # an embedded key: continuation lines, "." for blanks
            signed_by = "\n" + "\n".join(
                " " + (line if line.strip() else ".") for line in signed_by.splitlines()
            )
        return (
            f"Types: deb{' deb-src' if self.with_sources else ''}\n"
            f"URIs: {self.mirror.uri}\n"
            f"Suites: {' '.join(self.suites)}\n"
            "Components: main\n"
            f"Architectures: {self.arch}\n"
            f"Signed-By: {signed_by}\n"
        )

    def update(self) -> None:
        """Write the configuration and fetch the package lists."""
        d = self.directory
        shutil.rmtree(d, ignore_errors=True)
        for sub in (
            "etc/apt.conf.d",
            "etc/preferences.d",
            "etc/trusted.gpg.d",
            "etc/sources.list.d",
            "state/lists/partial",
            "cache/archives/partial",
        ):
            (d / sub).mkdir(parents=True, exist_ok=True)
        (d / "status").write_text("", encoding="ascii")
        (d / "etc/sources.list.d/platforms.sources").write_text(
            self.sources_text(), encoding="utf-8"
        )
        self._apt("update")

    def download(self, packages: Sequence[str]) -> list[Path]:
        """Download ``packages`` and everything they depend on; return the .deb files."""
        self._apt("install", "--download-only", "-y", *packages)
        return sorted((self.directory / "cache/archives").glob("*.deb"))

    def download_source(self, package: str, into: Path) -> None:
        """Download the source package ``package`` (.dsc, tarballs) into ``into``."""
        into.mkdir(parents=True, exist_ok=True)
        self._apt("source", "--download-only", package, cwd=into)

    def fetch_one(self, package: str, into: Path) -> Path:
        """Download the one .deb of ``package`` (no dependencies) into ``into``."""
        into.mkdir(parents=True, exist_ok=True)
        self._apt("download", package, cwd=into)
        found = sorted(into.glob(f"{package.split('/', maxsplit=1)[0]}_*.deb"))
        if not found:
            raise RuntimeError(f"apt-get download {package} left no .deb in {into}")
        return found[-1]

    def policy_version(self, package: str) -> str:
        """The candidate version of ``package``, or "" when there is none."""
        result = subprocess.run(
            ["apt-cache", *self.options, "policy", package],
            capture_output=True,
            text=True,
            check=False,
        )
        for line in result.stdout.splitlines():
            name, _, value = line.strip().partition(":")
            if name == "Candidate":
                value = value.strip()
                return "" if value == "(none)" else value
        return ""

    def _apt(self, *arguments: str, cwd: Path | None = None) -> None:
        command = ["apt-get", *self.options, "-qq", *arguments]
        result = subprocess.run(
            command,
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"apt-get {' '.join(arguments)} ({self.arch}, {' '.join(self.suites)}) "
                f"failed:\n{result.stderr.strip()[-2000:]}"
            )


def extract(debs: Sequence[Path], root: Path) -> None:
    """Unpack each .deb's files into ``root`` (no maintainer scripts)."""
    root.mkdir(parents=True, exist_ok=True)
    for deb in debs:
        subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)


def merge_usr(root: Path) -> None:
    """Give a merged-/usr tree its /lib, /bin ... symlinks into usr/.

    trixie and later ship files only under /usr; the ELF interpreter paths
    (/lib/ld-linux..., /lib64/ld-linux-x86-64.so.2) still name /lib.
    """
    for name in _MERGED:
        top, usr = root / name, root / "usr" / name
        if usr.is_dir() and not top.exists() and not top.is_symlink():
            top.symlink_to(Path("usr") / name)


def make_symlinks_relative(root: Path) -> None:
    """Rewrite absolute symlinks in ``root`` to point inside it.

    The kernel, ld.so and qemu would follow /etc/..., /lib/... from the
    host's root otherwise.
    """
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(directory) / name
            if not path.is_symlink():
                continue
            target = os.readlink(path)
            if not target.startswith("/"):
                continue
            inside = root / target.lstrip("/")
            relative = os.path.relpath(inside, path.parent)
            path.unlink()
            path.symlink_to(relative)
