/* HF-shaped result files: metrics as "eval_<name><suffix>", JSON written atomically. */
#ifndef SG_RUN_RESULTS_H
#define SG_RUN_RESULTS_H

#include "data/metrics.h"
#include "train/evaluate.h"

#include <cjson/cJSON.h>

/* Adds <prefix>_loss, <prefix>_<metric>..., runtime, samples and rates, each name + suffix ("" or "_mm"). */
void sg_results_add_eval(cJSON *obj, const char *prefix, const char *suffix, const sg_eval_result *r, int batch_size);
int sg_results_write(const char *dir, const char *file, const cJSON *obj);
/* Merges every key of src into dst (dst's own keys are replaced). */
void sg_results_merge(cJSON *dst, const cJSON *src);

#endif
