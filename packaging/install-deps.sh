#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Installs the Debian 12 packages ckptconv needs, printing what it installs (nothing if all are
# present). `--test` adds what the test suite needs. Run as root. Idempotent.
set -eu

build_pkgs="cmake make g++ pkg-config ccache libboost-dev libboost-program-options-dev \
libyaml-cpp-dev rapidjson-dev libhdf5-dev liblz4-dev zlib1g-dev libfmt-dev"
# hdf5-filter-plugin only lets the optional h5py cross-check read our LZ4 output; ckptconv has LZ4 built in.
# dpkg-dev: dpkg-shlibdeps, which the Debian packages (and their test) use for dependencies.
test_pkgs="googletest libgtest-dev clang libclang-rt-14-dev hdf5-filter-plugin dpkg-dev"

pkgs=$build_pkgs
if [ "${1:-}" = "--test" ]; then
    pkgs="$pkgs $test_pkgs"
fi

missing=""
for p in $pkgs; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    echo "install-deps: all needed Debian packages are installed."
    exit 0
fi
echo "install-deps: installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: run as root (or install the packages above yourself)." >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
echo "install-deps: done."
