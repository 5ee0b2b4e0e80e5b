/* `spikeglue run`'s flags: the table, HF's defaults, and every check the command line alone allows.
 * HF's meanings are those of run_glue.py (ModelArguments, DataTrainingArguments) and
 * TrainingArguments; where a flag cannot mean anything on a CPU without a hub it is accepted with
 * one line saying what happens instead, or refused naming what to use. */
#include "cli/run_args.h"

#include "core/flags.h"
#include "core/error.h"
#include "core/fileio.h"
#include "data/glue.h"
#include "data/metrics.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define USAGE "--model_name_or_path M --task_name T --output_dir D [--do_train] [--do_eval] ..."
#define PRETRAIN_USAGE "--model_name_or_path M (--train_file F | --glue_dir D) --output_dir D [--do_train] [--do_eval] ..."

typedef struct {
    const char *name;
    sg_flag_kind kind;
    size_t offset; /* of the destination in sg_run_args */
    const char *help;
    unsigned commands; /* the commands that take it: bit 1 << sg_args_command */
} run_flag;

enum { RUN = 1u << SG_ARGS_RUN, MLM = 1u << SG_ARGS_PRETRAIN, BOTH = RUN | MLM };
/* F: both commands (the trainer's flags); FR: spikeglue run only; FM: spikeglue pretrain only */
#define F(name, kind, field, help) {name, kind, offsetof(sg_run_args, field), help, BOTH}
#define FR(name, kind, field, help) {name, kind, offsetof(sg_run_args, field), help, RUN}
#define FM(name, kind, field, help) {name, kind, offsetof(sg_run_args, field), help, MLM}
static const run_flag k_run_flags[] = {
    /* model and data (run_glue.py's ModelArguments, DataTrainingArguments) */
    F("model_name_or_path", SG_FLAG_STRING, model, "a checkpoint directory, an HF cache name (ORG/NAME) or builtin:tiny|small|base"),
    F("cache_dir", SG_FLAG_STRING, cache_dir, "HF hub cache holding ORG/NAME models (none: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub)"),
    FR("task_name", SG_FLAG_STRING, task, "GLUE task: cola, sst2, mrpc, stsb, qqp, mnli, qnli, rte, wnli"),
    FR("dataset_name", SG_FLAG_STRING, dataset_name, "glue only (with --dataset_config_name TASK, the same as --task_name TASK); no hub here: use --train_file for others"),
    FR("dataset_config_name", SG_FLAG_STRING, dataset_config_name, "the GLUE task when --dataset_name glue"),
    FR("data_dir", SG_FLAG_STRING, data_dir, "folder holding CoLA/, SST-2/, ... (GLUE's names)"),
    FR("train_file", SG_FLAG_STRING, train_file, "custom task: training CSV / JSON-lines (sentence1, sentence2, label)"),
    FR("validation_file", SG_FLAG_STRING, validation_file, "custom task: validation file"),
    FR("test_file", SG_FLAG_STRING, test_file, "custom task: test file"),
    FR("do_train", SG_FLAG_BOOL, do_train, "fine-tune"),
    FR("do_eval", SG_FLAG_BOOL, do_eval, "evaluate on the dev split(s)"),
    FR("do_predict", SG_FLAG_BOOL, do_predict, "write predictions for the test split"),
    FR("max_seq_length", SG_FLAG_INT, max_seq_length, "tokens per sequence after truncation (clamped to the model's positions, with a warning, as run_glue.py)"),
    FR("pad_to_max_length", SG_FLAG_BOOL, pad_to_max, "pad every training batch to max_seq_length (else to its longest row); evaluation batches rows by length, which gives the same results"),
    F("max_train_samples", SG_FLAG_INT, max_train_samples, "use only the first N training rows (0: all)"),
    F("max_eval_samples", SG_FLAG_INT, max_eval_samples, "use only the first N dev rows (0: all)"),
    FR("max_predict_samples", SG_FLAG_INT, max_predict_samples, "use only the first N test rows (0: all)"),
    /* pretrain's own (run_mlm.py's DataTrainingArguments and ModelArguments) */
    FM("train_file", SG_FLAG_STRING, train_file, "plain text, one document a line"),
    FM("validation_file", SG_FLAG_STRING, validation_file, "plain text for eval_loss (none: the first --validation_split_percentage of the training lines)"),
    FM("glue_dir", SG_FLAG_STRING, glue_dir, "take the sentences of every GLUE train split found under DIR (CoLA/, SST-2/, ...) as training text"),
    FM("validation_split_percentage", SG_FLAG_INT, validation_split_percentage, "percent of the training lines held out for evaluation when there is no --validation_file"),
    FM("line_by_line", SG_FLAG_BOOL, line_by_line, "one sequence a non-blank line (else all text is concatenated and cut into max_seq_length blocks)"),
    FM("max_seq_length", SG_FLAG_INT, max_seq_length, "tokens per sequence (clamped to the model's positions, as run_mlm.py)"),
    FM("pad_to_max_length", SG_FLAG_BOOL, pad_to_max, "pad every batch to max_seq_length (else to its longest row)"),
    FM("mlm_probability", SG_FLAG_FLOAT, mlm_probability, "fraction of tokens selected for the masked-LM loss (80% <mask>, 10% random, 10% kept)"),
    FM("hidden_act", SG_FLAG_STRING, hidden_act, "relu | gelu: set the encoder's activation before training (ReLU-fication of a GELU checkpoint)"),
    FM("do_train", SG_FLAG_BOOL, do_train, "pretrain"),
    FM("do_eval", SG_FLAG_BOOL, do_eval, "evaluate: eval_loss and perplexity on the validation text"),
    F("tokenizer_name", SG_FLAG_STRING, tokenizer_name, "directory with vocab.json + merges.txt (default: the model's, else built-in bytes)"),
    FR("ignore_mismatched_sizes", SG_FLAG_BOOL, ignore_mismatched_sizes, "a checkpoint's classifier with another number of labels is re-initialised instead of refused"),
    /* training (TrainingArguments) */
    F("output_dir", SG_FLAG_STRING, output_dir, "where everything the run writes goes: results, checkpoints, snn_model/"),
    F("overwrite_output_dir", SG_FLAG_BOOL, overwrite, "allow a non-empty output_dir"),
    F("per_device_train_batch_size", SG_FLAG_INT, train_bs, "training batch size (per optimizer step: times gradient_accumulation_steps)"),
    F("per_device_eval_batch_size", SG_FLAG_INT, eval_bs, "evaluation batch size"),
    F("gradient_accumulation_steps", SG_FLAG_INT, gradient_accumulation_steps, "batches whose gradients are summed before each optimizer step"),
    F("learning_rate", SG_FLAG_FLOAT, lr, "AdamW learning rate (the peak of the schedule)"),
    F("weight_decay", SG_FLAG_FLOAT, weight_decay, "AdamW weight decay (not on biases and LayerNorm)"),
    F("adam_beta1", SG_FLAG_FLOAT, adam_beta1, "AdamW beta1"),
    F("adam_beta2", SG_FLAG_FLOAT, adam_beta2, "AdamW beta2"),
    F("adam_epsilon", SG_FLAG_FLOAT, adam_epsilon, "AdamW epsilon"),
    F("optim", SG_FLAG_STRING, optim, "adamw_torch | adamw_hf | adamw_torch_fused (all run AdamW)"),
    F("lr_scheduler_type", SG_FLAG_STRING, lr_scheduler_type, "linear | cosine | cosine_with_restarts | polynomial | constant | constant_with_warmup | inverse_sqrt"),
    F("lr_scheduler_kwargs", SG_FLAG_STRING, lr_scheduler_kwargs, "JSON object for the schedule: num_cycles (cosine*), lr_end and power (polynomial), timescale (inverse_sqrt)"),
    F("warmup_ratio", SG_FLAG_FLOAT, warmup_ratio, "linear warmup over this fraction of the steps (0..1)"),
    F("warmup_steps", SG_FLAG_INT, warmup_steps, "linear warmup steps (overrides warmup_ratio)"),
    F("num_train_epochs", SG_FLAG_FLOAT, epochs, "epochs"),
    F("max_steps", SG_FLAG_INT, max_steps, "stop after this many steps (overrides epochs when > 0)"),
    F("max_grad_norm", SG_FLAG_FLOAT, max_grad_norm, "gradient clipping norm"),
    FR("label_smoothing_factor", SG_FLAG_FLOAT, label_smoothing_factor, "label smoothing of the classification loss (0..1; not for regression)"),
    F("evaluation_strategy", SG_FLAG_STRING, evaluation_strategy, "no | steps | epoch (alias of eval_strategy)"),
    F("eval_strategy", SG_FLAG_STRING, eval_strategy, "no | steps | epoch"),
    F("eval_steps", SG_FLAG_INT, eval_steps, "evaluate every N steps (strategy steps; 0: logging_steps)"),
    F("eval_delay", SG_FLAG_FLOAT, eval_delay, "epochs (eval_strategy epoch) or steps to wait before the first evaluation"),
    F("save_strategy", SG_FLAG_STRING, save_strategy, "no | steps | epoch | best (best: whenever metric_for_best_model improves)"),
    F("save_steps", SG_FLAG_INT, save_steps, "checkpoint every N steps (strategy steps)"),
    F("save_total_limit", SG_FLAG_INT, save_total_limit, "keep at most N checkpoints (0: all)"),
    F("load_best_model_at_end", SG_FLAG_BOOL, load_best_model_at_end, "end with the best checkpoint's weights (by metric_for_best_model)"),
    F("metric_for_best_model", SG_FLAG_STRING, metric_for_best_model, "the metric that picks the best checkpoint, e.g. accuracy or eval_f1 (none: loss)"),
    F("greater_is_better", SG_FLAG_BOOL, greater_is_better, "whether a larger metric_for_best_model is better (unset: false for *loss, else true)"),
    F("logging_strategy", SG_FLAG_STRING, logging_strategy, "no | steps | epoch"),
    F("logging_steps", SG_FLAG_INT, logging_steps, "log the mean loss every N steps (strategy steps)"),
    F("logging_first_step", SG_FLAG_BOOL, logging_first_step, "log the first step too"),
    F("seed", SG_FLAG_INT, seed, "seed of data order, dropout and initialisation"),
    F("resume_from_checkpoint", SG_FLAG_STRING, resume, "continue from output_dir/checkpoint-N"),
    F("log_level", SG_FLAG_STRING, log_level, "debug | info | warning | error | critical | passive (spikeglue's lines are not levelled)"),
    /* ours */
    FR("transform_config", SG_FLAG_STRING, transform_config, "transform YAML: quantize (and convert) the model"),
    FR("model_weights_path", SG_FLAG_STRING, weights_path, "fine-tuned (QANN) weights to load after the transform (read only)"),
    FR("convert_to_snn", SG_FLAG_BOOL, convert_to_snn, "convert to a spiking network and save it to <output_dir>/snn_model"),
    FR("snn_eval", SG_FLAG_BOOL, snn_eval, "simulate the spiking network on the dev split and report its metrics"),
    FR("snn_max_steps", SG_FLAG_INT, snn_max_steps, "time steps cap of the simulation"),
    FR("lsq_calibrate_batches", SG_FLAG_INT, calibrate_batches, "initialise LSQ steps from N training batches (0: s = 1.0)"),
    F("threads", SG_FLAG_INT, threads, "OpenMP/BLAS threads (0: OMP_NUM_THREADS or all cores)"),
    F("tp", SG_FLAG_INT, tp, "tensor parallel: share every linear layer among groups of P MPI ranks (run under mpirun -n P)"),
    F("dp", SG_FLAG_INT, dp, "data parallel: D replicas split every global batch of D x per_device_train_batch_size rows (mpirun -n D, or D x P with --tp P)"),
    /* run_glue.py command lines: accepted; where they cannot mean anything here, one line says so */
    F("trust_remote_code", SG_FLAG_BOOL, trust_remote_code, "no effect: no code is downloaded, spikeglue's own RoBERTa runs"),
    F("use_fast_tokenizer", SG_FLAG_BOOL, use_fast_tokenizer, "no effect: one exact byte-level BPE tokenizer"),
    F("dataloader_num_workers", SG_FLAG_INT, dataloader_num_workers, "no effect: batches are gathered in the training loop (see --threads)"),
    F("no_cuda", SG_FLAG_BOOL, no_cuda, "no effect: runs on the CPU, as always"),
    F("use_cpu", SG_FLAG_BOOL, use_cpu, "no effect: runs on the CPU, as always"),
    F("fp16", SG_FLAG_BOOL, fp16, "no effect: computes in fp32 on this CPU (no half-precision path)"),
    F("bf16", SG_FLAG_BOOL, bf16, "no effect: computes in fp32 on this CPU (no half-precision path)"),
    F("deepspeed", SG_FLAG_STRING, deepspeed, "refused: scale with --tp P (tensor parallel) under mpirun"),
    F("push_to_hub", SG_FLAG_BOOL, push_to_hub, "refused: no hub here"),
    /* more TrainingArguments seen in published GLUE recipes (DDP / GPU / hub settings) */
    F("ddp_find_unused_parameters", SG_FLAG_BOOL, no_effect_off, "no effect: no DDP here (scale with --tp under mpirun)"),
    F("ddp_timeout", SG_FLAG_INT, no_effect_int, "no effect: no DDP here (scale with --tp under mpirun)"),
    F("local_rank", SG_FLAG_INT, no_effect_int, "no effect: no torch.distributed launcher here (ranks come from mpirun)"),
    F("gradient_checkpointing", SG_FLAG_BOOL, no_effect_off, "no effect: every layer's activations are kept (one arena, sized once)"),
    F("torch_compile", SG_FLAG_BOOL, no_effect_off, "no effect: the model is compiled C"),
    F("tf32", SG_FLAG_BOOL, no_effect_off, "no effect: computes in fp32 on this CPU"),
    F("half_precision_backend", SG_FLAG_STRING, no_effect_string, "no effect: computes in fp32 on this CPU"),
    F("fp16_opt_level", SG_FLAG_STRING, no_effect_string, "no effect: computes in fp32 on this CPU"),
    F("auto_find_batch_size", SG_FLAG_BOOL, no_effect_off, "no effect: the batch size is the one given (no out-of-memory retries)"),
    F("eval_accumulation_steps", SG_FLAG_INT, no_effect_int, "no effect: predictions stay in host memory as they are computed"),
    F("dataloader_pin_memory", SG_FLAG_BOOL, no_effect_on, "no effect: no GPU to pin memory for"),
    F("save_safetensors", SG_FLAG_BOOL, no_effect_on, "no effect: checkpoints are always model.safetensors"),
    F("remove_unused_columns", SG_FLAG_BOOL, no_effect_on, "no effect: only the task's text and label columns are read"),
    F("group_by_length", SG_FLAG_BOOL, no_effect_off, "no effect: training batches keep their seeded random order (evaluation groups rows by length anyway)"),
    F("hub_model_id", SG_FLAG_STRING, no_effect_string, "no effect: no hub here (--push_to_hub is refused)"),
    F("hub_token", SG_FLAG_STRING, no_effect_string, "no effect: no hub here (--push_to_hub is refused)"),
    F("hub_strategy", SG_FLAG_STRING, no_effect_string, "no effect: no hub here (--push_to_hub is refused)"),
    F("report_to", SG_FLAG_STRING, ignored_string, "accepted and ignored (run_glue.py compatibility)"),
    F("logging_dir", SG_FLAG_STRING, ignored_string, "accepted and ignored"),
    F("run_name", SG_FLAG_STRING, ignored_string, "accepted and ignored"),
    F("overwrite_cache", SG_FLAG_BOOL, ignored_bool, "accepted and ignored (nothing is cached)"),
    F("disable_tqdm", SG_FLAG_BOOL, ignored_bool, "accepted and ignored (progress is drawn on a terminal only)"),
};
#undef F
#define N_RUN_FLAGS ((int)(sizeof k_run_flags / sizeof k_run_flags[0]))

