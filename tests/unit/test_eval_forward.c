/* The eval forward's fused path (issue #19) against the path it replaces:
 * - BLAS products per pass: an unquantized eval forward computes q | k | v as one product, so a
 *   layer makes 4 linear products (not 6) plus 2 per (batch, head) of attention; a QANN, whose
 *   q, k, v each have a quantizer, keeps the three; so does the training forward;
 * - its values: the eval forward (one [N, 3C] product, each (batch, head) from scores to context in
 *   one go, the output projections starting from residual + bias) against the training forward
 *   with every dropout off (planar q, k, v, the probabilities of all heads then the contexts),
 *   padding in the batch, random biases, 1 and 2 threads (rows enough to split the products). */
#include "blas/gemm.h"
#include "core/rng.h"
#include "model/roberta.h"
#include "testlib.h"

#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

enum { B = 3, T = 48, VOCAB = 300 }; /* B x T = 144 rows: split over 2 threads (64 rows each at least) */
static int32_t ids[B * T], mask[B * T], labels[B];

static sg_batch make_batch(void) {
    sg_rng r;
    sg_rng_seed(&r, 5);
    for (int b = 0; b < B; b++) {
        const int len = T - 13 * b; /* 0, 13 and 26 padding tokens */
        for (int t = 0; t < T; t++) {
            const int real = t < len;
            ids[b * T + t] = !real ? 1 : t == 0 ? 0 : t == len - 1 ? 2 : 4 + (int)sg_rng_below(&r, VOCAB - 4);
            mask[b * T + t] = real;
        }
        labels[b] = b % 2;
    }
    sg_batch batch = {B, T, ids, mask, labels, NULL, NULL};
    return batch;
}

/* A tiny model with dropout configured off, weights of std 0.3 (peaked attention) and random biases
 * (HF's init zeroes them, which would leave the bias in the residual's sum untested). */
static void make_model(sg_model *m, int quantized) {
    sg_model_config cfg;
    CHECK(sg_model_config_preset(&cfg, "tiny", 2, VOCAB) == 0);
    cfg.hidden_dropout = cfg.attn_dropout = 0.0f;
    cfg.classifier_dropout = -1.0f;
    cfg.initializer_range = 0.3f;
    int levels[64];
    for (int i = 0; i < 64; i++) levels[i] = quantized ? 32 : 0;
    CHECK(sg_model_create_quantized(m, &cfg, levels) == 0);
    sg_model_init_random(m, 3);
    sg_rng r;
    sg_rng_seed(&r, 8);
    for (int i = 0; i < m->table.count; i++) {
        const sg_param_info *p = &m->table.info[i];
        if (p->ndim == 1 && !sg_param_is_norm_weight(p->name))
            for (size_t j = 0; j < p->numel; j++) sg_model_param(m, i)[j] = 0.5f * sg_normal(sg_rng_next(&r), 1, 0);
    }
    for (int i = 0; m->quant && i <= cfg.layers * Q_PER_LAYER; i++)
        if (m->quant[i].s) {
            *m->quant[i].s = 0.05f;
            m->quant[i].init_calls = SG_LSQ_INIT_CALLS;
        }
}

static unsigned long products_of(sg_model *m, const sg_batch *b, int training) {
    const unsigned long before = sg_gemm_calls();
    sg_model_forward(m, b, training);
    return sg_gemm_calls() - before;
}

static void test_products_per_pass(void) {
    const sg_batch batch = make_batch();
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1); /* each linear layer one call (2 threads would split its rows) */
    for (int quantized = 0; quantized <= 1; quantized++) {
        sg_model m;
        make_model(&m, quantized);
        CHECK(sg_model_reserve(&m, B, T, 1) == 0);
        const unsigned long L = (unsigned long)m.cfg.layers, attention = 2UL * B * m.cfg.heads, head = 2;
        const unsigned long eval = products_of(&m, &batch, 0), train = products_of(&m, &batch, 1);
        const unsigned long want_eval = L * ((quantized ? 6 : 4) + attention) + head;
        CHECK_MSG(eval == want_eval, "%s eval forward: %lu BLAS products, want %lu (q | k | v as %s)",
                  quantized ? "QANN" : "fp32", eval, want_eval, quantized ? "three" : "one");
        CHECK_MSG(train == L * (6 + attention) + head, "training forward: %lu BLAS products", train);
        sg_model_free(&m);
    }
    omp_set_num_threads(threads);
}

static void test_values(int threads) {
    const sg_batch batch = make_batch();
    const int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    sg_model m;
    make_model(&m, 0);
    CHECK(sg_model_reserve(&m, B, T, 1) == 0);
    const int C = m.cfg.hidden, L = m.cfg.num_labels;
    float want_h[B * 64], want_logits[B * 2];
    CHECK(C <= 64 && L == 2);
    const float want_loss = sg_model_forward(&m, &batch, 1); /* dropout configured off: the planar path */
    memcpy(want_h, m.acts.cls_h, sizeof(float) * B * C);
    memcpy(want_logits, m.acts.logits, sizeof(float) * B * L);
    const float loss = sg_model_forward(&m, &batch, 0);
    double worst = 0.0, scale = 0.0;
    for (int i = 0; i < B * C; i++) scale = fmax(scale, fabs(want_h[i]));
    for (int i = 0; i < B * C; i++) worst = fmax(worst, fabs(m.acts.cls_h[i] - want_h[i]) / scale);
    /* the two paths sum the same terms in another order: float rounding through 2 layers */
    CHECK_MSG(worst <= 1e-5, "%d threads: <s> features off by %g of their largest", threads, worst);
    CHECK(scale > 0.1); /* the features are not all near zero */
    for (int i = 0; i < B * L; i++) CHECK_NEAR(m.acts.logits[i], want_logits[i], 1e-5 * (1.0 + fabs(want_logits[i])));
    CHECK_NEAR(loss, want_loss, 1e-5 * (1.0 + fabs(want_loss)));
    printf("%d threads: eval vs training forward without dropout, worst %.3g of the largest feature\n", threads, worst);
    sg_model_free(&m);
    omp_set_num_threads(saved);
}

int main(void) {
    test_products_per_pass();
    test_values(1);
    test_values(2);
    return sg_test_done();
}
