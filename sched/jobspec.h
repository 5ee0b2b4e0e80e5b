/* Sweep job specs (jobs/NAME.yaml): what `spikeglue sweep` runs, read and validated in full before
 * anything starts, so that a typo fails at once with its file and line instead of an hour later.
 *
 *   name: level-ablation              # [A-Za-z0-9_.-]+ (results/<name>/)
 *   model: builtin:small              # builtin:tiny|small|base, a checkpoint dir or an HF name;
 *                                     #   "{task}" is replaced by the task's canonical name
 *   tokenizer: ../shared/tokenizer/roberta-base  # optional: a vocab.json + merges.txt folder given to
 *                                     #   every run (pretrain too) as --tokenizer_name
 *   data_dir: ../shared/glue
 *   synth_data: false                 # true: data_dir holds `spikeglue synth` tasks (sst2, mrpc,
 *                                     #   stsb only); the coordinator writes them when missing
 *   tasks: [mrpc, rte, sst2]          # GLUE names or aliases (canonicalised), no duplicates
 *   seeds: [42, 43]                   # non-negative integers, no duplicates
 *   variants:                         # [A-Za-z0-9_-]+ -> {transform, start_from, train, snn, pipeline}
 *     baseline: {transform: none}
 *     q8: {transform: configs/levels/q8.yaml, start_from: baseline, train: {learning_rate: 1e-5}}
 *   pipeline: [finetune, convert, snn_eval]   # [pretrain,] finetune, eval, predict, convert, snn_eval
 *   pretrain: {glue_dir: ../shared/glue, max_steps: 2000, batch_size: 32}  # with pretrain in the
 *                                     #   pipeline only: `spikeglue pretrain` settings (sched/jobspec_pretrain.c)
 *   train: {epochs: 3, batch_size: 32}        # keys of sg_job_flag_keys (section "train")
 *   snn: {max_steps: 256}                     # keys of sg_job_flag_keys (section "snn")
 *   parallel: {dp: 1, tp: 1}          # a run group of dp x tp ranks: data-parallel replicas, each
 *                                     #   of tp tensor-parallel ranks (each >= 1, default 1); the
 *                                     #   batch size stays the global batch (split over dp), run
 *                                     #   ids do not depend on either
 *   retries: 1                        # extra attempts of a failed run (>= 0)
 *   time_limit: 3600                  # seconds per run, 0 = none
 *   include: [{task: mrpc, variant: q8, seed: 42}]   # only combos matching one entry (partial)
 *   exclude: [{task: cola, variant: q8}]
 *   model_overrides: {stsb: some/dir}  # per-task model ("{task}" replaced too)
 *   slurm: {...}                      # `spikeglue submit` settings (keys: sg_slurm_keys below), kept as cJSON
 *
 * Decisions:
 * - Required: name, model, data_dir, tasks, seeds, variants, pipeline. Unknown keys anywhere are
 *   errors that list the expected ones. Duplicate keys are errors. Anchors, aliases and tags are
 *   refused (as in transform configs).
 * - A variant must say `transform:` (`none` or a path). Paths are relative to the current
 *   directory, as `spikeglue run --transform_config` takes them; the file must exist and parse as
 *   a transform config (quant/transform_config.h) at load time. Its SHA-256 is kept (run ids
 *   change when its content does) and its level: the one level all its entries use, 0 when they
 *   differ; a file with no levels at all takes a number from its name (q8.yaml, level16.yaml).
 * - A variant's train:/snn: keys override the top-level ones key by key; its pipeline: replaces
 *   the top-level one.
 * - start_from: V makes each run of the variant depend on V's run of the same (task, seed) and
 *   start from its fine-tuned output. V must exist, must fine-tune, and the chain must not cycle.
 * - snn_eval needs convert in the same pipeline (error). convert needs a transform: a variant with
 *   transform none drops convert and snn_eval (recorded in sg_job_variant.dropped) instead.
 * - include/exclude entries take task, variant and seed, each optional; each value must name a
 *   task / variant / seed of the spec (a filter that can never match is a typo).
 * - pretrain (first in the top-level pipeline only) runs `spikeglue pretrain` once per model (the
 *   task's model) with the pretrain: section's settings; every run of a variant without
 *   start_from starts from its output. A variant with `pretrain: false` starts from the plain
 *   model instead (the from-scratch comparison); its start_from chain inherits that. pretrain:
 *   true/false on a variant with start_from, or without the pretrain stage, is an error.
 * Errors: "jobs/x.yaml:7: key 'sedes': unknown key (expected name, model, ...)"; nested keys are
 * named by their path: "key 'variants.q8.train.lr'". */
#ifndef SG_SCHED_JOBSPEC_H
#define SG_SCHED_JOBSPEC_H

#include "data/glue.h"

#include <cjson/cJSON.h>

/* Pipeline stages, a bit set; SG_STAGE_ORDER lists them in the order they run. */
enum {
    SG_STAGE_FINETUNE = 1,
    SG_STAGE_EVAL = 2,
    SG_STAGE_PREDICT = 4,
    SG_STAGE_CONVERT = 8,
    SG_STAGE_SNN_EVAL = 16,
    SG_STAGE_PRETRAIN = 32, /* top-level pipeline only: a run of its own, before the others */
};
#define SG_STAGE_COUNT 6
/* "finetune", "eval", "predict", "convert", "snn_eval", "pretrain" for the bit; NULL otherwise. */
const char *sg_stage_name(unsigned stage);
/* "finetune,convert,snn_eval" into buf (stages in run order); returns buf. */
const char *sg_stages_format(unsigned stages, char *buf, int cap);

