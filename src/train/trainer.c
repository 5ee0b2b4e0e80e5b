/* The training loop (HF Trainer._inner_training_loop): step counts, optimizer steps over
 * accumulated micro-batches, and the log / evaluate / save events of each step and epoch. */
#include "train/trainer.h"

#include "core/error.h"
#include "core/fileio.h"
#include "core/rng.h"
#include "io/checkpoint.h"
#include "parallel/tp.h"
#include "train/run_results.h"
#include "train/trainer_internal.h"

#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t g_stop_signal = 0;

static void on_signal(int sig) { g_stop_signal = sig; }

void sg_trainer_install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void sg_trainer_restore_signals(void) {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    /* a signal that arrived after the last step was checked still ends the process */
    if (g_stop_signal) raise(g_stop_signal);
}

/* HF's state.epoch: whole epochs plus the fraction of this epoch's micro-batches consumed. */

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static const char *strategy_name(sg_strategy s) {
    return s == SG_STRATEGY_NO ? "no" : s == SG_STRATEGY_STEPS ? "steps" : s == SG_STRATEGY_EPOCH ? "epoch" : "best";
}

/* HF TrainingArguments.__post_init__'s rules for logging, evaluation and the best model. */
static int resolve_strategies(sg_trainer *t) {
    sg_train_config *c = &t->cfg;
    if (!c->logging_strategy_set) c->logging_strategy = SG_STRATEGY_STEPS;
    if (c->logging_strategy == SG_STRATEGY_BEST || c->eval_strategy == SG_STRATEGY_BEST)
        return sg_fail("--%s: 'best' is a save strategy only", c->eval_strategy == SG_STRATEGY_BEST ? "eval_strategy" : "logging_strategy");
    if (c->logging_strategy == SG_STRATEGY_STEPS && c->logging_steps <= 0)
        return sg_fail("--logging_strategy steps requires a positive --logging_steps (got %d)", c->logging_steps);
    if (c->eval_strategy == SG_STRATEGY_STEPS && c->eval_steps <= 0)
        return sg_fail("--eval_strategy steps requires a positive --eval_steps (got %d)", c->eval_steps);
    if (!(c->eval_delay >= 0.0) || !isfinite(c->eval_delay)) return sg_fail("--eval_delay must be a finite number >= 0");
    if (c->save_strategy == SG_STRATEGY_BEST && c->eval_strategy == SG_STRATEGY_NO)
        return sg_fail("--save_strategy best saves when an evaluation reaches a new best, but --eval_strategy is no");
    if (c->load_best_model_at_end && c->save_strategy != SG_STRATEGY_BEST) {
        if (c->eval_strategy != c->save_strategy)
            return sg_fail("--load_best_model_at_end requires the save and eval strategy to match (eval_strategy %s, save_strategy %s)",
                           strategy_name(c->eval_strategy), strategy_name(c->save_strategy));
        if (c->eval_strategy == SG_STRATEGY_STEPS && c->save_steps % c->eval_steps != 0)
            return sg_fail("--load_best_model_at_end requires --save_steps (%d) to be a round multiple of --eval_steps (%d)",
                           c->save_steps, c->eval_steps);
    }
    const char *metric = c->metric_for_best_model;
    if (!metric && (c->load_best_model_at_end || c->save_strategy == SG_STRATEGY_BEST)) metric = "loss";
    if (metric) {
        if (!metric[0] || strlen(metric) > 100) return sg_fail("--metric_for_best_model: '%s' is not a metric name", metric);
        snprintf(t->best_metric_key, sizeof t->best_metric_key, "%s%s", strncmp(metric, "eval_", 5) == 0 ? "" : "eval_", metric);
        t->greater_is_better = c->greater_is_better >= 0 ? c->greater_is_better != 0 : !ends_with(metric, "loss");
    }
    return 0;
}

