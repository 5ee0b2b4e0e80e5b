#!/usr/bin/python3
"""Independent PyTorch reference of HuggingFace's RobertaForSequenceClassification.

Plain torch, no `transformers`: the model is a set of functions over a dict of
parameters named exactly as HF names them. It mirrors HF's eager code path:
embeddings (word + token_type + position, LayerNorm, dropout), post-LN encoder
blocks, classification head on token 0, MSE / cross-entropy loss, and the HF
Trainer optimisation step (clip, AdamW with HF's decay groups, linear warmup).

CLI (see README.md):
  roberta_ref.py make-case --out DIR --case CASE --seed S [--dtype f32|f16]
  roberta_ref.py expect --case-dir DIR       (cases with dropout: after DIR/masks.safetensors exists)
  roberta_ref.py forward --model DIR --batch batch.json --out OUT.safetensors
"""

import argparse
import json
import math
import os
import random
import sys

import torch
import torch.nn.functional as F

sys.dont_write_bytecode = True  # keep tests/ref free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import SafetensorsError, read_safetensors, write_safetensors  # noqa: E402

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)


class RefError(Exception):
    """Bad outside input (config, checkpoint, batch); the message names the file."""


# --------------------------------------------------------------------------- config

# RobertaConfig's defaults, used for keys a config.json leaves out.
HF_ROBERTA_DEFAULTS = {
    "vocab_size": 50265, "hidden_size": 768, "num_hidden_layers": 12,
    "num_attention_heads": 12, "intermediate_size": 3072, "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
    "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
    "pad_token_id": 1, "classifier_dropout": None, "problem_type": None,
    "position_embedding_type": "absolute",
}

ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}  # HF "gelu" is the exact erf form


class Config:
    """The fields of a RobertaConfig that the forward pass reads."""

    def __init__(self, raw, source="config"):
        values = dict(HF_ROBERTA_DEFAULTS)
        values.update(raw)
        for key in HF_ROBERTA_DEFAULTS:
            setattr(self, key, values[key])
        self.num_labels = _num_labels(raw, source)
        if self.hidden_act not in ACTIVATIONS:
            raise RefError(f"{source}: hidden_act '{self.hidden_act}' unsupported (relu|gelu)")
        if self.position_embedding_type != "absolute":
            raise RefError(f"{source}: position_embedding_type '{self.position_embedding_type}' unsupported")
        if self.hidden_size % self.num_attention_heads:
            raise RefError(f"{source}: hidden_size {self.hidden_size} not divisible by "
                           f"num_attention_heads {self.num_attention_heads}")
        self.head_dim = self.hidden_size // self.num_attention_heads
        if self.classifier_dropout is None:
            self.classifier_dropout = self.hidden_dropout_prob


def _num_labels(raw, source):
    """HF derives num_labels from id2label (config.json need not carry num_labels)."""
    id2label, num_labels = raw.get("id2label"), raw.get("num_labels")
    if id2label is not None:
        if num_labels is not None and num_labels != len(id2label):
            raise RefError(f"{source}: num_labels {num_labels} disagrees with id2label ({len(id2label)} labels)")
        return len(id2label)
    return 2 if num_labels is None else int(num_labels)


def read_config_json(path):
    """config.json -> its dict (RefError naming the file when it cannot be read or is no object)."""
    try:
        with open(path) as f:
            raw = json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise RefError(f"{path}: {err}") from None
    if not isinstance(raw, dict):
        raise RefError(f"{path}: not a JSON object")
    return raw


def load_config(path):
    return Config(read_config_json(path), path)


# ------------------------------------------------------------------ parameter names

