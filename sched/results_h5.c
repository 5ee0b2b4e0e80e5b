/* results.h5: built in memory from the run records, written beside and rename()d over the old
 * file (sg_store_write_h5), and read back (sg_store_read_h5); the layout is in results/README.md. */
#include "sched/results_store.h"

#include "core/durable.h"
#include "core/error.h"
#include "core/fileio.h"
#include "sched/results_units.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- HDF5: quiet errors, and the innermost message of a failure --------------------------- */

typedef struct {
    H5E_auto2_t func;
    void *data;
} h5_quiet;

static void quiet_on(h5_quiet *q) {
    H5Eget_auto2(H5E_DEFAULT, &q->func, &q->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}
static void quiet_off(h5_quiet *q) { H5Eset_auto2(H5E_DEFAULT, q->func, q->data); }

static herr_t walk_error(unsigned n, const H5E_error2_t *e, void *data) {
    (void)n;
    if (e->desc && *e->desc) snprintf((char *)data, 256, "%s", e->desc);
    return 0;
}

/* The deepest message on HDF5's error stack (e.g. "... errno = 28, error message = 'No space
 * left on device'"), then the stack is cleared. */
static const char *h5_message(void) {
    static _Thread_local char msg[256];
    snprintf(msg, sizeof msg, "missing or invalid");
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, walk_error, msg);
    H5Eclear2(H5E_DEFAULT);
    return msg;
}

static hid_t vlen_str_type(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t >= 0 && (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0)) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

/* Groups remember creation order, so metric maps read back in the order they were written. */
static hid_t make_group(hid_t loc, const char *name) {
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    if (gcpl < 0) return -1;
    hid_t g = -1;
    if (H5Pset_link_creation_order(gcpl, H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED) >= 0)
        g = H5Gcreate2(loc, name, H5P_DEFAULT, gcpl, H5P_DEFAULT);
    H5Pclose(gcpl);
    return g;
}

/* ---- HDF5 writing ---------------------------------------------------------------------------- */

static int attr_str(hid_t loc, const char *name, const char *v) {
    hid_t t = vlen_str_type(), s = H5Screate(H5S_SCALAR), a = -1;
    int ok = t >= 0 && s >= 0 && (a = H5Acreate2(loc, name, t, s, H5P_DEFAULT, H5P_DEFAULT)) >= 0;
    const char *p = v ? v : "";
    ok = ok && H5Awrite(a, t, &p) >= 0;
    if (a >= 0) H5Aclose(a);
    if (s >= 0) H5Sclose(s);
    if (t >= 0) H5Tclose(t);
    return ok ? 0 : -1;
}

