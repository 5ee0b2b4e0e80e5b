#include "core/rng.h"
#include "core/simd.h"
#include "model/ops.h"

/* The mask is recomputed from the counter-based generator in the backward pass; its 64-bit hash
 * vectorizes only with AVX-512 (core/simd.h), so these loops have AVX-512/AVX2 versions. */
SG_ISA_BODY void dropout_range_body(float *out, const float *inp, size_t lo, size_t hi, float p, uint64_t key,
                                    uint64_t first) {
    const float keep = 1.0f / (1.0f - p); /* sg_dropout_scale, hoisted */
    for (size_t i = lo; i < hi; i++) out[i] = inp[i] * (sg_uniform_at(key, first + i) >= p ? keep : 0.0f);
}

SG_ISA_VERSIONS_VOID(dropout_range,
                     (float *out, const float *inp, size_t lo, size_t hi, float p, uint64_t key, uint64_t first),
                     (out, inp, lo, hi, p, key, first))

SG_ISA_BODY void dropout_backward_range_body(float *dinp, int accumulate, const float *dout, size_t lo, size_t hi,
                                             float p, uint64_t key, uint64_t first) {
    const float keep = 1.0f / (1.0f - p);
    for (size_t i = lo; i < hi; i++) {
        float g = dout[i] * (sg_uniform_at(key, first + i) >= p ? keep : 0.0f);
        dinp[i] = accumulate ? dinp[i] + g : g;
    }
}

SG_ISA_VERSIONS_VOID(dropout_backward_range,
                     (float *dinp, int accumulate, const float *dout, size_t lo, size_t hi, float p, uint64_t key,
                      uint64_t first),
                     (dinp, accumulate, dout, lo, hi, p, key, first))

static sg_dropout_observer g_observer;
static void *g_observer_ctx;

void sg_dropout_set_observer(sg_dropout_observer observer, void *ctx) {
    g_observer = observer;
    g_observer_ctx = ctx;
}

void sg_dropout_forward(float *out, const float *inp, size_t n, float p, uint64_t seed, uint64_t stream) {
    sg_dropout_forward_at(out, inp, n, p, seed, stream, 0);
}

void sg_dropout_backward(float *dinp, int accumulate, const float *dout, size_t n, float p, uint64_t seed,
                         uint64_t stream) {
    sg_dropout_backward_at(dinp, accumulate, dout, n, p, seed, stream, 0);
}

void sg_dropout_forward_at(float *out, const float *inp, size_t n, float p, uint64_t seed, uint64_t stream,
                           uint64_t first) {
    if (p <= 0.0f) {
        if (out != inp)
#pragma omp parallel for schedule(static)
            for (size_t i = 0; i < n; i++) out[i] = inp[i];
        return;
    }
    if (g_observer) { /* unset first: the observer's own sg_dropout_forward must not report itself */
        sg_dropout_observer observer = g_observer;
        g_observer = NULL;
        observer(g_observer_ctx, n, p, seed, stream);
        g_observer = observer;
    }
    const uint64_t key = sg_stream_key(seed, stream);
#pragma omp parallel
    {
        size_t lo, hi;
        sg_thread_share(n, &lo, &hi);
        dropout_range(out, inp, lo, hi, p, key, first);
    }
}

void sg_dropout_backward_at(float *dinp, int accumulate, const float *dout, size_t n, float p, uint64_t seed,
                            uint64_t stream, uint64_t first) {
    if (p <= 0.0f) {
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) dinp[i] = accumulate ? dinp[i] + dout[i] : dout[i];
        return;
    }
    const uint64_t key = sg_stream_key(seed, stream);
#pragma omp parallel
    {
        size_t lo, hi;
        sg_thread_share(n, &lo, &hi);
        dropout_backward_range(dinp, accumulate, dout, lo, hi, p, key, first);
    }
}
