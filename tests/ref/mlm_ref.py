#!/usr/bin/python3
"""Independent PyTorch reference of HuggingFace's RobertaForMaskedLM (tied decoder).

Plain torch, no `transformers`, written from HF's published semantics (modeling_roberta.py's
RobertaForMaskedLM / RobertaLMHead, trainer.py's decay groups, data_collator.py's
DataCollatorForLanguageModeling.torch_mask_tokens). The encoder is roberta_ref.py's; this file
adds the LM head, the masked-LM loss, the tied decoder, the HF Trainer loop for it and the
masking collator.

RobertaLMHead: x = dense(h); x = gelu(x) (exact erf GELU, always, whatever hidden_act says);
x = layer_norm(x); logits = x @ word_embeddings^T + lm_head.bias. The decoder weight IS the
word-embedding matrix (tie_word_embeddings), so its gradient is the sum of the embedding-lookup
path and the decoder path; lm_head.decoder.bias IS lm_head.bias.

CLI (see README.md, section "MLM reference"):
  mlm_ref.py make-case --out DIR --case {mlm-relu,mlm-gelu,mlm-relu-decoder} --seed S [--init-std X]
  mlm_ref.py forward --model DIR --batch batch.json --out OUT.safetensors
  mlm_ref.py collate --input ids.json --seed S --out OUT.json [--mlm-probability P]
                     [--vocab-size V] [--mask-id M] [--special-ids 0,1,2,3]
"""

import argparse
import json
import os
import random
import sys

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # keep tests/ref free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roberta_ref as enc  # noqa: E402  (the encoder: embeddings, encoder_layer, Config)
from roberta_ref import RefError, leaf_copy, to_numpy, write_json  # noqa: E402
from safetensors_io import write_safetensors  # noqa: E402

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)

IGNORE_INDEX = -100  # torch CrossEntropyLoss's default ignore_index, which HF's MLM loss relies on
WORD_EMBEDDINGS = "roberta.embeddings.word_embeddings.weight"
# Keys HF's RobertaForMaskedLM ignores when they are missing (tied: rebuilt from the embeddings)
TIED_DECODER_WEIGHT, TIED_DECODER_BIAS = "lm_head.decoder.weight", "lm_head.decoder.bias"


# ------------------------------------------------------------------------ config

def check_mlm_config(raw, cfg, source):
    if not raw.get("tie_word_embeddings", True):
        raise RefError(f"{source}: tie_word_embeddings false (an untied decoder) is not supported")
    return cfg


def load_config(path):
    raw = enc.read_config_json(path)
    return check_mlm_config(raw, enc.Config(raw, path), path)


# ------------------------------------------------------------------ parameter names

def parameter_shapes(cfg):
    """name -> shape of every trainable tensor in HF's named_parameters() order for
    RobertaForMaskedLM with tied weights: the encoder (no pooler), then lm_head's own `bias`
    (registered on the head module itself, so listed before its children), dense, layer_norm.
    decoder.weight / decoder.bias are the same Parameters as the word embeddings / lm_head.bias,
    so named_parameters() lists them once, under their first names."""
    h, v = cfg.hidden_size, cfg.vocab_size
    shapes = {n: s for n, s in enc.parameter_shapes(cfg).items() if not n.startswith("classifier.")}
    shapes["lm_head.bias"] = (v,)
    shapes["lm_head.dense.weight"] = (h, h)
    shapes["lm_head.dense.bias"] = (h,)
    shapes["lm_head.layer_norm.weight"] = (h,)
    shapes["lm_head.layer_norm.bias"] = (h,)
    return shapes


def is_layer_norm(name):
    """Parameters of an nn.LayerNorm module (HF: ALL_LAYERNORM_LAYERS), head's included."""
    return ".LayerNorm." in name or name.startswith("lm_head.layer_norm.")


def is_decay_parameter(name):
    """HF Trainer.get_decay_parameter_names: not inside an nn.LayerNorm, no 'bias' in the name."""
    return "bias" not in name and not is_layer_norm(name)


# -------------------------------------------------------------------------- model

def encoder_output(p, cfg, input_ids, attention_mask, training=False):
    """RobertaModel(add_pooling_layer=False): the last hidden state [B, T, H]."""
    dtype = p["roberta.embeddings.LayerNorm.weight"].dtype
    h = enc.embeddings(p, cfg, input_ids, training)
    ext_mask = enc.extended_attention_mask(attention_mask, dtype)
    for i in range(cfg.num_hidden_layers):
        h = enc.encoder_layer(p, i, h, ext_mask, cfg, training)
    return h


