#include "quant/transform_config.h"
#include "core/yaml_doc.h"

#include "core/error.h"
#include "model/lsq.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Bounds on what a config may cost to read (alias bombs are refused outright). */
#define MAX_FILE_BYTES (1u << 20)
#define MAX_RULES 4096
#define MAX_LEVEL SG_LSQ_MAX_LEVEL
#define MIN_QUANT_LEVEL 4
#define REGEX_MATCH_LIMIT 100000 /* backtracking steps per module name (a sane pattern needs hundreds) */
#define REGEX_HEAP_LIMIT_KIB 16384

static const char *const KEY_QUANT = "quantization_config";
static const char *const KEY_ATTN = "snn_transformer_config_attn";
static const char *const KEY_FC = "snn_transformer_config_fc";

const char *sg_snn_op_name(sg_snn_op op) {
    static const char *const names[] = {"none", "zip_tf", "unfold_bias", "identity", "st_bif"};
    return (op >= SG_SNN_NONE && op <= SG_SNN_ST_BIF) ? names[op] : "?";
}

/* ---------------------------------------------------------------------------------------------
 * Walking the document. */

typedef struct {
    const ydoc *d;
    sg_transform_config *cfg;
} walker;

#define NODE(w, i) (&(w)->d->v[i])

/* The mapping under key `key` (at `key_line`), or an error. */
static int want_map(const walker *w, int node, const char *key, int key_line) {
    const ynode *n = NODE(w, node);
    if (n->kind != YN_MAP)
        return sg_fail_at(w->d->path, key_line, "key '%s': expected a mapping, got %s", key, ydoc_kind_name(n));
    return 0;
}

/* Check that every key of a mapping is a scalar and appears once; count the pairs. */
static int check_keys(const walker *w, int map, int *pairs) {
    int count = 0;
    for (int k = NODE(w, map)->first; k >= 0; k = NODE(w, NODE(w, k)->next)->next) {
        const ynode *key = NODE(w, k);
        if (key->kind != YN_SCALAR) return sg_fail_at(w->d->path, key->line, "mapping keys must be scalars");
        if (++count > MAX_RULES) return sg_fail_at(w->d->path, key->line, "more than %d keys in one mapping", MAX_RULES);
        for (int j = NODE(w, map)->first; j != k; j = NODE(w, NODE(w, j)->next)->next)
            if (!strcmp(NODE(w, j)->text, key->text))
                return sg_fail_at(w->d->path, key->line, "key '%s': duplicate key (first on line %d)", key->text,
                               NODE(w, j)->line);
    }
    if (pairs) *pairs = count;
    return 0;
}

static int want_scalar(const walker *w, int node, const char *key, int key_line) {
    const ynode *n = NODE(w, node);
    if (n->kind != YN_SCALAR || ydoc_is_null(n))
        return sg_fail_at(w->d->path, key_line, "key '%s': expected a scalar, got %s", key, ydoc_kind_name(n));
    return 0;
}

static int parse_level(const walker *w, int node, int key_line, int min, int *out) {
    const ynode *n = NODE(w, node);
    if (want_scalar(w, node, "level", key_line)) return -1;
    const char *p = n->text;
    if (*p == '+') p++;
    long long v = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 12; p++, digits++) v = v * 10 + (*p - '0');
    if (!n->plain || digits == 0 || *p)
        return sg_fail_at(w->d->path, key_line, "key 'level': expected an integer, got %s'%s'", n->plain ? "" : "quoted ",
                       n->text);
    if (v < min || v > MAX_LEVEL)
        return sg_fail_at(w->d->path, key_line, "key 'level': %s out of range (%d..%d)", n->text, min, MAX_LEVEL);
    *out = (int)v;
    return 0;
}

static int parse_bool(const walker *w, int node, const char *key, int key_line, int *out) {
    const ynode *n = NODE(w, node);
    if (want_scalar(w, node, key, key_line)) return -1;
    static const char *const yes[] = {"true", "True", "TRUE"}, *const no[] = {"false", "False", "FALSE"};
    for (int i = 0; i < 3 && n->plain; i++) {
        if (!strcmp(n->text, yes[i])) return *out = 1, 0;
        if (!strcmp(n->text, no[i])) return *out = 0, 0;
    }
    return sg_fail_at(w->d->path, key_line, "key '%s': expected true or false, got '%s'", key, n->text);
}

