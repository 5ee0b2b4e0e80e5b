#!/usr/bin/env bash
# Issue #15: the commands around `run` — init-model, model-info, tokenize, the data and file
# readers and the sweep's signal message — each refuse bad input with one clear line and a
# non-zero exit, never lose data, never print raw binary, and name things as they are.
set -uo pipefail
BUILD=$1
SRC=${2:-$(cd "$(dirname "$0")/../.." && pwd)}
SG=$BUILD/spikeglue
W=$(mktemp -d)
MP=
cleanup() { [ -n "$MP" ] && kill -9 "$MP" 2> /dev/null; rm -rf "$W"; }
trap cleanup EXIT
cd "$W" || exit 1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

# one_line_error NAME PATTERN [ANTI-PATTERN] -- CMD...: CMD exits 1..127 with exactly one line on
# stderr that matches PATTERN (ERE) and not ANTI-PATTERN; the line is kept in $ERR
one_line_error() {
  local name=$1 pattern=$2 anti=${3:-}
  shift 3
  [ "$1" = -- ] && shift
  ERR=$("$@" 2>&1 > /dev/null); local rc=$?
  local lines; lines=$(printf '%s\n' "$ERR" | grep -c .)
  if [ $rc -eq 0 ] || [ $rc -ge 128 ]; then bad "$name: exit status $rc: $ERR"
  elif [ "$lines" != 1 ]; then bad "$name: $lines lines on stderr: $ERR"
  elif ! printf '%s' "$ERR" | grep -Eq -- "$pattern"; then bad "$name: '$ERR' does not match /$pattern/"
  elif [ -n "$anti" ] && printf '%s' "$ERR" | grep -Eq -- "$anti"; then bad "$name: '$ERR' matches /$anti/"
  else ok "$name: $ERR"; fi
}

# clean_text FILE MAX: the file is valid UTF-8 without control bytes (but its final newline)
# and at most MAX bytes long
clean_text() {
  python3 - "$1" "$2" <<'PY'
import sys
b = open(sys.argv[1], 'rb').read().rstrip(b'\n')
try:
    t = b.decode('utf-8')
except UnicodeDecodeError as e:
    sys.exit(f"invalid UTF-8 at byte {e.start}")
bad = [c for c in t if ord(c) < 0x20 or 0x7f <= ord(c) < 0xa0]
if bad: sys.exit(f"{len(bad)} control characters, first {bad[0]!r}")
if len(b) > int(sys.argv[2]): sys.exit(f"{len(b)} bytes, more than {sys.argv[2]}")
PY
}

# ---- 1. init-model never replaces a checkpoint unasked -------------------------------------
$SG init-model --size tiny --seed 1 --out ck > /dev/null || { echo "FAIL init-model"; exit 1; }
echo '{"eval_accuracy": 0.9}' > ck/eval_results.json
before=$(sha256sum < ck/model.safetensors)
one_line_error "init-model into a non-empty directory" "ck.*not empty.*--overwrite_output_dir" "" -- \
  $SG init-model --size tiny --seed 2 --out ck
[ "$(sha256sum < ck/model.safetensors)" = "$before" ] && ok "init-model: the existing checkpoint is untouched" \
  || bad "init-model replaced the existing checkpoint"
$SG init-model --size tiny --seed 2 --out ck --overwrite_output_dir > /dev/null \
  && [ "$(sha256sum < ck/model.safetensors)" != "$before" ] && ok "init-model --overwrite_output_dir replaces it" \
  || bad "init-model --overwrite_output_dir did not write a new checkpoint"
mkdir empty_out
$SG init-model --size tiny --out empty_out > /dev/null && [ -f empty_out/model.safetensors ] \
  && ok "init-model into an existing empty directory" || bad "init-model refused an empty directory"

# ---- 2. binary garbage is quoted as a short escaped excerpt, with its line number ------------
python3 - <<'PY'
import random, os
r = random.Random(15)
junk = lambda n: bytes(r.choice([b for b in range(256) if b != 10]) for _ in range(n))
os.makedirs('rnd/MRPC', exist_ok=True)
for split in ('train', 'dev'):  # a 600-byte first line of random bytes, then more
    open(f'rnd/MRPC/{split}.tsv', 'wb').write(junk(600) + b'\n' + junk(300) + b'\n')
