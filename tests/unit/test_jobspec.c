/* Sweep job specs: every fixture parses or fails with a message naming file:line and the key. */
#include "testlib.h"

#include "core/error.h"
#include "hub/fetch.h"
#include "sched/jobspec.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIR "tests/data/jobs/"

/* Loads a bad fixture and checks the message: "<file>:<line>: " first, then each fragment. */
static void expect_error(const char *file, int line, const char *key, const char *detail) {
    char path[256], prefix[300];
    snprintf(path, sizeof path, DIR "%s", file);
    snprintf(prefix, sizeof prefix, "%s:%d: ", path, line);
    sg_jobspec s;
    int rc = sg_jobspec_load(path, &s);
    const char *msg = sg_last_error();
    CHECK_MSG(rc == -1, "%s loaded", file);
    CHECK_MSG(strncmp(msg, prefix, strlen(prefix)) == 0, "%s: expected '%s...', got: %s", file, prefix, msg);
    CHECK_MSG(!key || strstr(msg, key), "%s: no '%s' in: %s", file, key, msg);
    CHECK_MSG(!detail || strstr(msg, detail), "%s: no '%s' in: %s", file, detail, msg);
    CHECK(s.variants == NULL && s.tasks == NULL && s.name == NULL); /* nothing left to free */
    sg_jobspec_free(&s);
}

/* The same for an in-memory spec. */
static void expect_parse_error(const char *text, int line, const char *fragment) {
    sg_jobspec s;
    int rc = sg_jobspec_parse(text, strlen(text), "mem.yaml", &s);
    char prefix[64];
    snprintf(prefix, sizeof prefix, "mem.yaml:%d: ", line);
    const char *msg = sg_last_error();
    CHECK_MSG(rc == -1, "parsed: %s", text);
    CHECK_MSG(line == 0 || strncmp(msg, prefix, strlen(prefix)) == 0, "expected '%s...', got: %s", prefix, msg);
    CHECK_MSG(strstr(msg, fragment) != NULL, "no '%s' in: %s", fragment, msg);
    sg_jobspec_free(&s);
}

#define HEAD "name: t\nmodel: builtin:tiny\ndata_dir: d\ntasks: [mrpc]\nseeds: [1]\n" /* lines 1-5 */

