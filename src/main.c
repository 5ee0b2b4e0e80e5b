/* spikeglue: one binary, subcommands. The top of the layers: its dispatch table names the
 * commands of cli/ and of sched/, so it lives beside both rather than in either. */
#include "blas/gemm.h"
#include "cli/commands.h"
#include "core/error.h"
#include "core/isa.h"
#include "sched/commands.h"

#include <omp.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command COMMANDS[] = {
    {"run", sg_cmd_run, "fine-tune / evaluate / convert on a GLUE task (run_glue.py's flags)"},
    {"pretrain", sg_cmd_pretrain, "continued masked-LM pretraining on text or GLUE sentences (run_mlm.py's flags)"},
    {"sweep", sg_cmd_sweep, "run a job spec's tasks x seeds x variants over MPI ranks; results in HDF5"},
    {"report", sg_cmd_report, "leaderboards from a sweep's results.h5 (md, csv, json)"},
    {"submit", sg_cmd_submit, "submit a job spec's sweep to SLURM (one MPI job, or job arrays + a merge job)"},
    {"status", sg_cmd_status, "progress of a sweep: runs done / failed / waiting and its SLURM jobs (read-only)"},
    {"merge", sg_cmd_merge, "join the slices of an array sweep into one results.h5 and leaderboard"},
    {"init-model", sg_cmd_init_model, "write a randomly initialised RoBERTa checkpoint (HF layout)"},
    {"fetch", sg_cmd_fetch, "download GLUE or a HuggingFace model into the HF cache layout"},
    {"synth", sg_cmd_synth, "write small synthetic GLUE-layout tasks (SST-2, MRPC, STS-B)"},
    {"tokenize", sg_cmd_tokenize, "print RoBERTa input ids of a text or pair (JSON arrays)"},
    {"model-info", sg_cmd_model_info, "load a checkpoint directory with every check and summarise it"},
};
#define NCOMMANDS ((int)(sizeof COMMANDS / sizeof COMMANDS[0]))

static void usage(FILE *f) {
    fprintf(f, "usage: spikeglue <command> [flags]   (spikeglue <command> --help for its flags)\n\ncommands:\n");
    for (int i = 0; i < NCOMMANDS; i++) fprintf(f, "  %-12s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(f, "  %-12s %s\n", "--version", "version, BLAS kernel, vector ISA of the kernels, threads");
}

int main(int argc, char **argv) {
    sg_blas_fix_core(argv);
    /* a log file (a sweep's run.log, a batch job's output) shows each line as it is written */
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    /* SG_ISA (core/isa.h): a refused setting is an error of the command line, before any work */
    if (sg_isa_init()) {
        sg_print_error();
        return 2;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("spikeglue %s (BLAS: OpenBLAS %s kernel%s, %d threads; kernels %s; OpenMP threads %d)\n", SG_VERSION,
               sg_blas_corename(), sg_blas_core_note(), sg_blas_threads(), sg_isa_describe(), omp_get_max_threads());
        return 0;
    }
    for (int i = 0; i < NCOMMANDS; i++)
        if (!strcmp(argv[1], COMMANDS[i].name)) return COMMANDS[i].run(argc - 1, argv + 1);
    fprintf(stderr, "spikeglue: error: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
