/* The forward pass, layer by layer, as spec §1 (HF RobertaForSequenceClassification). */
#include "blas/gemm.h"
#include "core/rng.h"
#include "model/ops.h"
#include "model/roberta.h"

#include <math.h>
#include <string.h>

/* Dropout streams: one per (step, layer, site); attention adds the (batch, head) index. */
enum { SITE_EMB, SITE_ATT, SITE_ATT_OUT, SITE_FFN_OUT, SITE_CLS_IN, SITE_CLS_MID };
uint64_t sg_dropout_stream(uint64_t step, int layer, int site) {
    return sg_hash64(step * 0x9E3779B1ULL + (uint64_t)(layer + 1) * 64 + (uint64_t)site);
}

static void embed(sg_model *m, const sg_batch *b, float *x_out) {
    const sg_model_config *c = &m->cfg;
    sg_acts *a = &m->acts;
    const int N = b->B * b->T, C = c->hidden;
    sg_position_ids(a->pos_ids, b->ids, b->B, b->T, c->pad_id);
    const float *word = sg_model_param(m, P_WORD), *pos = sg_model_param(m, P_POS), *type = sg_model_param(m, P_TYPE);
#pragma omp parallel for schedule(static)
    for (int n = 0; n < N; n++) {
        const float *w = word + (size_t)b->ids[n] * C, *p = pos + (size_t)a->pos_ids[n] * C;
        float *e = a->emb + (size_t)n * C;
        for (int i = 0; i < C; i++) e[i] = w[i] + p[i] + type[i]; /* token_type_ids are all 0 */
    }
    sg_layernorm_forward(a->emb_ln, a->emb_mean, a->emb_rstd, a->emb, sg_model_param(m, P_EMB_LN_W),
                         sg_model_param(m, P_EMB_LN_B), N, C, c->ln_eps);
    sg_dropout_forward(x_out, a->emb_ln, (size_t)N * C, a->training_now ? c->hidden_dropout : 0.0f, m->dropout_seed,
                       sg_dropout_stream(m->step, -1, SITE_EMB));
}

static void encoder_layer(sg_model *m, int l, const sg_batch *b, sg_layer_acts *la, float *x_out) {
    const sg_model_config *c = &m->cfg;
    sg_acts *a = &m->acts;
    const int N = b->B * b->T, C = c->hidden, F = c->ffn;
    const float ph = a->training_now ? c->hidden_dropout : 0.0f, pa = a->training_now ? c->attn_dropout : 0.0f;
#define W(k) sg_model_param(m, sg_param_index_layer(c, l, k))
    sg_linear_forward(la->qkv, la->x_in, W(L_QW), W(L_QB), N, C, 3 * C);
    sg_attention_forward(la->ctx, la->att, la->qkv, b->mask, b->B, b->T, C, c->heads, pa, m->dropout_seed,
                         sg_dropout_stream(m->step, l, SITE_ATT), a->scratch, a->threads);
    sg_linear_forward(la->res1, la->ctx, W(L_AOW), W(L_AOB), N, C, C);
    sg_dropout_forward(la->res1, la->res1, (size_t)N * C, ph, m->dropout_seed, sg_dropout_stream(m->step, l, SITE_ATT_OUT));
    const size_t NC = (size_t)N * C;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < NC; i++) la->res1[i] += la->x_in[i];
    sg_layernorm_forward(la->h1, la->ln1_mean, la->ln1_rstd, la->res1, W(L_LN1W), W(L_LN1B), N, C, c->ln_eps);
    sg_linear_forward(la->fc1, la->h1, W(L_IW), W(L_IB), N, C, F);
    if (c->act == SG_ACT_RELU) sg_relu_forward(la->act, la->fc1, (size_t)N * F);
    else sg_gelu_forward(la->act, la->fc1, (size_t)N * F);
    sg_linear_forward(la->res2, la->act, W(L_OW), W(L_OB), N, F, C);
    sg_dropout_forward(la->res2, la->res2, NC, ph, m->dropout_seed, sg_dropout_stream(m->step, l, SITE_FFN_OUT));
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < NC; i++) la->res2[i] += la->h1[i];
    sg_layernorm_forward(x_out, la->ln2_mean, la->ln2_rstd, la->res2, W(L_LN2W), W(L_LN2B), N, C, c->ln_eps);
#undef W
}

static float head_and_loss(sg_model *m, const sg_batch *b, const float *x) {
    const sg_model_config *c = &m->cfg;
    sg_acts *a = &m->acts;
    const int B = b->B, T = b->T, C = c->hidden, L = c->num_labels;
    const float ph = a->training_now ? c->hidden_dropout : 0.0f;
    for (int i = 0; i < B; i++) memcpy(a->cls_x + (size_t)i * C, x + (size_t)i * T * C, sizeof(float) * C); /* <s> */
    sg_dropout_forward(a->cls_x, a->cls_x, (size_t)B * C, ph, m->dropout_seed, sg_dropout_stream(m->step, -1, SITE_CLS_IN));
    sg_linear_forward(a->cls_h, a->cls_x, sg_model_param(m, sg_param_index_classifier(c, C_DW)),
                      sg_model_param(m, sg_param_index_classifier(c, C_DB)), B, C, C);
    for (int i = 0; i < B * C; i++) a->cls_t[i] = tanhf(a->cls_h[i]);
    sg_dropout_forward(a->cls_t, a->cls_t, (size_t)B * C, ph, m->dropout_seed, sg_dropout_stream(m->step, -1, SITE_CLS_MID));
    sg_linear_forward(a->logits, a->cls_t, sg_model_param(m, sg_param_index_classifier(c, C_OW)),
                      sg_model_param(m, sg_param_index_classifier(c, C_OB)), B, C, L);
    double loss = 0.0;
    if (c->problem == SG_PROBLEM_REGRESSION) {
        if (!b->targets) return 0.0f;
        for (int i = 0; i < B; i++) {
            double d = (double)a->logits[i] - (double)b->targets[i];
            loss += d * d;
        }
        return (float)(loss / B);
    }
    for (int i = 0; i < B; i++) { /* softmax kept for backward and for predictions */
        const float *z = a->logits + (size_t)i * L;
        float *p = a->probs + (size_t)i * L;
        float mx = z[0];
        for (int j = 1; j < L; j++) mx = z[j] > mx ? z[j] : mx;
        float sum = 0.0f;
        for (int j = 0; j < L; j++) sum += p[j] = expf(z[j] - mx);
        for (int j = 0; j < L; j++) p[j] /= sum;
        if (b->labels) loss += -(double)(z[b->labels[i]] - mx - logf(sum));
    }
    return b->labels ? (float)(loss / B) : 0.0f;
}

float sg_model_forward(sg_model *m, const sg_batch *b, int training) {
    sg_acts *a = &m->acts;
    a->training_now = training;
    const int layers = m->cfg.layers;
    if (training) {
        embed(m, b, a->layer[0].x_in);
        for (int l = 0; l < layers; l++)
            encoder_layer(m, l, b, &a->layer[l], l + 1 < layers ? a->layer[l + 1].x_in : a->out);
        return head_and_loss(m, b, a->out);
    }
    /* eval: one set of layer buffers, the hidden state ping-pongs between x_in and out */
    sg_layer_acts la = a->layer[0];
    float *x = la.x_in, *y = a->out;
    embed(m, b, x);
    for (int l = 0; l < layers; l++) {
        la.x_in = x;
        encoder_layer(m, l, b, &la, y);
        float *t = x;
        x = y;
        y = t;
    }
    return head_and_loss(m, b, x);
}
