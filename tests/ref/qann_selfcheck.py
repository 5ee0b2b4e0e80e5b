#!/usr/bin/python3
"""Self-check of the QANN reference (qann_ref.py): the LSQ quantizer against the spec's formulas
and finite differences, the initialisation schedule, the transparency of the plumbing at level 256,
the quantizers' places in the data flow, float32 against float64, and the CLI.

Run: /usr/bin/python3 tests/ref/qann_selfcheck.py     (one line per check; exit 0 = all good)
"""

import contextlib
import filecmp
import io
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep tests/ref free of __pycache__
sys.path.insert(0, HERE)
import qann_ref as qref  # noqa: E402
import roberta_ref as ref  # noqa: E402
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402
from selfcheck_common import check, summary  # noqa: E402

QANN_SCRIPT = os.path.join(HERE, "qann_ref.py")


# ------------------------------------------------------------- the LSQ function

def hand_lsq(xs, dys, s, qn, qp, np_dtype):
    """y, dx, ds by spec §2 element by element: the quotient x/s and the +0.5 in the tensor's
    dtype (as the forward computes them), everything else in Python floats (float64). Also returns
    g * sum |dy| (|n_c| + |x/s|), the size of what ds sums."""
    g = 1.0 / math.sqrt(qp * len(xs))
    ys, dxs, acc, scale = [], [], 0.0, 0.0
    for x, dy in zip(xs, dys):
        v = np_dtype(x) / np_dtype(s)
        c = math.floor(float(v + np_dtype(0.5)))
        inside = qn <= c <= qp
        nc = min(max(c, qn), qp)
        ys.append(float(np_dtype(s) * np_dtype(nc)))
        dxs.append(dy if inside else 0.0)
        acc += dy * (nc - (float(v) if inside else 0.0))
        scale += abs(dy) * (abs(nc) + abs(float(v)))
    return ys, dxs, g * acc, g * scale


def special_values(qn, qp):
    """Quotients x/s on and next to the clamp bounds and on every .5 tie of the range."""
    vs = [qn - 1.5, qn - 1.0, qn - 0.5, qn, qp, qp + 0.5, qp + 1.0, qp + 3.7, 0.0, 0.25, -0.25]
    vs += [k - 0.5 for k in range(qn, qp + 2)]  # ties: round half up
    below = [float(np.nextafter(np.float32(v), np.float32(-np.inf))) for v in (qn - 0.5, qp + 0.5, 0.5, -0.5)]
    return vs + below


def check_lsq_against_formula():
    rng = np.random.default_rng(3)
    worst = {"y": 0.0, "dx": 0.0, "ds": 0.0}
    count = 0
    for level in (4, 8, 32):
        for signed in (True, False):
            qn, qp = qref.quant_range(level, signed)
            for dtype, np_dtype in ((torch.float32, np.float32), (torch.float64, np.float64)):
                for s in (0.5, 0.37):
                    v = np.array(special_values(qn, qp) + list(rng.normal(0, (qp - qn) / 2, size=40)))
                    # s = 0.5 makes every listed quotient exact; with 0.37 they are merely close
                    xs = [float(np_dtype(val * s)) for val in v]
                    dys = [float(np_dtype(d)) for d in rng.normal(size=len(xs))]
                    x = torch.tensor(xs, dtype=dtype, requires_grad=True)
                    st = torch.tensor(s, dtype=dtype, requires_grad=True)
                    g = 1.0 / math.sqrt(qp * x.numel())
                    y = qref.LSQFunction.apply(x, st, float(qn), float(qp), g)
                    y.backward(torch.tensor(dys, dtype=dtype))
                    hy, hdx, hds, scale = hand_lsq(xs, dys, s, qn, qp, np_dtype)
                    # one rounding of the result plus float64 summation-order noise on the terms
                    ulp = float(np.spacing(np_dtype(abs(hds)))) + 1e-14 * scale
                    worst["y"] = max(worst["y"], float(np.max(np.abs(y.detach().numpy() - hy))))
                    worst["dx"] = max(worst["dx"], float(np.max(np.abs(x.grad.numpy() - hdx))))
                    worst["ds"] = max(worst["ds"], abs(float(st.grad) - hds) / ulp)
                    count += 1
    check(worst["y"] == 0 and worst["dx"] == 0 and worst["ds"] <= 1.0,
          f"LSQ y, dx, ds equal the spec's formulas on bounds, ties and random values ({count} tensors: "
          "levels 4/8/32, signed/unsigned, f32/f64)",
          f"max |dy| {worst['y']}, |ddx| {worst['dx']}, ds within {worst['ds']:.2f} ulp (+1e-14 of sum |terms|)")


