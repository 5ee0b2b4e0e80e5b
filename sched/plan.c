#include "sched/plan.h"
#include "sched/plan_cost.h"

#include "core/error.h"
#include "hub/fetch.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_RUNS 1000000
#define MODEL_MAX 4096


/* The pretrain stage's run: task "mlm" (a masked-LM run, not a GLUE task), for every message that
 * names a run's task. */
static const sg_glue_task PRETRAIN_TASK = {.name = "mlm", .folder = ""};

/* ---- argument vectors ---- */

typedef struct {
    char **v;
    int n, cap;
    int oom;
} str_list;

static void list_add(str_list *l, const char *s) {
    if (l->oom) return;
    if (l->n + 2 > l->cap) {
        int cap = l->cap ? l->cap * 2 : 32;
        char **p = realloc(l->v, (size_t)cap * sizeof *p);
        if (!p) {
            l->oom = 1;
            return;
        }
        l->v = p;
        l->cap = cap;
    }
    l->v[l->n] = strdup(s);
    if (!l->v[l->n]) {
        l->oom = 1;
        return;
    }
    l->v[++l->n] = NULL;
}

static void list_free(str_list *l) {
    for (int i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}

static void format_flag_value(int k, double value, char *buf, size_t cap) {
    if (sg_job_flag_keys[k].type == SG_JOB_INT) snprintf(buf, cap, "%lld", (long long)value);
    else snprintf(buf, cap, "%.10g", value);
}

static void add_pair(str_list *names, str_list *values, const char *name, const char *value) {
    list_add(names, name);
    list_add(values, value ? value : "");
}

/* Every flag after the model and output dir, as pairs: name, value or NULL (a switch). The
 * argument vector and the canonical config are both made from this one list. */
static void pretrain_flags(const sg_jobspec *s, str_list *names, str_list *values) {
    const char *seed = sg_jobspec_pretrain_value(s, "seed"), *save = sg_jobspec_pretrain_value(s, "save_steps");
    const char *eval = sg_jobspec_pretrain_value(s, "eval_steps");
    add_pair(names, values, "--overwrite_output_dir", NULL);
    add_pair(names, values, "--do_train", NULL);
    add_pair(names, values, "--do_eval", NULL);
    add_pair(names, values, "--seed", seed ? seed : "42");
    for (int k = 0; k < SG_PRETRAIN_NKEYS; k++) {
        const sg_pretrain_key *pk = &sg_pretrain_keys[k];
        const char *value = s->pretrain.value[k];
        if (!value || !strcmp(pk->key, "seed") || !strcmp(pk->key, "save_steps") || !strcmp(pk->key, "eval_steps")) continue;
        if (pk->type == SG_PK_BOOL && strcmp(value, "true")) continue;
        char name[80];
        snprintf(name, sizeof name, "--%s", pk->flag);
        add_pair(names, values, name, pk->type == SG_PK_BOOL ? NULL : value);
    }
    /* one checkpoint kept, as fine-tuning runs do: what an interrupted pretrain resumes from */
    add_pair(names, values, "--save_strategy", save ? "steps" : "epoch");
    if (save) add_pair(names, values, "--save_steps", save);
    add_pair(names, values, "--save_total_limit", "1");
    if (eval) {
        add_pair(names, values, "--eval_strategy", "steps");
        add_pair(names, values, "--eval_steps", eval);
    }
}

static void run_flags(const sg_plan *plan, const sg_plan_run *r, str_list *names, str_list *values) {
    const sg_jobspec *s = plan->spec;
    if (s->tokenizer) add_pair(names, values, "--tokenizer_name", s->tokenizer);
    if (r->pretrain) {
        pretrain_flags(s, names, values);
        return;
    }
    const sg_job_variant *v = &s->variants[r->variant];
    char buf[64];
#define PAIR(name, value) add_pair(names, values, name, value)
    PAIR("--task_name", r->task->name);
    PAIR("--data_dir", s->data_dir);
    PAIR("--overwrite_output_dir", NULL);
    snprintf(buf, sizeof buf, "%d", r->seed);
    PAIR("--seed", buf);
    if (r->transform) PAIR("--transform_config", r->transform);
    if (r->stages & SG_STAGE_FINETUNE) {
        /* eval each epoch, keep one checkpoint: what the sweep's runs report and resume from */
        PAIR("--do_train", NULL);
        PAIR("--do_eval", NULL);
        PAIR("--eval_strategy", "epoch");
        PAIR("--save_strategy", "epoch");
        PAIR("--save_total_limit", "1");
    } else if (r->stages & SG_STAGE_EVAL) {
        PAIR("--do_eval", NULL);
    }
    if (r->stages & SG_STAGE_PREDICT) PAIR("--do_predict", NULL);
    if (r->stages & SG_STAGE_CONVERT) PAIR("--convert_to_snn", NULL);
    if (r->stages & SG_STAGE_SNN_EVAL) PAIR("--snn_eval", NULL);
    for (int k = 0; k < SG_JOB_NFLAGS; k++) {
        if (!(v->flags.set & (1u << k))) continue;
        if (!strcmp(sg_job_flag_keys[k].section, "snn") && !(r->stages & SG_STAGE_CONVERT)) continue;
        char name[64];
        snprintf(name, sizeof name, "--%s", sg_job_flag_keys[k].flag);
        format_flag_value(k, v->flags.value[k], buf, sizeof buf);
        PAIR(name, buf);
    }
#undef PAIR
}

int sg_plan_output_dir(const char *run_dir, char *out, size_t cap) {
    int n = snprintf(out, cap, "%s/out", run_dir);
    return n < 0 || (size_t)n >= cap ? sg_fail("output dir of %s: path too long", run_dir) : 0;
}

int sg_plan_run_dir(const sg_plan *plan, int i, const char *results_root, char *out, size_t cap) {
    if (i < 0 || i >= plan->nruns) return sg_fail("run %d: no such run (plan has %d)", i, plan->nruns);
    int n = snprintf(out, cap, "%s/%s/runs/%s", results_root, plan->spec->name, plan->runs[i].id);
    return n < 0 || (size_t)n >= cap ? sg_fail("run dir under %s: path too long", results_root) : 0;
}

int sg_plan_run_argv(const sg_plan *plan, int i, const char *run_dir, const char *model_override, int *argc,
                     char ***argv) {
    *argc = 0;
    *argv = NULL;
    if (i < 0 || i >= plan->nruns) return sg_fail("run %d: no such run (plan has %d)", i, plan->nruns);
    const sg_plan_run *r = &plan->runs[i];
    if (r->dep >= 0 && !model_override)
        return sg_fail("run %s (%s/%d/%s) starts from run %s: give that run's output dir as the model", r->short_id,
                       r->task->name, r->seed, r->variant_name, plan->runs[r->dep].short_id);
    char out_dir[4200];
    if (sg_plan_output_dir(run_dir, out_dir, sizeof out_dir)) return -1;
    str_list names = {0}, values = {0}, args = {0};
    run_flags(plan, r, &names, &values);
    list_add(&args, r->pretrain ? "pretrain" : "run");
    list_add(&args, "--model_name_or_path");
    list_add(&args, model_override ? model_override : r->model);
    list_add(&args, "--output_dir");
    list_add(&args, out_dir);
    /* parallel: {dp: D}: the spec's batch is the global one, so each replica gets batch / D rows
     * (jobspec refuses a batch D does not divide). Launch details only: the id never sees them. */
    const sg_jobspec *spec = plan->spec;
    char share[32];
    int batch_given = 0;
    for (int k = 0; k < names.n && k < values.n; k++) {
        list_add(&args, names.v[k]);
        const char *value = values.v[k];
        if (spec->dp > 1 && !strcmp(names.v[k], "--per_device_train_batch_size")) {
            snprintf(share, sizeof share, "%lld", atoll(value) / spec->dp);
            value = share;
            batch_given = 1;
        }
        if (value[0]) list_add(&args, value);
    }
    if (spec->dp > 1) {
        char text[16];
        if (!batch_given && (r->stages & (SG_STAGE_FINETUNE | SG_STAGE_PRETRAIN))) {
            snprintf(share, sizeof share, "%d", SG_JOB_DEFAULT_BATCH / spec->dp);
            list_add(&args, "--per_device_train_batch_size");
            list_add(&args, share);
        }
        snprintf(text, sizeof text, "%d", spec->dp);
        list_add(&args, "--dp");
        list_add(&args, text);
    }
    if (spec->tp > 1) {
        char text[16];
        snprintf(text, sizeof text, "%d", spec->tp);
        list_add(&args, "--tp");
        list_add(&args, text);
    }
    int oom = names.oom || values.oom || args.oom;
    list_free(&names);
    list_free(&values);
    if (oom) return list_free(&args), sg_fail("out of memory");
    *argc = args.n;
    *argv = args.v;
    return 0;
}

void sg_plan_argv_free(int argc, char **argv) {
    if (!argv) return;
    for (int i = 0; i < argc; i++) free(argv[i]);
    free(argv);
}

/* ---- canonical config and id ---- */

static int cmp_items(const void *a, const void *b) {
    return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

/* Sort every object's keys (recursively), so the printed text depends on content only. */
static int sort_keys(cJSON *node) {
    int n = 0;
    for (cJSON *c = node->child; c; c = c->next) {
        if (sort_keys(c)) return -1;
        n++;
    }
    if (!cJSON_IsObject(node) || n < 2) return 0;
    cJSON **items = malloc((size_t)n * sizeof *items);
    if (!items) return -1;
    n = 0;
    while (node->child) items[n++] = cJSON_DetachItemViaPointer(node, node->child);
    qsort(items, (size_t)n, sizeof *items, cmp_items);
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(node, items[i]); /* keeps item->string */
    free(items);
    return 0;
}

/* path made absolute against the current directory, "." and ".." folded lexically (not through
 * symlinks), so the result is the same whether the folder exists yet or not (a sweep's synthetic
 * data is written after its plan is built). */
static int absolute_path(const char *path, char *out, size_t cap) {
    char joined[8192], cwd[4096];
    if (path[0] == '/') snprintf(joined, sizeof joined, "%s", path);
    else if (!getcwd(cwd, sizeof cwd)) return sg_fail("data_dir %s: cannot read the current directory: %s", path, strerror(errno));
    else snprintf(joined, sizeof joined, "%s/%s", cwd, path);
    size_t len = 0;
    char *save = NULL;
    out[0] = '\0';
    for (char *part = strtok_r(joined, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        if (!strcmp(part, ".")) continue;
        if (!strcmp(part, "..")) {
            char *slash = strrchr(out, '/');
            len = slash ? (size_t)(slash - out) : 0;
            out[len] = '\0';
            continue;
        }
        int w = snprintf(out + len, cap - len, "/%s", part);
        if (w < 0 || (size_t)w >= cap - len) return sg_fail("data_dir %s: the absolute path is too long", path);
        len += (size_t)w;
    }
    if (!len) snprintf(out, cap, "/");
    return 0;
}

/* A pretrain run's own entries: its kind, model and text (recorded absolute, as data_dir is). */
static int pretrain_config(const sg_plan *plan, const sg_plan_run *r, cJSON *c) {
    static const char *const paths[] = {"glue_dir", "train_file", "validation_file"};
    cJSON_AddStringToObject(c, "kind", "pretrain");
    cJSON_AddStringToObject(c, "model", r->model);
    cJSON_AddStringToObject(c, "tool", plan->version);
    cJSON *data = cJSON_AddObjectToObject(c, "text");
    for (size_t i = 0; data && i < sizeof paths / sizeof paths[0]; i++) {
        const char *value = sg_jobspec_pretrain_value(plan->spec, paths[i]);
        char abs[4096];
        if (!value) continue;
        if (absolute_path(value, abs, sizeof abs)) return -1;
        cJSON_AddStringToObject(data, paths[i], abs);
    }
    return data ? 0 : sg_fail("out of memory");
}

/* A GLUE run's entries (their set and names are what every existing id hashes). */
static int glue_config(const sg_plan *plan, const sg_plan_run *r, cJSON *c) {
    const sg_jobspec *s = plan->spec;
    const sg_job_variant *v = &s->variants[r->variant];
    cJSON_AddStringToObject(c, "task", r->task->name);
    cJSON_AddNumberToObject(c, "seed", r->seed);
    cJSON_AddStringToObject(c, "variant", r->variant_name);
    /* recorded absolute: a results file read elsewhere still says which data it came from */
    char data_dir[4096];
    if (absolute_path(s->data_dir, data_dir, sizeof data_dir)) return -1;
    cJSON_AddStringToObject(c, "data_dir", data_dir);
    cJSON_AddStringToObject(c, "model", r->model);
    cJSON_AddStringToObject(c, "tool", plan->version);
    if (r->dep >= 0) cJSON_AddStringToObject(c, "start_from", plan->runs[r->dep].id);
    else cJSON_AddNullToObject(c, "start_from");
    if (v->transform) {
        cJSON *t = cJSON_AddObjectToObject(c, "transform");
        if (t) {
            cJSON_AddStringToObject(t, "path", v->transform);
            cJSON_AddStringToObject(t, "sha256", v->transform_sha256);
        }
    } else {
        cJSON_AddNullToObject(c, "transform");
    }
    return 0;
}

static int make_config(const sg_plan *plan, sg_plan_run *r) {
    cJSON *c = cJSON_CreateObject();
    str_list names = {0}, values = {0};
    int rc = -1;
    if (!c) return sg_fail("out of memory");
    if (r->pretrain ? pretrain_config(plan, r, c) : glue_config(plan, r, c)) {
        cJSON_Delete(c);
        return -1;
    }
    cJSON *pipeline = cJSON_AddArrayToObject(c, "pipeline");
    for (int k = 0; k < SG_STAGE_COUNT && pipeline; k++)
        if (r->stages & (1u << k)) cJSON_AddItemToArray(pipeline, cJSON_CreateString(sg_stage_name(1u << k)));
    cJSON *flags = cJSON_AddObjectToObject(c, "flags");
    run_flags(plan, r, &names, &values);
    for (int k = 0; k < names.n && k < values.n && flags; k++) {
        if (values.v[k][0]) cJSON_AddStringToObject(flags, names.v[k], values.v[k]);
        else cJSON_AddTrueToObject(flags, names.v[k]);
    }
    if (!names.oom && !values.oom && flags && pipeline && sort_keys(c) == 0) {
        r->config = cJSON_PrintUnformatted(c);
        if (r->config) {
            sg_sha256 h;
            uint8_t digest[32];
            char hex[65];
            sg_sha256_init(&h);
            sg_sha256_update(&h, r->config, strlen(r->config));
            sg_sha256_final(&h, digest);
            sg_sha256_hex(digest, hex);
            memcpy(r->id, hex, 16);
            r->id[16] = '\0';
            memcpy(r->short_id, hex, 8);
            r->short_id[8] = '\0';
            rc = 0;
        }
    }
    list_free(&names);
    list_free(&values);
    cJSON_Delete(c);
    return rc ? sg_fail("out of memory") : 0;
}

/* ---- expansion ---- */

/* The pretrain run of a model, or -1. */
static int pretrain_run_of(const sg_plan *plan, const char *model) {
    for (int i = 0; i < plan->nruns && plan->runs[i].pretrain; i++)
        if (!strcmp(plan->runs[i].model, model)) return i;
    return -1;
}

static int filter_matches(const sg_job_filter *f, const sg_glue_task *task, int seed, int variant) {
    return (!f->task || f->task == task) && (f->variant < 0 || f->variant == variant) && (!f->has_seed || f->seed == seed);
}

/* Combination index of (task, seed, variant) in the full product. */
static long combo(const sg_jobspec *s, int t, int sd, int v) { return ((long)t * s->nseeds + sd) * s->nvariants + v; }

/* A max-heap of run indices by cost (ties: lower index first). */
typedef struct {
    int *v;
    int n;
    const sg_plan_run *runs;
} run_heap;

static int heap_before(const run_heap *h, int a, int b) {
    const sg_plan_run *ra = &h->runs[a], *rb = &h->runs[b];
    if (ra->cost != rb->cost) return ra->cost > rb->cost;
    if (ra->dependents != rb->dependents) return ra->dependents > rb->dependents; /* unlock more work first */
    return a < b;
}

static void heap_push(run_heap *h, int x) {
    int i = h->n++;
    h->v[i] = x;
    while (i > 0 && heap_before(h, h->v[i], h->v[(i - 1) / 2])) {
        int p = (i - 1) / 2, t = h->v[p];
        h->v[p] = h->v[i];
        h->v[i] = t;
        i = p;
    }
}

static int heap_pop(run_heap *h) {
    int top = h->v[0];
    h->v[0] = h->v[--h->n];
    for (int i = 0;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && heap_before(h, h->v[l], h->v[m])) m = l;
        if (r < h->n && heap_before(h, h->v[r], h->v[m])) m = r;
        if (m == i) break;
        int t = h->v[m];
        h->v[m] = h->v[i];
        h->v[i] = t;
        i = m;
    }
    return top;
}

/* Execution order: Kahn's algorithm, the most expensive ready run first. */
static int build_order(sg_plan *p) {
    int n = p->nruns;
    size_t cap = n > 0 ? (size_t)n : 1;
    /* children of run r: children[start[r] .. start[r + 1]) */
    int *start = calloc(cap + 1, sizeof *start), *fill = calloc(cap, sizeof *fill);
    int *children = malloc(cap * sizeof *children);
    run_heap h = {malloc(cap * sizeof(int)), 0, p->runs};
    p->order = malloc(cap * sizeof *p->order);
    int rc = 0;
    if (!start || !fill || !children || !h.v || !p->order) {
        rc = sg_fail("out of memory");
    } else {
        for (int i = 0; i < n; i++)
            if (p->runs[i].dep >= 0) start[p->runs[i].dep + 1]++;
        for (int i = 0; i < n; i++) start[i + 1] += start[i];
        for (int i = 0; i < n; i++)
            if (p->runs[i].dep >= 0) children[start[p->runs[i].dep] + fill[p->runs[i].dep]++] = i;
        for (int i = 0; i < n; i++)
            if (p->runs[i].dep < 0) heap_push(&h, i);
        int done = 0;
        while (h.n > 0) {
            int r = heap_pop(&h);
            p->order[done++] = r;
            for (int c = start[r]; c < start[r + 1]; c++) heap_push(&h, children[c]);
        }
        if (done != n) rc = sg_fail("%s: dependency cycle among runs", p->spec->path); /* the spec checks prevent it */
    }
    free(start);
    free(fill);
    free(children);
    free(h.v);
    return rc;
}

/* Which combinations run: include (plus what they start from), then exclude. keep[c] is 0, 1
 * (selected) or 2 (implied). */
static int select_runs(const sg_jobspec *s, unsigned char *keep) {
    for (int t = 0; t < s->ntasks; t++)
        for (int sd = 0; sd < s->nseeds; sd++)
            for (int v = 0; v < s->nvariants; v++) {
                int k = !s->has_include;
                for (int f = 0; f < s->ninclude && !k; f++) k = filter_matches(&s->include[f], s->tasks[t], s->seeds[sd], v);
                keep[combo(s, t, sd, v)] = (unsigned char)k;
            }
    for (int t = 0; t < s->ntasks; t++)
        for (int sd = 0; sd < s->nseeds; sd++)
            for (int v = 0; v < s->nvariants; v++) {
                if (keep[combo(s, t, sd, v)] != 1) continue;
                for (int d = s->variants[v].start_from; d >= 0; d = s->variants[d].start_from)
                    if (!keep[combo(s, t, sd, d)]) keep[combo(s, t, sd, d)] = 2;
            }
    for (int t = 0; t < s->ntasks; t++)
        for (int sd = 0; sd < s->nseeds; sd++)
            for (int v = 0; v < s->nvariants; v++)
                for (int f = 0; f < s->nexclude; f++)
                    if (filter_matches(&s->exclude[f], s->tasks[t], s->seeds[sd], v)) keep[combo(s, t, sd, v)] = 0;
    for (int t = 0; t < s->ntasks; t++)
        for (int sd = 0; sd < s->nseeds; sd++)
            for (int v = 0; v < s->nvariants; v++) {
                int d = s->variants[v].start_from;
                if (!keep[combo(s, t, sd, v)] || d < 0 || keep[combo(s, t, sd, d)]) continue;
                int line = 0;
                for (int f = 0; f < s->nexclude && !line; f++)
                    if (filter_matches(&s->exclude[f], s->tasks[t], s->seeds[sd], d)) line = s->exclude[f].line;
                return sg_fail("%s:%d: key 'exclude': removes run %s/%d/%s, which run %s/%d/%s starts from "
                               "(exclude that one too, or drop its start_from)",
                               s->path, line, s->tasks[t]->name, s->seeds[sd], s->variants[d].name, s->tasks[t]->name,
                               s->seeds[sd], s->variants[v].name);
            }
    return 0;
}

/* The distinct tasks, seeds and variants among the runs, and their total expected cost. */
static void count_runs(sg_plan *plan) {
    plan->ntasks = plan->nseeds = plan->nvariants = 0;
    plan->total_cost = 0;
    plan->npretrain = 0;
    for (int i = 0; i < plan->nruns; i++) {
        const sg_plan_run *r = &plan->runs[i];
        plan->total_cost += r->cost;
        if (r->pretrain) { /* not a GLUE task, seed or variant */
            plan->npretrain++;
            continue;
        }
        int new_task = 1, new_seed = 1, new_variant = 1;
        for (int j = 0; j < i; j++) {
            if (plan->runs[j].pretrain) continue;
            new_task &= plan->runs[j].task != r->task;
            new_seed &= plan->runs[j].seed != r->seed;
            new_variant &= plan->runs[j].variant != r->variant;
        }
        plan->ntasks += new_task;
        plan->nseeds += new_seed;
        plan->nvariants += new_variant;
    }
}

int sg_plan_build(const sg_jobspec *spec, const char *version, sg_plan *plan) {
    memset(plan, 0, sizeof *plan);
    plan->spec = spec;
    long total = (long)spec->ntasks * spec->nseeds * spec->nvariants;
    if (total <= 0) return sg_fail("%s: nothing to expand (no tasks, seeds or variants)", spec->path);
    if (total > MAX_RUNS) return sg_fail("%s: %ld runs is more than %d", spec->path, total, MAX_RUNS);
    unsigned char *keep = calloc((size_t)total, 1);
    int *index = malloc((size_t)total * sizeof *index);
    plan->version = strdup(version ? version : "");
    int rc = -1;
    if (!keep || !index || !plan->version) {
        sg_fail("out of memory");
        goto done;
    }
    if (select_runs(spec, keep)) goto done;
    long n = 0;
    for (long c = 0; c < total; c++) n += keep[c] != 0;
    if (n == 0) {
        sg_fail("%s: include/exclude leave no runs", spec->path);
        goto done;
    }
    /* one pretrain run per distinct model of the kept runs that start from it, first in the array */
    plan->runs = calloc((size_t)(n + n), sizeof *plan->runs); /* at most one pretrain run per GLUE run */
    if (!plan->runs) {
        sg_fail("out of memory");
        goto done;
    }
    char model[MODEL_MAX];
    for (int t = 0; t < spec->ntasks; t++)
        for (long c = combo(spec, t, 0, 0); c < combo(spec, t + 1, 0, 0); c++) {
            if (!keep[c] || !spec->variants[c % spec->nvariants].pretrain) continue;
            if (sg_jobspec_task_model(spec, spec->tasks[t], model, sizeof model)) goto done;
            if (pretrain_run_of(plan, model) >= 0) continue;
            sg_plan_run *r = &plan->runs[plan->nruns++];
            r->task = &PRETRAIN_TASK;
            r->variant_name = "pretrain";
            r->variant = -1;
            r->pretrain = 1;
            r->seed = sg_jobspec_pretrain_value(spec, "seed") ? atoi(sg_jobspec_pretrain_value(spec, "seed")) : 42;
            r->stages = SG_STAGE_PRETRAIN;
            r->dep = -1;
            r->model = strdup(model);
            if (!r->model) {
                sg_fail("out of memory");
                goto done;
            }
            r->cost = sg_plan_pretrain_cost(spec, model);
            plan->npretrain++;
        }
    for (int t = 0; t < spec->ntasks; t++)
        for (int sd = 0; sd < spec->nseeds; sd++)
            for (int v = 0; v < spec->nvariants; v++) {
                long c = combo(spec, t, sd, v);
                index[c] = -1;
                if (!keep[c]) continue;
                const sg_job_variant *var = &spec->variants[v];
                sg_plan_run *r = &plan->runs[plan->nruns];
                index[c] = plan->nruns++;
                r->task = spec->tasks[t];
                r->seed = spec->seeds[sd];
                r->variant = v;
                r->variant_name = var->name;
                r->transform = var->transform;
                r->level = var->level;
                r->implied = keep[c] == 2;
                r->stages = var->pipeline;
                r->dropped = var->dropped;
                r->dep = -1;
                if (sg_jobspec_task_model(spec, r->task, model, sizeof model)) goto done;
                r->model = strdup(model);
                if (!r->model) {
                    sg_fail("out of memory");
                    goto done;
                }
                r->cost = sg_plan_run_cost(r, var);
                if (var->pretrain) {
                    r->dep = pretrain_run_of(plan, r->model);
                    plan->ndeps++;
                }
            }
    /* dependencies: the variant's start_from for the same (task, seed); kept by select_runs */
    for (int t = 0; t < spec->ntasks; t++)
        for (int sd = 0; sd < spec->nseeds; sd++)
            for (int v = 0; v < spec->nvariants; v++) {
                long c = combo(spec, t, sd, v);
                int d = spec->variants[v].start_from;
                if (index[c] < 0 || d < 0) continue;
                plan->runs[index[c]].dep = index[combo(spec, t, sd, d)];
                plan->ndeps++;
            }
    for (int i = 0; i < plan->nruns; i++)
        for (int d = plan->runs[i].dep; d >= 0; d = plan->runs[d].dep) plan->runs[d].dependents++;
    if (build_order(plan)) goto done;
    /* ids in execution order: a run's config names the id of the run it starts from */
    for (int k = 0; k < plan->nruns; k++)
        if (make_config(plan, &plan->runs[plan->order[k]])) goto done;
    for (int i = 0; i < plan->nruns; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(plan->runs[i].id, plan->runs[j].id)) {
                sg_fail("%s: runs %s/%d/%s and %s/%d/%s have the same id %s", spec->path, plan->runs[j].task->name,
                        plan->runs[j].seed, plan->runs[j].variant_name, plan->runs[i].task->name, plan->runs[i].seed,
                        plan->runs[i].variant_name, plan->runs[i].id);
                goto done;
            }
    count_runs(plan);
    rc = 0;
done:
    free(keep);
    free(index);
    if (rc) sg_plan_free(plan);
    return rc;
}

void sg_plan_free(sg_plan *plan) {
    if (!plan) return;
    for (int i = 0; i < plan->nruns; i++) {
        free(plan->runs[i].model);
        free(plan->runs[i].config);
    }
    free(plan->runs);
    free(plan->order);
    free(plan->version);
    memset(plan, 0, sizeof *plan);
}

cJSON *sg_plan_to_json(const sg_plan *plan) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    cJSON_AddStringToObject(root, "name", plan->spec->name);
    cJSON_AddStringToObject(root, "spec", plan->spec->path);
    cJSON_AddStringToObject(root, "version", plan->version);
    cJSON_AddNumberToObject(root, "dp", plan->spec->dp);
    cJSON_AddNumberToObject(root, "tp", plan->spec->tp);
    cJSON *runs = cJSON_AddArrayToObject(root, "runs");
    if (!runs) return cJSON_Delete(root), NULL;
    char buf[128];
    for (int k = 0; k < plan->nruns; k++) {
        const sg_plan_run *r = &plan->runs[plan->order[k]];
        cJSON *o = cJSON_CreateObject();
        if (!o) return cJSON_Delete(root), NULL;
        cJSON_AddItemToArray(runs, o);
        cJSON_AddStringToObject(o, "id", r->id);
        cJSON_AddStringToObject(o, "task", r->task->name);
        cJSON_AddNumberToObject(o, "seed", r->seed);
        cJSON_AddStringToObject(o, "variant", r->variant_name);
        if (r->pretrain) cJSON_AddStringToObject(o, "kind", "pretrain");
        cJSON_AddNumberToObject(o, "level", r->level);
        if (r->dep >= 0) cJSON_AddStringToObject(o, "depends_on", plan->runs[r->dep].id);
        else cJSON_AddNullToObject(o, "depends_on");
        cJSON_AddBoolToObject(o, "implied", r->implied);
        cJSON_AddNumberToObject(o, "dependents", r->dependents);
        cJSON_AddStringToObject(o, "stages", sg_stages_format(r->stages, buf, sizeof buf));
        cJSON_AddStringToObject(o, "dropped", sg_stages_format(r->dropped, buf, sizeof buf));
        cJSON_AddNumberToObject(o, "cost", r->cost);
        cJSON *cfg = cJSON_Parse(r->config);
        if (!cfg) return cJSON_Delete(root), NULL;
        cJSON_AddItemToObject(o, "config", cfg);
    }
    return root;
}

/* ---- slices ---- */

static int group_root(const sg_plan *plan, int i) {
    while (plan->runs[i].dep >= 0) i = plan->runs[i].dep;
    return i;
}

int sg_plan_groups(const sg_plan *plan) {
    int n = 0;
    for (int i = 0; i < plan->nruns; i++) n += plan->runs[i].dep < 0;
    return n;
}

typedef struct {
    int root;
    double cost;
} plan_group;

static int group_before(const void *a, const void *b) {
    const plan_group *x = a, *y = b;
    if (x->cost != y->cost) return x->cost > y->cost ? -1 : 1;
    return (x->root > y->root) - (x->root < y->root);
}

int sg_plan_slice_map(const sg_plan *plan, int nslices, int *slice_of) {
    if (nslices < 1) return sg_fail("slices: expected at least 1, not %d", nslices);
    int n = plan->nruns, ngroups = 0;
    plan_group *groups = malloc((size_t)(n > 0 ? n : 1) * sizeof *groups);
    int *group_of_root = malloc((size_t)(n > 0 ? n : 1) * sizeof *group_of_root);
    double *load = calloc((size_t)nslices, sizeof *load);
    if (!groups || !group_of_root || !load) {
        free(groups);
        free(group_of_root);
        free(load);
        return sg_fail("out of memory");
    }
    for (int i = 0; i < n; i++)
        if (plan->runs[i].dep < 0) {
            group_of_root[i] = ngroups;
            groups[ngroups++] = (plan_group){i, 0};
        }
    for (int i = 0; i < n; i++) groups[group_of_root[group_root(plan, i)]].cost += plan->runs[i].cost;
    qsort(groups, (size_t)ngroups, sizeof *groups, group_before);
    for (int g = 0; g < ngroups; g++) {
        int best = 0;
        for (int k = 1; k < nslices; k++)
            if (load[k] < load[best]) best = k;
        load[best] += groups[g].cost;
        group_of_root[groups[g].root] = best;
    }
    for (int i = 0; i < n; i++) slice_of[i] = group_of_root[group_root(plan, i)];
    free(groups);
    free(group_of_root);
    free(load);
    return 0;
}

int sg_plan_slice(sg_plan *plan, int k, int n) {
    if (n < 1 || k < 1 || k > n) return sg_fail("slice %d/%d: expected K/N with 1 <= K <= N", k, n);
    int groups = sg_plan_groups(plan);
    if (n > groups)
        return sg_fail("slice %d/%d: %s has only %d dependency group%s (a run and the runs that start from it stay "
                       "together), so at most %d slices",
                       k, n, plan->spec->path, groups, groups == 1 ? "" : "s", groups);
    int *slice_of = malloc((size_t)plan->nruns * sizeof *slice_of), *remap = malloc((size_t)plan->nruns * sizeof *remap);
    if (!slice_of || !remap || sg_plan_slice_map(plan, n, slice_of)) {
        free(slice_of);
        free(remap);
        return sg_last_error()[0] ? -1 : sg_fail("out of memory");
    }
    int kept = 0;
    for (int i = 0; i < plan->nruns; i++) {
        if (slice_of[i] != k - 1) {
            remap[i] = -1;
            free(plan->runs[i].model);
            free(plan->runs[i].config);
            continue;
        }
        remap[i] = kept;
        plan->runs[kept++] = plan->runs[i];
    }
    int norder = 0;
    for (int j = 0; j < plan->nruns; j++)
        if (remap[plan->order[j]] >= 0) plan->order[norder++] = remap[plan->order[j]];
    plan->nruns = kept;
    plan->ndeps = 0;
    for (int i = 0; i < kept; i++) {
        sg_plan_run *r = &plan->runs[i];
        if (r->dep >= 0) { /* a group is kept whole, so its dependency is here too */
            r->dep = remap[r->dep];
            plan->ndeps++;
        }
    }
    count_runs(plan);
    free(slice_of);
    free(remap);
    return 0;
}


