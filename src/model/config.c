#include "model/config.h"

#include "core/error.h"
#include "core/fileio.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_default_labels(sg_model_config *c) {
    for (int i = 0; i < c->num_labels && i < SG_MAX_LABELS; i++)
        snprintf(c->id2label[i], SG_LABEL_NAME_MAX, "LABEL_%d", i);
}

int sg_model_config_preset(sg_model_config *c, const char *size, int num_labels, int vocab_size) {
    memset(c, 0, sizeof *c);
    if (strcmp(size, "tiny") == 0) {
        c->hidden = 64; c->layers = 2; c->heads = 2; c->ffn = 256;
    } else if (strcmp(size, "small") == 0) {
        c->hidden = 256; c->layers = 4; c->heads = 4; c->ffn = 1024;
    } else if (strcmp(size, "base") == 0) {
        c->hidden = 768; c->layers = 12; c->heads = 12; c->ffn = 3072;
    } else {
        return sg_fail("unknown model size '%s' (expected tiny, small or base)", size);
    }
    c->vocab_size = vocab_size;
    c->max_positions = 514;
    c->type_vocab = 1;
    c->num_labels = num_labels;
    c->pad_id = 1; c->bos_id = 0; c->eos_id = 2;
    c->ln_eps = 1e-5f;
    c->hidden_dropout = 0.1f;
    c->attn_dropout = 0.1f;
    c->classifier_dropout = -1.0f; /* null: the head uses hidden_dropout */
    c->initializer_range = 0.02f;
    c->act = SG_ACT_RELU;
    c->problem = num_labels == 1 ? SG_PROBLEM_REGRESSION : SG_PROBLEM_SINGLE_LABEL;
    set_default_labels(c);
    return sg_model_config_validate(c, size);
}

int sg_model_config_validate(const sg_model_config *c, const char *origin) {
#define NEED(cond, ...) do { if (!(cond)) { char m_[256]; snprintf(m_, sizeof m_, __VA_ARGS__); return sg_fail("%s: %s", origin, m_); } } while (0)
    NEED(c->hidden > 0 && c->hidden <= 65536, "hidden_size %d out of range", c->hidden);
    NEED(c->layers > 0 && c->layers <= 256, "num_hidden_layers %d out of range", c->layers);
    NEED(c->heads > 0 && c->hidden % c->heads == 0, "num_attention_heads %d does not divide hidden_size %d", c->heads, c->hidden);
    NEED(c->ffn > 0 && c->ffn <= 1 << 20, "intermediate_size %d out of range", c->ffn);
    NEED(c->vocab_size > 0 && c->vocab_size <= 1 << 24, "vocab_size %d out of range", c->vocab_size);
    NEED((long long)c->max_positions > (long long)c->pad_id + 1 && c->max_positions <= 1 << 20, "max_position_embeddings %d out of range", c->max_positions);
    NEED(c->type_vocab > 0 && c->type_vocab <= 1024, "type_vocab_size %d out of range", c->type_vocab);
    NEED(c->num_labels > 0 && c->num_labels <= SG_MAX_LABELS, "num_labels %d out of range (1..%d)", c->num_labels, SG_MAX_LABELS);
    NEED(c->pad_id >= 0 && c->pad_id < c->vocab_size, "pad_token_id %d outside the vocabulary", c->pad_id);
    NEED(c->ln_eps > 0 && c->ln_eps < 1, "layer_norm_eps %g out of range", (double)c->ln_eps);
    NEED(c->hidden_dropout >= 0 && c->hidden_dropout < 1, "hidden_dropout_prob %g out of range", (double)c->hidden_dropout);
    NEED(c->attn_dropout >= 0 && c->attn_dropout < 1, "attention_probs_dropout_prob %g out of range", (double)c->attn_dropout);
    NEED(c->classifier_dropout < 1, "classifier_dropout %g out of range", (double)c->classifier_dropout);
    NEED(c->problem != SG_PROBLEM_REGRESSION || c->num_labels == 1, "problem_type regression needs num_labels 1, not %d", c->num_labels);
#undef NEED
    return 0;
}

/* ---- reading ---- */

