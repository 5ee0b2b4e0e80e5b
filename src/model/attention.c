#include "blas/gemm.h"
#include "core/rng.h"
#include "model/ops.h"

#include <float.h>
#include <math.h>
#include <omp.h>

/* Each (batch, head) pair is independent: threads take pairs, and the small products inside run
 * single-threaded BLAS (OpenBLAS's OpenMP build does that inside a parallel region). q, k and v
 * are read in place from the fused [N, 3C] projection through leading dimension 3C. */

void sg_attention_forward(float *ctx, float *att, const float *qkv, const int32_t *mask, int B, int T, int C, int H,
                          float p, uint64_t seed, uint64_t stream, float *scratch, int threads) {
    const int d = C / H, ld = 3 * C;
    const float scale = 1.0f / sqrtf((float)d);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int bh = 0; bh < B * H; bh++) {
        const int b = bh / H, h = bh % H;
        const float *q = qkv + (size_t)b * T * ld + (size_t)h * d, *k = q + C, *v = q + 2 * C;
        float *a = att + (size_t)bh * T * T;
        sg_gemm(0, 1, T, T, d, scale, q, ld, k, ld, 0.0f, a, T);
        const int32_t *mk = mask + (size_t)b * T;
        for (int i = 0; i < T; i++) {
            float *row = a + (size_t)i * T;
            float mx = -INFINITY;
            for (int j = 0; j < T; j++) {
                if (!mk[j]) row[j] += -FLT_MAX; /* HF: (1 - mask) * finfo(float32).min */
                if (row[j] > mx) mx = row[j];
            }
            float sum = 0.0f;
            for (int j = 0; j < T; j++) {
                row[j] = expf(row[j] - mx);
                sum += row[j];
            }
            float inv = 1.0f / sum;
            for (int j = 0; j < T; j++) row[j] *= inv;
        }
        const float *pd = a;
        if (p > 0.0f) {
            float *drop = scratch + (size_t)omp_get_thread_num() * 2 * T * T;
            for (int i = 0; i < T * T; i++) drop[i] = a[i] * sg_dropout_scale(sg_uniform(seed, stream + (uint64_t)bh, (uint64_t)i), p);
            pd = drop;
        }
        sg_gemm(0, 0, T, d, T, 1.0f, pd, T, v, ld, 0.0f, ctx + (size_t)b * T * C + (size_t)h * d, C);
    }
}

void sg_attention_backward(float *dqkv, const float *dctx, const float *qkv, const float *att, int B, int T, int C,
                           int H, float p, uint64_t seed, uint64_t stream, float *scratch, int threads) {
    const int d = C / H, ld = 3 * C;
    const float scale = 1.0f / sqrtf((float)d);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int bh = 0; bh < B * H; bh++) {
        const int b = bh / H, h = bh % H;
        const size_t row0 = (size_t)b * T;
        const float *q = qkv + row0 * ld + (size_t)h * d, *k = q + C, *v = q + 2 * C;
        float *dq = dqkv + row0 * ld + (size_t)h * d, *dk = dq + C, *dv = dq + 2 * C;
        const float *dc = dctx + row0 * C + (size_t)h * d;
        const float *a = att + (size_t)bh * T * T;
        float *ds = scratch + (size_t)omp_get_thread_num() * 2 * T * T;
        float *drop = ds + (size_t)T * T;
        const float *pd = a;
        if (p > 0.0f) {
            for (int i = 0; i < T * T; i++) drop[i] = a[i] * sg_dropout_scale(sg_uniform(seed, stream + (uint64_t)bh, (uint64_t)i), p);
            pd = drop;
        }
        sg_gemm(0, 1, T, T, d, 1.0f, dc, C, v, ld, 0.0f, ds, T); /* d(dropped probs) */
        sg_gemm(1, 0, T, d, T, 1.0f, pd, T, dc, C, 0.0f, dv, ld);
        if (p > 0.0f)
            for (int i = 0; i < T * T; i++) ds[i] *= sg_dropout_scale(sg_uniform(seed, stream + (uint64_t)bh, (uint64_t)i), p);
        for (int i = 0; i < T; i++) { /* softmax backward */
            float *g = ds + (size_t)i * T;
            const float *pr = a + (size_t)i * T;
            float dot = 0.0f;
            for (int j = 0; j < T; j++) dot += g[j] * pr[j];
            for (int j = 0; j < T; j++) g[j] = pr[j] * (g[j] - dot);
        }
        sg_gemm(0, 0, T, d, T, scale, ds, T, k, ld, 0.0f, dq, ld);
        sg_gemm(1, 0, T, d, T, scale, ds, T, q, ld, 0.0f, dk, ld);
    }
}
