"""Region's first promise, tried as an attacker would: nothing through it crashes.

One family of tests per way the promise was broken before the page map, the
call guard and the leases (issue 10): a second owner through copy, a view's
``.obj``, code that runs in the middle of a call in the same thread, export
counts that dropped too early, DONTFORK, protection the kernel changes by
itself, unlocked reads of the page state, sparse shared memory, devices, and
the raw layer's own promises. Anything that would fault runs in a child
process, and the test asserts how the child ended.
"""

from __future__ import annotations

import copy
import ctypes
import errno
import gc
import os
import pickle
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import rawmmap
from rawmmap import Advice, MapFlag, Prot, Region, raw

from .conftest import RunChild
from .emulation import MEMFD_IS_NOT_SPARSE, skip_under_qemu_user
from .support import is_mapped

PAGE = rawmmap.page_size()
RW = Prot.READ | Prot.WRITE


def anon(pages: int = 3) -> Region:
    """Private anonymous read-write memory, as in the issue's reproducers."""
    return rawmmap.mmap(pages * PAGE, RW, MapFlag.PRIVATE | MapFlag.ANONYMOUS)


def assert_clean_exit(result: subprocess.CompletedProcess[str], marker: str = "ok") -> None:
    """The child ended normally (no signal) and printed ``marker``."""
    assert result.returncode == 0, (result.returncode, result.stdout, result.stderr)
    assert marker in result.stdout, (result.stdout, result.stderr)


# ------------------------------------------------------------------ 1. copies


@pytest.mark.parametrize(
    "attempt",
    [copy.copy, copy.deepcopy, pickle.dumps, lambda r: pickle.dumps(r, protocol=0)],
    ids=["copy", "deepcopy", "pickle", "pickle-0"],
)
def test_a_region_cannot_get_a_second_owner(attempt: object) -> None:
    with anon() as region:
        region[0] = 7
        with pytest.raises(TypeError, match="one owner"):
            attempt(region)  # type: ignore[operator]
        assert region[0] == 7


def test_copy_of_a_subclass_is_refused_too() -> None:
    class Named(Region):
        pass

    region = Named(PAGE, RW, MapFlag.PRIVATE | MapFlag.ANONYMOUS)
    with region, pytest.raises(TypeError):
        copy.copy(region)


@pytest.mark.parametrize("attempt", [copy.copy, copy.deepcopy, pickle.dumps])
def test_a_memory_file_cannot_get_a_second_owner(attempt: object) -> None:
    with rawmmap.map_memfd(PAGE) as memory:
        with pytest.raises(TypeError, match="descriptor"):
            attempt(memory)  # type: ignore[operator]
        os.fstat(memory.fd)  # still open


def test_copy_reproducer_from_the_issue_does_not_crash(run_child: RunChild) -> None:
    result = run_child(
        """
        import copy, rawmmap
        from rawmmap import MapFlag, Prot
        r = rawmmap.mmap(3 * rawmmap.page_size(), Prot.READ | Prot.WRITE,
                         MapFlag.PRIVATE | MapFlag.ANONYMOUS)
        try:
            c = copy.copy(r)
        except TypeError:
            pass
        r.munmap()
        print("ok")
        """
    )
    assert_clean_exit(result)


# ------------------------------------------------------------------ 2. a view's .obj


def test_view_obj_exposes_nothing_wider_than_the_view() -> None:
    with anon() as region:
        view = region.view(0, 16)
        assert view.obj is None
        assert memoryview(view).obj is None
        assert view.cast("B").obj is None
        with pytest.raises(TypeError):
            memoryview(view.obj)
        assert len(memoryview(view).cast("B")) == 16
        with pytest.raises(IndexError):
            memoryview(view).cast("B")[PAGE]
        view.release()


def test_obj_reproducer_from_the_issue_does_not_crash(run_child: RunChild) -> None:
    result = run_child(
        """
        import rawmmap
        from rawmmap import MapFlag, Prot
        PAGE = rawmmap.page_size()
        r = rawmmap.mmap(3 * PAGE, Prot.READ | Prot.WRITE, MapFlag.PRIVATE | MapFlag.ANONYMOUS)
        r.mprotect(Prot.NONE, PAGE, PAGE)
        v = r.view(0, 16)
        for reach in (lambda: memoryview(v.obj).cast("B")[PAGE],
                      lambda: memoryview(v).cast("B")[PAGE],
                      lambda: v[PAGE]):
            try:
                reach()
            except (TypeError, IndexError):
                pass
        v.release()
        r.munmap()
        print("ok")
        """
    )
    assert_clean_exit(result)


def test_readonly_view_stays_readonly_through_everything_made_from_it() -> None:
    with anon() as region:
        view = region.view(0, 32, readonly=True)
        assert view.readonly
        for derived in (memoryview(view), view[4:8], view.cast("B"), view.cast("I")):
            assert derived.readonly
            with pytest.raises(TypeError):
                derived[0] = 1
            derived.release()
        with pytest.raises(TypeError):
            (ctypes.c_char * 32).from_buffer(view)
        view.release()