static void set_defaults(sg_run_args *a, sg_args_command cmd) {
    memset(a, 0, sizeof *a);
    a->command = cmd;
    a->mlm_probability = 0.15;
    a->validation_split_percentage = 5;
    a->no_effect_on = 1;
    a->data_dir = "data/glue";
    a->max_seq_length = 128;
    a->pad_to_max = 1;
    a->train_bs = 8;
    a->eval_bs = 8;
    a->gradient_accumulation_steps = 1;
    a->lr = 5e-5;
    a->adam_beta1 = 0.9;
    a->adam_beta2 = 0.999;
    a->adam_epsilon = 1e-8;
    a->optim = "adamw_torch";
    a->lr_scheduler_type = "linear";
    a->epochs = 3.0;
    a->max_steps = -1;
    a->max_grad_norm = 1.0;
    a->eval_strategy = "no";
    a->save_strategy = "steps";
    a->logging_strategy = "steps";
    a->save_steps = 500;
    a->logging_steps = 500;
    a->greater_is_better = -1;
    a->seed = 42;
    a->log_level = "passive";
    a->use_fast_tokenizer = 1;
    a->snn_max_steps = 256;
    if (cmd == SG_ARGS_PRETRAIN) { /* run_mlm.py: no padding to max_length; sequences as long as the model takes */
        a->pad_to_max = 0;
        a->max_seq_length = 512;
    }
}

