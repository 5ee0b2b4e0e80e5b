/* Custom tasks in HuggingFace run_glue's --train_file / --validation_file form: CSV (RFC 4180)
 * or JSON lines, with columns sentence1 [sentence2] (or sentence) and label. Labels are typed
 * the way HF's loaders type the column (see glue.h), then mapped to ids in sorted order. */
#include "data/glue.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "core/fileio.h"
#include "core/grow.h"
#include "core/quote.h"

/* How one row's label was written. */
enum { RAW_NONE, RAW_TEXT /* CSV cell */, RAW_STRING /* JSON string */, RAW_NUMBER /* JSON number */ };

/* Per-row label as read, kept until the whole file is seen and the label type is known. */
typedef struct {
    size_t line;
    int raw;
    size_t text_off; /* into labels_text */
    double number;   /* RAW_NUMBER */
} raw_label;

typedef struct {
    const char *path;
    sg_glue_builder rows;
    raw_label *labels;
    size_t labels_cap;
    char *labels_text;
    size_t labels_text_len, labels_text_cap;
    int has_pairs, has_label;
} custom_reader;

/* Append a row: texts into the builder, the raw label alongside (same index). */
static int add_row(custom_reader *r, size_t line, const char *a, size_t alen, const char *b, size_t blen,
                   int raw, const char *label_text, size_t label_len, double number) {
    size_t i = r->rows.n;
    void *p = r->labels;
    if (sg_grow(&p, &r->labels_cap, i + 1, sizeof(raw_label), 64) != 0) return sg_fail("%s: out of memory", r->path);
    r->labels = p;
    p = r->labels_text;
    if (sg_grow(&p, &r->labels_text_cap, r->labels_text_len + label_len + 1, 1, 64) != 0)
        return sg_fail("%s: out of memory", r->path);
    r->labels_text = p;
    r->labels[i] = (raw_label){line, raw, r->labels_text_len, number};
    if (label_len) memcpy(r->labels_text + r->labels_text_len, label_text, label_len);
    r->labels_text[r->labels_text_len + label_len] = '\0';
    r->labels_text_len += label_len + 1;
    if (sg_glue_builder_add(&r->rows, a, alen, r->has_pairs ? b : NULL, blen, -1, NAN) != 0)
        return sg_fail_context("%s:%zu", r->path, line);
    return 0;
}

static const char *label_text(const custom_reader *r, size_t i) { return r->labels_text + r->labels[i].text_off; }

/* ---- label typing ---- */

static int parse_int_text(const char *s, long long *out) {
    while (*s == ' ') s++;
    const char *p = s;
    if (*p == '-' || *p == '+') p++;
    if (*p < '0' || *p > '9') return 0;
    while (*p >= '0' && *p <= '9') p++;
    while (*p == ' ') p++;
    if (*p) return 0;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE) return 0;
    *out = v;
    return 1;
}

static int parse_float_text(const char *s, double *out) {
    char *end;
    if (!*s) return 0;
    errno = 0;
    double v = strtod(s, &end);
    while (*end == ' ') end++;
    if (end == s || *end || errno == ERANGE) return 0;
    *out = v;
    return 1;
}

static int number_is_int(double v, long long *out) {
    if (!isfinite(v) || v != floor(v) || fabs(v) > 9.0e15) return 0;
    *out = (long long)v;
    return 1;
}

