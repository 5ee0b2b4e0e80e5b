#include "sched/report.h"

#include "core/error.h"
#include "core/fileio.h"
#include "sched/results_store.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* ---- building --------------------------------------------------------------------------------- */

static const char *const GLUE_ORDER[] = {"cola", "sst2", "mrpc", "stsb", "qqp", "mnli", "qnli", "rte", "wnli", NULL};

static int glue_rank(const char *task) {
    char k[64];
    sg_task_key(task, k, sizeof k);
    for (int i = 0; GLUE_ORDER[i]; i++)
        if (!strcmp(k, GLUE_ORDER[i])) return i;
    return 100;
}

static const char *str(const char *s) { return s ? s : ""; }

static int index_of(char **list, int n, const char *s) {
    for (int i = 0; i < n; i++)
        if (!strcmp(list[i], str(s))) return i;
    return -1;
}

static int add_unique(char ***list, int *n, const char *s) {
    if (index_of(*list, *n, s) >= 0) return 0;
    char **p = realloc(*list, sizeof(char *) * (size_t)(*n + 1));
    if (!p) return sg_fail("out of memory");
    *list = p;
    if (!(p[*n] = strdup(str(s)))) return sg_fail("out of memory");
    (*n)++;
    return 0;
}

static int is_baseline_name(const char *v) {
    static const char *const names[] = {"baseline", "none", "fp32", "fp", "ann", "base", "float", "no_transform", NULL};
    for (int i = 0; names[i]; i++)
        if (!strcasecmp(v, names[i])) return 1;
    return 0;
}

/* Level of a variant: the first record's (levels are per variant). */
static int variant_level(const sg_report *r, const char *v) {
    for (int i = 0; i < r->nrecs; i++)
        if (!strcmp(str(r->recs[i].variant), v) && r->recs[i].level) return r->recs[i].level;
    return 0;
}

static const sg_report *g_order_report; /* qsort context */

static int compare_tasks(const void *a, const void *b) {
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    int c = glue_rank(x) - glue_rank(y);
    return c ? c : strcmp(x, y);
}

static int compare_variants(const void *a, const void *b) {
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    const sg_report *r = g_order_report;
    int bx = r->baseline && !strcmp(x, r->baseline), by = r->baseline && !strcmp(y, r->baseline);
    if (bx != by) return by - bx;
    int lx = variant_level(r, x), ly = variant_level(r, y);
    if (lx != ly) return !lx ? 1 : !ly ? -1 : (lx > ly) - (lx < ly);
    return strcmp(x, y);
}

static sg_stat stat_of(const double *v, int n) {
    sg_stat s = {NAN, NAN, 0};
    double sum = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(v[i])) sum += v[i], s.n++;
    if (s.n == 0) return s;
    s.mean = sum / s.n;
    if (s.n < 2) return s;
    double ss = 0;
    for (int i = 0; i < n; i++)
        if (!isnan(v[i])) ss += (v[i] - s.mean) * (v[i] - s.mean);
    s.std = sqrt(ss / (s.n - 1));
    return s;
}

static double per_sample(double total, double samples) { return samples > 0 ? total / samples : NAN; }

static void fill_row(sg_report *r, sg_report_row *row, double *buf, const sg_run_record **runs) {
    int n = 0;
    for (int i = 0; i < r->nrecs; i++) {
        const sg_run_record *x = &r->recs[i];
        if (strcmp(str(x->task), row->task) || strcmp(str(x->variant), row->variant)) continue;
        if (x->status == SG_RUN_FINISHED) runs[n++] = x;
        else row->failed++;
    }
    row->finished = n;
#define STAT(field, expr) do { for (int i = 0; i < n; i++) { const sg_run_record *x = runs[i]; buf[i] = (expr); } \
        row->field = stat_of(buf, n); } while (0)
    STAT(ann, sg_task_main_metric(x->task, &x->qann));
    STAT(snn, sg_task_main_metric(x->task, &x->snn));
    STAT(settle_steps, x->snn_mean_settle_steps);
    STAT(sops, per_sample(x->snn_sops, x->snn_samples));
    STAT(snn_energy_j, per_sample(x->snn_energy_j, x->snn_samples));
    STAT(ann_macs, per_sample(x->ann_macs, x->snn_samples));
    STAT(ann_energy_j, per_sample(x->ann_energy_j, x->snn_samples));
