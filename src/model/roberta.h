/* RoBERTa for sequence classification (spec §1) or masked LM (model/mlm_head.h), optionally with LSQ quantizers in place
 * (spec §2): the model, its memory and its passes.
 * Memory follows llm.c: one block for parameters, gradients and both AdamW moments, and one
 * activation block sized for the largest batch; a step allocates nothing. */
#ifndef SG_ROBERTA_H
#define SG_ROBERTA_H

#include "core/arena.h"
#include "model/config.h"
#include "model/linear_backend.h"
#include "model/params.h"
#include "model/lsq.h"

#include <stdint.h>

/* One batch, row-major [B, T]. labels for classification, targets for regression (STS-B);
 * either may be NULL for prediction. */
typedef struct {
    int B, T;
    const int32_t *ids;
    const int32_t *mask;
    const int32_t *labels;
    const float *targets;
    const int32_t *token_labels; /* [B, T] masked-LM labels, -100 where ignored (NULL: none) */
} sg_batch;

#define SG_MLM_IGNORE (-100) /* HF's ignore_index for the masked-LM loss */

/* Saved per layer for the backward pass (in eval mode all layers share one set). A `*_pre`
 * buffer holds a quantizer's input; it is the same buffer as its output when the quantizer is
 * off, so an unquantized model pays nothing. */
typedef struct {
    float *x_in;              /* [N, C] layer input */
    float *qkv_pre, *qkv;     /* [3, N, C] planar q | k | v projections, before / after quantizers (an
                                 eval without those quantizers: qkv is one [N, 3C] product) */
    float *att;               /* [B, H, T, T] softmax probabilities (that eval: per-thread scratch) */
    float *att_p;             /* probabilities multiplied with V: after dropout and attn_quan */
    float *ctx_pre, *ctx;     /* [N, C] context (heads merged), before / after after_attn_quan */
    float *ao_pre;            /* [N, C] attention output dense, before dense_quan */
    float *res1;              /* [N, C] x_in + dropout(dense_quan(ao)) */
    float *ln1_mean, *ln1_rstd;
    float *h1_pre, *h1;       /* [N, C] LayerNorm 1 output, before / after dense_quan_after_ln */
    float *fc1;               /* [N, F] intermediate dense output, before dense_quan */
    float *act;               /* [N, F] activation(dense_quan(fc1)) */
    float *fc2_pre;           /* [N, C] output dense, before dense_quan */
    float *res2;              /* [N, C] h1 + dropout(dense_quan(fc2)) */
    float *ln2_mean, *ln2_rstd;
    float *out_pre;           /* [N, C] LayerNorm 2 output before dense_quan_after_ln (the layer output after) */
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
    float *cls_h_pre;    /* [B, C] dense output, before dense_quan */
    float *cls_h;        /* [B, C] after dense_quan (== cls_h_pre when off) */
    float *cls_t;        /* [B, C] tanh output after dropout */
    float *logits;       /* [B, L] */
    float *probs;        /* [B, L] softmax of logits (classification) */
    /* masked-LM head (model/mlm_head.h): the logits of mlm_R positions, mlm_rows[r] (the labelled
     * ones when labels are given, else all of them); capacity N rows each */
    int32_t *mlm_rows, *mlm_target; /* [N] position, its label */
    int mlm_R;
    double mlm_den;                 /* the loss's denominator: labelled tokens (of the global batch) */
    float *mlm_x, *mlm_h, *mlm_g, *mlm_ln, *mlm_mean, *mlm_rstd, *mlm_lse; /* [N, C] / [N] */
    float *mlm_logits;              /* [N, V]; the backward turns them into d(logits) */
    /* backward scratch */
    float *d_x, *d_x2, *d_qkv, *d_ctx, *d_ffn, *d_cls; /* d_cls: [B, 3C + L] */
    float *d_att, *d_att2;   /* [B, H, T, T] */
    float *scratch;      /* per-thread [2C] reductions */
    int threads;
} sg_acts;

