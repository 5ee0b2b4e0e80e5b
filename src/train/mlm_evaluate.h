/* Evaluation of a masked LM (HF Trainer.evaluate as run_mlm.py calls it): eval_loss over the
 * validation rows, and perplexity = exp(eval_loss). */
#ifndef SG_MLM_EVALUATE_H
#define SG_MLM_EVALUATE_H

#include "data/mlm_mask.h"
#include "parallel/dp.h"
#include "train/dataset.h"

typedef struct {
    double loss;    /* mean of the batches' losses weighted by their rows (HF's evaluation_loop) */
    double accuracy; /* labelled tokens whose argmax is the label (run_mlm.py's compute_metrics) */
    int n, labelled; /* rows, labelled tokens */
    double seconds;
} sg_mlm_eval_result;

/* The rows in order, batch_size at a time, batch k masked by draw k of mk: unlike HF, whose
 * collator draws new masks at every evaluation, every evaluation of a run sees the same masks,
 * so the losses of a run compare. dp (NULL: off): batch k runs on replica k mod D, the losses
 * are summed; every replica returns the single-process result. */
int sg_mlm_evaluate(sg_model *m, const sg_encoded *e, const sg_mlm_masking *mk, int batch_size, const sg_dp_group *dp,
                    sg_mlm_eval_result *out);

#endif
