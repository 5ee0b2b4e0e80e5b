/* Reading a run's heartbeat (train/progress.h) for people: one short status text, and whether it is
 * stale (its process is gone, or it has not been updated for a long time). Used by
 * `spikeglue status` and the sweep's live line. */
#ifndef SG_HEARTBEAT_VIEW_H
#define SG_HEARTBEAT_VIEW_H

#include "train/progress.h"

#include <stddef.h>

/* Seconds without an update after which a heartbeat counts as stale: runs beat about once a
 * second while they train or simulate, but evaluation and conversion between phases do not beat. */
#define SG_HEARTBEAT_STALE_S 300.0

/* "train 120/1000 loss 0.4123 ETA 3m05s" */
void sg_heartbeat_format(const sg_heartbeat *hb, char *out, size_t n);
/* 1 and why ("process 1234 on vm is gone", "no update for 6m00s") when stale, else 0. now: unix seconds. */
int sg_heartbeat_stale(const sg_heartbeat *hb, double now, char *why, size_t n);
/* Fraction of the current phase done, in [0, 1]. */
double sg_heartbeat_fraction(const sg_heartbeat *hb);

#endif
