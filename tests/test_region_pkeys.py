"""Protection keys through Region: pkey_mprotect(2) and per-thread rights (pkeys(7)).

Region records each page's key in its page map and reads the calling
thread's rights for it (pkey_get) at every access, so an access the rights
deny raises ProtectionError; a child process that makes the same access
through ``rawmmap.raw`` dies with SIGSEGV. The tests that need real keys
skip where ``pkey_alloc`` fails (a CPU without PKU/POE, a kernel without
protection keys, qemu-user): the argument checks and key -1 run everywhere.
"""

from __future__ import annotations

import errno
import threading
from collections.abc import Iterator

import pytest

import rawmmap
from rawmmap import PkeyRights, Prot, ProtectionError, Region, raw, set_pkey_rights

from .conftest import RunChild
from .emulation import PKEY_RIGHTS_ARE_MISSING, is_missing

PAGE = rawmmap.page_size()


def _key_or_reason() -> tuple[int | None, str]:
    if not raw.HAS_PKEYS or not raw.HAS_PKEY_RIGHTS:
        return None, "no pkey_alloc/pkey_get here"
    try:
        key = raw.pkey_alloc()
    except OSError as error:
        return None, f"no protection keys here: pkey_alloc says {error}"
    try:
        raw.pkey_get(key)
    except OSError as error:
        raw.pkey_free(key)
        return None, f"pkey_get is refused here: {error}"
    return key, ""


@pytest.fixture
def key() -> Iterator[int]:
    """An allocated protection key with full rights in this thread, freed afterwards."""
    allocated, reason = _key_or_reason()
    if allocated is None:
        pytest.skip(reason)
    yield allocated
    raw.pkey_set(allocated, 0)
    raw.pkey_free(allocated)


def anon(pages: int = 2) -> Region:
    return rawmmap.map_anonymous(pages * PAGE)


# ------------------------------------------------------------- everywhere


def test_key_minus_one_changes_the_protection_only_as_mprotect() -> None:
    with anon() as region:
        region.pkey_mprotect(Prot.READ, -1, PAGE, PAGE)
        assert region.protection(PAGE) == Prot.READ
        assert region.protection_key(PAGE) == 0
        with pytest.raises(ProtectionError):
            region.write(PAGE, b"x")
        region[0] = 1


@pytest.mark.parametrize("bad", [-2, -(1 << 70)])
def test_keys_below_minus_one_are_refused_before_the_call(bad: int) -> None:
    with anon() as region, pytest.raises(ValueError, match="pkey must be"):
        region.pkey_mprotect(Prot.READ, bad)


def test_a_key_that_is_not_an_integer_is_a_typeerror() -> None:
    with anon() as region, pytest.raises(TypeError):
        region.pkey_mprotect(Prot.READ, 1.0)  # type: ignore[arg-type]


def test_the_kernels_einval_for_a_key_never_allocated_leaves_the_page_map_alone() -> None:
    if is_missing(PKEY_RIGHTS_ARE_MISSING):
        # Region refuses a nonzero key before the call (NotImplementedError):
        # it cannot check the thread's rights for it.
        pytest.skip(PKEY_RIGHTS_ARE_MISSING)
    with anon() as region:
        unallocated = 15  # the highest x86 key; pkey_alloc hands out the lowest first
        try:
            region.pkey_mprotect(Prot.READ, unallocated)
        except OSError as error:
            # EINVAL: not allocated; ENOSYS: no pkey_mprotect (qemu-user, older kernels).
            assert error.errno in (errno.EINVAL, errno.ENOSYS)
        else:  # pragma: no cover - a platform where key 15 was allocated
            region.pkey_mprotect(Prot.READ | Prot.WRITE, 0)
            return
        assert region.protection(0) == Prot.READ | Prot.WRITE
        assert region.protection_key(0) == 0
        region[0] = 1  # still on the fast path, still writable


def test_protection_key_of_an_offset_outside_the_region_is_an_indexerror() -> None:
    with anon(1) as region, pytest.raises(IndexError):
        region.protection_key(PAGE)


def test_set_pkey_rights_checks_its_arguments_and_asks_the_kernel() -> None:
    with pytest.raises(TypeError):
        rawmmap.set_pkey_rights(1.5, 0)  # type: ignore[arg-type]
    try:
        rawmmap.set_pkey_rights(0, 0)  # the default key, full rights: a no-op
    except OSError as error:
        # No protection keys here: pkey_get says so, before any instruction.
        assert error.errno in (errno.ENOSYS, errno.EINVAL), error
    except NotImplementedError:  # pragma: no cover - a C library without pkey_get
        pass


# ------------------------------------------------------------- with keys


