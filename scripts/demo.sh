#!/usr/bin/env bash
# The README's demo command: installs what is missing, builds, and runs the demo.
# Today the demo builds a tiny RoBERTa-ReLU checkpoint in HF layout and checks it loads; the
# sweep over synthetic GLUE-style tasks replaces this as soon as `spikeglue sweep` lands.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
OUT=${SG_DEMO_OUT:-results/demo}
mkdir -p "$OUT"
build/spikeglue --version
build/spikeglue init-model --size tiny --num-labels 2 --seed 42 --out "$OUT/tiny-model"
build/spikeglue model-info "$OUT/tiny-model"
