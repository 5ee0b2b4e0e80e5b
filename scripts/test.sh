#!/usr/bin/env bash
# The README's test command: install + build, then every test on the Release build and on the
# ASan+UBSan build. Tests needing ../shared or PyTorch skip with a message when those are absent.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --asan
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
JOBS=$(nproc 2>/dev/null || echo 2)
echo "== tests: Release build"
ctest --test-dir build --output-on-failure -j"$JOBS"
echo "== tests: ASan+UBSan build"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
SG_SANITIZED=1 ctest --test-dir build-asan --output-on-failure -j"$JOBS"
