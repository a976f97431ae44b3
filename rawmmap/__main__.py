"""The command line: ``python -m rawmmap probe``.

``probe`` runs the kernel-behaviour checks of ``rawmmap.probe`` and prints
a table; ``--json [FILE]`` writes the JSON report (to stdout without FILE,
and then no table), ``--only NAME`` (repeatable) runs some checks,
``--list`` names them, ``--compare A.json B.json`` prints where two reports
differ, ``--matrix A.json B.json ...`` lines up many reports, as a terminal
table or, with ``--format markdown`` or ``--format html``, a document.

Exit status: 0 when nothing differs; 1 when a check (that is not
informational) differs from what this platform is documented to do, or,
with ``--compare``/``--matrix``, when the reports differ in a check; 2 on a
usage error (an unknown or repeated ``--only``, an unreadable or malformed
report, an unwritable ``--json`` file, a closed output pipe). User errors
are one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from rawmmap import probe

__all__ = ["UsageError", "main"]

_USAGE_ERROR = 2
_PROGRAM = "python -m rawmmap probe"


class UsageError(Exception):
    """A mistake of the user's: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse's own usage errors: one line and the usage, status 2.
        self.print_usage(sys.stderr)
        self.exit(_USAGE_ERROR, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m rawmmap",
        description="rawmmap: the POSIX memory-mapping calls from pure Python.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    probe_parser = commands.add_parser(
        "probe",
        help="report what this kernel and libc do with memory mappings",
        description=(
            "Run the kernel-behaviour checks and report, for each, the expected "
            "behaviour (POSIX or the man page), the observed one and a verdict. "
            "Exit status 1 when a check differs from what this platform is "
            "documented to do, 2 on a usage error."
        ),
    )
    probe_parser.add_argument(
        "--json",
        nargs="?",
        const="-",
        metavar="FILE",
        help="write the JSON report to FILE (and print the table), or to stdout "
        "without FILE (and print no table)",
    )
    probe_parser.add_argument(
        "--only",
        action="append",
        metavar="NAME",
        help="run only this check (repeatable; --list names them)",
    )
    probe_parser.add_argument("--list", action="store_true", help="list the checks and exit")
    reports = probe_parser.add_mutually_exclusive_group()
    reports.add_argument(
        "--compare",
        nargs=2,
        metavar=("A.json", "B.json"),
        help="print where two JSON reports differ (exit 1 when a check differs)",
    )
    reports.add_argument(
        "--matrix",
        nargs="+",
        metavar="REPORT.json",
        help="line up JSON reports: one row per check, one column per report",
    )
    probe_parser.add_argument(
        "--format",
        choices=("text", "markdown", "html"),
        default="text",
        help="output format of --matrix (default: text)",
    )
    return parser


def _load(path: str) -> probe.Report:
    try:
        return probe.load_report(path)
    except probe.ReportError as error:
        raise UsageError(str(error)) from error
    except OSError as error:
        raise UsageError(f"{path}: cannot read the report ({error.strerror or error})") from error


def _compare(paths: Sequence[str], names: list[str] | None) -> int:
    first, second = _load(paths[0]), _load(paths[1])
    comparison = probe.compare_reports(first, second, names)
    print(probe.format_comparison(first, second, comparison, (paths[0], paths[1])))
    return 1 if comparison.differs else 0


def _label(path: str) -> str:
    name = os.path.basename(path)
    return name[: -len(".json")] if name.endswith(".json") else name


def _matrix(paths: Sequence[str], output_format: str) -> int:
    reports = [(_label(path), _load(path)) for path in paths]
    matrix = probe.build_matrix(reports)
    if output_format == "markdown":
        sys.stdout.write(probe.matrix_markdown(matrix))
    elif output_format == "html":
        sys.stdout.write(probe.matrix_html(matrix))
    else:
        print(probe.format_matrix(matrix))
    return 1 if matrix.differs else 0


def _check_names(names: list[str] | None) -> None:
    if not names:
        return
    unknown = [name for name in names if name not in probe.CHECKS]
    if unknown:
        raise UsageError(f"no check named {', '.join(unknown)} (--list names them)")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise UsageError(f"--only names {', '.join(repeated)} more than once")


def _write_json(report: probe.Report, path: str) -> None:
    text = json.dumps(report.to_json(), indent=2) + "\n"
    if path == "-":
        sys.stdout.write(text)
        return
    try:
        with open(path, "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as error:
        raise UsageError(f"{path}: cannot write the report ({error.strerror or error})") from error


def _probe(arguments: argparse.Namespace) -> int:
    names: list[str] | None = arguments.only
    _check_names(names)
    if arguments.format != "text" and not arguments.matrix:
        raise UsageError("--format applies to --matrix only")
    if arguments.list:
        print(probe.list_checks())
        return 0
    if arguments.compare:
        return _compare(arguments.compare, names)
    if arguments.matrix:
        return _matrix(arguments.matrix, arguments.format)
    if arguments.json and arguments.json != "-":
        # Fail before the run, not after it: is the file writable? (An
        # empty file made by this test is removed again.)
        existed = os.path.exists(arguments.json)
        try:
            with open(arguments.json, "a", encoding="utf-8"):
                pass
            if not existed:
                os.unlink(arguments.json)
        except OSError as error:
            raise UsageError(
                f"{arguments.json}: cannot write the report ({error.strerror or error})"
            ) from error
    report = probe.run_probe(names)
    if arguments.json:
        _write_json(report, arguments.json)
    if arguments.json != "-":
        print(probe.format_table(report))
    return probe.exit_status(report)


def _quiet_broken_pipe() -> None:
    # The reader went away (`probe | head`): say nothing more, and make the
    # interpreter's final flush of stdout write to /dev/null instead.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # pragma: no cover - stdout without a descriptor
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default: sys.argv) and return the exit status."""
    parser = _parser()
    arguments = parser.parse_args(argv)
    if arguments.command != "probe":
        parser.print_help(sys.stderr)
        return _USAGE_ERROR
    try:
        status = _probe(arguments)
        sys.stdout.flush()
    except UsageError as error:
        print(f"{_PROGRAM}: {error}", file=sys.stderr)
        return _USAGE_ERROR
    except BrokenPipeError:
        _quiet_broken_pipe()
        print(f"{_PROGRAM}: the output was closed before the end (broken pipe)", file=sys.stderr)
        return _USAGE_ERROR
    return status


if __name__ == "__main__":
    sys.exit(main())
