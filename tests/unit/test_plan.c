/* Sweep plans: expansion with include/exclude, dependencies, order, argument vectors, stable ids,
 * the dry-run print and, when the binary is built, the commands run by `spikeglue run`. */
#include "testlib.h"

#include "core/error.h"
#include "core/durable.h"
#include "core/fileio.h"
#include "data/synth.h"
#include "hub/fetch.h"
#include "sched/plan.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define DIR "tests/data/jobs/"
#define VERSION "spikeglue 0.1.0"

static int load_plan(const char *path, sg_jobspec *s, sg_plan *p) {
    if (sg_jobspec_load(path, s)) {
        CHECK_MSG(0, "%s: %s", path, sg_last_error());
        return -1;
    }
    if (sg_plan_build(s, VERSION, p)) {
        CHECK_MSG(0, "%s: %s", path, sg_last_error());
        sg_jobspec_free(s);
        return -1;
    }
    return 0;
}

static int parse_plan(const char *text, const char *name, sg_jobspec *s, sg_plan *p) {
    if (sg_jobspec_parse(text, strlen(text), name, s)) {
        CHECK_MSG(0, "%s", sg_last_error());
        return -1;
    }
    if (sg_plan_build(s, VERSION, p)) {
        CHECK_MSG(0, "%s", sg_last_error());
        sg_jobspec_free(s);
        return -1;
    }
    return 0;
}

static void unload(sg_jobspec *s, sg_plan *p) {
    sg_plan_free(p);
    sg_jobspec_free(s);
}

/* The argument vector of run i joined by spaces. */
static void argv_line(const sg_plan *p, int i, const char *run_dir, const char *model, char *out, size_t cap) {
    int argc;
    char **argv;
    out[0] = '\0';
    if (sg_plan_run_argv(p, i, run_dir, model, &argc, &argv)) {
        snprintf(out, cap, "ERROR %s", sg_last_error());
        return;
    }
    CHECK(argv[argc] == NULL);
    size_t len = 0;
    for (int a = 0; a < argc && len < cap; a++) len += (size_t)snprintf(out + len, cap - len, "%s%s", a ? " " : "", argv[a]);
    sg_plan_argv_free(argc, argv);
}

static char *read_text(const char *path) {
    size_t len;
    return sg_read_file(path, 1 << 20, &len);
}

/* Replace the first `from` in text with `to` (fresh string). */
static char *replace(const char *text, const char *from, const char *to) {
    const char *at = strstr(text, from);
    CHECK_MSG(at != NULL, "'%s' not in the fixture", from);
    if (!at) return NULL;
    size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return out;
}

static int find_run(const sg_plan *p, const char *task, int seed, const char *variant) {
    for (int i = 0; i < p->nruns; i++)
        if (!strcmp(p->runs[i].task->name, task) && p->runs[i].seed == seed && !strcmp(p->runs[i].variant_name, variant)) return i;
    return -1;
}

/* ---- the plan fixture, exactly ---- */

