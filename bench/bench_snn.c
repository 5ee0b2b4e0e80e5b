/* Times the event-driven simulation of the spiking network: a quantized RoBERTa (every module at
 * level 32, unfold_bias 32, random weights scaled by --scale, LSQ steps calibrated on two other
 * batches) converted and simulated to quiescence on --batch sequences of --seq real tokens.
 * Prints one JSON line: steps to settle, spikes, SOPs, seconds, and the agreement with the
 * quantized ANN. With --out DIR it also saves the converted network (DIR/config.json,
 * DIR/model.safetensors) and the batch with both logits (DIR/bench_batch.json), so that
 * bench/peer_snn_dense.py can simulate the identical network densely and compare.
 * With --sst2 SHARED (e.g. ../shared) the rows are SST-2 dev sentences tokenized by RoBERTa's
 * tokenizer and padded to --seq, as GLUE evaluation runs them (calibration on other SST-2 rows).
 *   bench_snn --size small --batch 32 --seq 128 [--scale 3] [--out DIR] [--max_steps 256]
 *             [--dense_fraction F] [--sst2 SHARED] */
#include "core/error.h"
#include "core/fileio.h"
#include "core/rng.h"
#include "bench_util.h"
#include "data/glue.h"
#include "data/tokenizer.h"
#include "snn/simulate.h"
#include "snn/snn_model.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* CPU time of the process (all threads): less sensitive than wall time to a shared machine. */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Full-length rows: <s> random tokens </s>, no padding. */
static void random_batch(int32_t *ids, int32_t *mask, int B, int T, int vocab, uint64_t seed) {
    sg_rng g;
    sg_rng_seed(&g, seed);
    for (int i = 0; i < B * T; i++) {
        int t = i % T;
        ids[i] = t == 0 ? 0 : t == T - 1 ? 2 : 4 + (int)sg_rng_below(&g, (uint64_t)vocab - 5);
        mask[i] = 1;
    }
}

/* B SST-2 dev rows from `offset`, tokenized and padded to T. */
static int sst2_batch(const char *shared, int32_t *ids, int32_t *mask, int B, int T, int offset) {
    sg_tokenizer *tok;
    sg_glue_data d;
    if (bench_open_sst2_dev(shared, &tok, &d)) return -1;
    int rc = 0;
    for (int i = 0; i < B && rc == 0; i++) {
        const char *a = d.text_a[(size_t)(offset + i) % d.count];
        if (sg_tokenizer_encode_row(tok, a, strlen(a), NULL, 0, T, ids + (size_t)i * T, mask + (size_t)i * T) < 0) rc = -1;
    }
    sg_glue_data_free(&d);
    sg_tokenizer_free(tok);
    return rc;
}

static int write_batch_json(const char *dir, const int32_t *ids, const int32_t *mask, int B, int T, const float *snn,
                            const float *qann, int L, const int *settle) {
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "batch", B);
    cJSON_AddNumberToObject(root, "seq", T);
    cJSON *ids_a = cJSON_AddArrayToObject(root, "ids"), *mask_a = cJSON_AddArrayToObject(root, "mask"),
          *s = cJSON_AddArrayToObject(root, "snn_logits"),
          *q = cJSON_AddArrayToObject(root, "qann_logits"), *st = cJSON_AddArrayToObject(root, "settle_step");
    for (int i = 0; i < B * T; i++) {
        cJSON_AddItemToArray(ids_a, cJSON_CreateNumber(ids[i]));
        cJSON_AddItemToArray(mask_a, cJSON_CreateNumber(mask[i]));
    }
    for (int i = 0; i < B * L; i++) {
        cJSON_AddItemToArray(s, cJSON_CreateNumber(snn[i]));
        cJSON_AddItemToArray(q, cJSON_CreateNumber(qann[i]));
    }
    for (int i = 0; i < B; i++) cJSON_AddItemToArray(st, cJSON_CreateNumber(settle[i]));
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text) return sg_fail("out of memory");
    char path[4096];
    int rc = sg_path_join(path, sizeof path, dir, "bench_batch.json") ? -1 : sg_write_file_atomic(path, text, strlen(text));
    free(text);
    return rc;
}