def check_lsq_known_values():
    """A few values worked out by hand: round half up, bounds included, clamp."""
    s = torch.tensor(0.5, requires_grad=True)
    v = torch.tensor([2.5, -2.5, 1.49, -2.5001, 1.5, 1.6, -3.0], dtype=torch.float32)
    x = (v * 0.5).requires_grad_(True)
    y = qref.LSQFunction.apply(x, s, -2.0, 1.0, 1.0)  # level 4 signed: [-2, 1]
    y.sum().backward()
    want_n = [1, -2, 1, -2, 1, 1, -2]   # floor(v + .5) = 3, -2, 1, -3, 2, 2, -3 -> clamped
    want_dx = [0, 1, 1, 0, 0, 0, 0]     # in range only where floor(v + .5) lies in [-2, 1]
    check(torch.equal(y.detach() / 0.5, torch.tensor(want_n, dtype=torch.float32))
          and torch.equal(x.grad, torch.tensor(want_dx, dtype=torch.float32)),
          "LSQ worked examples: 2.5 -> 3 (half up) clamped to 1; -2.5 -> -2 (on the bound, in range); "
          "-2.5001 -> -3 (out of range)", f"n {(y.detach() / 0.5).tolist()}, dx {x.grad.tolist()}")


def check_lsq_finite_differences():
    """The straight-through gradient is the exact gradient of the quantizer with its rounding offset
    frozen: R(x, s) = s * clamp(x/s + d, Qn, Qp), d = floor(x0/s0 + .5) - x0/s0. Central differences
    of R (float64) against the autograd dx, and against ds / g. dx is compared away from the clamp
    kinks (n = Qn or Qp exactly), ds on tensors without such elements."""
    rng = np.random.default_rng(4)
    worst_dx, worst_ds, compared = 0.0, 0.0, 0
    for level in (4, 8, 32):
        for signed in (True, False):
            qn, qp = qref.quant_range(level, signed)
            s0 = 0.37
            v = rng.uniform(qn - 3, qp + 3, size=60)
            x0 = torch.tensor(v * s0, dtype=torch.float64)
            w = torch.tensor(rng.normal(size=60), dtype=torch.float64)
            c0 = torch.floor(x0 / s0 + 0.5)
            offset = c0 - x0 / s0

            def surrogate(x, s):
                return torch.sum(w * s * torch.clamp(x / s + offset, qn, qp))

            x = x0.clone().requires_grad_(True)
            s = torch.tensor(s0, dtype=torch.float64, requires_grad=True)
            g = 1.0 / math.sqrt(qp * 60)
            torch.sum(w * qref.LSQFunction.apply(x, s, float(qn), float(qp), g)).backward()
            h = 1e-6
            away = (c0 != qn) & (c0 != qp)
            for i in torch.nonzero(away).flatten().tolist():
                e = torch.zeros(60, dtype=torch.float64)
                e[i] = h
                fd = (surrogate(x0 + e, s0) - surrogate(x0 - e, s0)) / (2 * h)
                worst_dx = max(worst_dx, abs(float(fd) - float(x.grad[i])))
                compared += 1
            # ds: freeze the kink elements out of the tensor (their one-sided slopes differ)
            keep = away
            x1, w1, off1 = x0[keep], w[keep], offset[keep]
            n = int(keep.sum())
            fd_s = (torch.sum(w1 * (s0 + h) * torch.clamp(x1 / (s0 + h) + off1, qn, qp))
                    - torch.sum(w1 * (s0 - h) * torch.clamp(x1 / (s0 - h) + off1, qn, qp))) / (2 * h)
            xk = x1.clone().requires_grad_(True)
            sk = torch.tensor(s0, dtype=torch.float64, requires_grad=True)
            gk = 1.0 / math.sqrt(qp * n)
            torch.sum(w1 * qref.LSQFunction.apply(xk, sk, float(qn), float(qp), gk)).backward()
            worst_ds = max(worst_ds, abs(float(fd_s) * gk - float(sk.grad)) / max(1e-12, abs(float(sk.grad))))
    check(worst_dx < 1e-8 and worst_ds < 1e-7,
          "LSQ dx and ds/g equal central differences of the rounding-frozen quantizer (float64, levels 4/8/32)",
          f"{compared} dx elements, max |err| {worst_dx:.1e}; ds max rel err {worst_ds:.1e}")


