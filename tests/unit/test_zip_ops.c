/* zip_tf operators (spec §4): each telescopes to its function. Random inputs are split over random
 * steps (some with zero input): the summed outputs of LayerNorm, softmax (masked) and tanh equal
 * f(Σ inputs); the unfold_bias linear sums to W·Σx + b, counting steps with zero input; the
 * embedding emits only at step 1. The event-driven kernels agree with their dense definitions:
 * the accumulated-input neuron fires exactly as sg_stbif_step (exact arithmetic), the linear's
 * sparse and dense paths agree with W·x, and the LN-zip neurons settle on the LSQ integers. */
#include "blas/gemm.h"
#include "core/rng.h"
#include "model/ops.h"
#include "model/lsq.h"
#include "snn/stbif.h"
#include "snn/zip_ops.h"
#include "testlib.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static sg_rng rng;

static float uniform(void) { return (float)((sg_rng_next(&rng) >> 40) * (1.0 / 16777216.0)); }
static float normal(float sd) { return sd * sg_normal(sg_rng_next(&rng), 1, 0); }

/* Split total[n] into `steps` random increments (some steps all zero): parts[steps][n]. */
static void split(float *parts, const float *total, size_t n, int steps) {
    memset(parts, 0, sizeof(float) * n * (size_t)steps);
    for (size_t i = 0; i < n; i++) {
        float left = total[i];
        for (int s = 0; s < steps - 1; s++) {
            if (s % 3 == 1) continue; /* zero-input steps */
            float part = (uniform() - 0.3f) * total[i];
            parts[(size_t)s * n + i] = part;
            left -= part;
        }
        parts[(size_t)(steps - 1) * n + i] = left;
    }
}

static double max_diff(const float *a, const float *b, size_t n) {
    double m = 0.0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - (double)b[i]));
    return m;
}

static void test_layernorm(void) {
    enum { R = 5, C = 48, S = 9 };
    float x[R * C], parts[S * R * C], out[R * C], sum[R * C] = {0}, want[R * C], w[C], b[C], mean[R], rstd[R];
    for (int c = 0; c < C; c++) {
        w[c] = 1.0f + normal(0.3f);
        b[c] = normal(0.5f);
    }
    for (int i = 0; i < R * C; i++) x[i] = normal(3.0f) + 1.0f;
    for (int c = 0; c < C; c++) x[4 * C + c] = 0.0f; /* a row that never gets input: LN(0) = b */
    split(parts, x, R * C, S);
    sg_zip_state z;
    CHECK(sg_zip_state_init(&z, R * C) == 0);
    for (int s = 0; s < S; s++) {
        sg_zip_layernorm_step(&z, parts + (size_t)s * R * C, out, R, C, w, b, 1e-5f);
        for (int i = 0; i < R * C; i++) sum[i] += out[i];
    }
    /* steps without input afterwards emit zeros */
    sg_zip_layernorm_step(&z, NULL, out, R, C, w, b, 1e-5f);
    CHECK(max_diff(out, (float[R * C]){0}, R * C) == 0.0);
    sg_layernorm_forward(want, mean, rstd, z.acc, w, b, R, C, 1e-5f);
    CHECK_NEAR(max_diff(sum, want, R * C), 0.0, 2e-5);
    CHECK(max_diff(sum + 4 * C, b, C) == 0.0);
    /* the row function is the model's LayerNorm, bit for bit */
    float row[C];
    sg_layernorm_row(row, z.acc + C, w, b, C, 1e-5f, NULL, NULL);
    CHECK(memcmp(row, want + C, sizeof row) == 0);
    sg_zip_state_free(&z);
}

