/* The data-parallel gradient sum's touched-rows path (parallel/row_sum.h, parallel/grad_sum.h)
 * under mpirun -n 2: it must give exactly what the dense MPI sum gives.
 *  1. sg_row_sum on random matrices whose touched rows differ by rank (some shared, some only one
 *     rank's, one rank touching none, repeated and out-of-range ids, a union over half the rows
 *     that goes dense, a larger union that grows the packed buffer): bit for bit the dense
 *     MPI_Allreduce, the union's size as counted independently, untouched rows still zero.
 *  2. sg_dp_grad_sum on a tiny classifier's whole gradient after two accumulated micro-batches with
 *     dropout (the first micro-batch's rows are touched only there): bit for bit the dense sum of
 *     the same gradient, through the touched-rows path. A masked-LM model sums its word embeddings
 *     densely (the tied decoder fills every row).
 * Driven by tests/scripts/test_dp_row_sum.sh; prints the harness's summary, exit 0 / 1. */
#include "core/rng.h"
#include "parallel/dp.h"
#include "parallel/grad_sum.h"
#include "parallel/row_sum.h"
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

enum { ROWS = 1000, COLS = 37 };

/* One case: rank r touches each row with probability p[r] (rows below `shared_below` by both when
 * both draw it); ids also repeat and hold out-of-range values. */
static void row_case(const sg_dp_group *g, sg_row_sum *s, const char *label, double p_rank0, double p_rank1,
                     uint64_t seed, int expect_dense) {
    const double p = g->rank == 0 ? p_rank0 : p_rank1;
    float *x = calloc((size_t)ROWS * COLS, sizeof(float)), *dense = malloc(sizeof(float) * ROWS * COLS);
    int32_t *ids = malloc(sizeof(int32_t) * (3 * ROWS + 2));
    int *flags = calloc(ROWS, sizeof(int));
    sg_rng r;
    sg_rng_seed(&r, seed * 1000 + (uint64_t)g->rank);
    size_t n = 0;
    for (int row = 0; row < ROWS; row++)
        if ((double)sg_rng_below(&r, 1000000) < p * 1e6) {
            ids[n++] = row;
            if (row % 3 == 0) ids[n++] = row; /* a token repeated */
            flags[row] = 1;
            for (int c = 0; c < COLS; c++) /* signs and magnitudes that make rounding matter */
                x[(size_t)row * COLS + c] = ((float)sg_rng_below(&r, 2000001) - 1e6f) * 1e-3f * (float)(1 + c % 7);
        }
    ids[n++] = -100; /* not rows: ignored */
    ids[n++] = ROWS;
    memcpy(dense, x, sizeof(float) * ROWS * COLS);
    MPI_Allreduce(MPI_IN_PLACE, dense, ROWS * COLS, MPI_FLOAT, MPI_SUM, g->comm);
    MPI_Allreduce(MPI_IN_PLACE, flags, ROWS, MPI_INT, MPI_MAX, g->comm);
    size_t expect_union = 0;
    for (int row = 0; row < ROWS; row++) expect_union += flags[row] != 0;

    sg_dp_sum sum;
    sg_dp_sum_init(&sum, g);
    sg_row_sum_clear(s);
    sg_row_sum_touch(s, ids, n / 2); /* in two calls, as micro-batches come */
    sg_row_sum_touch(s, ids + n / 2, n - n / 2);
    sg_row_sum_share(s);
    if (g->rank == 0) /* as the backward's progress calls may: this rank sees the OR done, the other does not */
        for (int done = 0; !done;) MPI_Test(&s->any_req, &done, MPI_STATUS_IGNORE);
    CHECK(sg_row_sum_start(s, &sum, x) == 0);
    sg_dp_sum_wait(&sum);
    sg_row_sum_finish(s, x);
    sg_dp_sum_free(&sum);

    size_t differ = 0, nonzero_untouched = 0;
    for (size_t i = 0; i < (size_t)ROWS * COLS; i++) {
        differ += memcmp(&x[i], &dense[i], sizeof(float)) != 0;
        nonzero_untouched += !flags[i / COLS] && x[i] != 0.0f;
    }
    CHECK_MSG(differ == 0, "%s, rank %d: %zu of %d elements differ from the dense sum", label, g->rank, differ, ROWS * COLS);
    CHECK_MSG(nonzero_untouched == 0, "%s: %zu untouched elements are not 0", label, nonzero_untouched);
    CHECK_MSG(s->union_rows == expect_union, "%s: union of %zu rows, counted independently %zu", label, s->union_rows,
              expect_union);
    CHECK_MSG(s->dense == expect_dense, "%s: summed %s", label, s->dense ? "densely" : "by rows");
    if (g->rank == 0 && differ == 0 && s->union_rows == expect_union) printf("ok   %s: union %zu of %d rows, %s, equal to the dense sum bit for bit\n", label, s->union_rows, ROWS,
                             s->dense ? "dense" : "packed");
    free(x);
    free(dense);
    free(ids);
    free(flags);
}

/* A tiny classifier (or masked LM): two micro-batches of 2 x 16 tokens per replica, ids drawn from
 * [lo, lo + span) by rank, so that the union is under half the vocabulary and differs by rank. */
enum { VOCAB = 300, B = 2, T = 16 };

