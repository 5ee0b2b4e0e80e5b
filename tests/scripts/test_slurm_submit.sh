#!/usr/bin/env bash
# `spikeglue submit`, `status`, `sweep --slice` and `merge` without a cluster: fake sbatch /
# scontrol / squeue on PATH check the retries with backoff (a transient error twice, then
# success), that an error waiting cannot fix is not retried, the job ids recorded, the array
# split at the cluster's MaxArraySize with throttled arrays chained and the merge job after all
# of them; then three slices run directly and merged give the results of one whole sweep, and a
# second merge changes nothing.
set -uo pipefail
BUILD=$(cd "$1" && pwd); SRC=$(cd "$2" && pwd)
SG=$BUILD/spikeglue
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cd "$W" && ln -s "$SRC/configs" configs && mkdir bin
sed "s|SWEEP_DATA|$W/data|" "$SRC/tests/data/jobs/slurm_small.yaml" > small.yaml
fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; return 1; fi; }

cat > bin/sbatch <<EOF
#!/bin/bash
echo "\$*" >> $W/sbatch.calls
n=\$(( \$(cat $W/count 2>/dev/null || echo 0) + 1 )); echo \$n > $W/count
if [ -f $W/transient ] && [ \$n -le 2 ]; then
  echo "sbatch: error: Batch job submission failed: Socket timed out on send/recv operation" >&2; exit 1
fi
if [ -f $W/permanent ]; then echo "sbatch: error: Batch job submission failed: Invalid partition name specified" >&2; exit 1; fi
echo \$((100 + n))
EOF
cat > bin/scontrol <<'EOF'
#!/bin/bash
case "$*" in
  "show config") printf 'Configuration data as of now\nMaxArraySize            = 2\nMaxJobCount             = 10000\n' ;;
  "-o show job "*) echo "JobId=${4} JobName=x JobState=COMPLETED Reason=None" ;;
  *) exit 1 ;;
