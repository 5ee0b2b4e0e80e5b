#!/usr/bin/env bash
# Issue #15 (part): a sweep shows long runs' progress. Each run writes a heartbeat
# (runs/<id>/progress.json) only because the sweep asks for it; `spikeglue status` lists the
# running runs from their heartbeats and says when one is stale (its process was killed); on a
# terminal (a pty from `script`) the sweep redraws one live line with the running runs' step /
# total and loss, while a redirected log holds no carriage return. results.h5 has units on every
# dataset, SNN costs named per sample / total and matching the leaderboard, and data_dir absolute.
set -uo pipefail
BUILD=$1 SRC=$(cd "$2" && pwd)
SG=$(cd "$BUILD" && pwd)/spikeglue
command -v mpirun > /dev/null || { echo "skip: mpirun not installed"; exit 77; }
command -v script > /dev/null || { echo "skip: script (util-linux) not installed"; exit 77; }
/usr/bin/python3 -c "import h5py" 2> /dev/null || { echo "skip: python3-h5py not installed"; exit 77; }
W=$(mktemp -d)
BG=
cleanup() { [ -n "$BG" ] && kill -9 -- -"$BG" 2> /dev/null; rm -rf "$W"; }
trap cleanup EXIT
cd "$W"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
unset SG_LIVE SG_PROGRESS_FILE
[ -n "${SG_SANITIZED:-}" ] && export ASAN_OPTIONS="${ASAN_OPTIONS:-}:fast_unwind_on_malloc=0"
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
"$SG" synth --out data --train_rows 256 --dev_rows 32 > /dev/null || { echo "FAIL synth"; exit 1; }

# the baseline trains long enough (24 epochs of 16 steps) to be seen running; q8 converts and simulates
STEPS=384
cat > prog.yaml <<EOF2
name: prog
model: builtin:tiny
data_dir: data
tasks: [sst2]
seeds: [1]
variants:
  baseline: {transform: none}
  q8: {transform: $SRC/configs/levels/q8.yaml, start_from: baseline, train: {epochs: 1}}
pipeline: [finetune, convert, snn_eval]
train: {epochs: 24, batch_size: 16, learning_rate: 1e-3, max_seq_length: 32, max_train_samples: 256, max_eval_samples: 32, logging_steps: 8}
snn: {max_steps: 16}
retries: 0
EOF2

# ---- plain `spikeglue run` writes no heartbeat anywhere
mkdir plain && (cd plain && "$SG" run --model_name_or_path builtin:tiny --task_name sst2 --data_dir ../data --do_train \
  --max_steps 3 --max_seq_length 32 --output_dir out > log 2>&1) || bad "plain run failed"
[ -z "$(find plain -name 'progress.json*')" ] && ok "plain run: no heartbeat file" || bad "plain run wrote a heartbeat"

# ---- a sweep in the background: its run's heartbeat, then status while it runs
setsid mpirun -n 1 "$SG" sweep prog.yaml --results r --threads 1 > bg.log 2>&1 &
BG=$!
hb=
for _ in $(seq 1 600); do
  for f in r/prog/runs/*/progress.json; do
    [ -f "$f" ] && grep -q '"finished": false' "$f" && ! grep -q '"step": 0,' "$f" && hb=$f && break 2
  done
  sleep 0.2
done
if [ -n "$hb" ]; then
  ok "a running run's heartbeat: $(cat "$hb")"
  /usr/bin/python3 - "$hb" "$STEPS" <<'PY' && ok "the heartbeat has phase, step < total, loss, ETA, pid, updated_at" || bad "heartbeat content"
import json, sys, time
h = json.load(open(sys.argv[1]))
assert h["phase"] == "train" and 0 < h["step"] < h["total"] == int(sys.argv[2]), h
assert isinstance(h["loss"], float) and h["eta_seconds"] is not None and h["eta_seconds"] >= 0, h
assert h["pid"] > 0 and abs(time.time() - h["updated_at"]) < 120 and h["finished"] is False, h
PY
else
  bad "no heartbeat of a running run appeared"; cat bg.log
fi
"$SG" status r/prog > st1 2>&1
grep -Eq '^  [0-9a-f]{8} sst2  seed 1 baseline +train [0-9]+/'"$STEPS"' loss [0-9.]+ ETA [0-9hms]+ \(updated [0-9]+s ago\)$' st1 \
  && ok "status lists the running run: $(grep 'train ' st1)" || { bad "status while running"; cat st1; }
grep -q 'STALE' st1 && bad "status calls a live run stale" || true

# ---- the whole job killed: the heartbeat stays, and status says its process is gone. Open MPI
# starts the rank in a process group of its own: the run (the heartbeat's pid) and the sweep rank
# (its parent) are killed by pid, mpirun by its group.
run_pid=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$hb" 2> /dev/null)
rank_pid=$(ps -o ppid= -p "${run_pid:-0}" 2> /dev/null | tr -d ' ')
[ -n "$run_pid" ] && [ -n "$rank_pid" ] && kill -9 "$rank_pid" "$run_pid"
kill -9 -- -"$BG"; wait "$BG" 2> /dev/null; BG=
for _ in $(seq 1 50); do kill -0 "${run_pid:-0}" 2> /dev/null || break; sleep 0.1; done
"$SG" status r/prog > st2 2>&1
grep -Eq '^  [0-9a-f]{8} sst2  seed 1 baseline +STALE: process [0-9]+ on .* is gone \(last: train [0-9]+/'"$STEPS" st2 \
  && ok "after kill -9, status: $(grep STALE st2 | sed 's/^ *//')" || { bad "status after the kill"; cat st2; }

