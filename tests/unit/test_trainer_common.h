/* Shared by the trainer tests: a tiny model without dropout and a synthetic split whose label
 * is learnable from the tokens, so training moves the weights and the loss. */
#ifndef SG_TEST_TRAINER_COMMON_H
#define SG_TEST_TRAINER_COMMON_H

#include "core/error.h"
#include "core/rng.h"
#include "train/trainer.h"
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

enum { TT_T = 16, TT_VOCAB = 261 };

static inline void tt_make_split(sg_encoded *e, int n, uint64_t seed) {
    memset(e, 0, sizeof *e);
    e->n = n;
    e->T = TT_T;
    e->ids = calloc((size_t)n * TT_T, sizeof(int32_t));
    e->mask = calloc((size_t)n * TT_T, sizeof(int32_t));
    e->lengths = calloc((size_t)n, sizeof(int32_t));
    e->labels = calloc((size_t)n, sizeof(int32_t));
    e->targets = calloc((size_t)n, sizeof(float));
    sg_rng r;
    sg_rng_seed(&r, seed);
    for (int i = 0; i < n; i++) {
        int len = 4 + (int)sg_rng_below(&r, TT_T - 3), label = i % 2;
        e->lengths[i] = len;
        for (int t = 0; t < TT_T; t++) {
            int real = t < len;
            int word = label ? 4 + (int)sg_rng_below(&r, 100) : 130 + (int)sg_rng_below(&r, 100);
            e->ids[i * TT_T + t] = !real ? 1 : t == 0 ? 0 : t == len - 1 ? 2 : word;
            e->mask[i * TT_T + t] = real;
        }
        e->labels[i] = label;
    }
    e->has_labels = 1;
}

/* The same random tiny model every time (dropout off, so runs compare exactly). */
static inline int tt_make_model(sg_model *m) {
    sg_model_config cfg;
    if (sg_model_config_preset(&cfg, "tiny", 2, TT_VOCAB)) return -1;
    cfg.hidden_dropout = cfg.attn_dropout = 0.0f;
    cfg.classifier_dropout = 0.0f;
    if (sg_model_create(m, &cfg)) return -1;
    sg_model_init_random(m, 5);
    return 0;
}

static inline sg_train_config tt_config(const char *out) {
    sg_train_config c;
    memset(&c, 0, sizeof c);
    c.learning_rate = 1e-3;
    c.weight_decay = 0.01;
    c.num_train_epochs = 1;
    c.max_grad_norm = 1.0;
    c.batch_size = 4;
    c.logging_steps = 1;
    c.seed = 3;
    c.pad_to_max = 1;
    c.output_dir = out;
    return c;
}

/* The log_history entries holding `key`, as (step, value) pairs; returns how many. */
static inline int tt_history(const sg_trainer *t, const char *key, int *steps, double *values, int cap) {
    int n = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, t->log_history) {
        const cJSON *v = cJSON_GetObjectItem(e, key), *s = cJSON_GetObjectItem(e, "step");
        if (!cJSON_IsNumber(v) || n >= cap) continue;
        if (steps) steps[n] = cJSON_IsNumber(s) ? (int)s->valuedouble : -1;
        if (values) values[n] = v->valuedouble;
        n++;
    }
    return n;
}

#endif
