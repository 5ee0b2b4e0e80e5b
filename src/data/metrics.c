#include "data/metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define SG_MCC_MAX_CLASSES 65536

double sg_metric_accuracy(const int *pred, const int *label, size_t n) {
    if (n == 0) return NAN;
    size_t hits = 0;
    for (size_t i = 0; i < n; i++) hits += pred[i] == label[i];
    return (double)hits / (double)n;
}

double sg_metric_f1(const int *pred, const int *label, size_t n) {
    /* sklearn: 2*tp / (2*tp + fp + fn), zero_division -> 0 */
    double tp = 0, fp = 0, fn = 0;
    for (size_t i = 0; i < n; i++) {
        int p = pred[i] == 1, t = label[i] == 1;
        tp += p && t;
        fp += p && !t;
        fn += !p && t;
    }
    double denom = 2.0 * tp + fp + fn;
    return denom == 0 ? 0.0 : 2.0 * tp / denom;
}

double sg_metric_matthews(const int *pred, const int *label, size_t n) {
    /* sklearn's matthews_corrcoef, in float64 like sklearn (no int overflow for large n). */
    int classes = 0;
    for (size_t i = 0; i < n; i++) {
        if (pred[i] < 0 || label[i] < 0 || pred[i] >= SG_MCC_MAX_CLASSES || label[i] >= SG_MCC_MAX_CLASSES)
            return NAN;
        if (pred[i] + 1 > classes) classes = pred[i] + 1;
        if (label[i] + 1 > classes) classes = label[i] + 1;
    }
    if (n == 0) return NAN;
    double *t_sum = calloc((size_t)classes * 2, sizeof *t_sum);
    if (!t_sum) return NAN;
    double *p_sum = t_sum + classes;
    double correct = 0;
    for (size_t i = 0; i < n; i++) {
        t_sum[label[i]] += 1;
        p_sum[pred[i]] += 1;
        correct += pred[i] == label[i];
    }
    double samples = (double)n, tp = 0, pp = 0, tt = 0;
    for (int k = 0; k < classes; k++) {
        tp += t_sum[k] * p_sum[k];
        pp += p_sum[k] * p_sum[k];
        tt += t_sum[k] * t_sum[k];
    }
    free(t_sum);
    double cov_ytyp = correct * samples - tp;
    double cov_ypyp = samples * samples - pp;
    double cov_ytyt = samples * samples - tt;
    if (cov_ypyp * cov_ytyt == 0) return 0.0;
    return cov_ytyp / sqrt(cov_ytyt * cov_ypyp);
}

static int all_equal(const double *x, size_t n) {
    for (size_t i = 1; i < n; i++)
        if (x[i] != x[0]) return 0;
    return 1;
}

/* scipy.stats.pearsonr on float64 data: NaN for constant input, sign product for n == 2,
 * otherwise normalised centred dot product clipped to [-1, 1]. */
static double pearson_double(const double *x, const double *y, size_t n) {
    if (n < 2) return NAN;
    if (all_equal(x, n) || all_equal(y, n)) return NAN;
    if (n == 2) {
        double sx = (x[1] > x[0]) - (x[1] < x[0]), sy = (y[1] > y[0]) - (y[1] < y[0]);
        return sx * sy;
    }
    double mx = 0, my = 0;
    for (size_t i = 0; i < n; i++) {
        mx += x[i];
        my += y[i];
    }
    mx /= (double)n;
    my /= (double)n;
    double sxx = 0, syy = 0;
    for (size_t i = 0; i < n; i++) {
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    double nx = sqrt(sxx), ny = sqrt(syy), r = 0;
    for (size_t i = 0; i < n; i++) r += ((x[i] - mx) / nx) * ((y[i] - my) / ny);
    if (isnan(r)) return NAN;
    return r > 1.0 ? 1.0 : r < -1.0 ? -1.0 : r;
}

static double *to_double(const float *v, size_t n) {
    double *d = malloc((n ? n : 1) * sizeof *d);
    if (d)
        for (size_t i = 0; i < n; i++) d[i] = v[i];
    return d;
}

double sg_metric_pearson(const float *x, const float *y, size_t n) {
    double *dx = to_double(x, n), *dy = to_double(y, n);
    double r = dx && dy ? pearson_double(dx, dy, n) : NAN;
    free(dx);
    free(dy);
    return r;
}

typedef struct {
    double value;
    size_t index;
} ranked;

static int cmp_ranked(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->value != y->value) return x->value < y->value ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* scipy.stats.rankdata(method="average"): ranks 1..n, tied values share the mean of their ranks. */
static int average_ranks(const double *v, size_t n, double *rank) {
    ranked *r = malloc((n ? n : 1) * sizeof *r);
    if (!r) return -1;
    for (size_t i = 0; i < n; i++) r[i] = (ranked){v[i], i};
    qsort(r, n, sizeof *r, cmp_ranked);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && r[j].value == r[i].value) j++;
        double avg = 0.5 * (double)(i + 1 + j); /* mean of ranks i+1 .. j */
        for (size_t k = i; k < j; k++) rank[r[k].index] = avg;
        i = j;
    }
    free(r);
    return 0;
}

