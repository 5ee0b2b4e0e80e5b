/* Tokenizer: the built-in byte tokenizer, framing/truncation/padding, BPE merge semantics on a
 * small hand-built vocab, load errors, invalid UTF-8, clones across threads, and RoBERTa's real
 * files when ../shared is present (that part is skipped otherwise). The full id-for-id check
 * against a Python reference is tests/scripts/test_tokenizer_reference.sh. */
#include "core/error.h"
#include "data/tokenizer.h"
#include "testlib.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int ids_equal(const sg_ids *v, const int32_t *want, size_t n) {
    if (v->len != n) return 0;
    for (size_t i = 0; i < n; i++)
        if (v->data[i] != want[i]) return 0;
    return 1;
}

#define CHECK_IDS(v, ...) do { const int32_t want_[] = {__VA_ARGS__}; \
    CHECK_MSG(ids_equal((v), want_, sizeof want_ / sizeof want_[0]), "got %zu ids, first %d", (v)->len, \
              (v)->len ? (int)(v)->data[0] : -1); } while (0)

static void write_file(const char *dir, const char *name, const char *text) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static void remove_dir(const char *dir) {
    const char *names[] = {"vocab.json", "merges.txt"};
    char path[4200];
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

/* Loading `vocab` + `merges` (NULL: no file) must fail with a message containing `needle`. */
static void expect_load_error(const char *vocab, const char *merges, const char *needle) {
    const char *dir = sg_test_tmpdir();
    CHECK(dir != NULL);
    if (!dir) return;
    char d[4096];
    snprintf(d, sizeof d, "%s", dir);
    if (vocab) write_file(d, "vocab.json", vocab);
    if (merges) write_file(d, "merges.txt", merges);
    sg_clear_error();
    sg_tokenizer *t = sg_tokenizer_load(d);
    CHECK_MSG(t == NULL, "loaded although '%s' was expected", needle);
    CHECK_MSG(strstr(sg_last_error(), needle) != NULL, "error '%s' lacks '%s'", sg_last_error(), needle);
    sg_tokenizer_free(t);
    remove_dir(d);
}

static void test_builtin(void) {
    sg_tokenizer *t = sg_tokenizer_builtin();
    CHECK(t != NULL);
    sg_ids ids = {0};
    CHECK(sg_tokenizer_encode_framed(t, "", 0, "", 0, 0, &ids) == 0); /* fresh handle, empty texts */
    CHECK_IDS(&ids, 0, 2, 2, 2);
    CHECK(sg_tokenizer_is_builtin(t));
    CHECK(sg_tokenizer_vocab_size(t) == 261);
    sg_special_ids sp = sg_tokenizer_specials(t);
    CHECK(sp.bos == 0 && sp.pad == 1 && sp.eos == 2 && sp.unk == 3 && sp.mask == 260);
    CHECK(sg_tokenizer_token_id(t, "<mask>") == 260);
    CHECK(sg_tokenizer_token_id(t, "A") == 4 + 'A');

    /* every byte, NUL and invalid UTF-8 included, round-trips */
    char all[256];
    for (int i = 0; i < 256; i++) all[i] = (char)i;
    CHECK(sg_tokenizer_encode(t, all, 256, &ids) == 0);
    CHECK(ids.len == 256 && ids.data[0] == 4 && ids.data[255] == 259);
    size_t len = 0;
    char *back = sg_tokenizer_decode(t, ids.data, ids.len, &len);
    CHECK(back && len == 256 && memcmp(back, all, 256) == 0);
    free(back);

    /* framing: single, pair; decode skips the specials */
    CHECK(sg_tokenizer_encode_framed(t, "ab", 2, NULL, 0, 0, &ids) == 0);
    CHECK_IDS(&ids, 0, 4 + 'a', 4 + 'b', 2);
    back = sg_tokenizer_decode(t, ids.data, ids.len, NULL);
    CHECK(back && strcmp(back, "ab") == 0);
    free(back);
    CHECK(sg_tokenizer_encode_framed(t, "ab", 2, "c", 1, 0, &ids) == 0);
    CHECK_IDS(&ids, 0, 4 + 'a', 4 + 'b', 2, 2, 4 + 'c', 2);
    CHECK(sg_tokenizer_encode_framed(t, "", 0, "", 0, 0, &ids) == 0);
    CHECK_IDS(&ids, 0, 2, 2, 2);
    const int32_t bad = 261;
    CHECK(sg_tokenizer_decode(t, &bad, 1, NULL) == NULL);
    sg_ids_free(&ids);
    sg_tokenizer_free(t);
}

static void test_truncation_rule(void) {
    size_t a = 5, b = 3;
    sg_truncate_longest_first(&a, &b, 6); /* the longer loses first */
    CHECK(a == 3 && b == 3);
    a = 3, b = 3;
    sg_truncate_longest_first(&a, &b, 5); /* a tie takes from the pair */
    CHECK(a == 3 && b == 2);
    a = 3, b = 3;
    sg_truncate_longest_first(&a, &b, 4);
    CHECK(a == 2 && b == 2);
    a = 2, b = 9;
    sg_truncate_longest_first(&a, &b, 6);
    CHECK(a == 2 && b == 4);
    a = 10, b = 0;
    sg_truncate_longest_first(&a, &b, 4);
    CHECK(a == 4 && b == 0);
    a = 3, b = 1;
    sg_truncate_longest_first(&a, &b, 10); /* fits: untouched */
    CHECK(a == 3 && b == 1);
    a = 7;
    sg_truncate_longest_first(&a, NULL, 3);
    CHECK(a == 3);
}

static void test_framing_rows(void) {
    sg_tokenizer *t = sg_tokenizer_builtin();
    sg_ids ids = {0};
    /* truncation through the framer: budget 8 - 4 = 4 for "abcde" + "xyz" -> 2 + 2 */
    CHECK(sg_tokenizer_encode_framed(t, "abcde", 5, "xyz", 3, 8, &ids) == 0);
    CHECK_IDS(&ids, 0, 4 + 'a', 4 + 'b', 2, 2, 4 + 'x', 4 + 'y', 2);
    CHECK(sg_tokenizer_encode_framed(t, "abcde", 5, NULL, 0, 4, &ids) == 0);
    CHECK_IDS(&ids, 0, 4 + 'a', 4 + 'b', 2);
    CHECK(sg_tokenizer_encode_framed(t, "abcde", 5, "xyz", 3, 3, &ids) == -1); /* < 4 specials */
    CHECK(strstr(sg_last_error(), "max_seq_length 3") != NULL);
    CHECK(sg_tokenizer_encode_framed(t, "a", 1, NULL, 0, 1, &ids) == -1);

    int32_t row[8], mask[8];
    CHECK(sg_tokenizer_encode_row(t, "ab", 2, NULL, 0, 8, row, mask) == 4);
    const int32_t want_row[8] = {0, 4 + 'a', 4 + 'b', 2, 1, 1, 1, 1}, want_mask[8] = {1, 1, 1, 1, 0, 0, 0, 0};
    CHECK(memcmp(row, want_row, sizeof row) == 0 && memcmp(mask, want_mask, sizeof mask) == 0);
    CHECK(sg_tokenizer_encode_row(t, "abcdef", 6, "uvwxyz", 6, 8, row, mask) == 8); /* full, no pad */
    const int32_t want_full[8] = {0, 4 + 'a', 4 + 'b', 2, 2, 4 + 'u', 4 + 'v', 2};
    CHECK(memcmp(row, want_full, sizeof row) == 0);
    for (int i = 0; i < 8; i++) CHECK(mask[i] == 1);
    CHECK(sg_tokenizer_encode_row(t, "ab", 2, NULL, 0, 0, row, mask) == -1);
    sg_ids_free(&ids);
    sg_tokenizer_free(t);
}

/* A small byte-level BPE: Ġ is the space symbol. Ranks are line order (0 = "h e"). The
 * "aa a" merge (rank 9) ranks before the "a a" (rank 10) that creates "aa", which tells
 * Python's batch-per-rank loop apart from a plain priority queue. */
static const char SMALL_VOCAB[] =
    "{\"<s>\": 0, \"<pad>\": 1, \"</s>\": 2, \"<unk>\": 3, \"h\": 4, \"e\": 5, \"l\": 6, \"o\": 7,\n"
    " \"\\u0120\": 8, \"w\": 9, \"r\": 10, \"d\": 11, \"he\": 12, \"ll\": 13, \"hell\": 14, \"hello\": 15,\n"
    " \"\\u0120w\": 16, \"or\": 17, \"\\u0120wor\": 18, \"ld\": 19, \"\\u0120world\": 20, \"a\": 21,\n"
    " \"aa\": 22, \"b\": 23, \"c\": 24, \"bc\": 25, \"ab\": 26, \"<mask>\": 27, \"aaa\": 28}\n";
static const char SMALL_MERGES[] = "#version: 0.2\n"
                                   "h e\nl l\nhe ll\nhell o\n\xC4\xA0 w\no r\n\xC4\xA0w or\nl d\n"
                                   "\xC4\xA0wor ld\naa a\na a\nb c\na b\n";

static void test_small_bpe(void) {
    const char *tmp = sg_test_tmpdir();
    CHECK(tmp != NULL);
    if (!tmp) return;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", tmp);
    write_file(dir, "vocab.json", SMALL_VOCAB);
    write_file(dir, "merges.txt", SMALL_MERGES);
    sg_tokenizer *t = sg_tokenizer_open(dir);
    CHECK_MSG(t != NULL, "%s", sg_last_error());
    if (!t) {
        remove_dir(dir);
        return;
    }
    CHECK(!sg_tokenizer_is_builtin(t));
    CHECK(sg_tokenizer_vocab_size(t) == 29);
    sg_special_ids sp = sg_tokenizer_specials(t);
    CHECK(sp.bos == 0 && sp.pad == 1 && sp.eos == 2 && sp.unk == 3 && sp.mask == 27);
    CHECK(sg_tokenizer_token_id(t, "\xC4\xA0world") == 20);
    CHECK(sg_tokenizer_token_id(t, "zzz") == -1);

    sg_ids ids = {0};
    CHECK(sg_tokenizer_encode(t, "hello world", 11, &ids) == 0);
    CHECK_IDS(&ids, 15, 20);
    CHECK(sg_tokenizer_encode(t, "hello world", 11, &ids) == 0); /* again, from the cache */
    CHECK_IDS(&ids, 15, 20);
    CHECK(sg_tokenizer_encode(t, "abc", 3, &ids) == 0); /* "b c" ranks before "a b" */
    CHECK_IDS(&ids, 21, 25);
    CHECK(sg_tokenizer_encode(t, "abab", 4, &ids) == 0);
    CHECK_IDS(&ids, 26, 26);
    CHECK(sg_tokenizer_encode(t, "aaa", 3, &ids) == 0); /* a a -> aa a -> aaa */
    CHECK_IDS(&ids, 28);
    CHECK(sg_tokenizer_encode(t, "aaaa", 4, &ids) == 0); /* both "a a" merge before "aa a" is looked at */
    CHECK_IDS(&ids, 22, 22);
    CHECK(sg_tokenizer_encode(t, "aaaaa", 5, &ids) == 0); /* aa aa a -> aa aaa */
    CHECK_IDS(&ids, 22, 28);
    CHECK(sg_tokenizer_encode(t, "hex", 3, &ids) == 0); /* x is not in the vocab */
    CHECK_IDS(&ids, 12, 3);
    CHECK(sg_tokenizer_encode(t, "", 0, &ids) == 0 && ids.len == 0);
    /* pre-tokenization: "hello", " ", " hello" */
    CHECK(sg_tokenizer_encode(t, "hello  hello", 12, &ids) == 0);
    CHECK_IDS(&ids, 15, 8, 8, 15); /* "Ġ h" never merges: Ġ + hello */

    /* invalid UTF-8 is replaced like Python's errors="replace": \xff -> U+FFFD; a truncated
     * 3-byte sequence counts once; each byte of a surrogate encoding counts alone */
    sg_ids want = {0};
    CHECK(sg_tokenizer_encode(t, "he\xff", 3, &ids) == 0);
    CHECK(sg_tokenizer_encode(t, "he\xEF\xBF\xBD", 5, &want) == 0);
    CHECK(ids.len == want.len && ids.len == 4 && memcmp(ids.data, want.data, 4 * sizeof(int32_t)) == 0);
    CHECK(sg_tokenizer_encode(t, "\xE2\x82", 2, &ids) == 0 && ids.len == 3);
    CHECK(sg_tokenizer_encode(t, "\xED\xA0\x80", 3, &ids) == 0 && ids.len == 9);
    CHECK(sg_tokenizer_encode(t, "a\0b", 3, &ids) == 0 && ids.len == 3); /* NUL is a character */

    /* framing with the file vocab's specials */
    int32_t row[6], mask[6];
    CHECK(sg_tokenizer_encode_row(t, "hello", 5, "aaa", 3, 6, row, mask) == 6);
    const int32_t want_row[6] = {0, 15, 2, 2, 28, 2};
    CHECK(memcmp(row, want_row, sizeof row) == 0);
    size_t len;
    char *text = sg_tokenizer_decode(t, row, 6, &len);
    CHECK(text && strcmp(text, "helloaaa") == 0);
    free(text);
    int32_t ws[2] = {15, 20};
    text = sg_tokenizer_decode(t, ws, 2, &len);
    CHECK(text && strcmp(text, "hello world") == 0);
    free(text);

    sg_ids_free(&ids);
    sg_ids_free(&want);
    sg_tokenizer_free(t);
    remove_dir(dir);
}

static void test_load_errors(void) {
    static const char SPECIALS[] = "\"<s>\": 0, \"<pad>\": 1, \"</s>\": 2, \"<unk>\": 3";
    char vocab[512];
    snprintf(vocab, sizeof vocab, "{%s, \"a\": 4}", SPECIALS);

    sg_clear_error();
    CHECK(sg_tokenizer_load("/nonexistent/tokenizer") == NULL);
    CHECK(strstr(sg_last_error(), "vocab.json") != NULL);
    expect_load_error(NULL, "#version: 0.2\n", "vocab.json");
    expect_load_error(vocab, NULL, "merges.txt");
    expect_load_error("{\"<s>\": 0,\n \"a\": }\n", "", "vocab.json:2: malformed JSON");
    expect_load_error("[1, 2]", "", "expected a JSON object");
    expect_load_error(vocab, "#version: 0.2\na a\na a a\n", "merges.txt:3: malformed merge");
    expect_load_error(vocab, "a\n", "merges.txt:1: malformed merge");
    char dup[512];
    snprintf(dup, sizeof dup, "{%s, \"a\": 4, \"b\": 4}", SPECIALS);
    expect_load_error(dup, "", "id 4 is used by both");
    snprintf(dup, sizeof dup, "{%s, \"a\": 4, \"a\": 5}", SPECIALS);
    expect_load_error(dup, "", "'a' appears twice");
    snprintf(dup, sizeof dup, "{%s, \"a\": 4.5}", SPECIALS);
    expect_load_error(dup, "", "token 'a': id");
    snprintf(dup, sizeof dup, "{%s, \"a\": \"4\"}", SPECIALS);
    expect_load_error(dup, "", "token 'a': id");
    snprintf(dup, sizeof dup, "{%s, \"a\": -1}", SPECIALS);
    expect_load_error(dup, "", "token 'a': id");
    expect_load_error("{\"<s>\": 0, \"<pad>\": 1, \"</s>\": 2}", "", "missing special token '<unk>'");
}

/* ---- RoBERTa's real files ---- */

typedef struct {
    sg_tokenizer *tok;
    const char *const *texts;
    int n;
    sg_ids *results;
    int failed;
} thread_job;

static void *encode_all(void *arg) {
    thread_job *job = arg;
    for (int round = 0; round < 20; round++)
        for (int i = 0; i < job->n; i++)
            if (sg_tokenizer_encode_framed(job->tok, job->texts[i], strlen(job->texts[i]), NULL, 0, 0,
                                           &job->results[i]) != 0)
                job->failed = 1;
    return NULL;
}

static void test_roberta(const char *shared) {
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tokenizer/roberta-base", shared);
    sg_tokenizer *t = sg_tokenizer_load(dir);
    CHECK_MSG(t != NULL, "%s", sg_last_error());
    if (!t) return;
    CHECK(sg_tokenizer_vocab_size(t) == 50265);
    sg_special_ids sp = sg_tokenizer_specials(t);
    CHECK(sp.bos == 0 && sp.pad == 1 && sp.eos == 2 && sp.unk == 3 && sp.mask == 50264);

    sg_ids ids = {0};
    CHECK(sg_tokenizer_encode_framed(t, "Hello world", 11, NULL, 0, 0, &ids) == 0);
    CHECK_IDS(&ids, 0, 31414, 232, 2);
    CHECK(sg_tokenizer_encode(t, " Hello", 6, &ids) == 0);
    CHECK_IDS(&ids, 20920);
    /* a literal special token in text is text */
    CHECK(sg_tokenizer_encode(t, "</s>", 4, &ids) == 0);
    CHECK(ids.len > 1);

    /* a very long word: not cached, merged in O(n log n), round-trips */
    size_t n = 20000;
    char *word = malloc(n + 1);
    CHECK(word != NULL);
    if (word) {
        for (size_t i = 0; i < n; i++) word[i] = "abcdefghij"[(i * 7 + i / 13) % 10];
        word[n] = '\0';
        CHECK(sg_tokenizer_encode(t, word, n, &ids) == 0 && ids.len > 0 && ids.len < n);
        size_t len;
        char *back = sg_tokenizer_decode(t, ids.data, ids.len, &len);
        CHECK(back && len == n && memcmp(back, word, n) == 0);
        free(back);
        free(word);
    }
    const char *mixed = "Café naïve — 東京 😀 12,345.6 DON'T  \t\n it's";
    CHECK(sg_tokenizer_encode(t, mixed, strlen(mixed), &ids) == 0);
    char *back = sg_tokenizer_decode(t, ids.data, ids.len, NULL);
    CHECK(back && strcmp(back, mixed) == 0);
    free(back);

    /* two threads, each with its own clone, agree with the original handle */
    static const char *const texts[] = {"Hello world", "the movie was great , but the ending ...",
                                        "Ünïcödé ✓ text", "numbers 123 456", "It's DON'T we'll"};
    enum { NT = 5 };
    sg_ids expect[NT] = {{0}}, got[2][NT] = {{{0}}};
    for (int i = 0; i < NT; i++) CHECK(sg_tokenizer_encode_framed(t, texts[i], strlen(texts[i]), NULL, 0, 0, &expect[i]) == 0);
    thread_job jobs[2];
    pthread_t th[2];
    for (int k = 0; k < 2; k++) {
        jobs[k] = (thread_job){sg_tokenizer_clone(t), texts, NT, got[k], 0};
        CHECK(jobs[k].tok != NULL);
    }
    sg_tokenizer_free(t); /* clones keep the shared tables alive */
    for (int k = 0; k < 2; k++) CHECK(pthread_create(&th[k], NULL, encode_all, &jobs[k]) == 0);
    for (int k = 0; k < 2; k++) {
        pthread_join(th[k], NULL);
        CHECK(!jobs[k].failed);
        for (int i = 0; i < NT; i++) CHECK(ids_equal(&got[k][i], expect[i].data, expect[i].len));
        for (int i = 0; i < NT; i++) sg_ids_free(&got[k][i]);
        sg_tokenizer_free(jobs[k].tok);
    }
    for (int i = 0; i < NT; i++) sg_ids_free(&expect[i]);
    sg_ids_free(&ids);
}

int main(void) {
    test_builtin();
    test_truncation_rule();
    test_framing_rows();
    test_small_bpe();
    test_load_errors();
    const char *shared = sg_test_shared_dir();
    if (shared)
        test_roberta(shared);
    else
        printf("note: ../shared absent, RoBERTa vocab checks skipped\n");
    return sg_test_done();
}
