/* The run-output contract end to end: the real writer (`spikeglue run … --convert_to_snn
 * --snn_eval` on builtin:tiny and synthetic SST-2 rows) and the sweep's reader
 * (sg_run_record_from_dir) agree on every field: QANN metrics, SNN metrics, settle steps, spikes,
 * SOPs, energies (per sample and total), the metric by time step, per-layer firing rates and SOPs.
 * The expected values are read here from the files by the paths the format documents
 * (io/run_outputs.h's header comment), not through the contract's code. Then keys the writer does
 * not write (the old reader's guessed spellings) are refused, naming the key, instead of being
 * taken as aliases of a metric or cost. */
#include "core/error.h"
#include "core/fileio.h"
#include "data/synth.h"
#include "sched/run_record.h"
#include "testlib.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* `spikeglue ARGS > log 2>&1`; the exit status, or -1. Paths come from mkdtemp and the
 * environment and are single-quoted. */
static int run_spikeglue(const char *binary, const char *args, const char *log) {
    char cmd[32768];
    snprintf(cmd, sizeof cmd, "'%s' %s > '%s' 2>&1", binary, args, log);
    fflush(NULL);
    int status = system(cmd);
    return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static cJSON *load_json(const char *path) {
    size_t len = 0;
    char *text = sg_read_file(path, (size_t)64 << 20, &len);
    cJSON *o = text ? cJSON_ParseWithLength(text, len) : NULL;
    free(text);
    return o;
}

static int write_json(const char *path, const cJSON *o) {
    char *text = cJSON_PrintUnformatted(o);
    FILE *f = text ? fopen(path, "w") : NULL;
    int ok = f && fputs(text, f) >= 0;
    if (f) ok &= fclose(f) == 0;
    free(text);
    return ok ? 0 : -1;
}

/* A number at a dotted path ("stats.total.sops"); NaN when absent. */
static double at(const cJSON *o, const char *path) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *x = o;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && x; k = strtok_r(NULL, ".", &save))
        x = cJSON_GetObjectItemCaseSensitive(x, k);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

static int index_of(const sg_metric_map *m, const char *name) {
    for (int i = 0; i < m->count; i++)
        if (!strcmp(m->names[i], name)) return i;
    return -1;
}

