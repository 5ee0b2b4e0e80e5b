/* Compares the C model with the PyTorch reference (tests/ref/roberta_ref.py), llm.c-style:
 * per-tensor max differences for logits, loss and every gradient, then the losses of 10 AdamW
 * steps, the final logits and the final parameters.
 *   check_vs_reference CASE_DIR                      (made by `roberta_ref.py make-case`)
 *   check_vs_reference --forward MODEL BATCH REF     (REF made by `roberta_ref.py forward`)
 *   check_vs_reference --draw-masks CASE_DIR         (CASE_DIR/masks.safetensors for `roberta_ref.py expect`)
 * Cases with dropout on feed the reference the masks the C model draws: --draw-masks runs the
 * case's training forwards, records every mask sg_dropout_forward draws (model/ops.h observer)
 * as 0/1 keep flags named by the HF module whose dropout it is, and the reference scales them
 * by its own 1/(1-p) at its own dropout sites. */
#include "core/error.h"
#include "core/fileio.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "model/ops.h"
#include "train/adamw.h"
#include "ref_compare.h"
#include "testlib.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int B, T;
    int32_t *ids, *mask, *labels;
    float *targets;
} owned_batch;

static int load_batch(const char *path, owned_batch *ob, int regression) {
    memset(ob, 0, sizeof *ob);
    char *text = sg_read_file(path, 1 << 26, NULL);
    if (!text) return -1;
    cJSON *root = cJSON_Parse(text);
    free(text);
    const cJSON *ids = cJSON_GetObjectItem(root, "input_ids"), *mask = cJSON_GetObjectItem(root, "attention_mask"),
                *labels = cJSON_GetObjectItem(root, "labels");
    if (!cJSON_IsArray(ids) || !cJSON_IsArray(mask)) {
        cJSON_Delete(root);
        return sg_fail("%s: expected input_ids and attention_mask arrays", path);
    }
    ob->B = cJSON_GetArraySize(ids);
    ob->T = cJSON_GetArraySize(cJSON_GetArrayItem(ids, 0));
    ob->ids = calloc((size_t)ob->B * ob->T, sizeof(int32_t));
    ob->mask = calloc((size_t)ob->B * ob->T, sizeof(int32_t));
    ob->labels = calloc((size_t)ob->B, sizeof(int32_t));
    ob->targets = calloc((size_t)ob->B, sizeof(float));
    for (int b = 0; b < ob->B; b++)
        for (int t = 0; t < ob->T; t++) {
            ob->ids[b * ob->T + t] = (int32_t)cJSON_GetArrayItem(cJSON_GetArrayItem(ids, b), t)->valuedouble;
            ob->mask[b * ob->T + t] = (int32_t)cJSON_GetArrayItem(cJSON_GetArrayItem(mask, b), t)->valuedouble;
        }
    for (int b = 0; labels && b < ob->B; b++) {
        double v = cJSON_GetArrayItem(labels, b)->valuedouble;
        if (regression) ob->targets[b] = (float)v;
        else ob->labels[b] = (int32_t)v;
    }
    cJSON_Delete(root);
    return 0;
}

static sg_batch as_batch(const owned_batch *ob, int regression) {
    sg_batch b = {ob->B, ob->T, ob->ids, ob->mask, regression ? NULL : ob->labels, regression ? ob->targets : NULL, NULL};
    return b;
}

static void free_batch(owned_batch *ob) {
    free(ob->ids);
    free(ob->mask);
    free(ob->labels);
    free(ob->targets);
}

/* DIR/quant.json (QANN cases of tests/ref/qann_ref.py): {"levels": {module name: level}} ->
 * the model's per-module levels. Returns 0 with *any = 0 when the file is absent. */