def test_readonly_view_of_readonly_pages_cannot_write_through_ctypes(run_child: RunChild) -> None:
    result = run_child(
        """
        import ctypes, rawmmap
        from rawmmap import Prot
        r = rawmmap.map_anonymous(rawmmap.page_size(), Prot.READ)
        v = r.view()
        assert v.readonly
        for attempt in (lambda: (ctypes.c_char * 8).from_buffer(v),
                        lambda: (ctypes.c_char * 8).from_buffer(memoryview(v))):
            try:
                attempt()
            except TypeError:
                pass
        v.release()
        r.munmap()
        print("ok")
        """
    )
    assert_clean_exit(result)


def test_writable_view_through_ctypes_reaches_only_its_bytes() -> None:
    with anon() as region:
        view = region.view(PAGE, 8)
        array = (ctypes.c_char * 8).from_buffer(view)
        array[0] = b"Z"
        assert region[PAGE] == ord("Z")
        with pytest.raises(ValueError):
            (ctypes.c_char * 9).from_buffer(view)
        del array
        view.release()


def test_a_view_never_reaches_another_region_mapped_into_a_hole() -> None:
    region = anon()
    view = region.view(0, PAGE)
    region.munmap(PAGE, PAGE)  # allowed: no view covers the second page
    hole = region.address + PAGE
    other = rawmmap.mmap(
        PAGE, RW, MapFlag.PRIVATE | MapFlag.ANONYMOUS | MapFlag.FIXED_NOREPLACE, addr=hole
    )
    try:
        other[0] = 99
        assert memoryview(view).nbytes == PAGE
        with pytest.raises(IndexError):
            view[PAGE]
        with pytest.raises(ValueError, match="unmapped"):
            region.read(PAGE, 1)
        with pytest.raises(ValueError, match="unmapped"):
            region.view(PAGE, 1)
        assert other[0] == 99
    finally:
        view.release()
        other.munmap()
        region.munmap()


def test_a_view_of_a_range_survives_unmapping_other_pages() -> None:
    with anon(3) as region:
        region.write(2 * PAGE, b"kept")
        view = region.view(2 * PAGE, 4)
        with pytest.raises(BufferError):
            region.munmap(2 * PAGE, PAGE)
        region.munmap(0, 2 * PAGE)
        assert bytes(view) == b"kept"
        with pytest.raises(BufferError):
            region.munmap()
        view.release()


# ------------------------------------------------------------------ 3. same-thread re-entry


class Unmaps:
    """An argument whose conversion unmaps the region it is passed to."""

    def __init__(self, region: Region, value: int = 0) -> None:
        self.region = region
        self.value = value

    def __bool__(self) -> bool:
        self.region.munmap()
        return False

    def __index__(self) -> int:
        self.region.munmap()
        return self.value


@pytest.mark.parametrize(
    "call",
    [
        lambda r, x: r.view(readonly=x),
        lambda r, x: r.view(x),
        lambda r, x: r.view(0, x),
        lambda r, x: r.read(x, 4),
        lambda r, x: r.read(0, x),
        lambda r, x: r.write(x, b"abc"),
        lambda r, x: r.read(0, 4, x),
        lambda r, x: r.read(0, 4, tail=x),
        lambda r, x: r.write(0, b"abc", x),
        lambda r, x: r.write(0, b"abc", tail=x),
        lambda r, x: r[x],
        lambda r, x: r.__setitem__(x, 1),
        lambda r, x: r.__setitem__(0, x),
        lambda r, x: r[x:4],
        lambda r, x: r.mprotect(Prot.READ, x),
        lambda r, x: r.msync(rawmmap.SyncFlag.ASYNC, x),
        lambda r, x: r.madvise(Advice.NORMAL, x),
        lambda r, x: r.mlock(onfault=x),
        lambda r, x: r.mlock(x),
        lambda r, x: r.mincore(x),
        lambda r, x: r.protection(x),
        lambda r, x: r.mremap(2 * PAGE, may_move=x),
        lambda r, x: r.mremap(x),
    ],
)
def test_an_argument_that_unmaps_the_region_gets_valueerror_not_a_crash(call: object) -> None:
    region = anon()
    address = region.address
    with pytest.raises((ValueError, NotImplementedError)):
        call(region, Unmaps(region, PAGE))  # type: ignore[operator]
    assert region.closed
    assert not is_mapped(address)


def test_an_index_that_maps_something_else_into_the_freed_address_is_not_touched() -> None:
    region = anon(1)
    address = region.address
    replaced: list[Region] = []

    class Remaps:
        def __index__(self) -> int:
            region.munmap()
            if not replaced:
                replaced.append(
                    rawmmap.mmap(
                        PAGE,
                        Prot.READ,
                        MapFlag.PRIVATE | MapFlag.ANONYMOUS | MapFlag.FIXED_NOREPLACE,
                        addr=address,
                    )
                )
            return 0

    with pytest.raises(ValueError):
        region.write(Remaps(), b"x")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        region.madvise(Advice.DONTNEED, Remaps())  # type: ignore[arg-type]
    for other in replaced:
        assert other[0] == 0
        other.munmap()


