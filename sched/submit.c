#include "sched/submit.h"

#include "core/error.h"
#include "core/fileio.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_SIGNAL 300
#define MAX_SIGNAL 65535 /* --signal's limit */

/* ---- settings ---- */

int sg_slurm_time_seconds(const char *text, long *secs) {
    *secs = 0;
    if (!strcmp(text, "UNLIMITED") || !strcmp(text, "unlimited") || !strcmp(text, "infinite") || !strcmp(text, "INFINITE"))
        return 0;
    long days = 0, f[3];
    int nf = 0;
    const char *p = text, *dash = strchr(text, '-');
    if (dash) {
        char *end;
        days = strtol(text, &end, 10);
        if (end != dash || dash == text) return sg_fail("'%s': expected D-HH[:MM[:SS]]", text);
        p = dash + 1;
    }
    while (*p) {
        if (!isdigit((unsigned char)*p) || nf == 3) return sg_fail("'%s': expected MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS", text);
        char *end;
        f[nf++] = strtol(p, &end, 10);
        p = end;
        if (*p == ':' && p[1]) p++;
        else if (*p) return sg_fail("'%s': expected MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS", text);
    }
    if (nf == 0) return sg_fail("'%s': empty", text);
    if (dash) { /* D-HH, D-HH:MM, D-HH:MM:SS */
        long h = f[0], m = nf > 1 ? f[1] : 0, s = nf > 2 ? f[2] : 0;
        *secs = ((days * 24 + h) * 60 + m) * 60 + s;
    } else if (nf == 1) { /* minutes */
        *secs = f[0] * 60;
    } else if (nf == 2) { /* MM:SS */
        *secs = f[0] * 60 + f[1];
    } else {
        *secs = (f[0] * 60 + f[1]) * 60 + f[2];
    }
    if (*secs <= 0) return sg_fail("'%s': must be more than 0", text);
    return 0;
}

/* A value safe on an #SBATCH line and in the shell: no spaces, quotes or control characters. */
static int plain_word(const char *s) {
    if (!*s) return 0;
    for (const char *p = s; *p; p++)
        if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p) || strchr("'\"`$\\;&|<>()", *p)) return 0;
    return 1;
}

typedef struct {
    const char *spec;
    const cJSON *slurm;
} section;

static const cJSON *entry(const section *sec, const char *key) {
    return sec->slurm ? cJSON_GetObjectItemCaseSensitive(sec->slurm, key) : NULL;
}

/* An integer >= min from flags (when > 0) or the section; else *out unchanged. */
static int read_int(const section *sec, const char *key, int flag, int min, int *out) {
    if (flag > 0) { /* given on the command line (cmd_submit refuses values below 1) */
        if (flag < min) return sg_fail("--%s %d: expected an integer >= %d", key, flag, min);
        *out = flag;
        return 0;
    }
    const cJSON *v = entry(sec, key);
    if (!v) return 0;
    double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
    if (!(d == floor(d)) || d < min || d > 1e9)
        return sg_fail("%s: key 'slurm.%s': expected an integer >= %d, not %s", sec->spec, key, min,
                       cJSON_IsString(v) ? v->valuestring : cJSON_IsNumber(v) ? "a fraction" : "a list or mapping");
    *out = (int)d;
    return 0;
}

/* A word (string, or a number written as it was) from flags or the section; *out NULL if neither. */
static int read_word(const section *sec, const char *key, const char *flag, char **out) {
    char buf[64];
    const char *text = flag;
    if (!text) {
        const cJSON *v = entry(sec, key);
        if (!v) return 0;
        if (cJSON_IsString(v)) {
            text = v->valuestring;
        } else if (cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) && fabs(v->valuedouble) < 1e15) {
            snprintf(buf, sizeof buf, "%.0f", v->valuedouble);
            text = buf;
        } else {
            return sg_fail("%s: key 'slurm.%s': expected a word", sec->spec, key);
        }
        if (!plain_word(text)) return sg_fail("%s: key 'slurm.%s': '%s' has spaces, quotes or shell characters", sec->spec, key, text);
    } else if (!plain_word(text)) {
        return sg_fail("--%s '%s': has spaces, quotes or shell characters", key, text);
    }
    *out = strdup(text);
    return *out ? 0 : sg_fail("out of memory");
}