def parameter_shapes(cfg):
    """name -> shape for every trainable tensor, in HF's named_parameters order."""
    h, ffn = cfg.hidden_size, cfg.intermediate_size
    shapes = {
        "roberta.embeddings.word_embeddings.weight": (cfg.vocab_size, h),
        "roberta.embeddings.position_embeddings.weight": (cfg.max_position_embeddings, h),
        "roberta.embeddings.token_type_embeddings.weight": (cfg.type_vocab_size, h),
        "roberta.embeddings.LayerNorm.weight": (h,),
        "roberta.embeddings.LayerNorm.bias": (h,),
    }
    for i in range(cfg.num_hidden_layers):
        layer = f"roberta.encoder.layer.{i}."
        for name, out_dim, in_dim in (("attention.self.query", h, h), ("attention.self.key", h, h),
                                      ("attention.self.value", h, h), ("attention.output.dense", h, h)):
            shapes[layer + name + ".weight"] = (out_dim, in_dim)
            shapes[layer + name + ".bias"] = (out_dim,)
        shapes[layer + "attention.output.LayerNorm.weight"] = (h,)
        shapes[layer + "attention.output.LayerNorm.bias"] = (h,)
        shapes[layer + "intermediate.dense.weight"] = (ffn, h)
        shapes[layer + "intermediate.dense.bias"] = (ffn,)
        shapes[layer + "output.dense.weight"] = (h, ffn)
        shapes[layer + "output.dense.bias"] = (h,)
        shapes[layer + "output.LayerNorm.weight"] = (h,)
        shapes[layer + "output.LayerNorm.bias"] = (h,)
    shapes["classifier.dense.weight"] = (h, h)
    shapes["classifier.dense.bias"] = (h,)
    shapes["classifier.out_proj.weight"] = (cfg.num_labels, h)
    shapes["classifier.out_proj.bias"] = (cfg.num_labels,)
    return shapes


def is_layer_norm(name):
    return ".LayerNorm." in name


def is_decay_parameter(name):
    """HF Trainer: weight decay on everything except biases and LayerNorm params."""
    return "bias" not in name and not is_layer_norm(name)


def is_ignored_checkpoint_tensor(name):
    """Tensors a checkpoint may carry that the classifier does not use."""
    return (name.startswith("roberta.pooler.") or name.endswith(".s")
            or name == "roberta.embeddings.position_ids")


# -------------------------------------------------------------------------- model

def position_ids_from_input_ids(input_ids, padding_idx):
    """Real tokens get padding_idx+1, +2, ...; padding tokens get padding_idx."""
    mask = input_ids.ne(padding_idx).int()
    return (torch.cumsum(mask, dim=1).type_as(mask) * mask).long() + padding_idx


def extended_attention_mask(attention_mask, dtype):
    """[B, L] 1/0 mask -> additive [B, 1, 1, L]: 0 on real keys, finfo.min on padding."""
    mask = attention_mask[:, None, None, :].to(dtype)
    return (1.0 - mask) * torch.finfo(dtype).min


def linear(p, name, x):
    return F.linear(x, p[name + ".weight"], p[name + ".bias"])


def layer_norm(p, name, x, eps):
    return F.layer_norm(x, (x.shape[-1],), p[name + ".weight"], p[name + ".bias"], eps)


def embeddings(p, cfg, input_ids, training):
    pad = cfg.pad_token_id
    position_ids = position_ids_from_input_ids(input_ids, pad)
    token_type_ids = torch.zeros_like(input_ids)
    # padding_idx: like nn.Embedding(padding_idx=pad), the pad row gets no gradient.
    words = F.embedding(input_ids, p["roberta.embeddings.word_embeddings.weight"], padding_idx=pad)
    types = F.embedding(token_type_ids, p["roberta.embeddings.token_type_embeddings.weight"])
    positions = F.embedding(position_ids, p["roberta.embeddings.position_embeddings.weight"], padding_idx=pad)
    x = words + types
    x = x + positions
    x = layer_norm(p, "roberta.embeddings.LayerNorm", x, cfg.layer_norm_eps)
    return dropout(x, cfg.hidden_dropout_prob, training, "roberta.embeddings.dropout")


# ------------------------------------------------------------------------ dropout

