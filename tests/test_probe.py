"""Tests of the kernel-behaviour probe: the CLI end to end, the JSON schema,
--compare on reports that differ, and each check on its own."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import pytest

from rawmmap import probe

from .emulation import (
    EXEC_SEAL_IS_IGNORED,
    FIXED_NOREPLACE_IS_IGNORED,
    FUTURE_WRITE_SEAL_IS_IGNORED,
    GUEST_SPACE_IS_RESERVED,
    MADV_REMOVE_IS_MISSING,
    MEMFD_LONG_NAME_IS_ENAMETOOLONG,
    MINCORE_SAYS_ALL_RESIDENT,
    MPROTECT_ROUNDS_UNALIGNED_ADDRESS,
    MSYNC_KEEPS_MTIME,
    OFFSET_IS_TRUNCATED,
    OVERCOMMIT_IS_NOT_HEURISTIC,
    SHARED_VALIDATE_IS_UNKNOWN,
    UNKNOWN_PROT_BIT_IS_ACCEPTED,
    is_missing,
)
from .support import child_environment, run_interpreter

FullRun = tuple["subprocess.CompletedProcess[str]", dict[str, Any], Path]


def _run(*arguments: str, tmpdir: Path | None = None) -> subprocess.CompletedProcess[str]:
    extra = {} if tmpdir is None else {"TMPDIR": str(tmpdir)}
    return run_interpreter(["-m", "rawmmap", *arguments], environment=child_environment(**extra))


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> FullRun:
    """One whole probe run, with --json FILE, in a private TMPDIR."""
    base = tmp_path_factory.mktemp("probe")
    tmpdir = base / "tmp"
    tmpdir.mkdir()
    report = base / "report.json"
    completed = _run("probe", "--json", str(report), tmpdir=tmpdir)
    assert report.exists(), completed.stderr
    return completed, json.loads(report.read_text(encoding="utf-8")), tmpdir


def _write(path: Path, data: dict[str, Any]) -> str:
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


# ------------------------------------------------------------------ the CLI


def test_probe_command_prints_header_and_every_check(full_run: FullRun) -> None:
    completed, _, _ = full_run
    for label in ("kernel", "architecture", "libc", "page size", "Python", "THP", "pku"):
        assert label in completed.stdout
    assert platform.release() in completed.stdout
    assert str(os.sysconf("SC_PAGESIZE")) in completed.stdout
    for name in probe.CHECKS:
        assert name in completed.stdout


def test_probe_exit_status_says_whether_a_check_differs(full_run: FullRun) -> None:
    completed, report, _ = full_run
    differs = [
        row["name"]
        for row in report["checks"]
        if row["verdict"] == "differs" and not row["informational"]
    ]
    assert completed.returncode == (1 if differs else 0), (differs, completed.stderr)


def test_probe_json_follows_the_schema(full_run: FullRun) -> None:
    _, report, _ = full_run
    assert report["schema"] == "rawmmap-probe"
    assert report["schema_version"] == probe.SCHEMA_VERSION
    assert isinstance(report["rawmmap_version"], str)
    assert report["created"].endswith("Z")
    assert isinstance(report["seconds"], float)
    info = report["platform"]
    for key in (
        "os",
        "kernel_release",
        "architecture",
        "libc",
        "libc_version",
        "python_implementation",
        "python_version",
    ):
        assert isinstance(info[key], str)
    assert info["page_size"] == os.sysconf("SC_PAGESIZE")
    assert info["pointer_bits"] in (32, 64)
    assert [row["name"] for row in report["checks"]] == list(probe.CHECKS)
    counts = {"pass": 0, "differs": 0, "skipped": 0}
    for row in report["checks"]:
        assert row["verdict"] in counts
        counts[row["verdict"]] += 1
        for key in ("title", "source", "expected", "observed", "reason"):
            assert isinstance(row[key], str)
        assert row["source"]
        assert isinstance(row["informational"], bool)
        assert isinstance(row["details"], dict)
        assert isinstance(row["seconds"], (int, float))
        if row["verdict"] == "skipped":
            assert row["reason"]
    assert report["summary"] == counts


def test_probe_removes_its_temporary_files(full_run: FullRun) -> None:
    _, _, tmpdir = full_run
    assert list(tmpdir.iterdir()) == []


def test_probe_json_without_file_writes_only_json_to_stdout() -> None:
    completed = _run("probe", "--json", "--only", "zero-length")
    report = json.loads(completed.stdout)
    assert [row["name"] for row in report["checks"]] == ["zero-length"]


def test_probe_list_names_every_check() -> None:
    completed = _run("probe", "--list")
    assert completed.returncode == 0
    # A title too long for the terminal goes on indented continuation lines.
    lines = completed.stdout.splitlines()
    names = [line.split()[0] for line in lines if line and not line[0].isspace()]
    assert names == list(probe.CHECKS)


def test_probe_only_runs_the_named_checks() -> None:
    completed = _run("probe", "--only", "zero-length", "--only", "msync-sync-and-async")
    assert completed.returncode == 0, completed.stdout
    assert "zero-length" in completed.stdout
    assert "msync-sync-and-async" in completed.stdout
    assert "offset-alignment" not in completed.stdout
    assert "2 checks" in completed.stdout


def test_probe_only_unknown_check_is_a_usage_error() -> None:
    completed = _run("probe", "--only", "no-such-check")
    assert completed.returncode == 2
    assert "no-such-check" in completed.stderr


def test_rawmmap_without_command_prints_help_and_fails() -> None:
    completed = _run()
    assert completed.returncode == 2
    assert "probe" in completed.stderr


# ------------------------------------------------------------------ --compare


@pytest.fixture(scope="module")
def small_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A real report of three checks, one of them informational."""
    path = tmp_path_factory.mktemp("small") / "a.json"
    completed = _run(
        "probe",
        "--json",
        str(path),
        "--only",
        "zero-length",
        "--only",
        "offset-alignment",
        "--only",
        "mapped-read-speed",
    )
    assert path.exists(), completed.stderr
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_compare_prints_the_checks_that_differ(
    small_report: dict[str, Any], tmp_path: Path
) -> None:
    other = json.loads(json.dumps(small_report))
    other["platform"]["kernel_release"] = "4.9.0-crafted"
    rows = {row["name"]: row for row in other["checks"]}
    rows["zero-length"]["observed"] = "mmap: succeeded; munmap: EINVAL"
    rows["zero-length"]["verdict"] = "differs"
    # An informational check whose numbers differ is not a difference.
    rows["mapped-read-speed"]["observed"] = "mapped reads 99.0x faster than os.pread"
    other["checks"] = [rows["zero-length"], rows["mapped-read-speed"]]
    first = _write(tmp_path / "a.json", small_report)
    second = _write(tmp_path / "b.json", other)

    completed = _run("probe", "--compare", first, second)

    assert completed.returncode == 1, completed.stderr
    assert "kernel_release" in completed.stdout
    assert "4.9.0-crafted" in completed.stdout
    assert "mmap: succeeded" in completed.stdout
    assert "offset-alignment" in completed.stdout
    assert "(not in this report)" in completed.stdout
    assert "mapped-read-speed" not in completed.stdout
    assert "2 checks differ" in completed.stdout


