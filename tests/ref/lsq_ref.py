"""PyTorch reference of the LSQInteger quantizer (shared/spec/snn-conversion.md §2), written
from the spec, independent of the C kernels (src/model/lsq.c).

The module is autograd-based, as in the LSQ paper: the step goes through a gradient-scale function
(identity forward, gradient times g = 1/sqrt(Qp*numel) backward) and the rounding through a
straight-through floor; torch.clamp supplies the in-range mask (bounds included). Nothing here
writes dx or ds by hand; `explicit_grads` does, in float64, only to check the autograd version.

CLI (Debian's /usr/bin/python3 with torch and numpy):
  lsq_ref.py make-cases --out CASES.safetensors [--seed S]
  lsq_ref.py compare --cases CASES.safetensors --c-out C_OUT.safetensors
make-cases writes the inputs (see tests/unit/test_lsq.c --ref-run for the names); compare runs the
reference on them, checks the C outputs and prints one line per case; exit 0 when all agree.
  forward y: bit-identical; dx: the same zero pattern and within 2 ulp of dy (autograd computes
  (dy*s)/s); ds: within one float32 ulp of the float64 formula (the C side sums in double) and
  within 1e-7 * g*sum|dy|*(|n_c| + |x/s|) + 4 ulp of the autograd value (float32 sums in another
  order); init trace: relative 1e-6.
"""

import argparse
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402


class GradScale(torch.autograd.Function):
    """Identity forward; the gradient is multiplied by `scale` on the way back."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.scale, None


class FloorSTE(torch.autograd.Function):
    """floor forward, straight-through (identity) backward."""

    @staticmethod
    def forward(ctx, x):
        return torch.floor(x)

    @staticmethod
    def backward(ctx, g):
        return g


class LSQInteger(torch.nn.Module):
    INIT_CALLS = 20

    def __init__(self, level, sym):
        super().__init__()
        self.level, self.sym = level, sym
        self.full = level >= 256
        if sym:
            self.qn, self.qp = float(-level // 2), float(level // 2 - 1)
        else:
            self.qn, self.qp = 0.0, float(level - 1)
        self.s = torch.nn.Parameter(torch.tensor(1.0, dtype=torch.float32))
        self.init_calls = 0

    def statistic(self, x):
        return (x.detach().abs().mean() * 2 / math.sqrt(self.qp)).to(torch.float32)

    def forward(self, x):
        if self.full:
            return x
        if self.training and self.init_calls < self.INIT_CALLS:
            with torch.no_grad():
                stat = self.statistic(x)
                if self.init_calls == 0:
                    self.s.copy_(stat)
                else:
                    self.s.copy_(0.9 * self.s + 0.1 * stat)
            self.init_calls += 1
        g = 1.0 / math.sqrt(self.qp * x.numel())
        s = GradScale.apply(self.s, g)
        n = FloorSTE.apply(x / s + 0.5)
        return torch.clamp(n, self.qn, self.qp) * s


def explicit_grads(q, x, dy, s):
    """dx and ds by the spec's formulas, in float64 (from the float32 quotient, as both sides)."""
    v = (torch.from_numpy(x) / torch.tensor(s, dtype=torch.float32)).numpy().astype(np.float64)
    c = np.floor((v.astype(np.float32) + np.float32(0.5)).astype(np.float64))
    inside = (c >= q.qn) & (c <= q.qp)
    nc = np.clip(c, q.qn, q.qp)
    dy64 = dy.astype(np.float64)
    g = 1.0 / math.sqrt(q.qp * x.size)
    ds = g * np.sum(dy64 * (nc - v * inside))
    scale = g * np.sum(np.abs(dy64) * (np.abs(nc) + np.abs(v)))
    return np.where(inside, dy64, 0.0), ds, scale


def run_grad_case(level, sym, s, x, dy):
    q = LSQInteger(level, sym)
    q.eval()
    with torch.no_grad():
        q.s.fill_(s)
    xt = torch.from_numpy(x).clone().requires_grad_(True)
    y = q(xt)
    if q.full:
        return x.copy(), dy.copy(), 0.0
    y.backward(torch.from_numpy(dy))
    return y.detach().numpy(), xt.grad.numpy(), float(q.s.grad)


def run_init_case(level, sym, batches):
    q = LSQInteger(level, sym)
    q.train()
    trace = []
    for b in batches:
        q(torch.from_numpy(b))
        trace.append(float(q.s.detach()))
    return np.array(trace, dtype=np.float32)


