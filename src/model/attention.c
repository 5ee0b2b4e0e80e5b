/* Multi-head self-attention on planar q, k, v [N, C] (heads are column blocks of width C/H).
 * Each (batch, head) pair is independent: threads take pairs, and the small products inside run
 * single-threaded BLAS (OpenBLAS's OpenMP build does that inside a parallel region). */
#include "blas/gemm.h"
#include "core/simd.h"
#include "model/ops.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <string.h>

/* exp(x) for x <= 0 (a softmax's shifted scores), vectorizable: x = n ln2 + r, |r| <= ln2/2, n
 * rounded to nearest by the 1.5 * 2^23 trick, exp(r) by Cephes' degree-7 polynomial (about 1 ulp;
 * glibc's expf, which the loop called before, is a function call per element and stays scalar),
 * 2^n from the exponent bits. Below -87 (where 2^n would leave the normal range) it returns 0: a
 * masked key, or a probability under 1e-38; NaN stays NaN. Every operation is exact or correctly
 * rounded and nothing is contracted, so each ISA's version computes the same bits
 * (SG_ISA_VERSIONS). The selects are integer masks: GCC does not if-convert float ?: here. */
SG_ISA_BODY float exp_nonpositive(float x) {
    const float round_magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    const float t = x * 1.44269504088896341f + round_magic;
    const float n = t - round_magic;
    uint32_t t_bits;
    memcpy(&t_bits, &t, sizeof t_bits);
    const uint32_t n_bits = t_bits - 0x4B400000u; /* the integer n (two's complement), from t's mantissa */
    float r = x - n * 0.693359375f;               /* ln 2 in two parts (Cephes): n * hi is exact */
    r = r - n * -2.12194440e-4f;
    float poly = 1.9875691500e-4f;
    poly = poly * r + 1.3981999507e-3f;
    poly = poly * r + 8.3334519073e-3f;
    poly = poly * r + 4.1665795894e-2f;
    poly = poly * r + 1.6666665459e-1f;
    poly = poly * r + 5.0000001201e-1f;
    const float y = (poly * (r * r) + r) + 1.0f;
    const uint32_t scale_bits = (n_bits + 127u) << 23; /* 2^n; garbage below -87, masked off next */
    float scale;
    memcpy(&scale, &scale_bits, sizeof scale);
    const float e = y * scale;
    uint32_t e_bits;
    memcpy(&e_bits, &e, sizeof e_bits);
    e_bits &= (uint32_t)0 - (uint32_t)!(x < -87.0f);
    float out;
    memcpy(&out, &e_bits, sizeof out);
    return out;
}

/* p[j] = exp(p[j] - shift), returning their sum: in 8 lanes (lane l sums j = l mod 8 in order,
 * then the lanes pairwise, then the tail), so the sum vectorizes and is still the same bits in
 * every ISA's version. */
SG_ISA_BODY float exp_shifted_sum_body(float *p, float shift, int T) {
    float lane[8] = {0};
    const int T8 = T & ~7;
    for (int j = 0; j < T8; j += 8)
        for (int l = 0; l < 8; l++) {
            const float e = exp_nonpositive(p[j + l] - shift);
            p[j + l] = e;
            lane[l] += e;
        }
    float sum = ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
    for (int j = T8; j < T; j++) {
        p[j] = exp_nonpositive(p[j] - shift);
        sum += p[j];
    }
    return sum;
}

/* HF's additive mask on one score: x + finfo.min where the key's mask is 0, else x, as a bit select
 * (a float ?: here stays a branch, and the loop scalar). */
SG_ISA_BODY float masked_score(float x, int32_t keep) {
    const float xm = x + -FLT_MAX;
    uint32_t xb, xmb;
    memcpy(&xb, &x, sizeof xb);
    memcpy(&xmb, &xm, sizeof xmb);
    const uint32_t take_x = (uint32_t)0 - (uint32_t)(keep != 0);
    const uint32_t out_bits = (xb & take_x) | (xmb & ~take_x);
    float out;
    memcpy(&out, &out_bits, sizeof out);
    return out;
}

/* Eight floats as one value (GCC vector extension, lowered to the ISA's registers: two on SSE2). */
typedef float lanes8f __attribute__((vector_size(32)));
typedef int32_t lanes8i __attribute__((vector_size(32)));