/* A string or list of strings (no newlines) into a new array. */
static int read_lines(const section *sec, const char *key, int want_option, char ***out, int *n) {
    const cJSON *v = entry(sec, key);
    *out = NULL;
    *n = 0;
    if (!v) return 0;
    int count = cJSON_IsString(v) ? 1 : cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
    if (count < 0) return sg_fail("%s: key 'slurm.%s': expected a string or a list of strings", sec->spec, key);
    *out = calloc((size_t)count + 1, sizeof **out);
    if (!*out) return sg_fail("out of memory");
    for (int i = 0; i < count; i++) {
        const cJSON *item = cJSON_IsString(v) ? v : cJSON_GetArrayItem(v, i);
        if (!cJSON_IsString(item)) return sg_fail("%s: key 'slurm.%s[%d]': expected a string", sec->spec, key, i);
        const char *s = item->valuestring;
        if (strchr(s, '\n') || strchr(s, '\r') || !*s) return sg_fail("%s: key 'slurm.%s[%d]': must be one non-empty line", sec->spec, key, i);
        if (want_option && (s[0] != '-' || strchr(s, ' ')))
            return sg_fail("%s: key 'slurm.%s[%d]': '%s' is not an sbatch option (like --mem=8G)", sec->spec, key, i, s);
        (*out)[i] = strdup(s);
        if (!(*out)[i]) return sg_fail("out of memory");
        (*n)++;
    }
    return 0;
}

