#!/usr/bin/python3
"""The reference's way of simulating the converted network: PyTorch modules stepped in
lock-step over the whole batch, a dense matmul for every linear at every time step (zero inputs
included), ST-BIF neurons as spec §3 writes them (membrane V += I/θ), zip_tf operators by the
difference rule, attention increments by the product rule with dense matmuls. With our fixes
(mask once on the accumulated scores, tanh by the difference rule) so that it computes the same
network; stepping stops when no neuron and no bias-unfolding linear is working (spec §5).

It loads the network bench_snn saved (DIR/config.json, DIR/model.safetensors with weights and
<module>.<quantizer>.{threshold,s_max,s_min}) and the batch (DIR/bench_batch.json), simulates,
compares its logits with the event-driven simulator's and prints one JSON line.

    bench/bench_snn --size small --batch 32 --seq 128 --out /tmp/snn_bench
    /usr/bin/python3 bench/peer_snn_dense.py /tmp/snn_bench [--threads 1] [--max_steps 256]

Both simulate the identical network; their logits agree up to float rounding order, except where
a near-tie (x/θ within a few ulps of k + 0.5) is rounded differently and the changed count
propagates: the JSON line says on how many samples the logits agree to 1e-4.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
from safetensors_io import read_safetensors  # noqa: E402


class STBIF:
    """ST-BIF neurons of one quantizer: V in units of θ, spike count S; reset V = 0.5, S = 0."""

    def __init__(self, st, name, shape):
        self.theta = float(st[name + ".threshold"])
        self.smax = float(st[name + ".s_max"])
        self.smin = float(st[name + ".s_min"])
        self.v = torch.full(shape, 0.5)
        self.s = torch.zeros(shape)

    def step(self, x):
        """x: this step's input (tensor or None); returns (o·θ, working)."""
        if x is not None:
            self.v += x / self.theta
        pos = (self.v >= 1.0) & (self.s < self.smax)
        neg = (self.v < 0.0) & (self.s > self.smin)
        o = pos.float() - neg.float()
        self.s += o
        self.v -= o
        working = bool(pos.any() or neg.any() or (x is not None and bool((x != 0).any())))
        return o * self.theta, working


class UnfoldLinear:
    """y_t = x_t W^T + b/level during the first `level` calls, x_t W^T afterwards."""

    def __init__(self, st, name, level):
        self.w = torch.from_numpy(st[name + ".weight"]).t().contiguous()
        self.b_step = torch.from_numpy(st[name + ".bias"]) / level
        self.level = level
        self.calls = 0

    def step(self, x):
        y = x @ self.w
        if self.calls < self.level:
            y += self.b_step
        self.calls += 1
        return y, self.calls <= self.level


class ZipLayerNorm:
    def __init__(self, st, name, eps, shape):
        self.w = torch.from_numpy(st[name + ".weight"])
        self.b = torch.from_numpy(st[name + ".bias"])
        self.eps = eps
        self.acc = torch.zeros(shape)
        self.prev = torch.zeros(shape)

    def step(self, x):
        self.acc += x
        f = torch.nn.functional.layer_norm(self.acc, self.acc.shape[-1:], self.w, self.b, self.eps)
        out = f - self.prev
        self.prev = f
        return out


