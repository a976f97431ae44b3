"""The report: its rows, the JSON schema (write and load), comparison and matrix.

Schema version 2 adds, to version 1, the machine facts of
``PlatformInfo`` after ``python_version`` and a ``section`` per check;
version 1 reports still load (the new fields take their defaults).

What counts as a difference, in ``--compare`` and ``--matrix`` alike: two
rows of one check differ when their verdicts differ or, both having run,
their observed texts differ. An informational check never differs, and
neither does a skipped row against any other (it only says the check did
not run there). In a matrix a check missing from a report does not count
either (older reports have fewer checks); ``--compare`` lists it. A
difference that only an emulated report (qemu-user, gVisor) shows is
marked ``emulated``: it is the emulator's answer, not a kernel's.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence

import rawmmap
from rawmmap.probe.machine import PlatformInfo
from rawmmap.probe.registry import CHECKS, DIFFERS, SKIPPED, VERDICTS, JSONValue

__all__ = [
    "EMULATED",
    "INFORMATIONAL",
    "SAME",
    "SCHEMA",
    "SCHEMA_VERSION",
    "CheckResult",
    "Comparison",
    "Matrix",
    "MatrixRow",
    "Report",
    "ReportError",
    "build_matrix",
    "compare_reports",
    "exit_status",
    "load_report",
    "rows_differ",
]

#: The ``schema`` field of a JSON report.
SCHEMA = "rawmmap-probe"
#: The ``schema_version`` field; bumped when fields are added or changed.
SCHEMA_VERSION = 2

_V1_STRINGS = (
    "os",
    "kernel_release",
    "architecture",
    "libc",
    "libc_version",
    "python_implementation",
    "python_version",
)
_V2_STRINGS = (
    "kernel_architecture",
    "emulation",
    "virtual_machine",
    "thp_mode",
    "overcommit_memory",
    "memlock_limit",
)
_V2_BOOLS = ("free_threaded", "pku", "root")


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
    details: dict[str, JSONValue]
    seconds: float
    section: str = ""

    def to_json(self) -> dict[str, JSONValue]:
        """Return the row as the JSON schema has it."""
        return {
            "name": self.name,
            "section": self.section,
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

    @property
    def shown(self) -> str:
        """What a table shows: the reason when skipped, else the observed text."""
        return self.reason if self.verdict == SKIPPED else self.observed


@dataclasses.dataclass(frozen=True)
class Report:
    """A whole run: the platform, the rows, and when and how long."""

    platform: PlatformInfo
    results: tuple[CheckResult, ...]
    created: str = ""
    seconds: float = 0.0
    rawmmap_version: str = rawmmap.__version__
    #: The schema version it was read from (version 1 lacks the machine facts).
    schema_version: int = SCHEMA_VERSION

    def summary(self) -> dict[str, int]:
        """Count the rows per verdict."""
        counts = dict.fromkeys(VERDICTS, 0)
        for result in self.results:
            counts[result.verdict] = counts.get(result.verdict, 0) + 1
        return counts

    def to_json(self) -> dict[str, JSONValue]:
        """Return the report as the JSON schema has it."""
        platform_fields: dict[str, JSONValue] = dict(dataclasses.asdict(self.platform))
        summary: dict[str, JSONValue] = dict(self.summary())
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


def exit_status(report: Report) -> int:
    """Return 1 when a check that is not informational differs, else 0."""
    for result in report.results:
        if result.verdict == DIFFERS and not result.informational:
            return 1
    return 0


class ReportError(ValueError):
    """A JSON report that does not follow the schema."""


def _field(data: Mapping[str, object], key: str, kind: type, where: str) -> object:
    value = data.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ReportError(f"{where}: {key!r} must be {kind.__name__}, not {value!r}")
    return value


def _json_details(value: object) -> dict[str, JSONValue]:
    if not isinstance(value, dict):
        return {}
    # Loaded from JSON, so every value is already a JSON value.
    return {str(key): item for key, item in value.items()}


def _load_platform(info: Mapping[str, object], where: str) -> PlatformInfo:
    strings = {key: str(_field(info, key, str, where)) for key in _V1_STRINGS}
    numbers = {
        key: int(str(_field(info, key, int, where))) for key in ("page_size", "pointer_bits")
    }
    extra_strings = {key: str(info.get(key, "") or "") for key in _V2_STRINGS}
    extra_bools = {key: info.get(key) is True for key in _V2_BOOLS}
    return PlatformInfo(
        os=strings["os"],
        kernel_release=strings["kernel_release"],
        architecture=strings["architecture"],
        libc=strings["libc"],
        libc_version=strings["libc_version"],
        page_size=numbers["page_size"],
        pointer_bits=numbers["pointer_bits"],
        python_implementation=strings["python_implementation"],
        python_version=strings["python_version"],
        kernel_architecture=extra_strings["kernel_architecture"],
        emulation=extra_strings["emulation"],
        virtual_machine=extra_strings["virtual_machine"],
        free_threaded=extra_bools["free_threaded"],
        thp_mode=extra_strings["thp_mode"],
        overcommit_memory=extra_strings["overcommit_memory"],
        memlock_limit=extra_strings["memlock_limit"],
        pku=extra_bools["pku"],
        root=extra_bools["root"],
    )


def _load_row(row: object, where: str) -> CheckResult:
    if not isinstance(row, dict):
        raise ReportError(f"{where} must be an object")
    verdict = str(_field(row, "verdict", str, where))
    if verdict not in VERDICTS:
        raise ReportError(f"{where}: unknown verdict {verdict!r}")
    seconds = row.get("seconds", 0.0)
    return CheckResult(
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
        section=str(row.get("section", "") or ""),
    )


def load_report(path: str) -> Report:
    """Read a JSON report written by ``--json`` (schema version 1 or 2).

    Raises:
        OSError: the file cannot be read.
        ReportError: it is not JSON (or not UTF-8), not a rawmmap-probe
            report, or of a newer schema version.
    """
    try:
        with open(path, encoding="utf-8") as file:
            data: object = json.load(file)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
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
    platform_fields = _load_platform(info, f"{path}: platform")
    checks = _field(data, "checks", list, path)
    assert isinstance(checks, list)
    results = [_load_row(row, f"{path}: checks[{index}]") for index, row in enumerate(checks)]
    total = data.get("seconds", 0.0)
    return Report(
        platform=platform_fields,
        results=tuple(results),
        created=str(data.get("created", "")),
        seconds=float(total) if isinstance(total, (int, float)) else 0.0,
        rawmmap_version=str(data.get("rawmmap_version", "")),
        schema_version=version,
    )


def rows_differ(first: CheckResult, second: CheckResult) -> bool:
    """Tell whether two rows of one check differ (see the module docstring)."""
    if first.informational or second.informational:
        return False
    if SKIPPED in (first.verdict, second.verdict):
        return False
    return first.verdict != second.verdict or first.observed != second.observed


@dataclasses.dataclass(frozen=True)
class Comparison:
    """Where two reports differ: platform fields and check rows."""

    platform: tuple[tuple[str, str, str], ...]
    checks: tuple[tuple[str, CheckResult | None, CheckResult | None], ...]

    @property
    def differs(self) -> bool:
        """True when any check differs (platform fields do not count)."""
        return bool(self.checks)


def compare_reports(
    first: Report, second: Report, names: Sequence[str] | None = None
) -> Comparison:
    """Pair the checks of two reports by name and keep those that differ.

    A check differs as ``rows_differ`` says; a check present in one report
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
        if one is None or other is None or rows_differ(one, other):
            check_rows.append((name, one, other))
    return Comparison(tuple(platform_rows), tuple(check_rows))


