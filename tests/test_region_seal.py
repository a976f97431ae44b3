"""Sealing through Region: mseal(2) (Linux 6.10) recorded in the page map.

A sealed range stays mapped, with its protection, until the process exits,
so every test seals in a child process (a subprocess, measured by coverage)
and asserts there; the parent checks the child's verdict. Each refusal is
checked twice: Region raises SealedError (a PermissionError with EPERM)
before the call, and the kernel, asked through ``rawmmap.raw``, answers
EPERM too.
"""

from __future__ import annotations

import os

import pytest

import rawmmap
from rawmmap import raw

from .conftest import RunChild
from .support import run_python
from .test_region_guard import _kernel_has_guards

PAGE = rawmmap.page_size()


def _kernel_seals() -> str | None:
    """Return why sealing cannot be tested here, or None (tried in a child)."""
    if not raw.HAS_MSEAL or not hasattr(os, "fork"):
        return "no mseal(2) on this platform"
    result = run_python(
        """
        import rawmmap
        r = rawmmap.map_anonymous(rawmmap.page_size())
        try:
            rawmmap.raw.mseal(r.address, len(r))
        except OSError as error:
            print(error)
        else:
            print("sealed")
        """
    )
    answer = result.stdout.strip()
    return None if answer == "sealed" else f"mseal(2) is refused here: {answer}"


_MISSING = _kernel_seals()
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=str(_MISSING))

#: Code every child starts with: a helper that asserts a SealedError, and
#: one that asserts the kernel's own EPERM through raw.
PRELUDE = f"""
import errno, gc, os, sys, warnings
import rawmmap
from rawmmap import Advice, MapFlag, Prot, SealedError, raw
PAGE = {PAGE}

def refused(call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except SealedError as error:
        assert isinstance(error, PermissionError) and error.errno == errno.EPERM, error
        assert "sealed" in str(error), error
        return str(error)
    raise AssertionError(f"{{call.__name__}} was not refused")

def kernel_refuses(call, *args):
    try:
        call(*args)
    except PermissionError as error:
        assert error.errno == errno.EPERM, error
        return
    raise AssertionError(f"the kernel allowed {{call.__name__}}{{args}}")

def mapped(address, length=PAGE):
    try:
        raw.mincore(address, length)
    except OSError:
        return False
    return True
"""


def run_sealed(run_child: RunChild, body: str) -> None:
    """Run PRELUDE + ``body`` in a child; it must print ok and exit 0."""
    import textwrap

    result = run_child(PRELUDE + textwrap.dedent(body) + "\nprint('ok')\n")
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr


def test_sealed_pages_refuse_unmap_reprotect_move_and_resize(run_child: RunChild) -> None:
    run_sealed(
        run_child,
        """
        r = rawmmap.map_anonymous(2 * PAGE)
        r[0] = 1
        assert not r.is_sealed(0)
        r.mseal()
        assert r.is_sealed(0) and r.is_sealed(PAGE)
        message = refused(r.munmap, 0, PAGE)
        assert "[0, 4096)" in message or "[0, " in message, message
        refused(r.munmap)
        refused(r.mprotect, Prot.READ)
        refused(r.mprotect, Prot.READ | Prot.WRITE, PAGE, PAGE)  # even the same protection
        refused(r.pkey_mprotect, Prot.READ, -1)
        refused(r.mremap, 4 * PAGE)
        refused(r.mremap, PAGE)
        refused(r.mremap, 2 * PAGE, dontunmap=True)
        refused(r.resize, PAGE)
        # The kernel agrees, for each.
        kernel_refuses(raw.munmap, r.address, PAGE)
        kernel_refuses(raw.mprotect, r.address, PAGE, Prot.READ)
        kernel_refuses(raw.mremap, r.address, 2 * PAGE, 4 * PAGE, 0)
        kernel_refuses(raw.mremap, r.address, 2 * PAGE, PAGE, 0)
        # Nothing changed: the memory is there, with its protection.
        assert r[0] == 1 and mapped(r.address, 2 * PAGE)
        assert r.protection(0) == Prot.READ | Prot.WRITE
        r.write(PAGE, b"still writable")
        assert r.read(PAGE, 14) == b"still writable"
        with r.view(0, 16) as v:
            v[1] = 2
        assert r[1] == 2
        r.msync(rawmmap.SyncFlag.ASYNC)
        r.mlock()
        r.munlock()
        r.madvise(Advice.WILLNEED)
        assert r.mincore() == [True, False] or r.mincore()[0]
        """,
    )


