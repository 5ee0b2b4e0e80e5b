#!/usr/bin/env bash
# Install every Debian 12 package spikeglue needs (when missing) and build it.
#   scripts/setup.sh            install + Release build in build/
#   scripts/setup.sh --asan     also the ASan+UBSan build in build-asan/
# Set SG_NO_INSTALL=1 to skip the package step (HPC: load modules instead, see README).
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(build-essential cmake pkg-config git
  openmpi-bin libopenmpi-dev libscalapack-openmpi-dev libopenblas-openmp-dev libopenblas-dev
  libhdf5-dev hdf5-tools libyaml-dev libcjson-dev libpcre2-dev libcurl4-openssl-dev libzip-dev
  python3 python3-torch python3-numpy python3-scipy python3-h5py python3-regex)

if [ "${SG_NO_INSTALL:-0}" != 1 ]; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

JOBS=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$JOBS"
if [ "${1:-}" = "--asan" ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSG_SANITIZE=ON >/dev/null
  cmake --build build-asan -j"$JOBS"
fi
