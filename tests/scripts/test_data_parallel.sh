# spikeglue run --dp D (issue #16 item 1): D replicas splitting every global batch train as one
# process with the same global batch does, up to float summation order. Each case runs
# `run --per_device_train_batch_size 8` and `mpirun -n 2 run --dp 2 --per_device_train_batch_size 4`
# (dropout on, 14 AdamW steps) and requires the loss and grad_norm of every step, the in-training
# and final evaluations to agree within 1e-4 relative. 100 training rows make each epoch's last
# micro-batch 4 rows: the second replica then has none and must still join every reduction.
set -uo pipefail
BUILD=$(cd "$1" && pwd); SRC=$(cd "$2" && pwd)
SGX=$BUILD/spikeglue
command -v mpirun > /dev/null || { echo "SKIP: mpirun not installed"; exit 77; }
[ -x "$SGX" ] && [ -x "$BUILD/tests/dp_eval_check" ] || { echo "no $SGX or $BUILD/tests/dp_eval_check"; exit 1; }
source "$SRC/tests/scripts/lib/mpi_env.sh"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
fail=0
t0=$SECONDS
"$SGX" synth --out "$W/syn" --train_rows 100 --dev_rows 32 > /dev/null || { echo "FAIL synth"; exit 1; }
BASE=(--model_name_or_path builtin:tiny --task_name sst2 --data_dir "$W/syn" --do_train --do_eval --max_steps 14
      --logging_steps 1 --eval_strategy steps --eval_steps 7 --save_strategy steps --save_steps 7
      --max_seq_length 32 --seed 3 --learning_rate 1e-3)

run() { # name, ranks (0: no mpirun), flags...
  local name=$1 n=$2; shift 2
  if [ "$n" = 0 ]; then "$SGX" run "$@" --output_dir "$W/$name" > "$W/$name.log" 2>&1
  else mpirun -n "$n" "$SGX" run "$@" --output_dir "$W/$name" > "$W/$name.log" 2>&1; fi
  local rc=$?
  if [ $rc != 0 ]; then echo "FAIL $name: exit $rc"; tail -5 "$W/$name.log"; fail=1; else echo "ran  $name"; fi
}

# the loss and grad_norm of every step, every evaluation, and the final eval_results.json
compare() { # a, b, label
  /usr/bin/python3 - "$W/$1" "$W/$2" "$3" <<'PY' || fail=1
import json, sys
a, b, label = sys.argv[1:4]
def load(d):
    try:
        hist = json.load(open(f"{d}/trainer_state.json"))["log_history"]
        return hist, json.load(open(f"{d}/eval_results.json"))
    except (OSError, ValueError, KeyError) as e:
        return None, str(e)
(ha, ea), (hb, eb) = load(a), load(b)
if ha is None or hb is None:
    print(f"FAIL {label}: missing results ({ea if ha is None else eb})"); sys.exit(1)
def series(h, key): return [(e["step"], e[key]) for e in h if key in e and "train_runtime" not in e]
worst, bad = {}, []
for key in ("loss", "grad_norm", "eval_loss", "eval_accuracy"):
    x, y = series(ha, key), series(hb, key)
    if len(x) != len(y) or [s for s, _ in x] != [s for s, _ in y] or not x:
        bad.append(f"{key}: steps {[s for s, _ in x]} vs {[s for s, _ in y]}"); continue
    worst[key] = max(abs(p - q) / max(abs(p), 1e-6) for (_, p), (_, q) in zip(x, y))
for key in ("eval_loss", "eval_accuracy"):
    worst["final " + key] = abs(ea[key] - eb[key]) / max(abs(ea[key]), 1e-6)
steps = len(series(ha, "loss"))
if steps < 10: bad.append(f"only {steps} logged steps")
bad += [f"{k} {v:.2e} > 1e-4" for k, v in worst.items() if v > 1e-4]
print(("FAIL " if bad else "ok   ") + f"{label}: {steps} steps, max rel diff " + ", ".join(f"{k} {v:.1e}" for k, v in worst.items())
      + ("; " + "; ".join(bad) if bad else ""))
sys.exit(1 if bad else 0)
PY
}

