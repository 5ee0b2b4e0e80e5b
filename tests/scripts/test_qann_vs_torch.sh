#!/usr/bin/env bash
# The quantized model (LSQ quantizers of spec §2 in place) against the independent PyTorch
# reference tests/ref/qann_ref.py: logits, loss, the gradient of every weight and of every step s,
# then 10 AdamW steps with the 20-call initialisation schedule — signed and unsigned quantizers,
# levels 4, 8, 32 and a mixed-precision config. The reference only keeps cases whose quantizer
# inputs are all far from rounding boundaries (see its README), so float32 summation order
# cannot flip a rounding; the seeds below pass that check on the first try.
set -euo pipefail
BUILD=$1; SRC=$2
PY=/usr/bin/python3
if ! $PY -c "import torch, numpy" 2>/dev/null; then echo "SKIP: Debian's python3-torch is not installed"; exit 77; fi
REF="$PY $SRC/tests/ref/qann_ref.py"
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
fail=0
one() { # name, make-case arguments...
  local name=$1; shift
  $REF make-case --out "$WORK/$name" "$@" | tail -1
  if ! "$BUILD/tests/check_vs_reference" "$WORK/$name" > "$WORK/$name.log" 2>&1; then
    cat "$WORK/$name.log"; fail=1
  else
    grep -E "worst|final parameters|passed" "$WORK/$name.log"
  fi
}
one cls2-l32 --case cls2 --seed 13001 --level 32
one cls3-l8 --case cls3 --seed 102 --level 8
one cls3-l4 --case cls3 --seed 1105 --level 4
one stsb-mixed --case stsb --seed 3106 --mixed
one cls3-mixed --case cls3 --seed 16002 --mixed --init-std 0.2
exit $fail
