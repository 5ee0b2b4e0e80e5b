/* GLUE metrics: hand-computed cases, and (when SG_METRICS_CASES names a file written by
 * tests/ref/metrics_ref.py) random cases checked against numpy/scipy reference values. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "data/glue.h"
#include "data/metrics.h"
#include "testlib.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_classification(void) {
    int pred[] = {1, 0, 1, 1, 0}, label[] = {1, 0, 0, 1, 1};
    CHECK_NEAR(sg_metric_accuracy(pred, label, 5), 0.6, 1e-15);
    CHECK_NEAR(sg_metric_f1(pred, label, 5), 2.0 / 3.0, 1e-15); /* tp 2, fp 1, fn 1 */
    CHECK_NEAR(sg_metric_matthews(pred, label, 5), 1.0 / 6.0, 1e-15); /* (2*1-1*1)/sqrt(3*3*2*2) */

    int zeros[] = {0, 0, 0, 0}, mixed[] = {0, 1, 1, 0}, inv[] = {1, 0, 0, 1};
    CHECK(sg_metric_matthews(zeros, mixed, 4) == 0.0); /* constant prediction: denominator 0 */
    CHECK(sg_metric_matthews(mixed, zeros, 4) == 0.0);
    CHECK(sg_metric_f1(zeros, zeros, 4) == 0.0);       /* no positives anywhere: zero_division 0 */
    CHECK(sg_metric_f1(zeros, mixed, 4) == 0.0);
    CHECK(sg_metric_matthews(mixed, mixed, 4) == 1.0);
    CHECK(sg_metric_matthews(inv, mixed, 4) == -1.0);
    CHECK(sg_metric_f1(mixed, mixed, 4) == 1.0);
    CHECK(sg_metric_accuracy(inv, mixed, 4) == 0.0);

    /* multiclass Matthews (sklearn's general form) */
    int p3[] = {0, 1, 2, 0, 1, 2}, l3[] = {0, 1, 2, 1, 2, 0};
    CHECK_NEAR(sg_metric_matthews(p3, l3, 6), 0.25, 1e-15); /* (3*6-12)/sqrt(24*24) */
    int bad[] = {0, -1};
    CHECK(isnan(sg_metric_matthews(bad, bad, 2)));
}

static void test_correlation(void) {
    float x3[] = {1, 2, 3}, y3[] = {2, 4, 6}, r3[] = {3, 2, 1};
    CHECK_NEAR(sg_metric_pearson(x3, y3, 3), 1.0, 1e-12);
    CHECK_NEAR(sg_metric_pearson(x3, r3, 3), -1.0, 1e-12);
    float x4[] = {1, 2, 3, 4}, y4[] = {1, 3, 2, 4};
    CHECK_NEAR(sg_metric_pearson(x4, y4, 4), 0.8, 1e-12);       /* 4 / sqrt(5*5) */
    CHECK_NEAR(sg_metric_spearman(x4, y4, 4), 0.8, 1e-12);
    float t[] = {1, 2, 2, 3};                                    /* ties: ranks 1, 2.5, 2.5, 4 */
    CHECK_NEAR(sg_metric_spearman(t, x4, 4), 4.5 / sqrt(22.5), 1e-12);
    float mono[] = {10, 20, 30, 1000};                           /* monotone, not linear */
    CHECK_NEAR(sg_metric_spearman(mono, x4, 4), 1.0, 1e-12);
    CHECK(sg_metric_pearson(mono, x4, 4) < 0.9);
    float c[] = {2, 2, 2, 2};
    CHECK(isnan(sg_metric_pearson(c, x4, 4)));                  /* scipy: constant input -> nan */
    CHECK(isnan(sg_metric_spearman(x4, c, 4)));
    float a2[] = {1, 2}, b2[] = {5, 3};
    CHECK(sg_metric_pearson(a2, b2, 2) == -1.0);                 /* scipy's n == 2 rule */
    CHECK(isnan(sg_metric_pearson(a2, b2, 1)));
    float withnan[] = {1, NAN, 3, 4};
    CHECK(isnan(sg_metric_spearman(withnan, x4, 4)));
}

