/* Helpers shared by the model benchmarks (header-only: every bench/bench_*.c is its own program). */
#ifndef SG_BENCH_UTIL_H
#define SG_BENCH_UTIL_H

#include "data/glue.h"
#include "data/tokenizer.h"
#include "model/roberta.h"
#include "model/lsq.h"
#include "train/adamw.h"
#include "train/progress.h"

#include <stdio.h>
#include <stdlib.h>

static inline int bench_cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static inline double bench_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof(double), bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* roberta-base-like geometry `size` with every quantizer at level 32 (the default transform) when
 * `quantized`, steps 0.1 and past their initialisation. Seeded random weights, or the raw parameter
 * file `cache` when it holds exactly this model's parameters (written otherwise): the random init
 * of 125 M parameters takes seconds that the benchmark's processes would each repeat. */
static inline int bench_model_create(sg_model *m, const char *size, int quantized, const char *cache) {
    sg_model_config cfg;
    if (sg_model_config_preset(&cfg, size, 2, 50265)) return -1;
    int *levels = calloc((size_t)cfg.layers * QM_PER_LAYER + 1, sizeof(int));
    if (!levels) return -1;
    for (int i = 0; i <= cfg.layers * QM_PER_LAYER; i++) levels[i] = quantized ? 32 : 0;
    int rc = sg_model_create_quantized(m, &cfg, quantized ? levels : NULL);
    free(levels);
    if (rc) return -1;
    const size_t n = m->table.total;
    FILE *f = cache ? fopen(cache, "rb") : NULL;
    int loaded = 0;
    if (f) {
        size_t stored = 0;
        loaded = fread(&stored, sizeof stored, 1, f) == 1 && stored == n && fread(m->params, sizeof(float), n, f) == n;
        fclose(f);
    }
    if (!loaded) {
        sg_model_init_random(m, 1);
        for (int i = 0; m->quant && i <= cfg.layers * Q_PER_LAYER; i++)
            if (m->quant[i].s) *m->quant[i].s = 0.1f;
        if (cache && (f = fopen(cache, "wb"))) {
            int ok = fwrite(&n, sizeof n, 1, f) == 1 && fwrite(m->params, sizeof(float), n, f) == n;
            if (fclose(f) || !ok) remove(cache);
        }
    }
    for (int i = 0; m->quant && i <= cfg.layers * Q_PER_LAYER; i++)
        if (m->quant[i].s) m->quant[i].init_calls = SG_LSQ_INIT_CALLS;
    return 0;
}

/* RoBERTa's tokenizer and the SST-2 dev split from SHARED (../shared); 0, or -1 (sg_fail). */
static inline int bench_open_sst2_dev(const char *shared, sg_tokenizer **tok, sg_glue_data *d) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tokenizer/roberta-base", shared);
    if (!(*tok = sg_tokenizer_load(dir))) return -1;
    snprintf(dir, sizeof dir, "%s/glue", shared);
    if (sg_glue_load(dir, sg_glue_task_find("sst2"), SG_SPLIT_DEV, d) == 0) return 0;
    sg_tokenizer_free(*tok);
    return -1;
}

/* B full-length rows of T token ids (<s> then a fixed spread over the vocabulary), labels 0/1. */
static inline sg_batch bench_synthetic_batch(int B, int T) {
    int32_t *ids = malloc(sizeof(int32_t) * B * T), *mask = malloc(sizeof(int32_t) * B * T), *labels = malloc(sizeof(int32_t) * B);
    if (!ids || !mask || !labels) {
        fprintf(stderr, "bench: out of memory\n");
        exit(1);
    }
    for (int i = 0; i < B * T; i++) {
        ids[i] = i % T == 0 ? 0 : 4 + (i * 7919) % 50000;
        mask[i] = 1;
    }
    for (int b = 0; b < B; b++) labels[b] = b % 2;
    sg_batch batch = {B, T, ids, mask, labels, NULL, NULL};
    return batch;
}

static inline void bench_batch_free(sg_batch *b) {
    free((void *)b->ids);
    free((void *)b->mask);
    free((void *)b->labels);
}

/* One training step as the trainer takes it: forward, backward, global-norm clipping, AdamW. */
static inline void bench_train_step(sg_model *m, const sg_batch *batch, const sg_adamw_config *oc, int it) {
    m->step = (uint64_t)it;
    sg_model_zero_grad(m);
    sg_model_forward(m, batch, 1);
    sg_model_backward(m, batch);
    float norm = sg_grad_norm(m);
    sg_adamw_step_scaled(m, oc, 2e-5f, it + 1, sg_clip_factor(norm, 1.0f));
}

#endif