def lm_head(p, cfg, hidden, decoder_weight=None):
    """RobertaLMHead. decoder_weight defaults to the tied word embeddings; selfcheck passes an
    untied copy to split the tied gradient into its two paths."""
    x = F.linear(hidden, p["lm_head.dense.weight"], p["lm_head.dense.bias"])
    x = F.gelu(x)  # HF's `gelu` (exact erf form), independent of config.hidden_act
    x = F.layer_norm(x, (x.shape[-1],), p["lm_head.layer_norm.weight"], p["lm_head.layer_norm.bias"],
                     cfg.layer_norm_eps)
    weight = p[WORD_EMBEDDINGS] if decoder_weight is None else decoder_weight
    return F.linear(x, weight, p["lm_head.bias"])


def forward_logits(p, cfg, input_ids, attention_mask, training=False):
    """Prediction scores [B, T, vocab] at every position (padding included)."""
    return lm_head(p, cfg, encoder_output(p, cfg, input_ids, attention_mask, training))


def masked_lm_loss(logits, labels, cfg):
    """HF: CrossEntropyLoss()(scores.view(-1, V), labels.view(-1)); mean over labels != -100."""
    return F.cross_entropy(logits.view(-1, cfg.vocab_size), labels.view(-1), ignore_index=IGNORE_INDEX)


# ----------------------------------------------------------------------- training

def trainer_parameter_groups(params, weight_decay):
    return enc.trainer_parameter_groups(params, weight_decay, is_decay_parameter)


def loss_and_backward(params, cfg, batch, training):
    for tensor in params.values():
        tensor.grad = None
    logits = forward_logits(params, cfg, batch["input_ids"], batch["attention_mask"], training)
    loss = masked_lm_loss(logits, batch["labels"], cfg)
    loss.backward()
    return logits, loss


def train(params, cfg, batch, tc):
    """HF Trainer's loop on one batch (clip, AdamW with HF's groups, LambdaLR linear warmup/decay);
    updates params in place and returns the loss before each step."""
    optimizer = torch.optim.AdamW(trainer_parameter_groups(params, tc["weight_decay"]),
                                  lr=tc["lr"], betas=(tc["adam_beta1"], tc["adam_beta2"]),
                                  eps=tc["adam_epsilon"], foreach=False)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, enc.linear_warmup_lambda(tc["warmup_steps"], tc["total_steps"]))
    losses = []
    for _ in range(tc["steps"]):
        _, loss = loss_and_backward(params, cfg, batch, training=True)
        losses.append(loss.item())
        torch.nn.utils.clip_grad_norm_(list(params.values()), tc["max_grad_norm"])
        optimizer.step()
        scheduler.step()
    for tensor in params.values():
        tensor.grad = None
    return losses


# ---------------------------------------------------------------- masking collator

def special_tokens_mask(input_ids, special_ids):
    """RobertaTokenizer.get_special_tokens_mask(already_has_special_tokens=True): 1 where the id
    is one of the tokenizer's special ids (<s>, <pad>, </s>, <unk>, <mask>)."""
    mask = torch.zeros_like(input_ids, dtype=torch.bool)
    for special in special_ids:
        mask |= input_ids.eq(special)
    return mask


def mask_tokens(input_ids, special_mask, mask_id, vocab_size, mlm_probability=0.15, generator=None):
    """DataCollatorForLanguageModeling.torch_mask_tokens, in its order of random draws:
    select each non-special position with mlm_probability (label = original id, else -100);
    of those, Bernoulli(0.8) -> <mask>; of the rest, Bernoulli(0.5) -> a uniform id in
    [0, vocab_size) (HF draws from len(tokenizer) and may draw special ids or the original);
    the remainder keep their token. With generator=None the global torch RNG is used, so
    torch.manual_seed(s) + this equals HF's collator after torch.manual_seed(s).
    Returns (masked ids, labels, replaced, randomized)."""
    inputs, labels = input_ids.clone(), input_ids.clone()
    probability = torch.full(labels.shape, mlm_probability)
    probability.masked_fill_(special_mask, 0.0)
    selected = torch.bernoulli(probability, generator=generator).bool()
    labels[~selected] = IGNORE_INDEX
    replaced = torch.bernoulli(torch.full(labels.shape, 0.8), generator=generator).bool() & selected
    inputs[replaced] = mask_id
    randomized = torch.bernoulli(torch.full(labels.shape, 0.5), generator=generator).bool() & selected & ~replaced
    random_words = torch.randint(vocab_size, labels.shape, dtype=torch.long, generator=generator)
    inputs[randomized] = random_words[randomized]
    return inputs, labels, replaced, randomized


