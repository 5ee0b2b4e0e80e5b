#!/usr/bin/env bash
# Crash safety of the results store: SIGKILL the writer (tests/tools/store_writer.c) at random
# moments, 20 times over the same sweep (each run resumes it), and check with h5py after each
# kill that results.h5 opens and holds every record the writer reported committed, with its data
# intact. Then one uninterrupted run must finish the sweep with exactly the expected runs.
# Usage: test_results_crash.sh BUILD_DIR SOURCE_DIR. Exit 77 when python3-h5py is missing.
set -u
BUILD=${1:?build dir}
SRC=${2:?source dir}
WRITER=$BUILD/tests/store_writer
PY=/usr/bin/python3
CHECK=$SRC/tests/ref/h5_check.py
TRIALS=${SG_CRASH_TRIALS:-20}
POINTS=200

if ! "$PY" -c 'import h5py' 2>/dev/null; then
    echo "SKIP: $PY cannot import h5py (apt-get install python3-h5py)"
    exit 77
fi
[ -x "$WRITER" ] || { echo "FAIL: $WRITER not built"; exit 1; }

TMP=$(mktemp -d)
trap '[ -n "${SG_KEEP_TMP:-}" ] && echo "kept $TMP" || rm -rf "$TMP"' EXIT
DIR=$TMP/sweep
: >"$TMP/committed"
losses=0
failures=0
killed_mid=0

for t in $(seq 1 "$TRIALS"); do
    "$WRITER" "$DIR" 100000 "$POINTS" >"$TMP/out.$t" 2>"$TMP/err.$t" &
    pid=$!
    # 20..420 ms: early kills land in open (journal replay, results.h5 regeneration), later ones
    # anywhere in the commit loop.
    ms=$((20 + RANDOM % 400))
    sleep "$(printf '0.%03d' "$ms")"
    if kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid"
        killed_mid=$((killed_mid + 1))
    fi
    wait "$pid" 2>/dev/null
    rc=$?
    if [ "$rc" -ne 137 ]; then
        echo "trial $t: writer exited $rc before the kill:"; cat "$TMP/err.$t"
        failures=$((failures + 1))
    fi
    grep '^committed' "$TMP/out.$t" >>"$TMP/committed"
    n=$(grep -c '^committed' "$TMP/out.$t")
    if ! out=$("$PY" "$CHECK" "$DIR/results.h5" --committed "$TMP/committed" --points "$POINTS"); then
        losses=$((losses + 1))
    fi
    echo "trial $t: killed after ${ms} ms, $n commits this time; $out"
done

# Records whose commit finished but whose acknowledgement the kill cut off are in the store too
# (committed, never reported): the sweep goes on from however many runs it holds.
total=$(wc -l <"$TMP/committed")
held=$("$PY" -c 'import h5py, sys; print(len(h5py.File(sys.argv[1], "r")["runs"]))' "$DIR/results.h5")
final=$((held + 3))
if ! "$WRITER" "$DIR" "$final" "$POINTS" >"$TMP/out.final" 2>"$TMP/err.final"; then
    echo "final run failed:"; cat "$TMP/err.final"
    failures=$((failures + 1))
fi
grep '^committed' "$TMP/out.final" >>"$TMP/committed"
if ! "$PY" "$CHECK" "$DIR/results.h5" --committed "$TMP/committed" --points "$POINTS" --exact "$final"; then
    losses=$((losses + 1))
fi

echo "crash test: $TRIALS trials ($killed_mid killed mid-run), $total commits acknowledged before kills, $losses trials with lost or torn records, $failures other failures"
if [ "$losses" -ne 0 ] || [ "$failures" -ne 0 ] || [ "$killed_mid" -eq 0 ]; then
    echo "0 passed, 1 failed"
    exit 1
fi
echo "1 passed, 0 failed"
