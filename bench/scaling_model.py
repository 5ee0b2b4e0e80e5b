#!/usr/bin/env python3
"""The communication model of docs/scaling.md: predicted step time and efficiency of a roberta-base
training step (GLUE: global batch B x 128 tokens) under data parallelism (dp: ring all-reduce of the
gradients, started part by part during the backward as src/train/trainer.c does), tensor
parallelism (tp: the all-gathers and panel broadcasts of docs/tensor-parallel.md, not overlapped),
and dp x tp, on 1..64 nodes joined by links of 100 or 200 Gb/s. Prints markdown tables.

Every input is an argument, so the table can be redone with another machine's measurements:
  bench/scaling_model.py --core-gflops 60 --cores 64 --alpha-us 5
  bench/scaling_model.py ... --check T1 T2 BUSBW WAIT   # the model at 2 ranks x 1 core on this box
"""
import argparse

# roberta-base (12 x 768, FFN 3072, vocab 50265, 514 positions), 2-label head, fp32
LAYERS, C, F, VOCAB, POS = 12, 768, 3072, 50265, 514
LAYER_PARAMS = 4 * (C * C + C) + (C * F + F) + (F * C + C) + 4 * C  # q, k, v, attn out, inter, out, 2 LayerNorms
LINEAR_W = 4 * C * C + 2 * C * F  # per layer: the six weights tp distributes
EMB_PARAMS = VOCAB * C + POS * C + C + 2 * C
HEAD_PARAMS = C * C + C + 2 * C + 2
PARAMS = LAYERS * LAYER_PARAMS + EMB_PARAMS + HEAD_PARAMS
BUCKET = 1 << 24  # sg_dp_sum_start's bucket (floats)


def flops_per_token(T=128):
    linear = 3 * LAYERS * 2 * LINEAR_W  # forward + backward (dX and dW) of the six linears
    attention = 3 * LAYERS * 2 * 2 * T * C  # scores and context, forward + backward
    return linear, attention


def ring_allreduce(nbytes, n, bw, alpha, messages):
    """nccl-tests' ring: 2(n-1)/n of the bytes through each link, 2(n-1) latency hops per message."""
    if n <= 1:
        return 0.0
    return 2 * (n - 1) / n * nbytes / bw + 2 * (n - 1) * alpha * messages


