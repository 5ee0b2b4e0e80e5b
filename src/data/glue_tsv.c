/* Reading GLUE TSV files (tabs only, no quoting) into sg_glue_data, and the row builder that all
 * loaders share: rows are appended into one growing string block and fixed up at the end. */
#include "data/glue.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/fileio.h"
#include "core/grow.h"
#include "core/quote.h"

/* ---- builder ---- */

static int push_text(sg_glue_builder *b, const char *s, size_t len, size_t *off) {
    size_t cap = b->text_cap;
    void *text = b->text;
    if (sg_grow(&text, &cap, b->text_len + len + 1, 1, 64) != 0) return -1;
    b->text = text;
    b->text_cap = cap;
    memcpy(b->text + b->text_len, s, len);
    b->text[b->text_len + len] = '\0';
    *off = b->text_len;
    b->text_len += len + 1;
    return 0;
}

int sg_glue_builder_add(sg_glue_builder *b, const char *a, size_t alen, const char *bt, size_t blen,
                        int label, float score) {
    if (b->n == b->cap) {
        void *rows[4] = {b->off_a, b->off_b, b->label, b->score};
        const size_t elems[4] = {sizeof *b->off_a, sizeof *b->off_b, sizeof *b->label, sizeof *b->score};
        int rc = sg_grow_parallel(rows, elems, 4, &b->cap, b->n + 1, 256);
        b->off_a = rows[0], b->off_b = rows[1], b->label = rows[2], b->score = rows[3];
        if (rc) return sg_fail("out of memory reading dataset (%zu rows)", b->n);
    }
    size_t oa, ob = SIZE_MAX;
    if (push_text(b, a, alen, &oa) != 0 || (bt && push_text(b, bt, blen, &ob) != 0))
        return sg_fail("out of memory reading dataset (%zu bytes of text)", b->text_len);
    b->off_a[b->n] = oa;
    b->off_b[b->n] = ob;
    b->label[b->n] = label;
    b->score[b->n] = score;
    b->n++;
    return 0;
}

void sg_glue_builder_skip(sg_glue_builder *b, size_t line, const char *fmt, ...) {
    if (b->skipped++ == 0) {
        b->first_skipped_line = line;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(b->skip_reason, sizeof b->skip_reason, fmt, ap);
        va_end(ap);
    }
}

void sg_glue_builder_free(sg_glue_builder *b) {
    free(b->text);
    free(b->off_a);
    free(b->off_b);
    free(b->label);
    free(b->score);
    memset(b, 0, sizeof *b);
}

int sg_glue_builder_finish(sg_glue_builder *b, int is_regression, int has_pairs, sg_glue_data *out) {
    size_t n = b->n;
    out->count = n;
    out->skipped = b->skipped;
    out->first_skipped_line = b->first_skipped_line;
    memcpy(out->skip_reason, b->skip_reason, sizeof out->skip_reason);
    out->is_regression = is_regression;
    char *storage = b->text_len ? realloc(b->text, b->text_len) : b->text; /* drop the slack */
    if (!storage) storage = b->text;
    b->text = NULL;
    out->storage = storage;
    out->storage_len = b->text_len;
    size_t rows = n ? n : 1;
    out->text_a = malloc(rows * sizeof *out->text_a);
    out->text_b = has_pairs ? malloc(rows * sizeof *out->text_b) : NULL;
    if (is_regression) {
        out->score = malloc(rows * sizeof *out->score);
    } else {
        out->label = malloc(rows * sizeof *out->label);
    }
    if (!out->text_a || (has_pairs && !out->text_b) || (is_regression ? !out->score : !out->label)) {
        sg_glue_builder_free(b);
        sg_glue_data_free(out);
        return sg_fail("out of memory reading dataset (%zu rows)", n);
    }
    for (size_t i = 0; i < n; i++) {
        out->text_a[i] = storage + b->off_a[i];
        if (has_pairs) out->text_b[i] = b->off_b[i] == SIZE_MAX ? storage + b->off_a[i] + strlen(storage + b->off_a[i]) : storage + b->off_b[i];
        if (is_regression)
            out->score[i] = b->score[i];
        else
            out->label[i] = b->label[i];
    }
    sg_glue_builder_free(b);
    return 0;
}

int sg_glue_data_set_label_names(sg_glue_data *d, const char *const *names, int count) {
    free(d->label_names);
    d->label_names = NULL;
    if (count <= 0 || !names) return 0;
    size_t bytes = (size_t)count * sizeof(char *);
    for (int i = 0; i < count; i++) bytes += strlen(names[i]) + 1;
    char **block = malloc(bytes);
    if (!block) return sg_fail("out of memory (label names)");
    char *text = (char *)(block + count);
    for (int i = 0; i < count; i++) {
        size_t len = strlen(names[i]) + 1;
        memcpy(text, names[i], len);
        block[i] = text;
        text += len;
    }
    d->label_names = block;
    return 0;
}

