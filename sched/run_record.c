#include "sched/run_record.h"

#include "core/error.h"
#include "core/grow.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small containers ---------------------------------------------------------------------- */

int sg_run_record_set_str(char **field, const char *value) {
    char *copy = NULL;
    if (value && *value && !(copy = strdup(value))) return sg_fail("out of memory");
    free(*field);
    *field = copy;
    return 0;
}

int sg_metric_map_set(sg_metric_map *m, const char *name, double value) {
    for (int i = 0; i < m->count; i++)
        if (!strcmp(m->names[i], name)) {
            m->values[i] = value;
            return 0;
        }
    /* names and values share m->cap: both grow from it, and it moves only when both did */
    size_t cap_names = m->cap, cap_values = m->cap, need = (size_t)m->count + 1;
    if (sg_grow((void **)&m->names, &cap_names, need, sizeof(char *), 8) ||
        sg_grow((void **)&m->values, &cap_values, need, sizeof(double), 8))
        return -1;
    m->cap = cap_names < cap_values ? cap_names : cap_values;
    if (!(m->names[m->count] = strdup(name))) return sg_fail("out of memory");
    m->values[m->count++] = value;
    return 0;
}

double sg_metric_map_get(const sg_metric_map *m, const char *name) {
    for (int i = 0; i < m->count; i++)
        if (!strcmp(m->names[i], name)) return m->values[i];
    return NAN;
}

void sg_metric_map_free(sg_metric_map *m) {
    for (int i = 0; i < m->count; i++) free(m->names[i]);
    free(m->names);
    free(m->values);
    memset(m, 0, sizeof *m);
}

/* Grow several parallel double arrays that share one capacity; *cap moves only when all grew. */
static int grow_parallel(double **arrays[], int narrays, size_t *cap, int need) {
    size_t grown = *cap;
    for (int k = 0; k < narrays; k++) {
        size_t c = *cap;
        if (sg_grow((void **)arrays[k], &c, (size_t)need, sizeof(double), 16)) return -1;
        grown = c;
    }
    *cap = grown;
    return 0;
}

int sg_train_series_push(sg_train_series *s, double step, double epoch, double loss, double lr) {
    double **arr[] = {&s->step, &s->epoch, &s->loss, &s->learning_rate};
    if (grow_parallel(arr, 4, &s->cap, s->n + 1)) return -1;
    s->step[s->n] = step;
    s->epoch[s->n] = epoch;
    s->loss[s->n] = loss;
    s->learning_rate[s->n] = lr;
    s->n++;
    return 0;
}

int sg_step_series_push(sg_step_series *s, double step, double value) {
    double **arr[] = {&s->step, &s->value};
    if (grow_parallel(arr, 2, &s->cap, s->n + 1)) return -1;
    s->step[s->n] = step;
    s->value[s->n] = value;
    s->n++;
    return 0;
}

int sg_eval_series_push(sg_eval_series *s, double epoch, double step) {
    size_t cap = s->cap;
    double **arr[] = {&s->epoch, &s->step};
    if (grow_parallel(arr, 2, &cap, s->n + 1)) return -1;
    for (int k = 0; k < s->nmetrics; k++) {
        size_t c = s->cap;
        if (sg_grow((void **)&s->values[k], &c, cap, sizeof(double), cap)) return -1;
        s->values[k][s->n] = NAN;
    }
    s->cap = cap;
    s->epoch[s->n] = epoch;
    s->step[s->n] = step;
    s->n++;
    return 0;
}

int sg_eval_series_set(sg_eval_series *s, int index, const char *name, double value) {
    if (index < 0 || index >= s->n) return sg_fail("eval series: index %d out of range", index);
    int k = 0;
    while (k < s->nmetrics && strcmp(s->names[k], name)) k++;
    if (k == s->nmetrics) {
        char **names = realloc(s->names, sizeof(char *) * (size_t)(k + 1));
        if (!names) return sg_fail("out of memory");
        s->names = names;
        double **values = realloc(s->values, sizeof(double *) * (size_t)(k + 1));
        if (!values) return sg_fail("out of memory");
        s->values = values;
        double *v = malloc(sizeof(double) * (s->cap > 0 ? s->cap : 1));
        char *nm = strdup(name);
        if (!v || !nm) {
            free(v);
            free(nm);
            return sg_fail("out of memory");
        }
        for (int i = 0; i < s->n; i++) v[i] = NAN;
        s->names[k] = nm;
        s->values[k] = v;
        s->nmetrics++;
    }
    s->values[k][index] = value;
    return 0;
}