static void check_fields(const sg_run_record *r, const cJSON *all, const cJSON *snn) {
    /* the QANN's final evaluation (HF's eval_* names) */
    CHECK(!isnan(at(all, "eval_accuracy")) && sg_metric_map_get(&r->qann, "accuracy") == at(all, "eval_accuracy"));
    CHECK(sg_metric_map_get(&r->qann, "loss") == at(all, "eval_loss"));
    CHECK(isnan(sg_metric_map_get(&r->qann, "train_loss")) && r->train.n > 0);
    /* the SNN's metrics, in both files alike */
    const double acc = at(snn, "metrics.eval_accuracy");
    CHECK(!isnan(acc) && acc == at(all, "snn_eval_accuracy"));
    CHECK(sg_metric_map_get(&r->snn, "accuracy") == acc);
    CHECK(sg_metric_map_get(&r->snn, "agreement_with_qann") == at(snn, "agreement_with_qann"));
    CHECK(sg_metric_map_get(&r->snn, "agreement_with_qann") == 1.0); /* the SNN equals its QANN */
    /* settle steps and samples */
    CHECK(r->snn_samples == 16 && r->snn_samples == at(snn, "stats.samples") && r->snn_samples == at(snn, "metrics.eval_samples"));
    CHECK(r->snn_mean_settle_steps > 0 && r->snn_mean_settle_steps == at(snn, "stats.mean_settle_step") &&
          r->snn_mean_settle_steps == at(all, "snn_mean_settle_step"));
    CHECK(r->snn_max_settle_steps >= r->snn_mean_settle_steps && r->snn_max_settle_steps == at(snn, "stats.max_settle_step"));
    /* totals over the samples; energies in joules */
    CHECK(r->snn_spikes > 0 && r->snn_spikes == at(snn, "stats.total.spikes"));
    CHECK(r->snn_sops > 0 && r->snn_sops == at(snn, "stats.total.sops"));
    CHECK(r->ann_macs > 0 && r->ann_macs == at(snn, "stats.total.ann_macs"));
    CHECK_NEAR(r->snn_energy_j, at(snn, "stats.total.energy_mj") * 1e-3, 1e-18);
    CHECK_NEAR(r->ann_energy_j, at(snn, "stats.total.ann_energy_mj") * 1e-3, 1e-18);
    CHECK(r->snn_energy_j > 0 && r->ann_energy_j > 0);
    /* per sample, as all_results.json has them, and consistent with the totals */
    const double sops_ps = sg_metric_map_get(&r->snn, "sops_per_sample"), mj_ps = sg_metric_map_get(&r->snn, "energy_mj_per_sample");
    CHECK(sops_ps == at(all, "snn_sops_per_sample") && mj_ps == at(all, "snn_energy_mj_per_sample"));
    CHECK_NEAR(sops_ps, r->snn_sops / r->snn_samples, 1e-9 * sops_ps);
    CHECK_NEAR(mj_ps, r->snn_energy_j * 1e3 / r->snn_samples, 1e-9 * mj_ps);
    CHECK_NEAR(at(all, "ann_energy_mj_per_sample"), r->ann_energy_j * 1e3 / r->snn_samples, 1e-9 * r->ann_energy_j * 1e3);
    /* the main metric by time step: 1, 2, … up to the last settle step, ending at the final metric */
    const cJSON *by = cJSON_GetObjectItemCaseSensitive(snn, "accuracy_by_step");
    CHECK(r->snn_by_step.n > 0 && r->snn_by_step.n == cJSON_GetArraySize(by) && r->snn_by_step.n == r->snn_max_settle_steps);
    for (int i = 0; i < r->snn_by_step.n && i < cJSON_GetArraySize(by); i++) {
        const cJSON *x = cJSON_GetArrayItem(by, i);
        CHECK_MSG(r->snn_by_step.step[i] == i + 1 && cJSON_IsNumber(x) && r->snn_by_step.value[i] == x->valuedouble, "step %d", i + 1);
    }
    if (r->snn_by_step.n > 0) CHECK(r->snn_by_step.value[r->snn_by_step.n - 1] == acc);
    /* per layer: tiny has 2 encoder layers and the classifier */
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(snn, "stats"), "layers"), *l;
    CHECK(cJSON_GetArraySize(layers) == 3 && r->firing_rate.count == 3 && r->sops_per_layer.count == 3);
    double sops_sum = 0;
    cJSON_ArrayForEach(l, layers) {
        const char *name = cJSON_GetObjectItemCaseSensitive(l, "name")->valuestring;
        int fi = index_of(&r->firing_rate, name), si = index_of(&r->sops_per_layer, name);
        CHECK_MSG(fi >= 0 && si >= 0, "layer %s missing", name);
        if (fi < 0 || si < 0) continue;
        CHECK(r->firing_rate.values[fi] == at(l, "firing_rate") && r->sops_per_layer.values[si] == at(l, "sops"));
        sops_sum += r->sops_per_layer.values[si];
    }
    CHECK(index_of(&r->firing_rate, "roberta.encoder.layer.1") >= 0 && index_of(&r->firing_rate, "classifier") >= 0);
    CHECK(r->firing_rate.values[0] > 0);
    CHECK_NEAR(sops_sum, r->snn_sops, 1e-9 * r->snn_sops);
}

/* Replace (or add) key in the object at a dotted parent path of a copy of `base`, write it to path,
 * read the run back: the reader must refuse it, naming `want` in the error. */
