/* The results store: an fsynced append-only journal (truth) and an HDF5 view regenerated and
 * rename()d into place after each commit (written and read in results_h5.c). Why not write
 * results.h5 in place: HDF5 1.10 can leave an unreadable file when the process dies mid-write; a
 * rename is atomic. */
#include "sched/results_store.h"

#include "core/durable.h"
#include "core/error.h"
#include "core/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- paths and raw I/O -------------------------------------------------------------------- */

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* ---- the store --------------------------------------------------------------------------------- */

static int find(const sg_store *st, const char *id) {
    for (int i = 0; i < st->count; i++)
        if (!strcmp(st->recs[i].id, id)) return i;
    return -1;
}

/* Put a parsed record in (taking ownership): replace the same id or append. */
/* Puts rec at index i (the record of its id, found by the caller), or appends it when i < 0. */
static int place_at(sg_store *st, sg_run_record *rec, int i) {
    if (i >= 0) {
        sg_run_record_free(&st->recs[i]);
        st->recs[i] = *rec;
        return 0;
    }
    if (st->count == st->cap) {
        int cap = st->cap ? st->cap * 2 : 64;
        sg_run_record *p = realloc(st->recs, sizeof *p * (size_t)cap);
        if (!p) return sg_fail("out of memory");
        st->recs = p;
        st->cap = cap;
    }
    st->recs[st->count++] = *rec;
    return 0;
}

static int place(sg_store *st, sg_run_record *rec) { return place_at(st, rec, find(st, rec->id)); }

static int parse_line(const char *text, size_t len, const char *where, sg_run_record *rec) {
    sg_run_record_init(rec);
    cJSON *o = cJSON_ParseWithLength(text, len);
    if (!o) return sg_fail("%s: malformed JSON", where);
    int rc = sg_run_record_from_json(o, rec, where);
    cJSON_Delete(o);
    if (rc) sg_run_record_free(rec);
    return rc;
}

static int load_journal(sg_store *st) {
    struct stat sb;
    if (fstat(st->journal_fd, &sb) != 0) return sg_fail("%s: cannot stat: %s", st->journal_path, strerror(errno));
    size_t size = (size_t)sb.st_size;
    char *buf = malloc(size + 1);
    if (!buf) return sg_fail("%s: out of memory (%zu bytes)", st->journal_path, size);
    size_t got = 0;
    while (got < size) {
        ssize_t r = pread(st->journal_fd, buf + got, size - got, (off_t)got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            free(buf);
            return sg_fail("%s: read error: %s", st->journal_path, r < 0 ? strerror(errno) : "short read");
        }
        got += (size_t)r;
    }
    buf[size] = '\0';
    size_t pos = 0, good = 0;
    int line = 0, rc = 0;
    char why[600] = "no newline";
    while (pos < size && !rc) {
        char *nl = memchr(buf + pos, '\n', size - pos);
        line++;
        if (!nl) break; /* torn tail: no newline */
        size_t len = (size_t)(nl - (buf + pos));
        char where[4200];
        snprintf(where, sizeof where, "%s:%d", st->journal_path, line);
        sg_run_record rec;
        if (len == 0) {
            pos = good = pos + 1;
            continue;
        }
        if (parse_line(buf + pos, len, where, &rec)) {
            /* The last line may be a torn write (a crash before its newline reached the disk);
             * a bad line with records after it is damage we must not paper over. */
            if ((size_t)(nl - buf) + 1 >= size) {
                const char *e = sg_last_error(); /* "<where>: <reason>": keep the reason */
                snprintf(why, sizeof why, "does not parse: %s", strncmp(e, where, strlen(where)) ? e : e + strlen(where) + 2);
                break;
            }
            char msg[1024];
            snprintf(msg, sizeof msg, "%s", sg_last_error());
            rc = sg_fail("%s (a damaged line before the last one: fix or remove it to resume)", msg);
            break;
        }
        if (place(st, &rec)) {
            sg_run_record_free(&rec);
            rc = -1;
            break;
        }
        pos = good = (size_t)(nl - buf) + 1;
    }
    free(buf);
    if (rc) return -1;
    if (good < size) {
        /* Cut the torn tail so the next append starts on a line of its own. */
        if (ftruncate(st->journal_fd, (off_t)good) != 0 || fsync(st->journal_fd) != 0)
            return sg_fail("%s: cannot drop a torn last line: %s", st->journal_path, strerror(errno));
        st->dropped_bytes = (long long)(size - good);
        /* Never committed (a commit returns only after its whole line is written), but say so: a
         * record someone expected could be this one. */
        fprintf(stderr, "spikeglue: warning: %s:%d: dropped a torn last record (%lld bytes, %s): a write cut off by a crash, never committed\n",
                st->journal_path, line, st->dropped_bytes, why);
    }
    st->journal_size = (long long)good;
    return 0;
}

