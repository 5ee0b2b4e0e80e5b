/* The public tokenizer handle: dispatch to BPE or the built-in byte tokenizer, then RoBERTa's
 * framing (<s> A </s> / <s> A </s></s> B </s>), longest-first truncation and padding. */
#include "data/tokenizer.h"

#include "data/bpe.h"
#include "data/byte_tokenizer.h"

#include "core/error.h"
#include "core/fileio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sg_tokenizer {
    sg_bpe *bpe; /* NULL: the built-in byte tokenizer */
    sg_ids a, b, row; /* scratch, reused across calls */
};

static const sg_special_ids BYTE_SPECIALS = {0, 1, 2, 3, SG_BYTE_TOKENIZER_MASK};

static sg_tokenizer *wrap(sg_bpe *bpe) {
    sg_tokenizer *t = calloc(1, sizeof *t);
    if (!t) {
        sg_bpe_free(bpe);
        sg_fail("out of memory creating a tokenizer");
        return NULL;
    }
    t->bpe = bpe;
    return t;
}

sg_tokenizer *sg_tokenizer_load(const char *dir) {
    sg_bpe *bpe = sg_bpe_load(dir);
    return bpe ? wrap(bpe) : NULL;
}

sg_tokenizer *sg_tokenizer_load_memory(const char *vocab_json, size_t vocab_len, const char *merges_txt,
                                       size_t merges_len, const char *name) {
    sg_bpe *bpe = sg_bpe_load_memory(vocab_json, vocab_len, merges_txt, merges_len, name);
    return bpe ? wrap(bpe) : NULL;
}

sg_tokenizer *sg_tokenizer_builtin(void) { return wrap(NULL); }

sg_tokenizer *sg_tokenizer_open(const char *spec) {
    return strcmp(spec, "builtin") == 0 ? sg_tokenizer_builtin() : sg_tokenizer_load(spec);
}

sg_tokenizer_files sg_tokenizer_files_in(const char *dir) {
    char vocab[4200], merges[4200];
    if (sg_path_join(vocab, sizeof vocab, dir, "vocab.json") || sg_path_join(merges, sizeof merges, dir, "merges.txt"))
        return SG_TOKENIZER_FILES_PARTIAL;
    int has_vocab = sg_path_kind_of(vocab) != SG_PATH_MISSING, has_merges = sg_path_kind_of(merges) != SG_PATH_MISSING;
    if (has_vocab && has_merges) return SG_TOKENIZER_FILES_BOTH;
    if (!has_vocab && !has_merges) return SG_TOKENIZER_FILES_NONE;
    sg_fail("%s: no such file, but %s is there (a BPE tokenizer needs both vocab.json and merges.txt; "
            "without either the built-in byte tokenizer is used)",
            has_vocab ? merges : vocab, has_vocab ? "vocab.json" : "merges.txt");
    return SG_TOKENIZER_FILES_PARTIAL;
}

int sg_tokenizer_copy_files(const char *from_dir, const char *to_dir) {
    const char *files[] = {"vocab.json", "merges.txt"};
    for (int i = 0; i < 2; i++) {
        char from[4200], to[4200];
        if (sg_path_join(from, sizeof from, from_dir, files[i]) || sg_path_join(to, sizeof to, to_dir, files[i]) ||
            sg_copy_file(from, to))
            return -1;
    }
    return 0;
}

int sg_tokenizer_check_fits(const sg_tokenizer *t, int32_t model_vocab_size, const char *name) {
    int32_t n = sg_tokenizer_vocab_size(t);
    if (n > model_vocab_size)
        return sg_fail("%s: the tokenizer has %d ids but the model only %d embeddings", name, (int)n, (int)model_vocab_size);
    return 0;
}

sg_tokenizer *sg_tokenizer_clone(const sg_tokenizer *t) {
    if (!t->bpe) return sg_tokenizer_builtin();
    sg_bpe *bpe = sg_bpe_clone(t->bpe);
    return bpe ? wrap(bpe) : NULL;
}

void sg_tokenizer_free(sg_tokenizer *t) {
    if (!t) return;
    sg_bpe_free(t->bpe);
    sg_ids_free(&t->a);
    sg_ids_free(&t->b);
    sg_ids_free(&t->row);
    free(t);
}

int sg_tokenizer_is_builtin(const sg_tokenizer *t) { return t->bpe == NULL; }

