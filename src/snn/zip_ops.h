/* The SpikeZIP-TF ("zip_tf") operators of spec §4 and the event-driven kernels the simulator is
 * built from. Every operator takes per-step increments and emits per-step increments whose sum
 * over all steps equals the quantized ANN's value once every neuron is quiet.
 *
 * Two layers of API:
 *  - Standalone zip operators with the increment interface (sg_zip_*_step): LayerNorm, softmax
 *    and tanh by the difference rule (keep X_t = Σ inputs, emit f(X_t) − f(X_{t−1}), f(X_0) = 0),
 *    the unfold_bias linear and the embedding at step 1. They are the definition; the tests check
 *    that they telescope.
 *  - Fused, event-driven kernels for the simulator (sg_snn_*): a population of ST-BIF neurons
 *    keeps its *accumulated input* X, a linear adds only the weight rows of the inputs that spiked,
 *    and a difference-rule op followed by a neuron writes f(X_t) as that neuron's accumulated input
 *    (the sum of the increments it would have received), so nothing is evaluated for rows whose
 *    input did not change.
 *
 * Spike events: a step's spikes of one row are a list of columns, j for a +1 spike and ~j (= −j−1)
 * for a −1 spike, in increasing column order. A spike's value is ±θ of its population. */
#ifndef SG_ZIP_OPS_H
#define SG_ZIP_OPS_H

#include "model/ops.h"
#include "snn/stbif.h"

#include <stddef.h>
#include <stdint.h>

static inline int32_t sg_spike_event(int col, int sign) { return sign > 0 ? col : ~col; }
static inline int sg_event_col(int32_t e) { return e >= 0 ? e : ~e; }
static inline int sg_event_sign(int32_t e) { return e >= 0 ? 1 : -1; }

/* ---- Standalone zip_tf operators (increment in, increment out) ---------------------------- */

/* Their functions f are the ANN's own row kernels (model/ops.h: sg_layernorm_row, sg_softmax_row),
 * so a spiking operator equals its quantized counterpart by construction. */

/* State of a difference-rule operator over n elements: X (inputs so far) and f(X) last emitted. */
typedef struct {
    float *acc, *prev;
    size_t n;
} sg_zip_state;

int sg_zip_state_init(sg_zip_state *z, size_t n); /* allocates and resets; 0 or -1 */
void sg_zip_state_free(sg_zip_state *z);
void sg_zip_state_reset(sg_zip_state *z); /* X = 0, f(X_0) = 0 */

/* X += in (in NULL: no input); out = f(X) − prev; prev = f(X). Rows of width C (LayerNorm),
 * T (softmax over keys, key mask shared by all rows, may be NULL) or element-wise (tanh). */
void sg_zip_layernorm_step(sg_zip_state *z, const float *in, float *out, int rows, int C, const float *w,
                           const float *b, float eps);
void sg_zip_softmax_step(sg_zip_state *z, const float *in, float *out, int rows, int T, const int32_t *key_mask);
void sg_zip_tanh_step(sg_zip_state *z, const float *in, float *out);

/* unfold_bias linear: y_t = W·x_t + b/level during the first `level` calls (counted per call,
 * including calls with zero input), W·x_t afterwards; Σ y_t = W·Σx + b. W is [out, in] (HF). */
typedef struct {
    const float *W, *b;
    int in, out, level;
    int calls;
} sg_zip_unfold_linear;
/* x: [rows, in] or NULL (zero input); y: [rows, out]. */
void sg_zip_unfold_linear_step(sg_zip_unfold_linear *l, const float *x, float *y, int rows);

/* Embedding: at step 1 after reset the real lookup word[id] + position[pos] + type[0] (as the
 * model computes it), zeros afterwards. out: [N, C]. */
void sg_zip_embedding_step(float *out, int step, const int32_t *ids, const int32_t *pos_ids, const float *word,
                           const float *pos, const float *type, int N, int C);

/* ---- Populations of ST-BIF neurons over accumulated input ---------------------------------- */

/* The neuron is spec §3's ST-BIF with its membrane written through the accumulated input X:
 * V = X/θ + 0.5 − S. A step: u = X/θ + 0.5; o = +1 if u ≥ S + 1 and S < S_max, −1 if u < S and
 * S > S_min, else 0; S += o. Identical spikes in exact arithmetic; in float u is the very
 * expression LSQ rounds (floor(x/s + 0.5)), so a neuron whose accumulated input equals the ANN's
 * pre-quantizer value settles on exactly the ANN's integer, with no drift from summing I/θ. */

