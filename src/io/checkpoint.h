/* Model directories in HuggingFace's layout: config.json + model.safetensors. */
#ifndef SG_CHECKPOINT_H
#define SG_CHECKPOINT_H

#include "model/roberta.h"

typedef struct {
    int classifier_initialised; /* the checkpoint had no head (classifier, or lm_head for a masked LM): it was initialised */
    int ignored;                /* tensors not used (pooler, lm_head, quantizer steps of an unquantized model) */
    int steps_loaded;           /* quantizer steps restored from the checkpoint */
    int steps_missing;          /* quantizer steps absent (left at 1.0, LSQ's initial value) */
} sg_load_report;

/* Create `m` from DIR/config.json and DIR/model.safetensors. A tensor whose name or shape does not
 * match the config is refused, naming it; missing classifier tensors are initialised (seeded) as
 * HF does for a pre-trained encoder, and reported. */
int sg_checkpoint_load(sg_model *m, const char *dir, uint64_t init_seed, sg_load_report *report);
/* The same with quantizers (module_levels as sg_model_create_quantized); their steps are read
 * from `<module>.<quantizer>.s` when present. */
int sg_checkpoint_load_quantized(sg_model *m, const char *dir, const int *module_levels, uint64_t init_seed,
                                 sg_load_report *report);

/* Load weights from a safetensors file into an existing model (same checks). */
int sg_checkpoint_load_weights(sg_model *m, const char *path, uint64_t init_seed, sg_load_report *report);

/* Write DIR/config.json and DIR/model.safetensors (creating DIR).
 * Tensor parallel (parallel/tp.h) — load: every rank reads the file and keeps its rows of each
 * distributed weight; save: collective, the weights are gathered into HF layout and group rank 0
 * alone writes the files (every rank creates DIR); every rank returns rank 0's status. Either way the
 * files are those of an ordinary model, so a run saved at tp = P resumes at any tp. */
int sg_checkpoint_save(const sg_model *m, const char *dir);

/* AdamW moments as optimizer.safetensors: exp_avg.<name> and exp_avg_sq.<name> in HF shapes, for
 * every parameter; the same gather / scatter rules as the weights. Load needs training state. */
int sg_checkpoint_save_optimizer(const sg_model *m, const char *path);
int sg_checkpoint_load_optimizer(sg_model *m, const char *path);

#endif
