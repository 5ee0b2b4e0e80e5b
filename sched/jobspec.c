#include "sched/jobspec.h"
#include "core/yaml_doc.h"
#include "sched/jobspec_pretrain.h"

#include "core/error.h"
#include "core/fileio.h"
#include "data/tokenizer.h"
#include "hub/fetch.h"
#include "quant/transform_config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

const char *const sg_slurm_keys[SG_SLURM_NKEYS] = {
    "nodes", "ntasks_per_node", "cpus_per_task", "time", "partition", "account", "exclusive", "array",
    "array_throttle", "slices", "max_array_size", "signal", "mpi", "sbatch", "setup", "groups",
};

/* Bounds on what a spec may cost to read. */
#define MAX_FILE_BYTES (1u << 20)
#define MAX_ITEMS 4096 /* tasks, seeds, variants, filters, ... each */
#define KEY_PATH_MAX 256

const sg_job_flag_key sg_job_flag_keys[SG_JOB_NFLAGS] = {
    {"train", "epochs", "num_train_epochs", SG_JOB_FLOAT, 1e-9, 1e6},
    {"train", "batch_size", "per_device_train_batch_size", SG_JOB_INT, 1, 1 << 20},
    {"train", "eval_batch_size", "per_device_eval_batch_size", SG_JOB_INT, 1, 1 << 20},
    {"train", "learning_rate", "learning_rate", SG_JOB_FLOAT, 1e-12, 10},
    {"train", "weight_decay", "weight_decay", SG_JOB_FLOAT, 0, 10},
    {"train", "warmup_ratio", "warmup_ratio", SG_JOB_FLOAT, 0, 1},
    {"train", "warmup_steps", "warmup_steps", SG_JOB_INT, 0, INT_MAX},
    {"train", "max_seq_length", "max_seq_length", SG_JOB_INT, 4, 4096},
    {"train", "max_steps", "max_steps", SG_JOB_INT, -1, INT_MAX},
    {"train", "max_train_samples", "max_train_samples", SG_JOB_INT, 1, INT_MAX},
    {"train", "max_eval_samples", "max_eval_samples", SG_JOB_INT, 1, INT_MAX},
    {"train", "logging_steps", "logging_steps", SG_JOB_INT, 1, INT_MAX},
    {"train", "lsq_calibrate_batches", "lsq_calibrate_batches", SG_JOB_INT, 0, INT_MAX},
    {"snn", "max_steps", "snn_max_steps", SG_JOB_INT, 1, 1 << 20},
};

static const char *const STAGE_NAMES[SG_STAGE_COUNT] = {"finetune", "eval", "predict", "convert", "snn_eval", "pretrain"};
/* bit indices in the order the stages run: pretrain (a run of its own) before the others */
static const int STAGE_RUN_ORDER[SG_STAGE_COUNT] = {5, 0, 1, 2, 3, 4};

const char *sg_stage_name(unsigned stage) {
    for (int i = 0; i < SG_STAGE_COUNT; i++)
        if (stage == 1u << i) return STAGE_NAMES[i];
    return NULL;
}

const char *sg_stages_format(unsigned stages, char *buf, int cap) {
    int len = 0;
    if (cap > 0) buf[0] = '\0';
    for (int k = 0; k < SG_STAGE_COUNT && len < cap; k++) {
        int i = STAGE_RUN_ORDER[k];
        if (stages & (1u << i)) len += snprintf(buf + len, (size_t)(cap - len), "%s%s", len ? "," : "", STAGE_NAMES[i]);
    }
    return buf;
}

/* ---------------------------------------------------------------------------------------------
 * Typed reads of nodes. `key` is the dotted path of the value, for messages. */

typedef struct {
    const ydoc *d;
    sg_jobspec *spec;
} walker;

#define NODE(w, i) (&(w)->d->v[i])
#define FAIL(w, line, ...) sg_fail_at((w)->d->path, line, __VA_ARGS__)

static int want_kind(const walker *w, int node, int kind, const char *key) {
    const ynode *n = NODE(w, node);
    if (n->kind == kind && !(kind == YN_SCALAR && ydoc_is_null(n))) return 0;
    const char *want = kind == YN_MAP ? "a mapping" : kind == YN_SEQ ? "a sequence" : "a value";
    return FAIL(w, n->line, "key '%s': expected %s, not %s", key, want, ydoc_kind_name(n));
}

static int read_string(const walker *w, int node, const char *key, char **out) {
    if (want_kind(w, node, YN_SCALAR, key)) return -1;
    *out = strdup(NODE(w, node)->text);
    return *out ? 0 : sg_fail("out of memory");
}

static int read_int(const walker *w, int node, const char *key, long long min, long long max, long long *out) {
    const ynode *n = NODE(w, node);
    if (n->kind == YN_SCALAR && n->plain && !ydoc_is_null(n)) {
        char *end;
        errno = 0;
        long long v = strtoll(n->text, &end, 10);
        if (!errno && end != n->text && *end == '\0' && v >= min && v <= max) {
            *out = v;
            return 0;
        }
    }
    const char *shown = n->kind == YN_SCALAR ? n->text : ydoc_kind_name(n);
    return FAIL(w, n->line, "key '%s': expected an integer in %lld..%lld, not '%s'", key, min, max, shown);
}

