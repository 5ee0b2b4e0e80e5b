/* Byte-level BPE (GPT-2 / RoBERTa), the tokenizer behind sg_tokenizer when a model directory
 * holds vocab.json + merges.txt. Below tokenizer.h, which frames its output; the tables it
 * reads are loaded by bpe_model.c. A handle is for one thread (sg_bpe_clone shares the tables). */
#ifndef SG_BPE_H
#define SG_BPE_H

#include "data/token_ids.h"

/* Each file is refused above this size (roberta-base: 0.9 MB and 0.5 MB). */
#define SG_TOKENIZER_MAX_FILE_BYTES ((size_t)64 << 20)

typedef struct sg_bpe sg_bpe;
/* DIR/vocab.json + DIR/merges.txt, or their contents (`name` stands for DIR in messages).
 * NULL + sg_fail on error (the messages tokenizer.h lists). */
sg_bpe *sg_bpe_load(const char *dir);
sg_bpe *sg_bpe_load_memory(const char *vocab_json, size_t vocab_len, const char *merges_txt, size_t merges_len,
                           const char *name);
sg_bpe *sg_bpe_clone(const sg_bpe *b);
void sg_bpe_free(sg_bpe *b);
int32_t sg_bpe_vocab_size(const sg_bpe *b);
sg_special_ids sg_bpe_specials(const sg_bpe *b);
int32_t sg_bpe_token_id(const sg_bpe *b, const char *token);
int sg_bpe_encode(sg_bpe *b, const char *text, size_t len, sg_ids *out); /* appends */
char *sg_bpe_decode(const sg_bpe *b, const int32_t *ids, size_t n, size_t *len_out);

#endif
