#include "sched/merge.h"

#include "core/error.h"
#include "core/fileio.h"
#include "sched/report.h"
#include "sched/results_store.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOURNAL_MAX ((size_t)1 << 31)

static int find_rec(const sg_run_record *recs, int n, const char *id) {
    for (int i = 0; i < n; i++)
        if (!strcmp(recs[i].id, id)) return i;
    return -1;
}

int sg_journal_read(const char *path, sg_run_record **out, int *nout) {
    *out = NULL;
    *nout = 0;
    if (!sg_is_file(path)) return 0;
    size_t size;
    char *buf = sg_read_file(path, JOURNAL_MAX, &size);
    if (!buf) return -1;
    sg_run_record *recs = NULL;
    int n = 0, cap = 0, line = 0, rc = 0;
    for (size_t pos = 0; pos < size && !rc;) {
        char *nl = memchr(buf + pos, '\n', size - pos);
        line++;
        if (!nl) break; /* torn tail */
        *nl = '\0';
        char *text = buf + pos;
        int last = (size_t)(nl - buf) + 1 >= size;
        pos = (size_t)(nl - buf) + 1;
        if (!*text) continue;
        char where[4200];
        snprintf(where, sizeof where, "%s:%d", path, line);
        cJSON *o = cJSON_Parse(text);
        sg_run_record rec;
        sg_run_record_init(&rec);
        if (!o || sg_run_record_from_json(o, &rec, where)) {
            cJSON_Delete(o);
            sg_run_record_free(&rec);
            if (last) break; /* a torn write that happened to end in a newline */
            rc = sg_last_error()[0] && o ? -1 : sg_fail("%s: not a JSON record", where);
            break;
        }
        cJSON_Delete(o);
        int k = find_rec(recs, n, rec.id);
        if (k >= 0) { /* a retry replaces the record; attempts count on, as in the store */
            int attempts = recs[k].attempts + 1 > rec.attempts ? recs[k].attempts + 1 : rec.attempts;
            sg_run_record_free(&recs[k]);
            recs[k] = rec;
            recs[k].attempts = attempts;
            continue;
        }
        if (n == cap) {
            int ncap = cap ? cap * 2 : 64;
            sg_run_record *p = realloc(recs, (size_t)ncap * sizeof *p);
            if (!p) {
                sg_run_record_free(&rec);
                rc = sg_fail("out of memory");
                break;
            }
            recs = p;
            cap = ncap;
        }
        recs[n++] = rec;
    }
    free(buf);
    if (rc) {
        sg_run_records_free(recs, n);
        return -1;
    }
    *out = recs;
    *nout = n;
    return 0;
}

/* The better of two records of one run: finished over not, then the later end. */
static int better(const sg_run_record *a, const sg_run_record *b) {
    int fa = a->status == SG_RUN_FINISHED, fb = b->status == SG_RUN_FINISHED;
    if (fa != fb) return fa;
    return a->end_time > b->end_time;
}

static int cmp_int(const void *a, const void *b) { return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b); }

/* Numbered slice directories under dir, sorted. */
static int list_slices(const char *dir, int **out, int *n) {
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    int cap = 0, rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        int k, used = 0;
        if (sscanf(e->d_name, "%d%n", &k, &used) != 1 || e->d_name[used] || k < 1) continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            int *p = realloc(*out, (size_t)cap * sizeof *p);
            if (!p) {
                rc = sg_fail("out of memory");
                break;
            }
            *out = p;
        }
        (*out)[(*n)++] = k;
    }
    closedir(d);
    if (!rc && *n) qsort(*out, (size_t)*n, sizeof **out, cmp_int);
    return rc;
}

static int write_plan(const sg_plan *plan, const char *sweep_dir) {
    cJSON *j = sg_plan_to_json(plan);
    char *text = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    if (!text) return sg_fail("out of memory");
    char path[4200];
    snprintf(path, sizeof path, "%s/plan.json", sweep_dir);
    int rc = sg_write_file_atomic(path, text, strlen(text));
    free(text);
    return rc;
}