static int parse_strategy(const char *s, const char *flag, int allow_best, sg_strategy *out) {
    if (!strcmp(s, "no")) *out = SG_STRATEGY_NO;
    else if (!strcmp(s, "steps")) *out = SG_STRATEGY_STEPS;
    else if (!strcmp(s, "epoch")) *out = SG_STRATEGY_EPOCH;
    else if (allow_best && !strcmp(s, "best")) *out = SG_STRATEGY_BEST;
    else return sg_fail("--%s: expected no, steps%s, not '%s'", flag, allow_best ? ", epoch or best" : " or epoch", s);
    return 0;
}

static const char *const k_schedulers[] = {"linear", "cosine", "cosine_with_restarts", "polynomial", "constant",
                                           "constant_with_warmup", "inverse_sqrt"};

/* The keyword arguments each schedule of transformers.optimization takes besides the step counts. */
static int scheduler_takes(sg_lr_scheduler s, const char *key) {
    switch (s) {
    case SG_SCHED_COSINE:
    case SG_SCHED_COSINE_WITH_RESTARTS: return !strcmp(key, "num_cycles");
    case SG_SCHED_POLYNOMIAL: return !strcmp(key, "lr_end") || !strcmp(key, "power");
    case SG_SCHED_INVERSE_SQRT: return !strcmp(key, "timescale");
    default: return 0;
    }
}