static void test_expansion(void) {
    sg_jobspec s;
    sg_plan p;
    if (load_plan(DIR "plan.yaml", &s, &p)) return;
    static const struct {
        const char *task;
        int seed;
        const char *variant;
        int dep, implied, dependents;
        unsigned stages;
        double cost;
    } want[] = {
        {"mrpc", 1, "base", -1, 0, 1, SG_STAGE_FINETUNE, 6000},
        {"mrpc", 1, "q8", 0, 0, 0, SG_STAGE_FINETUNE | SG_STAGE_CONVERT | SG_STAGE_SNN_EVAL, 6000},
        {"mrpc", 1, "mix", -1, 0, 0, SG_STAGE_EVAL, 408},
        {"mrpc", 2, "base", -1, 0, 1, SG_STAGE_FINETUNE, 6000},
        {"mrpc", 2, "q8", 3, 0, 0, SG_STAGE_FINETUNE | SG_STAGE_CONVERT | SG_STAGE_SNN_EVAL, 6000},
        {"stsb", 2, "base", -1, 1, 1, SG_STAGE_FINETUNE, 6000},
        {"stsb", 2, "q8", 5, 0, 0, SG_STAGE_FINETUNE | SG_STAGE_CONVERT | SG_STAGE_SNN_EVAL, 6000},
        {"rte", 2, "base", -1, 1, 1, SG_STAGE_FINETUNE, 2490 * 2 * 16},
        {"rte", 2, "q8", 7, 0, 0, SG_STAGE_FINETUNE | SG_STAGE_CONVERT | SG_STAGE_SNN_EVAL, 2490 * 2 * 16},
    };
    static const int want_order[] = {7, 8, 0, 3, 5, 1, 4, 6, 2};
    CHECK(p.nruns == 9 && p.ndeps == 4 && p.ntasks == 3 && p.nseeds == 2 && p.nvariants == 3);
    for (int i = 0; i < p.nruns && i < 9; i++) {
        const sg_plan_run *r = &p.runs[i];
        CHECK_MSG(!strcmp(r->task->name, want[i].task) && r->seed == want[i].seed && !strcmp(r->variant_name, want[i].variant),
                  "run %d is %s/%d/%s", i, r->task->name, r->seed, r->variant_name);
        CHECK_MSG(r->dep == want[i].dep && r->implied == want[i].implied && r->dependents == want[i].dependents,
                  "run %d: dep %d implied %d dependents %d", i, r->dep, r->implied, r->dependents);
        CHECK_MSG(r->stages == want[i].stages, "run %d stages %u", i, r->stages);
        CHECK_MSG(r->cost == want[i].cost, "run %d cost %g, want %g", i, r->cost, want[i].cost);
        CHECK(strlen(r->id) == 16 && strlen(r->short_id) == 8 && !strncmp(r->id, r->short_id, 8));
        CHECK(r->dropped == (!strcmp(r->variant_name, "base") ? (SG_STAGE_CONVERT | SG_STAGE_SNN_EVAL) : 0u));
        CHECK(r->level == (!strcmp(r->variant_name, "q8") ? 8 : 0));
        CHECK(!strcmp(r->model, !strcmp(r->task->name, "rte") ? "builtin:small" : "builtin:tiny"));
        CHECK(p.order[i] == want_order[i]);
    }
    CHECK(p.total_cost == 6 * 6000 + 408 + 2 * 79680);

    /* argument vectors */
    char line[2048], want_line[2048];
    argv_line(&p, 1, "R1", "M0/out", line, sizeof line);
    CHECK_MSG(!strcmp(line, "run --model_name_or_path M0/out --output_dir R1/out --task_name mrpc --data_dir data/glue "
                            "--overwrite_output_dir --seed 1 --transform_config configs/levels/q8.yaml --do_train --do_eval "
                            "--eval_strategy epoch --save_strategy epoch --save_total_limit 1 --convert_to_snn --snn_eval "
                            "--num_train_epochs 2 --per_device_train_batch_size 16 --learning_rate 0.0001 "
                            "--max_train_samples 3000 --snn_max_steps 32"),
              "%s", line);
    argv_line(&p, 2, "R2", NULL, line, sizeof line);
    CHECK_MSG(!strcmp(line, "run --model_name_or_path builtin:tiny --output_dir R2/out --task_name mrpc --data_dir data/glue "
                            "--overwrite_output_dir --seed 1 --transform_config configs/mixed_precision.yaml --do_eval "
                            "--num_train_epochs 2 --per_device_train_batch_size 16 --max_train_samples 3000"),
              "%s", line);
    argv_line(&p, 7, "R7", NULL, line, sizeof line);
    CHECK_MSG(!strcmp(line, "run --model_name_or_path builtin:small --output_dir R7/out --task_name rte --data_dir data/glue "
                            "--overwrite_output_dir --seed 2 --do_train --do_eval --eval_strategy epoch --save_strategy epoch "
                            "--save_total_limit 1 --num_train_epochs 2 --per_device_train_batch_size 16 --max_train_samples 3000"),
              "%s", line);
    /* a dependent run needs its dependency's output dir */
    int argc = 1;
    char **argv = (char **)&argc;
    CHECK(sg_plan_run_argv(&p, 1, "R1", NULL, &argc, &argv) == -1 && argc == 0 && argv == NULL);
    snprintf(want_line, sizeof want_line, "starts from run %s", p.runs[0].short_id);
    CHECK_MSG(strstr(sg_last_error(), want_line) != NULL, "%s", sg_last_error());
    CHECK(sg_plan_run_argv(&p, 9, "R", "M", &argc, &argv) == -1);

    char dir[256], out[256];
    CHECK(sg_plan_run_dir(&p, 1, "results", dir, sizeof dir) == 0);
    snprintf(want_line, sizeof want_line, "results/plan-test/runs/%s", p.runs[1].id);
    CHECK(!strcmp(dir, want_line));
    CHECK(sg_plan_output_dir(dir, out, sizeof out) == 0 && !strcmp(out + strlen(dir), "/out"));
    CHECK(sg_plan_run_dir(&p, 1, "results", dir, 10) == -1);

    /* the canonical config: sorted keys, the id is its hash, it names its dependency and transform */
    for (int i = 0; i < p.nruns; i++) {
        const sg_plan_run *r = &p.runs[i];
        cJSON *c = cJSON_Parse(r->config);
        CHECK(c != NULL);
        if (!c) continue;
        const char *prev = "";
        for (const cJSON *k = c->child; k; k = k->next) {
            CHECK_MSG(strcmp(prev, k->string) < 0, "keys not sorted: %s then %s", prev, k->string);
            prev = k->string;
        }
        const cJSON *sf = cJSON_GetObjectItemCaseSensitive(c, "start_from");
        CHECK(r->dep >= 0 ? cJSON_IsString(sf) && !strcmp(sf->valuestring, p.runs[r->dep].id) : cJSON_IsNull(sf));
        const cJSON *tool = cJSON_GetObjectItemCaseSensitive(c, "tool");
        CHECK(cJSON_IsString(tool) && !strcmp(tool->valuestring, VERSION));
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "transform");
        if (r->transform) {
            const cJSON *sha = cJSON_GetObjectItemCaseSensitive(t, "sha256");
            CHECK(cJSON_IsString(sha) && !strcmp(sha->valuestring, s.variants[r->variant].transform_sha256));
        } else {
            CHECK(cJSON_IsNull(t));
        }
        const cJSON *flags = cJSON_GetObjectItemCaseSensitive(c, "flags");
        CHECK(cJSON_GetObjectItemCaseSensitive(flags, "--output_dir") == NULL);
        CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(flags, "--seed")));
        cJSON_Delete(c);
        sg_sha256 h;
        uint8_t digest[32];
        char hex[65];
        sg_sha256_init(&h);
        sg_sha256_update(&h, r->config, strlen(r->config));
        sg_sha256_final(&h, digest);
        sg_sha256_hex(digest, hex);
        CHECK(!strncmp(hex, r->id, 16));
    }

    /* plan.json */
    cJSON *j = sg_plan_to_json(&p);
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(j, "runs");
    CHECK(cJSON_GetArraySize(runs) == 9);
    const cJSON *first = cJSON_GetArrayItem(runs, 0), *second = cJSON_GetArrayItem(runs, 1);
    CHECK(!strcmp(cJSON_GetObjectItemCaseSensitive(first, "id")->valuestring, p.runs[7].id));
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(first, "depends_on")));
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(first, "implied")));
    CHECK(!strcmp(cJSON_GetObjectItemCaseSensitive(second, "depends_on")->valuestring, p.runs[7].id));
    CHECK(!strcmp(cJSON_GetObjectItemCaseSensitive(second, "stages")->valuestring, "finetune,convert,snn_eval"));
    CHECK(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(second, "config")));
    cJSON_Delete(j);
    unload(&s, &p);
}

