/* spikeglue status results/<sweep>: progress of a sweep, read-only: runs finished / failed /
 * started / waiting from plan.json and the results journals (the sweep's own and its array
 * slices'), each running run's progress from its heartbeat (runs/<id>/progress.json: phase,
 * step / total, loss, ETA; stale when its process is gone or it stopped beating), and the queue
 * state of the SLURM jobs recorded by `spikeglue submit`. Nothing is
 * locked or written, so it is safe beside a running sweep. Exit code 0, 2 for bad arguments,
 * 1 when the directory holds no sweep. */
#include "core/error.h"
#include "core/fileio.h"
#include "core/flags.h"
#include "sched/commands.h"
#include "sched/heartbeat_view.h"
#include "sched/merge.h"
#include "sched/results_store.h"
#include "sched/runner.h"
#include "sched/slurm.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char id[SG_RUN_ID_LEN + 1];
    sg_run_status status; /* best over the journals */
    double end;
    int started;          /* a run directory exists */
    int slice;            /* where its run directory is: 0 the sweep's own, k > 0 slices/<k>/ */
    char task[16], variant[64];
    long long seed;
} run_state;

typedef struct {
    run_state *runs;
    int n, cap;
} run_table;

static run_state *table_find(run_table *t, const char *id, int add) {
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->runs[i].id, id)) return &t->runs[i];
    if (!add) return NULL;
    if (t->n == t->cap) {
        int cap = t->cap ? t->cap * 2 : 64;
        run_state *p = realloc(t->runs, (size_t)cap * sizeof *p);
        if (!p) return NULL;
        t->runs = p;
        t->cap = cap;
    }
    run_state *r = &t->runs[t->n++];
    memset(r, 0, sizeof *r);
    snprintf(r->id, sizeof r->id, "%s", id);
    return r;
}

/* Run ids of a plan.json; -1 when absent or unreadable. */
static int read_plan(const char *path, run_table *t) {
    size_t len;
    if (!sg_is_file(path)) return -1;
    char *text = sg_read_file(path, 1 << 28, &len);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    free(text);
    const cJSON *runs = root ? cJSON_GetObjectItemCaseSensitive(root, "runs") : NULL;
    int n = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, runs) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "id"), *task = cJSON_GetObjectItemCaseSensitive(r, "task"),
                    *variant = cJSON_GetObjectItemCaseSensitive(r, "variant"), *seed = cJSON_GetObjectItemCaseSensitive(r, "seed");
        run_state *rs = cJSON_IsString(id) ? table_find(t, id->valuestring, 1) : NULL;
        if (!rs) continue;
        n++;
        if (cJSON_IsString(task)) snprintf(rs->task, sizeof rs->task, "%s", task->valuestring);
        if (cJSON_IsString(variant)) snprintf(rs->variant, sizeof rs->variant, "%s", variant->valuestring);
        if (cJSON_IsNumber(seed)) rs->seed = (long long)seed->valuedouble;
    }
    cJSON_Delete(root);
    return runs ? n : -1;
}

/* Adds a journal's records (and marks started runs from <dir>/runs/). Counts into *fin, *fail. */
static int read_journal_dir(const char *dir, int slice, run_table *t, int plan_known, int *fin, int *fail, int *foreign) {
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, SG_STORE_JOURNAL);
    sg_run_record *recs;
    int n;
    if (sg_journal_read(path, &recs, &n)) return -1;
    for (int i = 0; i < n; i++) {
        if (recs[i].status == SG_RUN_FINISHED) (*fin)++;
        else (*fail)++;
        run_state *r = table_find(t, recs[i].id, !plan_known);
        if (!r) {
            (*foreign)++;
            continue;
        }
        if (r->status == SG_RUN_NONE || (recs[i].status == SG_RUN_FINISHED && r->status != SG_RUN_FINISHED) ||
            (recs[i].status == r->status && recs[i].end_time > r->end)) {
            r->status = recs[i].status;
            r->end = recs[i].end_time;
        }
    }
    sg_run_records_free(recs, n);
    snprintf(path, sizeof path, "%s/runs", dir);
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            run_state *r = sg_run_id_valid(e->d_name) ? table_find(t, e->d_name, 0) : NULL;
            if (r && !r->started) {
                r->started = 1;
                r->slice = slice;
            }
        }
        closedir(d);
    }
    return 0;
}

