/* Model directories in HuggingFace's layout: config.json + model.safetensors. */
#ifndef SG_CHECKPOINT_H
#define SG_CHECKPOINT_H

#include "model/roberta.h"

typedef struct {
    int classifier_initialised; /* the checkpoint had no classifier (a pre-trained encoder): it was initialised */
    int ignored;                /* tensors not used (pooler, lm_head) */
} sg_load_report;

/* Create `m` from DIR/config.json and DIR/model.safetensors. A tensor whose name or shape does not
 * match the config is refused, naming it; missing classifier tensors are initialised (seeded) as
 * HF does for a pre-trained encoder, and reported. */
int sg_checkpoint_load(sg_model *m, const char *dir, uint64_t init_seed, sg_load_report *report);

/* Load weights from a safetensors file into an existing model (same checks). */
int sg_checkpoint_load_weights(sg_model *m, const char *path, uint64_t init_seed, sg_load_report *report);

/* Write DIR/config.json and DIR/model.safetensors (creating DIR). */
int sg_checkpoint_save(const sg_model *m, const char *dir);

#endif
