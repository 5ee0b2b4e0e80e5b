#include "snn/zip_ops.h"

#include "blas/gemm.h"
#include "core/error.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- standalone zip_tf operators ---------------------------------------------------------- */

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
        sg_layernorm_row(out + o, z->acc + o, w, b, C, eps, NULL, NULL);
        difference(z, out, o, (size_t)C);
    }
}

void sg_zip_softmax_step(sg_zip_state *z, const float *in, float *out, int rows, int T, const int32_t *key_mask) {
    accumulate(z, in);
    for (int r = 0; r < rows; r++) {
        size_t o = (size_t)r * T;
        sg_softmax_row(out + o, z->acc + o, key_mask, T);
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

/* ---- neuron populations (their kernels: snn/zip_kernels.c) -------------------------------- */

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
