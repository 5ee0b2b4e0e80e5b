#include "train/dataset.h"

#include "model/mlm_head.h"

#include "core/error.h"

#include <stdlib.h>
#include <string.h>

int sg_encode_dataset(sg_tokenizer *tok, const sg_glue_data *d, int T, sg_encoded *out) {
    memset(out, 0, sizeof *out);
    out->n = (int)d->count;
    out->T = T;
    out->has_labels = d->has_labels;
    out->is_regression = d->is_regression;
    size_t cells = (size_t)out->n * T;
    out->ids = malloc(sizeof(int32_t) * (cells ? cells : 1));
    out->mask = malloc(sizeof(int32_t) * (cells ? cells : 1));
    out->lengths = malloc(sizeof(int32_t) * (out->n ? out->n : 1));
    out->labels = malloc(sizeof(int32_t) * (out->n ? out->n : 1));
    out->targets = malloc(sizeof(float) * (out->n ? out->n : 1));
    if (!out->ids || !out->mask || !out->lengths || !out->labels || !out->targets) {
        sg_encoded_free(out);
        return sg_fail("out of memory tokenizing %d rows", (int)d->count);
    }
    for (size_t i = 0; i < d->count; i++) {
        const char *a = d->text_a[i], *b = d->text_b ? d->text_b[i] : NULL;
        int len = sg_tokenizer_encode_row(tok, a, strlen(a), b, b ? strlen(b) : 0, T, out->ids + i * T,
                                          out->mask + i * T);
        if (len < 0) {
            sg_encoded_free(out);
            return sg_fail_context("row %zu", i + 1);
        }
        out->lengths[i] = len;
        out->labels[i] = d->has_labels && !d->is_regression ? d->label[i] : -1;
        out->targets[i] = d->has_labels && d->is_regression ? d->score[i] : 0.0f;
    }
    return 0;
}

void sg_encoded_free(sg_encoded *e) {
    free(e->ids);
    free(e->mask);
    free(e->lengths);
    free(e->labels);
    free(e->targets);
    memset(e, 0, sizeof *e);
}

int sg_batch_buffers_init(sg_batch_buffers *bb, int rows, int T) {
    bb->cap_rows = rows;
    bb->T = T;
    bb->ids = malloc(sizeof(int32_t) * rows * T);
    bb->mask = malloc(sizeof(int32_t) * rows * T);
    bb->labels = malloc(sizeof(int32_t) * rows);
    bb->targets = malloc(sizeof(float) * rows);
    if (!bb->ids || !bb->mask || !bb->labels || !bb->targets) {
        sg_batch_buffers_free(bb);
        return sg_fail("out of memory for batch buffers");
    }
    return 0;
}

void sg_batch_buffers_free(sg_batch_buffers *bb) {
    free(bb->ids);
    free(bb->mask);
    free(bb->labels);
    free(bb->targets);
    memset(bb, 0, sizeof *bb);
}

sg_batch sg_gather_batch(const sg_encoded *e, const int *order, int start, int count, int pad_to_max,
                         sg_batch_buffers *bb) {
    int T = e->T;
    if (!pad_to_max) { /* dynamic padding: the longest row of this batch */
        T = 1;
        for (int i = 0; i < count; i++) {
            int r = order ? order[start + i] : start + i;
            if (e->lengths[r] > T) T = e->lengths[r];
        }
    }
    for (int i = 0; i < count; i++) {
        int r = order ? order[start + i] : start + i;
        memcpy(bb->ids + (size_t)i * T, e->ids + (size_t)r * e->T, sizeof(int32_t) * T);
        memcpy(bb->mask + (size_t)i * T, e->mask + (size_t)r * e->T, sizeof(int32_t) * T);
        bb->labels[i] = e->labels[r];
        bb->targets[i] = e->targets[r];
    }
    sg_batch b = {count, T, bb->ids, bb->mask, NULL, NULL, NULL};
    if (e->has_labels) {
        if (e->is_regression) b.targets = bb->targets;
        else b.labels = bb->labels;
    }
    return b;
}

sg_batch sg_replica_rows(sg_model *m, const sg_dp_group *dp, int per_replica, sg_batch b) {
    int lo, hi;
    sg_dp_rows(dp, b.B, per_replica, &lo, &hi);
    m->row_offset = lo;
    m->global_rows = b.B;
    const size_t at = (size_t)lo * (size_t)b.T;
    b.ids += at;
    b.mask += at;
    if (b.labels) b.labels += lo;
    if (b.targets) b.targets += lo;
    if (b.token_labels) { /* masked LM: the loss is a mean over the global batch's labelled tokens */
        m->global_labelled = sg_mlm_count_labelled(b.token_labels, (size_t)b.B * b.T);
        b.token_labels += at;
    }
    b.B = hi - lo;
    return b;
}
