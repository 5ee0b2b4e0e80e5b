/* A task split tokenized once into fixed-width rows, and batches gathered from it. */
#ifndef SG_DATASET_H
#define SG_DATASET_H

#include "data/glue.h"
#include "data/tokenizer.h"
#include "model/roberta.h"
#include "parallel/dp.h"

typedef struct {
    int n, T;            /* rows, row width (max_seq_length) */
    int32_t *ids, *mask; /* [n, T], padded with the tokenizer's pad id */
    int32_t *lengths;    /* real tokens per row */
    int32_t *labels;     /* [n] classification labels (-1: absent) */
    float *targets;      /* [n] regression targets */
    int has_labels, is_regression;
} sg_encoded;

int sg_encode_dataset(sg_tokenizer *tok, const sg_glue_data *d, int T, sg_encoded *out);
void sg_encoded_free(sg_encoded *e);

/* Gathers rows order[start .. start+count) into the batch buffers (ids/mask [count, T'],
 * labels/targets [count]); T' = T when pad_to_max, else the longest row of the batch. */
typedef struct {
    int32_t *ids, *mask, *labels;
    float *targets;
    int cap_rows, T;
} sg_batch_buffers;

int sg_batch_buffers_init(sg_batch_buffers *bb, int rows, int T);
void sg_batch_buffers_free(sg_batch_buffers *bb);
sg_batch sg_gather_batch(const sg_encoded *e, const int *order, int start, int count, int pad_to_max,
                         sg_batch_buffers *bb);
/* Data parallel: this replica's rows of the global batch b (sg_dp_rows: blocks of per_replica),
 * padded as the whole, so T and the dropout indices are those of one process running b. The
 * model is told where they sit (row_offset, global_rows: reset them to 0 afterwards), so that
 * its loss and its LSQ statistics and step gradients are this part's share of the global batch's.
 * The part may have 0 rows (an epoch's last, short batch): the replica still runs it, joining
 * every reduction. */
sg_batch sg_replica_rows(sg_model *m, const sg_dp_group *dp, int per_replica, sg_batch b);

#endif