static void free_lines(char **v, int n) {
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

void sg_submit_settings_free(sg_submit_settings *s) {
    free(s->time);
    free(s->partition);
    free(s->account);
    free(s->mpi);
    free_lines(s->sbatch, s->nsbatch);
    free_lines(s->setup, s->nsetup);
    memset(s, 0, sizeof *s);
}

/* ntasks and nodes from the run groups (see sg_submit_settings in submit.h); out->nodes is 0 when
 * neither --nodes nor slurm.nodes gave it. */
static int size_allocation(const sg_jobspec *spec, const sg_submit_flags *flags, sg_submit_settings *out) {
    int G = (spec->dp > 0 ? spec->dp : 1) * (spec->tp > 0 ? spec->tp : 1), per_node = out->ntasks_per_node;
    const char *nodes_key = flags->nodes > 0 ? "--nodes" : "slurm.nodes", *groups_key = flags->groups > 0 ? "--groups" : "slurm.groups";
    out->group_size = G;
    if (out->groups == 0) {
        /* as many as the nodes hold: the given ones, else one node (the allocation before groups) */
        long long fits = (long long)(out->nodes > 0 ? out->nodes : 1) * per_node / G;
        if (fits < 1 && out->nodes == 0) fits = 1; /* nodes follow from the one group */
        if (fits < 1)
            return sg_fail("%s: %s %d x ntasks_per_node %d = %lld tasks cannot hold one run group of dp %d x tp %d = %d ranks (raise "
                           "them, or drop %s: it follows from the groups)",
                           spec->path, nodes_key, out->nodes, per_node, (long long)out->nodes * per_node, spec->dp, spec->tp, G, nodes_key);
        out->groups = fits > 1000000 ? 1000000 : (int)fits;
    }
    long long ntasks = (long long)out->groups * G;
    if (ntasks > 1000000) return sg_fail("%s: %s %d x %d ranks per run group: more than 1000000 tasks", spec->path, groups_key, out->groups, G);
    out->ntasks = (int)ntasks;
    int need = (int)((ntasks + per_node - 1) / per_node);
    if (out->nodes > 0 && (long long)out->nodes * per_node < ntasks)
        return sg_fail("%s: %s %d x dp %d x tp %d = %lld tasks do not fit %s %d x ntasks_per_node %d (give %d nodes, or drop %s)", spec->path,
                       groups_key, out->groups, spec->dp, spec->tp, ntasks, nodes_key, out->nodes, per_node, need, nodes_key);
    if (out->nodes == 0) out->nodes = need;
    return 0;
}

int sg_submit_settings_resolve(const sg_jobspec *spec, const sg_submit_flags *flags, sg_submit_settings *out) {
    memset(out, 0, sizeof *out);
    out->ntasks_per_node = out->cpus_per_task = 1; /* nodes: 0 = not given, sized below */
    section sec = {spec->path, spec->slurm};
    if (spec->slurm && !cJSON_IsObject(spec->slurm)) return sg_fail("%s: key 'slurm': expected a mapping", spec->path);
    int signal = 0;
    int rc = read_int(&sec, "nodes", flags->nodes, 1, &out->nodes) || read_int(&sec, "ntasks_per_node", flags->ntasks_per_node, 1, &out->ntasks_per_node) ||
             read_int(&sec, "groups", flags->groups, 1, &out->groups) ||
             read_int(&sec, "cpus_per_task", flags->cpus_per_task, 1, &out->cpus_per_task) ||
             read_int(&sec, "array_throttle", flags->array_throttle, 1, &out->array_throttle) ||
             read_int(&sec, "slices", flags->slices, 1, &out->slices) ||
             read_int(&sec, "max_array_size", flags->max_array_size, 1, &out->max_array_size) ||
             read_int(&sec, "signal", flags->signal_secs, 1, &signal) || read_word(&sec, "time", flags->time, &out->time) ||
             read_word(&sec, "partition", flags->partition, &out->partition) ||
             read_word(&sec, "account", flags->account, &out->account) || read_word(&sec, "mpi", NULL, &out->mpi) ||
             read_lines(&sec, "sbatch", 1, &out->sbatch, &out->nsbatch) || read_lines(&sec, "setup", 0, &out->setup, &out->nsetup);
    if (rc || size_allocation(spec, flags, out)) return sg_submit_settings_free(out), -1;
    if (!out->mpi && !(out->mpi = strdup("pmix"))) return sg_submit_settings_free(out), sg_fail("out of memory");
    if (flags->array >= 0) {
        out->array = flags->array;
    } else if (entry(&sec, "array")) {
        const cJSON *v = entry(&sec, "array");
        if (!cJSON_IsBool(v)) return sg_submit_settings_free(out), sg_fail("%s: key 'slurm.array': expected true or false", spec->path);
        out->array = cJSON_IsTrue(v);
    }
    if (entry(&sec, "exclusive")) {
        const cJSON *v = entry(&sec, "exclusive");
        if (!cJSON_IsBool(v)) return sg_submit_settings_free(out), sg_fail("%s: key 'slurm.exclusive': expected true or false", spec->path);
        out->exclusive = cJSON_IsTrue(v);
    }
    if (out->time && sg_slurm_time_seconds(out->time, &out->time_secs)) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", sg_last_error());
        sg_submit_settings_free(out);
        return flags->time ? sg_fail("--time %s", msg) : sg_fail("%s: key 'slurm.time': %s", spec->path, msg);
    }
    if (signal > MAX_SIGNAL) return sg_submit_settings_free(out), sg_fail("signal %d s: SLURM allows at most %d", signal, MAX_SIGNAL);
    if (signal) {
        if (out->time_secs && signal >= out->time_secs) {
            sg_fail("signal %d s: must come before the time limit %s (%ld s)", signal, out->time, out->time_secs);
            sg_submit_settings_free(out);
            return -1;
        }
        out->signal_secs = signal;
    } else if (out->time_secs) { /* a tenth of the limit, 10 s to 5 min */
        long s = out->time_secs / 10;
        out->signal_secs = (int)(s < 10 ? 10 : s > DEFAULT_SIGNAL ? DEFAULT_SIGNAL : s);
        if (out->signal_secs >= out->time_secs) out->signal_secs = (int)(out->time_secs / 2 > 0 ? out->time_secs / 2 : 1);
    } else {
        out->signal_secs = DEFAULT_SIGNAL;
    }
    return 0;
}

/* ---- rendering ---- */

typedef struct {
    char *text;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_add(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->text, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->text = p;
        b->cap = cap;
    }
    memcpy(b->text + b->len, s, n);
    b->len += n;
    b->text[b->len] = '\0';
}

static void sb_printf(sbuf *b, const char *fmt, ...) SG_PRINTF(2, 3);
static void sb_printf(sbuf *b, const char *fmt, ...) {
    char tmp[8192];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= (int)sizeof tmp) {
        b->oom = 1;
        return;
    }
    sb_add(b, tmp, (size_t)n);
}

