/* LSQInteger: learned-step-size quantization to integer levels (spec §2).
 *
 *   y = s · clamp(floor(x/s + 0.5), Qn, Qp)      (round half up, computed in float as x/s then +0.5)
 *   signed:   Qn = -L/2 (Python -L//2), Qp = L/2 - 1 (L//2 - 1)
 *   unsigned: Qn = 0,                   Qp = L - 1
 *   L >= 256: no quantization (identity forward and backward, s untouched).
 *
 * The step s lives in the model's parameter arena; the quantizer holds a pointer to it.
 * The kernels work on one contiguous float tensor of n elements, never allocate, and recompute
 * the in-range mask from x in backward (the caller keeps x), so nothing is stored per element.
 *
 * Modes of sg_lsq_forward:
 *   EVAL       quantize with the current s.
 *   TRAIN      the reference's initialisation schedule, counted per quantizer: training-mode call 1
 *              sets s = 2·mean|x|/sqrt(Qp); calls 2..20 set s = 0.9·s + 0.1·(2·mean|x|/sqrt(Qp))
 *              (overriding whatever the optimiser did); later calls leave s to the gradient.
 *              The update happens before quantizing, so the call quantizes with the new s.
 *   CALIBRATE  ours, opt-in: each call adds the same statistic to a running average and sets
 *              s to the average so far, then quantizes with it. Run sg_lsq_calibrate_begin on every
 *              quantizer, then N forward passes of the whole model in CALIBRATE mode (no backward,
 *              no optimiser): afterwards s = the statistic averaged over the N batches, each batch's
 *              statistic taken with the upstream quantizers already calibrated so far (as the
 *              training schedule does). Calibration does not touch the training call counter.
 * A statistic that is not a positive finite number (an all-zero tensor) leaves s unchanged, where
 * the reference would divide by zero; the call still counts.
 *
 * The mean |x| is over the whole tensor, batch included (numel as the reference), accumulated in
 * double. Loops are OpenMP-parallel above a size threshold. */
#ifndef SG_LSQ_H
#define SG_LSQ_H

#include <stddef.h>

#define SG_LSQ_FULL_LEVEL 256 /* levels at or above this: no quantization */
#define SG_LSQ_INIT_CALLS 20  /* training-mode calls that (re)initialise s */
#define SG_LSQ_MAX_LEVEL (1 << 30)

typedef enum { SG_LSQ_EVAL = 0, SG_LSQ_TRAIN, SG_LSQ_CALIBRATE } sg_lsq_mode;

/* Data parallelism, set from above: sums a statistic's parts over the parts of a global batch.
 * sums[0] = Σ|x|, sums[1] = numel of this part on entry, the global batch's on return. Every part
 * calls it at the same points (the quantizers run in the same order everywhere). */
typedef struct {
    void (*sum)(void *ctx, double sums[2]);
    void *ctx;
} sg_lsq_reducer;

typedef struct {
    float *s;       /* the step, in the parameter arena */
    int level;
    int is_signed;
    int full;       /* level >= SG_LSQ_FULL_LEVEL: identity */
    float qn, qp;   /* integer clamp bounds (as floats) */
    int init_calls; /* training-mode forward calls seen so far */
    double calib_sum;
    int calib_batches;
    const sg_lsq_reducer *reducer; /* NULL: the statistic is this tensor's own */
} sg_lsq;

/* Set up a quantizer over the step *s and set *s = 1.0 (the reference's initial value; a checkpoint
 * loaded afterwards overwrites it). The level must give Qp >= 1: L >= 4 signed, L >= 2 unsigned,
 * and at most SG_LSQ_MAX_LEVEL. 0 or -1 (sg_fail). */
int sg_lsq_init(sg_lsq *q, float *s, int level, int is_signed);

/* The initialisation statistic 2·mean|x| / sqrt(Qp) of a tensor (0 for n == 0 or full). */
float sg_lsq_statistic(const sg_lsq *q, const float *x, size_t n);

/* y = quantized x (y may equal x). Updates s first in TRAIN (calls 1..20) and CALIBRATE modes. */
void sg_lsq_forward(sg_lsq *q, sg_lsq_mode mode, const float *x, float *y, size_t n);

/* Straight-through backward for the tensor x of n elements (n = numel(x), the whole tensor):
 *   dx = dy where Qn <= floor(x/s + 0.5) <= Qp (bounds included), else 0   (dx may equal dy)
 *   *ds += g · Σ dy·(n_c − (x/s)·[in range]),  g = 1/sqrt(Qp·n),  n_c the clamped integer.
 * ds may be NULL (s frozen). Uses the current *s: call it before the optimiser moves s. */
void sg_lsq_backward(const sg_lsq *q, const float *x, const float *dy, float *dx, size_t n, float *ds);
/* The same over a part of n elements of a tensor of `numel` elements (g uses numel): for callers
 * that run backward piecewise; the parts' ds contributions add up to the whole tensor's. */
void sg_lsq_backward_part(const sg_lsq *q, const float *x, const float *dy, float *dx, size_t n, size_t numel,
                          float *ds);

/* Start a calibration: forget earlier calibration batches. */
void sg_lsq_calibrate_begin(sg_lsq *q);
/* Restart the training initialisation schedule (the next TRAIN call is call 1 again). */
void sg_lsq_reset_schedule(sg_lsq *q);

#endif
