/* GLUE loaders: the real files in ../shared/glue (row counts, label ids), hand-made files for the
 * tasks and quirks the shared data lacks (MNLI, QQP, BOM, CRLF, quotes, bad rows), every error
 * path (each message names the file, and the line where there is one), and custom CSV / JSON. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "data/glue.h"
#include "testlib.h"

static char g_tmp[4096];

static const char *tmp_path(const char *name) {
    static char path[8][4200];
    static int next = 0;
    char *p = path[next++ % 8];
    snprintf(p, 4200, "%s/%s", g_tmp, name);
    return p;
}

/* Write a file under the temp dir, creating one level of folder if the name has one. */
static const char *write_tmp(const char *name, const char *content, size_t len) {
    const char *path = tmp_path(name);
    const char *slash = strchr(name, '/');
    if (slash) {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/%.*s", g_tmp, (int)(slash - name), name);
        mkdir(dir, 0755);
    }
    FILE *f = fopen(path, "wb");
    if (!f) return path;
    fwrite(content, 1, len, f);
    fclose(f);
    return path;
}
#define WRITE(name, literal) write_tmp(name, literal, sizeof(literal) - 1)

static int error_has(const char *needle) {
    int ok = strstr(sg_last_error(), needle) != NULL;
    if (!ok) fprintf(stderr, "    error '%s' lacks '%s'\n", sg_last_error(), needle);
    return ok;
}

static const sg_glue_task *task(const char *name) {
    const sg_glue_task *t = sg_glue_task_find(name);
    if (!t) fprintf(stderr, "    %s\n", sg_last_error());
    return t;
}

/* ---- the task table ---- */

static void test_task_table(void) {
    CHECK(sg_glue_task_count() == 10);
    const struct {
        const char *alias, *name, *folder;
        int labels, regression, pairs;
        unsigned metrics;
    } cases[] = {
        {"cola", "cola", "CoLA", 2, 0, 0, SG_METRIC_MATTHEWS},
        {"CoLA", "cola", "CoLA", 2, 0, 0, SG_METRIC_MATTHEWS},
        {"sst2", "sst2", "SST-2", 2, 0, 0, SG_METRIC_ACCURACY},
        {"SST-2", "sst2", "SST-2", 2, 0, 0, SG_METRIC_ACCURACY},
        {"sst-2", "sst2", "SST-2", 2, 0, 0, SG_METRIC_ACCURACY},
        {"MRPC", "mrpc", "MRPC", 2, 0, 1, SG_METRIC_ACCURACY | SG_METRIC_F1},
        {"sts-b", "stsb", "STS-B", 1, 1, 1, SG_METRIC_PEARSON | SG_METRIC_SPEARMAN},
        {"STSB", "stsb", "STS-B", 1, 1, 1, SG_METRIC_PEARSON | SG_METRIC_SPEARMAN},
        {"qqp", "qqp", "QQP", 2, 0, 1, SG_METRIC_ACCURACY | SG_METRIC_F1},
        {"mnli", "mnli", "MNLI", 3, 0, 1, SG_METRIC_ACCURACY},
        {"MNLI-MM", "mnli-mm", "MNLI", 3, 0, 1, SG_METRIC_ACCURACY},
        {"mnli_mismatched", "mnli-mm", "MNLI", 3, 0, 1, SG_METRIC_ACCURACY},
        {"qnli", "qnli", "QNLI", 2, 0, 1, SG_METRIC_ACCURACY},
        {"RTE", "rte", "RTE", 2, 0, 1, SG_METRIC_ACCURACY},
        {"wnli", "wnli", "WNLI", 2, 0, 1, SG_METRIC_ACCURACY},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const sg_glue_task *t = task(cases[i].alias);
        CHECK_MSG(t != NULL, "alias %s", cases[i].alias);
        if (!t) continue;
        CHECK_MSG(strcmp(t->name, cases[i].name) == 0, "%s -> %s", cases[i].alias, t->name);
        CHECK(strcmp(t->folder, cases[i].folder) == 0);
        CHECK(t->num_labels == cases[i].labels);
        CHECK(t->is_regression == cases[i].regression);
        CHECK(t->has_pairs == cases[i].pairs);
        CHECK(t->metrics == cases[i].metrics);
    }
    /* HF id2label */
    CHECK(strcmp(task("mnli")->label_names[0], "entailment") == 0);
    CHECK(strcmp(task("mnli")->label_names[1], "neutral") == 0);
    CHECK(strcmp(task("mnli")->label_names[2], "contradiction") == 0);
    CHECK(strcmp(task("rte")->label_names[1], "not_entailment") == 0);
    CHECK(strcmp(task("sst2")->label_names[1], "positive") == 0);
    CHECK(strcmp(task("mrpc")->label_names[1], "equivalent") == 0);
    CHECK(task("stsb")->label_names == NULL);

    CHECK(sg_glue_task_find("foo") == NULL);
    CHECK(error_has("'foo'") && error_has("sst2") && error_has("mnli-mm") && error_has("wnli"));
    CHECK(sg_glue_task_find("") == NULL);

    /* split files */
    CHECK(strcmp(sg_glue_split_file(task("mnli"), SG_SPLIT_DEV), "dev_matched.tsv") == 0);
    CHECK(strcmp(sg_glue_split_file(task("mnli"), SG_SPLIT_DEV_MISMATCHED), "dev_mismatched.tsv") == 0);
    CHECK(strcmp(sg_glue_split_file(task("mnli-mm"), SG_SPLIT_DEV), "dev_mismatched.tsv") == 0);
    CHECK(strcmp(sg_glue_split_file(task("mnli"), SG_SPLIT_TEST_MISMATCHED), "test_mismatched.tsv") == 0);
    CHECK(strcmp(sg_glue_split_file(task("sst2"), SG_SPLIT_DEV), "dev.tsv") == 0);
    CHECK(sg_glue_split_file(task("sst2"), SG_SPLIT_DEV_MISMATCHED) == NULL);
    sg_glue_split s = SG_SPLIT_TRAIN;
    CHECK(sg_glue_split_parse("validation", &s) == 0 && s == SG_SPLIT_DEV);
    CHECK(sg_glue_split_parse("dev_mismatched", &s) == 0 && s == SG_SPLIT_DEV_MISMATCHED);
    CHECK(sg_glue_split_parse("Test", &s) == 0 && s == SG_SPLIT_TEST);
    CHECK(sg_glue_split_parse("holdout", &s) != 0 && error_has("holdout"));
}

