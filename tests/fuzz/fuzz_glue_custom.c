/* Custom-task files (src/data/glue_custom.c): CSV (RFC 4180) or JSON lines. The first byte picks
 * the format (bit 0: JSON lines) and whether the file is read a second time as a validation file
 * in the first one's label space (bit 1); the rest is the file. */
#include "fuzz_common.h"

#include "data/glue.h"

static int fuzz_custom_read(const uint8_t *data, size_t size, const char *name, const sg_glue_data *space,
                            sg_glue_data *out) {
    FILE *fp = fmemopen((void *)data, size, "rb");
    if (!fp) {
        memset(out, 0, sizeof *out);
        return SG_FUZZ_REFUSED;
    }
    int verdict = sg_fuzz_verdict(sg_glue_read_custom(fp, name, space, out), name);
    fclose(fp);
    return verdict;
}

static int fuzz_glue_custom(const uint8_t *data, size_t size) {
    if (size < 2) return SG_FUZZ_OK;
    const char *name = (data[0] & 1) ? "fuzz.jsonl" : "fuzz.csv";
    sg_glue_data train, dev;
    int verdict = fuzz_custom_read(data + 1, size - 1, name, NULL, &train);
    if (verdict != SG_FUZZ_OK) return verdict;
    if (!train.is_regression && train.has_labels && train.num_labels < 1) verdict = SG_FUZZ_BAD;
    for (size_t i = 0; i < train.count && !train.is_regression && train.has_labels; i++)
        if (train.label[i] < 0 || train.label[i] >= train.num_labels) verdict = SG_FUZZ_BAD;
    if (data[0] & 2) {
        int v2 = fuzz_custom_read(data + 1, size - 1, name, &train, &dev);
        if (v2 == SG_FUZZ_BAD) verdict = SG_FUZZ_BAD;
        if (v2 == SG_FUZZ_OK) sg_glue_data_free(&dev);
    }
    sg_glue_data_free(&train);
    return verdict;
}

SG_FUZZ_ENTRY(fuzz_glue_custom)
