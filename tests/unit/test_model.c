/* Model invariants that need no reference: checkpoint round trip, seeded dropout, gradients
 * against finite differences with dropout on, label smoothing, which sites draw dropout with which
 * p (classifier_dropout in the head), the schedule, and that training learns. */
#include "core/error.h"
#include "core/fileio.h"
#include "io/checkpoint.h"
#include "model/ops.h"
#include "core/rng.h"
#include "train/adamw.h"
#include "testlib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { B = 3, T = 10 };
static int32_t ids[B * T], mask[B * T], labels[B];

static sg_batch make_batch(int vocab) {
    sg_rng r;
    sg_rng_seed(&r, 99);
    for (int b = 0; b < B; b++) {
        int len = T - 3 * b; /* rows with 0, 3 and 6 padding tokens */
        for (int t = 0; t < T; t++) {
            int real = t < len;
            ids[b * T + t] = !real ? 1 : t == 0 ? 0 : t == len - 1 ? 2 : 4 + (int)sg_rng_below(&r, (uint64_t)vocab - 4);
            mask[b * T + t] = real;
        }
        labels[b] = b % 2;
    }
    sg_batch batch = {B, T, ids, mask, labels, NULL, NULL};
    return batch;
}

static void test_round_trip(void) {
    sg_model_config cfg;
    CHECK(sg_model_config_preset(&cfg, "tiny", 2, 261) == 0);
    sg_model a, b;
    CHECK(sg_model_create(&a, &cfg) == 0);
    sg_model_init_random(&a, 1234);
    const char *dir = sg_test_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/model", dir);
    CHECK(sg_checkpoint_save(&a, path) == 0);
    sg_load_report rep;
    CHECK(sg_checkpoint_load(&b, path, 0, &rep) == 0);
    CHECK(rep.classifier_initialised == 0 && rep.ignored == 0);
    CHECK(memcmp(a.params, b.params, sizeof(float) * a.table.total) == 0);
    sg_batch batch = make_batch(cfg.vocab_size);
    CHECK(sg_model_reserve(&a, B, T, 0) == 0 && sg_model_reserve(&b, B, T, 0) == 0);
    float la = sg_model_forward(&a, &batch, 0), lb = sg_model_forward(&b, &batch, 0);
    CHECK(la == lb);
    CHECK(memcmp(a.acts.logits, b.acts.logits, sizeof(float) * B * 2) == 0);
    /* padding must not change a row's result: row 2 alone, without its padding */
    sg_batch one = {1, T - 6, ids + 2 * T, mask + 2 * T, labels + 2, NULL, NULL};
    int32_t row_ids[T], row_mask[T];
    memcpy(row_ids, ids + 2 * T, sizeof row_ids);
    memcpy(row_mask, mask + 2 * T, sizeof row_mask);
    one.ids = row_ids;
    one.mask = row_mask;
    float full2[2] = {a.acts.logits[4], a.acts.logits[5]};
    sg_model_forward(&a, &one, 0);
    CHECK_NEAR(a.acts.logits[0], full2[0], 1e-5);
    CHECK_NEAR(a.acts.logits[1], full2[1], 1e-5);
    sg_model_free(&a);
    sg_model_free(&b);
    remove(path);
}

static double loss_at(sg_model *m, const sg_batch *b) { return sg_model_forward(m, b, 1); }

/* The gradient checked along itself: (L(w + h·g) - L(w - h·g)) / 2h divided by |g|^2, ~1 when the
 * backward pass is right (training forward at dropout step `step`). The weights are restored. */
static double directional_fd_ratio(sg_model *m, const sg_batch *b, uint64_t step, const char *what) {
    m->step = step;
    sg_model_zero_grad(m);
    sg_model_forward(m, b, 1);
    sg_model_backward(m, b);
    double g2 = 0.0;
    for (size_t i = 0; i < m->table.total; i++) g2 += (double)m->grads[i] * m->grads[i];
    float *w0 = malloc(sizeof(float) * m->table.total);
    if (!w0) return NAN;
    memcpy(w0, m->params, sizeof(float) * m->table.total);
    const double h = 1e-3 / sqrt(g2);
    for (size_t i = 0; i < m->table.total; i++) m->params[i] = w0[i] + (float)(h * m->grads[i]);
    double lp = loss_at(m, b);
    for (size_t i = 0; i < m->table.total; i++) m->params[i] = w0[i] - (float)(h * m->grads[i]);
    double lm = loss_at(m, b);
    memcpy(m->params, w0, sizeof(float) * m->table.total);
    free(w0);
    printf("%s: finite difference %.6g vs |g|^2 %.6g\n", what, (lp - lm) / (2 * h), g2);
    return (lp - lm) / (2 * h) / g2;
}

