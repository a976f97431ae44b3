"""The kernel-behaviour probe: what this kernel and libc do with mappings.

``python -m rawmmap probe`` runs a list of small checks, each one a classic
claim about memory mapping taken from POSIX.1-2017 or the Linux man pages
(cited in the check's docstring), and reports for each the expected
behaviour, the observed one and a verdict: ``pass``, ``differs`` or
``skipped`` (with the reason). The checks call ``rawmmap.raw``, so what they
observe is the kernel's own answer (errno, signal, page state); anything
that should fault runs in a child process and the parent reports the
signal. Every file lives in one temporary directory that is removed at the
end, and every mapping is unmapped by the check that made it.

Exit status of ``probe``: 0 when no check differs, 1 when a check that is
not informational differs from what this platform is documented to do
(informational checks, such as the timing ratio, never change it), 2 on a
usage error.

Expectations per platform
-------------------------
Most expectations are POSIX's and hold everywhere. Where platforms are
documented to differ, the expectation follows the platform:

* ``map-fixed-noreplace``: skipped where ``MapFlag`` has no
  FIXED_NOREPLACE, and on Linux before 4.17 (those kernels ignore the
  flag and fall back to taking the address as a hint, as mmap(2) warns).
* ``fault-write-prot-read``, ``fault-prot-none``: SIGSEGV, except on macOS,
  where XNU turns a protection failure (KERN_PROTECTION_FAILURE) into
  SIGBUS. The macOS expectation is from XNU's exception-to-signal mapping
  and has not been run here.
* ``file-demand-paging``: skipped without ``os.posix_fadvise`` (macOS), and
  when the temporary directory is on tmpfs or ramfs, whose pages live only
  in memory and cannot be evicted (set TMPDIR to a disk filesystem).
* ``shared-private-across-fork``: skipped without ``os.fork``.

JSON schema, version 1
----------------------
``--json`` writes one object::

    {
      "schema": "rawmmap-probe",          # constant: identifies the format
      "schema_version": 1,                 # int; bumped on incompatible change
      "rawmmap_version": "0.1.0",
      "created": "2025-01-31T12:00:00Z",   # UTC, ISO 8601
      "seconds": 1.42,                     # wall time of the whole run
      "platform": {
        "os": "Linux",                     # platform.system()
        "kernel_release": "6.1.0-18-amd64",# platform.release()
        "architecture": "x86_64",          # platform.machine()
        "libc": "glibc",                   # "glibc", "musl", "libSystem", ... or ""
        "libc_version": "2.36",            # "" when unknown
        "page_size": 4096,                 # sysconf(_SC_PAGESIZE)
        "pointer_bits": 64,
        "python_implementation": "CPython",
        "python_version": "3.11.7"
      },
      "summary": {"pass": 22, "differs": 0, "skipped": 1},
      "checks": [                          # in run order
        {
          "name": "zero-length",           # stable identifier (--only takes it)
          "title": "...",                  # one line, the docstring's summary
          "source": "...",                 # the POSIX / man-page citation
          "informational": false,          # true: never changes the exit status
          "expected": "...",               # text; platform-specific where documented
          "observed": "...",               # text; "" when skipped
          "verdict": "pass",               # "pass" | "differs" | "skipped"
          "reason": "",                    # why skipped (or what went wrong); else ""
          "details": {},                   # check-specific numbers, JSON scalars/lists
          "seconds": 0.001
        }
      ]
    }

Readers must ignore keys they do not know; version 1 readers refuse a larger
``schema_version``. ``--compare A.json B.json`` pairs checks by ``name`` and
lists those whose verdict differs, or (for checks that are not
informational) whose observed text differs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import errno
import json
import os
import platform
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from typing import (
    Callable,
    Dict,
    Iterator,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

import rawmmap
from rawmmap import raw
from rawmmap.flags import Advice, MapFlag, Prot, SyncFlag
from rawmmap.region import map_file

__all__ = [
    "CHECKS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "Check",
    "CheckResult",
    "CheckSkipped",
    "Comparison",
    "Outcome",
    "PlatformInfo",
    "ProbeContext",
    "Report",
    "ReportError",
    "compare_reports",
    "exit_status",
    "format_comparison",
    "format_table",
    "list_checks",
    "load_report",
    "platform_info",
    "probe_context",
    "run_check",
    "run_probe",
]

#: The ``schema`` field of a JSON report.
SCHEMA = "rawmmap-probe"
#: The ``schema_version`` field; bumped on any incompatible change.
SCHEMA_VERSION = 1

PASS = "pass"
DIFFERS = "differs"
SKIPPED = "skipped"
_VERDICTS = (PASS, DIFFERS, SKIPPED)

#: A JSON value as the reports hold it.
JSONValue = Union[None, bool, int, float, str, List["JSONValue"], Dict[str, "JSONValue"]]

_PAGE = raw.page_size()
_PRIVATE_ANONYMOUS = MapFlag.PRIVATE | MapFlag.ANONYMOUS
_READ_WRITE = Prot.READ | Prot.WRITE
_CHILD_TIMEOUT = 30.0


# ------------------------------------------------------------------ platform


@dataclasses.dataclass(frozen=True)
class PlatformInfo:
    """Where a report was made: the header of the table and of the JSON."""

    os: str
    kernel_release: str
    architecture: str
    libc: str
    libc_version: str
    page_size: int
    pointer_bits: int
    python_implementation: str
    python_version: str

    def kernel_version(self) -> Tuple[int, ...]:
        """Return the leading numbers of the kernel release: (6, 1, 0)."""
        numbers: List[int] = []
        for part in self.kernel_release.split("."):
            digits = ""
            for character in part:
                if not character.isdigit():
                    break
                digits += character
            if not digits:
                break
            numbers.append(int(digits))
            if len(digits) != len(part):
                break
        return tuple(numbers)


def _libc_name_and_version() -> Tuple[str, str]:
    # glibc answers confstr(_CS_GNU_LIBC_VERSION) with "glibc 2.36"; musl
    # and the BSDs do not know the name.
    try:
        answer = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError, AttributeError):
        answer = None
    if answer:
        name, _, version = answer.partition(" ")
        return name, version
    if sys.platform == "darwin":
        return "libSystem", platform.mac_ver()[0]
    try:
        with open("/proc/self/maps", "rb") as maps:
            if b"musl" in maps.read():
                # musl exports no version call; its loader prints it, but
                # running it would spawn a process for one header line.
                return "musl", ""
    except OSError:
        pass
    name, version = platform.libc_ver()
    return name, version


def platform_info() -> PlatformInfo:
    """Describe the running platform (no process is spawned)."""
    libc, libc_version = _libc_name_and_version()
    return PlatformInfo(
        os=platform.system(),
        kernel_release=platform.release(),
        architecture=platform.machine(),
        libc=libc,
        libc_version=libc_version,
        page_size=_PAGE,
        pointer_bits=sys.maxsize.bit_length() + 1,
        python_implementation=platform.python_implementation(),
        python_version=platform.python_version(),
    )


# ------------------------------------------------------------------ checks


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one check found: expected and observed text, and the verdict."""

    expected: str
    observed: str
    verdict: str
    reason: str = ""
    details: Dict[str, JSONValue] = dataclasses.field(default_factory=dict)


