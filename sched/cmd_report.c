/* spikeglue report RESULTS [--format md|csv|json] [--by task|variant] [--baseline NAME] [--out DIR]
 * RESULTS is a sweep's results.h5 or its directory. Prints the leaderboards (sched/report.h);
 * --out also writes leaderboard.md, leaderboard.csv and the gnuplot plots into DIR.
 * Exit code 0, 2 for bad flags, 1 on failure. */
#include "core/error.h"
#include "core/flags.h"
#include "sched/commands.h"
#include "sched/report.h"

#include <stdio.h>
#include <string.h>

int sg_cmd_report(int argc, char **argv) {
    const char *format = "md", *by = "task", *baseline = NULL, *out = NULL;
    sg_flag flags[] = {
        {"format", SG_FLAG_STRING, &format, "md (GitHub tables) | csv (one header + rows) | json", 0},
        {"by", SG_FLAG_STRING, &by, "task (one table per task) | variant (one table per variant)", 0},
        {"baseline", SG_FLAG_STRING, &baseline, "the variant gaps are measured to (default: detected, e.g. 'baseline')", 0},
        {"out", SG_FLAG_STRING, &out, "also write leaderboard.md, leaderboard.csv and plots (gnuplot) into DIR", 0},
    };
    const char *usage = "RESULTS.h5|SWEEP_DIR [--format md|csv|json] [--by task|variant] [--baseline NAME] [--out DIR]";
    char *pos[2];
    int npos = 0;
    int rc = sg_flags_parse("report", usage, flags, (int)(sizeof flags / sizeof flags[0]), argc, argv, pos, 2, &npos);
    if (rc) return rc > 0 ? 0 : (sg_print_error(), 2);
    if (npos != 1) return sg_fail("report: expected one results file or sweep directory (usage: spikeglue report %s)", usage),
                          sg_print_error(), 2;
    sg_report_format fmt;
    if (!strcmp(format, "md")) fmt = SG_REPORT_MD;
    else if (!strcmp(format, "csv")) fmt = SG_REPORT_CSV;
    else if (!strcmp(format, "json")) fmt = SG_REPORT_JSON;
    else return sg_fail("report: --format %s: expected md, csv or json", format), sg_print_error(), 2;
    sg_report_by grouping;
    if (!strcmp(by, "task")) grouping = SG_REPORT_BY_TASK;
    else if (!strcmp(by, "variant")) grouping = SG_REPORT_BY_VARIANT;
    else return sg_fail("report: --by %s: expected task or variant", by), sg_print_error(), 2;

    sg_report r;
    if (sg_report_load(pos[0], baseline, &r)) return sg_print_error(), 1;
    rc = sg_report_print(&r, fmt, grouping, stdout);
    if (!rc && out) {
        char note[4600];
        rc = sg_report_write_dir(&r, out, note, sizeof note);
        if (!rc) fprintf(stderr, "spikeglue: wrote %s/leaderboard.md and leaderboard.csv%s%s\n", out, *note ? "; " : "", note);
    }
    sg_report_free(&r);
    if (rc) return sg_print_error(), 1;
    return 0;
}