def test_a_move_onto_a_sealed_region_is_refused(run_child: RunChild) -> None:
    run_sealed(
        run_child,
        """
        source = rawmmap.map_anonymous(PAGE)
        target = rawmmap.map_anonymous(PAGE)
        target.mseal()
        refused(source.mremap, PAGE, into=target)
        assert not source.closed and not target.closed
        kernel_refuses(raw.mremap, source.address, PAGE, PAGE,
                       rawmmap.RemapFlag.MAYMOVE | rawmmap.RemapFlag.FIXED, target.address)
        source.munmap()
        """,
    )


def test_part_sealed_region_unmaps_around_the_seal_and_atomically_refuses(
    run_child: RunChild,
) -> None:
    run_sealed(
        run_child,
        """
        r = rawmmap.map_anonymous(4 * PAGE)
        r.mseal(PAGE, PAGE)
        assert [r.is_sealed(i * PAGE) for i in range(4)] == [False, True, False, False]
        # A range over the seal is refused whole: nothing of it is unmapped.
        refused(r.munmap, 0, 3 * PAGE)
        assert mapped(r.address, 4 * PAGE)
        kernel_refuses(raw.munmap, r.address, 3 * PAGE)
        assert mapped(r.address, 4 * PAGE)  # the kernel's munmap is atomic too
        r.munmap(0, PAGE)
        r.munmap(2 * PAGE)
        assert r.protection(0) is None and mapped(r.address + PAGE)
        # A grow in place is the last area's: refused where it is sealed,
        # allowed where only an earlier area is.
        g = rawmmap.map_anonymous(2 * PAGE)
        g.mseal(PAGE, PAGE)
        refused(g.mremap, 8 * PAGE, may_move=False)
        h = rawmmap.map_anonymous(2 * PAGE, flags=MapFlag.NORESERVE)
        h.mseal(0, PAGE)
        try:
            h.mremap(3 * PAGE, may_move=False)
        except OSError as error:
            assert error.errno == errno.ENOMEM and not isinstance(error, SealedError), error
        else:
            assert len(h) == 3 * PAGE and h.is_sealed(0) and not h.is_sealed(2 * PAGE)
        """,
    )


def test_leaving_a_with_block_unmaps_what_is_not_sealed(run_child: RunChild) -> None:
    run_sealed(
        run_child,
        """
        warnings.simplefilter("error")
        with rawmmap.map_anonymous(3 * PAGE) as r:
            r[PAGE] = 9
            r.mseal(PAGE, PAGE)
            address = r.address
        assert r.closed
        assert not mapped(address) and not mapped(address + 2 * PAGE)
        assert mapped(address + PAGE) and raw.read(address + PAGE, 1) == b"\\x09"
        # A view of sealed pages outlives the Region that let them go.
        with rawmmap.map_anonymous(PAGE) as s:
            s.mseal()
            v = s.view()
        v[0] = 5
        assert bytes(v[:1]) == b"\\x05"
        v.release()
        # A view of the unsealed pages still refuses.
        t = rawmmap.map_anonymous(2 * PAGE)
        t.mseal(0, PAGE)
        w = t.view(PAGE, 8)
        try:
            t.__exit__(None, None, None)
        except BufferError:
            pass
        else:
            raise AssertionError("a live view of unsealed pages did not refuse")
        w.release()
        t.__exit__(None, None, None)
        assert t.closed
        """,
    )


def test_a_dropped_sealed_region_keeps_its_seal_and_warns_only_when_it_could_unmap(
    run_child: RunChild,
) -> None:
    run_sealed(
        run_child,
        """
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            r = rawmmap.map_anonymous(PAGE)
            r.mseal()
            address = r.address
            del r
            gc.collect()
            assert not caught, [str(w.message) for w in caught]
            assert mapped(address)
            r = rawmmap.map_anonymous(2 * PAGE)
            r.mseal(0, PAGE)
            address = r.address
            del r
            gc.collect()
            assert [w.category for w in caught] == [ResourceWarning], caught
            assert mapped(address) and not mapped(address + PAGE)
        """,
    )