def test_a_finalizer_that_unmaps_during_a_call_is_refused() -> None:
    region = anon()
    results: list[str] = []

    class Dropper:
        def __del__(self) -> None:
            try:
                region.munmap()
            except RuntimeError as error:
                # Keep the text only: the traceback would keep view()'s frame,
                # and the view in it, alive.
                results.append(str(error))

    # Call the finalizer from inside a Region call: in the middle of view(),
    # while it holds the guard, as the collector would.
    original = region._check_access

    def check_and_collect(
        start: int, stop: int, need: int, action: str, tail: bool = False
    ) -> None:
        original(start, stop, need, action, tail)
        holder = Dropper()
        del holder

    region._check_access = check_and_collect  # type: ignore[method-assign]
    view = region.view(0, 8)
    assert len(results) == 1
    assert "view() is in progress" in results[0]
    assert bytes(view) == bytes(8)
    view.release()
    del region._check_access
    region.munmap()


def test_signal_handler_that_unmaps_while_the_main_loop_reads(run_child: RunChild) -> None:
    result = run_child(
        """
        import signal, time, rawmmap
        PAGE = rawmmap.page_size()
        outcomes = {"refused": 0, "unmapped": 0}
        for round_ in range(30):
            region = rawmmap.map_anonymous(16 * PAGE)
            def handler(signum, frame, region=region):
                try:
                    region.munmap()
                except (RuntimeError, BufferError):
                    outcomes["refused"] += 1
            signal.signal(signal.SIGALRM, handler)
            signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)
            deadline = time.monotonic() + 0.02
            try:
                while time.monotonic() < deadline:
                    region.read(0, 16 * PAGE)
                    region[3 * PAGE:5 * PAGE] = bytes(2 * PAGE)
                    region.view(0, PAGE).release()
            except (ValueError, RuntimeError):
                outcomes["unmapped"] += 1
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0, 0)
            region.munmap()  # no call in progress now: it must work
            assert region.closed and region.exports == 0
        print("ok", outcomes)
        """
    )
    assert_clean_exit(result)


def test_garbage_collector_finalizers_that_unmap_mid_access(run_child: RunChild) -> None:
    result = run_child(
        """
        import gc, warnings, rawmmap
        warnings.simplefilter("ignore", ResourceWarning)
        PAGE = rawmmap.page_size()
        gc.set_threshold(1, 1, 1)
        refused = 0
        for round_ in range(200):
            region = rawmmap.map_anonymous(4 * PAGE)
            class Cycle:
                def __del__(self):
                    global refused
                    try:
                        region.munmap()
                    except RuntimeError:
                        refused += 1
            a, b = Cycle(), Cycle()
            a.other, b.other = b, a
            del a, b
            try:
                for _ in range(20):
                    region.read(0, 4 * PAGE)
                    region[0:PAGE] = bytes(PAGE)
            except ValueError:
                pass
            try:
                region.munmap()
            except RuntimeError:
                pass
        print("ok", refused)
        """
    )
    assert_clean_exit(result)


def test_trace_hook_that_unmaps_while_stopped_inside_read(run_child: RunChild) -> None:
    result = run_child(
        """
        import sys, rawmmap
        PAGE = rawmmap.page_size()
        outcomes = []
        for stop_at in range(1, 40):
            region = rawmmap.map_anonymous(2 * PAGE)
            events = [0]
            def hook(frame, event, arg, region=region):
                if frame.f_code.co_filename.endswith("region.py"):
                    events[0] += 1
                    if event == "line" and events[0] == stop_at:
                        try:
                            region.munmap()
                        except RuntimeError:
                            outcomes.append("refused")
                return hook
            sys.settrace(hook)
            try:
                region.read(0, 2 * PAGE)
                region.view(0, PAGE).release()
            except ValueError:
                outcomes.append("unmapped")
            finally:
                sys.settrace(None)
            try:
                region.munmap()
            except (RuntimeError, BufferError):
                pass
        print("ok", sorted(set(outcomes)))
        """
    )
    assert_clean_exit(result)
    assert "refused" in result.stdout


