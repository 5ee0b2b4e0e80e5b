/* Byte-level BPE exactly as GPT-2 / RoBERTa (HF RobertaTokenizer):
 *   1. invalid UTF-8 -> U+FFFD (Python's errors="replace"),
 *   2. GPT-2 pre-tokenization with PCRE2 (UTF + UCP),
 *   3. each piece's bytes -> GPT-2's printable "byte-to-unicode" symbols,
 *   4. merges applied by rank, the lowest-ranked adjacent pair first, every occurrence of it
 *      left to right (Python's loop), here with a heap so long words stay O(n log n),
 *   5. symbols -> vocab ids (<unk> for a symbol the vocab lacks).
 * Words go through a bounded per-handle cache (most words repeat).
 *
 * The tables (bpe_model.h, read by bpe_model.c) are read-only after loading and shared by clones;
 * a handle (sg_bpe) holds the mutable parts: the word cache and the merge scratch. */
#include "data/bpe.h"

#include "core/error.h"
#include "core/grow.h"
#include "data/bpe_model.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    CACHE_SLOTS = 1 << 16,    /* open addressing, power of two (1.5 MB per handle) */
    CACHE_MAX_ENTRIES = 1 << 15, /* then emptied: enough for the 22k distinct words of SST-2 */
    CACHE_MAX_WORD = 128,     /* longer pieces are rare: not cached */
};
#define MAX_TEXT_BYTES ((size_t)1 << 30)

/* ------------------------------------------------------------------------------------------ */
/* Handles                                                                                     */

typedef struct {
    uint64_t hash;
    uint32_t key_off, ids_off;
    uint16_t key_len, n_ids; /* n_ids == 0: empty slot */
} cache_slot;

struct sg_bpe {
    bpe_model *m;
    pcre2_match_data *md;
    /* word cache: slots + pools of key bytes and ids; emptied when full */
    cache_slot *cslots;
    uint32_t centries;
    unsigned char *ckeys;
    size_t ckeys_len, ckeys_cap;
    int32_t *cids;
    size_t cids_len, cids_cap;
    /* merge scratch for one word */
    int32_t *sym, *nxt, *prv;
    size_t wcap;
    uint64_t *heap, *pend;
    /* text with invalid UTF-8 replaced */
    char *clean;
    size_t clean_cap;
};

static sg_bpe *handle_new(bpe_model *m) {
    sg_bpe *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->m = m;
    b->md = pcre2_match_data_create(1, NULL);
    if (!b->md) {
        free(b);
        return NULL;
    }
    return b;
}

static sg_bpe *wrap(bpe_model *m) {
    if (!m) return NULL;
    sg_bpe *b = handle_new(m);
    if (!b) {
        bpe_model_free(m);
        sg_fail("out of memory creating a tokenizer handle");
    }
    return b;
}

sg_bpe *sg_bpe_load_memory(const char *vocab_json, size_t vocab_len, const char *merges_txt, size_t merges_len,
                           const char *name) {
    return wrap(bpe_model_parse(vocab_json, vocab_len, merges_txt, merges_len, name));
}

sg_bpe *sg_bpe_load(const char *dir) { return wrap(bpe_model_read(dir)); }

sg_bpe *sg_bpe_clone(const sg_bpe *src) {
    sg_bpe *b = handle_new(src->m);
    if (!b) {
        sg_fail("out of memory cloning a tokenizer");
        return NULL;
    }
    atomic_fetch_add(&src->m->refs, 1);
    return b;
}

void sg_bpe_free(sg_bpe *b) {
    if (!b) return;
    if (atomic_fetch_sub(&b->m->refs, 1) == 1) bpe_model_free(b->m);
    pcre2_match_data_free(b->md);
    free(b->cslots);
    free(b->ckeys);
    free(b->cids);
    free(b->sym);
    free(b->nxt);
    free(b->prv);
    free(b->heap);
    free(b->pend);
    free(b->clean);
    free(b);
}

int32_t sg_bpe_vocab_size(const sg_bpe *b) { return b->m->vocab_size; }
sg_special_ids sg_bpe_specials(const sg_bpe *b) { return b->m->sp; }

int32_t sg_bpe_token_id(const sg_bpe *b, const char *token) {
    int32_t sym = bpe_symtab_find(&b->m->syms, token, strlen(token));
    return sym < 0 ? -1 : b->m->syms.vocab_id[sym];
}

/* ------------------------------------------------------------------------------------------ */
/* Word cache                                                                                  */