/* One step of n neurons of one quantizer whose accumulated inputs x are up to date: updates the
 * counts s, appends an event (col0 + c) per spike to ev, sets *pending when a neuron will fire
 * again without further input, adds the spikes to *pos / *neg. Returns the number of events.
 * ev must have room for n events (spikes are listed without branching on them). */
int sg_snn_fire(const sg_stbif_params *p, const float *x, int32_t *s, int n, int col0, int32_t *ev, int *pending,
                uint64_t *pos, uint64_t *neg);

/* rows × width neurons; the columns are split into nseg equal segments, each replacing one
 * quantizer (the fused query | key | value projection has three). */
typedef struct {
    int rows, width, nseg;
    sg_stbif_params seg[3];
    float *x;       /* [rows, width] accumulated input */
    int32_t *s;     /* [rows, width] spike counts */
    uint8_t *pend;  /* [rows] 1 when a neuron of the row will fire at the next step even without input */
    int32_t *ev;    /* [rows, width] this step's events (row r: ev + r*width, nev[r] of them) */
    int32_t *nev;   /* [rows] */
    int own_ev;
} sg_snn_pop;

/* ev_shared: NULL to allocate the event buffers, or rows*width + rows int32 to use (populations
 * that are never live at the same time may share them). 0 or -1. */
int sg_snn_pop_init(sg_snn_pop *p, int rows, int width, int nseg, const sg_stbif_params *seg, int32_t *ev_shared);
void sg_snn_pop_free(sg_snn_pop *p);
/* X = 0, S = 0, nothing pending, no events (rows [0, rows)). */
void sg_snn_pop_reset(sg_snn_pop *p, int rows);
/* One step of row r with its X already updated: writes events, nev[r] and pend[r]. Counts
 * spikes per segment into pos[seg], neg[seg] (either may be NULL). Returns the number of spikes. */
int sg_snn_pop_fire_row(sg_snn_pop *p, int r, uint64_t *pos, uint64_t *neg);
/* nev[r] = 0 for rows that neither got input nor were pending (no call to fire needed). */
static inline void sg_snn_pop_quiet_row(sg_snn_pop *p, int r) { p->nev[r] = 0; }

/* ---- Event-driven linear (unfold_bias) into a population ---------------------------------- */

/* A linear layer with its weight stored transposed: row j of wt is input j's column of W, so
 * adding the contribution of one spike is one contiguous axpy. */
typedef struct {
    const float *wt;        /* [in, out], rows ld apart */
    const float *bias;      /* [out] b */
    const float *bias_step; /* [out] b/level, added at each unfolding step */
    int in, out;
    int ld;                 /* row stride of wt in floats; 0: out */
    /* NULL, or wt's full strips of SG_SNN_STRIP columns again, strip-major: strip s is the
     * contiguous [in, SG_SNN_STRIP] block at s·in·SG_SNN_STRIP (so an event's strip is one block) */
    const float *wt_strips;
} sg_snn_linear;

#define SG_SNN_STRIP 64

/* The row stride of lin's wt. */
static inline int sg_snn_linear_ld(const sg_snn_linear *lin) { return lin->ld ? lin->ld : lin->out; }

/* acc[0..n) = Σ_events sign · wt[col·n .. col·n + n). */
void sg_snn_gather(float *acc, const float *wt, int n, const int32_t *ev, int nev);

/* This step's input of a linear: spikes (events per row, row stride `stride`, value ±theta), or a
 * dense real-valued block [rows, in], or nothing. */
typedef struct {
    const int32_t *ev, *nev;
    int stride;
    float theta;
    const float *dense;
} sg_snn_input;

/* Per-thread scratch of the linear step's dense path. */
typedef struct {
    float *xd, *yd; /* [max rows × max in], [max rows × max out] */
} sg_snn_scratch;

typedef struct {
    uint64_t sops, macs;  /* of the linear */
    uint64_t pos[3], neg[3]; /* spikes of the population per segment */
} sg_snn_counts;

/* One step of `lin` feeding `pop` on rows [0, rows): X += W·x_t (+ b/level when bias_on, during
 * the unfolding steps) for rows with input or bias, then the rows with input, bias or pending
 * neurons fire; the others stay quiet. When at least dense_fraction of the inputs are active the
 * product runs as one dense GEMM (≤ 0: always, > 1: never). Returns 1 if a row is left pending. */
