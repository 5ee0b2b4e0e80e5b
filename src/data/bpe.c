/* Byte-level BPE exactly as GPT-2 / RoBERTa (HF RobertaTokenizer):
 *   1. invalid UTF-8 -> U+FFFD (Python's errors="replace"),
 *   2. GPT-2 pre-tokenization with PCRE2 (UTF + UCP),
 *   3. each piece's bytes -> GPT-2's printable "byte-to-unicode" symbols,
 *   4. merges applied by rank, the lowest-ranked adjacent pair first, every occurrence of it
 *      left to right (Python's loop), here with a heap so long words stay O(n log n),
 *   5. symbols -> vocab ids (<unk> for a symbol the vocab lacks).
 * Words go through a bounded per-handle cache (most words repeat).
 *
 * Strings are interned: every vocab token, merge part, merge result and byte symbol gets a
 * dense "symbol" number, so merging works on integer pairs. The tables (bpe_model) are
 * read-only after loading and shared by clones; a handle (sg_bpe) holds the mutable parts. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "data/tokenizer.h"

#include "core/error.h"
#include "core/fileio.h"
#include "core/quote.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pcre2.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* GPT-2's pattern is
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * PCRE2's \s under UCP also matches U+180E, which Unicode's White_Space (the \s of Python's
 * regex module, hence of RobertaTokenizer) does not: \s is spelled out as White_Space. */
#define WS "\\t-\\r\\x20\\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}"
static const char GPT2_PATTERN[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" WS
                                   "\\p{L}\\p{N}]+|[" WS "]+(?![^" WS "])|[" WS "]+";

enum {
    MAX_VOCAB_ID = 1 << 24,   /* refuse absurd ids rather than allocate for them */
    CACHE_SLOTS = 1 << 16,    /* open addressing, power of two (1.5 MB per handle) */
    CACHE_MAX_ENTRIES = 1 << 15, /* then emptied: enough for the 22k distinct words of SST-2 */
    CACHE_MAX_WORD = 128,     /* longer pieces are rare: not cached */
};
#define MAX_TEXT_BYTES ((size_t)1 << 30)

/* ------------------------------------------------------------------------------------------ */
/* Hashing                                                                                     */

static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    return x;
}

static inline uint64_t hash_bytes(const unsigned char *p, size_t n) {
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
    return mix64(h);
}

/* ------------------------------------------------------------------------------------------ */
/* Symbol table: bytes -> dense symbol number                                                  */

typedef struct {
    char *pool; /* all strings, each NUL-terminated */
    size_t pool_len, pool_cap;
    uint32_t *off, *len;
    int32_t *vocab_id; /* -1: not in the vocab */
    uint32_t n, cap;
    uint32_t *slots; /* symbol + 1; 0 = empty */
    uint32_t nslots;
} symtab;

static void symtab_free(symtab *st) {
    free(st->pool);
    free(st->off);
    free(st->len);
    free(st->vocab_id);
    free(st->slots);
    memset(st, 0, sizeof *st);
}

static int32_t symtab_find(const symtab *st, const char *s, size_t n) {
    if (!st->nslots) return -1;
    uint32_t mask = st->nslots - 1;
    for (uint32_t i = (uint32_t)hash_bytes((const unsigned char *)s, n) & mask;; i = (i + 1) & mask) {
        uint32_t v = st->slots[i];
        if (!v) return -1;
        uint32_t sym = v - 1;
        if (st->len[sym] == n && memcmp(st->pool + st->off[sym], s, n) == 0) return (int32_t)sym;
    }
}

static int symtab_rehash(symtab *st, uint32_t nslots) {
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots) return -1;
    for (uint32_t sym = 0; sym < st->n; sym++) {
        uint32_t i = (uint32_t)hash_bytes((const unsigned char *)st->pool + st->off[sym], st->len[sym]) &
                     (nslots - 1);
        while (slots[i]) i = (i + 1) & (nslots - 1);
        slots[i] = sym + 1;
    }
    free(st->slots);
    st->slots = slots;
    st->nslots = nslots;
    return 0;
}

