"""The page map: which pages of a Region are mapped, and in which state.

One ``PageMap`` is the single owner of a mapping's per-page state. It holds
sorted runs over the byte range ``[0, size)``: ``starts[i]`` is the first
byte of run ``i`` (a multiple of the page size; run ``i`` ends where run
``i + 1`` starts, the last one at ``size``) and ``states[i]`` is its state,
or ``None`` where the pages are unmapped. A state is an int: the page
protection (``Prot`` bits) in the low 32 bits and rawmmap's own per-page
flags above them (``DONTFORK``, ``GUARD``, ``SEALED``, and the protection
key in ``KEY_MASK``), so an access check is one ``&`` and one compare.

Adjacent runs never hold the same state, so a mapping with one protection is
one run, and every question below is answered with a bisect: O(log k) for k
runs, whatever the size of the mapping.

A map given a page size and a tuple of ``needs`` (protection bits, such as
``(READ, WRITE)``) also keeps ``tables`` once it has more than one run,
while it has at most ``TABLE_PAGES`` pages: for each need a list with one
entry per page, its *reach*: how far an access that starts in that page
may go with that need, in bytes from the start of the map. That is the end
of the next page if both pages allow the need (mapped, not guarded, with
those bits), the end of the page if only it does, and 0 if it does not;
one more entry, 0, ends the list. An access of up to two pages is then
checked with one list subscript (``stop <= table[start // page]``) and no
bisect: at 1000 runs a bisect of ``starts`` costs more than the access
itself (see docs/README-bench.md); a longer one takes the runs. The 0 at
the end answers for an empty range at the end of the map. ``update`` and
``resize`` keep the tables current, in place and in time proportional to
the pages changed: once made, they are the same lists until a resize past
``TABLE_PAGES`` drops them.
"""

from __future__ import annotations

# The C module itself: bisect.py only re-exports it, and costs an import.
from _bisect import bisect_right

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Optional

    #: A run clipped to a query: (start, stop, state or None).
    Run = tuple[int, int, Optional[int]]

__all__ = [
    "DONTFORK",
    "GUARD",
    "KEY_MASK",
    "KEY_SHIFT",
    "PROT_MASK",
    "SEALED",
    "TABLE_PAGES",
    "PageMap",
    "allows",
    "bisect_right",
]

#: The protection bits of a state.
PROT_MASK = (1 << 32) - 1
#: The pages were advised MADV_DONTFORK: a forked child does not have them.
DONTFORK = 1 << 32
#: The pages hold guard markers (MADV_GUARD_INSTALL, Linux 6.13): any access
#: faults, whatever the protection, until MADV_GUARD_REMOVE or munmap.
GUARD = 1 << 33
#: The pages were sealed with mseal(2) (Linux 6.10): the kernel refuses to
#: unmap, move, re-protect them, or discard them where they are private,
#: anonymous and not writable, for the rest of the process's life.
SEALED = 1 << 34
#: Where a page's memory protection key lives (pkey_mprotect(2)); 0 is the
#: default key, whose rights rawmmap takes as always allowing access.
KEY_SHIFT = 40
KEY_MASK = 0xFF << KEY_SHIFT
#: The largest map, in pages, that keeps per-page tables (256 MiB of 4 KiB
#: pages; a table is then about 2.5 MiB, a pointer and an int per page).
TABLE_PAGES = 1 << 16


def allows(state: int | None, need: int) -> bool:
    """Tell whether a page in ``state`` may be accessed with ``need`` without a further check.

    Guard pages never may; pages with a protection key need the calling
    thread's rights, which only the caller can ask: they count as not
    allowed here (the tables send such accesses to the full check).
    """
    return state is not None and state & (need | GUARD | KEY_MASK) == need


