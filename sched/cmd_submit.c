/* spikeglue submit JOB.yaml [--array] [--dry-run] [allocation flags]: the sweep as SLURM batch jobs
 * (sched/submit.h). Scripts go to results/<name>/slurm/, the job ids to results/<name>/slurm_jobs.json.
 * Exit code 0, 2 for bad flags or spec, 1 when submitting failed. */
#include "core/error.h"
#include "core/fileio.h"
#include "core/flags.h"
#include "data/synth.h"
#include "sched/commands.h"
#include "sched/runner.h"
#include "sched/slurm.h"
#include "sched/submit.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_MAX_ARRAY_SIZE 1001 /* SLURM's default MaxArraySize */

static void print_note(void *ctx, const char *line) {
    (void)ctx;
    fprintf(stderr, "spikeglue: warning: %s\n", line);
}

static int write_scripts(const sg_submit_batch *b, const sg_plan *plan) {
    if (sg_mkdirs(b->slurm_dir)) return -1;
    for (int i = 0; i < b->nscripts; i++)
        if (sg_write_file_atomic(b->scripts[i].path, b->scripts[i].text, strlen(b->scripts[i].text))) return -1;
    /* the whole plan, so that `spikeglue status` knows the total before any run ended */
    cJSON *j = sg_plan_to_json(plan);
    char *text = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    if (!text) return sg_fail("out of memory");
    char path[4200];
    snprintf(path, sizeof path, "%s/plan.json", b->sweep_dir);
    int rc = sg_write_file_atomic(path, text, strlen(text));
    free(text);
    return rc;
}

/* Submit in order; ids[i] set for each script submitted. 0, or -1 at the first that failed. */
static int submit_all(const sg_submit_batch *b, int attempts, int backoff_ms, char **ids) {
    for (int i = 0; i < b->nscripts; i++) {
        char args[1024], id[64];
        if (sg_submit_sbatch_args(b, i, ids, args, sizeof args)) return -1;
        if (sg_slurm_sbatch(args, b->scripts[i].path, attempts, backoff_ms, id, sizeof id, print_note, NULL)) return -1;
        ids[i] = strdup(id);
        if (!ids[i]) return sg_fail("out of memory");
        const sg_submit_script *s = &b->scripts[i];
        if (s->nslices)
            printf("submitted job %s: %s (array of %d: slices %d-%d of %d)\n", id, s->path, s->nslices, s->first_slice,
                   s->first_slice + s->nslices - 1, b->nslices);
        else
            printf("submitted job %s: %s\n", id, s->path);
        fflush(stdout);
    }
    return 0;
}

