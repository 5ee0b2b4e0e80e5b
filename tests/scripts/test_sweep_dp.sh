#!/usr/bin/env bash
# Sweep run groups of dp x tp ranks (issue #16 item 3, docs/scaling.md "Placing run groups"):
# a sweep with parallel: {dp: 2} under mpirun -n 4 (2 groups of 2) gives the same run ids and,
# within 1e-4 relative, the same per-step losses and grad norms, evaluations and spiking results
# as the same spec without parallel: on 2 ranks (builtin:tiny, dropout on, 12 and 10 steps, a QAT
# variant converted and simulated); so does {dp: 2, tp: 2} (one group of 4). The srun path runs through a stand-in srun on PATH (SG_SWEEP_LAUNCHER=srun) that
# records its arguments, environment and SLURM_HOSTFILE, then starts the group with mpirun. A
# replica killed with SIGKILL fails only its run's attempt, which is retried. A world that is not a
# multiple of the group and a batch that dp does not divide are refused in one line.
# The sanitizer build (processes ~10x slower) checks the C paths with one fine-tuning run: the
# dp=2 sweep (one group on 2 ranks) and the srun path against the sweep without parallel:, and
# the refusals; it skips, saying so, {dp: 2, tp: 2} and the killed replica, whose C code is the
# same (the group's launch, the child's failure), which Release runs.
set -uo pipefail
BUILD=$(cd "$1" && pwd); SRC=$(cd "$2" && pwd)
SG=$BUILD/spikeglue
command -v mpirun >/dev/null || { echo "SKIP: mpirun not installed"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_mpi_yield_when_idle=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive SG_LIVE=0
# Open MPI's plugins are unloaded before LeakSanitizer reports: full unwinding keeps libmpi.so in
# the stacks, where tests/lsan.supp matches it (as in test_sweep_mpi.sh)
if [ "${SG_SANITIZED:-0}" = 1 ] || grep -qs '^SG_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt"; then
  export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$SRC/tests/lsan.supp:print_suppressions=0}"
  export ASAN_OPTIONS="${ASAN_OPTIONS:-}:fast_unwind_on_malloc=0"
fi
# Release: 2 seeds x {baseline, q8 from it, converted and simulated} = 4 runs, the dp=2 sweep on 4
# ranks (2 groups); sanitizer build: the baseline of one seed, the dp=2 sweep on 2 ranks (1 group)
SEEDS="[3, 4]" NRUNS=4 DP2_RANKS=4 SNN=1 PIPELINE="[finetune, convert, snn_eval]"
Q8="q8: {transform: $SRC/configs/levels/q8.yaml, start_from: baseline, train: {max_steps: 10}}"
SANITIZED=
if [ "${SG_SANITIZED:-0}" = 1 ] || grep -qs '^SG_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt"; then
  SANITIZED=1 SEEDS="[3]" NRUNS=1 DP2_RANKS=2 SNN=0 PIPELINE="[finetune]" Q8=
fi
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; return 1; fi; }
"$SG" synth --out "$W/syn" --train_rows 100 --dev_rows 32 > /dev/null || { echo "FAIL synth"; exit 1; }

spec() { # name, parallel line
  cat > "$W/$1.yaml" <<EOF
name: $1
model: builtin:tiny
data_dir: $W/syn
tasks: [sst2]
seeds: $SEEDS
variants:
  baseline: {transform: none}
  $Q8
pipeline: $PIPELINE
train: {max_steps: 12, batch_size: 8, learning_rate: 1e-3, max_seq_length: 32, logging_steps: 1}
snn: {max_steps: 16}
$2
EOF
}
sweep() { # name, ranks, [env...]
  local name=$1 n=$2; shift 2
  env "$@" mpirun -n "$n" "$SG" sweep "$W/$name.yaml" --results "$W/r" > "$W/$name.log" 2>&1
  local rc=$?
  check "$name: sweep on $n ranks exits 0" "[ $rc = 0 ]" || tail -15 "$W/$name.log"
}

# every number a run wrote (per-step loss / grad_norm, evaluations, spiking results), by run id
compare() { # a, b, label
  /usr/bin/python3 - "$W/r/$1" "$W/r/$2" "$3" "$NRUNS" "$SNN" <<'PY' || fail=1
import glob, json, os, sys
a, b, label, nruns, want_snn = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5] == "1"
def numbers(d):
    out = {}
    for run in sorted(glob.glob(os.path.join(d, "runs", "*"))):
        rid, o = os.path.basename(run), os.path.join(run, "out")
        hist = json.load(open(os.path.join(o, "trainer_state.json")))["log_history"]
        for e in hist:
            for k in ("loss", "grad_norm", "eval_loss", "eval_accuracy"):
                if k in e and "train_runtime" not in e: out[(rid, k, e["step"])] = e[k]
        for f in ("eval_results.json", "snn_results.json"):
            p = os.path.join(o, f)
            if not os.path.exists(p): continue
            def walk(prefix, x):
                if isinstance(x, dict):
                    for k, v in x.items(): walk(prefix + "." + k, v)
                elif isinstance(x, list):
                    for i, v in enumerate(x): walk(f"{prefix}[{i}]", v)
                elif isinstance(x, (int, float)) and not any(t in prefix for t in ("runtime", "per_second", "seconds")):
                    out[(rid, f, prefix)] = x
            walk("", json.load(open(p)))
    return out
