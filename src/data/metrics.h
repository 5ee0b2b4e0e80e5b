/* GLUE metrics, exactly as HuggingFace `evaluate`'s "glue" metric computes them:
 *   accuracy                mean(pred == label)
 *   f1                      F1 of the positive class 1 (sklearn f1_score, binary; 0 when TP+FP+FN = 0)
 *   matthews_correlation    sklearn matthews_corrcoef (multiclass form; 0 when the denominator is 0)
 *   pearson, spearmanr      scipy pearsonr / spearmanr (average ranks for ties); NaN when either
 *                           input is constant, as scipy returns
 * and run_glue's combined_score = mean of the metrics when a task reports more than one.
 * Everything is accumulated in double. */
#ifndef SG_METRICS_H
#define SG_METRICS_H

#include <stddef.h>

enum {
    SG_METRIC_ACCURACY = 1u << 0,
    SG_METRIC_F1 = 1u << 1,
    SG_METRIC_MATTHEWS = 1u << 2,
    SG_METRIC_PEARSON = 1u << 3,
    SG_METRIC_SPEARMAN = 1u << 4,
};

#define SG_METRICS_MAX 6

/* The result: names in HF's order ("accuracy", "f1", "matthews_correlation", "pearson",
 * "spearmanr"), then "combined_score" when count of base metrics > 1. */
typedef struct {
    int count;
    const char *names[SG_METRICS_MAX];
    double values[SG_METRICS_MAX];
} sg_metrics;

double sg_metric_accuracy(const int *pred, const int *label, size_t n);
double sg_metric_f1(const int *pred, const int *label, size_t n);
/* Class ids must be in [0, 65536); returns NaN otherwise (sg_metrics_compute reports it). */
double sg_metric_matthews(const int *pred, const int *label, size_t n);
double sg_metric_pearson(const float *x, const float *y, size_t n);
double sg_metric_spearman(const float *x, const float *y, size_t n);

/* Compute a task's metric set (SG_METRIC_* bits). Classification metrics read pred/label,
 * regression metrics read pred_score/score (the unused pair may be NULL). Labels < 0 (absent)
 * are an error, as is n == 0. Returns 0 or -1 (sg_fail). */
int sg_metrics_compute(unsigned metric_set, const int *pred, const int *label,
                       const float *pred_score, const float *score, size_t n, sg_metrics *out);

/* Value of a named metric, NaN if absent. */
double sg_metrics_get(const sg_metrics *m, const char *name);
/* The metric the task is ranked by: combined_score if present, else the only metric. */
double sg_metrics_main(const sg_metrics *m);

#endif
