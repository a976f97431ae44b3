#!/usr/bin/env python3
"""Run rawmmap's test suite and probe on foreign CPU architectures, and tabulate.

For each architecture this runs, one after the other (the machine is
shared; a run per arch at a time), from the project root::

    CROSSARCH/run.sh ARCH -m pytest -q -p no:cacheprovider -rfEs tests
    CROSSARCH/run.sh ARCH -m rawmmap probe --json      # when rawmmap/probe.py exists

``run.sh`` (see its README) runs Debian bookworm's CPython 3.11 built for
ARCH: i386 natively (the kernel's IA32 emulation, under ``setarch i686``),
the others under qemu-user. The first run of an arch downloads its
interpreter (12-17 s). ``RAWMMAP_UNDER_QEMU=1`` is set under qemu-user (and
removed for native runs), for ``tests/emulation.py``.

Then it prints one row per platform: machine, pointer bits and byte order,
how it was run, pytest's passed/skipped/failed counts, and the probe's
verdicts. ``--markdown`` prints the table for the README, ``--json FILE``
saves everything, ``-v`` adds the failed tests and the qemu-related skips.

Where run.sh lives: ``--crossarch DIR``, else ``$RAWMMAP_CROSSARCH``, else
``../shared/crossarch`` next to the project root.

Exit status: 0 when every run passed, 1 when a test failed or a run broke,
2 on a usage error. Python 3.9+ and the stdlib only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parent.parent

#: Architectures in the order they run; run.sh's names.
ARCHES = ["i386", "arm64", "armhf", "ppc64el", "s390x", "mips64el", "mipsel"]

#: run.sh arch -> qemu-user target (None: runs natively).
_QEMU_TARGET: Dict[str, Optional[str]] = {
    "i386": None,
    "arm64": "aarch64",
    "armhf": "arm",
    "armel": "arm",
    "ppc64el": "ppc64le",
    "s390x": "s390x",
    "mips64el": "mips64el",
    "mipsel": "mipsel",
}

_COUNT = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed|deselected)\b")
_PLATFORM_LINE = re.compile(r"^(\S+) (\S+) (\d+) bit (little|big)$")


@dataclass
class Result:
    """What one platform's runs found."""

    arch: str
    machine: str = "?"
    pointer_bits: int = 0
    byte_order: str = "?"
    python: str = "?"
    how: str = "?"
    counts: Dict[str, int] = field(default_factory=dict)
    pytest_status: Optional[int] = None
    pytest_seconds: float = 0.0
    problem: str = ""
    failures: List[str] = field(default_factory=list)
    qemu_skips: List[str] = field(default_factory=list)
    probe: str = "absent"
    probe_summary: Dict[str, int] = field(default_factory=dict)
    probe_differs: List[str] = field(default_factory=list)
    probe_informational: List[str] = field(default_factory=list)

    @property
    def broken(self) -> bool:
        """A test failed, pytest errored, or the run did not finish."""
        return bool(
            self.problem
            or self.counts.get("failed")
            or self.counts.get("error")
            or self.counts.get("errors")
            or self.pytest_status not in (0, 5)
        )


def _default_crossarch() -> Path:
    configured = os.environ.get("RAWMMAP_CROSSARCH")
    if configured:
        return Path(configured)
    return ROOT.parent / "shared" / "crossarch"


def _qemu_version(target: str) -> str:
    cache = Path(os.environ.get("CROSSARCH_CACHE", "/tmp/crossarch"))
    binary = cache / "qemu" / f"qemu-{target}-static"
    try:
        first = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout.splitlines()
    except OSError:
        return ""
    match = re.search(r"version (\S+)", first[0]) if first else None
    return match.group(1) if match else ""