/* ---- ids ---- */

/* ids of `changed` vs `base` by (task, seed, variant): which variants' ids differ. */
static void compare_ids(const sg_plan *base, const sg_plan *changed, const char *const *differ, int ndiffer) {
    CHECK(base->nruns == changed->nruns);
    for (int i = 0; i < base->nruns; i++) {
        const sg_plan_run *r = &base->runs[i];
        int j = find_run(changed, r->task->name, r->seed, r->variant_name);
        CHECK(j >= 0);
        if (j < 0) continue;
        int should = 0;
        for (int k = 0; k < ndiffer; k++) should |= !strcmp(differ[k], r->variant_name);
        CHECK_MSG(should == (strcmp(r->id, changed->runs[j].id) != 0), "%s/%d/%s: id %s -> %s (should %s)", r->task->name,
                  r->seed, r->variant_name, r->id, changed->runs[j].id, should ? "change" : "stay");
    }
}

static void test_ids(void) {
    sg_jobspec s1, s2, s3;
    sg_plan p1, p2, p3;
    if (load_plan(DIR "plan.yaml", &s1, &p1)) return;
    if (load_plan(DIR "plan.yaml", &s2, &p2)) return unload(&s1, &p1);
    compare_ids(&p1, &p2, NULL, 0); /* same spec, same ids */
    for (int i = 0; i < p1.nruns; i++) CHECK(!strcmp(p1.runs[i].config, p2.runs[i].config));
    unload(&s2, &p2);

    char *text = read_text(DIR "plan.yaml");
    CHECK(text != NULL);
    if (!text) return unload(&s1, &p1);
    static const struct {
        const char *from, *to;
        const char *differ[3];
        int ndiffer;
    } edits[] = {
        /* one variant's flag: only that variant */
        {"learning_rate: 1e-4", "learning_rate: 2e-4", {"q8"}, 1},
        /* a variant others start from: it and the runs that start from it */
        {"base: {transform: none}", "base: {transform: none, train: {warmup_steps: 5}}", {"base", "q8"}, 2},
        /* an snn flag: only the runs that convert */
        {"snn: {max_steps: 32}", "snn: {max_steps: 64}", {"q8"}, 1},
        /* a top-level train flag: every run */
        {"batch_size: 16", "batch_size: 8", {"base", "q8", "mix"}, 3},
        /* the same number written differently: nothing */
        {"learning_rate: 1e-4", "learning_rate: 0.0001", {NULL}, 0},
        /* scheduling keys are not part of a run's config */
        {"slurm: {partition: debug", "retries: 3\ntime_limit: 60\nparallel: {tp: 2}\nslurm: {partition: long", {NULL}, 0},
        /* nor the run group's shape: a sweep resumes at another parallel:, dp = 2 has dp = 1's ids */
        {"slurm: {partition: debug", "parallel: {dp: 2, tp: 2}\nslurm: {partition: debug", {NULL}, 0},
        {"slurm: {partition: debug", "parallel: {dp: 4}\nslurm: {partition: debug", {NULL}, 0},
    };
    for (size_t e = 0; e < sizeof edits / sizeof edits[0]; e++) {
        char *edited = replace(text, edits[e].from, edits[e].to);
        if (!edited) continue;
        if (parse_plan(edited, DIR "plan.yaml", &s3, &p3) == 0) {
            compare_ids(&p1, &p3, edits[e].differ, edits[e].ndiffer);
            unload(&s3, &p3);
        }
        free(edited);
    }
    /* another tool version: every id */
    sg_plan p4;
    CHECK(sg_plan_build(&s1, "spikeglue 0.2.0", &p4) == 0);
    for (int i = 0; i < p1.nruns && i < p4.nruns; i++) CHECK(strcmp(p1.runs[i].id, p4.runs[i].id) != 0);
    sg_plan_free(&p4);

    /* the transform's content, at the same path */
    const char *tmp = sg_test_tmpdir();
    char tpath[512];
    snprintf(tpath, sizeof tpath, "%s/q8.yaml", tmp ? tmp : "/tmp");
    char *q8 = read_text("configs/levels/q8.yaml");
    CHECK(tmp && q8 && sg_write_file_atomic(tpath, q8, strlen(q8)) == 0);
    char *edited = replace(text, "configs/levels/q8.yaml", tpath);
    sg_plan pa, pb;
    if (edited && q8 && parse_plan(edited, DIR "plan.yaml", &s2, &pa) == 0) {
        CHECK(s2.variants[1].level == 8);
        size_t n = strlen(q8) + 32;
        char *more = malloc(n);
        snprintf(more, n, "%s\n# a comment\n", q8);
        CHECK(sg_write_file_atomic(tpath, more, strlen(more)) == 0);
        free(more);
        if (parse_plan(edited, DIR "plan.yaml", &s3, &pb) == 0) {
            static const char *const only_q8[] = {"q8"};
            compare_ids(&pa, &pb, only_q8, 1);
            unload(&s3, &pb);
        }
        unload(&s2, &pa);
    }
    free(edited);
    free(q8);
    if (tmp) sg_remove_tree(tmp);
    free(text);
    unload(&s1, &p1);
}

