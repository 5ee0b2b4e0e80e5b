#!/usr/bin/env bash
# README.md is a test: every command in its ```sh blocks runs here exactly as written, in a scratch
# copy of the source tree (they write build/, out/ and results/ relative to it), with only flags that
# cap sizes appended. The commands are read from README.md itself (continuation lines joined, shell
# variables such as R="…" kept for the lines below), so the test always runs the README's current text.
# Every command must have an entry in the table below (readme_entry): run (with the caps to append and
# the check of what the README says it produces) or skip (its reason printed). A command without an
# entry fails the test, so a README command that changes must change its test too.
#
# Release build: the scratch copy gets its own build/ from scripts/demo.sh (setup.sh), which the cmake
# lines and `SG_NO_INSTALL=1 scripts/setup.sh` then find up to date. Sanitized build: only the five
# `spikeglue run` flows run, with build/ linked to the sanitized tree; the commands that build and run
# the Release tree are left to the Release pass (said per command).
# The flows need ../shared (real MRPC): without it they are skipped with a message.
# KEEP=1 keeps the scratch directory.
set -uo pipefail
BUILD=$(cd "$1" && pwd) SRC=$(cd "$2" && pwd)
README=$SRC/README.md
SHARED=$(cd "$SRC/.." && pwd)/shared
[ -f "$README" ] || { echo "FAIL no $README"; exit 1; }

SANITIZED=${SG_SANITIZED:-0}
grep -qs '^SG_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" && SANITIZED=1

fail=0 ran=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
note() { echo "SKIP $*"; }

# ---------------------------------------------------------------------------------------------
# The table: README command (comment stripped, whitespace collapsed) -> what the test does.
#   ACTION  run | assign (a shell variable for the commands below) | skip
#   CAPS    flags appended (size caps only)
#   CHECK   function run after the command exited 0: what the README says the command produces
#   NEEDS   shared: needs ../shared
#   REASON  why a command is skipped (printed)
# ---------------------------------------------------------------------------------------------
FLOW_CAPS="--max_train_samples 32 --max_eval_samples 8 --max_steps 2"
readme_entry() {
  ACTION= CAPS= CHECK= NEEDS= REASON= RELEASE_ONLY=0
  case "$1" in
    'scripts/demo.sh') ACTION=run CHECK=check_demo RELEASE_ONLY=1 ;;
    'scripts/test.sh') ACTION=skip CHECK=check_ci_runs_test_sh
      REASON="it runs ctest on every test, this one included (it would recurse); .ci/run runs exactly it, checked instead" ;;
    'R="build/spikeglue run --task_name mrpc --data_dir ../shared/glue --max_seq_length 128"') ACTION=assign ;;
    '$R --model_name_or_path builtin:small --do_train --do_eval --output_dir out/base')
      ACTION=run CAPS=$FLOW_CAPS CHECK=check_flow_baseline NEEDS=shared ;;
    '$R --model_name_or_path out/base --transform_config configs/transform_cfg.yaml --do_train --do_eval --eval_strategy epoch --output_dir out/qat')
      ACTION=run CAPS=$FLOW_CAPS CHECK=check_flow_qat NEEDS=shared ;;
    '$R --model_name_or_path out/base --transform_config configs/transform_cfg.yaml --do_eval --output_dir out/post')
      ACTION=run CAPS=$FLOW_CAPS CHECK=check_flow_post NEEDS=shared ;;
    '$R --model_name_or_path out/base --transform_config configs/transform_cfg.yaml --model_weights_path out/qat --do_eval --output_dir out/qann')
      ACTION=run CAPS=$FLOW_CAPS CHECK=check_flow_qann NEEDS=shared ;;
    '$R --model_name_or_path out/base --transform_config configs/transform_cfg.yaml --model_weights_path out/qat --convert_to_snn --snn_eval --output_dir out/snn')
      ACTION=run CAPS=$FLOW_CAPS CHECK=check_flow_snn NEEDS=shared ;;
    # "[-DSG_NATIVE=ON]" as written is an extra path CMake ignores with a warning: the default (off) build
    'cmake -S . -B build -DCMAKE_BUILD_TYPE=Release [-DSG_NATIVE=ON]') ACTION=run CHECK=check_configured RELEASE_ONLY=1 ;;
    'cmake --build build -j') ACTION=run CHECK=check_built RELEASE_ONLY=1 ;;
    'ctest --test-dir build --output-on-failure') ACTION=skip CHECK=check_test_sh_runs_ctest
      REASON="it runs every test, this one included (it would recurse); scripts/test.sh runs it, checked instead" ;;
    'module load cmake openmpi openblas netlib-scalapack hdf5 libyaml cjson pcre2 curl libzip') ACTION=skip
      REASON="site-specific: Environment Modules on an HPC cluster" ;;
    'SG_NO_INSTALL=1 scripts/setup.sh') ACTION=run CHECK=check_setup_no_install RELEASE_ONLY=1 ;;
    'srun -n 64 build/spikeglue sweep jobs/level-ablation.yaml --resume') ACTION=skip CHECK=check_level_ablation_plan
      REASON="needs a SLURM allocation of 64 tasks (tests/scripts/test_slurm.sh runs sweeps on a real local SLURM); the spec's plan is checked with --dry-run instead" ;;
    *) return 1 ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# Extraction: one command per line from the ```sh blocks (other fences: output, YAML), continuation