def test_compare_of_identical_reports_exits_zero(
    small_report: dict[str, Any], tmp_path: Path
) -> None:
    first = _write(tmp_path / "a.json", small_report)
    second = _write(tmp_path / "b.json", small_report)
    completed = _run("probe", "--compare", first, second)
    assert completed.returncode == 0
    assert "no check differs" in completed.stdout


def test_compare_refuses_a_file_that_is_not_a_report(
    small_report: dict[str, Any], tmp_path: Path
) -> None:
    first = _write(tmp_path / "a.json", small_report)
    second = tmp_path / "b.json"
    second.write_text("[1, 2]", encoding="utf-8")
    completed = _run("probe", "--compare", first, str(second))
    assert completed.returncode == 2
    assert "not a rawmmap-probe report" in completed.stderr


def test_compare_refuses_a_newer_schema_version(
    small_report: dict[str, Any], tmp_path: Path
) -> None:
    newer = dict(small_report, schema_version=probe.SCHEMA_VERSION + 1)
    first = _write(tmp_path / "a.json", small_report)
    second = _write(tmp_path / "b.json", newer)
    completed = _run("probe", "--compare", first, second)
    assert completed.returncode == 2
    assert "newer" in completed.stderr


def test_load_report_reads_back_what_to_json_wrote(tmp_path: Path) -> None:
    report = probe.run_probe(["zero-length", "offset-alignment"])
    path = _write(tmp_path / "r.json", report.to_json())
    loaded = probe.load_report(path)
    assert loaded.platform == report.platform
    assert [row.name for row in loaded.results] == ["zero-length", "offset-alignment"]
    assert not probe.compare_reports(report, loaded).differs


