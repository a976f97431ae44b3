"""Timing, result rows, the table and the JSON results of the benchmarks.

The machine these run on is shared and noisy, so nothing here trusts one
measurement: every comparison runs its variants in interleaved rounds (in
each round every variant runs once, and the order rotates from round to
round, so rawmmap and its peer alternate and share the same background
load), and the figure kept is the median per operation over the rounds.
Results are ratios between variants measured side by side, never absolute
pass/fail timings.
"""

from __future__ import annotations

import json
import math
import os
import platform
import statistics
import subprocess
import sys
import sysconfig
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Callable

__all__ = [
    "Row",
    "RunInfo",
    "Target",
    "format_ns",
    "interleave",
    "median",
    "median_interval",
    "render_table",
    "write_json",
]


@dataclass
class Target:
    """A budget for a speedup (peer time / rawmmap time): at least ``minimum``."""

    minimum: float
    text: str

    @classmethod
    def faster(cls, factor: float) -> Target:
        """Rawmmap's variant must be at least ``factor`` times as fast as the peer."""
        return cls(factor, f">= {factor:.2f}x")

    @classmethod
    def cost_at_most(cls, factor: float) -> Target:
        """Rawmmap's variant may take at most ``factor`` times the peer's time."""
        return cls(1 / factor, f"cost <= {factor:.2f}x (>= {1 / factor:.2f}x)")

    def met(self, speedup: float) -> bool:
        """Tell whether a measured speedup meets the budget."""
        return speedup >= self.minimum


@dataclass
class Row:
    """One comparison: a rawmmap variant against a peer, per operation."""

    group: str
    benchmark: str
    rawmmap_variant: str
    rawmmap_ns: float
    peer_variant: str
    peer_ns: float
    target: Target | None = None
    note: str = ""
    samples: dict[str, list[float]] = field(default_factory=dict)

    @property
    def speedup(self) -> float:
        """Peer time over rawmmap time: above 1 means rawmmap is faster."""
        return self.peer_ns / self.rawmmap_ns if self.rawmmap_ns else float("inf")

    @property
    def met(self) -> bool | None:
        """Whether the target is met (None without a target)."""
        return None if self.target is None else self.target.met(self.speedup)

    @property
    def ratios(self) -> list[float]:
        """The speedup of each round: both variants ran in the same round, side by side."""
        ours = self.samples.get(self.rawmmap_variant, [])
        theirs = self.samples.get(self.peer_variant, [])
        return [peer / own for own, peer in zip(ours, theirs) if own > 0]

    @property
    def spread(self) -> tuple[float, float]:
        """The lowest and highest speedup of a round (the speedup itself without samples)."""
        ratios = self.ratios
        return (min(ratios), max(ratios)) if ratios else (self.speedup, self.speedup)


