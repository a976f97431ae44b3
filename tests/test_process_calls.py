"""The plain functions on another process: process_madvise by pid, kill_and_release.

Each target is a forked child of the test, killed and reaped before the
test returns.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import time
from collections.abc import Iterator

import pytest

import rawmmap
from rawmmap import Advice, raw

from .emulation import PIDFD_OPEN_IS_MISSING, skip_under_qemu_user
from .test_raw_linux import PROCESS_MADVISE_MISSING

PAGE = rawmmap.page_size()


@pytest.fixture
def child() -> Iterator[int]:
    """A forked child that sleeps until it is killed; reaped afterwards."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            while True:
                time.sleep(1)
        finally:
            os._exit(0)
    try:
        yield pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


@pytest.mark.skipif(PROCESS_MADVISE_MISSING is not None, reason=str(PROCESS_MADVISE_MISSING))
def test_process_madvise_by_pid_takes_regions_and_pairs() -> None:
    with rawmmap.map_anonymous(4 * PAGE) as region:
        region.write(0, b"x" * (4 * PAGE))
        # A child forked after the mapping has it at the same address.
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            time.sleep(30)
            os._exit(0)
        try:
            assert rawmmap.process_madvise(pid, [region], Advice.COLD) == 4 * PAGE
            # COLD again: Linux 5.10's process_madvise takes only COLD and
            # PAGEOUT (EINVAL for WILLNEED, added in 5.15 by commit
            # d5fffc5aff26 "mm/madvise: add MADV_WILLNEED to process_madvise()").
            assert rawmmap.process_madvise(pid, [(region.address, PAGE)], Advice.COLD) == PAGE
        finally:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    with pytest.raises(ProcessLookupError):
        rawmmap.process_madvise(pid, [], Advice.COLD)  # reaped: no such process


@skip_under_qemu_user(PIDFD_OPEN_IS_MISSING)
def test_kill_and_release_kills_and_frees_a_child(child: int) -> None:
    if not raw.HAS_PROCESS_MRELEASE:
        pytest.skip("no process_mrelease here")
    try:
        rawmmap.kill_and_release(child)
    except OSError as error:
        if error.errno == errno.ENOSYS:  # before Linux 5.15 (38 on most ABIs, 89 on mips)
            pytest.skip(f"process_mrelease is refused here: {error}")
        raise
    _, status = os.waitpid(child, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


@skip_under_qemu_user(PIDFD_OPEN_IS_MISSING)
def test_kill_and_release_of_no_such_process_is_processlookuperror() -> None:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os._exit(0)
    os.waitpid(pid, 0)  # reaped: the pid names nothing now (until reused)
    with pytest.raises(ProcessLookupError):
        rawmmap.kill_and_release(pid)
