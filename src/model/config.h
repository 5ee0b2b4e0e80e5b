/* The model's geometry and head, as HuggingFace's config.json for RoBERTa carries it. */
#ifndef SG_MODEL_CONFIG_H
#define SG_MODEL_CONFIG_H

#include <stddef.h>

#define SG_MAX_LABELS 64
#define SG_LABEL_NAME_MAX 64

typedef enum { SG_ACT_RELU = 0, SG_ACT_GELU } sg_activation;
typedef enum { SG_PROBLEM_SINGLE_LABEL = 0, SG_PROBLEM_REGRESSION } sg_problem;
/* The head on the encoder: HF's RobertaForSequenceClassification, or RobertaForMaskedLM's
 * lm_head (model/mlm_head.h), chosen by config.json's "architectures". */
typedef enum { SG_HEAD_CLASSIFIER = 0, SG_HEAD_MLM } sg_head_kind;

typedef struct {
    int vocab_size, hidden, layers, heads, ffn;
    int max_positions, type_vocab, num_labels;
    int pad_id, bos_id, eos_id;
    float ln_eps, hidden_dropout, attn_dropout, initializer_range;
    float classifier_dropout; /* config.json's classifier_dropout; < 0 (null): hidden_dropout, as HF */
    sg_activation act;
    sg_problem problem;
    sg_head_kind head;
    char id2label[SG_MAX_LABELS][SG_LABEL_NAME_MAX];
} sg_model_config;

/* The head's dropout probability, as HF's RobertaClassificationHead: classifier_dropout if set,
 * else hidden_dropout_prob. */
static inline float sg_classifier_dropout(const sg_model_config *c) {
    return c->classifier_dropout >= 0 ? c->classifier_dropout : c->hidden_dropout;
}

/* Geometries of `init-model --size`: tiny, small, base (roberta-base). vocab_size is set by the caller. */
int sg_model_config_preset(sg_model_config *c, const char *size, int num_labels, int vocab_size);

/* Check the geometry is consistent (heads divide hidden, sizes positive and bounded). */
int sg_model_config_validate(const sg_model_config *c, const char *origin);

#define SG_MODEL_CONFIG_MAX_BYTES (16u << 20)

/* Read DIR/config.json. Errors name the file and the key. */
int sg_model_config_load(sg_model_config *c, const char *path);
/* The same from memory (text need not be NUL-terminated); `path` names it in messages. */
int sg_model_config_parse(sg_model_config *c, const char *text, size_t len, const char *path);
/* Write config.json in HuggingFace's shape (readable by from_pretrained). */
int sg_model_config_save(const sg_model_config *c, const char *path);

#endif