/* --lr_scheduler_type and --lr_scheduler_kwargs; absent keys get HF's defaults (timescale stays 0:
 * HF's "the warmup steps, else 10000", known only once the steps are). */
static int parse_scheduler(sg_run_args *a) {
    int found = 0;
    for (int i = 0; i < (int)(sizeof k_schedulers / sizeof k_schedulers[0]); i++)
        if (!strcmp(a->lr_scheduler_type, k_schedulers[i])) a->lr_scheduler_v = (sg_lr_scheduler)i, found = 1;
    if (!found)
        return sg_fail("--lr_scheduler_type: '%s' is not one of linear, cosine, cosine_with_restarts, polynomial, constant, "
                       "constant_with_warmup, inverse_sqrt", a->lr_scheduler_type);
    sg_lr_scheduler_kwargs *k = &a->lr_scheduler_kwargs_v;
    k->num_cycles = a->lr_scheduler_v == SG_SCHED_COSINE_WITH_RESTARTS ? 1.0 : 0.5;
    k->lr_end = 1e-7;
    k->power = 1.0;
    k->timescale = 0.0;
    if (!a->lr_scheduler_kwargs) return 0;
    cJSON *root = cJSON_Parse(a->lr_scheduler_kwargs);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return sg_fail("--lr_scheduler_kwargs: expected a JSON object such as '{\"num_cycles\": 0.5}', not '%.60s'", a->lr_scheduler_kwargs);
    }
    int rc = 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, root) {
        const char *key = item->string ? item->string : "";
        double *dest = !strcmp(key, "num_cycles") ? &k->num_cycles : !strcmp(key, "lr_end") ? &k->lr_end
                       : !strcmp(key, "power") ? &k->power : !strcmp(key, "timescale") ? &k->timescale : NULL;
        if (!dest) {
            rc = sg_fail("--lr_scheduler_kwargs: unknown key '%.40s' (known: num_cycles, lr_end, power, timescale)", key);
            break;
        }
        if (!scheduler_takes(a->lr_scheduler_v, key)) {
            rc = sg_fail("--lr_scheduler_kwargs: the %s schedule takes no '%s'", a->lr_scheduler_type, key);
            break;
        }
        if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble)) {
            rc = sg_fail("--lr_scheduler_kwargs: '%s' must be a number", key);
            break;
        }
        *dest = item->valuedouble;
    }
    cJSON_Delete(root);
    if (rc) return rc;
    if (k->num_cycles < 0) return sg_fail("--lr_scheduler_kwargs: num_cycles %g is negative", k->num_cycles);
    if (k->power <= 0) return sg_fail("--lr_scheduler_kwargs: power %g must be positive", k->power);
    if (k->timescale < 0) return sg_fail("--lr_scheduler_kwargs: timescale %g is negative", k->timescale);
    if (a->lr_scheduler_v == SG_SCHED_POLYNOMIAL && !(k->lr_end < a->lr)) /* HF raises the same */
        return sg_fail("--lr_scheduler_kwargs: lr_end (%g) must be smaller than the initial lr (--learning_rate %g)", k->lr_end, a->lr);
    return 0;
}

