/* The flags of `spikeglue run`: sg_run_args_parse (src/cli/run_args.c), the command's own table,
 * defaults, parsing and every check that needs only the command line — what sg_cmd_run does before
 * it loads a model or writes a file. Input: the arguments, separated by NUL bytes.
 * --help and the notes about accepted flags print on stdout, which goes to /dev/null while fuzzing. */
#include "fuzz_common.h"

#include "cli/run_args.h"

#define FUZZ_MAX_ARGS 64

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

    sg_run_args a;
    int rc = sg_run_args_parse(&a, argc, argv);
    int verdict = rc < 0 ? sg_fuzz_verdict(rc, NULL) : SG_FUZZ_OK;
    /* every refusal names a flag (--x), the stray argument, or the output directory it refuses */
    if (rc < 0 && !strstr(sg_last_error(), "--") && !strstr(sg_last_error(), "unexpected argument") &&
        !strstr(sg_last_error(), "output directory"))
        verdict = SG_FUZZ_BAD;
    /* an accepted command line is one the command can run: its checks held */
    if (rc == 0 && (!a.model || !a.output_dir || a.train_bs <= 0 || a.eval_bs <= 0 || a.gradient_accumulation_steps < 1 ||
                    !(a.lr >= 0) || !(a.warmup_ratio >= 0 && a.warmup_ratio <= 1) || a.max_train_samples < 0 ||
                    a.max_eval_samples < 0 || a.max_predict_samples < 0 || a.logging_steps < 0 || a.save_steps < 0 ||
                    a.eval_steps < 0 || a.max_seq_length < 4 || a.snn_max_steps < 1))
        verdict = SG_FUZZ_BAD;
    const char *strings[] = {a.model, a.task, a.output_dir, a.train_file, a.lr_scheduler_kwargs, a.metric_for_best_model};
    for (size_t i = 0; i < sizeof strings / sizeof strings[0] && rc == 0; i++) /* string values point into argv */
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