def test_trace_hook_that_reads_while_a_page_call_takes_pages_away(run_child: RunChild) -> None:
    # Between the kernel call and the page map's update a trace hook (or a
    # signal handler) may read and write: the map must lose the pages first.
    result = run_child(
        """
        import sys, rawmmap
        PAGE = rawmmap.page_size()
        calls = {
            "munmap": lambda r: r.munmap(),
            "munmap part": lambda r: r.munmap(PAGE, PAGE),
            "mprotect": lambda r: r.mprotect(rawmmap.Prot.NONE, 0, 2 * PAGE),
            "mprotect mixed": lambda r: r.mprotect(rawmmap.Prot.READ, PAGE, PAGE),
            "resize down": lambda r: r.resize(PAGE),
            "mremap move": lambda r: r.mremap(64 * PAGE, may_move=True),
            "mremap into": lambda r: r.mremap(
                PAGE, may_move=True, into=rawmmap.map_anonymous(2 * PAGE)
            ),
        }
        outcomes = set()
        for name, call in calls.items():
            for mixed in (False, True):
                region = rawmmap.map_anonymous(3 * PAGE)
                if mixed:
                    region.mprotect(rawmmap.Prot.READ, 2 * PAGE, PAGE)
                def hook(frame, event, arg, region=region):
                    if frame.f_code.co_filename.endswith("region.py") and event == "line":
                        for access in (
                            lambda: region.read(PAGE - 4, 8),
                            lambda: region[PAGE + 1],
                            lambda: region.write(PAGE - 4, bytes(8)),
                            lambda: region.__setitem__(slice(PAGE, PAGE + 8), bytes(8)),
                        ):
                            try:
                                access()
                                outcomes.add("ok")
                            except (ValueError, PermissionError, IndexError):
                                outcomes.add("refused")
                    return hook
                sys.settrace(hook)
                try:
                    call(region)
                except (ValueError, OSError):  # EFAULT: several kernel areas
                    outcomes.add("call refused")
                finally:
                    sys.settrace(None)
                region.munmap()
        print("survived", sorted(outcomes))
        """
    )
    assert_clean_exit(result)
    assert "survived" in result.stdout


def test_a_read_nested_inside_another_call_is_allowed() -> None:
    with anon() as region:
        region.write(0, b"nested")

        class ReadsOnBool:
            def __bool__(self) -> bool:
                return region.read(0, 6) == b"nested"

        with region.view(readonly=ReadsOnBool()) as view:  # type: ignore[arg-type]
            assert view.readonly


def test_another_thread_waits_for_the_call_in_progress() -> None:
    with anon() as region:
        entered = threading.Event()
        release = threading.Event()
        outcome: list[object] = []

        original = region._check_access

        def slow_check(start: int, stop: int, need: int, action: str, tail: bool = False) -> None:
            original(start, stop, need, action, tail)
            entered.set()
            release.wait(5)

        region._check_access = slow_check  # type: ignore[method-assign]

        def unmapper() -> None:
            entered.wait(5)
            try:
                region.munmap()
                outcome.append("unmapped")
            except BaseException as error:
                outcome.append(error)

        thread = threading.Thread(target=unmapper)
        thread.start()
        threading.Timer(0.05, release.set).start()
        view = region.view(0, 8)
        assert outcome == []  # the other thread is still waiting for the lock
        view.release()
        del region._check_access
        thread.join(5)
        assert outcome == ["unmapped"]


# ------------------------------------------------------------------ 4. exports end when released


def test_export_count_follows_the_buffers_themselves() -> None:
    with anon() as region:
        view = region.view()
        derived = view[1:5]
        assert region.exports == 1
        view.release()
        assert region.exports == 1  # the slice still holds the buffer
        with pytest.raises(BufferError):
            region.munmap()
        del derived
        assert region.exports == 0


def test_resurrecting_del_keeps_region_view_and_count_alive(run_child: RunChild) -> None:
    result = run_child(
        """
        import gc, warnings, rawmmap
        warnings.simplefilter("ignore", ResourceWarning)
        kept = []
        class Reviver:
            def __del__(self):
                kept.append(self)
        region = rawmmap.map_anonymous(rawmmap.page_size())
        region.write(0, b"alive!")
        reviver = Reviver()
        reviver.region, reviver.view = region, region.view()
        region.reviver = reviver
        del region, reviver
        gc.collect()
        survivor = kept[0]
        assert survivor.region.exports == 1, survivor.region.exports
        try:
            survivor.region.munmap()
        except BufferError:
            pass
        else:
            raise SystemExit("munmap under a resurrected view succeeded")
        assert bytes(survivor.view[:6]) == b"alive!"
        survivor.view.release()
        survivor.region.munmap()
        print("ok")
        """
    )
    assert_clean_exit(result)


def test_one_finalizer_unmaps_while_another_writes_through_its_view(run_child: RunChild) -> None:
    result = run_child(
        """
        import gc, warnings, rawmmap
        warnings.simplefilter("ignore", ResourceWarning)
        PAGE = rawmmap.page_size()
        for round_ in range(100):
            region = rawmmap.map_anonymous(PAGE)
            class Unmapper:
                def __del__(self):
                    try:
                        self.region.munmap()
                    except BufferError:
                        pass
            class Writer:
                def __del__(self):
                    self.view[0:5] = b"write"
            a, b = Unmapper(), Writer()
            a.region, b.view = region, region.view()
            a.b, b.a = b, a
            if round_ % 2:
                a, b = b, a
            address = region.address
            del a, b, region
            gc.collect()
        print("ok")
        """
    )
    assert_clean_exit(result)


def test_a_region_dropped_in_a_cycle_is_unmapped_at_the_collection() -> None:
    region = anon(1)
    address = region.address
    holder: dict[str, object] = {"region": region}
    holder["self"] = holder
    region.holder = holder  # type: ignore[attr-defined]
    del region, holder
    with pytest.warns(ResourceWarning):
        gc.collect()
    assert not is_mapped(address)


