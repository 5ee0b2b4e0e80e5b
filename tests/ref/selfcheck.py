#!/usr/bin/python3
"""Self-check of the RoBERTa reference: the reference must agree with itself,
with finite differences, and with torch's own independent building blocks.

Run: /usr/bin/python3 tests/ref/selfcheck.py        (prints one line per check; exit 0 = all good)
"""

import filecmp
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep tests/ref free of __pycache__
sys.path.insert(0, HERE)
import roberta_ref as ref  # noqa: E402
from safetensors_io import SafetensorsError, read_safetensors, write_safetensors  # noqa: E402
from selfcheck_common import check, load_case, summary, to_double  # noqa: E402

REF_SCRIPT = os.path.join(HERE, "roberta_ref.py")


def batch_loss(params, cfg, batch):
    logits = ref.forward_logits(params, cfg, batch["input_ids"], batch["attention_mask"])
    return ref.sequence_classification_loss(logits, batch["labels"], cfg)


def double_grads(params, cfg, batch):
    p64 = to_double(params)
    loss = batch_loss(p64, cfg, batch)
    return p64, dict(zip(p64, torch.autograd.grad(loss, list(p64.values()))))


def write_raw_safetensors(path, entries):
    """name -> (dtype name, shape, raw bytes): lets us write BF16 and I64 like other writers do."""
    header, offset, blobs = {"__metadata__": {"format": "pt"}}, 0, []
    for name, (dtype, shape, raw) in entries.items():
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


# ------------------------------------------------------------------------- checks

def check_safetensors_io(tmp):
    path = os.path.join(tmp, "io.safetensors")
    arrays = {"a": np.arange(6, dtype=np.float32).reshape(2, 3) / 7, "b": np.array([1.5, -2.25], np.float16),
              "scalarish": np.array([3.0], np.float32)}
    write_safetensors(path, arrays)
    back, meta = read_safetensors(path)
    (header_len,) = struct.unpack("<Q", open(path, "rb").read(8))
    check(meta == {"format": "pt"} and header_len % 8 == 0, "safetensors: metadata and 8-byte header padding")
    check(all(back[k].dtype == v.dtype and np.array_equal(back[k], v) for k, v in arrays.items()),
          "safetensors: F32/F16 round trip is exact")
    values = torch.tensor([1.0, -3.140625, 1e-3, 65504.0, 1e30])
    write_raw_safetensors(path, {"x": ("BF16", [5], values.to(torch.bfloat16).view(torch.int16).numpy().tobytes()),
                                 "i": ("I64", [2], np.array([7, -1], "<i8").tobytes())})
    back, _ = read_safetensors(path)
    check(np.array_equal(back["x"], values.to(torch.bfloat16).float().numpy()) and back["i"].tolist() == [7, -1],
          "safetensors: BF16 (to float32) and I64 read")
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 1)
    try:
        read_safetensors(path)
        check(False, "safetensors: truncated file is rejected")
    except SafetensorsError as err:
        check(path in str(err), "safetensors: truncated file is rejected, naming the file", str(err))


def check_position_ids():
    ids = torch.tensor([[0, 5, 2, 1, 1], [0, 7, 2, 2, 9]])
    got = ref.position_ids_from_input_ids(ids, 1).tolist()
    check(got == [[2, 3, 4, 1, 1], [2, 3, 4, 5, 6]], "position ids = pad + cumsum(mask)*mask", str(got))


def check_forward_reproduces(case_dir, label):
    cfg, params, batch, expected = load_case(ref, case_dir)
    with torch.no_grad():
        logits = ref.forward_logits(params, cfg, batch["input_ids"], batch["attention_mask"])
        loss = ref.sequence_classification_loss(logits, batch["labels"], cfg)
    check(np.array_equal(logits.numpy(), expected["logits"]) and np.array_equal(loss.reshape(1).numpy(), expected["loss"]),
          f"{label}: reloaded model reproduces logits and loss bit for bit")