void sg_glue_data_free(sg_glue_data *d) {
    if (!d) return;
    free(d->text_a);
    free(d->text_b);
    free(d->label);
    free(d->score);
    free(d->label_names);
    free(d->storage);
    memset(d, 0, sizeof *d);
}

/* ---- bounded line reading ---- */

ssize_t sg_glue_getline(char **line, size_t *cap, FILE *fp) {
    size_t len = 0;
    int c = 0;
    /* getline() would grow its buffer to the whole line: read byte by byte and stop at the limit */
    while ((c = getc_unlocked(fp)) != EOF) {
        if (len + 2 > *cap) {
            size_t grown = *cap ? *cap * 2 : 256;
            if (grown > SG_GLUE_MAX_LINE_BYTES + 2) grown = SG_GLUE_MAX_LINE_BYTES + 2;
            if (len + 2 > grown) return -2; /* too long: nothing more is read */
            char *bigger = realloc(*line, grown);
            if (!bigger) return -3;
            *line = bigger;
            *cap = grown;
        }
        (*line)[len++] = (char)c;
        if (c == '\n') break;
    }
    if (len == 0) return -1;
    (*line)[len] = '\0';
    return (ssize_t)len;
}

int sg_glue_line_error(ssize_t got, const char *path, size_t line_no) {
    if (got == -2)
        return sg_fail("%s:%zu: line longer than %d bytes: refused (not a dataset file?)", path, line_no,
                       SG_GLUE_MAX_LINE_BYTES);
    return sg_fail("%s:%zu: out of memory reading a line", path, line_no);
}

/* ---- TSV ---- */

typedef struct {
    const char *p;
    size_t len;
} field;

/* Split a line at tabs (the only delimiter in GLUE files). Returns the field count or -1. */
static int split_tabs(char *line, size_t len, field **fields, size_t *cap) {
    size_t n = 0;
    const char *start = line;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || line[i] == '\t') {
            void *f = *fields;
            if (sg_grow(&f, cap, n + 1, sizeof(field), 64) != 0) return -1;
            *fields = f;
            (*fields)[n++] = (field){start, (size_t)(line + i - start)};
            start = line + i + 1;
        }
    }
    return n > INT32_MAX ? -1 : (int)n;
}

static void trim(const char **p, size_t *len) {
    while (*len && (**p == ' ' || **p == '\t')) (*p)++, (*len)--;
    while (*len && ((*p)[*len - 1] == ' ' || (*p)[*len - 1] == '\t')) (*len)--;
}

static int find_column(const field *f, int n, const char *name) {
    for (int i = 0; i < n; i++) {
        const char *p = f[i].p;
        size_t len = f[i].len;
        trim(&p, &len);
        if (len == strlen(name) && memcmp(p, name, len) == 0) return i;
    }
    return -1;
}

/* Headers are quoted with their tabs shown (\t): a header separated by spaces is a common mistake,
 * and a binary file's "header" must not reach the terminal raw. */
#define HEADER_EXCERPT 100

/* Parse a label field into a class id (or a score for regression). 0, -1 (unknown label) or -2 (a
 * score outside float range). */
static int parse_label(const sg_glue_task *task, const char *p, size_t len, int *label, float *score) {
    trim(&p, &len);
    if (task->is_regression) {
        char buf[64], *end;
        if (len == 0 || len >= sizeof buf) return -1;
        memcpy(buf, p, len);
        buf[len] = '\0';
        errno = 0;
        double v = strtod(buf, &end);
        if (*end || end == buf || !isfinite(v)) return -1;
        if (errno == ERANGE && fabs(v) < 1) errno = 0; /* underflow (1e-400): a score of ~0, as Python reads it */
        /* scores are stored as float: 1e300 would become inf and poison the loss */
        if (errno == ERANGE || !isfinite((float)v)) return -2;
        *score = (float)v;
        return 0;
    }
    for (int k = 0; k < task->num_labels; k++)
        if (strlen(task->label_tokens[k]) == len && memcmp(task->label_tokens[k], p, len) == 0) {
            *label = k;
            return 0;
        }
    return -1;
}

static void expected_labels(const sg_glue_task *task, char *out, size_t cap) {
    if (task->is_regression) {
        snprintf(out, cap, "a number");
        return;
    }
    size_t used = 0;
    out[0] = '\0';
    for (int k = 0; k < task->num_labels && used + 1 < cap; k++) {
        int w = snprintf(out + used, cap - used, "%s%s", k ? "|" : "", task->label_tokens[k]);
        if (w < 0) break;
        used += (size_t)w;
    }
}

typedef struct {
    int ncols;      /* columns every data row must have */
    int col_a, col_b, col_label; /* -1 when absent */
} tsv_columns;

