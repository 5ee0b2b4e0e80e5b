#!/usr/bin/env bash
# The sweep's pretrain stage (issue #18 item 5): pipeline [pretrain, finetune, convert, snn_eval] on
# builtin:tiny and synthetic GLUE-layout text, 2 MPI ranks. Checks that `spikeglue pretrain` ran
# exactly once, that both tasks' baselines started from its output (their run.log names it) while
# the `pretrain: false` variant started from builtin:tiny, that results.h5 holds the pretrain record
# (read with h5dump: attribute kind = "pretrain", qann/loss and qann/perplexity), that the report
# shows it, that --resume re-runs nothing (the pretrain's run.log is untouched), and that a pretrain
# that fails fails the runs that start from it with the reason while the others finish.
set -uo pipefail
BUILD=$(cd "$1" && pwd); SRC=$(cd "$2" && pwd)
SG=$BUILD/spikeglue
command -v mpirun >/dev/null || { echo "SKIP: mpirun not installed"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_mpi_yield_when_idle=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive SG_LIVE=0
SANITIZED=0
if [ "${SG_SANITIZED:-0}" = 1 ] || grep -qs '^SG_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt"; then
  SANITIZED=1
  export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$SRC/tests/lsan.supp:print_suppressions=0}"
  export ASAN_OPTIONS="${ASAN_OPTIONS:-}:fast_unwind_on_malloc=0"
fi
# the sanitizer build's processes are ~10x slower: fewer steps and no QAT variant there
STEPS=6 Q8="  q8: {transform: $SRC/configs/levels/q8.yaml, start_from: baseline, train: {max_steps: 3}}"
NGLUE=6
if [ "$SANITIZED" = 1 ]; then STEPS=2 Q8="" NGLUE=4; fi
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; return 1; fi; }
"$SG" synth --out "$W/syn" --train_rows 100 --dev_rows 32 > /dev/null || { echo "FAIL synth"; exit 1; }

spec() { # name, glue_dir of the pretrain text
  cat > "$W/$1.yaml" <<EOF
name: $1
model: builtin:tiny
data_dir: $W/syn
tasks: [sst2, mrpc]
seeds: [3]
variants:
  baseline: {transform: none}
$Q8
  scratch: {transform: none, pretrain: false}
pipeline: [pretrain, finetune, convert, snn_eval]
pretrain: {glue_dir: $2, max_steps: $STEPS, batch_size: 8, max_seq_length: 32, max_eval_samples: 16, logging_steps: 1}
train: {max_steps: $STEPS, batch_size: 8, learning_rate: 1e-3, max_seq_length: 32, max_eval_samples: 16, logging_steps: 1}
snn: {max_steps: 16}
EOF
}

# ---- a sweep with a pretrain stage ----
spec pt "$W/syn"
R=$W/r/pt
mpirun -n 2 "$SG" sweep "$W/pt.yaml" --results "$W/r" > "$W/pt.log" 2>&1
rc=$?
check "sweep exits 0" "[ $rc = 0 ]" || tail -20 "$W/pt.log"
PT=$(python3 -c 'import json,sys; print(" ".join(r["id"] for r in json.load(open(sys.argv[1]))["runs"] if r.get("kind") == "pretrain"))' "$R/plan.json")
check "plan.json has one pretrain run" "[ \$(echo $PT | wc -w) = 1 ]"
check "the pretrain run is reported done once" "[ \$(grep -c '^done .* mlm .* pretrain .* eval_loss' $W/pt.log) = 1 ]" || cat "$W/pt.log"
check "$((NGLUE + 1)) runs finished" "grep -q '$((NGLUE + 1)) finished, 0 failed' $W/pt.log"
check "it ran spikeglue pretrain (masked-LM head) and wrote its model" \
  "grep -q 'masked-LM head' $R/runs/$PT/run.log && [ -f $R/runs/$PT/out/model.safetensors ]"
