"""rawmmap.raw's newer Linux calls against the real kernel.

mseal, memfd_secret, the protection keys, process_madvise and
process_mrelease. Each test skips by capability (the call is missing from
this platform, the kernel answers ENOSYS, the CPU has no protection keys),
never by platform name. A sealed mapping can never be unmapped, so every
seal happens in a child process; so does every access that should fault.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from rawmmap import _foreign, raw
from rawmmap.flags import Advice, MapFlag, MemfdSecretFlag, PkeyRights, Prot

from .conftest import RunChild
from .emulation import PIDFD_OPEN_IS_MISSING, is_missing

RW = int(Prot.READ | Prot.WRITE)
ANON = int(MapFlag.PRIVATE | MapFlag.ANONYMOUS)
SHARED = int(MapFlag.SHARED)


def _kernel_answers(call: str, attempt: object) -> str | None:
    """Return why ``call`` cannot be tested here, or None when the kernel has it."""
    try:
        attempt()  # type: ignore[operator]
    except NotImplementedError as error:
        return f"{call} is not reachable on this platform: {error}"
    except OSError as error:
        if error.errno == errno.ENOSYS:
            return f"this kernel has no {call} (ENOSYS)"
    return None


def _mseal_missing() -> str | None:
    # A zero length seals nothing and succeeds where the kernel has mseal
    # (mm/mseal.c returns 0 for an empty range after checking flags and
    # alignment).
    return _kernel_answers("mseal", lambda: raw.mseal(0, 0))


def _memfd_secret_missing() -> str | None:
    def attempt() -> None:
        os.close(raw.memfd_secret())

    return _kernel_answers("memfd_secret", attempt)


def _protection_keys_missing() -> str | None:
    try:
        key = raw.pkey_alloc()
    except NotImplementedError as error:
        return f"pkey_alloc is not reachable on this platform: {error}"
    except OSError as error:
        return f"no protection keys here: pkey_alloc says {error}"
    raw.pkey_free(key)
    if not raw.HAS_PKEY_RIGHTS:
        return "the C library has no pkey_get/pkey_set"
    return None


def _process_madvise_missing() -> str | None:
    def attempt() -> None:
        fd = os.pidfd_open(os.getpid())
        try:
            raw.process_madvise(fd, [], int(Advice.COLD))
        finally:
            os.close(fd)

    if not hasattr(os, "pidfd_open"):
        return "os.pidfd_open is missing (Python before 3.9 or not Linux)"
    return _kernel_answers("process_madvise", attempt)


MSEAL_MISSING = _mseal_missing()
MEMFD_SECRET_MISSING = _memfd_secret_missing()
PROTECTION_KEYS_MISSING = _protection_keys_missing()
PROCESS_MADVISE_MISSING = _process_madvise_missing()

needs_mseal = pytest.mark.skipif(MSEAL_MISSING is not None, reason=str(MSEAL_MISSING))
needs_memfd_secret = pytest.mark.skipif(
    MEMFD_SECRET_MISSING is not None, reason=str(MEMFD_SECRET_MISSING)
)
needs_protection_keys = pytest.mark.skipif(
    PROTECTION_KEYS_MISSING is not None, reason=str(PROTECTION_KEYS_MISSING)
)
needs_process_madvise = pytest.mark.skipif(
    PROCESS_MADVISE_MISSING is not None, reason=str(PROCESS_MADVISE_MISSING)
)


@pytest.fixture
def anon(page: int) -> Iterator[int]:
    """Four pages of private anonymous memory, unmapped afterwards."""
    address = raw.mmap(0, 4 * page, RW, ANON, -1, 0)
    yield address
    raw.munmap(address, 4 * page)


@pytest.fixture
def own_pidfd() -> Iterator[int]:
    """A pidfd of this process."""
    if not hasattr(os, "pidfd_open"):
        pytest.skip("os.pidfd_open is missing")
    fd = os.pidfd_open(os.getpid())
    yield fd
    os.close(fd)


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A child interpreter that sleeps until killed; always killed and reaped."""
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; sys.stdout.write('up\\n'); sys.stdout.flush(); time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == b"up\n"
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.wait(timeout=60)
        if child.stdout is not None:
            child.stdout.close()


# ---------------------------------------------------------------- capability flags