static const int32_t *cache_get(const sg_bpe *b, const unsigned char *w, size_t n, uint64_t h,
                                size_t *n_ids) {
    if (!b->cslots) return NULL;
    for (uint32_t i = (uint32_t)h & (CACHE_SLOTS - 1);; i = (i + 1) & (CACHE_SLOTS - 1)) {
        const cache_slot *s = &b->cslots[i];
        if (!s->n_ids) return NULL;
        if (s->hash == h && s->key_len == n && memcmp(b->ckeys + s->key_off, w, n) == 0) {
            *n_ids = s->n_ids;
            return b->cids + s->ids_off;
        }
    }
}

static void cache_clear(sg_bpe *b) {
    memset(b->cslots, 0, CACHE_SLOTS * sizeof *b->cslots);
    b->centries = 0;
    b->ckeys_len = b->cids_len = 0;
}

/* Best effort: out of memory just means the word is not cached. */
static void cache_put(sg_bpe *b, const unsigned char *w, size_t n, uint64_t h, const int32_t *ids,
                      size_t n_ids) {
    if (!b->cslots) {
        b->ckeys_cap = 1 << 16;
        b->cids_cap = 1 << 14;
        b->cslots = calloc(CACHE_SLOTS, sizeof *b->cslots);
        b->ckeys = malloc(b->ckeys_cap);
        b->cids = malloc(b->cids_cap * sizeof *b->cids);
        if (!b->cslots || !b->ckeys || !b->cids) {
            free(b->cslots);
            free(b->ckeys);
            free(b->cids);
            b->cslots = NULL;
            b->ckeys = NULL;
            b->cids = NULL;
            return;
        }
    }
    if (b->centries >= CACHE_MAX_ENTRIES) cache_clear(b);
    if (b->ckeys_len + n > b->ckeys_cap) {
        unsigned char *k = realloc(b->ckeys, b->ckeys_cap * 2);
        if (!k) return;
        b->ckeys = k;
        b->ckeys_cap *= 2;
    }
    if (b->cids_len + n_ids > b->cids_cap) {
        int32_t *d = realloc(b->cids, b->cids_cap * 2 * sizeof *d);
        if (!d) return;
        b->cids = d;
        b->cids_cap *= 2;
    }
    uint32_t i = (uint32_t)h & (CACHE_SLOTS - 1);
    while (b->cslots[i].n_ids) i = (i + 1) & (CACHE_SLOTS - 1);
    cache_slot *s = &b->cslots[i];
    s->hash = h;
    s->key_off = (uint32_t)b->ckeys_len;
    s->key_len = (uint16_t)n;
    s->ids_off = (uint32_t)b->cids_len;
    s->n_ids = (uint16_t)n_ids;
    memcpy(b->ckeys + b->ckeys_len, w, n);
    memcpy(b->cids + b->cids_len, ids, n_ids * sizeof *ids);
    b->ckeys_len += n;
    b->cids_len += n_ids;
    b->centries++;
}

/* ------------------------------------------------------------------------------------------ */
/* BPE on one pre-tokenized piece                                                              */

static inline void heap_push(uint64_t *heap, size_t *n, uint64_t v) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (heap[parent] <= v) break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = v;
}

/* Put v at hole i of a heap of `size` entries, moving smaller children up past it. */
static inline void heap_sift_down(uint64_t *heap, size_t size, size_t i, uint64_t v) {
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= size) break;
        if (c + 1 < size && heap[c + 1] < heap[c]) c++;
        if (heap[c] >= v) break;
        heap[i] = heap[c];
        i = c;
    }
    heap[i] = v;
}

static inline uint64_t heap_pop(uint64_t *heap, size_t *n) {
    uint64_t top = heap[0], last = heap[--(*n)];
    if (*n) heap_sift_down(heap, *n, 0, last);
    return top;
}

/* The merge scratch for an n-byte word: symbols, links, and heap + pending of up to 3 entries a byte. */
static int grow_word_scratch(sg_bpe *b, size_t n) {
    void *arrays[5] = {b->sym, b->nxt, b->prv, b->heap, b->pend};
    const size_t elems[5] = {sizeof *b->sym, sizeof *b->nxt, sizeof *b->prv, 3 * sizeof *b->heap, 3 * sizeof *b->pend};
    int rc = sg_grow_parallel(arrays, elems, 5, &b->wcap, n, 64);
    b->sym = arrays[0], b->nxt = arrays[1], b->prv = arrays[2], b->heap = arrays[3], b->pend = arrays[4];
    return rc ? sg_fail("out of memory tokenizing a %zu-byte word", n) : 0;
}

#define HEAP_ENTRY(rank, pos) (((uint64_t)(uint32_t)(rank) << 32) | (uint32_t)(pos))

