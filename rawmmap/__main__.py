"""The command line: ``python -m rawmmap probe``.

``probe`` runs the kernel-behaviour checks of ``rawmmap.probe`` and prints
a table; ``--json [FILE]`` writes the JSON report (to stdout without FILE,
and then no table), ``--only NAME`` (repeatable) runs some checks,
``--list`` names them, ``--compare A.json B.json`` prints where two reports
differ.

Exit status: 0 when nothing differs; 1 when a check (that is not
informational) differs from what this platform is documented to do, or,
with ``--compare``, when the two reports differ in a check; 2 on a usage
error or an unreadable report.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import List, Optional, Sequence

from rawmmap import probe

__all__ = ["main"]

_USAGE_ERROR = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rawmmap",
        description="rawmmap: the POSIX memory-mapping calls from pure Python.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    probe_parser = commands.add_parser(
        "probe",
        help="report what this kernel and libc do with memory mappings",
        description=(
            "Run the kernel-behaviour checks and report, for each, the expected "
            "behaviour (POSIX or the man page), the observed one and a verdict. "
            "Exit status 1 when a check differs from what this platform is "
            "documented to do."
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
    probe_parser.add_argument(
        "--compare",
        nargs=2,
        metavar=("A.json", "B.json"),
        help="print where two JSON reports differ (exit 1 when a check differs)",
    )
    return parser


def _compare(paths: Sequence[str], names: Optional[List[str]]) -> int:
    try:
        first = probe.load_report(paths[0])
        second = probe.load_report(paths[1])
    except (OSError, probe.ReportError) as error:
        print(f"python -m rawmmap probe: {error}", file=sys.stderr)
        return _USAGE_ERROR
    comparison = probe.compare_reports(first, second, names)
    print(probe.format_comparison(first, second, comparison, (paths[0], paths[1])))
    return 1 if comparison.differs else 0


def _probe(arguments: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if arguments.list:
        print(probe.list_checks())
        return 0
    names: Optional[List[str]] = arguments.only
    if names:
        unknown = [name for name in names if name not in probe.CHECKS]
        if unknown:
            parser.error(f"no check named {', '.join(unknown)} (known: {', '.join(probe.CHECKS)})")
    if arguments.compare:
        return _compare(arguments.compare, names)
    report = probe.run_probe(names)
    if arguments.json == "-":
        json.dump(report.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        if arguments.json:
            with open(arguments.json, "w", encoding="utf-8") as file:
                json.dump(report.to_json(), file, indent=2)
                file.write("\n")
        print(probe.format_table(report))
    return probe.exit_status(report)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line with ``argv`` (default: sys.argv) and return the exit status."""
    parser = _parser()
    arguments = parser.parse_args(argv)
    if arguments.command == "probe":
        return _probe(arguments, parser)
    parser.print_help(sys.stderr)
    return _USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main())
