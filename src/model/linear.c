#include "model/linear.h"

#include "blas/gemm.h"

void sg_model_linear_forward(sg_model *m, int w, int b, float *out, const float *inp, int N) {
    const sg_param_info *p = &m->table.info[w];
    const int O = (int)p->shape[0], I = (int)p->shape[1];
    const float *bias = b >= 0 ? sg_model_param(m, b) : NULL;
    if (sg_model_param_distributed(m, w)) m->linear->forward(m->linear, out, inp, sg_model_param(m, w), bias, N, I, O);
    else sg_linear_forward(out, inp, sg_model_param(m, w), bias, N, I, O);
}

int sg_model_linear_forward_fused(sg_model *m, int w, int b, int parts, float *out, const float *inp, int N) {
    const sg_param_info *p = m->table.info;
    const int O = (int)p[w].shape[0], I = (int)p[w].shape[1];
    for (int i = 0; i < parts; i++) /* whole and back to back, weights and biases alike */
        if (sg_model_param_distributed(m, w + i) || p[w + i].offset != p[w].offset + (size_t)i * O * I ||
            p[w + i].shape[0] != O || p[w + i].shape[1] != I || p[b + i].offset != p[b].offset + (size_t)i * O)
            return 0;
    sg_linear_forward(out, inp, sg_model_param(m, w), sg_model_param(m, b), N, I, parts * O);
    return 1;
}

int sg_model_linear_forward_residual(sg_model *m, int w, int b, float *out, const float *inp, const float *residual,
                                     int N) {
    if (sg_model_param_distributed(m, w)) return 0;
    const sg_param_info *p = &m->table.info[w];
    sg_linear_forward_residual(out, inp, sg_model_param(m, w), sg_model_param(m, b), residual, N, (int)p->shape[1],
                               (int)p->shape[0]);
    return 1;
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