double sg_metric_spearman(const float *x, const float *y, size_t n) {
    double *dx = to_double(x, n), *dy = to_double(y, n);
    double *rx = malloc((n ? n : 1) * sizeof *rx), *ry = malloc((n ? n : 1) * sizeof *ry);
    double r = NAN;
    if (dx && dy && rx && ry) {
        int has_nan = 0;
        for (size_t i = 0; i < n; i++) has_nan |= isnan(dx[i]) || isnan(dy[i]);
        /* scipy propagates NaN; constant input (all ranks equal) gives NaN via pearson_double */
        if (!has_nan && average_ranks(dx, n, rx) == 0 && average_ranks(dy, n, ry) == 0)
            r = pearson_double(rx, ry, n);
    }
    free(dx);
    free(dy);
    free(rx);
    free(ry);
    return r;
}

static void put(sg_metrics *m, const char *name, double v) {
    m->names[m->count] = name;
    m->values[m->count] = v;
    m->count++;
}

int sg_metrics_compute(unsigned metric_set, const int *pred, const int *label,
                       const float *pred_score, const float *score, size_t n, sg_metrics *out) {
    memset(out, 0, sizeof *out);
    if (n == 0) return sg_fail("metrics: no examples to score");
    unsigned classification = SG_METRIC_ACCURACY | SG_METRIC_F1 | SG_METRIC_MATTHEWS;
    unsigned regression = SG_METRIC_PEARSON | SG_METRIC_SPEARMAN;
    if (!(metric_set & (classification | regression))) return sg_fail("metrics: empty metric set");
    if (metric_set & classification) {
        if (!pred || !label) return sg_fail("metrics: classification metrics need predicted and gold labels");
        for (size_t i = 0; i < n; i++) {
            if (label[i] < 0) return sg_fail("metrics: example %zu has no gold label (%d)", i, label[i]);
            if (pred[i] < 0) return sg_fail("metrics: example %zu has invalid predicted label %d", i, pred[i]);
            if ((metric_set & SG_METRIC_MATTHEWS) && (label[i] >= SG_MCC_MAX_CLASSES || pred[i] >= SG_MCC_MAX_CLASSES))
                return sg_fail("metrics: example %zu: class id out of range", i);
        }
    }
    if (metric_set & regression) {
        if (!pred_score || !score) return sg_fail("metrics: regression metrics need predicted and gold scores");
        for (size_t i = 0; i < n; i++)
            if (isnan(score[i])) return sg_fail("metrics: example %zu has no gold score", i);
    }
    if (metric_set & SG_METRIC_ACCURACY) put(out, "accuracy", sg_metric_accuracy(pred, label, n));
    if (metric_set & SG_METRIC_F1) put(out, "f1", sg_metric_f1(pred, label, n));
    if (metric_set & SG_METRIC_MATTHEWS) put(out, "matthews_correlation", sg_metric_matthews(pred, label, n));
    if (metric_set & SG_METRIC_PEARSON) put(out, "pearson", sg_metric_pearson(pred_score, score, n));
    if (metric_set & SG_METRIC_SPEARMAN) put(out, "spearmanr", sg_metric_spearman(pred_score, score, n));
    if (out->count > 1) { /* run_glue: np.mean(list(result.values())) */
        double sum = 0;
        for (int i = 0; i < out->count; i++) sum += out->values[i];
        put(out, "combined_score", sum / out->count);
    }
    return 0;
}

double sg_metrics_get(const sg_metrics *m, const char *name) {
    for (int i = 0; i < m->count; i++)
        if (strcmp(m->names[i], name) == 0) return m->values[i];
    return NAN;
}

double sg_metrics_main(const sg_metrics *m) {
    if (m->count == 0) return NAN;
    return m->values[m->count - 1]; /* combined_score is last when present */
}
