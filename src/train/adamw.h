/* AdamW as torch.optim.AdamW with HF Trainer's defaults, gradient clipping by global norm,
 * and HF's linear schedule with warmup. */
#ifndef SG_ADAMW_H
#define SG_ADAMW_H

#include "model/roberta.h"

typedef struct {
    float lr, beta1, beta2, eps, weight_decay, max_grad_norm;
    int warmup_steps, total_steps;
} sg_adamw_config;

void sg_adamw_defaults(sg_adamw_config *c); /* lr 5e-5, betas 0.9/0.999, eps 1e-8, wd 0, clip 1.0 */

/* HF get_linear_schedule_with_warmup: the multiplier of the learning rate at `step` (0-based). */
float sg_linear_schedule(int step, int warmup_steps, int total_steps);

/* Global L2 norm of all gradients; scales them to max_norm when larger (max_norm <= 0: no clipping).
 * Returns the norm before clipping (NaN/inf propagate so the caller can stop). */
float sg_clip_grad_norm(sg_model *m, float max_norm);

/* One update with learning rate lr; `t` is the 1-based step count for bias correction. */
void sg_adamw_step(sg_model *m, const sg_adamw_config *c, float lr, int t);

/* Global L2 norm of the gradients, without changing them (tensor parallel: over the whole group,
 * the same value on every rank; collective). */
float sg_grad_norm(const sg_model *m);
/* torch's clipping factor for a norm: min(1, max_norm / (norm + 1e-6)) (1 when max_norm <= 0). */
float sg_clip_factor(float norm, float max_norm);
/* AdamW on gradients scaled by grad_scale (the clipping factor), in one pass over memory. */
void sg_adamw_step_scaled(sg_model *m, const sg_adamw_config *c, float lr, int t, float grad_scale);

#endif