static void test_plan_fixture(void) {
    sg_jobspec s;
    int rc = sg_jobspec_load(DIR "plan.yaml", &s);
    CHECK_MSG(rc == 0, "%s", sg_last_error());
    if (rc) return;
    CHECK(!strcmp(s.name, "plan-test") && !strcmp(s.model, "builtin:tiny") && !strcmp(s.data_dir, "data/glue"));
    CHECK(s.ntasks == 3 && !strcmp(s.tasks[0]->name, "mrpc") && !strcmp(s.tasks[1]->name, "stsb") &&
          !strcmp(s.tasks[2]->name, "rte"));
    CHECK(s.nseeds == 2 && s.seeds[0] == 1 && s.seeds[1] == 2);
    CHECK(s.nvariants == 3);
    CHECK(s.pipeline == (SG_STAGE_FINETUNE | SG_STAGE_CONVERT | SG_STAGE_SNN_EVAL));
    CHECK(s.tp == 1 && s.dp == 1 && s.retries == 0 && s.time_limit == 0 && !s.synth_data);
    const sg_job_variant *base = &s.variants[0], *q8 = &s.variants[1], *mix = &s.variants[2];
    CHECK(!strcmp(base->name, "base") && base->transform == NULL && base->level == 0 && base->start_from == -1);
    CHECK(base->pipeline == SG_STAGE_FINETUNE && base->dropped == (SG_STAGE_CONVERT | SG_STAGE_SNN_EVAL));
    CHECK(!strcmp(q8->name, "q8") && !strcmp(q8->transform, "configs/levels/q8.yaml") && q8->level == 8);
    CHECK(q8->start_from == 0 && q8->dropped == 0 && q8->pipeline == s.pipeline);
    char hex[65];
    CHECK(sg_sha256_file("configs/levels/q8.yaml", hex) == 0 && !strcmp(hex, q8->transform_sha256));
    CHECK(!strcmp(mix->name, "mix") && mix->level == 0 && mix->pipeline == SG_STAGE_EVAL && mix->start_from == -1);
    /* flags: the variant's override on top of the top-level ones */
    int lr = -1, ep = -1, snn = -1;
    for (int k = 0; k < SG_JOB_NFLAGS; k++) {
        if (!strcmp(sg_job_flag_keys[k].key, "learning_rate")) lr = k;
        if (!strcmp(sg_job_flag_keys[k].key, "epochs")) ep = k;
        if (!strcmp(sg_job_flag_keys[k].section, "snn")) snn = k;
    }
    CHECK((q8->flags.set >> lr & 1) && q8->flags.value[lr] == 1e-4 && !(base->flags.set >> lr & 1));
    CHECK((base->flags.set >> ep & 1) && base->flags.value[ep] == 2 && q8->flags.value[ep] == 2);
    CHECK((mix->flags.set >> snn & 1) && mix->flags.value[snn] == 32);
    CHECK(s.has_include && s.ninclude == 2 && s.include[0].task && !strcmp(s.include[0].task->name, "mrpc") &&
          s.include[0].variant == -1 && !s.include[0].has_seed);
    CHECK(s.include[1].task == NULL && s.include[1].variant == 1 && s.include[1].has_seed && s.include[1].seed == 2);
    CHECK(s.nexclude == 1 && s.exclude[0].variant == 2 && s.exclude[0].seed == 2 && s.exclude[0].line == 19);
    CHECK(s.nmodel_overrides == 1 && !strcmp(s.model_overrides[0].task->name, "rte"));
    char model[128];
    CHECK(sg_jobspec_task_model(&s, s.tasks[2], model, sizeof model) == 0 && !strcmp(model, "builtin:small"));
    CHECK(sg_jobspec_task_model(&s, s.tasks[0], model, sizeof model) == 0 && !strcmp(model, "builtin:tiny"));
    /* slurm: kept as JSON, typed */
    CHECK(cJSON_IsObject(s.slurm));
    const cJSON *part = cJSON_GetObjectItemCaseSensitive(s.slurm, "partition"),
                *nodes = cJSON_GetObjectItemCaseSensitive(s.slurm, "nodes"),
                *excl = cJSON_GetObjectItemCaseSensitive(s.slurm, "exclusive"),
                *time = cJSON_GetObjectItemCaseSensitive(s.slurm, "time");
    CHECK(cJSON_IsString(part) && !strcmp(part->valuestring, "debug"));
    CHECK(cJSON_IsNumber(nodes) && nodes->valuedouble == 2);
    CHECK(cJSON_IsTrue(excl));
    CHECK(cJSON_IsString(time) && !strcmp(time->valuestring, "01:00:00"));
    CHECK(sg_jobspec_variant_find(&s, "mix") == 2 && sg_jobspec_variant_find(&s, "nope") == -1);
    sg_jobspec_free(&s);
    sg_jobspec_free(&s); /* twice is safe */
}

static void test_small_fixtures(void) {
    sg_jobspec s;
    int rc = sg_jobspec_load(DIR "minimal.yaml", &s);
    CHECK_MSG(rc == 0, "%s", sg_last_error());
    if (rc == 0) {
        char model[128];
        CHECK(s.ntasks == 1 && !strcmp(s.tasks[0]->name, "sst2"));
        CHECK(sg_jobspec_task_model(&s, s.tasks[0], model, sizeof model) == 0 && !strcmp(model, "org/roberta-relu-sst2"));
        CHECK(sg_jobspec_task_model(&s, s.tasks[0], model, 8) == -1); /* does not fit */
        CHECK(s.pipeline == (SG_STAGE_EVAL | SG_STAGE_PREDICT) && s.flags.set == 0 && s.slurm == NULL && !s.has_include);
        sg_jobspec_free(&s);
    }
    rc = sg_jobspec_load(DIR "chain.yaml", &s);
    CHECK_MSG(rc == 0, "%s", sg_last_error());
    if (rc == 0) {
        CHECK(s.nvariants == 3 && s.variants[0].start_from == 1 && s.variants[1].start_from == 2 && s.variants[2].start_from == -1);
        CHECK(s.variants[0].level == 16 && s.variants[1].level == 32);
        sg_jobspec_free(&s);
    }
    /* convert without a transform: dropped for that variant, recorded, not an error */
    rc = sg_jobspec_load(DIR "convert_baseline.yaml", &s);
    CHECK_MSG(rc == 0, "%s", sg_last_error());
    if (rc == 0) {
        CHECK(s.variants[0].pipeline == SG_STAGE_FINETUNE);
        CHECK(s.variants[0].dropped == (SG_STAGE_CONVERT | SG_STAGE_SNN_EVAL));
        CHECK(s.variants[1].pipeline == (SG_STAGE_FINETUNE | SG_STAGE_CONVERT | SG_STAGE_SNN_EVAL) && s.variants[1].dropped == 0);
        CHECK(s.variants[1].level == 4);
        char buf[64];
        CHECK(!strcmp(sg_stages_format(s.variants[0].dropped, buf, sizeof buf), "convert,snn_eval"));
        sg_jobspec_free(&s);
    }
}

