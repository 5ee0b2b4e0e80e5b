/* A sweep's plan: the job spec (sched/jobspec.h) expanded into runs, each with a stable id, its
 * dependency and the exact `spikeglue run` command it executes. The coordinator hands runs out in
 * `order`; a run whose dependency has not finished is not ready.
 *
 * Expansion: tasks x seeds x variants, in that nesting and spec order (the runs array keeps this
 * order). With pretrain in the pipeline, one pretrain run per distinct model (the task's model)
 * of the runs that start from it comes first in the array (task "mlm", variant "pretrain", the
 * pretrain: seed, default 42); every run of a variant with `pretrain` depends on its model's. Then include (when given: keep runs matching at least one entry; the runs they start
 * from are kept too, marked `implied`), then exclude. Excluding a run that a kept run starts from
 * is an error naming both; so is a plan with no runs.
 *
 * Ids: SHA-256 of the run's canonical config (cJSON, keys sorted, no whitespace): task, seed,
 * variant, data_dir, model, transform {path, sha256}, every run flag except --output_dir and
 * --model_name_or_path, pipeline, tool version, and start_from = the id of the run it starts
 * from (so a run that starts from a changed run changes too). Hex; 16 characters kept as the id,
 * 8 shown as the short id. The same spec gives the same ids; changing a flag of one variant
 * changes the ids of that variant (and of the variants that start from it) only.
 * A pretrain run's id hashes kind "pretrain", model, tool version, its flags and the absolute
 * paths of its text (glue_dir, train_file, validation_file); a run that starts from it names its
 * id in start_from. Specs without pretrain get the ids they always had.
 *
 * Order: topological; among ready runs the longest expected first (ties: the run more runs
 * depend on, then expansion order).
 * Expected cost = train rows x epochs x model size factor, an estimate for ordering and ETA:
 * rows = GLUE train size (cola 8551, sst2 67349, mrpc 3668, stsb 5749, qqp 363846,
 * mnli 392702, qnli 104743, rte 2490, wnli 635), or max_train_samples when smaller;
 * epochs = train.epochs (run's default 3); with max_steps > 0, rows x epochs is max_steps x
 * batch_size instead. Size factor: tiny 1, small 16, base 400, large 1400, anything else 400,
 * from builtin:NAME or the word in the model name. A run that does not fine-tune costs its dev
 * rows (max_eval_samples when smaller) x size factor. A pretrain run costs max_steps x batch_size,
 * else epochs x 100000 rows (max_train_samples when smaller), x size factor. */
#ifndef SG_SCHED_PLAN_H
#define SG_SCHED_PLAN_H

#include "sched/jobspec.h"

#include <cjson/cJSON.h>
#include <stdio.h>

typedef struct {
    char id[17];
    char short_id[9];
    const sg_glue_task *task;
    int seed;
    int variant;               /* index in spec->variants */
    const char *variant_name;
    const char *transform;     /* path, or NULL for none */
    int level;                 /* the transform's single level, else 0 */
    char *model;               /* the task's model (overrides and {task} applied) */
    int dep;                   /* index of the run this one starts from, or -1 */
    int dependents;            /* runs that start from this one, directly or not */
    int implied;               /* kept only because an included run starts from it */
    int pretrain;              /* the pretrain stage's run (`spikeglue pretrain`), not a GLUE run */
    unsigned stages;           /* SG_STAGE_* this run performs */
    unsigned dropped;          /* stages dropped for lack of a transform */
    double cost;               /* expected cost, see above */
    char *config;              /* the canonical JSON the id hashes */
} sg_plan_run;

typedef struct {
    const sg_jobspec *spec;    /* borrowed: must outlive the plan */
    char *version;
    sg_plan_run *runs;         /* expansion order */
    int nruns;
    int *order;                /* execution order: indices into runs */
    int ndeps;                 /* runs with a dependency */
    int ntasks, nseeds, nvariants; /* distinct values among the GLUE runs */
    int npretrain;             /* pretrain runs */
    double total_cost;
} sg_plan;

/* The version string of this build, which enters every run id. */
#define SG_PLAN_VERSION "spikeglue " SG_VERSION

/* Expand a loaded spec. version: the tool version string that enters every id (SG_PLAN_VERSION;
 * tests pass others). 0, or -1 with a one-line error (on error *plan holds nothing). */