/* ---- other specs ---- */

static void test_chain_and_errors(void) {
    sg_jobspec s;
    sg_plan p;
    if (load_plan(DIR "chain.yaml", &s, &p) == 0) {
        /* variants c <- b <- a, written in that order: a runs first */
        CHECK(p.nruns == 3 && p.ndeps == 2);
        CHECK(p.runs[0].dep == 1 && p.runs[1].dep == 2 && p.runs[2].dep == -1);
        CHECK(p.order[0] == 2 && p.order[1] == 1 && p.order[2] == 0);
        CHECK(p.runs[2].dependents == 2 && p.runs[1].dependents == 1 && p.runs[0].dependents == 0);
        CHECK(p.runs[2].cost == 100.0 * 4 * 400); /* max_steps x batch x base */
        char line[2048];
        argv_line(&p, 1, "B", "A/out", line, sizeof line);
        CHECK_MSG(strstr(line, "--num_train_epochs 1 --per_device_train_batch_size 4 --max_steps 100") != NULL, "%s", line);
        unload(&s, &p);
    }
    /* excluding a run another one starts from */
    CHECK(sg_jobspec_load(DIR "bad_exclude_dependency.yaml", &s) == 0);
    CHECK(sg_plan_build(&s, VERSION, &p) == -1);
    const char *msg = sg_last_error();
    CHECK_MSG(strstr(msg, DIR "bad_exclude_dependency.yaml:11: key 'exclude': removes") == msg, "%s", msg);
    CHECK_MSG(strstr(msg, "rte/42/baseline, which run rte/42/q8 starts from") != NULL, "%s", msg);
    CHECK(p.runs == NULL && p.order == NULL);
    sg_plan_free(&p);
    sg_jobspec_free(&s);
    /* a filter that leaves nothing */
    const char *none = "name: t\nmodel: builtin:tiny\ndata_dir: d\ntasks: [mrpc]\nseeds: [1]\n"
                       "variants: {a: {transform: none}}\npipeline: [eval]\nexclude: [{task: mrpc}]\n";
    CHECK(sg_jobspec_parse(none, strlen(none), "none.yaml", &s) == 0);
    CHECK(sg_plan_build(&s, VERSION, &p) == -1 && strstr(sg_last_error(), "none.yaml: include/exclude leave no runs"));
    sg_jobspec_free(&s);
    /* an empty include list selects nothing either */
    const char *empty = "name: t\nmodel: builtin:tiny\ndata_dir: d\ntasks: [mrpc]\nseeds: [1]\n"
                        "variants: {a: {transform: none}}\npipeline: [eval]\ninclude: []\n";
    CHECK(sg_jobspec_parse(empty, strlen(empty), "empty.yaml", &s) == 0);
    CHECK(sg_plan_build(&s, VERSION, &p) == -1);
    sg_jobspec_free(&s);

    CHECK(sg_plan_model_factor("builtin:tiny") == 1 && sg_plan_model_factor("builtin:small") == 16);
    CHECK(sg_plan_model_factor("FacebookAI/roberta-base") == 400 && sg_plan_model_factor("org/roberta-large-relu") == 1400);
    CHECK(sg_plan_model_factor("models/mine") == 400 && sg_plan_model_factor("TinyBERT") == 1);
}