npre=0
for d in "$R"/runs/*/; do grep -qs 'masked-LM head' "$d/run.log" && npre=$((npre + 1)); done
check "exactly one run directory holds a pretrain" "[ $npre = 1 ]"
# the runs of each variant, by the plan
ids_of() { python3 -c 'import json,sys; print(" ".join(r["id"] for r in json.load(open(sys.argv[1]))["runs"] if r["variant"] == sys.argv[2]))' "$R/plan.json" "$1"; }
for id in $(ids_of baseline); do
  check "baseline $id started from the pretrain output" "head -3 $R/runs/$id/run.log | grep -q 'model: $R/runs/$PT/out,'"
  check "baseline $id depends on it in plan.json" \
    "python3 -c 'import json,sys; r=[r for r in json.load(open(sys.argv[1]))[\"runs\"] if r[\"id\"]==sys.argv[2]][0]; sys.exit(r[\"depends_on\"]!=sys.argv[3])' $R/plan.json $id $PT"
done
check "two baselines" "[ \$(ids_of baseline | wc -w) = 2 ]"
for id in $(ids_of scratch); do
  check "scratch $id started from builtin:tiny" "head -3 $R/runs/$id/run.log | grep -q 'model: builtin:tiny,'"
done
# results.h5, read with HDF5's own tool
if command -v h5dump > /dev/null; then
  check "results.h5: the pretrain record's kind" "h5dump -a /runs/$PT/kind $R/results.h5 | grep -q '\"pretrain\"'"
  check "results.h5: its held-out loss and perplexity" \
    "h5dump -d /runs/$PT/qann/loss $R/results.h5 > /dev/null && h5dump -d /runs/$PT/qann/perplexity $R/results.h5 > /dev/null"
  check "results.h5: a GLUE run's kind is glue" "h5dump -a /runs/\$(ids_of scratch | cut -d' ' -f1)/kind $R/results.h5 | grep -q '\"glue\"'"
else
  echo "SKIP results.h5 checks: h5dump not installed (Debian hdf5-tools)"
fi
check "the journal has the pretrain record" "grep -q '\"id\":\"$PT\".*\"kind\":\"pretrain\"' $R/results.jsonl"
"$SG" report "$R" > "$W/report.md" 2>&1
check "the report shows the pretraining section" "grep -q '^| ${PT:0:8} | builtin:tiny | 42 | finished |' $W/report.md" || cat "$W/report.md"
check "the report's tables have no mlm task" "! grep -q '^## mlm' $W/report.md"

# ---- resume: nothing runs again ----
before=$(stat -c %Y.%s "$R/runs/$PT/run.log")
mpirun -n 2 "$SG" sweep "$W/pt.yaml" --results "$W/r" --resume > "$W/resume.log" 2>&1
rc=$?
check "resume exits 0" "[ $rc = 0 ]" || tail -10 "$W/resume.log"
check "resume: every run already finished" "grep -q '$((NGLUE + 1)) runs ($((NGLUE + 1)) already finished)' $W/resume.log"
check "resume: the pretrain did not run again" "[ \"\$(stat -c %Y.%s $R/runs/$PT/run.log)\" = '$before' ] && ! grep -q '^done' $W/resume.log"

# ---- a pretrain that fails: its dependants fail with the reason, the others finish ----
mkdir -p "$W/empty"
spec ptfail "$W/empty"
mpirun -n 2 "$SG" sweep "$W/ptfail.yaml" --results "$W/r" > "$W/ptfail.log" 2>&1
rc=$?
check "a failed pretrain: the sweep exits 3" "[ $rc = 3 ]" || tail -20 "$W/ptfail.log"
check "its dependants fail naming it" "[ \$(grep -c 'its pretrain run [0-9a-f]\{8\} did not finish' $W/ptfail.log) -ge 2 ]" || cat "$W/ptfail.log"
check "the scratch runs finish" "[ \$(grep -c '^done .* scratch ' $W/ptfail.log) = 2 ]"
exit $fail