static void test_softmax(void) {
    enum { R = 4, T = 12, S = 7 };
    float x[R * T], parts[S * R * T], out[R * T], sum[R * T] = {0}, want[R * T];
    int32_t mask[T];
    for (int j = 0; j < T; j++) mask[j] = j < 9; /* three padding keys */
    for (int i = 0; i < R * T; i++) x[i] = normal(2.0f);
    split(parts, x, R * T, S);
    sg_zip_state z;
    CHECK(sg_zip_state_init(&z, R * T) == 0);
    for (int s = 0; s < S; s++) {
        sg_zip_softmax_step(&z, parts + (size_t)s * R * T, out, R, T, mask);
        for (int i = 0; i < R * T; i++) sum[i] += out[i];
    }
    for (int r = 0; r < R; r++) sg_softmax_row(want + r * T, z.acc + r * T, mask, T);
    CHECK_NEAR(max_diff(sum, want, R * T), 0.0, 1e-6);
    for (int r = 0; r < R; r++) {
        CHECK(sum[r * T + 10] == 0.0f); /* masked keys never receive probability */
        float tot = 0.0f;
        for (int j = 0; j < T; j++) tot += sum[r * T + j];
        CHECK_NEAR(tot, 1.0, 1e-5);
    }
    /* the row function is the ANN's softmax after the scaled product (checked through the model op) */
    float q[T * 2], k[T * 2], att[T * T], scores[T];
    for (int i = 0; i < 2 * T; i++) q[i] = normal(1.0f), k[i] = normal(1.0f);
    sg_attention_probs(att, q, k, mask, 1, T, 2, 1, 1);
    for (int j = 0; j < T; j++) scores[j] = (q[0] * k[2 * j] + q[1] * k[2 * j + 1]) * (1.0f / sqrtf(2.0f));
    sg_softmax_row(want, scores, mask, T);
    CHECK_NEAR(max_diff(want, att, T), 0.0, 1e-6);
    sg_zip_state_free(&z);
}

static void test_tanh(void) {
    enum { N = 64, S = 6 };
    float x[N], parts[S * N], out[N], sum[N] = {0}, want[N];
    for (int i = 0; i < N; i++) x[i] = normal(1.5f);
    split(parts, x, N, S);
    sg_zip_state z;
    CHECK(sg_zip_state_init(&z, N) == 0);
    for (int s = 0; s < S; s++) {
        sg_zip_tanh_step(&z, parts + (size_t)s * N, out);
        for (int i = 0; i < N; i++) sum[i] += out[i];
    }
    for (int i = 0; i < N; i++) want[i] = tanhf(z.acc[i]);
    CHECK_NEAR(max_diff(sum, want, N), 0.0, 1e-6);
    /* the reference's defect: tanh of the increments does not telescope */
    float wrong[N] = {0};
    for (int s = 0; s < S; s++)
        for (int i = 0; i < N; i++) wrong[i] += tanhf(parts[(size_t)s * N + i]);
    CHECK(max_diff(wrong, want, N) > 0.1);
    sg_zip_state_free(&z);
}

static void test_unfold_linear(void) {
    enum { R = 3, NI = 10, O = 7, LEVEL = 4, S = 9 };
    float W[O * NI], b[O], x[R * NI], parts[S * R * NI], y[R * O], sum[R * O] = {0}, want[R * O];
    for (int i = 0; i < O * NI; i++) W[i] = normal(1.0f);
    for (int o = 0; o < O; o++) b[o] = normal(2.0f);
    for (int i = 0; i < R * NI; i++) x[i] = normal(1.0f);
    split(parts, x, R * NI, S);
    sg_zip_unfold_linear lin = {W, b, NI, O, LEVEL, 0};
    for (int s = 0; s < S; s++) {
        /* steps 1 and 4 pass no input at all: they still count as unfolding calls */
        const float *in = (s == 1 || s == 4) ? NULL : parts + (size_t)s * R * NI;
        if (!in)
            for (int i = 0; i < R * NI; i++) CHECK(parts[(size_t)s * R * NI + i] == 0.0f);
        sg_zip_unfold_linear_step(&lin, in, y, R);
        if (s == LEVEL && !in) CHECK(max_diff(y, (float[R * O]){0}, R * O) == 0.0);
        for (int i = 0; i < R * O; i++) sum[i] += y[i];
    }
    CHECK(lin.calls == S);
    sg_linear_forward(want, x, W, b, R, NI, O);
    CHECK_NEAR(max_diff(sum, want, R * O), 0.0, 1e-4);
    /* with zero input only, the bias arrives in `level` equal parts */
    sg_zip_unfold_linear z = {W, b, NI, O, LEVEL, 0};
    float tot[O] = {0};
    for (int s = 0; s < 2 * LEVEL; s++) {
        sg_zip_unfold_linear_step(&z, NULL, y, 1);
        for (int o = 0; o < O; o++) tot[o] += y[o];
        if (s == LEVEL) CHECK(max_diff(y, (float[O]){0}, O) == 0.0);
    }
    CHECK_NEAR(max_diff(tot, b, O), 0.0, 1e-5);
}