/* --dataset_name glue --dataset_config_name TASK is --task_name TASK: the data come from --data_dir. */
static int resolve_dataset(sg_run_args *a) {
    if (!a->dataset_name) {
        if (a->dataset_config_name) return sg_fail("--dataset_config_name needs --dataset_name glue");
        return 0;
    }
    if (strcmp(a->dataset_name, "glue") && strcmp(a->dataset_name, "nyu-mll/glue"))
        return sg_fail("--dataset_name %s: no hub here; only glue (read from --data_dir), or give --train_file/--validation_file",
                       a->dataset_name);
    if (!a->dataset_config_name) return sg_fail("--dataset_name glue needs --dataset_config_name TASK (cola, sst2, mrpc, ...)");
    if (a->task && strcmp(a->task, a->dataset_config_name))
        return sg_fail("--dataset_config_name %s contradicts --task_name %s", a->dataset_config_name, a->task);
    a->task = a->dataset_config_name;
    return 0;
}

static int check_numbers(const sg_run_args *a) {
    if (a->max_seq_length < 4 || a->max_seq_length > 4096) return sg_fail("--max_seq_length %d out of range (4..4096)", a->max_seq_length);
    if (a->train_bs <= 0 || a->eval_bs <= 0) return sg_fail("batch sizes must be positive (--per_device_train_batch_size %d, --per_device_eval_batch_size %d)", a->train_bs, a->eval_bs);
    if (a->gradient_accumulation_steps < 1) return sg_fail("--gradient_accumulation_steps %d must be at least 1", a->gradient_accumulation_steps);
    if ((long long)a->train_bs * a->gradient_accumulation_steps > INT_MAX)
        return sg_fail("--gradient_accumulation_steps %d times the batch size %d does not fit an int", a->gradient_accumulation_steps, a->train_bs);
    if (!(a->lr >= 0)) return sg_fail("--learning_rate %g is negative", a->lr);
    if (!(a->weight_decay >= 0)) return sg_fail("--weight_decay %g is negative", a->weight_decay);
    if (!(a->warmup_ratio >= 0 && a->warmup_ratio <= 1)) return sg_fail("--warmup_ratio %g is outside [0, 1]", a->warmup_ratio);
    if (a->warmup_steps < 0) return sg_fail("--warmup_steps %d is negative", a->warmup_steps);
    if (!(a->epochs >= 0)) return sg_fail("--num_train_epochs %g is negative", a->epochs);
    if (a->epochs > INT_MAX) return sg_fail("--num_train_epochs %g: the step count does not fit an int", a->epochs);
    if (a->max_steps < -1) return sg_fail("--max_steps %d: give a positive count, or -1 for num_train_epochs", a->max_steps);
    if (!(a->max_grad_norm >= 0)) return sg_fail("--max_grad_norm %g is negative", a->max_grad_norm);
    if (!(a->adam_beta1 >= 0 && a->adam_beta1 < 1)) return sg_fail("--adam_beta1 %g is outside [0, 1)", a->adam_beta1);
    if (!(a->adam_beta2 >= 0 && a->adam_beta2 < 1)) return sg_fail("--adam_beta2 %g is outside [0, 1)", a->adam_beta2);
    if (!(a->adam_epsilon >= 0)) return sg_fail("--adam_epsilon %g is negative", a->adam_epsilon);
    if (!(a->label_smoothing_factor >= 0 && a->label_smoothing_factor < 1))
        return sg_fail("--label_smoothing_factor %g is outside [0, 1)", a->label_smoothing_factor);
    if (!(a->eval_delay >= 0)) return sg_fail("--eval_delay %g is negative", a->eval_delay);
    const struct {
        const char *flag;
        int value;
    } counts[] = {{"max_train_samples", a->max_train_samples}, {"max_eval_samples", a->max_eval_samples},
                  {"max_predict_samples", a->max_predict_samples}, {"logging_steps", a->logging_steps},
                  {"save_steps", a->save_steps}, {"eval_steps", a->eval_steps}, {"save_total_limit", a->save_total_limit},
                  {"snn_max_steps", a->snn_max_steps}, {"lsq_calibrate_batches", a->calibrate_batches},
                  {"threads", a->threads}, {"tp", a->tp}, {"dp", a->dp}, {"dataloader_num_workers", a->dataloader_num_workers}};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++)
        if (counts[i].value < 0) return sg_fail("--%s %d is negative", counts[i].flag, counts[i].value);
    if (a->snn_max_steps == 0) return sg_fail("--snn_max_steps must be at least 1");
    return 0;
}

