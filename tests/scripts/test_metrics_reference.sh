#!/usr/bin/env bash
# GLUE metrics against numpy/scipy: tests/ref/metrics_ref.py writes random cases (ties, constant
# inputs, tiny n, multiclass) with reference values; the test_metrics unit test checks them all.
# Usage: test_metrics_reference.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
BUILD=${1:?build dir}
SRC=${2:?source dir}
PY=/usr/bin/python3
if ! [ -x "$PY" ] || ! "$PY" -c "import numpy, scipy" 2>/dev/null; then
  echo "SKIP: $PY with numpy and scipy is needed for the metric reference values"
  exit 77
fi
BIN="$BUILD/tests/test_metrics"
[ -x "$BIN" ] || BIN="$BUILD/test_metrics"
if ! [ -x "$BIN" ]; then
  echo "test_metrics executable not found under $BUILD" >&2
  exit 1
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$PY" "$SRC/tests/ref/metrics_ref.py" --out "$TMP/cases.txt" --seed 7 --count 300
SG_METRICS_CASES="$TMP/cases.txt" "$BIN"