/* Shell-quoted (as sched/cmd_plan_print.c shows arguments): plain words stay as they are. */
static void sb_quoted(sbuf *b, const char *s) {
    int plain = *s != '\0';
    for (const char *p = s; *p && plain; p++) plain = strchr("_./:=,+-@%", *p) || isalnum((unsigned char)*p);
    if (plain) {
        sb_add(b, s, strlen(s));
        return;
    }
    sb_add(b, "'", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '\'') sb_add(b, "'\\''", 4);
        else sb_add(b, p, 1);
    }
    sb_add(b, "'", 1);
}

typedef struct {
    const char *name;
    const char *value;
} var;

/* Fill a template: {{NAME}} from vars; a line that is only {{SBATCH_OPTIONS}} or {{SETUP}}
 * takes the (possibly empty) block. */
static int render(const char *tmpl, const var *vars, int nvars, const char *options, const char *setup, char **out) {
    sbuf b = {0};
    for (const char *line = tmpl; *line;) {
        const char *eol = strchr(line, '\n');
        size_t n = eol ? (size_t)(eol - line) + 1 : strlen(line);
        if (!strncmp(line, "{{SBATCH_OPTIONS}}\n", n) && n == strlen("{{SBATCH_OPTIONS}}\n")) {
            sb_add(&b, options, strlen(options));
        } else if (!strncmp(line, "{{SETUP}}\n", n) && n == strlen("{{SETUP}}\n")) {
            sb_add(&b, setup, strlen(setup));
        } else {
            for (const char *p = line; p < line + n;) {
                const char *open = strstr(p, "{{");
                if (!open || open >= line + n) {
                    sb_add(&b, p, (size_t)(line + n - p));
                    break;
                }
                sb_add(&b, p, (size_t)(open - p));
                const char *close = strstr(open, "}}");
                int found = 0;
                for (int v = 0; v < nvars && close; v++)
                    if (strlen(vars[v].name) == (size_t)(close - open - 2) && !strncmp(open + 2, vars[v].name, strlen(vars[v].name))) {
                        sb_add(&b, vars[v].value, strlen(vars[v].value));
                        found = 1;
                    }
                if (!found) {
                    free(b.text);
                    return sg_fail("slurm template: unknown placeholder %.40s", open);
                }
                p = close + 2;
            }
        }
        line += n;
    }
    if (b.oom) return free(b.text), sg_fail("out of memory");
    *out = b.text;
    return 0;
}

static char *quoted(const char *s) {
    sbuf b = {0};
    sb_quoted(&b, s);
    if (b.oom) return free(b.text), NULL;
    return b.text;
}

void sg_submit_batch_free(sg_submit_batch *b) {
    for (int i = 0; i < b->nscripts; i++) {
        free(b->scripts[i].role);
        free(b->scripts[i].path);
        free(b->scripts[i].text);
        free(b->scripts[i].after);
    }
    free(b->scripts);
    free(b->sweep_dir);
    free(b->slurm_dir);
    memset(b, 0, sizeof *b);
}

static int path_for_sbatch(const char *what, const char *path) {
    for (const char *p = path; *p; p++)
        if (isspace((unsigned char)*p) || *p == '%' || *p == '"' || *p == '\'' || iscntrl((unsigned char)*p))
            return sg_fail("%s '%s': SLURM options cannot hold spaces, quotes or '%%' (choose another directory)", what, path);
    return 0;
}

/* The allocation lines: the job's own, or the merge job's one task. */
static void options_block(sbuf *b, const sg_submit_settings *s, int merge) {
    if (merge) {
        sb_printf(b, "#SBATCH --nodes=1\n#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n");
    } else {
        sb_printf(b, "#SBATCH --nodes=%d\n#SBATCH --ntasks=%d\n#SBATCH --ntasks-per-node=%d\n#SBATCH --cpus-per-task=%d\n", s->nodes,
                  s->ntasks, s->ntasks_per_node, s->cpus_per_task);
    }
    if (s->time) sb_printf(b, "#SBATCH --time=%s\n", s->time);
    if (s->partition) sb_printf(b, "#SBATCH --partition=%s\n", s->partition);
    if (s->account) sb_printf(b, "#SBATCH --account=%s\n", s->account);
    if (s->exclusive && !merge) sb_printf(b, "#SBATCH --exclusive\n");
    for (int i = 0; i < s->nsbatch; i++) sb_printf(b, "#SBATCH %s\n", s->sbatch[i]);
}

