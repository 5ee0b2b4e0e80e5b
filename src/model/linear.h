/* A linear layer of the model, named by its parameter indices: a local product (blas/gemm.h), or
 * the backend's (linear_backend.h) when the weight is distributed. The one place where the model
 * chooses. */
#ifndef SG_MODEL_LINEAR_H
#define SG_MODEL_LINEAR_H

#include "model/roberta.h"

/* out[N, O] = inp[N, I] · W[w]ᵀ + bias[b] (b < 0: no bias); O, I from the weight's shape. */
void sg_model_linear_forward(sg_model *m, int w, int b, float *out, const float *inp, int N);
/* out[N, parts·O] = inp · [W[w]; …; W[w + parts - 1]]ᵀ + [bias[b]; …]: weights stored back to back
 * (params.h: query, key, value) as one product, so the input is packed once instead of per part.
 * Returns 0, computing nothing, when they are not (a distributed weight): the caller takes the
 * parts one by one. */
int sg_model_linear_forward_fused(sg_model *m, int w, int b, int parts, float *out, const float *inp, int N);
/* out[N, O] = (residual + bias[b]) + inp · W[w]ᵀ (blas/gemm.h sg_linear_forward_residual). Returns 0,
 * computing nothing, for a distributed weight. */
int sg_model_linear_forward_residual(sg_model *m, int w, int b, float *out, const float *inp, const float *residual,
                                     int N);
/* dinp = dinp_beta * dinp + dout · W (dinp NULL: skipped); grads of w (and b) accumulate. */
void sg_model_linear_backward(sg_model *m, int w, int b, float *dinp, float dinp_beta, const float *dout,
                              const float *inp, int N);

#endif