class PageMap:
    """Sorted runs of page states over ``[0, size)`` bytes.

    Offsets passed in are byte offsets; callers round them to pages. The
    map itself never calls the kernel: it records what the caller did.
    """

    __slots__ = ("needs", "page", "size", "starts", "states", "tables")

    def __init__(
        self, size: int, state: int | None, page: int = 0, needs: tuple[int, ...] = ()
    ) -> None:
        """Start with one run of ``state`` over ``[0, size)``.

        With ``page`` (the page size; offsets given to the map are then
        multiples of it) and ``needs``, the map keeps ``tables`` once it has
        several runs.
        """
        self.size = size
        self.starts: list[int] = [0]
        self.states: list[int | None] = [state]
        self.page = page
        self.needs = needs
        #: One list per need: the reach of each page, then 0; or None (one
        #: run so far, no page size, or more than TABLE_PAGES pages).
        self.tables: tuple[list[int], ...] | None = None

    def __repr__(self) -> str:
        """Show the runs."""
        return f"PageMap(size={self.size}, runs={self.runs(0, self.size)})"

    def uniform(self) -> bool:
        """Tell whether the whole map is one run."""
        return len(self.states) == 1

    def state_at(self, offset: int) -> int | None:
        """Return the state of the page holding byte ``offset`` (0 <= offset < size)."""
        return self.states[bisect_right(self.starts, offset) - 1]

    def runs(self, start: int, stop: int) -> list[Run]:
        """Return the runs meeting ``[start, stop)``, clipped to it."""
        if stop <= start:
            return []
        starts, states = self.starts, self.states
        index = bisect_right(starts, start) - 1
        result: list[Run] = []
        last = len(starts) - 1
        while index <= last:
            run_start = starts[index]
            if run_start >= stop:
                break
            run_stop = starts[index + 1] if index < last else self.size
            result.append((max(run_start, start), min(run_stop, stop), states[index]))
            index += 1
        return result

    def first_denied(self, start: int, stop: int, need: int) -> Run | None:
        """Return the first run of ``[start, stop)`` that is unmapped, guarded or lacks ``need``."""
        if stop <= start:
            return None
        starts, states = self.starts, self.states
        index = bisect_right(starts, start) - 1
        last = len(starts) - 1
        while index <= last and starts[index] < stop:
            state = states[index]
            if state is None or state & (need | GUARD) != need:
                run_stop = starts[index + 1] if index < last else self.size
                return max(starts[index], start), min(run_stop, stop), state
            index += 1
        return None

    def keys(self, start: int, stop: int) -> set[int]:
        """Return the protection keys other than 0 of the mapped pages of ``[start, stop)``."""
        return {
            state >> KEY_SHIFT & 0xFF
            for _, _, state in self.runs(start, stop)
            if state is not None and state & KEY_MASK
        }

    def set_key(self, start: int, stop: int, key: int) -> None:
        """Tag the mapped pages of ``[start, stop)`` with protection key ``key``."""
        bits = key << KEY_SHIFT
        self.update(start, stop, lambda state: None if state is None else state & ~KEY_MASK | bits)

    def first_unmapped(self, start: int, stop: int) -> tuple[int, int] | None:
        """Return the first unmapped span of ``[start, stop)``, or None."""
        for run_start, run_stop, state in self.runs(start, stop):
            if state is None:
                return run_start, run_stop
        return None

    def any_flag(self, start: int, stop: int, flag: int) -> bool:
        """Tell whether a mapped page of ``[start, stop)`` has ``flag`` set."""
        return any(state is not None and state & flag for _, _, state in self.runs(start, stop))

    def mapped(self) -> list[tuple[int, int]]:
        """Return the mapped spans as (start, stop), adjacent runs merged."""
        spans: list[tuple[int, int]] = []
        for run_start, run_stop, state in self.runs(0, self.size):
            if state is None:
                continue
            if spans and spans[-1][1] == run_start:
                spans[-1] = (spans[-1][0], run_stop)
            else:
                spans.append((run_start, run_stop))
        return spans

    def assign(self, start: int, stop: int, state: int | None) -> None:
        """Record that every page of ``[start, stop)`` now has ``state``."""
        self.update(start, stop, lambda _old: state)

    def update(self, start: int, stop: int, change: Callable[[int | None], int | None]) -> None:
        """Replace the state of each run of ``[start, stop)`` with ``change(state)``."""
        start, stop = max(start, 0), min(stop, self.size)
        if stop <= start:
            return
        starts, states = self.starts, self.states
        first = bisect_right(starts, start) - 1
        after = bisect_right(starts, stop - 1)  # runs [first, after) meet the range
        pieces_starts: list[int] = []
        pieces_states: list[int | None] = []
        if starts[first] < start:  # the head of the first run keeps its state
            pieces_starts.append(starts[first])
            pieces_states.append(states[first])
        for index in range(first, after):
            pieces_starts.append(max(starts[index], start))
            pieces_states.append(change(states[index]))
        run_stop = starts[after] if after < len(starts) else self.size
        if run_stop > stop:  # the tail of the last run keeps its state
            pieces_starts.append(stop)
            pieces_states.append(states[after - 1])
        # Splice, then merge equal neighbours at the seams (and inside).
        starts[first:after] = pieces_starts
        states[first:after] = pieces_states
        low = max(first - 1, 0)
        high = min(first + len(pieces_starts) + 1, len(starts))
        index = low + 1
        while index < high:
            if states[index] == states[index - 1]:
                del starts[index], states[index]
                high -= 1
            else:
                index += 1
        if self.needs:
            self._tabulate(start, stop)

    def _tabulate(self, start: int, stop: int) -> None:
        """Bring ``tables`` up to date for the pages of ``[start, stop)`` and the one before.

        The tables are made whole the first time the map has several runs.
        """
        page = self.page
        tables = self.tables
        if tables is None:
            pages = -(-self.size // page)
            if len(self.states) == 1 or pages > TABLE_PAGES:
                return
            tables = self.tables = tuple([0] * (pages + 1) for _ in self.needs)
            start, stop = 0, self.size
        first, end = start // page, -(-stop // page)
        for run_start, run_stop, state in self.runs(first * page, end * page):
            low, high = run_start // page, -(-run_stop // page)
            for table, need in zip(tables, self.needs):
                if allows(state, need):
                    # Inside a run every next page allows it too; its last page
                    # is settled below.
                    table[low:high] = range((low + 2) * page, (high + 2) * page, page)
                else:
                    table[low:high] = [0] * (high - low)
        # The last page of each run met, and the page before the range: their
        # reach depends on the page after them.
        edges = {run_stop // page - 1 for _, run_stop, _ in self.runs(first * page, end * page)}
        if first:
            edges.add(first - 1)
        for table in tables:
            for index in edges:
                if table[index]:
                    table[index] = (index + (2 if table[index + 1] else 1)) * page

    def clear(self) -> None:
        """Record that every page is unmapped (munmap of the whole map)."""
        del self.starts[1:]
        self.states[:] = [None]
        for table in self.tables or ():
            table[:] = [0] * len(table)

    def set_prot(self, start: int, stop: int, prot: int) -> None:
        """Give the mapped pages of ``[start, stop)`` protection ``prot``, keeping their flags."""
        self.update(start, stop, lambda state: None if state is None else state & ~PROT_MASK | prot)

    def set_flag(self, start: int, stop: int, flag: int, on: bool) -> None:
        """Set (or clear) ``flag`` on the mapped pages of ``[start, stop)``."""
        if on:
            self.update(start, stop, lambda state: None if state is None else state | flag)
        else:
            self.update(start, stop, lambda state: None if state is None else state & ~flag)

    def unmap_flagged(self, flag: int) -> None:
        """Mark every page with ``flag`` unmapped (after fork, for DONTFORK)."""
        self.update(0, self.size, lambda state: None if state is None or state & flag else state)

    def resize(self, size: int, state: int | None) -> None:
        """Grow to ``size`` with new pages in ``state``, or shrink, dropping the pages past it."""
        if size > self.size:
            old = self.size
            if self.states[-1] == state:
                self.size = size
            else:
                self.starts.append(old)
                self.states.append(state)
                self.size = size
        else:
            keep = bisect_right(self.starts, size - 1) if size > 0 else 1
            del self.starts[keep:], self.states[keep:]
            self.size = size
        tables = self.tables
        if tables is not None:
            page = self.page
            pages = -(-size // page)
            if pages > TABLE_PAGES:
                self.tables = None
                return
            kept = len(tables[0]) - 1  # the pages the tables had
            for table in tables:
                if pages > kept:  # the final 0 becomes the first new page
                    table[kept:] = [0] * (pages - kept + 1)
                else:
                    table[pages:] = [0]
            # The new pages and the (new) last page before them.
            low = max(min(kept, pages) - 1, 0) * page
            self._tabulate(low, size)
