/* `spikeglue merge`: the slices of a sweep run as a job array (`spikeglue sweep --slice K/N
 * --results <sweep>/slices/K`, see sched/submit.h) joined into the sweep's own results store
 * (<results>/<name>/results.jsonl + results.h5) and leaderboard, as if one sweep had run them.
 *
 * Per run of the plan the slice record wins that finished (else the one that ended last); a run
 * in no slice is missing. Records already in the store unchanged are not committed again, so a
 * merge can be repeated (after a requeued slice finished more runs) without counting attempts
 * twice. Records of runs the plan does not hold (another version of the spec) are left out. */
#ifndef SG_SCHED_MERGE_H
#define SG_SCHED_MERGE_H

#include "sched/plan.h"
#include "sched/run_record.h"

/* Read a results journal without locking or changing it: the latest record per id, in
 * first-seen order; a torn last line (a writer killed mid-append) is skipped. A missing file
 * gives no records. 0, or -1 naming the file and line. */
int sg_journal_read(const char *path, sg_run_record **recs, int *n);

typedef struct {
    int slices_found;    /* slice journals read */
    int slices_missing;  /* of 1..nslices, when nslices was given */
    int committed;       /* records written to the store now */
    int unchanged;       /* already there as they are */
    int finished, failed, missing; /* over the plan's runs, after the merge */
    int foreign;         /* slice records of runs not in the plan */
    char leaderboard_note[512];
} sg_merge_summary;

/* Merge <results_root>/<name>/slices/<k>/<name>/results.jsonl (k = 1..nslices, or every
 * numbered directory when nslices is 0) into <results_root>/<name>/, write plan.json and the
 * leaderboard there. 0, or -1 (the store is left consistent: whatever was committed stays). */
int sg_merge_slices(const sg_plan *plan, const char *results_root, int nslices, sg_merge_summary *sum);

#endif