# ---------------------------------------------------------------- loading / saving

def load_parameters(path, cfg):
    """model.safetensors -> float32 leaf tensors. A stored tied decoder (older conversions) must
    equal what it is tied to: a tied model cannot hold two different values."""
    def is_ignored(name):
        return name in (TIED_DECODER_WEIGHT, TIED_DECODER_BIAS) or enc.is_ignored_checkpoint_tensor(name)

    tensors, params = enc.read_parameters(path, parameter_shapes(cfg), is_ignored)
    for tied, target in ((TIED_DECODER_WEIGHT, WORD_EMBEDDINGS), (TIED_DECODER_BIAS, "lm_head.bias")):
        if tied in tensors:
            stored = torch.from_numpy(tensors[tied]).to(torch.float32)
            if stored.shape != params[target].shape or not torch.equal(stored, params[target].detach()):
                raise RefError(f"{path}: tensor '{tied}' differs from '{target}', but the decoder is tied to it")
    return params


def load_model(model_dir):
    cfg = load_config(os.path.join(model_dir, "config.json"))
    return cfg, load_parameters(os.path.join(model_dir, "model.safetensors"), cfg)


def read_batch(path):
    """batch.json -> int64 input_ids / attention_mask [B, T] and optional labels [B, T]."""
    return enc.read_batch(path, token_labels=True)


def check_batch_fits(batch, cfg, path):
    enc.check_batch_fits(batch, cfg, path)
    if "labels" in batch:
        labels = batch["labels"]
        bad = (labels != IGNORE_INDEX) & ((labels < 0) | (labels >= cfg.vocab_size))
        if bad.any():
            raise RefError(f"{path}: labels must be -100 or a token id in [0, {cfg.vocab_size})")


# --------------------------------------------------------------------- make-case

CASES = {
    "mlm-relu": {"hidden_act": "relu", "store_decoder": False},
    "mlm-gelu": {"hidden_act": "gelu", "store_decoder": False},
    # older conversions of roberta-base store the tied decoder too; a loader must accept both
    "mlm-relu-decoder": {"hidden_act": "relu", "store_decoder": True},
}

TRAIN_CONFIG = {"steps": 10, "lr": 1e-3, "weight_decay": 0.01, "warmup_steps": 2, "total_steps": 10,
                "max_grad_norm": 1.0, "adam_beta1": 0.9, "adam_beta2": 0.999, "adam_epsilon": 1e-8}

BATCH_SIZE, SEQ_LEN, VOCAB_SIZE = 4, 24, 300
MASK_ID = VOCAB_SIZE - 1                 # <mask> of the tiny vocab
SPECIAL_IDS = (0, 1, 2, 3, MASK_ID)      # <s>, <pad>, </s>, <unk>, <mask> as in roberta-base's vocab
MLM_PROBABILITY = 0.15
MAX_COLLATE_DRAWS = 1000


def tiny_config_json(hidden_act):
    """A config.json as HF writes it for a tiny RobertaForMaskedLM."""
    return {
        "architectures": ["RobertaForMaskedLM"],
        "model_type": "roberta",
        "vocab_size": VOCAB_SIZE, "hidden_size": 64, "num_hidden_layers": 2,
        "num_attention_heads": 2, "intermediate_size": 256, "hidden_act": hidden_act,
        "max_position_embeddings": 42, "type_vocab_size": 1, "layer_norm_eps": 1e-05,
        "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0, "classifier_dropout": None,
        "position_embedding_type": "absolute",
        "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2,
        "tie_word_embeddings": True,
        "initializer_range": 0.02, "torch_dtype": "float32", "use_cache": True,
    }


def init_parameters(cfg, std, generator):
    """HF _init_weights: N(0, std) weights/embeddings (pad rows zeroed), zero biases, LN 1/0;
    then biases += N(0, 0.02) and LN params += N(0, 0.05) so their roles are tested."""
    params = enc.init_parameters(cfg, std, generator, parameter_shapes(cfg), is_layer_norm)
    enc.perturb_parameters(params, generator, is_layer_norm)
    return params