/* Optimizer steps as HF's Trainer counts them, in double so that no count wraps: refused above INT_MAX. */
static int count_steps(sg_trainer *t) {
    const sg_train_config *c = &t->cfg;
    t->grad_accum = c->gradient_accumulation_steps > 0 ? c->gradient_accumulation_steps : 1;
    t->micro_rows = c->batch_size * (c->dp ? c->dp->size : 1);
    t->micro_per_epoch = (int)(((long long)t->train->n + t->micro_rows - 1) / t->micro_rows);
    /* an epoch runs every micro-batch: its last optimizer step may accumulate fewer */
    t->steps_per_epoch = (t->micro_per_epoch + t->grad_accum - 1) / t->grad_accum;
    /* ... but HF sizes the run by whole accumulations per epoch (len(dataloader) // accumulation) */
    int hf_steps_per_epoch = t->micro_per_epoch / t->grad_accum > 0 ? t->micro_per_epoch / t->grad_accum : 1;
    if (c->max_steps > 0) {
        t->total_steps = c->max_steps;
        t->epochs = c->max_steps / hf_steps_per_epoch + (c->max_steps % hf_steps_per_epoch > 0);
        return 0;
    }
    if (!(c->num_train_epochs > 0)) return sg_fail("--num_train_epochs must be positive (got %g)", c->num_train_epochs);
    double steps = ceil(c->num_train_epochs * hf_steps_per_epoch);
    if (!(steps <= INT_MAX))
        return sg_fail("--num_train_epochs %g gives %.0f optimizer steps (%d per epoch), more than %d: use fewer epochs or --max_steps",
                       c->num_train_epochs, steps, hf_steps_per_epoch, INT_MAX);
    t->total_steps = (int)steps;
    t->epochs = (int)ceil(c->num_train_epochs);
    return 0;
}

static int init_checked(sg_trainer *t, const sg_train_config *cfg, sg_model *m, const sg_encoded *train) {
    t->cfg = *cfg;
    t->model = m;
    t->train = train;
    if (train->n == 0) return sg_fail("the training split is empty");
    if (cfg->batch_size <= 0) return sg_fail("--per_device_train_batch_size must be positive");
    if (count_steps(t) || resolve_strategies(t)) return -1;
    if (t->total_steps <= 0) return sg_fail("--max_steps / --num_train_epochs give no optimizer step");
    double warmup = cfg->warmup_steps > 0 ? cfg->warmup_steps : ceil(cfg->warmup_ratio * t->total_steps);
    if (!(warmup >= 0.0 && warmup <= INT_MAX)) return sg_fail("--warmup_ratio %g: not a usable fraction", cfg->warmup_ratio);
    sg_adamw_defaults(&t->opt);
    t->opt.lr = (float)cfg->learning_rate;
    t->opt.weight_decay = (float)cfg->weight_decay;
    t->opt.max_grad_norm = (float)cfg->max_grad_norm;
    if (cfg->adam_beta1 != 0.0) t->opt.beta1 = (float)cfg->adam_beta1;
    if (cfg->adam_beta2 != 0.0) t->opt.beta2 = (float)cfg->adam_beta2;
    if (cfg->adam_epsilon != 0.0) t->opt.eps = (float)cfg->adam_epsilon;
    if (!(t->opt.beta1 >= 0.0f && t->opt.beta1 < 1.0f) || !(t->opt.beta2 >= 0.0f && t->opt.beta2 < 1.0f))
        return sg_fail("--adam_beta1 / --adam_beta2 must be in [0, 1) (got %g, %g)", (double)t->opt.beta1, (double)t->opt.beta2);
    if (!(t->opt.eps >= 0.0f) || !isfinite(t->opt.eps)) return sg_fail("--adam_epsilon must be >= 0 (got %g)", (double)t->opt.eps);
    t->opt.total_steps = t->total_steps;
    t->opt.warmup_steps = (int)warmup;
    if (sg_lr_schedule_init(&t->schedule, cfg->lr_scheduler, &cfg->lr_scheduler_kwargs, cfg->learning_rate, (int)warmup,
                            t->total_steps))
        return -1;
    m->dropout_seed = (uint64_t)cfg->seed;
    if (cfg->dp && (long long)cfg->batch_size * cfg->dp->size > INT_MAX / 2)
        return sg_fail("--per_device_train_batch_size %d x --dp %d: too many rows", cfg->batch_size, cfg->dp->size);
    return sg_model_reserve(m, cfg->batch_size, train->T, 1);
}

int sg_trainer_init(sg_trainer *t, const sg_train_config *cfg, sg_model *m, const sg_encoded *train) {
    memset(t, 0, sizeof *t);
    if (init_checked(t, cfg, m, train)) return -1;
    if (cfg->dp && sg_dp_grad_sum_init(&t->grad_sum, cfg->dp, m)) return -1;
    t->log_history = cJSON_CreateArray();
    return t->log_history ? 0 : sg_fail("out of memory");
}

void sg_trainer_free(sg_trainer *t) {
    if (t->cfg.dp) sg_dp_grad_sum_free(&t->grad_sum);
    cJSON_Delete(t->log_history);
    t->log_history = NULL;
}

/* The order of epoch e: a Fisher-Yates shuffle seeded by (seed, epoch), so a resumed run
 * rebuilds exactly the order it was in. */