@pytest.mark.parametrize(
    "name",
    [
        "HAS_MSEAL",
        "HAS_MEMFD_SECRET",
        "HAS_PKEYS",
        "HAS_PKEY_RIGHTS",
        "HAS_PROCESS_MADVISE",
        "HAS_PROCESS_MRELEASE",
    ],
)
def test_capability_flags_are_bools_raw_and_foreign_agree_on(name: str) -> None:
    assert type(getattr(raw, name)) is bool
    assert getattr(raw, name) is getattr(_foreign, name)


def test_capability_means_libc_or_the_syscall_table_has_the_call() -> None:
    for flag, call in [("HAS_MSEAL", "mseal"), ("HAS_MEMFD_SECRET", "memfd_secret")]:
        reachable = _foreign.lazy_function(call) is not None or (
            _foreign.HAS_SYSCALL and call in _foreign.SYSCALL_NUMBERS
        )
        assert getattr(raw, flag) is reachable


# ---------------------------------------------------------------- mseal


def _sealed_child(run_child: RunChild, body: str) -> list[str]:
    """Map two read-only pages in a child, seal them, run ``body``; return its lines."""
    source = (
        "import errno\nfrom rawmmap import raw\nfrom rawmmap.flags import Advice, MapFlag, Prot\n"
        "page = raw.page_size()\n"
        "ANON = int(MapFlag.PRIVATE | MapFlag.ANONYMOUS)\n"
        "a = raw.mmap(0, 2 * page, int(Prot.READ), ANON, -1, 0)\n"
        "raw.mseal(a, 2 * page)\n"
        "def attempt(call, *arguments):\n"
        "    try:\n"
        "        call(*arguments)\n"
        "    except OSError as error:\n"
        "        print(call.__name__, errno.errorcode[error.errno])\n"
        "    else:\n"
        "        print(call.__name__, 'succeeded')\n" + body
    )
    result = run_child(source)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


@needs_mseal
def test_sealed_range_refuses_munmap_with_eperm(run_child: RunChild) -> None:
    assert _sealed_child(run_child, "attempt(raw.munmap, a, page)\n") == ["munmap EPERM"]


@needs_mseal
def test_sealed_range_refuses_mprotect_with_eperm(run_child: RunChild) -> None:
    lines = _sealed_child(
        run_child, "attempt(raw.mprotect, a, page, int(Prot.READ | Prot.WRITE))\n"
    )
    assert lines == ["mprotect EPERM"]


@needs_mseal
def test_sealed_range_refuses_mremap_with_eperm(run_child: RunChild) -> None:
    lines = _sealed_child(run_child, "attempt(raw.mremap, a, page, 4 * page, 1)\n")
    assert lines == ["mremap EPERM"]


@needs_mseal
def test_sealed_read_only_anonymous_range_refuses_madvise_dontneed(run_child: RunChild) -> None:
    # Discarding read-only anonymous pages would change what they read, so
    # the kernel refuses it on a sealed range (Documentation/userspace-api/
    # mseal.rst).
    lines = _sealed_child(run_child, "attempt(raw.madvise, a, page, int(Advice.DONTNEED))\n")
    assert lines == ["madvise EPERM"]


@needs_mseal
def test_sealed_range_refuses_map_fixed_over_it(run_child: RunChild) -> None:
    body = "attempt(raw.mmap, a, page, int(Prot.READ), ANON | int(MapFlag.FIXED), -1, 0)\n"
    assert _sealed_child(run_child, body) == ["mmap EPERM"]


@needs_mseal
def test_sealed_range_still_reads_and_sealing_again_succeeds(run_child: RunChild) -> None:
    body = "print(raw.read(a, 4) == bytes(4))\nattempt(raw.mseal, a, page)\n"
    assert _sealed_child(run_child, body) == ["True", "mseal succeeded"]


@needs_mseal
def test_mseal_unknown_flags_raise_einval(run_child: RunChild) -> None:
    # In a child too: a kernel that ignored the flags would seal the range.
    body = "b = raw.mmap(0, page, int(Prot.READ), ANON, -1, 0)\nattempt(raw.mseal, b, page, 1)\n"
    assert _sealed_child(run_child, body) == ["mseal EINVAL"]


@needs_mseal
def test_mseal_of_an_unmapped_range_raises_enomem(page: int) -> None:
    address = raw.mmap(0, page, RW, ANON, -1, 0)
    raw.munmap(address, page)
    with pytest.raises(OSError) as caught:
        raw.mseal(address, page)
    assert caught.value.errno == errno.ENOMEM
    assert "mseal(addr=0x" in str(caught.value)


