/* spikeglue merge JOB.yaml [--results DIR] [--slices N]: join the slices of an array sweep into
 * results/<name>/results.h5 and its leaderboard (sched/merge.h). The merge job of
 * `spikeglue submit --array` runs this. Exit code 0 when every run of the plan finished, 3 when
 * some failed or are missing, 2 for bad flags or spec, 1 on other errors. */
#include "core/error.h"
#include "core/flags.h"
#include "sched/commands.h"
#include "sched/merge.h"

#include <stdio.h>
#include <string.h>

int sg_cmd_merge(int argc, char **argv) {
    const char *results = "results";
    int nslices = 0;
    sg_flag flags[] = {
        {"results", SG_FLAG_STRING, &results, "the results root the sweep used (<root>/<name>/slices/K/)", 0},
        {"slices", SG_FLAG_INT, &nslices, "the slices expected (1..N); default: every slice directory found", 0},
    };
    const char *usage = "JOB.yaml [--results DIR] [--slices N]";
    char *pos[1];
    int npos = 0;
    int rc = sg_flags_parse("merge", usage, flags, (int)(sizeof flags / sizeof flags[0]), argc, argv, pos, 1, &npos);
    if (rc) return rc > 0 ? 0 : (sg_print_error(), 2);
    if (npos != 1) return sg_fail("merge: expected one job spec (usage: spikeglue merge %s)", usage), sg_print_error(), 2;
    if (nslices < 0) return sg_fail("merge: --slices %d: expected N >= 1", nslices), sg_print_error(), 2;
    sg_jobspec spec;
    sg_plan plan;
    memset(&plan, 0, sizeof plan);
    if (sg_jobspec_load(pos[0], &spec) || sg_plan_build(&spec, SG_PLAN_VERSION, &plan)) {
        sg_print_error();
        sg_jobspec_free(&spec);
        return 2;
    }
    sg_merge_summary sum;
    int status = 0;
    if (sg_merge_slices(&plan, results, nslices, &sum)) {
        sg_print_error();
        status = 1;
    } else {
        printf("merge %s: %d slice%s read; %d record%s committed, %d already there; %d of %d runs finished, %d failed, "
               "%d missing\n",
               spec.name, sum.slices_found, sum.slices_found == 1 ? "" : "s", sum.committed, sum.committed == 1 ? "" : "s",
               sum.unchanged, sum.finished, plan.nruns, sum.failed, sum.missing);
        if (sum.slices_missing) printf("note: %d slice%s had no results (did the array task start?)\n", sum.slices_missing, sum.slices_missing == 1 ? "" : "s");
        if (sum.foreign) printf("note: %d record%s of runs not in the plan left out\n", sum.foreign, sum.foreign == 1 ? "" : "s");
        if (sum.leaderboard_note[0]) printf("%s\n", sum.leaderboard_note);
        printf("results: %s/%s/results.h5, leaderboard: %s/%s/leaderboard.md (.csv)\n", results, spec.name, results, spec.name);
        status = sum.failed || sum.missing ? 3 : 0;
    }
    sg_plan_free(&plan);
    sg_jobspec_free(&spec);
    return status;
}
