"""Hostile input: a table of bad calls across the public API.

Every row calls one public function (``rawmmap.mmap``, ``map_file``,
``map_anonymous``, a ``Region`` method, a ``rawmmap.raw`` call) with one bad
argument: a negative, zero or huge length or offset; a value just past the
range of its C type (2**31, 2**32, 2**63, 2**64, -1); a float, str, bool or
None; an object whose ``__index__`` raises, or unmaps the region in the
middle of the call (and maps a decoy where it was); a closed, negative or
unmappable descriptor (a pipe, a directory, /dev/null); flag and prot bits
this platform does not define; a range straddling the end of the region; a
read-only descriptor asked for PROT_WRITE with MAP_SHARED.

Each row must raise the exception it names (a typed, documented one) with a
message naming the bad argument. Rows whose argument would, if it reached
the kernel truncated, hit live memory (``addr + 2**64`` is ``addr`` to a
64-bit C ``void *``) check afterwards that the region is still mapped,
readable and unchanged: a truncation would have faulted or zeroed it.

A regression in such a row would kill the interpreter, so the rows marked
``may_fault`` run only in a child process
(``test_whole_table_in_a_child_process``), which runs the whole table; the
rest also run in-process for readable reports.
"""

# The table's rows are one call each; wrapping them would hide the table.
# ruff: noqa: E501

from __future__ import annotations

import os
import resource
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest

import rawmmap
from rawmmap import Advice, MapFlag, Prot, ProtectionError, Region, SyncFlag, raw
from rawmmap.flags import known_bits

from .emulation import MADVISE_IS_EMULATED, UNKNOWN_PROT_BIT_IS_ACCEPTED, is_missing
from .support import ROOT, child_environment, run_interpreter

#: Rows whose error comes from the kernel's madvise, which qemu-user answers itself.
KERNEL_MADVISE_CASES = frozenset({"madvise-unknown-advice", "raw-madvise-unknown"})


def _emulation_skip(case_id: str) -> str | None:
    """Why this row's kernel answer cannot arrive here (tests/emulation.py), or None."""
    if case_id in KERNEL_MADVISE_CASES and is_missing(MADVISE_IS_EMULATED):
        return MADVISE_IS_EMULATED
    if case_id == "raw-mprotect-unknown-bit" and is_missing(UNKNOWN_PROT_BIT_IS_ACCEPTED):
        return UNKNOWN_PROT_BIT_IS_ACCEPTED
    return None