static void epoch_order(int *order, int n, int seed, int epoch) {
    for (int i = 0; i < n; i++) order[i] = i;
    sg_rng r;
    sg_rng_seed(&r, sg_hash64((uint64_t)seed * 1000003ULL + (uint64_t)epoch));
    for (int i = n - 1; i > 0; i--) {
        int j = (int)sg_rng_below(&r, (uint64_t)i + 1);
        int tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
    }
}

/* One evaluation into log_history; *new_best says whether it reached a new best metric. */
static int evaluate_now(sg_trainer *t, sg_progress *p, int *new_best) {
    *new_best = 0;
    if (!t->eval) return 0;
    cJSON *entry = cJSON_CreateObject();
    if (t->eval(t->ctx, t->model, entry)) {
        cJSON_Delete(entry);
        return -1;
    }
    cJSON_AddNumberToObject(entry, "epoch", sg_trainer_epoch(t));
    cJSON_AddNumberToObject(entry, "step", t->global_step);
    char *line = cJSON_PrintUnformatted(entry);
    sg_progress_log(p, "eval %s", line ? line : "");
    free(line);
    cJSON_AddItemToArray(t->log_history, entry);
    int rc = sg_trainer_note_eval(t, entry);
    if (rc < 0) return -1;
    *new_best = rc;
    return 0;
}

static float learning_rate_at(const sg_trainer *t, int step) {
    return (float)(t->opt.lr * sg_lr_schedule_factor(&t->schedule, step));
}

/* The mean loss since the last log line, as HF's _maybe_log_save_evaluate logs it: learning_rate
 * is the scheduler's after this step (the next step's). */
static void log_now(sg_trainer *t, sg_progress *p) {
    if (t->logged_steps == 0) return; /* nothing trained since the last log line */
    double loss = t->logged_loss_sum / t->logged_steps;
    float lr = learning_rate_at(t, t->global_step);
    cJSON *e = cJSON_CreateObject();
    cJSON_AddNumberToObject(e, "loss", loss);
    cJSON_AddNumberToObject(e, "grad_norm", t->last_grad_norm);
    cJSON_AddNumberToObject(e, "learning_rate", lr);
    cJSON_AddNumberToObject(e, "epoch", sg_trainer_epoch(t));
    cJSON_AddNumberToObject(e, "step", t->global_step);
    sg_progress_log(p, "step %d/%d epoch %.2f loss %.4f lr %.3g grad_norm %.3g", t->global_step, t->total_steps,
                    sg_trainer_epoch(t), loss, lr, t->last_grad_norm);
    cJSON_AddItemToArray(t->log_history, e);
    t->logged_loss_sum = 0.0;
    t->logged_steps = 0;
}

typedef struct {
    int log, eval, save;
} sg_events;

/* HF DefaultFlowCallback.on_step_end */
static sg_events step_end_events(const sg_trainer *t) {
    const sg_train_config *c = &t->cfg;
    int gs = t->global_step;
    sg_events ev = {0, 0, 0};
    ev.log = (gs == 1 && c->logging_first_step) || (c->logging_strategy == SG_STRATEGY_STEPS && gs % c->logging_steps == 0);
    ev.eval = c->eval_strategy == SG_STRATEGY_STEPS && gs % c->eval_steps == 0 && c->eval_delay <= gs;
    ev.save = c->save_strategy == SG_STRATEGY_STEPS && c->save_steps > 0 && gs % c->save_steps == 0;
    if (gs >= t->total_steps && c->save_strategy == SG_STRATEGY_STEPS) ev.save = 1; /* the end is saved */
    return ev;
}

/* HF DefaultFlowCallback.on_epoch_end (also when max_steps ends training inside an epoch) */
static sg_events epoch_end_events(const sg_trainer *t) {
    const sg_train_config *c = &t->cfg;
    sg_events ev = {c->logging_strategy == SG_STRATEGY_EPOCH,
                    c->eval_strategy == SG_STRATEGY_EPOCH && c->eval_delay <= sg_trainer_epoch(t),
                    c->save_strategy == SG_STRATEGY_EPOCH};
    return ev;
}

/* HF _maybe_log_save_evaluate: log, evaluate (save_strategy best: save on a new best), save. */
static int log_save_evaluate(sg_trainer *t, sg_progress *p, sg_events ev) {
    if (ev.log) log_now(t, p);
    if (ev.eval) {
        int new_best;
        if (evaluate_now(t, p, &new_best)) return -1;
        if (t->cfg.save_strategy == SG_STRATEGY_BEST) ev.save = new_best;
    }
    return ev.save ? sg_trainer_checkpoint_now(t, p) : 0;
}

