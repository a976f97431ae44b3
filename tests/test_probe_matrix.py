"""The matrix and the renderers: marks, emulated columns, old reports, three formats."""

from __future__ import annotations

import dataclasses
import json
import mmap
import os
import platform
import time
from pathlib import Path
from typing import Any

import pytest

import rawmmap
from rawmmap import _foreign, probe
from rawmmap.probe import machine, render


def _row(
    name: str, verdict: str, observed: str = "x", *, informational: bool = False
) -> probe.CheckResult:
    return probe.CheckResult(
        name=name,
        title=f"{name} title",
        source="POSIX",
        informational=informational,
        expected="x",
        observed=observed,
        verdict=verdict,
        reason="needs root" if verdict == probe.SKIPPED else "",
        details={},
        seconds=0.0,
        section="flags",
    )


def _report(*rows: probe.CheckResult, emulation: str = "") -> probe.Report:
    info = dataclasses.replace(probe.platform_info(), emulation=emulation)
    return probe.Report(info, rows)


def test_pass_against_skipped_and_informational_rows_are_not_differences() -> None:
    first = _report(_row("a", "pass"), _row("t", "pass", "1x", informational=True))
    second = _report(_row("a", "skipped", ""), _row("t", "differs", "9x", informational=True))
    matrix = probe.build_matrix([("one", first), ("two", second)])
    assert [row.mark for row in matrix.rows] == ["same", "informational"]
    assert not matrix.differs
    assert not probe.compare_reports(first, second).differs


def test_a_difference_only_an_emulator_shows_is_marked_emulated() -> None:
    native = _report(_row("a", "pass"), _row("b", "pass"))
    other = _report(_row("a", "pass"), _row("b", "differs", "EINVAL"))
    emulated = _report(_row("a", "differs", "ENOSYS"), _row("b", "pass"), emulation="qemu-user")
    matrix = probe.build_matrix([("n1", native), ("n2", other), ("qemu", emulated)])
    marks = {row.name: row.mark for row in matrix.rows}
    assert marks == {"a": "emulated", "b": "differs"}
    assert matrix.differs
    assert matrix.count("emulated") == 1


def test_matrix_rows_follow_the_registry_and_keep_unknown_checks_last() -> None:
    first = _report(_row("zz-unknown", "pass"), _row("zero-length", "pass"))
    second = _report(_row("null-address-hint", "pass"))
    matrix = probe.build_matrix([("1", first), ("2", second)])
    names = [row.name for row in matrix.rows]
    assert names[-1] == "zz-unknown"
    assert names.index("null-address-hint") < names.index("zero-length")
    assert matrix.rows[0].cells[0] is None or matrix.rows[0].cells[1] is None


def test_renderers_show_every_check_and_each_observed_text() -> None:
    native = _report(_row("a", "pass"), _row("b", "skipped", ""))
    other = _report(_row("a", "differs", "EPERM <b>"), _row("c", "pass"))
    matrix = probe.build_matrix([("host", native), ("guest", other)])
    text = probe.format_matrix(matrix, width=80)
    markdown = probe.matrix_markdown(matrix)
    page = probe.matrix_html(matrix)
    for output in (text, markdown):
        assert "EPERM <b>" in output
        for name in ("a", "b", "c"):
            assert name in output
    assert "EPERM &lt;b&gt;" in page
    assert 'class="differs"' in page and 'class="skipped"' in page and 'class="missing"' in page
    assert 'title="skipped: needs root"' in page
    assert '<th>2<span class="label">guest</span></th>' in page  # columns say whose they are
    assert "<style>" in page and "<script" not in page and "http" not in page.split("<body>")[0]
    assert "## Where they differ" in markdown
    assert "differs" in text


def test_a_version_1_report_loads_and_shows_no_machine_facts(tmp_path: Path) -> None:
    data: dict[str, Any] = json.loads(json.dumps(probe.run_probe(["zero-length"]).to_json()))
    data["schema_version"] = 1
    for key in ("emulation", "thp_mode", "pku", "root", "memlock_limit"):
        del data["platform"][key]
    for row in data["checks"]:
        del row["section"]
    path = tmp_path / "v1.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    old = probe.load_report(str(path))
    assert old.schema_version == 1
    assert old.platform.emulation == "" and old.platform.thp_mode == ""
    matrix = probe.build_matrix([("old", old)])
    assert matrix.rows[0].section == "flags"
    assert ("THP", "-") in render.platform_facts(old.platform, 1)
    assert "| THP | - |" in probe.matrix_markdown(matrix)


def test_table_header_names_the_emulator() -> None:
    report = _report(_row("a", "pass"), emulation="qemu-user")
    report = dataclasses.replace(
        report, platform=dataclasses.replace(report.platform, kernel_architecture="x86_64")
    )
    text = probe.format_table(report, width=80)
    assert "qemu-user on Linux" in text
    assert "(x86_64)" in text


@pytest.mark.parametrize(
    ("machine_name", "kernel", "expected"),
    [
        ("aarch64", "x86_64", "qemu-user"),
        ("i686", "x86_64", ""),
        ("armv7l", "aarch64", ""),
        ("s390x", "x86_64", "qemu-user"),
        ("x86_64", "x86_64", ""),
    ],
)
def test_qemu_user_is_told_by_the_kernel_arch_sysctl(
    monkeypatch: pytest.MonkeyPatch, machine_name: str, kernel: str, expected: str
) -> None:
    monkeypatch.delenv("RAWMMAP_UNDER_QEMU", raising=False)
    monkeypatch.setattr(machine, "read_text", lambda path: "Linux version 6.1")
    assert machine.detect_emulation(machine_name, kernel) == expected


