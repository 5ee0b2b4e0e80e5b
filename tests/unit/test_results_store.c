/* The sweep's results store: commits survive reopening, retries replace, a torn journal tail is
 * dropped, results.h5 holds exactly the journal, failures leave the previous results.h5 intact;
 * and run records built from HF-style run directories. */
#include "testlib.h"

#include "core/error.h"
#include "core/fileio.h"
#include "sched/results_store.h"
#include "sched/run_record.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void make_record(sg_run_record *r, const char *task, int seed, const char *variant, int level, int points) {
    sg_run_record_init(r);
    sg_run_record_set_id(r, task, seed, variant);
    sg_run_record_set_str(&r->task, task);
    sg_run_record_set_str(&r->variant, variant);
    r->seed = seed;
    r->level = level;
    r->status = SG_RUN_FINISHED;
    r->attempts = 1;
    sg_run_record_set_str(&r->config, "{\"transform\": \"configs/levels/q8.yaml\", \"note\": \"quote \\\" | and\\nnewline\"}");
    sg_run_record_set_str(&r->version, "0.1.0");
    sg_run_record_set_str(&r->host, "node-äö-1");
    r->rank = 3;
    r->start_time = 1700000000.25;
    r->end_time = 1700000123.5;
    r->wall_seconds = 123.25;
    for (int i = 0; i < points; i++)
        sg_train_series_push(&r->train, 10 * (i + 1), (i + 1) / 4.0, 1.0 / (i + 2) + seed * 1e-3, 2e-5 * (points - i) / points);
    for (int e = 0; e < 3; e++) {
        sg_eval_series_push(&r->eval, e + 1, 40 * (e + 1));
        sg_eval_series_set(&r->eval, e, "loss", 0.5 - 0.1 * e);
        sg_eval_series_set(&r->eval, e, "accuracy", 0.8 + 0.01 * e + seed * 1e-4);
        if (e == 2) sg_eval_series_set(&r->eval, e, "f1", 0.77); /* absent before: NaN */
    }
    sg_metric_map_set(&r->qann, "loss", 0.31);
    sg_metric_map_set(&r->qann, "accuracy", 0.9 + seed * 1e-3);
    sg_metric_map_set(&r->qann, "runtime", 4.5);
    sg_metric_map_set(&r->snn, "accuracy", 0.89 + seed * 1e-3);
    sg_metric_map_set(&r->snn, "weird name.x", 1.5);
    for (int t = 1; t <= 8; t++) sg_step_series_push(&r->snn_by_step, t, t < 6 ? 0.1 * t : 0.89);
    sg_metric_map_set(&r->firing_rate, "roberta.encoder.layer.0", 0.125);
    sg_metric_map_set(&r->firing_rate, "classifier", 0.0625);
    sg_metric_map_set(&r->sops_per_layer, "roberta.encoder.layer.0", 1.5e9);
    sg_metric_map_set(&r->sops_per_layer, "classifier", 2e6);
    r->snn_samples = 872;
    r->snn_mean_settle_steps = 17.25;
    r->snn_max_settle_steps = 31;
    r->snn_spikes = 4.25e10;
    r->snn_sops = 1.502e9;
    r->snn_energy_j = 1.502e9 * 0.9e-12;
    r->ann_macs = 9.6e10;
    r->ann_energy_j = 9.6e10 * 4.6e-12;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static long long file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static char *read_all(const char *path) {
    size_t n;
    char *t = sg_read_file(path, 1 << 28, &n);
    return t;
}

/* Every record of the store equals its /runs/<id> group in results.h5 and vice versa. */
static void check_h5_matches(const sg_store *st) {
    sg_run_record *recs = NULL;
    int n = -1;
    CHECK_MSG(sg_store_read_h5(st->h5_path, &recs, &n) == 0, "%s", sg_last_error());
    CHECK_MSG(n == st->count, "h5 has %d runs, journal %d", n, st->count);
    for (int i = 0; i < n; i++) {
        const sg_run_record *mine = sg_store_get(st, recs[i].id);
        const char *what = "";
        CHECK_MSG(mine && sg_run_record_equal(mine, &recs[i], &what), "run %s differs in %s", recs[i].id, what);
    }
    sg_run_records_free(recs, n);
}

