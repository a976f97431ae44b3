"""Copy-on-write and fork: what a child inherits, shares and does not see.

Each check forks; the child answers through a pipe and leaves with
os._exit, so nothing of the probe runs twice.
"""

from __future__ import annotations

import os
import struct
import sys

from rawmmap import raw
from rawmmap.flags import Advice, MapFlag
from rawmmap.probe.registry import CheckSkipped, Outcome, ProbeContext, check, judge
from rawmmap.probe.support import (
    PAGE,
    PRIVATE_ANONYMOUS,
    READ_WRITE,
    SHARED_ANONYMOUS,
    errno_name,
    fork_answer,
    mapping,
    need_fork,
    skip_under_qemu,
)


@check("shared-private-across-fork")
def check_shared_private_across_fork(context: ProbeContext) -> Outcome:
    """After fork, a child's store to MAP_SHARED memory reaches the parent, to MAP_PRIVATE not.

    The parent stores "parent" in a shared and a private anonymous page
    and forks; the child checks it sees "parent" in both, stores "child!"
    in both and exits with os._exit.

    Source: POSIX.1-2017 fork(): "Memory mappings created in the parent
    shall be retained in the child process. MAP_PRIVATE mappings inherited
    from the parent shall also be MAP_PRIVATE mappings in the child, and
    any modifications to the data in these mappings made by the parent
    prior to calling fork() shall be visible to the child ...
    Modifications to the data in MAP_PRIVATE mappings made by the child
    shall be visible only to the child."
    """
    expected = "child sees the parent's data; parent sees the shared store, not the private one"
    if not hasattr(os, "fork"):
        raise CheckSkipped("os.fork is not available on this platform", expected)
    with (
        mapping(PAGE, READ_WRITE, MapFlag.SHARED | MapFlag.ANONYMOUS) as shared,
        mapping(PAGE, READ_WRITE, PRIVATE_ANONYMOUS) as private,
    ):
        raw.write(shared, b"parent")
        raw.write(private, b"parent")
        sys.stdout.flush()
        sys.stderr.flush()
        child = os.fork()
        if child == 0:  # pragma: no cover - runs in the child, which never returns
            status = 3
            try:
                saw = raw.read(shared, 6) == b"parent" and raw.read(private, 6) == b"parent"
                raw.write(shared, b"child!")
                raw.write(private, b"child!")
                status = 0 if saw else 4
            finally:
                os._exit(status)
        _, wait_status = os.waitpid(child, 0)
        shared_now = raw.read(shared, 6)
        private_now = raw.read(private, 6)
    child_code = (
        os.waitstatus_to_exitcode(wait_status)
        if hasattr(os, "waitstatus_to_exitcode")
        else (wait_status >> 8)
    )
    child_saw = {0: "sees", 4: "does not see"}.get(child_code, f"failed ({child_code})")
    observed = (
        f"child {child_saw} the parent's data; parent "
        f"{'sees' if shared_now == b'child!' else 'does not see'} the shared store, "
        f"{'not' if private_now == b'parent' else 'and'} the private one"
    )
    return judge(expected, observed)


def _advise(
    context: ProbeContext, address: int, advice_name: str, since: str, expected: str
) -> None:
    if not hasattr(Advice, advice_name):
        raise CheckSkipped(f"MADV_{advice_name} is not on this platform", expected)
    skip_under_qemu(context, "answers madvise(2) itself (0, no effect)", expected)
    try:
        raw.madvise(address, PAGE, Advice[advice_name])
    except OSError as error:
        raise CheckSkipped(
            f"madvise({advice_name}) failed with {errno_name(error.errno)}: it needs Linux {since}",
            expected,
        ) from error


@check("fork-private-parent-store")
def check_fork_private_parent_store(context: ProbeContext) -> Outcome:
    """After fork, a parent's store to MAP_PRIVATE memory is not seen by the child.

    The child waits on a pipe until the parent has stored, then reads.

    Source: POSIX.1-2017 fork(): the child's MAP_PRIVATE mappings see the
    parent's modifications "made by the parent prior to calling fork()"
    (and only those); Linux fork(2): "the child and the parent process
    run in separate memory spaces ... Memory writes ... performed by one
    of the processes do not affect the other."
    """
    expected = "the child sees the data from before fork, not the later store"
    need_fork(expected)
    reader, writer = os.pipe()
    with mapping(PAGE, READ_WRITE, PRIVATE_ANONYMOUS) as address:
        raw.write(address, b"before")

        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child waits for the store, then reads
            status = 3
            try:
                os.close(writer)
                os.read(reader, 1)
                status = {b"before": 0, b"after!": 1}.get(raw.read(address, 6), 2)
            finally:
                os._exit(status)
        try:
            raw.write(address, b"after!")
            os.write(writer, b"x")
        finally:
            os.close(reader)
            os.close(writer)
            _, wait_status = os.waitpid(pid, 0)
    code = os.WEXITSTATUS(wait_status) if os.WIFEXITED(wait_status) else -1
    answer = {
        0: expected,
        1: "the child sees the later store",
        2: "the child reads neither",
    }.get(code, f"the child failed ({wait_status})")
    return judge(expected, answer)


