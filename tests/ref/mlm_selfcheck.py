#!/usr/bin/python3
"""Self-check of the masked-LM reference (mlm_ref.py): finite differences, the tied decoder's two
gradient paths, HF's module structure (names, decay groups) rebuilt from torch.nn modules, a
hand-written AdamW loop, the masking collator's statistics, and the CLI.

Run: /usr/bin/python3 tests/ref/mlm_selfcheck.py     (one line per check; exit 0 = all good)
"""

import filecmp
import json
import math
import os
import random
import re
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep tests/ref free of __pycache__
sys.path.insert(0, HERE)
import mlm_ref as ref  # noqa: E402
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402
from selfcheck_common import check, load_case, summary, to_double  # noqa: E402

REF_SCRIPT = os.path.join(HERE, "mlm_ref.py")
SEED = 7


def batch_loss(params, cfg, batch, decoder_weight=None):
    hidden = ref.encoder_output(params, cfg, batch["input_ids"], batch["attention_mask"])
    return ref.masked_lm_loss(ref.lm_head(params, cfg, hidden, decoder_weight), batch["labels"], cfg)


def relative_error(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))


# ------------------------------------------------------------- HF's module structure

class HFLMHead(nn.Module):
    """RobertaLMHead's attributes in HF's registration order: dense, layer_norm, decoder, then the
    head's own bias, which the decoder's bias is made to be."""

    def __init__(self, hidden, vocab, eps):
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)
        self.layer_norm = nn.LayerNorm(hidden, eps=eps)
        self.decoder = nn.Linear(hidden, vocab)
        self.bias = nn.Parameter(torch.zeros(vocab))
        self.decoder.bias = self.bias

    def forward(self, features):
        return self.decoder(self.layer_norm(nn.GELU()(self.dense(features))))


def hf_module_tree(cfg):
    """RobertaForMaskedLM's module tree (no pooler) from torch.nn modules, decoder tied as
    PreTrainedModel._tie_or_clone_weights does (output_embeddings.weight = input_embeddings.weight)."""
    h, ffn = cfg.hidden_size, cfg.intermediate_size

    def linear_ln(in_dim):
        return nn.ModuleDict({"dense": nn.Linear(in_dim, h), "LayerNorm": nn.LayerNorm(h)})

    embeddings = nn.ModuleDict({
        "word_embeddings": nn.Embedding(cfg.vocab_size, h, padding_idx=cfg.pad_token_id),
        "position_embeddings": nn.Embedding(cfg.max_position_embeddings, h, padding_idx=cfg.pad_token_id),
        "token_type_embeddings": nn.Embedding(cfg.type_vocab_size, h),
        "LayerNorm": nn.LayerNorm(h)})
    layers = nn.ModuleList()
    for _ in range(cfg.num_hidden_layers):
        attention = nn.ModuleDict({
            "self": nn.ModuleDict({"query": nn.Linear(h, h), "key": nn.Linear(h, h), "value": nn.Linear(h, h)}),
            "output": linear_ln(h)})
        layers.append(nn.ModuleDict({"attention": attention, "intermediate": nn.ModuleDict({"dense": nn.Linear(h, ffn)}),
                                     "output": linear_ln(ffn)}))
    model = nn.ModuleDict({
        "roberta": nn.ModuleDict({"embeddings": embeddings, "encoder": nn.ModuleDict({"layer": layers})}),
        "lm_head": HFLMHead(h, cfg.vocab_size, cfg.layer_norm_eps)})
    model["lm_head"].decoder.weight = embeddings["word_embeddings"].weight
    return model


def get_parameter_names(model, forbidden_layer_types, forbidden_name_patterns=()):
    """trainer_pt_utils.get_parameter_names: parameter names not inside a forbidden layer type
    (newer HF versions also drop names matching lower-case patterns)."""
    result = []
    for name, child in model.named_children():
        result += [f"{name}.{n}" for n in get_parameter_names(child, forbidden_layer_types, forbidden_name_patterns)
                   if not isinstance(child, tuple(forbidden_layer_types))
                   and not any(re.search(p, f"{name}.{n}".lower()) for p in forbidden_name_patterns)]
    result += list(model._parameters.keys())
    return result


