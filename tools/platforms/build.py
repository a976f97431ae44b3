"""Build a CPython Debian does not ship (free-threaded 3.13t) from Debian's source, once.

The upstream tarball of the suite's ``pythonX.Y`` source package (the
``.orig.tar.*`` that ``apt-get source --download-only`` fetches, without
Debian's patches) is configured with the target's options, built with the
host's compiler against the host's C library and installed under the
cache, with its stamp. The test tools are the suite's ``python3-pytest``
and ``python3-hypothesis`` (pure Python), unpacked next to it and put on
its path with a ``.pth`` file. The build needs the host's ``gcc``,
``make`` and the ``-dev`` packages of libffi (ctypes) and zlib; about 12
minutes on two cores.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .aptsources import Mirror
from .debian import PrivateApt, extract, log

__all__ = ["build_cpython", "configure_command", "wrapper_text"]

#: Host tools the build cannot do without.
NEEDED = ("gcc", "make", "tar")


def configure_command(prefix: Path, options: Sequence[str]) -> list[str]:
    """CPython's configure line for an install under ``prefix``."""
    return [
        "./configure",
        f"--prefix={prefix}",
        "--without-ensurepip",
        "--disable-test-modules",
        *options,
    ]


def wrapper_text(description: str, python: str) -> str:
    """The ``python-platform`` wrapper: the built interpreter, found from the wrapper's path."""
    return (
        "#!/bin/sh\n"
        f"# {description} (tools/platforms)\n"
        'R=$(cd "$(dirname "$0")/../.." && pwd)\n'
        f'exec "$R/usr/bin/{python}" "$@"\n'
    )


def _run(command: Sequence[str], cwd: Path, log_file: Path) -> None:
    with open(log_file, "a", encoding="utf-8") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        status = subprocess.run(
            list(command), cwd=cwd, stdout=out, stderr=subprocess.STDOUT, check=False
        ).returncode
    if status != 0:
        tail = log_file.read_text(encoding="utf-8", errors="replace")[-1500:]
        raise RuntimeError(f"{command[0]} failed ({status}) in {cwd}; log {log_file}:\n{tail}")


def build_cpython(
    root: Path,
    apt_directory: Path,
    suite: str,
    version: str,
    options: Sequence[str],
    test_packages: Sequence[str],
    mirror: Mirror,
) -> str:
    """Build CPython ``version`` of ``suite`` into ``root/usr``; return its version string.

    Raises:
        RuntimeError: a host tool is missing, apt or the build failed.
    """
    missing = [tool for tool in NEEDED if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(f"building CPython needs {', '.join(missing)} on the host")
    apt = PrivateApt(apt_directory, "amd64", [suite], mirror, with_sources=True)
    apt.update()
    root.mkdir(parents=True, exist_ok=True)
    log_file = root.with_name(root.name + ".build.log")
    log_file.write_text("", encoding="utf-8")
    with tempfile.TemporaryDirectory(dir=root.parent) as scratch_name:
        scratch = Path(scratch_name)
        apt.download_source(f"python{version}", scratch)
        tarballs = [
            path
            for path in sorted(scratch.glob(f"python{version}_*.orig.tar.*"))
            if not path.name.endswith((".asc", ".sig"))
        ]
        if not tarballs:
            raise RuntimeError(f"python{version} of {suite} came without an upstream tarball")
        _run(["tar", "-xf", tarballs[-1].name], scratch, log_file)
        sources = [path for path in scratch.iterdir() if path.is_dir() and path.name != "debian"]
        if not sources:
            raise RuntimeError(f"{tarballs[-1].name} unpacked no directory")
        source = sources[0]
        log(f"building CPython {version} {' '.join(options)} from {suite}'s source (once) ...")
        _run(configure_command(root / "usr", options), source, log_file)
        _run(["make", f"-j{os.cpu_count() or 1}"], source, log_file)
        _run(["make", "install"], source, log_file)
        # The test tools: the suite's pure-Python packages, unpacked beside it.
        debs = apt.download(list(test_packages))
        tools = scratch / "tools"
        extract(debs, tools)
        shutil.copytree(
            tools / "usr/lib/python3/dist-packages",
            root / "usr/lib/python3/dist-packages",
            dirs_exist_ok=True,
        )
    shutil.rmtree(apt.directory, ignore_errors=True)
    return version
