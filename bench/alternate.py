#!/usr/bin/env python3
"""Runs spikeglue's benchmark process (A) and its peer's (B) side by side, both with --serve 1,
and alternates them round by round: A's round, then B's, R times. Each is set up and warmed up
once, so rounds cost only their measured steps, and the alternation counters the machine's drift.
Prints run.sh's result lines: figure, threads, side, JSON (figure from each line's mode and lsq).
    alternate.py ROUNDS THREADS "A command" "B command"
"""
import json, os, shlex, subprocess, sys

rounds, threads, cmds = int(sys.argv[1]), sys.argv[2], sys.argv[3:5]
env = dict(os.environ, OMP_NUM_THREADS=threads)


def figure(d):
    q = d.get("lsq") is True
    if d.get("mode") == "train":
        return "train_lsq" if q else "train_fp32"
    return "eval_qann" if q else "eval_fp32"


procs = [subprocess.Popen(shlex.split(c), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
         for c in cmds]
try:
    for _ in range(rounds):
        for side, p in zip("AB", procs):
            p.stdin.write("go\n")
            p.stdin.flush()
            for line in p.stdout:
                line = line.strip()
                if line == ".":
                    break
                print(f"{figure(json.loads(line))}\t{threads}\t{side}\t{line}", flush=True)
            else:
                sys.exit(f"alternate.py: side {side} ended early ({cmds['AB'.index(side)]})")
finally:
    for p in procs:
        p.stdin.close()
    codes = [p.wait() for p in procs]
if any(codes):
    sys.exit(f"alternate.py: exit codes {codes}")
