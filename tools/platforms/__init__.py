"""rawmmap's platform tooling: every target set up from Debian packages.

``python3 tools/platforms list`` names the targets; ``run TARGET...`` sets
each up (once; cached) and runs the suite and the probe there; ``all`` runs
them all and writes a Markdown table; ``ci`` runs the subset CI can afford.
See docs/README-platforms.md.
"""
