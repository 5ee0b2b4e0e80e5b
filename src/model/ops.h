/* The per-op kernels of the model: forward and backward of each, OpenMP over rows,
 * allocation-free (scratch comes from the caller's arena). */
#ifndef SG_OPS_H
#define SG_OPS_H

#include <stddef.h>
#include <stdint.h>

/* LayerNorm over rows of width C. mean/rstd: [N] saved for backward. */
/* One row: y = (x - mean) / sqrt(var + eps) · w + b, biased variance as torch; mean and rstd may be
 * NULL. The one copy of the arithmetic: the spiking LayerNorm (snn/zip_ops) calls it too, so the
 * spiking network equals the quantized one by construction. */
void sg_layernorm_row(float *y, const float *x, const float *w, const float *b, int C, float eps, float *mean,
                      float *rstd);
void sg_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b, int N,
                          int C, float eps);
/* The residual add fused with the LayerNorm after it: x += residual row by row, kept in x
 * (LayerNorm backward's input), then out = LN(x). The same bits as the add pass followed by
 * sg_layernorm_forward, one pass over the rows fewer. */
void sg_add_layernorm_forward(float *out, float *mean, float *rstd, float *x, const float *residual, const float *w,
                              const float *b, int N, int C, float eps);
/* dinp = (beta ? dinp : 0) + dLN; dw, db accumulate. scratch: threads * 2C floats. */
void sg_layernorm_backward(float *dinp, int accumulate, float *dw, float *db, const float *dout, const float *inp,
                           const float *w, const float *mean, const float *rstd, int N, int C, float *scratch,
                           int threads);

/* Inverted dropout with a counter-based mask: keep with prob 1-p, scale 1/(1-p).
 * The mask of element i is a function of (seed, stream, i) only. In-place allowed. */
void sg_dropout_forward(float *out, const float *inp, size_t n, float p, uint64_t seed, uint64_t stream);
/* dinp = dout * mask/(1-p) (dinp may equal dout); with accumulate, adds to dinp. */
void sg_dropout_backward(float *dinp, int accumulate, const float *dout, size_t n, float p, uint64_t seed,
                         uint64_t stream);
/* The same for the elements [first, first + n) of a larger mask: element i here draws the mask of
 * element first + i (a data-parallel rank's rows of the global batch, sg_dropout_first). */
void sg_dropout_forward_at(float *out, const float *inp, size_t n, float p, uint64_t seed, uint64_t stream,
                           uint64_t first);
void sg_dropout_backward_at(float *dinp, int accumulate, const float *dout, size_t n, float p, uint64_t seed,
                            uint64_t stream, uint64_t first);
/* For the reference tests (tests/tools/check_vs_reference.c): when set, called once per
 * sg_dropout_forward that draws a mask (p > 0), before it is applied, with that call's
 * arguments; the observer can materialise the mask by calling sg_dropout_forward on ones.
 * Process-wide and not thread-safe: set it only in single-model test tools. */
typedef void (*sg_dropout_observer)(void *ctx, size_t n, float p, uint64_t seed, uint64_t stream);
void sg_dropout_set_observer(sg_dropout_observer observer, void *ctx);
static inline float sg_dropout_scale(float u, float p) { return u >= p ? 1.0f / (1.0f - p) : 0.0f; }

void sg_relu_forward(float *out, const float *inp, size_t n); /* out == inp allowed */
void sg_relu_backward(float *dinp, const float *dout, const float *inp, size_t n);
void sg_gelu_forward(float *out, const float *inp, size_t n); /* exact erf GELU, as HF "gelu" */
void sg_gelu_backward(float *dinp, const float *dout, const float *inp, size_t n);

/* RoBERTa position ids: pad_id + cumsum(ids != pad) for real tokens, pad_id for padding. */
void sg_position_ids(int32_t *pos, const int32_t *ids, int B, int T, int pad_id);

/* Self-attention on planar q, k, v [B*T, C], heads as column blocks; att/probabilities [B, H, T, T].
 * Mask: additive finfo(float32).min on padding keys, as HF. */
/* Softmax of one row of scores x[0..T) into p (p == x allowed) with HF's additive mask (finfo.min
 * on keys whose mask is 0; mask NULL: none). The one copy, shared with the spiking softmax. */
void sg_softmax_row(float *p, const float *x, const int32_t *mask, int T);
void sg_attention_probs(float *att, const float *q, const float *k, const int32_t *mask, int B, int T, int C, int H,
                        int threads);
/* ctx[B*T, C] = p · v per (batch, head). */
void sg_attention_context(float *ctx, const float *p, const float *v, int B, int T, int C, int H, int threads);
/* The eval attention when nothing sits between its steps (no dropout, no quantizer): per (batch,
 * head), scores, softmax and ctx[B*T, C] = p · v one after the other, the T × T block staying in
 * cache instead of all B·H blocks being written out and read back (2 × 25 MB per roberta-base layer
 * at 32 × 128). q, k, v rows are `ld` floats apart (3C when they are one [N, 3C] product).
 * scratch: min(threads, B·H) × T × T floats. Same values as sg_attention_probs then
 * sg_attention_context. */
void sg_attention_forward(float *ctx, const float *q, const float *k, const float *v, int ld, const int32_t *mask,
                          int B, int T, int C, int H, float *scratch, int threads);
/* dp = dctx · vᵀ, dv = pᵀ · dctx per (batch, head). */
void sg_attention_context_backward(float *dp, float *dv, const float *dctx, const float *p, const float *v, int B, int T,
                                   int C, int H, int threads);
/* From d(probabilities) (overwritten with d(scores)) to dq, dk. */
void sg_attention_probs_backward(float *dq, float *dk, float *datt, const float *att, const float *q, const float *k,
                                 int B, int T, int C, int H, int threads);

#endif
