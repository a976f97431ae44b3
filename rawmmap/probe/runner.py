"""The runner: one temporary directory, each check in turn, a row per check.

A check never takes the probe down: ``CheckSkipped`` becomes a skipped
row with the reason, any other exception a ``differs`` row with the
exception as the observation (the kernel answered in a way the check did
not expect).
"""

from __future__ import annotations

import contextlib
import datetime
import tempfile
import time
from collections.abc import Iterator, Sequence

from rawmmap.probe.machine import platform_info
from rawmmap.probe.registry import CHECKS, DIFFERS, SKIPPED, CheckSkipped, Outcome, ProbeContext
from rawmmap.probe.report import CheckResult, Report

__all__ = ["probe_context", "run_check", "run_probe"]


@contextlib.contextmanager
def probe_context() -> Iterator[ProbeContext]:
    """Make the temporary directory the checks work in; remove it on exit."""
    with tempfile.TemporaryDirectory(prefix="rawmmap-probe-") as directory:
        yield ProbeContext(directory, platform_info())


def run_check(name: str, context: ProbeContext) -> CheckResult:
    """Run one check by name and return its row.

    Raises:
        KeyError: no check has this name.
    """
    check = CHECKS[name]
    start = time.perf_counter()
    try:
        outcome = check.function(context)
    except CheckSkipped as skipped:
        outcome = Outcome(skipped.expected, "", SKIPPED, skipped.reason)
    except Exception as error:  # any failure is an observation
        outcome = Outcome(
            "",
            f"{type(error).__name__}: {error}",
            DIFFERS,
            reason="the check raised an unexpected exception",
        )
    seconds = time.perf_counter() - start
    return CheckResult(
        name=check.name,
        title=check.title,
        source=check.source,
        informational=check.informational,
        expected=outcome.expected,
        observed=outcome.observed,
        verdict=outcome.verdict,
        reason=outcome.reason,
        details=dict(outcome.details),
        seconds=seconds,
        section=check.section,
    )


def run_probe(names: Sequence[str] | None = None) -> Report:
    """Run the named checks (default: all, in order) and return the report.

    Raises:
        KeyError: a name is not a check.
    """
    selected = list(CHECKS) if names is None else list(names)
    for name in selected:
        if name not in CHECKS:
            raise KeyError(name)
    created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    start = time.perf_counter()
    with probe_context() as context:
        results = tuple(run_check(name, context) for name in selected)
        info = context.platform
    return Report(info, results, created, time.perf_counter() - start)