/* The symbol for s[0..n), added if new; -1 when out of memory. */
static int32_t symtab_intern(symtab *st, const char *s, size_t n) {
    int32_t found = symtab_find(st, s, n);
    if (found >= 0) return found;
    if (n > UINT32_MAX / 2 || st->n >= (uint32_t)INT32_MAX - 1) return -1;
    if ((st->n + 1) * 2 > st->nslots && symtab_rehash(st, st->nslots ? st->nslots * 2 : 1024) != 0)
        return -1;
    if (st->n == st->cap) {
        uint32_t cap = st->cap ? st->cap * 2 : 1024;
        uint32_t *off = realloc(st->off, cap * sizeof *off);
        if (off) st->off = off;
        uint32_t *len = realloc(st->len, cap * sizeof *len);
        if (len) st->len = len;
        int32_t *vid = realloc(st->vocab_id, cap * sizeof *vid);
        if (vid) st->vocab_id = vid;
        if (!off || !len || !vid) return -1;
        st->cap = cap;
    }
    if (st->pool_len + n + 1 > st->pool_cap) {
        size_t cap = st->pool_cap ? st->pool_cap : 1 << 16;
        while (cap < st->pool_len + n + 1) cap *= 2;
        if (cap > UINT32_MAX) return -1;
        char *pool = realloc(st->pool, cap);
        if (!pool) return -1;
        st->pool = pool;
        st->pool_cap = cap;
    }
    uint32_t sym = st->n++;
    st->off[sym] = (uint32_t)st->pool_len;
    st->len[sym] = (uint32_t)n;
    st->vocab_id[sym] = -1;
    memcpy(st->pool + st->pool_len, s, n);
    st->pool[st->pool_len + n] = '\0';
    st->pool_len += n + 1;
    uint32_t mask = st->nslots - 1;
    uint32_t i = (uint32_t)hash_bytes((const unsigned char *)s, n) & mask;
    while (st->slots[i]) i = (i + 1) & mask;
    st->slots[i] = sym + 1;
    return (int32_t)sym;
}

/* ------------------------------------------------------------------------------------------ */
/* The shared model                                                                            */

typedef struct {
    uint64_t key; /* (left symbol << 32) | right symbol; EMPTY_KEY when free */
    int32_t rank, merged;
} merge_slot;
#define EMPTY_KEY UINT64_MAX

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

static inline uint32_t merge_home(const bpe_model *m, uint64_t key) {
    return (uint32_t)((key * 0x9E3779B97F4A7C15ULL) >> (64 - m->merge_bits));
}

static inline const merge_slot *merge_find(const bpe_model *m, int32_t a, int32_t b) {
    uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    uint32_t mask = (1u << m->merge_bits) - 1;
    for (uint32_t i = merge_home(m, key);; i = (i + 1) & mask) {
        const merge_slot *s = &m->merges[i];
        if (s->key == key) return s;
        if (s->key == EMPTY_KEY) return NULL;
    }
}

/* A repeated merge line takes the later rank, as Python's dict(zip(merges, range(n))). */
static void merge_put(bpe_model *m, int32_t a, int32_t b, int32_t rank, int32_t merged) {
    uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    uint32_t mask = (1u << m->merge_bits) - 1;
    uint32_t i = merge_home(m, key);
    while (m->merges[i].key != EMPTY_KEY && m->merges[i].key != key) i = (i + 1) & mask;
    m->merges[i].key = key;
    m->merges[i].rank = rank;
    m->merges[i].merged = merged;
}

static void model_free(bpe_model *m) {
    if (!m) return;
    symtab_free(&m->syms);
    free(m->merges);
    free(m->id_sym);
    pcre2_code_free(m->re);
    free(m);
}