open('rnd.csv', 'wb').write(junk(600).replace(b'"', b'') + b'\n' + junk(100) + b'\n')
os.makedirs('lab/SST-2', exist_ok=True)  # a binary label with terminal escapes
open('lab/SST-2/dev.tsv', 'wb').write(b'sentence\tlabel\nfine\t\x1b[2J\x01' + junk(300) + b'\n')
PY
RUN=(run --model_name_or_path builtin:tiny --do_eval --output_dir "$W/out")
for what in "tsv|mrpc|rnd|rnd/MRPC/dev.tsv:1:" "label|sst2|lab|lab/SST-2/dev.tsv.*line 2"; do
  IFS='|' read -r name task dir pattern <<< "$what"
  "$SG" "${RUN[@]}" --task_name "$task" --data_dir "$dir" > /dev/null 2> err_$name
  grep -Eq "$pattern" err_$name && ok "random-bytes $name: the message names the line" || bad "random-bytes $name: $(head -c 300 err_$name)"
  why=$(clean_text err_$name 400) && ok "random-bytes $name: $(wc -c < err_$name) bytes, escaped" || bad "random-bytes $name: $why"
done
"$SG" "${RUN[@]}" --train_file rnd.csv --validation_file rnd.csv > /dev/null 2> err_csv
grep -q 'rnd.csv:1:' err_csv && why=$(clean_text err_csv 400) && ok "random-bytes csv: $(wc -c < err_csv) bytes, escaped" \
  || bad "random-bytes csv: ${why:-no line number}: $(head -c 300 err_csv)"

# a tensor name with terminal escapes in a checkpoint's header
cp -r ck evil && python3 - evil/model.safetensors <<'PY'
import json, struct, sys
p = sys.argv[1]; b = open(p, 'rb').read(); n = struct.unpack('<Q', b[:8])[0]; h = json.loads(b[8:8 + n])
h['evil\u001b[2J\u0007' + 'x' * 200] = {'dtype': 'F32', 'shape': [0], 'data_offsets': [0, 0]}
s = json.dumps(h).encode(); s += b' ' * (-len(s) % 8)
open(p, 'wb').write(struct.pack('<Q', len(s)) + s + b[8 + n:])
PY
$SG model-info evil > /dev/null 2> err_name
why=$(clean_text err_name 300) && grep -q "tensor 'evil.x1b" err_name && ok "tensor name with escapes: $(wc -c < err_name) bytes, escaped" \
  || bad "tensor name with escapes: ${why:-not named}: $(head -c 300 err_name | cat -v)"

# ---- 3. a directory where a file belongs (and the reverse) is called what it is -------------
mkdir -p dirs/MRPC/dev.tsv dirs/data.csv dirs/lines
cp -r ck dirs/cfg && rm dirs/cfg/config.json && mkdir dirs/cfg/config.json
cp -r ck dirs/st && rm dirs/st/model.safetensors && mkdir dirs/st/model.safetensors
touch plain_file
NF='not found|[Nn]o such'
one_line_error "dev.tsv is a directory" "dirs/MRPC/dev.tsv: is a directory" "$NF" -- \
  $SG "${RUN[@]}" --task_name mrpc --data_dir dirs
one_line_error "--validation_file is a directory" "dirs/data.csv: is a directory" "$NF" -- \
  $SG "${RUN[@]}" --train_file dirs/data.csv --validation_file dirs/data.csv
one_line_error "--data_dir is a file" "plain_file: is a file, not a directory" "$NF" -- \
  $SG "${RUN[@]}" --task_name mrpc --data_dir plain_file
one_line_error "config.json is a directory" "dirs/cfg/config.json: is a directory" "$NF" -- $SG model-info dirs/cfg
one_line_error "model.safetensors is a directory" "dirs/st/model.safetensors: is a directory" "$NF" -- $SG model-info dirs/st
one_line_error "model-info of a file" "ck/config.json: is a file, not a directory" "$NF" -- $SG model-info ck/config.json
mkdir -p mrpc_ok/MRPC && printf 'Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\ta cat\ta dog\n0\t3\t4\tsun\tmoon\n' > mrpc_ok/MRPC/dev.tsv
one_line_error "--model_weights_path is a file" "ck/model.safetensors: is a file, not a directory" "$NF" -- \
  $SG run --model_name_or_path ck --model_weights_path ck/model.safetensors --task_name mrpc --data_dir mrpc_ok --do_eval --output_dir "$W/out"
one_line_error "model-info under a file" "ck/config.json: is a file, not a directory" "$NF" -- $SG model-info ck/config.json/sub
one_line_error "tokenize --lines DIR" "dirs/lines: is a directory" "read error" -- $SG tokenize --tokenizer builtin --lines dirs/lines
one_line_error "tokenize --tokenizer FILE" "plain_file: is a file, not a directory" "$NF" -- $SG tokenize --tokenizer plain_file x