@needs_mseal
def test_mseal_unaligned_address_raises_einval(page: int) -> None:
    with pytest.raises(OSError) as caught:
        raw.mseal(page + 1, page)
    assert caught.value.errno == errno.EINVAL


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ((-1, 4096, 0), OverflowError),
        ((0, -1, 0), OverflowError),
        ((0, 4096, -1), OverflowError),
        ((0, 4096, 1 << 64), OverflowError),
        ((0.0, 4096, 0), TypeError),
        ((0, 4096, True), TypeError),
    ],
)
def test_mseal_bad_arguments_raise_before_the_call(
    arguments: tuple[object, object, object], error: type[Exception]
) -> None:
    with pytest.raises(error, match="mseal"):
        raw.mseal(*arguments)  # type: ignore[arg-type]


# ---------------------------------------------------------------- memfd_secret


@needs_memfd_secret
def test_secret_memory_reads_back_what_was_written(page: int) -> None:
    fd = raw.memfd_secret()
    try:
        os.ftruncate(fd, 2 * page)
        address = raw.mmap(0, 2 * page, RW, SHARED, fd, 0)
        try:
            raw.write(address + page - 3, b"secret")
            assert raw.read(address + page - 3, 6) == b"secret"
        finally:
            raw.munmap(address, 2 * page)
    finally:
        os.close(fd)


@needs_memfd_secret
def test_memfd_secret_cloexec_sets_close_on_exec() -> None:
    plain = raw.memfd_secret()
    closing = raw.memfd_secret(int(MemfdSecretFlag.CLOEXEC))
    try:
        assert os.get_inheritable(plain)  # the kernel's default, as for open(2)
        assert not os.get_inheritable(closing)
    finally:
        os.close(plain)
        os.close(closing)


@needs_memfd_secret
def test_memfd_secret_refuses_the_man_pages_fd_cloexec_with_einval() -> None:
    # The man page names FD_CLOEXEC (1); the kernel takes O_CLOEXEC only
    # and refuses every other bit (mm/secretmem.c).
    with pytest.raises(OSError) as caught:
        raw.memfd_secret(1)
    assert caught.value.errno == errno.EINVAL
    assert "memfd_secret(flags=1)" in str(caught.value)


@needs_memfd_secret
def test_secret_memory_cannot_be_read_with_read(page: int) -> None:
    # The pages are only reachable through the mapping: the file has no
    # read method (mm/secretmem.c), so read(2) says EINVAL (and pread(2)
    # ESPIPE: the file cannot seek).
    fd = raw.memfd_secret()
    try:
        os.ftruncate(fd, page)
        with pytest.raises(OSError) as caught:
            os.read(fd, 1)
        assert caught.value.errno == errno.EINVAL
    finally:
        os.close(fd)


@pytest.mark.parametrize("bad", [-1, 1 << 32, 1.0, None])
def test_memfd_secret_bad_flags_raise_before_the_call(bad: object) -> None:
    with pytest.raises((OverflowError, TypeError), match="memfd_secret"):
        raw.memfd_secret(bad)  # type: ignore[arg-type]


# ---------------------------------------------------------------- protection keys


@pytest.mark.skipif(not raw.HAS_PKEYS, reason="pkey_alloc is not reachable here")
def test_pkey_alloc_with_flags_raises_einval() -> None:
    # The kernel checks flags before it looks for a key or for hardware
    # (mm/mprotect.c), so this holds with and without protection keys.
    with pytest.raises(OSError) as caught:
        raw.pkey_alloc(1)
    assert caught.value.errno in (errno.EINVAL, errno.ENOSYS)


@pytest.mark.skipif(not raw.HAS_PKEYS, reason="pkey_free is not reachable here")
def test_pkey_free_of_a_key_never_allocated_raises_einval() -> None:
    with pytest.raises(OSError) as caught:
        raw.pkey_free(15)
    assert caught.value.errno in (errno.EINVAL, errno.ENOSYS)


@pytest.mark.skipif(not raw.HAS_PKEYS, reason="pkey_mprotect is not reachable here")
def test_pkey_mprotect_with_key_minus_one_is_mprotect(anon: int, page: int) -> None:
    try:
        raw.pkey_mprotect(anon, page, int(Prot.READ), -1)
    except OSError as error:
        if error.errno != errno.ENOSYS:
            raise
        pytest.skip("this kernel has no pkey_mprotect")
    raw.pkey_mprotect(anon, page, RW, -1)
    raw.write(anon, b"ok")


