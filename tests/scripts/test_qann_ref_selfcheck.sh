#!/usr/bin/env bash
# The quantized PyTorch reference checks itself (LSQ against the spec's formulas in float64,
# the initialisation schedule, level 256 == the unquantized reference bit for bit).
set -euo pipefail
SRC=$2
if ! /usr/bin/python3 -c "import torch, numpy" 2>/dev/null; then echo "SKIP: Debian's python3-torch is not installed"; exit 77; fi
exec /usr/bin/python3 "$SRC/tests/ref/qann_selfcheck.py"
