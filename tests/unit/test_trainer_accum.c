/* Gradient accumulation (HF Trainer): N micro-batches per optimizer step, each loss scaled 1/N,
 * must train as one batch N times larger when the rows and their padding agree: the same loss
 * curve and the same final weights (1e-5 relative) over 12 optimizer steps across an epoch
 * boundary. The epoch's last, partial accumulation follows HF's counting, and a run resumed
 * from a checkpoint mid-accumulation-run finishes bit for bit like the uninterrupted one. */
#include "core/fileio.h"
#include "test_trainer_common.h"

#include <stdio.h>

enum { ROWS = 80, STEPS = 12 };

typedef struct {
    double loss[64], lr[64];
    int n;
    float *params;
    size_t count;
} curve;

static int train(sg_train_config *c, const sg_encoded *e, curve *out) {
    sg_model m;
    sg_trainer t;
    if (tt_make_model(&m)) return -1;
    int rc = sg_trainer_init(&t, c, &m, e);
    if (rc == 0) rc = sg_trainer_train(&t);
    if (rc) fprintf(stderr, "    trainer: %s\n", sg_last_error());
    if (out) {
        out->n = tt_history(&t, "loss", NULL, out->loss, 64);
        tt_history(&t, "learning_rate", NULL, out->lr, 64);
        out->count = m.table.total;
        out->params = malloc(sizeof(float) * out->count);
        memcpy(out->params, m.params, sizeof(float) * out->count);
    }
    sg_trainer_free(&t);
    sg_model_free(&m);
    return rc;
}

/* max |a - b| over each tensor, relative to the tensor's largest magnitude but at least the init
 * scale (0.02): the attention key bias has a zero gradient in exact arithmetic (softmax is
 * shift invariant), so its values are rounding noise of ~1e-8 that no reordering preserves */
static double worst_relative(const curve *a, const curve *b) {
    sg_model m;
    tt_make_model(&m);
    double worst = 0.0;
    for (int k = 0; k < m.table.count; k++) {
        const sg_param_info *p = &m.table.info[k];
        double diff = 0.0, scale = m.cfg.initializer_range;
        for (size_t i = 0; i < p->numel; i++) {
            double x = a->params[p->offset + i], y = b->params[p->offset + i];
            if (fabs(x - y) > diff) diff = fabs(x - y);
            if (fabs(y) > scale) scale = fabs(y);
        }
        if (diff / scale > worst) worst = diff / scale;
    }
    sg_model_free(&m);
    return worst;
}

static void test_accumulation_equals_big_batch(const sg_encoded *e) {
    const char *dir = sg_test_tmpdir();
    sg_train_config big = tt_config(dir), acc = tt_config(dir);
    big.batch_size = 8;
    big.max_steps = STEPS; /* 10 steps an epoch: the run crosses into epoch 2 */
    big.warmup_steps = 3;
    acc.batch_size = 4;
    acc.gradient_accumulation_steps = 2;
    acc.max_steps = STEPS;
    acc.warmup_steps = 3;
    /* Adam divides by sqrt(v) + eps: a gradient that is zero but for float rounding (the key bias,
     * by softmax's shift invariance) would move by +-lr either way; eps 1e-6 damps such noise
     * (grads ~1e-12) while the real gradients (1e-6 .. 1e-3) are still normalised */
    big.adam_epsilon = acc.adam_epsilon = 1e-6;
    big.learning_rate = acc.learning_rate = 3e-3;
    curve a = {0}, b = {0};
    CHECK(train(&big, e, &a) == 0);
    CHECK(train(&acc, e, &b) == 0);
    CHECK_MSG(a.n == STEPS && b.n == STEPS, "logged %d and %d loss entries, want %d", a.n, b.n, STEPS);
    double worst_loss = 0.0;
    for (int i = 0; i < a.n && i < b.n; i++) {
        double r = fabs(a.loss[i] - b.loss[i]) / fabs(a.loss[i]);
        if (r > worst_loss) worst_loss = r;
        CHECK_NEAR(a.lr[i], b.lr[i], 1e-12);
    }
    CHECK_MSG(worst_loss <= 1e-5, "loss curves differ by %.3g relative", worst_loss);
    /* the curve moved: equal curves are not two untrained runs */
    CHECK_MSG(a.n == STEPS && fabs(a.loss[0] - a.loss[STEPS - 1]) > 1e-3, "loss %.6f -> %.6f", a.loss[0], a.loss[STEPS - 1]);
    double w = worst_relative(&a, &b);
    CHECK_MSG(w <= 1e-5, "final weights differ by %.3g relative", w);
    printf("accumulation 2 x 4 vs batch 8 over %d steps: loss curve %.3g, weights %.3g relative\n", STEPS, worst_loss, w);
    /* and accumulation is not a no-op: batch 4 without it trains differently */
    sg_train_config small = tt_config(dir);
    small.max_steps = STEPS;
    small.warmup_steps = 3;
    small.adam_epsilon = 1e-6;
    small.learning_rate = 3e-3;
    curve s = {0};
    CHECK(train(&small, e, &s) == 0);
    CHECK_MSG(worst_relative(&a, &s) > 1e-3, "batch 4 without accumulation matches batch 8 (%.3g)", worst_relative(&a, &s));
    free(a.params);
    free(b.params);
    free(s.params);
    sg_remove_tree(dir);
}

