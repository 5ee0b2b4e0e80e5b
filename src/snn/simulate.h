/* Simulating the spiking network on a batch (spec §5), event-driven.
 *
 * Each sample is reset, gets its embeddings at step 1 and nothing afterwards, and is stepped until
 * quiescence (no neuron about to fire and the bias unfolding over) or max_steps. Its logits are the
 * sum of the per-step outputs; the partial sums after every step give the prediction as a function
 * of time. Once quiet, a sample costs nothing more.
 *
 * Inside a step the work follows the spikes: a linear adds only the weight rows of the inputs that
 * spiked (a dense GEMM when many did, and at step 1 for the real-valued embeddings), a row whose
 * input did not change and whose neurons are not about to fire is skipped, and the nonlinear
 * zip_tf ops are evaluated only for rows whose accumulated input changed. Rows past a sample's
 * last real token are not simulated (padding cannot reach the logits), and in the last layer only
 * the <s> row goes past the keys and values. The steps run in windows of 16, operator by operator
 * (each operator for every step of the window, its events kept per step, then the next), so an
 * operator's weights serve many steps while in cache; the results are those of the step-by-step
 * definition, bit for bit, the settle step included. Samples run in parallel (OpenMP, one sample per
 * thread at a time); each thread owns the state of one sample, allocated once at creation: the
 * step loop allocates nothing. */
#ifndef SG_SIMULATE_H
#define SG_SIMULATE_H

#include "model/roberta.h"
#include "snn/snn_model.h"
#include "snn/snn_stats.h"

#define SG_SNN_DEFAULT_MAX_STEPS 256

typedef struct {
    int max_steps;        /* step cap (default 256) */
    float dense_fraction; /* a linear's step becomes one dense GEMM when at least this fraction of its inputs
                             spiked (<= 0 always, > 1 never). Default 0.9: the event-driven sum adds
                             ~20 G weights/s per core, so a GEMM pays only when nearly every input
                             spiked (OpenBLAS's Prescott kernels, 20 GFLOP/s, never; its SkylakeX
                             kernels, 74 GFLOP/s, break even around 0.3-0.5) */
    int threads;          /* 0: omp_get_max_threads() */
    int prune_last_layer; /* 1 (default): in the last layer only the <s> row goes past the keys and values */
} sg_snn_sim_options;

void sg_snn_sim_options_default(sg_snn_sim_options *o);

typedef struct sg_snn_sim sg_snn_sim;

/* A simulator for batches up to max_batch × max_seq of the network snn (which must outlive it).
 * NULL + sg_last_error() on failure. */
sg_snn_sim *sg_snn_sim_create(const sg_snn_model *snn, int max_batch, int max_seq, const sg_snn_sim_options *opt);
void sg_snn_sim_free(sg_snn_sim *sim);

/* Simulate one batch from reset to quiescence. Every row must have at least one real token
 * (mask 1) and ids inside the vocabulary. Statistics accumulate over calls. One call at a time per
 * simulator (it uses its own threads). The result per sample does not depend on the batch it is
 * in or on the thread count. 0 or -1. */
int sg_snn_simulate(sg_snn_sim *sim, const sg_batch *b);

/* The results of the last sg_snn_simulate, valid until the next call. */
typedef struct {
    int B, L, max_steps;
    int steps;                /* the largest settle step of the batch */
    const float *logits;      /* [B, L] summed over all steps */
    const int *settle_step;   /* [B] last step with any activity (max_steps if not settled) */
    const uint8_t *settled;   /* [B] 1 if quiet before the cap */
    const float *step_logits; /* [max_steps, B, L]: partial sums after step t at index t - 1 */
} sg_snn_output;

const sg_snn_output *sg_snn_sim_output(const sg_snn_sim *sim);
/* Argmax (first maximum) of the partial logits of sample b after step t (1..max_steps);
 * for regression (L == 1) the caller reads step_logits directly. */
int sg_snn_predict_at(const sg_snn_output *o, int b, int t);
int sg_snn_argmax(const float *z, int n);

/* Accumulated since creation or the last clear. */
const sg_snn_stats *sg_snn_sim_stats(const sg_snn_sim *sim);
void sg_snn_sim_clear_stats(sg_snn_sim *sim);

#endif
