"""``python3 tools/platforms ...``: run the directory as a program (see cli.py)."""

import sys
from pathlib import Path

# Run as a directory, sys.path[0] is this directory; the package is its parent's.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from platforms.cli import main  # noqa: E402

sys.exit(main())