#undef STAT
}

static void fill_glue(sg_report *r, int v, int base) {
    sg_report_glue *g = &r->glue[v];
    double ann = 0, snn = 0, ann_d = 0, snn_d = 0;
    int nd_ann = 0, nd_snn = 0;
    for (int t = 0; t < r->ntasks; t++) {
        const sg_report_row *x = sg_report_row_at(r, t, v);
        const sg_report_row *b = base >= 0 ? sg_report_row_at(r, t, base) : NULL;
        if (x->ann.n) {
            ann += x->ann.mean, g->ann_tasks++;
            if (b && b->ann.n) ann_d += x->ann.mean - b->ann.mean, nd_ann++;
        }
        if (x->snn.n) {
            snn += x->snn.mean, g->snn_tasks++;
            if (b && b->ann.n) snn_d += x->snn.mean - b->ann.mean, nd_snn++;
        }
    }
    g->ann = g->ann_tasks ? ann / g->ann_tasks : NAN;
    g->snn = g->snn_tasks ? snn / g->snn_tasks : NAN;
    g->ann_gap = nd_ann ? ann_d / nd_ann : NAN;
    g->snn_gap = nd_snn ? snn_d / nd_snn : NAN;
}

int sg_report_build(const sg_run_record *recs, int n, const char *source, const char *baseline, sg_report *r) {
    memset(r, 0, sizeof *r);
    if (!(r->source = strdup(source ? source : "")) || !(r->recs = calloc((size_t)(n > 0 ? n : 1), sizeof *r->recs)))
        return sg_report_free(r), sg_fail("out of memory");
    for (int i = 0; i < n; i++) {
        if (sg_run_record_copy(&r->recs[i], &recs[i])) return sg_report_free(r), -1;
        r->nrecs++;
        r->nfinished += recs[i].status == SG_RUN_FINISHED;
        if (recs[i].kind == SG_RUN_KIND_PRETRAIN) continue; /* its own section, not a GLUE task */
        if (add_unique(&r->tasks, &r->ntasks, recs[i].task) || add_unique(&r->variants, &r->nvariants, recs[i].variant))
            return sg_report_free(r), -1;
    }
    /* the baseline */
    if (baseline && *baseline) {
        int b = index_of(r->variants, r->nvariants, baseline);
        if (b < 0) {
            sg_fail("--baseline %s: no such variant in %s", baseline, r->source);
            sg_report_free(r);
            return -1;
        }
        r->baseline = r->variants[b];
    }
    for (int v = 0; !r->baseline && v < r->nvariants; v++)
        if (is_baseline_name(r->variants[v])) r->baseline = r->variants[v];
    if (!r->baseline) {
        int zero = -1, nzero = 0;
        for (int v = 0; v < r->nvariants; v++)
            if (!variant_level(r, r->variants[v])) zero = v, nzero++;
        if (nzero == 1 && r->nvariants > 1) r->baseline = r->variants[zero];
    }
    g_order_report = r;
    qsort(r->tasks, (size_t)r->ntasks, sizeof(char *), compare_tasks);
    qsort(r->variants, (size_t)r->nvariants, sizeof(char *), compare_variants);

    int cells = r->ntasks * r->nvariants;
    r->rows = calloc((size_t)(cells > 0 ? cells : 1), sizeof *r->rows);
    r->glue = calloc((size_t)(r->nvariants > 0 ? r->nvariants : 1), sizeof *r->glue);
    double *buf = malloc(sizeof(double) * (size_t)(n > 0 ? n : 1));
    const sg_run_record **runs = malloc(sizeof(*runs) * (size_t)(n > 0 ? n : 1));
    if (!r->rows || !r->glue || !buf || !runs) {
        free(buf);
        free(runs);
        sg_report_free(r);
        return sg_fail("out of memory");
    }
    int base = r->baseline ? index_of(r->variants, r->nvariants, r->baseline) : -1;
    for (int t = 0; t < r->ntasks; t++)
        for (int v = 0; v < r->nvariants; v++) {
            sg_report_row *row = &r->rows[t * r->nvariants + v];
            row->task = r->tasks[t];
            row->variant = r->variants[v];
            const char *m = sg_task_main_metric_name(row->task);
            row->metric = m ? m : "combined_score";
            row->level = variant_level(r, row->variant);
            fill_row(r, row, buf, runs);
        }
    for (int t = 0; t < r->ntasks; t++)
        for (int v = 0; v < r->nvariants; v++) {
            sg_report_row *row = &r->rows[t * r->nvariants + v];
            const sg_report_row *b = base >= 0 ? sg_report_row_at(r, t, base) : NULL;
            row->ann_gap = b && b->ann.n && row->ann.n ? row->ann.mean - b->ann.mean : NAN;
            /* the baseline has no transform, so usually no SNN: both gaps are to its ANN score */
            row->snn_gap = b && b->ann.n && row->snn.n ? row->snn.mean - b->ann.mean : NAN;
        }
    for (int v = 0; v < r->nvariants; v++) {
        r->glue[v].variant = r->variants[v];
        r->glue[v].level = variant_level(r, r->variants[v]);
        fill_glue(r, v, base);
    }
    free(buf);
    free(runs);
    return 0;
}

