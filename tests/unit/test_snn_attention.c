/* Spec §4's attention test: a quantized self-attention block (the tiny geometry's: width 64, two
 * heads) against its spiking conversion, on random input x = 10·N(0,1) fed over 32 steps (x/32
 * each) then zeros, level 32, unfold_bias level 32. Once quiet, the summed context spikes equal
 * the ANN's quantized context on every element (1e-5), and the Q/K/V and probability neurons hold
 * the ANN's integers. Steps all 1 (the spec's case), and power-of-two steps that make the
 * probabilities fine-grained. One sample has padding keys (masked once, on the accumulated scores). */
#include "blas/gemm.h"
#include "core/rng.h"
#include "model/ops.h"
#include "snn/snn_model.h"
#include "snn/zip_ops.h"
#include "testlib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { B = 2, T = 12, LEVEL = 32, CAP = 400 };

static void run_case(const char *label, const float steps[5], uint64_t seed) {
    sg_model_config cfg;
    CHECK(sg_model_config_preset(&cfg, "tiny", 2, 261) == 0);
    const int C = cfg.hidden, H = cfg.heads, N = B * T;
    int levels[2 * QM_PER_LAYER + 1];
    for (int i = 0; i < 2 * QM_PER_LAYER + 1; i++) levels[i] = LEVEL;
    sg_model m;
    CHECK(sg_model_create_quantized(&m, &cfg, levels) == 0);
    sg_model_init_random(&m, seed);
    for (int q = 0; q < 5; q++) *sg_model_quant(&m, 0, Q_QUERY + q)->s = steps[q];

    float *x = malloc(sizeof(float) * N * C), *x32 = malloc(sizeof(float) * N * C);
    float *qkv_pre = malloc(sizeof(float) * 3 * N * C), *qkv = malloc(sizeof(float) * 3 * N * C);
    float *att = malloc(sizeof(float) * B * H * T * T), *ctx = malloc(sizeof(float) * N * C);
    float *ctx_q = malloc(sizeof(float) * N * C), *ctx_snn = calloc((size_t)N * C, sizeof(float));
    int32_t mask[B * T];
    for (int i = 0; i < N * C; i++) {
        x[i] = 10.0f * sg_normal(seed, 77, (uint64_t)i);
        x32[i] = x[i] / (float)LEVEL;
    }
    for (int i = 0; i < N; i++) mask[i] = !(i / T == 1 && i % T >= T - 3); /* sample 1: three padding keys */

    /* the quantized ANN: projections, quantizers, probabilities, attn_quan, context, after_attn_quan */
    for (int p = 0; p < 3; p++) {
        sg_linear_forward(qkv_pre + (size_t)p * N * C, x, sg_model_param(&m, sg_param_index_layer(&cfg, 0, L_QW + p)),
                          sg_model_param(&m, sg_param_index_layer(&cfg, 0, L_QB + p)), N, C, C);
        sg_lsq_forward(sg_model_quant(&m, 0, Q_QUERY + p), SG_LSQ_EVAL, qkv_pre + (size_t)p * N * C,
                       qkv + (size_t)p * N * C, (size_t)N * C);
    }
    sg_attention_probs(att, qkv, qkv + (size_t)N * C, mask, B, T, C, H, 1);
    sg_lsq_forward(sg_model_quant(&m, 0, Q_ATTN), SG_LSQ_EVAL, att, att, (size_t)B * H * T * T);
    sg_attention_context(ctx, att, qkv + 2 * (size_t)N * C, B, T, C, H, 1);
    sg_lsq_forward(sg_model_quant(&m, 0, Q_AFTER_ATTN), SG_LSQ_EVAL, ctx, ctx_q, (size_t)N * C);

    /* the spiking block, from the converted network's layer 0 */
    sg_snn_model snn;
    CHECK(sg_snn_convert(&snn, &m, LEVEL) == 0);
    const sg_snn_layer *ly = &snn.layer[0];
    sg_zip_attention_params prm = {1.0f / sqrtf((float)(C / H)), ly->neuron + Q_QUERY, ly->neuron[Q_ATTN],
                                   ly->neuron[Q_AFTER_ATTN]};
    sg_snn_scratch sc = {malloc(sizeof(float) * T * C), malloc(sizeof(float) * T * 3 * C)};
    int max_settle = 0, counts_ok = 1, probs_ok = 1, nonzero = 0;
    for (int b = 0; b < B; b++) {
        sg_snn_pop pop;
        sg_zip_attention a;
        CHECK(sg_snn_pop_init(&pop, T, 3 * C, 3, ly->neuron + Q_QUERY, NULL) == 0);
        CHECK(sg_zip_attention_init(&a, T, C, H, &prm, NULL, NULL) == 0);
        int t;
        for (t = 1; t <= CAP; t++) {
            sg_snn_input in = {0};
            if (t <= LEVEL) in.dense = x32 + (size_t)b * T * C;
            sg_snn_counts c;
            sg_zip_attention_counts ac;
            memset(&c, 0, sizeof c);
            memset(&ac, 0, sizeof ac);
            int pending = sg_snn_linear_fire(&ly->qkv, &in, t <= LEVEL, &pop, T, 0.25f, &sc, &c);
            pending |= sg_zip_attention_step(&a, &prm, &pop, mask + b * T, T, T, t == 1, &ac);
            for (int i = 0; i < T; i++)
                for (int k = 0; k < a.out.nev[i]; k++) {
                    int32_t e = a.out.ev[(size_t)i * C + k];
                    ctx_snn[((size_t)b * T + i) * C + sg_event_col(e)] += (float)sg_event_sign(e) * prm.out.theta;
                }
            if (!pending && t >= LEVEL) break;
        }
        CHECK_MSG(t <= CAP, "%s: sample %d did not settle", label, b);
        if (t > max_settle) max_settle = t;
        /* neurons hold the ANN's integers: Q/K/V and the probabilities */
        for (int i = 0; i < T; i++)
            for (int p = 0; p < 3; p++)
                for (int c = 0; c < C; c++) {
                    float want = qkv[(size_t)p * N * C + ((size_t)b * T + i) * C + c];
                    counts_ok &= (float)pop.s[(size_t)i * 3 * C + p * C + c] * steps[p] == want;
                }
        for (int h = 0; h < H; h++)
            for (int i = 0; i < T; i++)
                for (int j = 0; j < T; j++) {
                    float want = att[(((size_t)b * H + h) * T + i) * T + j];
                    probs_ok &= (float)a.prob.s[((size_t)h * T + i) * T + j] * steps[3] == want;
                }
        sg_snn_pop_free(&pop);
        sg_zip_attention_free(&a);
    }
    double md = 0.0;
    for (int i = 0; i < N * C; i++) {
        md = fmax(md, fabs((double)ctx_snn[i] - (double)ctx_q[i]));
        nonzero += ctx_q[i] != 0.0f;
    }
    printf("%s: settled by step %d, max |ctx_snn - ctx_qann| = %g, %d of %d context values non-zero\n", label,
           max_settle, md, nonzero, N * C);
    CHECK_MSG(counts_ok, "%s: Q/K/V counts differ from the ANN's integers", label);
    CHECK_MSG(probs_ok, "%s: attn_quan counts differ from the ANN's integers", label);
    CHECK_NEAR(md, 0.0, 1e-5);
    CHECK(nonzero > N * C / 8); /* a non-trivial case (the context quantizer is unsigned) */
    sg_snn_model_free(&snn);
    sg_model_free(&m);
    free(sc.xd);
    free(sc.yd);
    free(x);
    free(x32);
    free(qkv_pre);
    free(qkv);
    free(att);
    free(ctx);
    free(ctx_q);
    free(ctx_snn);
}

int main(void) {
    const float unit[5] = {1.0f, 1.0f, 1.0f, 1.0f, 1.0f};
    run_case("s = 1", unit, 11);
    const float fine[5] = {0.5f, 0.5f, 0.5f, 1.0f / 32.0f, 0.25f};
    run_case("fine steps", fine, 12);
    return sg_test_done();
}
