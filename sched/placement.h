/* Where a sweep's run groups sit and how a group's run is started (docs/scaling.md, "Placing run
 * groups"). Pure functions: no MPI, no environment reads, no files; sched/group_launch.c feeds
 * them the world's host names and the environment, and writes what they build.
 *
 * The sweep's world of N ranks is cut into N / G groups of G = dp x tp consecutive ranks; rank
 * r's host is hosts[r]. A group's run is one MPI job of G processes placed on exactly the group's
 * ranks' hosts, in rank order, started by the group's leader (its first rank) as a child process:
 * - srun (under SLURM): a job step inside the allocation,
 *     srun --overlap --mpi=pmix -n G --distribution=arbitrary --kill-on-bad-exit=1
 *          [--cpus-per-task=T] spikeglue run ...
 *   with SLURM_HOSTFILE naming a file of the group's hosts, one line per task (rank order);
 * - mpirun (outside SLURM): mpirun -n G --oversubscribe --bind-to none spikeglue run ... on the
 *   leader's host, or with --host h1:c1,h2:c2 (and -x for the variables the run reads) when the
 *   group spans more than the leader's host. */
#ifndef SG_SCHED_PLACEMENT_H
#define SG_SCHED_PLACEMENT_H

typedef struct {
    int first_rank, size;     /* world ranks [first_rank, first_rank + size) */
    const char **rank_hosts;  /* size entries: the host of each rank, in rank order (borrowed) */
    int nhosts;               /* distinct hosts, in order of first appearance (the leader's first) */
    const char **hosts;       /* nhosts entries (borrowed) */
    int *counts;              /* ranks of the group on each of them */
} sg_group_hosts;

/* Group `group` (0-based) of a world of nranks ranks whose hosts are hosts[0..nranks) cut into
 * groups of group_size. 0, or -1 (nranks not a multiple of group_size, group out of range, a
 * missing or empty host name, out of memory). hosts must outlive out. */
int sg_placement_group(const char *const *hosts, int nranks, int group_size, int group, sg_group_hosts *out);
void sg_group_hosts_free(sg_group_hosts *g);

typedef enum { SG_LAUNCH_MPIRUN = 0, SG_LAUNCH_SRUN = 1 } sg_launcher;
const char *sg_launcher_name(sg_launcher l); /* "mpirun" / "srun" */

/* The launcher: `override` (SG_SWEEP_LAUNCHER: "srun" or "mpirun"; NULL or "" = choose) wins;
 * else srun when in_slurm (SLURM_JOB_ID set) and srun_found, else mpirun. 0, or -1 for an
 * override naming neither. */
int sg_launcher_choose(const char *override, int in_slurm, int srun_found, sg_launcher *out);

typedef struct {
    sg_launcher launcher;
    const char *launcher_path; /* the srun / mpirun executable */
    const char *exe;           /* the spikeglue binary each process runs */
    const char *mpi_type;      /* srun --mpi= ("pmix" when NULL) */
    int threads;               /* OpenMP threads per process (srun --cpus-per-task); 0: not set */
} sg_launch_cfg;

/* The child's argument vector: the launcher's part, then exe, then run_argv[1..run_argc) (run_argv[0]
 * is the subcommand "run", kept after exe). Owned strings, NULL-terminated, *argc entries; free with
 * sg_launch_argv_free. 0 or -1 (out of memory, a group of one rank: that run needs no launcher). */
int sg_launch_argv(const sg_launch_cfg *cfg, const sg_group_hosts *g, char *const *run_argv, int run_argc, char ***argv, int *argc);
void sg_launch_argv_free(char **argv, int argc);

/* SLURM_HOSTFILE's content for srun --distribution=arbitrary: the group's hosts one line per task,
 * in rank order. Malloc'ed, NULL when out of memory. */
char *sg_srun_hostfile_text(const sg_group_hosts *g);

/* Whether the sweep's environment entry `var` ("NAME=value") passes into a launched run's:
 * never the variables that make a process a rank of the sweep's own MPI job (OMPI_*, PMIX_*, PMI_*;
 * the run-as-root permissions stay); for srun also no SLURM_* / SRUN_* but SLURM_JOB_ID,
 * SLURM_JOBID and SLURM_CONF: the sweep's own step sets SLURM_NTASKS, SLURM_STEP_*,
 * SLURM_DISTRIBUTION, SLURM_NNODES, SLURM_HOSTFILE, ... which srun would read as the new step's
 * defaults. */
int sg_launch_env_keep(sg_launcher l, const char *var);

#endif
