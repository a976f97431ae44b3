#!/usr/bin/env python3
"""Run the suite and the probe on foreign CPU architectures (kept for old commands).

``python tools/crossarch.py [ARCH...]`` is ``python3 tools/platforms run ARCH...``
(default: i386 and every qemu-user guest); the tooling now lives in
tools/platforms and needs no ../shared/crossarch. See docs/README-platforms.md.
Options other than architecture names are passed to ``tools/platforms``
before the command (``--cache DIR``, ``--output DIR``).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

TOOLS = Path(__file__).resolve().parent

#: The architectures crossarch used to run, in its order.
ARCHES = ["i386", "arm64", "armhf", "ppc64el", "s390x", "mips64el", "mipsel", "riscv64", "loong64"]


def main(argv: Sequence[str] | None = None) -> int:
    """Translate the old command line and run tools/platforms."""
    arguments: list[str] = list(sys.argv[1:] if argv is None else argv)
    names = [argument for argument in arguments if not argument.startswith("-")]
    options = [argument for argument in arguments if argument.startswith("-")]
    command = [sys.executable, str(TOOLS / "platforms"), *options, "run", *(names or ARCHES)]
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
