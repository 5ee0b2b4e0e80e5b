#include "model/roberta.h"

#include "core/error.h"
#include "core/rng.h"

#include <omp.h>
#include <stdlib.h>
#include <string.h>

static int setup_quantizers(sg_model *m, const int *module_levels) {
    const sg_model_config *c = &m->cfg;
    size_t nmod = (size_t)c->layers * QM_PER_LAYER + 1, nq = (size_t)c->layers * Q_PER_LAYER + 1;
    m->module_levels = calloc(nmod, sizeof(int));
    m->quant = calloc(nq, sizeof(sg_lsq));
    if (!m->module_levels || !m->quant) return sg_fail("out of memory");
    memcpy(m->module_levels, module_levels, nmod * sizeof(int));
    for (int i = 0; i < m->table.count; i++) {
        const sg_param_info *p = &m->table.info[i];
        if (p->quantizer < 0) continue;
        int l = p->quantizer / Q_PER_LAYER, q = l == c->layers ? Q_PER_LAYER : p->quantizer % Q_PER_LAYER;
        int level = module_levels[l == c->layers ? c->layers * QM_PER_LAYER : l * QM_PER_LAYER + sg_quantizer_module(q)];
        if (q == Q_INTER && c->act != SG_ACT_RELU)
            return sg_fail("layer %d: quantizing the intermediate of a %s model is not supported (ReLU only)", l, "gelu");
        if (sg_lsq_init(&m->quant[p->quantizer], sg_model_param(m, i), level, sg_quantizer_signed(q)))
            return sg_fail_context("%s", p->name);
    }
    return 0;
}

int sg_model_create_quantized(sg_model *m, const sg_model_config *cfg, const int *module_levels) {
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    if (sg_model_config_validate(cfg, "model config")) return -1;
    int any = 0;
    for (int i = 0; module_levels && i <= cfg->layers * QM_PER_LAYER; i++) any |= module_levels[i] > 0;
    if (sg_param_table_build(&m->table, cfg, any ? module_levels : NULL)) return -1;
    size_t P = m->table.total;
    if (sg_arena_init(&m->weights, P)) {
        sg_param_table_free(&m->table);
        return -1;
    }
    m->params = sg_arena_take(&m->weights, P); /* gradients and moments come with training (reserve) */
    /* LayerNorm weights default to 1 so that a model is usable before init or load */
    for (int i = 0; i < m->table.count; i++)
        if (sg_param_is_norm_weight(m->table.info[i].name))
            for (size_t j = 0; j < m->table.info[i].numel; j++) sg_model_param(m, i)[j] = 1.0f;
    if (any && setup_quantizers(m, module_levels)) {
        sg_model_free(m);
        return -1;
    }
    return 0;
}

int sg_model_create(sg_model *m, const sg_model_config *cfg) { return sg_model_create_quantized(m, cfg, NULL); }

int sg_model_is_quantized(const sg_model *m) { return m->quant != NULL; }

void sg_model_free(sg_model *m) {
    if (m->linear) m->linear->release(m->linear);
    sg_arena_free(&m->act_arena);
    free(m->acts.layer);
    free(m->quant);
    free(m->module_levels);
    sg_arena_free(&m->weights);
    sg_arena_free(&m->train_state);
    sg_param_table_free(&m->table);
    memset(m, 0, sizeof *m);
}