class CheckSkipped(Exception):
    """Raised by a check that cannot run here; the message is the reason."""

    def __init__(self, reason: str, expected: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.expected = expected


@dataclasses.dataclass
class ProbeContext:
    """What a check may use: a private temporary directory and the platform."""

    directory: str
    platform: PlatformInfo

    def path(self, name: str) -> str:
        """Return the path of a file named ``name`` in the directory."""
        return os.path.join(self.directory, name)


CheckFunction = Callable[[ProbeContext], Outcome]


@dataclasses.dataclass(frozen=True)
class Check:
    """One registered check: a name, its function and whether it is informational."""

    name: str
    function: CheckFunction
    informational: bool = False

    @property
    def title(self) -> str:
        """The first line of the check's docstring."""
        return (self.function.__doc__ or self.name).strip().splitlines()[0]

    @property
    def source(self) -> str:
        """The ``Source:`` paragraph of the check's docstring (its citation)."""
        lines = (self.function.__doc__ or "").splitlines()
        collected: List[str] = []
        for line in lines:
            text = line.strip()
            if collected:
                if not text:
                    break
                collected.append(text)
            elif text.startswith("Source:"):
                collected.append(text[len("Source:") :].strip())
        return " ".join(collected)


#: Every check, in run order, by name.
CHECKS: Dict[str, Check] = {}


def _check(name: str, *, informational: bool = False) -> Callable[[CheckFunction], CheckFunction]:
    def register(function: CheckFunction) -> CheckFunction:
        CHECKS[name] = Check(name, function, informational)
        return function

    return register


def _judge(expected: str, observed: str, details: Optional[Dict[str, JSONValue]] = None) -> Outcome:
    """Pass when the observed text is the expected text."""
    verdict = PASS if observed == expected else DIFFERS
    return Outcome(expected, observed, verdict, details=dict(details or {}))


def _errno_name(code: Optional[int]) -> str:
    if code is None:
        return "OSError"
    return errno.errorcode.get(code, f"errno {code}")


def _attempt(call: Callable[[], object]) -> str:
    """Run a call that returns nothing to keep; say "succeeded" or its errno."""
    try:
        call()
    except OSError as error:
        return _errno_name(error.errno)
    return "succeeded"


def _attempt_mmap(
    addr: int, length: int, prot: int, flags: int, fd: int = -1, *, offset: int = 0
) -> Tuple[Optional[int], str]:
    """Call mmap; return (address or None, "mapped" or the errno name)."""
    try:
        address = raw.mmap(addr, length, prot, flags, fd, offset)
    except OSError as error:
        return None, _errno_name(error.errno)
    return address, "mapped"


@contextlib.contextmanager
def _mapping(length: int, prot: int, flags: int, fd: int = -1, offset: int = 0) -> Iterator[int]:
    """Map with raw.mmap and unmap on exit."""
    address = raw.mmap(0, length, prot, flags, fd, offset)
    try:
        yield address
    finally:
        raw.munmap(address, length)


@contextlib.contextmanager
def _file(context: ProbeContext, name: str, data: bytes, mode: int = os.O_RDWR) -> Iterator[int]:
    """Create a file holding ``data``, open it with ``mode``, close on exit."""
    path = context.path(name)
    with open(path, "wb") as created:
        created.write(data)
    descriptor = os.open(path, mode | getattr(os, "O_CLOEXEC", 0))
    try:
        yield descriptor
    finally:
        os.close(descriptor)


def _resident(vector: bytes) -> List[bool]:
    # mincore(2): bit 0 of each byte; the other bits are reserved (BSDs use them).
    return [bool(byte & 1) for byte in vector]


# --- the classic claims ------------------------------------------------------


@_check("mapped-read-speed", informational=True)
def check_mapped_read_speed(context: ProbeContext) -> Outcome:
    """Random small reads through a mapping beat one os.pread call each.

    Times 20000 reads of 16 bytes at random offsets of a cached 256 KiB
    file, through a memoryview of a MAP_SHARED mapping and with os.pread,
    best of three, and reports pread time / mapped time. Informational:
    timing depends on the load of the machine, so the verdict never
    changes the exit status.

    Source: the classic claim for memory-mapped I/O (W. R. Stevens and
    S. Rago, APUE 3rd ed., section 14.8 "Memory-Mapped I/O"); no standard
    promises it.
    """
    size = 64 * 1024 * 4
    generator = random.Random(3)
    reads = 20000
    offsets = [generator.randrange(0, size - 16) for _ in range(reads)]
    expected = "mapped reads faster than os.pread"
    with (
        _file(context, "speed", generator.randbytes(size)) as descriptor,
        map_file(descriptor) as region,
        region.view() as view,
    ):
        # Warm both paths: page cache, page tables, and the code itself.
        for offset in range(0, size, 4096):
            bytes(view[offset : offset + 16])
            os.pread(descriptor, 16, offset)

        def mapped() -> None:
            for offset in offsets:
                bytes(view[offset : offset + 16])

        def syscall() -> None:
            for offset in offsets:
                os.pread(descriptor, 16, offset)

        mapped_seconds = _best_of(mapped)
        pread_seconds = _best_of(syscall)
    ratio = pread_seconds / mapped_seconds if mapped_seconds > 0 else float("inf")
    if ratio >= 1:
        observed = f"mapped reads {ratio:.1f}x faster than os.pread"
    else:
        observed = f"mapped reads {1 / ratio:.1f}x slower than os.pread"
    details: Dict[str, JSONValue] = {
        "ratio": round(ratio, 3),
        "reads": reads,
        "read_size": 16,
        "mapped_seconds": round(mapped_seconds, 6),
        "pread_seconds": round(pread_seconds, 6),
    }
    return Outcome(expected, observed, PASS if ratio > 1 else DIFFERS, details=details)


def _best_of(function: Callable[[], None], repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


@_check("shared-mapping-is-page-cache")
def check_shared_mapping_is_page_cache(context: ProbeContext) -> Outcome:
    """A MAP_SHARED mapping is the page cache: read(2) and write(2) see it at once.

    A store through the mapping is returned by os.pread without msync, and
    an os.pwrite is seen through the mapping. POSIX only promises that the
    file changes (msync makes it durable); a unified page cache, as Linux,
    FreeBSD and macOS have, makes both directions immediate.

    Source: Linux mmap(2), MAP_SHARED: "Updates to the mapping are visible
    to other processes mapping the same region, and (in the case of
    file-backed mappings) are carried through to the underlying file";
    POSIX.1-2017 mmap(): "If MAP_SHARED is specified, write references
    shall change the underlying object."
    """
    expected = "os.pread sees the store; the mapping sees os.pwrite"
    with (
        _file(context, "cache", bytes(_PAGE)) as descriptor,
        _mapping(_PAGE, _READ_WRITE, MapFlag.SHARED, descriptor) as address,
    ):
        raw.write(address + 10, b"mapped")
        store_seen = os.pread(descriptor, 6, 10) == b"mapped"
        os.pwrite(descriptor, b"written", 100)
        pwrite_seen = raw.read(address + 100, 7) == b"written"
    observed = (
        f"os.pread {'sees' if store_seen else 'does not see'} the store; "
        f"the mapping {'sees' if pwrite_seen else 'does not see'} os.pwrite"
    )
    return _judge(expected, observed)


def _filesystem_type(directory: str) -> str:
    """Return the filesystem type of ``directory`` from /proc/self/mountinfo, or ""."""
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as mountinfo:
            lines = mountinfo.read().splitlines()
    except OSError:
        return ""
    target = os.path.realpath(directory)
    best = ("", "")
    for line in lines:
        # proc(5): ID parent major:minor root mount-point options ... - type source
        before, separator, after = line.partition(" - ")
        fields = before.split()
        if not separator or len(fields) < 5 or not after:
            continue
        mount_point = fields[4].replace("\\040", " ")
        inside = target == mount_point or target.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best[0]):
            best = (mount_point, after.split()[0])
    return best[1]


@_check("file-demand-paging")
def check_file_demand_paging(context: ProbeContext) -> Outcome:
    """A fresh mapping of an uncached file has no resident pages until touched.

    Writes a 32-page file, fsyncs it and drops it from the page cache with
    posix_fadvise(POSIX_FADV_DONTNEED), maps it (madvise RANDOM, to keep
    read-ahead small) and asks mincore: no page is resident. Reading one
    byte of page 8 faults it in; read-ahead may bring neighbours too.

    Source: Linux mincore(2) ("whether pages ... are resident in core");
    POSIX.1-2017 posix_fadvise(): POSIX_FADV_DONTNEED "Specifies that the
    application expects that it will not access the specified data in the
    near future"; Linux posix_fadvise(2): DONTNEED "attempts to free
    cached pages associated with the specified region" (dirty pages are
    not freed, hence the fsync).
    """
    pages = 32
    expected = f"0 of {pages} pages resident before a touch; the touched page resident after"
    if not hasattr(os, "posix_fadvise"):
        raise CheckSkipped("os.posix_fadvise is not available on this platform", expected)
    filesystem = _filesystem_type(context.directory)
    if filesystem in ("tmpfs", "ramfs"):
        raise CheckSkipped(
            f"the temporary directory is on {filesystem}, whose pages cannot be "
            "evicted; set TMPDIR to a disk filesystem",
            expected,
        )
    length = pages * _PAGE
    with _file(context, "paging", os.urandom(length)) as descriptor:
        os.fsync(descriptor)
        os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_DONTNEED)
        with _mapping(length, Prot.READ, MapFlag.SHARED, descriptor) as address:
            raw.madvise(address, length, Advice.RANDOM)
            before = _resident(raw.mincore(address, length))
            raw.read(address + 8 * _PAGE, 1)
            after = _resident(raw.mincore(address, length))
    observed = (
        f"{sum(before)} of {pages} pages resident before a touch; the touched page "
        f"{'resident' if after[8] else 'not resident'} after"
    )
    details: Dict[str, JSONValue] = {
        "resident_before": sum(before),
        "resident_after": sum(after),
        "filesystem": filesystem,
    }
    return _judge(expected, observed, details)