static int cmp_key(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* cJSON keeps every duplicate and finds the first, Python's json keeps the last: refuse them. */
static int check_duplicate_keys(const cJSON *root, const char *path) {
    int n = cJSON_GetArraySize(root);
    if (n < 2) return 0;
    const char **keys = malloc((size_t)n * sizeof *keys);
    if (!keys) return sg_fail("%s: out of memory", path);
    int k = 0;
    for (const cJSON *it = root->child; it && k < n; it = it->next) keys[k++] = it->string;
    qsort(keys, (size_t)k, sizeof *keys, cmp_key);
    int rc = 0;
    for (int i = 1; i < k && rc == 0; i++)
        if (!strcmp(keys[i - 1], keys[i])) rc = sg_fail("%s: key '%.100s' appears twice", path, keys[i]);
    free(keys);
    return rc;
}

static int get_int(const cJSON *root, const char *path, const char *key, int *out, int required) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v)) {
        if (required) return sg_fail("%s: missing key '%s'", path, key);
        return 0;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 2147483647.0)
        return sg_fail("%s: key '%s': expected an integer", path, key);
    *out = (int)v->valuedouble;
    return 0;
}

static int get_float(const cJSON *root, const char *path, const char *key, float *out) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!v || cJSON_IsNull(v)) return 0;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return sg_fail("%s: key '%s': expected a number", path, key);
    *out = (float)v->valuedouble;
    return 0;
}

static int read_labels(sg_model_config *c, const cJSON *root, const char *path) {
    const cJSON *id2label = cJSON_GetObjectItemCaseSensitive(root, "id2label");
    int have_num = cJSON_GetObjectItemCaseSensitive(root, "num_labels") != NULL;
    if (have_num && get_int(root, path, "num_labels", &c->num_labels, 1)) return -1;
    if (id2label && !cJSON_IsObject(id2label)) return sg_fail("%s: key 'id2label': expected an object", path);
    int n = id2label ? cJSON_GetArraySize(id2label) : 0;
    if (!have_num) c->num_labels = n > 0 ? n : 2; /* HF's default is 2 labels */
    if (n > 0 && n != c->num_labels)
        return sg_fail("%s: key 'id2label' has %d entries but num_labels is %d", path, n, c->num_labels);
    if (c->num_labels < 1 || c->num_labels > SG_MAX_LABELS)
        return sg_fail("%s: key 'num_labels': %d out of range (1..%d)", path, c->num_labels, SG_MAX_LABELS);
    set_default_labels(c);
    const cJSON *item;
    cJSON_ArrayForEach(item, id2label) {
        char *end = NULL;
        long id = strtol(item->string, &end, 10);
        if (!end || *end || id < 0 || id >= c->num_labels)
            return sg_fail("%s: key 'id2label': '%s' is not a label id in 0..%d", path, item->string, c->num_labels - 1);
        if (!cJSON_IsString(item)) return sg_fail("%s: key 'id2label.%s': expected a string", path, item->string);
        snprintf(c->id2label[id], SG_LABEL_NAME_MAX, "%s", item->valuestring);
    }
    return 0;
}

int sg_model_config_load(sg_model_config *c, const char *path) {
    memset(c, 0, sizeof *c);
    size_t len = 0;
    char *text = sg_read_file(path, SG_MODEL_CONFIG_MAX_BYTES, &len);
    if (!text) return -1;
    int rc = sg_model_config_parse(c, text, len, path);
    free(text);
    return rc;
}

