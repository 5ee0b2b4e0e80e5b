#include "train/trainer.h"

#include "core/error.h"
#include "core/fileio.h"
#include "core/rng.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "parallel/tp.h"
#include "train/progress.h"

#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

double sg_trainer_epoch(const sg_trainer *t) { return (double)t->global_step / t->steps_per_epoch; }

int sg_trainer_init(sg_trainer *t, const sg_train_config *cfg, sg_model *m, const sg_encoded *train) {
    memset(t, 0, sizeof *t);
    t->cfg = *cfg;
    t->model = m;
    t->train = train;
    if (train->n == 0) return sg_fail("the training split is empty");
    if (cfg->batch_size <= 0) return sg_fail("--per_device_train_batch_size must be positive");
    t->steps_per_epoch = (train->n + cfg->batch_size - 1) / cfg->batch_size;
    if (cfg->max_steps > 0) {
        t->total_steps = cfg->max_steps;
        t->epochs = (cfg->max_steps + t->steps_per_epoch - 1) / t->steps_per_epoch;
    } else {
        if (!(cfg->num_train_epochs > 0)) return sg_fail("--num_train_epochs must be positive");
        t->epochs = (int)ceil(cfg->num_train_epochs);
        t->total_steps = (int)ceil(cfg->num_train_epochs * t->steps_per_epoch);
    }
    sg_adamw_defaults(&t->opt);
    t->opt.lr = (float)cfg->learning_rate;
    t->opt.weight_decay = (float)cfg->weight_decay;
    t->opt.max_grad_norm = (float)cfg->max_grad_norm;
    t->opt.total_steps = t->total_steps;
    t->opt.warmup_steps = cfg->warmup_steps > 0 ? cfg->warmup_steps : (int)ceil(cfg->warmup_ratio * t->total_steps);
    t->log_history = cJSON_CreateArray();
    m->dropout_seed = (uint64_t)cfg->seed;
    return sg_model_reserve(m, cfg->batch_size, train->T, 1);
}