def make_cases(out, seed):
    rng = np.random.default_rng(seed)
    tensors = {}
    k = 0
    for level in (4, 8, 32, 256):
        for sym in (True, False):
            ref = LSQInteger(level, sym)
            qn, qp = ref.qn, ref.qp
            for kind in ("grid", "bounds", "random", "wide"):
                if kind == "grid":  # quarter steps of a power-of-two step: exact .5 ties everywhere
                    s = 0.125
                    x = s * 0.25 * rng.integers(-4 * 40, 4 * 40, size=3000)
                elif kind == "bounds":  # exactly on and around the clamp bounds and their ties
                    s = 0.5
                    base = np.array([qn, qp, qn - 0.5, qp + 0.5, qn + 0.5, qp - 0.5, qn - 1, qp + 1, 0, 0.5, -0.5])
                    x = np.concatenate([base * s, np.nextafter((base * s).astype(np.float32), np.float32(np.inf)),
                                        np.nextafter((base * s).astype(np.float32), np.float32(-np.inf))])
                elif kind == "random":  # a step that is not a power of two
                    s = 0.0371
                    x = rng.normal(0.0, 0.4, size=20000)
                    x[:200] = (np.arange(200) - 100 + 0.5) * np.float32(s)  # near-ties
                else:  # large values and a tensor above the C parallel threshold
                    s = 0.73
                    x = rng.normal(0.0, 1.0, size=40000) * 10.0 ** rng.uniform(-3, 6, size=40000)
                x = x.astype(np.float32)
                dy = rng.normal(0.0, 1.0, size=x.size).astype(np.float32)
                tensors[f"grad.{k}.params"] = np.array([level, 1 if sym else 0, s], dtype=np.float32)
                tensors[f"grad.{k}.x"] = x
                tensors[f"grad.{k}.dy"] = dy
                k += 1
    k = 0
    for level in (8, 32, 256):
        for sym in (True, False):
            scales = np.exp(rng.uniform(-3, 2, size=25))
            batches = np.stack([rng.normal(0.3, sc, size=600) for sc in scales]).astype(np.float32)
            tensors[f"init.{k}.params"] = np.array([level, 1 if sym else 0, 1.0], dtype=np.float32)
            tensors[f"init.{k}.x"] = batches
            k += 1
    write_safetensors(out, tensors)


def compare(cases_path, c_out_path):
    cases, _ = read_safetensors(cases_path)
    got, _ = read_safetensors(c_out_path)
    failures = 0
    k = 0
    while f"grad.{k}.params" in cases:
        level, sym, s = cases[f"grad.{k}.params"]
        level, sym, s = int(level), bool(sym), float(np.float32(s))
        x, dy = cases[f"grad.{k}.x"], cases[f"grad.{k}.dy"]
        y, dx, ds = run_grad_case(level, sym, s, x, dy)
        cy, cdx, cds = got[f"grad.{k}.y"], got[f"grad.{k}.dx"], float(got[f"grad.{k}.ds"][0])
        problems = []
        if not np.array_equal(y, cy):
            bad = np.flatnonzero(y != cy)
            problems.append(f"y differs at {bad.size} elements (first x={x[bad[0]]!r}: ref {y[bad[0]]!r} C {cy[bad[0]]!r})")
        if not np.array_equal(dx == 0, cdx == 0):
            problems.append("dx zero pattern differs")
        elif np.any(np.abs(dx - cdx) > 2 * np.spacing(np.abs(dy))):
            problems.append(f"dx differs by up to {np.max(np.abs(dx - cdx))}")
        q = LSQInteger(level, sym)
        if not q.full:
            edx, eds, scale = explicit_grads(q, x, dy, np.float32(s))
            # the autograd reference must itself agree with the spec's formulas
            ulp = float(np.spacing(np.float32(abs(eds))))
            if not np.array_equal(edx == 0, dx == 0) or abs(eds - ds) > 1e-7 * scale + 4 * ulp:
                problems.append(f"reference self-check: autograd ds {ds} vs explicit {eds}")
            # C sums in double and rounds once: within one float32 ulp of the float64 formula
            if abs(cds - ds) > 1e-7 * scale + 4 * ulp or abs(cds - eds) > ulp:
                problems.append(f"ds: C {cds!r} vs ref {ds!r}, float64 {eds!r} (scale {scale:.3g})")
        elif cds != 0.0:
            problems.append(f"ds {cds} for a non-quantizing level")
        tag = f"grad case {k}: level {level} {'signed' if sym else 'unsigned'} s={s:g} n={x.size}"
        n_in = int(np.sum(dx != 0))
        print(f"{tag}: {'ok' if not problems else 'FAIL ' + '; '.join(problems)} "
              f"(in range {n_in}/{x.size}, ds {ds:.6g} vs {cds:.6g})")
        failures += bool(problems)
        k += 1
    k = 0
    while f"init.{k}.params" in cases:
        level, sym, _ = cases[f"init.{k}.params"]
        level, sym = int(level), bool(sym)
        trace = run_init_case(level, sym, list(cases[f"init.{k}.x"]))
        ctrace = got[f"init.{k}.s"]
        rel = np.max(np.abs(trace - ctrace) / np.abs(trace))
        ok = rel <= 1e-6 and (level < 256 or np.all(ctrace == 1.0))
        # after call 20 the schedule stops: s stays put without an optimiser
        ok = ok and (level >= 256 or np.all(ctrace[19:] == ctrace[19]))
        print(f"init case {k}: level {level} {'signed' if sym else 'unsigned'}: "
              f"{'ok' if ok else 'FAIL'} (max relative difference {rel:.2g} over {trace.size} calls)")
        failures += not ok
        k += 1
    print(f"{failures} failed")
    return 1 if failures else 0


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make-cases")
    m.add_argument("--out", required=True)
    m.add_argument("--seed", type=int, default=1)
    c = sub.add_parser("compare")
    c.add_argument("--cases", required=True)
    c.add_argument("--c-out", required=True)
    a = p.parse_args()
    torch.set_num_threads(1)
    if a.cmd == "make-cases":
        make_cases(a.out, a.seed)
        return 0
    return compare(a.cases, a.c_out)


if __name__ == "__main__":
    sys.exit(main())