/* ---- the real files ---- */

static void check_real(const char *dir, const char *name, sg_glue_split split, size_t rows, long ones,
                       double score_sum) {
    sg_glue_data d;
    int rc = sg_glue_load(dir, task(name), split, &d);
    CHECK_MSG(rc == 0, "%s %s: %s", name, sg_glue_split_name(split), sg_last_error());
    if (rc != 0) return;
    CHECK_MSG(d.count == rows, "%s %s: %zu rows, README says %zu", name, sg_glue_split_name(split), d.count, rows);
    CHECK_MSG(d.skipped == 0, "%s %s: %zu skipped (first line %zu: %s)", name, sg_glue_split_name(split),
              d.skipped, d.first_skipped_line, d.skip_reason);
    CHECK(d.has_labels);
    if (d.is_regression) {
        double sum = 0;
        for (size_t i = 0; i < d.count; i++) sum += d.score[i];
        CHECK_NEAR(sum, score_sum, 1e-2);
    } else {
        long n1 = 0;
        for (size_t i = 0; i < d.count; i++) n1 += d.label[i] == 1;
        CHECK_MSG(n1 == ones, "%s %s: %ld rows of label 1, expected %ld", name, sg_glue_split_name(split), n1, ones);
    }
    for (size_t i = 0; i < d.count; i++) { /* no line ends or tabs leak into the text */
        if (strpbrk(d.text_a[i], "\t\r\n") || (d.text_b && strpbrk(d.text_b[i], "\t\r\n"))) {
            CHECK_MSG(0, "%s row %zu has a control char", name, i);
            break;
        }
    }
    sg_glue_data_free(&d);
}