/* 21 micro-batches, accumulation 2: HF sizes the run by 21 // 2 = 10 steps an epoch, but an epoch
 * runs 11 (the last with one micro-batch, its loss scaled by 1, not 1/2). */
static void test_partial_accumulation(void) {
    sg_encoded e;
    tt_make_split(&e, 84, 9);
    const char *dir = sg_test_tmpdir();
    sg_train_config c = tt_config(dir);
    c.gradient_accumulation_steps = 2;
    c.num_train_epochs = 2;
    sg_model m;
    sg_trainer t;
    CHECK(tt_make_model(&m) == 0);
    CHECK(sg_trainer_init(&t, &c, &m, &e) == 0);
    CHECK_MSG(t.total_steps == 20 && t.steps_per_epoch == 11 && t.epochs == 2, "total %d, per epoch %d, epochs %d",
              t.total_steps, t.steps_per_epoch, t.epochs);
    CHECK(sg_trainer_train(&t) == 0);
    CHECK(t.global_step == 20);
    int steps[64];
    double epochs[64], losses[64];
    int n = tt_history(&t, "epoch", steps, epochs, 64);
    tt_history(&t, "loss", NULL, losses, 64);
    CHECK(n == 20);
    /* HF's state.epoch: epoch + micro-batches consumed / micro-batches per epoch */
    for (int i = 0; i < n; i++) {
        int k = steps[i] <= 11 ? steps[i] : steps[i] - 11;
        double want = steps[i] <= 11 ? (k == 11 ? 1.0 : 2.0 * k / 21.0) : 1.0 + 2.0 * k / 21.0;
        CHECK_NEAR(epochs[i], want, 1e-12);
    }
    /* the one-micro-batch step's loss is that batch's mean loss: the same order of size as the rest */
    CHECK_MSG(n == 20 && losses[10] > 0.3 * losses[9] && losses[10] < 3.0 * losses[9], "step 11 loss %g vs step 10 %g",
              losses[10], losses[9]);
    sg_trainer_free(&t);
    sg_model_free(&m);
    sg_encoded_free(&e);
    sg_remove_tree(dir);
}

/* resume from checkpoint-5 of an accumulating run: the same weights and log_history, bit for bit */
static void test_resume_bit_for_bit(const sg_encoded *e) {
    const char *dir_a = sg_test_tmpdir(), *dir_b = sg_test_tmpdir();
    char ckpt[4200];
    sg_train_config c = tt_config(dir_a);
    c.gradient_accumulation_steps = 3;
    c.max_steps = 9;
    c.warmup_ratio = 0.2;
    c.save_strategy = SG_STRATEGY_STEPS;
    c.save_steps = 5;
    sg_model ma, mb;
    sg_trainer ta, tb;
    CHECK(tt_make_model(&ma) == 0 && tt_make_model(&mb) == 0);
    CHECK(sg_trainer_init(&ta, &c, &ma, e) == 0 && sg_trainer_train(&ta) == 0);
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint-5", dir_a);
    sg_train_config r = c;
    r.output_dir = dir_b;
    r.resume_from = ckpt;
    CHECK(sg_trainer_init(&tb, &r, &mb, e) == 0);
    CHECK_MSG(sg_trainer_train(&tb) == 0, "%s", sg_last_error());
    CHECK(tb.global_step == 9);
    CHECK_MSG(memcmp(ma.params, mb.params, sizeof(float) * ma.table.total) == 0, "resumed weights differ");
    char *ha = cJSON_PrintUnformatted(ta.log_history), *hb = cJSON_PrintUnformatted(tb.log_history);
    CHECK_MSG(ha && hb && strcmp(ha, hb) == 0, "log_history\n    %s\n    %s", ha, hb);
    free(ha);
    free(hb);
    /* a checkpoint of accumulation 3 does not resume with 2 */
    sg_train_config wrong = r;
    wrong.gradient_accumulation_steps = 2;
    sg_trainer tw;
    sg_model mw;
    CHECK(tt_make_model(&mw) == 0);
    CHECK(sg_trainer_init(&tw, &wrong, &mw, e) == 0);
    CHECK(sg_trainer_train(&tw) != 0);
    CHECK_MSG(strstr(sg_last_error(), "gradient_accumulation_steps 3"), "message: %s", sg_last_error());
    sg_trainer_free(&tw);
    sg_model_free(&mw);
    sg_trainer_free(&ta);
    sg_trainer_free(&tb);
    sg_model_free(&ma);
    sg_model_free(&mb);
    sg_remove_tree(dir_a);
    sg_remove_tree(dir_b);
}

int main(void) {
    sg_encoded e;
    tt_make_split(&e, ROWS, 4);
    test_accumulation_equals_big_batch(&e);
    test_partial_accumulation();
    test_resume_bit_for_bit(&e);
    sg_encoded_free(&e);
    return sg_test_done();
}
