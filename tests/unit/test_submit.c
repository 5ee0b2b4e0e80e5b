/* `spikeglue submit`: the batch scripts of both forms line by line (MPI job; job arrays split at a
 * small MaxArraySize, throttled, with the merge job's dependencies), the dry-run print, settings
 * from flags over the spec's slurm: section, their errors, SLURM time limits, plan slices
 * (dependency groups kept whole, deterministic, balanced), the embedded templates against
 * slurm/NAME.sbatch.in, and the job-id record. */
#include "testlib.h"

#include "core/error.h"
#include "core/fileio.h"
#include "sched/merge.h"
#include "sched/submit.h"

#include <stdlib.h>
#include <string.h>

#define VERSION "spikeglue 0.1.0"

/* 3 tasks x 2 seeds x {base, again (starts from base)} = 12 runs in 6 dependency groups. */
static const char *SPEC = "name: subtest\n"
                          "model: builtin:tiny\n"
                          "data_dir: data\n"
                          "tasks: [sst2, mrpc, stsb]\n"
                          "seeds: [1, 2]\n"
                          "variants:\n"
                          "  base: {transform: none}\n"
                          "  again: {transform: none, start_from: base}\n"
                          "pipeline: [finetune]\n"
                          "slurm:\n"
                          "  nodes: 2\n"
                          "  ntasks_per_node: 4\n"
                          "  cpus_per_task: 8\n"
                          "  time: 1-00:00:00\n"
                          "  partition: short\n"
                          "  exclusive: true\n"
                          "  sbatch: [\"--mem=4G\"]\n"
                          "  setup: [\"module load openmpi\"]\n";

static const sg_submit_paths PATHS = {"jobs/sub.yaml", "results", "/opt/sg/bin/spikeglue", "/home/u/proj"};

static const char *MPI_SCRIPT[] = {
    "#!/bin/bash",
    "# spikeglue sweep subtest as one MPI job: rank 0 coordinates, every rank runs pipelines.",
    "# Written by `spikeglue submit` from slurm/sweep_mpi.sbatch.in (12 runs).",
    "#SBATCH --job-name=sg-subtest",
    "#SBATCH --nodes=2",
    "#SBATCH --ntasks=4",          /* as many run groups (of 1 rank) as 2 nodes x 2 hold */
    "#SBATCH --ntasks-per-node=2", /* the flag wins over the spec's 4 */
    "#SBATCH --cpus-per-task=8",
    "#SBATCH --time=1-00:00:00",
    "#SBATCH --partition=short",
    "#SBATCH --exclusive",
    "#SBATCH --mem=4G",
    "#SBATCH --chdir=/home/u/proj",
    "#SBATCH --output=results/subtest/slurm/%x-%j.out",
    "#SBATCH --open-mode=append",
    "#SBATCH --requeue",
    "#SBATCH --signal=B:USR1@300",
    "set -u",
    "export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}",
    "module load openmpi",
    "echo \"spikeglue: job $SLURM_JOB_ID start ${SLURM_RESTART_COUNT:-0} on $(hostname) at $(date -Is)\"",
    "",
    "# USR1 arrives 300 s before the time limit: the sweep checkpoints its running pipelines,",
    "# commits what finished and exits; then this job requeues itself and goes on with --resume.",
    "# TERM (scancel, preemption, scontrol requeue) is passed on the same way; SLURM decides whether",
    "# the job comes back.",
    "requeue=0",
    "step=",
    "forward() {",
    "    [ \"$1\" = USR1 ] && requeue=1",
    "    [ -n \"$step\" ] && kill -s \"$1\" \"$step\" 2>/dev/null",
    "}",
    "trap 'forward USR1' USR1",
    "trap 'forward TERM' TERM",
    "",
    "srun --mpi=pmix --kill-on-bad-exit=1 /opt/sg/bin/spikeglue sweep jobs/sub.yaml --results results --resume &",
    "step=$!",
    "while :; do",
    "    wait \"$step\"",
    "    rc=$?",
    "    kill -0 \"$step\" 2>/dev/null || break # a trapped signal ends `wait` early: wait again",
    "done",
    "if [ \"$requeue\" = 1 ]; then",
    "    echo \"spikeglue: time limit near: requeueing job $SLURM_JOB_ID\"",
    "    scontrol requeue \"$SLURM_JOB_ID\" && exit 0",
    "fi",
    "exit $rc",
    NULL,
};

