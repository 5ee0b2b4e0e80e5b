/* Data parallelism on one machine (issue #16, docs/scaling.md). Three modes, one JSON line each
 * (from rank 0; the machine's CPU, ISA and BLAS kernel in every line):
 *   --mode step: one RoBERTa training step (forward, backward, gradient all-reduce, clipping, AdamW)
 *     at a global batch of --batch x --seq rows, as the trainer takes it under `run --dp D`: each
 *     replica runs its block of the rows and sums its gradient with the trainer's code
 *     (parallel/grad_sum.h): each part as soon as the backward has finished it (MPI_Iallreduce,
 *     progressed between the backward's products), the word embeddings' touched rows only, then
 *     waits for all. Median and minimum step time over --iters steps (after one warm-up), the CPU
 *     seconds of a step (all ranks' processes), and the time spent waiting for the all-reduce after
 *     the backward (the communication the backward did not hide). --sparse 0 / --pokes 0 turn the
 *     touched-rows sum / the progress calls off, to measure what each saves; --ab 1 cycles through
 *     the four combinations, one a step (--iters steps each), and prints a line for each.
 *     --dp 0: one process, the whole batch, no MPI.
 *       OMP_NUM_THREADS=2 taskset -c 0,1 bench_dp --mode step --dp 0 --size base --batch 16
 *       OMP_NUM_THREADS=1 mpirun -n 2 --bind-to core bench_dp --mode step --dp 2 --size base --batch 16
 *     Efficiency at equal cores: median(dp 0, 2 threads) / median(dp 2, 1 thread each).
 *   --mode allreduce: plain MPI_Allreduce (float sum, in place) of 1 MB .. --max_mb MB over the D
 *     ranks, median of --iters; bus bandwidth as nccl-tests defines it: 2(n-1)/n x bytes / time.
 *   --mode snn: `run --convert_to_snn --snn_eval`'s simulation (cli/run_snn.c, sharded over the D
 *     ranks) of --rows SST-2 dev sentences from --shared, in eval batches of --batch, on a small
 *     QANN built as bench_snn builds it (level 32, random weights x3, LSQ steps calibrated on
 *     other SST-2 rows). Reports the simulation's wall seconds and its metric. */
#include "bench_util.h"
#include "blas/gemm.h"
#include "cli/run_snn.h"
#include "core/error.h"
#include "core/fileio.h"
#include "core/isa.h"
#include "parallel/dp.h"
#include "parallel/grad_sum.h"
#include "parallel/shard.h"
#include "snn/simulate.h"
#include "train/dataset.h"

#include <cjson/cJSON.h>
#include <mpi.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const char *mode, *size, *shared;
    int dp, batch, seq, iters, rows, max_mb;
    int sparse, pokes; /* --mode step, dp > 1: the gradient sum's two savings, on (1) or off (0) to compare */
    int ab;            /* 1: cycle through the four (sparse, pokes) pairs, one a step, a line each */
} options;

static void machine_json(char *out, size_t n) {
    char cpu[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "model name", 10)) {
            const char *c = strchr(line, ':');
            if (c) snprintf(cpu, sizeof cpu, "%s", c + 2);
            cpu[strcspn(cpu, "\n")] = 0;
            break;
        }
    if (f) fclose(f);
    snprintf(out, n, "\"cpu\": \"%s\", \"kernels\": \"%s\", \"blas\": \"OpenBLAS %s\"", cpu, sg_isa_describe(), sg_blas_corename());
}

/* ---- one training step ---------------------------------------------------------------------- */

static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double min_of(const double *v, int n) {
    double m = v[0];
    for (int i = 1; i < n; i++) m = v[i] < m ? v[i] : m;
    return m;
}

/* The settings of step `it`: --ab 1 cycles through the four (sparse, pokes) pairs, one a step,
 * so that each is measured between the others while the machine's load drifts. */
static void step_settings(const options *o, int it, int *sparse, int *pokes) {
    *sparse = o->ab ? it % 2 : o->sparse;
    *pokes = o->ab ? it / 2 % 2 : o->pokes;
}