int32_t sg_tokenizer_vocab_size(const sg_tokenizer *t) {
    return t->bpe ? sg_bpe_vocab_size(t->bpe) : SG_BYTE_TOKENIZER_VOCAB_SIZE;
}

sg_special_ids sg_tokenizer_specials(const sg_tokenizer *t) {
    return t->bpe ? sg_bpe_specials(t->bpe) : BYTE_SPECIALS;
}

int32_t sg_tokenizer_token_id(const sg_tokenizer *t, const char *token) {
    if (t->bpe) return sg_bpe_token_id(t->bpe, token);
    static const char *const names[5] = {"<s>", "<pad>", "</s>", "<unk>", "<mask>"};
    const int32_t ids[5] = {0, 1, 2, 3, SG_BYTE_TOKENIZER_MASK};
    for (int k = 0; k < 5; k++)
        if (strcmp(token, names[k]) == 0) return ids[k];
    size_t n = strlen(token);
    return n == 1 ? SG_BYTE_TOKENIZER_FIRST_BYTE + (unsigned char)token[0] : -1;
}

static int encode_append(sg_tokenizer *t, const char *text, size_t len, sg_ids *out) {
    return t->bpe ? sg_bpe_encode(t->bpe, text, len, out) : sg_byte_tokenizer_encode(text, len, out);
}

int sg_tokenizer_encode(sg_tokenizer *t, const char *text, size_t len, sg_ids *out) {
    out->len = 0;
    return encode_append(t, text, len, out);
}

void sg_truncate_longest_first(size_t *len_a, size_t *len_b, size_t budget) {
    if (!len_b) {
        if (*len_a > budget) *len_a = budget;
        return;
    }
    /* transformers' truncate_sequences(): one token at a time, from the longer one; a tie
     * takes from the pair. Counting keeps it O(1) per removed token and obviously the same. */
    while (*len_a + *len_b > budget) {
        if (*len_a > *len_b)
            (*len_a)--;
        else
            (*len_b)--;
    }
}

int sg_tokenizer_encode_framed(sg_tokenizer *t, const char *a, size_t a_len, const char *b, size_t b_len,
                               int max_len, sg_ids *out) {
    int pair = b != NULL;
    size_t specials = pair ? 4 : 2;
    if (max_len > 0 && (size_t)max_len < specials)
        return sg_fail("max_seq_length %d cannot hold the %zu special tokens of a %s", max_len, specials,
                       pair ? "pair" : "single sentence");
    t->a.len = t->b.len = 0;
    if (encode_append(t, a, a_len, &t->a) != 0) return -1;
    if (pair && encode_append(t, b, b_len, &t->b) != 0) return -1;
    size_t na = t->a.len, nb = t->b.len;
    if (max_len > 0) sg_truncate_longest_first(&na, pair ? &nb : NULL, (size_t)max_len - specials);

    sg_special_ids sp = sg_tokenizer_specials(t);
    out->len = 0;
    if (sg_ids_reserve(out, na + nb + specials) != 0) return -1;
    int32_t *o = out->data;
    size_t k = 0;
    o[k++] = sp.bos;
    if (na) memcpy(o + k, t->a.data, na * sizeof *o); /* data may be NULL when empty */
    k += na;
    o[k++] = sp.eos;
    if (pair) {
        o[k++] = sp.eos;
        if (nb) memcpy(o + k, t->b.data, nb * sizeof *o);
        k += nb;
        o[k++] = sp.eos;
    }
    out->len = k;
    return 0;
}

int sg_tokenizer_encode_row(sg_tokenizer *t, const char *a, size_t a_len, const char *b, size_t b_len,
                            int row_len, int32_t *ids, int32_t *mask) {
    if (row_len <= 0) return sg_fail("row length %d must be positive", row_len);
    if (sg_tokenizer_encode_framed(t, a, a_len, b, b_len, row_len, &t->row) != 0) return -1;
    int32_t pad = sg_tokenizer_specials(t).pad;
    size_t n = t->row.len;
    memcpy(ids, t->row.data, n * sizeof *ids);
    for (size_t i = n; i < (size_t)row_len; i++) ids[i] = pad;
    if (mask)
        for (size_t i = 0; i < (size_t)row_len; i++) mask[i] = i < n;
    return (int)n;
}

char *sg_tokenizer_decode(const sg_tokenizer *t, const int32_t *ids, size_t n, size_t *len_out) {
    return t->bpe ? sg_bpe_decode(t->bpe, ids, n, len_out) : sg_byte_tokenizer_decode(ids, n, len_out);
}