PAGE = rawmmap.page_size()
PATTERN = bytes(range(256)) * (2 * PAGE // 256)
IN_CHILD = os.environ.get("RAWMMAP_HOSTILE_CHILD") == "1"


def _unknown_bit(known: int) -> int:
    """Return the lowest bit below 2**31 that ``known`` does not hold."""
    bit = 1
    while known & bit:
        bit <<= 1
    assert bit < 1 << 31
    return bit


UNKNOWN_PROT = _unknown_bit(known_bits(Prot))
UNKNOWN_MAP = _unknown_bit(known_bits(MapFlag))
UNKNOWN_SYNC = _unknown_bit(known_bits(SyncFlag))


class IndexRaised(ArithmeticError):
    """What ``RaisingIndex.__index__`` raises: the caller's own error."""


class RaisingIndex:
    """An integer-like object whose ``__index__`` raises."""

    def __index__(self) -> int:
        """Raise IndexRaised."""
        raise IndexRaised("__index__ of the caller's object failed")


@dataclass
class Env:
    """The resources the bad calls run against."""

    tmp: Path
    anon: Region
    file_region: Region
    path: Path
    ro_fd: int
    pipe_read: int
    pipe_write: int
    directory_fd: int
    devnull_fd: int
    closed_fd: int
    decoys: list[Region] = field(default_factory=list)

    def unmapping(self, value: int, region: Region | None = None) -> UnmappingIndex:
        """An index that unmaps ``region`` (default: anon) when converted."""
        return UnmappingIndex(self, self.anon if region is None else region, value)


class UnmappingIndex:
    """An index whose ``__index__`` unmaps the region and maps a decoy in its place.

    The decoy is read-write anonymous memory filled with PATTERN, likely at
    the address just freed: a call that went on with its stale address
    would change the decoy (mprotect, madvise, munmap), which the row's
    check then sees (or faults on, in the child).
    """

    def __init__(self, env: Env, region: Region, value: int) -> None:
        self.env, self.region, self.value = env, region, value

    def __index__(self) -> int:
        """Unmap the region, map a decoy, return the value."""
        if not self.region.closed:
            length = len(self.region)
            self.region.munmap()
            decoy = rawmmap.map_anonymous(length)
            decoy.write(0, PATTERN[:length])
            self.env.decoys.append(decoy)
        return self.value


def _check_decoys(env: Env) -> None:
    for decoy in env.decoys:
        assert decoy.protection(0) == Prot.READ | Prot.WRITE
        assert decoy.read() == PATTERN[: len(decoy)]


def _check_anon_intact(env: Env) -> None:
    # Read through raw, not the Region: a truncated raw call would not have
    # told the Region's protection map, so raw.read is what would fault.
    assert raw.mincore(env.anon.address, 2 * PAGE) is not None
    assert raw.read(env.anon.address, 2 * PAGE) == PATTERN


@dataclass(frozen=True)
class Case:
    """One bad call: what it does, what it must raise, what the message names."""

    id: str
    call: Callable[[Env], object]
    raises: type[BaseException] | None
    names: str
    check: Callable[[Env], None] | None = None
    may_fault: bool = False


def _with_view(method: Callable[[Region], object]) -> Callable[[Env], object]:
    def call(env: Env) -> object:
        with env.anon.view():
            return method(env.anon)

    return call


def _closed_region(method: Callable[[Region], object]) -> Callable[[Env], object]:
    def call(env: Env) -> object:
        region = rawmmap.map_anonymous(PAGE)
        region.munmap()
        return method(region)

    return call


def _ro_shared(env: Env) -> Region:
    return rawmmap.mmap(PAGE, Prot.READ, MapFlag.SHARED, env.ro_fd)


def _mprotect_ro_shared_writable(env: Env) -> None:
    region = _ro_shared(env)
    try:
        region.mprotect(Prot.READ | Prot.WRITE)
    finally:
        region.munmap()


def _protected(prot: int, method: Callable[[Region], object]) -> Callable[[Env], object]:
    def call(env: Env) -> object:
        env.anon.mprotect(prot)
        try:
            return method(env.anon)
        finally:
            env.anon.mprotect(Prot.READ | Prot.WRITE)

    return call


def _partially_unmapped(method: Callable[[Region], object]) -> Callable[[Env], object]:
    def call(env: Env) -> object:
        region = rawmmap.map_anonymous(3 * PAGE)
        region.munmap(PAGE, PAGE)
        try:
            return method(region)
        finally:
            region.munmap()

    return call


def _map_readonly_file_object_writable(env: Env) -> Region:
    with open(env.path, "rb") as file:
        return rawmmap.map_file(file, prot=Prot.READ | Prot.WRITE, shared=True)


def _mremap_path_mapping(env: Env) -> None:
    # map_file(path) closes the descriptor it opened, but the Region keeps its
    # own duplicate: growing checks the file's size through it.
    region = rawmmap.map_file(env.path, PAGE)
    try:
        region.mremap(os.path.getsize(env.path) + 2 * PAGE)
    finally:
        region.munmap()


def _over_reused_hole(method: Callable[[Region], object]) -> Callable[[Env], object]:
    """Unmap the middle page of a region, map a decoy exactly there, then call ``method``."""

    def call(env: Env) -> object:
        region = rawmmap.map_anonymous(3 * PAGE)
        hole = region.address + PAGE
        region.munmap(PAGE, PAGE)
        try:
            decoy = rawmmap.mmap(PAGE, RW, ANON | NOREPLACE, addr=hole)
        except OSError:  # pragma: no cover - FIXED_NOREPLACE unknown (Linux < 4.17)
            decoy = rawmmap.map_anonymous(PAGE)
        decoy.write(0, PATTERN[:PAGE])
        env.decoys.append(decoy)
        try:
            return method(region)
        finally:
            region.munmap()

    return call


class _BadFileno:
    def fileno(self) -> str:
        return "three"


ANON = MapFlag.PRIVATE | MapFlag.ANONYMOUS
RW = Prot.READ | Prot.WRITE
HAS_HWPOISON = hasattr(Advice, "HWPOISON")
NOREPLACE = int(getattr(MapFlag, "FIXED_NOREPLACE", 0))

CASES: list[Case] = [
    # ---- rawmmap.mmap / map_anonymous / map_file: lengths
    Case("mmap-length-zero", lambda e: rawmmap.mmap(0, RW, ANON), ValueError, "length"),
    Case("mmap-length-negative", lambda e: rawmmap.mmap(-1, RW, ANON), ValueError, "length"),
    Case("mmap-length-2**64", lambda e: rawmmap.mmap(2**64, RW, ANON), OverflowError, "length="),
    # 2**63 fits a 64-bit size_t (the kernel says ENOMEM), not a 32-bit one.
    Case("mmap-length-2**63-enomem", lambda e: rawmmap.mmap(2**63, RW, ANON), OSError if sys.maxsize > 2**32 else OverflowError, "length="),
    Case("mmap-length-float", lambda e: rawmmap.mmap(4096.0, RW, ANON), TypeError, "length"),  # type: ignore[arg-type]
    Case("mmap-length-str", lambda e: rawmmap.mmap("4096", RW, ANON), TypeError, "length"),  # type: ignore[arg-type]
    Case("mmap-length-bool", lambda e: rawmmap.mmap(True, RW, ANON), TypeError, "length"),
    Case("mmap-length-none", lambda e: rawmmap.mmap(None, RW, ANON), TypeError, "length"),  # type: ignore[arg-type]
    Case("mmap-length-index-raises", lambda e: rawmmap.mmap(RaisingIndex(), RW, ANON), IndexRaised, "__index__"),  # type: ignore[arg-type]
    Case("map-anonymous-length-negative", lambda e: rawmmap.map_anonymous(-PAGE), ValueError, "length"),
    Case("map-anonymous-length-2**64", lambda e: rawmmap.map_anonymous(2**64), OverflowError, "length="),
    # ---- prot and flags
    Case("mmap-prot-2**31", lambda e: rawmmap.mmap(PAGE, 2**31, ANON), ValueError, "prot="),
    Case("mmap-prot-minus-1", lambda e: rawmmap.mmap(PAGE, -1, ANON), ValueError, "prot="),
    Case("mmap-prot-unknown-bit", lambda e: rawmmap.mmap(PAGE, UNKNOWN_PROT, ANON), ValueError, "prot="),
    Case("mmap-prot-float", lambda e: rawmmap.mmap(PAGE, 3.0, ANON), TypeError, "prot"),  # type: ignore[arg-type]
    Case("mmap-flags-unknown-bit", lambda e: rawmmap.mmap(PAGE, RW, ANON | UNKNOWN_MAP), ValueError, "flags="),
    Case("mmap-flags-2**32", lambda e: rawmmap.mmap(PAGE, RW, ANON | 2**32), ValueError, "flags="),
    Case("mmap-flags-minus-1", lambda e: rawmmap.mmap(PAGE, RW, -1), ValueError, "flags="),
    Case("mmap-flags-no-type", lambda e: rawmmap.mmap(PAGE, RW, MapFlag.ANONYMOUS), ValueError, "SHARED"),
    Case("mmap-flags-fixed", lambda e: rawmmap.mmap(PAGE, RW, ANON | MapFlag.FIXED), ValueError, "FIXED"),
    Case("mmap-flags-none", lambda e: rawmmap.mmap(PAGE, RW, None), TypeError, "flags"),  # type: ignore[arg-type]
    Case("map-anonymous-flags-2**31", lambda e: rawmmap.map_anonymous(PAGE, flags=2**31), ValueError, "flags="),
    Case("map-anonymous-prot-unknown", lambda e: rawmmap.map_anonymous(PAGE, UNKNOWN_PROT), ValueError, "prot="),
    # ---- descriptors
    Case("mmap-anonymous-with-fd", lambda e: rawmmap.mmap(PAGE, RW, ANON, e.ro_fd), ValueError, "fd="),
    Case("mmap-file-fd-minus-1", lambda e: rawmmap.mmap(PAGE, Prot.READ, MapFlag.SHARED, -1), OSError, "fd=-1"),
    Case("mmap-file-fd-minus-2", lambda e: rawmmap.mmap(PAGE, Prot.READ, MapFlag.SHARED, -2), OSError, "fd=-2"),
    Case("mmap-fd-2**31", lambda e: rawmmap.mmap(PAGE, Prot.READ, MapFlag.SHARED, 2**31), OverflowError, "fd="),
    Case("mmap-fd-2**64", lambda e: rawmmap.mmap(PAGE, Prot.READ, MapFlag.SHARED, 2**64), OverflowError, "fd="),
    Case("mmap-fd-closed", lambda e: rawmmap.mmap(PAGE, Prot.READ, MapFlag.SHARED, e.closed_fd), OSError, "fd="),
    Case("mmap-fd-pipe", lambda e: rawmmap.mmap(PAGE, Prot.READ, MapFlag.SHARED, e.pipe_read), OSError, "fd="),
    Case("mmap-fd-directory", lambda e: rawmmap.mmap(PAGE, Prot.READ, MapFlag.SHARED, e.directory_fd), OSError, "fd="),
    Case("mmap-fd-devnull", lambda e: rawmmap.mmap(PAGE, Prot.READ, MapFlag.SHARED, e.devnull_fd), ValueError, "character device"),
    Case("mmap-readonly-fd-write-shared", lambda e: rawmmap.mmap(PAGE, RW, MapFlag.SHARED, e.ro_fd), PermissionError, "prot=3"),
    Case("map-file-none", lambda e: rawmmap.map_file(None), TypeError, "file"),
    Case("map-file-float", lambda e: rawmmap.map_file(3.0), TypeError, "file"),
    Case("map-file-bool", lambda e: rawmmap.map_file(True), TypeError, "file"),
    Case("map-file-fileno-str", lambda e: rawmmap.map_file(_BadFileno()), TypeError, "fileno"),
    Case("map-file-missing-path", lambda e: rawmmap.map_file(e.tmp / "missing"), FileNotFoundError, "missing"),
    Case("map-file-closed-fd", lambda e: rawmmap.map_file(e.closed_fd), OSError, "fd="),
    Case("map-file-negative-fd", lambda e: rawmmap.map_file(-5, PAGE), OSError, "fd=-5"),
    Case("map-file-pipe", lambda e: rawmmap.map_file(e.pipe_read, PAGE), OSError, "fd="),
    Case("map-file-pipe-no-length", lambda e: rawmmap.map_file(e.pipe_read), OSError, "is a pipe"),
    Case("map-file-directory-path", lambda e: rawmmap.map_file(e.tmp, PAGE), OSError, "fd="),
    Case("map-file-devnull", lambda e: rawmmap.map_file(os.devnull, PAGE), ValueError, "character device"),
    Case("map-file-readonly-object-write-shared", _map_readonly_file_object_writable, PermissionError, "prot=3"),
    # ---- offsets
    Case("mmap-offset-negative", lambda e: rawmmap.mmap(PAGE, Prot.READ, MapFlag.SHARED, e.ro_fd, -PAGE), ValueError, "offset"),
    Case("mmap-offset-unaligned", lambda e: rawmmap.mmap(PAGE, Prot.READ, MapFlag.SHARED, e.ro_fd, 1), ValueError, "offset=1"),
    Case("mmap-offset-2**63-file", lambda e: rawmmap.mmap(PAGE, Prot.READ, MapFlag.SHARED, e.ro_fd, 2**63), ValueError, "offset"),
    Case("mmap-offset-2**64-anon", lambda e: rawmmap.mmap(PAGE, RW, ANON, -1, 2**64), OverflowError, "offset="),
    Case("mmap-offset-float", lambda e: rawmmap.mmap(PAGE, RW, ANON, -1, 0.0), TypeError, "offset"),  # type: ignore[arg-type]
    Case("mmap-past-end-of-file", lambda e: rawmmap.mmap(3 * PAGE, Prot.READ, MapFlag.SHARED, e.ro_fd), ValueError, "offset+length"),
    Case("map-file-offset-past-end", lambda e: rawmmap.map_file(e.path, offset=4 * PAGE), ValueError, "offset="),
    Case("map-file-offset-unaligned", lambda e: rawmmap.map_file(e.path, offset=10), ValueError, "offset=10"),
    Case("mmap-addr-minus-1", lambda e: rawmmap.mmap(PAGE, RW, ANON, addr=-1), OverflowError, "addr="),
    Case("mmap-addr-2**64", lambda e: rawmmap.mmap(PAGE, RW, ANON, addr=2**64), OverflowError, "addr="),
    Case("mmap-addr-str", lambda e: rawmmap.mmap(PAGE, RW, ANON, addr="0"), TypeError, "addr"),  # type: ignore[arg-type]
    # ---- Region byte access
    Case("read-offset-negative", lambda e: e.anon.read(-1), IndexError, "offset=-1"),
    Case("read-length-negative", lambda e: e.anon.read(0, -1), ValueError, "length"),
    Case("read-length-2**64", lambda e: e.anon.read(0, 2**64), IndexError, "length="),
    Case("read-at-end-plus-one", lambda e: e.anon.read(2 * PAGE, 1), IndexError, "offset="),
    Case("read-straddles-end", lambda e: e.anon.read(2 * PAGE - 10, 11), IndexError, "length=11"),
    Case("read-offset-float", lambda e: e.anon.read(1.0), TypeError, "offset"),  # type: ignore[arg-type]
    Case("read-offset-str", lambda e: e.anon.read("0"), TypeError, "offset"),  # type: ignore[arg-type]
    Case("read-offset-none", lambda e: e.anon.read(None), TypeError, "offset"),  # type: ignore[arg-type]
    Case("read-length-bool", lambda e: e.anon.read(0, True), TypeError, "length"),
    Case("read-offset-index-raises", lambda e: e.anon.read(RaisingIndex()), IndexRaised, "__index__"),  # type: ignore[arg-type]
    Case("write-straddles-end", lambda e: e.anon.write(2 * PAGE - 2, b"abcd"), IndexError, "length=4"),
    Case("write-offset-negative", lambda e: e.anon.write(-1, b"a"), IndexError, "offset=-1"),
    Case("write-offset-2**64", lambda e: e.anon.write(2**64, b"a"), IndexError, "offset="),
    Case("write-data-str", lambda e: e.anon.write(0, "text"), TypeError, "data"),  # type: ignore[arg-type]
    Case("write-data-none", lambda e: e.anon.write(0, None), TypeError, "data"),  # type: ignore[arg-type]
    Case("write-data-int", lambda e: e.anon.write(0, 12), TypeError, "data"),  # type: ignore[arg-type]
    Case("getitem-past-end", lambda e: e.anon[2 * PAGE], IndexError, "index"),
    Case("getitem-before-start", lambda e: e.anon[-2 * PAGE - 1], IndexError, "index"),
    Case("getitem-2**64", lambda e: e.anon[2**64], IndexError, "index"),
    Case("getitem-str", lambda e: e.anon["a"], TypeError, "index"),  # type: ignore[call-overload]
    Case("getitem-float", lambda e: e.anon[1.0], TypeError, "index"),  # type: ignore[call-overload]
    Case("getitem-index-raises", lambda e: e.anon[RaisingIndex()], IndexRaised, "__index__"),  # type: ignore[call-overload]
    Case("setitem-byte-256", lambda e: e.anon.__setitem__(0, 256), ValueError, "byte"),
    Case("setitem-byte-negative", lambda e: e.anon.__setitem__(0, -1), ValueError, "byte"),
    Case("setitem-byte-bytes", lambda e: e.anon.__setitem__(0, b"a"), TypeError, "value"),
    Case("setitem-slice-too-long", lambda e: e.anon.__setitem__(slice(0, 2), b"abc"), IndexError, "value"),
    Case("setitem-slice-str", lambda e: e.anon.__setitem__(slice(0, 2), "ab"), TypeError, "value"),
    Case("view-offset-past-end", lambda e: e.anon.view(2 * PAGE + 1), IndexError, "offset="),
    Case("view-length-negative", lambda e: e.anon.view(0, -5), ValueError, "length"),
    Case("view-straddles-end", lambda e: e.anon.view(PAGE, 2 * PAGE), IndexError, "length="),
    Case("protection-offset-str", lambda e: e.anon.protection("0"), TypeError, "offset"),  # type: ignore[arg-type]
    Case("protection-offset-2**64", lambda e: e.anon.protection(2**64), IndexError, "offset="),
    # ---- Region page calls
    Case("munmap-offset-unaligned", lambda e: e.anon.munmap(1), ValueError, "offset=1"),
    Case("munmap-length-zero", lambda e: e.anon.munmap(0, 0), ValueError, "length"),
    Case("munmap-offset-negative", lambda e: e.anon.munmap(-PAGE), IndexError, "offset="),
    Case("munmap-length-2**64", lambda e: e.anon.munmap(PAGE, 2**64), IndexError, "length="),
    Case("munmap-offset-float", lambda e: e.anon.munmap(0.0), TypeError, "offset"),  # type: ignore[arg-type]
    Case("msync-sync-and-async", lambda e: e.file_region.msync(SyncFlag.SYNC | SyncFlag.ASYNC), ValueError, "SYNC"),
    Case("msync-flags-2**31", lambda e: e.file_region.msync(2**31), ValueError, "flags="),
    Case("msync-flags-minus-1", lambda e: e.file_region.msync(-1), ValueError, "flags="),
    Case("msync-flags-unknown-bit", lambda e: e.file_region.msync(UNKNOWN_SYNC), ValueError, "flags="),
    Case("msync-offset-unaligned", lambda e: e.file_region.msync(SyncFlag.SYNC, PAGE - 1), ValueError, "offset="),
    Case("msync-straddles-end", lambda e: e.file_region.msync(SyncFlag.SYNC, PAGE, 2 * PAGE), IndexError, "length="),
    Case("mprotect-prot-2**32", lambda e: e.anon.mprotect(2**32), ValueError, "prot="),
    Case("mprotect-prot-unknown-bit", lambda e: e.anon.mprotect(UNKNOWN_PROT), ValueError, "prot="),
    Case("mprotect-prot-none-value", lambda e: e.anon.mprotect(None), TypeError, "prot"),  # type: ignore[arg-type]
    Case("mprotect-offset-unaligned", lambda e: e.anon.mprotect(Prot.READ, 100), ValueError, "offset=100"),
    Case("mprotect-length-2**64", lambda e: e.anon.mprotect(Prot.READ, 0, 2**64), IndexError, "length="),
    Case("mprotect-straddles-end", lambda e: e.anon.mprotect(Prot.READ, PAGE, 2 * PAGE), IndexError, "length="),
    Case("mprotect-offset-str", lambda e: e.anon.mprotect(Prot.READ, "0"), TypeError, "offset"),  # type: ignore[arg-type]
    Case("mprotect-readonly-shared-file-to-write", _mprotect_ro_shared_writable, PermissionError, "prot=3"),
    Case("madvise-unknown-advice", lambda e: e.anon.madvise(9999), OSError, "advice=9999"),
    Case("madvise-advice-2**31", lambda e: e.anon.madvise(2**31), OverflowError, "advice="),
    Case("madvise-advice-below-int", lambda e: e.anon.madvise(-(2**31) - 1), OverflowError, "advice="),
    Case("madvise-advice-float", lambda e: e.anon.madvise(4.0), TypeError, "advice"),  # type: ignore[arg-type]
    Case("madvise-offset-unaligned", lambda e: e.anon.madvise(Advice.WILLNEED, 1), ValueError, "offset=1"),
    Case("mlock-length-2**64", lambda e: e.anon.mlock(0, 2**64), IndexError, "length="),
    Case("mlock-offset-unaligned", lambda e: e.anon.mlock(PAGE + 1), ValueError, "offset="),
    Case("munlock-offset-negative", lambda e: e.anon.munlock(-1), IndexError, "offset=-1"),
    Case("mincore-offset-unaligned", lambda e: e.anon.mincore(1), ValueError, "offset=1"),
    Case("mincore-length-zero", lambda e: e.anon.mincore(0, 0), ValueError, "length"),
    Case("mremap-zero", lambda e: e.anon.mremap(0), ValueError, "new_length"),
    Case("mremap-negative", lambda e: e.anon.mremap(-1), ValueError, "new_length"),
    Case("mremap-2**64", lambda e: e.anon.mremap(2**64), OverflowError, "new_size="),
    Case("mremap-float", lambda e: e.anon.mremap(1.5), TypeError, "new_length"),  # type: ignore[call-overload]
    Case("mremap-path-mapping-past-end", _mremap_path_mapping, ValueError, "offset+length"),
    Case("mremap-file-past-end", lambda e: e.file_region.mremap(4 * PAGE), ValueError, "offset+length"),
    # ---- exported buffers, protection, unmapped regions
    Case("munmap-with-live-view", _with_view(lambda r: r.munmap()), BufferError, "exported"),
    Case("mremap-with-live-view", _with_view(lambda r: r.mremap(PAGE)), BufferError, "exported"),
    Case("mprotect-downgrade-with-live-view", _with_view(lambda r: r.mprotect(Prot.READ)), BufferError, "exported"),
    Case("read-prot-none", _protected(Prot.NONE, lambda r: r.read(0, 1)), ProtectionError, "read"),
    Case("read-reverse-slice-prot-none", _protected(Prot.NONE, lambda r: r[10:0:-1]), ProtectionError, "read", may_fault=True),
    Case("write-reverse-slice-read-only", _protected(Prot.READ, lambda r: r.__setitem__(slice(10, 0, -1), b"x" * 10)), ProtectionError, "write", may_fault=True),
    Case("write-read-only", _protected(Prot.READ, lambda r: r.write(0, b"x")), ProtectionError, "write"),
    Case("setitem-read-only", _protected(Prot.READ, lambda r: r.__setitem__(5, 1)), ProtectionError, "write"),
    Case("writable-view-of-read-only", _protected(Prot.READ, lambda r: r.view(readonly=False)), ProtectionError, "view"),
    Case("read-across-hole", _partially_unmapped(lambda r: r.read(0, 3 * PAGE)), ValueError, "unmapped"),
    Case("mprotect-across-hole", _partially_unmapped(lambda r: r.mprotect(Prot.READ)), ValueError, "unmapped"),
    Case("hole-madvise-dontneed", _over_reused_hole(lambda r: r.madvise(Advice.DONTNEED)), ValueError, "unmapped", _check_decoys, True),
    Case("hole-msync", _over_reused_hole(lambda r: r.msync(SyncFlag.SYNC | SyncFlag.INVALIDATE)), ValueError, "unmapped", _check_decoys, True),
    Case("hole-mremap-grow", _over_reused_hole(lambda r: r.mremap(4 * PAGE)), ValueError, "unmapped", _check_decoys, True),
    Case("hole-mincore", _over_reused_hole(lambda r: r.mincore()), ValueError, "unmapped", _check_decoys, True),
    Case("hole-mlock", _over_reused_hole(lambda r: r.mlock()), ValueError, "unmapped", _check_decoys, True),
    Case("hole-munmap-range-spares-decoy", _over_reused_hole(lambda r: r.munmap(0, 3 * PAGE)), None, "", _check_decoys, True),
    Case("closed-read", _closed_region(lambda r: r.read()), ValueError, "unmapped"),
    Case("closed-write", _closed_region(lambda r: r.write(0, b"a")), ValueError, "unmapped"),
    Case("closed-getitem", _closed_region(lambda r: r[0]), ValueError, "unmapped"),
    Case("closed-view", _closed_region(lambda r: r.view()), ValueError, "unmapped"),
    Case("closed-mprotect", _closed_region(lambda r: r.mprotect(Prot.READ)), ValueError, "unmapped"),
    Case("closed-madvise", _closed_region(lambda r: r.madvise(Advice.NORMAL)), ValueError, "unmapped"),
    Case("closed-mincore", _closed_region(lambda r: r.mincore()), ValueError, "unmapped"),
    Case("closed-mlock", _closed_region(lambda r: r.mlock()), ValueError, "unmapped"),
    Case("closed-mremap", _closed_region(lambda r: r.mremap(2 * PAGE)), ValueError, "unmapped"),
    Case("closed-address", _closed_region(lambda r: r.address), ValueError, "unmapped"),
    # ---- __index__ that unmaps the region mid-call (and maps a decoy there)
    Case("unmapping-index-read", lambda e: e.anon.read(e.unmapping(0)), ValueError, "unmapped", _check_decoys, True),  # type: ignore[arg-type]
    Case("unmapping-index-write", lambda e: e.anon.write(e.unmapping(0), b"zz"), ValueError, "unmapped", _check_decoys, True),  # type: ignore[arg-type]
    Case("unmapping-index-getitem", lambda e: e.anon[e.unmapping(3)], ValueError, "unmapped", _check_decoys, True),  # type: ignore[call-overload]
    Case("unmapping-index-setitem", lambda e: e.anon.__setitem__(e.unmapping(3), 0), ValueError, "unmapped", _check_decoys, True),  # type: ignore[index]
    Case("unmapping-index-setitem-value", lambda e: e.anon.__setitem__(3, e.unmapping(0)), ValueError, "unmapped", _check_decoys, True),
    Case("unmapping-index-view", lambda e: e.anon.view(e.unmapping(0)), ValueError, "unmapped", _check_decoys, True),  # type: ignore[arg-type]
    Case("unmapping-index-mprotect-offset", lambda e: e.anon.mprotect(Prot.NONE, e.unmapping(0)), ValueError, "unmapped", _check_decoys, True),  # type: ignore[arg-type]
    Case("unmapping-index-mprotect-prot", lambda e: e.anon.mprotect(e.unmapping(0)), ValueError, "unmapped", _check_decoys, True),  # type: ignore[arg-type]
    Case("unmapping-index-madvise-dontneed", lambda e: e.anon.madvise(Advice.DONTNEED, e.unmapping(0)), ValueError, "unmapped", _check_decoys, True),  # type: ignore[arg-type]
    Case("unmapping-index-madvise-advice", lambda e: e.anon.madvise(e.unmapping(int(Advice.DONTNEED))), ValueError, "unmapped", _check_decoys, True),  # type: ignore[arg-type]
    Case("unmapping-index-msync", lambda e: e.file_region.msync(SyncFlag.SYNC, e.unmapping(0, e.file_region)), ValueError, "unmapped", _check_decoys, True),  # type: ignore[arg-type]
    Case("unmapping-index-munmap-range", lambda e: e.anon.munmap(e.unmapping(0), PAGE), None, "", _check_decoys, True),  # type: ignore[arg-type]
    Case("unmapping-index-mincore", lambda e: e.anon.mincore(e.unmapping(0)), ValueError, "unmapped", _check_decoys, True),  # type: ignore[arg-type]
    Case("unmapping-index-mlock", lambda e: e.anon.mlock(e.unmapping(0)), ValueError, "unmapped", _check_decoys, True),  # type: ignore[arg-type]
    Case("unmapping-index-munlock", lambda e: e.anon.munlock(0, e.unmapping(PAGE)), ValueError, "unmapped", _check_decoys, True),  # type: ignore[arg-type]
    Case("unmapping-index-mremap", lambda e: e.anon.mremap(e.unmapping(PAGE)), ValueError, "unmapped", _check_decoys, True),  # type: ignore[call-overload]
    Case("unmapping-index-protection", lambda e: e.anon.protection(e.unmapping(0)), ValueError, "unmapped", _check_decoys, True),  # type: ignore[arg-type]
    # ---- rawmmap.raw: values just past each C type, and the kernel's own refusals
    Case("raw-mmap-length-2**64", lambda e: raw.mmap(0, 2**64, RW, ANON, -1, 0), OverflowError, "length="),
    Case("raw-mmap-length-minus-1", lambda e: raw.mmap(0, -1, RW, ANON, -1, 0), OverflowError, "length="),
    Case("raw-mmap-length-zero", lambda e: raw.mmap(0, 0, RW, ANON, -1, 0), OSError, "length=0"),
    Case("raw-mmap-prot-2**31", lambda e: raw.mmap(0, PAGE, 2**31, ANON, -1, 0), OverflowError, "prot="),
    Case("raw-mmap-prot-2**32", lambda e: raw.mmap(0, PAGE, 2**32 | RW, ANON, -1, 0), OverflowError, "prot="),
    Case("raw-mmap-flags-2**32", lambda e: raw.mmap(0, PAGE, RW, 2**32 | ANON, -1, 0), OverflowError, "flags="),
    Case("raw-mmap-flags-no-type", lambda e: raw.mmap(0, PAGE, RW, MapFlag.ANONYMOUS, -1, 0), OSError, "flags="),
    Case("raw-mmap-fd-2**31", lambda e: raw.mmap(0, PAGE, Prot.READ, MapFlag.SHARED, 2**31, 0), OverflowError, "fd="),
    Case("raw-mmap-fd-below-int", lambda e: raw.mmap(0, PAGE, Prot.READ, MapFlag.SHARED, -(2**31) - 1, 0), OverflowError, "fd="),
    Case("raw-mmap-fd-closed", lambda e: raw.mmap(0, PAGE, Prot.READ, MapFlag.SHARED, e.closed_fd, 0), OSError, "fd="),
    Case("raw-mmap-fd-pipe", lambda e: raw.mmap(0, PAGE, Prot.READ, MapFlag.SHARED, e.pipe_write, 0), OSError, "fd="),
    Case("raw-mmap-readonly-fd-write-shared", lambda e: raw.mmap(0, PAGE, RW, MapFlag.SHARED, e.ro_fd, 0), PermissionError, "prot=3"),
    Case("raw-mmap-offset-2**63", lambda e: raw.mmap(0, PAGE, Prot.READ, MapFlag.SHARED, e.ro_fd, 2**63), OverflowError, "offset="),
    Case("raw-mmap-offset-below-off_t", lambda e: raw.mmap(0, PAGE, Prot.READ, MapFlag.SHARED, e.ro_fd, -(2**63) - 1), OverflowError, "offset="),
    Case("raw-mmap-addr-none", lambda e: raw.mmap(None, PAGE, RW, ANON, -1, 0), TypeError, "addr"),  # type: ignore[arg-type]
    Case("raw-mmap-length-float", lambda e: raw.mmap(0, 4096.0, RW, ANON, -1, 0), TypeError, "length"),  # type: ignore[arg-type]
    Case("raw-munmap-addr-plus-2**64", lambda e: raw.munmap(e.anon.address + 2**64, PAGE), OverflowError, "addr=", _check_anon_intact, True),
    Case("raw-munmap-length-plus-2**64", lambda e: raw.munmap(e.anon.address, 2**64 + PAGE), OverflowError, "length=", _check_anon_intact, True),
    Case("raw-munmap-unaligned", lambda e: raw.munmap(e.anon.address + 1, PAGE), OSError, "addr=", _check_anon_intact, True),
    Case("raw-mprotect-prot-2**32", lambda e: raw.mprotect(e.anon.address, PAGE, 2**32), OverflowError, "prot=", _check_anon_intact, True),
    Case("raw-mprotect-addr-minus-1", lambda e: raw.mprotect(-1, PAGE, Prot.NONE), OverflowError, "addr="),
    Case("raw-mprotect-unknown-bit", lambda e: raw.mprotect(e.anon.address, PAGE, RW | 0x1000), OSError, "prot=", _check_anon_intact, True),
    Case("raw-madvise-dontneed-plus-2**32", lambda e: raw.madvise(e.anon.address, 2 * PAGE, 2**32 + Advice.DONTNEED), OverflowError, "advice=", _check_anon_intact, True),
    Case("raw-madvise-advice-bool", lambda e: raw.madvise(e.anon.address, PAGE, True), TypeError, "advice"),
    Case("raw-madvise-unknown", lambda e: raw.madvise(e.anon.address, PAGE, 9999), OSError, "advice=9999"),
    Case("raw-msync-flags-2**31", lambda e: raw.msync(e.anon.address, PAGE, 2**31), OverflowError, "flags="),
    Case("raw-msync-flags-unknown", lambda e: raw.msync(e.anon.address, PAGE, 0xFF00), OSError, "flags="),
    Case("raw-mlock-length-minus-1", lambda e: raw.mlock(e.anon.address, -1), OverflowError, "length="),
    Case("raw-munlock-addr-2**64", lambda e: raw.munlock(2**64, PAGE), OverflowError, "addr="),
    Case("raw-mincore-length-2**64", lambda e: raw.mincore(e.anon.address, 2**64), OverflowError, "length="),
    Case("raw-mincore-unaligned", lambda e: raw.mincore(e.anon.address + 1, PAGE), OSError, "addr="),
    Case("raw-mremap-new-size-2**64", lambda e: raw.mremap(e.anon.address, PAGE, 2**64, 0), OverflowError, "new_size=", _check_anon_intact, True),
    Case("raw-mremap-flags-2**31", lambda e: raw.mremap(e.anon.address, PAGE, PAGE, 2**31), OverflowError, "flags="),
    Case("raw-mremap-new-address-2**64", lambda e: raw.mremap(e.anon.address, PAGE, PAGE, 3, 2**64), OverflowError, "new_address="),
    Case("raw-mlockall-flags-2**31", lambda e: raw.mlockall(2**31), OverflowError, "flags="),
    # A bit no architecture gives an MCL_ flag (PowerPC uses 0x2000-0x8000):
    Case("raw-mlockall-flags-unknown", lambda e: raw.mlockall(1 << 20), OSError, "flags="),
    Case("raw-read-length-minus-1", lambda e: raw.read(e.anon.address, -1), OverflowError, "length="),
    Case("raw-read-addr-minus-1", lambda e: raw.read(-1, 1), OverflowError, "addr="),
    Case("raw-read-addr-float", lambda e: raw.read(1.0, 1), TypeError, "addr"),  # type: ignore[arg-type]
    Case("raw-write-addr-2**64", lambda e: raw.write(2**64 + e.anon.address, b"zz"), OverflowError, "addr=", _check_anon_intact, True),
    Case("raw-write-data-str", lambda e: raw.write(e.anon.address, "text"), TypeError, "data", _check_anon_intact, True),  # type: ignore[arg-type]
    Case("raw-write-data-none", lambda e: raw.write(e.anon.address, None), TypeError, "data"),  # type: ignore[arg-type]
]

if raw.HAS_MLOCK2:
    CASES.append(
        Case("raw-mlock2-flags-2**32", lambda e: raw.mlock2(e.anon.address, PAGE, 2**32), OverflowError, "flags=")
    )
if HAS_HWPOISON:
    CASES.append(
        Case("madvise-hwpoison-refused", lambda e: e.anon.madvise(Advice.HWPOISON), ValueError, "HWPOISON")
    )


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    """Build the regions and descriptors; close and unmap all of it afterwards."""
    path = tmp_path / "data"
    path.write_bytes(PATTERN)
    # A closed descriptor that nothing will reuse: the kernel hands out the
    # lowest free number, so take the highest the limit allows.
    closed_fd = os.dup2(0, resource.getrlimit(resource.RLIMIT_NOFILE)[0] - 1)
    os.close(closed_fd)
    fds: list[int] = []
    regions: list[Region] = []
    try:
        ro_fd = os.open(path, os.O_RDONLY)
        fds.append(ro_fd)
        pipe_read, pipe_write = os.pipe()
        fds += [pipe_read, pipe_write]
        directory_fd = os.open(tmp_path, os.O_RDONLY)
        fds.append(directory_fd)
        devnull_fd = os.open(os.devnull, os.O_RDWR)
        fds.append(devnull_fd)
        anon = rawmmap.map_anonymous(2 * PAGE)
        regions.append(anon)
        anon.write(0, PATTERN)
        rw_fd = os.open(path, os.O_RDWR)
        fds.append(rw_fd)
        file_region = rawmmap.map_file(rw_fd, prot=RW)
        regions.append(file_region)
        environment = Env(
            tmp_path, anon, file_region, path, ro_fd, pipe_read, pipe_write,
            directory_fd, devnull_fd, closed_fd,
        )
        yield environment
        regions += environment.decoys
    finally:
        for region in regions:
            region.munmap()
        for fd in fds:
            os.close(fd)


def _ids() -> list[str]:
    return [case.id for case in CASES]


def test_table_has_at_least_sixty_distinct_bad_calls() -> None:
    assert len(CASES) >= 60
    assert len(set(_ids())) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=_ids())
