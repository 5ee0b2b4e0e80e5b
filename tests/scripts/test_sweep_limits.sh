#!/usr/bin/env bash
# Issue #10, faults of the machine rather than of the code: a run that hangs is stopped by the job
# spec's time_limit and recorded as timed out, and one whose loss turns NaN as diverged (naming
# the step), while the sweep goes on; a results directory that
# fills up (a real 4 MB tmpfs) or turns read-only gives a one-line error and a non-zero exit, keeps
# every earlier result readable, and --resume finishes the sweep once there is room again; a
# checkpoint on a read-only filesystem can be evaluated but not trained into.
# The disk parts need root (mount); they are skipped with a note otherwise.
set -uo pipefail
BUILD=$1 SRC=$(cd "$2" && pwd)
SG=$(cd "$BUILD" && pwd)/spikeglue
command -v mpirun > /dev/null || { echo "skip: mpirun not installed"; exit 77; }
/usr/bin/python3 -c "import h5py" 2> /dev/null || { echo "skip: python3-h5py not installed"; exit 77; }
W=$(mktemp -d)
MNT=$W/mnt
cleanup() { pkill -9 -f "$W/" 2> /dev/null; mountpoint -q "$MNT" && umount -l "$MNT"; rm -rf "$W"; }
trap cleanup EXIT
cd "$W"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# sanitizer build: full stacks, so the suppressions of Open MPI's leaks (tests/lsan.supp) match
[ -n "${SG_SANITIZED:-}" ] && export ASAN_OPTIONS="${ASAN_OPTIONS:-}:fast_unwind_on_malloc=0"
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
H5CHECK=$SRC/tests/ref/h5_check.py
"$SG" synth --out "$W/data" --train_rows 256 --dev_rows 32 > /dev/null || { echo "FAIL synth"; exit 1; }

# a checkpoint with a NaN weight: its runs diverge
"$SG" init-model --size tiny --num-labels 2 --seed 1 --out "$W/nanmodel" > /dev/null || { echo "FAIL init-model"; exit 1; }
/usr/bin/python3 - "$W/nanmodel/model.safetensors" <<'PY' || { echo "FAIL crafting a NaN checkpoint"; exit 1; }
import json, struct, sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
t = h["roberta.encoder.layer.0.output.dense.weight"]; assert t["dtype"] == "F32"
off = 8 + n + t["data_offsets"][0]; b[off:off + 4] = struct.pack("<f", float("nan")); open(p, "wb").write(b)
PY

# ---- a hanging run: the time limit stops it, the sweep goes on
cat > limits.yaml <<EOF
name: limits
model: builtin:tiny
data_dir: $W/data
tasks: [sst2, mrpc]
model_overrides: {mrpc: $W/nanmodel}
seeds: [1]
variants:
  quick: {transform: none}
  hangs: {transform: none, train: {epochs: 100000}}
pipeline: [finetune]
train: {epochs: 1, batch_size: 16, learning_rate: 1e-3, max_seq_length: 32, max_train_samples: 64, max_eval_samples: 32}
retries: 0
time_limit: 4
EOF
start=$(date +%s)
mpirun -n 2 "$SG" sweep limits.yaml --results "$W/r1" --threads 1 > log1 2>&1
rc=$?; took=$(( $(date +%s) - start ))
grep -q '^TIMEOUT .* sst2 seed 1 hangs' log1 && grep -q '^done .* sst2 .* quick' log1 && [ $rc = 3 ] && [ $took -lt 60 ] \
  && ok "the hanging run timed out after the 4 s limit, the other finished, exit 3, ${took} s in all" \
  || { bad "time limit (exit $rc, ${took} s)"; tail -5 log1; }
/usr/bin/python3 "$H5CHECK" r1/limits/results.h5 --dump > h5_1 2>&1; grep -q ' hangs 1 timeout' h5_1 \
  && ok "results.h5 records the run as timeout" || bad "no timeout record in results.h5"
grep -Eq '^DIVERGED .* mrpc seed 1 quick: diverged at step [0-9]+' log1 && grep -q ' mrpc quick 1 diverged' h5_1 \
  && ok "a NaN loss: $(grep -m1 '^DIVERGED' log1 | cut -c1-120), recorded as diverged" || { bad "divergence not recorded"; grep mrpc log1 h5_1; }

if ! { mkdir -p "$MNT" && mount -t tmpfs -o size=4m tmpfs "$MNT"; } 2> /dev/null; then
  echo "note: cannot mount a tmpfs here (not root?): disk-full and read-only parts skipped"
  exit $fail
fi

