/* The best model as HF's Trainer keeps it: metric_for_best_model with or without "eval_", the
 * default "loss", greater_is_better from the name or given; best_metric, best_global_step and
 * best_model_checkpoint in trainer_state.json; rotation (save_total_limit) never deletes the best
 * checkpoint; load_best_model_at_end leaves the best evaluation's weights in the model;
 * save_strategy best saves only on a new best; and the configurations HF refuses. */
#include "core/fileio.h"
#include "test_trainer_common.h"

#include <stdio.h>
#include <sys/stat.h>

enum { ROWS = 16, STEPS = 8, EVALS = STEPS / 2 }; /* batch 4, evaluation every 2 steps */

typedef struct {
    const char *key;
    double values[EVALS];
    int calls;
    float *snapshot[EVALS]; /* the weights each evaluation saw */
    size_t count;
} scripted_eval;

static int scripted(void *ctx, sg_model *m, cJSON *entry) {
    scripted_eval *s = ctx;
    if (s->calls >= EVALS) return sg_fail("more evaluations than scripted");
    cJSON_AddNumberToObject(entry, "eval_loss", 0.7);
    if (strcmp(s->key, "eval_loss") != 0) cJSON_AddNumberToObject(entry, s->key, s->values[s->calls]);
    else cJSON_ReplaceItemInObject(entry, "eval_loss", cJSON_CreateNumber(s->values[s->calls]));
    s->count = m->table.total;
    s->snapshot[s->calls] = malloc(sizeof(float) * s->count);
    memcpy(s->snapshot[s->calls], m->params, sizeof(float) * s->count);
    s->calls++;
    return 0;
}

static int exists(const char *dir, int step) {
    char path[4200];
    struct stat st;
    snprintf(path, sizeof path, "%s/checkpoint-%d", dir, step);
    return stat(path, &st) == 0;
}

static cJSON *load_json(const char *path) {
    size_t len;
    char *text = sg_read_file(path, 1u << 24, &len);
    cJSON *j = text ? cJSON_ParseWithLength(text, len) : NULL;
    free(text);
    return j;
}

typedef struct {
    int rc, best_step;
    double best_metric;
    char best_dir[4200];
    int same_as_eval; /* index of the evaluation whose weights the model holds, -1: none */
} outcome;

static outcome train(sg_train_config *c, scripted_eval *s) {
    outcome o = {0, -1, NAN, "", -1};
    sg_encoded e;
    tt_make_split(&e, ROWS, 8);
    sg_model m;
    sg_trainer t;
    tt_make_model(&m);
    o.rc = sg_trainer_init(&t, c, &m, &e);
    t.eval = scripted;
    t.ctx = s;
    if (o.rc == 0) o.rc = sg_trainer_train(&t);
    if (o.rc == 0) {
        char path[4300];
        snprintf(path, sizeof path, "%s/state.json", c->output_dir);
        sg_trainer_write_state(&t, path);
        cJSON *st = load_json(path);
        const cJSON *bm = cJSON_GetObjectItem(st, "best_metric"), *bs = cJSON_GetObjectItem(st, "best_global_step"),
                    *bd = cJSON_GetObjectItem(st, "best_model_checkpoint");
        if (cJSON_IsNumber(bm)) o.best_metric = bm->valuedouble;
        if (cJSON_IsNumber(bs)) o.best_step = (int)bs->valuedouble;
        if (cJSON_IsString(bd)) snprintf(o.best_dir, sizeof o.best_dir, "%s", bd->valuestring);
        cJSON_Delete(st);
        for (int i = 0; i < s->calls; i++)
            if (memcmp(s->snapshot[i], m.params, sizeof(float) * m.table.total) == 0) o.same_as_eval = i;
    }
    for (int i = 0; i < s->calls; i++) free(s->snapshot[i]);
    sg_trainer_free(&t);
    sg_model_free(&m);
    sg_encoded_free(&e);
    return o;
}

static sg_train_config steps_config(const char *dir) {
    sg_train_config c = tt_config(dir);
    c.max_steps = STEPS;
    c.logging_steps = 100;
    c.eval_strategy = c.save_strategy = SG_STRATEGY_STEPS;
    c.eval_steps = c.save_steps = 2;
    return c;
}

static void expect_best_dir(const outcome *o, const char *dir, int step) {
    char want[4200];
    snprintf(want, sizeof want, "%s/checkpoint-%d", dir, step);
    CHECK_MSG(strcmp(o->best_dir, want) == 0, "best_model_checkpoint '%s', want '%s'", o->best_dir, want);
}

/* accuracy (no prefix): greater is better; limit 2 keeps the best (4) and the newest (8) */
static void test_accuracy_limit_two(void) {
    const char *dir = sg_test_tmpdir();
    sg_train_config c = steps_config(dir);
    c.load_best_model_at_end = 1;
    c.metric_for_best_model = "accuracy";
    c.greater_is_better = -1;
    c.save_total_limit = 2;
    scripted_eval s = {"eval_accuracy", {0.5, 0.9, 0.7, 0.6}, 0, {0}, 0};
    outcome o = train(&c, &s);
    CHECK_MSG(o.rc == 0, "%s", sg_last_error());
    CHECK(o.best_step == 4);
    CHECK_NEAR(o.best_metric, 0.9, 0);
    expect_best_dir(&o, dir, 4);
    CHECK_MSG(exists(dir, 4) && exists(dir, 8) && !exists(dir, 2) && !exists(dir, 6), "kept: 2 %d, 4 %d, 6 %d, 8 %d",
              exists(dir, 2), exists(dir, 4), exists(dir, 6), exists(dir, 8));
    CHECK_MSG(o.same_as_eval == 1, "the model holds the weights of evaluation %d, want 1 (step 4)", o.same_as_eval);
    /* the newest checkpoint's own state names the best one too */
    char path[4300];
    snprintf(path, sizeof path, "%s/checkpoint-8/trainer_state.json", dir);
    cJSON *st = load_json(path);
    const cJSON *bd = cJSON_GetObjectItem(st, "best_model_checkpoint");
    CHECK(cJSON_IsString(bd) && strstr(bd->valuestring, "/checkpoint-4"));
    cJSON_Delete(st);
    sg_remove_tree(dir);
}

