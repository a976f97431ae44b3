"""Probe reports: reading bad JSON, rendering skipped and differing rows, comparing."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from rawmmap import probe


def _report() -> probe.Report:
    return probe.run_probe(["zero-length", "munmap-unmapped-range"])


def _write(path: Path, data: object) -> str:
    path.write_text(json.dumps(data))
    return str(path)


def test_load_report_round_trips_a_written_report(tmp_path: Path) -> None:
    report = _report()
    loaded = probe.load_report(_write(tmp_path / "r.json", report.to_json()))
    assert [result.name for result in loaded.results] == [r.name for r in report.results]
    assert loaded.platform == report.platform


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda data: "not an object", "not a rawmmap-probe report"),
        (lambda data: {**data, "schema_version": "1"}, "schema_version"),
        (lambda data: {**data, "schema_version": 99}, "newer"),
        (lambda data: {**data, "platform": []}, "platform"),
        (lambda data: {**data, "platform": {**data["platform"], "page_size": True}}, "page_size"),
        (lambda data: {**data, "checks": {}}, "checks"),
        (lambda data: {**data, "checks": [1]}, "must be an object"),
        (
            lambda data: {**data, "checks": [{**data["checks"][0], "verdict": "maybe"}]},
            "unknown verdict",
        ),
    ],
    ids=[
        "not-object",
        "version-type",
        "newer",
        "platform-type",
        "bool-int",
        "checks-type",
        "row-type",
        "verdict",
    ],
)
def test_load_report_refuses_what_breaks_the_schema(
    tmp_path: Path, mutate: object, message: str
) -> None:
    data = _report().to_json()
    broken = mutate(data)  # type: ignore[operator]
    with pytest.raises(probe.ReportError, match=message):
        probe.load_report(_write(tmp_path / "bad.json", broken))


def test_load_report_refuses_text_that_is_not_json(tmp_path: Path) -> None:
    path = tmp_path / "text.json"
    path.write_text("{not json")
    with pytest.raises(probe.ReportError, match="not JSON"):
        probe.load_report(str(path))


def test_load_report_tolerates_missing_optional_fields(tmp_path: Path) -> None:
    data = _report().to_json()
    assert isinstance(data["checks"], list)
    rows = [dict(row) for row in data["checks"] if isinstance(row, dict)]
    for row in rows:
        row.pop("details", None)
        row["seconds"] = "slow"
    changed: dict[str, object] = {**data, "checks": rows, "seconds": None}
    loaded = probe.load_report(_write(tmp_path / "r.json", changed))
    assert all(result.details == {} for result in loaded.results)
    assert loaded.seconds == 0.0


def _with_rows(report: probe.Report, *changes: dict[str, object]) -> probe.Report:
    rows = [dataclasses.replace(row, **change) for row, change in zip(report.results, changes)]  # type: ignore[arg-type]
    return dataclasses.replace(report, results=tuple(rows))


def test_table_shows_the_reason_of_a_skipped_check_and_the_observed_of_a_differing_one() -> None:
    report = _with_rows(
        _report(),
        {"verdict": probe.SKIPPED, "reason": "needs root"},
        {"verdict": probe.DIFFERS, "observed": "EPERM", "informational": True},
    )
    text = probe.format_table(report, width=120)
    assert "needs root" in text
    assert "EPERM" in text
    assert "1 differ, 1 skipped" in text
    assert "(i) informational" in text


def test_comparison_lists_platform_fields_and_checks_present_in_one_report_only() -> None:
    first = _report()
    other_platform = dataclasses.replace(first.platform, architecture="s390x", page_size=8192)
    second = dataclasses.replace(first, platform=other_platform, results=first.results[:1])
    second = _with_rows(second, {"verdict": probe.DIFFERS, "observed": "mmap: succeeded"})
    comparison = probe.compare_reports(first, second)
    assert comparison.differs
    text = probe.format_comparison(first, second, comparison, width=120)
    assert "s390x" in text
    assert "(not in this report)" in text
    assert "2 checks differ" in text


def test_comparison_restricted_to_names_and_of_equal_reports_says_no_check_differs() -> None:
    first = _report()
    comparison = probe.compare_reports(first, first, names=["zero-length"])
    assert not comparison.differs
    assert "no check differs" in probe.format_comparison(first, first, comparison, width=100)


def test_file_demand_paging_is_skipped_on_tmpfs(monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import tempfile

    if not os.path.isdir("/dev/shm"):
        pytest.skip("no /dev/shm here")
    monkeypatch.setattr(tempfile, "tempdir", "/dev/shm")
    report = probe.run_probe(["file-demand-paging"])
    (result,) = report.results
    assert result.verdict == probe.SKIPPED, result
    assert "tmpfs" in result.reason or "ramfs" in result.reason
    assert "skipped" in probe.format_table(report, width=100)
