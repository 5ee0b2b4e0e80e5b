/* spikeglue init-model: a randomly initialised checkpoint (seeded, N(0, 0.02) like HF). */
#include "cli/commands.h"
#include "core/flags.h"
#include "core/error.h"
#include "core/fileio.h"
#include "io/checkpoint.h"

#include <stdio.h>
#include <string.h>

int sg_cmd_init_model(int argc, char **argv) {
    const char *size = "tiny", *out = NULL, *act = "relu";
    int num_labels = 2, vocab_size = 0, seed = 42, overwrite = 0;
    sg_flag flags[] = {
        {"size", SG_FLAG_STRING, &size, "tiny (2x64, 2 heads, FFN 256), small (4x256, 4 heads, FFN 1024) or base (roberta-base)", 0},
        {"num_labels", SG_FLAG_INT, &num_labels, "number of labels (1: regression, as STS-B)", 0},
        {"vocab_size", SG_FLAG_INT, &vocab_size, "vocabulary size (0: 261 for the built-in byte tokenizer, 50265 for base)", 0},
        {"hidden_act", SG_FLAG_STRING, &act, "relu (convertible) or gelu (baseline only)", 0},
        {"seed", SG_FLAG_INT, &seed, "initialisation seed", 0},
        {"out", SG_FLAG_STRING, &out, "output directory (config.json + model.safetensors)", 0},
        {"overwrite_output_dir", SG_FLAG_BOOL, &overwrite, "allow a non-empty --out directory (its checkpoint is replaced)", 0},
    };
    char *pos[1];
    int npos = 0;
    int rc = sg_flags_parse("init-model", "--size tiny|small|base --num_labels N --out DIR", flags,
                            (int)(sizeof flags / sizeof flags[0]), argc, argv, pos, 0, &npos);
    if (rc) return rc > 0 ? 0 : (sg_print_error(), 2);
    if (!out || !*out) return sg_fail("init-model: --out DIR is required"), sg_print_error(), 2;
    /* a checkpoint (and the results beside it) is never replaced by random weights by accident */
    if (!overwrite && sg_dir_nonempty(out))
        return sg_fail("init-model: %s: output directory exists and is not empty (use --overwrite_output_dir to replace "
                       "its checkpoint)", out), sg_print_error(), 2;
    if (vocab_size <= 0) vocab_size = strcmp(size, "base") == 0 ? 50265 : 261;
    sg_model_config cfg;
    if (sg_model_config_preset(&cfg, size, num_labels, vocab_size)) return sg_print_error(), 2;
    if (!strcmp(act, "gelu")) cfg.act = SG_ACT_GELU;
    else if (strcmp(act, "relu")) return sg_fail("init-model: --hidden_act must be relu or gelu, not '%s'", act), sg_print_error(), 2;
    sg_model m;
    if (sg_model_create(&m, &cfg)) return sg_print_error(), 1;
    sg_model_init_random(&m, (uint64_t)seed);
    rc = sg_checkpoint_save(&m, out);
    size_t n = 0;
    for (int i = 0; i < m.table.count; i++) n += m.table.info[i].numel;
    sg_model_free(&m);
    if (rc) return sg_print_error(), 1;
    printf("wrote %s: %s model, %zu parameters, %d labels, seed %d\n", out, size, n, num_labels, seed);
    return 0;
}
