#include "train/calibrate.h"

#include "core/error.h"

#include <stdlib.h>

static const int32_t *g_sort_lengths; /* qsort has no context argument in C11 */

static int by_length(const void *a, const void *b) {
    int la = g_sort_lengths[*(const int *)a], lb = g_sort_lengths[*(const int *)b];
    return la != lb ? la - lb : *(const int *)a - *(const int *)b;
}

/* The statistics are taken over every position of a batch, so the calibration rows are grouped
 * by length and padded only to the longest row of their batch: padding, which the attention mask
 * hides from the task but not from the quantizers, barely weighs in the steps. pad_to_max is
 * deliberately not honoured here. */
int sg_calibrate_steps(sg_model *m, const sg_encoded *train, int batches, int batch_size, int pad_to_max,
                       const sg_dp_group *dp) {
    (void)pad_to_max;
    if (!m->quant) return 0;
    if (train->n == 0) return sg_fail("calibration needs training data");
    const int per_replica = batch_size;
    if (dp) batch_size *= dp->size; /* the global batch */
    long want = (long)batches * batch_size;
    int rows = want < train->n ? (int)want : train->n;
    int *order = malloc(sizeof(int) * (size_t)rows);
    sg_batch_buffers bb;
    if (!order) return sg_fail("out of memory");
    if (sg_batch_buffers_init(&bb, batch_size, train->T) || sg_model_reserve(m, per_replica, train->T, m->acts.training)) {
        free(order);
        return -1;
    }
    for (int i = 0; i < rows; i++) order[i] = i;
    g_sort_lengths = train->lengths;
    qsort(order, (size_t)rows, sizeof(int), by_length);
    for (int i = 0; i <= m->cfg.layers * Q_PER_LAYER; i++)
        if (m->quant[i].s) sg_lsq_calibrate_begin(&m->quant[i]);
    m->calibrating = 1;
    /* more batches than rows: the rows are used again, as before */
    for (int k = 0; k < batches; k++) {
        int start = (int)(((long)k * batch_size) % rows);
        int count = rows - start < batch_size ? rows - start : batch_size;
        sg_batch b = sg_gather_batch(train, order, start, count, 0, &bb);
        if (dp) b = sg_replica_rows(m, dp, per_replica, b);
        sg_model_forward(m, &b, 0);
    }
    m->calibrating = 0;
    m->row_offset = m->global_rows = 0;
    sg_batch_buffers_free(&bb);
    free(order);
    return 0;
}
