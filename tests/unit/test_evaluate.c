/* sg_evaluate batches rows by length and pads each batch only to its longest row: its scores
 * must be those of each row run alone at full max_seq_length padding (HF's pad_to_max_length),
 * in the split's row order, for the fp32 model and for the QANN (quantizers see padded tokens). */
#include "core/rng.h"
#include "model/lsq.h"
#include "train/evaluate.h"
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

enum { N = 37, T = 24, VOCAB = 261 };

static void make_split(sg_encoded *e) {
    memset(e, 0, sizeof *e);
    e->n = N;
    e->T = T;
    e->ids = calloc(N * T, sizeof(int32_t));
    e->mask = calloc(N * T, sizeof(int32_t));
    e->lengths = calloc(N, sizeof(int32_t));
    e->labels = calloc(N, sizeof(int32_t));
    e->targets = calloc(N, sizeof(float));
    sg_rng r;
    sg_rng_seed(&r, 7);
    for (int i = 0; i < N; i++) {
        int len = 3 + (int)sg_rng_below(&r, T - 2); /* 3 .. T, in no order */
        e->lengths[i] = len;
        for (int t = 0; t < T; t++) {
            int real = t < len;
            e->ids[i * T + t] = !real ? 1 : t == 0 ? 0 : t == len - 1 ? 2 : 4 + (int)sg_rng_below(&r, VOCAB - 4);
            e->mask[i * T + t] = real;
        }
        e->labels[i] = i % 2;
        e->targets[i] = (float)(i % 5);
    }
    e->has_labels = 1;
}

/* Row i alone, padded to T: its logits (1 for regression). */
static void row_alone(sg_model *m, const sg_encoded *e, int i, float *logits) {
    int32_t label = 0;
    float target = 0.0f;
    sg_batch b = {1, T, e->ids + i * T, e->mask + i * T, NULL, NULL, NULL};
    if (e->is_regression) b.targets = &target;
    else b.labels = &label;
    sg_model_forward(m, &b, 0);
    memcpy(logits, m->acts.logits, sizeof(float) * (size_t)m->cfg.num_labels);
}

static void check_model(int regression, int quantized) {
    sg_model_config cfg;
    CHECK(sg_model_config_preset(&cfg, "tiny", regression ? 1 : 3, VOCAB) == 0);
    if (regression) cfg.problem = SG_PROBLEM_REGRESSION;
    int levels[64];
    for (int i = 0; i < 64; i++) levels[i] = quantized ? 32 : 0;
    CHECK(cfg.layers * QM_PER_LAYER + 1 <= 64);
    sg_model m;
    CHECK(sg_model_create_quantized(&m, &cfg, levels) == 0);
    sg_model_init_random(&m, 11);
    for (int i = 0; m.quant && i <= cfg.layers * Q_PER_LAYER; i++)
        if (m.quant[i].s) {
            *m.quant[i].s = 0.05f;
            m.quant[i].init_calls = SG_LSQ_INIT_CALLS;
        }
    sg_encoded e;
    make_split(&e);
    e.is_regression = regression;
    sg_eval_result r;
    CHECK(sg_evaluate(&m, &e, regression ? SG_METRIC_PEARSON : SG_METRIC_ACCURACY, 8, &r) == 0);
    CHECK(r.n == N);
    CHECK(sg_model_reserve(&m, 1, T, 0) == 0);
    int same = 0;
    double worst = 0.0;
    for (int i = 0; i < N; i++) {
        float z[3];
        row_alone(&m, &e, i, z);
        if (regression) {
            double d = fabs((double)z[0] - r.score[i]);
            if (d > worst) worst = d;
            same += d <= 1e-5;
        } else {
            int best = 0;
            for (int j = 1; j < 3; j++)
                if (z[j] > z[best]) best = j;
            same += best == r.pred[i];
        }
    }
    CHECK_MSG(same == N, "%s%s: %d of %d rows agree with the row run alone (max |diff| %g)",
              quantized ? "QANN " : "", regression ? "regression" : "classification", same, N, worst);
    sg_eval_result_free(&r);
    sg_encoded_free(&e);
    sg_model_free(&m);
}

int main(void) {
    for (int q = 0; q <= 1; q++) {
        check_model(1, q);
        check_model(0, q);
    }
    return sg_test_done();
}
