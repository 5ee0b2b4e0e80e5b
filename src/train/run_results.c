#include "train/run_results.h"

#include "core/error.h"
#include "core/fileio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add(cJSON *obj, const char *prefix, const char *name, const char *suffix, double v) {
    char key[128];
    snprintf(key, sizeof key, "%s_%s%s", prefix, name, suffix);
    cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
    cJSON_AddNumberToObject(obj, key, v);
}

void sg_results_add_eval(cJSON *obj, const char *prefix, const char *suffix, const sg_eval_result *r, int batch_size) {
    add(obj, prefix, "loss", suffix, r->loss);
    for (int i = 0; i < r->metrics.count; i++) add(obj, prefix, r->metrics.names[i], suffix, r->metrics.values[i]);
    double secs = r->seconds > 0 ? r->seconds : 1e-9;
    add(obj, prefix, "runtime", suffix, r->seconds);
    add(obj, prefix, "samples", suffix, r->n);
    add(obj, prefix, "samples_per_second", suffix, r->n / secs);
    add(obj, prefix, "steps_per_second", suffix, ((r->n + batch_size - 1) / batch_size) / secs);
}

int sg_results_write(const char *dir, const char *file, const cJSON *obj) {
    char path[4200];
    if (sg_path_join(path, sizeof path, dir, file)) return -1;
    char *text = cJSON_Print(obj);
    if (!text) return sg_fail("%s: out of memory", path);
    size_t n = strlen(text);
    char *with_nl = realloc(text, n + 2);
    if (!with_nl) {
        free(text);
        return sg_fail("%s: out of memory", path);
    }
    with_nl[n] = '\n';
    with_nl[n + 1] = '\0';
    int rc = sg_write_file_atomic(path, with_nl, n + 1);
    free(with_nl);
    return rc;
}

void sg_results_merge(cJSON *dst, const cJSON *src) {
    const cJSON *item;
    cJSON_ArrayForEach(item, src) {
        cJSON_DeleteItemFromObjectCaseSensitive(dst, item->string);
        cJSON_AddItemToObject(dst, item->string, cJSON_Duplicate(item, 1));
    }
}
