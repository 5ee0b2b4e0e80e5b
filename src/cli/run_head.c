#include "cli/run_head.h"

#include "core/error.h"
#include "core/fileio.h"
#include "io/safetensors.h"
#include "model/params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Rows of classifier.out_proj.weight in the file: the checkpoint's number of labels; 0 when it
 * has no classifier (a pre-trained encoder) or the file cannot say (its loader will). */
static int file_head_rows(const char *path) {
    sg_safetensors st;
    if (sg_st_open(&st, path)) {
        sg_clear_error();
        return 0;
    }
    const sg_st_tensor *t = sg_st_find(&st, "classifier.out_proj.weight");
    int rows = t && t->ndim == 2 && t->shape[0] > 0 && t->shape[0] <= SG_MAX_LABELS ? (int)t->shape[0] : 0;
    sg_st_close(&st);
    return rows;
}

static int is_out_proj(const char *name) { return strncmp(name, "classifier.out_proj.", 20) == 0; }

/* from_pretrained(ignore_mismatched_sizes=True): everything but the mismatched out_proj from the
 * file, out_proj initialised as a new head (N(0, initializer_range), zero bias). */
static int load_without_out_proj(sg_model *m, const char *path, const int *module_levels, int file_labels, uint64_t seed,
                                 sg_load_report *rep) {
    sg_model_config cfg = m->cfg;
    cfg.num_labels = file_labels;
    sg_model from;
    if (sg_model_create_quantized(&from, &cfg, module_levels)) return -1;
    if (sg_checkpoint_load_weights(&from, path, seed, rep)) {
        sg_model_free(&from);
        return -1;
    }
    sg_model_init_random(m, seed);
    for (int i = 0; i < m->table.count; i++) {
        const sg_param_info *p = &m->table.info[i];
        int j = sg_param_find(&from.table, p->name);
        if (is_out_proj(p->name) || j < 0 || from.table.info[j].numel != p->numel) continue;
        memcpy(sg_model_param(m, i), sg_model_param(&from, j), sizeof(float) * p->numel);
    }
    sg_model_free(&from);
    return 0;
}

/* The checkpoint's id of each task label (case-insensitive, as run_glue.py lower-cases the
 * model's label2id); 0 when its labels are the default LABEL_i or another set. */
static int label_order(const sg_model_config *ck, const sg_glue_task *task, int *ck_id_of) {
    int defaults = 1;
    for (int i = 0; i < task->num_labels; i++) {
        char def[32];
        snprintf(def, sizeof def, "LABEL_%d", i);
        defaults &= strcmp(ck->id2label[i], def) == 0;
    }
    if (defaults) return 0;
    for (int i = 0; i < task->num_labels; i++) {
        ck_id_of[i] = -1;
        for (int k = 0; k < task->num_labels; k++)
            if (!strcasecmp(ck->id2label[k], task->label_names[i])) ck_id_of[i] = k;
        if (ck_id_of[i] < 0) return -1;
    }
    return 1;
}

/* "a, b, c" from the task's names or the checkpoint's id2label (at most 4 of them, then "..."). */
static void join_labels(char *out, size_t n, const char *const *names, const sg_model_config *ck, int L) {
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < L && i < 5 && used < n; i++) {
        const char *name = i == 4 ? "..." : names ? names[i] : ck->id2label[i];
        int w = snprintf(out + used, n - used, "%s%s", i ? ", " : "", name);
        if (w < 0) break;
        used += (size_t)w;
    }
}

/* Row i of the task's head becomes the checkpoint's row ck_id_of[i]. */
static int permute_out_proj(sg_model *m, const int *ck_id_of) {
    const int L = m->cfg.num_labels;
    const int w = sg_param_index_classifier(&m->cfg, C_OW), b = sg_param_index_classifier(&m->cfg, C_OB);
    const size_t cols = (size_t)m->table.info[w].shape[1];
    float *W = sg_model_param(m, w), *B = sg_model_param(m, b);
    float *copy = malloc(sizeof(float) * (size_t)L * (cols + 1));
    if (!copy) return sg_fail("out of memory permuting the classifier");
    memcpy(copy, W, sizeof(float) * (size_t)L * cols);
    memcpy(copy + (size_t)L * cols, B, sizeof(float) * (size_t)L);
    for (int i = 0; i < L; i++) {
        memcpy(W + (size_t)i * cols, copy + (size_t)ck_id_of[i] * cols, sizeof(float) * cols);
        B[i] = copy[(size_t)L * cols + ck_id_of[i]];
    }
    free(copy);
    return 0;
}

int sg_run_load_checkpoint(sg_model *m, const char *dir, const int *module_levels, const sg_glue_task *task,
                           int ignore_mismatched_sizes, uint64_t seed, sg_load_report *rep) {
    char path[4200], cfg_path[4200];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    snprintf(cfg_path, sizeof cfg_path, "%s/config.json", dir);
    const int L = m->cfg.num_labels, file_labels = file_head_rows(path);
    if (file_labels > 0 && file_labels != L) {
        if (!ignore_mismatched_sizes)
            return sg_fail("%s: the classifier has %d labels but task %s has %d (--ignore_mismatched_sizes re-initialises it)", path,
                           file_labels, task->name, L);
        if (load_without_out_proj(m, path, module_levels, file_labels, seed, rep)) return -1;
        printf("%s: classifier of %d labels replaced by a new %d-label one (--ignore_mismatched_sizes, seed %llu)\n", path,
               file_labels, L, (unsigned long long)seed);
        return 0;
    }
    if (sg_checkpoint_load_weights(m, path, seed, rep)) return -1;
    if (file_labels == 0 || task->is_regression || !task->label_names || !sg_is_file(cfg_path)) return 0;
    sg_model_config ck;
    if (sg_model_config_load(&ck, cfg_path)) return -1;
    if (ck.num_labels != L) return 0; /* config.json disagrees with its weights: the weights decided */
    int ck_id_of[SG_MAX_LABELS], order = label_order(&ck, task, ck_id_of);
    if (order < 0) {
        char ours[256], theirs[256];
        join_labels(ours, sizeof ours, task->label_names, NULL, L);
        join_labels(theirs, sizeof theirs, NULL, &ck, L);
        printf("%s: the model was trained with labels (%s) that are not the task's (%s): ignored, as run_glue.py does\n", cfg_path,
               theirs, ours);
        return 0;
    }
    int same = 1;
    for (int i = 0; order > 0 && i < L; i++) same &= ck_id_of[i] == i;
    if (order == 0 || same) return 0;
    if (permute_out_proj(m, ck_id_of)) return -1;
    printf("%s: the model's labels are the task's in another order; classifier rows permuted into the task's order\n", cfg_path);
    return 0;
}