static void test_embedding(void) {
    enum { V = 9, P = 12, C = 5, N = 4 };
    float word[V * C], pos[P * C], type[C], out[N * C], sum[N * C] = {0};
    for (int i = 0; i < V * C; i++) word[i] = normal(1.0f);
    for (int i = 0; i < P * C; i++) pos[i] = normal(1.0f);
    for (int i = 0; i < C; i++) type[i] = normal(1.0f);
    int32_t ids[N] = {0, 5, 8, 2}, pids[N];
    sg_position_ids(pids, ids, 1, N, 1);
    for (int s = 1; s <= 5; s++) {
        sg_zip_embedding_step(out, s, ids, pids, word, pos, type, N, C);
        if (s > 1) CHECK(max_diff(out, (float[N * C]){0}, N * C) == 0.0);
        for (int i = 0; i < N * C; i++) sum[i] += out[i];
    }
    for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
            CHECK(sum[n * C + c] == word[ids[n] * C + c] + pos[pids[n] * C + c] + type[c]);
}

/* The accumulated-input neuron is spec §3's ST-BIF: same spikes as sg_stbif_step, step for step,
 * when all arithmetic is exact (power-of-two θ, inputs multiples of θ/8). */
static void test_neuron_matches_stbif(void) {
    enum { N = 300, S = 60 };
    for (int variant = 0; variant < 2; variant++) {
        float s_q;
        sg_lsq q;
        CHECK(sg_lsq_init(&q, &s_q, 32, variant) == 0);
        s_q = variant ? 0.25f : 2.0f;
        sg_stbif_params p;
        CHECK(sg_stbif_params_from_lsq(&p, &q) == 0);
        sg_stbif_state st;
        CHECK(sg_stbif_state_init(&st, N) == 0);
        float x[N] = {0}, in[N], out[N];
        int32_t s[N] = {0}, ev[N];
        int same = 1, total_spikes = 0;
        for (int t = 0; t < S; t++) {
            for (int i = 0; i < N; i++) {
                /* inputs for 10 steps, some overshooting, then nothing */
                in[i] = t < 10 ? (float)((int)(uniform() * 161.0f) - 60) * (s_q / 8.0f) * (i % 3 == 0 ? 3.0f : 1.0f) : 0.0f;
                x[i] += in[i];
            }
            sg_stbif_step(&p, &st, in, out, NULL);
            int pending = 0;
            uint64_t pos = 0, neg = 0;
            int n = sg_snn_fire(&p, x, s, N, 0, ev, &pending, &pos, &neg);
            CHECK(n == (int)(pos + neg));
            int k = 0;
            for (int i = 0; i < N; i++) {
                int o = out[i] > 0 ? 1 : out[i] < 0 ? -1 : 0;
                if (o) {
                    same &= k < n && sg_event_col(ev[k]) == i && sg_event_sign(ev[k]) == o;
                    k++;
                }
                same &= s[i] == st.count[i];
            }
            same &= k == n;
            total_spikes += n;
            if (t == S - 1) CHECK(pending == 0);
        }
        CHECK_MSG(same, "variant %d: spikes differ from sg_stbif_step", variant);
        CHECK(total_spikes > N);
        /* settled: the LSQ integers of the totals */
        float yq[N];
        sg_lsq_forward(&q, SG_LSQ_EVAL, x, yq, N);
        int lsq = 1;
        for (int i = 0; i < N; i++) lsq &= (float)s[i] * s_q == yq[i];
        CHECK(lsq);
        sg_stbif_state_free(&st);
    }
}

