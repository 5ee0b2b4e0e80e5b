#include "core/rng.h"
#include "model/ops.h"

void sg_dropout_forward(float *out, const float *inp, size_t n, float p, uint64_t seed, uint64_t stream) {
    if (p <= 0.0f) {
        if (out != inp)
#pragma omp parallel for schedule(static)
            for (size_t i = 0; i < n; i++) out[i] = inp[i];
        return;
    }
    const uint64_t key = sg_stream_key(seed, stream);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) out[i] = inp[i] * sg_dropout_scale(sg_uniform_at(key, i), p);
}

void sg_dropout_backward(float *dinp, int accumulate, const float *dout, size_t n, float p, uint64_t seed,
                         uint64_t stream) {
    const uint64_t key = sg_stream_key(seed, stream);
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float g = p > 0.0f ? dout[i] * sg_dropout_scale(sg_uniform_at(key, i), p) : dout[i];
        dinp[i] = accumulate ? dinp[i] + g : g;
    }
}