/* p[j] = x[j] with HF's mask (finfo.min added on keys whose mask is 0), returning the maximum, in 8
 * lanes: the serial loop this replaces waited on each compare-and-select of the running maximum
 * and branched on each key's mask (1.6% of the one-thread eval pass); GCC keeps a float max
 * reduction scalar, so the lanes are written out. A maximum does not depend on the order it is
 * taken in (a NaN never wins a `>`, in lanes or serially; of +0 and -0 either may win, and
 * exp(p - max) is the same for both), so every ISA's version gives the serial loop's
 * probabilities. */
SG_ISA_BODY float masked_copy_max_body(float *p, const float *x, const int32_t *mask, int T) {
    if (mask)
        for (int j = 0; j < T; j++) p[j] = masked_score(x[j], mask[j]);
    else if (p != x)
        for (int j = 0; j < T; j++) p[j] = x[j];
    const float neg_inf = -INFINITY;
    lanes8f lanes = {neg_inf, neg_inf, neg_inf, neg_inf, neg_inf, neg_inf, neg_inf, neg_inf};
    const int T8 = T & ~7;
    for (int j = 0; j < T8; j += 8) {
        lanes8f v;
        memcpy(&v, p + j, sizeof v);
        const lanes8i wins = v > lanes; /* all ones where v > lanes (false for a NaN) */
        lanes = (lanes8f)(((lanes8i)v & wins) | ((lanes8i)lanes & ~wins));
    }
    float mx = neg_inf;
    for (int l = 0; l < 8; l++) mx = lanes[l] > mx ? lanes[l] : mx;
    for (int j = T8; j < T; j++) mx = p[j] > mx ? p[j] : mx;
    return mx;
}

SG_ISA_BODY void softmax_row_body(float *p, const float *x, const int32_t *mask, int T) {
    const float mx = masked_copy_max_body(p, x, mask, T);
    const float inv = 1.0f / exp_shifted_sum_body(p, mx, T);
    for (int j = 0; j < T; j++) p[j] *= inv;
}
SG_ISA_VERSIONS_VOID(softmax_row, (float *p, const float *x, const int32_t *mask, int T), (p, x, mask, T))

void sg_softmax_row(float *p, const float *x, const int32_t *mask, int T) { softmax_row(p, x, mask, T); }

/* One (batch, head) block of probabilities: a = softmax(scale · q kᵀ + mask) row by row, q and k
 * rows `ld` floats apart. */
static void probs_block(float *a, const float *q, const float *k, int ld, const int32_t *mask, int T, int d,
                        float scale) {
    sg_gemm(0, 1, T, T, d, scale, q, ld, k, ld, 0.0f, a, T);
    for (int i = 0; i < T; i++) sg_softmax_row(a + (size_t)i * T, a + (size_t)i * T, mask, T);
}

void sg_attention_probs(float *att, const float *q, const float *k, const int32_t *mask, int B, int T, int C, int H,
                        int threads) {
    const int d = C / H;
    const float scale = 1.0f / sqrtf((float)d);
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int bh = 0; bh < B * H; bh++) {
        const int b = bh / H, h = bh % H;
        const size_t off = (size_t)b * T * C + (size_t)h * d;
        probs_block(att + (size_t)bh * T * T, q + off, k + off, C, mask + (size_t)b * T, T, d, scale);
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

void sg_attention_forward(float *ctx, const float *q, const float *k, const float *v, int ld, const int32_t *mask,
                          int B, int T, int C, int H, float *scratch, int threads) {
    const int d = C / H;
    const float scale = 1.0f / sqrtf((float)d);
    /* static schedule: a thread that gets a block has an index below B·H, so B·H blocks of scratch
     * always suffice */
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int bh = 0; bh < B * H; bh++) {
        const int b = bh / H, h = bh % H;
        const size_t in = (size_t)b * T * ld + (size_t)h * d;
        float *a = scratch + (size_t)omp_get_thread_num() * T * T;
        probs_block(a, q + in, k + in, ld, mask + (size_t)b * T, T, d, scale);
        sg_gemm(0, 0, T, d, T, 1.0f, a, T, v + in, ld, 0.0f, ctx + (size_t)b * T * C + (size_t)h * d, C);
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