int sg_model_config_parse(sg_model_config *c, const char *text, size_t len, const char *path) {
    memset(c, 0, sizeof *c);
    if (len > SG_MODEL_CONFIG_MAX_BYTES)
        return sg_fail("%s: file is %zu bytes, more than the %u allowed", path, len, SG_MODEL_CONFIG_MAX_BYTES);
    const char *err_at = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &err_at, 0);
    if (!root || !cJSON_IsObject(root)) {
        int line = 1;
        if (err_at)
            for (const char *p = text; p < err_at && p < text + len; p++) line += *p == '\n';
        cJSON_Delete(root);
        return sg_fail("%s:%d: not a valid JSON object", path, line);
    }
    int rc = -1;
    if (check_duplicate_keys(root, path)) goto done;
    const cJSON *id2label_obj = cJSON_GetObjectItemCaseSensitive(root, "id2label");
    if (cJSON_IsObject(id2label_obj) && check_duplicate_keys(id2label_obj, path)) goto done;
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    if (!cJSON_IsString(mt) || (strcmp(mt->valuestring, "roberta") != 0 && strcmp(mt->valuestring, "xlm-roberta") != 0)) {
        sg_fail("%s: key 'model_type': expected \"roberta\"", path);
        goto done;
    }
    /* HF defaults where a key may be absent */
    c->type_vocab = 2; c->pad_id = 1; c->bos_id = 0; c->eos_id = 2;
    c->ln_eps = 1e-12f; c->hidden_dropout = 0.1f; c->attn_dropout = 0.1f; c->initializer_range = 0.02f;
    c->classifier_dropout = -1.0f; /* absent or null */
    c->max_positions = 512;
    if (get_int(root, path, "vocab_size", &c->vocab_size, 1) || get_int(root, path, "hidden_size", &c->hidden, 1) ||
        get_int(root, path, "num_hidden_layers", &c->layers, 1) ||
        get_int(root, path, "num_attention_heads", &c->heads, 1) ||
        get_int(root, path, "intermediate_size", &c->ffn, 1) ||
        get_int(root, path, "max_position_embeddings", &c->max_positions, 0) ||
        get_int(root, path, "type_vocab_size", &c->type_vocab, 0) || get_int(root, path, "pad_token_id", &c->pad_id, 0) ||
        get_int(root, path, "bos_token_id", &c->bos_id, 0) || get_int(root, path, "eos_token_id", &c->eos_id, 0) ||
        get_float(root, path, "layer_norm_eps", &c->ln_eps) ||
        get_float(root, path, "hidden_dropout_prob", &c->hidden_dropout) ||
        get_float(root, path, "attention_probs_dropout_prob", &c->attn_dropout) ||
        get_float(root, path, "initializer_range", &c->initializer_range) ||
        get_float(root, path, "classifier_dropout", &c->classifier_dropout))
        goto done;
    const cJSON *cd = cJSON_GetObjectItemCaseSensitive(root, "classifier_dropout");
    if (cd && !cJSON_IsNull(cd) && !(c->classifier_dropout >= 0 && c->classifier_dropout < 1)) {
        sg_fail("%s: key 'classifier_dropout': %g out of range (expected null or a probability in [0, 1))", path,
                (double)c->classifier_dropout);
        goto done;
    }
    const cJSON *act = cJSON_GetObjectItemCaseSensitive(root, "hidden_act");
    if (!act || !cJSON_IsString(act)) {
        sg_fail("%s: key 'hidden_act': expected \"relu\" or \"gelu\"", path);
        goto done;
    }
    if (strcmp(act->valuestring, "relu") == 0) c->act = SG_ACT_RELU;
    else if (strcmp(act->valuestring, "gelu") == 0) c->act = SG_ACT_GELU;
    else {
        sg_fail("%s: key 'hidden_act': '%s' is not supported (expected relu or gelu)", path, act->valuestring);
        goto done;
    }
    /* RobertaForSequenceClassification is an encoder: a decoder config (causal self-attention,
     * cross-attention layers) describes another model, so it is refused, not silently run as one. */
    static const char *const decoder_keys[] = {"is_decoder", "add_cross_attention"};
    for (size_t k = 0; k < sizeof decoder_keys / sizeof decoder_keys[0]; k++) {
        const cJSON *flag = cJSON_GetObjectItemCaseSensitive(root, decoder_keys[k]);
        if (flag && !cJSON_IsFalse(flag) && !cJSON_IsNull(flag)) { /* Python would take any truthy value */
            sg_fail("%s: key '%s': %s is not supported (expected false: RobertaForSequenceClassification is an encoder)",
                    path, decoder_keys[k], cJSON_IsTrue(flag) ? "true" : "a non-boolean value");
            goto done;
        }
    }
    const cJSON *pet = cJSON_GetObjectItemCaseSensitive(root, "position_embedding_type");
    if (pet && cJSON_IsString(pet) && strcmp(pet->valuestring, "absolute") != 0) {
        sg_fail("%s: key 'position_embedding_type': '%s' is not supported (expected absolute)", path, pet->valuestring);
        goto done;
    }
    if (read_labels(c, root, path)) goto done;
    /* "architectures": ["RobertaForMaskedLM"] carries the lm_head; anything else (or none) the classifier */
    const cJSON *arch = cJSON_GetObjectItemCaseSensitive(root, "architectures");
    if (arch && !cJSON_IsArray(arch) && !cJSON_IsNull(arch)) {
        sg_fail("%s: key 'architectures': expected a list of class names", path);
        goto done;
    }
    const cJSON *first = cJSON_IsArray(arch) ? cJSON_GetArrayItem(arch, 0) : NULL;
    c->head = cJSON_IsString(first) && strcmp(first->valuestring, "RobertaForMaskedLM") == 0 ? SG_HEAD_MLM : SG_HEAD_CLASSIFIER;
    const cJSON *tie = cJSON_GetObjectItemCaseSensitive(root, "tie_word_embeddings");
    if (c->head == SG_HEAD_MLM && tie && cJSON_IsFalse(tie)) {
        sg_fail("%s: key 'tie_word_embeddings': false is not supported (the lm_head decoder is the word embeddings)", path);
        goto done;
    }
    const cJSON *pt = cJSON_GetObjectItemCaseSensitive(root, "problem_type");
    if (pt && cJSON_IsString(pt)) {
        if (strcmp(pt->valuestring, "regression") == 0) c->problem = SG_PROBLEM_REGRESSION;
        else if (strcmp(pt->valuestring, "single_label_classification") == 0) c->problem = SG_PROBLEM_SINGLE_LABEL;
        else {
            sg_fail("%s: key 'problem_type': '%s' is not supported (expected regression or single_label_classification)", path, pt->valuestring);
            goto done;
        }
    } else {
        c->problem = c->num_labels == 1 ? SG_PROBLEM_REGRESSION : SG_PROBLEM_SINGLE_LABEL; /* HF's inference rule */
    }
    rc = sg_model_config_validate(c, path);
