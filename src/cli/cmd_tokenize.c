/* spikeglue tokenize: print RoBERTa-framed input ids as JSON arrays (one per text or line). */
#include "cli/commands.h"
#include "core/error.h"
#include "core/fileio.h"
#include "data/glue.h"
#include "data/tokenizer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sg_cmd_tokenize(int argc, char **argv); /* also in cli/commands.h once wired */

static const char USAGE[] =
    "usage: spikeglue tokenize --tokenizer DIR|builtin [--pair] [--max_seq_length N] TEXT [TEXT2]\n"
    "       spikeglue tokenize --tokenizer DIR|builtin [--pair] [--max_seq_length N] --lines FILE\n"
    "Prints the input ids, framed <s> A </s> (or <s> A </s></s> B </s> with --pair), as a JSON\n"
    "array. No padding; truncation (longest first) only with --max_seq_length.\n"
    "  --tokenizer DIR   directory with vocab.json + merges.txt, or 'builtin' (byte tokenizer)\n"
    "  --lines FILE      one text per line ('-': stdin), or TEXT<tab>TEXT2 with --pair;\n"
    "                    prints one array per line\n";

static void print_ids(FILE *out, const sg_ids *ids) {
    fputc('[', out);
    for (size_t i = 0; i < ids->len; i++) {
        if (i) fputs(", ", out);
        fprintf(out, "%d", (int)ids->data[i]);
    }
    fputs("]\n", out);
}

static int tokenize_lines(sg_tokenizer *t, const char *path, int pair, int max_len, sg_ids *ids) {
    if (strcmp(path, "-") != 0 && sg_path_kind_of(path) == SG_PATH_DIR) return sg_require_file(path, "--lines");
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb"); /* pipes welcome: <(cmd), /dev/stdin */
    if (!in) return sg_fail_open(path, errno);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    int rc = 0;
    /* bounded like a dataset line: an endless stream without newlines is refused, not buffered */
    while (rc == 0 && (n = sg_glue_getline(&line, &cap, in)) >= 0) {
        lineno++;
        size_t len = (size_t)n;
        if (len && line[len - 1] == '\n') len--;
        const char *b = NULL;
        size_t a_len = len, b_len = 0;
        if (pair) {
            char *tab = memchr(line, '\t', len);
            if (!tab) {
                rc = sg_fail("%s:%ld: expected two tab-separated texts (--pair)", path, lineno);
                break;
            }
            a_len = (size_t)(tab - line);
            b = tab + 1;
            b_len = len - a_len - 1;
        }
        if (sg_tokenizer_encode_framed(t, line, a_len, b, b_len, max_len, ids) != 0)
            rc = sg_fail_context("%s:%ld", path, lineno);
        else
            print_ids(stdout, ids);
    }
    if (rc == 0 && n < -1) rc = sg_glue_line_error(n, path, (size_t)lineno + 1);
    if (rc == 0 && ferror(in)) rc = sg_fail("%s: read error: %s", path, strerror(errno));
    free(line);
    if (in != stdin) fclose(in);
    return rc;
}

/* Print the recorded error; the command's exit status. */
static int report(int rc) {
    (void)rc;
    sg_print_error();
    return 1;
}

int sg_cmd_tokenize(int argc, char **argv) {
    const char *dir = NULL, *lines = NULL;
    const char *texts[2];
    int ntexts = 0, pair = 0, max_len = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            fputs(USAGE, stdout);
            return 0;
        } else if (strcmp(arg, "--pair") == 0) {
            pair = 1;
        } else if (strcmp(arg, "--tokenizer") == 0 || strcmp(arg, "--max_seq_length") == 0 ||
                   strcmp(arg, "--lines") == 0) {
            if (i + 1 >= argc) return report(sg_fail("tokenize: %s needs a value", arg));
            const char *val = argv[++i];
            if (arg[2] == 't') {
                dir = val;
            } else if (arg[2] == 'l') {
                lines = val;
            } else {
                char *end;
                errno = 0;
                long v = strtol(val, &end, 10);
                if (errno || *end || end == val || v < 1 || v > 1 << 20)
                    return report(sg_fail("tokenize: --max_seq_length '%s' is not an integer in [1, %d]",
                                          val, 1 << 20));
                max_len = (int)v;
            }
        } else if (strncmp(arg, "--", 2) == 0 && arg[2]) {
            return report(sg_fail("tokenize: unknown option '%s' (see --help)", arg));
        } else if (ntexts < 2) {
            texts[ntexts++] = arg;
        } else {
            return report(sg_fail("tokenize: too many texts: at most two, a pair with --pair"));
        }
    }
    if (!dir) return report(sg_fail("tokenize: --tokenizer DIR|builtin is required"));
    if (lines && ntexts) return report(sg_fail("tokenize: give either --lines FILE or texts, not both"));
    if (!lines && pair && ntexts != 2)
        return report(sg_fail("tokenize: --pair takes two texts, got %d", ntexts));
    if (!lines && !pair && ntexts == 2)
        return report(sg_fail("tokenize: got two texts: add --pair to tokenize them as a pair (or give one text)"));
    if (!lines && ntexts == 0) return report(sg_fail("tokenize: expected a text (or --lines FILE)"));

    sg_tokenizer *t = sg_tokenizer_open(dir);
    if (!t) return report(-1);
    sg_ids ids = {0};
    int rc;
    if (lines) {
        rc = tokenize_lines(t, lines, pair, max_len, &ids);
    } else {
        rc = sg_tokenizer_encode_framed(t, texts[0], strlen(texts[0]), pair ? texts[1] : NULL,
                                        pair ? strlen(texts[1]) : 0, max_len, &ids);
        if (rc == 0) print_ids(stdout, &ids);
    }
    if (rc == 0 && fflush(stdout) != 0) rc = sg_fail("writing the ids: %s", strerror(errno));
    sg_ids_free(&ids);
    sg_tokenizer_free(t);
    return rc != 0 ? report(rc) : 0;
}
