#!/usr/bin/env bash
# spikeglue sweep under mpirun: 1, 2 and 3 ranks give identical leaderboards (up to run order);
# an injected failing run is retried once then recorded as failed while the sweep goes on;
# kill -9 of the whole sweep midway, then --resume: completes, no finished run recomputed or lost,
# results.h5 valid (checked with h5py, independently of the C reader).
set -uo pipefail
BUILD=$(cd "$1" && pwd); SRC=$(cd "$2" && pwd)
SG=$BUILD/spikeglue
command -v mpirun >/dev/null || { echo "SKIP: mpirun not installed"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# Open MPI's plugins are unloaded before LeakSanitizer reports, so their frames lose their names;
# full (slow) unwinding keeps libmpi.so in each stack, where tests/lsan.supp matches it.
[ -n "${SG_SANITIZED:-}" ] && export ASAN_OPTIONS="${ASAN_OPTIONS:-}:fast_unwind_on_malloc=0"
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
cd "$W" && ln -s "$SRC/configs" configs && ln -s "$SRC/tests/data/configs" badconfigs
sed "s|SWEEP_DATA|$W/data|" "$SRC/tests/data/jobs/sweep_small.yaml" > small.yaml
fail=0
check() { if eval "$2"; then echo "ok   $1"; else echo "FAIL $1"; fail=1; return 1; fi; }
summary() { # latest record per run id: task variant seed status [attempts] metrics (timings dropped)
  /usr/bin/python3 - "$@" <<'PY'
import json, sys
latest = {}
for line in open(sys.argv[1]):
    try: r = json.loads(line)
    except ValueError: continue
    latest[r["id"]] = r
rows = []
for r in latest.values():
    q = {k: v for k, v in (r.get("qann") or {}).items() if "runtime" not in k and "per_second" not in k}
    att = [] if len(sys.argv) > 2 else [r.get("attempts")]
    rows.append(" ".join(map(str, [r["task"], r["variant"], r["seed"], r["status"], *att, json.dumps(q, sort_keys=True)])))
for row in sorted(rows): print(row)
PY
}

for n in 1 2 3; do
  mpirun -n $n "$SG" sweep small.yaml --results "r$n" --threads 1 > "log$n" 2>&1
  rc=$?
  check "mpirun -n $n: exit 3 (some runs failed, the sweep finished)" "[ $rc = 3 ]" || tail -12 "log$n"
  summary "r$n/small/results.jsonl" > "sum$n"
done
check "12 runs recorded" "[ \$(wc -l < sum1) = 12 ]"
check "1 vs 2 ranks: identical results" "cmp -s sum1 sum2"
check "1 vs 3 ranks: identical results" "cmp -s sum1 sum3"
check "failing runs retried once then recorded as failed" "[ \$(grep -c ' broken .* failed 2 ' sum1) = 4 ]"
check "first failure printed as it happened" "grep -q 'FAILED' log2"
check "leaderboard written" "[ -s r2/small/leaderboard.md ] && [ -s r2/small/leaderboard.csv ]"
if /usr/bin/python3 -c "import h5py" 2>/dev/null; then
  check "results.h5 valid (h5py)" "/usr/bin/python3 $SRC/tests/ref/h5_check.py r2/small/results.h5 --exact 12 > /dev/null"
fi

# kill -9 midway, then --resume
# every process of the sweep carries $W/rk on its command line: mpirun, the ranks, their runs
mpirun -n 2 "$SG" sweep small.yaml --results "$W/rk" --threads 1 > logk 2>&1 &
pid=$!
for i in $(seq 600); do
  if [ -f rk/small/results.jsonl ] && [ "$(wc -l < rk/small/results.jsonl)" -ge 3 ]; then break; fi
  sleep 0.1
done
pkill -9 -f "$W/rk"; wait $pid 2>/dev/null
sleep 0.5; pkill -9 -f "$W/rk"
before=$(wc -l < rk/small/results.jsonl)
# acknowledged runs: the coordinator prints a run's line only after its commit returned
grep -E '^(done|FAILED|TIMEOUT|DIVERGED) ' logk | awk '{print $2}' > acked
echo "killed after $before journal lines, $(wc -l < acked) acknowledged runs"
if /usr/bin/python3 -c "import h5py" 2>/dev/null; then
  missing=0
  if /usr/bin/python3 "$SRC/tests/ref/h5_check.py" rk/small/results.h5 --dump > h5k.log; then
    while read -r id; do grep -q "^$id" h5k.log || { echo "missing $id"; missing=1; }; done < acked
  else
    cat h5k.log; missing=1
  fi
  check "after kill -9: results.h5 opens and holds every acknowledged run" "[ $missing = 0 ]"
fi
mpirun -n 2 "$SG" sweep small.yaml --results "$W/rk" --threads 1 --resume > logr 2>&1
check "resume completes" "grep -q 'finished' logr"
summary rk/small/results.jsonl > sumk
# --resume reruns failed runs by design, so their attempts grow: compare without attempts
summary r1/small/results.jsonl no-attempts > sum1n; summary rk/small/results.jsonl no-attempts > sumkn
check "after resume: all 12 runs recorded, none lost" "[ \$(wc -l < sumk) = 12 ]"
check "after resume: the same results as an uninterrupted sweep" "cmp -s sum1n sumkn" || diff sum1n sumkn
check "no finished run recomputed" "[ \$(grep -c '^done ' logr) -le \$((12 - before)) ]"
exit $fail