# dropout must be on for the comparison to mean anything
run dp1 0 "${BASE[@]}" --per_device_train_batch_size 8
if /usr/bin/python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); sys.exit(0 if c["hidden_dropout_prob"] > 0 and c["attention_probs_dropout_prob"] > 0 else 1)' "$W/dp1/config.json"; then
  echo "ok   dropout is on (hidden and attention)"
else echo "FAIL the model runs without dropout: the comparison would not test the masks"; fail=1; fi
run dp2 2 "${BASE[@]}" --per_device_train_batch_size 4 --dp 2
compare dp1 dp2 "dp=2 x 4 rows vs dp=1 x 8 rows, dropout on"
grep -q 'data parallel: 2 replicas, each 4 of every 8 training rows' "$W/dp2.log" \
  && echo "ok   run --dp 2 reports its replicas" || { echo "FAIL run --dp 2 log"; fail=1; }

# QAT: LSQ step initialisation (statistics reduced over the replicas) and step gradients, with accumulation
QAT=(--transform_config "$SRC/configs/levels/q8.yaml" --gradient_accumulation_steps 2)
run qat1 0 "${BASE[@]}" "${QAT[@]}" --per_device_train_batch_size 8
run qat2 2 "${BASE[@]}" "${QAT[@]}" --per_device_train_batch_size 4 --dp 2
compare qat1 qat2 "QAT (q8, 2 accumulated micro-batches): dp=2 x 4 vs dp=1 x 8"

# tensor parallelism inside: 2 replicas x 2 tensor-parallel ranks (mpirun -n 4)
run qat4 4 "${BASE[@]}" "${QAT[@]}" --per_device_train_batch_size 4 --dp 2 --tp 2
compare qat1 qat4 "QAT with --tp 2 inside --dp 2 (-n 4) vs dp=1 x 8"

# LSQ calibration sharded: a calibration batch of 2 x 4 rows, the statistics summed over the
# replicas, gives every quantizer the step one process gets from a batch of 8 rows. One AdamW step
# at learning rate 0 saves the calibrated steps (calibrated steps are not re-initialised).
CAL=(--model_name_or_path builtin:tiny --task_name sst2 --data_dir "$W/syn" --do_train --max_steps 1 --learning_rate 0
     --max_seq_length 32 --transform_config "$SRC/configs/levels/q4.yaml" --lsq_calibrate_batches 1)
run cal1 0 "${CAL[@]}" --per_device_train_batch_size 8
run cal2 2 "${CAL[@]}" --per_device_train_batch_size 4 --dp 2
/usr/bin/python3 - "$W/cal1/model.safetensors" "$W/cal2/model.safetensors" <<'PY' || fail=1
import json, struct, sys
def steps(path):  # safetensors: u64 header length, JSON header, then the data; the steps are f32 scalars
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]; h = json.loads(f.read(n)); data = f.read()
    return {k: struct.unpack("<f", data[v["data_offsets"][0]:v["data_offsets"][0] + 4])[0]
            for k, v in h.items() if k.endswith("_quan.s") and v["dtype"] == "F32"}
try: a, b = steps(sys.argv[1]), steps(sys.argv[2])
except (OSError, ValueError, KeyError) as e: print(f"FAIL sharded calibration: {e}"); sys.exit(1)
d = max((abs(a[k] - b[k]) / abs(a[k]) for k in a), default=float("inf")) if a and a.keys() == b.keys() else float("inf")
print(("ok   " if d <= 1e-6 else "FAIL ") + f"LSQ calibration dp=2 x 4 vs dp=1 x 8: {len(a)} steps, max rel diff {d:.1e}")
sys.exit(0 if d <= 1e-6 else 1)
PY

