/* Masked-LM data (issue #18): HF's 80/10/10 masking (proportions within a tolerance, specials and
 * padding never selected, dynamic per draw, reproducible), run_mlm.py's group_texts blocks and
 * --line_by_line rows, and the sentences of every GLUE train split found. */
#include "testlib.h"

#include "core/error.h"
#include "core/fileio.h"
#include "data/mlm_mask.h"
#include "data/mlm_text.h"
#include "data/tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { N = 200000, V = 261, MASK = 260 };

static sg_mlm_masking masking(uint64_t seed) {
    sg_mlm_masking mk = {0.15f, V, {0, 1, 2, 3, MASK}, seed};
    return mk;
}

static void test_mask_proportions(void) {
    int32_t *ids = malloc(sizeof(int32_t) * N), *out = malloc(sizeof(int32_t) * N), *labels = malloc(sizeof(int32_t) * N);
    int specials = 0;
    for (int i = 0; i < N; i++) { /* every 10th a special (bos, pad, eos, unk, mask in turn), the rest words 4..259 */
        ids[i] = i % 10 == 0 ? (int32_t[]){0, 1, 2, 3, MASK}[(i / 10) % 5] : 4 + (int32_t)((i * 7919u) % 256u);
        specials += i % 10 == 0;
    }
    sg_mlm_masking mk = masking(11);
    int labelled = sg_mlm_mask(&mk, 0, ids, out, labels, N);
    int selected = 0, to_mask = 0, kept = 0, random = 0, special_labelled = 0, bad_label = 0;
    for (int i = 0; i < N; i++) {
        if (labels[i] == SG_MLM_IGNORE) {
            bad_label += out[i] != ids[i]; /* unselected tokens are untouched */
            continue;
        }
        selected++;
        special_labelled += i % 10 == 0;
        bad_label += labels[i] != ids[i];
        if (out[i] == MASK) to_mask++;
        else if (out[i] == ids[i]) kept++;
        else random++;
    }
    const double words = N - specials;
    printf("selected %.4f of words; of them <mask> %.4f, random %.4f, kept %.4f\n", selected / words, to_mask / (double)selected,
           random / (double)selected, kept / (double)selected);
    CHECK(labelled == selected);
    CHECK(special_labelled == 0);
    CHECK(bad_label == 0);
    /* 27000 selections: a binomial's std is < 0.003 of these fractions; 0.01 is > 3 std */
    CHECK_NEAR(selected / words, 0.15, 0.01);
    CHECK_NEAR(to_mask / (double)selected, 0.80, 0.01);
    /* a random id equal to the original counts as kept: 10% x 1/261 moves */
    CHECK_NEAR(random / (double)selected, 0.10, 0.01);
    CHECK_NEAR(kept / (double)selected, 0.10, 0.01);

    /* dynamic: another draw selects other tokens; the same draw (a resumed run) the same ones */
    int32_t *out2 = malloc(sizeof(int32_t) * N), *labels2 = malloc(sizeof(int32_t) * N);
    sg_mlm_mask(&mk, 1, ids, out2, labels2, N);
    int same_selection = 0;
    for (int i = 0; i < N; i++) same_selection += (labels[i] != SG_MLM_IGNORE) && (labels2[i] != SG_MLM_IGNORE);
    CHECK_MSG(same_selection < selected / 4, "draws 0 and 1 share %d of %d selections", same_selection, selected);
    sg_mlm_mask(&mk, 0, ids, out2, labels2, N);
    CHECK(memcmp(out, out2, sizeof(int32_t) * N) == 0 && memcmp(labels, labels2, sizeof(int32_t) * N) == 0);
    free(ids), free(out), free(labels), free(out2), free(labels2);
}

static void add(sg_text_lines *t, const char *s) { CHECK(sg_text_lines_add(t, s, strlen(s)) == 0); }

/* The built-in tokenizer: byte b is id 4 + b; <s> 0, <pad> 1, </s> 2. */
#define B(c) (4 + (c))

