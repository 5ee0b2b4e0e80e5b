/* The model's linear-layer backend: who computes the products of weights whose rows are not all
 * stored here (params.h `dist`), and where those rows live. It is filled in from above — the
 * tensor-parallel layer (parallel/tp.h) installs one — so the model includes nothing of the code
 * behind it. A model without a backend (m->linear == NULL) keeps every weight whole and computes
 * every product with the local BLAS (blas/gemm.h): a run that never uses MPI never reaches MPI code. */
#ifndef SG_MODEL_LINEAR_BACKEND_H
#define SG_MODEL_LINEAR_BACKEND_H

#include <stddef.h>

typedef struct sg_linear_backend sg_linear_backend;

struct sg_linear_backend {
    /* out[rows, O] = inp[rows, I] · Wᵀ + bias, W holding this backend's rows of the [O, I] weight;
     * inp and out whole (identical wherever the backend runs). Same contract as sg_linear_forward. */
    void (*forward)(sg_linear_backend *b, float *out, const float *inp, const float *W, const float *bias, int rows,
                    int in_dim, int out_dim);
    /* dinp = dinp_beta·dinp + dout·W (dinp NULL: skipped); dW, dbias (local rows) accumulate. */
    void (*backward)(sg_linear_backend *b, float *dinp, float dinp_beta, float *dW, float *dbias, const float *dout,
                     const float *inp, const float *W, int rows, int in_dim, int out_dim);
    /* Scratch for products of up to `floats` elements per operand (called by sg_model_reserve). 0 / -1. */
    int (*reserve)(sg_linear_backend *b, size_t floats);
    /* The weight's row (HF output feature) that local row `local_row` stores. */
    int (*global_row)(const sg_linear_backend *b, int local_row);
    /* Frees the backend; sg_model_free calls it. */
    void (*release)(sg_linear_backend *b);
};

#endif