static int cmp_ll(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Decide the label type of a training file the way HF's loaders would type the column. */
static int infer_kind(const custom_reader *r, int *kind) {
    int any_string = 0, any_number = 0, any_float = 0;
    size_t number_line = 0, string_line = 0;
    for (size_t i = 0; i < r->rows.n; i++) {
        const raw_label *l = &r->labels[i];
        long long iv;
        double dv;
        if (l->raw == RAW_STRING) {
            any_string = 1;
            if (!string_line) string_line = l->line;
        } else if (l->raw == RAW_NUMBER) {
            any_number = 1;
            if (!number_line) number_line = l->line;
            if (!number_is_int(l->number, &iv)) any_float = 1;
        } else if (l->raw == RAW_TEXT) {
            const char *t = label_text(r, i);
            if (parse_int_text(t, &iv)) continue;
            if (parse_float_text(t, &dv)) any_float = 1;
            else any_string = 1;
        }
    }
    if (any_string && any_number)
        return sg_fail("%s:%zu: label column mixes strings and numbers (a string at line %zu)", r->path,
                       number_line, string_line);
    *kind = any_string ? SG_LABELS_STRING : any_float ? SG_LABELS_FLOAT : SG_LABELS_INT;
    return 0;
}

/* The distinct labels of a training file, sorted (HF: label_list = sorted(unique(labels))). */
static int build_label_names(const custom_reader *r, int kind, sg_glue_data *out) {
    size_t n = r->rows.n;
    if (kind == SG_LABELS_STRING) {
        char **v = malloc((n ? n : 1) * sizeof *v);
        if (!v) return sg_fail("%s: out of memory", r->path);
        for (size_t i = 0; i < n; i++) v[i] = (char *)label_text(r, i);
        qsort(v, n, sizeof *v, cmp_str);
        size_t u = 0;
        for (size_t i = 0; i < n; i++)
            if (u == 0 || strcmp(v[u - 1], v[i]) != 0) v[u++] = v[i];
        int rc = u > 100000 ? sg_fail("%s: %zu distinct labels (not a classification column?)", r->path, u)
                            : sg_glue_data_set_label_names(out, (const char *const *)v, (int)u);
        out->num_labels = (int)u;
        free(v);
        return rc;
    }
    long long *v = malloc((n ? n : 1) * sizeof *v);
    if (!v) return sg_fail("%s: out of memory", r->path);
    for (size_t i = 0; i < n; i++) {
        if (r->labels[i].raw == RAW_NUMBER) number_is_int(r->labels[i].number, &v[i]);
        else parse_int_text(label_text(r, i), &v[i]);
    }
    qsort(v, n, sizeof *v, cmp_ll);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || v[u - 1] != v[i]) v[u++] = v[i];
    if (u > 100000) {
        free(v);
        return sg_fail("%s: %zu distinct integer labels (not a classification column?)", r->path, u);
    }
    char *text = malloc(u * 24 + 1);
    char **names = malloc((u ? u : 1) * sizeof *names);
    int rc = -1;
    if (text && names) {
        for (size_t i = 0; i < u; i++) {
            names[i] = text + i * 24;
            snprintf(names[i], 24, "%lld", v[i]);
        }
        rc = sg_glue_data_set_label_names(out, (const char *const *)names, (int)u);
    } else {
        sg_fail("%s: out of memory", r->path);
    }
    out->num_labels = (int)u;
    free(text);
    free(names);
    free(v);
    return rc;
}

