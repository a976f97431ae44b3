"""Helpers the checks share: mappings that unmap themselves, files, errno names,
child processes for whatever may fault, and /proc readers.

Nothing here may crash the probe process: a call that can fault runs in a
child (``fault``, ``run_child`` or ``in_fork``) and the parent reports how
it ended.
"""

from __future__ import annotations

import contextlib
import errno
import faulthandler
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Callable

import rawmmap
from rawmmap import raw
from rawmmap.flags import MapFlag, Prot
from rawmmap.probe.registry import CheckSkipped, ProbeContext

__all__ = [
    "CHILD_TIMEOUT",
    "PAGE",
    "PRIVATE_ANONYMOUS",
    "PROTECTION_FAULT",
    "READ_WRITE",
    "SHARED_ANONYMOUS",
    "attempt",
    "attempt_mmap",
    "describe_exit",
    "errno_name",
    "fault",
    "filesystem_type",
    "fork_answer",
    "in_fork",
    "make_file",
    "mapping",
    "maps_lines",
    "need_fork",
    "resident",
    "run_child",
    "skip_under_qemu",
]

PAGE = raw.page_size()
PRIVATE_ANONYMOUS = MapFlag.PRIVATE | MapFlag.ANONYMOUS
SHARED_ANONYMOUS = MapFlag.SHARED | MapFlag.ANONYMOUS
READ_WRITE = Prot.READ | Prot.WRITE
#: Seconds a child may take before the probe gives up on it.
CHILD_TIMEOUT = 30.0

#: The signal a protection fault raises: SIGSEGV, but SIGBUS on macOS
#: (XNU maps KERN_PROTECTION_FAILURE to SIGBUS; not run here).
PROTECTION_FAULT = "SIGBUS" if sys.platform == "darwin" else "SIGSEGV"


def errno_name(code: int | None) -> str:
    """Return the symbolic name of an errno ("EINVAL"), or "errno N"."""
    if code is None:
        return "OSError"
    return errno.errorcode.get(code, f"errno {code}")


def attempt(call: Callable[[], object]) -> str:
    """Run a call that returns nothing to keep; say "succeeded" or its errno."""
    try:
        call()
    except OSError as error:
        return errno_name(error.errno)
    return "succeeded"


def attempt_mmap(
    addr: int, length: int, prot: int, flags: int, fd: int = -1, *, offset: int = 0
) -> tuple[int | None, str]:
    """Call mmap; return (address or None, "mapped" or the errno name)."""
    try:
        address = raw.mmap(addr, length, prot, flags, fd, offset)
    except OSError as error:
        return None, errno_name(error.errno)
    return address, "mapped"


@contextlib.contextmanager
def mapping(length: int, prot: int, flags: int, fd: int = -1, offset: int = 0) -> Iterator[int]:
    """Map with raw.mmap and unmap on exit."""
    address = raw.mmap(0, length, prot, flags, fd, offset)
    try:
        yield address
    finally:
        raw.munmap(address, length)


@contextlib.contextmanager
def make_file(
    context: ProbeContext, name: str, data: bytes, mode: int = os.O_RDWR
) -> Iterator[int]:
    """Create a file holding ``data``, open it with ``mode``; close and remove on exit."""
    path = context.path(name)
    with open(path, "wb") as created:
        created.write(data)
    descriptor = os.open(path, mode | getattr(os, "O_CLOEXEC", 0))
    try:
        yield descriptor
    finally:
        os.close(descriptor)
        with contextlib.suppress(OSError):
            os.unlink(path)


def resident(vector: bytes) -> list[bool]:
    """Read a mincore(2) vector: bit 0 of each byte (the BSDs use the others)."""
    return [bool(byte & 1) for byte in vector]


def skip_under_qemu(context: ProbeContext, what: str, expected: str = "") -> None:
    """Skip when qemu-user, not the kernel, would answer; ``what`` says what qemu does.

    Raises:
        CheckSkipped: the platform is qemu-user.
    """
    if context.platform.emulation == "qemu-user":
        raise CheckSkipped(f"qemu-user {what}, so the kernel's answer never arrives", expected)


def need_fork(expected: str = "") -> None:
    """Skip where os.fork is missing.

    Raises:
        CheckSkipped: there is no os.fork.
    """
    if not hasattr(os, "fork"):  # pragma: no cover - every POSIX CPython forks
        raise CheckSkipped("os.fork is not available on this platform", expected)