int sg_report_load(const char *path, const char *baseline, sg_report *out) {
    char file[4200];
    if (sg_is_dir(path)) snprintf(file, sizeof file, "%s/%s", path, SG_STORE_H5);
    else snprintf(file, sizeof file, "%s", path);
    sg_run_record *recs = NULL;
    int n = 0;
    if (sg_store_read_h5(file, &recs, &n)) return -1;
    int rc = sg_report_build(recs, n, file, baseline, out);
    sg_run_records_free(recs, n);
    return rc;
}

void sg_report_free(sg_report *r) {
    free(r->source);
    sg_run_records_free(r->recs, r->nrecs);
    for (int i = 0; i < r->ntasks; i++) free(r->tasks[i]);
    for (int i = 0; i < r->nvariants; i++) free(r->variants[i]);
    free(r->tasks), free(r->variants), free(r->rows), free(r->glue);
    memset(r, 0, sizeof *r);
}

const sg_report_row *sg_report_row_at(const sg_report *r, int task, int variant) {
    return &r->rows[task * r->nvariants + variant];
}

/* ---- Markdown ------------------------------------------------------------------------------------ */

static void md_text(FILE *f, const char *s) {
    for (const char *p = str(s); *p; p++) {
        if (*p == '|') fputs("\\|", f);
        else if (*p == '\n' || *p == '\r') fputc(' ', f);
        else fputc(*p, f);
    }
}

/* Score × 100 with two decimals, "± std" when there is one. */
static void md_score(FILE *f, sg_stat s) {
    if (!s.n) fputs("–", f);
    else if (isnan(s.std)) fprintf(f, "%.2f", 100 * s.mean);
    else fprintf(f, "%.2f ± %.2f", 100 * s.mean, 100 * s.std);
}

static void md_gap(FILE *f, double g) {
    if (isnan(g)) fputs("–", f);
    else fprintf(f, "%+.2f", 100 * g);
}

static void md_num(FILE *f, double v, const char *fmt, double scale) {
    if (isnan(v)) fputs("–", f);
    else fprintf(f, fmt, v * scale);
}

static void md_level(FILE *f, int level) {
    if (level) fprintf(f, "%d", level);
    else fputs("–", f);
}

static const char *const MD_COST_HEAD = " ANN/QANN | Δ base | SNN | Δ base | steps | SOPs | SNN mJ | ANN MACs | ANN mJ |\n";
static const char *const MD_COST_RULE = "---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";

static void md_cells(FILE *f, const sg_report_row *x) {
    fprintf(f, " %d | ", x->finished);
    md_score(f, x->ann);
    fputs(" | ", f);
    md_gap(f, x->ann_gap);
    fputs(" | ", f);
    md_score(f, x->snn);
    fputs(" | ", f);
    md_gap(f, x->snn_gap);
    fputs(" | ", f);
    md_num(f, x->settle_steps.mean, "%.1f", 1);
    fputs(" | ", f);
    md_num(f, x->sops.mean, "%.3g", 1);
    fputs(" | ", f);
    md_num(f, x->snn_energy_j.mean, "%.3g", 1e3);
    fputs(" | ", f);
    md_num(f, x->ann_macs.mean, "%.3g", 1);
    fputs(" | ", f);
    md_num(f, x->ann_energy_j.mean, "%.3g", 1e3);
    fputs(" |\n", f);
}