static sg_submit_script *add_script(sg_submit_batch *b, const char *role, const char *file) {
    sg_submit_script *p = realloc(b->scripts, (size_t)(b->nscripts + 1) * sizeof *p);
    if (!p) return NULL;
    b->scripts = p;
    sg_submit_script *s = &b->scripts[b->nscripts];
    memset(s, 0, sizeof *s);
    s->role = strdup(role);
    size_t n = strlen(b->slurm_dir) + strlen(file) + 2;
    s->path = malloc(n);
    if (s->path) snprintf(s->path, n, "%s/%s", b->slurm_dir, file);
    b->nscripts++;
    return s->role && s->path ? s : NULL;
}

int sg_submit_build(const sg_plan *plan, const sg_submit_settings *set, const sg_submit_paths *paths, sg_submit_batch *out) {
    memset(out, 0, sizeof *out);
    const sg_jobspec *spec = plan->spec;
    out->array = set->array;
    out->nruns = plan->nruns;
    out->ntasks = set->ntasks;
    out->run_groups = set->groups;
    out->run_group_size = set->group_size;
    out->groups = sg_plan_groups(plan);
    size_t n = strlen(paths->results) + strlen(spec->name) + 16;
    out->sweep_dir = malloc(n);
    out->slurm_dir = malloc(n + 8);
    if (!out->sweep_dir || !out->slurm_dir) return sg_submit_batch_free(out), sg_fail("out of memory");
    snprintf(out->sweep_dir, n, "%s/%s", paths->results, spec->name);
    snprintf(out->slurm_dir, n + 8, "%s/slurm", out->sweep_dir);
    if (path_for_sbatch("--chdir", paths->workdir) || path_for_sbatch("--output", out->slurm_dir))
        return sg_submit_batch_free(out), -1;
    if (paths->workdir[0] != '/') return sg_submit_batch_free(out), sg_fail("workdir '%s': must be absolute", paths->workdir);

    char *q_exe = quoted(paths->exe), *q_job = quoted(paths->spec_path), *q_results = quoted(paths->results);
    size_t sn = strlen(out->sweep_dir) + 16;
    char *slice_dir = malloc(sn);
    if (slice_dir) snprintf(slice_dir, sn, "%s/slices", out->sweep_dir);
    char *q_slices = slice_dir ? quoted(slice_dir) : NULL;
    sbuf opts = {0}, merge_opts = {0}, setup = {0};
    options_block(&opts, set, 0);
    options_block(&merge_opts, set, 1);
    for (int i = 0; i < set->nsetup; i++) sb_printf(&setup, "%s\n", set->setup[i]);
    char job_name[256], signal[16], nslices_text[16], plan_text[256];
    snprintf(job_name, sizeof job_name, "sg-%s", spec->name);
    snprintf(signal, sizeof signal, "%d", set->signal_secs);
    int rc = 0;
    if (!q_exe || !q_job || !q_results || !q_slices || opts.oom || merge_opts.oom || setup.oom) {
        rc = sg_fail("out of memory");
        goto done;
    }
    const char *setup_text = setup.text ? setup.text : "";
    if (!set->array) {
        snprintf(plan_text, sizeof plan_text, "%d runs", plan->nruns);
        var vars[] = {{"NAME", spec->name},      {"PLAN", plan_text},          {"JOB_NAME", job_name},
                      {"WORKDIR", paths->workdir}, {"LOG_DIR", out->slurm_dir}, {"SIGNAL_SECS", signal},
                      {"MPI", set->mpi},          {"SPIKEGLUE", q_exe},         {"JOB", q_job},
                      {"RESULTS", q_results}};
        sg_submit_script *s = add_script(out, "sweep", "sweep.sbatch");
        if (!s) rc = sg_fail("out of memory");
        else rc = render(sg_slurm_template_mpi, vars, (int)(sizeof vars / sizeof vars[0]), opts.text, setup_text, &s->text);
        goto done;
    }
    if (set->max_array_size < 1) {
        rc = sg_fail("the array form needs MaxArraySize (scontrol show config, or --max-array-size)");
        goto done;
    }
    int nslices = set->slices > 0 ? set->slices : out->groups;
    if (nslices > out->groups) nslices = out->groups; /* a slice is at least one dependency group */
    out->nslices = nslices;
    out->narrays = (nslices + set->max_array_size - 1) / set->max_array_size;
    snprintf(nslices_text, sizeof nslices_text, "%d", nslices);
    snprintf(plan_text, sizeof plan_text, "%d runs in %d slices", plan->nruns, nslices);
    for (int a = 0; a < out->narrays && !rc; a++) {
        int first = a * set->max_array_size + 1;
        int count = nslices - (first - 1) < set->max_array_size ? nslices - (first - 1) : set->max_array_size;
        char file[64], array[64], base[16];
        if (out->narrays == 1) snprintf(file, sizeof file, "array.sbatch");
        else snprintf(file, sizeof file, "array-%d.sbatch", a + 1);
        if (set->array_throttle > 0) snprintf(array, sizeof array, "0-%d%%%d", count - 1, set->array_throttle);
        else snprintf(array, sizeof array, "0-%d", count - 1);
        snprintf(base, sizeof base, "%d", first);
        var vars[] = {{"NAME", spec->name},        {"PLAN", plan_text},     {"JOB_NAME", job_name},
                      {"WORKDIR", paths->workdir}, {"LOG_DIR", out->slurm_dir}, {"SIGNAL_SECS", signal},
                      {"MPI", set->mpi},           {"SPIKEGLUE", q_exe},    {"JOB", q_job},
                      {"SLICES", nslices_text},    {"SLICE_BASE", base},    {"SLICE_DIR", q_slices},
                      {"ARRAY", array}};
        sg_submit_script *s = add_script(out, "array", file);
        if (!s) {
            rc = sg_fail("out of memory");
            break;
        }
        s->first_slice = first;
        s->nslices = count;
        if (set->array_throttle > 0 && a > 0) { /* one array at a time keeps the throttle for the whole sweep */
            s->after = malloc(sizeof(int));
            if (!s->after) {
                rc = sg_fail("out of memory");
                break;
            }
            s->after[0] = a - 1;
            s->nafter = 1;
        }
        rc = render(sg_slurm_template_array, vars, (int)(sizeof vars / sizeof vars[0]), opts.text, setup_text, &s->text);
    }
    if (!rc) {
        var vars[] = {{"NAME", spec->name},        {"JOB_NAME", job_name},     {"WORKDIR", paths->workdir},
                      {"LOG_DIR", out->slurm_dir}, {"SPIKEGLUE", q_exe},       {"JOB", q_job},
                      {"RESULTS", q_results},      {"SLICES", nslices_text},   {"SLICE_DIR", q_slices},
                      {"SWEEP_DIR", out->sweep_dir}};
        sg_submit_script *s = add_script(out, "merge", "merge.sbatch");
        if (!s || !(s->after = malloc((size_t)out->narrays * sizeof(int)))) {
            rc = sg_fail("out of memory");
        } else {
            for (int a = 0; a < out->narrays; a++) s->after[s->nafter++] = a;
            rc = render(sg_slurm_template_merge, vars, (int)(sizeof vars / sizeof vars[0]), merge_opts.text, setup_text, &s->text);
        }
    }
done:
    free(q_exe);
    free(q_job);
    free(q_results);
    free(q_slices);
    free(slice_dir);
    free(opts.text);
    free(merge_opts.text);
    free(setup.text);
    if (rc) sg_submit_batch_free(out);
    return rc;
}