int sg_snn_linear_fire(const sg_snn_linear *lin, const sg_snn_input *in, int bias_on, sg_snn_pop *pop, int rows,
                       float dense_fraction, sg_snn_scratch *scratch, sg_snn_counts *cnt);

/* ---- Difference-rule LayerNorm into a population ------------------------------------------ */

/* The residual block's LN-zip feeding its ST-BIF neuron, rows [0, rows): the LN input is
 * X = θa·S_a + r (the branch's spike counts times its threshold, plus the residual: counts
 * r_s·r_theta, or the real rows r_dense), as the ANN adds them. Rows where a or the residual
 * spiked this step (every row when `first`) get the pop's accumulated input set to LN(X); rows
 * that changed or are pending fire. a_s, r_s: [rows, C] counts; a_nev, r_nev: this step's spike
 * numbers per row (r_nev NULL: the residual changes only when `first`). tmp: C floats.
 * Returns 1 if a row is left pending. */
int sg_snn_layernorm_fire(sg_snn_pop *pop, int rows, int first, const int32_t *a_s, const int32_t *a_nev,
                          float a_theta, const int32_t *r_s, const int32_t *r_nev, float r_theta, const float *r_dense,
                          const float *w, const float *b, float eps, float *tmp, sg_snn_counts *cnt);

/* ---- Self-attention (spec §4) ------------------------------------------------------------ */

/* Attention of one sample, all heads, from the Q/K/V spikes to the context spikes.
 * Scores, probabilities and context accumulate by the product rule in integer spike counts:
 *   ΔS = Ŝ_Q(t)Ŝ_K(t)ᵀ − Ŝ_Q(t−1)Ŝ_K(t−1)ᵀ = Q_t·Ŝ_K(t−1)ᵀ + Ŝ_Q(t)·K_tᵀ
 * (counts; the value is θ_Q·θ_K times that), only over the spikes of this step. The mask is
 * applied once, to the accumulated scores; the softmax follows the difference rule into the
 * attn_quan neurons (unsigned), whose counts drive the context the same way into after_attn_quan. */
typedef struct {
    int T, C, H;
    int32_t *score;   /* [H, T, T] Σ n_Q·n_K */
    int32_t *q_t;     /* [C, T] Q counts, transposed */
    int32_t *k_t;     /* [C, T] K counts up to the previous step, transposed */
    int32_t *v_c;     /* [T, C] V counts up to the previous step */
    int32_t *ctx;     /* [T, C] Σ n_P·n_V */
    sg_snn_pop prob;  /* attn_quan: H*T rows (h*T + i) of T keys */
    sg_snn_pop out;   /* after_attn_quan: T rows of C (heads merged) */
    /* scratch */
    int32_t *bounds;  /* [T, 3H + 1] event offsets per (row, part, head) */
    int32_t *keys;    /* [T] */
    int32_t *col;     /* [T] one column of counts over the query rows */
    int32_t *delta;   /* [max(T, head dim) * T] this step's second product term, transposed */
    uint8_t *changed;       /* [T] context rows changed this step */
    uint8_t *score_changed; /* [T] score rows of the current head changed this step */
} sg_zip_attention;

typedef struct {
    float scale;                 /* 1/sqrt(head dim) */
    const sg_stbif_params *qkv;  /* θ of query, key, value */
    sg_stbif_params prob, out;   /* attn_quan, after_attn_quan */
} sg_zip_attention_params;

typedef struct {
    uint64_t score_sops, context_sops;
    uint64_t prob_pos, prob_neg, out_pos, out_neg;
} sg_zip_attention_counts;

int sg_zip_attention_init(sg_zip_attention *a, int T, int C, int H, const sg_zip_attention_params *prm,
                          int32_t *prob_ev_shared, int32_t *out_ev_shared);
void sg_zip_attention_free(sg_zip_attention *a);
void sg_zip_attention_reset(sg_zip_attention *a, int rows);

/* One step. qkv: the population of the fused projections (width 3C, this step's events and
 * counts), rows [0, rows) are the keys; the queries are rows [0, q_rows) (q_rows ≤ rows: a last
 * layer needs only the <s> row). key_mask: [rows] (0: padding key; at least one must be 1).
 * first: step 1 (every row evaluated: f(X_0) = 0). Outputs the context spikes in a->out.
 * Returns 1 if a neuron is pending. */
int sg_zip_attention_step(sg_zip_attention *a, const sg_zip_attention_params *prm, const sg_snn_pop *qkv,
                          const int32_t *key_mask, int rows, int q_rows, int first, sg_zip_attention_counts *cnt);

#endif
