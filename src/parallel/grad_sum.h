/* The gradient of one optimizer step summed over the data-parallel replicas (issue #16,
 * docs/scaling.md), as the trainer and bench/bench_dp.c take it:
 *  - during the step's last backward, each part (the head, then each layer) is summed with
 *    MPI_Iallreduce as soon as the backward has finished it (the model's grads_ready hook), and the
 *    sums in flight are let progress between the backward's products (the model's progress hook:
 *    Open MPI moves a non-blocking sum's data only inside MPI calls);
 *  - after it, the embeddings: of the word embeddings only the rows some replica's tokens touched
 *    (parallel/row_sum.h), unless an output layer tied to them touches every row (the masked-LM
 *    decoder); then the quantizer steps; then every sum is waited for.
 * The result is the dense sum's (row_sum.h says how exactly). Collective over the group. */
#ifndef SG_GRAD_SUM_H
#define SG_GRAD_SUM_H

#include "parallel/dp.h"
#include "parallel/row_sum.h"

typedef struct {
    sg_model *m;
    sg_dp_sum sum;
    sg_row_sum words;   /* the word embeddings' touched rows */
    int sparse_words;   /* 1: sum the word embeddings' touched rows only (set by init; a benchmark may clear it) */
    int progress_pokes; /* 1: progress the sums between the backward's products (likewise) */
    int failed;
} sg_dp_grad_sum;

/* m's gradients must be allocated (sg_model_reserve with training). 0 / -1. */
int sg_dp_grad_sum_init(sg_dp_grad_sum *s, const sg_dp_group *g, sg_model *m);
void sg_dp_grad_sum_free(sg_dp_grad_sum *s);
/* At the start of an optimizer step (before its first micro-batch). */
void sg_dp_grad_sum_begin(sg_dp_grad_sum *s);
/* Each micro-batch of this replica's rows, before its forward; last: the step's last one, whose
 * backward then starts the sums (the model's hooks are set until sg_dp_grad_sum_finish). */
void sg_dp_grad_sum_batch(sg_dp_grad_sum *s, const sg_batch *b, int last);
/* After the last backward: the rest of the sums, then waits for all; removes the hooks. 0 / -1. */
int sg_dp_grad_sum_finish(sg_dp_grad_sum *s);

#endif