static void test_dropout_and_gradients(void) {
    sg_model_config cfg;
    sg_model_config_preset(&cfg, "tiny", 2, 261);
    cfg.hidden_dropout = 0.2f;
    cfg.attn_dropout = 0.2f;
    sg_model m;
    CHECK(sg_model_create(&m, &cfg) == 0);
    sg_model_init_random(&m, 7);
    for (size_t i = 0; i < m.table.total; i++) m.params[i] *= 3.0f; /* larger weights: non-trivial attention */
    m.dropout_seed = 42;
    sg_batch batch = make_batch(cfg.vocab_size);
    CHECK(sg_model_reserve(&m, B, T, 1) == 0);
    m.step = 3;
    float l1 = sg_model_forward(&m, &batch, 1), l2 = sg_model_forward(&m, &batch, 1);
    CHECK_MSG(l1 == l2, "same seed and step must give the same dropout masks");
    m.step = 4;
    float l3 = sg_model_forward(&m, &batch, 1);
    CHECK_MSG(l1 != l3, "another step must give other masks");
    float e1 = sg_model_forward(&m, &batch, 0);
    m.step = 9;
    CHECK(e1 == sg_model_forward(&m, &batch, 0)); /* eval has no dropout */

    /* the keyed fast path gives the same numbers as the plain one */
    int same = 1;
    for (uint64_t i = 0; i < 10000; i++) same &= sg_uniform(7, 99, i) == sg_uniform_at(sg_stream_key(7, 99), i);
    CHECK(same);

    /* keep rate of the mask */
    enum { N = 100000 };
    static float ones[N], out[N];
    for (int i = 0; i < N; i++) ones[i] = 1.0f;
    sg_dropout_forward(out, ones, N, 0.1f, 5, 6);
    int kept = 0;
    for (int i = 0; i < N; i++) kept += out[i] != 0.0f;
    CHECK_NEAR((double)kept / N, 0.9, 0.005);

    /* directional derivative with dropout on: (L(w+eg) - L(w-eg)) / 2e ~ |g|^2 */
    CHECK_NEAR(directional_fd_ratio(&m, &batch, 3, "dropout on"), 1.0, 0.005);
    sg_model_free(&m);
}

/* HF Trainer's LabelSmoother: (1 - eps) * NLL + eps * mean over samples and classes of -log p,
 * recomputed here from the logits in double; and the gradient against finite differences. */
static void test_label_smoothing(void) {
    sg_model_config cfg;
    sg_model_config_preset(&cfg, "tiny", 3, 261);
    sg_model m;
    CHECK(sg_model_create(&m, &cfg) == 0);
    sg_model_init_random(&m, 5);
    for (size_t i = 0; i < m.table.total; i++) m.params[i] *= 3.0f;
    sg_batch batch = make_batch(cfg.vocab_size);
    for (int b = 0; b < B; b++) labels[b] = (b * 2) % 3;
    CHECK(sg_model_reserve(&m, B, T, 1) == 0);
    const double eps = 0.2;
    m.label_smoothing = (float)eps;
    float loss = sg_model_forward(&m, &batch, 0);
    double want = 0.0;
    for (int b = 0; b < B; b++) {
        const float *z = m.acts.logits + b * 3;
        double mx = fmax(z[0], fmax(z[1], z[2])), lse = 0.0, all = 0.0;
        for (int j = 0; j < 3; j++) lse += exp(z[j] - mx);
        lse = mx + log(lse);
        for (int j = 0; j < 3; j++) all += lse - z[j];
        want += (1.0 - eps) * (lse - z[labels[b]]) + eps * all / 3.0;
    }
    want /= B;
    printf("label smoothing 0.2: loss %.7f, from the logits %.7f\n", loss, want);
    CHECK_NEAR(loss, want, 1e-5 * fabs(want));

    CHECK_NEAR(directional_fd_ratio(&m, &batch, 2, "label smoothing"), 1.0, 0.005);
    sg_model_free(&m);
}

/* Which sites draw dropout masks, and with which p (the model/ops.h observer): HF's head uses
 * classifier_dropout when set, else hidden_dropout_prob. Torch-free; test_model_vs_torch checks
 * the placement of every mask against the reference. */
typedef struct {
    const sg_model *m;
    float p_of[8][6]; /* [layer + 1][site], 0: not drawn */
    int draws;
} site_log;

static void note_site(void *ctx, size_t n, float p, uint64_t seed, uint64_t stream) {
    site_log *sl = ctx;
    (void)n;
    (void)seed;
    sl->draws++;
    for (int l = -1; l < sl->m->cfg.layers; l++)
        for (int site = SG_SITE_EMB; site <= SG_SITE_CLS_MID; site++)
            if (sg_dropout_stream(sl->m->step, l, site) == stream) sl->p_of[l + 1][site] = p;
}

