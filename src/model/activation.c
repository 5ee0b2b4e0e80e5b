#include "model/ops.h"

#include <math.h>

void sg_relu_forward(float *out, const float *inp, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) out[i] = inp[i] > 0.0f ? inp[i] : 0.0f;
}

void sg_relu_backward(float *dinp, const float *dout, const float *inp, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) { /* both loads unconditional: a select, not a branch on the sign */
        float g = dout[i];
        dinp[i] = inp[i] > 0.0f ? g : 0.0f;
    }
}

void sg_gelu_forward(float *out, const float *inp, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) out[i] = 0.5f * inp[i] * (1.0f + erff(inp[i] * 0.70710678118654752f));
}

void sg_gelu_backward(float *dinp, const float *dout, const float *inp, size_t n) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        float cdf = 0.5f * (1.0f + erff(x * 0.70710678118654752f));
        float pdf = 0.39894228040143268f * expf(-0.5f * x * x);
        dinp[i] = dout[i] * (cdf + x * pdf);
    }
}

void sg_position_ids(int32_t *pos, const int32_t *ids, int B, int T, int pad_id) {
    for (int b = 0; b < B; b++) {
        int32_t count = 0;
        for (int t = 0; t < T; t++) {
            int real = ids[b * T + t] != pad_id;
            count += real;
            pos[b * T + t] = real ? pad_id + count : pad_id;
        }
    }
}
