/* Compares the C masked-LM model (model/mlm_head.h on the encoder) with the PyTorch reference
 * (tests/ref/mlm_ref.py), llm.c-style: per-tensor max differences of the logits at every position,
 * the MLM loss (ignore index -100), the gradient of every parameter (the tied decoder's inside the
 * word embeddings'), then the losses of 10 AdamW steps, the final logits and parameters.
 *   check_mlm_vs_reference CASE_DIR                  (made by `mlm_ref.py make-case`)
 *   check_mlm_vs_reference --forward MODEL BATCH REF (REF made by `mlm_ref.py forward`)
 * The model loads through the normal checkpoint loader, its head chosen by config.json's
 * "architectures" (RobertaForMaskedLM), the decoder stored or not. */
#include "core/error.h"
#include "core/fileio.h"
#include "io/checkpoint.h"
#include "io/safetensors.h"
#include "model/mlm_head.h"
#include "train/adamw.h"
#include "ref_compare.h"
#include "testlib.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int B, T;
    int32_t *ids, *mask, *labels; /* labels [B, T] or NULL */
} owned_batch;

/* rows: a JSON array of B arrays of T integers into out [B, T]. */
static int read_rows(const cJSON *rows, int B, int T, int32_t *out, const char *path, const char *key) {
    if (!cJSON_IsArray(rows) || cJSON_GetArraySize(rows) != B) return sg_fail("%s: '%s' is not %d rows", path, key, B);
    for (int b = 0; b < B; b++) {
        const cJSON *row = cJSON_GetArrayItem(rows, b);
        if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != T) return sg_fail("%s: '%s' row %d is not %d long", path, key, b, T);
        for (int t = 0; t < T; t++) {
            const cJSON *v = cJSON_GetArrayItem(row, t);
            if (!cJSON_IsNumber(v)) return sg_fail("%s: '%s'[%d][%d] is not a number", path, key, b, t);
            out[b * T + t] = (int32_t)v->valuedouble;
        }
    }
    return 0;
}

static int load_batch(const char *path, owned_batch *ob, int vocab) {
    memset(ob, 0, sizeof *ob);
    char *text = sg_read_file(path, 1 << 26, NULL);
    if (!text) return -1;
    cJSON *root = cJSON_Parse(text);
    free(text);
    const cJSON *ids = cJSON_GetObjectItem(root, "input_ids"), *labels = cJSON_GetObjectItem(root, "labels");
    int rc = -1;
    if (!cJSON_IsArray(ids) || !cJSON_IsArray(cJSON_GetArrayItem(ids, 0))) {
        sg_fail("%s: expected input_ids [B, T]", path);
        goto done;
    }
    ob->B = cJSON_GetArraySize(ids);
    ob->T = cJSON_GetArraySize(cJSON_GetArrayItem(ids, 0));
    size_t n = (size_t)ob->B * ob->T;
    ob->ids = calloc(n, sizeof(int32_t));
    ob->mask = calloc(n, sizeof(int32_t));
    ob->labels = labels ? calloc(n, sizeof(int32_t)) : NULL;
    if (read_rows(ids, ob->B, ob->T, ob->ids, path, "input_ids") ||
        read_rows(cJSON_GetObjectItem(root, "attention_mask"), ob->B, ob->T, ob->mask, path, "attention_mask") ||
        (labels && read_rows(labels, ob->B, ob->T, ob->labels, path, "labels")))
        goto done;
    for (size_t i = 0; ob->labels && i < n; i++)
        if (ob->labels[i] != SG_MLM_IGNORE && (ob->labels[i] < 0 || ob->labels[i] >= vocab)) {
            sg_fail("%s: label %d at %zu is neither -100 nor a token id", path, ob->labels[i], i);
            goto done;
        }
    rc = 0;
done:
    cJSON_Delete(root);
    return rc;
}

static void free_batch(owned_batch *ob) {
    free(ob->ids);
    free(ob->mask);
    free(ob->labels);
}

