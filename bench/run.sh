#!/usr/bin/env bash
# Every benchmark beside its PyTorch peer, alternating A/B, one table at the end (about 10 min on
# the project's 2-core machine).
#   bench/run.sh [--rounds N] [--threads "1 2"] [--quick]
# Builds Release first. The ratio is peer / spikeglue (> 1: spikeglue is faster).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=3; THREADS="1 2"; QUICK=0
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) ROUNDS=$2; shift 2;;
    --threads) THREADS=$2; shift 2;;
    --quick) QUICK=1; ROUNDS=1; THREADS=2; shift;;
    *) echo "usage: bench/run.sh [--rounds N] [--threads \"1 2\"] [--quick]" >&2; exit 2;;
  esac
done
START=$(date +%s)
OUT=$(mktemp -d); trap 'rm -rf "$OUT"' EXIT
SG_NO_INSTALL=${SG_NO_INSTALL:-0} scripts/setup.sh > "$OUT/setup.log" 2>&1 || { cat "$OUT/setup.log" >&2; exit 1; }
PY=/usr/bin/python3
B=build/bench
# The same BLAS kernel for both sides: spikeglue forces it when OpenBLAS falls back to Prescott
# (src/blas/blas_select.c); the peer gets the same setting so the comparison is fair.
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  core=$(build/spikeglue --version | sed -n 's/.*OpenBLAS \([A-Za-z0-9]*\) kernel.*/\1/p')
  export OPENBLAS_CORETYPE=$core
fi
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores; OpenBLAS kernel $OPENBLAS_CORETYPE; $(date -u +%F)"
echo "command: bench/run.sh --rounds $ROUNDS --threads \"$THREADS\"$([ $QUICK = 1 ] && echo ' (--quick)')"
# Each round measures one step per variant; spikeglue's process and the peer's stay up (set up and
# warmed up once, one after the other, so the peer's set-up never overlaps our round) and alternate
# round by round (bench/alternate.py, which also reports an idle side that spins); a figure is the median over
# rounds. fp32 and LSQ (or QANN) steps alternate inside each process, so the LSQ overhead compares
# steps taken under the same machine conditions.
ITERS=1
PARAMS="$OUT/params-%s.bin" # spikeglue's random roberta-base weights, initialised once

for th in $THREADS; do
  OMP_NUM_THREADS=$th $B/bench_sgemm 2048 | sed "s/^/peak_sgemm\t$th\tA\t/" >> "$OUT/results.tsv"
  for mode in train eval; do # (1) training step B=8 and (2) eval forward B=32, T=128, fp32 and LSQ
    batch=8; [ $mode = eval ] && batch=32
    $PY bench/alternate.py "$ROUNDS" "$th" \
      "$B/bench_model --size base --mode $mode --batch $batch --iters $ITERS --lsq both --serve 1 --param-cache $(printf "$PARAMS" q)" \
      "$PY bench/peer_torch_model.py --size base --mode $mode --batch $batch --iters $ITERS --threads $th --lsq both --serve 1" \
      >> "$OUT/results.tsv"
  done
  # (2b) the same eval as `spikeglue run` does it, on 64 real SST-2 dev sentences at max_seq_length
  # 128: spikeglue batches rows by length without padding; the peer as run_glue.py pads, to 128
  # (pad_to_max_length, its default) or to each batch's longest row (DataCollatorWithPadding)
  # (first round only: at 4-5x the ratio does not need a second sample)
  if [ -d ../shared/glue/SST-2 ]; then
    OMP_NUM_THREADS=$th $B/bench_eval_glue --shared ../shared --rows 64 --iters 1 --dump "$OUT/sst2.bin" \
      --param-cache "$(printf "$PARAMS" fp32)" > "$OUT/eg.json"
    for fig in eval_sst2_pad128 eval_sst2_padlong; do sed "s/^/$fig\t$th\tA\t/" "$OUT/eg.json" >> "$OUT/results.tsv"; done
    for pad in max longest; do
      fig=eval_sst2_pad128; [ $pad = longest ] && fig=eval_sst2_padlong
      OMP_NUM_THREADS=$th $PY bench/peer_torch_model.py --size base --mode eval --batch 32 --iters 1 --threads "$th" \
        --data "$OUT/sst2.bin" --padding $pad | sed "s/^/$fig\t$th\tB\t/" >> "$OUT/results.tsv"
    done
  fi
