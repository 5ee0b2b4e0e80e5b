#include "train/adamw.h"

#include "parallel/tp.h"

#include <math.h>

void sg_adamw_defaults(sg_adamw_config *c) {
    c->lr = 5e-5f;
    c->beta1 = 0.9f;
    c->beta2 = 0.999f;
    c->eps = 1e-8f;
    c->weight_decay = 0.0f;
    c->max_grad_norm = 1.0f;
    c->warmup_steps = 0;
    c->total_steps = 0;
}

float sg_linear_schedule(int step, int warmup_steps, int total_steps) {
    if (step < warmup_steps) return (float)step / (float)(warmup_steps > 1 ? warmup_steps : 1);
    float rest = (float)(total_steps - step) / (float)(total_steps - warmup_steps > 1 ? total_steps - warmup_steps : 1);
    return rest > 0.0f ? rest : 0.0f;
}

/* Tensor parallel: the squares of distributed gradients are summed over the group; replicated
 * ones are identical on every rank and count once. */
static float grad_norm_distributed(const sg_model *m) {
    double local = 0.0, replicated = 0.0;
    for (int k = 0; k < m->table.count; k++) {
        const sg_param_info *p = &m->table.info[k];
        const float *g = m->grads + p->offset;
        double sum = 0.0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
        for (size_t i = 0; i < p->numel; i++) sum += (double)g[i] * g[i];
        if (p->dist) local += sum;
        else replicated += sum;
    }
    return (float)sqrt(sg_tp_allreduce_sum(m, local) + replicated);
}

float sg_grad_norm(const sg_model *m) {
    if (sg_tp_of(m)) return grad_norm_distributed(m);
    const size_t n = m->table.total;
    const float *g = m->grads;
    double sum = 0.0;
#pragma omp parallel for reduction(+ : sum) schedule(static)
    for (size_t i = 0; i < n; i++) sum += (double)g[i] * g[i];
    return (float)sqrt(sum);
}

float sg_clip_factor(float norm, float max_norm) {
    if (!(max_norm > 0.0f) || !isfinite(norm)) return 1.0f;
    float coef = max_norm / (norm + 1e-6f); /* torch.nn.utils.clip_grad_norm_ */
    return coef < 1.0f ? coef : 1.0f;
}

float sg_clip_grad_norm(sg_model *m, float max_norm) {
    float norm = sg_grad_norm(m), coef = sg_clip_factor(norm, max_norm);
    if (coef < 1.0f) {
        const size_t n = m->table.total;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) m->grads[i] *= coef;
    }
    return norm;
}

void sg_adamw_step(sg_model *m, const sg_adamw_config *c, float lr, int t) { sg_adamw_step_scaled(m, c, lr, t, 1.0f); }

void sg_adamw_step_scaled(sg_model *m, const sg_adamw_config *c, float lr, int t, float grad_scale) {
    const float bc1 = 1.0f - powf(c->beta1, (float)t), bc2_sqrt = sqrtf(1.0f - powf(c->beta2, (float)t));
    const float step_size = lr / bc1;
    for (int k = 0; k < m->table.count; k++) {
        const sg_param_info *p = &m->table.info[k];
        float *w = m->params + p->offset, *g = m->grads + p->offset, *mm = m->m + p->offset, *vv = m->v + p->offset;
        const float decay = p->no_decay ? 0.0f : lr * c->weight_decay;
        const size_t n = p->numel;
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            float gi = g[i] * grad_scale; /* as torch: clipping multiplies the gradient first */
            w[i] *= 1.0f - decay; /* decoupled decay, as torch */
            mm[i] = c->beta1 * mm[i] + (1.0f - c->beta1) * gi;
            vv[i] = c->beta2 * vv[i] + (1.0f - c->beta2) * gi * gi;
            w[i] -= step_size * mm[i] / (sqrtf(vv[i]) / bc2_sqrt + c->eps);
        }
    }
}
