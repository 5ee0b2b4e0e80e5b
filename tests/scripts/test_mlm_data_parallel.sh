#!/usr/bin/env bash
# spikeglue pretrain --dp 2 under mpirun against one process at the same global batch (issue #18
# with #16's data parallelism): the collator masks the global micro-batch before it is split, and
# each replica's loss is its share of the mean over the global batch's labelled tokens, so the
# loss and grad_norm of every step and every eval_loss and eval_accuracy agree within 1e-5 relative (measured 1e-7).
set -uo pipefail
BUILD=$(cd "$1" && pwd); SRC=$(cd "$2" && pwd)
SG=$BUILD/spikeglue
command -v mpirun > /dev/null || { echo "SKIP: mpirun not installed"; exit 77; }
SHARED=$(cd "$SRC/.." && pwd)/shared
[ -f "$SHARED/glue/RTE/train.tsv" ] || { echo "SKIP: $SHARED/glue/RTE/train.tsv is absent (the shared GLUE data are needed)"; exit 77; }
source "$SRC/tests/scripts/lib/mpi_env.sh"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
mkdir -p "$W/glue" && ln -s "$SHARED/glue/RTE" "$W/glue/RTE"
# 500 rows: each epoch's last micro-batch is 4 rows (of 16), so the second replica has none then
C=(--model_name_or_path builtin:tiny --glue_dir "$W/glue" --max_seq_length 32 --max_train_samples 500 --max_eval_samples 100
   --per_device_eval_batch_size 16 --learning_rate 2e-3 --do_train --do_eval --max_steps 40 --logging_steps 1
   --eval_strategy steps --eval_steps 20 --save_strategy no --seed 4)
fail=0
"$SG" pretrain "${C[@]}" --per_device_train_batch_size 16 --output_dir "$W/one" > "$W/one.log" 2>&1 || { tail -5 "$W/one.log"; fail=1; }
mpirun -n 2 "$SG" pretrain "${C[@]}" --per_device_train_batch_size 8 --dp 2 --output_dir "$W/dp" > "$W/dp.log" 2>&1 \
  || { tail -5 "$W/dp.log"; fail=1; }
[ $fail = 0 ] || exit 1
/usr/bin/python3 - "$W/one" "$W/dp" <<'PY'
import json, sys
a, b = (json.load(open(d + "/trainer_state.json"))["log_history"] for d in sys.argv[1:3])
worst, n = 0.0, 0
for x, y in zip(a, b):
    for k in ("loss", "grad_norm", "eval_loss", "eval_accuracy"):
        if k in x:
            worst, n = max(worst, abs(x[k] - y[k]) / max(abs(x[k]), 1e-3)), n + 1
ok = len(a) == len(b) and n >= 84 and worst <= 1e-5
print(f"{'ok  ' if ok else 'FAIL'} --dp 2 = one process: {n} logged values, worst relative difference {worst:.2e}")
sys.exit(0 if ok else 1)
PY