/* Map row i's raw label into the label space (kind, names). Returns 0, or -1 with a reason. */
static int map_label(const custom_reader *r, size_t i, int kind, char *const *names, int num, int *label,
                     float *score, char *why, size_t why_cap) {
    const raw_label *l = &r->labels[i];
    const char *t = label_text(r, i);
    char quoted[SG_QUOTE_BUF]; /* labels come from the file: an excerpt, escaped */
    long long iv;
    double dv;
    if (kind == SG_LABELS_FLOAT) {
        if (l->raw == RAW_NUMBER) dv = l->number;
        else if (l->raw != RAW_TEXT || !parse_float_text(t, &dv)) {
            snprintf(why, why_cap, "label %s is not a number (regression task)", sg_quote(quoted, sizeof quoted, t, strlen(t), 40));
            return -1;
        }
        if (!isfinite((float)dv)) { /* scores are floats: 1e300 would become inf and poison the loss */
            snprintf(why, why_cap, "label %s is not a finite 32-bit float", sg_quote(quoted, sizeof quoted, t, strlen(t), 40));
            return -1;
        }
        *score = (float)dv;
        return 0;
    }
    if (kind == SG_LABELS_INT) {
        int ok = l->raw == RAW_NUMBER ? number_is_int(l->number, &iv) : l->raw == RAW_TEXT && parse_int_text(t, &iv);
        if (ok) {
            for (int k = 0; k < num; k++) { /* names are sorted numerically */
                long long nk = strtoll(names[k], NULL, 10);
                if (nk == iv) {
                    *label = k;
                    return 0;
                }
            }
        }
    } else {
        /* string labels (or a GLUE task's names): exact match; a GLUE space also takes ids */
        if (l->raw != RAW_NUMBER)
            for (int k = 0; k < num; k++)
                if (strcmp(names[k], t) == 0) {
                    *label = k;
                    return 0;
                }
        if (kind == SG_LABELS_TASK &&
            (l->raw == RAW_NUMBER ? number_is_int(l->number, &iv) : parse_int_text(t, &iv)) && iv >= 0 && iv < num) {
            *label = (int)iv;
            return 0;
        }
    }
    snprintf(why, why_cap, "unknown label %s (not among the %d training labels)", sg_quote(quoted, sizeof quoted, t, strlen(t), 40), num);
    return -1;
}

/* Type the labels, map them to ids and drop rows whose label does not map. */
static int finish_labels(custom_reader *r, const sg_glue_data *space, sg_glue_data *out) {
    int kind = SG_LABELS_STRING;
    if (space) {
        kind = space->is_regression ? SG_LABELS_FLOAT : space->label_kind;
        if (!space->is_regression &&
            sg_glue_data_set_label_names(out, (const char *const *)space->label_names, space->num_labels) != 0)
            return -1;
        out->num_labels = space->num_labels;
    } else if (!r->has_label) {
        kind = SG_LABELS_STRING; /* nothing to type; no label names */
    } else {
        if (infer_kind(r, &kind) != 0) return -1;
        if (kind == SG_LABELS_FLOAT) out->num_labels = 1;
        else if (build_label_names(r, kind, out) != 0) return -1;
    }
    out->label_kind = kind;
    out->is_regression = kind == SG_LABELS_FLOAT;
    if (!r->has_label) return 0;
    sg_glue_builder *b = &r->rows;
    size_t keep = 0;
    char why[160];
    for (size_t i = 0; i < b->n; i++) {
        int label = -1;
        float score = NAN;
        if (map_label(r, i, kind, out->label_names, out->num_labels, &label, &score, why, sizeof why) != 0) {
            sg_glue_builder_skip(b, r->labels[i].line, "%s", why);
            continue;
        }
        b->off_a[keep] = b->off_a[i];
        b->off_b[keep] = b->off_b[i];
        b->label[keep] = label;
        b->score[keep] = score;
        keep++;
    }
    b->n = keep;
    return 0;
}

/* ---- CSV (RFC 4180: quoted fields, "" escapes, newlines inside quotes) ---- */

typedef struct {
    FILE *fp;
    char *line;
    size_t line_cap, line_no;
    ssize_t line_error; /* -2 / -3 from sg_glue_getline */
    char *buf; /* unescaped fields, each NUL-terminated */
    size_t buf_len, buf_cap;
    size_t *start;
    size_t nf, start_cap;
} csv_reader;

static int csv_put(csv_reader *c, char ch) {
    void *p = c->buf;
    if (sg_grow(&p, &c->buf_cap, c->buf_len + 1, 1, 64) != 0) return -1;
    c->buf = p;
    c->buf[c->buf_len++] = ch;
    return 0;
}

/* Next physical line without its line end; -1 at EOF. */
static ssize_t csv_getline(csv_reader *c) {
    ssize_t got = sg_glue_getline(&c->line, &c->line_cap, c->fp);
    if (got < -1) c->line_error = got;
    if (got < 0) return -1;
    c->line_no++;
    size_t len = (size_t)got;
    if (c->line_no == 1 && len >= 3 && memcmp(c->line, "\xEF\xBB\xBF", 3) == 0) {
        memmove(c->line, c->line + 3, len - 2);
        len -= 3;
    }
    if (len && c->line[len - 1] == '\n') len--;
    if (len && c->line[len - 1] == '\r') len--;
    return (ssize_t)len;
}

