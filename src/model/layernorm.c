#include "core/simd.h"
#include "model/ops.h"

#include <math.h>
#include <omp.h>
#include <string.h>

/* The sums in 8 fixed lanes (lane l takes c = l mod 8 in order, then the lanes pairwise, then the
 * tail): a serial sum over 768 floats waits on each add's latency, ~2.5% of an eval pass; this
 * vectorizes and is the same bits in every ISA's version (SG_ISA_VERSIONS). */
SG_ISA_BODY float lanes_combined(const float lane[8]) {
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

SG_ISA_BODY void layernorm_row_body(float *y, const float *x, const float *w, const float *b, int C, float eps,
                                    float *mean, float *rstd) {
    const int C8 = C & ~7;
    float lane[8] = {0};
    for (int c = 0; c < C8; c += 8)
        for (int l = 0; l < 8; l++) lane[l] += x[c + l];
    float m = lanes_combined(lane);
    for (int c = C8; c < C; c++) m += x[c];
    m /= (float)C;
    for (int l = 0; l < 8; l++) lane[l] = 0.0f;
    for (int c = 0; c < C8; c += 8)
        for (int l = 0; l < 8; l++) {
            const float d = x[c + l] - m;
            lane[l] += d * d;
        }
    float v = lanes_combined(lane);
    for (int c = C8; c < C; c++) {
        const float d = x[c] - m;
        v += d * d;
    }
    v /= (float)C; /* biased variance, as torch */
    const float s = 1.0f / sqrtf(v + eps);
    for (int c = 0; c < C; c++) y[c] = (x[c] - m) * s * w[c] + b[c];
    *mean = m;
    *rstd = s;
}
SG_ISA_VERSIONS_VOID(layernorm_row, (float *y, const float *x, const float *w, const float *b, int C, float eps,
                                     float *mean, float *rstd),
                     (y, x, w, b, C, eps, mean, rstd))

void sg_layernorm_row(float *y, const float *x, const float *w, const float *b, int C, float eps, float *mean,
                      float *rstd) {
    float m, s;
    layernorm_row(y, x, w, b, C, eps, &m, &s);
    if (mean) *mean = m;
    if (rstd) *rstd = s;
}

void sg_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b, int N,
                          int C, float eps) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++)
        sg_layernorm_row(out + (size_t)n * C, inp + (size_t)n * C, w, b, C, eps, &mean[n], &rstd[n]);
}

void sg_add_layernorm_forward(float *out, float *mean, float *rstd, float *x, const float *residual, const float *w,
                              const float *b, int N, int C, float eps) {
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        float *xr = x + (size_t)n * C;
        const float *r = residual + (size_t)n * C;
        for (int c = 0; c < C; c++) xr[c] += r[c];
        sg_layernorm_row(out + (size_t)n * C, xr, w, b, C, eps, &mean[n], &rstd[n]); /* the row is still in L1 */
    }
}

void sg_layernorm_backward(float *dinp, int accumulate, float *dw, float *db, const float *dout, const float *inp,
                           const float *w, const float *mean, const float *rstd, int N, int C, float *scratch,
                           int threads) {
    memset(scratch, 0, sizeof(float) * 2 * (size_t)C * (size_t)threads);
#pragma omp parallel num_threads(threads)
    {
        float *dw_t = scratch + (size_t)omp_get_thread_num() * 2 * C;
        float *db_t = dw_t + C;
#pragma omp for schedule(static)
        for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C, *dy = dout + (size_t)n * C;
            float m = mean[n], s = rstd[n];
            float sum_d = 0.0f, sum_dx = 0.0f;
            for (int c = 0; c < C; c++) {
                float xhat = (x[c] - m) * s;
                float dn = dy[c] * w[c];
                sum_d += dn;
                sum_dx += dn * xhat;
                dw_t[c] += dy[c] * xhat;
                db_t[c] += dy[c];
            }
            sum_d /= (float)C;
            sum_dx /= (float)C;
            float *dx = dinp + (size_t)n * C;
            for (int c = 0; c < C; c++) {
                float xhat = (x[c] - m) * s;
                float g = s * (dy[c] * w[c] - sum_d - xhat * sum_dx);
                dx[c] = accumulate ? dx[c] + g : g;
            }
        }
    }
    for (int t = 0; t < threads; t++) {
        const float *dw_t = scratch + (size_t)t * 2 * C, *db_t = dw_t + C;
        for (int c = 0; c < C; c++) {
            dw[c] += dw_t[c];
            db[c] += db_t[c];
        }
    }
}
