/* Synthetic tasks: same seed -> byte-identical files (and the same first rows on any machine),
 * the GLUE loaders read them cleanly, sentences and pairs fit a byte-level model with
 * --max_seq_length 64, labels are balanced, the labelling rules hold (identical pairs are
 * paraphrases and score high), and the tasks are not trivial (label noise shows as identical
 * sentences with different labels; without noise there are none). */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/glue.h"
#include "data/synth.h"
#include "testlib.h"

int sg_cmd_synth(int argc, char **argv);

static const char *const k_files[] = {"SST-2/train.tsv", "SST-2/dev.tsv", "MRPC/train.tsv", "MRPC/dev.tsv",
                                      "STS-B/train.tsv", "STS-B/dev.tsv", "README.md"};
#define FILES (sizeof k_files / sizeof k_files[0])

static char *slurp(const char *dir, const char *name, size_t *len) {
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) buf[n] = '\0', *len = (size_t)n;
    return buf;
}

static int same_files(const char *a, const char *b) {
    int same = 1;
    for (size_t i = 0; i < FILES; i++) {
        size_t la = 0, lb = 0;
        char *x = slurp(a, k_files[i], &la), *y = slurp(b, k_files[i], &lb);
        if (!x || !y || la != lb || memcmp(x, y, la) != 0) same = 0;
        free(x);
        free(y);
    }
    return same;
}

static const sg_glue_data *g_sort_data;
static int cmp_text(const void *a, const void *b) {
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    return strcmp(g_sort_data->text_a[i], g_sort_data->text_a[j]);
}

/* Number of distinct sentences that occur with both labels. */
static size_t conflicting_duplicates(const sg_glue_data *d) {
    size_t *idx = malloc(d->count * sizeof *idx), conflicts = 0;
    if (!idx) return 0;
    for (size_t i = 0; i < d->count; i++) idx[i] = i;
    g_sort_data = d;
    qsort(idx, d->count, sizeof *idx, cmp_text);
    for (size_t i = 0; i < d->count;) {
        size_t j = i + 1;
        int mixed = 0;
        while (j < d->count && strcmp(d->text_a[idx[i]], d->text_a[idx[j]]) == 0) {
            mixed |= d->label[idx[j]] != d->label[idx[i]];
            j++;
        }
        conflicts += mixed;
        i = j;
    }
    free(idx);
    return conflicts;
}

static double label_share(const sg_glue_data *d) {
    size_t ones = 0;
    for (size_t i = 0; i < d->count; i++) ones += d->label[i] == 1;
    return (double)ones / (double)d->count;
}

static size_t longest(const sg_glue_data *d) {
    size_t m = 0;
    for (size_t i = 0; i < d->count; i++) {
        size_t a = strlen(d->text_a[i]), b = d->text_b ? strlen(d->text_b[i]) : 0;
        if (a > m) m = a;
        if (b > m) m = b;
    }
    return m;
}

static size_t longest_pair(const sg_glue_data *d) {
    size_t m = 0;
    for (size_t i = 0; d->text_b && i < d->count; i++) {
        size_t ab = strlen(d->text_a[i]) + strlen(d->text_b[i]);
        if (ab > m) m = ab;
    }
    return m;
}

/* Without label noise: identical sentences are a paraphrase (MRPC) or score >= 4 (STS-B: 5 minus
 * noise of at most 1). Returns the number of rows breaking that; *identical counts such pairs. */
static size_t identical_pair_violations(const sg_glue_data *d, int regression, size_t *identical) {
    size_t bad = 0;
    *identical = 0;
    for (size_t i = 0; i < d->count; i++) {
        if (strcmp(d->text_a[i], d->text_b[i]) != 0) continue;
        ++*identical;
        bad += regression ? d->score[i] < 4.0f : d->label[i] != 1;
    }
    return bad;
}

