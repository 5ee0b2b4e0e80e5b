/* One run of a sweep (task × seed × variant) as the coordinator commits it: who ran it, how it
 * ended, and what it measured. Built from a run directory's HF-style JSON files by
 * sg_run_record_from_dir, stored as one JSON line per commit in the sweep's journal and as a
 * /runs/<id> group in results.h5 (results/README.md describes both).
 *
 * Conventions: strings are heap copies, NULL meaning empty; numbers that were not measured are
 * NaN; metric names drop HF's "eval_" prefix ("accuracy", "combined_score", "loss", …).
 * Energies are in joules and cost numbers (SOPs, MACs, spikes, energy) are totals over the
 * simulated samples (snn_samples of them): divide for per-sample figures. */
#ifndef SG_RUN_RECORD_H
#define SG_RUN_RECORD_H

#include <cjson/cJSON.h>
#include <stddef.h>

#define SG_RUN_ID_LEN 16
#define SG_RUN_SHORT_ID_LEN 8

typedef enum { SG_RUN_NONE = 0, SG_RUN_FINISHED, SG_RUN_FAILED, SG_RUN_TIMEOUT, SG_RUN_DIVERGED } sg_run_status;

/* A GLUE run (task x seed x variant), or the sweep's pretrain stage (`spikeglue pretrain`, task
 * "mlm", variant "pretrain"): its qann map holds the held-out masked-LM figures (loss, accuracy,
 * perplexity, and loss_before / perplexity_before / accuracy_before when pretrain reports them). */
typedef enum { SG_RUN_KIND_GLUE = 0, SG_RUN_KIND_PRETRAIN } sg_run_kind;

/* Ordered name → value list (metric maps and per-layer values); set replaces a present name. */
typedef struct {
    int count;
    size_t cap;
    char **names;
    double *values;
} sg_metric_map;

/* Training log, one point per logging step (HF log_history entries with "loss"). */
typedef struct {
    int n;
    size_t cap;
    double *step, *epoch, *loss, *learning_rate;
} sg_train_series;

/* Evaluations during training: values[k][i] is metric names[k] at evaluation i (NaN if absent). */
typedef struct {
    int n;
    size_t cap;
    double *epoch, *step;
    int nmetrics;
    char **names;
    double **values;
} sg_eval_series;

/* The SNN's main metric after t time steps: value[i] at step[i]. */
typedef struct {
    int n;
    size_t cap;
    double *step, *value;
} sg_step_series;

typedef struct {
    char id[SG_RUN_ID_LEN + 1];             /* 16 lowercase hex digits */
    char short_id[SG_RUN_SHORT_ID_LEN + 1]; /* its first 8 */
    char *task, *variant;
    long long seed;
    int level;                              /* quantization level, 0 = unknown / none */
    sg_run_kind kind;
    sg_run_status status;
    int attempts;
    char *error;                            /* the failing run's one-line error */
    char *config;                           /* the run's configuration, JSON text */
    char *version, *host;
    int rank;
    double start_time, end_time, wall_seconds; /* unix seconds */

    sg_train_series train;
    sg_eval_series eval;
    sg_metric_map qann;          /* final ANN / QANN evaluation (all_results.json eval_*) */
    sg_metric_map snn;           /* final SNN evaluation */
    sg_step_series snn_by_step;  /* SNN main metric by time step */
    sg_metric_map firing_rate;   /* per layer: spikes per neuron per step */
    sg_metric_map sops_per_layer;
    double snn_samples;          /* samples simulated */
    double snn_mean_settle_steps, snn_max_settle_steps;
    double snn_spikes, snn_sops, snn_energy_j;
    double ann_macs, ann_energy_j; /* the quantized ANN's MACs / energy for the same samples */
} sg_run_record;

