#!/usr/bin/env bash
# The C LSQ kernels against the independent PyTorch reference (tests/ref/lsq_ref.py): forward,
# dx and ds for signed and unsigned quantizers at levels 4, 8, 32 and 256, on grids with exact .5
# ties, values on and next to the clamp bounds, a non-power-of-two step with near-ties, and large
# values; then the 20-call training initialisation of s.
set -euo pipefail
BUILD=$1; SRC=$2
PY=/usr/bin/python3
if ! $PY -c "import torch, numpy" 2>/dev/null; then echo "SKIP: Debian's python3-torch is not installed"; exit 77; fi
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
for seed in 1 2; do
  $PY "$SRC/tests/ref/lsq_ref.py" make-cases --out "$WORK/cases.safetensors" --seed $seed
  "$BUILD/tests/test_lsq" --ref-run "$WORK/cases.safetensors" "$WORK/c.safetensors"
  $PY "$SRC/tests/ref/lsq_ref.py" compare --cases "$WORK/cases.safetensors" --c-out "$WORK/c.safetensors"
done