def random_unmasked_batch(rng):
    """4 RoBERTa-shaped rows: a full single, a padded pair, a short single, a padded pair.
    Words are drawn from [4, V-1): never a special id, so every special in the input is structural."""
    def words(n):
        return [rng.randrange(4, MASK_ID) for _ in range(n)]

    def row(length, pair):
        if not pair:
            return [0] + words(length - 2) + [2]
        first = rng.randrange(1, length - 4)
        return [0] + words(first) + [2, 2] + words(length - 4 - first) + [2]

    shapes = [(SEQ_LEN, False), (rng.randrange(10, 21), True),
              (rng.randrange(5, 13), False), (rng.randrange(14, SEQ_LEN), True)]
    input_ids, attention_mask = [], []
    for length, pair in shapes:
        input_ids.append(row(length, pair) + [1] * (SEQ_LEN - length))
        attention_mask.append([1] * length + [0] * (SEQ_LEN - length))
    return torch.tensor(input_ids), torch.tensor(attention_mask)


def collate_case_batch(input_ids, seed):
    """HF's masking with a seeded torch generator, redrawn (same generator, so deterministic)
    until every row has a label and the batch has all three kinds: <mask>, a random id that
    differs from the original, and a kept token."""
    generator = torch.Generator().manual_seed(seed)
    specials = special_tokens_mask(input_ids, SPECIAL_IDS)
    for _ in range(MAX_COLLATE_DRAWS):
        masked, labels, replaced, randomized = mask_tokens(input_ids, specials, MASK_ID, VOCAB_SIZE,
                                                           MLM_PROBABILITY, generator)
        selected = labels != IGNORE_INDEX
        kept = selected & ~replaced & ~randomized
        really_random = randomized & (masked != input_ids)
        if selected.any(dim=1).all() and replaced.any() and really_random.any() and kept.any():
            return masked, labels
    raise RefError(f"no masking draw out of {MAX_COLLATE_DRAWS} had every kind of labelled position")


def write_batch_json(path, batch):
    """batch.json with one row per line, for people reading it."""
    def rows(key):
        return ",\n".join("  " + json.dumps(row, separators=(",", ":")) for row in batch[key])
    keys = [k for k in ("input_ids", "attention_mask", "labels") if k in batch]
    with open(path, "w") as f:
        f.write("{\n" + ",\n".join(f' "{k}": [\n' + rows(k) + "\n ]" for k in keys) + "\n}\n")


def expected_outputs(params, cfg, batch, tc=TRAIN_CONFIG):
    """logits, loss and grads at the initial params (eval forward; dropout is 0 anyway), then the
    training loop and the eval forward after it."""
    work = leaf_copy(params)
    logits, loss = loss_and_backward(work, cfg, batch, training=False)
    out = {"logits": to_numpy(logits), "loss": to_numpy(loss.reshape(1))}
    out.update({f"grad.{n}": to_numpy(t.grad) for n, t in work.items()})
    trained = leaf_copy(params)
    losses = train(trained, cfg, batch, tc)
    out["train_losses"] = to_numpy(torch.tensor(losses, dtype=torch.float32))
    with torch.no_grad():
        out["final_logits"] = to_numpy(forward_logits(trained, cfg, batch["input_ids"], batch["attention_mask"]))
    out.update({f"final.{n}": to_numpy(t) for n, t in trained.items()})
    return out


def make_case(out_dir, case, seed, init_std=None):
    spec = CASES[case]
    config_json = tiny_config_json(spec["hidden_act"])
    cfg = check_mlm_config(config_json, enc.Config(config_json, f"case {case}"), f"case {case}")
    params = init_parameters(cfg, init_std or config_json["initializer_range"], torch.Generator().manual_seed(seed))
    input_ids, attention_mask = random_unmasked_batch(random.Random(seed))
    masked, labels = collate_case_batch(input_ids, seed)

    os.makedirs(os.path.join(out_dir, "model"), exist_ok=True)
    write_json(os.path.join(out_dir, "model", "config.json"), config_json)
    stored = {n: to_numpy(t) for n, t in params.items()}
    if spec["store_decoder"]:
        stored[TIED_DECODER_WEIGHT] = stored[WORD_EMBEDDINGS].copy()
        stored[TIED_DECODER_BIAS] = stored["lm_head.bias"].copy()
    write_safetensors(os.path.join(out_dir, "model", "model.safetensors"), stored)
    batch_path = os.path.join(out_dir, "batch.json")
    write_batch_json(batch_path, {"input_ids": masked.tolist(), "attention_mask": attention_mask.tolist(),
                                  "labels": labels.tolist()})
    write_json(os.path.join(out_dir, "train.json"), TRAIN_CONFIG)
    write_safetensors(os.path.join(out_dir, "expected.safetensors"),
                      expected_outputs(params, cfg, read_batch(batch_path), TRAIN_CONFIG))