/* sg_store_open with stderr sent to a file: returns open's result, *printed what it wrote there. */
static int open_capturing_stderr(const char *dir, sg_store *st, char **printed) {
    char path[4300];
    snprintf(path, sizeof path, "%s/../stderr-capture", dir);
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (saved >= 0 && fd >= 0) dup2(fd, 2);
    int rc = sg_store_open(dir, st);
    fflush(stderr);
    if (saved >= 0) dup2(saved, 2), close(saved);
    if (fd >= 0) close(fd);
    *printed = read_all(path);
    unlink(path);
    return rc;
}

static void test_commit_reopen(const char *root) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/sweep-a/", root);
    sg_store st;
    CHECK_MSG(sg_store_open(dir, &st) == 0, "%s", sg_last_error());
    CHECK(sg_store_count(&st) == 0);
    CHECK(sg_is_file(st.h5_path)); /* an empty sweep still has a readable results.h5 */
    CHECK(!strcmp(st.sweep, "sweep-a"));
    const char *tasks[] = {"sst2", "mrpc", "stsb"};
    sg_run_record recs[6];
    for (int i = 0; i < 6; i++) {
        make_record(&recs[i], tasks[i % 3], i / 3, i < 3 ? "baseline" : "q8", i < 3 ? 0 : 8, 50 + i);
        CHECK_MSG(sg_store_commit(&st, &recs[i]) == 0, "%s", sg_last_error());
    }
    CHECK(sg_store_count(&st) == 6);
    CHECK(sg_store_finished(&st, recs[2].id) == SG_RUN_FINISHED);
    CHECK(sg_store_finished(&st, "0123456789abcdef") == SG_RUN_NONE);
    check_h5_matches(&st);

    /* a second writer is refused while the store is open */
    sg_store other;
    CHECK(sg_store_open(dir, &other) != 0);
    CHECK_MSG(strstr(sg_last_error(), "in use") != NULL, "%s", sg_last_error());
    sg_store_close(&st);

    CHECK_MSG(sg_store_open(dir, &st) == 0, "%s", sg_last_error());
    CHECK(sg_store_count(&st) == 6);
    CHECK(st.dropped_bytes == 0);
    for (int i = 0; i < 6; i++) {
        const sg_run_record *got = sg_store_get(&st, recs[i].id);
        const char *what = "";
        CHECK_MSG(got && sg_run_record_equal(got, &recs[i], &what), "record %d differs after reopen in %s", i, what);
    }
    check_h5_matches(&st);

    /* bad records are refused without touching the journal */
    long long before = file_size(st.journal_path);
    sg_run_record bad;
    make_record(&bad, "sst2", 9, "q8", 8, 1);
    snprintf(bad.id, sizeof bad.id, "XYZ");
    CHECK(sg_store_commit(&st, &bad) != 0);
    CHECK(strstr(sg_last_error(), "16 lowercase hex") != NULL);
    sg_run_record_free(&bad);
    CHECK(file_size(st.journal_path) == before);
    sg_store_close(&st);
    for (int i = 0; i < 6; i++) sg_run_record_free(&recs[i]);

    /* '/' cannot be part of an HDF5 name: it is written as '_' */
    sg_run_record slash;
    make_record(&slash, "rte", 0, "slash", 2, 1);
    sg_metric_map_set(&slash.qann, "a/b", 0.25);
    sg_store slash_store;
    char odir[4300];
    snprintf(odir, sizeof odir, "%s/sweep-slash", root);
    CHECK(sg_store_open(odir, &slash_store) == 0 && sg_store_commit(&slash_store, &slash) == 0);
    sg_run_record *back = NULL;
    int nback = 0;
    CHECK(sg_store_read_h5(slash_store.h5_path, &back, &nback) == 0 && nback == 1);
    for (int i = 0; i < nback; i++)
        if (!strcmp(back[i].id, slash.id))
            CHECK(sg_metric_map_get(&back[i].qann, "a_b") == 0.25 && isnan(sg_metric_map_get(&back[i].qann, "a/b")));
    sg_run_records_free(back, nback);
    sg_run_record_free(&slash);
    sg_store_close(&slash_store);
}