static int load_levels(const char *dir, int layers, int *levels, int *any) {
    char path[4096];
    snprintf(path, sizeof path, "%s/quant.json", dir);
    *any = 0;
    if (!sg_is_file(path)) return 0;
    char *text = sg_read_file(path, 1 << 20, NULL);
    cJSON *root = text ? cJSON_Parse(text) : NULL;
    free(text);
    const cJSON *map = cJSON_GetObjectItem(root, "levels"), *item;
    if (!cJSON_IsObject(map)) {
        cJSON_Delete(root);
        return sg_fail("%s: expected {\"levels\": {...}}", path);
    }
    memset(levels, 0, sizeof(int) * ((size_t)layers * QM_PER_LAYER + 1));
    cJSON_ArrayForEach(item, map) {
        int l = -1, slot = -1;
        char rest[64] = "";
        if (!strcmp(item->string, "classifier")) slot = layers * QM_PER_LAYER;
        else if (sscanf(item->string, "roberta.encoder.layer.%d.%63s", &l, rest) == 2 && l >= 0 && l < layers) {
            if (!strcmp(rest, "attention.self")) slot = l * QM_PER_LAYER + QM_SELF;
            else if (!strcmp(rest, "attention.output")) slot = l * QM_PER_LAYER + QM_ATTN_OUT;
            else if (!strcmp(rest, "intermediate")) slot = l * QM_PER_LAYER + QM_INTER;
            else if (!strcmp(rest, "output")) slot = l * QM_PER_LAYER + QM_FFN_OUT;
        }
        if (slot < 0) {
            cJSON_Delete(root);
            return sg_fail("%s: '%s' is not a quantizable module", path, item->string);
        }
        levels[slot] = (int)item->valuedouble;
        *any = 1;
    }
    cJSON_Delete(root);
    return 0;
}

static void set_schedule(sg_model *m, int calls) {
    for (int i = 0; m->quant && i <= m->cfg.layers * Q_PER_LAYER; i++)
        if (m->quant[i].s) m->quant[i].init_calls = calls;
}

static int load_case_model(const char *dir, sg_model *m) {
    char path[4096];
    sg_model_config cfg;
    int levels[4097], any = 0;
    snprintf(path, sizeof path, "%s/model/config.json", dir);
    if (sg_model_config_load(&cfg, path) || load_levels(dir, cfg.layers, levels, &any)) return -1;
    snprintf(path, sizeof path, "%s/model", dir);
    return sg_checkpoint_load_quantized(m, path, any ? levels : NULL, 0, NULL);
}

/* A case directory's model, batch (batch.json) and training settings (train.json; NULL when absent
 * or not JSON). 0, or 1 with the error printed and nothing left allocated. */
static int load_case(const char *dir, sg_model *m, owned_batch *ob, sg_batch *b, cJSON **train) {
    char path[4096];
    if (load_case_model(dir, m)) return sg_print_error(), 1;
    int regression = m->cfg.problem == SG_PROBLEM_REGRESSION;
    snprintf(path, sizeof path, "%s/batch.json", dir);
    if (load_batch(path, ob, regression)) return sg_print_error(), sg_model_free(m), 1;
    *b = as_batch(ob, regression);
    *train = ref_read_json(dir, "train.json");
    return 0;
}

