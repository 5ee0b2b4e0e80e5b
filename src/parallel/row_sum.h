/* The sum over a group of a matrix most of whose rows are zero on every rank: the word-embedding
 * gradient of a step (a global batch of 16 x 128 tokens touches at most 2 048 of roberta-base's
 * 50 265 rows). Each rank marks the rows it touched; the marks are ORed over the group (one bit a
 * row), and only the union's rows are packed, summed and unpacked. Every rank packs the same rows
 * in the same (ascending) order, so each packed element is the same D terms the dense sum adds, and
 * rows nobody touched are zero everywhere and stay zero: at D = 2 the result equals the dense sum
 * bit for bit (at D > 2 MPI may associate the terms of a shorter message differently, as it may
 * for any message). A union of more than half the rows is summed densely instead.
 *
 * Use, every step: clear, touch the rows of each micro-batch, share (starts the OR), then, once
 * the matrix is final, start (its sum goes on the sg_dp_sum's list) and, after sg_dp_sum_wait,
 * finish. Every function but touch is collective over the group. */
#ifndef SG_ROW_SUM_H
#define SG_ROW_SUM_H

#include "parallel/dp.h"

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    MPI_Comm comm;
    size_t rows, cols, words; /* words: 64-bit words of a row bitmap */
    uint64_t *mine, *any;     /* rows this rank touched; their OR over the group */
    MPI_Request any_req;      /* the OR in flight (MPI_REQUEST_NULL when none or done) */
    int shared;               /* the OR was started for the coming sum */
    float *packed;            /* the union's rows, packed */
    size_t packed_cap;        /* floats */
    size_t union_rows;        /* rows of the last sum's union */
    int dense;                /* the last sum was dense (the union too large to pack) */
} sg_row_sum;

int sg_row_sum_init(sg_row_sum *s, const sg_dp_group *g, size_t rows, size_t cols);
void sg_row_sum_free(sg_row_sum *s);
/* No row touched (local). */
void sg_row_sum_clear(sg_row_sum *s);
/* Rows ids[0..n) touched (local; ids outside [0, rows) are not rows and are ignored). */
void sg_row_sum_touch(sg_row_sum *s, const int32_t *ids, size_t n);
/* Start ORing the touched rows over the group (non-blocking: any MPI call lets it progress). */
void sg_row_sum_share(sg_row_sum *s);
/* x [rows, cols] is final: wait for the OR, pack x's union rows and start their sum on `sum`
 * (or x's dense sum). Neither x nor the packed rows may be touched until sg_dp_sum_wait. 0 / -1. */
int sg_row_sum_start(sg_row_sum *s, sg_dp_sum *sum, float *x);
/* After sg_dp_sum_wait: the summed rows back into x. */
void sg_row_sum_finish(sg_row_sum *s, float *x);

#endif