int sg_plan_build(const sg_jobspec *spec, const char *version, sg_plan *plan);
void sg_plan_free(sg_plan *plan);

/* Model size factor of a model string (see above). */
double sg_plan_model_factor(const char *model);

/* "<results_root>/<spec name>/runs/<id>". 0 or -1 (too long). */
int sg_plan_run_dir(const sg_plan *plan, int i, const char *results_root, char *out, size_t cap);
/* "<run_dir>/out": the run's --output_dir, where its fine-tuned model lands (what runs that
 * start from it get as --model_name_or_path). 0 or -1. */
int sg_plan_output_dir(const char *run_dir, char *out, size_t cap);

/* The complete argument vector of run i. A pretrain run: argv[0] = "pretrain", then
 *   --model_name_or_path M --output_dir <run_dir>/out --overwrite_output_dir --do_train --do_eval
 *   --seed S, the pretrain: flags in sg_pretrain_keys order (paths as written), --save_strategy
 *   steps --save_steps N (save_steps given) or epoch, --save_total_limit 1, --eval_strategy steps
 *   --eval_steps N when eval_steps is given; with parallel.dp = D > 1 the batch split and --dp D
 *   as below. Any other run: argv[0] = "run", then
 *   --model_name_or_path M --output_dir <run_dir>/out --task_name T --data_dir D
 *   --overwrite_output_dir --seed S [--transform_config P]
 *   finetune: --do_train --do_eval --eval_strategy epoch --save_strategy epoch --save_total_limit 1
 *   eval: --do_eval   predict: --do_predict   convert: --convert_to_snn   snn_eval: --snn_eval
 *   then every train: flag set, in sg_job_flag_keys order (--num_train_epochs 3 ...), and the
 *   snn: flags when the run converts (--snn_max_steps 256); with parallel.dp = D > 1 the train
 *   batch becomes --per_device_train_batch_size batch / D (the default 8 / D when unset and the
 *   run fine-tunes) and --dp D follows; with parallel.tp = P > 1, --tp P. Neither enters the id.
 * --overwrite_output_dir lets a retry start over in the same directory.
 * M is model_override when given, else the run's model. A run with a dependency needs
 * model_override (its dependency's output dir): NULL is an error then. *argv is NULL-terminated;
 * free it with sg_plan_argv_free. 0 or -1. */
int sg_plan_run_argv(const sg_plan *plan, int i, const char *run_dir, const char *model_override, int *argc,
                     char ***argv);
void sg_plan_argv_free(int argc, char **argv);

/* The plan as JSON (for results/<sweep>/plan.json): name, version, runs in execution order with
 * id, task, seed, variant, level, depends_on (id or null), implied, dependents, stages, dropped, cost and
 * the canonical config. NULL when out of memory. */
cJSON *sg_plan_to_json(const sg_plan *plan);

/* The dry run (sched/cmd_plan_print.c): a header line (runs, tasks, seeds, variants, tp,
 * dependencies, total cost), a note per variant whose stages were dropped, then one line per run
 * in execution order: position, short id, task, seed, variant (with '*' when implied), the
 * short id it starts from ("-" if none), expected cost and the command, with run dirs under
 * results/<name>/runs/.
 * 0, or -1 when writing fails. */
int sg_plan_print(const sg_plan *plan, FILE *f);

/* ---- slices (job arrays: `spikeglue sweep --slice K/N`) ----
 * A run and every run that starts from it (directly or not) form one dependency group; groups are
 * never split, so a slice can run on its own. Groups go to slices by expected cost, the costliest
 * first, each to the slice with the least cost so far (ties: the lower slice, groups in expansion
 * order of their first run). The same plan and N always give the same slices. */

/* Dependency groups of the plan (the most slices it can be cut into). */
int sg_plan_groups(const sg_plan *plan);
/* Slice (0-based) of every run for N slices: slice_of[i] for runs[i]. 0 or -1 (N < 1). */
int sg_plan_slice_map(const sg_plan *plan, int nslices, int *slice_of);
/* Keep only slice k (1-based) of n: runs, order, dependencies and counts are rebuilt.
 * -1 when k or n is out of range or the slice is empty (n is more than the plan's groups). */
int sg_plan_slice(sg_plan *plan, int k, int n);

#endif