static void test_project_jobs(void) {
    sg_jobspec s;
    int rc = sg_jobspec_load("jobs/demo.yaml", &s);
    CHECK_MSG(rc == 0, "%s", sg_last_error());
    if (rc == 0) {
        CHECK(s.synth_data && s.ntasks == 3 && s.nseeds == 2 && s.nvariants == 4 && !strcmp(s.model, "builtin:tiny"));
        CHECK(s.variants[1].level == 8 && s.variants[2].level == 16 && s.variants[3].level == 32);
        for (int v = 1; v < 4; v++) CHECK(s.variants[v].start_from == 0);
        sg_jobspec_free(&s);
    }
    rc = sg_jobspec_load("jobs/level-ablation.yaml", &s);
    CHECK_MSG(rc == 0, "%s", sg_last_error());
    if (rc == 0) {
        CHECK(s.ntasks == 5 && s.nseeds == 3 && s.nvariants == 6 && !strcmp(s.data_dir, "../shared/glue"));
        CHECK(s.variants[4].level == 32); /* configs/transform_cfg.yaml: level 32 everywhere */
        sg_jobspec_free(&s);
    }
    rc = sg_jobspec_load("jobs/glue-all.yaml", &s);
    CHECK_MSG(rc == 0, "%s", sg_last_error());
    if (rc == 0) {
        CHECK(s.ntasks == 9 && s.nseeds == 3 && s.nvariants == 2 && s.retries == 2 && cJSON_IsObject(s.slurm));
        sg_jobspec_free(&s);
    }
    /* the ReLU-fication demo names ../shared's tokenizer, which a bare clone does not have */
    if (access("../shared/tokenizer/roberta-base/vocab.json", R_OK) == 0) {
        rc = sg_jobspec_load("jobs/relufy-demo.yaml", &s);
        CHECK_MSG(rc == 0, "%s", sg_last_error());
        if (rc == 0) {
            CHECK(s.tokenizer && (s.pipeline & SG_STAGE_PRETRAIN) && s.nvariants == 4 && !s.variants[2].pretrain);
            sg_jobspec_free(&s);
        }
    } else {
        printf("note: ../shared/tokenizer/roberta-base absent: jobs/relufy-demo.yaml not loaded\n");
    }
}

static void test_bad_fixtures(void) {
    expect_error("bad_unknown_key.yaml", 5, "key 'sedes'", "unknown key (expected name, model,");
    expect_error("bad_train_key.yaml", 10, "key 'variants.q8.train.lr'", "unknown key (expected epochs, batch_size");
    expect_error("bad_task.yaml", 6, "key 'tasks'", "mrcp");
    expect_error("bad_seed_type.yaml", 5, "key 'seeds[1]'", "'forty-three'");
    expect_error("bad_duplicate_variant.yaml", 9, "key 'variants.q8'", "duplicate variant (first at line 7)");
    char cwd[4096], tried[4200];
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    snprintf(tried, sizeof tried, "tried %s/configs/levels/q7.yaml", cwd);
    expect_error("bad_missing_transform.yaml", 8, "key 'variants.q7.transform'", "no such file 'configs/levels/q7.yaml'");
    expect_error("bad_missing_transform.yaml", 8, "key 'variants.q7.transform'", tried);
    expect_error("bad_cycle.yaml", 8, "key 'variants.a.start_from'", "cycle a -> b -> a");
    expect_error("bad_unknown_start_from.yaml", 8, "key 'variants.q8.start_from'", "unknown variant 'basline' (variants: baseline, q8)");
    expect_error("bad_snn_eval_without_convert.yaml", 8, "key 'pipeline'", "snn_eval needs convert");
    expect_error("bad_baseline_only_convert.yaml", 7, "key 'variants.baseline'", "convert and snn_eval need a transform");
    expect_error("bad_yaml.yaml", 5, NULL, "YAML syntax error");
    expect_error("bad_include_variant.yaml", 10, "key 'include[0].variant'", "unknown variant 'q8'");
    expect_error("bad_start_from_no_finetune.yaml", 8, "key 'variants.q8.start_from'", "'baseline' does not fine-tune");
    /* a missing file names itself */
    sg_jobspec s;
    CHECK(sg_jobspec_load(DIR "no_such_spec.yaml", &s) == -1 && strstr(sg_last_error(), "no_such_spec.yaml"));
}

