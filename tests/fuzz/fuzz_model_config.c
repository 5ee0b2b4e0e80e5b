/* HuggingFace config.json (src/model/config.c): parse and validate the geometry. */
#include "fuzz_common.h"

#include "model/config.h"

#define FUZZ_MC_NAME "fuzz_config.json"

static int fuzz_model_config(const uint8_t *data, size_t size) {
    sg_model_config c;
    return sg_fuzz_verdict(sg_model_config_parse(&c, (const char *)data, size, FUZZ_MC_NAME), FUZZ_MC_NAME);
}

SG_FUZZ_ENTRY(fuzz_model_config)
