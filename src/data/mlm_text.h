/* Text for masked-LM pretraining, as HF's run_mlm.py reads it: plain-text files (one document a
 * line) or the sentences of GLUE TSVs (every text column of every task's train split found), then
 * tokenized either line by line (--line_by_line: each non-blank line one row, truncated) or as
 * run_mlm.py's group_texts does (every line framed <s> … </s>, all concatenated, cut into blocks
 * of max_seq_length, the remainder dropped). */
#ifndef SG_MLM_TEXT_H
#define SG_MLM_TEXT_H

#include "data/tokenizer.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    size_t count;
    size_t *off, *len; /* line i is text + off[i], len[i] bytes (no newline) */
    char *text;
    size_t text_len, text_cap, cap;
} sg_text_lines;

/* Appends the lines of a plain-text file (CRLF and a missing last newline accepted; blank lines
 * kept, as HF's "text" loader keeps them). 0, or -1 naming the file (and line). */
int sg_text_lines_read_file(sg_text_lines *out, const char *path);
/* Appends text_a (and text_b) of every row of the train split of every GLUE task found under
 * dir (DIR/CoLA/train.tsv, DIR/SST-2/train.tsv, ...; MNLI once); *tasks_found counts them.
 * -1 naming dir when none is there. */
int sg_text_lines_read_glue(sg_text_lines *out, const char *dir, int *tasks_found);
int sg_text_lines_add(sg_text_lines *out, const char *s, size_t len);
void sg_text_lines_free(sg_text_lines *t);

/* Token rows [n, T], padded with <pad>, mask 1 on real tokens; lengths [n]. */
typedef struct {
    int n, T;
    int32_t *ids, *mask, *lengths;
} sg_token_rows;

/* Lines [first, first + count) into rows of T tokens. line_by_line: one row a non-blank line
 * (framed, truncated to T); else group_texts: blocks of exactly T (one shorter block when all the
 * text is shorter than T). max_rows > 0 stops after that many rows (run_mlm's max_*_samples
 * select the first rows). 0, or -1 (out of memory, a tokenizer error). */
int sg_mlm_encode(sg_tokenizer *tok, const sg_text_lines *lines, size_t first, size_t count, int T, int line_by_line,
                  int max_rows, sg_token_rows *out);
void sg_token_rows_free(sg_token_rows *r);

#endif