/* Append one line durably; on failure cut the journal back to where it was. */
static int journal_append(sg_store *st, const char *line, size_t len) {
    if (sg_write_all_fd(st->journal_fd, line, len) == 0 && fsync(st->journal_fd) == 0) {
        st->journal_size += (long long)len;
        return 0;
    }
    int e = errno;
    if (ftruncate(st->journal_fd, (off_t)st->journal_size) != 0 || fsync(st->journal_fd) != 0) st->broken = 1;
    return sg_fail("%s: cannot append a record: %s", st->journal_path, strerror(e));
}

static char *record_line(const sg_run_record *rec, int attempts, size_t *len) {
    cJSON *o = sg_run_record_to_json(rec);
    if (!o) return NULL;
    cJSON_ReplaceItemInObjectCaseSensitive(o, "attempts", cJSON_CreateNumber(attempts));
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text) return (sg_fail("out of memory"), NULL);
    size_t n = strlen(text);
    char *line = realloc(text, n + 2);
    if (!line) return (free(text), sg_fail("out of memory"), NULL);
    line[n] = '\n';
    line[n + 1] = '\0';
    *len = n + 1;
    return line;
}

/* While results.h5 is imported into a new journal, this file beside them says the journal is not
 * whole yet: a process killed half-way leaves it, and the next open imports again from results.h5
 * (which is replaced only after the import) instead of taking the partial journal for the sweep. */
#define IMPORT_MARK "results.jsonl.importing"

static int import_mark(const sg_store *st, int set) {
    char *mark = join(st->dir, IMPORT_MARK);
    if (!mark) return sg_fail("out of memory");
    int rc = 0;
    if (set) {
        int fd = open(mark, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) rc = sg_fail("%s: cannot create: %s", mark, strerror(errno));
        else close(fd);
    } else if (unlink(mark) != 0 && errno != ENOENT) {
        rc = sg_fail("%s: cannot remove: %s", mark, strerror(errno));
    }
    /* durable before the journal's first imported line / after its last */
    if (!rc && sg_fsync_dir_of(mark) != 0) rc = sg_fail("%s: fsync of its directory failed: %s", mark, strerror(errno));
    free(mark);
    return rc;
}

/* An import a crash interrupted: empty the journal so that the import starts over. */
static int restart_import(sg_store *st) {
    char *mark = join(st->dir, IMPORT_MARK);
    if (!mark) return sg_fail("out of memory");
    int marked = sg_is_file(mark);
    free(mark);
    if (!marked) return 0;
    if (!sg_is_file(st->h5_path)) return import_mark(st, 0); /* results.h5 gone too: the journal is all there is */
    if (ftruncate(st->journal_fd, 0) != 0 || fsync(st->journal_fd) != 0)
        return sg_fail("%s: cannot empty it to import results.h5 again: %s", st->journal_path, strerror(errno));
    fprintf(stderr, "spikeglue: warning: %s: an import of results.h5 into it was cut off by a crash; importing again\n",
            st->journal_path);
    return 0;
}

/* A results.h5 without a journal (copied from elsewhere, or the journal was deleted): its runs
 * become the journal's first lines, so the next commit does not drop them. */
