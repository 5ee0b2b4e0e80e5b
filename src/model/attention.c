/* Multi-head self-attention on planar q, k, v [N, C] (heads are column blocks of width C/H).
 * Each (batch, head) pair is independent: threads take pairs, and the small products inside run
 * single-threaded BLAS (OpenBLAS's OpenMP build does that inside a parallel region). */
#include "blas/gemm.h"
#include "model/ops.h"

#include <float.h>
#include <math.h>

void sg_softmax_row(float *p, const float *x, const int32_t *mask, int T) {
    float mx = -INFINITY;
    for (int j = 0; j < T; j++) {
        p[j] = x[j];
        if (mask && !mask[j]) p[j] += -FLT_MAX; /* HF: (1 - mask) * finfo(float32).min */
        if (p[j] > mx) mx = p[j];
    }
    float sum = 0.0f;
    for (int j = 0; j < T; j++) {
        p[j] = expf(p[j] - mx);
        sum += p[j];
    }
    float inv = 1.0f / sum;
    for (int j = 0; j < T; j++) p[j] *= inv;
}

void sg_attention_probs(float *att, const float *q, const float *k, const int32_t *mask, int B, int T, int C, int H,
                        int threads) {
    const int d = C / H;
    const float scale = 1.0f / sqrtf((float)d);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int bh = 0; bh < B * H; bh++) {
        const int b = bh / H, h = bh % H;
        const size_t off = (size_t)b * T * C + (size_t)h * d;
        float *a = att + (size_t)bh * T * T;
        sg_gemm(0, 1, T, T, d, scale, q + off, C, k + off, C, 0.0f, a, T);
        const int32_t *mk = mask + (size_t)b * T;
        for (int i = 0; i < T; i++) sg_softmax_row(a + (size_t)i * T, a + (size_t)i * T, mk, T);
    }
}

void sg_attention_context(float *ctx, const float *p, const float *v, int B, int T, int C, int H, int threads) {
    const int d = C / H;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int bh = 0; bh < B * H; bh++) {
        const int b = bh / H, h = bh % H;
        const size_t off = (size_t)b * T * C + (size_t)h * d;
        sg_gemm(0, 0, T, d, T, 1.0f, p + (size_t)bh * T * T, T, v + off, C, 0.0f, ctx + off, C);
    }
}

void sg_attention_context_backward(float *dp, float *dv, const float *dctx, const float *p, const float *v, int B, int T,
                                   int C, int H, int threads) {
    const int d = C / H;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int bh = 0; bh < B * H; bh++) {
        const int b = bh / H, h = bh % H;
        const size_t off = (size_t)b * T * C + (size_t)h * d;
        sg_gemm(0, 1, T, T, d, 1.0f, dctx + off, C, v + off, C, 0.0f, dp + (size_t)bh * T * T, T);
        sg_gemm(1, 0, T, d, T, 1.0f, p + (size_t)bh * T * T, T, dctx + off, C, 0.0f, dv + off, C);
    }
}

void sg_attention_probs_backward(float *dq, float *dk, float *datt, const float *att, const float *q, const float *k,
                                 int B, int T, int C, int H, int threads) {
    const int d = C / H;
    const float scale = 1.0f / sqrtf((float)d);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int bh = 0; bh < B * H; bh++) {
        const int b = bh / H, h = bh % H;
        const size_t off = (size_t)b * T * C + (size_t)h * d;
        float *ds = datt + (size_t)bh * T * T;
        const float *a = att + (size_t)bh * T * T;
        for (int i = 0; i < T; i++) { /* softmax backward */
            float *g = ds + (size_t)i * T;
            const float *pr = a + (size_t)i * T;
            float dot = 0.0f;
            for (int j = 0; j < T; j++) dot += g[j] * pr[j];
            for (int j = 0; j < T; j++) g[j] = pr[j] * (g[j] - dot);
        }
        sg_gemm(0, 0, T, d, T, scale, ds, T, k + off, C, 0.0f, dq + off, C);
        sg_gemm(1, 0, T, d, T, scale, ds, T, q + off, C, 0.0f, dk + off, C);
    }
}