/* The first parameter whose gradient holds a NaN or inf: what a divergence message names. */
static const char *first_nonfinite_grad(const sg_model *m) {
    for (int k = 0; k < m->table.count; k++) {
        const float *g = sg_model_grad(m, k);
        for (size_t i = 0; i < m->table.info[k].numel; i++)
            if (!isfinite(g[i])) return m->table.info[k].name;
    }
    return "(none found)";
}

static int check_steps(const sg_model *m, int step) {
    for (int i = 0; m->quant && i <= m->cfg.layers * Q_PER_LAYER; i++) {
        const sg_lsq *q = &m->quant[i];
        if (q->s && !(*q->s > 0.0f && isfinite(*q->s))) {
            for (int k = 0; k < m->table.count; k++)
                if (m->table.info[k].quantizer == i)
                    return sg_fail("diverged at step %d: quantizer step %s = %g (must be > 0)", step, m->table.info[k].name,
                                   (double)*q->s);
        }
    }
    return 0;
}

/* One optimizer step: the micro-batches [first, first + count) of the epoch's order, each loss
 * scaled 1 / count (HF: loss / current_gradient_accumulation_steps). The backward pass adds
 * into the gradients, so the scale is folded into the clipping factor AdamW applies.
 * Data parallel: each replica runs its rows of every micro-batch, then the gradients and losses
 * are summed over the replicas (one all-reduce after the last backward), so the norm, the
 * clipping and AdamW see the global batch's gradient on every replica. */
static int optimizer_step(sg_trainer *t, const int *order, int first, int count, sg_batch_buffers *bb, double *step_loss) {
    sg_model *m = t->model;
    const sg_train_config *c = &t->cfg;
    sg_model_zero_grad(m);
    if (c->dp) sg_dp_grad_sum_begin(&t->grad_sum);
    double loss_sum = 0.0;
    for (int j = 0; j < count; j++) {
        int start = (first + j) * t->micro_rows;
        int rows = t->train->n - start < t->micro_rows ? t->train->n - start : t->micro_rows;
        sg_batch b = sg_gather_batch(t->train, order, start, rows, c->pad_to_max, bb);
        const uint64_t draw = (uint64_t)t->global_step * (uint64_t)t->grad_accum + (uint64_t)j;
        if (c->collate) b = c->collate(c->collate_ctx, b, draw);
        if (c->dp) b = sg_replica_rows(m, c->dp, c->batch_size, b);
        m->step = draw; /* a dropout stream per micro-batch */
        /* data parallel: the last backward sums each part as soon as it is final */
        if (c->dp) sg_dp_grad_sum_batch(&t->grad_sum, &b, j == count - 1);
        float loss = sg_model_forward(m, &b, 1);
        if (!isfinite(loss) && !c->dp) /* data parallel: checked once summed, so that every replica stops */
            return sg_fail("diverged at step %d (epoch %.2f): the loss is %s", t->global_step + 1, sg_trainer_epoch(t),
                           isnan(loss) ? "nan" : "inf");
        sg_model_backward(m, &b);
        loss_sum += loss;
    }
    if (c->dp) {
        m->row_offset = m->global_rows = m->global_labelled = 0; /* evaluations between steps see whole batches */
        if (sg_dp_grad_sum_finish(&t->grad_sum)) return -1;
        loss_sum = sg_dp_allreduce_sum(c->dp, loss_sum);
        if (!isfinite(loss_sum))
            return sg_fail("diverged at step %d (epoch %.2f): the loss is %s", t->global_step + 1, sg_trainer_epoch(t),
                           isnan(loss_sum) ? "nan" : "inf");
    }
    const float scale = 1.0f / (float)count;
    float norm = sg_grad_norm(m) * scale; /* the norm of the averaged gradient; clipping is folded into AdamW */
    if (!isfinite(norm))
        return sg_fail("diverged at step %d (epoch %.2f): the gradient norm is %s, first in %s", t->global_step + 1,
                       sg_trainer_epoch(t), isnan(norm) ? "nan" : "inf", first_nonfinite_grad(m));
    float lr = learning_rate_at(t, t->global_step);
    sg_adamw_step_scaled(m, &t->opt, lr, t->global_step + 1, sg_clip_factor(norm, t->opt.max_grad_norm) * scale);
    t->global_step++;
    t->last_grad_norm = norm;
    *step_loss = loss_sum / count;
    return check_steps(m, t->global_step);
}

static int resume(sg_trainer *t) {
    const char *dir = t->cfg.resume_from;
    char path[4300];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (sg_checkpoint_load_weights(t->model, path, 0, NULL)) return -1;
    snprintf(path, sizeof path, "%s/optimizer.safetensors", dir);
    if (sg_checkpoint_load_optimizer(t->model, path)) return -1;
    snprintf(path, sizeof path, "%s/trainer_state.json", dir);
    return sg_trainer_read_state(t, path);
}