int sg_submit_sbatch_args(const sg_submit_batch *b, int i, char *const *job_ids, char *buf, size_t cap) {
    sbuf s = {0};
    sb_printf(&s, "--parsable");
    const sg_submit_script *sc = &b->scripts[i];
    for (int k = 0; k < sc->nafter; k++) {
        sb_printf(&s, "%s", k ? ":" : " --dependency=afterany:");
        if (job_ids && job_ids[sc->after[k]]) sb_printf(&s, "%s", job_ids[sc->after[k]]);
        else sb_printf(&s, "<job %d>", sc->after[k] + 1);
    }
    int rc = s.oom || s.len >= cap ? sg_fail("sbatch arguments too long") : 0;
    if (!rc) memcpy(buf, s.text, s.len + 1);
    free(s.text);
    return rc;
}

int sg_submit_print(const sg_submit_batch *b, FILE *f) {
    if (!b->array)
        fprintf(f, "# %d runs as one MPI job (sbatch, then srun over all its tasks)\n", b->nruns);
    if (b->run_group_size > 1)
        fprintf(f, "# %s%d tasks: %d run groups of %d ranks in flight%s\n", b->array ? "each array task " : "", b->ntasks, b->run_groups,
                b->run_group_size, " (parallel: {dp, tp}; each run a job step of its group: docs/scaling.md)");
    if (b->array)
        fprintf(f, "# %d runs in %d slice%s (of %d dependency group%s) as %d job array%s, then a merge job\n", b->nruns,
                b->nslices, b->nslices == 1 ? "" : "s", b->groups, b->groups == 1 ? "" : "s", b->narrays,
                b->narrays == 1 ? "" : "s");
    for (int i = 0; i < b->nscripts; i++) {
        char args[512];
        if (sg_submit_sbatch_args(b, i, NULL, args, sizeof args)) return -1;
        fprintf(f, "# ---- job %d: %s\n# submit: sbatch %s %s\n%s", i + 1, b->scripts[i].path, args, b->scripts[i].path,
                b->scripts[i].text);
    }
    return ferror(f) ? sg_fail("writing the scripts: output error") : 0;
}

