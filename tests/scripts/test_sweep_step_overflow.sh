#!/usr/bin/env bash
# Issue #15, defect 2 inside a sweep: a spec whose epochs give more optimizer steps than an int holds
# (`epochs: 1e6` on SST-2 did) used to train nothing, report train_loss 0 and be recorded as done.
# Now the run fails with one line naming --num_train_epochs, the sweep records it as failed and
# exits 3, and no checkpoint of an untrained model is left as its result.
set -uo pipefail
BUILD=$1
SG=$(cd "$BUILD" && pwd)/spikeglue
command -v mpirun > /dev/null || { echo "skip: mpirun not installed"; exit 77; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cd "$W"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
[ -n "${SG_SANITIZED:-}" ] && export ASAN_OPTIONS="${ASAN_OPTIONS:-}:fast_unwind_on_malloc=0"
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
"$SG" synth --out data --train_rows 4000 --dev_rows 16 > /dev/null || { echo "FAIL synth"; exit 1; }
# 4000 rows at batch 1 x 1e6 epochs = 4e9 steps > 2^31 - 1
cat > big.yaml <<'YAML'
name: bigsteps
model: builtin:tiny
data_dir: data
tasks: [sst2]
seeds: [42]
variants:
  baseline: {transform: none}
pipeline: [finetune]
train: {epochs: 1e6, batch_size: 1, learning_rate: 2e-5, max_seq_length: 32}
YAML
"$SG" sweep big.yaml --results res > out.txt 2>&1
rc=$?
[ $rc = 3 ] && ok "sweep exits 3 (a run failed)" || { bad "sweep exit $rc, expected 3"; cat out.txt; }
grep -q "| failed |" res/bigsteps/leaderboard.md && ok "the run is recorded as failed" || bad "no failed run in the leaderboard"
grep -q -- "--num_train_epochs 1e+06 gives .* optimizer steps" res/bigsteps/runs/*/run.log \
  && ok "its log names --num_train_epochs" || bad "run.log: $(tail -2 res/bigsteps/runs/*/run.log)"
ls res/bigsteps/runs/*/out/model.safetensors > /dev/null 2>&1 && bad "an (untrained) model was saved as the run's result" \
  || ok "no untrained model saved"
grep -q "done .*baseline" out.txt && bad "the run was reported done" || ok "not reported done"
[ $fail = 0 ] && echo "all checks passed"
exit $fail