class DropoutMasks:
    """Keep flags (0/1) drawn by the model under test, fed to this model's own dropout sites.

    Names are 'step{S}.{HF dropout module}' ('classifier.dropout.0' / '.1' for the two uses of
    HF's one classifier dropout). Applying a mask is torch's inverted dropout with the Bernoulli
    draw replaced: x * (keep / (1 - p)), p being this model's probability at that site."""

    def __init__(self, tensors, source):
        self.tensors, self.source, self.step = tensors, source, 0
        self.unused = set(tensors)

    def apply(self, x, p, site):
        name = f"step{self.step}.{site}"
        if name not in self.tensors:
            raise RefError(f"{self.source}: no mask '{name}': the model under test drew none at a dropout "
                           f"site the reference has (p = {p})")
        keep = torch.from_numpy(self.tensors[name])
        if keep.numel() != x.numel():
            raise RefError(f"{self.source}: mask '{name}' has {keep.numel()} elements, the site {x.numel()}")
        self.unused.discard(name)
        return x * (keep.view(x.shape).to(x.dtype) / (1.0 - p))

    def check_all_used(self):
        if self.unused:
            raise RefError(f"{self.source}: the model under test drew masks where the reference has no dropout: "
                           + ", ".join(sorted(self.unused)[:4]))


_masks = None  # DropoutMasks while expected outputs are computed with given masks


def dropout(x, p, training, site):
    """F.dropout, or the given mask of `site` (the HF module's name) when masks are installed."""
    if _masks is None:
        return F.dropout(x, p, training)
    if not training or p == 0.0:
        return x
    return _masks.apply(x, p, site)


def split_heads(x, cfg):
    batch, length, _ = x.shape
    return x.view(batch, length, cfg.num_attention_heads, cfg.head_dim).permute(0, 2, 1, 3)


def merge_heads(x):
    batch, heads, length, head_dim = x.shape
    return x.permute(0, 2, 1, 3).contiguous().view(batch, length, heads * head_dim)


def quantize(quant, p, module, quantizer, x, training):
    """Activation-quantizer hook for the quantized model (qann_ref.py).

    `quant` is None for the plain model (identity, the tensor itself is returned); otherwise
    quant(p, module, quantizer, x, training) returns the quantized x, e.g. for module
    "roberta.encoder.layer.0.attention.self" and quantizer "query_quan"."""
    return x if quant is None else quant(p, module, quantizer, x, training)


def self_attention(p, prefix, h, ext_mask, cfg, training, quant=None):
    module = prefix.rstrip(".")
    q = split_heads(quantize(quant, p, module, "query_quan", linear(p, prefix + "query", h), training), cfg)
    k = split_heads(quantize(quant, p, module, "key_quan", linear(p, prefix + "key", h), training), cfg)
    v = split_heads(quantize(quant, p, module, "value_quan", linear(p, prefix + "value", h), training), cfg)
    scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(cfg.head_dim)
    scores = scores + ext_mask
    probs = dropout(F.softmax(scores, dim=-1), cfg.attention_probs_dropout_prob, training, module + ".dropout")
    probs = quantize(quant, p, module, "attn_quan", probs, training)
    context = quantize(quant, p, module, "after_attn_quan", torch.matmul(probs, v), training)
    return merge_heads(context)


def add_and_norm(p, dense_name, ln_name, x, residual, cfg, training, quant=None):
    """HF's SelfOutput / Output: LN(Dropout(dense(x)) + residual)."""
    module = dense_name.rsplit(".", 1)[0]  # "...attention.output" or "...output"
    x = quantize(quant, p, module, "dense_quan", linear(p, dense_name, x), training)
    x = dropout(x, cfg.hidden_dropout_prob, training, module + ".dropout")
    x = layer_norm(p, ln_name, x + residual, cfg.layer_norm_eps)
    return quantize(quant, p, module, "dense_quan_after_ln", x, training)


def encoder_layer(p, i, h, ext_mask, cfg, training, quant=None):
    layer = f"roberta.encoder.layer.{i}."
    context = self_attention(p, layer + "attention.self.", h, ext_mask, cfg, training, quant)
    h1 = add_and_norm(p, layer + "attention.output.dense", layer + "attention.output.LayerNorm",
                      context, h, cfg, training, quant)
    inner = quantize(quant, p, layer + "intermediate", "dense_quan",
                     linear(p, layer + "intermediate.dense", h1), training)
    inner = ACTIVATIONS[cfg.hidden_act](inner)
    return add_and_norm(p, layer + "output.dense", layer + "output.LayerNorm", inner, h1, cfg, training, quant)