@_check("anonymous-demand-paging")
def check_anonymous_demand_paging(context: ProbeContext) -> Outcome:
    """An anonymous mapping costs no resident memory until a page is touched.

    Maps 16 private anonymous pages (under 2 MiB, so no huge page), asks
    mincore, writes one byte to page 3, asks again.

    Source: Linux mincore(2); Linux mmap(2), MAP_ANONYMOUS: "The mapping
    is not backed by any file; its contents are initialized to zero" (the
    kernel allocates a page on the first fault, not at mmap).
    """
    pages = 16
    length = pages * _PAGE
    expected = f"0 of {pages} pages resident before a touch; the touched page resident after"
    with _mapping(length, _READ_WRITE, _PRIVATE_ANONYMOUS) as address:
        before = _resident(raw.mincore(address, length))
        raw.write(address + 3 * _PAGE, b"x")
        after = _resident(raw.mincore(address, length))
    observed = (
        f"{sum(before)} of {pages} pages resident before a touch; the touched page "
        f"{'resident' if after[3] else 'not resident'} after"
    )
    return _judge(expected, observed, {"resident_after": sum(after)})


# --- the address -------------------------------------------------------------


@_check("null-address-hint")
def check_null_address_hint(context: ProbeContext) -> Outcome:
    """With addr NULL the kernel chooses a page-aligned address.

    Source: POSIX.1-2017 mmap(): "All implementations interpret an addr
    value of 0 as granting the implementation complete freedom in
    selecting pa"; "When the implementation selects a value for pa, it
    never places a mapping at address 0"; the mapping is made of whole
    pages, so pa is page aligned.
    """
    expected = "a non-NULL, page-aligned address"
    with _mapping(_PAGE, _READ_WRITE, _PRIVATE_ANONYMOUS) as address:
        if address == 0:
            observed = "NULL"
        elif address % _PAGE:
            observed = f"{address:#x}, not page aligned"
        else:
            observed = expected
    return _judge(expected, observed)


@_check("map-fixed-unaligned")
def check_map_fixed_unaligned(context: ProbeContext) -> Outcome:
    """MAP_FIXED at an address that is not page aligned fails with EINVAL.

    Both calls aim inside two pages this check reserved itself (PROT_NONE),
    so MAP_FIXED can only ever replace the check's own memory. The aligned
    call shows MAP_FIXED places the mapping exactly at addr.

    Source: POSIX.1-2017 mmap(), ERRORS: "[EINVAL] The addr argument (if
    MAP_FIXED was specified) or off is not a multiple of the page size";
    Linux mmap(2), MAP_FIXED: "addr must be suitably aligned".
    """
    expected = "unaligned: EINVAL; aligned: placed at addr"
    flags = _PRIVATE_ANONYMOUS | MapFlag.FIXED
    with _mapping(2 * _PAGE, Prot.NONE, _PRIVATE_ANONYMOUS) as reserved:
        address, unaligned = _attempt_mmap(reserved + 1, _PAGE, Prot.READ, flags)
        if address is not None:
            unaligned = f"mapped at {address:#x}"
        address, aligned = _attempt_mmap(reserved + _PAGE, _PAGE, Prot.READ, flags)
        if address is not None:
            aligned = "placed at addr" if address == reserved + _PAGE else f"at {address:#x}"
        # Whatever MAP_FIXED mapped lies inside the reservation, unmapped here.
    return _judge(expected, f"unaligned: {unaligned}; aligned: {aligned}")