# ---- 5, 6. model-info makes run's tokenizer checks ------------------------------------------
python3 - <<'PY'
import json, random
# a byte-level vocab (GPT-2's byte-to-unicode table) with RoBERTa's specials: N ids
def byte_symbols():
    bs = list(range(ord('!'), ord('~') + 1)) + list(range(0xa1, 0xad)) + list(range(0xae, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs: bs.append(b); cs.append(256 + n); n += 1
    return [chr(c) for c in cs]
def vocab(n_extra):
    v = {'<s>': 0, '<pad>': 1, '</s>': 2, '<unk>': 3}
    for s in byte_symbols(): v[s] = len(v)
    for i in range(n_extra): v[f'x{i}'] = len(v)
    return v
json.dump(vocab(0), open('vocab_small.json', 'w'))      # 260 ids: fits the tiny model's 261
json.dump(vocab(100), open('vocab_large.json', 'w'))    # 360 ids: does not
open('merges_ok.txt', 'w').write('#version: 0.2\n')
r = random.Random(6)
open('garbage.bin', 'wb').write(bytes(r.randrange(256) for _ in range(3000)))
PY
tok() { rm -rf "tk_$1"; cp -r ck "tk_$1"; [ -n "$2" ] && cp "$2" "tk_$1/vocab.json"; [ -n "$3" ] && cp "$3" "tk_$1/merges.txt"; :; }
tok good vocab_small.json merges_ok.txt
$SG model-info tk_good > info_good && grep -q 'tokenizer: byte-level BPE.*260 ids' info_good \
  && ok "model-info loads a good tokenizer: $(grep tokenizer info_good)" || bad "model-info on a good tokenizer: $(cat info_good)"
tok garbage_vocab garbage.bin merges_ok.txt
one_line_error "model-info: garbage vocab.json" "tk_garbage_vocab/vocab.json" "" -- $SG model-info tk_garbage_vocab
tok garbage_merges vocab_small.json garbage.bin
one_line_error "model-info: garbage merges.txt" "tk_garbage_merges/merges.txt:[0-9]+:" "" -- $SG model-info tk_garbage_merges
tok large vocab_large.json merges_ok.txt
one_line_error "model-info: tokenizer larger than the model" "tokenizer has 360 ids but the model only 261" "" -- \
  $SG model-info tk_large
rm -rf small_vocab && $SG init-model --size tiny --vocab-size 100 --out small_vocab > /dev/null
one_line_error "model-info: built-in tokenizer larger than the model" "tokenizer has 261 ids but the model only 100" "" -- \
  $SG model-info small_vocab
tok no_merges vocab_small.json ""
one_line_error "model-info: vocab.json without merges.txt" "tk_no_merges/merges.txt: no such file" "" -- $SG model-info tk_no_merges
tok no_vocab "" merges_ok.txt
one_line_error "model-info: merges.txt without vocab.json" "tk_no_vocab/vocab.json: no such file" "" -- $SG model-info tk_no_vocab
if grep -q sg_tokenizer_files_in "$SRC/src/cli/cmd_run.c"; then
  one_line_error "run: vocab.json without merges.txt" "tk_no_merges/merges.txt" "" -- \
    $SG run --model_name_or_path tk_no_merges --task_name mrpc --data_dir rnd --do_eval --output_dir "$W/out"
else
  echo "SKIP run: vocab.json without merges.txt (src/cli/cmd_run.c does not call sg_tokenizer_files_in yet)"
fi

# ---- 7. tokenize names --pair -----------------------------------------------------------------
one_line_error "tokenize with two texts" "--pair" "" -- $SG tokenize --tokenizer builtin "a" "b"
out=$($SG tokenize --tokenizer builtin --pair "a" "b") && [ "$out" = "[0, 101, 2, 2, 102, 2]" ] \
  && ok "tokenize --pair a b: $out" || bad "tokenize --pair a b: $out"

# ---- hostile inputs of other kinds ----------------------------------------------------------
: > empty_vocab.json
tok empty_vocab empty_vocab.json merges_ok.txt
one_line_error "model-info: empty vocab.json" "tk_empty_vocab/vocab.json: empty file" "" -- $SG model-info tk_empty_vocab
echo '{"<s>": "0", "<pad>": 1}' > string_ids.json
tok string_ids string_ids.json merges_ok.txt
one_line_error "model-info: vocab.json with string ids" "vocab.json: token '<s>': id is not a number" "" -- $SG model-info tk_string_ids
python3 -c "print('x' * 2000000)" > long_line.txt
one_line_error "tokenize --lines with a 2 MB line" "long_line.txt:1: line longer than" "" -- \
  $SG tokenize --tokenizer builtin --lines long_line.txt

# a regression score beyond float range (1e300) is a skipped row, not an infinite loss
mkdir -p big/STS-B
{ printf 'index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n'
  printf '0\tg\tf\ty\t0\ts\ts\ta cat\ta dog\t1e300\n1\tg\tf\ty\t1\ts\ts\tone\ttwo\t2.5\n2\tg\tf\ty\t2\ts\ts\tsun\tmoon\t4.0\n'
} > big/STS-B/dev.tsv
printf '{"sentence1": "a", "sentence2": "b", "label": 1e300}\n{"sentence1": "c", "sentence2": "d", "label": 2.5}\n{"sentence1": "e", "sentence2": "f", "label": 4}\n' > big.jsonl
for how in "tsv|--task_name stsb --data_dir big|skipped 1 .*line 2: score .1e300. is not a finite 32-bit float" "jsonl|--train_file big.jsonl --validation_file big.jsonl|big.jsonl: skipped 1 .*line 1"; do
  IFS='|' read -r name args pattern <<< "$how"
  # shellcheck disable=SC2086
  $SG run --model_name_or_path builtin:tiny $args --do_eval --output_dir "$W/big_$name" > big_$name.log 2>&1; rc=$?
  [ $rc = 0 ] && grep -Eq "$pattern" big_$name.log && ok "score 1e300 ($name): $(grep -E "$pattern" big_$name.log)" \
    || bad "score 1e300 ($name): exit $rc: $(grep -E 'error|skipped' big_$name.log | head -2)"
done

# ---- 4. the sweep names the signal that stopped it ------------------------------------------
"$SG" synth --out "$W/sdata" --train_rows 2000 --dev_rows 64 > /dev/null || { echo "FAIL synth"; exit 1; }
cat > sig.yaml <<EOF
name: sig
model: builtin:tiny
data_dir: $W/sdata
tasks: [sst2]
seeds: [1, 2, 3, 4]
variants:
  baseline: {transform: none}
pipeline: [finetune]
train: {epochs: 20, batch_size: 16, learning_rate: 1e-3, max_seq_length: 64, max_eval_samples: 64}
retries: 0
EOF
# start_sweep LOG CMD...: runs CMD in the background ($MP) and waits until the sweep has started
start_sweep() {
  local log=$1; shift
  "$@" > "$log" 2>&1 &
  MP=$!
  for _ in $(seq 600); do grep -q '^sweep sig: ' "$log" 2> /dev/null && return 0; kill -0 $MP 2> /dev/null || return 1; sleep 0.1; done
  return 1
}
if start_sweep sig_int.log "$SG" sweep sig.yaml --results "$W/r_int" --threads 1; then
  kill -INT $MP; wait $MP; MP=
  grep -q 'sweep stopped by SIGINT (Ctrl-C)' sig_int.log && ok "sweep without mpirun, SIGINT: $(grep 'stopped by' sig_int.log)" \
    || bad "sweep without mpirun, SIGINT: $(grep -E 'stopped|signal' sig_int.log)"
else bad "the sweep did not start: $(tail -3 sig_int.log)"; fi
if start_sweep sig_term.log "$SG" sweep sig.yaml --results "$W/r_term" --threads 1; then
  kill -TERM $MP; wait $MP; MP=
  grep -q 'sweep stopped by SIGTERM;' sig_term.log && ok "sweep without mpirun, SIGTERM: $(grep 'stopped by' sig_term.log)" \
    || bad "sweep without mpirun, SIGTERM: $(grep -E 'stopped|signal' sig_term.log)"
else bad "the sweep did not start: $(tail -3 sig_term.log)"; fi
if command -v mpirun > /dev/null; then
  if start_sweep sig_mpi.log mpirun -n 1 "$SG" sweep sig.yaml --results "$W/r_mpi" --threads 1; then
    kill -INT $MP; wait $MP; MP=
    line=$(grep 'sweep stopped by' sig_mpi.log)
    if printf '%s' "$line" | grep -q 'SIGTERM (from mpirun.*Ctrl-C' && ! printf '%s' "$line" | grep -q 'signal 15'; then
      ok "sweep under mpirun, Ctrl-C to mpirun: $line"
    else bad "sweep under mpirun, Ctrl-C to mpirun: ${line:-$(tail -3 sig_mpi.log)}"; fi
  else bad "the sweep under mpirun did not start: $(tail -3 sig_mpi.log)"; fi
else echo "SKIP sweep under mpirun (mpirun not installed)"; fi

exit $fail
