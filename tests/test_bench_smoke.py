"""Smoke test of the benchmark harness: ``python -m bench --quick`` runs.

It checks that every benchmark group runs and writes its table and JSON,
and that the statistics behind them say what they should; it asserts
nothing about timings.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench.harness import Target, median_interval

from .support import ROOT, run_interpreter


def test_bench_quick_run_writes_table_and_json(tmp_path: Path) -> None:
    result = run_interpreter(
        ["-m", "bench", "--quick", "--no-chart", "--out", str(tmp_path)], cwd=ROOT, timeout=300
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
