"""Porting from the stdlib mmap: the same exceptions where rawmmap has no safer answer, find/rfind.

The scenarios follow CPython's Lib/test/test_mmap.py (find and rfind with
start/end, a search that ends just before a PROT_NONE page, slice
assignment of the wrong size, item deletion, copies), restated for Region.
The porting guide's examples run here too.
"""

from __future__ import annotations

import copy
import errno
import mmap as stdlib_mmap
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import rawmmap
from rawmmap import MapFlag, Prot, Region

from .conftest import ROOT, RunChild, run_python

PAGE = rawmmap.page_size()
DATA = b"abcabxabcabcdabcd" * 3 + b"zz"
BOUNDS: list[int | None] = [None, 0, 1, 5, 17, -1, -5, -100, 100]


class SmallSteps(Region):
    """A Region whose searches copy 7 bytes at a time: every match straddles a step."""

    _SEARCH_CHUNK = 7


@pytest.fixture
def both() -> Iterator[tuple[Region, bytes]]:
    """A Region holding DATA (with small search steps), and DATA itself."""
    region = SmallSteps(len(DATA), Prot.READ | Prot.WRITE, MapFlag.PRIVATE | MapFlag.ANONYMOUS)
    region.write(0, DATA)
    yield region, DATA
    region.munmap()


@pytest.mark.parametrize(
    "sub", [b"abc", b"abcd", b"zz", b"a", b"", b"nope", b"dab", DATA, DATA + b"!"]
)
def test_find_and_rfind_agree_with_bytes_for_every_bound(
    both: tuple[Region, bytes], sub: bytes
) -> None:
    region, data = both
    for start in BOUNDS:
        for end in BOUNDS:
            assert region.find(sub, start, end) == data.find(sub, start, end), (sub, start, end)
            assert region.rfind(sub, start, end) == data.rfind(sub, start, end), (sub, start, end)


def test_find_takes_any_bytes_like_needle_and_agrees_with_stdlib_mmap(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(DATA * 1000)
    with (
        open(path, "rb") as file,
        stdlib_mmap.mmap(file.fileno(), 0, access=stdlib_mmap.ACCESS_READ) as peer,
        rawmmap.map_file(path) as region,
    ):
        for sub in (b"abcd", bytearray(b"zzab"), memoryview(b"dabc")):
            assert region.find(sub) == peer.find(sub)
            assert region.rfind(sub) == peer.rfind(sub)
            assert region.find(sub, 100, 5000) == peer.find(sub, 100, 5000)
    with rawmmap.map_anonymous(1) as small, pytest.raises(TypeError, match="sub"):
        small.find("text")  # type: ignore[arg-type]


def test_a_search_that_ends_before_a_prot_none_page_never_touches_it(run_child: RunChild) -> None:
    # CPython's test_find_does_not_access_beyond_buffer, with the guard page
    # after the data (find) and before it (rfind). A regression would fault.
    result = run_child(
        """
        import rawmmap
        from rawmmap import Prot, ProtectionError
        PAGE = rawmmap.page_size()
        r = rawmmap.map_anonymous(3 * PAGE)
        r[PAGE - 1] = ord("x")
        r[2 * PAGE] = ord("y")
        r.mprotect(Prot.NONE, PAGE, PAGE)
        assert r.find(b"q", 0, PAGE) == -1
        assert r.find(b"x", 0, PAGE) == PAGE - 1
        assert r.find(b"x") == PAGE - 1          # found before the guard: no error
        assert r.rfind(b"q", 2 * PAGE) == -1
        assert r.rfind(b"y") == 2 * PAGE         # found after the guard, searching down
        for search in (lambda: r.find(b"q"), lambda: r.rfind(b"q"), lambda: r.find(b"y")):
            try:
                search()
            except ProtectionError:
                pass
            else:
                raise SystemExit("a search through a PROT_NONE page did not raise")
        r.munmap()
        print("ok")
        """
    )
    assert result.returncode == 0, (result.returncode, result.stderr)
    assert "ok" in result.stdout


def test_a_search_over_an_unmapped_hole_raises_valueerror() -> None:
    with rawmmap.map_anonymous(3 * PAGE) as region:
        region.munmap(PAGE, PAGE)
        assert region.find(b"\0") == 0
        with pytest.raises(ValueError, match="unmapped"):
            region.find(b"q")
        assert region.rfind(b"q", 2 * PAGE) == -1


def test_find_of_an_unmapped_region_raises_valueerror() -> None:
    region = rawmmap.map_anonymous(PAGE)
    region.munmap()
    with pytest.raises(ValueError):
        region.find(b"a")


def test_slice_assignment_of_the_wrong_size_is_indexerror_as_in_the_stdlib() -> None:
    with rawmmap.map_anonymous(PAGE) as region, stdlib_mmap.mmap(-1, PAGE) as peer:
        for target in (region, peer):
            with pytest.raises(IndexError):
                target[0:4] = b"abc"
            with pytest.raises(IndexError):
                target[0:10:2] = b"abc"


@pytest.mark.parametrize("index", [0, slice(0, 3)])
def test_item_deletion_is_typeerror_as_in_the_stdlib(index: object) -> None:
    with rawmmap.map_anonymous(PAGE) as region, stdlib_mmap.mmap(-1, PAGE) as peer:
        for target in (region, peer):
            with pytest.raises(TypeError):
                del target[index]  # type: ignore[arg-type]


def test_a_bad_descriptor_is_the_kernels_ebadf_as_in_the_stdlib() -> None:
    for attempt in (
        lambda: stdlib_mmap.mmap(-2, PAGE),
        lambda: rawmmap.mmap(PAGE, Prot.READ, MapFlag.SHARED, -2),
        lambda: rawmmap.map_file(-2, PAGE),
    ):
        with pytest.raises(OSError) as caught:
            attempt()
        assert caught.value.errno == errno.EBADF


def test_copies_are_typeerror_as_in_the_stdlib() -> None:
    with rawmmap.map_anonymous(PAGE) as region, stdlib_mmap.mmap(-1, PAGE) as peer:
        for target in (region, peer):
            with pytest.raises(TypeError):
                copy.copy(target)


def _guide_examples() -> list[str]:
    text = (ROOT / "docs" / "porting.md").read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_the_porting_guide_has_examples() -> None:
    assert len(_guide_examples()) >= 5


@pytest.mark.parametrize("number", range(len(_guide_examples())))
def test_porting_guide_example_runs(tmp_path: Path, number: int) -> None:
    source = "import os\nos.chdir(" + repr(str(tmp_path)) + ")\n" + _guide_examples()[number]
    result = run_python(source, flags=("-X", "dev", "-W", "error"))
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert result.stderr == ""
