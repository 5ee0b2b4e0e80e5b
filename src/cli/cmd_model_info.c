/* spikeglue model-info DIR: load a checkpoint with every check `run` makes and summarise it:
 * config, weights, and the tokenizer beside them (loaded, and its size held against the
 * embeddings), so a directory that passes here is one `run` accepts. */
#include "cli/commands.h"
#include "core/flags.h"
#include "core/error.h"
#include "data/tokenizer.h"
#include "io/checkpoint.h"

#include <stdio.h>

/* The tokenizer `run` would use for DIR: its vocab.json + merges.txt, or the built-in byte
 * tokenizer when it has neither. NULL + error for half a tokenizer or files that do not load. */
static sg_tokenizer *open_model_tokenizer(const char *dir) {
    switch (sg_tokenizer_files_in(dir)) {
    case SG_TOKENIZER_FILES_BOTH: return sg_tokenizer_load(dir);
    case SG_TOKENIZER_FILES_NONE: return sg_tokenizer_builtin();
    default: return NULL;
    }
}

int sg_cmd_model_info(int argc, char **argv) {
    sg_flag flags[] = {{"help", SG_FLAG_BOOL, &(int){0}, "show this help", 0}};
    char *pos[1];
    int npos = 0;
    int rc = sg_flags_parse("model-info", "DIR", flags, 0, argc, argv, pos, 1, &npos);
    if (rc) return rc > 0 ? 0 : (sg_print_error(), 2);
    if (npos != 1) return sg_fail("model-info: expected one model directory"), sg_print_error(), 2;
    const char *dir = pos[0];
    sg_model m;
    sg_load_report rep;
    if (sg_checkpoint_load(&m, dir, 0, &rep)) return sg_print_error(), 1;
    const sg_model_config *c = &m.cfg;
    sg_tokenizer *tok = open_model_tokenizer(dir);
    int builtin = tok && sg_tokenizer_is_builtin(tok);
    if (!tok || sg_tokenizer_check_fits(tok, c->vocab_size, builtin ? "built-in byte tokenizer (no vocab.json)" : dir)) {
        sg_tokenizer_free(tok);
        sg_model_free(&m);
        return sg_print_error(), 1;
    }
    size_t n = 0;
    for (int i = 0; i < m.table.count; i++) n += m.table.info[i].numel;
    printf("%s: RoBERTa, %d layers, hidden %d, %d heads, FFN %d (%s), vocab %d, %d positions\n", dir, c->layers,
           c->hidden, c->heads, c->ffn, c->act == SG_ACT_RELU ? "relu" : "gelu", c->vocab_size, c->max_positions);
    if (c->head == SG_HEAD_MLM) /* RobertaForMaskedLM: the lm_head, its decoder tied to the word embeddings */
        printf("%zu parameters in %d tensors; masked-LM head (decoder tied to the word embeddings)%s\n", n, m.table.count,
               rep.classifier_initialised ? "; no lm_head in the checkpoint (initialised)" : "");
    else
        printf("%zu parameters in %d tensors; %d label%s (%s)%s\n", n, m.table.count, c->num_labels, c->num_labels == 1 ? "" : "s",
               c->problem == SG_PROBLEM_REGRESSION ? "regression" : "classification",
               rep.classifier_initialised ? "; no classifier in the checkpoint (initialised)" : "");
    if (rep.ignored) printf("%d tensor%s not used (pooler, the other head)\n", rep.ignored, rep.ignored == 1 ? "" : "s");
    printf("tokenizer: %s, %d ids\n", builtin ? "built-in bytes (no vocab.json / merges.txt)" : "byte-level BPE (vocab.json + merges.txt)",
           (int)sg_tokenizer_vocab_size(tok));
    sg_tokenizer_free(tok);
    sg_model_free(&m);
    return 0;
}
