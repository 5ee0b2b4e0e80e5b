/* Times `spikeglue run`'s evaluation (sg_evaluate) of roberta-base geometry over the first --rows
 * SST-2 dev sentences tokenized at max_seq_length 128 (HF's pad_to_max_length default), batch 32,
 * fp32 or QANN (--lsq 1); prints one JSON line (median seconds of a whole pass, real-token
 * fraction) and, with --dump FILE, the padded ids then mask (int32 [rows, 128] each) for the
 * PyTorch peer (bench/peer_torch_model.py --data FILE).
 *   bench_eval_glue --shared ../shared --rows 128 [--lsq 1] [--iters 2] [--dump FILE] [--param-cache FILE] */
#include "bench_util.h"
#include "blas/gemm.h"
#include "core/error.h"
#include "train/evaluate.h"

#include <omp.h>
#include <string.h>
#include <sys/resource.h>

static int load_sst2_dev(const char *shared, int T, sg_encoded *e) {
    sg_tokenizer *tok;
    sg_glue_data d;
    if (bench_open_sst2_dev(shared, &tok, &d)) return -1;
    int rc = sg_encode_dataset(tok, &d, T, e);
    sg_glue_data_free(&d);
    sg_tokenizer_free(tok);
    return rc;
}

int main(int argc, char **argv) {
    const char *shared = "../shared", *dump = NULL, *cache = NULL;
    int rows = 128, iters = 2, lsq = 0;
    const int T = 128, batch = 32;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--shared")) shared = argv[i + 1];
        else if (!strcmp(argv[i], "--rows")) rows = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--iters")) iters = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--lsq")) lsq = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--dump")) dump = argv[i + 1];
        else if (!strcmp(argv[i], "--param-cache")) cache = argv[i + 1];
    }
    sg_encoded e;
    if (load_sst2_dev(shared, T, &e)) {
        sg_print_error();
        return 1;
    }
    if (rows < e.n) e.n = rows;
    long real = 0;
    for (int i = 0; i < e.n; i++) real += e.lengths[i];
    if (dump) {
        FILE *f = fopen(dump, "wb");
        if (!f || fwrite(e.ids, sizeof(int32_t), (size_t)e.n * T, f) != (size_t)e.n * T ||
            fwrite(e.mask, sizeof(int32_t), (size_t)e.n * T, f) != (size_t)e.n * T || fclose(f)) {
            fprintf(stderr, "bench_eval_glue: cannot write %s\n", dump);
            return 1;
        }
    }
    sg_model m;
    if (bench_model_create(&m, "base", lsq, cache)) return 1;
    double *times = malloc(sizeof(double) * (iters + 1));
    for (int it = 0; it <= iters; it++) { /* pass 0 warms up */
        sg_eval_result r;
        double t0 = sg_now();
        if (sg_evaluate(&m, &e, SG_METRIC_ACCURACY, batch, &r)) {
            sg_print_error();
            return 1;
        }
        times[it] = sg_now() - t0;
        sg_eval_result_free(&r);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"impl\": \"spikeglue\", \"data\": \"sst2-dev\", \"rows\": %d, \"seq\": %d, \"batch\": %d, \"threads\": %d, "
           "\"lsq\": %s, \"real_token_fraction\": %.3f, \"blas_core\": \"%s\", \"median_s\": %.4f, \"peak_rss_mb\": %.1f}\n",
           e.n, T, batch, omp_get_max_threads(), lsq ? "true" : "false", (double)real / ((double)e.n * T), sg_blas_corename(),
           bench_median(times + 1, iters), ru.ru_maxrss / 1024.0);
    free(times);
    sg_encoded_free(&e);
    sg_model_free(&m);
    return 0;
}