static void md_glue_row(FILE *f, const sg_report_glue *g) {
    fputs("| ", f);
    md_text(f, g->variant);
    fputs(" | ", f);
    md_level(f, g->level);
    fprintf(f, " | %d | ", g->ann_tasks);
    md_num(f, g->ann, "%.2f", 100);
    fputs(" | ", f);
    md_gap(f, g->ann_gap);
    fprintf(f, " | %d | ", g->snn_tasks);
    md_num(f, g->snn, "%.2f", 100);
    fputs(" | ", f);
    md_gap(f, g->snn_gap);
    fputs(" |\n", f);
}

static void print_md(const sg_report *r, sg_report_by by, FILE *f) {
    fprintf(f, "# Leaderboard: %s\n\n", r->source);
    fprintf(f, "%d runs: %d finished, %d not finished. Baseline: %s%s%s.\n\n", r->nrecs, r->nfinished,
            r->nrecs - r->nfinished, r->baseline ? "`" : "", r->baseline ? r->baseline : "none", r->baseline ? "`" : "");
    fputs("Scores × 100, mean ± sample std over seeds (n finished runs); Δ base: difference of the means to the "
          "baseline variant's ANN score (for the SNN too). Main metric (HF run_glue): accuracy (sst2, qnli, rte, wnli, mnli), (accuracy + f1)/2 "
          "(mrpc, qqp), matthews_correlation (cola), (pearson + spearmanr)/2 (stsb). steps: SNN mean settle time "
          "steps; SOPs, MACs and energy (mJ) per sample.\n\n", f);
    sg_report_md_pretrain(r, f);
    if (by == SG_REPORT_BY_TASK) {
        for (int t = 0; t < r->ntasks; t++) {
            fprintf(f, "## ");
            md_text(f, r->tasks[t]);
            fprintf(f, " (%s)\n\n| variant | level | n |%s|---|---:|---:|%s", sg_report_row_at(r, t, 0)->metric,
                    MD_COST_HEAD, MD_COST_RULE);
            for (int v = 0; v < r->nvariants; v++) {
                const sg_report_row *x = sg_report_row_at(r, t, v);
                if (!x->finished && !x->failed) continue;
                fputs("| ", f);
                md_text(f, x->variant);
                fputs(" | ", f);
                md_level(f, x->level);
                fputs(" |", f);
                md_cells(f, x);
            }
            fputs("\n", f);
        }
    } else {
        for (int v = 0; v < r->nvariants; v++) {
            fprintf(f, "## ");
            md_text(f, r->variants[v]);
            fputs(" (level ", f);
            md_level(f, r->glue[v].level);
            fprintf(f, ")\n\n| task | metric | n |%s|---|---|---:|%s", MD_COST_HEAD, MD_COST_RULE);
            for (int t = 0; t < r->ntasks; t++) {
                const sg_report_row *x = sg_report_row_at(r, t, v);
                if (!x->finished && !x->failed) continue;
                fputs("| ", f);
                md_text(f, x->task);
                fprintf(f, " | %s |", x->metric);
                md_cells(f, x);
            }
            fputs("\n", f);
        }
    }
    fputs("## GLUE average\n\nMean over tasks of the per-task mean main metric; Δ base over the tasks both "
          "variants have.\n\n| variant | level | tasks | ANN/QANN | Δ base | SNN tasks | SNN | Δ base |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|\n", f);
    for (int v = 0; v < r->nvariants; v++) md_glue_row(f, &r->glue[v]);
    int nfailed = r->nrecs - r->nfinished;
    if (nfailed) {
        fprintf(f, "\n## Runs that did not finish (%d)\n\n| id | task | variant | seed | status | attempts | error |\n"
                   "|---|---|---|---:|---|---:|---|\n", nfailed);
        for (int i = 0; i < r->nrecs; i++) {
            const sg_run_record *x = &r->recs[i];
            if (x->status == SG_RUN_FINISHED) continue;
            fprintf(f, "| %s | ", x->short_id);
            md_text(f, x->task);
            fputs(" | ", f);
            md_text(f, x->variant);
            fprintf(f, " | %lld | %s | %d | ", x->seed, sg_run_status_name(x->status), x->attempts);
            md_text(f, x->error);
            fputs(" |\n", f);
        }
    }
}

