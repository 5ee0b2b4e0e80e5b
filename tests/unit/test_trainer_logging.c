/* The log_history entries HF's Trainer would write: logging_strategy steps / epoch / no,
 * logging_first_step, the loss as the mean over the steps since the last entry, the learning rate
 * as the scheduler's after the step; eval_delay in steps and in epochs; and step counts that
 * never wrap (--num_train_epochs 1e9 used to give -2147483648 steps, train nothing and succeed). */
#include "core/fileio.h"
#include "test_trainer_common.h"

#include <limits.h>
#include <stdio.h>

enum { ROWS = 16 }; /* batch 4: 4 optimizer steps an epoch */

static int count_eval(void *ctx, sg_model *m, cJSON *entry) {
    (void)m;
    int *calls = ctx;
    cJSON_AddNumberToObject(entry, "eval_loss", 1.0 / (1 + ++*calls));
    return 0;
}

typedef struct {
    int log_steps[64], n_log, eval_steps[64], n_eval;
    double loss[64], lr[64];
} history;

static int run(sg_train_config *c, const sg_encoded *e, history *h) {
    sg_model m;
    sg_trainer t;
    int calls = 0;
    memset(h, 0, sizeof *h);
    if (tt_make_model(&m)) return -1;
    int rc = sg_trainer_init(&t, c, &m, e);
    t.eval = count_eval;
    t.ctx = &calls;
    if (rc == 0) rc = sg_trainer_train(&t);
    if (rc) fprintf(stderr, "    trainer: %s\n", sg_last_error());
    h->n_log = tt_history(&t, "loss", h->log_steps, h->loss, 64);
    tt_history(&t, "learning_rate", NULL, h->lr, 64);
    h->n_eval = tt_history(&t, "eval_loss", h->eval_steps, NULL, 64);
    sg_trainer_free(&t);
    sg_model_free(&m);
    return rc;
}

static int same_steps(const int *got, int n, const int *want, int n_want) {
    if (n != n_want) return 0;
    for (int i = 0; i < n; i++)
        if (got[i] != want[i]) return 0;
    return 1;
}

static void print_steps(const char *what, const int *s, int n) {
    fprintf(stderr, "    %s at steps:", what);
    for (int i = 0; i < n; i++) fprintf(stderr, " %d", s[i]);
    fprintf(stderr, "\n");
}

#define EXPECT_STEPS(what, got, n, ...)                                                                                   \
    do {                                                                                                                  \
        const int want_[] = {__VA_ARGS__};                                                                                \
        if (!CHECK(same_steps(got, n, want_, (int)(sizeof want_ / sizeof want_[0])))) print_steps(what, got, n);          \
    } while (0)

static void test_logging_strategies(const sg_encoded *e, const char *dir) {
    history h, every;
    sg_train_config c = tt_config(dir);
    c.max_steps = 10;
    c.logging_steps = 3;
    CHECK(run(&c, e, &h) == 0);
    EXPECT_STEPS("steps 3", h.log_steps, h.n_log, 3, 6, 9); /* no entry for the last step: HF logs multiples only */
    /* the loss of an entry is the mean of the steps' losses since the one before */
    sg_train_config c1 = c;
    c1.logging_steps = 1;
    CHECK(run(&c1, e, &every) == 0);
    CHECK(every.n_log == 10);
    if (h.n_log == 3 && every.n_log == 10) {
        CHECK_NEAR(h.loss[1], (every.loss[3] + every.loss[4] + every.loss[5]) / 3.0, 1e-12);
        CHECK_NEAR(h.loss[2], (every.loss[6] + every.loss[7] + every.loss[8]) / 3.0, 1e-12);
    }
    c.logging_first_step = 1;
    CHECK(run(&c, e, &h) == 0);
    EXPECT_STEPS("first step + steps 3", h.log_steps, h.n_log, 1, 3, 6, 9);
    c.logging_first_step = 0;
    c.logging_strategy = SG_STRATEGY_EPOCH;
    c.logging_strategy_set = 1;
    CHECK(run(&c, e, &h) == 0);
    EXPECT_STEPS("epoch", h.log_steps, h.n_log, 4, 8, 10); /* the last, cut by max_steps, ends an epoch too */
    c.logging_strategy = SG_STRATEGY_NO;
    CHECK(run(&c, e, &h) == 0);
    CHECK_MSG(h.n_log == 0, "logging_strategy no logged %d entries", h.n_log);
    c.logging_first_step = 1;
    CHECK(run(&c, e, &h) == 0);
    EXPECT_STEPS("no + first step", h.log_steps, h.n_log, 1);
    /* logging_strategy steps (HF's default, also when unset) needs logging_steps */
    sg_train_config bad = tt_config(dir);
    bad.logging_steps = 0;
    sg_model m;
    sg_trainer t;
    CHECK(tt_make_model(&m) == 0);
    CHECK(sg_trainer_init(&t, &bad, &m, e) != 0);
    CHECK_MSG(strstr(sg_last_error(), "--logging_steps"), "message: %s", sg_last_error());
    sg_trainer_free(&t);
    sg_model_free(&m);
}

