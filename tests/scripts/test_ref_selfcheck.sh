#!/usr/bin/env bash
# The PyTorch reference checks itself (finite differences in float64, an nn.TransformerEncoderLayer
# cross-check, padding invariance, checkpoint round trips) before the C model is judged by it.
set -euo pipefail
SRC=$2
if ! /usr/bin/python3 -c "import torch, numpy" 2>/dev/null; then echo "SKIP: Debian's python3-torch is not installed"; exit 77; fi
exec /usr/bin/python3 "$SRC/tests/ref/selfcheck.py"