static sg_batch as_batch(const owned_batch *ob, int with_labels) {
    sg_batch b = {ob->B, ob->T, ob->ids, ob->mask, NULL, NULL, with_labels ? ob->labels : NULL};
    return b;
}

/* The eval forward's logits at every position: [B, T, V] in position order. */
static const float *all_logits(sg_model *m, const owned_batch *ob) {
    sg_batch b = as_batch(ob, 0);
    sg_model_forward(m, &b, 0);
    CHECK_MSG(m->acts.mlm_R == ob->B * ob->T, "an unlabelled forward computed %d of %d positions", m->acts.mlm_R, ob->B * ob->T);
    return m->acts.mlm_logits;
}

static double num(const cJSON *train, const char *key) {
    const cJSON *v = cJSON_GetObjectItem(train, key);
    if (!cJSON_IsNumber(v)) {
        fprintf(stderr, "train.json: no number '%s'\n", key);
        exit(1);
    }
    return v->valuedouble;
}

static int load_model(const char *dir, sg_model *m) {
    char path[4096];
    snprintf(path, sizeof path, "%s/model", dir);
    if (sg_checkpoint_load(m, path, 0, NULL)) return -1;
    if (m->cfg.head != SG_HEAD_MLM) return sg_model_free(m), sg_fail("%s: config.json does not name RobertaForMaskedLM", path);
    return 0;
}

static int check_case(const char *dir) {
    char path[4096];
    sg_model m;
    owned_batch ob;
    if (load_model(dir, &m)) return sg_print_error(), 1;
    snprintf(path, sizeof path, "%s/batch.json", dir);
    if (load_batch(path, &ob, m.cfg.vocab_size)) return sg_print_error(), 1;
    if (!ob.labels) return fprintf(stderr, "%s: no labels\n", path), 1;
    cJSON *train = ref_read_json(dir, "train.json");
    sg_safetensors st;
    snprintf(path, sizeof path, "%s/expected.safetensors", dir);
    if (!train || sg_st_open(&st, path) || sg_model_reserve(&m, ob.B, ob.T, 1)) return sg_print_error(), 1;
    const size_t NV = (size_t)ob.B * ob.T * m.cfg.vocab_size;
    const double TOL = 1e-4;
    sg_batch b = as_batch(&ob, 1);
    m.step = 0;

    printf("case %s: forward and gradients (%s, %d labelled positions)\n", dir, m.cfg.act == SG_ACT_RELU ? "relu" : "gelu",
           sg_mlm_count_labelled(ob.labels, (size_t)ob.B * ob.T));
    ref_compare("forward", all_logits(&m, &ob), &st, "logits", NV, TOL);
    sg_model_zero_grad(&m);
    float loss = sg_model_forward(&m, &b, 1);
    ref_compare("forward", &loss, &st, "loss", 1, TOL);
    sg_model_backward(&m, &b);
    for (int i = 0; i < m.table.count; i++) {
        const sg_param_info *p = &m.table.info[i];
        char name[256];
        snprintf(name, sizeof name, "grad.%s", p->name);
        ref_compare_scaled("gradient", m.grads + p->offset, &st, name, p->numel, TOL, ref_grad_scale_floor(&m, p->name));
    }

    printf("case %s: 10 AdamW steps\n", dir);
    sg_adamw_config oc;
    sg_adamw_defaults(&oc);
    oc.lr = (float)num(train, "lr");
    oc.weight_decay = (float)num(train, "weight_decay");
    oc.warmup_steps = (int)num(train, "warmup_steps");
    oc.total_steps = (int)num(train, "total_steps");
    oc.max_grad_norm = (float)num(train, "max_grad_norm");
    oc.beta1 = (float)num(train, "adam_beta1");
    oc.beta2 = (float)num(train, "adam_beta2");
    oc.eps = (float)num(train, "adam_epsilon");
    int steps = (int)num(train, "steps");
    float losses[64];
    ref_adamw_steps(&m, &b, &oc, steps, losses);
    ref_compare("training", losses, &st, "train_losses", (size_t)steps, TOL);
    ref_compare("training", all_logits(&m, &ob), &st, "final_logits", NV, 1e-3);
    /* Final parameters: AdamW moves an element by about lr whatever its gradient's size, so one
     * whose gradient is float noise may differ by a step; the check is the L2 distance relative
     * to the distance travelled, with every tensor's worst element printed. */
    ref_distance path_sum = {0};
    sg_model init;
    if (load_model(dir, &init)) return sg_print_error(), 1;
    for (int i = 0; i < m.table.count; i++) {
        const sg_param_info *p = &m.table.info[i];
        char name[256];
        snprintf(name, sizeof name, "final.%s", p->name);
        float *want = ref_read_expected(&st, name, p->numel);
        if (!CHECK_MSG(want != NULL, "no reference tensor %s", name)) continue;
        ref_distance tensor = {0};
        ref_distance_add(&tensor, m.params + p->offset, want, init.params + p->offset, p->numel);
        path_sum.diff2 += tensor.diff2;
        path_sum.moved2 += tensor.moved2;
        /* Per tensor too, so that a wrong weight-decay group (lr x wd per step, ~1% of the path)
         * shows: the key bias is exempt, its gradient being rounding noise that AdamW scales up. */
        double rel = ref_distance_rel(&tensor);
        int noise = strstr(p->name, "attention.self.key.bias") != NULL, ok = noise || rel <= 2e-3;
        printf("  %-4s %-64s |C - ref| / |ref - init| %.2e, max|diff| %.3e%s\n", ok ? "ok" : "FAIL", name, rel, tensor.worst,
               noise ? " (gradient is noise: not checked alone)" : "");
        CHECK_MSG(ok, "%s: the final tensor differs by %.2e of its path", name, rel);
        free(want);
    }
    sg_model_free(&init);
    double rel_path = ref_distance_rel(&path_sum);
    printf("  final parameters: |C - ref|_2 / |ref - init|_2 = %.3e (lr %g)\n", rel_path, oc.lr);
    CHECK_MSG(rel_path <= 2e-2, "final parameters differ by %.3e of the distance travelled", rel_path);
    printf("worst relative difference (tensors with max|ref| > 1e-6): %.3e\n", ref_worst_rel());
    cJSON_Delete(train);
    sg_st_close(&st);
    free_batch(&ob);
    sg_model_free(&m);
    return sg_test_done();
}

