#include "io/run_outputs.h"

#include "core/error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- writing ---------------------------------------------------------------------------------- */

static int add_number(cJSON *o, const char *key, double v) { return cJSON_AddNumberToObject(o, key, v) != NULL; }

cJSON *sg_snn_outputs_json(const sg_snn_outputs *o, cJSON *stats) {
    cJSON *res = cJSON_CreateObject();
    cJSON *metrics = res ? cJSON_AddObjectToObject(res, SG_OUT_METRICS) : NULL;
    int ok = metrics != NULL;
    for (int i = 0; ok && i < o->metric_count; i++) {
        char key[96];
        snprintf(key, sizeof key, SG_OUT_EVAL_PREFIX "%s", o->metric_names[i]);
        ok = add_number(metrics, key, o->metric_values[i]);
    }
    ok = ok && add_number(metrics, SG_OUT_EVAL_SAMPLES, o->samples) && add_number(res, SG_OUT_AGREEMENT, o->agreement);
    cJSON *by = ok ? cJSON_AddArrayToObject(res, SG_OUT_BY_STEP) : NULL;
    ok = by != NULL;
    for (int t = 0; ok && t < o->by_step_count; t++) {
        double v = o->by_step[t];
        cJSON *x = isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
        ok = x && cJSON_AddItemToArray(by, x);
        if (!ok) cJSON_Delete(x);
    }
    cJSON *settings = ok ? cJSON_AddObjectToObject(res, SG_OUT_SETTINGS) : NULL;
    ok = settings && add_number(settings, SG_OUT_MAX_STEPS, o->max_steps) &&
         add_number(settings, SG_OUT_UNFOLD_LEVEL, o->unfold_level) &&
         add_number(settings, SG_OUT_SIM_SECONDS, o->simulation_seconds);
    if (ok && stats && cJSON_AddItemToObject(res, SG_OUT_STATS, stats)) stats = NULL;
    else ok = 0;
    if (!ok) {
        cJSON_Delete(stats);
        cJSON_Delete(res);
        sg_fail("snn results: out of memory");
        return NULL;
    }
    return res;
}

static int replace_number(cJSON *all, const char *key, double v) {
    cJSON_DeleteItemFromObjectCaseSensitive(all, key);
    return add_number(all, key, v);
}

int sg_snn_outputs_add_to_all(cJSON *all, const sg_snn_outputs *o) {
    int ok = 1;
    for (int i = 0; ok && i < o->metric_count; i++) {
        char key[96];
        snprintf(key, sizeof key, SG_OUT_SNN_EVAL_PREFIX "%s", o->metric_names[i]);
        ok = replace_number(all, key, o->metric_values[i]);
    }
    ok = ok && replace_number(all, SG_OUT_ALL_MEAN_SETTLE, o->mean_settle) &&
         replace_number(all, SG_OUT_ALL_MAX_SETTLE, o->max_settle) &&
         replace_number(all, SG_OUT_ALL_AGREEMENT, o->agreement) &&
         replace_number(all, SG_OUT_ALL_SOPS_PER_SAMPLE, o->sops_per_sample) &&
         replace_number(all, SG_OUT_ALL_ENERGY_PER_SAMPLE, o->energy_mj_per_sample) &&
         replace_number(all, SG_OUT_ALL_ANN_ENERGY_PER_SAMPLE, o->ann_energy_mj_per_sample);
    return ok ? 0 : sg_fail("all_results: out of memory");
}

/* ---- reading ---------------------------------------------------------------------------------- */

static int put(const sg_out_sink *s, sg_out_field f, const char *name, double v) { return s->put(s->ctx, f, name, 0, v); }

static int unknown(const char *path, const char *key) {
    return sg_fail("unknown key \"%s%s\" (not part of what spikeglue run writes: src/io/run_outputs.h)", path, key);
}

/* A number, or null (NaN written by cJSON: the value was not defined, nothing lands). */
static int number_or_null(const cJSON *x, const char *path, int *is_number) {
    *is_number = cJSON_IsNumber(x);
    if (*is_number || cJSON_IsNull(x)) return 0;
    return sg_fail("\"%s%s\" must be a number", path, x->string ? x->string : "");
}

static int starts_with(const char *s, const char *prefix) { return !strncmp(s, prefix, strlen(prefix)); }

/* The run's per-sample figures written beside the SNN metrics, kept as such under their names. */
static const char *snn_figure_name(const char *all_key) {
    if (!strcmp(all_key, SG_OUT_ALL_AGREEMENT)) return SG_OUT_AGREEMENT;
    if (!strcmp(all_key, SG_OUT_ALL_SOPS_PER_SAMPLE)) return "sops_per_sample";
    if (!strcmp(all_key, SG_OUT_ALL_ENERGY_PER_SAMPLE)) return "energy_mj_per_sample";
    return NULL;
}

