/* Tensor-parallel checker (tests/scripts/test_tensor_parallel.sh): trains a seeded model for a
 * few AdamW steps on synthetic batches and prints, from the writing rank, one JSON line:
 *   {"tp": P, "logits0": [...], "losses": [...], "norms": [...], "logits": [...],
 *    "eval_loss": x, "accuracy": y, "logits_detached": [...]}
 * The script compares these across tp = 0 (no MPI), 1, 2, 3.
 *   tp_check [--tp P] [--size small] [--nb 64] [--nbt 32] [--steps 10] [--start S] [--lsq 0|1]
 *            [--load DIR] [--save DIR] [--detach 1] [--init_distributed 1] */
#include "core/error.h"
#include "core/rng.h"
#include "io/checkpoint.h"
#include "parallel/tp.h"
#include "train/adamw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { B = 8, T = 16, VOCAB = 300, LABELS = 3, EVAL_BATCHES = 3 };

typedef struct {
    int32_t ids[B * T], mask[B * T], labels[B];
} batch_data;

static sg_batch make_batch(batch_data *d, uint64_t seed) {
    sg_rng r;
    sg_rng_seed(&r, seed);
    for (int b = 0; b < B; b++) {
        int len = 4 + (int)sg_rng_below(&r, T - 3); /* 4..T real tokens */
        for (int t = 0; t < T; t++) {
            int real = t < len;
            d->ids[b * T + t] = !real ? 1 : t == 0 ? 0 : t == len - 1 ? 2 : 4 + (int)sg_rng_below(&r, VOCAB - 4);
            d->mask[b * T + t] = real;
        }
        d->labels[b] = (int)sg_rng_below(&r, LABELS);
    }
    sg_batch batch = {B, T, d->ids, d->mask, d->labels, NULL, NULL};
    return batch;
}

static void print_array(const char *key, const float *x, int n) {
    printf("\"%s\": [", key);
    for (int i = 0; i < n; i++) printf("%s%.9g", i ? ", " : "", (double)x[i]);
    printf("], ");
}

static int fail(void) {
    fprintf(stderr, "tp_check: %s\n", sg_last_error());
    return 1;
}

