/* The flags of `spikeglue run` (run_glue.py's, HF TrainingArguments' and ours): one table, the
 * defaults, parsing and every check that needs only the command line, so that the fuzzer
 * (tests/fuzz/fuzz_run_flags.c) exercises exactly what the command does before it touches a file. */
#ifndef SG_RUN_ARGS_H
#define SG_RUN_ARGS_H

#include "train/trainer.h"

/* The commands sharing the table: spikeglue run (run_glue.py) and spikeglue pretrain (run_mlm.py);
 * the trainer's flags are common, each has its data flags. */
typedef enum { SG_ARGS_RUN = 0, SG_ARGS_PRETRAIN } sg_args_command;

typedef struct {
    sg_args_command command;
    /* model, data, output */
    const char *model, *task, *data_dir, *train_file, *validation_file, *test_file, *output_dir, *transform_config,
        *weights_path, *resume, *tokenizer_name, *cache_dir, *dataset_name, *dataset_config_name;
    int do_train, do_eval, do_predict, max_seq_length, pad_to_max, max_train_samples, max_eval_samples,
        max_predict_samples, overwrite, ignore_mismatched_sizes, seed;
    /* training (HF TrainingArguments) */
    int train_bs, eval_bs, max_steps, warmup_steps, eval_steps, save_steps, save_total_limit, logging_steps,
        gradient_accumulation_steps, logging_first_step, load_best_model_at_end, greater_is_better;
    double lr, weight_decay, warmup_ratio, epochs, max_grad_norm, adam_beta1, adam_beta2, adam_epsilon,
        label_smoothing_factor, eval_delay;
    const char *eval_strategy, *evaluation_strategy, *save_strategy, *logging_strategy, *lr_scheduler_type,
        *lr_scheduler_kwargs, *metric_for_best_model, *optim, *log_level, *deepspeed;
    /* ours: quantization, spiking network, parallelism */
    int convert_to_snn, snn_eval, snn_max_steps, calibrate_batches, threads, tp, dp;
    /* pretrain (run_mlm.py) */
    const char *glue_dir, *hidden_act;
    int line_by_line, validation_split_percentage;
    double mlm_probability;
    /* accepted for run_glue.py command lines; each says in one line what happens instead */
    int trust_remote_code, use_fast_tokenizer, dataloader_num_workers, no_cuda, use_cpu, fp16, bf16, push_to_hub;
    const char *ignored_string, *no_effect_string;
    int ignored_bool, no_effect_off, no_effect_on, no_effect_int;

    /* resolved by sg_run_args_parse */
    sg_strategy eval_strategy_v, save_strategy_v, logging_strategy_v;
    sg_lr_scheduler lr_scheduler_v;
    sg_lr_scheduler_kwargs lr_scheduler_kwargs_v;
    int logging_strategy_set;
} sg_run_args;

/* Defaults (HF's where HF has the flag), parse argv[1..], check. 0: ok; 1: --help was printed;
 * -1: a one-line error naming the flag is set (sg_last_error). Notes about flags that change
 * nothing on this machine are printed on stdout, one line each, when the parse succeeds. */
int sg_run_args_parse(sg_run_args *a, int argc, char **argv);
/* The same for either command (its flags only, its defaults and checks). */
int sg_run_args_parse_for(sg_run_args *a, sg_args_command cmd, int argc, char **argv);

/* The trainer's configuration from the flags (output_dir and resume included). */
void sg_run_args_train_config(const sg_run_args *a, sg_train_config *tc);

#endif