static void train_free(sg_train_series *s) {
    free(s->step), free(s->epoch), free(s->loss), free(s->learning_rate);
    memset(s, 0, sizeof *s);
}

static void eval_free(sg_eval_series *s) {
    for (int k = 0; k < s->nmetrics; k++) free(s->names[k]), free(s->values[k]);
    free(s->names), free(s->values), free(s->epoch), free(s->step);
    memset(s, 0, sizeof *s);
}

static void steps_free(sg_step_series *s) {
    free(s->step), free(s->value);
    memset(s, 0, sizeof *s);
}

/* ---- record lifecycle ----------------------------------------------------------------------- */

static void clear_snn_cost(sg_run_record *r) {
    r->snn_samples = r->snn_mean_settle_steps = r->snn_max_settle_steps = NAN;
    r->snn_spikes = r->snn_sops = r->snn_energy_j = r->ann_macs = r->ann_energy_j = NAN;
}

void sg_run_record_init(sg_run_record *r) {
    memset(r, 0, sizeof *r);
    r->start_time = r->end_time = r->wall_seconds = NAN;
    clear_snn_cost(r);
}

void sg_run_record_clear_measured(sg_run_record *r) {
    train_free(&r->train);
    eval_free(&r->eval);
    sg_metric_map_free(&r->qann);
    sg_metric_map_free(&r->snn);
    steps_free(&r->snn_by_step);
    sg_metric_map_free(&r->firing_rate);
    sg_metric_map_free(&r->sops_per_layer);
    clear_snn_cost(r);
}

void sg_run_record_free(sg_run_record *r) {
    free(r->task), free(r->variant), free(r->error), free(r->config), free(r->version), free(r->host);
    sg_run_record_clear_measured(r);
    sg_run_record_init(r);
}

void sg_run_records_free(sg_run_record *recs, int n) {
    for (int i = 0; recs && i < n; i++) sg_run_record_free(&recs[i]);
    free(recs);
}

/* Copy through the JSON form: one code path for every field, and it is the journal's form. */
int sg_run_record_copy(sg_run_record *dst, const sg_run_record *src) {
    sg_run_record_init(dst);
    cJSON *o = sg_run_record_to_json(src);
    if (!o) return -1;
    int rc = sg_run_record_from_json(o, dst, "record copy");
    cJSON_Delete(o);
    return rc;
}

static int same_num(double a, double b) { return (isnan(a) && isnan(b)) || a == b; }
static int same_str(const char *a, const char *b) { return !strcmp(a ? a : "", b ? b : ""); }
static int same_nums(const double *a, const double *b, int n) {
    for (int i = 0; i < n; i++)
        if (!same_num(a[i], b[i])) return 0;
    return 1;
}
static int same_map(const sg_metric_map *a, const sg_metric_map *b) {
    if (a->count != b->count) return 0;
    for (int i = 0; i < a->count; i++)
        if (strcmp(a->names[i], b->names[i]) || !same_num(a->values[i], b->values[i])) return 0;
    return 1;
}

