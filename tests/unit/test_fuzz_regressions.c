/* Replays every fuzz input kept in the repository through the same entry points as the libFuzzer
 * harnesses (tests/fuzz/fuzz_<name>.c, included here without libFuzzer): each crash the fuzzers
 * found (tests/fuzz/regressions/<name>/) and each seed (tests/fuzz/corpus/<name>/) must be
 * accepted or refused with a one-line message naming the input -- never crash (the ASan build
 * catches memory errors and leaks). Runs from the project root: job-spec seeds name
 * the transform configs under configs/levels relative to it. */
#define SG_FUZZ_REPLAY 1
#include "testlib.h"

#include "../fuzz/fuzz_glue_custom.c"
#include "../fuzz/fuzz_glue_tsv.c"
#include "../fuzz/fuzz_jobspec.c"
#include "../fuzz/fuzz_model_config.c"
#include "../fuzz/fuzz_run_flags.c"
#include "../fuzz/fuzz_safetensors.c"
#include "../fuzz/fuzz_tokenizer.c"
#include "../fuzz/fuzz_transform_config.c"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*fuzz_fn)(const uint8_t *data, size_t size);

static const struct {
    const char *name;
    fuzz_fn fn;
} harnesses[] = {
    {"glue_custom", fuzz_glue_custom}, {"glue_tsv", fuzz_glue_tsv},         {"jobspec", fuzz_jobspec},
    {"model_config", fuzz_model_config}, {"run_flags", fuzz_run_flags},     {"safetensors", fuzz_safetensors},
    {"tokenizer", fuzz_tokenizer},     {"transform_config", fuzz_transform_config},
};

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Every regular file of dir through fn; returns how many (0 when dir does not exist). */
static int replay_dir(const char *dir, const char *harness, fuzz_fn fn) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    char *names[4096];
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) && n < 4096;)
        if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_names);
    int count = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "rb");
        if (!f) {
            free(names[i]);
            continue;
        }
        uint8_t *buf = NULL;
        size_t len = 0, cap = 0;
        for (;;) {
            if (len == cap) {
                cap = cap ? cap * 2 : 4096;
                uint8_t *grown = realloc(buf, cap);
                if (!grown) break;
                buf = grown;
            }
            size_t got = fread(buf + len, 1, cap - len, f);
            if (got == 0) break;
            len += got;
        }
        fclose(f);
        /* an exact-size copy, so that ASan sees any read past the input's end */
        uint8_t *exact = malloc(len ? len : 1);
        if (exact && len) memcpy(exact, buf, len);
        free(buf);
        sg_clear_error();
        int verdict = exact ? fn(exact, len) : SG_FUZZ_BAD;
        CHECK_MSG(verdict != SG_FUZZ_BAD, "%s: %s broke the parser's contract: %s", harness, path, sg_last_error());
        free(exact);
        free(names[i]);
        count++;
    }
    return count;
}

int main(void) {
    const char *src = getenv("SG_SOURCE_DIR");
    if (src && chdir(src) != 0) sg_test_skip("cannot enter SG_SOURCE_DIR");
    if (access("tests/fuzz/corpus", F_OK) != 0) sg_test_skip("tests/fuzz/corpus not found (run from the project root)");
    int total_regressions = 0;
    for (size_t h = 0; h < sizeof harnesses / sizeof harnesses[0]; h++) {
        char dir[512];
        snprintf(dir, sizeof dir, "tests/fuzz/regressions/%s", harnesses[h].name);
        int regressions = replay_dir(dir, harnesses[h].name, harnesses[h].fn);
        snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", harnesses[h].name);
        int seeds = replay_dir(dir, harnesses[h].name, harnesses[h].fn);
        CHECK_MSG(seeds > 0, "%s: no seed corpus in %s", harnesses[h].name, dir);
        fprintf(stderr, "%-17s %3d regression inputs, %3d seeds replayed\n", harnesses[h].name, regressions, seeds);
        total_regressions += regressions;
    }
    fprintf(stderr, "%d regression inputs in all\n", total_regressions);
    return sg_test_done();
}
