/* From a transform config to the model: which quantizable modules get quantizers, at which
 * level, in the model's layout (model/params.h: [layers * QM_PER_LAYER + 1], classifier last). */
#ifndef SG_MODEL_LEVELS_H
#define SG_MODEL_LEVELS_H

#include "model/config.h"
#include "quant/transform_config.h"

/* levels must hold cfg->layers * QM_PER_LAYER + 1 ints; 0 marks an unquantized module. */
int sg_module_levels_from_result(const sg_module_tree *tree, const sg_transform_result *res, int layers, int *levels);

/* Load `path`, apply it to the module tree of `cfg` and fill levels. With `for_snn`, also check
 * that the config converts the model to a spiking network exactly (sg_transform_check_snn).
 * unfold_level (may be NULL): the unfold_bias level of linears (0 when not converted). */
int sg_module_levels_from_file(const char *path, const sg_model_config *cfg, int for_snn, int *levels, int *unfold_level);

#endif
