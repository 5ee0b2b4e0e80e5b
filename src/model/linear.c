#include "model/linear.h"

#include "blas/gemm.h"

void sg_model_linear_forward(sg_model *m, int w, int b, float *out, const float *inp, int N) {
    const sg_param_info *p = &m->table.info[w];
    const int O = (int)p->shape[0], I = (int)p->shape[1];
    const float *bias = b >= 0 ? sg_model_param(m, b) : NULL;
    if (sg_model_param_distributed(m, w)) m->linear->forward(m->linear, out, inp, sg_model_param(m, w), bias, N, I, O);
    else sg_linear_forward(out, inp, sg_model_param(m, w), bias, N, I, O);
}

void sg_model_linear_backward(sg_model *m, int w, int b, float *dinp, float dinp_beta, const float *dout,
                              const float *inp, int N) {
    const sg_param_info *p = &m->table.info[w];
    const int O = (int)p->shape[0], I = (int)p->shape[1];
    float *dbias = b >= 0 ? sg_model_grad(m, b) : NULL;
    if (sg_model_param_distributed(m, w))
        m->linear->backward(m->linear, dinp, dinp_beta, sg_model_grad(m, w), dbias, dout, inp, sg_model_param(m, w), N, I, O);
    else sg_linear_backward(dinp, dinp_beta, sg_model_grad(m, w), dbias, dout, inp, sg_model_param(m, w), N, I, O);
}
