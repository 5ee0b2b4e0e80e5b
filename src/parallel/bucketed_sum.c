/* The in-place bucketed MPI sum (parallel/bucketed_sum.h). */
#include "parallel/bucketed_sum.h"

void sg_bucketed_sum(MPI_Comm comm, void *x, size_t n, MPI_Datatype type, size_t elem) {
    const size_t bucket = SG_SUM_BUCKET;
    for (size_t at = 0; at < n; at += bucket) {
        size_t k = n - at < bucket ? n - at : bucket;
        MPI_Allreduce(MPI_IN_PLACE, (char *)x + at * elem, (int)k, type, MPI_SUM, comm);
    }
}
