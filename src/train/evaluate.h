/* Evaluation of a model on an encoded split: loss, predictions, GLUE metrics. */
#ifndef SG_EVALUATE_H
#define SG_EVALUATE_H

#include "data/metrics.h"
#include "parallel/dp.h"
#include "train/dataset.h"

typedef struct {
    sg_metrics metrics; /* empty when the split has no labels */
    double loss;        /* mean over samples (HF's eval_loss) */
    int n;
    double seconds;
    int *pred;          /* [n] argmax (classification) */
    float *score;       /* [n] predicted value (regression) */
} sg_eval_result;

/* Runs eval forwards over the split, rows batched by length and padded to the longest of their
 * batch (results do not depend on padding); pred/score are in the split's row order.
 * metric_set: SG_METRIC_* bits. */
int sg_evaluate(sg_model *m, const sg_encoded *e, unsigned metric_set, int batch_size, sg_eval_result *out);
/* The same sharded over a data-parallel group (dp NULL: sg_evaluate): batch k of the same
 * batching runs on replica k mod D, and the predictions and per-batch losses are gathered, so
 * every replica returns exactly the single-process result (the loss summed in the same order). */
int sg_evaluate_dp(sg_model *m, const sg_encoded *e, unsigned metric_set, int batch_size, const sg_dp_group *dp,
                   sg_eval_result *out);
void sg_eval_result_free(sg_eval_result *r);

/* Prediction of row i of the last forward (argmax of logits, or the value for regression). */
int sg_predict_label(const sg_model *m, int i);

#endif
