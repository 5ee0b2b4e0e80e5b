/* Tokenize + frame all of SST-2 train (67k sentences) into 128-token rows on one thread and
 * report sentences/s: the first pass (cold word cache) and the best of three warm passes.
 *   bench_tokenize [SHARED_DIR]   (default: $SG_SOURCE_DIR/../shared, else ../shared)
 * Exits 77 when the data is absent. */
#include "core/error.h"
#include "data/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { MAX_SEQ = 128 };

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct {
    char *text;      /* the file, sentences cut in place */
    char **sentence;
    size_t *len;
    size_t n;
} corpus;

static int load_sst2(const char *path, corpus *c) {
    FILE *f = fopen(path, "rb");
    if (!f) return sg_fail("%s: cannot open", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    c->text = malloc((size_t)size + 1);
    if (!c->text || fread(c->text, 1, (size_t)size, f) != (size_t)size) {
        fclose(f);
        return sg_fail("%s: cannot read", path);
    }
    fclose(f);
    c->text[size] = '\0';
    size_t lines = 0;
    for (long i = 0; i < size; i++) lines += c->text[i] == '\n';
    c->sentence = malloc((lines + 1) * sizeof *c->sentence);
    c->len = malloc((lines + 1) * sizeof *c->len);
    if (!c->sentence || !c->len) return sg_fail("out of memory");
    c->n = 0;
    char *p = strchr(c->text, '\n'); /* skip the header */
    while (p && *++p) {
        char *eol = strchr(p, '\n');
        char *tab = memchr(p, '\t', eol ? (size_t)(eol - p) : strlen(p));
        if (tab) {
            c->sentence[c->n] = p;
            c->len[c->n++] = (size_t)(tab - p);
        }
        p = eol;
    }
    return 0;
}

/* One pass over the corpus; returns seconds, adds real tokens to *tokens. */
static double pass(sg_tokenizer *t, const corpus *c, long long *tokens, int32_t *ids, int32_t *mask) {
    double t0 = now();
    for (size_t i = 0; i < c->n; i++) {
        int n = sg_tokenizer_encode_row(t, c->sentence[i], c->len[i], NULL, 0, MAX_SEQ, ids, mask);
        if (n < 0) {
            sg_print_error();
            exit(1);
        }
        *tokens += n;
    }
    return now() - t0;
}

int main(int argc, char **argv) {
    char shared[4096], path[4200], tokdir[4200];
    const char *src = getenv("SG_SOURCE_DIR");
    if (argc > 1)
        snprintf(shared, sizeof shared, "%s", argv[1]);
    else
        snprintf(shared, sizeof shared, "%s/../shared", src ? src : ".");
    snprintf(path, sizeof path, "%s/glue/SST-2/train.tsv", shared);
    snprintf(tokdir, sizeof tokdir, "%s/tokenizer/roberta-base", shared);

    FILE *probe = fopen(path, "rb");
    if (!probe) {
        printf("skip: %s absent (pass the shared dir as the first argument)\n", path);
        return 77;
    }
    fclose(probe);
    corpus c = {0};
    double t0 = now();
    sg_tokenizer *t = sg_tokenizer_load(tokdir);
    if (!t || load_sst2(path, &c) != 0) {
        sg_print_error();
        return 1;
    }
    double load_s = now() - t0;

    int32_t ids[MAX_SEQ], mask[MAX_SEQ];
    long long tokens = 0;
    double cold = pass(t, &c, &tokens, ids, mask);
    double warm = 1e30;
    for (int r = 0; r < 3; r++) {
        double s = pass(t, &c, &tokens, ids, mask);
        if (s < warm) warm = s;
    }
    printf("bench_tokenize: SST-2 train, %zu sentences, max_seq_length %d, 1 thread\n", c.n, MAX_SEQ);
    printf("  load vocab+merges + read data: %.1f ms\n", 1e3 * load_s);
    printf("  first pass (cold cache): %.0f sentences/s (%.1f ms)\n", (double)c.n / cold, 1e3 * cold);
    printf("  warm pass (best of 3):   %.0f sentences/s (%.1f ms), %.1f M tokens/s\n", (double)c.n / warm,
           1e3 * warm, (double)tokens / 4 / warm / 1e6);

    sg_tokenizer_free(t);
    free(c.text);
    free(c.sentence);
    free(c.len);
    return 0;
}
