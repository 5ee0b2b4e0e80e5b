#!/usr/bin/python3
"""Independent reference for `spikeglue tokenize`: RoBERTa's byte-level BPE written the way
GPT-2's encoder.py / transformers' RobertaTokenizer (slow) do it, with the `regex` module.

    gpt2_bpe_ref.py --tokenizer DIR|builtin [--pair] [--max_seq_length N] TEXT [TEXT2]
    gpt2_bpe_ref.py --tokenizer DIR|builtin [--pair] [--max_seq_length N] --lines FILE

Prints the framed ids as JSON arrays, one per text or line, exactly like the C command.
Input bytes are decoded as UTF-8 with errors="replace"; text is never scanned for special
tokens; truncation is transformers' truncate_sequences(..., "longest_first").
Needs only the standard library and `regex` (Debian: python3-regex)."""
import argparse
import json
import os
import sys

import regex

PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    """GPT-2's table: printable Latin-1 bytes map to themselves, the rest to 256, 257, ..."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, (chr(c) for c in cs)))


def get_pairs(word):
    return {(word[i], word[i + 1]) for i in range(len(word) - 1)}


class BPE:
    def __init__(self, directory):
        with open(os.path.join(directory, "vocab.json"), encoding="utf-8") as f:
            self.encoder = json.load(f)
        with open(os.path.join(directory, "merges.txt"), encoding="utf-8") as f:
            lines = f.read().split("\n")
        if lines and lines[0].startswith("#version"):
            lines = lines[1:]
        merges = [tuple(line.split()) for line in lines if line.split()]
        self.ranks = dict(zip(merges, range(len(merges))))
        self.byte_encoder = bytes_to_unicode()
        self.cache = {}
        self.bos, self.pad, self.eos = self.encoder["<s>"], self.encoder["<pad>"], self.encoder["</s>"]
        self.unk = self.encoder["<unk>"]

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token)
        pairs = get_pairs(word)
        while pairs:
            bigram = min(pairs, key=lambda pair: self.ranks.get(pair, float("inf")))
            if bigram not in self.ranks:
                break
            first, second = bigram
            new_word = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    new_word.extend(word[i:])
                    break
                new_word.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    new_word.append(first + second)
                    i += 2
                else:
                    new_word.append(word[i])
                    i += 1
            word = tuple(new_word)
            if len(word) == 1:
                break
            pairs = get_pairs(word)
        self.cache[token] = word
        return word

    def encode(self, data):
        text = data.decode("utf-8", errors="replace")
        ids = []
        for piece in PATTERN.findall(text):
            symbols = "".join(self.byte_encoder[b] for b in piece.encode("utf-8"))
            ids.extend(self.encoder.get(s, self.unk) for s in self.bpe(symbols))
        return ids


class Bytes:
    bos, pad, eos = 0, 1, 2

    def encode(self, data):
        return [4 + b for b in data]


def frame(tok, a, b, max_len):
    ids_a = tok.encode(a)
    ids_b = tok.encode(b) if b is not None else None
    if max_len:
        specials = 2 if b is None else 4
        if max_len < specials:
            raise SystemExit("max_seq_length too small")
        remove = len(ids_a) + (len(ids_b) if ids_b is not None else 0) + specials - max_len
        for _ in range(max(0, remove)):  # transformers' longest_first loop
            if ids_b is None or len(ids_a) > len(ids_b):
                ids_a = ids_a[:-1]
            else:
                ids_b = ids_b[:-1]
    out = [tok.bos] + ids_a + [tok.eos]
    if ids_b is not None:
        out += [tok.eos] + ids_b + [tok.eos]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokenizer", required=True)
    ap.add_argument("--pair", action="store_true")
    ap.add_argument("--max_seq_length", type=int, default=0)
    ap.add_argument("--lines")
    ap.add_argument("texts", nargs="*")
    args = ap.parse_args()
    tok = Bytes() if args.tokenizer == "builtin" else BPE(args.tokenizer)
    if args.lines:
        with open(args.lines, "rb") as f:
            data = f.read()
        lines = data.split(b"\n") if data else []
        if data.endswith(b"\n"):
            lines.pop()
        records = [tuple(line.split(b"\t", 1)) if args.pair else (line, None) for line in lines]
    else:
        texts = [os.fsencode(t) for t in args.texts]
        records = [(texts[0], texts[1] if args.pair else None)]
    out = [json.dumps(frame(tok, a, b, args.max_seq_length)) for a, b in records]
    sys.stdout.write("".join(line + "\n" for line in out))


if __name__ == "__main__":
    main()