def check_expected_names(case_dir, label):
    cfg, params, _, expected = load_case(ref, case_dir)
    names = {"logits", "loss", "train_losses", "final_logits"}
    names |= {f"grad.{n}" for n in params} | {f"final.{n}" for n in params}
    shapes_ok = all(expected[f"grad.{n}"].shape == expected[f"final.{n}"].shape == tuple(t.shape)
                    for n, t in params.items())
    check(set(expected) == names and shapes_ok and all(v.dtype == np.float32 for v in expected.values())
          and expected["logits"].shape == (4, cfg.num_labels) and expected["train_losses"].shape == (10,),
          f"{label}: expected.safetensors holds exactly the documented f32 tensors ({len(names)})")


def check_gradients_by_finite_differences(case_dir, label):
    """Directional central differences in float64 for every parameter tensor."""
    cfg, params, batch, _ = load_case(ref, case_dir)
    p64, grads = double_grads(params, cfg, batch)
    gen = torch.Generator().manual_seed(5)
    eps, worst = 1e-6, 0.0
    with torch.no_grad():
        for name, tensor in p64.items():
            direction = torch.randn(tensor.shape, generator=gen, dtype=torch.float64)
            tensor.add_(eps * direction)
            up = batch_loss(p64, cfg, batch).item()
            tensor.sub_(2 * eps * direction)
            down = batch_loss(p64, cfg, batch).item()
            tensor.add_(eps * direction)
            numeric, analytic = (up - down) / (2 * eps), (grads[name] * direction).sum().item()
            # floor 1e-5: below it the difference quotient is float64 roundoff (~1e-16 / eps)
            worst = max(worst, abs(numeric - analytic) / max(1e-5, abs(analytic)))
    check(worst < 1e-4, f"{label}: float64 gradient matches central differences on all {len(p64)} tensors",
          f"worst relative error {worst:.1e}")


def check_gradcheck(case_dir, label):
    """torch.autograd.gradcheck (full Jacobian by finite differences) on a few small tensors."""
    cfg, params, batch, _ = load_case(ref, case_dir)
    p64 = to_double(params)
    names = ["classifier.out_proj.bias", "roberta.embeddings.LayerNorm.bias",
             "roberta.encoder.layer.0.attention.self.query.bias", "roberta.encoder.layer.1.output.LayerNorm.weight",
             "roberta.encoder.layer.0.intermediate.dense.bias"]

    def loss_of(*tensors):
        return batch_loss({**p64, **dict(zip(names, tensors))}, cfg, batch)
    ok = torch.autograd.gradcheck(loss_of, [p64[n] for n in names], eps=1e-6, atol=1e-7, rtol=1e-4)
    check(ok, f"{label}: torch.autograd.gradcheck on {len(names)} tensors")


def check_float32_grads_vs_float64(case_dir, label):
    cfg, params, batch, expected = load_case(ref, case_dir)
    _, grads = double_grads(params, cfg, batch)
    scale = math.sqrt(sum(g.pow(2).sum().item() for g in grads.values()))
    worst = max((torch.from_numpy(expected[f"grad.{n}"]).double() - g).norm().item() / max(g.norm().item(), 1e-3 * scale)
                for n, g in grads.items())
    check(worst < 1e-3, f"{label}: stored f32 grads agree with float64 grads", f"worst relative error {worst:.1e}")


def check_pad_rows_get_no_gradient(case_dir, label):
    _, _, _, expected = load_case(ref, case_dir)
    check(not expected["grad.roberta.embeddings.word_embeddings.weight"][1].any()
          and not expected["grad.roberta.embeddings.position_embeddings.weight"][1].any(),
          f"{label}: padding rows (id 1) of word/position embeddings get zero gradient")


def check_padding_invariance(case_dir, label):
    """Each row alone, without its padding, gives the same logits (mask + positions)."""
    cfg, params, batch, _ = load_case(ref, case_dir)
    p64 = to_double(params)
    with torch.no_grad():
        full = ref.forward_logits(p64, cfg, batch["input_ids"], batch["attention_mask"])
        worst = 0.0
        for row in range(batch["input_ids"].shape[0]):
            length = int(batch["attention_mask"][row].sum())
            ids = batch["input_ids"][row:row + 1, :length]
            alone = ref.forward_logits(p64, cfg, ids, torch.ones_like(ids))
            worst = max(worst, (alone - full[row]).abs().max().item())
    check(worst < 1e-12, f"{label}: logits do not depend on padding", f"max diff {worst:.1e}")


