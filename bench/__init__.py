"""Benchmarks of rawmmap against the stdlib mmap module, os.pread and C.

Not part of the installed package. Run everything with ``python -m bench``
from the repository root (``--quick`` for a smoke run, ``--help`` for the
options); docs/README-bench.md says what each benchmark measures.
"""