def check_hf_structure(cfg, params):
    model = hf_module_tree(cfg)
    names = [n for n, _ in model.named_parameters()]
    check(names == list(ref.parameter_shapes(cfg)),
          f"named_parameters() of HF's tied module tree = the reference's {len(names)} names, in order")
    check(all(tuple(p.shape) == ref.parameter_shapes(cfg)[n] for n, p in model.named_parameters()),
          "the module tree's shapes = the reference's shapes")
    check({"lm_head.decoder.weight", "lm_head.decoder.bias"} <= set(model.state_dict()),
          "state_dict() still has lm_head.decoder.* (why save_pretrained must drop them and old files have them)")
    # Trainer.get_decay_parameter_names, older form (nn.LayerNorm + "bias" substring) and newer form
    old = {n for n in get_parameter_names(model, [nn.LayerNorm]) if "bias" not in n}
    new = set(get_parameter_names(model, [nn.LayerNorm], [r"bias", r"layernorm", r"rmsnorm"]))
    ours = {n for n in names if ref.is_decay_parameter(n)}
    check(old & set(names) == ours and new & set(names) == ours,
          f"decay group = HF's get_decay_parameter_names (both forms): {len(ours)} of {len(names)} tensors")
    check("lm_head.layer_norm.weight" not in ours and "lm_head.bias" not in ours and ref.WORD_EMBEDDINGS in ours
          and "lm_head.dense.weight" in ours, "no decay on lm_head.layer_norm.weight / lm_head.bias; tied embeddings decayed")
    # the module head (nn.GELU() is the exact erf form) on the reference's encoder output
    with torch.no_grad():
        for n, p in model.named_parameters():
            p.copy_(params[n])
    batch = make_probe_batch()
    with torch.no_grad():
        hidden = ref.encoder_output(params, cfg, batch["input_ids"], batch["attention_mask"])
        ours_logits = ref.lm_head(params, cfg, hidden)
        module_logits = model["lm_head"](hidden)
        tanh_gelu = F.linear(F.layer_norm(F.gelu(F.linear(hidden, params["lm_head.dense.weight"],
                                                          params["lm_head.dense.bias"]), approximate="tanh"),
                                          (cfg.hidden_size,), params["lm_head.layer_norm.weight"],
                                          params["lm_head.layer_norm.bias"], cfg.layer_norm_eps),
                             params[ref.WORD_EMBEDDINGS], params["lm_head.bias"])
    diff = (ours_logits - module_logits).abs().max().item()
    check(diff <= 1e-6, "lm_head = nn.Linear -> nn.GELU() -> nn.LayerNorm -> tied nn.Linear", f"max diff {diff:.1e}")
    check((ours_logits - tanh_gelu).abs().max().item() > 1e-6,
          "the head's GELU is the erf form, not the tanh approximation (they differ measurably)")


def make_probe_batch():
    input_ids, attention_mask = ref.random_unmasked_batch(random.Random(3))
    masked, labels = ref.collate_case_batch(input_ids, 3)
    return {"input_ids": masked, "attention_mask": attention_mask, "labels": labels}


# ------------------------------------------------------------------- case checks

