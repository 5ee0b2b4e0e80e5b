/* What trainer.c (the loop) and trainer_state.c (trainer_state.json, checkpoints, best model)
 * share; not part of the trainer's interface. */
#ifndef SG_TRAINER_INTERNAL_H
#define SG_TRAINER_INTERNAL_H

#include "train/progress.h"
#include "train/trainer.h"

/* Restores global_step, log_history, loss sums, best-model fields and LSQ counters from a
 * checkpoint's trainer_state.json. */
int sg_trainer_read_state(sg_trainer *t, const char *path);
/* Writes <output_dir>/checkpoint-<global_step> and rotates old ones (save_total_limit). */
int sg_trainer_checkpoint_now(sg_trainer *t, sg_progress *p);
/* HF _determine_best_metric on one evaluation's log entry: 1 when it is a new best, 0 when not,
 * -1 when the metric is missing from it. */
int sg_trainer_note_eval(sg_trainer *t, const cJSON *entry);
/* End of training: load_best_model_at_end loads the best checkpoint's weights; with
 * save_total_limit 1 only the best checkpoint is kept (HF). */
int sg_trainer_finish_best(sg_trainer *t, sg_progress *p);

#endif
