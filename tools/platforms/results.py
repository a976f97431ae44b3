"""Read pytest's and the probe's output; write a results line and a table.

Pure functions over text and JSON, so they are tested without running
anything (tests/test_platforms.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "Result",
    "format_line",
    "format_markdown",
    "parse_probe",
    "parse_pytest",
    "result_from_json",
]

_COUNT = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed|deselected)\b")


@dataclass
class Result:
    """What one target's run found."""

    target: str
    description: str = ""
    python: str = "?"
    machine: str = "?"
    how: str = "?"
    setup_seconds: float = 0.0
    suite_seconds: float = 0.0
    probe_seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    pytest_status: int = -1
    problem: str = ""
    failures: list[str] = field(default_factory=list)
    skip_reasons: dict[str, int] = field(default_factory=dict)
    probe_summary: dict[str, int] = field(default_factory=dict)
    probe_differs: list[str] = field(default_factory=list)
    probe_informational: list[str] = field(default_factory=list)
    probe_status: str = "not run"

    @property
    def failed(self) -> bool:
        """The suite failed or did not finish (probe differences are findings, not failures)."""
        return bool(
            self.problem
            or self.counts.get("failed")
            or self.counts.get("error")
            or self.pytest_status not in (0, 5)
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``result_from_json`` reads it back)."""
        data = asdict(self)
        data["failed"] = self.failed
        return data


def result_from_json(data: dict[str, Any]) -> Result:
    """Rebuild a Result written by ``Result.to_json``."""
    known = {name: value for name, value in data.items() if name in Result.__dataclass_fields__}
    return Result(**known)


def parse_pytest(result: Result, output: str, status: int) -> None:
    """Fill counts, failures and skip reasons from ``pytest -q -rfEs`` output."""
    result.pytest_status = status
    lines = output.splitlines()
    summary = next((line for line in reversed(lines) if _COUNT.search(line) and " in " in line), "")
    for number, word in _COUNT.findall(summary):
        result.counts["error" if word == "errors" else word] = int(number)
    for line in lines:
        if line.startswith(("FAILED ", "ERROR ")):
            result.failures.append(line)
        elif line.startswith("SKIPPED "):
            # "SKIPPED [3] tests/x.py:12: reason" -> reason, counted.
            match = re.match(r"SKIPPED \[(\d+)\] [^:]+:\d+: (.*)$", line)
            if match:
                reason = match.group(2)
                result.skip_reasons[reason] = result.skip_reasons.get(reason, 0) + int(
                    match.group(1)
                )
    if not summary:
        detail = next((line for line in lines if line.startswith("E ")), "")
        result.problem = (detail or (lines[-1] if lines else "no output"))[:300]


def parse_probe(result: Result, output: str) -> dict[str, Any]:
    """Fill the probe verdicts from ``python -m rawmmap probe --json``; return the report."""
    try:
        report = json.loads(output)
    except ValueError:
        result.probe_status = "no JSON"
        return {}
    if not isinstance(report, dict):
        result.probe_status = "no JSON object"
        return {}
    checks = [check for check in report.get("checks", []) if isinstance(check, dict)]
    summary: dict[str, int] = {}
    for check in checks:
        verdict = str(check.get("verdict", "?"))
        if check.get("informational") and verdict == "differs":
            verdict = "informational"
        summary[verdict] = summary.get(verdict, 0) + 1
    result.probe_summary = summary
    result.probe_differs = [
        str(check.get("name", "?"))
        for check in checks
        if check.get("verdict") == "differs" and not check.get("informational")
    ]
    result.probe_informational = [
        str(check.get("name", "?"))
        for check in checks
        if check.get("verdict") == "differs" and check.get("informational")
    ]
    result.probe_status = "ok"
    return report


def _counts(result: Result) -> str:
    if result.problem and not result.counts:
        return f"not run: {result.problem}"
    return "{}/{}/{}".format(
        result.counts.get("passed", 0),
        result.counts.get("failed", 0) + result.counts.get("error", 0),
        result.counts.get("skipped", 0),
    )


def _probe(result: Result) -> str:
    if result.probe_status != "ok":
        return result.probe_status
    verdicts = sorted(result.probe_summary.items())
    text = ", ".join(f"{count} {verdict}" for verdict, count in verdicts)
    if result.probe_differs:
        text += " (differs: " + ", ".join(result.probe_differs) + ")"
    return text


def format_line(result: Result) -> str:
    """One line: target, passed/failed/skipped, probe verdicts and the times."""
    return (
        f"{result.target}: {result.python} {result.machine} {result.how}: "
        f"suite {_counts(result)} (passed/failed/skipped), probe {_probe(result)}; "
        f"setup {result.setup_seconds:.0f} s, suite {result.suite_seconds:.0f} s, "
        f"probe {result.probe_seconds:.0f} s"
    )


_HEADERS = (
    "target",
    "how run",
    "CPython",
    "passed/failed/skipped",
    "probe",
    "setup",
    "suite",
)


def format_markdown(results: Sequence[Result]) -> str:
    """A Markdown table of the results, one row per target."""
    lines = [
        "| " + " | ".join(_HEADERS) + " |",
        "| " + " | ".join("---" for _ in _HEADERS) + " |",
    ]
    for result in results:
        cells = [
            result.target,
            f"{result.how} ({result.machine})",
            result.python,
            _counts(result),
            _probe(result),
            f"{result.setup_seconds:.0f} s",
            f"{result.suite_seconds:.0f} s",
        ]
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    return "\n".join(lines) + "\n"
