/* HF's learning-rate schedulers: hand-computed points, HF's refusal of a polynomial lr_end not
 * below the learning rate, and (when SG_LR_CASES names a file written by tests/ref/lr_schedule_ref.py)
 * every scheduler's curve, with and without warmup and kwargs, against the independent reference. */
#include "core/error.h"
#include "train/lr_schedule.h"
#include "testlib.h"

#include <stdlib.h>
#include <string.h>

static sg_lr_scheduler by_name(const char *name) {
    for (int k = SG_SCHED_LINEAR; k <= SG_SCHED_INVERSE_SQRT; k++)
        if (strcmp(sg_lr_scheduler_name((sg_lr_scheduler)k), name) == 0) return (sg_lr_scheduler)k;
    return (sg_lr_scheduler)-1;
}

static double at(sg_lr_scheduler kind, sg_lr_scheduler_kwargs kw, double lr, int warmup, int total, int step) {
    sg_lr_schedule s;
    if (sg_lr_schedule_init(&s, kind, &kw, lr, warmup, total)) return NAN;
    return sg_lr_schedule_factor(&s, step);
}

static void test_hand_points(void) {
    sg_lr_scheduler_kwargs none = {0}, kw = {0};
    CHECK_NEAR(at(SG_SCHED_LINEAR, none, 1e-3, 10, 110, 5), 0.5, 1e-15);    /* half way through warmup */
    CHECK_NEAR(at(SG_SCHED_LINEAR, none, 1e-3, 10, 110, 60), 0.5, 1e-15);   /* half way down */
    CHECK_NEAR(at(SG_SCHED_COSINE, none, 1e-3, 10, 110, 60), 0.5, 1e-15);   /* half a cosine: cos(pi/2) */
    CHECK_NEAR(at(SG_SCHED_COSINE, none, 1e-3, 10, 110, 110), 0.0, 1e-15);
    CHECK_NEAR(at(SG_SCHED_COSINE_WITH_RESTARTS, none, 1e-3, 0, 100, 50), 0.5, 1e-15); /* one cycle: half a cosine over the run */
    CHECK_NEAR(at(SG_SCHED_COSINE_WITH_RESTARTS, none, 1e-3, 0, 100, 25), 0.5 * (1 + cos(M_PI / 4)), 1e-15);
    kw.num_cycles = 2;
    CHECK_NEAR(at(SG_SCHED_COSINE_WITH_RESTARTS, kw, 1e-3, 0, 100, 50), 1.0, 1e-15); /* the restart */
    CHECK_NEAR(at(SG_SCHED_POLYNOMIAL, none, 1e-3, 0, 100, 100), 1e-7 / 1e-3, 1e-15); /* lr_end at the end */
    kw = (sg_lr_scheduler_kwargs){0};
    kw.lr_end = 1e-4;
    kw.power = 2;
    CHECK_NEAR(at(SG_SCHED_POLYNOMIAL, kw, 1e-3, 0, 100, 50), (9e-4 * 0.25 + 1e-4) / 1e-3, 1e-15);
    CHECK_NEAR(at(SG_SCHED_CONSTANT, none, 1e-3, 10, 100, 0), 1.0, 0);       /* constant has no warmup */
    CHECK_NEAR(at(SG_SCHED_CONSTANT_WITH_WARMUP, none, 1e-3, 10, 100, 5), 0.5, 1e-15);
    CHECK_NEAR(at(SG_SCHED_CONSTANT_WITH_WARMUP, none, 1e-3, 10, 100, 1000), 1.0, 0);
    CHECK_NEAR(at(SG_SCHED_INVERSE_SQRT, none, 1e-3, 16, 100, 16), 1.0, 1e-15);
    CHECK_NEAR(at(SG_SCHED_INVERSE_SQRT, none, 1e-3, 16, 100, 16 * 4), 0.5, 1e-15); /* timescale = warmup: 1/sqrt(4) */
    CHECK_NEAR(at(SG_SCHED_INVERSE_SQRT, none, 1e-3, 0, 100, 30000), 0.5, 1e-15);   /* timescale 10000 */
}

static void test_refusals(void) {
    sg_lr_scheduler_kwargs kw = {0};
    sg_lr_schedule s;
    kw.lr_end = 1e-3;
    CHECK(sg_lr_schedule_init(&s, SG_SCHED_POLYNOMIAL, &kw, 1e-3, 0, 10) != 0);
    CHECK_MSG(strstr(sg_last_error(), "lr_end") && strstr(sg_last_error(), "lr_scheduler_kwargs"), "message: %s", sg_last_error());
    CHECK(sg_lr_schedule_init(&s, SG_SCHED_LINEAR, &kw, 1e-3, 0, 10) == 0); /* lr_end means nothing to linear */
    kw.lr_end = 0;
    kw.timescale = -4;
    CHECK(sg_lr_schedule_init(&s, SG_SCHED_INVERSE_SQRT, &kw, 1e-3, 0, 10) != 0);
    CHECK_MSG(strstr(sg_last_error(), "timescale"), "message: %s", sg_last_error());
}

static void test_reference_file(const char *path) {
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "cannot open %s", path);
    if (!f) return;
    char name[64];
    double lr, cycles, lr_end, power, timescale;
    int warmup, total, steps, cases = 0;
    while (fscanf(f, " case %63s %lf %d %d %lf %lf %lf %lf %d expect", name, &lr, &warmup, &total, &cycles, &lr_end, &power,
                  &timescale, &steps) == 9) {
        sg_lr_scheduler kind = by_name(name);
        CHECK_MSG((int)kind >= 0, "unknown scheduler %s", name);
        sg_lr_scheduler_kwargs kw = {cycles, lr_end, power, timescale};
        sg_lr_schedule s;
        CHECK_MSG(sg_lr_schedule_init(&s, kind, &kw, lr, warmup, total) == 0, "%s: %s", name, sg_last_error());
        double worst = 0.0;
        int worst_at = -1;
        for (int t = 0; t < steps; t++) {
            double want;
            if (fscanf(f, "%lf", &want) != 1) {
                CHECK_MSG(0, "%s: short expect line", path);
                fclose(f);
                return;
            }
            double got = sg_lr_schedule_factor(&s, t), err = fabs(got - want);
            if (err > worst) worst = err, worst_at = t;
        }
        CHECK_MSG(worst <= 1e-12, "%s (warmup %d, total %d, num_cycles %g, lr_end %g, power %g, timescale %g): off by %.3g at step %d",
                  name, warmup, total, cycles, lr_end, power, timescale, worst, worst_at);
        cases++;
    }
    fclose(f);
    CHECK_MSG(cases >= 7, "only %d cases read from %s", cases, path);
    printf("%d scheduler curves equal the reference\n", cases);
}

int main(void) {
    test_hand_points();
    test_refusals();
    const char *cases = getenv("SG_LR_CASES");
    if (cases && *cases) test_reference_file(cases);
    return sg_test_done();
}
