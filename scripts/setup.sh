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
  python3 python3-torch python3-numpy python3-scipy python3-h5py python3-regex
  slurmctld slurmd slurm-client munge libpmix-dev clang)
# slurm* + munge + libpmix-dev: `spikeglue submit` and the local-cluster test (tests/scripts/test_slurm.sh);
# no service is started by the install (policy-rc.d below), the test starts its own daemons.
# clang: the libFuzzer harnesses (scripts/fuzz.sh).

if [ "${SG_NO_INSTALL:-0}" != 1 ]; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    # keep package scripts from starting daemons (munge, slurmctld, slurmd) on this machine
    policy_made=0
    if [ ! -e /usr/sbin/policy-rc.d ] && [ "$(id -u)" -eq 0 ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy_made=1
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    [ $policy_made = 1 ] && rm -f /usr/sbin/policy-rc.d
  fi
fi

JOBS=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$JOBS"
if [ "${1:-}" = "--asan" ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSG_SANITIZE=ON >/dev/null
  cmake --build build-asan -j"$JOBS"
fi
