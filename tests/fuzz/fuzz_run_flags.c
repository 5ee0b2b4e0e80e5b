/* The run flags (src/cli/flags.c): sg_flags_parse with the flag table of `spikeglue run`
 * (src/cli/cmd_run.c), mirrored here because that table is local to sg_cmd_run, which goes on to
 * load models and write files. Input: the arguments, separated by NUL bytes.
 * --help prints the table: stdout goes to /dev/null while fuzzing. */
#include "fuzz_common.h"

#include "cli/flags.h"

#define FUZZ_MAX_ARGS 64

/* name and kind of every `spikeglue run` flag, in its order */
static const struct {
    const char *name;
    sg_flag_kind kind;
} fuzz_run_flag_table[] = {
    {"model_name_or_path", SG_FLAG_STRING},
    {"task_name", SG_FLAG_STRING},
    {"data_dir", SG_FLAG_STRING},
    {"train_file", SG_FLAG_STRING},
    {"validation_file", SG_FLAG_STRING},
    {"test_file", SG_FLAG_STRING},
    {"do_train", SG_FLAG_BOOL},
    {"do_eval", SG_FLAG_BOOL},
    {"do_predict", SG_FLAG_BOOL},
    {"max_seq_length", SG_FLAG_INT},
    {"pad_to_max_length", SG_FLAG_BOOL},
    {"per_device_train_batch_size", SG_FLAG_INT},
    {"per_device_eval_batch_size", SG_FLAG_INT},
    {"learning_rate", SG_FLAG_FLOAT},
    {"weight_decay", SG_FLAG_FLOAT},
    {"warmup_ratio", SG_FLAG_FLOAT},
    {"warmup_steps", SG_FLAG_INT},
    {"num_train_epochs", SG_FLAG_FLOAT},
    {"max_steps", SG_FLAG_INT},
    {"max_grad_norm", SG_FLAG_FLOAT},
    {"output_dir", SG_FLAG_STRING},
    {"overwrite_output_dir", SG_FLAG_BOOL},
    {"evaluation_strategy", SG_FLAG_STRING},
    {"eval_strategy", SG_FLAG_STRING},
    {"eval_steps", SG_FLAG_INT},
    {"save_strategy", SG_FLAG_STRING},
    {"save_steps", SG_FLAG_INT},
    {"save_total_limit", SG_FLAG_INT},
    {"logging_steps", SG_FLAG_INT},
    {"seed", SG_FLAG_INT},
    {"max_train_samples", SG_FLAG_INT},
    {"max_eval_samples", SG_FLAG_INT},
    {"max_predict_samples", SG_FLAG_INT},
    {"resume_from_checkpoint", SG_FLAG_STRING},
    {"tokenizer_name", SG_FLAG_STRING},
    {"transform_config", SG_FLAG_STRING},
    {"model_weights_path", SG_FLAG_STRING},
    {"convert_to_snn", SG_FLAG_BOOL},
    {"snn_eval", SG_FLAG_BOOL},
    {"snn_max_steps", SG_FLAG_INT},
    {"lsq_calibrate_batches", SG_FLAG_INT},
    {"threads", SG_FLAG_INT},
    {"report_to", SG_FLAG_STRING},
    {"logging_dir", SG_FLAG_STRING},
    {"run_name", SG_FLAG_STRING},
    {"overwrite_cache", SG_FLAG_BOOL},
    {"disable_tqdm", SG_FLAG_BOOL},
};
#define FUZZ_RUN_NFLAGS ((int)(sizeof fuzz_run_flag_table / sizeof fuzz_run_flag_table[0]))

static int fuzz_run_flags(const uint8_t *data, size_t size) {
    char *copy = malloc(size + 1);
    if (!copy) return SG_FUZZ_OK;
    memcpy(copy, data, size);
    copy[size] = '\0';
    char *argv[FUZZ_MAX_ARGS + 1];
    int argc = 0;
    argv[argc++] = "run";
    for (char *p = copy; p <= copy + size && argc < FUZZ_MAX_ARGS; p += strlen(p) + 1) argv[argc++] = p;
    argv[argc] = NULL;

    int ints[FUZZ_RUN_NFLAGS];
    double floats[FUZZ_RUN_NFLAGS];
    const char *strings[FUZZ_RUN_NFLAGS];
    sg_flag flags[FUZZ_RUN_NFLAGS];
    for (int i = 0; i < FUZZ_RUN_NFLAGS; i++) {
        ints[i] = i;
        floats[i] = 0.5 * i;
        strings[i] = NULL;
        void *dest = fuzz_run_flag_table[i].kind == SG_FLAG_FLOAT    ? (void *)&floats[i]
                     : fuzz_run_flag_table[i].kind == SG_FLAG_STRING ? (void *)&strings[i]
                                                                     : (void *)&ints[i];
        flags[i] = (sg_flag){fuzz_run_flag_table[i].name, fuzz_run_flag_table[i].kind, dest, "help", 0};
    }
    char *pos[1];
    int npos = 0;
    int rc = sg_flags_parse("run", "--model_name_or_path M ...", flags, FUZZ_RUN_NFLAGS, argc, argv, pos, 0, &npos);
    int verdict = rc < 0 ? sg_fuzz_verdict(rc, NULL) : SG_FUZZ_OK;
    /* every refusal names the flag (--x) or the stray argument */
    if (rc < 0 && !strstr(sg_last_error(), "--") && !strstr(sg_last_error(), "unexpected argument"))
        verdict = SG_FUZZ_BAD;
    for (int i = 0; i < FUZZ_RUN_NFLAGS && rc == 0; i++) /* string values point into argv */
        if (strings[i] && (strings[i] < copy || strings[i] > copy + size)) verdict = SG_FUZZ_BAD;
    free(copy);
    return verdict;
}

#ifndef SG_FUZZ_REPLAY
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    if (!freopen("/dev/null", "w", stdout)) return 0; /* --help output */
    return 0;
}
#endif

SG_FUZZ_ENTRY(fuzz_run_flags)