static void test_parse_errors(void) {
    expect_parse_error(HEAD "variants: {a: {transform: none}}\n", 1, "missing key 'pipeline'");
    expect_parse_error("", 0, "empty job spec");
    expect_parse_error("- a\n- b\n", 1, "expected a mapping");
    expect_parse_error(HEAD "variants: {a: &x {transform: none}}\npipeline: [eval]\n", 6, "anchors");
    expect_parse_error(HEAD "variants: {a: {}}\npipeline: [eval]\n", 6, "missing key 'transform'");
    expect_parse_error(HEAD "variants: {a: {transform: none}}\npipeline: [eval, train]\n", 7, "unknown stage 'train'");
    expect_parse_error(HEAD "variants: {a: {transform: none}}\npipeline: [eval, eval]\n", 7, "listed twice");
    expect_parse_error(HEAD "variants: {a: {transform: none}}\npipeline: [eval]\ntrain: {epochs: -1}\n", 8,
                       "key 'train.epochs': expected a number");
    expect_parse_error(HEAD "variants: {a: {transform: none}}\npipeline: [eval]\ntrain: {batch_size: 2.5}\n", 8,
                       "key 'train.batch_size': expected an integer");
    expect_parse_error(HEAD "variants: {a: {transform: none}}\npipeline: [eval]\nexclude: [{}]\n", 8, "empty entry");
    expect_parse_error(HEAD "variants: {a: {transform: none}}\npipeline: [eval]\nexclude: [{seed: 3}]\n", 8,
                       "seed 3 is not in seeds");
    expect_parse_error(HEAD "variants: {a: {transform: none}}\npipeline: [eval]\nparallel: {tp: 0}\n", 8, "key 'parallel.tp'");
    expect_parse_error(HEAD "variants: {a: {transform: none}}\npipeline: [eval]\nparallel: {dp: 0}\n", 8, "key 'parallel.dp'");
    expect_parse_error(HEAD "variants: {a: {transform: none}}\npipeline: [eval]\nparallel: {pp: 2}\n", 8,
                       "key 'parallel.pp': unknown key (expected dp, tp)");
    /* dp must divide each fine-tuning variant's global batch: top-level, the variant's own, the default 8 */
    expect_parse_error(HEAD "variants: {a: {transform: none}}\npipeline: [finetune]\ntrain: {batch_size: 6}\nparallel: {dp: 4}\n", 8,
                       "key 'train.batch_size': 6 rows cannot be split over parallel.dp = 4 replicas");
    expect_parse_error(HEAD "variants:\n  a: {transform: none}\n  b: {transform: none, train: {batch_size: 10}}\n"
                            "pipeline: [finetune]\ntrain: {batch_size: 8}\nparallel: {dp: 4}\n", 8,
                       "key 'variants.b.train.batch_size': 10 rows cannot be split over parallel.dp = 4 replicas");
    expect_parse_error(HEAD "variants: {a: {transform: none}}\npipeline: [finetune]\nparallel:\n  tp: 2\n  dp: 3\n", 10,
                       "key 'parallel.dp': 3 replicas cannot split the default batch of 8 rows");
    expect_parse_error(HEAD "variants: {a: {transform: none}}\npipeline: [eval]\nsynth_data: true\ntasks2: 1\n", 9,
                       "key 'tasks2': unknown key");
    expect_parse_error(HEAD "variants: {'a b': {transform: none}}\npipeline: [eval]\n", 6, "variant names are");
    expect_parse_error(HEAD "variants: {a: {transform: none}}\npipeline: [eval]\nmodel_overrides: {rte: x}\n", 8,
                       "task 'rte' is not in tasks");
    expect_parse_error(HEAD "variants: {a: {transform: none}}\npipeline: [eval]\nslurm: [1]\n", 8, "key 'slurm': expected a mapping");
#define TAIL "variants: {a: {transform: none}}\npipeline: [eval]\n"
    expect_parse_error("name: t\nmodel: builtin:tiny\ndata_dir: d\ntasks: [sst2, SST-2]\nseeds: [1]\n" TAIL, 4,
                       "'SST-2' is sst2, already listed at line 4");
    expect_parse_error("name: t\nmodel: org/m-{seed}\ndata_dir: d\ntasks: [rte]\nseeds: [1]\n" TAIL, 2, "unknown placeholder");
    expect_parse_error("name: ../x\nmodel: m\ndata_dir: d\ntasks: [rte]\nseeds: [1]\n" TAIL, 1, "not a folder name");
    expect_parse_error("name: t\nmodel: m\ndata_dir: d\ntasks: [rte]\nseeds: [1]\nsynth_data: true\n" TAIL, 6,
                       "task rte has no synthetic data");
    expect_parse_error("name: t\nname: u\n", 2, "key 'name': duplicate key (first at line 1)");
    expect_parse_error("a: 1\n---\nb: 2\n", 2, "more than one YAML document");
}