static int import_h5(sg_store *st) {
    sg_run_record *recs = NULL;
    int n = 0;
    if (sg_store_read_h5(st->h5_path, &recs, &n)) return sg_fail_context("importing the existing results.h5");
    int rc = import_mark(st, 1);
    for (int i = 0; i < n && !rc; i++) {
        size_t len = 0;
        char *line = record_line(&recs[i], recs[i].attempts, &len);
        if (!line) rc = -1;
        else if (sg_write_all_fd(st->journal_fd, line, len)) rc = sg_fail("%s: cannot write: %s", st->journal_path, strerror(errno));
        else st->journal_size += (long long)len;
        free(line);
        sg_run_record copy;
        if (!rc && !(rc = sg_run_record_copy(&copy, &recs[i])) && (rc = place(st, &copy))) sg_run_record_free(&copy);
    }
    sg_run_records_free(recs, n);
    if (!rc && fsync(st->journal_fd) != 0) rc = sg_fail("%s: fsync failed: %s", st->journal_path, strerror(errno));
    if (!rc) return import_mark(st, 0); /* the journal is whole: from now on it is the truth */
    if (ftruncate(st->journal_fd, 0) == 0) { /* the next open imports again */
        st->journal_size = 0;
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", sg_last_error());
        import_mark(st, 0);
        sg_fail("%s", msg);
    }
    return rc;
}

int sg_store_open(const char *dir, sg_store *st) {
    memset(st, 0, sizeof *st);
    st->journal_fd = -1;
    if (!dir || !*dir) return sg_fail("results store: empty directory name");
    if (sg_mkdirs(dir)) return -1;
    char clean[4096];
    snprintf(clean, sizeof clean, "%s", dir);
    for (size_t n = strlen(clean); n > 1 && clean[n - 1] == '/'; n--) clean[n - 1] = '\0';
    const char *base = strrchr(clean, '/');
    st->dir = strdup(clean);
    st->sweep = strdup(base ? base + 1 : clean);
    st->journal_path = join(clean, SG_STORE_JOURNAL);
    st->h5_path = join(clean, SG_STORE_H5);
    if (!st->dir || !st->sweep || !st->journal_path || !st->h5_path) {
        sg_store_close(st);
        return sg_fail("out of memory");
    }
    int existed = sg_is_file(st->journal_path);
    st->journal_fd = open(st->journal_path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (st->journal_fd < 0) {
        int e = errno;
        sg_fail("%s: cannot open for writing: %s", st->journal_path, strerror(e));
        sg_store_close(st);
        return -1;
    }
    if (flock(st->journal_fd, LOCK_EX | LOCK_NB) != 0) {
        sg_fail("%s: in use by another process (is a coordinator already writing this sweep?)", st->journal_path);
        sg_store_close(st);
        return -1;
    }
    int rc = (!existed && sg_fsync_dir_of(st->journal_path) != 0)
                 ? sg_fail("%s: fsync of its directory failed: %s", st->journal_path, strerror(errno))
                 : restart_import(st);
    if (!rc) rc = load_journal(st);
    if (!rc && st->count == 0 && st->journal_size == 0 && sg_is_file(st->h5_path)) rc = import_h5(st);
    if (!rc) rc = sg_store_write_h5(st->h5_path, st->recs, st->count, st->sweep);
    if (rc) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", sg_last_error());
        sg_store_close(st);
        return sg_fail("%s", msg);
    }
    return 0;
}

/* What a commit writes: rec checked, its journal line (attempts made at least one more than an
 * earlier record of the same id) and that line parsed back, as a reload would read it. *at is the
 * index of the earlier record or -1. Returns the line (caller frees) or NULL (sg_fail). */
static char *journal_line_of(sg_store *st, const sg_run_record *rec, int *at, size_t *len, sg_run_record *parsed) {
    if (st->journal_fd < 0) return sg_fail("results store: not open"), NULL;
    if (st->broken)
        return sg_fail("%s: an earlier failed commit could not be rolled back; reopen the store", st->journal_path), NULL;
    if (!sg_run_id_valid(rec->id)) return sg_fail("commit: run id '%s' is not 16 lowercase hex digits", rec->id), NULL;
    if (rec->status == SG_RUN_NONE) return sg_fail("commit: run %s has no status", rec->id), NULL;
    *at = find(st, rec->id);
    int attempts = rec->attempts > 0 ? rec->attempts : 1;
    if (*at >= 0 && attempts < st->recs[*at].attempts + 1) attempts = st->recs[*at].attempts + 1;
    char *line = record_line(rec, attempts, len);
    if (!line) return NULL;
    char where[4200];
    snprintf(where, sizeof where, "%s (record %s)", st->journal_path, rec->id);
    if (parse_line(line, *len - 1, where, parsed)) {
        free(line);
        return NULL;
    }
    return line;
}