static void test_real_files(const char *shared) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/glue", shared);
    check_real(dir, "cola", SG_SPLIT_TRAIN, 8551, 6023, 0);
    check_real(dir, "cola", SG_SPLIT_DEV, 1043, 721, 0);
    check_real(dir, "sst2", SG_SPLIT_TRAIN, 67349, 37569, 0);
    check_real(dir, "sst2", SG_SPLIT_DEV, 872, 444, 0);
    check_real(dir, "mrpc", SG_SPLIT_TRAIN, 3668, 2474, 0);
    check_real(dir, "mrpc", SG_SPLIT_DEV, 408, 279, 0);
    check_real(dir, "stsb", SG_SPLIT_TRAIN, 5749, 0, 15528.0434);
    check_real(dir, "stsb", SG_SPLIT_DEV, 1500, 0, 3545.8613);
    check_real(dir, "qnli", SG_SPLIT_DEV, 5463, 2761, 0);          /* 1 = not_entailment */
    check_real(dir, "rte", SG_SPLIT_TRAIN, 2490, 1241, 0);
    check_real(dir, "rte", SG_SPLIT_DEV, 277, 131, 0);
    check_real(dir, "wnli", SG_SPLIT_TRAIN, 635, 312, 0);
    check_real(dir, "wnli", SG_SPLIT_DEV, 71, 31, 0);

    sg_glue_data d;
    /* spot checks: first and last rows, the BOM file, the file without final newline */
    if (sg_glue_load(dir, task("cola"), SG_SPLIT_TRAIN, &d) == 0) {
        CHECK(strcmp(d.text_a[0], "Our friends won't buy this analysis, let alone the next one we propose.") == 0);
        CHECK(d.label[0] == 1);
        CHECK(d.text_b == NULL);
        CHECK(strcmp(d.label_names[0], "unacceptable") == 0);
        sg_glue_data_free(&d);
    }
    if (sg_glue_load(dir, task("cola"), SG_SPLIT_DEV, &d) == 0) {
        CHECK(strcmp(d.text_a[d.count - 1], "John talked to Bill about himself.") == 0);
        sg_glue_data_free(&d);
    }
    if (sg_glue_load(dir, task("sst2"), SG_SPLIT_DEV, &d) == 0) {
        CHECK(strcmp(d.text_a[0], "it 's a charming and often affecting journey . ") == 0);
        CHECK(d.label[0] == 1 && d.label[1] == 0);
        sg_glue_data_free(&d);
    }
    if (sg_glue_load(dir, task("mrpc"), SG_SPLIT_DEV, &d) == 0) {
        CHECK(d.label[0] == 1 && d.label[1] == 0);
        CHECK(strcmp(d.text_a[0], "He said the foodservice pie business doesn 't fit the company 's long-term growth strategy .") == 0);
        CHECK(strncmp(d.text_b[0], "\" The foodservice pie business", 30) == 0); /* quotes are text */
        sg_glue_data_free(&d);
    }
    if (sg_glue_load(dir, task("stsb"), SG_SPLIT_DEV, &d) == 0) {
        CHECK(d.label == NULL && d.score != NULL);
        CHECK_NEAR(d.score[0], 5.0, 1e-6);
        CHECK_NEAR(d.score[1], 4.75, 1e-6);
        CHECK(strcmp(d.text_a[0], "A man with a hard hat is dancing.") == 0);
        CHECK(strcmp(d.text_b[0], "A man wearing a hard hat is dancing.") == 0);
        sg_glue_data_free(&d);
    }
    if (sg_glue_load(dir, task("qnli"), SG_SPLIT_DEV, &d) == 0) {
        CHECK(d.label[0] == 0 && d.label[1] == 1);
        CHECK(strcmp(d.text_a[0], "What came into force after the new constitution was herald?") == 0);
        sg_glue_data_free(&d);
    }
    if (sg_glue_load(dir, task("rte"), SG_SPLIT_DEV, &d) == 0) {
        CHECK(d.label[0] == 1);
        CHECK(strcmp(d.text_b[0], "Christopher Reeve had an accident.") == 0);
        sg_glue_data_free(&d);
    }
    if (sg_glue_load(dir, task("wnli"), SG_SPLIT_DEV, &d) == 0) {
        CHECK(d.label[0] == 0 && d.label[1] == 1);
        sg_glue_data_free(&d);
    }
    /* a real file of another task's layout */
    char path[4300];
    snprintf(path, sizeof path, "%s/SST-2/dev.tsv", dir);
    CHECK(sg_glue_load_tsv(task("rte"), path, 1, &d) != 0);
    CHECK(error_has(path) && error_has(":1:") && error_has("'sentence1'"));
    /* MNLI and QQP are absent from the shared data */
    CHECK(sg_glue_load(dir, task("qqp"), SG_SPLIT_TRAIN, &d) != 0 && error_has("QQP"));
}

/* ---- hand-made files ---- */