esac
EOF
printf '#!/bin/bash\nexit 0\n' > bin/squeue # knows no job: status falls back to scontrol
chmod +x bin/*
export PATH=$W/bin:$PATH SG_SUBMIT_BACKOFF_MS=10

touch transient
"$SG" submit small.yaml --time 20 > out1 2> err1
rc=$?
check "transient sbatch errors: retried, then submitted" "[ $rc = 0 ] && grep -q '^submitted job 103: results/slurm_small/slurm/sweep.sbatch' out1" || cat out1 err1
check "each failed attempt reported with its error" \
  "grep -q 'failed (attempt 1 of 5): sbatch: error: Batch job submission failed: Socket timed out' err1 && grep -q 'attempt 2 of 5' err1"
check "job id recorded" "grep -Eq 'id.:[[:space:]]*.103.' results/slurm_small/slurm_jobs.json"
check "script written with the time limit and its signal" \
  "grep -q '^#SBATCH --time=20$' results/slurm_small/slurm/sweep.sbatch && grep -q '^#SBATCH --signal=B:USR1@30$' results/slurm_small/slurm/sweep.sbatch"
check "synthetic data written before submitting" "[ -d data/sst2 ] || [ -n \"\$(ls data)\" ]"
rm -f transient count sbatch.calls

touch permanent
"$SG" submit small.yaml --results perm --partition nope > out2 2> err2
rc=$?
check "an invalid partition: not retried, exit 1" "[ $rc = 1 ] && [ \$(wc -l < sbatch.calls) = 1 ] && grep -q 'not retried' err2 && grep -q 'Invalid partition' err2" || cat out2 err2
check "nothing recorded when nothing was submitted" "[ ! -f perm/slurm_small/slurm_jobs.json ]"
rm -f permanent count sbatch.calls

"$SG" submit small.yaml --results arr --array --slices 3 --array-throttle 1 > out3 2> err3
check "array: MaxArraySize 2 from scontrol splits 3 slices into 2 arrays + merge" "[ \$(grep -c '^submitted job' out3) = 3 ]" || cat out3 err3
check "array 2 after array 1 (throttle), merge after both" \
  "sed -n 2p sbatch.calls | grep -q -- '--dependency=afterany:101 ' && sed -n 3p sbatch.calls | grep -q -- '--dependency=afterany:101:102 .*merge.sbatch'" || cat sbatch.calls
check "array scripts: 0-1%1 then 0-0%1" \
  "grep -q '^#SBATCH --array=0-1%1$' arr/slurm_small/slurm/array-1.sbatch && grep -q '^#SBATCH --array=0-0%1$' arr/slurm_small/slurm/array-2.sbatch"
"$SG" status arr/slurm_small > status.log 2>&1
check "status: total from the plan, job states from scontrol" \
  "grep -q '8 runs: 0 finished, 0 failed, 0 started, 8 waiting' status.log && grep -q '102 *array slices 3-3 *COMPLETED' status.log" || cat status.log
"$SG" submit small.yaml --dry-run --array --max-array-size 10 > dry.log 2>&1
check "dry run submits nothing" "[ \$(wc -l < sbatch.calls) = 3 ] && grep -q '^# submit: sbatch --parsable --dependency=afterany:<job 1> results/slurm_small/slurm/merge.sbatch$' dry.log"
"$SG" submit small.yaml --nodes 0 > /dev/null 2> err4
check "--nodes 0 refused (exit 2)" "[ $? = 2 ] && grep -q -- '--nodes 0: expected an integer >= 1' err4"
# run groups (parallel: {dp: 2, tp: 2}): the allocation is groups x 4 tasks, nodes from --ntasks-per-node
sed 's/^retries: 1$/parallel: {dp: 2, tp: 2}\nretries: 1/' small.yaml > groups.yaml
"$SG" submit groups.yaml --results grp --groups 3 --ntasks-per-node 8 --dry-run > grp.log 2>&1
check "run groups: 3 groups of dp 2 x tp 2 at 8 per node -> 12 tasks on 2 nodes" \
  "grep -q '^#SBATCH --nodes=2$' grp.log && grep -q '^#SBATCH --ntasks=12$' grp.log && grep -q '^# 12 tasks: 3 run groups of 4 ranks in flight' grp.log" || cat grp.log
"$SG" submit groups.yaml --results grp --nodes 1 --ntasks-per-node 2 --dry-run > grp2.log 2>&1
check "run groups: a node of 2 tasks cannot hold a group of 4 (exit 2)" \
  "[ $? = 2 ] && grep -q -- '--nodes 1 x ntasks_per_node 2 = 2 tasks cannot hold one run group of dp 2 x tp 2 = 4 ranks' grp2.log" || cat grp2.log

# slices run directly, then merged == one whole sweep
command -v mpirun >/dev/null || { echo "SKIP rest: mpirun not installed"; exit $fail; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# Open MPI's plugins are unloaded before LeakSanitizer reports: full unwinding keeps libmpi.so in
# the stacks, where tests/lsan.supp matches it (as in test_sweep_mpi.sh)
# (ldd's output is taken whole: `ldd | grep -q` fails at random under pipefail when grep exits
# early and ldd dies of SIGPIPE)
if [ -n "${SG_SANITIZED:-}" ] || [[ "$(ldd "$SG" 2>/dev/null)" == *libasan* ]]; then
  export ASAN_OPTIONS="${ASAN_OPTIONS:-}:fast_unwind_on_malloc=0"
fi
summary() {
  /usr/bin/python3 - "$1" <<'PY'
import json, sys
latest = {}
for line in open(sys.argv[1]):
    r = json.loads(line); latest[r["id"]] = r
for i in sorted(latest):
    r = latest[i]
    q = {k: v for k, v in (r.get("qann") or {}).items() if "runtime" not in k and "per_second" not in k}
    print(i, r["task"], r["variant"], r["seed"], r["status"], json.dumps(q, sort_keys=True))
PY
}
mpirun -n 2 "$SG" sweep small.yaml --results whole --threads 1 > whole.log 2>&1
check "whole sweep" "[ $? = 0 ]" || tail whole.log
for k in 1 2 3; do
  mpirun -n 1 "$SG" sweep small.yaml --slice $k/3 --results sl/slurm_small/slices/$k --threads 1 > slice$k.log 2>&1 || echo "slice $k: exit $?"
done
check "slices: 8 runs in all, none twice" "[ \$(cat sl/slurm_small/slices/*/slurm_small/results.jsonl | wc -l) = 8 ]"
check "a slice holds whole dependency groups" "grep -q '4 runs' slice1.log" || head -3 slice1.log
"$SG" merge small.yaml --results sl > merge1.log 2>&1
check "merge: 8 of 8 finished" "[ $? = 0 ] && grep -q '3 slices read; 8 records committed, 0 already there; 8 of 8 runs finished' merge1.log" || cat merge1.log
summary whole/slurm_small/results.jsonl > sum_whole; summary sl/slurm_small/results.jsonl > sum_sl
check "merged slices == whole sweep (per-run metrics)" "cmp -s sum_whole sum_sl" || diff sum_whole sum_sl | head
check "merged slices == whole sweep (leaderboard)" "cmp -s whole/slurm_small/leaderboard.csv sl/slurm_small/leaderboard.csv"
"$SG" merge small.yaml --results sl --slices 3 > merge2.log 2>&1
check "merging again commits nothing" "[ $? = 0 ] && grep -q '0 records committed, 8 already there' merge2.log && [ \$(wc -l < sl/slurm_small/results.jsonl) = 8 ]" || cat merge2.log
mpirun -n 1 "$SG" sweep small.yaml --slice 5/4 --dry-run > bad.log 2>&1
check "--slice 5/4 refused" "grep -q 'slice 5/4: expected K/N with 1 <= K <= N' bad.log" || cat bad.log
mpirun -n 1 "$SG" sweep small.yaml --slice 1/5 --dry-run > bad2.log 2>&1
check "--slice 1/5 with 4 dependency groups refused" "grep -q 'has only 4 dependency groups' bad2.log" || cat bad2.log
exit $fail