int sg_merge_slices(const sg_plan *plan, const char *results_root, int nslices, sg_merge_summary *sum) {
    memset(sum, 0, sizeof *sum);
    const char *name = plan->spec->name;
    char sweep_dir[4096], slices_dir[4200], journal[8600];
    if (snprintf(sweep_dir, sizeof sweep_dir, "%s/%s", results_root, name) >= (int)sizeof sweep_dir)
        return sg_fail("%s: path too long", results_root);
    snprintf(slices_dir, sizeof slices_dir, "%s/slices", sweep_dir);
    int *ks = NULL, nks = 0;
    if (nslices > 0) {
        ks = malloc((size_t)nslices * sizeof *ks);
        if (!ks) return sg_fail("out of memory");
        for (int k = 0; k < nslices; k++) ks[nks++] = k + 1;
    } else if (list_slices(slices_dir, &ks, &nks)) {
        return -1;
    }
    /* the best record per plan run over all slices */
    sg_run_record *best = calloc((size_t)plan->nruns + 1, sizeof *best);
    char *have = calloc((size_t)plan->nruns + 1, 1);
    int rc = best && have ? 0 : sg_fail("out of memory");
    for (int i = 0; i < plan->nruns && best; i++) sg_run_record_init(&best[i]);
    for (int s = 0; s < nks && !rc; s++) {
        snprintf(journal, sizeof journal, "%s/%d/%s/%s", slices_dir, ks[s], name, SG_STORE_JOURNAL);
        if (!sg_is_file(journal)) {
            sum->slices_missing++;
            continue;
        }
        sg_run_record *recs;
        int n;
        if (sg_journal_read(journal, &recs, &n)) {
            rc = -1;
            break;
        }
        sum->slices_found++;
        for (int r = 0; r < n && !rc; r++) {
            int i = 0;
            while (i < plan->nruns && strcmp(plan->runs[i].id, recs[r].id)) i++;
            if (i == plan->nruns) {
                sum->foreign++;
                continue;
            }
            if (have[i] && !better(&recs[r], &best[i])) continue;
            sg_run_record_free(&best[i]);
            if (sg_run_record_copy(&best[i], &recs[r])) rc = -1;
            have[i] = 1;
        }
        sg_run_records_free(recs, n);
    }
    if (!rc && sum->slices_found == 0)
        rc = sg_fail("%s: no slice results (expected %s/<K>/%s/%s; did the array tasks run?)", slices_dir, slices_dir, name,
                     SG_STORE_JOURNAL);
    sg_store store;
    memset(&store, 0, sizeof store);
    store.journal_fd = -1;
    int opened = 0;
    if (!rc && !(rc = sg_mkdirs(sweep_dir)) && !(rc = sg_store_open(sweep_dir, &store))) opened = 1;
    for (int k = 0; k < plan->nruns && !rc; k++) { /* in execution order, as a sweep commits */
        int i = plan->order[k];
        if (!have[i]) continue;
        const sg_run_record *old = sg_store_get(&store, best[i].id);
        if (old && sg_run_record_equal(old, &best[i], NULL)) {
            sum->unchanged++;
            continue;
        }
        if (old && old->status == SG_RUN_FINISHED && best[i].status != SG_RUN_FINISHED) {
            sum->unchanged++; /* never replace a finished result by a failed retry */
            continue;
        }
        if (sg_store_commit(&store, &best[i])) rc = -1;
        else sum->committed++;
    }
    for (int i = 0; i < plan->nruns && opened && !rc; i++) {
        sg_run_status st = sg_store_finished(&store, plan->runs[i].id);
        if (st == SG_RUN_FINISHED) sum->finished++;
        else if (st == SG_RUN_NONE) sum->missing++;
        else sum->failed++;
    }
    int count = opened ? sg_store_count(&store) : 0;
    if (opened) sg_store_close(&store);
    if (!rc) rc = write_plan(plan, sweep_dir);
    if (!rc && count > 0) {
        const char *baseline = NULL; /* the variant without a transform, as the sweep picks it */
        for (int v = 0; v < plan->spec->nvariants && !baseline; v++)
            if (!plan->spec->variants[v].transform) baseline = plan->spec->variants[v].name;
        char h5[4200];
        snprintf(h5, sizeof h5, "%s/%s", sweep_dir, SG_STORE_H5);
        rc = sg_report_write_files(h5, sweep_dir, baseline, sum->leaderboard_note, sizeof sum->leaderboard_note);
    }
    for (int i = 0; i < plan->nruns && best; i++) sg_run_record_free(&best[i]);
    free(best);
    free(have);
    free(ks);
    return rc;
}
