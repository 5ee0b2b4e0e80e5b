/* Sweep job spec YAML (sched/jobspec.c, src/core/yaml_doc.c). Transform paths in the spec are
 * read relative to the current directory (scripts/fuzz.sh runs from the project root, so the
 * seeds can name configs/levels/q8.yaml). */
#include "fuzz_common.h"

#include "sched/jobspec.h"

#define FUZZ_JOB_NAME "fuzz_job.yaml"

static int fuzz_jobspec(const uint8_t *data, size_t size) {
    sg_jobspec spec;
    int verdict = sg_fuzz_verdict(sg_jobspec_parse((const char *)data, size, FUZZ_JOB_NAME, &spec), FUZZ_JOB_NAME);
    if (verdict == SG_FUZZ_OK) { /* exercise what the sweep asks of a parsed spec */
        char model[256];
        for (int i = 0; i < spec.ntasks; i++) (void)sg_jobspec_task_model(&spec, spec.tasks[i], model, sizeof model);
        for (int i = 0; i < spec.nvariants; i++)
            if (sg_jobspec_variant_find(&spec, spec.variants[i].name) < 0) verdict = SG_FUZZ_BAD;
    }
    sg_jobspec_free(&spec);
    return verdict;
}

SG_FUZZ_ENTRY(fuzz_jobspec)
