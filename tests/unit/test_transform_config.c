/* The module tree and the transform config: the shipped configs resolve to the quantizers of
 * spec §2 (121 for roberta-base), mixed precision and "later entry wins", Python-regex full
 * matching, and one test per refused config (tests/data/configs), each with its file:line message. */
#include "quant/module_tree.h"
#include "quant/transform_config.h"
#include "core/error.h"
#include "testlib.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char g_src[2048];

static const char *src_path(const char *rel) {
    static char path[8][2048 + 512];
    static int slot;
    char *p = path[slot++ % 8];
    snprintf(p, sizeof path[0], "%s/%.500s", g_src, rel);
    return p;
}

static int count_type(const sg_module_tree *t, sg_module_type type) {
    int n = 0;
    for (int i = 0; i < t->count; i++) n += t->nodes[i].type == type;
    return n;
}

static void test_tree(void) {
    sg_module_tree t;
    CHECK(sg_module_tree_build(&t, 12, SG_ACT_RELU) == 0);
    /* 8 above the layers, 15 per layer, 3 in the classifier */
    CHECK(t.count == 8 + 15 * 12 + 3);
    CHECK(t.base_count == t.count);
    for (int i = 0; i < t.count; i++) CHECK_MSG(t.nodes[i].parent < i, "%s", t.nodes[i].name);
    const struct {
        const char *name;
        sg_module_type type;
        const char *parent;
        int layer;
        sg_quant_kind kind;
    } expect[] = {
        {"roberta", SG_MOD_CONTAINER, NULL, -1, SG_QK_NONE},
        {"roberta.embeddings", SG_MOD_CONTAINER, "roberta", -1, SG_QK_NONE},
        {"roberta.embeddings.word_embeddings", SG_MOD_EMBEDDING, "roberta.embeddings", -1, SG_QK_NONE},
        {"roberta.embeddings.position_embeddings", SG_MOD_EMBEDDING, "roberta.embeddings", -1, SG_QK_NONE},
        {"roberta.embeddings.token_type_embeddings", SG_MOD_EMBEDDING, "roberta.embeddings", -1, SG_QK_NONE},
        {"roberta.embeddings.LayerNorm", SG_MOD_LAYERNORM, "roberta.embeddings", -1, SG_QK_NONE},
        {"roberta.encoder", SG_MOD_CONTAINER, "roberta", -1, SG_QK_NONE},
        {"roberta.encoder.layer.0", SG_MOD_CONTAINER, "roberta.encoder.layer", 0, SG_QK_NONE},
        {"roberta.encoder.layer.3.attention", SG_MOD_CONTAINER, "roberta.encoder.layer.3", 3, SG_QK_NONE},
        {"roberta.encoder.layer.3.attention.self", SG_MOD_ATTENTION, "roberta.encoder.layer.3.attention", 3,
         SG_QK_SELF_ATTN},
        {"roberta.encoder.layer.3.attention.self.query", SG_MOD_LINEAR, "roberta.encoder.layer.3.attention.self", 3,
         SG_QK_NONE},
        {"roberta.encoder.layer.3.attention.self.key", SG_MOD_LINEAR, "roberta.encoder.layer.3.attention.self", 3,
         SG_QK_NONE},
        {"roberta.encoder.layer.3.attention.self.value", SG_MOD_LINEAR, "roberta.encoder.layer.3.attention.self", 3,
         SG_QK_NONE},
        {"roberta.encoder.layer.3.attention.output", SG_MOD_CONTAINER, "roberta.encoder.layer.3.attention", 3,
         SG_QK_ATTN_OUTPUT},
        {"roberta.encoder.layer.3.attention.output.dense", SG_MOD_LINEAR, "roberta.encoder.layer.3.attention.output",
         3, SG_QK_NONE},
        {"roberta.encoder.layer.3.attention.output.LayerNorm", SG_MOD_LAYERNORM,
         "roberta.encoder.layer.3.attention.output", 3, SG_QK_NONE},
        {"roberta.encoder.layer.11.intermediate", SG_MOD_CONTAINER, "roberta.encoder.layer.11", 11,
         SG_QK_INTERMEDIATE},
        {"roberta.encoder.layer.11.intermediate.dense", SG_MOD_LINEAR, "roberta.encoder.layer.11.intermediate", 11,
         SG_QK_NONE},
        {"roberta.encoder.layer.11.intermediate.intermediate_act_fn", SG_MOD_RELU,
         "roberta.encoder.layer.11.intermediate", 11, SG_QK_NONE},
        {"roberta.encoder.layer.11.output", SG_MOD_CONTAINER, "roberta.encoder.layer.11", 11, SG_QK_FFN_OUTPUT},
        {"roberta.encoder.layer.11.output.dense", SG_MOD_LINEAR, "roberta.encoder.layer.11.output", 11, SG_QK_NONE},
        {"roberta.encoder.layer.11.output.LayerNorm", SG_MOD_LAYERNORM, "roberta.encoder.layer.11.output", 11,
         SG_QK_NONE},
        {"classifier", SG_MOD_CONTAINER, NULL, -1, SG_QK_CLASSIFIER},
        {"classifier.dense", SG_MOD_LINEAR, "classifier", -1, SG_QK_NONE},
        {"classifier.out_proj", SG_MOD_LINEAR, "classifier", -1, SG_QK_NONE},
    };
    for (size_t k = 0; k < sizeof expect / sizeof *expect; k++) {
        int i = sg_module_tree_find(&t, expect[k].name);
        CHECK_MSG(i >= 0, "%s missing", expect[k].name);
        if (i < 0) continue;
        const sg_module *m = &t.nodes[i];
        CHECK_MSG(m->type == expect[k].type, "%s type %s", m->name, sg_module_type_name(m->type));
        CHECK_MSG(m->layer == expect[k].layer && m->kind == expect[k].kind, "%s", m->name);
        int parent = expect[k].parent ? sg_module_tree_find(&t, expect[k].parent) : -1;
        CHECK_MSG(m->parent == parent, "%s parent", m->name);
    }
    CHECK(sg_module_tree_find(&t, "roberta.encoder.layer.12") < 0);
    CHECK(sg_module_tree_quantizable(&t, SG_QK_FFN_OUTPUT, 7) == sg_module_tree_find(&t, "roberta.encoder.layer.7.output"));
    CHECK(sg_module_tree_quantizable(&t, SG_QK_CLASSIFIER, -1) == sg_module_tree_find(&t, "classifier"));
    CHECK(count_type(&t, SG_MOD_LINEAR) == 6 * 12 + 2 && count_type(&t, SG_MOD_LAYERNORM) == 2 * 12 + 1);

    int self = sg_module_tree_find(&t, "roberta.encoder.layer.2.attention.self");
    CHECK(sg_module_tree_add_quantizers(&t, self, 16) == 0);
    CHECK(sg_module_tree_add_quantizers(&t, self, 16) == -1); /* already quantized */
    CHECK(sg_module_tree_add_quantizers(&t, sg_module_tree_find(&t, "roberta.embeddings"), 16) == -1);
    int q = sg_module_tree_first_quantizer(&t, self);
    CHECK(q == t.base_count && t.count == t.base_count + 5);
    CHECK(!strcmp(t.nodes[q + 3].name, "roberta.encoder.layer.2.attention.self.attn_quan"));
    CHECK(t.nodes[q + 3].type == SG_MOD_LSQINTEGER && !t.nodes[q + 3].is_signed && t.nodes[q].is_signed);
    CHECK(t.nodes[q + 4].level == 16 && t.nodes[q + 4].layer == 2 && t.nodes[q + 4].quantizer == 4);
    sg_module_tree_drop_quantizers(&t);
    CHECK(t.count == t.base_count && sg_module_tree_first_quantizer(&t, self) < 0);
    sg_module_tree_free(&t);

    CHECK(sg_module_tree_build(&t, 2, SG_ACT_GELU) == 0);
    CHECK(t.nodes[sg_module_tree_find(&t, "roberta.encoder.layer.1.intermediate.intermediate_act_fn")].type ==
          SG_MOD_GELU);
    sg_module_tree_free(&t);
    CHECK(sg_module_tree_build(&t, 0, SG_ACT_RELU) == -1);
}

