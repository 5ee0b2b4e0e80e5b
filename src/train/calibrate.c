#include "train/calibrate.h"

#include "core/error.h"

int sg_calibrate_steps(sg_model *m, const sg_encoded *train, int batches, int batch_size, int pad_to_max) {
    if (!m->quant) return 0;
    if (train->n == 0) return sg_fail("calibration needs training data");
    sg_batch_buffers bb;
    if (sg_batch_buffers_init(&bb, batch_size, train->T) || sg_model_reserve(m, batch_size, train->T, m->acts.training))
        return -1;
    for (int i = 0; i <= m->cfg.layers * Q_PER_LAYER; i++)
        if (m->quant[i].s) sg_lsq_calibrate_begin(&m->quant[i]);
    m->calibrating = 1;
    for (int k = 0; k < batches; k++) {
        int start = (k * batch_size) % train->n;
        int count = train->n - start < batch_size ? train->n - start : batch_size;
        sg_batch b = sg_gather_batch(train, NULL, start, count, pad_to_max, &bb);
        sg_model_forward(m, &b, 0);
    }
    m->calibrating = 0;
    sg_batch_buffers_free(&bb);
    return 0;
}
