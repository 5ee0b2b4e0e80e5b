#!/usr/bin/env bash
# Fault injection (issue #10): over N randomized trials, kill the coordinator, a worker rank, a
# run's process or the whole mpirun (SIGKILL or SIGTERM) at a random moment of a small sweep, then
# go on with --resume. After every trial: results.h5 opens, and every run the coordinator printed
# as finished is in it. At the end: every run finished exactly once (one "finished" line per id in
# the journal: no finished run was computed again), none lost, and a SIGTERMed run resumed from its
# checkpoint rather than from scratch.
#   SG_FAULT_TRIALS=N (default 4; 2 in the sanitizer build) SG_FAULT_SEED=S (default: random, printed)
set -uo pipefail
BUILD=$1 SRC=$(cd "$2" && pwd)
SG=$(cd "$BUILD" && pwd)/spikeglue
command -v mpirun > /dev/null || { echo "skip: mpirun not installed"; exit 77; }
/usr/bin/python3 -c "import h5py" 2> /dev/null || { echo "skip: python3-h5py not installed"; exit 77; }
W=$(mktemp -d); trap 'pkill -9 -f "$W/" 2> /dev/null; rm -rf "$W"' EXIT
cd "$W"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# sanitizer build: full stacks, so the suppressions of Open MPI's leaks (tests/lsan.supp) match
[ -n "${SG_SANITIZED:-}" ] && export ASAN_OPTIONS="${ASAN_OPTIONS:-}:fast_unwind_on_malloc=0"
TRIALS=${SG_FAULT_TRIALS:-$([ "${SG_SANITIZED:-0}" = 1 ] && echo 2 || echo 4)}
SEED=${SG_FAULT_SEED:-$RANDOM}
RANDOM=$SEED
echo "fault trials: $TRIALS, seed $SEED (SG_FAULT_SEED=$SEED reproduces the choices)"
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

# 2 tasks x 2 seeds x {baseline, q8 from baseline}: 8 runs of a few seconds, a checkpoint per epoch
cat > faults.yaml <<EOF
name: faults
model: builtin:tiny
data_dir: $W/data
synth_data: true
tasks: [sst2, mrpc]
seeds: [1, 2]
variants:
  baseline: {transform: none}
  q8: {transform: $SRC/configs/levels/q8.yaml, start_from: baseline}
pipeline: [finetune]
train: {epochs: 2, batch_size: 16, learning_rate: 1e-3, max_seq_length: 32, max_train_samples: 640,
        max_eval_samples: 32, logging_steps: 10}
