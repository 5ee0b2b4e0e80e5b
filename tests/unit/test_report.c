/* Leaderboards from a synthetic sweep (2 tasks × 2 variants × 3 seeds, one failed run) written
 * through the results store and read back from results.h5: means, stds, gaps and the GLUE
 * average against numbers worked out by hand (in the comments). */
#include "testlib.h"

#include "core/error.h"
#include "core/fileio.h"
#include "sched/report.h"
#include "sched/results_store.h"

#include <stdlib.h>

int sg_cmd_report(int argc, char **argv); /* sched/cmd_report.c */
#include <string.h>
#include <unistd.h>

static void add_run(sg_store *st, const char *task, const char *variant, int level, int seed, const char *m1, double v1,
                    const char *m2, double v2, const char *s1, double sv1, const char *s2, double sv2) {
    sg_run_record r;
    sg_run_record_init(&r);
    sg_run_record_set_id(&r, task, seed, variant);
    sg_run_record_set_str(&r.task, task);
    sg_run_record_set_str(&r.variant, variant);
    r.seed = seed;
    r.level = level;
    r.status = SG_RUN_FINISHED;
    r.attempts = 1;
    if (m1) sg_metric_map_set(&r.qann, m1, v1);
    if (m2) sg_metric_map_set(&r.qann, m2, v2);
    if (s1) sg_metric_map_set(&r.snn, s1, sv1);
    if (s2) sg_metric_map_set(&r.snn, s2, sv2);
    if (!strcmp(task, "sst2") && level) {
        /* SNN costs over 100 samples: settle steps 10/12/14, SOPs 1e8·k, energy 0.1·k J, ANN 5e8 MACs, 2.3e-3 J */
        int k = seed;
        r.snn_samples = 100;
        r.snn_mean_settle_steps = 8 + 2 * k;
        r.snn_sops = 1e8 * k;
        r.snn_energy_j = 0.1 * k;
        r.ann_macs = 5e8;
        r.ann_energy_j = 2.3e-3;
        for (int t = 1; t <= 4; t++) sg_step_series_push(&r.snn_by_step, t, sv1 * t / 4);
    }
    CHECK_MSG(sg_store_commit(st, &r) == 0, "%s", sg_last_error());
    sg_run_record_free(&r);
}

static char *print_to_string(const sg_report *r, sg_report_format fmt, sg_report_by by) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return NULL;
    CHECK(sg_report_print(r, fmt, by, f) == 0);
    fclose(f);
    return buf;
}

#define CHECK_HAS(text, line) CHECK_MSG(text && strstr(text, line) != NULL, "missing line: %s\n--- output:\n%s", line, text)

/* A sweep with a pretrain run: its record has a section of its own and stays out of the GLUE
 * tables (no task "mlm", no variant "pretrain", no GLUE average of it). */