int main(int argc, char **argv) {
    const char *size = "small", *out = NULL, *sst2 = NULL;
    int B = 32, T = 128, max_steps = SG_SNN_DEFAULT_MAX_STEPS;
    float scale = 3.0f, dense_fraction = -1.0f;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--size")) size = argv[i + 1];
        else if (!strcmp(argv[i], "--batch")) B = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seq")) T = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--scale")) scale = (float)atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--out")) out = argv[i + 1];
        else if (!strcmp(argv[i], "--max_steps")) max_steps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--dense_fraction")) dense_fraction = (float)atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--sst2")) sst2 = argv[i + 1];
        else {
            fprintf(stderr, "bench_snn: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    sg_model_config cfg;
    if (sg_model_config_preset(&cfg, size, 2, 50265)) {
        sg_print_error();
        return 1;
    }
    const int nmod = cfg.layers * QM_PER_LAYER + 1;
    int *levels = malloc(sizeof(int) * (size_t)nmod);
    for (int i = 0; i < nmod; i++) levels[i] = 32; /* configs/transform_cfg.yaml */
    sg_model m;
    if (sg_model_create_quantized(&m, &cfg, levels) || sg_model_reserve(&m, B, T, 0)) {
        sg_print_error();
        return 1;
    }
    sg_model_init_random(&m, 1);
    for (int i = P_EMB_COUNT; i < m.table.count; i++)
        if (m.table.info[i].ndim == 2)
            for (size_t k = 0; k < m.table.info[i].numel; k++) sg_model_param(&m, i)[k] *= scale;
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)B * T), *mask = malloc(sizeof(int32_t) * (size_t)B * T);
    sg_batch batch = {B, T, ids, mask, NULL, NULL, NULL};
    /* LSQ calibration on two other batches */
    for (int i = 0; i < cfg.layers * Q_PER_LAYER + 1; i++) sg_lsq_calibrate_begin(&m.quant[i]);
    m.calibrating = 1;
    for (int k = 0; k < 2; k++) {
        if (sst2) {
            if (sst2_batch(sst2, ids, mask, B, T, 300 + 300 * k)) {
                sg_print_error();
                return 1;
            }
        } else {
            random_batch(ids, mask, B, T, cfg.vocab_size, 100 + (uint64_t)k);
        }
        sg_model_forward(&m, &batch, 0);
    }
    m.calibrating = 0;
    if (sst2) {
        if (sst2_batch(sst2, ids, mask, B, T, 0)) {
            sg_print_error();
            return 1;
        }
    } else {
        random_batch(ids, mask, B, T, cfg.vocab_size, 7);
    }
    long real_tokens = 0;
    for (int i = 0; i < B * T; i++) real_tokens += mask[i];
    double t0 = sg_now();
    sg_model_forward(&m, &batch, 0);
    double qann_s = sg_now() - t0;

    sg_snn_model snn;
    if (sg_snn_convert(&snn, &m, 32)) {
        sg_print_error();
        return 1;
    }
    sg_snn_sim_options opt;
    sg_snn_sim_options_default(&opt);
    opt.max_steps = max_steps;
    if (dense_fraction >= 0.0f) opt.dense_fraction = dense_fraction;
    sg_snn_sim *sim = sg_snn_sim_create(&snn, B, T, &opt);
    if (!sim) {
        sg_print_error();
        return 1;
    }
    t0 = sg_now();
    double c0 = cpu_now();
    if (sg_snn_simulate(sim, &batch)) {
        sg_print_error();
        return 1;
    }
    double snn_s = sg_now() - t0, snn_cpu = cpu_now() - c0;
    const sg_snn_output *o = sg_snn_sim_output(sim);
    const sg_snn_stats *st = sg_snn_sim_stats(sim);
    sg_snn_stat tot = sg_snn_stats_total(st);
    double max_diff = 0.0;
    int same_pred = 0, exact = 0;
    for (int i = 0; i < B; i++) {
        const float *zs = o->logits + (size_t)i * cfg.num_labels, *zq = m.acts.logits + (size_t)i * cfg.num_labels;
        double d = 0.0;
        for (int k = 0; k < cfg.num_labels; k++) d = fmax(d, fabs((double)zs[k] - (double)zq[k]));
        max_diff = fmax(max_diff, d);
        exact += d <= 1e-5;
        same_pred += sg_snn_argmax(zs, cfg.num_labels) == sg_snn_argmax(zq, cfg.num_labels);
    }
    if (out && (sg_snn_save(&snn, out) ||
                write_batch_json(out, ids, mask, B, T, o->logits, m.acts.logits, cfg.num_labels, o->settle_step))) {
        sg_print_error();
        return 1;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"impl\": \"spikeglue-snn\", \"data\": \"%s\", \"size\": \"%s\", \"batch\": %d, \"seq\": %d, "
           "\"real_tokens\": %ld, \"threads\": %d, "
           "\"steps\": %d, \"mean_settle_step\": %.1f, \"spikes\": %llu, \"spikes_per_neuron\": %.2f, \"sops\": %.4g, "
           "\"macs\": %.4g, \"ann_macs\": %.4g, \"energy_mj\": %.4g, \"ann_energy_mj\": %.4g, \"seconds\": %.3f, "
           "\"cpu_seconds\": %.3f, "
           "\"qann_forward_seconds\": %.3f, \"max_abs_diff_vs_qann\": %.3g, \"samples_equal_1e-5\": %d, "
           "\"same_predictions\": %d, \"peak_rss_mb\": %.1f}\n",
           sst2 ? "sst2-dev" : "random-full-length", size, B, T, real_tokens, omp_get_max_threads(), o->steps, (double)st->steps_sum / (double)st->samples,
           (unsigned long long)(tot.spikes_pos + tot.spikes_neg), (double)(tot.spikes_pos + tot.spikes_neg) / (double)tot.neurons,
           (double)tot.sops, (double)tot.macs, (double)tot.ann_macs, sg_snn_energy_pj(&tot) * 1e-9,
           sg_snn_ann_energy_pj(&tot) * 1e-9, snn_s, snn_cpu, qann_s, max_diff, exact, same_pred, ru.ru_maxrss / 1024.0);
    sg_snn_sim_free(sim);
    sg_snn_model_free(&snn);
    sg_model_free(&m);
    free(levels);
    free(ids);
    free(mask);
    return 0;
}