/* Every quantizer of spec §2: name, signedness and level. */
static void check_quantizers(const sg_module_tree *t, const sg_transform_result *res, int level_lo, int level_hi,
                             int cls_level, int expect_count) {
    static const char *const names[] = {"attention.self.query_quan",      "attention.self.key_quan",
                                        "attention.self.value_quan",      "attention.self.attn_quan",
                                        "attention.self.after_attn_quan", "attention.output.dense_quan",
                                        "attention.output.dense_quan_after_ln", "intermediate.dense_quan",
                                        "output.dense_quan",              "output.dense_quan_after_ln"};
    static const int sign[] = {1, 1, 1, 0, 0, 1, 1, 0, 1, 1};
    CHECK_MSG(count_type(t, SG_MOD_LSQINTEGER) == expect_count, "%d quantizers", count_type(t, SG_MOD_LSQINTEGER));
    for (int layer = 0; layer < t->num_layers; layer++)
        for (int k = 0; k < 10; k++) {
            char name[128];
            snprintf(name, sizeof name, "roberta.encoder.layer.%d.%s", layer, names[k]);
            int i = sg_module_tree_find(t, name);
            CHECK_MSG(i >= 0, "%s missing", name);
            if (i < 0) continue;
            int want = layer < 6 ? level_lo : level_hi;
            CHECK_MSG(t->nodes[i].is_signed == sign[k] && t->nodes[i].level == want && res->quant_level[i] == want,
                      "%s: signed %d level %d", name, t->nodes[i].is_signed, t->nodes[i].level);
        }
    int c = sg_module_tree_find(t, "classifier.dense_quan");
    CHECK(c >= 0 && !t->nodes[c].is_signed && t->nodes[c].level == cls_level);
}

