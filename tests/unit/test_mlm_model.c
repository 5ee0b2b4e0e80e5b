/* The masked-LM model's config, checkpoints and loss (issue #18): "architectures" selects the
 * head; the lm_head is saved under HF's names without the tied decoder and loads back equal; a
 * checkpoint without it gets a fresh one, a partial one is refused; a classifier loading an MLM
 * checkpoint ignores lm_head.*; the loss ignores -100 and averages over labelled tokens only. */
#include "testlib.h"

#include "core/error.h"
#include "core/fileio.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "model/mlm_head.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sg_model_config tiny_mlm(void) {
    sg_model_config c;
    sg_model_config_preset(&c, "tiny", 2, 261);
    c.head = SG_HEAD_MLM;
    c.hidden_dropout = c.attn_dropout = 0.0f;
    return c;
}

static void test_config_head(void) {
    const char *base = "{\"model_type\": \"roberta\", \"hidden_act\": \"gelu\", \"vocab_size\": 300, \"hidden_size\": 64,"
                       " \"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"intermediate_size\": 256%s}";
    char json[1024];
    sg_model_config c;
    snprintf(json, sizeof json, base, ", \"architectures\": [\"RobertaForMaskedLM\"]");
    CHECK(sg_model_config_parse(&c, json, strlen(json), "mlm.json") == 0 && c.head == SG_HEAD_MLM);
    snprintf(json, sizeof json, base, ", \"architectures\": [\"RobertaForSequenceClassification\"]");
    CHECK(sg_model_config_parse(&c, json, strlen(json), "cls.json") == 0 && c.head == SG_HEAD_CLASSIFIER);
    snprintf(json, sizeof json, base, "");
    CHECK(sg_model_config_parse(&c, json, strlen(json), "none.json") == 0 && c.head == SG_HEAD_CLASSIFIER);
    snprintf(json, sizeof json, base, ", \"architectures\": [\"RobertaForMaskedLM\"], \"tie_word_embeddings\": false");
    CHECK(sg_model_config_parse(&c, json, strlen(json), "untied.json") == -1);
    CHECK(strstr(sg_last_error(), "untied.json") && strstr(sg_last_error(), "tie_word_embeddings"));
}

static void test_checkpoint_round_trip(void) {
    const char *dir = sg_test_tmpdir();
    sg_model_config c = tiny_mlm();
    sg_model m, back, cls;
    CHECK(sg_model_create(&m, &c) == 0);
    sg_model_init_random(&m, 5);
    for (int k = 0; k < M_COUNT; k++) /* make every head tensor distinct from its initial value */
        for (size_t j = 0; j < m.table.info[sg_param_index_head(&c, k)].numel; j++)
            sg_model_param(&m, sg_param_index_head(&c, k))[j] += 0.01f * (float)(k + 1) + 1e-4f * (float)j;
    CHECK(sg_checkpoint_save(&m, dir) == 0);
    char path[4200];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    sg_safetensors st;
    CHECK(sg_st_open(&st, path) == 0);
    CHECK(sg_st_find(&st, "lm_head.dense.weight") && sg_st_find(&st, "lm_head.layer_norm.weight") && sg_st_find(&st, "lm_head.bias"));
    CHECK(!sg_st_find(&st, "lm_head.decoder.weight") && !sg_st_find(&st, "classifier.dense.weight"));
    sg_st_close(&st);
    sg_load_report rep;
    CHECK(sg_checkpoint_load(&back, dir, 0, &rep) == 0);
    CHECK(back.cfg.head == SG_HEAD_MLM && !rep.classifier_initialised);
    CHECK(back.table.total == m.table.total && memcmp(back.params, m.params, sizeof(float) * m.table.total) == 0);
    /* fine-tuning from it: the classifier is new, lm_head.* ignored */
    sg_model_config cc = back.cfg;
    cc.head = SG_HEAD_CLASSIFIER;
    CHECK(sg_model_create(&cls, &cc) == 0);
    CHECK(sg_checkpoint_load_weights(&cls, path, 1, &rep) == 0);
    CHECK(rep.classifier_initialised && rep.ignored == M_COUNT);
    CHECK(memcmp(sg_model_param(&cls, P_WORD), sg_model_param(&m, P_WORD), sizeof(float) * 261 * 64) == 0);
    sg_model_free(&cls);
    sg_model_free(&back);

    /* an encoder without lm_head (a classifier checkpoint) gets HF's fresh head; a partial one is refused */
    CHECK(sg_model_create(&cls, &cc) == 0);
    sg_model_init_random(&cls, 2);
    char cdir[2048];
    snprintf(cdir, sizeof cdir, "%s/cls", dir);
    CHECK(sg_checkpoint_save(&cls, cdir) == 0);
    snprintf(path, sizeof path, "%s/model.safetensors", cdir);
    CHECK(sg_model_create(&back, &c) == 0);
    CHECK(sg_checkpoint_load_weights(&back, path, 3, &rep) == 0 && rep.classifier_initialised);
    const float *lnw = sg_model_param(&back, sg_param_index_head(&c, M_LNW)), *bias = sg_model_param(&back, sg_param_index_head(&c, M_BIAS));
    const float *dw = sg_model_param(&back, sg_param_index_head(&c, M_DW));
    double sq = 0.0;
    for (int j = 0; j < 64 * 64; j++) sq += (double)dw[j] * dw[j];
    CHECK(lnw[0] == 1.0f && lnw[63] == 1.0f && bias[0] == 0.0f && bias[260] == 0.0f);
    CHECK_NEAR(sqrt(sq / (64 * 64)), 0.02, 0.002); /* N(0, initializer_range) */
    sg_model_free(&back);
    sg_model_free(&cls);
    /* partial: the MLM checkpoint without lm_head.bias */
    sg_st_entry e[64];
    char names[64][SG_PARAM_NAME_MAX];
    int n = 0;
    for (int i = 0; i < m.table.count; i++) {
        if (!strcmp(m.table.info[i].name, "lm_head.bias")) continue;
        snprintf(names[n], sizeof names[n], "%s", m.table.info[i].name);
        e[n] = (sg_st_entry){.name = names[n], .ndim = m.table.info[i].ndim, .shape = {m.table.info[i].shape[0], m.table.info[i].shape[1]},
                             .data = sg_model_param(&m, i)};
        n++;
    }
    snprintf(path, sizeof path, "%s/partial.safetensors", dir);
    CHECK(sg_st_write(path, e, n, NULL) == 0);
    CHECK(sg_model_create(&back, &c) == 0);
    CHECK(sg_checkpoint_load_weights(&back, path, 3, &rep) == -1);
    CHECK(strstr(sg_last_error(), "lm_head is incomplete") != NULL);
    sg_model_free(&back);
    sg_model_free(&m);
    sg_remove_tree(dir);
}

