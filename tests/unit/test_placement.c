/* Run-group placement (sched/placement.h): the hosts of a world's ranks -> each group's hosts and
 * counts; the launcher's choice; the srun and mpirun argument vectors, srun's hostfile and the
 * environment a launched run keeps. Pure functions: no SLURM and no MPI needed. */
#include "testlib.h"

#include "core/error.h"
#include "sched/placement.h"

#include <stdlib.h>
#include <string.h>

/* argv joined by spaces */
static void join(char **argv, char *out, size_t cap) {
    size_t used = 0;
    out[0] = '\0';
    for (int k = 0; argv[k] && used < cap; k++) used += (size_t)snprintf(out + used, cap - used, "%s%s", k ? " " : "", argv[k]);
}

static void test_groups(void) {
    /* 8 ranks on two nodes of 3 and 5: groups of 4 straddle the boundary */
    const char *hosts[] = {"n1", "n1", "n1", "n2", "n2", "n2", "n2", "n2"};
    sg_group_hosts g;
    CHECK(sg_placement_group(hosts, 8, 4, 0, &g) == 0);
    CHECK(g.first_rank == 0 && g.size == 4 && g.nhosts == 2);
    CHECK(!strcmp(g.hosts[0], "n1") && g.counts[0] == 3 && !strcmp(g.hosts[1], "n2") && g.counts[1] == 1);
    CHECK(!strcmp(g.rank_hosts[2], "n1") && !strcmp(g.rank_hosts[3], "n2"));
    sg_group_hosts_free(&g);
    CHECK(sg_placement_group(hosts, 8, 4, 1, &g) == 0);
    CHECK(g.first_rank == 4 && g.nhosts == 1 && !strcmp(g.hosts[0], "n2") && g.counts[0] == 4);
    sg_group_hosts_free(&g);
    /* ranks placed round-robin (mpirun --map-by node): hosts in order of first appearance, the
     * per-rank list keeps the interleaving */
    const char *rr[] = {"a", "b", "a", "b"};
    CHECK(sg_placement_group(rr, 4, 4, 0, &g) == 0);
    CHECK(g.nhosts == 2 && !strcmp(g.hosts[0], "a") && g.counts[0] == 2 && g.counts[1] == 2);
    char *text = sg_srun_hostfile_text(&g);
    CHECK_MSG(text && !strcmp(text, "a\nb\na\nb\n"), "%s", text ? text : "(null)");
    free(text);
    sg_group_hosts_free(&g);
    /* errors: a world that is not a multiple of the group, a group out of range, a missing name */
    CHECK(sg_placement_group(hosts, 6, 4, 0, &g) == -1 && strstr(sg_last_error(), "6 ranks cannot be cut into groups of 4"));
    CHECK(sg_placement_group(hosts, 8, 4, 2, &g) == -1 && strstr(sg_last_error(), "group 2 of 2"));
    const char *holes[] = {"a", ""};
    CHECK(sg_placement_group(holes, 2, 2, 0, &g) == -1 && strstr(sg_last_error(), "rank 1 has no host name"));
}

static void test_choice(void) {
    sg_launcher l = SG_LAUNCH_SRUN;
    CHECK(sg_launcher_choose(NULL, 0, 1, &l) == 0 && l == SG_LAUNCH_MPIRUN);  /* outside SLURM */
    CHECK(sg_launcher_choose("", 1, 1, &l) == 0 && l == SG_LAUNCH_SRUN);      /* inside, srun present */
    CHECK(sg_launcher_choose(NULL, 1, 0, &l) == 0 && l == SG_LAUNCH_MPIRUN);  /* inside, no srun */
    CHECK(sg_launcher_choose("srun", 0, 0, &l) == 0 && l == SG_LAUNCH_SRUN);  /* forced */
    CHECK(sg_launcher_choose("mpirun", 1, 1, &l) == 0 && l == SG_LAUNCH_MPIRUN);
    CHECK(sg_launcher_choose("ssh", 0, 0, &l) == -1 && strstr(sg_last_error(), "SG_SWEEP_LAUNCHER='ssh': expected srun or mpirun"));
    CHECK(!strcmp(sg_launcher_name(SG_LAUNCH_SRUN), "srun") && !strcmp(sg_launcher_name(SG_LAUNCH_MPIRUN), "mpirun"));
}