int sg_run_record_equal(const sg_run_record *a, const sg_run_record *b, const char **what) {
#define DIFF(cond, name) do { if (!(cond)) { if (what) *what = name; return 0; } } while (0)
    DIFF(!strcmp(a->id, b->id), "id");
    DIFF(!strcmp(a->short_id, b->short_id), "short_id");
    DIFF(same_str(a->task, b->task), "task");
    DIFF(same_str(a->variant, b->variant), "variant");
    DIFF(a->seed == b->seed, "seed");
    DIFF(a->level == b->level, "level");
    DIFF(a->kind == b->kind, "kind");
    DIFF(a->status == b->status, "status");
    DIFF(a->attempts == b->attempts, "attempts");
    DIFF(same_str(a->error, b->error), "error");
    DIFF(same_str(a->config, b->config), "config");
    DIFF(same_str(a->version, b->version), "version");
    DIFF(same_str(a->host, b->host), "host");
    DIFF(a->rank == b->rank, "rank");
    DIFF(same_num(a->start_time, b->start_time), "start_time");
    DIFF(same_num(a->end_time, b->end_time), "end_time");
    DIFF(same_num(a->wall_seconds, b->wall_seconds), "wall_seconds");
    const sg_train_series *ta = &a->train, *tb = &b->train;
    DIFF(ta->n == tb->n && same_nums(ta->step, tb->step, ta->n) && same_nums(ta->epoch, tb->epoch, ta->n) &&
             same_nums(ta->loss, tb->loss, ta->n) && same_nums(ta->learning_rate, tb->learning_rate, ta->n),
         "train");
    const sg_eval_series *ea = &a->eval, *eb = &b->eval;
    DIFF(ea->n == eb->n && ea->nmetrics == eb->nmetrics && same_nums(ea->epoch, eb->epoch, ea->n) &&
             same_nums(ea->step, eb->step, ea->n), "eval");
    for (int k = 0; k < ea->nmetrics; k++)
        DIFF(!strcmp(ea->names[k], eb->names[k]) && same_nums(ea->values[k], eb->values[k], ea->n), "eval");
    DIFF(same_map(&a->qann, &b->qann), "qann");
    DIFF(same_map(&a->snn, &b->snn), "snn");
    DIFF(a->snn_by_step.n == b->snn_by_step.n && same_nums(a->snn_by_step.step, b->snn_by_step.step, a->snn_by_step.n) &&
             same_nums(a->snn_by_step.value, b->snn_by_step.value, a->snn_by_step.n),
         "snn_by_step");
    DIFF(same_map(&a->firing_rate, &b->firing_rate), "firing_rate");
    DIFF(same_map(&a->sops_per_layer, &b->sops_per_layer), "sops_per_layer");
    DIFF(same_num(a->snn_samples, b->snn_samples), "snn_samples");
    DIFF(same_num(a->snn_mean_settle_steps, b->snn_mean_settle_steps), "snn_mean_settle_steps");
    DIFF(same_num(a->snn_max_settle_steps, b->snn_max_settle_steps), "snn_max_settle_steps");
    DIFF(same_num(a->snn_spikes, b->snn_spikes), "snn_spikes");
    DIFF(same_num(a->snn_sops, b->snn_sops), "snn_sops");
    DIFF(same_num(a->snn_energy_j, b->snn_energy_j), "snn_energy_j");
    DIFF(same_num(a->ann_macs, b->ann_macs), "ann_macs");
    DIFF(same_num(a->ann_energy_j, b->ann_energy_j), "ann_energy_j");
#undef DIFF
    return 1;
}

/* ---- ids, statuses, tasks ------------------------------------------------------------------ */

void sg_run_record_set_id(sg_run_record *r, const char *task, long long seed, const char *variant) {
    char key[1024];
    snprintf(key, sizeof key, "%s\x1f%lld\x1f%s", task ? task : "", seed, variant ? variant : "");
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++) h = (h ^ *p) * 1099511628211ull;
    snprintf(r->id, sizeof r->id, "%016llx", (unsigned long long)h);
    memcpy(r->short_id, r->id, SG_RUN_SHORT_ID_LEN);
    r->short_id[SG_RUN_SHORT_ID_LEN] = '\0';
}

int sg_run_id_valid(const char *id) {
    if (!id || strlen(id) != SG_RUN_ID_LEN) return 0;
    for (const char *p = id; *p; p++)
        if (!isxdigit((unsigned char)*p) || isupper((unsigned char)*p)) return 0;
    return 1;
}

static const char *STATUS_NAMES[] = {"none", "finished", "failed", "timeout", "diverged"};

const char *sg_run_status_name(sg_run_status s) {
    return (int)s >= 0 && (int)s < 5 ? STATUS_NAMES[s] : "none";
}

sg_run_status sg_run_status_parse(const char *s) {
    for (int i = 1; s && i < 5; i++)
        if (!strcmp(s, STATUS_NAMES[i])) return (sg_run_status)i;
    return SG_RUN_NONE;
}

void sg_task_key(const char *task, char *out, int n) {
    int j = 0;
    for (const char *p = task ? task : ""; *p && j < n - 1; p++)
        if (*p != '-' && *p != '_') out[j++] = (char)tolower((unsigned char)*p);
    out[j] = '\0';
}

