"""The speedup chart, as SVG written by hand (no plotting library).

One horizontal bar per row on a log axis. Every bar starts at 1.0 (as fast
as the peer) and ends at the median speedup: to the right rawmmap is
faster, to the left slower, and a ratio and its inverse are the same
length. On each bar: the value, a whisker from the slowest to the fastest
round, and the target as a blue mark. The interpreter, the commit, the date
and the load are in the title. Sizes are in CSS pixels with 13 px text, so
the file reads at 100% zoom in a browser.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Callable
from xml.sax.saxutils import escape

from bench.harness import Row, format_ns

__all__ = ["render_svg", "write_svg"]

FONT = "DejaVu Sans, Verdana, Arial, sans-serif"
TEXT_SIZE = 13
#: Average advance of a character at TEXT_SIZE, for sizing the label column.
CHARACTER_WIDTH = 7.4
ROW_HEIGHT = 24
BAR_HEIGHT = 14
PLOT_WIDTH = 620
#: Room left and right of the outermost bar for its printed value.
VALUE_ROOM = 64
MARGIN = 16
MET, MISSED, NO_TARGET = "#3c9d53", "#d4483b", "#a0a0a0"
TARGET_COLOUR = "#1f5fbf"
#: The axis never spans more than this factor either way: a whisker beyond
#: it is cut at the edge (and drawn with an arrowhead).
AXIS_LIMIT = 200.0


def _attribute(text: str) -> str:
    return escape(text, {'"': "&quot;"})


def _ticks(low: float, high: float, pixels_per_decade: float) -> list[float]:
    """Tick values in [low, high]: 1-2-5 where they fit, else 1-3, else powers of ten."""
    if pixels_per_decade >= 170:
        mantissas: tuple[int, ...] = (1, 2, 5)
    elif pixels_per_decade >= 105:
        mantissas = (1, 3)
    else:
        mantissas = (1,)
    ticks = []
    for exponent in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1):
        for mantissa in mantissas:
            value = mantissa * 10.0**exponent
            if low <= value <= high:
                ticks.append(value)
    return ticks


def _format_ratio(value: float) -> str:
    if value >= 10:
        return f"{value:.0f}x"
    if value >= 0.1:
        return f"{value:.2f}x"
    return f"{value:.3f}x"


def _colour(row: Row) -> str:
    return NO_TARGET if row.met is None else (MET if row.met else MISSED)


def _axis_range(rows: Sequence[Row]) -> tuple[float, float]:
    """The axis spans 1.0, every bar and every target, and whiskers up to 4x past them.

    A whisker can run far out (one round of a process start that caught a
    busy moment): past that margin it is cut, with an arrowhead, rather than
    squeezing every bar into a corner of the chart.
    """
    core = [1.0]
    for row in rows:
        core.append(row.speedup)
        if row.target is not None:
            core.append(row.target.minimum)
    core = [value for value in core if 0 < value < math.inf]
    floor, ceiling = min(core) / 4, max(core) * 4
    values = list(core)
    for row in rows:
        values += [min(max(value, floor), ceiling) for value in row.spread if value > 0]
    low = max(min(values) / 1.1, 1 / AXIS_LIMIT)
    high = min(max(values) * 1.1, AXIS_LIMIT)
    return low, high


def render_svg(rows: Sequence[Row], title: str, subtitle: str) -> str:
    """Return the chart of ``rows`` as an SVG document."""
    labels = [f"{row.benchmark}: {row.rawmmap_variant} vs {row.peer_variant}" for row in rows]
    label_width = max([len(label) for label in labels] + [20]) * CHARACTER_WIDTH + 12
    plot_left = MARGIN + label_width
    plot_right = plot_left + PLOT_WIDTH
    width = plot_right + MARGIN
    low, high = _axis_range(rows)
    span = math.log(high) - math.log(low)

    def x_of(value: float) -> float:
        value = min(max(value, low), high)
        return (
            plot_left
            + VALUE_ROOM
            + (math.log(value) - math.log(low)) / span * (PLOT_WIDTH - 2 * VALUE_ROOM)
        )

    header_height = 118
    groups: list[str] = []
    for row in rows:
        if not groups or groups[-1] != row.group:
            groups.append(row.group)
    body_height = (len(rows) + len(groups)) * ROW_HEIGHT
    footer_height = 54
    height = header_height + body_height + footer_height
    top, bottom = header_height, header_height + body_height
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height}" '
        f'viewBox="0 0 {width:.0f} {height}" font-family="{FONT}" font-size="{TEXT_SIZE}">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width:.0f}" height="{height}" fill="white"/>',
        f'<text x="{MARGIN}" y="26" font-size="17" font-weight="bold">{escape(title)}</text>',
        f'<text x="{MARGIN}" y="48">{escape(subtitle)}</text>',
    ]
    # The legend.
    legend_y = 72
    x: float = MARGIN
    for colour, text in ((MET, "target met"), (MISSED, "target missed"), (NO_TARGET, "no target")):
        parts.append(
            f'<rect x="{x}" y="{legend_y - 10}" width="14" height="12" fill="{colour}"/>'
            f'<text x="{x + 19}" y="{legend_y}">{text}</text>'
        )
        x += 19 + len(text) * CHARACTER_WIDTH + 18
    parts.append(
        f'<line x1="{x + 4}" y1="{legend_y - 12}" x2="{x + 4}" y2="{legend_y + 3}" '
        f'stroke="{TARGET_COLOUR}" stroke-width="3"/>'
        f'<text x="{x + 13}" y="{legend_y}">target</text>'
    )
    x += 13 + 6 * CHARACTER_WIDTH + 18
    parts.append(
        f'<path d="M{x} {legend_y - 4}h26M{x} {legend_y - 9}v10M{x + 26} {legend_y - 9}v10" '
        'stroke="black" stroke-width="1.3" fill="none"/>'
        f'<text x="{x + 33}" y="{legend_y}">slowest to fastest round</text>'
    )
    # The axis: grid, tick labels above and below, the 1.0 line.
    pixels_per_decade = (PLOT_WIDTH - 2 * VALUE_ROOM) / (span / math.log(10))
    for tick in _ticks(low, high, pixels_per_decade):
        tick_x = x_of(tick)
        grid = "black" if tick == 1 else "#dddddd"
        weight = 1.4 if tick == 1 else 1
        parts.append(
            f'<line x1="{tick_x:.1f}" y1="{top - 4}" x2="{tick_x:.1f}" y2="{bottom + 4}" '
            f'stroke="{grid}" stroke-width="{weight}"/>'
        )
        for label_y in (top - 9, bottom + 18):
            parts.append(
                f'<text x="{tick_x:.1f}" y="{label_y}" text-anchor="middle" fill="#444">'
                f"{tick:g}x</text>"
            )
    one = x_of(1.0)
    parts.append(
        f'<text x="{one - 8:.1f}" y="{top - 27}" text-anchor="end" fill="#444">'
        "\u2190 slower than the peer</text>"
        f'<text x="{one + 8:.1f}" y="{top - 27}" fill="#444">faster than the peer \u2192</text>'
    )
    y = top
    group = None
    for row, label in zip(rows, labels):
        if row.group != group:
            group = row.group
            if y > top:
                parts.append(
                    f'<line x1="{MARGIN}" y1="{y}" x2="{plot_right}" y2="{y}" stroke="#bbbbbb"/>'
                )
            parts.append(
                f'<text x="{MARGIN}" y="{y + ROW_HEIGHT - 7}" font-weight="bold">'
                f"{escape(group)}</text>"
            )
            y += ROW_HEIGHT
        parts.append(_bar(row, label, y, x_of, plot_left - 8, (low, high)))
        y += ROW_HEIGHT
    parts.append(
        f'<text x="{MARGIN}" y="{bottom + 40}" fill="#444">speedup = peer time / rawmmap '
        "time, the median of interleaved rounds (log axis: a bar starts at 1.0). A cost "
        'target "cost &lt;= 1.15x" is the speedup 0.87x.</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _bar(
    row: Row,
    label: str,
    y: int,
    x_of: Callable[[float], float],
    label_right: float,
    axis: tuple[float, float],
) -> str:
    centre = y + ROW_HEIGHT / 2
    one = x_of(1.0)
    tip = x_of(row.speedup)
    slowest, fastest = row.spread
    left, right = x_of(slowest), x_of(fastest)
    tooltip = (
        f"{label}: {_format_ratio(row.speedup)} ({row.rawmmap_variant} "
        f"{format_ns(row.rawmmap_ns)}, {row.peer_variant} {format_ns(row.peer_ns)}); rounds "
        f"{_format_ratio(slowest)} to {_format_ratio(fastest)}"
        + (f"; target {row.target.text}" if row.target else "")
        + (f"; {row.note}" if row.note else "")
    )
    parts = [
        f"<g><title>{escape(tooltip)}</title>",
        f'<text x="{label_right:.1f}" y="{centre + 4.5:.1f}" text-anchor="end">'
        f"{escape(label)}</text>",
        f'<rect x="{min(one, tip):.1f}" y="{centre - BAR_HEIGHT / 2:.1f}" '
        f'width="{max(abs(tip - one), 1.5):.1f}" height="{BAR_HEIGHT}" fill="{_colour(row)}"/>',
        f'<path d="M{left:.1f} {centre:.1f}H{right:.1f}" stroke="black" stroke-width="1.3"/>',
    ]
    # Each end of the whisker: a cap, or an arrowhead where the axis cuts it.
    for end, cut, direction in ((left, slowest < axis[0], -1), (right, fastest > axis[1], 1)):
        if cut:
            parts.append(f'<path d="M{end:.1f} {centre:.1f}l{-6 * direction} -4v8z"/>')
        else:
            parts.append(
                f'<path d="M{end:.1f} {centre - 5:.1f}v10" stroke="black" stroke-width="1.3"/>'
            )
    if row.target is not None:
        mark = x_of(row.target.minimum)
        parts.append(
            f'<path d="M{mark:.1f} {y + 2}V{y + ROW_HEIGHT - 2}" stroke="{TARGET_COLOUR}" '
            'stroke-width="3"/>'
        )
    # The value, past the bar's tip, its whisker and a target mark on that
    # side, on the side away from 1.0: nothing is drawn over it.
    target_x = None if row.target is None else x_of(row.target.minimum)
    if row.speedup >= 1:
        edge = max(tip, right, target_x if target_x is not None and target_x > one else tip)
        parts.append(
            f'<text x="{edge + 6:.1f}" y="{centre + 4.5:.1f}" font-weight="bold">'
            f"{_format_ratio(row.speedup)}</text>"
        )
    else:
        edge = min(tip, left, target_x if target_x is not None and target_x < one else tip)
        parts.append(
            f'<text x="{edge - 6:.1f}" y="{centre + 4.5:.1f}" text-anchor="end" '
            f'font-weight="bold">{_format_ratio(row.speedup)}</text>'
        )
    parts.append("</g>")
    return "".join(parts)


def write_svg(path: str, rows: Sequence[Row], title: str, subtitle: str) -> None:
    """Write the chart of ``rows`` to ``path``."""
    with open(path, "w", encoding="utf-8") as output:
        output.write(render_svg(rows, title, subtitle))