static void test_event_linear(void) {
    enum { R = 6, NI = 150, O = 100, LEVEL = 4 }; /* O: one 64-column block and a tail */
    float W[O * NI], b[O];
    for (int i = 0; i < O * NI; i++) W[i] = normal(0.2f);
    for (int o = 0; o < O; o++) b[o] = normal(1.0f);
    float *wt = malloc(sizeof(float) * NI * O), *bstep = malloc(sizeof(float) * O);
    for (int o = 0; o < O; o++) {
        for (int j = 0; j < NI; j++) wt[j * O + o] = W[o * NI + j];
        bstep[o] = b[o] / (float)LEVEL;
    }
    sg_snn_linear lin = {wt, b, bstep, NI, O, O, NULL};
    float s_q;
    sg_lsq q;
    sg_lsq_init(&q, &s_q, 32, 1);
    s_q = 0.37f;
    sg_stbif_params p;
    sg_stbif_params_from_lsq(&p, &q);
    sg_snn_scratch sc = {malloc(sizeof(float) * R * NI), malloc(sizeof(float) * R * O)};
    int32_t ev[R * NI], nev[R];
    float total[R * NI] = {0}, want[R * O];
    const float theta_in = 0.5f;
    sg_snn_pop pops[3];
    const float fractions[3] = {2.0f, 0.0f, 0.05f}; /* never dense, always dense, per step */
    for (int k = 0; k < 3; k++) CHECK(sg_snn_pop_init(&pops[k], R, O, 1, &p, NULL) == 0);
    uint64_t sops = 0;
    for (int t = 1; t <= 60; t++) {
        for (int r = 0; r < R; r++) {
            nev[r] = 0;
            for (int j = 0; j < NI; j++) {
                float u = uniform();
                if (t > 8 || r == 2 || u > 0.1f * (float)(r + 1) / (float)t) continue; /* row 2: never any input */
                int sign = uniform() < 0.4f ? -1 : 1;
                ev[r * NI + nev[r]++] = sg_spike_event(j, sign);
                total[r * NI + j] += (float)sign * theta_in;
            }
        }
        sg_snn_input in = {ev, nev, NI, theta_in, NULL};
        for (int k = 0; k < 3; k++) {
            sg_snn_counts c;
            memset(&c, 0, sizeof c);
            sg_snn_linear_fire(&lin, &in, t <= LEVEL, &pops[k], R, fractions[k], &sc, &c);
            if (k == 0) sops += c.sops;
        }
    }
    sg_linear_forward(want, total, W, b, R, NI, O);
    uint64_t active = 0;
    for (int i = 0; i < R * NI; i++) active += total[i] != 0.0f;
    CHECK(sops > 0 && sops >= active * O);
    for (int k = 0; k < 3; k++) {
        CHECK_NEAR(max_diff(pops[k].x, want, R * O), 0.0, 1e-4);
        int settled = 1;
        for (int r = 0; r < R; r++) settled &= !pops[k].pend[r];
        CHECK(settled);
    }
    CHECK(max_diff(pops[0].x, pops[1].x, R * O) < 1e-4);
    /* event gather against the dense column sum */
    float acc[O], ref[O] = {0};
    sg_snn_gather(acc, wt, O, ev, nev[0]);
    for (int k = 0; k < nev[0]; k++)
        for (int o = 0; o < O; o++) ref[o] += (float)sg_event_sign(ev[k]) * W[o * NI + sg_event_col(ev[k])];
    CHECK_NEAR(max_diff(acc, ref, O), 0.0, 1e-5);
    for (int k = 0; k < 3; k++) sg_snn_pop_free(&pops[k]);
    free(sc.xd);
    free(sc.yd);
    free(wt);
    free(bstep);
}