def test_bad_call_raises_typed_error_naming_the_argument(case: Case, env: Env) -> None:
    if case.may_fault and not IN_CHILD:
        pytest.skip("a regression here would fault: runs in test_whole_table_in_a_child_process")
    emulation_skip = _emulation_skip(case.id)
    if emulation_skip:
        pytest.skip(emulation_skip)
    if case.raises is None:
        result = case.call(env)
        assert result is None
    else:
        with pytest.raises(case.raises) as caught:
            result = case.call(env)
            if isinstance(result, Region):  # pragma: no cover - the case is broken
                result.munmap()
        assert case.names in str(caught.value), f"{case.id}: {caught.value!r}"
    if case.check is not None:
        case.check(env)


def test_whole_table_in_a_child_process() -> None:
    """Run every row, including those that would fault on a regression, in a child."""
    completed = run_interpreter(
        [
            "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "-k", "test_bad_call_raises_typed_error_naming_the_argument", __file__,
        ],
        environment=child_environment(RAWMMAP_HOSTILE_CHILD="1"),
        cwd=ROOT,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-2000:]
    # Every row ran in the child: only the rows whose answer qemu-user gives
    # instead of the kernel may be skipped there.
    skipped = sum(1 for case in CASES if _emulation_skip(case.id))
    ran = f"{len(CASES) - skipped} passed" + (f", {skipped} skipped" if skipped else "")
    assert ran in completed.stdout, completed.stdout[-2000:]

