/* The distributed linear products, in PBLAS's column-major terms (a row-major [r, c] buffer is a
 * column-major [c, r] matrix). Weights: Wᵀ [I, O], its columns (= HF rows) block-cyclic in blocks
 * of nb_features over the 1 x P grid. Activations are replicated on every rank.
 *   forward   Y  [rows, O] = X [rows, I] · Wᵀ     X: a transposed copy, replicated (CSRC = -1);
 *                                                 Y: columns block-cyclic like Wᵀ's
 *   backward  dWᵀ [I, O] += Xᵀ [I, rows] · dY     Xᵀ: the model's buffer as is, replicated;
 *                                                 dY [rows, O]: this rank's columns, copied out
 *             dXᵀ [I, rows] = Wᵀ · dYᵀ [O, rows]  dYᵀ: the model's buffer as is, replicated;
 *                                                 dXᵀ: columns (tokens) block-cyclic, nb_tokens
 * Each product is laid out so that PBLAS splits the work: forward and dW need no communication at
 * all (a replicated operand times an aligned one), dX sums over O, which the ranks share, so PBLAS
 * either broadcasts the weight's panels or sums partial products, whichever it estimates cheaper.
 * A distributed result (Y, dX) is then all-gathered into the replicated buffer the model uses.
 * (Replicated outputs — CSRC = -1 on C — are legal PBLAS too, but then it computes the whole
 * product on every rank: no speed-up. tests/tools/tp_check.c checks the replicas stay identical.) */
#include "parallel/scalapack.h"
#include "parallel/tp_internal.h"

#include "blas/gemm.h"

#include <string.h>

static void describe(int *d, int ictxt, int m, int n, int nb, int csrc, int lld) {
    d[SG_DTYPE_] = 1; /* BLOCK_CYCLIC_2D */
    d[SG_CTXT_] = ictxt;
    d[SG_M_] = m;
    d[SG_N_] = n;
    d[SG_MB_] = m > 0 ? m : 1; /* one process row: rows are never split */
    d[SG_NB_] = nb > 0 ? nb : 1;
    d[SG_RSRC_] = 0;
    d[SG_CSRC_] = csrc; /* 0: columns block-cyclic from process column 0; -1: replicated */
    d[SG_LLD_] = lld > 0 ? lld : 1;
}

/* dst[c·ldd + r] = src[r·lds + c] for r < R, c < C, in cache-sized tiles. */
static void transpose(float *dst, int ldd, const float *src, int lds, int R, int C) {
    enum { TILE = 32 };
#pragma omp parallel for collapse(2) schedule(static)
    for (int r0 = 0; r0 < R; r0 += TILE)
        for (int c0 = 0; c0 < C; c0 += TILE) {
            const int r1 = r0 + TILE < R ? r0 + TILE : R, c1 = c0 + TILE < C ? c0 + TILE : C;
            for (int r = r0; r < r1; r++)
                for (int c = c0; c < c1; c++) dst[(size_t)c * ldd + r] = src[(size_t)r * lds + c];
        }
}

/* Block k of a rank's share: its first local index j0 = k·nb maps to global g0; w columns wide. */
static int block_width(int n, int nb, int g0) { return n - g0 < nb ? n - g0 : nb; }

static void timed_psgemm(sg_tp_model *t, const char *ta, const char *tb, int m, int n, int k, const float *a,
                         const int *da, const float *b, const int *db, float beta, float *c, const int *dc) {
    const int one_i = 1;
    const float one = 1.0f;
    double t0 = MPI_Wtime();
    psgemm_(ta, tb, &m, &n, &k, &one, a, &one_i, &one_i, da, b, &one_i, &one_i, db, &beta, c, &one_i, &one_i, dc);
    t->stats.gemm_seconds += MPI_Wtime() - t0;
    t->stats.products++;
}

/* counts/displs of a result whose `ncols` columns of `col_len` floats are block-cyclic in blocks of nb. */
static void plan_gather(sg_tp_model *t, int ncols, int nb, int col_len) {
    const int P = t->g->size;
    int at = 0;
    for (int r = 0; r < P; r++) {
        t->counts[r] = col_len * sg_tp_owned(ncols, nb, r, P);
        t->displs[r] = at;
        at += t->counts[r];
    }
}

static void all_gather(sg_tp_model *t) {
    const sg_tp_group *g = t->g;
    double t0 = MPI_Wtime();
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, t->gathered, t->counts, t->displs, MPI_FLOAT, g->comm);
    t->stats.gather_seconds += MPI_Wtime() - t0;
    double total = 0.0;
    for (int r = 0; r < g->size; r++) total += t->counts[r];
    t->stats.gathered_bytes += 4.0 * (total - t->counts[g->rank]);
}