def check_identity_level():
    q = qref.LSQInteger(256, True)
    q.train()
    x = torch.randn(50, requires_grad=True)
    y = q(x)
    y.backward(torch.ones(50))
    check(y is x and torch.equal(x.grad, torch.ones(50)) and q.s.grad is None and float(q.s) == 1.0
          and q.init_calls == 0, "LSQ level 256: identity (y is x, dx = dy), no gradient and no schedule for s")


# --------------------------------------------------------------- the schedule

def check_init_schedule():
    rng = np.random.default_rng(5)
    ok, details = True, []
    for level, signed in ((8, True), (32, False)):
        qn, qp = qref.quant_range(level, signed)
        xs = [rng.normal(0.2, math.exp(rng.uniform(-3, 1)), size=(3, 7)).astype(np.float32) for _ in range(22)]
        q = qref.LSQInteger(level, signed)
        q.train()
        stat = [2.0 * np.mean(np.abs(x.astype(np.float64))) / math.sqrt(qp) for x in xs]
        want, s_hand, got = {}, None, {}
        for call, x in enumerate(xs, start=1):
            if call == 3:  # an optimiser step in between: the schedule blends the current value
                with torch.no_grad():
                    q.s.fill_(5.0)
                s_hand = 5.0
            if call == 21:  # after the schedule an optimiser change sticks
                with torch.no_grad():
                    q.s.fill_(0.75)
                s_hand = 0.75
            if call == 1:
                s_hand = float(np.float32(stat[0]))
            elif call <= 20:
                s_hand = float(np.float32(0.9 * s_hand + 0.1 * stat[call - 1]))
            y = q(torch.from_numpy(x))
            want[call], got[call] = s_hand, float(q.s)
            if call == 1:  # the update happens before quantizing in the same call
                n = np.clip(np.floor(x / np.float32(s_hand) + np.float32(0.5)), qn, qp)
                ok &= np.array_equal(y.detach().numpy(), (n * np.float32(s_hand)).astype(np.float32))
        q.eval()
        q(torch.from_numpy(xs[0]))
        ok &= float(q.s) == got[22] and q.init_calls == 20  # eval calls touch nothing
        for call in (1, 2, 3, 20, 21, 22):
            ok &= got[call] == want[call]
        details.append(f"L{level}: s1 {got[1]:.6g} s2 {got[2]:.6g} s20 {got[20]:.6g} s21 {got[21]:.6g}")
    check(ok, "init schedule: s after calls 1, 2, 3 (after an optimiser change), 20, 21, 22 equals the hand "
          "formula; call 1 quantizes with the new s; eval calls change nothing", "; ".join(details))


# ---------------------------------------------------------------- the network

def tiny_model(case, seed, std, levels_of):
    cfg = ref.Config(ref.tiny_config_json(**ref.CASES[case]))
    levels = levels_of(cfg)
    params = qref.initial_qann_parameters(cfg, levels, std, seed)
    raw = qref.qann_random_batch(random.Random(seed), cfg)
    batch = {"input_ids": torch.tensor(raw["input_ids"]), "attention_mask": torch.tensor(raw["attention_mask"]),
             "labels": torch.tensor(raw["labels"])}
    return cfg, levels, params, batch


