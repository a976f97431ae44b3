#!/bin/sh
# docs/reports/regenerate.sh [--from RESULTS_DIR]
#
# Build docs/probe-matrix.md and docs/probe-matrix.html from the reports in
# docs/reports/ (one column per report, named after the file).
#
#   --from DIR   first take the platform reports of a tools/platforms run:
#                each DIR/TARGET.probe.json becomes docs/reports/TARGET.json
#                (DIR is tools/platforms' --output, default CACHE/results),
#                and this host's own probe is written to docs/reports/host.json.
#
# So the whole published matrix is:
#   python3 tools/platforms all && docs/reports/regenerate.sh --from /var/cache/rawmmap-platforms/results
# Exit status 1 of the probe or of --matrix (a check differs) is not an error here.
set -u
cd "$(dirname "$0")/../.." || exit 2
python=${PYTHON:-python3}
case ${1:-} in
    --from)
        [ -d "${2:-}" ] || { echo "regenerate.sh: --from needs a results directory" >&2; exit 2; }
        found=
        for report in "$2"/*.probe.json; do
            [ -f "$report" ] || continue
            name=$(basename "$report" .probe.json)
            cp "$report" "docs/reports/$name.json"
            found=1
        done
        [ -n "$found" ] || { echo "regenerate.sh: no *.probe.json in $2" >&2; exit 2; }
        "$python" -m rawmmap probe --json docs/reports/host.json > /dev/null
        [ "$?" -le 1 ] || exit 2
        ;;
    "") ;;
    *) echo "usage: docs/reports/regenerate.sh [--from RESULTS_DIR]" >&2; exit 2 ;;
esac
for format in markdown html; do
    case $format in markdown) out=docs/probe-matrix.md ;; html) out=docs/probe-matrix.html ;; esac
    "$python" -m rawmmap probe --matrix docs/reports/*.json --format "$format" > "$out"
    status=$?
    [ "$status" -le 1 ] || exit "$status"
done
