#include "quant/module_tree.h"

#include "core/error.h"
#include "core/grow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const g_type_names[SG_MOD_NTYPES] = {
    "container", "embedding", "layernorm", "linear", "relu", "gelu", "attention", "lsqinteger",
};

const char *sg_module_type_name(sg_module_type type) {
    return (type >= 0 && type < SG_MOD_NTYPES) ? g_type_names[type] : "?";
}

int sg_module_type_from_name(const char *name) {
    for (int t = 0; t < SG_MOD_NTYPES; t++)
        if (strcmp(name, g_type_names[t]) == 0) return t;
    return -1;
}

/* spec §2: where each quantizer sits, in order, with its signedness */
static const sg_quantizer_spec g_self_attn[] = {
    {"query_quan", 1}, {"key_quan", 1}, {"value_quan", 1}, {"attn_quan", 0}, {"after_attn_quan", 0},
};
static const sg_quantizer_spec g_block_output[] = {{"dense_quan", 1}, {"dense_quan_after_ln", 1}};
static const sg_quantizer_spec g_intermediate[] = {{"dense_quan", 0}};
static const sg_quantizer_spec g_classifier[] = {{"dense_quan", 0}};

const sg_quantizer_spec *sg_quantizer_specs(sg_quant_kind kind, int *count) {
    switch (kind) {
    case SG_QK_SELF_ATTN: *count = 5; return g_self_attn;
    case SG_QK_ATTN_OUTPUT:
    case SG_QK_FFN_OUTPUT: *count = 2; return g_block_output;
    case SG_QK_INTERMEDIATE: *count = 1; return g_intermediate;
    case SG_QK_CLASSIFIER: *count = 1; return g_classifier;
    default: *count = 0; return NULL;
    }
}

static int grow(sg_module_tree *t, int need) {
    size_t cap = (size_t)t->capacity;
    if (sg_grow((void **)&t->nodes, &cap, (size_t)need, sizeof *t->nodes, 64))
        return sg_fail_context("module tree (%d nodes)", need);
    t->capacity = (int)cap;
    return 0;
}

/* Append a node named parent's name + "." + leaf (or just leaf at the top). Returns its index. */
static int add(sg_module_tree *t, int parent, const char *leaf, sg_module_type type, const char *class_name,
               int layer, sg_quant_kind kind) {
    if (grow(t, t->count + 1)) return -1;
    sg_module *m = &t->nodes[t->count];
    memset(m, 0, sizeof *m);
    int len = parent < 0 ? snprintf(m->name, sizeof m->name, "%s", leaf)
                         : snprintf(m->name, sizeof m->name, "%s.%s", t->nodes[parent].name, leaf);
    if (len < 0 || (size_t)len >= sizeof m->name) return sg_fail("module tree: name too long: %s", leaf);
    m->class_name = class_name;
    m->type = type;
    m->parent = parent;
    m->layer = layer;
    m->kind = kind;
    m->quantizer = -1;
    return t->count++;
}

/* Add a node or leave through `fail`, so the builders below read like the module list. */
#define ADD(var, parent, leaf, type, cls, layer, kind)                         \
    do {                                                                       \
        var = add(t, parent, leaf, type, cls, layer, kind);                    \
        if (var < 0) goto fail;                                                \
    } while (0)

static int add_layer(sg_module_tree *t, int layer_list, int i) {
    char leaf[16];
    snprintf(leaf, sizeof leaf, "%d", i);
    int layer, attn, self, out, inter, ffn, n;
    ADD(layer, layer_list, leaf, SG_MOD_CONTAINER, "RobertaLayer", i, SG_QK_NONE);
    ADD(attn, layer, "attention", SG_MOD_CONTAINER, "RobertaAttention", i, SG_QK_NONE);
    ADD(self, attn, "self", SG_MOD_ATTENTION, "RobertaSelfAttention", i, SG_QK_SELF_ATTN);
    ADD(n, self, "query", SG_MOD_LINEAR, "Linear", i, SG_QK_NONE);
    ADD(n, self, "key", SG_MOD_LINEAR, "Linear", i, SG_QK_NONE);
    ADD(n, self, "value", SG_MOD_LINEAR, "Linear", i, SG_QK_NONE);
    ADD(out, attn, "output", SG_MOD_CONTAINER, "RobertaSelfOutput", i, SG_QK_ATTN_OUTPUT);
    ADD(n, out, "dense", SG_MOD_LINEAR, "Linear", i, SG_QK_NONE);
    ADD(n, out, "LayerNorm", SG_MOD_LAYERNORM, "LayerNorm", i, SG_QK_NONE);
    ADD(inter, layer, "intermediate", SG_MOD_CONTAINER, "RobertaIntermediate", i, SG_QK_INTERMEDIATE);
    ADD(n, inter, "dense", SG_MOD_LINEAR, "Linear", i, SG_QK_NONE);
    if (t->act == SG_ACT_RELU)
        ADD(n, inter, "intermediate_act_fn", SG_MOD_RELU, "ReLU", i, SG_QK_NONE);
    else
        ADD(n, inter, "intermediate_act_fn", SG_MOD_GELU, "GELUActivation", i, SG_QK_NONE);
    ADD(ffn, layer, "output", SG_MOD_CONTAINER, "RobertaOutput", i, SG_QK_FFN_OUTPUT);
    ADD(n, ffn, "dense", SG_MOD_LINEAR, "Linear", i, SG_QK_NONE);
    ADD(n, ffn, "LayerNorm", SG_MOD_LAYERNORM, "LayerNorm", i, SG_QK_NONE);
    (void)n;
    return 0;
fail:
    return -1;
}

