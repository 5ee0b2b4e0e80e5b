/* Byte-level BPE from vocab.json + merges.txt (src/data/bpe.c, tokenizer_frame.c).
 * Input: vocab.json NUL merges.txt NUL text. A loaded tokenizer then encodes the text (alone, as
 * a framed pair truncated to 16 and as a padded row) and decodes what it produced. */
#include "fuzz_common.h"

#include "data/tokenizer.h"

#define FUZZ_TOK_NAME "fuzz_tokenizer"

static int fuzz_tokenizer(const uint8_t *data, size_t size) {
    const char *p = (const char *)data, *end = p + size;
    const char *nul1 = memchr(p, '\0', size);
    const char *merges = nul1 ? nul1 + 1 : end;
    const char *nul2 = nul1 ? memchr(merges, '\0', (size_t)(end - merges)) : NULL;
    const char *text = nul2 ? nul2 + 1 : end;
    size_t vocab_len = (size_t)((nul1 ? nul1 : end) - p);
    size_t merges_len = (size_t)((nul2 ? nul2 : end) - merges);
    size_t text_len = (size_t)(end - text);

    sg_tokenizer *t = sg_tokenizer_load_memory(p, vocab_len, merges, merges_len, FUZZ_TOK_NAME);
    int verdict = sg_fuzz_verdict(t ? 0 : -1, FUZZ_TOK_NAME);
    if (!t) return verdict;
    sg_ids ids = {0};
    if (sg_tokenizer_encode(t, text, text_len, &ids) != 0) verdict = SG_FUZZ_BAD;
    size_t half = text_len / 2;
    if (sg_tokenizer_encode_framed(t, text, half, text + half, text_len - half, 16, &ids) != 0 || ids.len > 16)
        verdict = SG_FUZZ_BAD;
    int32_t row[12], mask[12];
    if (sg_tokenizer_encode_row(t, text, text_len, NULL, 0, 12, row, mask) < 0) verdict = SG_FUZZ_BAD;
    if (sg_tokenizer_encode_framed(t, text, text_len, NULL, 0, 0, &ids) != 0) verdict = SG_FUZZ_BAD;
    size_t out_len = 0;
    char *back = sg_tokenizer_decode(t, ids.data, ids.len, &out_len);
    if (!back) verdict = SG_FUZZ_BAD; /* its own ids always decode */
    free(back);
    sg_ids_free(&ids);
    sg_tokenizer_free(t);
    return verdict;
}

SG_FUZZ_ENTRY(fuzz_tokenizer)
