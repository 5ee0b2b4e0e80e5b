/* LSQInteger kernels (spec §2): bounds, forward on exact values (clamp bounds, .5 ties), backward
 * against a double-precision brute force, the 20-call training initialisation, calibration, the
 * no-quantization level, and the parallel path on large tensors.
 *
 *   test_lsq                          unit tests
 *   test_lsq --ref-run CASES OUT      run the cases of tests/ref/lsq_ref.py (safetensors in and out),
 *                                     used by tests/scripts/test_lsq_reference.sh */
#include "model/lsq.h"
#include "core/error.h"
#include "core/rng.h"
#include "io/safetensors.h"
#include "testlib.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void test_bounds(void) {
    float s = 7.0f;
    sg_lsq q;
    CHECK(sg_lsq_init(&q, &s, 32, 1) == 0 && q.qn == -16 && q.qp == 15 && s == 1.0f && !q.full);
    CHECK(sg_lsq_init(&q, &s, 32, 0) == 0 && q.qn == 0 && q.qp == 31);
    CHECK(sg_lsq_init(&q, &s, 4, 1) == 0 && q.qn == -2 && q.qp == 1);
    CHECK(sg_lsq_init(&q, &s, 5, 1) == 0 && q.qn == -3 && q.qp == 1); /* Python: -5//2, 5//2-1 */
    CHECK(sg_lsq_init(&q, &s, 2, 0) == 0 && q.qn == 0 && q.qp == 1);
    CHECK(sg_lsq_init(&q, &s, 255, 0) == 0 && !q.full);
    CHECK(sg_lsq_init(&q, &s, 256, 1) == 0 && q.full);
    CHECK(sg_lsq_init(&q, &s, 2, 1) == -1);
    CHECK(sg_lsq_init(&q, &s, 1, 0) == -1);
    CHECK(sg_lsq_init(&q, NULL, 8, 0) == -1);
}

static void test_forward_exact(void) {
    float s;
    sg_lsq q;
    sg_lsq_init(&q, &s, 8, 1); /* [-4, 3] */
    s = 0.5f;
    /* x/s:            0.5   -0.5  3.49  3.5   -4.5   -4.51  1.0  -0.0  */
    const float x[] = {0.25f, -0.25f, 1.745f, 1.75f, -2.25f, -2.255f, 0.5f, -0.0f, 1e30f, -1e30f};
    const float want[] = {0.5f, 0.0f, 1.5f, 1.5f, -2.0f, -2.0f, 0.5f, 0.0f, 1.5f, -2.0f};
    float y[10];
    sg_lsq_forward(&q, SG_LSQ_EVAL, x, y, 10);
    for (int i = 0; i < 10; i++) CHECK_MSG(y[i] == want[i], "x %g: y %g want %g", x[i], y[i], want[i]);
    CHECK(s == 0.5f && q.init_calls == 0);
    /* in place */
    float z[3] = {0.76f, -0.76f, 0.74f};
    sg_lsq_forward(&q, SG_LSQ_EVAL, z, z, 3);
    CHECK(z[0] == 1.0f && z[1] == -1.0f && z[2] == 0.5f);

    sg_lsq_init(&q, &s, 4, 0); /* [0, 3] */
    s = 0.25f;
    const float u[] = {-0.125f, -0.126f, 0.125f, 0.875f, 0.874f, 0.1f};
    const float uw[] = {0.0f, 0.0f, 0.25f, 0.75f, 0.75f, 0.0f};
    sg_lsq_forward(&q, SG_LSQ_EVAL, u, y, 6);
    for (int i = 0; i < 6; i++) CHECK_MSG(y[i] == uw[i], "x %g: y %g want %g", u[i], y[i], uw[i]);
}

/* Brute force in double (from the float quotient, as the kernel) for dx and ds. */
static void brute_backward(const sg_lsq *q, const float *x, const float *dy, size_t n, size_t numel, float *dx,
                           double *ds) {
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) {
        float v = x[i] / *q->s;
        double c = floor((double)(float)(v + 0.5f));
        int in = c >= q->qn && c <= q->qp;
        double cc = c < q->qn ? q->qn : (c > q->qp ? q->qp : c);
        dx[i] = in ? dy[i] : 0.0f;
        acc += (double)dy[i] * (cc - (in ? (double)v : 0.0));
    }
    *ds = acc / sqrt((double)q->qp * (double)numel);
}

static void fill(float *x, size_t n, uint64_t seed, float scale, float s, int grid) {
    for (size_t i = 0; i < n; i++) {
        if (grid) /* quarter steps: exact bounds and .5 ties */
            x[i] = s * 0.25f * (float)((int)(sg_uniform(seed, 1, i) * 200.0f) - 100);
        else
            x[i] = scale * sg_normal(seed, 2, i);
    }
}