static void test_retry_replaces(const char *root) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/sweep-retry", root);
    sg_store st;
    CHECK_MSG(sg_store_open(dir, &st) == 0, "%s", sg_last_error());
    sg_run_record a, b, other;
    make_record(&other, "rte", 1, "q4", 4, 5);
    make_record(&a, "cola", 2, "q4", 4, 5);
    a.status = SG_RUN_FAILED;
    sg_run_record_set_str(&a.error, "diverged at step 40: quantizer step s = -0.1 (must be > 0)");
    CHECK(sg_store_commit(&st, &other) == 0);
    CHECK(sg_store_commit(&st, &a) == 0);
    CHECK(sg_store_finished(&st, a.id) == SG_RUN_FAILED);
    make_record(&b, "cola", 2, "q4", 4, 7);
    b.attempts = 0; /* the caller did not count: the store does */
    CHECK(sg_store_commit(&st, &b) == 0);
    CHECK(sg_store_count(&st) == 2);
    const sg_run_record *got = sg_store_get(&st, a.id);
    CHECK(got && got->status == SG_RUN_FINISHED && got->attempts == 2 && got->error == NULL && got->train.n == 7);
    check_h5_matches(&st);
    sg_store_close(&st);
    /* the journal holds both lines; reopening keeps the later one */
    CHECK_MSG(sg_store_open(dir, &st) == 0, "%s", sg_last_error());
    CHECK(sg_store_count(&st) == 2);
    got = sg_store_get(&st, a.id);
    CHECK(got && got->status == SG_RUN_FINISHED && got->attempts == 2);
    /* an explicit attempt count above the stored one is kept */
    b.attempts = 5;
    CHECK(sg_store_commit(&st, &b) == 0);
    CHECK(sg_store_get(&st, a.id)->attempts == 5);
    sg_store_close(&st);
    sg_run_record_free(&a), sg_run_record_free(&b), sg_run_record_free(&other);
}

static void test_torn_tail(const char *root) {
    char dir[4200], journal[4300];
    snprintf(dir, sizeof dir, "%s/sweep-torn", root);
    snprintf(journal, sizeof journal, "%s/results.jsonl", dir);
    sg_store st;
    sg_run_record r1, r2, r3;
    make_record(&r1, "sst2", 1, "q8", 8, 3);
    make_record(&r2, "sst2", 2, "q8", 8, 3);
    make_record(&r3, "sst2", 3, "q8", 8, 3);
    CHECK(sg_store_open(dir, &st) == 0 && sg_store_commit(&st, &r1) == 0 && sg_store_commit(&st, &r2) == 0);
    sg_store_close(&st);
    long long good = file_size(journal);
    /* a crash in the middle of the third append: half a line, no newline */
    cJSON *o = sg_run_record_to_json(&r3);
    char *line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    int fd = open(journal, O_WRONLY | O_APPEND);
    CHECK(fd >= 0 && write(fd, line, strlen(line) / 2) > 0);
    close(fd);
    char *printed = NULL;
    CHECK_MSG(open_capturing_stderr(dir, &st, &printed) == 0, "%s", sg_last_error());
    CHECK(sg_store_count(&st) == 2);
    CHECK(st.dropped_bytes == (long long)(strlen(line) / 2));
    /* one line says what was dropped, where */
    CHECK_MSG(printed && strstr(printed, "results.jsonl:3: dropped a torn last record") && strchr(printed, '\n') &&
                  strchr(printed, '\n')[1] == '\0',
              "printed: %s", printed ? printed : "(nothing)");
    free(printed);
    CHECK(file_size(journal) == good);
    check_h5_matches(&st);
    CHECK(sg_store_commit(&st, &r3) == 0);
    sg_store_close(&st);
    CHECK(sg_store_open(dir, &st) == 0 && sg_store_count(&st) == 3 && st.dropped_bytes == 0);
    sg_store_close(&st);

    /* a complete but garbled last line (zeros after a power cut) is dropped as well */
    fd = open(journal, O_WRONLY | O_APPEND);
    CHECK(fd >= 0 && write(fd, "\0\0\0\0\n", 5) == 5);
    close(fd);
    CHECK_MSG(open_capturing_stderr(dir, &st, &printed) == 0, "%s", sg_last_error());
    CHECK(sg_store_count(&st) == 3 && st.dropped_bytes == 5);
    CHECK_MSG(printed && strstr(printed, "results.jsonl:4: dropped a torn last record"), "printed: %s", printed ? printed : "");
    free(printed);
    sg_store_close(&st);

    /* damage before the last line is an error naming the file and line, not silently dropped */
    char *text = read_all(journal);
    FILE *f = fopen(journal, "w");
    const char *second = text ? strchr(text, '\n') : NULL;
    if (f && second) {
        fwrite(text, 1, (size_t)(second - text) + 1, f);
        fputs("{\"id\": \"0000000000000000\", \"status\": \"finished\"\n", f);
        fputs(second + 1, f);
    }
    if (f) fclose(f);
    CHECK(sg_store_open(dir, &st) != 0);
    CHECK_MSG(strstr(sg_last_error(), "results.jsonl:2") != NULL, "%s", sg_last_error());
    free(text);
    free(line);
    sg_run_record_free(&r1), sg_run_record_free(&r2), sg_run_record_free(&r3);
}

