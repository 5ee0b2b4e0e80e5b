#!/usr/bin/env bash
# The C model against the independent PyTorch reference (tests/ref/roberta_ref.py):
# logits, loss, every gradient, 10 AdamW steps, for classification (2 and 3 labels), STS-B
# regression and GELU; padding and sentence pairs are in every batch. Then dropout on at every site
# (embeddings, attention probabilities, attention output, FFN output, both head sites, with
# classifier_dropout set, null, or alone), fed the same masks on both sides: the C model records
# the masks it draws (check_vs_reference --draw-masks), the reference applies them at its own sites
# with its own 1/(1-p). Label smoothing against torch's cross_entropy(label_smoothing=eps), alone
# and with dropout. Then checkpoints both ways: an f16 checkpoint written by PyTorch loads here,
# and one written here reads the same in PyTorch.
set -euo pipefail
BUILD=$1; SRC=$2
PY=/usr/bin/python3
if ! $PY -c "import torch, numpy" 2>/dev/null; then echo "SKIP: Debian's python3-torch is not installed"; exit 77; fi
REF="$PY $SRC/tests/ref/roberta_ref.py"
CHECK=$BUILD/tests/check_vs_reference
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
fail=0
run() { echo "== $*"; if ! "$@" > "$WORK/log" 2>&1; then cat "$WORK/log"; fail=1; else grep -E "^case|worst|final parameters|passed" "$WORK/log"; fi; }

for c in cls2 cls3 stsb gelu; do
  # std 0.3 peaks the attention so softmax gradients are far from uniform; 0.02 is HF's init
  for std in 0.02 0.3; do
    $REF make-case --out "$WORK/$c-$std" --case $c --seed 7 --init-std $std
    run $CHECK "$WORK/$c-$std"
  done
done
 # dropout cases: the C model draws the masks, the reference computes the expected outputs with them
dropout_case() { # case init-std
  local dir="$WORK/$1-$2"
  $REF make-case --out "$dir" --case $1 --seed 9 --init-std $2
  if ! $CHECK --draw-masks "$dir" > "$WORK/log" 2>&1 || ! $REF expect --case-dir "$dir" >> "$WORK/log" 2>&1; then
    echo "== $1-$2: masks / expected outputs"; cat "$WORK/log"; fail=1; return
  fi
  run $CHECK "$dir"
}
dropout_case dropout 0.02
dropout_case dropout 0.3
dropout_case dropout-null 0.3
dropout_case classifier-dropout 0.3
dropout_case smooth-dropout 0.3
$REF make-case --out "$WORK/smooth" --case smooth --seed 7 --init-std 0.3
run $CHECK "$WORK/smooth"
$REF make-case --out "$WORK/f16" --case cls2 --seed 11 --dtype f16 --init-std 0.3
run $CHECK "$WORK/f16"

# a checkpoint written by spikeglue, evaluated by the reference
$BUILD/spikeglue init-model --size tiny --num-labels 2 --vocab-size 300 --seed 5 --out "$WORK/cmodel" > /dev/null
$REF forward --model "$WORK/cmodel" --batch "$WORK/cls2-0.3/batch.json" --out "$WORK/cmodel-ref.safetensors"
run $CHECK --forward "$WORK/cmodel" "$WORK/cls2-0.3/batch.json" "$WORK/cmodel-ref.safetensors"
exit $fail