def check_level_256_is_transparent():
    cfg, levels, params, batch = tiny_model("cls3", 21, 0.2, lambda cfg: qref.case_levels(cfg, 256, False))
    plain = {n: t for n, t in params.items() if not n.endswith(".s")}
    quant = qref.QuantizedActivations(cfg, levels)
    qann, base = ref.leaf_copy(params), ref.leaf_copy(plain)
    ql, qloss = ref.loss_and_backward(qann, cfg, batch, training=False, quant=quant)
    bl, bloss = ref.loss_and_backward(base, cfg, batch, training=False)
    same_grads = all(torch.equal(qann[n].grad, base[n].grad) for n in plain)
    no_step_grads = all(qann[n].grad is None for n in params if n.endswith(".s"))
    check(torch.equal(ql, bl) and torch.equal(qloss, bloss) and same_grads and no_step_grads,
          f"level-256 QANN equals roberta_ref's model: logits, loss and all {len(plain)} grads bit for bit; "
          f"the {len(params) - len(plain)} steps get no gradient")
    qann, base = ref.leaf_copy(params), ref.leaf_copy(plain)
    qlosses = ref.train(qann, cfg, batch, ref.TRAIN_CONFIG, quant)
    blosses = ref.train(base, cfg, batch, ref.TRAIN_CONFIG)
    check(qlosses == blosses and all(torch.equal(qann[n], base[n]) for n in plain)
          and all(float(qann[n]) == 1.0 for n in params if n.endswith(".s")),
          "level-256 QANN trains exactly like roberta_ref's model (10 steps, losses and params bit for bit)")


def recording_hook(quant, calls):
    """Wrap the quantizer hook: keep key, input, output, step and range of every quantizing call."""
    def hook(p, module, quantizer, x, training):
        y = quant(p, module, quantizer, x, training)
        key = f"{module}.{quantizer}"
        lsq = quant.quantizers.get(key)
        if lsq is not None:
            calls.append((key, x.detach().clone(), y.detach().clone(), p[key + ".s"].detach().clone(), lsq.qn, lsq.qp))
        return y
    return hook


