#include "quant/lsq.h"

#include "core/error.h"

#include <math.h>
#include <omp.h>

/* The element loops are compiled for AVX-512 and AVX2 as well as the baseline, and the best the CPU
 * has is picked at load time (GCC function multi-versioning): the portable x86-64 build has no
 * vector floor (SSE4.1), so floorf() would be a libm call per element. Same results bit for bit:
 * floor, division and clamping are exact in every version. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#define SG_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define SG_VECTOR_CLONES
#endif

SG_VECTOR_CLONES
static void quantize_range(const float *x, float *y, size_t n, float s, float qn, float qp) {
    for (size_t i = 0; i < n; i++) {
        float c = floorf(x[i] / s + 0.5f);
        c = c < qn ? qn : (c > qp ? qp : c);
        y[i] = c * s;
    }
}

SG_VECTOR_CLONES
static double backward_range(const float *x, const float *dy, float *dx, size_t n, float s, float qn, float qp) {
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

/* [begin, end) of this thread's share of n elements */
static void thread_share(size_t n, size_t *begin, size_t *end) {
    size_t t = (size_t)omp_get_thread_num(), nt = (size_t)omp_get_num_threads();
    *begin = n / nt * t + (t < n % nt ? t : n % nt);
    *end = *begin + n / nt + (t < n % nt ? 1 : 0);
}

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

float sg_lsq_statistic(const sg_lsq *q, const float *x, size_t n) {
    if (q->full || n == 0) return 0.0f;
    double sum = 0.0;
#pragma omp parallel for reduction(+ : sum) schedule(static) if (n >= SG_LSQ_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) sum += fabs((double)x[i]);
    return (float)(2.0 * (sum / (double)n) / sqrt((double)q->qp));
}

static int usable(float stat) { return stat > 0.0f && isfinite(stat); }

/* The schedule of spec §2 (TRAIN) and our calibration (CALIBRATE). */
static void update_step(sg_lsq *q, sg_lsq_mode mode, const float *x, size_t n) {
    if (mode == SG_LSQ_TRAIN) {
        if (q->init_calls >= SG_LSQ_INIT_CALLS) return;
        float stat = sg_lsq_statistic(q, x, n);
        if (usable(stat)) *q->s = q->init_calls == 0 ? stat : 0.9f * *q->s + 0.1f * stat;
        q->init_calls++;
    } else if (mode == SG_LSQ_CALIBRATE) {
        float stat = sg_lsq_statistic(q, x, n);
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
        thread_share(n, &b, &e);
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
        thread_share(n, &b, &e);
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