@check("fork-shared-anonymous-both-ways")
def check_fork_shared_anonymous_both_ways(context: ProbeContext) -> Outcome:
    """A MAP_SHARED|MAP_ANONYMOUS page is one page for parent and child, in both directions.

    The child stores, the parent sees it; the parent's earlier store is
    seen by the child.

    Source: Linux mmap(2), MAP_SHARED: "Updates to the mapping are visible
    to other processes mapping the same region"; MAP_ANONYMOUS with
    MAP_SHARED is supported "since Linux 2.4"; POSIX.1-2017 fork():
    "Memory mappings created in the parent shall be retained in the child
    process."
    """
    expected = "child sees the parent's store; parent sees the child's"
    need_fork(expected)
    with mapping(PAGE, READ_WRITE, SHARED_ANONYMOUS) as address:
        raw.write(address, b"parent")

        def child() -> str:  # pragma: no cover - runs in a forked child
            saw = raw.read(address, 6) == b"parent"
            raw.write(address + 8, b"child")
            return "sees" if saw else "does not see"

        child_saw = fork_answer(child)
        parent_saw = raw.read(address + 8, 5) == b"child"
    observed = (
        f"child {child_saw} the parent's store; parent "
        f"{'sees' if parent_saw else 'does not see'} the child's"
    )
    return judge(expected, observed)


@check("madv-wipeonfork")
def check_madv_wipeonfork(context: ProbeContext) -> Outcome:
    """MADV_WIPEONFORK: the child sees the page zero-filled; the parent keeps its data.

    Source: Linux madvise(2), MADV_WIPEONFORK (since Linux 4.14): "Present
    the child process with zero-filled memory in this range after a
    fork(2). This is useful in forking servers in order to ensure that
    sensitive per-process data (for example, PRNG seeds ...) is not
    handed to child processes."
    """
    expected = "child reads zero; parent keeps its data"
    need_fork(expected)
    with mapping(PAGE, READ_WRITE, PRIVATE_ANONYMOUS) as address:
        raw.write(address, b"secret")
        _advise(context, address, "WIPEONFORK", "4.14", expected)

        def child() -> str:  # pragma: no cover - runs in a forked child
            return "zero" if raw.read(address, 6) == bytes(6) else "the data"

        seen = fork_answer(child)
        kept = raw.read(address, 6) == b"secret"
    return judge(expected, f"child reads {seen}; parent {'keeps' if kept else 'lost'} its data")


@check("madv-dontfork")
def check_madv_dontfork(context: ProbeContext) -> Outcome:
    """MADV_DONTFORK: the child has no mapping there (SIGSEGV); after DOFORK it has one again.

    Source: Linux madvise(2), MADV_DONTFORK (since Linux 2.6.16): "Do not
    make the pages in this range available to the child after a fork(2)";
    MADV_DOFORK: "Undo the effect of MADV_DONTFORK, restoring the default
    behavior".
    """
    expected = "DONTFORK: the child gets SIGSEGV; DOFORK: the child reads the data"
    need_fork(expected)
    with mapping(PAGE, READ_WRITE, PRIVATE_ANONYMOUS) as address:
        raw.write(address, b"parent")
        _advise(context, address, "DONTFORK", "2.6.16", expected)

        def child() -> str:  # pragma: no cover - runs in a forked child
            return "the child reads the data" if raw.read(address, 6) == b"parent" else "other"

        absent = fork_answer(child)
        raw.madvise(address, PAGE, Advice.DOFORK)
        present = fork_answer(child)
    absent = f"the child gets {absent}" if absent.startswith("SIG") else absent
    return judge(expected, f"DONTFORK: {absent}; DOFORK: {present}")


#: /proc/pid/pagemap: bit 63 present, bit 56 "page exclusively mapped" (4.2+).
_PRESENT = 1 << 63
_EXCLUSIVE = 1 << 56


def _page_state(address: int) -> str | None:
    try:
        with open("/proc/self/pagemap", "rb") as pagemap:
            pagemap.seek(address // PAGE * 8)
            data = pagemap.read(8)
    except OSError:
        return None
    if len(data) != 8:
        return None
    (entry,) = struct.unpack("=Q", data)
    if not entry & _PRESENT:
        return "absent"
    return "exclusive" if entry & _EXCLUSIVE else "shared"


@check("fork-cow-page-state")
def check_fork_cow_page_state(context: ProbeContext) -> Outcome:
    """pagemap: a private page is exclusive, shared while a child lives, exclusive after a store.

    The page-exclusively-mapped bit (56) shows copy-on-write at work:
    fork makes both processes map the one page; the parent's store
    copies it and the copy is the parent's alone.

    Source: the kernel's Documentation/admin-guide/mm/pagemap.rst: "Bit 56
    page exclusively mapped (since 4.2)", "Bit 63 page present"; Linux
    fork(2): the child's pages are copy-on-write.
    """
    expected = "before fork: exclusive; child alive: shared; after the parent's store: exclusive"
    need_fork(expected)
    if _page_state(0) is None:
        raise CheckSkipped("/proc/self/pagemap cannot be read here", expected)
    skip_under_qemu(context, "maps guest pages its own way (pagemap is the host's view)", expected)
    reader, writer = os.pipe()
    with mapping(PAGE, READ_WRITE, PRIVATE_ANONYMOUS) as address:
        raw.write(address, b"cow")
        before = _page_state(address)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child waits for the parent, then leaves
            try:
                os.close(writer)
                os.read(reader, 1)
            finally:
                os._exit(0)
        try:
            during = _page_state(address)
            raw.write(address, b"new")
            after = _page_state(address)
        finally:
            os.close(writer)
            os.close(reader)
            os.waitpid(pid, 0)
    observed = f"before fork: {before}; child alive: {during}; after the parent's store: {after}"
    return judge(expected, observed)