static void test_project_jobs(void) {
    sg_jobspec s;
    sg_plan p;
    if (load_plan("jobs/demo.yaml", &s, &p) == 0) {
        CHECK(p.nruns == 24 && p.ndeps == 18 && p.ntasks == 3 && p.nseeds == 2 && p.nvariants == 4);
        for (int k = 0; k < 6; k++) CHECK(!strcmp(p.runs[p.order[k]].variant_name, "baseline"));
        /* baselines: 1600 rows x 5 epochs; quantized variants: 800 rows x 1 epoch */
        for (int i = 0; i < p.nruns; i++)
            CHECK(p.runs[i].cost == (!strcmp(p.runs[i].variant_name, "baseline") ? 1600.0 * 5 : 800.0 * 1));
        unload(&s, &p);
    }
    if (load_plan("jobs/level-ablation.yaml", &s, &p) == 0) {
        CHECK(p.nruns == 90 && p.ndeps == 75 && p.nvariants == 6);
        /* SST-2 is the largest task: its baselines come first */
        CHECK(!strcmp(p.runs[p.order[0]].task->name, "sst2") && !strcmp(p.runs[p.order[0]].variant_name, "baseline"));
        CHECK(p.runs[p.order[0]].cost == 67349.0 * 3 * 16);
        unload(&s, &p);
    }
    if (load_plan("jobs/glue-all.yaml", &s, &p) == 0) {
        CHECK(p.nruns == 54 && p.ndeps == 27 && p.ntasks == 9);
        CHECK(!strcmp(p.runs[p.order[0]].task->name, "mnli") && p.runs[p.order[0]].cost == 392702.0 * 3 * 400);
        unload(&s, &p);
    }
}

/* ---- the dry run ---- */

static void test_print(void) {
    sg_jobspec s;
    sg_plan p;
    if (load_plan(DIR "plan.yaml", &s, &p)) return;
    FILE *f = tmpfile();
    CHECK(f != NULL);
    if (!f) return unload(&s, &p);
    CHECK(sg_plan_print(&p, f) == 0);
    rewind(f);
    char line[4096];
    int n = 0, runs = 0;
    char want[512];
    while (fgets(line, sizeof line, f)) {
        n++;
        if (n == 1)
            CHECK_MSG(strstr(line, "plan plan-test: 9 runs, 3 tasks, 2 seeds, 3 variants, dp 1 x tp 1, 4 dependencies; expected cost") == line,
                      "%s", line);
        if (n == 2) CHECK_MSG(strstr(line, "variant base has no transform: convert,snn_eval dropped") != NULL, "%s", line);
        if (n == 3) CHECK_MSG(strstr(line, "2 runs marked *") != NULL, "%s", line);
        if (n >= 5) runs++;
        if (n == 5) {
            /* first: rte/2/base (largest, implied) */
            snprintf(want, sizeof want, "%s  rte         2  base*        -", p.runs[7].short_id);
            CHECK_MSG(strstr(line, want) != NULL, "%s", line);
            CHECK_MSG(strstr(line, "spikeglue run --model_name_or_path builtin:small --output_dir results/plan-test/runs/") != NULL, "%s", line);
        }
        if (n == 6) {
            snprintf(want, sizeof want, "--model_name_or_path results/plan-test/runs/%s/out --output_dir results/plan-test/runs/%s/out",
                     p.runs[7].id, p.runs[8].id);
            CHECK_MSG(strstr(line, want) != NULL, "%s", line);
            CHECK_MSG(strstr(line, p.runs[7].short_id) != NULL, "%s", line);
        }
    }
    CHECK(runs == 9);
    fclose(f);
    unload(&s, &p);
}

/* ---- the commands work: a baseline and a run that starts from it, on tiny synthetic data ---- */

static int run_binary(const char *binary, char **argv, const char *log) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *out = freopen(log, "w", stdout);
        if (!out || dup2(fileno(stdout), 2) < 0) _exit(127);
        char *args[128];
        int n = 0;
        args[n++] = (char *)binary;
        for (int i = 0; argv[i] && n < 127; i++) args[n++] = argv[i];
        args[n] = NULL;
        execv(binary, args);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_commands_run(void) {
    const char *build = getenv("SG_BUILD_DIR");
    char binary[4096];
    snprintf(binary, sizeof binary, "%s/spikeglue", build ? build : ".");
    if (access(binary, X_OK) != 0) {
        printf("note: %s not built: the commands were not executed\n", binary);
        return;
    }
    const char *tmp = sg_test_tmpdir();
    CHECK(tmp != NULL);
    if (!tmp) return;
    char data[4200];
    snprintf(data, sizeof data, "%s/data", tmp);
    sg_synth_options opt;
    sg_synth_defaults(&opt);
    opt.train_rows = 64;
    opt.dev_rows = 16;
    CHECK(sg_synth_write(data, &opt) == 0);
    char spec[8192];
    snprintf(spec, sizeof spec,
             "name: exec\nmodel: builtin:tiny\ndata_dir: %s\ntasks: [mrpc]\nseeds: [5]\n"
             "variants:\n  base: {transform: none}\n  q8: {transform: configs/levels/q8.yaml, start_from: base}\n"
             "pipeline: [finetune]\n"
             "train: {epochs: 1, batch_size: 16, max_seq_length: 64, max_train_samples: 32, max_eval_samples: 16, "
             "logging_steps: 1, lsq_calibrate_batches: 1}\n",
             data);
    sg_jobspec s;
    sg_plan p;
    if (parse_plan(spec, "exec.yaml", &s, &p) == 0) {
        char results[1024], dirs[2][1200], outs[2][1300];
        snprintf(results, sizeof results, "%s/results", tmp);
        for (int k = 0; k < 2; k++) {
            int i = p.order[k];
            CHECK(sg_plan_run_dir(&p, i, results, dirs[k], sizeof dirs[k]) == 0 && sg_mkdirs(dirs[k]) == 0);
            CHECK(sg_plan_output_dir(dirs[k], outs[k], sizeof outs[k]) == 0);
            int argc;
            char **argv;
            CHECK(sg_plan_run_argv(&p, i, dirs[k], k ? outs[0] : NULL, &argc, &argv) == 0);
            char log[4600], model[4600];
            snprintf(log, sizeof log, "%s/log.txt", dirs[k]);
            int rc = run_binary(binary, argv, log);
            sg_plan_argv_free(argc, argv);
            CHECK_MSG(rc == 0, "run %s/%s exited %d; see %s", p.runs[i].task->name, p.runs[i].variant_name, rc, log);
            snprintf(model, sizeof model, "%s/model.safetensors", outs[k]);
            CHECK_MSG(sg_is_file(model), "%s missing", model);
            if (rc != 0) {
                char *text = read_text(log);
                if (text) fprintf(stderr, "%s\n", text);
                free(text);
            }
        }
        unload(&s, &p);
    }
    sg_remove_tree(tmp);
}