/* ---- CSV ------------------------------------------------------------------------------------------ */

static void csv_text(FILE *f, const char *s) {
    s = str(s);
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_num(FILE *f, double v) {
    fputc(',', f);
    if (!isnan(v)) fprintf(f, "%.10g", v);
}

static void csv_row(FILE *f, const sg_report_row *x) {
    csv_text(f, x->task);
    fputc(',', f);
    csv_text(f, x->variant);
    fprintf(f, ",%d,%s,%d,%d", x->level, x->metric, x->finished, x->failed);
    csv_num(f, x->ann.mean), csv_num(f, x->ann.std), fprintf(f, ",%d", x->ann.n), csv_num(f, x->ann_gap);
    csv_num(f, x->snn.mean), csv_num(f, x->snn.std), fprintf(f, ",%d", x->snn.n), csv_num(f, x->snn_gap);
    csv_num(f, x->settle_steps.mean), csv_num(f, x->sops.mean), csv_num(f, x->snn_energy_j.mean);
    csv_num(f, x->ann_macs.mean), csv_num(f, x->ann_energy_j.mean);
    fputc('\n', f);
}

static void print_csv(const sg_report *r, sg_report_by by, FILE *f) {
    fputs("task,variant,level,metric,finished,failed,ann_mean,ann_std,ann_n,ann_gap,snn_mean,snn_std,snn_n,snn_gap,"
          "settle_steps,sops_per_sample,snn_energy_j_per_sample,ann_macs_per_sample,ann_energy_j_per_sample\n", f);
    int outer = by == SG_REPORT_BY_TASK ? r->ntasks : r->nvariants, inner = by == SG_REPORT_BY_TASK ? r->nvariants : r->ntasks;
    for (int a = 0; a < outer; a++)
        for (int b = 0; b < inner; b++) {
            const sg_report_row *x = by == SG_REPORT_BY_TASK ? sg_report_row_at(r, a, b) : sg_report_row_at(r, b, a);
            if (x->finished || x->failed) csv_row(f, x);
        }
    for (int v = 0; v < r->nvariants; v++) {
        const sg_report_glue *g = &r->glue[v];
        fputs("glue_average,", f);
        csv_text(f, g->variant);
        fprintf(f, ",%d,average,%d,0", g->level, g->ann_tasks);
        csv_num(f, g->ann), fprintf(f, ",,%d", g->ann_tasks), csv_num(f, g->ann_gap);
        csv_num(f, g->snn), fprintf(f, ",,%d", g->snn_tasks), csv_num(f, g->snn_gap);
        fputs(",,,,,\n", f);
    }
}

/* ---- JSON ----------------------------------------------------------------------------------------- */

static int jnum(cJSON *o, const char *k, double v) {
    cJSON *x = isnan(v) || isinf(v) ? cJSON_CreateNull() : cJSON_CreateNumber(v);
    return x && cJSON_AddItemToObject(o, k, x);
}

static int jstat(cJSON *o, const char *k, sg_stat s) {
    cJSON *x = cJSON_CreateObject();
    if (!x || !cJSON_AddItemToObject(o, k, x)) return cJSON_Delete(x), 0;
    return jnum(x, "mean", s.mean) && jnum(x, "std", s.std) && cJSON_AddNumberToObject(x, "n", s.n);
}

static cJSON *report_json(const sg_report *r) {
    cJSON *o = cJSON_CreateObject(), *rows, *glue, *failed, *metrics;
    int ok = o && cJSON_AddStringToObject(o, "source", r->source) &&
             (r->baseline ? cJSON_AddStringToObject(o, "baseline", r->baseline) != NULL : cJSON_AddNullToObject(o, "baseline") != NULL) &&
             cJSON_AddNumberToObject(o, "runs", r->nrecs) && cJSON_AddNumberToObject(o, "finished", r->nfinished) &&
             (metrics = cJSON_AddObjectToObject(o, "main_metrics")) && (rows = cJSON_AddArrayToObject(o, "rows")) &&
             (glue = cJSON_AddArrayToObject(o, "glue_average")) && (failed = cJSON_AddArrayToObject(o, "failed"));
    for (int t = 0; ok && t < r->ntasks; t++)
        ok = cJSON_AddStringToObject(metrics, r->tasks[t], sg_report_row_at(r, t, 0)->metric) != NULL;
    for (int t = 0; ok && t < r->ntasks; t++)
        for (int v = 0; ok && v < r->nvariants; v++) {
            const sg_report_row *x = sg_report_row_at(r, t, v);
            if (!x->finished && !x->failed) continue;
            cJSON *j = cJSON_CreateObject();
            ok = j && cJSON_AddItemToArray(rows, j) && cJSON_AddStringToObject(j, "task", x->task) &&
                 cJSON_AddStringToObject(j, "variant", x->variant) && cJSON_AddNumberToObject(j, "level", x->level) &&
                 cJSON_AddStringToObject(j, "metric", x->metric) && cJSON_AddNumberToObject(j, "finished", x->finished) &&
                 cJSON_AddNumberToObject(j, "failed", x->failed) && jstat(j, "ann", x->ann) &&
                 jnum(j, "ann_gap", x->ann_gap) && jstat(j, "snn", x->snn) && jnum(j, "snn_gap", x->snn_gap) &&
                 jstat(j, "settle_steps", x->settle_steps) && jstat(j, "sops_per_sample", x->sops) &&
                 jstat(j, "snn_energy_j_per_sample", x->snn_energy_j) && jstat(j, "ann_macs_per_sample", x->ann_macs) &&
                 jstat(j, "ann_energy_j_per_sample", x->ann_energy_j);
        }
    for (int v = 0; ok && v < r->nvariants; v++) {
        const sg_report_glue *g = &r->glue[v];
        cJSON *j = cJSON_CreateObject();
        ok = j && cJSON_AddItemToArray(glue, j) && cJSON_AddStringToObject(j, "variant", g->variant) &&
             cJSON_AddNumberToObject(j, "level", g->level) && cJSON_AddNumberToObject(j, "ann_tasks", g->ann_tasks) &&
             jnum(j, "ann", g->ann) && jnum(j, "ann_gap", g->ann_gap) &&
             cJSON_AddNumberToObject(j, "snn_tasks", g->snn_tasks) && jnum(j, "snn", g->snn) && jnum(j, "snn_gap", g->snn_gap);
    }
    for (int i = 0; ok && i < r->nrecs; i++) {
        const sg_run_record *x = &r->recs[i];
        if (x->status == SG_RUN_FINISHED) continue;
        cJSON *j = cJSON_CreateObject();
        ok = j && cJSON_AddItemToArray(failed, j) && cJSON_AddStringToObject(j, "id", x->id) &&
             cJSON_AddStringToObject(j, "task", str(x->task)) && cJSON_AddStringToObject(j, "variant", str(x->variant)) &&
             cJSON_AddNumberToObject(j, "seed", (double)x->seed) &&
             cJSON_AddStringToObject(j, "status", sg_run_status_name(x->status)) &&
             cJSON_AddNumberToObject(j, "attempts", x->attempts) && cJSON_AddStringToObject(j, "error", str(x->error));
    }
    if (!ok || sg_report_json_pretrain(r, o)) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int sg_report_print(const sg_report *r, sg_report_format fmt, sg_report_by by, FILE *f) {
    if (fmt == SG_REPORT_MD) print_md(r, by, f);
    else if (fmt == SG_REPORT_CSV) print_csv(r, by, f);
    else {
        cJSON *o = report_json(r);
        char *text = o ? cJSON_Print(o) : NULL;
        cJSON_Delete(o);
        if (!text) return sg_fail("report: out of memory");
        fprintf(f, "%s\n", text);
        free(text);
    }
    if (fflush(f) != 0 || ferror(f)) return sg_fail("report: write error: %s", strerror(errno));
    return 0;
}

/* ---- files and plots --------------------------------------------------------------------------- */

static int write_text_file(const char *path, const sg_report *r, sg_report_format fmt) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f) return sg_fail("%s: out of memory", path);
    int rc = sg_report_print(r, fmt, SG_REPORT_BY_TASK, f);
    fclose(f);
    if (!rc) rc = sg_write_file_atomic(path, buf, len);
    free(buf);
    return rc;
}