void sg_tp_linear_forward(sg_tp_model *t, float *out, const float *inp, const float *W, const float *bias, int rows,
                          int in_dim, int out_dim) {
    const sg_tp_group *g = t->g;
    const int P = g->size, me = g->rank, nb = t->layout.nb_features;
    /* X column-major [rows, I]: the transpose of the row-major buffer */
    float *x = t->operand;
    transpose(x, rows, inp, in_dim, rows, in_dim);
    plan_gather(t, out_dim, nb, rows);
    float *mine = t->gathered + t->displs[me]; /* Y's local columns, [rows, local O] */
    const int local_o = sg_tp_owned(out_dim, nb, me, P);
    float beta = 0.0f;
    if (bias) { /* start from the bias, as sg_linear_forward does */
        for (int j = 0; j < local_o; j++) {
            const float b = bias[sg_tp_local_to_global(j, nb, me, P)];
            for (int n = 0; n < rows; n++) mine[(size_t)j * rows + n] = b;
        }
        beta = 1.0f;
    }
    int da[SG_DLEN_], dw[SG_DLEN_], dy[SG_DLEN_];
    describe(da, g->ictxt, rows, in_dim, in_dim, -1, rows);
    describe(dw, g->ictxt, in_dim, out_dim, nb, 0, in_dim);
    describe(dy, g->ictxt, rows, out_dim, nb, 0, rows);
    timed_psgemm(t, "N", "N", rows, out_dim, in_dim, x, da, W, dw, beta, mine, dy);
    all_gather(t);
    for (int r = 0; r < P; r++) /* each rank's blocks of Y's columns, back into row-major Y */
        for (int j0 = 0; j0 < sg_tp_owned(out_dim, nb, r, P); j0 += nb) {
            const int o0 = sg_tp_local_to_global(j0, nb, r, P);
            transpose(out + o0, out_dim, t->gathered + t->displs[r] + (size_t)j0 * rows, rows,
                      block_width(out_dim, nb, o0), rows);
        }
}

void sg_tp_linear_backward(sg_tp_model *t, float *dinp, float dinp_beta, float *dW, float *dbias, const float *dout,
                           const float *inp, const float *W, int rows, int in_dim, int out_dim) {
    const sg_tp_group *g = t->g;
    const int P = g->size, me = g->rank, nb = t->layout.nb_features, nbt = t->layout.nb_tokens;
    int dw[SG_DLEN_], dxt[SG_DLEN_], ddy[SG_DLEN_], ddyt[SG_DLEN_];
    describe(dw, g->ictxt, in_dim, out_dim, nb, 0, in_dim);
    /* dW: this rank's columns of dY [rows, O] */
    float *dy = t->operand;
    for (int j0 = 0; j0 < sg_tp_owned(out_dim, nb, me, P); j0 += nb) {
        const int o0 = sg_tp_local_to_global(j0, nb, me, P);
        transpose(dy + (size_t)j0 * rows, rows, dout + o0, out_dim, rows, block_width(out_dim, nb, o0));
    }
    describe(dxt, g->ictxt, in_dim, rows, rows, -1, in_dim);
    describe(ddy, g->ictxt, rows, out_dim, nb, 0, rows);
    timed_psgemm(t, "N", "N", in_dim, out_dim, rows, inp, dxt, dy, ddy, 1.0f, dW, dw);
    if (dinp) {
        plan_gather(t, rows, nbt, in_dim);
        float *mine = t->gathered + t->displs[me]; /* dXᵀ's local columns = this rank's tokens' rows of dX */
        const int local_n = sg_tp_owned(rows, nbt, me, P);
        if (dinp_beta != 0.0f)
            for (int j = 0; j < local_n; j++)
                memcpy(mine + (size_t)j * in_dim, dinp + (size_t)sg_tp_local_to_global(j, nbt, me, P) * in_dim,
                       sizeof(float) * (size_t)in_dim);
        int ddx[SG_DLEN_];
        describe(ddyt, g->ictxt, out_dim, rows, rows, -1, out_dim);
        describe(ddx, g->ictxt, in_dim, rows, nbt, 0, in_dim);
        timed_psgemm(t, "N", "N", in_dim, rows, out_dim, W, dw, dout, ddyt, dinp_beta, mine, ddx);
        all_gather(t);
#pragma omp parallel for schedule(static)
        for (int n = 0; n < rows; n++)
            memcpy(dinp + (size_t)n * in_dim,
                   t->gathered + t->displs[sg_tp_owner(n, nbt, P)] + (size_t)sg_tp_global_to_local(n, nbt, P) * in_dim,
                   sizeof(float) * (size_t)in_dim);
    }
    if (dbias) sg_bias_backward(dbias, dout, rows, out_dim);
}