int sg_submit_record(const sg_submit_batch *b, const char *spec_path, char *const *job_ids) {
    char path[4200];
    snprintf(path, sizeof path, "%s/slurm_jobs.json", b->sweep_dir);
    cJSON *root = NULL;
    if (sg_is_file(path)) {
        size_t len;
        char *text = sg_read_file(path, 1 << 26, &len);
        if (!text) return -1;
        root = cJSON_Parse(text);
        free(text);
        if (!root || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "submissions"))) {
            cJSON_Delete(root);
            return sg_fail("%s: not a list of submissions (move it away to record new ones)", path);
        }
    } else {
        root = cJSON_CreateObject();
        if (!root || !cJSON_AddArrayToObject(root, "submissions")) return cJSON_Delete(root), sg_fail("out of memory");
    }
    cJSON *list = cJSON_GetObjectItemCaseSensitive(root, "submissions"), *sub = cJSON_CreateObject(), *jobs = NULL;
    char when[64];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%S%z", localtime_r(&now, &tm));
    if (sub) {
        cJSON_AddItemToArray(list, sub);
        cJSON_AddStringToObject(sub, "time", when);
        cJSON_AddStringToObject(sub, "spec", spec_path);
        cJSON_AddStringToObject(sub, "form", b->array ? "array" : "mpi");
        cJSON_AddNumberToObject(sub, "runs", b->nruns);
        if (b->array) cJSON_AddNumberToObject(sub, "slices", b->nslices);
        jobs = cJSON_AddArrayToObject(sub, "jobs");
    }
    for (int i = 0; i < b->nscripts && jobs; i++) {
        if (!job_ids[i]) continue;
        cJSON *j = cJSON_CreateObject();
        if (!j) {
            jobs = NULL;
            break;
        }
        cJSON_AddItemToArray(jobs, j);
        cJSON_AddStringToObject(j, "id", job_ids[i]);
        cJSON_AddStringToObject(j, "role", b->scripts[i].role);
        cJSON_AddStringToObject(j, "script", b->scripts[i].path);
        if (b->scripts[i].nslices) {
            char slices[64];
            snprintf(slices, sizeof slices, "%d-%d", b->scripts[i].first_slice, b->scripts[i].first_slice + b->scripts[i].nslices - 1);
            cJSON_AddStringToObject(j, "slices", slices);
        }
    }
    char *text = jobs ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    if (!text) return sg_fail("out of memory");
    size_t len = strlen(text);
    text[len] = '\n'; /* cJSON_Print's buffer has room for its NUL: swap it for a newline */
    int rc = sg_write_file_atomic(path, text, len + 1);
    free(text);
    return rc;
}