int sg_module_tree_build(sg_module_tree *t, int num_layers, sg_hidden_act act) {
    memset(t, 0, sizeof *t);
    if (num_layers < 1 || num_layers > SG_MAX_LAYERS)
        return sg_fail("module tree: num_layers %d out of range (1..%d)", num_layers, SG_MAX_LAYERS);
    if (act != SG_ACT_RELU && act != SG_ACT_GELU) return sg_fail("module tree: unknown hidden_act %d", (int)act);
    t->num_layers = num_layers;
    t->act = act;
    int roberta, emb, enc, list, cls, n;
    ADD(roberta, -1, "roberta", SG_MOD_CONTAINER, "RobertaModel", -1, SG_QK_NONE);
    ADD(emb, roberta, "embeddings", SG_MOD_CONTAINER, "RobertaEmbeddings", -1, SG_QK_NONE);
    ADD(n, emb, "word_embeddings", SG_MOD_EMBEDDING, "Embedding", -1, SG_QK_NONE);
    ADD(n, emb, "position_embeddings", SG_MOD_EMBEDDING, "Embedding", -1, SG_QK_NONE);
    ADD(n, emb, "token_type_embeddings", SG_MOD_EMBEDDING, "Embedding", -1, SG_QK_NONE);
    ADD(n, emb, "LayerNorm", SG_MOD_LAYERNORM, "LayerNorm", -1, SG_QK_NONE);
    ADD(enc, roberta, "encoder", SG_MOD_CONTAINER, "RobertaEncoder", -1, SG_QK_NONE);
    /* the nn.ModuleList holding the layers is a module of its own in named_modules() */
    ADD(list, enc, "layer", SG_MOD_CONTAINER, "ModuleList", -1, SG_QK_NONE);
    for (int i = 0; i < num_layers; i++)
        if (add_layer(t, list, i)) goto fail;
    ADD(cls, -1, "classifier", SG_MOD_CONTAINER, "RobertaClassificationHead", -1, SG_QK_CLASSIFIER);
    ADD(n, cls, "dense", SG_MOD_LINEAR, "Linear", -1, SG_QK_NONE);
    ADD(n, cls, "out_proj", SG_MOD_LINEAR, "Linear", -1, SG_QK_NONE);
    (void)n;
    t->base_count = t->count;
    return 0;
fail:
    sg_module_tree_free(t);
    return -1;
}

#undef ADD

void sg_module_tree_free(sg_module_tree *t) {
    free(t->nodes);
    memset(t, 0, sizeof *t);
}

int sg_module_tree_find(const sg_module_tree *t, const char *name) {
    for (int i = 0; i < t->count; i++)
        if (strcmp(t->nodes[i].name, name) == 0) return i;
    return -1;
}

int sg_module_tree_quantizable(const sg_module_tree *t, sg_quant_kind kind, int layer) {
    for (int i = 0; i < t->base_count; i++) {
        const sg_module *m = &t->nodes[i];
        if (m->kind == kind && m->quantizer < 0 && (kind == SG_QK_CLASSIFIER || m->layer == layer)) return i;
    }
    return -1;
}

int sg_module_tree_first_quantizer(const sg_module_tree *t, int node) {
    for (int i = t->base_count; i < t->count; i++)
        if (t->nodes[i].parent == node) return i;
    return -1;
}

int sg_module_tree_add_quantizers(sg_module_tree *t, int node, int level) {
    if (node < 0 || node >= t->base_count) return sg_fail("module tree: no module %d", node);
    const sg_module *owner = &t->nodes[node];
    int count;
    const sg_quantizer_spec *specs = sg_quantizer_specs(owner->kind, &count);
    if (!count) return sg_fail("module tree: module '%s' (%s) has no quantizers", owner->name, owner->class_name);
    if (sg_module_tree_first_quantizer(t, node) >= 0)
        return sg_fail("module tree: module '%s' is already quantized", owner->name);
    int layer = owner->layer;
    sg_quant_kind kind = owner->kind;
    for (int q = 0; q < count; q++) {
        int idx = add(t, node, specs[q].name, SG_MOD_LSQINTEGER, "LSQInteger", layer, kind);
        if (idx < 0) return -1;
        t->nodes[idx].quantizer = q;
        t->nodes[idx].is_signed = specs[q].is_signed;
        t->nodes[idx].level = level;
    }
    return 0;
}

void sg_module_tree_drop_quantizers(sg_module_tree *t) { t->count = t->base_count; }
