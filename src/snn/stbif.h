/* ST-BIF neurons (spike-timing bipolar integrate-and-fire, spec §3), the spiking twin of an LSQ
 * quantizer: threshold θ = s, S_max = Qp, S_min = Qn.
 *
 * State per element: membrane V (in units of θ) and spike count S. Reset: V = 0.5, S = 0.
 * One step with input increment I:
 *   V += I/θ;  o = +1 if V >= 1 and S < S_max, -1 if V < 0 and S > S_min, else 0;
 *   S += o;  V -= o;  output o·θ.
 * Once the input stops, S settles at clamp(floor(X/θ + 0.5), S_min, S_max) with X the total input,
 * i.e. the LSQ integer; overshoot is undone by negative spikes. At most one spike per step, so
 * settling takes at most S_max - S_min steps after the last input.
 *
 * A quantizer with level >= 256 quantizes nothing; its twin is a passthrough (out = in, no state). */
#ifndef SG_STBIF_H
#define SG_STBIF_H

#include <stddef.h>
#include <stdint.h>

#include "model/lsq.h"

typedef struct {
    float theta;
    int32_t smin, smax;
    int passthrough;
} sg_stbif_params;

/* The neuron replacing quantizer q: θ = *q->s (copied now), S_min = Qn, S_max = Qp.
 * Fails if θ is not a positive finite number. */
int sg_stbif_params_from_lsq(sg_stbif_params *p, const sg_lsq *q);

typedef struct {
    float *v;       /* membrane, in units of θ */
    int32_t *count; /* S */
    size_t n;
} sg_stbif_state;

/* Allocate the state of n neurons (setup time only) and reset it. 0 or -1 (sg_fail). */
int sg_stbif_state_init(sg_stbif_state *st, size_t n);
void sg_stbif_state_free(sg_stbif_state *st);
/* V = 0.5, S = 0 for every neuron. */
void sg_stbif_reset(sg_stbif_state *st);

/* One time step over the st->n neurons. in: the input increments (NULL = all zero); out: o·θ
 * (out may equal in). Returns the number of non-zero outputs (spikes of either sign). *working
 * (if not NULL) is set to 1 when some neuron had a non-zero input or output this step, else 0:
 * after a step with *working == 0 and zero inputs from then on, no neuron will fire again. */
size_t sg_stbif_step(const sg_stbif_params *p, sg_stbif_state *st, const float *in, float *out, int *working);

#endif
