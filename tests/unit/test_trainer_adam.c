/* --adam_beta1 / --adam_beta2 / --adam_epsilon reach AdamW: two trainer steps on a one-batch split
 * (every step sees the whole split) against torch.optim.AdamW's documented update computed here in
 * double from the model's own gradients at w0 and w1:
 *   m_t = b1 m + (1 - b1) g,  v_t = b2 v + (1 - b2) g^2,
 *   w -= lr * (m_t / (1 - b1^t)) / (sqrt(v_t / (1 - b2^t)) + eps)
 * (constant schedule, no weight decay, no clipping). Betas cancel in the first step, so the second
 * is where they show; the check also asserts that HF's defaults would give another result. */
#include "core/fileio.h"
#include "test_trainer_common.h"

#include <stdio.h>

enum { ROWS = 8 };

static const double LR = 1e-2, B1 = 0.5, B2 = 0.8, EPS = 1e-3;

/* the mean-loss gradient over the whole split at the model's weights */
static double *gradient_at(const float *params, const sg_encoded *e) {
    sg_model m;
    tt_make_model(&m);
    memcpy(m.params, params, sizeof(float) * m.table.total);
    sg_model_reserve(&m, ROWS, TT_T, 1);
    int order[ROWS];
    for (int i = 0; i < ROWS; i++) order[i] = i;
    sg_batch_buffers bb;
    sg_batch_buffers_init(&bb, ROWS, TT_T);
    sg_batch b = sg_gather_batch(e, order, 0, ROWS, 1, &bb);
    sg_model_zero_grad(&m);
    sg_model_forward(&m, &b, 1);
    sg_model_backward(&m, &b);
    double *g = malloc(sizeof(double) * m.table.total);
    for (size_t i = 0; i < m.table.total; i++) g[i] = m.grads[i];
    sg_batch_buffers_free(&bb);
    sg_model_free(&m);
    return g;
}

static float *trained(const sg_encoded *e, int steps, const char *dir) {
    sg_train_config c = tt_config(dir);
    c.batch_size = ROWS;
    c.max_steps = steps;
    c.learning_rate = LR;
    c.weight_decay = 0;
    c.max_grad_norm = 0; /* no clipping */
    c.lr_scheduler = SG_SCHED_CONSTANT;
    c.adam_beta1 = B1;
    c.adam_beta2 = B2;
    c.adam_epsilon = EPS;
    sg_model m;
    sg_trainer t;
    tt_make_model(&m);
    int rc = sg_trainer_init(&t, &c, &m, e);
    if (rc == 0) rc = sg_trainer_train(&t);
    CHECK_MSG(rc == 0, "%s", sg_last_error());
    float *w = malloc(sizeof(float) * m.table.total);
    memcpy(w, m.params, sizeof(float) * m.table.total);
    sg_trainer_free(&t);
    sg_model_free(&m);
    return w;
}

/* w2 from w1 after the second step, with betas b1, b2 */
static double second_step(double w1, double g1, double g2, double b1, double b2, double eps) {
    double m = b1 * (1 - b1) * g1 + (1 - b1) * g2, v = b2 * (1 - b2) * g1 * g1 + (1 - b2) * g2 * g2;
    return w1 - LR * (m / (1 - b1 * b1)) / (sqrt(v / (1 - b2 * b2)) + eps);
}

int main(void) {
    sg_encoded e;
    tt_make_split(&e, ROWS, 12);
    const char *dir = sg_test_tmpdir();
    sg_model m0;
    tt_make_model(&m0);
    size_t n = m0.table.total;
    double *g1 = gradient_at(m0.params, &e);
    float *w1 = trained(&e, 1, dir), *w2 = trained(&e, 2, dir);
    double *g2 = gradient_at(w1, &e);
    size_t bad = 0, differs_from_defaults = 0, worst_i = 0;
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        /* step 1: m^ = g, v^ = g^2 whatever the betas */
        double want1 = m0.params[i] - LR * g1[i] / (fabs(g1[i]) + EPS);
        double want2 = second_step(w1[i], g1[i], g2[i], B1, B2, EPS);
        double tol = 2e-7 + 1e-3 * fabs(want2 - w1[i]);
        double err = fmax(fabs(w1[i] - want1) - 1e-3 * fabs(want1 - m0.params[i]), fabs(w2[i] - want2));
        if (err > tol) bad++;
        if (err - tol > worst) worst = err - tol, worst_i = i;
        if (fabs(second_step(w1[i], g1[i], g2[i], 0.9, 0.999, EPS) - want2) > 10 * tol) differs_from_defaults++;
    }
    CHECK_MSG(bad == 0, "%zu of %zu weights off AdamW(betas %g, %g, eps %g); worst at %zu by %.3g beyond tolerance", bad, n,
              B1, B2, EPS, worst_i, worst);
    CHECK_MSG(differs_from_defaults > n / 100, "only %zu weights tell these betas from HF's defaults", differs_from_defaults);
    printf("2 AdamW steps with betas (%g, %g), eps %g: %zu weights checked, %zu differ from the default betas' result\n", B1,
           B2, EPS, n, differs_from_defaults);
    free(g1);
    free(g2);
    free(w1);
    free(w2);
    sg_model_free(&m0);
    sg_encoded_free(&e);
    sg_remove_tree(dir);
    return sg_test_done();
}