static void test_import_h5(const char *root) {
    char dir[4200], journal[4300];
    snprintf(dir, sizeof dir, "%s/sweep-import", root);
    snprintf(journal, sizeof journal, "%s/results.jsonl", dir);
    sg_store st;
    sg_run_record r1;
    make_record(&r1, "qnli", 1, "q16", 16, 4);
    CHECK(sg_store_open(dir, &st) == 0 && sg_store_commit(&st, &r1) == 0);
    sg_store_close(&st);
    unlink(journal); /* only results.h5 is left: its runs must not be dropped */
    CHECK_MSG(sg_store_open(dir, &st) == 0, "%s", sg_last_error());
    CHECK(sg_store_count(&st) == 1);
    const char *what = "";
    CHECK_MSG(sg_store_get(&st, r1.id) && sg_run_record_equal(sg_store_get(&st, r1.id), &r1, &what), "%s", what);
    sg_store_close(&st);
    CHECK(file_size(journal) > 0);
    sg_run_record_free(&r1);
}

/* A store opened on a results.h5 without a journal imports its runs into a new journal. A
 * coordinator killed half-way through that import must not lose the runs it had not copied yet:
 * the next open imports them again (before, it found a journal with some records, took it for the
 * whole sweep and rewrote results.h5 without the rest). The kill comes from the disk: with
 * RLIMIT_FSIZE at one and a half journal lines and SIGXFSZ at its default, the child dies in the
 * write of the second line, as a SIGKILL there would leave it. */
static void test_import_killed(const char *root) {
    char dir[4200], journal[4300];
    snprintf(dir, sizeof dir, "%s/sweep-import-killed", root);
    snprintf(journal, sizeof journal, "%s/results.jsonl", dir);
    sg_store st;
    sg_run_record r[3];
    CHECK(sg_store_open(dir, &st) == 0);
    for (int i = 0; i < 3; i++) {
        make_record(&r[i], "rte", i, "q4", 4, 20);
        CHECK(sg_store_commit(&st, &r[i]) == 0);
    }
    sg_store_close(&st);
    long long line = file_size(journal) / 3;
    unlink(journal);
    fflush(stdout), fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit lim = {(rlim_t)(line + line / 2), (rlim_t)(line + line / 2)}, none = {0, 0};
        setrlimit(RLIMIT_CORE, &none);
        signal(SIGXFSZ, SIG_DFL);
        setrlimit(RLIMIT_FSIZE, &lim);
        sg_store child;
        _exit(sg_store_open(dir, &child) == 0 ? 0 : 1);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGXFSZ, "child status %d", status);
    CHECK_MSG(file_size(journal) > 0 && file_size(journal) < 2 * line, "journal %lld bytes, a line %lld", file_size(journal), line);
    CHECK_MSG(sg_store_open(dir, &st) == 0, "%s", sg_last_error());
    CHECK_MSG(sg_store_count(&st) == 3, "%d runs after the killed import, 3 before", sg_store_count(&st));
    for (int i = 0; i < 3; i++) {
        const char *what = "";
        CHECK_MSG(sg_store_get(&st, r[i].id) && sg_run_record_equal(sg_store_get(&st, r[i].id), &r[i], &what), "run %d: %s", i, what);
    }
    check_h5_matches(&st);
    sg_store_close(&st);
    char mark[4400];
    snprintf(mark, sizeof mark, "%s.importing", journal);
    CHECK(!sg_is_file(mark)); /* the finished import leaves nothing behind */
    CHECK(sg_store_open(dir, &st) == 0 && sg_store_count(&st) == 3);
    sg_store_close(&st);
    /* a mark whose results.h5 is gone has nothing to import again: the journal is kept */
    char h5[4300];
    snprintf(h5, sizeof h5, "%s/results.h5", dir);
    write_text(mark, "");
    unlink(h5);
    CHECK(sg_store_open(dir, &st) == 0 && sg_store_count(&st) == 3 && !sg_is_file(mark));
    sg_store_close(&st);
    for (int i = 0; i < 3; i++) sg_run_record_free(&r[i]);
}

