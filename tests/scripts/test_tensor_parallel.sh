#!/usr/bin/env bash
# Tensor parallelism (issue 7, docs/tensor-parallel.md): a model distributed over tp = 1, 2, 3
# ranks (mpirun, oversubscribed) gives the single-process result within float tolerance —
# logits before training, losses and gradient norms over 10 AdamW steps, logits, eval loss and
# accuracy after — on the small geometry (256 hidden, 1024 ffn, 3 labels):
#   tp=1 and tp=3 in blocks of 48 features and 5 tokens (dividing none of 256, 1024, 3 and 128
#   or 8 tokens; 3 ranks divide none of them either),
#   tp=2 in blocks of 300 features and 64 tokens (larger than 256, 3 and the classifier's 8 rows:
#   rank 1 owns none of those; 1024 = 300+300+300+124),
#   tp=2 with LSQ quantizers in blocks of 40 x 7 (tiny geometry).
# tp=3 also initialises the distributed model itself (each rank its own rows: the same values).
# Replicated tensors stay bit-identical across the ranks. Checkpoints: saved at tp=1 after 5
# steps and resumed at tp=2 for 5 (matches 10 uninterrupted steps); that tp=2 checkpoint loaded
# at tp=1 gives the same logits; gathering back to tp=1 (the spiking fallback) keeps the logits.
# Prints the max differences. The sanitizer build runs the tiny geometry throughout.
set -uo pipefail
BUILD=$(cd "$1" && pwd); SRC=$(cd "$2" && pwd)
TOOL=$BUILD/tests/tp_check
command -v mpirun > /dev/null || { echo "SKIP: mpirun not installed"; exit 77; }
[ -x "$TOOL" ] || { echo "no $TOOL"; exit 1; }
PY=/usr/bin/python3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_mpi_yield_when_idle=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
SIZE=small LSQ_SIZE=tiny
SANITIZED=${SG_SANITIZED:-0}
grep -qs '^SG_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" && SANITIZED=1
if [ "$SANITIZED" = 1 ]; then
  SIZE=tiny
  # Open MPI's runtime allocations are its own: full unwinding keeps libmpi.so in their stacks,
  # where tests/lsan.supp matches it (as test_sweep_mpi.sh). BLACS's buffers are freed by
  # sg_tp_free (Cblacs_exit), so nothing of ScaLAPACK needs suppressing.
  export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$SRC/tests/lsan.supp:print_suppressions=0}"
  export ASAN_OPTIONS="${ASAN_OPTIONS:-}:fast_unwind_on_malloc=0"
