/* Sharding independent rows over the ranks of one run (`spikeglue run --dp D [--tp P]`): the
 * spiking simulation's batches go round-robin over every rank of the run (after the tensor-parallel
 * model is gathered each holds the whole network), and what each rank computed is gathered by sums
 * in which every other rank contributes 0, so the result is exactly one process's.
 *
 * A shard over MPI_COMM_NULL is one process: every function is then a no-op without MPI (a plain
 * run never initialises MPI). Every other function is collective over the shard's ranks. */
#ifndef SG_SHARD_H
#define SG_SHARD_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    MPI_Comm comm; /* the run's ranks, or MPI_COMM_NULL */
    int size, rank;
} sg_shard;

/* The shard over comm (not duplicated: comm must outlive it). */
void sg_shard_of(sg_shard *s, MPI_Comm comm);
/* Batch k of a split goes to rank k mod size. */
static inline int sg_shard_takes(const sg_shard *s, int k) { return k % s->size == s->rank; }
/* Rounds of the round-robin: ceil(batches / size); round r holds batches r*size .. r*size+size-1. */
static inline int sg_shard_rounds(const sg_shard *s, int batches) { return (batches + s->size - 1) / s->size; }

/* Sums in place over the shard (any n: sent in buckets). */
void sg_shard_sum_ints(const sg_shard *s, int *x, size_t n);
void sg_shard_sum_floats(const sg_shard *s, float *x, size_t n);
void sg_shard_sum_u64(const sg_shard *s, uint64_t *x, size_t n);
int sg_shard_max_int(const sg_shard *s, int x);

/* Global progress without waiting: after each round every rank posts how many rows it has done so
 * far (a non-blocking sum); post returns the largest global count completed so far (it lags the
 * slowest rank, never blocks). Every rank posts exactly `rounds` times, then finishes. */
typedef struct {
    const sg_shard *s;
    int rounds, posted, seen;
    long *mine, *sum, known;
    MPI_Request *req;
} sg_shard_progress;
int sg_shard_progress_init(sg_shard_progress *p, const sg_shard *s, int rounds); /* 0 / -1 (memory) */
long sg_shard_progress_post(sg_shard_progress *p, long done_here);
/* Waits for every posted sum (posts the missing rounds with done_here first); the global total. */
long sg_shard_progress_finish(sg_shard_progress *p, long done_here);
void sg_shard_progress_free(sg_shard_progress *p);

#endif
