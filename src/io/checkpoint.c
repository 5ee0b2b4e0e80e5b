#include "io/checkpoint.h"

#include "core/error.h"
#include "core/fileio.h"
#include "core/rng.h"
#include "io/safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int starts_with(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* Find a parameter's tensor: under its HF name, or without the "roberta." prefix (RobertaModel checkpoints). */
static const sg_st_tensor *find_tensor(const sg_safetensors *st, const char *name) {
    const sg_st_tensor *t = sg_st_find(st, name);
    if (!t && starts_with(name, "roberta.")) t = sg_st_find(st, name + strlen("roberta."));
    return t;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static int is_known_extra(const char *name) {
    /* quantizer steps of a QANN, neuron thresholds and bounds of a saved spiking network */
    static const char *const steps[] = {"_quan.s", "_quan_after_ln.s", ".threshold", ".s_max", ".s_min"};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (ends_with(name, steps[i])) return 1;
    return starts_with(name, "roberta.pooler.") || starts_with(name, "pooler.") || starts_with(name, "lm_head.") ||
           strcmp(name, "roberta.embeddings.position_ids") == 0 || strcmp(name, "embeddings.position_ids") == 0;
}

int sg_checkpoint_load_weights(sg_model *m, const char *path, uint64_t init_seed, sg_load_report *report) {
    sg_load_report rep;
    memset(&rep, 0, sizeof rep);
    sg_safetensors st;
    if (sg_st_open(&st, path)) return -1;
    int rc = -1;
    char *used = calloc((size_t)st.count + 1, 1);
    if (!used) {
        sg_fail("%s: out of memory", path);
        goto done;
    }
    int missing_classifier = 0;
    for (int i = 0; i < m->table.count; i++) {
        const sg_param_info *p = &m->table.info[i];
        const sg_st_tensor *t = find_tensor(&st, p->name);
        if (!t && p->quantizer >= 0) {
            rep.steps_missing++; /* stays at LSQ's initial 1.0 */
            continue;
        }
        if (!t) {
            if (starts_with(p->name, "classifier.")) {
                missing_classifier++;
                continue;
            }
            sg_fail("%s: tensor '%s' is missing", path, p->name);
            goto done;
        }
        used[t - st.tensors] = 1;
        int same = t->ndim == p->ndim;
        for (int d = 0; same && d < p->ndim; d++) same = t->shape[d] == p->shape[d];
        if (p->ndim == 0 && t->ndim == 1 && t->shape[0] == 1) same = 1; /* a step saved as [1] */
        if (!same) {
            char want[64], got[128];
            if (p->ndim == 0) snprintf(want, sizeof want, "[]");
            else if (p->ndim == 2) snprintf(want, sizeof want, "[%lld, %lld]", (long long)p->shape[0], (long long)p->shape[1]);
            else snprintf(want, sizeof want, "[%lld]", (long long)p->shape[0]);
            int w = snprintf(got, sizeof got, "[");
            for (int d = 0; d < t->ndim && w < 100; d++) w += snprintf(got + w, sizeof got - (size_t)w, d ? ", %lld" : "%lld", (long long)t->shape[d]);
            snprintf(got + w, sizeof got - (size_t)w, "]");
            sg_fail("%s: tensor '%s' has shape %s but config.json implies %s", path, p->name, got, want);
            goto done;
        }
        if (sg_st_read_f32(&st, t, m->params + p->offset)) goto done;
        if (p->quantizer >= 0) {
            float s = m->params[p->offset];
            if (!(s > 0.0f) || !isfinite(s)) {
                sg_fail("%s: tensor '%s': quantizer step %g is not a positive finite number", path, p->name, (double)s);
                goto done;
            }
            rep.steps_loaded++;
        }
    }
    if (missing_classifier) {
        if (missing_classifier != C_COUNT) {
            sg_fail("%s: the classifier is incomplete (%d of its %d tensors missing)", path, missing_classifier, C_COUNT);
            goto done;
        }
        /* a pre-trained encoder: initialise the head as HF does (N(0, range), zero bias) */
        const sg_model_config *c = &m->cfg;
        for (int k = 0; k < C_COUNT; k++) {
            int idx = sg_param_index_classifier(c, k);
            const sg_param_info *p = &m->table.info[idx];
            float *w = m->params + p->offset;
            for (size_t j = 0; j < p->numel; j++) w[j] = p->ndim == 2 ? c->initializer_range * sg_normal(init_seed, 1000 + (uint64_t)k, j) : 0.0f;
        }
        rep.classifier_initialised = 1;
    }
    for (int i = 0; i < st.count; i++) {
        if (used[i]) continue;
        if (is_known_extra(st.tensors[i].name)) {
            rep.ignored++;
            continue;
        }
        sg_fail("%s: tensor '%s' does not belong to a RoBERTa model of this config", path, st.tensors[i].name);
        goto done;
    }
    rc = 0;
    if (report) *report = rep;
done:
    free(used);
    sg_st_close(&st);
    return rc;
}

int sg_checkpoint_load(sg_model *m, const char *dir, uint64_t init_seed, sg_load_report *report) {
    return sg_checkpoint_load_quantized(m, dir, NULL, init_seed, report);
}

int sg_checkpoint_load_quantized(sg_model *m, const char *dir, const int *module_levels, uint64_t init_seed,
                                 sg_load_report *report) {
    char path[4096];
    sg_model_config cfg;
    if (!sg_is_dir(dir)) return sg_fail("%s: model directory not found", dir);
    if (sg_path_join(path, sizeof path, dir, "config.json") || sg_model_config_load(&cfg, path)) return -1;
    if (sg_model_create_quantized(m, &cfg, module_levels)) return -1;
    if (sg_path_join(path, sizeof path, dir, "model.safetensors") ||
        sg_checkpoint_load_weights(m, path, init_seed, report)) {
        sg_model_free(m);
        return -1;
    }
    return 0;
}

int sg_checkpoint_save(const sg_model *m, const char *dir) {
    char path[4096];
    if (sg_mkdirs(dir)) return -1;
    if (sg_path_join(path, sizeof path, dir, "config.json") || sg_model_config_save(&m->cfg, path)) return -1;
    sg_st_entry *e = calloc((size_t)m->table.count, sizeof *e);
    if (!e) return sg_fail("%s: out of memory", dir);
    for (int i = 0; i < m->table.count; i++) {
        const sg_param_info *p = &m->table.info[i];
        e[i].name = p->name;
        e[i].ndim = p->ndim;
        e[i].shape[0] = p->shape[0];
        e[i].shape[1] = p->shape[1];
        e[i].data = m->params + p->offset;
    }
    static const char *const meta[] = {"format", "pt", NULL};
    int rc = sg_path_join(path, sizeof path, dir, "model.safetensors") ? -1 : sg_st_write(path, e, m->table.count, meta);
    free(e);
    return rc;
}