static void report_step(const options *o, const sg_dp_group *g, const sg_model *m, int sparse, int pokes, size_t rows,
                        double *times, double *waits, double *cpus, double *opts, int n, const char *machine) {
    /* minima first: bench_median sorts its array */
    double tmin = min_of(times, n), wmin = min_of(waits, n), cmin = min_of(cpus, n), omin = min_of(opts, n);
    double med = bench_median(times, n), wait = bench_median(waits, n), cpu = bench_median(cpus, n);
    double load[1] = {-1.0};
    if (getloadavg(load, 1) < 1) load[0] = -1.0;
    if (!g || g->rank == 0)
        printf("{\"impl\": \"spikeglue-dp\", \"mode\": \"step\", \"size\": \"%s\", \"global_batch\": %d, \"seq\": %d, \"dp\": %d, "
               "\"threads\": %d, \"median_s\": %.4f, \"min_s\": %.4f, \"cpu_s\": %.4f, \"min_cpu_s\": %.4f, "
               "\"allreduce_wait_s\": %.4f, \"min_allreduce_wait_s\": %.4f, \"min_optimizer_s\": %.4f, "
               "\"sparse_words\": %d, \"progress_pokes\": %d, "
               "\"word_rows_summed\": %zu, \"gradient_mb\": %.1f, \"iters\": %d, \"load1\": %.2f, %s}\n",
               o->size, o->batch, o->seq, g ? g->size : 1, omp_get_max_threads(), med, tmin, cpu, cmin, g ? wait : 0.0,
               g ? wmin : 0.0, omin, g ? sparse : 0, g ? pokes : 0, g && sparse ? rows : 0, m->table.total * 4.0 / 1e6, n, load[0],
               machine);
    fflush(stdout);
}

static int bench_step(const options *o, const sg_dp_group *g, const char *machine) {
    sg_model m;
    if (bench_model_create(&m, o->size, 0, NULL)) return -1;
    if (sg_model_reserve(&m, g ? (o->batch + g->size - 1) / g->size : o->batch, o->seq, 1)) return -1;
    sg_batch whole = bench_synthetic_batch(o->batch, o->seq);
    sg_adamw_config oc;
    sg_adamw_defaults(&oc);
    sg_dp_grad_sum sum; /* the trainer's (train/trainer.c) */
    if (g && sg_dp_grad_sum_init(&sum, g, &m)) return -1;
    const int kinds = g && o->ab ? 4 : 1, n = o->iters * kinds + 1;
    double *times = malloc(sizeof(double) * 4 * (size_t)n), *waits = times + n, *cpus = times + 2 * n, *opts = times + 3 * n;
    if (!times) return sg_fail("out of memory");
    for (int it = 0; it < n; it++) { /* iteration 0 warms up */
        int sparse, pokes;
        step_settings(o, it - 1, &sparse, &pokes);
        if (g) {
            sum.sparse_words = sparse;
            sum.progress_pokes = pokes;
            MPI_Barrier(g->comm);
        }
        double t0 = sg_now(), c0 = cpu_now();
        m.step = (uint64_t)it;
        sg_model_zero_grad(&m);
        sg_batch b = g ? sg_replica_rows(&m, g, (o->batch + g->size - 1) / g->size, whole) : whole;
        if (g) {
            sg_dp_grad_sum_begin(&sum);
            sg_dp_grad_sum_batch(&sum, &b, 1);
        }
        sg_model_forward(&m, &b, 1);
        sg_model_backward(&m, &b);
        double tw = sg_now();
        if (g) {
            m.row_offset = m.global_rows = 0;
            if (sg_dp_grad_sum_finish(&sum)) return -1;
        }
        double to = sg_now();
        waits[it] = to - tw;
        float norm = sg_grad_norm(&m);
        sg_adamw_step_scaled(&m, &oc, 2e-5f, it + 1, sg_clip_factor(norm, 1.0f));
        times[it] = sg_now() - t0;
        opts[it] = sg_now() - to; /* the norm and AdamW: every replica takes the whole step */
        cpus[it] = cpu_now() - c0;
        if (g) MPI_Allreduce(MPI_IN_PLACE, &cpus[it], 1, MPI_DOUBLE, MPI_SUM, g->comm); /* every rank's */
    }
    for (int k = 0; k < kinds; k++) { /* the steps of each setting, gathered from the rotation */
        double t[50], w[50], c[50], op[50];
        int count = 0, sparse = 0, pokes = 0;
        for (int it = 1; it < n; it++)
            if ((it - 1) % kinds == k) {
                step_settings(o, it - 1, &sparse, &pokes);
                t[count] = times[it], w[count] = waits[it], c[count] = cpus[it], op[count] = opts[it];
                count++;
            }
        report_step(o, g, &m, sparse, pokes, g ? sum.words.union_rows : 0, t, w, c, op, count, machine);
    }
    if (g) sg_dp_grad_sum_free(&sum);
    free(times);
    bench_batch_free(&whole);
    sg_model_free(&m);
    return 0;
}

