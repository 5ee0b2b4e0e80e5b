/* GLUE tasks: the task table (names, folders, labels, metrics, file names) and loaders for the
 * original GLUE TSV distribution and for HuggingFace-style custom CSV / JSON-lines files.
 *
 * TSV reading follows the GLUE files as distributed: only tabs delimit (no quoting, so quote
 * characters are ordinary text), a UTF-8 BOM, CRLF line ends and a missing final newline are
 * accepted, blank lines are ignored, and a row with the wrong column count or an unknown /
 * unparseable label is skipped and counted (sg_glue_data.skipped) rather than failing the load.
 * Label ids follow HuggingFace `datasets` (glue config): MNLI entailment=0 neutral=1
 * contradiction=2; QNLI/RTE entailment=0 not_entailment=1; CoLA/SST-2/MRPC/QQP/WNLI as written
 * (0/1); STS-B a float score. */
#ifndef SG_GLUE_H
#define SG_GLUE_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "core/error.h"
#include "data/metrics.h"

typedef enum {
    SG_SPLIT_TRAIN,
    SG_SPLIT_DEV,            /* MNLI: dev_matched (task mnli) or dev_mismatched (task mnli-mm) */
    SG_SPLIT_DEV_MISMATCHED, /* MNLI's second dev set; only tasks mnli / mnli-mm have it */
    SG_SPLIT_TEST,           /* unlabelled: labels -1, scores NaN */
    SG_SPLIT_TEST_MISMATCHED,
    SG_SPLIT_COUNT
} sg_glue_split;

/* Column layout of a task's files. Columns are found by header name; CoLA's train/dev files have
 * no header and use fixed positions (positions are used only when header == 0). */
typedef struct {
    int header;          /* train/dev files start with a header line */
    const char *col_a;   /* first text column (header name) */
    const char *col_b;   /* second text column, NULL for single-sentence tasks */
    const char *col_label;
    int pos_a, pos_label, ncols; /* header-less layout: positions and exact column count */
    const char *test_col_a;      /* test.tsv always has a header; its first text column */
} sg_glue_layout;

typedef struct {
    const char *name;          /* canonical lower-case name: "cola", "sst2", ..., "mnli-mm" */
    const char *folder;        /* GLUE folder: "CoLA", "SST-2", "MRPC", "STS-B", "QQP", "MNLI", ... */
    int num_labels;            /* 1 for regression (STS-B), as HF's num_labels */
    const char *const *label_names; /* id2label (HF names), num_labels entries; NULL for regression */
    const char *const *label_tokens; /* how each label id is written in the TSV files */
    int is_regression;
    int has_pairs;
    unsigned metrics;          /* SG_METRIC_* set HF `evaluate` reports for this task */
    const char *split_files[SG_SPLIT_COUNT]; /* file name per split, NULL where the task has none */
    sg_glue_layout layout;
} sg_glue_task;

/* Case-insensitive lookup by name or alias (cola, sst2, sst-2, mrpc, stsb, sts-b, qqp, mnli,
 * mnli-m, mnli-mm, mnli_mismatched, qnli, rte, wnli, ...). Unknown: NULL and sg_fail listing the
 * valid names. */
const sg_glue_task *sg_glue_task_find(const char *name);
int sg_glue_task_count(void);
const sg_glue_task *sg_glue_task_at(int i);
/* "cola, sst2, mrpc, stsb, qqp, mnli, mnli-mm, qnli, rte, wnli" */
const char *sg_glue_task_names(void);

/* "train", "dev" (also "validation"), "dev_mismatched", "test", "test_mismatched". */
const char *sg_glue_split_name(sg_glue_split split);
int sg_glue_split_parse(const char *name, sg_glue_split *out); /* 0, or -1 (sg_fail) */
/* File name of a split ("dev.tsv", "dev_matched.tsv", ...), NULL if the task has no such split. */
const char *sg_glue_split_file(const sg_glue_task *task, sg_glue_split split);

/* --data_dir semantics: (DIR, task, split) -> DIR/<folder>/<file>, e.g. DIR/SST-2/dev.tsv.
 * Checks that the folder and the file exist; errors name the missing path. 0 or -1. */
int sg_glue_resolve(const char *data_dir, const sg_glue_task *task, sg_glue_split split,
                    char *path, size_t cap);

/* A loaded dataset. All strings live in one block (`storage`); text_b is NULL for single-sentence
 * data. `label` is set for classification (class id, -1 when unlabelled), `score` for regression
 * (NaN when unlabelled); the other array is NULL. */