static void test_mnli(void) {
    const char *hdr_train = "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\t"
                            "sentence1_parse\tsentence2_parse\tsentence1\tsentence2\tlabel1\tgold_label\n";
    const char *hdr_dev = "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\t"
                          "sentence1_parse\tsentence2_parse\tsentence1\tsentence2\tlabel1\tlabel2\tlabel3\tlabel4\t"
                          "label5\tgold_label\n";
    char buf[4096];
    snprintf(buf, sizeof buf,
             "%s0\t1\t1e\tfiction\t( ( A b ) )\t( B )\t(ROOT (S A b))\t(ROOT B)\tA b.\tB.\tneutral\tneutral\n"
             "1\t2\t2c\tgovernment\t( C )\t( D )\t(ROOT C)\t(ROOT D)\tC c.\tD d.\tcontradiction\tcontradiction\n"
             "2\t3\t3e\ttravel\t( E )\t( F )\t(ROOT E)\t(ROOT F)\tE e.\tF f.\tentailment\tentailment\n",
             hdr_train);
    write_tmp("MNLI/train.tsv", buf, strlen(buf));
    snprintf(buf, sizeof buf,
             "%s0\t1\t1e\tfiction\t( A )\t( B )\t(ROOT A)\t(ROOT B)\tM1 a.\tM1 b.\tentailment\tentailment\tneutral\tentailment\tentailment\tentailment\n"
             "1\t2\t2n\tfiction\t( A )\t( B )\t(ROOT A)\t(ROOT B)\tM2 a.\tM2 b.\tneutral\tneutral\tneutral\tentailment\tneutral\tneutral\n"
             "2\t3\t3c\tfiction\t( A )\t( B )\t(ROOT A)\t(ROOT B)\tM3 a.\tM3 b.\tneutral\tcontradiction\tentailment\tneutral\tcontradiction\t-\n",
             hdr_dev);
    write_tmp("MNLI/dev_matched.tsv", buf, strlen(buf));
    snprintf(buf, sizeof buf,
             "%s0\t1\t1c\tletters\t( A )\t( B )\t(ROOT A)\t(ROOT B)\tX1 a.\tX1 b.\tcontradiction\tcontradiction\tcontradiction\tcontradiction\tcontradiction\tcontradiction\n",
             hdr_dev);
    write_tmp("MNLI/dev_mismatched.tsv", buf, strlen(buf));
    WRITE("MNLI/test_matched.tsv",
          "index\tpromptID\tpairID\tgenre\tsentence1_binary_parse\tsentence2_binary_parse\tsentence1_parse\t"
          "sentence2_parse\tsentence1\tsentence2\n0\t1\t1\tfiction\t( A )\t( B )\t(ROOT A)\t(ROOT B)\tT a.\tT b.\n");

    sg_glue_data d;
    CHECK(sg_glue_load(g_tmp, task("mnli"), SG_SPLIT_TRAIN, &d) == 0);
    if (d.count == 3) {
        CHECK(d.label[0] == 1 && d.label[1] == 2 && d.label[2] == 0);
        CHECK(strcmp(d.text_a[0], "A b.") == 0 && strcmp(d.text_b[1], "D d.") == 0);
        CHECK(d.skipped == 0 && d.num_labels == 3);
    } else CHECK_MSG(0, "mnli train: %zu rows (%s)", d.count, sg_last_error());
    sg_glue_data_free(&d);

    CHECK(sg_glue_load(g_tmp, task("mnli"), SG_SPLIT_DEV, &d) == 0);
    CHECK(d.count == 2 && d.skipped == 1 && d.first_skipped_line == 4); /* gold_label '-' */
    CHECK(strstr(d.skip_reason, "'-'") != NULL);
    if (d.count == 2) CHECK(d.label[0] == 0 && d.label[1] == 1 && strcmp(d.text_a[1], "M2 a.") == 0);
    sg_glue_data_free(&d);

    CHECK(sg_glue_load(g_tmp, task("mnli"), SG_SPLIT_DEV_MISMATCHED, &d) == 0);
    CHECK(d.count == 1 && d.label && d.label[0] == 2 && strcmp(d.text_a[0], "X1 a.") == 0);
    sg_glue_data_free(&d);
    CHECK(sg_glue_load(g_tmp, task("mnli-mm"), SG_SPLIT_DEV, &d) == 0);
    CHECK(d.count == 1 && strcmp(d.text_b[0], "X1 b.") == 0);
    sg_glue_data_free(&d);

    CHECK(sg_glue_load(g_tmp, task("mnli"), SG_SPLIT_TEST, &d) == 0);
    CHECK(d.count == 1 && !d.has_labels && d.label[0] == -1 && strcmp(d.text_b[0], "T b.") == 0);
    sg_glue_data_free(&d);
    /* mnli-mm's test split is test_mismatched.tsv, which is absent */
    CHECK(sg_glue_load(g_tmp, task("mnli-mm"), SG_SPLIT_TEST, &d) != 0);
    CHECK(error_has("MNLI/test_mismatched.tsv"));
}

static void test_qqp(void) {
    WRITE("QQP/train.tsv",
          "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n"
          "0\t1\t2\tHow do I learn C?\tWhat is the best way to learn C?\t1\n"
          "1\t3\t4\tWhy is the sky blue?\tHow tall is Everest?\t0\n"
          "2\t5\t6\tA question with no pair\t1\n" /* 5 columns: GLUE processor skips it */
          "3\t7\t8\tIs \"this\" quoted?\tIt 's \"half\t0\n");
    sg_glue_data d;
    CHECK(sg_glue_load(g_tmp, task("qqp"), SG_SPLIT_TRAIN, &d) == 0);
    CHECK(d.count == 3 && d.skipped == 1 && d.first_skipped_line == 4);
    CHECK(strstr(d.skip_reason, "column count 5 (expected 6)") != NULL);
    if (d.count == 3) {
        CHECK(d.label[0] == 1 && d.label[1] == 0 && d.label[2] == 0);
        CHECK(strcmp(d.text_a[2], "Is \"this\" quoted?") == 0 && strcmp(d.text_b[2], "It 's \"half") == 0);
    }
    sg_glue_data_free(&d);
}