def check_case_files(case_dir, label, cfg, params, batch, expected):
    names = {"logits", "loss", "train_losses", "final_logits"}
    names |= {f"grad.{n}" for n in params} | {f"final.{n}" for n in params}
    shapes_ok = all(expected[f"grad.{n}"].shape == expected[f"final.{n}"].shape == tuple(t.shape)
                    for n, t in params.items())
    check(set(expected) == names and shapes_ok and all(v.dtype == np.float32 for v in expected.values())
          and expected["logits"].shape == expected["final_logits"].shape == (4, 24, 300)
          and expected["train_losses"].shape == (10,) and len(params) == 42,
          f"{label}: expected.safetensors holds exactly the documented f32 tensors ({len(names)})")
    with open(os.path.join(case_dir, "model", "config.json")) as f:
        config = json.load(f)
    with open(os.path.join(case_dir, "train.json")) as f:
        train = json.load(f)
    check(config["architectures"] == ["RobertaForMaskedLM"] and config["tie_word_embeddings"] is True
          and config["max_position_embeddings"] == 42 and config["hidden_act"] in ("relu", "gelu")
          and train == ref.TRAIN_CONFIG, f"{label}: config.json and train.json as documented")
    ids, mask, labels = batch["input_ids"], batch["attention_mask"], batch["labels"]
    selected = labels != ref.IGNORE_INDEX
    specials = ref.special_tokens_mask(ids, ref.SPECIAL_IDS) & ~ids.eq(ref.MASK_ID)
    check(tuple(ids.shape) == (4, 24) and bool((mask.eq(0) == ids.eq(1)).all()),
          f"{label}: batch is 4 x 24, pad id 1 exactly where attention_mask is 0")
    check(bool(selected.any(dim=1).all()) and not bool((selected & (specials | mask.eq(0))).any())
          and not bool((~selected & ids.eq(ref.MASK_ID)).any()),
          f"{label}: every row labelled; no label on special or pad positions; <mask> only at labels",
          f"{int(selected.sum())} labels of {int((mask.eq(1) & ~specials).sum())} candidates")
    kinds = (int((selected & ids.eq(ref.MASK_ID)).sum()), int((selected & ids.ne(ref.MASK_ID) & ids.ne(labels)).sum()),
             int((selected & ids.eq(labels)).sum()))
    check(all(k > 0 for k in kinds), f"{label}: labelled positions are <mask>, random and kept", f"{kinds}")
    files = sorted(read_safetensors(os.path.join(case_dir, "model", "model.safetensors"))[0])
    decoder = {"lm_head.decoder.weight", "lm_head.decoder.bias"}
    want_decoder = label.endswith("decoder")
    check(set(files) == set(params) | (decoder if want_decoder else set()),
          f"{label}: model.safetensors {'also stores' if want_decoder else 'omits'} the tied lm_head.decoder.*")
    with torch.no_grad():
        logits = ref.forward_logits(params, cfg, ids, mask)
        loss = ref.masked_lm_loss(logits, labels, cfg)
    check(np.array_equal(logits.numpy(), expected["logits"]) and np.array_equal(loss.reshape(1).numpy(), expected["loss"]),
          f"{label}: reloaded model reproduces logits and loss bit for bit")
    manual = -torch.log_softmax(logits.double(), -1).gather(-1, labels.clamp(min=0)[..., None])[..., 0][selected].mean()
    check(abs(manual.item() - loss.item()) < 1e-6, f"{label}: loss = mean of -log p(label) over labelled positions only")


def check_finite_differences(label, cfg, params, batch):
    """float64: autograd against central differences, on whole-tensor directions (all 42 tensors)
    and on single elements of the tied embedding (a token of the input; the pad row, reached only
    through the decoder; <mask>'s row), lm_head.bias (a label's and another id's) and the head."""
    p64 = to_double(params)
    loss = batch_loss(p64, cfg, batch)
    grads = dict(zip(p64, torch.autograd.grad(loss, list(p64.values()))))
    gen = torch.Generator().manual_seed(5)
    # The float64 loss (~6) is exact to ~1e-15, so at eps 1e-6 the quotient's roundoff is ~1e-9
    # absolute: hence the 2e-9 absolute allowance next to the 1e-6 relative one.
    eps, worst = 1e-6, 0.0

    def badness(got, want):  # <= 1 passes
        return abs(got - want) / (1e-6 * abs(want) + 2e-9)

    # ReLU: FFN inputs lie as close as ~5e-6 to the kink, which a whole-tensor step of 1e-6 crosses.
    # The differences are therefore taken on the branch of the base point: each ReLU is x * (x0 > 0)
    # with x0's pattern frozen, a smooth function whose derivative at the base point is ReLU's
    # (torch's ReLU has derivative 0 at exactly 0, as does the frozen mask).
    activation = ref.enc.ACTIVATIONS[cfg.hidden_act]
    frozen = []

    seen_calls = []

    def patched(x):  # records the base point's patterns, then applies them
        if recording:
            frozen.append(x.detach() > 0)
            return activation(x)
        seen_calls.append(None)
        return x * frozen[len(seen_calls) - 1]

    recording = True
    if cfg.hidden_act == "relu":
        ref.enc.ACTIVATIONS["relu"] = patched
        with torch.no_grad():
            batch_loss(p64, cfg, batch)  # records each FFN's pattern at the base point
        recording = False

    def numeric(name, direction):
        with torch.no_grad():
            p64[name].add_(eps * direction)
            seen_calls.clear()
            up = batch_loss(p64, cfg, batch).item()
            p64[name].sub_(2 * eps * direction)
            seen_calls.clear()
            down = batch_loss(p64, cfg, batch).item()
            p64[name].add_(eps * direction)
        return (up - down) / (2 * eps)

    try:
        for name, tensor in p64.items():
            direction = torch.randn(tensor.shape, generator=gen, dtype=torch.float64)
            analytic = (grads[name] * direction).sum().item()
            worst = max(worst, badness(analytic, numeric(name, direction)))
        check(worst <= 1.0, f"{label}: float64 gradients = central differences on all {len(p64)} tensors "
              "(random direction per tensor; |error| <= 1e-6 |d| + 2e-9)", f"worst {worst:.2f} of the allowance")

        ids, labels = batch["input_ids"], batch["labels"]
        token = int(ids[0, 1])
        first_label = int(labels[labels != ref.IGNORE_INDEX][0])
        elements = [(ref.WORD_EMBEDDINGS, (token, 3)), (ref.WORD_EMBEDDINGS, (cfg.pad_token_id, 5)),
                    (ref.WORD_EMBEDDINGS, (ref.MASK_ID, 7)), (ref.WORD_EMBEDDINGS, (first_label, 0)),
                    ("lm_head.bias", (first_label,)), ("lm_head.bias", (17,)), ("lm_head.dense.weight", (4, 9)),
                    ("lm_head.layer_norm.weight", (11,)), ("lm_head.layer_norm.bias", (2,)),
                    ("roberta.encoder.layer.1.intermediate.dense.weight", (30, 6))]
        worst = 0.0
        for name, index in elements:
            direction = torch.zeros_like(p64[name])
            direction[index] = 1.0
            worst = max(worst, badness(grads[name][index].item(), numeric(name, direction)))
        check(worst <= 1.0, f"{label}: {len(elements)} single elements (tied embedding rows: an input token, pad, "
              "<mask>, a label; lm_head.bias; the head; an FFN weight) match differences",
              f"worst {worst:.2f} of the allowance")
    finally:
        ref.enc.ACTIVATIONS[cfg.hidden_act] = activation


