"""Typed flags for the memory-mapping calls, with this platform's values.

``Prot``, ``MapFlag``, ``SyncFlag``, ``MlockAllFlag``, ``MlockFlag``,
``RemapFlag``, ``PkeyRights`` and ``MemfdSecretFlag`` are bit masks
(``enum.IntFlag``); ``Advice`` holds codes (``enum.IntEnum``). Members are
named after the C constant without its prefix (``PROT_READ`` is
``Prot.READ``), except ``MAP_32BIT``, which is ``MapFlag.BIT32`` because a
name cannot start with a digit, and ``MemfdSecretFlag.CLOEXEC``, which is
``O_CLOEXEC``.

Values differ per operating system *and* per CPU architecture (Linux on
MIPS, PowerPC, SPARC, Alpha and PA-RISC differs from x86; macOS and FreeBSD
differ from Linux), so they come from the data tables in
``rawmmap._flagtables``, which cite their headers. A member exists only
where the platform defines the constant: test with
``hasattr(MapFlag, "FIXED_NOREPLACE")``. Some values are zero on some
platforms, so test a member's presence, not its truth: ``MapFlag.FILE`` is 0
everywhere, ``SyncFlag.SYNC`` is 0 on FreeBSD (msync is synchronous unless
ASYNC is given) and ``MapFlag.UNINITIALIZED`` is 0 on PA-RISC. macOS and
FreeBSD have no mlock2 or mremap, so ``MlockFlag`` and ``RemapFlag`` are
empty there, and no protection keys or memfd_secret, so ``PkeyRights`` and
``MemfdSecretFlag`` are empty too.
"""

from __future__ import annotations

import enum

from rawmmap import _flagtables

__all__ = [
    "PLATFORM_TABLE",
    "Advice",
    "MapFlag",
    "MemfdSecretFlag",
    "MlockAllFlag",
    "MlockFlag",
    "PkeyRights",
    "Prot",
    "RemapFlag",
    "SyncFlag",
    "describe",
    "huge_page_flag",
    "known_bits",
]

#: The flag table of the running platform (see ``rawmmap._flagtables``).
PLATFORM_TABLE: _flagtables.Table = _flagtables.current()

_PROT = PLATFORM_TABLE["Prot"]
_MAP = PLATFORM_TABLE["MapFlag"]
_MS = PLATFORM_TABLE["SyncFlag"]
_MADV = PLATFORM_TABLE["Advice"]
_MCL = PLATFORM_TABLE.get("MlockAllFlag", {})
_MLOCK = PLATFORM_TABLE.get("MlockFlag", {})
_MREMAP = PLATFORM_TABLE.get("RemapFlag", {})
_PKEY = PLATFORM_TABLE.get("PkeyRights", {})
_SECRET = PLATFORM_TABLE.get("MemfdSecretFlag", {})


class Prot(enum.IntFlag):
    """Memory protection of a mapping: the ``prot`` argument of mmap(2)."""

    #: Pages may not be accessed.
    NONE = _PROT["NONE"]
    #: Pages may be read.
    READ = _PROT["READ"]
    #: Pages may be written.
    WRITE = _PROT["WRITE"]
    #: Pages may be executed.
    EXEC = _PROT["EXEC"]
    if "SEM" in _PROT:
        #: Pages may be used for atomic operations (Linux).
        SEM = _PROT["SEM"]
    if "SAO" in _PROT:
        #: Strong access ordering (Linux PowerPC).
        SAO = _PROT["SAO"]
    if "ADI" in _PROT:
        #: Enable Application Data Integrity checks on the pages (Linux SPARC M7).
        ADI = _PROT["ADI"]
    if "BTI" in _PROT:
        #: Guard the pages with Branch Target Identification (Linux arm64).
        BTI = _PROT["BTI"]
    if "MTE" in _PROT:
        #: Enable Memory Tagging on the pages (Linux arm64).
        MTE = _PROT["MTE"]
    if "GROWSDOWN" in _PROT:
        #: mprotect: extend the change to the start of a grows-down mapping.
        GROWSDOWN = _PROT["GROWSDOWN"]
    if "GROWSUP" in _PROT:
        #: mprotect: extend the change to the end of a grows-up mapping.
        GROWSUP = _PROT["GROWSUP"]