/* the default metric is the loss, smaller is better; limit 1 keeps best + newest while training
 * and only the best once it is over */
static void test_default_loss_limit_one(void) {
    const char *dir = sg_test_tmpdir();
    sg_train_config c = steps_config(dir);
    c.load_best_model_at_end = 1;
    c.greater_is_better = -1;
    c.save_total_limit = 1;
    scripted_eval s = {"eval_loss", {0.4, 0.3, 0.1, 0.2}, 0, {0}, 0};
    outcome o = train(&c, &s);
    CHECK_MSG(o.rc == 0, "%s", sg_last_error());
    CHECK(o.best_step == 6);
    CHECK_NEAR(o.best_metric, 0.1, 0);
    expect_best_dir(&o, dir, 6);
    CHECK_MSG(exists(dir, 6) && !exists(dir, 8) && !exists(dir, 4) && !exists(dir, 2), "kept: 2 %d, 4 %d, 6 %d, 8 %d",
              exists(dir, 2), exists(dir, 4), exists(dir, 6), exists(dir, 8));
    CHECK_MSG(o.same_as_eval == 2, "the model holds the weights of evaluation %d, want 2 (step 6)", o.same_as_eval);
    sg_remove_tree(dir);
}

/* "eval_accuracy" with greater_is_better false: the smallest accuracy wins */
static void test_greater_is_better_false(void) {
    const char *dir = sg_test_tmpdir();
    sg_train_config c = steps_config(dir);
    c.load_best_model_at_end = 1;
    c.metric_for_best_model = "eval_accuracy";
    c.greater_is_better = 0;
    scripted_eval s = {"eval_accuracy", {0.5, 0.9, 0.3, 0.6}, 0, {0}, 0};
    outcome o = train(&c, &s);
    CHECK_MSG(o.rc == 0, "%s", sg_last_error());
    CHECK(o.best_step == 6);
    expect_best_dir(&o, dir, 6);
    CHECK(o.same_as_eval == 2);
    /* without load_best_model_at_end the model keeps its last weights */
    sg_remove_tree(dir);
    dir = sg_test_tmpdir();
    c = steps_config(dir);
    c.metric_for_best_model = "accuracy";
    c.greater_is_better = 1;
    scripted_eval s2 = {"eval_accuracy", {0.5, 0.9, 0.3, 0.6}, 0, {0}, 0};
    o = train(&c, &s2);
    CHECK(o.rc == 0 && o.best_step == 4);
    CHECK_MSG(o.same_as_eval == 3, "without load_best the model holds evaluation %d's weights, want the last (3)", o.same_as_eval);
    sg_remove_tree(dir);
}

/* save_strategy best: a checkpoint at each new best only */
static void test_save_strategy_best(void) {
    const char *dir = sg_test_tmpdir();
    sg_train_config c = steps_config(dir);
    c.save_strategy = SG_STRATEGY_BEST;
    c.metric_for_best_model = "accuracy";
    c.greater_is_better = -1;
    scripted_eval s = {"eval_accuracy", {0.5, 0.9, 0.7, 0.95}, 0, {0}, 0};
    outcome o = train(&c, &s);
    CHECK_MSG(o.rc == 0, "%s", sg_last_error());
    CHECK_MSG(exists(dir, 2) && exists(dir, 4) && !exists(dir, 6) && exists(dir, 8), "saved: 2 %d, 4 %d, 6 %d, 8 %d",
              exists(dir, 2), exists(dir, 4), exists(dir, 6), exists(dir, 8));
    CHECK(o.best_step == 8);
    expect_best_dir(&o, dir, 8);
    sg_remove_tree(dir);
}

static void expect_refusal(sg_train_config *c, const char *a, const char *b) {
    scripted_eval s = {"eval_accuracy", {0.5, 0.9, 0.7, 0.6}, 0, {0}, 0};
    outcome o = train(c, &s);
    CHECK(o.rc != 0);
    CHECK_MSG(strstr(sg_last_error(), a) && strstr(sg_last_error(), b), "message: %s", sg_last_error());
}

static void test_refusals(void) {
    const char *dir = sg_test_tmpdir();
    sg_train_config c = steps_config(dir);
    c.load_best_model_at_end = 1;
    c.eval_strategy = SG_STRATEGY_EPOCH;
    expect_refusal(&c, "--load_best_model_at_end", "eval_strategy epoch, save_strategy steps");
    c = steps_config(dir);
    c.load_best_model_at_end = 1;
    c.save_steps = 3;
    expect_refusal(&c, "--save_steps (3)", "round multiple of --eval_steps (2)");
    c = steps_config(dir);
    c.metric_for_best_model = "f1";
    expect_refusal(&c, "--metric_for_best_model: 'eval_f1'", "eval_accuracy");
    c = steps_config(dir);
    c.eval_strategy = SG_STRATEGY_NO;
    c.save_strategy = SG_STRATEGY_BEST;
    expect_refusal(&c, "--save_strategy best", "--eval_strategy is no");
    sg_remove_tree(dir);
}

int main(void) {
    test_accuracy_limit_two();
    test_default_loss_limit_one();
    test_greater_is_better_false();
    test_save_strategy_best();
    test_refusals();
    return sg_test_done();
}