/* The second of three arrays (MaxArraySize 2, 5 slices): slices 3 and 4, after the first. */
static const char *ARRAY2_SCRIPT[] = {
    "#!/bin/bash",
    "# spikeglue sweep subtest as a job array: array task i runs slice 3 + i of 5",
    "# into results/subtest/slices/<slice>; a merge job (slurm/merge.sbatch.in) joins the slices.",
    "# Written by `spikeglue submit --array` from slurm/sweep_array.sbatch.in (12 runs in 5 slices).",
    "#SBATCH --job-name=sg-subtest",
    "#SBATCH --array=0-1%1",
    "#SBATCH --nodes=2",
    "#SBATCH --ntasks=8",
    "#SBATCH --ntasks-per-node=4",
    "#SBATCH --cpus-per-task=8",
    "#SBATCH --time=30",
    "#SBATCH --partition=short",
    "#SBATCH --exclusive",
    "#SBATCH --mem=4G",
    "#SBATCH --chdir=/home/u/proj",
    "#SBATCH --output=results/subtest/slurm/%x-%A_%a.out",
    "#SBATCH --open-mode=append",
    "#SBATCH --requeue",
    "#SBATCH --signal=B:USR1@180",
    "set -u",
    "export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}",
    "module load openmpi",
    "slice=$((SLURM_ARRAY_TASK_ID + 3))",
    "echo \"spikeglue: job $SLURM_JOB_ID (array $SLURM_ARRAY_JOB_ID task $SLURM_ARRAY_TASK_ID: slice $slice/5) start "
    "${SLURM_RESTART_COUNT:-0} on $(hostname) at $(date -Is)\"",
    "",
    "# USR1 arrives 180 s before the time limit: the slice checkpoints and exits, then this",
    "# task requeues itself and goes on with --resume. TERM is passed on the same way.",
    "requeue=0",
    "step=",
    "forward() {",
    "    [ \"$1\" = USR1 ] && requeue=1",
    "    [ -n \"$step\" ] && kill -s \"$1\" \"$step\" 2>/dev/null",
    "}",
    "trap 'forward USR1' USR1",
    "trap 'forward TERM' TERM",
    "",
    "srun --mpi=pmix --kill-on-bad-exit=1 /opt/sg/bin/spikeglue sweep jobs/sub.yaml --slice \"$slice/5\" --results "
    "results/subtest/slices/\"$slice\" --resume &",
    "step=$!",
    "while :; do",
    "    wait \"$step\"",
    "    rc=$?",
    "    kill -0 \"$step\" 2>/dev/null || break # a trapped signal ends `wait` early: wait again",
    "done",
    "if [ \"$requeue\" = 1 ]; then",
    "    echo \"spikeglue: time limit near: requeueing job $SLURM_JOB_ID\"",
    "    scontrol requeue \"$SLURM_JOB_ID\" && exit 0",
    "fi",
    "exit $rc",
    NULL,
};

static const char *MERGE_SCRIPT[] = {
    "#!/bin/bash",
    "# Merges the 5 slices of spikeglue sweep subtest (results/subtest/slices/*) into",
    "# results/subtest/results.h5 and its leaderboard; runs after every array task ended (afterany).",
    "# Written by `spikeglue submit --array` from slurm/merge.sbatch.in.",
    "#SBATCH --job-name=sg-subtest-merge",
    "#SBATCH --nodes=1",
    "#SBATCH --ntasks=1",
    "#SBATCH --cpus-per-task=1",
    "#SBATCH --time=30",
    "#SBATCH --partition=short",
    "#SBATCH --mem=4G",
    "#SBATCH --chdir=/home/u/proj",
    "#SBATCH --output=results/subtest/slurm/%x-%j.out",
    "#SBATCH --open-mode=append",
    "set -u",
    "module load openmpi",
    "exec /opt/sg/bin/spikeglue merge jobs/sub.yaml --results results --slices 5",
    NULL,
};

