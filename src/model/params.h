/* The parameter table: every tensor of the model, its HuggingFace name, shape and offset in the
 * one parameter block. Gradients and AdamW moments use the same offsets in their own blocks.
 * Per layer, query/key/value weights are adjacent ([3C, C]) and so are their biases (in an
 * undistributed model; a tensor-parallel one keeps each weight's local rows only, see `dist`). */
#ifndef SG_PARAMS_H
#define SG_PARAMS_H

#include "model/config.h"

#include <stddef.h>
#include <stdint.h>

enum { P_WORD, P_POS, P_TYPE, P_EMB_LN_W, P_EMB_LN_B, P_EMB_COUNT };
enum {
    L_QW, L_KW, L_VW, L_QB, L_KB, L_VB, /* fused: QW,KW,VW adjacent; QB,KB,VB adjacent */
    L_AOW, L_AOB, L_LN1W, L_LN1B, L_IW, L_IB, L_OW, L_OB, L_LN2W, L_LN2B, L_COUNT
};
enum { C_DW, C_DB, C_OW, C_OB, C_COUNT };
/* The masked-LM head (HF RobertaLMHead) in the same place; its decoder weight is P_WORD (tied). */
enum { M_DW, M_DB, M_LNW, M_LNB, M_BIAS, M_COUNT };

/* Quantizers (spec §2), per layer in this order, then one in the classifier. */
enum {
    Q_QUERY, Q_KEY, Q_VALUE, Q_ATTN, Q_AFTER_ATTN, /* attention.self */
    Q_ATTN_OUT, Q_ATTN_OUT_LN,                     /* attention.output */
    Q_INTER,                                       /* intermediate */
    Q_FFN_OUT, Q_FFN_OUT_LN,                       /* output */
    Q_PER_LAYER
};
/* Quantizable modules, per layer, then the classifier: the unit a transform config assigns a level to. */
enum { QM_SELF, QM_ATTN_OUT, QM_INTER, QM_FFN_OUT, QM_PER_LAYER };

/* HF-relative names and signedness of quantizer q (0..Q_PER_LAYER-1, or Q_PER_LAYER for the classifier's). */
const char *sg_quantizer_name(int q);
int sg_quantizer_signed(int q);
int sg_quantizer_module(int q); /* QM_* owning it (QM_PER_LAYER: the classifier) */

#define SG_PARAM_NAME_MAX 128

typedef struct {
    char name[SG_PARAM_NAME_MAX];
    int ndim;
    int64_t shape[2];
    size_t numel, offset;
    int no_decay; /* biases and LayerNorm parameters: HF Trainer excludes them from weight decay */
    int quantizer; /* -1, or the index of the quantizer whose step `s` this is (layer * Q_PER_LAYER + q) */
    int dist;      /* tensor parallel (parallel/tp.h): 1 when only this rank's rows are stored, numel counting
                      those; shape stays the full HF shape */
} sg_param_info;

typedef struct {
    sg_param_info *info;
    int count;
    size_t total; /* floats in the block */
} sg_param_table;

/* module_levels: NULL (no quantizers) or [layers * QM_PER_LAYER + 1] levels, 0 = not quantized;
 * each quantizer of a quantized module adds its step `<module>.<quantizer>.s` (a scalar). */
int sg_param_table_build(sg_param_table *t, const sg_model_config *c, const int *module_levels);
void sg_param_table_free(sg_param_table *t);
int sg_param_index_layer(const sg_model_config *c, int layer, int k);
int sg_param_index_classifier(const sg_model_config *c, int k);
/* The head's tensors start where the classifier's do (C_* or M_* by the config's head kind). */
static inline int sg_param_index_head(const sg_model_config *c, int k) { return sg_param_index_classifier(c, k); }
static inline int sg_param_head_count(const sg_model_config *c) { return c->head == SG_HEAD_MLM ? M_COUNT : C_COUNT; }
int sg_param_find(const sg_param_table *t, const char *name);
/* A LayerNorm weight (starts at 1, never decayed): "*.LayerNorm.weight" or "lm_head.layer_norm.weight". */
int sg_param_is_norm_weight(const char *name);
/* The weight of a linear layer (q, k, v, attention output, intermediate, output, classifier dense
 * and out_proj): what tensor parallelism distributes. */
int sg_param_is_linear_weight(const sg_model_config *c, int idx);

#endif