/* What a `config:` mapping may hold in each place. */
typedef enum { CTX_QUANT, CTX_ATTN, CTX_FC } config_context;

typedef struct {
    const char *name;
    sg_snn_op op;
    int has_level, has_neuron;
} config_shape;

/* The single accepted `name` for a context (and fc type), with the keys it takes. */
static config_shape shape_for(config_context ctx, sg_module_type type) {
    switch (ctx) {
    case CTX_QUANT: return (config_shape){"lsqinteger", SG_SNN_NONE, 1, 0};
    case CTX_ATTN: return (config_shape){"zip_tf", SG_SNN_ZIP_TF, 1, 1};
    default: break;
    }
    switch (type) {
    case SG_MOD_EMBEDDING:
    case SG_MOD_LAYERNORM: return (config_shape){"zip_tf", SG_SNN_ZIP_TF, 0, 0};
    case SG_MOD_LINEAR: return (config_shape){"unfold_bias", SG_SNN_UNFOLD_BIAS, 1, 1};
    case SG_MOD_RELU: return (config_shape){"identity", SG_SNN_IDENTITY, 0, 0};
    default: return (config_shape){"st_bif", SG_SNN_ST_BIF, 0, 0};
    }
}

/* Parse `config: {...}` (the value node `cfg_node`, its key on `cfg_line`). */
static int parse_config_map(const walker *w, int cfg_node, int cfg_line, config_context ctx, sg_module_type type,
                            int *level, sg_snn_op *op) {
    const char *path = w->d->path;
    if (want_map(w, cfg_node, "config", cfg_line) || check_keys(w, cfg_node, NULL)) return -1;
    config_shape shape = shape_for(ctx, type);
    char expected[64];
    snprintf(expected, sizeof expected, "name%s%s", shape.has_level ? ", level" : "",
             shape.has_neuron ? ", neuron_type" : "");

    int name_line = cfg_line, name = ydoc_map_get(w->d, cfg_node, "name", &name_line);
    if (name < 0) return sg_fail_at(path, cfg_line, "key 'config': missing key 'name'");
    if (want_scalar(w, name, "name", name_line)) return -1;
    if (strcmp(NODE(w, name)->text, shape.name)) {
        const char *what = ctx == CTX_QUANT ? "quantizer" : ctx == CTX_ATTN ? "attention conversion" : "conversion";
        if (ctx == CTX_FC)
            return sg_fail_at(path, name_line, "key 'name': unknown %s '%s' for type %s (expected %s)", what,
                           NODE(w, name)->text, sg_module_type_name(type), shape.name);
        return sg_fail_at(path, name_line, "key 'name': unknown %s '%s' (expected %s)", what, NODE(w, name)->text,
                       shape.name);
    }
    *op = shape.op;
    *level = 0;
    int have_level = 0;
    for (int k = NODE(w, cfg_node)->first; k >= 0; k = NODE(w, NODE(w, k)->next)->next) {
        const ynode *key = NODE(w, k);
        int value = key->next;
        if (!strcmp(key->text, "name")) continue;
        if (shape.has_level && !strcmp(key->text, "level")) {
            int min = shape.op == SG_SNN_UNFOLD_BIAS ? 1 : MIN_QUANT_LEVEL;
            if (parse_level(w, value, key->line, min, level)) return -1;
            have_level = 1;
        } else if (shape.has_neuron && !strcmp(key->text, "neuron_type")) {
            if (want_scalar(w, value, "neuron_type", key->line)) return -1;
            if (strcmp(NODE(w, value)->text, "ST-BIF"))
                return sg_fail_at(path, key->line, "key 'neuron_type': unknown neuron '%s' (expected ST-BIF)",
                               NODE(w, value)->text);
        } else {
            return sg_fail_at(path, key->line, "key '%s': unknown key (expected %s)", key->text, expected);
        }
    }
    if (shape.has_level && !have_level) return sg_fail_at(path, cfg_line, "key 'config': missing key 'level'");
    return 0;
}

