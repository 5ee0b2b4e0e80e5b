/* Times a training step (fp32, or with LSQ quantizers: --lsq 1) (forward + backward + clip + AdamW) or an eval forward of RoBERTa at a
 * given geometry; prints one JSON line with the median seconds, GEMM GFLOP/s and peak RSS.
 *   bench_model --size base --batch 8 --seq 128 --mode train|eval --iters 5 */
#include "blas/gemm.h"
#include "train/adamw.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    const char *size = "base", *mode = "train";
    int B = 8, T = 128, iters = 5, lsq = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--size")) size = argv[i + 1];
        else if (!strcmp(argv[i], "--batch")) B = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seq")) T = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--mode")) mode = argv[i + 1];
        else if (!strcmp(argv[i], "--iters")) iters = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--lsq")) lsq = atoi(argv[i + 1]);
    }
    int training = !strcmp(mode, "train");
    sg_model_config cfg;
    if (sg_model_config_preset(&cfg, size, 2, 50265)) return 1;
    /* --lsq 1: every quantizable module at level 32 (the default transform), steps 0.1 */
    int *levels = calloc((size_t)cfg.layers * QM_PER_LAYER + 1, sizeof(int));
    for (int i = 0; i <= cfg.layers * QM_PER_LAYER; i++) levels[i] = lsq ? 32 : 0;
    sg_model m;
    if (sg_model_create_quantized(&m, &cfg, levels) || sg_model_reserve(&m, B, T, training)) return 1;
    free(levels);
    sg_model_init_random(&m, 1);
    for (int i = 0; m.quant && i <= cfg.layers * Q_PER_LAYER; i++)
        if (m.quant[i].s) {
            *m.quant[i].s = 0.1f;
            m.quant[i].init_calls = SG_LSQ_INIT_CALLS;
        }
    int32_t *ids = malloc(sizeof(int32_t) * B * T), *mask = malloc(sizeof(int32_t) * B * T), *labels = malloc(sizeof(int32_t) * B);
    for (int i = 0; i < B * T; i++) {
        ids[i] = i % T == 0 ? 0 : 4 + (i * 7919) % 50000;
        mask[i] = 1;
    }
    for (int b = 0; b < B; b++) labels[b] = b % 2;
    sg_batch batch = {B, T, ids, mask, labels, NULL};
    sg_adamw_config oc;
    sg_adamw_defaults(&oc);
    double *times = malloc(sizeof(double) * (iters + 1));
    for (int it = 0; it <= iters; it++) { /* iteration 0 warms up */
        double t0 = now();
        if (training) {
            m.step = (uint64_t)it;
            sg_model_zero_grad(&m);
            sg_model_forward(&m, &batch, 1);
            sg_model_backward(&m, &batch);
            float norm = sg_grad_norm(&m);
            sg_adamw_step_scaled(&m, &oc, 2e-5f, it + 1, sg_clip_factor(norm, 1.0f));
        } else {
            sg_model_forward(&m, &batch, 0);
        }
        times[it] = now() - t0;
    }
    qsort(times + 1, (size_t)iters, sizeof(double), cmp);
    double med = times[1 + iters / 2];
    double C = cfg.hidden, F = cfg.ffn, N = (double)B * T;
    double fwd = cfg.layers * (2 * N * (4 * C * C + 2 * C * F) + 4.0 * B * T * T * C);
    double flops = training ? 3 * fwd : fwd;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"impl\": \"spikeglue\", \"mode\": \"%s\", \"size\": \"%s\", \"batch\": %d, \"seq\": %d, \"threads\": %d, "
           "\"lsq\": %s, \"blas_core\": \"%s\", \"median_s\": %.4f, \"gflops\": %.2f, \"peak_rss_mb\": %.1f}\n",
           mode, size, B, T, omp_get_max_threads(), lsq ? "true" : "false", sg_blas_corename(), med, flops / med * 1e-9, ru.ru_maxrss / 1024.0);
    free(times);
    free(ids);
    free(mask);
    free(labels);
    sg_model_free(&m);
    return 0;
}
