/* The Trainer: HF Trainer's loop in C — seeded epochs of shuffled batches, gradient accumulation,
 * AdamW with HF's schedules and clipping, logging / evaluation / checkpoint strategies, the best
 * model (metric_for_best_model, load_best_model_at_end), resume bit for bit, Ctrl-C saves a
 * checkpoint, a NaN stops the run with the step named. */
#ifndef SG_TRAINER_H
#define SG_TRAINER_H

#include "parallel/dp.h"
#include "parallel/grad_sum.h"
#include "train/adamw.h"
#include "train/dataset.h"
#include "train/lr_schedule.h"

#include <cjson/cJSON.h>

typedef enum { SG_STRATEGY_NO = 0, SG_STRATEGY_STEPS, SG_STRATEGY_EPOCH, SG_STRATEGY_BEST } sg_strategy; /* BEST: save_strategy only */

typedef struct {
    double learning_rate, weight_decay, warmup_ratio, num_train_epochs, max_grad_norm;
    int warmup_steps, max_steps, batch_size, logging_steps, eval_steps, save_steps, save_total_limit, seed;
    int pad_to_max;
    sg_strategy eval_strategy, save_strategy;
    const char *output_dir;
    const char *resume_from; /* checkpoint directory or NULL */
    /* HF TrainingArguments beyond the basics (zero-initialised: HF's defaults apply where 0 means unset) */
    int gradient_accumulation_steps;   /* micro-batches per optimizer step (<= 0: 1) */
    sg_lr_scheduler lr_scheduler;
    sg_lr_scheduler_kwargs lr_scheduler_kwargs;
    double adam_beta1, adam_beta2, adam_epsilon; /* 0: 0.9, 0.999, 1e-8 */
    sg_strategy logging_strategy;      /* SG_STRATEGY_STEPS unless set (HF default) */
    int logging_strategy_set;          /* 0: logging_strategy is HF's default "steps" */
    int logging_first_step;
    double eval_delay;                 /* epochs (eval_strategy epoch) or steps before the first evaluation */
    int load_best_model_at_end;
    const char *metric_for_best_model; /* "accuracy" or "eval_accuracy"; NULL: "loss" (HF) */
    int greater_is_better;             /* -1: from the metric's name (HF: false for *loss) */
    /* data parallel (parallel/dp.h), NULL: off. A micro-batch is then dp->size x batch_size rows of
     * the epoch's order, this replica taking its block of them; gradients are summed over dp. */
    const sg_dp_group *dp;
    /* Masked LM (NULL: none): called on every gathered micro-batch, before a data-parallel split,
     * with draw = its number in the run (global_step x accumulation + j, so a resumed run draws
     * the same); returns the batch to train on (masked ids and token labels in its own buffers). */
    sg_batch (*collate)(void *ctx, sg_batch b, uint64_t draw);
    void *collate_ctx;
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
    int steps_per_epoch;       /* optimizer steps an epoch takes: ceil(micro-batches / accumulation), the last one partial */
    int micro_per_epoch;       /* global micro-batches (micro_rows each) in an epoch */
    int micro_rows;            /* rows of a global micro-batch: batch_size x data-parallel replicas */
    int grad_accum;            /* micro-batches per optimizer step */
    int total_steps, epochs, global_step;
    sg_lr_schedule schedule;
    double total_loss_sum;     /* over all steps, for train_loss */
    double logged_loss_sum;    /* since the last log line */
    int logged_steps;
    float last_grad_norm;
    /* best model (HF TrainerState best_metric / best_global_step / best_model_checkpoint) */
    char best_metric_key[128]; /* "eval_<metric_for_best_model>"; empty: no best-model tracking */
    int greater_is_better;     /* resolved */
    int has_best_metric, best_global_step;
    double best_metric;
    char best_model_checkpoint[4200]; /* empty: none */
    cJSON *log_history;
    sg_eval_fn eval;
    sg_save_fn save_extra;
    void *ctx;
    double train_seconds;
    int interrupted;
    sg_dp_grad_sum grad_sum;   /* data parallel: the step's gradient sum (parallel/grad_sum.h) */
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
/* The end of training as HF's Trainer leaves output_dir: train_results.json's fields into `results`
 * (and, with the step, as the last log_history entry), then the model, save_extra's files,
 * trainer_state.json and train_results.json written into dir. 0 / -1. */
int sg_trainer_save_final(sg_trainer *t, const char *dir, cJSON *results);
double sg_trainer_epoch(const sg_trainer *t);

/* Set by SIGINT/SIGTERM handlers installed by sg_trainer_install_signals. */
void sg_trainer_install_signals(void);
/* Back to the default actions once training is over, so a signal during the final evaluation or
 * the spiking simulation stops the process instead of being swallowed. */
void sg_trainer_restore_signals(void);

#endif