/* The pretrain stage: its section, the variants that start from it, and every refusal. */
#define PT_HEAD HEAD "variants:\n  base: {transform: none}\n" /* lines 6-7 */
static void test_pretrain(void) {
    static const char *const ok =
        HEAD "variants:\n  base: {transform: none}\n  q8: {transform: configs/levels/q8.yaml, start_from: base}\n"
        "  scratch: {transform: none, pretrain: false}\n  again: {transform: none, pretrain: true}\n"
        "pipeline: [pretrain, finetune, convert, snn_eval]\n"
        "pretrain: {glue_dir: g, max_steps: 10, batch_size: 16, hidden_act: relu, mlm_probability: 0.2, line_by_line: true, "
        "learning_rate: 5e-4, seed: 7}\n";
    sg_jobspec s;
    int rc = sg_jobspec_parse(ok, strlen(ok), "mem.yaml", &s);
    CHECK_MSG(rc == 0, "%s", sg_last_error());
    if (rc == 0) {
        CHECK(s.pipeline == (SG_STAGE_PRETRAIN | SG_STAGE_FINETUNE | SG_STAGE_CONVERT | SG_STAGE_SNN_EVAL));
        CHECK(s.pretrain.line == 12);
        CHECK(!strcmp(sg_jobspec_pretrain_value(&s, "glue_dir"), "g") && !strcmp(sg_jobspec_pretrain_value(&s, "max_steps"), "10"));
        CHECK(!strcmp(sg_jobspec_pretrain_value(&s, "learning_rate"), "0.0005") && !strcmp(sg_jobspec_pretrain_value(&s, "seed"), "7"));
        CHECK(!strcmp(sg_jobspec_pretrain_value(&s, "line_by_line"), "true") && !sg_jobspec_pretrain_value(&s, "train_file"));
        /* variants: pretrained unless they start from another or say false; no pretrain stage of their own */
        CHECK(s.variants[0].pretrain && !s.variants[1].pretrain && !s.variants[2].pretrain && s.variants[3].pretrain);
        for (int v = 0; v < 4; v++) CHECK(!(s.variants[v].pipeline & SG_STAGE_PRETRAIN));
        char buf[128];
        CHECK(!strcmp(sg_stages_format(s.pipeline, buf, sizeof buf), "pretrain,finetune,convert,snn_eval"));
        sg_jobspec_free(&s);
    }
    /* without the stage nothing is pretrained */
    static const char *const plain = PT_HEAD "pipeline: [finetune]\n";
    rc = sg_jobspec_parse(plain, strlen(plain), "mem.yaml", &s);
    CHECK(rc == 0 && !s.variants[0].pretrain && s.pretrain.line == 0);
    sg_jobspec_free(&s);

    expect_parse_error(PT_HEAD "pipeline: [finetune, pretrain]\npretrain: {glue_dir: g}\n", 8, "pretrain comes first");
    expect_parse_error(PT_HEAD "pipeline: [pretrain]\npretrain: {glue_dir: g}\n", 8, "no stages after pretrain");
    expect_parse_error(PT_HEAD "pipeline: [pretrain, finetune]\n", 8, "key 'pipeline': the pretrain stage needs a pretrain: section");
    expect_parse_error(PT_HEAD "pipeline: [finetune]\npretrain: {glue_dir: g}\n", 9, "key 'pretrain': settings for a stage the pipeline does not have");
    expect_parse_error(PT_HEAD "pipeline: [pretrain, finetune]\npretrain:\n  glue_dir: g\n  lr: 1e-4\n", 11,
                       "key 'pretrain.lr': unknown key (expected glue_dir, train_file,");
    expect_parse_error(PT_HEAD "pipeline: [pretrain, finetune]\npretrain:\n  glue_dir: g\n  glue_dir: h\n", 11,
                       "key 'pretrain.glue_dir': duplicate key (first at line 10)");
    expect_parse_error(PT_HEAD "pipeline: [pretrain, finetune]\npretrain: {max_steps: 5}\n", 9, "key 'pretrain': give one of glue_dir");
    expect_parse_error(PT_HEAD "pipeline: [pretrain, finetune]\npretrain: {glue_dir: g, train_file: configs/levels/q8.yaml}\n", 9,
                       "give only one of glue_dir");
    expect_parse_error(PT_HEAD "pipeline: [pretrain, finetune]\npretrain:\n  train_file: no/such/text.txt\n", 10,
                       "key 'pretrain.train_file': no such file 'no/such/text.txt'");
    expect_parse_error(PT_HEAD "pipeline: [pretrain, finetune]\npretrain:\n  glue_dir: g\n  hidden_act: swish\n", 11,
                       "key 'pretrain.hidden_act': expected relu or gelu, not 'swish'");
    expect_parse_error(PT_HEAD "pipeline: [pretrain, finetune]\npretrain:\n  glue_dir: g\n  max_steps: 1.5\n", 11,
                       "key 'pretrain.max_steps': expected an integer");
    expect_parse_error(PT_HEAD "pipeline: [pretrain, finetune]\npretrain:\n  glue_dir: g\n  mlm_probability: 2\n", 11,
                       "key 'pretrain.mlm_probability': expected a number in 1e-06..1, not '2'");
    expect_parse_error(PT_HEAD "pipeline: [pretrain, finetune]\npretrain: {glue_dir: g}\nparallel: {tp: 2}\n", 9,
                       "does not run tensor-parallel");
    expect_parse_error(PT_HEAD "pipeline: [pretrain, finetune]\npretrain:\n  glue_dir: g\n  batch_size: 10\nparallel: {dp: 4}\ntrain: {batch_size: 8}\n",
                       11, "key 'pretrain.batch_size': 10 rows cannot be split over parallel.dp = 4");
    expect_parse_error(HEAD "variants:\n  base: {transform: none, pipeline: [pretrain, finetune]}\npipeline: [finetune]\n", 7,
                       "key 'variants.base.pipeline': pretrain runs once for the sweep");
    expect_parse_error(HEAD "variants:\n  base: {transform: none, pretrain: false}\npipeline: [finetune]\n", 7,
                       "key 'variants.base.pretrain': the pipeline has no pretrain stage");
    expect_parse_error(HEAD "variants:\n  base: {transform: none}\n  q8: {transform: none, start_from: base, pretrain: false}\n"
                       "pipeline: [pretrain, finetune]\npretrain: {glue_dir: g}\n", 8,
                       "key 'variants.q8.pretrain': it starts from 'base' and takes its model");
    /* tokenizer: a folder with both files of a BPE tokenizer, checked when the spec loads */
    expect_parse_error(PT_HEAD "pipeline: [finetune]\ntokenizer: tests/data/jobs\n", 9,
                       "key 'tokenizer': 'tests/data/jobs' has no vocab.json + merges.txt");
    expect_parse_error(PT_HEAD "pipeline: [finetune]\ntokenizer: [a]\n", 9, "key 'tokenizer'");
    expect_parse_error(HEAD "variants:\n  base: {transform: none, pretrain: no}\npipeline: [pretrain, finetune]\npretrain: {glue_dir: g}\n", 7,
                       "key 'variants.base.pretrain': expected true or false, not 'no'");
}

int main(void) {
    const char *src = getenv("SG_SOURCE_DIR");
    if (src && chdir(src) != 0) sg_test_skip("cannot enter SG_SOURCE_DIR");
    if (access(DIR "plan.yaml", R_OK) != 0) sg_test_skip("tests/data/jobs not found (run from the source dir or set SG_SOURCE_DIR)");
    test_plan_fixture();
    test_small_fixtures();
    test_project_jobs();
    test_bad_fixtures();
    test_parse_errors();
    test_pretrain();
    return sg_test_done();
}