/* Lays out the activation block; with `a` NULL only counts the floats it needs. */
static size_t layout_acts(sg_acts *acts, sg_arena *a, const sg_model *m, int B, int T, int training, int threads) {
    const sg_model_config *c = &m->cfg;
    size_t N = (size_t)B * T, C = (size_t)c->hidden, F = (size_t)c->ffn, H = (size_t)c->heads, L = (size_t)c->num_labels;
    size_t total = 0, BHTT = (size_t)B * H * T * T;
    const int quantized = m->quant != NULL;
    const int keep_att_p = quantized || (training && c->attn_dropout > 0.0f);
#define TAKE(field, n) do { size_t n_ = (n); total += sg_arena_round(n_); if (a) (field) = sg_arena_take(a, n_); } while (0)
    TAKE(acts->emb, N * C);
    TAKE(acts->emb_mean, N);
    TAKE(acts->emb_rstd, N);
    TAKE(acts->emb_ln, N * C);
    { float *ids_ = NULL; TAKE(ids_, N); acts->pos_ids = (int32_t *)ids_; } /* int32 and float have the same size */
    int sets = training ? c->layers : 1;
    for (int l = 0; l < sets; l++) {
        sg_layer_acts tmp, *la = a ? &acts->layer[l] : &tmp;
        TAKE(la->x_in, N * C);
        TAKE(la->qkv, 3 * N * C);
        TAKE(la->att, BHTT);
        TAKE(la->ctx, N * C);
        TAKE(la->res1, N * C);
        TAKE(la->ln1_mean, N);
        TAKE(la->ln1_rstd, N);
        TAKE(la->h1, N * C);
        TAKE(la->fc1, N * F);
        TAKE(la->act, N * F);
        TAKE(la->res2, N * C);
        TAKE(la->ln2_mean, N);
        TAKE(la->ln2_rstd, N);
        la->qkv_pre = la->qkv; la->att_p = la->att; la->ctx_pre = la->ctx; la->ao_pre = la->res1;
        la->h1_pre = la->h1; la->fc2_pre = la->res2; la->out_pre = NULL; /* set per layer in forward */
        if (keep_att_p) TAKE(la->att_p, BHTT);
        if (quantized) {
            TAKE(la->qkv_pre, 3 * N * C);
            TAKE(la->ctx_pre, N * C);
            TAKE(la->ao_pre, N * C);
            TAKE(la->h1_pre, N * C);
            TAKE(la->fc2_pre, N * C);
            TAKE(la->out_pre, N * C);
        }
    }
    if (a && !training)
        for (int l = 1; l < c->layers; l++) acts->layer[l] = acts->layer[0];
    TAKE(acts->out, N * C);
    TAKE(acts->cls_x, (size_t)B * C);
    TAKE(acts->cls_h, (size_t)B * C);
    acts->cls_h_pre = acts->cls_h;
    if (quantized) TAKE(acts->cls_h_pre, (size_t)B * C);
    TAKE(acts->cls_t, (size_t)B * C);
    TAKE(acts->logits, (size_t)B * L);
    TAKE(acts->probs, (size_t)B * L);
    if (c->head == SG_HEAD_MLM) {
        { float *r_ = NULL; TAKE(r_, N); acts->mlm_rows = (int32_t *)r_; }
        { float *t_ = NULL; TAKE(t_, N); acts->mlm_target = (int32_t *)t_; }
        TAKE(acts->mlm_x, N * C);
        TAKE(acts->mlm_h, N * C);
        TAKE(acts->mlm_g, N * C);
        TAKE(acts->mlm_ln, N * C);
        TAKE(acts->mlm_mean, N);
        TAKE(acts->mlm_rstd, N);
        TAKE(acts->mlm_lse, N);
        TAKE(acts->mlm_logits, N * (size_t)c->vocab_size);
    }
    if (training) {
        TAKE(acts->d_x, N * C);
        TAKE(acts->d_x2, N * C);
        TAKE(acts->d_qkv, 3 * N * C);
        TAKE(acts->d_ctx, N * C);
        TAKE(acts->d_ffn, N * F);
        TAKE(acts->d_cls, (size_t)B * (3 * C + L));
        TAKE(acts->d_att, BHTT);
        TAKE(acts->d_att2, BHTT);
    }
    TAKE(acts->scratch, 2 * C * (size_t)threads);
#undef TAKE
    return total;
}

/* Gradients and both AdamW moments: one block, allocated the first time training is asked for,
 * so that evaluation and simulation carry the parameters only. */