int main(int argc, char **argv) {
    int tp = 0, steps = 10, start = 0, lsq = 0, detach = 0, init_distributed = 0;
    const char *size = "small", *load = NULL, *save = NULL;
    sg_tp_layout layout;
    sg_tp_layout_defaults(&layout);
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--tp")) tp = atoi(v);
        else if (!strcmp(k, "--size")) size = v;
        else if (!strcmp(k, "--nb")) layout.nb_features = atoi(v);
        else if (!strcmp(k, "--nbt")) layout.nb_tokens = atoi(v);
        else if (!strcmp(k, "--steps")) steps = atoi(v);
        else if (!strcmp(k, "--start")) start = atoi(v);
        else if (!strcmp(k, "--lsq")) lsq = atoi(v);
        else if (!strcmp(k, "--load")) load = v;
        else if (!strcmp(k, "--save")) save = v;
        else if (!strcmp(k, "--detach")) detach = atoi(v);
        else if (!strcmp(k, "--init_distributed")) init_distributed = atoi(v);
        else {
            fprintf(stderr, "tp_check: unknown flag %s\n", k);
            return 2;
        }
    }
    sg_tp_group g;
    if (tp > 0 && sg_tp_init(tp, &g)) return fail();
    sg_model_config cfg;
    if (sg_model_config_preset(&cfg, size, LABELS, VOCAB)) return fail();
    int *levels = calloc((size_t)cfg.layers * QM_PER_LAYER + 1, sizeof(int));
    for (int i = 0; lsq && i <= cfg.layers * QM_PER_LAYER; i++) levels[i] = 15;
    sg_model m;
    int rc = 0;
    if (load) {
        rc = sg_checkpoint_load_quantized(&m, load, lsq ? levels : NULL, 0, NULL);
    } else {
        rc = sg_model_create_quantized(&m, &cfg, lsq ? levels : NULL);
        if (rc == 0 && !(tp > 0 && init_distributed)) sg_model_init_random(&m, 7);
    }
    free(levels);
    if (rc) return fail();
    for (int i = 0; m.quant && i <= cfg.layers * Q_PER_LAYER; i++)
        if (m.quant[i].s && !load) *m.quant[i].s = 0.05f;
    for (int i = 0; m.quant && i <= cfg.layers * Q_PER_LAYER; i++)
        if (m.quant[i].s) m.quant[i].init_calls = SG_LSQ_INIT_CALLS; /* fixed steps: no data-dependent init */
    if (tp > 0 && sg_tp_model_attach(&m, &g, &layout)) return fail();
    if (tp > 0 && init_distributed && !load) { /* seeded init of the local rows only: the same values */
        sg_model_init_random(&m, 7);
        for (int i = 0; m.quant && i <= cfg.layers * Q_PER_LAYER; i++)
            if (m.quant[i].s) *m.quant[i].s = 0.05f;
    }
    if (sg_model_reserve(&m, B, T, 1)) return fail();
    if (load) {
        char path[4200];
        snprintf(path, sizeof path, "%s/optimizer.safetensors", load);
        FILE *f = fopen(path, "rb");
        if (f) {
            fclose(f);
            if (sg_checkpoint_load_optimizer(&m, path)) return fail();
        }
    }
    m.dropout_seed = 11;
    batch_data d;
    sg_batch eval = make_batch(&d, 1000);
    sg_model_forward(&m, &eval, 0);
    float logits0[B * LABELS], logits[B * LABELS], detached[B * LABELS];
    memcpy(logits0, m.acts.logits, sizeof logits0);
    float *losses = calloc((size_t)steps + 1, sizeof(float)), *norms = calloc((size_t)steps + 1, sizeof(float));
    sg_adamw_config oc;
    sg_adamw_defaults(&oc);
    oc.lr = 1e-4f;
    oc.weight_decay = 0.01f;
    for (int s = 0; s < steps; s++) {
        int step = start + s;
        sg_batch b = make_batch(&d, 1 + (uint64_t)step);
        m.step = (uint64_t)step;
        sg_model_zero_grad(&m);
        losses[s] = sg_model_forward(&m, &b, 1);
        sg_model_backward(&m, &b);
        norms[s] = sg_grad_norm(&m);
        sg_adamw_step_scaled(&m, &oc, oc.lr, step + 1, sg_clip_factor(norms[s], 1.0f));
    }
    double eval_loss = 0.0;
    int correct = 0;
    for (int e = 0; e < EVAL_BATCHES; e++) {
        sg_batch b = make_batch(&d, 1000 + (uint64_t)e);
        eval_loss += sg_model_forward(&m, &b, 0);
        if (e == 0) memcpy(logits, m.acts.logits, sizeof logits);
        for (int i = 0; i < B; i++) {
            int best = 0;
            for (int j = 1; j < LABELS; j++)
                if (m.acts.logits[i * LABELS + j] > m.acts.logits[i * LABELS + best]) best = j;
            correct += best == b.labels[i];
        }
    }
    if (save) {
        char path[4200];
        snprintf(path, sizeof path, "%s/optimizer.safetensors", save);
        if (sg_checkpoint_save(&m, save) || sg_checkpoint_save_optimizer(&m, path)) return fail();
    }
    int writer = sg_tp_is_writer(&m), replicas_identical = 1;
    if (sg_tp_of(&m)) { /* replicated tensors must stay bit-identical across the group, or the ranks drift apart */
        uint64_t h = 1469598103934665603ULL;
        for (int i = 0; i < m.table.count; i++) {
            if (m.table.info[i].dist) continue;
            const unsigned char *p = (const unsigned char *)sg_model_param(&m, i);
            for (size_t k = 0; k < m.table.info[i].numel * sizeof(float); k++) h = (h ^ p[k]) * 1099511628211ULL;
        }
        unsigned long long mine = h, lo = 0, hi = 0;
        MPI_Allreduce(&mine, &lo, 1, MPI_UNSIGNED_LONG_LONG, MPI_MIN, sg_tp_model_group(&m)->comm);
        MPI_Allreduce(&mine, &hi, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX, sg_tp_model_group(&m)->comm);
        replicas_identical = lo == hi;
    }
    if (sg_tp_of(&m)) {
        sg_tp_stats st = sg_tp_model_stats(&m);
        fprintf(stderr, "rank %d: %ld products, %.3f s in psgemm, %.3f s in all-gathers (%.1f MB received)\n",
                sg_tp_model_group(&m)->rank, st.products, st.gemm_seconds, st.gather_seconds, st.gathered_bytes / 1e6);
    }
    if (detach) { /* gather to an ordinary model on every rank: the spiking fallback's path */
        if (sg_tp_model_detach(&m)) return fail();
        eval = make_batch(&d, 1000); /* d was reused since */
        sg_model_forward(&m, &eval, 0);
        memcpy(detached, m.acts.logits, sizeof detached);
    }
    if (writer) {
        printf("{\"tp\": %d, \"replicas_identical\": %d, ", tp, replicas_identical);
        print_array("logits0", logits0, B * LABELS);
        print_array("losses", losses, steps);
        print_array("norms", norms, steps);
        print_array("logits", logits, B * LABELS);
        if (detach) print_array("logits_detached", detached, B * LABELS);
        printf("\"eval_loss\": %.9g, \"accuracy\": %.9g}\n", eval_loss / EVAL_BATCHES, (double)correct / (B * EVAL_BATCHES));
    }
    free(losses);
    free(norms);
    sg_model_free(&m);
    if (tp > 0) sg_tp_free(&g);
    return 0;
}