static void test_shipped_configs(void) {
    sg_module_tree t;
    sg_transform_config cfg;
    sg_transform_result res;
    CHECK(sg_module_tree_build(&t, 12, SG_ACT_RELU) == 0);

    CHECK_MSG(sg_transform_load(src_path("configs/transform_cfg.yaml"), &cfg) == 0, "%s", sg_last_error());
    CHECK(cfg.n_quant == 5 && cfg.n_attn == 1 && cfg.n_fc == 5);
    CHECK(cfg.quant[0].line == 8 && !strcmp(cfg.quant[0].pattern, "roberta\\.encoder\\.layer\\.\\d+\\.attention\\.self"));
    const sg_module_type order[] = {SG_MOD_EMBEDDING, SG_MOD_LAYERNORM, SG_MOD_LINEAR, SG_MOD_RELU, SG_MOD_LSQINTEGER};
    const sg_snn_op ops[] = {SG_SNN_ZIP_TF, SG_SNN_ZIP_TF, SG_SNN_UNFOLD_BIAS, SG_SNN_IDENTITY, SG_SNN_ST_BIF};
    for (int k = 0; k < 5; k++) CHECK(cfg.fc[k].type == order[k] && cfg.fc[k].op == ops[k]);
    CHECK(cfg.fc[2].level == 32 && !cfg.fc[2].manual_instantiate && cfg.fc[3].manual_instantiate && cfg.fc[4].manual_instantiate);
    CHECK_MSG(sg_transform_apply(&cfg, &t, &res) == 0, "%s", sg_last_error());
    check_quantizers(&t, &res, 32, 32, 32, 121);
    CHECK(res.count == t.count);
    CHECK(res.attn_level[sg_module_tree_find(&t, "roberta.encoder.layer.5.attention.self")] == 32);
    CHECK(res.quant_level[sg_module_tree_find(&t, "roberta.encoder.layer.5.intermediate")] == 32);
    CHECK(res.quant_level[sg_module_tree_find(&t, "roberta.embeddings")] == 0);
    CHECK(res.quant_rule[sg_module_tree_find(&t, "roberta.encoder.layer.5.output")] == 2);
    CHECK(res.quant_rule[sg_module_tree_find(&t, "classifier.dense_quan")] == 4);
    CHECK(res.fc[SG_MOD_LINEAR].op == SG_SNN_UNFOLD_BIAS && res.fc[SG_MOD_LINEAR].level == 32);
    CHECK(res.fc[SG_MOD_ATTENTION].op == SG_SNN_NONE && res.fc[SG_MOD_LSQINTEGER].op == SG_SNN_ST_BIF);
    CHECK_MSG(sg_transform_check_snn(&cfg, &t, &res) == 0, "%s", sg_last_error());
    /* applying again starts from the base tree */
    sg_transform_result_free(&res);
    CHECK(sg_transform_apply(&cfg, &t, &res) == 0 && count_type(&t, SG_MOD_LSQINTEGER) == 121);
    sg_transform_result_free(&res);
    sg_transform_free(&cfg);

    /* the flow-style fixture says the same as the shipped block-style file */
    CHECK(sg_transform_load(src_path("tests/data/configs/valid_flow.yaml"), &cfg) == 0);
    CHECK(sg_transform_apply(&cfg, &t, &res) == 0 && sg_transform_check_snn(&cfg, &t, &res) == 0);
    check_quantizers(&t, &res, 32, 32, 32, 121);
    sg_transform_result_free(&res);
    sg_transform_free(&cfg);

    const int levels[] = {4, 8, 16, 32, 64};
    for (int k = 0; k < 5; k++) {
        char rel[64];
        snprintf(rel, sizeof rel, "configs/levels/q%d.yaml", levels[k]);
        CHECK_MSG(sg_transform_load(src_path(rel), &cfg) == 0, "%s", sg_last_error());
        CHECK_MSG(sg_transform_apply(&cfg, &t, &res) == 0, "%s", sg_last_error());
        check_quantizers(&t, &res, levels[k], levels[k], levels[k], 121);
        CHECK(res.fc[SG_MOD_LINEAR].level == levels[k] && cfg.attn[0].level == levels[k]);
        CHECK_MSG(sg_transform_check_snn(&cfg, &t, &res) == 0, "%s", sg_last_error());
        sg_transform_result_free(&res);
        sg_transform_free(&cfg);
    }

    CHECK_MSG(sg_transform_load(src_path("configs/mixed_precision.yaml"), &cfg) == 0, "%s", sg_last_error());
    CHECK_MSG(sg_transform_apply(&cfg, &t, &res) == 0, "%s", sg_last_error());
    check_quantizers(&t, &res, 16, 32, 64, 121);
    CHECK(res.attn_level[sg_module_tree_find(&t, "roberta.encoder.layer.5.attention.self")] == 16);
    CHECK(res.attn_level[sg_module_tree_find(&t, "roberta.encoder.layer.6.attention.self")] == 32);
    CHECK_MSG(sg_transform_check_snn(&cfg, &t, &res) == 0, "%s", sg_last_error());
    sg_transform_result_free(&res);
    sg_transform_free(&cfg);

    /* the spec's §7 snippet: valid, but it leaves the FFN unquantized, so relu -> identity is inexact */
    CHECK(sg_transform_load(src_path("tests/data/configs/spec_section7.yaml"), &cfg) == 0);
    CHECK(sg_transform_apply(&cfg, &t, &res) == 0);
    CHECK(count_type(&t, SG_MOD_LSQINTEGER) == 5 * 12 + 1);
    CHECK(sg_transform_check_snn(&cfg, &t, &res) == -1);
    CHECK_MSG(strstr(sg_last_error(), "spec_section7.yaml:13: key 'relu': identity replaces "
                                      "'roberta.encoder.layer.0.intermediate.intermediate_act_fn' exactly only after "
                                      "the unsigned neuron of a quantized 'roberta.encoder.layer.0.intermediate', "
                                      "which is not quantized") != NULL,
              "%s", sg_last_error());
    sg_transform_result_free(&res);
    sg_transform_free(&cfg);
    sg_module_tree_free(&t);

    /* a gelu model has no relu to convert, and its gelu has no spiking equivalent */
    CHECK(sg_module_tree_build(&t, 2, SG_ACT_GELU) == 0);
    CHECK(sg_transform_load(src_path("configs/transform_cfg.yaml"), &cfg) == 0);
    CHECK(sg_transform_apply(&cfg, &t, &res) == -1);
    CHECK_MSG(strstr(sg_last_error(), "transform_cfg.yaml:53: key 'relu': no module of type relu in the model (its "
                                      "hidden_act is gelu)") != NULL,
              "%s", sg_last_error());
    CHECK(t.count == t.base_count); /* a failed apply leaves the base tree */
    sg_transform_free(&cfg);
    sg_module_tree_free(&t);
}