# ------------------------------------------------------------------ each check


#: Check -> the missing capabilities (tests/emulation.py) it shows as "differs".
_CHECKS_THAT_SHOW: dict[str, tuple[str, ...]] = {
    "map-fixed-noreplace": (FIXED_NOREPLACE_IS_IGNORED,),
    "offset-above-4gib": (OFFSET_IS_TRUNCATED,),
    "file-demand-paging": (MINCORE_SAYS_ALL_RESIDENT,),
    "anonymous-demand-paging": (MINCORE_SAYS_ALL_RESIDENT,),
    "madv-willneed-file": (MINCORE_SAYS_ALL_RESIDENT,),
    "madv-dontneed-anonymous": (MINCORE_SAYS_ALL_RESIDENT,),
    "mlock2-onfault": (MINCORE_SAYS_ALL_RESIDENT,),
    "shared-validate-unknown-flag": (SHARED_VALIDATE_IS_UNKNOWN,),
    "map-noreserve-overcommit": (OVERCOMMIT_IS_NOT_HEURISTIC,),
    "mprotect-unknown-prot": (UNKNOWN_PROT_BIT_IS_ACCEPTED,),
    "memfd-seal-future-write": (FUTURE_WRITE_SEAL_IS_IGNORED,),
    "memfd-seal-exec": (EXEC_SEAL_IS_IGNORED,),
    "msync-marks-mtime": (MSYNC_KEEPS_MTIME,),
    "madv-remove-shared": (MADV_REMOVE_IS_MISSING,),
    "memfd-name-too-long": (MEMFD_LONG_NAME_IS_ENAMETOOLONG,),
    # ENOMEM on armhf and mipsel under qemu-user: the pages after the
    # mapping belong to the reserved guest space, so it cannot grow there.
    "mremap-grow-in-place": (GUEST_SPACE_IS_RESERVED,),
    # Succeeds on musl: its mprotect rounds the address down to the page.
    "mprotect-unaligned": (MPROTECT_ROUNDS_UNALIGNED_ADDRESS,),
}


def test_every_capability_check_names_a_real_probe_check() -> None:
    assert set(_CHECKS_THAT_SHOW) <= set(probe.CHECKS)


@pytest.mark.parametrize(
    "name", [name for name, check in probe.CHECKS.items() if not check.informational]
)
def test_check_passes_on_this_machine(name: str) -> None:
    # Under qemu-user or gVisor the probe rightly reports their behaviour,
    # not Linux's: where tests/emulation.py saw the capability missing, the
    # check's "differs" is the finding, and this test skips with the reason.
    for reason in _CHECKS_THAT_SHOW.get(name, ()):
        if is_missing(reason):
            pytest.skip(reason)
    with probe.probe_context() as context:
        result = probe.run_check(name, context)
    if result.verdict == "skipped":
        pytest.skip(result.reason)
    assert result.verdict == "pass", (result.expected, result.observed, result.reason)
    assert result.observed == result.expected


def test_mapped_read_speed_reports_a_ratio_without_judging_the_exit_status() -> None:
    # Timing is never asserted: only that the check measured something.
    with probe.probe_context() as context:
        result = probe.run_check("mapped-read-speed", context)
    assert result.informational
    assert result.verdict in ("pass", "differs")
    ratio = result.details["ratio"]
    assert isinstance(ratio, float)
    assert ratio > 0


