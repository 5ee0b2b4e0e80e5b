/* The in-place MPI sum of a long array, sent in buckets: what the data-parallel gradients
 * (dp.h) and the sharded SNN statistics (shard.h) both need. */
#ifndef SG_BUCKETED_SUM_H
#define SG_BUCKETED_SUM_H

#include <mpi.h>
#include <stddef.h>

/* Elements a bucket: MPI counts are ints, and smaller messages are gentler on MPI's buffers. */
#define SG_SUM_BUCKET ((size_t)1 << 24)

/* x[0..n) of `type` (elem bytes each) summed in place over comm, SG_SUM_BUCKET elements a call.
 * Collective over comm. */
void sg_bucketed_sum(MPI_Comm comm, void *x, size_t n, MPI_Datatype type, size_t elem);

#endif
