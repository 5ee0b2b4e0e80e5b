/* Transform config YAML (src/quant/transform_config.c, src/core/yaml_doc.c): parse, then apply
 * to a 2-layer module tree (PCRE2 full matching of every regex) and check SNN convertibility. */
#include "fuzz_common.h"

#include "quant/module_tree.h"
#include "quant/transform_config.h"

#define FUZZ_TC_NAME "fuzz_transform.yaml"

static int fuzz_transform_config(const uint8_t *data, size_t size) {
    sg_transform_config cfg;
    int verdict = sg_fuzz_verdict(sg_transform_parse((const char *)data, size, FUZZ_TC_NAME, &cfg), FUZZ_TC_NAME);
    if (verdict == SG_FUZZ_OK) {
        sg_module_tree tree;
        if (sg_module_tree_build(&tree, 2, SG_ACT_RELU) == 0) {
            sg_transform_result res;
            int rc = sg_transform_apply(&cfg, &tree, &res);
            verdict = sg_fuzz_verdict(rc, FUZZ_TC_NAME) == SG_FUZZ_BAD ? SG_FUZZ_BAD : SG_FUZZ_OK;
            if (rc == 0) {
                if (sg_fuzz_verdict(sg_transform_check_snn(&cfg, &tree, &res), NULL) == SG_FUZZ_BAD) verdict = SG_FUZZ_BAD;
                sg_transform_result_free(&res);
            }
            sg_module_tree_free(&tree);
        }
    }
    sg_transform_free(&cfg);
    return verdict;
}

SG_FUZZ_ENTRY(fuzz_transform_config)
