/* The forward pass, layer by layer, as spec §1 (HF RobertaForSequenceClassification) with the
 * quantizers of spec §2 where the model has them. */
#include "blas/gemm.h"
#include "core/rng.h"
#include "model/linear.h"
#include "model/mlm_head.h"
#include "model/ops.h"
#include "model/roberta.h"

#include <math.h>
#include <string.h>

/* Dropout streams: one per (step, layer, site). */
uint64_t sg_dropout_stream(uint64_t step, int layer, int site) {
    return sg_hash64(step * 0x9E3779B1ULL + (uint64_t)(layer + 1) * 64 + (uint64_t)site);
}

static sg_lsq_mode lsq_mode(const sg_model *m) {
    return m->calibrating ? SG_LSQ_CALIBRATE : m->acts.training_now ? SG_LSQ_TRAIN : SG_LSQ_EVAL;
}

/* Quantize pre -> post when q is on; otherwise the producer already wrote into post. */
static void quantize(const sg_model *m, sg_lsq *q, const float *pre, float *post, size_t n) {
    if (q) sg_lsq_forward(q, lsq_mode(m), pre, post, n);
}

/* Where a site's producer writes: the quantizer's input buffer when it is on, else the output. */
static float *site(sg_lsq *q, float *pre, float *post) { return q ? pre : post; }

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
    sg_dropout_forward_at(x_out, a->emb_ln, (size_t)N * C, a->training_now ? c->hidden_dropout : 0.0f, m->dropout_seed,
                          sg_dropout_stream(m->step, -1, SG_SITE_EMB), sg_dropout_first(m, (size_t)b->T * C));
}

static void self_attention(sg_model *m, int l, const sg_batch *b, sg_layer_acts *la) {
    const sg_model_config *c = &m->cfg;
    sg_acts *a = &m->acts;
    const int N = b->B * b->T, C = c->hidden;
    const size_t NC = (size_t)N * C, BHTT = (size_t)b->B * c->heads * b->T * b->T;
    const float pa = a->training_now ? c->attn_dropout : 0.0f;
    sg_lsq *qa = sg_model_quant(m, l, Q_ATTN), *qc = sg_model_quant(m, l, Q_AFTER_ATTN);
    float *ctx = site(qc, la->ctx_pre, la->ctx);
    /* eval with nothing between the products (no quantizer on q, k, v or the probabilities; no
     * dropout): q | k | v as one [N, 3C] product, its weights being back to back (params.h), so
     * x_in is packed once instead of three times; the attention reads the rows 3C apart and takes
     * each (batch, head) block from scores to context in one go. Training keeps the planar q, k, v
     * and the probabilities its backward reads. */
    const int straight = !a->training_now && !qa && !sg_model_quant(m, l, Q_QUERY) && !sg_model_quant(m, l, Q_KEY) &&
                         !sg_model_quant(m, l, Q_VALUE);
    if (straight && sg_model_linear_forward_fused(m, sg_param_index_layer(c, l, L_QW), sg_param_index_layer(c, l, L_QB),
                                                  3, la->qkv, la->x_in, N)) {
        sg_attention_forward(ctx, la->qkv, la->qkv + C, la->qkv + 2 * C, 3 * C, b->mask, b->B, b->T, C, c->heads,
                             la->att, a->threads);
        quantize(m, qc, ctx, la->ctx, NC);
        return;
    }
    for (int part = 0; part < 3; part++) { /* q, k, v: planar, each through its own quantizer */
        sg_lsq *q = sg_model_quant(m, l, Q_QUERY + part);
        float *pre = site(q, la->qkv_pre + part * NC, la->qkv + part * NC);
        int w = sg_param_index_layer(c, l, L_QW + part), bias = sg_param_index_layer(c, l, L_QB + part);
        sg_model_linear_forward(m, w, bias, pre, la->x_in, N);
        quantize(m, q, pre, la->qkv + part * NC, NC);
    }
    sg_attention_probs(la->att, la->qkv, la->qkv + NC, b->mask, b->B, b->T, C, c->heads, a->threads);
    /* probabilities used with V: dropout, then attn_quan */
    const float *p = la->att;
    if (pa > 0.0f) {
        sg_dropout_forward_at(la->att_p, la->att, BHTT, pa, m->dropout_seed, sg_dropout_stream(m->step, l, SG_SITE_ATT),
                              sg_dropout_first(m, (size_t)c->heads * b->T * b->T));
        quantize(m, qa, la->att_p, la->att_p, BHTT);
        p = la->att_p;
    } else if (qa) { /* no dropout: quantize straight from the probabilities */
        quantize(m, qa, la->att, la->att_p, BHTT);
        p = la->att_p;
    }
    sg_attention_context(ctx, p, la->qkv + 2 * NC, b->B, b->T, C, c->heads, a->threads);
    quantize(m, qc, ctx, la->ctx, NC);
}

