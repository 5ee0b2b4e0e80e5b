/* The spiking part of `spikeglue run`: convert the quantized model, save it to
 * <output_dir>/snn_model, and with a dev split simulate it and write <output_dir>/snn_results.json.
 * Sharded: every rank of `shard` (each holding the whole model) simulates its round-robin share of
 * the eval batches and the results are gathered, equal to one process's; only the writer saves
 * the network. Collective over the shard (a one-process shard needs no MPI). */
#ifndef SG_RUN_SNN_H
#define SG_RUN_SNN_H

#include "parallel/shard.h"
#include "train/dataset.h"

#include <cjson/cJSON.h>

int sg_run_snn(sg_model *m, int unfold_level, const sg_encoded *dev, unsigned metric_set, int batch_size, int max_steps,
               const sg_shard *shard, int writer, const char *output_dir, cJSON *all);

#endif
