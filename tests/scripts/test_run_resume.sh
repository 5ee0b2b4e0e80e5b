#!/usr/bin/env bash
# Resuming `spikeglue run` reproduces the uninterrupted run bit for bit:
#   1. a run of N steps with a checkpoint every K steps and evaluation every K steps (A);
#   2. the same seed and thread count again gives identical metrics (determinism);
#   3. --resume_from_checkpoint A/checkpoint-K in a copy of A's directory gives the same
#      log_history (losses, learning rates, grad norms, eval metrics: every value but the
#      runtimes, compared exactly as JSON numbers) and the same final eval_results;
#   4. SIGTERM mid-run saves a checkpoint, prints one line naming it and exits with 130; resuming
#      from that checkpoint finishes with the uninterrupted run's log_history and metrics.
set -uo pipefail
BUILD=$1 SRC=$2
SG=$BUILD/spikeglue
[ -x "$SG" ] || { echo "no $SG"; exit 1; }
command -v python3 > /dev/null || { echo "skip: python3 is needed to parse the JSON outputs"; exit 77; }
W=$(mktemp -d)
PID=
cleanup() { [ -n "$PID" ] && kill "$PID" 2> /dev/null; rm -rf "$W"; }
trap cleanup EXIT

SANITIZED=${SG_SANITIZED:-0}
grep -qs '^SG_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" && SANITIZED=1
if [ "$SANITIZED" = 1 ]; then STEPS=40 K=10 ROWS=640; else STEPS=150 K=50 ROWS=1600; fi

fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

$SG synth --out "$W/data" --train_rows $ROWS --dev_rows 128 > /dev/null || { echo "FAIL synth"; exit 1; }
# Padding to 64 (the default) keeps steps slow enough for the signal to land mid-run.
RECIPE=(--model_name_or_path builtin:tiny --task_name sst2 --data_dir "$W/data" --do_train --do_eval
        --max_seq_length 64 --per_device_train_batch_size 32 --learning_rate 1e-3 --warmup_ratio 0.1
        --max_steps $STEPS --logging_steps 5 --eval_strategy steps --eval_steps $K --save_steps $K
        --seed 7 --threads 2)

# same_run(dir_a, dir_b): identical log_history and eval_results, runtimes aside
same_run() {
  python3 - "$1" "$2" <<'PY'
import json, sys
a, b = sys.argv[1], sys.argv[2]
def timeless(d):
    return {k: v for k, v in d.items() if "runtime" not in k and "per_second" not in k}
ha = [timeless(e) for e in json.load(open(f"{a}/trainer_state.json"))["log_history"]]
hb = [timeless(e) for e in json.load(open(f"{b}/trainer_state.json"))["log_history"]]
ea, eb = (timeless(json.load(open(f"{d}/eval_results.json"))) for d in (a, b))
errors = []
if len(ha) != len(hb): errors.append(f"log_history has {len(ha)} vs {len(hb)} entries")
for x, y in zip(ha, hb):
    if x != y: errors.append(f"step {x.get('step')}: {x} != {y}")
if not any("loss" in e for e in ha): errors.append("no loss entries")
if ea != eb: errors.append(f"eval_results {ea} != {eb}")
for e in errors[:5]: print("    ", e)
sys.exit(1 if errors else 0)
PY
}

# ---- 1. the uninterrupted run
t0=$SECONDS
$SG run "${RECIPE[@]}" --output_dir "$W/A" > "$W/A.log" 2>&1 || { echo "FAIL uninterrupted run:"; tail -5 "$W/A.log"; exit 1; }
ok "uninterrupted run: $STEPS steps, checkpoint every $K ($((SECONDS - t0)) s)"
[ -d "$W/A/checkpoint-$K" ] || { echo "FAIL no $W/A/checkpoint-$K"; exit 1; }

# ---- 2. determinism
$SG run "${RECIPE[@]}" --output_dir "$W/A2" > "$W/A2.log" 2>&1 || { echo "FAIL second run"; tail -5 "$W/A2.log"; exit 1; }
if same_run "$W/A" "$W/A2"; then ok "same seed and threads: identical log_history and eval_results"
else bad "two identical runs differ"; fi

# ---- 3. resume from checkpoint-K in a copy of the run's directory (its later state removed)
cp -r "$W/A" "$W/R"
find "$W/R" -mindepth 1 -maxdepth 1 ! -name "checkpoint-$K" -exec rm -rf {} +
$SG run "${RECIPE[@]}" --output_dir "$W/R" --resume_from_checkpoint "$W/R/checkpoint-$K" > "$W/R.log" 2>&1 ||
  { echo "FAIL resumed run:"; tail -5 "$W/R.log"; exit 1; }
if grep -q "^step $((K + 5))/" "$W/R.log" && ! grep -q "^step 5/" "$W/R.log"; then ok "resumed at step $K"
else bad "the resumed run did not start at step $K"; fi
if same_run "$W/A" "$W/R"; then ok "resume from checkpoint-$K: log_history and eval_results bit for bit"
else bad "resume from checkpoint-$K differs from the uninterrupted run"; fi

# ---- 4. SIGTERM mid-run, then resume
$SG run "${RECIPE[@]}" --output_dir "$W/S" > "$W/S.log" 2> "$W/S.err" &
PID=$!
for _ in $(seq 1 3000); do # up to 60 s for a few steps to be logged
  grep -q "^step 10/" "$W/S.log" 2> /dev/null && break
  kill -0 $PID 2> /dev/null || break
  sleep 0.02
done
kill -TERM $PID 2> /dev/null
wait $PID
rc=$?
PID=
[ $rc = 130 ] && ok "SIGTERM: exit status 130" || bad "SIGTERM: exit status $rc (expected 130)"
lines=$(grep -c . "$W/S.err")
msg=$(cat "$W/S.err")
[ "$lines" = 1 ] && ok "SIGTERM: one line on stderr: $msg" || bad "SIGTERM: $lines lines on stderr: $msg"
ck=$(sed -n 's/.*--resume_from_checkpoint \([^ ]*\).*/\1/p' "$W/S.err")
step=${ck##*checkpoint-}
if [ -n "$ck" ] && [ -f "$ck/model.safetensors" ] && [ -f "$ck/optimizer.safetensors" ] && [ -f "$ck/trainer_state.json" ]; then
  ok "SIGTERM saved $(basename "$ck") (of $STEPS steps)"
else
  bad "SIGTERM: no complete checkpoint named on stderr ('$ck')"
fi
if [ -n "$ck" ] && [ "$step" -lt $STEPS ] 2> /dev/null; then
  $SG run "${RECIPE[@]}" --output_dir "$W/S" --resume_from_checkpoint "$ck" > "$W/S2.log" 2>&1 ||
    { echo "FAIL resume after SIGTERM:"; tail -5 "$W/S2.log"; exit 1; }
  if same_run "$W/A" "$W/S"; then ok "resume after SIGTERM at step $step: log_history and eval_results bit for bit"
  else bad "resume after SIGTERM differs from the uninterrupted run"; fi
else
  bad "SIGTERM did not stop the run mid-way (step '$step' of $STEPS)"
fi

[ $fail = 0 ] && echo "all run_resume checks passed" || echo "some run_resume checks FAILED"
exit $fail