/* Parse a config whose quantization section is `quant` (the rest is the default), apply it to a
 * 12-layer tree and return the level of module `name` (0 if unquantized), or -1 on error. */
static int level_with(const char *quant, const char *name) {
    char text[4096];
    snprintf(text, sizeof text,
             "quantization_config:\n  by: regex\n%s"
             "snn_transformer_config_attn:\n  by: regex\n"
             "  'roberta\\.encoder\\.layer\\.\\d+\\.attention\\.self': {config: {name: zip_tf, level: 32}}\n"
             "snn_transformer_config_fc:\n  by: type\n  linear: {config: {name: unfold_bias, level: 32}}\n",
             quant);
    sg_module_tree t;
    sg_transform_config cfg;
    sg_transform_result res;
    int level = -1;
    if (sg_module_tree_build(&t, 12, SG_ACT_RELU)) return -1;
    if (sg_transform_parse(text, strlen(text), "mem.yaml", &cfg) == 0) {
        if (sg_transform_apply(&cfg, &t, &res) == 0) {
            int i = sg_module_tree_find(&t, name);
            level = i < 0 ? -1 : res.quant_level[i];
            sg_transform_result_free(&res);
        }
        sg_transform_free(&cfg);
    }
    sg_module_tree_free(&t);
    return level;
}