def check_dataflow():
    """Rebuild every quantizer's input from the previous quantizers' outputs by spec §1/§2, and
    compare with what the hooks saw: proves each quantizer's place in the data flow."""
    def mixed(cfg):
        return qref.case_levels(cfg, None, True)
    cfg, levels, params, batch = tiny_model("cls2", 8, 0.3, mixed)
    quant = qref.QuantizedActivations(cfg, levels)
    qref.set_steps_by_one_training_forward(params, cfg, batch, quant)
    calls = []
    with torch.no_grad():
        logits = ref.forward_logits(params, cfg, batch["input_ids"], batch["attention_mask"],
                                    quant=recording_hook(quant, calls))
    order = [c[0] for c in calls]
    want_order = [f"{m}.{q}" for m, kind in qref.quantizable_modules(cfg).items()
                  for q, _ in qref.MODULE_QUANTIZERS[kind]]
    check(order == want_order, f"quantizers run in the order of spec §2's table ({len(order)} per forward)")

    p, x_in, y, ranges, grid_ok = params, {}, {}, {}, True
    for key, x, out, s, qn, qp in calls:
        x_in[key], y[key], ranges[key] = x, out, (qn, qp)
        n = torch.round(out / s)
        grid_ok &= torch.equal(out, s * torch.clamp(torch.floor(x / s + 0.5), qn, qp))
        grid_ok &= bool(torch.all((n >= qn) & (n <= qp))) and torch.equal(out, s * n)
    check(grid_ok, "every quantizer output is s * clamp(floor(x/s + 0.5), Qn, Qp), an integer multiple of s in range")
    mixed_ok = all(ranges[f"roberta.encoder.layer.{i}.attention.self.query_quan"] == qref.quant_range((8, 32)[i], True)
                   for i in range(2)) and ranges["classifier.dense_quan"] == (0, 15)
    check(mixed_ok, "mixed levels: layer 0 at 8 ([-4, 3]), layer 1 at 32 ([-16, 15]), classifier at 16 ([0, 15])")

    def lin(name, x):
        return F.linear(x, p[name + ".weight"], p[name + ".bias"])

    def ln(name, x):
        return F.layer_norm(x, (x.shape[-1],), p[name + ".weight"], p[name + ".bias"], cfg.layer_norm_eps)

    def heads(t):
        b, l, _ = t.shape
        return t.view(b, l, cfg.num_attention_heads, cfg.head_dim).transpose(1, 2)

    mismatches = []

    def same(key, want):
        if not torch.equal(x_in[key], want):
            mismatches.append(f"{key} (max diff {float((x_in[key] - want).abs().max()):.1e})")

    with torch.no_grad():
        h = ref.embeddings(p, cfg, batch["input_ids"], False)  # embeddings: not quantized
        mask = ref.extended_attention_mask(batch["attention_mask"], torch.float32)
        for i in range(cfg.num_hidden_layers):
            m = f"roberta.encoder.layer.{i}."
            a = m + "attention.self."
            same(a + "query_quan", lin(a + "query", h))
            same(a + "key_quan", lin(a + "key", h))
            same(a + "value_quan", lin(a + "value", h))
            scores = heads(y[a + "query_quan"]) @ heads(y[a + "key_quan"]).transpose(-1, -2) / math.sqrt(cfg.head_dim) + mask
            same(a + "attn_quan", torch.softmax(scores, dim=-1))       # scores: not quantized
            same(a + "after_attn_quan", y[a + "attn_quan"] @ heads(y[a + "value_quan"]))
            context = y[a + "after_attn_quan"].transpose(1, 2).reshape(h.shape)
            o = m + "attention.output."
            same(o + "dense_quan", lin(o + "dense", context))
            same(o + "dense_quan_after_ln", ln(o + "LayerNorm", y[o + "dense_quan"] + h))
            h1 = y[o + "dense_quan_after_ln"]                          # what FFN and residual receive
            same(m + "intermediate.dense_quan", lin(m + "intermediate.dense", h1))
            inner = torch.relu(y[m + "intermediate.dense_quan"])
            same(m + "output.dense_quan", lin(m + "output.dense", inner))
            same(m + "output.dense_quan_after_ln", ln(m + "output.LayerNorm", y[m + "output.dense_quan"] + h1))
            h = y[m + "output.dense_quan_after_ln"]
        same("classifier.dense_quan", lin("classifier.dense", h[:, 0, :]))
        want_logits = lin("classifier.out_proj", torch.tanh(y["classifier.dense_quan"]))  # logits: not quantized
    check(not mismatches and torch.equal(logits, want_logits),
          "each quantizer's input, rebuilt from the previous quantized outputs by spec §1/§2, is what it saw; "
          "logits = out_proj(tanh(quantized dense))", ", ".join(mismatches))


# ------------------------------------------------------------ float32 vs float64

def decisions(calls):
    """floor(x/s + .5) clipped to [Qn-1, Qp+1] (every rounding decision that matters) per call."""
    return [torch.floor(v + 0.5).clamp(qn - 1, qp + 1) for _, v, qn, qp, _ in calls]


def check_float64(case_dir, label):
    """Rerun a stored case in float32 (must reproduce it bit for bit) and in float64: the rounding
    decisions must be identical (what the robustness scan promises) and the float32 numbers close;
    prints the errors from which the README's tolerances for the C are set."""
    cfg, levels, params = qref.load_qann(os.path.join(case_dir, "model"), os.path.join(case_dir, "quant.json"))
    batch = ref.read_batch(os.path.join(case_dir, "batch.json"))
    expected, _ = read_safetensors(os.path.join(case_dir, "expected.safetensors"))
    runs = {dtype: qref.run_case({n: t.detach().to(dtype) for n, t in params.items()}, cfg, batch, levels,
                                 qref.QANN_TRAIN_CONFIG) for dtype in (torch.float32, torch.float64)}
    out32, forwards32 = runs[torch.float32]
    check(set(out32) == set(expected) and all(np.array_equal(out32[k], expected[k]) for k in expected),
          f"{label}: a float32 rerun from the stored files reproduces expected.safetensors bit for bit")
    out64, forwards64 = runs[torch.float64]
    flips = total = 0
    for name in forwards32:
        for a, b in zip(decisions(forwards32[name]), decisions(forwards64[name])):
            flips += int((a != b).sum())
            total += a.numel()
    check(flips == 0, f"{label}: float64 makes the same rounding decisions as float32 in the gradient, "
          "10 training and final forwards", f"{flips} differ over {total} elements")
    err = float64_errors(expected, out64)
    check(err["logits"] < 1e-6 and err["grads"] < 2e-4 and err["key_bias"] < 1e-6 and err["step_grads"] < 2e-5
          and err["train_losses"] < 2e-6 and err["train_s"] < 2e-6 and err["final"] < 2e-6
          and err["final_key_bias"] < 2e-5 and err["final_steps"] < 2e-6 and err["final_logits"] < 2e-6,
          f"{label}: stored float32 values agree with float64",
          ", ".join(f"{k} {v:.1e}" for k, v in err.items()))