def step(B, D, P, node_flops, bw, alpha, T=128):
    """(seconds, compute, tp comm, dp exposed comm) of one step on D x P nodes (one rank per node)."""
    rows = B / D  # rows per replica (tp group)
    N = rows * T
    lin, att = flops_per_token(T)
    compute = N * (lin / P + att) / node_flops  # linears split P ways, attention replicated
    backward = compute * 2 / 3
    tp = 0.0
    if P > 1:  # docs/tensor-parallel.md: 12 x 4 x f x (13 824 N + 7.08 M) bytes, ~18 collectives per layer
        f = (P - 1) / P
        tp = LAYERS * 4 * f * (2 * 6912 * N + LINEAR_W) / bw + LAYERS * 18 * (P - 1) * alpha
    dp = 0.0
    if D > 1:  # each rank sums its slice: the linear weights / P, everything else whole
        layer_floats = LAYERS * (LAYER_PARAMS - LINEAR_W + LINEAR_W / P) + HEAD_PARAMS
        emb_floats = EMB_PARAMS
        t_layers = ring_allreduce(4 * layer_floats, D, bw, alpha, LAYERS + 1)
        t_emb = ring_allreduce(4 * emb_floats, D, bw, alpha, -(-emb_floats // BUCKET))
        # the head and layers 11..1 are summed while the backward goes on below them; the
        # embeddings are final only at the end of the backward, so their sum is never hidden
        dp = max(0.0, t_layers - backward * (LAYERS - 1) / LAYERS) + t_emb
    return compute + tp + dp, compute, tp, dp


def best(B, nodes, node_flops, bw, alpha):
    """The fastest D x P = nodes with D <= B (a replica needs at least one row)."""
    options = [(D, nodes // D) for D in range(1, nodes + 1) if nodes % D == 0 and D <= B]
    return min(((D, P) + step(B, D, P, node_flops, bw, alpha) for D, P in options), key=lambda r: r[2])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--core-gflops", type=float, required=True, help="sustained training GFLOP/s of one core (measured)")
    ap.add_argument("--cores", type=int, default=64, help="cores per node")
    ap.add_argument("--alpha-us", type=float, default=5.0, help="latency per message hop, microseconds")
    ap.add_argument("--check", nargs=4, type=float, metavar=("T1", "T2", "BUSBW", "WAIT"),
                    help="bench_dp's measurements on this box: dp=1 (2 threads) and dp=2 (1 thread each) step "
                         "seconds, the all-reduce bus GB/s, dp=2's all-reduce wait in seconds")
    a = ap.parse_args()
    lin, att = flops_per_token()
    node = a.core_gflops * a.cores * 1e9
    alpha = a.alpha_us * 1e-6
    print(f"roberta-base: {PARAMS / 1e6:.1f} M parameters ({4 * PARAMS / 1e6:.0f} MB of fp32 gradient), "
          f"{(lin + att) / 1e6:.0f} MFLOP per token per training step at T = 128 "
          f"({lin / 1e6:.0f} in the linears, {att / 1e6:.1f} in attention)")
    print(f"node: {a.cores} cores x {a.core_gflops:g} GFLOP/s = {node / 1e12:.2f} TFLOP/s sustained; latency {a.alpha_us:g} us per hop\n")
    for B in (16, 32):
        t1 = B * 128 * (lin + att) / node
        print(f"### global batch {B} x 128: one node {t1 * 1e3:.0f} ms per step\n")
        print("| nodes | dp only: step (100 / 200 Gb/s) | eff. | best D x P (100 Gb/s) | step | eff. | of which tp / dp comm | best D x P (200 Gb/s) | step | eff. |")
        print("|---:|---|---|---|---:|---:|---|---|---:|---:|")
        for nodes in (1, 2, 4, 8, 16, 32, 64):
            cells = []
            if nodes <= B:
                s100, s200 = (step(B, nodes, 1, node, g * 1e9 / 8, alpha)[0] for g in (100, 200))
                cells.append(f"{s100 * 1e3:.0f} / {s200 * 1e3:.0f} ms | {t1 / nodes / s100:.2f} / {t1 / nodes / s200:.2f}")
            else:
                cells.append(f"– (more nodes than rows) | –")
            for g in (100, 200):
                D, P, s, c, tp, dp = best(B, nodes, node, g * 1e9 / 8, alpha)
                extra = f" | {tp * 1e3:.0f} / {dp * 1e3:.0f} ms" if g == 100 else ""
                cells.append(f"{D} x {P} | {s * 1e3:.0f} ms | {t1 / nodes / s:.2f}{extra}")
            print(f"| {nodes} | " + " | ".join(cells) + " |")
        print()
    if a.check:
        T1, T2, busbw, wait = a.check
        # this box: a "node" is one core (the dp=1 run's 2 threads give the per-core rate), the
        # "link" is shared memory at the measured bus bandwidth
        core = 16 * 128 * (lin + att) / T1 / 2
        s, c, tp, dp = step(16, 2, 1, core, busbw * 1e9, alpha)
        print(f"check on this machine (2 ranks x 1 core, shared memory at {busbw:g} GB/s bus bandwidth; "
              f"per-core rate from the dp=1 step: {core / 1e9:.1f} GFLOP/s): predicted dp=2 step {s:.2f} s "
              f"(compute {c:.2f}, exposed all-reduce {dp:.3f}), efficiency {T1 / s:.2f}; measured {T2:.2f} s "
              f"(all-reduce wait {wait:.3f}), efficiency {T1 / T2:.2f}")


if __name__ == "__main__":
    main()
