/* Reading byte-level BPE's tables (bpe_model.h): vocab.json (token -> id), merges.txt (one
 * "left right" pair per line, rank = order), GPT-2's byte-to-unicode symbols and its
 * pre-tokenization pattern. The merging itself is bpe.c's. */
#include "data/bpe_model.h"

#include "core/error.h"
#include "core/fileio.h"
#include "core/grow.h"
#include "core/quote.h"
#include "data/bpe.h"

#include <cjson/cJSON.h>
#include <errno.h>
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

enum { MAX_VOCAB_ID = 1 << 24 }; /* refuse absurd ids rather than allocate for them */

/* ---- symbol table ---- */

static void symtab_free(symtab *st) {
    free(st->pool);
    free(st->off);
    free(st->len);
    free(st->vocab_id);
    free(st->slots);
    memset(st, 0, sizeof *st);
}

int32_t bpe_symtab_find(const symtab *st, const char *s, size_t n) {
    if (!st->nslots) return -1;
    uint32_t mask = st->nslots - 1;
    for (uint32_t i = (uint32_t)bpe_hash_bytes((const unsigned char *)s, n) & mask;; i = (i + 1) & mask) {
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
        uint32_t i = (uint32_t)bpe_hash_bytes((const unsigned char *)st->pool + st->off[sym], st->len[sym]) &
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
    int32_t found = bpe_symtab_find(st, s, n);
    if (found >= 0) return found;
    if (n > UINT32_MAX / 2 || st->n >= (uint32_t)INT32_MAX - 1) return -1;
    if ((st->n + 1) * 2 > st->nslots && symtab_rehash(st, st->nslots ? st->nslots * 2 : 1024) != 0)
        return -1;
    if (st->n == st->cap) { /* st->n < INT32_MAX: the doubled capacity fits in 32 bits */
        void *arrays[3] = {st->off, st->len, st->vocab_id};
        const size_t elems[3] = {sizeof *st->off, sizeof *st->len, sizeof *st->vocab_id};
        size_t cap = st->cap;
        int rc = sg_grow_parallel(arrays, elems, 3, &cap, (size_t)st->n + 1, 1024);
        st->off = arrays[0], st->len = arrays[1], st->vocab_id = arrays[2];
        if (rc) return -1;
        st->cap = (uint32_t)cap;
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
    uint32_t i = (uint32_t)bpe_hash_bytes((const unsigned char *)s, n) & mask;
    while (st->slots[i]) i = (i + 1) & mask;
    st->slots[i] = sym + 1;
    return (int32_t)sym;
}

/* ---- the tables ---- */

/* A repeated merge line takes the later rank, as Python's dict(zip(merges, range(n))). */
static void merge_put(bpe_model *m, int32_t a, int32_t b, int32_t rank, int32_t merged) {
    uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    uint32_t mask = (1u << m->merge_bits) - 1;
    uint32_t i = bpe_merge_home(m, key);
    while (m->merges[i].key != BPE_EMPTY_KEY && m->merges[i].key != key) i = (i + 1) & mask;
    m->merges[i].key = key;
    m->merges[i].rank = rank;
    m->merges[i].merged = merged;
}

void bpe_model_free(bpe_model *m) {
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
        int32_t sym = bpe_symtab_find(&m->syms, names[k], strlen(names[k]));
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
    for (size_t i = 0; i < ((size_t)1 << m->merge_bits); i++) m->merges[i].key = BPE_EMPTY_KEY;

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

/* ---- loading ---- */

/* The tables from the two files' contents; NULL + sg_fail on error. */
static bpe_model *model_from_text(const char *vocab, size_t vocab_len, const char *vocab_name, const char *merges,
                             size_t merges_len, const char *merges_name) {
    bpe_model *m = calloc(1, sizeof *m);
    if (!m) {
        sg_fail("out of memory loading %s", vocab_name);
        return NULL;
    }
    atomic_init(&m->refs, 1);
    if (load_vocab(m, vocab, vocab_len, vocab_name) != 0 || load_merges(m, merges, merges_len, merges_name) != 0 ||
        compile_pattern(m) != 0) {
        bpe_model_free(m);
        return NULL;
    }
    for (int i = 0; i < 324; i++) m->cp_byte[i] = -1;
    for (int byte = 0; byte < 256; byte++) {
        char u[4];
        uint32_t cp = byte_codepoint(byte);
        m->cp_byte[cp] = (int16_t)byte;
        if ((m->byte_sym[byte] = symtab_intern(&m->syms, u, (size_t)utf8_put(u, cp))) < 0) {
            bpe_model_free(m);
            sg_fail("out of memory loading %s", vocab_name);
            return NULL;
        }
    }
    return m;
}

bpe_model *bpe_model_parse(const char *vocab_json, size_t vocab_len, const char *merges_txt, size_t merges_len,
                           const char *name) {
    char vocab_name[4096], merges_name[4096];
    snprintf(vocab_name, sizeof vocab_name, "%.4000s/vocab.json", name);
    snprintf(merges_name, sizeof merges_name, "%.4000s/merges.txt", name);
    if (vocab_len > SG_TOKENIZER_MAX_FILE_BYTES || merges_len > SG_TOKENIZER_MAX_FILE_BYTES) {
        sg_fail("%s: more than the %zu bytes allowed", vocab_len > SG_TOKENIZER_MAX_FILE_BYTES ? vocab_name : merges_name,
                (size_t)SG_TOKENIZER_MAX_FILE_BYTES);
        return NULL;
    }
    return model_from_text(vocab_json, vocab_len, vocab_name, merges_txt, merges_len, merges_name);
}

bpe_model *bpe_model_read(const char *dir) {
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
    bpe_model *m = merges ? model_from_text(vocab, vocab_len, vocab_path, merges, merges_len, merges_path) : NULL;
    free(vocab);
    free(merges);
    return m;
}

