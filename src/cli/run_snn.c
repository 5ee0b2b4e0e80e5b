/* Placeholder until the spiking simulator lands (issue 4): conversion is refused clearly. */
#include "cli/run_snn.h"
#include "core/error.h"

int sg_run_snn(sg_model *m, int unfold_level, const char *save_base, const sg_encoded *dev, unsigned metric_set,
               int batch_size, int max_steps, const char *output_dir, cJSON *all) {
    (void)m, (void)unfold_level, (void)save_base, (void)dev, (void)metric_set, (void)batch_size, (void)max_steps;
    (void)output_dir, (void)all;
    return sg_fail("--convert_to_snn: the spiking conversion is not part of this build yet");
}