@_check("map-fixed-noreplace")
def check_map_fixed_noreplace(context: ProbeContext) -> Outcome:
    """MAP_FIXED_NOREPLACE over an existing mapping fails with EEXIST.

    And in a hole of the check's own reservation it places the mapping at
    addr. NOREPLACE never replaces anything, so it is safe at any address.

    Source: Linux mmap(2), MAP_FIXED_NOREPLACE (since Linux 4.17): "If the
    requested range would collide with an existing mapping, then this call
    fails with the error EEXIST"; the same entry warns that older kernels
    do not recognize the flag and fall back to treating addr as a hint.
    """
    expected = "over a mapping: EEXIST; in a hole: placed at addr"
    if not hasattr(MapFlag, "FIXED_NOREPLACE"):
        raise CheckSkipped("MAP_FIXED_NOREPLACE is not on this platform", expected)
    if context.platform.os == "Linux" and context.platform.kernel_version()[:2] < (4, 17):
        raise CheckSkipped(
            "MAP_FIXED_NOREPLACE needs Linux 4.17; older kernels take addr as a hint",
            expected,
        )
    flags = _PRIVATE_ANONYMOUS | MapFlag.FIXED_NOREPLACE
    reserved = raw.mmap(0, 2 * _PAGE, Prot.NONE, _PRIVATE_ANONYMOUS, -1, 0)
    hole = reserved + _PAGE
    owned = [(reserved, 2 * _PAGE)]
    try:
        address, over = _attempt_mmap(reserved, _PAGE, Prot.READ, flags)
        if address is not None:
            if address == reserved:
                over = "replaced the mapping"
            else:
                over = "placed elsewhere (flag ignored)"
                owned.append((address, _PAGE))
        raw.munmap(hole, _PAGE)
        owned[0] = (reserved, _PAGE)
        address, in_hole = _attempt_mmap(hole, _PAGE, Prot.READ, flags)
        if address is not None:
            owned.append((address, _PAGE))
            in_hole = "placed at addr" if address == hole else "placed elsewhere"
        # EEXIST here means another thread took the hole: it is not ours to unmap.
    finally:
        for start, length in owned:
            raw.munmap(start, length)
    return _judge(expected, f"over a mapping: {over}; in a hole: {in_hole}")


# --- the length ----------------------------------------------------------------


@_check("length-rounding")
def check_length_rounding(context: ProbeContext) -> Outcome:
    """A length that is not a page multiple is rounded up to whole pages.

    Maps 100 bytes: mincore over the whole page succeeds (the whole page is
    mapped); munmap of the same 100 bytes removes the whole page (mincore
    then fails with ENOMEM).

    Source: POSIX.1-2017 mmap(): "The system performs mapping operations
    over whole pages. Thus, while the argument len need not meet a size or
    alignment constraint, the system shall include, in any mapping
    operation, any partial page specified by the address range"; Linux
    munmap(2): "All pages containing a part of the indicated range are
    unmapped"; Linux mincore(2): ENOMEM "addr to addr + length contained
    unmapped memory".
    """
    expected = "whole page mapped; munmap of 100 bytes unmaps the whole page (ENOMEM)"
    address = raw.mmap(0, 100, _READ_WRITE, _PRIVATE_ANONYMOUS, -1, 0)
    try:
        mapped = _attempt(lambda: raw.mincore(address, _PAGE))
    finally:
        raw.munmap(address, 100)
    # Only an observation: if another thread mapped this page meanwhile,
    # mincore merely says so.
    after = _attempt(lambda: raw.mincore(address, _PAGE))
    observed = (
        f"whole page {'mapped' if mapped == 'succeeded' else mapped}; munmap of 100 bytes "
        f"{'unmaps the whole page' if after != 'succeeded' else 'leaves the page mapped'} "
        f"({after})"
    )
    return _judge(expected, observed)


@_check("tail-zero-fill")
def check_tail_zero_fill(context: ProbeContext) -> Outcome:
    """The rest of the last page of a file reads as zero; stores there never reach the file.

    Maps a 100-byte file shared and writable, reads bytes 100 to the end
    of the page, writes into them, msyncs (MS_SYNC) and unmaps, then
    checks the file's size and bytes.

    Source: POSIX.1-2017 mmap(): "The system shall always zero-fill any
    partial page at the end of an object. Further, the system shall never
    write out any modified portions of the last page of an object which
    are beyond its end."
    """
    expected = "tail reads as zero; file stays 100 bytes, unchanged"
    content = bytes(range(100))
    with _file(context, "tail", content) as descriptor:
        with _mapping(100, _READ_WRITE, MapFlag.SHARED, descriptor) as address:
            tail = raw.read(address + 100, _PAGE - 100)
            raw.write(address + _PAGE - 4, b"tail")
            raw.msync(address, _PAGE, SyncFlag.SYNC)
        size = os.fstat(descriptor).st_size
        data = os.pread(descriptor, _PAGE, 0)
    zero = tail == bytes(len(tail))
    unchanged = data == content
    observed = (
        f"tail reads as {'zero' if zero else 'non-zero'}; file stays {size} bytes, "
        f"{'unchanged' if unchanged else 'changed'}"
    )
    return _judge(expected, observed, {"file_size": size})


# --- protection and the open mode ----------------------------------------------


@_check("shared-write-on-readonly-fd")
def check_shared_write_on_readonly_fd(context: ProbeContext) -> Outcome:
    """PROT_WRITE with MAP_SHARED on a descriptor opened O_RDONLY fails with EACCES.

    The descriptor's open mode decides, not the file's permission bits, so
    the answer is the same for root.

    Source: POSIX.1-2017 mmap(), ERRORS: "[EACCES] ... fildes is not open
    for write and PROT_WRITE was specified for a MAP_SHARED type mapping";
    Linux mmap(2), EACCES.
    """
    with _file(context, "readonly-shared", bytes(_PAGE), os.O_RDONLY) as descriptor:
        address, result = _attempt_mmap(0, _PAGE, _READ_WRITE, MapFlag.SHARED, descriptor)
        if address is not None:
            raw.munmap(address, _PAGE)
    return _judge("EACCES", result)


@_check("private-write-on-readonly-fd")
def check_private_write_on_readonly_fd(context: ProbeContext) -> Outcome:
    """PROT_WRITE with MAP_PRIVATE on an O_RDONLY descriptor works; the file is unchanged.

    Source: POSIX.1-2017 mmap(): EACCES only for "a MAP_SHARED type
    mapping"; "If MAP_PRIVATE is specified, modifications to the mapped
    data by the calling process shall be visible only to the calling
    process and shall not change the underlying object."
    """
    expected = "mapped; the store is seen in the mapping; file unchanged"
    with _file(context, "readonly-private", bytes(_PAGE), os.O_RDONLY) as descriptor:
        address, result = _attempt_mmap(0, _PAGE, _READ_WRITE, MapFlag.PRIVATE, descriptor)
        if address is None:
            return _judge(expected, result)
        try:
            raw.write(address, b"private")
            seen = raw.read(address, 7) == b"private"
        finally:
            raw.munmap(address, _PAGE)
        unchanged = os.pread(descriptor, _PAGE, 0) == bytes(_PAGE)
    observed = (
        f"mapped; the store is {'seen' if seen else 'not seen'} in the mapping; "
        f"file {'unchanged' if unchanged else 'changed'}"
    )
    return _judge(expected, observed)


