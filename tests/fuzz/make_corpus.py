#!/usr/bin/python3
"""Writes the seed corpora of tests/fuzz/corpus/<harness>/: small hand-made inputs, one per
shape the parser knows (nothing from ../shared). Run from anywhere:
    /usr/bin/python3 tests/fuzz/make_corpus.py
Inputs are written as they are; the fuzzers add what they find to their own working copies."""
import json, os, shutil, struct, sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")


def put(harness, name, data):
    d = os.path.join(CORPUS, harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def copy(harness, rel, name=None):
    with open(os.path.join(ROOT, rel), "rb") as f:
        put(harness, name or os.path.basename(rel), f.read())


# ---- transform configs: the project's own configs and a few test fixtures
for rel in ["configs/transform_cfg.yaml", "configs/mixed_precision.yaml", "configs/levels/q8.yaml",
            "tests/data/configs/valid_flow.yaml", "tests/data/configs/regex_partial.yaml",
            "tests/data/configs/alias.yaml", "tests/data/configs/duplicate_key.yaml"]:
    copy("transform_config", rel)

# ---- job specs
for rel in ["jobs/demo.yaml", "tests/data/jobs/minimal.yaml", "tests/data/jobs/chain.yaml",
            "tests/data/jobs/plan.yaml", "tests/data/jobs/bad_cycle.yaml"]:
    copy("jobspec", rel)
put("jobspec", "filters.yaml", """name: f
model: "m/{task}"
data_dir: d
tasks: [mrpc, sst2]
seeds: [1, 2]
variants:
  base: {transform: none}
  q8: {transform: configs/levels/q8.yaml, start_from: base, train: {learning_rate: 1e-5}}
pipeline: [finetune, eval, convert, snn_eval]
parallel: {tp: 2}
retries: 1
time_limit: 60
include: [{task: mrpc, variant: q8, seed: 1}]
exclude: [{task: sst2}]
model_overrides: {mrpc: other/{task}}
slurm: {partition: x, nested: [1, {a: b}]}
""")

# ---- config.json
base = {"architectures": ["RobertaForSequenceClassification"], "attention_probs_dropout_prob": 0.1,
        "bos_token_id": 0, "eos_token_id": 2, "hidden_act": "relu", "hidden_dropout_prob": 0.1,
        "hidden_size": 64, "id2label": {"0": "LABEL_0", "1": "LABEL_1"}, "initializer_range": 0.02,
        "intermediate_size": 256, "layer_norm_eps": 1e-05, "max_position_embeddings": 514,
        "model_type": "roberta", "num_attention_heads": 2, "num_hidden_layers": 2, "num_labels": 2,
        "pad_token_id": 1, "position_embedding_type": "absolute",
        "problem_type": "single_label_classification", "type_vocab_size": 1, "vocab_size": 261}
put("model_config", "tiny.json", json.dumps(base, indent=2))
reg = dict(base, num_labels=1, id2label={"0": "LABEL_0"}, problem_type="regression", hidden_act="gelu")
put("model_config", "regression.json", json.dumps(reg))
minimal = {k: base[k] for k in ["model_type", "vocab_size", "hidden_size", "num_hidden_layers",
                                "num_attention_heads", "intermediate_size", "hidden_act"]}
put("model_config", "minimal.json", json.dumps(minimal))
put("model_config", "zero_hidden.json", json.dumps(dict(base, hidden_size=0)))

# ---- safetensors
def st(tensors, meta=None, pad=True, data_extra=b""):
    header, blobs, off = {}, [], 0
    if meta is not None:
        header["__metadata__"] = meta
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs) + data_extra

f32 = struct.pack("<6f", 1, -2, 3.5, 0, 1e30, -1e-30)
put("safetensors", "f32.safetensors", st([("w", "F32", [2, 3], f32), ("b", "F32", [3], f32[:12])], {"format": "pt"}))
put("safetensors", "f16_bf16.safetensors", st([("h", "F16", [4], struct.pack("<4H", 0x3c00, 0x7c00, 0x0001, 0xfe00)),
                                               ("g", "BF16", [2], struct.pack("<2H", 0x3f80, 0xff80))]))
put("safetensors", "f64_i64.safetensors", st([("d", "F64", [2], struct.pack("<2d", 1e300, -0.5)),
                                              ("i", "I64", [1], struct.pack("<q", -7)),
                                              ("u", "U8", [3], b"abc"), ("z", "BOOL", [0, 4], b"")]))
put("safetensors", "scalar.safetensors", st([("s", "F32", [], struct.pack("<f", 2.0))]))
put("safetensors", "empty.safetensors", st([], {}))

# ---- tokenizer: vocab.json NUL merges.txt NUL text
def gpt2_bytes():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}

sym = gpt2_bytes()
vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
for b in range(256):
    vocab[sym[b]] = len(vocab)
merges = ["#version: 0.2", "\u0120 t", "h e", "\u0120t he", "l l", "e ll", "h ell", "hell o", "o r"]
for m in merges[1:]:
    vocab.setdefault(m.replace(" ", ""), len(vocab))
