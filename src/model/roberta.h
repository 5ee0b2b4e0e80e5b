/* RoBERTa for sequence classification, spec §1: the model, its memory and its passes.
 * Memory follows llm.c: one block for parameters, gradients and both AdamW moments, and one
 * activation block sized for the largest batch; a step allocates nothing. */
#ifndef SG_ROBERTA_H
#define SG_ROBERTA_H

#include "core/arena.h"
#include "model/config.h"
#include "model/params.h"

#include <stdint.h>

/* One batch, row-major [B, T]. labels for classification, targets for regression (STS-B);
 * either may be NULL for prediction. */
typedef struct {
    int B, T;
    const int32_t *ids;
    const int32_t *mask;
    const int32_t *labels;
    const float *targets;
} sg_batch;

/* Saved per layer for the backward pass (in eval mode all layers share one set). */
typedef struct {
    float *x_in;  /* [N, C] layer input */
    float *qkv;   /* [N, 3C] fused projections (q | k | v per row) */
    float *att;   /* [B, H, T, T] softmax probabilities, before dropout */
    float *ctx;   /* [N, C] attention context, heads merged */
    float *res1;  /* [N, C] x_in + dropout(attention output) */
    float *ln1_mean, *ln1_rstd; /* [N] */
    float *h1;    /* [N, C] LayerNorm 1 output */
    float *fc1;   /* [N, F] intermediate pre-activation */
    float *act;   /* [N, F] activation output */
    float *res2;  /* [N, C] h1 + dropout(fc2 output) */
    float *ln2_mean, *ln2_rstd;
} sg_layer_acts;

typedef struct {
    int B, T, training;  /* capacity */
    int training_now;    /* mode of the last forward */
    float *emb;          /* [N, C] embedding sum, before LayerNorm */
    float *emb_mean, *emb_rstd;
    float *emb_ln;       /* [N, C] LayerNorm output before dropout */
    int32_t *pos_ids;    /* [N] */
    sg_layer_acts *layer;
    float *out;          /* [N, C] encoder output (eval-mode ping-pong partner) */
    float *cls_x;        /* [B, C] <s> features after dropout */
    float *cls_h;        /* [B, C] dense output, before tanh */
    float *cls_t;        /* [B, C] tanh output after dropout */
    float *logits;       /* [B, L] */
    float *probs;        /* [B, L] softmax of logits (classification) */
    /* backward scratch */
    float *d_x, *d_x2, *d_qkv, *d_ctx, *d_ffn, *d_cls; /* d_cls: [B, 3C] */
    float *scratch;      /* per-thread [2, T, T] for attention + per-thread [2C] reductions */
    int threads;
} sg_acts;

typedef struct {
    sg_model_config cfg;
    sg_param_table table;
    sg_arena weights;    /* params | grads | m | v */
    float *params, *grads, *m, *v;
    sg_arena act_arena;
    sg_acts acts;
    uint64_t dropout_seed; /* dropout masks are a function of (seed, step, site, index) */
    uint64_t step;
} sg_model;

int sg_model_create(sg_model *m, const sg_model_config *cfg);
void sg_model_free(sg_model *m);
/* (Re)size activations for batches up to B x T; `training` keeps every layer's activations. */
int sg_model_reserve(sg_model *m, int B, int T, int training);

static inline float *sg_model_param(const sg_model *m, int idx) { return m->params + m->table.info[idx].offset; }
static inline float *sg_model_grad(const sg_model *m, int idx) { return m->grads + m->table.info[idx].offset; }

/* Seeded N(0, initializer_range) weights, zero biases, LayerNorm 1/0, zero padding row — HF's init. */
void sg_model_init_random(sg_model *m, uint64_t seed);

/* Forward; returns the mean loss when the batch has labels/targets (else 0). training: dropout on. */
float sg_model_forward(sg_model *m, const sg_batch *b, int training);
void sg_model_zero_grad(sg_model *m);
/* Backward of the last training forward's mean loss; accumulates into m->grads. */
void sg_model_backward(sg_model *m, const sg_batch *b);

uint64_t sg_dropout_stream(uint64_t step, int layer, int site);

#endif