void sg_trainer_free(sg_trainer *t) {
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

/* ---- checkpoints ---- */

int sg_trainer_write_state(const sg_trainer *t, const char *path) {
    cJSON *s = cJSON_CreateObject();
    cJSON_AddNullToObject(s, "best_metric");
    cJSON_AddNullToObject(s, "best_model_checkpoint");
    cJSON_AddNumberToObject(s, "epoch", sg_trainer_epoch(t));
    cJSON_AddNumberToObject(s, "eval_steps", t->cfg.eval_steps);
    cJSON_AddNumberToObject(s, "global_step", t->global_step);
    cJSON_AddBoolToObject(s, "is_hyper_param_search", 0);
    cJSON_AddBoolToObject(s, "is_local_process_zero", 1);
    cJSON_AddBoolToObject(s, "is_world_process_zero", 1);
    cJSON_AddItemToObject(s, "log_history", cJSON_Duplicate(t->log_history, 1));
    cJSON_AddNumberToObject(s, "logging_steps", t->cfg.logging_steps);
    cJSON_AddNumberToObject(s, "max_steps", t->total_steps);
    cJSON_AddNumberToObject(s, "num_train_epochs", t->epochs);
    cJSON_AddNumberToObject(s, "save_steps", t->cfg.save_steps);
    cJSON_AddNumberToObject(s, "train_batch_size", t->cfg.batch_size);
    /* ours: what a bit-for-bit resume needs beyond the weights and moments */
    cJSON *ours = cJSON_AddObjectToObject(s, "spikeglue");
    cJSON_AddNumberToObject(ours, "seed", t->cfg.seed);
    cJSON_AddNumberToObject(ours, "total_loss_sum", t->total_loss_sum);
    cJSON_AddNumberToObject(ours, "logged_loss_sum", t->logged_loss_sum);
    cJSON_AddNumberToObject(ours, "logged_steps", t->logged_steps);
    cJSON_AddNumberToObject(ours, "warmup_steps", t->opt.warmup_steps);
    cJSON *calls = cJSON_AddArrayToObject(ours, "lsq_init_calls");
    const sg_model *m = t->model;
    for (int i = 0; m->quant && i <= m->cfg.layers * Q_PER_LAYER; i++)
        cJSON_AddItemToArray(calls, cJSON_CreateNumber(m->quant[i].s ? m->quant[i].init_calls : -1));
    char *text = cJSON_Print(s);
    cJSON_Delete(s);
    int rc = text ? sg_write_file_atomic(path, text, strlen(text)) : sg_fail("%s: out of memory", path);
    free(text);
    return rc;
}

static int read_state(sg_trainer *t, const char *path) {
    size_t len;
    char *text = sg_read_file(path, 256u << 20, &len);
    if (!text) return -1;
    cJSON *s = cJSON_ParseWithLength(text, len);
    free(text);
    if (!s) return sg_fail("%s: not valid JSON", path);
    const cJSON *step = cJSON_GetObjectItem(s, "global_step"), *hist = cJSON_GetObjectItem(s, "log_history"),
                *ours = cJSON_GetObjectItem(s, "spikeglue");
    if (!cJSON_IsNumber(step) || !cJSON_IsArray(hist) || !cJSON_IsObject(ours)) {
        cJSON_Delete(s);
        return sg_fail("%s: not a spikeglue trainer state (global_step, log_history, spikeglue expected)", path);
    }
    const cJSON *total = cJSON_GetObjectItem(ours, "total_loss_sum"), *logged = cJSON_GetObjectItem(ours, "logged_loss_sum"),
                *logged_steps = cJSON_GetObjectItem(ours, "logged_steps"), *calls = cJSON_GetObjectItem(ours, "lsq_init_calls");
    const char *missing = !cJSON_IsNumber(total)          ? "spikeglue.total_loss_sum"
                          : !cJSON_IsNumber(logged)       ? "spikeglue.logged_loss_sum"
                          : !cJSON_IsNumber(logged_steps) ? "spikeglue.logged_steps"
                          : !cJSON_IsArray(calls)         ? "spikeglue.lsq_init_calls"
                                                          : NULL;
    if (missing) {
        cJSON_Delete(s);
        return sg_fail("%s: key '%s' is missing or has the wrong type", path, missing);
    }
    sg_model *m = t->model;
    int nq = m->quant ? m->cfg.layers * Q_PER_LAYER + 1 : 0;
    if (cJSON_GetArraySize(calls) != nq) {
        int have = cJSON_GetArraySize(calls);
        cJSON_Delete(s);
        return sg_fail("%s: the checkpoint has %d quantizers, this run %d (same --transform_config?)", path, have, nq);
    }
    for (int i = 0; i < nq; i++) {
        const cJSON *c = cJSON_GetArrayItem(calls, i);
        if (!cJSON_IsNumber(c) || c->valuedouble < 0) {
            cJSON_Delete(s);
            return sg_fail("%s: spikeglue.lsq_init_calls[%d] is not a count", path, i);
        }
    }
    t->global_step = (int)step->valuedouble;
    cJSON_Delete(t->log_history);
    t->log_history = cJSON_Duplicate(hist, 1);
    t->total_loss_sum = total->valuedouble;
    t->logged_loss_sum = logged->valuedouble;
    t->logged_steps = (int)logged_steps->valuedouble;
    for (int i = 0; i < nq; i++)
        if (m->quant[i].s) m->quant[i].init_calls = (int)cJSON_GetArrayItem(calls, i)->valuedouble;
    cJSON_Delete(s);
    if (t->global_step < 0 || t->global_step > t->total_steps)
        return sg_fail("%s: global_step %d is outside this run's %d steps", path, t->global_step, t->total_steps);
    return 0;
}

int sg_trainer_save_checkpoint(sg_trainer *t, const char *dir) {
    char tmp[4200], path[4300];
    snprintf(tmp, sizeof tmp, "%s.partial", dir);
    if (sg_remove_tree(tmp)) return -1; /* left by a run killed while saving */
    if (sg_checkpoint_save(t->model, tmp)) return -1;
    snprintf(path, sizeof path, "%s/optimizer.safetensors", tmp);
    if (sg_checkpoint_save_optimizer(t->model, path)) return -1;
    snprintf(path, sizeof path, "%s/trainer_state.json", tmp);
    if (sg_trainer_write_state(t, path)) return -1;
    if (t->save_extra && t->save_extra(t->ctx, tmp)) return -1;
    /* the directory appears complete or not at all */
    if (sg_remove_tree(dir)) return -1;
    if (rename(tmp, dir) != 0) return sg_fail("%s: cannot move checkpoint into place", dir);
    return 0;
}

static int compare_ints(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* save_total_limit: keep the newest checkpoints only */
static void rotate_checkpoints(const sg_trainer *t) {
    if (t->cfg.save_total_limit <= 0) return;
    DIR *d = opendir(t->cfg.output_dir);
    if (!d) return;
    int steps[4096], n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 4096) {
        int s;
        char rest;
        if (sscanf(e->d_name, "checkpoint-%d%c", &s, &rest) == 1) steps[n++] = s;
    }
    closedir(d);
    qsort(steps, (size_t)n, sizeof(int), compare_ints);
    for (int i = 0; i < n - t->cfg.save_total_limit; i++) {
        char old[4400];
        snprintf(old, sizeof old, "%s/checkpoint-%d", t->cfg.output_dir, steps[i]);
        if (sg_remove_tree(old)) fprintf(stderr, "spikeglue: warning: %s\n", sg_last_error());
    }
}

static int checkpoint_now(sg_trainer *t, sg_progress *p) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/checkpoint-%d", t->cfg.output_dir, t->global_step);
    if (sg_trainer_save_checkpoint(t, dir)) return -1;
    sg_progress_log(p, "saved %s", dir);
    rotate_checkpoints(t);
    return 0;
}

