/* The heartbeat (train/progress.h): written only when SG_PROGRESS_FILE names a file, read back
 * with the step, total, loss and phase the caller reported; stale when its process is gone or it
 * stopped beating; and the units results.h5 gives each metric name. */
#include "testlib.h"

#include "core/error.h"
#include "core/fileio.h"
#include "sched/heartbeat_view.h"
#include "sched/results_units.h"
#include "train/progress.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_no_heartbeat_unless_asked(const char *dir) {
    char path[4200];
    snprintf(path, sizeof path, "%s/unasked.json", dir);
    unsetenv(SG_PROGRESS_FILE_ENV);
    sg_progress p;
    sg_progress_start(&p, "train", 10);
    sg_progress_update(&p, 10, "loss 0.5");
    sg_progress_finish(&p);
    CHECK(p.beat_path == NULL);
    CHECK(!sg_is_file(path));
}

static void test_heartbeat_written_and_read(const char *dir) {
    char path[4200];
    snprintf(path, sizeof path, "%s/progress.json", dir);
    setenv(SG_PROGRESS_FILE_ENV, path, 1);
    sg_progress p;
    sg_progress_start(&p, "train", 40);
    sg_heartbeat hb;
    /* the start writes at once: step 0 of 40, no loss yet, not finished */
    CHECK(sg_heartbeat_read(path, &hb) == 0);
    CHECK(!strcmp(hb.phase, "train") && hb.step == 0 && hb.total == 40 && isnan(hb.loss) && !hb.finished);
    CHECK(hb.pid == (long)getpid());
    CHECK(fabs(hb.updated_at - sg_wall_now()) < 60);
    sg_progress_update(&p, 40, "epoch 2.00 loss 0.4123");
    sg_progress_finish(&p);
    CHECK(sg_heartbeat_read(path, &hb) == 0);
    CHECK_MSG(hb.step == 40 && hb.total == 40 && hb.finished, "step %ld total %ld finished %d", hb.step, hb.total, hb.finished);
    CHECK_NEAR(hb.loss, 0.4123, 1e-9);
    CHECK(!strcmp(hb.detail, "epoch 2.00 loss 0.4123"));
    CHECK(hb.eta_s == 0);
    /* no stray temporary file beside it */
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    CHECK(!sg_is_file(tmp));
    char text[256];
    sg_heartbeat_format(&hb, text, sizeof text);
    CHECK_MSG(!strcmp(text, "train 40/40 loss 0.4123 (phase done)"), "%s", text);

    /* another rank of a tensor-parallel run leaves the heartbeat to rank 0 */
    setenv("OMPI_COMM_WORLD_RANK", "1", 1);
    sg_progress_start(&p, "snn", 8);
    CHECK(p.beat_path == NULL);
    unsetenv("OMPI_COMM_WORLD_RANK");
    unsetenv(SG_PROGRESS_FILE_ENV);

    /* a file that is not a heartbeat is an error naming it */
    CHECK(sg_write_file_atomic(path, "{\"phase\": 3}", 12) == 0);
    CHECK(sg_heartbeat_read(path, &hb) != 0 && strstr(sg_last_error(), path));
}

static void test_stale(void) {
    sg_heartbeat hb;
    memset(&hb, 0, sizeof hb);
    snprintf(hb.phase, sizeof hb.phase, "train");
    gethostname(hb.host, sizeof hb.host - 1);
    char why[256];
    double now = sg_wall_now();
    /* our own process, just updated: alive */
    hb.pid = (long)getpid();
    hb.updated_at = now;
    CHECK(sg_heartbeat_stale(&hb, now, why, sizeof why) == 0);
    /* alive but silent for longer than the limit */
    hb.updated_at = now - SG_HEARTBEAT_STALE_S - 10;
    CHECK(sg_heartbeat_stale(&hb, now, why, sizeof why) == 1 && strstr(why, "no update for"));
    /* a process that has ended, on this host */
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, NULL, 0);
    hb.pid = (long)child;
    hb.updated_at = now;
    CHECK(sg_heartbeat_stale(&hb, now, why, sizeof why) == 1 && strstr(why, "is gone"));
    /* on another host the pid says nothing: only the age counts */
    snprintf(hb.host, sizeof hb.host, "some-other-node");
    CHECK(sg_heartbeat_stale(&hb, now, why, sizeof why) == 0);
}

static void test_units(void) {
    CHECK(!strcmp(sg_metric_units("accuracy"), "1"));
    CHECK(!strcmp(sg_metric_units("matthews_correlation"), "1"));
    CHECK(!strcmp(sg_metric_units("runtime"), "seconds"));
    CHECK(!strcmp(sg_metric_units("samples_per_second"), "samples per second"));
    CHECK(!strcmp(sg_metric_units("samples"), "samples"));
    CHECK(!strcmp(sg_metric_units("sops_per_sample"), "synaptic operations per sample"));
    CHECK(!strcmp(sg_metric_units("energy_mj_per_sample"), "mJ per sample"));
    CHECK(!strcmp(sg_metric_units("mean_settle_step"), "time steps"));
}

int main(void) {
    const char *dir = sg_test_tmpdir();
    test_no_heartbeat_unless_asked(dir);
    test_heartbeat_written_and_read(dir);
    test_stale();
    test_units();
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return sg_test_done();
}
