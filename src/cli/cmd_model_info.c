/* spikeglue model-info DIR: load a checkpoint with every check and summarise it. */
#include "cli/commands.h"
#include "cli/flags.h"
#include "core/error.h"
#include "io/checkpoint.h"

#include <stdio.h>

int sg_cmd_model_info(int argc, char **argv) {
    sg_flag flags[] = {{"help", SG_FLAG_BOOL, &(int){0}, "show this help", 0}};
    char *pos[1];
    int npos = 0;
    int rc = sg_flags_parse("model-info", "DIR", flags, 0, argc, argv, pos, 1, &npos);
    if (rc) return rc > 0 ? 0 : (sg_print_error(), 2);
    (void)flags;
    if (npos != 1) return sg_fail("model-info: expected one model directory"), sg_print_error(), 2;
    sg_model m;
    sg_load_report rep;
    if (sg_checkpoint_load(&m, pos[0], 0, &rep)) return sg_print_error(), 1;
    const sg_model_config *c = &m.cfg;
    size_t n = 0;
    for (int i = 0; i < m.table.count; i++) n += m.table.info[i].numel;
    printf("%s: RoBERTa, %d layers, hidden %d, %d heads, FFN %d (%s), vocab %d, %d positions\n", pos[0], c->layers,
           c->hidden, c->heads, c->ffn, c->act == SG_ACT_RELU ? "relu" : "gelu", c->vocab_size, c->max_positions);
    printf("%zu parameters in %d tensors; %d label%s (%s)%s\n", n, m.table.count, c->num_labels, c->num_labels == 1 ? "" : "s",
           c->problem == SG_PROBLEM_REGRESSION ? "regression" : "classification",
           rep.classifier_initialised ? "; no classifier in the checkpoint (initialised)" : "");
    if (rep.ignored) printf("%d tensor%s not used (pooler / lm_head)\n", rep.ignored, rep.ignored == 1 ? "" : "s");
    sg_model_free(&m);
    return 0;
}
