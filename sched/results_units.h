/* The units results.h5 writes on every dataset (a `units` attribute), in one place: metric names
 * map to their units here, so the layout in results/README.md and the file agree. */
#ifndef SG_RESULTS_UNITS_H
#define SG_RESULTS_UNITS_H

#define SG_UNIT_SCORE "1" /* a dimensionless number: accuracy, f1, correlation, loss, learning rate */
#define SG_UNIT_STEPS "optimizer steps"
#define SG_UNIT_EPOCHS "epochs"
#define SG_UNIT_TIME_STEPS "time steps"
#define SG_UNIT_SECONDS "seconds"
#define SG_UNIT_SAMPLES "samples"
#define SG_UNIT_FIRING_RATE "spikes per neuron per time step"
#define SG_UNIT_SOPS_TOTAL "synaptic operations, total over the samples"
#define SG_UNIT_SOPS_PER_SAMPLE "synaptic operations per sample"
#define SG_UNIT_SPIKES_TOTAL "spikes, total over the samples"
#define SG_UNIT_SPIKES_PER_SAMPLE "spikes per sample"
#define SG_UNIT_MACS_TOTAL "multiply-accumulates, total over the samples"
#define SG_UNIT_MACS_PER_SAMPLE "multiply-accumulates per sample"
#define SG_UNIT_J_TOTAL "J, total over the samples"
#define SG_UNIT_MJ_PER_SAMPLE "mJ per sample"

/* The unit of an evaluation metric by its name (HF's names without the eval_ / snn_ prefix):
 * "seconds" for runtime, "samples per second" for samples_per_second, ..., "1" for scores. */
const char *sg_metric_units(const char *name);

#endif