static void test_group_texts(void) {
    sg_tokenizer *tok = sg_tokenizer_builtin();
    sg_text_lines t = {0};
    add(&t, "ab");
    add(&t, "");   /* kept: HF's text loader keeps empty lines, framed as <s></s> */
    add(&t, "cde");
    sg_token_rows r;
    /* <s> a b </s> <s> </s> <s> c d e </s>: 11 tokens, blocks of 4, the last 3 dropped */
    CHECK(sg_mlm_encode(tok, &t, 0, t.count, 4, 0, 0, &r) == 0);
    const int32_t want[] = {0, B('a'), B('b'), 2, 0, 2, 0, B('c')};
    CHECK(r.n == 2 && r.T == 4);
    CHECK(r.n == 2 && memcmp(r.ids, want, sizeof want) == 0);
    for (int i = 0; i < r.n * r.T; i++) CHECK(r.mask[i] == 1);
    sg_token_rows_free(&r);
    /* max_rows: the first block only */
    CHECK(sg_mlm_encode(tok, &t, 0, t.count, 4, 0, 1, &r) == 0);
    CHECK(r.n == 1 && memcmp(r.ids, want, sizeof(int32_t) * 4) == 0);
    sg_token_rows_free(&r);
    /* all the text shorter than one block: one short row, padded */
    CHECK(sg_mlm_encode(tok, &t, 0, 1, 8, 0, 0, &r) == 0);
    const int32_t short_row[] = {0, B('a'), B('b'), 2, 1, 1, 1, 1}, short_mask[] = {1, 1, 1, 1, 0, 0, 0, 0};
    CHECK(r.n == 1 && r.lengths[0] == 4 && memcmp(r.ids, short_row, sizeof short_row) == 0 &&
          memcmp(r.mask, short_mask, sizeof short_mask) == 0);
    sg_token_rows_free(&r);
    sg_text_lines_free(&t);
    sg_tokenizer_free(tok);
}

static void test_line_by_line(void) {
    sg_tokenizer *tok = sg_tokenizer_builtin();
    sg_text_lines t = {0};
    add(&t, "ab");
    add(&t, "  \t"); /* run_mlm drops blank lines */
    add(&t, "cdefgh");
    sg_token_rows r;
    CHECK(sg_mlm_encode(tok, &t, 0, t.count, 5, 1, 0, &r) == 0);
    const int32_t want[] = {0, B('a'), B('b'), 2, 1, /* truncated, </s> kept */ 0, B('c'), B('d'), B('e'), 2};
    CHECK(r.n == 2 && memcmp(r.ids, want, sizeof want) == 0);
    CHECK(r.n == 2 && r.lengths[0] == 4 && r.lengths[1] == 5 && r.mask[4] == 0 && r.mask[9] == 1);
    sg_token_rows_free(&r);
    sg_text_lines_free(&t);
    sg_tokenizer_free(tok);
}

static void write(const char *dir, const char *sub, const char *text) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    CHECK(sg_mkdirs(path) == 0);
    *slash = '/';
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_glue_sentences(void) {
    const char *dir = sg_test_tmpdir();
    write(dir, "SST-2/train.tsv", "sentence\tlabel\nfine film \t1\nbad\t0\n");
    write(dir, "MRPC/train.tsv", "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\tA one.\tA two.\n");
    write(dir, "SST-2/dev.tsv", "sentence\tlabel\nnot read\t1\n");
    sg_text_lines t = {0};
    int tasks = 0;
    CHECK(sg_text_lines_read_glue(&t, dir, &tasks) == 0);
    CHECK(tasks == 2);
    CHECK(t.count == 4); /* SST-2's two sentences, MRPC's pair as two lines; no dev split */
    int found_pair = 0, found_dev = 0;
    for (size_t i = 0; i < t.count; i++) {
        found_pair += t.len[i] == 6 && !memcmp(t.text + t.off[i], "A two.", 6);
        found_dev += t.len[i] == 8 && !memcmp(t.text + t.off[i], "not read", 8);
    }
    CHECK(found_pair == 1 && found_dev == 0);
    sg_text_lines_free(&t);
    char empty[4200];
    snprintf(empty, sizeof empty, "%s/SST-2", dir); /* a folder with no task folders in it */
    CHECK(sg_text_lines_read_glue(&t, empty, &tasks) == -1);
    CHECK(strstr(sg_last_error(), "no GLUE train split") != NULL);
    sg_text_lines_free(&t);
    sg_remove_tree(dir);
}

int main(void) {
    test_mask_proportions();
    test_group_texts();
    test_line_by_line();
    test_glue_sentences();
    return sg_test_done();
}