def test_a_view_in_a_cycle_keeps_the_mapping_until_the_cycle_is_freed() -> None:
    region = anon(1)
    address = region.address
    region.write(0, b"cyc")
    seen: list[bytes] = []

    class Reader:
        view: memoryview

        def __del__(self) -> None:
            seen.append(bytes(self.view[:3]))

    reader = Reader()
    reader.view = region.view()
    reader.self = reader  # type: ignore[attr-defined]
    with pytest.warns(ResourceWarning):
        del region
    assert is_mapped(address)
    del reader
    gc.collect()
    assert seen == [b"cyc"]
    assert not is_mapped(address)


@pytest.mark.skipif(sys.version_info < (3, 12), reason="PEP 688 __buffer__ is 3.12+")
def test_memoryview_of_the_region_is_counted_until_released() -> None:
    with anon() as region:
        view = memoryview(region)  # type: ignore[arg-type, unused-ignore]
        assert region.exports == 1
        with pytest.raises(BufferError):
            region.munmap()
        view.release()
        assert region.exports == 0


# ------------------------------------------------------------------ 5. DONTFORK


@pytest.mark.skipif("DONTFORK" not in Advice.__members__, reason="no MADV_DONTFORK here")
def test_dontfork_over_a_live_view_is_refused() -> None:
    with anon() as region, region.view(PAGE, 8), pytest.raises(BufferError):
        region.madvise(Advice.DONTFORK, PAGE, PAGE)


@pytest.mark.skipif("DONTFORK" not in Advice.__members__, reason="no MADV_DONTFORK here")
def test_views_of_dontfork_pages_are_refused_and_dofork_frees_one_page() -> None:
    with anon() as region:
        region.madvise(Advice.DONTFORK)
        with pytest.raises(ValueError, match="DONTFORK"):
            region.view(0, 8)
        region.madvise(Advice.DOFORK, PAGE, PAGE)
        with region.view(PAGE, 8):
            pass
        with pytest.raises(ValueError, match="DONTFORK"):
            region.view(2 * PAGE, 8)
        region.view(0, 0).release()  # empty: touches nothing


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.skipif("DONTFORK" not in Advice.__members__, reason="no MADV_DONTFORK here")
def test_dontfork_pages_are_unmapped_in_a_forked_child_and_raise() -> None:
    with anon(3) as region:
        region.write(0, b"parent")
        region.madvise(Advice.DONTFORK, PAGE, PAGE)
        with region.view(0, PAGE) as view:
            pid = os.fork()
            if pid == 0:  # pragma: no cover - the child
                status = 1
                try:
                    assert bytes(view[:6]) == b"parent"
                    assert region.read(0, 6) == b"parent"
                    assert region.protection(PAGE) is None
                    try:
                        region.read(PAGE, 1)
                    except ValueError:
                        status = 0
                finally:
                    os._exit(status)
            _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
        assert region.read(PAGE, 1) == b"\0"  # the parent still has it


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.skipif("DONTFORK" not in Advice.__members__, reason="no MADV_DONTFORK here")
def test_a_wholly_dontfork_region_is_closed_in_the_child() -> None:
    region = anon(2)
    region.madvise(Advice.DONTFORK)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        ok = region.closed
        try:
            region.read(0, 1)
            ok = False
        except ValueError:
            pass
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    region.munmap()


class ValueEqual(Region):
    """A subclass with value equality and no hash, as a user might write."""

    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = None  # type: ignore[assignment]


def test_a_subclass_with_value_equality_and_no_hash_is_tracked_and_unmapped() -> None:
    first = ValueEqual(PAGE, RW, MapFlag.PRIVATE | MapFlag.ANONYMOUS)
    second = ValueEqual(PAGE, RW, MapFlag.PRIVATE | MapFlag.ANONYMOUS)
    if "DONTFORK" in Advice.__members__:
        first.madvise(Advice.DONTFORK)
        second.madvise(Advice.DONTFORK)
        with pytest.raises(ValueError):
            second.view()
    addresses = (first.address, second.address)
    with pytest.warns(ResourceWarning):
        del first, second
        gc.collect()
    assert not any(is_mapped(address) for address in addresses)


# ------------------------------------------------------------------ 6. GROWSDOWN/GROWSUP


@pytest.mark.parametrize("name", ["GROWSDOWN", "GROWSUP"])
def test_protection_that_spreads_beyond_its_range_is_refused(name: str) -> None:
    if name not in Prot.__members__:
        pytest.skip(f"no PROT_{name} here")
    flags = MapFlag.PRIVATE | MapFlag.ANONYMOUS
    if name == "GROWSDOWN" and "GROWSDOWN" in MapFlag.__members__:
        flags |= MapFlag.GROWSDOWN
    with rawmmap.mmap(2 * PAGE, RW, flags) as region:
        with pytest.raises(ValueError, match=r"raw\.mprotect"):
            region.mprotect(Prot.READ | Prot[name], PAGE, PAGE)
        region[PAGE] = 1  # nothing changed behind Region's back
    with pytest.raises(ValueError, match="GROWS"):
        rawmmap.mmap(PAGE, Prot.READ | Prot[name], MapFlag.PRIVATE | MapFlag.ANONYMOUS)