/* Read one record. 1 = got one (its first line in *record_line), 0 = EOF, -1 = error. */
static int csv_record(csv_reader *c, const char *path, size_t *record_line) {
    ssize_t len;
    do len = csv_getline(c);
    while (len == 0); /* blank lines are skipped, as pandas does */
    if (len < 0) return c->line_error ? sg_glue_line_error(c->line_error, path, c->line_no + 1) : 0;
    *record_line = c->line_no;
    c->nf = 0;
    c->buf_len = 0;
    const char *p = c->line, *end = c->line + len;
    for (;;) {
        void *s = c->start;
        if (sg_grow(&s, &c->start_cap, c->nf + 1, sizeof(size_t), 64) != 0) return sg_fail("%s: out of memory", path);
        c->start = s;
        c->start[c->nf++] = c->buf_len;
        if (p < end && *p == '"') {
            p++;
            for (;;) {
                if (p == end) { /* the quoted field continues on the next line */
                    len = csv_getline(c);
                    if (len < 0 && c->line_error) return sg_glue_line_error(c->line_error, path, c->line_no + 1);
                    if (len < 0) return sg_fail("%s:%zu: unterminated quoted field", path, *record_line);
                    if (c->buf_len + (size_t)len > SG_GLUE_MAX_LINE_BYTES)
                        return sg_fail("%s:%zu: record longer than %d bytes (a quoted field left open?): refused",
                                       path, *record_line, SG_GLUE_MAX_LINE_BYTES);
                    if (csv_put(c, '\n') != 0) return sg_fail("%s: out of memory", path);
                    p = c->line;
                    end = c->line + len;
                    continue;
                }
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        if (csv_put(c, '"') != 0) return sg_fail("%s: out of memory", path);
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                if (csv_put(c, *p++) != 0) return sg_fail("%s: out of memory", path);
            }
        }
        while (p < end && *p != ',') /* unquoted text (or stray text after a closing quote) */
            if (csv_put(c, *p++) != 0) return sg_fail("%s: out of memory", path);
        if (csv_put(c, '\0') != 0) return sg_fail("%s: out of memory", path);
        if (p < end && *p == ',') {
            p++;
            continue;
        }
        return 1;
    }
}

static const char *csv_field(const csv_reader *c, size_t i) { return c->buf + c->start[i]; }

static int csv_column(const csv_reader *c, const char *name) {
    for (size_t i = 0; i < c->nf; i++)
        if (strcmp(csv_field(c, i), name) == 0) return (int)i;
    return -1;
}

/* The header's fields joined by ",", quoted as a short escaped excerpt (the file may be binary). */
#define HEADER_EXCERPT 100
static void csv_header_quote(const csv_reader *c, char *out, size_t cap) {
    size_t total = 0;
    for (size_t i = 0; i < c->nf; i++) total += strlen(csv_field(c, i)) + (i > 0);
    char *joined = malloc(total + 1);
    if (!joined) {
        snprintf(out, cap, "(%zu fields)", c->nf);
        return;
    }
    size_t used = 0;
    for (size_t i = 0; i < c->nf; i++) {
        size_t n = strlen(csv_field(c, i));
        if (i) joined[used++] = ',';
        memcpy(joined + used, csv_field(c, i), n);
        used += n;
    }
    sg_quote(out, cap, joined, used, HEADER_EXCERPT);
    free(joined);
}