@_check("mprotect-write-on-readonly-fd")
def check_mprotect_write_on_readonly_fd(context: ProbeContext) -> Outcome:
    """mprotect to PROT_WRITE on a shared mapping of an O_RDONLY descriptor fails with EACCES.

    Source: Linux mprotect(2), EACCES: "if you mmap(2) a file to which you
    have read-only access, then ask mprotect() to mark it PROT_WRITE";
    POSIX.1-2017 mprotect(): "[EACCES] The prot argument specifies a
    protection that violates the access permission the process has to the
    underlying memory object."
    """
    with (
        _file(context, "readonly-mprotect", bytes(_PAGE), os.O_RDONLY) as descriptor,
        _mapping(_PAGE, Prot.READ, MapFlag.SHARED, descriptor) as address,
    ):
        result = _attempt(lambda: raw.mprotect(address, _PAGE, _READ_WRITE))
    return _judge("EACCES", result)


# --- sharing ----------------------------------------------------------------------


@_check("shared-private-two-mappings")
def check_shared_private_two_mappings(context: ProbeContext) -> Outcome:
    """Between two mappings of one file, MAP_SHARED stores are seen and MAP_PRIVATE ones are not.

    Maps one page three times: shared A, shared B, private P. A store
    through A is seen through B. A store through P is seen neither
    through A nor by os.pread. Whether P sees A's store before P's first
    own store is unspecified; it is recorded in the details only.

    Source: POSIX.1-2017 mmap(): "If MAP_SHARED is specified, write
    references shall change the underlying object. If MAP_PRIVATE is
    specified, modifications to the mapped data by the calling process
    shall be visible only to the calling process and shall not change the
    underlying object. It is unspecified whether modifications to the
    underlying object done after the MAP_PRIVATE mapping is established
    are visible through the MAP_PRIVATE mapping."
    """
    expected = "shared store seen by the other shared mapping; private store seen by neither"
    with (
        _file(context, "sharing", bytes(_PAGE)) as descriptor,
        _mapping(_PAGE, _READ_WRITE, MapFlag.SHARED, descriptor) as first,
        _mapping(_PAGE, _READ_WRITE, MapFlag.SHARED, descriptor) as second,
        _mapping(_PAGE, _READ_WRITE, MapFlag.PRIVATE, descriptor) as private,
    ):
        raw.write(first, b"shared")
        shared_seen = raw.read(second, 6) == b"shared"
        private_saw_shared = raw.read(private, 6) == b"shared"
        raw.write(private + 64, b"private")
        private_leaked = (
            raw.read(first + 64, 7) == b"private" or os.pread(descriptor, 7, 64) == b"private"
        )
    observed = (
        f"shared store {'seen' if shared_seen else 'not seen'} by the other shared mapping; "
        f"private store seen by {'the shared mapping or the file' if private_leaked else 'neither'}"
    )
    return _judge(expected, observed, {"private_saw_earlier_shared_store": private_saw_shared})


@_check("shared-private-across-fork")
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
        _mapping(_PAGE, _READ_WRITE, MapFlag.SHARED | MapFlag.ANONYMOUS) as shared,
        _mapping(_PAGE, _READ_WRITE, _PRIVATE_ANONYMOUS) as private,
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
    return _judge(expected, observed)


# --- the offset -------------------------------------------------------------------


@_check("offset-alignment")
def check_offset_alignment(context: ProbeContext) -> Outcome:
    """A file offset that is not a page multiple fails with EINVAL.

    Source: POSIX.1-2017 mmap(), ERRORS: "[EINVAL] The addr argument (if
    MAP_FIXED was specified) or off is not a multiple of the page size";
    Linux mmap(2): "offset must be a multiple of the page size".
    """
    expected = "offset 1: EINVAL; offset of one page: mapped"
    with _file(context, "offset", bytes(2 * _PAGE), os.O_RDONLY) as descriptor:
        results = []
        for offset in (1, _PAGE):
            address, result = _attempt_mmap(
                0, _PAGE, Prot.READ, MapFlag.SHARED, descriptor, offset=offset
            )
            if address is not None:
                raw.munmap(address, _PAGE)
            results.append(result)
    return _judge(expected, f"offset 1: {results[0]}; offset of one page: {results[1]}")


@_check("offset-above-4gib")
def check_offset_above_4gib(context: ProbeContext) -> Outcome:
    """An offset above 4 GiB maps the right bytes (64-bit off_t, on 32-bit hosts too).

    Makes a sparse file of 4 GiB and two pages, writes a marker at 4 GiB +
    one page with os.pwrite and maps that page.

    Source: POSIX.1-2017 mmap() maps the memory object "at offset off for
    len bytes", off being an off_t; Linux mmap(2), C library/kernel
    differences: glibc's wrapper calls mmap2(2), whose offset in page
    units reaches past 4 GiB on 32-bit systems once the C library passes
    a 64-bit off_t (mmap64; rawmmap._libc picks it).
    """
    offset = (1 << 32) + _PAGE
    expected = "mapped; the marker at 4 GiB + 1 page is read back"
    marker = b"above 4 GiB"
    path = context.path("sparse")
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        try:
            os.ftruncate(descriptor, offset + _PAGE)
            os.pwrite(descriptor, marker, offset)
        except OSError as error:
            raise CheckSkipped(
                f"the temporary directory cannot hold a sparse file above 4 GiB "
                f"({_errno_name(error.errno)})",
                expected,
            ) from error
        address, result = _attempt_mmap(
            0, _PAGE, Prot.READ, MapFlag.SHARED, descriptor, offset=offset
        )
        if address is None:
            return _judge(expected, result)
        try:
            seen = raw.read(address, len(marker)) == marker
        finally:
            raw.munmap(address, _PAGE)
    finally:
        os.close(descriptor)
        os.unlink(path)
    observed = f"mapped; the marker at 4 GiB + 1 page is {'read back' if seen else 'not there'}"
    return _judge(expected, observed, {"offset": offset})


# --- faults, in child processes -----------------------------------------------------

#: What the child runs before its snippet: no core file, rawmmap importable.
_CHILD_PRELUDE = """\
import os, sys
try:
    import resource
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
except (ImportError, ValueError, OSError):
    pass
sys.path.insert(0, sys.argv[1])
from rawmmap import raw
from rawmmap.flags import MapFlag, Prot
page = raw.page_size()
anonymous = MapFlag.PRIVATE | MapFlag.ANONYMOUS
"""

#: The signal a protection fault raises: SIGSEGV, but SIGBUS on macOS
#: (XNU maps KERN_PROTECTION_FAILURE to SIGBUS; not run here).
_PROTECTION_FAULT = "SIGBUS" if sys.platform == "darwin" else "SIGSEGV"