static int read_float(const walker *w, int node, const char *key, double min, double max, double *out) {
    const ynode *n = NODE(w, node);
    if (n->kind == YN_SCALAR && n->plain && !ydoc_is_null(n)) {
        char *end;
        errno = 0;
        double v = strtod(n->text, &end);
        if (!errno && end != n->text && *end == '\0' && isfinite(v) && v >= min && v <= max) {
            *out = v;
            return 0;
        }
    }
    const char *shown = n->kind == YN_SCALAR ? n->text : ydoc_kind_name(n);
    return FAIL(w, n->line, "key '%s': expected a number in %g..%g, not '%s'", key, min, max, shown);
}

/* "prefix.key" (only for messages: a path too long is cut short). */
static void join_key(char *out, const char *prefix, const char *key) {
    int n = prefix && *prefix ? snprintf(out, KEY_PATH_MAX, "%s.%s", prefix, key) : snprintf(out, KEY_PATH_MAX, "%s", key);
    if (n >= KEY_PATH_MAX) memcpy(out + KEY_PATH_MAX - 4, "...", 4);
}

/* Checks a mapping's keys: scalars, no duplicates and, when `allowed` is given, only those.
 * `what` names the keys in duplicate messages ("key", "variant", "task"). */
static int check_map(const walker *w, int map, const char *prefix, const char *const *allowed, int nallowed,
                     const char *what) {
    int count = 0;
    for (int k = NODE(w, map)->first; k >= 0; k = NODE(w, NODE(w, k)->next)->next) {
        const ynode *key = NODE(w, k);
        if (key->kind != YN_SCALAR) return FAIL(w, key->line, "key under '%s': keys must be scalars", prefix ? prefix : "");
        char path[KEY_PATH_MAX];
        join_key(path, prefix, key->text);
        if (++count > MAX_ITEMS) return FAIL(w, key->line, "key '%s': more than %d entries", path, MAX_ITEMS);
        if (allowed) {
            int ok = 0;
            for (int i = 0; i < nallowed && !ok; i++) ok = !strcmp(key->text, allowed[i]);
            if (!ok) {
                char list[512];
                int len = 0;
                list[0] = '\0';
                for (int i = 0; i < nallowed && len < (int)sizeof list; i++)
                    len += snprintf(list + len, sizeof list - (size_t)len, "%s%s", i ? ", " : "", allowed[i]);
                return FAIL(w, key->line, "key '%s': unknown key (expected %s)", path, list);
            }
        }
        for (int j = NODE(w, map)->first; j != k; j = NODE(w, NODE(w, j)->next)->next)
            if (NODE(w, j)->kind == YN_SCALAR && !strcmp(NODE(w, j)->text, key->text))
                return FAIL(w, key->line, "key '%s': duplicate %s (first at line %d)", path, what, NODE(w, j)->line);
    }
    return 0;
}

static int seq_len(const walker *w, int seq) {
    int n = 0;
    for (int i = NODE(w, seq)->first; i >= 0; i = NODE(w, i)->next) n++;
    return n;
}

/* ---------------------------------------------------------------------------------------------
 * Sections. */

static int valid_name(const char *s, int allow_dot) {
    if (!*s || *s == '.') return 0;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '-' || (allow_dot && *p == '.'))) return 0;
    return 1;
}

/* A model string: non-empty; the only placeholder is {task}. */
static int check_model(const walker *w, int node, const char *key) {
    const char *s = NODE(w, node)->text;
    if (!*s) return FAIL(w, NODE(w, node)->line, "key '%s': empty model", key);
    for (const char *p = strchr(s, '{'); p; p = strchr(p + 1, '{'))
        if (strncmp(p, "{task}", 6))
            return FAIL(w, NODE(w, node)->line, "key '%s': unknown placeholder in '%s' (only {task} is replaced)", key, s);
    return 0;
}

static int read_flags(const walker *w, int node, const char *prefix, const char *section, sg_job_flags *flags) {
    if (want_kind(w, node, YN_MAP, prefix)) return -1;
    const char *allowed[SG_JOB_NFLAGS];
    int nallowed = 0;
    for (int i = 0; i < SG_JOB_NFLAGS; i++)
        if (!strcmp(sg_job_flag_keys[i].section, section)) allowed[nallowed++] = sg_job_flag_keys[i].key;
    if (check_map(w, node, prefix, allowed, nallowed, "key")) return -1;
    for (int k = NODE(w, node)->first; k >= 0; k = NODE(w, NODE(w, k)->next)->next) {
        int v = NODE(w, k)->next;
        for (int i = 0; i < SG_JOB_NFLAGS; i++) {
            const sg_job_flag_key *fk = &sg_job_flag_keys[i];
            if (strcmp(fk->section, section) || strcmp(fk->key, NODE(w, k)->text)) continue;
            char path[KEY_PATH_MAX];
            join_key(path, prefix, fk->key);
            if (fk->type == SG_JOB_INT) {
                long long x;
                if (read_int(w, v, path, (long long)fk->min, (long long)fk->max, &x)) return -1;
                flags->value[i] = (double)x;
            } else if (read_float(w, v, path, fk->min, fk->max, &flags->value[i])) {
                return -1;
            }
            flags->set |= 1u << i;
            flags->line[i] = NODE(w, k)->line;
        }
    }
    return 0;
}