/* One entry `<key>: {config: {...}[, manual_instantiate: b]}`. */
static int parse_entry(const walker *w, int entry, const char *key, int key_line, config_context ctx,
                       sg_module_type type, int *level, sg_snn_op *op, int *manual) {
    const char *path = w->d->path;
    if (want_map(w, entry, key, key_line) || check_keys(w, entry, NULL)) return -1;
    int cfg_line = key_line, cfg = -1;
    *manual = 0;
    for (int k = NODE(w, entry)->first; k >= 0; k = NODE(w, NODE(w, k)->next)->next) {
        const ynode *kn = NODE(w, k);
        if (!strcmp(kn->text, "config")) {
            cfg = kn->next;
            cfg_line = kn->line;
        } else if (ctx == CTX_FC && !strcmp(kn->text, "manual_instantiate")) {
            if (parse_bool(w, kn->next, "manual_instantiate", kn->line, manual)) return -1;
        } else {
            return sg_fail_at(path, kn->line, "key '%s': unknown key (expected %s)", kn->text,
                           ctx == CTX_FC ? "config, manual_instantiate" : "config");
        }
    }
    if (cfg < 0) return sg_fail_at(path, key_line, "key '%s': missing key 'config'", key);
    return parse_config_map(w, cfg, cfg_line, ctx, type, level, op);
}

/* The `by:` of a section: must be present and equal `want`. */
static int check_by(const walker *w, int section, const char *section_key, int section_line, const char *want) {
    int by_line = section_line, by = ydoc_map_get(w->d, section, "by", &by_line);
    if (by < 0) return sg_fail_at(w->d->path, section_line, "key '%s': missing key 'by' (expected by: %s)", section_key, want);
    if (want_scalar(w, by, "by", by_line)) return -1;
    if (strcmp(NODE(w, by)->text, want))
        return sg_fail_at(w->d->path, by_line, "key 'by': unknown matcher '%s' (expected %s)", NODE(w, by)->text, want);
    return 0;
}

static int compile_regex(const walker *w, sg_transform_regex_rule *rule) {
    int err;
    PCRE2_SIZE offset;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)rule->pattern, PCRE2_ZERO_TERMINATED, PCRE2_ANCHORED | PCRE2_ENDANCHORED,
                                   &err, &offset, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        return sg_fail_at(w->d->path, rule->line, "key '%s': regex does not compile: %s at offset %zu", rule->pattern,
                       (const char *)msg, (size_t)offset);
    }
    rule->re = re;
    return 0;
}

static void free_rules(sg_transform_regex_rule *rules, int n) {
    for (int i = 0; i < n; i++) {
        free(rules[i].pattern);
        pcre2_code_free((pcre2_code *)rules[i].re);
    }
    free(rules);
}

static int parse_regex_section(const walker *w, int section, const char *section_key, int section_line,
                               config_context ctx, sg_transform_regex_rule **out, int *n_out) {
    int pairs;
    if (want_map(w, section, section_key, section_line) || check_keys(w, section, &pairs)) return -1;
    if (check_by(w, section, section_key, section_line, "regex")) return -1;
    if (pairs < 2) return sg_fail_at(w->d->path, section_line, "key '%s': no entries", section_key);
    sg_transform_regex_rule *rules = calloc((size_t)pairs, sizeof *rules);
    if (!rules) return sg_fail("%s: out of memory", w->d->path);
    int n = 0;
    for (int k = NODE(w, section)->first; k >= 0; k = NODE(w, NODE(w, k)->next)->next) {
        const ynode *key = NODE(w, k);
        if (!strcmp(key->text, "by")) continue;
        sg_transform_regex_rule *r = &rules[n++];
        r->line = key->line;
        r->pattern = strdup(key->text);
        sg_snn_op op;
        int manual;
        if (!r->pattern) {
            sg_fail("%s: out of memory", w->d->path);
            goto fail;
        }
        if (compile_regex(w, r) ||
            parse_entry(w, key->next, key->text, key->line, ctx, SG_MOD_CONTAINER, &r->level, &op, &manual))
            goto fail;
    }
    *out = rules;
    *n_out = n;
    return 0;
fail:
    free_rules(rules, n);
    return -1;
}