def _run_child(context: ProbeContext, snippet: str) -> Tuple[int, str, str]:
    """Run the prelude and ``snippet`` in ``sys.executable -I``; return (status, out, err).

    The status is negative when a signal killed the child (subprocess).
    """
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(rawmmap.__file__)))
    command = [
        sys.executable,
        "-I",
        "-c",
        _CHILD_PRELUDE + textwrap.dedent(snippet),
        package_parent,
        context.directory,
    ]
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=_CHILD_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        return 0, "", f"timed out after {_CHILD_TIMEOUT:.0f} s"
    return completed.returncode, completed.stdout, completed.stderr


def _describe_exit(status: int, stderr: str) -> str:
    if status < 0:
        try:
            return signal.Signals(-status).name
        except ValueError:
            return f"signal {-status}"
    lines = stderr.strip().splitlines()
    if status == 0 and not lines:
        return "no fault"
    return f"exit status {status}" + (f" ({lines[-1]})" if lines else "")


def _fault(context: ProbeContext, snippet: str) -> str:
    status, _, stderr = _run_child(context, textwrap.dedent(snippet) + "\nprint('no fault')\n")
    return _describe_exit(status, stderr)


@_check("fault-write-prot-read")
def check_fault_write_prot_read(context: ProbeContext) -> Outcome:
    """A write to PROT_READ memory kills the process with SIGSEGV (child process).

    Source: Linux mmap(2), "Use of a mapped region can result in these
    signals: SIGSEGV Attempted write into a region mapped as read-only";
    POSIX.1-2017 mmap(): the implementation "shall not permit a write to
    succeed where PROT_WRITE has not been set" (the signal is the
    platform's; macOS raises SIGBUS: see the module docstring).
    """
    observed = _fault(
        context,
        """
        address = raw.mmap(0, page, Prot.READ, anonymous, -1, 0)
        raw.write(address, b"x")
        """,
    )
    return _judge(_PROTECTION_FAULT, observed)


@_check("fault-prot-none")
def check_fault_prot_none(context: ProbeContext) -> Outcome:
    """Any access to PROT_NONE memory, read or write, raises SIGSEGV (child processes).

    Source: POSIX.1-2017 mmap(): the implementation "shall not permit any
    access where PROT_NONE alone has been set"; Linux mprotect(2): "If the
    calling process tries to access memory in a manner that violates the
    protection, then the kernel generates a SIGSEGV signal" (macOS raises
    SIGBUS: see the module docstring).
    """
    mapping = "address = raw.mmap(0, page, Prot.NONE, anonymous, -1, 0)\n"
    read = _fault(context, mapping + "raw.read(address, 1)")
    write = _fault(context, mapping + "raw.write(address, b'x')")
    expected = f"read: {_PROTECTION_FAULT}; write: {_PROTECTION_FAULT}"
    return _judge(expected, f"read: {read}; write: {write}")


@_check("fault-after-munmap")
def check_fault_after_munmap(context: ProbeContext) -> Outcome:
    """Reading memory after munmap raises SIGSEGV (child process).

    Source: POSIX.1-2017 munmap(): "Further references to these pages
    shall result in the generation of a SIGSEGV signal to the process."
    """
    observed = _fault(
        context,
        """
        address = raw.mmap(0, page, Prot.READ | Prot.WRITE, anonymous, -1, 0)
        raw.munmap(address, page)
        raw.read(address, 1)
        """,
    )
    return _judge("SIGSEGV", observed)


@_check("fault-past-eof")
def check_fault_past_eof(context: ProbeContext) -> Outcome:
    """Touching a mapped page wholly past the end of a truncated file raises SIGBUS (child).

    The child maps two pages of a two-page file, truncates the file to one
    page, and reads the second page.

    Source: POSIX.1-2017 mmap(): "References within the address range
    starting at pa and continuing for len bytes to whole pages following
    the end of an object shall result in delivery of a SIGBUS signal";
    Linux mmap(2): "SIGBUS Attempted access to a page of the buffer that
    lies beyond the end of the mapped file".
    """
    observed = _fault(
        context,
        """
        path = os.path.join(sys.argv[2], "truncated")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        os.ftruncate(fd, 2 * page)
        address = raw.mmap(0, 2 * page, Prot.READ, MapFlag.SHARED, fd, 0)
        os.ftruncate(fd, page)
        raw.read(address + page, 1)
        """,
    )
    with contextlib.suppress(FileNotFoundError):
        os.unlink(context.path("truncated"))
    return _judge("SIGBUS", observed)


# --- argument rules --------------------------------------------------------------


@_check("msync-sync-and-async")
def check_msync_sync_and_async(context: ProbeContext) -> Outcome:
    """msync with both MS_SYNC and MS_ASYNC fails with EINVAL; MS_SYNC alone works.

    Source: POSIX.1-2017 msync(): "Either MS_ASYNC or MS_SYNC shall be
    specified, but not both"; Linux msync(2), EINVAL: "both MS_SYNC and
    MS_ASYNC are set in flags".
    """
    expected = "SYNC|ASYNC: EINVAL; SYNC: succeeded"
    with (
        _file(context, "msync", bytes(_PAGE)) as descriptor,
        _mapping(_PAGE, _READ_WRITE, MapFlag.SHARED, descriptor) as address,
    ):
        both = _attempt(lambda: raw.msync(address, _PAGE, SyncFlag.SYNC | SyncFlag.ASYNC))
        alone = _attempt(lambda: raw.msync(address, _PAGE, SyncFlag.SYNC))
    return _judge(expected, f"SYNC|ASYNC: {both}; SYNC: {alone}")


@_check("munmap-unmapped-range")
def check_munmap_unmapped_range(context: ProbeContext) -> Outcome:
    """munmap of a range with nothing mapped is not an error (child process).

    Runs in a child: in this process another thread could map the freed
    range between the two calls, and the second munmap would remove it.

    Source: POSIX.1-2017 munmap(): "If there are no mappings in the
    specified address range, then munmap() has no effect"; Linux
    munmap(2): "It is not an error if the indicated range does not contain
    any mapped pages."
    """
    status, stdout, stderr = _run_child(
        context,
        """
        address = raw.mmap(0, 3 * page, Prot.NONE, anonymous, -1, 0)
        raw.munmap(address + page, page)
        try:
            raw.munmap(address + page, page)
        except OSError as error:
            import errno
            print(errno.errorcode.get(error.errno, error.errno))
        else:
            print("succeeded")
        raw.munmap(address, 3 * page)
        """,
    )
    observed = stdout.strip() if status == 0 and stdout.strip() else _describe_exit(status, stderr)
    return _judge("succeeded", observed)


