/* The eval forward's fused passes (issue #19) against their unfused definitions:
 * - sg_softmax_row (vectorized exp) against softmax in double with libm's exp, HF's additive mask:
 *   masked keys get exactly 0, an all-masked row is uniform, scores spread over ±80;
 * - sg_layernorm_row (sums in 8 lanes) against LayerNorm in double, widths with and without a tail;
 * - sg_add_layernorm_forward: the same bits as the residual add then sg_layernorm_forward;
 * - sg_relu_forward in place (the eval pass applies it to the product's output);
 * - sg_linear_forward with its rows split over 2 threads: the bits of the one-call product, and
 *   within float rounding of the product in double;
 * - sg_linear_forward_residual (the product starting from residual + bias): the same, against
 *   residual + bias + the product in double;
 * - sg_attention_forward (each (batch, head) from scores to context, q, k, v rows 3C apart): the
 *   bits of sg_attention_probs then sg_attention_context on planar copies, 1 and 2 threads, and
 *   attention in double (masked keys dropped). */
#include "blas/gemm.h"
#include "core/rng.h"
#include "model/ops.h"
#include "testlib.h"

#include <float.h>
#include <omp.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static sg_rng rng;

static float normal(float sd) { return sd * sg_normal(sg_rng_next(&rng), 1, 0); }

/* softmax in double of x with keys where mask is 0 dropped (HF's finfo.min makes them exactly 0
 * unless every key is masked). The shifted score x - max is taken as float holds it: its rounding
 * (up to half an ulp of |x - max|, i.e. 4e-6 relative at -50) belongs to any float softmax, torch's
 * too, and would hide the error of the exp itself. */
static void softmax_reference(double *p, const float *x, const int32_t *mask, int T) {
    float mx = -INFINITY;
    double sum = 0.0;
    for (int j = 0; j < T; j++)
        if ((!mask || mask[j]) && x[j] > mx) mx = x[j];
    for (int j = 0; j < T; j++) sum += p[j] = !mask || mask[j] ? exp((double)(x[j] - mx)) : 0.0;
    for (int j = 0; j < T; j++) p[j] /= sum;
}

static void test_softmax(void) {
    enum { MAXT = 200 };
    const int widths[] = {1, 3, 8, 17, 128, 130, MAXT};
    float x[MAXT], p[MAXT];
    double want[MAXT];
    int32_t mask[MAXT];
    double worst = 0.0;
    for (int wi = 0; wi < (int)(sizeof widths / sizeof *widths); wi++)
        for (int trial = 0; trial < 40; trial++) {
            const int T = widths[wi];
            const float sd = trial % 4 == 0 ? 30.0f : trial % 4 == 1 ? 0.01f : 3.0f; /* exp(-80)..exp(0) */
            for (int j = 0; j < T; j++) {
                x[j] = normal(sd);
                mask[j] = j == 0 || sg_rng_next(&rng) % 4 != 0;
            }
            const int32_t *mk = trial % 2 ? mask : NULL;
            softmax_reference(want, x, mk, T);
            sg_softmax_row(p, x, mk, T);
            for (int j = 0; j < T; j++) {
                if (mk && !mk[j]) {
                    CHECK_MSG(p[j] == 0.0f, "masked key %d of %d: %g", j, T, p[j]);
                    continue;
                }
                /* a few ulp of the probability (exp, the float sum of T terms, the division), or below float's
                 * normal range */
                const double err = fabs(p[j] - want[j]), tol = 8.0 * FLT_EPSILON * want[j] + 1e-37;
                if (err / (want[j] + 1e-37) > worst && want[j] > 1e-30) worst = err / want[j];
                CHECK_MSG(err <= tol, "T %d key %d: %.9g vs %.9g", T, j, p[j], want[j]);
            }
        }
    printf("softmax: worst relative error %.3g (%.2f float eps)\n", worst, worst / FLT_EPSILON);
    /* every key masked: HF's scores all become finfo.min, the row uniform */
    int32_t none[5] = {0};
    float y[5] = {0.5f, -3.0f, 2.0f, 0.0f, 7.0f};
    sg_softmax_row(p, y, none, 5);
    for (int j = 0; j < 5; j++) CHECK(p[j] == 0.2f);
    /* in place (p == x), as the attention calls it */
    float z[3] = {1.0f, 2.0f, 3.0f};
    softmax_reference(want, z, NULL, 3);
    sg_softmax_row(z, z, NULL, 3);
    for (int j = 0; j < 3; j++) CHECK_NEAR(z[j], want[j], 4.0 * FLT_EPSILON * want[j]);
    /* NaN scores stay visible */
    float bad[2] = {NAN, 1.0f};
    sg_softmax_row(p, bad, NULL, 2);
    CHECK(isnan(p[0]) || isnan(p[1]));
}

