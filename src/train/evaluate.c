#include "train/evaluate.h"

#include "core/error.h"
#include "train/progress.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int sg_predict_label(const sg_model *m, int i) {
    const int L = m->cfg.num_labels;
    const float *z = m->acts.logits + (size_t)i * L;
    int best = 0;
    for (int j = 1; j < L; j++)
        if (z[j] > z[best]) best = j;
    return best;
}

static int ascending(const void *pa, const void *pb) {
    int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
    return (a > b) - (a < b);
}

/* Rows ordered longest first (ties by row). A row's logits do not depend on its padding (padded
 * keys get exactly zero attention, every other op is per token) nor on its batch mates, so
 * evaluation batches rows of similar length padded only to their longest, whatever
 * pad_to_max_length says for training: with HF's default padding to max_seq_length most of a
 * GLUE batch is padding (an SST-2 dev sentence is about 25 of 128 tokens). */
static int *length_order(const sg_encoded *e) {
    int64_t *key = malloc(sizeof(int64_t) * (size_t)e->n);
    int *order = malloc(sizeof(int) * (size_t)e->n);
    if (key && order) {
        for (int i = 0; i < e->n; i++) key[i] = ((int64_t)(e->T - e->lengths[i]) << 32) | i;
        qsort(key, (size_t)e->n, sizeof(int64_t), ascending);
        for (int i = 0; i < e->n; i++) order[i] = (int)(key[i] & 0xffffffff);
    } else {
        free(order);
        order = NULL;
    }
    free(key);
    return order;
}

int sg_evaluate(sg_model *m, const sg_encoded *e, unsigned metric_set, int batch_size, sg_eval_result *out) {
    return sg_evaluate_dp(m, e, metric_set, batch_size, NULL, out);
}

int sg_evaluate_dp(sg_model *m, const sg_encoded *e, unsigned metric_set, int batch_size, const sg_dp_group *dp,
                   sg_eval_result *out) {
    memset(out, 0, sizeof *out);
    if (e->n == 0) return sg_fail("evaluation split is empty");
    if (batch_size <= 0) return sg_fail("--per_device_eval_batch_size must be positive (got %d)", batch_size);
    out->n = e->n;
    out->pred = calloc((size_t)e->n, sizeof(int));
    out->score = calloc((size_t)e->n, sizeof(float));
    const int batches = (int)(((long long)e->n + batch_size - 1) / batch_size);
    double *batch_loss = calloc((size_t)batches, sizeof(double)); /* loss x rows per batch, 0 where another replica ran it */
    int *order = length_order(e);
    sg_batch_buffers bb;
    if (!out->pred || !out->score || !batch_loss || !order || sg_batch_buffers_init(&bb, batch_size, e->T)) {
        free(batch_loss);
        free(order);
        sg_eval_result_free(out);
        return sg_fail("out of memory for evaluation");
    }
    if (sg_model_reserve(m, batch_size, e->T, m->acts.training)) {
        free(batch_loss);
        free(order);
        sg_batch_buffers_free(&bb);
        sg_eval_result_free(out);
        return -1;
    }
    const int regression = m->cfg.problem == SG_PROBLEM_REGRESSION;
    double t0 = sg_now(), loss_sum = 0.0;
    for (int k = 0; k < batches; k++) {
        if (dp && k % dp->size != dp->rank) continue;
        int start = k * batch_size, count = e->n - start < batch_size ? e->n - start : batch_size;
        sg_batch b = sg_gather_batch(e, order, start, count, 0, &bb);
        float loss = sg_model_forward(m, &b, 0);
        batch_loss[k] = (double)loss * count;
        for (int i = 0; i < count; i++) {
            int row = order[start + i];
            if (regression) out->score[row] = m->acts.logits[i];
            else out->pred[row] = sg_predict_label(m, i);
        }
    }
    if (dp) { /* every row was predicted by one replica, the others hold 0 there: the sums are exact */
        sg_dp_allreduce_ints(dp, out->pred, (size_t)e->n);
        sg_dp_allreduce_floats(dp, out->score, (size_t)e->n);
        sg_dp_allreduce_doubles(dp, batch_loss, (size_t)batches);
    }
    for (int k = 0; k < batches; k++) loss_sum += batch_loss[k]; /* in batch order, as one process sums */
    free(batch_loss);
    out->seconds = sg_now() - t0;
    out->loss = loss_sum / e->n;
    int rc = 0;
    if (e->has_labels) {
        if (!isfinite(out->loss)) rc = sg_fail("evaluation loss is %s", isnan(out->loss) ? "nan" : "inf");
        else rc = sg_metrics_compute(metric_set, out->pred, e->labels, out->score, e->targets, (size_t)e->n, &out->metrics);
    }
    free(order);
    sg_batch_buffers_free(&bb);
    if (rc) sg_eval_result_free(out);
    return rc;
}

void sg_eval_result_free(sg_eval_result *r) {
    free(r->pred);
    free(r->score);
    r->pred = NULL;
    r->score = NULL;
}