const char *sg_task_main_metric_name(const char *task) {
    char k[64];
    sg_task_key(task, k, sizeof k);
    if (!strcmp(k, "cola")) return "matthews_correlation";
    if (!strcmp(k, "mrpc") || !strcmp(k, "qqp") || !strcmp(k, "stsb")) return "combined_score";
    if (!strcmp(k, "sst2") || !strcmp(k, "qnli") || !strcmp(k, "rte") || !strcmp(k, "wnli") || !strcmp(k, "mnli") ||
        !strcmp(k, "mnlim") || !strcmp(k, "mnlimm") || !strcmp(k, "ax"))
        return "accuracy";
    return NULL;
}

double sg_task_main_metric(const char *task, const sg_metric_map *m) {
    const char *name = sg_task_main_metric_name(task);
    if (name && strcmp(name, "combined_score")) return sg_metric_map_get(m, name);
    double v = sg_metric_map_get(m, "combined_score");
    if (!isnan(v)) return v;
    char k[64];
    sg_task_key(task, k, sizeof k);
    if (!strcmp(k, "stsb")) return (sg_metric_map_get(m, "pearson") + sg_metric_map_get(m, "spearmanr")) / 2;
    double acc = sg_metric_map_get(m, "accuracy"), f1 = sg_metric_map_get(m, "f1");
    if (name) return (acc + f1) / 2; /* mrpc, qqp */
    if (!isnan(acc) && !isnan(f1)) return (acc + f1) / 2;
    if (!isnan(acc)) return acc;
    v = sg_metric_map_get(m, "matthews_correlation");
    if (!isnan(v)) return v;
    double p = sg_metric_map_get(m, "pearson"), s = sg_metric_map_get(m, "spearmanr");
    return (p + s) / 2;
}

/* ---- JSON: record <-> object ----------------------------------------------------------------- */

/* Numbers: cJSON prints 15 significant digits when they come within an epsilon, which loses the
 * last bits; the journal must give back exactly what was committed, so numbers are written as
 * raw text in the shortest form that reads back exactly. NaN and infinities are written as null
 * and read back as NaN. */
static cJSON *num_item(double v) {
    if (!isfinite(v)) return cJSON_CreateNull();
    char buf[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) break;
    }
    return cJSON_CreateRaw(buf);
}

static int is_num(const cJSON *v) { return cJSON_IsNumber(v) || (cJSON_IsRaw(v) && v->valuestring); }

static double num_or_nan(const cJSON *v) {
    if (cJSON_IsNumber(v)) return v->valuedouble;
    if (cJSON_IsRaw(v) && v->valuestring) return strtod(v->valuestring, NULL);
    return NAN;
}