static void expect_sites(float hidden, float attn, float classifier, float head_p) {
    sg_model_config cfg;
    sg_model_config_preset(&cfg, "tiny", 2, 261);
    cfg.hidden_dropout = hidden;
    cfg.attn_dropout = attn;
    cfg.classifier_dropout = classifier;
    sg_model m;
    CHECK(sg_model_create(&m, &cfg) == 0);
    sg_model_init_random(&m, 1);
    sg_batch batch = make_batch(cfg.vocab_size);
    CHECK(sg_model_reserve(&m, B, T, 1) == 0);
    site_log sl = {.m = &m};
    sg_dropout_set_observer(note_site, &sl);
    sg_model_forward(&m, &batch, 1);
    sg_dropout_set_observer(NULL, NULL);
    int expected_draws = (hidden > 0) * (1 + 2 * cfg.layers) + (attn > 0) * cfg.layers + (head_p > 0) * 2;
    CHECK_MSG(sl.draws == expected_draws, "hidden %g attn %g classifier %g: %d masks drawn, expected %d", (double)hidden,
              (double)attn, (double)classifier, sl.draws, expected_draws);
    CHECK(sl.p_of[0][SG_SITE_EMB] == hidden);
    for (int l = 0; l < cfg.layers; l++)
        CHECK(sl.p_of[l + 1][SG_SITE_ATT] == attn && sl.p_of[l + 1][SG_SITE_ATT_OUT] == hidden &&
              sl.p_of[l + 1][SG_SITE_FFN_OUT] == hidden);
    CHECK_MSG(sl.p_of[0][SG_SITE_CLS_IN] == head_p && sl.p_of[0][SG_SITE_CLS_MID] == head_p,
              "classifier_dropout %g, hidden %g: the head drew p %g / %g, expected %g", (double)classifier, (double)hidden,
              (double)sl.p_of[0][SG_SITE_CLS_IN], (double)sl.p_of[0][SG_SITE_CLS_MID], (double)head_p);
    sg_model_free(&m);
}

static void test_dropout_sites(void) {
    expect_sites(0.1f, 0.2f, 0.3f, 0.3f);   /* classifier_dropout set: the head uses it */
    expect_sites(0.1f, 0.2f, -1.0f, 0.1f);  /* null: hidden_dropout_prob */
    expect_sites(0.0f, 0.0f, 0.25f, 0.25f); /* the head alone */
    expect_sites(0.1f, 0.0f, 0.0f, 0.0f);   /* classifier_dropout 0 turns the head's off */
}

static void test_schedule(void) {
    CHECK_NEAR(sg_linear_schedule(0, 0, 10), 1.0, 1e-7);
    CHECK_NEAR(sg_linear_schedule(5, 0, 10), 0.5, 1e-7);
    CHECK_NEAR(sg_linear_schedule(10, 0, 10), 0.0, 1e-7);
    CHECK_NEAR(sg_linear_schedule(0, 4, 10), 0.0, 1e-7);
    CHECK_NEAR(sg_linear_schedule(2, 4, 10), 0.5, 1e-7);
    CHECK_NEAR(sg_linear_schedule(4, 4, 10), 1.0, 1e-7);
    CHECK_NEAR(sg_linear_schedule(7, 4, 10), 0.5, 1e-7);
    CHECK_NEAR(sg_linear_schedule(12, 4, 10), 0.0, 1e-7);
}

static void test_learns(void) {
    sg_model_config cfg;
    sg_model_config_preset(&cfg, "tiny", 2, 261);
    sg_model m;
    sg_model_create(&m, &cfg);
    sg_model_init_random(&m, 3);
    sg_batch batch = make_batch(cfg.vocab_size);
    sg_model_reserve(&m, B, T, 1);
    sg_adamw_config oc;
    sg_adamw_defaults(&oc);
    oc.lr = 1e-3f;
    float first = 0, last = 0;
    for (int s = 0; s < 30; s++) {
        m.step = (uint64_t)s;
        sg_model_zero_grad(&m);
        float l = sg_model_forward(&m, &batch, 1);
        sg_model_backward(&m, &batch);
        float norm = sg_clip_grad_norm(&m, 1.0f);
        CHECK(isfinite(norm));
        sg_adamw_step(&m, &oc, oc.lr, s + 1);
        if (s == 0) first = l;
        last = l;
    }
    printf("fitting one batch: loss %.4f -> %.4f\n", first, last);
    CHECK_MSG(last < 0.2f * first, "30 steps on one batch should fit it (%.4f -> %.4f)", first, last);
    sg_model_free(&m);
}

static void test_bad_config(void) {
    const char *dir = sg_test_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    const char *cases[][2] = {
        {"{\"model_type\": \"bert\"}", "model_type"},
        {"{\"model_type\": \"roberta\", \"vocab_size\": 10}", "missing key 'hidden_size'"},
        {"{\"model_type\": \"roberta\", \"vocab_size\": 10, \"hidden_size\": 30, \"num_hidden_layers\": 1, "
         "\"num_attention_heads\": 4, \"intermediate_size\": 8, \"hidden_act\": \"relu\"}", "does not divide"},
        {"{\"model_type\": \"roberta\", \"vocab_size\": 1.5}", "expected an integer"},
        {"[1, 2]", "not a valid JSON object"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sg_write_file_atomic(path, cases[i][0], strlen(cases[i][0]));
        sg_model_config c;
        CHECK(sg_model_config_load(&c, path) != 0);
        CHECK_MSG(strstr(sg_last_error(), cases[i][1]) && strstr(sg_last_error(), "config.json"), "message: %s", sg_last_error());
    }
    remove(path);
}

int main(void) {
    test_round_trip();
    test_dropout_and_gradients();
    test_label_smoothing();
    test_dropout_sites();
    test_schedule();
    test_learns();
    test_bad_config();
    return sg_test_done();
}
