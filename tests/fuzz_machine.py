"""The stateful fuzzer: a hypothesis state machine over Regions, checked against a model.

Not a test module by itself (pytest does not collect it): it runs in a
child process, started by ``tests/test_fuzz_stateful.py``, so that a fault
(SIGSEGV, SIGBUS) fails that test instead of killing pytest. Run it by hand
with ``python tests/fuzz_machine.py``; ``RAWMMAP_FUZZ_EXAMPLES`` sets the
number of examples (default 60, about 3000 steps). It prints
``steps=<n> examples=<n>`` on success.

The machine maps anonymous (private and shared) and file-backed (shared
and private) Regions, writes, reads (method, index, slice with any step),
msyncs, mprotects page ranges, madvises (hints anywhere; DONTNEED only
over fully mapped ranges, where the model knows the result), mremaps,
exports views and writes and reads through them, releases them, forks (the
child checks a read and exits), and unmaps whole regions and page ranges.
The model of each Region is a bytearray, a per-page protection (None where
unmapped) and, for file mappings, the file's bytes. Every read is compared
with the model; an access the model forbids must raise ProtectionError
(protection) or ValueError (unmapped), never fault.

Kernel facts the model relies on (mmap(2), madvise(2), msync(2),
mremap(2), Linux): MADV_DONTNEED makes private anonymous pages read back
as zero and private file pages read back as the file, and leaves shared
mappings' contents; a MAP_SHARED file mapping writes reach the file and
msync(MS_SYNC) has written them back; a fork child sees a copy of private
memory as it was at fork; mremap fails with EFAULT over a range that
spans several VMAs (holes, mixed protection).
"""

from __future__ import annotations

import copy
import os
import pickle
import random
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Callable

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import rawmmap
from rawmmap import Advice, Prot, ProtectionError, Region, SyncFlag

PAGE = rawmmap.page_size()
MAX_PAGES = 4
PROTS = [int(Prot.NONE), int(Prot.READ), int(Prot.READ | Prot.WRITE)]
SYNC_FLAGS = [int(SyncFlag.SYNC), int(SyncFlag.ASYNC), int(SyncFlag.SYNC | SyncFlag.INVALIDATE)]
HINTS = [int(Advice.NORMAL), int(Advice.RANDOM), int(Advice.SEQUENTIAL), int(Advice.WILLNEED)]

#: RAWMMAP_FUZZ_TRACE=1 prints every step to stderr as it starts (to see what a crash followed).
TRACE = os.environ.get("RAWMMAP_FUZZ_TRACE") == "1"

#: Steps run so far (each rule counts one), for the report.
STEPS = 0


