"""Set a target up (once, cached) and run the suite and the probe there."""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import build, kernel
from .aptsources import Mirror, find_mirror
from .debian import PrivateApt, extract, log, make_symlinks_relative, merge_usr
from .results import Result, format_line, parse_probe, parse_pytest
from .targets import QEMU, RUNSC, TARGETS, TEST_PACKAGES, Target

__all__ = ["Cache", "Options", "default_cache", "run_target", "setup_target"]

#: Bump when the rootfs layout or wrapper changes: cached roots are rebuilt.
_LAYOUT = "platforms-v1"

#: The wrapper's name inside the rootfs; sys.executable points at it, so a
#: child started with sys.executable re-enters the same platform.
_WRAPPER = "usr/bin/python-platform"

#: Environment variables of the host's Python that must not leak into a guest.
_DROPPED = (
    "PYTHONHOME",
    "PYTHONPATH",
    "PYTHONSTARTUP",
    "PYTHONUSERBASE",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONPYCACHEPREFIX",
    "VIRTUAL_ENV",
    "COVERAGE_PROCESS_START",
    "RAWMMAP_UNDER_QEMU",
)


def default_cache() -> Path:
    """$RAWMMAP_PLATFORMS_CACHE, else /var/cache/rawmmap-platforms as root, else XDG."""
    configured = os.environ.get("RAWMMAP_PLATFORMS_CACHE")
    if configured:
        return Path(configured)
    if os.geteuid() == 0:
        return Path("/var/cache/rawmmap-platforms")
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "rawmmap-platforms"


@dataclass(frozen=True)
class Cache:
    """The directory holding rootfs trees, emulator binaries and pycache."""

    root: Path

    def rootfs(self, target: Target) -> Path:
        return self.root / "roots" / target.rootfs_key

    def apt(self, name: str) -> Path:
        return self.root / "apt" / name

    @property
    def qemu(self) -> Path:
        return self.root / "qemu"

    @property
    def runsc(self) -> Path:
        return self.root / "runsc" / "runsc"

    def pycache(self, target: Target) -> Path:
        return self.root / "pycache" / target.name

    def sources(self, suite: str) -> Path:
        """Where the source packages of ``suite`` are kept for the next build."""
        return self.root / "sources" / suite


@dataclass(frozen=True)
class Options:
    """How to run: where the project is, where to write, what pytest gets."""

    project: Path
    cache: Cache
    output: Path
    pytest_args: Sequence[str] = ("tests",)
    probe: bool = True
    timeout: float = 3600.0


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="ascii") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


_MIRROR: list[Mirror] = []


def _mirror() -> Mirror:
    if not _MIRROR:
        _MIRROR.append(find_mirror())
        log(f"Debian mirror {_MIRROR[0].uri} (from the host's apt sources)")
    return _MIRROR[0]


def _host_arch() -> str:
    return subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()