/* top_level: the spec's own pipeline, the only one that may hold pretrain (first). */
static int read_pipeline(const walker *w, int node, const char *key, int top_level, unsigned *out) {
    if (want_kind(w, node, YN_SEQ, key)) return -1;
    unsigned stages = 0;
    for (int i = NODE(w, node)->first; i >= 0; i = NODE(w, i)->next) {
        const ynode *n = NODE(w, i);
        unsigned bit = 0;
        for (int s = 0; s < SG_STAGE_COUNT && n->kind == YN_SCALAR; s++)
            if (!strcmp(n->text, STAGE_NAMES[s])) bit = 1u << s;
        if (!bit)
            return FAIL(w, n->line, "key '%s': unknown stage '%s' (expected pretrain, finetune, eval, predict, convert, snn_eval)", key,
                        n->kind == YN_SCALAR ? n->text : ydoc_kind_name(n));
        if (stages & bit) return FAIL(w, n->line, "key '%s': stage '%s' listed twice", key, n->text);
        if (bit == SG_STAGE_PRETRAIN && !top_level)
            return FAIL(w, n->line, "key '%s': pretrain runs once for the sweep: list it in the top-level pipeline (a variant opts out with pretrain: false)", key);
        if (bit == SG_STAGE_PRETRAIN && stages)
            return FAIL(w, n->line, "key '%s': pretrain comes first (the other stages start from its model)", key);
        stages |= bit;
    }
    if (!(stages & ~(unsigned)SG_STAGE_PRETRAIN))
        return FAIL(w, NODE(w, node)->line, "key '%s': no stages%s", key, stages ? " after pretrain (its model is for the others)" : "");
    if ((stages & SG_STAGE_SNN_EVAL) && !(stages & SG_STAGE_CONVERT))
        return FAIL(w, NODE(w, node)->line, "key '%s': snn_eval needs convert in the same pipeline", key);
    *out = stages;
    return 0;
}

static int read_tasks(const walker *w, int node) {
    sg_jobspec *s = w->spec;
    if (want_kind(w, node, YN_SEQ, "tasks")) return -1;
    int n = seq_len(w, node);
    if (n == 0) return FAIL(w, NODE(w, node)->line, "key 'tasks': no tasks");
    if (n > MAX_ITEMS) return FAIL(w, NODE(w, node)->line, "key 'tasks': more than %d entries", MAX_ITEMS);
    s->tasks = calloc((size_t)n, sizeof *s->tasks);
    int *lines = calloc((size_t)n, sizeof *lines);
    if (!s->tasks || !lines) return free(lines), sg_fail("out of memory");
    int rc = 0;
    for (int i = NODE(w, node)->first; i >= 0 && rc == 0; i = NODE(w, i)->next) {
        const ynode *t = NODE(w, i);
        if (want_kind(w, i, YN_SCALAR, "tasks")) {
            rc = -1;
            break;
        }
        const sg_glue_task *task = sg_glue_task_find(t->text);
        if (!task) {
            rc = FAIL(w, t->line, "key 'tasks': %s", sg_last_error());
            break;
        }
        for (int j = 0; j < s->ntasks; j++)
            if (s->tasks[j] == task)
                rc = FAIL(w, t->line, "key 'tasks': '%s' is %s, already listed at line %d", t->text, task->name, lines[j]);
        lines[s->ntasks] = t->line;
        s->tasks[s->ntasks++] = task;
    }
    free(lines);
    return rc;
}

static int read_seeds(const walker *w, int node) {
    sg_jobspec *s = w->spec;
    if (want_kind(w, node, YN_SEQ, "seeds")) return -1;
    int n = seq_len(w, node);
    if (n == 0) return FAIL(w, NODE(w, node)->line, "key 'seeds': no seeds");
    if (n > MAX_ITEMS) return FAIL(w, NODE(w, node)->line, "key 'seeds': more than %d entries", MAX_ITEMS);
    s->seeds = calloc((size_t)n, sizeof *s->seeds);
    if (!s->seeds) return sg_fail("out of memory");
    for (int i = NODE(w, node)->first; i >= 0; i = NODE(w, i)->next) {
        long long v;
        char key[32];
        snprintf(key, sizeof key, "seeds[%d]", s->nseeds);
        if (read_int(w, i, key, 0, INT_MAX, &v)) return -1;
        for (int j = 0; j < s->nseeds; j++)
            if (s->seeds[j] == v) return FAIL(w, NODE(w, i)->line, "key '%s': seed %lld listed twice", key, v);
        s->seeds[s->nseeds++] = (int)v;
    }
    return 0;
}

/* Level of a transform: the single level of every entry, else a number in the file name. */
static int transform_level(const sg_transform_config *cfg, const char *path) {
    int level = 0, mixed = 0;
    for (int i = 0; i < cfg->n_quant + cfg->n_attn + cfg->n_fc; i++) {
        int l = i < cfg->n_quant ? cfg->quant[i].level
              : i < cfg->n_quant + cfg->n_attn ? cfg->attn[i - cfg->n_quant].level
                                                : cfg->fc[i - cfg->n_quant - cfg->n_attn].level;
        if (l <= 0) continue;
        if (level && l != level) mixed = 1;
        level = l;
    }
    if (mixed) return 0;
    if (level) return level;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (const char *p = base; *p; p++) {
        size_t skip = (tolower((unsigned char)*p) == 'q') ? 1 : !strncasecmp(p, "level", 5) ? 5 : 0;
        int starts_word = p == base || !isalpha((unsigned char)p[-1]);
        if (skip && starts_word && isdigit((unsigned char)p[skip])) return atoi(p + skip);
    }
    return 0;
}