def classification_head(p, cfg, hidden, training, quant=None):
    # HF's head applies its one dropout module (classifier_dropout, else hidden_dropout_prob) twice
    x = dropout(hidden[:, 0, :], cfg.classifier_dropout, training, "classifier.dropout.0")
    x = torch.tanh(quantize(quant, p, "classifier", "dense_quan", linear(p, "classifier.dense", x), training))
    x = dropout(x, cfg.classifier_dropout, training, "classifier.dropout.1")
    return linear(p, "classifier.out_proj", x)


def forward_logits(p, cfg, input_ids, attention_mask, training=False, quant=None):
    """Logits [B, num_labels]; `quant` is the optional activation-quantizer hook (see quantize)."""
    dtype = p["roberta.embeddings.LayerNorm.weight"].dtype
    h = embeddings(p, cfg, input_ids, training)
    ext_mask = extended_attention_mask(attention_mask, dtype)
    for i in range(cfg.num_hidden_layers):
        h = encoder_layer(p, i, h, ext_mask, cfg, training, quant)
    return classification_head(p, cfg, h, training, quant)


def sequence_classification_loss(logits, labels, cfg, label_smoothing=0.0):
    """HF RobertaForSequenceClassification's loss, including its problem_type inference.

    label_smoothing: HF Trainer's --label_smoothing_factor. Its LabelSmoother computes
    (1 - eps) * NLL + eps * mean over samples and classes of -log p, which is torch's
    cross_entropy against (1 - eps) one-hot + eps uniform targets (selfcheck.py checks both agree).
    Only single-label classification uses it here (spikeglue refuses it for regression)."""
    problem_type = cfg.problem_type
    if problem_type is None:
        if cfg.num_labels == 1:
            problem_type = "regression"
        elif labels.dtype in (torch.long, torch.int):
            problem_type = "single_label_classification"
        else:
            problem_type = "multi_label_classification"
    if problem_type == "regression":
        labels = labels.to(logits.dtype)
        if cfg.num_labels == 1:
            return F.mse_loss(logits.squeeze(), labels.squeeze())
        return F.mse_loss(logits, labels)
    if problem_type == "single_label_classification":
        return F.cross_entropy(logits.view(-1, cfg.num_labels), labels.long().view(-1),
                               label_smoothing=label_smoothing)
    if problem_type == "multi_label_classification":
        return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
    raise RefError(f"problem_type '{problem_type}' unsupported")


# ----------------------------------------------------------------------- training

def trainer_parameter_groups(params, weight_decay, is_decay=is_decay_parameter):
    """HF Trainer's two AdamW groups; is_decay names the decayed parameters of the model at hand."""
    names = list(params)
    return [
        {"params": [params[n] for n in names if is_decay(n)], "weight_decay": weight_decay},
        {"params": [params[n] for n in names if not is_decay(n)], "weight_decay": 0.0},
    ]


def linear_warmup_lambda(warmup_steps, total_steps):
    """transformers.get_linear_schedule_with_warmup's lr_lambda."""
    def lr_lambda(step):
        if step < warmup_steps:
            return float(step) / float(max(1, warmup_steps))
        return max(0.0, float(total_steps - step) / float(max(1, total_steps - warmup_steps)))
    return lr_lambda


def loss_and_backward(params, cfg, batch, training, quant=None, label_smoothing=0.0):
    for tensor in params.values():
        tensor.grad = None
    logits = forward_logits(params, cfg, batch["input_ids"], batch["attention_mask"], training, quant)
    loss = sequence_classification_loss(logits, batch["labels"], cfg, label_smoothing)
    loss.backward()
    return logits, loss


