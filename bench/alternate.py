#!/usr/bin/env python3
"""Runs spikeglue's benchmark process (A) and its peer's (B) side by side, both with --serve 1,
and alternates them round by round: A's round, then B's, R times. Each is set up and warmed up
once, so rounds cost only their measured steps, and the alternation counters the machine's drift.
Prints run.sh's result lines: figure, threads, side, JSON (figure from each line's mode and lsq).
    alternate.py ROUNDS THREADS "A command" "B command"

Fairness (docs/performance.md, "The harness"): the sides are started one after the other and
each must print "ready" (set up and warmed up) before the next starts, so no side's set-up (the
peer's random init and warm-up take seconds) overlaps the other's measured round; and while one
side measures, the other's CPU time is read from /proc: an idle side that burns more than 2% of
a core (OpenMP / BLAS threads spinning instead of sleeping) is reported on stderr.
"""
import json, os, shlex, subprocess, sys, time

rounds, threads, cmds = int(sys.argv[1]), sys.argv[2], sys.argv[3:5]
env = dict(os.environ, OMP_NUM_THREADS=threads)
TICK = os.sysconf("SC_CLK_TCK")


def figure(d):
    q = d.get("lsq") is True
    if d.get("mode") == "train":
        return "train_lsq" if q else "train_fp32"
    return "eval_qann" if q else "eval_fp32"


def cpu_seconds(p):
    """User + system CPU time of process p, all its threads (/proc/PID/stat fields 14, 15)."""
    with open(f"/proc/{p.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def start(side, cmd):
    p = subprocess.Popen(shlex.split(cmd), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    line = p.stdout.readline().strip()
    if line != "ready":
        sys.exit(f"alternate.py: side {side} did not get ready (printed {line!r}): {cmd}")
    return p


procs = []
try:
    for side, cmd in zip("AB", cmds):
        procs.append(start(side, cmd))
    for _ in range(rounds):
        for i, (side, p) in enumerate(zip("AB", procs)):
            idle = procs[1 - i]
            idle_cpu0, t0 = cpu_seconds(idle), time.perf_counter()
            p.stdin.write("go\n")
            p.stdin.flush()
            for line in p.stdout:
                line = line.strip()
                if line == ".":
                    break
                print(f"{figure(json.loads(line))}\t{threads}\t{side}\t{line}", flush=True)
            else:
                sys.exit(f"alternate.py: side {side} ended early ({cmds[i]})")
            busy, wall = cpu_seconds(idle) - idle_cpu0, time.perf_counter() - t0
            if busy > 0.02 * wall + 2.0 / TICK:
                print(f"alternate.py: the idle side ({'AB'[1 - i]}) used {busy:.2f} CPU s during side {side}'s "
                      f"{wall:.2f} s round: its threads spin instead of sleeping", file=sys.stderr)
finally:
    for p in procs:
        p.stdin.close()
    codes = [p.wait() for p in procs]
if any(codes):
    sys.exit(f"alternate.py: exit codes {codes}")
