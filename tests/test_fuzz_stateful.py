"""Stateful fuzzing of Region, in a child process (see tests/fuzz_machine.py).

The state machine maps, writes, reads, msyncs, mprotects, madvises,
mremaps, exports and releases views, forks and unmaps in random order and
checks every read against a model. It runs in a child so that a fault
(a crash of the interpreter) fails this test with the signal instead of
killing pytest. The default run is bounded (60 examples of up to 50 steps);
set RAWMMAP_FUZZ_EXAMPLES for a longer one.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .support import ROOT, run_interpreter

# A test-only dependency: an interpreter without it (the crossarch guests)
# skips the fuzzing instead of failing.
pytest.importorskip("hypothesis", reason="hypothesis is not installed (a test-only dependency)")

MACHINE = Path(__file__).resolve().parent / "fuzz_machine.py"


def test_region_state_machine_finds_no_crash_and_no_mismatch() -> None:
    completed = run_interpreter([str(MACHINE)], timeout=3600, cwd=ROOT)
    report = completed.stdout[-6000:] + completed.stderr[-6000:]
    assert completed.returncode >= 0, f"killed by signal {-completed.returncode}\n{report}"
    assert completed.returncode == 0, report
    match = re.search(r"steps=(\d+)", completed.stdout)
    assert match is not None and int(match.group(1)) > 0, report