def train(params, cfg, batch, tc, quant=None):
    """HF Trainer's loop on one batch; updates params in place, returns losses before each step.
    With `quant` (qann_ref.py) the forwards are quantized, in training mode."""
    optimizer = torch.optim.AdamW(trainer_parameter_groups(params, tc["weight_decay"]),
                                  lr=tc["learning_rate"], betas=(tc["adam_beta1"], tc["adam_beta2"]),
                                  eps=tc["adam_epsilon"], foreach=False)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, linear_warmup_lambda(tc["warmup_steps"], tc["total_steps"]))
    losses = []
    for step in range(tc["steps"]):
        if _masks is not None:
            _masks.step = step  # the masks the model under test drew at this step
        _, loss = loss_and_backward(params, cfg, batch, training=True, quant=quant,
                                    label_smoothing=tc.get("label_smoothing", 0.0))
        losses.append(loss.item())
        torch.nn.utils.clip_grad_norm_(list(params.values()), tc["max_grad_norm"])
        optimizer.step()
        scheduler.step()
    for tensor in params.values():
        tensor.grad = None
    return losses


# ---------------------------------------------------------------- loading / saving

def to_numpy(tensor):
    return tensor.detach().cpu().contiguous().numpy()


def read_parameters(path, shapes, is_ignored=is_ignored_checkpoint_tensor):
    """model.safetensors -> (every stored tensor, float32 leaf tensors of `shapes`); each of
    `shapes` must be there with its shape. Other tensors get a warning unless is_ignored."""
    try:
        tensors, _ = read_safetensors(path)
    except (OSError, SafetensorsError) as err:
        raise RefError(str(err)) from None
    params = {}
    for name, shape in shapes.items():
        if name not in tensors:
            raise RefError(f"{path}: missing tensor '{name}'")
        if tuple(tensors[name].shape) != shape:
            raise RefError(f"{path}: tensor '{name}' has shape {list(tensors[name].shape)}, expected {list(shape)}")
        params[name] = torch.from_numpy(tensors[name]).to(torch.float32).requires_grad_(True)
    for name in tensors:
        if name not in params and not is_ignored(name):
            print(f"{path}: warning: ignoring unknown tensor '{name}'", file=sys.stderr)
    return tensors, params


def load_parameters(path, cfg):
    """Read model.safetensors into float32 leaf tensors; every parameter must be there."""
    return read_parameters(path, parameter_shapes(cfg))[1]


def load_model(model_dir):
    cfg = load_config(os.path.join(model_dir, "config.json"))
    return cfg, load_parameters(os.path.join(model_dir, "model.safetensors"), cfg)


def read_batch(path, token_labels=False):
    """batch.json -> int64 input_ids/attention_mask [B, L] and optional labels: one per row [B]
    (float for regression), or with token_labels one per token [B, L] (masked LM, -100 = none)."""
    try:
        with open(path) as f:
            raw = json.load(f)
        batch = {"input_ids": torch.tensor(raw["input_ids"], dtype=torch.long),
                 "attention_mask": torch.tensor(raw["attention_mask"], dtype=torch.long)}
        if "labels" in raw:
            is_float = not token_labels and any(isinstance(label, float) for label in raw["labels"])
            batch["labels"] = torch.tensor(raw["labels"], dtype=torch.float32 if is_float else torch.long)
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
        raise RefError(f"{path}: {type(err).__name__}: {err}") from None
    if batch["input_ids"].dim() != 2 or batch["input_ids"].shape != batch["attention_mask"].shape:
        raise RefError(f"{path}: input_ids and attention_mask must both be [batch, length]")
    if "labels" in batch and token_labels and batch["labels"].shape != batch["input_ids"].shape:
        raise RefError(f"{path}: labels must be [batch, length] like input_ids (-100 = no label)")
    if "labels" in batch and not token_labels and batch["labels"].shape != (batch["input_ids"].shape[0],):
        raise RefError(f"{path}: labels must have one entry per row")
    return batch


def check_batch_fits(batch, cfg, path):
    ids = batch["input_ids"]
    if ids.min() < 0 or ids.max() >= cfg.vocab_size:
        raise RefError(f"{path}: token id outside [0, {cfg.vocab_size})")
    if ids.shape[1] + cfg.pad_token_id >= cfg.max_position_embeddings:
        raise RefError(f"{path}: length {ids.shape[1]} too long for max_position_embeddings "
                       f"{cfg.max_position_embeddings}")


# --------------------------------------------------------------------- make-case

