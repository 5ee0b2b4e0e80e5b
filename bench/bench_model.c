/* Times a training step (forward + backward + clip + AdamW) or an eval forward of RoBERTa at a
 * given geometry, fp32 (--lsq 0), with LSQ quantizers at level 32 (--lsq 1), or both alternating
 * step by step in one process (--lsq both: the quantized model with its quantizers switched off
 * for the fp32 steps, so the LSQ overhead is measured under the same machine conditions). Prints
 * one JSON line per variant: median seconds (wall, and the process's CPU time: cpu_s), GEMM GFLOP/s,
 * the process's peak RSS. With --serve 1 it prints "ready" once warmed up, then runs a round per
 * stdin line (bench/alternate.py).
 *   bench_model --size base --batch 8 --seq 128 --mode train|eval --iters 5 [--lsq 0|1|both]
 *               [--param-cache FILE] [--serve 1] */
#include "bench_util.h"
#include "blas/gemm.h"

#include <omp.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* CPU time of the process, all threads: on a shared machine it moves less than the wall time
 * (with more than one thread it includes OpenMP's spin-waiting, so compare it at one thread). */
static double cpu_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static void step(sg_model *m, const sg_batch *batch, const sg_adamw_config *oc, int training, int it) {
    if (training) bench_train_step(m, batch, oc, it);
    else sg_model_forward(m, batch, 0);
}

/* Quantizers on (their steps) or off (NULL steps: sg_model_quant skips them). */
static void set_quantizers(sg_model *m, float **steps, int on) {
    for (int i = 0; m->quant && i <= m->cfg.layers * Q_PER_LAYER; i++) m->quant[i].s = on ? steps[i] : NULL;
}

int main(int argc, char **argv) {
    const char *size = "base", *mode = "train", *lsq = "0", *cache = NULL;
    int B = 8, T = 128, iters = 5, serve = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--size")) size = argv[i + 1];
        else if (!strcmp(argv[i], "--batch")) B = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seq")) T = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--mode")) mode = argv[i + 1];
        else if (!strcmp(argv[i], "--iters")) iters = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--lsq")) lsq = argv[i + 1];
        else if (!strcmp(argv[i], "--param-cache")) cache = argv[i + 1];
        else if (!strcmp(argv[i], "--serve")) serve = atoi(argv[i + 1]);
    }
    const int training = !strcmp(mode, "train"), both = !strcmp(lsq, "both"), quantized = both || atoi(lsq);
    sg_model m;
    if (bench_model_create(&m, size, quantized, cache) || sg_model_reserve(&m, B, T, training)) return 1;
    const sg_model_config cfg = m.cfg;
    const int nq = m.quant ? cfg.layers * Q_PER_LAYER + 1 : 0;
    float **steps = malloc(sizeof(float *) * (size_t)(nq + 1));
    for (int i = 0; i < nq; i++) steps[i] = m.quant[i].s;
    sg_batch batch = bench_synthetic_batch(B, T);
    sg_adamw_config oc;
    sg_adamw_defaults(&oc);
    /* variant 0: fp32, variant 1: quantized; one warm-up step (quantized when there is one: it
     * touches every buffer), then the variants alternate */
    const int first = both ? 0 : quantized, last = quantized;
    double *times[2] = {malloc(sizeof(double) * iters), malloc(sizeof(double) * iters)};
    double *cpu[2] = {malloc(sizeof(double) * iters), malloc(sizeof(double) * iters)};
    int it = 0;
    set_quantizers(&m, steps, quantized);
    step(&m, &batch, &oc, training, it++);
    const double C = cfg.hidden, F = cfg.ffn, N = (double)B * T;
    const double fwd = cfg.layers * (2 * N * (4 * C * C + 2 * C * F) + 4.0 * B * T * T * C);
    const double flops = training ? 3 * fwd : fwd;
    char line[64];
    if (serve) { /* set up and warmed up: bench/alternate.py starts the peer only now */
        printf("ready\n");
        fflush(stdout);
    }
    /* --serve: one round per line read from stdin (until EOF), each ended by a "." line, so that a
     * driver (bench/alternate.py) can alternate this process with its peer's without restarting
     * either: one model set-up and warm-up per side, however many rounds */
    while (!serve || fgets(line, sizeof line, stdin)) {
        for (int k = 0; k < iters; k++)
            for (int v = first; v <= last; v++) {
                set_quantizers(&m, steps, v);
                double t0 = sg_now(), c0 = cpu_seconds();
                step(&m, &batch, &oc, training, it++);
                times[v][k] = sg_now() - t0;
                cpu[v][k] = cpu_seconds() - c0;
            }
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        for (int v = first; v <= last; v++) {
            double med = bench_median(times[v], iters), cpu_med = bench_median(cpu[v], iters);
            printf("{\"impl\": \"spikeglue\", \"mode\": \"%s\", \"size\": \"%s\", \"batch\": %d, \"seq\": %d, \"threads\": %d, "
                   "\"lsq\": %s, \"blas_core\": \"%s\", \"median_s\": %.4f, \"cpu_s\": %.4f, \"gflops\": %.2f, "
                   "\"peak_rss_mb\": %.1f}\n",
                   mode, size, B, T, omp_get_max_threads(), v ? "true" : "false", sg_blas_corename(), med, cpu_med, flops / med * 1e-9,
                   ru.ru_maxrss / 1024.0);
        }
        if (!serve) break;
        printf(".\n");
        fflush(stdout);
    }
    set_quantizers(&m, steps, 1);
    free(times[0]);
    free(times[1]);
    free(cpu[0]);
    free(cpu[1]);
    free(steps);
    bench_batch_free(&batch);
    sg_model_free(&m);
    return 0;
}
