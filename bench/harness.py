"""Timing, result rows, the table, JSON and the chart for the benchmarks.

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
import os
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Callable

__all__ = [
    "Row",
    "Target",
    "interleave",
    "render_table",
    "write_chart",
    "write_json",
]


@dataclass
class Target:
    """A budget for a speedup (peer time / rawmmap time): at least ``minimum``."""

    minimum: float
    text: str

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


def interleave(
    variants: dict[str, Callable[[], object]],
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


def _format_ns(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f} ms"
    if value >= 1e4:
        return f"{value / 1e3:.1f} us"
    return f"{value:.0f} ns"


def render_table(rows: Sequence[Row]) -> str:
    """Format the rows as a Markdown table (speedup = peer / rawmmap)."""
    header = ("benchmark", "rawmmap", "peer", "speedup", "target", "met")
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---", "---", "---", "---:", "---", "---"]) + "|",
    ]
    for row in rows:
        met = "-" if row.met is None else ("yes" if row.met else "NO")
        lines.append(
            "| "
            + " | ".join(
                (
                    row.benchmark,
                    f"{row.rawmmap_variant}: {_format_ns(row.rawmmap_ns)}",
                    f"{row.peer_variant}: {_format_ns(row.peer_ns)}",
                    f"{row.speedup:.2f}x",
                    row.target.text if row.target else "-",
                    met,
                )
            )
            + " |"
        )
    return "\n".join(lines)


def machine() -> dict[str, object]:
    """Describe the machine and interpreter for the JSON results."""
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def write_json(path: str, rows: Sequence[Row], settings: dict[str, object]) -> None:
    """Write the settings, the machine and every row (with its samples) as JSON."""
    records = []
    for row in rows:
        record = asdict(row)
        record["speedup"] = row.speedup
        record["met"] = row.met
        records.append(record)
    document = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "settings": settings,
        "rows": records,
    }
    with open(path, "w", encoding="utf-8") as output:
        json.dump(document, output, indent=2)
        output.write("\n")


def write_chart(path: str, rows: Sequence[Row]) -> str | None:
    """Draw the speedups as a horizontal bar chart (PNG) with matplotlib.

    Returns:
        None when written, else why not (matplotlib missing): the chart is
        optional and matplotlib is a benchmark-only dependency.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        return "matplotlib is not installed (pip install matplotlib); no chart"
    labels = [f"{row.benchmark}\n{row.rawmmap_variant} vs {row.peer_variant}" for row in rows]
    speedups = [row.speedup for row in rows]
    colours = [
        "tab:grey" if row.met is None else ("tab:green" if row.met else "tab:red") for row in rows
    ]
    figure, axes = pyplot.subplots(figsize=(10, 0.42 * len(rows) + 1.5))
    positions = list(range(len(rows)))[::-1]
    axes.barh(positions, speedups, color=colours)
    for position, row in zip(positions, rows):
        if row.target is not None:
            axes.plot(
                [row.target.minimum] * 2,
                [position - 0.4, position + 0.4],
                color="black",
                linewidth=2,
            )
    axes.axvline(1.0, color="black", linewidth=0.8, linestyle=":")
    axes.set_xscale("log")
    axes.set_yticks(positions)
    axes.set_yticklabels(labels, fontsize=7)
    axes.set_xlabel("speedup = peer time / rawmmap time (log; >1: rawmmap faster; bar: target)")
    axes.set_title("rawmmap against its peers (green: target met, red: missed, grey: no target)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return None