# ------------------------------------------------------------------ 7. protection() under the lock


def test_protection_read_while_another_thread_mprotects() -> None:
    with anon(64) as region:
        stop = threading.Event()
        errors: list[BaseException] = []

        def flip() -> None:
            try:
                while not stop.is_set():
                    for page in range(0, 64, 2):
                        region.mprotect(Prot.READ, page * PAGE, PAGE)
                    region.mprotect(RW)
            except BaseException as error:
                errors.append(error)

        thread = threading.Thread(target=flip)
        thread.start()
        seen = set()
        try:
            for _ in range(3000):
                seen.add(region.protection(63 * PAGE))
                seen.add(region.protection(62 * PAGE))
        finally:
            stop.set()
            thread.join()
        assert not errors
        assert seen <= {Prot.READ, RW}
        assert region.protection(63 * PAGE) == RW


# ------------------------------------------------------------------ 8. shared memory is reserved


def _unshare_available() -> bool:
    return os.geteuid() == 0 and shutil.which("unshare") is not None


def _under_a_private_dev_shm(size: str, source: str) -> str:
    """Run ``source`` in a child with its own tmpfs of ``size`` on /dev/shm; its stdout."""
    environment = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    script = f"mount -t tmpfs -o size={size} tmpfs /dev/shm && {sys.executable} -c '{source}'"
    result = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        env=environment,
        check=False,
    )
    if (
        result.returncode != 0
        and not result.stdout
        and result.stderr.startswith(("unshare", "mount"))
    ):
        # No private mount namespace here (no CAP_SYS_ADMIN, or gVisor's
        # "unshare: cannot change root filesystem propagation"): say what was seen.
        pytest.skip(f"cannot mount a private tmpfs here: {result.stderr.strip()}")
    assert result.returncode == 0, (result.returncode, result.stderr)
    return result.stdout


@pytest.mark.skipif(
    not _unshare_available(), reason="needs root and unshare(1) for a private tmpfs"
)
def test_shared_memory_on_a_full_dev_shm_is_enospc_at_creation_not_sigbus() -> None:
    source = """
import errno, rawmmap
try:
    region = rawmmap.map_shared_memory("/rawmmap-full", 1 << 20, create=True)
except OSError as error:
    print("refused", errno.errorcode[error.errno])
else:
    region.write((1 << 20) - 1, b"x")
    print("reserved")
    region.munmap()
"""
    assert "refused ENOSPC" in _under_a_private_dev_shm("256k", source)


@pytest.mark.skipif(
    not _unshare_available(), reason="needs root and unshare(1) for a private tmpfs"
)
def test_shared_memory_larger_than_ram_and_swap_is_enospc_whatever_dev_shm_reports() -> None:
    # A tmpfs may be mounted larger than the machine (gVisor reports 8 EiB
    # free): reserving more than RAM + swap must not be attempted, since the
    # kernel would kill the process for it instead of answering ENOSPC.
    source = """
import ctypes, errno, os, rawmmap
size = 2 * os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") + (1 << 40)
if size >= 1 << 8 * ctypes.sizeof(ctypes.c_size_t):
    print("no size_t", size)
    raise SystemExit
try:
    rawmmap.map_shared_memory("/rawmmap-huge", size, create=True, exclusive=True)
except OSError as error:
    print("refused", errno.errorcode[error.errno], error)
print("left behind" if os.path.exists("/dev/shm/rawmmap-huge") else "unlinked")
"""
    stdout = _under_a_private_dev_shm("4P", source)
    if stdout.startswith("no size_t"):
        # A 32-bit process cannot even name a size above RAM + swap here.
        pytest.skip(f"RAM + swap exceed what size_t holds here: {stdout.strip()}")
    assert "refused ENOSPC" in stdout and "RAM + swap hold" in stdout
    assert "unlinked" in stdout


@skip_under_qemu_user(MEMFD_IS_NOT_SPARSE)
def test_memfd_of_any_size_stays_sparse_until_touched() -> None:
    with rawmmap.map_memfd(1 << 30) as memory:
        assert os.fstat(memory.fd).st_size == 1 << 30
        assert os.fstat(memory.fd).st_blocks == 0  # no limit to run into: nothing reserved


# ------------------------------------------------------------------ 9. devices


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("losetup") is None, reason="needs root and losetup"
)
def test_a_block_device_is_sized_by_its_end_not_by_st_size(tmp_path: Path) -> None:
    backing = tmp_path / "disk.img"
    backing.write_bytes(b"\x5a" * (64 << 10))
    attached = subprocess.run(
        ["losetup", "--find", "--show", str(backing)], capture_output=True, text=True, check=False
    )
    if attached.returncode != 0:
        pytest.skip(f"losetup: {attached.stderr.strip()}")
    device = attached.stdout.strip()
    try:
        with pytest.raises(ValueError, match="wholly past the end"):
            rawmmap.map_file(device, 1 << 20)
        with rawmmap.map_file(device) as region:
            assert len(region) == 64 << 10
            assert region[len(region) - 1] == 0x5A
    finally:
        subprocess.run(["losetup", "--detach", device], check=False)