static void test_unwritable(const char *root) {
    char file[4200], dir[4300];
    snprintf(file, sizeof file, "%s/plain-file", root);
    write_text(file, "x");
    /* a path under a regular file cannot be created, even by root */
    snprintf(dir, sizeof dir, "%s/sweep", file);
    sg_store st;
    CHECK(sg_store_open(dir, &st) != 0);
    CHECK_MSG(strstr(sg_last_error(), "plain-file") != NULL && !strchr(sg_last_error(), '\n'), "%s", sg_last_error());
    CHECK(st.journal_fd == -1);
    CHECK(sg_store_open("", &st) != 0);
}

static void minimal_record(sg_run_record *r, int seed) {
    sg_run_record_init(r);
    sg_run_record_set_id(r, "wnli", seed, "q2");
    sg_run_record_set_str(&r->task, "wnli");
    sg_run_record_set_str(&r->variant, "q2");
    r->seed = seed;
    r->status = SG_RUN_FINISHED;
    sg_metric_map_set(&r->qann, "accuracy", 0.5);
}

/* A failed commit (results.h5 cannot be written, or the disk is full) returns a one-line error,
 * cuts the journal back and leaves the previous results.h5 byte for byte. Disk full is simulated
 * with RLIMIT_FSIZE, which binds root too (a read-only directory does not). */
static void check_failed_commit(sg_store *st, const sg_run_record *rec, const char *expect, long long journal_before,
                                const char *h5_bytes, long long h5_size) {
    int count = st->count;
    int rc = sg_store_commit(st, rec);
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", sg_last_error());
    CHECK(rc != 0);
    CHECK_MSG(strstr(msg, expect) != NULL && !strchr(msg, '\n'), "expected '%s' in: %s", expect, msg);
    CHECK(st->broken == 0);
    CHECK(st->count == count && sg_store_get(st, rec->id) == NULL);
    CHECK(file_size(st->journal_path) == journal_before);
    char *now = read_all(st->h5_path);
    CHECK(now && file_size(st->h5_path) == h5_size && memcmp(now, h5_bytes, (size_t)h5_size) == 0);
    free(now);
}

static void test_failed_commits(const char *root) {
    char dir[4200], tmp[4300];
    snprintf(dir, sizeof dir, "%s/sweep-full", root);
    sg_store st;
    sg_run_record small, big, tiny[8];
    make_record(&small, "sst2", 1, "q8", 8, 10);
    make_record(&big, "sst2", 2, "q8", 8, 2000);
    CHECK(sg_store_open(dir, &st) == 0 && sg_store_commit(&st, &small) == 0);
    for (int i = 0; i < 8; i++) {
        minimal_record(&tiny[i], i);
        if (i < 7) CHECK(sg_store_commit(&st, &tiny[i]) == 0);
    }
    long long journal_before = file_size(st.journal_path), h5_size = file_size(st.h5_path);
    char *h5_bytes = read_all(st.h5_path);
    snprintf(tmp, sizeof tmp, "%s.tmp", st.h5_path);

    /* 1. the view cannot be created (a directory squats on results.h5.tmp) */
    CHECK(mkdir(tmp, 0755) == 0);
    check_failed_commit(&st, &big, "results.h5.tmp", journal_before, h5_bytes, h5_size);
    rmdir(tmp);

    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, SIG_IGN);
    /* 2. disk full while appending to the journal */
    lim = old;
    lim.rlim_cur = (rlim_t)(journal_before + 10);
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    check_failed_commit(&st, &big, "results.jsonl: cannot append a record: File too large", journal_before, h5_bytes,
                        h5_size);
    /* 3. disk full while writing the HDF5 view: a small line fits, a bigger results.h5 does not */
    CHECK_MSG(journal_before + 4096 < h5_size, "journal %lld, h5 %lld", journal_before, h5_size);
    lim.rlim_cur = (rlim_t)h5_size;
    CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
    check_failed_commit(&st, &tiny[7], "results.h5.tmp", journal_before, h5_bytes, h5_size);
    CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    signal(SIGXFSZ, SIG_DFL);
    CHECK(!sg_is_file(tmp));
    check_h5_matches(&st);
    free(h5_bytes);

    /* with room again the same commits succeed */
    CHECK_MSG(sg_store_commit(&st, &big) == 0, "%s", sg_last_error());
    CHECK_MSG(sg_store_commit(&st, &tiny[7]) == 0, "%s", sg_last_error());
    CHECK(sg_store_count(&st) == 10);
    sg_store_close(&st);
    CHECK(sg_store_open(dir, &st) == 0 && sg_store_count(&st) == 10);
    check_h5_matches(&st);
    sg_store_close(&st);
    sg_run_record_free(&small), sg_run_record_free(&big);
    for (int i = 0; i < 8; i++) sg_run_record_free(&tiny[i]);
}