static cJSON *numbers_json(const double *v, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) {
        cJSON *x = num_item(v[i]);
        if (!x || !cJSON_AddItemToArray(a, x)) {
            cJSON_Delete(x);
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

static int add_num(cJSON *o, const char *k, double v) {
    cJSON *x = num_item(v);
    if (!x) return 0;
    return cJSON_AddItemToObject(o, k, x) ? 1 : (cJSON_Delete(x), 0);
}

static int add_item(cJSON *o, const char *k, cJSON *x) {
    if (!x) return 0;
    return cJSON_AddItemToObject(o, k, x) ? 1 : (cJSON_Delete(x), 0);
}

static cJSON *map_json(const sg_metric_map *m) {
    cJSON *o = cJSON_CreateObject();
    for (int i = 0; o && i < m->count; i++)
        if (!add_num(o, m->names[i], m->values[i])) {
            cJSON_Delete(o);
            return NULL;
        }
    return o;
}

/* Per-layer values keep their order as two arrays. */
static cJSON *layers_json(const sg_metric_map *m) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON *names = m->count ? cJSON_CreateStringArray((const char *const *)m->names, m->count) : cJSON_CreateArray();
    if (!add_item(o, "layers", names) || !add_item(o, "values", numbers_json(m->values, m->count))) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *sg_run_record_to_json(const sg_run_record *r) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return (sg_fail("out of memory"), NULL);
    int ok = cJSON_AddStringToObject(o, "id", r->id) && cJSON_AddStringToObject(o, "short_id", r->short_id) &&
             cJSON_AddStringToObject(o, "task", r->task ? r->task : "") &&
             cJSON_AddNumberToObject(o, "seed", (double)r->seed) &&
             cJSON_AddStringToObject(o, "variant", r->variant ? r->variant : "") &&
             cJSON_AddNumberToObject(o, "level", r->level) &&
             cJSON_AddStringToObject(o, "status", sg_run_status_name(r->status)) &&
             cJSON_AddNumberToObject(o, "attempts", r->attempts) &&
             cJSON_AddStringToObject(o, "error", r->error ? r->error : "") &&
             cJSON_AddStringToObject(o, "config", r->config ? r->config : "") &&
             cJSON_AddStringToObject(o, "version", r->version ? r->version : "") &&
             cJSON_AddStringToObject(o, "host", r->host ? r->host : "") && cJSON_AddNumberToObject(o, "rank", r->rank) &&
             add_num(o, "start_time", r->start_time) && add_num(o, "end_time", r->end_time) &&
             add_num(o, "wall_seconds", r->wall_seconds) &&
             (r->kind != SG_RUN_KIND_PRETRAIN || cJSON_AddStringToObject(o, "kind", "pretrain"));
    cJSON *train = ok ? cJSON_CreateObject() : NULL;
    ok = ok && add_item(o, "train", train) && add_item(train, "step", numbers_json(r->train.step, r->train.n)) &&
         add_item(train, "epoch", numbers_json(r->train.epoch, r->train.n)) &&
         add_item(train, "loss", numbers_json(r->train.loss, r->train.n)) &&
         add_item(train, "learning_rate", numbers_json(r->train.learning_rate, r->train.n));
    cJSON *eval = ok ? cJSON_CreateObject() : NULL, *metrics = NULL;
    ok = ok && add_item(o, "eval", eval) && add_item(eval, "epoch", numbers_json(r->eval.epoch, r->eval.n)) &&
         add_item(eval, "step", numbers_json(r->eval.step, r->eval.n)) &&
         add_item(eval, "metrics", metrics = cJSON_CreateObject());
    for (int k = 0; ok && k < r->eval.nmetrics; k++)
        ok = add_item(metrics, r->eval.names[k], numbers_json(r->eval.values[k], r->eval.n));
    cJSON *by_step = ok ? cJSON_CreateObject() : NULL;
    ok = ok && add_item(o, "qann", map_json(&r->qann)) && add_item(o, "snn", map_json(&r->snn)) &&
         add_item(o, "snn_by_step", by_step) &&
         add_item(by_step, "step", numbers_json(r->snn_by_step.step, r->snn_by_step.n)) &&
         add_item(by_step, "value", numbers_json(r->snn_by_step.value, r->snn_by_step.n)) &&
         add_item(o, "firing_rate", layers_json(&r->firing_rate)) &&
         add_item(o, "sops_per_layer", layers_json(&r->sops_per_layer)) && add_num(o, "snn_samples", r->snn_samples) &&
         add_num(o, "snn_mean_settle_steps", r->snn_mean_settle_steps) &&
         add_num(o, "snn_max_settle_steps", r->snn_max_settle_steps) && add_num(o, "snn_spikes", r->snn_spikes) &&
         add_num(o, "snn_sops", r->snn_sops) && add_num(o, "snn_energy_j", r->snn_energy_j) &&
         add_num(o, "ann_macs", r->ann_macs) && add_num(o, "ann_energy_j", r->ann_energy_j);
    if (!ok) {
        cJSON_Delete(o);
        sg_fail("out of memory");
        return NULL;
    }
    return o;
}

static int read_str(const cJSON *o, const char *key, char **field, const char *where) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v || cJSON_IsNull(v)) return sg_run_record_set_str(field, NULL);
    if (!cJSON_IsString(v)) return sg_fail("%s: \"%s\" must be a string", where, key);
    return sg_run_record_set_str(field, v->valuestring);
}

/* Numbers array (null → NaN) of exactly n entries when n >= 0, else any length into *n_out. */
static int read_numbers(const cJSON *a, double **out, int *n_out, const char *where, const char *key) {
    *out = NULL;
    if (!a || cJSON_IsNull(a)) {
        *n_out = 0;
        return 0;
    }
    if (!cJSON_IsArray(a)) return sg_fail("%s: \"%s\" must be an array of numbers", where, key);
    int n = cJSON_GetArraySize(a);
    if (*n_out >= 0 && n != *n_out)
        return sg_fail("%s: \"%s\" has %d values, expected %d", where, key, n, *n_out);
    double *v = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    if (!v) return sg_fail("out of memory");
    int i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, a) {
        if (!is_num(x) && !cJSON_IsNull(x)) {
            free(v);
            return sg_fail("%s: \"%s\"[%d] is not a number", where, key, i);
        }
        v[i++] = num_or_nan(x);
    }
    *out = v;
    *n_out = n;
    return 0;
}

