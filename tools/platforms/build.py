"""Build a CPython Debian does not ship (free-threaded 3.13t, musl) from Debian's source, once.

The upstream tarball of the suite's ``pythonX.Y`` source package (the
``.orig.tar.*`` that ``apt-get source --download-only`` fetches, without
Debian's patches) is configured with the target's options, built with the
host's compiler against the host's C library and installed under the
cache, with its stamp. The test tools are the suite's ``python3-pytest``
and ``python3-hypothesis`` (pure Python), unpacked next to it and put on
its path with a ``.pth`` file. The build needs the host's ``gcc``,
``make`` and the ``-dev`` packages of libffi (ctypes) and zlib; about 12
minutes on two cores.

The ``musl-*`` targets build the same source with the musl toolchain of
musl.py (musl's compiler, static libffi and zlib; i386 under ``setarch
i686``) and take the test tools from PyPI as musllinux wheels instead
(``pip install --target``, the host's pip): Debian's pure-Python packages
would do too, but pytest's and hypothesis' wheels for that platform are what
a musl user installs. The downloaded source packages are kept under
``CACHE/sources/SUITE`` for the next build.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from . import musl
from .aptsources import Mirror
from .debian import PrivateApt, extract, log
from .targets import TEST_PACKAGES, Target

__all__ = [
    "build_cpython",
    "configure_command",
    "pip_command",
    "source_tree",
    "wrapper_text",
]

#: The test tools of a musl build, as PyPI names them (musllinux or pure wheels).
PIP_TEST_PACKAGES = ("pytest", "hypothesis")

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


def wrapper_text(description: str, python: str, launcher: Sequence[str] = ()) -> str:
    """The ``python-platform`` wrapper: the built interpreter, found from the wrapper's path.

    ``launcher`` (``setarch i686``) is what it is started under.
    """
    prefix = " ".join(launcher) + " " if launcher else ""
    return (
        "#!/bin/sh\n"
        f"# {description} (tools/platforms)\n"
        'R=$(cd "$(dirname "$0")/../.." && pwd)\n'
        f'exec {prefix}"$R/usr/bin/{python}" "$@"\n'
    )


def pip_command(target: Path, version: str, platform: str, packages: Sequence[str]) -> list[str]:
    """The host pip's command that puts ``platform`` wheels of ``packages`` into ``target``.

    Only wheels (``--only-binary=:all:``) of that platform or pure Python
    ones (``any``), for CPython ``version``: nothing is built or run on the
    host.
    """
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-input",
        "--target",
        str(target),
        "--python-version",
        version,
        "--implementation",
        "cp",
        "--only-binary=:all:",
        "--platform",
        platform,
        "--platform",
        "any",
        *packages,
    ]


def _has_pip() -> bool:
    """Whether the Python running the tool has pip (the musl targets' wheels need it)."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--version"], capture_output=True, check=False
    )
    return result.returncode == 0


def _run(
    command: Sequence[str],
    cwd: Path,
    log_file: Path,
    environment: Mapping[str, str] | None = None,
) -> None:
    """Run one build step with its output appended to ``log_file``.

    Raises:
        RuntimeError: it failed (the message has the log's tail).
    """
    with open(log_file, "a", encoding="utf-8") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        status = subprocess.run(
            list(command),
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(environment) if environment is not None else None,
            check=False,
        ).returncode
    if status != 0:
        tail = log_file.read_text(encoding="utf-8", errors="replace")[-1500:]
        raise RuntimeError(f"{command[0]} failed ({status}) in {cwd}; log {log_file}:\n{tail}")


