"""The probe's command line: user errors are one line and status 2, tables fit 80 columns."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from rawmmap import probe
from rawmmap.__main__ import main

from .support import child_environment, run_interpreter


def _run(
    *arguments: str, columns: int | None = None, stdout: int | None = None
) -> subprocess.CompletedProcess[str]:
    extra = {} if columns is None else {"COLUMNS": str(columns)}
    return run_interpreter(
        ["-m", "rawmmap", "probe", *arguments],
        environment=child_environment(**extra),
        stdout=stdout,
    )


def _assert_one_line_usage_error(completed: subprocess.CompletedProcess[str], words: str) -> None:
    assert completed.returncode == 2, (completed.stdout, completed.stderr)
    assert "Traceback" not in completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert words in lines[0]


@pytest.fixture(scope="module")
def report_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real report of two checks."""
    path = tmp_path_factory.mktemp("cli") / "host.json"
    assert main(["probe", "--only", "zero-length", "--only", "map-pipe", "--json", str(path)]) == 0
    return path


def test_unwritable_json_path_is_a_one_line_error() -> None:
    completed = _run("--only", "zero-length", "--json", "/nonexistent-directory/r.json")
    _assert_one_line_usage_error(completed, "cannot write the report")


def test_missing_report_is_a_one_line_error(report_path: Path, tmp_path: Path) -> None:
    completed = _run("--compare", str(report_path), str(tmp_path / "missing.json"))
    _assert_one_line_usage_error(completed, "cannot read the report")


@pytest.mark.parametrize(
    ("text", "words"),
    [("{not json", "not JSON"), ("[]", "not a rawmmap-probe report"), ("\udcff", "not JSON")],
    ids=["syntax", "not-a-report", "not-utf8"],
)
def test_malformed_report_in_a_matrix_is_a_one_line_error(
    report_path: Path, tmp_path: Path, text: str, words: str
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(text.encode("utf-8", "surrogateescape"))
    completed = _run("--matrix", str(report_path), str(bad))
    _assert_one_line_usage_error(completed, words)


def test_repeated_only_is_a_one_line_error() -> None:
    completed = _run("--only", "zero-length", "--only", "zero-length")
    _assert_one_line_usage_error(completed, "more than once")


def test_unknown_only_is_a_one_line_error() -> None:
    completed = _run("--only", "no-such-check")
    _assert_one_line_usage_error(completed, "no-such-check")


def test_format_without_matrix_is_a_one_line_error() -> None:
    _assert_one_line_usage_error(_run("--format", "html"), "--matrix")


def test_broken_pipe_is_a_one_line_error_without_traceback() -> None:
    reader, writer = os.pipe()
    os.close(reader)  # nobody reads: the first write raises BrokenPipeError
    try:
        completed = _run("--list", stdout=writer)
    finally:
        os.close(writer)
    _assert_one_line_usage_error(completed, "broken pipe")


def test_table_and_list_fit_80_columns() -> None:
    for arguments in (("--list",), ("--only", "zero-length", "--only", "shm-open-names")):
        completed = _run(*arguments, columns=80)
        assert completed.returncode == 0, completed.stderr
        for line in completed.stdout.splitlines():
            assert len(line) <= 80, line


def test_matrix_text_fits_80_columns(report_path: Path) -> None:
    completed = _run("--matrix", str(report_path), str(report_path), columns=80)
    assert completed.returncode == 0, completed.stderr
    for line in completed.stdout.splitlines():
        assert len(line) <= 80, line
    assert "zero-length" in completed.stdout


@pytest.mark.parametrize("output_format", ["text", "markdown", "html"])
def test_matrix_in_every_format_exits_one_when_a_check_differs(
    report_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], output_format: str
) -> None:
    data = json.loads(report_path.read_text(encoding="utf-8"))
    # Native reports (under qemu-user a difference would be marked emulated).
    data["platform"]["emulation"] = ""
    native = tmp_path / "native.json"
    native.write_text(json.dumps(data), encoding="utf-8")
    data["checks"][0]["observed"] = "mmap: mapped; munmap: EINVAL"
    data["checks"][0]["verdict"] = "differs"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(data), encoding="utf-8")
    status = main(["probe", "--matrix", str(native), str(other), "--format", output_format])
    out = capsys.readouterr().out
    assert status == 1
    assert "mmap: mapped; munmap: EINVAL" in out
    if output_format == "html":
        assert out.startswith("<!DOCTYPE html>")
        assert "<details>" in out
    if output_format == "markdown":
        assert "| `zero-length` | * |" in out


def test_matrix_of_equal_reports_exits_zero(
    report_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["probe", "--matrix", str(report_path), str(report_path)]) == 0
    assert "0 differ between kernels" in capsys.readouterr().out


def test_json_to_stdout_prints_no_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["probe", "--only", "zero-length", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["schema_version"] == probe.SCHEMA_VERSION


def test_without_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "probe" in capsys.readouterr().err


def test_an_argparse_error_is_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["probe", "--compare", "only-one.json"])
    assert raised.value.code == 2
    assert "--compare" in capsys.readouterr().err


def test_unwritable_json_in_process_is_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "no-such-directory" / "r.json"
    assert main(["probe", "--only", "zero-length", "--json", str(target)]) == 2
    assert "cannot write the report" in capsys.readouterr().err
    assert not target.exists()