CASES = {
    "cls2": {"num_labels": 2, "hidden_act": "relu"},
    "cls3": {"num_labels": 3, "hidden_act": "relu"},
    "stsb": {"num_labels": 1, "hidden_act": "relu"},
    "gelu": {"num_labels": 2, "hidden_act": "gelu"},
    # dropout on at every site, the head's (classifier_dropout) differing from the encoder's
    "dropout": {"num_labels": 3, "hidden_act": "relu", "hidden_dropout": 0.1, "attention_dropout": 0.2,
                "classifier_dropout": 0.3},
    # classifier_dropout null: the head falls back to hidden_dropout_prob
    "dropout-null": {"num_labels": 2, "hidden_act": "relu", "hidden_dropout": 0.15, "attention_dropout": 0.1},
    # dropout only in the head
    "classifier-dropout": {"num_labels": 2, "hidden_act": "relu", "classifier_dropout": 0.25},
}

# train.json additions per case (HF Trainer arguments beyond TRAIN_CONFIG)
CASE_TRAINING = {"smooth": {"label_smoothing": 0.1}, "smooth-dropout": {"label_smoothing": 0.2}}
CASES["smooth"] = CASES["cls3"]
CASES["smooth-dropout"] = CASES["dropout"]

TRAIN_CONFIG = {"steps": 10, "learning_rate": 1e-3, "weight_decay": 0.01, "warmup_steps": 2,
                "total_steps": 10, "max_grad_norm": 1.0, "adam_beta1": 0.9, "adam_beta2": 0.999,
                "adam_epsilon": 1e-8}

BATCH_SIZE, SEQ_LEN = 4, 24


def tiny_config_json(num_labels, hidden_act, hidden_dropout=0.0, attention_dropout=0.0, classifier_dropout=None):
    """A config.json as HF writes it for a tiny RobertaForSequenceClassification."""
    return {
        "architectures": ["RobertaForSequenceClassification"],
        "model_type": "roberta",
        "vocab_size": 300, "hidden_size": 64, "num_hidden_layers": 2,
        "num_attention_heads": 2, "intermediate_size": 256, "hidden_act": hidden_act,
        "max_position_embeddings": 40, "type_vocab_size": 1, "layer_norm_eps": 1e-05,
        "hidden_dropout_prob": hidden_dropout, "attention_probs_dropout_prob": attention_dropout,
        "classifier_dropout": classifier_dropout, "position_embedding_type": "absolute",
        "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2,
        "num_labels": num_labels,
        "id2label": {str(i): f"LABEL_{i}" for i in range(num_labels)},
        "label2id": {f"LABEL_{i}": i for i in range(num_labels)},
        "problem_type": "regression" if num_labels == 1 else "single_label_classification",
        "initializer_range": 0.02, "torch_dtype": "float32", "use_cache": True,
    }


def init_parameters(cfg, std, generator, shapes=None, is_ln=is_layer_norm):
    """HF _init_weights: N(0, std) weights/embeddings (pad rows zeroed), zero bias, LN 1/0.
    shapes defaults to this model's; is_ln says which are LayerNorm parameters."""
    params = {}
    for name, shape in (parameter_shapes(cfg) if shapes is None else shapes).items():
        if is_ln(name):
            params[name] = torch.ones(shape) if name.endswith(".weight") else torch.zeros(shape)
        elif name.endswith(".bias"):
            params[name] = torch.zeros(shape)
        else:
            params[name] = torch.normal(0.0, std, size=shape, generator=generator)
    params["roberta.embeddings.word_embeddings.weight"][cfg.pad_token_id].zero_()
    params["roberta.embeddings.position_embeddings.weight"][cfg.pad_token_id].zero_()
    return params


def perturb_parameters(params, generator, is_ln=is_layer_norm):
    """Make biases and LN params non-trivial so their role in the forward pass is tested."""
    for name, tensor in params.items():
        if is_ln(name):
            tensor.add_(torch.normal(0.0, 0.05, size=tensor.shape, generator=generator))
        elif name.endswith(".bias"):
            tensor.add_(torch.normal(0.0, 0.02, size=tensor.shape, generator=generator))