try: x, y = numbers(a), numbers(b)
except (OSError, ValueError, KeyError) as e: print(f"FAIL {label}: {e}"); sys.exit(1)
ids_a, ids_b = {k[0] for k in x}, {k[0] for k in y}
steps = sum(1 for k in x if k[1] == "loss")
snn = sum(1 for k in x if k[1] == "snn_results.json")
bad = []
if ids_a != ids_b or len(ids_a) != nruns: bad.append(f"run ids differ or not {nruns}: {sorted(ids_a)} vs {sorted(ids_b)}")
if x.keys() != y.keys(): bad.append(f"{len(x.keys() ^ y.keys())} values only on one side")
if steps < 11 * nruns or (want_snn and snn == 0): bad.append(f"{steps} logged steps, {snn} spiking values")
worst = max((abs(x[k] - y[k]) / max(abs(x[k]), 1e-6) for k in x.keys() & y.keys()), default=float("inf"))
if worst > 1e-4: bad.append(f"max rel diff {worst:.2e} > 1e-4")
print(("FAIL " if bad else "ok   ") + f"{label}: {len(ids_a)} runs with the same ids, {len(x)} values ({steps} step losses), "
      f"max rel diff {worst:.1e}" + ("; " + "; ".join(bad) if bad else ""))
sys.exit(1 if bad else 0)
PY
}

spec dp1 ""
spec dp2 "parallel: {dp: 2}"
spec dp2tp2 "parallel: {dp: 2, tp: 2}"
sweep dp1 2
/usr/bin/python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); sys.exit(0 if c["hidden_dropout_prob"] > 0 and c["attention_probs_dropout_prob"] > 0 else 1)' \
  "$(ls -d "$W"/r/dp1/runs/*/out | head -1)/config.json" \
  && echo "ok   dropout is on (the comparison tests the replicas' masks)" || { echo "FAIL dropout is off"; fail=1; }
sweep dp2 $DP2_RANKS
check "dp2: header names $((DP2_RANKS / 2)) groups of 2 and the launcher" \
  "grep -q '$DP2_RANKS ranks in $((DP2_RANKS / 2)) groups of 2 (dp 2 x tp 1, launcher mpirun)' $W/dp2.log"
check "dp2: each run an MPI job of 2 replicas of 4 rows" \
  "[ \$(grep -l 'data parallel: 2 replicas, each 4 of every 8 training rows' $W/r/dp2/runs/*/run.log | wc -l) = $NRUNS ]"
check "dp2: run.log names the placement and the command" \
  "grep -q '^spikeglue sweep: run group of 2 ranks (world ranks [02]-[13]) on .*:2, launcher mpirun: .*mpirun -n 2 .* run .*--per_device_train_batch_size 4 .*--dp 2' $W/r/dp2/runs/*/run.log"
[ "$NRUNS" = 4 ] && check "both groups ran runs" "grep -q 'rank 2\]' $W/dp2.log && grep -q 'rank 0\]' $W/dp2.log"
compare dp1 dp2 "parallel: {dp: 2} on $DP2_RANKS ranks vs no parallel on 2 ranks"
if [ -n "$SANITIZED" ]; then
  echo "SKIP part: {dp: 2, tp: 2} in the sanitizer build (the launch code of {dp: 2} with a group of 4; Release runs it)"
else
  sweep dp2tp2 4
  check "dp2tp2: one group of 4" "grep -q '4 ranks in 1 groups of 4 (dp 2 x tp 2, launcher mpirun)' $W/dp2tp2.log"
  compare dp1 dp2tp2 "parallel: {dp: 2, tp: 2} on 4 ranks vs no parallel on 2 ranks"
fi