vocab["<mask>"] = len(vocab)
tok = json.dumps(vocab, ensure_ascii=False).encode() + b"\0" + "\n".join(merges).encode() + b"\0"
put("tokenizer", "small.bin", tok + "hello the world, it's 42 \u00e9t\u00e9 \xff\xfe".encode("utf-8", "surrogateescape") + b"\xc3\x28 end")
put("tokenizer", "pair.bin", tok + "the hello the hello the hello the hello \t\n  the".encode())
put("tokenizer", "specials_only.bin", json.dumps({"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}).encode() + b"\0\0abc")

# ---- GLUE TSV: first byte = task index (| 0x80: test file without labels)
TASKS = ["cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "mnli-mm", "qnli", "rte", "wnli"]
def tsv(task, text, test=False):
    return bytes([TASKS.index(task) | (0x80 if test else 0)]) + text.encode()
put("glue_tsv", "cola.tsv", tsv("cola", "gj04\t1\t\tOur friends won't buy this.\r\ngj04\t0\t*\tThe more.\nbad line\n"))
put("glue_tsv", "sst2.tsv", tsv("sst2", "\ufeffsentence\tlabel\nit 's a charming journey \t1\nbad\t7\n\n"))
put("glue_tsv", "mrpc.tsv", tsv("mrpc", "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tA \" b\tC d\n0\t3\t4\tx\ty"))
put("glue_tsv", "stsb.tsv", tsv("stsb", "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
                                         "0\tmain\tf\t2012\t1\tnone\tnone\tA plane.\tAn air plane.\t5.000\n1\ta\tb\tc\td\te\tf\tg\th\tnan\n"))
put("glue_tsv", "qqp.tsv", tsv("qqp", "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n1\t2\t3\tWhy?\tHow?\t0\n"))
put("glue_tsv", "mnli.tsv", tsv("mnli", "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\t"
                                         "sentence2_parse\tsentence1\tsentence2\tlabel1\tgold_label\n"
                                         "0\t1\t2\tg\t(a)\t(b)\t(A)\t(B)\tThe cat.\tA cat.\tentailment\tentailment\n"))
put("glue_tsv", "rte_test.tsv", tsv("rte", "index\tsentence1\tsentence2\n0\tA\tB\n", test=True))
put("glue_tsv", "qnli.tsv", tsv("qnli", "index\tquestion\tsentence\tlabel\n0\tq?\ts.\tnot_entailment\n1\tq\ts\tentailment\n"))

# ---- custom CSV / JSON lines: first byte bit 0 = JSON lines, bit 1 = reread as validation
put("glue_custom", "pairs.csv", b"\x02" + b'sentence1,sentence2,label\n"a, ""quoted""",b,pos\n"multi\nline",c,neg\n,,\nx,y\n')
put("glue_custom", "ints.csv", b"\x02" + b"sentence,label\nA,0\nB,1\nC,10\nD,-1\n")
put("glue_custom", "floats.csv", b"\x00" + b"\xef\xbb\xbfsentence1,sentence2,label\na,b,0.5\nc,d,4e0\ne,f,nan\n")
put("glue_custom", "strings.jsonl", b"\x03" + b'{"sentence1": "a", "sentence2": "b", "label": "x"}\n{"sentence1": "c", "sentence2": "d", "label": "y"}\n\n{"sentence1": 1}\n')
put("glue_custom", "numbers.jsonl", b"\x03" + b'{"sentence": "a", "label": 1}\n{"sentence": "b", "label": 2.5}\n{"sentence": "c", "label": null}\nnot json\n')
put("glue_custom", "nolabel.jsonl", b"\x01" + b'{"sentence": "a"}\n{"sentence": "b"}\n')

# ---- run flags: NUL-separated arguments
def argv(*args):
    return b"\0".join(a.encode() for a in args)
put("run_flags", "basic", argv("--model_name_or_path", "builtin:tiny", "--task_name", "sst2", "--do_train", "--do_eval",
                               "--output_dir", "out", "--max_seq_length=64", "--learning_rate", "2e-5"))
put("run_flags", "hf_bools", argv("--do_train", "True", "--overwrite_output_dir=false", "--num_train_epochs", "0.5",
                                  "--seed", "-3", "--evaluation_strategy", "steps"))
put("run_flags", "typo", argv("--lerning_rate", "1"))
put("run_flags", "bad_int", argv("--max_steps", "12x"))
put("run_flags", "positional", argv("extra", "--", "-h"))
put("run_flags", "hf_training", argv("--model-name", "builtin:tiny", "--dataset_name", "glue", "--dataset_config_name", "rte",
                                     "--do_train", "--output_dir", "out", "--gradient_accumulation_steps", "4",
                                     "--lr_scheduler_type", "polynomial", "--lr_scheduler_kwargs", '{"lr_end": 1e-9, "power": 2}',
                                     "--eval_strategy", "steps", "--eval_steps", "10", "--save_strategy", "best",
                                     "--load_best_model_at_end", "--metric_for_best_model", "accuracy", "--fp16"))
put("run_flags", "ambiguous", argv("--model_name_or_path", "m", "--output_dir", "o", "--do_e", "--eval_s", "1"))
put("run_flags", "nonsense", argv("--model_name_or_path", "m", "--output_dir", "o", "--do_eval", "--warmup_ratio", "2",
                                  "--lr_scheduler_kwargs", '{"timescale": "x"}'))
print("corpora written to", CORPUS)