# lines ending in "\" joined; full-line comments are passed through (they start with "#").
# ---------------------------------------------------------------------------------------------
mapfile -t COMMANDS < <(awk '
  /^```sh[[:space:]]*$/ { insh = 1; next }
  /^```/ { if (insh && cmd != "") print cmd; cmd = ""; insh = 0; next }
  !insh { next }
  cmd == "" && /^[[:space:]]*$/ { next }
  cmd == "" && /^[[:space:]]*#/ { print; next }
  /\\$/ { cmd = cmd substr($0, 1, length($0) - 1); next }
  { print cmd $0; cmd = "" }
' "$README")
[ ${#COMMANDS[@]} -gt 0 ] || { echo "FAIL no commands found in the sh blocks of $README"; exit 1; }

strip_comment() { # the command without its trailing comment and trailing blanks
  local c=${1%%[[:space:]]#*}
  printf '%s' "${c%"${c##*[![:space:]]}"}"
}
normalize() { local -a w; read -r -a w <<< "$1"; printf '%s' "${w[*]}"; }

# Coverage first: every command needs an entry, whatever else happens.
for c in "${COMMANDS[@]}"; do
  [[ $c =~ ^[[:space:]]*# ]] && continue
  key=$(normalize "$(strip_comment "$c")")
  readme_entry "$key" || bad "README command not covered: $key"
done
[ $fail = 0 ] || { echo "add each command above to the table (readme_entry) in $0"; exit 1; }
ok "every command in README.md's sh blocks has an entry (${#COMMANDS[@]} lines)"

# ---------------------------------------------------------------------------------------------
# Checks: what the README says each command produces (run in the scratch copy).
# ---------------------------------------------------------------------------------------------
have() { [ -e "$1" ] && ok "${2:-$1} exists" || bad "${2:-$1} missing"; }
# json_keys(file, key...): each key (a.b for nested) present and a finite number
json_keys() {
  local file=$1; shift
  [ -f "$file" ] || { bad "$file missing"; return; }
  if python3 - "$file" "$@" <<'PY'; then ok "$file: $*"; else bad "$file lacks some of: $*"; fi
import json, math, sys
d = json.load(open(sys.argv[1]))
def get(k):
    v = d
    for part in k.split("."):
        v = v.get(part) if isinstance(v, dict) else None
    return v
missing = [k for k in sys.argv[2:] if not (isinstance(get(k), (int, float)) and math.isfinite(get(k)))]
if missing: print("    missing or not finite:", missing, "in", sorted(d))
sys.exit(1 if missing else 0)
PY
}
hf_outputs() { # dir: what a train + eval run writes (README: Commands table)
  for f in config.json model.safetensors eval_results.json train_results.json all_results.json trainer_state.json; do
    have "$1/$f"
  done
  json_keys "$1/eval_results.json" eval_loss eval_accuracy eval_f1 eval_samples
  json_keys "$1/train_results.json" train_loss train_samples
}
check_flow_baseline() { hf_outputs out/base; }
check_flow_qat() {
  hf_outputs out/qat
  grep -q "(quantized)" "$LOG" && ok "the QAT model is quantized" || bad "QAT run does not report a quantized model"
  # --eval_strategy epoch: an evaluation in the log history (the capped run ends inside epoch 1)
  python3 - out/qat/trainer_state.json <<'PY' && ok "--eval_strategy epoch evaluated during training" || bad "no evaluation in out/qat/trainer_state.json's log_history"
import json, sys
sys.exit(0 if any("eval_loss" in e for e in json.load(open(sys.argv[1]))["log_history"]) else 1)
PY
}
check_flow_post() { json_keys out/post/eval_results.json eval_loss eval_accuracy eval_f1; }
check_flow_qann() {
  json_keys out/qann/eval_results.json eval_loss eval_accuracy eval_f1
  # the fine-tuned QANN weights reproduce QAT's own final evaluation
  python3 - out/qat/eval_results.json out/qann/eval_results.json <<'PY' && ok "flow 3 reproduces QAT's eval metrics" || bad "flow 3's metrics differ from QAT's"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
keys = ["eval_loss", "eval_accuracy", "eval_f1"]
diff = [(k, a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k)]
for d in diff: print("    ", d)
sys.exit(1 if diff else 0)
PY
}
check_flow_snn() {
  json_keys out/snn/snn_results.json metrics.eval_accuracy metrics.eval_f1 agreement_with_qann
  # README: the spiking network's predictions equal the quantized ANN's (MRPC is a classification)
  python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1])).get("agreement_with_qann") != 1)' out/snn/snn_results.json &&
    ok "the spiking network agrees with the QANN on every sample" || bad "out/snn/snn_results.json: agreement_with_qann is not 1"
  if [ -d out/snn/snn_model ]; then ok "the spiking network is saved under --output_dir (out/snn/snn_model)"; else bad "no out/snn/snn_model saved"; fi
  if [ -e out/qat/snn_model ]; then bad "flow 4 wrote snn_model/ into --model_weights_path (an input)"; else ok "flow 4 left --model_weights_path unchanged"; fi
}
check_demo() {
  local d=results/demo
  for f in leaderboard.md leaderboard.csv results.h5; do have "$d/$f"; done
  have results/demo-data "results/demo-data (synthetic tasks)"
  grep -q "^sweep demo: 24 finished, 0 failed" "$LOG" && ok "demo: 24 runs finished, none failed" || bad "demo: not '24 finished, 0 failed'"
  for s in "## sst2" "## mrpc" "## stsb" "## GLUE average"; do
    grep -q "^$s" "$d/leaderboard.md" && ok "leaderboard.md has '$s'" || bad "leaderboard.md lacks '$s'"
    grep -q "^$s" "$LOG" && ok "the demo printed '$s'" || bad "the demo did not print '$s'"
  done
  # every task table has q8, q16, q32 with an SNN score; on the classification tasks the SNN's score
  # equals the quantized ANN's (README: equal up to rounding ties, which move only STS-B's score)
  awk '/^## / { t = ($2 ~ /^(sst2|mrpc|stsb)$/) ? $2 : "" }
       t != "" && /^\| q(8|16|32) \|/ { split($0, c, "|"); if (c[7] ~ /[0-9]/) n[t]++
                                       if (t != "stsb" && c[5] != c[7]) { print "    " t ": QANN" c[5] "!= SNN" c[7]; bad = 1 } }
       END { exit bad || !(n["sst2"] == 3 && n["mrpc"] == 3 && n["stsb"] == 3) }' "$d/leaderboard.md" &&
    ok "q8, q16, q32 have SNN scores in every task table, equal to the QANN's on SST-2 and MRPC" ||
    bad "leaderboard.md: SNN scores missing for q8/q16/q32, or unequal to the QANN's on SST-2/MRPC"
}
check_ci_runs_test_sh() {
  grep -Eq '^(exec +)?(bash +)?scripts/test\.sh *$' "$SRC/.ci/run" && ok ".ci/run runs scripts/test.sh" ||
    bad ".ci/run does not run scripts/test.sh"
}
check_test_sh_runs_ctest() {
  grep -q '^ctest --test-dir build --output-on-failure' "$SRC/scripts/test.sh" &&
    ok "scripts/test.sh runs 'ctest --test-dir build --output-on-failure'" || bad "scripts/test.sh does not run the README's ctest line"
}
check_configured() {
  grep -q '^CMAKE_BUILD_TYPE:STRING=Release$' build/CMakeCache.txt && ok "build/ configured Release" || bad "build/ is not a Release configuration"
  grep -q '^SG_NATIVE:BOOL=OFF$' build/CMakeCache.txt && ok "SG_NATIVE stays off (opt-in)" || bad "SG_NATIVE is not off"
}
check_built() { build/spikeglue --version > /dev/null 2>&1 && ok "build/spikeglue runs" || bad "build/spikeglue does not run"; }
check_setup_no_install() {
  check_built
  grep -q "setup: installing" "$LOG" && bad "SG_NO_INSTALL=1 scripts/setup.sh tried to install packages" || ok "SG_NO_INSTALL=1: no package step"
}
plans() { # name, spec: `spikeglue sweep SPEC --dry-run` (the tree under test) plans the sweep
  local log=$LOGS/plan-$(basename "$2").log
  # a plan check, not a leak check: under ASan, MPI's singleton initialisation sometimes leaks from
  # threads and unloaded plugins that tests/lsan.supp cannot name (seen under load)
  if ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" "$BUILD/spikeglue" sweep "$2" --dry-run > "$log" 2>&1; then
    ok "$1: $(head -1 "$log")"
  else bad "$1: $2 --dry-run failed:"; tail -5 "$log" | sed 's/^/    /'; fi
}
check_level_ablation_plan() { plans "srun's spec" jobs/level-ablation.yaml; }

# ---------------------------------------------------------------------------------------------
# The scratch copy: the source tree without build trees, results or outputs; ../shared beside it.
# ---------------------------------------------------------------------------------------------
W=$(mktemp -d /tmp/sg-readme.XXXXXX)
cleanup() { if [ -n "${KEEP:-}" ]; then echo "kept $W"; else rm -rf "$W"; fi; }
trap cleanup EXIT
S=$W/spikeglue LOGS=$W/logs
mkdir -p "$S" "$LOGS"
tar -C "$SRC" --exclude='./build*' --exclude=./out --exclude=./data --exclude=./.git --exclude='./results/*' -cf - . |
  tar -C "$S" -xf - || { echo "FAIL copying $SRC to $S"; exit 1; }
cp "$SRC/results/README.md" "$S/results/" 2>/dev/null
[ -d "$SHARED" ] && ln -s "$SHARED" "$W/shared"
if [ "$SANITIZED" = 1 ]; then ln -s "$BUILD" "$S/build"; fi

# setup.sh installs missing Debian packages: a test does not, so it skips when any is missing.
missing=$(cd "$S" && bash -c 'eval "$(sed -n "/^PACKAGES=(/,/)/p" scripts/setup.sh)"
  for p in "${PACKAGES[@]}"; do dpkg-query -W -f="\${Status}" "$p" 2>/dev/null | grep -q "install ok installed" || echo -n "$p "; done')
if [ "$SANITIZED" = 0 ] && [ -n "$missing" ]; then
  echo "SKIP: scripts/setup.sh would install ${missing}(run it first; a test installs nothing)"; exit 77
fi

# ---------------------------------------------------------------------------------------------
# Run: each command in a fresh bash in the scratch copy, after the variables set before it.
# ---------------------------------------------------------------------------------------------
cd "$S" || exit 1
ASSIGNMENTS=
n=0
for c in "${COMMANDS[@]}"; do
  if [[ $c =~ ^[[:space:]]*# ]]; then echo "note comment in a sh block, not run: $(normalize "$c")"; continue; fi
  n=$((n + 1))
  cmd=$(strip_comment "$c")
  key=$(normalize "$cmd")
  readme_entry "$key"
  case $ACTION in
    assign) ASSIGNMENTS+="$cmd"$'\n'; ok "set for the commands below: $key"; continue ;;
    skip) note "$key — $REASON"; [ -n "$CHECK" ] && $CHECK; continue ;;
  esac
  if [ "$SANITIZED" = 1 ] && [ "$RELEASE_ONLY" = 1 ]; then
    note "$key — builds and runs the Release tree in build/: the Release pass of this test runs it"; continue
  fi
  if [ "$NEEDS" = shared ] && [ ! -d "$SHARED/glue/MRPC" ]; then
    note "$key — $SHARED/glue/MRPC is absent (the real MRPC data is needed)"; continue
  fi
  LOG=$LOGS/$n.log
  echo "run  $key${CAPS:+ $CAPS}"
  t0=$SECONDS
  timeout -k 10 600 bash -c "$ASSIGNMENTS$cmd${CAPS:+ $CAPS}" > "$LOG" 2>&1
  rc=$?
  ran=$((ran + 1))
  if [ $rc = 0 ]; then
    ok "exit 0 in $((SECONDS - t0)) s"
    [ -n "$CHECK" ] && $CHECK
  else
    why="exit $rc"
    [ $rc = 124 ] && why="timed out after 600 s"
    [ $rc -gt 128 ] && why="killed by SIG$(kill -l $((rc - 128)) 2>/dev/null) (exit $rc)"
    bad "$key: $why; its first sanitizer report (if any) and last lines:"
    grep -m1 -E 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$LOG" | sed 's/^/    /'
    tail -8 "$LOG" | sed 's/^/    /'
  fi
done

# Not a command, but the README offers it to copy: its sweep spec (the ```yaml block) must plan.
awk '/^```yaml[[:space:]]*$/ { y = 1; next } /^```/ { y = 0 } y' "$README" > "$W/readme-spec.yaml"
if [ -s "$W/readme-spec.yaml" ]; then plans "README's sweep spec" "$W/readme-spec.yaml"; else bad "no yaml block (sweep spec) in README.md"; fi

if [ $fail = 0 ] && [ $ran = 0 ]; then echo "SKIP: no README command could run here (see above)"; exit 77; fi
[ $fail = 0 ] && echo "all README checks passed ($ran commands run)" || echo "some README checks FAILED"
exit $fail
