#include "data/mlm_text.h"

#include "core/error.h"
#include "core/fileio.h"
#include "core/grow.h"
#include "data/glue.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int sg_text_lines_add(sg_text_lines *t, const char *s, size_t len) {
    if (t->count == t->cap) {
        void *arrays[] = {t->off, t->len};
        const size_t elems[] = {sizeof *t->off, sizeof *t->len};
        int rc = sg_grow_parallel(arrays, elems, 2, &t->cap, t->count + 1, 1024);
        t->off = arrays[0], t->len = arrays[1];
        if (rc) return -1;
    }
    if (sg_grow((void **)&t->text, &t->text_cap, t->text_len + len + 1, 1, 1 << 16)) return -1;
    memcpy(t->text + t->text_len, s, len);
    t->off[t->count] = t->text_len;
    t->len[t->count++] = len;
    t->text_len += len;
    return 0;
}

void sg_text_lines_free(sg_text_lines *t) {
    free(t->off);
    free(t->len);
    free(t->text);
    memset(t, 0, sizeof *t);
}

int sg_text_lines_read_file(sg_text_lines *out, const char *path) {
    FILE *fp = sg_open_read(path);
    if (!fp) return -1;
    char *line = NULL;
    size_t cap = 0, line_no = 0;
    ssize_t got;
    int rc = 0;
    while (rc == 0 && (got = sg_glue_getline(&line, &cap, fp)) != -1) {
        line_no++;
        if (got < 0) {
            rc = sg_glue_line_error(got, path, line_no);
            break;
        }
        size_t n = (size_t)got;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) n--;
        rc = sg_text_lines_add(out, line, n);
    }
    if (rc == 0 && ferror(fp)) rc = sg_fail("%s: read error", path);
    free(line);
    fclose(fp);
    return rc;
}

int sg_text_lines_read_glue(sg_text_lines *out, const char *dir, int *tasks_found) {
    *tasks_found = 0;
    if (sg_require_dir(dir, "--glue_dir")) return -1;
    const char *seen[64];
    int nseen = 0;
    for (int i = 0; i < sg_glue_task_count() && nseen < 64; i++) {
        const sg_glue_task *task = sg_glue_task_at(i);
        int dup = 0; /* mnli and mnli-mm share MNLI/train.tsv */
        for (int k = 0; k < nseen; k++) dup |= strcmp(seen[k], task->folder) == 0;
        if (dup) continue;
        seen[nseen++] = task->folder;
        char path[4096];
        if (sg_glue_resolve(dir, task, SG_SPLIT_TRAIN, path, sizeof path)) { /* not there: another task may be */
            sg_clear_error();
            continue;
        }
        sg_glue_data d;
        if (sg_glue_load_tsv(task, path, 1, &d)) return -1;
        int rc = 0;
        for (size_t r = 0; r < d.count && rc == 0; r++) {
            rc = sg_text_lines_add(out, d.text_a[r], strlen(d.text_a[r]));
            if (rc == 0 && d.text_b) rc = sg_text_lines_add(out, d.text_b[r], strlen(d.text_b[r]));
        }
        sg_glue_data_free(&d);
        if (rc) return -1;
        ++*tasks_found;
    }
    if (*tasks_found == 0) return sg_fail("--glue_dir %s: no GLUE train split found (expected e.g. %s/SST-2/train.tsv)", dir, dir);
    return 0;
}

void sg_token_rows_free(sg_token_rows *r) {
    free(r->ids);
    free(r->mask);
    free(r->lengths);
    memset(r, 0, sizeof *r);
}

/* One more row of T at the end of out (capacity grows); its ids start as <pad>, mask 0. */
static int add_row(sg_token_rows *out, size_t *cap, int32_t pad) {
    if ((size_t)out->n == *cap) {
        void *arrays[] = {out->ids, out->mask, out->lengths};
        const size_t elems[] = {sizeof(int32_t) * (size_t)out->T, sizeof(int32_t) * (size_t)out->T, sizeof(int32_t)};
        int rc = sg_grow_parallel(arrays, elems, 3, cap, (size_t)out->n + 1, 256);
        out->ids = arrays[0], out->mask = arrays[1], out->lengths = arrays[2];
        if (rc) return -1;
    }
    size_t at = (size_t)out->n * out->T;
    for (int t = 0; t < out->T; t++) out->ids[at + t] = pad, out->mask[at + t] = 0;
    out->lengths[out->n++] = 0;
    return 0;
}

static int is_blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i])) return 0;
    return 1;
}

int sg_mlm_encode(sg_tokenizer *tok, const sg_text_lines *lines, size_t first, size_t count, int T, int line_by_line,
                  int max_rows, sg_token_rows *out) {
    memset(out, 0, sizeof *out);
    out->T = T;
    const int32_t pad = sg_tokenizer_specials(tok).pad;
    size_t cap = 0;
    sg_ids ids = {0};
    int rc = 0, fill = T; /* group_texts: tokens in the last row; T = a new row is needed */
    for (size_t i = first; i < first + count && rc == 0 && (max_rows <= 0 || out->n < max_rows || fill < T); i++) {
        const char *s = lines->text + lines->off[i];
        size_t n = lines->len[i];
        if (line_by_line) { /* run_mlm drops empty and whitespace-only lines */
            if (is_blank(s, n)) continue;
            if ((rc = add_row(out, &cap, pad))) break;
            size_t at = (size_t)(out->n - 1) * T;
            int real = sg_tokenizer_encode_row(tok, s, n, NULL, 0, T, out->ids + at, out->mask + at);
            if (real < 0) rc = -1;
            else out->lengths[out->n - 1] = real;
            continue;
        }
        if ((rc = sg_tokenizer_encode_framed(tok, s, n, NULL, 0, 0, &ids))) break;
        for (size_t k = 0; k < ids.len && rc == 0; k++) {
            if (fill == T) {
                if (max_rows > 0 && out->n == max_rows) break;
                if ((rc = add_row(out, &cap, pad))) break;
                fill = 0;
            }
            size_t at = (size_t)(out->n - 1) * T + (size_t)fill++;
            out->ids[at] = ids.data[k];
            out->mask[at] = 1;
            out->lengths[out->n - 1] = fill;
        }
    }
    /* group_texts drops the remainder, unless the whole text is shorter than one block */
    if (rc == 0 && !line_by_line && fill < T && out->n > 1) out->n--;
    sg_ids_free(&ids);
    if (rc) sg_token_rows_free(out);
    return rc;
}