static int load_transform(const walker *w, int node, const char *key, sg_job_variant *v) {
    const ynode *n = NODE(w, node);
    if (n->kind == YN_SCALAR && n->plain && !strcmp(n->text, "none")) return 0;
    if (n->kind != YN_SCALAR || ydoc_is_null(n) || !*n->text)
        return FAIL(w, n->line, "key '%s': expected none or a transform config path, not %s", key, ydoc_kind_name(n));
    if (!sg_is_file(n->text)) {
        char cwd[4096];
        if (n->text[0] != '/' && getcwd(cwd, sizeof cwd))
            return FAIL(w, n->line, "key '%s': no such file '%s' (tried %s/%s: relative paths are taken from the current directory)",
                        key, n->text, cwd, n->text);
        return FAIL(w, n->line, "key '%s': no such file '%s'", key, n->text);
    }
    sg_transform_config cfg;
    if (sg_transform_load(n->text, &cfg)) {
        sg_transform_free(&cfg);
        return sg_fail_context("%s:%d: key '%s'", w->d->path, n->line, key);
    }
    v->level = transform_level(&cfg, n->text);
    sg_transform_free(&cfg);
    if (sg_sha256_file(n->text, v->transform_sha256)) return sg_fail_context("%s:%d: key '%s'", w->d->path, n->line, key);
    v->transform = strdup(n->text);
    return v->transform ? 0 : sg_fail("out of memory");
}

/* start_from names are resolved once every variant is known; kept here meanwhile. */
typedef struct {
    int node; /* the start_from value, or -1 */
    int pipeline_node;
    int pretrain_node; /* the pretrain: true/false value, or -1 */
} variant_refs;

static int read_variants(const walker *w, int node, variant_refs *refs) {
    sg_jobspec *s = w->spec;
    static const char *const keys[] = {"transform", "start_from", "train", "snn", "pipeline", "pretrain"};
    for (int k = NODE(w, node)->first; k >= 0; k = NODE(w, NODE(w, k)->next)->next) {
        const ynode *name = NODE(w, k);
        int body = name->next;
        sg_job_variant *v = &s->variants[s->nvariants];
        char prefix[KEY_PATH_MAX], path[KEY_PATH_MAX];
        join_key(prefix, "variants", name->text);
        if (!valid_name(name->text, 0))
            return FAIL(w, name->line, "key '%s': variant names are letters, digits, '_' and '-'", prefix);
        v->name = strdup(name->text);
        if (!v->name) return sg_fail("out of memory");
        v->line = name->line;
        v->start_from = -1;
        v->flags = s->flags;
        refs[s->nvariants] = (variant_refs){-1, -1, -1};
        s->nvariants++;
        if (want_kind(w, body, YN_MAP, prefix) || check_map(w, body, prefix, keys, 6, "key")) return -1;
        int pt = ydoc_map_get(w->d, body, "pretrain", NULL);
        if (pt >= 0) {
            const ynode *n = NODE(w, pt);
            join_key(path, prefix, "pretrain");
            if (n->kind != YN_SCALAR || !n->plain || (strcmp(n->text, "true") && strcmp(n->text, "false")))
                return FAIL(w, n->line, "key '%s': expected true or false, not '%s'", path, n->kind == YN_SCALAR ? n->text : ydoc_kind_name(n));
            if (!(s->pipeline & SG_STAGE_PRETRAIN))
                return FAIL(w, n->line, "key '%s': the pipeline has no pretrain stage", path);
            refs[s->nvariants - 1].pretrain_node = pt;
        }
        v->pretrain = (s->pipeline & SG_STAGE_PRETRAIN) && !(pt >= 0 && !strcmp(NODE(w, pt)->text, "false"));
        int t = ydoc_map_get(w->d, body, "transform", NULL);
        if (t < 0) return FAIL(w, name->line, "key '%s': missing key 'transform' (none or a transform config path)", prefix);
        join_key(path, prefix, "transform");
        if (load_transform(w, t, path, v)) return -1;
        int sf = ydoc_map_get(w->d, body, "start_from", NULL);
        if (sf >= 0) {
            join_key(path, prefix, "start_from");
            if (want_kind(w, sf, YN_SCALAR, path)) return -1;
            refs[s->nvariants - 1].node = sf;
        }
        int tr = ydoc_map_get(w->d, body, "train", NULL), sn = ydoc_map_get(w->d, body, "snn", NULL), pl = ydoc_map_get(w->d, body, "pipeline", NULL);
        join_key(path, prefix, "train");
        if (tr >= 0 && read_flags(w, tr, path, "train", &v->flags)) return -1;
        join_key(path, prefix, "snn");
        if (sn >= 0 && read_flags(w, sn, path, "snn", &v->flags)) return -1;
        join_key(path, prefix, "pipeline");
        v->pipeline = s->pipeline & ~(unsigned)SG_STAGE_PRETRAIN; /* the pretrain run is a run of its own */
        if (pl >= 0 && read_pipeline(w, pl, path, 0, &v->pipeline)) return -1;
        refs[s->nvariants - 1].pipeline_node = pl;
        /* a baseline cannot be converted: drop the spiking stages (recorded) rather than fail */
        if (!v->transform) {
            v->dropped = v->pipeline & (SG_STAGE_CONVERT | SG_STAGE_SNN_EVAL);
            v->pipeline &= ~v->dropped;
            if (!v->pipeline)
                return FAIL(w, pl >= 0 ? NODE(w, pl)->line : name->line,
                            "key '%s': nothing left to run (convert and snn_eval need a transform)", prefix);
        }
    }
    return 0;
}

