#!/usr/bin/env bash
# Coordinator dispatch rate (issue #6/#9): a sweep of trivial runs (SG_BENCH_TRIVIAL_RUNS=1: a
# worker reports success at once, without starting a pipeline), so what is measured is the
# coordinator — MPI messages, the durable journal commit (one fsync per batch of reports), the
# results.h5 refreshes, the bookkeeping. Prints runs/s and the workers' wait for work per rank count.
#   bench/bench_dispatch.sh [BUILD_DIR] [RUNS] [RANKS...]     defaults: build 2000 "2 4 8"
set -euo pipefail
BUILD=${1:-build}; RUNS=${2:-2000}; shift 2 2>/dev/null || true
RANKS=("$@"); [ ${#RANKS[@]} -gt 0 ] || RANKS=(2 4 8)
SG=$(cd "$BUILD" && pwd)/spikeglue
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMP_NUM_THREADS=1 SG_BENCH_TRIVIAL_RUNS=1
seeds=$(( (RUNS + 17) / 18 ))
mkdir -p "$W/data"
{
  echo "name: dispatch"
  echo "model: builtin:tiny"
  echo "data_dir: $W/data"
  echo "tasks: [cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte, wnli]"
  printf "seeds: ["; seq -s, 1 "$seeds" | tr -d '\n'; echo "]"
  echo "variants: {baseline: {transform: none}, q8: {transform: none, train: {learning_rate: 1e-4}}}"
  echo "pipeline: [finetune]"
} > "$W/spec.yaml"
printf "%-6s %8s %10s %12s %16s %10s\n" ranks runs "wall s" "runs/s" "wait/assign ms" "wait %"
for r in "${RANKS[@]}"; do
  rm -rf "$W/results"
  start=$(date +%s.%N)
  mpirun -n "$r" --bind-to none "$SG" sweep "$W/spec.yaml" --results "$W/results" > "$W/out.$r" 2>&1 || { cat "$W/out.$r"; exit 1; }
  end=$(date +%s.%N)
  line=$(grep '^scheduling:' "$W/out.$r")
  runs=$(grep -oE '[0-9]+ finished' "$W/out.$r" | head -1 | cut -d' ' -f1)
  inner=$(grep -oE 'finished, [0-9]+ failed, [0-9]+ skipped \(already finished\) in [0-9.]+ s' "$W/out.$r" | grep -oE '[0-9.]+ s$' | cut -d' ' -f1)
  rate=$(echo "$line" | grep -oE '\([0-9]+ runs/s' | tr -dc 0-9)
  wait=$(echo "$line" | grep -oE 'waited [0-9.]+ ms' | grep -oE '[0-9.]+')
  pct=$(echo "$line" | grep -oE '[0-9.]+% of their time' | grep -oE '^[0-9.]+')
  printf "%-6s %8s %10s %12s %16s %10s\n" "$r" "$runs" "$inner" "$rate" "$wait" "$pct"
  echo "   ($(echo "$line" | grep -oE 'results.h5 written.*'); mpirun wall incl. startup $(echo "$end - $start" | bc) s)"
done