int sg_read_all_results(const cJSON *all, const sg_out_sink *sink) {
    const cJSON *x;
    cJSON_ArrayForEach(x, all) {
        const char *k = x->string ? x->string : "";
        int is_num = 0, rc = 0;
        if (starts_with(k, SG_OUT_EVAL_PREFIX)) { /* HF's final evaluation */
            if (cJSON_IsNumber(x)) rc = put(sink, SG_OUT_TO_QANN_METRIC, k + strlen(SG_OUT_EVAL_PREFIX), x->valuedouble);
        } else if (!strcmp(k, SG_OUT_ALL_ANN_ENERGY_PER_SAMPLE)) {
            /* for people reading the file; the record takes the ANN's energy from stats.total */
        } else if (!starts_with(k, "snn_")) {
            /* HF's other keys (train_*, epoch, …): not outputs of the spiking network */
        } else if (number_or_null(x, "", &is_num)) {
            rc = -1;
        } else if (starts_with(k, SG_OUT_SNN_EVAL_PREFIX)) {
            if (is_num) rc = put(sink, SG_OUT_TO_SNN_METRIC, k + strlen(SG_OUT_SNN_EVAL_PREFIX), x->valuedouble);
        } else if (!strcmp(k, SG_OUT_ALL_MEAN_SETTLE)) {
            if (is_num) rc = put(sink, SG_OUT_TO_MEAN_SETTLE, NULL, x->valuedouble);
        } else if (!strcmp(k, SG_OUT_ALL_MAX_SETTLE)) {
            if (is_num) rc = put(sink, SG_OUT_TO_MAX_SETTLE, NULL, x->valuedouble);
        } else if (snn_figure_name(k)) {
            if (is_num) rc = put(sink, SG_OUT_TO_SNN_METRIC, snn_figure_name(k), x->valuedouble);
        } else {
            rc = unknown("", k);
        }
        if (rc) return -1;
    }
    return 0;
}

static int read_metrics(const cJSON *o, const sg_out_sink *sink) {
    if (!cJSON_IsObject(o)) return sg_fail("\"" SG_OUT_METRICS "\" must be an object");
    const cJSON *x;
    cJSON_ArrayForEach(x, o) {
        int is_num = 0;
        if (number_or_null(x, SG_OUT_METRICS ".", &is_num)) return -1;
        if (!starts_with(x->string, SG_OUT_EVAL_PREFIX)) return unknown(SG_OUT_METRICS ".", x->string);
        if (!is_num) continue;
        int rc = !strcmp(x->string, SG_OUT_EVAL_SAMPLES)
                     ? put(sink, SG_OUT_TO_SNN_SAMPLES, NULL, x->valuedouble)
                     : put(sink, SG_OUT_TO_SNN_METRIC, x->string + strlen(SG_OUT_EVAL_PREFIX), x->valuedouble);
        if (rc) return -1;
    }
    return 0;
}

static int read_by_step(const cJSON *a, const sg_out_sink *sink) {
    if (!cJSON_IsArray(a)) return sg_fail("\"" SG_OUT_BY_STEP "\" must be an array");
    int step = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, a) {
        step++;
        if (!cJSON_IsNumber(x) && !cJSON_IsNull(x))
            return sg_fail("\"" SG_OUT_BY_STEP "\"[%d] must be a number or null", step - 1);
        if (sink->put(sink->ctx, SG_OUT_TO_BY_STEP, NULL, step, cJSON_IsNumber(x) ? x->valuedouble : NAN)) return -1;
    }
    return 0;
}

static int stat_number(const cJSON *stat, const char *key, double *v) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(stat, key);
    *v = cJSON_IsNumber(x) ? x->valuedouble : NAN;
    return cJSON_IsNumber(x);
}

/* A STAT has these keys and no others ("kind" in "entries" only, which are not read). */
static int check_stat_keys(const cJSON *stat, const char *path) {
    static const char *const keys[] = {SG_OUT_NAME, SG_OUT_NEURONS, SG_OUT_SPIKES, SG_OUT_SPIKES_POS,
                                       SG_OUT_SPIKES_NEG, SG_OUT_FIRING_RATE, SG_OUT_SOPS, SG_OUT_MACS,
                                       SG_OUT_ANN_MACS, SG_OUT_ENERGY_MJ, SG_OUT_ANN_ENERGY_MJ};
    if (!cJSON_IsObject(stat)) return sg_fail("\"%s\" must be an object", path);
    const cJSON *x;
    cJSON_ArrayForEach(x, stat) {
        size_t i = 0;
        while (i < sizeof keys / sizeof keys[0] && strcmp(x->string, keys[i])) i++;
        if (i == sizeof keys / sizeof keys[0]) {
            char where[128];
            snprintf(where, sizeof where, "%s.", path);
            return unknown(where, x->string);
        }
    }
    return 0;
}