static void test_from_dir(const char *root) {
    char run[4200], out[4300], path[4400];
    snprintf(run, sizeof run, "%s/run-1", root);
    snprintf(out, sizeof out, "%s/out", run);
    CHECK(sg_mkdirs(out) == 0);
    snprintf(path, sizeof path, "%s/all_results.json", out);
    write_text(path, "{\n  \"epoch\": 3.0,\n  \"eval_accuracy\": 0.9117,\n  \"eval_loss\": 0.25,\n  \"eval_runtime\": 3.5,\n"
                     "  \"train_loss\": 0.31,\n  \"snn_eval_accuracy\": 0.905,\n  \"snn_mean_settle_step\": 21.5\n}\n");
    snprintf(path, sizeof path, "%s/trainer_state.json", out);
    write_text(path, "{\"global_step\": 30, \"log_history\": [\n"
                     " {\"loss\": 0.69, \"learning_rate\": 2e-05, \"epoch\": 0.5, \"step\": 10},\n"
                     " {\"loss\": 0.55, \"learning_rate\": 1e-05, \"epoch\": 1.0, \"step\": 20},\n"
                     " {\"eval_loss\": 0.4, \"eval_accuracy\": 0.85, \"eval_runtime\": 1.0, \"eval_samples_per_second\": 9,"
                     "  \"epoch\": 1.0, \"step\": 20},\n"
                     " {\"loss\": 0.41, \"epoch\": 1.5, \"step\": 30},\n"
                     " {\"eval_loss\": 0.3, \"eval_accuracy\": 0.88, \"eval_f1\": 0.87, \"epoch\": 2.0, \"step\": 40},\n"
                     " {\"train_runtime\": 100.0, \"train_loss\": 0.5, \"epoch\": 2.0, \"step\": 40}]}\n");
    snprintf(path, sizeof path, "%s/snn_results.json", out);
    write_text(path,
               "{\"metrics\": {\"eval_accuracy\": 0.9, \"eval_loss\": 0.27, \"eval_samples\": 872},\n"
               " \"agreement_with_qann\": 1, \"accuracy_by_step\": [0.5, 0.75, null, 0.9],\n"
               " \"settings\": {\"max_steps\": 64, \"unfold_level\": 8, \"simulation_seconds\": 2.5},\n"
               " \"stats\": {\"samples\": 872, \"settled\": 872, \"mean_settle_step\": 23.5, \"max_settle_step\": 40,\n"
               "  \"e_mac_pj\": 4.6, \"e_ac_pj\": 0.9,\n"
               "  \"total\": {\"name\": \"total\", \"spikes\": 1000, \"sops\": 2e9, \"macs\": 1e6, \"ann_macs\": 9e10,\n"
               "            \"energy_mj\": 1.8, \"ann_energy_mj\": 414.0, \"firing_rate\": 0.1},\n"
               "  \"layers\": [{\"name\": \"roberta.encoder.layer.0\", \"firing_rate\": 0.2, \"sops\": 1.5e9},\n"
               "             {\"name\": \"classifier\", \"firing_rate\": 0.05, \"sops\": 5e8}],\n"
               "  \"entries\": [{\"name\": \"x\", \"kind\": \"neurons\", \"firing_rate\": 0.3}]}}\n");
    sg_run_record r;
    sg_run_record_init(&r);
    sg_run_record_set_id(&r, "sst2", 1, "q8");
    CHECK_MSG(sg_run_record_from_dir(run, &r) == 0, "%s", sg_last_error());
    CHECK(strlen(r.short_id) == 8 && !strncmp(r.id, r.short_id, 8));
    CHECK_NEAR(sg_metric_map_get(&r.qann, "accuracy"), 0.9117, 0);
    CHECK_NEAR(sg_metric_map_get(&r.qann, "loss"), 0.25, 0);
    CHECK(isnan(sg_metric_map_get(&r.qann, "train_loss")));
    CHECK(r.train.n == 3);
    CHECK(r.train.n == 3 && r.train.step[2] == 30 && r.train.loss[1] == 0.55 && isnan(r.train.learning_rate[2]));
    CHECK(r.eval.n == 2 && r.eval.epoch[1] == 2.0);
    CHECK(r.eval.nmetrics == 3); /* loss, accuracy, f1; runtime and throughput left out */
    double f1_first = NAN;
    for (int k = 0; k < r.eval.nmetrics; k++)
        if (!strcmp(r.eval.names[k], "f1")) f1_first = r.eval.values[k][0];
    CHECK(isnan(f1_first));
    CHECK_NEAR(sg_metric_map_get(&r.snn, "accuracy"), 0.9, 0); /* snn_results.json read after all_results.json */
    CHECK_NEAR(sg_metric_map_get(&r.snn, "loss"), 0.27, 0);
    CHECK_NEAR(r.snn_samples, 872, 0);
    CHECK_NEAR(r.snn_mean_settle_steps, 23.5, 0);
    CHECK_NEAR(r.snn_max_settle_steps, 40, 0);
    CHECK_NEAR(r.snn_sops, 2e9, 0);
    CHECK_NEAR(r.snn_spikes, 1000, 0);
    CHECK_NEAR(r.snn_energy_j, 1.8e-3, 1e-15);
    CHECK_NEAR(r.ann_macs, 9e10, 0);
    CHECK_NEAR(r.ann_energy_j, 0.414, 1e-12);
    CHECK(r.snn_by_step.n == 4 && r.snn_by_step.step[3] == 4 && r.snn_by_step.value[1] == 0.75 && isnan(r.snn_by_step.value[2]));
    CHECK(r.firing_rate.count == 2 && !strcmp(r.firing_rate.names[1], "classifier") && r.firing_rate.values[0] == 0.2);
    CHECK(r.sops_per_layer.count == 2 && r.sops_per_layer.values[1] == 5e8);
    CHECK_NEAR(sg_task_main_metric("SST-2", &r.snn), 0.9, 0);

    /* the JSON round trip is exact */
    sg_run_record back;
    sg_run_record_init(&back);
    r.status = SG_RUN_FINISHED;
    cJSON *o = sg_run_record_to_json(&r);
    CHECK(sg_run_record_from_json(o, &back, "test") == 0);
    const char *what = "";
    CHECK_MSG(sg_run_record_equal(&r, &back, &what), "%s", what);
    cJSON_Delete(o);
    sg_run_record_free(&back);

    /* malformed JSON names the file and line; a missing file is fine */
    snprintf(path, sizeof path, "%s/snn_results.json", out);
    write_text(path, "{\n  \"eval_accuracy\": 0.9,\n  \"samples\": oops\n}\n");
    CHECK(sg_run_record_from_dir(run, &r) != 0);
    CHECK_MSG(strstr(sg_last_error(), "snn_results.json:3") != NULL, "%s", sg_last_error());
    unlink(path);
    CHECK(sg_run_record_from_dir(run, &r) == 0);
    /* all_results' snn_* only */
    CHECK(r.snn.count == 1 && r.snn_mean_settle_steps == 21.5 && isnan(r.snn_sops) && r.snn_by_step.n == 0);
    CHECK(sg_run_id_valid(r.id) && r.task == NULL); /* identity fields untouched */
    CHECK(sg_run_record_from_dir("/nonexistent/run", &r) != 0);
    sg_run_record_free(&r);
}

