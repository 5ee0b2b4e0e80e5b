#include "model/lsq.h"

#include "core/error.h"
#include "core/simd.h"

#include <math.h>
#include <omp.h>

/* The element loops run in AVX-512/AVX2 versions where the CPU has them (core/simd.h): floor,
 * division and clamping are exact in every version. */
SG_ISA_BODY void quantize_range_body(const float *x, float *y, size_t n, float s, float qn, float qp) {
    for (size_t i = 0; i < n; i++) {
        float c = floorf(x[i] / s + 0.5f);
        c = c < qn ? qn : (c > qp ? qp : c);
        y[i] = c * s;
    }
}

SG_ISA_VERSIONS_VOID(quantize_range, (const float *x, float *y, size_t n, float s, float qn, float qp),
                     (x, y, n, s, qn, qp))

SG_ISA_BODY double backward_range_body(const float *x, const float *dy, float *dx, size_t n, float s, float qn, float qp) {
    double acc = 0.0;
#pragma omp simd reduction(+ : acc)
    for (size_t i = 0; i < n; i++) {
        float v = x[i] / s;
        float c = floorf(v + 0.5f);
        float g = dy[i];
        int inside = c >= qn && c <= qp;
        dx[i] = inside ? g : 0.0f;
        acc += (double)g * (inside ? (double)c - (double)v : (double)(c < qn ? qn : qp));
    }
    return acc;
}

SG_ISA_VERSIONS(double, backward_range,
                (const float *x, const float *dy, float *dx, size_t n, float s, float qn, float qp),
                (x, dy, dx, n, s, qn, qp))

/* Below this many elements the loops stay serial: a parallel region costs more than it saves. */
#define SG_LSQ_PARALLEL_MIN 16384

int sg_lsq_init(sg_lsq *q, float *s, int level, int is_signed) {
    *q = (sg_lsq){0};
    if (!s) return sg_fail("lsq: no step parameter");
    if (level < 2 || level > SG_LSQ_MAX_LEVEL)
        return sg_fail("lsq: level %d out of range (2..%d)", level, SG_LSQ_MAX_LEVEL);
    if (is_signed && level < 4)
        return sg_fail("lsq: signed level %d gives Qp = 0 (needs level >= 4)", level);
    q->s = s;
    q->reducer = NULL;
    q->level = level;
    q->is_signed = is_signed ? 1 : 0;
    q->full = level >= SG_LSQ_FULL_LEVEL;
    if (q->is_signed) {
        q->qn = (float)(-((level + 1) / 2)); /* Python's -level // 2 (floor), equal to -L/2 for even L */
        q->qp = (float)(level / 2 - 1);
    } else {
        q->qn = 0.0f;
        q->qp = (float)(level - 1);
    }
    *s = 1.0f;
    return 0;
}

static double abs_sum(const float *x, size_t n) {
    double sum = 0.0;
#pragma omp parallel for reduction(+ : sum) schedule(static) if (n >= SG_LSQ_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) sum += fabs((double)x[i]);
    return sum;
}

float sg_lsq_statistic(const sg_lsq *q, const float *x, size_t n) {
    if (q->full || n == 0) return 0.0f;
    return (float)(2.0 * (abs_sum(x, n) / (double)n) / sqrt((double)q->qp));
}

/* The statistic of the global batch when this tensor is one part of it (q->reducer), else its own. */
static float global_statistic(const sg_lsq *q, const float *x, size_t n) {
    if (!q->reducer) return sg_lsq_statistic(q, x, n);
    double sums[2] = {n ? abs_sum(x, n) : 0.0, (double)n};
    q->reducer->sum(q->reducer->ctx, sums);
    if (!(sums[1] > 0.0)) return 0.0f;
    return (float)(2.0 * (sums[0] / sums[1]) / sqrt((double)q->qp));
}

static int usable(float stat) { return stat > 0.0f && isfinite(stat); }

/* The schedule of spec §2 (TRAIN) and our calibration (CALIBRATE). */
static void update_step(sg_lsq *q, sg_lsq_mode mode, const float *x, size_t n) {
    if (mode == SG_LSQ_TRAIN) {
        if (q->init_calls >= SG_LSQ_INIT_CALLS) return;
        float stat = global_statistic(q, x, n);
        if (usable(stat)) *q->s = q->init_calls == 0 ? stat : 0.9f * *q->s + 0.1f * stat;
        q->init_calls++;
    } else if (mode == SG_LSQ_CALIBRATE) {
        float stat = global_statistic(q, x, n);
        if (!usable(stat)) return;
        q->calib_sum += stat;
        q->calib_batches++;
        *q->s = (float)(q->calib_sum / q->calib_batches);
    }
}

void sg_lsq_forward(sg_lsq *q, sg_lsq_mode mode, const float *x, float *y, size_t n) {
    if (q->full) {
        if (y != x)
            for (size_t i = 0; i < n; i++) y[i] = x[i];
        return;
    }
    update_step(q, mode, x, n);
    const float s = *q->s, qn = q->qn, qp = q->qp;
#pragma omp parallel if (n >= SG_LSQ_PARALLEL_MIN)
    {
        size_t b, e;
        sg_thread_share(n, &b, &e);
        quantize_range(x + b, y + b, e - b, s, qn, qp);
    }
}

void sg_lsq_backward_part(const sg_lsq *q, const float *x, const float *dy, float *dx, size_t n, size_t numel,
                          float *ds) {
    if (q->full) {
        if (dx != dy)
            for (size_t i = 0; i < n; i++) dx[i] = dy[i];
        return;
    }
    const float s = *q->s, qn = q->qn, qp = q->qp;
    double acc = 0.0;
#pragma omp parallel reduction(+ : acc) if (n >= SG_LSQ_PARALLEL_MIN)
    {
        size_t b, e;
        sg_thread_share(n, &b, &e);
        acc += backward_range(x + b, dy + b, dx + b, e - b, s, qn, qp);
    }
    if (ds && numel > 0) *ds += (float)(acc / sqrt((double)q->qp * (double)numel));
}

void sg_lsq_backward(const sg_lsq *q, const float *x, const float *dy, float *dx, size_t n, float *ds) {
    sg_lsq_backward_part(q, x, dy, dx, n, n, ds);
}

void sg_lsq_calibrate_begin(sg_lsq *q) {
    q->calib_sum = 0.0;
    q->calib_batches = 0;
}

void sg_lsq_reset_schedule(sg_lsq *q) { q->init_calls = 0; }
