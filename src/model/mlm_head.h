/* The masked-LM head, HF's RobertaLMHead: x = dense(h); x = gelu(x) (exact erf, whatever the
 * encoder's hidden_act); x = layer_norm(x); logits = x · word_embeddingsᵀ + lm_head.bias, the
 * decoder tied to the word embeddings. Its tensors sit in the model's table under HF's names
 * (lm_head.dense.*, lm_head.layer_norm.*, lm_head.bias); the decoder's gradient is added into the
 * word embeddings' gradient. The loss is the mean cross-entropy over labelled positions (labels
 * != -100), over the global batch's count when data parallel (sg_model.global_labelled). */
#ifndef SG_MLM_HEAD_H
#define SG_MLM_HEAD_H

#include "model/roberta.h"

/* Logits of the labelled positions (all positions when b has no token_labels) from the encoder
 * output x [B*T, C]; returns the mean loss (0 without labels or with none labelled). */
float sg_mlm_head_forward(sg_model *m, const sg_batch *b, const float *x);
/* Backward of the last forward's loss: the head's gradients accumulate (the decoder's into the
 * word embeddings'); d(encoder output) is left in acts.d_x. */
void sg_mlm_head_backward(sg_model *m, const sg_batch *b);
/* HF's _init_weights for a new head: dense N(0, initializer_range) (seeded), zero biases,
 * layer_norm 1 / 0. */
void sg_mlm_head_init(sg_model *m, uint64_t seed);
/* Labelled positions (label != -100) among n. */
int sg_mlm_count_labelled(const int32_t *labels, size_t n);

#endif
