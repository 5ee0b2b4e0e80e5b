/* HF's learning-rate schedules (transformers.get_scheduler): the LambdaLR multiplier of the
 * initial learning rate at a 0-based optimizer step, with warmup and --lr_scheduler_kwargs. */
#ifndef SG_LR_SCHEDULE_H
#define SG_LR_SCHEDULE_H

/* HF's SchedulerType names (transformers.get_scheduler) */
typedef enum {
    SG_SCHED_LINEAR = 0, SG_SCHED_COSINE, SG_SCHED_COSINE_WITH_RESTARTS, SG_SCHED_POLYNOMIAL, SG_SCHED_CONSTANT,
    SG_SCHED_CONSTANT_WITH_WARMUP, SG_SCHED_INVERSE_SQRT
} sg_lr_scheduler;

/* --lr_scheduler_kwargs: the keyword arguments HF passes on to the schedule (NaN / 0: HF's default) */
typedef struct {
    double num_cycles; /* cosine: 0.5; cosine_with_restarts: 1 */
    double lr_end, power; /* polynomial: 1e-7, 1.0 */
    double timescale;  /* inverse_sqrt: warmup steps, or 10000 */
} sg_lr_scheduler_kwargs;

typedef struct {
    sg_lr_scheduler kind;
    int warmup_steps, total_steps;
    double lr_init;               /* polynomial decays from here to lr_end */
    double num_cycles, lr_end, power, timescale; /* HF's defaults filled in */
} sg_lr_schedule;

/* Fills s from the config (kwargs left 0 / NaN get HF's defaults). Fails, naming the kwarg, where
 * HF refuses (polynomial: lr_end must be below the learning rate). */
int sg_lr_schedule_init(sg_lr_schedule *s, sg_lr_scheduler kind, const sg_lr_scheduler_kwargs *kw, double lr_init,
                        int warmup_steps, int total_steps);
/* The multiplier at `step` (0-based: the step about to be taken). */
double sg_lr_schedule_factor(const sg_lr_schedule *s, int step);
/* HF's name of a scheduler ("linear", "cosine", ...). */
const char *sg_lr_scheduler_name(sg_lr_scheduler kind);

#endif
