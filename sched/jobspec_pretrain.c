/* The job spec's pretrain: section: `spikeglue pretrain` settings for the sweep's pretrain stage,
 * validated when the spec loads (unknown keys, ranges, files that must exist, one text source). */
#include "sched/jobspec_pretrain.h"

#include "core/error.h"
#include "core/fileio.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const sg_pretrain_key sg_pretrain_keys[SG_PRETRAIN_NKEYS] = {
    {"glue_dir", "glue_dir", SG_PK_DIR, 0, 0},
    {"train_file", "train_file", SG_PK_FILE, 0, 0},
    {"validation_file", "validation_file", SG_PK_FILE, 0, 0},
    {"validation_split_percentage", "validation_split_percentage", SG_PK_INT, 1, 99},
    {"line_by_line", "line_by_line", SG_PK_BOOL, 0, 0},
    {"max_seq_length", "max_seq_length", SG_PK_INT, 4, 4096},
    {"mlm_probability", "mlm_probability", SG_PK_FLOAT, 1e-6, 1},
    {"hidden_act", "hidden_act", SG_PK_ACT, 0, 0},
    {"epochs", "num_train_epochs", SG_PK_FLOAT, 1e-9, 1e6},
    {"max_steps", "max_steps", SG_PK_INT, -1, INT_MAX},
    {"batch_size", "per_device_train_batch_size", SG_PK_INT, 1, 1 << 20},
    {"eval_batch_size", "per_device_eval_batch_size", SG_PK_INT, 1, 1 << 20},
    {"learning_rate", "learning_rate", SG_PK_FLOAT, 1e-12, 10},
    {"weight_decay", "weight_decay", SG_PK_FLOAT, 0, 10},
    {"warmup_ratio", "warmup_ratio", SG_PK_FLOAT, 0, 1},
    {"warmup_steps", "warmup_steps", SG_PK_INT, 0, INT_MAX},
    {"logging_steps", "logging_steps", SG_PK_INT, 1, INT_MAX},
    {"max_train_samples", "max_train_samples", SG_PK_INT, 1, INT_MAX},
    {"max_eval_samples", "max_eval_samples", SG_PK_INT, 1, INT_MAX},
    {"seed", "seed", SG_PK_INT, 0, INT_MAX},
    {"save_steps", "save_steps", SG_PK_INT, 1, INT_MAX},  /* checkpoints every N steps (else each epoch) */
    {"eval_steps", "eval_steps", SG_PK_INT, 1, INT_MAX},  /* held-out loss every N steps too */
};

static int key_index(const char *key) {
    for (int i = 0; i < SG_PRETRAIN_NKEYS; i++)
        if (!strcmp(sg_pretrain_keys[i].key, key)) return i;
    return -1;
}

const char *sg_jobspec_pretrain_value(const sg_jobspec *spec, const char *key) {
    int i = key_index(key);
    return i >= 0 ? spec->pretrain.value[i] : NULL;
}

void sg_jobspec_pretrain_free(sg_job_pretrain *p) {
    for (int i = 0; i < SG_PRETRAIN_NKEYS; i++) free(p->value[i]);
    memset(p, 0, sizeof *p);
}

/* One value, checked against its key's type, into its canonical text. */
static int read_value(const ydoc *d, const ynode *n, const sg_pretrain_key *k, char **out) {
    const char *shown = n->kind == YN_SCALAR ? n->text : ydoc_kind_name(n);
    int scalar = n->kind == YN_SCALAR && !ydoc_is_null(n);
    char buf[64];
    const char *text = buf;
    if (k->type == SG_PK_INT || k->type == SG_PK_FLOAT) {
        char *end = NULL;
        errno = 0;
        double v = scalar && n->plain ? strtod(n->text, &end) : NAN;
        int ok = end && end != n->text && *end == '\0' && !errno && isfinite(v) && v >= k->min && v <= k->max &&
                 (k->type == SG_PK_FLOAT || v == floor(v));
        if (!ok)
            return sg_fail_at(d->path, n->line, "key 'pretrain.%s': expected %s in %g..%g, not '%s'", k->key,
                              k->type == SG_PK_INT ? "an integer" : "a number", k->min, k->max, shown);
        if (k->type == SG_PK_INT) snprintf(buf, sizeof buf, "%lld", (long long)v);
        else snprintf(buf, sizeof buf, "%.10g", v);
    } else if (k->type == SG_PK_BOOL) {
        if (!scalar || !n->plain || (strcmp(n->text, "true") && strcmp(n->text, "false")))
            return sg_fail_at(d->path, n->line, "key 'pretrain.%s': expected true or false, not '%s'", k->key, shown);
        text = n->text;
    } else if (k->type == SG_PK_ACT) {
        if (!scalar || (strcmp(n->text, "relu") && strcmp(n->text, "gelu")))
            return sg_fail_at(d->path, n->line, "key 'pretrain.%s': expected relu or gelu, not '%s'", k->key, shown);
        text = n->text;
    } else {
        if (!scalar || !*n->text) return sg_fail_at(d->path, n->line, "key 'pretrain.%s': expected a path, not '%s'", k->key, shown);
        /* a text file is read when the run starts: a missing one fails now, with its line; a GLUE
         * folder may be written by the sweep itself (synth_data), so it is checked by the run */
        if (k->type == SG_PK_FILE && !sg_is_file(n->text))
            return sg_fail_at(d->path, n->line, "key 'pretrain.%s': no such file '%s' (relative paths are taken from the current directory)",
                              k->key, n->text);
        text = n->text;
    }
    *out = strdup(text);
    return *out ? 0 : sg_fail("out of memory");
}

