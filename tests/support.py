"""The suite's one way to start a child interpreter on this checkout.

Anything that may fault, and anything that needs a fresh interpreter (the
CLI, the fuzzer, the benchmark, mypy), runs in a child started with
``sys.executable`` (under qemu-user that re-enters the same guest), with
this checkout first on ``PYTHONPATH``, so that a test can assert how the
child ended instead of dying with it.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

__all__ = ["ROOT", "child_environment", "run_interpreter", "run_python"]

#: The checkout's root.
ROOT = Path(__file__).resolve().parent.parent


def child_environment(**extra: str) -> dict[str, str]:
    """This process's environment with the checkout first on PYTHONPATH, plus ``extra``."""
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(ROOT), environment.get("PYTHONPATH", "")) if part
    )
    environment.update(extra)
    return environment


def run_interpreter(
    arguments: Sequence[str],
    *,
    timeout: float = 120,
    cwd: Path | None = None,
    environment: dict[str, str] | None = None,
    pass_fds: Sequence[int] = (),
    stdout: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``sys.executable`` with ``arguments``; return the finished process, output captured."""
    return subprocess.run(
        [sys.executable, *arguments],
        stdout=subprocess.PIPE if stdout is None else stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=child_environment() if environment is None else environment,
        pass_fds=tuple(pass_fds),
        check=False,
    )


def run_python(
    source: str,
    *arguments: str,
    flags: Sequence[str] = (),
    timeout: float = 120,
    cwd: Path | None = None,
    pass_fds: Sequence[int] = (),
) -> subprocess.CompletedProcess[str]:
    """Run Python ``source`` (dedented) in a child; ``flags`` go before ``-c``."""
    return run_interpreter(
        [*flags, "-c", textwrap.dedent(source), *arguments],
        timeout=timeout,
        cwd=cwd,
        pass_fds=pass_fds,
    )


def is_mapped(address: int, length: int | None = None) -> bool:
    """Ask the kernel (mincore: ENOMEM over a hole) whether [address, address+length) is mapped."""
    from rawmmap import page_size, raw

    try:
        raw.mincore(address, page_size() if length is None else length)
    except OSError as error:
        assert error.errno == errno.ENOMEM
        return False
    return True