static void file_safe(const char *s, char *out, size_t n) {
    size_t j = 0;
    for (; *s && j + 1 < n; s++) out[j++] = isalnum((unsigned char)*s) || *s == '-' || *s == '.' ? *s : '_';
    out[j] = '\0';
}

/* gnuplot string literal (single quotes; a quote is doubled). */
static void gp_str(FILE *f, const char *s) {
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

/* The plot command's list: one line per data block of `path`, titled. */
static void gp_plot_blocks(FILE *gp, const char *path, int blocks, const char *const *titles, const char *style) {
    for (int b = 0; b < blocks; b++) {
        fputs(b ? ", " : "", gp);
        gp_str(gp, path);
        fprintf(gp, " index %d using 1:2 with %s title ", b, style);
        gp_str(gp, titles[b]);
    }
}

/* Run gnuplot quietly; returns its exit status, 127 when it is not installed. */
static int run_gnuplot(char *const argv[]) {
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa)) return -1;
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc) return rc == ENOENT ? 127 : -1;
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const sg_step_series *first_by_step(const sg_report *r, const char *task, const char *variant) {
    for (int i = 0; i < r->nrecs; i++) {
        const sg_run_record *x = &r->recs[i];
        if (x->status == SG_RUN_FINISHED && !strcmp(str(x->task), task) && !strcmp(str(x->variant), variant) && x->snn_by_step.n)
            return &x->snn_by_step;
    }
    return NULL;
}