static void test_quirks(void) {
    /* BOM + CRLF + quotes + no final newline, SST-2 layout */
    const char *p = WRITE("bom.tsv", "\xEF\xBB\xBFsentence\tlabel\r\n"
                                     "\"quoted\" text , it 's fine \t1\r\n"
                                     "a \"half quote\t0\r\n"
                                     "\r\n"
                                     "last line without newline\t1");
    sg_glue_data d;
    CHECK(sg_glue_load_tsv(task("sst2"), p, 1, &d) == 0);
    CHECK(d.count == 3 && d.skipped == 0);
    if (d.count == 3) {
        CHECK(strcmp(d.text_a[0], "\"quoted\" text , it 's fine ") == 0);
        CHECK(strcmp(d.text_a[1], "a \"half quote") == 0);
        CHECK(strcmp(d.text_a[2], "last line without newline") == 0);
        CHECK(d.label[0] == 1 && d.label[1] == 0 && d.label[2] == 1);
    }
    sg_glue_data_free(&d);

    /* bad rows are skipped and counted, with the first one's line */
    p = WRITE("bad.tsv", "index\tsentence1\tsentence2\tlabel\n"
                         "0\ta\tb\tentailment\n"
                         "1\ta\tnot_entailment\n"            /* 3 columns */
                         "2\ta\tb\tmaybe\n"                  /* unknown label */
                         "3\ta\tb\tc\tentailment\n"          /* 5 columns */
                         "4\tx\ty\t not_entailment \n");     /* padded label is fine */
    CHECK(sg_glue_load_tsv(task("rte"), p, 1, &d) == 0);
    CHECK(d.count == 2 && d.skipped == 3 && d.first_skipped_line == 3);
    CHECK(strstr(d.skip_reason, "wrong column count 3 (expected 4)") != NULL);
    if (d.count == 2) CHECK(d.label[0] == 0 && d.label[1] == 1);
    sg_glue_data_free(&d);

    p = WRITE("badlabel.tsv", "sentence\tlabel\nok\t1\nno\t2\nyes\tpositive\n");
    CHECK(sg_glue_load_tsv(task("sst2"), p, 1, &d) == 0);
    CHECK(d.count == 1 && d.skipped == 2 && d.first_skipped_line == 3);
    CHECK(strstr(d.skip_reason, "unknown label '2' (expected 0|1)") != NULL);
    sg_glue_data_free(&d);

    p = WRITE("badscore.tsv", "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
                              "0\tg\tf\ty\t0\tn\tn\ta\tb\t3.5\n"
                              "1\tg\tf\ty\t0\tn\tn\ta\tb\tabc\n"
                              "2\tg\tf\ty\t0\tn\tn\ta\tb\tnan\n");
    CHECK(sg_glue_load_tsv(task("stsb"), p, 1, &d) == 0);
    CHECK(d.count == 1 && d.skipped == 2 && d.score && fabsf(d.score[0] - 3.5f) < 1e-6f);
    sg_glue_data_free(&d);

    /* test split: no labels */
    p = WRITE("SST-2/test.tsv", "index\tsentence\n0\tfirst\n1\tsecond\n");
    CHECK(sg_glue_load(g_tmp, task("sst2"), SG_SPLIT_TEST, &d) == 0);
    CHECK(d.count == 2 && !d.has_labels && d.label[0] == -1 && d.label[1] == -1 && strcmp(d.text_a[1], "second") == 0);
    sg_glue_data_free(&d);
    p = WRITE("CoLA/test.tsv", "index\tsentence\n0\tThe cat sat.\n");
    CHECK(sg_glue_load(g_tmp, task("cola"), SG_SPLIT_TEST, &d) == 0);
    CHECK(d.count == 1 && d.label[0] == -1 && strcmp(d.text_a[0], "The cat sat.") == 0);
    sg_glue_data_free(&d);
    p = WRITE("STS-B/test.tsv", "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\n"
                                "0\tg\tf\ty\t0\tn\tn\ta\tb\n");
    CHECK(sg_glue_load(g_tmp, task("stsb"), SG_SPLIT_TEST, &d) == 0);
    CHECK(d.count == 1 && d.score && isnan(d.score[0]) && !d.has_labels);
    sg_glue_data_free(&d);

    /* a very long line */
    size_t n = 300000;
    char *big = malloc(n + 64);
    if (big) {
        memcpy(big, "sentence\tlabel\n", 15);
        memset(big + 15, 'x', n);
        memcpy(big + 15 + n, "\t0\n", 3);
        p = write_tmp("long.tsv", big, 15 + n + 3);
        CHECK(sg_glue_load_tsv(task("sst2"), p, 1, &d) == 0);
        CHECK(d.count == 1 && strlen(d.text_a[0]) == n);
        sg_glue_data_free(&d);
        free(big);
    }
}