static void test_argv(void) {
    const char *hosts[] = {"n1", "n1", "n1", "n2", "n2", "n2"};
    char *run[] = {"run", "--task_name", "sst2", "--dp", "3", NULL};
    sg_group_hosts g;
    char **argv, line[2048];
    int argc;
    CHECK(sg_placement_group(hosts, 6, 3, 1, &g) == 0); /* one host */
    sg_launch_cfg srun = {SG_LAUNCH_SRUN, "/usr/bin/srun", "/x/spikeglue", "pmix_v4", 2};
    CHECK(sg_launch_argv(&srun, &g, run, 5, &argv, &argc) == 0 && argv[argc] == NULL);
    join(argv, line, sizeof line);
    CHECK_MSG(!strcmp(line, "/usr/bin/srun --overlap --mpi=pmix_v4 -n 3 --distribution=arbitrary --kill-on-bad-exit=1 "
                            "--cpus-per-task=2 /x/spikeglue run --task_name sst2 --dp 3"), "%s", line);
    sg_launch_argv_free(argv, argc);
    sg_launch_cfg mpirun = {SG_LAUNCH_MPIRUN, "/usr/bin/mpirun", "/x/spikeglue", NULL, 2};
    CHECK(sg_launch_argv(&mpirun, &g, run, 5, &argv, &argc) == 0);
    join(argv, line, sizeof line);
    CHECK_MSG(!strcmp(line, "/usr/bin/mpirun -n 3 --oversubscribe --bind-to none /x/spikeglue run --task_name sst2 --dp 3"), "%s", line);
    sg_launch_argv_free(argv, argc);
    sg_group_hosts_free(&g);
    /* a group across two hosts: mpirun gets them with their counts and passes the run's variables */
    CHECK(sg_placement_group(hosts, 6, 2, 1, &g) == 0);
    CHECK(sg_launch_argv(&mpirun, &g, run, 5, &argv, &argc) == 0);
    join(argv, line, sizeof line);
    CHECK_MSG(!strcmp(line, "/usr/bin/mpirun -n 2 --host n1:1,n2:1 -x OMP_NUM_THREADS -x SG_PROGRESS_FILE --oversubscribe --bind-to none "
                            "/x/spikeglue run --task_name sst2 --dp 3"), "%s", line);
    sg_launch_argv_free(argv, argc);
    srun.mpi_type = NULL;
    srun.threads = 0;
    CHECK(sg_launch_argv(&srun, &g, run, 5, &argv, &argc) == 0);
    join(argv, line, sizeof line);
    CHECK_MSG(!strcmp(line, "/usr/bin/srun --overlap --mpi=pmix -n 2 --distribution=arbitrary --kill-on-bad-exit=1 "
                            "/x/spikeglue run --task_name sst2 --dp 3"), "%s", line);
    sg_launch_argv_free(argv, argc);
    char *text = sg_srun_hostfile_text(&g);
    CHECK_MSG(text && !strcmp(text, "n1\nn2\n"), "%s", text ? text : "(null)");
    free(text);
    sg_group_hosts_free(&g);
    /* a group of one needs no launcher */
    CHECK(sg_placement_group(hosts, 6, 1, 0, &g) == 0);
    CHECK(sg_launch_argv(&srun, &g, run, 5, &argv, &argc) == -1 && argv == NULL);
    sg_group_hosts_free(&g);
}

static void test_env(void) {
    /* both launchers: the sweep's own MPI job stays behind, the run-as-root permission goes along */
    for (int l = 0; l < 2; l++) {
        CHECK(!sg_launch_env_keep((sg_launcher)l, "OMPI_COMM_WORLD_SIZE=4"));
        CHECK(!sg_launch_env_keep((sg_launcher)l, "PMIX_RANK=1"));
        CHECK(!sg_launch_env_keep((sg_launcher)l, "PMI_FD=3"));
        CHECK(sg_launch_env_keep((sg_launcher)l, "OMPI_ALLOW_RUN_AS_ROOT=1"));
        CHECK(sg_launch_env_keep((sg_launcher)l, "PATH=/usr/bin"));
        CHECK(sg_launch_env_keep((sg_launcher)l, "OMP_NUM_THREADS=2"));
    }
    /* srun: the job's identity and configuration only, nothing of the sweep's step */
    CHECK(sg_launch_env_keep(SG_LAUNCH_SRUN, "SLURM_JOB_ID=42"));
    CHECK(sg_launch_env_keep(SG_LAUNCH_SRUN, "SLURM_JOBID=42"));
    CHECK(sg_launch_env_keep(SG_LAUNCH_SRUN, "SLURM_CONF=/etc/slurm/slurm.conf"));
    const char *step[] = {"SLURM_STEP_ID=0", "SLURM_STEP_NUM_TASKS=4", "SLURM_NTASKS=4", "SLURM_NPROCS=4", "SLURM_DISTRIBUTION=block",
                          "SLURM_NNODES=2", "SLURM_JOB_NUM_NODES=2", "SLURM_HOSTFILE=/old", "SLURM_CPU_BIND=cores",
                          "SLURM_MEM_PER_NODE=1000", "SRUN_CPUS_PER_TASK=2", "SLURM_JOB_ID_X=1"};
    for (size_t k = 0; k < sizeof step / sizeof step[0]; k++) CHECK_MSG(!sg_launch_env_keep(SG_LAUNCH_SRUN, step[k]), "%s", step[k]);
    /* mpirun outside SLURM leaves SLURM_* as they are (there are none) */
    CHECK(sg_launch_env_keep(SG_LAUNCH_MPIRUN, "SLURM_NTASKS=4"));
}

int main(void) {
    test_groups();
    test_choice();
    test_argv();
    test_env();
    return sg_test_done();
}
