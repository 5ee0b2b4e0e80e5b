/* safetensors files (src/io/safetensors.c): the 8-byte length, the JSON header, every tensor's
 * dtype/shape/offsets and the layout; then every floating tensor is read as f32. */
#include "fuzz_common.h"

#include "io/safetensors.h"

#define FUZZ_ST_NAME "fuzz.safetensors"

static int fuzz_safetensors(const uint8_t *data, size_t size) {
    sg_safetensors st;
    int verdict = sg_fuzz_verdict(sg_st_open_buffer(&st, data, size, FUZZ_ST_NAME), FUZZ_ST_NAME);
    if (verdict != SG_FUZZ_OK) return verdict;
    for (int i = 0; i < st.count; i++) {
        const sg_st_tensor *t = &st.tensors[i];
        if (sg_st_find(&st, t->name) == NULL) verdict = SG_FUZZ_BAD;
        /* a valid tensor's bytes lie inside the input: numel is bounded by its size */
        float *out = malloc(t->numel ? t->numel * sizeof *out : 1);
        if (!out) continue;
        int rc = sg_st_read_f32(&st, t, out);
        int floating = t->dtype == SG_DT_F32 || t->dtype == SG_DT_F16 || t->dtype == SG_DT_BF16 || t->dtype == SG_DT_F64;
        if (floating && rc != 0) verdict = SG_FUZZ_BAD; /* validated tensors always convert */
        if (!floating && t->numel > 0 && sg_fuzz_verdict(rc, FUZZ_ST_NAME) != SG_FUZZ_REFUSED) verdict = SG_FUZZ_BAD;
        free(out);
    }
    sg_st_close(&st);
    return verdict;
}

SG_FUZZ_ENTRY(fuzz_safetensors)