class MapFlag(enum.IntFlag):
    """Type and options of a mapping: the ``flags`` argument of mmap(2)."""

    #: Share the mapping: stores reach the file and other mappings of it.
    SHARED = _MAP["SHARED"]
    #: Private copy-on-write mapping: stores never reach the file.
    PRIVATE = _MAP["PRIVATE"]
    #: Place the mapping exactly at ``addr``, replacing what is there.
    FIXED = _MAP["FIXED"]
    #: Not backed by a file: zero-filled memory; ``fd`` should be -1.
    ANONYMOUS = _MAP["ANONYMOUS"]
    #: Synonym of ANONYMOUS.
    ANON = _MAP["ANON"]
    if "FILE" in _MAP:
        #: Map from a file: the default, value 0, kept for compatibility.
        FILE = _MAP["FILE"]
    if "SHARED_VALIDATE" in _MAP:
        #: SHARED, and fail with EOPNOTSUPP on unknown flags (Linux 4.15).
        SHARED_VALIDATE = _MAP["SHARED_VALIDATE"]
    if "DROPPABLE" in _MAP:
        #: Anonymous memory the kernel may drop under pressure (Linux 6.11).
        DROPPABLE = _MAP["DROPPABLE"]
    if "BIT32" in _MAP:
        #: MAP_32BIT: place the mapping in the first 2 GiB (macOS: 4 GiB).
        BIT32 = _MAP["BIT32"]
    if "ABOVE4G" in _MAP:
        #: Place the mapping above 4 GiB (x86, Linux 6.6).
        ABOVE4G = _MAP["ABOVE4G"]
    if "GROWSDOWN" in _MAP:
        #: Stack-like mapping that grows downward (Linux).
        GROWSDOWN = _MAP["GROWSDOWN"]
    if "DENYWRITE" in _MAP:
        #: Ignored by Linux (historically ETXTBSY on writes to the file).
        DENYWRITE = _MAP["DENYWRITE"]
    if "EXECUTABLE" in _MAP:
        #: Ignored by Linux.
        EXECUTABLE = _MAP["EXECUTABLE"]
    if "LOCKED" in _MAP:
        #: Lock the pages of the mapping, as mlock(2) would (Linux).
        LOCKED = _MAP["LOCKED"]
    if "NORESERVE" in _MAP:
        #: Do not reserve swap space for this mapping.
        NORESERVE = _MAP["NORESERVE"]
    if "POPULATE" in _MAP:
        #: Prefault the page tables (read-ahead for files) (Linux).
        POPULATE = _MAP["POPULATE"]
    if "NONBLOCK" in _MAP:
        #: With POPULATE: do not block on I/O (ignored since Linux 2.6.23).
        NONBLOCK = _MAP["NONBLOCK"]
    if "STACK" in _MAP:
        #: Allocate at an address suitable for a thread stack.
        STACK = _MAP["STACK"]
    if "HUGETLB" in _MAP:
        #: Use huge pages (Linux): length must be a huge-page multiple.
        HUGETLB = _MAP["HUGETLB"]
    if "HUGE_16KB" in _MAP:
        #: With HUGETLB: 16 KiB pages (a size field, not one bit; Linux 3.8).
        HUGE_16KB = _MAP["HUGE_16KB"]
    if "HUGE_64KB" in _MAP:
        #: With HUGETLB: 64 KiB pages (a size field, not one bit; Linux 3.8).
        HUGE_64KB = _MAP["HUGE_64KB"]
    if "HUGE_512KB" in _MAP:
        #: With HUGETLB: 512 KiB pages (a size field, not one bit; Linux 3.8).
        HUGE_512KB = _MAP["HUGE_512KB"]
    if "HUGE_1MB" in _MAP:
        #: With HUGETLB: 1 MiB pages (a size field, not one bit; Linux 3.8).
        HUGE_1MB = _MAP["HUGE_1MB"]
    if "HUGE_2MB" in _MAP:
        #: With HUGETLB: 2 MiB pages (a size field, not one bit; Linux 3.8).
        HUGE_2MB = _MAP["HUGE_2MB"]
    if "HUGE_8MB" in _MAP:
        #: With HUGETLB: 8 MiB pages (a size field, not one bit; Linux 3.8).
        HUGE_8MB = _MAP["HUGE_8MB"]
    if "HUGE_16MB" in _MAP:
        #: With HUGETLB: 16 MiB pages (a size field, not one bit; Linux 3.8).
        HUGE_16MB = _MAP["HUGE_16MB"]
    if "HUGE_32MB" in _MAP:
        #: With HUGETLB: 32 MiB pages (a size field, not one bit; Linux 3.8).
        HUGE_32MB = _MAP["HUGE_32MB"]
    if "HUGE_256MB" in _MAP:
        #: With HUGETLB: 256 MiB pages (a size field, not one bit; Linux 3.8).
        HUGE_256MB = _MAP["HUGE_256MB"]
    if "HUGE_512MB" in _MAP:
        #: With HUGETLB: 512 MiB pages (a size field, not one bit; Linux 3.8).
        HUGE_512MB = _MAP["HUGE_512MB"]
    if "HUGE_1GB" in _MAP:
        #: With HUGETLB: 1 GiB pages (a size field, not one bit; Linux 3.8).
        HUGE_1GB = _MAP["HUGE_1GB"]
    if "HUGE_2GB" in _MAP:
        #: With HUGETLB: 2 GiB pages (a size field, not one bit; Linux 3.8).
        HUGE_2GB = _MAP["HUGE_2GB"]
    if "HUGE_16GB" in _MAP:
        #: With HUGETLB: 16 GiB pages (a size field, not one bit; Linux 3.8).
        HUGE_16GB = _MAP["HUGE_16GB"]
    if "SYNC" in _MAP:
        #: Synchronous page faults for DAX files; needs SHARED_VALIDATE.
        SYNC = _MAP["SYNC"]
    if "FIXED_NOREPLACE" in _MAP:
        #: Like FIXED, but fail with EEXIST instead of replacing (Linux 4.17).
        FIXED_NOREPLACE = _MAP["FIXED_NOREPLACE"]
    if "UNINITIALIZED" in _MAP:
        #: Do not clear anonymous pages (only with CONFIG_MMAP_ALLOW_UNINITIALIZED).
        UNINITIALIZED = _MAP["UNINITIALIZED"]
    if "RENAME" in _MAP:
        #: SunOS/IRIX name: ANONYMOUS on Linux PowerPC/SPARC, ignored elsewhere.
        RENAME = _MAP["RENAME"]
    if "AUTOGROW" in _MAP:
        #: IRIX: the file may grow by writing; reserved, ignored by Linux MIPS.
        AUTOGROW = _MAP["AUTOGROW"]
    if "LOCAL" in _MAP:
        #: IRIX: copy on fork/sproc; reserved, ignored by Linux MIPS.
        LOCAL = _MAP["LOCAL"]
    if "AUTORSRV" in _MAP:
        #: IRIX: reserve swap on demand; reserved, ignored by Linux MIPS.
        AUTORSRV = _MAP["AUTORSRV"]
    if "INHERIT" in _MAP:
        #: SunOS: keep the mapping across exec; reserved, ignored by Linux SPARC.
        INHERIT = _MAP["INHERIT"]
    if "NOEXTEND" in _MAP:
        #: For a file mapping, do not change the file size (macOS).
        NOEXTEND = _MAP["NOEXTEND"]
    if "HASSEMAPHORE" in _MAP:
        #: The region may contain semaphores (macOS, FreeBSD).
        HASSEMAPHORE = _MAP["HASSEMAPHORE"]
    if "NOCACHE" in _MAP:
        #: Do not keep the pages in the cache once unused (macOS).
        NOCACHE = _MAP["NOCACHE"]
    if "JIT" in _MAP:
        #: Allocate a region for just-in-time code (macOS hardened runtime).
        JIT = _MAP["JIT"]
    if "RESILIENT_CODESIGN" in _MAP:
        #: Read-only mapping that raises no code-signing faults (macOS).
        RESILIENT_CODESIGN = _MAP["RESILIENT_CODESIGN"]
    if "RESILIENT_MEDIA" in _MAP:
        #: Read-only mapping that reads zeros where the media fails (macOS).
        RESILIENT_MEDIA = _MAP["RESILIENT_MEDIA"]
    if "TRANSLATED_ALLOW_EXECUTE" in _MAP:
        #: Allow execute in a translated (Rosetta) process (macOS).
        TRANSLATED_ALLOW_EXECUTE = _MAP["TRANSLATED_ALLOW_EXECUTE"]
    if "UNIX03" in _MAP:
        #: Apply UNIX 03 argument checks (macOS).
        UNIX03 = _MAP["UNIX03"]
    if "TPRO" in _MAP:
        #: Allocate a region protected by TPRO, read-only unless unlocked (macOS).
        TPRO = _MAP["TPRO"]
    if "NOSYNC" in _MAP:
        #: Write dirty pages back to the file only when needed (FreeBSD).
        NOSYNC = _MAP["NOSYNC"]
    if "GUARD" in _MAP:
        #: Reserve the address range without mapping it: access faults (FreeBSD).
        GUARD = _MAP["GUARD"]
    if "EXCL" in _MAP:
        #: With FIXED: fail instead of replacing an existing mapping (FreeBSD).
        EXCL = _MAP["EXCL"]
    if "NOCORE" in _MAP:
        #: Leave the pages out of a core dump (FreeBSD).
        NOCORE = _MAP["NOCORE"]
    if "PREFAULT_READ" in _MAP:
        #: Prefault the mapping for reading (FreeBSD).
        PREFAULT_READ = _MAP["PREFAULT_READ"]
    if "ALIGNED_SUPER" in _MAP:
        #: Align the mapping for superpages (FreeBSD).
        ALIGNED_SUPER = _MAP["ALIGNED_SUPER"]


