/* Opt-in LSQ calibration (spec §2, Ours): every step s set from the initialisation statistic
 * averaged over N training batches, weights untouched. */
#ifndef SG_CALIBRATE_H
#define SG_CALIBRATE_H

#include "train/dataset.h"

int sg_calibrate_steps(sg_model *m, const sg_encoded *train, int batches, int batch_size, int pad_to_max);

#endif