# a dp=2 checkpoint resumes at dp=1 and ends where the uninterrupted runs end
if [ -d "$W/dp2/checkpoint-7" ]; then
  run resume1 0 "${BASE[@]}" --per_device_train_batch_size 8 --resume_from_checkpoint "$W/dp2/checkpoint-7"
  compare dp1 resume1 "dp=2 checkpoint-7 resumed at dp=1 vs uninterrupted dp=1"
  grep -q 'resumed from .*checkpoint-7 at step 7' "$W/resume1.log" && echo "ok   resumed at step 7" || { echo "FAIL resume log"; fail=1; }
else echo "FAIL the dp=2 run wrote no checkpoint-7"; fail=1; fi

# one writer: the second replica writes nothing beside the first's files
n_ckpt=$(ls -d "$W"/dp2/checkpoint-* 2> /dev/null | wc -l)
[ "$n_ckpt" = 2 ] && echo "ok   one writer: 2 checkpoints in output_dir" || { echo "FAIL $n_ckpt checkpoints"; fail=1; }

# evaluation and prediction sharded over 3 replicas (7 batches of 5 rows: uneven): the metrics,
# the loss and the predictions file equal one process's exactly, classification and regression
awk -F'\t' 'NR == 1 {print "index\tsentence"; next} {print NR - 2 "\t" $1}' "$W/syn/SST-2/dev.tsv" > "$W/syn/SST-2/test.tsv"
for task in sst2 stsb; do
  PRED=(); [ $task = sst2 ] && PRED=(--do_predict)
  EV=(--model_name_or_path builtin:tiny --task_name $task --data_dir "$W/syn" --do_eval "${PRED[@]}" --max_seq_length 32
      --per_device_eval_batch_size 5)
  run ev1$task 0 "${EV[@]}"
  run ev3$task 3 "${EV[@]}" --dp 3
  /usr/bin/python3 - "$W/ev1$task/eval_results.json" "$W/ev3$task/eval_results.json" $task <<'PY' || fail=1
import json, sys
try: a, b = (json.load(open(p)) for p in sys.argv[1:3])
except (OSError, ValueError) as e: print(f"FAIL sharded evaluation {sys.argv[3]}: {e}"); sys.exit(1)
keys = [k for k in a if "runtime" not in k and "per_second" not in k]
diff = [k for k in keys if a[k] != b.get(k)]
print(("FAIL " if diff or len(keys) < 3 else "ok   ") + f"{sys.argv[3]} evaluation sharded over 3 replicas = 1 process exactly: "
      + ", ".join(f"{k} {a[k]:.6g}" for k in keys) + (f"; differ: {diff}" if diff else ""))
sys.exit(1 if diff or len(keys) < 3 else 0)
PY
done
if [ -s "$W/ev1sst2/predict_results_sst2.txt" ] && cmp -s "$W/ev1sst2/predict_results_sst2.txt" "$W/ev3sst2/predict_results_sst2.txt"; then
  echo "ok   predict_results_sst2.txt sharded over 3 replicas = 1 process, byte for byte"
else echo "FAIL sharded predictions differ"; fail=1; fi

# ... and it is really sharded: replica 0's result holds the rows the other replicas evaluated
if mpirun -n 3 "$BUILD/tests/dp_eval_check" > "$W/dp_eval_check.log" 2>&1; then
  echo "ok   sharded evaluation gathers the other replicas' rows: $(grep -o '[0-9]* of [0-9]* predictions came from' "$W/dp_eval_check.log")"
  echo "ok   $(grep -o 'shard: .*' "$W/dp_eval_check.log")"
else echo "FAIL dp_eval_check"; tail -5 "$W/dp_eval_check.log"; fail=1; fi

# the spiking simulation sharded over every rank of the run (issue #16 item 2): 32 dev rows in
# batches of 5 (7 batches, the last of 2 rows: uneven over 2 and 4 ranks). snn_results.json (every
# metric, the metric by step, settle steps, SOPs, energy, every spike statistic) and the SNN keys of
# all_results.json equal one process's exactly; only simulation_seconds may differ. Classification
# from the QAT model above; regression (STS-B) from a model calibrated once at dp=1.
run stsbq 0 --model_name_or_path builtin:tiny --task_name stsb --data_dir "$W/syn" --do_train --max_steps 1 --learning_rate 0 \
  --max_seq_length 32 --transform_config "$SRC/configs/levels/q8.yaml" --lsq_calibrate_batches 1 --per_device_train_batch_size 8