static int parse_fc_section(const walker *w, int section, int section_line, sg_transform_config *cfg) {
    const char *path = w->d->path;
    const char *expected = "embedding, layernorm, linear, relu, lsqinteger";
    int pairs;
    if (want_map(w, section, KEY_FC, section_line) || check_keys(w, section, &pairs)) return -1;
    if (check_by(w, section, KEY_FC, section_line, "type")) return -1;
    if (pairs < 2) return sg_fail_at(path, section_line, "key '%s': no entries", KEY_FC);
    for (int k = NODE(w, section)->first; k >= 0; k = NODE(w, NODE(w, k)->next)->next) {
        const ynode *key = NODE(w, k);
        if (!strcmp(key->text, "by")) continue;
        int type = sg_module_type_from_name(key->text);
        if (type == SG_MOD_GELU)
            return sg_fail_at(path, key->line, "key 'gelu': type gelu has no spiking equivalent (expected %s)", expected);
        if (type == SG_MOD_ATTENTION)
            return sg_fail_at(path, key->line, "key 'attention': attention is converted by %s, not by type (expected %s)",
                           KEY_ATTN, expected);
        if (type < 0 || type == SG_MOD_CONTAINER)
            return sg_fail_at(path, key->line, "key '%s': unknown type (expected %s)", key->text, expected);
        sg_transform_fc_rule *r = &cfg->fc[cfg->n_fc++];
        r->type = (sg_module_type)type;
        r->line = key->line;
        if (parse_entry(w, key->next, key->text, key->line, CTX_FC, r->type, &r->level, &r->op, &r->manual_instantiate))
            return -1;
        /* their equivalents take θ, S_min, S_max from the module they replace (reference: manual) */
        if ((r->op == SG_SNN_ST_BIF || r->op == SG_SNN_IDENTITY) && !r->manual_instantiate)
            return sg_fail_at(path, key->line,
                           "key '%s': %s must be instantiated manually from the module it replaces "
                           "(add manual_instantiate: true)",
                           key->text, sg_snn_op_name(r->op));
    }
    return 0;
}

static int parse_document(const walker *w, int root) {
    const char *path = w->d->path;
    const char *expected = "quantization_config, snn_transformer_config_attn, snn_transformer_config_fc";
    if (root == -2) return sg_fail_at(path, 0, "empty file (expected %s)", expected);
    if (NODE(w, root)->kind != YN_MAP)
        return sg_fail_at(path, NODE(w, root)->line, "expected a mapping at the top level, got %s", ydoc_kind_name(NODE(w, root)));
    if (check_keys(w, root, NULL)) return -1;
    int seen[3] = {0, 0, 0};
    for (int k = NODE(w, root)->first; k >= 0; k = NODE(w, NODE(w, k)->next)->next) {
        const ynode *key = NODE(w, k);
        int rc;
        if (!strcmp(key->text, KEY_QUANT)) {
            rc = parse_regex_section(w, key->next, KEY_QUANT, key->line, CTX_QUANT, &w->cfg->quant, &w->cfg->n_quant);
            seen[0] = 1;
        } else if (!strcmp(key->text, KEY_ATTN)) {
            rc = parse_regex_section(w, key->next, KEY_ATTN, key->line, CTX_ATTN, &w->cfg->attn, &w->cfg->n_attn);
            seen[1] = 1;
        } else if (!strcmp(key->text, KEY_FC)) {
            rc = parse_fc_section(w, key->next, key->line, w->cfg);
            seen[2] = 1;
        } else {
            rc = sg_fail_at(path, key->line, "key '%s': unknown key (expected %s)", key->text, expected);
        }
        if (rc) return -1;
    }
    const char *keys[3] = {KEY_QUANT, KEY_ATTN, KEY_FC};
    for (int i = 0; i < 3; i++)
        if (!seen[i]) return sg_fail_at(path, 0, "missing top-level key '%s'", keys[i]);
    return 0;
}

