#!/usr/bin/env python3
"""PyTorch peer of bench_model: RoBERTa-for-classification written with torch.nn modules the way
HuggingFace's modeling_roberta does (post-LN blocks, dropout 0.1, additive attention mask,
tanh head), optionally with LSQ fake-quantizers at spec §2's places. Times a training step
(forward + backward + clip + AdamW) or an eval forward and prints one JSON line per variant like
bench_model: fp32 (--lsq 0), fake-quantized (--lsq 1) or both alternating step by step in one
process (--lsq both: the quantizers switched off for the fp32 steps).
    peer_torch_model.py --size base --batch 8 --seq 128 --mode train|eval [--lsq 0|1|both] --iters 5 --threads 2
With --data FILE (from bench_eval_glue --dump: int32 ids then mask, [rows, seq] each) an eval
iteration is a pass over those rows in batches of --batch, padded as HF's run_glue.py does:
--padding max (pad_to_max_length, its default) or longest (DataCollatorWithPadding: each batch
padded to its longest row, rows in file order).
"""
import argparse, json, math, resource, statistics, sys, time
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SIZES = {"tiny": (64, 2, 2, 256), "small": (256, 4, 4, 1024), "base": (768, 12, 12, 3072)}


class LSQ(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, s, qn, qp):
        v = x / s
        n = torch.floor(v + 0.5)
        inside = (n >= qn) & (n <= qp)
        c = n.clamp(qn, qp)
        ctx.save_for_backward(v, c, inside)
        ctx.g = 1.0 / math.sqrt(qp * x.numel())
        return c * s

    @staticmethod
    def backward(ctx, dy):
        v, c, inside = ctx.saved_tensors
        dx = dy * inside
        ds = (dy * torch.where(inside, c - v, c)).sum() * ctx.g
        return dx, ds, None, None