/* Python's loop takes the lowest-ranked pair present and merges all its occurrences left to
 * right, then looks again. The heap pops (rank, position) in that order; pairs created while
 * one rank is being merged wait in `pend` until that rank is done, so a merges file whose
 * ranks are not in creation order still gives Python's result. */
static int bpe_word(sg_bpe *b, const unsigned char *w, size_t n, sg_ids *out) {
    const bpe_model *m = b->m;
    if (grow_word_scratch(b, n) != 0 || sg_ids_reserve(out, out->len + n) != 0) return -1;
    int32_t *sym = b->sym, *nxt = b->nxt, *prv = b->prv;
    uint64_t *heap = b->heap, *pend = b->pend;
    size_t nheap = 0;
    for (size_t i = 0; i < n; i++) {
        sym[i] = m->byte_sym[w[i]];
        nxt[i] = i + 1 < n ? (int32_t)(i + 1) : -1;
        prv[i] = (int32_t)i - 1;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        const merge_slot *ms = bpe_merge_find(m, sym[i], sym[i + 1]);
        if (ms) heap[nheap++] = HEAP_ENTRY(ms->rank, i);
    }
    /* heapify (bottom-up) */
    for (size_t k = nheap / 2; k-- > 0;) heap_sift_down(heap, nheap, k, heap[k]);
    while (nheap) {
        uint32_t rank = (uint32_t)(heap[0] >> 32);
        size_t npend = 0;
        while (nheap && (uint32_t)(heap[0] >> 32) == rank) {
            int32_t i = (int32_t)(uint32_t)heap_pop(heap, &nheap);
            if (sym[i] < 0) continue; /* merged into its left neighbour */
            int32_t j = nxt[i];
            if (j < 0) continue;
            const merge_slot *ms = bpe_merge_find(m, sym[i], sym[j]);
            if (!ms || (uint32_t)ms->rank != rank) continue; /* the pair changed since */
            sym[i] = ms->merged;
            sym[j] = -1;
            nxt[i] = nxt[j];
            if (nxt[j] >= 0) prv[nxt[j]] = i;
            if (prv[i] >= 0 && (ms = bpe_merge_find(m, sym[prv[i]], sym[i])))
                pend[npend++] = HEAP_ENTRY(ms->rank, prv[i]);
            if (nxt[i] >= 0 && (ms = bpe_merge_find(m, sym[i], sym[nxt[i]])))
                pend[npend++] = HEAP_ENTRY(ms->rank, i);
        }
        for (size_t k = 0; k < npend; k++) heap_push(heap, &nheap, pend[k]);
    }
    int32_t *dst = out->data + out->len;
    size_t k = 0;
    for (int32_t i = 0; i >= 0; i = nxt[i]) {
        int32_t id = m->syms.vocab_id[sym[i]];
        dst[k++] = id >= 0 ? id : m->sp.unk;
    }
    out->len += k;
    return 0;
}

static inline int encode_piece(sg_bpe *b, const unsigned char *w, size_t n, sg_ids *out) {
    uint64_t h = 0;
    if (n <= CACHE_MAX_WORD) {
        h = bpe_hash_bytes(w, n);
        size_t n_ids;
        const int32_t *ids = cache_get(b, w, n, h, &n_ids);
        if (ids) {
            if (sg_ids_reserve(out, out->len + n_ids) != 0) return -1;
            memcpy(out->data + out->len, ids, n_ids * sizeof *ids);
            out->len += n_ids;
            return 0;
        }
    }
    size_t start = out->len;
    if (bpe_word(b, w, n, out) != 0) return -1;
    if (n <= CACHE_MAX_WORD) cache_put(b, w, n, h, out->data + start, out->len - start);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* UTF-8 repair (Python's errors="replace": one U+FFFD per maximal invalid subpart)            */

/* Length of the valid sequence at s (1..4), or 0 with *bad = bytes of the invalid subpart. */
static inline size_t utf8_seq(const unsigned char *s, size_t n, size_t *bad) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t need;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F; /* <= U+10FFFF */
    } else {
        *bad = 1;
        return 0;
    }
    if (n < 2 || s[1] < lo || s[1] > hi) {
        *bad = 1;
        return 0;
    }
    for (size_t k = 2; k < need; k++) {
        if (k >= n || (s[k] & 0xC0) != 0x80) {
            *bad = k;
            return 0;
        }
    }
    return need;
}

static size_t utf8_valid_prefix(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        if (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (!(w & 0x8080808080808080ULL)) {
                i += 8;
                continue;
            }
        }
        size_t bad, k = utf8_seq(s + i, n - i, &bad);
        if (!k) return i;
        i += k;
    }
    return n;
}