/* The two "dense -> dense_quan -> dropout -> LN(. + residual) -> dense_quan_after_ln" blocks of a
 * layer (attention.output and output), written once. */
typedef struct {
    int q_dense, w, bias, drop_site, q_norm, ln_w, ln_b;
} add_norm;

static void dense_add_norm(sg_model *m, int l, const sg_batch *b, add_norm k, const float *inp, const float *residual,
                           float *dense_pre, float *res, float *norm_pre, float *out, float *mean, float *rstd, float p) {
    const sg_model_config *c = &m->cfg;
    const int N = b->B * b->T, C = c->hidden;
    const size_t NC = (size_t)N * C;
    sg_lsq *q = sg_model_quant(m, l, k.q_dense), *qn = sg_model_quant(m, l, k.q_norm);
    float *h = site(qn, norm_pre, out);
    const float *ln_w = sg_model_param(m, sg_param_index_layer(c, l, k.ln_w));
    const float *ln_b = sg_model_param(m, sg_param_index_layer(c, l, k.ln_b));
    /* nothing between the product and the residual add (no dense_quan, no dropout): the product
     * starts from residual + bias, so the LayerNorm reads the sum (what its backward reads too)
     * without an add pass over the residual */
    if (!q && p == 0.0f && sg_model_linear_forward_residual(m, k.w, k.bias, res, inp, residual, N)) {
        sg_layernorm_forward(h, mean, rstd, res, ln_w, ln_b, N, C, c->ln_eps);
    } else {
        float *y = site(q, dense_pre, res);
        sg_model_linear_forward(m, k.w, k.bias, y, inp, N);
        quantize(m, q, y, res, NC);
        sg_dropout_forward_at(res, res, NC, p, m->dropout_seed, sg_dropout_stream(m->step, l, k.drop_site),
                              sg_dropout_first(m, (size_t)b->T * C));
        sg_add_layernorm_forward(h, mean, rstd, res, residual, ln_w, ln_b, N, C, c->ln_eps);
    }
    quantize(m, qn, h, out, NC);
}

static void encoder_layer(sg_model *m, int l, const sg_batch *b, sg_layer_acts *la, float *x_out) {
    const sg_model_config *c = &m->cfg;
    sg_acts *a = &m->acts;
    const int N = b->B * b->T, F = c->ffn;
    const size_t NF = (size_t)N * F;
    const float ph = a->training_now ? c->hidden_dropout : 0.0f;
#define IDX(k) sg_param_index_layer(c, l, k)
    self_attention(m, l, b, la);

    /* attention.output: dense -> dense_quan -> dropout -> LN(. + x_in) -> dense_quan_after_ln */
    dense_add_norm(m, l, b, (add_norm){Q_ATTN_OUT, IDX(L_AOW), IDX(L_AOB), SG_SITE_ATT_OUT, Q_ATTN_OUT_LN, L_LN1W, L_LN1B},
                   la->ctx, la->x_in, la->ao_pre, la->res1, la->h1_pre, la->h1, la->ln1_mean, la->ln1_rstd, ph);

    /* intermediate: dense -> dense_quan (unsigned) -> activation (ReLU: then a no-op) */
    sg_lsq *q = sg_model_quant(m, l, Q_INTER);
    /* eval keeps no pre-activation for backward: ReLU in place, the product's output read once */
    float *fc1 = !q && !a->training_now && c->act == SG_ACT_RELU ? la->act : la->fc1;
    sg_model_linear_forward(m, IDX(L_IW), IDX(L_IB), fc1, la->h1, N);
    if (q) {
        sg_lsq_forward(q, lsq_mode(m), fc1, la->act, NF);
        fc1 = la->act;
    }
    /* an unsigned quantizer's output is already >= 0: ReLU would copy it onto itself */
    const int relu_is_identity = q && !q->full && q->qn >= 0.0f && *q->s > 0.0f;
    if (c->act != SG_ACT_RELU) sg_gelu_forward(la->act, fc1, NF);
    else if (!relu_is_identity) sg_relu_forward(la->act, fc1, NF);

    /* output: dense -> dense_quan -> dropout -> LN(. + h1) -> dense_quan_after_ln */
    dense_add_norm(m, l, b, (add_norm){Q_FFN_OUT, IDX(L_OW), IDX(L_OB), SG_SITE_FFN_OUT, Q_FFN_OUT_LN, L_LN2W, L_LN2B},
                   la->act, la->h1, la->fc2_pre, la->res2, la->out_pre, x_out, la->ln2_mean, la->ln2_rstd, ph);
#undef IDX
}