def in_fork(child: Callable[[], int]) -> str:
    """Run ``child`` in a forked process; return its exit code as text or its signal.

    The child sets RLIMIT_CORE to 0 (a fault leaves no core file), turns
    faulthandler off (the fault is the answer), runs the
    function and leaves with ``os._exit`` whatever happens; an exception
    there is exit status 70.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns; measured by its effects
        status = 70
        try:
            with contextlib.suppress(Exception):
                import resource

                resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            # An expected fault is the answer, not a crash to report (pytest
            # and -X faulthandler enable the handler in the parent).
            faulthandler.disable()
            status = child()
        finally:
            os._exit(status)
    _, wait_status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(wait_status):
        return _signal_name(os.WTERMSIG(wait_status))
    return str(os.WEXITSTATUS(wait_status))


def fork_answer(child: Callable[[], str]) -> str:
    """Run ``child`` in a forked process and return the text it returned.

    The text comes back through a pipe; a child killed by a signal or
    leaving without an answer is described instead ("SIGSEGV", "exit
    status 70"). An exception in the child is its answer, as
    "TypeName: message".
    """
    reader, writer = os.pipe()

    def answer() -> int:  # pragma: no cover - runs in the forked child
        os.close(reader)
        try:
            text = child()
        except Exception as error:  # the child's failure is its answer
            text = f"{type(error).__name__}: {error}"
        os.write(writer, text.encode("utf-8", "replace"))
        return 0

    try:
        ending = in_fork(answer)
    finally:
        os.close(writer)
    with os.fdopen(reader, "rb") as pipe:
        text = pipe.read().decode("utf-8", "replace")
    if ending == "0" and text:
        return text
    return ending if not ending.isdigit() else f"exit status {ending}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


#: What the child runs before its snippet: no core file, rawmmap importable.
_CHILD_PRELUDE = """\
import os, sys
try:
    import resource
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
except (ImportError, ValueError, OSError):
    pass
sys.path.insert(0, sys.argv[1])
from rawmmap import raw
from rawmmap.flags import Advice, MapFlag, Prot
page = raw.page_size()
anonymous = MapFlag.PRIVATE | MapFlag.ANONYMOUS
"""


def run_child(context: ProbeContext, snippet: str) -> tuple[int, str, str]:
    """Run the prelude and ``snippet`` in ``sys.executable -I``; return (status, out, err).

    The status is negative when a signal killed the child (subprocess).
    ``sys.argv[2]`` in the child is the probe's temporary directory.
    """
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(rawmmap.__file__)))
    command = [
        sys.executable,
        "-I",
        "-c",
        _CHILD_PRELUDE + textwrap.dedent(snippet),
        package_parent,
        context.directory,
    ]
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=CHILD_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        return 0, "", f"timed out after {CHILD_TIMEOUT:.0f} s"
    return completed.returncode, completed.stdout, completed.stderr


def describe_exit(status: int, stderr: str) -> str:
    """Say how a child ended: its signal, "no fault", or the exit status and last line."""
    if status < 0:
        return _signal_name(-status)
    lines = stderr.strip().splitlines()
    if status == 0 and not lines:
        return "no fault"
    return f"exit status {status}" + (f" ({lines[-1]})" if lines else "")


def fault(context: ProbeContext, snippet: str) -> str:
    """Run ``snippet`` in a child; return the signal that killed it, or "no fault"."""
    status, _, stderr = run_child(context, textwrap.dedent(snippet) + "\nprint('no fault')\n")
    return describe_exit(status, stderr)


def filesystem_type(directory: str) -> str:
    """Return the filesystem type of ``directory`` from /proc/self/mountinfo, or ""."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as mountinfo:
            lines = mountinfo.read().splitlines()
    except OSError:
        return ""
    target = os.path.realpath(directory)
    best = ("", "")
    for line in lines:
        # proc(5): ID parent major:minor root mount-point options ... - type source
        before, separator, after = line.partition(" - ")
        fields = before.split()
        if not separator or len(fields) < 5 or not after:
            continue
        mount_point = fields[4].replace("\\040", " ")
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best[0]):
            best = (mount_point, after.split()[0])
    return best[1]


def maps_lines(start: int, end: int) -> list[str]:
    """Return the /proc/self/maps lines of the areas that overlap [start, end).

    An area may reach past the range: the kernel merges a mapping with a
    neighbour of the same kind.

    Raises:
        CheckSkipped: /proc/self/maps cannot be read.
    """
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            lines = maps.read().splitlines()
    except OSError as error:
        raise CheckSkipped(
            f"/proc/self/maps is not readable ({errno_name(error.errno)})"
        ) from error
    found = []
    for line in lines:
        low, _, high = line.split(" ", 1)[0].partition("-")
        if int(low, 16) < end and int(high, 16) > start:
            found.append(line)
    return found