class Quan(nn.Module):
    def __init__(self, level, signed, on):
        super().__init__()
        self.on = on
        self.s = nn.Parameter(torch.tensor(0.1))
        self.qn, self.qp = (-level // 2, level // 2 - 1) if signed else (0, level - 1)

    def forward(self, x):
        return LSQ.apply(x, self.s, self.qn, self.qp) if self.on else x


class Layer(nn.Module):
    def __init__(self, C, H, Fd, q):
        super().__init__()
        self.H = H
        self.query, self.key, self.value = nn.Linear(C, C), nn.Linear(C, C), nn.Linear(C, C)
        self.ao, self.ln1 = nn.Linear(C, C), nn.LayerNorm(C, eps=1e-5)
        self.fc1, self.fc2, self.ln2 = nn.Linear(C, Fd), nn.Linear(Fd, C), nn.LayerNorm(C, eps=1e-5)
        self.drop = nn.Dropout(0.1)
        self.qq, self.kq, self.vq = Quan(32, 1, q), Quan(32, 1, q), Quan(32, 1, q)
        self.aq, self.cq = Quan(32, 0, q), Quan(32, 0, q)
        self.aoq, self.ln1q, self.fc1q, self.fc2q, self.ln2q = (Quan(32, 1, q), Quan(32, 1, q), Quan(32, 0, q),
                                                                Quan(32, 1, q), Quan(32, 1, q))

    def forward(self, x, mask):
        B, T, C = x.shape
        d = C // self.H
        split = lambda t: t.view(B, T, self.H, d).transpose(1, 2)
        q, k, v = split(self.qq(self.query(x))), split(self.kq(self.key(x))), split(self.vq(self.value(x)))
        scores = q @ k.transpose(-1, -2) / math.sqrt(d) + mask
        p = self.aq(self.drop(scores.softmax(-1)))
        ctx = self.cq(p @ v).transpose(1, 2).reshape(B, T, C)
        h1 = self.ln1q(self.ln1(x + self.drop(self.aoq(self.ao(ctx)))))
        f = F.relu(self.fc1q(self.fc1(h1)))
        return self.ln2q(self.ln2(h1 + self.drop(self.fc2q(self.fc2(f)))))


class Model(nn.Module):
    def __init__(self, size, vocab, labels, q):
        super().__init__()
        C, L, H, Fd = SIZES[size]
        self.word, self.pos, self.tok_type = nn.Embedding(vocab, C, padding_idx=1), nn.Embedding(514, C, padding_idx=1), nn.Embedding(1, C)
        self.ln = nn.LayerNorm(C, eps=1e-5)
        self.layers = nn.ModuleList(Layer(C, H, Fd, q) for _ in range(L))
        self.dense, self.out = nn.Linear(C, C), nn.Linear(C, labels)
        self.dq = Quan(32, 0, q)
        self.drop = nn.Dropout(0.1)

    def forward(self, ids, mask):
        real = (ids != 1).int()
        pos = torch.cumsum(real, 1) * real + 1
        x = self.drop(self.ln(self.word(ids) + self.pos(pos) + self.tok_type(torch.zeros_like(ids))))
        add = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        for layer in self.layers:
            x = layer(x, add)
        h = torch.tanh(self.dq(self.dense(self.drop(x[:, 0]))))
        return self.out(self.drop(h))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="base")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--mode", default="train")
    ap.add_argument("--lsq", default="0", choices=["0", "1", "both"])
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data")
    ap.add_argument("--padding", default="max", choices=["max", "longest"])
    ap.add_argument("--serve", type=int, default=0, help="one round per stdin line, each ended by '.' (bench/alternate.py)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    quantized = a.lsq != "0"
    model = Model(a.size, 50265, 2, quantized)
    quans = [mod for mod in model.modules() if isinstance(mod, Quan)]
    ids = torch.randint(4, 50000, (a.batch, a.seq))
    ids[:, 0] = 0
    mask = torch.ones_like(ids)
    labels = torch.randint(0, 2, (a.batch,))
    batches = [(ids, mask)]
    if a.data:
        flat = torch.from_numpy(np.fromfile(a.data, dtype=np.int32)).long().view(2, -1, a.seq)
        batches = []
        for i in range(0, flat.shape[1], a.batch):
            bi, bm = flat[0, i:i + a.batch], flat[1, i:i + a.batch]
            if a.padding == "longest":
                width = int(bm.sum(1).max())
                bi, bm = bi[:, :width], bm[:, :width]
            batches.append((bi, bm))
    opt = torch.optim.AdamW(model.parameters(), lr=2e-5, weight_decay=0.0)

    def step(todo):
        if a.mode == "train":
            model.train()
            loss = F.cross_entropy(model(ids, mask), labels)
            opt.zero_grad(set_to_none=False)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        else:
            model.eval()
            with torch.no_grad():
                for bi, bm in todo:
                    model(bi, bm)

    step(batches[:1])  # warm-up (quantized when there are quantizers), on one batch
    variants = [False, True] if a.lsq == "both" else [quantized]
    C, L, H, Fd = SIZES[a.size]
    N = a.batch * a.seq
    fwd = L * (2 * N * (4 * C * C + 2 * C * Fd) + 4.0 * a.batch * a.seq * a.seq * C)
    flops = 3 * fwd if a.mode == "train" else fwd
    if a.serve:  # set up and warmed up: bench/alternate.py starts the other side only now
        print("ready", flush=True)
    while not a.serve or sys.stdin.readline():
        times = {v: [] for v in variants}
        for _ in range(a.iters):
            for v in variants:
                for q in quans:
                    q.on = v
                t0 = time.perf_counter()
                step(batches)
                times[v].append(time.perf_counter() - t0)
        rss = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        for v in variants:
            med = statistics.median(times[v])
            print(json.dumps({"impl": "pytorch", "data": a.data and "sst2-dev", "padding": a.padding, "mode": a.mode,
                              "size": a.size, "batch": a.batch, "seq": a.seq, "threads": a.threads, "lsq": v,
                              "torch": torch.__version__, "median_s": round(med, 4),
                              "gflops": None if a.data else round(flops / med * 1e-9, 2), "peak_rss_mb": rss}))
        if not a.serve:
            break
        print(".", flush=True)


if __name__ == "__main__":
    main()