# ---- SIGTERM to the sweep (a cluster's preemption): its run checkpoints, the sweep exits 143
wait_heartbeat() { # a fresh heartbeat of a running run (newer than the file $1), printed
  for _ in $(seq 1 600); do
    for f in r/prog/runs/*/progress.json; do
      [ -f "$f" ] && [ "$f" -nt "$1" ] && grep -q '"finished": false' "$f" && ! grep -q '"step": 0,' "$f" && echo "$f" && return 0
    done
    sleep 0.2
  done
  return 1
}
touch mark
setsid mpirun -n 1 "$SG" sweep prog.yaml --results r --threads 1 --resume > term.log 2>&1 &
BG=$!
if hb2=$(wait_heartbeat mark); then
  run_pid=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$hb2")
  kill -TERM "$(ps -o ppid= -p "$run_pid" | tr -d ' ')"
  wait "$BG"; rc=$?; BG=
  [ $rc = 143 ] && grep -q 'sweep stopped by SIGTERM' term.log && ok "SIGTERM: the sweep stopped with exit 143" \
    || { bad "SIGTERM (exit $rc)"; tail -5 term.log; }
else
  bad "no heartbeat in the resumed sweep"
fi

# ---- resumed with its output in a file: clean log, no redraws, and nothing left running
mpirun -n 1 "$SG" sweep prog.yaml --results r --threads 1 --resume > log 2>&1
rc=$?
[ $rc = 0 ] && grep -q '^done .* q8 .*(snn ' log && ok "resumed sweep finished (exit 0)" || { bad "resume (exit $rc)"; tail -5 log; }
[ "$(tr -cd '\r' < log | wc -c)" = 0 ] && ! grep -q $'\033' log && ok "the redirected log has no carriage return or escape" \
  || bad "carriage returns / escapes in a redirected log"
"$SG" status r/prog > st3 2>&1
grep -q '^running' st3 && { bad "status lists running runs after the sweep ended"; cat st3; } || ok "status after the end: no running runs"
q8=$(ls -d r/prog/runs/* | while read -r d; do grep -q '"phase": "snn"' "$d/progress.json" 2> /dev/null && echo "$d"; done)
[ -n "$q8" ] && grep -q '"step": 32, "total": 32' "$q8/progress.json" && grep -q '"finished": true' "$q8/progress.json" \
  && ok "the SNN simulation beats too (phase snn, 32/32)" || bad "no snn heartbeat"

# ---- on a terminal: one line redrawn in place, naming the running run's step / total and loss
script -qfec "mpirun -n 1 '$SG' sweep prog.yaml --results t --threads 1" /dev/null > tty.out 2>&1
grep -aq $'\r\033\[Ksweep \[' tty.out && ok "on a pty the sweep redraws its line (\\r + erase)" || { bad "no live line on a pty"; head -c 600 tty.out; }
grep -aEq $'\r\033\\[Ksweep \\[[#.]+\\] 0/2 failed 0 running 1 ETA [0-9hms]+ \\| [0-9a-f]{8} train [0-9]+/'"$STEPS"$' loss [0-9.]+' tty.out \
  && ok "the live line shows runs done/total, running, ETA, the running run's step/total and loss" \
  || { bad "live line content"; tr '\r' '\n' < tty.out | grep -a '^.\[Ksweep' | head -5; }
grep -aq '^done .* baseline' <(tr '\r' '\n' < tty.out | sed 's/^\x1b\[K//') && ok "done lines still print whole on a pty" || bad "done line on a pty"

# ---- results.h5: units everywhere, per-sample / total names, leaderboard agreement, data_dir absolute
/usr/bin/python3 "$SRC/tests/ref/h5_check.py" r/prog/results.h5 > h5c 2>&1 && ok "h5_check (units on every dataset)" || { bad "h5_check"; cat h5c; }
"$SG" report r/prog --format json > report.json 2> report.err || bad "report"
/usr/bin/python3 - r/prog/results.h5 report.json "$W/data" <<'PY' && ok "h5py: units, names, totals vs per sample vs the leaderboard, absolute data_dir" || bad "results.h5 contents"
import json, math, sys
import h5py
f = h5py.File(sys.argv[1], "r")
rep = json.load(open(sys.argv[2]))
assert int(f.attrs["format_version"]) == 2
want = {"samples": "samples", "mean_settle_steps": "time steps", "accuracy_step": "time steps", "accuracy_by_step": "1",
        "sops_total": "synaptic operations, total over the samples", "sops_per_sample": "synaptic operations per sample",
        "energy_j_total": "J, total over the samples", "energy_mj_per_sample": "mJ per sample",
        "ann_macs_per_sample": "multiply-accumulates per sample", "ann_energy_mj_per_sample": "mJ per sample",
        "accuracy": "1"}
runs = f["runs"]
q8 = [runs[k] for k in runs if runs[k].attrs["variant"] == "q8"][0]
snn = q8["snn"]
for name, unit in want.items():
    assert name in snn, name
    assert snn[name].attrs["units"] == unit, (name, snn[name].attrs["units"])
for old in ("sops", "energy_j", "ann_macs", "ann_energy_j", "spikes"):  # format 1's ambiguous names are gone
    assert old not in snn, old
assert q8["train/loss"].attrs["units"] == "1" and q8["train/step"].attrs["units"] == "optimizer steps"
assert q8["qann/runtime"].attrs["units"] == "seconds"
n = snn["samples"][()]
assert n == 32
assert math.isclose(snn["sops_per_sample"][()], snn["sops_total"][()] / n, rel_tol=1e-12)
assert math.isclose(snn["energy_mj_per_sample"][()], snn["energy_j_total"][()] * 1e3 / n, rel_tol=1e-12)
# the leaderboard's per-sample columns (json: raw values, energy in J) are the same numbers
row = [r for r in rep["rows"] if r["variant"] == "q8"][0]
def mean(v): return v["mean"] if isinstance(v, dict) else v
sops = mean(row["sops_per_sample"]); ej = mean(row["snn_energy_j_per_sample"])
assert math.isclose(sops, snn["sops_per_sample"][()], rel_tol=1e-9), (sops, snn["sops_per_sample"][()])
assert math.isclose(ej * 1e3, snn["energy_mj_per_sample"][()], rel_tol=1e-9), (ej, snn["energy_mj_per_sample"][()])
s = f["summary"][()]
units = dict(zip(s.dtype.names, [u.decode() if isinstance(u, bytes) else u for u in f["summary"].attrs["units"]]))
assert units["sops_per_sample"] == "synaptic operations per sample" and units["energy_mj_per_sample"] == "mJ per sample", units
r = [x for x in s if x["variant"] == b"q8"][0]
assert math.isclose(r["sops_per_sample"], sops, rel_tol=1e-9) and math.isclose(r["energy_mj_per_sample"], ej * 1e3, rel_tol=1e-9)
for k in runs:
    d = json.loads(runs[k].attrs["config"])["data_dir"]
    assert d == sys.argv[3], (d, sys.argv[3])
PY

# ---- a format-1 file (the old names of the totals) still reads: the same leaderboard
cp r/prog/results.h5 old.h5
/usr/bin/python3 - old.h5 <<'PY' || bad "making a format-1 file"
import sys, h5py
f = h5py.File(sys.argv[1], "r+")
f.attrs["format_version"] = 1
for k in f["runs"]:
    g = f["runs"][k]
    if "snn" not in g: continue
    s = g["snn"]
    for new, old in (("sops_total", "sops"), ("energy_j_total", "energy_j"), ("ann_macs_total", "ann_macs"),
                     ("ann_energy_j_total", "ann_energy_j"), ("spikes_total", "spikes")):
        s.move(new, old)
    for per in ("sops_per_sample", "energy_mj_per_sample", "ann_macs_per_sample", "ann_energy_mj_per_sample", "spikes_per_sample"):
        del s[per]
PY
"$SG" report old.h5 --format csv > old.csv 2>&1 && "$SG" report r/prog/results.h5 --format csv > new.csv 2>&1 && cmp -s old.csv new.csv \
  && grep -q '^sst2,q8' new.csv && ok "a format-1 results.h5 gives the same leaderboard" || { bad "format-1 file"; diff old.csv new.csv | head; }

exit $fail