static const char *utf8_repair(sg_bpe *b, const unsigned char *s, size_t n, size_t valid, size_t *n_out) {
    if (3 * n > b->clean_cap) {
        char *c = realloc(b->clean, 3 * n);
        if (!c) {
            sg_fail("out of memory repairing %zu bytes of invalid UTF-8", n);
            return NULL;
        }
        b->clean = c;
        b->clean_cap = 3 * n;
    }
    memcpy(b->clean, s, valid);
    size_t o = valid;
    for (size_t i = valid; i < n;) {
        size_t bad, k = utf8_seq(s + i, n - i, &bad);
        if (k) {
            memcpy(b->clean + o, s + i, k);
            o += k;
            i += k;
        } else {
            memcpy(b->clean + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i += bad;
        }
    }
    *n_out = o;
    return b->clean;
}

/* ------------------------------------------------------------------------------------------ */
/* Encode / decode                                                                             */

int sg_bpe_encode(sg_bpe *b, const char *text, size_t len, sg_ids *out) {
    if (len > MAX_TEXT_BYTES) return sg_fail("text of %zu bytes is too long to tokenize (limit 1 GiB)", len);
    const unsigned char *s = (const unsigned char *)text;
    size_t valid = utf8_valid_prefix(s, len);
    if (valid < len && !(s = (const unsigned char *)utf8_repair(b, s, len, valid, &len))) return -1;
    const bpe_model *m = b->m;
    PCRE2_SIZE start = 0;
    while (start < len) {
        int rc = m->jit ? pcre2_jit_match(m->re, s, len, start, 0, b->md, NULL)
                        : pcre2_match(m->re, s, len, start, PCRE2_NO_UTF_CHECK, b->md, NULL);
        if (rc < 0 && rc != PCRE2_ERROR_NOMATCH && m->jit) /* e.g. JIT stack: the interpreter */
            rc = pcre2_match(m->re, s, len, start, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, b->md, NULL);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return sg_fail("pre-tokenizer failed at byte %zu: %s", (size_t)start, (char *)msg);
        }
        const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(b->md);
        if (ov[1] <= ov[0]) { /* no alternative matches empty; step one character to be safe */
            start = ov[0] + 1;
            while (start < len && (s[start] & 0xC0) == 0x80) start++;
            continue;
        }
        if (encode_piece(b, s + ov[0], ov[1] - ov[0], out) != 0) return -1;
        start = ov[1];
    }
    return 0;
}

char *sg_bpe_decode(const sg_bpe *b, const int32_t *ids, size_t n, size_t *len_out) {
    const bpe_model *m = b->m;
    size_t cap = 64, len = 0;
    char *s = malloc(cap);
    if (!s) goto oom;
    for (size_t k = 0; k < n; k++) {
        int32_t id = ids[k];
        if (id < 0 || id >= m->vocab_size || m->id_sym[id] < 0) {
            free(s);
            sg_fail("token id %d is not in the vocab (size %d)", (int)id, (int)m->vocab_size);
            return NULL;
        }
        if (id == m->sp.bos || id == m->sp.pad || id == m->sp.eos || id == m->sp.unk || id == m->sp.mask)
            continue;
        int32_t sym = m->id_sym[id];
        const unsigned char *t = (const unsigned char *)m->syms.pool + m->syms.off[sym];
        size_t tl = m->syms.len[sym];
        if (len + tl + 1 > cap) {
            while (len + tl + 1 > cap) cap *= 2;
            char *bigger = realloc(s, cap);
            if (!bigger) goto oom;
            s = bigger;
        }
        for (size_t i = 0; i < tl;) { /* each printable character back to its byte */
            size_t bad, q = utf8_seq(t + i, tl - i, &bad);
            uint32_t cp = UINT32_MAX; /* byte symbols are 1- or 2-byte characters */
            if (q == 1) cp = t[i];
            if (q == 2) cp = ((uint32_t)(t[i] & 0x1F) << 6) | (t[i + 1] & 0x3F);
            if (!q) q = bad;
            if (cp < 324 && m->cp_byte[cp] >= 0) {
                s[len++] = (char)m->cp_byte[cp];
            } else { /* not a byte symbol: keep the character as it is */
                memcpy(s + len, t + i, q);
                len += q;
            }
            i += q;
        }
    }
    s[len] = '\0';
    if (len_out) *len_out = len;
    return s;
oom:
    free(s);
    sg_fail("out of memory decoding %zu ids", n);
    return NULL;
}