done
# (3) SNN to quiescence on SST-2 dev batches, small geometry: the event-driven simulator against
# the dense step-by-step PyTorch simulation of the same saved network and batch, outputs compared.
# The dense peer runs once, on one thread, its fastest setting (measured: 79 s, against 88 s on
# two: its many small ops spin-wait), and both thread counts of spikeglue are compared with it.
# spikeglue runs once per vector ISA the CPU has, forced with SG_ISA (figure snn_sst2:<isa>); every
# ISA computes the same bits (test_isa), so the saved network the peer checks is any run's.
ISAS=$(for isa in generic avx2 avx512; do if SG_ISA=$isa build/spikeglue --version >/dev/null 2>&1; then echo $isa; fi; done)
echo "kernels: $(build/spikeglue --version | sed -n 's/.*kernels \([^;]*\);.*/\1/p') (benchmarked: $(echo $ISAS))"
if [ -d ../shared/glue/SST-2 ]; then
  first=""
  for th in $THREADS; do
    for r in $(seq "$ROUNDS"); do
      for isa in $ISAS; do
        SG_ISA=$isa OMP_NUM_THREADS=$th $B/bench_snn --size small --batch 32 --seq 128 --sst2 ../shared --out "$OUT/snn$th" > "$OUT/snn.json"
        $PY -c 'import json, sys; a = json.load(open(sys.argv[1]))
print(f"snn_sst2:{sys.argv[3]}\t{sys.argv[2]}\tA\t" + json.dumps({"median_s": a["seconds"], "peak_rss_mb": a["peak_rss_mb"]}))' \
          "$OUT/snn.json" "$th" "$isa" >> "$OUT/results.tsv"
      done
    done
    first=${first:-$th}
  done
  OMP_NUM_THREADS=1 $PY bench/peer_snn_dense.py "$OUT/snn$first" --threads 1 > "$OUT/snn_peer.json"
  $PY - "$OUT/snn_peer.json" "$first" "$ISAS" $THREADS >> "$OUT/results.tsv" <<'PY'
import json, sys
b, first, isas = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3].split()
for th in sys.argv[4:]:
    for isa in isas:
        print(f"snn_sst2:{isa}\t{th}\tB\t" + json.dumps({"median_s": b["seconds"]}))
print(f"snn_agree\t{first}\tA\t" + json.dumps({"value": b["same_predictions_vs_event_snn"], "unit": "/" + str(b["batch"]), "higher_is_better": True}))
PY
fi
# (4) tokenization + framing of SST-2 train (one thread; the peer is the independent pure-Python
# GPT-2 BPE the tokenizer tests check against)
if [ -f ../shared/glue/SST-2/train.tsv ]; then
  $B/bench_tokenize ../shared | sed -n 's/.*first pass (cold cache): \([0-9]*\) sentences.*/\1/p' \
    | awk '{printf "tokenize_sst2\t1\tA\t{\"value\": %s, \"unit\": \"/s\", \"higher_is_better\": true}\n", $1}' >> "$OUT/results.tsv"
fi
# (5) coordinator dispatch with trivial runs (no peer: the target is >= 1000 runs/s)
bench/bench_dispatch.sh build 2000 2 4 8 | awk 'NR>1 && $1 ~ /^[0-9]+$/ {printf "dispatch_%sranks\t1\tA\t{\"value\": %s, \"unit\": \"/s\", \"higher_is_better\": true}\n", $1, $4}' >> "$OUT/results.tsv"
# (7) tensor parallel on the same 2 cores: tp=2 (2 ranks x 1 thread) against tp=1 (1 process x 2
# threads), roberta-base geometry, batch 2 x 128; the "peer" column is tp=1, so ratio = the
# parallel efficiency at equal cores (docs/tensor-parallel.md)
if [ "$(nproc)" -ge 2 ]; then # (one round of 3 steps: no target rides on it)
  OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun -n 2 --bind-to core --map-by core \
    $B/bench_tp --tp 2 --size base --batch 2 --seq 128 --iters 3 | sed "s/^/tp2_vs_tp1\t2\tA\t/" >> "$OUT/results.tsv"
  OMP_NUM_THREADS=2 taskset -c 0,1 $B/bench_tp --tp 0 --size base --batch 2 --seq 128 --iters 3 \
    | sed "s/^/tp2_vs_tp1\t2\tB\t/" >> "$OUT/results.tsv"
