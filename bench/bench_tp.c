/* Tensor-parallel training step (docs/tensor-parallel.md): forward + backward + global-norm
 * clipping + AdamW of RoBERTa with its linear layers distributed over a group of P ranks
 * (PBLAS psgemm), or undistributed with --tp 0. Prints one JSON line (from group rank 0): the
 * median step time, the time per step inside psgemm (local products + PBLAS's communication) and
 * inside our all-gathers of distributed results (and the MB they received), and the MB of
 * linear weights each rank holds.
 *   OMP_NUM_THREADS=2 taskset -c 0,1 bench_tp --tp 0 --size base --batch 8 --seq 128 --iters 3
 *   OMP_NUM_THREADS=1 mpirun -n 2 --bind-to core --map-by core bench_tp --tp 2 --size base ...
 * Efficiency on the same cores: median(tp 0, 2 threads) / median(tp 2, 1 thread each). */
#include "bench_util.h"
#include "blas/gemm.h"
#include "core/error.h"
#include "parallel/tp.h"

#include <omp.h>
#include <string.h>

int main(int argc, char **argv) {
    const char *size = "base";
    int B = 8, T = 128, iters = 3, tp = 0;
    sg_tp_layout layout;
    sg_tp_layout_defaults(&layout);
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--size")) size = argv[i + 1];
        else if (!strcmp(argv[i], "--batch")) B = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seq")) T = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--iters")) iters = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--tp")) tp = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--nb")) layout.nb_features = atoi(argv[i + 1]);
    }
    if (iters < 1) iters = 1;
    sg_blas_fix_core(argv); /* the AVX-512 kernel, as spikeglue itself does (before MPI starts) */
    sg_tp_group g;
    if (tp > 0 && sg_tp_init(tp, &g)) {
        fprintf(stderr, "bench_tp: %s\n", sg_last_error());
        return 1;
    }
    sg_model m;
    if (bench_model_create(&m, size, 0, NULL)) return 1; /* no cache: the group's ranks would race on it */
    const sg_model_config cfg = m.cfg;
    if (tp > 0 && sg_tp_model_attach(&m, &g, &layout)) return 1;
    if (sg_model_reserve(&m, B, T, 1)) return 1;
    sg_batch batch = bench_synthetic_batch(B, T);
    sg_adamw_config oc;
    sg_adamw_defaults(&oc);
    double *times = malloc(sizeof(double) * (iters + 1));
    for (int it = 0; it <= iters; it++) { /* iteration 0 warms up */
        if (it == 1) sg_tp_model_reset_stats(&m);
        double t0 = sg_now();
        bench_train_step(&m, &batch, &oc, it);
        times[it] = sg_now() - t0;
    }
    sg_tp_stats st = sg_tp_model_stats(&m);
    double med = bench_median(times + 1, iters);
    size_t weight_floats = 0;
    for (int i = 0; i < m.table.count; i++)
        if (sg_param_is_linear_weight(&cfg, i)) weight_floats += m.table.info[i].numel;
    if (sg_tp_is_writer(&m))
        printf("{\"impl\": \"spikeglue-tp\", \"size\": \"%s\", \"batch\": %d, \"seq\": %d, \"tp\": %d, \"threads\": %d, "
               "\"nb\": %d, \"median_s\": %.4f, \"psgemm_s\": %.4f, \"allgather_s\": %.4f, \"allgather_mb\": %.1f, "
               "\"linear_weight_mb_per_rank\": %.1f}\n",
               size, B, T, tp, omp_get_max_threads(), layout.nb_features, med, st.gemm_seconds / iters, st.gather_seconds / iters,
               st.gathered_bytes / iters / 1e6, weight_floats * 4.0 / 1e6);
    free(times);
    bench_batch_free(&batch);
    sg_model_free(&m);
    if (tp > 0) sg_tp_free(&g);
    return 0;
}