static void test_pretrain_section(void) {
    sg_run_record recs[3];
    for (int i = 0; i < 3; i++) {
        sg_run_record_init(&recs[i]);
        sg_run_record_set_id(&recs[i], i ? "sst2" : "mlm", 42, i == 0 ? "pretrain" : i == 1 ? "baseline" : "scratch");
        sg_run_record_set_str(&recs[i].task, i ? "sst2" : "mlm");
        sg_run_record_set_str(&recs[i].variant, i == 0 ? "pretrain" : i == 1 ? "baseline" : "scratch");
        recs[i].seed = 42;
        recs[i].status = SG_RUN_FINISHED;
        sg_metric_map_set(&recs[i].qann, i ? "accuracy" : "loss", i == 1 ? 0.75 : i == 2 ? 0.70 : 4.25);
    }
    recs[0].kind = SG_RUN_KIND_PRETRAIN;
    sg_metric_map_set(&recs[0].qann, "loss_before", 5.5);
    sg_metric_map_set(&recs[0].qann, "perplexity", 70.1);
    sg_metric_map_set(&recs[0].qann, "accuracy", 0.125);
    sg_run_record_set_str(&recs[0].config, "{\"kind\":\"pretrain\",\"model\":\"builtin:small\"}");
    recs[0].wall_seconds = 61.25;
    sg_report r;
    CHECK_MSG(sg_report_build(recs, 3, "mem", NULL, &r) == 0, "%s", sg_last_error());
    CHECK(r.nrecs == 3 && r.ntasks == 1 && r.nvariants == 2 && sg_report_pretrain_count(&r) == 1);
    CHECK(!strcmp(r.tasks[0], "sst2") && r.baseline && !strcmp(r.baseline, "baseline"));
    char *md = print_to_string(&r, SG_REPORT_MD, SG_REPORT_BY_TASK);
    CHECK_HAS(md, "## Pretraining (masked LM)\n");
    CHECK_HAS(md, " | builtin:small | 42 | finished | 5.5000 | 4.2500 | 70.1 | 0.1250 | 61.2 |\n");
    CHECK_HAS(md, "\n| scratch | – | 1 | 70.00 | -5.00 |");
    CHECK_MSG(md && !strstr(md, "## mlm") && !strstr(md, "| pretrain |"), "%s", md);
    char *json = print_to_string(&r, SG_REPORT_JSON, SG_REPORT_BY_TASK);
    CHECK_HAS(json, "\"pretrain\":");
    CHECK_HAS(json, "\"eval_loss_before\":\t5.5");
    free(md);
    free(json);
    sg_report_free(&r);
    for (int i = 0; i < 3; i++) sg_run_record_free(&recs[i]);
}

