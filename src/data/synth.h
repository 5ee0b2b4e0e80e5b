/* Small synthetic GLUE-layout tasks for smoke-training a tiny byte-level model: a sentiment task
 * (SST-2 layout), a paraphrase task (MRPC layout) and a similarity regression (STS-B layout).
 * They are learnable but not trivially so (label noise, negations, hard negatives, noisy scores),
 * and byte-identical for the same seed and sizes. */
#ifndef SG_SYNTH_H
#define SG_SYNTH_H

#include <stdint.h>

typedef struct {
    uint64_t seed;
    int train_rows; /* per task */
    int dev_rows;
    double label_noise; /* fraction of classification labels flipped */
} sg_synth_options;

#define SG_SYNTH_MAX_CHARS 60 /* longest sentence, in bytes (= tokens of a byte-level model) */

void sg_synth_defaults(sg_synth_options *opt); /* seed 1234, 4000 train, 500 dev, 7% noise */

/* Write DIR/SST-2, DIR/MRPC, DIR/STS-B (train.tsv, dev.tsv) and DIR/README.md, creating
 * directories as needed and overwriting earlier files. 0 or -1 (sg_fail names the path). */
int sg_synth_write(const char *out_dir, const sg_synth_options *opt);

#endif
