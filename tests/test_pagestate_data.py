"""rawmmap.pagestate as data: entry decoding and PageStates queries, no kernel needed.

Kept apart from test_pagestate.py, which skips where pagemap does not
describe this process (qemu-user): these run everywhere, big-endian s390x
included, where the byte column of a flag bit is the other end of an entry.
"""

from __future__ import annotations

import array
import sys

import pytest

from rawmmap import pagestate
from rawmmap.pagestate import PageFlag, PageState, PageStates, ScanCategory


def _synthetic(*entries: int) -> PageStates:
    return PageStates(0x10000, array.array("Q", entries), 4096)


def test_entry_decoding_follows_the_documented_bits() -> None:
    entry = (1 << 63) | (1 << 61) | (1 << 58) | (1 << 57) | (1 << 56) | (1 << 55) | 1234
    state = PageState.from_entry(entry)
    assert state == PageState(True, False, True, True, True, True, True, 1234)
    assert state.pfn == 1234
    assert state.swap_type is None and state.swap_offset is None


def test_a_swapped_entry_carries_swap_type_and_offset() -> None:
    state = PageState.from_entry((1 << 62) | (77 << 5) | 3)
    assert state.swapped and not state.present
    assert (state.swap_type, state.swap_offset, state.pfn) == (3, 77, None)


def test_counts_of_combined_flags_agree_with_a_plain_loop() -> None:
    present, dirty = int(PageFlag.PRESENT), int(PageFlag.SOFT_DIRTY)
    states = _synthetic(present | dirty, present, dirty, 0, present | dirty)
    both = present | dirty
    assert states.count(both) == 2  # bits in two different bytes: the slow path
    assert states.indices(both) == [0, 4]
    assert states.count(PageFlag.SOFT_DIRTY) == 3
    assert states.count(PageFlag.PRESENT | PageFlag.EXCLUSIVE) == 0
    assert states.ranges(PageFlag.PRESENT) == [(0x10000, 0x12000), (0x14000, 0x15000)]


def test_slices_keep_their_address() -> None:
    states = _synthetic(0, 1 << 63, 1 << 63, 0)
    middle = states[1:3]
    assert isinstance(middle, PageStates)
    assert middle.address == 0x11000 and len(middle) == 2
    assert middle.count(PageFlag.PRESENT) == 2
    with pytest.raises(ValueError, match="step"):
        states[::2]
    assert "2 present" in repr(states)


def test_pagemap_scan_is_iowr_f_16_of_a_96_byte_argument() -> None:
    # include/uapi/asm-generic/ioctl.h: dir << 30 | size << 16 | type << 8 | nr.
    assert pagestate.PAGEMAP_SCAN == 0xC0606610
    assert int(ScanCategory.SOFT_DIRTY) == 1 << 7


def test_total_of_no_areas_is_zero() -> None:
    assert pagestate.total([]) == pagestate.MappingTotals(0, *([0] * 12))


def test_vm_flag_names_are_two_letter_codes() -> None:
    assert all(len(code) == 2 and code.isalpha() for code in pagestate.VM_FLAG_NAMES)
    assert pagestate.VM_FLAG_NAMES["sl"] == "sealed"


@pytest.mark.skipif(sys.platform != "linux", reason="smaps is Linux's")
def test_every_public_name_has_a_docstring() -> None:
    for name in pagestate.__all__:
        value = getattr(pagestate, name)
        if callable(value):
            assert value.__doc__, name