def check_tied_gradient(label, cfg, params, batch):
    """The tied word-embedding gradient is the sum of the embedding-lookup path and the decoder path."""
    p64 = to_double(params)
    decoder = p64[ref.WORD_EMBEDDINGS].detach().clone().requires_grad_(True)
    untied = batch_loss(p64, cfg, batch, decoder_weight=decoder)
    lookup_grad, decoder_grad = torch.autograd.grad(untied, [p64[ref.WORD_EMBEDDINGS], decoder])
    tied_grad = torch.autograd.grad(batch_loss(p64, cfg, batch), [p64[ref.WORD_EMBEDDINGS]])[0]
    err = (tied_grad - lookup_grad - decoder_grad).abs().max().item()
    pad = cfg.pad_token_id
    check(err <= 1e-12 * max(1.0, tied_grad.abs().max().item()),
          f"{label}: tied gradient = embedding path + decoder path", f"max diff {err:.1e}")
    unused = torch.ones(cfg.vocab_size, dtype=torch.bool)
    unused[batch["input_ids"].unique()] = False
    check(bool(lookup_grad[pad].eq(0).all()) and decoder_grad[pad].abs().sum() > 0
          and bool(lookup_grad[unused].eq(0).all()) and bool((decoder_grad[unused].abs().sum(1) > 0).all()),
          f"{label}: pad row and unused ids get only the decoder path; every vocab row gets a decoder gradient")


def check_float32_vs_float64(label, cfg, params, batch, expected):
    """How far the stored f32 values are from float64 (suggests tolerances for the C)."""
    p64 = to_double(params)
    grads = dict(zip(p64, torch.autograd.grad(batch_loss(p64, cfg, batch), list(p64.values()))))
    worst_grad = max(relative_error(expected[f"grad.{n}"], g.numpy()) for n, g in grads.items()
                     if not n.endswith("attention.self.key.bias"))
    with torch.no_grad():
        logits64 = ref.forward_logits(p64, cfg, batch["input_ids"], batch["attention_mask"]).numpy()
    logit_err = float(np.abs(expected["logits"] - logits64).max())
    trained = ref.leaf_copy(to_double(params))
    losses = ref.train(trained, cfg, batch, ref.TRAIN_CONFIG)
    loss_err = float(np.max(np.abs(expected["train_losses"] - np.array(losses)) / np.array(losses)))
    final_err = max(float(np.abs(expected[f"final.{n}"] - t.detach().numpy()).max()) for n, t in trained.items()
                    if not n.endswith("attention.self.key.bias"))
    check(worst_grad < 1e-4 and logit_err < 1e-5 and loss_err < 1e-5 and final_err < 1e-4,
          f"{label}: stored f32 values agree with float64",
          f"logits {logit_err:.1e} abs, grads {worst_grad:.1e} rel, train losses {loss_err:.1e} rel, "
          f"final params {final_err:.1e} abs (key.bias excluded)")


