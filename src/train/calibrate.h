/* Opt-in LSQ calibration (spec §2, Ours): every step s set from the initialisation statistic
 * averaged over N training batches, weights untouched. */
#ifndef SG_CALIBRATE_H
#define SG_CALIBRATE_H

#include "train/dataset.h"

/* dp (NULL: off): each calibration batch is dp->size x batch_size rows, every replica running its
 * block of them, the statistics summed over the replicas (sg_dp_attach_lsq): every replica ends
 * with the steps one process gets with batches of dp->size x batch_size rows. */
int sg_calibrate_steps(sg_model *m, const sg_encoded *train, int batches, int batch_size, int pad_to_max,
                       const sg_dp_group *dp);

#endif
