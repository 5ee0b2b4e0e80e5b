/* The bottom of the tokenizers: a growable list of token ids and the special ids a vocabulary
 * defines, shared by the BPE and byte tokenizers and the framing above them (tokenizer.h). */
#ifndef SG_TOKEN_IDS_H
#define SG_TOKEN_IDS_H

#include <stddef.h>
#include <stdint.h>

/* A growable list of token ids; reuse one across calls to avoid allocation.
 * Zero-initialise ({0}); release with sg_ids_free(). */
typedef struct {
    int32_t *data;
    size_t len, cap;
} sg_ids;

typedef struct {
    int32_t bos;  /* <s>    (RoBERTa: 0) */
    int32_t pad;  /* <pad>  (1) */
    int32_t eos;  /* </s>   (2) */
    int32_t unk;  /* <unk>  (3) */
    int32_t mask; /* <mask> (RoBERTa: 50264, builtin: 260); -1 when the vocab has none */
} sg_special_ids;

int sg_ids_reserve(sg_ids *v, size_t need); /* capacity >= need; 0 / -1 (out of memory) */
void sg_ids_free(sg_ids *v);

#endif