class SyncFlag(enum.IntFlag):
    """How msync(2) flushes: exactly one of SYNC or ASYNC, maybe INVALIDATE."""

    #: Schedule the write-back and return at once.
    ASYNC = _MS["ASYNC"]
    #: Invalidate other mappings of the same file.
    INVALIDATE = _MS["INVALIDATE"]
    #: Write back and wait until it is done.
    SYNC = _MS["SYNC"]
    if "KILLPAGES" in _MS:
        #: Invalidate the pages, discarding changes, and keep them mapped (macOS).
        KILLPAGES = _MS["KILLPAGES"]
    if "DEACTIVATE" in _MS:
        #: Deactivate the pages and keep them mapped (macOS).
        DEACTIVATE = _MS["DEACTIVATE"]


class Advice(enum.IntEnum):
    """Usage advice for madvise(2): the ``advice`` argument.

    Some codes are not hints: DONTNEED, FREE and REMOVE discard data (an
    anonymous or private page reads back as zero), and so do macOS's
    FREE_REUSABLE, ZERO and ZERO_WIRED_PAGES; HWPOISON, SOFT_OFFLINE and
    GUARD_INSTALL change what an access does. ``Region`` refuses the last
    three; ``rawmmap.raw.madvise`` passes any code.
    """

    #: No special treatment (the default).
    NORMAL = _MADV["NORMAL"]
    #: Expect page references in random order: less read-ahead.
    RANDOM = _MADV["RANDOM"]
    #: Expect page references in sequential order: more read-ahead.
    SEQUENTIAL = _MADV["SEQUENTIAL"]
    #: Expect access in the near future: start read-ahead.
    WILLNEED = _MADV["WILLNEED"]
    #: Do not expect access soon; Linux frees the pages (private ones read as zero).
    DONTNEED = _MADV["DONTNEED"]
    if "FREE" in _MADV:
        #: The pages may be freed lazily; their contents become undefined.
        FREE = _MADV["FREE"]
    if "REMOVE" in _MADV:
        #: Free the pages and their backing store (punch a hole) (Linux).
        REMOVE = _MADV["REMOVE"]
    if "DONTFORK" in _MADV:
        #: Do not make the pages available to a child after fork.
        DONTFORK = _MADV["DONTFORK"]
    if "DOFORK" in _MADV:
        #: Undo DONTFORK.
        DOFORK = _MADV["DOFORK"]
    if "MERGEABLE" in _MADV:
        #: Let KSM merge pages with identical content.
        MERGEABLE = _MADV["MERGEABLE"]
    if "UNMERGEABLE" in _MADV:
        #: Undo MERGEABLE.
        UNMERGEABLE = _MADV["UNMERGEABLE"]
    if "HUGEPAGE" in _MADV:
        #: Back the range with transparent huge pages where possible.
        HUGEPAGE = _MADV["HUGEPAGE"]
    if "NOHUGEPAGE" in _MADV:
        #: Do not back the range with transparent huge pages.
        NOHUGEPAGE = _MADV["NOHUGEPAGE"]
    if "DONTDUMP" in _MADV:
        #: Exclude the range from a core dump.
        DONTDUMP = _MADV["DONTDUMP"]
    if "DODUMP" in _MADV:
        #: Undo DONTDUMP.
        DODUMP = _MADV["DODUMP"]
    if "WIPEONFORK" in _MADV:
        #: A child after fork sees the range zero-filled.
        WIPEONFORK = _MADV["WIPEONFORK"]
    if "KEEPONFORK" in _MADV:
        #: Undo WIPEONFORK.
        KEEPONFORK = _MADV["KEEPONFORK"]
    if "COLD" in _MADV:
        #: Deactivate the pages: reclaim them first under pressure.
        COLD = _MADV["COLD"]
    if "PAGEOUT" in _MADV:
        #: Reclaim the pages now.
        PAGEOUT = _MADV["PAGEOUT"]
    if "POPULATE_READ" in _MADV:
        #: Prefault the page tables readable (Linux 5.14).
        POPULATE_READ = _MADV["POPULATE_READ"]
    if "POPULATE_WRITE" in _MADV:
        #: Prefault the page tables writable (Linux 5.14).
        POPULATE_WRITE = _MADV["POPULATE_WRITE"]
    if "DONTNEED_LOCKED" in _MADV:
        #: Like DONTNEED, locked pages included (Linux 5.18).
        DONTNEED_LOCKED = _MADV["DONTNEED_LOCKED"]
    if "COLLAPSE" in _MADV:
        #: Collapse the range into transparent huge pages now (Linux 6.1).
        COLLAPSE = _MADV["COLLAPSE"]
    if "HWPOISON" in _MADV:
        #: Poison the pages as if by a memory error (root; for testing).
        HWPOISON = _MADV["HWPOISON"]
    if "SOFT_OFFLINE" in _MADV:
        #: Migrate the pages away and take the frames offline (root; testing).
        SOFT_OFFLINE = _MADV["SOFT_OFFLINE"]
    if "GUARD_INSTALL" in _MADV:
        #: Install guard pages: any access faults (Linux 6.13).
        GUARD_INSTALL = _MADV["GUARD_INSTALL"]
    if "GUARD_REMOVE" in _MADV:
        #: Remove guard pages (Linux 6.13).
        GUARD_REMOVE = _MADV["GUARD_REMOVE"]
    if "SPACEAVAIL" in _MADV:
        #: Ensure resources are available for the range (Linux Alpha, OSF/1).
        SPACEAVAIL = _MADV["SPACEAVAIL"]
    if "ZERO_WIRED_PAGES" in _MADV:
        #: Zero wired pages that are still wired when the range is unmapped (macOS).
        ZERO_WIRED_PAGES = _MADV["ZERO_WIRED_PAGES"]
    if "FREE_REUSABLE" in _MADV:
        #: The pages may be reused by anyone; contents undefined (macOS).
        FREE_REUSABLE = _MADV["FREE_REUSABLE"]
    if "FREE_REUSE" in _MADV:
        #: The caller reuses pages it gave up with FREE_REUSABLE (macOS).
        FREE_REUSE = _MADV["FREE_REUSE"]
    if "CAN_REUSE" in _MADV:
        #: Ask whether the range may be given up with FREE_REUSABLE (macOS).
        CAN_REUSE = _MADV["CAN_REUSE"]
    if "ZERO" in _MADV:
        #: Zero the pages without faulting in new ones (macOS).
        ZERO = _MADV["ZERO"]
    if "NOSYNC" in _MADV:
        #: Avoid flushing dirty pages to the file (FreeBSD).
        NOSYNC = _MADV["NOSYNC"]
    if "AUTOSYNC" in _MADV:
        #: Undo NOSYNC: the default flushing policy (FreeBSD).
        AUTOSYNC = _MADV["AUTOSYNC"]
    if "NOCORE" in _MADV:
        #: Leave the pages out of a core dump (FreeBSD).
        NOCORE = _MADV["NOCORE"]
    if "CORE" in _MADV:
        #: Undo NOCORE (FreeBSD).
        CORE = _MADV["CORE"]
    if "PROTECT" in _MADV:
        #: Protect the process from being killed when memory runs out (FreeBSD; root).
        PROTECT = _MADV["PROTECT"]