def float64_errors(expected, out64):
    """The stored float32 expectations against a float64 run, measured as the README suggests the
    C be compared: grads relative per tensor (norm-wise), except attention.self.key.bias (absolute:
    its exact value is ~0); the step grads as one vector relative to its norm (step_grad_each:
    each step on its own, for information: a small ds is a sum with heavy cancellation); train
    losses and logits absolute; train_s and final steps relative; final params absolute, with
    key.bias apart (Adam turns its noise-level gradient into +-lr updates)."""
    def rel(a, b):
        return float(np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30))

    def absolute(a, b):
        return float(np.max(np.abs(a - b)))
    names = [k[len("grad."):] for k in expected if k.startswith("grad.")]
    steps = [n for n in names if n.endswith(".s")]
    key_bias = [n for n in names if n.endswith("key.bias")]
    weights = [n for n in names if n not in steps and n not in key_bias]
    return {
        "logits": absolute(expected["logits"], out64["logits"]),
        "grads": max(rel(expected[f"grad.{n}"], out64[f"grad.{n}"]) for n in weights),
        "key_bias": max(absolute(expected[f"grad.{n}"], out64[f"grad.{n}"]) for n in key_bias),
        "step_grads": rel(np.array([expected[f"grad.{n}"] for n in steps]), np.array([out64[f"grad.{n}"] for n in steps])),
        "step_grad_each": max(rel(expected[f"grad.{n}"], out64[f"grad.{n}"]) for n in steps),
        "train_losses": absolute(expected["train_losses"], out64["train_losses"]),
        "train_s": max(float(np.max(np.abs(expected[f"train_s.{n}"] / out64[f"train_s.{n}"] - 1))) for n in steps),
        "final": max(absolute(expected[f"final.{n}"], out64[f"final.{n}"]) for n in weights),
        "final_key_bias": max(absolute(expected[f"final.{n}"], out64[f"final.{n}"]) for n in key_bias),
        "final_steps": max(rel(expected[f"final.{n}"], out64[f"final.{n}"]) for n in steps),
        "final_logits": absolute(expected["final_logits"], out64["final_logits"]),
    }


# ------------------------------------------------------------------------ cases

EXPECTED_SCALARS = {"logits", "loss", "train_losses", "final_logits"}


def check_case_files(case_dir, label, want_levels):
    model, _ = read_safetensors(os.path.join(case_dir, "model", "model.safetensors"))
    expected, _ = read_safetensors(os.path.join(case_dir, "expected.safetensors"))
    cfg = ref.load_config(os.path.join(case_dir, "model", "config.json"))
    levels = qref.load_levels(os.path.join(case_dir, "quant.json"), cfg)
    steps = qref.step_names(cfg, levels)
    names = list(model)
    want = EXPECTED_SCALARS | {f"grad.{n}" for n in names} | {f"final.{n}" for n in names} | {f"train_s.{n}" for n in steps}
    shapes_ok = all(model[n].shape == () and model[n].dtype == np.float32 for n in steps)
    shapes_ok &= all(expected[f"grad.{n}"].shape == model[n].shape for n in names)
    shapes_ok &= all(expected[f"train_s.{n}"].shape == (10,) for n in steps)
    check(levels == want_levels and len(steps) == 21 and set(steps) <= set(names) and set(expected) == want
          and shapes_ok and all(v.dtype == np.float32 for v in expected.values()),
          f"{label}: quant.json levels, 21 steps of shape [] in model.safetensors, expected names and shapes")
    s_ok = all(float(expected[f"train_s.{n}"][0]) == float(model[n]) for n in steps)
    grads_nonzero = all(float(expected[f"grad.{n}"]) != 0.0 for n in steps)
    check(s_ok and grads_nonzero and expected["train_losses"][0] == expected["train_losses"][1],
          f"{label}: training forward 1 uses the stored steps, every step has a gradient, "
          "train_losses[0] == train_losses[1] (lr 0 at step 0)")