for task in sst2 stsb; do
  weights=$W/qat1; [ $task = stsb ] && weights=$W/stsbq
  SNN=(--model_name_or_path builtin:tiny --task_name $task --data_dir "$W/syn" --max_seq_length 32
       --transform_config "$SRC/configs/levels/q8.yaml" --model_weights_path "$weights" --convert_to_snn --snn_eval
       --per_device_eval_batch_size 5)
  run snn1$task 0 "${SNN[@]}"
  run snn2$task 2 "${SNN[@]}" --dp 2
  run snn4$task 4 "${SNN[@]}" --dp 2 --tp 2
  for par in 2 4; do
    /usr/bin/python3 - "$W/snn1$task" "$W/snn$par$task" "$task, $par ranks" <<'PY' || fail=1
import json, sys
a, b, label = sys.argv[1:4]
def load(d):
    r = json.load(open(f"{d}/snn_results.json"))
    r["settings"].pop("simulation_seconds", None)  # the only timing key
    return r, {k: v for k, v in json.load(open(f"{d}/all_results.json")).items() if "snn" in k or "energy" in k}
try: (ra, aa), (rb, ab) = load(a), load(b)
except (OSError, ValueError, KeyError) as e: print(f"FAIL sharded SNN {label}: {e}"); sys.exit(1)
def diffs(x, y, path=""):
    if isinstance(x, dict) and isinstance(y, dict):
        return [d for k in sorted(set(x) | set(y)) for d in diffs(x.get(k), y.get(k), f"{path}.{k}")]
    if isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        return [d for i, (p, q) in enumerate(zip(x, y)) for d in diffs(p, q, f"{path}[{i}]")]
    return [] if x == y else [f"{path}: {x} vs {y}"]
bad = diffs(ra, rb) + diffs(aa, ab)
st = ra["stats"]
by_step = next((v for k, v in ra.items() if k.endswith("_by_step")), [])
if st["samples"] != 32 or not st["entries"] or not by_step or len(aa) < 5:
    bad.append(f"too little to compare: {st['samples']} samples, {len(st['entries'])} entries, {len(by_step)} steps, {len(aa)} keys")
print(("FAIL " if bad else "ok   ") + f"SNN {label} = 1 process exactly: {ra['metrics']}, {len(by_step)} steps by step, "
      f"{len(st['entries'])} statistics entries, {st['total']['sops']} SOPs" + ("; differ: " + "; ".join(bad[:5]) if bad else ""))
sys.exit(1 if bad else 0)
PY
  done
  grep -q 'spiking simulation sharded over 4 ranks' "$W/snn4$task.log" && echo "ok   $task: the simulation ran on all 4 ranks" \
    || { echo "FAIL $task: no 'sharded over 4 ranks' in the log"; fail=1; }
done
[ -d "$W/snn2sst2/snn_model" ] && echo "ok   the writer saved snn_model" || { echo "FAIL no snn_model from the dp=2 run"; fail=1; }

# a world that does not match D x P is one clear line, not a hang
mpirun -n 2 "$SGX" run "${BASE[@]}" --per_device_train_batch_size 4 --dp 3 --output_dir "$W/bad" > "$W/bad.log" 2>&1
rc=$?
if [ $rc != 0 ] && grep -q -- '--dp 3 needs mpirun -n 3, but there are 2 MPI ranks' "$W/bad.log"; then
  echo "ok   --dp 3 under mpirun -n 2 is refused with the rank count"
else echo "FAIL --dp 3 under -n 2: exit $rc"; tail -3 "$W/bad.log"; fail=1; fi

echo "total $((SECONDS - t0)) s"
exit $fail
