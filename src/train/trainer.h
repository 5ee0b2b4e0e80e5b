/* The Trainer: HF Trainer's loop in C — seeded epochs of shuffled batches, AdamW with linear
 * schedule and clipping, logging / evaluation / checkpoint strategies, resume bit for bit,
 * Ctrl-C saves a checkpoint, a NaN stops the run with the step named. */
#ifndef SG_TRAINER_H
#define SG_TRAINER_H

#include "train/adamw.h"
#include "train/dataset.h"

#include <cjson/cJSON.h>

typedef enum { SG_STRATEGY_NO = 0, SG_STRATEGY_STEPS, SG_STRATEGY_EPOCH } sg_strategy;

typedef struct {
    double learning_rate, weight_decay, warmup_ratio, num_train_epochs, max_grad_norm;
    int warmup_steps, max_steps, batch_size, logging_steps, eval_steps, save_steps, save_total_limit, seed;
    int pad_to_max;
    sg_strategy eval_strategy, save_strategy;
    const char *output_dir;
    const char *resume_from; /* checkpoint directory or NULL */
} sg_train_config;

typedef struct sg_trainer sg_trainer;
/* Called for evaluation; adds eval_* keys to `entry` (a log_history object). */
typedef int (*sg_eval_fn)(void *ctx, sg_model *m, cJSON *entry);
/* Called after a checkpoint directory is written (e.g. to copy tokenizer files). */
typedef int (*sg_save_fn)(void *ctx, const char *dir);

struct sg_trainer {
    sg_train_config cfg;
    sg_model *model;
    const sg_encoded *train;
    sg_adamw_config opt;
    int steps_per_epoch, total_steps, epochs, global_step;
    double total_loss_sum;     /* over all steps, for train_loss */
    double logged_loss_sum;    /* since the last log line */
    int logged_steps;
    cJSON *log_history;
    sg_eval_fn eval;
    sg_save_fn save_extra;
    void *ctx;
    double train_seconds;
    int interrupted;
};

int sg_trainer_init(sg_trainer *t, const sg_train_config *cfg, sg_model *m, const sg_encoded *train);
void sg_trainer_free(sg_trainer *t);
/* Trains to the end (or to an interruption, which saves a checkpoint and returns 1). 0 / -1. */
int sg_trainer_train(sg_trainer *t);
/* Writes train_results.json's fields into obj. */
void sg_trainer_results(const sg_trainer *t, cJSON *obj);
/* Saves config.json + model.safetensors + optimizer state + trainer_state.json into dir. */
int sg_trainer_save_checkpoint(sg_trainer *t, const char *dir);
int sg_trainer_write_state(const sg_trainer *t, const char *path);
double sg_trainer_epoch(const sg_trainer *t);

/* Set by SIGINT/SIGTERM handlers installed by sg_trainer_install_signals. */
void sg_trainer_install_signals(void);
/* Back to the default actions once training is over, so a signal during the final evaluation or
 * the spiking simulation stops the process instead of being swallowed. */
void sg_trainer_restore_signals(void);

#endif