/* parallel: {dp: D}: the spec's batch is global, each replica gets batch / D rows; --dp / --tp last */
static void test_parallel_argv(void) {
    static const char *const spec =
        "name: par\nmodel: builtin:tiny\ndata_dir: d\ntasks: [mrpc]\nseeds: [1]\n"
        "variants:\n  base: {transform: none}\n  big: {transform: none, train: {batch_size: 12}}\n"
        "  ev: {transform: none, pipeline: [eval]}\n"
        "pipeline: [finetune]\n";
    char text[1024], line[4096];
    sg_jobspec s;
    sg_plan p;
    /* no batch_size: the run's default 8 split over 2; a variant's own 12 over 2 */
    snprintf(text, sizeof text, "%sparallel: {dp: 2, tp: 3}\n", spec);
    if (parse_plan(text, "par.yaml", &s, &p) == 0) {
        argv_line(&p, 0, "R", NULL, line, sizeof line);
        CHECK_MSG(strstr(line, "--save_total_limit 1 --per_device_train_batch_size 4 --dp 2 --tp 3") != NULL, "%s", line);
        argv_line(&p, 1, "R", NULL, line, sizeof line);
        CHECK_MSG(strstr(line, "--per_device_train_batch_size 6 --dp 2 --tp 3") != NULL, "%s", line);
        argv_line(&p, 2, "R", NULL, line, sizeof line); /* eval only: sharded, no training batch */
        CHECK_MSG(strstr(line, "--do_eval --dp 2 --tp 3") != NULL && !strstr(line, "train_batch"), "%s", line);
        unload(&s, &p);
    }
    /* dp = 1: the vector of a sweep without parallel: */
    snprintf(text, sizeof text, "%strain: {batch_size: 16}\n", spec);
    if (parse_plan(text, "par.yaml", &s, &p) == 0) {
        argv_line(&p, 0, "R", NULL, line, sizeof line);
        CHECK_MSG(strstr(line, "--per_device_train_batch_size 16") != NULL && !strstr(line, "--dp") && !strstr(line, "--tp"), "%s", line);
        unload(&s, &p);
    }
}

/* ---- the pretrain stage ---- */

/* The id of a spec without pretrain, from the documented canonical config written out here by
 * hand: adding the pretrain stage must not move the ids of existing specs. */
static void test_ids_without_pretrain(void) {
    static const char *const text = "name: t\nmodel: builtin:tiny\ndata_dir: /d\ntasks: [mrpc]\nseeds: [1]\n"
                                    "variants:\n  base: {transform: none}\npipeline: [finetune]\n";
    static const char *const config =
        "{\"data_dir\":\"/d\",\"flags\":{\"--data_dir\":\"/d\",\"--do_eval\":true,\"--do_train\":true,\"--eval_strategy\":\"epoch\","
        "\"--overwrite_output_dir\":true,\"--save_strategy\":\"epoch\",\"--save_total_limit\":\"1\",\"--seed\":\"1\","
        "\"--task_name\":\"mrpc\"},\"model\":\"builtin:tiny\",\"pipeline\":[\"finetune\"],\"seed\":1,\"start_from\":null,"
        "\"task\":\"mrpc\",\"tool\":\"" VERSION "\",\"transform\":null,\"variant\":\"base\"}";
    sg_jobspec s;
    sg_plan p;
    if (parse_plan(text, "t.yaml", &s, &p)) return;
    sg_sha256 h;
    uint8_t digest[32];
    char hex[65];
    sg_sha256_init(&h);
    sg_sha256_update(&h, config, strlen(config));
    sg_sha256_final(&h, digest);
    sg_sha256_hex(digest, hex);
    CHECK(p.nruns == 1 && p.npretrain == 0 && p.runs[0].dep == -1);
    CHECK_MSG(!strcmp(p.runs[0].config, config), "%s", p.runs[0].config);
    CHECK_MSG(!strncmp(p.runs[0].id, hex, 16), "id %s, expected %.16s", p.runs[0].id, hex);
    unload(&s, &p);
}