static void test_layernorm_row(void) {
    enum { MAXC = 768 };
    const int widths[] = {5, 13, 64, 768};
    float x[MAXC], y[MAXC], w[MAXC], b[MAXC], mean, rstd;
    for (int wi = 0; wi < 4; wi++) {
        const int C = widths[wi];
        for (int c = 0; c < C; c++) {
            x[c] = 3.0f + normal(2.0f); /* an offset, so the mean matters */
            w[c] = 1.0f + normal(0.2f);
            b[c] = normal(0.1f);
        }
        double m = 0.0, v = 0.0;
        for (int c = 0; c < C; c++) m += x[c];
        m /= C;
        for (int c = 0; c < C; c++) v += (x[c] - m) * (x[c] - m);
        v /= C;
        const double s = 1.0 / sqrt(v + 1e-5);
        sg_layernorm_row(y, x, w, b, C, 1e-5f, &mean, &rstd);
        CHECK_NEAR(mean, m, 1e-6 * fabs(m));
        CHECK_NEAR(rstd, s, 1e-5 * s);
        for (int c = 0; c < C; c++) CHECK_NEAR(y[c], (x[c] - m) * s * w[c] + b[c], 2e-5);
    }
}

static void test_add_layernorm(void) {
    enum { N = 37, C = 96 };
    float *x = malloc(sizeof(float) * N * C), *x2 = malloc(sizeof(float) * N * C), *res = malloc(sizeof(float) * N * C);
    float *out = malloc(sizeof(float) * N * C), *want = malloc(sizeof(float) * N * C);
    float w[C], b[C], mean[N], rstd[N], want_mean[N], want_rstd[N];
    for (int c = 0; c < C; c++) {
        w[c] = 1.0f + normal(0.2f);
        b[c] = normal(0.1f);
    }
    for (int i = 0; i < N * C; i++) {
        x[i] = normal(2.0f);
        res[i] = normal(1.0f);
        x2[i] = x[i] + res[i]; /* the unfused definition: the add, then LayerNorm */
    }
    sg_layernorm_forward(want, want_mean, want_rstd, x2, w, b, N, C, 1e-5f);
    sg_add_layernorm_forward(out, mean, rstd, x, res, w, b, N, C, 1e-5f);
    CHECK_MSG(!memcmp(out, want, sizeof(float) * N * C), "add & norm output differs");
    CHECK_MSG(!memcmp(x, x2, sizeof(float) * N * C), "the sum kept for backward differs");
    CHECK(!memcmp(mean, want_mean, sizeof mean) && !memcmp(rstd, want_rstd, sizeof rstd));
    free(x), free(x2), free(res), free(out), free(want);
}

static void test_relu_in_place(void) {
    enum { N = 2030 };
    float x[N], orig[N];
    for (int i = 0; i < N; i++) orig[i] = x[i] = normal(1.0f);
    sg_relu_forward(x, x, N);
    int wrong = 0, zeros = 0;
    for (int i = 0; i < N; i++) {
        const float want = orig[i] > 0.0f ? orig[i] : 0.0f;
        wrong += x[i] != want;
        zeros += want == 0.0f;
    }
    CHECK_MSG(wrong == 0, "%d of %d elements differ from max(x, 0)", wrong, N);
    CHECK(zeros > 0 && zeros < N); /* both sides of the ReLU were exercised */
}

static void test_linear_split(void) {
    enum { N = 301, I = 70, O = 45 }; /* 301 rows: blocks of 16 and a ragged end */
    float *x = malloc(sizeof(float) * N * I), *W = malloc(sizeof(float) * O * I), bias[O];
    float *split = malloc(sizeof(float) * N * O), *whole = malloc(sizeof(float) * N * O);
    for (int i = 0; i < N * I; i++) x[i] = normal(1.0f);
    for (int i = 0; i < O * I; i++) W[i] = normal(0.1f);
    for (int o = 0; o < O; o++) bias[o] = normal(1.0f);
    const int threads = omp_get_max_threads();
    omp_set_num_threads(2);
    sg_linear_forward(split, x, W, bias, N, I, O);
    omp_set_num_threads(1);
    sg_linear_forward(whole, x, W, bias, N, I, O);
    omp_set_num_threads(threads);
    CHECK_MSG(!memcmp(split, whole, sizeof(float) * N * O), "rows split over threads differ from one call");
    double worst = 0.0;
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) {
            double want = bias[o], scale = fabs(bias[o]);
            for (int i = 0; i < I; i++) {
                want += (double)x[n * I + i] * W[o * I + i];
                scale += fabs((double)x[n * I + i] * W[o * I + i]);
            }
            const double err = fabs(split[n * O + o] - want) / scale;
            worst = err > worst ? err : worst;
        }
    CHECK_MSG(worst <= I * FLT_EPSILON, "product off by %g of its magnitude", worst);
    free(x), free(W), free(split), free(whole);
}