int sg_cmd_submit(int argc, char **argv) {
    sg_submit_flags f = {0, 0, 0, NULL, NULL, NULL, -1, 0, 0, 0, 0, 0};
    int array = 0, dry_run = 0, attempts = 5;
    const char *results = "results";
    sg_flag flags[] = {
        {"nodes", SG_FLAG_INT, &f.nodes, "nodes per job (0: slurm.nodes from the spec, else 1)", 0},
        {"ntasks-per-node", SG_FLAG_INT, &f.ntasks_per_node, "MPI ranks per node (0: slurm.ntasks_per_node, else 1)", 0},
        {"groups", SG_FLAG_INT, &f.groups, "run groups in flight, dp x tp ranks each: ntasks = groups x dp x tp, nodes from --ntasks-per-node (0: slurm.groups, else what --nodes holds, else 1)", 0},
        {"cpus-per-task", SG_FLAG_INT, &f.cpus_per_task, "threads per rank, OMP_NUM_THREADS (0: slurm.cpus_per_task, else 1)", 0},
        {"time", SG_FLAG_STRING, &f.time, "time limit per job, SLURM's format, e.g. 04:00:00 (none: slurm.time, else the partition's)", 0},
        {"partition", SG_FLAG_STRING, &f.partition, "partition", 0},
        {"account", SG_FLAG_STRING, &f.account, "account", 0},
        {"array", SG_FLAG_BOOL, &array, "job arrays: each task runs a slice of the runs, then a merge job joins them", 0},
        {"array-throttle", SG_FLAG_INT, &f.array_throttle, "at most K array tasks at once (%K)", 0},
        {"slices", SG_FLAG_INT, &f.slices, "array tasks (0: slurm.slices, else one per dependency group)", 0},
        {"max-array-size", SG_FLAG_INT, &f.max_array_size, "split arrays at this size (0: slurm.max_array_size, else MaxArraySize from scontrol)", 0},
        {"signal", SG_FLAG_INT, &f.signal_secs, "seconds of warning before the time limit: checkpoint and requeue (0: slurm.signal, else time/10 in 10..300)", 0},
        {"results", SG_FLAG_STRING, &results, "where <sweep name>/ goes (as for sweep)", 0},
        {"sbatch-attempts", SG_FLAG_INT, &attempts, "tries per sbatch call (waits 1 s, 2 s, 4 s ... between them)", 0},
        {"dry-run", SG_FLAG_BOOL, &dry_run, "print the batch scripts and the sbatch commands; submit nothing", 0},
    };
    const int nflags = (int)(sizeof flags / sizeof flags[0]);
    const char *usage = "JOB.yaml [--nodes N] [--ntasks-per-node N] [--groups N] [--cpus-per-task N] [--time T] [--partition P] "
                        "[--account A] [--array] [--array-throttle K] [--slices N] [--dry-run]";
    char *pos[1];
    int npos = 0;
    int rc = sg_flags_parse("submit", usage, flags, nflags, argc, argv, pos, 1, &npos);
    if (rc) return rc > 0 ? 0 : (sg_print_error(), 2);
    if (npos != 1) return sg_fail("submit: expected one job spec (usage: spikeglue submit %s)", usage), sg_print_error(), 2;
    for (int i = 0; i < nflags; i++)
        if (flags[i].seen && flags[i].kind == SG_FLAG_INT && *(int *)flags[i].dest < 1)
            return sg_fail("submit: --%s %d: expected an integer >= 1", flags[i].name, *(int *)flags[i].dest), sg_print_error(), 2;
    for (int i = 0; i < nflags; i++)
        if (flags[i].seen && flags[i].dest == &array) f.array = array; /* given: overrides slurm.array */

    sg_jobspec spec;
    sg_plan plan;
    sg_submit_settings set;
    sg_submit_batch batch;
    memset(&plan, 0, sizeof plan);
    memset(&set, 0, sizeof set);
    memset(&batch, 0, sizeof batch);
    if (sg_jobspec_load(pos[0], &spec) || sg_plan_build(&spec, SG_PLAN_VERSION, &plan) || sg_submit_settings_resolve(&spec, &f, &set)) {
        sg_print_error();
        sg_plan_free(&plan);
        sg_jobspec_free(&spec);
        return 2;
    }
    int status = 0;
    if (set.array && set.max_array_size < 1) {
        if (sg_slurm_max_array_size(&set.max_array_size)) {
            if (!dry_run) {
                sg_fail_context("submit --array: cannot learn MaxArraySize (give --max-array-size)");
                status = 1;
                goto out;
            }
            fprintf(stderr, "spikeglue: warning: %s; assuming MaxArraySize %d\n", sg_last_error(), DEFAULT_MAX_ARRAY_SIZE);
            set.max_array_size = DEFAULT_MAX_ARRAY_SIZE;
        }
    }
    char exe[PATH_MAX], cwd[PATH_MAX];
    if (!realpath(sg_self_exe(), exe)) snprintf(exe, sizeof exe, "%s", sg_self_exe());
    if (!getcwd(cwd, sizeof cwd)) {
        sg_fail("submit: cannot read the current directory");
        status = 1;
        goto out;
    }
    sg_submit_paths paths = {pos[0], results, exe, cwd};
    if (sg_submit_build(&plan, &set, &paths, &batch)) {
        status = 2;
        goto out;
    }
    if (dry_run) {
        status = sg_submit_print(&batch, stdout) ? 1 : 0;
        goto out;
    }
    /* synth_data: written now, once, rather than by array tasks racing each other */
    if (spec.synth_data && !sg_is_dir(spec.data_dir)) {
        sg_synth_options so;
        sg_synth_defaults(&so);
        if (sg_synth_write(spec.data_dir, &so)) {
            status = 1;
            goto out;
        }
        printf("wrote synthetic tasks to %s\n", spec.data_dir);
    }
    char **ids = calloc((size_t)batch.nscripts, sizeof *ids);
    if (!ids || write_scripts(&batch, &plan)) {
        free(ids);
        status = 1;
        goto out;
    }
    const char *env = getenv("SG_SUBMIT_BACKOFF_MS"); /* tests: shorter waits */
    int backoff_ms = env && atoi(env) >= 0 && *env ? atoi(env) : 1000;
    int failed = submit_all(&batch, attempts, backoff_ms, ids);
    char msg[2048] = "";
    if (failed) snprintf(msg, sizeof msg, "%s", sg_last_error());
    int nsubmitted = 0;
    for (int i = 0; i < batch.nscripts; i++) nsubmitted += ids[i] != NULL;
    if (nsubmitted && sg_submit_record(&batch, pos[0], ids)) {
        fprintf(stderr, "spikeglue: warning: job ids not recorded: %s\n", sg_last_error());
    } else if (nsubmitted) {
        printf("job ids recorded in %s/slurm_jobs.json; progress: spikeglue status %s\n", batch.sweep_dir, batch.sweep_dir);
    }
    if (failed) {
        if (nsubmitted) {
            char list[512] = "";
            size_t len = 0;
            for (int i = 0; i < batch.nscripts && len < sizeof list; i++)
                if (ids[i]) len += (size_t)snprintf(list + len, sizeof list - len, " %s", ids[i]);
            sg_fail("%s; jobs already submitted:%s (scancel them, or submit the rest by hand from %s)", msg, list, batch.slurm_dir);
        } else {
            sg_fail("%s", msg);
        }
        status = 1;
    }
    for (int i = 0; i < batch.nscripts; i++) free(ids[i]);
    free(ids);
out:
    if (status && sg_last_error()[0]) sg_print_error();
    sg_submit_batch_free(&batch);
    sg_submit_settings_free(&set);
    sg_plan_free(&plan);
    sg_jobspec_free(&spec);
    return status;
}