/* LN-zip into its neurons: once the inputs stop, the counts are LSQ(LN(θa·Sa + r)). */
static void test_layernorm_neurons(void) {
    enum { R = 3, C = 40 };
    float s_q;
    sg_lsq q;
    sg_lsq_init(&q, &s_q, 32, 1);
    s_q = 0.21f;
    sg_stbif_params p;
    sg_stbif_params_from_lsq(&p, &q);
    sg_snn_pop pop;
    CHECK(sg_snn_pop_init(&pop, R, C, 1, &p, NULL) == 0);
    float w[C], b[C], r_dense[R * C], tmp[C];
    for (int c = 0; c < C; c++) w[c] = 1.0f + normal(0.2f), b[c] = normal(0.3f);
    for (int i = 0; i < R * C; i++) r_dense[i] = normal(1.0f);
    int32_t a_s[R * C] = {0}, a_nev[R];
    const float a_theta = 0.3f;
    for (int t = 1; t <= 60; t++) {
        for (int r = 0; r < R; r++) {
            a_nev[r] = 0;
            if (t > 10 || r == 1) continue; /* row 1: only the residual, at step 1 */
            for (int c = 0; c < C; c++)
                if (uniform() < 0.2f) {
                    a_s[r * C + c] += uniform() < 0.5f ? 1 : -1;
                    a_nev[r]++;
                }
        }
        sg_snn_counts cnt;
        memset(&cnt, 0, sizeof cnt);
        sg_snn_layernorm_fire(&pop, R, t == 1, a_s, a_nev, a_theta, NULL, NULL, 0.0f, r_dense, w, b, 1e-5f, tmp, &cnt);
    }
    float x[R * C], ln[R * C], yq[R * C], mean[R], rstd[R];
    for (int i = 0; i < R * C; i++) x[i] = (float)a_s[i] * a_theta + r_dense[i];
    sg_layernorm_forward(ln, mean, rstd, x, w, b, R, C, 1e-5f);
    sg_lsq_forward(&q, SG_LSQ_EVAL, ln, yq, R * C);
    int exact = 1;
    for (int i = 0; i < R * C; i++) exact &= (float)pop.s[i] * s_q == yq[i];
    CHECK_MSG(exact, "LN-zip neurons did not settle on the LSQ integers");
    sg_snn_pop_free(&pop);
}

/* The gather's contract, bit for bit, on every ISA: each output adds its row's weights in event
 * order (a ± w, rounded after each event), then x += a·θ + b/level. 187 outputs cover the 16-
 * (generic), 8-, 4- and 1-register strips and a scalar tail of every vector width;
 * rows with no events, events at the end only, at both ends only, a single negative one, and
 * dense random rows of mixed signs (the sign no longer picks a branch: it multiplies inside an
 * FMA). Run with rows 16-byte aligned (the generic build's 16-register strips add the weights
 * from memory, which SSE2 allows only aligned) and with rows that are not (it must fall back).
 * With `strips`, the linear also carries the strip-major copy of its full 64-column strips (as
 * zip_ops.h documents it) and wt's columns in those strips are then overwritten with NaN: the
 * sums must come from the copy, at the right block and row, and the tail from wt. */