/* Run flags settable from train: and snn: (spec key -> `spikeglue run` flag). */
typedef enum { SG_JOB_INT, SG_JOB_FLOAT } sg_job_flag_type;
typedef struct {
    const char *section; /* "train" or "snn" */
    const char *key;     /* as written in the spec */
    const char *flag;    /* the run flag, without dashes */
    sg_job_flag_type type;
    double min, max;     /* accepted range (inclusive) */
} sg_job_flag_key;

#define SG_JOB_NFLAGS 14
/* `spikeglue run`'s --per_device_train_batch_size when train.batch_size is not given */
#define SG_JOB_DEFAULT_BATCH 8
extern const sg_job_flag_key sg_job_flag_keys[SG_JOB_NFLAGS];

typedef struct {
    unsigned set;               /* bit k: sg_job_flag_keys[k] given */
    double value[SG_JOB_NFLAGS];
    int line[SG_JOB_NFLAGS];    /* where it was given */
} sg_job_flags;

typedef struct {
    char *name;
    int line;
    char *transform;            /* path as written, NULL for none */
    char transform_sha256[65];  /* of the file's content ("" for none) */
    int level;                  /* see above; 0 for none, mixed or unknown */
    int start_from;             /* variant index, or -1 */
    unsigned pipeline;          /* effective stages (own or top-level, minus dropped) */
    unsigned dropped;           /* stages dropped because transform is none */
    sg_job_flags flags;         /* merged: top-level, then this variant's overrides */
    int pretrain;               /* starts from the pretrain run's output (pipeline has pretrain, no
                                   start_from, not `pretrain: false`) */
} sg_job_variant;

/* The pretrain: section: `spikeglue pretrain` settings (spec key -> flag), each kept as the
 * flag's value text; paths as written. */
#define SG_PRETRAIN_NKEYS 22
typedef enum { SG_PK_DIR, SG_PK_FILE, SG_PK_INT, SG_PK_FLOAT, SG_PK_BOOL, SG_PK_ACT } sg_pretrain_key_type;
typedef struct {
    const char *key;  /* as written in the spec */
    const char *flag; /* the pretrain flag, without dashes */
    sg_pretrain_key_type type;
    double min, max;  /* SG_PK_INT, SG_PK_FLOAT: accepted range (inclusive) */
} sg_pretrain_key;
extern const sg_pretrain_key sg_pretrain_keys[SG_PRETRAIN_NKEYS];

typedef struct {
    int line;                          /* of the section; 0 when absent */
    char *value[SG_PRETRAIN_NKEYS];    /* NULL: not given */
} sg_job_pretrain;

/* An include/exclude entry; absent fields match anything. */
typedef struct {
    int line;
    const sg_glue_task *task;   /* NULL: any */
    int variant;                /* index, or -1: any */
    int has_seed, seed;
} sg_job_filter;

typedef struct {
    const sg_glue_task *task;
    char *model;
    int line;
} sg_job_model_override;

typedef struct {
    char *path;                 /* the spec file, as given (messages) */
    char *name;
    char *model;                /* as written (with "{task}" if any) */
    char *tokenizer;            /* every run's --tokenizer_name, as written; NULL: the model's own */
    char *data_dir;
    int synth_data;             /* data_dir is made by `spikeglue synth --out data_dir` if absent */
    const sg_glue_task **tasks;
    int ntasks;
    int *seeds;
    int nseeds;
    sg_job_variant *variants;
    int nvariants;
    unsigned pipeline;          /* top-level stages */
    sg_job_flags flags;         /* top-level train: and snn: */
    int dp, tp, retries, time_limit;
    int parallel_line;          /* where parallel.dp (else parallel:) was given, 0 if not */
    int has_include;            /* include: given (even if empty: then nothing runs) */
    sg_job_filter *include;
    int ninclude;
    sg_job_filter *exclude;
    int nexclude;
    sg_job_model_override *model_overrides;
    int nmodel_overrides;
    cJSON *slurm;               /* NULL when absent */
    sg_job_pretrain pretrain;   /* the pretrain: section (pipeline has SG_STAGE_PRETRAIN) */
} sg_jobspec;

/* The keys a spec's slurm: section may hold (others are refused with their line); what each
 * means is `spikeglue submit`'s business (sched/submit.h). */
#define SG_SLURM_NKEYS 16
extern const char *const sg_slurm_keys[SG_SLURM_NKEYS];

/* Read and validate a spec. 0, or -1 with a one-line error naming the file and line; on error
 * *spec holds nothing (sg_jobspec_free is still safe). */
int sg_jobspec_load(const char *path, sg_jobspec *spec);
/* The same from memory; `name` stands for the path in messages. Transform paths are still files. */
int sg_jobspec_parse(const char *text, size_t len, const char *name, sg_jobspec *spec);
void sg_jobspec_free(sg_jobspec *spec);

/* The model of a task: its model_overrides entry, else `model`, with "{task}" replaced.
 * 0, or -1 when it does not fit in cap. */
int sg_jobspec_task_model(const sg_jobspec *spec, const sg_glue_task *task, char *out, size_t cap);
/* The pretrain: value of `key` (an sg_pretrain_keys key), NULL when not given. */
const char *sg_jobspec_pretrain_value(const sg_jobspec *spec, const char *key);
/* Index of a variant by name, or -1. */
int sg_jobspec_variant_find(const sg_jobspec *spec, const char *name);

#endif