#: A matrix row's mark: the same everywhere, differs between kernels,
#: differs only where an emulator answered, or informational.
SAME = "same"
EMULATED = "emulated"
INFORMATIONAL = "informational"


@dataclasses.dataclass(frozen=True)
class MatrixRow:
    """One check across the reports: a cell per report (None: not in it) and a mark."""

    name: str
    section: str
    title: str
    informational: bool
    cells: tuple[CheckResult | None, ...]
    mark: str

    @property
    def expected(self) -> str:
        """The expected text of the first report that has the check."""
        for cell in self.cells:
            if cell is not None and cell.expected:
                return cell.expected
        return ""


@dataclasses.dataclass(frozen=True)
class Matrix:
    """Many reports side by side: their labels and platforms, one row per check."""

    labels: tuple[str, ...]
    platforms: tuple[PlatformInfo, ...]
    rows: tuple[MatrixRow, ...]
    #: The schema version of each report.
    versions: tuple[int, ...] = ()

    @property
    def differs(self) -> bool:
        """True when a check differs between kernels (emulated differences do not count)."""
        return any(row.mark == DIFFERS for row in self.rows)

    def count(self, mark: str) -> int:
        """Count the rows with this mark."""
        return sum(1 for row in self.rows if row.mark == mark)


def _mark(cells: Sequence[CheckResult | None], platforms: Sequence[PlatformInfo]) -> str:
    present = [(cell, info) for cell, info in zip(cells, platforms) if cell is not None]
    if any(cell.informational for cell, _ in present):
        return INFORMATIONAL

    def any_difference(group: list[CheckResult]) -> bool:
        return any(rows_differ(one, other) for one in group for other in group)

    native = [cell for cell, info in present if not info.emulation]
    if any_difference(native):
        return DIFFERS
    if any_difference([cell for cell, _ in present]):
        return EMULATED
    return SAME


def build_matrix(reports: Sequence[tuple[str, Report]]) -> Matrix:
    """Put reports side by side: one row per check, one column per report.

    Rows follow the registry's order (sections together); checks this
    version does not know come last, in the order the reports have them.
    """
    seen: list[str] = []
    for _, report in reports:
        seen += [result.name for result in report.results if result.name not in seen]
    known = list(CHECKS)
    order = sorted(
        seen,
        key=lambda name: (
            (known.index(name), 0) if name in CHECKS else (len(known), seen.index(name))
        ),
    )
    by_name = [{result.name: result for result in report.results} for _, report in reports]
    platforms = tuple(report.platform for _, report in reports)
    rows = []
    for name in order:
        cells = tuple(table.get(name) for table in by_name)
        first = next(cell for cell in cells if cell is not None)
        registered = CHECKS.get(name)
        rows.append(
            MatrixRow(
                name=name,
                section=registered.section if registered is not None else first.section,
                title=first.title,
                informational=first.informational,
                cells=cells,
                mark=_mark(cells, platforms),
            )
        )
    labels = tuple(label for label, _ in reports)
    versions = tuple(report.schema_version for _, report in reports)
    return Matrix(labels, platforms, tuple(rows), versions)