static void test_errors(void) {
    sg_glue_data d;
    const char *p = WRITE("empty.tsv", "");
    CHECK(sg_glue_load_tsv(task("sst2"), p, 1, &d) != 0);
    CHECK(error_has(p) && error_has("empty"));
    p = WRITE("blank.tsv", "\n\r\n");
    CHECK(sg_glue_load_tsv(task("sst2"), p, 1, &d) != 0 && error_has(p) && error_has("empty"));
    p = WRITE("header.tsv", "sentence\tlabel\n");
    CHECK(sg_glue_load_tsv(task("sst2"), p, 1, &d) != 0);
    CHECK(error_has(p) && error_has("header only"));
    p = WRITE("empty_cola.tsv", "");
    CHECK(sg_glue_load_tsv(task("cola"), p, 1, &d) != 0 && error_has(p));

    /* a file of another task's layout */
    p = WRITE("sst_as_mrpc.tsv", "sentence\tlabel\ngood\t1\n");
    CHECK(sg_glue_load_tsv(task("mrpc"), p, 1, &d) != 0);
    CHECK(error_has(p) && error_has(":1:") && error_has("'#1 String'") && error_has("task mrpc"));
    p = WRITE("rte_as_stsb.tsv", "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n");
    CHECK(sg_glue_load_tsv(task("stsb"), p, 1, &d) != 0 && error_has(p) && error_has("'score'"));
    /* header-less CoLA given a 2-column file: every row skipped -> error with the first line */
    p = WRITE("sst_as_cola.tsv", "sentence\tlabel\ngood\t1\n");
    CHECK(sg_glue_load_tsv(task("cola"), p, 1, &d) != 0);
    CHECK(error_has(p) && error_has("all 2 skipped") && error_has("line 1"));
    /* test file without the text column */
    p = WRITE("notext.tsv", "index\tquestion\n0\tq\n");
    CHECK(sg_glue_load_tsv(task("sst2"), p, 0, &d) != 0 && error_has("'sentence'"));

    /* missing paths */
    CHECK(sg_glue_load(g_tmp, task("wnli"), SG_SPLIT_TRAIN, &d) != 0);
    CHECK(error_has(g_tmp) && error_has("WNLI") && error_has("folder"));
    WRITE("RTE/train.tsv", "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n");
    CHECK(sg_glue_load(g_tmp, task("rte"), SG_SPLIT_DEV, &d) != 0);
    CHECK(error_has("RTE/dev.tsv") && error_has("not found"));
    CHECK(sg_glue_load(g_tmp, task("rte"), SG_SPLIT_TRAIN, &d) == 0 && d.count == 1);
    sg_glue_data_free(&d);
    CHECK(sg_glue_load("/nonexistent/glue", task("rte"), SG_SPLIT_DEV, &d) != 0 && error_has("/nonexistent/glue"));
    CHECK(sg_glue_load(g_tmp, task("rte"), SG_SPLIT_DEV_MISMATCHED, &d) != 0 && error_has("dev_mismatched"));
    CHECK(sg_glue_load_tsv(task("rte"), tmp_path("nope.tsv"), 1, &d) != 0 && error_has("nope.tsv"));
    char small[16]; /* shorter than the temp dir's name */
    CHECK(sg_glue_resolve(g_tmp, task("rte"), SG_SPLIT_TRAIN, small, sizeof small) != 0 && error_has("too long"));
}

/* ---- custom CSV / JSON lines ---- */

