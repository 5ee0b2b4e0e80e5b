#include "sched/results_units.h"

#include <string.h>

static int ends_with(const char *s, const char *tail) {
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && !strcmp(s + n - m, tail);
}

const char *sg_metric_units(const char *name) {
    if (!strcmp(name, "runtime") || ends_with(name, "_runtime") || ends_with(name, "_seconds")) return SG_UNIT_SECONDS;
    if (ends_with(name, "samples_per_second")) return "samples per second";
    if (ends_with(name, "steps_per_second")) return "steps per second";
    if (!strcmp(name, "samples") || ends_with(name, "_samples")) return SG_UNIT_SAMPLES;
    if (!strcmp(name, "epoch")) return SG_UNIT_EPOCHS;
    if (!strcmp(name, "step") || !strcmp(name, "global_step")) return SG_UNIT_STEPS;
    if (ends_with(name, "settle_steps") || ends_with(name, "settle_step") || !strcmp(name, "steps")) return SG_UNIT_TIME_STEPS;
    /* the run's own per-sample costs (snn_sops_per_sample, ...) and the energy constants */
    if (!strcmp(name, "sops_per_sample")) return SG_UNIT_SOPS_PER_SAMPLE;
    if (ends_with(name, "energy_mj_per_sample")) return SG_UNIT_MJ_PER_SAMPLE;
    if (!strcmp(name, "e_ac_pj") || !strcmp(name, "e_mac_pj")) return "pJ per operation";
    if (!strcmp(name, "settled")) return SG_UNIT_SAMPLES;
    return SG_UNIT_SCORE; /* accuracy, f1, matthews_correlation, pearson, spearmanr, combined_score, loss, agreement */
}
