#!/usr/bin/env bash
# `spikeglue run` on real GLUE data (../shared/glue) with builtin:tiny and the RoBERTa BPE
# tokenizer (the built-in model takes its vocabulary size from the tokenizer), a few hundred
# rows per task. Checks the mechanics, not scores:
#   MRPC through the flows: baseline, QAT from it, eval after transform, eval with the QAT
#   weights (flow 3, identical metrics), and --do_predict (predict_results_mrpc.txt with label
#   names); STS-B (regression: eval_pearson, eval_spearmanr, eval_combined_score; predictions are
#   numbers); CoLA (eval_matthews_correlation).
# The shared GLUE has no test.tsv: the test writes small ones in GLUE's test layout into temporary
# task folders whose train/dev files link to the shared ones.
set -uo pipefail
BUILD=$1 SRC=$2
SG=$BUILD/spikeglue
CFG=$SRC/configs/transform_cfg.yaml
SHARED=$SRC/../shared
TOK=$SHARED/tokenizer/roberta-base
[ -x "$SG" ] || { echo "no $SG"; exit 1; }
for f in glue/MRPC/dev.tsv glue/STS-B/dev.tsv glue/CoLA/dev.tsv tokenizer/roberta-base/vocab.json; do
  [ -f "$SHARED/$f" ] || { echo "skip: $SHARED/$f is absent (the shared GLUE data and tokenizer are needed)"; exit 77; }
done
command -v python3 > /dev/null || { echo "skip: python3 is needed to parse the JSON outputs"; exit 77; }
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT

SANITIZED=${SG_SANITIZED:-0}
grep -qs '^SG_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" && SANITIZED=1
if [ "$SANITIZED" = 1 ]; then TRAIN=64 EVAL=32; else TRAIN=320 EVAL=160; fi
PREDICT=24 # rows of each test.tsv

fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
run() { # name, args...
  local name=$1; shift
  local t0=$SECONDS
  if "$SG" run "$@" > "$W/$name.log" 2>&1; then ok "$name ($((SECONDS - t0)) s)"; return 0; fi
  bad "$name exited non-zero; last lines:"; tail -5 "$W/$name.log"
  return 1
}
# keys(file, key...): every key present and a finite number
keys() {
  local file=$1; shift
  if python3 - "$file" "$@" <<'PY'; then ok "$(basename "$(dirname "$file")")/$(basename "$file"): $*"; else bad "$file lacks some of: $*"; fi
import json, math, sys
d = json.load(open(sys.argv[1]))
missing = [k for k in sys.argv[2:] if not (isinstance(d.get(k), (int, float)) and math.isfinite(d[k]))]
if missing: print("    missing or not finite:", missing, "in", sorted(d))
sys.exit(1 if missing else 0)
PY
}
# predictions(file, rows, kind): `index\tprediction`, indices 0..rows-1, label names or numbers
predictions() {
  if python3 - "$@" <<'PY'; then ok "$(basename "$1"): $2 rows of index<TAB>prediction ($3)"; else bad "$1: bad predictions file"; fi
import sys
path, rows, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
lines = open(path).read().split("\n")
assert lines[-1] == "", "no final newline"
lines = lines[:-1]
assert lines[0] == "index\tprediction", f"header {lines[0]!r}"
body = [l.split("\t") for l in lines[1:]]
assert len(body) == rows, f"{len(body)} rows, expected {rows}"
for i, row in enumerate(body):
    assert len(row) == 2 and row[0] == str(i), f"row {i}: {row}"
    if kind == "number": float(row[1])
    else: assert row[1] in kind.split(","), f"row {i}: label {row[1]!r} not in {kind}"
PY
}

# Temporary task folders: train/dev linked to the shared files, a small test.tsv in GLUE's layout.
G=$W/glue
mkdir -p "$G/MRPC" "$G/STS-B" "$G/CoLA"
for t in MRPC STS-B CoLA; do
  ln -s "$SHARED/glue/$t/train.tsv" "$G/$t/train.tsv"
  ln -s "$SHARED/glue/$t/dev.tsv" "$G/$t/dev.tsv"
done
python3 - "$SHARED/glue" "$G" $PREDICT <<'PY' || { echo "FAIL writing test.tsv files"; exit 1; }
import sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def rows(path, header):
    lines = open(path, encoding="utf-8-sig").read().split("\n")
    lines = [l for l in lines if l]
    return [l.split("\t") for l in (lines[1:] if header else lines)][:n]
with open(f"{dst}/MRPC/test.tsv", "w") as f:  # index #1 ID #2 ID #1 String #2 String
    f.write("index\t#1 ID\t#2 ID\t#1 String\t#2 String\n")
    for i, r in enumerate(rows(f"{src}/MRPC/dev.tsv", True)): f.write("\t".join([str(i)] + r[1:5]) + "\n")
with open(f"{dst}/STS-B/test.tsv", "w") as f:  # the dev columns without the score
    f.write("index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\n")
    for r in rows(f"{src}/STS-B/dev.tsv", True): f.write("\t".join(r[:9]) + "\n")
with open(f"{dst}/CoLA/test.tsv", "w") as f:  # index sentence
    f.write("index\tsentence\n")
    for i, r in enumerate(rows(f"{src}/CoLA/dev.tsv", False)): f.write(f"{i}\t{r[3]}\n")
PY

COMMON=(--data_dir "$G" --max_seq_length 128 --pad_to_max_length false
        --max_train_samples $TRAIN --max_eval_samples $EVAL --per_device_train_batch_size 32
        --per_device_eval_batch_size 32 --learning_rate 1e-3 --warmup_ratio 0.1 --seed 42)