fi
fail=0
t0=$SECONDS
run() { # name, ranks (0: no MPI), tool flags...
  local name=$1 n=$2 t=$SECONDS; shift 2
  if [ "$n" = 0 ]; then "$TOOL" --tp 0 --size $SIZE "$@" > "$W/$name.json" 2> "$W/$name.err"
  else mpirun -n "$n" "$TOOL" --tp "$n" --size $SIZE "$@" > "$W/$name.json" 2> "$W/$name.err"; fi
  local rc=$?
  if [ $rc != 0 ] || [ ! -s "$W/$name.json" ]; then echo "FAIL $name: exit $rc"; tail -5 "$W/$name.err"; fail=1
  elif [ "$n" != 0 ] && ! grep -q '"replicas_identical": 1' "$W/$name.json"; then echo "FAIL $name: replicated tensors differ across ranks"; fail=1
  else echo "ran  $name ($((SECONDS - t)) s)"; fi
}
# compare name_a name_b keys...: print max |a - b| per key, fail above tolerance
compare() {
  "$PY" - "$W" "$@" <<'PY' || fail=1
import json, sys
w, a, b, label, keys = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
A = json.load(open(f"{w}/{a}.json")); B = json.load(open(f"{w}/{b}.json"))
tol = {"logits0": 1e-5, "logits": 2e-4, "losses": 1e-4, "norms": 1e-3, "eval_loss": 1e-4, "accuracy": 0.0,
       "logits_detached": 1e-6}
bad = False; parts = []
for k in keys:
    ka, kb = (k.split("=") + [k])[:2] if "=" in k else (k, k)
    x, y = A[ka], B[kb]
    x = x if isinstance(x, list) else [x]; y = y if isinstance(y, list) else [y]
    if len(x) != len(y): print(f"FAIL {label}: {k}: {len(x)} vs {len(y)} values"); bad = True; continue
    d = max(abs(p - q) for p, q in zip(x, y)); t = tol[kb]
    if kb == "norms": d = max(abs(p - q) / max(abs(q), 1e-6) for p, q in zip(x, y))
    parts.append(f"{ka}{'' if ka == kb else '~' + kb} {d:.2e}")
    if d > t: bad = True; parts[-1] += f" (> {t:g})"
print(("FAIL " if bad else "ok   ") + label + ": max diff " + ", ".join(parts))
sys.exit(1 if bad else 0)
PY
}
ALL="logits0 losses norms logits eval_loss accuracy"
run ref 0 --steps 10
run tp1 1 --steps 10 --nb 48 --nbt 5
run tp2 2 --steps 10 --nb 300 --nbt 64 --detach 1
run tp3 3 --steps 10 --nb 48 --nbt 5 --init_distributed 1
SIZE=$LSQ_SIZE run reflsq 0 --steps 10 --lsq 1
SIZE=$LSQ_SIZE run tp2lsq 2 --steps 10 --lsq 1 --nb 40 --nbt 7
compare tp1 ref "tp=1 vs single process (blocks 48 x 5)" $ALL
compare tp2 ref "tp=2 vs single process (blocks 300 x 64: rank 1 owns no 256- or 3-row weight)" $ALL
compare tp3 ref "tp=3 vs single process (blocks 48 x 5, 3 ranks divide nothing; seeded init of the local rows)" $ALL
compare tp2lsq reflsq "tp=2 with LSQ quantizers (blocks 40 x 7)" $ALL
compare tp2 tp2 "tp=2 gathered back to tp=1 (spiking fallback)" logits=logits_detached
# checkpoints: HF layout both ways
mkdir -p "$W/ck1" "$W/ck2"
run half1 0 --steps 5 --save "$W/ck1"
run resume2 2 --load "$W/ck1" --start 5 --steps 5 --nb 48 --nbt 5 --save "$W/ck2"
run load1 0 --load "$W/ck2" --steps 0
compare resume2 ref "saved at tp=1 after 5 steps, resumed at tp=2 for 5: vs 10 uninterrupted steps" logits eval_loss accuracy
compare load1 resume2 "saved at tp=2, loaded at tp=1: logits" logits0=logits
if [ -s "$W/ck2/config.json" ] && [ -s "$W/ck2/model.safetensors" ] && [ -s "$W/ck2/optimizer.safetensors" ]; then
  echo "ok   the tp=2 checkpoint is an ordinary HF directory (config.json, model.safetensors, optimizer.safetensors)"
else echo "FAIL tp=2 checkpoint files"; fail=1; fi
# `spikeglue run --tp 2` end to end: the same eval loss as the single-process run, and its
# checkpoint resumes at tp=1
SGX=$BUILD/spikeglue
"$SGX" synth --out "$W/syn" --train_rows 160 --dev_rows 32 > /dev/null
RUNF=(--model_name_or_path builtin:tiny --task_name sst2 --data_dir "$W/syn" --do_train --do_eval --max_steps 10
      --save_strategy steps --save_steps 5 --per_device_train_batch_size 16 --max_seq_length 32 --seed 3)