/* Resolves start_from names and refuses cycles and starts from runs that do not fine-tune. */
static int link_variants(const walker *w, const variant_refs *refs) {
    sg_jobspec *s = w->spec;
    for (int i = 0; i < s->nvariants; i++) {
        if (refs[i].node < 0) continue;
        const ynode *n = NODE(w, refs[i].node);
        int j = sg_jobspec_variant_find(s, n->text);
        if (j < 0) {
            char list[512];
            int len = 0;
            list[0] = '\0';
            for (int k = 0; k < s->nvariants && len < (int)sizeof list; k++)
                len += snprintf(list + len, sizeof list - (size_t)len, "%s%s", k ? ", " : "", s->variants[k].name);
            return FAIL(w, n->line, "key 'variants.%s.start_from': unknown variant '%s' (variants: %s)", s->variants[i].name,
                        n->text, list);
        }
        s->variants[i].start_from = j;
        /* a variant that starts from another takes that one's model: pretrained or not */
        if (refs[i].pretrain_node >= 0)
            return FAIL(w, NODE(w, refs[i].pretrain_node)->line,
                        "key 'variants.%s.pretrain': it starts from '%s' and takes its model; set pretrain on '%s'", s->variants[i].name,
                        n->text, n->text);
        s->variants[i].pretrain = 0;
    }
    for (int i = 0; i < s->nvariants; i++) {
        /* follow the chain; more steps than variants means a cycle */
        int at = i, steps = 0;
        while (at >= 0 && steps <= s->nvariants) {
            at = s->variants[at].start_from;
            steps++;
            if (at == i) break;
        }
        if (at == i) {
            char chain[512];
            int len = snprintf(chain, sizeof chain, "%s", s->variants[i].name);
            int k = s->variants[i].start_from;
            for (int guard = 0; guard < s->nvariants && len < (int)sizeof chain; guard++) {
                len += snprintf(chain + len, sizeof chain - (size_t)len, " -> %s", s->variants[k].name);
                if (k == i) break;
                k = s->variants[k].start_from;
            }
            return FAIL(w, NODE(w, refs[i].node)->line, "key 'variants.%s.start_from': cycle %s", s->variants[i].name, chain);
        }
        int dep = s->variants[i].start_from;
        if (dep >= 0 && !(s->variants[dep].pipeline & SG_STAGE_FINETUNE))
            return FAIL(w, NODE(w, refs[i].node)->line,
                        "key 'variants.%s.start_from': variant '%s' does not fine-tune (no finetune in its pipeline), so there is no model to start from",
                        s->variants[i].name, s->variants[dep].name);
    }
    return 0;
}

static int read_filters(const walker *w, int node, const char *key, sg_job_filter **out, int *count) {
    sg_jobspec *s = w->spec;
    static const char *const keys[] = {"task", "variant", "seed"};
    if (want_kind(w, node, YN_SEQ, key)) return -1;
    int n = seq_len(w, node);
    if (n > MAX_ITEMS) return FAIL(w, NODE(w, node)->line, "key '%s': more than %d entries", key, MAX_ITEMS);
    *out = calloc((size_t)(n ? n : 1), sizeof **out);
    if (!*out) return sg_fail("out of memory");
    for (int i = NODE(w, node)->first; i >= 0; i = NODE(w, i)->next) {
        sg_job_filter *f = &(*out)[*count];
        char prefix[KEY_PATH_MAX], path[KEY_PATH_MAX];
        snprintf(prefix, sizeof prefix, "%s[%d]", key, *count);
        (*count)++;
        *f = (sg_job_filter){.line = NODE(w, i)->line, .variant = -1};
        if (want_kind(w, i, YN_MAP, prefix) || check_map(w, i, prefix, keys, 3, "key")) return -1;
        if (NODE(w, i)->first < 0) return FAIL(w, f->line, "key '%s': an empty entry matches every run", prefix);
        int t = ydoc_map_get(w->d, i, "task", NULL), v = ydoc_map_get(w->d, i, "variant", NULL), sd = ydoc_map_get(w->d, i, "seed", NULL);
        if (t >= 0) {
            join_key(path, prefix, "task");
            if (want_kind(w, t, YN_SCALAR, path)) return -1;
            f->task = sg_glue_task_find(NODE(w, t)->text);
            if (!f->task) return FAIL(w, NODE(w, t)->line, "key '%s': %s", path, sg_last_error());
            int known = 0;
            for (int j = 0; j < s->ntasks; j++) known |= s->tasks[j] == f->task;
            if (!known) return FAIL(w, NODE(w, t)->line, "key '%s': task '%s' is not in tasks", path, f->task->name);
        }
        if (v >= 0) {
            join_key(path, prefix, "variant");
            if (want_kind(w, v, YN_SCALAR, path)) return -1;
            f->variant = sg_jobspec_variant_find(s, NODE(w, v)->text);
            if (f->variant < 0) return FAIL(w, NODE(w, v)->line, "key '%s': unknown variant '%s'", path, NODE(w, v)->text);
        }
        if (sd >= 0) {
            long long x;
            join_key(path, prefix, "seed");
            if (read_int(w, sd, path, 0, INT_MAX, &x)) return -1;
            int known = 0;
            for (int j = 0; j < s->nseeds; j++) known |= s->seeds[j] == x;
            if (!known) return FAIL(w, NODE(w, sd)->line, "key '%s': seed %lld is not in seeds", path, x);
            f->has_seed = 1;
            f->seed = (int)x;
        }
    }
    return 0;
}