class MlockAllFlag(enum.IntFlag):
    """What mlockall(2) locks."""

    if "CURRENT" in _MCL:
        #: Lock every page mapped now.
        CURRENT = _MCL["CURRENT"]
    if "FUTURE" in _MCL:
        #: Lock every page mapped from now on.
        FUTURE = _MCL["FUTURE"]
    if "ONFAULT" in _MCL:
        #: With CURRENT or FUTURE: lock pages only once faulted in (Linux 4.4).
        ONFAULT = _MCL["ONFAULT"]


class MlockFlag(enum.IntFlag):
    """Options of mlock2(2) (Linux 4.4)."""

    if "ONFAULT" in _MLOCK:
        #: Lock pages only once they are faulted in.
        ONFAULT = _MLOCK["ONFAULT"]


class RemapFlag(enum.IntFlag):
    """Options of mremap(2) (Linux only)."""

    if "MAYMOVE" in _MREMAP:
        #: The kernel may move the mapping to a new address.
        MAYMOVE = _MREMAP["MAYMOVE"]
    if "FIXED" in _MREMAP:
        #: Move the mapping to ``new_address`` exactly (needs MAYMOVE).
        FIXED = _MREMAP["FIXED"]
    if "DONTUNMAP" in _MREMAP:
        #: Move the pages and leave the old range mapped, empty (Linux 5.7).
        DONTUNMAP = _MREMAP["DONTUNMAP"]


