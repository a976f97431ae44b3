"""Durability: bytes written and msync(MS_SYNC)ed survive the writer's SIGKILL.

A child maps a file shared, writes through the Region, calls
``msync(SyncFlag.SYNC)`` (msync(2): MS_SYNC "requests an update and waits
for it to complete"), writes a marker to a pipe and waits; the parent
kills it with SIGKILL the moment the marker arrives, so the child runs no
cleanup (no munmap, no close, no exit handlers). A third process then
reads the file with plain ``open``: the bytes must be there.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import rawmmap

from .support import run_python

PAGE = rawmmap.page_size()
ROOT = Path(__file__).resolve().parent.parent

WRITER = """
    import os, sys, time
    import rawmmap
    from rawmmap import Prot, SyncFlag

    path, marker_fd, payload = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3])
    region = rawmmap.map_file(path, prot=Prot.READ | Prot.WRITE, shared=True)
    region.write(100, payload)
    region.write(len(region) - len(payload), payload)
    region.msync(SyncFlag.SYNC)
    os.write(marker_fd, b"synced")
    while True:
        time.sleep(60)
"""

READER = """
    import sys
    with open(sys.argv[1], "rb") as file:
        sys.stdout.write(file.read().hex())
"""


def _environment() -> dict[str, str]:
    return dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )


def test_msync_sync_write_survives_sigkill_of_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "durable"
    path.write_bytes(bytes(3 * PAGE))
    payload = os.urandom(64)
    marker_read, marker_write = os.pipe()
    try:
        writer = subprocess.Popen(
            [
                sys.executable,
                "-c",
                textwrap.dedent(WRITER),
                str(path),
                str(marker_write),
                payload.hex(),
            ],
            env=_environment(),
            pass_fds=(marker_write,),
        )
        os.close(marker_write)
        marker_write = -1
        try:
            marker = os.read(marker_read, 16)
            os.kill(writer.pid, signal.SIGKILL)
        finally:
            writer.kill()
            returncode = writer.wait(timeout=60)
        assert marker == b"synced"
        assert returncode == -signal.SIGKILL
    finally:
        os.close(marker_read)
        if marker_write >= 0:
            os.close(marker_write)
    reader = run_python(READER, str(path), timeout=60)
    assert reader.returncode == 0, reader.stderr
    contents = bytes.fromhex(reader.stdout)
    expected = bytearray(3 * PAGE)
    expected[100 : 100 + len(payload)] = payload
    expected[-len(payload) :] = payload
    assert contents == bytes(expected)
