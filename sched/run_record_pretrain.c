/* A pretrain run's directory -> its record: what sg_run_record_from_dir reads (eval_* of
 * all_results.json as the qann map, trainer_state.json's training and evaluation series), plus the
 * keys of run_mlm.py's results that have no eval_ prefix. */
#include "sched/run_record.h"

#include "core/error.h"
#include "core/fileio.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int sg_run_record_from_pretrain_dir(const char *dir, sg_run_record *rec) {
    if (sg_run_record_from_dir(dir, rec)) return -1;
    rec->kind = SG_RUN_KIND_PRETRAIN;
    char path[4200];
    snprintf(path, sizeof path, "%s/out/all_results.json", dir);
    if (!sg_is_file(path)) snprintf(path, sizeof path, "%s/all_results.json", dir);
    size_t len = 0;
    char *text = sg_read_file(path, (size_t)64 << 20, &len);
    if (!text) return -1; /* sg_run_record_from_dir read it: gone since is an error */
    cJSON *o = cJSON_ParseWithLength(text, len);
    free(text);
    if (!o) return sg_fail("%s: malformed JSON", path);
    /* all_results.json key -> record metric */
    static const char *const keys[][2] = {{"perplexity", "perplexity"},
                                          {"init_eval_loss", "loss_before"},
                                          {"init_perplexity", "perplexity_before"},
                                          {"init_eval_accuracy", "accuracy_before"}};
    int rc = 0;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0] && !rc; k++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, keys[k][0]);
        if (cJSON_IsNumber(v)) rc = sg_metric_map_set(&rec->qann, keys[k][1], v->valuedouble);
    }
    cJSON_Delete(o);
    return rc;
}
