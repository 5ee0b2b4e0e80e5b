/* store_writer DIR TOTAL [POINTS]: open (or resume) the results store in DIR and commit runs
 * count..TOTAL-1, printing "committed <i> <id>" after each commit returns. Run i is deterministic
 * (tests/ref/h5_check.py --points checks it): task tasks[i % 3], seed i, variant "crash", level
 * 2 << (i % 5), POINTS training points with step k + 1, loss i + k/1000, learning rate
 * (POINTS - k) * 1e-6; qann accuracy i/1000; snn accuracy by step k + 1 = k/POINTS.
 * test_results_crash.sh kills it with SIGKILL at random moments. */
#include "core/error.h"
#include "sched/results_store.h"

#include <stdio.h>
#include <stdlib.h>

static const char *const TASKS[] = {"sst2", "mrpc", "stsb"};

static int make_run(sg_run_record *r, int i, int points) {
    sg_run_record_init(r);
    const char *task = TASKS[i % 3];
    sg_run_record_set_id(r, task, i, "crash");
    r->seed = i;
    r->level = 2 << (i % 5);
    r->status = SG_RUN_FINISHED;
    r->attempts = 1;
    r->wall_seconds = i * 0.5;
    if (sg_run_record_set_str(&r->task, task) || sg_run_record_set_str(&r->variant, "crash") ||
        sg_run_record_set_str(&r->config, "{\"crash\": true}"))
        return -1;
    for (int k = 0; k < points; k++) {
        if (sg_train_series_push(&r->train, k + 1, (k + 1.0) / points, (double)i + (double)k / 1000.0, (points - k) * 1e-6) ||
            sg_step_series_push(&r->snn_by_step, k + 1, (double)k / points))
            return -1;
    }
    if (sg_metric_map_set(&r->qann, "accuracy", i / 1000.0) || sg_metric_map_set(&r->snn, "accuracy", i / 2000.0)) return -1;
    r->snn_samples = 10;
    r->snn_sops = 1e6 * (i + 1);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: store_writer DIR TOTAL [POINTS]\n");
        return 2;
    }
    int total = atoi(argv[2]), points = argc > 3 ? atoi(argv[3]) : 100;
    sg_store st;
    if (sg_store_open(argv[1], &st)) {
        sg_print_error();
        return 1;
    }
    printf("opened %d%s\n", sg_store_count(&st), st.dropped_bytes ? " (dropped a torn journal line)" : "");
    fflush(stdout);
    for (int i = sg_store_count(&st); i < total; i++) {
        sg_run_record r;
        if (make_run(&r, i, points) || sg_store_commit(&st, &r)) {
            sg_print_error();
            sg_run_record_free(&r);
            sg_store_close(&st);
            return 1;
        }
        printf("committed %d %s\n", i, r.id);
        fflush(stdout);
        sg_run_record_free(&r);
    }
    sg_store_close(&st);
    return 0;
}
