/* The dry run of `spikeglue sweep`: what would run, in which order, with which command. */
#include "sched/plan.h"

#include "core/error.h"

#include <stdio.h>
#include <string.h>

/* Arguments are shown as a shell would need them: quoted when they hold anything unusual. */
static void print_arg(FILE *f, const char *s) {
    int plain = *s != '\0';
    for (const char *p = s; *p && plain; p++) plain = strchr("_./:=,+-@%{}", *p) || (*p >= '0' && *p <= '9') ||
                                                    (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z');
    if (plain) {
        fputs(s, f);
        return;
    }
    fputc('\'', f);
    for (const char *p = s; *p; p++) {
        if (*p == '\'') fputs("'\\''", f);
        else fputc(*p, f);
    }
    fputc('\'', f);
}

int sg_plan_print(const sg_plan *plan, FILE *f) {
    const sg_jobspec *s = plan->spec;
    fprintf(f, "plan %s: %d runs, %d task%s, %d seed%s, %d variant%s, dp %d x tp %d, %d dependenc%s; expected cost %.4g (%s)\n",
            s->name, plan->nruns, plan->ntasks, plan->ntasks == 1 ? "" : "s", plan->nseeds, plan->nseeds == 1 ? "" : "s",
            plan->nvariants, plan->nvariants == 1 ? "" : "s", s->dp, s->tp, plan->ndeps, plan->ndeps == 1 ? "y" : "ies",
            plan->total_cost, plan->version);
    char buf[128];
    for (int v = 0; v < s->nvariants; v++)
        if (s->variants[v].dropped)
            fprintf(f, "note: variant %s has no transform: %s dropped from its pipeline\n", s->variants[v].name,
                    sg_stages_format(s->variants[v].dropped, buf, sizeof buf));
    if (plan->npretrain)
        fprintf(f, "note: %d pretrain run%s (spikeglue pretrain, once per model) before the GLUE runs that start from %s\n",
                plan->npretrain, plan->npretrain == 1 ? "" : "s", plan->npretrain == 1 ? "it" : "them");
    int implied = 0;
    for (int i = 0; i < plan->nruns; i++) implied += plan->runs[i].implied;
    if (implied)
        fprintf(f, "note: %d run%s marked * %s not included but kept: included runs start from them\n", implied,
                implied == 1 ? "" : "s", implied == 1 ? "is" : "are");
    fprintf(f, "%5s  %-8s  %-7s %5s  %-12s %-8s  %9s  %s\n", "#", "id", "task", "seed", "variant", "after", "cost",
            "command");
    for (int k = 0; k < plan->nruns; k++) {
        int i = plan->order[k];
        const sg_plan_run *r = &plan->runs[i];
        char run_dir[4200], dep_dir[4200], dep_out[4300];
        const char *override = NULL;
        if (sg_plan_run_dir(plan, i, "results", run_dir, sizeof run_dir)) return -1;
        if (r->dep >= 0) {
            if (sg_plan_run_dir(plan, r->dep, "results", dep_dir, sizeof dep_dir) ||
                sg_plan_output_dir(dep_dir, dep_out, sizeof dep_out))
                return -1;
            override = dep_out;
        }
        int argc;
        char **argv;
        if (sg_plan_run_argv(plan, i, run_dir, override, &argc, &argv)) return -1;
        char variant[128];
        snprintf(variant, sizeof variant, "%s%s", r->variant_name, r->implied ? "*" : "");
        fprintf(f, "%5d  %-8s  %-7s %5d  %-12s %-8s  %9.3g  spikeglue", k + 1, r->short_id, r->task->name, r->seed, variant,
                r->dep >= 0 ? plan->runs[r->dep].short_id : "-", r->cost);
        for (int a = 0; a < argc; a++) {
            fputc(' ', f);
            print_arg(f, argv[a]);
        }
        fputc('\n', f);
        sg_plan_argv_free(argc, argv);
    }
    return ferror(f) ? sg_fail("writing the plan: output error") : 0;
}
