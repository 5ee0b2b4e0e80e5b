/* spikeglue sweep JOB.yaml: the MPI coordinator (see sched/sweep.h). */
#include "cli/flags.h"
#include "core/error.h"
#include "sched/sweep.h"

#include <mpi.h>

int sg_cmd_sweep(int argc, char **argv);

int sg_cmd_sweep(int argc, char **argv) {
    sg_sweep_options o = {NULL, "results", 0, 0, 0, 0};
    sg_flag flags[] = {
        {"results", SG_FLAG_STRING, &o.results_root, "where <sweep name>/ goes", 0},
        {"dry-run", SG_FLAG_BOOL, &o.dry_run, "print the plan (runs, order, dependencies) and run nothing", 0},
        {"resume", SG_FLAG_BOOL, &o.resume, "skip runs already finished; rerun failed and unfinished ones", 0},
        {"retry-failed", SG_FLAG_BOOL, &o.retry_failed, "rerun only the runs recorded as failed", 0},
        {"threads", SG_FLAG_INT, &o.threads, "threads per run (0: OMP_NUM_THREADS, else cores per node / ranks per node)", 0},
    };
    char *pos[1];
    int npos = 0;
    int rc = sg_flags_parse("sweep", "JOB.yaml [--results DIR] [--dry-run] [--resume] [--retry-failed]", flags,
                            (int)(sizeof flags / sizeof flags[0]), argc, argv, pos, 1, &npos);
    if (rc) return rc > 0 ? 0 : (sg_print_error(), 2);
    if (npos != 1) return sg_fail("sweep: expected one job spec (jobs/*.yaml)"), sg_print_error(), 2;
    o.spec_path = pos[0];
    MPI_Init(NULL, NULL);
    int status = sg_sweep_main(&o);
    MPI_Finalize();
    return status;
}