/* The loss is the mean over labelled positions: with one label it equals that position's CE
 * computed from the full logits; with none it is 0 and the gradient is zero. */
static void test_loss_ignores_unlabelled(void) {
    sg_model_config c = tiny_mlm();
    sg_model m;
    CHECK(sg_model_create(&m, &c) == 0);
    sg_model_init_random(&m, 9);
    enum { B = 2, T = 6 };
    int32_t ids[B * T] = {0, 10, 260, 30, 2, 1, 0, 50, 60, 70, 80, 2}, mask[B * T], labels[B * T];
    for (int i = 0; i < B * T; i++) mask[i] = ids[i] != 1, labels[i] = SG_MLM_IGNORE;
    CHECK(sg_model_reserve(&m, B, T, 1) == 0);
    sg_batch b = {B, T, ids, mask, NULL, NULL, NULL};
    sg_model_forward(&m, &b, 0);
    float *all = malloc(sizeof(float) * B * T * 261);
    memcpy(all, m.acts.mlm_logits, sizeof(float) * B * T * 261);
    b.token_labels = labels;
    labels[2] = 20;
    labels[9] = 70;
    float loss = sg_model_forward(&m, &b, 1);
    double want = 0.0;
    for (int pos = 2; pos <= 9; pos += 7) {
        const float *z = all + (size_t)pos * 261;
        double mx = z[0], s = 0.0;
        for (int j = 1; j < 261; j++) mx = z[j] > mx ? z[j] : mx;
        for (int j = 0; j < 261; j++) s += exp(z[j] - mx);
        want += mx + log(s) - z[labels[pos]];
    }
    CHECK_NEAR(loss, want / 2, 1e-5);
    CHECK(m.acts.mlm_R == 2); /* training: the labelled rows only */
    for (int i = 0; i < B * T; i++) labels[i] = SG_MLM_IGNORE;
    sg_model_zero_grad(&m);
    CHECK(sg_model_forward(&m, &b, 1) == 0.0f);
    sg_model_backward(&m, &b);
    double g = 0.0;
    for (size_t i = 0; i < m.table.total; i++) g += fabs(m.grads[i]);
    CHECK(g == 0.0);
    free(all);
    sg_model_free(&m);
}

int main(void) {
    test_config_head();
    test_checkpoint_round_trip();
    test_loss_ignores_unlabelled();
    return sg_test_done();
}