/* Compares text with lines, reporting the first difference. */
static void check_lines(const char *what, const char *text, const char *const *lines) {
    const char *p = text;
    int i = 0;
    for (; lines[i]; i++) {
        const char *eol = strchr(p, '\n');
        size_t n = eol ? (size_t)(eol - p) : strlen(p);
        if (!eol || n != strlen(lines[i]) || strncmp(p, lines[i], n)) {
            CHECK_MSG(0, "%s line %d:\n      got:      %.*s\n      expected: %s", what, i + 1, (int)n, p, lines[i]);
            return;
        }
        p = eol + 1;
    }
    CHECK_MSG(*p == '\0', "%s: extra lines from %d: %.80s", what, i + 1, p);
}

static int load(const char *text, sg_jobspec *s, sg_plan *p) {
    memset(p, 0, sizeof *p);
    if (sg_jobspec_parse(text, strlen(text), "jobs/sub.yaml", s)) return CHECK_MSG(0, "%s", sg_last_error()), -1;
    if (sg_plan_build(s, VERSION, p)) return CHECK_MSG(0, "%s", sg_last_error()), sg_jobspec_free(s), -1;
    return 0;
}

static sg_submit_flags no_flags(void) {
    sg_submit_flags f = {0, 0, 0, NULL, NULL, NULL, -1, 0, 0, 0, 0, 0};
    return f;
}

static void test_mpi_form(const sg_plan *plan) {
    sg_submit_flags f = no_flags();
    f.ntasks_per_node = 2;
    sg_submit_settings set;
    sg_submit_batch b;
    if (sg_submit_settings_resolve(plan->spec, &f, &set)) return (void)CHECK_MSG(0, "%s", sg_last_error());
    CHECK(set.nodes == 2 && set.ntasks_per_node == 2 && set.cpus_per_task == 8 && !set.array);
    CHECK(set.groups == 4 && set.group_size == 1 && set.ntasks == 4);
    CHECK(set.time_secs == 86400 && set.signal_secs == 300);
    if (sg_submit_build(plan, &set, &PATHS, &b)) {
        sg_submit_settings_free(&set);
        return (void)CHECK_MSG(0, "%s", sg_last_error());
    }
    CHECK(b.nscripts == 1 && !strcmp(b.scripts[0].path, "results/subtest/slurm/sweep.sbatch"));
    CHECK(!strcmp(b.scripts[0].role, "sweep") && b.scripts[0].nafter == 0);
    check_lines("MPI script", b.scripts[0].text, MPI_SCRIPT);
    char args[256];
    CHECK(sg_submit_sbatch_args(&b, 0, NULL, args, sizeof args) == 0 && !strcmp(args, "--parsable"));

    /* the dry run: a summary, then per job its path, its sbatch command and the script */
    char *out = NULL;
    size_t len = 0;
    FILE *f_out = open_memstream(&out, &len);
    CHECK(sg_submit_print(&b, f_out) == 0);
    fclose(f_out);
    const char *head[] = {"# 12 runs as one MPI job (sbatch, then srun over all its tasks)",
                          "# ---- job 1: results/subtest/slurm/sweep.sbatch",
                          "# submit: sbatch --parsable results/subtest/slurm/sweep.sbatch", NULL};
    const char *p = out;
    for (int i = 0; head[i]; i++) {
        CHECK_MSG(!strncmp(p, head[i], strlen(head[i])) && p[strlen(head[i])] == '\n', "dry run line %d: %.100s", i + 1, p);
        p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p);
    }
    check_lines("dry run script", p, MPI_SCRIPT);
    free(out);
    sg_submit_batch_free(&b);
    sg_submit_settings_free(&set);
}