static int read_map(const cJSON *o, sg_metric_map *m, const char *where, const char *key) {
    if (!o || cJSON_IsNull(o)) return 0;
    if (!cJSON_IsObject(o)) return sg_fail("%s: \"%s\" must be an object", where, key);
    const cJSON *x;
    cJSON_ArrayForEach(x, o) {
        if (!is_num(x) && !cJSON_IsNull(x)) return sg_fail("%s: \"%s.%s\" is not a number", where, key, x->string);
        if (sg_metric_map_set(m, x->string, num_or_nan(x))) return -1;
    }
    return 0;
}

static int read_layers(const cJSON *o, sg_metric_map *m, const char *where, const char *key) {
    if (!o || cJSON_IsNull(o)) return 0;
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(o, "layers");
    double *v = NULL;
    int n = cJSON_GetArraySize(names);
    if (!cJSON_IsArray(names)) return sg_fail("%s: \"%s.layers\" must be an array of strings", where, key);
    if (read_numbers(cJSON_GetObjectItemCaseSensitive(o, "values"), &v, &n, where, key)) return -1;
    int i = 0, rc = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, names) {
        if (!cJSON_IsString(x)) rc = sg_fail("%s: \"%s.layers\"[%d] is not a string", where, key, i);
        if (rc || (rc = sg_metric_map_set(m, x->valuestring, v[i]))) break;
        i++;
    }
    free(v);
    return rc;
}

/* Parallel arrays of one series: the present ones must agree in length; absent ones are NaN. */
static int read_series(const cJSON *o, const char *const keys[], double **dest[], int nkeys, int *n, const char *where) {
    int len[8];
    *n = 0;
    for (int k = 0; k < nkeys; k++) {
        len[k] = -1;
        if (read_numbers(o ? cJSON_GetObjectItemCaseSensitive(o, keys[k]) : NULL, dest[k], &len[k], where, keys[k]))
            return -1;
        if (len[k] > *n) *n = len[k];
    }
    for (int k = 0; k < nkeys; k++) {
        if (len[k] == *n) continue;
        if (len[k] > 0) return sg_fail("%s: \"%s\" has %d values, expected %d", where, keys[k], len[k], *n);
        free(*dest[k]);
        if (!(*dest[k] = malloc(sizeof(double) * (size_t)*n))) return sg_fail("out of memory");
        for (int i = 0; i < *n; i++) (*dest[k])[i] = NAN;
    }
    return 0;
}

