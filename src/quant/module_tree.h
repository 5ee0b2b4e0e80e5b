/* The RoBERTa-for-classification model as a tree of named, typed modules, with HuggingFace's
 * names (those of `model.named_modules()`, root excluded). Both matchers of the transform config
 * walk it: the regexes match full names, the fc section matches types. Only names and types live
 * here; the tensors belong to the model.
 *
 * Nodes are stored in pre-order (a parent before its children). Quantizer nodes (type lsqinteger,
 * spec §2's table) are appended after the base nodes by sg_module_tree_add_quantizers when a
 * quantizable module is quantized, and removed by sg_module_tree_drop_quantizers. */
#ifndef SG_MODULE_TREE_H
#define SG_MODULE_TREE_H

#include "model/config.h"

typedef enum {
    SG_MOD_CONTAINER = 0, /* a module that only groups others (RobertaLayer, RobertaSelfOutput, ...) */
    SG_MOD_EMBEDDING,
    SG_MOD_LAYERNORM,
    SG_MOD_LINEAR,
    SG_MOD_RELU,
    SG_MOD_GELU, /* hidden_act gelu: no spiking equivalent */
    SG_MOD_ATTENTION, /* RobertaSelfAttention */
    SG_MOD_LSQINTEGER,
    SG_MOD_NTYPES
} sg_module_type;

/* Lower-case type names as the fc config spells them: "container", "embedding", "layernorm",
 * "linear", "relu", "gelu", "attention", "lsqinteger". */
const char *sg_module_type_name(sg_module_type type);
/* The type spelled `name`, or -1. */
int sg_module_type_from_name(const char *name);

/* Which quantizable module a node is (for quantizer nodes: which module owns them). */
typedef enum {
    SG_QK_NONE = 0,
    SG_QK_SELF_ATTN,    /* roberta.encoder.layer.i.attention.self */
    SG_QK_ATTN_OUTPUT,  /* roberta.encoder.layer.i.attention.output */
    SG_QK_INTERMEDIATE, /* roberta.encoder.layer.i.intermediate */
    SG_QK_FFN_OUTPUT,   /* roberta.encoder.layer.i.output */
    SG_QK_CLASSIFIER,   /* classifier */
    SG_QK_COUNT
} sg_quant_kind;

typedef struct {
    const char *name; /* child name, e.g. "query_quan" */
    int is_signed;    /* 1: sym, n in [-L/2, L/2-1]; 0: n in [0, L-1] */
} sg_quantizer_spec;

/* The quantizers a quantizable module owns, in spec §2's order; *count gets their number
 * (0 for SG_QK_NONE). */
const sg_quantizer_spec *sg_quantizer_specs(sg_quant_kind kind, int *count);
/* Most quantizers one module owns (the self-attention's 5). */
#define SG_MAX_QUANTIZERS_PER_MODULE 5

typedef sg_activation sg_hidden_act; /* the model's hidden_act (model/config.h) */

#define SG_MODULE_NAME_MAX 96
#define SG_MAX_LAYERS 1024

typedef struct {
    char name[SG_MODULE_NAME_MAX]; /* full dotted name, e.g. "roberta.encoder.layer.3.attention.self" */
    const char *class_name;        /* the PyTorch class, for messages: "RobertaSelfAttention", "Linear" */
    sg_module_type type;
    int parent;         /* node index, -1 for the top-level modules "roberta" and "classifier" */
    int layer;          /* encoder layer index, -1 outside the encoder layers */
    sg_quant_kind kind; /* quantizable modules and their quantizers; SG_QK_NONE otherwise */
    int quantizer;      /* lsqinteger nodes: index into sg_quantizer_specs(kind); -1 otherwise */
    int is_signed;      /* lsqinteger nodes */
    int level;          /* lsqinteger nodes: the quantization level */
} sg_module;

typedef struct {
    sg_module *nodes;
    int count;      /* all nodes, quantizers included */
    int base_count; /* nodes before any quantizer */
    int capacity;
    int num_layers;
    sg_hidden_act act;
} sg_module_tree;

/* Build the tree of a RoBERTa classifier with `num_layers` encoder layers (1..SG_MAX_LAYERS).
 * 0 or -1 (sg_fail). */
int sg_module_tree_build(sg_module_tree *tree, int num_layers, sg_hidden_act act);
void sg_module_tree_free(sg_module_tree *tree);

/* Index of the node named `name`, or -1. */
int sg_module_tree_find(const sg_module_tree *tree, const char *name);
/* Index of the quantizable module of `kind` in `layer` (ignored for SG_QK_CLASSIFIER), or -1. */
int sg_module_tree_quantizable(const sg_module_tree *tree, sg_quant_kind kind, int layer);

/* Append the quantizer children of the quantizable node `node` at `level`. Fails if the node is
 * not quantizable or already has quantizers. */
int sg_module_tree_add_quantizers(sg_module_tree *tree, int node, int level);
/* Index of the first quantizer child of `node` (they are consecutive, in spec order), or -1. */
int sg_module_tree_first_quantizer(const sg_module_tree *tree, int node);
/* Remove every quantizer node (back to the base tree). */
void sg_module_tree_drop_quantizers(sg_module_tree *tree);

#endif