# Runs from builtin:tiny name the tokenizer; runs from a saved model directory find it there.
TINY=(--model_name_or_path builtin:tiny --tokenizer_name "$TOK")

# ---- MRPC: baseline with predictions
B=$W/mrpc_base
run mrpc_baseline "${TINY[@]}" --task_name mrpc --do_train --do_eval --do_predict "${COMMON[@]}" \
  --num_train_epochs 2 --logging_steps 5 --eval_strategy epoch --save_strategy epoch --output_dir "$B" || exit 1
grep -q "tokenizer $TOK" "$W/mrpc_baseline.log" && ok "the BPE tokenizer is used" || bad "the BPE tokenizer is not reported"
python3 - "$B/config.json" <<'PY' && ok "builtin:tiny took the tokenizer's 50265 ids" || bad "config.json vocab_size is not the tokenizer's"
import json, sys; sys.exit(0 if json.load(open(sys.argv[1]))["vocab_size"] == 50265 else 1)
PY
CK=$(ls -d "$B"/checkpoint-* | head -1)
for f in vocab.json merges.txt; do
  [ -f "$B/$f" ] && [ -f "$CK/$f" ] && ok "$f saved with the model and in $(basename "$CK")" || bad "$f not saved with the model"
done
keys "$B/eval_results.json" eval_loss eval_accuracy eval_f1 eval_combined_score eval_samples epoch
keys "$B/train_results.json" train_loss train_runtime train_samples_per_second train_steps_per_second
keys "$B/all_results.json" eval_accuracy eval_f1 train_loss
predictions "$B/predict_results_mrpc.txt" $PREDICT "not_equivalent,equivalent"

# ---- MRPC flow 1: QAT from the fine-tuned baseline (its tokenizer files come with it)
Q=$W/mrpc_qat
run mrpc_qat --model_name_or_path "$B" --transform_config "$CFG" --task_name mrpc --do_train --do_eval "${COMMON[@]}" \
  --num_train_epochs 1 --logging_steps 5 --save_strategy no --output_dir "$Q" || exit 1
grep -q "(quantized)" "$W/mrpc_qat.log" && ok "QAT model is quantized" || bad "QAT model not reported as quantized"
grep -q "tokenizer $B" "$W/mrpc_qat.log" && ok "QAT found the tokenizer in the baseline's directory" || bad "QAT did not use the baseline's tokenizer"
keys "$Q/eval_results.json" eval_loss eval_accuracy eval_f1

# ---- MRPC flow 2: evaluation right after the transform (s = 1.0, then calibrated)
run mrpc_eval_after_transform --model_name_or_path "$B" --transform_config "$CFG" --task_name mrpc --do_eval \
  "${COMMON[@]}" --output_dir "$W/mrpc_flow2" || exit 1
keys "$W/mrpc_flow2/eval_results.json" eval_loss eval_accuracy eval_f1
run mrpc_eval_after_transform_calibrated --model_name_or_path "$B" --transform_config "$CFG" --task_name mrpc --do_eval \
  "${COMMON[@]}" --lsq_calibrate_batches 2 --output_dir "$W/mrpc_flow2_cal" || exit 1
keys "$W/mrpc_flow2_cal/eval_results.json" eval_loss eval_accuracy eval_f1

# ---- MRPC flow 3: the QAT weights after the transform reproduce the QAT metrics; predictions too
run mrpc_eval_qat_weights --model_name_or_path "$B" --transform_config "$CFG" --model_weights_path "$Q" --task_name mrpc \
  --do_eval --do_predict "${COMMON[@]}" --output_dir "$W/mrpc_flow3" || exit 1
if python3 - "$Q/eval_results.json" "$W/mrpc_flow3/eval_results.json" <<'PY'; then ok "flow 3 reproduces the QAT eval metrics exactly"; else bad "flow 3 differs from QAT"; fi
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
keys = [k for k in a if k.startswith("eval_") and "runtime" not in k and "per_second" not in k]
diff = [(k, a[k], b.get(k)) for k in keys if a[k] != b.get(k)]
for d in diff: print("    ", d)
sys.exit(1 if diff or not keys else 0)
PY
predictions "$W/mrpc_flow3/predict_results_mrpc.txt" $PREDICT "not_equivalent,equivalent"

# ---- STS-B: regression metrics, numeric predictions
S=$W/stsb_base
run stsb_baseline "${TINY[@]}" --task_name stsb --do_train --do_eval --do_predict "${COMMON[@]}" \
  --num_train_epochs 1 --save_strategy no --output_dir "$S" || exit 1
keys "$S/eval_results.json" eval_loss eval_pearson eval_spearmanr eval_combined_score epoch
python3 - "$S/eval_results.json" <<'PY' && ok "STS-B combined score = mean of Pearson and Spearman" || bad "STS-B combined score"
import json, sys
d = json.load(open(sys.argv[1])); sys.exit(0 if abs(d["eval_combined_score"] - (d["eval_pearson"] + d["eval_spearmanr"]) / 2) < 1e-12 else 1)
PY
predictions "$S/predict_results_stsb.txt" $PREDICT number

# ---- CoLA: Matthews correlation, label names
C=$W/cola_base
run cola_baseline "${TINY[@]}" --task_name cola --do_train --do_eval --do_predict "${COMMON[@]}" \
  --num_train_epochs 1 --save_strategy no --output_dir "$C" || exit 1
keys "$C/eval_results.json" eval_loss eval_matthews_correlation
predictions "$C/predict_results_cola.txt" $PREDICT "unacceptable,acceptable"

[ $fail = 0 ] && echo "all run_glue_flows checks passed" || echo "some run_glue_flows checks FAILED"
exit $fail