def _run(
    command: Sequence[str], environment: Dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command),
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _parse_pytest(result: Result, output: str) -> None:
    lines = output.splitlines()
    summary = next((line for line in reversed(lines) if _COUNT.search(line) and " in " in line), "")
    for number, word in _COUNT.findall(summary):
        result.counts["error" if word == "errors" else word] = int(number)
    for line in lines:
        if line.startswith(("FAILED ", "ERROR ")):
            result.failures.append(line)
        elif line.startswith("SKIPPED ") and "qemu" in line:
            result.qemu_skips.append(line)
    if not summary:
        # A collection or import error: keep pytest's own first error line.
        detail = next((line for line in lines if line.startswith("E ")), "")
        result.problem = (detail or (lines[-1] if lines else "no output"))[:200]


def _parse_probe(result: Result, output: str) -> None:
    try:
        report = json.loads(output)
    except ValueError:
        result.probe = "no JSON"
        return
    checks = report.get("checks", []) if isinstance(report, dict) else []
    summary = report.get("summary") if isinstance(report, dict) else None
    if not isinstance(summary, dict):
        summary = {}
        for check in checks:
            verdict = str(check.get("verdict", "?"))
            summary[verdict] = summary.get(verdict, 0) + 1
    result.probe_summary = {str(key): int(value) for key, value in summary.items()}
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
    result.probe = " ".join(f"{key} {value}" for key, value in result.probe_summary.items())


