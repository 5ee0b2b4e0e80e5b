#!/usr/bin/env bash
# Fuzz every parser of outside input (issue #10): builds the libFuzzer harnesses of tests/fuzz
# in build-fuzz/ (clang, -DSG_FUZZ=ON: ASan + UBSan + coverage) and runs each for a fixed budget,
# starting from a copy of its seed corpus (tests/fuzz/corpus/<name>/, never modified here).
#
#   scripts/fuzz.sh [--no-build] [--build DIR] [--only NAME] [SECONDS]   (default 60 s per harness)
#
# Prints one row per harness: executions, executions per second, crashes (crash/leak/timeout/oom
# inputs saved), corpus size after the run (files). Crash inputs land in DIR/fuzz-work/<name>/;
# copy each to tests/fuzz/regressions/<name>/ so ctest replays it (test_fuzz_regressions).
# Exit status: 0 when no harness found anything, 1 otherwise, 2 on a build/usage error.
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build-fuzz"
SECONDS_EACH=60
DO_BUILD=1
ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) DO_BUILD=0 ;;
    --build) BUILD="$2"; shift ;;
    --only) ONLY="$2"; shift ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *[!0-9]*|'') echo "fuzz.sh: unknown argument '$1'" >&2; exit 2 ;;
    *) SECONDS_EACH="$1" ;;
  esac
  shift
done

if [ "$DO_BUILD" = 1 ]; then
  command -v clang >/dev/null || { echo "fuzz.sh: clang not found (apt-get install -y clang)" >&2; exit 2; }
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSG_FUZZ=ON \
        -DSG_FUZZ_SECONDS="$SECONDS_EACH" >"$BUILD.configure.log" 2>&1 \
    || { echo "fuzz.sh: configure failed, see $BUILD.configure.log" >&2; exit 2; }
  harness_targets=$(cd "$ROOT/tests/fuzz" && ls fuzz_*.c | sed 's/\.c$//')
  # shellcheck disable=SC2086
  cmake --build "$BUILD" -j2 --target $harness_targets >"$BUILD/build.log" 2>&1 \
    || { echo "fuzz.sh: build failed, see $BUILD/build.log" >&2; tail -20 "$BUILD/build.log" >&2; exit 2; }
fi

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$ROOT/tests/lsan.supp}"
export OMP_NUM_THREADS=1

status=0
rows=()
cd "$ROOT" || exit 2 # job specs name transform configs relative to the project root
for src in "$ROOT"/tests/fuzz/fuzz_*.c; do
  name=$(basename "$src" .c); name=${name#fuzz_}
  [ -n "$ONLY" ] && [ "$ONLY" != "$name" ] && continue
  bin="$BUILD/fuzz_$name"
  [ -x "$bin" ] || { echo "fuzz.sh: $bin missing (build first)" >&2; exit 2; }
  work="$BUILD/fuzz-work/$name"
  rm -rf "$work"; mkdir -p "$work/corpus"
  cp "$ROOT/tests/fuzz/corpus/$name/"* "$work/corpus/" 2>/dev/null
  echo "== fuzz_$name: ${SECONDS_EACH} s" >&2
  "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
         -print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" >"$work/log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/log" | tail -1)
  crashes=$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
  size=$(find "$work/corpus" -type f | wc -l)
  if [ "$rc" != 0 ] || [ "$crashes" != 0 ]; then
    status=1
    echo "fuzz_$name: exit $rc; see $work/log" >&2
    grep -m3 -E 'ERROR|SUMMARY|fuzz: bad' "$work/log" >&2
    find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) >&2
  fi
  rows+=("$(printf '%-18s %12s %9s %8s %12s' "$name" "${execs:-?}" "${rate:-?}" "$crashes" "$size")")
done

printf '%-18s %12s %9s %8s %12s\n' harness executions exec/s crashes corpus_size
for r in "${rows[@]}"; do echo "$r"; done
exit $status
