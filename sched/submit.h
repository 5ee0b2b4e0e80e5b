/* `spikeglue submit`: a job spec becomes SLURM batch scripts (templates in slurm/NAME.sbatch.in).
 *
 * Two forms:
 * - MPI (default): one job, `srun --mpi=pmix spikeglue sweep JOB --resume` over all its tasks;
 *   the coordinator farms runs to every rank.
 * - Array (--array): the plan is cut into N slices (sched/plan.h: dependency groups kept whole),
 *   array task i runs `spikeglue sweep JOB --slice K/N --results <sweep>/slices/K`; an array
 *   longer than the cluster's MaxArraySize is split into several arrays (indices 0..M-1 each);
 *   with a throttle %K each array runs after the previous one ended, so that at most K tasks
 *   run at once; a last job (--dependency=afterany on every array) runs `spikeglue merge`.
 * Every script sets OMP_NUM_THREADS from --cpus-per-task, asks for USR1 `signal` seconds before
 * the time limit (--signal=B:USR1@S), forwards it to the sweep (which checkpoints and exits) and
 * requeues itself; it is --requeue so that preemption and `scontrol requeue` continue it too.
 *
 * Settings come from the command line, else the spec's `slurm:` section, else defaults:
 *   slurm:
 *     nodes: 1                 # --nodes (per array task in the array form)
 *     ntasks_per_node: 2       # MPI ranks per node
 *     groups: 4                # run groups in flight (parallel: {dp, tp}: dp x tp ranks each)
 *     cpus_per_task: 4         # threads per run (OMP_NUM_THREADS)
 *     time: "04:00:00"         # SLURM's formats: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS
 *     partition: gpu
 *     account: proj42
 *     exclusive: false         # --exclusive (whole nodes)
 *     array: false             # the array form
 *     array_throttle: 4        # %K
 *     slices: 8                # array tasks (default: one per dependency group)
 *     max_array_size: 1001     # default: scontrol show config, else 1001
 *     signal: 300              # seconds of warning before the time limit
 *     mpi: pmix                # srun --mpi=
 *     sbatch: ["--mem=8G", "--qos=long"]   # more #SBATCH options
 *     setup: ["module load openmpi"]       # shell lines before the sweep starts */
#ifndef SG_SCHED_SUBMIT_H
#define SG_SCHED_SUBMIT_H

#include "sched/jobspec.h"
#include "sched/plan.h"

#include <stdio.h>

/* slurm/{sweep_mpi,sweep_array,merge}.sbatch.in, compiled in by cmake/slurm_templates.cmake */
extern const char sg_slurm_template_mpi[], sg_slurm_template_array[], sg_slurm_template_merge[];

/* Command-line settings; 0 / NULL / -1 (array) = not given. */
typedef struct {
    int nodes, ntasks_per_node, cpus_per_task;
    const char *time, *partition, *account;
    int array; /* -1 not given, else 0 or 1 */
    int array_throttle, slices, max_array_size, signal_secs;
    int groups;
} sg_submit_flags;

/* Resolved settings (owned strings). max_array_size 0: ask the cluster.
 * The allocation (per job, per array task in the array form) is sized from the spec: G = dp x tp
 * ranks per run group (1 without parallel:), ntasks = groups x G, nodes = ceil(ntasks /
 * ntasks_per_node). groups when not given: as many as nodes x ntasks_per_node holds (nodes 1 when
 * not given: one node's tasks, as without groups), at least 1. Given nodes that cannot hold
 * ntasks are refused, naming both settings. */
typedef struct {
    int nodes, ntasks_per_node, cpus_per_task;
    int groups, group_size, ntasks;
    char *time, *partition, *account, *mpi; /* time NULL: the partition's default */
    long time_secs;                          /* 0: unknown */
    int array, array_throttle, slices, max_array_size, signal_secs;
    int exclusive;
    char **sbatch, **setup;
    int nsbatch, nsetup;
} sg_submit_settings;

/* Flags over the spec's slurm: section over defaults; values checked (errors name the spec and
 * the key, e.g. "jobs/x.yaml: key 'slurm.nodes': expected an integer >= 1, not 'two'"). */
int sg_submit_settings_resolve(const sg_jobspec *spec, const sg_submit_flags *flags, sg_submit_settings *out);
void sg_submit_settings_free(sg_submit_settings *s);

/* SLURM time limit text to seconds ("UNLIMITED"/"infinite" -> 0). 0 or -1. */
int sg_slurm_time_seconds(const char *text, long *secs);

typedef struct {
    const char *spec_path; /* as it will be run from workdir */
    const char *results;   /* results root, relative to workdir or absolute */
    const char *exe;       /* the spikeglue binary (absolute) */
    const char *workdir;   /* absolute: the jobs' --chdir */
} sg_submit_paths;

typedef struct {
    char *role;     /* "sweep", "array" or "merge" */
    char *path;     /* where the script is written: <results>/<name>/slurm/<file> */
    char *text;
    int *after;     /* scripts (indices) this one runs after (--dependency=afterany) */
    int nafter;
    int first_slice, nslices; /* array: slices first_slice .. first_slice + nslices - 1 (1-based) */
} sg_submit_script;

typedef struct {
    char *sweep_dir, *slurm_dir; /* <results>/<name>, and its slurm/ (scripts and job logs) */
    sg_submit_script *scripts;   /* in submission order */
    int nscripts;
    int array, nslices, narrays, groups, nruns;
    int ntasks, run_groups, run_group_size; /* the allocation: run_groups x run_group_size tasks (per array task) */
} sg_submit_batch;

/* The scripts for a plan (built from the whole spec). The array form needs
 * set->max_array_size > 0. Pure: writes nothing. */
int sg_submit_build(const sg_plan *plan, const sg_submit_settings *set, const sg_submit_paths *paths, sg_submit_batch *out);
void sg_submit_batch_free(sg_submit_batch *b);

/* The sbatch arguments of script i, before the script path: "--parsable" and, with
 * dependencies, "--dependency=afterany:<id>:<id>" with the given job ids (NULL: "<job N>"
 * placeholders, for the dry run). Into buf; 0 or -1 (too long). */
int sg_submit_sbatch_args(const sg_submit_batch *b, int i, char *const *job_ids, char *buf, size_t cap);

/* The dry run: a summary line, then per script a "# ---- <path>" line, a "# submit: sbatch ..."
 * line and the script. 0 or -1 on a write error. */
int sg_submit_print(const sg_submit_batch *b, FILE *f);

/* Append one submission to <sweep_dir>/slurm_jobs.json ({"submissions": [{time, spec, form,
 * jobs: [{id, role, script, slices}]}]}), atomically. job_ids[i] for script i; NULL entries
 * (not submitted) are left out. 0 or -1. */
int sg_submit_record(const sg_submit_batch *b, const char *spec_path, char *const *job_ids);

#endif
