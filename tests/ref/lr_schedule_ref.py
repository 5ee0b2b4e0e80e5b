#!/usr/bin/python3
"""Reference learning-rate curves for HF's schedulers (transformers.get_scheduler with
--lr_scheduler_type and --lr_scheduler_kwargs), written from their documented definitions: each is
a torch LambdaLR whose multiplier of the initial learning rate at optimizer step t (0-based) is

  warmup (all but constant):  t / max(1, W) while t < W
  linear:                     max(0, (N - t) / max(1, N - W))
  cosine:                     max(0, (1 + cos(pi * 2 * num_cycles * p)) / 2),   p = (t - W) / max(1, N - W)
  cosine_with_restarts:       0 once p >= 1, else max(0, (1 + cos(pi * frac(num_cycles * p))) / 2)
  polynomial:                 lr_end / lr past N, else ((lr - lr_end) * (1 - (t - W) / (N - W))^power + lr_end) / lr
  constant:                   1 (no warmup)
  constant_with_warmup:       1
  inverse_sqrt:               1 / sqrt((t + timescale - W) / timescale), timescale default W or 10000

Defaults: num_cycles 0.5 (cosine) / 1 (restarts), lr_end 1e-7, power 1.0. If torch is importable
the curves are also run through torch.optim.lr_scheduler.LambdaLR to confirm the multiplier is what
an optimizer sees step by step.

Writes cases to a text file that tests/unit/test_lr_schedule.c checks when SG_LR_CASES names it:
    case <scheduler> <lr> <warmup> <total> <num_cycles> <lr_end> <power> <timescale> <steps>
    expect <steps numbers: the multiplier at t = 0 .. steps-1>
(kwargs 0 = not given: HF's default applies.)
"""
import argparse
import math


def multiplier(kind, t, lr, W, N, num_cycles, lr_end, power, timescale):
    if kind == "constant":
        return 1.0
    if t < W:
        return t / max(1, W)
    p = (t - W) / max(1, N - W)
    if kind == "linear":
        return max(0.0, (N - t) / max(1, N - W))
    if kind == "cosine":
        c = num_cycles or 0.5
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 2.0 * c * p)))
    if kind == "cosine_with_restarts":
        c = num_cycles or 1.0
        if p >= 1.0:
            return 0.0
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * math.fmod(c * p, 1.0))))
    if kind == "polynomial":
        end = lr_end or 1e-7
        pw = power or 1.0
        if t > N:
            return end / lr
        return ((lr - end) * (1.0 - (t - W) / (N - W)) ** pw + end) / lr
    if kind == "constant_with_warmup":
        return 1.0
    if kind == "inverse_sqrt":
        ts = timescale or (W if W > 0 else 10000)
        return 1.0 / math.sqrt((t + ts - W) / ts)
    raise ValueError(kind)


def through_torch(curve, lr):
    """The same multipliers as an optimizer's learning rate under LambdaLR, when torch is here."""
    try:
        import torch
    except ImportError:
        return
    w = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([w], lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: curve[t])
    for t in range(len(curve) - 1):
        got = opt.param_groups[0]["lr"]
        assert abs(got - lr * curve[t]) <= 1e-12 * lr, (t, got, lr * curve[t])
        opt.step()
        sched.step()


CASES = [  # scheduler, lr, warmup, total, num_cycles, lr_end, power, timescale
    ("linear", 1e-3, 0, 30, 0, 0, 0, 0),
    ("linear", 1e-3, 6, 30, 0, 0, 0, 0),
    ("cosine", 1e-3, 0, 30, 0, 0, 0, 0),
    ("cosine", 2e-5, 5, 40, 0, 0, 0, 0),
    ("cosine", 1e-3, 4, 30, 1.5, 0, 0, 0),
    ("cosine_with_restarts", 1e-3, 0, 30, 0, 0, 0, 0),
    ("cosine_with_restarts", 1e-3, 5, 35, 3, 0, 0, 0),
    ("polynomial", 1e-3, 0, 30, 0, 0, 0, 0),
    ("polynomial", 1e-3, 5, 30, 0, 1e-4, 2.0, 0),
    ("polynomial", 5e-4, 3, 20, 0, 1e-5, 0.5, 0),
    ("constant", 1e-3, 0, 30, 0, 0, 0, 0),
    ("constant", 1e-3, 7, 30, 0, 0, 0, 0),  # warmup ignored
    ("constant_with_warmup", 1e-3, 0, 30, 0, 0, 0, 0),
    ("constant_with_warmup", 1e-3, 8, 30, 0, 0, 0, 0),
    ("inverse_sqrt", 1e-3, 0, 30, 0, 0, 0, 0),
    ("inverse_sqrt", 1e-3, 6, 30, 0, 0, 0, 0),
    ("inverse_sqrt", 1e-3, 6, 30, 0, 0, 0, 7),
    ("linear", 1e-3, 1, 1, 0, 0, 0, 0),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    with open(args.out, "w") as f:
        for kind, lr, W, N, cyc, end, pw, ts in CASES:
            steps = N + 3  # past the end: linear and cosine stay at 0, polynomial at lr_end
            curve = [multiplier(kind, t, lr, W, N, cyc, end, pw, ts) for t in range(steps)]
            through_torch(curve, lr)
            f.write(f"case {kind} {lr!r} {W} {N} {cyc!r} {end!r} {pw!r} {ts!r} {steps}\n")
            f.write("expect " + " ".join(repr(x) for x in curve) + "\n")
    print(f"{len(CASES)} scheduler cases written to {args.out}")


if __name__ == "__main__":
    main()