int main(void) {
    const char *tmp = sg_test_tmpdir();
    if (!tmp) sg_test_skip("no temporary directory");
    char root[4096], dir[4200];
    snprintf(root, sizeof root, "%s", tmp);
    snprintf(dir, sizeof dir, "%s/sweep-report", root);
    sg_store st;
    CHECK_MSG(sg_store_open(dir, &st) == 0, "%s", sg_last_error());
    /* sst2 baseline: accuracy .90 .92 .94 → 92.00 ± 2.00 */
    add_run(&st, "sst2", "baseline", 0, 1, "accuracy", 0.90, NULL, 0, NULL, 0, NULL, 0);
    add_run(&st, "sst2", "baseline", 0, 2, "accuracy", 0.92, NULL, 0, NULL, 0, NULL, 0);
    add_run(&st, "sst2", "baseline", 0, 3, "accuracy", 0.94, NULL, 0, NULL, 0, NULL, 0);
    /* sst2 q8: ANN .88 .89 .90 → 89.00 ± 1.00 (gap −3.00); SNN .87 .89 .91 → 89.00 ± 2.00 (gap to the
     * baseline's ANN −3.00) */
    add_run(&st, "sst2", "q8", 8, 1, "accuracy", 0.88, NULL, 0, "accuracy", 0.87, NULL, 0);
    add_run(&st, "sst2", "q8", 8, 2, "accuracy", 0.89, NULL, 0, "accuracy", 0.89, NULL, 0);
    add_run(&st, "sst2", "q8", 8, 3, "accuracy", 0.90, NULL, 0, "accuracy", 0.91, NULL, 0);
    /* mrpc baseline: (acc + f1)/2 computed from the parts: .83 .85 .87 → 85.00 ± 2.00 */
    add_run(&st, "mrpc", "baseline", 0, 1, "accuracy", 0.80, "f1", 0.86, NULL, 0, NULL, 0);
    add_run(&st, "mrpc", "baseline", 0, 2, "accuracy", 0.82, "f1", 0.88, NULL, 0, NULL, 0);
    add_run(&st, "mrpc", "baseline", 0, 3, "accuracy", 0.84, "f1", 0.90, NULL, 0, NULL, 0);
    /* mrpc q8: combined_score .80 .81 .82 → 81.00 ± 1.00 (gap −4.00);
     * SNN (acc + f1)/2 = .79 .80 .84 → mean .81 (gap −4.00), std sqrt((.0004 + .0001 + .0009)/2) = .0264575 */
    add_run(&st, "mrpc", "q8", 8, 1, "combined_score", 0.80, NULL, 0, "accuracy", 0.78, "f1", 0.80);
    add_run(&st, "mrpc", "q8", 8, 2, "combined_score", 0.81, NULL, 0, "accuracy", 0.79, "f1", 0.81);
    add_run(&st, "mrpc", "q8", 8, 3, "combined_score", 0.82, NULL, 0, "accuracy", 0.83, "f1", 0.85);
    /* a run that failed twice */
    sg_run_record bad;
    sg_run_record_init(&bad);
    sg_run_record_set_id(&bad, "sst2", 4, "q8");
    sg_run_record_set_str(&bad.task, "sst2");
    sg_run_record_set_str(&bad.variant, "q8");
    sg_run_record_set_str(&bad.error, "out of memory | at step 3\nsecond line");
    bad.seed = 4, bad.level = 8, bad.status = SG_RUN_FAILED, bad.attempts = 2;
    CHECK(sg_store_commit(&st, &bad) == 0);
    sg_run_record_free(&bad);
    sg_store_close(&st);

    sg_report r;
    CHECK_MSG(sg_report_load(dir, NULL, &r) == 0, "%s", sg_last_error()); /* the sweep directory */
    CHECK(r.nrecs == 13 && r.nfinished == 12 && r.ntasks == 2 && r.nvariants == 2);
    CHECK(r.baseline && !strcmp(r.baseline, "baseline"));
    CHECK(!strcmp(r.tasks[0], "sst2") && !strcmp(r.tasks[1], "mrpc")); /* GLUE order */
    CHECK(!strcmp(r.variants[0], "baseline") && !strcmp(r.variants[1], "q8"));
    const sg_report_row *x = sg_report_row_at(&r, 1, 1);
    CHECK_NEAR(x->ann.mean, 0.81, 1e-12);
    CHECK_NEAR(x->ann.std, 0.01, 1e-12);
    CHECK_NEAR(x->snn.std, 0.026457513110645906, 1e-12);
    CHECK_NEAR(x->ann_gap, -0.04, 1e-12);
    CHECK_NEAR(r.glue[1].ann_gap, -0.035, 1e-12);
    CHECK(sg_report_row_at(&r, 0, 1)->failed == 1);

    char *md = print_to_string(&r, SG_REPORT_MD, SG_REPORT_BY_TASK);
    CHECK_HAS(md, "## sst2 (accuracy)\n\n| variant | level | n | ANN/QANN | Δ base | SNN | Δ base | steps | SOPs | SNN mJ | ANN MACs | ANN mJ |\n");
    CHECK_HAS(md, "\n| baseline | – | 3 | 92.00 ± 2.00 | +0.00 | – | – | – | – | – | – | – |\n");
    /* per sample: 2e8/100 SOPs, 0.2 J/100 = 2 mJ, 5e8/100 MACs, 2.3e-3 J/100 = 0.023 mJ */
    CHECK_HAS(md, "\n| q8 | 8 | 3 | 89.00 ± 1.00 | -3.00 | 89.00 ± 2.00 | -3.00 | 12.0 | 2e+06 | 2 | 5e+06 | 0.023 |\n");
    CHECK_HAS(md, "## mrpc (combined_score)\n");
    CHECK_HAS(md, "\n| baseline | – | 3 | 85.00 ± 2.00 | +0.00 | – | – | – | – | – | – | – |\n");
    CHECK_HAS(md, "\n| q8 | 8 | 3 | 81.00 ± 1.00 | -4.00 | 81.00 ± 2.65 | -4.00 | – | – | – | – | – |\n");
    /* GLUE: baseline (.92 + .85)/2 = 88.50; q8 (.89 + .81)/2 = 85.00, gap (−3 − 4)/2 = −3.50, for both */
    CHECK_HAS(md, "\n| baseline | – | 2 | 88.50 | +0.00 | 0 | – | – |\n");
    CHECK_HAS(md, "\n| q8 | 8 | 2 | 85.00 | -3.50 | 2 | 85.00 | -3.50 |\n");
    CHECK_HAS(md, "## Runs that did not finish (1)\n");
    CHECK_HAS(md, "| sst2 | q8 | 4 | failed | 2 | out of memory \\| at step 3 second line |\n");
    CHECK_HAS(md, "13 runs: 12 finished, 1 not finished. Baseline: `baseline`.");

    char *md_v = print_to_string(&r, SG_REPORT_MD, SG_REPORT_BY_VARIANT);
    CHECK_HAS(md_v, "## q8 (level 8)\n\n| task | metric | n |");
    CHECK_HAS(md_v, "\n| sst2 | accuracy | 3 | 89.00 ± 1.00 | -3.00 | 89.00 ± 2.00 | -3.00 | 12.0 | 2e+06 | 2 | 5e+06 | 0.023 |\n");
    CHECK_HAS(md_v, "\n| mrpc | combined_score | 3 | 81.00 ± 1.00 | -4.00 | 81.00 ± 2.65 | -4.00 | – | – | – | – | – |\n");

    const char *csv_expected =
        "task,variant,level,metric,finished,failed,ann_mean,ann_std,ann_n,ann_gap,snn_mean,snn_std,snn_n,snn_gap,"
        "settle_steps,sops_per_sample,snn_energy_j_per_sample,ann_macs_per_sample,ann_energy_j_per_sample\n"
        "sst2,baseline,0,accuracy,3,0,0.92,0.02,3,0,,,0,,,,,,\n"
        "sst2,q8,8,accuracy,3,1,0.89,0.01,3,-0.03,0.89,0.02,3,-0.03,12,2000000,0.002,5000000,2.3e-05\n"
        "mrpc,baseline,0,combined_score,3,0,0.85,0.02,3,0,,,0,,,,,,\n"
        "mrpc,q8,8,combined_score,3,0,0.81,0.01,3,-0.04,0.81,0.02645751311,3,-0.04,,,,,\n"
        "glue_average,baseline,0,average,2,0,0.885,,2,0,,,0,,,,,,\n"
        "glue_average,q8,8,average,2,0,0.85,,2,-0.035,0.85,,2,-0.035,,,,,\n";
    char *csv = print_to_string(&r, SG_REPORT_CSV, SG_REPORT_BY_TASK);
    CHECK_MSG(csv && !strcmp(csv, csv_expected), "csv:\n%s\nexpected:\n%s", csv, csv_expected);
    char *csv_v = print_to_string(&r, SG_REPORT_CSV, SG_REPORT_BY_VARIANT);
    /* by variant: baseline's tasks, then q8's */
    CHECK(csv_v && strstr(csv_v, "\nsst2,baseline,") && strstr(csv_v, "\nsst2,baseline,") < strstr(csv_v, "\nmrpc,baseline,") &&
          strstr(csv_v, "\nmrpc,baseline,") < strstr(csv_v, "\nsst2,q8,"));

    char *json = print_to_string(&r, SG_REPORT_JSON, SG_REPORT_BY_TASK);
    cJSON *j = json ? cJSON_Parse(json) : NULL;
    CHECK(j != NULL);
    const cJSON *rows = cJSON_GetObjectItem(j, "rows"), *glue = cJSON_GetObjectItem(j, "glue_average");
    CHECK(cJSON_GetArraySize(rows) == 4 && cJSON_GetArraySize(cJSON_GetObjectItem(j, "failed")) == 1);
    const cJSON *q8 = cJSON_GetArrayItem(glue, 1);
    CHECK_NEAR(cJSON_GetObjectItem(q8, "ann_gap")->valuedouble, -0.035, 1e-12);
    CHECK_NEAR(cJSON_GetObjectItem(q8, "snn_gap")->valuedouble, -0.035, 1e-12);
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(glue, 0), "snn_gap"))); /* no SNN in the baseline */
    CHECK(!strcmp(cJSON_GetObjectItem(j, "baseline")->valuestring, "baseline"));
    cJSON_Delete(j);

    /* files: leaderboard.md/.csv always; plots only with gnuplot */
    char out[4300], path[4400], note[4600];
    snprintf(out, sizeof out, "%s/board", root);
    CHECK_MSG(sg_report_write_dir(&r, out, note, sizeof note) == 0, "%s", sg_last_error());
    snprintf(path, sizeof path, "%s/leaderboard.csv", out);
    size_t n = 0;
    char *file_csv = sg_read_file(path, 1 << 20, &n);
    CHECK(file_csv && !strcmp(file_csv, csv_expected));
    snprintf(path, sizeof path, "%s/leaderboard.md", out);
    CHECK(sg_is_file(path));
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        CHECK_MSG(strstr(note, "gnuplot is not installed") != NULL, "%s", note);
    } else {
        char png[4400], svg[4400];
        snprintf(png, sizeof png, "%s/plot_level.png", out);
        snprintf(svg, sizeof svg, "%s/plot_level.svg", out);
        CHECK_MSG(note[0] == '\0' && (sg_is_file(png) || sg_is_file(svg)), "note: %s", note);
        snprintf(png, sizeof png, "%s/plot_steps_sst2.png", out);
        snprintf(svg, sizeof svg, "%s/plot_steps_sst2.svg", out);
        CHECK(sg_is_file(png) || sg_is_file(svg));
    }
    free(file_csv);
    /* the one-call form used at the end of a sweep: files beside results.h5 */
    CHECK_MSG(sg_report_write_files(dir, NULL, NULL, note, sizeof note) == 0, "%s", sg_last_error());
    snprintf(path, sizeof path, "%s/leaderboard.md", dir);
    CHECK(sg_is_file(path));

    /* an explicit baseline, and a wrong one */
    sg_report r2;
    CHECK(sg_report_load(dir, "q8", &r2) == 0);
    CHECK(!strcmp(r2.variants[0], "q8") && sg_report_row_at(&r2, 0, 1)->ann_gap > 0.0299);
    sg_report_free(&r2);
    CHECK(sg_report_load(dir, "q99", &r2) != 0);
    CHECK_MSG(strstr(sg_last_error(), "q99") != NULL, "%s", sg_last_error());
    CHECK(sg_report_load("/nonexistent/results.h5", NULL, &r2) != 0);
    snprintf(path, sizeof path, "%s/not-hdf5.h5", root);
    FILE *f = fopen(path, "w");
    if (f) fputs("not an HDF5 file\n", f), fclose(f);
    CHECK(sg_report_load(path, NULL, &r2) != 0);
    CHECK_MSG(strstr(sg_last_error(), "not-hdf5.h5") != NULL && !strchr(sg_last_error(), '\n'), "%s", sg_last_error());

    /* the command: exit 0, 2 for bad flags, 1 for an unreadable file */
    char *ok_argv[] = {"report", dir, "--format", "csv", "--by", "variant", NULL};
    CHECK(sg_cmd_report(6, ok_argv) == 0);
    char *bad_by[] = {"report", dir, "--by", "seed", NULL};
    CHECK(sg_cmd_report(4, bad_by) == 2);
    char *bad_format[] = {"report", dir, "--format", "xml", NULL};
    CHECK(sg_cmd_report(4, bad_format) == 2);
    char *no_path[] = {"report", NULL};
    CHECK(sg_cmd_report(1, no_path) == 2);
    char *missing[] = {"report", "/nonexistent/sweep", NULL};
    CHECK(sg_cmd_report(2, missing) == 1);

    free(md), free(md_v), free(csv), free(csv_v), free(json);
    sg_report_free(&r);
    sg_remove_tree(root);
    test_pretrain_section();
    return sg_test_done();
}
