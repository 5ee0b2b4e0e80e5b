# The data-parallel gradient sum of the word embeddings' touched rows only (issue #16): under
# mpirun -n 2, tests/tools/dp_row_sum_check.c requires it to equal the dense MPI sum bit for bit,
# on random row sets that differ by rank and on a tiny classifier's whole gradient.
set -uo pipefail
BUILD=$(cd "$1" && pwd); SRC=$(cd "$2" && pwd)
command -v mpirun > /dev/null || { echo "SKIP: mpirun not installed"; exit 77; }
[ -x "$BUILD/tests/dp_row_sum_check" ] || { echo "no $BUILD/tests/dp_row_sum_check"; exit 1; }
source "$SRC/tests/scripts/lib/mpi_env.sh"
mpirun -n 2 "$BUILD/tests/dp_row_sum_check"
