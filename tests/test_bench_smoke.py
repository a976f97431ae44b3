"""Smoke test of the benchmark harness: ``python -m bench --quick`` runs.

It checks that every benchmark group runs and writes its table, JSON and
chart, that the rows of issue 12's targets are there with their targets and
samples, and that the references the bench measures against behave as
their names say; it asserts nothing about timings.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Callable
from xml.etree import ElementTree

import pytest

from bench.chart import render_svg
from bench.harness import Row, Target, median_interval
from bench.references import BareCalls, ReferenceWrapper
from bench.run import RANGE_PAGES, count_protection_ranges, ranged_region

from .support import ROOT, run_interpreter

#: (row group, benchmark, rawmmap variant, peer variant) of every row with one
#: of issue 12's targets.
TARGET_ROWS = [
    *(
        ("access: against the reference wrapper", name, "Region 1 range", "reference")
        for name in (
            "Region.read 8 B",
            "Region.read 4096 B",
            "region[a:b] 8 B",
            "region[a:b] 4096 B",
            "region[i]",
            "Region.write 8 B",
            "Region.write 4096 B",
            "region[a:b] = 8 B",
            "region[a:b] = 4096 B",
        )
    ),
    ("access: by protection ranges", "Region.read 8 B", "Region 2 ranges", "Region 1 range"),
    ("access: by protection ranges", "region[i]", "Region 1000 ranges", "Region 1 range"),
    (
        "access: by protection ranges",
        "region[a:b] = 4096 B",
        "Region 1000 ranges",
        "Region 1 range",
    ),
    ("pagecalls", "Region.mprotect 1 page", "1000 ranges", "1 range"),
    ("pagecalls", "Region.view() + release, 1 page", "read-only", "writable"),
    ("lifecycle", "map+touch+unmap anonymous", "Region", "bare ctypes"),
    ("lifecycle", "map+touch+unmap file", "Region", "bare ctypes"),
    ("read", "read 8 B", "Region view", "mmap slice"),
    ("scan", "scan 2 MiB (crc32)", "Region view", "mmap"),
    ("import", "import (wall - bare start)", "rawmmap", "ctypes"),
]


def test_bench_quick_run_writes_table_json_and_chart(tmp_path: Path) -> None:
    result = run_interpreter(
        ["-m", "bench", "--quick", "--out", str(tmp_path)], cwd=ROOT, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "| benchmark | rawmmap | peer | speedup | rounds | target | met |" in result.stdout
    document = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    groups = {row["group"].split(":")[0] for row in document["rows"]}
    assert groups == {
        "import",
        "access",
        "pagecalls",
        "read",
        "write",
        "scan",
        "lifecycle",
        "rawcalls",
    }
    rounds = document["settings"]["rounds"]
    for row in document["rows"]:
        assert row["rawmmap_ns"] > 0
        assert row["peer_ns"] > 0
        assert len(row["samples"][row["rawmmap_variant"]]) == len(
            row["samples"][row["peer_variant"]]
        )
        # Round by round dominance carries over to the medians.
        low, high = row["spread"]
        assert low * 0.999 <= row["speedup"] <= high * 1.001
    found = {
        (row["group"], row["benchmark"], row["rawmmap_variant"], row["peer_variant"]): row
        for row in document["rows"]
    }
    for key in TARGET_ROWS:
        assert key in found, key
        assert found[key]["target"] is not None, key
    access = found[TARGET_ROWS[0]]
    assert len(access["samples"]["reference"]) == rounds
    assert document["commit"] is None or len(document["commit"]) == 40
    assert {"version", "implementation", "free_threaded", "gil_enabled"} <= set(
        document["interpreter"]
    )
    assert set(document["load_average"]) == {"start", "end"}
    assert (tmp_path / "table.md").read_text(encoding="utf-8").startswith("| benchmark")
    chart = ElementTree.parse(tmp_path / "speedups.svg").getroot()
    title = "".join(chart.itertext())
    assert document["interpreter"]["version"] in title


def test_bench_quick_run_counts_no_process_spawned_at_import(tmp_path: Path) -> None:
    result = run_interpreter(
        ["-m", "bench", "--quick", "--only", "import", "--no-chart", "--out", str(tmp_path)],
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    document = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    checks = document["settings"]["checks"]
    assert checks
    assert all(check["value"] == 0 for check in checks)
    assert not (tmp_path / "speedups.svg").exists()


def test_reference_wrapper_reads_and_writes_like_a_bytearray() -> None:
    memory = bytearray(range(64))
    view = memoryview(memory)
    wrapper = ReferenceWrapper(view)
    assert wrapper.read(3, 4) == bytes(range(3, 7))
    assert wrapper[10:14] == bytes(range(10, 14))
    assert wrapper[-1] == 63
    assert wrapper.write(0, b"ab") == 2
    wrapper[2:4] = b"cd"
    assert memory[:4] == b"abcd"
    view.release()


@pytest.mark.parametrize(
    "access",
    [
        lambda wrapper: wrapper.read(60, 8),
        lambda wrapper: wrapper.read(-1, 1),
        lambda wrapper: wrapper[64],
        lambda wrapper: wrapper.write(63, b"xy"),
        lambda wrapper: wrapper.__setitem__(slice(0, 2), b"x"),
    ],
)
def test_reference_wrapper_checks_bounds(access: Callable[[ReferenceWrapper], object]) -> None:
    with memoryview(bytearray(64)) as view:
        wrapper = ReferenceWrapper(view)
        with pytest.raises(IndexError):
            access(wrapper)


def test_bare_calls_map_touch_and_unmap() -> None:
    import rawmmap

    private_anonymous = int(rawmmap.MapFlag.PRIVATE | rawmmap.MapFlag.ANONYMOUS)
    read_write = int(rawmmap.Prot.READ | rawmmap.Prot.WRITE)
    BareCalls().lifecycle(3, rawmmap.page_size(), read_write, private_anonymous, -1)


@pytest.mark.parametrize("ranges", [1, 2, RANGE_PAGES])
def test_ranged_region_has_the_protection_ranges_it_names(ranges: int) -> None:
    region = ranged_region(ranges)
    try:
        assert count_protection_ranges(region) == ranges
    finally:
        region.munmap()


def test_cost_target_is_the_inverse_speedup() -> None:
    target = Target.cost_at_most(1.25)
    assert target.met(0.8)
    assert not target.met(0.79)
    assert "1.25x" in target.text


def test_median_interval_narrows_around_the_median() -> None:
    values = [float(value) for value in range(101)]
    low, high = median_interval(values)
    assert low < 50 < high
    assert high - low < 25
    assert median_interval([2.0, 1.0]) == (1.0, 2.0)


def test_chart_has_a_bar_and_a_value_per_row_and_starts_bars_at_one() -> None:
    rows = [
        Row(
            "a",
            "fast",
            "ours",
            1.0,
            "peer",
            4.0,
            Target.faster(2.0),
            samples={"ours": [1, 1], "peer": [3, 5]},
        ),
        Row("b", "slow", "ours", 4.0, "peer", 1.0, Target.cost_at_most(1.5)),
        Row("b", "same", "ours", 1.0, "peer", 1.0),
    ]
    root = ElementTree.fromstring(render_svg(rows, "title", "subtitle"))
    namespace = "{http://www.w3.org/2000/svg}"
    bars = [
        rectangle for rectangle in root.iter(f"{namespace}rect") if rectangle.get("height") == "14"
    ]
    assert len(bars) == len(rows)
    text = list(root.itertext())
    assert "4.00x" in text
    assert "0.25x" in text
    # The faster bar starts where the slower one ends: at 1.0.
    fast, slow = bars[0], bars[1]
    assert math.isclose(
        float(fast.get("x", "nan")),
        float(slow.get("x", "nan")) + float(slow.get("width", "nan")),
        abs_tol=0.2,
    )
