#include "model/params.h"

#include "core/arena.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sg_param_index_layer(const sg_model_config *c, int layer, int k) {
    (void)c;
    return P_EMB_COUNT + layer * L_COUNT + k;
}

int sg_param_index_classifier(const sg_model_config *c, int k) { return P_EMB_COUNT + c->layers * L_COUNT + k; }

static const struct {
    const char *name;
    int is_signed, module;
} QUANTIZERS[Q_PER_LAYER + 1] = {
    {"attention.self.query_quan", 1, QM_SELF},     {"attention.self.key_quan", 1, QM_SELF},
    {"attention.self.value_quan", 1, QM_SELF},     {"attention.self.attn_quan", 0, QM_SELF},
    {"attention.self.after_attn_quan", 0, QM_SELF}, {"attention.output.dense_quan", 1, QM_ATTN_OUT},
    {"attention.output.dense_quan_after_ln", 1, QM_ATTN_OUT}, {"intermediate.dense_quan", 0, QM_INTER},
    {"output.dense_quan", 1, QM_FFN_OUT},          {"output.dense_quan_after_ln", 1, QM_FFN_OUT},
    {"classifier.dense_quan", 0, QM_PER_LAYER},
};

const char *sg_quantizer_name(int q) { return QUANTIZERS[q].name; }
int sg_quantizer_signed(int q) { return QUANTIZERS[q].is_signed; }
int sg_quantizer_module(int q) { return QUANTIZERS[q].module; }

static void add(sg_param_table *t, size_t *offset, int no_decay, int64_t d0, int64_t d1, const char *fmt, int layer) {
    sg_param_info *p = &t->info[t->count++];
    snprintf(p->name, sizeof p->name, fmt, layer);
    p->ndim = d0 == 0 ? 0 : d1 > 0 ? 2 : 1; /* d0 == 0: a scalar */
    p->shape[0] = d0;
    p->shape[1] = d1 > 0 ? d1 : 0;
    p->numel = d0 == 0 ? 1 : (size_t)d0 * (size_t)(d1 > 0 ? d1 : 1);
    p->quantizer = -1;
    p->offset = *offset;
    p->no_decay = no_decay;
    *offset += p->numel;
}

/* Keeps every tensor 64-byte aligned except the fused q/k/v parts, which must stay adjacent. */
static void align(size_t *offset) { *offset = sg_arena_round(*offset); }