static void test_main_metric(void) {
    sg_metric_map m = {0};
    sg_metric_map_set(&m, "accuracy", 0.8);
    sg_metric_map_set(&m, "f1", 0.9);
    CHECK_NEAR(sg_task_main_metric("mrpc", &m), 0.85, 1e-15);
    CHECK_NEAR(sg_task_main_metric("qnli", &m), 0.8, 0);
    CHECK(isnan(sg_task_main_metric("cola", &m)));
    sg_metric_map_set(&m, "combined_score", 0.5);
    CHECK_NEAR(sg_task_main_metric("QQP", &m), 0.5, 0);
    sg_metric_map_free(&m);
    sg_metric_map_set(&m, "pearson", 0.8);
    sg_metric_map_set(&m, "spearmanr", 0.7);
    CHECK_NEAR(sg_task_main_metric("sts-b", &m), 0.75, 1e-15);
    sg_metric_map_free(&m);
    CHECK(!strcmp(sg_task_main_metric_name("CoLA"), "matthews_correlation"));
    CHECK(!strcmp(sg_task_main_metric_name("mnli"), "accuracy"));
    CHECK(sg_run_status_parse("timeout") == SG_RUN_TIMEOUT && sg_run_status_parse("bogus") == SG_RUN_NONE);
}

