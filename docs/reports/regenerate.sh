#!/bin/sh
# Build docs/probe-matrix.md and docs/probe-matrix.html from the reports in
# docs/reports/ (run from the project root). The reports themselves come from
#   python3 -m rawmmap probe --json docs/reports/NAME.json
#   python3 tools/platforms run TARGET   (then copy CACHE/results/TARGET.probe.json here)
# Exit status 1 of --matrix (a check differs between kernels) is not an error here.
set -u
cd "$(dirname "$0")/../.." || exit 2
for format in markdown html; do
    case $format in markdown) out=docs/probe-matrix.md ;; html) out=docs/probe-matrix.html ;; esac
    python3 -m rawmmap probe --matrix docs/reports/*.json --format "$format" > "$out"
    status=$?
    [ "$status" -le 1 ] || exit "$status"
done