static int enable_training(sg_model *m) {
    if (m->grads) return 0;
    size_t P = m->table.total;
    if (sg_arena_init(&m->train_state, 3 * sg_arena_round(P))) return -1;
    m->grads = sg_arena_take(&m->train_state, P);
    m->m = sg_arena_take(&m->train_state, P);
    m->v = sg_arena_take(&m->train_state, P);
    return 0;
}

int sg_model_reserve(sg_model *m, int B, int T, int training) {
    sg_acts *acts = &m->acts;
    if (training && enable_training(m)) return -1;
    int threads = omp_get_max_threads();
    if (acts->layer && B <= acts->B && T <= acts->T && (training <= acts->training) && threads <= acts->threads) return 0;
    if (B <= 0 || T <= 0) return sg_fail("batch size %d and sequence length %d must be positive", B, T);
    if (T > m->cfg.max_positions - m->cfg.pad_id - 1)
        return sg_fail("sequence length %d exceeds the model's %d positions", T, m->cfg.max_positions - m->cfg.pad_id - 1);
    sg_arena_free(&m->act_arena);
    free(acts->layer);
    memset(acts, 0, sizeof *acts);
    acts->layer = calloc((size_t)m->cfg.layers, sizeof *acts->layer);
    if (!acts->layer) return sg_fail("out of memory");
    size_t need = layout_acts(acts, NULL, m, B, T, training, threads);
    if (sg_arena_init(&m->act_arena, need)) return -1;
    layout_acts(acts, &m->act_arena, m, B, T, training, threads);
    acts->B = B;
    acts->T = T;
    acts->training = training;
    acts->threads = threads;
    return sg_model_linear_reserve(m, B * T);
}

int sg_model_linear_reserve(sg_model *m, int rows) {
    if (!m->linear || rows <= 0) return 0;
    const sg_model_config *c = &m->cfg;
    int widest = c->hidden > c->ffn ? c->hidden : c->ffn;
    if (c->num_labels > widest) widest = c->num_labels;
    return m->linear->reserve(m->linear, (size_t)rows * (size_t)widest + 16);
}

void sg_model_init_random(sg_model *m, uint64_t seed) {
    const sg_model_config *c = &m->cfg;
    for (int i = 0; i < m->table.count; i++) {
        const sg_param_info *p = &m->table.info[i];
        float *w = sg_model_param(m, i);
        if (p->quantizer >= 0) {
            w[0] = 1.0f; /* LSQ's initial step */
        } else if (p->ndim == 2 && sg_model_param_distributed(m, i)) {
            /* the same values as undistributed: each local row draws from its global index */
            const size_t cols = (size_t)p->shape[1], rows = p->numel / cols;
            for (size_t r = 0; r < rows; r++) {
                size_t o = (size_t)m->linear->global_row(m->linear, (int)r);
                for (size_t j = 0; j < cols; j++) w[r * cols + j] = c->initializer_range * sg_normal(seed, (uint64_t)i + 1, o * cols + j);
            }
        } else if (p->ndim == 2) {
#pragma omp parallel for schedule(static)
            for (size_t j = 0; j < p->numel; j++) w[j] = c->initializer_range * sg_normal(seed, (uint64_t)i + 1, j);
        } else {
            float v = sg_param_is_norm_weight(p->name) ? 1.0f : 0.0f;
            for (size_t j = 0; j < p->numel; j++) w[j] = v;
        }
    }
    /* nn.Embedding(padding_idx) rows start at zero */
    memset(sg_model_param(m, P_WORD) + (size_t)c->pad_id * c->hidden, 0, sizeof(float) * (size_t)c->hidden);
    memset(sg_model_param(m, P_POS) + (size_t)c->pad_id * c->hidden, 0, sizeof(float) * (size_t)c->hidden);
}

void sg_model_zero_grad(sg_model *m) { memset(m->grads, 0, sizeof(float) * m->table.total); }
