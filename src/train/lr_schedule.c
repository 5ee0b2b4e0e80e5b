#include "train/lr_schedule.h"

#include "core/error.h"

#include <math.h>

const char *sg_lr_scheduler_name(sg_lr_scheduler kind) {
    switch (kind) {
    case SG_SCHED_LINEAR: return "linear";
    case SG_SCHED_COSINE: return "cosine";
    case SG_SCHED_COSINE_WITH_RESTARTS: return "cosine_with_restarts";
    case SG_SCHED_POLYNOMIAL: return "polynomial";
    case SG_SCHED_CONSTANT: return "constant";
    case SG_SCHED_CONSTANT_WITH_WARMUP: return "constant_with_warmup";
    case SG_SCHED_INVERSE_SQRT: return "inverse_sqrt";
    }
    return "?";
}

/* a kwarg left at 0 / NaN takes HF's default */
static double or_default(double v, double dflt) { return (v == 0.0 || isnan(v)) ? dflt : v; }

int sg_lr_schedule_init(sg_lr_schedule *s, sg_lr_scheduler kind, const sg_lr_scheduler_kwargs *kw, double lr_init,
                        int warmup_steps, int total_steps) {
    static const sg_lr_scheduler_kwargs none = {0};
    if (!kw) kw = &none;
    if ((unsigned)kind > (unsigned)SG_SCHED_INVERSE_SQRT) return sg_fail("--lr_scheduler_type: unknown scheduler %d", (int)kind);
    s->kind = kind;
    s->warmup_steps = warmup_steps;
    s->total_steps = total_steps;
    s->lr_init = lr_init;
    s->num_cycles = or_default(kw->num_cycles, kind == SG_SCHED_COSINE_WITH_RESTARTS ? 1.0 : 0.5);
    s->lr_end = or_default(kw->lr_end, 1e-7);
    s->power = or_default(kw->power, 1.0);
    /* get_inverse_sqrt_schedule: timescale defaults to the warmup steps, or 10000 without warmup */
    s->timescale = or_default(kw->timescale, warmup_steps > 0 ? (double)warmup_steps : 10000.0);
    if (!isfinite(s->num_cycles) || !isfinite(s->power) || !isfinite(s->lr_end) || !isfinite(s->timescale) || s->timescale <= 0)
        return sg_fail("--lr_scheduler_kwargs: num_cycles, lr_end, power must be finite and timescale positive");
    if (kind == SG_SCHED_POLYNOMIAL && !(lr_init > s->lr_end))
        return sg_fail("--lr_scheduler_kwargs: lr_end (%g) must be smaller than the initial learning rate (%g)", s->lr_end,
                       lr_init);
    return 0;
}

double sg_lr_schedule_factor(const sg_lr_schedule *s, int step) {
    const double w = s->warmup_steps, n = s->total_steps, t = step;
    /* constant ignores warmup (HF's get_scheduler passes none to it) */
    if (s->kind == SG_SCHED_CONSTANT) return 1.0;
    if (step < s->warmup_steps) return t / (w > 1.0 ? w : 1.0);
    const double progress = (t - w) / (n - w > 1.0 ? n - w : 1.0);
    switch (s->kind) {
    case SG_SCHED_LINEAR: return fmax(0.0, (n - t) / (n - w > 1.0 ? n - w : 1.0));
    case SG_SCHED_COSINE: return fmax(0.0, 0.5 * (1.0 + cos(M_PI * s->num_cycles * 2.0 * progress)));
    case SG_SCHED_COSINE_WITH_RESTARTS:
        if (progress >= 1.0) return 0.0;
        return fmax(0.0, 0.5 * (1.0 + cos(M_PI * fmod(s->num_cycles * progress, 1.0))));
    case SG_SCHED_POLYNOMIAL: {
        if (step > s->total_steps) return s->lr_end / s->lr_init;
        const double remaining = 1.0 - (t - w) / (n - w); /* HF divides by the decay steps as they are */
        return ((s->lr_init - s->lr_end) * pow(remaining, s->power) + s->lr_end) / s->lr_init;
    }
    case SG_SCHED_CONSTANT_WITH_WARMUP: return 1.0;
    case SG_SCHED_INVERSE_SQRT: return 1.0 / sqrt((t + s->timescale - w) / s->timescale);
    case SG_SCHED_CONSTANT: break;
    }
    return 1.0;
}