def test_rights_that_deny_access_raise_instead_of_faulting(key: int) -> None:
    with anon() as region:
        region[PAGE : PAGE + 4] = b"keep"
        region.pkey_mprotect(Prot.READ | Prot.WRITE, key, PAGE, PAGE)
        assert region.protection_key(PAGE) == key and region.protection_key(0) == 0
        assert region.read(PAGE, 4) == b"keep"
        set_pkey_rights(key, PkeyRights.DISABLE_ACCESS)
        try:
            for attempt in (
                lambda: region.read(PAGE, 1),
                lambda: region[PAGE],
                lambda: region.write(PAGE, b"x"),
                lambda: region.find(b"keep"),
            ):
                with pytest.raises(ProtectionError, match=f"protection key {key}"):
                    attempt()
            region[0] = 1  # the default key's page is not affected
        finally:
            set_pkey_rights(key, 0)
        assert region.read(PAGE, 4) == b"keep"


def test_rights_that_deny_writes_leave_reads(key: int) -> None:
    with anon(1) as region:
        region.pkey_mprotect(Prot.READ | Prot.WRITE, key)
        set_pkey_rights(key, PkeyRights.DISABLE_WRITE)
        try:
            assert region.read(0, 1) == b"\0"
            with pytest.raises(ProtectionError, match="deny writes"):
                region[0] = 1
        finally:
            set_pkey_rights(key, 0)
        region[0] = 1


def test_rights_are_per_thread(key: int) -> None:
    with anon(1) as region:
        region.pkey_mprotect(Prot.READ | Prot.WRITE, key)
        answers: dict[str, str] = {}
        barrier = threading.Barrier(2)

        def worker(name: str, rights: int) -> None:
            set_pkey_rights(key, rights)
            barrier.wait()  # both threads have set their own rights
            try:
                region.read(0, 1)
                answers[name] = "read"
            except ProtectionError:
                answers[name] = "refused"
            finally:
                barrier.wait()
                set_pkey_rights(key, 0)

        threads = [
            threading.Thread(target=worker, args=("denied", PkeyRights.DISABLE_ACCESS)),
            threading.Thread(target=worker, args=("allowed", 0)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert answers == {"denied": "refused", "allowed": "read"}
        assert raw.pkey_get(key) == 0  # this thread's rights were never touched


def test_views_of_keyed_pages_are_refused_and_keys_over_views_too(key: int) -> None:
    with anon() as region:
        view = region.view(0, PAGE)
        with pytest.raises(BufferError):
            region.pkey_mprotect(Prot.READ | Prot.WRITE, key, 0, PAGE)
        view.release()
        region.pkey_mprotect(Prot.READ | Prot.WRITE, key, 0, PAGE)
        with pytest.raises(ValueError, match="protection key"):
            region.view(0, 8)
        with region.view(PAGE, 8) as other:  # the default key's page
            other[0] = 1
        region.pkey_mprotect(Prot.READ | Prot.WRITE, 0, 0, PAGE)  # back to the default key
        assert region.protection_key(0) == 0
        with region.view(0, 8) as again:
            again[0] = 2


def test_taking_rights_away_inside_a_region_call_is_refused(key: int) -> None:
    with anon() as region:
        region.pkey_mprotect(Prot.READ | Prot.WRITE, key, PAGE, PAGE)
        seen: list[str] = []
        original = region._check_access

        def nested(start: int, stop: int, need: int, action: str, tail: bool = False) -> None:
            original(start, stop, need, action, tail)
            try:
                set_pkey_rights(key, PkeyRights.DISABLE_ACCESS)
            except RuntimeError as error:
                seen.append(str(error))

        region._check_access = nested  # type: ignore[method-assign]
        assert region.read(PAGE, 1) == b"\0"  # keyed pages always take the full check
        del region._check_access
        assert seen and "is in progress" in seen[0]
        assert raw.pkey_get(key) == 0


def test_the_kernel_faults_where_region_refuses(key: int, run_child: RunChild) -> None:
    result = run_child(
        f"""
        import sys
        import rawmmap
        from rawmmap import raw
        key = raw.pkey_alloc()
        r = rawmmap.map_anonymous({PAGE})
        r.pkey_mprotect(rawmmap.Prot.READ | rawmmap.Prot.WRITE, key)
        rawmmap.set_pkey_rights(key, rawmmap.PkeyRights.DISABLE_ACCESS)
        try:
            r.read(0, 1)
        except rawmmap.ProtectionError:
            print("refused")
        sys.stdout.flush()
        raw.read(r.address, 1)
        """
    )
    assert result.stdout.strip() == "refused", result.stderr
    assert result.returncode == -11  # SIGSEGV