static void test_array_form(const sg_plan *plan) {
    sg_submit_flags f = no_flags();
    f.array = 1;
    f.slices = 5;
    f.max_array_size = 2;
    f.array_throttle = 1;
    f.time = "30";
    sg_submit_settings set;
    sg_submit_batch b;
    if (sg_submit_settings_resolve(plan->spec, &f, &set)) return (void)CHECK_MSG(0, "%s", sg_last_error());
    CHECK(set.time_secs == 1800 && set.signal_secs == 180); /* a tenth of the limit */
    if (sg_submit_build(plan, &set, &PATHS, &b)) {
        sg_submit_settings_free(&set);
        return (void)CHECK_MSG(0, "%s", sg_last_error());
    }
    CHECK(b.nscripts == 4 && b.narrays == 3 && b.nslices == 5 && b.groups == 6);
    if (b.nscripts == 4) {
        CHECK(!strcmp(b.scripts[0].path, "results/subtest/slurm/array-1.sbatch"));
        CHECK(!strcmp(b.scripts[2].path, "results/subtest/slurm/array-3.sbatch"));
        CHECK(!strcmp(b.scripts[3].path, "results/subtest/slurm/merge.sbatch") && !strcmp(b.scripts[3].role, "merge"));
        CHECK(b.scripts[0].first_slice == 1 && b.scripts[0].nslices == 2);
        CHECK(b.scripts[1].first_slice == 3 && b.scripts[1].nslices == 2);
        CHECK(b.scripts[2].first_slice == 5 && b.scripts[2].nslices == 1);
        CHECK(strstr(b.scripts[0].text, "\n#SBATCH --array=0-1%1\n") && strstr(b.scripts[0].text, "slice=$((SLURM_ARRAY_TASK_ID + 1))\n"));
        CHECK(strstr(b.scripts[2].text, "\n#SBATCH --array=0-0%1\n") && strstr(b.scripts[2].text, "slice=$((SLURM_ARRAY_TASK_ID + 5))\n"));
        check_lines("array 2 of 3", b.scripts[1].text, ARRAY2_SCRIPT);
        check_lines("merge script", b.scripts[3].text, MERGE_SCRIPT);
        /* throttled: one array after the other; the merge after all of them */
        char *ids[4] = {"101", "102", "103", NULL}, args[256];
        CHECK(sg_submit_sbatch_args(&b, 0, ids, args, sizeof args) == 0 && !strcmp(args, "--parsable"));
        CHECK(sg_submit_sbatch_args(&b, 1, ids, args, sizeof args) == 0 && !strcmp(args, "--parsable --dependency=afterany:101"));
        CHECK(sg_submit_sbatch_args(&b, 2, ids, args, sizeof args) == 0 && !strcmp(args, "--parsable --dependency=afterany:102"));
        CHECK(sg_submit_sbatch_args(&b, 3, ids, args, sizeof args) == 0 &&
              !strcmp(args, "--parsable --dependency=afterany:101:102:103"));
        CHECK(sg_submit_sbatch_args(&b, 3, NULL, args, sizeof args) == 0 &&
              !strcmp(args, "--parsable --dependency=afterany:<job 1>:<job 2>:<job 3>"));
    }
    char *out = NULL;
    size_t len = 0;
    FILE *fo = open_memstream(&out, &len);
    CHECK(sg_submit_print(&b, fo) == 0);
    fclose(fo);
    const char *summary = "# 12 runs in 5 slices (of 6 dependency groups) as 3 job arrays, then a merge job\n";
    CHECK_MSG(!strncmp(out, summary, strlen(summary)), "%.100s", out);
    CHECK(strstr(out, "\n# ---- job 4: results/subtest/slurm/merge.sbatch\n"
                      "# submit: sbatch --parsable --dependency=afterany:<job 1>:<job 2>:<job 3> results/subtest/slurm/merge.sbatch\n"
                      "#!/bin/bash\n") != NULL);
    free(out);
    sg_submit_batch_free(&b);

    /* unthrottled arrays are independent; more slices than groups become one per group */
    set.array_throttle = 0;
    set.slices = 50;
    set.max_array_size = 1001;
    if (sg_submit_build(plan, &set, &PATHS, &b) == 0) {
        CHECK(b.nscripts == 2 && b.nslices == 6 && b.narrays == 1);
        CHECK(!strcmp(b.scripts[0].path, "results/subtest/slurm/array.sbatch") && b.scripts[0].nafter == 0);
        CHECK(strstr(b.scripts[0].text, "\n#SBATCH --array=0-5\n") != NULL);
        sg_submit_batch_free(&b);
    } else {
        CHECK_MSG(0, "%s", sg_last_error());
    }
    sg_submit_settings_free(&set);
}