static int evaluate_now(sg_trainer *t, sg_progress *p) {
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
    return 0;
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

int sg_trainer_train(sg_trainer *t) {
    sg_model *m = t->model;
    const sg_train_config *c = &t->cfg;
    if (c->resume_from) {
        char path[4300];
        snprintf(path, sizeof path, "%s/model.safetensors", c->resume_from);
        if (sg_checkpoint_load_weights(m, path, 0, NULL)) return -1;
        snprintf(path, sizeof path, "%s/optimizer.safetensors", c->resume_from);
        if (sg_checkpoint_load_optimizer(m, path)) return -1;
        snprintf(path, sizeof path, "%s/trainer_state.json", c->resume_from);
        if (read_state(t, path)) return -1;
    }
    int *order = malloc(sizeof(int) * (size_t)t->train->n);
    sg_batch_buffers bb;
    if (!order || sg_batch_buffers_init(&bb, c->batch_size, t->train->T)) {
        free(order);
        return sg_fail("out of memory");
    }
    sg_progress p;
    sg_progress_start(&p, "train", t->total_steps);
    if (c->resume_from) sg_progress_log(&p, "resumed from %s at step %d of %d", c->resume_from, t->global_step, t->total_steps);
    sg_progress_update(&p, t->global_step, NULL);
    double t0 = sg_now();
    int rc = 0, start_step = t->global_step;
    while (t->global_step < t->total_steps && rc == 0) {
        int epoch = t->global_step / t->steps_per_epoch, in_epoch = t->global_step % t->steps_per_epoch;
        epoch_order(order, t->train->n, c->seed, epoch);
        for (int bi = in_epoch; bi < t->steps_per_epoch && t->global_step < t->total_steps; bi++) {
            int start = bi * c->batch_size;
            int count = t->train->n - start < c->batch_size ? t->train->n - start : c->batch_size;
            sg_batch b = sg_gather_batch(t->train, order, start, count, c->pad_to_max, &bb);
            m->step = (uint64_t)t->global_step;
            sg_model_zero_grad(m);
            float loss = sg_model_forward(m, &b, 1);
            if (!isfinite(loss)) {
                rc = sg_fail("diverged at step %d (epoch %.2f): the loss is %s", t->global_step + 1, sg_trainer_epoch(t),
                             isnan(loss) ? "nan" : "inf");
                break;
            }
            sg_model_backward(m, &b);
            float norm = sg_grad_norm(m); /* clipping is folded into the AdamW pass */
            if (!isfinite(norm)) {
                rc = sg_fail("diverged at step %d (epoch %.2f): the gradient norm is %s, first in %s", t->global_step + 1,
                             sg_trainer_epoch(t), isnan(norm) ? "nan" : "inf", first_nonfinite_grad(m));
                break;
            }
            float lr = t->opt.lr * sg_linear_schedule(t->global_step, t->opt.warmup_steps, t->opt.total_steps);
            sg_adamw_step_scaled(m, &t->opt, lr, t->global_step + 1, sg_clip_factor(norm, t->opt.max_grad_norm));
            t->global_step++;
            if ((rc = check_steps(m, t->global_step))) break;
            t->total_loss_sum += loss;
            t->logged_loss_sum += loss;
            t->logged_steps++;
            char extra[64];
            snprintf(extra, sizeof extra, "epoch %.2f loss %.4f", sg_trainer_epoch(t), loss);
            sg_progress_update(&p, t->global_step, extra);
            int end_of_epoch = bi == t->steps_per_epoch - 1 || t->global_step == t->total_steps;
            if (c->logging_steps > 0 && (t->global_step % c->logging_steps == 0 || t->global_step == t->total_steps)) {
                cJSON *e = cJSON_CreateObject();
                cJSON_AddNumberToObject(e, "loss", t->logged_loss_sum / t->logged_steps);
                cJSON_AddNumberToObject(e, "grad_norm", norm);
                cJSON_AddNumberToObject(e, "learning_rate", lr);
                cJSON_AddNumberToObject(e, "epoch", sg_trainer_epoch(t));
                cJSON_AddNumberToObject(e, "step", t->global_step);
                sg_progress_log(&p, "step %d/%d epoch %.2f loss %.4f lr %.3g grad_norm %.3g", t->global_step,
                                t->total_steps, sg_trainer_epoch(t), t->logged_loss_sum / t->logged_steps, lr, norm);
                cJSON_AddItemToArray(t->log_history, e);
                t->logged_loss_sum = 0.0;
                t->logged_steps = 0;
            }
            if ((c->eval_strategy == SG_STRATEGY_EPOCH && end_of_epoch) ||
                (c->eval_strategy == SG_STRATEGY_STEPS && c->eval_steps > 0 && t->global_step % c->eval_steps == 0))
                if ((rc = evaluate_now(t, &p))) break;
            if ((c->save_strategy == SG_STRATEGY_EPOCH && end_of_epoch) ||
                (c->save_strategy == SG_STRATEGY_STEPS && c->save_steps > 0 && t->global_step % c->save_steps == 0))
                if ((rc = checkpoint_now(t, &p))) break;
            int stop = g_stop_signal != 0;
            if (sg_tp_of(m)) stop = sg_tp_allreduce_sum(m, stop) > 0.0; /* the whole group stops at the same step */
            if (stop) {
                sg_progress_log(&p, "%s: saving a checkpoint at step %d", g_stop_signal == SIGINT ? "interrupted" : "terminated",
                                t->global_step);
                rc = checkpoint_now(t, &p);
                t->interrupted = 1;
                if (rc == 0) rc = 1;
                break;
            }
        }
    }
    sg_progress_finish(&p);
    t->train_seconds = sg_now() - t0;
    (void)start_step;
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
    cJSON_AddNumberToObject(obj, "train_samples_per_second", (double)t->global_step * t->cfg.batch_size / secs);
    cJSON_AddNumberToObject(obj, "train_steps_per_second", t->global_step / secs);
}