def run_platform(
    arch: str, run_sh: Optional[Path], pytest_args: Sequence[str], probe: bool, timeout: float
) -> Result:
    """Run the suite (and the probe) for ``arch``; ``run_sh`` None means this host."""
    result = Result(arch)
    environment = dict(os.environ)
    if run_sh is None:
        prefix = [sys.executable]
        target = None
        result.how = "native (host)"
    else:
        prefix = [str(run_sh), arch]
        target = _QEMU_TARGET.get(arch)
        if target is None:
            result.how = "native (setarch i686)" if arch == "i386" else "native"
        else:
            version = _qemu_version(target)
            result.how = f"qemu-user {version}".strip()
    # Set only under qemu: native runs leave detection to tests/emulation.py.
    environment.pop("RAWMMAP_UNDER_QEMU", None)
    if target:
        environment["RAWMMAP_UNDER_QEMU"] = "1"

    try:
        about = _run(
            [
                *prefix,
                "-c",
                "import platform, struct, sys; print(sys.version.split()[0], "
                "platform.machine(), 8 * struct.calcsize('P'), 'bit', sys.byteorder)",
            ],
            environment,
            timeout,
        )
    except subprocess.TimeoutExpired:
        result.problem = f"interpreter did not start within {timeout:.0f} s"
        return result
    match = _PLATFORM_LINE.match(about.stdout.strip().splitlines()[-1] if about.stdout else "")
    if not match:
        result.problem = (about.stderr.strip().splitlines() or ["interpreter did not start"])[-1]
        return result
    result.python, result.machine = match.group(1), match.group(2)
    result.pointer_bits, result.byte_order = int(match.group(3)), match.group(4)

    started = time.monotonic()
    try:
        tests = _run(
            [*prefix, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfEs", *pytest_args],
            environment,
            timeout,
        )
    except subprocess.TimeoutExpired:
        result.problem = f"pytest did not finish within {timeout:.0f} s"
        return result
    result.pytest_seconds = round(time.monotonic() - started, 1)
    result.pytest_status = tests.returncode
    _parse_pytest(result, tests.stdout + tests.stderr)

    if probe and (ROOT / "rawmmap" / "probe.py").exists():
        try:
            report = _run([*prefix, "-m", "rawmmap", "probe", "--json"], environment, timeout)
        except subprocess.TimeoutExpired:
            result.probe = "timed out"
        else:
            # Exit status 1 means a check differs: the JSON still says which.
            if report.returncode in (0, 1):
                _parse_probe(result, report.stdout)
            else:
                last = (report.stderr.strip().splitlines() or ["?"])[-1]
                result.probe = f"error: {last[:80]}"
    return result


def _cells(result: Result) -> List[str]:
    if result.problem and not result.counts:
        tests = f"not run: {result.problem}"
    else:
        tests = "{}/{}/{}".format(
            result.counts.get("passed", 0),
            result.counts.get("skipped", 0),
            result.counts.get("failed", 0) + result.counts.get("error", 0),
        )
    platform = f"{result.arch} ({result.machine}, {result.pointer_bits}-bit {result.byte_order})"
    probe = result.probe
    if result.probe_differs:
        probe += " [differs: " + ", ".join(result.probe_differs) + "]"
    if result.probe_informational:
        probe += " [informational: " + ", ".join(result.probe_informational) + "]"
    return [platform, result.how, tests, probe]


_HEADERS = ["platform", "how run", "passed/skipped/failed", "probe verdicts"]


def format_table(results: Sequence[Result], markdown: bool) -> str:
    """Return the results as an aligned text table or a Markdown table."""
    rows = [_cells(result) for result in results]
    if markdown:
        lines = ["| " + " | ".join(_HEADERS) + " |", "|" + "---|" * len(_HEADERS)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(row[index]) for row in [_HEADERS, *rows]) for index in range(len(_HEADERS))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
        for row in [_HEADERS, ["-" * width for width in widths], *rows]
    )


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Parse the command line, run every platform in turn, print the table."""
    parser = argparse.ArgumentParser(
        prog="tools/crossarch.py",
        description="Run rawmmap's tests and probe on foreign architectures "
        "(i386 natively, the others under qemu-user) and tabulate the results.",
    )
    parser.add_argument(
        "arches",
        nargs="*",
        metavar="ARCH",
        help=f"architectures to run (default: {' '.join(ARCHES)}); 'host' is this machine",
    )
    parser.add_argument(
        "--crossarch",
        type=Path,
        default=None,
        help="directory holding run.sh (default: $RAWMMAP_CROSSARCH, else ../shared/crossarch)",
    )
    parser.add_argument("--no-host", action="store_true", help="do not run on this host first")
    parser.add_argument("--no-probe", action="store_true", help="do not run the probe")
    parser.add_argument(
        "--pytest-args",
        default="tests",
        help="arguments for pytest, one string (default: 'tests')",
    )
    parser.add_argument(
        "--timeout", type=float, default=1800, help="seconds per run (default 1800)"
    )
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the results here")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="list failed tests and qemu-related skips"
    )
    options = parser.parse_args(argv)

    crossarch = options.crossarch or _default_crossarch()
    run_sh = crossarch / "run.sh"
    arches = options.arches or (([] if options.no_host else ["host"]) + ARCHES)
    unknown = [arch for arch in arches if arch != "host" and arch not in _QEMU_TARGET]
    if unknown:
        parser.error(f"unknown architecture(s): {' '.join(unknown)}")
    if any(arch != "host" for arch in arches) and not run_sh.is_file():
        parser.error(f"{run_sh} not found: pass --crossarch DIR or set RAWMMAP_CROSSARCH")

    results = []
    for arch in arches:
        print(f"crossarch: {arch} ...", file=sys.stderr, flush=True)
        result = run_platform(
            arch if arch != "host" else os.uname().machine,
            None if arch == "host" else run_sh,
            options.pytest_args.split(),
            not options.no_probe,
            options.timeout,
        )
        results.append(result)
        print(f"crossarch: {arch}: {' | '.join(_cells(result)[1:])}", file=sys.stderr, flush=True)

    print(format_table(results, options.markdown))
    if options.verbose:
        for result in results:
            for line in result.failures + result.qemu_skips:
                print(f"{result.arch}: {line}")
            if result.problem:
                print(f"{result.arch}: {result.problem}")
    if options.json:
        options.json.write_text(
            json.dumps([asdict(result) for result in results], indent=2) + "\n", encoding="utf-8"
        )
    return 1 if any(result.broken for result in results) else 0


if __name__ == "__main__":
    sys.exit(main())