int sg_param_table_build(sg_param_table *t, const sg_model_config *c, const int *module_levels) {
    int n = P_EMB_COUNT + c->layers * L_COUNT + C_COUNT + M_COUNT + c->layers * Q_PER_LAYER + 1;
    t->info = calloc((size_t)n, sizeof *t->info);
    t->count = 0;
    t->total = 0;
    if (!t->info) return sg_fail("out of memory building the parameter table");
    size_t off = 0;
    const int64_t C = c->hidden, F = c->ffn;
    add(t, &off, 0, c->vocab_size, C, "roberta.embeddings.word_embeddings.weight", 0); align(&off);
    add(t, &off, 0, c->max_positions, C, "roberta.embeddings.position_embeddings.weight", 0); align(&off);
    add(t, &off, 0, c->type_vocab, C, "roberta.embeddings.token_type_embeddings.weight", 0); align(&off);
    add(t, &off, 1, C, 0, "roberta.embeddings.LayerNorm.weight", 0); align(&off);
    add(t, &off, 1, C, 0, "roberta.embeddings.LayerNorm.bias", 0); align(&off);
    for (int l = 0; l < c->layers; l++) {
        add(t, &off, 0, C, C, "roberta.encoder.layer.%d.attention.self.query.weight", l);
        add(t, &off, 0, C, C, "roberta.encoder.layer.%d.attention.self.key.weight", l);
        add(t, &off, 0, C, C, "roberta.encoder.layer.%d.attention.self.value.weight", l); align(&off);
        add(t, &off, 1, C, 0, "roberta.encoder.layer.%d.attention.self.query.bias", l);
        add(t, &off, 1, C, 0, "roberta.encoder.layer.%d.attention.self.key.bias", l);
        add(t, &off, 1, C, 0, "roberta.encoder.layer.%d.attention.self.value.bias", l); align(&off);
        add(t, &off, 0, C, C, "roberta.encoder.layer.%d.attention.output.dense.weight", l); align(&off);
        add(t, &off, 1, C, 0, "roberta.encoder.layer.%d.attention.output.dense.bias", l); align(&off);
        add(t, &off, 1, C, 0, "roberta.encoder.layer.%d.attention.output.LayerNorm.weight", l); align(&off);
        add(t, &off, 1, C, 0, "roberta.encoder.layer.%d.attention.output.LayerNorm.bias", l); align(&off);
        add(t, &off, 0, F, C, "roberta.encoder.layer.%d.intermediate.dense.weight", l); align(&off);
        add(t, &off, 1, F, 0, "roberta.encoder.layer.%d.intermediate.dense.bias", l); align(&off);
        add(t, &off, 0, C, F, "roberta.encoder.layer.%d.output.dense.weight", l); align(&off);
        add(t, &off, 1, C, 0, "roberta.encoder.layer.%d.output.dense.bias", l); align(&off);
        add(t, &off, 1, C, 0, "roberta.encoder.layer.%d.output.LayerNorm.weight", l); align(&off);
        add(t, &off, 1, C, 0, "roberta.encoder.layer.%d.output.LayerNorm.bias", l); align(&off);
    }
    if (c->head == SG_HEAD_MLM) { /* RobertaLMHead; HF excludes every LayerNorm weight from decay, lm_head.layer_norm's too */
        if (module_levels) return sg_param_table_free(t), sg_fail("quantizers on a masked-LM model are not supported");
        add(t, &off, 0, C, C, "lm_head.dense.weight", 0); align(&off);
        add(t, &off, 1, C, 0, "lm_head.dense.bias", 0); align(&off);
        add(t, &off, 1, C, 0, "lm_head.layer_norm.weight", 0); align(&off);
        add(t, &off, 1, C, 0, "lm_head.layer_norm.bias", 0); align(&off);
        add(t, &off, 1, c->vocab_size, 0, "lm_head.bias", 0); align(&off);
        t->total = off;
        return 0;
    }
    add(t, &off, 0, C, C, "classifier.dense.weight", 0); align(&off);
    add(t, &off, 1, C, 0, "classifier.dense.bias", 0); align(&off);
    add(t, &off, 0, c->num_labels, C, "classifier.out_proj.weight", 0); align(&off);
    add(t, &off, 1, c->num_labels, 0, "classifier.out_proj.bias", 0); align(&off);
    /* quantizer steps; HF Trainer decays them like any non-bias, non-LayerNorm parameter */
    for (int l = 0; module_levels && l <= c->layers; l++)
        for (int q = 0; q < Q_PER_LAYER; q++) {
            int last = l == c->layers, qi = last ? Q_PER_LAYER : q;
            if (last && q > 0) break;
            if (module_levels[last ? c->layers * QM_PER_LAYER : l * QM_PER_LAYER + QUANTIZERS[qi].module] <= 0) continue;
            char fmt[SG_PARAM_NAME_MAX];
            snprintf(fmt, sizeof fmt, last ? "%s.s" : "roberta.encoder.layer.%%d.%s.s", QUANTIZERS[qi].name);
            add(t, &off, 0, 0, 0, fmt, l);
            t->info[t->count - 1].quantizer = l * Q_PER_LAYER + q;
            align(&off);
        }
    t->total = off;
    return 0;
}

void sg_param_table_free(sg_param_table *t) {
    free(t->info);
    t->info = NULL;
    t->count = 0;
}

int sg_param_find(const sg_param_table *t, const char *name) {
    for (int i = 0; i < t->count; i++)
        if (strcmp(t->info[i].name, name) == 0) return i;
    return -1;
}

int sg_param_is_linear_weight(const sg_model_config *c, int idx) {
    if (idx >= P_EMB_COUNT && idx < P_EMB_COUNT + c->layers * L_COUNT) {
        int k = (idx - P_EMB_COUNT) % L_COUNT;
        return k == L_QW || k == L_KW || k == L_VW || k == L_AOW || k == L_IW || k == L_OW;
    }
    if (c->head == SG_HEAD_MLM) return 0; /* the lm_head stays whole on every rank */
    return idx == sg_param_index_classifier(c, C_DW) || idx == sg_param_index_classifier(c, C_OW);
}

int sg_param_is_norm_weight(const char *name) {
    return strstr(name, "LayerNorm.weight") != NULL || strcmp(name, "lm_head.layer_norm.weight") == 0;
}