/* HF TrainingArguments.__post_init__'s checks of the strategies, in its words where it has them. */
static int check_strategies(sg_run_args *a) {
    if (a->evaluation_strategy) a->eval_strategy = a->evaluation_strategy;
    if (parse_strategy(a->eval_strategy, "eval_strategy", 0, &a->eval_strategy_v) ||
        parse_strategy(a->save_strategy, "save_strategy", 1, &a->save_strategy_v) ||
        parse_strategy(a->logging_strategy, "logging_strategy", 0, &a->logging_strategy_v))
        return -1;
    if (a->logging_strategy_v == SG_STRATEGY_STEPS && a->logging_steps == 0)
        return sg_fail("--logging_strategy steps needs --logging_steps above 0");
    if (a->eval_steps == 0) a->eval_steps = a->logging_steps;
    if (a->eval_strategy_v == SG_STRATEGY_STEPS && a->eval_steps == 0)
        return sg_fail("--eval_strategy steps needs --eval_steps (or --logging_steps) above 0");
    if (a->save_strategy_v == SG_STRATEGY_BEST && a->eval_strategy_v == SG_STRATEGY_NO)
        return sg_fail("--save_strategy best needs --eval_strategy steps or epoch (the best is found by evaluating)");
    if (a->load_best_model_at_end) {
        if (a->eval_strategy_v == SG_STRATEGY_NO)
            return sg_fail("--load_best_model_at_end needs --eval_strategy steps or epoch");
        if (a->save_strategy_v != SG_STRATEGY_BEST && a->save_strategy_v != a->eval_strategy_v)
            return sg_fail("--load_best_model_at_end requires the save and eval strategy to match (--save_strategy %s, --eval_strategy %s)",
                           a->save_strategy, a->eval_strategy);
        if (a->save_strategy_v == SG_STRATEGY_STEPS && a->save_steps % a->eval_steps != 0)
            return sg_fail("--load_best_model_at_end requires --save_steps (%d) to be a round multiple of --eval_steps (%d)",
                           a->save_steps, a->eval_steps);
    }
    if (a->metric_for_best_model && !*a->metric_for_best_model) return sg_fail("--metric_for_best_model is empty");
    return 0;
}

/* Flags of run_glue.py command lines that cannot mean anything here: refused, or one line each
 * (print: the lines, for the flags given). */