int sg_jobspec_read_pretrain(const ydoc *d, int node, sg_jobspec *spec) {
    const ynode *sec = &d->v[node];
    sg_job_pretrain *p = &spec->pretrain;
    p->line = sec->line;
    if (sec->kind != YN_MAP) return sg_fail_at(d->path, sec->line, "key 'pretrain': expected a mapping, not %s", ydoc_kind_name(sec));
    if (!(spec->pipeline & SG_STAGE_PRETRAIN))
        return sg_fail_at(d->path, sec->line, "key 'pretrain': settings for a stage the pipeline does not have (add pretrain first in pipeline:)");
    int lines[SG_PRETRAIN_NKEYS] = {0};
    for (int k = sec->first; k >= 0; k = d->v[d->v[k].next].next) {
        const ynode *key = &d->v[k];
        int i = key->kind == YN_SCALAR ? key_index(key->text) : -1;
        if (i < 0) {
            char list[640];
            int len = 0;
            for (int j = 0; j < SG_PRETRAIN_NKEYS && len < (int)sizeof list; j++)
                len += snprintf(list + len, sizeof list - (size_t)len, "%s%s", j ? ", " : "", sg_pretrain_keys[j].key);
            return sg_fail_at(d->path, key->line, "key 'pretrain.%s': unknown key (expected %s)",
                              key->kind == YN_SCALAR ? key->text : "?", list);
        }
        if (p->value[i])
            return sg_fail_at(d->path, key->line, "key 'pretrain.%s': duplicate key (first at line %d)", key->text, lines[i]);
        lines[i] = key->line;
        if (read_value(d, &d->v[key->next], &sg_pretrain_keys[i], &p->value[i])) return -1;
    }
    const char *glue = sg_jobspec_pretrain_value(spec, "glue_dir"), *file = sg_jobspec_pretrain_value(spec, "train_file");
    if (!glue == !file)
        return sg_fail_at(d->path, sec->line, "key 'pretrain': give %s glue_dir (the sentences of every GLUE train split under a folder) or "
                          "train_file (plain text, one document a line)", glue ? "only one of" : "one of");
    if (sg_jobspec_pretrain_value(spec, "validation_file") && sg_jobspec_pretrain_value(spec, "validation_split_percentage"))
        return sg_fail_at(d->path, lines[key_index("validation_split_percentage")],
                          "key 'pretrain.validation_split_percentage': the held-out text is validation_file; give one of them");
    if (spec->tp > 1)
        return sg_fail_at(d->path, sec->line, "key 'pretrain': spikeglue pretrain does not run tensor-parallel yet; use parallel.tp 1 (dp is fine)");
    /* parallel.dp = D splits the global batch (pretrain's default 8 too) into D equal shares */
    const char *batch = sg_jobspec_pretrain_value(spec, "batch_size");
    long long rows = batch ? atoll(batch) : 8;
    if (spec->dp > 1 && rows % spec->dp)
        return sg_fail_at(d->path, batch ? lines[key_index("batch_size")] : sec->line,
                          "key 'pretrain.batch_size': %lld rows cannot be split over parallel.dp = %d replicas (choose a multiple of %d)",
                          rows, spec->dp, spec->dp);
    return 0;
}