def torch_encoder_layer(p, i, cfg):
    """torch.nn.TransformerEncoderLayer (post-LN) loaded with layer i's weights."""
    layer = torch.nn.TransformerEncoderLayer(cfg.hidden_size, cfg.num_attention_heads, cfg.intermediate_size,
                                             dropout=0.0, activation=cfg.hidden_act, layer_norm_eps=cfg.layer_norm_eps,
                                             batch_first=True, norm_first=False).double()
    pre = f"roberta.encoder.layer.{i}."
    qkv = [pre + f"attention.self.{x}" for x in ("query", "key", "value")]
    with torch.no_grad():
        layer.self_attn.in_proj_weight.copy_(torch.cat([p[n + ".weight"] for n in qkv]))
        layer.self_attn.in_proj_bias.copy_(torch.cat([p[n + ".bias"] for n in qkv]))
        for module, name in ((layer.self_attn.out_proj, "attention.output.dense"),
                             (layer.linear1, "intermediate.dense"), (layer.linear2, "output.dense"),
                             (layer.norm1, "attention.output.LayerNorm"), (layer.norm2, "output.LayerNorm")):
            module.weight.copy_(p[pre + name + ".weight"])
            module.bias.copy_(p[pre + name + ".bias"])
    return layer.train()  # training mode with dropout 0 keeps torch off its fused fast path


def check_against_torch_transformer(case_dir, label):
    """Encoder blocks vs torch's independent nn.TransformerEncoderLayer, in float64."""
    cfg, params, batch, _ = load_case(ref, case_dir)
    p64 = to_double(params)
    with torch.no_grad():
        ours = ref.forward_logits(p64, cfg, batch["input_ids"], batch["attention_mask"])
        h = ref.embeddings(p64, cfg, batch["input_ids"], training=False)
        for i in range(cfg.num_hidden_layers):
            h = torch_encoder_layer(p64, i, cfg)(h, src_key_padding_mask=batch["attention_mask"].eq(0))
        theirs = ref.classification_head(p64, cfg, h, training=False)
    diff = (ours - theirs).abs().max().item()
    check(diff < 1e-12, f"{label}: encoder agrees with torch.nn.TransformerEncoderLayer", f"max diff {diff:.1e}")


def manual_train(params, cfg, batch, tc):
    """HF Trainer step written out from the formulas: clip, AdamW (decoupled decay), warmup-linear lr."""
    m = {n: torch.zeros_like(t) for n, t in params.items()}
    v = {n: torch.zeros_like(t) for n, t in params.items()}
    b1, b2 = tc["adam_beta1"], tc["adam_beta2"]
    for step in range(tc["steps"]):
        loss = batch_loss(params, cfg, batch)
        grads = dict(zip(params, torch.autograd.grad(loss, list(params.values()))))
        norm = math.sqrt(sum(g.pow(2).sum().item() for g in grads.values()))
        coef = min(1.0, tc["max_grad_norm"] / (norm + 1e-6))
        warm, total = tc["warmup_steps"], tc["total_steps"]
        lr = tc["learning_rate"] * (step / warm if step < warm else max(0.0, (total - step) / (total - warm)))
        t = step + 1
        with torch.no_grad():
            for n, p in params.items():
                g = grads[n] * coef
                if "bias" not in n and "LayerNorm" not in n:
                    p.mul_(1 - lr * tc["weight_decay"])
                m[n] = b1 * m[n] + (1 - b1) * g
                v[n] = b2 * v[n] + (1 - b2) * g * g
                p.sub_(lr * (m[n] / (1 - b1 ** t)) / ((v[n] / (1 - b2 ** t)).sqrt() + tc["adam_epsilon"]))


