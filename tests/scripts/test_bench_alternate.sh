#!/usr/bin/env bash
# bench/alternate.py measures the two sides fairly (docs/performance.md, "The harness"): with two
# fake sides that log when they set up and when their rounds run, no side's round may overlap the
# other's set-up (the peer's set-up under spikeglue's first round made --quick figures ~2x), the
# sides set up one after the other, and an idle side that burns CPU while the other measures is
# reported on stderr (and one that sleeps is not).
set -euo pipefail
BUILD=$1; SRC=$2
PY=/usr/bin/python3
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
cat > "$WORK/side.py" <<'PY'
import json, sys, threading, time
name, setup, spin, log = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
def note(what):
    with open(log, "a") as f:
        f.write(f"{name} {what} {time.time():.6f}\n")
note("setup-start"); time.sleep(setup); note("setup-end")
print("ready", flush=True)
while sys.stdin.readline():
    note("round-start"); time.sleep(0.3); note("round-end")
    print(json.dumps({"mode": "eval", "lsq": False, "median_s": 0.3}))
    print(".", flush=True)
    if spin > 0:  # busy for `spin` seconds after its round: while the other side measures
        def burn(until=time.time() + spin):
            while time.time() < until: pass
        threading.Thread(target=burn, daemon=True).start()
PY
# B sets up slowly (1.5 s) and sleeps when idle
$PY "$SRC/bench/alternate.py" 2 1 "$PY $WORK/side.py A 0.2 0 $WORK/log1" "$PY $WORK/side.py B 1.5 0 $WORK/log1" \
  > "$WORK/out1" 2> "$WORK/err1"
$PY - "$WORK/log1" "$WORK/out1" "$WORK/err1" <<'PY'
import sys
ev = {}
for line in open(sys.argv[1]):
    side, what, t = line.split()
    ev.setdefault((side, what), []).append(float(t))
b_ready = ev[("B", "setup-end")][0]
assert ev[("B", "setup-start")][0] >= ev[("A", "setup-end")][0], "the sides set up at the same time"
for t in ev[("A", "round-start")]:
    assert t >= b_ready, f"A's round started {b_ready - t:.2f} s before B finished setting up"
rounds = [l.split("\t")[2] for l in open(sys.argv[2])]
assert rounds == ["A", "B", "A", "B"], rounds
assert "spin" not in open(sys.argv[3]).read(), "a sleeping idle side was reported as spinning"
PY
# B spins a core for 0.5 s after each of its rounds, i.e. during A's next round: reported
$PY "$SRC/bench/alternate.py" 2 1 "$PY $WORK/side.py A 0.1 0 $WORK/log2" "$PY $WORK/side.py B 0.1 0.5 $WORK/log2" \
  > "$WORK/out2" 2> "$WORK/err2"
grep -q "the idle side (B) used .* CPU s during side A's" "$WORK/err2" || { echo "FAIL: B's spinning not reported:"; cat "$WORK/err2"; exit 1; }
echo "PASS"
