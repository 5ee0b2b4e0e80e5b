/* The built-in byte tokenizer (byte_tokenizer.h): raw bytes, no UTF-8 handling. */
#include "data/byte_tokenizer.h"

#include "core/error.h"

#include <stdlib.h>

int sg_byte_tokenizer_encode(const char *text, size_t len, sg_ids *out) {
    if (len == 0) return 0;
    if (sg_ids_reserve(out, out->len + len) != 0) return -1;
    int32_t *dst = out->data + out->len;
    const unsigned char *src = (const unsigned char *)text;
    for (size_t i = 0; i < len; i++) dst[i] = SG_BYTE_TOKENIZER_FIRST_BYTE + (int32_t)src[i];
    out->len += len;
    return 0;
}

char *sg_byte_tokenizer_decode(const int32_t *ids, size_t n, size_t *len_out) {
    char *s = malloc(n + 1);
    if (!s) {
        sg_fail("out of memory decoding %zu ids", n);
        return NULL;
    }
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < 0 || id >= SG_BYTE_TOKENIZER_VOCAB_SIZE) {
            free(s);
            sg_fail("token id %d out of range (builtin byte tokenizer, vocab size %d)", (int)id,
                    SG_BYTE_TOKENIZER_VOCAB_SIZE);
            return NULL;
        }
        if (id >= SG_BYTE_TOKENIZER_FIRST_BYTE && id < SG_BYTE_TOKENIZER_MASK)
            s[len++] = (char)(unsigned char)(id - SG_BYTE_TOKENIZER_FIRST_BYTE);
    }
    s[len] = '\0';
    if (len_out) *len_out = len;
    return s;
}