/* The sweep's pretrain record: its kind survives the journal, results.h5 and a reopen; a pretrain
 * run's directory gives its held-out figures (perplexity has no eval_ prefix). */
static void test_pretrain_record(const char *root) {
    char dir[4200], out[4300];
    snprintf(dir, sizeof dir, "%s/sweep-pretrain", root);
    sg_store st;
    sg_run_record pt, glue;
    make_record(&pt, "mlm", 42, "pretrain", 0, 3);
    pt.kind = SG_RUN_KIND_PRETRAIN;
    make_record(&glue, "sst2", 42, "baseline", 0, 3);
    CHECK(sg_store_open(dir, &st) == 0 && sg_store_commit(&st, &pt) == 0 && sg_store_commit(&st, &glue) == 0);
    check_h5_matches(&st); /* equality includes the kind */
    sg_run_record *recs = NULL;
    int n = 0;
    CHECK(sg_store_read_h5(st.h5_path, &recs, &n) == 0 && n == 2);
    for (int i = 0; i < n; i++)
        CHECK(recs[i].kind == (!strcmp(recs[i].task, "mlm") ? SG_RUN_KIND_PRETRAIN : SG_RUN_KIND_GLUE));
    sg_run_records_free(recs, n);
    sg_store_close(&st);
    CHECK_MSG(sg_store_open(dir, &st) == 0, "%s", sg_last_error()); /* from the journal */
    CHECK(sg_store_get(&st, pt.id) && sg_store_get(&st, pt.id)->kind == SG_RUN_KIND_PRETRAIN);
    CHECK(sg_store_get(&st, glue.id) && sg_store_get(&st, glue.id)->kind == SG_RUN_KIND_GLUE);
    sg_store_close(&st);
    cJSON *j = sg_run_record_to_json(&glue); /* a GLUE line is written as before: no "kind" */
    CHECK(j && !cJSON_GetObjectItemCaseSensitive(j, "kind"));
    cJSON_Delete(j);

    snprintf(dir, sizeof dir, "%s/pretrain-run", root);
    snprintf(out, sizeof out, "%s/out", dir);
    CHECK(sg_mkdirs(out) == 0);
    char path[4400];
    snprintf(path, sizeof path, "%s/all_results.json", out);
    write_text(path, "{\"train_loss\": 5.1, \"eval_loss\": 4.5, \"eval_accuracy\": 0.12, \"perplexity\": 90.0171313, "
                     "\"init_eval_loss\": 5.6, \"epoch\": 0.3}");
    sg_run_record r;
    sg_run_record_init(&r);
    CHECK_MSG(sg_run_record_from_pretrain_dir(dir, &r) == 0, "%s", sg_last_error());
    CHECK(r.kind == SG_RUN_KIND_PRETRAIN && sg_metric_map_get(&r.qann, "loss") == 4.5);
    CHECK(sg_metric_map_get(&r.qann, "accuracy") == 0.12 && sg_metric_map_get(&r.qann, "perplexity") == 90.0171313);
    CHECK(sg_metric_map_get(&r.qann, "loss_before") == 5.6 && isnan(sg_metric_map_get(&r.qann, "perplexity_before")));
    sg_run_record_free(&r);
    sg_run_record_free(&pt);
    sg_run_record_free(&glue);
}

int main(void) {
    const char *tmp = sg_test_tmpdir();
    if (!tmp) sg_test_skip("no temporary directory");
    char root[4096];
    snprintf(root, sizeof root, "%s", tmp);
    test_main_metric();
    test_commit_reopen(root);
    test_retry_replaces(root);
    test_torn_tail(root);
    test_import_h5(root);
    test_import_killed(root);
    test_unwritable(root);
    test_failed_commits(root);
    test_from_dir(root);
    test_pretrain_record(root);
    sg_remove_tree(root);
    return sg_test_done();
}
