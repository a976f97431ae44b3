"""The kernel-behaviour probe: what this kernel and libc do with mappings.

``python -m rawmmap probe`` runs a list of small checks, each one a classic
claim about memory mapping taken from POSIX.1-2017 or the Linux man pages
(cited in the check's docstring), and reports for each the expected
behaviour, the observed one and a verdict: ``pass``, ``differs`` or
``skipped`` (with the reason). The checks call ``rawmmap.raw``, so what they
observe is the kernel's own answer (errno, signal, page state); anything
that should fault runs in a child process and the parent reports the
signal. Every file lives in one temporary directory that is removed at the
end, and every mapping is unmapped by the check that made it.

Exit status of ``probe``: 0 when no check differs, 1 when a check that is
not informational differs from what this platform is documented to do
(informational checks, such as the timing ratio, never change it), 2 on a
usage error.

Expectations per platform
-------------------------
Most expectations are POSIX's and hold everywhere. Where platforms are
documented to differ, the expectation follows the platform:

* ``map-fixed-noreplace``: skipped where ``MapFlag`` has no
  FIXED_NOREPLACE, and on Linux before 4.17 (those kernels ignore the
  flag and fall back to taking the address as a hint, as mmap(2) warns).
* ``fault-write-prot-read``, ``fault-prot-none``: SIGSEGV, except on macOS,
  where XNU turns a protection failure (KERN_PROTECTION_FAILURE) into
  SIGBUS. The macOS expectation is from XNU's exception-to-signal mapping
  and has not been run here.
* ``file-demand-paging``: skipped without ``os.posix_fadvise`` (macOS), and
  when the temporary directory is on tmpfs or ramfs, whose pages live only
  in memory and cannot be evicted (set TMPDIR to a disk filesystem).
* ``shared-private-across-fork``: skipped without ``os.fork``.

Where the code is
-----------------
``registry`` (the ``check`` decorator, ``CHECKS``), ``runner``, ``machine``
(the machine facts), ``report`` (rows, JSON schema, compare, matrix),
``render`` (terminal, Markdown, HTML), ``support`` (helpers for checks),
and one module per section: ``paging``, ``protection``, ``fork``,
``files``, ``flags``, ``remap``, ``shared_memory``, ``limits``. Adding a
check is one decorated function in its section's module.

Checks that need what qemu-user answers itself (madvise, mlock2,
MAP_FIXED_NOREPLACE) are skipped there, saying so; checks of a call the
kernel or CPU lacks (mseal before 6.10, protection keys without PKU,
memfd_secret disabled) are skipped with the errno that said so.

JSON schema, version 2
----------------------
``--json`` writes one object::

    {
      "schema": "rawmmap-probe",          # constant: identifies the format
      "schema_version": 2,                 # int; bumped when fields change
      "rawmmap_version": "0.1.0",
      "created": "2025-01-31T12:00:00Z",   # UTC, ISO 8601
      "seconds": 1.42,                     # wall time of the whole run
      "platform": {
        "os": "Linux",                     # platform.system()
        "kernel_release": "6.1.0-18-amd64",# platform.release()
        "architecture": "x86_64",          # platform.machine()
        "libc": "glibc",                   # "glibc", "musl", "libSystem", ... or ""
        "libc_version": "2.36",            # "" when unknown
        "page_size": 4096,                 # sysconf(_SC_PAGESIZE)
        "pointer_bits": 64,
        "python_implementation": "CPython",
        "python_version": "3.11.7",
        # version 2 adds the machine facts:
        "kernel_architecture": "x86_64",   # /proc/sys/kernel/arch
        "emulation": "",                   # "qemu-user", "gVisor" or ""
        "virtual_machine": "",             # hypervisor vendor/hint or ""
        "free_threaded": false,
        "thp_mode": "madvise",             # transparent_hugepage/enabled
        "overcommit_memory": "0",
        "memlock_limit": "8388608",        # soft RLIMIT_MEMLOCK or "unlimited"
        "pku": false,                      # CPU protection keys
        "root": false                      # ran as uid 0
      },
      "summary": {"pass": 22, "differs": 0, "skipped": 1},
      "checks": [                          # in run order
        {
          "name": "zero-length",           # stable identifier (--only takes it)
          "section": "flags",              # version 2: the module of the check
          "title": "...",                  # one line, the docstring's summary
          "source": "...",                 # the POSIX / man-page citation
          "informational": false,          # true: never changes the exit status
          "expected": "...",               # text; platform-specific where documented
          "observed": "...",               # text; "" when skipped
          "verdict": "pass",               # "pass" | "differs" | "skipped"
          "reason": "",                    # why skipped (or what went wrong); else ""
          "details": {},                   # check-specific numbers, JSON scalars/lists
          "seconds": 0.001
        }
      ]
    }

Readers must ignore keys they do not know; they refuse a larger
``schema_version`` and load older ones (version 1 reports get the
defaults of the new fields). ``--compare A.json B.json`` pairs checks by
``name``; ``--matrix A.json B.json ...`` lines many reports up; what
counts as a difference is in ``rawmmap.probe.report``.
"""

from __future__ import annotations

from rawmmap.probe import (  # noqa: F401 - importing a section registers its checks
    files,
    flags,
    fork,
    limits,
    paging,
    protection,
    remap,
    shared_memory,
)
from rawmmap.probe.machine import PlatformInfo, platform_info
from rawmmap.probe.registry import (
    CHECKS,
    DIFFERS,
    PASS,
    SKIPPED,
    Check,
    CheckSkipped,
    JSONValue,
    Outcome,
    ProbeContext,
    check,
    judge,
)
from rawmmap.probe.render import (
    format_comparison,
    format_matrix,
    format_table,
    list_checks,
    matrix_html,
    matrix_markdown,
)
from rawmmap.probe.report import (
    SCHEMA,
    SCHEMA_VERSION,
    CheckResult,
    Comparison,
    Matrix,
    MatrixRow,
    Report,
    ReportError,
    build_matrix,
    compare_reports,
    exit_status,
    load_report,
)
from rawmmap.probe.runner import probe_context, run_check, run_probe

__all__ = [
    "CHECKS",
    "DIFFERS",
    "PASS",
    "SCHEMA",
    "SCHEMA_VERSION",
    "SKIPPED",
    "Check",
    "CheckResult",
    "CheckSkipped",
    "Comparison",
    "JSONValue",
    "Matrix",
    "MatrixRow",
    "Outcome",
    "PlatformInfo",
    "ProbeContext",
    "Report",
    "ReportError",
    "build_matrix",
    "check",
    "compare_reports",
    "exit_status",
    "format_comparison",
    "format_matrix",
    "format_table",
    "judge",
    "list_checks",
    "load_report",
    "matrix_html",
    "matrix_markdown",
    "platform_info",
    "probe_context",
    "run_check",
    "run_probe",
]
