"""Renderers: a report, a comparison and a matrix as terminal text, Markdown or HTML.

Terminal tables fit the terminal's width (80 columns at least): the free
width is shared by the text columns, which wrap. The HTML page is
self-contained (inline CSS, no script): a colour per verdict, the observed
text of each cell on hover (``title``) and, for each check, the expected
text and citation in a ``details`` element.
"""

from __future__ import annotations

import html
import shutil
import textwrap
from collections.abc import Sequence

from rawmmap.probe.machine import PlatformInfo
from rawmmap.probe.registry import CHECKS, DIFFERS, PASS, SKIPPED
from rawmmap.probe.report import (
    EMULATED,
    INFORMATIONAL,
    SAME,
    CheckResult,
    Comparison,
    Matrix,
    Report,
)

__all__ = [
    "format_comparison",
    "format_matrix",
    "format_table",
    "list_checks",
    "matrix_html",
    "matrix_markdown",
    "platform_facts",
    "terminal_width",
]


def terminal_width() -> int:
    """Return the width to lay tables out in: the terminal's, at least 80."""
    return max(80, shutil.get_terminal_size((120, 24)).columns)


#: The facts schema version 1 reports do not have.
_V2_FACTS = ("virtual machine", "THP", "overcommit", "RLIMIT_MEMLOCK", "pku", "user")


def platform_facts(info: PlatformInfo, schema_version: int = 2) -> list[tuple[str, str]]:
    """Return the machine facts of a report header as (label, text) pairs.

    A version 1 report has no machine facts: they show as "-".
    """
    facts = [
        ("kernel", info.kernel_text),
        ("architecture", f"{info.architecture} ({info.pointer_bits}-bit)"),
        ("page size", str(info.page_size)),
        ("libc", info.libc_text),
        ("Python", info.python_text),
        ("virtual machine", info.virtual_machine or "no (or not detected)"),
        ("THP", info.thp_mode or "unknown"),
        ("overcommit", info.overcommit_memory or "unknown"),
        ("RLIMIT_MEMLOCK", info.memlock_limit or "unknown"),
        ("pku", "yes" if info.pku else "no"),
        ("user", "root" if info.root else "unprivileged"),
    ]
    if schema_version < 2:
        return [(label, "-" if label in _V2_FACTS else text) for label, text in facts]
    return facts


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width, break_on_hyphens=False) or [""]