static int read_model_overrides(const walker *w, int node) {
    sg_jobspec *s = w->spec;
    if (want_kind(w, node, YN_MAP, "model_overrides") || check_map(w, node, "model_overrides", NULL, 0, "task")) return -1;
    int n = 0;
    for (int k = NODE(w, node)->first; k >= 0; k = NODE(w, NODE(w, k)->next)->next) n++;
    s->model_overrides = calloc((size_t)(n ? n : 1), sizeof *s->model_overrides);
    if (!s->model_overrides) return sg_fail("out of memory");
    for (int k = NODE(w, node)->first; k >= 0; k = NODE(w, NODE(w, k)->next)->next) {
        const ynode *key = NODE(w, k);
        char path[KEY_PATH_MAX];
        join_key(path, "model_overrides", key->text);
        const sg_glue_task *task = sg_glue_task_find(key->text);
        if (!task) return FAIL(w, key->line, "key '%s': %s", path, sg_last_error());
        int known = 0;
        for (int j = 0; j < s->ntasks; j++) known |= s->tasks[j] == task;
        if (!known) return FAIL(w, key->line, "key '%s': task '%s' is not in tasks", path, task->name);
        for (int j = 0; j < s->nmodel_overrides; j++)
            if (s->model_overrides[j].task == task)
                return FAIL(w, key->line, "key '%s': task %s already has a model (line %d)", path, task->name,
                            s->model_overrides[j].line);
        sg_job_model_override *o = &s->model_overrides[s->nmodel_overrides];
        if (read_string(w, key->next, path, &o->model)) return -1;
        s->nmodel_overrides++;
        o->task = task;
        o->line = key->line;
        if (check_model(w, key->next, path)) return -1;
    }
    return 0;
}

/* slurm: kept as JSON; plain scalars become numbers, booleans and null where they read as such. */
static cJSON *to_json(const walker *w, int node, const char *prefix) {
    const ynode *n = NODE(w, node);
    if (n->kind == YN_SCALAR) {
        if (!n->plain) return cJSON_CreateString(n->text);
        if (ydoc_is_null(n)) return cJSON_CreateNull();
        if (!strcmp(n->text, "true") || !strcmp(n->text, "True")) return cJSON_CreateTrue();
        if (!strcmp(n->text, "false") || !strcmp(n->text, "False")) return cJSON_CreateFalse();
        char *end;
        double v = strtod(n->text, &end);
        if (end != n->text && *end == '\0' && isfinite(v)) return cJSON_CreateNumber(v);
        return cJSON_CreateString(n->text);
    }
    if (n->kind == YN_MAP && check_map(w, node, prefix, NULL, 0, "key")) return NULL;
    cJSON *out = n->kind == YN_MAP ? cJSON_CreateObject() : cJSON_CreateArray();
    if (!out) return NULL;
    for (int c = n->first; c >= 0; c = NODE(w, c)->next) {
        char path[KEY_PATH_MAX];
        if (n->kind == YN_MAP) join_key(path, prefix, NODE(w, c)->text);
        else snprintf(path, sizeof path, "%s[]", prefix);
        cJSON *item = to_json(w, n->kind == YN_MAP ? NODE(w, c)->next : c, path);
        if (!item) return cJSON_Delete(out), NULL;
        if (n->kind == YN_MAP) {
            cJSON_AddItemToObject(out, NODE(w, c)->text, item);
            c = NODE(w, c)->next;
        } else {
            cJSON_AddItemToArray(out, item);
        }
    }
    return out;
}

/* synth_data: true only makes sense for the tasks `spikeglue synth` writes. */
static int read_synth(const walker *w, int node) {
    const ynode *n = NODE(w, node);
    if (n->kind != YN_SCALAR || !n->plain || (strcmp(n->text, "true") && strcmp(n->text, "false")))
        return FAIL(w, n->line, "key 'synth_data': expected true or false, not '%s'", n->kind == YN_SCALAR ? n->text : ydoc_kind_name(n));
    w->spec->synth_data = !strcmp(n->text, "true");
    for (int i = 0; i < w->spec->ntasks && w->spec->synth_data; i++) {
        const char *t = w->spec->tasks[i]->name;
        if (strcmp(t, "sst2") && strcmp(t, "mrpc") && strcmp(t, "stsb"))
            return FAIL(w, n->line, "key 'synth_data': task %s has no synthetic data (spikeglue synth writes sst2, mrpc, stsb)", t);
    }
    return 0;
}

/* parallel.dp = D splits every global batch (train.batch_size, the run's default when unset) into
 * D equal shares, one per replica: each fine-tuning variant's batch must be a multiple of D. */
static int check_batch_split(const walker *w) {
    const sg_jobspec *s = w->spec;
    if (s->dp <= 1) return 0;
    int k = 0;
    while (strcmp(sg_job_flag_keys[k].key, "batch_size")) k++;
    for (int v = 0; v < s->nvariants; v++) {
        const sg_job_variant *var = &s->variants[v];
        if (!(var->pipeline & SG_STAGE_FINETUNE)) continue;
        int set = (var->flags.set >> k) & 1;
        long long batch = set ? (long long)var->flags.value[k] : SG_JOB_DEFAULT_BATCH;
        if (batch % s->dp == 0) continue;
        if (!set)
            return FAIL(w, s->parallel_line, "key 'parallel.dp': %d replicas cannot split the default batch of %d rows (set train.batch_size to a multiple of %d)",
                        s->dp, SG_JOB_DEFAULT_BATCH, s->dp);
        /* the variant's own value, or the top-level one it inherited */
        int own = !((s->flags.set >> k) & 1) || var->flags.line[k] != s->flags.line[k];
        char key[KEY_PATH_MAX];
        if (own) snprintf(key, sizeof key, "variants.%s.train.batch_size", var->name);
        else snprintf(key, sizeof key, "train.batch_size");
        return FAIL(w, var->flags.line[k], "key '%s': %lld rows cannot be split over parallel.dp = %d replicas (choose a multiple of %d)",
                    key, batch, s->dp, s->dp);
    }
    return 0;
}