static int check_platform_flags(const sg_run_args *a, const sg_flag *flags, int nflags, int print) {
    static const char *const optims[] = {"adamw_torch", "adamw_hf", "adamw_torch_fused"};
    int optim_ok = 0;
    for (size_t i = 0; i < sizeof optims / sizeof optims[0]; i++) optim_ok |= !strcmp(a->optim, optims[i]);
    if (!optim_ok)
        return sg_fail("--optim %s: not available here (adamw_torch, adamw_hf and adamw_torch_fused run AdamW)", a->optim);
    static const char *const levels[] = {"debug", "info", "warning", "error", "critical", "passive"};
    int level_ok = 0;
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) level_ok |= !strcmp(a->log_level, levels[i]);
    if (!level_ok) return sg_fail("--log_level: expected debug, info, warning, error, critical or passive, not '%s'", a->log_level);
    if (a->deepspeed) return sg_fail("--deepspeed: not supported; to spread a model over processes run under mpirun with --tp P");
    if (a->push_to_hub) return sg_fail("--push_to_hub: no hub here; the model is written to --output_dir");
    if (!print) return 0;
    for (int i = 0; i < nflags; i++) /* the flags that change nothing here say so, once, when given */
        if (flags[i].seen && !strncmp(flags[i].help, "no effect: ", 11)) printf("--%s: %s\n", flags[i].name, flags[i].help);
    if (strcmp(a->log_level, "passive") && strcmp(a->log_level, "info"))
        printf("--log_level %s: no effect, spikeglue prints its progress and results as at info\n", a->log_level);
    if (strcmp(a->optim, "adamw_torch")) printf("--optim %s: runs AdamW (the same update as adamw_torch)\n", a->optim);
    return 0;
}

/* HF looks the metric up as eval_<name> in the evaluation's results at the first checkpoint and
 * fails there (KeyError); here a name the task never reports is refused before anything runs. */
static int check_best_metric(const char *metric, const sg_glue_task *task) {
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{SG_METRIC_ACCURACY, "accuracy"}, {SG_METRIC_F1, "f1"}, {SG_METRIC_MATTHEWS, "matthews_correlation"},
                 {SG_METRIC_PEARSON, "pearson"}, {SG_METRIC_SPEARMAN, "spearmanr"}};
    const char *name = strncmp(metric, "eval_", 5) == 0 ? metric + 5 : metric;
    size_t len = strlen(name);
    if (len > 3 && task->split_files[SG_SPLIT_DEV_MISMATCHED] && !strcmp(name + len - 3, "_mm")) len -= 3; /* MNLI mismatched */
    char known[256] = "loss";
    int count = 0, found = len == 4 && !strncmp(name, "loss", 4);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(task->metrics & names[i].bit)) continue;
        count++;
        found |= strlen(names[i].name) == len && !strncmp(name, names[i].name, len);
        strncat(known, ", ", sizeof known - strlen(known) - 1);
        strncat(known, names[i].name, sizeof known - strlen(known) - 1);
    }
    if (count > 1) {
        found |= len == 14 && !strncmp(name, "combined_score", 14);
        strncat(known, ", combined_score", sizeof known - strlen(known) - 1);
    }
    if (!found) return sg_fail("--metric_for_best_model %s: task %s reports %s", metric, task->name, known);
    return 0;
}

static int check_combinations(const sg_run_args *a) {
    if (!a->model) return sg_fail("run: --model_name_or_path is required");
    if (!a->output_dir) return sg_fail("run: --output_dir is required");
    if (!a->task && !a->train_file && !a->validation_file)
        return sg_fail("run: give --task_name (GLUE) or --train_file/--validation_file");
    if (a->snn_eval && !a->convert_to_snn) return sg_fail("--snn_eval needs --convert_to_snn");
    if (a->convert_to_snn && !a->transform_config)
        return sg_fail("--convert_to_snn needs --transform_config (the spiking network is built from the quantized one)");
    if (!a->do_train && !a->do_eval && !a->do_predict && !a->convert_to_snn)
        return sg_fail("run: nothing to do (give --do_train, --do_eval, --do_predict or --convert_to_snn)");
    if (a->task) {
        const sg_glue_task *t = sg_glue_task_find(a->task);
        if (!t) return sg_fail_context("--task_name");
        if (t->is_regression && a->label_smoothing_factor > 0)
            return sg_fail("--label_smoothing_factor: %s is a regression task (no classes to smooth)", t->name);
    }
    if (a->task && a->metric_for_best_model && check_best_metric(a->metric_for_best_model, sg_glue_task_find(a->task))) return -1;
    if (a->do_train && !a->resume && !a->overwrite && sg_dir_nonempty(a->output_dir))
        return sg_fail("%s: output directory exists and is not empty (use --overwrite_output_dir to overwrite it, or --resume_from_checkpoint)",
                       a->output_dir);
    return 0;
}