class PkeyRights(enum.IntFlag):
    """Access rights of a protection key: pkey_alloc(2) and pkey_set(3) (Linux).

    The rights hold per thread: setting them changes what the calling
    thread may do with the pages of that key, no other thread's.
    """

    if "UNRESTRICTED" in _PKEY:
        #: No restriction: the pages' own protection applies (Linux 6.15 name for 0).
        UNRESTRICTED = _PKEY["UNRESTRICTED"]
    if "DISABLE_ACCESS" in _PKEY:
        #: Disable all data access to the pages of the key (reads and writes).
        DISABLE_ACCESS = _PKEY["DISABLE_ACCESS"]
    if "DISABLE_WRITE" in _PKEY:
        #: Disable writes to the pages of the key.
        DISABLE_WRITE = _PKEY["DISABLE_WRITE"]
    if "DISABLE_EXECUTE" in _PKEY:
        #: Disable instruction fetches from the pages (PowerPC, arm64 POE).
        DISABLE_EXECUTE = _PKEY["DISABLE_EXECUTE"]
    if "DISABLE_READ" in _PKEY:
        #: Disable reads from the pages (arm64 POE, Linux 6.12).
        DISABLE_READ = _PKEY["DISABLE_READ"]


class MemfdSecretFlag(enum.IntFlag):
    """Options of memfd_secret(2) (Linux 5.14)."""

    if "CLOEXEC" in _SECRET:
        #: O_CLOEXEC: close the descriptor on execve(2) (the one flag the kernel takes).
        CLOEXEC = _SECRET["CLOEXEC"]


