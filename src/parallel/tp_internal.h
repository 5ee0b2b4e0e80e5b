/* The state behind a tensor-parallel model's linear backend (sg_model.linear), shared by
 * tp_model.c and tp_linear.c only. */
#ifndef SG_TP_INTERNAL_H
#define SG_TP_INTERNAL_H

#include "parallel/tp.h"

struct sg_tp_model {
    sg_linear_backend base; /* first: the model holds &base */
    const sg_tp_group *g;
    sg_tp_layout layout;
    int *counts, *displs; /* [P] for MPI_Allgatherv / MPI_Gatherv */
    float *operand;       /* a product's copied-out operand: X transposed, or this rank's columns of dY */
    float *gathered;      /* a distributed result, every rank's block packed */
    size_t floats;        /* capacity of each */
    sg_tp_stats stats;
};

#endif
