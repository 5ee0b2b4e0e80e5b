/* What a simulation costs (spec §6): per neuron population its spikes (+ and −) and firing rate,
 * per synaptic layer its synaptic operations SOPs = Σ_t (non-zero spike inputs at t) × fan-out and
 * the MACs of the layers fed by real values, and the energy E_MAC·MACs + E_AC·SOPs (45 nm:
 * E_MAC 4.6 pJ, E_AC 0.9 pJ), next to the quantized ANN's MACs for the same samples.
 *
 * Conventions: counts cover what the simulator computes. Padding tokens past a sample's last real
 * token are not simulated (they cannot reach the logits), so the ANN's MACs are also counted over
 * the real tokens. In the last layer only the <s> row goes past the keys and values (the classifier
 * reads nothing else), so that layer's later populations count one row. The attention products
 * count a Q spike's fan-out as the number of keys, a K spike's as the number of query rows (likewise
 * P and V for the context). Bias unfolding additions and the zip_tf nonlinearities are not
 * synaptic operations and are not counted. Real-valued inputs: the embeddings into the first
 * layer's query/key/value (step 1) and the tanh increments into out_proj. */
#ifndef SG_SNN_STATS_H
#define SG_SNN_STATS_H

#include "model/config.h"
#include "model/params.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define SG_SNN_E_MAC_PJ 4.6
#define SG_SNN_E_AC_PJ 0.9

/* Synaptic layers per encoder layer, after the Q_PER_LAYER neuron populations. */
enum { SG_SYN_QUERY, SG_SYN_KEY, SG_SYN_VALUE, SG_SYN_SCORES, SG_SYN_CONTEXT, SG_SYN_ATTN_OUT, SG_SYN_INTER,
       SG_SYN_FFN_OUT, SG_SYN_PER_LAYER };
#define SG_SNN_ENTRIES_PER_LAYER (Q_PER_LAYER + SG_SYN_PER_LAYER)
/* After the layers: the classifier's neurons, its dense and its out_proj. */
enum { SG_SNN_CLS_NEURON, SG_SNN_CLS_DENSE, SG_SNN_CLS_OUT, SG_SNN_CLS_ENTRIES };

static inline int sg_snn_entry_neuron(int layer, int q) { return layer * SG_SNN_ENTRIES_PER_LAYER + q; }
static inline int sg_snn_entry_synapse(int layer, int k) { return layer * SG_SNN_ENTRIES_PER_LAYER + Q_PER_LAYER + k; }
static inline int sg_snn_entry_classifier(int layers, int k) { return layers * SG_SNN_ENTRIES_PER_LAYER + k; }

typedef enum { SG_SNN_NEURONS = 0, SG_SNN_SYNAPSES } sg_snn_stat_kind;

typedef struct {
    char name[SG_PARAM_NAME_MAX]; /* HF module path, e.g. roberta.encoder.layer.0.attention.self.query_quan */
    sg_snn_stat_kind kind;
    int layer;                    /* encoder layer, or -1 for the classifier */
    uint64_t neurons;             /* Σ over samples of the population's size */
    uint64_t neuron_steps;        /* Σ over samples of size × steps simulated */
    uint64_t spikes_pos, spikes_neg;
    uint64_t sops;                /* synaptic operations fed by spikes */
    uint64_t macs;                /* multiply-accumulates fed by real values */
    uint64_t ann_macs;            /* the quantized ANN's MACs for the same samples */
} sg_snn_stat;

typedef struct {
    sg_snn_stat *entry;
    int count, layers;
    uint64_t samples, settled; /* samples simulated; of those, settled before the step cap */
    uint64_t steps_sum;        /* Σ settle steps */
    int steps_max;
} sg_snn_stats;

int sg_snn_stats_init(sg_snn_stats *s, const sg_model_config *cfg);
void sg_snn_stats_free(sg_snn_stats *s);
void sg_snn_stats_clear(sg_snn_stats *s);

/* One simulated sample: `tokens` rows simulated, `last_rows` query rows in the last layer, settled
 * at `steps` (settled == 0: stopped by the cap). Adds the sizes, neuron-steps and ANN MACs. */
void sg_snn_stats_add_sample(sg_snn_stats *s, const sg_model_config *cfg, int tokens, int last_rows, int steps,
                             int settled);

/* Every count as one flat array, to sum statistics gathered from several processes:
 * sg_snn_stats_words(s) words (7 per entry, then samples, settled, steps_sum). steps_max is a
 * maximum, not a sum, and is not in it. unpack writes into statistics of the same shape. */
size_t sg_snn_stats_words(const sg_snn_stats *s);
void sg_snn_stats_pack(const sg_snn_stats *s, uint64_t *w);
void sg_snn_stats_unpack(sg_snn_stats *s, const uint64_t *w);

double sg_snn_firing_rate(const sg_snn_stat *e);  /* spikes per neuron per step */
double sg_snn_energy_pj(const sg_snn_stat *e);    /* E_MAC·macs + E_AC·sops */
double sg_snn_ann_energy_pj(const sg_snn_stat *e); /* E_MAC·ann_macs */

/* Sums: every entry (name "total"), or the entries of encoder layer `layer` ("roberta.encoder.layer.<i>")
 * or of the classifier (layer -1, "classifier"). */
sg_snn_stat sg_snn_stats_total(const sg_snn_stats *s);
sg_snn_stat sg_snn_stats_layer(const sg_snn_stats *s, int layer);

/* {"samples", "settled", "mean_settle_step", "max_settle_step", "total": {...}, "layers": [...],
 * "entries": [...]}, each stat with neurons, spikes (+, −), firing_rate, sops, macs, ann_macs and
 * energies in mJ; the key names are io/run_outputs.h's. NULL on out of memory. */
cJSON *sg_snn_stats_to_json(const sg_snn_stats *s);

#endif
