/* The run-output contract: the SNN part of what `spikeglue run` writes into its output_dir
 * (snn_results.json, the snn_* keys of all_results.json) and how a reader gets it back. The key
 * names live here alone: the writers (snn/snn_stats.c, cli/run_snn.c) write through these names
 * and the reader (sched/run_record_dir.c) reads through sg_read_*_results below, which accept
 * exactly what the writers write plus HF's eval_<metric> names, and refuse a key of ours they do
 * not know (naming it) instead of guessing what it meant.
 *
 * This sits in io/ (floor 4, the on-disk formats) so that snn/ and train/ (5), cli/ (6) and
 * sched/ may all include it. It depends on cJSON and core/ only.
 *
 * snn_results.json:
 *   {"metrics": {"eval_<m>": v, …, "eval_samples": n},
 *    "agreement_with_qann": a,
 *    "accuracy_by_step": [main metric after step 1, 2, …] (null where undefined),
 *    "settings": {"max_steps", "unfold_level", "simulation_seconds"},
 *    "stats": {"samples", "settled", "mean_settle_step", "max_settle_step", "e_mac_pj", "e_ac_pj",
 *              "total": STAT, "layers": [STAT, …], "entries": [STAT + "kind", …]}}
 *   STAT = {"name", "neurons", "spikes", "spikes_pos", "spikes_neg", "firing_rate", "sops", "macs",
 *           "ann_macs", "energy_mj", "ann_energy_mj"}, costs totalled over the samples.
 * all_results.json (beside HF's keys): "snn_eval_<m>", "snn_mean_settle_step", "snn_max_settle_step",
 *   "snn_agreement_with_qann", "snn_sops_per_sample", "snn_energy_mj_per_sample",
 *   "ann_energy_mj_per_sample". */
#ifndef SG_RUN_OUTPUTS_H
#define SG_RUN_OUTPUTS_H

#include <cjson/cJSON.h>

#define SG_OUT_ALL_RESULTS_FILE "all_results.json"
#define SG_OUT_TRAINER_STATE_FILE "trainer_state.json"
#define SG_OUT_SNN_RESULTS_FILE "snn_results.json"

/* HF's prefix of evaluation metrics, and ours of the spiking network's in all_results.json. */
#define SG_OUT_EVAL_PREFIX "eval_"
#define SG_OUT_SNN_EVAL_PREFIX "snn_eval_"

/* snn_results.json, top level */
#define SG_OUT_METRICS "metrics"
#define SG_OUT_AGREEMENT "agreement_with_qann"
#define SG_OUT_BY_STEP "accuracy_by_step"
#define SG_OUT_SETTINGS "settings"
#define SG_OUT_STATS "stats"
/* "settings" */
#define SG_OUT_MAX_STEPS "max_steps"
#define SG_OUT_UNFOLD_LEVEL "unfold_level"
#define SG_OUT_SIM_SECONDS "simulation_seconds"
/* "metrics": eval_<m> and the sample count */
#define SG_OUT_EVAL_SAMPLES "eval_samples"
/* "stats" */
#define SG_OUT_SAMPLES "samples"
#define SG_OUT_SETTLED "settled"
#define SG_OUT_MEAN_SETTLE "mean_settle_step"
#define SG_OUT_MAX_SETTLE "max_settle_step"
#define SG_OUT_E_MAC_PJ "e_mac_pj"
#define SG_OUT_E_AC_PJ "e_ac_pj"
#define SG_OUT_TOTAL "total"
#define SG_OUT_LAYERS "layers"
#define SG_OUT_ENTRIES "entries"
/* one STAT */
#define SG_OUT_NAME "name"
#define SG_OUT_KIND "kind"
#define SG_OUT_KIND_NEURONS "neurons"
#define SG_OUT_KIND_SYNAPSES "synapses"
#define SG_OUT_NEURONS "neurons"
#define SG_OUT_SPIKES "spikes"
#define SG_OUT_SPIKES_POS "spikes_pos"
#define SG_OUT_SPIKES_NEG "spikes_neg"
#define SG_OUT_FIRING_RATE "firing_rate"
#define SG_OUT_SOPS "sops"
#define SG_OUT_MACS "macs"
#define SG_OUT_ANN_MACS "ann_macs"
#define SG_OUT_ENERGY_MJ "energy_mj"
#define SG_OUT_ANN_ENERGY_MJ "ann_energy_mj"
/* all_results.json (snn_eval_<m> besides) */
#define SG_OUT_ALL_MEAN_SETTLE "snn_mean_settle_step"
#define SG_OUT_ALL_MAX_SETTLE "snn_max_settle_step"
#define SG_OUT_ALL_AGREEMENT "snn_agreement_with_qann"
#define SG_OUT_ALL_SOPS_PER_SAMPLE "snn_sops_per_sample"
#define SG_OUT_ALL_ENERGY_PER_SAMPLE "snn_energy_mj_per_sample"
#define SG_OUT_ALL_ANN_ENERGY_PER_SAMPLE "ann_energy_mj_per_sample"