static void test_task_sets(void) {
    sg_metrics m;
    int pred[] = {1, 0, 1, 1, 0}, label[] = {1, 0, 0, 1, 1};
    const sg_glue_task *mrpc = sg_glue_task_find("mrpc");
    CHECK(sg_metrics_compute(mrpc->metrics, pred, label, NULL, NULL, 5, &m) == 0);
    CHECK(m.count == 3);
    CHECK(strcmp(m.names[0], "accuracy") == 0 && strcmp(m.names[1], "f1") == 0 && strcmp(m.names[2], "combined_score") == 0);
    CHECK_NEAR(m.values[2], (0.6 + 2.0 / 3.0) / 2, 1e-15);
    CHECK_NEAR(sg_metrics_main(&m), (0.6 + 2.0 / 3.0) / 2, 1e-15);
    CHECK_NEAR(sg_metrics_get(&m, "f1"), 2.0 / 3.0, 1e-15);
    CHECK(isnan(sg_metrics_get(&m, "pearson")));

    CHECK(sg_metrics_compute(sg_glue_task_find("cola")->metrics, pred, label, NULL, NULL, 5, &m) == 0);
    CHECK(m.count == 1 && strcmp(m.names[0], "matthews_correlation") == 0);
    CHECK_NEAR(sg_metrics_main(&m), 1.0 / 6.0, 1e-15);
    const char *acc_tasks[] = {"sst2", "mnli", "mnli-mm", "qnli", "rte", "wnli"};
    for (size_t i = 0; i < N(acc_tasks); i++) {
        CHECK(sg_metrics_compute(sg_glue_task_find(acc_tasks[i])->metrics, pred, label, NULL, NULL, 5, &m) == 0);
        CHECK_MSG(m.count == 1 && strcmp(m.names[0], "accuracy") == 0, "%s", acc_tasks[i]);
    }
    CHECK(sg_metrics_compute(sg_glue_task_find("qqp")->metrics, pred, label, NULL, NULL, 5, &m) == 0 && m.count == 3);

    float x4[] = {1, 2, 3, 4}, y4[] = {1, 3, 2, 4};
    CHECK(sg_metrics_compute(sg_glue_task_find("stsb")->metrics, NULL, NULL, x4, y4, 4, &m) == 0);
    CHECK(m.count == 3 && strcmp(m.names[0], "pearson") == 0 && strcmp(m.names[1], "spearmanr") == 0);
    CHECK_NEAR(sg_metrics_get(&m, "combined_score"), 0.8, 1e-12);

    /* errors */
    CHECK(sg_metrics_compute(SG_METRIC_ACCURACY, pred, label, NULL, NULL, 0, &m) != 0);
    CHECK(sg_metrics_compute(SG_METRIC_PEARSON, pred, label, NULL, NULL, 5, &m) != 0);
    int unlabelled[] = {1, -1, 0, 0, 1};
    CHECK(sg_metrics_compute(SG_METRIC_ACCURACY, pred, unlabelled, NULL, NULL, 5, &m) != 0);
    CHECK(strstr(sg_last_error(), "example 1") != NULL);
    float nolabel[] = {1, 2, NAN, 4};
    CHECK(sg_metrics_compute(SG_METRIC_PEARSON, NULL, NULL, x4, nolabel, 4, &m) != 0);
    CHECK(sg_metrics_compute(0, pred, label, NULL, NULL, 5, &m) != 0);
}

/* ---- reference cases from tests/ref/metrics_ref.py ---- */

static int same(double got, double want) {
    if (isnan(want)) return isnan(got);
    return fabs(got - want) <= 1e-9 + 1e-9 * fabs(want);
}

/* Read "<word> v1 v2 ..." with exactly n values into `out`. */
static int read_values(FILE *f, const char *word, size_t n, double *out) {
    char w[16];
    if (fscanf(f, "%15s", w) != 1 || strcmp(w, word) != 0) return -1;
    for (size_t i = 0; i < n; i++)
        if (fscanf(f, "%lf", &out[i]) != 1) return -1;
    return 0;
}

static void test_reference_file(const char *path) {
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "cannot open %s", path);
    if (!f) return;
    unsigned bits;
    size_t n, cases = 0, compared = 0;
    char word[32];
    while (fscanf(f, "%31s", word) == 1) {
        if (strcmp(word, "case") != 0 || fscanf(f, "%u %zu", &bits, &n) != 2 || n == 0 || n > 10000000) {
            CHECK_MSG(0, "%s: malformed case %zu", path, cases + 1);
            break;
        }
        cases++;
        double *p = malloc(n * sizeof *p), *l = malloc(n * sizeof *l);
        int *pi = malloc(n * sizeof *pi), *li = malloc(n * sizeof *li);
        float *pf = malloc(n * sizeof *pf), *lf = malloc(n * sizeof *lf);
        if (!p || !l || !pi || !li || !pf || !lf || read_values(f, "pred", n, p) || read_values(f, "label", n, l)) {
            CHECK_MSG(0, "%s: case %zu: bad values", path, cases);
            free(p), free(l), free(pi), free(li), free(pf), free(lf);
            break;
        }
        for (size_t i = 0; i < n; i++) {
            pi[i] = (int)p[i], li[i] = (int)l[i];
            pf[i] = (float)p[i], lf[i] = (float)l[i];
        }
        sg_metrics m;
        int rc = sg_metrics_compute(bits, pi, li, pf, lf, n, &m);
        CHECK_MSG(rc == 0, "case %zu: %s", cases, sg_last_error());
        /* expect line: names and values until end of line */
        char line[4096];
        if (fscanf(f, "%15s", word) != 1 || strcmp(word, "expect") != 0 || !fgets(line, sizeof line, f)) {
            CHECK_MSG(0, "%s: case %zu: no expect line", path, cases);
        } else {
            int expected = 0;
            char *save = NULL;
            for (char *name = strtok_r(line, " \n", &save); name; name = strtok_r(NULL, " \n", &save)) {
                char *val = strtok_r(NULL, " \n", &save);
                if (!val) break;
                double want = strcmp(val, "nan") == 0 ? NAN : strtod(val, NULL);
                double got = sg_metrics_get(&m, name);
                CHECK_MSG(same(got, want), "case %zu (bits %u, n %zu): %s = %.17g, reference %.17g", cases, bits, n,
                          name, got, want);
                expected++;
                compared++;
            }
            CHECK_MSG(expected == m.count, "case %zu: %d metrics, reference has %d", cases, m.count, expected);
        }
        free(p), free(l), free(pi), free(li), free(pf), free(lf);
    }
    fclose(f);
    CHECK_MSG(cases > 0, "%s: no cases", path);
    printf("reference cases: %zu cases, %zu values compared\n", cases, compared);
}

int main(void) {
    test_classification();
    test_correlation();
    test_task_sets();
    const char *cases = getenv("SG_METRICS_CASES");
    if (cases && *cases) test_reference_file(cases);
    return sg_test_done();
}