static void test_custom_csv(void) {
    sg_glue_data tr, dv, d;
    const char *p = WRITE("train.csv", "\xEF\xBB\xBFidx,sentence1,sentence2,label\r\n"
                                       "0,\"Hello, world\",plain,pos\r\n"
                                       "1,\"She said \"\"hi\"\"\",\"two\nlines\",neg\r\n"
                                       "\r\n"
                                       "2,a,b,mid\n"
                                       "3,a,b\n"      /* too few fields: skipped */
                                       "4,a,b,\n"     /* empty label: skipped */
                                       "5,c,d,pos");
    CHECK(sg_glue_load_custom(p, NULL, &tr) == 0);
    CHECK(tr.count == 4 && tr.skipped == 2 && tr.first_skipped_line == 7);
    CHECK(tr.label_kind == SG_LABELS_STRING && tr.num_labels == 3 && !tr.is_regression);
    if (tr.num_labels == 3) /* sorted distinct strings, as HF's label_list.sort() */
        CHECK(strcmp(tr.label_names[0], "mid") == 0 && strcmp(tr.label_names[1], "neg") == 0 &&
              strcmp(tr.label_names[2], "pos") == 0);
    if (tr.count == 4) {
        CHECK(strcmp(tr.text_a[0], "Hello, world") == 0 && strcmp(tr.text_b[0], "plain") == 0);
        CHECK(strcmp(tr.text_a[1], "She said \"hi\"") == 0 && strcmp(tr.text_b[1], "two\nlines") == 0);
        CHECK(tr.label[0] == 2 && tr.label[1] == 1 && tr.label[2] == 0 && tr.label[3] == 2);
    }
    /* validation file with the training label space: unknown labels are skipped */
    p = WRITE("dev.csv", "sentence1,sentence2,label\nx,y,neg\nx,y,other\nx,y,pos\n");
    CHECK(sg_glue_load_custom(p, &tr, &dv) == 0);
    CHECK(dv.count == 2 && dv.skipped == 1 && dv.first_skipped_line == 3 && dv.num_labels == 3);
    if (dv.count == 2) CHECK(dv.label[0] == 1 && dv.label[1] == 2);
    sg_glue_data_free(&dv);
    /* prediction file: no label column */
    p = WRITE("test.csv", "sentence1,sentence2\nx,y\n");
    CHECK(sg_glue_load_custom(p, &tr, &dv) == 0);
    CHECK(dv.count == 1 && !dv.has_labels && dv.label[0] == -1);
    sg_glue_data_free(&dv);
    sg_glue_data_free(&tr);

    /* integer labels: ids in numeric order */
    p = WRITE("ints.csv", "sentence,label\na,10\nb,2\nc,-1\nd,2\n");
    CHECK(sg_glue_load_custom(p, NULL, &d) == 0);
    CHECK(d.label_kind == SG_LABELS_INT && d.num_labels == 3 && d.text_b == NULL);
    if (d.count == 4) CHECK(d.label[0] == 2 && d.label[1] == 1 && d.label[2] == 0 && d.label[3] == 1);
    if (d.num_labels == 3) CHECK(strcmp(d.label_names[0], "-1") == 0 && strcmp(d.label_names[2], "10") == 0);
    sg_glue_data_free(&d);
    /* any float literal makes the column float -> regression */
    p = WRITE("floats.csv", "sentence1,sentence2,label\na,b,1\nc,d,2.5\ne,f,4.0\n");
    CHECK(sg_glue_load_custom(p, NULL, &d) == 0);
    CHECK(d.is_regression && d.label_kind == SG_LABELS_FLOAT && d.score && d.label == NULL && d.num_labels == 1);
    if (d.count == 3) CHECK(d.score[0] == 1.0f && d.score[1] == 2.5f && d.score[2] == 4.0f);
    sg_glue_data_free(&d);
    /* mixed numbers and words -> strings */
    p = WRITE("mixed.csv", "sentence,label\na,1\nb,x\n");
    CHECK(sg_glue_load_custom(p, NULL, &d) == 0 && d.label_kind == SG_LABELS_STRING && d.num_labels == 2);
    sg_glue_data_free(&d);

    /* errors */
    p = WRITE("nocol.csv", "text,label\na,1\n");
    CHECK(sg_glue_load_custom(p, NULL, &d) != 0 && error_has(p) && error_has(":1:") && error_has("'sentence1'"));
    p = WRITE("unterminated.csv", "sentence,label\na,1\n\"open,1\nmore\n");
    CHECK(sg_glue_load_custom(p, NULL, &d) != 0 && error_has(p) && error_has(":3:") && error_has("unterminated"));
    p = WRITE("empty.csv", "");
    CHECK(sg_glue_load_custom(p, NULL, &d) != 0 && error_has(p) && error_has("empty"));
    p = WRITE("header.csv", "sentence,label\n");
    CHECK(sg_glue_load_custom(p, NULL, &d) != 0 && error_has(p) && error_has("header only"));
    p = WRITE("data.txt", "x");
    CHECK(sg_glue_load_custom(p, NULL, &d) != 0 && error_has(p) && error_has(".csv"));
    CHECK(sg_glue_load_custom(tmp_path("missing.csv"), NULL, &d) != 0 && error_has("missing.csv"));
}

