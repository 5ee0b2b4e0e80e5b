/* Small synthetic GLUE-layout tasks for smoke-training a tiny byte-level model from scratch in
 * about a minute: a sentiment task (SST-2 layout), a paraphrase task (MRPC layout) and a
 * similarity regression (STS-B layout). Whole-word cues make them learnable; label noise, rare
 * negations and same-list word changes keep them from being solved perfectly. Byte-identical
 * for the same seed and sizes. */
#ifndef SG_SYNTH_H
#define SG_SYNTH_H

#include <stdint.h>

typedef struct {
    uint64_t seed;
    int train_rows; /* per task */
    int dev_rows;
    double label_noise; /* fraction of classification labels flipped */
} sg_synth_options;

#define SG_SYNTH_MAX_CHARS 60      /* longest sentence, in bytes (= tokens of a byte-level model) */
#define SG_SYNTH_MAX_PAIR_CHARS 60 /* longest pair (both sentences): with <s></s></s></s> it fits 64 tokens */

void sg_synth_defaults(sg_synth_options *opt); /* seed 1234, 4000 train, 500 dev, 5% noise */

/* Write DIR/SST-2, DIR/MRPC, DIR/STS-B (train.tsv, dev.tsv) and DIR/README.md, creating
 * directories as needed and overwriting earlier files. 0 or -1 (sg_fail names the path). */
int sg_synth_write(const char *out_dir, const sg_synth_options *opt);

#endif