def source_tree(apt: PrivateApt, package: str, kept: Path, into: Path, log_file: Path) -> Path:
    """Unpack the upstream tarball of source package ``package`` into ``into``; return its tree.

    The source package is downloaded into ``kept`` only when no
    ``PACKAGE_*.orig.tar.*`` is there yet (a later build reuses it).

    Raises:
        RuntimeError: no upstream tarball, or it unpacked no directory.
    """

    def tarballs() -> list[Path]:
        """The upstream tarballs of ``package`` in ``kept`` (not their signatures)."""
        return [
            path
            for path in sorted(kept.glob(f"{package}_*.orig.tar.*"))
            if not path.name.endswith((".asc", ".sig"))
        ]

    if not tarballs():
        try:
            apt.download_source(package, kept)
        except RuntimeError as error:
            # Only the upstream tarball is used: a point release's .dsc or
            # .debian.tar that the mirror answers 404 for (trixie's zlib
            # 1.3.dfsg+really1.3.1-1+deb13u1) does not matter once it is here.
            if not tarballs():
                raise
            log(f"{package}: only the upstream tarball downloaded ({str(error).splitlines()[-1]})")
    found = tarballs()
    if not found:
        raise RuntimeError(f"{package} of {' '.join(apt.suites)} came without an upstream tarball")
    destination = into / package
    destination.mkdir(parents=True, exist_ok=True)
    _run(["tar", "-xf", str(found[-1])], destination, log_file)
    trees = [path for path in destination.iterdir() if path.is_dir()]
    if len(trees) != 1:
        raise RuntimeError(f"{found[-1].name} unpacked {len(trees)} directories, not one")
    return trees[0]


def build_cpython(
    root: Path,
    apt_directory: Path,
    target: Target,
    mirror: Mirror,
    sources: Path | None = None,
) -> str:
    """Build the CPython of ``source`` target ``target`` into ``root/usr``; return its version.

    The upstream tarball of ``pythonX.Y`` of the target's first suite is
    configured with the target's options. ``target.libc == "musl"`` builds
    it with musl's toolchain (musl.py) for ``target.arch`` and installs
    pytest and hypothesis as musllinux wheels; otherwise the host's gcc and
    C library are used and the test tools are the suite's TEST_PACKAGES.
    ``sources`` keeps the downloaded source packages (a scratch directory
    when None).

    Raises:
        RuntimeError: a host tool is missing, apt or the build failed.
    """
    suite, version, libc, arch = target.suites[0], target.python, target.libc, target.arch
    missing = [tool for tool in NEEDED if shutil.which(tool) is None]
    if missing:
        raise RuntimeError(f"building CPython needs {', '.join(missing)} on the host")
    if libc == "musl" and not _has_pip():
        # Said before the build, not after it: the wheels come last.
        raise RuntimeError(f"the musl targets' test tools need pip in {sys.executable}")
    root.mkdir(parents=True, exist_ok=True)
    log_file = root.with_name(root.name + ".build.log")
    log_file.write_text("", encoding="utf-8")
    with tempfile.TemporaryDirectory(dir=root.parent) as scratch_name:
        scratch = Path(scratch_name)
        kept = sources if sources is not None else scratch / "sources"
        kept.mkdir(parents=True, exist_ok=True)
        # Source packages are architecture-free; binary ones (musl) are the target's.
        apt = PrivateApt(apt_directory, arch, [suite], mirror, with_sources=True)
        apt.update()
        environment: dict[str, str] | None = None
        configure_options = list(target.configure)
        launcher: tuple[str, ...] = ()
        if libc == "musl":
            toolchain = musl.install_toolchain(
                root / "musl",
                apt,
                suite,
                lambda command, cwd, env: _run(command, cwd, log_file, env),
                lambda package: source_tree(apt, package, kept, scratch, log_file),
            )
            environment = {**os.environ, **toolchain.environment}
            configure_options += toolchain.configure
            launcher = toolchain.launcher
        source = source_tree(apt, f"python{version}", kept, scratch, log_file)
        what = f"{' '.join(target.configure)} {libc} {arch}".strip()
        log(f"building CPython {version} ({what}) from {suite}'s source (once) ...")
        _run(
            [*launcher, *configure_command(root / "usr", configure_options)],
            source,
            log_file,
            environment,
        )
        _run([*launcher, "make", f"-j{os.cpu_count() or 1}"], source, log_file, environment)
        _run([*launcher, "make", "install"], source, log_file, environment)
        tools = root / "usr/lib/python3/dist-packages"
        if libc == "musl":
            _run(
                pip_command(tools, version, musl.pip_platform(arch), PIP_TEST_PACKAGES),
                scratch,
                log_file,
            )
        else:
            # The test tools: the suite's pure-Python packages, unpacked beside it.
            debs = apt.download(list(TEST_PACKAGES))
            unpacked = scratch / "tools"
            extract(debs, unpacked)
            shutil.copytree(unpacked / "usr/lib/python3/dist-packages", tools, dirs_exist_ok=True)
    shutil.rmtree(apt.directory, ignore_errors=True)
    return version