def test_dev_zero_maps_like_anonymous_memory() -> None:
    with open("/dev/zero", "rb") as zero:
        region = rawmmap.mmap(4 * PAGE, Prot.READ, MapFlag.PRIVATE, zero.fileno())
    with region:
        assert region.read(0, 16) == bytes(16)


@pytest.mark.parametrize("kind", ["directory", "pipe"])
def test_unmappable_files_say_what_they_are(tmp_path: Path, kind: str) -> None:
    if kind == "directory":
        fd = os.open(tmp_path, os.O_RDONLY)
        others: list[int] = []
    else:
        fd, write_end = os.pipe()
        others = [write_end]
    try:
        with pytest.raises(OSError, match=f"is a {kind}") as caught:
            rawmmap.mmap(PAGE, Prot.READ, MapFlag.SHARED, fd)
        assert caught.value.errno == errno.ENODEV
    finally:
        for descriptor in [fd, *others]:
            os.close(descriptor)


# ------------------------------------------------------------------ the raw layer's promises


def test_raw_read_of_null_faults_like_c(run_child: RunChild) -> None:
    result = run_child("import rawmmap; rawmmap.raw.read(0, 16); print('returned')")
    assert result.returncode == -signal.SIGSEGV, (result.returncode, result.stdout)


def test_raw_read_returns_exactly_the_length_asked_past_a_c_int() -> None:
    if ctypes.sizeof(ctypes.c_void_p) < 8:
        pytest.skip("needs a 64-bit address space")
    length = (1 << 31) + 1
    address = raw.mmap(
        0,
        length + PAGE,
        int(Prot.READ),
        int(MapFlag.PRIVATE | MapFlag.ANONYMOUS | MapFlag.NORESERVE),
        -1,
        0,
    )
    try:
        data = raw.read(address, length)
        assert len(data) == length
        assert data[-1] == 0
        del data
    finally:
        raw.munmap(address, length + PAGE)


def test_raw_read_copies_with_the_gil_released() -> None:
    # ctypes.memmove is a foreign function without FUNCFLAG_PYTHONAPI: ctypes
    # releases the GIL around it (string_at, which held it, is not used).
    assert not ctypes.memmove._flags_ & ctypes._FUNCFLAG_PYTHONAPI  # type: ignore[attr-defined]
    with anon(1) as region:
        region.write(0, b"gil")
        assert raw.read(region.address, 3) == b"gil"


def test_raw_mincore_of_a_huge_unmapped_length_is_the_kernels_enomem() -> None:
    with anon(1) as region:
        size_t_max = (1 << (8 * ctypes.sizeof(ctypes.c_size_t))) - 1
        lengths = (1 << 40, (1 << 47) - region.address, 1 << 63, size_t_max - PAGE + 1)
        for length in [length for length in lengths if 0 < length <= size_t_max]:
            with pytest.raises(OSError) as caught:
                raw.mincore(region.address, length)
            assert caught.value.errno in (errno.ENOMEM, errno.EINVAL), caught.value
        assert len(raw.mincore(region.address, PAGE)) == 1


def test_raw_mincore_over_many_chunks_matches_page_by_page() -> None:
    pages = (1 << 16) + 3
    address = raw.mmap(
        0,
        pages * PAGE,
        int(RW),
        int(MapFlag.PRIVATE | MapFlag.ANONYMOUS | MapFlag.NORESERVE),
        -1,
        0,
    )
    try:
        raw.write(address + 5 * PAGE, b"x")
        raw.write(address + (pages - 1) * PAGE, b"x")
        vector = raw.mincore(address, pages * PAGE)
        assert len(vector) == pages
        assert vector[5] & 1 and vector[pages - 1] & 1
        raw.munmap(address + (1 << 16) * PAGE, PAGE)  # a hole in the second chunk
        with pytest.raises(OSError) as caught:
            raw.mincore(address, pages * PAGE)
        assert caught.value.errno == errno.ENOMEM
    finally:
        raw.munmap(address, pages * PAGE)


# ------------------------------------------------------------------ mremap and resize


@pytest.mark.skipif(not raw.HAS_MREMAP, reason="mremap is Linux-only")
def test_shrinking_over_a_reused_hole_unmaps_only_the_regions_own_pages() -> None:
    region = anon(3)
    region.munmap(PAGE, PAGE)
    decoy = rawmmap.mmap(
        PAGE,
        RW,
        MapFlag.PRIVATE | MapFlag.ANONYMOUS | MapFlag.FIXED_NOREPLACE,
        addr=region.address + PAGE,
    )
    third = region.address + 2 * PAGE
    try:
        decoy[0] = 42
        region.mremap(PAGE)
        assert len(region) == PAGE and not is_mapped(third)
        assert decoy[0] == 42
        region.mremap(3 * PAGE)  # no hole left: it grows by moving, around the decoy
        assert decoy[0] == 42 and region.read(0, 1) == b"\0"
    finally:
        decoy.munmap()
        region.munmap()


