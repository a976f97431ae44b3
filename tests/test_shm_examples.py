"""The shared-memory example and the README section run as written."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from rawmmap import shm

from .support import ROOT, child_environment, run_python

EXAMPLE = ROOT / "examples" / "shared_counter.py"
README_SECTION = ROOT / "docs" / "README-shm.md"


def _readme_block(index: int) -> str:
    blocks = re.findall(r"```python\n(.*?)```", README_SECTION.read_text(), re.DOTALL)
    return "\n".join(
        line[2:] if line.startswith("  ") else line for line in blocks[index].split("\n")
    )


def _console_output() -> str:
    block = re.search(r"```console\n\$ [^\n]*\n(.*?)```", README_SECTION.read_text(), re.DOTALL)
    assert block is not None
    return block.group(1)


@pytest.mark.skipif(not shm.has_shm(), reason="no shm_open in libc or librt")
def test_shared_counter_example_prints_the_documented_exchange() -> None:
    with subprocess.Popen(
        [sys.executable, str(EXAMPLE)],
        env=child_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as example:
        stdout, stderr = example.communicate(timeout=60)
    assert example.returncode == 0, stderr
    assert stderr == ""
    assert stdout == _console_output()
    # The example names its object after its pid, and must have unlinked it.
    with pytest.raises(FileNotFoundError):
        shm.shm_unlink(f"/rawmmap-example-{example.pid}")


@pytest.mark.skipif(not shm.has_shm(), reason="no shm_open in libc or librt")
def test_readme_named_shared_memory_example_runs() -> None:
    result = run_python(_readme_block(0))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "b'hello'\n"


@pytest.mark.skipif(
    not (hasattr(os, "fork") and shm.HAS_MEMFD and shm.HAS_SEALING),
    reason="needs fork, memfd_create and sealing",
)
def test_readme_memfd_example_runs() -> None:
    result = run_python(_readme_block(1))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "b'HELLO'\nTrue\n"