retries: 2
time_limit: 120
EOF
NRUNS=8
kills=0; lost=0; h5_bad=0; incomplete=0; twice=0
rank_pid() { # the sweep process of rank $1 (its environment says its rank)
  for p in $(pgrep -f "spikeglue sweep $W/faults.yaml"); do
    if tr '\0' '\n' < /proc/$p/environ 2> /dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1"; then echo "$p"; return; fi
  done
}
# each trial: a fresh sweep, one kill at a random moment, the checks, then --resume to the end
for t in $(seq "$TRIALS"); do
  R=$W/res$t
  mpirun -n 3 "$SG" sweep "$W/faults.yaml" --results "$R" --threads 1 > "log$t" 2>&1 &
  mp=$!
  delay=$(( 5 + RANDOM % 30 )) # 0.5 .. 3.4 s: a sweep lasts about 4 s on an idle machine
  sleep "$((delay / 10)).$((delay % 10))"
  sig=$([ $((RANDOM % 2)) = 0 ] && echo KILL || echo TERM)
  case $((RANDOM % 4)) in
    0) target="mpirun"; pid=$mp;;
    1) target="coordinator"; pid=$(rank_pid 0);;
    2) target="worker rank $((1 + RANDOM % 2))"; pid=$(rank_pid "${target##* }");;
    3) target="a run"; pid=$(pgrep -f "spikeglue run .*$R/faults/runs" | head -1);;
  esac
  if [ -n "${pid:-}" ] && kill -"$sig" "$pid" 2> /dev/null; then
    kills=$((kills + 1)); what="SIG$sig to $target after ${delay}00 ms"
  else
    what="nothing to kill at ${delay}00 ms ($target)"
  fi
  # the rest of the job goes down with it (or finishes); never hang the test
  for i in $(seq 300); do kill -0 "$mp" 2> /dev/null || break; sleep 0.1; done
  kill -9 "$mp" 2> /dev/null; wait "$mp" 2> /dev/null
  pkill -9 -f "$W/faults.yaml" 2> /dev/null; pkill -9 -f "$R/faults/runs" 2> /dev/null
  # what the coordinator printed as finished must be in results.h5, and the file must open
  grep -E '^(done|FAILED|TIMEOUT|DIVERGED) ' "log$t" | awk '{print $2}' > "acked$t"
  if [ -f "$R/faults/results.h5" ]; then
    if /usr/bin/python3 "$SRC/tests/ref/h5_check.py" "$R/faults/results.h5" --dump > "h5_$t" 2>&1; then
      while read -r id; do grep -q "^$id" "h5_$t" || { echo "  lost: $id"; lost=$((lost + 1)); }; done < "acked$t"
    else
      h5_bad=$((h5_bad + 1)); cat "h5_$t"
    fi
  fi
  before=$(wc -l < "$R/faults/results.jsonl" 2> /dev/null || echo 0)
  # resume to the end: all 8 finished, each exactly once (a finished run is never run again)
  mpirun -n 3 "$SG" sweep "$W/faults.yaml" --results "$R" --threads 1 --resume > "logr$t" 2>&1
  rc=$?
  read -r fin_lines dups < <(/usr/bin/python3 -c '
import collections, json, sys
c = collections.Counter(r["id"] for r in map(json.loads, open(sys.argv[1])) if r["status"] == "finished")
print(sum(c.values()), sum(1 for v in c.values() if v > 1))' "$R/faults/results.jsonl" 2> /dev/null || echo "0 0")
  /usr/bin/python3 "$SRC/tests/ref/h5_check.py" "$R/faults/results.h5" --exact $NRUNS > /dev/null 2>&1 || fin_lines=0
  [ $rc = 0 ] && [ "$fin_lines" = $NRUNS ] || { incomplete=$((incomplete + 1)); echo "  trial $t: resume exit $rc, $fin_lines finished"; tail -3 "logr$t"; }
  [ "${dups:-0}" = 0 ] || twice=$((twice + dups))
  echo "trial $t: $what; $(wc -l < "acked$t") runs reported before, journal $before lines; resume: exit $rc, $fin_lines finished lines"
done
[ $incomplete = 0 ] && ok "after every trial, --resume completed all $NRUNS runs (results.h5 holds exactly $NRUNS)" || bad "$incomplete trials did not complete"
[ $twice = 0 ] && ok "every run finished exactly once in every trial (one finished line per id)" || bad "$twice runs finished twice"
[ $h5_bad = 0 ] && ok "results.h5 opened after every one of $TRIALS kills" || bad "results.h5 unreadable after $h5_bad trials"
[ $lost = 0 ] && ok "no reported run lost" || bad "$lost reported runs missing from results.h5"

# preemption: SIGTERM to the whole job while runs train; the interrupted runs resume from checkpoints
R=$W/resp
mpirun -n 2 "$SG" sweep "$W/faults.yaml" --results "$R" --threads 1 > logp 2>&1 &
mp=$!
for i in $(seq 300); do ls "$R"/faults/runs/*/out/checkpoint-* > /dev/null 2>&1 && break; sleep 0.1; done
kill -TERM "$mp"; wait "$mp"; prc=$?
grep -q 'asking running pipelines to checkpoint' logp && ok "SIGTERM: the coordinator asked the runs to checkpoint (exit $prc)" \
  || { bad "SIGTERM not handled (exit $prc)"; tail -5 logp; }
mpirun -n 2 "$SG" sweep "$W/faults.yaml" --results "$R" --threads 1 --resume > logp2 2>&1
resumed=$(cat "$R"/faults/runs/*/run.log | grep -c 'resumed from .*checkpoint-[0-9]* at step [1-9]')
[ $? -ge 0 ] && [ "$resumed" -ge 1 ] && ok "after the requeue, $resumed interrupted run(s) resumed from their checkpoints" \
  || bad "no run resumed from a checkpoint after SIGTERM"
/usr/bin/python3 "$SRC/tests/ref/h5_check.py" "$R/faults/results.h5" --exact $NRUNS > /dev/null 2>&1 \
  && ok "preempted sweep completed: $NRUNS runs" || bad "preempted sweep incomplete"
echo "summary: $TRIALS trials, $kills kills, $lost reported runs lost, $twice finished twice, $incomplete incomplete, $h5_bad unreadable results.h5"
exit $fail
