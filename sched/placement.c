#include "sched/placement.h"

#include "core/error.h"
#include "core/grow.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sg_placement_group(const char *const *hosts, int nranks, int group_size, int group, sg_group_hosts *out) {
    memset(out, 0, sizeof *out);
    if (group_size < 1 || nranks < 1 || nranks % group_size != 0)
        return sg_fail("placement: %d ranks cannot be cut into groups of %d", nranks, group_size);
    if (group < 0 || group >= nranks / group_size)
        return sg_fail("placement: group %d of %d does not exist", group, nranks / group_size);
    out->first_rank = group * group_size;
    out->size = group_size;
    out->rank_hosts = calloc((size_t)group_size, sizeof *out->rank_hosts);
    out->hosts = calloc((size_t)group_size, sizeof *out->hosts);
    out->counts = calloc((size_t)group_size, sizeof *out->counts);
    if (!out->rank_hosts || !out->hosts || !out->counts) return sg_group_hosts_free(out), sg_fail("out of memory");
    for (int k = 0; k < group_size; k++) {
        const char *h = hosts[out->first_rank + k];
        if (!h || !*h) return sg_group_hosts_free(out), sg_fail("placement: rank %d has no host name", out->first_rank + k);
        out->rank_hosts[k] = h;
        int j = 0;
        while (j < out->nhosts && strcmp(out->hosts[j], h)) j++;
        if (j == out->nhosts) out->hosts[out->nhosts++] = h;
        out->counts[j]++;
    }
    return 0;
}

void sg_group_hosts_free(sg_group_hosts *g) {
    free(g->rank_hosts);
    free(g->hosts);
    free(g->counts);
    memset(g, 0, sizeof *g);
}

const char *sg_launcher_name(sg_launcher l) { return l == SG_LAUNCH_SRUN ? "srun" : "mpirun"; }

int sg_launcher_choose(const char *override, int in_slurm, int srun_found, sg_launcher *out) {
    if (override && *override) {
        if (!strcmp(override, "srun")) *out = SG_LAUNCH_SRUN;
        else if (!strcmp(override, "mpirun")) *out = SG_LAUNCH_MPIRUN;
        else return sg_fail("SG_SWEEP_LAUNCHER='%s': expected srun or mpirun", override);
        return 0;
    }
    *out = in_slurm && srun_found ? SG_LAUNCH_SRUN : SG_LAUNCH_MPIRUN;
    return 0;
}

typedef struct {
    char **v;
    size_t cap;
    int n, oom;
} arg_list;

static void add(arg_list *a, const char *s) {
    if (a->oom) return;
    if (sg_grow((void **)&a->v, &a->cap, (size_t)a->n + 2, sizeof *a->v, 32)) { /* room for s and the NULL */
        a->oom = 1;
        return;
    }
    if (!(a->v[a->n] = strdup(s))) {
        a->oom = 1;
        return;
    }
    a->v[++a->n] = NULL;
}

static void addf(arg_list *a, const char *fmt, ...) SG_PRINTF(2, 3);
static void addf(arg_list *a, const char *fmt, ...) {
    char buf[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf) a->oom = 1;
    else add(a, buf);
}

/* "h1:c1,h2:c2" for mpirun --host. */
static char *host_list(const sg_group_hosts *g) {
    size_t len = 1;
    for (int j = 0; j < g->nhosts; j++) len += strlen(g->hosts[j]) + 16;
    char *s = malloc(len);
    if (!s) return NULL;
    size_t used = 0;
    for (int j = 0; j < g->nhosts; j++)
        used += (size_t)snprintf(s + used, len - used, "%s%s:%d", j ? "," : "", g->hosts[j], g->counts[j]);
    return s;
}

int sg_launch_argv(const sg_launch_cfg *cfg, const sg_group_hosts *g, char *const *run_argv, int run_argc, char ***argv, int *argc) {
    *argv = NULL;
    *argc = 0;
    if (g->size < 2) return sg_fail("placement: a group of %d rank needs no launcher", g->size);
    arg_list a = {0};
    add(&a, cfg->launcher_path);
    if (cfg->launcher == SG_LAUNCH_SRUN) {
        /* a job step sharing the CPUs the sweep's own step holds (its waiting ranks keep them for
         * the run); tasks on the hosts of SLURM_HOSTFILE in order; one crashing task ends the step */
        add(&a, "--overlap");
        addf(&a, "--mpi=%s", cfg->mpi_type && *cfg->mpi_type ? cfg->mpi_type : "pmix");
        add(&a, "-n");
        addf(&a, "%d", g->size);
        add(&a, "--distribution=arbitrary");
        add(&a, "--kill-on-bad-exit=1");
        if (cfg->threads > 0) addf(&a, "--cpus-per-task=%d", cfg->threads);
    } else {
        add(&a, "-n");
        addf(&a, "%d", g->size);
        if (g->nhosts > 1) { /* remote processes see only the variables named with -x */
            char *hosts = host_list(g);
            if (!hosts) a.oom = 1;
            else {
                add(&a, "--host");
                add(&a, hosts);
                free(hosts);
            }
            if (cfg->threads > 0) {
                add(&a, "-x");
                add(&a, "OMP_NUM_THREADS");
            }
            add(&a, "-x");
            add(&a, "SG_PROGRESS_FILE");
        }
        add(&a, "--oversubscribe");
        add(&a, "--bind-to");
        add(&a, "none");
    }
    add(&a, cfg->exe);
    for (int k = 0; k < run_argc; k++) add(&a, run_argv[k]);
    if (a.oom) return sg_launch_argv_free(a.v, a.n), sg_fail("out of memory");
    *argv = a.v;
    *argc = a.n;
    return 0;
}

void sg_launch_argv_free(char **argv, int argc) {
    if (!argv) return;
    for (int k = 0; k < argc; k++) free(argv[k]);
    free(argv);
}

char *sg_srun_hostfile_text(const sg_group_hosts *g) {
    size_t len = 1;
    for (int k = 0; k < g->size; k++) len += strlen(g->rank_hosts[k]) + 1;
    char *s = malloc(len);
    if (!s) return NULL;
    size_t used = 0;
    s[0] = '\0';
    for (int k = 0; k < g->size; k++) used += (size_t)snprintf(s + used, len - used, "%s\n", g->rank_hosts[k]);
    return s;
}

static int starts(const char *s, const char *prefix) { return !strncmp(s, prefix, strlen(prefix)); }

int sg_launch_env_keep(sg_launcher l, const char *var) {
    if (starts(var, "OMPI_ALLOW_RUN_AS_ROOT")) return 1;
    if (starts(var, "OMPI_") || starts(var, "PMIX_") || starts(var, "PMI_")) return 0;
    if (l != SG_LAUNCH_SRUN) return 1;
    if (starts(var, "SLURM_JOB_ID=") || starts(var, "SLURM_JOBID=") || starts(var, "SLURM_CONF=")) return 1;
    return !starts(var, "SLURM_") && !starts(var, "SRUN_");
}