static void check_refused(const char *run, const char *path, const cJSON *base, const char *parent, const char *key,
                          const char *want) {
    cJSON *o = cJSON_Duplicate(base, 1);
    cJSON *p = o;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", parent);
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && p; k = strtok_r(NULL, ".", &save))
        p = cJSON_GetObjectItemCaseSensitive(p, k);
    CHECK(p != NULL);
    if (p) cJSON_AddNumberToObject(p, key, 21.0);
    CHECK(write_json(path, o) == 0);
    sg_run_record r;
    sg_run_record_init(&r);
    CHECK_MSG(sg_run_record_from_dir(run, &r) != 0, "%s.%s was accepted (mean settle %g, energy %g J)", parent, key,
              r.snn_mean_settle_steps, r.snn_energy_j);
    CHECK_MSG(strstr(sg_last_error(), want) && strstr(sg_last_error(), strrchr(path, '/') + 1), "%s", sg_last_error());
    sg_run_record_free(&r);
    cJSON_Delete(o);
}

int main(void) {
    const char *build = getenv("SG_BUILD_DIR"), *src = getenv("SG_SOURCE_DIR");
    char binary[4096], cfg[4096];
    snprintf(binary, sizeof binary, "%s/spikeglue", build ? build : ".");
    snprintf(cfg, sizeof cfg, "%s/configs/levels/q8.yaml", src ? src : ".");
    if (access(binary, X_OK) != 0) sg_test_skip("spikeglue is not built (set SG_BUILD_DIR)");
    if (access(cfg, R_OK) != 0) sg_test_skip("configs/levels/q8.yaml not found (set SG_SOURCE_DIR)");
    const char *tmp = sg_test_tmpdir();
    if (!tmp) sg_test_skip("no temporary directory");
    char data[4200], run[4200], out[4300], log[4300], all_path[4400], snn_path[4400];
    snprintf(data, sizeof data, "%s/data", tmp);
    snprintf(run, sizeof run, "%s/run", tmp);
    snprintf(out, sizeof out, "%s/out", run);
    snprintf(log, sizeof log, "%s/run.log", tmp);
    sg_synth_options opt;
    sg_synth_defaults(&opt);
    opt.train_rows = 32;
    opt.dev_rows = 16;
    CHECK(sg_synth_write(data, &opt) == 0);

    char args[16384];
    snprintf(args, sizeof args,
             "run --model_name_or_path builtin:tiny --task_name sst2 --data_dir '%s' --max_seq_length 32 "
             "--transform_config '%s' --lsq_calibrate_batches 1 --do_train --num_train_epochs 1 --max_train_samples 16 "
             "--per_device_train_batch_size 8 --logging_steps 1 --do_eval --convert_to_snn --snn_eval --output_dir '%s'",
             data, cfg, out);
    int rc = run_spikeglue(binary, args, log);
    CHECK_MSG(rc == 0, "spikeglue run exited %d; see %s", rc, log);
    snprintf(all_path, sizeof all_path, "%s/all_results.json", out);
    snprintf(snn_path, sizeof snn_path, "%s/snn_results.json", out);
    cJSON *all = load_json(all_path), *snn = load_json(snn_path);
    CHECK(all != NULL && snn != NULL);
    if (rc != 0 || !all || !snn) return sg_test_done();

    sg_run_record r;
    sg_run_record_init(&r);
    CHECK_MSG(sg_run_record_from_dir(run, &r) == 0, "%s", sg_last_error());
    check_fields(&r, all, snn);
    sg_run_record_free(&r);

    /* spellings nothing writes are refused, naming the key: never read as a cost or metric alias */
    check_refused(run, snn_path, snn, "stats", "mean_time_steps", "mean_time_steps");
    check_refused(run, snn_path, snn, "stats.total", "energy_pj", "energy_pj");
    check_refused(run, snn_path, snn, "", "metric_by_step", "metric_by_step");
    check_refused(run, snn_path, snn, "metrics", "mean_settle_steps", "mean_settle_steps");
    CHECK(write_json(snn_path, snn) == 0);
    check_refused(run, all_path, all, "", "snn_energy_pj", "snn_energy_pj");
    check_refused(run, all_path, all, "", "snn_time_steps", "snn_time_steps");
    CHECK(write_json(all_path, all) == 0);
    sg_run_record_init(&r);
    CHECK_MSG(sg_run_record_from_dir(run, &r) == 0, "%s", sg_last_error());
    sg_run_record_free(&r);

    cJSON_Delete(all);
    cJSON_Delete(snn);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    return sg_test_done();
}