int sg_run_record_from_json(const cJSON *o, sg_run_record *r, const char *where) {
    if (!cJSON_IsObject(o)) return sg_fail("%s: a run record must be a JSON object", where);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    if (!cJSON_IsString(id) || !sg_run_id_valid(id->valuestring))
        return sg_fail("%s: \"id\" must be 16 lowercase hex digits", where);
    snprintf(r->id, sizeof r->id, "%s", id->valuestring);
    memcpy(r->short_id, r->id, SG_RUN_SHORT_ID_LEN);
    r->short_id[SG_RUN_SHORT_ID_LEN] = '\0';
    const cJSON *sid = cJSON_GetObjectItemCaseSensitive(o, "short_id");
    if (cJSON_IsString(sid) && *sid->valuestring) snprintf(r->short_id, sizeof r->short_id, "%s", sid->valuestring);
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(o, "status");
    r->status = cJSON_IsString(status) ? sg_run_status_parse(status->valuestring) : SG_RUN_NONE;
    if (r->status == SG_RUN_NONE)
        return sg_fail("%s: \"status\" must be finished | failed | timeout | diverged", where);
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(o, "kind");
    if (kind && !(cJSON_IsString(kind) && (!strcmp(kind->valuestring, "pretrain") || !strcmp(kind->valuestring, "glue"))))
        return sg_fail("%s: \"kind\" must be glue or pretrain", where);
    r->kind = kind && !strcmp(kind->valuestring, "pretrain") ? SG_RUN_KIND_PRETRAIN : SG_RUN_KIND_GLUE;
    r->seed = (long long)num_or_nan(cJSON_GetObjectItemCaseSensitive(o, "seed"));
    double level = num_or_nan(cJSON_GetObjectItemCaseSensitive(o, "level"));
    double attempts = num_or_nan(cJSON_GetObjectItemCaseSensitive(o, "attempts"));
    double rank = num_or_nan(cJSON_GetObjectItemCaseSensitive(o, "rank"));
    r->level = isnan(level) ? 0 : (int)level;
    r->attempts = isnan(attempts) ? 0 : (int)attempts;
    r->rank = isnan(rank) ? 0 : (int)rank;
    r->start_time = num_or_nan(cJSON_GetObjectItemCaseSensitive(o, "start_time"));
    r->end_time = num_or_nan(cJSON_GetObjectItemCaseSensitive(o, "end_time"));
    r->wall_seconds = num_or_nan(cJSON_GetObjectItemCaseSensitive(o, "wall_seconds"));
    if (read_str(o, "task", &r->task, where) || read_str(o, "variant", &r->variant, where) ||
        read_str(o, "error", &r->error, where) || read_str(o, "config", &r->config, where) ||
        read_str(o, "version", &r->version, where) || read_str(o, "host", &r->host, where))
        return -1;

    static const char *const train_keys[] = {"step", "epoch", "loss", "learning_rate"};
    double **train_dest[] = {&r->train.step, &r->train.epoch, &r->train.loss, &r->train.learning_rate};
    if (read_series(cJSON_GetObjectItemCaseSensitive(o, "train"), train_keys, train_dest, 4, &r->train.n, where))
        return -1;
    r->train.cap = (size_t)r->train.n;

    const cJSON *eval = cJSON_GetObjectItemCaseSensitive(o, "eval");
    static const char *const eval_keys[] = {"epoch", "step"};
    double **eval_dest[] = {&r->eval.epoch, &r->eval.step};
    if (read_series(eval, eval_keys, eval_dest, 2, &r->eval.n, where)) return -1;
    r->eval.cap = (size_t)r->eval.n;
    const cJSON *metrics = eval ? cJSON_GetObjectItemCaseSensitive(eval, "metrics") : NULL, *m;
    cJSON_ArrayForEach(m, metrics) {
        double *v = NULL;
        int n = r->eval.n;
        if (read_numbers(m, &v, &n, where, m->string)) return -1;
        for (int i = 0; i < n; i++)
            if (sg_eval_series_set(&r->eval, i, m->string, v[i])) return free(v), -1;
        free(v);
    }

    static const char *const step_keys[] = {"step", "value"};
    double **step_dest[] = {&r->snn_by_step.step, &r->snn_by_step.value};
    if (read_series(cJSON_GetObjectItemCaseSensitive(o, "snn_by_step"), step_keys, step_dest, 2, &r->snn_by_step.n, where))
        return -1;
    r->snn_by_step.cap = (size_t)r->snn_by_step.n;

    if (read_map(cJSON_GetObjectItemCaseSensitive(o, "qann"), &r->qann, where, "qann") ||
        read_map(cJSON_GetObjectItemCaseSensitive(o, "snn"), &r->snn, where, "snn") ||
        read_layers(cJSON_GetObjectItemCaseSensitive(o, "firing_rate"), &r->firing_rate, where, "firing_rate") ||
        read_layers(cJSON_GetObjectItemCaseSensitive(o, "sops_per_layer"), &r->sops_per_layer, where, "sops_per_layer"))
        return -1;
    r->snn_samples = num_or_nan(cJSON_GetObjectItemCaseSensitive(o, "snn_samples"));
    r->snn_mean_settle_steps = num_or_nan(cJSON_GetObjectItemCaseSensitive(o, "snn_mean_settle_steps"));
    r->snn_max_settle_steps = num_or_nan(cJSON_GetObjectItemCaseSensitive(o, "snn_max_settle_steps"));
    r->snn_spikes = num_or_nan(cJSON_GetObjectItemCaseSensitive(o, "snn_spikes"));
    r->snn_sops = num_or_nan(cJSON_GetObjectItemCaseSensitive(o, "snn_sops"));
    r->snn_energy_j = num_or_nan(cJSON_GetObjectItemCaseSensitive(o, "snn_energy_j"));
    r->ann_macs = num_or_nan(cJSON_GetObjectItemCaseSensitive(o, "ann_macs"));
    r->ann_energy_j = num_or_nan(cJSON_GetObjectItemCaseSensitive(o, "ann_energy_j"));
    return 0;
}