static int read_spec(const walker *w, int root) {
    sg_jobspec *s = w->spec;
    static const char *const keys[] = {"name", "model", "data_dir", "synth_data", "tasks", "seeds", "variants", "pipeline", "train", "snn",
                                       "parallel", "retries", "time_limit", "include", "exclude", "model_overrides", "slurm", "pretrain", "tokenizer"};
    static const char *const required[] = {"name", "model", "data_dir", "tasks", "seeds", "variants", "pipeline"};
    if (want_kind(w, root, YN_MAP, "(top level)") || check_map(w, root, NULL, keys, (int)(sizeof keys / sizeof keys[0]), "key"))
        return -1;
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (ydoc_map_get(w->d, root, required[i], NULL) < 0) return FAIL(w, NODE(w, root)->line, "missing key '%s'", required[i]);
    int n;
    if (read_string(w, ydoc_map_get(w->d, root, "name", NULL), "name", &s->name)) return -1;
    if (!valid_name(s->name, 1))
        return FAIL(w, NODE(w, ydoc_map_get(w->d, root, "name", NULL))->line, "key 'name': '%s' is not a folder name ([A-Za-z0-9_.-], not starting with '.')", s->name);
    n = ydoc_map_get(w->d, root, "model", NULL);
    if (read_string(w, n, "model", &s->model) || check_model(w, n, "model")) return -1;
    /* every run takes --tokenizer_name from it: a builtin model then has its vocabulary (BPE) */
    if ((n = ydoc_map_get(w->d, root, "tokenizer", NULL)) >= 0) {
        if (read_string(w, n, "tokenizer", &s->tokenizer)) return -1;
        if (sg_tokenizer_files_in(s->tokenizer) != SG_TOKENIZER_FILES_BOTH)
            return FAIL(w, NODE(w, n)->line, "key 'tokenizer': '%s' has no vocab.json + merges.txt (relative paths are taken from the current directory)",
                        s->tokenizer);
    }
    if (read_string(w, ydoc_map_get(w->d, root, "data_dir", NULL), "data_dir", &s->data_dir)) return -1;
    if (!*s->data_dir) return FAIL(w, NODE(w, ydoc_map_get(w->d, root, "data_dir", NULL))->line, "key 'data_dir': empty");
    if (read_tasks(w, ydoc_map_get(w->d, root, "tasks", NULL)) || read_seeds(w, ydoc_map_get(w->d, root, "seeds", NULL))) return -1;
    if ((n = ydoc_map_get(w->d, root, "synth_data", NULL)) >= 0 && read_synth(w, n)) return -1;
    if (read_pipeline(w, ydoc_map_get(w->d, root, "pipeline", NULL), "pipeline", 1, &s->pipeline)) return -1;
    if ((n = ydoc_map_get(w->d, root, "train", NULL)) >= 0 && read_flags(w, n, "train", "train", &s->flags)) return -1;
    if ((n = ydoc_map_get(w->d, root, "snn", NULL)) >= 0 && read_flags(w, n, "snn", "snn", &s->flags)) return -1;
    long long x;
    s->tp = s->dp = 1;
    if ((n = ydoc_map_get(w->d, root, "parallel", NULL)) >= 0) {
        static const char *const pkeys[] = {"dp", "tp"};
        if (want_kind(w, n, YN_MAP, "parallel") || check_map(w, n, "parallel", pkeys, 2, "key")) return -1;
        s->parallel_line = NODE(w, n)->line;
        int tp = ydoc_map_get(w->d, n, "tp", NULL), dp = ydoc_map_get(w->d, n, "dp", NULL);
        if (tp >= 0) {
            if (read_int(w, tp, "parallel.tp", 1, 4096, &x)) return -1;
            s->tp = (int)x;
        }
        if (dp >= 0) {
            if (read_int(w, dp, "parallel.dp", 1, 4096, &x)) return -1;
            s->dp = (int)x;
            s->parallel_line = NODE(w, dp)->line;
        }
        if ((long long)s->dp * s->tp > 4096)
            return FAIL(w, NODE(w, n)->line, "key 'parallel': dp %d x tp %d = %lld ranks per run group, more than 4096", s->dp, s->tp,
                        (long long)s->dp * s->tp);
    }
    if ((n = ydoc_map_get(w->d, root, "pretrain", NULL)) >= 0) {
        if (sg_jobspec_read_pretrain(w->d, n, s)) return -1;
    } else if (s->pipeline & SG_STAGE_PRETRAIN) {
        return FAIL(w, NODE(w, ydoc_map_get(w->d, root, "pipeline", NULL))->line,
                    "key 'pipeline': the pretrain stage needs a pretrain: section (glue_dir or train_file, and its trainer settings)");
    }
    if ((n = ydoc_map_get(w->d, root, "retries", NULL)) >= 0) {
        if (read_int(w, n, "retries", 0, 100, &x)) return -1;
        s->retries = (int)x;
    }
    if ((n = ydoc_map_get(w->d, root, "time_limit", NULL)) >= 0) {
        if (read_int(w, n, "time_limit", 0, INT_MAX, &x)) return -1;
        s->time_limit = (int)x;
    }
    int vn = ydoc_map_get(w->d, root, "variants", NULL);
    if (want_kind(w, vn, YN_MAP, "variants") || check_map(w, vn, "variants", NULL, 0, "variant")) return -1;
    int nv = 0;
    for (int k = NODE(w, vn)->first; k >= 0; k = NODE(w, NODE(w, k)->next)->next) nv++;
    if (nv == 0) return FAIL(w, NODE(w, vn)->line, "key 'variants': no variants");
    s->variants = calloc((size_t)nv, sizeof *s->variants);
    variant_refs *refs = calloc((size_t)nv, sizeof *refs);
    if (!s->variants || !refs) return free(refs), sg_fail("out of memory");
    int rc = read_variants(w, vn, refs);
    if (rc == 0) rc = link_variants(w, refs);
    free(refs);
    if (rc || check_batch_split(w)) return -1;
    if ((n = ydoc_map_get(w->d, root, "include", NULL)) >= 0) {
        s->has_include = 1;
        if (read_filters(w, n, "include", &s->include, &s->ninclude)) return -1;
    }
    if ((n = ydoc_map_get(w->d, root, "exclude", NULL)) >= 0 && read_filters(w, n, "exclude", &s->exclude, &s->nexclude)) return -1;
    if ((n = ydoc_map_get(w->d, root, "model_overrides", NULL)) >= 0 && read_model_overrides(w, n)) return -1;
    if ((n = ydoc_map_get(w->d, root, "slurm", NULL)) >= 0) {
        if (want_kind(w, n, YN_MAP, "slurm")) return -1;
        /* the keys `spikeglue submit` reads (sched/submit.h), checked here where lines are known */
        if (check_map(w, n, "slurm", sg_slurm_keys, SG_SLURM_NKEYS, "key")) return -1;
        s->slurm = to_json(w, n, "slurm");
        if (!s->slurm) return sg_last_error()[0] ? -1 : sg_fail("out of memory");
    }
    return 0;
}

