/* A sweep's run groups (parallel: {dp: D, tp: P}, G = D x P ranks each): every rank learns the
 * hosts of the world, each group's leader starts its group's runs through the launcher chosen for
 * the sweep (sched/placement.h: srun under SLURM, else mpirun; SG_SWEEP_LAUNCHER=srun|mpirun
 * forces one). The run stays a child process of the leader: a crash or a hang ends that run only. */
#ifndef SG_SCHED_GROUP_LAUNCH_H
#define SG_SCHED_GROUP_LAUNCH_H

#include "sched/placement.h"
#include "sched/runner.h"

typedef struct {
    int group_size;            /* G; 1: runs start as plain children, nothing else here is used */
    sg_launcher launcher;
    char launcher_path[4096];
    char mpi_type[64];         /* srun --mpi=: the sweep's own step's (SLURM_MPI_TYPE), else pmix */
    char **world_hosts;        /* host of every rank (SLURMD_NODENAME under SLURM, else MPI_Get_processor_name) */
    int nworld;
    sg_group_hosts group;      /* this rank's group */
} sg_group_launch;

/* Collective over MPI_COMM_WORLD when group_size > 1 (every rank must call it): gathers the host
 * names, places this rank's group, chooses the launcher and finds it on PATH. 0, or -1 with the
 * error (the gather has happened either way). */
int sg_group_launch_init(sg_group_launch *gl, int group_size, int rank, int size);
void sg_group_launch_free(sg_group_launch *gl);

/* "launcher srun" or "launcher mpirun" for the sweep's header; "" when group_size is 1. */
const char *sg_group_launch_describe(const sg_group_launch *gl, char *buf, size_t cap);

/* Start run_argv (argv[0] = "run", the plan's vector with --dp / --tp) on this rank's group: the
 * srun hostfile written to <run_dir>/hostfile, the placement and the exact command line appended to
 * log_path, then the launcher started as a child (sg_child_start_group). 0 or -1. */
int sg_group_launch_start(const sg_group_launch *gl, char *const *run_argv, int run_argc, const char *run_dir, const char *log_path,
                          int threads, double time_limit, sg_child *child);

#endif
