/* config.json keys of HF's RobertaConfig that change the model's meaning (issue #15):
 * classifier_dropout (null / absent -> the head falls back to hidden_dropout_prob, as HF; written
 * back as null or its value), and decoder configs (is_decoder, add_cross_attention), refused with
 * one line naming the file and the key. */
#include "testlib.h"

#include "core/error.h"
#include "core/fileio.h"
#include "model/config.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A tiny config.json with `extra` (e.g. "\"classifier_dropout\": 0.3") added to its keys. */
static int parse_with(sg_model_config *c, const char *extra, const char *name) {
    char json[1024];
    int n = snprintf(json, sizeof json,
                     "{\"model_type\": \"roberta\", \"hidden_act\": \"relu\", \"vocab_size\": 261, \"hidden_size\": 64,"
                     " \"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"intermediate_size\": 256,"
                     " \"hidden_dropout_prob\": 0.1%s%s}",
                     extra[0] ? ", " : "", extra);
    return sg_model_config_parse(c, json, (size_t)n, name);
}

static void expect_refused(int rc, const char *name, const char *key) {
    const char *msg = sg_last_error();
    CHECK_MSG(rc == -1, "%s: accepted", key);
    CHECK_MSG(strstr(msg, name) && strstr(msg, key), "%s: message names neither file nor key: %s", key, msg);
    CHECK_MSG(strchr(msg, '\n') == NULL, "%s: message is not one line: %s", key, msg);
}

static void test_classifier_dropout_parse(void) {
    sg_model_config c;
    CHECK(parse_with(&c, "", "absent.json") == 0);
    CHECK_MSG(c.classifier_dropout < 0, "absent classifier_dropout must be unset, got %g", (double)c.classifier_dropout);
    CHECK_NEAR(sg_classifier_dropout(&c), 0.1, 1e-7); /* HF: falls back to hidden_dropout_prob */
    CHECK(parse_with(&c, "\"classifier_dropout\": null", "null.json") == 0);
    CHECK(c.classifier_dropout < 0);
    CHECK_NEAR(sg_classifier_dropout(&c), 0.1, 1e-7);
    CHECK(parse_with(&c, "\"classifier_dropout\": 0.3", "set.json") == 0);
    CHECK_NEAR(c.classifier_dropout, 0.3, 1e-7);
    CHECK_NEAR(sg_classifier_dropout(&c), 0.3, 1e-7);
    CHECK(parse_with(&c, "\"classifier_dropout\": 0", "zero.json") == 0); /* 0 is a value, not null */
    CHECK(c.classifier_dropout == 0.0f && sg_classifier_dropout(&c) == 0.0f);
    expect_refused(parse_with(&c, "\"classifier_dropout\": 1.5", "big.json"), "big.json", "classifier_dropout");
    expect_refused(parse_with(&c, "\"classifier_dropout\": -1", "neg.json"), "neg.json", "classifier_dropout");
    expect_refused(parse_with(&c, "\"classifier_dropout\": \"0.1\"", "str.json"), "str.json", "classifier_dropout");
}

static void test_presets(void) {
    static const char *const sizes[] = {"tiny", "small", "base"};
    for (int i = 0; i < 3; i++) {
        sg_model_config c;
        CHECK(sg_model_config_preset(&c, sizes[i], 2, 300) == 0);
        CHECK_MSG(c.classifier_dropout < 0, "preset %s: classifier_dropout %g, expected unset", sizes[i],
                  (double)c.classifier_dropout);
        CHECK(sg_classifier_dropout(&c) == c.hidden_dropout);
    }
}

/* The saved file's classifier_dropout, read back with cJSON: null, or the value. */
static const cJSON *saved_key(cJSON **root, const sg_model_config *c, const char *path) {
    CHECK(sg_model_config_save(c, path) == 0);
    char *text = sg_read_file(path, 1 << 20, NULL);
    *root = text ? cJSON_Parse(text) : NULL;
    free(text);
    return cJSON_GetObjectItemCaseSensitive(*root, "classifier_dropout");
}

static void test_classifier_dropout_save(void) {
    const char *dir = sg_test_tmpdir();
    if (!dir) sg_test_skip("no temporary directory");
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    sg_model_config c, back;
    cJSON *root = NULL;
    CHECK(sg_model_config_preset(&c, "tiny", 2, 300) == 0);
    const cJSON *v = saved_key(&root, &c, path);
    CHECK_MSG(v && cJSON_IsNull(v), "unset classifier_dropout must be written as null (HF's default)");
    cJSON_Delete(root);
    CHECK(sg_model_config_load(&back, path) == 0 && back.classifier_dropout < 0);
    c.classifier_dropout = 0.25f;
    v = saved_key(&root, &c, path);
    CHECK_MSG(cJSON_IsNumber(v) && v->valuedouble == (double)0.25f, "classifier_dropout 0.25 not written");
    cJSON_Delete(root);
    CHECK(sg_model_config_load(&back, path) == 0);
    CHECK(back.classifier_dropout == 0.25f);
    remove(path);
}

static void test_decoder_refused(void) {
    sg_model_config c;
    expect_refused(parse_with(&c, "\"is_decoder\": true", "decoder.json"), "decoder.json", "is_decoder");
    expect_refused(parse_with(&c, "\"add_cross_attention\": true", "cross.json"), "cross.json", "add_cross_attention");
    expect_refused(parse_with(&c, "\"is_decoder\": 1", "one.json"), "one.json", "is_decoder"); /* truthy in Python */
    /* what HF itself writes for an encoder is accepted */
    CHECK(parse_with(&c, "\"is_decoder\": false, \"add_cross_attention\": false", "encoder.json") == 0);
}

int main(void) {
    test_classifier_dropout_parse();
    test_presets();
    test_classifier_dropout_save();
    test_decoder_refused();
    return sg_test_done();
}
