/* The sum of the touched rows only (parallel/row_sum.h). */
#include "parallel/row_sum.h"

#include "core/error.h"
#include "core/grow.h"

#include <stdlib.h>
#include <string.h>

int sg_row_sum_init(sg_row_sum *s, const sg_dp_group *g, size_t rows, size_t cols) {
    memset(s, 0, sizeof *s);
    s->comm = g->comm;
    s->rows = rows;
    s->cols = cols;
    s->words = (rows + 63) / 64;
    s->any_req = MPI_REQUEST_NULL;
    s->mine = calloc(s->words ? s->words : 1, sizeof *s->mine);
    s->any = calloc(s->words ? s->words : 1, sizeof *s->any);
    if (!s->mine || !s->any) {
        sg_row_sum_free(s);
        return sg_fail("out of memory for the data-parallel row bitmaps (%zu rows)", rows);
    }
    return 0;
}

void sg_row_sum_free(sg_row_sum *s) {
    if (s->mine && s->any_req != MPI_REQUEST_NULL) MPI_Wait(&s->any_req, MPI_STATUS_IGNORE); /* mine: initialised */
    free(s->mine);
    free(s->any);
    free(s->packed);
    memset(s, 0, sizeof *s);
    s->any_req = MPI_REQUEST_NULL;
}

void sg_row_sum_clear(sg_row_sum *s) { memset(s->mine, 0, sizeof *s->mine * s->words); }

void sg_row_sum_touch(sg_row_sum *s, const int32_t *ids, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (ids[i] >= 0 && (size_t)ids[i] < s->rows) s->mine[(size_t)ids[i] / 64] |= (uint64_t)1 << (ids[i] % 64);
}

void sg_row_sum_share(sg_row_sum *s) {
    if (s->any_req != MPI_REQUEST_NULL) MPI_Wait(&s->any_req, MPI_STATUS_IGNORE); /* a step that ended early */
    MPI_Iallreduce(s->mine, s->any, (int)s->words, MPI_UINT64_T, MPI_BOR, s->comm, &s->any_req);
    s->shared = 1;
}

/* Copies the union's rows between x and the packed buffer, in ascending row order. */
static void copy_union_rows(const sg_row_sum *s, float *x, int to_packed) {
    const size_t C = s->cols;
    float *p = s->packed;
    for (size_t w = 0; w < s->words; w++)
        for (uint64_t bits = s->any[w]; bits; bits &= bits - 1) {
            float *row = x + (w * 64 + (size_t)__builtin_ctzll(bits)) * C;
            if (to_packed) memcpy(p, row, sizeof(float) * C);
            else memcpy(row, p, sizeof(float) * C);
            p += C;
        }
}

int sg_row_sum_start(sg_row_sum *s, sg_dp_sum *sum, float *x) {
    if (!s->shared) sg_row_sum_share(s);
    MPI_Wait(&s->any_req, MPI_STATUS_IGNORE); /* a no-op when an MPI_Test saw it done */
    s->shared = 0;
    size_t n = 0;
    for (size_t w = 0; w < s->words; w++) n += (size_t)__builtin_popcountll(s->any[w]);
    s->union_rows = n;
    /* the same decision on every rank: the union is the same */
    s->dense = 2 * n > s->rows;
    if (s->dense) return sg_dp_sum_start(sum, x, s->rows * s->cols);
    if (sg_grow((void **)&s->packed, &s->packed_cap, n * s->cols, sizeof(float), 256 * s->cols)) return -1;
    copy_union_rows(s, x, 1);
    return sg_dp_sum_start(sum, s->packed, n * s->cols);
}

void sg_row_sum_finish(sg_row_sum *s, float *x) {
    if (!s->dense) copy_union_rows(s, x, 0);
}
