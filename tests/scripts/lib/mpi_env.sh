# Sourced by the script tests that run spikeglue under mpirun, after they set BUILD and SRC:
# Open MPI as root on oversubscribed cores, ranks that yield while they wait (2 shared cores), one
# OpenMP thread each, and under the sanitizer build LeakSanitizer's suppressions for Open MPI's own
# allocations with full unwinding (so that libmpi.so stays in their stacks).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_mpi_yield_when_idle=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
if [ "${SG_SANITIZED:-0}" = 1 ] || grep -qs '^SG_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt"; then
  export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$SRC/tests/lsan.supp:print_suppressions=0}"
  export ASAN_OPTIONS="${ASAN_OPTIONS:-}:fast_unwind_on_malloc=0"
fi