@pytest.mark.parametrize(
    ("kind", "advice", "refuse"),
    [
        # mm/mseal.c: advice that discards is refused on sealed private
        # anonymous pages that are not writable; elsewhere the kernel allows it.
        ("private-ro", "DONTNEED", True),
        ("private-ro", "FREE", True),
        ("private-ro", "DONTFORK", True),
        ("private-ro", "WIPEONFORK", True),
        ("private-ro", "GUARD_INSTALL", True),
        ("private-none", "DONTNEED", True),
        ("private-ro", "WILLNEED", False),
        ("private-ro", "COLD", False),
        ("private-rw", "DONTNEED", False),
        ("shared-ro", "DONTNEED", False),
        ("file-private-ro", "DONTNEED", False),
    ],
)
def test_discarding_advice_on_sealed_pages_follows_the_kernels_rule(
    run_child: RunChild, tmp_path: object, kind: str, advice: str, refuse: bool
) -> None:
    if advice not in rawmmap.Advice.__members__:
        pytest.skip(f"no MADV_{advice} here")
    if advice == "GUARD_INSTALL" and not _kernel_has_guards():
        pytest.skip("this kernel has no guard regions (Linux 6.13)")
    run_sealed(
        run_child,
        f"""
        kind, advice, refuse = {kind!r}, Advice.{advice}, {refuse!r}
        prot = Prot.NONE if kind == "private-none" else (
            Prot.READ | Prot.WRITE if kind.endswith("rw") else Prot.READ)
        if kind.startswith("file"):
            path = os.path.join({str(tmp_path)!r}, "data")
            with open(path, "wb") as f:
                f.write(bytes(PAGE))
            r = rawmmap.map_file(path, prot=prot, shared=False)
        else:
            r = rawmmap.map_anonymous(PAGE, prot, shared=kind.startswith("shared"))
        r.mseal()
        if refuse:
            refused(r.madvise, advice)
            kernel_refuses(raw.madvise, r.address, PAGE, advice)
        else:
            try:
                r.madvise(advice)
            except SealedError as error:
                raise AssertionError(f"refused what the kernel allows: {{error}}")
            except OSError as error:
                # e.g. FREE on shared memory: the kernel's own EINVAL, not a seal.
                assert error.errno != errno.EPERM, error
        """,
    )


def test_a_forked_child_inherits_the_seal(run_child: RunChild) -> None:
    run_sealed(
        run_child,
        """
        r = rawmmap.map_anonymous(PAGE)
        r.mseal()
        pid = os.fork()
        if pid == 0:
            try:
                raw.munmap(r.address, PAGE)
            except PermissionError:
                os._exit(0 if r.is_sealed() else 2)
            os._exit(1)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
        """,
    )


def test_sealing_checks_its_range_and_refuses_inside_another_call(run_child: RunChild) -> None:
    run_sealed(
        run_child,
        """
        r = rawmmap.map_anonymous(3 * PAGE)
        r.munmap(PAGE, PAGE)
        for call in (lambda: r.mseal(), lambda: r.mseal(0, 2 * PAGE)):
            try:
                call()
            except ValueError as error:
                assert "unmapped" in str(error)
            else:
                raise AssertionError("a seal over a hole was not refused")
        assert not r.is_sealed(0)
        try:
            r.mseal(1, PAGE)
        except ValueError as error:
            assert "multiple of the page size" in str(error)
        else:
            raise AssertionError("an unaligned seal was not refused")
        # From inside another call (as a signal handler or finalizer would):
        # a seal would make the call in progress fail half-way.
        seen = []
        original = r._check_access
        def nested(*args):
            original(*args)
            try:
                r.mseal(0, PAGE)
            except RuntimeError as error:
                seen.append(str(error))
        r._check_access = nested  # view() always asks it
        r.view(0, 1).release()
        del r._check_access
        assert seen and "view() is in progress" in seen[0], seen
        assert not r.is_sealed(0)
        r.munmap()
        """,
    )


