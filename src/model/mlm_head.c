#include "model/mlm_head.h"

#include "core/rng.h"
#include "model/linear.h"
#include "model/ops.h"

#include <math.h>
#include <string.h>

int sg_mlm_count_labelled(const int32_t *labels, size_t n) {
    int count = 0;
    for (size_t i = 0; i < n; i++) count += labels[i] != SG_MLM_IGNORE;
    return count;
}

/* The positions whose logits are computed: the labelled ones (the loss needs no others), or all. */
static int select_rows(sg_acts *a, const sg_batch *b) {
    const int N = b->B * b->T;
    int R = 0;
    for (int n = 0; n < N; n++) {
        int32_t label = b->token_labels ? b->token_labels[n] : SG_MLM_IGNORE;
        if (b->token_labels && label == SG_MLM_IGNORE) continue;
        a->mlm_rows[R] = n;
        a->mlm_target[R++] = label;
    }
    return R;
}

float sg_mlm_head_forward(sg_model *m, const sg_batch *b, const float *x) {
    const sg_model_config *c = &m->cfg;
    sg_acts *a = &m->acts;
    const int C = c->hidden, V = c->vocab_size;
    const int R = a->mlm_R = select_rows(a, b);
    if (R == 0) return a->mlm_den = 0.0, 0.0f;
    for (int r = 0; r < R; r++) memcpy(a->mlm_x + (size_t)r * C, x + (size_t)a->mlm_rows[r] * C, sizeof(float) * C);
    sg_model_linear_forward(m, sg_param_index_head(c, M_DW), sg_param_index_head(c, M_DB), a->mlm_h, a->mlm_x, R);
    sg_gelu_forward(a->mlm_g, a->mlm_h, (size_t)R * C); /* RobertaLMHead's gelu is fixed, not hidden_act */
    sg_layernorm_forward(a->mlm_ln, a->mlm_mean, a->mlm_rstd, a->mlm_g, sg_model_param(m, sg_param_index_head(c, M_LNW)),
                         sg_model_param(m, sg_param_index_head(c, M_LNB)), R, C, c->ln_eps);
    /* the tied decoder: word_embeddings [V, C] as the weight, lm_head.bias as its bias */
    sg_model_linear_forward(m, P_WORD, sg_param_index_head(c, M_BIAS), a->mlm_logits, a->mlm_ln, R);
    if (!b->token_labels) return a->mlm_den = 0.0, 0.0f;
    double loss = 0.0;
#pragma omp parallel for schedule(static) reduction(+ : loss)
    for (int r = 0; r < R; r++) { /* log-sum-exp kept for the backward's softmax */
        const float *z = a->mlm_logits + (size_t)r * V;
        float mx = z[0];
        for (int j = 1; j < V; j++) mx = z[j] > mx ? z[j] : mx;
        double sum = 0.0;
        for (int j = 0; j < V; j++) sum += expf(z[j] - mx);
        a->mlm_lse[r] = mx + (float)log(sum);
        loss += (double)a->mlm_lse[r] - (double)z[a->mlm_target[r]];
    }
    a->mlm_den = m->global_labelled > 0 ? (double)m->global_labelled : (double)R;
    return (float)(loss / a->mlm_den);
}

void sg_mlm_head_backward(sg_model *m, const sg_batch *b) {
    const sg_model_config *c = &m->cfg;
    sg_acts *a = &m->acts;
    const int N = b->B * b->T, C = c->hidden, V = c->vocab_size, R = a->mlm_R;
    const size_t NC = (size_t)N * C;
    memset(a->d_x, 0, sizeof(float) * NC);
    if (R == 0 || a->mlm_den <= 0.0) return;
    const float inv = (float)(1.0 / a->mlm_den);
#pragma omp parallel for schedule(static)
    for (int r = 0; r < R; r++) { /* d(mean CE)/dz = (softmax - onehot) / count, in place of the logits */
        float *z = a->mlm_logits + (size_t)r * V;
        const float lse = a->mlm_lse[r];
        for (int j = 0; j < V; j++) z[j] = expf(z[j] - lse) * inv;
        z[a->mlm_target[r]] -= inv;
    }
    /* d_qkv is free until the last layer's attention backward: three [R, C] scratch rows */
    float *d_ln = a->d_qkv, *d_g = a->d_qkv + NC, *d_xr = a->d_qkv + 2 * NC;
    sg_model_linear_backward(m, P_WORD, sg_param_index_head(c, M_BIAS), d_ln, 0.0f, a->mlm_logits, a->mlm_ln, R);
    const int lnw = sg_param_index_head(c, M_LNW), lnb = sg_param_index_head(c, M_LNB);
    sg_layernorm_backward(d_g, 0, sg_model_grad(m, lnw), sg_model_grad(m, lnb), d_ln, a->mlm_g, sg_model_param(m, lnw),
                          a->mlm_mean, a->mlm_rstd, R, C, a->scratch, a->threads);
    sg_gelu_backward(d_g, d_g, a->mlm_h, (size_t)R * C);
    sg_model_linear_backward(m, sg_param_index_head(c, M_DW), sg_param_index_head(c, M_DB), d_xr, 0.0f, d_g, a->mlm_x, R);
    for (int r = 0; r < R; r++) memcpy(a->d_x + (size_t)a->mlm_rows[r] * C, d_xr + (size_t)r * C, sizeof(float) * C);
}

void sg_mlm_head_init(sg_model *m, uint64_t seed) {
    const sg_model_config *c = &m->cfg;
    for (int k = 0; k < M_COUNT; k++) {
        int idx = sg_param_index_head(c, k);
        const sg_param_info *p = &m->table.info[idx];
        float *w = sg_model_param(m, idx);
        for (size_t j = 0; j < p->numel; j++)
            w[j] = k == M_DW ? c->initializer_range * sg_normal(seed, 2000 + (uint64_t)k, j) : k == M_LNW ? 1.0f : 0.0f;
    }
}
