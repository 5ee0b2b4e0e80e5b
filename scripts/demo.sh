#!/usr/bin/env bash
# The README's demo: installs what is missing, builds, and runs the demo sweep — synthetic
# SST-2/MRPC/STS-B-layout tasks x 2 seeds x {baseline, q8, q16, q32} with builtin:tiny on 2 MPI
# ranks: fine-tune, quantization-aware fine-tune, convert to a spiking network, simulate it —
# then prints the leaderboard. Extra arguments go to `spikeglue sweep` (e.g. --results DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ "$(id -u)" = 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMPI_MCA_rmaps_base_oversubscribe=1   # 2 ranks also on a 1-core machine
RANKS=${SG_DEMO_RANKS:-2}
# --resume: a second run of the demo only prints the leaderboard again
exec mpirun -n "$RANKS" build/spikeglue sweep jobs/demo.yaml --resume "$@"