/* spikeglue pretrain: run_mlm.py's checks */
static int check_pretrain(const sg_run_args *a) {
    if (!a->model) return sg_fail("pretrain: --model_name_or_path is required");
    if (!a->output_dir) return sg_fail("pretrain: --output_dir is required");
    if (!a->do_train && !a->do_eval) return sg_fail("pretrain: nothing to do (give --do_train and/or --do_eval)");
    if (!a->train_file && !a->glue_dir) return sg_fail("pretrain: give --train_file FILE or --glue_dir DIR (the text to learn from)");
    if (a->train_file && a->glue_dir) return sg_fail("pretrain: give --train_file or --glue_dir, not both");
    if (!(a->mlm_probability > 0 && a->mlm_probability <= 1)) return sg_fail("--mlm_probability %g is outside (0, 1]", a->mlm_probability);
    if (a->validation_split_percentage < 0 || a->validation_split_percentage >= 100)
        return sg_fail("--validation_split_percentage %d is outside [0, 100)", a->validation_split_percentage);
    if (!a->validation_file && a->validation_split_percentage == 0 && (a->do_eval || a->eval_strategy_v != SG_STRATEGY_NO))
        return sg_fail("pretrain: evaluation needs --validation_file or a --validation_split_percentage above 0");
    if (a->hidden_act && strcmp(a->hidden_act, "relu") && strcmp(a->hidden_act, "gelu"))
        return sg_fail("--hidden_act: expected relu or gelu, not '%s'", a->hidden_act);
    if (a->metric_for_best_model && strcmp(a->metric_for_best_model, "loss") && strcmp(a->metric_for_best_model, "eval_loss"))
        return sg_fail("--metric_for_best_model %s: pretrain reports loss (eval_loss)", a->metric_for_best_model);
    if (a->do_train && !a->resume && !a->overwrite && sg_dir_nonempty(a->output_dir))
        return sg_fail("%s: output directory exists and is not empty (use --overwrite_output_dir to overwrite it, or --resume_from_checkpoint)",
                       a->output_dir);
    return 0;
}

int sg_run_args_parse_for(sg_run_args *a, sg_args_command cmd, int argc, char **argv) {
    set_defaults(a, cmd);
    sg_flag flags[N_RUN_FLAGS];
    int n = 0;
    for (int i = 0; i < N_RUN_FLAGS; i++)
        if (k_run_flags[i].commands & (1u << cmd))
            flags[n++] = (sg_flag){k_run_flags[i].name, k_run_flags[i].kind, (char *)a + k_run_flags[i].offset, k_run_flags[i].help, 0};
    char *pos[1];
    int npos = 0;
    const int pretrain = cmd == SG_ARGS_PRETRAIN;
    int rc = sg_flags_parse(pretrain ? "pretrain" : "run", pretrain ? PRETRAIN_USAGE : USAGE, flags, n, argc, argv, pos, 0, &npos);
    if (rc) return rc > 0 ? 1 : -1;
    for (int i = 0; i < n; i++)
        if (flags[i].seen && !strcmp(flags[i].name, "logging_strategy")) a->logging_strategy_set = 1;
    if ((!pretrain && resolve_dataset(a)) || check_numbers(a) || check_strategies(a) || parse_scheduler(a) ||
        check_platform_flags(a, flags, n, 0) || (pretrain ? check_pretrain(a) : check_combinations(a)))
        return -1;
    check_platform_flags(a, flags, n, 1);
    return 0;
}

int sg_run_args_parse(sg_run_args *a, int argc, char **argv) { return sg_run_args_parse_for(a, SG_ARGS_RUN, argc, argv); }

void sg_run_args_train_config(const sg_run_args *a, sg_train_config *tc) {
    memset(tc, 0, sizeof *tc);
    tc->learning_rate = a->lr;
    tc->weight_decay = a->weight_decay;
    tc->warmup_ratio = a->warmup_ratio;
    tc->num_train_epochs = a->epochs;
    tc->max_grad_norm = a->max_grad_norm;
    tc->warmup_steps = a->warmup_steps;
    tc->max_steps = a->max_steps;
    tc->batch_size = a->train_bs;
    tc->logging_steps = a->logging_steps;
    tc->eval_steps = a->eval_steps;
    tc->save_steps = a->save_steps;
    tc->save_total_limit = a->save_total_limit;
    tc->seed = a->seed;
    tc->pad_to_max = a->pad_to_max;
    tc->eval_strategy = a->eval_strategy_v;
    tc->save_strategy = a->save_strategy_v;
    tc->output_dir = a->output_dir;
    tc->resume_from = a->resume;
    tc->gradient_accumulation_steps = a->gradient_accumulation_steps;
    tc->lr_scheduler = a->lr_scheduler_v;
    tc->lr_scheduler_kwargs = a->lr_scheduler_kwargs_v;
    tc->adam_beta1 = a->adam_beta1;
    tc->adam_beta2 = a->adam_beta2;
    tc->adam_epsilon = a->adam_epsilon;
    tc->logging_strategy = a->logging_strategy_v;
    tc->logging_strategy_set = a->logging_strategy_set;
    tc->logging_first_step = a->logging_first_step;
    tc->eval_delay = a->eval_delay;
    tc->load_best_model_at_end = a->load_best_model_at_end;
    tc->metric_for_best_model = a->metric_for_best_model;
    tc->greater_is_better = a->greater_is_better;
}
