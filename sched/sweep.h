/* `spikeglue sweep`: rank 0 coordinates, every rank (rank 0 included) runs pipelines as child
 * processes. Work goes out dynamically, longest expected first, respecting start_from
 * dependencies; finished runs are committed to the results store in groups (one fsync per batch)
 * and printed only once results.h5 holds them. */
#ifndef SG_SWEEP_H
#define SG_SWEEP_H

typedef struct {
    const char *spec_path;
    const char *results_root; /* default "results" */
    int dry_run, resume, retry_failed;
    int threads;              /* per run; 0: cores of the node / ranks on the node */
    int slice_k, slice_n;     /* --slice K/N: run only slice K of N (sg_plan_slice); N = 0: all */
} sg_sweep_options;

/* Runs under MPI (MPI_Init already called). Returns the process exit status. */
int sg_sweep_main(const sg_sweep_options *o);

#endif
