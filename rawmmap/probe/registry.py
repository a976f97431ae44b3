"""The check registry: what a check is, how it is declared, what it may use.

Adding a check is one decorated function in the module of its section::

    @check("msync-unaligned")
    def check_msync_unaligned(context: ProbeContext) -> Outcome:
        \"\"\"msync at an address that is not page aligned fails with EINVAL.

        Source: POSIX.1-2017 msync(): "[EINVAL] The addr argument is not a
        multiple of the page size".
        \"\"\"
        ...
        return judge("EINVAL", observed)

The first docstring line is the check's title; the ``Source:`` paragraph
is its citation (POSIX, a man page or the kernel documentation). The
function returns an ``Outcome`` (``judge`` builds one from the expected
and observed text) or raises ``CheckSkipped`` with the reason. The section
is the module's last name (``paging``, ``protection``, ...).
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable, Union

from rawmmap.probe.machine import PlatformInfo

__all__ = [
    "CHECKS",
    "DIFFERS",
    "PASS",
    "SKIPPED",
    "VERDICTS",
    "Check",
    "CheckFunction",
    "CheckSkipped",
    "JSONValue",
    "Outcome",
    "ProbeContext",
    "check",
    "judge",
]

PASS = "pass"
DIFFERS = "differs"
SKIPPED = "skipped"
#: Every verdict a row can have.
VERDICTS = (PASS, DIFFERS, SKIPPED)

#: A JSON value as the reports hold it.
JSONValue = Union[None, bool, int, float, str, list["JSONValue"], dict[str, "JSONValue"]]


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What one check found: expected and observed text, and the verdict."""

    expected: str
    observed: str
    verdict: str
    reason: str = ""
    details: dict[str, JSONValue] = dataclasses.field(default_factory=dict)


class CheckSkipped(Exception):
    """Raised by a check that cannot run here; the message is the reason."""

    def __init__(self, reason: str, expected: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.expected = expected


@dataclasses.dataclass
class ProbeContext:
    """What a check may use: a private temporary directory and the platform."""

    directory: str
    platform: PlatformInfo

    def path(self, name: str) -> str:
        """Return the path of a file named ``name`` in the directory."""
        return os.path.join(self.directory, name)


#: The signature of a check.
CheckFunction = Callable[[ProbeContext], Outcome]


@dataclasses.dataclass(frozen=True)
class Check:
    """One registered check: a name, its function, its section, whether informational."""

    name: str
    function: CheckFunction
    informational: bool = False
    section: str = ""

    @property
    def title(self) -> str:
        """The first line of the check's docstring."""
        return (self.function.__doc__ or self.name).strip().splitlines()[0]

    @property
    def source(self) -> str:
        """The ``Source:`` paragraph of the check's docstring (its citation)."""
        lines = (self.function.__doc__ or "").splitlines()
        collected: list[str] = []
        for line in lines:
            text = line.strip()
            if collected:
                if not text:
                    break
                collected.append(text)
            elif text.startswith("Source:"):
                collected.append(text[len("Source:") :].strip())
        return " ".join(collected)


#: Every check, in run order, by name.
CHECKS: dict[str, Check] = {}


def check(name: str, *, informational: bool = False) -> Callable[[CheckFunction], CheckFunction]:
    """Register the decorated function as the check ``name`` (in its module's section).

    Raises:
        ValueError: a check of that name exists already.
    """

    def register(function: CheckFunction) -> CheckFunction:
        if name in CHECKS:
            raise ValueError(f"two checks are named {name!r}")
        section = function.__module__.rpartition(".")[2]
        CHECKS[name] = Check(name, function, informational, section)
        return function

    return register


def judge(expected: str, observed: str, details: dict[str, JSONValue] | None = None) -> Outcome:
    """Return an Outcome that passes when the observed text is the expected text."""
    verdict = PASS if observed == expected else DIFFERS
    return Outcome(expected, observed, verdict, details=dict(details or {}))