static int cmp_int(const void *a, const void *b) { return (*(const int *)a > *(const int *)b) - (*(const int *)a < *(const int *)b); }

static void print_jobs(const char *sweep_dir) {
    char path[4400];
    snprintf(path, sizeof path, "%s/slurm_jobs.json", sweep_dir);
    if (!sg_is_file(path)) {
        printf("jobs: none recorded (not submitted with `spikeglue submit`)\n");
        return;
    }
    size_t len;
    char *text = sg_read_file(path, 1 << 26, &len);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    free(text);
    const cJSON *subs = root ? cJSON_GetObjectItemCaseSensitive(root, "submissions") : NULL;
    int nsubs = cJSON_IsArray(subs) ? cJSON_GetArraySize(subs) : 0;
    if (nsubs == 0) {
        printf("jobs: %s holds no submissions%s\n", path, root ? "" : " (unreadable)");
        cJSON_Delete(root);
        return;
    }
    const cJSON *last = cJSON_GetArrayItem(subs, nsubs - 1);
    const cJSON *when = cJSON_GetObjectItemCaseSensitive(last, "time"), *form = cJSON_GetObjectItemCaseSensitive(last, "form");
    printf("jobs (%s form, submitted %s%s):\n", cJSON_IsString(form) ? form->valuestring : "?",
           cJSON_IsString(when) ? when->valuestring : "?", nsubs > 1 ? "; earlier submissions in slurm_jobs.json" : "");
    const cJSON *j;
    cJSON_ArrayForEach(j, cJSON_GetObjectItemCaseSensitive(last, "jobs")) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id"), *role = cJSON_GetObjectItemCaseSensitive(j, "role"),
                    *slices = cJSON_GetObjectItemCaseSensitive(j, "slices");
        if (!cJSON_IsString(id)) continue;
        char state[256];
        sg_slurm_job_state(id->valuestring, state, sizeof state);
        char what[96];
        snprintf(what, sizeof what, "%s%s%s", cJSON_IsString(role) ? role->valuestring : "job",
                 cJSON_IsString(slices) ? " slices " : "", cJSON_IsString(slices) ? slices->valuestring : "");
        printf("  %-10s %-22s %s\n", id->valuestring, what, state);
    }
    cJSON_Delete(root);
}

/* Runs started and not recorded yet: what their heartbeats say. */
static void print_running(const char *dir, const char *name, const run_table *t) {
    int shown = 0;
    double now = sg_wall_now();
    for (int i = 0; i < t->n; i++) {
        const run_state *r = &t->runs[i];
        if (!r->started || r->status != SG_RUN_NONE) continue;
        char path[4600], text[1400], why[300];
        if (r->slice > 0)
            snprintf(path, sizeof path, "%s/slices/%d/%s/runs/%s/%s", dir, r->slice, name, r->id, SG_HEARTBEAT_NAME);
        else
            snprintf(path, sizeof path, "%s/runs/%s/%s", dir, r->id, SG_HEARTBEAT_NAME);
        sg_heartbeat hb;
        if (sg_heartbeat_read(path, &hb)) {
            snprintf(text, sizeof text, "no heartbeat (not started yet, or written by an older spikeglue)");
        } else {
            char what[600], ago[32];
            sg_heartbeat_format(&hb, what, sizeof what);
            sg_format_duration(now - hb.updated_at, ago, sizeof ago);
            if (sg_heartbeat_stale(&hb, now, why, sizeof why))
                snprintf(text, sizeof text, "STALE: %s (last: %s, %s ago)", why, what, ago);
            else
                snprintf(text, sizeof text, "%s (updated %s ago)", what, ago);
        }
        if (!shown++) printf("running (heartbeats in runs/<id>/%s):\n", SG_HEARTBEAT_NAME);
        printf("  %.8s %-5s seed %lld %-10s %s\n", r->id, r->task[0] ? r->task : "?", r->seed, r->variant[0] ? r->variant : "?", text);
    }
}