int sg_trainer_train(sg_trainer *t) {
    sg_model *m = t->model;
    const sg_train_config *c = &t->cfg;
    if (c->resume_from && resume(t)) return -1;
    int *order = malloc(sizeof(int) * (size_t)t->train->n);
    sg_batch_buffers bb;
    if (!order || sg_batch_buffers_init(&bb, t->micro_rows, t->train->T)) {
        free(order);
        return sg_fail("out of memory");
    }
    sg_progress p;
    sg_progress_start(&p, "train", t->total_steps);
    if (c->resume_from) sg_progress_log(&p, "resumed from %s at step %d of %d", c->resume_from, t->global_step, t->total_steps);
    sg_progress_update(&p, t->global_step, NULL);
    double t0 = sg_now();
    int rc = 0;
    while (t->global_step < t->total_steps && rc == 0) {
        int epoch = t->global_step / t->steps_per_epoch;
        epoch_order(order, t->train->n, c->seed, epoch);
        for (int k = t->global_step % t->steps_per_epoch; k < t->steps_per_epoch && t->global_step < t->total_steps; k++) {
            int first = k * t->grad_accum;
            int count = t->micro_per_epoch - first < t->grad_accum ? t->micro_per_epoch - first : t->grad_accum;
            double loss = 0.0;
            if ((rc = optimizer_step(t, order, first, count, &bb, &loss))) break;
            t->total_loss_sum += loss;
            t->logged_loss_sum += loss;
            t->logged_steps++;
            char extra[64];
            snprintf(extra, sizeof extra, "epoch %.2f loss %.4f", sg_trainer_epoch(t), loss);
            sg_progress_update(&p, t->global_step, extra);
            if ((rc = log_save_evaluate(t, &p, step_end_events(t)))) break;
            if (k == t->steps_per_epoch - 1 || t->global_step >= t->total_steps)
                if ((rc = log_save_evaluate(t, &p, epoch_end_events(t)))) break;
            int stop = g_stop_signal != 0;
            if (sg_tp_of(m)) stop = sg_tp_allreduce_sum(m, stop) > 0.0; /* the whole group stops at the same step */
            if (c->dp) stop = sg_dp_allreduce_sum(c->dp, stop) > 0.0;
            if (stop) {
                sg_progress_log(&p, "%s: saving a checkpoint at step %d", g_stop_signal == SIGINT ? "interrupted" : "terminated",
                                t->global_step);
                rc = sg_trainer_checkpoint_now(t, &p);
                t->interrupted = 1;
                if (rc == 0) rc = 1;
                break;
            }
        }
    }
    if (rc == 0) rc = sg_trainer_finish_best(t, &p);
    sg_progress_finish(&p);
    t->train_seconds = sg_now() - t0;
    free(order);
    sg_batch_buffers_free(&bb);
    return rc;
}

void sg_trainer_results(const sg_trainer *t, cJSON *obj) {
    double secs = t->train_seconds > 0 ? t->train_seconds : 1e-9;
    cJSON_AddNumberToObject(obj, "epoch", sg_trainer_epoch(t));
    cJSON_AddNumberToObject(obj, "train_loss", t->global_step ? t->total_loss_sum / t->global_step : 0.0);
    cJSON_AddNumberToObject(obj, "train_runtime", t->train_seconds);
    cJSON_AddNumberToObject(obj, "train_samples", t->train->n);
    cJSON_AddNumberToObject(obj, "train_samples_per_second",
                            (double)t->global_step * t->micro_rows * t->grad_accum / secs);
    cJSON_AddNumberToObject(obj, "train_steps_per_second", t->global_step / secs);
}

int sg_trainer_save_final(sg_trainer *t, const char *dir, cJSON *results) {
    sg_trainer_results(t, results);
    cJSON *final_entry = cJSON_Duplicate(results, 1);
    if (!final_entry) return sg_fail("out of memory");
    cJSON_AddNumberToObject(final_entry, "step", t->global_step);
    cJSON_AddItemToArray(t->log_history, final_entry);
    char state[4200];
    if (sg_path_join(state, sizeof state, dir, "trainer_state.json")) return -1;
    if (sg_checkpoint_save(t->model, dir) || (t->save_extra && t->save_extra(t->ctx, dir))) return -1;
    return sg_trainer_write_state(t, state) || sg_results_write(dir, "train_results.json", results) ? -1 : 0;
}