static int utf8_put(char *o, uint32_t c) {
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xC0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

/* GPT-2's bytes_to_unicode(): printable Latin-1 bytes stand for themselves, the other bytes
 * take code points 256, 257, ... in byte order. */
static uint32_t byte_codepoint(int b) {
    if ((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) return (uint32_t)b;
    uint32_t n = 0;
    for (int x = 0; x < b; x++)
        if (!((x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF))) n++;
    return 256 + n;
}

/* vocab.json (JSON object token -> id) from memory; `path` names it in messages. */
static int load_vocab(bpe_model *m, const char *text, size_t len, const char *path) {
    if (len == 0) return sg_fail("%s: empty file (expected a JSON object mapping tokens to ids)", path);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!root) {
        int line = 1;
        if (end && end >= text && end <= text + len)
            for (const char *p = text; p < end; p++) line += *p == '\n';
        return sg_fail("%s:%d: malformed JSON", path, line);
    }
    int rc = 0;
    int32_t max_id = -1;
    char q1[SG_QUOTE_BUF], q2[SG_QUOTE_BUF]; /* tokens come from the file: quoted excerpts */
    if (!cJSON_IsObject(root)) {
        rc = sg_fail("%s: expected a JSON object mapping tokens to ids", path);
        goto done;
    }
    for (cJSON *it = root->child; it; it = it->next) {
        double v = it->valuedouble;
        if (!cJSON_IsNumber(it) || !(v >= 0 && v < MAX_VOCAB_ID) || v != (double)(int32_t)v) {
            rc = sg_fail("%s: token %s: id %s (expected an integer in [0, %d))", path,
                         sg_quote(q1, sizeof q1, it->string, strlen(it->string), SG_QUOTE_EXCERPT),
                         cJSON_IsNumber(it) ? "out of range or not an integer" : "is not a number", MAX_VOCAB_ID);
            goto done;
        }
        int32_t sym = symtab_intern(&m->syms, it->string, strlen(it->string));
        if (sym < 0) {
            rc = sg_fail("%s: out of memory", path);
            goto done;
        }
        if (m->syms.vocab_id[sym] >= 0) {
            rc = sg_fail("%s: token %s appears twice", path,
                         sg_quote(q1, sizeof q1, it->string, strlen(it->string), SG_QUOTE_EXCERPT));
            goto done;
        }
        m->syms.vocab_id[sym] = (int32_t)v;
        if ((int32_t)v > max_id) max_id = (int32_t)v;
    }
    if (max_id < 0) {
        rc = sg_fail("%s: empty vocab", path);
        goto done;
    }
    m->vocab_size = max_id + 1;
    m->id_sym = malloc((size_t)m->vocab_size * sizeof *m->id_sym);
    if (!m->id_sym) {
        rc = sg_fail("%s: out of memory", path);
        goto done;
    }
    for (int32_t i = 0; i < m->vocab_size; i++) m->id_sym[i] = -1;
    for (uint32_t sym = 0; sym < m->syms.n; sym++) {
        int32_t id = m->syms.vocab_id[sym];
        if (id < 0) continue;
        if (m->id_sym[id] >= 0) {
            const char *a = m->syms.pool + m->syms.off[m->id_sym[id]], *b = m->syms.pool + m->syms.off[sym];
            rc = sg_fail("%s: id %d is used by both %s and %s", path, (int)id,
                         sg_quote(q1, sizeof q1, a, strlen(a), SG_QUOTE_EXCERPT),
                         sg_quote(q2, sizeof q2, b, strlen(b), SG_QUOTE_EXCERPT));
            goto done;
        }
        m->id_sym[id] = (int32_t)sym;
    }
    const char *names[5] = {"<s>", "<pad>", "</s>", "<unk>", "<mask>"};
    int32_t *slots[5] = {&m->sp.bos, &m->sp.pad, &m->sp.eos, &m->sp.unk, &m->sp.mask};
    for (int k = 0; k < 5; k++) {
        int32_t sym = symtab_find(&m->syms, names[k], strlen(names[k]));
        *slots[k] = sym >= 0 ? m->syms.vocab_id[sym] : -1;
        if (*slots[k] < 0 && k < 4) {
            rc = sg_fail("%s: missing special token '%s'", path, names[k]);
            goto done;
        }
    }
done:
    cJSON_Delete(root);
    return rc;
}

static int is_field_space(char c) { return c == ' ' || c == '\t' || c == '\v' || c == '\f'; }

/* merges.txt (one "left right" pair per line, rank = order) from memory. */
static int load_merges(bpe_model *m, const char *text, size_t len, const char *path) {
    size_t lines = 1;
    for (size_t i = 0; i < len; i++) lines += text[i] == '\n';
    m->merge_bits = 4;
    while (((size_t)1 << m->merge_bits) < 2 * lines) m->merge_bits++;
    if (m->merge_bits > 31 || !(m->merges = malloc(((size_t)1 << m->merge_bits) * sizeof *m->merges)))
        return sg_fail("%s: out of memory", path);
    for (size_t i = 0; i < ((size_t)1 << m->merge_bits); i++) m->merges[i].key = EMPTY_KEY;

    char *joined = NULL;
    size_t joined_cap = 0;
    int rc = 0, lineno = 0;
    int32_t rank = 0;
    for (const char *line = text; line < text + len && rc == 0;) {
        const char *nl = memchr(line, '\n', (size_t)(text + len - line));
        const char *eol = nl ? nl : text + len;
        const char *next = nl ? nl + 1 : text + len;
        lineno++;
        if (eol > line && eol[-1] == '\r') eol--;
        if (lineno == 1 && (size_t)(eol - line) >= 8 && memcmp(line, "#version", 8) == 0) {
            line = next;
            continue;
        }
        /* split into fields as Python's str.split() does for these (ASCII) lines */
        const char *field[3];
        size_t flen[3];
        int nf = 0;
        for (const char *p = line; p < eol;) {
            while (p < eol && is_field_space(*p)) p++;
            if (p == eol) break;
            const char *start = p;
            while (p < eol && !is_field_space(*p)) p++;
            if (nf < 3) {
                field[nf] = start;
                flen[nf] = (size_t)(p - start);
            }
            nf++;
        }
        line = next;
        if (nf == 0) continue; /* blank line */
        if (nf != 2) {
            rc = sg_fail("%s:%d: malformed merge (expected two space-separated tokens, got %d)", path,
                         lineno, nf);
            break;
        }
        if (flen[0] + flen[1] > joined_cap) {
            joined_cap = 2 * (flen[0] + flen[1]);
            char *j = realloc(joined, joined_cap);
            if (!j) {
                rc = sg_fail("%s: out of memory", path);
                break;
            }
            joined = j;
        }
        memcpy(joined, field[0], flen[0]);
        memcpy(joined + flen[0], field[1], flen[1]);
        int32_t a = symtab_intern(&m->syms, field[0], flen[0]);
        int32_t b = a < 0 ? -1 : symtab_intern(&m->syms, field[1], flen[1]);
        int32_t ab = b < 0 ? -1 : symtab_intern(&m->syms, joined, flen[0] + flen[1]);
        if (ab < 0) {
            rc = sg_fail("%s: out of memory", path);
            break;
        }
        merge_put(m, a, b, rank++, ab);
    }
    free(joined);
    return rc;
}

static int compile_pattern(bpe_model *m) {
    int err;
    PCRE2_SIZE off;
    m->re = pcre2_compile((PCRE2_SPTR)GPT2_PATTERN, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &err,
                          &off, NULL);
    if (!m->re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        return sg_fail("pre-tokenizer pattern does not compile at %zu: %s", (size_t)off, (char *)msg);
    }
    m->jit = pcre2_jit_compile(m->re, PCRE2_JIT_COMPLETE) == 0; /* else the interpreter */
    return 0;
}

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

/* The tables from the two files' contents; NULL + sg_fail on error. */
static sg_bpe *bpe_from_text(const char *vocab, size_t vocab_len, const char *vocab_name, const char *merges,
                             size_t merges_len, const char *merges_name) {
    bpe_model *m = calloc(1, sizeof *m);
    if (!m) {
        sg_fail("out of memory loading %s", vocab_name);
        return NULL;
    }
    atomic_init(&m->refs, 1);
    if (load_vocab(m, vocab, vocab_len, vocab_name) != 0 || load_merges(m, merges, merges_len, merges_name) != 0 ||
        compile_pattern(m) != 0) {
        model_free(m);
        return NULL;
    }
    for (int i = 0; i < 324; i++) m->cp_byte[i] = -1;
    for (int byte = 0; byte < 256; byte++) {
        char u[4];
        uint32_t cp = byte_codepoint(byte);
        m->cp_byte[cp] = (int16_t)byte;
        if ((m->byte_sym[byte] = symtab_intern(&m->syms, u, (size_t)utf8_put(u, cp))) < 0) {
            model_free(m);
            sg_fail("out of memory loading %s", vocab_name);
            return NULL;
        }
    }
    sg_bpe *b = handle_new(m);
    if (!b) {
        model_free(m);
        sg_fail("out of memory loading %s", vocab_name);
        return NULL;
    }
    return b;
}

sg_bpe *sg_bpe_load_memory(const char *vocab_json, size_t vocab_len, const char *merges_txt, size_t merges_len,
                           const char *name) {
    char vocab_name[4096], merges_name[4096];
    snprintf(vocab_name, sizeof vocab_name, "%.4000s/vocab.json", name);
    snprintf(merges_name, sizeof merges_name, "%.4000s/merges.txt", name);
    if (vocab_len > SG_TOKENIZER_MAX_FILE_BYTES || merges_len > SG_TOKENIZER_MAX_FILE_BYTES) {
        sg_fail("%s: more than the %zu bytes allowed", vocab_len > SG_TOKENIZER_MAX_FILE_BYTES ? vocab_name : merges_name,
                (size_t)SG_TOKENIZER_MAX_FILE_BYTES);
        return NULL;
    }
    return bpe_from_text(vocab_json, vocab_len, vocab_name, merges_txt, merges_len, merges_name);
}

sg_bpe *sg_bpe_load(const char *dir) {
    char vocab_path[4096], merges_path[4096];
    int n1 = snprintf(vocab_path, sizeof vocab_path, "%s/vocab.json", dir);
    int n2 = snprintf(merges_path, sizeof merges_path, "%s/merges.txt", dir);
    if (n1 < 0 || n2 < 0 || (size_t)n2 >= sizeof merges_path) {
        sg_fail("tokenizer directory path too long: %.100s...", dir);
        return NULL;
    }
    if (sg_require_dir(dir, "a tokenizer directory with vocab.json and merges.txt") ||
        sg_require_file(vocab_path, "a tokenizer directory needs vocab.json and merges.txt") ||
        sg_require_file(merges_path, "vocab.json without merges.txt is not a usable BPE tokenizer"))
        return NULL;
    size_t vocab_len = 0, merges_len = 0;
    char *vocab = sg_read_file(vocab_path, SG_TOKENIZER_MAX_FILE_BYTES, &vocab_len);
    char *merges = vocab ? sg_read_file(merges_path, SG_TOKENIZER_MAX_FILE_BYTES, &merges_len) : NULL;
    sg_bpe *b = merges ? bpe_from_text(vocab, vocab_len, vocab_path, merges, merges_len, merges_path) : NULL;
    free(vocab);
    free(merges);
    return b;
}

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
    if (atomic_fetch_sub(&b->m->refs, 1) == 1) model_free(b->m);
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
    int32_t sym = symtab_find(&b->m->syms, token, strlen(token));
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

static inline uint64_t heap_pop(uint64_t *heap, size_t *n) {
    uint64_t top = heap[0], last = heap[--(*n)];
    size_t i = 0, size = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= size) break;
        if (c + 1 < size && heap[c + 1] < heap[c]) c++;
        if (heap[c] >= last) break;
        heap[i] = heap[c];
        i = c;
    }
    if (size) heap[i] = last;
    return top;
}