static int read_csv(custom_reader *r, FILE *fp) {
    csv_reader c = {.fp = fp};
    size_t line = 0;
    int rc = csv_record(&c, r->path, &line);
    if (rc == 0) rc = sg_fail("%s: empty file", r->path);
    int col_a = -1, col_b = -1, col_label = -1;
    if (rc == 1) {
        col_a = csv_column(&c, "sentence1");
        col_b = col_a >= 0 ? csv_column(&c, "sentence2") : -1;
        if (col_a < 0) col_a = csv_column(&c, "sentence");
        col_label = csv_column(&c, "label");
        if (col_a < 0) {
            char have[HEADER_EXCERPT + 48];
            csv_header_quote(&c, have, sizeof have);
            rc = sg_fail("%s:%zu: header lacks column 'sentence1' (or 'sentence') (header: %s)", r->path, line, have);
        }
    }
    size_t ncols = c.nf;
    r->has_pairs = col_b >= 0;
    r->has_label = col_label >= 0;
    while (rc == 1 && (rc = csv_record(&c, r->path, &line)) == 1) {
        if (c.nf != ncols) {
            sg_glue_builder_skip(&r->rows, line, "wrong column count %zu (expected %zu)", c.nf, ncols);
            continue;
        }
        const char *lt = col_label >= 0 ? csv_field(&c, (size_t)col_label) : "";
        if (col_label >= 0 && !*lt) {
            sg_glue_builder_skip(&r->rows, line, "empty label");
            continue;
        }
        const char *a = csv_field(&c, (size_t)col_a), *b = col_b >= 0 ? csv_field(&c, (size_t)col_b) : NULL;
        if (add_row(r, line, a, strlen(a), b, b ? strlen(b) : 0, col_label >= 0 ? RAW_TEXT : RAW_NONE, lt,
                    strlen(lt), 0) != 0)
            rc = -1;
    }
    if (rc == 0 && ferror(fp)) rc = sg_fail("%s: read error", r->path);
    free(c.line);
    free(c.buf);
    free(c.start);
    return rc < 0 ? -1 : 0;
}

/* ---- JSON lines ---- */