int sg_cmd_status(int argc, char **argv) {
    const char *usage = "results/<sweep>";
    char *pos[1];
    int npos = 0;
    int rc = sg_flags_parse("status", usage, NULL, 0, argc, argv, pos, 1, &npos);
    if (rc) return rc > 0 ? 0 : (sg_print_error(), 2);
    if (npos != 1) return sg_fail("status: expected a sweep directory (usage: spikeglue status %s)", usage), sg_print_error(), 2;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", pos[0]);
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/') dir[--dl] = '\0';
    if (!sg_is_dir(dir)) return sg_fail("status: %s: no such directory", dir), sg_print_error(), 1;
    const char *name = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;

    run_table t = {0};
    char path[4400];
    snprintf(path, sizeof path, "%s/plan.json", dir);
    int total = read_plan(path, &t);
    int fin = 0, fail = 0, foreign = 0;
    if (read_journal_dir(dir, 0, &t, total >= 0, &fin, &fail, &foreign)) {
        free(t.runs);
        return sg_print_error(), 1;
    }
    /* array slices: <dir>/slices/<k>/<name>/ */
    snprintf(path, sizeof path, "%s/slices", dir);
    int *ks = NULL, nks = 0, cap = 0;
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            int k, used = 0;
            if (sscanf(e->d_name, "%d%n", &k, &used) != 1 || e->d_name[used] || k < 1) continue;
            if (nks == cap) {
                cap = cap ? cap * 2 : 16;
                int *p = realloc(ks, (size_t)cap * sizeof *p);
                if (!p) break;
                ks = p;
            }
            ks[nks++] = k;
        }
        closedir(d);
        if (nks) qsort(ks, (size_t)nks, sizeof *ks, cmp_int);
    }
    char lines[64][160];
    int nlines = 0;
    for (int s = 0; s < nks; s++) {
        char sdir[4400], plan_path[4500];
        if (snprintf(sdir, sizeof sdir, "%s/slices/%d/%s", dir, ks[s], name) >= (int)sizeof sdir) continue;
        run_table st = {0};
        snprintf(plan_path, sizeof plan_path, "%s/plan.json", sdir);
        int stotal = read_plan(plan_path, &st);
        free(st.runs);
        int sf = 0, sx = 0, sforeign = 0;
        if (read_journal_dir(sdir, ks[s], &t, total >= 0, &sf, &sx, &sforeign)) {
            fprintf(stderr, "spikeglue: warning: %s\n", sg_last_error());
            continue;
        }
        if (nlines < 64) {
            if (stotal >= 0) snprintf(lines[nlines++], sizeof lines[0], "  slice %d: %d of %d runs finished, %d failed", ks[s], sf, stotal, sx);
            else snprintf(lines[nlines++], sizeof lines[0], "  slice %d: %d runs finished, %d failed (not started yet?)", ks[s], sf, sx);
        }
    }
    int finished = 0, failed = 0, started = 0;
    for (int i = 0; i < t.n; i++) {
        if (t.runs[i].status == SG_RUN_FINISHED) finished++;
        else if (t.runs[i].status != SG_RUN_NONE) failed++;
        else if (t.runs[i].started) started++;
    }
    if (total >= 0)
        printf("sweep %s (%s): %d runs: %d finished, %d failed, %d started, %d waiting\n", name, dir, total, finished, failed,
               started, total - finished - failed - started);
    else
        printf("sweep %s (%s): no plan.json; %d runs recorded: %d finished, %d failed\n", name, dir, finished + failed,
               finished, failed);
    if (nks) printf("array slices (%d):\n", nks);
    for (int i = 0; i < nlines; i++) printf("%s\n", lines[i]);
    print_running(dir, name, &t);
    if (foreign) printf("note: %d record%s of runs not in plan.json (an earlier version of the spec)\n", foreign, foreign == 1 ? "" : "s");
    snprintf(path, sizeof path, "%s/%s", dir, SG_STORE_H5);
    printf("results: %s%s\n", path, sg_is_file(path) ? "" : " (not written yet)");
    print_jobs(dir);
    free(ks);
    free(t.runs);
    return 0;
}