def check_training(case_dir, label):
    cfg, params, batch, expected = load_case(ref, case_dir)
    with open(os.path.join(case_dir, "train.json")) as f:
        tc = json.load(f)
    ours, mine = to_double(params), to_double(params)
    losses = ref.train(ours, cfg, batch, tc)
    manual_train(mine, cfg, batch, tc)
    diff = max((ours[n] - mine[n]).abs().max().item() for n in ours)
    check(diff < 1e-12, f"{label}: training loop matches a hand-written clip+AdamW+schedule (float64)",
          f"max param diff {diff:.1e}")
    drift = max(np.abs(expected[f"final.{n}"] - ours[n].detach().numpy()).max() for n in ours)
    loss_drift = np.abs(expected["train_losses"] - np.array(losses)).max()
    check(drift < 1e-4 and loss_drift < 1e-5, f"{label}: stored f32 training agrees with float64 training",
          f"max param diff {drift:.1e}, max loss diff {loss_drift:.1e}")
    check(expected["train_losses"][0] == expected["train_losses"][1] and expected["train_losses"][-1] < expected["train_losses"][0],
          f"{label}: step 0 has lr 0 (HF warmup) and the loss then falls",
          " ".join(f"{x:.4f}" for x in expected["train_losses"]))


def check_cli_reproducible(tmp, in_process_dir):
    cli_dir = os.path.join(tmp, "cli_cls2")
    subprocess.run([sys.executable, REF_SCRIPT, "make-case", "--out", cli_dir, "--case", "cls2", "--seed", "11"], check=True)
    files = ["model/config.json", "model/model.safetensors", "batch.json", "train.json", "expected.safetensors"]
    _, mismatch, errors = filecmp.cmpfiles(cli_dir, in_process_dir, files, shallow=False)
    check(not mismatch and not errors, "CLI make-case in a fresh process writes byte-identical files", str(mismatch + errors))
    out = os.path.join(tmp, "cli_forward.safetensors")
    subprocess.run([sys.executable, REF_SCRIPT, "forward", "--model", os.path.join(cli_dir, "model"),
                    "--batch", os.path.join(cli_dir, "batch.json"), "--out", out], check=True)
    got, _ = read_safetensors(out)
    expected, _ = read_safetensors(os.path.join(cli_dir, "expected.safetensors"))
    check(set(got) == {"logits", "loss"} and np.array_equal(got["logits"], expected["logits"])
          and np.array_equal(got["loss"], expected["loss"]), "CLI forward reproduces expected logits and loss")


def check_foreign_checkpoint(tmp, case_dir):
    """A bf16 checkpoint with extra pooler / quantizer-step / position_ids tensors loads and means the same."""
    cfg, params, batch, _ = load_case(ref, case_dir)
    model_dir = os.path.join(tmp, "foreign")
    os.makedirs(model_dir, exist_ok=True)
    with open(os.path.join(case_dir, "model", "config.json")) as f:
        config = json.load(f)
    config.pop("num_labels")  # HF itself writes only id2label
    with open(os.path.join(model_dir, "config.json"), "w") as f:
        json.dump(config, f)
    entries = {"roberta.pooler.dense.weight": ("F32", [2, 2], np.ones(4, "<f4").tobytes()),
               "roberta.encoder.layer.0.attention.self.query_quan.s": ("F32", [1], np.ones(1, "<f4").tobytes()),
               "roberta.embeddings.position_ids": ("I64", [1, 40], np.arange(40, dtype="<i8").tobytes())}
    for n, t in params.items():
        entries[n] = ("BF16", list(t.shape), t.detach().to(torch.bfloat16).view(torch.int16).numpy().tobytes())
    write_raw_safetensors(os.path.join(model_dir, "model.safetensors"), entries)
    out = os.path.join(tmp, "foreign_out.safetensors")
    rc = ref.main(["forward", "--model", model_dir, "--batch", os.path.join(case_dir, "batch.json"), "--out", out])
    got, _ = read_safetensors(out)
    rounded = {n: t.detach().to(torch.bfloat16).float() for n, t in params.items()}
    with torch.no_grad():
        want = ref.forward_logits(rounded, cfg, batch["input_ids"], batch["attention_mask"])
    check(rc == 0 and np.array_equal(got["logits"], want.numpy()),
          "forward on a bf16 checkpoint with pooler/.s/position_ids extras equals forward on bf16-rounded weights")
    del entries["classifier.dense.bias"]
    write_raw_safetensors(os.path.join(model_dir, "model.safetensors"), entries)
    try:
        ref.load_model(model_dir)
        check(False, "a checkpoint missing a tensor is rejected")
    except ref.RefError as err:
        check("classifier.dense.bias" in str(err), "a checkpoint missing a tensor is rejected, naming it", str(err))


