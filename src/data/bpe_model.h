/* The tables of byte-level BPE, shared by bpe_model.c (which reads vocab.json and merges.txt
 * into them) and bpe.c (which runs the merges): private to those two files.
 *
 * Strings are interned: every vocab token, merge part, merge result and byte symbol gets a
 * dense "symbol" number, so merging works on integer pairs. The tables are read-only after
 * loading and shared by every handle cloned from the first (reference counted). */
#ifndef SG_BPE_MODEL_H
#define SG_BPE_MODEL_H

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif
#include "data/token_ids.h"

#include <pcre2.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- hashing (the symbol table's and the word cache's) ---- */

static inline uint64_t bpe_mix64(uint64_t x) {
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    return x;
}

static inline uint64_t bpe_hash_bytes(const unsigned char *p, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ULL ^ (uint64_t)n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, n);
    h = (h ^ w) * 0xff51afd7ed558ccdULL;
    return bpe_mix64(h);
}

/* ---- symbol table: bytes -> dense symbol number ---- */

typedef struct {
    char *pool; /* all strings, each NUL-terminated */
    size_t pool_len, pool_cap;
    uint32_t *off, *len;
    int32_t *vocab_id; /* -1: not in the vocab */
    uint32_t n, cap;
    uint32_t *slots; /* symbol + 1; 0 = empty */
    uint32_t nslots;
} symtab;

/* The symbol of s[0..n), or -1. */
int32_t bpe_symtab_find(const symtab *st, const char *s, size_t n);

/* ---- the model ---- */

typedef struct {
    uint64_t key; /* (left symbol << 32) | right symbol; BPE_EMPTY_KEY when free */
    int32_t rank, merged;
} merge_slot;
#define BPE_EMPTY_KEY UINT64_MAX

typedef struct {
    atomic_int refs;
    symtab syms;
    int32_t byte_sym[256];   /* symbol of each byte's printable character */
    int16_t cp_byte[324];    /* printable character (code point) -> byte, -1 if none */
    merge_slot *merges;
    uint32_t merge_bits;     /* table has 1 << merge_bits slots */
    int32_t *id_sym;         /* vocab id -> symbol, -1 for a gap */
    int32_t vocab_size;      /* largest id + 1 */
    sg_special_ids sp;
    pcre2_code *re;
    int jit;
} bpe_model;

static inline uint32_t bpe_merge_home(const bpe_model *m, uint64_t key) {
    return (uint32_t)((key * 0x9E3779B97F4A7C15ULL) >> (64 - m->merge_bits));
}

static inline const merge_slot *bpe_merge_find(const bpe_model *m, int32_t a, int32_t b) {
    uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    uint32_t mask = (1u << m->merge_bits) - 1;
    for (uint32_t i = bpe_merge_home(m, key);; i = (i + 1) & mask) {
        const merge_slot *s = &m->merges[i];
        if (s->key == key) return s;
        if (s->key == BPE_EMPTY_KEY) return NULL;
    }
}

/* vocab.json + merges.txt from memory (`name` stands for their directory in messages), or
 * read from DIR; NULL + sg_fail on error. The model starts with one reference. */
bpe_model *bpe_model_parse(const char *vocab_json, size_t vocab_len, const char *merges_txt, size_t merges_len,
                           const char *name);
bpe_model *bpe_model_read(const char *dir);
void bpe_model_free(bpe_model *m);

#endif