int sg_transform_parse(const char *text, size_t len, const char *name, sg_transform_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->path, sizeof cfg->path, "%s", name);
    if (len > MAX_FILE_BYTES) return sg_fail_at(cfg->path, 0, "file too large (%zu bytes, at most %u)", len, MAX_FILE_BYTES);
    ydoc d = {.path = cfg->path};
    int root = ydoc_parse(&d, text, len);
    int rc = root == -1 ? -1 : parse_document(&(walker){&d, cfg}, root);
    ydoc_free(&d);
    if (rc) {
        char keep[SG_TRANSFORM_PATH_MAX];
        memcpy(keep, cfg->path, sizeof keep);
        sg_transform_free(cfg);
        memcpy(cfg->path, keep, sizeof keep);
    }
    return rc;
}

int sg_transform_load(const char *path, sg_transform_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    FILE *f = fopen(path, "rb");
    if (!f) return sg_fail("%s: cannot open: %s", path, strerror(errno));
    char *buf = malloc(MAX_FILE_BYTES + 1);
    if (!buf) {
        fclose(f);
        return sg_fail("%s: out of memory", path);
    }
    size_t len = fread(buf, 1, MAX_FILE_BYTES + 1, f);
    int read_error = ferror(f);
    fclose(f);
    int rc;
    if (read_error) rc = sg_fail("%s: read error", path);
    else if (len > MAX_FILE_BYTES) rc = sg_fail("%s: file too large (more than %u bytes)", path, MAX_FILE_BYTES);
    else rc = sg_transform_parse(buf, len, path, cfg);
    free(buf);
    return rc;
}

void sg_transform_free(sg_transform_config *cfg) {
    free_rules(cfg->quant, cfg->n_quant);
    free_rules(cfg->attn, cfg->n_attn);
    memset(cfg, 0, sizeof *cfg);
}

/* ---------------------------------------------------------------------------------------------
 * Applying a config to a module tree. */

typedef struct {
    pcre2_match_data *md;
    pcre2_match_context *mc;
} matcher;

/* 1 if the rule fully matches `name`, 0 if not, -1 on a matching error (e.g. too much backtracking). */
static int rule_matches(const sg_transform_config *cfg, const sg_transform_regex_rule *r, matcher *m, const char *name) {
    int rc = pcre2_match((const pcre2_code *)r->re, (PCRE2_SPTR)name, strlen(name), 0,
                         PCRE2_ANCHORED | PCRE2_ENDANCHORED, m->md, m->mc);
    if (rc >= 0) return 1;
    if (rc == PCRE2_ERROR_NOMATCH) return 0;
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(rc, msg, sizeof msg);
    return sg_fail_at(cfg->path, r->line, "key '%s': matching '%s' failed: %s", r->pattern, name, (const char *)msg);
}

/* Match every rule on the base tree; winner[node] = last matching rule. `accept` vets a match. */
typedef int (*accept_fn)(const sg_transform_config *cfg, const sg_transform_regex_rule *r, const sg_module_tree *t,
                         int node, const int *quant_rule);

static int resolve(const sg_transform_config *cfg, const sg_transform_regex_rule *rules, int n_rules,
                   const sg_module_tree *t, matcher *m, accept_fn accept, const int *quant_rule, int *winner) {
    for (int i = 0; i < t->base_count; i++) winner[i] = -1;
    for (int r = 0; r < n_rules; r++) {
        int matched = 0;
        for (int i = 0; i < t->base_count; i++) {
            int hit = rule_matches(cfg, &rules[r], m, t->nodes[i].name);
            if (hit < 0) return -1;
            if (!hit) continue;
            if (accept(cfg, &rules[r], t, i, quant_rule)) return -1;
            winner[i] = r;
            matched++;
        }
        if (!matched) return sg_fail_at(cfg->path, rules[r].line, "key '%s': regex matches no module", rules[r].pattern);
    }
    /* a rule that matched but won nowhere was overridden everywhere: report the first override */
    for (int r = 0; r < n_rules; r++) {
        int won = 0, later = -1;
        for (int i = 0; i < t->base_count && !won; i++) {
            if (winner[i] == r) won = 1;
            else if (winner[i] > r && later < 0) {
                int hit = rule_matches(cfg, &rules[r], m, t->nodes[i].name);
                if (hit < 0) return -1;
                if (hit) later = i;
            }
        }
        if (!won)
            return sg_fail_at(cfg->path, rules[r].line,
                           "key '%s': every module it matches is overridden by a later entry (e.g. '%s' by line %d)",
                           rules[r].pattern, t->nodes[later].name, rules[winner[later]].line);
    }
    return 0;
}