@_check("zero-length")
def check_zero_length(context: ProbeContext) -> Outcome:
    """mmap and munmap with length 0 fail with EINVAL.

    Source: POSIX.1-2017 mmap(), ERRORS: "[EINVAL] The value of len is
    zero"; munmap(): "[EINVAL] The len argument is 0"; Linux mmap(2):
    EINVAL "(since Linux 2.6.12) length was 0".
    """
    expected = "mmap: EINVAL; munmap: EINVAL"
    # If a kernel accepted length 0 it mapped nothing of ours to unmap:
    # unmapping a page there could remove someone else's mapping.
    _, mapped = _attempt_mmap(0, 0, Prot.READ, _PRIVATE_ANONYMOUS)
    with _mapping(_PAGE, Prot.NONE, _PRIVATE_ANONYMOUS) as reserved:
        unmapped = _attempt(lambda: raw.munmap(reserved, 0))
    return _judge(expected, f"mmap: {mapped}; munmap: {unmapped}")


# ------------------------------------------------------------------ runner


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """One row of a report: a check's outcome with its name and citation."""

    name: str
    title: str
    source: str
    informational: bool
    expected: str
    observed: str
    verdict: str
    reason: str
    details: Dict[str, JSONValue]
    seconds: float

    def to_json(self) -> Dict[str, JSONValue]:
        """Return the row as the JSON schema (version 1) has it."""
        return {
            "name": self.name,
            "title": self.title,
            "source": self.source,
            "informational": self.informational,
            "expected": self.expected,
            "observed": self.observed,
            "verdict": self.verdict,
            "reason": self.reason,
            "details": dict(self.details),
            "seconds": round(self.seconds, 4),
        }


@dataclasses.dataclass(frozen=True)
class Report:
    """A whole run: the platform, the rows, and when and how long."""

    platform: PlatformInfo
    results: Tuple[CheckResult, ...]
    created: str = ""
    seconds: float = 0.0
    rawmmap_version: str = rawmmap.__version__

    def summary(self) -> Dict[str, int]:
        """Count the rows per verdict."""
        counts = dict.fromkeys(_VERDICTS, 0)
        for result in self.results:
            counts[result.verdict] = counts.get(result.verdict, 0) + 1
        return counts

    def to_json(self) -> Dict[str, JSONValue]:
        """Return the report as the JSON schema (version 1) has it."""
        platform_fields: Dict[str, JSONValue] = dict(dataclasses.asdict(self.platform))
        summary: Dict[str, JSONValue] = dict(self.summary())
        return {
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "rawmmap_version": self.rawmmap_version,
            "created": self.created,
            "seconds": round(self.seconds, 3),
            "platform": platform_fields,
            "summary": summary,
            "checks": [result.to_json() for result in self.results],
        }


@contextlib.contextmanager
def probe_context() -> Iterator[ProbeContext]:
    """Make the temporary directory the checks work in; remove it on exit."""
    with tempfile.TemporaryDirectory(prefix="rawmmap-probe-") as directory:
        yield ProbeContext(directory, platform_info())


def run_check(name: str, context: ProbeContext) -> CheckResult:
    """Run one check by name and return its row.

    A check that raises CheckSkipped is ``skipped`` with the reason; one
    that raises anything else ``differs``, with the exception as the
    observation (the kernel answered in a way the check did not expect).

    Raises:
        KeyError: no check has this name.
    """
    check = CHECKS[name]
    start = time.perf_counter()
    try:
        outcome = check.function(context)
    except CheckSkipped as skipped:
        outcome = Outcome(skipped.expected, "", SKIPPED, skipped.reason)
    except Exception as error:  # any failure is an observation
        outcome = Outcome(
            "",
            f"{type(error).__name__}: {error}",
            DIFFERS,
            reason="the check raised an unexpected exception",
        )
    seconds = time.perf_counter() - start
    return CheckResult(
        name=check.name,
        title=check.title,
        source=check.source,
        informational=check.informational,
        expected=outcome.expected,
        observed=outcome.observed,
        verdict=outcome.verdict,
        reason=outcome.reason,
        details=dict(outcome.details),
        seconds=seconds,
    )


def run_probe(names: Optional[Sequence[str]] = None) -> Report:
    """Run the named checks (default: all, in order) and return the report.

    Raises:
        KeyError: a name is not a check.
    """
    selected = list(CHECKS) if names is None else list(names)
    for name in selected:
        if name not in CHECKS:
            raise KeyError(name)
    created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    start = time.perf_counter()
    with probe_context() as context:
        results = tuple(run_check(name, context) for name in selected)
        info = context.platform
    return Report(info, results, created, time.perf_counter() - start)


def exit_status(report: Report) -> int:
    """Return 1 when a check that is not informational differs, else 0."""
    for result in report.results:
        if result.verdict == DIFFERS and not result.informational:
            return 1
    return 0


def list_checks() -> str:
    """Return one line per check: its name and title."""
    width = max(len(name) for name in CHECKS)
    lines = []
    for check in CHECKS.values():
        note = " (informational)" if check.informational else ""
        lines.append(f"{check.name:<{width}}  {check.title}{note}")
    return "\n".join(lines)


# ------------------------------------------------------------------ output


def _terminal_width() -> int:
    return max(80, shutil.get_terminal_size((120, 24)).columns)


def _platform_lines(info: PlatformInfo) -> List[str]:
    libc = " ".join(part for part in (info.libc, info.libc_version) if part) or "unknown"
    return [
        f"OS            {info.os} {info.kernel_release}",
        f"architecture  {info.architecture} ({info.pointer_bits}-bit)",
        f"libc          {libc}",
        f"page size     {info.page_size}",
        f"Python        {info.python_implementation} {info.python_version}",
    ]


