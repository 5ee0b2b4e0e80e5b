#!/usr/bin/python3
"""Check a sweep's results.h5 with h5py, independently of the C reader.

    h5_check.py RESULTS.h5 [--committed FILE] [--points P] [--exact N] [--dump]

Always: the file opens; the root says format "spikeglue-results"; every /runs/<id> group has
its attributes (status one of finished|failed|timeout|diverged) and consistent series lengths;
/summary has one row per run with the same ids, tasks, seeds and statuses; from format_version 2,
every dataset has a non-empty `units` attribute (/summary: one per field, "" for text and ids).
--committed FILE: lines "committed <i> <id>" (store_writer's output); every such id must be in
  /runs — a record reported committed must never be missing.
--points P: runs come from store_writer with P points: check their data value by value (no torn
  or mixed-up data).
--exact N: exactly N runs.
--dump: print one line per run (id task variant seed status, main metric name, ANN and SNN value).
Exit 0 when every check passes, 1 otherwise (each failure printed)."""
import argparse
import math
import sys

import h5py
import numpy as np

STATUSES = {"finished", "failed", "timeout", "diverged"}
ATTRS = ["id", "short_id", "task", "seed", "variant", "level", "status", "attempts", "error", "config",
         "version", "host", "rank", "start_time", "end_time", "wall_seconds"]
TASKS = ["sst2", "mrpc", "stsb"]


def text(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("h5")
    ap.add_argument("--committed")
    ap.add_argument("--points", type=int)
    ap.add_argument("--exact", type=int)
    ap.add_argument("--dump", action="store_true")
    a = ap.parse_args()
    errors = []

    try:
        f = h5py.File(a.h5, "r")
    except Exception as e:  # the one thing that must never happen
        print(f"h5_check: {a.h5}: cannot open: {e}")
        return 1
    with f:
        if text(f.attrs.get("format", "")) != "spikeglue-results":
            errors.append("root attribute format is not spikeglue-results")
        runs = f["runs"] if "runs" in f else None
        if runs is None:
            errors.append("no /runs group")
            runs = {}
        ids = set(runs.keys())
        scores = {text(r["id"]): (float(r["qann_score"]), float(r["snn_score"]))
                  for r in f["summary"][()]} if a.dump and "summary" in f else {}
        for rid in sorted(ids):
            g = runs[rid]
            missing = [k for k in ATTRS if k not in g.attrs]
            if missing:
                errors.append(f"/runs/{rid}: missing attributes {missing}")
                continue
            if text(g.attrs["id"]) != rid:
                errors.append(f"/runs/{rid}: id attribute {text(g.attrs['id'])}")
            if text(g.attrs["status"]) not in STATUSES:
                errors.append(f"/runs/{rid}: status {text(g.attrs['status'])}")
            if "train" in g:
                n = {k: len(g["train"][k]) for k in ("step", "epoch", "loss", "learning_rate")}
                if len(set(n.values())) != 1:
                    errors.append(f"/runs/{rid}/train: lengths differ {n}")
            if "eval" in g:
                n = {k: len(g["eval"][k]) for k in g["eval"]}
                if len(set(n.values())) > 1:
                    errors.append(f"/runs/{rid}/eval: lengths differ {n}")
            if a.points is not None:
                check_writer_run(rid, g, a.points, errors)
            if a.dump:
                ann, snn = scores.get(rid, (math.nan, math.nan))
                print(f"{rid} {text(g.attrs['task'])} {text(g.attrs['variant'])} {int(g.attrs['seed'])} "
                      f"{text(g.attrs['status'])} {text(g.attrs.get('main_metric', ''))} ann={ann:.6g} snn={snn:.6g}")

        if "summary" not in f:
            errors.append("no /summary dataset")
        else:
            s = f["summary"][()]
            sid = [text(x) for x in s["id"]]
            if len(sid) != len(ids) or set(sid) != ids:
                errors.append(f"/summary has {len(sid)} rows for {len(ids)} runs or other ids")
            for row in s:
                rid = text(row["id"])
                if rid not in ids:
                    continue
                g = runs[rid]
                if text(row["task"]) != text(g.attrs["task"])[:15] or int(row["seed"]) != int(g.attrs["seed"]) or \
                        text(row["status"]) != text(g.attrs["status"]):
                    errors.append(f"/summary row {rid} disagrees with /runs/{rid}")

        if int(f.attrs.get("format_version", 1)) >= 2:
            check_units(f, errors)

        if a.committed:
            committed = {}
            with open(a.committed) as c:
                for line in c:
                    p = line.split()
                    if len(p) == 3 and p[0] == "committed":
                        committed[p[2]] = int(p[1])
            lost = sorted(set(committed) - ids)
            for rid in lost:
                errors.append(f"run {committed[rid]} ({rid}) was reported committed but is not in /runs")
            print(f"h5_check: {a.h5}: {len(ids)} runs, {len(committed)} reported committed, {len(lost)} lost")
        if a.exact is not None and len(ids) != a.exact:
            errors.append(f"{len(ids)} runs, expected exactly {a.exact}")

    for e in errors:
        print(f"h5_check: FAIL {e}")
    if not errors and not a.committed:
        print(f"h5_check: {a.h5}: ok ({len(ids)} runs)")
    return 1 if errors else 0


def check_units(f, errors):
    def visit(name, obj):
        if not isinstance(obj, h5py.Dataset):
            return
        u = obj.attrs.get("units")
        if name == "summary":
            fields = obj.dtype.names or ()
            units = [text(x) for x in u] if u is not None else []
            if len(units) != len(fields):
                errors.append(f"/summary: units has {len(units)} entries for {len(fields)} fields")
            for field, unit in zip(fields, units):
                kind = obj.dtype[field].kind  # text has no unit; every measured (float) field has one
                if (kind == "S" and unit) or (kind == "f" and not unit):
                    errors.append(f"/summary: field {field} has units {unit!r}")
        elif u is None or not text(u):
            errors.append(f"/{name}: no units attribute")
    f.visititems(visit)


def check_writer_run(rid, g, points, errors):
    i = int(g.attrs["seed"])
    if text(g.attrs["task"]) != TASKS[i % 3] or text(g.attrs["variant"]) != "crash" or int(g.attrs["level"]) != 2 << (i % 5):
        errors.append(f"/runs/{rid}: identity does not match run {i}")
        return
    k = np.arange(points)
    want = {
        "train/step": k + 1,
        "train/loss": np.array([float(i) + float(j) / 1000.0 for j in range(points)]),
        "train/learning_rate": (points - k) * 1e-6,
        "snn/accuracy_by_step": k / points,
        "snn/accuracy_step": k + 1,
    }
    for path, w in want.items():
        if path not in g:
            errors.append(f"/runs/{rid}/{path}: missing")
            continue
        got = g[path][()]
        if got.shape != w.shape:
            errors.append(f"/runs/{rid}/{path}: {got.shape[0] if got.ndim else 'no'} values, run {i} has {len(w)}")
        elif not np.array_equal(got.astype(np.float64), w.astype(np.float64)):
            k0 = int(np.flatnonzero(got.astype(np.float64) != w.astype(np.float64))[0])
            errors.append(f"/runs/{rid}/{path}: data differs from run {i}'s, first at [{k0}]: {got[k0]!r}, expected {w[k0]!r}")
    acc = float(g["qann/accuracy"][()]) if "qann/accuracy" in g else math.nan
    if acc != i / 1000.0:
        errors.append(f"/runs/{rid}/qann/accuracy = {acc}, expected {i / 1000.0}")


if __name__ == "__main__":
    sys.exit(main())
