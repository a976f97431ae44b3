"""The checks on platforms they were not run on: every skip path, and no check ever raises.

The platform facts a check reads are replaced (qemu-user, 32-bit, an old
kernel, musl, another overcommit mode); the kernel underneath is still
this one, so what matters is that each check skips with a reason or
answers, and never takes the probe down.
"""

from __future__ import annotations

import dataclasses
import errno
import os
from pathlib import Path
from typing import NoReturn

import pytest

from rawmmap import probe, raw
from rawmmap.probe import limits, protection, support

FAKES: dict[str, dict[str, str | int | bool]] = {
    "qemu-user-32-bit-old-kernel": {
        "emulation": "qemu-user",
        "pointer_bits": 32,
        "overcommit_memory": "2",
        "kernel_release": "4.9.0",
        "libc": "musl",
        "root": False,
        "pku": True,
    },
    "always-overcommit-musl": {"overcommit_memory": "1", "libc": "musl"},
    "gvisor-unknown-overcommit": {"emulation": "gVisor", "overcommit_memory": ""},
}


@pytest.mark.parametrize("fake", list(FAKES))
def test_no_check_raises_on_a_platform_it_was_not_written_for(fake: str) -> None:
    with probe.probe_context() as context:
        context.platform = dataclasses.replace(context.platform, **FAKES[fake])  # type: ignore[arg-type]
        results = [probe.run_check(name, context) for name in probe.CHECKS]
    raised = [r.name for r in results if r.reason == "the check raised an unexpected exception"]
    assert raised == []
    for result in results:
        if result.verdict == probe.SKIPPED:
            assert result.reason, result.name


def test_qemu_user_skips_name_qemu() -> None:
    with probe.probe_context() as context:
        context.platform = dataclasses.replace(context.platform, emulation="qemu-user")
        result = probe.run_check("madv-populate-read", context)
    assert result.verdict == probe.SKIPPED
    assert "qemu-user" in result.reason


def test_prot_exec_on_a_mount_that_allows_it_differs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A directory that is not noexec stands in: PROT_EXEC is then mapped.
    monkeypatch.setattr(protection, "_noexec_directory", lambda: str(tmp_path))
    with probe.probe_context() as context:
        result = probe.run_check("prot-exec-noexec-mount", context)
    assert result.verdict in (probe.PASS, probe.DIFFERS)
    assert result.observed.endswith("PROT_READ: mapped")
    assert list(tmp_path.iterdir()) == []


def test_mmap_min_addr_above_one_page_is_enforced_or_allowed_for_root(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(limits, "read_text", lambda path: "65536")
    with probe.probe_context() as context:
        result = probe.run_check("mmap-min-addr", context)
    if result.verdict == probe.SKIPPED:
        pytest.skip(result.reason)
    assert result.verdict == probe.PASS, result
    assert result.details["mmap_min_addr"] == 65536


def test_fork_answer_reports_an_exception_a_signal_and_an_exit() -> None:
    def raises() -> str:
        raise ValueError("in the child")

    def exits() -> str:
        os._exit(5)

    def kills() -> str:
        os.kill(os.getpid(), 9)
        return "not reached"

    assert support.fork_answer(raises) == "ValueError: in the child"
    assert support.fork_answer(exits) == "exit status 5"
    assert support.fork_answer(kills) == "SIGKILL"


def test_describe_exit_names_signals_statuses_and_the_last_line() -> None:
    assert support.describe_exit(-11, "") == "SIGSEGV"
    assert support.describe_exit(-200, "") == "signal 200"
    assert support.describe_exit(0, "") == "no fault"
    assert support.describe_exit(1, "one\nTypeError: x\n") == "exit status 1 (TypeError: x)"
    assert support.errno_name(None) == "OSError"
    assert support.errno_name(99999) == "errno 99999"


def test_maps_lines_of_an_unmapped_range_are_empty() -> None:
    assert support.maps_lines(0, 4096) == []


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (call, errno.EINVAL)
        for call in ("mmap", "mprotect", "madvise", "mincore", "msync", "mlock", "mlock2", "mremap")
    ]
    + [(call, errno.ENOMEM) for call in ("mmap", "mlock", "mremap")],
)
def test_every_check_survives_a_call_that_fails(
    monkeypatch: pytest.MonkeyPatch, call: str, code: int
) -> None:
    # Each failure path of each check: the call answers an errno instead.
    def refuse(*arguments: object) -> NoReturn:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(raw, call, refuse)
    with probe.probe_context() as context:
        results = [probe.run_check(name, context) for name in probe.CHECKS]
    assert len(results) == len(probe.CHECKS)
    assert {result.verdict for result in results} <= set(probe.registry.VERDICTS)