void sg_run_record_init(sg_run_record *r);
void sg_run_record_free(sg_run_record *r); /* frees and re-initialises */
/* Free the measured parts (series, maps, SNN costs → NaN), keeping the identity fields. */
void sg_run_record_clear_measured(sg_run_record *r);
void sg_run_records_free(sg_run_record *recs, int n); /* each, then the array */
int sg_run_record_copy(sg_run_record *dst, const sg_run_record *src); /* dst uninitialised */
/* Deep equality; NaN equals NaN. On a difference, *what (if given) names the first field. */
int sg_run_record_equal(const sg_run_record *a, const sg_run_record *b, const char **what);

/* A stable id for task × seed × variant (FNV-1a 64 in hex); fills r->id and r->short_id. */
void sg_run_record_set_id(sg_run_record *r, const char *task, long long seed, const char *variant);
int sg_run_id_valid(const char *id);
/* Copy a string field (NULL or "" → NULL). Returns 0 or -1 (out of memory). */
int sg_run_record_set_str(char **field, const char *value);

const char *sg_run_status_name(sg_run_status s); /* "finished", …; "none" for SG_RUN_NONE */
sg_run_status sg_run_status_parse(const char *s); /* SG_RUN_NONE when unknown */

/* HF run_glue's ranking metric of a task: accuracy (sst2, qnli, rte, wnli, mnli),
 * combined_score = (accuracy + f1)/2 (mrpc, qqp), matthews_correlation (cola),
 * combined_score = (pearson + spearmanr)/2 (stsb); unknown tasks: combined_score, else
 * accuracy. Task names are matched case-insensitively without '-' and '_' ("SST-2" = sst2). */
const char *sg_task_main_metric_name(const char *task);
/* Its value in a metric map, computing a missing combined score from its parts; NaN if absent. */
double sg_task_main_metric(const char *task, const sg_metric_map *m);
/* Canonical task key ("sst2", "stsb", …) into out; unknown names lowercased. */
void sg_task_key(const char *task, char *out, int n);

int sg_metric_map_set(sg_metric_map *m, const char *name, double value);
double sg_metric_map_get(const sg_metric_map *m, const char *name); /* NaN if absent */
void sg_metric_map_free(sg_metric_map *m);

int sg_train_series_push(sg_train_series *s, double step, double epoch, double loss, double lr);
int sg_step_series_push(sg_step_series *s, double step, double value);
/* Append an evaluation point; then set its metrics with sg_eval_series_set(s, s->n - 1, …). */
int sg_eval_series_push(sg_eval_series *s, double epoch, double step);
int sg_eval_series_set(sg_eval_series *s, int index, const char *name, double value);

/* Fill the measured parts from DIR/out/ (or DIR itself when it has no out/): all_results.json
 * (final eval_* → qann, snn_* → snn), trainer_state.json (log_history → train and eval series)
 * and snn_results.json (metrics, accuracy by step, settle steps, spikes, SOPs, energy, firing
 * rates), the SNN keys through the run-output contract (io/run_outputs.h): a key of ours it does
 * not know is an error naming it. Identity fields (id, task, status, …) are left as the caller
 * set them. A missing file leaves its parts empty; malformed JSON is an error naming the file and
 * line. Returns 0 or -1 (sg_fail). (sched/run_record_dir.c) */
int sg_run_record_from_dir(const char *dir, sg_run_record *rec);

/* A pretrain run's directory: sg_run_record_from_dir, then all_results.json's perplexity and, when
 * pretrain reports the held-out figures before training (init_eval_loss, init_perplexity,
 * init_eval_accuracy), loss_before, perplexity_before, accuracy_before; kind = pretrain.
 * (sched/run_record_pretrain.c) */
int sg_run_record_from_pretrain_dir(const char *dir, sg_run_record *rec);

/* The record as a JSON object (the journal's line format: "kind": "pretrain" only for that kind);
 * NULL on out of memory (sg_fail). */
cJSON *sg_run_record_to_json(const sg_run_record *r);
/* Parse that object into an initialised record; errors name `where` (e.g. "results.jsonl:12"). */
int sg_run_record_from_json(const cJSON *o, sg_run_record *r, const char *where);

#endif
