#!/usr/bin/env bash
# One-way layers (issue #17): every `#include "folder/..."` and every call from one object file
# into another obeys README.md's "## Layout" table (a folder uses only the folders its row
# names), the table itself has no circle, and no two files of the library call each other in a
# circle. Calls are read with `nm` from the library's object files in BUILD_DIR.
#   bash tests/scripts/test_layers.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
BUILD=${1:?usage: test_layers.sh BUILD_DIR SOURCE_DIR}
SRC=${2:?usage: test_layers.sh BUILD_DIR SOURCE_DIR}

PY=$(command -v python3 || true)
if [ -z "$PY" ]; then echo "SKIP: no python3 to read the include and call graph"; exit 77; fi
if ! command -v nm > /dev/null; then echo "SKIP: no nm to read the object files' calls"; exit 77; fi
OBJ_DIR=$BUILD/CMakeFiles/sgcore.dir
if [ ! -d "$OBJ_DIR" ]; then echo "SKIP: $OBJ_DIR: no library objects (build first)"; exit 77; fi

exec "$PY" - "$SRC" "$OBJ_DIR" << 'EOF'
import collections, glob, os, re, subprocess, sys

src, obj_dir = sys.argv[1], sys.argv[2]
failures = []


# ---- the table: folder -> folders it may use -------------------------------------------------
readme = open(os.path.join(src, "README.md"), encoding="utf-8").read()
layout = readme[readme.index("## Layout"):]
layout = layout[: layout.index("\n## ", 3)]
src_folders = sorted(d for d in os.listdir(os.path.join(src, "src")) if os.path.isdir(os.path.join(src, "src", d)))
allowed = {}
for line in layout.splitlines():
    m = re.match(r"\|\s*\d+\s*\|\s*`(\w+)/`\s*\|[^|]*\|([^|]*)\|\s*$", line)
    if not m:
        continue
    folder, may = m.group(1), m.group(2)
    if "everything under `src/`" in may:
        names = set(src_folders)
        names -= set(re.findall(r"except[^|]*?`(\w+)/?`", may))
    else:
        names = set(re.findall(r"`(\w+)/?`", may))
    allowed[folder] = names - {folder}
folders = src_folders + ["sched"]
for f in folders:
    if f not in allowed:
        failures.append(f"{f}/ has no row in README.md's ## Layout table")
        allowed[f] = set()
if len(allowed) < 10:
    failures.append(f"read only {len(allowed)} rows from README.md's ## Layout table")

def folder_of(path):
    parts = path.split("/")
    if parts[0] == "sched":
        return "sched"
    if parts[0] == "src" and len(parts) > 2:
        return parts[1]
    return None  # src/main.c (the top, may name everything) and generated sources

def circles(graph):
    """Strongly connected components with more than one node (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in list(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]; counter[0] += 1
        stack.append(root); on.add(root)
        while work:
            v, it = work[-1]
            advanced = False
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]; counter[0] += 1
                    stack.append(w); on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    advanced = True
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop(); on.discard(w); comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out

for c in circles({f: allowed[f] for f in allowed}):
    failures.append("README.md's ## Layout table has a circle: " + " <-> ".join(c))

def check_edge(what, user, used_folder, detail):
    uf = folder_of(user)
    if uf is None or used_folder == uf or used_folder not in allowed:
        return
    if used_folder not in allowed[uf]:
        may = ", ".join(sorted(allowed[uf])) or "nothing"
        failures.append(f"{user} {what} {detail}: {uf}/ may use only {may} (README.md ## Layout)")

# ---- includes ------------------------------------------------------------------------------
sources = glob.glob(os.path.join(src, "src", "*", "*.[ch]")) + glob.glob(os.path.join(src, "sched", "*.[ch]"))
n_includes = 0
for path in sorted(sources):
    rel = os.path.relpath(path, src)
    for line in open(path, encoding="utf-8", errors="replace"):
        m = re.match(r'\s*#\s*include\s+"(\w+)/([^"]+)"', line)
        if m:
            n_includes += 1
            check_edge("includes", rel, m.group(1), f"{m.group(1)}/{m.group(2)}")

# ---- calls (and uses of data) between object files -----------------------------------------
defined, undefined = {}, {}
objects = glob.glob(os.path.join(obj_dir, "**", "*.o"), recursive=True)
for obj in objects:
    rel = os.path.relpath(obj, obj_dir)[:-2]  # "src/data/bpe.c"
    if rel.startswith(".."):
        continue
    if not os.path.isfile(os.path.join(src, rel)):
        continue  # left in a reused build tree by a source file that moved or was deleted
    out = subprocess.run(["nm", "-P", obj], capture_output=True, text=True, check=True).stdout
    undefined[rel] = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2:
            continue
        if parts[1] == "U":
            undefined[rel].add(parts[0])
        elif parts[1] in "TDBRVW":
            defined[parts[0]] = rel
calls = collections.defaultdict(set)
for user, names in undefined.items():
    for name in names:
        owner = defined.get(name)
        if owner and owner != user:
            calls[user].add(owner)
            of = folder_of(owner)
            if of:
                check_edge("calls", user, of, f"{name} ({owner})")
if len(objects) < 50:
    failures.append(f"{obj_dir}: only {len(objects)} object files (expected the whole library)")
for c in circles(calls):
    failures.append("files call each other in a circle: " + " <-> ".join(c))

print(f"{len(allowed)} folders, {n_includes} folder-qualified includes, {len(objects)} object files, "
      f"{sum(len(v) for v in calls.values())} file-to-file call edges")
for f in failures:
    print("FAIL " + f)
print("PASS" if not failures else f"{len(failures)} problem(s)")
sys.exit(1 if failures else 0)
EOF