/* ---- writing ---------------------------------------------------------------------------------- */

/* What a simulated dev split measured, as cli/run_snn.c hands it over. */
typedef struct {
    int metric_count;
    const char *const *metric_names; /* sg_metrics names: "accuracy", "f1", … */
    const double *metric_values;
    int samples;
    double agreement;               /* fraction of samples where SNN and QANN agree */
    int by_step_count;
    const double *by_step;          /* main metric after step 1, 2, …; NaN → null */
    int max_steps, unfold_level;
    double simulation_seconds;
    double mean_settle, max_settle; /* time steps */
    double sops_per_sample, energy_mj_per_sample, ann_energy_mj_per_sample;
} sg_snn_outputs;

/* snn_results.json's object; `stats` (snn/sg_snn_stats_to_json's object) is taken over, freed on
 * failure too. NULL with sg_fail on out of memory. */
cJSON *sg_snn_outputs_json(const sg_snn_outputs *o, cJSON *stats);
/* The snn_* keys of all_results.json into `all` (replacing earlier ones). 0 or -1 (sg_fail). */
int sg_snn_outputs_add_to_all(cJSON *all, const sg_snn_outputs *o);

/* ---- reading ---------------------------------------------------------------------------------- */

/* Where a value read back lands. Cost totals are over the samples; energies in joules. */
typedef enum {
    SG_OUT_TO_QANN_METRIC, /* name: metric without eval_ ("accuracy", "loss", "runtime", …) */
    SG_OUT_TO_SNN_METRIC,  /* name: metric, or one of the run's figures kept beside them
                            * ("agreement_with_qann", "sops_per_sample", "energy_mj_per_sample",
                            * "settled", "e_mac_pj", "e_ac_pj") */
    SG_OUT_TO_SNN_SAMPLES,
    SG_OUT_TO_MEAN_SETTLE,
    SG_OUT_TO_MAX_SETTLE,
    SG_OUT_TO_SPIKES,
    SG_OUT_TO_SOPS,
    SG_OUT_TO_ENERGY_J,
    SG_OUT_TO_ANN_MACS,
    SG_OUT_TO_ANN_ENERGY_J,
    SG_OUT_TO_BY_STEP,     /* step (1-based), value (NaN for null) */
    SG_OUT_TO_LAYER_FIRING_RATE, /* name: layer ("roberta.encoder.layer.0", "classifier") */
    SG_OUT_TO_LAYER_SOPS,
} sg_out_field;

typedef struct {
    /* name is NULL for fixed fields; step is used by SG_OUT_TO_BY_STEP only. 0 or -1 (sg_fail). */
    int (*put)(void *ctx, sg_out_field field, const char *name, double step, double value);
    void *ctx;
} sg_out_sink;

/* all_results.json: eval_<m> → QANN metrics, the snn_* keys above → their fields; other keys
 * (HF's train_*, epoch, …) are not SNN outputs and are passed over; an snn_* key not in the
 * contract is an error naming it. 0 or -1 (sg_fail). */
int sg_read_all_results(const cJSON *all, const sg_out_sink *sink);
/* snn_results.json, the shape above; a key not in the contract (or of the wrong type) is an
 * error naming its path. 0 or -1 (sg_fail). */
int sg_read_snn_results(const cJSON *snn, const sg_out_sink *sink);

#endif