def check_padding_invariance(label, cfg, params, batch, expected):
    """Row 2 alone without its padding columns gives the same logits at its real positions."""
    length = int(batch["attention_mask"][2].sum())
    with torch.no_grad():
        alone = ref.forward_logits(params, cfg, batch["input_ids"][2:3, :length], batch["attention_mask"][2:3, :length])
    diff = float(np.abs(alone[0].numpy() - expected["logits"][2, :length]).max())
    check(diff < 1e-5, f"{label}: logits of real positions do not depend on padding", f"max diff {diff:.1e}")


def manual_train(params, cfg, batch, tc, decay_names):
    """HF Trainer by hand: clip by the global norm, AdamW with decoupled decay on decay_names,
    bias-corrected moments, lr = base * linear warmup/decay (lambda(0) = 0)."""
    state = {n: (torch.zeros_like(t), torch.zeros_like(t)) for n, t in params.items()}
    b1, b2, eps, losses = tc["adam_beta1"], tc["adam_beta2"], tc["adam_epsilon"], []
    for step in range(tc["steps"]):
        _, loss = ref.loss_and_backward(params, cfg, batch, training=True)
        losses.append(loss.item())
        norm = torch.sqrt(sum((t.grad ** 2).sum() for t in params.values()))
        scale = min(1.0, tc["max_grad_norm"] / (norm.item() + 1e-6))
        if step < tc["warmup_steps"]:
            lr = tc["lr"] * step / max(1, tc["warmup_steps"])
        else:
            lr = tc["lr"] * max(0.0, (tc["total_steps"] - step) / max(1, tc["total_steps"] - tc["warmup_steps"]))
        with torch.no_grad():
            for n, t in params.items():
                g = t.grad * scale
                m, v = state[n]
                m.mul_(b1).add_((1 - b1) * g)
                v.mul_(b2).add_((1 - b2) * g * g)
                if n in decay_names:
                    t.mul_(1 - lr * tc["weight_decay"])
                m_hat, v_hat = m / (1 - b1 ** (step + 1)), v / (1 - b2 ** (step + 1))
                t.sub_(lr * m_hat / (v_hat.sqrt() + eps))
    return losses


