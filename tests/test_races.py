"""Threads racing one Region against munmap, and the garbage collector against live views.

Invariant 6 of the design: concurrent access and ``munmap`` from another
thread never crash, and once the region is unmapped every access raises
ValueError. Invariant 4/5: a Region dropped while a view of it is alive is
not unmapped until the view is gone (then a ResourceWarning says it was
never closed), and a cyclic collection whose ``__del__`` reads a view does
not run into an unmapped page.

The thread races and the cyclic-garbage case run in a child process
(``sys.executable``), so that a crash fails the test with its signal.
"""

from __future__ import annotations

import gc
import warnings

import pytest

import rawmmap
from rawmmap import raw

from .emulation import MINCORE_REFUSES_PROT_NONE, is_missing
from .support import ROOT, run_python

PAGE = rawmmap.page_size()


def _run_child(source: str, timeout: float = 300) -> str:
    """Run ``source`` in a child interpreter; fail on a signal or a non-zero exit."""
    completed = run_python(source, flags=("-X", "faulthandler"), timeout=timeout, cwd=ROOT)
    report = completed.stdout[-4000:] + completed.stderr[-4000:]
    assert completed.returncode >= 0, f"child killed by signal {-completed.returncode}\n{report}"
    assert completed.returncode == 0, report
    return completed.stdout


RACE_CHILD = """
    import os, sys, threading
    import rawmmap
    from rawmmap import Prot, ProtectionError

    PAGE = rawmmap.page_size()
    PAGES = 8
    ROUNDS = int(os.environ.get("RAWMMAP_RACE_ROUNDS", "30"))
    WORKERS = 4
    TYPED = (ValueError, ProtectionError, BufferError, IndexError)
    failures = []

    def accesses(region, step):
        page = step % PAGES
        offset = page * PAGE
        yield lambda: region.read(offset, PAGE)
        yield lambda: region.write(offset + 3, b"abc")
        yield lambda: region[offset]
        yield lambda: region.__setitem__(offset + 1, 7)
        yield lambda: region[offset + 10 : offset : -1]
        downgrade = Prot.READ if step % 3 else Prot.READ | Prot.WRITE
        revoke = Prot.NONE if step % 5 == 0 else Prot.READ | Prot.WRITE
        yield lambda: region.mprotect(downgrade, offset, PAGE)
        yield lambda: region.mprotect(revoke, offset, PAGE)
        yield lambda: region.madvise(rawmmap.Advice.WILLNEED, offset, PAGE)
        if os.environ.get("RAWMMAP_RACE_MINCORE", "1") == "1":
            yield lambda: region.mincore()
        def through_view():
            with region.view(offset, 16) as view:
                bytes(view)
        yield through_view

    def worker(region, unmapped, progress, seed):
        step = seed
        after = 0
        while after < 3:
            progress.release()
            done = unmapped.is_set()
            for access in accesses(region, step):
                try:
                    access()
                    if done:
                        failures.append(f"an access after munmap succeeded (step {step})")
                except TYPED as error:
                    if done and not isinstance(error, ValueError):
                        failures.append(f"after munmap: {error!r}")
                except Exception as error:  # recorded, and the loop goes on: no hang
                    failures.append(f"untyped error (step {step}): {error!r}")
                step += 1
            if done:
                after += 1

    def unmapper(region, unmapped, progress):
        # Let the workers get going (some hundred accesses) before unmapping.
        for _ in range(50 * WORKERS):
            progress.acquire()
        while True:
            try:
                region.munmap()
                break
            except BufferError:
                pass  # a worker holds a view: try again
        assert region.closed
        unmapped.set()

    for round_ in range(ROUNDS):
        region = rawmmap.map_anonymous(PAGES * PAGE, shared=bool(round_ % 2))
        unmapped = threading.Event()
        progress = threading.Semaphore(0)
        threads = [threading.Thread(target=worker, args=(region, unmapped, progress, n * 7))
                   for n in range(WORKERS)]
        for thread in threads:
            thread.start()
        killer = threading.Thread(target=unmapper, args=(region, unmapped, progress))
        killer.start()
        killer.join()
        for thread in threads:
            thread.join()
    if failures:
        print("\\n".join(failures[:20]))
        sys.exit(1)
    print("rounds", ROUNDS)
"""