static void test_backward(void) {
    enum { N = 5000 };
    static float x[N], dy[N], dx[N], want[N], y[N];
    const int levels[] = {4, 8, 32, 256};
    for (int li = 0; li < 4; li++)
        for (int sign = 0; sign < 2; sign++)
            for (int grid = 0; grid < 2; grid++) {
                float s;
                sg_lsq q;
                CHECK(sg_lsq_init(&q, &s, levels[li], sign) == 0);
                s = grid ? 0.125f : 0.0371f;
                fill(x, N, 11 + li, 0.3f, s, grid);
                fill(dy, N, 99, 1.0f, 1.0f, 0);
                float ds = 0.25f; /* accumulates */
                sg_lsq_backward(&q, x, dy, dx, N, &ds);
                sg_lsq_forward(&q, SG_LSQ_EVAL, x, y, N);
                if (q.full) {
                    CHECK(ds == 0.25f && !memcmp(dx, dy, sizeof dx) && !memcmp(y, x, sizeof y));
                    continue;
                }
                double want_ds;
                brute_backward(&q, x, dy, N, N, want, &want_ds);
                CHECK_MSG(!memcmp(dx, want, sizeof dx), "level %d signed %d grid %d: dx", levels[li], sign, grid);
                CHECK_NEAR(ds - 0.25f, want_ds, 1e-5 * (fabs(want_ds) + 1e-3));
                /* piecewise backward adds up to the whole */
                float ds_parts = 0.0f;
                sg_lsq_backward_part(&q, x, dy, dx, 1234, N, &ds_parts);
                sg_lsq_backward_part(&q, x + 1234, dy + 1234, dx + 1234, N - 1234, N, &ds_parts);
                CHECK_NEAR(ds_parts, want_ds, 1e-5 * (fabs(want_ds) + 1e-3));
                CHECK(!memcmp(dx, want, sizeof dx));
                /* forward: y = s*c; the grid cases reach the bounds inside the range (dx != 0 there) */
                int bad = 0, at_bounds = 0;
                for (int i = 0; i < N; i++) {
                    float c = floorf(x[i] / s + 0.5f);
                    c = c < q.qn ? q.qn : (c > q.qp ? q.qp : c);
                    bad += y[i] != c * s;
                    at_bounds += (c == q.qn || c == q.qp) && want[i] != 0.0f;
                }
                CHECK(bad == 0);
                if (grid) CHECK_MSG(at_bounds > 0, "grid cases must hit the clamp bounds in range");
                /* dx in place */
                memcpy(dx, dy, sizeof dx);
                sg_lsq_backward(&q, x, dx, dx, N, NULL);
                CHECK(!memcmp(dx, want, sizeof dx));
            }
}

static double mean_abs(const float *x, size_t n) {
    double a = 0;
    for (size_t i = 0; i < n; i++) a += fabs(x[i]);
    return a / (double)n;
}

static void test_init_schedule(void) {
    enum { N = 777 };
    static float x[N], y[N];
    float s;
    sg_lsq q;
    CHECK(sg_lsq_init(&q, &s, 32, 0) == 0);
    /* eval calls neither initialise nor count */
    fill(x, N, 5, 2.0f, 1.0f, 0);
    sg_lsq_forward(&q, SG_LSQ_EVAL, x, y, N);
    CHECK(s == 1.0f && q.init_calls == 0);
    float expect;
    for (int call = 1; call <= 25; call++) {
        fill(x, N, 100 + (uint64_t)call, 0.1f * (float)call, 1.0f, 0);
        float stat = (float)(2.0 * mean_abs(x, N) / sqrt(31.0));
        CHECK_NEAR(sg_lsq_statistic(&q, x, N), stat, 1e-6 * stat);
        if (call == 7 || call == 22) s += 0.01f; /* an optimiser step between calls */
        float before = s;
        sg_lsq_forward(&q, SG_LSQ_TRAIN, x, y, N);
        if (call == 1) expect = stat;
        else if (call <= SG_LSQ_INIT_CALLS) expect = 0.9f * before + 0.1f * stat; /* overrides the optimiser */
        else expect = before;
        CHECK_MSG(fabsf(s - expect) <= 1e-6f * expect, "call %d: s %g expect %g", call, s, expect);
        CHECK(q.init_calls == (call < SG_LSQ_INIT_CALLS ? call : SG_LSQ_INIT_CALLS));
        /* the call quantizes with the updated s */
        float c = floorf(x[3] / s + 0.5f);
        c = c < 0 ? 0 : (c > 31 ? 31 : c);
        CHECK(y[3] == c * s);
        if (call > SG_LSQ_INIT_CALLS) CHECK(s == before);
    }
    /* an all-zero first batch leaves s (no division by zero) but counts */
    sg_lsq_reset_schedule(&q);
    s = 0.3f;
    memset(x, 0, sizeof x);
    sg_lsq_forward(&q, SG_LSQ_TRAIN, x, y, N);
    CHECK(s == 0.3f && q.init_calls == 1 && y[0] == 0.0f);
    /* signed: sqrt(Qp = 15) */
    CHECK(sg_lsq_init(&q, &s, 32, 1) == 0);
    fill(x, N, 9, 1.0f, 1.0f, 0);
    sg_lsq_forward(&q, SG_LSQ_TRAIN, x, y, N);
    CHECK_NEAR(s, 2.0 * mean_abs(x, N) / sqrt(15.0), 1e-6);
    /* no quantization: nothing changes */
    CHECK(sg_lsq_init(&q, &s, 256, 1) == 0);
    sg_lsq_forward(&q, SG_LSQ_TRAIN, x, y, N);
    CHECK(s == 1.0f && !memcmp(x, y, sizeof y));
}