/* A checkpoint (e.g. written by spikeglue pretrain) read by the reference: its logits and loss. */
static int check_forward(const char *model_dir, const char *batch_path, const char *ref_path) {
    sg_model m;
    if (sg_checkpoint_load(&m, model_dir, 0, NULL)) return sg_print_error(), 1;
    owned_batch ob;
    sg_safetensors st;
    if (load_batch(batch_path, &ob, m.cfg.vocab_size) || sg_model_reserve(&m, ob.B, ob.T, 0) || sg_st_open(&st, ref_path))
        return sg_print_error(), 1;
    CHECK_MSG(m.cfg.head == SG_HEAD_MLM, "%s: not a masked LM", model_dir);
    printf("C checkpoint %s read by the reference:\n", model_dir);
    ref_compare("forward", all_logits(&m, &ob), &st, "logits", (size_t)ob.B * ob.T * m.cfg.vocab_size, 1e-4);
    if (ob.labels) {
        sg_batch b = as_batch(&ob, 1);
        float loss = sg_model_forward(&m, &b, 0);
        ref_compare("forward", &loss, &st, "loss", 1, 1e-4);
    }
    sg_st_close(&st);
    free_batch(&ob);
    sg_model_free(&m);
    return sg_test_done();
}

int main(int argc, char **argv) {
    if (argc == 2) return check_case(argv[1]);
    if (argc == 5 && !strcmp(argv[1], "--forward")) return check_forward(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: check_mlm_vs_reference CASE_DIR | --forward MODEL_DIR BATCH_JSON REF_SAFETENSORS\n");
    return 2;
}