def test_emulation_environment_override_and_gvisor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAWMMAP_UNDER_QEMU", "1")
    assert machine.detect_emulation("x86_64", "x86_64") == "qemu-user"
    monkeypatch.setenv("RAWMMAP_UNDER_QEMU", "0")
    monkeypatch.setattr(machine, "read_text", lambda path: "Linux version 6.1")
    assert machine.detect_emulation("aarch64", "x86_64") == ""
    gvisor = "Linux version 4.4.0 #1 SMP Sun Jan 10 15:06:54 PST 2016"
    monkeypatch.setattr(machine, "read_text", lambda path: gvisor)
    # "not qemu-user" (tools/platforms sets it for its gVisor target) still finds gVisor.
    assert machine.detect_emulation("x86_64", "x86_64") == "gVisor"
    monkeypatch.delenv("RAWMMAP_UNDER_QEMU")
    assert machine.detect_emulation("x86_64", "x86_64") == "gVisor"


def test_virtual_machine_hints(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = {"/sys/class/dmi/id/sys_vendor": "QEMU"}
    monkeypatch.setattr(machine, "read_text", texts.get)
    assert machine.detect_virtual_machine([]) == "QEMU"
    texts.clear()
    assert machine.detect_virtual_machine(["fpu", "hypervisor"]).startswith("yes")
    assert machine.detect_virtual_machine(["fpu"]) == ""
    texts["/sys/hypervisor/type"] = "xen"
    assert machine.detect_virtual_machine([]) == "xen"


def test_cpu_flags_reads_the_first_processor() -> None:
    cpuinfo = "processor : 0\nflags : fpu pku ospke\n\nprocessor : 1\nflags : fpu\n"
    assert machine.cpu_flags(cpuinfo) == ["fpu", "pku", "ospke"]
    assert machine.cpu_flags("Features : fp asimd\n") == ["fp", "asimd"]
    assert machine.cpu_flags("") == []
    assert machine.cpu_family("mips64") == "mips" and machine.cpu_family("weird") == "weird"


def test_two_checks_of_one_name_are_refused() -> None:
    with pytest.raises(ValueError, match="two checks"):
        probe.check("zero-length")(lambda context: probe.judge("x", "x"))


#: The probe may take this many times the baseline below (on the development
#: machine it takes 8 to 15 times it), and never less than _PROBE_FLOOR seconds.
_PROBE_BASELINES = 30
_PROBE_FLOOR = 10.0


def _probe_baseline() -> float:
    """Time, in seconds, one unit of the kinds of work the probe does on this machine.

    One child interpreter importing rawmmap (``run_child``: the probe starts
    6), one fork (``in_fork``: 15) and 200 anonymous regions mapped, written
    and unmapped (the in-process checks). A slow machine (a TCG guest with
    other jobs on its host) is slow at all three, so a limit in these units
    is the same demand everywhere.
    """
    from rawmmap.probe import support

    start = time.perf_counter()
    with probe.probe_context() as context:
        status, _, err = support.run_child(context, "pass")
    assert status == 0, err
    assert support.in_fork(lambda: 0) == "0"
    for _ in range(200):
        region = rawmmap.map_anonymous(mmap.PAGESIZE)
        region[0] = 1
        region.munmap()
    return time.perf_counter() - start


def test_full_probe_runs_here_quickly_and_no_check_raises() -> None:
    before = _probe_baseline()
    start = time.perf_counter()
    report = probe.run_probe()
    elapsed = time.perf_counter() - start
    # The larger of two baselines, one each side of the probe: a load that
    # came or went during the run is counted, a hang (a child's 30 s
    # timeout) still exceeds the limit everywhere.
    baseline = max(before, _probe_baseline())
    assert len(report.results) >= 80
    raised = [
        r.name for r in report.results if r.reason == "the check raised an unexpected exception"
    ]
    assert raised == []
    assert all(r.reason for r in report.results if r.verdict == probe.SKIPPED)
    limit = max(_PROBE_FLOOR, _PROBE_BASELINES * baseline)
    assert elapsed < limit, (
        f"the probe took {elapsed:.1f} s, more than {limit:.1f} s "
        f"({_PROBE_BASELINES} x the {baseline:.2f} s baseline here, at least {_PROBE_FLOOR:.0f} s)"
    )


def test_libc_name_without_confstr(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_confstr(name: str) -> str:
        raise ValueError(name)

    monkeypatch.setattr(os, "confstr", no_confstr)
    monkeypatch.setattr(_foreign, "is_musl", lambda: True)
    assert machine._libc_name_and_version() == ("musl", "")
    monkeypatch.setattr(_foreign, "is_musl", lambda: False)
    monkeypatch.setattr(platform, "libc_ver", lambda: ("libc", "1.0"))
    assert machine._libc_name_and_version() == ("libc", "1.0")


def test_small_fact_readers() -> None:
    assert machine._bracketed("always [madvise] never") == "madvise"
    assert machine._bracketed("plain") == "plain"
    assert machine._bracketed(None) == ""
    assert machine.read_text("/nonexistent/file") is None
    assert isinstance(machine._free_threaded(), bool)
    assert machine.detect_emulation() in ("", "qemu-user", "gVisor")


def test_list_on_a_narrow_terminal_puts_titles_under_the_names() -> None:
    text = probe.list_checks(width=40)
    assert all(len(line) <= 40 for line in text.splitlines())
    assert "\n    " in text
