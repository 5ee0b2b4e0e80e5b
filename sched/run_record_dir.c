/* A run directory → the measured parts of its record: HF's trainer_state.json read here, the
 * spiking network's outputs (snn_results.json, all_results.json) through the run-output contract
 * (io/run_outputs.h), which owns their key names. */
#include "sched/run_record.h"

#include "core/error.h"
#include "core/fileio.h"
#include "io/run_outputs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parse a JSON file; *present = 0 (and NULL, no error) when there is no such file. */
static cJSON *parse_json_file(const char *path, int *present) {
    *present = sg_is_file(path);
    if (!*present) return NULL;
    size_t len = 0;
    char *text = sg_read_file(path, (size_t)512 << 20, &len);
    if (!text) return NULL;
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    if (!o) {
        int line = 1;
        for (const char *p = text; end && p < end && p < text + len; p++) line += *p == '\n';
        sg_fail("%s:%d: malformed JSON", path, line);
    }
    free(text);
    return o;
}

/* Where each value of the contract lands in the record. */
static int put_output(void *ctx, sg_out_field field, const char *name, double step, double value) {
    sg_run_record *r = ctx;
    switch (field) {
    case SG_OUT_TO_QANN_METRIC: return sg_metric_map_set(&r->qann, name, value);
    case SG_OUT_TO_SNN_METRIC: return sg_metric_map_set(&r->snn, name, value);
    case SG_OUT_TO_SNN_SAMPLES: r->snn_samples = value; return 0;
    case SG_OUT_TO_MEAN_SETTLE: r->snn_mean_settle_steps = value; return 0;
    case SG_OUT_TO_MAX_SETTLE: r->snn_max_settle_steps = value; return 0;
    case SG_OUT_TO_SPIKES: r->snn_spikes = value; return 0;
    case SG_OUT_TO_SOPS: r->snn_sops = value; return 0;
    case SG_OUT_TO_ENERGY_J: r->snn_energy_j = value; return 0;
    case SG_OUT_TO_ANN_MACS: r->ann_macs = value; return 0;
    case SG_OUT_TO_ANN_ENERGY_J: r->ann_energy_j = value; return 0;
    case SG_OUT_TO_BY_STEP: return sg_step_series_push(&r->snn_by_step, step, value);
    case SG_OUT_TO_LAYER_FIRING_RATE: return sg_metric_map_set(&r->firing_rate, name, value);
    case SG_OUT_TO_LAYER_SOPS: return sg_metric_map_set(&r->sops_per_layer, name, value);
    }
    return sg_fail("run outputs: unknown field %d", (int)field);
}

static double number_or_nan(const cJSON *v) { return cJSON_IsNumber(v) ? v->valuedouble : NAN; }

/* Throughput numbers HF logs beside each evaluation; not metrics of the model. */
static int is_perf_key(const char *k) {
    return !strcmp(k, "runtime") || !strcmp(k, "samples_per_second") || !strcmp(k, "steps_per_second") ||
           !strcmp(k, "samples");
}

/* HF's log_history: entries with "loss" are training points, entries with eval_* evaluations. */
static int read_trainer_state(sg_run_record *r, const cJSON *o) {
    const cJSON *hist = cJSON_GetObjectItemCaseSensitive(o, "log_history"), *e;
    if (hist && !cJSON_IsArray(hist)) return sg_fail("\"log_history\" must be an array");
    cJSON_ArrayForEach(e, hist) {
        if (!cJSON_IsObject(e)) continue;
        double epoch = number_or_nan(cJSON_GetObjectItemCaseSensitive(e, "epoch"));
        double step = number_or_nan(cJSON_GetObjectItemCaseSensitive(e, "step"));
        const cJSON *loss = cJSON_GetObjectItemCaseSensitive(e, "loss");
        if (cJSON_IsNumber(loss)) {
            if (sg_train_series_push(&r->train, step, epoch, loss->valuedouble,
                                     number_or_nan(cJSON_GetObjectItemCaseSensitive(e, "learning_rate"))))
                return -1;
            continue;
        }
        const size_t prefix = strlen(SG_OUT_EVAL_PREFIX);
        int is_eval = 0;
        const cJSON *x;
        cJSON_ArrayForEach(x, e) {
            if (!cJSON_IsNumber(x) || !x->string || strncmp(x->string, SG_OUT_EVAL_PREFIX, prefix) ||
                is_perf_key(x->string + prefix))
                continue;
            if (!is_eval && sg_eval_series_push(&r->eval, epoch, step)) return -1;
            is_eval = 1;
            if (sg_eval_series_set(&r->eval, r->eval.n - 1, x->string + prefix, x->valuedouble)) return -1;
        }
    }
    return 0;
}

int sg_run_record_from_dir(const char *dir, sg_run_record *rec) {
    char base[4096], path[4200];
    if (!sg_is_dir(dir)) return sg_fail("%s: not a run directory", dir);
    snprintf(base, sizeof base, "%s/out", dir);
    if (!sg_is_dir(base)) snprintf(base, sizeof base, "%s", dir);
    sg_run_record_clear_measured(rec);

    /* snn_results.json after all_results.json: its figures are the fuller ones */
    static const char *const files[] = {SG_OUT_ALL_RESULTS_FILE, SG_OUT_TRAINER_STATE_FILE, SG_OUT_SNN_RESULTS_FILE};
    const sg_out_sink sink = {put_output, rec};
    for (int f = 0; f < 3; f++) {
        int present = 0;
        snprintf(path, sizeof path, "%s/%s", base, files[f]);
        cJSON *o = parse_json_file(path, &present);
        if (!present) continue;
        if (!o) return -1;
        int rc = 0;
        if (!cJSON_IsObject(o)) rc = sg_fail("expected a JSON object");
        else if (f == 0) rc = sg_read_all_results(o, &sink);
        else if (f == 1) rc = read_trainer_state(rec, o);
        else rc = sg_read_snn_results(o, &sink);
        cJSON_Delete(o);
        if (rc) return sg_fail_context("%s", path);
    }
    return 0;
}
