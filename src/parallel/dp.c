/* The data-parallel group and its reductions (parallel/dp.h). */
#include "parallel/dp.h"

#include "core/error.h"
#include "parallel/bucketed_sum.h"
#include "parallel/mpi_session.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

int sg_dp_init(int D, int P, sg_dp_group *g) {
    memset(g, 0, sizeof *g);
    g->comm = MPI_COMM_NULL;
    if (sg_mpi_session_begin("data parallel", &g->owns_mpi)) return -1;
    int world, me;
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    MPI_Comm_rank(MPI_COMM_WORLD, &me);
    if (D < 1 || P < 1 || world != D * P) {
        int rc = P > 1 ? sg_fail("--dp %d --tp %d needs mpirun -n %d (D x P ranks), but there are %d", D, P, D * P, world)
                       : sg_fail("--dp %d needs mpirun -n %d, but there are %d MPI ranks", D, D, world);
        sg_dp_free(g);
        return rc;
    }
    if (MPI_Comm_split(MPI_COMM_WORLD, me % P, me / P, &g->comm) != MPI_SUCCESS) {
        int rc = sg_fail("data parallel: MPI_Comm_split failed");
        sg_dp_free(g);
        return rc;
    }
    MPI_Comm_size(g->comm, &g->size);
    MPI_Comm_rank(g->comm, &g->rank);
    return 0;
}

void sg_dp_free(sg_dp_group *g) {
    if (g->comm != MPI_COMM_NULL) MPI_Comm_free(&g->comm);
    g->comm = MPI_COMM_NULL;
    sg_mpi_session_end(&g->owns_mpi);
}

void sg_dp_allreduce_floats(const sg_dp_group *g, float *x, size_t n) { sg_bucketed_sum(g->comm, x, n, MPI_FLOAT, sizeof *x); }
void sg_dp_allreduce_doubles(const sg_dp_group *g, double *x, size_t n) { sg_bucketed_sum(g->comm, x, n, MPI_DOUBLE, sizeof *x); }
void sg_dp_allreduce_ints(const sg_dp_group *g, int *x, size_t n) { sg_bucketed_sum(g->comm, x, n, MPI_INT, sizeof *x); }

double sg_dp_allreduce_sum(const sg_dp_group *g, double x) {
    double sum = 0.0;
    MPI_Allreduce(&x, &sum, 1, MPI_DOUBLE, MPI_SUM, g->comm);
    return sum;
}

void sg_dp_rows(const sg_dp_group *g, int rows, int per_replica, int *lo, int *hi) {
    long long a = (long long)g->rank * per_replica, b = a + per_replica;
    *lo = (int)(a < rows ? a : rows);
    *hi = (int)(b < rows ? b : rows);
}

static void reduce_lsq(void *ctx, double sums[2]) {
    const sg_dp_group *g = ctx;
    MPI_Allreduce(MPI_IN_PLACE, sums, 2, MPI_DOUBLE, MPI_SUM, g->comm);
}

void sg_dp_attach_lsq(sg_model *m, sg_dp_group *g) {
    g->lsq.sum = reduce_lsq;
    g->lsq.ctx = g;
    for (int i = 0; m->quant && i <= m->cfg.layers * Q_PER_LAYER; i++)
        if (m->quant[i].s) m->quant[i].reducer = &g->lsq;
}

int sg_dp_sum_init(sg_dp_sum *s, const sg_dp_group *g) {
    memset(s, 0, sizeof *s);
    s->g = g;
    return 0;
}

int sg_dp_sum_start(sg_dp_sum *s, float *x, size_t n) {
    const size_t bucket = SG_SUM_BUCKET; /* the blocking sums' buckets */
    for (size_t at = 0; at < n; at += bucket) {
        if (s->pending == s->cap) { /* grows during the first step only: the same parts every step */
            int cap = s->cap ? 2 * s->cap : 64;
            MPI_Request *r = realloc(s->req, sizeof *r * (size_t)cap);
            if (!r) return sg_fail("out of memory for data-parallel requests");
            s->req = r;
            s->cap = cap;
        }
        size_t k = n - at < bucket ? n - at : bucket;
        MPI_Iallreduce(MPI_IN_PLACE, x + at, (int)k, MPI_FLOAT, MPI_SUM, s->g->comm, &s->req[s->pending++]);
    }
    int done;
    MPI_Testall(s->pending, s->req, &done, MPI_STATUSES_IGNORE);
    return 0;
}

void sg_dp_sum_wait(sg_dp_sum *s) {
    MPI_Waitall(s->pending, s->req, MPI_STATUSES_IGNORE);
    s->pending = 0;
}

void sg_dp_sum_free(sg_dp_sum *s) {
    if (s->pending) sg_dp_sum_wait(s);
    free(s->req);
    memset(s, 0, sizeof *s);
}