static int read_total(const cJSON *t, const sg_out_sink *sink) {
    if (check_stat_keys(t, SG_OUT_STATS "." SG_OUT_TOTAL)) return -1;
    double v;
    if (stat_number(t, SG_OUT_SOPS, &v) && put(sink, SG_OUT_TO_SOPS, NULL, v)) return -1;
    if (stat_number(t, SG_OUT_SPIKES, &v) && put(sink, SG_OUT_TO_SPIKES, NULL, v)) return -1;
    if (stat_number(t, SG_OUT_ENERGY_MJ, &v) && put(sink, SG_OUT_TO_ENERGY_J, NULL, v * 1e-3)) return -1;
    if (stat_number(t, SG_OUT_ANN_MACS, &v) && put(sink, SG_OUT_TO_ANN_MACS, NULL, v)) return -1;
    if (stat_number(t, SG_OUT_ANN_ENERGY_MJ, &v) && put(sink, SG_OUT_TO_ANN_ENERGY_J, NULL, v * 1e-3)) return -1;
    return 0;
}

/* stats.layers: per encoder layer and the classifier, each a STAT with a name. */
static int read_layers(const cJSON *a, const sg_out_sink *sink) {
    if (!cJSON_IsArray(a)) return sg_fail("\"" SG_OUT_STATS "." SG_OUT_LAYERS "\" must be an array");
    int i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, a) {
        char path[64];
        snprintf(path, sizeof path, SG_OUT_STATS "." SG_OUT_LAYERS "[%d]", i);
        if (check_stat_keys(x, path)) return -1;
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(x, SG_OUT_NAME);
        if (!cJSON_IsString(name))
            return sg_fail("\"" SG_OUT_STATS "." SG_OUT_LAYERS "\"[%d] has no \"" SG_OUT_NAME "\" string", i);
        double v;
        if (stat_number(x, SG_OUT_FIRING_RATE, &v) && sink->put(sink->ctx, SG_OUT_TO_LAYER_FIRING_RATE, name->valuestring, 0, v))
            return -1;
        if (stat_number(x, SG_OUT_SOPS, &v) && sink->put(sink->ctx, SG_OUT_TO_LAYER_SOPS, name->valuestring, 0, v))
            return -1;
        i++;
    }
    return 0;
}

static int read_stats(const cJSON *o, const sg_out_sink *sink) {
    if (!cJSON_IsObject(o)) return sg_fail("\"" SG_OUT_STATS "\" must be an object");
    static const struct {
        const char *key;
        sg_out_field field;
        const char *name;
    } numbers[] = {
        {SG_OUT_SAMPLES, SG_OUT_TO_SNN_SAMPLES, NULL},     {SG_OUT_SETTLED, SG_OUT_TO_SNN_METRIC, SG_OUT_SETTLED},
        {SG_OUT_MEAN_SETTLE, SG_OUT_TO_MEAN_SETTLE, NULL}, {SG_OUT_MAX_SETTLE, SG_OUT_TO_MAX_SETTLE, NULL},
        {SG_OUT_E_MAC_PJ, SG_OUT_TO_SNN_METRIC, SG_OUT_E_MAC_PJ}, {SG_OUT_E_AC_PJ, SG_OUT_TO_SNN_METRIC, SG_OUT_E_AC_PJ},
    };
    const cJSON *x;
    cJSON_ArrayForEach(x, o) {
        const char *k = x->string;
        int rc = 0, known = 0;
        for (size_t i = 0; i < sizeof numbers / sizeof numbers[0] && !known; i++) {
            if (strcmp(k, numbers[i].key)) continue;
            known = 1;
            int is_num = 0;
            rc = number_or_null(x, SG_OUT_STATS ".", &is_num) || (is_num && put(sink, numbers[i].field, numbers[i].name, x->valuedouble));
        }
        if (known) {
        } else if (!strcmp(k, SG_OUT_TOTAL)) rc = read_total(x, sink);
        else if (!strcmp(k, SG_OUT_LAYERS)) rc = read_layers(x, sink);
        else if (!strcmp(k, SG_OUT_ENTRIES)) {
            /* per population and synaptic layer: finer than the record keeps; stays in the file */
        } else rc = unknown(SG_OUT_STATS ".", k);
        if (rc) return -1;
    }
    return 0;
}

int sg_read_snn_results(const cJSON *snn, const sg_out_sink *sink) {
    if (!cJSON_IsObject(snn)) return sg_fail("expected a JSON object");
    const cJSON *x;
    cJSON_ArrayForEach(x, snn) {
        const char *k = x->string;
        int rc = 0, is_num = 0;
        if (!strcmp(k, SG_OUT_METRICS)) rc = read_metrics(x, sink);
        else if (!strcmp(k, SG_OUT_AGREEMENT))
            rc = number_or_null(x, "", &is_num) || (is_num && put(sink, SG_OUT_TO_SNN_METRIC, SG_OUT_AGREEMENT, x->valuedouble));
        else if (!strcmp(k, SG_OUT_BY_STEP)) rc = read_by_step(x, sink);
        else if (!strcmp(k, SG_OUT_SETTINGS)) {
            /* how the simulation ran, not what it measured: the run's config holds the same */
        } else if (!strcmp(k, SG_OUT_STATS)) rc = read_stats(x, sink);
        else rc = unknown("", k);
        if (rc) return -1;
    }
    return 0;
}