@dataclass(eq=False)
class Model:
    """One live Region and what it should hold.

    ``data`` covers the whole mapped pages (bytes past ``length`` in the
    last page survive a shrink and a regrow); ``backing`` is the file, or
    for shared anonymous memory the shmem object, whose bytes a grown
    mapping shows.
    """

    region: Region
    kind: str  # "anon-private", "anon-shared", "file-shared", "file-private"
    length: int
    data: bytearray
    prots: list[int | None]  # per page; None where unmapped
    backing: bytearray = field(default_factory=bytearray)
    fd: int = -1
    views: list[tuple[memoryview, int, int]] = field(default_factory=list)

    @property
    def shared(self) -> bool:
        """Whether writes reach the backing object."""
        return self.kind.endswith("shared")

    def first_bad_page(self, start: int, stop: int, need: int) -> int | None:
        """The first page of [start, stop) that is unmapped or lacks ``need``."""
        for page in range(start // PAGE, (stop - 1) // PAGE + 1):
            prot = self.prots[page]
            if prot is None or prot & need != need:
                return page
        return None

    def expected_error(self, start: int, stop: int, need: int) -> type[Exception] | None:
        """The exception an access of [start, stop) needing ``need`` raises, if any."""
        if stop <= start:
            return None
        page = self.first_bad_page(start, stop, need)
        if page is None:
            return None
        return ValueError if self.prots[page] is None else ProtectionError


def _file_bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _removed(pages: list[int | None], prot: int) -> int:
    """The protection bits an mprotect to ``prot`` takes away from ``pages``."""
    removed = 0
    for page in pages:
        if page is not None:
            removed |= page & ~prot
    return removed


def _views_lose_access(model: Model, start: int, stop: int, removed: int) -> bool:
    """Whether a live, non-empty view over [start, stop) loses an access it has."""
    read, write = int(Prot.READ), int(Prot.WRITE)
    for view, view_start, view_stop in model.views:
        if not (view_start < stop and start < view_stop):
            continue
        if removed & read or (removed & write and not view.readonly):
            return True
    return False


class RegionMachine(RuleBasedStateMachine):
    """Random sequences of Region calls, each checked against the model."""

    regions = Bundle("regions")

    def __init__(self) -> None:
        super().__init__()
        self.directory = tempfile.mkdtemp(prefix="rawmmap-fuzz-")
        self.models: list[Model] = []
        self.files = 0
        if TRACE:
            print("step new machine", file=sys.stderr, flush=True)

    def _count(self) -> None:
        global STEPS  # noqa: PLW0603 - one counter for the whole run, read by main()
        STEPS += 1
        if TRACE:
            caller = sys._getframe(1)
            arguments = {
                name: f"region@{id(value):x}" if isinstance(value, Model) else value
                for name, value in caller.f_locals.items()
                if name != "self" and not name.startswith("_")
            }
            print(f"step {caller.f_code.co_name} {arguments}", file=sys.stderr, flush=True)

    # ------------------------------------------------------------ mapping

    @precondition(lambda self: len(self.models) < 3)
    @rule(
        target=regions,
        pages=st.integers(1, MAX_PAGES),
        shared=st.booleans(),
        tail=st.integers(0, PAGE - 1),
    )
    def map_anonymous(self, pages: int, shared: bool, tail: int) -> Model:
        """Map anonymous memory; its length need not be a page multiple."""
        self._count()
        length = pages * PAGE - tail
        region = rawmmap.map_anonymous(length, shared=shared)
        model = Model(
            region,
            "anon-shared" if shared else "anon-private",
            length,
            bytearray(pages * PAGE),
            [int(Prot.READ | Prot.WRITE)] * pages,
            backing=bytearray(pages * PAGE if shared else 0),
        )
        self.models.append(model)
        return model

    @precondition(lambda self: len(self.models) < 3)
    @rule(
        target=regions,
        pages=st.integers(1, MAX_PAGES),
        file_pages=st.integers(0, 2),
        shared=st.booleans(),
        seed=st.integers(0, 2**32),
    )
    def map_file(self, pages: int, file_pages: int, shared: bool, seed: int) -> Model:
        """Map a file (longer than the mapping by ``file_pages``, room to grow)."""
        self._count()
        self.files += 1
        path = os.path.join(self.directory, f"file{self.files}")
        contents = _file_bytes(seed, (pages + file_pages) * PAGE)
        with open(path, "wb") as file:
            file.write(contents)
        fd = os.open(path, os.O_RDWR)
        region = rawmmap.map_file(fd, pages * PAGE, prot=Prot.READ | Prot.WRITE, shared=shared)
        model = Model(
            region,
            "file-shared" if shared else "file-private",
            pages * PAGE,
            bytearray(contents[: pages * PAGE]),
            [int(Prot.READ | Prot.WRITE)] * pages,
            backing=bytearray(contents),
            fd=fd,
        )
        self.models.append(model)
        return model

    # ------------------------------------------------------------ access

    def _range(self, model: Model, offset: int, length: int) -> tuple[int, int]:
        start = offset % (model.length + 1)
        return start, min(start + length, model.length)

    @rule(model=regions, offset=st.integers(0, MAX_PAGES * PAGE), length=st.integers(0, 2 * PAGE))
    def read(self, model: Model, offset: int, length: int) -> None:
        """Read a range with read(); compare with the model or expect the error."""
        self._count()
        if model.region.closed:
            return
        start, stop = self._range(model, offset, length)
        error = model.expected_error(start, stop, int(Prot.READ))
        if error is None:
            assert model.region.read(start, stop - start) == bytes(model.data[start:stop])
        else:
            try:
                model.region.read(start, stop - start)
            except error:
                pass
            else:
                raise AssertionError(f"read [{start}, {stop}) did not raise {error.__name__}")

    @rule(
        model=regions,
        start=st.integers(-MAX_PAGES * PAGE, MAX_PAGES * PAGE),
        stop=st.integers(-MAX_PAGES * PAGE, MAX_PAGES * PAGE),
        step=st.sampled_from([1, 2, 7, -1, -3, None]),
    )
    def read_slice(self, model: Model, start: int, stop: int, step: int | None) -> None:
        """Read region[start:stop:step]; it must match bytes slicing of the model."""
        self._count()
        if model.region.closed:
            return
        index = slice(start, stop, step)
        touched = range(*index.indices(model.length))
        if touched:
            low, high = min(touched[0], touched[-1]), max(touched[0], touched[-1]) + 1
            error = model.expected_error(low, high, int(Prot.READ))
        else:
            error = None
        if error is None:
            assert model.region[index] == bytes(model.data[: model.length][index])
        else:
            try:
                model.region[index]
            except error:
                pass
            else:
                raise AssertionError(f"region[{index}] did not raise {error.__name__}")

    @rule(
        model=regions,
        offset=st.integers(0, MAX_PAGES * PAGE),
        data=st.binary(min_size=0, max_size=2 * PAGE),
    )
    def write(self, model: Model, offset: int, data: bytes) -> None:
        """Write bytes; update the model or expect the error (or IndexError past the end)."""
        self._count()
        if model.region.closed:
            return
        start = offset % (model.length + 1)
        stop = start + len(data)
        if stop > model.length:
            try:
                model.region.write(start, data)
            except IndexError:
                return
            raise AssertionError("a write past the end did not raise IndexError")
        error = model.expected_error(start, stop, int(Prot.WRITE))
        if error is None:
            model.region.write(start, data)
            self._store(model, start, data)
        else:
            try:
                model.region.write(start, data)
            except error:
                pass
            else:
                raise AssertionError(f"write [{start}, {stop}) did not raise {error.__name__}")

    def _store(self, model: Model, start: int, data: bytes) -> None:
        model.data[start : start + len(data)] = data
        if model.shared:
            model.backing[start : start + len(data)] = data

    @rule(model=regions, position=st.integers(0, MAX_PAGES * PAGE), byte=st.integers(0, 255))
    def write_byte(self, model: Model, position: int, byte: int) -> None:
        """Write one byte by index and read it back by index."""
        self._count()
        if model.region.closed:
            return
        position %= model.length
        error = model.expected_error(position, position + 1, int(Prot.WRITE))
        if error is None:
            model.region[position] = byte
            self._store(model, position, bytes([byte]))
            if model.expected_error(position, position + 1, int(Prot.READ)) is None:
                assert model.region[position] == byte
        else:
            try:
                model.region[position] = byte
            except error:
                pass
            else:
                raise AssertionError(f"region[{position}] = ... did not raise {error.__name__}")

    # ------------------------------------------------------------ page calls

    def _pages(self, model: Model, first: int, count: int) -> tuple[int, int]:
        pages = len(model.prots)
        first %= pages
        count = min(max(count, 1), pages - first)
        return first, count

    @staticmethod
    def _refused_over_hole(
        model: Model, first: int, count: int, name: str, call: Callable[[], object]
    ) -> bool:
        """Where the page range has a hole, check ``call`` raises ValueError; say if it had."""
        if all(page is not None for page in model.prots[first : first + count]):
            return False
        try:
            call()
        except ValueError:
            return True
        raise AssertionError(f"{name} over a hole did not raise ValueError")

    @rule(
        model=regions,
        first=st.integers(0, MAX_PAGES),
        count=st.integers(1, MAX_PAGES),
        prot=st.sampled_from(PROTS),
    )
    def mprotect(self, model: Model, first: int, count: int, prot: int) -> None:
        """Change a page range's protection; BufferError for a downgrade under a view."""
        self._count()
        if model.region.closed:
            return
        first, count = self._pages(model, first, count)
        pages = model.prots[first : first + count]
        length = min(count * PAGE, model.length - first * PAGE)
        if any(page is None for page in pages):
            expected: type[Exception] | None = ValueError
        elif _views_lose_access(model, first * PAGE, (first + count) * PAGE, _removed(pages, prot)):
            expected = BufferError
        else:
            expected = None
        if expected is None:
            model.region.mprotect(prot, first * PAGE, length)
            model.prots[first : first + count] = [prot] * count
        else:
            try:
                model.region.mprotect(prot, first * PAGE, length)
            except expected:
                pass
            else:
                raise AssertionError(f"mprotect did not raise {expected.__name__}")

    @rule(
        model=regions,
        first=st.integers(0, MAX_PAGES),
        count=st.integers(1, MAX_PAGES),
        flags=st.sampled_from(SYNC_FLAGS),
    )
    def msync(self, model: Model, first: int, count: int, flags: int) -> None:
        """msync a page range; after SYNC a shared file mapping's file matches the model."""
        self._count()
        if model.region.closed:
            return
        first, count = self._pages(model, first, count)
        length = min(count * PAGE, model.length - first * PAGE)
        if self._refused_over_hole(
            model, first, count, "msync", lambda: model.region.msync(flags, first * PAGE, length)
        ):
            return
        model.region.msync(flags, first * PAGE, length)
        if model.kind == "file-shared" and flags & SyncFlag.SYNC:
            start, stop = first * PAGE, first * PAGE + length
            assert os.pread(model.fd, stop - start, start) == bytes(model.backing[start:stop])

    @rule(
        model=regions,
        first=st.integers(0, MAX_PAGES),
        count=st.integers(1, MAX_PAGES),
        advice=st.sampled_from(HINTS),
    )
    def madvise_hint(self, model: Model, first: int, count: int, advice: int) -> None:
        """Give a hint; contents do not change. ValueError where part of the range is unmapped."""
        self._count()
        if model.region.closed:
            return
        first, count = self._pages(model, first, count)
        length = min(count * PAGE, model.length - first * PAGE)
        if self._refused_over_hole(
            model,
            first,
            count,
            "madvise",
            lambda: model.region.madvise(advice, first * PAGE, length),
        ):
            return
        model.region.madvise(advice, first * PAGE, length)

    @rule(model=regions, first=st.integers(0, MAX_PAGES), count=st.integers(1, MAX_PAGES))
    def madvise_dontneed(self, model: Model, first: int, count: int) -> None:
        """MADV_DONTNEED over mapped pages: private pages revert, shared ones keep their data."""
        self._count()
        if model.region.closed:
            return
        first, count = self._pages(model, first, count)
        if any(page is None for page in model.prots[first : first + count]):
            return
        start = first * PAGE
        length = min(count * PAGE, model.length - start)
        model.region.madvise(Advice.DONTNEED, start, length)
        stop = (first + count) * PAGE  # the kernel drops whole pages
        if model.kind == "anon-private":
            model.data[start:stop] = bytes(stop - start)
        elif model.kind == "file-private":
            model.data[start:stop] = model.backing[start:stop]

    @rule(model=regions, pages=st.integers(1, MAX_PAGES), tail=st.integers(0, PAGE - 1))
    def mremap(self, model: Model, pages: int, tail: int) -> None:  # noqa: PLR0912 - the model of mremap(2)
        """Grow or shrink; refused under a view, past a file's end, past shared memory's size."""
        self._count()
        if model.region.closed:
            return
        new_length = pages * PAGE - tail
        region = model.region
        old_mapped = len(model.prots) * PAGE
        refused: type[Exception] | None = None
        allowed: tuple[type[Exception], ...] = ()
        if pages * PAGE <= old_mapped:
            # Shrinking unmaps the cut pages: only views over them refuse it.
            if _views_lose_access(model, pages * PAGE, old_mapped, -1):
                refused = BufferError
        elif any(page is None for page in model.prots):
            refused = ValueError  # a hole may hold another mapping by now
        elif (model.kind.startswith("file") and new_length > len(model.backing)) or (
            model.kind == "anon-shared" and pages * PAGE > len(model.backing)
        ):
            refused = ValueError
        else:
            # Growth: in place only with views or mixed protection, and the
            # kernel may keep areas split by madvise hints (EFAULT).
            allowed = (BufferError, ValueError)
        if refused is not None:
            try:
                region.mremap(new_length)
            except refused:
                return
            raise AssertionError(f"mremap to {new_length} did not raise {refused.__name__}")
        try:
            region.mremap(new_length)
        except allowed:
            return
        if pages * PAGE <= old_mapped:
            del model.data[pages * PAGE :]
        elif model.kind == "anon-private":
            model.data += bytes(pages * PAGE - old_mapped)
        else:
            model.data += model.backing[old_mapped : pages * PAGE]
        model.length = new_length
        old_pages = len(model.prots)
        if pages <= old_pages:
            del model.prots[pages:]
        else:
            model.prots += [model.prots[-1]] * (pages - old_pages)
        assert region.closed == all(page is None for page in model.prots)
        if region.closed:
            self._close(model)

    # ------------------------------------------------------------ views

    @rule(model=regions, offset=st.integers(0, MAX_PAGES * PAGE), length=st.integers(0, 2 * PAGE))
    def export_view(self, model: Model, offset: int, length: int) -> None:
        """Export a view (readable ranges only); it must read like the model."""
        self._count()
        if model.region.closed or len(model.views) >= 3:
            return
        start, stop = self._range(model, offset, length)
        if stop == start:
            # An empty view is checked against the page at its start (or
            # the whole region when it has one protection): either way it
            # holds no bytes, so any typed refusal is fine.
            try:
                view = model.region.view(start, 0)
            except (ValueError, ProtectionError):
                return
            assert bytes(view) == b""
            model.views.append((view, start, stop))
            return
        error = model.expected_error(start, stop, int(Prot.READ))
        if error is not None:
            try:
                model.region.view(start, stop - start)
            except error:
                return
            raise AssertionError("a view of unreadable pages did not raise")
        view = model.region.view(start, stop - start)
        assert bytes(view) == bytes(model.data[start:stop])
        model.views.append((view, start, stop))

    @rule(model=regions, which=st.integers(0, 2), data=st.binary(min_size=1, max_size=64))
    def write_through_view(self, model: Model, which: int, data: bytes) -> None:
        """Write through a writable view; read every view back."""
        self._count()
        if not model.views:
            return
        view, start, stop = model.views[which % len(model.views)]
        size = min(len(data), stop - start)
        if not view.readonly and size:
            view[:size] = data[:size]
            self._store(model, start, data[:size])
        for other, other_start, other_stop in model.views:
            assert bytes(other) == bytes(model.data[other_start:other_stop])

    @rule(model=regions, which=st.integers(0, 2))
    def release_view(self, model: Model, which: int) -> None:
        """Release a view; the region's export count follows."""
        self._count()
        if not model.views:
            return
        view, _, _ = model.views.pop(which % len(model.views))
        view.release()
        assert model.region.exports == len(model.views)

    @rule(model=regions, which=st.integers(0, 2))
    def reach_through_a_view(self, model: Model, which: int) -> None:
        """Everything made from a view reaches its bytes only, with its writability."""
        self._count()
        if not model.views:
            return
        view, start, stop = model.views[which % len(model.views)]
        assert view.obj is None
        derived = memoryview(view).cast("B")
        try:
            assert derived.nbytes == stop - start and derived.readonly == view.readonly
            assert bytes(derived) == bytes(model.data[start:stop])
            if view.readonly and stop > start:
                try:
                    derived[0] = 0
                except TypeError:
                    pass
                else:
                    raise AssertionError("a read-only view was written through")
        finally:
            derived.release()

    @rule(model=regions, how=st.sampled_from(["copy", "deepcopy", "pickle"]))
    def copy_attempt(self, model: Model, how: str) -> None:
        """A second owner is refused with TypeError, and the region is unchanged."""
        self._count()
        attempts: dict[str, Callable[[object], object]] = {
            "copy": copy.copy,
            "deepcopy": copy.deepcopy,
            "pickle": pickle.dumps,
        }
        attempt = attempts[how]
        try:
            attempt(model.region)
        except TypeError:
            pass
        else:
            raise AssertionError(f"{how} of a Region did not raise TypeError")

    @rule(model=regions, offset=st.integers(0, MAX_PAGES * PAGE))
    def reentrant_read(self, model: Model, offset: int) -> None:
        """An argument's __index__ that reads the region runs, and the call still checks."""
        self._count()
        if model.region.closed:
            return
        start, stop = self._range(model, offset, 1)
        seen: list[object] = []

        class ReadsWhileConverting:
            def __index__(self) -> int:
                try:
                    seen.append(model.region.read(start, stop - start))
                except (ValueError, ProtectionError) as error:
                    seen.append(type(error))
                return start

        error = model.expected_error(start, stop, int(Prot.READ))
        try:
            data = model.region.read(ReadsWhileConverting(), stop - start)  # type: ignore[arg-type]
        except Exception as raised:
            assert error is not None and isinstance(raised, error), raised
            return
        assert error is None and data == bytes(model.data[start:stop]) == seen[0]

    @rule(model=consumes(regions), call=st.sampled_from(["view", "read", "mlock", "mremap"]))
    def argument_that_unmaps(self, model: Model, call: str) -> None:
        """An argument whose conversion unmaps the region: ValueError, never a crash."""
        self._count()
        for view, _, _ in model.views:
            view.release()
        model.views.clear()
        region = model.region

        class Unmapping:
            def __bool__(self) -> bool:
                region.munmap()
                return False

            def __index__(self) -> int:
                region.munmap()
                return 0

        argument: object = Unmapping()
        calls: dict[str, Callable[[], object]] = {
            "view": lambda: region.view(readonly=argument),  # type: ignore[arg-type]
            "read": lambda: region.read(argument, 1),  # type: ignore[arg-type]
            "mlock": lambda: region.mlock(onfault=argument),  # type: ignore[arg-type]
            "mremap": lambda: region.mremap(PAGE, may_move=argument),  # type: ignore[call-overload]
        }
        try:
            calls[call]()
        except (ValueError, NotImplementedError):
            pass
        else:
            raise AssertionError(f"{call} after its argument unmapped the region did not raise")
        assert region.closed
        self._close(model)

    # ------------------------------------------------------------ fork

    @rule(model=regions, offset=st.integers(0, MAX_PAGES * PAGE), length=st.integers(1, PAGE))
    def fork(self, model: Model, offset: int, length: int) -> None:
        """Fork; the child reads a range (or gets the error) and exits with the verdict."""
        self._count()
        if model.region.closed:
            return
        start, stop = self._range(model, offset, length)
        error = model.expected_error(start, stop, int(Prot.READ))
        expected = bytes(model.data[start:stop])
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            status = 1
            try:
                if error is None:
                    status = 0 if model.region.read(start, stop - start) == expected else 2
                else:
                    try:
                        model.region.read(start, stop - start)
                    except error:
                        status = 0
            finally:
                os._exit(status)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"fork child: {status:#x}"

    # ------------------------------------------------------------ unmapping

    @rule(model=regions, first=st.integers(0, MAX_PAGES), count=st.integers(1, MAX_PAGES))
    def munmap_pages(self, model: Model, first: int, count: int) -> None:
        """Unmap a page range; the rest stays usable, the hole raises ValueError."""
        self._count()
        if model.region.closed:
            return
        first, count = self._pages(model, first, count)
        length = min(count * PAGE, model.length - first * PAGE)
        if _views_lose_access(model, first * PAGE, (first + count) * PAGE, -1):
            try:
                model.region.munmap(first * PAGE, length)
            except BufferError:
                return
            raise AssertionError("munmap under a live view did not raise BufferError")
        model.region.munmap(first * PAGE, length)
        model.prots[first : first + count] = [None] * count
        assert model.region.closed == all(page is None for page in model.prots)
        if model.region.closed:
            self._close(model)

    @rule(model=consumes(regions))
    def munmap(self, model: Model) -> None:
        """Unmap the whole region (releasing its views first); then every access is ValueError."""
        self._count()
        if _views_lose_access(model, 0, len(model.prots) * PAGE, -1):
            try:
                model.region.munmap()
            except BufferError:
                pass
            else:
                raise AssertionError("munmap under a live view did not raise BufferError")
        self._close(model)
        for access in (
            lambda: model.region.read(0, 1),
            lambda: model.region[0],
            lambda: model.region.mprotect(Prot.READ),
            model.region.view,
        ):
            try:
                access()
            except ValueError:
                continue
            raise AssertionError("an access after munmap did not raise ValueError")

    def _close(self, model: Model) -> None:
        for view, _, _ in model.views:
            view.release()
        model.views.clear()
        model.region.munmap()
        assert model.region.closed
        if model.fd >= 0:
            os.close(model.fd)
            model.fd = -1
        if model in self.models:
            self.models.remove(model)

    # ------------------------------------------------------------ invariants

    @invariant()
    def protection_matches_the_model(self) -> None:
        """Region.protection() agrees with the model on every page."""
        for model in self.models:
            if model.region.closed:
                assert all(page is None for page in model.prots)
                continue
            for page, prot in enumerate(model.prots):
                offset = page * PAGE
                if offset >= model.length:
                    break
                actual = model.region.protection(offset)
                assert (None if actual is None else int(actual)) == prot, (page, actual, prot)

    def teardown(self) -> None:
        """Release views, unmap, close and delete everything."""
        for model in list(self.models):
            self._close(model)
        for name in os.listdir(self.directory):
            os.unlink(os.path.join(self.directory, name))
        os.rmdir(self.directory)


def main() -> int:
    """Run the machine; print the step and example counts."""
    examples = int(os.environ.get("RAWMMAP_FUZZ_EXAMPLES", "60"))
    # Older hypothesis releases leave this function unannotated, newer ones
    # annotate it: a typed alias keeps mypy --strict quiet with both.
    run: Callable[..., None] = run_state_machine_as_test
    run(
        RegionMachine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=50,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
            # No shrinking: it can take minutes, and the unshrunk steps are
            # printed all the same.
            phases=[Phase.explicit, Phase.reuse, Phase.generate],
        ),
    )
    print(f"steps={STEPS} examples={examples}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
