/* Runs one pipeline as a child process (`spikeglue run ...`), its output captured in a log
 * file, bounded by a time limit. A crash, a hang or a NaN in one run never takes the sweep down. */
#ifndef SG_RUNNER_H
#define SG_RUNNER_H

#include "sched/placement.h"
#include "sched/run_record.h"

#include <sys/types.h>

typedef struct {
    pid_t pid;
    double start, deadline; /* monotonic seconds; deadline 0: none */
    char log_path[4096];
    int killed_for_time;
} sg_child;

/* The heartbeat a run writes beside its log (train/progress.h): <run dir>/progress.json. */
#define SG_HEARTBEAT_NAME "progress.json"
void sg_child_heartbeat_path(const char *log_path, char *out, size_t cap);

/* Starts `exe argv...` with stdout+stderr appended to log_path, OMP_NUM_THREADS=threads (when > 0)
 * and SG_PROGRESS_FILE naming its heartbeat (sg_child_heartbeat_path). */
int sg_child_start(sg_child *c, const char *exe, char *const argv[], const char *log_path, int threads, double time_limit);
/* The same for a child that is itself an MPI job, a run group's run (`mpirun -n G spikeglue run
 * --dp D --tp P` or `srun ... -n G`, sched/placement.h): the environment keeps only what
 * sg_launch_env_keep(launcher, ...) allows (not the variables that tie a process to our own MPI
 * job or, for srun, to our own job step), so the launcher starts a job (step) of its own;
 * extra_env ("NAME=value", e.g. SLURM_HOSTFILE) is added when not NULL. */
int sg_child_start_group(sg_child *c, const char *exe, char *const argv[], const char *log_path, int threads, double time_limit,
                         sg_launcher launcher, const char *extra_env);
/* exe's path through $PATH (exe itself if it has a '/'), or NULL. */
const char *sg_find_in_path(const char *exe, char *buf, size_t cap);
/* Non-blocking: 1 when the child has ended (status filled; *interrupted set when it stopped on a
 * signal after saving a checkpoint, exit status 130), 0 while it runs. Enforces the deadline
 * (SIGTERM, then SIGKILL 10 s later). */
int sg_child_poll(sg_child *c, sg_run_status *status, int *interrupted, char *error, size_t error_len);
/* Blocking wait. */
int sg_child_wait(sg_child *c, sg_run_status *status, int *interrupted, char *error, size_t error_len);
/* Forward a signal (SIGTERM on preemption: the run checkpoints and exits). */
void sg_child_signal(sg_child *c, int sig);

/* A signal by its name for messages, with what usually sends it: "SIGINT (Ctrl-C)"; under mpirun,
 * which turns the Ctrl-C it receives into SIGTERM for every rank, SIGTERM says so. "signal N" for
 * signals without a name here. Returns buf. */
const char *sg_signal_describe(int sig, char *buf, size_t cap);

/* The spikeglue binary itself (/proc/self/exe), for starting runs. */
const char *sg_self_exe(void);

#endif