class Layer:
    def __init__(self, st, i, cfg, level, B, T):
        C, H = cfg["hidden_size"], cfg["num_attention_heads"]
        p = f"roberta.encoder.layer.{i}."
        self.H, self.d = H, C // H
        self.q = UnfoldLinear(st, p + "attention.self.query", level)
        self.k = UnfoldLinear(st, p + "attention.self.key", level)
        self.v = UnfoldLinear(st, p + "attention.self.value", level)
        self.nq = STBIF(st, p + "attention.self.query_quan", (B, T, C))
        self.nk = STBIF(st, p + "attention.self.key_quan", (B, T, C))
        self.nv = STBIF(st, p + "attention.self.value_quan", (B, T, C))
        self.np = STBIF(st, p + "attention.self.attn_quan", (B, H, T, T))
        self.nc = STBIF(st, p + "attention.self.after_attn_quan", (B, T, C))
        self.ao = UnfoldLinear(st, p + "attention.output.dense", level)
        self.nao = STBIF(st, p + "attention.output.dense_quan", (B, T, C))
        self.ln1 = ZipLayerNorm(st, p + "attention.output.LayerNorm", cfg["layer_norm_eps"], (B, T, C))
        self.nh1 = STBIF(st, p + "attention.output.dense_quan_after_ln", (B, T, C))
        self.inter = UnfoldLinear(st, p + "intermediate.dense", level)
        self.nf = STBIF(st, p + "intermediate.dense_quan", (B, T, cfg["intermediate_size"]))
        self.fc2 = UnfoldLinear(st, p + "output.dense", level)
        self.no2 = STBIF(st, p + "output.dense_quan", (B, T, C))
        self.ln2 = ZipLayerNorm(st, p + "output.LayerNorm", cfg["layer_norm_eps"], (B, T, C))
        self.nout = STBIF(st, p + "output.dense_quan_after_ln", (B, T, C))
        shape = (B, H, T, self.d)
        self.sq, self.sk, self.sv = torch.zeros(shape), torch.zeros(shape), torch.zeros(shape)
        self.sp = torch.zeros((B, H, T, T))
        self.scores = torch.zeros((B, H, T, T))
        self.prev_probs = torch.zeros((B, H, T, T))
        self.ctx = torch.zeros(shape)

    def heads(self, x):
        B, T, C = x.shape
        return x.view(B, T, self.H, self.d).transpose(1, 2)

    def step(self, x, mask_add):
        busy = False
        outs = []
        for lin, neuron in ((self.q, self.nq), (self.k, self.nk), (self.v, self.nv)):
            y, b1 = lin.step(x)
            s, b2 = neuron.step(y)
            outs.append(self.heads(s))
            busy |= b1 or b2
        qt, kt, vt = outs
        # scores by the product rule on running sums that include this step; the mask once
        self.sq += qt
        self.sk += kt
        inc = self.sq @ kt.transpose(-1, -2) + qt @ self.sk.transpose(-1, -2) - qt @ kt.transpose(-1, -2)
        self.scores += inc
        probs = torch.softmax(self.scores / math.sqrt(self.d) + mask_add, dim=-1)
        pt, b = self.np.step(probs - self.prev_probs)
        busy |= b
        self.prev_probs = probs
        self.sp += pt
        self.sv += vt
        cinc = self.sp @ vt + pt @ self.sv - pt @ vt
        B, H, T, d = cinc.shape
        ct, b = self.nc.step(cinc.transpose(1, 2).reshape(B, T, H * d))
        busy |= b
        y, b1 = self.ao.step(ct)
        a, b2 = self.nao.step(y)
        h1, b3 = self.nh1.step(self.ln1.step(a + x))
        busy |= b1 or b2 or b3
        y, b1 = self.inter.step(h1)
        f, b2 = self.nf.step(y)  # ReLU -> identity after the unsigned neuron
        y, b3 = self.fc2.step(f)
        o2, b4 = self.no2.step(y)
        out, b5 = self.nout.step(self.ln2.step(o2 + h1))
        busy |= b1 or b2 or b3 or b4 or b5
        return out, busy


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    # torch's own OpenMP pool; on a loaded 2-core machine 2 threads were ~10x slower than 1 (spin-waits)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max_steps", type=int, default=256)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    with open(os.path.join(args.dir, "config.json")) as f:
        cfg = json.load(f)
    with open(os.path.join(args.dir, "bench_batch.json")) as f:
        batch = json.load(f)
    st, _ = read_safetensors(os.path.join(args.dir, "model.safetensors"))
    level = cfg["spikeglue_snn"]["unfold_level"]
    B, T, C, L = batch["batch"], batch["seq"], cfg["hidden_size"], cfg["num_labels"]
    ids = torch.tensor(batch["ids"], dtype=torch.long).view(B, T)
    mask = torch.tensor(batch["mask"], dtype=torch.float32).view(B, T) if "mask" in batch else torch.ones(B, T)
    mask_add = ((1.0 - mask) * torch.finfo(torch.float32).min).view(B, 1, 1, T)

    # embeddings (real values), emitted at step 1 only
    pad = cfg["pad_token_id"]
    nonpad = (ids != pad).long()
    pos = torch.cumsum(nonpad, dim=1) * nonpad + pad
    e = (torch.from_numpy(st["roberta.embeddings.word_embeddings.weight"])[ids]
         + torch.from_numpy(st["roberta.embeddings.position_embeddings.weight"])[pos]
         + torch.from_numpy(st["roberta.embeddings.token_type_embeddings.weight"])[0])
    emb = torch.nn.functional.layer_norm(e, (C,), torch.from_numpy(st["roberta.embeddings.LayerNorm.weight"]),
                                         torch.from_numpy(st["roberta.embeddings.LayerNorm.bias"]), cfg["layer_norm_eps"])
    layers = [Layer(st, i, cfg, level, B, T) for i in range(cfg["num_hidden_layers"])]
    cls_dense = UnfoldLinear(st, "classifier.dense", level)
    cls_neuron = STBIF(st, "classifier.dense_quan", (B, C))
    cls_out = UnfoldLinear(st, "classifier.out_proj", level)
    tanh_prev = torch.zeros(B, C)
    tanh_acc = torch.zeros(B, C)
    logits = torch.zeros(B, L)
    zeros = torch.zeros(B, T, C)

    t0, c0 = time.time(), time.process_time()
    steps = 0
    for t in range(1, args.max_steps + 1):
        x = emb if t == 1 else zeros
        busy = False
        for layer in layers:
            x, b = layer.step(x, mask_add)
            busy |= b
        y, b1 = cls_dense.step(x[:, 0, :])
        h, b2 = cls_neuron.step(y)
        tanh_acc += h
        f = torch.tanh(tanh_acc)
        z, b3 = cls_out.step(f - tanh_prev)
        tanh_prev = f
        logits += z
        busy |= b1 or b2 or b3
        steps = t
        if not busy:
            break
    seconds, cpu_seconds = time.time() - t0, time.process_time() - c0

    snn = torch.tensor(batch["snn_logits"]).view(B, L)
    qann = torch.tensor(batch["qann_logits"]).view(B, L)
    d_snn = (logits - snn).abs().max(dim=1).values
    d_qann = (logits - qann).abs().max(dim=1).values
    print(json.dumps({
        "impl": "torch-dense-snn", "batch": B, "seq": T, "threads": torch.get_num_threads(),
        "steps": steps, "seconds": round(seconds, 3), "cpu_seconds": round(cpu_seconds, 3),
        "seconds_per_step": round(seconds / steps, 4),
        "max_abs_diff_vs_event_snn": float(d_snn.max()), "samples_equal_1e-4_vs_event_snn": int((d_snn <= 1e-4).sum()),
        "same_predictions_vs_event_snn": int((logits.argmax(1) == snn.argmax(1)).sum()),
        "max_abs_diff_vs_qann": float(d_qann.max()),
        "same_predictions_vs_qann": int((logits.argmax(1) == qann.argmax(1)).sum()),
    }))


if __name__ == "__main__":
    main()