fi
# (8) data parallel on the same 2 cores (issue #16, docs/scaling.md): a roberta-base training step at
# global batch 16 x 128, dp=2 (2 ranks x 1 thread, each bound to a core, gradients summed by
# MPI_Iallreduce behind the backward) against dp=1 (1 process x 2 threads); the "peer" column is
# dp=1, so ratio = the parallel efficiency at equal cores. Beside it the time dp=2 waits for the
# all-reduce after its backward, a plain MPI_Allreduce bus-bandwidth sweep (1-512 MB, 2 ranks,
# nccl-tests' 2(n-1)/n x bytes / time), and the SNN evaluation (64 SST-2 dev rows, small QANN as
# bench_snn) sharded over 2 ranks against 1 process x 2 threads.
if command -v mpirun > /dev/null && [ "$(nproc)" -ge 2 ]; then
  MPI2=(env OMP_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 mpirun -n 2 --bind-to core --map-by core)
  DPIT=3; [ $QUICK = 1 ] && DPIT=2
  to_rows() { # figure side: bench_dp's JSON lines -> results rows (threads = cores used: 2)
    $PY -c 'import json, sys
fig, side = sys.argv[1:3]
for line in sys.stdin:
    if not line.startswith("{"): continue
    d = json.loads(line)
    if d["mode"] == "allreduce":
        mb = d["mb"]
        print(f"allreduce_busbw:{mb:>4} MB\t2\tA\t" + json.dumps({"value": d["busbw_gbs"], "unit": "GB/s", "higher_is_better": True}))
        continue
    print(f"{fig}\t2\t{side}\t" + json.dumps({"median_s": d["median_s"]}))
    if d["mode"] == "step" and d["dp"] > 1:
        print(f"dp2_allreduce_wait\t2\tA\t" + json.dumps({"value": d["allreduce_wait_s"], "unit": "s"}))
    print(d, file=sys.stderr)' "$1" "$2"
  }
  "${MPI2[@]}" $B/bench_dp --mode step --dp 2 --size base --batch 16 --seq 128 --iters $DPIT | to_rows dp2_vs_dp1 A >> "$OUT/results.tsv"
  OMP_NUM_THREADS=2 taskset -c 0,1 $B/bench_dp --mode step --dp 0 --size base --batch 16 --seq 128 --iters $DPIT \
    | to_rows dp2_vs_dp1 B >> "$OUT/results.tsv"
  "${MPI2[@]}" $B/bench_dp --mode allreduce --dp 2 --max_mb 512 | to_rows allreduce A >> "$OUT/results.tsv"
  if [ -d ../shared/glue/SST-2 ]; then
    "${MPI2[@]}" $B/bench_dp --mode snn --dp 2 --shared ../shared --rows 64 --batch 16 | to_rows snn_dp2_vs_dp1 A >> "$OUT/results.tsv"
    OMP_NUM_THREADS=2 taskset -c 0,1 $B/bench_dp --mode snn --dp 0 --shared ../shared --rows 64 --batch 16 \
      | to_rows snn_dp2_vs_dp1 B >> "$OUT/results.tsv"
  fi
else
  echo "data-parallel benchmarks skipped: $(command -v mpirun > /dev/null && echo "fewer than 2 cores" || echo "no mpirun")"
fi
# one core's peak rate per multiply-add instruction (fp32 FMA, bf16/fp16, int8 VNNI): docs/performance.md
$B/bench_isa | sed "s/^/isa\t1\tA\t/" >> "$OUT/results.tsv"
for th in $THREADS; do # peak again at the end: the table uses the higher of the two
  OMP_NUM_THREADS=$th $B/bench_sgemm 2048 | sed "s/^/peak_sgemm\t$th\tA\t/" >> "$OUT/results.tsv"
done
$PY bench/table.py "$OUT/results.tsv"
# the measured dp point on the communication model of docs/scaling.md (bus bandwidth at 64 MB: the
# trainer's all-reduce bucket, 2^24 floats)
check=$($PY -c 'import json, statistics, sys
v = {}
for line in open(sys.argv[1]):
    fig, th, side, d = line.rstrip("\n").split("\t", 3)
    d = json.loads(d)
    v.setdefault((fig.replace(" ", ""), side), []).append(d.get("median_s", d.get("value")))
m = lambda k: statistics.median(v[k])
try: print(m(("dp2_vs_dp1", "B")), m(("dp2_vs_dp1", "A")), m(("allreduce_busbw:64MB", "A")), m(("dp2_allreduce_wait", "A")))
except KeyError: pass' "$OUT/results.tsv")
[ -n "$check" ] && $PY bench/scaling_model.py --core-gflops 75 --check $check | tail -1
echo "bench/run.sh took $(( ($(date +%s) - START) / 60 )) min $(( ($(date +%s) - START) % 60 )) s"
