/* sg_quote (escaped excerpts of untrusted text), the path checks of core/fileio.h and
 * sg_tokenizer_files_in: the expected strings are written out by hand from their contracts. */
#include "core/error.h"
#include "core/fileio.h"
#include "core/quote.h"
#include "data/tokenizer.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *q(const char *text, size_t len, size_t max_chars) {
    static char buf[256];
    return sg_quote(buf, sizeof buf, text, len, max_chars);
}

#define CHECK_STR(got, want) CHECK_MSG(strcmp((got), (want)) == 0, "got [%s], want [%s]", (got), (want))

static void test_quote(void) {
    CHECK_STR(q("sentence\tlabel", 14, 80), "'sentence\\tlabel'");
    CHECK_STR(q("", 0, 80), "''");
    CHECK_STR(q("it's a\\b", 8, 80), "'it\\'s a\\\\b'");
    CHECK_STR(q("a\nb\rc", 5, 80), "'a\\nb\\rc'");
    /* NUL, ESC and DEL are control bytes; a NUL does not end the text */
    CHECK_STR(q("x\0y\x1b[2J\x7f", 8, 80), "'x\\x00y\\x1b[2J\\x7f'");
    /* valid UTF-8 is kept: é (C3 A9), € (E2 82 AC), 😀 (F0 9F 98 80) */
    CHECK_STR(q("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14, 80), "'caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80'");
    /* invalid UTF-8: a lone continuation, a truncated sequence, an overlong NUL, a surrogate, a C1 control */
    CHECK_STR(q("\x80", 1, 80), "'\\x80'");
    CHECK_STR(q("\xe2\x82", 2, 80), "'\\xe2\\x82'");
    CHECK_STR(q("\xc0\x80", 2, 80), "'\\xc0\\x80'");
    CHECK_STR(q("\xed\xa0\x80", 3, 80), "'\\xed\\xa0\\x80'");
    CHECK_STR(q("\xc2\x85", 2, 80), "'\\xc2\\x85'");
    /* cut: at most max_chars between the quotes, whole escapes / characters only, then the length */
    CHECK_STR(q("abcdefghij", 10, 4), "'abcd'... (10 bytes)");
    CHECK_STR(q("ab\x01\x02", 4, 5), "'ab'... (4 bytes)");     /* \x01 would need 4 more: 6 > 5 */
    CHECK_STR(q("ab\x01\x02", 4, 6), "'ab\\x01'... (4 bytes)");
    CHECK_STR(q("a\xc3\xa9", 3, 2), "'a'... (3 bytes)");      /* é is not split */
    CHECK_STR(q("abcd", 4, 4), "'abcd'");                    /* exactly fits: no cut */
    /* a tiny buffer stays NUL-terminated and within bounds */
    char small[16];
    sg_quote(small, sizeof small, "abcdefghijklmnopqrstuvwxyz", 26, 80);
    CHECK(strlen(small) < sizeof small);
    /* a megabyte of binary gives a short message */
    size_t n = 1 << 20;
    char *junk = malloc(n);
    for (size_t i = 0; i < n; i++) junk[i] = (char)(i * 131 + 7);
    char buf[SG_QUOTE_BUF];
    sg_quote(buf, sizeof buf, junk, n, SG_QUOTE_EXCERPT);
    CHECK(strlen(buf) <= SG_QUOTE_EXCERPT + 2 + strlen("... (1048576 bytes)"));
    CHECK(strstr(buf, "... (1048576 bytes)") != NULL);
    for (const char *p = buf; *p; p++) CHECK_MSG((unsigned char)*p >= 0x20 && *p != 0x7f, "control byte in [%s]", buf);
    free(junk);
}

static int ends_with(const char *s, const char *tail) {
    size_t a = strlen(s), b = strlen(tail);
    return a >= b && strcmp(s + a - b, tail) == 0;
}

static void test_paths(const char *tmp) {
    char dir[4200], file[4200], missing[4200];
    snprintf(dir, sizeof dir, "%s/d", tmp);
    snprintf(file, sizeof file, "%s/f", tmp);
    snprintf(missing, sizeof missing, "%s/nothing", tmp);
    CHECK(mkdir(dir, 0755) == 0);
    FILE *f = fopen(file, "w");
    CHECK(f && fputs("x", f) >= 0 && fclose(f) == 0);

    CHECK(sg_path_kind_of(dir) == SG_PATH_DIR);
    CHECK(sg_path_kind_of(file) == SG_PATH_FILE);
    CHECK(sg_path_kind_of(missing) == SG_PATH_MISSING);
    CHECK(sg_path_kind_of("/dev/null") == SG_PATH_OTHER);

    CHECK(sg_require_file(file, "x") == 0);
    CHECK(sg_require_dir(dir, NULL) == 0);
    CHECK(sg_require_file(dir, "dev split") == -1);
    CHECK_MSG(ends_with(sg_last_error(), "/d: is a directory, not a file (dev split)"), "%s", sg_last_error());
    CHECK(sg_require_dir(file, NULL) == -1);
    CHECK_MSG(ends_with(sg_last_error(), "/f: is a file, not a directory"), "%s", sg_last_error());
    CHECK(sg_require_file(missing, NULL) == -1);
    CHECK_MSG(ends_with(sg_last_error(), "/nothing: no such file"), "%s", sg_last_error());
    CHECK(sg_require_dir(missing, NULL) == -1);
    CHECK_MSG(ends_with(sg_last_error(), "/nothing: no such directory"), "%s", sg_last_error());

    CHECK(sg_open_read(dir) == NULL);
    CHECK_MSG(ends_with(sg_last_error(), "/d: is a directory, not a file"), "%s", sg_last_error());
    size_t len = 0;
    CHECK(sg_read_file(dir, 100, &len) == NULL);
    CHECK_MSG(ends_with(sg_last_error(), "/d: is a directory, not a file"), "%s", sg_last_error());
    char *text = sg_read_file(file, 100, &len);
    CHECK(text && len == 1 && text[0] == 'x');
    free(text);
}

static void touch(const char *dir, const char *name) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) fclose(f);
}