def test_threads_racing_munmap_never_crash_and_then_get_valueerror(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rounds = 30
    monkeypatch.setenv("RAWMMAP_RACE_ROUNDS", str(rounds))
    # Where mincore over a PROT_NONE page fails (qemu-user's access_ok
    # check; the kernel answers), leave mincore out of the race.
    monkeypatch.setenv(
        "RAWMMAP_RACE_MINCORE", "0" if is_missing(MINCORE_REFUSES_PROT_NONE) else "1"
    )
    assert f"rounds {rounds}" in _run_child(RACE_CHILD)


MREMAP_RACE_CHILD = """
    import sys, threading
    import rawmmap

    PAGE = rawmmap.page_size()
    region = rawmmap.map_anonymous(4 * PAGE)
    stop = threading.Event()
    failures = []

    def resizer():
        for n in range(2000):
            try:
                region.mremap((1 + n % 4) * PAGE)
            except BufferError:
                pass
        stop.set()

    def reader():
        while not stop.is_set():
            try:
                data = region.read(0, 4 * PAGE)
            except IndexError:
                continue
            if len(data) != 4 * PAGE:
                failures.append(f"read returned {len(data)} bytes, not {4 * PAGE}")
            try:
                with region.view(0, 2 * PAGE) as view:
                    if len(view) != 2 * PAGE:
                        failures.append(f"view of {len(view)} bytes")
            except IndexError:
                pass

    threads = [threading.Thread(target=resizer)]
    threads += [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    region.munmap()
    if failures:
        print("\\n".join(failures[:20]))
        sys.exit(1)
    print("ok")
"""


@pytest.mark.skipif(not raw.HAS_MREMAP, reason="mremap(2) is not available")
def test_reads_racing_mremap_are_never_silently_short() -> None:
    assert "ok" in _run_child(MREMAP_RACE_CHILD)


def test_dropped_region_stays_mapped_until_its_view_is_gone() -> None:
    region = rawmmap.map_anonymous(PAGE)
    region.write(0, b"still here")
    address = region.address
    view = region.view()
    with pytest.warns(ResourceWarning, match="unclosed"):
        del region
        gc.collect()
    assert bytes(view[:10]) == b"still here"
    assert raw.mincore(address, PAGE)  # mapped: mincore answers
    del view
    gc.collect()  # the end of a collection unmaps orphans whose views are gone
    with pytest.raises(OSError) as caught:
        raw.mincore(address, PAGE)  # unmapped now: ENOMEM
    assert caught.value.errno == 12


def test_dropped_region_with_a_derived_view_waits_for_the_last_view() -> None:
    region = rawmmap.map_anonymous(2 * PAGE)
    region.write(PAGE, b"derived")
    address = region.address
    view = region.view()
    derived = view[PAGE : PAGE + 7]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del region
        view.release()
        gc.collect()
    assert [warning.category for warning in caught] == [ResourceWarning]
    assert bytes(derived) == b"derived"
    assert raw.mincore(address, 2 * PAGE)  # the derived view keeps it mapped
    derived.release()
    del derived, view
    gc.collect()
    with pytest.raises(OSError) as caught_error:
        raw.mincore(address, PAGE)
    assert caught_error.value.errno == 12


CYCLE_CHILD = """
    import gc, sys, warnings
    import rawmmap

    warnings.simplefilter("ignore", ResourceWarning)
    PAGE = rawmmap.page_size()
    seen = []
    kept = []

    class Reader:
        def __init__(self, region, keep):
            self.region = region
            self.view = region.view()
            self.keep = keep
            region.reader = self  # the cycle: region -> reader -> region

        def __del__(self):
            seen.append(bytes(self.view[:6]))
            if self.keep:
                kept.append(self)  # resurrects the cycle, view and all

    for round_ in range(200):
        region = rawmmap.map_anonymous(PAGE)
        region.write(0, b"cycle!")
        Reader(region, keep=False)
        del region
        gc.collect()
    assert seen == [b"cycle!"] * 200, seen[:3]
    print("cycles", len(seen))
"""


def test_cyclic_garbage_whose_del_reads_a_view_does_not_crash() -> None:
    assert "cycles 200" in _run_child(CYCLE_CHILD)


RESURRECTION_CHILD = """
    import gc, warnings
    import rawmmap

    warnings.simplefilter("ignore", ResourceWarning)
    kept = []

    class Reader:
        def __init__(self, region):
            self.region = region
            self.view = region.view()
            region.reader = self

        def __del__(self):
            kept.append(self)  # resurrects the cycle: Region, view and all

    region = rawmmap.map_anonymous(rawmmap.page_size())
    region.write(0, b"alive!")
    Reader(region)
    del region
    gc.collect()
    reader = kept[0]
    try:
        reader.region.read(0, 6)
    except ValueError:
        pass
    assert bytes(reader.view[:6]) == b"alive!"
    print("ok")
"""


def test_cyclic_garbage_resurrected_by_del_keeps_its_mapping() -> None:
    assert "ok" in _run_child(RESURRECTION_CHILD)
