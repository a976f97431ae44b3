"""The page map against a per-page list model, driven by hypothesis."""

from __future__ import annotations

import pytest

from rawmmap._pagemap import DONTFORK, GUARD, PageMap, allows

pytest.importorskip("hypothesis", reason="hypothesis is not installed (a test-only dependency)")

import hypothesis
from hypothesis import strategies

PAGE = 16
STATES = [None, 0, 1, 3, 1 | DONTFORK, 3 | DONTFORK, 3 | GUARD]
#: The needs the tables are kept for (READ and WRITE on every POSIX table).
NEEDS = (1, 2)


def model_runs(model: list[int | None], start: int, stop: int) -> list[tuple[int, int, int | None]]:
    """The runs of a per-page model, clipped to [start, stop) bytes."""
    runs: list[tuple[int, int, int | None]] = []
    for byte in range(start, stop):
        state = model[byte // PAGE]
        if runs and runs[-1][2] == state and runs[-1][1] == byte:
            runs[-1] = (runs[-1][0], byte + 1, state)
        else:
            runs.append((byte, byte + 1, state))
    return runs


def check_against(pages: PageMap, model: list[int | None]) -> None:
    """Assert the map and the model agree on every query."""
    size = len(model) * PAGE
    assert pages.size == size
    assert pages.runs(0, size) == model_runs(model, 0, size)
    assert all(pages.states[i] != pages.states[i - 1] for i in range(1, len(pages.states)))
    for page_index, state in enumerate(model):
        assert pages.state_at(page_index * PAGE + PAGE // 2) == state
    assert pages.uniform() == (len(set(model)) == 1)
    mapped = [(a, b) for a, b, s in model_runs(model, 0, size) if s is not None]
    merged: list[tuple[int, int]] = []
    for a, b in mapped:
        if merged and merged[-1][1] == a:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    assert pages.mapped() == merged
    if pages.tables is not None:
        for table, need in zip(pages.tables, NEEDS):
            assert table == model_reach(model, need)


def model_reach(model: list[int | None], need: int) -> list[int]:
    """The reach of each page of a per-page model (see rawmmap._pagemap), then 0."""
    ok = [allows(state, need) for state in model] + [False]
    return [
        (index + (2 if ok[index + 1] else 1)) * PAGE if ok[index] else 0
        for index in range(len(model))
    ] + [0]


operation = strategies.tuples(
    strategies.sampled_from(["assign", "resize", "query"]),
    strategies.integers(0, 12),
    strategies.integers(0, 12),
    strategies.sampled_from(STATES),
)


@hypothesis.given(
    strategies.integers(1, 8),
    strategies.sampled_from(STATES),
    strategies.lists(operation, max_size=40),
)
@hypothesis.settings(max_examples=300, deadline=None)
def test_page_map_matches_a_per_page_model(
    size: int, state: int | None, operations: list[tuple[str, int, int, int | None]]
) -> None:
    pages = PageMap(size * PAGE, state, PAGE, NEEDS)
    model: list[int | None] = [state] * size
    for kind, first, second, new_state in operations:
        low, high = sorted((first, second))
        if kind == "assign":
            low, high = min(low, len(model)), min(high, len(model))
            pages.assign(low * PAGE, high * PAGE, new_state)
            model[low:high] = [new_state] * (high - low)
        elif kind == "resize" and second > 0:
            pages.resize(second * PAGE, new_state)
            model = (model + [new_state] * second)[:second]
        else:
            size_bytes = len(model) * PAGE
            start, stop = min(low * PAGE + 3, size_bytes), min(high * PAGE, size_bytes)
            assert pages.runs(start, stop) == model_runs(model, start, stop)
            expected = next(
                (run for run in model_runs(model, start, stop) if not allows(run[2], 1)),
                None,
            )
            assert pages.first_denied(start, stop, 1) == expected
            assert pages.any_flag(start, stop, DONTFORK) == any(
                s is not None and s & DONTFORK for _, _, s in model_runs(model, start, stop)
            )
        check_against(pages, model)


def test_update_keeps_the_flags_it_is_not_asked_to_change() -> None:
    pages = PageMap(4 * PAGE, 3)
    pages.update(PAGE, 3 * PAGE, lambda s: None if s is None else s | DONTFORK)
    pages.update(0, 4 * PAGE, lambda s: None if s is None else (s & ~0xFF) | 1)
    assert pages.runs(0, 4 * PAGE) == [
        (0, PAGE, 1),
        (PAGE, 3 * PAGE, 1 | DONTFORK),
        (3 * PAGE, 4 * PAGE, 1),
    ]


def test_a_thousand_runs_answer_by_bisect() -> None:
    pages = PageMap(2000 * PAGE, 3)
    for index in range(0, 2000, 2):
        pages.assign(index * PAGE, (index + 1) * PAGE, 1)
    assert len(pages.states) == 2000
    assert pages.state_at(1999 * PAGE) == 3
    assert pages.first_denied(1999 * PAGE, 2000 * PAGE, 3) is None
    assert pages.first_denied(0, PAGE, 3) == (0, PAGE, 1)


def test_keys_are_recorded_per_page_and_listed_without_the_default() -> None:
    from rawmmap._pagemap import KEY_MASK, KEY_SHIFT, SEALED

    pages = PageMap(4 * 4096, 3)
    assert pages.keys(0, pages.size) == set()
    pages.set_key(4096, 3 * 4096, 5)
    pages.set_flag(0, 4096, SEALED, True)
    pages.assign(3 * 4096, 4 * 4096, None)
    pages.set_key(3 * 4096, 4 * 4096, 7)  # unmapped pages take no key
    assert pages.keys(0, pages.size) == {5}
    assert pages.keys(0, 4096) == set()
    assert pages.state_at(4096) == 3 | 5 << KEY_SHIFT
    assert pages.state_at(0) == 3 | SEALED and not pages.state_at(0) & KEY_MASK  # type: ignore[operator]
    pages.set_key(0, pages.size, 0)
    assert pages.keys(0, pages.size) == set() and pages.state_at(0) == 3 | SEALED