OMP_NUM_THREADS=1 "$SGX" run "${RUNF[@]}" --output_dir "$W/run1" > "$W/run1.log" 2>&1
OMP_NUM_THREADS=1 mpirun -n 2 "$SGX" run "${RUNF[@]}" --tp 2 --output_dir "$W/run2" > "$W/run2.log" 2>&1
OMP_NUM_THREADS=1 "$SGX" run "${RUNF[@]}" --output_dir "$W/run3" --resume_from_checkpoint "$W/run2/checkpoint-5" > "$W/run3.log" 2>&1
/usr/bin/python3 - "$W/run1/eval_results.json" "$W/run2/eval_results.json" "$W/run3/eval_results.json" <<'PY' || fail=1
import json, sys
a, b, c = (json.load(open(p))["eval_loss"] for p in sys.argv[1:4])
ok = abs(a - b) <= 1e-5 * max(1, abs(a)) and abs(a - c) <= 1e-5 * max(1, abs(a))
print(("ok   " if ok else "FAIL ") + f"spikeglue run: eval_loss tp=1 {a:.7f}, --tp 2 {b:.7f}, tp=2 checkpoint-5 resumed at tp=1 {c:.7f}")
sys.exit(0 if ok else 1)
PY
grep -q 'tensor parallel: group 0 of 1, 2 ranks' "$W/run2.log" && echo "ok   run --tp 2 reports its group" || { echo "FAIL run --tp 2 log"; tail -5 "$W/run2.log"; fail=1; }
grep -q 'resumed from .*checkpoint-5 at step 5' "$W/run3.log" \
  && echo "ok   the tp=2 run's checkpoint-5 resumes at tp=1" || { echo "FAIL resume at tp=1"; tail -5 "$W/run3.log"; fail=1; }
# a sweep with parallel: {tp: 2}: 4 ranks = 2 run groups, each run an MPI job of 2 ranks; the same
# eval losses as the tp = 1 sweep of the same spec
for tp in 1 2; do
  cat > "$W/sw$tp.yaml" <<EOF
name: sw$tp
model: builtin:tiny
data_dir: $W/syn
tasks: [sst2]
seeds: [1, 2]
variants:
  baseline: {transform: none}
pipeline: [finetune]
train: {epochs: 1, batch_size: 16, learning_rate: 1e-3, max_seq_length: 32, max_train_samples: 64, max_eval_samples: 32}
parallel: {tp: $tp}
EOF
done
OMP_NUM_THREADS=1 mpirun -n 2 "$SGX" sweep "$W/sw1.yaml" --results "$W/sw" > "$W/sw1.log" 2>&1
OMP_NUM_THREADS=1 mpirun -n 4 "$SGX" sweep "$W/sw2.yaml" --results "$W/sw" > "$W/sw2.log" 2>&1
grep -q '4 ranks in 2 groups of 2' "$W/sw2.log" && [ "$(grep -l 'tensor parallel: group 0 of 1, 2 ranks' "$W"/sw/sw2/runs/*/run.log | wc -l)" = 2 ] \
  && echo "ok   sweep with parallel.tp = 2: 2 groups, each run an MPI job of 2 ranks" || { echo "FAIL tp sweep"; tail -5 "$W/sw2.log"; fail=1; }
/usr/bin/python3 - "$W/sw" <<'PY' || fail=1
import glob, json, os, sys
def losses(name):
    return {p.split("/")[-3]: json.load(open(p))["eval_loss"] for p in glob.glob(os.path.join(sys.argv[1], name, "runs/*/out/eval_results.json"))}
a, b = losses("sw1"), losses("sw2")
d = max((abs(a[k] - b[k]) for k in a), default=float("inf")) if a.keys() == b.keys() and a else float("inf")
print(("ok   " if d <= 1e-5 else "FAIL ") + f"tp = 2 sweep vs tp = 1 sweep: {len(b)} runs, same ids, eval_loss max diff {d:.2e}")
sys.exit(0 if d <= 1e-5 else 1)
PY
echo "total $((SECONDS - t0)) s"
exit $fail
