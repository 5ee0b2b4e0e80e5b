/* A run's expected cost (sched/plan.h, "Expected cost"): an estimate for the execution order, the
 * slices and the ETA, from GLUE's published split sizes, the flags and the model's size. */
#include "sched/plan_cost.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *task;
    double train_rows, dev_rows;
} task_size;

/* GLUE's published split sizes (dev: matched for mnli, mismatched for mnli-mm). */
static const task_size TASK_SIZES[] = {
    {"cola", 8551, 1043},    {"sst2", 67349, 872},   {"mrpc", 3668, 408},  {"stsb", 5749, 1500},
    {"qqp", 363846, 40430},  {"mnli", 392702, 9815}, {"mnli-mm", 392702, 9832},
    {"qnli", 104743, 5463},  {"rte", 2490, 277},     {"wnli", 635, 71},
};

static const task_size *find_size(const sg_glue_task *task) {
    for (size_t i = 0; i < sizeof TASK_SIZES / sizeof TASK_SIZES[0]; i++)
        if (!strcmp(TASK_SIZES[i].task, task->name)) return &TASK_SIZES[i];
    return NULL;
}

double sg_plan_model_factor(const char *model) {
    static const struct {
        const char *word;
        double factor;
    } sizes[] = {{"tiny", 1}, {"small", 16}, {"base", 400}, {"large", 1400}};
    char lower[256];
    size_t n = 0;
    for (; model[n] && n + 1 < sizeof lower; n++) lower[n] = (char)tolower((unsigned char)model[n]);
    lower[n] = '\0';
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (strstr(lower, sizes[i].word)) return sizes[i].factor;
    return 400;
}

static int flag_index(const char *section, const char *key) {
    for (int i = 0; i < SG_JOB_NFLAGS; i++)
        if (!strcmp(sg_job_flag_keys[i].section, section) && !strcmp(sg_job_flag_keys[i].key, key)) return i;
    return -1;
}

static double flag_or(const sg_job_flags *f, const char *section, const char *key, double fallback) {
    int i = flag_index(section, key);
    return i >= 0 && (f->set & (1u << i)) ? f->value[i] : fallback;
}

double sg_plan_pretrain_cost(const sg_jobspec *s, const char *model) {
    const char *steps = sg_jobspec_pretrain_value(s, "max_steps"), *batch = sg_jobspec_pretrain_value(s, "batch_size");
    const char *epochs = sg_jobspec_pretrain_value(s, "epochs"), *max_train = sg_jobspec_pretrain_value(s, "max_train_samples");
    double rows = 100000, factor = sg_plan_model_factor(model); /* the text's size is not known before it is read */
    if (max_train && atof(max_train) < rows) rows = atof(max_train);
    if (steps && atof(steps) > 0) return atof(steps) * (batch ? atof(batch) : 8) * factor;
    return rows * (epochs ? atof(epochs) : 3) * factor;
}

double sg_plan_run_cost(const sg_plan_run *r, const sg_job_variant *v) {
    const task_size *ts = find_size(r->task);
    double factor = sg_plan_model_factor(r->model);
    double train = ts ? ts->train_rows : 10000, dev = ts ? ts->dev_rows : 1000;
    if (!(r->stages & SG_STAGE_FINETUNE)) {
        double max_eval = flag_or(&v->flags, "train", "max_eval_samples", 0);
        return (max_eval > 0 && max_eval < dev ? max_eval : dev) * factor;
    }
    double max_train = flag_or(&v->flags, "train", "max_train_samples", 0);
    if (max_train > 0 && max_train < train) train = max_train;
    double max_steps = flag_or(&v->flags, "train", "max_steps", -1);
    if (max_steps > 0) return max_steps * flag_or(&v->flags, "train", "batch_size", 8) * factor;
    return train * flag_or(&v->flags, "train", "epochs", 3) * factor;
}
