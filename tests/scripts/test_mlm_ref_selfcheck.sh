#!/usr/bin/env bash
# The masked-LM PyTorch reference checks itself (finite differences in float64, the tied decoder's two
# gradient paths, HF's parameter names and decay groups from torch.nn modules, a hand-written AdamW loop,
# the masking collator's 15% / 80-10-10 statistics, the CLI) before the C model is judged by it.
set -euo pipefail
SRC=$2
if ! /usr/bin/python3 -c "import torch, numpy" 2>/dev/null; then echo "SKIP: Debian's python3-torch is not installed"; exit 77; fi
exec /usr/bin/python3 "$SRC/tests/ref/mlm_selfcheck.py"
