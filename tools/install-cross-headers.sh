#!/bin/sh
# Install the Linux kernel uapi headers of every architecture whose flag
# table tests/test_flag_headers.py checks (Debian's linux-libc-dev-*-cross,
# one directory /usr/<triplet>/include each). Without them those tests skip.
#
# Idempotent: installs only what is missing; a package this Debian release
# does not have is reported and left out. Needs root (or sudo) and apt-get.
set -eu

packages="
linux-libc-dev-amd64-cross
linux-libc-dev-i386-cross
linux-libc-dev-arm64-cross
linux-libc-dev-armhf-cross
linux-libc-dev-riscv64-cross
linux-libc-dev-s390x-cross
linux-libc-dev-mips64el-cross
linux-libc-dev-mipsel-cross
linux-libc-dev-ppc64el-cross
linux-libc-dev-powerpc-cross
linux-libc-dev-sparc64-cross
linux-libc-dev-alpha-cross
linux-libc-dev-hppa-cross
"

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-cross-headers: no apt-get here; the header tests will skip" >&2
    exit 0
fi

sudo=""
if [ "$(id -u)" != 0 ]; then
    sudo="sudo"
fi

missing=""
for package in $packages; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $package"
    fi
done
if [ -z "$missing" ]; then
    echo "install-cross-headers: all installed"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
available=""
for package in $missing; do
    if apt-cache show "$package" >/dev/null 2>&1; then
        available="$available $package"
    else
        echo "install-cross-headers: $package is not in this Debian release" >&2
    fi
done
if [ -n "$available" ]; then
    # shellcheck disable=SC2086  # one word per package
    $sudo apt-get install -y -qq --no-install-recommends $available
fi
echo "install-cross-headers: installed$available"