# ------------------------------------------------------------------ forward, collate

def run_forward(model_dir, batch_path, out_path):
    cfg, params = load_model(model_dir)
    batch = read_batch(batch_path)
    check_batch_fits(batch, cfg, batch_path)
    with torch.no_grad():
        logits = forward_logits(params, cfg, batch["input_ids"], batch["attention_mask"])
        out = {"logits": to_numpy(logits)}
        if "labels" in batch:
            out["loss"] = to_numpy(masked_lm_loss(logits, batch["labels"], cfg).reshape(1))
    write_safetensors(out_path, out)


def run_collate(input_path, seed, out_path, mlm_probability, vocab_size, mask_id, special_ids):
    """input_ids (JSON {"input_ids": [[..]..], ...}) -> masked input_ids + labels, as HF's collator
    does after torch.manual_seed(seed). attention_mask, when given, is passed through."""
    try:
        with open(input_path) as f:
            raw = json.load(f)
        input_ids = torch.tensor(raw["input_ids"], dtype=torch.long)
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise RefError(f"{input_path}: {type(err).__name__}: {err}") from None
    if input_ids.dim() != 2:
        raise RefError(f"{input_path}: input_ids must be [batch, length] (pad the rows first)")
    if not 0.0 <= mlm_probability <= 1.0:
        raise RefError(f"--mlm-probability {mlm_probability} is outside [0, 1]")
    if not 0 <= mask_id < vocab_size or input_ids.min() < 0 or input_ids.max() >= vocab_size:
        raise RefError(f"{input_path}: token ids and --mask-id must lie in [0, --vocab-size {vocab_size})")
    specials = set(special_ids) | {mask_id}
    torch.manual_seed(seed)
    masked, labels, _, _ = mask_tokens(input_ids, special_tokens_mask(input_ids, specials), mask_id,
                                       vocab_size, mlm_probability)
    out = {"input_ids": masked.tolist(), "labels": labels.tolist()}
    if "attention_mask" in raw:
        out["attention_mask"] = raw["attention_mask"]
    write_batch_json(out_path, out)


# ---------------------------------------------------------------------------- CLI

def int_list(text):
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a comma-separated list of ids") from None


def parse_args(argv):
    parser = argparse.ArgumentParser(description="PyTorch reference of RobertaForMaskedLM (tied decoder)")
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("make-case", help="write a tiny MLM model, a masked batch and the expected outputs")
    make.add_argument("--out", required=True, help="case directory to create")
    make.add_argument("--case", required=True, choices=sorted(CASES))
    make.add_argument("--seed", required=True, type=int)
    make.add_argument("--init-std", type=float, default=None, help="std of the random weights (default 0.02)")
    fwd = sub.add_parser("forward", help="eval forward of a model directory on a batch.json")
    fwd.add_argument("--model", required=True, help="directory with config.json and model.safetensors")
    fwd.add_argument("--batch", required=True, help="batch.json (labels [B, T], -100 = none, optional)")
    fwd.add_argument("--out", required=True, help="output .safetensors (logits [B, T, V], loss [1])")
    col = sub.add_parser("collate", help="HF's MLM masking of input ids with torch's RNG (statistics, docs)")
    col.add_argument("--input", required=True, help='JSON with "input_ids": [[..], ..] (padded rows)')
    col.add_argument("--seed", required=True, type=int, help="torch.manual_seed before the draws")
    col.add_argument("--out", required=True, help="output JSON: input_ids masked, labels (and the input's attention_mask)")
    col.add_argument("--mlm-probability", type=float, default=MLM_PROBABILITY)
    col.add_argument("--vocab-size", type=int, default=VOCAB_SIZE, help="len(tokenizer): random ids are < this")
    col.add_argument("--mask-id", type=int, default=MASK_ID, help="the <mask> id (roberta-base: 50264)")
    col.add_argument("--special-ids", type=int_list, default=list(SPECIAL_IDS[:-1]),
                     help="ids never selected besides --mask-id (default 0,1,2,3: <s>,<pad>,</s>,<unk>)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        if args.command == "make-case":
            make_case(args.out, args.case, args.seed, args.init_std)
        elif args.command == "forward":
            run_forward(args.model, args.batch, args.out)
        else:
            run_collate(args.input, args.seed, args.out, args.mlm_probability, args.vocab_size,
                        args.mask_id, args.special_ids)
    except (RefError, OSError, json.JSONDecodeError) as err:
        print(f"mlm_ref.py: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
