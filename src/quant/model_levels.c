#include "quant/model_levels.h"

#include "core/error.h"
#include "model/params.h"

#include <string.h>

int sg_module_levels_from_result(const sg_module_tree *tree, const sg_transform_result *res, int layers, int *levels) {
    memset(levels, 0, sizeof(int) * ((size_t)layers * QM_PER_LAYER + 1));
    for (int i = 0; i < tree->base_count && i < res->count; i++) {
        const sg_module *n = &tree->nodes[i];
        int level = res->quant_level[i];
        if (level <= 0 || n->type == SG_MOD_LSQINTEGER) continue;
        int slot;
        switch (n->kind) {
        case SG_QK_SELF_ATTN: slot = n->layer * QM_PER_LAYER + QM_SELF; break;
        case SG_QK_ATTN_OUTPUT: slot = n->layer * QM_PER_LAYER + QM_ATTN_OUT; break;
        case SG_QK_INTERMEDIATE: slot = n->layer * QM_PER_LAYER + QM_INTER; break;
        case SG_QK_FFN_OUTPUT: slot = n->layer * QM_PER_LAYER + QM_FFN_OUT; break;
        case SG_QK_CLASSIFIER: slot = layers * QM_PER_LAYER; break;
        default: return sg_fail("module '%s' has no quantized equivalent", n->name);
        }
        levels[slot] = level;
    }
    return 0;
}

int sg_module_levels_from_file(const char *path, const sg_model_config *cfg, int for_snn, int *levels, int *unfold_level) {
    sg_transform_config tc;
    sg_module_tree tree;
    sg_transform_result res;
    memset(&res, 0, sizeof res);
    if (sg_transform_load(path, &tc)) return -1;
    int rc = -1;
    if (sg_module_tree_build(&tree, cfg->layers, cfg->act)) goto free_cfg;
    if (sg_transform_apply(&tc, &tree, &res)) goto free_tree;
    if (for_snn && sg_transform_check_snn(&tc, &tree, &res)) goto free_res;
    if (sg_module_levels_from_result(&tree, &res, cfg->layers, levels)) {
        sg_fail_context("%s", path);
        goto free_res;
    }
    if (unfold_level) *unfold_level = res.fc[SG_MOD_LINEAR].op == SG_SNN_UNFOLD_BIAS ? res.fc[SG_MOD_LINEAR].level : 0;
    rc = 0;
free_res:
    sg_transform_result_free(&res);
free_tree:
    sg_module_tree_free(&tree);
free_cfg:
    sg_transform_free(&tc);
    return rc;
}
