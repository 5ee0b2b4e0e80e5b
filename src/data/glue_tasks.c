/* The GLUE task table: what each task is called, where its files are, how they are laid out and
 * how HuggingFace numbers and scores its labels. */
#include "data/glue.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "core/fileio.h"

static const char *const k_binary_tokens[] = {"0", "1"};
static const char *const k_nli3_tokens[] = {"entailment", "neutral", "contradiction"};
static const char *const k_nli2_tokens[] = {"entailment", "not_entailment"};

/* id2label as HF `datasets` names them (glue config ClassLabel names). */
static const char *const k_cola_names[] = {"unacceptable", "acceptable"};
static const char *const k_sst2_names[] = {"negative", "positive"};
static const char *const k_mrpc_names[] = {"not_equivalent", "equivalent"};
static const char *const k_qqp_names[] = {"not_duplicate", "duplicate"};
static const char *const k_wnli_names[] = {"not_entailment", "entailment"};

#define MNLI_FILES(dev, dev_mm, test, test_mm) {"train.tsv", dev, dev_mm, test, test_mm}
#define PLAIN_FILES {"train.tsv", "dev.tsv", NULL, "test.tsv", NULL}
#define HEADER_LAYOUT(a, b, label) {1, a, b, label, 0, 0, 0, a}

static const sg_glue_task k_tasks[] = {
    {"cola", "CoLA", 2, k_cola_names, k_binary_tokens, 0, 0, SG_METRIC_MATTHEWS, PLAIN_FILES,
     /* train/dev: no header, columns source, label, annotation, sentence; test has a header */
     {0, NULL, NULL, NULL, 3, 1, 4, "sentence"}},
    {"sst2", "SST-2", 2, k_sst2_names, k_binary_tokens, 0, 0, SG_METRIC_ACCURACY, PLAIN_FILES,
     HEADER_LAYOUT("sentence", NULL, "label")},
    {"mrpc", "MRPC", 2, k_mrpc_names, k_binary_tokens, 0, 1, SG_METRIC_ACCURACY | SG_METRIC_F1,
     PLAIN_FILES, HEADER_LAYOUT("#1 String", "#2 String", "Quality")},
    {"stsb", "STS-B", 1, NULL, NULL, 1, 1, SG_METRIC_PEARSON | SG_METRIC_SPEARMAN, PLAIN_FILES,
     HEADER_LAYOUT("sentence1", "sentence2", "score")},
    {"qqp", "QQP", 2, k_qqp_names, k_binary_tokens, 0, 1, SG_METRIC_ACCURACY | SG_METRIC_F1,
     PLAIN_FILES, HEADER_LAYOUT("question1", "question2", "is_duplicate")},
    {"mnli", "MNLI", 3, k_nli3_tokens, k_nli3_tokens, 0, 1, SG_METRIC_ACCURACY,
     MNLI_FILES("dev_matched.tsv", "dev_mismatched.tsv", "test_matched.tsv", "test_mismatched.tsv"),
     HEADER_LAYOUT("sentence1", "sentence2", "gold_label")},
    /* run_glue's old "mnli-mm": the same data evaluated on the mismatched dev set */
    {"mnli-mm", "MNLI", 3, k_nli3_tokens, k_nli3_tokens, 0, 1, SG_METRIC_ACCURACY,
     MNLI_FILES("dev_mismatched.tsv", "dev_mismatched.tsv", "test_mismatched.tsv", "test_mismatched.tsv"),
     HEADER_LAYOUT("sentence1", "sentence2", "gold_label")},
    {"qnli", "QNLI", 2, k_nli2_tokens, k_nli2_tokens, 0, 1, SG_METRIC_ACCURACY, PLAIN_FILES,
     HEADER_LAYOUT("question", "sentence", "label")},
    {"rte", "RTE", 2, k_nli2_tokens, k_nli2_tokens, 0, 1, SG_METRIC_ACCURACY, PLAIN_FILES,
     HEADER_LAYOUT("sentence1", "sentence2", "label")},
    {"wnli", "WNLI", 2, k_wnli_names, k_binary_tokens, 0, 1, SG_METRIC_ACCURACY, PLAIN_FILES,
     HEADER_LAYOUT("sentence1", "sentence2", "label")},
};

#define TASK_COUNT ((int)(sizeof k_tasks / sizeof k_tasks[0]))

static const struct {
    const char *alias;
    const char *name;
} k_aliases[] = {
    {"sst-2", "sst2"}, {"sst", "sst2"}, {"sts-b", "stsb"}, {"sts", "stsb"},
    {"mnli-m", "mnli"}, {"mnli_m", "mnli"}, {"mnli_matched", "mnli"}, {"mnli-matched", "mnli"},
    {"mnli_mm", "mnli-mm"}, {"mnli_mismatched", "mnli-mm"}, {"mnli-mismatched", "mnli-mm"},
};

int sg_glue_task_count(void) { return TASK_COUNT; }

const sg_glue_task *sg_glue_task_at(int i) { return i >= 0 && i < TASK_COUNT ? &k_tasks[i] : NULL; }

