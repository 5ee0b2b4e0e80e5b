/* trainer_state.json, checkpoint directories, their rotation and the best model, as HF's Trainer
 * keeps them (TrainerState, _save_checkpoint, _rotate_checkpoints, _determine_best_metric,
 * _load_best_model). */
#include "core/error.h"
#include "core/fileio.h"
#include "io/checkpoint.h"
#include "train/trainer_internal.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* HF's fractional epoch: micro-batches used / micro-batches per epoch (with the state, since
 * trainer_state.json and every log entry carry it). */
double sg_trainer_epoch(const sg_trainer *t) {
    int e = t->global_step / t->steps_per_epoch, k = t->global_step % t->steps_per_epoch;
    return (double)e + (double)k * t->grad_accum / t->micro_per_epoch;
}

int sg_trainer_write_state(const sg_trainer *t, const char *path) {
    cJSON *s = cJSON_CreateObject();
    if (t->has_best_metric) cJSON_AddNumberToObject(s, "best_global_step", t->best_global_step);
    else cJSON_AddNullToObject(s, "best_global_step");
    if (t->has_best_metric) cJSON_AddNumberToObject(s, "best_metric", t->best_metric);
    else cJSON_AddNullToObject(s, "best_metric");
    if (t->best_model_checkpoint[0]) cJSON_AddStringToObject(s, "best_model_checkpoint", t->best_model_checkpoint);
    else cJSON_AddNullToObject(s, "best_model_checkpoint");
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
    cJSON_AddNumberToObject(s, "train_batch_size", t->cfg.batch_size); /* per device, as HF: not x accumulation */
    /* ours: what a bit-for-bit resume needs beyond the weights and moments */
    cJSON *ours = cJSON_AddObjectToObject(s, "spikeglue");
    cJSON_AddNumberToObject(ours, "seed", t->cfg.seed);
    cJSON_AddNumberToObject(ours, "gradient_accumulation_steps", t->grad_accum);
    cJSON_AddNumberToObject(ours, "total_loss_sum", t->total_loss_sum);
    cJSON_AddNumberToObject(ours, "logged_loss_sum", t->logged_loss_sum);
    cJSON_AddNumberToObject(ours, "logged_steps", t->logged_steps);
    cJSON_AddNumberToObject(ours, "last_grad_norm", t->last_grad_norm);
    cJSON_AddNumberToObject(ours, "warmup_steps", t->schedule.warmup_steps);
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

/* best_metric / best_global_step / best_model_checkpoint: null or the right type */
static int read_best(sg_trainer *t, const cJSON *s, const char *path) {
    const cJSON *metric = cJSON_GetObjectItem(s, "best_metric"), *step = cJSON_GetObjectItem(s, "best_global_step"),
                *dir = cJSON_GetObjectItem(s, "best_model_checkpoint");
    if (metric && !cJSON_IsNull(metric) && !cJSON_IsNumber(metric))
        return sg_fail("%s: key 'best_metric' must be a number or null", path);
    if (step && !cJSON_IsNull(step) && !cJSON_IsNumber(step))
        return sg_fail("%s: key 'best_global_step' must be a number or null", path);
    if (dir && !cJSON_IsNull(dir) && !(cJSON_IsString(dir) && strlen(dir->valuestring) < sizeof t->best_model_checkpoint))
        return sg_fail("%s: key 'best_model_checkpoint' must be a path or null", path);
    t->has_best_metric = cJSON_IsNumber(metric);
    t->best_metric = t->has_best_metric ? metric->valuedouble : 0.0;
    t->best_global_step = cJSON_IsNumber(step) ? (int)step->valuedouble : 0;
    snprintf(t->best_model_checkpoint, sizeof t->best_model_checkpoint, "%s", cJSON_IsString(dir) ? dir->valuestring : "");
    return 0;
}

int sg_trainer_read_state(sg_trainer *t, const char *path) {
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
                *logged_steps = cJSON_GetObjectItem(ours, "logged_steps"), *calls = cJSON_GetObjectItem(ours, "lsq_init_calls"),
                *accum = cJSON_GetObjectItem(ours, "gradient_accumulation_steps"),
                *norm = cJSON_GetObjectItem(ours, "last_grad_norm");
    const char *missing = !cJSON_IsNumber(total)          ? "spikeglue.total_loss_sum"
                          : !cJSON_IsNumber(logged)       ? "spikeglue.logged_loss_sum"
                          : !cJSON_IsNumber(logged_steps) ? "spikeglue.logged_steps"
                          : !cJSON_IsArray(calls)         ? "spikeglue.lsq_init_calls"
                                                          : NULL;
    if (missing) {
        cJSON_Delete(s);
        return sg_fail("%s: key '%s' is missing or has the wrong type", path, missing);
    }
    /* states written before accumulation existed trained with 1 */
    int saved_accum = cJSON_IsNumber(accum) ? (int)accum->valuedouble : 1;
    if (saved_accum != t->grad_accum) {
        cJSON_Delete(s);
        return sg_fail("%s: the checkpoint trained with gradient_accumulation_steps %d, this run %d", path, saved_accum,
                       t->grad_accum);
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
    if (read_best(t, s, path)) {
        cJSON_Delete(s);
        return -1;
    }
    t->global_step = (int)step->valuedouble;
    cJSON_Delete(t->log_history);
    t->log_history = cJSON_Duplicate(hist, 1);
    t->total_loss_sum = total->valuedouble;
    t->logged_loss_sum = logged->valuedouble;
    t->logged_steps = (int)logged_steps->valuedouble;
    t->last_grad_norm = cJSON_IsNumber(norm) ? (float)norm->valuedouble : 0.0f;
    for (int i = 0; i < nq; i++)
        if (m->quant[i].s) m->quant[i].init_calls = (int)cJSON_GetArrayItem(calls, i)->valuedouble;
    cJSON_Delete(s);
    if (t->global_step < 0 || t->global_step > t->total_steps)
        return sg_fail("%s: global_step %d is outside this run's %d steps", path, t->global_step, t->total_steps);
    return 0;
}

static void checkpoint_dir(const sg_trainer *t, int step, char *out, size_t cap) {
    snprintf(out, cap, "%s/checkpoint-%d", t->cfg.output_dir, step);
}

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
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

static int compare_ints(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* The steps of output_dir's checkpoint-N directories, oldest first, with the best checkpoint moved
 * to the second-newest place (HF _sorted_checkpoints), so rotation never deletes it. */
static int sorted_checkpoints(const sg_trainer *t, int *steps, int cap) {
    DIR *d = opendir(t->cfg.output_dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < cap) {
        int s;
        char rest;
        if (sscanf(e->d_name, "checkpoint-%d%c", &s, &rest) == 1) steps[n++] = s;
    }
    closedir(d);
    qsort(steps, (size_t)n, sizeof(int), compare_ints);
    if (t->best_model_checkpoint[0]) {
        for (int i = 0; i < n; i++) {
            char dir[4200];
            checkpoint_dir(t, steps[i], dir, sizeof dir);
            if (strcmp(dir, t->best_model_checkpoint) != 0) continue;
            for (int j = i; j < n - 2; j++) {
                int tmp = steps[j];
                steps[j] = steps[j + 1];
                steps[j + 1] = tmp;
            }
            break;
        }
    }
    return n;
}

static void remove_checkpoint(const sg_trainer *t, int step) {
    char old[4200];
    checkpoint_dir(t, step, old, sizeof old);
    if (sg_remove_tree(old)) fprintf(stderr, "spikeglue: warning: %s\n", sg_last_error());
}

/* save_total_limit (HF _rotate_checkpoints) */
static void rotate_checkpoints(const sg_trainer *t) {
    if (t->cfg.save_total_limit <= 0) return;
    int steps[4096], n = sorted_checkpoints(t, steps, 4096);
    if (n <= t->cfg.save_total_limit) return;
    int limit = t->cfg.save_total_limit;
    /* limit 1 with a best checkpoint that is not the newest keeps two: the best and the newest (to resume) */
    if (t->best_model_checkpoint[0] && limit == 1) {
        char newest[4200];
        checkpoint_dir(t, steps[n - 1], newest, sizeof newest);
        if (strcmp(newest, t->best_model_checkpoint) != 0) limit = 2;
    }
    for (int i = 0; i < n - limit; i++) remove_checkpoint(t, steps[i]);
}

int sg_trainer_checkpoint_now(sg_trainer *t, sg_progress *p) {
    char dir[4200];
    checkpoint_dir(t, t->global_step, dir, sizeof dir);
    /* HF _save_checkpoint: the best checkpoint is named once its directory exists (this one, if
     * this step is the best) */
    if (t->has_best_metric && t->best_global_step > 0) {
        char best[4200];
        checkpoint_dir(t, t->best_global_step, best, sizeof best);
        if (t->best_global_step == t->global_step || is_dir(best))
            snprintf(t->best_model_checkpoint, sizeof t->best_model_checkpoint, "%s", best);
    }
    if (sg_trainer_save_checkpoint(t, dir)) return -1;
    sg_progress_log(p, "saved %s", dir);
    rotate_checkpoints(t);
    return 0;
}

int sg_trainer_note_eval(sg_trainer *t, const cJSON *entry) {
    if (!t->best_metric_key[0]) return 0;
    const cJSON *v = cJSON_GetObjectItem(entry, t->best_metric_key);
    if (!cJSON_IsNumber(v)) {
        char names[512] = "";
        const cJSON *e;
        cJSON_ArrayForEach(e, entry) {
            if (strncmp(e->string, "eval_", 5) != 0) continue;
            size_t used = strlen(names);
            snprintf(names + used, sizeof names - used, "%s%s", used ? ", " : "", e->string);
        }
        return sg_fail("--metric_for_best_model: '%s' is not among the evaluation metrics (%s)", t->best_metric_key, names);
    }
    double x = v->valuedouble;
    int better = !t->has_best_metric || (t->greater_is_better ? x > t->best_metric : x < t->best_metric);
    if (!better) return 0;
    t->has_best_metric = 1;
    t->best_metric = x;
    t->best_global_step = t->global_step;
    return 1;
}

int sg_trainer_finish_best(sg_trainer *t, sg_progress *p) {
    if (!t->best_model_checkpoint[0]) return 0;
    if (t->cfg.load_best_model_at_end) {
        char path[4300];
        snprintf(path, sizeof path, "%s/model.safetensors", t->best_model_checkpoint);
        sg_progress_log(p, "loading the best model from %s (%s %g)", t->best_model_checkpoint, t->best_metric_key,
                        t->best_metric);
        if (sg_checkpoint_load_weights(t->model, path, 0, NULL)) return -1;
    }
    /* HF: with save_total_limit 1, the newest checkpoint kept for resuming goes once training is over */
    if (t->cfg.save_total_limit == 1) {
        int steps[4096], n = sorted_checkpoints(t, steps, 4096);
        for (int i = 0; i < n; i++) {
            char dir[4200];
            checkpoint_dir(t, steps[i], dir, sizeof dir);
            if (strcmp(dir, t->best_model_checkpoint) != 0) remove_checkpoint(t, steps[i]);
        }
    }
    return 0;
}
