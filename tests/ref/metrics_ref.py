#!/usr/bin/python3
"""Reference values for the GLUE metrics (src/data/metrics.c), computed independently with numpy
and scipy the way HuggingFace `evaluate`'s glue metric does (sklearn's f1_score and
matthews_corrcoef formulas written out in numpy, since sklearn is not installed; scipy's pearsonr
and spearmanr as-is). Writes random cases, including ties, constant inputs and tiny n, to a text
file that tests/unit/test_metrics.c checks when SG_METRICS_CASES points at it.

Case format (one case = 4 lines):
    case <metric-bits> <n>
    pred <n numbers>
    label <n numbers>
    expect <name> <value> [<name> <value> ...]      (value "nan" for NaN)
Bits: 1 accuracy, 2 f1, 4 matthews_correlation, 8 pearson, 16 spearmanr.
"""
import argparse
import warnings

import numpy as np
from scipy import stats

ACC, F1, MCC, PEARSON, SPEARMAN = 1, 2, 4, 8, 16
TASK_SETS = {  # the per-task sets HF reports
    "cola": MCC, "sst2": ACC, "mnli": ACC, "qnli": ACC, "rte": ACC, "wnli": ACC,
    "mrpc": ACC | F1, "qqp": ACC | F1, "stsb": PEARSON | SPEARMAN,
}


def f1_binary(pred, label):
    tp = float(np.sum((pred == 1) & (label == 1)))
    fp = float(np.sum((pred == 1) & (label != 1)))
    fn = float(np.sum((pred != 1) & (label == 1)))
    denom = 2 * tp + fp + fn
    return 0.0 if denom == 0 else 2 * tp / denom


def matthews(pred, label):
    k = int(max(pred.max(), label.max())) + 1
    cm = np.zeros((k, k), dtype=np.float64)
    np.add.at(cm, (label, pred), 1.0)
    t_sum, p_sum = cm.sum(axis=1), cm.sum(axis=0)
    n_correct, n = np.trace(cm), cm.sum()
    cov_ytyp = n_correct * n - np.dot(t_sum, p_sum)
    cov_ypyp = n * n - np.dot(p_sum, p_sum)
    cov_ytyt = n * n - np.dot(t_sum, t_sum)
    if cov_ypyp * cov_ytyt == 0:
        return 0.0
    return float(cov_ytyp / np.sqrt(cov_ytyt * cov_ypyp))


def reference(bits, pred, label):
    out = []
    if bits & ACC:
        out.append(("accuracy", float((pred == label).mean())))
    if bits & F1:
        out.append(("f1", f1_binary(pred, label)))
    if bits & MCC:
        out.append(("matthews_correlation", matthews(pred, label)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # constant input: scipy warns and returns nan
        if bits & PEARSON:
            out.append(("pearson", float(stats.pearsonr(pred, label)[0])))
        if bits & SPEARMAN:
            out.append(("spearmanr", float(stats.spearmanr(pred, label)[0])))
    if len(out) > 1:
        out.append(("combined_score", float(np.mean([v for _, v in out]))))
    return out


def classification_case(rng, bits, classes):
    n = int(rng.choice([1, 2, 3, 5, 17, 64, 257, 1000]))
    label = rng.integers(0, classes, n)
    kind = rng.integers(0, 6)
    if kind == 0:
        pred = np.zeros(n, dtype=np.int64)                       # constant prediction
    elif kind == 1:
        pred = label.copy()                                       # perfect
    elif kind == 2:
        pred = (classes - 1) - label                              # inverted
    else:
        noise = rng.random()                                      # partly right
        pred = np.where(rng.random(n) < noise, rng.integers(0, classes, n), label)
    if rng.random() < 0.1:
        label = np.full(n, int(rng.integers(0, classes)))         # constant gold labels
    return pred.astype(np.int64), label.astype(np.int64)


def regression_case(rng):
    n = int(rng.choice([2, 3, 4, 10, 33, 100, 500]))
    label = rng.integers(0, 26, n) / 5.0                          # STS-B-like, many ties
    kind = rng.integers(0, 5)
    if kind == 0:
        pred = np.round(label + rng.normal(0, 1, n), 1)          # ties in predictions too
    elif kind == 1:
        pred = label + rng.normal(0, 0.5, n)
    elif kind == 2:
        pred = np.full(n, 2.5)                                    # constant -> nan
    elif kind == 3:
        pred = rng.normal(0, 1, n)
    else:
        pred = -label + rng.normal(0, 0.1, n)
    # the C side reads float32 values: round here so both compute on the same numbers
    return pred.astype(np.float32).astype(np.float64), label.astype(np.float32).astype(np.float64)


def fmt(v):
    return "nan" if np.isnan(v) else repr(float(v))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--count", type=int, default=300)
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    lines = []
    for i in range(args.count):
        r = i % 5
        if r == 0:
            bits, pred, label = TASK_SETS["cola"], *classification_case(rng, TASK_SETS["cola"], 2)
        elif r == 1:
            bits, pred, label = TASK_SETS["mrpc"], *classification_case(rng, TASK_SETS["mrpc"], 2)
        elif r == 2:  # multiclass: MNLI-sized accuracy plus the multiclass Matthews formula
            bits, pred, label = ACC | MCC, *classification_case(rng, ACC | MCC, 3)
        else:
            bits, (pred, label) = TASK_SETS["stsb"], regression_case(rng)
        is_int = pred.dtype.kind == "i"
        num = (lambda v: str(int(v))) if is_int else (lambda v: "%.9g" % v)
        lines.append("case %d %d" % (bits, len(pred)))
        lines.append("pred " + " ".join(num(v) for v in pred))
        lines.append("label " + " ".join(num(v) for v in label))
        lines.append("expect " + " ".join("%s %s" % (k, fmt(v)) for k, v in reference(bits, pred, label)))
    with open(args.out, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