def random_row(rng, length, vocab_size, pair):
    """A RoBERTa-shaped row of `length` real tokens: <s> A </s> or <s> A </s></s> B </s>."""
    def words(n):
        return [rng.randrange(3, vocab_size) for _ in range(n)]
    if not pair:
        return [0] + words(length - 2) + [2]
    first = rng.randrange(1, length - 4)
    return [0] + words(first) + [2, 2] + words(length - 4 - first) + [2]


def random_batch(rng, cfg):
    """Batch of 4: a full single, then a pair, a short single and a pair, padded with 1."""
    shapes = [(SEQ_LEN, False), (rng.randrange(10, 21), True),
              (rng.randrange(5, 13), False), (rng.randrange(14, SEQ_LEN), True)]
    input_ids, attention_mask = [], []
    for length, pair in shapes:
        row = random_row(rng, length, cfg.vocab_size, pair)
        input_ids.append(row + [cfg.pad_token_id] * (SEQ_LEN - length))
        attention_mask.append([1] * length + [0] * (SEQ_LEN - length))
    if cfg.num_labels == 1:
        labels = [round(rng.uniform(0.0, 5.0), 3) for _ in shapes]
    else:
        labels = [i % cfg.num_labels for i in range(len(shapes))]
        rng.shuffle(labels)
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


def write_batch_json(path, batch):
    """batch.json with one row per line, for people reading it."""
    def rows(key):
        return ",\n".join("  " + json.dumps(row, separators=(",", ":")) for row in batch[key])
    with open(path, "w") as f:
        f.write('{\n "input_ids": [\n' + rows("input_ids") + "\n ],\n")
        f.write(' "attention_mask": [\n' + rows("attention_mask") + "\n ],\n")
        f.write(' "labels": ' + json.dumps(batch["labels"]) + "\n}\n")


def leaf_copy(params):
    return {n: t.detach().clone().requires_grad_(True) for n, t in params.items()}


def has_dropout(cfg):
    return max(cfg.hidden_dropout_prob, cfg.attention_probs_dropout_prob, cfg.classifier_dropout) > 0.0


def expected_outputs(params, cfg, batch, tc=TRAIN_CONFIG, masks=None):
    """logits, loss and grads at the initial params; then 10 training steps.

    With masks (DropoutMasks), logits / loss / grads are those of the training forward with the
    masks of step 0, `eval_logits` the eval forward's, and training step S uses the masks of step S."""
    global _masks
    _masks = masks
    try:
        work = leaf_copy(params)
        logits, loss = loss_and_backward(work, cfg, batch, training=masks is not None,
                                         label_smoothing=tc.get("label_smoothing", 0.0))
        out = {"logits": to_numpy(logits), "loss": to_numpy(loss.reshape(1))}
        out.update({f"grad.{n}": to_numpy(t.grad) for n, t in work.items()})
        if masks is not None:
            with torch.no_grad():
                out["eval_logits"] = to_numpy(forward_logits(params, cfg, batch["input_ids"], batch["attention_mask"]))
        trained = leaf_copy(params)
        losses = train(trained, cfg, batch, tc)
        if masks is not None:
            masks.check_all_used()
    finally:
        _masks = None
    out["train_losses"] = to_numpy(torch.tensor(losses, dtype=torch.float32))
    with torch.no_grad():
        out["final_logits"] = to_numpy(forward_logits(trained, cfg, batch["input_ids"], batch["attention_mask"]))
    out.update({f"final.{n}": to_numpy(t) for n, t in trained.items()})
    return out


