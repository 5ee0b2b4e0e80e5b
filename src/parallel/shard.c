/* Rows sharded over the ranks of a run, and gathered (parallel/shard.h). */
#include "parallel/shard.h"

#include "core/error.h"
#include "parallel/bucketed_sum.h"

#include <stdlib.h>
#include <string.h>

void sg_shard_of(sg_shard *s, MPI_Comm comm) {
    s->comm = comm;
    s->size = 1;
    s->rank = 0;
    if (comm != MPI_COMM_NULL) {
        MPI_Comm_size(comm, &s->size);
        MPI_Comm_rank(comm, &s->rank);
    }
}

/* Nothing to sum over without MPI (a plain run). */
static void sum(const sg_shard *s, void *x, size_t n, MPI_Datatype type, size_t elem) {
    if (s->comm != MPI_COMM_NULL) sg_bucketed_sum(s->comm, x, n, type, elem);
}

void sg_shard_sum_ints(const sg_shard *s, int *x, size_t n) { sum(s, x, n, MPI_INT, sizeof *x); }
void sg_shard_sum_floats(const sg_shard *s, float *x, size_t n) { sum(s, x, n, MPI_FLOAT, sizeof *x); }
void sg_shard_sum_u64(const sg_shard *s, uint64_t *x, size_t n) { sum(s, x, n, MPI_UINT64_T, sizeof *x); }

int sg_shard_max_int(const sg_shard *s, int x) {
    int m = x;
    if (s->comm != MPI_COMM_NULL) MPI_Allreduce(&x, &m, 1, MPI_INT, MPI_MAX, s->comm);
    return m;
}

int sg_shard_progress_init(sg_shard_progress *p, const sg_shard *s, int rounds) {
    memset(p, 0, sizeof *p);
    p->s = s;
    p->rounds = rounds;
    if (s->comm == MPI_COMM_NULL || rounds <= 0) return 0;
    p->mine = calloc((size_t)rounds, sizeof *p->mine);
    p->sum = calloc((size_t)rounds, sizeof *p->sum);
    p->req = malloc(sizeof *p->req * (size_t)rounds);
    if (!p->mine || !p->sum || !p->req) {
        sg_shard_progress_free(p);
        p->rounds = 0;
        return sg_fail("out of memory for the sharded progress (%d rounds)", rounds);
    }
    return 0;
}

long sg_shard_progress_post(sg_shard_progress *p, long done_here) {
    if (p->s->comm == MPI_COMM_NULL) return p->known = done_here;
    if (p->posted < p->rounds) {
        p->mine[p->posted] = done_here; /* its own buffer: untouched until the sum completes */
        MPI_Iallreduce(&p->mine[p->posted], &p->sum[p->posted], 1, MPI_LONG, MPI_SUM, p->s->comm, &p->req[p->posted]);
        p->posted++;
    }
    /* in order: sum r is complete only once every rank finished round r */
    while (p->seen < p->posted) {
        int done = 0;
        MPI_Test(&p->req[p->seen], &done, MPI_STATUS_IGNORE);
        if (!done) break;
        p->known = p->sum[p->seen++];
    }
    return p->known;
}

long sg_shard_progress_finish(sg_shard_progress *p, long done_here) {
    if (p->s->comm == MPI_COMM_NULL) return p->known = done_here;
    while (p->posted < p->rounds) sg_shard_progress_post(p, done_here);
    if (p->seen < p->posted) {
        MPI_Waitall(p->posted - p->seen, p->req + p->seen, MPI_STATUSES_IGNORE);
        p->seen = p->posted;
        p->known = p->sum[p->posted - 1];
    }
    return p->known;
}

void sg_shard_progress_free(sg_shard_progress *p) {
    if (p->req && p->seen < p->posted) MPI_Waitall(p->posted - p->seen, p->req + p->seen, MPI_STATUSES_IGNORE);
    free(p->mine);
    free(p->sum);
    free(p->req);
    p->mine = p->sum = NULL;
    p->req = NULL;
    p->posted = p->seen = 0;
}