def check_training(label, cfg, params, batch):
    decay_names = {n for n in get_parameter_names(hf_module_tree(cfg), [nn.LayerNorm]) if "bias" not in n}
    ours = ref.leaf_copy(to_double(params))
    hand = ref.leaf_copy(to_double(params))
    losses = ref.train(ours, cfg, batch, ref.TRAIN_CONFIG)
    hand_losses = manual_train(hand, cfg, batch, ref.TRAIN_CONFIG, decay_names)
    param_err = max((ours[n] - hand[n]).abs().max().item() for n in ours)
    loss_err = max(abs(a - b) for a, b in zip(losses, hand_losses))
    check(param_err < 1e-12 and loss_err < 1e-12 and losses[0] == losses[1] and losses[-1] < losses[0],
          f"{label}: torch AdamW + HF groups + LambdaLR = hand-written clip/AdamW/schedule over 10 steps (float64)",
          f"params {param_err:.1e}, losses {loss_err:.1e}; loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    # the groups matter: decaying lm_head.layer_norm.weight too moves it differently
    wrong = ref.leaf_copy(to_double(params))
    manual_train(wrong, cfg, batch, ref.TRAIN_CONFIG, decay_names | {"lm_head.layer_norm.weight"})
    moved = (wrong["lm_head.layer_norm.weight"] - ours["lm_head.layer_norm.weight"]).abs().max().item()
    check(moved > 1e-7, f"{label}: decaying lm_head.layer_norm.weight would be detected", f"moves it by {moved:.1e}")


# --------------------------------------------------------------------- collator

def check_collator(tmp):
    """HF's 15% / 80-10-10 on a large batch; never special or pad; RNG order reproducible."""
    rows, length, vocab, mask_id = 4000, 64, 300, 299
    gen = torch.Generator().manual_seed(11)
    ids = torch.randint(4, mask_id, (rows, length), generator=gen)
    lengths = torch.randint(8, length + 1, (rows,), generator=gen)
    ids[:, 0] = 0
    ids[torch.arange(rows), lengths - 1] = 2
    ids[torch.arange(length)[None, :] >= lengths[:, None]] = 1
    specials = ref.special_tokens_mask(ids, ref.SPECIAL_IDS)
    masked, labels, replaced, randomized = ref.mask_tokens(ids, specials, mask_id, vocab, 0.15,
                                                           torch.Generator().manual_seed(12))
    selected = labels != ref.IGNORE_INDEX
    eligible = int((~specials).sum())
    n_sel, n_mask = int(selected.sum()), int(replaced.sum())
    n_rand, n_keep = int(randomized.sum()), int((selected & ~replaced & ~randomized).sum())

    def within(count, total, p):  # 5 standard deviations of a binomial
        return abs(count - total * p) <= 5 * math.sqrt(total * p * (1 - p))

    check(within(n_sel, eligible, 0.15) and within(n_mask, n_sel, 0.8) and within(n_rand, n_sel, 0.1)
          and within(n_keep, n_sel, 0.1),
          "collator: 15% of eligible positions selected; of those 80% <mask>, 10% random, 10% kept (5 sigma)",
          f"{n_sel / eligible:.4f} of {eligible}; {n_mask / n_sel:.3f} / {n_rand / n_sel:.3f} / {n_keep / n_sel:.3f}")
    check(not bool((selected & specials).any()) and bool((labels[selected] == ids[selected]).all())
          and bool((masked[~selected] == ids[~selected]).all()) and bool((masked[replaced] == mask_id).all()),
          "collator: never a special or pad token; labels = original ids; unselected positions untouched")
    drawn = masked[randomized]
    counts = torch.bincount(drawn, minlength=vocab).double()
    chi2 = float(((counts - counts.mean()) ** 2 / counts.mean()).sum())
    check(int(drawn.min()) >= 0 and int(drawn.max()) < vocab and chi2 < vocab - 1 + 5 * math.sqrt(2 * (vocab - 1)),
          "collator: random replacements uniform over [0, vocab) (chi-square)", f"chi2 {chi2:.0f} on {vocab - 1} dof")
    # the global-RNG path (HF's collator after torch.manual_seed) = a fresh generator with the seed
    small = ids[:8]
    torch.manual_seed(21)
    global_draw = ref.mask_tokens(small, specials[:8], mask_id, vocab)[:2]
    gen_draw = ref.mask_tokens(small, specials[:8], mask_id, vocab, 0.15, torch.Generator().manual_seed(21))[:2]
    check(all(torch.equal(a, b) for a, b in zip(global_draw, gen_draw)),
          "collator: torch.manual_seed(s) + global RNG = Generator().manual_seed(s)")
    source, out = os.path.join(tmp, "ids.json"), os.path.join(tmp, "collated.json")
    with open(source, "w") as f:
        json.dump({"input_ids": small.tolist(), "attention_mask": small.ne(1).long().tolist()}, f)
    subprocess.run([sys.executable, REF_SCRIPT, "collate", "--input", source, "--seed", "21", "--out", out], check=True)
    with open(out) as f:
        got = json.load(f)
    check(got["input_ids"] == global_draw[0].tolist() and got["labels"] == global_draw[1].tolist()
          and got["attention_mask"] == small.ne(1).long().tolist(),
          "collate CLI (fresh process) = the in-process draw; attention_mask passed through")


# --------------------------------------------------------------------- CLI, loader

def run_ref(*args):
    return subprocess.run([sys.executable, REF_SCRIPT, *args], capture_output=True, text=True)


def check_cli_and_loader(tmp, cases):
    cli_dir = os.path.join(tmp, "cli-decoder")
    result = run_ref("make-case", "--out", cli_dir, "--case", "mlm-relu-decoder", "--seed", str(SEED))
    rels = ["model/config.json", "model/model.safetensors", "batch.json", "train.json", "expected.safetensors"]
    check(result.returncode == 0 and all(filecmp.cmp(os.path.join(cli_dir, r), os.path.join(cases["mlm-relu-decoder"], r),
                                                     shallow=False) for r in rels),
          "make-case in a fresh process writes byte-identical files")
    plain, _ = read_safetensors(os.path.join(cases["mlm-relu"], "expected.safetensors"))
    with_decoder, _ = read_safetensors(os.path.join(cases["mlm-relu-decoder"], "expected.safetensors"))
    check(all(np.array_equal(plain[k], with_decoder[k]) for k in plain),
          "mlm-relu-decoder expects exactly what mlm-relu expects (the stored decoder is the tied one)")
    for case in ("mlm-relu-decoder", "mlm-gelu"):
        out = os.path.join(tmp, f"forward-{case}.safetensors")
        result = run_ref("forward", "--model", os.path.join(cases[case], "model"),
                         "--batch", os.path.join(cases[case], "batch.json"), "--out", out)
        expected, _ = read_safetensors(os.path.join(cases[case], "expected.safetensors"))
        got = read_safetensors(out)[0] if result.returncode == 0 else {}
        check(set(got) == {"logits", "loss"} and all(np.array_equal(got[k], expected[k]) for k in got),
              f"forward CLI on {case} reproduces logits and loss", result.stderr.strip()[:200])

    tensors, _ = read_safetensors(os.path.join(cases["mlm-relu-decoder"], "model", "model.safetensors"))
    bad_dir = os.path.join(tmp, "bad-model")
    os.makedirs(bad_dir, exist_ok=True)
    with open(os.path.join(cases["mlm-relu"], "model", "config.json")) as f:
        config = json.load(f)

    def refused(tensor_dict, config_json, must_name, what):
        with open(os.path.join(bad_dir, "config.json"), "w") as f:
            json.dump(config_json, f)
        write_safetensors(os.path.join(bad_dir, "model.safetensors"), tensor_dict)
        result = run_ref("forward", "--model", bad_dir, "--batch", os.path.join(cases["mlm-relu"], "batch.json"),
                         "--out", os.path.join(tmp, "bad.safetensors"))
        lines = result.stderr.strip().splitlines()
        check(result.returncode == 1 and len(lines) == 1 and must_name in lines[0], what, lines[0] if lines else "")

    changed = dict(tensors)
    changed["lm_head.decoder.weight"] = tensors["lm_head.decoder.weight"] * np.float32(1.5)
    refused(changed, config, "lm_head.decoder.weight", "a stored decoder that differs from the embeddings is refused")
    missing = {k: v for k, v in tensors.items() if k != "lm_head.bias"}
    refused(missing, config, "lm_head.bias", "a missing lm_head.bias is refused (the stored decoder bias does not replace it)")
    refused(tensors, dict(config, tie_word_embeddings=False), "tie_word_embeddings", "an untied config is refused")

    batch_path = os.path.join(tmp, "bad-batch.json")
    with open(os.path.join(cases["mlm-relu"], "batch.json")) as f:
        raw = json.load(f)
    for bad, what, name in (({"labels": [row[:-1] for row in raw["labels"]]}, "labels of the wrong shape", "labels"),
                            ({"labels": [[-5] + row[1:] for row in raw["labels"]]}, "a label outside -100 / [0, V)",
                             "labels")):
        with open(batch_path, "w") as f:
            json.dump(dict(raw, **bad), f)
        result = run_ref("forward", "--model", os.path.join(cases["mlm-relu"], "model"), "--batch", batch_path,
                         "--out", os.path.join(tmp, "bad.safetensors"))
        check(result.returncode == 1 and batch_path in result.stderr and name in result.stderr,
              f"forward refuses {what}, naming the file", result.stderr.strip())


def main():
    with tempfile.TemporaryDirectory() as tmp:
        cases = {}
        for case in sorted(ref.CASES):
            cases[case] = os.path.join(tmp, case)
            ref.make_case(cases[case], case, SEED)
        for case in ("mlm-relu", "mlm-gelu", "mlm-relu-decoder"):
            cfg, params, batch, expected = load_case(ref, cases[case])
            check_case_files(cases[case], case, cfg, params, batch, expected)
            if case == "mlm-relu-decoder":
                continue  # same weights and batch as mlm-relu (checked below)
            check_finite_differences(case, cfg, params, batch)
            check_tied_gradient(case, cfg, params, batch)
            check_float32_vs_float64(case, cfg, params, batch, expected)
            check_padding_invariance(case, cfg, params, batch, expected)
            check_training(case, cfg, params, batch)
        cfg, params, _, _ = load_case(ref, cases["mlm-relu"])
        check_hf_structure(cfg, params)
        check_collator(tmp)
        check_cli_and_loader(tmp, cases)
    return summary()


if __name__ == "__main__":
    sys.exit(main())
