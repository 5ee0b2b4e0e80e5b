#!/usr/bin/env bash
# RoBERTa's tokenizer, id for id: `spikeglue tokenize` against the independent Python reference
# tests/ref/gpt2_bpe_ref.py (regex module), on every sentence of ../shared/glue/*/dev.tsv (singles,
# pairs, pairs truncated), hard cases (accents, emoji, CJK, numbers, contractions, whitespace
# runs, tabs/newlines, words > 1000 chars, invalid UTF-8, the empty string) and seeded random
# Unicode text. Skips (77) without ../shared or python3-regex.
#   usage: test_tokenizer_reference.sh BUILD_DIR SOURCE_DIR   (SG_TOKENIZE_BIN overrides the binary)
set -euo pipefail
BUILD=${1:-${SG_BUILD_DIR:-build}}
SRC=${2:-${SG_SOURCE_DIR:-.}}
SHARED=$SRC/../shared
TOKDIR=$SHARED/tokenizer/roberta-base
PY=/usr/bin/python3
REF=$SRC/tests/ref/gpt2_bpe_ref.py
BIN=${SG_TOKENIZE_BIN:-$BUILD/spikeglue}

if [ ! -f "$TOKDIR/vocab.json" ] || ! ls "$SHARED"/glue/*/dev.tsv >/dev/null 2>&1; then
    echo "SKIP: ../shared (glue dev sets + tokenizer/roberta-base) absent"
    exit 77
fi
if [ ! -x "$PY" ] || ! "$PY" -c 'import regex' 2>/dev/null; then
    echo "SKIP: the reference needs /usr/bin/python3 with the regex module (Debian: python3-regex)"
    exit 77
fi
if ! "$BIN" tokenize --help 2>/dev/null | grep 'usage: spikeglue tokenize' > /dev/null; then
    echo "FAIL: $BIN has no working 'tokenize' command"
    exit 1
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Every sentence column of every dev set: singles.txt (one sentence a line), pairs.txt (A<tab>B).
"$PY" - "$SHARED/glue" "$TMP" <<'EOF'
import glob, os, sys
glue, out = sys.argv[1], sys.argv[2]
# task -> (has header, sentence column indices); see ../shared/glue/README.md
layouts = {"CoLA": (False, [3]), "SST-2": (True, [0]), "MRPC": (True, [3, 4]), "STS-B": (True, [7, 8]),
           "QNLI": (True, [1, 2]), "RTE": (True, [1, 2]), "WNLI": (True, [1, 2]),
           "MNLI": (True, [8, 9]), "QQP": (True, [3, 4])}
singles, pairs = [], []
for path in sorted(glob.glob(os.path.join(glue, "*", "dev*.tsv"))):
    task = os.path.basename(os.path.dirname(path))
    if task not in layouts:
        sys.exit("unknown GLUE task layout: %s" % path)
    header, cols = layouts[task]
    rows = open(path, "rb").read().split(b"\n")
    rows = [r for r in rows[1 if header else 0:] if r]
    for r in rows:
        f = r.split(b"\t")
        texts = [f[c] for c in cols]
        singles.extend(texts)
        if len(texts) == 2:
            pairs.append(texts[0] + b"\t" + texts[1])
    print("  %-6s %5d rows, %d sentence column(s)" % (task, len(rows), len(cols)))
open(os.path.join(out, "singles.txt"), "wb").write(b"".join(s + b"\n" for s in singles))
open(os.path.join(out, "pairs.txt"), "wb").write(b"".join(p + b"\n" for p in pairs))
EOF

# Hard cases (one per line; a tab inside a single text is part of it) and seeded random text.
"$PY" - "$TMP" <<'EOF'
import os, random, sys
out = sys.argv[1]
hard = [
    "Hello world", "Café naïve résumé Ångström Øresund", "e\u0301le\u0300ve cafe\u0301",
    "😀 👍🏽 👨‍👩‍👧 🇫🇷 ❤️ ✓", "東京は日本の首都です。中文测试，한국어 테스트", "שלום עולם مرحبا بالعالم नमस्ते สวัสดี",
    "123 4567 3.14159 1,000,000 -42 ٣٤٥ ½ ² ⅷ 1st 2nd", "it's I'm you're we've they'll he'd don't DON'T IT'S",
    "'tis rock'n'roll ''s 's 'S 'll'll o'clock", "a  b   c    d", "   leading", "trailing   ", "   ", " ",
    "tab\tinside", "\t\t tabs \t", "\u00a0nbsp\u2003em\u3000ideo\u180emvs\u2028ls\u0085nel\u200bzwsp x", "hello \u180eworld",
    "\x01\x1f\x7f ctrl \x0b\x0c\r", "a\x00b", "<s> </s> <mask> <pad> <unk>", "http://example.com/a?b=c&d=e#f",
    "a" * 1500, "supercalifragilistic" * 80, "9" * 2000, "!?" * 800, "Ġ" * 1200, "é" * 1100,
    "x" + " " * 1500 + "y", "word " * 400,
]
data = [h.encode("utf-8") for h in hard]
data += [b"\xff\xfe", b"abc\xe2\x82", b"\xed\xa0\x80 surrogate", b"\xf0\x9f\x98 cut emoji", b"\xc0\xaf",
         b"ok \xe2\x82\xac \x80\x80 \xf4\x90\x80\x80 \xf8\x88\x80\x80\x80", b"\xe0\x80\xaf"]
open(os.path.join(out, "hard.txt"), "wb").write(b"".join(d + b"\n" for d in data))

# Random text. PCRE2 10.42 knows Unicode 14, Python's regex 15: characters new in Unicode 15
# (all outside the BMP) may classify differently, so non-BMP picks come from older blocks.
rng = random.Random(1234)
pools = [
    (30, lambda: chr(rng.randrange(0x20, 0x7f))),
    (10, lambda: rng.choice(" \t\x0b\x0c\r\u00a0\u1680\u2000\u200a\u2028\u2029\u202f\u205f\u3000\u0085\u180e\u200b")),
    (6, lambda: rng.choice(["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'"])),
    (8, lambda: chr(rng.randrange(0xa0, 0x250))),
    (4, lambda: chr(rng.randrange(0x300, 0x370))),
    (6, lambda: chr(rng.randrange(0x370, 0x530))),
    (6, lambda: chr(rng.randrange(0x4e00, 0x9fff))),
    (4, lambda: chr(rng.randrange(0xac00, 0xd7a3))),
    (6, lambda: chr(rng.choice([rng.randrange(0x660, 0x66a), rng.randrange(0x966, 0x970), rng.randrange(0xff10, 0xff1a), 0xbd, 0xb2, 0x2167]))),
    (6, lambda: chr(rng.randrange(0x1f300, 0x1f650))),
    (3, lambda: chr(rng.choice([rng.randrange(0x1d400, 0x1d7ff), rng.randrange(0x20000, 0x2a6df), rng.randrange(0x10000, 0x1007f)]))),
    (8, lambda: chr(rng.choice([c for c in [rng.randrange(0x80, 0xd800), rng.randrange(0xe000, 0xfffe)]]))),
]
weights = [w for w, _ in pools]
lines = []
for _ in range(3000):
    s = "".join(rng.choices(pools, weights)[0][1]() for _ in range(rng.randrange(0, 40)))
    b = s.encode("utf-8")
    if rng.random() < 0.15:  # splice in raw bytes: invalid UTF-8
        i = rng.randrange(len(b) + 1)
        b = b[:i] + bytes(rng.randrange(0x80, 0x100) for _ in range(rng.randrange(1, 4))) + b[i:]
    lines.append(b.replace(b"\n", b" "))
# Dense short lines from a small alphabet: the regex's boundaries (space runs before letters,
# U+180E which is not White_Space, apostrophes, combining marks) meet often.
alphabet = [" ", " ", "\t", "\u180e", "\u00a0", "\u2028", "\u3000", "a", "B", "1", "!", "'", "s", "t", "\u0301", "中", "😀"]
for _ in range(2000):
    lines.append("".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 12))).encode("utf-8"))
open(os.path.join(out, "fuzz.txt"), "wb").write(b"".join(l + b"\n" for l in lines))
pairs = [lines[i].replace(b"\t", b" ") + b"\t" + lines[i + 1] for i in range(0, len(lines) - 1, 2)]
open(os.path.join(out, "fuzz_pairs.txt"), "wb").write(b"".join(p + b"\n" for p in pairs))
EOF

fail=0
compare() { # compare NAME ARGS... : both tools on the same arguments, outputs must be identical
    local name=$1
    shift
    if ! "$BIN" tokenize "$@" >"$TMP/c.out" 2>"$TMP/c.err"; then
        echo "FAIL [$name]: spikeglue tokenize failed: $(head -c 300 "$TMP/c.err")"
        fail=1
        return
    fi
    "$PY" "$REF" "$@" >"$TMP/py.out"
    if ! cmp -s "$TMP/c.out" "$TMP/py.out"; then
        echo "FAIL [$name]: ids differ from the reference; first differences (< C, > Python):"
        diff "$TMP/c.out" "$TMP/py.out" | head -n 6 | cut -c1-300 || true
        fail=1
    fi
}

R=(--tokenizer "$TOKDIR")
compare "glue singles" "${R[@]}" --lines "$TMP/singles.txt"
compare "glue singles, max 16" "${R[@]}" --max_seq_length 16 --lines "$TMP/singles.txt"
compare "glue pairs" "${R[@]}" --pair --lines "$TMP/pairs.txt"
compare "glue pairs, max 32" "${R[@]}" --pair --max_seq_length 32 --lines "$TMP/pairs.txt"
compare "glue pairs, max 7" "${R[@]}" --pair --max_seq_length 7 --lines "$TMP/pairs.txt"
compare "hard cases" "${R[@]}" --lines "$TMP/hard.txt"
compare "random text" "${R[@]}" --lines "$TMP/fuzz.txt"
compare "random pairs, max 20" "${R[@]}" --pair --max_seq_length 20 --lines "$TMP/fuzz_pairs.txt"
compare "builtin hard cases" --tokenizer builtin --lines "$TMP/hard.txt"
compare "builtin random pairs" --tokenizer builtin --pair --max_seq_length 24 --lines "$TMP/fuzz_pairs.txt"
# texts that a line cannot carry, given as arguments
compare "empty" "${R[@]}" ""
compare "empty pair" "${R[@]}" --pair "" ""
compare "newlines" "${R[@]}" $'line one\nline two\r\n\n  \n end'
compare "tab and newline pair" "${R[@]}" --pair $'a\tb\nc' $'\n\n x \t'
compare "pair, max 9" "${R[@]}" --pair --max_seq_length 9 "Hello world, how are you?" "Fine thanks"

if [ "$("$BIN" tokenize "${R[@]}" "Hello world")" != "[0, 31414, 232, 2]" ]; then
    echo "FAIL: 'Hello world' is not [0, 31414, 232, 2]"
    fail=1
fi

nsingle=$(wc -l <"$TMP/singles.txt")
npairs=$(wc -l <"$TMP/pairs.txt")
nhard=$(wc -l <"$TMP/hard.txt")
nfuzz=$(wc -l <"$TMP/fuzz.txt")
echo "compared $nsingle GLUE dev sentences (single, and single truncated to 16) and $npairs dev pairs" \
     "(whole, truncated to 32 and to 7), $nhard hard cases + 5 argument cases, $nfuzz random lines"
if [ $fail -ne 0 ]; then
    echo "tokenizer reference: FAILED"
    exit 1
fi
echo "tokenizer reference: all ids identical"