@pytest.mark.skipif(not raw.HAS_MREMAP, reason="mremap is Linux-only")
def test_mixed_protection_shrinks_and_grows_in_place() -> None:
    with anon(4) as region:
        region.mprotect(Prot.READ, PAGE, PAGE)
        region.mremap(3 * PAGE)
        assert region.protection(PAGE) == Prot.READ and region.protection(2 * PAGE) == RW
        try:
            region.mremap(5 * PAGE)
        except ValueError as error:  # no room right after it: it may not move
            assert "cannot move" in str(error) or "several areas" in str(error)
        else:
            region[5 * PAGE - 1] = 1
            assert region.protection(4 * PAGE) == RW


@pytest.mark.skipif(not raw.HAS_MREMAP, reason="mremap is Linux-only")
def test_growing_with_a_live_view_stays_in_place_or_says_why() -> None:
    with anon(1) as region:
        region.write(0, b"pinned")
        view = region.view(0, 6)
        address = region.address
        try:
            region.mremap(2 * PAGE)
        except BufferError as error:
            assert "views" in str(error)
        else:
            assert region.address == address
        assert bytes(view) == b"pinned"
        with pytest.raises(BufferError):
            region.munmap(0, PAGE)
        view.release()


@pytest.mark.skipif(not raw.HAS_MREMAP, reason="mremap is Linux-only")
def test_resize_grows_and_shrinks_the_file_with_the_mapping(tmp_path: Path) -> None:
    path = tmp_path / "grow.bin"
    path.write_bytes(b"a" * PAGE)
    with rawmmap.map_file(path, prot=RW) as region:  # the path's descriptor is closed
        region.resize(3 * PAGE + 10)
        assert path.stat().st_size == 3 * PAGE + 10
        region[3 * PAGE + 9] = ord("z")
        region.msync()
        assert path.read_bytes()[-1:] == b"z"
        region.resize(100)
        assert path.stat().st_size == 100 and len(region) == 100
        assert region.mapped_length == PAGE


@pytest.mark.skipif(not raw.HAS_MREMAP, reason="mremap is Linux-only")
def test_map_ftruncate_then_mremap_grows_a_path_mapping(tmp_path: Path) -> None:
    path = tmp_path / "grow.bin"
    path.write_bytes(b"a" * PAGE)
    with rawmmap.map_file(path, prot=RW) as region:
        with pytest.raises(ValueError, match="wholly past the end"):
            region.mremap(2 * PAGE)
        os.truncate(path, 2 * PAGE)
        region.mremap(2 * PAGE)
        region[2 * PAGE - 1] = 7


@pytest.mark.skipif(not raw.HAS_MREMAP, reason="mremap is Linux-only")
def test_resize_refuses_to_cut_the_file_under_another_region(tmp_path: Path) -> None:
    path = tmp_path / "shared.bin"
    path.write_bytes(bytes(3 * PAGE))
    with rawmmap.map_file(path, prot=RW) as first, rawmmap.map_file(path) as second:
        with pytest.raises(ValueError, match="SIGBUS"):
            first.resize(PAGE)
        assert second[3 * PAGE - 1] == 0
        second.munmap()
        first.resize(PAGE)
        assert path.stat().st_size == PAGE


def test_resize_of_anonymous_memory_remaps_it() -> None:
    if not raw.HAS_MREMAP:
        pytest.skip("mremap is Linux-only")
    with anon(1) as region:
        region.resize(3 * PAGE)
        region[3 * PAGE - 1] = 1
        region.resize(10)
        assert len(region) == 10


def test_a_region_keeps_a_descriptor_of_its_file_and_closes_it(tmp_path: Path) -> None:
    path = tmp_path / "fd.bin"
    path.write_bytes(bytes(PAGE))
    before = set(os.listdir("/proc/self/fd"))
    region = rawmmap.map_file(path)
    assert len(set(os.listdir("/proc/self/fd")) - before) == 1
    region.munmap()
    assert set(os.listdir("/proc/self/fd")) == before
    region = rawmmap.map_file(path)
    with pytest.warns(ResourceWarning):
        del region
        gc.collect()
    assert set(os.listdir("/proc/self/fd")) == before


def test_regions_and_views_dropped_while_an_exception_propagates_leave_it_alone(
    run_child: RunChild,
) -> None:
    # A Region or a view that is only on the stack dies while the exception
    # unwinds: nothing rawmmap runs there may touch (or replace) it.
    result = run_child(
        """
        import warnings, rawmmap
        warnings.simplefilter("ignore", ResourceWarning)
        def unbound_region():
            with rawmmap.map_anonymous(4096):
                raise KeyError("region")
        def unbound_view():
            region = rawmmap.map_anonymous(4096)
            with region.view():
                raise KeyError("view")
        def dropped_view():
            raise KeyError(bytes(rawmmap.map_anonymous(4096).view()[:1]))
        for call in (unbound_region, unbound_view, dropped_view):
            for _ in range(50):
                try:
                    call()
                except KeyError:
                    pass
        print("ok")
        """
    )
    assert_clean_exit(result)
    assert "SystemError" not in result.stderr and "ignored" not in result.stderr