/* Mean over a cell's finished runs of the SNN metric by step, on the first run's steps. */
static void cell_by_step(const sg_report *r, const char *task, const char *variant, FILE *f) {
    const sg_step_series *ref = first_by_step(r, task, variant);
    for (int k = 0; ref && k < ref->n; k++) {
        double sum = 0;
        int n = 0;
        for (int i = 0; i < r->nrecs; i++) {
            const sg_run_record *x = &r->recs[i];
            if (x->status != SG_RUN_FINISHED || strcmp(str(x->task), task) || strcmp(str(x->variant), variant)) continue;
            if (k < x->snn_by_step.n && x->snn_by_step.step[k] == ref->step[k] && !isnan(x->snn_by_step.value[k]))
                sum += x->snn_by_step.value[k], n++;
        }
        if (n) fprintf(f, "%.10g %.10g\n", ref->step[k], sum / n);
    }
}

/* Data files and one gnuplot script; returns the number of plots it describes. */
static int write_plot_script(const sg_report *r, const char *dir, const char *term, const char *ext, const char *script) {
    FILE *gp = fopen(script, "w");
    if (!gp) return -1;
    int plots = 0;
    fprintf(gp, "# written by spikeglue report; run: gnuplot %s\nset terminal %s\nset key outside right\nset grid\n",
            script, term);
    /* metric vs level: one line per task and eval (ANN/QANN, SNN) */
    char path[4400];
    snprintf(path, sizeof path, "%s/plot_level.dat", dir);
    FILE *d = fopen(path, "w");
    int blocks = 0;
    char titles[64][96];
    for (int t = 0; d && t < r->ntasks; t++)
        for (int which = 0; which < 2 && blocks < 64; which++) {
            int any = 0;
            for (int v = 0; v < r->nvariants; v++) {
                const sg_report_row *x = sg_report_row_at(r, t, v);
                sg_stat s = which ? x->snn : x->ann;
                if (x->level <= 0 || !s.n) continue;
                if (!any) fprintf(d, "%s# %s %s\n", blocks ? "\n\n" : "", r->tasks[t], which ? "SNN" : "ANN/QANN");
                fprintf(d, "%d %.10g %.10g\n", x->level, s.mean, isnan(s.std) ? 0.0 : s.std);
                any = 1;
            }
            if (any) snprintf(titles[blocks++], sizeof titles[0], "%s %s", r->tasks[t], which ? "SNN" : "ANN/QANN");
        }
    if (d) fclose(d);
    if (blocks) {
        char out[4400];
        snprintf(out, sizeof out, "%s/plot_level.%s", dir, ext);
        fputs("set output ", gp);
        gp_str(gp, out);
        fputs("\nset title 'main metric vs quantization level'\nset xlabel 'level'\nset ylabel 'main metric'\n"
              "set logscale x 2\nplot ", gp);
        const char *title_of[64];
        for (int b = 0; b < blocks; b++) title_of[b] = titles[b];
        gp_plot_blocks(gp, path, blocks, title_of, "linespoints");
        fputs("\nunset logscale x\n", gp);
        plots++;
    }
    /* SNN metric vs time step, one plot per task, one line per variant */
    for (int t = 0; t < r->ntasks; t++) {
        char safe[128];
        file_safe(r->tasks[t], safe, sizeof safe);
        snprintf(path, sizeof path, "%s/plot_steps_%s.dat", dir, safe);
        const char *names[256];
        int nb = 0;
        for (int v = 0; v < r->nvariants && nb < 256; v++)
            if (first_by_step(r, r->tasks[t], r->variants[v])) names[nb++] = r->variants[v];
        if (!nb) continue;
        FILE *s = fopen(path, "w");
        for (int b = 0; s && b < nb; b++) {
            if (b) fputs("\n\n", s);
            cell_by_step(r, r->tasks[t], names[b], s);
        }
        if (!s || fclose(s) != 0) {
            fclose(gp);
            return -1;
        }
        char out[4400];
        snprintf(out, sizeof out, "%s/plot_steps_%s.%s", dir, safe, ext);
        fputs("set output ", gp);
        gp_str(gp, out);
        fputs("\nset title ", gp);
        char title[256];
        snprintf(title, sizeof title, "%s: SNN %s vs time step", r->tasks[t], sg_report_row_at(r, t, 0)->metric);
        gp_str(gp, title);
        fputs("\nset xlabel 'time step'\nset ylabel 'main metric'\nplot ", gp);
        gp_plot_blocks(gp, path, nb, names, "lines");
        fputc('\n', gp);
        plots++;
    }
    if (fclose(gp) != 0) return -1;
    return plots;
}