static int check_case(const char *dir) {
    char path[4096];
    sg_model m;
    owned_batch ob;
    sg_batch b;
    cJSON *train;
    if (load_case(dir, &m, &ob, &b, &train)) return 1;
    /* QANN: gradients with the stored steps fixed (the initialisation schedule already spent) */
    set_schedule(&m, SG_LSQ_INIT_CALLS);
    sg_safetensors st;
    snprintf(path, sizeof path, "%s/expected.safetensors", dir);
    if (!train || sg_st_open(&st, path)) return sg_print_error(), 1;
    if (sg_model_reserve(&m, b.B, b.T, 1)) return sg_print_error(), 1;
    const size_t L = (size_t)m.cfg.num_labels;
    const double TOL = 1e-4;
    const cJSON *smoothing = cJSON_GetObjectItem(train, "label_smoothing");
    m.label_smoothing = cJSON_IsNumber(smoothing) ? (float)smoothing->valuedouble : 0.0f;
    m.step = 0; /* dropout masks of step s are the ones --draw-masks recorded as step s */

    printf("case %s: forward and gradients\n", dir);
    sg_model_zero_grad(&m);
    float loss = sg_model_forward(&m, &b, 1);
    ref_compare("forward", m.acts.logits, &st, "logits", (size_t)b.B * L, TOL);
    ref_compare("forward", &loss, &st, "loss", 1, TOL);
    sg_model_backward(&m, &b);
    for (int i = 0; i < m.table.count; i++) {
        const sg_param_info *p = &m.table.info[i];
        char name[256];
        snprintf(name, sizeof name, "grad.%s", p->name);
        ref_compare_scaled("gradient", m.grads + p->offset, &st, name, p->numel, TOL, ref_grad_scale_floor(&m, p->name));
    }
    sg_model_forward(&m, &b, 0);
    /* with dropout on, the eval logits differ from the training forward's */
    ref_compare("eval forward", m.acts.logits, &st, sg_st_find(&st, "eval_logits") ? "eval_logits" : "logits", (size_t)b.B * L, TOL);

    printf("case %s: 10 AdamW steps\n", dir);
    sg_adamw_config oc;
    sg_adamw_defaults(&oc);
    oc.lr = (float)cJSON_GetObjectItem(train, "learning_rate")->valuedouble;
    oc.weight_decay = (float)cJSON_GetObjectItem(train, "weight_decay")->valuedouble;
    oc.warmup_steps = (int)cJSON_GetObjectItem(train, "warmup_steps")->valuedouble;
    oc.total_steps = (int)cJSON_GetObjectItem(train, "total_steps")->valuedouble;
    oc.max_grad_norm = (float)cJSON_GetObjectItem(train, "max_grad_norm")->valuedouble;
    int steps = (int)cJSON_GetObjectItem(train, "steps")->valuedouble;
    float losses[64];
    set_schedule(&m, 0); /* training starts the LSQ initialisation schedule afresh, as the reference */
    ref_adamw_steps(&m, &b, &oc, steps, losses);
    ref_compare("training", losses, &st, "train_losses", (size_t)steps, TOL);
    sg_model_forward(&m, &b, 0);
    ref_compare("training", m.acts.logits, &st, "final_logits", (size_t)b.B * L, 1e-3);
    /* Final parameters: AdamW moves an element by about lr whatever its gradient's size, so an
     * element whose gradient is float noise (a ReLU unit on its boundary) may legitimately differ
     * by one step. The check is the L2 distance relative to the distance travelled. */
    ref_distance path_sum = {0};
    sg_model init;
    if (load_case_model(dir, &init)) return sg_print_error(), 1;
    for (int i = 0; i < m.table.count; i++) {
        char name[256];
        snprintf(name, sizeof name, "final.%s", m.table.info[i].name);
        const sg_param_info *p = &m.table.info[i];
        float *want = ref_read_expected(&st, name, p->numel);
        if (!CHECK_MSG(want != NULL, "no reference tensor %s", name)) continue;
        ref_distance_add(&path_sum, m.params + p->offset, want, init.params + p->offset, p->numel);
        free(want);
    }
    sg_model_free(&init);
    double rel_path = ref_distance_rel(&path_sum);
    printf("  final parameters: |C - ref|_2 / |ref - init|_2 = %.3e, max element diff %.3e (lr %g)\n", rel_path, path_sum.worst, oc.lr);
    CHECK_MSG(rel_path <= 2e-2, "final parameters differ by %.3e of the distance travelled", rel_path);
    printf("worst relative difference (tensors with max|ref| > 1e-6): %.3e\n", ref_worst_rel());
    cJSON_Delete(train);
    sg_st_close(&st);
    free_batch(&ob);
    sg_model_free(&m);
    return sg_test_done();
}

/* ---- --draw-masks ---- */

enum { MAX_MASKS = 4096 };
typedef struct {
    const sg_model *m;
    int count, failed;
    sg_st_entry entry[MAX_MASKS];
    char *name[MAX_MASKS];
    float *keep[MAX_MASKS];
} mask_log;

/* The HF module whose dropout a C dropout site is (classifier.dropout is applied twice in HF's head). */
static int site_module(char *out, size_t n, int layer, int site) {
    switch (site) {
    case SG_SITE_EMB: return layer < 0 ? snprintf(out, n, "roberta.embeddings.dropout") : -1;
    case SG_SITE_ATT: return layer >= 0 ? snprintf(out, n, "roberta.encoder.layer.%d.attention.self.dropout", layer) : -1;
    case SG_SITE_ATT_OUT: return layer >= 0 ? snprintf(out, n, "roberta.encoder.layer.%d.attention.output.dropout", layer) : -1;
    case SG_SITE_FFN_OUT: return layer >= 0 ? snprintf(out, n, "roberta.encoder.layer.%d.output.dropout", layer) : -1;
    case SG_SITE_CLS_IN: return layer < 0 ? snprintf(out, n, "classifier.dropout.0") : -1;
    case SG_SITE_CLS_MID: return layer < 0 ? snprintf(out, n, "classifier.dropout.1") : -1;
    default: return -1;
    }
}

