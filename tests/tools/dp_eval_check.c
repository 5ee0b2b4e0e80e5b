/* Sharded evaluation (sg_evaluate_dp) under mpirun -n D: on every replica the gathered result
 * equals one process's evaluation exactly, and it really is gathered: when the other replicas'
 * models are changed, replica 0's result changes (an unsharded evaluation would not notice).
 * And the SNN simulation's shard (parallel/shard.h): every batch goes to exactly one rank, and the
 * progress every rank shows counts the rows of all ranks, ending at the split's size.
 * Driven by tests/scripts/test_data_parallel.sh; prints the harness's summary, exit 0 / 1. */
#include "core/rng.h"
#include "parallel/dp.h"
#include "parallel/mpi_session.h"
#include "parallel/shard.h"
#include "train/evaluate.h"
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

enum { N = 37, T = 24, VOCAB = 261, LABELS = 3, BATCH = 5 };

static void make_split(sg_encoded *e) {
    memset(e, 0, sizeof *e);
    e->n = N;
    e->T = T;
    e->ids = calloc(N * T, sizeof(int32_t));
    e->mask = calloc(N * T, sizeof(int32_t));
    e->lengths = calloc(N, sizeof(int32_t));
    e->labels = calloc(N, sizeof(int32_t));
    e->targets = calloc(N, sizeof(float));
    sg_rng r;
    sg_rng_seed(&r, 7);
    for (int i = 0; i < N; i++) {
        int len = 3 + (int)sg_rng_below(&r, T - 2);
        e->lengths[i] = len;
        for (int t = 0; t < T; t++) {
            int real = t < len;
            e->ids[i * T + t] = !real ? 1 : t == 0 ? 0 : t == len - 1 ? 2 : 4 + (int)sg_rng_below(&r, VOCAB - 4);
            e->mask[i * T + t] = real;
        }
        e->labels[i] = i % LABELS;
    }
    e->has_labels = 1;
}

static int same_result(const sg_eval_result *a, const sg_eval_result *b) {
    return a->loss == b->loss && memcmp(a->pred, b->pred, sizeof(int) * N) == 0 &&
           a->metrics.count == b->metrics.count && a->metrics.values[0] == b->metrics.values[0];
}

/* Batches of BATCH rows of the N-row split, round-robin over the world, as cli/run_snn.c takes them. */
static void check_shard_progress(void) {
    sg_shard s;
    sg_shard_of(&s, MPI_COMM_WORLD);
    const int batches = (N + BATCH - 1) / BATCH, rounds = sg_shard_rounds(&s, batches);
    int mine = 0;
    for (int k = 0; k < batches; k++) mine += sg_shard_takes(&s, k);
    int takers = 0;
    for (int k = 0; k < batches; k++) {
        int t = sg_shard_takes(&s, k);
        MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
        takers += t == 1;
    }
    CHECK_MSG(takers == batches, "%d of %d batches taken by exactly one rank", takers, batches);
    sg_shard_progress p;
    CHECK(sg_shard_progress_init(&p, &s, rounds) == 0);
    long done = 0, last = 0;
    int monotone = 1;
    for (int r = 0; r < rounds; r++) {
        int k = r * s.size + s.rank;
        if (k < batches) done += N - k * BATCH < BATCH ? N - k * BATCH : BATCH;
        long seen = sg_shard_progress_post(&p, done);
        monotone &= seen >= last && seen <= N;
        last = seen;
    }
    long total = sg_shard_progress_finish(&p, done);
    sg_shard_progress_free(&p);
    CHECK(monotone);
    CHECK_MSG(total == N, "rank %d: progress ends at %ld rows, the split has %d (this rank did %ld)", s.rank, total, N, done);
    if (s.rank == 0)
        printf("shard: %d batches over %d ranks (%d here), global progress ends at %ld of %d rows\n", batches, s.size, mine,
               total, N);
}

int main(void) {
    sg_dp_group g;
    int world = 0, owns = 0, finalized = 0;
    /* MPI on demand (parallel/mpi_session.h): the first to start it owns it, a later group does not */
    CHECK(sg_mpi_session_begin("dp_eval_check", &owns) == 0 && owns == 1);
    MPI_Comm_size(MPI_COMM_WORLD, &world);
    CHECK(world >= 2);
    CHECK(sg_dp_init(world, 1, &g) == 0);
    CHECK(g.owns_mpi == 0);
    check_shard_progress();
    sg_encoded e;
    make_split(&e);
    sg_model_config cfg;
    CHECK(sg_model_config_preset(&cfg, "tiny", LABELS, VOCAB) == 0);
    sg_model m;
    CHECK(sg_model_create(&m, &cfg) == 0);
    sg_model_init_random(&m, 11);
    sg_eval_result alone, sharded, changed;
    CHECK(sg_evaluate(&m, &e, SG_METRIC_ACCURACY, BATCH, &alone) == 0);
    CHECK(sg_evaluate_dp(&m, &e, SG_METRIC_ACCURACY, BATCH, &g, &sharded) == 0);
    CHECK_MSG(same_result(&alone, &sharded), "replica %d: sharded loss %.17g vs %.17g alone", g.rank, sharded.loss, alone.loss);
    /* the other replicas now predict the last label everywhere: replica 0 must see it in their rows */
    if (g.rank != 0) sg_model_param(&m, sg_param_index_classifier(&cfg, C_OB))[LABELS - 1] += 100.0f;
    CHECK(sg_evaluate_dp(&m, &e, SG_METRIC_ACCURACY, BATCH, &g, &changed) == 0);
    if (g.rank == 0) {
        int from_others = 0;
        for (int i = 0; i < N; i++) from_others += changed.pred[i] != alone.pred[i];
        CHECK_MSG(from_others > 0 && changed.loss != alone.loss, "replica 0's result ignores the other replicas");
        printf("replica 0: %d of %d predictions came from the %d other replicas' (changed) models\n", from_others, N, world - 1);
    }
    sg_eval_result_free(&alone);
    sg_eval_result_free(&sharded);
    sg_eval_result_free(&changed);
    sg_model_free(&m);
    sg_encoded_free(&e);
    sg_dp_free(&g);
    MPI_Finalized(&finalized);
    CHECK(!finalized); /* not the group's to finalise */
    int rc = sg_test_done();
    sg_mpi_session_end(&owns);
    MPI_Finalized(&finalized);
    if (!finalized || owns) printf("FAIL: sg_mpi_session_end did not finalise MPI\n"), rc = 1;
    sg_mpi_session_end(&owns); /* a second end does nothing (MPI_Finalize twice is an error) */
    return rc;
}