static void test_calibration(void) {
    enum { N = 500, B = 6 };
    static float x[N], y[N];
    float s;
    sg_lsq q;
    CHECK(sg_lsq_init(&q, &s, 16, 1) == 0);
    sg_lsq_calibrate_begin(&q);
    double sum = 0.0;
    for (int b = 0; b < B; b++) {
        fill(x, N, 300 + (uint64_t)b, 0.5f + (float)b, 1.0f, 0);
        double stat = 2.0 * mean_abs(x, N) / sqrt(7.0);
        sum += stat;
        sg_lsq_forward(&q, SG_LSQ_CALIBRATE, x, y, N);
        CHECK_NEAR(s, sum / (b + 1), 1e-6 * sum);
        float c = floorf(x[0] / s + 0.5f);
        c = c < -8 ? -8 : (c > 7 ? 7 : c);
        CHECK(y[0] == c * s);
    }
    CHECK(q.init_calls == 0 && q.calib_batches == B);
    float calibrated = s;
    sg_lsq_forward(&q, SG_LSQ_EVAL, x, y, N);
    CHECK(s == calibrated);
    /* a new calibration forgets the old batches */
    sg_lsq_calibrate_begin(&q);
    fill(x, N, 999, 3.0f, 1.0f, 0);
    sg_lsq_forward(&q, SG_LSQ_CALIBRATE, x, y, N);
    CHECK_NEAR(s, 2.0 * mean_abs(x, N) / sqrt(7.0), 1e-6 * s);
}

/* Above the parallel threshold: same values as the element formula, ds as the brute force. */
static void test_large(void) {
    size_t n = 300001;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *dy = malloc(n * sizeof *dy),
          *dx = malloc(n * sizeof *dx), *want = malloc(n * sizeof *want);
    CHECK(x && y && dy && dx && want);
    if (!(x && y && dy && dx && want)) return;
    float s;
    sg_lsq q;
    sg_lsq_init(&q, &s, 32, 1);
    s = 0.0625f;
    fill(x, n, 21, 0.6f, 1.0f, 0);
    fill(dy, n, 22, 1.0f, 1.0f, 0);
    sg_lsq_forward(&q, SG_LSQ_EVAL, x, y, n);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        float c = floorf(x[i] / s + 0.5f);
        c = c < -16 ? -16 : (c > 15 ? 15 : c);
        bad += y[i] != c * s;
    }
    CHECK(bad == 0);
    float ds = 0.0f;
    double want_ds;
    sg_lsq_backward(&q, x, dy, dx, n, &ds);
    brute_backward(&q, x, dy, n, n, want, &want_ds);
    CHECK(!memcmp(dx, want, n * sizeof *dx));
    CHECK_NEAR(ds, want_ds, 1e-5 * (fabs(want_ds) + 1e-3));
    CHECK_NEAR(sg_lsq_statistic(&q, x, n), 2.0 * mean_abs(x, n) / sqrt(15.0), 1e-6);
    free(x), free(y), free(dy), free(dx), free(want);
}

/* ---------------------------------------------------------------------------------------------
 * --ref-run: the cases of tests/ref/lsq_ref.py.
 *   grad.<k>.params [level, signed, s], grad.<k>.x [n], grad.<k>.dy [n]  ->  grad.<k>.{y,dx,ds}
 *   init.<k>.params [level, signed, 1], init.<k>.x [B, n]                ->  init.<k>.s [B] (after each
 *                                                                            training-mode call)  */

typedef struct {
    sg_st_entry *e;
    float **owned;
    int n, cap;
} outputs;

static int out_add(outputs *o, const char *name, float *data, int64_t len) {
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 64;
        o->e = realloc(o->e, (size_t)o->cap * sizeof *o->e);
        o->owned = realloc(o->owned, (size_t)o->cap * sizeof *o->owned);
        if (!o->e || !o->owned) return sg_fail("out of memory");
    }
    char *copy = strdup(name);
    if (!copy) return sg_fail("out of memory");
    o->e[o->n] = (sg_st_entry){.name = copy, .ndim = 1, .shape = {len}, .data = data};
    o->owned[o->n++] = data;
    return 0;
}