static void record_mask(void *ctx, size_t n, float p, uint64_t seed, uint64_t stream) {
    mask_log *rec = ctx;
    char module[160] = "", name[200];
    for (int l = -1; l < rec->m->cfg.layers && !module[0]; l++)
        for (int site = SG_SITE_EMB; site <= SG_SITE_CLS_MID && !module[0]; site++)
            if (sg_dropout_stream(rec->m->step, l, site) == stream) site_module(module, sizeof module, l, site);
    if (!module[0] || rec->count == MAX_MASKS) {
        fprintf(stderr, "draw-masks: %s (stream %llx, step %llu)\n", module[0] ? "more masks than recorded" : "a mask on no dropout site",
                (unsigned long long)stream, (unsigned long long)rec->m->step);
        rec->failed = 1;
        return;
    }
    snprintf(name, sizeof name, "step%llu.%s", (unsigned long long)rec->m->step, module);
    for (int i = 0; i < rec->count; i++)
        if (!strcmp(rec->name[i], name)) {
            fprintf(stderr, "draw-masks: %s drawn twice in one forward\n", name);
            rec->failed = 1;
            return;
        }
    /* the mask the model applies, through the model's own function: 0 or 1/(1-p) on ones */
    float *keep = malloc(sizeof(float) * (n ? n : 1)), *ones = malloc(sizeof(float) * (n ? n : 1));
    for (size_t i = 0; i < n; i++) ones[i] = 1.0f;
    sg_dropout_forward(keep, ones, n, p, seed, stream);
    for (size_t i = 0; i < n; i++) keep[i] = keep[i] != 0.0f ? 1.0f : 0.0f;
    free(ones);
    int k = rec->count++;
    rec->name[k] = strdup(name);
    rec->keep[k] = keep;
    rec->entry[k] = (sg_st_entry){.name = rec->name[k], .ndim = 1, .shape = {(int64_t)n}, .data = keep};
}

/* Runs the case's training forwards (step 0 .. steps-1) and writes every mask they draw. */
static int draw_masks(const char *dir) {
    char path[4096];
    sg_model m;
    owned_batch ob;
    sg_batch b;
    cJSON *train;
    if (load_case(dir, &m, &ob, &b, &train)) return 1;
    const cJSON *steps_item = cJSON_GetObjectItem(train, "steps");
    if (!cJSON_IsNumber(steps_item) || sg_model_reserve(&m, b.B, b.T, 1)) {
        fprintf(stderr, "%s: no train.json with \"steps\", or no memory\n", dir);
        return 1;
    }
    static mask_log rec;
    rec.m = &m;
    sg_dropout_set_observer(record_mask, &rec);
    for (int s = 0; s < (int)steps_item->valuedouble; s++) {
        m.step = (uint64_t)s;
        sg_model_forward(&m, &b, 1);
    }
    sg_dropout_set_observer(NULL, NULL);
    snprintf(path, sizeof path, "%s/masks.safetensors", dir);
    int rc = rec.failed ? 1 : sg_st_write(path, rec.entry, rec.count, NULL) ? (sg_print_error(), 1) : 0;
    if (rc == 0) printf("draw-masks: %d masks over %d steps -> %s\n", rec.count, (int)steps_item->valuedouble, path);
    for (int i = 0; i < rec.count; i++) {
        free(rec.name[i]);
        free(rec.keep[i]);
    }
    cJSON_Delete(train);
    free_batch(&ob);
    sg_model_free(&m);
    return rc;
}

static int check_forward(const char *model_dir, const char *batch_path, const char *ref_path) {
    sg_model m;
    if (sg_checkpoint_load(&m, model_dir, 0, NULL)) return sg_print_error(), 1;
    int regression = m.cfg.problem == SG_PROBLEM_REGRESSION;
    owned_batch ob;
    if (load_batch(batch_path, &ob, regression)) return sg_print_error(), 1;
    sg_batch b = as_batch(&ob, regression);
    sg_safetensors st;
    if (sg_model_reserve(&m, b.B, b.T, 0) || sg_st_open(&st, ref_path)) return sg_print_error(), 1;
    float loss = sg_model_forward(&m, &b, 0);
    printf("C checkpoint %s read by the reference:\n", model_dir);
    ref_compare("forward", m.acts.logits, &st, "logits", (size_t)b.B * m.cfg.num_labels, 1e-4);
    ref_compare("forward", &loss, &st, "loss", 1, 1e-4);
    sg_st_close(&st);
    free_batch(&ob);
    sg_model_free(&m);
    return sg_test_done();
}

int main(int argc, char **argv) {
    if (argc == 2) return check_case(argv[1]);
    if (argc == 3 && !strcmp(argv[1], "--draw-masks")) return draw_masks(argv[2]);
    if (argc == 5 && !strcmp(argv[1], "--forward")) return check_forward(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: check_vs_reference CASE_DIR | --draw-masks CASE_DIR | --forward MODEL_DIR BATCH_JSON REF_SAFETENSORS\n");
    return 2;
}