static int attr_num(hid_t loc, const char *name, hid_t file_type, hid_t mem_type, const void *v) {
    hid_t s = H5Screate(H5S_SCALAR), a = -1;
    int ok = s >= 0 && (a = H5Acreate2(loc, name, file_type, s, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
             H5Awrite(a, mem_type, v) >= 0;
    if (a >= 0) H5Aclose(a);
    if (s >= 0) H5Sclose(s);
    return ok ? 0 : -1;
}
static int attr_f64(hid_t loc, const char *name, double v) { return attr_num(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v); }
static int attr_i64(hid_t loc, const char *name, long long v) { return attr_num(loc, name, H5T_STD_I64LE, H5T_NATIVE_LLONG, &v); }
static int attr_i32(hid_t loc, const char *name, int v) { return attr_num(loc, name, H5T_STD_I32LE, H5T_NATIVE_INT, &v); }

static int attr_str_array(hid_t loc, const char *name, char *const *v, int n) {
    hsize_t dims[1] = {(hsize_t)n};
    hid_t t = vlen_str_type(), s = H5Screate_simple(1, dims, NULL), a = -1;
    int ok = t >= 0 && s >= 0 && (a = H5Acreate2(loc, name, t, s, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
             (n == 0 || H5Awrite(a, t, v) >= 0);
    if (a >= 0) H5Aclose(a);
    if (s >= 0) H5Sclose(s);
    if (t >= 0) H5Tclose(t);
    return ok ? 0 : -1;
}

static int all_integral(const double *v, int n) {
    for (int i = 0; i < n; i++)
        if (!isfinite(v[i]) || v[i] != floor(v[i]) || fabs(v[i]) > 9e15) return 0;
    return 1;
}

/* A 1-D dataset (or a scalar one when n < 0) with its `units` attribute. Steps are stored as int64
 * when they are integers. */
static hid_t ds_f64(hid_t loc, const char *name, const double *v, int n, int as_int, const char *units) {
    hsize_t dims[1] = {(hsize_t)(n < 0 ? 1 : n)};
    hid_t s = n < 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, dims, NULL), d = -1;
    int nv = n < 0 ? 1 : n;
    int integral = as_int && all_integral(v, nv);
    long long *iv = NULL;
    if (integral && !(iv = malloc(sizeof(long long) * (size_t)(nv > 0 ? nv : 1)))) integral = 0;
    for (int i = 0; integral && i < nv; i++) iv[i] = (long long)v[i];
    int ok = s >= 0 &&
             (d = H5Dcreate2(loc, name, integral ? H5T_STD_I64LE : H5T_IEEE_F64LE, s, H5P_DEFAULT, H5P_DEFAULT,
                             H5P_DEFAULT)) >= 0 &&
             (nv == 0 || H5Dwrite(d, integral ? H5T_NATIVE_LLONG : H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                  integral ? (const void *)iv : (const void *)v) >= 0);
    free(iv);
    if (s >= 0) H5Sclose(s);
    if (ok && attr_str(d, "units", units)) ok = 0;
    if (!ok && d >= 0) H5Dclose(d), d = -1;
    return d;
}

static int put_f64(hid_t loc, const char *name, const double *v, int n, int as_int, const char *units) {
    hid_t d = ds_f64(loc, name, v, n, as_int, units);
    if (d < 0) return -1;
    H5Dclose(d);
    return 0;
}

static int put_scalar(hid_t loc, const char *name, double v, const char *units) {
    return isnan(v) ? 0 : put_f64(loc, name, &v, -1, 0, units);
}

/* A total over the simulated samples divided by their number (NaN when either is unknown). */
static double per_sample(double total, double samples) { return samples > 0 ? total / samples : NAN; }

/* HDF5 link names cannot hold '/' or be "."; reserved names get a "metric_" prefix. */
static void link_name(const char *name, char *out, size_t n, const char *const reserved[]) {
    int clash = !strcmp(name, ".") || !*name;
    for (int i = 0; reserved && reserved[i]; i++) clash |= !strcmp(name, reserved[i]);
    snprintf(out, n, "%s%s", clash ? "metric_" : "", name);
    for (char *p = out; *p; p++)
        if (*p == '/') *p = '_';
}

/* The fixed datasets of /runs/<id>/snn, and format 1's names of the totals (still read, never
 * written; an SNN metric named like one of them is stored as metric_<name>). */
static const char *const SNN_RESERVED[] = {"accuracy_by_step", "accuracy_step", "firing_rate", "sops_per_layer",
                                           "samples", "mean_settle_steps", "max_settle_steps", "spikes_total",
                                           "spikes_per_sample", "sops_total", "sops_per_sample", "energy_j_total",
                                           "energy_mj_per_sample", "ann_macs_total", "ann_macs_per_sample",
                                           "ann_energy_j_total", "ann_energy_mj_per_sample", "spikes", "sops",
                                           "energy_j", "ann_macs", "ann_energy_j", NULL};
static const char *const EVAL_RESERVED[] = {"epoch", "step", NULL};

static int put_map(hid_t g, const sg_metric_map *m, const char *const reserved[]) {
    for (int i = 0; i < m->count; i++) {
        char name[256];
        link_name(m->names[i], name, sizeof name, reserved);
        if (put_f64(g, name, &m->values[i], -1, 0, sg_metric_units(m->names[i]))) return -1;
    }
    return 0;
}

static int put_layers(hid_t g, const char *name, const sg_metric_map *m, const char *units) {
    if (m->count == 0) return 0;
    hid_t d = ds_f64(g, name, m->values, m->count, 0, units);
    if (d < 0) return -1;
    int rc = attr_str_array(d, "layers", m->names, m->count);
    H5Dclose(d);
    return rc;
}

static int snn_present(const sg_run_record *r) {
    return r->snn.count || r->snn_by_step.n || r->firing_rate.count || r->sops_per_layer.count ||
           !isnan(r->snn_samples) || !isnan(r->snn_mean_settle_steps) || !isnan(r->snn_max_settle_steps) ||
           !isnan(r->snn_spikes) || !isnan(r->snn_sops) || !isnan(r->snn_energy_j) || !isnan(r->ann_macs) ||
           !isnan(r->ann_energy_j);
}

static int write_run(hid_t runs, const sg_run_record *r, const char **where) {
    hid_t g = make_group(runs, r->id), sub = -1;
    if (g < 0) return *where = "group", -1;
    const char *main_metric = sg_task_main_metric_name(r->task);
    int rc = attr_str(g, "id", r->id) || attr_str(g, "short_id", r->short_id) || attr_str(g, "task", r->task) ||
             attr_i64(g, "seed", r->seed) || attr_str(g, "variant", r->variant) || attr_i32(g, "level", r->level) ||
             attr_str(g, "status", sg_run_status_name(r->status)) || attr_i32(g, "attempts", r->attempts) ||
             attr_str(g, "error", r->error) || attr_str(g, "config", r->config) || attr_str(g, "version", r->version) ||
             attr_str(g, "host", r->host) || attr_i32(g, "rank", r->rank) || attr_f64(g, "start_time", r->start_time) ||
             attr_f64(g, "end_time", r->end_time) || attr_f64(g, "wall_seconds", r->wall_seconds) ||
             attr_str(g, "main_metric", main_metric ? main_metric : "combined_score") ||
             attr_str(g, "kind", r->kind == SG_RUN_KIND_PRETRAIN ? "pretrain" : "glue");
    if (rc) *where = "attributes";
    if (!rc && r->train.n) {
        *where = "train";
        const sg_train_series *t = &r->train;
        rc = (sub = make_group(g, "train")) < 0 || put_f64(sub, "step", t->step, t->n, 1, SG_UNIT_STEPS) ||
             put_f64(sub, "epoch", t->epoch, t->n, 0, SG_UNIT_EPOCHS) || put_f64(sub, "loss", t->loss, t->n, 0, SG_UNIT_SCORE) ||
             put_f64(sub, "learning_rate", t->learning_rate, t->n, 0, SG_UNIT_SCORE);
        if (sub >= 0) H5Gclose(sub), sub = -1;
    }
    if (!rc && r->eval.n) {
        *where = "eval";
        const sg_eval_series *e = &r->eval;
        rc = (sub = make_group(g, "eval")) < 0 || put_f64(sub, "epoch", e->epoch, e->n, 0, SG_UNIT_EPOCHS) ||
             put_f64(sub, "step", e->step, e->n, 1, SG_UNIT_STEPS);
        for (int k = 0; !rc && k < e->nmetrics; k++) {
            char name[256];
            link_name(e->names[k], name, sizeof name, EVAL_RESERVED);
            rc = put_f64(sub, name, e->values[k], e->n, 0, sg_metric_units(e->names[k]));
        }
        if (sub >= 0) H5Gclose(sub), sub = -1;
    }
    if (!rc && r->qann.count) {
        *where = "qann";
        rc = (sub = make_group(g, "qann")) < 0 || put_map(sub, &r->qann, NULL);
        if (sub >= 0) H5Gclose(sub), sub = -1;
    }
    if (!rc && snn_present(r)) {
        *where = "snn";
        /* totals as measured, and per sample as the leaderboard shows them (energy in mJ) */
        double n = r->snn_samples;
        rc = (sub = make_group(g, "snn")) < 0 || put_map(sub, &r->snn, SNN_RESERVED) ||
             (r->snn_by_step.n &&
              (put_f64(sub, "accuracy_by_step", r->snn_by_step.value, r->snn_by_step.n, 0, SG_UNIT_SCORE) ||
               put_f64(sub, "accuracy_step", r->snn_by_step.step, r->snn_by_step.n, 1, SG_UNIT_TIME_STEPS))) ||
             put_layers(sub, "firing_rate", &r->firing_rate, SG_UNIT_FIRING_RATE) ||
             put_layers(sub, "sops_per_layer", &r->sops_per_layer, SG_UNIT_SOPS_TOTAL) ||
             put_scalar(sub, "samples", n, SG_UNIT_SAMPLES) ||
             put_scalar(sub, "mean_settle_steps", r->snn_mean_settle_steps, SG_UNIT_TIME_STEPS) ||
             put_scalar(sub, "max_settle_steps", r->snn_max_settle_steps, SG_UNIT_TIME_STEPS) ||
             put_scalar(sub, "spikes_total", r->snn_spikes, SG_UNIT_SPIKES_TOTAL) ||
             put_scalar(sub, "spikes_per_sample", per_sample(r->snn_spikes, n), SG_UNIT_SPIKES_PER_SAMPLE) ||
             put_scalar(sub, "sops_total", r->snn_sops, SG_UNIT_SOPS_TOTAL) ||
             put_scalar(sub, "sops_per_sample", per_sample(r->snn_sops, n), SG_UNIT_SOPS_PER_SAMPLE) ||
             put_scalar(sub, "energy_j_total", r->snn_energy_j, SG_UNIT_J_TOTAL) ||
             put_scalar(sub, "energy_mj_per_sample", per_sample(r->snn_energy_j * 1e3, n), SG_UNIT_MJ_PER_SAMPLE) ||
             put_scalar(sub, "ann_macs_total", r->ann_macs, SG_UNIT_MACS_TOTAL) ||
             put_scalar(sub, "ann_macs_per_sample", per_sample(r->ann_macs, n), SG_UNIT_MACS_PER_SAMPLE) ||
             put_scalar(sub, "ann_energy_j_total", r->ann_energy_j, SG_UNIT_J_TOTAL) ||
             put_scalar(sub, "ann_energy_mj_per_sample", per_sample(r->ann_energy_j * 1e3, n), SG_UNIT_MJ_PER_SAMPLE);
        if (sub >= 0) H5Gclose(sub), sub = -1;
    }
    H5Gclose(g);
    return rc ? -1 : 0;
}

/* One row of /summary; fixed-size strings are NUL-terminated and cut to fit (full values are in
 * the /runs/<id> attributes). */
typedef struct {
    char id[SG_RUN_ID_LEN + 1], short_id[SG_RUN_SHORT_ID_LEN + 1], task[16], variant[64], status[12], metric[24];
    long long seed;
    int level, attempts;
    double qann_score, snn_score, snn_steps, snn_samples, sops_per_sample, energy_mj_per_sample, ann_macs_per_sample,
        ann_energy_mj_per_sample, wall_seconds;
} summary_row;

/* /summary's `units` attribute: one per field, in the order of summary_type ("" for text). */
static const char *const SUMMARY_UNITS[] = {"", "", "", "", "", "", "", "", "", SG_UNIT_SCORE, SG_UNIT_SCORE,
                                            SG_UNIT_TIME_STEPS, SG_UNIT_SAMPLES, SG_UNIT_SOPS_PER_SAMPLE,
                                            SG_UNIT_MJ_PER_SAMPLE, SG_UNIT_MACS_PER_SAMPLE, SG_UNIT_MJ_PER_SAMPLE,
                                            SG_UNIT_SECONDS};

static int str_member(hid_t ct, const char *name, size_t offset, size_t size) {
    hid_t t = H5Tcopy(H5T_C_S1);
    int ok = t >= 0 && H5Tset_size(t, size) >= 0 && H5Tset_strpad(t, H5T_STR_NULLTERM) >= 0 &&
             H5Tinsert(ct, name, offset, t) >= 0;
    if (t >= 0) H5Tclose(t);
    return ok ? 0 : -1;
}

static hid_t summary_type(void) {
    hid_t ct = H5Tcreate(H5T_COMPOUND, sizeof(summary_row));
    if (ct < 0) return -1;
#define STR(f) str_member(ct, #f, HOFFSET(summary_row, f), sizeof(((summary_row *)0)->f))
#define NUM(f, t) (H5Tinsert(ct, #f, HOFFSET(summary_row, f), t) < 0)
    int bad = STR(id) || STR(short_id) || STR(task) || NUM(seed, H5T_NATIVE_LLONG) || STR(variant) ||
              NUM(level, H5T_NATIVE_INT) || STR(status) || NUM(attempts, H5T_NATIVE_INT) || STR(metric) ||
              NUM(qann_score, H5T_NATIVE_DOUBLE) || NUM(snn_score, H5T_NATIVE_DOUBLE) || NUM(snn_steps, H5T_NATIVE_DOUBLE) ||
              NUM(snn_samples, H5T_NATIVE_DOUBLE) || NUM(sops_per_sample, H5T_NATIVE_DOUBLE) ||
              NUM(energy_mj_per_sample, H5T_NATIVE_DOUBLE) || NUM(ann_macs_per_sample, H5T_NATIVE_DOUBLE) ||
              NUM(ann_energy_mj_per_sample, H5T_NATIVE_DOUBLE) || NUM(wall_seconds, H5T_NATIVE_DOUBLE);
#undef STR
#undef NUM
    if (bad) {
        H5Tclose(ct);
        return -1;
    }
    return ct;
}

static int write_summary(hid_t f, const sg_run_record *recs, const int *order, int n) {
    summary_row *rows = calloc((size_t)(n > 0 ? n : 1), sizeof(summary_row));
    if (!rows) return -1;
    for (int i = 0; i < n; i++) {
        const sg_run_record *r = &recs[order[i]];
        summary_row *w = &rows[i];
        const char *metric = sg_task_main_metric_name(r->task);
        snprintf(w->id, sizeof w->id, "%s", r->id);
        snprintf(w->short_id, sizeof w->short_id, "%s", r->short_id);
        snprintf(w->task, sizeof w->task, "%s", r->task ? r->task : "");
        snprintf(w->variant, sizeof w->variant, "%s", r->variant ? r->variant : "");
        snprintf(w->status, sizeof w->status, "%s", sg_run_status_name(r->status));
        snprintf(w->metric, sizeof w->metric, "%s", metric ? metric : "combined_score");
        w->seed = r->seed;
        w->level = r->level;
        w->attempts = r->attempts;
        w->qann_score = sg_task_main_metric(r->task, &r->qann);
        w->snn_score = sg_task_main_metric(r->task, &r->snn);
        w->snn_steps = r->snn_mean_settle_steps;
        w->snn_samples = r->snn_samples;
        w->sops_per_sample = per_sample(r->snn_sops, r->snn_samples);
        w->energy_mj_per_sample = per_sample(r->snn_energy_j * 1e3, r->snn_samples);
        w->ann_macs_per_sample = per_sample(r->ann_macs, r->snn_samples);
        w->ann_energy_mj_per_sample = per_sample(r->ann_energy_j * 1e3, r->snn_samples);
        w->wall_seconds = r->wall_seconds;
    }
    hsize_t dims[1] = {(hsize_t)n};
    hid_t t = summary_type(), s = H5Screate_simple(1, dims, NULL), d = -1;
    int ok = t >= 0 && s >= 0 && (d = H5Dcreate2(f, "summary", t, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
             (n == 0 || H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) >= 0) &&
             H5Tget_nmembers(t) == (int)(sizeof SUMMARY_UNITS / sizeof SUMMARY_UNITS[0]) &&
             attr_str_array(d, "units", (char *const *)SUMMARY_UNITS, H5Tget_nmembers(t)) == 0;
    if (d >= 0) H5Dclose(d);
    if (s >= 0) H5Sclose(s);
    if (t >= 0) H5Tclose(t);
    free(rows);
    return ok ? 0 : -1;
}

static const sg_run_record *g_sort_recs; /* qsort has no context argument; only used under the store */

static int compare_runs(const sg_run_record *a, const sg_run_record *b) {
    int c = strcmp(a->task ? a->task : "", b->task ? b->task : "");
    if (!c) c = strcmp(a->variant ? a->variant : "", b->variant ? b->variant : "");
    if (!c) c = (a->seed > b->seed) - (a->seed < b->seed);
    if (!c) c = strcmp(a->id, b->id);
    return c;
}
static int compare_order(const void *x, const void *y) {
    return compare_runs(&g_sort_recs[*(const int *)x], &g_sort_recs[*(const int *)y]);
}
static int compare_records(const void *x, const void *y) { return compare_runs(x, y); }

/* Build the file in memory (HDF5's core driver, no backing store) and write its image ourselves:
 * HDF5 then never meets an I/O error half-way (after a failed H5Fclose it keeps the file open and
 * crashes at exit), and a full disk is one failed write() that we clean up after. */
static int build_image(const sg_run_record *recs, const int *order, int n, const char *sweep, void **image,
                       size_t *size, const char **where, const char **failed_id) {
    *image = NULL;
    *size = 0;
    *where = "file";
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), f = -1, runs = -1;
    int rc = fapl < 0 || H5Pset_fapl_core(fapl, (size_t)1 << 20, 0) < 0 ||
             (f = H5Fcreate("spikeglue-results-image.h5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl)) < 0;
    if (!rc) {
        *where = "root attributes";
        rc = attr_str(f, "format", "spikeglue-results") || attr_i32(f, "format_version", 2) ||
             attr_str(f, "sweep", sweep ? sweep : "") || attr_i32(f, "runs", n) ||
             attr_f64(f, "written", (double)time(NULL)) || attr_str(f, "energy_unit", "J") ||
             attr_str(f, "version", SG_VERSION);
    }
    if (!rc && (runs = make_group(f, "runs")) < 0) rc = 1, *where = "/runs";
    for (int i = 0; !rc && i < n; i++)
        if (write_run(runs, &recs[order[i]], where)) rc = 1, *failed_id = recs[order[i]].id;
    if (runs >= 0) H5Gclose(runs);
    if (!rc && write_summary(f, recs, order, n)) rc = 1, *where = "/summary";
    if (!rc && H5Fflush(f, H5F_SCOPE_GLOBAL) < 0) rc = 1, *where = "flush";
    ssize_t len = rc ? -1 : H5Fget_file_image(f, NULL, 0);
    if (!rc && (len <= 0 || !(*image = malloc((size_t)len)) || H5Fget_file_image(f, *image, (size_t)len) != len))
        rc = 1, *where = "file image";
    if (f >= 0 && H5Fclose(f) < 0 && !rc) rc = 1, *where = "close";
    if (fapl >= 0) H5Pclose(fapl);
    if (rc) {
        free(*image);
        *image = NULL;
        return -1;
    }
    *size = (size_t)len;
    return 0;
}

int sg_store_write_h5(const char *path, const sg_run_record *recs, int n, const char *sweep) {
    int *order = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    if (!order) return sg_fail("%s: out of memory", path);
    for (int i = 0; i < n; i++) order[i] = i;
    g_sort_recs = recs;
    qsort(order, (size_t)n, sizeof(int), compare_order);

    h5_quiet q;
    quiet_on(&q);
    void *image = NULL;
    size_t size = 0;
    const char *where = "", *failed_id = NULL;
    int rc = build_image(recs, order, n, sweep, &image, &size, &where, &failed_id);
    free(order);
    if (rc) {
        const char *msg = h5_message();
        quiet_off(&q);
        if (failed_id) return sg_fail("%s: cannot build /runs/%s (%s): %s", path, failed_id, where, msg);
        return sg_fail("%s: cannot build (%s): %s", path, where, msg);
    }
    quiet_off(&q);

    /* The fixed name path.tmp: the store's lock makes this the only writer, and a killed
     * coordinator's leftover is overwritten by the next commit instead of piling up. */
    sg_atomic_file af;
    rc = sg_atomic_open(&af, path, SG_TEMP_FIXED) || sg_atomic_write(&af, image, size) || sg_atomic_commit(&af);
    free(image);
    return rc ? -1 : 0;
}

/* ---- HDF5 reading ---------------------------------------------------------------------------- */

/* Names of a group's links, in creation order when tracked, else by name. */
static int list_links(hid_t g, char ***names_out, int *n_out) {
    H5G_info_t info;
    *names_out = NULL;
    *n_out = 0;
    if (H5Gget_info(g, &info) < 0) return -1;
    int n = (int)info.nlinks;
    char **names = calloc((size_t)(n > 0 ? n : 1), sizeof(char *));
    if (!names) return -1;
    H5_index_t index = H5_INDEX_CRT_ORDER;
    for (int i = 0; i < n; i++) {
        ssize_t len = H5Lget_name_by_idx(g, ".", index, H5_ITER_INC, (hsize_t)i, NULL, 0, H5P_DEFAULT);
        if (len < 0 && index == H5_INDEX_CRT_ORDER && i == 0) {
            H5Eclear2(H5E_DEFAULT);
            index = H5_INDEX_NAME;
            len = H5Lget_name_by_idx(g, ".", index, H5_ITER_INC, (hsize_t)i, NULL, 0, H5P_DEFAULT);
        }
        if (len < 0 || !(names[i] = malloc((size_t)len + 1)) ||
            H5Lget_name_by_idx(g, ".", index, H5_ITER_INC, (hsize_t)i, names[i], (size_t)len + 1, H5P_DEFAULT) < 0) {
            for (int k = 0; k <= i; k++) free(names[k]);
            free(names);
            return -1;
        }
    }
    *names_out = names;
    *n_out = n;
    return 0;
}

static void free_names(char **names, int n) {
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
}

static int get_attr_str(hid_t loc, const char *name, char **out) {
    *out = NULL;
    if (H5Aexists(loc, name) <= 0) return 0;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), ft = a >= 0 ? H5Aget_type(a) : -1, mt = -1;
    int rc = -1;
    if (ft >= 0 && H5Tget_class(ft) == H5T_STRING) {
        if (H5Tis_variable_str(ft) > 0) {
            char *p = NULL;
            if ((mt = vlen_str_type()) >= 0 && H5Aread(a, mt, &p) >= 0) {
                rc = sg_run_record_set_str(out, p);
                H5free_memory(p);
            }
        } else {
            size_t size = H5Tget_size(ft);
            char *buf = calloc(size + 1, 1);
            if (buf && (mt = H5Tcopy(ft)) >= 0 && H5Aread(a, mt, buf) >= 0) rc = sg_run_record_set_str(out, buf);
            free(buf);
        }
    }
    if (mt >= 0) H5Tclose(mt);
    if (ft >= 0) H5Tclose(ft);
    if (a >= 0) H5Aclose(a);
    return rc;
}

static int get_attr_f64(hid_t loc, const char *name, double *out) {
    *out = NAN;
    if (H5Aexists(loc, name) <= 0) return 0;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    int rc = a >= 0 && H5Aread(a, H5T_NATIVE_DOUBLE, out) >= 0 ? 0 : -1;
    if (a >= 0) H5Aclose(a);
    return rc;
}

/* Names of a dataset's "layers" attribute (vlen or fixed strings). */
static int get_layer_names(hid_t d, char ***names_out, int *n_out) {
    *names_out = NULL;
    *n_out = 0;
    if (H5Aexists(d, "layers") <= 0) return 0;
    hid_t a = H5Aopen(d, "layers", H5P_DEFAULT), s = a >= 0 ? H5Aget_space(a) : -1, mt = vlen_str_type();
    hssize_t n = s >= 0 ? H5Sget_simple_extent_npoints(s) : -1;
    char **names = n >= 0 ? calloc((size_t)(n > 0 ? n : 1), sizeof(char *)) : NULL;
    int rc = -1;
    if (names && mt >= 0 && (n == 0 || H5Aread(a, mt, names) >= 0)) {
        rc = 0;
        for (hssize_t i = 0; i < n; i++) {
            char *p = names[i];
            names[i] = strdup(p ? p : "");
            H5free_memory(p);
            if (!names[i]) rc = -1;
        }
        *names_out = names;
        *n_out = (int)n;
    } else free(names);
    if (mt >= 0) H5Tclose(mt);
    if (s >= 0) H5Sclose(s);
    if (a >= 0) H5Aclose(a);
    return rc;
}

/* A dataset as doubles; absent → n = 0. */
static int get_f64(hid_t loc, const char *name, double **v_out, int *n_out) {
    *v_out = NULL;
    *n_out = 0;
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0) return 0;
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT), s = d >= 0 ? H5Dget_space(d) : -1;
    hssize_t n = s >= 0 ? H5Sget_simple_extent_npoints(s) : -1;
    double *v = n >= 0 ? malloc(sizeof(double) * (size_t)(n > 0 ? n : 1)) : NULL;
    int rc = v && (n == 0 || H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v) >= 0) ? 0 : -1;
    if (s >= 0) H5Sclose(s);
    if (d >= 0) H5Dclose(d);
    if (rc) {
        free(v);
        return -1;
    }
    *v_out = v;
    *n_out = (int)n;
    return 0;
}

static double get_scalar(hid_t loc, const char *name, int *bad) {
    double *v = NULL, x = NAN;
    int n = 0;
    if (get_f64(loc, name, &v, &n)) *bad = 1;
    else if (n > 0) x = v[0];
    free(v);
    return x;
}

/* A total: <name>_total (format 2), else format 1's <name>. Per-sample datasets are derived from them. */
static double get_total(hid_t loc, const char *name, int *bad) {
    char total[64];
    snprintf(total, sizeof total, "%s_total", name);
    return get_scalar(loc, H5Lexists(loc, total, H5P_DEFAULT) > 0 ? total : name, bad);
}

static const char *unreserve(const char *name) { return strncmp(name, "metric_", 7) ? name : name + 7; }

static int is_reserved(const char *name, const char *const reserved[]) {
    for (int i = 0; reserved[i]; i++)
        if (!strcmp(name, reserved[i])) return 1;
    return 0;
}

/* Scalar datasets of a group into a map, skipping reserved names. */
static int get_map(hid_t g, sg_metric_map *m, const char *const reserved[]) {
    char **names = NULL;
    int n = 0, rc = list_links(g, &names, &n);
    for (int i = 0; !rc && i < n; i++) {
        if (reserved && is_reserved(names[i], reserved)) continue;
        int bad = 0;
        double v = get_scalar(g, names[i], &bad);
        rc = bad ? -1 : sg_metric_map_set(m, reserved ? unreserve(names[i]) : names[i], v);
    }
    free_names(names, n);
    return rc;
}

static int get_layers(hid_t g, const char *name, sg_metric_map *m) {
    double *v = NULL;
    int n = 0;
    char **names = NULL;
    int nn = 0, rc = get_f64(g, name, &v, &n);
    if (!rc && n > 0) {
        hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
        rc = d < 0 || get_layer_names(d, &names, &nn);
        if (d >= 0) H5Dclose(d);
        for (int i = 0; !rc && i < n; i++) {
            char fallback[32];
            snprintf(fallback, sizeof fallback, "layer%d", i);
            rc = sg_metric_map_set(m, i < nn ? names[i] : fallback, v[i]);
        }
    }
    free_names(names, nn);
    free(v);
    return rc ? -1 : 0;
}

static int open_sub(hid_t g, const char *name, hid_t *sub) {
    *sub = -1;
    if (H5Lexists(g, name, H5P_DEFAULT) <= 0) return 0;
    *sub = H5Gopen2(g, name, H5P_DEFAULT);
    return *sub < 0 ? -1 : 1;
}

static int read_run(hid_t runs, const char *id, sg_run_record *r, const char **where) {
    hid_t g = H5Gopen2(runs, id, H5P_DEFAULT), sub = -1;
    if (g < 0) return *where = "group", -1;
    snprintf(r->id, sizeof r->id, "%s", id);
    char *status = NULL, *short_id = NULL, *kind = NULL;
    double seed, level, attempts, rank;
    *where = "attributes";
    int rc = get_attr_str(g, "task", &r->task) || get_attr_str(g, "variant", &r->variant) ||
             get_attr_str(g, "status", &status) || get_attr_str(g, "short_id", &short_id) ||
             get_attr_str(g, "error", &r->error) || get_attr_str(g, "config", &r->config) ||
             get_attr_str(g, "version", &r->version) || get_attr_str(g, "host", &r->host) ||
             get_attr_f64(g, "seed", &seed) || get_attr_f64(g, "level", &level) ||
             get_attr_f64(g, "attempts", &attempts) || get_attr_f64(g, "rank", &rank) ||
             get_attr_f64(g, "start_time", &r->start_time) || get_attr_f64(g, "end_time", &r->end_time) ||
             get_attr_f64(g, "wall_seconds", &r->wall_seconds) || get_attr_str(g, "kind", &kind);
    if (!rc) {
        r->kind = kind && !strcmp(kind, "pretrain") ? SG_RUN_KIND_PRETRAIN : SG_RUN_KIND_GLUE; /* absent: before pretrain runs */
        r->status = sg_run_status_parse(status);
        r->seed = isnan(seed) ? 0 : (long long)seed;
        r->level = isnan(level) ? 0 : (int)level;
        r->attempts = isnan(attempts) ? 0 : (int)attempts;
        r->rank = isnan(rank) ? 0 : (int)rank;
        snprintf(r->short_id, sizeof r->short_id, "%.*s", SG_RUN_SHORT_ID_LEN, short_id ? short_id : r->id);
        if (r->status == SG_RUN_NONE) rc = -1, *where = "attribute status";
    }
    free(status);
    free(short_id);
    free(kind);
    int has;
    if (!rc && (has = open_sub(g, "train", &sub)) != 0) {
        *where = "train";
        int n[4];
        rc = has < 0 || get_f64(sub, "step", &r->train.step, &n[0]) || get_f64(sub, "epoch", &r->train.epoch, &n[1]) ||
             get_f64(sub, "loss", &r->train.loss, &n[2]) || get_f64(sub, "learning_rate", &r->train.learning_rate, &n[3]) ||
             n[0] != n[1] || n[0] != n[2] || n[0] != n[3];
        r->train.n = r->train.cap = rc ? 0 : n[0];
        if (sub >= 0) H5Gclose(sub), sub = -1;
    }
    if (!rc && (has = open_sub(g, "eval", &sub)) != 0) {
        *where = "eval";
        int ne = 0, ns = 0;
        rc = has < 0 || get_f64(sub, "epoch", &r->eval.epoch, &ne) || get_f64(sub, "step", &r->eval.step, &ns) || ne != ns;
        r->eval.n = r->eval.cap = rc ? 0 : ne;
        char **names = NULL;
        int nl = 0;
        if (!rc) rc = list_links(sub, &names, &nl);
        for (int i = 0; !rc && i < nl; i++) {
            if (is_reserved(names[i], EVAL_RESERVED)) continue;
            double *v = NULL;
            int n = 0;
            rc = get_f64(sub, names[i], &v, &n) || n != r->eval.n;
            for (int k = 0; !rc && k < n; k++) rc = sg_eval_series_set(&r->eval, k, unreserve(names[i]), v[k]);
            free(v);
        }
        free_names(names, nl);
        if (sub >= 0) H5Gclose(sub), sub = -1;
    }
    if (!rc && (has = open_sub(g, "qann", &sub)) != 0) {
        *where = "qann";
        rc = has < 0 || get_map(sub, &r->qann, NULL);
        if (sub >= 0) H5Gclose(sub), sub = -1;
    }
    if (!rc && (has = open_sub(g, "snn", &sub)) != 0) {
        *where = "snn";
        int bad = has < 0, nv = 0, ns = 0;
        if (!bad) {
            bad = get_map(sub, &r->snn, SNN_RESERVED) || get_f64(sub, "accuracy_by_step", &r->snn_by_step.value, &nv) ||
                  get_f64(sub, "accuracy_step", &r->snn_by_step.step, &ns) || nv != ns ||
                  get_layers(sub, "firing_rate", &r->firing_rate) || get_layers(sub, "sops_per_layer", &r->sops_per_layer);
            r->snn_by_step.n = r->snn_by_step.cap = bad ? 0 : nv;
            r->snn_samples = get_scalar(sub, "samples", &bad);
            r->snn_mean_settle_steps = get_scalar(sub, "mean_settle_steps", &bad);
            r->snn_max_settle_steps = get_scalar(sub, "max_settle_steps", &bad);
            r->snn_spikes = get_total(sub, "spikes", &bad);
            r->snn_sops = get_total(sub, "sops", &bad);
            r->snn_energy_j = get_total(sub, "energy_j", &bad);
            r->ann_macs = get_total(sub, "ann_macs", &bad);
            r->ann_energy_j = get_total(sub, "ann_energy_j", &bad);
        }
        rc = bad;
        if (sub >= 0) H5Gclose(sub), sub = -1;
    }
    H5Gclose(g);
    return rc ? -1 : 0;
}

int sg_store_read_h5(const char *path, sg_run_record **recs_out, int *n_out) {
    *recs_out = NULL;
    *n_out = 0;
    if (!sg_is_file(path)) return sg_fail("%s: no such file", path);
    h5_quiet q;
    quiet_on(&q);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), runs = -1;
    if (f < 0) {
        const char *msg = h5_message();
        quiet_off(&q);
        return sg_fail("%s: cannot open as HDF5: %s", path, msg);
    }
    char **ids = NULL;
    int n = 0, rc = 0;
    sg_run_record *recs = NULL;
    if (H5Lexists(f, "runs", H5P_DEFAULT) <= 0 || (runs = H5Gopen2(f, "runs", H5P_DEFAULT)) < 0)
        rc = sg_fail("%s: not a spikeglue results file (no /runs group)", path);
    else if (list_links(runs, &ids, &n)) rc = sg_fail("%s: cannot list /runs: %s", path, h5_message());
    else if (!(recs = calloc((size_t)(n > 0 ? n : 1), sizeof *recs))) rc = sg_fail("%s: out of memory", path);
    for (int i = 0; i < n && recs; i++) sg_run_record_init(&recs[i]);
    for (int i = 0; !rc && i < n; i++) {
        const char *where = "";
        if (read_run(runs, ids[i], &recs[i], &where))
            rc = sg_fail("%s: /runs/%s: cannot read %s: %s", path, ids[i], where, h5_message());
    }
    free_names(ids, n);
    if (runs >= 0) H5Gclose(runs);
    H5Fclose(f);
    quiet_off(&q);
    if (rc) {
        sg_run_records_free(recs, n);
        return -1;
    }
    qsort(recs, (size_t)n, sizeof *recs, compare_records);
    *recs_out = recs;
    *n_out = n;
    return 0;
}