static void test_gather_event_order(int ld_pad, int strips) {
    enum { R = 7, NI = 300, O = 187 };
    const int ld = O + ld_pad; /* a row stride that is not the width, as the padded model rows */
    float *wt_block = aligned_alloc(64, (sizeof(float) * (NI * ld + 16) + 63) / 64 * 64), bstep[O];
    float *wt = wt_block + (ld % 4 ? 1 : 0); /* unaligned rows start off the 16-byte grid too */
    for (int i = 0; i < NI * ld; i++) wt[i] = normal(0.3f);
    for (int o = 0; o < O; o++) bstep[o] = normal(0.05f);
    sg_snn_linear lin = {wt, NULL, bstep, NI, O, ld, NULL};
    sg_stbif_params p = {0.25f, -16, 15, 0};
    sg_snn_pop pop;
    sg_snn_scratch sc = {malloc(sizeof(float) * R * NI), malloc(sizeof(float) * R * O)};
    CHECK(sg_snn_pop_init(&pop, R, O, 1, &p, NULL) == 0);
    int32_t ev[R * NI], nev[R] = {0};
    for (int r = 3; r < R; r++)
        for (int j = 0; j < NI; j++)
            if (uniform() < 0.3f) ev[r * NI + nev[r]++] = sg_spike_event(j, uniform() < 0.5f ? -1 : 1);
    for (int j = 262; j < NI; j += 5) ev[1 * NI + nev[1]++] = sg_spike_event(j, j % 2 ? -1 : 1); /* the end only */
    ev[2 * NI + nev[2]++] = sg_spike_event(0, -1);
    nev[3] = 0; /* both ends only */
    ev[3 * NI + nev[3]++] = sg_spike_event(1, 1);
    ev[3 * NI + nev[3]++] = sg_spike_event(NI - 1, -1);
    float x0[R * O], want[R * O];
    for (int i = 0; i < R * O; i++) pop.x[i] = x0[i] = normal(1.0f);
    const float theta = 0.375f;
    for (int r = 0; r < R; r++)
        for (int c = 0; c < O; c++) {
            float a = 0.0f;
            for (int k = 0; k < nev[r]; k++) {
                const int32_t e = ev[r * NI + k];
                const float w = wt[(size_t)sg_event_col(e) * ld + c];
                a = e >= 0 ? a + w : a - w;
            }
            const float inc = nev[r] ? a * theta + bstep[c] : bstep[c];
            want[r * O + c] = x0[r * O + c] + inc;
        }
    float *copy = NULL;
    if (strips) {
        const int nstrip = O / SG_SNN_STRIP;
        copy = aligned_alloc(64, sizeof(float) * (size_t)nstrip * NI * SG_SNN_STRIP);
        for (int st = 0; st < nstrip; st++)
            for (int j = 0; j < NI; j++)
                for (int c = 0; c < SG_SNN_STRIP; c++) {
                    copy[((size_t)st * NI + j) * SG_SNN_STRIP + c] = wt[(size_t)j * ld + st * SG_SNN_STRIP + c];
                    wt[(size_t)j * ld + st * SG_SNN_STRIP + c] = NAN;
                }
        lin.wt_strips = copy;
    }
    sg_snn_input in = {ev, nev, NI, theta, NULL};
    sg_snn_counts cnt;
    memset(&cnt, 0, sizeof cnt);
    sg_snn_linear_fire(&lin, &in, 1, &pop, R, 2.0f, &sc, &cnt); /* never dense */
    free(copy);
    int same = 0;
    for (int i = 0; i < R * O; i++) same += memcmp(&pop.x[i], &want[i], sizeof(float)) == 0;
    CHECK(same == R * O);
    free(sc.xd);
    free(sc.yd);
    sg_snn_pop_free(&pop);
    free(wt_block);
}

int main(void) {
    sg_rng_seed(&rng, 2024);
    test_layernorm();
    test_softmax();
    test_tanh();
    test_unfold_linear();
    test_embedding();
    test_neuron_matches_stbif();
    test_event_linear();
    test_gather_event_order(13, 0); /* rows 800 bytes apart: 16-byte aligned */
    test_gather_event_order(13, 1); /* the same sums from the strip-major copy */
    test_gather_event_order(14, 0); /* 804 bytes: not */
    test_gather_event_order(14, 1); /* the copy aligned, wt not */
    test_layernorm_neurons();
    return sg_test_done();
}
