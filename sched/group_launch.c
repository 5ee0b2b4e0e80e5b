#include "sched/group_launch.h"

#include "core/durable.h"
#include "core/error.h"

#include <errno.h>
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOST_CAP (MPI_MAX_PROCESSOR_NAME + 1)

/* This rank's host as the launcher knows it: SLURM's node name (what a SLURM_HOSTFILE must hold)
 * inside a SLURM step, else the MPI processor name. */
static void own_host(char *out) {
    const char *slurm = getenv("SLURMD_NODENAME");
    if (slurm && *slurm) {
        snprintf(out, HOST_CAP, "%s", slurm);
        return;
    }
    int len = 0;
    if (MPI_Get_processor_name(out, &len) != MPI_SUCCESS || len <= 0) snprintf(out, HOST_CAP, "localhost");
    else out[len < HOST_CAP ? len : HOST_CAP - 1] = '\0';
}

int sg_group_launch_init(sg_group_launch *gl, int group_size, int rank, int size) {
    memset(gl, 0, sizeof *gl);
    gl->group_size = group_size;
    if (group_size <= 1) return 0;
    char mine[HOST_CAP] = "";
    own_host(mine);
    char *all = calloc((size_t)size, HOST_CAP);
    if (!all) { /* the others wait in the gather: stop the whole sweep rather than hang it */
        fprintf(stderr, "spikeglue: error: out of memory gathering the ranks' host names\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    MPI_Allgather(mine, HOST_CAP, MPI_CHAR, all, HOST_CAP, MPI_CHAR, MPI_COMM_WORLD);
    gl->world_hosts = calloc((size_t)size, sizeof *gl->world_hosts);
    if (!gl->world_hosts) return free(all), sg_fail("out of memory");
    gl->nworld = size;
    for (int r = 0; r < size; r++) {
        all[(size_t)r * HOST_CAP + HOST_CAP - 1] = '\0';
        if (!(gl->world_hosts[r] = strdup(all + (size_t)r * HOST_CAP))) return free(all), sg_fail("out of memory");
    }
    free(all);
    if (sg_placement_group((const char *const *)gl->world_hosts, size, group_size, rank / group_size, &gl->group)) return -1;
    const char *env_job = getenv("SLURM_JOB_ID");
    char path[4096];
    int in_slurm = env_job && *env_job, srun_found = sg_find_in_path("srun", path, sizeof path) != NULL;
    if (sg_launcher_choose(getenv("SG_SWEEP_LAUNCHER"), in_slurm, srun_found, &gl->launcher)) return -1;
    const char *name = sg_launcher_name(gl->launcher);
    if (!sg_find_in_path(name, gl->launcher_path, sizeof gl->launcher_path))
        return sg_fail("parallel: run groups of %d ranks are started with %s, which is not on PATH", group_size, name);
    const char *mpi = getenv("SLURM_MPI_TYPE");
    snprintf(gl->mpi_type, sizeof gl->mpi_type, "%s", mpi && *mpi && strcmp(mpi, "none") ? mpi : "pmix");
    return 0;
}

void sg_group_launch_free(sg_group_launch *gl) {
    for (int r = 0; r < gl->nworld && gl->world_hosts; r++) free(gl->world_hosts[r]);
    free(gl->world_hosts);
    sg_group_hosts_free(&gl->group);
    memset(gl, 0, sizeof *gl);
}

const char *sg_group_launch_describe(const sg_group_launch *gl, char *buf, size_t cap) {
    if (gl->group_size <= 1) snprintf(buf, cap, "%s", "");
    else snprintf(buf, cap, "launcher %s", sg_launcher_name(gl->launcher));
    return buf;
}

/* The placement and the command in the run's log, before the run's own output. */
static int log_launch(const sg_group_launch *gl, const char *log_path, char *const *argv, const char *hostfile) {
    FILE *f = fopen(log_path, "a");
    if (!f) return sg_fail("%s: cannot open the run log: %s", log_path, strerror(errno));
    const sg_group_hosts *g = &gl->group;
    fprintf(f, "spikeglue sweep: run group of %d ranks (world ranks %d-%d) on ", g->size, g->first_rank, g->first_rank + g->size - 1);
    for (int j = 0; j < g->nhosts; j++) fprintf(f, "%s%s:%d", j ? "," : "", g->hosts[j], g->counts[j]);
    fprintf(f, ", launcher %s:", sg_launcher_name(gl->launcher));
    if (hostfile) fprintf(f, " SLURM_HOSTFILE=%s", hostfile);
    for (int k = 0; argv[k]; k++) fprintf(f, " %s", argv[k]);
    fputc('\n', f);
    return fclose(f) == 0 ? 0 : sg_fail("%s: cannot write the run log: %s", log_path, strerror(errno));
}

int sg_group_launch_start(const sg_group_launch *gl, char *const *run_argv, int run_argc, const char *run_dir, const char *log_path,
                          int threads, double time_limit, sg_child *child) {
    sg_launch_cfg cfg = {gl->launcher, gl->launcher_path, sg_self_exe(), gl->mpi_type, threads};
    char **argv = NULL;
    int argc = 0;
    if (sg_launch_argv(&cfg, &gl->group, run_argv, run_argc, &argv, &argc)) return -1;
    char hostfile[4200], env[4300];
    const char *extra = NULL;
    int rc = 0;
    if (gl->launcher == SG_LAUNCH_SRUN) {
        /* absolute, so srun finds it whatever directory it resolves paths against */
        char abs_dir[4096];
        snprintf(hostfile, sizeof hostfile, "%s/hostfile", realpath(run_dir, abs_dir) ? abs_dir : run_dir);
        char *text = sg_srun_hostfile_text(&gl->group);
        rc = text ? sg_write_file_atomic(hostfile, text, strlen(text)) : sg_fail("out of memory");
        free(text);
        snprintf(env, sizeof env, "SLURM_HOSTFILE=%s", hostfile);
        extra = env;
    }
    if (rc == 0) rc = log_launch(gl, log_path, argv, extra ? hostfile : NULL);
    if (rc == 0) rc = sg_child_start_group(child, gl->launcher_path, argv, log_path, threads, time_limit, gl->launcher, extra);
    sg_launch_argv_free(argv, argc);
    return rc;
}
