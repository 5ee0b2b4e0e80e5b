/* Leaderboards of a sweep (`spikeglue report`): per task × variant the task's main metric (HF
 * run_glue's, see sg_task_main_metric_name) as mean ± std over seeds for the ANN/QANN evaluation
 * and the SNN evaluation, the gaps to the baseline variant's ANN score (the baseline has no
 * transform, hence usually no SNN: the ANN/QANN and the SNN gap are both measured to its ANN
 * score), the SNN's time steps, SOPs and energy
 * beside the ANN's MACs and energy (per sample), the GLUE average per variant, and the runs that
 * did not finish with their errors.
 *
 * Statistics: mean and sample standard deviation (n − 1) over the finished runs (seeds); the std
 * of one run is undefined (NaN: "" in CSV, null in JSON, left out in Markdown). Markdown shows
 * scores × 100 with two decimals (as GLUE does); CSV and JSON keep the raw values (0–1).
 * GLUE average of a variant: the mean over its tasks of the per-task means (a two-metric task
 * counts once, by its combined score); its gap to the baseline is taken over the tasks both have.
 * Baseline: the variant named by the caller, else one named baseline | none | fp32 | fp | ann |
 * base | float | no_transform (any case), else the only level-0 variant when every other has a
 * level. Costs per sample: a run's totals divided by its simulated samples. */
#ifndef SG_REPORT_H
#define SG_REPORT_H

#include "sched/run_record.h"

#include <cjson/cJSON.h>

#include <stddef.h>
#include <stdio.h>

typedef enum { SG_REPORT_MD, SG_REPORT_CSV, SG_REPORT_JSON } sg_report_format;
typedef enum { SG_REPORT_BY_TASK, SG_REPORT_BY_VARIANT } sg_report_by;

typedef struct {
    double mean, std; /* NaN when n == 0 (mean) or n < 2 (std) */
    int n;
} sg_stat;

typedef struct {
    const char *task, *variant; /* point into the report's task / variant lists */
    const char *metric;         /* the task's main metric name */
    int level;
    int finished, failed;       /* runs that finished / did not */
    sg_stat ann, snn;           /* main metric: ANN/QANN eval, SNN eval */
    double ann_gap, snn_gap;    /* mean − the baseline's ANN/QANN mean; NaN without one */
    sg_stat settle_steps;       /* SNN mean settle steps */
    sg_stat sops, snn_energy_j, ann_macs, ann_energy_j; /* per sample */
} sg_report_row;

typedef struct {
    const char *variant;
    int level;
    int ann_tasks, snn_tasks;
    double ann, snn;         /* mean over tasks of the per-task means */
    double ann_gap, snn_gap; /* to the baseline's ANN average, over the tasks both have */
} sg_report_glue;

typedef struct {
    char *source;             /* where the records came from (for the title) */
    const char *baseline;     /* a variant name or NULL */
    sg_run_record *recs;      /* owned, sorted by task, variant, seed */
    int nrecs, nfinished;
    char **tasks, **variants; /* GLUE order (cola sst2 mrpc stsb qqp mnli qnli rte wnli, then others);
                                 baseline first, then by level (0 last), then name */
    int ntasks, nvariants;
    sg_report_row *rows;      /* ntasks × nvariants, row [t * nvariants + v]; rows without runs have
                                 finished == failed == 0 */
    sg_report_glue *glue;     /* one per variant */
} sg_report;

/* Build from records (copied). baseline: a variant name, or NULL to detect one. */
int sg_report_build(const sg_run_record *recs, int n, const char *source, const char *baseline, sg_report *out);
/* Build from a results.h5 or a sweep directory holding one. */
int sg_report_load(const char *path, const char *baseline, sg_report *out);
void sg_report_free(sg_report *r);

const sg_report_row *sg_report_row_at(const sg_report *r, int task, int variant);

/* Print the leaderboards: md (GitHub tables), csv (one header + rows; GLUE averages as rows with
 * task "glue_average"), json (one object). Returns 0 or -1 on a write error. */
int sg_report_print(const sg_report *r, sg_report_format fmt, sg_report_by by, FILE *f);

/* The pretrain runs (records of kind pretrain, left out of the GLUE tables): their number, a
 * Markdown section (nothing when there are none), and a "pretrain" array in a JSON report.
 * (sched/report_pretrain.c) */
int sg_report_pretrain_count(const sg_report *r);
void sg_report_md_pretrain(const sg_report *r, FILE *f);
int sg_report_json_pretrain(const sg_report *r, cJSON *o);

/* Write leaderboard.md and leaderboard.csv into out_dir (NULL: beside the results file), and
 * with gnuplot installed the plots (PNG, else SVG): metric vs level per task
 * (plot_level.{png,svg}) and SNN metric vs time step per task (plot_steps_<task>.{png,svg}).
 * `note` (may be NULL) receives one line on what was skipped ("" when nothing was). */
int sg_report_write_files(const char *results, const char *out_dir, const char *baseline, char *note, size_t note_size);
int sg_report_write_dir(const sg_report *r, const char *out_dir, char *note, size_t note_size);

#endif
