/* The comparison against the PyTorch references (ref_compare.h). */
#include "ref_compare.h"

#include "core/fileio.h"
#include "testlib.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double g_worst_rel = 0.0;

float *ref_read_expected(const sg_safetensors *st, const char *name, size_t numel) {
    const sg_st_tensor *t = sg_st_find(st, name);
    if (!t || t->numel != numel) {
        fprintf(stderr, "expected tensor '%s' missing or of the wrong size\n", name);
        return NULL;
    }
    float *buf = malloc(sizeof(float) * (numel ? numel : 1));
    if (sg_st_read_f32(st, t, buf)) {
        free(buf);
        return NULL;
    }
    return buf;
}

void ref_compare_scaled(const char *what, const float *got, const sg_safetensors *st, const char *name, size_t n,
                        double rel_tol, double scale_floor) {
    float *want = ref_read_expected(st, name, n);
    if (!CHECK_MSG(want != NULL, "%s: no reference tensor %s", what, name)) return;
    double max_abs = 0.0, max_ref = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        if (d > max_abs || isnan(d)) max_abs = isnan(d) ? INFINITY : d;
        if (fabs(want[i]) > max_ref) max_ref = fabs(want[i]);
    }
    double rel = max_abs / (max_ref > 1e-30 ? max_ref : 1e-30);
    double tol = rel_tol * (max_ref > scale_floor ? max_ref : scale_floor) + 1e-8;
    int ok = max_abs <= tol;
    if (scale_floor == 0.0 && max_ref > 1e-6 && rel > g_worst_rel) g_worst_rel = rel;
    printf("  %-4s %-64s max|ref| %-10.3e max|diff| %-10.3e rel %.2e\n", ok ? "ok" : "FAIL", name, max_ref, max_abs, rel);
    CHECK_MSG(ok, "%s %s: max abs diff %.3e exceeds %.3e", what, name, max_abs, tol);
    free(want);
}

void ref_compare(const char *what, const float *got, const sg_safetensors *st, const char *name, size_t n, double rel_tol) {
    ref_compare_scaled(what, got, st, name, n, rel_tol, 0.0);
}

double ref_worst_rel(void) { return g_worst_rel; }

double ref_grad_scale_floor(const sg_model *m, const char *param_name) {
    const char *suffix = "attention.self.key.bias";
    size_t len = strlen(param_name);
    if (len < strlen(suffix) || strcmp(param_name + len - strlen(suffix), suffix)) return 0.0;
    char kw_name[256];
    snprintf(kw_name, sizeof kw_name, "%.*s.weight", (int)(len - 5), param_name);
    const sg_param_info *kw = &m->table.info[sg_param_find(&m->table, kw_name)];
    double floor = 0.0;
    for (size_t j = 0; j < kw->numel; j++)
        if (fabs(m->grads[kw->offset + j]) > floor) floor = fabs(m->grads[kw->offset + j]);
    return floor;
}

cJSON *ref_read_json(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = sg_read_file(path, 1 << 20, NULL);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    free(text);
    return root;
}

void ref_adamw_steps(sg_model *m, const sg_batch *b, const sg_adamw_config *oc, int steps, float *losses) {
    for (int s = 0; s < steps && s < 64; s++) {
        m->step = (uint64_t)s; /* dropout masks of step s (check_vs_reference --draw-masks) */
        sg_model_zero_grad(m);
        losses[s] = sg_model_forward(m, b, 1);
        sg_model_backward(m, b);
        float norm = sg_grad_norm(m);
        sg_adamw_step_scaled(m, oc, oc->lr * sg_linear_schedule(s, oc->warmup_steps, oc->total_steps), s + 1,
                             sg_clip_factor(norm, oc->max_grad_norm));
    }
}

void ref_distance_add(ref_distance *acc, const float *got, const float *want, const float *init, size_t n) {
    for (size_t j = 0; j < n; j++) {
        double d = (double)got[j] - want[j], mv = (double)want[j] - init[j];
        acc->diff2 += d * d;
        acc->moved2 += mv * mv;
        if (fabs(d) > acc->worst) acc->worst = fabs(d);
    }
}

double ref_distance_rel(const ref_distance *acc) { return sqrt(acc->diff2) / sqrt(acc->moved2 > 0 ? acc->moved2 : 1e-30); }