static int read_header(const sg_glue_task *task, const char *path, size_t line_no, const char *line, size_t len,
                       const field *f, int n, int with_labels, tsv_columns *cols) {
    const sg_glue_layout *lay = &task->layout;
    const char *need[3] = {with_labels ? lay->col_a : lay->test_col_a, lay->col_b,
                           with_labels ? lay->col_label : NULL};
    int *slot[3] = {&cols->col_a, &cols->col_b, &cols->col_label};
    for (int i = 0; i < 3; i++) {
        *slot[i] = -1;
        if (!need[i]) continue;
        *slot[i] = find_column(f, n, need[i]);
        if (*slot[i] < 0) {
            char have[HEADER_EXCERPT + 48];
            return sg_fail("%s:%zu: header lacks column '%s' needed by task %s (header: %s)", path, line_no,
                           need[i], task->name, sg_quote(have, sizeof have, line, len, HEADER_EXCERPT));
        }
    }
    cols->ncols = n;
    return 0;
}

int sg_glue_load_tsv(const sg_glue_task *task, const char *path, int with_labels, sg_glue_data *out) {
    memset(out, 0, sizeof *out);
    if (!task) return sg_fail("%s: no task given", path);
    FILE *fp = sg_open_read(path);
    if (!fp) return -1;
    int rc = sg_glue_read_tsv(task, fp, path, with_labels, out);
    fclose(fp);
    return rc;
}

int sg_glue_read_tsv(const sg_glue_task *task, FILE *fp, const char *path, int with_labels, sg_glue_data *out) {
    memset(out, 0, sizeof *out);
    if (!task) return sg_fail("%s: no task given", path);

    const sg_glue_layout *lay = &task->layout;
    int has_header = lay->header || !with_labels; /* test files always carry a header */
    tsv_columns cols = {lay->ncols, lay->pos_a, -1, with_labels ? lay->pos_label : -1};
    int header_seen = 0, any_line = 0, rc = 0;
    char expected[128];
    expected_labels(task, expected, sizeof expected);

    sg_glue_builder b = {0};
    field *fields = NULL;
    size_t fields_cap = 0, line_cap = 0, line_no = 0;
    char *line = NULL;
    ssize_t got;
    errno = 0;
    while ((got = sg_glue_getline(&line, &line_cap, fp)) >= 0) {
        line_no++;
        size_t len = (size_t)got;
        char *s = line;
        if (line_no == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) s += 3, len -= 3;
        while (len && (s[len - 1] == '\n' || s[len - 1] == '\r')) len--;
        if (len == 0) continue; /* blank lines (e.g. a trailing empty line) carry no row */
        any_line = 1;
        int n = split_tabs(s, len, &fields, &fields_cap);
        if (n < 0) {
            rc = sg_fail("%s:%zu: out of memory", path, line_no);
            break;
        }
        if (has_header && !header_seen) {
            if (read_header(task, path, line_no, s, len, fields, n, with_labels, &cols) != 0) {
                rc = -1;
                break;
            }
            header_seen = 1;
            continue;
        }
        if (n != cols.ncols) {
            sg_glue_builder_skip(&b, line_no, "wrong column count %d (expected %d)", n, cols.ncols);
            continue;
        }
        int label = -1;
        float score = NAN;
        int parsed = cols.col_label >= 0 ? parse_label(task, fields[cols.col_label].p, fields[cols.col_label].len, &label, &score) : 0;
        if (parsed != 0) {
            char quoted[SG_QUOTE_BUF];
            sg_quote(quoted, sizeof quoted, fields[cols.col_label].p, fields[cols.col_label].len, 40);
            if (parsed == -2) sg_glue_builder_skip(&b, line_no, "score %s is not a finite 32-bit float", quoted);
            else sg_glue_builder_skip(&b, line_no, "unknown label %s (expected %s)", quoted, expected);
            continue;
        }
        const field *fa = &fields[cols.col_a], *fb = cols.col_b >= 0 ? &fields[cols.col_b] : NULL;
        if (sg_glue_builder_add(&b, fa->p, fa->len, fb ? fb->p : NULL, fb ? fb->len : 0, label, score) != 0) {
            sg_fail_context("%s:%zu", path, line_no);
            rc = -1;
            break;
        }
    }
    if (rc == 0 && got < -1) rc = sg_glue_line_error(got, path, line_no + 1);
    if (rc == 0 && ferror(fp)) rc = sg_fail("%s:%zu: read error: %s", path, line_no + 1, strerror(errno));
    free(line);
    free(fields);
    if (rc == 0 && !any_line) rc = sg_fail("%s: empty file", path);
    if (rc == 0 && b.n == 0) {
        if (b.skipped)
            rc = sg_fail("%s: no usable rows: all %zu skipped (first at line %zu: %s)", path, b.skipped,
                         b.first_skipped_line, b.skip_reason);
        else
            rc = sg_fail("%s: no data rows (header only)", path);
    }
    if (rc != 0) {
        sg_glue_builder_free(&b);
        return -1;
    }
    if (sg_glue_builder_finish(&b, task->is_regression, task->has_pairs, out) != 0) return -1;
    out->has_labels = with_labels;
    out->num_labels = task->num_labels;
    out->label_kind = SG_LABELS_TASK;
    if (!task->is_regression && sg_glue_data_set_label_names(out, task->label_names, task->num_labels) != 0) {
        sg_glue_data_free(out);
        return -1;
    }
    return 0;
}
