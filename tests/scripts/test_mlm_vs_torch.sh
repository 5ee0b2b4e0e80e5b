#!/usr/bin/env bash
# The masked-LM model (encoder + lm_head, decoder tied to the word embeddings) against the
# independent PyTorch reference (tests/ref/mlm_ref.py): logits at every position, the MLM loss
# (ignore index -100), every gradient (the tied decoder's inside the word embeddings'), 10 AdamW
# steps with HF's decay groups (no decay on biases and every LayerNorm weight, lm_head.layer_norm's
# included), the final logits and parameters; ReLU and GELU encoders, the decoder stored in the
# checkpoint or not, HF's init std and a peaked one; then a checkpoint spikeglue pretrain wrote,
# read by the reference.
set -euo pipefail
BUILD=$1; SRC=$2
PY=/usr/bin/python3
if ! $PY -c "import torch, numpy" 2>/dev/null; then echo "SKIP: Debian's python3-torch is not installed"; exit 77; fi
REF_PY=${SG_MLM_REF:-$SRC/tests/ref/mlm_ref.py}
if [ ! -f "$REF_PY" ]; then echo "SKIP: $REF_PY (the PyTorch masked-LM reference) is absent"; exit 77; fi
REF="$PY $REF_PY"
CHECK=$BUILD/tests/check_mlm_vs_reference
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
fail=0
run() { echo "== $*"; if ! "$@" > "$WORK/log" 2>&1; then cat "$WORK/log"; fail=1; else grep -E "^case|worst|final parameters|passed" "$WORK/log"; fi; }

for c in mlm-relu mlm-gelu mlm-relu-decoder; do
  # std 0.3 peaks the attention and the vocabulary softmax; 0.02 is HF's init
  for std in 0.02 0.3; do
    $REF make-case --out "$WORK/$c-$std" --case $c --seed 7 --init-std $std
    run $CHECK "$WORK/$c-$std"
  done
done

# a checkpoint written by spikeglue pretrain (3 steps from a case's model on a few lines of text,
# built-in byte tokenizer: its 261 ids fit the case's 300) read by the reference: logits and loss
printf 'the cat sat on the mat\nspiking networks count events\n%.0s' $(seq 1 40) > "$WORK/text.txt"
if $BUILD/spikeglue pretrain --model_name_or_path "$WORK/mlm-gelu-0.3/model" --train_file "$WORK/text.txt" --do_train \
     --max_steps 3 --max_seq_length 24 --per_device_train_batch_size 4 --learning_rate 1e-3 --save_strategy no \
     --output_dir "$WORK/pretrained" > "$WORK/log" 2>&1; then
  $REF forward --model "$WORK/pretrained" --batch "$WORK/mlm-gelu-0.3/batch.json" --out "$WORK/pretrained-ref.safetensors"
  run $CHECK --forward "$WORK/pretrained" "$WORK/mlm-gelu-0.3/batch.json" "$WORK/pretrained-ref.safetensors"
else
  cat "$WORK/log"; fail=1
fi
exit $fail