typedef struct {
    sg_model_config cfg;
    sg_param_table table;
    sg_arena weights;    /* params */
    sg_arena train_state; /* grads | m | v, allocated by the first sg_model_reserve(training = 1) */
    float *params, *grads, *m, *v;
    /* quantizers: [layers * Q_PER_LAYER + 1], those with s == NULL are off */
    int *module_levels;  /* [layers * QM_PER_LAYER + 1] or NULL */
    sg_lsq *quant;
    int calibrating;     /* forward in LSQ calibration mode (see model/lsq.h) */
    sg_arena act_arena;
    sg_acts acts;
    uint64_t dropout_seed; /* dropout masks are a function of (seed, step, site, index) */
    float label_smoothing;  /* HF --label_smoothing_factor on the classification loss (0: off) */
    uint64_t step;
    sg_linear_backend *linear; /* products of distributed weights (linear_backend.h); NULL: all local */
    /* Data parallelism, set from above (global_rows 0: off). A batch is rows [row_offset,
     * row_offset + B) of a global batch of global_rows rows: dropout draws the masks of those
     * global rows, the loss is this part's share of the global mean (sum / global_rows), and LSQ
     * step gradients use the global tensor's numel, so the parts' gradients sum to the global batch's. */
    int row_offset, global_rows;
    int global_labelled; /* masked LM, data parallel: labelled tokens of the global batch (0: this batch's) */
    /* Set from above (NULL: none): called by sg_model_backward as soon as a part's gradients are
     * final for this backward: part = layers (the classifier head), then each encoder layer l from
     * the last down to 0. Data parallelism starts summing them while the backward goes on. */
    void (*grads_ready)(void *ctx, int part);
    void *grads_ready_ctx;
    /* Set from above (NULL: none): called between the products of each layer's backward, so that
     * the sums grads_ready started can progress (MPI moves their data only inside MPI calls). */
    void (*progress)(void *ctx);
    void *progress_ctx;
} sg_model;

int sg_model_create(sg_model *m, const sg_model_config *cfg);
/* With quantizers: module_levels [layers * QM_PER_LAYER + 1] (0: module not quantized). Steps start at 1.0. */
int sg_model_create_quantized(sg_model *m, const sg_model_config *cfg, const int *module_levels);
void sg_model_free(sg_model *m);
/* (Re)size activations for batches up to B x T; `training` keeps every layer's activations and
 * allocates gradients and AdamW moments (zeroed) the first time. */
int sg_model_reserve(sg_model *m, int B, int T, int training);
int sg_model_is_quantized(const sg_model *m);
/* Scratch of the backend's products for batches of `rows` tokens (0 without a backend). */
int sg_model_linear_reserve(sg_model *m, int rows);

/* 1 when tensor idx stores only some of its rows, its products going through m->linear. */
static inline int sg_model_param_distributed(const sg_model *m, int idx) { return m->linear && m->table.info[idx].dist; }
static inline float *sg_model_param(const sg_model *m, int idx) { return m->params + m->table.info[idx].offset; }
static inline float *sg_model_grad(const sg_model *m, int idx) { return m->grads + m->table.info[idx].offset; }
/* Quantizer q of layer l (l == layers: the classifier's, q = 0); NULL when off. */
static inline sg_lsq *sg_model_quant(const sg_model *m, int l, int q) {
    if (!m->quant) return NULL;
    sg_lsq *z = &m->quant[l * Q_PER_LAYER + q];
    return z->s ? z : NULL;
}

/* Seeded N(0, initializer_range) weights, zero biases, LayerNorm 1/0, zero padding row — HF's init. */
void sg_model_init_random(sg_model *m, uint64_t seed);

/* Forward; returns the mean loss when the batch has labels/targets (else 0). training: dropout on
 * and LSQ's initialisation schedule. */
float sg_model_forward(sg_model *m, const sg_batch *b, int training);
void sg_model_zero_grad(sg_model *m);
/* Backward of the last training forward's mean loss; accumulates into m->grads. */
void sg_model_backward(sg_model *m, const sg_batch *b);

uint64_t sg_dropout_stream(uint64_t step, int layer, int site);
/* The first element index of this batch's dropout mask in a tensor of per_row elements per batch row. */
static inline uint64_t sg_dropout_first(const sg_model *m, size_t per_row) { return (uint64_t)m->row_offset * per_row; }
/* The denominator of the mean loss: the global batch's rows (data parallel) or this batch's. */
static inline int sg_loss_rows(const sg_model *m, int B) { return m->global_rows > 0 ? m->global_rows : B; }
enum { SG_SITE_EMB, SG_SITE_ATT, SG_SITE_ATT_OUT, SG_SITE_FFN_OUT, SG_SITE_CLS_IN, SG_SITE_CLS_MID };

#endif