static void make_batch(sg_batch *b, int32_t *ids, int32_t *mask, int32_t *labels, int rank, int micro) {
    sg_rng r;
    sg_rng_seed(&r, 77 + 10 * (uint64_t)rank + (uint64_t)micro);
    const int lo = rank == 0 ? 4 : 50, span = micro == 0 ? 40 : 60;
    for (int i = 0; i < B * T; i++) {
        ids[i] = i % T == 0 ? 0 : lo + (int)sg_rng_below(&r, (uint64_t)span);
        mask[i] = 1;
    }
    for (int i = 0; i < B; i++) labels[i] = (rank + micro + i) % 2;
    sg_batch x = {B, T, ids, mask, labels, NULL, NULL};
    *b = x;
}

/* Runs the two micro-batches; with gs, through the grad sum as the trainer does. */
static void accumulate(sg_model *m, const sg_dp_group *g, sg_dp_grad_sum *gs) {
    int32_t ids[2][B * T], mask[2][B * T], labels[2][B];
    sg_model_zero_grad(m);
    if (gs) sg_dp_grad_sum_begin(gs);
    for (int micro = 0; micro < 2; micro++) {
        sg_batch b;
        make_batch(&b, ids[micro], mask[micro], labels[micro], g->rank, micro);
        m->row_offset = g->rank * B; /* this replica's rows of a global batch of 2B */
        m->global_rows = 2 * B;
        m->step = (uint64_t)micro;
        if (gs) sg_dp_grad_sum_batch(gs, &b, micro == 1);
        sg_model_forward(m, &b, 1);
        sg_model_backward(m, &b);
    }
    m->row_offset = m->global_rows = 0;
}

static void grad_sum_case(const sg_dp_group *g) {
    sg_model_config cfg;
    CHECK(sg_model_config_preset(&cfg, "tiny", 2, VOCAB) == 0);
    sg_model m;
    CHECK(sg_model_create(&m, &cfg) == 0);
    sg_model_init_random(&m, 5);
    CHECK(sg_model_reserve(&m, B, T, 1) == 0);
    CHECK(cfg.hidden_dropout > 0.0f);
    const size_t total = m.table.total;
    float *dense = malloc(sizeof(float) * total);
    accumulate(&m, g, NULL);
    memcpy(dense, m.grads, sizeof(float) * total);
    MPI_Allreduce(MPI_IN_PLACE, dense, (int)total, MPI_FLOAT, MPI_SUM, g->comm);
    sg_dp_grad_sum gs;
    CHECK(sg_dp_grad_sum_init(&gs, g, &m) == 0);
    CHECK(gs.sparse_words == 1);
    accumulate(&m, g, &gs);
    CHECK(sg_dp_grad_sum_finish(&gs) == 0);
    CHECK(m.grads_ready == NULL && m.progress == NULL);
    size_t differ = 0;
    for (size_t i = 0; i < total; i++) differ += memcmp(&m.grads[i], &dense[i], sizeof(float)) != 0;
    const size_t word_rows = (size_t)m.table.info[P_WORD].shape[0];
    CHECK_MSG(differ == 0, "rank %d: %zu of %zu gradient elements differ from the dense sum", g->rank, differ, total);
    CHECK_MSG(!gs.words.dense && gs.words.union_rows > 40 && gs.words.union_rows < word_rows / 2,
              "the word embeddings were not summed by rows (union %zu of %zu, dense %d)", gs.words.union_rows, word_rows,
              gs.words.dense);
    if (g->rank == 0 && differ == 0 && !gs.words.dense)
        printf("ok   grad sum of a tiny classifier, 2 accumulated micro-batches, dropout on: %zu of %zu word rows summed, "
               "all %zu gradient elements equal to the dense sum bit for bit\n", gs.words.union_rows, word_rows, total);
    sg_dp_grad_sum_free(&gs);
    sg_model_free(&m);
    free(dense);

    cfg.head = SG_HEAD_MLM;
    CHECK(sg_model_create(&m, &cfg) == 0);
    CHECK(sg_model_reserve(&m, B, T, 1) == 0);
    CHECK(sg_dp_grad_sum_init(&gs, g, &m) == 0);
    CHECK_MSG(gs.sparse_words == 0, "a masked LM (decoder tied to the word embeddings) must sum them densely");
    sg_dp_grad_sum_free(&gs);
    sg_model_free(&m);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    sg_dp_group g;
    int world;
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    if (world != 2 || sg_dp_init(2, 1, &g)) {
        printf("FAIL: run under mpirun -n 2 (got %d ranks)\n", world);
        MPI_Finalize();
        return 1;
    }
    sg_row_sum s;
    CHECK(sg_row_sum_init(&s, &g, ROWS, COLS) == 0);
    row_case(&g, &s, "touched sets differing by rank", 0.10, 0.15, 1, 0);
    row_case(&g, &s, "rank 1 touches no row", 0.20, 0.0, 2, 0);
    row_case(&g, &s, "a union of over half the rows", 0.45, 0.45, 3, 1);
    const size_t cap = s.packed_cap;
    row_case(&g, &s, "a larger union than before (the packed rows grow)", 0.30, 0.10, 4, 0);
    CHECK_MSG(s.packed_cap > cap, "the packed buffer did not grow (%zu floats)", cap);
    sg_row_sum_free(&s);
    grad_sum_case(&g);
    int rc = sg_test_done();
    sg_dp_free(&g);
    MPI_Finalize();
    return rc;
}
