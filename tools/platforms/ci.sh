#!/bin/sh
# tools/platforms/ci.sh [--fresh]: the platform targets CI can afford.
#
# Runs `tools/platforms ci` (CPython 3.14 and 3.15 through their own ld.so, native
# i386, s390x under qemu-user, gVisor's runsc), each set up from
# Debian packages; exit status 1 when a target's suite fails. Probe
# differences are findings and do not fail the run.
#   --fresh   set up from nothing in a new temporary cache, deleted after
#             (otherwise the cache is $RAWMMAP_PLATFORMS_CACHE, else
#             /var/cache/rawmmap-platforms as root)
# Reports (per-target JSON, pytest output, results.md) go to
# $RAWMMAP_PLATFORMS_OUTPUT, else CACHE/results (with --fresh:
# /var/tmp/rawmmap-platforms-results). Needs root, apt-get, dpkg and a
# Debian entry in the host's apt sources (or RAWMMAP_DEBIAN_MIRROR).
# Everything runs under nice -n 19: the machine is shared.
set -eu
project=$(cd "$(dirname "$0")/../.." && pwd)
python=${PYTHON:-python3}
output=${RAWMMAP_PLATFORMS_OUTPUT:-}
fresh=
case ${1:-} in
    --fresh) fresh=$(mktemp -d /var/tmp/rawmmap-platforms-ci.XXXXXX)
             trap 'rm -rf "$fresh"' EXIT
             output=${output:-/var/tmp/rawmmap-platforms-results} ;;
    "") ;;
    *) echo "usage: tools/platforms/ci.sh [--fresh]" >&2; exit 2 ;;
esac
started=$(date +%s)
status=0
nice -n 19 "$python" "$project/tools/platforms" \
    ${fresh:+--cache "$fresh"} ${output:+--output "$output"} ci || status=$?
from="the cache"
[ -z "$fresh" ] || from="an empty cache"
echo "tools/platforms/ci.sh: $(( $(date +%s) - started )) s from $from, exit status $status" >&2
exit "$status"
