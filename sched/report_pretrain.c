/* The report's pretraining section: the sweep's pretrain runs (records of kind pretrain), which the
 * GLUE leaderboards leave out: model, held-out masked-LM loss before / after, perplexity, masked-LM
 * accuracy and wall time. */
#include "sched/report.h"

#include "core/error.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The "model" of a record's config (JSON text) into out; "?" when absent. */
static void config_model(const sg_run_record *x, char *out, size_t n) {
    cJSON *c = x->config ? cJSON_Parse(x->config) : NULL;
    const cJSON *m = c ? cJSON_GetObjectItemCaseSensitive(c, "model") : NULL;
    snprintf(out, n, "%s", cJSON_IsString(m) ? m->valuestring : "?");
    cJSON_Delete(c);
}

static void md_value(FILE *f, double v, const char *fmt) {
    fputs(" | ", f);
    if (isnan(v)) fputs("–", f);
    else fprintf(f, fmt, v);
}

int sg_report_pretrain_count(const sg_report *r) {
    int n = 0;
    for (int i = 0; i < r->nrecs; i++) n += r->recs[i].kind == SG_RUN_KIND_PRETRAIN;
    return n;
}

void sg_report_md_pretrain(const sg_report *r, FILE *f) {
    if (!sg_report_pretrain_count(r)) return;
    fputs("## Pretraining (masked LM)\n\nHeld-out masked-LM loss (the text's held-out lines) before and after "
          "pretraining, its perplexity and masked-token accuracy; the GLUE runs of variants with pretrain start from "
          "this model.\n\n| id | model | seed | status | loss before | loss after | perplexity | MLM accuracy | wall s |\n"
          "|---|---|---:|---|---:|---:|---:|---:|---:|\n", f);
    for (int i = 0; i < r->nrecs; i++) {
        const sg_run_record *x = &r->recs[i];
        if (x->kind != SG_RUN_KIND_PRETRAIN) continue;
        char model[256];
        config_model(x, model, sizeof model);
        fprintf(f, "| %s | %s | %lld | %s", x->short_id, model, x->seed, sg_run_status_name(x->status));
        md_value(f, sg_metric_map_get(&x->qann, "loss_before"), "%.4f");
        md_value(f, sg_metric_map_get(&x->qann, "loss"), "%.4f");
        md_value(f, sg_metric_map_get(&x->qann, "perplexity"), "%.4g");
        md_value(f, sg_metric_map_get(&x->qann, "accuracy"), "%.4f");
        md_value(f, x->wall_seconds, "%.1f");
        fputs(" |\n", f);
    }
    fputs("\n", f);
}

static int jnum(cJSON *o, const char *k, double v) {
    cJSON *x = isnan(v) || isinf(v) ? cJSON_CreateNull() : cJSON_CreateNumber(v);
    return x && cJSON_AddItemToObject(o, k, x);
}

int sg_report_json_pretrain(const sg_report *r, cJSON *o) {
    cJSON *runs = cJSON_AddArrayToObject(o, "pretrain");
    int ok = runs != NULL;
    for (int i = 0; ok && i < r->nrecs; i++) {
        const sg_run_record *x = &r->recs[i];
        if (x->kind != SG_RUN_KIND_PRETRAIN) continue;
        char model[256];
        config_model(x, model, sizeof model);
        cJSON *j = cJSON_CreateObject();
        ok = j && cJSON_AddItemToArray(runs, j) && cJSON_AddStringToObject(j, "id", x->id) &&
             cJSON_AddStringToObject(j, "model", model) && cJSON_AddNumberToObject(j, "seed", (double)x->seed) &&
             cJSON_AddStringToObject(j, "status", sg_run_status_name(x->status)) &&
             jnum(j, "eval_loss_before", sg_metric_map_get(&x->qann, "loss_before")) &&
             jnum(j, "eval_loss", sg_metric_map_get(&x->qann, "loss")) &&
             jnum(j, "perplexity", sg_metric_map_get(&x->qann, "perplexity")) &&
             jnum(j, "eval_accuracy", sg_metric_map_get(&x->qann, "accuracy")) && jnum(j, "wall_seconds", x->wall_seconds);
    }
    return ok ? 0 : sg_fail("report: out of memory");
}
