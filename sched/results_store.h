/* The sweep's results store, written by the coordinator (rank 0) only.
 *
 * results/<sweep>/results.jsonl  the source of truth: one JSON line per committed record,
 *                                appended with write() + fsync(); a torn last line (a crash
 *                                mid-append) is dropped when the store is opened, with a
 *                                warning line on stderr naming the file and line.
 * results/<sweep>/results.jsonl.importing  only while results.h5 is imported into a new journal:
 *                                left by a crash, it makes the next open import again.
 * results/<sweep>/results.h5     the HDF5 view (layout in results/README.md), regenerated from
 *                                the journal after every commit into results.h5.tmp, fsynced and
 *                                rename()d over results.h5, then the directory is fsynced.
 *
 * So a coordinator killed at any moment leaves a results.h5 that opens and holds every record
 * whose commit returned 0, and never a half-written one. A failed commit (disk full, I/O error)
 * is rolled back: the journal is cut back to its previous length and the previous results.h5 is
 * left as it was. A later record with the same id (a retry) replaces the earlier one; its
 * attempts become max(new attempts, earlier attempts + 1).
 *
 * One writer per sweep: the journal is locked (flock) while the store is open. */
#ifndef SG_RESULTS_STORE_H
#define SG_RESULTS_STORE_H

#include "sched/run_record.h"

#include <stddef.h>

#define SG_STORE_JOURNAL "results.jsonl"
#define SG_STORE_H5 "results.h5"

typedef struct {
    char *dir, *sweep;        /* the sweep directory and its name (basename) */
    char *journal_path, *h5_path;
    int journal_fd;
    long long journal_size;   /* bytes of whole lines */
    sg_run_record *recs;      /* latest record per id, in first-commit order */
    int count, cap;
    long long dropped_bytes;  /* torn tail dropped when opening (0 normally) */
    int broken;               /* a failed commit could not be rolled back: refuse further commits */
    int unsynced;             /* journal lines written by sg_store_add, not yet fsynced */
    int h5_stale;             /* results.h5 lacks records that the journal has */
} sg_store;

/* Create DIR (mkdir -p) or resume it: load the journal (or, when only results.h5 is there,
 * import it into a new journal), then regenerate results.h5. Returns 0 or -1 (sg_fail). */
int sg_store_open(const char *dir, sg_store *store);
/* Durable when it returns 0: journal line fsynced, results.h5 replaced, directory fsynced. */
int sg_store_commit(sg_store *store, const sg_run_record *rec);
/* Group commit, for a coordinator that receives many reports at once. sg_store_add writes the
 * record's journal line (not yet durable) and takes it into memory; sg_store_sync makes every
 * added line durable with one fsync (a record is committed once it returns 0); sg_store_refresh_h5
 * regenerates results.h5 when the journal has records it lacks. A failed sync marks the store
 * broken: nothing more is committed, and reopening it reads what the journal really holds. */
int sg_store_add(sg_store *store, const sg_run_record *rec);
int sg_store_sync(sg_store *store);
int sg_store_refresh_h5(sg_store *store);
/* Status of the committed record with this id, SG_RUN_NONE if there is none. */
sg_run_status sg_store_finished(const sg_store *store, const char *id);
const sg_run_record *sg_store_get(const sg_store *store, const char *id);
int sg_store_count(const sg_store *store);
void sg_store_close(sg_store *store);

/* Write records as an HDF5 file, atomically (PATH.tmp, fsync, rename, fsync of the directory).
 * `sweep` goes into the root attributes. Returns 0 or -1; on failure PATH is untouched. */
int sg_store_write_h5(const char *path, const sg_run_record *recs, int n, const char *sweep);
/* Read every /runs/<id> group of a results.h5 into records (sorted by task, variant, seed).
 * Returns 0 or -1 naming the file and the object. */
int sg_store_read_h5(const char *path, sg_run_record **recs, int *n);

#endif