static void check_loads(const char *dir, const sg_synth_options *opt) {
    const char *tasks[] = {"sst2", "mrpc", "stsb"};
    for (int t = 0; t < 3; t++)
        for (int split = 0; split < 2; split++) {
            sg_glue_data d;
            int rc = sg_glue_load(dir, sg_glue_task_find(tasks[t]), split ? SG_SPLIT_DEV : SG_SPLIT_TRAIN, &d);
            CHECK_MSG(rc == 0, "%s: %s", tasks[t], sg_last_error());
            if (rc != 0) continue;
            size_t want = (size_t)(split ? opt->dev_rows : opt->train_rows);
            CHECK_MSG(d.count == want && d.skipped == 0, "%s: %zu rows, %zu skipped", tasks[t], d.count, d.skipped);
            CHECK_MSG(longest(&d) <= SG_SYNTH_MAX_CHARS, "%s: a sentence of %zu bytes", tasks[t], longest(&d));
            CHECK_MSG(longest_pair(&d) <= SG_SYNTH_MAX_PAIR_CHARS, "%s: a pair of %zu bytes", tasks[t], longest_pair(&d));
            if (d.count < 200) { /* too few rows for distribution checks */
            } else if (t == 0) {
                double s = label_share(&d);
                CHECK_MSG(s > 0.35 && s < 0.65, "sentiment positive share %.3f", s);
            } else if (t == 1) {
                double s = label_share(&d);
                CHECK_MSG(s > 0.4 && s < 0.7, "paraphrase positive share %.3f", s);
            } else {
                double lo = 5, hi = 0, sum = 0, sq = 0;
                for (size_t i = 0; i < d.count; i++) {
                    double v = d.score[i];
                    lo = v < lo ? v : lo, hi = v > hi ? v : hi, sum += v, sq += v * v;
                }
                double mean = sum / d.count, sd = sqrt(sq / d.count - mean * mean);
                CHECK_MSG(lo >= 0 && hi <= 5 && lo < 0.5 && hi > 4.5 && sd > 1.0,
                          "similarity scores: min %.3f max %.3f sd %.3f", lo, hi, sd);
            }
            sg_glue_data_free(&d);
        }
}

