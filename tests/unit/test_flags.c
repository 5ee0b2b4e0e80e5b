/* The flag parser every subcommand uses (src/core/flags.c), against argparse's documented rules
 * (allow_abbrev): an exact name wins over a longer flag it is a prefix of; an unambiguous prefix
 * selects its flag; an ambiguous prefix is an error listing the candidates; '-' and '_' are the
 * same in names; --help prints the names with '_'. Plus the run flags' own parse
 * (sg_run_args_parse): HF's defaults, and the alias of --dataset_name glue. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/flags.h"
#include "cli/run_args.h"
#include "core/error.h"
#include "testlib.h"

typedef struct {
    int steps, steps_max, eval_steps, do_eval;
    const char *eval_strategy, *num_labels;
} values;

static int parse(values *v, int argc, char **argv) {
    memset(v, 0, sizeof *v);
    sg_flag flags[] = {
        {"eval_steps", SG_FLAG_INT, &v->eval_steps, "h", 0},
        {"eval_strategy", SG_FLAG_STRING, &v->eval_strategy, "h", 0},
        {"steps", SG_FLAG_INT, &v->steps, "h", 0},
        {"steps_max", SG_FLAG_INT, &v->steps_max, "h", 0},
        {"do_eval", SG_FLAG_BOOL, &v->do_eval, "h", 0},
        {"num-labels", SG_FLAG_STRING, &v->num_labels, "h", 0},
    };
    char *pos[1];
    int npos = 0;
    sg_clear_error();
    return sg_flags_parse("t", "", flags, (int)(sizeof flags / sizeof flags[0]), argc, argv, pos, 0, &npos);
}

int main(void) {
    values v;
    {
        char *argv[] = {"t", "--steps", "3", "--eval_steps", "4", NULL};
        CHECK(parse(&v, 5, argv) == 0 && v.steps == 3 && v.steps_max == 0 && v.eval_steps == 4); /* exact beats prefix of steps_max */
    }
    {
        char *argv[] = {"t", "--eval_str", "epoch", "--do_e", NULL};
        CHECK(parse(&v, 4, argv) == 0 && v.eval_strategy && !strcmp(v.eval_strategy, "epoch") && v.do_eval == 1);
    }
    {
        char *argv[] = {"t", "--eval_st=2", NULL}; /* eval_steps and eval_strategy */
        CHECK(parse(&v, 2, argv) == -1);
        CHECK_MSG(strstr(sg_last_error(), "ambiguous flag --eval_st could match --eval_steps, --eval_strategy") != NULL, "%s",
                  sg_last_error());
    }
    {
        char *argv[] = {"t", "--eval-steps", "7", "--num_labels", "3", "--do-eval=false", NULL};
        CHECK(parse(&v, 6, argv) == 0 && v.eval_steps == 7 && v.num_labels && !strcmp(v.num_labels, "3") && v.do_eval == 0);
    }
    {
        char *argv[] = {"t", "--num_lab", "5", NULL}; /* a prefix in the other spelling */
        CHECK(parse(&v, 3, argv) == 0 && v.num_labels && !strcmp(v.num_labels, "5"));
    }
    {
        char *argv[] = {"t", "--stpes", "1", NULL};
        CHECK(parse(&v, 3, argv) == -1 && strstr(sg_last_error(), "unknown flag --stpes (did you mean --steps?)"));
    }
    { /* --help: underscores, whatever the declaration */
        fflush(stdout);
        char path[] = "/tmp/test_flags_help_XXXXXX";
        int fd = mkstemp(path), saved = dup(1);
        CHECK(fd >= 0 && saved >= 0);
        dup2(fd, 1);
        char *argv[] = {"t", "--help", NULL};
        int rc = parse(&v, 2, argv);
        fflush(stdout);
        dup2(saved, 1);
        close(saved);
        char text[4096] = "";
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(text, 1, sizeof text - 1, f) : 0;
        text[n] = '\0';
        if (f) fclose(f);
        close(fd);
        unlink(path);
        CHECK(rc == 1 && strstr(text, "--num_labels") && !strstr(text, "--num-labels"));
    }
    { /* the run flags: HF's defaults, and --dataset_name glue --dataset_config_name TASK as --task_name */
        sg_run_args a;
        char *argv[] = {"run", "--model_name_or_path", "builtin:tiny", "--dataset_name", "glue", "--dataset_config_name", "rte",
                        "--do_eval", "--output_dir", "/nonexistent/test_flags", NULL};
        CHECK(sg_run_args_parse(&a, 10, argv) == 0);
        CHECK(a.task && !strcmp(a.task, "rte"));
        CHECK(a.gradient_accumulation_steps == 1 && a.adam_beta1 == 0.9 && a.adam_beta2 == 0.999 && a.adam_epsilon == 1e-8);
        CHECK(a.lr_scheduler_v == SG_SCHED_LINEAR && a.greater_is_better == -1 && a.logging_strategy_v == SG_STRATEGY_STEPS);
        sg_train_config tc;
        sg_run_args_train_config(&a, &tc);
        CHECK(tc.gradient_accumulation_steps == 1 && tc.adam_beta2 == 0.999 && tc.greater_is_better == -1 && tc.logging_strategy_set == 0);
    }
    { /* the schedule's keyword arguments: given ones kept, HF's defaults for the rest */
        sg_run_args a;
        char *argv[] = {"run", "--model_name_or_path", "m", "--task_name", "sst2", "--do_eval", "--output_dir", "/nonexistent/x",
                        "--lr_scheduler_type", "polynomial", "--lr_scheduler_kwargs", "{\"power\": 2}", "--logging_strategy", "epoch", NULL};
        CHECK(sg_run_args_parse(&a, 14, argv) == 0);
        CHECK(a.lr_scheduler_v == SG_SCHED_POLYNOMIAL && a.lr_scheduler_kwargs_v.power == 2.0 && a.lr_scheduler_kwargs_v.lr_end == 1e-7);
        CHECK(a.logging_strategy_v == SG_STRATEGY_EPOCH && a.logging_strategy_set == 1);
    }
    return sg_test_done();
}