@pytest.mark.skipif(not raw.HAS_PKEYS, reason="pkey_mprotect is not reachable here")
def test_pkey_mprotect_with_an_unallocated_key_raises_einval(anon: int, page: int) -> None:
    with pytest.raises(OSError) as caught:
        raw.pkey_mprotect(anon, page, RW, 14)
    assert caught.value.errno in (errno.EINVAL, errno.ENOSYS)


@pytest.mark.skipif(not raw.HAS_PKEY_RIGHTS, reason="the C library has no pkey_get")
def test_pkey_get_without_enabled_protection_keys_raises_enosys_not_sigill(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # glibc would run RDPKRU, which faults with SIGILL on a CPU without PKU.
    monkeypatch.setattr(_foreign, "_protection_keys", [False])
    with pytest.raises(OSError) as caught:
        raw.pkey_get(0)
    assert caught.value.errno == errno.ENOSYS
    assert "ProtectionKey" in str(caught.value)
    with pytest.raises(OSError, match="pkey_set"):
        raw.pkey_set(0, 0)


def test_pkey_get_without_the_c_library_function_raises_notimplementederror(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(raw, "HAS_PKEY_RIGHTS", False)
    with pytest.raises(NotImplementedError, match="machine code"):
        raw.pkey_get(0)
    with pytest.raises(NotImplementedError, match="pkey_set"):
        raw.pkey_set(0, int(PkeyRights.DISABLE_WRITE))


def test_protection_keys_enabled_is_what_smaps_says() -> None:
    with open("/proc/self/smaps", "rb") as smaps:
        shown = b"\nProtectionKey:" in smaps.read()
    assert _foreign.protection_keys_enabled() is shown


@needs_protection_keys
def test_pkey_alloc_gives_a_key_pkey_free_takes_it_back() -> None:
    key = raw.pkey_alloc(0, int(PkeyRights.DISABLE_WRITE))
    try:
        assert key > 0  # key 0 is the default key, never handed out
        assert raw.pkey_get(key) == int(PkeyRights.DISABLE_WRITE)
    finally:
        raw.pkey_set(key, 0)
        raw.pkey_free(key)


@needs_protection_keys
def test_pkey_set_then_pkey_get_round_trips(anon: int, page: int) -> None:
    key = raw.pkey_alloc()
    try:
        raw.pkey_mprotect(anon, page, RW, key)
        raw.pkey_set(key, int(PkeyRights.DISABLE_WRITE))
        assert raw.pkey_get(key) == int(PkeyRights.DISABLE_WRITE)
        assert raw.read(anon, 1) == b"\0"  # reads are still allowed
        raw.pkey_set(key, 0)
        raw.write(anon, b"w")
    finally:
        raw.pkey_set(key, 0)
        raw.pkey_mprotect(anon, page, RW, 0)
        raw.pkey_free(key)


PKEY_CHILD_HEAD = """
import faulthandler, threading
faulthandler.disable()
from rawmmap import raw
from rawmmap.flags import MapFlag, PkeyRights, Prot
page = raw.page_size()
a = raw.mmap(0, page, int(Prot.READ | Prot.WRITE), int(MapFlag.PRIVATE | MapFlag.ANONYMOUS), -1, 0)
raw.write(a, b"k")
key = raw.pkey_alloc()
raw.pkey_mprotect(a, page, int(Prot.READ | Prot.WRITE), key)
"""


@needs_protection_keys
def test_access_denied_by_a_key_kills_a_child_with_sigsegv(run_child: RunChild) -> None:
    body = (
        "raw.pkey_set(key, int(PkeyRights.DISABLE_ACCESS))\n"
        "print('disabled', flush=True)\nraw.read(a, 1)\nprint('survived')\n"
    )
    result = run_child(PKEY_CHILD_HEAD + body)
    assert result.returncode == -signal.SIGSEGV, (result.stdout, result.stderr)
    assert result.stdout == "disabled\n"


@needs_protection_keys
def test_rights_are_per_thread_another_thread_keeps_access(run_child: RunChild) -> None:
    # The second thread starts before the main thread drops its rights, so
    # it keeps the rights it was created with (each thread has its own PKRU).
    body = """
ready, go, done = threading.Event(), threading.Event(), threading.Event()
seen = []
def reader():
    ready.set()
    go.wait()
    seen.append(raw.read(a, 1))
    seen.append(raw.pkey_get(key))
    done.set()
thread = threading.Thread(target=reader)
thread.start()
ready.wait()
raw.pkey_set(key, int(PkeyRights.DISABLE_ACCESS))
go.set()
done.wait()
print(seen[0], seen[1], raw.pkey_get(key) == int(PkeyRights.DISABLE_ACCESS))
raw.pkey_set(key, 0)
thread.join()
"""
    result = run_child(PKEY_CHILD_HEAD + body)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["b'k'", "0", "True"]


@pytest.mark.parametrize(
    ("call", "arguments"),
    [
        ("pkey_alloc", (-1, 0)),
        ("pkey_alloc", (0, 1 << 32)),
        ("pkey_free", (1 << 31,)),
        ("pkey_mprotect", (0, 4096, 3, 1 << 31)),
        ("pkey_mprotect", (-1, 4096, 3, 1)),
        ("pkey_get", (1 << 31,)),
        ("pkey_set", (1, -1)),
        ("pkey_set", (1.0, 0)),
    ],
)
def test_pkey_bad_arguments_raise_before_the_call(call: str, arguments: tuple[object, ...]) -> None:
    with pytest.raises((OverflowError, TypeError), match=call):
        getattr(raw, call)(*arguments)


# ---------------------------------------------------------------- process_madvise


@needs_process_madvise
@pytest.mark.parametrize("advice", ["COLD", "PAGEOUT"])
def test_process_madvise_on_our_own_pidfd_advises_every_byte(
    own_pidfd: int, anon: int, page: int, advice: str
) -> None:
    raw.write(anon, b"x" * (4 * page))
    ranges = [(anon, page), (anon + 2 * page, 2 * page)]
    assert raw.process_madvise(own_pidfd, ranges, int(getattr(Advice, advice))) == 3 * page
    assert raw.read(anon, 1) == b"x"  # cold or paged out, never discarded


@needs_process_madvise
def test_process_madvise_with_no_ranges_advises_nothing(own_pidfd: int) -> None:
    assert raw.process_madvise(own_pidfd, (), int(Advice.COLD)) == 0


@needs_process_madvise
def test_process_madvise_refuses_destructive_advice_for_another_process(
    sleeper: subprocess.Popen[bytes], page: int
) -> None:
    # Only hints reach another process (COLD, PAGEOUT, WILLNEED, COLLAPSE);
    # since Linux 6.13 a process may give itself any advice this way.
    pidfd = os.pidfd_open(sleeper.pid)
    try:
        with pytest.raises(OSError) as caught:
            raw.process_madvise(pidfd, [(page, page)], int(Advice.DONTNEED))
        if caught.value.errno == errno.EPERM:
            pytest.skip(f"no CAP_SYS_NICE over another process here: {caught.value}")
        assert caught.value.errno == errno.EINVAL
        assert f"ranges=[({page:#x}, {page})]" in str(caught.value)
    finally:
        os.close(pidfd)


@needs_process_madvise
def test_process_madvise_unknown_flags_raise_einval(own_pidfd: int, anon: int, page: int) -> None:
    with pytest.raises(OSError) as caught:
        raw.process_madvise(own_pidfd, [(anon, page)], int(Advice.COLD), 1)
    assert caught.value.errno == errno.EINVAL


@needs_process_madvise
def test_process_madvise_on_a_descriptor_that_is_no_pidfd_raises_ebadf(
    anon: int, page: int
) -> None:
    read_end, write_end = os.pipe()
    try:
        with pytest.raises(OSError) as caught:
            raw.process_madvise(read_end, [(anon, page)], int(Advice.COLD))
        assert caught.value.errno == errno.EBADF
    finally:
        os.close(read_end)
        os.close(write_end)


@needs_process_madvise
def test_process_madvise_through_syscall_matches_the_c_library(
    own_pidfd: int, anon: int, page: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    through_libc = raw.process_madvise(own_pidfd, [(anon, 2 * page)], int(Advice.COLD))
    monkeypatch.setitem(_foreign._lazy_functions, "process_madvise", None)
    assert _foreign.uses_syscall("process_madvise")
    through_syscall = raw.process_madvise(own_pidfd, [(anon, 2 * page)], int(Advice.COLD))
    assert through_libc == through_syscall == 2 * page


@pytest.mark.parametrize(
    ("ranges", "error", "match"),
    [
        ("ab", TypeError, "sequence of"),
        (b"ab", TypeError, "sequence of"),
        (5, TypeError, "sequence of"),
        ([(1, 2, 3)], TypeError, r"ranges\[0\]"),
        ([4096], TypeError, r"ranges\[0\]"),
        ([(0, 1), (-1, 1)], OverflowError, r"ranges\[1\].addr"),
        ([(0, -1)], OverflowError, r"ranges\[0\].length"),
        ([(0.5, 1)], TypeError, r"ranges\[0\].addr"),
    ],
)
def test_process_madvise_bad_ranges_raise_before_the_call(
    ranges: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        raw.process_madvise(0, ranges, int(Advice.COLD))  # type: ignore[arg-type]


# ---------------------------------------------------------------- process_mrelease


def _pidfd_of(child: subprocess.Popen[bytes]) -> int:
    if not hasattr(os, "pidfd_open"):
        pytest.skip("os.pidfd_open is missing")
    if is_missing(PIDFD_OPEN_IS_MISSING):
        pytest.skip(PIDFD_OPEN_IS_MISSING)
    return os.pidfd_open(child.pid)


def _mrelease_or_skip(pidfd: int) -> None:
    try:
        raw.process_mrelease(pidfd)
    except NotImplementedError as error:
        pytest.skip(str(error))
    except OSError as error:
        if error.errno == errno.ENOSYS:
            pytest.skip("this kernel has no process_mrelease (ENOSYS)")
        raise


def test_process_mrelease_of_a_killed_child_releases_or_finds_it_gone(
    sleeper: subprocess.Popen[bytes],
) -> None:
    pidfd = _pidfd_of(sleeper)
    try:
        signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        # Still exiting: its memory is released now (0). Already a zombie,
        # its memory gone with its exit: ESRCH (mm/oom_kill.c finds no mm).
        # Which one is a race with the child's exit; both are success here.
        with contextlib.suppress(ProcessLookupError):
            _mrelease_or_skip(pidfd)
    finally:
        os.close(pidfd)
    assert sleeper.wait(timeout=60) == -signal.SIGKILL


def test_process_mrelease_of_a_running_child_raises_einval(
    sleeper: subprocess.Popen[bytes],
) -> None:
    pidfd = _pidfd_of(sleeper)
    try:
        with pytest.raises(OSError) as caught:
            _mrelease_or_skip(pidfd)
        assert caught.value.errno == errno.EINVAL
        assert f"process_mrelease(pidfd={pidfd}, flags=0)" in str(caught.value)
    finally:
        os.close(pidfd)


def test_process_mrelease_of_a_reaped_child_raises_esrch(
    sleeper: subprocess.Popen[bytes],
) -> None:
    pidfd = _pidfd_of(sleeper)
    try:
        sleeper.kill()
        sleeper.wait(timeout=60)
        with pytest.raises(OSError) as caught:
            _mrelease_or_skip(pidfd)
        assert caught.value.errno == errno.ESRCH
    finally:
        os.close(pidfd)


@pytest.mark.parametrize(("pidfd", "flags"), [(-(1 << 31) - 1, 0), (0, -1), (0, 1 << 32)])
def test_process_mrelease_bad_arguments_raise_before_the_call(pidfd: int, flags: int) -> None:
    with pytest.raises(OverflowError, match="process_mrelease"):
        raw.process_mrelease(pidfd, flags)


# ---------------------------------------------------------------- the syscall fallback


def test_a_call_neither_libc_nor_the_table_has_raises_notimplementederror(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(_foreign._lazy_functions, "mseal", None)
    monkeypatch.setattr(_foreign, "SYSCALL_NUMBERS", {})
    with pytest.raises(NotImplementedError, match="system call table"):
        raw.mseal(0, 0)


@pytest.mark.skipif(not _foreign.HAS_SYSCALL, reason="the C library has no syscall()")
def test_syscall_fallback_passes_the_kernels_errno(monkeypatch: pytest.MonkeyPatch) -> None:
    if "pkey_free" not in _foreign.SYSCALL_NUMBERS:
        pytest.skip("no pkey_free number for this ABI")
    monkeypatch.setitem(_foreign._lazy_functions, "pkey_free", None)
    with pytest.raises(OSError) as caught:
        raw.pkey_free(15)  # never allocated
    assert caught.value.errno in (errno.EINVAL, errno.ENOSYS)


def test_long_argument_keeps_the_bits_of_an_unsigned_value() -> None:
    bits = _foreign.LONG_BITS
    assert _foreign._long_argument((1 << bits) - 1).value == -1
    assert _foreign._long_argument(1 << (bits - 1)).value == -(1 << (bits - 1))
    assert _foreign._long_argument(-5).value == -5
    assert _foreign._long_argument(7).value == 7


def test_uses_syscall_for_a_call_libc_lacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(_foreign._lazy_functions, "memfd_secret", None)
    assert _foreign.uses_syscall("memfd_secret")