static int accept_quant(const sg_transform_config *cfg, const sg_transform_regex_rule *r, const sg_module_tree *t,
                        int node, const int *quant_rule) {
    (void)quant_rule;
    const sg_module *mod = &t->nodes[node];
    if (mod->kind == SG_QK_NONE)
        return sg_fail_at(cfg->path, r->line,
                       "key '%s': matches module '%s' (%s), which has no quantized equivalent (quantizable: "
                       "*.attention.self, *.attention.output, *.intermediate, *.output, classifier)",
                       r->pattern, mod->name, mod->class_name);
    return 0;
}

static int accept_attn(const sg_transform_config *cfg, const sg_transform_regex_rule *r, const sg_module_tree *t,
                       int node, const int *quant_rule) {
    const sg_module *mod = &t->nodes[node];
    if (mod->type != SG_MOD_ATTENTION)
        return sg_fail_at(cfg->path, r->line, "key '%s': matches module '%s' (%s), which is not a self-attention module",
                       r->pattern, mod->name, mod->class_name);
    if (quant_rule[node] < 0)
        return sg_fail_at(cfg->path, r->line,
                       "key '%s': matches module '%s', which is not quantized (zip_tf attention needs its "
                       "quantizers: add it to %s)",
                       r->pattern, mod->name, KEY_QUANT);
    return 0;
}

void sg_transform_result_free(sg_transform_result *res) {
    free(res->quant_level);
    free(res->quant_rule);
    free(res->attn_level);
    free(res->attn_rule);
    memset(res, 0, sizeof *res);
}

static int alloc_result(sg_transform_result *res, int count) {
    res->count = count;
    res->quant_level = calloc((size_t)count, sizeof(int));
    res->quant_rule = malloc((size_t)count * sizeof(int));
    res->attn_level = calloc((size_t)count, sizeof(int));
    res->attn_rule = malloc((size_t)count * sizeof(int));
    if (!res->quant_level || !res->quant_rule || !res->attn_level || !res->attn_rule) return sg_fail("out of memory");
    for (int i = 0; i < count; i++) res->quant_rule[i] = res->attn_rule[i] = -1;
    return 0;
}

