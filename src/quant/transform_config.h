/* The transform config (spec §7): which modules are quantized (and at which level), which
 * self-attention modules become SpikeZIP-TF attention, and what each remaining module type turns
 * into in the spiking network.
 *
 *   quantization_config:         by: regex   <regex>: {config: {name: lsqinteger, level: L}}
 *   snn_transformer_config_attn: by: regex   <regex>: {config: {name: zip_tf, level: L, neuron_type: ST-BIF}}
 *   snn_transformer_config_fc:   by: type    <type>:  {[manual_instantiate: bool,] config: {name: ...}}
 *       embedding, layernorm -> zip_tf;  linear -> unfold_bias (level, neuron_type);
 *       relu -> identity;  lsqinteger -> st_bif   (relu and lsqinteger need manual_instantiate: true:
 *       their equivalents copy parameters from the module they replace, as in the reference)
 *
 * Semantics and decisions:
 * - Regexes are Python `re` patterns applied with full-match semantics (PCRE2, anchored at both
 *   ends) to the module names of the base tree (module_tree.h). Keys may be plain or quoted scalars.
 * - When several regexes match one module, the later one in the file wins (the reference's dict
 *   order). A regex that matches no module, or whose every match is overridden by a later entry,
 *   is an error: nothing in the file is a silent no-op. So is an fc type with no module of it.
 * - Levels are decimal integers. Quantizer levels (quantization_config, attention zip_tf) must be
 *   in 4..2^30: signed quantizers need Qp = L/2 - 1 >= 1; L >= 256 means "no quantization", as in
 *   the reference. Odd levels are accepted and follow the reference's integer division. The
 *   unfold_bias level is a number of time steps: 1..2^30.
 * - neuron_type may be omitted (default ST-BIF); ST-BIF is the only neuron.
 * - The YAML must be one document, at most 1 MiB, at most 20000 nodes, nesting at most 32 deep;
 *   anchors, aliases and explicit tags are refused, duplicate keys are errors.
 * Errors name the file and line: "configs/x.yaml:7: key 'levl': unknown key (expected name, level)". */
#ifndef SG_TRANSFORM_CONFIG_H
#define SG_TRANSFORM_CONFIG_H

#include <stddef.h>

#include "quant/module_tree.h"

typedef enum { SG_SNN_NONE = 0, SG_SNN_ZIP_TF, SG_SNN_UNFOLD_BIAS, SG_SNN_IDENTITY, SG_SNN_ST_BIF } sg_snn_op;
/* "none", "zip_tf", "unfold_bias", "identity", "st_bif" */
const char *sg_snn_op_name(sg_snn_op op);

#define SG_TRANSFORM_PATH_MAX 1024

typedef struct {
    char *pattern; /* the regex as written (after YAML unquoting) */
    int line;      /* of its key */
    void *re;      /* compiled pcre2_code */
    int level;
} sg_transform_regex_rule;

typedef struct {
    sg_module_type type;
    int line;
    sg_snn_op op;
    int level; /* unfold_bias: bias unfolding steps; 0 otherwise */
    int manual_instantiate;
} sg_transform_fc_rule;

typedef struct {
    char path[SG_TRANSFORM_PATH_MAX]; /* for messages */
    sg_transform_regex_rule *quant; /* quantization_config, file order */
    int n_quant;
    sg_transform_regex_rule *attn; /* snn_transformer_config_attn, file order */
    int n_attn;
    sg_transform_fc_rule fc[SG_MOD_NTYPES]; /* snn_transformer_config_fc, file order */
    int n_fc;
} sg_transform_config;

/* Read and validate a config file. On error: -1, a message naming the file and line, and *cfg
 * holds nothing to free (sg_transform_free is still safe). */
int sg_transform_load(const char *path, sg_transform_config *cfg);
/* The same from memory; `name` stands for the path in messages. */
int sg_transform_parse(const char *text, size_t len, const char *name, sg_transform_config *cfg);
void sg_transform_free(sg_transform_config *cfg);

typedef struct {
    int count;        /* nodes of the tree after apply (base + quantizers) */
    int *quant_level; /* per node: its quantization level for quantized modules and their quantizers, else 0 */
    int *quant_rule;  /* per node: index in cfg->quant of the winning entry, else -1 */
    int *attn_level;  /* per node: the zip_tf level for attention modules to convert, else 0 */
    int *attn_rule;   /* per node: index in cfg->attn, else -1 */
    sg_transform_fc_rule fc[SG_MOD_NTYPES]; /* per module type; op SG_SNN_NONE when not converted */
} sg_transform_result;

/* Resolve the config on the tree: quantize the matched modules (adds their quantizer nodes to the
 * tree, after dropping any from an earlier apply), pick the attention modules to convert, and the
 * conversion per type. Errors (file:line): a regex matching no module or only overridden ones, a
 * quantization regex matching a module with no quantized equivalent, an attention regex matching
 * a module that is not a quantized self-attention, an fc type with no module in the tree. */
int sg_transform_apply(const sg_transform_config *cfg, sg_module_tree *tree, sg_transform_result *res);
void sg_transform_result_free(sg_transform_result *res);

/* Can the applied transform be converted to an exactly equivalent spiking network? Checks that
 * every module has a conversion (gelu has none), every self-attention is quantized and converted
 * with its quantization level, and every relu follows a quantized intermediate (identity is exact
 * only after an unsigned neuron). 0 or -1 with the reason. */
int sg_transform_check_snn(const sg_transform_config *cfg, const sg_module_tree *tree,
                           const sg_transform_result *res);

#endif
