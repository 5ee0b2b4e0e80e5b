/* Data parallelism (`spikeglue run --dp D`): D replicas of the model, each training on its share
 * of every global batch, their gradients summed so that every replica takes the same AdamW step.
 * The world of D x P ranks (P = --tp, 1 without it) is cut into tensor-parallel groups of P
 * consecutive ranks (parallel/tp.h); the data-parallel group of a rank is the D ranks holding the
 * same place in their tensor-parallel groups, so their local slices of every tensor align.
 * The model stays MPI-free: the trainer gives it a row offset and the global batch's size
 * (roberta.h row_offset, global_rows) and an LSQ reducer (model/lsq.h), and sums the gradients here.
 *
 * Every function taking a group is collective over it. */
#ifndef SG_DP_H
#define SG_DP_H

#include "model/roberta.h"

#include <mpi.h>
#include <stddef.h>

typedef struct sg_dp_group {
    MPI_Comm comm;
    int size, rank;     /* D, and this replica's place among them */
    int owns_mpi;       /* sg_dp_init called MPI_Init, so sg_dp_free calls MPI_Finalize */
    sg_lsq_reducer lsq; /* sums LSQ statistics over comm (installed by sg_dp_attach_lsq) */
} sg_dp_group;

/* Split MPI_COMM_WORLD (D x P ranks, else a one-line error) into data-parallel groups: world rank
 * w belongs to group w mod P, at place w / P. Calls MPI_Init when MPI is not initialised yet. */
int sg_dp_init(int D, int P, sg_dp_group *g);
void sg_dp_free(sg_dp_group *g);

/* x summed over the group, in place (any length: sent in buckets MPI's int counts can hold). */
void sg_dp_allreduce_floats(const sg_dp_group *g, float *x, size_t n);
double sg_dp_allreduce_sum(const sg_dp_group *g, double x);
void sg_dp_allreduce_doubles(const sg_dp_group *g, double *x, size_t n);
void sg_dp_allreduce_ints(const sg_dp_group *g, int *x, size_t n);

/* Sums started while other work goes on (MPI_Iallreduce in buckets) and waited for together. */
typedef struct {
    const sg_dp_group *g;
    MPI_Request *req;
    int pending, cap;
} sg_dp_sum;
int sg_dp_sum_init(sg_dp_sum *s, const sg_dp_group *g);
/* Start summing x[0, n) in place over the group; x must not be touched until sg_dp_sum_wait.
 * Also lets the sums started earlier progress (MPI moves data only inside MPI calls). 0 / -1. */
int sg_dp_sum_start(sg_dp_sum *s, float *x, size_t n);
void sg_dp_sum_wait(sg_dp_sum *s);
void sg_dp_sum_free(sg_dp_sum *s);

/* Rows [*lo, *hi) of a global batch of `rows` rows that this replica takes: contiguous blocks of
 * per_replica rows in replica order (the last replicas may get fewer, or none). */
void sg_dp_rows(const sg_dp_group *g, int rows, int per_replica, int *lo, int *hi);

/* Every quantizer of m takes its initialisation / calibration statistic over the whole group. */
void sg_dp_attach_lsq(sg_model *m, sg_dp_group *g);

#endif
