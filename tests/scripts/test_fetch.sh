#!/usr/bin/env bash
# `spikeglue fetch` end to end against tests/ref/fixture_server.py on 127.0.0.1 (no internet):
# the HF cache layout, optional/required 404s, resuming a cut transfer (in one run and across
# runs), a server that ignores Range, checksum mismatch, and GLUE zips unpacked into DIR/<Task>/.
#   bash tests/scripts/test_fetch.sh BUILD_DIR SOURCE_DIR
# SG_SPIKEGLUE overrides the binary; SG_KEEP_TMP=1 keeps the scratch dir (server log) to debug.
set -uo pipefail
BUILD=${1:?usage: test_fetch.sh BUILD_DIR SOURCE_DIR}
SRC=${2:?usage: test_fetch.sh BUILD_DIR SOURCE_DIR}
BIN=${SG_SPIKEGLUE:-$BUILD/spikeglue}

PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3 || true)
if [ -z "$PY" ]; then echo "SKIP: no python3 to run the fixture server"; exit 77; fi
if ! "$BIN" fetch --help 2>/dev/null | grep "spikeglue fetch" > /dev/null; then
    echo "SKIP: $BIN has no 'fetch' command (src/cli/main.c must list sg_cmd_fetch)"
    exit 77
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/sgfetch.XXXXXX")
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null; wait "$SERVER_PID" 2>/dev/null; fi
    if [ -n "${SG_KEEP_TMP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM # so a ctest timeout still runs cleanup and stops the server

PASSED=0 FAILED=0
ok() { PASSED=$((PASSED + 1)); }
bad() { FAILED=$((FAILED + 1)); echo "FAIL: $*" >&2; }
check() { local what=$1; shift; if "$@"; then ok; else bad "$what"; fi; }

# ---- fixtures: model repos, GLUE zips and the server config ----
mkdir -p "$T/www"
COMMIT=0123456789abcdef0123456789abcdef01234567
"$PY" - "$T/www" "$T/config.json" "$COMMIT" <<'EOF' || { echo "fixture generation failed"; exit 1; }
import hashlib, json, os, sys, zipfile
www, cfg_path, commit = sys.argv[1], sys.argv[2], sys.argv[3]
cfg = {"headers": {}, "missing": [], "truncate_once": [], "ignore_range": [], "redirect": {}}

def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)