static void expect_settings_error(const char *slurm_section, const sg_submit_flags *f, const char *needle) {
    char text[2048];
    snprintf(text, sizeof text,
             "name: e\nmodel: builtin:tiny\ndata_dir: d\ntasks: [sst2]\nseeds: [1]\nvariants: {b: {transform: none}}\n"
             "pipeline: [finetune]\nslurm: %s\n",
             slurm_section);
    sg_jobspec s;
    sg_submit_settings set;
    int rc = sg_jobspec_parse(text, strlen(text), "jobs/e.yaml", &s);
    if (rc == 0) {
        rc = sg_submit_settings_resolve(&s, f, &set);
        if (rc == 0) sg_submit_settings_free(&set);
        sg_jobspec_free(&s);
    }
    CHECK_MSG(rc != 0 && strstr(sg_last_error(), needle), "slurm: %s: expected an error with '%s', got '%s'", slurm_section,
              needle, rc ? sg_last_error() : "no error");
}

static void test_settings_errors(void) {
    sg_submit_flags f = no_flags();
    expect_settings_error("{nodez: 2}", &f, "jobs/e.yaml:8: key 'slurm.nodez': unknown key (expected nodes,");
    expect_settings_error("{nodes: two}", &f, "jobs/e.yaml: key 'slurm.nodes': expected an integer >= 1, not two");
    expect_settings_error("{nodes: 0}", &f, "key 'slurm.nodes': expected an integer >= 1");
    expect_settings_error("{time: 1:2:3:4}", &f, "key 'slurm.time': '1:2:3:4': expected MM, MM:SS");
    expect_settings_error("{time: 10, signal: 600}", &f, "signal 600 s: must come before the time limit 10 (600 s)");
    expect_settings_error("{partition: \"a b\"}", &f, "key 'slurm.partition': 'a b' has spaces");
    expect_settings_error("{sbatch: [\"mem=4G\"]}", &f, "key 'slurm.sbatch[0]': 'mem=4G' is not an sbatch option");
    expect_settings_error("{array: yes}", &f, "key 'slurm.array': expected true or false");
    expect_settings_error("{exclusive: 1}", &f, "key 'slurm.exclusive': expected true or false");
    f.time = "soon";
    expect_settings_error("{}", &f, "--time 'soon': expected");
}

/* parallel: {dp, tp}: ntasks = groups x dp x tp, nodes from ntasks_per_node (issue #16 item 3) */
static int sized(const char *parallel, const char *slurm, const sg_submit_flags *f, sg_submit_settings *set) {
    char text[1024];
    snprintf(text, sizeof text,
             "name: g\nmodel: builtin:tiny\ndata_dir: d\ntasks: [sst2]\nseeds: [1]\nvariants: {b: {transform: none}}\n"
             "pipeline: [finetune]\ntrain: {batch_size: 16}\nparallel: %s\nslurm: %s\n", parallel, slurm);
    sg_jobspec s;
    if (sg_jobspec_parse(text, strlen(text), "jobs/g.yaml", &s)) return CHECK_MSG(0, "%s", sg_last_error()), -1;
    int rc = sg_submit_settings_resolve(&s, f, set);
    sg_jobspec_free(&s);
    return rc;
}