int sg_store_commit(sg_store *st, const sg_run_record *rec) {
    int at;
    size_t len = 0;
    sg_run_record parsed;
    char *line = journal_line_of(st, rec, &at, &len, &parsed);
    if (!line) return -1;
    long long before = st->journal_size;
    if (journal_append(st, line, len)) {
        free(line);
        sg_run_record_free(&parsed);
        return -1;
    }
    free(line);
    st->unsynced = 0; /* journal_append fsynced every earlier line too */

    /* Keep the replaced record until results.h5 is in place, to undo on failure. */
    sg_run_record old;
    int replaced = at >= 0;
    if (replaced) old = st->recs[at];
    int rc = 0;
    if (replaced) st->recs[at] = parsed;
    else if ((rc = place_at(st, &parsed, -1)) != 0) sg_run_record_free(&parsed);
    if (!rc) rc = sg_store_write_h5(st->h5_path, st->recs, st->count, st->sweep);
    if (!rc) {
        if (replaced) sg_run_record_free(&old);
        st->h5_stale = 0;
        return 0;
    }
    /* Undo: memory, then the journal line (results.h5 was not replaced). */
    char msg[1024];
    snprintf(msg, sizeof msg, "%s", sg_last_error());
    if (replaced) {
        sg_run_record_free(&st->recs[at]);
        st->recs[at] = old;
    } else if (st->count > 0 && !strcmp(st->recs[st->count - 1].id, rec->id)) {
        sg_run_record_free(&st->recs[--st->count]);
    }
    if (ftruncate(st->journal_fd, (off_t)before) != 0 || fsync(st->journal_fd) != 0) st->broken = 1;
    else st->journal_size = before;
    return sg_fail("%s", msg);
}

/* ---- group commit ---- */

int sg_store_add(sg_store *st, const sg_run_record *rec) {
    int at;
    size_t len = 0;
    sg_run_record parsed;
    char *line = journal_line_of(st, rec, &at, &len, &parsed);
    if (!line) return -1;
    int rc = sg_write_all_fd(st->journal_fd, line, len);
    free(line);
    if (rc) {
        int e = errno;
        sg_run_record_free(&parsed);
        /* cut the partial line; the lines added before it are still to be synced */
        if (ftruncate(st->journal_fd, (off_t)st->journal_size) != 0) st->broken = 1;
        return sg_fail("%s: cannot append a record: %s", st->journal_path, strerror(e));
    }
    st->journal_size += (long long)len;
    st->unsynced++;
    st->h5_stale = 1;
    if (place_at(st, &parsed, at)) { /* at: journal_line_of already found the id */
        sg_run_record_free(&parsed);
        st->broken = 1; /* the journal has a line memory lacks */
        return -1;
    }
    return 0;
}

int sg_store_sync(sg_store *st) {
    if (st->unsynced == 0) return 0;
    if (fsync(st->journal_fd) != 0) {
        /* what reached the disk is unknown: stop committing; reopening reads the journal again */
        st->broken = 1;
        return sg_fail("%s: fsync failed: %s (%d records not known to be durable)", st->journal_path, strerror(errno),
                       st->unsynced);
    }
    st->unsynced = 0;
    return 0;
}

int sg_store_refresh_h5(sg_store *st) {
    if (!st->h5_stale) return 0;
    if (sg_store_write_h5(st->h5_path, st->recs, st->count, st->sweep)) return -1;
    st->h5_stale = 0;
    return 0;
}

const sg_run_record *sg_store_get(const sg_store *st, const char *id) {
    int i = id ? find(st, id) : -1;
    return i >= 0 ? &st->recs[i] : NULL;
}

sg_run_status sg_store_finished(const sg_store *st, const char *id) {
    const sg_run_record *r = sg_store_get(st, id);
    return r ? r->status : SG_RUN_NONE;
}

int sg_store_count(const sg_store *st) { return st->count; }

void sg_store_close(sg_store *st) {
    if (st->journal_fd >= 0) close(st->journal_fd); /* releases the lock */
    for (int i = 0; i < st->count; i++) sg_run_record_free(&st->recs[i]);
    free(st->recs);
    free(st->dir), free(st->sweep), free(st->journal_path), free(st->h5_path);
    memset(st, 0, sizeof *st);
    st->journal_fd = -1;
}