def known_bits(flag_type: type[enum.IntFlag]) -> int:
    """Return the union of every member's value of a flag type here."""
    # The members are the platform table's entries: one union, in one place.
    return _flagtables.bits(flag_type.__name__)


_HUGE_FIELD = _flagtables.HUGE_MASK << _flagtables.HUGE_SHIFT


def huge_page_flag(size: int) -> int:
    """Return the MAP_HUGETLB (or MFD_HUGETLB) size field for pages of ``size`` bytes.

    Linux encodes the huge page size in six bits from bit 26 as its base-2
    logarithm (mmap(2), include/uapi/asm-generic/hugetlb_encode.h), so any
    size the hardware has can be asked for, named member or not:
    ``huge_page_flag(2 << 20) == MapFlag.HUGE_2MB``. OR it with HUGETLB.

    Raises:
        TypeError: ``size`` is not an integer.
        ValueError: ``size`` is not a power of two that fits the field.
    """
    if isinstance(size, bool) or not isinstance(size, int):
        raise TypeError(f"size must be an int, not {type(size).__name__}")
    if size <= 0 or size & (size - 1):
        raise ValueError(f"a huge page size is a power of two, not {size}")
    shift = size.bit_length() - 1
    if shift > _flagtables.HUGE_MASK:
        raise ValueError(f"size={size} does not fit the six-bit huge page field")
    return shift << _flagtables.HUGE_SHIFT