def check_f16_case(case_dir):
    cfg, params, batch, expected = load_case(ref, case_dir)
    stored, _ = read_safetensors(os.path.join(case_dir, "model", "model.safetensors"))
    check(all(a.dtype == np.float16 for a in stored.values()), "f16 case: model.safetensors is all F16")
    check_forward_reproduces(case_dir, "cls2-f16")


def check_label_smoothing():
    """torch's cross_entropy(label_smoothing=eps) against HF Trainer's LabelSmoother, written here from
    its definition: -log_softmax; NLL averaged over samples; -log p summed over classes, averaged over
    samples and classes; (1 - eps) * NLL + eps * that."""
    cfg = ref.Config(ref.tiny_config_json(num_labels=4, hidden_act="relu"), "label smoothing")
    generator = torch.Generator().manual_seed(3)
    logits = (3 * torch.randn(6, 4, generator=generator, dtype=torch.float64)).requires_grad_(True)
    labels = torch.tensor([0, 3, 1, 1, 2, 0])
    for eps in (0.0, 0.1, 0.35):
        ours = ref.sequence_classification_loss(logits, labels, cfg, label_smoothing=eps)
        neg_log_probs = -F.log_softmax(logits, dim=-1)
        nll = neg_log_probs.gather(-1, labels[:, None]).sum() / labels.numel()
        smoothed = neg_log_probs.sum() / (labels.numel() * logits.shape[-1])
        hf = (1 - eps) * nll + eps * smoothed
        g_ours, = torch.autograd.grad(ours, logits)
        g_hf, = torch.autograd.grad(hf, logits)
        diff = max(abs(ours.item() - hf.item()), (g_ours - g_hf).abs().max().item())
        check(diff < 1e-12, f"label smoothing {eps}: loss and gradient equal HF's LabelSmoother", f"max diff {diff:.1e}")


def check_masked_dropout():
    """The reference's masked dropout with torch's own Bernoulli draws is torch's dropout."""
    x = torch.randn(4, 24, 64, dtype=torch.float32) + 5.0  # no zeros: the draw is readable from the output
    for p in (0.1, 0.3):
        torch.manual_seed(17)
        want = F.dropout(x, p, True)
        keep = (want != 0).float().numpy().ravel()
        masks = ref.DropoutMasks({"step0.site": keep}, "selfcheck")
        ref._masks = masks
        try:
            got = ref.dropout(x, p, True, "site")
            untouched = ref.dropout(x, p, False, "site") is x and ref.dropout(x, 0.0, True, "other") is x
            try:
                ref.dropout(x, p, True, "missing")
                refused = False
            except ref.RefError as err:
                refused = "missing" in str(err)
        finally:
            ref._masks = None
        diff = (got - want).abs().max().item()
        check(diff <= 1e-6 * want.abs().max().item() and untouched and refused and not masks.unused,
              f"dropout {p} with given masks equals F.dropout with the same draws (eval and p = 0 untouched, "
              "a missing mask refused)", f"max diff {diff:.1e}")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        check_safetensors_io(tmp)
        check_position_ids()
        cases = {}
        for case, seed in (("cls2", 11), ("cls3", 12), ("stsb", 13), ("gelu", 14)):
            cases[case] = os.path.join(tmp, case)
            ref.make_case(cases[case], case, seed, "f32")
        ref.make_case(os.path.join(tmp, "cls2_f16"), "cls2", 11, "f16")
        for case, case_dir in cases.items():
            check_expected_names(case_dir, case)
            check_forward_reproduces(case_dir, case)
            check_gradients_by_finite_differences(case_dir, case)
            check_float32_grads_vs_float64(case_dir, case)
            check_pad_rows_get_no_gradient(case_dir, case)
            check_padding_invariance(case_dir, case)
            check_against_torch_transformer(case_dir, case)
            check_training(case_dir, case)
        check_gradcheck(cases["cls2"], "cls2")
        check_f16_case(os.path.join(tmp, "cls2_f16"))
        check_foreign_checkpoint(tmp, cases["cls3"])
        check_cli_reproducible(tmp, cases["cls2"])
        check_label_smoothing()
        check_masked_dropout()
    return summary()


if __name__ == "__main__":
    sys.exit(main())
