/* GLUE TSV files (src/data/glue_tsv.c). The first byte picks the task (byte % task count) and
 * whether the file carries labels (bit 7: test file without labels); the rest is the file. */
#include "fuzz_common.h"

#include "data/glue.h"

#define FUZZ_TSV_NAME "fuzz.tsv"

static int fuzz_glue_tsv(const uint8_t *data, size_t size) {
    if (size < 2) return SG_FUZZ_OK;
    const sg_glue_task *task = sg_glue_task_at((data[0] & 0x7f) % sg_glue_task_count());
    int with_labels = !(data[0] & 0x80);
    FILE *fp = fmemopen((void *)(data + 1), size - 1, "rb");
    if (!fp) return SG_FUZZ_OK;
    sg_glue_data d;
    int verdict = sg_fuzz_verdict(sg_glue_read_tsv(task, fp, FUZZ_TSV_NAME, with_labels, &d), FUZZ_TSV_NAME);
    fclose(fp);
    if (verdict == SG_FUZZ_OK) {
        for (size_t i = 0; i < d.count; i++) /* every row's text lives inside the storage block */
            if (d.text_a[i] < d.storage || d.text_a[i] >= d.storage + d.storage_len) verdict = SG_FUZZ_BAD;
        sg_glue_data_free(&d);
    }
    return verdict;
}

SG_FUZZ_ENTRY(fuzz_glue_tsv)