#define PT_SPEC                                                                                                     \
    "name: pt\nmodel: builtin:tiny\ndata_dir: d\ntasks: [mrpc, sst2]\nseeds: [1, 2]\n"                              \
    "variants:\n  base: {transform: none}\n  q8: {transform: configs/levels/q8.yaml, start_from: base}\n"         \
    "  scratch: {transform: none, pretrain: false}\n"

static void test_pretrain_plan(void) {
    static const char *const text = PT_SPEC "pipeline: [pretrain, finetune, convert, snn_eval]\n"
                                            "pretrain: {glue_dir: g, max_steps: 10, batch_size: 16, hidden_act: relu}\n";
    sg_jobspec s;
    sg_plan p;
    if (parse_plan(text, "pt.yaml", &s, &p)) return;
    /* one pretrain run for the one model, first; 2 tasks x 2 seeds x 3 variants after it */
    CHECK(p.nruns == 13 && p.npretrain == 1 && p.ntasks == 2 && p.nseeds == 2 && p.nvariants == 3);
    const sg_plan_run *pt = &p.runs[0];
    CHECK(pt->pretrain && !strcmp(pt->task->name, "mlm") && !strcmp(pt->variant_name, "pretrain") && pt->seed == 42);
    CHECK(pt->dep == -1 && pt->stages == SG_STAGE_PRETRAIN && pt->dependents == 8); /* 4 base + the 4 q8 after them */
    int pos_pt = -1;
    for (int k = 0; k < p.nruns; k++)
        if (p.order[k] == 0) pos_pt = k;
    for (int i = 1; i < p.nruns; i++) {
        const sg_plan_run *r = &p.runs[i];
        CHECK(!r->pretrain);
        if (!strcmp(r->variant_name, "base")) CHECK(r->dep == 0);
        if (!strcmp(r->variant_name, "scratch")) CHECK(r->dep == -1);
        if (!strcmp(r->variant_name, "q8")) CHECK(r->dep == find_run(&p, r->task->name, r->seed, "base"));
        /* a run that starts from the pretrain run names it in its config, and runs after it */
        cJSON *c = cJSON_Parse(r->config);
        const cJSON *sf = cJSON_GetObjectItemCaseSensitive(c, "start_from");
        CHECK(r->dep == 0 ? cJSON_IsString(sf) && !strcmp(sf->valuestring, pt->id) : 1);
        cJSON_Delete(c);
        for (int k = 0; k < p.nruns && r->dep == 0; k++)
            if (p.order[k] == i) CHECK(k > pos_pt);
    }
    /* its config: kind, model, the text made absolute, its flags */
    cJSON *c = cJSON_Parse(pt->config);
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(c, "kind"), *text_dirs = cJSON_GetObjectItemCaseSensitive(c, "text");
    const cJSON *glue = cJSON_GetObjectItemCaseSensitive(text_dirs, "glue_dir");
    CHECK(cJSON_IsString(kind) && !strcmp(kind->valuestring, "pretrain"));
    CHECK(cJSON_IsString(glue) && glue->valuestring[0] == '/' && strstr(glue->valuestring, "/g"));
    cJSON_Delete(c);
    /* its command, and the command of a run that starts from it */
    char line[4096];
    argv_line(&p, 0, "R", NULL, line, sizeof line);
    CHECK_MSG(!strcmp(line, "pretrain --model_name_or_path builtin:tiny --output_dir R/out --overwrite_output_dir --do_train "
                            "--do_eval --seed 42 --glue_dir g --hidden_act relu --max_steps 10 --per_device_train_batch_size 16 "
                            "--save_strategy epoch --save_total_limit 1"), "%s", line);
    int base = find_run(&p, "mrpc", 1, "base");
    argv_line(&p, base, "B", NULL, line, sizeof line);
    CHECK_MSG(strstr(line, "ERROR") && strstr(line, "starts from run"), "%s", line);
    argv_line(&p, base, "B", "P/out", line, sizeof line);
    CHECK_MSG(!strncmp(line, "run --model_name_or_path P/out --output_dir B/out --task_name mrpc", 66), "%s", line);
    cJSON *j = sg_plan_to_json(&p);
    const cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "runs"), pos_pt);
    CHECK(!strcmp(cJSON_GetObjectItemCaseSensitive(first, "kind")->valuestring, "pretrain"));
    cJSON_Delete(j);

    /* ids: a pretrain setting moves the pretrain run and the runs that start from it, not scratch;
     * scratch has the id it has in the same spec without the pretrain stage */
    sg_jobspec s2;
    sg_plan p2;
    static const char *const steps20 = PT_SPEC "pipeline: [pretrain, finetune, convert, snn_eval]\n"
                                               "pretrain: {glue_dir: g, max_steps: 20, batch_size: 16, hidden_act: relu}\n";
    if (parse_plan(steps20, "pt.yaml", &s2, &p2) == 0) {
        CHECK(strcmp(p.runs[0].id, p2.runs[0].id) != 0);
        static const char *const moved[] = {"base", "q8", "pretrain"};
        compare_ids(&p, &p2, moved, 3);
        unload(&s2, &p2);
    }
    static const char *const none = "name: pt\nmodel: builtin:tiny\ndata_dir: d\ntasks: [mrpc, sst2]\nseeds: [1, 2]\n"
                                    "variants:\n  scratch: {transform: none}\npipeline: [finetune, convert, snn_eval]\n";
    if (parse_plan(none, "pt.yaml", &s2, &p2) == 0) {
        for (int i = 0; i < p2.nruns; i++) {
            int k = find_run(&p, p2.runs[i].task->name, p2.runs[i].seed, "scratch");
            CHECK(k >= 0 && !strcmp(p.runs[k].id, p2.runs[i].id));
        }
        unload(&s2, &p2);
    }
    /* a model per task: a pretrain run per model; dp splits its batch */
    static const char *const two = PT_SPEC "pipeline: [pretrain, finetune]\nmodel_overrides: {sst2: builtin:small}\n"
                                           "pretrain: {glue_dir: g, batch_size: 16}\nparallel: {dp: 2}\ntrain: {batch_size: 8}\n";
    if (parse_plan(two, "pt.yaml", &s2, &p2) == 0) {
        CHECK(p2.npretrain == 2 && p2.runs[0].pretrain && p2.runs[1].pretrain);
        CHECK(!strcmp(p2.runs[0].model, "builtin:tiny") && !strcmp(p2.runs[1].model, "builtin:small"));
        CHECK(p2.runs[find_run(&p2, "sst2", 2, "base")].dep == 1 && p2.runs[find_run(&p2, "mrpc", 2, "base")].dep == 0);
        argv_line(&p2, 1, "R", NULL, line, sizeof line);
        CHECK_MSG(strstr(line, "--per_device_train_batch_size 8 --save_strategy epoch --save_total_limit 1 --dp 2") != NULL, "%s", line);
        unload(&s2, &p2);
    }
    /* only scratch runs selected: no pretrain run */
    static const char *const only = PT_SPEC "pipeline: [pretrain, finetune]\npretrain: {glue_dir: g}\ninclude: [{variant: scratch}]\n";
    if (parse_plan(only, "pt.yaml", &s2, &p2) == 0) {
        CHECK(p2.npretrain == 0 && p2.nruns == 4);
        unload(&s2, &p2);
    }
    unload(&s, &p);
}

