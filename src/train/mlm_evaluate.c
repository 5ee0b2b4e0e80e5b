#include "train/mlm_evaluate.h"

#include "core/clock.h"
#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Labelled positions of the last forward whose highest logit is their label (ties: the first). */
static int correct(const sg_model *m) {
    const int V = m->cfg.vocab_size;
    int hits = 0;
    for (int r = 0; r < m->acts.mlm_R; r++) {
        const float *z = m->acts.mlm_logits + (size_t)r * V;
        int best = 0;
        for (int j = 1; j < V; j++)
            if (z[j] > z[best]) best = j;
        hits += best == m->acts.mlm_target[r];
    }
    return hits;
}

int sg_mlm_evaluate(sg_model *m, const sg_encoded *e, const sg_mlm_masking *mk, int batch_size, const sg_dp_group *dp,
                    sg_mlm_eval_result *out) {
    memset(out, 0, sizeof *out);
    if (e->n == 0) return sg_fail("evaluation split is empty");
    if (batch_size <= 0) return sg_fail("--per_device_eval_batch_size must be positive (got %d)", batch_size);
    const int batches = (int)(((long long)e->n + batch_size - 1) / batch_size);
    const size_t cells = (size_t)batch_size * e->T;
    double *sums = calloc((size_t)batches + 2, sizeof(double)); /* loss x rows per batch, the labelled count, the correct */
    int32_t *masked = malloc(sizeof(int32_t) * cells), *labels = malloc(sizeof(int32_t) * cells);
    sg_batch_buffers bb;
    int rc = -1;
    if (!sums || !masked || !labels || sg_batch_buffers_init(&bb, batch_size, e->T)) {
        free(sums), free(masked), free(labels);
        return sg_fail("out of memory for evaluation");
    }
    if (sg_model_reserve(m, batch_size, e->T, m->acts.training)) goto done;
    double t0 = sg_now();
    for (int k = 0; k < batches; k++) {
        if (dp && k % dp->size != dp->rank) continue;
        int start = k * batch_size, count = e->n - start < batch_size ? e->n - start : batch_size;
        sg_batch b = sg_gather_batch(e, NULL, start, count, 0, &bb);
        sums[batches] += sg_mlm_mask(mk, (uint64_t)k, b.ids, masked, labels, (size_t)count * b.T);
        b.ids = masked;
        b.token_labels = labels;
        sums[k] = (double)sg_model_forward(m, &b, 0) * count;
        sums[batches + 1] += correct(m);
    }
    if (dp) sg_dp_allreduce_doubles(dp, sums, (size_t)batches + 2);
    double total = 0.0;
    for (int k = 0; k < batches; k++) total += sums[k]; /* in batch order, as one process sums */
    out->n = e->n;
    out->labelled = (int)sums[batches];
    out->loss = total / e->n;
    out->accuracy = out->labelled > 0 ? sums[batches + 1] / out->labelled : 0.0;
    out->seconds = sg_now() - t0;
    rc = isfinite(out->loss) ? 0 : sg_fail("evaluation loss is %s", isnan(out->loss) ? "nan" : "inf");
done:
    sg_batch_buffers_free(&bb);
    free(sums), free(masked), free(labels);
    return rc;
}