def make_case(out_dir, case, seed, dtype, init_std=None):
    config_json = tiny_config_json(**CASES[case])
    cfg = Config(config_json, f"case {case}")
    generator = torch.Generator().manual_seed(seed)
    # a larger --init-std gives peaked attention, so softmax and the q/k gradients are exercised harder
    params = init_parameters(cfg, init_std or config_json["initializer_range"], generator)
    perturb_parameters(params, generator)
    if dtype == "f16":  # the stored model is f16: compute from exactly those values
        params = {n: t.half().float() for n, t in params.items()}
        config_json["torch_dtype"] = "float16"
    raw_batch = random_batch(random.Random(seed), cfg)

    os.makedirs(os.path.join(out_dir, "model"), exist_ok=True)
    write_json(os.path.join(out_dir, "model", "config.json"), config_json)
    stored_dtype = torch.float16 if dtype == "f16" else torch.float32
    write_safetensors(os.path.join(out_dir, "model", "model.safetensors"),
                      {n: to_numpy(t.to(stored_dtype)) for n, t in params.items()})
    batch_path = os.path.join(out_dir, "batch.json")
    write_batch_json(batch_path, raw_batch)
    tc = dict(TRAIN_CONFIG, **CASE_TRAINING.get(case, {}))
    write_json(os.path.join(out_dir, "train.json"), tc)
    if has_dropout(cfg):  # expected outputs need the masks of the model under test: see `expect`
        return
    # Read the batch back as `forward` (and the C side) will: same label dtype, same rounding.
    write_safetensors(os.path.join(out_dir, "expected.safetensors"),
                      expected_outputs(params, cfg, read_batch(batch_path), tc))


def expect_case(case_dir):
    """expected.safetensors of a case directory; with dropout on, from DIR/masks.safetensors."""
    cfg, params = load_model(os.path.join(case_dir, "model"))
    batch_path = os.path.join(case_dir, "batch.json")
    batch = read_batch(batch_path)
    check_batch_fits(batch, cfg, batch_path)
    train_path = os.path.join(case_dir, "train.json")
    try:
        with open(train_path) as f:
            tc = json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise RefError(f"{train_path}: {err}") from None
    masks = None
    if has_dropout(cfg):
        masks_path = os.path.join(case_dir, "masks.safetensors")
        try:
            tensors, _ = read_safetensors(masks_path)
        except (OSError, SafetensorsError) as err:
            raise RefError(f"{masks_path}: {err}") from None
        masks = DropoutMasks(tensors, masks_path)
    write_safetensors(os.path.join(case_dir, "expected.safetensors"), expected_outputs(params, cfg, batch, tc, masks))


# ------------------------------------------------------------------------ forward

def run_forward(model_dir, batch_path, out_path):
    cfg, params = load_model(model_dir)
    batch = read_batch(batch_path)
    check_batch_fits(batch, cfg, batch_path)
    with torch.no_grad():
        logits = forward_logits(params, cfg, batch["input_ids"], batch["attention_mask"])
        out = {"logits": to_numpy(logits)}
        if "labels" in batch:
            out["loss"] = to_numpy(sequence_classification_loss(logits, batch["labels"], cfg).reshape(1))
    write_safetensors(out_path, out)


# ---------------------------------------------------------------------------- CLI

def parse_args(argv):
    parser = argparse.ArgumentParser(description="PyTorch reference of RobertaForSequenceClassification")
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("make-case", help="write a tiny model, a batch and the expected outputs")
    make.add_argument("--out", required=True, help="case directory to create")
    make.add_argument("--case", required=True, choices=sorted(CASES),
                      help="cases with dropout write no expected.safetensors: run `expect` once masks.safetensors exists")
    make.add_argument("--seed", required=True, type=int)
    make.add_argument("--dtype", default="f32", choices=["f32", "f16"], help="dtype of model.safetensors")
    make.add_argument("--init-std", type=float, default=None, help="std of the random weights (default: initializer_range)")
    exp = sub.add_parser("expect", help="expected.safetensors of a case (with dropout: from its masks.safetensors)")
    exp.add_argument("--case-dir", required=True, help="directory made by make-case")
    fwd = sub.add_parser("forward", help="eval forward of a model directory on a batch.json")
    fwd.add_argument("--model", required=True, help="directory with config.json and model.safetensors")
    fwd.add_argument("--batch", required=True, help="batch.json")
    fwd.add_argument("--out", required=True, help="output .safetensors (logits, loss)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        if args.command == "make-case":
            make_case(args.out, args.case, args.seed, args.dtype, args.init_std)
        elif args.command == "expect":
            expect_case(args.case_dir)
        else:
            run_forward(args.model, args.batch, args.out)
    except (RefError, OSError) as err:
        print(f"roberta_ref.py: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