def run_cli(*args):
    """qann_ref.py in a fresh process."""
    return subprocess.run([sys.executable, QANN_SCRIPT, *args], capture_output=True, text=True)


def run_main(*args):
    """qann_ref.main in this process (a fresh torch import per call would cost seconds)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = qref.main(list(args))
    return subprocess.CompletedProcess(args, rc, out.getvalue(), err.getvalue())


def check_forward_cli(tmp, case_dir, label, fresh_process):
    out = os.path.join(tmp, label + "-fwd.safetensors")
    run = run_cli if fresh_process else run_main
    r = run("forward", "--model", os.path.join(case_dir, "model"), "--quant", os.path.join(case_dir, "quant.json"),
                "--batch", os.path.join(case_dir, "batch.json"), "--out", out)
    expected, _ = read_safetensors(os.path.join(case_dir, "expected.safetensors"))
    got, _ = read_safetensors(out) if r.returncode == 0 else ({}, None)
    check(r.returncode == 0 and r.stderr == "" and set(got) == {"logits", "loss"}
          and np.array_equal(got["logits"], expected["logits"]) and np.array_equal(got["loss"], expected["loss"]),
          f"{label}: CLI forward{' (fresh process)' if fresh_process else ''} reproduces expected logits "
          "and loss bit for bit", r.stderr.strip())
    # a checkpoint written from final.* (as the C would save after training) gives final_logits
    final_dir = os.path.join(tmp, label + "-final")
    os.makedirs(final_dir, exist_ok=True)
    model, _ = read_safetensors(os.path.join(case_dir, "model", "model.safetensors"))
    write_safetensors(os.path.join(final_dir, "model.safetensors"), {n: expected[f"final.{n}"] for n in model})
    shutil.copyfile(os.path.join(case_dir, "model", "config.json"), os.path.join(final_dir, "config.json"))
    r = run("forward", "--model", final_dir, "--quant", os.path.join(case_dir, "quant.json"),
                "--batch", os.path.join(case_dir, "batch.json"), "--out", out)
    got, _ = read_safetensors(out) if r.returncode == 0 else ({}, None)
    check(r.returncode == 0 and np.array_equal(got.get("logits"), expected["final_logits"]),
          f"{label}: CLI forward of the trained checkpoint (final.*) reproduces final_logits bit for bit", r.stderr.strip())


def check_make_case_reproducible(tmp, in_process_dir, args):
    cli_dir = os.path.join(tmp, "cli-" + os.path.basename(in_process_dir))
    r = run_cli("make-case", "--out", cli_dir, *args)
    files = ["model/config.json", "model/model.safetensors", "quant.json", "batch.json", "train.json",
             "expected.safetensors", "case.json"]
    match, mismatch, errors = filecmp.cmpfiles(in_process_dir, cli_dir, files, shallow=False)
    check(r.returncode == 0 and not mismatch and not errors and "min margin" in r.stdout,
          "CLI make-case in a fresh process writes byte-identical files", str(mismatch + errors) + r.stderr.strip())


def check_errors(tmp, case_dir):
    model_dir, batch = os.path.join(case_dir, "model"), os.path.join(case_dir, "batch.json")
    out = os.path.join(tmp, "err.safetensors")
    bad_quant = os.path.join(tmp, "bad-quant.json")
    results = []
    for body, needle in (('{"levels": {"roberta.encoder.layer.7.intermediate": 32}}', "layer.7.intermediate"),
                         ('{"levels": {"classifier": 7}}', "'classifier'"),
                         ('{"levels": {"classifier": 32}, "extra": 1}', "'extra'"),
                         ('{"levels": [1]}', "levels")):
        with open(bad_quant, "w") as f:
            f.write(body)
        r = run_main("forward", "--model", model_dir, "--quant", bad_quant, "--batch", batch, "--out", out)
        lines = r.stderr.strip().splitlines()
        results.append(r.returncode == 1 and len(lines) == 1 and bad_quant in lines[0] and needle in lines[0])
    r = run_main("make-case", "--out", os.path.join(tmp, "g"), "--case", "gelu", "--seed", "1", "--level", "8")
    results.append(r.returncode == 1 and "relu" in r.stderr)
    # a step of the wrong shape is an error naming the tensor; a missing step is 1.0 with a note
    model, _ = read_safetensors(os.path.join(model_dir, "model.safetensors"))
    for variant in ("shape", "missing"):
        d = os.path.join(tmp, "ckpt-" + variant)
        os.makedirs(d, exist_ok=True)
        tensors = dict(model)
        if variant == "shape":
            tensors["classifier.dense_quan.s"] = tensors["classifier.dense_quan.s"].reshape(1)
        else:
            del tensors["classifier.dense_quan.s"]
        write_safetensors(os.path.join(d, "model.safetensors"), tensors)
        shutil.copyfile(os.path.join(model_dir, "config.json"), os.path.join(d, "config.json"))
        r = run_main("forward", "--model", d, "--quant", os.path.join(case_dir, "quant.json"), "--batch", batch, "--out", out)
        if variant == "shape":
            results.append(r.returncode == 1 and "classifier.dense_quan.s" in r.stderr)
        else:
            cfg, levels, params = qref.load_qann(model_dir, os.path.join(case_dir, "quant.json"))
            with torch.no_grad():
                params["classifier.dense_quan.s"].fill_(1.0)
                b = ref.read_batch(batch)
                want = ref.forward_logits(params, cfg, b["input_ids"], b["attention_mask"],
                                          quant=qref.QuantizedActivations(cfg, levels))
            got, _ = read_safetensors(out) if r.returncode == 0 else ({"logits": None}, None)
            results.append(r.returncode == 0 and "missing" in r.stderr and np.array_equal(got["logits"], want.numpy()))
    check(all(results), "bad quant.json (unknown module, odd level, unknown key, wrong type), gelu, a step of shape [1]: "
          "one-line errors naming the file; a missing step loads as 1.0 with a note", str(results))


def main():
    torch.manual_seed(0)
    check_lsq_known_values()
    check_lsq_against_formula()
    check_lsq_finite_differences()
    check_identity_level()
    check_init_schedule()
    check_level_256_is_transparent()
    check_dataflow()
    with tempfile.TemporaryDirectory() as tmp:
        cases = [("cls2-L32", ["--case", "cls2", "--seed", "13001", "--level", "32"], None),
                 ("cls3-mixed", ["--case", "cls3", "--seed", "16002", "--mixed", "--init-std", "0.2"], "mixed"),
                 ("stsb-L8", ["--case", "stsb", "--seed", "3", "--level", "8", "--init-std", "0.1"], 8)]
        for label, args, level in cases:
            case_dir = os.path.join(tmp, label)
            info = qref.make_case(case_dir, args[1], int(args[3]), None if level == "mixed" else (level or 32),
                                  level == "mixed", float(args[-1]) if "--init-std" in args else None,
                                  log=lambda *a: None)
            print(f"     {label}: seed {info['seed']} (try {info['tries']}), min margin {info['min_margin']:.3g}, "
                  f"{info['quantized_elements_per_forward']} quantized elements per forward")
            cfg = ref.load_config(os.path.join(case_dir, "model", "config.json"))
            want_levels = qref.case_levels(cfg, None if level == "mixed" else (level or 32), level == "mixed")
            check_case_files(case_dir, label, want_levels)
            check_float64(case_dir, label)
            check_forward_cli(tmp, case_dir, label, fresh_process=label == "cls2-L32")
            if label == "cls3-mixed":
                check_make_case_reproducible(tmp, case_dir, args)
        check_errors(tmp, os.path.join(tmp, "cls2-L32"))
    return summary()


if __name__ == "__main__":
    sys.exit(main())