def _table(headings: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> List[str]:
    """Lay out rows in columns; the last two columns share the free width, wrapped."""
    fixed = [
        max([len(headings[i])] + [len(row[i]) for row in rows]) for i in range(len(headings) - 2)
    ]
    free = width - sum(fixed) - 2 * (len(headings) - 1)
    # The last column takes what it needs, up to half; the other one the rest.
    longest = max([len(headings[-1])] + [len(row[-1]) for row in rows])
    right = max(12, min(longest, free // 2))
    longest = max([len(headings[-2])] + [len(row[-2]) for row in rows])
    left = max(12, min(longest, free - right))
    widths = [*fixed, left, right]
    lines = []

    def emit(cells: Sequence[str]) -> None:
        wrapped = [textwrap.wrap(cell, widths[i]) or [""] for i, cell in enumerate(cells)]
        for index in range(max(len(column) for column in wrapped)):
            parts = [
                (column[index] if index < len(column) else "").ljust(widths[i])
                for i, column in enumerate(wrapped)
            ]
            lines.append("  ".join(parts).rstrip())

    emit(headings)
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        emit(row)
    return lines


def format_table(report: Report, width: Optional[int] = None) -> str:
    """Render a report as a header and a table for a terminal."""
    width = width or _terminal_width()
    lines = [f"rawmmap {report.rawmmap_version} kernel-behaviour probe", ""]
    lines += _platform_lines(report.platform)
    lines.append("")
    rows = []
    for result in report.results:
        name = result.name + (" (i)" if result.informational else "")
        if result.verdict == SKIPPED:
            observed = result.reason
        elif result.observed == result.expected:
            observed = "as expected"
        else:
            observed = result.observed
        rows.append((name, result.verdict, result.expected, observed))
    lines += _table(("check", "verdict", "expected", "observed"), rows, width)
    counts = report.summary()
    lines.append("")
    lines.append(
        f"{len(report.results)} checks in {report.seconds:.1f} s: {counts[PASS]} pass, "
        f"{counts[DIFFERS]} differ, {counts[SKIPPED]} skipped"
    )
    if any(result.informational for result in report.results):
        lines.append("(i) informational: does not change the exit status")
    return "\n".join(lines)


class ReportError(ValueError):
    """A JSON report that does not follow the schema."""


def _field(data: Mapping[str, object], key: str, kind: type, where: str) -> object:
    value = data.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ReportError(f"{where}: {key!r} must be {kind.__name__}, not {value!r}")
    return value


def _json_details(value: object) -> Dict[str, JSONValue]:
    if not isinstance(value, dict):
        return {}
    # Loaded from JSON, so every value is already a JSON value.
    return {str(key): item for key, item in value.items()}


def load_report(path: str) -> Report:
    """Read a JSON report written by ``--json``.

    Raises:
        OSError: the file cannot be read.
        ReportError: it is not JSON, not a rawmmap-probe report, or of a
            newer schema version.
    """
    try:
        with open(path, encoding="utf-8") as file:
            data: object = json.load(file)
    except json.JSONDecodeError as error:
        raise ReportError(f"{path}: not JSON ({error})") from error
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ReportError(f"{path}: not a {SCHEMA} report")
    version = _field(data, "schema_version", int, path)
    assert isinstance(version, int)
    if version > SCHEMA_VERSION:
        raise ReportError(
            f"{path}: schema version {version} is newer than this reader ({SCHEMA_VERSION})"
        )
    info = _field(data, "platform", dict, path)
    assert isinstance(info, dict)
    strings = {}
    for key in (
        "os",
        "kernel_release",
        "architecture",
        "libc",
        "libc_version",
        "python_implementation",
        "python_version",
    ):
        strings[key] = str(_field(info, key, str, f"{path}: platform"))
    numbers = {
        key: int(str(_field(info, key, int, f"{path}: platform")))
        for key in ("page_size", "pointer_bits")
    }
    platform_fields = PlatformInfo(
        os=strings["os"],
        kernel_release=strings["kernel_release"],
        architecture=strings["architecture"],
        libc=strings["libc"],
        libc_version=strings["libc_version"],
        page_size=numbers["page_size"],
        pointer_bits=numbers["pointer_bits"],
        python_implementation=strings["python_implementation"],
        python_version=strings["python_version"],
    )
    checks = _field(data, "checks", list, path)
    assert isinstance(checks, list)
    results = []
    for index, row in enumerate(checks):
        where = f"{path}: checks[{index}]"
        if not isinstance(row, dict):
            raise ReportError(f"{where} must be an object")
        verdict = str(_field(row, "verdict", str, where))
        if verdict not in _VERDICTS:
            raise ReportError(f"{where}: unknown verdict {verdict!r}")
        seconds = row.get("seconds", 0.0)
        results.append(
            CheckResult(
                name=str(_field(row, "name", str, where)),
                title=str(row.get("title", "")),
                source=str(row.get("source", "")),
                informational=bool(row.get("informational", False)),
                expected=str(_field(row, "expected", str, where)),
                observed=str(_field(row, "observed", str, where)),
                verdict=verdict,
                reason=str(row.get("reason", "")),
                details=_json_details(row.get("details")),
                seconds=float(seconds) if isinstance(seconds, (int, float)) else 0.0,
            )
        )
    total = data.get("seconds", 0.0)
    return Report(
        platform=platform_fields,
        results=tuple(results),
        created=str(data.get("created", "")),
        seconds=float(total) if isinstance(total, (int, float)) else 0.0,
        rawmmap_version=str(data.get("rawmmap_version", "")),
    )


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Where two reports differ: platform fields and check rows."""

    platform: Tuple[Tuple[str, str, str], ...]
    checks: Tuple[Tuple[str, Optional[CheckResult], Optional[CheckResult]], ...]

    @property
    def differs(self) -> bool:
        """True when any check differs (platform fields do not count)."""
        return bool(self.checks)


def _rows_differ(first: CheckResult, second: CheckResult) -> bool:
    if first.verdict != second.verdict:
        return True
    informational = first.informational or second.informational
    return not informational and first.observed != second.observed


def compare_reports(
    first: Report, second: Report, names: Optional[Sequence[str]] = None
) -> Comparison:
    """Pair the checks of two reports by name and keep those that differ.

    A check differs when its verdict differs, or, unless it is
    informational, its observed text does; a check present in one report
    only differs too. ``names`` restricts the comparison.
    """
    platform_rows = []
    first_platform = dataclasses.asdict(first.platform)
    second_platform = dataclasses.asdict(second.platform)
    for key, value in first_platform.items():
        if value != second_platform.get(key):
            platform_rows.append((key, str(value), str(second_platform.get(key))))
    first_rows = {result.name: result for result in first.results}
    second_rows = {result.name: result for result in second.results}
    order = list(first_rows) + [name for name in second_rows if name not in first_rows]
    if names is not None:
        order = [name for name in order if name in names]
    check_rows = []
    for name in order:
        one = first_rows.get(name)
        other = second_rows.get(name)
        if one is None or other is None or _rows_differ(one, other):
            check_rows.append((name, one, other))
    return Comparison(tuple(platform_rows), tuple(check_rows))


def _describe_platform(info: PlatformInfo) -> str:
    libc = " ".join(part for part in (info.libc, info.libc_version) if part) or "libc unknown"
    return f"{info.os} {info.kernel_release} {info.architecture}, {libc}, page {info.page_size}"


def format_comparison(
    first: Report,
    second: Report,
    comparison: Comparison,
    labels: Tuple[str, str] = ("A", "B"),
    width: Optional[int] = None,
) -> str:
    """Render a comparison: the two platforms, then the checks that differ."""
    width = width or _terminal_width()
    lines = [
        f"A: {labels[0]}: {_describe_platform(first.platform)}",
        f"B: {labels[1]}: {_describe_platform(second.platform)}",
        "",
    ]

    def cell(result: Optional[CheckResult]) -> str:
        if result is None:
            return "(not in this report)"
        text = result.reason if result.verdict == SKIPPED else result.observed
        return f"{result.verdict}: {text}"

    if comparison.platform:
        lines += _table(("platform", "A", "B"), comparison.platform, width)
        lines.append("")
    if comparison.checks:
        rows = [(name, cell(one), cell(other)) for name, one, other in comparison.checks]
        lines += _table(("check", "A", "B"), rows, width)
        lines.append("")
        lines.append(f"{len(comparison.checks)} checks differ")
    else:
        lines.append("no check differs")
    return "\n".join(lines)