def test_every_check_cites_its_source() -> None:
    for check in probe.CHECKS.values():
        assert check.title, check.name
        assert check.source, check.name
        citations = ("POSIX", "(2)", "(3)", "(5)", "(7)", "APUE", "Documentation/", "LTP")
        assert any(word in check.source for word in citations), check.name


def test_probe_leaves_no_mapping_of_its_files() -> None:
    if not os.path.exists("/proc/self/maps"):
        pytest.skip("no /proc/self/maps to list this process's mappings")
    with probe.probe_context() as context:
        directory = context.directory
        for name in probe.CHECKS:
            if not probe.CHECKS[name].informational:
                probe.run_check(name, context)
    with open("/proc/self/maps", encoding="utf-8") as maps:
        assert directory not in maps.read()
    assert not os.path.exists(directory)


def test_unknown_check_name_raises_keyerror() -> None:
    with pytest.raises(KeyError):
        probe.run_probe(["no-such-check"])


# ------------------------------------------------------------------ pieces


def _result(name: str, verdict: str, *, informational: bool = False) -> probe.CheckResult:
    return probe.CheckResult(
        name=name,
        title="",
        source="",
        informational=informational,
        expected="x",
        observed="x" if verdict == "pass" else "y",
        verdict=verdict,
        reason="",
        details={},
        seconds=0.0,
    )


def test_exit_status_ignores_informational_checks() -> None:
    info = probe.platform_info()
    quiet = probe.Report(info, (_result("a", "pass"), _result("b", "differs", informational=True)))
    loud = probe.Report(info, (_result("a", "differs"), _result("b", "skipped")))
    assert probe.exit_status(quiet) == 0
    assert probe.exit_status(loud) == 1


def test_a_check_that_raises_is_reported_as_differs() -> None:
    def broken(context: probe.ProbeContext) -> probe.Outcome:
        raise OSError(5, "Input/output error")

    probe.CHECKS["test-broken"] = probe.Check("test-broken", broken)
    try:
        with probe.probe_context() as context:
            result = probe.run_check("test-broken", context)
    finally:
        del probe.CHECKS["test-broken"]
    assert result.verdict == "differs"
    assert "OSError" in result.observed


@pytest.mark.parametrize(
    ("release", "version"),
    [
        ("6.1.0-18-amd64", (6, 1, 0)),
        ("4.9.337", (4, 9, 337)),
        ("5.15.0-rc1", (5, 15, 0)),
        ("6.18.44-fc-v669", (6, 18, 44)),
        ("23.1.0", (23, 1, 0)),
        ("weird", ()),
    ],
)
def test_kernel_version_reads_the_leading_numbers(release: str, version: tuple[int, ...]) -> None:
    info = probe.platform_info()
    crafted = probe.PlatformInfo(**dict(vars(info), kernel_release=release))
    assert crafted.kernel_version() == version


def test_table_fits_an_80_column_terminal() -> None:
    report = probe.run_probe(["zero-length", "shared-private-two-mappings"])
    for line in probe.format_table(report, width=80).splitlines():
        assert len(line) <= 80, line


def test_main_in_process_writes_json_and_compares(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from rawmmap.__main__ import main

    first = tmp_path / "a.json"
    assert main(["probe", "--only", "zero-length", "--json", str(first)]) == 0
    assert "zero-length" in capsys.readouterr().out
    data = json.loads(first.read_text(encoding="utf-8"))
    data["checks"][0]["observed"] = "mmap: EINVAL; munmap: succeeded"
    data["checks"][0]["verdict"] = "differs"
    second = _write(tmp_path / "b.json", data)
    assert main(["probe", "--compare", str(first), second]) == 1
    assert "munmap: succeeded" in capsys.readouterr().out
    assert main(["probe", "--list"]) == 0
    assert main(["probe", "--compare", str(first), str(tmp_path / "missing.json")]) == 2