/* ---- all-reduce bandwidth ------------------------------------------------------------------- */

static int bench_allreduce(const options *o, const sg_dp_group *g, const char *machine) {
    const size_t max_floats = (size_t)o->max_mb * (1u << 20) / sizeof(float);
    float *x = malloc(max_floats * sizeof(float));
    if (!x) return sg_fail("out of memory for %d MB", o->max_mb);
    for (size_t i = 0; i < max_floats; i++) x[i] = 1e-3f;
    const int n = g->size;
    for (int mb = 1; mb <= o->max_mb; mb *= 2) {
        const size_t floats = (size_t)mb * (1u << 20) / sizeof(float);
        const int iters = mb <= 16 ? 20 : mb <= 128 ? 5 : 3;
        double t[20];
        for (int it = -1; it < iters; it++) {
            MPI_Barrier(g->comm);
            double t0 = MPI_Wtime();
            MPI_Allreduce(MPI_IN_PLACE, x, (int)floats, MPI_FLOAT, MPI_SUM, g->comm);
            if (it >= 0) t[it] = MPI_Wtime() - t0;
        }
        double med = bench_median(t, iters), bytes = (double)floats * sizeof(float);
        if (g->rank == 0)
            printf("{\"impl\": \"mpi-allreduce\", \"mode\": \"allreduce\", \"ranks\": %d, \"mb\": %d, \"median_s\": %.6f, "
                   "\"algbw_gbs\": %.3f, \"busbw_gbs\": %.3f, %s}\n",
                   n, mb, med, bytes / med / 1e9, 2.0 * (n - 1) / n * bytes / med / 1e9, machine);
    }
    free(x);
    return 0;
}

/* ---- the sharded SNN evaluation ------------------------------------------------------------- */

static int bench_snn(const options *o, const sg_dp_group *g, const char *machine) {
    sg_model_config cfg;
    if (sg_model_config_preset(&cfg, "small", 2, 50265)) return -1;
    const int nmod = cfg.layers * QM_PER_LAYER + 1;
    int *levels = malloc(sizeof(int) * (size_t)nmod);
    if (!levels) return sg_fail("out of memory");
    for (int i = 0; i < nmod; i++) levels[i] = 32;
    sg_model m;
    int rc = sg_model_create_quantized(&m, &cfg, levels);
    free(levels);
    if (rc || sg_model_reserve(&m, o->batch, o->seq, 0)) return -1;
    sg_model_init_random(&m, 1);
    for (int i = P_EMB_COUNT; i < m.table.count; i++)
        if (m.table.info[i].ndim == 2)
            for (size_t k = 0; k < m.table.info[i].numel; k++) sg_model_param(&m, i)[k] *= 3.0f;
    sg_tokenizer *tok;
    sg_glue_data d;
    if (bench_open_sst2_dev(o->shared, &tok, &d)) return -1;
    if (d.count < (size_t)o->rows + 2 * (size_t)o->batch) return sg_fail("SST-2 dev has %zu rows, fewer than needed", d.count);
    /* LSQ steps calibrated on two batches past the evaluated rows */
    sg_encoded all;
    if (sg_encode_dataset(tok, &d, o->seq, &all)) return -1;
    sg_batch_buffers bb;
    if (sg_batch_buffers_init(&bb, o->batch, o->seq)) return -1;
    for (int i = 0; i < cfg.layers * Q_PER_LAYER + 1; i++) sg_lsq_calibrate_begin(&m.quant[i]);
    m.calibrating = 1;
    for (int k = 0; k < 2; k++) {
        sg_batch b = sg_gather_batch(&all, NULL, o->rows + k * o->batch, o->batch, 0, &bb);
        sg_model_forward(&m, &b, 0);
    }
    m.calibrating = 0;
    sg_batch_buffers_free(&bb);
    all.n = o->rows; /* evaluate the first rows only (the arrays stay whole for the free) */
    sg_shard shard;
    sg_shard_of(&shard, g ? g->comm : MPI_COMM_NULL);
    char dir[] = "/tmp/bench_dp_snn_XXXXXX";
    if (!mkdtemp(dir)) return sg_fail("cannot create a scratch directory in /tmp");
    cJSON *res = cJSON_CreateObject();
    double t0 = sg_now();
    rc = sg_run_snn(&m, 32, &all, sg_glue_task_find("sst2")->metrics, o->batch, SG_SNN_DEFAULT_MAX_STEPS, &shard,
                    shard.rank == 0, dir, res);
    double whole_s = sg_now() - t0;
    double sim_s = -1.0, acc = -1.0;
    if (rc == 0 && shard.rank == 0) {
        char path[4200];
        size_t len = 0;
        snprintf(path, sizeof path, "%s/snn_results.json", dir);
        char *text = sg_read_file(path, 1 << 24, &len);
        if (text) {
            cJSON *r = cJSON_Parse(text);
            cJSON *set = cJSON_GetObjectItem(r, "settings"), *met = cJSON_GetObjectItem(r, "metrics");
            const cJSON *seconds = cJSON_GetObjectItem(set, "simulation_seconds"), *accuracy = cJSON_GetObjectItem(met, "eval_accuracy");
            if (cJSON_IsNumber(seconds)) sim_s = seconds->valuedouble;
            if (cJSON_IsNumber(accuracy)) acc = accuracy->valuedouble;
            cJSON_Delete(r);
            free(text);
        }
        printf("{\"impl\": \"spikeglue-snn-dp\", \"mode\": \"snn\", \"size\": \"small\", \"rows\": %d, \"batch\": %d, \"seq\": %d, "
               "\"dp\": %d, \"threads\": %d, \"median_s\": %.3f, \"with_conversion_s\": %.3f, \"snn_accuracy\": %.4f, %s}\n",
               o->rows, o->batch, o->seq, shard.size, omp_get_max_threads(), sim_s, whole_s, acc, machine);
    }
    sg_remove_tree(dir);
    cJSON_Delete(res);
    all.n = (int)d.count;
    sg_encoded_free(&all);
    sg_glue_data_free(&d);
    sg_tokenizer_free(tok);
    sg_model_free(&m);
    return rc;
}

