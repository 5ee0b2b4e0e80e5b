/* What the checkers against the PyTorch references share (check_vs_reference.c for
 * roberta_ref.py / qann_ref.py, check_mlm_vs_reference.c for mlm_ref.py): reading the expected
 * tensors, the per-tensor comparison with its printed table, the key bias's noise floor, the
 * reference's AdamW loop and the distance of the final parameters. Failures go through testlib's
 * CHECK_MSG, so a checker ends with `return sg_test_done();`. */
#ifndef SG_REF_COMPARE_H
#define SG_REF_COMPARE_H

#include "io/safetensors.h"
#include "model/roberta.h"
#include "train/adamw.h"

#include <cjson/cJSON.h>
#include <stddef.h>

/* The reference's float32 tensor `name` of numel elements (malloc'd), or NULL with a message. */
float *ref_read_expected(const sg_safetensors *st, const char *name, size_t numel);

/* Max |got - ref| against rel_tol x max(max|ref|, scale_floor) + 1e-8, one printed row per tensor;
 * scale_floor stands in for a reference that is rounding noise around 0 (0: none). */
void ref_compare_scaled(const char *what, const float *got, const sg_safetensors *st, const char *name, size_t n,
                        double rel_tol, double scale_floor);
void ref_compare(const char *what, const float *got, const sg_safetensors *st, const char *name, size_t n, double rel_tol);
/* The worst max|diff| / max|ref| so far over tensors compared without a floor and max|ref| > 1e-6. */
double ref_worst_rel(void);

/* The key bias's gradient is 0 in exact arithmetic (softmax ignores a shift shared by a row), so
 * both sides hold rounding noise: the scale to compare it on is the largest |gradient| of its key
 * weight. 0 for every other parameter. */
double ref_grad_scale_floor(const sg_model *m, const char *param_name);

/* DIR/name parsed (NULL when unreadable, with the error recorded, or not JSON; the caller deletes it). */
cJSON *ref_read_json(const char *dir, const char *name);

/* The reference's loop: `steps` (at most 64) AdamW steps on one batch, the trainer's fused path
 * (clipping folded into AdamW, HF's linear warmup schedule); losses[s] is the loss before step s. */
void ref_adamw_steps(sg_model *m, const sg_batch *b, const sg_adamw_config *oc, int steps, float *losses);

/* Sums over the final parameters: |C - ref|^2, |ref - init|^2 and the largest |C - ref|. */
typedef struct {
    double diff2, moved2, worst;
} ref_distance;
void ref_distance_add(ref_distance *acc, const float *got, const float *want, const float *init, size_t n);
/* |C - ref|_2 / |ref - init|_2 */
double ref_distance_rel(const ref_distance *acc);

#endif