static void test_run_group_sizing(void) {
    sg_submit_flags f = no_flags();
    sg_submit_settings set;
    /* 3 groups of dp 2 x tp 2 at 4 per node: 12 tasks on 3 nodes (a group may span two) */
    if (sized("{dp: 2, tp: 2}", "{groups: 3, ntasks_per_node: 4}", &f, &set) == 0) {
        CHECK_MSG(set.group_size == 4 && set.groups == 3 && set.ntasks == 12 && set.nodes == 3, "%d %d %d %d", set.group_size, set.groups,
                  set.ntasks, set.nodes);
        sg_submit_settings_free(&set);
    } else CHECK_MSG(0, "%s", sg_last_error());
    /* 3 groups of 2 at 4 per node: 6 tasks, 2 nodes (the second group spans them) */
    f.groups = 3;
    if (sized("{dp: 2}", "{groups: 1, ntasks_per_node: 4}", &f, &set) == 0) { /* the flag wins */
        CHECK(set.group_size == 2 && set.groups == 3 && set.ntasks == 6 && set.nodes == 2);
        sg_submit_settings_free(&set);
    } else CHECK_MSG(0, "%s", sg_last_error());
    f.groups = 0;
    /* no groups: as many as the given nodes hold (2 x 3 = 6 slots -> 1 group of 4) */
    if (sized("{dp: 4}", "{nodes: 2, ntasks_per_node: 3}", &f, &set) == 0) {
        CHECK(set.groups == 1 && set.ntasks == 4 && set.nodes == 2);
        sg_submit_settings_free(&set);
    } else CHECK_MSG(0, "%s", sg_last_error());
    /* no nodes: as many groups as one node's tasks hold (what the allocation was without groups) */
    if (sized("{dp: 2}", "{ntasks_per_node: 5}", &f, &set) == 0) {
        CHECK(set.groups == 2 && set.ntasks == 4 && set.nodes == 1);
        sg_submit_settings_free(&set);
    } else CHECK_MSG(0, "%s", sg_last_error());
    /* neither: one group, nodes from the default 1 task per node */
    if (sized("{tp: 2}", "{}", &f, &set) == 0) {
        CHECK(set.groups == 1 && set.ntasks == 2 && set.nodes == 2 && set.ntasks_per_node == 1);
        sg_submit_settings_free(&set);
    } else CHECK_MSG(0, "%s", sg_last_error());
    /* the script asks for the tasks; the dry run says how they are used */
    sg_jobspec s;
    sg_plan p;
    const char *text = "name: g\nmodel: builtin:tiny\ndata_dir: d\ntasks: [sst2]\nseeds: [1]\nvariants: {b: {transform: none}}\n"
                       "pipeline: [finetune]\nparallel: {dp: 2}\nslurm: {groups: 3, ntasks_per_node: 4}\n";
    if (load(text, &s, &p) == 0) {
        sg_submit_batch b;
        if (sg_submit_settings_resolve(&s, &f, &set) == 0 && sg_submit_build(&p, &set, &PATHS, &b) == 0) {
            CHECK(strstr(b.scripts[0].text, "\n#SBATCH --nodes=2\n#SBATCH --ntasks=6\n#SBATCH --ntasks-per-node=4\n") != NULL);
            char *out = NULL;
            size_t len = 0;
            FILE *fo = open_memstream(&out, &len);
            CHECK(sg_submit_print(&b, fo) == 0);
            fclose(fo);
            CHECK_MSG(strstr(out, "\n# 6 tasks: 3 run groups of 2 ranks in flight") != NULL, "%.200s", out);
            free(out);
            sg_submit_batch_free(&b);
            sg_submit_settings_free(&set);
        } else CHECK_MSG(0, "%s", sg_last_error());
        sg_plan_free(&p);
        sg_jobspec_free(&s);
    }
    /* given nodes that cannot hold the groups: refused naming both */
    CHECK(sized("{dp: 2, tp: 2}", "{nodes: 1, ntasks_per_node: 2}", &f, &set) == -1 &&
          strstr(sg_last_error(), "jobs/g.yaml: slurm.nodes 1 x ntasks_per_node 2 = 2 tasks cannot hold one run group of dp 2 x tp 2 = 4 ranks"));
    CHECK(sized("{dp: 2}", "{nodes: 1, ntasks_per_node: 4, groups: 3}", &f, &set) == -1 &&
          strstr(sg_last_error(), "slurm.groups 3 x dp 2 x tp 1 = 6 tasks do not fit slurm.nodes 1 x ntasks_per_node 4 (give 2 nodes, or drop slurm.nodes)"));
    f.nodes = 1;
    CHECK(sized("{dp: 2}", "{ntasks_per_node: 4, groups: 3}", &f, &set) == -1 && strstr(sg_last_error(), "do not fit --nodes 1"));
    f.nodes = 0;
    CHECK(sized("{dp: 2}", "{groups: 0}", &f, &set) == -1 && strstr(sg_last_error(), "key 'slurm.groups': expected an integer >= 1"));
}