static void note_set(char *note, size_t n, const char *msg) {
    if (note && n) snprintf(note, n, "%s", msg);
}

int sg_report_write_dir(const sg_report *r, const char *dir, char *note, size_t note_size) {
    note_set(note, note_size, "");
    if (sg_mkdirs(dir)) return -1;
    char path[4200];
    snprintf(path, sizeof path, "%s/leaderboard.md", dir);
    if (write_text_file(path, r, SG_REPORT_MD)) return -1;
    snprintf(path, sizeof path, "%s/leaderboard.csv", dir);
    if (write_text_file(path, r, SG_REPORT_CSV)) return -1;

    char *probe[] = {"gnuplot", "-e", "exit", NULL}, *probe_png[] = {"gnuplot", "-e", "set terminal pngcairo", NULL};
    if (run_gnuplot(probe) == 127) {
        note_set(note, note_size, "gnuplot is not installed: no plots written");
        return 0;
    }
    int png = run_gnuplot(probe_png) == 0;
    /* absolute paths, so the script runs from anywhere */
    char abs_dir[4096], script[4200];
    if (!realpath(dir, abs_dir)) snprintf(abs_dir, sizeof abs_dir, "%s", dir);
    snprintf(script, sizeof script, "%s/plots.gp", abs_dir);
    int plots = write_plot_script(r, abs_dir, png ? "pngcairo size 960,600" : "svg size 960,600", png ? "png" : "svg", script);
    if (plots < 0) return sg_fail("%s: cannot write: %s", script, strerror(errno));
    if (plots == 0) {
        note_set(note, note_size, "no levels or SNN time-step series in the results: no plots written");
        return 0;
    }
    char *argv[] = {"gnuplot", script, NULL};
    int st = run_gnuplot(argv);
    if (st != 0) {
        char msg[4400];
        snprintf(msg, sizeof msg, "gnuplot failed on %s (exit %d): plots skipped", script, st);
        note_set(note, note_size, msg);
    }
    return 0;
}

int sg_report_write_files(const char *results, const char *out_dir, const char *baseline, char *note, size_t note_size) {
    sg_report r;
    if (sg_report_load(results, baseline, &r)) return -1;
    char dir[4096];
    if (out_dir) snprintf(dir, sizeof dir, "%s", out_dir);
    else if (sg_is_dir(results)) snprintf(dir, sizeof dir, "%s", results);
    else {
        snprintf(dir, sizeof dir, "%s", results);
        char *slash = strrchr(dir, '/');
        if (slash) *slash = '\0';
        else snprintf(dir, sizeof dir, ".");
    }
    int rc = sg_report_write_dir(&r, dir, note, note_size);
    sg_report_free(&r);
    return rc;
}