static int grow_word_scratch(sg_bpe *b, size_t n) {
    if (n <= b->wcap) return 0;
    size_t cap = b->wcap ? b->wcap : 64;
    while (cap < n) cap *= 2;
    int32_t *sym = realloc(b->sym, cap * sizeof *sym);
    if (sym) b->sym = sym;
    int32_t *nxt = realloc(b->nxt, cap * sizeof *nxt);
    if (nxt) b->nxt = nxt;
    int32_t *prv = realloc(b->prv, cap * sizeof *prv);
    if (prv) b->prv = prv;
    uint64_t *heap = realloc(b->heap, 3 * cap * sizeof *heap);
    if (heap) b->heap = heap;
    uint64_t *pend = realloc(b->pend, 3 * cap * sizeof *pend);
    if (pend) b->pend = pend;
    if (!sym || !nxt || !prv || !heap || !pend) return sg_fail("out of memory tokenizing a %zu-byte word", n);
    b->wcap = cap;
    return 0;
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
        const merge_slot *ms = merge_find(m, sym[i], sym[i + 1]);
        if (ms) heap[nheap++] = HEAP_ENTRY(ms->rank, i);
    }
    /* heapify (bottom-up) */
    for (size_t k = nheap / 2; k-- > 0;) {
        uint64_t v = heap[k];
        size_t i = k;
        for (;;) {
            size_t c = 2 * i + 1;
            if (c >= nheap) break;
            if (c + 1 < nheap && heap[c + 1] < heap[c]) c++;
            if (heap[c] >= v) break;
            heap[i] = heap[c];
            i = c;
        }
        heap[i] = v;
    }
    while (nheap) {
        uint32_t rank = (uint32_t)(heap[0] >> 32);
        size_t npend = 0;
        while (nheap && (uint32_t)(heap[0] >> 32) == rank) {
            int32_t i = (int32_t)(uint32_t)heap_pop(heap, &nheap);
            if (sym[i] < 0) continue; /* merged into its left neighbour */
            int32_t j = nxt[i];
            if (j < 0) continue;
            const merge_slot *ms = merge_find(m, sym[i], sym[j]);
            if (!ms || (uint32_t)ms->rank != rank) continue; /* the pair changed since */
            sym[i] = ms->merged;
            sym[j] = -1;
            nxt[i] = nxt[j];
            if (nxt[j] >= 0) prv[nxt[j]] = i;
            if (prv[i] >= 0 && (ms = merge_find(m, sym[prv[i]], sym[i])))
                pend[npend++] = HEAP_ENTRY(ms->rank, prv[i]);
            if (nxt[i] >= 0 && (ms = merge_find(m, sym[i], sym[nxt[i]])))
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
        h = hash_bytes(w, n);
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