# the srun path, through a stand-in: it checks what a real srun would be given, then runs the step
mkdir -p "$W/bin"
cat > "$W/bin/srun" <<EOF
#!/bin/bash
# record: the arguments, the hostfile, the SLURM variables the step sees
{ echo "ARGS \$*"; echo "HOSTFILE \$(tr '\n' ' ' < "\$SLURM_HOSTFILE")"; env | grep -E '^(SLURM|SRUN|PMIX|OMPI_COMM)' | sort | sed 's/^/ENV /'; } >> "$W/srun.calls"
n=; while [ \$# -gt 0 ]; do case \$1 in -n) n=\$2; shift 2 ;; --*) shift ;; *) break ;; esac; done
exec mpirun -n "\$n" --oversubscribe "\$@"
EOF
chmod +x "$W/bin/srun"
spec dp2srun "parallel: {dp: 2}"
# the sweep's own step variables a real srun sets, which the group's srun must not inherit
sweep dp2srun $DP2_RANKS PATH="$W/bin:$PATH" SG_SWEEP_LAUNCHER=srun SLURM_STEP_ID=0 SLURM_STEP_NUM_TASKS=4 SLURM_DISTRIBUTION=block SLURM_CONF=/etc/slurm/x.conf
check "srun: header names the launcher" "grep -q '(dp 2 x tp 1, launcher srun)' $W/dp2srun.log"
check "srun: a job step per run, each --overlap --mpi=pmix -n 2 --distribution=arbitrary" \
  "[ \$(grep -c '^ARGS --overlap --mpi=pmix -n 2 --distribution=arbitrary --kill-on-bad-exit=1 --cpus-per-task=1 .*spikeglue run ' $W/srun.calls) = $NRUNS ]" \
  || cat "$W/srun.calls"
host=$(grep -m1 '^HOSTFILE' "$W/srun.calls" | awk '{print $2}')
check "srun: SLURM_HOSTFILE lists the group's host once per task" "[ -n '$host' ] && [ \$(grep -c \"^HOSTFILE $host $host \$\" $W/srun.calls) = $NRUNS ]"
check "srun: the step keeps SLURM_CONF, loses the sweep step's SLURM_STEP_* / SLURM_DISTRIBUTION and MPI wiring" \
  "grep -q '^ENV SLURM_CONF=/etc/slurm/x.conf' $W/srun.calls && ! grep -Eq '^ENV (SLURM_STEP_|SLURM_DISTRIBUTION|PMIX_|OMPI_COMM)' $W/srun.calls"
check "srun: run.log names the hostfile" "grep -q 'launcher srun: SLURM_HOSTFILE=.*/hostfile .*srun --overlap' $W/r/dp2srun/runs/*/run.log"
compare dp1 dp2srun "parallel: {dp: 2} launched with srun vs no parallel on 2 ranks"

# fault isolation: kill -9 one replica of a running group's run: that attempt fails (its launcher
# ends the run's job), the sweep records it, retries it and finishes; no rank of the sweep dies
kill_a_replica() {
  cat > "$W/kill.yaml" <<EOF
name: kill
model: builtin:tiny
data_dir: $W/syn
tasks: [sst2]
seeds: [5]
variants: {baseline: {transform: none}}
pipeline: [finetune]
train: {max_steps: 200, batch_size: 8, max_seq_length: 32, logging_steps: 20}
parallel: {dp: 2}
retries: 1
EOF
  mpirun -n 2 "$SG" sweep "$W/kill.yaml" --results "$W/r" > "$W/kill.log" 2>&1 &
  sweep_pid=$!
  victim=
  for _ in $(seq 300); do
    victim=$(pgrep -n -f "$W/r/kill/runs/.* --dp 2") && grep -qs 'step 20/' "$W"/r/kill/runs/*/run.log && break
    victim=; sleep 0.1
  done
  [ -n "$victim" ] && kill -9 "$victim"
  wait $sweep_pid
  rc=$?
  check "a replica killed (pid ${victim:-none}): the sweep finishes (exit $rc)" "[ -n '$victim' ] && [ $rc = 0 ]" || tail -5 "$W/kill.log"
  check "the killed attempt was retried, then finished" \
    "grep -q '^retry .* baseline (attempt 1 failed' $W/kill.log && grep -q '^done .* baseline' $W/kill.log && grep -Eq '\"attempts\": *2' $W/r/kill/results.jsonl" \
    || { grep -E '^(retry|done|FAILED)' "$W/kill.log"; tail -c 400 "$W/r/kill/results.jsonl"; }
}
if [ -n "$SANITIZED" ]; then
  echo "SKIP part: a killed replica in the sanitizer build (200 steps; a failed group run is retried by the same code as any failed run; Release runs it)"
else
  kill_a_replica
fi

# refusals, one line each
mpirun -n 3 "$SG" sweep "$W/dp2.yaml" --results "$W/r3" > "$W/bad3.log" 2>&1
check "3 ranks for groups of 2: refused" "grep -q 'parallel: dp 2 x tp 1 = 2 ranks per run group: the sweep has 3 ranks, not a multiple of 2' $W/bad3.log" \
  || cat "$W/bad3.log"
sed 's/batch_size: 8/batch_size: 6/; s/dp: 2/dp: 4/' "$W/dp2.yaml" > "$W/bad.yaml"
"$SG" sweep "$W/bad.yaml" --dry-run > "$W/bad.log" 2>&1
check "a batch dp does not divide: refused naming the key" \
  "grep -q \"bad.yaml:10: key 'train.batch_size': 6 rows cannot be split over parallel.dp = 4 replicas\" $W/bad.log" || cat "$W/bad.log"
SG_SWEEP_LAUNCHER=ssh mpirun -n 2 "$SG" sweep "$W/dp2.yaml" --results "$W/r4" > "$W/ssh.log" 2>&1
check "SG_SWEEP_LAUNCHER=ssh: refused, once" "[ \$(grep -c \"error: SG_SWEEP_LAUNCHER='ssh': expected srun or mpirun\" $W/ssh.log) = 1 ]" \
  || cat "$W/ssh.log"
exit $fail