/* learning_rate in an entry is the scheduler's value after the step (HF logs get_last_lr()): with
 * linear warmup 4 of 10 steps and lr 1e-3, step s logs 1e-3 * s / 4 during warmup, then
 * 1e-3 * (10 - s) / 6 */
static void test_logged_learning_rate(const sg_encoded *e, const char *dir) {
    history h;
    sg_train_config c = tt_config(dir);
    c.max_steps = 10;
    c.warmup_steps = 4;
    CHECK(run(&c, e, &h) == 0);
    CHECK(h.n_log == 10);
    for (int i = 0; i < h.n_log; i++) {
        int s = h.log_steps[i];
        double want = s < 4 ? 1e-3 * s / 4.0 : 1e-3 * (10 - s) / 6.0;
        CHECK_NEAR(h.lr[i], want, 1e-9);
    }
}

static void test_eval_delay(const sg_encoded *e, const char *dir) {
    history h;
    sg_train_config c = tt_config(dir);
    c.max_steps = 10;
    c.logging_steps = 100;
    c.eval_strategy = SG_STRATEGY_STEPS;
    c.eval_steps = 2;
    CHECK(run(&c, e, &h) == 0);
    EXPECT_STEPS("eval every 2", h.eval_steps, h.n_eval, 2, 4, 6, 8, 10);
    c.eval_delay = 5; /* steps, with eval_strategy steps */
    CHECK(run(&c, e, &h) == 0);
    EXPECT_STEPS("eval every 2 after step 5", h.eval_steps, h.n_eval, 6, 8, 10);
    sg_train_config ep = tt_config(dir);
    ep.num_train_epochs = 3;
    ep.logging_steps = 100;
    ep.eval_strategy = SG_STRATEGY_EPOCH;
    CHECK(run(&ep, e, &h) == 0);
    EXPECT_STEPS("eval each epoch", h.eval_steps, h.n_eval, 4, 8, 12);
    ep.eval_delay = 2; /* epochs, with eval_strategy epoch */
    CHECK(run(&ep, e, &h) == 0);
    EXPECT_STEPS("eval each epoch from epoch 2", h.eval_steps, h.n_eval, 8, 12);
}

static void test_step_count_overflow(const char *dir) {
    sg_encoded big;
    tt_make_split(&big, 1000, 2);
    sg_model m;
    sg_trainer t;
    CHECK(tt_make_model(&m) == 0);
    sg_train_config c = tt_config(dir);
    c.batch_size = 1;
    c.num_train_epochs = 1e9; /* 1000 steps an epoch: 1e12 steps */
    CHECK(sg_trainer_init(&t, &c, &m, &big) != 0);
    CHECK_MSG(strstr(sg_last_error(), "--num_train_epochs") && strstr(sg_last_error(), "2147483647"), "message: %s",
              sg_last_error());
    sg_trainer_free(&t);
    c.num_train_epochs = INFINITY;
    CHECK(sg_trainer_init(&t, &c, &m, &big) != 0);
    CHECK_MSG(strstr(sg_last_error(), "--num_train_epochs"), "message: %s", sg_last_error());
    sg_trainer_free(&t);
    c.num_train_epochs = NAN;
    CHECK(sg_trainer_init(&t, &c, &m, &big) != 0);
    CHECK_MSG(strstr(sg_last_error(), "--num_train_epochs"), "message: %s", sg_last_error());
    sg_trainer_free(&t);
    /* the largest count that fits is kept exactly (not trained here) */
    c.num_train_epochs = 2000000.0; /* 2e9 steps <= INT_MAX */
    CHECK(sg_trainer_init(&t, &c, &m, &big) == 0);
    CHECK_MSG(t.total_steps == 2000000000 && t.epochs == 2000000, "total_steps %d, epochs %d", t.total_steps, t.epochs);
    sg_trainer_free(&t);
    /* accumulation divides the count: 1e9 epochs of 1000 micro-batches in steps of 1000 fit */
    c.num_train_epochs = 1e9;
    c.gradient_accumulation_steps = 1000;
    CHECK(sg_trainer_init(&t, &c, &m, &big) == 0);
    CHECK(t.total_steps == 1000000000);
    sg_trainer_free(&t);
    /* max_steps: epochs follow from it without overflow */
    c.gradient_accumulation_steps = 0;
    c.max_steps = INT_MAX;
    CHECK(sg_trainer_init(&t, &c, &m, &big) == 0);
    CHECK_MSG(t.total_steps == INT_MAX && t.epochs == INT_MAX / 1000 + 1, "total_steps %d, epochs %d", t.total_steps, t.epochs);
    sg_trainer_free(&t);
    sg_model_free(&m);
    sg_encoded_free(&big);
}

int main(void) {
    sg_encoded e;
    tt_make_split(&e, ROWS, 6);
    const char *dir = sg_test_tmpdir();
    test_logging_strategies(&e, dir);
    test_logged_learning_rate(&e, dir);
    test_eval_delay(&e, dir);
    test_step_count_overflow(dir);
    sg_remove_tree(dir);
    sg_encoded_free(&e);
    return sg_test_done();
}
