/* A linear layer of the model, named by its parameter indices: a local product (blas/gemm.h), or
 * the backend's (linear_backend.h) when the weight is distributed. The one place where the model
 * chooses. */
#ifndef SG_MODEL_LINEAR_H
#define SG_MODEL_LINEAR_H

#include "model/roberta.h"

/* out[N, O] = inp[N, I] · W[w]ᵀ + bias[b] (b < 0: no bias); O, I from the weight's shape. */
void sg_model_linear_forward(sg_model *m, int w, int b, float *out, const float *inp, int N);
/* dinp = dinp_beta * dinp + dout · W (dinp NULL: skipped); grads of w (and b) accumulate. */
void sg_model_linear_backward(sg_model *m, int w, int b, float *dinp, float dinp_beta, const float *dout,
                              const float *inp, int N);

#endif
