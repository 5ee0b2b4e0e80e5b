/* spikeglue sweep JOB.yaml: the MPI coordinator (see sched/sweep.h). --slice K/N runs one slice
 * of the plan (sched/plan.h), as a job-array task does (`spikeglue submit --array`). */
#include "core/error.h"
#include "core/flags.h"
#include "sched/commands.h"
#include "sched/plan.h"
#include "sched/sweep.h"

#include <mpi.h>
#include <stdio.h>

/* "K/N" with 1 <= K <= N. */
static int parse_slice(const char *text, int *k, int *n) {
    int used = 0;
    if (sscanf(text, "%d/%d%n", k, n, &used) != 2 || text[used] != '\0' || *n < 1 || *k < 1 || *k > *n)
        return sg_fail("sweep: --slice %s: expected K/N with 1 <= K <= N (e.g. 2/3)", text);
    return 0;
}

int sg_cmd_sweep(int argc, char **argv) {
    sg_sweep_options o = {NULL, "results", 0, 0, 0, 0, 0, 0};
    const char *slice = NULL;
    sg_flag flags[] = {
        {"results", SG_FLAG_STRING, &o.results_root, "where <sweep name>/ goes", 0},
        {"dry-run", SG_FLAG_BOOL, &o.dry_run, "print the plan (runs, order, dependencies) and run nothing", 0},
        {"resume", SG_FLAG_BOOL, &o.resume, "skip runs already finished; rerun failed and unfinished ones", 0},
        {"retry-failed", SG_FLAG_BOOL, &o.retry_failed, "rerun only the runs recorded as failed", 0},
        {"threads", SG_FLAG_INT, &o.threads, "threads per run (0: OMP_NUM_THREADS, else cores per node / ranks per node)", 0},
        {"slice", SG_FLAG_STRING, &slice, "K/N: run only slice K of N (dependency groups kept whole; see `spikeglue merge`)", 0},
    };
    char *pos[1];
    int npos = 0;
    int rc = sg_flags_parse("sweep", "JOB.yaml [--results DIR] [--dry-run] [--resume] [--retry-failed] [--slice K/N]", flags,
                            (int)(sizeof flags / sizeof flags[0]), argc, argv, pos, 1, &npos);
    if (rc) return rc > 0 ? 0 : (sg_print_error(), 2);
    if (npos != 1) return sg_fail("sweep: expected one job spec (jobs/*.yaml)"), sg_print_error(), 2;
    int k = 0, n = 0;
    if (slice && parse_slice(slice, &k, &n)) return sg_print_error(), 2;
    o.slice_k = k;
    o.slice_n = n;
    o.spec_path = pos[0];
    MPI_Init(NULL, NULL);
    int status = sg_sweep_main(&o);
    MPI_Finalize();
    return status;
}
