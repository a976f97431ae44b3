"""Smoke test of the benchmark harness: ``python -m bench --quick`` runs.

It checks that every benchmark group runs and writes its table, JSON and
chart, and that the chart and the statistics behind it say what they
should; it asserts nothing about timings.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from xml.etree import ElementTree

from bench.chart import render_svg
from bench.harness import Row, Target, median_interval

from .support import ROOT, run_interpreter


def test_bench_quick_run_writes_table_json_and_chart(tmp_path: Path) -> None:
    result = run_interpreter(
        ["-m", "bench", "--quick", "--out", str(tmp_path)], cwd=ROOT, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "| benchmark | rawmmap | peer | speedup | rounds | target | met |" in result.stdout
    document = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    groups = {row["group"] for row in document["rows"]}
    assert groups == {"import", "read", "write", "scan", "lifecycle", "rawcalls"}
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
    assert all(
        len(row["samples"][row["rawmmap_variant"]]) == rounds
        for row in document["rows"]
        if row["group"] != "import"
    )
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
