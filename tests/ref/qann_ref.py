#!/usr/bin/python3
"""Independent PyTorch reference of the LSQ-quantized RoBERTa ("QANN"), spec §1 and §2.

The model is roberta_ref.py's, with LSQInteger activation quantizers put in through its
`quant` hook, at the places listed in spec §2's table. Written from the spec, not from the C.
make-case keeps only cases whose rounding decisions another float32 implementation will
reproduce (see "robustness" below and README.md).

CLI (see README.md):
  qann_ref.py make-case --out DIR --case {cls2,cls3,stsb} --seed S (--level L | --mixed) [--init-std X]
  qann_ref.py forward --model DIR --quant quant.json --batch batch.json --out OUT.safetensors
"""

import argparse
import json
import math
import os
import random
import sys

import numpy as np
import torch

sys.dont_write_bytecode = True  # keep tests/ref free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import roberta_ref as ref  # noqa: E402
from roberta_ref import RefError  # noqa: E402
from safetensors_io import SafetensorsError, read_safetensors, write_safetensors  # noqa: E402

INIT_CALLS = 20          # training-mode calls during which s follows the statistic
IDENTITY_LEVEL = 256     # level >= this: no quantization


# ------------------------------------------------------------------ the quantizer

def quant_range(level, signed):
    """(Qn, Qp): signed [-L/2, L/2-1], unsigned [0, L-1]."""
    return (-(level // 2), level // 2 - 1) if signed else (0, level - 1)


class LSQFunction(torch.autograd.Function):
    """y = s * clamp(floor(x/s + 0.5), qn, qp), with the straight-through backward of spec §2:
    dx = dy where qn <= floor(x/s + 0.5) <= qp (bounds included), else 0;
    ds = g * sum(dy * (n_c - (x/s) * [in range])), summed in float64 and rounded once."""

    @staticmethod
    def forward(ctx, x, s, qn, qp, g):
        ctx.save_for_backward(x, s)
        ctx.qn, ctx.qp, ctx.g = qn, qp, g
        return torch.clamp(torch.floor(x / s + 0.5), qn, qp) * s

    @staticmethod
    def backward(ctx, dy):
        x, s = ctx.saved_tensors
        v = x / s  # the same quotient the forward rounded
        c = torch.floor(v + 0.5)
        inside = (c >= ctx.qn) & (c <= ctx.qp)
        dx = torch.where(inside, dy, torch.zeros_like(dy))
        term = torch.clamp(c, ctx.qn, ctx.qp).double() - v.double() * inside
        ds = (ctx.g * torch.sum(dy.double() * term)).to(s.dtype).reshape(s.shape)
        return dx, ds, None, None, None


class LSQInteger(torch.nn.Module):
    """LSQInteger quantizer: a learned step `s` (0-dim nn.Parameter, initially 1.0) and the
    training-mode initialisation schedule (call 1: s = stat; calls 2..20: s = 0.9 s + 0.1 stat,
    stat = 2 mean|x| / sqrt(Qp), applied before quantizing; the statistic and the update are
    computed in float64 and rounded once to s's dtype)."""

    def __init__(self, level, signed):
        super().__init__()
        self.level, self.signed = level, signed
        self.identity = level >= IDENTITY_LEVEL
        self.qn, self.qp = quant_range(level, signed)
        self.s = torch.nn.Parameter(torch.tensor(1.0))
        self.init_calls = 0

    def init_statistic(self, x):
        return 2.0 * x.detach().double().abs().mean() / math.sqrt(self.qp)

    def quantize(self, x, s, training):
        """Quantize x with the step tensor `s` (this module's own or a network parameter)."""
        if self.identity:
            return x
        if training and self.init_calls < INIT_CALLS:
            with torch.no_grad():
                stat = self.init_statistic(x)
                s.copy_(stat if self.init_calls == 0 else 0.9 * s.double() + 0.1 * stat)
            self.init_calls += 1
        g = 1.0 / math.sqrt(self.qp * x.numel())
        return LSQFunction.apply(x, s, float(self.qn), float(self.qp), g)

    def forward(self, x):
        return self.quantize(x, self.s, self.training)


# --------------------------------------------------------------- placement (§2)

# module kind -> its quantizers in forward order, with their signedness
MODULE_QUANTIZERS = {
    "attention.self": (("query_quan", True), ("key_quan", True), ("value_quan", True),
                       ("attn_quan", False), ("after_attn_quan", False)),
    "attention.output": (("dense_quan", True), ("dense_quan_after_ln", True)),
    "intermediate": (("dense_quan", False),),
    "output": (("dense_quan", True), ("dense_quan_after_ln", True)),
    "classifier": (("dense_quan", False),),
}

# module kind -> the parameter its steps follow in the state dict
_LAST_PARAMETER = {"attention.self": "value.bias", "attention.output": "LayerNorm.bias",
                   "intermediate": "dense.bias", "output": "LayerNorm.bias", "classifier": "out_proj.bias"}


def quantizable_modules(cfg):
    """module name -> kind, in forward order."""
    modules = {}
    for i in range(cfg.num_hidden_layers):
        for kind in ("attention.self", "attention.output", "intermediate", "output"):
            modules[f"roberta.encoder.layer.{i}.{kind}"] = kind
    modules["classifier"] = "classifier"
    return modules


def step_names(cfg, levels):
    """'<module>.<quantizer>.s' of every quantizer of the listed modules, in forward order."""
    kinds = quantizable_modules(cfg)
    return [f"{m}.{q}.s" for m in kinds if m in levels for q, _ in MODULE_QUANTIZERS[kinds[m]]]


def qann_parameter_names(cfg, levels):
    """The plain parameters in HF order, each module's steps right after its own parameters."""
    kinds = quantizable_modules(cfg)
    after = {f"{m}.{_LAST_PARAMETER[kind]}": m for m, kind in kinds.items() if m in levels}
    names = []
    for name in ref.parameter_shapes(cfg):
        names.append(name)
        if name in after:
            module = after[name]
            names += [f"{module}.{q}.s" for q, _ in MODULE_QUANTIZERS[kinds[module]]]
    return names


class QuantizedActivations:
    """roberta_ref's `quant` hook: one LSQInteger per quantizer of the listed modules. The steps
    are read from the parameter dict (key '<module>.<quantizer>.s') so that they train, clip and
    save with the other parameters; the LSQInteger objects hold level, range and schedule."""

    def __init__(self, cfg, levels):
        kinds = quantizable_modules(cfg)
        self.quantizers = {}
        for module, level in levels.items():
            for name, signed in MODULE_QUANTIZERS[kinds[module]]:
                self.quantizers[f"{module}.{name}"] = LSQInteger(level, signed)
        self.observer = None  # observer(key, lsq, x, s) after every quantizing call

    def active_count(self):
        return sum(not q.identity for q in self.quantizers.values())

    def reset_schedule(self):
        for q in self.quantizers.values():
            q.init_calls = 0

    def __call__(self, p, module, quantizer, x, training):
        key = f"{module}.{quantizer}"
        lsq = self.quantizers.get(key)
        if lsq is None:
            return x
        y = lsq.quantize(x, p[key + ".s"], training)
        if self.observer is not None and not lsq.identity:
            self.observer(key, lsq, x, p[key + ".s"])
        return y


# -------------------------------------------------------------- quant.json, loading

def check_level(level, where):
    if isinstance(level, bool) or not isinstance(level, int):
        raise RefError(f"{where}: level {level!r} is not an integer")
    if level < 4 or level % 2:
        raise RefError(f"{where}: level {level} unsupported (an even integer >= 4; >= {IDENTITY_LEVEL} = no quantization)")
    return level


def load_levels(path, cfg):
    """quant.json {"levels": {module: level}} -> {module: level} in forward order."""
    try:
        with open(path) as f:
            raw = json.load(f)
    except (OSError, json.JSONDecodeError) as err:
        raise RefError(f"{path}: {err}") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("levels"), dict):
        raise RefError(f"{path}: expected a JSON object with a \"levels\" object")
    for key in raw:
        if key != "levels":
            raise RefError(f"{path}: unknown key '{key}' (expected \"levels\")")
    known = quantizable_modules(cfg)
    for module, level in raw["levels"].items():
        if module not in known:
            raise RefError(f"{path}: levels: unknown module '{module}' (expected roberta.encoder.layer.N."
                           f"{{attention.self,attention.output,intermediate,output}} with N < "
                           f"{cfg.num_hidden_layers}, or classifier)")
        check_level(level, f"{path}: levels: '{module}'")
    return {m: raw["levels"][m] for m in known if m in raw["levels"]}


def check_relu(cfg, source):
    if cfg.hidden_act != "relu":
        raise RefError(f"{source}: hidden_act '{cfg.hidden_act}': the quantized model needs relu (spec §1)")


def load_qann_parameters(path, cfg, levels):
    """The plain parameters (roberta_ref's loader) plus the steps: F32/F16/BF16 scalars of shape [];
    a missing step is 1.0, as when the reference loads a plain checkpoint."""
    plain = ref.load_parameters(path, cfg)
    try:
        tensors, _ = read_safetensors(path)
    except (OSError, SafetensorsError) as err:
        raise RefError(str(err)) from None
    wanted = step_names(cfg, levels)
    missing = [n for n in wanted if n not in tensors]
    if missing:
        print(f"{path}: note: {len(missing)} of {len(wanted)} quantizer steps missing, using s = 1.0 "
              f"(first: '{missing[0]}')", file=sys.stderr)
    for name in tensors:
        if name.endswith(".s") and name not in wanted:
            print(f"{path}: warning: ignoring step '{name}' (its module is not in the quant config)", file=sys.stderr)
    params = {}
    for name in qann_parameter_names(cfg, levels):
        if name in plain:
            params[name] = plain[name]
            continue
        value = torch.tensor(1.0)
        if name in tensors:
            array = tensors[name]
            if array.shape != () or array.dtype.kind != "f":
                raise RefError(f"{path}: step '{name}' has shape {list(array.shape)} and dtype {array.dtype}, "
                               "expected a float scalar of shape []")
            value = torch.from_numpy(np.array(array)).to(torch.float32)
            if not (math.isfinite(float(value)) and float(value) > 0.0):
                raise RefError(f"{path}: step '{name}' = {float(value)}, expected a finite value > 0")
        params[name] = value.requires_grad_(True)
    return params


def load_qann(model_dir, quant_path):
    cfg = ref.load_config(os.path.join(model_dir, "config.json"))
    check_relu(cfg, os.path.join(model_dir, "config.json"))
    levels = load_levels(quant_path, cfg)
    return cfg, levels, load_qann_parameters(os.path.join(model_dir, "model.safetensors"), cfg, levels)


# ------------------------------------------------------------------- robustness
#
# Two float32 implementations differ in the last bits, and Adam turns float32 noise in near-zero
# gradients into parameter differences far larger than that. A quantizer input close to a rounding
# boundary can therefore round differently in C. make-case measures, for every element of every
# quantizer input in every forward it stores expectations of, the distance to the nearest boundary
# that matters ("margin", relative to max(1, |x/s|)), and compares with a float64 shadow run of the
# same computation: the element's float32-vs-float64 discrepancy ("deviation", same units) stands in
# for the error of any float32 implementation. A case is robust when every margin is at least
# MARGIN_THRESHOLD and at least SAFETY_FACTOR times the element's deviation, and float64 makes the
# same rounding decisions everywhere.

MARGIN_THRESHOLD = 2e-6
SAFETY_FACTOR = 4.0


class QuotientRecorder:
    """Observer keeping, per quantizing call: key, the quotient x/s the forward rounds (widened to
    float64), Qn, Qp and s."""

    def __init__(self):
        self.calls = []

    def __call__(self, key, lsq, x, s):
        self.calls.append((key, (x.detach() / s.detach()).double(), lsq.qn, lsq.qp, float(s.detach())))

    def take(self):
        calls, self.calls = self.calls, []
        return calls


def compare_calls(calls, shadow):
    """One forward's margins against its float64 shadow: (min margin, where, min safety, where,
    decisions that differ, elements)."""
    best = {"margin": (math.inf, None), "safety": (math.inf, None)}
    flips = numel = 0
    for (key, v, qn, qp, _), (key64, w, _, _, _) in zip(calls, shadow):
        assert key == key64, (key, key64)
        t = v + 0.5
        k = torch.round(t)
        relevant = (k >= qn) & (k <= qp + 1)  # boundaries that change the integer or the in-range mask
        scale = v.abs().clamp(min=1.0)
        margin = ((t - k).abs() / scale)[relevant]
        deviation = ((v - w).abs() / scale)[relevant]
        if margin.numel():
            best["margin"] = min(best["margin"], (float(margin.min()), key))
            safety = margin[deviation > 0] / deviation[deviation > 0]
            if safety.numel():
                best["safety"] = min(best["safety"], (float(safety.min()), key))
        flips += int((torch.floor(t).clamp(qn - 1, qp + 1) != torch.floor(w + 0.5).clamp(qn - 1, qp + 1)).sum())
        numel += v.numel()
    return best["margin"] + best["safety"] + (flips, numel)


def robustness_report(forwards, shadows):
    """Per-forward and overall margins, safety factors and float64 flips; see the comment above."""
    per = {name: compare_calls(forwards[name], shadows[name]) for name in forwards}
    worst_margin = min(per.items(), key=lambda item: item[1][0])
    worst_safety = min(per.items(), key=lambda item: item[1][2])

    def at(item, index):
        return f"{item[0]} forward: {item[1][index]}" if item[1][index] else None

    def by_forward(index):
        trains = sorted((n for n in per if n.startswith("train")), key=lambda n: int(n.split()[1]))
        return {"init": per["init"][index], "gradient": per["gradient"][index],
                "train": [per[n][index] for n in trains], "final": per["final"][index]}

    report = {
        "min_margin": worst_margin[1][0], "min_margin_at": at(worst_margin, 1),
        "min_safety": worst_safety[1][2], "min_safety_at": at(worst_safety, 3),
        "float64_flips": sum(v[4] for v in per.values()),
        "margins": by_forward(0), "safety": by_forward(2),
        "quantized_elements_per_forward": per["gradient"][5],
        "scanned_forwards": len(per), "scanned_elements": sum(v[5] for v in per.values()),
    }
    report["robust"] = (report["min_margin"] >= MARGIN_THRESHOLD and report["min_safety"] >= SAFETY_FACTOR
                        and report["float64_flips"] == 0)
    return report


# --------------------------------------------------------------------- make-case

QANN_BATCH_SIZE, QANN_SEQ_LEN = 2, 16
MIXED_LAYER_LEVELS, MIXED_CLASSIFIER_LEVEL = (8, 32), 16  # layer i gets MIXED_LAYER_LEVELS[i % 2]
SEED_STRIDE, MAX_TRIES = 1000, 50
QANN_CASES = ("cls2", "cls3", "stsb")
# roberta_ref's training, at a learning rate of 1e-5 instead of 1e-3: Adam normalises every
# gradient component, so float32 noise in near-zero gradients becomes parameter differences of
# about lr * (relative noise); at 1e-3 those move quantizer inputs by ~1e-4 of a step after one
# update, and no seed keeps two float32 implementations on the same rounding decisions.
QANN_TRAIN_CONFIG = dict(ref.TRAIN_CONFIG, learning_rate=1e-5)


def case_levels(cfg, level, mixed):
    levels = {}
    for module, kind in quantizable_modules(cfg).items():
        if not mixed:
            levels[module] = level
        elif kind == "classifier":
            levels[module] = MIXED_CLASSIFIER_LEVEL
        else:
            levels[module] = MIXED_LAYER_LEVELS[int(module.split(".")[3]) % 2]
    return levels


def qann_random_batch(rng, cfg):
    """Batch of 2 x 16: a full-length single and a padded pair."""
    shapes = [(QANN_SEQ_LEN, False), (rng.randrange(10, QANN_SEQ_LEN), True)]
    input_ids, attention_mask = [], []
    for length, pair in shapes:
        row = ref.random_row(rng, length, cfg.vocab_size, pair)
        input_ids.append(row + [cfg.pad_token_id] * (QANN_SEQ_LEN - length))
        attention_mask.append([1] * length + [0] * (QANN_SEQ_LEN - length))
    if cfg.num_labels == 1:
        labels = [round(rng.uniform(0.0, 5.0), 3) for _ in shapes]
    else:
        labels = [i % cfg.num_labels for i in range(len(shapes))]
        rng.shuffle(labels)
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


def initial_qann_parameters(cfg, levels, std, seed):
    """roberta_ref's tiny random weights, plus every step at 1.0, in qann_parameter_names order."""
    generator = torch.Generator().manual_seed(seed)
    plain = ref.init_parameters(cfg, std, generator)
    ref.perturb_parameters(plain, generator)
    return {n: plain[n] if n in plain else torch.tensor(1.0) for n in qann_parameter_names(cfg, levels)}


def set_steps_by_one_training_forward(params, cfg, batch, quant):
    """Call 1 of every quantizer's schedule sets its step (in params), in forward order; the
    schedule is reset afterwards so that later training starts fresh."""
    quant.reset_schedule()
    with torch.no_grad():
        ref.forward_logits(params, cfg, batch["input_ids"], batch["attention_mask"], training=True, quant=quant)
    quant.reset_schedule()


def grads_of(work):
    return {n: torch.zeros_like(t) if t.grad is None else t.grad for n, t in work.items()}


def run_case(params, cfg, batch, levels, train_config):
    """From params with their steps set: logits, loss and grads at those steps (schedule off),
    the training steps with a fresh schedule, the final eval forward; in params' dtype.
    Returns (outputs, {"gradient", "train 1".."train N", "final"} -> QuotientRecorder calls)."""
    quant = QuantizedActivations(cfg, levels)
    recorder = quant.observer = QuotientRecorder()
    forwards = {}
    work = ref.leaf_copy(params)
    logits, loss = ref.loss_and_backward(work, cfg, batch, training=False, quant=quant)
    out = {"logits": ref.to_numpy(logits), "loss": ref.to_numpy(loss.reshape(1))}
    out.update({f"grad.{n}": ref.to_numpy(g) for n, g in grads_of(work).items()})
    forwards["gradient"] = recorder.take()

    trained = ref.leaf_copy(params)
    quant.reset_schedule()
    losses = ref.train(trained, cfg, batch, train_config, quant)
    out["train_losses"] = ref.to_numpy(torch.tensor(losses, dtype=torch.float32))
    calls, per = recorder.take(), quant.active_count()
    for i in range(train_config["steps"]):
        forwards[f"train {i + 1}"] = calls[i * per:(i + 1) * per]
    for name in step_names(cfg, levels):  # the step each training forward used (after the schedule)
        used = [c[4] for i in range(train_config["steps"]) for c in forwards[f"train {i + 1}"]
                if c[0] == name[:-len(".s")]]
        out[f"train_s.{name}"] = np.array(used or [1.0] * train_config["steps"], dtype=np.float32)

    with torch.no_grad():
        final = ref.forward_logits(trained, cfg, batch["input_ids"], batch["attention_mask"], quant=quant)
    out["final_logits"] = ref.to_numpy(final)
    out.update({f"final.{n}": ref.to_numpy(t) for n, t in trained.items()})
    forwards["final"] = recorder.take()
    return out, forwards


def build_case(cfg, levels, std, seed, batch, train_config):
    """Initial parameters with their steps set, the expected outputs, and the robustness report."""
    initial = initial_qann_parameters(cfg, levels, std, seed)
    params = {n: t.clone() for n, t in initial.items()}
    quant = QuantizedActivations(cfg, levels)
    recorder = quant.observer = QuotientRecorder()
    set_steps_by_one_training_forward(params, cfg, batch, quant)
    init_calls = recorder.take()
    outputs, forwards = run_case(params, cfg, batch, levels, train_config)
    forwards["init"] = init_calls
    # the float64 shadow: the same init forward, and the rest from the stored float32 steps
    shadow_init = {n: t.double() for n, t in initial.items()}
    set_steps_by_one_training_forward(shadow_init, cfg, batch, quant)
    shadow_init_calls = recorder.take()
    _, shadows = run_case({n: t.double() for n, t in params.items()}, cfg, batch, levels, train_config)
    shadows["init"] = shadow_init_calls
    return params, outputs, robustness_report(forwards, shadows)


def json_number(x):
    return None if x is None or math.isinf(x) else x


def make_case(out_dir, case, seed, level=None, mixed=False, init_std=None, log=print):
    """Write a QANN case; tries seed, seed+1000, ... until the case is robust (see above).
    Returns the case.json dict."""
    if case not in QANN_CASES:
        raise RefError(f"case '{case}': the quantized model needs relu; use one of {', '.join(QANN_CASES)}")
    config_json = ref.tiny_config_json(**ref.CASES[case])
    cfg = ref.Config(config_json, f"case {case}")
    levels = case_levels(cfg, None if mixed else check_level(level, "--level"), mixed)
    std = init_std or config_json["initializer_range"]
    os.makedirs(os.path.join(out_dir, "model"), exist_ok=True)
    batch_path = os.path.join(out_dir, "batch.json")
    best = None
    for attempt in range(MAX_TRIES):
        used_seed = seed + attempt * SEED_STRIDE
        ref.write_batch_json(batch_path, qann_random_batch(random.Random(used_seed), cfg))
        batch = ref.read_batch(batch_path)  # as `forward` and the C will read it
        params, outputs, report = build_case(cfg, levels, std, used_seed, batch, QANN_TRAIN_CONFIG)
        log(f"qann case {case} seed {used_seed}: {'robust' if report['robust'] else 'rejected'}: "
            f"min margin {report['min_margin']:.3g} ({report['min_margin_at']}), "
            f"min safety {report['min_safety']:.3g} ({report['min_safety_at']}), "
            f"float64 flips {report['float64_flips']}")
        if report["robust"]:
            break
        if best is None or report["min_safety"] > best[1]:
            best = (used_seed, report["min_safety"], report["min_margin"])
    else:
        raise RefError(f"case {case}: no seed in {seed}, {seed + SEED_STRIDE}, ..., "
                       f"{seed + (MAX_TRIES - 1) * SEED_STRIDE} gives a robust case (best: seed {best[0]}, "
                       f"min safety {best[1]:.3g}, min margin {best[2]:.3g}); a smaller --init-std helps")

    ref.write_json(os.path.join(out_dir, "model", "config.json"), config_json)
    write_safetensors(os.path.join(out_dir, "model", "model.safetensors"),
                      {n: ref.to_numpy(t) for n, t in params.items()})
    ref.write_json(os.path.join(out_dir, "quant.json"), {"levels": levels})
    ref.write_json(os.path.join(out_dir, "train.json"), QANN_TRAIN_CONFIG)
    write_safetensors(os.path.join(out_dir, "expected.safetensors"), outputs)
    info = {"case": case, "levels": "mixed" if mixed else level, "init_std": std,
            "requested_seed": seed, "seed": used_seed, "tries": attempt + 1,
            "batch": [QANN_BATCH_SIZE, QANN_SEQ_LEN], "quantizers": len(step_names(cfg, levels)),
            "margin_threshold": MARGIN_THRESHOLD, "safety_factor": SAFETY_FACTOR}
    info.update(report)
    for key in ("min_margin", "min_safety"):
        info[key] = json_number(info[key])
    for key in ("margins", "safety"):
        info[key] = {k: ([json_number(x) for x in v] if isinstance(v, list) else json_number(v))
                     for k, v in info[key].items()}
    ref.write_json(os.path.join(out_dir, "case.json"), info)
    log(f"qann case {case}: seed {used_seed} (try {attempt + 1}), min margin {report['min_margin']:.3g}, "
        f"min safety {report['min_safety']:.3g}, {report['quantized_elements_per_forward']} quantized "
        f"elements per forward, {report['scanned_elements']} scanned over {report['scanned_forwards']} forwards")
    return info


# ------------------------------------------------------------------------ forward

def run_forward(model_dir, quant_path, batch_path, out_path):
    cfg, levels, params = load_qann(model_dir, quant_path)
    batch = ref.read_batch(batch_path)
    ref.check_batch_fits(batch, cfg, batch_path)
    quant = QuantizedActivations(cfg, levels)
    with torch.no_grad():
        logits = ref.forward_logits(params, cfg, batch["input_ids"], batch["attention_mask"], quant=quant)
        out = {"logits": ref.to_numpy(logits)}
        if "labels" in batch:
            out["loss"] = ref.to_numpy(ref.sequence_classification_loss(logits, batch["labels"], cfg).reshape(1))
    write_safetensors(out_path, out)


# ---------------------------------------------------------------------------- CLI

def parse_args(argv):
    parser = argparse.ArgumentParser(description="PyTorch reference of the LSQ-quantized RoBERTa (QANN)")
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("make-case", help="write a tiny QANN, a batch and the expected outputs")
    make.add_argument("--out", required=True, help="case directory to create")
    make.add_argument("--case", required=True, help="cls2 | cls3 | stsb")
    make.add_argument("--seed", required=True, type=int)
    which = make.add_mutually_exclusive_group(required=True)
    which.add_argument("--level", type=int, help="level of every quantized module")
    which.add_argument("--mixed", action="store_true",
                       help="layer 0 at level 8, layer 1 at 32, classifier at 16")
    make.add_argument("--init-std", type=float, default=None, help="std of the random weights (default 0.02)")
    fwd = sub.add_parser("forward", help="eval forward of a QANN checkpoint on a batch.json")
    fwd.add_argument("--model", required=True, help="directory with config.json and model.safetensors")
    fwd.add_argument("--quant", required=True, help="quant.json: {\"levels\": {module: level}}")
    fwd.add_argument("--batch", required=True, help="batch.json")
    fwd.add_argument("--out", required=True, help="output .safetensors (logits, loss)")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        if args.command == "make-case":
            make_case(args.out, args.case, args.seed, args.level, args.mixed, args.init_std)
        else:
            run_forward(args.model, args.quant, args.batch, args.out)
    except (RefError, OSError, SafetensorsError) as err:
        print(f"qann_ref.py: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