static void test_regex_semantics(void) {
    const char *self = "  'roberta\\.encoder\\.layer\\.\\d+\\.attention\\.self': {config: {name: lsqinteger, level: 32}}\n";
    char q[2048];
    /* plain, single- and double-quoted keys */
    snprintf(q, sizeof q, "%s  roberta\\.encoder\\.layer\\.\\d+\\.intermediate: {config: {name: lsqinteger, level: 8}}\n", self);
    CHECK(level_with(q, "roberta.encoder.layer.10.intermediate") == 8);
    snprintf(q, sizeof q, "%s  \"roberta\\\\.encoder\\\\.layer\\\\.1[01]\\\\.output\": {config: {name: lsqinteger, level: 8}}\n", self);
    CHECK(level_with(q, "roberta.encoder.layer.11.output") == 8);
    CHECK(level_with(q, "roberta.encoder.layer.1.output") == 0);
    /* full match with backtracking into a longer alternative, as Python's re.fullmatch */
    snprintf(q, sizeof q, "%s  'classifie|classifier': {config: {name: lsqinteger, level: 8}}\n", self);
    CHECK(level_with(q, "classifier") == 8);
    /* Python syntax: non-capturing and named groups, classes, counted repetition */
    snprintf(q, sizeof q,
             "%s  '(?P<root>roberta)\\.encoder\\.layer\\.(?:[0-9]{1,2})\\.(?:attention\\.)?output': "
             "{config: {name: lsqinteger, level: 128}}\n",
             self);
    CHECK(level_with(q, "roberta.encoder.layer.4.attention.output") == 128);
    CHECK(level_with(q, "roberta.encoder.layer.4.output") == 128);
    /* the later entry wins where both match */
    snprintf(q, sizeof q,
             "%s  'roberta\\.encoder\\.layer\\.\\d+\\.output': {config: {name: lsqinteger, level: 32}}\n"
             "  'roberta\\.encoder\\.layer\\.[02468]\\.output': {config: {name: lsqinteger, level: 4}}\n",
             self);
    CHECK(level_with(q, "roberta.encoder.layer.2.output") == 4);
    CHECK(level_with(q, "roberta.encoder.layer.3.output") == 32);
    CHECK(level_with(q, "roberta.encoder.layer.10.output") == 32);
    /* levels >= 256 are accepted (no quantization) */
    snprintf(q, sizeof q, "%s  classifier: {config: {name: lsqinteger, level: 256}}\n", self);
    CHECK(level_with(q, "classifier.dense_quan") == 256);
    /* catastrophic backtracking is bounded: an error, not a hang */
    snprintf(q, sizeof q, "%s  '((\\w|\\.)+)+r': {config: {name: lsqinteger, level: 8}}\n", self);
    CHECK(level_with(q, "classifier") == -1);
    CHECK_MSG(strstr(sg_last_error(), "mem.yaml:4: key '((\\w|\\.)+)+r': matching 'roberta.") &&
                  strstr(sg_last_error(), "' failed: match limit exceeded"),
              "%s", sg_last_error());
}

