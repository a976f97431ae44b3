"""Sharing a Region with other processes: fork, inherited and passed descriptors."""

from __future__ import annotations

import os
import socket
import sys
import traceback
from collections.abc import Iterator
from typing import Callable

import pytest

import rawmmap
from rawmmap import shm

from .shm_support import NameFactory, unique_names
from .support import run_python

needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork")


@pytest.fixture
def new_name() -> Iterator[NameFactory]:
    """Unique shared memory names, each unlinked after the test, even a failed one."""
    yield from unique_names()


def run_in_fork(child: Callable[[], bool]) -> int:
    """Run ``child`` in a forked process; return its exit code (0 when it returned True)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, which never returns
        code = 3
        try:
            code = 0 if child() else 1
        except BaseException:
            traceback.print_exc()
            code = 2
        finally:
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


# ------------------------------------------------------------ fork


@needs_fork
def test_shared_anonymous_memory_is_seen_by_parent_and_child() -> None:
    with rawmmap.map_anonymous(4096, shared=True) as region:
        region[0:6] = b"parent"

        def child() -> bool:
            seen = region[0:6] == b"parent"
            region[0:6] = b"child!"
            return seen

        assert run_in_fork(child) == 0
        assert region[0:6] == b"child!"


@needs_fork
def test_private_anonymous_memory_is_copied_on_write_after_fork() -> None:
    with rawmmap.map_anonymous(4096, shared=False) as region:
        region[0:6] = b"parent"

        def child() -> bool:
            seen = region[0:6] == b"parent"
            region[0:6] = b"child!"
            return seen and region[0:6] == b"child!"

        assert run_in_fork(child) == 0
        assert region[0:6] == b"parent"


@needs_fork
def test_named_object_mapped_shared_is_written_through_by_a_forked_child(
    new_name: NameFactory,
) -> None:
    name = new_name()
    with rawmmap.map_shared_memory(name, 4096, create=True, exclusive=True) as region:

        def child() -> bool:
            region[0:5] = b"child"
            return True

        assert run_in_fork(child) == 0
        assert region[0:5] == b"child"
        with rawmmap.map_shared_memory(name) as again:
            assert again[0:5] == b"child"


@needs_fork
def test_private_mapping_of_a_named_object_keeps_the_childs_writes_private(
    new_name: NameFactory,
) -> None:
    name = new_name()
    fd = shm.shm_open(name, create=True, exclusive=True)
    try:
        os.ftruncate(fd, 4096)
        private = rawmmap.mmap(4096, flags=rawmmap.MapFlag.PRIVATE, fd=fd)
    finally:
        os.close(fd)
    with private, rawmmap.map_shared_memory(name) as shared:
        shared[0:6] = b"object"

        def child() -> bool:
            seen = private[0:6] == b"object"  # untouched private pages read the object
            private[0:6] = b"child!"
            return seen

        assert run_in_fork(child) == 0
        assert private[0:6] == b"object"
        assert shared[0:6] == b"object"


@needs_fork
def test_memfd_region_is_shared_across_fork() -> None:
    with rawmmap.map_memfd(4096) as memory:

        def child() -> bool:
            memory.region[0:5] = b"child"
            return True

        assert run_in_fork(child) == 0
        assert memory.region[0:5] == b"child"


# ------------------------------------------------------------ descriptors

_MAP_AND_ANSWER = """
    import os, sys
    import rawmmap
    fd = {fd}
    with rawmmap.mmap(os.fstat(fd).st_size, fd=fd) as region:
        print(region[0:8].decode())
        region[8:16] = b"answered"
    os.close(fd)
"""


def test_inherited_descriptor_is_mapped_by_a_new_process() -> None:
    with rawmmap.map_memfd(4096) as memory:
        memory.region[0:8] = b"question"
        result = run_python(_MAP_AND_ANSWER.format(fd=memory.fd), pass_fds=[memory.fd])
        assert result.returncode == 0, result.stderr
        assert result.stdout == "question\n"
        assert memory.region[8:16] == b"answered"


@pytest.mark.skipif(not hasattr(socket, "send_fds"), reason="no socket.send_fds (Python < 3.9)")
def test_descriptor_passed_over_a_unix_socket_is_mapped_by_another_process() -> None:
    # The receiver does not inherit the memory's descriptor, only one end of
    # a socket pair; the descriptor travels as SCM_RIGHTS ancillary data.
    receiver_code = """
        import os, socket, sys
        import rawmmap
        channel = socket.socket(fileno=int(sys.argv[1]))
        message, fds, _, _ = socket.recv_fds(channel, 16, 1)
        fd = fds[0]
        with rawmmap.mmap(os.fstat(fd).st_size, fd=fd) as region:
            print(message.decode(), region[0:8].decode())
            region[8:16] = b"answered"
        os.close(fd)
        channel.sendall(b"done")
    """
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with ours, theirs, rawmmap.map_memfd(4096) as memory:
        memory.region[0:8] = b"question"
        assert socket.send_fds(ours, [b"memory"], [memory.fd]) == len(b"memory")
        result = run_python(receiver_code, str(theirs.fileno()), pass_fds=[theirs.fileno()])
        assert result.returncode == 0, result.stderr
        assert result.stdout == "memory question\n"
        assert ours.recv(4) == b"done"
        assert memory.region[8:16] == b"answered"


def test_another_process_opens_the_descriptor_through_proc_pid_fd() -> None:
    with rawmmap.map_memfd(4096) as memory:
        link = f"/proc/{os.getpid()}/fd/{memory.fd}"
        if not os.path.exists(link):
            pytest.skip("no /proc/<pid>/fd here")
        memory.region[0:8] = b"question"
        code = """
            import os, sys
            import rawmmap
            fd = os.open(sys.argv[1], os.O_RDWR)
            with rawmmap.mmap(os.fstat(fd).st_size, fd=fd) as region:
                print(region[0:8].decode())
                region[8:16] = b"answered"
            os.close(fd)
        """
        result = run_python(code, link)
        if result.returncode != 0 and "PermissionError" in result.stderr:
            pytest.skip("this system forbids opening another process's /proc/<pid>/fd")
        assert result.returncode == 0, result.stderr
        assert result.stdout == "question\n"
        assert memory.region[8:16] == b"answered"


def test_temporary_file_fallback_is_shared_with_a_new_process() -> None:
    with rawmmap.map_memfd(4096, memfd=False) as memory:
        memory.region[0:8] = b"question"
        result = run_python(_MAP_AND_ANSWER.format(fd=memory.fd), pass_fds=[memory.fd])
        assert result.returncode == 0, result.stderr
        assert memory.region[8:16] == b"answered"
