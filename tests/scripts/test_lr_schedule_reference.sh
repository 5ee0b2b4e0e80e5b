#!/usr/bin/env bash
# HF's learning-rate schedulers against an independent reference: tests/ref/lr_schedule_ref.py
# writes each scheduler's curve (with and without warmup, with lr_scheduler_kwargs) from HF's
# documented formulas; the test_lr_schedule unit test checks the C schedules against them.
# Usage: test_lr_schedule_reference.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BUILD=${1:?build dir}
SRC=${2:?source dir}
PY=/usr/bin/python3
if ! [ -x "$PY" ]; then
  echo "SKIP: $PY is needed for the scheduler reference curves"
  exit 77
fi
BIN="$BUILD/tests/test_lr_schedule"
[ -x "$BIN" ] || BIN="$BUILD/test_lr_schedule"
if ! [ -x "$BIN" ]; then
  echo "test_lr_schedule executable not found under $BUILD" >&2
  exit 1
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$PY" "$SRC/tests/ref/lr_schedule_ref.py" --out "$TMP/cases.txt"
SG_LR_CASES="$TMP/cases.txt" "$BIN"