typedef struct {
    size_t count;
    size_t skipped;            /* rows dropped: wrong column count, unknown/unparseable label */
    size_t first_skipped_line; /* 1-based line of the first skipped row, 0 if none */
    char skip_reason[160];     /* why that row was skipped ("wrong column count 3 (expected 4)") */
    char **text_a;
    char **text_b;
    int *label;
    float *score;
    int has_labels;            /* 0 for test files (labels absent) */
    int is_regression;
    int num_labels;            /* 1 for regression */
    /* Label names by id (one owned allocation; NULL for regression). GLUE tasks: HF's id2label
     * names. Custom files: the distinct label values as written, in id order. */
    char **label_names;        /* (int labels: their decimal text, e.g. "-1", "0", "10") */
    int label_kind;            /* SG_LABELS_*: how custom labels were typed (GLUE: SG_LABELS_TASK) */
    char *storage;
    size_t storage_len;
} sg_glue_data;

enum { SG_LABELS_TASK, SG_LABELS_STRING, SG_LABELS_INT, SG_LABELS_FLOAT };

/* Load one TSV file in the task's layout. with_labels = 0 reads a test file (no label column).
 * Errors (0 rows, missing column, unreadable file) name the file and line; returns 0 or -1. */
int sg_glue_load_tsv(const sg_glue_task *task, const char *path, int with_labels, sg_glue_data *out);
/* The same from an open stream (e.g. fmemopen); `path` names it in messages. */
int sg_glue_read_tsv(const sg_glue_task *task, FILE *fp, const char *path, int with_labels, sg_glue_data *out);
/* sg_glue_resolve + sg_glue_load_tsv; test splits load without labels. */
int sg_glue_load(const char *data_dir, const sg_glue_task *task, sg_glue_split split,
                 sg_glue_data *out);

/* HuggingFace run_glue's --train_file / --validation_file form: `.csv` (RFC 4180, header) or
 * `.json` / `.jsonl` (JSON lines: one object per line). Text columns: sentence1 [+ sentence2],
 * or sentence. Label column `label`; absent means unlabelled (prediction files).
 * Blank lines are ignored; rows with the wrong field count, an empty (CSV) or null (JSON) label,
 * or a text field that is not a string are skipped and counted, like bad TSV rows.
 * Label typing follows HF (regression iff the label column's dtype is float):
 *   - any label that is not a number             -> strings, ids in sorted (byte) order;
 *   - CSV: all integers                           -> ints, ids in numeric sorted order
 *          (labels 0..k-1 keep their values); any number written with '.', 'e' or
 *          "nan"/"inf" spelling makes the column float -> regression, as pandas infers;
 *   - JSON: numbers; any non-integral value -> regression (cJSON cannot see whether 2.0 was
 *          written as 2.0 or 2, so an all-integral float column is read as ints: documented
 *          difference from HF).
 * label_space: NULL to derive labels from this file (training file); or the training data, so a
 * validation file uses the same ids (labels not in it are skipped and counted). */
int sg_glue_load_custom(const char *path, const sg_glue_data *label_space, sg_glue_data *out);
/* The same from an open stream; `path` names it in messages and its suffix picks the format. */
int sg_glue_read_custom(FILE *fp, const char *path, const sg_glue_data *label_space, sg_glue_data *out);

/* Every loader refuses a line (a CSV record) longer than this, with "file:line: line longer than
 * ...", before reading the rest of it: memory stays bounded on a hostile file. GLUE's longest
 * line is 1.5 KB. */
#define SG_GLUE_MAX_LINE_BYTES (1 << 20)

void sg_glue_data_free(sg_glue_data *d);

/* ---- shared by the loaders in src/data/glue_*.c (not for other callers) ---- */
/* getline() with the line limit: length (with its '\n'), -1 at EOF, -2 too long, -3 out of memory. */
ssize_t sg_glue_getline(char **line, size_t *cap, FILE *fp);
/* The error for a -2 / -3 from sg_glue_getline at `line_no`; returns -1. */
int sg_glue_line_error(ssize_t got, const char *path, size_t line_no);
typedef struct {
    char *text;
    size_t text_len, text_cap;
    size_t *off_a, *off_b; /* offsets into text; SIZE_MAX for "no text_b" */
    int *label;
    float *score;
    size_t n, cap;
    size_t skipped, first_skipped_line;
    char skip_reason[160];
} sg_glue_builder;

int sg_glue_builder_add(sg_glue_builder *b, const char *a, size_t alen, const char *bt, size_t blen,
                        int label, float score);
/* Count a dropped row; the first one's line and reason are kept for the caller's report. */
void sg_glue_builder_skip(sg_glue_builder *b, size_t line, const char *fmt, ...) SG_PRINTF(3, 4);
/* Moves the rows into `out` (text pointers fixed up, label/score per is_regression) and resets b. */
int sg_glue_builder_finish(sg_glue_builder *b, int is_regression, int has_pairs, sg_glue_data *out);
void sg_glue_builder_free(sg_glue_builder *b);
/* Give d its own copy of the label names (one allocation). 0 or -1. */
int sg_glue_data_set_label_names(sg_glue_data *d, const char *const *names, int count);

#endif