# ---- disk full: a 4 MB results filesystem fills during the sweep
cat > disk.yaml <<EOF
name: disk
model: builtin:tiny
data_dir: $W/data
tasks: [sst2, mrpc]
seeds: [1, 2, 3]
variants:
  baseline: {transform: none}
pipeline: [finetune]
train: {epochs: 1, batch_size: 16, learning_rate: 1e-3, max_seq_length: 32, max_train_samples: 64, max_eval_samples: 32}
retries: 0
EOF
mpirun -n 2 "$SG" sweep disk.yaml --results "$MNT/r" --threads 1 > log2 2>&1
rc=$?
grep -E '^(done|FAILED|TIMEOUT|DIVERGED) ' log2 | awk '{print $2}' > acked2
grep -E '^done ' log2 | awk '{print $2}' > finished2
errs=$(grep -c 'No space left on device' log2)
[ $rc != 0 ] && [ "$errs" -ge 1 ] && ok "disk full: exit $rc, the error names the cause: $(grep -m1 'No space left' log2 | cut -c1-150)" \
  || { bad "disk full (exit $rc) not reported"; tail -5 log2; }
if [ -f "$MNT/r/disk/results.h5" ]; then
  missing=0
  /usr/bin/python3 "$H5CHECK" "$MNT/r/disk/results.h5" --dump > h5_2 2>&1 || { missing=1; cat h5_2; }
  while read -r id; do grep -q "^$id" h5_2 || { echo "  missing $id"; missing=1; }; done < acked2
  [ $missing = 0 ] && ok "disk full: results.h5 opens and holds the $(wc -l < acked2) runs reported before" || bad "disk full lost results"
else
  ok "disk full before the first commit: nothing was reported ($(wc -l < acked2) lines)"
fi
# room again: resume finishes, nothing reported earlier is redone
mount -o remount,size=200m "$MNT"
mpirun -n 2 "$SG" sweep disk.yaml --results "$MNT/r" --threads 1 --resume > log3 2>&1
rc=$?
/usr/bin/python3 "$H5CHECK" "$MNT/r/disk/results.h5" --exact 6 > /dev/null 2>&1 && [ $rc -le 3 ] \
  && ok "with room again, --resume completes the sweep: 6 runs (exit $rc)" || { bad "resume after disk full (exit $rc)"; tail -5 log3; }
redone=0
for id in $(cat finished2); do grep -q "^done *$id" log3 && redone=$((redone + 1)); done
[ $redone = 0 ] && ok "none of the $(wc -l < finished2) runs finished before the disk filled was run again" || bad "$redone finished runs were run again"

# ---- read-only results directory: refused with one line, the files stay as they were
sum_before=$(cd "$MNT/r/disk" && md5sum results.jsonl results.h5)
mount -o remount,ro "$MNT"
mpirun -n 1 "$SG" sweep disk.yaml --results "$MNT/r" --threads 1 --resume > log4 2> err4
rc=$?
line=$(grep -m1 'spikeglue: error' err4 log4)
[ $rc != 0 ] && echo "$line" | grep -q "$MNT/r/disk" && ok "read-only results: exit $rc, $(echo "$line" | cut -d: -f2- | cut -c1-140)" \
  || { bad "read-only results dir (exit $rc)"; cat err4 | head -5; }
sum_after=$(cd "$MNT/r/disk" && md5sum results.jsonl results.h5)
[ "$sum_before" = "$sum_after" ] && ok "read-only results: journal and results.h5 unchanged" || bad "results changed"

# ---- a checkpoint on a read-only filesystem: evaluation works, training into it is refused
CK=$(ls -d "$MNT"/r/disk/runs/*/out | head -1)
"$SG" run --model_name_or_path "$CK" --task_name sst2 --data_dir "$W/data" --do_eval --max_seq_length 32 \
  --output_dir "$W/eval_ro" > log5 2>&1 && ok "a read-only checkpoint evaluates" || { bad "evaluating a read-only checkpoint"; tail -3 log5; }
"$SG" run --model_name_or_path "$CK" --task_name sst2 --data_dir "$W/data" --do_train --max_steps 2 --max_seq_length 32 \
  --output_dir "$CK" --overwrite_output_dir > log6 2> err6
rc=$?
[ $rc != 0 ] && [ $rc -lt 128 ] && [ "$(grep -c . err6)" = 1 ] && grep -q 'Read-only file system' err6 \
  && ok "training into a read-only checkpoint: exit $rc, $(cut -c1-140 err6)" || { bad "read-only output (exit $rc)"; cat err6; }
exit $fail