/* tokenizer: DIR reaches every run, the pretrain run and the runs from the plain (builtin) model
 * alike, as --tokenizer_name; it is part of their ids; a spec without it keeps its ids. */
static void test_tokenizer_plan(void) {
    char dir[] = "/tmp/sg_plan_tok_XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK_MSG(0, "mkdtemp failed");
        return;
    }
    char vocab[64], merges[64];
    snprintf(vocab, sizeof vocab, "%s/vocab.json", dir);
    snprintf(merges, sizeof merges, "%s/merges.txt", dir);
    CHECK(sg_write_file_atomic(vocab, "{}", 2) == 0 && sg_write_file_atomic(merges, "", 0) == 0);
    char text[1200], plain_text[1024];
    snprintf(plain_text, sizeof plain_text, PT_SPEC "pipeline: [pretrain, finetune, convert, snn_eval]\npretrain: {glue_dir: g}\n");
    snprintf(text, sizeof text, "%stokenizer: %s\n", plain_text, dir);
    sg_jobspec s, s2;
    sg_plan p, p2;
    if (parse_plan(text, "tok.yaml", &s, &p) == 0) {
        char line[4096], flag[128], base_dir[128];
        snprintf(flag, sizeof flag, " --tokenizer_name %s ", dir);
        CHECK(p.npretrain == 1 && s.tokenizer && !strcmp(s.tokenizer, dir));
        for (int i = 0; i < p.nruns; i++) {
            snprintf(base_dir, sizeof base_dir, "D%d/out", p.runs[i].dep);
            argv_line(&p, i, "R", p.runs[i].dep >= 0 ? base_dir : NULL, line, sizeof line);
            CHECK_MSG(strstr(line, flag) != NULL, "run %d (%s): %s", i, p.runs[i].variant_name, line);
            CHECK_MSG(strstr(p.runs[i].config, "\"--tokenizer_name\"") != NULL, "%s", p.runs[i].config);
        }
        if (parse_plan(plain_text, "tok.yaml", &s2, &p2) == 0) {
            CHECK(p2.nruns == p.nruns && !s2.tokenizer);
            for (int i = 0; i < p.nruns; i++) {
                CHECK(strcmp(p.runs[i].id, p2.runs[i].id) != 0); /* another vocabulary, another run */
                argv_line(&p2, i, "R", p2.runs[i].dep >= 0 ? "D/out" : NULL, line, sizeof line);
                CHECK_MSG(!strstr(line, "--tokenizer_name"), "%s", line);
            }
            unload(&s2, &p2);
        }
        unload(&s, &p);
    }
    remove(vocab);
    remove(merges);
    rmdir(dir);
}

int main(void) {
    const char *src = getenv("SG_SOURCE_DIR");
    if (src && chdir(src) != 0) sg_test_skip("cannot enter SG_SOURCE_DIR");
    if (access(DIR "plan.yaml", R_OK) != 0) sg_test_skip("tests/data/jobs not found (run from the source dir or set SG_SOURCE_DIR)");
    test_expansion();
    test_ids();
    test_chain_and_errors();
    test_project_jobs();
    test_print();
    test_commands_run();
    test_parallel_argv();
    test_ids_without_pretrain();
    test_pretrain_plan();
    test_tokenizer_plan();
    return sg_test_done();
}
