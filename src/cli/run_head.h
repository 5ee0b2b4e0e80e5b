/* Loading a checkpoint's weights into the task's model as run_glue.py does: a classifier with another
 * number of labels is refused, or re-initialised with --ignore_mismatched_sizes (from_pretrained's
 * ignore_mismatched_sizes); a classifier trained with the task's labels in another order is
 * permuted into the task's order (run_glue.py's label_to_id), so predictions keep their meaning. */
#ifndef SG_RUN_HEAD_H
#define SG_RUN_HEAD_H

#include "data/glue.h"
#include "io/checkpoint.h"

/* dir holds model.safetensors and (optionally) config.json; m has the task's head and levels
 * (module_levels: NULL unless quantized). Prints one line for each thing it did to the head. */
int sg_run_load_checkpoint(sg_model *m, const char *dir, const int *module_levels, const sg_glue_task *task,
                           int ignore_mismatched_sizes, uint64_t seed, sg_load_report *rep);

#endif
