#include "snn/stbif.h"

#include "core/error.h"

#include <math.h>
#include <stdlib.h>

/* Below this many neurons a step stays serial. */
#define SG_STBIF_PARALLEL_MIN 16384

int sg_stbif_params_from_lsq(sg_stbif_params *p, const sg_lsq *q) {
    *p = (sg_stbif_params){0};
    if (q->full) {
        p->passthrough = 1;
        p->theta = 1.0f;
        return 0;
    }
    float theta = *q->s;
    if (!(theta > 0.0f) || !isfinite(theta))
        return sg_fail("st-bif: threshold (quantizer step) %g is not a positive finite number", (double)theta);
    p->theta = theta;
    p->smin = (int32_t)q->qn;
    p->smax = (int32_t)q->qp;
    return 0;
}

int sg_stbif_state_init(sg_stbif_state *st, size_t n) {
    st->n = n;
    st->v = malloc((n ? n : 1) * sizeof *st->v);
    st->count = malloc((n ? n : 1) * sizeof *st->count);
    if (!st->v || !st->count) {
        sg_stbif_state_free(st);
        return sg_fail("st-bif: out of memory for %zu neurons", n);
    }
    sg_stbif_reset(st);
    return 0;
}

void sg_stbif_state_free(sg_stbif_state *st) {
    free(st->v);
    free(st->count);
    st->v = NULL;
    st->count = NULL;
    st->n = 0;
}

void sg_stbif_reset(sg_stbif_state *st) {
    for (size_t i = 0; i < st->n; i++) {
        st->v[i] = 0.5f;
        st->count[i] = 0;
    }
}

static size_t passthrough_step(const float *in, float *out, size_t n, int *working) {
    size_t nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        float x = in ? in[i] : 0.0f;
        out[i] = x;
        nonzero += x != 0.0f;
    }
    if (working) *working = nonzero > 0;
    return nonzero;
}

size_t sg_stbif_step(const sg_stbif_params *p, sg_stbif_state *st, const float *in, float *out, int *working) {
    const size_t n = st->n;
    if (p->passthrough) return passthrough_step(in, out, n, working);
    const float theta = p->theta;
    const int32_t smin = p->smin, smax = p->smax;
    float *v = st->v;
    int32_t *count = st->count;
    size_t spikes = 0;
    int busy = 0;
#pragma omp parallel for reduction(+ : spikes) reduction(| : busy) schedule(static) if (n >= SG_STBIF_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++) {
        float x = in ? in[i] : 0.0f;
        float vi = v[i] + x / theta;
        int32_t s = count[i];
        int o = (vi >= 1.0f && s < smax) ? 1 : ((vi < 0.0f && s > smin) ? -1 : 0);
        count[i] = s + o;
        v[i] = vi - (float)o;
        out[i] = (float)o * theta;
        spikes += o != 0;
        busy |= (o != 0) | (x != 0.0f);
    }
    if (working) *working = busy;
    return spikes;
}