typedef struct {
    const char *file;
    char stage; /* 'l' load fails, 'a' apply fails, 'c' check_snn fails */
    const char *message; /* expected after the directory part of the path */
} bad_case;

static const bad_case g_bad[] = {
    {"unknown_top_key.yaml", 'l',
     "unknown_top_key.yaml:9: key 'snn_transformer_config_atn': unknown key (expected quantization_config, "
     "snn_transformer_config_attn, snn_transformer_config_fc)"},
    {"unknown_by.yaml", 'l', "unknown_by.yaml:10: key 'by': unknown matcher 'name' (expected regex)"},
    {"unknown_by_fc.yaml", 'l', "unknown_by_fc.yaml:13: key 'by': unknown matcher 'regex' (expected type)"},
    {"unknown_config_key.yaml", 'l', "unknown_config_key.yaml:8: key 'levl': unknown key (expected name, level)"},
    {"unknown_entry_key.yaml", 'l', "unknown_entry_key.yaml:8: key 'confg': unknown key (expected config)"},
    {"unknown_name.yaml", 'l', "unknown_name.yaml:4: key 'name': unknown quantizer 'lsqint' (expected lsqinteger)"},
    {"unknown_fc_name.yaml", 'l',
     "unknown_fc_name.yaml:16: key 'name': unknown conversion 'zip_tf' for type linear (expected unfold_bias)"},
    {"unknown_neuron.yaml", 'l', "unknown_neuron.yaml:11: key 'neuron_type': unknown neuron 'LIF' (expected ST-BIF)"},
    {"unknown_fc_type.yaml", 'l',
     "unknown_fc_type.yaml:15: key 'conv2d': unknown type (expected embedding, layernorm, linear, relu, lsqinteger)"},
    {"gelu_fc_type.yaml", 'l', "gelu_fc_type.yaml:17: key 'gelu': type gelu has no spiking equivalent"},
    {"level_not_integer.yaml", 'l', "level_not_integer.yaml:6: key 'level': expected an integer, got '32.5'"},
    {"level_quoted.yaml", 'l', "level_quoted.yaml:6: key 'level': expected an integer, got quoted '32'"},
    {"level_too_small.yaml", 'l', "level_too_small.yaml:6: key 'level': 2 out of range (4..1073741824)"},
    {"level_negative.yaml", 'l', "level_negative.yaml:16: key 'level': expected an integer, got '-1'"},
    {"level_missing.yaml", 'l', "level_missing.yaml:8: key 'config': missing key 'level'"},
    {"regex_bad.yaml", 'l',
     "regex_bad.yaml:5: key 'roberta\\.encoder\\.layer\\.(\\d+\\.attention\\.output': regex does not compile: "
     "missing closing parenthesis at offset 48"},
    {"regex_no_match.yaml", 'a',
     "regex_no_match.yaml:5: key 'roberta\\.decoder\\.layer\\.\\d+\\.attention\\.output': regex matches no module"},
    {"regex_partial.yaml", 'a', "regex_partial.yaml:8: key 'classif': regex matches no module"},
    {"regex_embeddings.yaml", 'a',
     "regex_embeddings.yaml:8: key 'roberta\\.embeddings': matches module 'roberta.embeddings' (RobertaEmbeddings), "
     "which has no quantized equivalent"},
    {"regex_linear.yaml", 'a',
     "regex_linear.yaml:8: key 'classifier\\.dense': matches module 'classifier.dense' (Linear), which has no "
     "quantized equivalent"},
    {"attn_not_attention.yaml", 'a',
     "attn_not_attention.yaml:11: key 'roberta\\.encoder\\.layer\\.\\d+\\.attention\\.output': matches module "
     "'roberta.encoder.layer.0.attention.output' (RobertaSelfOutput), which is not a self-attention module"},
    {"attn_not_quantized.yaml", 'a',
     "attn_not_quantized.yaml:10: key 'roberta\\.encoder\\.layer\\.\\d+\\.attention\\.self': matches module "
     "'roberta.encoder.layer.0.attention.self', which is not quantized"},
    {"overridden.yaml", 'a',
     "overridden.yaml:7: key 'roberta\\.encoder\\.layer\\.\\d+\\.output': every module it matches is overridden by a "
     "later entry (e.g. 'roberta.encoder.layer.0.output' by line 8)"},
    {"duplicate_key.yaml", 'l', "duplicate_key.yaml:15: key 'embedding': duplicate key (first on line 14)"},
    {"missing_section.yaml", 'l', "missing_section.yaml: missing top-level key 'snn_transformer_config_fc'"},
    {"manual_missing.yaml", 'l',
     "manual_missing.yaml:18: key 'lsqinteger': st_bif must be instantiated manually from the module it replaces "
     "(add manual_instantiate: true)"},
    {"bad_bool.yaml", 'l', "bad_bool.yaml:17: key 'manual_instantiate': expected true or false, got 'maybe'"},
    {"malformed.yaml", 'l', "malformed.yaml:15: YAML syntax error: did not find expected ',' or '}' (while parsing a "
                            "flow mapping at line 14)"},
    {"alias.yaml", 'l', "alias.yaml:14: YAML anchors and aliases are not supported ('&e')"},
    {"alias_bomb.yaml", 'l', "alias_bomb.yaml:2: YAML anchors and aliases are not supported ('&a')"},
    {"empty.yaml", 'l',
     "empty.yaml: empty file (expected quantization_config, snn_transformer_config_attn, snn_transformer_config_fc)"},
    {"comments_only.yaml", 'l', "comments_only.yaml: empty file"},
    {"not_a_mapping.yaml", 'l', "not_a_mapping.yaml:1: expected a mapping at the top level, got a sequence"},
    {"two_documents.yaml", 'l', "two_documents.yaml:19: more than one YAML document"},
    {"no_such_file.yaml", 'l', "no_such_file.yaml: cannot open: No such file or directory"},
};

