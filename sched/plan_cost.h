/* Expected costs of a plan's runs (the formula is in sched/plan.h); private to the plan. */
#ifndef SG_SCHED_PLAN_COST_H
#define SG_SCHED_PLAN_COST_H

#include "sched/plan.h"

/* A GLUE run of variant v (its task, model and stages set). */
double sg_plan_run_cost(const sg_plan_run *r, const sg_job_variant *v);
/* The pretrain run of `model` with the spec's pretrain: settings. */
double sg_plan_pretrain_cost(const sg_jobspec *s, const char *model);

#endif
