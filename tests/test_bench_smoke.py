"""Smoke test of the benchmark harness: ``python -m bench --quick`` runs.

It checks that every benchmark group runs and writes its table and JSON,
so the harness cannot rot; it asserts nothing about timings.
"""

from __future__ import annotations

import json
from pathlib import Path

from .support import ROOT, run_interpreter


def test_bench_quick_run_writes_table_and_json(tmp_path: Path) -> None:
    result = run_interpreter(
        ["-m", "bench", "--quick", "--no-chart", "--out", str(tmp_path)], cwd=ROOT, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert "| benchmark | rawmmap | peer | speedup | target | met |" in result.stdout
    document = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    groups = {row["group"] for row in document["rows"]}
    assert groups == {"import", "read", "write", "scan", "lifecycle", "rawcalls"}
    for row in document["rows"]:
        assert row["rawmmap_ns"] > 0
        assert row["peer_ns"] > 0
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
