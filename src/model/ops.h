/* The per-op kernels of the model: forward and backward of each, OpenMP over rows,
 * allocation-free (scratch comes from the caller's arena). */
#ifndef SG_OPS_H
#define SG_OPS_H

#include <stddef.h>
#include <stdint.h>

/* LayerNorm over rows of width C. mean/rstd: [N] saved for backward. */
void sg_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w, const float *b, int N,
                          int C, float eps);
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
static inline float sg_dropout_scale(float u, float p) { return u >= p ? 1.0f / (1.0f - p) : 0.0f; }

void sg_relu_forward(float *out, const float *inp, size_t n);
void sg_relu_backward(float *dinp, const float *dout, const float *inp, size_t n);
void sg_gelu_forward(float *out, const float *inp, size_t n); /* exact erf GELU, as HF "gelu" */
void sg_gelu_backward(float *dinp, const float *dout, const float *inp, size_t n);

/* RoBERTa position ids: pad_id + cumsum(ids != pad) for real tokens, pad_id for padding. */
void sg_position_ids(int32_t *pos, const int32_t *ids, int B, int T, int pad_id);

/* Self-attention over fused qkv [B*T, 3C]: att [B,H,T,T] (softmax probs, saved), ctx [B*T, C].
 * Mask: additive finfo(float32).min on padding keys, as HF. Attention-probability dropout p
 * with stream base `stream`. scratch: threads * 2*T*T floats. */
void sg_attention_forward(float *ctx, float *att, const float *qkv, const int32_t *mask, int B, int T, int C, int H,
                          float p, uint64_t seed, uint64_t stream, float *scratch, int threads);
void sg_attention_backward(float *dqkv, const float *dctx, const float *qkv, const float *att, int B, int T, int C,
                           int H, float p, uint64_t seed, uint64_t stream, float *scratch, int threads);

#endif
