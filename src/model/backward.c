/* The backward pass of the last training forward, in reverse order of forward.c. */
#include "blas/gemm.h"
#include "core/rng.h"
#include "model/linear.h"
#include "model/mlm_head.h"
#include "model/ops.h"
#include "model/roberta.h"

#include <math.h>
#include <string.h>

/* Straight-through backward of quantizer q in place on d (its input was x); accumulates d(s). */
static void unquantize_grad(sg_model *m, const sg_batch *b, sg_lsq *q, const float *x, float *d, size_t n) {
    if (!q) return;
    /* data parallel: this batch is part of a global one, whose numel sets the gradient's scale */
    size_t numel = m->global_rows > 0 && b->B > 0 ? n / (size_t)b->B * (size_t)m->global_rows : n;
    sg_lsq_backward_part(q, x, d, d, n, numel, m->grads + (q->s - m->params));
}

/* Gradient of the mean loss w.r.t. the logits, then the head; leaves d(encoder output) in d_x. */
static void head_backward(sg_model *m, const sg_batch *b) {
    const sg_model_config *c = &m->cfg;
    sg_acts *a = &m->acts;
    const int B = b->B, T = b->T, C = c->hidden, L = c->num_labels;
    const float ph = sg_classifier_dropout(c);
    /* label smoothing: the target is (1 - eps) one-hot + eps uniform, so d/dz = p - target */
    const float eps = c->problem == SG_PROBLEM_REGRESSION ? 0.0f : m->label_smoothing, off = eps / (float)L;
    float *dlogits = a->d_cls, *dt = dlogits + (size_t)B * L, *dx_cls = dt + (size_t)B * C;
    for (int i = 0; i < B; i++) {
        if (c->problem == SG_PROBLEM_REGRESSION) {
            dlogits[i] = 2.0f * (a->logits[i] - b->targets[i]) / (float)sg_loss_rows(m, B);
        } else {
            for (int j = 0; j < L; j++)
                dlogits[i * L + j] = (a->probs[i * L + j] - off - (j == b->labels[i] ? 1.0f - eps : 0.0f)) / (float)sg_loss_rows(m, B);
        }
    }
    int ow = sg_param_index_classifier(c, C_OW), ob = sg_param_index_classifier(c, C_OB);
    int dw = sg_param_index_classifier(c, C_DW), db = sg_param_index_classifier(c, C_DB);
    sg_model_linear_backward(m, ow, ob, dt, 0.0f, dlogits, a->cls_t, B);
    sg_dropout_backward_at(dt, 0, dt, (size_t)B * C, ph, m->dropout_seed, sg_dropout_stream(m->step, -1, SG_SITE_CLS_MID),
                           sg_dropout_first(m, (size_t)C));
    for (int i = 0; i < B * C; i++) {
        float t = tanhf(a->cls_h[i]);
        dt[i] *= 1.0f - t * t;
    }
    unquantize_grad(m, b, sg_model_quant(m, c->layers, 0), a->cls_h_pre, dt, (size_t)B * C);
    sg_model_linear_backward(m, dw, db, dx_cls, 0.0f, dt, a->cls_x, B);
    sg_dropout_backward_at(dx_cls, 0, dx_cls, (size_t)B * C, ph, m->dropout_seed, sg_dropout_stream(m->step, -1, SG_SITE_CLS_IN),
                           sg_dropout_first(m, (size_t)C));
    memset(a->d_x, 0, sizeof(float) * (size_t)B * T * C);
    for (int i = 0; i < B; i++) memcpy(a->d_x + (size_t)i * T * C, dx_cls + (size_t)i * C, sizeof(float) * C);
}