done:
    cJSON_Delete(root);
    return rc;
}

/* ---- writing ---- */

int sg_model_config_save(const sg_model_config *c, const char *path) {
    cJSON *root = cJSON_CreateObject();
    cJSON *arch = cJSON_AddArrayToObject(root, "architectures");
    const int mlm = c->head == SG_HEAD_MLM;
    cJSON_AddItemToArray(arch, cJSON_CreateString(mlm ? "RobertaForMaskedLM" : "RobertaForSequenceClassification"));
    cJSON_AddNumberToObject(root, "attention_probs_dropout_prob", c->attn_dropout);
    cJSON_AddNumberToObject(root, "bos_token_id", c->bos_id);
    cJSON_AddNumberToObject(root, "eos_token_id", c->eos_id);
    if (c->classifier_dropout < 0) cJSON_AddNullToObject(root, "classifier_dropout");
    else cJSON_AddNumberToObject(root, "classifier_dropout", c->classifier_dropout);
    cJSON_AddStringToObject(root, "hidden_act", c->act == SG_ACT_RELU ? "relu" : "gelu");
    cJSON_AddNumberToObject(root, "hidden_dropout_prob", c->hidden_dropout);
    cJSON_AddNumberToObject(root, "hidden_size", c->hidden);
    /* a masked LM has no labels: HF's from_pretrained then defaults to 2, as for roberta-base */
    cJSON *id2label = mlm ? NULL : cJSON_AddObjectToObject(root, "id2label");
    cJSON *label2id = mlm ? NULL : cJSON_CreateObject();
    for (int i = 0; !mlm && i < c->num_labels; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", i);
        cJSON_AddStringToObject(id2label, key, c->id2label[i]);
        cJSON_AddNumberToObject(label2id, c->id2label[i], i);
    }
    cJSON_AddNumberToObject(root, "initializer_range", c->initializer_range);
    cJSON_AddNumberToObject(root, "intermediate_size", c->ffn);
    if (label2id) cJSON_AddItemToObject(root, "label2id", label2id);
    cJSON_AddNumberToObject(root, "layer_norm_eps", c->ln_eps);
    cJSON_AddNumberToObject(root, "max_position_embeddings", c->max_positions);
    cJSON_AddStringToObject(root, "model_type", "roberta");
    cJSON_AddNumberToObject(root, "num_attention_heads", c->heads);
    cJSON_AddNumberToObject(root, "num_hidden_layers", c->layers);
    if (!mlm) cJSON_AddNumberToObject(root, "num_labels", c->num_labels);
    cJSON_AddNumberToObject(root, "pad_token_id", c->pad_id);
    cJSON_AddStringToObject(root, "position_embedding_type", "absolute");
    if (!mlm) cJSON_AddStringToObject(root, "problem_type", c->problem == SG_PROBLEM_REGRESSION ? "regression" : "single_label_classification");
    cJSON_AddBoolToObject(root, "tie_word_embeddings", 1);
    cJSON_AddStringToObject(root, "torch_dtype", "float32");
    cJSON_AddNumberToObject(root, "type_vocab_size", c->type_vocab);
    cJSON_AddBoolToObject(root, "use_cache", 1);
    cJSON_AddNumberToObject(root, "vocab_size", c->vocab_size);
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) return sg_fail("%s: out of memory formatting JSON", path);
    int rc = sg_write_file_atomic(path, text, strlen(text));
    free(text);
    return rc;
}