int sg_jobspec_parse(const char *text, size_t len, const char *name, sg_jobspec *spec) {
    memset(spec, 0, sizeof *spec);
    if (len > MAX_FILE_BYTES) return sg_fail_at(name, 0, "larger than %u bytes", MAX_FILE_BYTES);
    sg_clear_error();
    ydoc d = {.path = name};
    int root = ydoc_parse(&d, text, len);
    int rc = -1;
    if (root == -2) {
        rc = sg_fail_at(name, 0, "empty job spec");
    } else if (root >= 0) {
        walker w = {&d, spec};
        spec->path = strdup(name);
        rc = spec->path ? read_spec(&w, root) : sg_fail("out of memory");
    }
    ydoc_free(&d);
    if (rc) {
        /* keep the message: freeing records nothing */
        sg_jobspec_free(spec);
        return -1;
    }
    return 0;
}

int sg_jobspec_load(const char *path, sg_jobspec *spec) {
    memset(spec, 0, sizeof *spec);
    size_t len;
    char *text = sg_read_file(path, MAX_FILE_BYTES, &len);
    if (!text) return -1;
    int rc = sg_jobspec_parse(text, len, path, spec);
    free(text);
    return rc;
}

void sg_jobspec_free(sg_jobspec *spec) {
    if (!spec) return;
    free(spec->path);
    free(spec->name);
    free(spec->model);
    free(spec->tokenizer);
    free(spec->data_dir);
    free(spec->tasks);
    free(spec->seeds);
    for (int i = 0; i < spec->nvariants; i++) {
        free(spec->variants[i].name);
        free(spec->variants[i].transform);
    }
    free(spec->variants);
    free(spec->include);
    free(spec->exclude);
    for (int i = 0; i < spec->nmodel_overrides; i++) free(spec->model_overrides[i].model);
    free(spec->model_overrides);
    cJSON_Delete(spec->slurm);
    sg_jobspec_pretrain_free(&spec->pretrain);
    memset(spec, 0, sizeof *spec);
}

int sg_jobspec_variant_find(const sg_jobspec *spec, const char *name) {
    for (int i = 0; i < spec->nvariants; i++)
        if (spec->variants[i].name && !strcmp(spec->variants[i].name, name)) return i;
    return -1;
}

int sg_jobspec_task_model(const sg_jobspec *spec, const sg_glue_task *task, char *out, size_t cap) {
    const char *model = spec->model;
    for (int i = 0; i < spec->nmodel_overrides; i++)
        if (spec->model_overrides[i].task == task) model = spec->model_overrides[i].model;
    size_t len = 0;
    for (const char *p = model; *p;) {
        const char *piece = p;
        size_t n = 1;
        if (!strncmp(p, "{task}", 6)) {
            piece = task->name;
            n = strlen(task->name);
            p += 6;
        } else {
            p++;
        }
        if (len + n >= cap) return sg_fail("%s: model name for %s longer than %zu bytes", spec->path, task->name, cap - 1);
        memcpy(out + len, piece, n);
        len += n;
    }
    if (cap) out[len] = '\0';
    return 0;
}