def describe(flag_type: type[enum.Enum], value: int) -> str:
    """Spell ``value`` with the member names of ``flag_type``: ``"READ|WRITE"``.

    Bits no member covers are shown in hex; zero is the zero member's name
    (``"NONE"``) or ``"0"``.
    """
    members = {name: int(member.value) for name, member in flag_type.__members__.items()}
    if not issubclass(flag_type, enum.Flag):
        for name, number in members.items():
            if number == value:
                return name
        return str(value)
    names = []
    rest = value
    # With HUGETLB, the six bits from 26 up are the huge page size (log2),
    # not flags; without it, bit 26 is MAP_UNINITIALIZED.
    field = _HUGE_FIELD if value & members.get("HUGETLB", 0) else 0
    if value & field:
        size = value & field
        named = [name for name, number in members.items() if number == size]
        names.append(named[0] if named else f"HUGE_{1 << (size >> _flagtables.HUGE_SHIFT)}B")
        rest &= ~field
    # The mapping type is a value in the low bits, not flags: SHARED_VALIDATE
    # (0x03) is not SHARED|PRIVATE.
    validate = members.get("SHARED_VALIDATE", 0)
    type_mask = validate | members.get("DROPPABLE", 0)
    if validate and value & type_mask == validate:
        names.append("SHARED_VALIDATE")
        rest &= ~validate
    for name, bits in members.items():
        if bits & field:
            continue
        if bits and bits & (bits - 1) == 0 and value & bits and rest & bits:
            names.append(name)
            rest &= ~bits
    if rest:
        names.append(hex(rest))
    if not names:
        zero = [name for name, number in members.items() if number == 0]
        return zero[0] if zero else "0"
    return "|".join(names)