static void test_tokenizer_files(const char *tmp) {
    char none[4200], both[4200], vocab_only[4200], merges_only[4200];
    snprintf(none, sizeof none, "%s/none", tmp);
    snprintf(both, sizeof both, "%s/both", tmp);
    snprintf(vocab_only, sizeof vocab_only, "%s/vocab_only", tmp);
    snprintf(merges_only, sizeof merges_only, "%s/merges_only", tmp);
    CHECK(mkdir(none, 0755) == 0 && mkdir(both, 0755) == 0 && mkdir(vocab_only, 0755) == 0 && mkdir(merges_only, 0755) == 0);
    touch(both, "vocab.json"), touch(both, "merges.txt"), touch(vocab_only, "vocab.json"), touch(merges_only, "merges.txt");

    CHECK(sg_tokenizer_files_in(none) == SG_TOKENIZER_FILES_NONE);
    CHECK(sg_tokenizer_files_in(both) == SG_TOKENIZER_FILES_BOTH);
    sg_clear_error();
    CHECK(sg_tokenizer_files_in(vocab_only) == SG_TOKENIZER_FILES_PARTIAL);
    CHECK_MSG(strstr(sg_last_error(), "vocab_only/merges.txt: no such file") != NULL, "%s", sg_last_error());
    CHECK(sg_tokenizer_files_in(merges_only) == SG_TOKENIZER_FILES_PARTIAL);
    CHECK_MSG(strstr(sg_last_error(), "merges_only/vocab.json: no such file") != NULL, "%s", sg_last_error());

    sg_tokenizer *t = sg_tokenizer_builtin();
    CHECK(sg_tokenizer_check_fits(t, 261, "builtin") == 0);
    CHECK(sg_tokenizer_check_fits(t, 260, "builtin") == -1);
    CHECK_STR(sg_last_error(), "builtin: the tokenizer has 261 ids but the model only 260 embeddings");
    sg_tokenizer_free(t);
}

int main(void) {
    const char *tmp = sg_test_tmpdir();
    test_quote();
    test_paths(tmp);
    test_tokenizer_files(tmp);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return sg_test_done();
}