def repo(name, missing=(), truncate=False, ignore_range=False, bad_sha=False, cdn=False):
    base = f"/test-org/{name}"
    seed = hashlib.sha256(name.encode()).digest()
    files = {
        "config.json": json.dumps({"model_type": "roberta", "hidden_size": 8, "repo": name}).encode(),
        # 300 KB of deterministic bytes: fetch does not parse the weights
        "model.safetensors": b"".join(hashlib.sha256(seed + i.to_bytes(4, "little")).digest()
                                      for i in range(300000 // 32)),
        "vocab.json": json.dumps({"<s>": 0, "</s>": 2, "hello": 3}).encode(),
        "merges.txt": b"#version: 0.2\nh e\nhe llo\n",
    }
    for fname, data in files.items():
        key = f"{base}/{fname}"
        git_sha = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        if fname in missing:
            cfg["missing"].append(key)
            continue
        write(os.path.join(www, "test-org", name, fname), data)
        headers = {"ETag": f'"{git_sha}"', "X-Repo-Commit": commit}
        if fname == "model.safetensors":
            # as the hub does for LFS files: a 302 carrying the sha256, then a CDN with its own etag
            sha = hashlib.sha256(b"corrupt" if bad_sha else data).hexdigest()
            headers.update({"X-Linked-Etag": f'"{sha}"', "X-Linked-Size": str(len(data))})
            lfs = f"/lfs/{name}/{sha}"
            write(os.path.join(www, lfs.lstrip("/")), data)
            # cdn: another host name for the same server, as a CDN would be (HEAD stops there)
            cfg["redirect"][key] = ("http://localhost:{port}" if cdn else "") + lfs
            cfg["headers"][lfs] = {"ETag": '"cdn-etag-1"'}
            if truncate:
                cfg["truncate_once"].append(lfs)
            if ignore_range:
                cfg["ignore_range"].append(lfs)
        cfg["headers"][key] = headers

repo("tiny", cdn=True)
repo("no-merges", missing=("merges.txt",))
repo("no-weights", missing=("model.safetensors",))
repo("cut", truncate=True)
repo("cut-retry", truncate=True)
repo("no-range", truncate=True, ignore_range=True)
repo("bad-sum", bad_sha=True)

# GLUE: a source tree to compare against, and zips in the shapes seen in the wild
src = os.path.join(os.path.dirname(www), "glue-src")
tables = {
    "CoLA": {"train.tsv": "gj04\t1\t\tOur friends won't buy this analysis.\n", "dev.tsv": "gj04\t0\t*\tThey drank the pub.\n"},
    "SST-2": {"train.tsv": "sentence\tlabel\nit 's a charming journey \t1\n", "dev.tsv": "sentence\tlabel\nunflinchingly bleak \t0\n"},
    "QNLI": {"dev.tsv": "index\tquestion\tsentence\tlabel\n0\tWhat?\tThat.\tentailment\n"},
    "MRPC": {"train.tsv": "\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\ta\tb\n", "dev.tsv": "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n0\t3\t4\tc\td\n"},
    "STS-B": {"train.tsv": "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n", "original/sts-train.tsv": "x\ty\n"},
}
for task, tfiles in tables.items():
    for fname, text in tfiles.items():
        write(os.path.join(src, task, fname), text.encode())
def make_zip(zip_name, entries):
    path = os.path.join(www, "glue", zip_name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            z.writestr(name, data)
def tree(task, prefix):
    return [(prefix + f, t) for f, t in tables[task].items()]
make_zip("CoLA.zip", [("CoLA/", "")] + tree("CoLA", "CoLA/"))          # with a folder entry
make_zip("SST-2.zip", tree("SST-2", "SST-2/"))
make_zip("QNLIv2.zip", tree("QNLI", "QNLI/"))                          # zip named v2, folder not
make_zip("MRPC.zip", tree("MRPC", "") + [("__MACOSX/._train.tsv", "junk")])  # flat, mac junk
make_zip("STS-B.zip", tree("STS-B", "STS-B/"))                          # nested folder
make_zip("WNLI.zip", [("WNLI/train.tsv", "ok\n"), ("../evil.tsv", "escaped\n")])
with open(cfg_path, "w") as f:
    json.dump(cfg, f, indent=1)
EOF

# ---- the server ----
"$PY" "$SRC/tests/ref/fixture_server.py" --root "$T/www" --config "$T/config.json" --log "$T/server.log" \
    --lifetime 300 >"$T/port" 2>"$T/server.err" &
SERVER_PID=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.1; done
PORT=$(head -n1 "$T/port")
if [ -z "$PORT" ]; then echo "fixture server did not start:"; cat "$T/server.err"; exit 1; fi
export HF_ENDPOINT="http://127.0.0.1:$PORT" SG_GLUE_ENDPOINT="http://127.0.0.1:$PORT/glue"
export HF_HOME="$T/hf"
unset HF_HUB_CACHE HUGGINGFACE_HUB_CACHE HF_TOKEN HUGGING_FACE_HUB_TOKEN
touch "$T/server.log"

# run NAME ARGS...: output in $T/NAME.{out,err}, status in $RC
run() { local name=$1; shift; "$BIN" fetch "$@" >"$T/$name.out" 2>"$T/$name.err"; RC=$?; }
one_error_line() { # the command failed with exactly one "spikeglue: error:" line matching all patterns
    local err=$1; shift
    [ "$RC" -ne 0 ] && [ "$(wc -l <"$err")" -eq 1 ] && grep -q '^spikeglue: error: ' "$err" || return 1
    for p in "$@"; do grep -qF -- "$p" "$err" || return 1; done
}
log_mark() { wc -l <"$T/server.log"; }
log_since() { tail -n +"$(($1 + 1))" "$T/server.log"; }
www_file() { echo "$T/www/test-org/$1/$2"; }
repo_dir() { echo "$T/hf/hub/models--test-org--$1"; }
same_files() { # every snapshot file of repo $1 equals the served one and is a relative blob symlink
    local r=$1 snap f; snap="$(repo_dir "$r")/snapshots/$COMMIT"; shift
    for f in "$@"; do
        [ -L "$snap/$f" ] || { echo "  $snap/$f is not a symlink" >&2; return 1; }
        case "$(readlink "$snap/$f")" in ../../blobs/*) ;; *) echo "  bad link target for $f" >&2; return 1 ;; esac
        cmp -s "$snap/$f" "$(www_file "$r" "$f")" || { echo "  $f differs" >&2; return 1; }
    done
}

# 1. a full model into the HF cache layout
m=$(log_mark)
run tiny model test-org/tiny
check "fetch model test-org/tiny exits 0 (stderr: $(cat "$T/tiny.err"))" [ "$RC" -eq 0 ]
check "stdout is the snapshot dir" [ "$(cat "$T/tiny.out")" = "$(repo_dir tiny)/snapshots/$COMMIT" ]
check "stderr is quiet when not a TTY" [ ! -s "$T/tiny.err" ]
check "refs/main holds the X-Repo-Commit" [ "$(cat "$(repo_dir tiny)/refs/main")" = "$COMMIT" ]
check "snapshot files are blob symlinks with the served contents" \
    same_files tiny config.json model.safetensors vocab.json merges.txt
MODEL_SHA=$(sha256sum "$(www_file tiny model.safetensors)" | cut -d' ' -f1)
check "the LFS blob is named by its sha256" [ -f "$(repo_dir tiny)/blobs/$MODEL_SHA" ]
check "snapshot link points at that blob" \
    [ "$(readlink "$(repo_dir tiny)/snapshots/$COMMIT/model.safetensors")" = "../../blobs/$MODEL_SHA" ]
check "no partial files left" [ -z "$(find "$(repo_dir tiny)" -name '*.incomplete')" ]
check "files after the first are fetched at the commit" \
    grep -q "GET /test-org/tiny/resolve/$COMMIT/vocab.json" <(log_since "$m")

# 2. again: everything is cached, only HEAD requests
m=$(log_mark)
run tiny2 model test-org/tiny
check "second fetch exits 0" [ "$RC" -eq 0 ]
check "second fetch downloads nothing" [ -z "$(log_since "$m" | grep '^GET')" ]

# 2b. a partial file that already holds every byte (a run stopped before the rename): no download
BLOBS="$(repo_dir tiny)/blobs"
mv "$BLOBS/$MODEL_SHA" "$BLOBS/$MODEL_SHA.incomplete"
rm "$(repo_dir tiny)/snapshots/$COMMIT/model.safetensors"
m=$(log_mark)
run tiny3 model test-org/tiny
check "complete partial file: exits 0" [ "$RC" -eq 0 ]
check "complete partial file: not downloaded again" [ -z "$(log_since "$m" | grep '^GET')" ]
check "complete partial file: verified and linked" same_files tiny model.safetensors

# 3. --revision writes its own ref; HF_HUB_CACHE wins over HF_HOME
HF_HUB_CACHE="$T/hubcache" "$BIN" fetch model test-org/tiny --revision v1.0 >"$T/rev.out" 2>"$T/rev.err"; RC=$?
check "fetch --revision exits 0" [ "$RC" -eq 0 ]
check "HF_HUB_CACHE is honoured" [ "$(cat "$T/hubcache/models--test-org--tiny/refs/v1.0" 2>/dev/null)" = "$COMMIT" ]

# 4. optional tokenizer file missing: a warning, success
run nomerges model test-org/no-merges
check "missing merges.txt still exits 0" [ "$RC" -eq 0 ]
check "missing merges.txt is one warning line" [ "$(grep -c '^spikeglue: warning: .*merges.txt' "$T/nomerges.err")" -eq 1 ]
check "and nothing else on stderr" [ "$(wc -l <"$T/nomerges.err")" -eq 1 ]
check "the other files are there" same_files no-merges config.json model.safetensors vocab.json

# 5. required weights missing: one error line naming the URL, no ref written
run noweights model test-org/no-weights
check "missing model.safetensors fails with one line naming the url (got: $(cat "$T/noweights.err"))" \
    one_error_line "$T/noweights.err" "model.safetensors" "$HF_ENDPOINT/test-org/no-weights/resolve/" "404"
check "no ref for an incomplete model" [ ! -e "$(repo_dir no-weights)/refs/main" ]

# 6. a transfer cut in half with a single try: clean failure, partial file kept; the next run resumes
run cut1 model test-org/cut --retries 1
PARTIAL="$(repo_dir cut)/blobs/$(sha256sum "$(www_file cut model.safetensors)" | cut -d' ' -f1).incomplete"
check "cut transfer fails with one line (got: $(cat "$T/cut1.err"))" one_error_line "$T/cut1.err" "interrupted"
check "cut transfer keeps a partial file" [ -s "$PARTIAL" ]
HALF=$(stat -c %s "$PARTIAL" 2>/dev/null || echo 0)
m=$(log_mark)
run cut2 model test-org/cut
check "second run completes (stderr: $(cat "$T/cut2.err"))" [ "$RC" -eq 0 ]
check "second run resumed with Range: bytes=$HALF-" \
    grep -q "GET /lfs/cut/.* range=bytes=$HALF- status=206" <(log_since "$m")
check "resumed file is complete and verified" same_files cut config.json model.safetensors
check "partial file gone" [ ! -e "$PARTIAL" ]

# 7. the same cut with retries: one run recovers by itself
m=$(log_mark)
run cutretry model test-org/cut-retry
check "cut transfer with retries exits 0 (stderr: $(cat "$T/cutretry.err"))" [ "$RC" -eq 0 ]
check "the retry asked for the rest" grep -q "GET /lfs/cut-retry/.* range=bytes=.*- status=206" <(log_since "$m")
check "retried file is correct" same_files cut-retry model.safetensors

# 8. a server that ignores Range: the partial file restarts from zero
m=$(log_mark)
run norange model test-org/no-range
check "ignored Range still completes (stderr: $(cat "$T/norange.err"))" [ "$RC" -eq 0 ]
check "the Range request got a 200" grep -q "GET /lfs/no-range/.* range=bytes=.*- status=200" <(log_since "$m")
check "restarted file is correct" same_files no-range model.safetensors

# 9. checksum mismatch: an error, nothing left behind
run badsum model test-org/bad-sum
check "sha256 mismatch fails with one line (got: $(cat "$T/badsum.err"))" one_error_line "$T/badsum.err" "sha256 mismatch"
check "no blob or partial file after a mismatch" [ -z "$(find "$(repo_dir bad-sum)/blobs" -type f -size +1k)" ]
check "no snapshot link after a mismatch" [ ! -e "$(repo_dir bad-sum)/snapshots/$COMMIT/model.safetensors" ]

# 10. GLUE zips into DIR/<Task>/
run glue glue --tasks cola,sst2,qnli,mrpc,sts-b --out "$T/glue"
check "fetch glue exits 0 (stderr: $(cat "$T/glue.err"))" [ "$RC" -eq 0 ]
check "fetch glue prints the task dirs" [ "$(wc -l <"$T/glue.out")" -eq 5 ]
check "GLUE folders equal the zipped tables" diff -r "$T/glue-src" "$T/glue"
check "zips removed after unpacking" [ -z "$(find "$T/glue" -name '*.zip*')" ]
run glue404 glue --tasks rte --out "$T/glue"
check "missing GLUE zip fails with one line (got: $(cat "$T/glue404.err"))" one_error_line "$T/glue404.err" "RTE.zip" "404"
run evil glue --tasks wnli --out "$T/glue"
check "zip entry escaping DIR is refused (got: $(cat "$T/evil.err"))" one_error_line "$T/evil.err" "../evil.tsv"
check "nothing written outside DIR" [ ! -e "$T/evil.tsv" ]
# a leftover partial zip longer than the file: the server answers 416, the download starts over
mkdir -p "$T/glue2"
head -c 100000 /dev/zero >"$T/glue2/CoLA.zip.incomplete"
m=$(log_mark)
run glue416 glue --tasks CoLA --out "$T/glue2" --retries 1
check "a 416 restarts the download (stderr: $(cat "$T/glue416.err"))" [ "$RC" -eq 0 ]
check "the server said 416 to the stale Range" grep -q "GET /glue/CoLA.zip range=bytes=100000- status=416" <(log_since "$m")
check "restarted zip unpacked" diff -r "$T/glue-src/CoLA" "$T/glue2/CoLA"
run badtask glue --tasks cola,nope --out "$T/glue"
check "unknown task is a usage error" one_error_line "$T/badtask.err" "nope"
run noname model
check "model without a name is a usage error" [ "$RC" -eq 2 ]

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