static float head_and_loss(sg_model *m, const sg_batch *b, const float *x) {
    const sg_model_config *c = &m->cfg;
    sg_acts *a = &m->acts;
    const int B = b->B, T = b->T, C = c->hidden, L = c->num_labels;
    const float ph = a->training_now ? sg_classifier_dropout(c) : 0.0f;
    for (int i = 0; i < B; i++) memcpy(a->cls_x + (size_t)i * C, x + (size_t)i * T * C, sizeof(float) * C); /* <s> */
    sg_dropout_forward_at(a->cls_x, a->cls_x, (size_t)B * C, ph, m->dropout_seed, sg_dropout_stream(m->step, -1, SG_SITE_CLS_IN),
                          sg_dropout_first(m, (size_t)C));
    sg_lsq *q = sg_model_quant(m, c->layers, 0);
    float *h = site(q, a->cls_h_pre, a->cls_h);
    sg_model_linear_forward(m, sg_param_index_classifier(c, C_DW), sg_param_index_classifier(c, C_DB), h, a->cls_x, B);
    quantize(m, q, h, a->cls_h, (size_t)B * C);
    for (int i = 0; i < B * C; i++) a->cls_t[i] = tanhf(a->cls_h[i]);
    sg_dropout_forward_at(a->cls_t, a->cls_t, (size_t)B * C, ph, m->dropout_seed, sg_dropout_stream(m->step, -1, SG_SITE_CLS_MID),
                          sg_dropout_first(m, (size_t)C));
    sg_model_linear_forward(m, sg_param_index_classifier(c, C_OW), sg_param_index_classifier(c, C_OB), a->logits, a->cls_t, B);
    double loss = 0.0;
    if (c->problem == SG_PROBLEM_REGRESSION) {
        if (!b->targets) return 0.0f;
        for (int i = 0; i < B; i++) {
            double d = (double)a->logits[i] - (double)b->targets[i];
            loss += d * d;
        }
        return (float)(loss / sg_loss_rows(m, B));
    }
    const double eps = m->label_smoothing;
    for (int i = 0; i < B; i++) { /* softmax kept for backward and for predictions */
        const float *z = a->logits + (size_t)i * L;
        float *p = a->probs + (size_t)i * L;
        float mx = z[0];
        for (int j = 1; j < L; j++) mx = z[j] > mx ? z[j] : mx;
        float sum = 0.0f;
        for (int j = 0; j < L; j++) sum += p[j] = expf(z[j] - mx);
        for (int j = 0; j < L; j++) p[j] /= sum;
        if (!b->labels) continue;
        const float log_sum = logf(sum);
        double nll = -(double)(z[b->labels[i]] - mx - log_sum);
        if (eps > 0.0f) { /* HF LabelSmoother: (1 - eps) NLL + eps * mean over classes of -log p */
            double uniform = 0.0;
            for (int j = 0; j < L; j++) uniform += -(double)(z[j] - mx - log_sum);
            nll = (1.0 - eps) * nll + eps * uniform / L;
        }
        loss += nll;
    }
    return b->labels ? (float)(loss / sg_loss_rows(m, B)) : 0.0f;
}

/* The head the config names: the classifier above, or the masked-LM head (model/mlm_head.c). */
static float head(sg_model *m, const sg_batch *b, const float *x) {
    return m->cfg.head == SG_HEAD_MLM ? sg_mlm_head_forward(m, b, x) : head_and_loss(m, b, x);
}

float sg_model_forward(sg_model *m, const sg_batch *b, int training) {
    sg_acts *a = &m->acts;
    a->training_now = training && !m->calibrating;
    const int layers = m->cfg.layers;
    if (a->training_now) {
        embed(m, b, a->layer[0].x_in);
        for (int l = 0; l < layers; l++)
            encoder_layer(m, l, b, &a->layer[l], l + 1 < layers ? a->layer[l + 1].x_in : a->out);
        return head(m, b, a->out);
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
    return head(m, b, x);
}