static void out_free(outputs *o) {
    for (int i = 0; i < o->n; i++) {
        free((char *)o->e[i].name);
        free(o->owned[i]);
    }
    free(o->e);
    free(o->owned);
}

static float *read_tensor(const sg_safetensors *st, const char *name, size_t *numel) {
    const sg_st_tensor *t = sg_st_find(st, name);
    if (!t) {
        sg_fail("%s: no tensor '%s'", st->path, name);
        return NULL;
    }
    float *p = malloc((t->numel ? t->numel : 1) * sizeof *p);
    if (!p || sg_st_read_f32(st, t, p)) {
        free(p);
        if (!p) sg_fail("out of memory");
        return NULL;
    }
    *numel = t->numel;
    return p;
}

static int run_case(const sg_safetensors *st, const char *kind, int k, outputs *o) {
    char name[128];
    size_t np, n;
    snprintf(name, sizeof name, "%s.%d.params", kind, k);
    float *params = read_tensor(st, name, &np);
    if (!params) return -1;
    float s;
    sg_lsq q;
    int rc = np == 3 ? sg_lsq_init(&q, &s, (int)params[0], params[1] != 0.0f) : sg_fail("%s: 3 params", name);
    if (rc == 0) s = params[2];
    free(params);
    if (rc) return -1;
    snprintf(name, sizeof name, "%s.%d.x", kind, k);
    float *x = read_tensor(st, name, &n);
    if (!x) return -1;
    if (!strcmp(kind, "init")) {
        const sg_st_tensor *t = sg_st_find(st, name);
        int64_t batches = t->ndim == 2 ? t->shape[0] : 0;
        size_t per = batches ? n / (size_t)batches : 0;
        float *trace = malloc((size_t)(batches ? batches : 1) * sizeof *trace);
        float *y = malloc((per ? per : 1) * sizeof *y);
        rc = trace && y ? 0 : sg_fail("out of memory");
        for (int64_t b = 0; rc == 0 && b < batches; b++) {
            sg_lsq_forward(&q, SG_LSQ_TRAIN, x + (size_t)b * per, y, per);
            trace[b] = s;
        }
        free(y);
        snprintf(name, sizeof name, "init.%d.s", k);
        if (rc == 0) rc = out_add(o, name, trace, batches);
        else free(trace);
        free(x);
        return rc;
    }
    snprintf(name, sizeof name, "grad.%d.dy", k);
    size_t ndy;
    float *dy = read_tensor(st, name, &ndy);
    float *y = malloc((n ? n : 1) * sizeof *y), *dx = malloc((n ? n : 1) * sizeof *dx), *ds = calloc(1, sizeof *ds);
    rc = dy && ndy == n && y && dx && ds ? 0 : sg_fail("%s: bad case", name);
    if (rc == 0) {
        sg_lsq_forward(&q, SG_LSQ_EVAL, x, y, n);
        sg_lsq_backward(&q, x, dy, dx, n, ds);
        snprintf(name, sizeof name, "grad.%d.y", k);
        rc = out_add(o, name, y, (int64_t)n);
        y = NULL;
        snprintf(name, sizeof name, "grad.%d.dx", k);
        if (rc == 0) rc = out_add(o, name, dx, (int64_t)n), dx = NULL;
        snprintf(name, sizeof name, "grad.%d.ds", k);
        if (rc == 0) rc = out_add(o, name, ds, 1), ds = NULL;
    }
    free(x), free(dy), free(y), free(dx), free(ds);
    return rc;
}

static int ref_run(const char *cases, const char *out_path) {
    sg_safetensors st;
    if (sg_st_open(&st, cases)) return -1;
    outputs o = {0};
    int rc = 0, total = 0;
    char name[64];
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        const char *kind = pass ? "init" : "grad";
        for (int k = 0; rc == 0; k++) {
            snprintf(name, sizeof name, "%s.%d.params", kind, k);
            if (!sg_st_find(&st, name)) break;
            rc = run_case(&st, kind, k, &o);
            total++;
        }
    }
    if (rc == 0) rc = sg_st_write(out_path, o.e, o.n, NULL);
    if (rc == 0) printf("ran %d cases\n", total);
    out_free(&o);
    sg_st_close(&st);
    return rc;
}

int main(int argc, char **argv) {
    if (argc == 4 && !strcmp(argv[1], "--ref-run")) {
        if (ref_run(argv[2], argv[3])) {
            sg_print_error();
            return 1;
        }
        return 0;
    }
    test_bounds();
    test_forward_exact();
    test_backward();
    test_init_schedule();
    test_calibration();
    test_large();
    return sg_test_done();
}