/* In: d_ctx = d(context before after_attn_quan). Out: d_qkv = d(q|k|v before their quantizers). */
static void self_attention_backward(sg_model *m, int l, const sg_batch *b, sg_layer_acts *la) {
    const sg_model_config *c = &m->cfg;
    sg_acts *a = &m->acts;
    const int N = b->B * b->T, C = c->hidden;
    const size_t NC = (size_t)N * C, BHTT = (size_t)b->B * c->heads * b->T * b->T;
    const float pa = c->attn_dropout;
    sg_lsq *qa = sg_model_quant(m, l, Q_ATTN);
    const float *p = (pa > 0.0f || qa) ? la->att_p : la->att;
    sg_attention_context_backward(a->d_att, a->d_qkv + 2 * NC, a->d_ctx, p, la->qkv + 2 * NC, b->B, b->T, C, c->heads,
                                  a->threads);
    uint64_t stream = sg_dropout_stream(m->step, l, SG_SITE_ATT), first = sg_dropout_first(m, (size_t)c->heads * b->T * b->T);
    if (qa) { /* attn_quan's input was dropout(att): rebuild it instead of keeping it */
        sg_dropout_forward_at(a->d_att2, la->att, BHTT, pa, m->dropout_seed, stream, first);
        unquantize_grad(m, b, qa, a->d_att2, a->d_att, BHTT);
    }
    if (pa > 0.0f) sg_dropout_backward_at(a->d_att, 0, a->d_att, BHTT, pa, m->dropout_seed, stream, first);
    sg_attention_probs_backward(a->d_qkv, a->d_qkv + NC, a->d_att, la->att, la->qkv, la->qkv + NC, b->B, b->T, C,
                                c->heads, a->threads);
    for (int part = 0; part < 3; part++)
        unquantize_grad(m, b, sg_model_quant(m, l, Q_QUERY + part), la->qkv_pre + part * NC, a->d_qkv + part * NC, NC);
}

/* Backward of "dense_quan -> dropout -> LN(. + residual) -> dense_quan_after_ln", written once for
 * both blocks of a layer. In: d_io = d(block output). Out: d_io = d(dense output, before dense_quan
 * when quantized), d_res = d(LN input) = the residual path's gradient. */
typedef struct {
    int q_norm, ln_w, ln_b, drop_site, q_dense;
} add_norm;

static void add_norm_backward(sg_model *m, int l, const sg_batch *b, add_norm k, float *d_io, float *d_res,
                              const float *norm_pre, const float *res, const float *mean, const float *rstd,
                              const float *dense_pre, float p) {
    const sg_model_config *c = &m->cfg;
    sg_acts *a = &m->acts;
    const int N = b->B * b->T, C = c->hidden;
    const size_t NC = (size_t)N * C;
    const int w = sg_param_index_layer(c, l, k.ln_w), bias = sg_param_index_layer(c, l, k.ln_b);
    unquantize_grad(m, b, sg_model_quant(m, l, k.q_norm), norm_pre, d_io, NC);
    sg_layernorm_backward(d_res, 0, sg_model_grad(m, w), sg_model_grad(m, bias), d_io, res, sg_model_param(m, w), mean, rstd,
                          N, C, a->scratch, a->threads);
    sg_dropout_backward_at(d_io, 0, d_res, NC, p, m->dropout_seed, sg_dropout_stream(m->step, l, k.drop_site),
                           sg_dropout_first(m, (size_t)b->T * C));
    unquantize_grad(m, b, sg_model_quant(m, l, k.q_dense), dense_pre, d_io, NC);
}

static void progress(sg_model *m) {
    if (m->progress) m->progress(m->progress_ctx);
}