static void test_custom_jsonl(void) {
    sg_glue_data tr, d;
    const char *p = WRITE("train.jsonl", "{\"sentence1\": \"a \\\"b\\\"\", \"sentence2\": \"c\", \"label\": \"yes\"}\n"
                                         "\n"
                                         "{\"sentence1\": \"d\", \"sentence2\": \"e\", \"label\": \"no\", \"idx\": 3}\r\n"
                                         "not json\n"
                                         "{\"sentence1\": \"f\", \"label\": \"no\"}\n"        /* no sentence2 */
                                         "{\"sentence1\": \"g\", \"sentence2\": \"h\", \"label\": null}\n"
                                         "{\"sentence1\": \"i\", \"sentence2\": \"j\", \"label\": \"yes\"}");
    CHECK(sg_glue_load_custom(p, NULL, &tr) == 0);
    CHECK(tr.count == 3 && tr.skipped == 3 && tr.first_skipped_line == 4);
    CHECK(tr.num_labels == 2 && tr.label_kind == SG_LABELS_STRING);
    if (tr.count == 3) {
        CHECK(strcmp(tr.text_a[0], "a \"b\"") == 0 && strcmp(tr.text_b[0], "c") == 0);
        CHECK(tr.label[0] == 1 && tr.label[1] == 0 && tr.label[2] == 1); /* no=0, yes=1 */
    }
    p = WRITE("dev.json", "{\"sentence1\": \"x\", \"sentence2\": \"y\", \"label\": \"no\"}\n"
                          "{\"sentence1\": \"x\", \"sentence2\": \"y\", \"label\": \"maybe\"}\n");
    CHECK(sg_glue_load_custom(p, &tr, &d) == 0 && d.count == 1 && d.skipped == 1 && d.label[0] == 0);
    sg_glue_data_free(&d);
    sg_glue_data_free(&tr);

    p = WRITE("ints.jsonl", "{\"sentence\": \"a\", \"label\": 1}\n{\"sentence\": \"b\", \"label\": 0}\n");
    CHECK(sg_glue_load_custom(p, NULL, &d) == 0 && d.label_kind == SG_LABELS_INT && d.text_b == NULL);
    if (d.count == 2) CHECK(d.label[0] == 1 && d.label[1] == 0);
    sg_glue_data_free(&d);
    p = WRITE("floats.jsonl", "{\"sentence1\": \"a\", \"sentence2\": \"b\", \"label\": 3}\n"
                              "{\"sentence1\": \"c\", \"sentence2\": \"d\", \"label\": 0.25}\n");
    CHECK(sg_glue_load_custom(p, NULL, &d) == 0 && d.is_regression && d.score);
    if (d.count == 2) CHECK(d.score[0] == 3.0f && d.score[1] == 0.25f);
    sg_glue_data_free(&d);

    p = WRITE("mixed.jsonl", "{\"sentence\": \"a\", \"label\": 1}\n{\"sentence\": \"b\", \"label\": \"x\"}\n");
    CHECK(sg_glue_load_custom(p, NULL, &d) != 0 && error_has(p) && error_has("mixes"));
    p = WRITE("array.json", "[{\"sentence\": \"a\", \"label\": 1}]\n");
    CHECK(sg_glue_load_custom(p, NULL, &d) != 0 && error_has(p) && error_has(":1:") && error_has("JSON lines"));
    p = WRITE("nokey.jsonl", "{\"text\": \"a\", \"label\": 1}\n");
    CHECK(sg_glue_load_custom(p, NULL, &d) != 0 && error_has(p) && error_has(":1:") && error_has("'sentence1'"));
    p = WRITE("allbad.jsonl", "{\"sentence\": \"a\", \"label\": 1}\n{oops\n");
    CHECK(sg_glue_load_custom(p, NULL, &d) == 0 && d.count == 1 && d.skipped == 1 && d.first_skipped_line == 2);
    sg_glue_data_free(&d);
    p = WRITE("empty.jsonl", "\n\n");
    CHECK(sg_glue_load_custom(p, NULL, &d) != 0 && error_has(p) && error_has("empty"));
}

int main(void) {
    const char *t = sg_test_tmpdir();
    if (!t) sg_test_skip("no temporary directory");
    snprintf(g_tmp, sizeof g_tmp, "%s", t);

    test_task_table();
    test_mnli();
    test_qqp();
    test_quirks();
    test_errors();
    test_custom_csv();
    test_custom_jsonl();

    const char *shared = sg_test_shared_dir();
    if (shared) {
        char glue[4200];
        struct stat st;
        snprintf(glue, sizeof glue, "%s/glue", shared);
        if (stat(glue, &st) == 0) test_real_files(shared);
        else printf("note: %s absent, real GLUE files not checked\n", glue);
    } else {
        printf("note: ../shared absent, real GLUE files not checked\n");
    }
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0) fprintf(stderr, "note: could not remove %s\n", g_tmp);
    return sg_test_done();
}