static void test_time(void) {
    long s;
    struct {
        const char *text;
        long secs;
    } ok[] = {{"30", 1800},          {"5:30", 330},          {"01:00:00", 3600}, {"2-12", 216000},
              {"1-00:30", 88200},    {"1-02:03:04", 93784},  {"UNLIMITED", 0}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        CHECK_MSG(sg_slurm_time_seconds(ok[i].text, &s) == 0 && s == ok[i].secs, "%s -> %ld", ok[i].text, s);
    const char *bad[] = {"", "x", "1:", "-5", "1-", "1:2:3:4", "0", "1-2-3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) CHECK_MSG(sg_slurm_time_seconds(bad[i], &s) != 0, "'%s' accepted", bad[i]);
}

static void test_slices(const sg_plan *plan) {
    CHECK(sg_plan_groups(plan) == 6);
    int slice_of[12], again[12];
    for (int n = 1; n <= 6; n++) {
        CHECK(sg_plan_slice_map(plan, n, slice_of) == 0);
        CHECK(sg_plan_slice_map(plan, n, again) == 0 && !memcmp(slice_of, again, sizeof again)); /* deterministic */
        int count[6] = {0};
        for (int i = 0; i < plan->nruns; i++) {
            CHECK(slice_of[i] >= 0 && slice_of[i] < n);
            if (plan->runs[i].dep >= 0) CHECK_MSG(slice_of[i] == slice_of[plan->runs[i].dep], "run %d apart from its dependency", i);
            count[slice_of[i]]++;
        }
        for (int k = 0; k < n; k++) CHECK_MSG(count[k] > 0, "%d slices: slice %d empty", n, k + 1); /* 6 equal groups */
    }
    /* cutting: slices 1..3 of 3 hold every run once, with their dependencies */
    int seen = 0, total = 0;
    for (int k = 1; k <= 3; k++) {
        sg_plan p;
        sg_jobspec s;
        if (load(SPEC, &s, &p)) return;
        CHECK(sg_plan_slice(&p, k, 3) == 0);
        CHECK(p.nruns > 0 && p.nruns % 2 == 0 && p.ndeps == p.nruns / 2);
        total += p.nruns;
        for (int i = 0; i < p.nruns; i++) {
            if (p.runs[i].dep >= 0) CHECK(p.runs[i].dep < p.nruns && !strcmp(p.runs[p.runs[i].dep].variant_name, "base"));
            for (int j = 0; j < plan->nruns; j++)
                if (!strcmp(plan->runs[j].id, p.runs[i].id)) seen |= 1 << j;
        }
        /* the order stays topological */
        for (int a = 0; a < p.nruns; a++)
            if (p.runs[p.order[a]].dep >= 0) {
                int before = 0;
                for (int b = 0; b < a; b++) before |= p.order[b] == p.runs[p.order[a]].dep;
                CHECK(before);
            }
        sg_plan_free(&p);
        sg_jobspec_free(&s);
    }
    CHECK(seen == (1 << 12) - 1 && total == 12);
    sg_plan p;
    sg_jobspec s;
    if (load(SPEC, &s, &p)) return;
    CHECK(sg_plan_slice(&p, 1, 7) != 0 && strstr(sg_last_error(), "only 6 dependency groups"));
    CHECK(sg_plan_slice(&p, 0, 3) != 0 && sg_plan_slice(&p, 4, 3) != 0);
    sg_plan_free(&p);
    sg_jobspec_free(&s);
    if (load(SPEC, &s, &p) == 0) { /* what `sweep --slice 2/3` keeps */
        int want = 0;
        sg_plan_slice_map(plan, 3, slice_of);
        for (int i = 0; i < plan->nruns; i++) want += slice_of[i] == 1;
        CHECK(sg_plan_slice(&p, 2, 3) == 0 && p.nruns == want);
        sg_plan_free(&p);
        sg_jobspec_free(&s);
    }
}

static void test_templates_match_files(void) {
    const char *src = getenv("SG_SOURCE_DIR");
    if (!src) src = ".";
    struct {
        const char *file, *text;
    } t[] = {{"slurm/sweep_mpi.sbatch.in", sg_slurm_template_mpi},
             {"slurm/sweep_array.sbatch.in", sg_slurm_template_array},
             {"slurm/merge.sbatch.in", sg_slurm_template_merge}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", src, t[i].file);
        size_t len;
        char *text = sg_read_file(path, 1 << 20, &len);
        CHECK_MSG(text && !strcmp(text, t[i].text), "%s differs from the text compiled into the binary (cmake/slurm_templates.cmake)", path);
        free(text);
    }
}

static void test_record(const sg_plan *plan) {
    const char *tmp = sg_test_tmpdir();
    sg_submit_paths paths = {"jobs/sub.yaml", tmp, "/x/spikeglue", "/w"};
    sg_submit_flags f = no_flags();
    f.array = 1;
    f.max_array_size = 4;
    sg_submit_settings set;
    sg_submit_batch b;
    if (sg_submit_settings_resolve(plan->spec, &f, &set) || sg_submit_build(plan, &set, &paths, &b))
        return (void)CHECK_MSG(0, "%s", sg_last_error());
    CHECK(sg_mkdirs(b.sweep_dir) == 0);
    char *ids[3] = {"7", "8", "9"};
    CHECK(b.nscripts == 3);
    CHECK(sg_submit_record(&b, "jobs/sub.yaml", ids) == 0);
    CHECK(sg_submit_record(&b, "jobs/sub.yaml", ids) == 0); /* appended */
    char path[4200];
    snprintf(path, sizeof path, "%s/slurm_jobs.json", b.sweep_dir);
    size_t len;
    char *text = sg_read_file(path, 1 << 20, &len);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    cJSON *subs = root ? cJSON_GetObjectItem(root, "submissions") : NULL;
    CHECK(cJSON_GetArraySize(subs) == 2);
    cJSON *jobs = cJSON_GetObjectItem(cJSON_GetArrayItem(subs, 1), "jobs");
    CHECK(cJSON_GetArraySize(jobs) == 3);
    cJSON *j1 = cJSON_GetArrayItem(jobs, 1);
    CHECK(j1 && !strcmp(cJSON_GetObjectItem(j1, "id")->valuestring, "8") && !strcmp(cJSON_GetObjectItem(j1, "role")->valuestring, "array"));
    CHECK(j1 && !strcmp(cJSON_GetObjectItem(j1, "slices")->valuestring, "5-6"));
    cJSON_Delete(root);
    free(text);
    /* a journal with a torn last line reads without it; a missing one reads as empty */
    snprintf(path, sizeof path, "%s/results.jsonl", b.sweep_dir);
    const char *journal = "{\"id\":\"0123456789abcdef\",\"status\":\"failed\",\"task\":\"sst2\",\"variant\":\"b\",\"seed\":1,\"attempts\":1}\n"
                          "{\"id\":\"0123456789abcdef\",\"status\":\"finished\",\"task\":\"sst2\",\"variant\":\"b\",\"seed\":1,\"attempts\":1}\n"
                          "{\"id\":\"fedcba98765";
    CHECK(sg_write_file_atomic(path, journal, strlen(journal)) == 0);
    sg_run_record *recs;
    int n;
    CHECK(sg_journal_read(path, &recs, &n) == 0 && n == 1);
    if (n == 1) CHECK(recs[0].status == SG_RUN_FINISHED && recs[0].attempts == 2);
    sg_run_records_free(recs, n);
    snprintf(path, sizeof path, "%s/none.jsonl", b.sweep_dir);
    CHECK(sg_journal_read(path, &recs, &n) == 0 && n == 0);
    sg_submit_batch_free(&b);
    sg_submit_settings_free(&set);
    sg_remove_tree(tmp);
}

int main(void) {
    sg_jobspec spec;
    sg_plan plan;
    if (load(SPEC, &spec, &plan) == 0) {
        CHECK(plan.nruns == 12);
        test_mpi_form(&plan);
        test_array_form(&plan);
        test_slices(&plan);
        test_record(&plan);
        sg_plan_free(&plan);
        sg_jobspec_free(&spec);
    }
    test_settings_errors();
    test_run_group_sizing();
    test_time();
    test_templates_match_files();
    return sg_test_done();
}