def test_resizing_a_sealed_file_mapping_leaves_the_file_alone(
    run_child: RunChild, tmp_path: object
) -> None:
    run_sealed(
        run_child,
        f"""
        path = os.path.join({str(tmp_path)!r}, "data")
        with open(path, "wb") as f:
            f.write(bytes(PAGE))
        r = rawmmap.map_file(path, prot=Prot.READ | Prot.WRITE)
        r.mseal()
        refused(r.resize, 4 * PAGE)
        assert os.path.getsize(path) == PAGE
        r[0] = 3
        r.msync()
        with open(path, "rb") as f:
            assert f.read(1) == b"\\x03"
        # A shrink inside the last page unmaps nothing: the kernel allows it.
        r.resize(1)
        assert os.path.getsize(path) == 1 and len(r) == 1 and r[0] == 3
        """,
    )


def test_seal_edge_cases_dev_zero_nesting_and_double_exit(run_child: RunChild) -> None:
    run_sealed(
        run_child,
        """
        # A private map of /dev/zero is anonymous memory to the kernel: its
        # EPERM for discarding advice comes back as SealedError too.
        fd = os.open("/dev/zero", os.O_RDWR)
        z = rawmmap.map_file(fd, PAGE, prot=Prot.READ, shared=False)
        os.close(fd)
        z.mseal()
        # Linux 6.18 refuses it (the area is anonymous); 6.12 still counted
        # the /dev/zero file and allowed it. Either way, no other error.
        try:
            z.madvise(Advice.DONTNEED)
        except SealedError:
            kernel_refuses(raw.madvise, z.address, PAGE, Advice.DONTNEED)
        # Only the sealed pages of a range are looked at.
        r = rawmmap.map_anonymous(2 * PAGE, Prot.READ)
        r.mseal(PAGE, PAGE)
        r.madvise(Advice.DONTNEED, 0, PAGE)
        refused(r.madvise, Advice.DONTNEED)
        # Taking a permission away from inside another call is refused
        # before the seal is even looked at.
        seen = []
        original = r._check_access
        def nested(*args):
            original(*args)
            try:
                r.mprotect(Prot.NONE, 0, PAGE)
            except RuntimeError as error:
                seen.append(str(error))
        r._check_access = nested  # view() always asks it
        r.view(0, 1).release()
        del r._check_access
        assert seen and "in progress" in seen[0], seen
        # An unmapped page has no key and no seal.
        r.__exit__(None, None, None)
        r.__exit__(None, None, None)  # twice: nothing more to do
        assert r.closed
        s = rawmmap.map_anonymous(2 * PAGE)
        s.munmap(0, PAGE)
        assert s.protection_key(0) == 0 and not s.is_sealed(0)
        s.munmap()
        """,
    )


def test_a_seal_made_behind_regions_back_is_learnt_from_the_kernel(run_child: RunChild) -> None:
    run_sealed(
        run_child,
        """
        r = rawmmap.map_anonymous(3 * PAGE)
        r.write(0, b"a" * (3 * PAGE))
        r.mprotect(Prot.READ, 0, PAGE)  # two kernel areas: [0, 1) and [1, 3)
        raw.mseal(r.address + PAGE, PAGE)  # Region is not told
        assert not r.is_sealed(PAGE)
        refused(r.munmap)
        # The first area went before the kernel refused the second (whole:
        # munmap is atomic); smaps told which of its pages is sealed.
        # (Region's record: the freed page may hold another mapping by now.)
        assert r.protection(0) is None and mapped(r.address + PAGE, 2 * PAGE)
        try:
            r.read(0, 1)
        except ValueError as error:
            assert "unmapped" in str(error)
        else:
            raise AssertionError("a read of the unmapped page did not raise")
        assert r.is_sealed(PAGE) and not r.is_sealed(2 * PAGE)
        assert r.read(PAGE, 1) == b"a" and r[2 * PAGE] == ord("a")
        r.munmap(2 * PAGE, PAGE)  # the kernel allows it: so does Region
        assert r.protection(2 * PAGE) is None
        # A shrink that would cut a page sealed behind its back.
        s = rawmmap.map_anonymous(3 * PAGE)
        s[0] = 1
        raw.mseal(s.address + 2 * PAGE, PAGE)
        refused(s.mremap, PAGE)
        assert s[0] == 1 and len(s) == 3 * PAGE and s.is_sealed(2 * PAGE)
        """,
    )