int main(int argc, char **argv) {
    options o = {"step", "base", "../shared", 0, 16, 128, 3, 64, 512, 1, 1, 0};
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--mode")) o.mode = v;
        else if (!strcmp(k, "--size")) o.size = v;
        else if (!strcmp(k, "--shared")) o.shared = v;
        else if (!strcmp(k, "--dp")) o.dp = atoi(v);
        else if (!strcmp(k, "--batch")) o.batch = atoi(v);
        else if (!strcmp(k, "--seq")) o.seq = atoi(v);
        else if (!strcmp(k, "--iters")) o.iters = atoi(v);
        else if (!strcmp(k, "--rows")) o.rows = atoi(v);
        else if (!strcmp(k, "--max_mb")) o.max_mb = atoi(v);
        else if (!strcmp(k, "--sparse")) o.sparse = atoi(v);
        else if (!strcmp(k, "--pokes")) o.pokes = atoi(v);
        else if (!strcmp(k, "--ab")) o.ab = atoi(v);
        else {
            fprintf(stderr, "bench_dp: unknown option %s\n", k);
            return 2;
        }
    }
    if (o.iters < 1) o.iters = 1;
    if (o.iters > 50) o.iters = 50;
    sg_blas_fix_core(argv); /* the kernel spikeglue itself uses (before MPI starts) */
    sg_dp_group g;
    const int on = o.dp > 0 || !strcmp(o.mode, "allreduce");
    if (on && sg_dp_init(o.dp > 0 ? o.dp : 2, 1, &g)) {
        fprintf(stderr, "bench_dp: %s\n", sg_last_error());
        return 1;
    }
    char machine[600];
    machine_json(machine, sizeof machine);
    int rc = !strcmp(o.mode, "step")        ? bench_step(&o, on ? &g : NULL, machine)
             : !strcmp(o.mode, "allreduce") ? bench_allreduce(&o, &g, machine)
             : !strcmp(o.mode, "snn")       ? bench_snn(&o, on ? &g : NULL, machine)
                                            : sg_fail("--mode %s: step, allreduce or snn", o.mode);
    if (rc) fprintf(stderr, "bench_dp: %s\n", sg_last_error());
    if (on) sg_dp_free(&g);
    return rc ? 1 : 0;
}