def _table(headings: Sequence[str], rows: Sequence[Sequence[str]], width: int) -> list[str]:
    """Lay out rows in columns; the last two columns share the free width, wrapped."""
    fixed = [
        max([len(headings[i])] + [len(row[i]) for row in rows]) for i in range(len(headings) - 2)
    ]
    free = width - sum(fixed) - 2 * (len(headings) - 1)
    # The last column takes what it needs, up to half; the other one the rest.
    longest = max([len(headings[-1])] + [len(row[-1]) for row in rows])
    right = max(12, min(longest, free // 2))
    longest = max([len(headings[-2])] + [len(row[-2]) for row in rows])
    left = max(12, min(longest, free - right))
    widths = [*fixed, left, right]
    lines = []

    def emit(cells: Sequence[str]) -> None:
        wrapped = [_wrap(cell, widths[i]) for i, cell in enumerate(cells)]
        for index in range(max(len(column) for column in wrapped)):
            parts = [
                (column[index] if index < len(column) else "").ljust(widths[i])
                for i, column in enumerate(wrapped)
            ]
            lines.append("  ".join(parts).rstrip())

    emit(headings)
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        emit(row)
    return lines


def _facts_lines(info: PlatformInfo, width: int) -> list[str]:
    lines = []
    for label, text in platform_facts(info):
        for index, part in enumerate(_wrap(text, width - 17)):
            lines.append(f"{label if index == 0 else '':<15}  {part}")
    return lines


def format_table(report: Report, width: int | None = None) -> str:
    """Render a report as a header of machine facts and a table for a terminal."""
    width = width or terminal_width()
    lines = [f"rawmmap {report.rawmmap_version} kernel-behaviour probe", ""]
    lines += _facts_lines(report.platform, width)
    lines.append("")
    rows = []
    for result in report.results:
        name = result.name + (" (i)" if result.informational else "")
        if result.verdict != SKIPPED and result.observed == result.expected:
            observed = "as expected"
        else:
            observed = result.shown
        rows.append((name, result.verdict, result.expected, observed))
    lines += _table(("check", "verdict", "expected", "observed"), rows, width)
    counts = report.summary()
    lines.append("")
    lines.append(
        f"{len(report.results)} checks in {report.seconds:.1f} s: {counts[PASS]} pass, "
        f"{counts[DIFFERS]} differ, {counts[SKIPPED]} skipped"
    )
    if any(result.informational for result in report.results):
        lines.append("(i) informational: does not change the exit status")
    return "\n".join(lines)


def list_checks(width: int | None = None) -> str:
    """Return one entry per check, its name then its title, wrapped to ``width``."""
    width = width or terminal_width()
    names = max(len(name) for name in CHECKS)
    # Long names would leave the title no room: then it goes on the next lines.
    indent = names + 2 if width - names - 2 >= 30 else 4
    lines = []
    for check in CHECKS.values():
        title = check.title + (" (informational)" if check.informational else "")
        wrapped = _wrap(title, width - indent)
        if indent == 4:
            lines.append(check.name)
            lines += [" " * indent + part for part in wrapped]
        else:
            lines.append(f"{check.name:<{names}}  {wrapped[0]}")
            lines += [" " * indent + part for part in wrapped[1:]]
    return "\n".join(lines)


def _describe_platform(info: PlatformInfo) -> str:
    return (
        f"{info.kernel_text} {info.architecture}, {info.libc_text}, page {info.page_size}, "
        f"{info.python_text}"
    )


def format_comparison(
    first: Report,
    second: Report,
    comparison: Comparison,
    labels: tuple[str, str] = ("A", "B"),
    width: int | None = None,
) -> str:
    """Render a comparison: the two platforms, then the checks that differ."""
    width = width or terminal_width()
    lines = []
    for letter, label, report in (("A", labels[0], first), ("B", labels[1], second)):
        text = f"{letter}: {label}: {_describe_platform(report.platform)}"
        lines += textwrap.wrap(text, width, subsequent_indent="   ", break_on_hyphens=False)
    lines.append("")

    def cell(result: CheckResult | None) -> str:
        if result is None:
            return "(not in this report)"
        return f"{result.verdict}: {result.shown}"

    if comparison.platform:
        lines += _table(("platform", "A", "B"), comparison.platform, width)
        lines.append("")
    if comparison.checks:
        rows = [(name, cell(one), cell(other)) for name, one, other in comparison.checks]
        lines += _table(("check", "A", "B"), rows, width)
        lines.append("")
        lines.append(f"{len(comparison.checks)} checks differ")
    else:
        lines.append("no check differs")
    return "\n".join(lines)


# ------------------------------------------------------------------ matrix

_SHORT = {PASS: "pass", DIFFERS: "DIFF", SKIPPED: "skip"}
_MARKS = {SAME: "", DIFFERS: "*", EMULATED: "e", INFORMATIONAL: "i"}
_LEGEND = (
    "* differs between kernels; e differs only where an emulator answered; "
    "i informational (never a difference); skipped rows and missing checks "
    "(-) are not differences"
)


def _versions(matrix: Matrix) -> tuple[int, ...]:
    return matrix.versions or (2,) * len(matrix.labels)


_EMULATION_NOTE = (
    "A qemu-user or gVisor column holds the emulator's answers, not a kernel's: "
    "checks whose call the emulator answers itself are skipped there, saying so, "
    "and a difference only such a column shows is marked e, never *."
)


def _short(cell: CheckResult | None) -> str:
    return "-" if cell is None else _SHORT[cell.verdict]


def _summary_line(matrix: Matrix) -> str:
    return (
        f"{len(matrix.rows)} checks, {len(matrix.labels)} reports: "
        f"{matrix.count(DIFFERS)} differ between kernels, "
        f"{matrix.count(EMULATED)} only under emulation"
    )


def format_matrix(matrix: Matrix, width: int | None = None) -> str:
    """Render a matrix for a terminal: the platforms, a verdict grid, then the differences."""
    width = width or terminal_width()
    lines = []
    for number, (label, info) in enumerate(zip(matrix.labels, matrix.platforms), 1):
        text = f"{number}: {label}: {_describe_platform(info)}"
        lines += textwrap.wrap(text, width, subsequent_indent="   ", break_on_hyphens=False)
    lines.append("")
    columns = [str(number) for number in range(1, len(matrix.labels) + 1)]
    cell_width = 4
    name_width = min(
        max(len(row.name) for row in matrix.rows),
        max(12, width - 5 - len(columns) * (cell_width + 1)),
    )
    header = f"{'check':<{name_width}}    " + " ".join(f"{c:<{cell_width}}" for c in columns)
    lines.append(header.rstrip())
    lines.append("-" * min(width, len(header)))
    for row in matrix.rows:
        name = row.name if len(row.name) <= name_width else row.name[: name_width - 1] + "~"
        cells = " ".join(f"{_short(cell):<{cell_width}}" for cell in row.cells)
        lines.append(f"{name:<{name_width}}  {_MARKS[row.mark] or ' '} {cells}".rstrip())
    lines.append("")
    lines += textwrap.wrap(_LEGEND, width)
    different = [row for row in matrix.rows if row.mark in (DIFFERS, EMULATED)]
    if different:
        lines.append("")
        lines.append("Where they differ:")
    for row in different:
        lines.append("")
        lines.append(f"{row.name} ({row.mark}): expected {row.expected}")
        for number, cell in enumerate(row.cells, 1):
            text = "(not in this report)" if cell is None else f"{cell.verdict}: {cell.shown}"
            lines += textwrap.wrap(
                f"  {number}: {text}", width, subsequent_indent="     ", break_on_hyphens=False
            )
    lines.append("")
    lines.append(_summary_line(matrix))
    return "\n".join(lines)


def _markdown_escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def matrix_markdown(matrix: Matrix) -> str:  # noqa: PLR0912 - one branch per cell kind
    """Render a matrix as Markdown: a facts table, the verdict grid, the differences."""
    columns = [f"{number}" for number in range(1, len(matrix.labels) + 1)]
    lines = ["# rawmmap probe matrix", "", _summary_line(matrix) + ".", ""]
    lines.append("| | " + " | ".join(columns) + " |")
    lines.append("|---|" + "---|" * len(columns))
    lines.append("| report | " + " | ".join(f"`{label}`" for label in matrix.labels) + " |")
    fact_rows: dict[str, list[str]] = {}
    for info, version in zip(matrix.platforms, _versions(matrix)):
        for label, text in platform_facts(info, version):
            fact_rows.setdefault(label, []).append(_markdown_escape(text))
    for label, texts in fact_rows.items():
        lines.append(f"| {label} | " + " | ".join(texts) + " |")
    lines += ["", "| check | | " + " | ".join(columns) + " |"]
    lines.append("|---|---|" + "---|" * len(columns))
    section = None
    for row in matrix.rows:
        if row.section != section:
            section = row.section
            lines.append(f"| **{section or 'other'}** | |" + " |" * len(columns))
        cells = []
        for cell in row.cells:
            text = _short(cell) if cell is None else cell.verdict
            if cell is not None and cell.verdict == DIFFERS:
                text = f"**differs**: {_markdown_escape(cell.observed)}"
            elif cell is not None and row.informational and cell.observed:
                text = f"{cell.verdict}: {_markdown_escape(cell.observed)}"
            cells.append(text)
        lines.append(f"| `{row.name}` | {_MARKS[row.mark]} | " + " | ".join(cells) + " |")
    lines += ["", _LEGEND + ".", ""]
    if any(info.emulation for info in matrix.platforms):
        lines += [_EMULATION_NOTE, ""]
    different = [row for row in matrix.rows if row.mark in (DIFFERS, EMULATED)]
    if different:
        lines += ["## Where they differ", ""]
    for row in different:
        lines.append(f"### `{row.name}` ({row.mark})")
        lines.append("")
        lines.append(f"Expected: {_markdown_escape(row.expected)}")
        lines.append("")
        for number, cell in enumerate(row.cells, 1):
            text = "(not in this report)" if cell is None else f"{cell.verdict}: {cell.shown}"
            lines.append(f"- {number}: {_markdown_escape(text)}")
        lines.append("")
    skipped = _skip_reasons(matrix)
    if skipped:
        lines += ["## Skipped, and why", ""]
    for name, reasons in skipped:
        lines.append(f"- `{name}`: " + "; ".join(_markdown_escape(text) for text in reasons))
    return "\n".join(lines).rstrip() + "\n"


def _skip_reasons(matrix: Matrix) -> list[tuple[str, list[str]]]:
    """Each skipped check with its reasons: "(1, 3) reason" per distinct reason."""
    found = []
    for row in matrix.rows:
        by_reason: dict[str, list[str]] = {}
        for number, cell in enumerate(row.cells, 1):
            if cell is not None and cell.verdict == SKIPPED:
                by_reason.setdefault(cell.reason, []).append(str(number))
        if by_reason:
            found.append(
                (
                    row.name,
                    [f"({', '.join(numbers)}) {text}" for text, numbers in by_reason.items()],
                )
            )
    return found


_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #1b1b1b; }
table { border-collapse: collapse; font-size: 13px; }
th, td { border: 1px solid #c8c8c8; padding: 3px 6px; vertical-align: top; text-align: left; }
th { background: #eef0f3; }
td.pass { background: #d9f2d9; }
td.differs { background: #f8c9c4; font-weight: bold; }
td.skipped { background: #eeeeee; color: #666; }
td.missing { background: #ffffff; color: #aaa; }
tr.section th { background: #dde3ea; font-size: 14px; }
td.mark { text-align: center; font-weight: bold; }
tr.differs td.name { border-left: 4px solid #c0392b; }
tr.emulated td.name { border-left: 4px solid #e6a23c; }
details { max-width: 34em; }
td.differs .why { max-width: 14em; overflow-wrap: anywhere; font-weight: normal; }
tr.head th { position: sticky; top: 0; z-index: 1; }
th .label { display: block; font-weight: normal; font-size: 11px; white-space: nowrap; }
td.name summary { white-space: nowrap; }
summary { cursor: pointer; font-family: monospace; }
.why { color: #444; font-size: 12px; }
.legend span { padding: 1px 6px; margin-right: 6px; }
"""


def _html_cell(cell: CheckResult | None) -> str:
    if cell is None:
        return '<td class="missing" title="not in this report">-</td>'
    hover = html.escape(f"{cell.verdict}: {cell.shown}" if cell.shown else cell.verdict)
    text = html.escape(cell.verdict)
    if cell.verdict == DIFFERS:
        text += f'<div class="why">{html.escape(cell.observed)}</div>'
    return f'<td class="{cell.verdict}" title="{hover}">{text}</td>'


def matrix_html(matrix: Matrix) -> str:
    """Render a matrix as a self-contained HTML page (inline CSS, no script)."""
    escape = html.escape
    count = len(matrix.labels)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>rawmmap probe matrix</title>",
        f"<style>{_CSS}</style></head><body>",
        "<h1>rawmmap probe matrix</h1>",
        f"<p>{escape(_summary_line(matrix))}. Hover a cell for the observed text; "
        "open a check for its expected text and citation.</p>",
        '<p class="legend"><span class="pass" style="background:#d9f2d9">pass</span>'
        '<span style="background:#f8c9c4">differs</span>'
        '<span style="background:#eeeeee">skipped</span> '
        f"{escape(_LEGEND)}.</p>",
        "<table>",
        "<tr><th></th>" + "".join(f"<th>{n}</th>" for n in range(1, count + 1)) + "</tr>",
        "<tr><th>report</th>"
        + "".join(f"<td><code>{escape(label)}</code></td>" for label in matrix.labels)
        + "</tr>",
    ]
    fact_rows: dict[str, list[str]] = {}
    for info, version in zip(matrix.platforms, _versions(matrix)):
        for label, text in platform_facts(info, version):
            fact_rows.setdefault(label, []).append(text)
    for label, texts in fact_rows.items():
        out.append(
            f"<tr><th>{escape(label)}</th>"
            + "".join(f"<td>{escape(text)}</td>" for text in texts)
            + "</tr>"
        )
    out += ["</table>", "<h2>Checks</h2>", "<table>"]
    # Each column says which report it is: the number and the report's name.
    out.append(
        '<tr class="head"><th>check</th><th></th>'
        + "".join(
            f'<th>{n}<span class="label">{escape(label)}</span></th>'
            for n, label in enumerate(matrix.labels, start=1)
        )
        + "</tr>"
    )
    section = None
    for row in matrix.rows:
        if row.section != section:
            section = row.section
            title = escape(section or "other")
            out.append(f'<tr class="section"><th colspan="{count + 2}">{title}</th></tr>')
        check = CHECKS.get(row.name)
        source = check.source if check is not None else ""
        if not source:
            source = next((cell.source for cell in row.cells if cell is not None), "")
        details = (
            f"<details><summary>{escape(row.name)}</summary>"
            f'<div class="why"><b>{escape(row.title)}</b><br>'
            f"expected: {escape(row.expected)}<br>source: {escape(source)}</div></details>"
        )
        out.append(
            f'<tr class="{row.mark}"><td class="name">{details}</td>'
            f'<td class="mark">{_MARKS[row.mark]}</td>'
            + "".join(_html_cell(cell) for cell in row.cells)
            + "</tr>"
        )
    out += ["</table>", "</body></html>", ""]
    return "\n".join(out)
