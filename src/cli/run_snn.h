/* The spiking part of `spikeglue run`: convert the quantized model, save it to
 * <output_dir>/snn_model, and with a dev split simulate it and write <output_dir>/snn_results.json. */
#ifndef SG_RUN_SNN_H
#define SG_RUN_SNN_H

#include "train/dataset.h"

#include <cjson/cJSON.h>

int sg_run_snn(sg_model *m, int unfold_level, const sg_encoded *dev, unsigned metric_set, int batch_size, int max_steps,
               const char *output_dir, cJSON *all);

#endif