static void test_linear_residual(void) {
    enum { N = 301, I = 70, O = 45 };
    float *x = malloc(sizeof(float) * N * I), *W = malloc(sizeof(float) * O * I), bias[O];
    float *res = malloc(sizeof(float) * N * O), *split = malloc(sizeof(float) * N * O), *whole = malloc(sizeof(float) * N * O);
    for (int i = 0; i < N * I; i++) x[i] = normal(1.0f);
    for (int i = 0; i < O * I; i++) W[i] = normal(0.1f);
    for (int o = 0; o < O; o++) bias[o] = normal(1.0f);
    for (int i = 0; i < N * O; i++) res[i] = normal(3.0f);
    const int threads = omp_get_max_threads();
    omp_set_num_threads(2);
    sg_linear_forward_residual(split, x, W, bias, res, N, I, O);
    omp_set_num_threads(1);
    sg_linear_forward_residual(whole, x, W, bias, res, N, I, O);
    omp_set_num_threads(threads);
    CHECK_MSG(!memcmp(split, whole, sizeof(float) * N * O), "rows split over threads differ from one call");
    double worst = 0.0;
    for (int n = 0; n < N; n++)
        for (int o = 0; o < O; o++) {
            double want = (double)res[n * O + o] + bias[o], scale = fabs(res[n * O + o]) + fabs(bias[o]);
            for (int i = 0; i < I; i++) {
                want += (double)x[n * I + i] * W[o * I + i];
                scale += fabs((double)x[n * I + i] * W[o * I + i]);
            }
            const double err = fabs(split[n * O + o] - want) / scale;
            worst = err > worst ? err : worst;
        }
    CHECK_MSG(worst <= I * FLT_EPSILON, "residual + bias + product off by %g of its magnitude", worst);
    free(x), free(W), free(res), free(split), free(whole);
}

/* Attention of one (batch, head) in double: masked keys dropped (HF's finfo.min gives them exactly 0). */
static void attention_reference(double *ctx, const float *q, const float *k, const float *v, int ld,
                                const int32_t *mask, int T, int d) {
    double *p = malloc(sizeof(double) * T);
    for (int i = 0; i < T; i++) {
        double mx = -INFINITY, sum = 0.0;
        for (int j = 0; j < T; j++) {
            double s = 0.0;
            for (int e = 0; e < d; e++) s += (double)q[i * ld + e] * k[j * ld + e];
            p[j] = mask[j] ? s / sqrt((double)d) : -INFINITY;
            mx = p[j] > mx ? p[j] : mx;
        }
        for (int j = 0; j < T; j++) sum += p[j] = mask[j] ? exp(p[j] - mx) : 0.0;
        for (int e = 0; e < d; e++) {
            double acc = 0.0;
            for (int j = 0; j < T; j++) acc += p[j] / sum * v[j * ld + e];
            ctx[i * d + e] = acc;
        }
    }
    free(p);
}

static void test_attention_forward(void) {
    enum { B = 3, T = 37, C = 24, H = 3, D = C / H, N = B * T };
    float *qkv = malloc(sizeof(float) * N * 3 * C), *planar = malloc(sizeof(float) * 3 * N * C);
    float *att = malloc(sizeof(float) * B * H * T * T), *scratch = malloc(sizeof(float) * 2 * T * T); /* min(threads, B·H) blocks */
    float *want = malloc(sizeof(float) * N * C), *got = malloc(sizeof(float) * N * C);
    double ref[T * D];
    int32_t mask[B * T];
    for (int i = 0; i < N * 3 * C; i++) qkv[i] = normal(1.5f);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) mask[b * T + t] = t < T - 11 * b; /* 0, 11 and 22 padding keys */
    for (int n = 0; n < N; n++) /* the [N, 3C] rows as planar q | k | v */
        for (int part = 0; part < 3; part++)
            memcpy(planar + (size_t)part * N * C + (size_t)n * C, qkv + (size_t)n * 3 * C + part * C, sizeof(float) * C);
    sg_attention_probs(att, planar, planar + N * C, mask, B, T, C, H, 1);
    sg_attention_context(want, att, planar + 2 * N * C, B, T, C, H, 1);
    for (int threads = 1; threads <= 2; threads++) {
        memset(got, 0xff, sizeof(float) * N * C);
        sg_attention_forward(got, qkv, qkv + C, qkv + 2 * C, 3 * C, mask, B, T, C, H, scratch, threads);
        CHECK_MSG(!memcmp(got, want, sizeof(float) * N * C), "%d threads: differs from probabilities then context", threads);
    }
    double worst = 0.0;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            const float *base = qkv + (size_t)b * T * 3 * C + h * D;
            attention_reference(ref, base, base + C, base + 2 * C, 3 * C, mask + b * T, T, D);
            for (int i = 0; i < T; i++)
                for (int e = 0; e < D; e++) {
                    const double err = fabs(got[(size_t)(b * T + i) * C + h * D + e] - ref[i * D + e]);
                    worst = err > worst ? err : worst;
                }
        }
    CHECK_MSG(worst <= 1e-5, "context off by %g from attention in double", worst); /* |v| ~ 1.5 */
    free(qkv), free(planar), free(att), free(scratch), free(want), free(got);
}

int main(void) {
    sg_rng_seed(&rng, 19);
    test_softmax();
    test_layernorm_row();
    test_add_layernorm();
    test_relu_in_place();
    test_linear_split();
    test_linear_residual();
    test_attention_forward();
    return sg_test_done();
}
