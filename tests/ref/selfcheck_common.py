"""What the reference self-checks share (selfcheck.py, qann_selfcheck.py, mlm_selfcheck.py):
one printed line per check, the failures counted for the exit code, and loading a case directory
written by a reference's make-case."""

import os

from safetensors_io import read_safetensors

FAILURES = []


def check(ok, what, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {what}{'  (' + detail + ')' if detail else ''}")
    if not ok:
        FAILURES.append(what)


def summary():
    """The last line and the exit code: 0 when every check passed."""
    print("all checks passed" if not FAILURES else f"{len(FAILURES)} check(s) FAILED: {', '.join(FAILURES)}")
    return 1 if FAILURES else 0


def load_case(ref, case_dir):
    """A make-case directory read through the reference module `ref` (roberta_ref or mlm_ref):
    config, parameters, batch and the expected outputs."""
    cfg, params = ref.load_model(os.path.join(case_dir, "model"))
    batch = ref.read_batch(os.path.join(case_dir, "batch.json"))
    expected, _ = read_safetensors(os.path.join(case_dir, "expected.safetensors"))
    return cfg, params, batch, expected


def to_double(params):
    """float64 leaf copies, for finite differences and float32-vs-float64 checks."""
    return {n: t.detach().double().requires_grad_(True) for n, t in params.items()}