static void test_bad_configs(void) {
    sg_module_tree t;
    CHECK(sg_module_tree_build(&t, 12, SG_ACT_RELU) == 0);
    for (size_t k = 0; k < sizeof g_bad / sizeof *g_bad; k++) {
        const bad_case *c = &g_bad[k];
        char rel[256];
        snprintf(rel, sizeof rel, "tests/data/configs/%s", c->file);
        sg_transform_config cfg;
        sg_transform_result res;
        sg_clear_error();
        int rc = sg_transform_load(src_path(rel), &cfg);
        char stage = 'l';
        if (rc == 0) {
            stage = 'a';
            rc = sg_transform_apply(&cfg, &t, &res);
            if (rc == 0) {
                stage = 'c';
                rc = sg_transform_check_snn(&cfg, &t, &res);
                sg_transform_result_free(&res);
            }
        }
        sg_transform_free(&cfg);
        CHECK_MSG(rc == -1 && stage == c->stage, "%s: rc %d at stage %c (expected failure at %c)", c->file, rc, stage,
                  c->stage);
        /* the message starts with the full path given and then the expected text */
        const char *msg = sg_last_error();
        const char *at = strstr(msg, c->message);
        CHECK_MSG(at != NULL && !strncmp(msg, g_src, strlen(g_src)), "%s:\n      got      %s\n      expected %s",
                  c->file, msg, c->message);
        CHECK_MSG(strchr(msg, '\n') == NULL, "%s: multi-line message", c->file);
    }
    sg_module_tree_free(&t);
}

