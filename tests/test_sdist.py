"""The sdist round trip: build it, unpack it, install it, run its tests.

Slow (it runs the whole suite a second time), so not in the default run:
``.venv/bin/python -m pytest -m slow tests/test_sdist.py`` (``.ci/run`` runs
it). It needs no network: the sdist is built without isolation, from the
``build`` and ``setuptools`` installed here (the ``dev`` extra), and the fresh
virtual environment borrows this one's test tools through a ``.pth`` file.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import sysconfig
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def _setuptools_is_new_enough() -> bool:
    # PEP 639 license expressions (pyproject.toml) need setuptools 77.
    from importlib.metadata import PackageNotFoundError, version

    try:
        major = version("setuptools").split(".")[0]
    except PackageNotFoundError:
        return False
    return major.isdigit() and int(major) >= 77


def _run(command: list[str], cwd: Path, timeout: float = 900) -> str:
    environment = {
        name: value
        for name, value in os.environ.items()
        # Not this checkout, and not this run's coverage measurement.
        if name != "PYTHONPATH" and not name.startswith(("COV_", "COVERAGE_"))
    }
    result = subprocess.run(
        command,
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _files(package: Path) -> set[str]:
    return {
        str(path.relative_to(package))
        for path in package.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


@pytest.mark.skipif(importlib.util.find_spec("build") is None, reason="needs build (dev extra)")
@pytest.mark.skipif(not _setuptools_is_new_enough(), reason="needs setuptools>=77 (dev extra)")
def test_sdist_installs_into_a_fresh_venv_and_passes_its_own_tests(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _run(
        [sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", str(dist), "."],
        cwd=ROOT,
    )
    (sdist,) = dist.glob("rawmmap-*.tar.gz")

    with tarfile.open(sdist) as archive:
        if hasattr(tarfile, "data_filter"):
            archive.extractall(tmp_path, filter="data")
        else:  # Python before 3.9.17 and 3.10.12 has no extraction filters.
            archive.extractall(tmp_path)
    (unpacked,) = (path for path in tmp_path.glob("rawmmap-*") if path.is_dir())
    for needed in ("tests/__init__.py", "tests/conftest.py", "stubs", "docs", "examples", "bench"):
        assert (unpacked / needed).exists(), f"the sdist lacks {needed}"

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    site_packages = Path(
        _run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            cwd=tmp_path,
        ).strip()
    )
    # pytest, hypothesis and setuptools from here, after the venv's own
    # site-packages: rawmmap itself comes only from the sdist.
    (site_packages / "borrowed-test-tools.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            "--no-index",
            "--no-deps",
            "--no-build-isolation",
            str(sdist),
        ],
        cwd=tmp_path,
    )

    # Installed: every module of the sdist, imported from site-packages.
    where = _run([str(python), "-c", "import rawmmap; print(rawmmap.__file__)"], cwd=tmp_path)
    installed = Path(where.strip()).parent
    assert installed == site_packages / "rawmmap"
    assert _files(installed) == _files(unpacked / "rawmmap")

    output = _run([str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=unpacked)
    assert " passed" in output.splitlines()[-1]
    assert " failed" not in output.splitlines()[-1]