def _extract_member(deb: Path, member: str, destination: Path) -> None:
    """Write one file of a .deb's data archive to ``destination``."""
    tar = subprocess.Popen(["dpkg", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    with open(destination, "wb") as out:
        subprocess.run(["tar", "-xO", f"./{member}"], stdin=tar.stdout, stdout=out, check=True)
    tar.wait()
    destination.chmod(0o755)


def qemu_binary(cache: Cache, qemu_target: str) -> Path:
    """Path of qemu-user for ``qemu_target``, fetched from Debian once for all targets."""
    binary = cache.qemu / f"qemu-{qemu_target}"
    with _locked(cache.qemu / ".lock"):
        if binary.exists():
            return binary
        suite, package = QEMU
        log(f"fetching {package} from {suite} (static qemu-user, once) ...")
        apt = PrivateApt(cache.apt("qemu"), _host_arch(), [suite], _mirror())
        apt.update()
        with tempfile.TemporaryDirectory(dir=cache.root) as scratch:
            deb = apt.fetch_one(package, Path(scratch))
            wanted = sorted({t.qemu_target for t in TARGETS if t.qemu_target})
            for name in wanted:
                _extract_member(deb, f"usr/bin/qemu-{name}", cache.qemu / f"qemu-{name}")
        shutil.rmtree(apt.directory, ignore_errors=True)
    return binary


def runsc_binary(cache: Cache) -> Path:
    """Path of gVisor's runsc, fetched from Debian once."""
    with _locked(cache.runsc.parent / ".lock"):
        if cache.runsc.exists():
            return cache.runsc
        suite, package = RUNSC
        log(f"fetching {package} from {suite} (gVisor, once) ...")
        apt = PrivateApt(cache.apt("runsc"), _host_arch(), [suite], _mirror())
        apt.update()
        with tempfile.TemporaryDirectory(dir=cache.root) as scratch:
            deb = apt.fetch_one(package, Path(scratch))
            _extract_member(deb, "usr/bin/runsc", cache.runsc)
        shutil.rmtree(apt.directory, ignore_errors=True)
    return cache.runsc


def _wrapper_text(target: Target, qemu: Path | None) -> str:
    python = f'"$R/usr/bin/python{target.python}"'
    argv0 = f'"$R/{_WRAPPER}"'
    head = (
        "#!/bin/sh\n"
        f"# {target.description} (tools/platforms)\n"
        'R=$(cd "$(dirname "$0")/../.." && pwd)\n'
    )
    if qemu is not None:
        return head + f'exec "{qemu}" -L "$R" -0 {argv0} {python} "$@"\n'
    setarch = "setarch i686 " if target.arch == "i386" else ""
    libraries = f"$R/lib/{target.triplet}:$R/usr/lib/{target.triplet}"
    return head + (
        f'exec {setarch}"$R/{target.interpreter}" --library-path "{libraries}" '
        f'--argv0 {argv0} {python} "$@"\n'
    )


def _stamp(target: Target, qemu: Path | None) -> str:
    return f"{_LAYOUT} {target.arch} {' '.join(target.suites)} {' '.join(target.packages)} {qemu}"


def setup_rootfs(target: Target, cache: Cache) -> Path:
    """Build (once) the rootfs of ``target``; return the path of its Python wrapper."""
    qemu = qemu_binary(cache, target.qemu_target) if target.qemu_target else None
    root = cache.rootfs(target)
    stamp = _stamp(target, qemu)
    with _locked(root.with_name(root.name + ".lock")):
        stamp_file = root / ".platforms-stamp"
        if stamp_file.exists() and stamp_file.read_text(encoding="utf-8") == stamp:
            return root / _WRAPPER
        log(f"setting up {target.rootfs_key} in {root} (once) ...")
        apt = PrivateApt(cache.apt(target.rootfs_key), target.arch, target.suites, _mirror())
        apt.update()
        debs = apt.download(target.packages)
        new = root.with_name(root.name + ".new")
        shutil.rmtree(new, ignore_errors=True)
        extract(debs, new)
        merge_usr(new)
        make_symlinks_relative(new)
        wrapper = new / _WRAPPER
        wrapper.write_text(_wrapper_text(target, qemu), encoding="utf-8")
        wrapper.chmod(0o755)
        # Precompile the stdlib and the test tools once: bytecode is not
        # written at run time (PYTHONDONTWRITEBYTECODE may be set on the
        # host, and the rootfs is shared).
        environment = _environment(target, cache)
        environment.pop("PYTHONPYCACHEPREFIX")
        subprocess.run(
            [
                str(wrapper),
                "-m",
                "compileall",
                "-q",
                "-j2",
                str(new / f"usr/lib/python{target.python}"),
                str(new / "usr/lib/python3/dist-packages"),
            ],
            env=environment,
            capture_output=True,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)
        new.rename(root)
        # The wrapper computes its root from its own path: it works after the rename.
        stamp_file.write_text(stamp, encoding="utf-8")
        shutil.rmtree(apt.directory, ignore_errors=True)
    return root / _WRAPPER


def setup_source_build(target: Target, cache: Cache) -> Path:
    """Build (once) the CPython of a ``source`` target; return the path of its wrapper."""
    root = cache.rootfs(target)
    stamp = (
        f"{_LAYOUT} source {target.arch} {' '.join(target.suites)} python{target.python} "
        f"{' '.join(target.configure)} {' '.join(TEST_PACKAGES)}"
    )
    if target.libc != "glibc":
        stamp += f" {target.libc}"
    with _locked(root.with_name(root.name + ".lock")):
        stamp_file = root / ".platforms-stamp"
        if stamp_file.exists() and stamp_file.read_text(encoding="utf-8") == stamp:
            return root / _WRAPPER
        log(f"setting up {target.rootfs_key} in {root} (once, a CPython build) ...")
        shutil.rmtree(root, ignore_errors=True)
        # Built in place: the prefix is compiled into the interpreter.
        build.build_cpython(
            root,
            cache.apt(target.rootfs_key),
            target,
            _mirror(),
            cache.sources(target.suites[0]),
        )
        binaries = root / "usr/bin"
        python = next(
            (
                name
                for name in (f"python{target.python}t", f"python{target.python}")
                if (binaries / name).exists()
            ),
            None,
        )
        if python is None:
            raise RuntimeError(f"the build installed no python{target.python} in {binaries}")
        for site in sorted(root.glob(f"usr/lib/python{target.python}*/site-packages")):
            (site / "platforms-test-tools.pth").write_text(
                "../../python3/dist-packages\n", encoding="ascii"
            )
        wrapper = root / _WRAPPER
        launcher = ("setarch", "i686") if target.arch == "i386" else ()
        wrapper.write_text(
            build.wrapper_text(target.description, python, launcher), encoding="utf-8"
        )
        wrapper.chmod(0o755)
        environment = _environment(target, cache)
        environment.pop("PYTHONPYCACHEPREFIX")
        subprocess.run(
            [str(wrapper), "-m", "compileall", "-q", str(root / "usr/lib/python3/dist-packages")],
            env=environment,
            capture_output=True,
            check=False,
        )
        stamp_file.write_text(stamp, encoding="utf-8")
    return root / _WRAPPER


def setup_target(target: Target, cache: Cache) -> list[str]:
    """Set ``target`` up; return the command prefix that starts its Python."""
    if target.kind == "source":
        return [str(setup_source_build(target, cache))]
    wrapper = setup_rootfs(target, cache)
    if target.kind == "gvisor":
        runsc = runsc_binary(cache)
        state = cache.root / "runsc" / "state"
        state.mkdir(parents=True, exist_ok=True)
        return [
            str(runsc),
            f"--root={state}",
            "--network=none",
            "--ignore-cgroups",
            "do",
            str(wrapper),
        ]
    return [str(wrapper)]


def _environment(target: Target, cache: Cache) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k not in _DROPPED}
    environment["PYTHONNOUSERSITE"] = "1"
    environment["PYTHONPYCACHEPREFIX"] = str(cache.pycache(target))
    environment["HYPOTHESIS_STORAGE_DIRECTORY"] = str(cache.root / "hypothesis" / target.name)
    # tests/emulation.py detects qemu by itself too; say it outright.
    environment["RAWMMAP_UNDER_QEMU"] = "1" if target.kind == "qemu" else "0"
    return environment


def _how(target: Target, cache: Cache) -> str:
    if target.kind == "qemu" and target.qemu_target:
        version = _version([str(cache.qemu / f"qemu-{target.qemu_target}"), "--version"])
        return f"qemu-user {version}"
    if target.kind == "gvisor":
        return f"gVisor runsc {_version([str(cache.runsc), '--version'])}"
    if target.kind == "source" and target.libc != "glibc":
        bits = ", setarch i686" if target.arch == "i386" else ""
        return f"native, built here against {target.libc}{bits}"
    if target.kind == "source":
        return f"native, built here ({' '.join(target.configure)})"
    if target.arch == "i386":
        return "native 32-bit (setarch i686)"
    return "native (own ld.so)"


def _version(command: list[str]) -> str:
    try:
        output = subprocess.run(
            command, capture_output=True, text=True, timeout=60, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    match = re.search(r"version (\S+)", output)
    return match.group(1).rstrip(",") if match else "?"


_ABOUT = (
    "import platform, sys; print(sys.version.split()[0], platform.machine(), "
    "platform.libc_ver()[0] + ' ' + platform.libc_ver()[1])"
)


def run_kernel_target(target: Target, options: Options) -> Result:
    """Boot ``target``'s kernel with the suite in an initramfs; read the console."""
    result = Result(target.name, target.description)
    started = time.monotonic()
    cache = options.cache
    try:
        setup_rootfs(target, cache)
        base = cache.root / "kernels"
        kernel_dir = base / target.kernel_suite
        kernel_dir.mkdir(parents=True, exist_ok=True)
        with _locked(base / ".lock"):
            image, version = kernel.vmlinuz(
                kernel_dir, target.kernel_suite, "linux-image-cloud-amd64", _mirror()
            )
            qemu = kernel.qemu_system(cache.root / "qemu-system", _mirror())
    except (OSError, RuntimeError, subprocess.CalledProcessError) as error:
        result.problem = f"setup failed: {error}"[:600]
        return _finish(result, options, {})
    init = kernel.INIT.format(python=target.python, pytest_args=" ".join(options.pytest_args))
    with tempfile.TemporaryDirectory(dir=cache.root) as scratch:
        initrd = Path(scratch) / "initrd.cpio"
        busybox = cache.root / "qemu-system" / "root" / "bin" / "busybox"
        kernel.build_initramfs(
            initrd, cache.rootfs(target), busybox, options.project, init=init, about=_ABOUT
        )
        result.setup_seconds = round(time.monotonic() - started, 1)
        result.how = f"Linux {version}, qemu-system TCG"
        console = Path(scratch) / "console.log"
        command = [
            *qemu,
            "-accel",
            "tcg",
            "-cpu",
            "max",
            "-smp",
            "2",
            "-m",
            "3072",
            "-nodefaults",
            "-no-reboot",
            "-display",
            "none",
            "-serial",
            f"file:{console}",
            "-kernel",
            str(image),
            "-initrd",
            str(initrd),
            "-append",
            "console=ttyS0 panic=-1 quiet loglevel=1 rdinit=/init",
        ]
        started = time.monotonic()
        try:
            subprocess.run(command, capture_output=True, timeout=options.timeout, check=False)
        except subprocess.TimeoutExpired:
            result.problem = f"the guest did not power off within {options.timeout:.0f} s"
        text = console.read_text(encoding="utf-8", errors="replace") if console.exists() else ""
    elapsed = round(time.monotonic() - started, 1)
    options.output.mkdir(parents=True, exist_ok=True)
    (options.output / f"{target.name}.console.txt").write_text(text, encoding="utf-8")
    steps = kernel.parse_console(text)
    about = steps.get("about", ("", 1))[0].split()
    if len(about) >= 2:
        result.python, result.machine = about[0], about[1]
    report: dict[str, object] = {}
    if "pytest" in steps:
        output, status = steps["pytest"]
        (options.output / f"{target.name}.pytest.txt").write_text(output, encoding="utf-8")
        parse_pytest(result, output, status)
        result.suite_seconds = elapsed
    elif not result.problem:
        result.problem = "no pytest output on the console: " + text.strip()[-300:]
    if "probe" in steps and options.probe:
        report = parse_probe(result, steps["probe"][0])
    return _finish(result, options, report)


def run_target(target: Target, options: Options) -> Result:
    """Set ``target`` up, run the suite and the probe, write its report files."""
    if target.kind == "kernel":
        return run_kernel_target(target, options)
    result = Result(target.name, target.description)
    started = time.monotonic()
    try:
        prefix = setup_target(target, options.cache)
    except (OSError, RuntimeError, subprocess.CalledProcessError) as error:
        result.problem = f"setup failed: {error}"[:600]
        return _finish(result, options, {})
    result.setup_seconds = round(time.monotonic() - started, 1)
    result.how = _how(target, options.cache)
    environment = _environment(target, options.cache)

    def run(arguments: Sequence[str]) -> subprocess.CompletedProcess[str]:
        # Output goes through files: under runsc a pipe lost the tail of
        # pytest's output (the sandbox's stdout pipe is not drained at exit).
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            status = subprocess.run(
                [*prefix, *arguments],
                cwd=options.project,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                timeout=options.timeout,
                check=False,
            ).returncode
            out.seek(0)
            err.seek(0)
            return subprocess.CompletedProcess(list(arguments), status, out.read(), err.read())

    try:
        about = run(["-c", _ABOUT])
        words = about.stdout.split()
        if about.returncode != 0 or len(words) < 2:
            result.problem = "the interpreter did not start: " + about.stderr.strip()[-300:]
            return _finish(result, options, {})
        result.python, result.machine = words[0], words[1]
        started = time.monotonic()
        suite = run(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfEs", *options.pytest_args])
        result.suite_seconds = round(time.monotonic() - started, 1)
        options.output.mkdir(parents=True, exist_ok=True)
        (options.output / f"{target.name}.pytest.txt").write_text(
            suite.stdout + suite.stderr, encoding="utf-8"
        )
        parse_pytest(result, suite.stdout + suite.stderr, suite.returncode)
        report: dict[str, object] = {}
        if options.probe:
            started = time.monotonic()
            probe = run(["-m", "rawmmap", "probe", "--json"])
            result.probe_seconds = round(time.monotonic() - started, 1)
            if probe.returncode in (0, 1):
                report = parse_probe(result, probe.stdout)
            else:
                result.probe_status = "error: " + (probe.stderr.strip()[-200:] or "?")
    except subprocess.TimeoutExpired as error:
        result.problem = f"timed out after {error.timeout:.0f} s: {' '.join(error.cmd[-3:])}"
        report = {}
    return _finish(result, options, report)


def _finish(result: Result, options: Options, report: dict[str, object]) -> Result:
    options.output.mkdir(parents=True, exist_ok=True)
    if report:
        (options.output / f"{result.target}.probe.json").write_text(
            json.dumps(report, indent=2) + "\n", encoding="utf-8"
        )
    (options.output / f"{result.target}.result.json").write_text(
        json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8"
    )
    log(format_line(result))
    return result