/* Bounded memory on hostile input: a big file, many nodes, deep nesting. */
static void test_limits(void) {
    sg_transform_config cfg;
    size_t big = (1u << 20) + 16;
    char *text = malloc(big);
    CHECK(text != NULL);
    if (!text) return;
    memset(text, ' ', big);
    CHECK(sg_transform_parse(text, big, "big.yaml", &cfg) == -1);
    CHECK_MSG(strstr(sg_last_error(), "big.yaml: file too large") != NULL, "%s", sg_last_error());

    /* 30000 scalars in 60 kB */
    size_t n = 0;
    n += (size_t)sprintf(text + n, "quantization_config: [");
    for (int i = 0; i < 30000; i++) n += (size_t)sprintf(text + n, "0,");
    n += (size_t)sprintf(text + n, "0]\n");
    CHECK(sg_transform_parse(text, n, "nodes.yaml", &cfg) == -1);
    CHECK_MSG(strstr(sg_last_error(), "nodes.yaml:1: document too large (more than 20000 nodes)") != NULL, "%s",
              sg_last_error());

    n = (size_t)sprintf(text, "a: ");
    for (int i = 0; i < 40; i++) n += (size_t)sprintf(text + n, "[");
    for (int i = 0; i < 40; i++) n += (size_t)sprintf(text + n, "]");
    CHECK(sg_transform_parse(text, n, "deep.yaml", &cfg) == -1);
    CHECK_MSG(strstr(sg_last_error(), "deep.yaml:1: nesting deeper than 32 levels") != NULL, "%s", sg_last_error());

    const char *tagged = "quantization_config: !!python/object:os.system {by: regex}\n";
    CHECK(sg_transform_parse(tagged, strlen(tagged), "tag.yaml", &cfg) == -1);
    CHECK_MSG(strstr(sg_last_error(), "tag.yaml:1: YAML tags are not supported") != NULL, "%s", sg_last_error());
    sg_transform_free(&cfg);
    free(text);
}

int main(void) {
    const char *src = getenv("SG_SOURCE_DIR");
    snprintf(g_src, sizeof g_src, "%s", src ? src : ".");
    test_tree();
    test_shipped_configs();
    test_regex_semantics();
    test_bad_configs();
    test_limits();
    return sg_test_done();
}