static int read_jsonl(custom_reader *r, FILE *fp) {
    char *line = NULL;
    size_t cap = 0, line_no = 0;
    ssize_t got = -1;
    int rc = 0, keys_known = 0, any = 0;
    const char *key_a = "sentence1", *key_b = NULL;
    while (rc == 0 && (got = sg_glue_getline(&line, &cap, fp)) >= 0) {
        line_no++;
        char *s = line;
        size_t len = (size_t)got;
        if (line_no == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) s += 3, len -= 3;
        while (len && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ' || s[len - 1] == '\t')) len--;
        while (len && (*s == ' ' || *s == '\t')) s++, len--;
        if (len == 0) continue;
        if (!any && *s == '[') {
            rc = sg_fail("%s:%zu: a JSON array; expected JSON lines (one object per line)", r->path, line_no);
            break;
        }
        any = 1;
        cJSON *obj = cJSON_ParseWithLength(s, len);
        if (!obj || !cJSON_IsObject(obj)) {
            sg_glue_builder_skip(&r->rows, line_no, "not a JSON object");
            cJSON_Delete(obj);
            continue;
        }
        if (!keys_known) { /* the first object fixes the columns, as the first CSV line does */
            if (!cJSON_GetObjectItemCaseSensitive(obj, "sentence1")) key_a = "sentence";
            if (!cJSON_GetObjectItemCaseSensitive(obj, key_a)) {
                rc = sg_fail("%s:%zu: object lacks key 'sentence1' (or 'sentence')", r->path, line_no);
                cJSON_Delete(obj);
                break;
            }
            if (strcmp(key_a, "sentence1") == 0 && cJSON_GetObjectItemCaseSensitive(obj, "sentence2"))
                key_b = "sentence2";
            r->has_pairs = key_b != NULL;
            r->has_label = cJSON_GetObjectItemCaseSensitive(obj, "label") != NULL;
            keys_known = 1;
        }
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(obj, key_a);
        const cJSON *b = key_b ? cJSON_GetObjectItemCaseSensitive(obj, key_b) : NULL;
        const cJSON *label = r->has_label ? cJSON_GetObjectItemCaseSensitive(obj, "label") : NULL;
        if (!cJSON_IsString(a) || (key_b && !cJSON_IsString(b))) {
            sg_glue_builder_skip(&r->rows, line_no, "'%s' missing or not a string", cJSON_IsString(a) ? key_b : key_a);
        } else if (r->has_label && !cJSON_IsString(label) && !cJSON_IsNumber(label)) {
            sg_glue_builder_skip(&r->rows, line_no, "label missing, null or not a string/number");
        } else {
            int raw = !r->has_label ? RAW_NONE : cJSON_IsString(label) ? RAW_STRING : RAW_NUMBER;
            char num[32] = "";
            const char *lt = num;
            if (raw == RAW_STRING) lt = label->valuestring;
            else if (raw == RAW_NUMBER) snprintf(num, sizeof num, "%.17g", label->valuedouble);
            if (add_row(r, line_no, a->valuestring, strlen(a->valuestring), b ? b->valuestring : NULL,
                        b ? strlen(b->valuestring) : 0, raw, lt, strlen(lt), raw == RAW_NUMBER ? label->valuedouble : 0) != 0)
                rc = -1;
        }
        cJSON_Delete(obj);
    }
    if (rc == 0 && got < -1) rc = sg_glue_line_error(got, r->path, line_no + 1);
    if (rc == 0 && ferror(fp)) rc = sg_fail("%s: read error", r->path);
    if (rc == 0 && !any) rc = sg_fail("%s: empty file", r->path);
    free(line);
    return rc;
}

static int has_suffix(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

int sg_glue_load_custom(const char *path, const sg_glue_data *label_space, sg_glue_data *out) {
    memset(out, 0, sizeof *out);
    if (sg_path_kind_of(path) == SG_PATH_DIR) return sg_require_file(path, NULL); /* before the suffix */
    int csv = has_suffix(path, ".csv");
    if (!csv && !has_suffix(path, ".json") && !has_suffix(path, ".jsonl"))
        return sg_fail("%s: unsupported file type (expected .csv, .json or .jsonl)", path);
    FILE *fp = sg_open_read(path);
    if (!fp) return -1;
    int rc = sg_glue_read_custom(fp, path, label_space, out);
    fclose(fp);
    return rc;
}

int sg_glue_read_custom(FILE *fp, const char *path, const sg_glue_data *label_space, sg_glue_data *out) {
    memset(out, 0, sizeof *out);
    int csv = has_suffix(path, ".csv");
    if (!csv && !has_suffix(path, ".json") && !has_suffix(path, ".jsonl"))
        return sg_fail("%s: unsupported file type (expected .csv, .json or .jsonl)", path);
    custom_reader r = {.path = path};
    int rc = csv ? read_csv(&r, fp) : read_jsonl(&r, fp);
    if (rc == 0) rc = finish_labels(&r, label_space, out);
    if (rc == 0 && r.rows.n == 0) {
        if (r.rows.skipped)
            rc = sg_fail("%s: no usable rows: all %zu skipped (first at line %zu: %s)", path, r.rows.skipped,
                         r.rows.first_skipped_line, r.rows.skip_reason);
        else
            rc = sg_fail("%s: no data rows (header only)", path);
    }
    free(r.labels);
    free(r.labels_text);
    if (rc != 0) {
        sg_glue_builder_free(&r.rows);
        sg_glue_data_free(out);
        return -1;
    }
    /* finish fills the arrays; keep the label fields finish_labels set */
    sg_glue_data labels = *out;
    memset(out, 0, sizeof *out);
    if (sg_glue_builder_finish(&r.rows, labels.is_regression, r.has_pairs, out) != 0) {
        free(labels.label_names);
        return -1;
    }
    out->label_names = labels.label_names;
    out->num_labels = labels.num_labels;
    out->label_kind = labels.label_kind;
    out->has_labels = r.has_label;
    return 0;
}