int main(void) {
    const char *t = sg_test_tmpdir();
    if (!t) sg_test_skip("no temporary directory");
    char root[4096], a[4200], b[4200], c[4200], q[4200];
    snprintf(root, sizeof root, "%s", t);
    snprintf(a, sizeof a, "%s/a", root);
    snprintf(b, sizeof b, "%s/b/nested", root); /* parents are created */
    snprintf(c, sizeof c, "%s/c", root);
    snprintf(q, sizeof q, "%s/quiet", root);

    sg_synth_options opt;
    sg_synth_defaults(&opt);
    opt.seed = 42;
    CHECK(sg_synth_write(a, &opt) == 0);
    CHECK(sg_synth_write(b, &opt) == 0);
    CHECK_MSG(same_files(a, b), "same seed must give byte-identical files");
    CHECK(sg_synth_write(a, &opt) == 0); /* rewriting over earlier files */
    CHECK(same_files(a, b));
    opt.seed = 43;
    CHECK(sg_synth_write(c, &opt) == 0);
    CHECK_MSG(!same_files(a, c), "another seed must give other files");
    opt.seed = 42;

    check_loads(a, &opt);

    /* the same first rows on any machine (update these when the generator changes on purpose) */
    static const struct {
        const char *file, *row;
    } golden[] = {
        {"SST-2/train.tsv", "very wonderful cast\t1\n"},
        {"SST-2/dev.tsv", "the humor was wonderful\t1\n"},
        {"MRPC/train.tsv", "1\t1000000\t1000001\tthe farmer found the ball\tthe ball was found by the farmer\n"},
        {"MRPC/dev.tsv", "1\t2000000\t2000001\tthe uncle lost the soup\tthe soup was lost by the uncle\n"},
        {"STS-B/train.tsv", "0\tmain-synth\tsynth\tsynth\t0000\tnone\tnone\tthe nurse cooked the bread\tthe boat was thrown by the nurse\t2.263\n"},
        {"STS-B/dev.tsv", "0\tmain-synth\tsynth\tsynth\t0000\tnone\tnone\tthe aunt kicked the fence\tthe jazz was kicked by the zombie\t1.090\n"},
    };
    for (size_t i = 0; i < sizeof golden / sizeof golden[0]; i++) {
        size_t n = 0;
        char *text = slurp(a, golden[i].file, &n);
        const char *row = text ? strchr(text, '\n') : NULL; /* after the header */
        CHECK_MSG(row && strncmp(row + 1, golden[i].row, strlen(golden[i].row)) == 0, "%s: first row %.120s", golden[i].file,
                  row ? row + 1 : "(none)");
        free(text);
    }

    /* exact headers, no BOM; honest README naming the seed */
    size_t len = 0;
    char *mrpc = slurp(a, "MRPC/train.tsv", &len);
    const char *mrpc_header = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n";
    CHECK(mrpc && strncmp(mrpc, mrpc_header, strlen(mrpc_header)) == 0);
    free(mrpc);
    char *stsb = slurp(a, "STS-B/dev.tsv", &len);
    const char *stsb_header = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n";
    CHECK(stsb && strncmp(stsb, stsb_header, strlen(stsb_header)) == 0);
    free(stsb);
    char *sst = slurp(a, "SST-2/train.tsv", &len);
    CHECK(sst && strncmp(sst, "sentence\tlabel\n", 15) == 0);
    free(sst);
    char *readme = slurp(a, "README.md", &len);
    CHECK(readme && strstr(readme, "synthetic") && strstr(readme, "Seed 42") && strstr(readme, "NOT GLUE"));
    free(readme);

    /* not trivial: with label noise some identical sentences carry both labels ... */
    sg_glue_data d;
    if (sg_glue_load(a, sg_glue_task_find("sst2"), SG_SPLIT_TRAIN, &d) == 0) {
        CHECK_MSG(conflicting_duplicates(&d) > 10, "%zu conflicting duplicates", conflicting_duplicates(&d));
        sg_glue_data_free(&d);
    }
    /* ... and without it the labelling rule is a function of the sentence */
    opt.label_noise = 0;
    CHECK(sg_synth_write(q, &opt) == 0);
    if (sg_glue_load(q, sg_glue_task_find("sst2"), SG_SPLIT_TRAIN, &d) == 0) {
        CHECK_MSG(conflicting_duplicates(&d) == 0, "%zu conflicting duplicates without noise", conflicting_duplicates(&d));
        sg_glue_data_free(&d);
    }
    for (int t = 0; t < 2; t++) {
        const char *name = t ? "stsb" : "mrpc";
        if (sg_glue_load(q, sg_glue_task_find(name), SG_SPLIT_TRAIN, &d) != 0) continue;
        size_t identical = 0, bad = identical_pair_violations(&d, t, &identical);
        CHECK_MSG(identical > 100 && bad == 0, "%s: %zu of %zu identical pairs break the rule", name, bad, identical);
        sg_glue_data_free(&d);
    }

    /* the command */
    char out[4200];
    snprintf(out, sizeof out, "%s/cmd", root);
    char *ok_args[] = {"synth", "--out", out, "--seed", "42", NULL};
    CHECK(sg_cmd_synth(5, ok_args) == 0);
    CHECK(same_files(out, a));
    char *no_out[] = {"synth", "--seed", "1", NULL};
    CHECK(sg_cmd_synth(3, no_out) == 2 && strstr(sg_last_error(), "--out"));
    char *bad_seed[] = {"synth", "--out", out, "--seed", "x1", NULL};
    CHECK(sg_cmd_synth(5, bad_seed) == 2 && strstr(sg_last_error(), "x1"));
    char *unknown[] = {"synth", "--out", out, "--frobnicate", NULL};
    CHECK(sg_cmd_synth(4, unknown) == 2 && strstr(sg_last_error(), "--frobnicate"));
    char *noise[] = {"synth", "--out", out, "--label_noise", "0.9", NULL};
    CHECK(sg_cmd_synth(5, noise) == 1 && strstr(sg_last_error(), "noise"));
    char *small[] = {"synth", "--out", out, "--train_rows", "50", "--dev_rows=10", "--label_noise", "0.1", NULL};
    CHECK(sg_cmd_synth(8, small) == 0);
    sg_synth_options small_opt = opt;
    small_opt.train_rows = 50, small_opt.dev_rows = 10;
    check_loads(out, &small_opt);
    CHECK(sg_synth_write("", &opt) != 0);

    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0) fprintf(stderr, "note: could not remove %s\n", root);
    return sg_test_done();
}
