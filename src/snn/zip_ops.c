#include "snn/zip_ops.h"

#include "blas/gemm.h"
#include "core/error.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The two hot kernels get one clone per vector ISA, picked at load time (the build targets the
 * baseline ISA unless SG_NATIVE). Sanitizer builds keep one plain version. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && !defined(__SANITIZE_ADDRESS__)
#define SG_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SG_VECTOR_CLONES
#endif

/* ---- standalone zip_tf operators ---------------------------------------------------------- */

void sg_zip_layernorm_row(float *y, const float *x, const float *w, const float *b, int C, float eps) {
    /* the arithmetic of sg_layernorm_forward, operation for operation */
    float m = 0.0f;
    for (int c = 0; c < C; c++) m += x[c];
    m /= (float)C;
    float v = 0.0f;
    for (int c = 0; c < C; c++) {
        float d = x[c] - m;
        v += d * d;
    }
    v /= (float)C;
    float s = 1.0f / sqrtf(v + eps);
    for (int c = 0; c < C; c++) y[c] = (x[c] - m) * s * w[c] + b[c];
}

void sg_zip_softmax_row(float *p, const float *x, const int32_t *mask, int T) {
    /* the arithmetic of sg_attention_probs after the product */
    float mx = -INFINITY;
    for (int j = 0; j < T; j++) {
        p[j] = x[j];
        if (mask && !mask[j]) p[j] += -FLT_MAX;
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

int sg_zip_state_init(sg_zip_state *z, size_t n) {
    z->n = n;
    z->acc = malloc((n ? n : 1) * sizeof(float));
    z->prev = malloc((n ? n : 1) * sizeof(float));
    if (!z->acc || !z->prev) {
        sg_zip_state_free(z);
        return sg_fail("zip_tf: out of memory for %zu elements", n);
    }
    sg_zip_state_reset(z);
    return 0;
}

void sg_zip_state_free(sg_zip_state *z) {
    free(z->acc);
    free(z->prev);
    z->acc = z->prev = NULL;
    z->n = 0;
}

void sg_zip_state_reset(sg_zip_state *z) {
    memset(z->acc, 0, z->n * sizeof(float));
    memset(z->prev, 0, z->n * sizeof(float));
}

static void accumulate(sg_zip_state *z, const float *in) {
    if (in)
        for (size_t i = 0; i < z->n; i++) z->acc[i] += in[i];
}

/* out = f(X) - prev and prev = f(X), with f(X) already in out */
static void difference(sg_zip_state *z, float *out, size_t n0, size_t n) {
    for (size_t i = n0; i < n0 + n; i++) {
        float f = out[i];
        out[i] = f - z->prev[i];
        z->prev[i] = f;
    }
}

void sg_zip_layernorm_step(sg_zip_state *z, const float *in, float *out, int rows, int C, const float *w,
                           const float *b, float eps) {
    accumulate(z, in);
    for (int r = 0; r < rows; r++) {
        size_t o = (size_t)r * C;
        sg_zip_layernorm_row(out + o, z->acc + o, w, b, C, eps);
        difference(z, out, o, (size_t)C);
    }
}

void sg_zip_softmax_step(sg_zip_state *z, const float *in, float *out, int rows, int T, const int32_t *key_mask) {
    accumulate(z, in);
    for (int r = 0; r < rows; r++) {
        size_t o = (size_t)r * T;
        sg_zip_softmax_row(out + o, z->acc + o, key_mask, T);
        difference(z, out, o, (size_t)T);
    }
}

void sg_zip_tanh_step(sg_zip_state *z, const float *in, float *out) {
    accumulate(z, in);
    for (size_t i = 0; i < z->n; i++) out[i] = tanhf(z->acc[i]);
    difference(z, out, 0, z->n);
}

void sg_zip_unfold_linear_step(sg_zip_unfold_linear *l, const float *x, float *y, int rows) {
    if (x) sg_gemm(0, 1, rows, l->out, l->in, 1.0f, x, l->in, l->W, l->in, 0.0f, y, l->out);
    else memset(y, 0, sizeof(float) * (size_t)rows * (size_t)l->out);
    if (l->b && l->calls < l->level)
        for (int r = 0; r < rows; r++)
            for (int o = 0; o < l->out; o++) y[(size_t)r * l->out + o] += l->b[o] / (float)l->level;
    l->calls++;
}

void sg_zip_embedding_step(float *out, int step, const int32_t *ids, const int32_t *pos_ids, const float *word,
                           const float *pos, const float *type, int N, int C) {
    for (int n = 0; n < N; n++) {
        float *e = out + (size_t)n * C;
        if (step != 1) {
            memset(e, 0, sizeof(float) * (size_t)C);
            continue;
        }
        const float *w = word + (size_t)ids[n] * C, *p = pos + (size_t)pos_ids[n] * C;
        for (int i = 0; i < C; i++) e[i] = w[i] + p[i] + type[i]; /* as the model's embed() */
    }
}

/* ---- neurons ------------------------------------------------------------------------------ */

/* Pass 1 (vectorisable) decides and applies the spikes of a chunk; pass 2 lists them. */
#define SG_FIRE_CHUNK 256

SG_VECTOR_CLONES
static void fire_chunk(const float *x, int32_t *s, int n, float theta, int32_t smin, int32_t smax, int8_t *o,
                       int *pending, int *ups, int *downs) {
    int nu = 0, nd = 0, pend = 0;
    for (int c = 0; c < n; c++) {
        float u = x[c] / theta + 0.5f; /* as LSQ's floor(x/s + 0.5): a division, not a product */
        int32_t S = s[c];
        int up = (u >= (float)(S + 1)) & (S < smax);
        int dn = (u < (float)S) & (S > smin);
        S += up - dn;
        s[c] = S;
        o[c] = (int8_t)(up - dn);
        nu += up;
        nd += dn;
        pend |= ((u >= (float)(S + 1)) & (S < smax)) | ((u < (float)S) & (S > smin));
    }
    *pending |= pend;
    *ups = nu;
    *downs = nd;
}

/* List the spikes of a chunk, o[c] ∈ {-1, 0, 1}, as events base + c / ~(base + c). */
static int list_spikes_plain(const int8_t *o, int m, int base, int32_t *ev) {
    /* write always, advance on a spike: no branch on the spikes (the row's buffer has room for
     * every column) */
    int k = 0;
    for (int c = 0; c < m; c++) {
        ev[k] = o[c] > 0 ? base + c : ~(base + c);
        k += o[c] != 0;
    }
    return k;
}

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#include <immintrin.h>
/* AVX-512: 16 neurons at a time, compress-stored. */
__attribute__((target("avx512f,avx512bw,avx512vl"))) static int list_spikes_avx512(const int8_t *o, int m, int base,
                                                                                   int32_t *ev) {
    const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i ones = _mm512_set1_epi32(-1);
    int k = 0, c = 0;
    for (; c + 16 <= m; c += 16) {
        __m128i b = _mm_loadu_si128((const __m128i *)(o + c));
        __mmask16 nz = _mm_test_epi8_mask(b, b);
        if (!nz) continue;
        __mmask16 pos = _mm_cmpgt_epi8_mask(b, _mm_setzero_si128());
        __m512i idx = _mm512_add_epi32(_mm512_set1_epi32(base + c), lane);
        __m512i v = _mm512_mask_mov_epi32(_mm512_xor_si512(idx, ones), pos, idx);
        _mm512_mask_compressstoreu_epi32(ev + k, nz, v);
        k += __builtin_popcount(nz);
    }
    return k + list_spikes_plain(o + c, m - c, base + c, ev + k);
}
static int list_spikes(const int8_t *o, int m, int base, int32_t *ev) {
    if (__builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
        return list_spikes_avx512(o, m, base, ev);
    return list_spikes_plain(o, m, base, ev);
}
#else
static int list_spikes(const int8_t *o, int m, int base, int32_t *ev) { return list_spikes_plain(o, m, base, ev); }
#endif

int sg_snn_fire(const sg_stbif_params *p, const float *x, int32_t *s, int n, int col0, int32_t *ev, int *pending,
                uint64_t *pos, uint64_t *neg) {
    int8_t o[SG_FIRE_CHUNK];
    int k = 0;
    uint64_t np = 0, nn = 0;
    for (int c0 = 0; c0 < n; c0 += SG_FIRE_CHUNK) {
        int m = n - c0 < SG_FIRE_CHUNK ? n - c0 : SG_FIRE_CHUNK, ups, downs;
        fire_chunk(x + c0, s + c0, m, p->theta, p->smin, p->smax, o, pending, &ups, &downs);
        if (ups + downs == 0) continue;
        np += (uint64_t)ups;
        nn += (uint64_t)downs;
        k += list_spikes(o, m, col0 + c0, ev + k);
    }
    if (pos) *pos += np;
    if (neg) *neg += nn;
    return k;
}

int sg_snn_pop_init(sg_snn_pop *p, int rows, int width, int nseg, const sg_stbif_params *seg, int32_t *ev_shared) {
    memset(p, 0, sizeof *p);
    if (nseg < 1 || nseg > 3 || width % nseg)
        return sg_fail("snn: a population of width %d cannot hold %d quantizers", width, nseg);
    p->rows = rows;
    p->width = width;
    p->nseg = nseg;
    for (int i = 0; i < nseg; i++) p->seg[i] = seg[i];
    size_t n = (size_t)rows * (size_t)width;
    p->x = malloc((n ? n : 1) * sizeof(float));
    p->s = malloc((n ? n : 1) * sizeof(int32_t));
    p->pend = malloc(rows ? (size_t)rows : 1);
    if (ev_shared) {
        p->ev = ev_shared;
    } else {
        p->ev = malloc((n + (size_t)rows + 1) * sizeof(int32_t));
        p->own_ev = 1;
    }
    if (!p->x || !p->s || !p->pend || !p->ev) {
        sg_snn_pop_free(p);
        return sg_fail("snn: out of memory for %zu neurons", n);
    }
    p->nev = p->ev + n;
    sg_snn_pop_reset(p, rows);
    return 0;
}

void sg_snn_pop_free(sg_snn_pop *p) {
    free(p->x);
    free(p->s);
    free(p->pend);
    if (p->own_ev) free(p->ev);
    memset(p, 0, sizeof *p);
}

void sg_snn_pop_reset(sg_snn_pop *p, int rows) {
    size_t n = (size_t)rows * (size_t)p->width;
    memset(p->x, 0, n * sizeof(float));
    memset(p->s, 0, n * sizeof(int32_t));
    memset(p->pend, 0, (size_t)rows);
    memset(p->nev, 0, (size_t)rows * sizeof(int32_t));
}

int sg_snn_pop_fire_row(sg_snn_pop *p, int r, uint64_t *pos, uint64_t *neg) {
    const int w = p->width / p->nseg;
    const size_t off = (size_t)r * p->width;
    int32_t *ev = p->ev + off;
    int k = 0, pending = 0;
    for (int g = 0; g < p->nseg; g++)
        k += sg_snn_fire(&p->seg[g], p->x + off + (size_t)g * w, p->s + off + (size_t)g * w, w, g * w, ev + k,
                         &pending, pos ? pos + g : NULL, neg ? neg + g : NULL);
    p->nev[r] = k;
    p->pend[r] = (uint8_t)pending;
    return k;
}

/* ---- event-driven linear ------------------------------------------------------------------ */

typedef float sg_v16 __attribute__((vector_size(64), aligned(4)));

/* x[c] += θ·Σ_events sign·wt[col·n + c] (+ bstep[c]): the spiking inputs' weight rows stream by
 * from cache while 128 (then 64) output columns at a time stay in registers. */
#define SG_GATHER_BLOCK(NV)                                                                                     \
    for (; c0 + 16 * (NV) <= n; c0 += 16 * (NV)) {                                                             \
        sg_v16 a[NV];                                                                                          \
        for (int v = 0; v < (NV); v++) a[v] = (sg_v16){0};                                                     \
        for (int k = 0; k < nev; k++) {                                                                        \
            const int32_t e = ev[k];                                                                           \
            const sg_v16 *w = (const sg_v16 *)(wt + (size_t)sg_event_col(e) * n + c0);                         \
            if (e >= 0)                                                                                        \
                for (int v = 0; v < (NV); v++) a[v] += w[v];                                                   \
            else                                                                                               \
                for (int v = 0; v < (NV); v++) a[v] -= w[v];                                                   \
        }                                                                                                      \
        sg_v16 *xo = (sg_v16 *)(x + c0);                                                                       \
        if (bstep) {                                                                                           \
            const sg_v16 *bb = (const sg_v16 *)(bstep + c0);                                                   \
            for (int v = 0; v < (NV); v++) xo[v] += a[v] * theta + bb[v];                                      \
        } else {                                                                                               \
            for (int v = 0; v < (NV); v++) xo[v] += a[v] * theta;                                              \
        }                                                                                                      \
    }

SG_VECTOR_CLONES
static void gather_apply(float *x, const float *wt, int n, const int32_t *ev, int nev, float theta,
                         const float *bstep) {
    int c0 = 0;
    SG_GATHER_BLOCK(8)
    SG_GATHER_BLOCK(4)
    for (; c0 < n; c0++) {
        float a = 0.0f;
        for (int k = 0; k < nev; k++) {
            const float w = wt[(size_t)sg_event_col(ev[k]) * n + c0];
            a = ev[k] >= 0 ? a + w : a - w;
        }
        x[c0] += bstep ? a * theta + bstep[c0] : a * theta;
    }
}

void sg_snn_gather(float *acc, const float *wt, int n, const int32_t *ev, int nev) {
    memset(acc, 0, sizeof(float) * (size_t)n);
    gather_apply(acc, wt, n, ev, nev, 1.0f, NULL);
}

SG_VECTOR_CLONES
int sg_snn_linear_fire(const sg_snn_linear *lin, const sg_snn_input *in, int bias_on, sg_snn_pop *pop, int rows,
                       float dense_fraction, sg_snn_scratch *scratch, sg_snn_counts *cnt) {
    const int O = lin->out, NI = lin->in, W = pop->width;
    const float *bstep = bias_on ? lin->bias_step : NULL;
    const float theta = in->theta;
    const int spikes = in->ev != NULL;
    size_t active = 0;
    if (spikes)
        for (int r = 0; r < rows; r++) active += (size_t)in->nev[r];
    if (spikes) cnt->sops += (uint64_t)active * (uint64_t)O;
    if (in->dense) cnt->macs += (uint64_t)rows * (uint64_t)NI * (uint64_t)O;

    /* the dense path: one GEMM for all rows, into scratch */
    const float *Y = NULL;
    if (in->dense) {
        sg_gemm(0, 0, rows, O, NI, 1.0f, in->dense, NI, lin->wt, O, 0.0f, scratch->yd, O);
        Y = scratch->yd;
    } else if (spikes && active > 0 && (double)active >= (double)dense_fraction * (double)rows * (double)NI) {
        memset(scratch->xd, 0, sizeof(float) * (size_t)rows * (size_t)NI);
        for (int r = 0; r < rows; r++) {
            const int32_t *ev = in->ev + (size_t)r * in->stride;
            float *xr = scratch->xd + (size_t)r * NI;
            for (int k = 0; k < in->nev[r]; k++) xr[sg_event_col(ev[k])] = (float)sg_event_sign(ev[k]);
        }
        sg_gemm(0, 0, rows, O, NI, theta, scratch->xd, NI, lin->wt, O, 0.0f, scratch->yd, O);
        Y = scratch->yd;
    }

    int pending = 0;
    for (int r = 0; r < rows; r++) {
        const int has = in->dense ? 1 : spikes && in->nev[r] > 0;
        if (!has && !bstep && !pop->pend[r]) {
            sg_snn_pop_quiet_row(pop, r);
            continue;
        }
        float *x = pop->x + (size_t)r * W;
        if (has && Y) {
            const float *y = Y + (size_t)r * O;
            if (bstep)
                for (int c = 0; c < O; c++) x[c] += y[c] + bstep[c];
            else
                for (int c = 0; c < O; c++) x[c] += y[c];
        } else if (has) {
            gather_apply(x, lin->wt, O, in->ev + (size_t)r * in->stride, in->nev[r], theta, bstep);
        } else if (bstep) {
            for (int c = 0; c < O; c++) x[c] += bstep[c];
        }
        sg_snn_pop_fire_row(pop, r, cnt->pos, cnt->neg);
        pending |= pop->pend[r];
    }
    return pending;
}

/* ---- LayerNorm by the difference rule into its neurons ------------------------------------ */

SG_VECTOR_CLONES
int sg_snn_layernorm_fire(sg_snn_pop *pop, int rows, int first, const int32_t *a_s, const int32_t *a_nev,
                          float a_theta, const int32_t *r_s, const int32_t *r_nev, float r_theta, const float *r_dense,
                          const float *w, const float *b, float eps, float *tmp, sg_snn_counts *cnt) {
    const int C = pop->width;
    int pending = 0;
    for (int i = 0; i < rows; i++) {
        const int changed = first || a_nev[i] > 0 || (r_nev && r_nev[i] > 0);
        if (!changed && !pop->pend[i]) {
            sg_snn_pop_quiet_row(pop, i);
            continue;
        }
        if (changed) {
            /* the ANN's residual sum: quantized branch (n·s) plus the quantized (or real) input */
            const size_t o = (size_t)i * C;
            if (r_dense)
                for (int c = 0; c < C; c++) tmp[c] = (float)a_s[o + c] * a_theta + r_dense[o + c];
            else
                for (int c = 0; c < C; c++) tmp[c] = (float)a_s[o + c] * a_theta + (float)r_s[o + c] * r_theta;
            /* f(X_t): the neuron's accumulated input is the sum of the increments f(X_t) - f(X_t-1) */
            sg_zip_layernorm_row(pop->x + o, tmp, w, b, C, eps);
        }
        sg_snn_pop_fire_row(pop, i, cnt->pos, cnt->neg);
        pending |= pop->pend[i];
    }
    return pending;
}

/* ---- self-attention ----------------------------------------------------------------------- */

int sg_zip_attention_init(sg_zip_attention *a, int T, int C, int H, const sg_zip_attention_params *prm,
                          int32_t *prob_ev_shared, int32_t *out_ev_shared) {
    memset(a, 0, sizeof *a);
    if (H <= 0 || C % H) return sg_fail("snn attention: %d heads do not divide width %d", H, C);
    a->T = T;
    a->C = C;
    a->H = H;
    const size_t TT = (size_t)T * T, TC = (size_t)T * C, d = (size_t)(C / H);
    a->score = malloc(sizeof(int32_t) * (size_t)H * TT);
    a->q_t = malloc(sizeof(int32_t) * TC);
    a->k_t = malloc(sizeof(int32_t) * TC);
    a->v_c = malloc(sizeof(int32_t) * TC);
    a->ctx = malloc(sizeof(int32_t) * TC);
    a->bounds = malloc(sizeof(int32_t) * (size_t)T * (size_t)(3 * H + 1));
    a->keys = malloc(sizeof(int32_t) * (size_t)T);
    a->col = malloc(sizeof(int32_t) * (size_t)T);
    a->delta = malloc(sizeof(int32_t) * (d > (size_t)T ? d : (size_t)T) * (size_t)T);
    a->changed = malloc((size_t)T);
    a->score_changed = malloc((size_t)T);
    if (!a->score || !a->q_t || !a->k_t || !a->v_c || !a->ctx || !a->bounds || !a->keys || !a->col || !a->delta ||
        !a->changed || !a->score_changed) {
        sg_zip_attention_free(a);
        return sg_fail("snn attention: out of memory");
    }
    if (sg_snn_pop_init(&a->prob, H * T, T, 1, &prm->prob, prob_ev_shared) ||
        sg_snn_pop_init(&a->out, T, C, 1, &prm->out, out_ev_shared)) {
        sg_zip_attention_free(a);
        return -1;
    }
    sg_zip_attention_reset(a, T);
    return 0;
}

void sg_zip_attention_free(sg_zip_attention *a) {
    free(a->score);
    free(a->q_t);
    free(a->k_t);
    free(a->v_c);
    free(a->ctx);
    free(a->bounds);
    free(a->keys);
    free(a->col);
    free(a->delta);
    free(a->changed);
    free(a->score_changed);
    sg_snn_pop_free(&a->prob);
    sg_snn_pop_free(&a->out);
    memset(a, 0, sizeof *a);
}

void sg_zip_attention_reset(sg_zip_attention *a, int rows) {
    const int T = a->T, C = a->C;
    for (int hi = 0; hi < a->H * rows; hi++) { /* rows h*T + i, i < rows: the keys in use */
        int h = hi / rows, i = hi % rows;
        size_t o = ((size_t)h * T + (size_t)i) * T;
        memset(a->score + o, 0, sizeof(int32_t) * (size_t)rows);
        memset(a->prob.x + o, 0, sizeof(float) * (size_t)rows);
        memset(a->prob.s + o, 0, sizeof(int32_t) * (size_t)rows);
        a->prob.pend[(size_t)h * T + i] = 0;
        a->prob.nev[(size_t)h * T + i] = 0;
    }
    for (int c = 0; c < C; c++) {
        memset(a->q_t + (size_t)c * T, 0, sizeof(int32_t) * (size_t)rows);
        memset(a->k_t + (size_t)c * T, 0, sizeof(int32_t) * (size_t)rows);
    }
    memset(a->v_c, 0, sizeof(int32_t) * (size_t)rows * C);
    memset(a->ctx, 0, sizeof(int32_t) * (size_t)rows * C);
    sg_snn_pop_reset(&a->out, rows);
}

/* Keys (rows) with events in group g (part * H + head) of the qkv events; returns how many. */
static int keys_with_events(const sg_zip_attention *a, int rows, int g) {
    const int G = 3 * a->H + 1;
    int nk = 0;
    for (int j = 0; j < rows; j++) {
        const int32_t *bd = a->bounds + (size_t)j * G;
        if (bd[g + 1] > bd[g]) a->keys[nk++] = j;
    }
    return nk;
}

/* y[0..n) += sign * x[0..n) on int32 columns (vectorised). */
static void axpy_sign(int32_t *restrict y, const int32_t *restrict x, int n, int32_t e) {
    if (e >= 0)
        for (int i = 0; i < n; i++) y[i] += x[i];
    else
        for (int i = 0; i < n; i++) y[i] -= x[i];
}

/* Softmax by the difference rule into row pr of attn_quan: its accumulated input becomes the
 * softmax of the accumulated scores; the mask is applied once, there (padding keys get
 * probability 0, as exp(finfo.min - max) is 0 in the ANN). */
static void softmax_row(float *px, const int32_t *S, const int32_t *key_mask, int rows, float alpha) {
    float mx = -INFINITY;
    for (int j = 0; j < rows; j++)
        if (key_mask[j]) {
            float v = (float)S[j] * alpha;
            if (v > mx) mx = v;
        }
    float sum = 0.0f;
    for (int j = 0; j < rows; j++) {
        float e = key_mask[j] ? expf((float)S[j] * alpha - mx) : 0.0f;
        px[j] = e;
        sum += e;
    }
    float inv = 1.0f / sum;
    for (int j = 0; j < rows; j++) px[j] *= inv;
}

SG_VECTOR_CLONES
int sg_zip_attention_step(sg_zip_attention *a, const sg_zip_attention_params *prm, const sg_snn_pop *qkv,
                          const int32_t *key_mask, int rows, int q_rows, int first, sg_zip_attention_counts *cnt) {
    const int T = a->T, C = a->C, H = a->H, d = C / H, W3 = qkv->width, G = 3 * H + 1;
    const float alpha = prm->qkv[0].theta * prm->qkv[1].theta * prm->scale;
    const float ctx_scale = prm->prob.theta * prm->qkv[2].theta;
    int pending = 0;

    /* where each (part, head) group starts in each row's events (events are in column order) */
    for (int i = 0; i < rows; i++) {
        const int32_t *ev = qkv->ev + (size_t)i * W3;
        const int n = qkv->nev[i];
        int32_t *bd = a->bounds + (size_t)i * G;
        int k = 0;
        for (int g = 0; g < 3 * H; g++) {
            bd[g] = k;
            while (k < n && sg_event_col(ev[k]) < (g + 1) * d) k++;
        }
        bd[3 * H] = n;
    }
    uint8_t *ctx_changed = a->changed, *score_changed = a->score_changed;
    memset(ctx_changed, first ? 1 : 0, (size_t)q_rows);

    for (int h = 0; h < H; h++) {
        const int gq = h, gk = H + h, gv = 2 * H + h;
        /* scores, term 1: this step's Q spikes times the K counts of the previous step; then the
         * Q spikes join the (transposed) Q counts */
        for (int i = 0; i < q_rows; i++) {
            const int32_t *ev = qkv->ev + (size_t)i * W3, *bd = a->bounds + (size_t)i * G;
            int32_t *S = a->score + ((size_t)h * T + i) * T;
            for (int k = bd[gq]; k < bd[gq + 1]; k++) {
                axpy_sign(S, a->k_t + (size_t)sg_event_col(ev[k]) * T, rows, ev[k]);
                a->q_t[(size_t)sg_event_col(ev[k]) * T + i] += sg_event_sign(ev[k]);
            }
            score_changed[i] = (uint8_t)(first || bd[gq + 1] > bd[gq]);
            cnt->score_sops += (uint64_t)(bd[gq + 1] - bd[gq]) * (uint64_t)rows;
        }
        /* scores, term 2: the Q counts including this step times this step's K spikes, one key
         * (a column of the scores) at a time, vectorised over the query rows */
        const int nk = keys_with_events(a, rows, gk);
        for (int kk = 0; kk < nk; kk++) {
            const int j = a->keys[kk];
            const int32_t *ev = qkv->ev + (size_t)j * W3, *bd = a->bounds + (size_t)j * G;
            int32_t *col = a->col;
            memset(col, 0, sizeof(int32_t) * (size_t)q_rows);
            for (int k = bd[gk]; k < bd[gk + 1]; k++) {
                const int c = sg_event_col(ev[k]) - C;
                axpy_sign(col, a->q_t + (size_t)c * T, q_rows, ev[k]);
                a->k_t[(size_t)c * T + j] += sg_event_sign(ev[k]); /* k_t is now Ŝ_K(t) for key j */
            }
            int32_t *Sj = a->score + (size_t)h * T * T + j;
            for (int i = 0; i < q_rows; i++) { /* no branch: adding 0 changes nothing */
                Sj[(size_t)i * T] += col[i];
                score_changed[i] |= col[i] != 0;
            }
            cnt->score_sops += (uint64_t)(bd[gk + 1] - bd[gk]) * (uint64_t)q_rows;
        }
        /* softmax by the difference rule into attn_quan, for the rows whose scores moved */
        for (int i = 0; i < q_rows; i++) {
            const size_t pr = (size_t)h * T + i;
            float *px = a->prob.x + pr * T;
            if (score_changed[i]) softmax_row(px, a->score + pr * T, key_mask, rows, alpha);
            else if (!a->prob.pend[pr]) {
                a->prob.nev[pr] = 0;
                continue;
            }
            int pend = 0;
            a->prob.nev[pr] = sg_snn_fire(&prm->prob, px, a->prob.s + pr * T, rows, 0, a->prob.ev + pr * T, &pend,
                                          &cnt->prob_pos, &cnt->prob_neg);
            a->prob.pend[pr] = (uint8_t)pend;
            pending |= pend;
        }
        /* context, term 1: this step's P spikes times the V counts of the previous step */
        for (int i = 0; i < q_rows; i++) {
            const size_t pr = (size_t)h * T + i;
            const int32_t *ev = a->prob.ev + pr * T;
            const int n = a->prob.nev[pr];
            if (!n) continue;
            int32_t *cx = a->ctx + (size_t)i * C + (size_t)h * d;
            for (int k = 0; k < n; k++) axpy_sign(cx, a->v_c + (size_t)sg_event_col(ev[k]) * C + (size_t)h * d, d, ev[k]);
            ctx_changed[i] = 1;
            cnt->context_sops += (uint64_t)n * (uint64_t)d;
        }
        /* context, term 2: the P counts including this step times this step's V spikes, into a
         * transposed delta (vectorised over the query rows), added to the context once */
        const int nv = keys_with_events(a, rows, gv);
        int any = 0;
        if (nv > 0) memset(a->delta, 0, sizeof(int32_t) * (size_t)d * T);
        for (int kk = 0; kk < nv; kk++) {
            const int j = a->keys[kk];
            const int32_t *ev = qkv->ev + (size_t)j * W3, *bd = a->bounds + (size_t)j * G;
            int32_t *col = a->col, nz = 0;
            for (int i = 0; i < q_rows; i++) nz |= col[i] = a->prob.s[((size_t)h * T + i) * T + j];
            for (int k = bd[gv]; k < bd[gv + 1]; k++) {
                const int c = sg_event_col(ev[k]) - 2 * C;
                a->v_c[(size_t)j * C + c] += sg_event_sign(ev[k]); /* v_c is now Ŝ_V(t) for key j */
                if (nz) axpy_sign(a->delta + (size_t)(c - h * d) * T, col, q_rows, ev[k]);
            }
            any |= nz;
            cnt->context_sops += (uint64_t)(bd[gv + 1] - bd[gv]) * (uint64_t)q_rows;
        }
        if (any)
            for (int i = 0; i < q_rows; i++) {
                int32_t *cx = a->ctx + (size_t)i * C + (size_t)h * d, ch = 0;
                for (int c = 0; c < d; c++) {
                    const int32_t v = a->delta[(size_t)c * T + i];
                    cx[c] += v;
                    ch |= v;
                }
                if (ch) ctx_changed[i] = 1;
            }
    }
    /* after_attn_quan on the merged heads: its accumulated input is θ_P·θ_V·Σ n_P·n_V */
    for (int i = 0; i < q_rows; i++) {
        if (ctx_changed[i]) {
            const int32_t *cx = a->ctx + (size_t)i * C;
            float *ox = a->out.x + (size_t)i * C;
            for (int c = 0; c < C; c++) ox[c] = (float)cx[c] * ctx_scale;
        } else if (!a->out.pend[i]) {
            a->out.nev[i] = 0;
            continue;
        }
        uint64_t pos = 0, neg = 0;
        sg_snn_pop_fire_row(&a->out, i, &pos, &neg);
        cnt->out_pos += pos;
        cnt->out_neg += neg;
        pending |= a->out.pend[i];
    }
    return pending;
}
