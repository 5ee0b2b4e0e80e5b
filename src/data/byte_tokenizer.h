/* The built-in byte tokenizer for models made without a vocab (init-model): raw bytes, no files.
 * Below tokenizer.h, which frames its output. */
#ifndef SG_BYTE_TOKENIZER_H
#define SG_BYTE_TOKENIZER_H

#include "data/token_ids.h"

/* <s>=0 <pad>=1 </s>=2 <unk>=3, byte b -> 4+b, <mask>=260. */
#define SG_BYTE_TOKENIZER_VOCAB_SIZE 261
#define SG_BYTE_TOKENIZER_MASK 260
#define SG_BYTE_TOKENIZER_FIRST_BYTE 4

int sg_byte_tokenizer_encode(const char *text, size_t len, sg_ids *out); /* appends */
char *sg_byte_tokenizer_decode(const int32_t *ids, size_t n, size_t *len_out);

#endif
