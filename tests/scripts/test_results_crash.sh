#!/usr/bin/env bash
# Crash safety of the results store: SIGKILL the writer (tests/tools/store_writer.c) at random
# moments, 20 times over the same sweep (each run resumes it), and check with h5py after each
# kill that results.h5 opens and holds every record the writer reported committed, with its data
# intact. Then one uninterrupted run must finish the sweep with exactly the expected runs.
#
# Until the first writer's sg_store_open has returned there is no results.h5, and rightly so:
# nothing was committed. Trial 1 kills its writer at once, so that window is always tested (under
# ASan on a loaded machine the first open takes 100-400 ms and random kills land in it as well);
# from the first "opened" line on results.h5 must always exist.
# A failure names the trial, the record (index and id), the trial that was told it was committed,
# what h5_check found wrong with it and whether the journal holds it.
# Usage: test_results_crash.sh BUILD_DIR SOURCE_DIR. Exit 77 when python3-h5py is missing.
# SG_CRASH_TRIALS (20) and SG_CRASH_MAX_MS (420: kills land 20..MAX ms after the start) vary it.
set -u
BUILD=${1:?build dir}
SRC=${2:?source dir}
WRITER=$BUILD/tests/store_writer
PY=/usr/bin/python3
CHECK=$SRC/tests/ref/h5_check.py
TRIALS=${SG_CRASH_TRIALS:-20}
MAX_MS=${SG_CRASH_MAX_MS:-420}
[ "$MAX_MS" -gt 20 ] || { echo "FAIL: SG_CRASH_MAX_MS=$MAX_MS: kills start at 20 ms, give more"; exit 1; }
POINTS=200

if ! "$PY" -c 'import h5py' 2>/dev/null; then
    echo "SKIP: $PY cannot import h5py (apt-get install python3-h5py)"
    exit 77
fi
[ -x "$WRITER" ] || { echo "FAIL: $WRITER not built"; exit 1; }

TMP=$(mktemp -d)
trap '[ -n "${SG_KEEP_TMP:-}" ] && echo "kept $TMP" || rm -rf "$TMP"' EXIT
DIR=$TMP/sweep
: >"$TMP/committed" # "committed <i> <id>" lines of every writer, h5_check's input
: >"$TMP/acked"     # "<id> <trial> <ms>": which trial was told the record is committed
losses=0
failures=0
killed_mid=0
opened_by=""        # the first trial whose open returned: from then on results.h5 must exist

# One line per problem h5_check reported, each record named with the trial that acknowledged it
# and what the journal holds of it; then what the writer of this trial printed.
explain() {
    local what=$1 report=$2 line id ack held
    echo "FAIL $what:"
    grep 'FAIL\|cannot open' <<<"$report" | while IFS= read -r line; do
        id=$(grep -o '[0-9a-f]\{16\}' <<<"$line" | head -1)
        if [ -n "$id" ]; then
            ack=$(awk -v id="$id" '$1 == id {print "acknowledged in trial " $2 " (killed after " $3 " ms)"}' "$TMP/acked")
            held=$(grep -c "\"id\":\"$id\"" "$DIR/results.jsonl" 2>/dev/null)
            echo "  $line; ${ack:-never acknowledged}; journal lines with this id: ${held:-0}"
        else
            echo "  $line"
        fi
    done
    echo "  writer's stdout (first and last lines): $(head -1 "$3" | tr '\n' ' ')... $(tail -1 "$3")"
    [ -s "$4" ] && sed 's/^/  writer stderr: /' "$4"
    echo "  journal: $(wc -l <"$DIR/results.jsonl" 2>/dev/null || echo none) lines, last byte $(tail -c1 "$DIR/results.jsonl" 2>/dev/null | od -An -c | tr -d ' ')"
}

for t in $(seq 1 "$TRIALS"); do
    : >"$TMP/out.$t"; : >"$TMP/err.$t" # a kill at once can come before the writer's redirections
    "$WRITER" "$DIR" 100000 "$POINTS" >"$TMP/out.$t" 2>"$TMP/err.$t" &
    pid=$!
    # Early kills land in open (journal replay, results.h5 regeneration), later ones anywhere in
    # the commit loop; trial 1 before the store exists.
    ms=0
    [ "$t" -gt 1 ] && ms=$((20 + RANDOM % (MAX_MS - 19)))
    [ "$ms" -gt 0 ] && sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
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
    awk -v t="$t" -v ms="$ms" '$1 == "committed" {print $3, t, ms}' "$TMP/out.$t" >>"$TMP/acked"
    n=$(grep -c '^committed' "$TMP/out.$t")
    [ -z "$opened_by" ] && grep -q '^opened' "$TMP/out.$t" && opened_by=$t
    if [ ! -e "$DIR/results.h5" ] && [ -z "$opened_by" ] && [ ! -s "$TMP/committed" ]; then
        echo "trial $t: killed after ${ms} ms, before the first open returned: no results.h5 yet, nothing committed"
        continue
    fi
    if ! out=$("$PY" "$CHECK" "$DIR/results.h5" --committed "$TMP/committed" --points "$POINTS" 2>&1); then
        losses=$((losses + 1))
        explain "trial $t (killed after ${ms} ms, $n commits acknowledged in it; the store was first opened in trial ${opened_by:-none})" \
            "$out" "$TMP/out.$t" "$TMP/err.$t"
    fi
    echo "trial $t: killed after ${ms} ms, $n commits this time; $out"
done

# Records whose commit finished but whose acknowledgement the kill cut off are in the store too
# (committed, never reported): the sweep goes on from however many runs it holds.
total=$(wc -l <"$TMP/committed")
held=$("$PY" -c 'import h5py, sys; print(len(h5py.File(sys.argv[1], "r")["runs"]))' "$DIR/results.h5" 2>/dev/null || echo 0)
final=$((held + 3))
if ! "$WRITER" "$DIR" "$final" "$POINTS" >"$TMP/out.final" 2>"$TMP/err.final"; then
    echo "final run failed:"; cat "$TMP/err.final"
    failures=$((failures + 1))
fi
grep '^committed' "$TMP/out.final" >>"$TMP/committed"
if ! out=$("$PY" "$CHECK" "$DIR/results.h5" --committed "$TMP/committed" --points "$POINTS" --exact "$final" 2>&1); then
    losses=$((losses + 1))
    explain "the final uninterrupted run (to $final runs)" "$out" "$TMP/out.final" "$TMP/err.final"
fi
echo "final run: $out"

echo "crash test: $TRIALS trials ($killed_mid killed mid-run), $total commits acknowledged before kills, $losses trials with lost or torn records, $failures other failures"
if [ "$losses" -ne 0 ] || [ "$failures" -ne 0 ] || [ "$killed_mid" -eq 0 ]; then
    echo "0 passed, 1 failed"
    exit 1
fi
echo "1 passed, 0 failed"
