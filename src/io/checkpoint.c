#include "io/checkpoint.h"

#include "core/error.h"
#include "core/fileio.h"
#include "core/quote.h"
#include "core/rng.h"
#include "io/safetensors.h"
#include "model/mlm_head.h"
#include "parallel/tp.h"

#include <errno.h>
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

static int is_known_extra(const char *name, sg_head_kind head) {
    /* a masked LM loaded from a fine-tuned classifier, and the classifier from roberta-base, drop the other head (HF) */
    if (head == SG_HEAD_MLM && starts_with(name, "classifier.")) return 1;
    /* quantizer steps of a QANN, neuron thresholds and bounds of a saved spiking network */
    static const char *const steps[] = {"_quan.s", "_quan_after_ln.s", ".threshold", ".s_max", ".s_min"};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (ends_with(name, steps[i])) return 1;
    return starts_with(name, "roberta.pooler.") || starts_with(name, "pooler.") || starts_with(name, "lm_head.") ||
           strcmp(name, "roberta.embeddings.position_ids") == 0 || strcmp(name, "embeddings.position_ids") == 0;
}

/* lm_head.decoder.weight, when stored, is the word embeddings (tied): it must at least have their shape. */
static int check_decoder(const sg_safetensors *st, const sg_model_config *c, const char *path) {
    const sg_st_tensor *d = sg_st_find(st, "lm_head.decoder.weight");
    if (d && !(d->ndim == 2 && d->shape[0] == c->vocab_size && d->shape[1] == c->hidden))
        return sg_fail("%s: tensor 'lm_head.decoder.weight' is not [%d, %d] like the word embeddings it is tied to", path,
                       c->vocab_size, c->hidden);
    return 0;
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
        /* older conversions of roberta-base store the tied bias as lm_head.decoder.bias */
        if (!t && strcmp(p->name, "lm_head.bias") == 0) t = sg_st_find(&st, "lm_head.decoder.bias");
        if (!t && p->quantizer >= 0) {
            rep.steps_missing++; /* stays at LSQ's initial 1.0 */
            continue;
        }
        if (!t) {
            if (starts_with(p->name, "classifier.") || starts_with(p->name, "lm_head.")) {
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
        if (sg_tp_param_distributed(m, i)) { /* every rank reads the file and keeps its rows: the scatter */
            float *full = malloc(sizeof(float) * t->numel);
            if (!full) {
                sg_fail("%s: out of memory reading '%s'", path, p->name);
                goto done;
            }
            int bad = sg_st_read_f32(&st, t, full);
            if (!bad) sg_tp_take_local(m, i, full, m->params + p->offset);
            free(full);
            if (bad) goto done;
        } else if (sg_st_read_f32(&st, t, m->params + p->offset)) {
            goto done;
        }
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
        const int mlm = m->cfg.head == SG_HEAD_MLM, count = sg_param_head_count(&m->cfg);
        if (missing_classifier != count) {
            sg_fail("%s: the %s is incomplete (%d of its %d tensors missing)", path, mlm ? "lm_head" : "classifier",
                    missing_classifier, count);
            goto done;
        }
        if (mlm) { /* an encoder without its lm_head: a new one, as HF's _init_weights */
            sg_mlm_head_init(m, init_seed);
            rep.classifier_initialised = 1;
            goto loaded;
        }
        /* a pre-trained encoder: initialise the head as HF does (N(0, range), zero bias) */
        const sg_model_config *c = &m->cfg;
        for (int k = 0; k < C_COUNT; k++) {
            int idx = sg_param_index_classifier(c, k);
            const sg_param_info *p = &m->table.info[idx];
            const int dist = sg_tp_param_distributed(m, idx);
            const size_t n = dist ? (size_t)p->shape[0] * (size_t)p->shape[1] : p->numel;
            float *w = dist ? malloc(sizeof(float) * n) : m->params + p->offset;
            if (!w) {
                sg_fail("%s: out of memory", path);
                goto done;
            }
            for (size_t j = 0; j < n; j++) w[j] = p->ndim == 2 ? c->initializer_range * sg_normal(init_seed, 1000 + (uint64_t)k, j) : 0.0f;
            if (dist) {
                sg_tp_take_local(m, idx, w, m->params + p->offset);
                free(w);
            }
        }
        rep.classifier_initialised = 1;
    }
loaded:
    if (m->cfg.head == SG_HEAD_MLM && check_decoder(&st, &m->cfg, path)) goto done;
    for (int i = 0; i < st.count; i++) {
        if (used[i]) continue;
        if (is_known_extra(st.tensors[i].name, m->cfg.head)) {
            rep.ignored++;
            continue;
        }
        char quoted[SG_QUOTE_BUF]; /* the name comes from the file */
        sg_fail("%s: tensor %s does not belong to a RoBERTa model of this config", path,
                sg_quote(quoted, sizeof quoted, st.tensors[i].name, strlen(st.tensors[i].name), SG_QUOTE_EXCERPT));
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
    if (sg_path_kind_of(dir) == SG_PATH_MISSING) /* errno from its stat: ENOTDIR names the file in the way */
        return errno == ENOENT ? sg_fail("%s: model directory not found", dir) : sg_fail_open(dir, errno);
    if (sg_require_dir(dir, "model directory")) return -1; /* a file (config.json?) given for the directory */
    if (sg_path_join(path, sizeof path, dir, "config.json") || sg_model_config_load(&cfg, path)) return -1;
    if (sg_model_create_quantized(m, &cfg, module_levels)) return -1;
    if (sg_path_join(path, sizeof path, dir, "model.safetensors") ||
        sg_checkpoint_load_weights(m, path, init_seed, report)) {
        sg_model_free(m);
        return -1;
    }
    return 0;
}

/* Write tensors in HF layout: for each parameter, one tensor per block (`prefixes[k]` + name).
 * Tensor parallel: distributed tensors are gathered on group rank 0, which alone writes; every
 * rank returns rank 0's status. */
static int write_hf(const sg_model *m, const float *const *blocks, const char *const *prefixes, int nblocks,
                    const char *path, const char *const *meta) {
    const int n = m->table.count, writer = sg_tp_is_writer(m);
    const size_t total = (size_t)(n > 0 ? n : 0) * (size_t)(nblocks > 0 ? nblocks : 0);
    size_t dist_floats = 0;
    for (int i = 0; i < n; i++)
        if (sg_tp_param_distributed(m, i)) dist_floats += (size_t)m->table.info[i].shape[0] * (size_t)m->table.info[i].shape[1];
    sg_st_entry *e = NULL;
    char(*names)[SG_PARAM_NAME_MAX + 16] = NULL;
    float *gathered = NULL;
    int rc = 0;
    if (writer) {
        e = calloc(total + 1, sizeof *e);
        names = calloc(total + 1, sizeof *names);
        gathered = dist_floats ? malloc(sizeof(float) * dist_floats * (size_t)nblocks) : NULL;
        if (!e || !names || (dist_floats && !gathered)) rc = sg_fail("%s: out of memory", path);
    }
    rc = sg_tp_agree_status(m, rc);
    size_t at = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        const sg_param_info *p = &m->table.info[i];
        for (int k = 0; k < nblocks; k++) {
            const float *data = blocks[k] + p->offset;
            if (sg_tp_param_distributed(m, i)) {
                float *full = writer ? gathered + at : NULL;
                at += (size_t)p->shape[0] * (size_t)p->shape[1];
                if (sg_tp_gather(m, i, data, full, 0)) rc = -1; /* agreed inside: the same on every rank */
                data = full;
            }
            if (!writer) continue;
            sg_st_entry *x = &e[i * nblocks + k];
            snprintf(names[i * nblocks + k], sizeof names[0], "%s%s", prefixes[k], p->name);
            x->name = names[i * nblocks + k];
            x->ndim = p->ndim;
            x->shape[0] = p->shape[0];
            x->shape[1] = p->shape[1];
            x->data = data;
        }
    }
    if (rc == 0 && writer) rc = sg_st_write(path, e, (int)total, meta);
    rc = sg_tp_agree_status(m, rc);
    free(e);
    free(names);
    free(gathered);
    return rc;
}

int sg_checkpoint_save(const sg_model *m, const char *dir) {
    char path[4096] = "";
    int rc = 0;
    if (sg_mkdirs(dir)) rc = -1; /* on every rank: the caller may write more files beside ours */
    else if (sg_tp_is_writer(m) && (sg_path_join(path, sizeof path, dir, "config.json") ||
                                    sg_model_config_save(&m->cfg, path) ||
                                    sg_path_join(path, sizeof path, dir, "model.safetensors")))
        rc = -1;
    if (sg_tp_agree_status(m, rc)) return -1;
    static const char *const meta[] = {"format", "pt", NULL};
    const float *blocks[1] = {m->params};
    const char *prefixes[1] = {""};
    return write_hf(m, blocks, prefixes, 1, path, meta);
}

int sg_checkpoint_save_optimizer(const sg_model *m, const char *path) {
    if (!m->m) return sg_fail("%s: the model has no optimizer state to save", path);
    const float *blocks[2] = {m->m, m->v};
    const char *prefixes[2] = {"exp_avg.", "exp_avg_sq."};
    return write_hf(m, blocks, prefixes, 2, path, NULL);
}

int sg_checkpoint_load_optimizer(sg_model *m, const char *path) {
    if (!m->m) return sg_fail("%s: the model has no optimizer state yet (reserve it for training first)", path);
    sg_safetensors st;
    if (sg_st_open(&st, path)) return -1;
    int rc = 0;
    for (int i = 0; i < m->table.count && rc == 0; i++) {
        const sg_param_info *p = &m->table.info[i];
        const int dist = sg_tp_param_distributed(m, i);
        const size_t full_numel = dist ? (size_t)p->shape[0] * (size_t)p->shape[1] : p->numel;
        for (int k = 0; k < 2 && rc == 0; k++) {
            char name[SG_PARAM_NAME_MAX + 16];
            snprintf(name, sizeof name, "%s.%s", k ? "exp_avg_sq" : "exp_avg", p->name);
            const sg_st_tensor *x = sg_st_find(&st, name);
            float *dst = (k ? m->v : m->m) + p->offset;
            if (!x || x->numel != full_numel) {
                rc = sg_fail("%s: optimizer state '%s' is missing or of the wrong size", path, name);
            } else if (dist) {
                float *full = malloc(sizeof(float) * full_numel);
                rc = full ? sg_st_read_f32(&st, x, full) : sg_fail("%s: out of memory reading '%s'", path, name);
                if (rc == 0) sg_tp_take_local(m, i, full, dst);
                free(full);
            } else {
                rc = sg_st_read_f32(&st, x, dst);
            }
        }
    }
    sg_st_close(&st);
    return rc;
}