/* In: d_x = d(layer output). Out: d_x = d(layer input). */
static void layer_backward(sg_model *m, int l, const sg_batch *b) {
    const sg_model_config *c = &m->cfg;
    sg_acts *a = &m->acts;
    sg_layer_acts *la = &a->layer[l];
    const int N = b->B * b->T, C = c->hidden, F = c->ffn;
    const size_t NC = (size_t)N * C, NF = (size_t)N * F;
    const float ph = c->hidden_dropout;
#define W(k) sg_model_param(m, sg_param_index_layer(c, l, k))
#define G(k) sg_model_grad(m, sg_param_index_layer(c, l, k))
#define IDX(k) sg_param_index_layer(c, l, k)
    /* out = quant(LN2(res2)), res2 = h1 + drop(quant(W2·act + b2)) */
    add_norm_backward(m, l, b, (add_norm){Q_FFN_OUT_LN, L_LN2W, L_LN2B, SG_SITE_FFN_OUT, Q_FFN_OUT}, a->d_x, a->d_x2,
                      la->out_pre, la->res2, la->ln2_mean, la->ln2_rstd, la->fc2_pre, ph);
    sg_model_linear_backward(m, IDX(L_OW), IDX(L_OB), a->d_ffn, 0.0f, a->d_x, la->act, N);
    progress(m);
    if (c->act == SG_ACT_RELU) sg_relu_backward(a->d_ffn, a->d_ffn, la->act, NF); /* act > 0 iff its input > 0 */
    else sg_gelu_backward(a->d_ffn, a->d_ffn, la->fc1, NF);
    unquantize_grad(m, b, sg_model_quant(m, l, Q_INTER), la->fc1, a->d_ffn, NF);
    /* d_x2 holds d(h1) from the residual; the FFN path adds onto it */
    sg_model_linear_backward(m, IDX(L_IW), IDX(L_IB), a->d_x2, 1.0f, a->d_ffn, la->h1, N);
    progress(m);
    /* h1 = quant(LN1(res1)), res1 = x_in + drop(quant(Wo·ctx + bo)) */
    add_norm_backward(m, l, b, (add_norm){Q_ATTN_OUT_LN, L_LN1W, L_LN1B, SG_SITE_ATT_OUT, Q_ATTN_OUT}, a->d_x2, a->d_x,
                      la->h1_pre, la->res1, la->ln1_mean, la->ln1_rstd, la->ao_pre, ph);
    sg_model_linear_backward(m, IDX(L_AOW), IDX(L_AOB), a->d_ctx, 0.0f, a->d_x2, la->ctx, N);
    progress(m);
    unquantize_grad(m, b, sg_model_quant(m, l, Q_AFTER_ATTN), la->ctx_pre, a->d_ctx, NC);
    self_attention_backward(m, l, b, la);
    progress(m);
    /* d_x (residual path) += d(q|k|v)·W */
    for (int part = 0; part < 3; part++) {
        sg_model_linear_backward(m, IDX(L_QW + part), IDX(L_QB + part), a->d_x, 1.0f, a->d_qkv + part * NC, la->x_in, N);
        if (part < 2) progress(m); /* the layer's grads_ready follows the last */
    }
#undef W
#undef G
#undef IDX
}

static void embed_backward(sg_model *m, const sg_batch *b) {
    const sg_model_config *c = &m->cfg;
    sg_acts *a = &m->acts;
    const int N = b->B * b->T, C = c->hidden;
    sg_dropout_backward_at(a->d_x, 0, a->d_x, (size_t)N * C, c->hidden_dropout, m->dropout_seed,
                           sg_dropout_stream(m->step, -1, SG_SITE_EMB), sg_dropout_first(m, (size_t)b->T * C));
    sg_layernorm_backward(a->d_x2, 0, sg_model_grad(m, P_EMB_LN_W), sg_model_grad(m, P_EMB_LN_B), a->d_x, a->emb,
                          sg_model_param(m, P_EMB_LN_W), a->emb_mean, a->emb_rstd, N, C, a->scratch, a->threads);
    float *gw = sg_model_grad(m, P_WORD), *gp = sg_model_grad(m, P_POS), *gt = sg_model_grad(m, P_TYPE);
    /* rows of one token can repeat, so columns are split across threads instead of rows */
#pragma omp parallel for schedule(static)
    for (int c0 = 0; c0 < C; c0 += 16) {
        int w = C - c0 < 16 ? C - c0 : 16;
        for (int n = 0; n < N; n++) {
            const float *g = a->d_x2 + (size_t)n * C + c0;
            int id = b->ids[n], pos = a->pos_ids[n];
            for (int i = 0; i < w; i++) {
                if (id != c->pad_id) gw[(size_t)id * C + c0 + i] += g[i]; /* nn.Embedding(padding_idx) */
                if (pos != c->pad_id) gp[(size_t)pos * C + c0 + i] += g[i];
                gt[c0 + i] += g[i];
            }
        }
    }
}

void sg_model_backward(sg_model *m, const sg_batch *b) {
    if (m->cfg.head == SG_HEAD_MLM) sg_mlm_head_backward(m, b);
    else head_backward(m, b);
    if (m->grads_ready) m->grads_ready(m->grads_ready_ctx, m->cfg.layers);
    for (int l = m->cfg.layers - 1; l >= 0; l--) {
        layer_backward(m, l, b);
        if (m->grads_ready) m->grads_ready(m->grads_ready_ctx, l);
    }
    embed_backward(m, b);
}