def interleave(
    variants: Mapping[str, Callable[[], object]],
    rounds: int,
    operations: int,
    warmup: int = 1,
) -> dict[str, list[float]]:
    """Time each variant in interleaved rounds; return ns per operation per round.

    Each call of a variant performs ``operations`` operations. In round
    ``i`` the variants run in their given order rotated by ``i``, so no
    variant always runs first or last. ``warmup`` untimed rounds come first.

    Args:
        variants: name -> a callable doing ``operations`` operations.
        rounds: timed rounds (the median is taken over them).
        operations: operations per call, to report ns per operation.
        warmup: untimed rounds before the timed ones.
    """
    names = list(variants)
    samples: dict[str, list[float]] = {name: [] for name in names}
    clock = time.perf_counter_ns
    for round_number in range(-warmup, rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            function = variants[name]
            start = clock()
            function()
            elapsed = clock() - start
            if round_number >= 0:
                samples[name].append(elapsed / operations)
    return samples


def median(values: Sequence[float]) -> float:
    """The median of ``values`` (0.0 for none)."""
    return statistics.median(values) if values else 0.0


def median_interval(values: Sequence[float], z: float = 1.96) -> tuple[float, float]:
    """A distribution-free confidence interval (95% by default) for the median.

    The order statistics ``n/2 -+ z*sqrt(n)/2`` (the normal approximation of
    the binomial sign test): no assumption about how noise is distributed,
    which on a shared machine is anything but normal. With few values it
    widens to the whole range.
    """
    ordered = sorted(values)
    if not ordered:
        return (0.0, 0.0)
    count = len(ordered)
    half_width = z * math.sqrt(count) / 2
    low = max(math.floor(count / 2 - half_width), 0)
    high = min(math.ceil(count / 2 + half_width), count) - 1
    return (ordered[low], ordered[max(high, low)])


def format_ns(value: float) -> str:
    """Format a time in ns with a unit that keeps three or four digits."""
    if value >= 1e6:
        return f"{value / 1e6:.2f} ms"
    if value >= 1e4:
        return f"{value / 1e3:.1f} us"
    return f"{value:.0f} ns"


def render_table(rows: Sequence[Row]) -> str:
    """Format the rows as a Markdown table (speedup = peer / rawmmap).

    ``rounds`` is the lowest and highest speedup of a single round: where a
    target lies inside it, the verdict rests on the median alone.
    """
    header = ("benchmark", "rawmmap", "peer", "speedup", "rounds", "target", "met")
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---", "---", "---", "---:", "---:", "---", "---"]) + "|",
    ]
    for row in rows:
        met = "-" if row.met is None else ("yes" if row.met else "NO")
        low, high = row.spread
        lines.append(
            "| "
            + " | ".join(
                (
                    row.benchmark,
                    f"{row.rawmmap_variant}: {format_ns(row.rawmmap_ns)}",
                    f"{row.peer_variant}: {format_ns(row.peer_ns)}",
                    f"{row.speedup:.2f}x",
                    f"{low:.2f}-{high:.2f}",
                    row.target.text if row.target else "-",
                    met,
                )
            )
            + " |"
        )
    return "\n".join(lines)


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (None where the OS has none)."""
    return list(os.getloadavg()) if hasattr(os, "getloadavg") else None


def interpreter() -> dict[str, object]:
    """Describe the running interpreter: version, implementation, free-threading."""
    gil_enabled = getattr(sys, "_is_gil_enabled", None)
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "build": sys.version,
        "executable": sys.executable,
        # A free-threaded build (3.13t and later) can still run with the GIL
        # enabled (PYTHON_GIL=1, or an extension that needs it): both count.
        "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "gil_enabled": bool(gil_enabled()) if gil_enabled is not None else True,
    }


def machine() -> dict[str, object]:
    """Describe the machine for the JSON results."""
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }


def _git(repository: str, *arguments: str) -> str | None:
    try:
        result = subprocess.run(
            ["git", "-C", repository, *arguments],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None  # no git, or not a checkout (an unpacked sdist)
    return result.stdout


@dataclass
class RunInfo:
    """What a run measured: the commit, the interpreter, the machine and its load."""

    started: str
    commit: str | None
    dirty: bool | None
    interpreter: dict[str, object]
    machine: dict[str, object]
    load_start: list[float] | None
    load_end: list[float] | None = None

    @classmethod
    def begin(cls, repository: str) -> RunInfo:
        """Record the start of a run of the code in ``repository``."""
        head = _git(repository, "rev-parse", "HEAD")
        status = _git(repository, "status", "--porcelain")
        return cls(
            started=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            commit=head.strip() if head else None,
            dirty=None if status is None else bool(status.strip()),
            interpreter=interpreter(),
            machine=machine(),
            load_start=load_average(),
        )

    def finish(self) -> None:
        """Record the load at the end of the run."""
        self.load_end = load_average()

    def describe(self) -> str:
        """One line for a chart title: interpreter, commit, date, load."""
        info = self.interpreter
        build = ""
        if info["free_threaded"]:
            build = " free-threaded" + (" (GIL enabled)" if info["gil_enabled"] else "")
        commit = "no commit" if self.commit is None else f"commit {self.commit[:10]}"
        if self.dirty:
            commit += " + uncommitted changes"
        date = self.started.replace("T", " ")[:16]
        return f"{info['implementation']} {info['version']}{build}, {commit}, {date}"

    def describe_load(self) -> str:
        """The 1-minute load average at the start and the end of the run."""
        if self.load_start is None:
            return "load average unknown"
        end = "?" if self.load_end is None else f"{self.load_end[0]:.2f}"
        return f"load average {self.load_start[0]:.2f} at the start, {end} at the end"


def write_json(path: str, rows: Sequence[Row], settings: dict[str, object], info: RunInfo) -> None:
    """Write the run's description, the settings and every row (with its samples) as JSON."""
    records = []
    for row in rows:
        record = asdict(row)
        record["speedup"] = row.speedup
        record["met"] = row.met
        record["round_speedups"] = row.ratios
        record["spread"] = list(row.spread)
        record["median_interval_95"] = list(median_interval(row.ratios))
        records.append(record)
    document = {
        "created": info.started,
        "commit": info.commit,
        "dirty": info.dirty,
        "interpreter": info.interpreter,
        "machine": info.machine,
        "load_average": {"start": info.load_start, "end": info.load_end},
        "settings": settings,
        "rows": records,
    }
    with open(path, "w", encoding="utf-8") as output:
        json.dump(document, output, indent=2)
        output.write("\n")