const char *sg_glue_task_names(void) {
    return "cola, sst2, mrpc, stsb, qqp, mnli, mnli-mm, qnli, rte, wnli";
}

const sg_glue_task *sg_glue_task_find(const char *name) {
    if (!name || !*name) {
        sg_fail("no GLUE task given (valid: %s)", sg_glue_task_names());
        return NULL;
    }
    for (size_t i = 0; i < sizeof k_aliases / sizeof k_aliases[0]; i++)
        if (strcasecmp(name, k_aliases[i].alias) == 0) name = k_aliases[i].name;
    for (int i = 0; i < TASK_COUNT; i++)
        if (strcasecmp(name, k_tasks[i].name) == 0 || strcasecmp(name, k_tasks[i].folder) == 0) return &k_tasks[i];
    sg_fail("unknown GLUE task '%s' (valid: %s)", name, sg_glue_task_names());
    return NULL;
}

static const char *const k_split_names[SG_SPLIT_COUNT] = {"train", "dev", "dev_mismatched", "test",
                                                         "test_mismatched"};

const char *sg_glue_split_name(sg_glue_split split) {
    return split >= 0 && split < SG_SPLIT_COUNT ? k_split_names[split] : "?";
}

int sg_glue_split_parse(const char *name, sg_glue_split *out) {
    static const struct {
        const char *name;
        sg_glue_split split;
    } k_split_aliases[] = {
        {"train", SG_SPLIT_TRAIN},         {"dev", SG_SPLIT_DEV},
        {"validation", SG_SPLIT_DEV},      {"dev_matched", SG_SPLIT_DEV},
        {"validation_matched", SG_SPLIT_DEV}, {"dev_mismatched", SG_SPLIT_DEV_MISMATCHED},
        {"validation_mismatched", SG_SPLIT_DEV_MISMATCHED}, {"test", SG_SPLIT_TEST},
        {"test_matched", SG_SPLIT_TEST},   {"test_mismatched", SG_SPLIT_TEST_MISMATCHED},
    };
    for (size_t i = 0; name && i < sizeof k_split_aliases / sizeof k_split_aliases[0]; i++)
        if (strcasecmp(name, k_split_aliases[i].name) == 0) {
            *out = k_split_aliases[i].split;
            return 0;
        }
    return sg_fail("unknown split '%s' (valid: train, dev, dev_mismatched, test, test_mismatched)",
                   name ? name : "");
}

const char *sg_glue_split_file(const sg_glue_task *task, sg_glue_split split) {
    if (!task || split < 0 || split >= SG_SPLIT_COUNT) return NULL;
    return task->split_files[split];
}

int sg_glue_resolve(const char *data_dir, const sg_glue_task *task, sg_glue_split split,
                    char *path, size_t cap) {
    const char *file = sg_glue_split_file(task, split);
    if (!file)
        return sg_fail("task %s has no %s split", task ? task->name : "?", sg_glue_split_name(split));
    if (!data_dir || !*data_dir) return sg_fail("no data directory given (--data_dir)");
    /* missing: the messages scripts know; a file, unreadable or under a file: sg_require_* says which */
    if (sg_path_kind_of(data_dir) == SG_PATH_MISSING && errno == ENOENT)
        return sg_fail("%s: data directory not found", data_dir);
    if (sg_require_dir(data_dir, "--data_dir")) return -1;
    int len = snprintf(path, cap, "%s/%s", data_dir, task->folder);
    if (len < 0 || (size_t)len >= cap) return sg_fail("%s/%s: path too long", data_dir, task->folder);
    if (sg_path_kind_of(path) == SG_PATH_MISSING && errno == ENOENT)
        return sg_fail("%s: task folder not found (task %s expects %s/%s/%s)", path, task->name, data_dir,
                       task->folder, file);
    char what[128];
    snprintf(what, sizeof what, "the folder of task %s", task->name);
    if (sg_require_dir(path, what)) return -1;
    len = snprintf(path, cap, "%s/%s/%s", data_dir, task->folder, file);
    if (len < 0 || (size_t)len >= cap) return sg_fail("%s/%s/%s: path too long", data_dir, task->folder, file);
    if (sg_path_kind_of(path) == SG_PATH_MISSING && errno == ENOENT)
        return sg_fail("%s: file not found (%s split of task %s)", path, sg_glue_split_name(split), task->name);
    snprintf(what, sizeof what, "%s split of task %s", sg_glue_split_name(split), task->name);
    if (sg_require_file(path, what)) return -1;
    return 0;
}

int sg_glue_load(const char *data_dir, const sg_glue_task *task, sg_glue_split split,
                 sg_glue_data *out) {
    char path[4096];
    memset(out, 0, sizeof *out);
    if (sg_glue_resolve(data_dir, task, split, path, sizeof path) != 0) return -1;
    int labelled = split != SG_SPLIT_TEST && split != SG_SPLIT_TEST_MISMATCHED;
    return sg_glue_load_tsv(task, path, labelled, out);
}