int sg_transform_apply(const sg_transform_config *cfg, sg_module_tree *t, sg_transform_result *res) {
    memset(res, 0, sizeof *res);
    sg_module_tree_drop_quantizers(t);
    int rc = -1;
    int *quant = malloc((size_t)t->base_count * sizeof(int));
    int *attn = malloc((size_t)t->base_count * sizeof(int));
    matcher m = {NULL, pcre2_match_context_create(NULL)};
    if (m.mc) {
        pcre2_set_match_limit(m.mc, REGEX_MATCH_LIMIT);
        pcre2_set_heap_limit(m.mc, REGEX_HEAP_LIMIT_KIB);
    }
    for (int r = 0; r < cfg->n_quant && !m.md; r++) m.md = pcre2_match_data_create_from_pattern(cfg->quant[r].re, NULL);
    if (!quant || !attn || !m.mc || (cfg->n_quant && !m.md)) {
        sg_fail("out of memory");
        goto done;
    }
    if (resolve(cfg, cfg->quant, cfg->n_quant, t, &m, accept_quant, NULL, quant)) goto done;
    if (resolve(cfg, cfg->attn, cfg->n_attn, t, &m, accept_attn, quant, attn)) goto done;
    for (int i = 0; i < t->base_count; i++)
        if (quant[i] >= 0 && sg_module_tree_add_quantizers(t, i, cfg->quant[quant[i]].level)) goto done;
    if (alloc_result(res, t->count)) goto done;
    for (int i = 0; i < t->base_count; i++) {
        if (quant[i] >= 0) {
            res->quant_rule[i] = quant[i];
            res->quant_level[i] = cfg->quant[quant[i]].level;
        }
        if (attn[i] >= 0) {
            res->attn_rule[i] = attn[i];
            res->attn_level[i] = cfg->attn[attn[i]].level;
        }
    }
    for (int i = t->base_count; i < t->count; i++) {
        int owner = t->nodes[i].parent;
        res->quant_rule[i] = res->quant_rule[owner];
        res->quant_level[i] = res->quant_level[owner];
    }
    for (int r = 0; r < cfg->n_fc; r++) {
        const sg_transform_fc_rule *fc = &cfg->fc[r];
        int present = 0;
        for (int i = 0; i < t->count && !present; i++) present = t->nodes[i].type == fc->type;
        if (!present) {
            sg_fail_at(cfg->path, fc->line, "key '%s': no module of type %s in the model%s", sg_module_type_name(fc->type),
                    sg_module_type_name(fc->type),
                    fc->type == SG_MOD_RELU && t->act == SG_ACT_GELU ? " (its hidden_act is gelu)" : "");
            goto done;
        }
        res->fc[fc->type] = *fc;
    }
    rc = 0;
done:
    if (rc) {
        sg_transform_result_free(res);
        sg_module_tree_drop_quantizers(t);
    }
    free(quant);
    free(attn);
    pcre2_match_data_free(m.md);
    pcre2_match_context_free(m.mc);
    return rc;
}

int sg_transform_check_snn(const sg_transform_config *cfg, const sg_module_tree *t, const sg_transform_result *res) {
    if (res->count != t->count) return sg_fail("%s: the transform was applied to another tree", cfg->path);
    for (int i = 0; i < t->count; i++) {
        const sg_module *m = &t->nodes[i];
        if (m->type == SG_MOD_GELU)
            return sg_fail("module '%s' (%s) has no spiking equivalent: the model's hidden_act must be relu", m->name,
                           m->class_name);
        if (m->type != SG_MOD_CONTAINER && m->type != SG_MOD_ATTENTION && res->fc[m->type].op == SG_SNN_NONE)
            return sg_fail_at(cfg->path, 0, "module '%s' (type %s) has no %s entry", m->name, sg_module_type_name(m->type),
                           KEY_FC);
        switch (m->type) {
        case SG_MOD_ATTENTION: {
            if (res->attn_rule[i] < 0)
                return sg_fail_at(cfg->path, 0, "module '%s' is not converted: no %s entry matches it", m->name, KEY_ATTN);
            const sg_transform_regex_rule *r = &cfg->attn[res->attn_rule[i]];
            if (res->attn_level[i] != res->quant_level[i])
                return sg_fail_at(cfg->path, r->line,
                               "key '%s': zip_tf level %d for '%s' differs from its quantization level %d (line %d); "
                               "the neurons copy their bounds from the quantizers",
                               r->pattern, res->attn_level[i], m->name, res->quant_level[i],
                               cfg->quant[res->quant_rule[i]].line);
            break;
        }
        case SG_MOD_RELU: {
            int owner = m->parent, level = res->quant_level[owner];
            if (level <= 0 || level >= SG_LSQ_FULL_LEVEL)
                return sg_fail_at(cfg->path, res->fc[SG_MOD_RELU].line,
                               "key 'relu': identity replaces '%s' exactly only after the unsigned neuron of a "
                               "quantized '%s', which %s",
                               m->name, t->nodes[owner].name,
                               level <= 0 ? "is not quantized" : "quantizes nothing (level >= 256)");
            break;
        }
        default: break;
        }
    }
    return 0;
}
